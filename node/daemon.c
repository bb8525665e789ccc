/* SPDX-License-Identifier: MIT */
/*
 * daemon.c - starting and stopping a node. stage: main.
 *
 * One checked sequence: configuration and keys, the stages and their
 * links, the log and its recovery (recover.c: a log that cannot be proven
 * intact stops the start with the reason), DPDK EAL (also with the kernel
 * UDP transport: telemetry lives there), the transport, the wiring. Every
 * failure names what failed; nothing is left half-open.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "clock.h"
#include "daemon.h"
#include "telemetry.h"
#include "boot_epoch.h"

#define DAEMON_EAL_MEMORY_MB 128u

/* The core's configuration holds every member the node's does. */
_Static_assert(RN_ARRAY_COUNT(((struct raft_config *)0)->members) >=
		       RN_ARRAY_COUNT(((struct node_config *)0)->members),
	       "raft_config.members holds node_config.members");
_Static_assert(DP_FRAME_BYTES_MAX > DP_FRAME_OVERHEAD_BYTES, "a frame carries a body");

/* A PCI address ("0000:03:00.0") or a vdev string ("net_af_packet0,iface=x"). */
static bool daemon_port_is_pci(const char *port)
{
	unsigned dom, bus, dev, fn;
	char end;
	return sscanf(port, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &end) == 4;
}

static int daemon_eal(struct node_daemon *d, char *errmsg, size_t errmsg_bytes)
{
	const char *devs[1] = {d->cfg.dpdk_port};
	bool dpdk = d->cfg.transport == NODE_TRANSPORT_DPDK;
	bool pci = dpdk && daemon_port_is_pci(d->cfg.dpdk_port);
	struct dp_eal_config ec = {
		.lcores = d->cfg.lcores, .file_prefix = d->cfg.file_prefix,
		.vdevs = dpdk && !pci ? devs : NULL, .vdevs_count = dpdk && !pci ? 1 : 0,
		.pci = pci ? devs : NULL, .pci_count = pci ? 1 : 0,
		.hugepages = DP_HUGEPAGES_AUTO, .memory_mb = DAEMON_EAL_MEMORY_MB,
	};
	RN_ASSERT(!d->eal_started); /* started once */
	int rc = dp_eal_start(&ec, errmsg, errmsg_bytes);
	if (rc == 0) {
		d->eal_started = true;
	}
	return rc;
}

/* The rx/tx stage over the open transport: its messages and rings. */
static int daemon_rxtx(struct node_daemon *d, char *errmsg, size_t errmsg_bytes)
{
	bool colocated = d->cfg.stage_lcore[NODE_STAGE_RXTX] == d->cfg.stage_lcore[NODE_STAGE_CONTROL];
	int rc = node_rxtx_init(&d->rxtx, &d->rxtx_link, &d->transport, colocated);
	if (rc == 0 && (rc = dp_replay_init(&d->replay, NODE_REPLAY_SENDERS)) == 0) {
		dp_transport_set_replay(&d->transport, &d->replay); /* the receive path's */
	}
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "out of memory sizing the rx/tx stage's messages");
	}
	return rc;
}

static void daemon_raft_config(struct node_daemon *d)
{
	struct raft_config *rc = &d->control.raft_cfg;
	raft_config_default(rc);
	rc->id = d->cfg.self;
	for (uint32_t i = 0; i < d->cfg.members_count; i++) {
		rc->members[i] = d->cfg.members[i].id;
	}
	rc->members_count = d->cfg.members_count;
	rc->election_timeout_ticks = d->cfg.election_timeout_ms / d->cfg.tick_ms;
	rc->heartbeat_interval_ticks = d->cfg.heartbeat_interval_ms / d->cfg.tick_ms;
	rc->inflight_appends_max = d->cfg.inflight_appends_max;
	rc->append_entries_max = d->cfg.batch_entries_max;
	rc->uncommitted_bytes_max = d->cfg.uncommitted_bytes_max;
	rc->log_entries_max = d->cfg.log_entries_max;
	/* Nodes must not draw the same timeouts, and a restarted node should
	 * not repeat its last run's. */
	rc->seed = rn_mix64(((uint64_t)d->cfg.cluster_id << 32 | d->cfg.self) ^ node_now_ns());
}

static int daemon_storage(struct node_daemon *d, char *errmsg, size_t errmsg_bytes)
{
	struct store_config sc;
	RN_ASSERT(d->log == NULL); /* opened once */
	store_config_default(&sc);
	sc.dir_path = d->cfg.data_dir;
	sc.engine = d->cfg.io_engine == NODE_ENGINE_PWRITE ? STORE_ENGINE_PWRITE : STORE_ENGINE_URING;
	sc.durability = d->cfg.durability == NODE_DURABILITY_DSYNC  ? STORE_DURABILITY_DSYNC
			: d->cfg.durability == NODE_DURABILITY_NONE ? STORE_DURABILITY_NONE
								    : STORE_DURABILITY_FSYNC;
	sc.write_mode = d->cfg.log_write == NODE_LOG_WRITE_BUFFERED ? STORE_WRITE_BUFFERED
								     : STORE_WRITE_DIRECT;
	sc.segment_bytes = d->cfg.segment_bytes;
	sc.space_reserve_bytes = d->cfg.space_reserve_bytes;
	sc.on_durable = node_log_stage_on_durable;
	sc.on_durable_user = &d->logstage;
	char why[512];
	int rc = store_open(&sc, &d->log, why, sizeof(why));
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "log in %s: %s: %s", d->cfg.data_dir,
			 store_strerror(rc), why);
	}
	return rc;
}

uint64_t node_daemon_memory_bytes(const struct node_config *cfg, struct node_memory *out)
{
	struct node_memory m = {
		.core_bytes = (uint64_t)cfg->log_entries_max * sizeof(struct raft_entry),
		.ring_bytes = cfg->log_payload_bytes_max +
			      (uint64_t)cfg->log_entries_max * sizeof(struct node_slot),
		.kv_bytes = node_kv_memory_bytes(&cfg->kv),
		.log_staging_bytes = 2ull * STORE_GROUP_BYTES_DEFAULT + NODE_CATCHUP_BYTES,
		.reads_bytes = (uint64_t)NODE_READS_MAX * sizeof(struct node_read),
		.snapshot_bytes = cfg->snapshot ? node_kv_snapshot_memory_bytes(&cfg->kv) : 0,
		/* The rings between the stages, the apply stage's reply
		 * arena, and control's reply frames (one per client). */
		.stage_rings_bytes =
			(uint64_t)NODE_LOG_OPS_MAX * sizeof(struct node_log_op) +
			(uint64_t)NODE_LOG_REPORTS_MAX * sizeof(struct node_log_report) +
			node_log_held_max(cfg->log_entries_max) * sizeof(struct store_entry) +
			(uint64_t)NODE_APPLY_IN_MAX * sizeof(struct node_apply_in) +
			(uint64_t)NODE_APPLY_OUT_MAX * sizeof(struct node_apply_out) +
			node_apply_arena_bytes(cfg->kv.value_bytes_max) +
			(uint64_t)NODE_REPLY_CLIENTS_MAX * DP_FRAME_BYTES_MAX +
			node_rxtx_memory_bytes(cfg->transport == NODE_TRANSPORT_UDP
						       ? DP_TRANSPORT_UDP
						       : DP_TRANSPORT_DPDK) +
			(uint64_t)NODE_REPLAY_SENDERS * sizeof(struct dp_replay_sender),
		.dpdk_bytes = (uint64_t)DAEMON_EAL_MEMORY_MB << 20,
	};
	m.total_bytes = m.core_bytes + m.ring_bytes + m.kv_bytes + m.log_staging_bytes +
			m.reads_bytes + m.snapshot_bytes + m.stage_rings_bytes + m.dpdk_bytes;
	if (out != NULL) {
		*out = m;
	}
	return m.total_bytes;
}

static void daemon_print_memory(const struct node_daemon *d)
{
	struct node_memory m;
	node_daemon_memory_bytes(&d->cfg, &m);
	fprintf(stderr, "raftnode %u: memory fixed at start: %.1f MiB = core window %.1f + "
		"payload ring %.1f + state machine %.1f + log staging %.1f + reads %.1f + "
		"snapshot copy-on-write %.1f + stage rings %.1f + DPDK %.1f\n", d->cfg.self,
		(double)m.total_bytes / 1048576.0,
		(double)m.core_bytes / 1048576.0, (double)m.ring_bytes / 1048576.0,
		(double)m.kv_bytes / 1048576.0, (double)m.log_staging_bytes / 1048576.0,
		(double)m.reads_bytes / 1048576.0, (double)m.snapshot_bytes / 1048576.0,
		(double)m.stage_rings_bytes / 1048576.0,
		(double)m.dpdk_bytes / 1048576.0);
}

static bool daemon_lcore_in(const unsigned *ids, uint32_t n, int lcore)
{
	for (uint32_t k = 0; k < n; k++) {
		if ((int)ids[k] == lcore) {
			return true;
		}
	}
	return false;
}

/* Every lcore the map names must be one the EAL runs, and every lcore the
 * EAL runs must have a stage (an idle lcore would only burn its CPU). */
static int daemon_check_lcores(struct node_daemon *d, char *errmsg, size_t errmsg_bytes)
{
	unsigned ids[NODE_STAGES + 1], mapped[NODE_STAGES];
	uint32_t n = dp_sched_lcore_ids(ids, NODE_STAGES + 1);
	RN_ASSERT(n <= RN_ARRAY_COUNT(ids));
	for (int i = 0; i < NODE_STAGES; i++) {
		mapped[i] = (unsigned)d->cfg.stage_lcore[i];
		if (!daemon_lcore_in(ids, n, d->cfg.stage_lcore[i])) {
			snprintf(errmsg, errmsg_bytes, "[node] lcore_map puts stage '%s' on lcore %d, "
				 "which [node] lcores = %s does not start", node_stage_name(i),
				 d->cfg.stage_lcore[i], d->cfg.lcores);
			return -EINVAL;
		}
	}
	for (uint32_t k = 0; k < n; k++) {
		if (!daemon_lcore_in(mapped, NODE_STAGES, (int)ids[k])) {
			snprintf(errmsg, errmsg_bytes, "[node] lcores = %s starts lcore %u, on which "
				 "lcore_map = %s places no stage", d->cfg.lcores, ids[k],
				 d->cfg.lcore_map);
			return -EINVAL;
		}
	}
	return 0;
}

/* Where a stage shares control's lcore, control's waits run it inline. */
static void daemon_link_wait(struct node_daemon *d, struct node_link_wait *w, int stage,
			     dp_stage_poll_fn poll, void *ctx)
{
	RN_ASSERT(stage >= 0);
	RN_ASSERT(stage < NODE_STAGES);
	RN_ASSERT(poll != NULL);
	bool colocated = d->cfg.stage_lcore[stage] == d->cfg.stage_lcore[NODE_STAGE_CONTROL];
	*w = (struct node_link_wait){.colocated_poll = colocated ? poll : NULL,
				     .colocated_ctx = colocated ? ctx : NULL, .stop = &d->stop};
}

/* The stages that need no port: control, log and apply with their links. */
static int daemon_stages(struct node_daemon *d, char *errmsg, size_t errmsg_bytes)
{
	struct node_kv *kv = NULL;
	if (node_control_init(&d->control, &d->cfg) != 0 ||
	    node_log_stage_init(&d->logstage, &d->log_link, d->cfg.log_entries_max) != 0 ||
	    node_kv_create(&d->cfg.kv, &kv) != 0 ||
	    node_apply_stage_init(&d->applystage, &d->apply_link, kv, &d->control.payloads,
				  d->cfg.kv.value_bytes_max) != 0) {
		/* node_daemon_stop frees what was made (the state machine is
		 * the apply stage's as soon as it is handed over). */
		snprintf(errmsg, errmsg_bytes, "out of memory sizing the node (see README: memory)");
		return -ENOMEM;
	}
	daemon_link_wait(d, &d->log_link.wait, NODE_STAGE_LOG, node_log_stage_poll, &d->logstage);
	daemon_link_wait(d, &d->apply_link.wait, NODE_STAGE_APPLY, node_apply_stage_poll,
			 &d->applystage);
	return 0;
}

/* After recovery: the snapshot writer on the recovered state machine, and
 * the log stage's compaction behind it. */
static int daemon_snapshots(struct node_daemon *d, char *errmsg, size_t errmsg_bytes)
{
	if (!d->cfg.snapshot) {
		fprintf(stderr, "raftnode %u: [storage] snapshot = off: no snapshot is taken and the "
			"log is never compacted (it grows until the disk or segments_max)\n", d->cfg.self);
		return 0;
	}
	struct node_snapshotter_config sc = {
		.dir = d->cfg.data_dir, .cluster_id = d->cfg.cluster_id,
		.entries_trigger = d->cfg.snapshot_entries,
		.bytes_trigger = d->cfg.snapshot_log_bytes, .self = d->cfg.self,
		.space_reserve_bytes = d->cfg.space_reserve_bytes, .lcore_nice = d->cfg.lcore_nice,
		.write_bytes_per_s = d->cfg.snapshot_write_bytes_per_s};
	raft_index base = node_kv_applied_index(d->applystage.kv);
	int rc = node_snapshotter_init(&d->snapshotter, &sc, d->applystage.kv, &d->snap_link);
	if (rc != 0) {
		snprintf(errmsg, errmsg_bytes, "the snapshot writer: %s (its copy-on-write memory "
			 "is one more state machine: README, memory)", strerror(-rc));
		return rc;
	}
	/* The trigger counts from the snapshot loaded, not from the replay's
	 * end: a long replayed tail is soon snapshotted. */
	d->snapshotter.base_index = rn_min_u64(base, d->snap_link.durable_index);
	d->snapshotter.conf = &d->applystage.conf; /* read on the apply lcore */
	d->snapshotter.durable_published = &d->log_link.durable_published;
	d->applystage.snap = &d->snapshotter;
	d->snap_link.compacted_index = store_compacted_index(d->log);
	return node_log_stage_compact_after(&d->logstage, &d->snap_link,
					    &d->apply_link.applied_published,
					    d->cfg.compact_margin_entries, d->cfg.data_dir, d->cfg.self);
}

int node_daemon_start(struct node_daemon *d, const char *config_path, raft_node_id id,
		      const struct node_start_opts *opts, char *errmsg, size_t errmsg_bytes)
{
	const char *from_snapshot = opts->from_snapshot;
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->status_link.lock, NULL);
	int rc = node_config_load(config_path, id, &d->cfg, errmsg, errmsg_bytes);
	if (rc != 0) {
		return -EINVAL; /* a configuration error: exit 2 */
	}
	if ((rc = node_keys_load(&d->keys, &d->cfg, errmsg, errmsg_bytes)) != 0) {
		return -EINVAL; /* a key file's problem: a configuration error */
	}
	if (d->cfg.auth_off && !opts->allow_auth_off) {
		snprintf(errmsg, errmsg_bytes, "[cluster] auth = off is for benchmarks only (frames "
			 "unauthenticated: anyone on the path can forge votes and entries); "
			 "start with --bench-allow-auth-off to measure with it");
		return -EINVAL;
	}
	if (d->cfg.auth_off) {
		fprintf(stderr, "raftnode %u: WARNING: [cluster] auth = off: BENCHMARK ONLY. No "
			"frame is authenticated: anyone who can reach this node can forge votes, "
			"entries and client requests. Never run a cluster like this.\n", id);
	}
	if ((rc = daemon_stages(d, errmsg, errmsg_bytes)) != 0) {
		return rc;
	}
	daemon_raft_config(d);
	if ((rc = daemon_storage(d, errmsg, errmsg_bytes)) == 0 && from_snapshot != NULL &&
	    (rc = node_daemon_seed(d, from_snapshot, errmsg, errmsg_bytes)) == 0) {
		store_close(d->log); /* opened again: recovery reads what seed wrote */
		d->log = NULL;
		rc = daemon_storage(d, errmsg, errmsg_bytes);
	}
	if (rc == 0 && (rc = node_daemon_members(d, opts, errmsg, errmsg_bytes)) != 0) {
		return rc;
	}
	if (rc != 0 || (rc = node_daemon_recover(d, errmsg, errmsg_bytes)) != 0) {
		return rc < 0 ? rc : -EIO;
	}
	RN_ASSERT(d->log != NULL);
	RN_ASSERT(d->control.raft != NULL); /* recovered */
	node_log_stage_attach(&d->logstage, d->log);
	/* Durable before the transport opens: nothing leaves under it first. */
	if ((rc = node_boot_epoch_next(d->cfg.data_dir, (uint64_t)time(NULL), &d->boot_epoch,
				       errmsg, errmsg_bytes)) != 0) {
		return rc;
	}
	if ((rc = daemon_snapshots(d, errmsg, errmsg_bytes)) != 0) {
		return rc;
	}
	if ((rc = daemon_eal(d, errmsg, errmsg_bytes)) != 0) {
		return rc < 0 ? rc : -EIO;
	}
	if ((rc = daemon_check_lcores(d, errmsg, errmsg_bytes)) != 0) {
		return rc;
	}
	if ((rc = node_daemon_transport(d, errmsg, errmsg_bytes)) != 0) {
		return rc < 0 ? rc : -EIO;
	}
	/* Before any frame is sealed: each carries the fingerprint of the
	 * cluster-wide settings, and a peer's consensus frames under another
	 * are refused (control/settings_check.h). */
	if (node_settings_check_init(&d->settings, &d->cfg, DP_WIRE_VERSION) != 0) {
		snprintf(errmsg, errmsg_bytes, "the cluster-wide settings make no SETTINGS text");
		return -EINVAL;
	}
	d->transport.wire.settings_fp = d->settings.fp;
	d->control.settings = &d->settings;
	fprintf(stderr, "raftnode %u: cluster-wide settings %s (fingerprint %016" PRIx64 ")\n",
		d->cfg.self, d->settings.text, d->settings.fp);
	/* Every frame this start seals carries its epoch; msg_seq restarts
	 * at 1 with it (the transport's counter starts at 0). */
	d->transport.wire.boot_epoch = d->boot_epoch;
	fprintf(stderr, "raftnode %u: boot epoch %u\n", d->cfg.self, d->boot_epoch);
	if ((rc = daemon_rxtx(d, errmsg, errmsg_bytes)) != 0) {
		return rc;
	}
	struct node_control_wiring w = {
		.cfg = &d->cfg, .transport = &d->transport,
		.frame_body_bytes_max = d->frame_body_bytes_max, .stop = &d->stop,
		.status = &d->status_link, .rxtx = &d->rxtx_link, .log = &d->log_link,
		.apply = &d->apply_link};
	node_control_wire(&d->control, &w);
	d->control.snap = d->cfg.snapshot || d->snap_link.durable_index > 0 ? &d->snap_link : NULL;
	node_control_stage_events(&d->control); /* APPLIED, SNAPSHOT, COMPACTED first */
	RN_ASSERT(d->control.log.link == &d->log_link);
	RN_ASSERT(d->logstage.link == &d->log_link);
	RN_ASSERT(d->applystage.link == &d->apply_link);
	if (node_telemetry_register(&d->status_link) != 0) {
		fprintf(stderr, "raftnode %u: telemetry command not registered (carrying on)\n",
			d->cfg.self);
	}
	daemon_print_memory(d);
	node_status_refresh(&d->control);
	return 0;
}

void node_daemon_stages(struct node_daemon *d, struct dp_stage out[NODE_STAGES])
{
	out[NODE_STAGE_LOG] = (struct dp_stage){.name = node_stage_name(NODE_STAGE_LOG),
						.poll = node_log_stage_poll, .ctx = &d->logstage,
						.stop = node_log_stage_stop,
						.wait_fd = node_log_stage_wait_fd};
	out[NODE_STAGE_RXTX] = (struct dp_stage){.name = node_stage_name(NODE_STAGE_RXTX),
						 .poll = node_rxtx_poll, .ctx = &d->rxtx,
						 .wait_fd = node_rxtx_wait_fd,
						 .sleep_arm = node_rxtx_sleep_arm,
						 .woken = node_rxtx_woken};
	out[NODE_STAGE_CONTROL] = (struct dp_stage){.name = node_stage_name(NODE_STAGE_CONTROL),
						    .poll = node_control_poll, .ctx = &d->control,
						    .deadline_ns = node_control_deadline_ns};
	out[NODE_STAGE_APPLY] = (struct dp_stage){.name = node_stage_name(NODE_STAGE_APPLY),
						  .poll = node_apply_stage_poll,
						  .ctx = &d->applystage,
						  .deadline_ns = node_apply_stage_deadline_ns};
}

/* The consumer's doorbell on a ring whose two ends run on two lcores. */
static void daemon_ring_doorbell(struct node_daemon *d, struct dp_ring *r, int producer,
				 int consumer, struct dp_doorbell *const db[NODE_STAGES])
{
	bool apart = d->cfg.stage_lcore[producer] != d->cfg.stage_lcore[consumer];
	dp_ring_set_doorbell(r, apart ? db[consumer] : NULL);
}

void node_daemon_wire_doorbells(struct node_daemon *d, struct dp_doorbell *const db[NODE_STAGES])
{
	const int rxtx = NODE_STAGE_RXTX, ctl = NODE_STAGE_CONTROL, log = NODE_STAGE_LOG,
		  apply = NODE_STAGE_APPLY;
	daemon_ring_doorbell(d, &d->rxtx_link.rx, rxtx, ctl, db);
	/* The done ring rings nobody: rx/tx is woken only when it starves. */
	dp_ring_set_doorbell(&d->rxtx_link.done, NULL);
	d->rxtx_link.wake_rxtx = d->cfg.stage_lcore[rxtx] != d->cfg.stage_lcore[ctl]
				 ? dp_doorbell_wire(db[rxtx])
				 : NULL;
	daemon_ring_doorbell(d, &d->rxtx_link.tx, ctl, rxtx, db);
	daemon_ring_doorbell(d, &d->log_link.ops, ctl, log, db);
	daemon_ring_doorbell(d, &d->log_link.reports, log, ctl, db);
	daemon_ring_doorbell(d, &d->apply_link.in, ctl, apply, db);
	daemon_ring_doorbell(d, &d->apply_link.out, apply, ctl, db);
	/* News that travels without a ring (a read or call done, APPLIED). */
	d->log_link.wake_control = d->cfg.stage_lcore[log] != d->cfg.stage_lcore[ctl]
				   ? dp_doorbell_wire(db[ctl])
				   : NULL;
	d->apply_link.wake_control = d->cfg.stage_lcore[apply] != d->cfg.stage_lcore[ctl]
				     ? dp_doorbell_wire(db[ctl])
				     : NULL;
}

bool node_daemon_failed(const struct node_daemon *d)
{
	return d->control.fatal;
}

void node_daemon_stop(struct node_daemon *d)
{
	/* Every lcore has stopped. The log stage drained and flushed the log
	 * on its lcore; if the node never ran, this thread does it. */
	node_log_stage_stop(&d->logstage);
	node_log_stage_fini(&d->logstage);
	if (d->log != NULL) {
		store_close(d->log);
		d->log = NULL;
	}
	/* Frames still held (received, or sealed and unsent) go back to the
	 * pool before the port closes. */
	node_rxtx_fini(&d->rxtx);
	if (d->transport.kind != 0) {
		dp_transport_close(&d->transport);
	}
	dp_replay_fini(&d->replay); /* nothing to free if never made */
	if (d->port_open) {
		dp_port_fini(&d->port);
	}
	if (d->eal_started) {
		dp_eal_stop();
	}
	node_control_fini(&d->control);
	/* The writer reads the state machine: it stops first. */
	node_snapshotter_fini(&d->snapshotter);
	node_apply_stage_fini(&d->applystage); /* and its state machine */
	node_keys_watch_stop(&d->keys_watch); /* no reload writes the ring past here */
	dp_keyring_wipe(&d->keys);
}

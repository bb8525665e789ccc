/* SPDX-License-Identifier: MIT */
/*
 * eal.c - starts DPDK's Environment Abstraction Layer from our own
 * configuration instead of a user-typed command line.
 *
 * Several raftnode processes share one machine in CI, so each gets its own
 * --file-prefix (its runtime directory and shared-memory files), and when
 * no hugepages are mounted and free the EAL runs with --no-huge on ordinary
 * memory: slower to map, fine for virtual devices, and logged loudly since
 * it is a degraded mode on bare metal. --no-pci is passed when the
 * configuration names no PCI device, so a CI run never probes (or grabs)
 * the host's NICs.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "common.h"
#include "dataplane.h"

/* Bound on the argv we build: fixed flags plus two per device. */
#define EAL_ARGS_MAX (16u + 2u * (DP_EAL_DEVICES_MAX + DP_EAL_DEVICES_MAX))
#define EAL_MEMORY_MB_DEFAULT 256u

/* The EAL maps hugepages through a hugetlbfs mount; free pages without one
 * fail rte_eal_init with a bare "Permission denied". */
static bool eal_hugetlbfs_mounted(void)
{
	FILE *f = fopen("/proc/mounts", "r");
	if (f == NULL) {
		return false;
	}
	char line[512];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char dev[128], dir[256], type[64];
		found = sscanf(line, "%127s %255s %63s", dev, dir, type) == 3 &&
			strcmp(type, "hugetlbfs") == 0;
	}
	fclose(f);
	return found;
}

/* Free 2 MiB or 1 GiB pages (/proc/meminfo) and a hugetlbfs mount. */
bool dp_hugepages_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	if (f == NULL) {
		return false;
	}
	char line[128];
	unsigned long free_pages = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "HugePages_Free: %lu", &free_pages) == 1) {
			break;
		}
	}
	fclose(f);
	return free_pages > 0 && eal_hugetlbfs_mounted();
}

struct eal_argv {
	char *argv[EAL_ARGS_MAX + 1];
	int argc;
	char memory_mb[16];
};

static void eal_push(struct eal_argv *a, const char *arg)
{
	RN_ASSERT(a->argc < (int)EAL_ARGS_MAX);
	a->argv[a->argc++] = (char *)(uintptr_t)arg; /* rte_eal_init does not write them */
	a->argv[a->argc] = NULL;
}

static int eal_build_argv(const struct dp_eal_config *cfg, struct eal_argv *a, char *errmsg,
			  size_t errmsg_bytes)
{
	if (cfg->file_prefix == NULL || cfg->file_prefix[0] == '\0' || cfg->lcores == NULL ||
	    cfg->vdevs_count > DP_EAL_DEVICES_MAX || cfg->pci_count > DP_EAL_DEVICES_MAX) {
		snprintf(errmsg, errmsg_bytes, "eal: need lcores, a file prefix and at most %u "
			 "vdevs and %u PCI devices", DP_EAL_DEVICES_MAX, DP_EAL_DEVICES_MAX);
		return -EINVAL;
	}
	eal_push(a, "raftnode");
	/* "0-3" is a list of cores, one thread pinned to each; "0@(0-1)" maps
	 * lcore 0 to a thread that floats over CPUs 0-1 (several nodes sharing
	 * a small machine must not all sit on CPU 0). */
	eal_push(a, strpbrk(cfg->lcores, "@(") != NULL ? "--lcores" : "-l");
	eal_push(a, cfg->lcores);
	eal_push(a, "--file-prefix");
	eal_push(a, cfg->file_prefix);
	bool huge = cfg->hugepages == DP_HUGEPAGES_REQUIRE ||
		    (cfg->hugepages == DP_HUGEPAGES_AUTO && dp_hugepages_available());
	if (cfg->hugepages == DP_HUGEPAGES_REQUIRE && !dp_hugepages_available()) {
		snprintf(errmsg, errmsg_bytes, "eal: hugepages required but none usable "
			 "(HugePages_Free in /proc/meminfo, and a hugetlbfs mount: "
			 "mount -t hugetlbfs nodev /dev/hugepages)");
		return -ENOMEM;
	}
	if (!huge) {
		snprintf(a->memory_mb, sizeof(a->memory_mb), "%u",
			 cfg->memory_mb > 0 ? cfg->memory_mb : EAL_MEMORY_MB_DEFAULT);
		eal_push(a, "--no-huge");
		eal_push(a, "-m");
		eal_push(a, a->memory_mb);
	}
	if (cfg->pci_count == 0) {
		eal_push(a, "--no-pci");
	}
	for (uint32_t i = 0; i < cfg->pci_count; i++) {
		eal_push(a, "-a");
		eal_push(a, cfg->pci[i]);
	}
	for (uint32_t i = 0; i < cfg->vdevs_count; i++) {
		eal_push(a, "--vdev");
		eal_push(a, cfg->vdevs[i]);
	}
	eal_push(a, "--log-level");
	eal_push(a, cfg->log_level != NULL ? cfg->log_level : "error");
	return huge ? 1 : 0;
}

int dp_eal_start(const struct dp_eal_config *cfg, char *errmsg, size_t errmsg_bytes)
{
	struct eal_argv a = {.argc = 0};

	RN_ASSERT(cfg != NULL);
	RN_ASSERT(errmsg != NULL && errmsg_bytes > 0);
	errmsg[0] = '\0';
	int huge = eal_build_argv(cfg, &a, errmsg, errmsg_bytes);
	if (huge < 0) {
		return huge;
	}
	if (!huge) {
		fprintf(stderr, "raftnode: DEGRADED: no free hugepages, DPDK runs with --no-huge "
			"on %s MB of ordinary memory (fine for virtual devices; on bare metal "
			"reserve hugepages)\n", a.memory_mb);
	}
	int argc = a.argc;
	if (rte_eal_init(argc, a.argv) < 0) {
		int err = rte_errno;
		snprintf(errmsg, errmsg_bytes, "eal: rte_eal_init failed: %s", rte_strerror(err));
		return -err;
	}
	return 0;
}

/* Removes the EAL's runtime directory (/var/run/dpdk/<prefix>): the EAL
 * leaves it behind, and CI starts many short-lived processes. */
static void eal_remove_runtime_dir(const char *dir)
{
	char path[4096 + 256 + 2]; /* dir + '/' + d_name[256] */
	DIR *d = opendir(dir);
	if (d == NULL) {
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		(void)unlink(path);
	}
	closedir(d);
	(void)rmdir(dir);
}

void dp_eal_stop(void)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	int rc = rte_eal_cleanup();
	RN_ASSERT(rc == 0);
	eal_remove_runtime_dir(dir);
}

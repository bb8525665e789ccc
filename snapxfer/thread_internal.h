/* SPDX-License-Identifier: MIT */
/*
 * thread_internal.h - what snapxfer's two thread files share: the command
 * record control pushes (thread_api.c) and the thread pops (thread.c), and
 * the thread's entry point.
 */
#ifndef RN_SNAPXFER_THREAD_INTERNAL_H
#define RN_SNAPXFER_THREAD_INTERNAL_H

#include "snapxfer.h"

#define THREAD_CMDS_SLOTS 64u
#define THREAD_EVENTS_SLOTS 64u
#define THREAD_IO_BUF_BYTES_DEFAULT (1u << 20)

enum snapxfer_cmd_kind {
	SNAPXFER_CMD_OFFER = 1,
	SNAPXFER_CMD_CANCEL = 2,
	SNAPXFER_CMD_RELEASE = 3,
};

struct snapxfer_thread_cmd {
	uint8_t kind; /* enum snapxfer_cmd_kind */
	raft_node_id peer;
	raft_term term;
	struct dp_snap_id id;
	uint32_t chunk_bytes;
	char path[SNAPXFER_PATH_BYTES_MAX];
};

/* The thread's loop (thread.c), until t->stop. */
void *snapxfer_thread_main(void *arg);

#endif

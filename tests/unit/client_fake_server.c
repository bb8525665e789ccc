/* SPDX-License-Identifier: MIT */
/*
 * client_fake_server.c - one fake node (client_fake_node.c, key-value mode)
 * as a process, for test_raftctl.sh: binds 127.0.0.1 on a free port, prints
 * the port on stdout, serves until killed or for 30 s at most. Usage:
 *   client_fake_server ID [MODE]     (MODE: enum fake_mode, default FAKE_KV)
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "client_fake_node.h"

#define SERVE_S_MAX 30u

int main(int argc, char **argv)
{
	static struct fake_node f;
	if ((argc != 2 && argc != 3) || atoi(argv[1]) <= 0 || (argc == 3 && atoi(argv[2]) <= 0)) {
		fprintf(stderr, "usage: client_fake_server ID [MODE]\n");
		return 2;
	}
	fake_node_start(&f, (uint32_t)atoi(argv[1]), argc == 3 ? atoi(argv[2]) : FAKE_KV);
	printf("%u\n", f.port);
	fflush(stdout);
	sleep(SERVE_S_MAX);
	fake_node_stop(&f);
	return 0;
}

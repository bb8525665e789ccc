/* SPDX-License-Identifier: MIT */
/*
 * scenario.h - raftsim's scenario language: a text file of commands
 * (nodes, hosts, partition, heal, propose, crash, restart, transfer, read,
 * run until, expect ...) played deterministically on the simulator, its
 * story printed as it happens. The grammar is documented at the top of
 * scenario.c and in tests/sim/scenarios/README.md.
 */
#ifndef RN_SIM_SCENARIO_H
#define RN_SIM_SCENARIO_H

#include <stdbool.h>
#include <stdio.h>

/* Plays the scenario in `path`; returns 0 when every expectation held and
 * no property was violated, 1 otherwise, 2 for a malformed file. */
int scenario_run_file(const char *path, int planted_bug, bool trace, FILE *out);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * fuzz_l2_answer.c - libFuzzer target for dp_l2_answer, the ARP and ICMP
 * echo responder that reads every frame the port receives.
 *
 * Oracle: no crash or sanitizer report; a frame that gets no answer is left
 * byte for byte as it was; an answer is never longer than the frame and,
 * fed back in, is never answered again (a reply is not a request, so two
 * nodes can never ping-pong answers forever).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire_internal.h"

static uint8_t fuzz_frame[DP_FRAME_BYTES_MAX];
static uint8_t fuzz_copy[DP_FRAME_BYTES_MAX];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct dp_host host = {.mac = {2, 0, 0, 0, 0, 2}, .ip = 0x0a000002u};
	if (size > sizeof(fuzz_frame)) {
		return 0;
	}
	memcpy(fuzz_frame, data, size);
	size_t n = dp_l2_answer(&host, fuzz_frame, size);
	if (n == 0) {
		if (memcmp(fuzz_frame, data, size) != 0) {
			abort();
		}
		return 0;
	}
	if (n > size) {
		abort();
	}
	memcpy(fuzz_copy, fuzz_frame, n);
	if (dp_l2_answer(&host, fuzz_copy, n) != 0) {
		abort();
	}
	return 0;
}

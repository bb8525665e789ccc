/* SPDX-License-Identifier: MIT */
/*
 * common.h - the few helpers every raftnode module shares: an assertion that
 * is never compiled out, compiler hints and small arithmetic helpers.
 *
 * Header-only and libc-only on purpose: the consensus core includes it, and
 * the core may not depend on stdio, threads or time (scripts/check-deps.sh).
 */
#ifndef RN_COMMON_H
#define RN_COMMON_H

#include <assert.h> /* __assert_fail: prints and aborts, no stdio needed here */
#include <stddef.h>
#include <stdint.h>

#define RN_LIKELY(x)   __builtin_expect(!!(x), 1)
#define RN_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RN_UNUSED      __attribute__((unused))
#define RN_ARRAY_COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define RN_CACHE_LINE_BYTES 64

/*
 * Assertion failure hook. The default prints "file:line: func: Assertion
 * `expr' failed." through libc and aborts. It is a weak symbol so that a test
 * binary can provide its own and report the failure to its framework
 * (cmocka's mock_assert) instead of aborting.
 */
void rn_assert_fail(const char *expr, const char *file, int line, const char *func)
	__attribute__((noreturn));
#ifndef RN_ASSERT_HOOK_OVERRIDE /* defined by the one file that overrides it */
__attribute__((weak, noreturn)) void rn_assert_fail(const char *expr, const char *file,
						      int line, const char *func)
{
	__assert_fail(expr, file, (unsigned int)line, func);
}
#endif

/*
 * RN_ASSERT is always on, in every build type: an invariant that does not
 * hold means the node's state can no longer be trusted, and stopping is the
 * only safe answer (fail-stop). Never use it on untrusted input: bytes from
 * the network or the disk are validated and rejected, not asserted.
 */
#define RN_ASSERT(expr)                                                          \
	do {                                                                     \
		if (RN_UNLIKELY(!(expr)))                                        \
			rn_assert_fail(#expr, __FILE__, __LINE__, __func__);    \
	} while (0)

static inline uint64_t rn_min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline uint64_t rn_max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* splitmix64 (Steele, Lea, Flood 2014): a small, well-mixed PRNG. The
 * consensus core's election timeouts, raftsim and the tests draw from it,
 * always seeded, never from the clock. */
static inline uint64_t rn_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* MurmurHash3's 64-bit finalizer: spreads the bits of a hash or an id. */
static inline uint64_t rn_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/* Writes every page of [p, p + bytes) so memory sized at start is resident
 * from the start (RSS flat under load). A plain memset(0) after malloc is
 * not enough: the compiler may turn the pair into calloc, which leaves
 * fresh pages untouched. */
static inline void rn_prefault(void *p, size_t bytes)
{
	volatile unsigned char *b = (volatile unsigned char *)p;
	for (size_t i = 0; i < bytes; i += 4096) {
		b[i] = 0;
	}
	if (bytes > 0) {
		b[bytes - 1] = 0;
	}
}

#endif /* RN_COMMON_H */

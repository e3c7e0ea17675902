/*
 * Helpers shared by the libFuzzer targets: data-derived choices (so that a
 * crashing input replays exactly), a checked heap copy, and the one way a
 * target reports a broken invariant (abort, which libFuzzer records as a
 * crash with the message above the stack trace).
 */
#ifndef XORB_FUZZ_UTIL_H
#define XORB_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                                  \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                    \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* FNV-1a over the input: a stable source of choices that every byte of the
 * input can change, without reserving bytes that seeds would have to hold. */
static inline uint64_t fuzz_hash(const uint8_t *data, size_t len)
{
	uint64_t h = 0xcbf29ce484222325u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ data[i]) * 0x100000001b3u;
	return h ^ len;
}

/* Bits [shift, shift + 16) of h, reduced to [0, n). n > 0. */
static inline size_t fuzz_pick(uint64_t h, unsigned shift, size_t n)
{
	return (size_t)((h >> shift) & 0xffff) % n;
}

/* Reads every byte of a buffer handed out by the library, so that ASan
 * checks all of it. */
static inline void fuzz_touch(const void *data, size_t len)
{
	const uint8_t *p = data;
	volatile uint8_t acc = 0;
	size_t i;

	for (i = 0; i < len; i++)
		acc ^= p[i];
	(void)acc;
}

/* A NUL-terminated heap copy of exactly len bytes (plus the NUL), so that
 * ASan sees any read past either end. NULL when memory runs out. */
static inline char *fuzz_strndup(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		return NULL;
	if (len)
		memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

#endif

/*
 * Checks a JetStream stream snapshot (an S2-framed PAX tar, as nats-server
 * sends it) while it streams by, without storing it: the S2 frames and their
 * CRCs, the tar headers and their checksums, that the stream's meta.inf is
 * there, and that the server did not write an errors.txt into it (which is
 * how it reports its own failures mid-snapshot). On the way it collects the
 * names of the consumers in the snapshot (obs/<name>/meta.inf).
 *
 * Lifecycle: new, feed the bytes as they arrive (split anywhere), finish,
 * read the results, free. Memory stays bounded: a few MiB for the S2
 * decoder, PAX headers up to 1 MiB, names up to 4096 bytes, at most 100000
 * consumer names.
 */
#ifndef XORB_SNAPCHECK_H
#define XORB_SNAPCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "xorb_error.h"

#define XORB_SNAPCHECK_MAX_PAX (1u << 20)
#define XORB_SNAPCHECK_MAX_NAME 4096u
#define XORB_SNAPCHECK_MAX_CONSUMERS 100000u
/* How much of errors.txt is quoted in the error message. */
#define XORB_SNAPCHECK_ERRTXT_QUOTE 512u

struct xorb_snapcheck;

/* Returns XORB_OK or XORB_ENOMEM (then *out is NULL). */
int xorb_snapcheck_new(struct xorb_snapcheck **out);

/*
 * Checks len more snapshot bytes. Returns XORB_OK; XORB_ECORRUPT when the
 * S2 stream or the tar is bad, or when the server reported an error inside
 * the snapshot (the message then quotes up to 512 bytes of its text);
 * XORB_ENOMEM. After a failure every later call returns the same failure.
 */
int xorb_snapcheck_feed(struct xorb_snapcheck *c, const void *data, size_t len,
			struct xorb_error *err);

/* Declares the end of the snapshot: XORB_ECORRUPT when it is truncated
 * (inside an S2 frame or a tar entry) or holds no meta.inf, else XORB_OK.
 * A missing tar end marker is fine. */
int xorb_snapcheck_finish(struct xorb_snapcheck *c, struct xorb_error *err);

/* Consumer names in the order seen. The strings are owned by c and live
 * until xorb_snapcheck_free; i out of range gives NULL. */
size_t xorb_snapcheck_consumer_count(const struct xorb_snapcheck *c);
const char *xorb_snapcheck_consumer(const struct xorb_snapcheck *c, size_t i);

/* Decoded (tar) bytes seen so far. */
uint64_t xorb_snapcheck_tar_bytes(const struct xorb_snapcheck *c);
/* Tar entries seen so far (files, directories...; not the PAX or GNU
 * long-name headers that describe them). */
size_t xorb_snapcheck_entry_count(const struct xorb_snapcheck *c);

/* NULL is ignored. */
void xorb_snapcheck_free(struct xorb_snapcheck *c);

#endif

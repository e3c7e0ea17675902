/*
 * Checks a JetStream stream snapshot while it streams by, without storing
 * it. A snapshot is S2-framed (the frames and their CRCs are checked here);
 * what the frames decode to is one of two formats, told apart by the first
 * 8 decoded bytes:
 *
 * v1, a PAX tar (nats-server up to 2.14): the tar headers and their
 * checksums, that the stream's meta.inf is there, and that the server did
 * not write an errors.txt into it (which is how it reports its own failures
 * mid-snapshot). Consumers are the obs/<name>/meta.inf entries.
 *
 * v2, "NATSARC1" (nats-server 2.15+, server/archive/archive.go): the magic,
 * then entries, each a header of five varints (name length, timestamp,
 * sequence, header size, payload size), the name, then header size +
 * payload size data bytes. In order: state.json; as many consumers/<name>
 * entries ({"config","state"}) as its consumer_count says; one entry per
 * stored message (the name is the subject, the sequence > 0 and rising, at
 * least state.json's first_seq); then the end sentinel, a header of five
 * zeros with no name. Every header is checked against the caps below, and
 * only zero bytes may follow the sentinel. v2 has no errors.txt: a server
 * that fails mid-snapshot stops the stream (and says why in the final
 * status message, outside the snapshot bytes), so the sentinel is missing
 * and the check fails as truncated.
 *
 * Lifecycle: new, feed the bytes as they arrive (split anywhere), finish,
 * read the results, free. Memory stays bounded: a few MiB for the S2
 * decoder, PAX headers and state.json up to 1 MiB, names up to 4096 bytes,
 * at most 100000 consumer names. Entry data is never stored.
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
/* v2 caps. state.json is read (to learn consumer_count and first_seq): a
 * few hundred bytes in practice. A consumer's JSON carries its pending and
 * redelivered maps, tens of bytes per unacknowledged message; it is only
 * skipped, so its cap costs no memory. A message's header + payload is at
 * most the server's max_payload, an int32 in nats-server's options. */
#define XORB_SNAPCHECK_MAX_STATE_JSON (1u << 20)
#define XORB_SNAPCHECK_MAX_CONSUMER_JSON (256u << 20)
#define XORB_SNAPCHECK_MAX_MESSAGE 2147483647u

/* What xorb_snapcheck_format returns. */
#define XORB_SNAPCHECK_FORMAT_UNKNOWN 0 /* fewer decoded bytes than tell it */
#define XORB_SNAPCHECK_FORMAT_TAR 1	/* v1: a PAX tar */
#define XORB_SNAPCHECK_FORMAT_V2 2	/* v2: "NATSARC1" */

struct xorb_snapcheck;

/* Returns XORB_OK or XORB_ENOMEM (then *out is NULL). */
int xorb_snapcheck_new(struct xorb_snapcheck **out);

/*
 * Checks len more snapshot bytes. Returns XORB_OK; XORB_ECORRUPT when the
 * S2 stream, the tar or the v2 archive is bad, or when the server reported
 * an error inside a tar snapshot (the message then quotes up to 512 bytes
 * of its text); XORB_ENOMEM. Messages name the decoded offset of what
 * failed. After a failure every later call returns the same failure.
 */
int xorb_snapcheck_feed(struct xorb_snapcheck *c, const void *data, size_t len,
			struct xorb_error *err);

/* Declares the end of the snapshot: XORB_ECORRUPT when it is truncated
 * (inside an S2 frame, a tar entry, a v2 header, name or entry, or a v2
 * snapshot without its end sentinel), or when a tar holds no meta.inf (an
 * empty snapshot counts as such a tar); else XORB_OK. A missing tar end
 * marker is fine; a missing v2 end sentinel is not. */
int xorb_snapcheck_finish(struct xorb_snapcheck *c, struct xorb_error *err);

/* Consumer names in the order seen. The strings are owned by c and live
 * until xorb_snapcheck_free; i out of range gives NULL. */
size_t xorb_snapcheck_consumer_count(const struct xorb_snapcheck *c);
const char *xorb_snapcheck_consumer(const struct xorb_snapcheck *c, size_t i);

/* XORB_SNAPCHECK_FORMAT_*: UNKNOWN until the decoded bytes tell (the
 * first byte that differs from "NATSARC1" means tar, all 8 mean v2; an
 * empty snapshot stays UNKNOWN). */
int xorb_snapcheck_format(const struct xorb_snapcheck *c);

/* Decoded bytes seen so far, whatever the format (the v2 magic included);
 * xorb_snapcheck_tar_bytes is the older name. */
uint64_t xorb_snapcheck_decoded_bytes(const struct xorb_snapcheck *c);
uint64_t xorb_snapcheck_tar_bytes(const struct xorb_snapcheck *c);
/* Entries seen so far. Tar: files, directories... (not the PAX or GNU
 * long-name headers that describe them). v2: state.json, the consumers and
 * the messages (not the end sentinel). */
size_t xorb_snapcheck_entry_count(const struct xorb_snapcheck *c);
/* v2: message entries seen so far; 0 for a tar. */
uint64_t xorb_snapcheck_message_count(const struct xorb_snapcheck *c);
/* v2: the sequences of the first and last message seen. Returns 1, or 0
 * (and zeros) when there was none, always for a tar. */
int xorb_snapcheck_seq_range(const struct xorb_snapcheck *c, uint64_t *first, uint64_t *last);

/* NULL is ignored. */
void xorb_snapcheck_free(struct xorb_snapcheck *c);

#endif

/*
 * A first-in first-out queue between one producer thread and one consumer
 * thread that holds at most mem_limit bytes in memory and spills the rest to
 * an unlinked temporary file (mode 0600, in $TMPDIR or /tmp).
 *
 * Why: a JetStream snapshot cannot be paused. Without acks nats-server 2.9
 * still sends one chunk every 10 ms (25 MiB/s at 256 KiB chunks), so a store
 * slower than that (a remote S3 bucket) would otherwise grow memory without
 * bound or lose chunks. The spool keeps memory bounded and lets the slow side
 * take as long as it needs; disk use is bounded by the backlog (consumed
 * ranges of the file are released as it drains).
 */
#ifndef XORB_SPOOL_H
#define XORB_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "xorb_error.h"

struct xorb_spool;

struct xorb_spool_stats {
	uint64_t spilled_bytes; /* bytes that went through the file */
	uint64_t peak_file;	/* largest backlog held in the file */
	uint64_t peak_mem;	/* largest backlog held in memory */
};

/* An item handed to the consumer; valid until xorb_spool_done(). */
struct xorb_spool_item {
	const void *data;
	size_t len;
	const char *tag; /* the producer's tag string, "" when none */
	void *priv_;	 /* the spool's own */
};

/*
 * New spool; dir NULL means $TMPDIR, else /tmp. The file is only created at
 * the first spill. Returns XORB_OK or XORB_ENOMEM; *out is freed with
 * xorb_spool_free().
 */
int xorb_spool_new(size_t mem_limit, const char *dir, struct xorb_spool **out,
		   struct xorb_error *err);
void xorb_spool_free(struct xorb_spool *sp);

/*
 * Producer: queues len bytes with a tag (copied; NULL for none). owner and
 * release describe who owns data: kept in memory, data stays where it is
 * until the consumer is done with it and then release(owner) runs; spilled,
 * data is copied to the file and release(owner) runs before put returns.
 * release runs in every case, also when put fails. Fails without queueing:
 * XORB_EIO naming the file and the reason, XORB_ENOMEM, or XORB_EINVAL once
 * the consumer cancelled.
 */
int xorb_spool_put(struct xorb_spool *sp, const void *data, size_t len, const char *tag,
		   void *owner, void (*release)(void *owner), struct xorb_error *err);

/* Producer: no more items. code XORB_OK is a normal end; otherwise the
 * consumer's next get after the queued items returns code with e's message. */
void xorb_spool_finish(struct xorb_spool *sp, int code, const struct xorb_error *e);

/* Producer: 1 once the consumer cancelled (stop producing). */
int xorb_spool_cancelled(struct xorb_spool *sp);

/*
 * Consumer: waits for the next item. Returns XORB_OK with *it filled in, 1
 * at the normal end (nothing left), or the producer's error code (err set),
 * or XORB_EIO when reading back from the file failed.
 */
int xorb_spool_get(struct xorb_spool *sp, struct xorb_spool_item *it, struct xorb_error *err);

/* Consumer: releases the item got last. */
void xorb_spool_done(struct xorb_spool *sp, struct xorb_spool_item *it);

/* Consumer: stop; later puts fail and drop their data. */
void xorb_spool_cancel(struct xorb_spool *sp);

void xorb_spool_stats(struct xorb_spool *sp, struct xorb_spool_stats *st);

#endif

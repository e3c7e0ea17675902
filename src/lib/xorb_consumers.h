/*
 * Consumers exactly as they were: what a backup records of every consumer
 * (the server's CONSUMER.INFO, config and state), and the comparison and
 * repair of the restored consumers against that record.
 *
 * Why it exists: the snapshot carries consumer state as the server stored
 * it, which is not always what the server reported. nats-server 2.10.x
 * (seen on 2.10.27; fixed in 2.11.0, PR #6566) never stores the starting
 * position of a deliver-last consumer, so its snapshot holds a zero state
 * and after a restore the consumer starts again at the beginning of the
 * stream. Only a record taken at backup time shows what was lost.
 *
 * The record is the archive entry streams/<stream>/consumers.json:
 *   {"consumers":[<CONSUMER.INFO reply without its "type">, ...]}
 * sorted by name.
 */
#ifndef XORB_CONSUMERS_H
#define XORB_CONSUMERS_H

#include <nats/nats.h>
#include <stdint.h>

#include "xorb_backup.h"
#include "xorb_buf.h"
#include "xorb_error.h"

/* The largest consumers.json the toolkit writes or reads. */
#define XORB_CONSUMERS_MAX_JSON (16u << 20) /* the archive's small-entry cap */

/* Appends the record of every consumer of stream to out (CONSUMER.NAMES,
 * then CONSUMER.INFO of each). A consumer deleted between the two calls is
 * left out. */
int xorb_consumers_record(natsConnection *nc, const char *stream, int timeout_ms,
			  struct xorb_buf *out, struct xorb_error *err);

struct xorb_consumers_result {
	unsigned checked;  /* consumers compared */
	unsigned repaired; /* recreated so that they match the record */
	unsigned differ;   /* still different from the record: warnings */
};

/*
 * Compares every recorded consumer of stream with what the server now
 * reports, and repairs what can be repaired exactly (see xorb_consumers.c).
 * Each difference left is reported through note as a warning naming the
 * consumer, the field and both values; config members the target server
 * does not report (a feature it does not have) are named too. Server-added
 * metadata keys (_nats.*) and members only the target reports (its
 * defaults) are ignored. last_seq is the stream's last sequence in the
 * backup. Returns XORB_OK (differences are not errors), XORB_ECORRUPT when
 * the record is not valid, or a NATS failure.
 */
int xorb_consumers_reconcile(natsConnection *nc, const char *stream, const char *record,
			     size_t len, int64_t last_seq, int timeout_ms, xorb_note_fn note,
			     void *note_arg, struct xorb_consumers_result *res,
			     struct xorb_error *err);

#endif

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
#include "xorb_json.h"

/* The largest consumers.json the toolkit writes or reads. */
#define XORB_CONSUMERS_MAX_JSON (16u << 20) /* the archive's small-entry cap */

/* Appends the record of every consumer of stream to out (CONSUMER.NAMES,
 * then CONSUMER.INFO of each). A consumer deleted between the two calls is
 * left out. */
int xorb_consumers_record(natsConnection *nc, const char *stream, int timeout_ms,
			  struct xorb_buf *out, struct xorb_error *err);

/* The consumers.json record of stream parsed and checked: *out (caller frees
 * with cJSON_Delete) is its root; every entry of its "consumers" array is an
 * object with a valid "name" and a "config" object. XORB_ECORRUPT otherwise. */
int xorb_consumers_parse(const char *stream, const char *record, size_t len, cJSON **out,
			 struct xorb_error *err);

/* How many differences xorb_consumers_compare describes in its text. */
#define XORB_CONSUMERS_DIFF_SHOWN 6

/*
 * The comparison of one consumer's CONSUMER.INFO (now) with a reference of
 * the same shape (the backup's record, or what another node reports):
 * delivered, ack_floor (consumer and stream sequences), num_ack_pending,
 * num_redelivered and the config (xorb_streamcfg_diff rules). num_pending is
 * left out (derived from the position and the stream, computed late by
 * cluster nodes). An ack floor of 0 and one at the delivered position count
 * as the same when nothing was ever acked or is pending (2.10 and 2.11+
 * write it differently). Appends "; "-separated descriptions of the first
 * XORB_CONSUMERS_DIFF_SHOWN differences to text (may be NULL), each as
 * "<field>: <ref_label> X, <now_label> Y"; returns their number.
 */
unsigned xorb_consumers_compare(const cJSON *ref, const cJSON *now, const char *ref_label,
				const char *now_label, struct xorb_buf *text);

struct xorb_consumers_result {
	unsigned checked;  /* consumers compared */
	unsigned repaired; /* recreated so that they match the record */
	unsigned differ;   /* still different from the record: warnings */
};

/*
 * Compares every recorded consumer of stream with what the server now
 * reports (xorb_consumers_compare), and repairs what can be repaired exactly
 * (see xorb_consumers.c: the 2.10 deliver-last position, the 2.15 clustered
 * ack-pending rollback of pull consumers).
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

/*
 * Test data for a tenant, and a faithful comparison of a stream between two
 * servers: what a backup followed by a restore must reproduce.
 *
 * Streams follow the product's schema: `xorb-<tenant>-<domain>-<class>`,
 * subjects `xorb.<tenant>.<domain>.<service>.<event>`. Every call works on
 * the account the connection is logged into and talks to the JetStream API
 * with plain requests, so what is created and compared is exactly what the
 * server stores. All calls return 0 on success and -1 on error with one line
 * (what failed, on what, why) in why; why may be NULL.
 */
#ifndef XT_FIXTURE_H
#define XT_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

/* 30 days in nanoseconds: the max_age the fixture streams carry. */
#define XT_MAX_AGE_30D INT64_C(2592000000000000)

/* Deleted (gap) sequences in xorb-<t>-scan-live for messages_per_stream n:
 * n/3+1, n/2+1 and n/2+2. */
#define XT_SCAN_DELETED 3

/*
 * Creates a tenant's streams (they must not exist yet); messages_per_stream
 * is at least 20. Call it again with another tenant name for more tenants in
 * the same account: stream names and subjects of two tenants never collide,
 * though tenants "t-qa" and "t-qa-eu" make the name prefix "xorb-t-qa-"
 * match both (a trap worth testing stream selection with). Tenant names:
 * letters, digits, '-' and '_'. n below is messages_per_stream.
 *
 * xorb-<t>-scan-live: file, subjects xorb.<t>.scan.>, max_age 30 days;
 *	n messages on xorb.<t>.scan.<nmap|zap|nuclei|trivy>.<created|updated|
 *	completed|failed|replay> (20 subjects), binary payloads (message 0 is
 *	empty, 1 is every byte 0..255, 2 is 64 KiB, 3 is one NUL, the rest
 *	0..2047 random bytes, deterministic per tenant); message i has no
 *	headers when i % 6 == 5, else Xorb-Tenant: <t> and Xorb-Index: <i>,
 *	plus when i % 7 == 0 the multi-value Xorb-Tag: alpha and Xorb-Tag:
 *	beta, when i % 11 == 0 the empty "Xorb-Empty: ", when i % 10 == 3
 *	Nats-Msg-Id: <t>-scan-<i> (message 0 has the multi-value and the empty
 *	header); then seqs n/3+1 (no_erase), n/2+1, n/2+2 deleted. Consumers:
 *	xorb-<t>-scan-live-consumer: durable pull, explicit ack, ack_wait 30 s,
 *		max_ack_pending 1024; 10 messages fetched, the 1st, 2nd, 3rd and
 *		5th acked: ack floor 3, 6 acks pending.
 *	xorb-<t>-scan-live-completed: durable pull, same settings, filter
 *		xorb.<t>.scan.*.completed; 2 fetched and acked.
 * xorb-<t>-evidence-live: file, subjects xorb.<t>.evidence.>,
 *	max_msgs_per_subject 2; S = max(4, n/5) subjects
 *	xorb.<t>.evidence.sensor<k>.updated, each written 5 times in a row:
 *	5*S published, 2*S kept, gaps between subjects.
 * xorb-<t>-compliance-replay: file, subjects xorb.<t>.compliance.>, max_age
 *	30 days, first sequence 1000 (purged to 1000 while empty), n messages
 *	(seqs 1000 .. 999+n), then deny_delete and deny_purge set.
 */
int xt_fixture_tenant(natsConnection *nc, const char *tenant, int messages_per_stream,
		      char *why, size_t whylen);

/* xorb-<t>-control-live: memory storage, subjects xorb.<t>.control.>, 5
 * messages. Snapshots refuse memory streams: this is the case to test. */
int xt_fixture_memory_stream(natsConnection *nc, const char *tenant, char *why,
			     size_t whylen);

/*
 * Creates the file stream `stream` on `subject` unless it exists (it must
 * then store subject), and publishes count random payloads of size bytes,
 * fast: every 1024th message and the last ask for an ack, at most 4096
 * messages are unconfirmed, and each ack's sequence must be exactly the
 * stream's last_seq before the call plus the message's index, which proves
 * none was lost. So nobody else may publish to the stream meanwhile.
 * Returns once the last message is acknowledged.
 */
int xt_fixture_bulk(natsConnection *nc, const char *stream, const char *subject,
		    uint64_t count, size_t size, char *why, size_t whylen);

/*
 * Compares `stream` on two servers: config (every field, parsed), state
 * (messages, bytes, first_seq, last_seq, num_deleted, num_subjects,
 * consumer_count), every sequence first_seq..last_seq as returned by
 * STREAM.MSG.GET (subject, headers, data and the exact time string; a
 * deleted sequence must be missing on both), and every consumer (config,
 * delivered, ack_floor, num_ack_pending, num_redelivered, num_pending).
 *
 * Returns 0 when identical (why then holds "N messages, C consumers"), 1 on
 * the first difference (described in why, "a" is the first connection),
 * -1 on error (including a stream missing on both servers).
 *
 * Numbers are compared as cJSON doubles: exact up to 2^53, which covers
 * nanosecond durations up to 104 days and every sequence a test produces.
 */
int xt_compare_stream(natsConnection *a, natsConnection *b, const char *stream,
		      char *why, size_t whylen);

#endif

/* JetStream snapshot client: see xorb_snapshot.h. */
#include "xorb_snapshot.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xorb_buf.h"
#include "xorb_json.h"
#include "xorb_nats.h"
#include "xorb_spool.h"

/* Pending queue bound for the deliver subscription. A reader thread moves
 * chunks from it to the spool at once, so it stays near empty; the bound is
 * only a safety net. */
#define SNAP_PENDING_BYTES (48 << 20)

/* Chunks waiting for the store beyond this go to a temporary file: chunks are
 * acked on receipt (see snap_read), so the server sends as fast as it reads
 * its files, and a store slower than that (a remote bucket) must not make the
 * backup fail or grow memory (see xorb_spool.h). */
#define SNAP_SPOOL_MEM (8u << 20)

/* How often the reader looks up from the subscription to see whether the
 * consumer gave up. */
#define SNAP_POLL_MS 200

/* Reply subjects are $JS.SNAPSHOT.ACK.<stream>.<nuid>.<len>.<index>: read the
 * last two tokens. */
static int parse_ack_subject(const char *reply, uint64_t *len, uint64_t *index)
{
	const char *last = strrchr(reply, '.'), *prev;
	char *end;

	if (!last || last == reply)
		return -1;
	for (prev = last - 1; prev > reply && *prev != '.'; prev--)
		;
	if (*prev != '.')
		return -1;
	*len = strtoull(prev + 1, &end, 10);
	if (end != last)
		return -1;
	*index = strtoull(last + 1, &end, 10);
	return *end ? -1 : 0;
}

static int build_backup_json(const char *raw, size_t len, struct xorb_buf *out,
			     struct xorb_error *err)
{
	const char *cfg, *st;
	size_t cl, sl;

	if (xorb_json_member_span(raw, len, "config", &cfg, &cl) ||
	    xorb_json_member_span(raw, len, "state", &st, &sl))
		return xorb_error_set(err, XORB_ECORRUPT,
				      "the snapshot reply lacks \"config\" or \"state\"");
	if (xorb_buf_puts(out, "{\"config\":") || xorb_buf_append(out, cfg, cl) ||
	    xorb_buf_puts(out, ",\"state\":") || xorb_buf_append(out, st, sl) ||
	    xorb_buf_puts(out, "}"))
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	return XORB_OK;
}

struct snap_reader {
	natsConnection *nc;
	natsSubscription *sub;
	const char *stream;
	int idle_ms;
	struct xorb_spool *sp;
};

static void msg_release(void *m)
{
	natsMsg_Destroy(m);
}

/*
 * The end-of-snapshot message: empty and without a reply subject. 2.9 sends
 * it bare; 2.10+ add "NATS/1.0 204" on success, and 408 (No Flow Response,
 * No Interest) or 500 (the server's error) on failure; 2.12.5+ send it bare
 * again when no acked chunk went out (seen on 2.15.1).
 */
static int snap_end(natsMsg *m, const char *stream, uint64_t received, struct xorb_error *err)
{
	const char *status = NULL, *desc = NULL;

	natsMsgHeader_Get(m, "Status", &status);
	natsMsgHeader_Get(m, "Description", &desc);
	if (status && strcmp(status, "204") && strcmp(status, "200"))
		return xorb_error_set(err, XORB_ENATS,
				      "stream \"%s\": the server ended the snapshot after %" PRIu64
				      " bytes with status %s%s%s%s",
				      stream, received, status, desc ? " " : "", desc ? desc : "",
				      !strcmp(status, "408") ? " (the server stopped waiting for this client; retry, and check the network and this host's load)" : "");
	return XORB_OK;
}

/*
 * Reader thread: takes chunks off the subscription as fast as they come,
 * checks their order, acks each one at once and queues it for the store.
 *
 * Acks go out on receipt, not once the store has the chunk: from 2.10 the
 * server gives up on a client that does not ack for 2 s (2.10) or 5 s
 * (2.12.5+) and ends the snapshot with "408 No Flow Response", so a store
 * that stalls must never hold acks back. The spool absorbs the difference
 * (memory first, then the temporary file). On every version the server's
 * window (8 MiB un-acked) then only bounds what is in flight on the wire.
 *
 * The chunk protocol of every version: data chunks carry the ack subject
 * $JS.SNAPSHOT.ACK.<stream>.<nuid>.<len>.<index>; from 2.12.5 (PR #7828, seen
 * on 2.15.1) the last, partial data chunk comes WITHOUT a reply subject and
 * needs no ack; then an empty message ends the snapshot (snap_end).
 */
static void *snap_read(void *arg)
{
	struct snap_reader *r = arg;
	struct xorb_error err = { 0, "" };
	uint64_t expect = 1, received = 0;
	int64_t dropped = 0;
	int waited = 0, rc = XORB_OK, last = 0;

	for (;;) {
		natsMsg *m = NULL;
		const char *reply;
		uint64_t len, index;
		natsStatus s;
		int dlen;

		if (xorb_spool_cancelled(r->sp))
			break;
		s = natsSubscription_NextMsg(&m, r->sub, SNAP_POLL_MS);
		if (s == NATS_TIMEOUT) {
			waited += SNAP_POLL_MS;
			if (waited < r->idle_ms)
				continue;
			rc = xorb_error_set(&err, XORB_ETIMEOUT,
					    "stream \"%s\": the snapshot stalled: no data for %d s after %" PRIu64
					    " bytes (raise --idle-timeout if the server is very busy)",
					    r->stream, r->idle_ms / 1000, received);
			break;
		}
		waited = 0;
		if (s == NATS_SLOW_CONSUMER) {
			rc = xorb_error_set(&err, XORB_EIO,
					    "stream \"%s\": snapshot chunks were dropped because they could not be taken off the connection fast enough; retry",
					    r->stream);
			break;
		}
		if (s != NATS_OK) {
			rc = xorb_error_set(&err, XORB_ENATS,
					    "stream \"%s\": the snapshot was interrupted after %" PRIu64 " bytes: %s",
					    r->stream, received, natsStatus_GetText(s));
			break;
		}
		reply = natsMsg_GetReply(m);
		dlen = natsMsg_GetDataLength(m);
		if ((!reply || !*reply) && dlen == 0) {
			rc = snap_end(m, r->stream, received, &err);
			natsMsg_Destroy(m);
			if (!rc && natsSubscription_GetDropped(r->sub, &dropped) == NATS_OK && dropped > 0)
				rc = xorb_error_set(&err, XORB_EIO, "stream \"%s\": %" PRId64 " snapshot chunks were dropped; retry",
						    r->stream, dropped);
			break;
		}
		if (last) {
			rc = xorb_error_set(&err, XORB_ECORRUPT,
					    "stream \"%s\": a snapshot chunk of %d bytes arrived after the last one (at %" PRIu64 " bytes)",
					    r->stream, dlen, received);
			natsMsg_Destroy(m);
			break;
		}
		if (!reply || !*reply) {
			last = 1; /* 2.12.5+: the final partial chunk, not acked */
		} else if (parse_ack_subject(reply, &len, &index) || len != (uint64_t)dlen) {
			rc = xorb_error_set(&err, XORB_ECORRUPT,
					    "stream \"%s\": unexpected snapshot chunk (ack subject \"%s\", %d bytes)",
					    r->stream, reply, dlen);
			natsMsg_Destroy(m);
			break;
		} else if (index != expect) {
			natsMsg_Destroy(m);
			rc = xorb_error_set(&err, XORB_EIO,
					    "stream \"%s\": snapshot chunk %" PRIu64 " arrived where %" PRIu64
					    " was due: chunks were lost (connection trouble); retry",
					    r->stream, index, expect);
			break;
		}
		expect++;
		received += (uint64_t)dlen;
		/* ack before the spool takes the message: reply lives in m, which
		 * the store side may free as soon as it is queued */
		if (!last)
			natsConnection_Publish(r->nc, reply, NULL, 0);
		rc = xorb_spool_put(r->sp, natsMsg_GetData(m), (size_t)dlen, NULL, m, msg_release, &err);
		if (rc) {
			xorb_error_prefix(&err, "stream \"%s\": the store is slower than the server sends the snapshot, and ",
					  r->stream);
			break;
		}
	}
	xorb_spool_finish(r->sp, rc, &err);
	return NULL;
}

int xorb_snapshot_stream(natsConnection *nc, const char *stream,
			 const struct xorb_snapshot_opts *o, const struct xorb_snapshot_cb *cb,
			 struct xorb_snapshot_stats *stats, struct xorb_error *err)
{
	int chunk = o && o->chunk_size > 0 ? o->chunk_size : XORB_SNAPSHOT_CHUNK_DEFAULT;
	int idle = o && o->idle_timeout_ms > 0 ? o->idle_timeout_ms : 30000;
	int api = o && o->api_timeout_ms > 0 ? o->api_timeout_ms : 10000;
	char inbox[128], subj[512], body[700], window[40] = "", *raw = NULL;
	struct snap_reader rd = { nc, NULL, stream, idle, NULL };
	struct xorb_spool_stats sps;
	natsSubscription *sub = NULL;
	struct xorb_buf meta;
	pthread_t reader;
	natsStatus s;
	int rc;

	memset(stats, 0, sizeof(*stats));
	xorb_buf_init(&meta);
	/* Subscribe first: the server waits only briefly for interest. Never a
	 * wildcard deliver subject (the server accepts it and then hangs). */
	s = xorb_nats_inbox(inbox, sizeof(inbox));
	if (s == NATS_OK)
		s = natsConnection_SubscribeSync(&sub, nc, inbox);
	if (s == NATS_OK)
		s = natsSubscription_SetPendingLimits(sub, -1, SNAP_PENDING_BYTES);
	if (s == NATS_OK)
		s = natsConnection_Flush(nc);
	if (s != NATS_OK) {
		rc = xorb_error_set(err, XORB_ENATS, "stream \"%s\": cannot subscribe for the snapshot: %s",
				    stream, natsStatus_GetText(s));
		goto out;
	}
	rc = xorb_spool_new(SNAP_SPOOL_MEM, NULL, &rd.sp, err);
	if (rc)
		goto out;
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.SNAPSHOT.%s", stream);
	/* window_size: 2.12.5+ (older servers ignore unknown fields); sent only
	 * when asked for, else the server's default (8 MiB) applies. */
	if (o && o->window_size > 0)
		snprintf(window, sizeof(window), ",\"window_size\":%d", o->window_size);
	snprintf(body, sizeof(body),
		 "{\"deliver_subject\":\"%s\",\"no_consumers\":%s,\"chunk_size\":%d%s,\"jsck\":false}",
		 inbox, o && o->no_consumers ? "true" : "false", chunk, window);
	rc = xorb_js_request(nc, subj, body, api, NULL, &raw, NULL, err);
	if (rc) {
		xorb_error_prefix(err, "stream \"%s\": snapshot request failed: ", stream);
		goto out;
	}
	rc = build_backup_json(raw, strlen(raw), &meta, err);
	if (!rc)
		rc = cb->meta(cb->arg, meta.data, meta.len, err);
	if (rc)
		goto out;

	rd.sub = sub;
	if (pthread_create(&reader, NULL, snap_read, &rd)) {
		rc = xorb_error_set(err, XORB_ENOMEM, "cannot start a thread");
		goto out;
	}
	for (;;) {
		struct xorb_spool_item it;

		rc = xorb_spool_get(rd.sp, &it, err);
		if (rc == 1) {
			rc = XORB_OK;
			break;
		}
		if (!rc)
			rc = cb->data(cb->arg, it.data, it.len, err);
		if (!rc) {
			stats->bytes += it.len;
			stats->chunks++;
		}
		xorb_spool_done(rd.sp, &it);
		if (rc)
			break;
	}
	xorb_spool_cancel(rd.sp);
	pthread_join(reader, NULL);
	xorb_spool_stats(rd.sp, &sps);
	stats->spooled = sps.spilled_bytes;
	stats->spool_peak = sps.peak_file;
out:
	xorb_nats_sub_free(nc, sub);
	xorb_spool_free(rd.sp);
	free(raw);
	xorb_buf_release(&meta);
	return rc;
}

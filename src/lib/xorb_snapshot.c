/* JetStream snapshot client: see xorb_snapshot.h. */
#include "xorb_snapshot.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xorb_buf.h"
#include "xorb_json.h"
#include "xorb_nats.h"

/* Pending queue bound for the deliver subscription. The server keeps about
 * 8 MiB in flight while acks come back; this leaves room for its 10 ms
 * "send anyway" leak without letting a slow store grow memory unbounded. */
#define SNAP_PENDING_BYTES (48 << 20)

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

int xorb_snapshot_stream(natsConnection *nc, const char *stream,
			 const struct xorb_snapshot_opts *o, const struct xorb_snapshot_cb *cb,
			 struct xorb_snapshot_stats *stats, struct xorb_error *err)
{
	int chunk = o && o->chunk_size > 0 ? o->chunk_size : XORB_SNAPSHOT_CHUNK_DEFAULT;
	int idle = o && o->idle_timeout_ms > 0 ? o->idle_timeout_ms : 30000;
	int api = o && o->api_timeout_ms > 0 ? o->api_timeout_ms : 10000;
	char inbox[128], subj[512], body[640], *raw = NULL;
	natsSubscription *sub = NULL;
	natsInbox *ib = NULL;
	struct xorb_buf meta;
	uint64_t expect = 1;
	int64_t dropped = 0;
	natsStatus s;
	int rc;

	memset(stats, 0, sizeof(*stats));
	xorb_buf_init(&meta);
	/* Subscribe first: the server waits only briefly for interest. Never a
	 * wildcard deliver subject (the server accepts it and then hangs). */
	s = natsInbox_Create(&ib);
	if (s == NATS_OK) {
		snprintf(inbox, sizeof(inbox), "%s", (const char *)ib);
		s = natsConnection_SubscribeSync(&sub, nc, inbox);
	}
	if (s == NATS_OK)
		s = natsSubscription_SetPendingLimits(sub, -1, SNAP_PENDING_BYTES);
	if (s == NATS_OK)
		s = natsConnection_Flush(nc);
	if (s != NATS_OK) {
		rc = xorb_error_set(err, XORB_ENATS, "stream \"%s\": cannot subscribe for the snapshot: %s",
				    stream, natsStatus_GetText(s));
		goto out;
	}
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.SNAPSHOT.%s", stream);
	snprintf(body, sizeof(body),
		 "{\"deliver_subject\":\"%s\",\"no_consumers\":%s,\"chunk_size\":%d,\"jsck\":false}",
		 inbox, o && o->no_consumers ? "true" : "false", chunk);
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

	for (;;) {
		natsMsg *m = NULL;
		const char *reply;
		uint64_t len, index;
		int dlen;

		s = natsSubscription_NextMsg(&m, sub, idle);
		if (s == NATS_TIMEOUT) {
			rc = xorb_error_set(err, XORB_ETIMEOUT,
					    "stream \"%s\": the snapshot stalled: no data for %d s after %" PRIu64
					    " bytes (raise --idle-timeout if the server is very busy)",
					    stream, idle / 1000, stats->bytes);
			goto out;
		}
		if (s == NATS_SLOW_CONSUMER) {
			rc = xorb_error_set(err, XORB_EIO,
					    "stream \"%s\": snapshot chunks were dropped because the store did not keep up (retry with a smaller --chunk-size or a faster store)",
					    stream);
			goto out;
		}
		if (s != NATS_OK) {
			rc = xorb_error_set(err, XORB_ENATS,
					    "stream \"%s\": the snapshot was interrupted after %" PRIu64 " bytes: %s",
					    stream, stats->bytes, natsStatus_GetText(s));
			goto out;
		}
		reply = natsMsg_GetReply(m);
		dlen = natsMsg_GetDataLength(m);
		if (!reply || !*reply) {
			/* End of snapshot: empty, no reply. Newer servers add a
			 * status header; honour it when present. */
			const char *status = NULL, *desc = NULL;

			natsMsgHeader_Get(m, "Status", &status);
			natsMsgHeader_Get(m, "Description", &desc);
			if (status && strcmp(status, "204") && strcmp(status, "200")) {
				rc = xorb_error_set(err, XORB_ENATS, "stream \"%s\": the server ended the snapshot with status %s%s%s",
						    stream, status, desc ? ": " : "", desc ? desc : "");
			} else if (dlen != 0) {
				rc = xorb_error_set(err, XORB_ECORRUPT,
						    "stream \"%s\": a snapshot chunk arrived without an ack subject", stream);
			}
			natsMsg_Destroy(m);
			goto end;
		}
		if (parse_ack_subject(reply, &len, &index) || len != (uint64_t)dlen) {
			natsMsg_Destroy(m);
			rc = xorb_error_set(err, XORB_ECORRUPT,
					    "stream \"%s\": unexpected snapshot chunk (ack subject \"%s\", %d bytes)",
					    stream, reply, dlen);
			goto out;
		}
		if (index != expect) {
			natsMsg_Destroy(m);
			rc = xorb_error_set(err, XORB_EIO,
					    "stream \"%s\": snapshot chunk %" PRIu64 " arrived where %" PRIu64
					    " was due: chunks were lost (store too slow or connection trouble); retry",
					    stream, index, expect);
			goto out;
		}
		expect++;
		rc = cb->data(cb->arg, natsMsg_GetData(m), (size_t)dlen, err);
		/* Ack after the chunk is handled: the server's window then paces
		 * the snapshot to the speed of the store. */
		if (!rc)
			natsConnection_Publish(nc, reply, NULL, 0);
		natsMsg_Destroy(m);
		if (rc)
			goto out;
		stats->bytes += (uint64_t)dlen;
		stats->chunks++;
	}
end:
	if (!rc && natsSubscription_GetDropped(sub, &dropped) == NATS_OK && dropped > 0)
		rc = xorb_error_set(err, XORB_EIO, "stream \"%s\": %" PRId64 " snapshot chunks were dropped; retry",
				    stream, dropped);
out:
	xorb_nats_sub_free(nc, sub);
	natsInbox_Destroy(ib);
	free(raw);
	xorb_buf_release(&meta);
	return rc;
}

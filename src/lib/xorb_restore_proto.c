/* Pipelined JetStream restore client: see xorb_restore_proto.h. */
#include "xorb_restore_proto.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xorb_nats.h"

struct xorb_restorer {
	natsConnection *nc;
	natsSubscription *sub;
	char stream[256];
	char deliver[256];
	char inbox[128];
	unsigned char *chunk;
	size_t chunk_size, chunk_len;
	int window, inflight, timeout;
	int commit_timeout;
	uint64_t sent_chunks;
};

static void free_restorer(struct xorb_restorer *r)
{
	if (!r)
		return;
	xorb_nats_sub_free(r->nc, r->sub);
	free(r->chunk);
	free(r);
}

int xorb_restorer_begin(natsConnection *nc, const char *stream, const char *request,
			size_t len, const struct xorb_restorer_opts *o,
			struct xorb_restorer **out, struct xorb_error *err)
{
	struct xorb_restorer *r;
	char subj[512], *body = NULL, wild[160];
	cJSON *reply = NULL;
	int64_t maxp;
	natsStatus s;
	int rc, api_err = 0;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	r->nc = nc;
	snprintf(r->stream, sizeof(r->stream), "%s", stream);
	r->chunk_size = o && o->chunk_size > 0 ? (size_t)o->chunk_size : 1u << 20;
	maxp = natsConnection_GetMaxPayload(nc);
	if (maxp > 0 && (int64_t)r->chunk_size > maxp)
		r->chunk_size = (size_t)maxp;
	r->window = o && o->window > 0 ? o->window : 16;
	r->timeout = o && o->api_timeout_ms > 0 ? o->api_timeout_ms : 10000;
	r->commit_timeout = o && o->commit_timeout_ms > 0 ? o->commit_timeout_ms : 300000;
	r->chunk = malloc(r->chunk_size);
	if (!r->chunk) {
		free_restorer(r);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	/* Replies to chunks come to <inbox>.<n>; subscribe before sending. */
	s = xorb_nats_inbox(r->inbox, sizeof(r->inbox));
	if (s == NATS_OK) {
		snprintf(wild, sizeof(wild), "%s.*", r->inbox);
		s = natsConnection_SubscribeSync(&r->sub, nc, wild);
	}
	if (s == NATS_OK)
		s = natsSubscription_SetPendingLimits(r->sub, -1, 16 << 20);
	if (s != NATS_OK) {
		free_restorer(r);
		return xorb_error_set(err, XORB_ENATS, "stream \"%s\": cannot subscribe for restore replies: %s",
				      stream, natsStatus_GetText(s));
	}
	body = strndup(request, len);
	if (!body) {
		free_restorer(r);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.RESTORE.%s", stream);
	rc = xorb_js_request(nc, subj, body, r->timeout, &reply, NULL, &api_err, err);
	free(body);
	if (rc) {
		xorb_error_prefix(err, "stream \"%s\": the server refused the restore: ", stream);
		if (api_err == 10005 && err)
			snprintf(err->msg + strlen(err->msg), sizeof(err->msg) - strlen(err->msg),
				 "; the cluster has too few servers online for the stream's num_replicas: bring them back, or restore with --replicas N");
		free_restorer(r);
		return rc;
	}
	snprintf(r->deliver, sizeof(r->deliver), "%s", xorb_json_str(reply, "deliver_subject", ""));
	cJSON_Delete(reply);
	if (!r->deliver[0]) {
		free_restorer(r);
		return xorb_error_set(err, XORB_ENATS, "stream \"%s\": the restore reply has no deliver_subject", stream);
	}
	*out = r;
	return XORB_OK;
}

/* Waits for one chunk reply; an empty reply is success. *no_responders (may
 * be NULL) tells that the chunk reached no server. */
static int wait_one(struct xorb_restorer *r, bool *no_responders, struct xorb_error *err)
{
	natsMsg *m = NULL;
	natsStatus s = natsSubscription_NextMsg(&m, r->sub, r->timeout);
	int rc = XORB_OK;

	if (no_responders)
		*no_responders = s == NATS_NO_RESPONDERS;
	if (s == NATS_TIMEOUT)
		return xorb_error_set(err, XORB_ETIMEOUT,
				      "stream \"%s\": the server did not acknowledge a restore chunk within %d ms",
				      r->stream, r->timeout);
	if (s != NATS_OK)
		return xorb_error_set(err, XORB_ENATS, "stream \"%s\": restore interrupted: %s", r->stream,
				      natsStatus_GetText(s));
	if (natsMsg_GetDataLength(m) > 0) {
		const char *d = natsMsg_GetData(m);
		cJSON *j = NULL;

		if (xorb_json_parse(d, (size_t)natsMsg_GetDataLength(m), "reply", &j, NULL) == XORB_OK &&
		    cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "error")))
			rc = xorb_error_set(err, XORB_ENATS, "stream \"%s\": the server rejected restore data: %s",
					    r->stream,
					    xorb_json_str(cJSON_GetObjectItemCaseSensitive(j, "error"),
							  "description", "unknown error"));
		else
			rc = xorb_error_set(err, XORB_ENATS, "stream \"%s\": the server rejected restore data: %.*s",
					    r->stream, natsMsg_GetDataLength(m) > 300 ? 300 : natsMsg_GetDataLength(m), d);
		cJSON_Delete(j);
	}
	natsMsg_Destroy(m);
	r->inflight--;
	return rc;
}

/*
 * The first chunk goes alone, and again when it reached no server: in a
 * cluster the server that takes the restore subscribes to the deliver
 * subject and answers at once, and the node the client is connected to may
 * learn of that subscription only after the answer reached the client (seen
 * on a 2.15.1 cluster: "No responders available for request" for the first
 * chunk, once in 6 runs). No responders means nobody received it, so sending
 * it again is safe; tried for up to 2 s.
 */
static int send_chunk(struct xorb_restorer *r, struct xorb_error *err)
{
	bool first = r->sent_chunks == 0, no_responders = false;
	char reply[192];
	natsStatus s;
	int tries;

	while (r->inflight >= r->window) {
		int rc = wait_one(r, NULL, err);

		if (rc)
			return rc;
	}
	for (tries = 0;; tries++) {
		int rc;

		snprintf(reply, sizeof(reply), "%s.%" PRIu64, r->inbox, ++r->sent_chunks);
		s = natsConnection_PublishRequest(r->nc, r->deliver, reply, r->chunk, (int)r->chunk_len);
		if (s != NATS_OK)
			return xorb_error_set(err, XORB_ENATS, "stream \"%s\": cannot send restore data: %s",
					      r->stream, natsStatus_GetText(s));
		r->inflight++;
		if (!first)
			break;
		rc = wait_one(r, &no_responders, err);
		if (!rc)
			break;
		if (!no_responders || tries >= 20)
			return rc;
		r->inflight--;
		nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
	}
	r->chunk_len = 0;
	return XORB_OK;
}

int xorb_restorer_write(struct xorb_restorer *r, const void *data, size_t len,
			struct xorb_error *err)
{
	const unsigned char *p = data;

	while (len) {
		size_t n = r->chunk_size - r->chunk_len;

		if (n > len)
			n = len;
		memcpy(r->chunk + r->chunk_len, p, n);
		r->chunk_len += n;
		p += n;
		len -= n;
		if (r->chunk_len == r->chunk_size) {
			int rc = send_chunk(r, err);

			if (rc)
				return rc;
		}
	}
	return XORB_OK;
}

int xorb_restorer_commit(struct xorb_restorer *r, cJSON **reply, struct xorb_error *err)
{
	cJSON *j = NULL;
	int rc = XORB_OK;

	if (reply)
		*reply = NULL;
	if (r->chunk_len)
		rc = send_chunk(r, err);
	while (!rc && r->inflight > 0)
		rc = wait_one(r, NULL, err);
	if (!rc) {
		rc = xorb_js_request(r->nc, r->deliver, NULL, r->commit_timeout, &j, NULL, NULL, err);
		if (rc)
			xorb_error_prefix(err, "stream \"%s\": the server could not complete the restore: ",
					  r->stream);
	}
	if (!rc && reply)
		*reply = j;
	else
		cJSON_Delete(j);
	free_restorer(r);
	return rc;
}

void xorb_restorer_abort(struct xorb_restorer *r)
{
	free_restorer(r);
}

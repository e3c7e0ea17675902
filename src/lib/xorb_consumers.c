/*
 * Consumer records and their reconciliation after a restore: see
 * xorb_consumers.h.
 *
 * Repair is done only where its result is known before it is tried, and is
 * checked after: a deliver-last consumer without a filter that the server
 * restored with a zero state (the nats-server 2.10 bug) while the record
 * says nothing was delivered or acked since it started at the stream's last
 * message. Deleting it and creating it again with the recorded config puts
 * it at the stream's last message, which is exactly the recorded position.
 * And a pull consumer that a clustered nats-server 2.15 wrote into its
 * snapshot rolled back to its ack floor (docs/nats-server-notes.md P9) while the record has every
 * delivery after the floor still pending and nothing redelivered: fetching
 * that many messages again without acking them makes them pending exactly
 * as recorded (refetchable()). Any other difference cannot be set through
 * the JetStream API on every server (CONSUMER.RESET, 2.14+, refuses
 * deliver-last consumers and restarts the delivery count), so it is
 * reported, not guessed at.
 */
#include "xorb_consumers.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xorb_json.h"
#include "xorb_nats.h"
#include "xorb_streamcfg.h"
#include "xorb_util.h"

int xorb_consumers_record(natsConnection *nc, const char *stream, int timeout_ms,
			  struct xorb_buf *out, struct xorb_error *err)
{
	char **names = NULL, subj[600];
	size_t n = 0, i;
	int rc, api = 0, first = 1;

	rc = xorb_js_consumer_names(nc, stream, timeout_ms, &names, &n, err);
	if (rc)
		return xorb_error_prefix(err, "stream \"%s\": cannot list its consumers: ", stream);
	if (xorb_buf_puts(out, "{\"consumers\":["))
		goto oom;
	for (i = 0; i < n; i++) {
		cJSON *info = NULL;

		snprintf(subj, sizeof(subj), "$JS.API.CONSUMER.INFO.%s.%s", stream, names[i]);
		rc = xorb_js_request(nc, subj, NULL, timeout_ms, &info, NULL, &api, err);
		if (rc == XORB_ENOTFOUND || api == XORB_JS_CONSUMER_NOT_FOUND) {
			rc = XORB_OK; /* deleted meanwhile: it is not in the snapshot either */
			continue;
		}
		if (rc) {
			xorb_error_prefix(err, "stream \"%s\": cannot read consumer \"%s\": ", stream, names[i]);
			goto out;
		}
		cJSON_DeleteItemFromObjectCaseSensitive(info, "type");
		if ((!first && xorb_buf_puts(out, ",")) || xorb_json_print(info, out)) {
			cJSON_Delete(info);
			goto oom;
		}
		first = 0;
		cJSON_Delete(info);
		if (out->len > XORB_CONSUMERS_MAX_JSON) {
			rc = xorb_error_set(err, XORB_EUNSUPPORTED,
					    "stream \"%s\": the consumer record exceeds %u MiB (%zu consumers)",
					    stream, XORB_CONSUMERS_MAX_JSON >> 20, n);
			goto out;
		}
	}
	if (xorb_buf_puts(out, "]}"))
		goto oom;
	rc = XORB_OK;
	goto out;
oom:
	rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
out:
	xorb_strv_free(names, n);
	return rc;
}

/* ---- comparison ---- */

struct diff {
	struct xorb_buf *text; /* may be NULL: count only */
	unsigned n;
};

__attribute__((format(printf, 2, 3))) static void diff_add(struct diff *d, const char *fmt, ...)
{
	char line[700];
	va_list ap;

	d->n++;
	if (d->n > XORB_CONSUMERS_DIFF_SHOWN || !d->text) /* enough to act on; the count says the rest */
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (d->text->len)
		xorb_buf_puts(d->text, "; ");
	xorb_buf_puts(d->text, line);
}

/* The consumer's own state. num_pending is left out: it is derived from the
 * delivered position and the stream (identical after a restore), and a
 * cluster node computes it late (seen 156 for 289 right after an R3 restore
 * on 2.9.10), so comparing it would only report timing. */
static const char *const state_fields[][2] = {
	{ "delivered", "consumer_seq" }, { "delivered", "stream_seq" },
	{ "ack_floor", "consumer_seq" }, { "ack_floor", "stream_seq" },
	{ "num_ack_pending", NULL },	 { "num_redelivered", NULL },
};

static int64_t state_num(const cJSON *info, const char *a, const char *b)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(info, a);

	if (b)
		return xorb_json_int(o, b, 0);
	return cJSON_IsNumber(o) ? (int64_t)o->valuedouble : 0;
}

/* A consumer that never had an ack reports an ack floor (stream sequence) of
 * 0 on nats-server 2.10 and the sequence before its start on 2.11+ (seen on
 * 2.10.27 and 2.15.1 for deliver-last consumers): the same state, written
 * two ways, when nothing is ack-pending and no ack was ever counted. */
static int nothing_acked_alike(const cJSON *a, const cJSON *b)
{
	int64_t fa = state_num(a, "ack_floor", "stream_seq"), fb = state_num(b, "ack_floor", "stream_seq");

	if (state_num(a, "ack_floor", "consumer_seq") || state_num(b, "ack_floor", "consumer_seq") ||
	    state_num(a, "num_ack_pending", NULL) || state_num(b, "num_ack_pending", NULL))
		return 0;
	return (fa == 0 && fb == state_num(b, "delivered", "stream_seq")) ||
	       (fb == 0 && fa == state_num(a, "delivered", "stream_seq"));
}

unsigned xorb_consumers_compare(const cJSON *ref, const cJSON *now, const char *ref_label,
				const char *now_label, struct xorb_buf *text)
{
	struct diff d = { text, 0 };
	size_t i;
	unsigned n;

	for (i = 0; i < sizeof(state_fields) / sizeof(state_fields[0]); i++) {
		int64_t x = state_num(ref, state_fields[i][0], state_fields[i][1]);
		int64_t y = state_num(now, state_fields[i][0], state_fields[i][1]);

		if (x != y && i == 3 && nothing_acked_alike(ref, now))
			continue;
		if (x != y)
			diff_add(&d, "%s%s%s: %s %" PRId64 ", %s %" PRId64, state_fields[i][0],
				 state_fields[i][1] ? "." : "", state_fields[i][1] ? state_fields[i][1] : "",
				 ref_label, x, now_label, y);
	}
	/* the config: the same rules as a stream's (_nats.* metadata ignored, a
	 * member the server does not keep named as a feature it lacks) */
	{
		struct xorb_buf t;

		xorb_buf_init(&t);
		n = xorb_streamcfg_diff(cJSON_GetObjectItemCaseSensitive(ref, "config"),
					cJSON_GetObjectItemCaseSensitive(now, "config"), NULL, &t);
		if (n) {
			d.n += n - 1;
			diff_add(&d, "config: %s", t.data ? t.data : "");
		}
		xorb_buf_release(&t);
	}
	return d.n;
}

/* The nats-server 2.10 deliver-last case (see the top of this file): is the
 * result of creating the consumer again known to equal the record? */
static int repairable(const cJSON *rec, const cJSON *now, int64_t last_seq)
{
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(rec, "config");
	const cJSON *fs = cJSON_GetObjectItemCaseSensitive(cfg, "filter_subjects");

	if (strcmp(xorb_json_str(cfg, "deliver_policy", ""), "last") ||
	    *xorb_json_str(cfg, "filter_subject", "") || cJSON_GetArraySize(fs) > 0)
		return 0;
	if (last_seq < 1 || state_num(now, "delivered", "stream_seq") ||
	    state_num(now, "delivered", "consumer_seq") || state_num(now, "ack_floor", "stream_seq"))
		return 0;
	return state_num(rec, "delivered", "consumer_seq") == 0 &&
	       state_num(rec, "ack_floor", "consumer_seq") == 0 &&
	       state_num(rec, "num_ack_pending", NULL) == 0 &&
	       state_num(rec, "num_redelivered", NULL) == 0 &&
	       state_num(rec, "delivered", "stream_seq") == last_seq - 1 &&
	       /* 2.10 reports an ack floor of 0 for such a consumer, 2.11+ the
		* position before its start: both mean nothing was acked */
	       (state_num(rec, "ack_floor", "stream_seq") == last_seq - 1 ||
		state_num(rec, "ack_floor", "stream_seq") == 0);
}

/* The nats-server 2.10 deliver-last case that cannot be repaired: the same
 * zero state, but messages came after the consumer's start, so creating it
 * again would start it at the stream's last message, past the recorded
 * position, and 2.10 has no API that sets a position (CONSUMER.RESET is
 * 2.14+; deliver_policy and opt_start_seq cannot be updated).
 * docs/nats-server-notes.md P11. */
static int behind_last(const cJSON *rec, const cJSON *now, int64_t last_seq)
{
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(rec, "config");
	const cJSON *fs = cJSON_GetObjectItemCaseSensitive(cfg, "filter_subjects");
	int64_t at = state_num(rec, "delivered", "stream_seq");

	if (strcmp(xorb_json_str(cfg, "deliver_policy", ""), "last") ||
	    *xorb_json_str(cfg, "filter_subject", "") || cJSON_GetArraySize(fs) > 0)
		return 0;
	if (state_num(now, "delivered", "stream_seq") || state_num(now, "delivered", "consumer_seq") ||
	    state_num(now, "ack_floor", "stream_seq") || state_num(now, "ack_floor", "consumer_seq") ||
	    state_num(now, "num_ack_pending", NULL))
		return 0;
	return state_num(rec, "delivered", "consumer_seq") == 0 &&
	       state_num(rec, "ack_floor", "consumer_seq") == 0 &&
	       state_num(rec, "num_ack_pending", NULL) == 0 &&
	       state_num(rec, "num_redelivered", NULL) == 0 && at >= 1 && at < last_seq - 1;
}

static int recreate(natsConnection *nc, const char *stream, const char *name, const cJSON *rec,
		    int timeout_ms, struct xorb_error *err)
{
	cJSON *req = cJSON_CreateObject(), *cfg;
	struct xorb_buf b;
	char subj[600];
	int rc;

	cfg = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rec, "config"), 1);
	if (!req || !cfg) {
		cJSON_Delete(req);
		cJSON_Delete(cfg);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	cJSON_AddStringToObject(req, "stream_name", stream);
	cJSON_AddItemToObject(req, "config", cfg);
	xorb_buf_init(&b);
	if (xorb_json_print(req, &b)) {
		cJSON_Delete(req);
		xorb_buf_release(&b);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	cJSON_Delete(req);
	snprintf(subj, sizeof(subj), "$JS.API.CONSUMER.DELETE.%s.%s", stream, name);
	rc = xorb_js_request(nc, subj, NULL, timeout_ms, NULL, NULL, NULL, err);
	if (rc) {
		xorb_error_prefix(err, "cannot delete it: ");
	} else {
		snprintf(subj, sizeof(subj), "$JS.API.CONSUMER.DURABLE.CREATE.%s.%s", stream, name);
		rc = xorb_js_request(nc, subj, b.data, timeout_ms, NULL, NULL, NULL, err);
		if (rc)
			xorb_error_prefix(err, "it was deleted and cannot be created again (create it by hand with the config in the backup's consumers.json): ");
	}
	xorb_buf_release(&b);
	return rc;
}

/*
 * The ack-pending rollback of clustered nats-server 2.15 snapshots (docs/nats-server-notes.md
 * P9): a clustered server writes a consumer with acks pending into its
 * snapshot with its delivered position set back to its ack floor, and the
 * restored consumer would deliver those messages again as new deliveries.
 * Is the recorded state known to come back by fetching the pending messages
 * once more, without acking them? Only for a pull consumer whose record has
 * every delivery after the ack floor still pending (delivered - ack floor =
 * ack pending, in consumer sequences) and no redelivery: the next N messages
 * after the ack floor of the identical stream are then exactly the pending
 * ones, each delivered once, as in the record. With redeliveries the counts
 * cannot be made again (every redelivery advances the consumer sequence),
 * and a push consumer delivers at its own pace: those stay warnings.
 */
static int refetchable(const cJSON *rec, const cJSON *now)
{
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(rec, "config");
	int64_t n = state_num(rec, "num_ack_pending", NULL);

	if (*xorb_json_str(cfg, "deliver_subject", "") || !strcmp(xorb_json_str(cfg, "ack_policy", "none"), "none"))
		return 0;
	if (n <= 0 || state_num(rec, "num_redelivered", NULL) ||
	    state_num(rec, "delivered", "consumer_seq") - state_num(rec, "ack_floor", "consumer_seq") != n)
		return 0;
	if (xorb_json_int(cfg, "max_ack_pending", -1) > 0 && xorb_json_int(cfg, "max_ack_pending", -1) < n)
		return 0;
	/* now: at the recorded ack floor, nothing pending, nobody waiting, the
	 * same config */
	return state_num(now, "delivered", "consumer_seq") == state_num(rec, "ack_floor", "consumer_seq") &&
	       state_num(now, "delivered", "stream_seq") == state_num(rec, "ack_floor", "stream_seq") &&
	       state_num(now, "ack_floor", "consumer_seq") == state_num(rec, "ack_floor", "consumer_seq") &&
	       state_num(now, "ack_floor", "stream_seq") == state_num(rec, "ack_floor", "stream_seq") &&
	       !state_num(now, "num_ack_pending", NULL) && !state_num(now, "num_redelivered", NULL) &&
	       !state_num(now, "num_waiting", NULL) &&
	       !xorb_streamcfg_diff(cJSON_GetObjectItemCaseSensitive(rec, "config"),
				    cJSON_GetObjectItemCaseSensitive(now, "config"), NULL, NULL);
}

/* Fetches the recorded num_ack_pending messages from the pull consumer and
 * acks none of them (see refetchable). The pull requests wait for messages
 * (expires) instead of no_wait: right after a restore into a 2.15.1 cluster a
 * no_wait request was once answered "no messages" at once, although the
 * messages were there (the new leader had not counted them yet). */
static int refetch(natsConnection *nc, const char *stream, const char *name, const cJSON *rec,
		   int timeout_ms, struct xorb_error *err)
{
	int64_t want = state_num(rec, "num_ack_pending", NULL), got = 0;
	int64_t max_batch = xorb_json_int(cJSON_GetObjectItemCaseSensitive(rec, "config"), "max_batch", 0);
	natsSubscription *sub = NULL;
	char inbox[128];
	char subj[600], body[160], last[64] = "";
	natsStatus s;
	double deadline;

	if (timeout_ms <= 0)
		timeout_ms = 10000;
	deadline = xorb_now() + timeout_ms / 1000.0;
	s = xorb_nats_inbox(inbox, sizeof(inbox));
	if (s == NATS_OK)
		s = natsConnection_SubscribeSync(&sub, nc, inbox);
	if (s != NATS_OK) {
		return xorb_error_set(err, XORB_ENATS, "cannot subscribe to an inbox: %s", natsStatus_GetText(s));
	}
	snprintf(subj, sizeof(subj), "$JS.API.CONSUMER.MSG.NEXT.%s.%s", stream, name);
	while (got < want && s == NATS_OK && xorb_now() < deadline) {
		int64_t batch = want - got, in_batch = 0;
		int wait_ms = timeout_ms < 2000 ? timeout_ms : 2000;

		if (max_batch > 0 && batch > max_batch)
			batch = max_batch;
		snprintf(body, sizeof(body), "{\"batch\":%" PRId64 ",\"expires\":%" PRId64 "}", batch,
			 (int64_t)wait_ms * 1000000);
		s = natsConnection_PublishRequestString(nc, subj, inbox, body);
		while (s == NATS_OK && in_batch < batch) {
			natsMsg *m = NULL;
			const char *status = NULL;

			s = natsSubscription_NextMsg(&m, sub, wait_ms + 1000);
			if (s != NATS_OK)
				break;
			/* a status message (408 request expired, 404 ...) ends
			 * this request */
			if (natsMsg_GetDataLength(m) == 0 && natsMsgHeader_Get(m, "Status", &status) == NATS_OK) {
				const char *d = NULL;

				natsMsgHeader_Get(m, "Description", &d);
				snprintf(last, sizeof(last), "%s%s%s", status, d ? " " : "", d ? d : "");
				natsMsg_Destroy(m);
				break;
			}
			natsMsg_Destroy(m);
			in_batch++;
		}
		got += in_batch;
		if (s == NATS_TIMEOUT && got < want)
			s = NATS_OK; /* no answer to this request: ask again until the deadline */
	}
	xorb_nats_sub_free(nc, sub);
	if (got < want)
		return xorb_error_set(err, XORB_ENATS, "fetched %" PRId64 " of the %" PRId64 " pending messages again%s%s%s%s",
				      got, want, s != NATS_OK ? ": " : "", s != NATS_OK ? natsStatus_GetText(s) : "",
				      last[0] ? "; last status: " : "", last);
	return XORB_OK;
}

int xorb_consumers_parse(const char *stream, const char *record, size_t len, cJSON **out,
			 struct xorb_error *err)
{
	cJSON *j = NULL, *arr, *rec;
	int rc;

	*out = NULL;
	if (len > XORB_CONSUMERS_MAX_JSON)
		return xorb_error_set(err, XORB_ECORRUPT, "stream \"%s\": consumers.json is larger than %u MiB",
				      stream, XORB_CONSUMERS_MAX_JSON >> 20);
	rc = xorb_json_parse(record, len, "consumers.json", &j, err);
	if (rc)
		return xorb_error_prefix(err, "stream \"%s\": ", stream);
	arr = cJSON_GetObjectItemCaseSensitive(j, "consumers");
	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(j);
		return xorb_error_set(err, XORB_ECORRUPT, "stream \"%s\": consumers.json has no \"consumers\" array", stream);
	}
	cJSON_ArrayForEach(rec, arr) {
		const char *name = xorb_json_str(rec, "name", NULL);

		if (!cJSON_IsObject(rec) || !name || !*name || strpbrk(name, ".*> \t\r\n") ||
		    !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(rec, "config"))) {
			cJSON_Delete(j);
			return xorb_error_set(err, XORB_ECORRUPT,
					      "stream \"%s\": consumers.json holds an entry without a valid name and config",
					      stream);
		}
	}
	*out = j;
	return XORB_OK;
}

int xorb_consumers_reconcile(natsConnection *nc, const char *stream, const char *record,
			     size_t len, int64_t last_seq, int timeout_ms, xorb_note_fn note,
			     void *note_arg, struct xorb_consumers_result *res,
			     struct xorb_error *err)
{
	cJSON *j = NULL, *rec;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = xorb_consumers_parse(stream, record, len, &j, err);
	if (rc)
		return rc;
	cJSON_ArrayForEach(rec, cJSON_GetObjectItemCaseSensitive(j, "consumers")) {
		const char *name = xorb_json_str(rec, "name", NULL);
		struct xorb_buf text;
		cJSON *now = NULL;
		struct xorb_error e;
		unsigned n;
		int how = 0; /* 1: created again, 2: pending messages fetched again */

		res->checked++;
		xorb_error_clear(&e);
		rc = xorb_js_consumer_info(nc, stream, name, timeout_ms, &now, &e);
		if (rc == XORB_ENOTFOUND) {
			res->differ++;
			xorb_notef(note, note_arg, XORB_NOTE_WARN, stream,
			      "consumer \"%s\" is in the backup but not on the server after the restore", name);
			continue;
		}
		if (rc) {
			/* name lives in j: say it before j goes */
			*err = e;
			rc = xorb_error_prefix(err, "stream \"%s\": cannot read consumer \"%s\" after the restore: ", stream,
					       name);
			cJSON_Delete(j);
			return rc;
		}
		xorb_buf_init(&text);
		n = xorb_consumers_compare(rec, now, "backup", "server", &text);
		if (n && repairable(rec, now, last_seq)) {
			how = 1;
			rc = recreate(nc, stream, name, rec, timeout_ms, &e);
		} else if (n && refetchable(rec, now)) {
			how = 2;
			rc = refetch(nc, stream, name, rec, timeout_ms, &e);
		} else if (n && behind_last(rec, now, last_seq)) {
			int64_t next = state_num(rec, "delivered", "stream_seq") + 1;

			res->differ++;
			xorb_notef(note, note_arg, XORB_NOTE_WARN, stream,
			      "consumer \"%s\" came back without its position (%s): nats-server 2.10 stores no position for a deliver-last consumer that has delivered nothing yet (fixed in 2.11), and as the stream got %" PRId64 " more sequences after the consumer started, creating it again would start it at sequence %" PRId64 " instead of %" PRId64 "; 2.10 has no API that sets a position. Before the applications resume, delete it and create it by hand with its config from the backup's consumers.json but \"deliver_policy\":\"by_start_sequence\",\"opt_start_seq\":%" PRId64 " (the same next message, a different config), or restore into nats-server 2.11 or newer",
			      name, text.data ? text.data : "", last_seq - next, last_seq, next, next);
			xorb_buf_release(&text);
			cJSON_Delete(now);
			continue;
		}
		if (how) {
			cJSON_Delete(now);
			now = NULL;
			if (!rc)
				rc = xorb_js_consumer_info(nc, stream, name, timeout_ms, &now, &e);
			if (rc) {
				res->differ++;
				xorb_notef(note, note_arg, XORB_NOTE_WARN, stream,
				      "consumer \"%s\" came back %s (%s) and could not be repaired: %s", name,
				      how == 1 ? "without its position" : "with its pending messages unacknowledged but not delivered",
				      text.data, e.msg);
				xorb_buf_release(&text);
				continue;
			}
			xorb_buf_reset(&text);
			n = xorb_consumers_compare(rec, now, "backup", "server", &text);
			if (!n) {
				res->repaired++;
				if (how == 1)
					xorb_notef(note, note_arg, XORB_NOTE_INFO, stream,
					      "consumer \"%s\": the server restored it at the start of the stream (nats-server 2.10 keeps no position for deliver-last consumers); created again at its recorded position",
					      name);
				else
					xorb_notef(note, note_arg, XORB_NOTE_INFO, stream,
					      "consumer \"%s\": the snapshot had it rolled back to its ack floor (a clustered nats-server 2.15 does that to consumers with acks pending); its %" PRId64 " pending messages were fetched again without acking, so they are pending as recorded (their ack wait starts now)",
					      name, state_num(rec, "num_ack_pending", NULL));
			}
		}
		if (n) {
			res->differ++;
			xorb_notef(note, note_arg, XORB_NOTE_WARN, stream,
			      "consumer \"%s\" differs from the backup (%u difference%s): %s%s", name, n,
			      n == 1 ? "" : "s", text.data ? text.data : "",
			      n > XORB_CONSUMERS_DIFF_SHOWN ? "; ..." : "");
		}
		xorb_buf_release(&text);
		cJSON_Delete(now);
	}
	cJSON_Delete(j);
	return XORB_OK;
}

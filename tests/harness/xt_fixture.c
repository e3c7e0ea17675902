/*
 * Tenant test data and the stream comparison used to judge a backup and
 * restore (see xt_fixture.h). Requests go straight to the $JS.API subjects
 * with JSON written here, so int64 fields (30-day max_age in ns) reach the
 * server as the exact integers; replies are parsed with cJSON.
 */
#include "xt_fixture.h"

#include "xorb_buf.h"

#include <cJSON.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_TIMEOUT_MS 10000
#define GET_WINDOW 512 /* MSG.GET requests in flight per server */
#define MIN_MESSAGES 20

#define ERR_STREAM_NOT_FOUND 10059
#define ERR_NO_MESSAGE 10037

struct api_err {
	int code;
	int err_code;
	char desc[256];
};

static const char *const services[] = { "nmap", "zap", "nuclei", "trivy" };
static const char *const events[] = { "created", "updated", "completed", "failed", "replay" };

static int fail(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int differ(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int differ(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return 1;
}

/* Stream, consumer and tenant names become subject tokens. */
static int valid_token(const char *s, size_t max)
{
	size_t n = 0;

	if (!s || !*s)
		return 0;
	for (; *s; s++, n++) {
		if (n >= max)
			return 0;
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return 0;
	}
	return 1;
}

/* Deterministic data: splitmix64 seeded from a string. */
static uint64_t seed_of(const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 1099511628211ULL;
	h = (h ^ '/') * 1099511628211ULL;
	for (; *b; b++)
		h = (h ^ (unsigned char)*b) * 1099511628211ULL;
	return h;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_fill(uint64_t *s, unsigned char *p, size_t n)
{
	uint64_t v;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		v = rng_next(s);
		memcpy(p + i, &v, 8);
	}
	if (i < n) {
		v = rng_next(s);
		memcpy(p + i, &v, n - i);
	}
}

static double num_or(const cJSON *obj, const char *key, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* Number at a dotted path ("delivered.stream_seq"); absent counts as 0, as
 * the server omits zero values. */
static double num_at(const cJSON *obj, const char *path)
{
	char key[64];
	const char *dot;
	size_t n;

	while ((dot = strchr(path, '.'))) {
		n = (size_t)(dot - path);
		if (n >= sizeof(key))
			return 0;
		memcpy(key, path, n);
		key[n] = '\0';
		obj = cJSON_GetObjectItemCaseSensitive(obj, key);
		path = dot + 1;
	}
	return num_or(obj, path, 0);
}

static int api_error(const cJSON *reply, struct api_err *e)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(reply, "error");
	const cJSON *d;

	if (!cJSON_IsObject(err))
		return 0;
	e->code = (int)num_or(err, "code", 0);
	e->err_code = (int)num_or(err, "err_code", 0);
	d = cJSON_GetObjectItemCaseSensitive(err, "description");
	snprintf(e->desc, sizeof(e->desc), "%s", cJSON_IsString(d) ? d->valuestring : "?");
	return 1;
}

static const char *nats_why(natsStatus st)
{
	switch (st) {
	case NATS_TIMEOUT:
		return "timed out (JetStream not enabled, or no permission for $JS.API?)";
	case NATS_NO_RESPONDERS:
		return "no responders (JetStream not enabled for this account?)";
	default:
		return natsStatus_GetText(st);
	}
}

/*
 * One JetStream API request. Returns 0 with the parsed reply in *out (free
 * with cJSON_Delete), 1 when the server answered with an API error (in e,
 * *out NULL), -1 when there was no usable answer (why set).
 */
static int js_api(natsConnection *nc, const char *subj, const char *req, cJSON **out,
		  struct api_err *e, char *why, size_t whylen)
{
	natsMsg *reply = NULL;
	natsStatus st;
	cJSON *j;

	*out = NULL;
	st = natsConnection_Request(&reply, nc, subj, req, (int)strlen(req), API_TIMEOUT_MS);
	if (st != NATS_OK)
		return fail(why, whylen, "%s: %s", subj, nats_why(st));
	j = cJSON_ParseWithLength(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
	natsMsg_Destroy(reply);
	if (!j)
		return fail(why, whylen, "%s: reply is not JSON", subj);
	if (api_error(j, e)) {
		cJSON_Delete(j);
		return 1;
	}
	*out = j;
	return 0;
}

/* js_api() for calls whose API errors are failures too. */
static int js_call(natsConnection *nc, const char *subj, const char *req, cJSON **out,
		   char *why, size_t whylen)
{
	struct api_err e;
	cJSON *dummy = NULL;
	int r;

	r = js_api(nc, subj, req, out ? out : &dummy, &e, why, whylen);
	cJSON_Delete(dummy);
	if (r == 1)
		return fail(why, whylen, "%s: %s (%d/%d)", subj, e.desc, e.code, e.err_code);
	return r;
}

/* Subjects in $JS.API.* need the name printed in; names are valid tokens. */
static int js_callf(natsConnection *nc, const char *req, cJSON **out, char *why,
		    size_t whylen, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int js_callf(natsConnection *nc, const char *req, cJSON **out, char *why,
		    size_t whylen, const char *fmt, ...)
{
	char subj[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(subj, sizeof(subj), fmt, ap);
	va_end(ap);
	return js_call(nc, subj, req, out, why, whylen);
}

/* 1 when the stream exists, 0 when not, -1 on error. */
static int stream_exists(natsConnection *nc, const char *stream, char *why, size_t whylen)
{
	char subj[512];
	struct api_err e;
	cJSON *info;
	int r;

	snprintf(subj, sizeof(subj), "$JS.API.STREAM.INFO.%s", stream);
	r = js_api(nc, subj, "", &info, &e, why, whylen);
	cJSON_Delete(info);
	if (r == 0)
		return 1;
	if (r == 1 && e.err_code == ERR_STREAM_NOT_FOUND)
		return 0;
	if (r == 1)
		return fail(why, whylen, "stream \"%s\": %s (%d/%d)", stream, e.desc, e.code,
			    e.err_code);
	return -1;
}

struct stream_def {
	const char *name;
	const char *subject;
	const char *storage; /* "file" or "memory" */
	int64_t max_age;     /* ns, 0: none */
	int64_t max_per_subject; /* 0: unlimited */
	int deny;		 /* deny_delete + deny_purge */
};

static int stream_json(struct xorb_buf *b, const struct stream_def *d)
{
	xorb_buf_reset(b);
	xorb_buf_printf(b,
			"{\"name\":\"%s\",\"subjects\":[\"%s\"],\"retention\":\"limits\","
			"\"storage\":\"%s\",\"discard\":\"old\",\"num_replicas\":1,"
			"\"max_age\":%" PRId64 ",\"max_msgs_per_subject\":%" PRId64,
			d->name, d->subject, d->storage, d->max_age,
			d->max_per_subject > 0 ? d->max_per_subject : -1);
	if (d->deny)
		xorb_buf_puts(b, ",\"deny_delete\":true,\"deny_purge\":true");
	return xorb_buf_puts(b, "}");
}

static int stream_create(natsConnection *nc, const struct stream_def *d, int update,
			 char *why, size_t whylen)
{
	struct xorb_buf b;
	int r;

	xorb_buf_init(&b);
	if (stream_json(&b, d)) {
		xorb_buf_release(&b);
		return fail(why, whylen, "out of memory");
	}
	r = js_callf(nc, b.data, NULL, why, whylen, "$JS.API.STREAM.%s.%s",
		     update ? "UPDATE" : "CREATE", d->name);
	xorb_buf_release(&b);
	return r;
}

/* Publishes through JetStream and checks the sequence the server gave. */
static int publish(jsCtx *js, natsMsg *m, uint64_t want_seq, char *why, size_t whylen)
{
	jsPubAck *pa = NULL;
	jsErrCode jerr = 0;
	natsStatus st;
	int r = 0;

	st = js_PublishMsg(&pa, js, m, NULL, &jerr);
	if (st != NATS_OK)
		r = fail(why, whylen, "publish to \"%s\": %s (%d)", natsMsg_GetSubject(m),
			 nats_why(st), (int)jerr);
	else if (want_seq && pa->Sequence != want_seq)
		r = fail(why, whylen, "publish to \"%s\": got seq %" PRIu64 ", expected %" PRIu64,
			 natsMsg_GetSubject(m), pa->Sequence, want_seq);
	jsPubAck_Destroy(pa);
	return r;
}

static int publish_text(jsCtx *js, const char *subj, const char *text, uint64_t want_seq,
			char *why, size_t whylen)
{
	natsMsg *m = NULL;
	int r;

	if (natsMsg_Create(&m, subj, NULL, text, (int)strlen(text)) != NATS_OK)
		return fail(why, whylen, "out of memory");
	r = publish(js, m, want_seq, why, whylen);
	natsMsg_Destroy(m);
	return r;
}

static int delete_seq(natsConnection *nc, const char *stream, uint64_t seq, int no_erase,
		      char *why, size_t whylen)
{
	char req[128];

	snprintf(req, sizeof(req), "{\"seq\":%" PRIu64 "%s}", seq,
		 no_erase ? ",\"no_erase\":true" : "");
	return js_callf(nc, req, NULL, why, whylen, "$JS.API.STREAM.MSG.DELETE.%s", stream);
}

static int consumer_create(natsConnection *nc, const char *stream, const char *durable,
			   const char *filter, char *why, size_t whylen)
{
	struct xorb_buf b;
	int r;

	xorb_buf_init(&b);
	xorb_buf_printf(&b,
			"{\"stream_name\":\"%s\",\"config\":{\"durable_name\":\"%s\","
			"\"deliver_policy\":\"all\",\"ack_policy\":\"explicit\","
			"\"ack_wait\":30000000000,\"max_deliver\":-1,\"max_ack_pending\":1024,"
			"\"replay_policy\":\"instant\"",
			stream, durable);
	if (filter)
		xorb_buf_printf(&b, ",\"filter_subject\":\"%s\"", filter);
	if (xorb_buf_puts(&b, "}}")) {
		xorb_buf_release(&b);
		return fail(why, whylen, "out of memory");
	}
	r = js_callf(nc, b.data, NULL, why, whylen, "$JS.API.CONSUMER.DURABLE.CREATE.%s.%s",
		     stream, durable);
	xorb_buf_release(&b);
	return r;
}

/* A push consumer like the seed's xorb-<t>-<d>-live-consumer: deliver last,
 * no filter, explicit acks; nobody subscribes to its deliver subject, so it
 * stays where "last" put it: at the stream's last message, one pending.
 * nats-server 2.10.x loses exactly this position in snapshots (notes P7). */
static int push_last_create(natsConnection *nc, const char *stream, const char *durable,
			    char *why, size_t whylen)
{
	char req[1024];

	snprintf(req, sizeof(req),
		 "{\"stream_name\":\"%s\",\"config\":{\"durable_name\":\"%s\","
		 "\"deliver_subject\":\"_INBOX.xt-%s\",\"deliver_policy\":\"last\","
		 "\"ack_policy\":\"explicit\",\"ack_wait\":30000000000,\"max_ack_pending\":1024,"
		 "\"replay_policy\":\"instant\"}}",
		 stream, durable, durable);
	return js_callf(nc, req, NULL, why, whylen, "$JS.API.CONSUMER.DURABLE.CREATE.%s.%s", stream,
			durable);
}

/*
 * Pulls up to `batch` messages from a durable pull consumer and acks those
 * whose delivery index (0-based) has its bit set in ack_mask, synchronously,
 * so the consumer state is settled on return. Returns the number of
 * messages delivered, or -1.
 */
static int pull_and_ack(natsConnection *nc, const char *stream, const char *durable,
			int batch, unsigned ack_mask, char *why, size_t whylen)
{
	natsSubscription *sub = NULL;
	natsMsg *m = NULL, *ack = NULL;
	char subj[512], req[64];
	natsInbox *inbox = NULL;
	natsStatus st;
	int got = 0, r = -1;

	snprintf(subj, sizeof(subj), "$JS.API.CONSUMER.MSG.NEXT.%s.%s", stream, durable);
	snprintf(req, sizeof(req), "{\"batch\":%d,\"no_wait\":true}", batch);
	if (natsInbox_Create(&inbox) != NATS_OK ||
	    natsConnection_SubscribeSync(&sub, nc, inbox) != NATS_OK ||
	    natsConnection_PublishRequestString(nc, subj, inbox, req) != NATS_OK) {
		fail(why, whylen, "%s: cannot send the pull request", subj);
		goto out;
	}
	while (got < batch) {
		st = natsSubscription_NextMsg(&m, sub, API_TIMEOUT_MS);
		if (st != NATS_OK) {
			fail(why, whylen, "%s: %s after %d messages", subj, nats_why(st), got);
			goto out;
		}
		/* A status message (404 no messages) has no reply: the batch ended. */
		if (!natsMsg_GetReply(m) || strncmp(natsMsg_GetReply(m), "$JS.ACK.", 8) != 0) {
			natsMsg_Destroy(m);
			m = NULL;
			break;
		}
		if (got < 32 && (ack_mask & (1u << got))) {
			st = natsConnection_RequestString(&ack, nc, natsMsg_GetReply(m), "+ACK",
							  API_TIMEOUT_MS);
			natsMsg_Destroy(ack);
			ack = NULL;
			if (st != NATS_OK) {
				fail(why, whylen, "ack on \"%s\": %s", durable, nats_why(st));
				goto out;
			}
		}
		natsMsg_Destroy(m);
		m = NULL;
		got++;
	}
	r = got;
out:
	natsMsg_Destroy(m);
	natsSubscription_Destroy(sub);
	natsInbox_Destroy(inbox);
	return r;
}

/* scan-live: binary payloads, headers, gaps, three consumers (two pull, one
 * deliver-last push). */
static int fixture_scan(natsConnection *nc, jsCtx *js, const char *t, int n, char *why,
			size_t whylen)
{
	char name[256], subj[512], cons[300], filter[300], val[300];
	struct stream_def d = { 0 };
	unsigned char *payload;
	uint64_t rng = seed_of(t, "scan");
	natsMsg *m = NULL;
	size_t size;
	int i, got, r = -1;

	snprintf(name, sizeof(name), "xorb-%s-scan-live", t);
	snprintf(filter, sizeof(filter), "xorb.%s.scan.>", t);
	d.name = name;
	d.subject = filter;
	d.storage = "file";
	d.max_age = XT_MAX_AGE_30D;
	if (stream_create(nc, &d, 0, why, whylen))
		return -1;
	payload = malloc(65536);
	if (!payload)
		return fail(why, whylen, "out of memory");
	for (i = 0; i < n; i++) {
		switch (i) {
		case 0:
			size = 0;
			break;
		case 1:
			for (size = 0; size < 256; size++)
				payload[size] = (unsigned char)size;
			break;
		case 2:
			size = 65536;
			rng_fill(&rng, payload, size);
			break;
		case 3:
			size = 1;
			payload[0] = 0;
			break;
		default:
			size = rng_next(&rng) % 2048;
			rng_fill(&rng, payload, size);
		}
		snprintf(subj, sizeof(subj), "xorb.%s.scan.%s.%s", t, services[(i / 5) % 4],
			 events[i % 5]);
		if (natsMsg_Create(&m, subj, NULL, (const char *)payload, (int)size) != NATS_OK)
			goto oom;
		if (i % 6 != 5) {
			snprintf(val, sizeof(val), "%d", i);
			if (natsMsgHeader_Set(m, "Xorb-Tenant", t) != NATS_OK ||
			    natsMsgHeader_Set(m, "Xorb-Index", val) != NATS_OK)
				goto oom;
			if (i % 7 == 0 && (natsMsgHeader_Add(m, "Xorb-Tag", "alpha") != NATS_OK ||
					   natsMsgHeader_Add(m, "Xorb-Tag", "beta") != NATS_OK))
				goto oom;
			if (i % 11 == 0 && natsMsgHeader_Set(m, "Xorb-Empty", "") != NATS_OK)
				goto oom;
			snprintf(val, sizeof(val), "%s-scan-%d", t, i);
			if (i % 10 == 3 && natsMsgHeader_Set(m, "Nats-Msg-Id", val) != NATS_OK)
				goto oom;
		}
		if (publish(js, m, (uint64_t)i + 1, why, whylen))
			goto out;
		natsMsg_Destroy(m);
		m = NULL;
	}
	if (delete_seq(nc, name, (uint64_t)n / 3 + 1, 1, why, whylen) ||
	    delete_seq(nc, name, (uint64_t)n / 2 + 1, 0, why, whylen) ||
	    delete_seq(nc, name, (uint64_t)n / 2 + 2, 0, why, whylen))
		goto out;

	snprintf(cons, sizeof(cons), "%s-consumer", name);
	if (consumer_create(nc, name, cons, NULL, why, whylen))
		goto out;
	/* 10 delivered; 1st, 2nd, 3rd, 5th acked: ack floor 3, 6 pending */
	got = pull_and_ack(nc, name, cons, 10, 0x17, why, whylen);
	if (got < 0)
		goto out;
	if (got != 10) {
		fail(why, whylen, "consumer \"%s\": %d of 10 messages delivered", cons, got);
		goto out;
	}
	snprintf(cons, sizeof(cons), "%s-completed", name);
	snprintf(filter, sizeof(filter), "xorb.%s.scan.*.completed", t);
	if (consumer_create(nc, name, cons, filter, why, whylen))
		goto out;
	/* 2 delivered and acked: ack floor = delivered, nothing pending */
	got = pull_and_ack(nc, name, cons, 2, 0x3, why, whylen);
	if (got < 0)
		goto out;
	if (got != 2) {
		fail(why, whylen, "consumer \"%s\": %d of 2 messages delivered", cons, got);
		goto out;
	}
	snprintf(cons, sizeof(cons), "%s-last", name);
	if (push_last_create(nc, name, cons, why, whylen))
		goto out;
	r = 0;
	goto out;
oom:
	fail(why, whylen, "out of memory");
out:
	natsMsg_Destroy(m);
	free(payload);
	return r;
}

/* evidence-live: 5 writes per subject, 2 kept: gaps between subjects. */
static int fixture_evidence(natsConnection *nc, jsCtx *js, const char *t, int n, char *why,
			    size_t whylen)
{
	char name[256], filter[300], subj[512], text[128];
	struct stream_def d = { 0 };
	int k, w, subjects = n / 5 > 4 ? n / 5 : 4;
	uint64_t seq = 0;

	snprintf(name, sizeof(name), "xorb-%s-evidence-live", t);
	snprintf(filter, sizeof(filter), "xorb.%s.evidence.>", t);
	d.name = name;
	d.subject = filter;
	d.storage = "file";
	d.max_per_subject = 2;
	if (stream_create(nc, &d, 0, why, whylen))
		return -1;
	for (k = 0; k < subjects; k++) {
		snprintf(subj, sizeof(subj), "xorb.%s.evidence.sensor%d.updated", t, k);
		for (w = 0; w < 5; w++) {
			snprintf(text, sizeof(text), "{\"sensor\":%d,\"write\":%d}", k, w);
			if (publish_text(js, subj, text, ++seq, why, whylen))
				return -1;
		}
	}
	return 0;
}

/* compliance-replay: starts at seq 1000, then made WORM-like. */
static int fixture_compliance(natsConnection *nc, jsCtx *js, const char *t, int n,
			      char *why, size_t whylen)
{
	char name[256], filter[300], subj[512], text[128];
	struct stream_def d = { 0 };
	int i;

	snprintf(name, sizeof(name), "xorb-%s-compliance-replay", t);
	snprintf(filter, sizeof(filter), "xorb.%s.compliance.>", t);
	d.name = name;
	d.subject = filter;
	d.storage = "file";
	d.max_age = XT_MAX_AGE_30D;
	if (stream_create(nc, &d, 0, why, whylen))
		return -1;
	if (js_callf(nc, "{\"seq\":1000}", NULL, why, whylen, "$JS.API.STREAM.PURGE.%s", name))
		return -1;
	for (i = 0; i < n; i++) {
		snprintf(subj, sizeof(subj), "xorb.%s.compliance.%s.%s", t,
			 i % 2 ? "retention" : "audit", events[i % 5]);
		snprintf(text, sizeof(text), "{\"record\":%d,\"event\":\"%s\"}", i, events[i % 5]);
		if (publish_text(js, subj, text, 1000 + (uint64_t)i, why, whylen))
			return -1;
	}
	d.deny = 1;
	return stream_create(nc, &d, 1, why, whylen);
}

static int tenant_streams_absent(natsConnection *nc, const char *t, char *why, size_t whylen)
{
	static const char *const kinds[] = { "scan-live", "evidence-live", "compliance-replay" };
	char name[256];
	size_t i;
	int r;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		snprintf(name, sizeof(name), "xorb-%s-%s", t, kinds[i]);
		r = stream_exists(nc, name, why, whylen);
		if (r < 0)
			return -1;
		if (r)
			return fail(why, whylen, "stream \"%s\" already exists", name);
	}
	return 0;
}

int xt_fixture_tenant(natsConnection *nc, const char *tenant, int n, char *why, size_t whylen)
{
	jsCtx *js = NULL;
	int r = -1;

	if (!valid_token(tenant, 64))
		return fail(why, whylen, "bad tenant name \"%s\": use letters, digits, '-', '_'",
			    tenant ? tenant : "");
	if (n < MIN_MESSAGES)
		return fail(why, whylen, "messages per stream %d: at least %d", n, MIN_MESSAGES);
	if (tenant_streams_absent(nc, tenant, why, whylen))
		return -1;
	if (natsConnection_JetStream(&js, nc, NULL) != NATS_OK)
		return fail(why, whylen, "cannot create a JetStream context");
	if (fixture_scan(nc, js, tenant, n, why, whylen) == 0 &&
	    fixture_evidence(nc, js, tenant, n, why, whylen) == 0 &&
	    fixture_compliance(nc, js, tenant, n, why, whylen) == 0)
		r = 0;
	jsCtx_Destroy(js);
	return r;
}

int xt_fixture_memory_stream(natsConnection *nc, const char *tenant, char *why, size_t whylen)
{
	char name[256], filter[300], subj[512], text[64];
	struct stream_def d = { 0 };
	jsCtx *js = NULL;
	int i, r;

	if (!valid_token(tenant, 64))
		return fail(why, whylen, "bad tenant name \"%s\"", tenant ? tenant : "");
	snprintf(name, sizeof(name), "xorb-%s-control-live", tenant);
	snprintf(filter, sizeof(filter), "xorb.%s.control.>", tenant);
	r = stream_exists(nc, name, why, whylen);
	if (r)
		return r < 0 ? -1 : fail(why, whylen, "stream \"%s\" already exists", name);
	d.name = name;
	d.subject = filter;
	d.storage = "memory";
	if (stream_create(nc, &d, 0, why, whylen))
		return -1;
	if (natsConnection_JetStream(&js, nc, NULL) != NATS_OK)
		return fail(why, whylen, "cannot create a JetStream context");
	for (i = 0, r = 0; i < 5 && r == 0; i++) {
		snprintf(subj, sizeof(subj), "xorb.%s.control.scheduler.%s", tenant, events[i]);
		snprintf(text, sizeof(text), "{\"control\":%d}", i);
		r = publish_text(js, subj, text, (uint64_t)i + 1, why, whylen);
	}
	jsCtx_Destroy(js);
	return r;
}

/*
 * Bulk publishing. Only every BULK_ACK_EVERY-th message (and the last)
 * carries a reply subject; the others are plain publishes. As a stream
 * stores one connection's messages in order, the sequence in each ack
 * proves that every message before it was stored too, and waiting while
 * more than BULK_ACKS_OUT acks are outstanding bounds the unconfirmed
 * messages (4096). Measured here, loaded 2-core machine, 256 B payloads:
 * about twice the rate of an ack per message (js_PublishAsync or raw),
 * which leaves the server doing ack traffic instead of storing.
 */
#define BULK_ACK_EVERY 1024
#define BULK_ACKS_OUT 4
#define BULK_ACK_TIMEOUT_MS 30000

struct bulk_acks {
	natsSubscription *sub;
	uint64_t want[BULK_ACKS_OUT + 1]; /* ring: the seq each ack must carry */
	uint64_t sent, got;
};

static int bulk_collect(struct bulk_acks *b, const char *stream, char *why, size_t whylen)
{
	struct api_err e;
	natsMsg *m = NULL;
	uint64_t want = b->want[b->got % (BULK_ACKS_OUT + 1)], seq;
	natsStatus st;
	cJSON *ack;

	st = natsSubscription_NextMsg(&m, b->sub, BULK_ACK_TIMEOUT_MS);
	if (st == NATS_NO_RESPONDERS)
		return fail(why, whylen, "stream \"%s\": no stream stores the subject", stream);
	if (st != NATS_OK)
		return fail(why, whylen, "stream \"%s\": no publish ack for seq %" PRIu64 ": %s",
			    stream, want, nats_why(st));
	if (natsMsg_GetDataLength(m) == 0) {
		natsMsg_Destroy(m);
		return fail(why, whylen, "stream \"%s\": no stream listens on the subject", stream);
	}
	ack = cJSON_ParseWithLength(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
	natsMsg_Destroy(m);
	if (!ack)
		return fail(why, whylen, "stream \"%s\": publish ack is not JSON", stream);
	if (api_error(ack, &e)) {
		cJSON_Delete(ack);
		return fail(why, whylen, "stream \"%s\": publish failed near seq %" PRIu64
			    ": %s (%d/%d)", stream, want, e.desc, e.code, e.err_code);
	}
	seq = (uint64_t)num_or(ack, "seq", 0);
	cJSON_Delete(ack);
	if (seq != want)
		return fail(why, whylen, "stream \"%s\": a publish ack has seq %" PRIu64 ", expected %"
			    PRIu64 " (messages lost, or another publisher)", stream, seq, want);
	b->got++;
	return 0;
}

int xt_fixture_bulk(natsConnection *nc, const char *stream, const char *subject,
		    uint64_t count, size_t size, char *why, size_t whylen)
{
	struct bulk_acks acks = { .sent = 0 };
	struct stream_def d = { 0 };
	unsigned char *payload = NULL;
	natsInbox *inbox = NULL;
	uint64_t i, rng, base = 0;
	struct api_err e;
	cJSON *info = NULL;
	char subj[300];
	natsStatus st;
	int r;

	if (!valid_token(stream, 200))
		return fail(why, whylen, "bad stream name \"%s\"", stream ? stream : "");
	if (!subject || !*subject || strpbrk(subject, " \t\r\n\"*>"))
		return fail(why, whylen, "bad subject \"%s\"", subject ? subject : "");
	if (size > 64 * 1024 * 1024)
		return fail(why, whylen, "payload size %zu too large", size);
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.INFO.%s", stream);
	r = js_api(nc, subj, "", &info, &e, why, whylen);
	if (r < 0)
		return -1;
	if (r == 1 && e.err_code != ERR_STREAM_NOT_FOUND)
		return fail(why, whylen, "stream \"%s\": %s (%d/%d)", stream, e.desc, e.code,
			    e.err_code);
	if (r == 0) {
		base = (uint64_t)num_at(cJSON_GetObjectItemCaseSensitive(info, "state"), "last_seq");
		cJSON_Delete(info);
	} else {
		d.name = stream;
		d.subject = subject;
		d.storage = "file";
		if (stream_create(nc, &d, 0, why, whylen))
			return -1;
	}
	r = -1;
	payload = malloc(size ? size : 1);
	if (!payload || natsInbox_Create(&inbox) != NATS_OK) {
		fail(why, whylen, "out of memory");
		goto out;
	}
	if (natsConnection_SubscribeSync(&acks.sub, nc, inbox) != NATS_OK) {
		fail(why, whylen, "cannot subscribe to \"%s\"", inbox);
		goto out;
	}
	rng = seed_of(stream, subject);
	for (i = 0; i < count; i++) {
		rng_fill(&rng, payload, size);
		if ((i + 1) % BULK_ACK_EVERY && i + 1 != count) {
			st = natsConnection_Publish(nc, subject, payload, (int)size);
		} else {
			acks.want[acks.sent++ % (BULK_ACKS_OUT + 1)] = base + i + 1;
			st = natsConnection_PublishRequest(nc, subject, inbox, payload, (int)size);
		}
		if (st != NATS_OK) {
			fail(why, whylen, "publish %" PRIu64 " to \"%s\": %s", i + 1, subject,
			     nats_why(st));
			goto out;
		}
		while (acks.sent - acks.got > BULK_ACKS_OUT)
			if (bulk_collect(&acks, stream, why, whylen))
				goto out;
	}
	while (acks.got < acks.sent)
		if (bulk_collect(&acks, stream, why, whylen))
			goto out;
	r = 0;
out:
	natsSubscription_Destroy(acks.sub);
	natsInbox_Destroy(inbox);
	free(payload);
	return r;
}

/* ---- comparison ---- */

static void fmt_value(const cJSON *v, char *buf, size_t n)
{
	if (!v)
		snprintf(buf, n, "(absent)");
	else if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (d > -9.2e18 && d < 9.2e18 && d == (double)(long long)d)
			snprintf(buf, n, "%lld", (long long)d);
		else
			snprintf(buf, n, "%.17g", d);
	} else if (cJSON_IsString(v)) {
		size_t l = strlen(v->valuestring);

		snprintf(buf, n, "\"%.48s%s\"", v->valuestring, l > 48 ? "..." : "");
	} else if (cJSON_IsTrue(v))
		snprintf(buf, n, "true");
	else if (cJSON_IsFalse(v))
		snprintf(buf, n, "false");
	else if (cJSON_IsNull(v))
		snprintf(buf, n, "null");
	else if (cJSON_IsArray(v))
		snprintf(buf, n, "[%d items]", cJSON_GetArraySize(v));
	else
		snprintf(buf, n, "{...}");
}

static int report(const char *path, const cJSON *a, const cJSON *b, char *why, size_t whylen)
{
	char va[128], vb[128];

	fmt_value(a, va, sizeof(va));
	fmt_value(b, vb, sizeof(vb));
	return differ(why, whylen, "%s: %s on a, %s on b", path, va, vb);
}

/*
 * Structural comparison, objects by key whatever their order. Returns 0 when
 * equal, else 1 with the path of the first difference in why.
 */
static int json_diff(const cJSON *a, const cJSON *b, const char *path, char *why, size_t whylen)
{
	char sub[512];
	const cJSON *x, *y;
	int i, na, nb;

	if (!a || !b || (a->type & 0xff) != (b->type & 0xff))
		return report(path, a, b, why, whylen);
	if (cJSON_IsNumber(a))
		return a->valuedouble == b->valuedouble ? 0 : report(path, a, b, why, whylen);
	if (cJSON_IsString(a))
		return strcmp(a->valuestring, b->valuestring) ? report(path, a, b, why, whylen) : 0;
	if (cJSON_IsArray(a)) {
		na = cJSON_GetArraySize(a);
		nb = cJSON_GetArraySize(b);
		for (i = 0; i < na && i < nb; i++) {
			snprintf(sub, sizeof(sub), "%s[%d]", path, i);
			if (json_diff(cJSON_GetArrayItem(a, i), cJSON_GetArrayItem(b, i), sub, why,
				      whylen))
				return 1;
		}
		if (na != nb)
			return differ(why, whylen, "%s: %d items on a, %d on b", path, na, nb);
		return 0;
	}
	if (cJSON_IsObject(a)) {
		cJSON_ArrayForEach(x, a) {
			snprintf(sub, sizeof(sub), "%s.%s", path, x->string);
			if (json_diff(x, cJSON_GetObjectItemCaseSensitive(b, x->string), sub, why,
				      whylen))
				return 1;
		}
		cJSON_ArrayForEach(y, b) {
			if (!cJSON_GetObjectItemCaseSensitive(a, y->string)) {
				snprintf(sub, sizeof(sub), "%s.%s", path, y->string);
				return report(sub, NULL, y, why, whylen);
			}
		}
		return 0;
	}
	return 0; /* true, false, null: the type says it all */
}

/* Numbers that must match, absent meaning 0. */
static int fields_diff(const cJSON *a, const cJSON *b, const char *const *fields,
		       const char *what, char *why, size_t whylen)
{
	char va[64], vb[64];
	double x, y;

	for (; *fields; fields++) {
		x = num_at(a, *fields);
		y = num_at(b, *fields);
		if (x != y) {
			snprintf(va, sizeof(va), "%.17g", x);
			snprintf(vb, sizeof(vb), "%.17g", y);
			return differ(why, whylen, "%s.%s: %s on a, %s on b", what, *fields, va, vb);
		}
	}
	return 0;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

struct names {
	char **v;
	int n;
};

static void names_release(struct names *l)
{
	int i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Every consumer name of a stream, sorted. */
static int consumer_names(natsConnection *nc, const char *stream, struct names *l,
			  char *why, size_t whylen)
{
	char req[64];
	const cJSON *arr, *it;
	cJSON *page;
	double total;
	char **nv;

	l->v = NULL;
	l->n = 0;
	for (;;) {
		snprintf(req, sizeof(req), "{\"offset\":%d}", l->n);
		if (js_callf(nc, req, &page, why, whylen, "$JS.API.CONSUMER.NAMES.%s", stream))
			goto fail;
		total = num_or(page, "total", 0);
		arr = cJSON_GetObjectItemCaseSensitive(page, "consumers");
		if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0) {
			cJSON_Delete(page);
			break;
		}
		nv = realloc(l->v, sizeof(*nv) * (size_t)(l->n + cJSON_GetArraySize(arr)));
		if (!nv) {
			cJSON_Delete(page);
			fail(why, whylen, "out of memory");
			goto fail;
		}
		l->v = nv;
		cJSON_ArrayForEach(it, arr) {
			if (cJSON_IsString(it) && (l->v[l->n] = strdup(it->valuestring)))
				l->n++;
		}
		cJSON_Delete(page);
		if (l->n >= total)
			break;
	}
	if (l->n)
		qsort(l->v, (size_t)l->n, sizeof(*l->v), cmp_str);
	return 0;
fail:
	names_release(l);
	return -1;
}

static int compare_consumers(natsConnection *a, natsConnection *b, const char *stream,
			     char *why, size_t whylen)
{
	static const char *const fields[] = { "delivered.stream_seq", "delivered.consumer_seq",
					      "ack_floor.stream_seq", "ack_floor.consumer_seq",
					      "num_ack_pending", "num_redelivered",
					      "num_pending", NULL };
	struct names na, nb;
	cJSON *ia = NULL, *ib = NULL;
	char what[400];
	int i, r = -1;

	if (consumer_names(a, stream, &na, why, whylen))
		return -1;
	if (consumer_names(b, stream, &nb, why, whylen)) {
		names_release(&na);
		return -1;
	}
	for (i = 0; i < na.n || i < nb.n; i++) {
		int c = i >= na.n ? 1 : i >= nb.n ? -1 : strcmp(na.v[i], nb.v[i]);

		if (c) {
			r = differ(why, whylen, "consumer \"%s\" exists on %s only",
				   c < 0 ? na.v[i] : nb.v[i], c < 0 ? "a" : "b");
			goto out;
		}
	}
	for (i = 0; i < na.n; i++) {
		if (js_callf(a, "", &ia, why, whylen, "$JS.API.CONSUMER.INFO.%s.%s", stream,
			     na.v[i]) ||
		    js_callf(b, "", &ib, why, whylen, "$JS.API.CONSUMER.INFO.%s.%s", stream,
			     na.v[i]))
			goto out;
		snprintf(what, sizeof(what), "consumer \"%s\" config", na.v[i]);
		if (json_diff(cJSON_GetObjectItemCaseSensitive(ia, "config"),
			      cJSON_GetObjectItemCaseSensitive(ib, "config"), what, why, whylen)) {
			r = 1;
			goto out;
		}
		snprintf(what, sizeof(what), "consumer \"%s\"", na.v[i]);
		if (fields_diff(ia, ib, fields, what, why, whylen)) {
			r = 1;
			goto out;
		}
		cJSON_Delete(ia);
		cJSON_Delete(ib);
		ia = ib = NULL;
	}
	r = 0;
out:
	cJSON_Delete(ia);
	cJSON_Delete(ib);
	names_release(&na);
	names_release(&nb);
	return r;
}

/* Pipelined STREAM.MSG.GET on one server: replies to <inbox>.<seq>. */
struct getter {
	natsConnection *nc;
	natsSubscription *sub;
	natsInbox *inbox;
	natsMsg *msgs[GET_WINDOW];
};

static int getter_init(struct getter *g, natsConnection *nc, char *why, size_t whylen)
{
	char wild[300];

	memset(g, 0, sizeof(*g));
	g->nc = nc;
	if (natsInbox_Create(&g->inbox) != NATS_OK)
		return fail(why, whylen, "out of memory");
	snprintf(wild, sizeof(wild), "%s.*", g->inbox);
	if (natsConnection_SubscribeSync(&g->sub, nc, wild) != NATS_OK ||
	    natsSubscription_SetPendingLimits(g->sub, -1, -1) != NATS_OK)
		return fail(why, whylen, "cannot subscribe to \"%s\"", wild);
	return 0;
}

static void getter_clear(struct getter *g)
{
	int i;

	for (i = 0; i < GET_WINDOW; i++) {
		natsMsg_Destroy(g->msgs[i]);
		g->msgs[i] = NULL;
	}
}

static void getter_release(struct getter *g)
{
	getter_clear(g);
	natsSubscription_Destroy(g->sub);
	natsInbox_Destroy(g->inbox);
}

static int getter_send(struct getter *g, const char *stream, uint64_t lo, uint64_t hi,
		       char *why, size_t whylen)
{
	char subj[300], reply[300], req[64];
	uint64_t s;

	snprintf(subj, sizeof(subj), "$JS.API.STREAM.MSG.GET.%s", stream);
	for (s = lo; s < hi; s++) {
		snprintf(reply, sizeof(reply), "%s.%" PRIu64, g->inbox, s);
		snprintf(req, sizeof(req), "{\"seq\":%" PRIu64 "}", s);
		if (natsConnection_PublishRequestString(g->nc, subj, reply, req) != NATS_OK)
			return fail(why, whylen, "%s: cannot send the request", subj);
	}
	return 0;
}

static int getter_collect(struct getter *g, const char *side, uint64_t lo, uint64_t hi,
			  char *why, size_t whylen)
{
	uint64_t want = hi - lo, got = 0, s;
	const char *dot;
	natsStatus st;
	natsMsg *m;

	while (got < want) {
		st = natsSubscription_NextMsg(&m, g->sub, API_TIMEOUT_MS);
		if (st != NATS_OK)
			return fail(why, whylen, "STREAM.MSG.GET on %s: %s", side, nats_why(st));
		dot = strrchr(natsMsg_GetSubject(m), '.');
		s = dot ? strtoull(dot + 1, NULL, 10) : 0;
		if (s < lo || s >= hi || g->msgs[s - lo]) {
			natsMsg_Destroy(m); /* a late reply from nowhere: ignore it */
			continue;
		}
		g->msgs[s - lo] = m;
		got++;
	}
	return 0;
}

/* Parses one MSG.GET reply: 0 with *msg (the "message" object inside *root),
 * 1 when the sequence is deleted, -1 on anything else. */
static int parse_get(natsMsg *m, const char *side, uint64_t seq, cJSON **root,
		     const cJSON **msg, char *why, size_t whylen)
{
	struct api_err e;

	*msg = NULL;
	*root = cJSON_ParseWithLength(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
	if (!*root)
		return fail(why, whylen, "seq %" PRIu64 " on %s: reply is not JSON", seq, side);
	if (api_error(*root, &e)) {
		if (e.err_code == ERR_NO_MESSAGE)
			return 1;
		return fail(why, whylen, "seq %" PRIu64 " on %s: %s (%d/%d)", seq, side, e.desc,
			    e.code, e.err_code);
	}
	*msg = cJSON_GetObjectItemCaseSensitive(*root, "message");
	if (!cJSON_IsObject(*msg))
		return fail(why, whylen, "seq %" PRIu64 " on %s: no message in reply", seq, side);
	return 0;
}

static int compare_messages(natsConnection *a, natsConnection *b, const char *stream,
			    uint64_t first, uint64_t last, char *why, size_t whylen)
{
	struct getter ga, gb;
	cJSON *ra = NULL, *rb = NULL;
	const cJSON *ma, *mb;
	uint64_t lo, hi, s;
	char path[64];
	int r = -1, pa, pb;

	memset(&gb, 0, sizeof(gb));
	if (getter_init(&ga, a, why, whylen) || getter_init(&gb, b, why, whylen))
		goto out_partial;
	for (lo = first; lo <= last && last; lo = hi) {
		hi = last - lo + 1 > GET_WINDOW ? lo + GET_WINDOW : last + 1;
		if (getter_send(&ga, stream, lo, hi, why, whylen) ||
		    getter_send(&gb, stream, lo, hi, why, whylen) ||
		    getter_collect(&ga, "a", lo, hi, why, whylen) ||
		    getter_collect(&gb, "b", lo, hi, why, whylen))
			goto out;
		for (s = lo; s < hi; s++) {
			pa = parse_get(ga.msgs[s - lo], "a", s, &ra, &ma, why, whylen);
			pb = pa < 0 ? -1 : parse_get(gb.msgs[s - lo], "b", s, &rb, &mb, why, whylen);
			if (pa < 0 || pb < 0)
				goto out;
			if (pa != pb) {
				r = differ(why, whylen, "seq %" PRIu64 ": deleted on %s only", s,
					   pa ? "a" : "b");
				goto out;
			}
			snprintf(path, sizeof(path), "seq %" PRIu64 ": message", s);
			if (pa == 0 && json_diff(ma, mb, path, why, whylen)) {
				r = 1;
				goto out;
			}
			cJSON_Delete(ra);
			cJSON_Delete(rb);
			ra = rb = NULL;
		}
		getter_clear(&ga);
		getter_clear(&gb);
	}
	r = 0;
out:
	cJSON_Delete(ra);
	cJSON_Delete(rb);
out_partial:
	getter_release(&ga);
	getter_release(&gb);
	return r;
}

int xt_compare_stream(natsConnection *a, natsConnection *b, const char *stream, char *why,
		      size_t whylen)
{
	static const char *const state_fields[] = { "messages", "bytes", "first_seq",
						    "last_seq", "num_deleted", "num_subjects",
						    "consumer_count", NULL };
	struct api_err ea, eb;
	cJSON *ia = NULL, *ib = NULL;
	const cJSON *sa;
	char subj[300];
	int ra, rb, r = -1;

	if (!valid_token(stream, 200))
		return fail(why, whylen, "bad stream name \"%s\"", stream ? stream : "");
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.INFO.%s", stream);
	ra = js_api(a, subj, "", &ia, &ea, why, whylen);
	if (ra < 0)
		return -1;
	rb = js_api(b, subj, "", &ib, &eb, why, whylen);
	if (rb < 0)
		goto out;
	if (ra == 1 && ea.err_code != ERR_STREAM_NOT_FOUND) {
		fail(why, whylen, "on a: %s (%d/%d)", ea.desc, ea.code, ea.err_code);
		goto out;
	}
	if (rb == 1 && eb.err_code != ERR_STREAM_NOT_FOUND) {
		fail(why, whylen, "on b: %s (%d/%d)", eb.desc, eb.code, eb.err_code);
		goto out;
	}
	if (ra == 1 && rb == 1) {
		fail(why, whylen, "not found on either server");
		goto out;
	}
	if (ra != rb) {
		r = differ(why, whylen, "stream exists on %s only", ra ? "b" : "a");
		goto out;
	}
	if (json_diff(cJSON_GetObjectItemCaseSensitive(ia, "config"),
		      cJSON_GetObjectItemCaseSensitive(ib, "config"), "config", why, whylen) ||
	    fields_diff(cJSON_GetObjectItemCaseSensitive(ia, "state"),
			cJSON_GetObjectItemCaseSensitive(ib, "state"), state_fields, "state", why,
			whylen)) {
		r = 1;
		goto out;
	}
	r = compare_consumers(a, b, stream, why, whylen);
	if (r)
		goto out;
	sa = cJSON_GetObjectItemCaseSensitive(ia, "state");
	r = compare_messages(a, b, stream, (uint64_t)num_at(sa, "first_seq"),
			     (uint64_t)num_at(sa, "last_seq"), why, whylen);
	if (r == 0 && why && whylen)
		snprintf(why, whylen, "%.0f messages, %.0f consumers", num_at(sa, "messages"),
			 num_at(sa, "consumer_count"));
out:
	cJSON_Delete(ia);
	cJSON_Delete(ib);
	return r;
}

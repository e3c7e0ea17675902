/*
 * Across nats-server versions, with the real binaries of the server matrix
 * (XT_NATS_MATRIX="VERSION=PATH;...", set by tests/CMakeLists.txt; each
 * server is started from its own binary by setting XT_NATS_SERVER before
 * xt_server_start):
 *
 *  - tenant backups made on 2.9 and 2.10 restore into 2.15 (single node and
 *    an R3 cluster) message for message and consumer for consumer; what a
 *    2.10 backup's deliver-last consumer really comes back as is asserted
 *    with the warning it gives;
 *  - a backup made on 2.15 (v2 NATSARC1 snapshots) is refused by 2.9 and
 *    2.10 targets before anything is created, exit 2, naming both versions;
 *  - features of current servers (stream metadata, subject transform, s2
 *    compression, filter_subjects, partial acks, consumer pause, per-message
 *    TTL, counters) survive a 2.15 -> 2.15 round trip, and what a 2.10
 *    server does with them is asserted (it drops what it does not know:
 *    xorb_streamcfg names it).
 *
 * Configs differ between versions by design (2.11+ add members and _nats.*
 * metadata), so the cross-version comparison here compares the source's
 * config members, every state field, every consumer's config and state, and
 * every sequence (STREAM.MSG.GET: subject, headers, data, time; a deleted
 * sequence must be missing on both). Same-version round trips use
 * xt_compare_stream (every field).
 */
#include "xt_cluster.h"
#include "xt_fixture.h"
#include "xt_harness.h"

#include "xorb_streamcfg.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define N_MSGS 60

static char *store, store_env[4200];
static char id29[64], id210[64];
static struct xt_server src29, src210, src215;
static natsConnection *nc29, *nc210, *nc215;
static char feat_id[64];
static char *feat_cfg[2]; /* the feature streams' configs on the 2.15 source */

static const char *const fixture_streams[] = { "compliance-replay", "evidence-live", "scan-live", NULL };
static const char *const feat_streams[] = { "xorb-t-feat-scan-live", "xorb-t-feat-control-counters", NULL };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The binary of the first matrix entry whose version starts with prefix
 * ("2.10."), or NULL. The version goes to ver. */
static const char *server_bin(const char *prefix, char *ver, size_t len)
{
	static char buf[8][4096];
	static int k;
	const char *m = getenv("XT_NATS_MATRIX"), *p, *end, *eq;

	for (p = m; p && *p; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ";");
		eq = memchr(p, '=', (size_t)(end - p));
		if (!eq || strncmp(p, prefix, strlen(prefix)))
			continue;
		if (ver)
			snprintf(ver, len, "%.*s", (int)(eq - p), p);
		k = (k + 1) % 8;
		snprintf(buf[k], sizeof(buf[k]), "%.*s", (int)(end - eq - 1), eq + 1);
		return buf[k];
	}
	return NULL;
}

/* Starts a server from the matrix's binary of that version line. */
static int start_version(struct xt_server *s, const char *prefix)
{
	const char *bin = server_bin(prefix, NULL, 0);

	if (!bin) {
		fprintf(stderr, "no nats-server %sx in XT_NATS_MATRIX\n", prefix);
		return -1;
	}
	setenv("XT_NATS_SERVER", bin, 1);
	return xt_server_start(s, NULL);
}

static void show(const char *what, const struct xt_result *r)
{
	fprintf(stderr, "--- %s: exit %d\n--- stdout:\n%s--- stderr:\n%s", what, r->status, r->out, r->err);
}

static int run(struct xt_result *r, const char *const *argv)
{
	const char *env[] = { store_env, NULL };

	memset(r, 0, sizeof(*r));
	assert_int_equal(xt_run(argv, env, 300, r), 0);
	return r->status;
}

/* A JetStream API request; the reply parsed. An error reply fails the test
 * unless allow_error. */
static cJSON *js(natsConnection *nc, const char *subj, const char *body, int allow_error)
{
	natsMsg *m = NULL;
	cJSON *j;
	natsStatus s = natsConnection_RequestString(&m, nc, subj, body ? body : "", 10000);

	if (s != NATS_OK)
		fail_msg("%s: %s", subj, natsStatus_GetText(s));
	j = cJSON_ParseWithLength(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
	if (!j)
		fail_msg("%s: reply is not JSON: %.*s", subj, natsMsg_GetDataLength(m), natsMsg_GetData(m));
	if (!allow_error && cJSON_GetObjectItem(j, "error")) {
		char *t = cJSON_PrintUnformatted(cJSON_GetObjectItem(j, "error"));

		fail_msg("%s %s -> %s", subj, body ? body : "", t);
	}
	natsMsg_Destroy(m);
	return j;
}

static cJSON *jsf(natsConnection *nc, const char *body, int allow_error, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static cJSON *jsf(natsConnection *nc, const char *body, int allow_error, const char *fmt, ...)
{
	char subj[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(subj, sizeof(subj), fmt, ap);
	va_end(ap);
	return js(nc, subj, body, allow_error);
}

static char *stream_names(natsConnection *nc)
{
	cJSON *j = js(nc, "$JS.API.STREAM.NAMES", "{}", 0), *it;
	char *out = calloc(1, 8192);

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "streams")) {
		if (*out)
			strcat(out, ",");
		strncat(out, it->valuestring, 8000 - strlen(out));
	}
	cJSON_Delete(j);
	return out;
}

static void json_field(const char *text, const char *key, char *out, size_t len)
{
	cJSON *j = cJSON_Parse(text);
	const char *v;

	assert_non_null(j);
	v = cJSON_GetStringValue(cJSON_GetObjectItem(j, key));
	assert_non_null(v);
	snprintf(out, len, "%s", v);
	cJSON_Delete(j);
}

static void backup(const struct xt_server *s, const char *tenant, char *id, size_t len)
{
	struct xt_result r;
	const char *argv[] = { xt_bin("xorb-backup"), "-s", s->url, "tenant", tenant, "--json", NULL };

	if (run(&r, argv) != 0)
		show("backup", &r);
	assert_int_equal(r.status, 0);
	json_field(r.out, "backup_id", id, len);
	xt_result_release(&r);
}

/* ---- comparison across versions ---- */

static double num_at(const cJSON *o, const char *path)
{
	char k[64];
	const char *dot = strchr(path, '.');

	if (dot) {
		snprintf(k, sizeof(k), "%.*s", (int)(dot - path), path);
		return num_at(cJSON_GetObjectItemCaseSensitive(o, k), dot + 1);
	}
	o = cJSON_GetObjectItemCaseSensitive(o, path);
	return cJSON_IsNumber(o) ? o->valuedouble : 0;
}

/* Every member of the source's config (a) equal on b; metadata without
 * the server's _nats.* keys. Members only b has are its defaults. */
static int replicas_changed; /* an R3 restore of an R1 backup: not compared */
/* A deliver-last consumer backed up on 2.10 (ack floor reported as 0) and
 * restored into 2.15 (which reports the floor as delivered.stream_seq): the
 * one difference the cross-version comparison accepts, and must see. */
static const char *known_ack_floor;
static int known_ack_floor_seen;

static int config_diff(const cJSON *a, const cJSON *b, const char *what, char *why, size_t len)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, a) {
		const cJSON *o = cJSON_GetObjectItemCaseSensitive(b, it->string);

		if (replicas_changed && !strcmp(what, "config") && !strcmp(it->string, "num_replicas"))
			continue;

		if (!strcmp(it->string, "metadata")) {
			const cJSON *mk;

			cJSON_ArrayForEach(mk, it) {
				if (!strncmp(mk->string, "_nats.", 6))
					continue;
				if (!cJSON_Compare(mk, cJSON_GetObjectItemCaseSensitive(o, mk->string), 1)) {
					snprintf(why, len, "%s.metadata.%s differs", what, mk->string);
					return 1;
				}
			}
			continue;
		}
		if (!cJSON_Compare(it, o, 1)) {
			char *x = cJSON_PrintUnformatted(it), *y = o ? cJSON_PrintUnformatted(o) : NULL;

			snprintf(why, len, "%s.%s: %s on the source, %s on the target", what, it->string, x,
				 y ? y : "(absent)");
			free(x);
			free(y);
			return 1;
		}
	}
	return 0;
}

static const char *const state_fields[] = { "messages", "bytes", "first_seq", "last_seq", "num_deleted",
					    "num_subjects", "consumer_count", NULL };
static const char *const consumer_fields[] = { "delivered.stream_seq", "delivered.consumer_seq",
					       "ack_floor.stream_seq", "ack_floor.consumer_seq",
					       "num_ack_pending", "num_redelivered", "num_pending", NULL };

static int fields_diff(const cJSON *a, const cJSON *b, const char *const *f, const char *what, char *why,
		       size_t len)
{
	for (; *f; f++)
		if (num_at(a, *f) != num_at(b, *f)) {
			snprintf(why, len, "%s.%s: %.0f on the source, %.0f on the target", what, *f, num_at(a, *f),
				 num_at(b, *f));
			return 1;
		}
	return 0;
}

/*
 * Stream `stream` on the source a and the target b (another server version):
 * 0 when config (source members), state, consumers and every message agree,
 * else 1 with the first difference in why.
 */
static int compare_across(natsConnection *a, natsConnection *b, const char *stream, char *why, size_t len)
{
	cJSON *ia = jsf(a, "", 0, "$JS.API.STREAM.INFO.%s", stream);
	cJSON *ib = jsf(b, "", 0, "$JS.API.STREAM.INFO.%s", stream);
	cJSON *na = jsf(a, "{}", 0, "$JS.API.CONSUMER.NAMES.%s", stream);
	cJSON *nb = jsf(b, "{}", 0, "$JS.API.CONSUMER.NAMES.%s", stream);
	const cJSON *st = cJSON_GetObjectItem(ia, "state"), *c;
	uint64_t seq, first = (uint64_t)num_at(st, "first_seq"), last = (uint64_t)num_at(st, "last_seq");
	int r = 1, n = 0;

	{
		static const char *const replicas[] = { "num_replicas", NULL };
		struct xorb_buf text;
		unsigned nd;

		/* the toolkit's own stream config comparison: no false differences
		 * across versions */
		xorb_buf_init(&text);
		nd = xorb_streamcfg_diff(cJSON_GetObjectItem(ia, "config"), cJSON_GetObjectItem(ib, "config"),
					 replicas_changed ? replicas : NULL, &text);
		if (nd)
			snprintf(why, len, "config: %s", text.data);
		xorb_buf_release(&text);
		if (nd)
			goto out;
	}
	if (fields_diff(st, cJSON_GetObjectItem(ib, "state"), state_fields, "state", why, len))
		goto out;
	if (!cJSON_Compare(cJSON_GetObjectItem(na, "consumers"), cJSON_GetObjectItem(nb, "consumers"), 0) &&
	    cJSON_GetArraySize(cJSON_GetObjectItem(na, "consumers")) != cJSON_GetArraySize(cJSON_GetObjectItem(nb, "consumers"))) {
		snprintf(why, len, "consumers: %d on the source, %d on the target",
			 cJSON_GetArraySize(cJSON_GetObjectItem(na, "consumers")),
			 cJSON_GetArraySize(cJSON_GetObjectItem(nb, "consumers")));
		goto out;
	}
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(na, "consumers")) {
		cJSON *ca = jsf(a, "", 0, "$JS.API.CONSUMER.INFO.%s.%s", stream, c->valuestring);
		cJSON *cb = jsf(b, "", 1, "$JS.API.CONSUMER.INFO.%s.%s", stream, c->valuestring);
		char what[300];
		int d;

		snprintf(what, sizeof(what), "consumer \"%s\"", c->valuestring);
		if (cJSON_GetObjectItem(cb, "error")) {
			snprintf(why, len, "%s is missing on the target", what);
			d = 1;
		} else {
			if (known_ack_floor && !strcmp(c->valuestring, known_ack_floor) &&
			    num_at(ca, "ack_floor.stream_seq") == 0 && num_at(ca, "ack_floor.consumer_seq") == 0 &&
			    num_at(cb, "ack_floor.consumer_seq") == 0 &&
			    num_at(cb, "ack_floor.stream_seq") == num_at(ca, "delivered.stream_seq")) {
				/* the same "nothing acked", told two ways (see test 1) */
				cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cb, "ack_floor"), "stream_seq",
							  cJSON_CreateNumber(0));
				known_ack_floor_seen = 1;
			}
			d = fields_diff(ca, cb, consumer_fields, what, why, len);
			snprintf(what, sizeof(what), "consumer \"%s\" config", c->valuestring);
			if (!d)
				d = config_diff(cJSON_GetObjectItem(ca, "config"), cJSON_GetObjectItem(cb, "config"), what,
						why, len);
		}
		cJSON_Delete(ca);
		cJSON_Delete(cb);
		if (d)
			goto out;
		n++;
	}
	for (seq = first; first && seq <= last; seq++) {
		char body[64];
		cJSON *ma, *mb;
		int d;

		snprintf(body, sizeof(body), "{\"seq\":%" PRIu64 "}", seq);
		ma = jsf(a, body, 1, "$JS.API.STREAM.MSG.GET.%s", stream);
		mb = jsf(b, body, 1, "$JS.API.STREAM.MSG.GET.%s", stream);
		if (cJSON_GetObjectItem(ma, "message") && cJSON_GetObjectItem(mb, "message"))
			d = !cJSON_Compare(cJSON_GetObjectItem(ma, "message"), cJSON_GetObjectItem(mb, "message"), 1);
		else /* deleted on both: the same "no message found" */
			d = num_at(ma, "error.err_code") != 10037 || num_at(mb, "error.err_code") != 10037;
		if (d) {
			char *x = cJSON_PrintUnformatted(ma), *y = cJSON_PrintUnformatted(mb);

			snprintf(why, len, "seq %" PRIu64 ": %.300s on the source, %.300s on the target", seq, x, y);
			free(x);
			free(y);
		}
		cJSON_Delete(ma);
		cJSON_Delete(mb);
		if (d)
			goto out;
	}
	snprintf(why, len, "%.0f messages, %d consumers", num_at(st, "messages"), n);
	r = 0;
out:
	cJSON_Delete(ia);
	cJSON_Delete(ib);
	cJSON_Delete(na);
	cJSON_Delete(nb);
	return r;
}

static void assert_same_across(natsConnection *a, natsConnection *b, const char *tenant)
{
	char stream[300], why[2048];
	size_t i;

	for (i = 0; fixture_streams[i]; i++) {
		int rc;

		snprintf(stream, sizeof(stream), "xorb-%s-%s", tenant, fixture_streams[i]);
		rc = compare_across(a, b, stream, why, sizeof(why));
		/* a cluster's consumers may take a moment to agree after a restore */
		for (double deadline = now_s() + 15; rc && replicas_changed && now_s() < deadline; usleep(200 * 1000))
			rc = compare_across(a, b, stream, why, sizeof(why));
		if (rc)
			fail_msg("stream %s differs between source and target: %s", stream, why);
		fprintf(stderr, "  %s: identical (%s)\n", stream, why);
	}
}

/* ---- set-up: one source server per version, the backups ---- */

static int setup(void **state)
{
	char why[1024];

	if (!server_bin("2.9.", NULL, 0) || !server_bin("2.10.", NULL, 0) || !server_bin("2.15.", NULL, 0)) {
		fprintf(stderr, "XT_NATS_MATRIX must name a 2.9, a 2.10 and a 2.15 nats-server (scripts/nats-servers.sh --list); it is \"%s\"\n",
			getenv("XT_NATS_MATRIX") ? getenv("XT_NATS_MATRIX") : "");
		return -1;
	}
	store = xt_tempdir("xorb-store");
	snprintf(store_env, sizeof(store_env), "XORB_STORE=%s", store);
	if (start_version(&src29, "2.9.") || xt_server_connect(&src29, &nc29) ||
	    start_version(&src210, "2.10.") || xt_server_connect(&src210, &nc210) ||
	    start_version(&src215, "2.15.") || xt_server_connect(&src215, &nc215))
		return -1;
	if (xt_fixture_tenant(nc29, "t-v29", N_MSGS, why, sizeof(why)) ||
	    xt_fixture_tenant(nc210, "t-v210", N_MSGS, why, sizeof(why)) ||
	    xt_fixture_tenant(nc215, "t-v215", N_MSGS, why, sizeof(why))) {
		fprintf(stderr, "fixture: %s\n", why);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	natsConnection_Destroy(nc29);
	natsConnection_Destroy(nc210);
	natsConnection_Destroy(nc215);
	xt_server_stop(&src29);
	xt_server_stop(&src210);
	xt_server_stop(&src215);
	free(feat_cfg[0]);
	free(feat_cfg[1]);
	if (store)
		xt_rmtree(store);
	free(store);
	return 0;
}

static void restore_into(const char *url, const char *tenant, const char *id, const char *replicas,
			 struct xt_result *r)
{
	const char *argv[] = { xt_bin("xorb-restore"), "-s", url, tenant, id,
			       replicas ? "--replicas" : NULL, replicas, NULL };

	run(r, argv);
}

/* ---- 1. 2.9 and 2.10 backups into 2.15, single node ---- */

static void test_old_backups_into_2_15(void **state)
{
	struct xt_server dst;
	natsConnection *dnc = NULL;
	struct xt_result r;
	double t0 = now_s();

	backup(&src29, "t-v29", id29, sizeof(id29));
	backup(&src210, "t-v210", id210, sizeof(id210));
	assert_int_equal(start_version(&dst, "2.15."), 0);
	assert_int_equal(xt_server_connect(&dst, &dnc), 0);

	restore_into(dst.url, "t-v29", id29, NULL, &r);
	show("2.9 backup into 2.15", &r);
	assert_int_equal(r.status, 0);
	xt_result_release(&r);
	assert_same_across(nc29, dnc, "t-v29");

	/*
	 * The 2.10 backup: 2.10 keeps no position for the deliver-last consumer
	 * in its snapshot (notes P7). 2.15 computes "last" again when it loads
	 * the restored consumer, so its position comes back right without a
	 * repair (delivered.stream_seq N-1, 1 pending), but 2.15 reports the ack
	 * floor of such a consumer as N-1 where 2.10 reported 0. Both mean
	 * "nothing acked", and the consumer comparison (xorb_consumers.c)
	 * takes them as the same state: no warning, exit 0. (2.15.1 was also
	 * seen reporting the zero state right after the restore; the restore
	 * then recreates the consumer at its recorded position.)
	 */
	restore_into(dst.url, "t-v210", id210, NULL, &r);
	show("2.10 backup into 2.15", &r);
	{
		char want[2048];

		snprintf(want, sizeof(want),
			 "xorb-restore: stream \"xorb-t-v210-compliance-replay\": restored: %d messages, 0 consumers, in ",
			 N_MSGS);
		assert_non_null(strstr(r.err, want));
		/* either 2.15 computed "last" again by itself, or the restore
		 * recreated the consumer (seen both ways on 2.15.1): no warning */
		assert_null(strstr(r.err, "warning"));
	}
	assert_int_equal(r.status, 0);
	xt_result_release(&r);
	known_ack_floor = "xorb-t-v210-scan-live-last";
	known_ack_floor_seen = 0;
	assert_same_across(nc210, dnc, "t-v210");
	assert_true(known_ack_floor_seen);
	known_ack_floor = NULL;
	{
		/* the consumer's position itself is the source's: at the last message */
		cJSON *a = js(nc210, "$JS.API.CONSUMER.INFO.xorb-t-v210-scan-live.xorb-t-v210-scan-live-last", "", 0);
		cJSON *b = js(dnc, "$JS.API.CONSUMER.INFO.xorb-t-v210-scan-live.xorb-t-v210-scan-live-last", "", 0);

		assert_int_equal((int)num_at(a, "delivered.stream_seq"), N_MSGS - 1);
		assert_int_equal((int)num_at(b, "delivered.stream_seq"), N_MSGS - 1);
		assert_int_equal((int)num_at(a, "num_pending"), 1);
		assert_int_equal((int)num_at(b, "num_pending"), 1);
		assert_int_equal((int)num_at(a, "ack_floor.stream_seq"), 0);
		assert_int_equal((int)num_at(b, "ack_floor.stream_seq"), N_MSGS - 1);
		cJSON_Delete(a);
		cJSON_Delete(b);
	}

	natsConnection_Destroy(dnc);
	xt_server_stop(&dst);
	fprintf(stderr, "[time] 2.9/2.10 backups into 2.15: %.1f s\n", now_s() - t0);
}

/* ---- 2. an R3 restore of the 2.9 backup into a 2.15 cluster ---- */

static void test_2_9_backup_into_2_15_cluster(void **state)
{
	struct xt_cluster c;
	natsConnection *cnc = NULL;
	struct xt_result r;
	double t0 = now_s();

	if (!id29[0])
		backup(&src29, "t-v29", id29, sizeof(id29));
	setenv("XT_NATS_SERVER", server_bin("2.15.", NULL, 0), 1);
	assert_int_equal(xt_cluster_start(&c, "xv215"), 0);
	assert_int_equal(xt_server_connect(&c.node[1], &cnc), 0);
	{
		/* JetStream answers on every node before the meta leader knows all
		 * peers: an R3 placement may still fail then ("no suitable peers") */
		double deadline = now_s() + 30;

		for (;;) {
			cJSON *j = js(cnc, "$JS.API.STREAM.CREATE.xv-probe",
				      "{\"name\":\"xv-probe\",\"subjects\":[\"xv.probe\"],\"num_replicas\":3}", 1);
			int ok = !cJSON_GetObjectItem(j, "error");

			cJSON_Delete(j);
			if (ok)
				break;
			if (now_s() > deadline)
				fail_msg("the 2.15 cluster cannot place an R3 stream after 30 s");
			usleep(200 * 1000);
		}
		cJSON_Delete(js(cnc, "$JS.API.STREAM.DELETE.xv-probe", "", 0));
	}
	restore_into(c.urls, "t-v29", id29, "3", &r);
	show("2.9 backup into a 2.15 cluster, R3", &r);
	/*
	 * Right after the R3 restore a consumer was often read before the
	 * cluster agreed on it (num_pending 0, or a member's zero state: 5 of
	 * 10 runs warned, exit 1); the restore now waits until every node
	 * answers from elected leaders and shows the recorded state
	 * (xorb_nodecheck.h, docs/nats-server-notes.md P9), and the first chunk that reached no
	 * server is sent again (xorb_restore_proto.c): a clean exit 0.
	 */
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.err, "warning"));
	xt_result_release(&r);
	replicas_changed = 1;
	assert_same_across(nc29, cnc, "t-v29");
	replicas_changed = 0;
	natsConnection_Destroy(cnc);
	xt_cluster_stop(&c);
	fprintf(stderr, "[time] 2.9 backup into a 2.15 cluster: %.1f s\n", now_s() - t0);
}

/* ---- 3. a 2.15 backup into 2.9 and 2.10: refused, nothing created ---- */

static void test_2_15_backup_refused_by_older(void **state)
{
	static const char *const older[] = { "2.9.", "2.10." };
	char id[64], v215[32];
	size_t i;
	double t0 = now_s();

	server_bin("2.15.", v215, sizeof(v215));
	backup(&src215, "t-v215", id, sizeof(id));
	for (i = 0; i < sizeof(older) / sizeof(older[0]); i++) {
		struct xt_server dst;
		natsConnection *dnc = NULL;
		struct xt_result r;
		char ver[32], want[512], *names;

		server_bin(older[i], ver, sizeof(ver));
		assert_int_equal(start_version(&dst, older[i]), 0);
		assert_int_equal(xt_server_connect(&dst, &dnc), 0);
		restore_into(dst.url, "t-v215", id, NULL, &r);
		show("2.15 backup into an older server", &r);
		assert_int_equal(r.status, 2);
		snprintf(want, sizeof(want),
			 "xorb-restore: error: restore of backup %s of tenant \"t-v215\" failed: the backup was made on nats-server %s, whose snapshots are in the v2 (NATSARC1) format, and the target nats-server %s cannot read that format (only 2.15.0 and newer can); nothing was created: restore it into a nats-server 2.15.0 or newer\n",
			 id, v215, ver);
		assert_string_equal(r.err, want);
		xt_result_release(&r);
		names = stream_names(dnc);
		assert_string_equal(names, "");
		free(names);
		natsConnection_Destroy(dnc);
		xt_server_stop(&dst);
	}
	fprintf(stderr, "[time] 2.15 backup refused by 2.9 and 2.10: %.1f s\n", now_s() - t0);
}

/* ---- 4./5. features of current servers ---- */

static void publish(natsConnection *nc, const char *subj, const char *data, const char *hk, const char *hv)
{
	natsMsg *m = NULL, *ack = NULL;
	cJSON *j;

	assert_int_equal(natsMsg_Create(&m, subj, NULL, data, (int)strlen(data)), NATS_OK);
	if (hk)
		assert_int_equal(natsMsgHeader_Set(m, hk, hv), NATS_OK);
	assert_int_equal(natsConnection_RequestMsg(&ack, nc, m, 10000), NATS_OK);
	j = cJSON_ParseWithLength(natsMsg_GetData(ack), (size_t)natsMsg_GetDataLength(ack));
	if (!j || cJSON_GetObjectItem(j, "error"))
		fail_msg("publish to %s: %.*s", subj, natsMsg_GetDataLength(ack), natsMsg_GetData(ack));
	cJSON_Delete(j);
	natsMsg_Destroy(m);
	natsMsg_Destroy(ack);
}

/* Fetches batch messages from a pull consumer, acks those whose index has
 * its bit in mask, and waits until the server counts the acks. */
static void pull_ack(natsConnection *nc, const char *stream, const char *cons, int batch, unsigned mask,
		     int64_t want_floor)
{
	natsSubscription *sub = NULL;
	char inbox[128], subj[400], body[128];
	int got = 0, i;
	cJSON *info;
	double deadline;

	snprintf(inbox, sizeof(inbox), "_INBOX.xv-%s-%ld", cons, (long)getpid());
	assert_int_equal(natsConnection_SubscribeSync(&sub, nc, inbox), NATS_OK);
	snprintf(subj, sizeof(subj), "$JS.API.CONSUMER.MSG.NEXT.%s.%s", stream, cons);
	snprintf(body, sizeof(body), "{\"batch\":%d,\"expires\":5000000000}", batch);
	assert_int_equal(natsConnection_PublishRequestString(nc, subj, inbox, body), NATS_OK);
	for (i = 0; got < batch; i++) {
		natsMsg *m = NULL;

		if (natsSubscription_NextMsg(&m, sub, 5000) != NATS_OK)
			fail_msg("consumer %s: %d of %d messages delivered", cons, got, batch);
		if (natsMsg_GetReply(m) && !strncmp(natsMsg_GetReply(m), "$JS.ACK.", 8)) {
			if (mask & (1u << got))
				assert_int_equal(natsConnection_PublishString(nc, natsMsg_GetReply(m), "+ACK"), NATS_OK);
			got++;
		}
		natsMsg_Destroy(m);
	}
	assert_int_equal(natsConnection_Flush(nc), NATS_OK);
	natsSubscription_Destroy(sub);
	for (deadline = now_s() + 10;; usleep(20000)) {
		info = jsf(nc, "", 0, "$JS.API.CONSUMER.INFO.%s.%s", stream, cons);
		if ((int64_t)num_at(info, "ack_floor.stream_seq") == want_floor &&
		    (int64_t)num_at(info, "num_ack_pending") == batch - __builtin_popcount(mask & ((1u << batch) - 1)))
			break;
		if (now_s() > deadline)
			fail_msg("consumer %s: acks not counted within 10 s", cons);
		cJSON_Delete(info);
	}
	cJSON_Delete(info);
}

static char pause_until[40];

/* Tenant t-feat on the 2.15 source: every feature listed at the top. */
static void make_features(natsConnection *nc)
{
	time_t t = time(NULL) + 86400;
	char body[2048], svc[4] = "a";
	cJSON *j;
	int i;

	strftime(pause_until, sizeof(pause_until), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	cJSON_Delete(js(nc, "$JS.API.STREAM.CREATE.xorb-t-feat-scan-live",
			"{\"name\":\"xorb-t-feat-scan-live\",\"subjects\":[\"xorb.t-feat.scan.>\"],\"storage\":\"file\","
			"\"max_age\":2592000000000000,\"metadata\":{\"owner\":\"team-scan\",\"tier\":\"gold\"},"
			"\"compression\":\"s2\",\"allow_msg_ttl\":true,"
			"\"subject_transform\":{\"src\":\"xorb.t-feat.scan.*.legacy\",\"dest\":\"xorb.t-feat.scan.{{wildcard(1)}}.migrated\"}}",
			0));
	for (i = 0; i < 24; i++) {
		char subj[128], data[64];

		svc[0] = (char)('a' + i % 3);
		snprintf(subj, sizeof(subj), "xorb.t-feat.scan.%s.%s", svc, i % 8 == 7 ? "legacy" : "created");
		snprintf(data, sizeof(data), "{\"event\":%d}", i);
		publish(nc, subj, data, i == 5 ? "Nats-TTL" : NULL, "1h");
	}
	cJSON_Delete(js(nc, "$JS.API.CONSUMER.DURABLE.CREATE.xorb-t-feat-scan-live.worker",
			"{\"stream_name\":\"xorb-t-feat-scan-live\",\"config\":{\"durable_name\":\"worker\","
			"\"deliver_policy\":\"all\",\"ack_policy\":\"explicit\",\"ack_wait\":30000000000,\"max_ack_pending\":100}}",
			0));
	/* 6 delivered, the 1st, 2nd and 4th acked: ack floor 2, 3 pending */
	pull_ack(nc, "xorb-t-feat-scan-live", "worker", 6, 0xb, 2);
	cJSON_Delete(js(nc, "$JS.API.CONSUMER.DURABLE.CREATE.xorb-t-feat-scan-live.multi",
			"{\"stream_name\":\"xorb-t-feat-scan-live\",\"config\":{\"durable_name\":\"multi\","
			"\"deliver_policy\":\"all\",\"ack_policy\":\"explicit\",\"ack_wait\":30000000000,"
			"\"filter_subjects\":[\"xorb.t-feat.scan.a.created\",\"xorb.t-feat.scan.b.created\"]}}",
			0));
	snprintf(body, sizeof(body),
		 "{\"stream_name\":\"xorb-t-feat-scan-live\",\"config\":{\"durable_name\":\"paused\","
		 "\"deliver_policy\":\"all\",\"ack_policy\":\"explicit\",\"ack_wait\":30000000000,"
		 "\"pause_until\":\"%s\"}}",
		 pause_until);
	cJSON_Delete(js(nc, "$JS.API.CONSUMER.DURABLE.CREATE.xorb-t-feat-scan-live.paused", body, 0));

	cJSON_Delete(js(nc, "$JS.API.STREAM.CREATE.xorb-t-feat-control-counters",
			"{\"name\":\"xorb-t-feat-control-counters\",\"subjects\":[\"xorb.t-feat.control.>\"],"
			"\"storage\":\"file\",\"allow_msg_counter\":true,\"allow_direct\":true}",
			0));
	publish(nc, "xorb.t-feat.control.scheduler.runs", "", "Nats-Incr", "5");
	publish(nc, "xorb.t-feat.control.scheduler.runs", "", "Nats-Incr", "+3");
	publish(nc, "xorb.t-feat.control.scanner.runs", "", "Nats-Incr", "-2");

	for (i = 0; feat_streams[i]; i++) {
		j = jsf(nc, "", 0, "$JS.API.STREAM.INFO.%s", feat_streams[i]);
		{
			struct xorb_buf b;

			/* exact integers: cJSON prints the 30-day max_age as 2.592e+15,
			 * which nats-server refuses as invalid JSON */
			xorb_buf_init(&b);
			assert_int_equal(xorb_json_print(cJSON_GetObjectItem(j, "config"), &b), 0);
			feat_cfg[i] = xorb_buf_detach(&b);
		}
		fprintf(stderr, "  %s on the source: %s\n", feat_streams[i], feat_cfg[i]);
		cJSON_Delete(j);
	}
}

/* The features are there on nc (asserted one by one, not only as "equal"). */
static void assert_features(natsConnection *nc)
{
	cJSON *s = js(nc, "$JS.API.STREAM.INFO.xorb-t-feat-scan-live", "", 0), *c, *m;
	const cJSON *cfg = cJSON_GetObjectItem(s, "config");

	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "metadata"), "owner")),
			    "team-scan");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cfg, "compression")), "s2");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cfg, "allow_msg_ttl")));
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "subject_transform"), "dest")),
			    "xorb.t-feat.scan.{{wildcard(1)}}.migrated");
	cJSON_Delete(s);
	/* the transformed subject and the TTL header are in the messages */
	m = js(nc, "$JS.API.STREAM.MSG.GET.xorb-t-feat-scan-live", "{\"seq\":8}", 0);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "message"), "subject")),
			    "xorb.t-feat.scan.b.migrated");
	cJSON_Delete(m);
	m = js(nc, "$JS.API.STREAM.MSG.GET.xorb-t-feat-scan-live", "{\"seq\":6}", 0);
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "message"), "hdrs"));
	cJSON_Delete(m);
	c = js(nc, "$JS.API.CONSUMER.INFO.xorb-t-feat-scan-live.multi", "", 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "config"), "filter_subjects")), 2);
	cJSON_Delete(c);
	c = js(nc, "$JS.API.CONSUMER.INFO.xorb-t-feat-scan-live.paused", "", 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c, "paused")));
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "config"), "pause_until"));
	cJSON_Delete(c);
	c = js(nc, "$JS.API.CONSUMER.INFO.xorb-t-feat-scan-live.worker", "", 0);
	assert_int_equal((int)num_at(c, "ack_floor.stream_seq"), 2);
	assert_int_equal((int)num_at(c, "num_ack_pending"), 3);
	cJSON_Delete(c);
	s = js(nc, "$JS.API.STREAM.INFO.xorb-t-feat-control-counters", "", 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "config"), "allow_msg_counter")));
	cJSON_Delete(s);
	/* the counter's value, and a further increment counts on from it */
	publish(nc, "xorb.t-feat.control.scheduler.runs", "", "Nats-Incr", "1");
	m = js(nc, "$JS.API.STREAM.MSG.GET.xorb-t-feat-control-counters",
	       "{\"last_by_subj\":\"xorb.t-feat.control.scheduler.runs\"}", 0);
	{
		const char *b64 = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "message"), "data"));

		/* {"val":"9"} */
		assert_non_null(b64);
		assert_string_equal(b64, "eyJ2YWwiOiI5In0=");
	}
	cJSON_Delete(m);
}

static void test_features_round_trip_2_15(void **state)
{
	struct xt_server dst;
	natsConnection *dnc = NULL;
	struct xt_result r;
	char why[2048];
	size_t i;
	double t0 = now_s();

	make_features(nc215);
	backup(&src215, "t-feat", feat_id, sizeof(feat_id));
	assert_int_equal(start_version(&dst, "2.15."), 0);
	assert_int_equal(xt_server_connect(&dst, &dnc), 0);
	restore_into(dst.url, "t-feat", feat_id, NULL, &r);
	show("features 2.15 -> 2.15", &r);
	assert_int_equal(r.status, 0);
	xt_result_release(&r);
	for (i = 0; feat_streams[i]; i++) {
		int rc = xt_compare_stream(nc215, dnc, feat_streams[i], why, sizeof(why));

		if (rc)
			fail_msg("%s differs after a 2.15 -> 2.15 round trip: %s", feat_streams[i], why);
		fprintf(stderr, "  %s: identical (%s)\n", feat_streams[i], why);
	}
	assert_features(dnc);
	natsConnection_Destroy(dnc);
	xt_server_stop(&dst);
	fprintf(stderr, "[time] features 2.15 -> 2.15: %.1f s\n", now_s() - t0);
}

/* The feature backup into 2.10: refused (v2 snapshots). What 2.10 does with
 * the configs themselves is asserted through STREAM.CREATE with the
 * source's configs, which 2.10 parses as it parses a restore request's. */
static void test_features_into_2_10(void **state)
{
	struct xt_server dst;
	natsConnection *dnc = NULL;
	struct xt_result r;
	char *names;
	size_t i;
	double t0 = now_s();

	assert_true(feat_id[0]);
	assert_int_equal(start_version(&dst, "2.10."), 0);
	assert_int_equal(xt_server_connect(&dst, &dnc), 0);
	restore_into(dst.url, "t-feat", feat_id, NULL, &r);
	show("features 2.15 -> 2.10", &r);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "cannot read that format"));
	xt_result_release(&r);
	names = stream_names(dnc);
	assert_string_equal(names, "");
	free(names);

	for (i = 0; feat_streams[i]; i++) {
		cJSON *src = cJSON_Parse(feat_cfg[i]), *got;
		char *body = strdup(feat_cfg[i]);
		struct xorb_buf b;
		unsigned n;

		got = jsf(dnc, body, 1, "$JS.API.STREAM.CREATE.%s", feat_streams[i]);
		{
			char *t = cJSON_PrintUnformatted(got);

			fprintf(stderr, "  2.10 STREAM.CREATE %s -> %s\n", feat_streams[i], t);
			free(t);
		}
		/* 2.10 creates the stream, keeps metadata (even the foreign
		 * _nats.* keys), compression and the subject transform, and drops
		 * allow_msg_ttl and allow_msg_counter without an error */
		assert_null(cJSON_GetObjectItem(got, "error"));
		assert_true(cJSON_IsTrue(cJSON_GetObjectItem(got, "did_create")));
		xorb_buf_init(&b);
		n = xorb_streamcfg_diff(src, cJSON_GetObjectItem(got, "config"), NULL, &b);
		fprintf(stderr, "  xorb_streamcfg_diff: %u: %s\n", n, b.data ? b.data : "");
		assert_int_equal(n, 1);
		assert_string_equal(b.data, i == 0 ? "allow_msg_ttl true is not kept by this server (a feature it does not have)"
					    : "allow_msg_counter true is not kept by this server (a feature it does not have)");
		xorb_buf_release(&b);
		free(body);
		cJSON_Delete(src);
		cJSON_Delete(got);
	}
	natsConnection_Destroy(dnc);
	xt_server_stop(&dst);
	fprintf(stderr, "[time] features into 2.10: %.1f s\n", now_s() - t0);
}

int main(void)
{
	const char *only = getenv("XT_TEST_FILTER");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_old_backups_into_2_15),
		cmocka_unit_test(test_2_9_backup_into_2_15_cluster),
		cmocka_unit_test(test_2_15_backup_refused_by_older),
		cmocka_unit_test(test_features_round_trip_2_15),
		cmocka_unit_test(test_features_into_2_10),
	};

	if (only && *only) /* e.g. XT_TEST_FILTER='*cluster*' to repeat one case */
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests(tests, setup, teardown);
}

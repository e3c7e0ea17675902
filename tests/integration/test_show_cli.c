/*
 * Looking into backups (issue 14, point 6): `xorb-backup show`, `stats` and
 * `diff`, on real backups of a real nats-server (every server of the matrix).
 *
 * Setup: tenant t-show (the fixture's three file streams, 20 messages each,
 * plus its memory stream: saved from 2.15 on, skipped before) is backed up
 * (A); then 5 messages are published to its scan stream, its evidence stream
 * is purged down to 2 messages (first_seq moves), one consumer is deleted and
 * one created, and a new stream is made; a second backup (B) follows, and
 * one of tenant t-two. The expected values come from the fixture's
 * definition (xt_fixture.h) and from the sidecars themselves, read as files.
 *
 * Checks: show's text and --json (every stream's messages, bytes, sequences,
 * replicas, consumers as in the sidecar; the archive's size as on disk);
 * a sidecar with absent values is shown with "-" and without the JSON
 * members, with no archive next to it (show reads the sidecar only); stats
 * (counts, oldest/newest, sizes from the sidecars; an unreadable sidecar and
 * a tenant without backups are warnings); diff A B, B A, A A (text, --json,
 * -q; exit 1, 1, 0); an unknown id: exit 2 naming `xorb-backup list
 * TENANT`; options that do not apply, connection options, missing and extra
 * arguments, malformed ids: exit 64; a missing store is not created.
 */
#include "xt_fixture.h"
#include "xt_harness.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define N 20 /* messages per fixture stream */

static struct xt_server srv;
static natsConnection *nc;
static char *work, store[4200], store_env[4300];
static char id_a[64], id_b[64], id_two[64];
static int v215; /* the server snapshots memory streams (2.15+) */

static int run(struct xt_result *r, const char *const *argv)
{
	const char *env[] = { store_env, NULL };

	memset(r, 0, sizeof(*r));
	assert_int_equal(xt_run(argv, env, 120, r), 0);
	return r->status;
}

static void dump(const char *what, const struct xt_result *r)
{
	fprintf(stderr, "--- %s: exit %d\n--- stdout:\n%s--- stderr:\n%s", what, r->status, r->out, r->err);
}

/* Runs argv, asserts its exit code, returns the result (release it). */
static void expect(struct xt_result *r, const char *const *argv, int status)
{
	if (run(r, argv) != status)
		dump(argv[1], r);
	assert_int_equal(r->status, status);
}

static cJSON *js_request(const char *subj, const char *body)
{
	natsMsg *m = NULL;
	cJSON *j;

	assert_int_equal(natsConnection_RequestString(&m, nc, subj, body ? body : "", 10000), NATS_OK);
	j = cJSON_Parse(natsMsg_GetData(m));
	assert_non_null(j);
	if (cJSON_GetObjectItem(j, "error"))
		fail_msg("%s: %s", subj, natsMsg_GetData(m));
	natsMsg_Destroy(m);
	return j;
}

static void js_do(const char *subj, const char *body)
{
	cJSON_Delete(js_request(subj, body));
}

/* Backs up tenant, returns its id in id. */
static void backup(const char *tenant, char *id, size_t len)
{
	struct xt_result r;
	cJSON *j;
	const char *argv[] = { xt_bin("xorb-backup"), "-s", srv.url, "--json", "tenant", tenant, NULL };

	run(&r, argv);
	if (r.status != 0 && r.status != 1)
		dump("backup", &r);
	assert_true(r.status == 0 || r.status == 1);
	j = cJSON_Parse(r.out);
	assert_non_null(j);
	snprintf(id, len, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "backup_id")));
	assert_int_equal(strlen(id), 23);
	cJSON_Delete(j);
	xt_result_release(&r);
}

static int setup(void **state)
{
	char why[512];
	time_t t0;

	(void)state;
	if (xt_server_start(&srv, NULL) || xt_server_connect(&srv, &nc))
		return -1;
	v215 = xt_server_at_least(nc, 2, 15) == 1;
	if (xt_fixture_tenant(nc, "t-show", N, why, sizeof(why)) || xt_fixture_memory_stream(nc, "t-show", why, sizeof(why)) ||
	    xt_fixture_tenant(nc, "t-two", N, why, sizeof(why))) {
		fprintf(stderr, "fixture: %s\n", why);
		return -1;
	}
	work = xt_tempdir("xorb-show");
	if (!work)
		return -1;
	snprintf(store, sizeof(store), "%s/store", work);
	snprintf(store_env, sizeof(store_env), "XORB_STORE=%s", store);
	backup("t-show", id_a, sizeof(id_a));
	/* B must sort after A: ids carry the start second */
	t0 = time(NULL);
	while (time(NULL) == t0)
		usleep(50 * 1000);
	for (int i = 0; i < 5; i++)
		js_do("xorb.t-show.scan.nmap.created", "five more");
	js_do("$JS.API.STREAM.PURGE.xorb-t-show-evidence-live", "{\"keep\":2}");
	js_do("$JS.API.CONSUMER.DELETE.xorb-t-show-scan-live.xorb-t-show-scan-live-completed", NULL);
	js_do("$JS.API.CONSUMER.DURABLE.CREATE.xorb-t-show-compliance-replay.xorb-t-show-audit",
	      "{\"stream_name\":\"xorb-t-show-compliance-replay\",\"config\":{\"durable_name\":\"xorb-t-show-audit\","
	      "\"ack_policy\":\"explicit\",\"deliver_policy\":\"all\"}}");
	js_do("$JS.API.STREAM.CREATE.xorb-t-show-scan-replay",
	      "{\"name\":\"xorb-t-show-scan-replay\",\"subjects\":[\"xorb.t-show.replay.>\"],\"storage\":\"file\"}");
	for (int i = 0; i < 3; i++)
		js_do("xorb.t-show.replay.scanner.created", "replayed");
	backup("t-show", id_b, sizeof(id_b));
	backup("t-two", id_two, sizeof(id_two));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	natsConnection_Destroy(nc);
	xt_server_stop(&srv);
	if (work && !getenv("XT_KEEP"))
		xt_rmtree(work);
	free(work);
	return 0;
}

static cJSON *sidecar(const char *tenant, const char *id)
{
	char path[4400], *buf;
	FILE *f;
	size_t n;
	cJSON *j;

	snprintf(path, sizeof(path), "%s/%s/%s.json", store, tenant, id);
	f = fopen(path, "rb");
	assert_non_null(f);
	buf = calloc(1, 1 << 20);
	n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	buf[n] = '\0';
	j = cJSON_Parse(buf);
	free(buf);
	assert_non_null(j);
	return j;
}

static double num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	if (!cJSON_IsNumber(v))
		fail_msg("member \"%s\" is missing or not a number", key);
	return v->valuedouble;
}

static const char *str(const cJSON *o, const char *key)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));

	if (!s)
		fail_msg("member \"%s\" is missing or not a string", key);
	return s;
}

static const cJSON *named(const cJSON *arr, const char *name)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
		if (cJSON_GetStringValue(cJSON_GetObjectItem(it, "name")) &&
		    !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "name")), name))
			return it;
	fail_msg("no \"%s\" in the array", name);
	return NULL;
}

static bool has_string(const cJSON *arr, const char *s)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it) && !strcmp(it->valuestring, s))
			return true;
	return false;
}

static void assert_has(const struct xt_result *r, const char *out, const char *want)
{
	if (!strstr(out, want)) {
		fprintf(stderr, "--- wanted \"%s\"\n", want);
		dump("output", r);
	}
	assert_non_null(strstr(out, want));
}

static off_t archive_size(const char *tenant, const char *id)
{
	char path[4400];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/%s.tar.zst", store, tenant, id);
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* The start of a stream's row in show's table (the longest name is
 * xorb-t-show-compliance-replay, 29 characters), and its end. */
static const char *row(const char *name, const char *storage, int messages)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "\n%-29s  %-7s  %10d  ", name, storage, messages);
	return buf;
}

static const char *row_end(int first, int last, int replicas, int consumers)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "  %12d  %12d  %8d  %9d\n", first, last, replicas, consumers);
	return buf;
}

static void test_show_text(void **state)
{
	struct xt_result r;
	char line[512];
	cJSON *side = sidecar("t-show", id_b);

	(void)state;
	{
		const char *a[] = { xt_bin("xorb-backup"), "show", "t-show", NULL };
		expect(&r, a, 0);
	}
	snprintf(line, sizeof(line), "backup %s of tenant t-show\n", id_b);
	assert_has(&r, r.out, line);
	snprintf(line, sizeof(line), "  server     nats-server %s, name %s, cluster -\n",
		 str(cJSON_GetObjectItem(side, "server"), "version"), str(cJSON_GetObjectItem(side, "server"), "name"));
	assert_has(&r, r.out, line);
	snprintf(line, sizeof(line), "  archive    t-show/%s.tar.zst, ", id_b);
	assert_has(&r, r.out, line);
	snprintf(line, sizeof(line), " (%lld bytes), sha256 %.16s...\n", (long long)archive_size("t-show", id_b),
		 str(cJSON_GetObjectItem(side, "archive"), "sha256"));
	assert_has(&r, r.out, line);
	assert_has(&r, r.out, "  created    ");
	assert_has(&r, r.out, " (took ");
	assert_has(&r, r.out, "  tool       xorb-dr ");
	snprintf(line, sizeof(line), "\n%-29s  %-7s  %10s  %10s  %12s  %12s  %8s  %9s\n", "STREAM", "STORAGE", "MESSAGES",
		 "BYTES", "FIRST SEQ", "LAST SEQ", "REPLICAS", "CONSUMERS");
	assert_has(&r, r.out, line);
	/* scan: N - 3 deleted + 5 published, 1..N+5; 2 consumers left */
	assert_has(&r, r.out, row("xorb-t-show-scan-live", "file", N - 3 + 5));
	assert_has(&r, r.out, row_end(1, N + 5, 1, 2));
	/* evidence purged to its last 2 messages: seqs N-1..N */
	assert_has(&r, r.out, row("xorb-t-show-evidence-live", "file", 2));
	assert_has(&r, r.out, row_end(N - 1, N, 1, 0));
	assert_has(&r, r.out, row("xorb-t-show-compliance-replay", "file", N));
	assert_has(&r, r.out, row_end(1000, 999 + N, 1, 1));
	assert_has(&r, r.out, row("xorb-t-show-scan-replay", "file", 3));
	assert_has(&r, r.out, row_end(1, 3, 1, 0));
	assert_has(&r, r.out, "\nConsumers:\n");
	assert_has(&r, r.out, "  xorb-t-show-compliance-replay: xorb-t-show-audit\n");
	assert_has(&r, r.out, "  xorb-t-show-scan-live: ");
	assert_has(&r, r.out, "xorb-t-show-scan-live-consumer");
	assert_null(strstr(r.out, "xorb-t-show-scan-live-completed"));
	if (v215) {
		assert_has(&r, r.out, "  content    5 streams, 52 messages, ");
		assert_has(&r, r.out, row("xorb-t-show-control-live", "memory", 5));
		assert_has(&r, r.out, row_end(1, 5, 1, 0));
		assert_null(strstr(r.out, "Skipped"));
	} else {
		assert_has(&r, r.out, "  content    4 streams, 47 messages, ");
		assert_has(&r, r.out, "; 1 skipped\n");
		assert_has(&r, r.out, "\nSkipped (not in this backup):\n  xorb-t-show-control-live: memory storage");
	}
	xt_result_release(&r);

	/* an older one by id; -v adds the snapshots */
	{
		const char *a[] = { xt_bin("xorb-backup"), "show", "-v", "t-show", id_a, NULL };
		expect(&r, a, 0);
	}
	snprintf(line, sizeof(line), "backup %s of tenant t-show\n", id_a);
	assert_has(&r, r.out, line);
	assert_has(&r, r.out, row("xorb-t-show-scan-live", "file", N - 3));
	assert_has(&r, r.out, row_end(1, N, 1, 3));
	assert_has(&r, r.out, "xorb-t-show-scan-live-completed");
	assert_has(&r, r.out, "\nSnapshots (");
	assert_has(&r, r.out, "  xorb-t-show-scan-live: ");
	assert_has(&r, r.out, " bytes in one entry, sha256 ");
	assert_null(strstr(r.out, "scan-replay"));
	xt_result_release(&r);

	/* -q: only the exit code */
	{
		const char *a[] = { xt_bin("xorb-backup"), "-q", "show", "t-show", "latest", NULL };
		expect(&r, a, 0);
	}
	assert_string_equal(r.out, "");
	xt_result_release(&r);
	cJSON_Delete(side);
}

static void test_show_json(void **state)
{
	struct xt_result r;
	cJSON *j, *side = sidecar("t-show", id_b);
	const cJSON *s, *mine, *srv_side = cJSON_GetObjectItem(side, "server");
	double messages = 0;
	int count = 0;

	(void)state;
	{
		const char *a[] = { xt_bin("xorb-backup"), "show", "t-show", id_b, "--json", NULL };
		expect(&r, a, 0);
	}
	j = cJSON_Parse(r.out);
	assert_non_null(j);
	assert_string_equal(str(j, "tenant"), "t-show");
	assert_string_equal(str(j, "backup_id"), id_b);
	assert_string_equal(str(j, "created"), str(side, "created"));
	assert_string_equal(str(j, "completed"), str(side, "completed"));
	assert_true(num(j, "duration_seconds") >= 0);
	assert_int_equal((int)num(j, "format_version"), 1);
	assert_string_equal(str(j, "tool_version"), str(side, "tool_version"));
	assert_string_equal(str(cJSON_GetObjectItem(j, "server"), "version"), str(srv_side, "version"));
	assert_string_equal(str(cJSON_GetObjectItem(j, "server"), "name"), str(srv_side, "name"));
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "server"), "cluster")); /* "" in the sidecar: absent */
	assert_int_equal((long long)num(cJSON_GetObjectItem(j, "archive"), "size"), (long long)archive_size("t-show", id_b));
	assert_string_equal(str(cJSON_GetObjectItem(j, "archive"), "sha256"),
			    str(cJSON_GetObjectItem(side, "archive"), "sha256"));
	assert_string_equal(str(cJSON_GetObjectItem(j, "archive"), "key"), str(cJSON_GetObjectItem(side, "archive"), "key"));
	/* every stream as the sidecar has it */
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(side, "streams")) {
		const char *name = str(s, "name");
		const cJSON *c;

		mine = named(cJSON_GetObjectItem(j, "streams"), name);
		assert_string_equal(str(mine, "storage"), str(s, "storage"));
		assert_true(num(mine, "messages") == num(s, "messages"));
		assert_true(num(mine, "bytes") == num(s, "bytes"));
		assert_true(num(mine, "first_seq") == num(s, "first_seq"));
		assert_true(num(mine, "last_seq") == num(s, "last_seq"));
		assert_true(num(mine, "replicas") == num(s, "replicas"));
		assert_int_equal((int)num(mine, "consumer_count"), cJSON_GetArraySize(cJSON_GetObjectItem(s, "consumers")));
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(mine, "consumers")),
				 cJSON_GetArraySize(cJSON_GetObjectItem(s, "consumers")));
		cJSON_ArrayForEach(c, cJSON_GetObjectItem(s, "consumers"))
			assert_true(has_string(cJSON_GetObjectItem(mine, "consumers"), c->valuestring));
		assert_string_equal(str(cJSON_GetObjectItem(mine, "snapshot"), "sha256"),
				    str(cJSON_GetObjectItem(s, "snapshot"), "sha256"));
		messages += num(s, "messages");
		count++;
	}
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "streams")), count);
	assert_int_equal(count, v215 ? 5 : 4);
	assert_true(num(cJSON_GetObjectItem(j, "totals"), "messages") == messages);
	assert_int_equal((int)num(cJSON_GetObjectItem(j, "totals"), "streams"), count);
	/* the fixture's values */
	mine = named(cJSON_GetObjectItem(j, "streams"), "xorb-t-show-scan-live");
	assert_int_equal((int)num(mine, "messages"), N - 3 + 5);
	assert_int_equal((int)num(mine, "first_seq"), 1);
	assert_int_equal((int)num(mine, "last_seq"), N + 5);
	mine = named(cJSON_GetObjectItem(j, "streams"), "xorb-t-show-evidence-live");
	assert_int_equal((int)num(mine, "messages"), 2);
	assert_int_equal((int)num(mine, "first_seq"), N - 1);
	mine = named(cJSON_GetObjectItem(j, "streams"), "xorb-t-show-compliance-replay");
	assert_int_equal((int)num(mine, "first_seq"), 1000);
	assert_int_equal((int)num(mine, "last_seq"), 999 + N);
	assert_true(has_string(cJSON_GetObjectItem(mine, "consumers"), "xorb-t-show-audit"));
	if (v215) {
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "skipped")), 0);
	} else {
		s = named(cJSON_GetObjectItem(j, "skipped"), "xorb-t-show-control-live");
		assert_non_null(strstr(str(s, "reason"), "memory"));
	}
	cJSON_Delete(j);
	cJSON_Delete(side);
	xt_result_release(&r);
}

/* A sidecar whose optional values are empty (A's under another id), with no
 * archive beside it: "-" in text, no member in JSON, exit 0 (show never
 * opens the archive). */
static void test_show_absent_values(void **state)
{
	const char *id = "20200101T000000Z-0000ed"; /* older than A: not the latest */
	char path[4500], key[128];
	cJSON *side = sidecar("t-show", id_a), *srvj;
	struct xt_result r;
	char *text;
	FILE *f;
	cJSON *j;

	(void)state;
	cJSON_ReplaceItemInObject(side, "backup_id", cJSON_CreateString(id));
	cJSON_ReplaceItemInObject(side, "tool_version", cJSON_CreateString(""));
	cJSON_ReplaceItemInObject(side, "completed", cJSON_CreateString(""));
	/* a reason with an escape sequence: shown as '?' in text, escaped in JSON */
	{
		cJSON *sk = cJSON_CreateObject();

		cJSON_AddStringToObject(sk, "name", "xorb-t-show-evidence-replay");
		cJSON_AddStringToObject(sk, "reason", "\x1b[2Jgone");
		cJSON_AddItemToArray(cJSON_GetObjectItem(side, "skipped"), sk);
	}
	srvj = cJSON_GetObjectItem(side, "server");
	cJSON_ReplaceItemInObject(srvj, "version", cJSON_CreateString(""));
	cJSON_ReplaceItemInObject(srvj, "name", cJSON_CreateString(""));
	snprintf(key, sizeof(key), "t-show/%s.tar.zst", id);
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(side, "archive"), "key", cJSON_CreateString(key));
	snprintf(path, sizeof(path), "%s/t-show/%s.json", store, id);
	text = cJSON_PrintUnformatted(side);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(text);
	cJSON_Delete(side);

	{
		const char *a[] = { xt_bin("xorb-backup"), "show", "t-show", id, NULL };
		expect(&r, a, 0);
	}
	assert_has(&r, r.out, "  completed  - (took -)\n");
	assert_has(&r, r.out, "  tool       xorb-dr -, archive format 1\n");
	assert_has(&r, r.out, "  server     nats-server -, name -, cluster -\n");
	assert_has(&r, r.out, row("xorb-t-show-scan-live", "file", N - 3));
	assert_has(&r, r.out, "  xorb-t-show-evidence-replay: ?[2Jgone\n");
	assert_null(strchr(r.out, '\x1b'));
	xt_result_release(&r);
	{
		const char *a[] = { xt_bin("xorb-backup"), "show", "t-show", id, "--json", NULL };
		expect(&r, a, 0);
	}
	j = cJSON_Parse(r.out);
	assert_non_null(j);
	assert_null(cJSON_GetObjectItem(j, "completed"));
	assert_null(cJSON_GetObjectItem(j, "duration_seconds"));
	assert_null(cJSON_GetObjectItem(j, "tool_version"));
	assert_null(cJSON_GetObjectItem(j, "server"));
	assert_string_equal(str(j, "backup_id"), id);
	assert_string_equal(str(named(cJSON_GetObjectItem(j, "skipped"), "xorb-t-show-evidence-replay"), "reason"),
			    "\x1b[2Jgone");
	assert_non_null(cJSON_GetObjectItem(j, "streams"));
	cJSON_Delete(j);
	xt_result_release(&r);
	assert_int_equal(unlink(path), 0);
}

static void test_diff(void **state)
{
	struct xt_result r;
	char line[256];
	cJSON *j;
	const cJSON *s, *sum;

	(void)state;
	{
		const char *a[] = { xt_bin("xorb-backup"), "diff", "t-show", id_a, id_b, NULL };
		expect(&r, a, 1);
	}
	snprintf(line, sizeof(line), "--- t-show/%s  created ", id_a);
	assert_has(&r, r.out, line);
	snprintf(line, sizeof(line), "+++ t-show/%s  created ", id_b);
	assert_has(&r, r.out, line);
	assert_has(&r, r.out, "\n~ stream xorb-t-show-scan-live: messages 17 -> 22 (+5), bytes ");
	assert_has(&r, r.out, ", seq 1..20 -> 1..25, consumer -xorb-t-show-scan-live-completed\n");
	assert_has(&r, r.out, "\n~ stream xorb-t-show-evidence-live: messages 8 -> 2 (-6), bytes ");
	assert_has(&r, r.out, ", seq 4..20 -> 19..20\n");
	assert_has(&r, r.out, "\n~ stream xorb-t-show-compliance-replay: consumer +xorb-t-show-audit\n");
	assert_has(&r, r.out, "\n+ stream xorb-t-show-scan-replay: file, 3 messages, ");
	assert_has(&r, r.out, " bytes, seq 1..3, 0 consumers\n");
	assert_has(&r, r.out, v215 ? "\n3 changed, 1 added, 0 removed, 1 unchanged stream\n"
				   : "\n3 changed, 1 added, 0 removed, 0 unchanged streams\n");
	assert_null(strstr(r.out, "\n= "));
	xt_result_release(&r);

	/* the other way round; -v lists the unchanged */
	{
		const char *a[] = { xt_bin("xorb-backup"), "diff", "-v", "t-show", "latest", id_a, NULL };
		expect(&r, a, 1);
	}
	assert_has(&r, r.out, "\n~ stream xorb-t-show-scan-live: messages 22 -> 17 (-5), bytes ");
	assert_has(&r, r.out, "consumer +xorb-t-show-scan-live-completed\n");
	assert_has(&r, r.out, "\n- stream xorb-t-show-scan-replay: file, 3 messages, ");
	if (v215)
		assert_has(&r, r.out, "\n= stream xorb-t-show-control-live\n");
	xt_result_release(&r);

	/* identical: exit 0 */
	{
		const char *a[] = { xt_bin("xorb-backup"), "diff", "t-show", id_a, id_a, NULL };
		expect(&r, a, 0);
	}
	assert_has(&r, r.out, v215 ? "\nidentical: 4 streams with the same" : "\nidentical: 3 streams with the same");
	xt_result_release(&r);
	{
		const char *a[] = { xt_bin("xorb-backup"), "-q", "diff", "t-show", id_a, id_b, NULL };
		expect(&r, a, 1);
	}
	assert_string_equal(r.out, "");
	xt_result_release(&r);

	/* --json */
	{
		const char *a[] = { xt_bin("xorb-backup"), "diff", "t-show", id_a, id_b, "--json", NULL };
		expect(&r, a, 1);
	}
	j = cJSON_Parse(r.out);
	assert_non_null(j);
	assert_string_equal(str(j, "tenant"), "t-show");
	assert_string_equal(str(cJSON_GetObjectItem(j, "from"), "backup_id"), id_a);
	assert_string_equal(str(cJSON_GetObjectItem(j, "to"), "backup_id"), id_b);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "identical")));
	sum = cJSON_GetObjectItem(j, "summary");
	assert_int_equal((int)num(sum, "changed"), 3);
	assert_int_equal((int)num(sum, "added"), 1);
	assert_int_equal((int)num(sum, "removed"), 0);
	assert_int_equal((int)num(sum, "unchanged"), v215 ? 1 : 0);
	s = named(cJSON_GetObjectItem(j, "streams"), "xorb-t-show-scan-live");
	assert_string_equal(str(s, "change"), "changed");
	assert_int_equal((int)num(cJSON_GetObjectItem(s, "from"), "last_seq"), N);
	assert_int_equal((int)num(cJSON_GetObjectItem(s, "to"), "last_seq"), N + 5);
	assert_int_equal((int)num(s, "messages_delta"), 5);
	assert_true(num(s, "bytes_delta") > 0);
	assert_true(has_string(cJSON_GetObjectItem(s, "changed_fields"), "last_seq"));
	assert_false(has_string(cJSON_GetObjectItem(s, "changed_fields"), "first_seq"));
	assert_true(has_string(cJSON_GetObjectItem(s, "consumers_removed"), "xorb-t-show-scan-live-completed"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(s, "consumers_added")), 0);
	s = named(cJSON_GetObjectItem(j, "streams"), "xorb-t-show-evidence-live");
	assert_int_equal((int)num(cJSON_GetObjectItem(s, "from"), "first_seq"), 4);
	assert_int_equal((int)num(cJSON_GetObjectItem(s, "to"), "first_seq"), N - 1);
	assert_true(has_string(cJSON_GetObjectItem(s, "changed_fields"), "first_seq"));
	assert_int_equal((int)num(s, "messages_delta"), -6);
	s = named(cJSON_GetObjectItem(j, "streams"), "xorb-t-show-compliance-replay");
	assert_true(has_string(cJSON_GetObjectItem(s, "consumers_added"), "xorb-t-show-audit"));
	s = named(cJSON_GetObjectItem(j, "streams"), "xorb-t-show-scan-replay");
	assert_string_equal(str(s, "change"), "added");
	assert_null(cJSON_GetObjectItem(s, "from"));
	assert_int_equal((int)num(cJSON_GetObjectItem(s, "to"), "messages"), 3);
	cJSON_Delete(j);
	xt_result_release(&r);
}

static void test_stats(void **state)
{
	struct xt_result r;
	cJSON *j, *a = sidecar("t-show", id_a), *b = sidecar("t-show", id_b), *two = sidecar("t-two", id_two);
	const cJSON *t, *s;
	double size_a = num(cJSON_GetObjectItem(a, "archive"), "size"), size_b = num(cJSON_GetObjectItem(b, "archive"), "size");
	double msgs_b = 0;
	char line[256], junk[4500];
	FILE *f;

	(void)state;
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(b, "streams"))
		msgs_b += num(s, "messages");
	{
		const char *argv[] = { xt_bin("xorb-backup"), "stats", "--json", NULL };
		expect(&r, argv, 0);
	}
	j = cJSON_Parse(r.out);
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "tenants")), 2);
	t = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tenants"), 0); /* sorted by name */
	assert_string_equal(str(t, "tenant"), "t-show");
	assert_int_equal((int)num(t, "backups"), 2);
	assert_string_equal(str(t, "oldest_backup_id"), id_a);
	assert_string_equal(str(t, "newest_backup_id"), id_b);
	assert_string_equal(str(t, "oldest_created"), str(a, "created"));
	assert_string_equal(str(t, "newest_created"), str(b, "created"));
	assert_true(num(t, "total_archive_bytes") == size_a + size_b);
	assert_true(num(t, "average_archive_bytes") == (double)(((long long)size_a + (long long)size_b) / 2));
	assert_true(num(t, "last_archive_bytes") == size_b);
	assert_true(num(t, "newest_messages") == msgs_b);
	assert_int_equal((int)num(t, "newest_streams"), v215 ? 5 : 4);
	assert_int_equal((int)num(t, "unreadable"), 0);
	t = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tenants"), 1);
	assert_string_equal(str(t, "tenant"), "t-two");
	assert_int_equal((int)num(t, "backups"), 1);
	assert_true(num(t, "last_archive_bytes") == num(cJSON_GetObjectItem(two, "archive"), "size"));
	assert_int_equal((int)num(cJSON_GetObjectItem(j, "total"), "backups"), 3);
	assert_int_equal((int)num(cJSON_GetObjectItem(j, "total"), "tenants"), 2);
	cJSON_Delete(j);
	xt_result_release(&r);

	/* text */
	{
		const char *argv[] = { xt_bin("xorb-backup"), "stats", NULL };
		expect(&r, argv, 0);
	}
	assert_has(&r, r.out, "TENANT  BACKUPS  OLDEST                   NEWEST                   TOTAL SIZE    AVG SIZE   LAST SIZE  LAST MESSAGES\n");
	snprintf(line, sizeof(line), "\nt-show        2  %s  %s  ", id_a, id_b);
	assert_has(&r, r.out, line);
	snprintf(line, sizeof(line), "%13.0f\n", msgs_b);
	assert_has(&r, r.out, line);
	snprintf(line, sizeof(line), "\nt-two         1  %s  %s  ", id_two, id_two);
	assert_has(&r, r.out, line);
	assert_has(&r, r.out, "\n2 tenants, 3 backups, ");
	xt_result_release(&r);

	/* one tenant */
	{
		const char *argv[] = { xt_bin("xorb-backup"), "stats", "t-two", "--json", NULL };
		expect(&r, argv, 0);
	}
	j = cJSON_Parse(r.out);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "tenants")), 1);
	cJSON_Delete(j);
	xt_result_release(&r);

	/* a tenant without backups: a row of zeros and a warning */
	{
		const char *argv[] = { xt_bin("xorb-backup"), "stats", "t-nope", NULL };
		expect(&r, argv, 1);
	}
	assert_has(&r, r.out, "\nt-nope        0  -  ");
	assert_has(&r, r.err, "tenant \"t-nope\" has no complete backup in store");
	xt_result_release(&r);

	/* an unreadable sidecar: named, not counted, exit 1 */
	snprintf(junk, sizeof(junk), "%s/t-two/20200101T000000Z-0000aa.json", store);
	f = fopen(junk, "w");
	assert_non_null(f);
	fputs("{\"format\":\"xorb-backup\"", f);
	fclose(f);
	{
		const char *argv[] = { xt_bin("xorb-backup"), "stats", "t-two", "--json", NULL };
		expect(&r, argv, 1);
	}
	assert_has(&r, r.err, "t-two/20200101T000000Z-0000aa.json");
	assert_has(&r, r.err, "not counted");
	j = cJSON_Parse(r.out);
	t = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tenants"), 0);
	assert_int_equal((int)num(t, "backups"), 1);
	assert_int_equal((int)num(t, "unreadable"), 1);
	assert_string_equal(str(t, "oldest_backup_id"), id_two);
	cJSON_Delete(j);
	xt_result_release(&r);
	assert_int_equal(unlink(junk), 0);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(two);
}

/* argv exits with status and says want on stderr, nothing on stdout. */
static void assert_fails(const char *const *argv, int status, const char *want)
{
	struct xt_result r;

	expect(&r, argv, status);
	assert_has(&r, r.err, want);
	assert_string_equal(r.out, "");
	if (status == 64) /* the subcommand's help */
		assert_has(&r, r.err, "Try 'xorb-backup ");
	xt_result_release(&r);
}

static void test_errors(void **state)
{
	const char *bk = xt_bin("xorb-backup");
	const char *unknown = "20200101T000000Z-abcdef";
	char missing[4300], missing_opt[4400];
	struct stat st;

	(void)state;
	/* an unknown id: exit 2, and how to find the ids */
	{
		const char *a[] = { bk, "show", "t-show", unknown, "--json", NULL };
		assert_fails(a, 2, "show: backup 20200101T000000Z-abcdef of tenant \"t-show\" is not in store");
	}
	{
		const char *a[] = { bk, "show", "t-show", unknown, NULL };
		assert_fails(a, 2, "`xorb-backup list t-show` lists the backups of the tenant");
	}
	{
		const char *a[] = { bk, "diff", "t-show", id_a, unknown, NULL };
		assert_fails(a, 2, "`xorb-backup list t-show` lists the backups of the tenant");
	}
	{
		const char *a[] = { bk, "show", "t-none", NULL };
		assert_fails(a, 2, "show: tenant \"t-none\" has no complete backup in store");
	}
	/* a missing store: an error, and not created */
	snprintf(missing, sizeof(missing), "%s/no-store", work);
	snprintf(missing_opt, sizeof(missing_opt), "--store=%s", missing);
	{
		const char *a[] = { bk, missing_opt, "show", "t-show", NULL };
		assert_fails(a, 2, "does not exist");
	}
	{
		const char *a[] = { bk, missing_opt, "stats", NULL };
		assert_fails(a, 2, "does not exist");
	}
	{
		const char *a[] = { bk, missing_opt, "diff", "t-show", id_a, id_b, NULL };
		assert_fails(a, 2, "does not exist");
	}
	assert_int_not_equal(stat(missing, &st), 0);

	/* options that do not apply */
	{
		const char *a[] = { bk, "show", "t-show", "--dry-run", NULL };
		assert_fails(a, 64, "usage error: show: --dry-run does not apply (it is an option of copy)");
	}
	{
		const char *a[] = { bk, "stats", "--max-age", "1h", NULL };
		assert_fails(a, 64, "usage error: stats: --max-age does not apply (it is an option of check)");
	}
	{
		const char *a[] = { bk, "diff", "t-show", id_a, id_b, "--stream", "x", NULL };
		assert_fails(a, 64, "usage error: diff: --stream does not apply (it is an option of tenant)");
	}
	{
		const char *a[] = { bk, "-s", srv.url, "show", "t-show", NULL };
		assert_fails(a, 64, "usage error: show: --server does not apply (show reads the store's sidecars only and never connects to NATS)");
	}
	{
		const char *a[] = { bk, "stats", "--creds", "/x.creds", NULL };
		assert_fails(a, 64, "usage error: stats: --creds does not apply");
	}
	/* arguments */
	{
		const char *a[] = { bk, "show", NULL };
		assert_fails(a, 64, "usage error: show: missing argument TENANT");
	}
	{
		const char *a[] = { bk, "show", "t-show", id_a, id_b, NULL };
		assert_fails(a, 64, "usage error: show: unexpected argument");
	}
	{
		const char *a[] = { bk, "show", "t-show", "yesterday", NULL };
		assert_fails(a, 64, "usage error: show: \"yesterday\" is not a backup id");
	}
	{
		const char *a[] = { bk, "show", "T_SHOW", NULL };
		assert_fails(a, 64, "usage error: show: tenant name");
	}
	{
		const char *a[] = { bk, "diff", "t-show", id_a, NULL };
		assert_fails(a, 64, "usage error: diff: missing argument ID2");
	}
	{
		const char *a[] = { bk, "diff", "t-show", NULL };
		assert_fails(a, 64, "usage error: diff: missing argument ID1 and ID2");
	}
	{
		const char *a[] = { bk, "diff", "t-show", id_a, id_b, "latest", NULL };
		assert_fails(a, 64, "usage error: diff: unexpected argument \"latest\"");
	}
	{
		const char *a[] = { bk, "stats", "t-show", "t-two", NULL };
		assert_fails(a, 64, "usage error: stats: unexpected argument \"t-two\"");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_show_text),
		cmocka_unit_test(test_show_json),
		cmocka_unit_test(test_show_absent_values),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * Self-test of the test harness and fixture: real servers start and stop by
 * PID, the fixture creates exactly the data the other tests rely on (checked
 * against the server's own answers), xt_compare_stream finds equality across
 * two servers and each kind of difference, and xt_run captures a command.
 * Never skips: without nats-server this test fails.
 */
#include "xt_fixture.h"
#include "xt_harness.h"

#include <cJSON.h>

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define TENANT_MSGS 50

static int path_exists(const char *p)
{
	struct stat sb;

	return stat(p, &sb) == 0;
}

static int pid_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno != ESRCH;
}

/* A raw JetStream API request; returns the reply text (free it). */
static char *api_text(natsConnection *nc, const char *body, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static char *api_text(natsConnection *nc, const char *body, const char *fmt, ...)
{
	natsMsg *reply = NULL;
	char subj[512], *text;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(subj, sizeof(subj), fmt, ap);
	va_end(ap);
	assert_int_equal(natsConnection_Request(&reply, nc, subj, body, (int)strlen(body), 5000),
			 NATS_OK);
	text = strndup(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
	natsMsg_Destroy(reply);
	assert_non_null(text);
	return text;
}

static double json_num(const char *text, const char *obj, const char *key)
{
	cJSON *j = cJSON_Parse(text);
	const cJSON *o, *v;
	double d;

	assert_non_null(j);
	o = obj ? cJSON_GetObjectItemCaseSensitive(j, obj) : j;
	v = cJSON_GetObjectItemCaseSensitive(o, key);
	d = cJSON_IsNumber(v) ? v->valuedouble : -1;
	cJSON_Delete(j);
	return d;
}

/* Decodes the base64 string message.<key> of a MSG.GET reply (free it). */
static char *json_b64(const char *text, const char *key)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	cJSON *j = cJSON_Parse(text);
	const cJSON *v;
	const char *p, *q;
	unsigned acc = 0;
	size_t len = 0;
	char *out;
	int bits = 0;

	assert_non_null(j);
	v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "message"), key);
	assert_true(cJSON_IsString(v));
	out = calloc(1, strlen(v->valuestring) + 1);
	assert_non_null(out);
	for (p = v->valuestring; *p && *p != '='; p++) {
		q = strchr(alphabet, *p);
		assert_non_null(q);
		acc = (acc << 6) | (unsigned)(q - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[len++] = (char)((acc >> bits) & 0xff);
		}
	}
	cJSON_Delete(j);
	return out;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" not found in: %.600s", needle, hay);
}

static void test_run_capture(void **state)
{
	const char *const basic[] = { "/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	const char *const big[] = { "sh", "-c",
				    "head -c 1000000 /dev/zero | tr '\\0' a & "
				    "head -c 1000000 /dev/zero | tr '\\0' b >&2; wait",
				    NULL };
	const char *const env[] = { "sh", "-c", "printf '%s/%s' \"$XT_FOO\" \"$HOME\"", NULL };
	const char *const envv[] = { "XT_FOO=bar", "HOME=/xt-home", NULL };
	const char *const slow[] = { "sh", "-c", "echo started; sleep 30", NULL };
	const char *const missing[] = { "/nonexistent/xt-no-such-command", NULL };
	const char *const signalled[] = { "sh", "-c", "kill -TERM $$", NULL };
	struct xt_result r;
	time_t t0;
	size_t i;

	(void)state;
	assert_int_equal(xt_run(basic, NULL, 10, &r), 0);
	assert_int_equal(r.status, 3);
	assert_int_equal(r.timed_out, 0);
	assert_string_equal(r.out, "out\n");
	assert_string_equal(r.err, "err\n");
	xt_result_release(&r);

	assert_int_equal(xt_run(big, NULL, 30, &r), 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.out_len, 1000000);
	assert_int_equal(r.err_len, 1000000);
	assert_int_equal(strlen(r.out), 1000000);
	for (i = 0; i < r.out_len; i++)
		if (r.out[i] != 'a' || r.err[i] != 'b')
			fail_msg("captured byte %zu is wrong", i);
	xt_result_release(&r);

	assert_int_equal(xt_run(env, envv, 10, &r), 0);
	assert_string_equal(r.out, "bar//xt-home");
	xt_result_release(&r);

	t0 = time(NULL);
	assert_int_equal(xt_run(slow, NULL, 1, &r), -1);
	assert_true(time(NULL) - t0 < 10);
	assert_int_equal(r.timed_out, 1);
	assert_int_equal(r.status, 128 + SIGKILL);
	assert_string_equal(r.out, "started\n");
	xt_result_release(&r);

	assert_int_equal(xt_run(missing, NULL, 10, &r), -1);
	assert_int_equal(r.status, 127);
	assert_contains(r.err, "No such file or directory");
	xt_result_release(&r);

	assert_int_equal(xt_run(signalled, NULL, 10, &r), 0);
	assert_int_equal(r.status, 128 + SIGTERM);
	xt_result_release(&r);
}

static void test_server_lifecycle(void **state)
{
	struct xt_server s, s2;
	natsConnection *nc = NULL;
	char dir[4096];
	pid_t pid;
	int port;

	(void)state;
	unsetenv("XT_KEEP");
	assert_int_equal(xt_server_start(&s, NULL), 0);
	assert_true(s.pid > 0);
	assert_true(pid_alive(s.pid));
	assert_true(path_exists(s.dir));
	assert_true(path_exists(s.conf));
	assert_true(path_exists(s.log));
	assert_int_equal(strncmp(s.url, "nats://127.0.0.1:", 17), 0);
	assert_int_equal(xt_server_connect(&s, &nc), 0);
	natsConnection_Destroy(nc);

	pid = s.pid;
	port = s.port;
	snprintf(dir, sizeof(dir), "%s", s.dir);
	xt_server_stop(&s);
	assert_false(pid_alive(pid));
	assert_false(path_exists(dir));
	assert_int_equal(s.pid, 0);
	xt_server_stop(&s); /* twice is fine */

	/* A fixed port, the one just freed. */
	assert_int_equal(xt_server_start(&s2, &(struct xt_server_opts){ .jetstream = 1,
									 .port = port }),
			 0);
	assert_int_equal(s2.port, port);
	assert_string_equal(s2.url, s.url);

	/* kill keeps the dir, stop then removes it */
	pid = s2.pid;
	snprintf(dir, sizeof(dir), "%s", s2.dir);
	xt_server_kill(&s2);
	assert_false(pid_alive(pid));
	assert_true(path_exists(dir));
	xt_server_stop(&s2);
	assert_false(path_exists(dir));

	/* A config the server refuses: start fails cleanly. */
	assert_int_equal(xt_server_start(&s, &(struct xt_server_opts){ .jetstream = 1,
								       .extra_conf = "bogus {{{" }),
			 -1);
	assert_int_equal(s.pid, 0);
}

static void test_fixture_facts(void **state)
{
	struct xt_server s;
	natsConnection *nc = NULL;
	natsMsg *m = NULL;
	jsCtx *js = NULL;
	jsErrCode jerr = 0;
	char why[1024], *t, *hdrs;
	int i;

	(void)state;
	assert_int_equal(xt_server_start(&s, NULL), 0);
	assert_int_equal(xt_server_connect(&s, &nc), 0);
	if (xt_fixture_tenant(nc, "acme", TENANT_MSGS, why, sizeof(why)))
		fail_msg("fixture: %s", why);
	if (xt_fixture_tenant(nc, "globex", TENANT_MSGS, why, sizeof(why)))
		fail_msg("fixture, second tenant: %s", why);
	if (xt_fixture_memory_stream(nc, "acme", why, sizeof(why)))
		fail_msg("memory stream: %s", why);
	assert_int_equal(xt_fixture_tenant(nc, "acme", TENANT_MSGS, why, sizeof(why)), -1);
	assert_contains(why, "already exists");
	assert_int_equal(xt_fixture_tenant(nc, "a.b", TENANT_MSGS, why, sizeof(why)), -1);

	/* scan-live: exact max_age, gaps, consumers */
	t = api_text(nc, "", "$JS.API.STREAM.INFO.xorb-acme-scan-live");
	assert_contains(t, "\"max_age\":2592000000000000,");
	assert_contains(t, "\"storage\":\"file\"");
	assert_int_equal(json_num(t, "state", "messages"), TENANT_MSGS - XT_SCAN_DELETED);
	assert_int_equal(json_num(t, "state", "num_deleted"), XT_SCAN_DELETED);
	assert_int_equal(json_num(t, "state", "last_seq"), TENANT_MSGS);
	assert_int_equal(json_num(t, "state", "num_subjects"), 20);
	assert_int_equal(json_num(t, "state", "consumer_count"), 3);
	free(t);
	t = api_text(nc, "{\"seq\":17}", "$JS.API.STREAM.MSG.GET.xorb-acme-scan-live");
	assert_contains(t, "10037"); /* TENANT_MSGS/3+1 is a gap */
	free(t);
	t = api_text(nc, "", "$JS.API.CONSUMER.INFO.xorb-acme-scan-live.xorb-acme-scan-live-consumer");
	assert_int_equal(json_num(t, NULL, "num_ack_pending"), 6);
	assert_int_equal(json_num(t, "delivered", "consumer_seq"), 10);
	assert_int_equal(json_num(t, "ack_floor", "stream_seq"), 3);
	assert_contains(t, "\"ack_wait\":30000000000");
	assert_contains(t, "\"max_ack_pending\":1024");
	free(t);
	t = api_text(nc, "", "$JS.API.CONSUMER.INFO.xorb-acme-scan-live.xorb-acme-scan-live-completed");
	assert_contains(t, "\"filter_subject\":\"xorb.acme.scan.*.completed\"");
	assert_int_equal(json_num(t, "delivered", "consumer_seq"), 2);
	assert_int_equal(json_num(t, "ack_floor", "consumer_seq"), 2);
	assert_int_equal(json_num(t, NULL, "num_ack_pending"), 0);
	free(t);

	/*
	 * The stored header block, raw: a multi-value header is two lines, an
	 * empty value is "Key: ". Look at the bytes: nats.c 3.4.1 misreads
	 * both (its parser takes the line after an empty value as the value,
	 * and js_GetMsg keeps only the last value of a repeated key).
	 */
	t = api_text(nc, "{\"seq\":1}", "$JS.API.STREAM.MSG.GET.xorb-acme-scan-live");
	hdrs = json_b64(t, "hdrs");
	assert_int_equal(strncmp(hdrs, "NATS/1.0\r\n", 10), 0);
	assert_contains(hdrs, "\r\nXorb-Tag: alpha\r\nXorb-Tag: beta\r\n");
	assert_contains(hdrs, "\r\nXorb-Empty: \r\n");
	assert_contains(hdrs, "\r\nXorb-Tenant: acme\r\n");
	free(hdrs);
	free(t);

	/* message contents as a client sees them */
	assert_int_equal(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
	assert_int_equal(js_GetMsg(&m, js, "xorb-acme-scan-live", 1, NULL, &jerr), NATS_OK);
	assert_int_equal(natsMsg_GetDataLength(m), 0);
	natsMsg_Destroy(m);
	assert_int_equal(js_GetMsg(&m, js, "xorb-acme-scan-live", 2, NULL, &jerr), NATS_OK);
	assert_int_equal(natsMsg_GetDataLength(m), 256);
	for (i = 0; i < 256; i++)
		assert_int_equal((unsigned char)natsMsg_GetData(m)[i], i);
	natsMsg_Destroy(m);
	assert_int_equal(js_GetMsg(&m, js, "xorb-acme-scan-live", 3, NULL, &jerr), NATS_OK);
	assert_int_equal(natsMsg_GetDataLength(m), 65536);
	natsMsg_Destroy(m);
	assert_int_equal(js_GetMsg(&m, js, "xorb-acme-scan-live", 4, NULL, &jerr), NATS_OK);
	assert_int_equal(natsMsg_GetDataLength(m), 1);
	assert_int_equal(natsMsg_GetData(m)[0], 0);
	natsMsg_Destroy(m);
	jsCtx_Destroy(js);

	/* evidence-live: 2 of 5 writes per subject kept */
	t = api_text(nc, "", "$JS.API.STREAM.INFO.xorb-acme-evidence-live");
	assert_contains(t, "\"max_msgs_per_subject\":2,");
	assert_int_equal(json_num(t, "state", "messages"), 2 * (TENANT_MSGS / 5));
	assert_int_equal(json_num(t, "state", "last_seq"), 5 * (TENANT_MSGS / 5));
	assert_int_equal(json_num(t, "state", "first_seq"), 4);
	free(t);

	/* compliance-replay: starts at 1000, WORM-like */
	t = api_text(nc, "", "$JS.API.STREAM.INFO.xorb-acme-compliance-replay");
	assert_int_equal(json_num(t, "state", "first_seq"), 1000);
	assert_int_equal(json_num(t, "state", "last_seq"), 999 + TENANT_MSGS);
	assert_contains(t, "\"max_age\":2592000000000000,");
	assert_contains(t, "\"deny_delete\":true");
	assert_contains(t, "\"deny_purge\":true");
	assert_contains(t, "\"subjects\":[\"xorb.acme.compliance.\\u003e\"]");
	free(t);
	t = api_text(nc, "{\"seq\":1000}", "$JS.API.STREAM.MSG.DELETE.xorb-acme-compliance-replay");
	assert_contains(t, "\"error\"");
	free(t);

	/* memory stream, and the second tenant beside the first */
	t = api_text(nc, "", "$JS.API.STREAM.INFO.xorb-acme-control-live");
	assert_contains(t, "\"storage\":\"memory\"");
	assert_int_equal(json_num(t, "state", "messages"), 5);
	free(t);
	t = api_text(nc, "", "$JS.API.STREAM.NAMES");
	assert_int_equal(json_num(t, NULL, "total"), 7);
	assert_contains(t, "xorb-globex-scan-live");
	free(t);

	/* bulk: creates, then appends; sequences checked by the fixture */
	if (xt_fixture_bulk(nc, "xt-bulk", "xt.bulk", 5000, 100, why, sizeof(why)))
		fail_msg("bulk: %s", why);
	if (xt_fixture_bulk(nc, "xt-bulk", "xt.bulk", 1025, 0, why, sizeof(why)))
		fail_msg("bulk, again: %s", why);
	t = api_text(nc, "", "$JS.API.STREAM.INFO.xt-bulk");
	assert_int_equal(json_num(t, "state", "messages"), 6025);
	assert_int_equal(json_num(t, "state", "last_seq"), 6025);
	free(t);
	assert_int_equal(xt_fixture_bulk(nc, "xt-bulk", "xt.other", 10, 1, why, sizeof(why)), -1);
	assert_contains(why, "no stream stores the subject");

	natsConnection_Destroy(nc);
	xt_server_stop(&s);
}

static const char *const file_streams[] = { "xorb-acme-scan-live", "xorb-acme-evidence-live",
					    "xorb-acme-compliance-replay" };

static void assert_identical(natsConnection *a, natsConnection *b, const char *stream)
{
	char why[1024];
	int r = xt_compare_stream(a, b, stream, why, sizeof(why));

	if (r != 0)
		fail_msg("%s: compare returned %d: %s", stream, r, why);
}

static void assert_differs(natsConnection *a, natsConnection *b, const char *stream,
			   const char *expect)
{
	char why[1024];
	int r = xt_compare_stream(a, b, stream, why, sizeof(why));

	if (r != 1)
		fail_msg("%s: compare returned %d, expected a difference: %s", stream, r, why);
	assert_contains(why, expect);
}

static void test_compare(void **state)
{
	struct xt_server a, b, c;
	natsConnection *na = NULL, *nb = NULL, *nc = NULL;
	char why[1024], src[4200], dst[4200], *store1, *store2;
	const char *cp[] = { "cp", "-a", src, dst, NULL };
	struct xt_result r;
	natsMsg *reply = NULL;
	size_t i;

	(void)state;
	store1 = xt_tempdir("store");
	store2 = xt_tempdir("store");
	assert_non_null(store1);
	assert_non_null(store2);
	snprintf(src, sizeof(src), "%s/js", store1);
	snprintf(dst, sizeof(dst), "%s/js", store2);

	/* a server against itself */
	assert_int_equal(xt_server_start(&a, &(struct xt_server_opts){ .jetstream = 1,
								       .store_dir = src }),
			 0);
	assert_int_equal(xt_server_connect(&a, &na), 0);
	if (xt_fixture_tenant(na, "acme", 200, why, sizeof(why)))
		fail_msg("fixture: %s", why);
	if (xt_fixture_memory_stream(na, "acme", why, sizeof(why)))
		fail_msg("memory stream: %s", why);
	for (i = 0; i < 3; i++)
		assert_identical(na, na, file_streams[i]);
	assert_int_equal(xt_compare_stream(na, na, "xorb-acme-scan-live", why, sizeof(why)), 0);
	assert_string_equal(why, "197 messages, 3 consumers");
	assert_identical(na, na, "xorb-acme-control-live");
	assert_int_equal(xt_compare_stream(na, na, "xorb-nobody-scan-live", why, sizeof(why)), -1);

	/* a byte-for-byte copy of its store, on a second server */
	natsConnection_Destroy(na);
	xt_server_stop(&a);
	assert_true(path_exists(src)); /* store_dir outlives the server */
	assert_int_equal(xt_run(cp, NULL, 60, &r), 0);
	assert_int_equal(r.status, 0);
	xt_result_release(&r);
	assert_int_equal(xt_server_start(&a, &(struct xt_server_opts){ .jetstream = 1,
								       .store_dir = src }),
			 0);
	assert_int_equal(xt_server_start(&b, &(struct xt_server_opts){ .jetstream = 1,
								       .store_dir = dst }),
			 0);
	assert_int_equal(xt_server_connect(&a, &na), 0);
	assert_int_equal(xt_server_connect(&b, &nb), 0);
	for (i = 0; i < 3; i++)
		assert_identical(na, nb, file_streams[i]);
	/* memory streams do not survive a restart */
	assert_int_equal(xt_compare_stream(na, nb, "xorb-acme-control-live", why, sizeof(why)),
			 -1);

	/* the same fixture written again elsewhere: only the timestamps differ */
	assert_int_equal(xt_server_start(&c, NULL), 0);
	assert_int_equal(xt_server_connect(&c, &nc), 0);
	if (xt_fixture_tenant(nc, "acme", 200, why, sizeof(why)))
		fail_msg("fixture: %s", why);
	assert_differs(na, nc, "xorb-acme-scan-live", "seq 1: message.time:");
	assert_differs(na, nc, "xorb-acme-evidence-live", "seq 4: message.time:");

	/* one more ack on b */
	assert_int_equal(natsConnection_RequestString(
				 &reply, nb,
				 "$JS.API.CONSUMER.MSG.NEXT.xorb-acme-scan-live.xorb-acme-scan-live-completed",
				 "{\"batch\":1,\"no_wait\":true}", 5000),
			 NATS_OK);
	assert_non_null(natsMsg_GetReply(reply));
	natsMsg_Destroy(reply);
	reply = NULL;
	assert_differs(na, nb, "xorb-acme-scan-live",
		       "consumer \"xorb-acme-scan-live-completed\".delivered.stream_seq");

	/* a deleted message on b */
	assert_int_equal(natsConnection_RequestString(&reply, nb,
						      "$JS.API.STREAM.MSG.DELETE.xorb-acme-evidence-live",
						      "{\"seq\":50}", 5000),
			 NATS_OK);
	assert_contains(natsMsg_GetData(reply), "\"success\":true");
	natsMsg_Destroy(reply);
	assert_differs(na, nb, "xorb-acme-evidence-live", "state.messages: 80 on a, 79 on b");

	/* a config change on b */
	assert_int_equal(natsConnection_RequestString(
				 &reply, nb, "$JS.API.STREAM.UPDATE.xorb-acme-compliance-replay",
				 "{\"name\":\"xorb-acme-compliance-replay\","
				 "\"subjects\":[\"xorb.acme.compliance.>\"],\"retention\":\"limits\","
				 "\"storage\":\"file\",\"discard\":\"old\",\"num_replicas\":1,"
				 "\"max_age\":2592000000000001,\"deny_delete\":true,\"deny_purge\":true}",
				 5000),
			 NATS_OK);
	assert_contains(natsMsg_GetData(reply), "2592000000000001");
	natsMsg_Destroy(reply);
	assert_differs(na, nb, "xorb-acme-compliance-replay",
		       "config.max_age: 2592000000000000 on a, 2592000000000001 on b");

	natsConnection_Destroy(na);
	natsConnection_Destroy(nb);
	natsConnection_Destroy(nc);
	xt_server_stop(&a);
	xt_server_stop(&b);
	xt_server_stop(&c);
	assert_int_equal(xt_rmtree(store1), 0);
	assert_int_equal(xt_rmtree(store2), 0);
	assert_false(path_exists(store1));
	free(store1);
	free(store2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_capture),
		cmocka_unit_test(test_server_lifecycle),
		cmocka_unit_test(test_fixture_facts),
		cmocka_unit_test(test_compare),
	};
	int r;

	r = cmocka_run_group_tests(tests, NULL, NULL);
	nats_Close();
	return r;
}

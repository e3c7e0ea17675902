/*
 * `xorb-state plan --json` (issue 14, point 6): the plan is data, a list of
 * changes (tenant, kind, action, name, detail, key, path, stream, revoke),
 * and both the text lines and the JSON document are rendered from it.
 * Against a real operator-mode nats-server (full account resolver), set up
 * as test_state does: a new tenant (account without a key yet, both users on
 * one text line), apply --json, everything unchanged, a limit changed, an
 * account on the server that the environment lacks (stray), a server that
 * cannot be reached (result failed). Each text line of a plan is checked
 * against the JSON change(s) it comes from, in order.
 */
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
#include <unistd.h>

#include <cmocka.h>

static char *work, keys[4200], envf[4200], keys_env[4300];
static struct xt_server srv;

#define T_PLAN "\"t-plan\":{\"name\":\"t-plan\",\"max_streams\":10,\"max_consumers\":20,\"max_bytes\":268435456,\"max_messages\":250000,\"retention_days\":3}"
#define T_PLAN12 "\"t-plan\":{\"name\":\"t-plan\",\"max_streams\":12,\"max_consumers\":20,\"max_bytes\":268435456,\"max_messages\":250000,\"retention_days\":3}"
#define T_GONE "\"t-gone\":{\"name\":\"t-gone\",\"max_streams\":8,\"max_consumers\":8,\"max_bytes\":67108864,\"max_messages\":10000,\"retention_days\":1}"
#define CHANGES_PER_TENANT 15 /* account, 2 users, 8 streams, 4 consumers */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int run(struct xt_result *r, const char *const *argv)
{
	const char *env[] = { keys_env, NULL };

	memset(r, 0, sizeof(*r));
	assert_int_equal(xt_run(argv, env, 300, r), 0);
	return r->status;
}

static void expect(struct xt_result *r, const char *const *argv, int status)
{
	if (run(r, argv) != status)
		fprintf(stderr, "--- %s: exit %d, want %d\n--- stdout:\n%s--- stderr:\n%s", argv[1], r->status, status, r->out,
			r->err);
	assert_int_equal(r->status, status);
}

static void write_env(const char *tenants_json)
{
	FILE *f = fopen(envf, "w");

	assert_non_null(f);
	fprintf(f, "{\"environment\":\"test\",\"nats_url\":\"%s\",\"num_replicas\":1,\"tenants\":{%s}}\n", srv.url,
		tenants_json);
	fclose(f);
}

static int setup(void **state)
{
	struct xt_server_opts o = { 1, NULL, NULL, 0 };
	char path[4400], *conf;
	struct xt_result r;

	(void)state;
	work = xt_tempdir("xorb-state-plan");
	if (!work)
		return -1;
	snprintf(keys, sizeof(keys), "%s/keys", work);
	snprintf(envf, sizeof(envf), "%s/test.tfvars.json", work);
	snprintf(keys_env, sizeof(keys_env), "XORB_KEYS=%s", keys);
	const char *init[] = { xt_bin("xorb-state"), "init", "--keys", keys, NULL };
	if (xt_run(init, NULL, 60, &r) || r.status) {
		fprintf(stderr, "init: %s", r.err);
		return -1;
	}
	xt_result_release(&r);
	/* the fragment init wrote, pasted into the server's configuration */
	snprintf(path, sizeof(path), "%s/resolver.conf", keys);
	conf = slurp(path);
	o.extra_conf = conf;
	if (xt_server_start(&srv, &o))
		return -1;
	free(conf);
	write_env(T_PLAN "," T_GONE);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	xt_server_stop(&srv);
	if (work && !getenv("XT_KEEP"))
		xt_rmtree(work);
	free(work);
	return 0;
}

static const char *str(const cJSON *o, const char *key)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));

	if (!s)
		fail_msg("member \"%s\" is missing or not a string", key);
	return s;
}

static int num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(o, key);

	if (!cJSON_IsNumber(v))
		fail_msg("member \"%s\" is missing or not a number", key);
	return (int)v->valuedouble;
}

/* The whole of stdout is one JSON document. */
static cJSON *parse_all(const char *out)
{
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithOpts(out, &end, 0);

	assert_non_null(j);
	while (*end == '\n')
		end++;
	assert_string_equal(end, "");
	return j;
}

static cJSON *plan_json(const char *cmd, int status)
{
	struct xt_result r;
	cJSON *j;
	const char *argv[] = { xt_bin("xorb-state"), cmd, envf, "--json", NULL };

	expect(&r, argv, status);
	j = parse_all(r.out);
	xt_result_release(&r);
	assert_string_equal(str(j, "command"), cmd);
	assert_string_equal(str(j, "environment"), "test");
	assert_string_equal(str(j, "env_file"), envf);
	return j;
}

/* The change of kind and name in the plan. */
static const cJSON *find(const cJSON *j, const char *kind, const char *name)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "changes"))
		if (!strcmp(str(c, "kind"), kind) && !strcmp(str(c, "name"), name))
			return c;
	fail_msg("no %s %s in the plan", kind, name);
	return NULL;
}

/*
 * The text plan (same environment, same server state) line by line against
 * the JSON changes in order: each line starts with the action's mark, the
 * kind and the name (the two users of a tenant without an account key share
 * one line), and the last line counts them.
 */
static void text_matches_json(const cJSON *j)
{
	static const char *const action[] = { "create", "update", "unchanged", "stray" };
	static const char mark[] = "+~=!";
	struct xt_result r;
	const cJSON *c, *prev = NULL;
	const char *line, *last = NULL;
	char want[512];
	int k;
	const char *argv[] = { xt_bin("xorb-state"), "plan", envf, NULL };

	expect(&r, argv, 0);
	line = r.out;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "changes")) {
		for (k = 0; k < 4 && strcmp(str(c, "action"), action[k]); k++)
			;
		assert_true(k < 4);
		snprintf(want, sizeof(want), "%c %s %s", mark[k], str(c, "kind"), str(c, "name"));
		if (!strncmp(line, want, strlen(want)) && strchr(" :,\n", line[strlen(want)])) {
			last = line;
			line = strchr(line, '\n');
			assert_non_null(line);
			line++;
		} else {
			/* the second user on the first one's line: "+ user A, B (creds in DIR)" */
			snprintf(want, sizeof(want), "+ user %s, %s (", prev ? str(prev, "name") : "?", str(c, "name"));
			if (!last || strncmp(last, want, strlen(want)))
				fail_msg("text line \"%.*s\" does not render change %s %s %s", (int)strcspn(line, "\n"), line,
					 str(c, "action"), str(c, "kind"), str(c, "name"));
		}
		prev = c;
	}
	snprintf(want, sizeof(want), "Plan: %d to create, %d to update, %d unchanged",
		 num(cJSON_GetObjectItem(j, "summary"), "create"), num(cJSON_GetObjectItem(j, "summary"), "update"),
		 num(cJSON_GetObjectItem(j, "summary"), "unchanged"));
	if (strncmp(line, want, strlen(want)))
		fail_msg("last line \"%s\", want \"%s\"", line, want);
	xt_result_release(&r);
}

static void test_plan_json_new_tenants(void **state)
{
	cJSON *j;
	const cJSON *c, *sum;
	int n = 0, streams = 0, consumers = 0;

	(void)state;
	j = plan_json("plan", 0);
	assert_string_equal(str(j, "result"), "ok");
	assert_null(cJSON_GetObjectItem(j, "error"));
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "changes")) {
		assert_string_equal(str(c, "action"), "create");
		if (!strcmp(str(c, "kind"), "stream"))
			streams++;
		if (!strcmp(str(c, "kind"), "consumer")) {
			consumers++;
			assert_non_null(strstr(str(c, "stream"), "xorb-t-"));
			assert_non_null(strstr(str(c, "detail"), "ack_wait 30s"));
		}
		n++;
	}
	assert_int_equal(n, 2 * CHANGES_PER_TENANT);
	assert_int_equal(streams, 16);
	assert_int_equal(consumers, 8);
	c = find(j, "account", "xorb-t-plan");
	assert_string_equal(str(c, "tenant"), "t-plan");
	assert_null(cJSON_GetObjectItem(c, "key")); /* no key yet */
	assert_string_equal(str(c, "detail"), "disk 268435456 B, streams 10, consumers 20, connections -1");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(c, "revoke")));
	c = find(j, "user", "xorb-t-plan-backup");
	assert_string_equal(str(c, "tenant"), "t-plan");
	assert_non_null(strstr(str(c, "path"), "/creds/xorb-t-plan-backup.creds"));
	c = find(j, "stream", "xorb-t-plan-scan-replay");
	assert_non_null(strstr(str(c, "detail"), "max_age 30 d, replicas 1"));
	assert_null(cJSON_GetObjectItem(c, "revoke"));
	sum = cJSON_GetObjectItem(j, "summary");
	assert_int_equal(num(sum, "create"), 2 * CHANGES_PER_TENANT);
	assert_int_equal(num(sum, "update"), 0);
	assert_int_equal(num(sum, "unchanged"), 0);
	assert_int_equal(num(sum, "stray"), 0);
	text_matches_json(j);
	cJSON_Delete(j);
}

static void test_apply_json_then_unchanged(void **state)
{
	cJSON *j;
	const cJSON *c;
	char path[4400];
	struct stat st;

	(void)state;
	j = plan_json("apply", 0);
	assert_string_equal(str(j, "result"), "ok");
	assert_int_equal(num(cJSON_GetObjectItem(j, "summary"), "create"), 2 * CHANGES_PER_TENANT);
	cJSON_Delete(j);
	snprintf(path, sizeof(path), "%s/creds/xorb-t-plan-user.creds", keys);
	assert_int_equal(stat(path, &st), 0);

	j = plan_json("plan", 0);
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "changes"))
		assert_string_equal(str(c, "action"), "unchanged");
	assert_int_equal(num(cJSON_GetObjectItem(j, "summary"), "unchanged"), 2 * CHANGES_PER_TENANT);
	c = find(j, "account", "xorb-t-plan");
	assert_int_equal(strlen(str(c, "key")), 56);
	assert_int_equal(str(c, "key")[0], 'A');
	assert_null(cJSON_GetObjectItem(c, "detail"));
	c = find(j, "user", "xorb-t-plan-user");
	assert_string_equal(str(c, "path"), path);
	c = find(j, "consumer", "xorb-t-plan-scan-live-consumer");
	assert_string_equal(str(c, "stream"), "xorb-t-plan-scan-live");
	text_matches_json(j);
	cJSON_Delete(j);
}

static void test_plan_json_update_and_stray(void **state)
{
	struct xt_result r;
	cJSON *j;
	const cJSON *c, *sum;

	(void)state;
	write_env(T_PLAN12);
	j = plan_json("plan", 0);
	c = find(j, "account", "xorb-t-plan");
	assert_string_equal(str(c, "action"), "update");
	assert_string_equal(str(c, "detail"), "streams 10 -> 12");
	c = find(j, "account", "xorb-t-gone");
	assert_string_equal(str(c, "action"), "stray");
	assert_string_equal(str(c, "tenant"), "t-gone");
	assert_int_equal(strlen(str(c, "key")), 56);
	assert_non_null(strstr(str(c, "detail"), "apply leaves it; xorb-state destroy --tenant t-gone removes it"));
	sum = cJSON_GetObjectItem(j, "summary");
	assert_int_equal(num(sum, "update"), 1);
	assert_int_equal(num(sum, "stray"), 1);
	assert_int_equal(num(sum, "create"), 0);
	assert_int_equal(num(sum, "unchanged"), CHANGES_PER_TENANT - 1);
	text_matches_json(j);
	cJSON_Delete(j);

	const char *argv[] = { xt_bin("xorb-state"), "plan", envf, NULL };
	expect(&r, argv, 0);
	{
		const char *first = "~ account xorb-t-plan: streams 10 -> 12\n";

		assert_int_equal(strncmp(r.out, first, strlen(first)), 0);
	}
	assert_non_null(strstr(r.out, "\n! account xorb-t-gone (A"));
	assert_non_null(strstr(r.out, "Plan: 0 to create, 1 to update, 14 unchanged (see ! lines: not in the environment)\n"));
	xt_result_release(&r);
	write_env(T_PLAN "," T_GONE);
}

/* A plan that fails: the error on stderr, and the document says so. */
static void test_plan_json_failure(void **state)
{
	struct xt_result r;
	cJSON *j;
	const char *argv[] = { xt_bin("xorb-state"), "-s", "nats://127.0.0.1:1", "plan", envf, "--json", NULL };

	(void)state;
	expect(&r, argv, 2);
	assert_non_null(strstr(r.err, "xorb-state: error: "));
	j = parse_all(r.out);
	assert_string_equal(str(j, "command"), "plan");
	assert_string_equal(str(j, "result"), "failed");
	assert_non_null(strstr(str(j, "error"), "127.0.0.1:1"));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "changes")), 0);
	cJSON_Delete(j);
	xt_result_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_json_new_tenants),
		cmocka_unit_test(test_apply_json_then_unchanged),
		cmocka_unit_test(test_plan_json_update_and_stray),
		cmocka_unit_test(test_plan_json_failure),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

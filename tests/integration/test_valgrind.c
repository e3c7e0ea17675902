/*
 * Every command's main paths, small data, under valgrind memcheck against
 * real servers: a quick smoke test of the memcheck mode that the other
 * integration programs also run in (ctest -L memcheck; see xt_harness.h). It
 * runs in that mode only, where xt_run fails a run in which valgrind found
 * invalid reads or writes, use of uninitialised values, or definite or
 * indirect leaks (status 99, the report on stderr).
 */
#include "xt_fixture.h"
#include "xt_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char *work, store[4200], store_env[4300], keys[4200], keys_env[4300];

/* Runs a command of ours (under memcheck); returns its exit status. */
static int vg(const char *what, const char *const *args, const char *const *env)
{
	struct xt_result r;
	int st;

	memset(&r, 0, sizeof(r));
	assert_int_equal(xt_run(args, env, 120, &r), 0);
	st = r.status;
	if (st == XT_MEMCHECK_STATUS)
		fprintf(stderr, "--- %s: valgrind found errors (report above)\n--- stderr:\n%s\n", what, r.err);
	xt_result_release(&r);
	return st;
}

static int setup(void **state)
{
	if (!xt_memcheck()) {
		fprintf(stderr, "test_valgrind runs in memcheck mode only: ctest -R memcheck/test_valgrind\n");
		return -1;
	}
	work = xt_tempdir("xorb-vg");
	snprintf(store, sizeof(store), "%s/store", work);
	snprintf(store_env, sizeof(store_env), "XORB_STORE=%s", store);
	snprintf(keys, sizeof(keys), "%s/keys", work);
	snprintf(keys_env, sizeof(keys_env), "XORB_KEYS=%s", keys);
	return 0;
}

static int teardown(void **state)
{
	xt_rmtree(work);
	free(work);
	return 0;
}

static void test_backup_verify_restore_prune(void **state)
{
	struct xt_server a, b;
	natsConnection *nc;
	char why[512];
	const char *env[] = { store_env, NULL };

	assert_int_equal(xt_server_start(&a, NULL), 0);
	assert_int_equal(xt_server_start(&b, NULL), 0);
	assert_int_equal(xt_server_connect(&a, &nc), 0);
	assert_int_equal(xt_fixture_tenant(nc, "t-vg", 60, why, sizeof(why)), 0);
	assert_int_equal(xt_fixture_memory_stream(nc, "t-vg", why, sizeof(why)), 0);
	natsConnection_Destroy(nc);

	const char *backup[] = { xt_bin("xorb-backup"), "-s", a.url, "tenant", "t-vg", "--part-size", "65536", NULL };
	assert_int_equal(vg("backup", backup, env), 1); /* 1: the memory stream was skipped */
	assert_int_equal(vg("backup again", backup, env), 1);
	const char *list[] = { xt_bin("xorb-backup"), "list", "--json", NULL };
	assert_int_equal(vg("list", list, env), 0);
	const char *verify[] = { xt_bin("xorb-verify"), "t-vg", NULL };
	assert_int_equal(vg("verify", verify, env), 0);
	const char *restore[] = { xt_bin("xorb-restore"), "-s", b.url, "t-vg", NULL };
	assert_int_equal(vg("restore", restore, env), 0);
	/* again: every stream already holds the backup's state and is kept */
	const char *again[] = { xt_bin("xorb-restore"), "-s", b.url, "t-vg", NULL };
	assert_int_equal(vg("restore again (kept)", again, env), 0);
	const char *replace[] = { xt_bin("xorb-restore"), "-s", b.url, "t-vg", "--replace", "--replicas", "1", NULL };
	assert_int_equal(vg("restore --replace", replace, env), 0);
	const char *dry[] = { xt_bin("xorb-restore"), "t-vg", "--dry-run", "--json", NULL };
	assert_int_equal(vg("dry run", dry, env), 0);
	const char *all[] = { xt_bin("xorb-backup"), "-s", a.url, "all", "--tenants", "t-vg,t-none", "--parallel", "2", NULL };
	assert_int_equal(vg("all", all, env), 2);
	const char *check[] = { xt_bin("xorb-backup"), "-s", a.url, "check", "t-vg", NULL };
	assert_int_equal(vg("check", check, env), 0);
	const char *prune[] = { xt_bin("xorb-prune"), "t-vg", "--keep-last", "1", NULL };
	assert_int_equal(vg("prune", prune, env), 0);
	const char *usage[] = { xt_bin("xorb-backup"), "-s", a.url, "tenant", "t", NULL };
	assert_int_equal(vg("usage error", usage, env), 64);
	const char *down[] = { xt_bin("xorb-backup"), "-s", "nats://127.0.0.1:1", "tenant", "t-vg", NULL };
	assert_int_equal(vg("server down", down, env), 2);
	xt_server_stop(&a);
	xt_server_stop(&b);
}

static void test_state_flow(void **state)
{
	struct xt_server s;
	struct xt_server_opts o = { 1, NULL, NULL, 0 };
	char path[4400], envf[4400], statef[4400], *conf;
	const char *env[] = { store_env, keys_env, NULL };
	FILE *f;
	size_t n;

	const char *init[] = { xt_bin("xorb-state"), "init", "--keys", keys, NULL };
	assert_int_equal(vg("state init", init, env), 0);
	snprintf(path, sizeof(path), "%s/resolver.conf", keys);
	f = fopen(path, "r");
	assert_non_null(f);
	conf = calloc(1, 65536);
	n = fread(conf, 1, 65535, f);
	conf[n] = '\0';
	fclose(f);
	o.extra_conf = conf;
	assert_int_equal(xt_server_start(&s, &o), 0);
	free(conf);
	snprintf(envf, sizeof(envf), "%s/vg.tfvars.json", work);
	f = fopen(envf, "w");
	fprintf(f, "{\"environment\":\"vg\",\"nats_url\":\"%s\",\"tenants\":{\"t-vg\":{\"name\":\"t-vg\",\"max_streams\":10,"
		   "\"max_consumers\":10,\"max_bytes\":268435456,\"max_messages\":100000,\"retention_days\":3}}}", s.url);
	fclose(f);
	snprintf(statef, sizeof(statef), "%s/state.json", work);
	const char *plan[] = { xt_bin("xorb-state"), "plan", envf, NULL };
	assert_int_equal(vg("plan", plan, env), 0);
	const char *apply[] = { xt_bin("xorb-state"), "apply", envf, NULL };
	assert_int_equal(vg("apply", apply, env), 0);
	assert_int_equal(vg("apply again", apply, env), 0);
	const char *creds[] = { xt_bin("xorb-state"), "creds", "t-vg", "--user", "xorb-t-vg-backup", NULL };
	assert_int_equal(vg("creds", creds, env), 0);
	const char *exp[] = { xt_bin("xorb-state"), "-s", s.url, "export", "-o", statef, NULL };
	assert_int_equal(vg("export", exp, env), 0);
	const char *destroy[] = { xt_bin("xorb-state"), "-s", s.url, "destroy", "--tenant", "t-vg", "--yes", NULL };
	assert_int_equal(vg("destroy", destroy, env), 0);
	const char *import[] = { xt_bin("xorb-state"), "-s", s.url, "import", statef, "--with-streams", NULL };
	assert_int_equal(vg("import", import, env), 0);
	const char *lint[] = { xt_bin("xorb-subject-lint"), "xorb.t-vg.scan.nmap.created", "xorb.t.scan.x.started", NULL };
	assert_int_equal(vg("lint", lint, env), 1);
	xt_server_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_verify_restore_prune),
		cmocka_unit_test(test_state_flow),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * Golden CLI tests of xorb-subject-lint: the built command run on the
 * samples in tests/data/lint (a .py, a .go, a .c, a .yaml and a clean
 * directory) and on subjects given as arguments, with exact stdout lines and
 * exit codes; --json; usage errors (64); unreadable paths (2); and the walk
 * rules (.git, build dirs, symlinks, binary and oversized files skipped) in a
 * temporary tree. No server needed.
 */
#include "xt_harness.h"

#include <cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define LINT "xorb-subject-lint"

static char data_dir[4096]; /* $XORB_TEST_DATA/lint */

static int run(struct xt_result *r, const char *const *args)
{
	const char *argv[32];
	size_t i;

	argv[0] = xt_bin(LINT);
	for (i = 0; args[i]; i++) {
		assert_true(i + 2 < sizeof(argv) / sizeof(argv[0]));
		argv[i + 1] = args[i];
	}
	argv[i + 1] = NULL;
	assert_int_equal(xt_run(argv, NULL, 60, r), 0);
	return r->status;
}

static void expect_out(const struct xt_result *r, const char *want)
{
	if (strcmp(r->out, want))
		fail_msg("stdout:\n%s\nwanted:\n%s\nstderr:\n%s", r->out, want, r->err);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void make_dir(const char *dir, const char *name)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(mkdir(path, 0755), 0);
}

/* ---- the samples ---- */

static void test_samples(void **state)
{
	const char *args[] = { "--paths", data_dir, NULL };
	struct xt_result r;
	char want[8192];
	const char *d = data_dir;

	snprintf(want, sizeof(want),
		 "%s/app.py:5: xorb.t.scan.nmap.started: tenant name \"t\" must be 3 to 63 characters long; "
		 "event \"started\" is not one of created, updated, completed, failed, replay\n"
		 "%s/app.py:14: xorb.{tenant}.scans.nmap.created: domain \"scans\" is not one of evidence, scan, "
		 "compliance, control (checked as \"xorb.*.scans.nmap.created\")\n"
		 "%s/main.go:10: xorb.t-qa.control.policy.deleted: event \"deleted\" is not one of created, "
		 "updated, completed, failed, replay\n"
		 "%s/main.go:11: xorb.t-qa.scan.nmap_v2.created: service \"nmap_v2\" has '_' at position 5: "
		 "only letters, digits and hyphens are allowed\n"
		 "%s/publisher.c:4: xorb.t-qa.scan.-nmap.failed: service \"-nmap\" must not start or end with a hyphen\n"
		 "%s/publisher.c:6: xorb.t-qa.scan.nmap.created.: '>' as token 6 matches only subjects of more "
		 "than 5 tokens (checked as \"xorb.t-qa.scan.nmap.created.>\")\n"
		 "%s/streams.yaml:8: xorb.T.evidence.>: tenant name \"T\" must be 3 to 63 characters long\n"
		 "%s/streams.yaml:10: xorb.tenant-a.invalid-domain.service.created: domain \"invalid-domain\" "
		 "is not one of evidence, scan, compliance, control\n"
		 "xorb-subject-lint: 8 violations (5 files scanned, 0 skipped, 22 subjects checked)\n",
		 d, d, d, d, d, d, d, d);
	assert_int_equal(run(&r, args), 1);
	expect_out(&r, want);
	assert_string_equal(r.err, "");
	xt_result_release(&r);
}

static void test_clean_directory(void **state)
{
	char clean[4200];
	const char *args[] = { "--paths", clean, NULL };
	const char *quiet[] = { "-q", "--paths", clean, NULL };
	struct xt_result r;

	snprintf(clean, sizeof(clean), "%s/clean", data_dir);
	assert_int_equal(run(&r, args), 0);
	expect_out(&r, "xorb-subject-lint: no violations (1 file scanned, 0 skipped, 2 subjects checked)\n");
	assert_string_equal(r.err, "");
	xt_result_release(&r);
	assert_int_equal(run(&r, quiet), 0);
	expect_out(&r, "");
	xt_result_release(&r);
}

static void test_single_file(void **state)
{
	char file[4200], want[2048];
	const char *args[] = { "--paths", file, NULL };
	struct xt_result r;

	snprintf(file, sizeof(file), "%s/streams.yaml", data_dir);
	snprintf(want, sizeof(want),
		 "%s:8: xorb.T.evidence.>: tenant name \"T\" must be 3 to 63 characters long\n"
		 "%s:10: xorb.tenant-a.invalid-domain.service.created: domain \"invalid-domain\" "
		 "is not one of evidence, scan, compliance, control\n"
		 "xorb-subject-lint: 2 violations (1 file scanned, 0 skipped, 5 subjects checked)\n",
		 file, file);
	assert_int_equal(run(&r, args), 1);
	expect_out(&r, want);
	xt_result_release(&r);
}

/* ---- arguments ---- */

static void test_arguments_seed_examples(void **state)
{
	const char *seed[] = { "xorb.t-qa.scan.nmap.created", "xorb.tenant-1.evidence.discovery.completed",
			       "xorb.t.scan.nmap.started", NULL };
	const char *good[] = { "xorb.t-qa.scan.nmap.created", "xorb.tenant-1.evidence.discovery.completed",
			       NULL };
	struct xt_result r;

	assert_int_equal(run(&r, seed), 1);
	expect_out(&r, "xorb.t.scan.nmap.started: tenant name \"t\" must be 3 to 63 characters long; "
		       "event \"started\" is not one of created, updated, completed, failed, replay\n"
		       "xorb-subject-lint: 1 violation (0 files scanned, 0 skipped, 3 subjects checked)\n");
	xt_result_release(&r);
	assert_int_equal(run(&r, good), 0);
	expect_out(&r, "xorb-subject-lint: no violations (0 files scanned, 0 skipped, 2 subjects checked)\n");
	xt_result_release(&r);
}

static void test_arguments_wildcards(void **state)
{
	const char *strict[] = { "xorb.t-qa.>", NULL };
	const char *patterns[] = { "--wildcards", "xorb.t-qa.>", "xorb.*.scan.*.created", NULL };
	struct xt_result r;

	assert_int_equal(run(&r, strict), 1);
	expect_out(&r, "xorb.t-qa.>: has 3 tokens, schema v1 has 5: xorb.<tenant>.<domain>.<service>.<event>; "
		       "wildcard \">\" as the domain (token 3) is only allowed in patterns\n"
		       "xorb-subject-lint: 1 violation (0 files scanned, 0 skipped, 1 subject checked)\n");
	xt_result_release(&r);
	assert_int_equal(run(&r, patterns), 0);
	xt_result_release(&r);
}

static void test_json(void **state)
{
	const char *args[] = { "--json", "--paths", data_dir, "xorb.t.scan.nmap.started", NULL };
	const cJSON *v, *first, *last;
	struct xt_result r;
	cJSON *j;
	char file[4200];

	assert_int_equal(run(&r, args), 1);
	j = cJSON_Parse(r.out);
	if (!j)
		fail_msg("not JSON: %s", r.out);
	assert_string_equal(cJSON_GetObjectItem(j, "result")->valuestring, "violations");
	v = cJSON_GetObjectItem(j, "violations");
	assert_int_equal(cJSON_GetArraySize(v), 9);
	first = cJSON_GetArrayItem(v, 0); /* arguments come first */
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(first, "file")));
	assert_string_equal(cJSON_GetObjectItem(first, "subject")->valuestring, "xorb.t.scan.nmap.started");
	last = cJSON_GetArrayItem(v, 8);
	snprintf(file, sizeof(file), "%s/streams.yaml", data_dir);
	assert_string_equal(cJSON_GetObjectItem(last, "file")->valuestring, file);
	assert_int_equal(cJSON_GetObjectItem(last, "line")->valueint, 10);
	assert_string_equal(cJSON_GetObjectItem(last, "subject")->valuestring,
			    "xorb.tenant-a.invalid-domain.service.created");
	assert_string_equal(cJSON_GetObjectItem(last, "reason")->valuestring,
			    "domain \"invalid-domain\" is not one of evidence, scan, compliance, control");
	assert_int_equal(cJSON_GetObjectItem(j, "files_scanned")->valueint, 5);
	assert_int_equal(cJSON_GetObjectItem(j, "subjects_checked")->valueint, 23);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "errors")), 0);
	/* one document, nothing else on stdout */
	assert_int_equal(strchr(r.out, '\n') - r.out, (long)strlen(r.out) - 1);
	cJSON_Delete(j);
	xt_result_release(&r);
}

/* ---- usage and I/O errors ---- */

static void test_usage_errors(void **state)
{
	const char *none[] = { NULL };
	const char *unknown[] = { "--frobnicate", NULL };
	const char *path_arg[] = { "--paths", data_dir, data_dir, NULL };
	const char *missing_arg[] = { "--paths", NULL };
	const char *help[] = { "--help", NULL };
	struct xt_result r;
	char want[8192];

	assert_int_equal(run(&r, none), 64);
	assert_string_equal(r.err, "xorb-subject-lint: usage error: missing argument SUBJECT (or --paths PATH): nothing to check\n"
				   "Try 'xorb-subject-lint --help'.\n");
	assert_string_equal(r.out, "");
	xt_result_release(&r);
	assert_int_equal(run(&r, unknown), 64);
	xt_result_release(&r);
	assert_int_equal(run(&r, missing_arg), 64);
	xt_result_release(&r);
	/* "--paths a b": b is not taken for a subject */
	assert_int_equal(run(&r, path_arg), 64);
	snprintf(want, sizeof(want),
		 "xorb-subject-lint: usage error: \"%s\" is a path, not a subject: use --paths %s\n"
		 "Try 'xorb-subject-lint --help'.\n",
		 data_dir, data_dir);
	assert_string_equal(r.err, want);
	xt_result_release(&r);
	assert_int_equal(run(&r, help), 0);
	assert_non_null(strstr(r.out, "Usage: xorb-subject-lint"));
	xt_result_release(&r);
}

static void test_missing_path(void **state)
{
	char clean[4200];
	const char *args[] = { "--paths", "/nonexistent/xorb-lint", "--paths", clean, NULL };
	const char *with_violation[] = { "--paths", "/nonexistent/xorb-lint", "xorb.t.scan.nmap.started", NULL };
	struct xt_result r;

	snprintf(clean, sizeof(clean), "%s/clean", data_dir);
	assert_int_equal(run(&r, args), 2);
	assert_string_equal(r.err, "xorb-subject-lint: error: cannot read \"/nonexistent/xorb-lint\": "
				   "No such file or directory\n");
	expect_out(&r, "xorb-subject-lint: no violations, 1 file not read (1 file scanned, 0 skipped, "
		       "2 subjects checked)\n");
	xt_result_release(&r);
	/* an incomplete scan is a failure even with violations */
	assert_int_equal(run(&r, with_violation), 2);
	xt_result_release(&r);
}

/* ---- walking ---- */

static void test_walk_rules(void **state)
{
	static const char bad[] = "s = \"xorb.t.scan.nmap.started\"\n";
	char *dir = xt_tempdir("lint"), path[4200], want[8192], target[4200];
	const char *args[] = { "-v", "--paths", dir, NULL };
	const char *explicit_link[] = { "--paths", path, NULL };
	struct xt_result r;
	int fd;

	assert_non_null(dir);
	write_file(dir, "ok.py", "s = \"xorb.t-qa.scan.nmap.created\"\n");
	make_dir(dir, ".git");
	write_file(dir, ".git/hook.py", bad);
	make_dir(dir, "build");
	write_file(dir, "build/gen.c", bad);
	make_dir(dir, "build-asan");
	write_file(dir, "build-asan/gen.c", bad);
	make_dir(dir, "node_modules");
	write_file(dir, "node_modules/x.js", bad);
	make_dir(dir, "src");
	write_file(dir, "src/bad.go", bad);
	/* a hidden directory that is not on the list is scanned */
	make_dir(dir, ".github");
	write_file(dir, ".github/ci.yml", "env:\n  SUBJECT: xorb.t-qa.scan.ci.failed\n");
	/* a symlink met while walking: not followed */
	snprintf(target, sizeof(target), "%s/src/bad.go", dir);
	snprintf(path, sizeof(path), "%s/link.go", dir);
	assert_int_equal(symlink(target, path), 0);
	/* binary: a NUL early on */
	snprintf(path, sizeof(path), "%s/blob.bin", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\0\0'xorb.t.scan.nmap.started'\n", 29), 29);
	close(fd);
	/* over 8 MiB (sparse) */
	snprintf(path, sizeof(path), "%s/huge.py", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
	assert_int_equal(ftruncate(fd, (8 << 20) + 1), 0);
	close(fd);

	assert_int_equal(run(&r, args), 1);
	snprintf(want, sizeof(want),
		 "%s/src/bad.go:1: xorb.t.scan.nmap.started: tenant name \"t\" must be 3 to 63 characters long; "
		 "event \"started\" is not one of created, updated, completed, failed, replay\n"
		 "xorb-subject-lint: 1 violation (3 files scanned, 3 skipped, 3 subjects checked)\n",
		 dir);
	expect_out(&r, want);
	/* -v names what was skipped */
	assert_non_null(strstr(r.err, "/blob.bin\": binary"));
	assert_non_null(strstr(r.err, "/huge.py\": larger than 8 MiB"));
	assert_non_null(strstr(r.err, "/link.go\": symlink"));
	assert_non_null(strstr(r.err, "skipped directory"));
	assert_null(strstr(r.err, "error"));
	xt_result_release(&r);

	/* a symlink named on the command line is followed */
	snprintf(path, sizeof(path), "%s/link.go", dir);
	assert_int_equal(run(&r, explicit_link), 1);
	assert_non_null(strstr(r.out, "link.go:1: xorb.t.scan.nmap.started: "));
	xt_result_release(&r);

	/* an unreadable path is an I/O error, exit 2: covered above with a
	 * missing path (the suite runs as root, who can read any mode) */

	assert_int_equal(xt_rmtree(dir), 0);
	free(dir);
}

static int setup(void **state)
{
	const char *d = getenv("XORB_TEST_DATA");

	if (!d || !*d) {
		fprintf(stderr, "XORB_TEST_DATA is not set (run through ctest)\n");
		return -1;
	}
	snprintf(data_dir, sizeof(data_dir), "%s/lint", d);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_samples),
		cmocka_unit_test(test_clean_directory),
		cmocka_unit_test(test_single_file),
		cmocka_unit_test(test_arguments_seed_examples),
		cmocka_unit_test(test_arguments_wildcards),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_missing_path),
		cmocka_unit_test(test_walk_rules),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}

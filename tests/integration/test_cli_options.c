/*
 * Options that do not apply, and abbreviations, are usage errors (issue 14,
 * point 1, the part done so far), no NATS server needed: every case exits
 * 64 before it connects or opens a store.
 *
 * - xorb-backup takes each command option only for the subcommands that use
 *   it: `tenant --dry-run` ran a REAL backup before (exit 0), `check --to`
 *   and `list --all` were accepted and ignored.
 * - Long options are never abbreviated, in every command: getopt_long took
 *   `--serve` for `--server`.
 * - The value of an option is not read as an option ("--pre-hook --x").
 * - Issue 14 point 1, the rest: every (sub)command's --help and -h (exit 0,
 *   stdout) lists only its own options (`xorb-verify --help` has no --server,
 *   `xorb-backup list --help` no --to), has EXAMPLES and exit codes, and fits
 *   80 columns; -V is --version everywhere; the usage errors read the same
 *   in every program (unknown option, missing value, missing argument, too
 *   many arguments, unknown command), each followed by "Try 'PROG [SUB]
 *   --help'."; options before the subcommand's name still work.
 * - The configuration file (issue 14, point 3): --config / XORB_CONFIG, the
 *   XDG user file, [program] sections, flags > environment > file, and its
 *   errors (exit 64 naming file and line). The system file
 *   /etc/xorb/xorb.conf is read the same way (not written by a test).
 */
#include "xt_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

static char *work;
static char store[4200];

static int setup(void **state)
{
	(void)state;
	work = xt_tempdir("cli-options");
	if (!work)
		return -1;
	snprintf(store, sizeof(store), "%s/store", work);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (work && !getenv("XT_KEEP"))
		xt_rmtree(work);
	free(work);
	return 0;
}

/* argv exits 64 and says want on stderr; nothing is created in the store. */
static void assert_usage(const char *const *argv, const char *want)
{
	struct xt_result r;
	struct stat st;

	memset(&r, 0, sizeof(r));
	assert_int_equal(xt_run(argv, NULL, 60, &r), 0);
	if (r.status != 64 || !r.err || !strstr(r.err, want))
		fprintf(stderr, "--- %s %s: exit %d, want 64 and \"%s\"\n--- stderr:\n%s", argv[0], argv[1] ? argv[1] : "",
			r.status, want, r.err ? r.err : "");
	assert_int_equal(r.status, 64);
	assert_non_null(strstr(r.err, want));
	assert_non_null(strstr(r.err, "Try '"));
	xt_result_release(&r);
	assert_int_not_equal(stat(store, &st), 0);
}

static void test_options_that_do_not_apply(void **state)
{
	const char *bk = xt_bin("xorb-backup");
	const char *nowhere = "nats://127.0.0.1:1";

	(void)state;
	{
		const char *a[] = { bk, "-s", nowhere, "--store", store, "tenant", "t-qa", "--dry-run", NULL };
		assert_usage(a, "usage error: tenant: --dry-run does not apply (it is an option of copy)");
	}
	{
		const char *a[] = { bk, "-s", nowhere, "--store", store, "check", "--to", "/elsewhere", NULL };
		assert_usage(a, "usage error: check: --to does not apply (it is an option of copy)");
	}
	/* the options of encryption (issue 15) are checked like the others */
	{
		const char *a[] = { bk, "--store", store, "list", "--recipient", "age1x", NULL };
		assert_usage(a, "usage error: list: --recipient does not apply (it is an option of tenant, all)");
	}
	{
		const char *a[] = { bk, "-s", nowhere, "--store", store, "tenant", "t-qa", "--identity", "/k", NULL };
		assert_usage(a, "usage error: tenant: --identity does not apply (it is an option of show, diff)");
	}
	{
		const char *a[] = { bk, "--store", store, "list", "--all", NULL };
		assert_usage(a, "usage error: list: --all does not apply (it is an option of copy)");
	}
	{
		const char *a[] = { bk, "--store", store, "list", "--stream", "xorb-t-qa-scan-live", NULL };
		assert_usage(a, "usage error: list: --stream does not apply (it is an option of tenant)");
	}
	{
		const char *a[] = { bk, "--store", store, "copy", "t-qa", "--to", "/elsewhere", "--zstd-level", "3", NULL };
		assert_usage(a, "usage error: copy: --zstd-level does not apply (it is an option of tenant, all)");
	}
	{
		const char *a[] = { bk, "-s", nowhere, "--store", store, "all", "--tenants", "t-qa", "--max-age", "1h", NULL };
		assert_usage(a, "usage error: all: --max-age does not apply (it is an option of check)");
	}
	{
		/* "--x" is --pre-hook's value, not an unknown option */
		const char *a[] = { bk, "--store", store, "--pre-hook", "--x", "list", NULL };
		assert_usage(a, "usage error: list: --pre-hook does not apply (it is an option of tenant, all)");
	}
}

static void test_no_abbreviations(void **state)
{
	char verify[4200], restore[4200], prune[4200], st[4200];
	const char *bk = xt_bin("xorb-backup");

	(void)state;
	snprintf(verify, sizeof(verify), "%s", xt_bin("xorb-verify"));
	snprintf(restore, sizeof(restore), "%s", xt_bin("xorb-restore"));
	snprintf(prune, sizeof(prune), "%s", xt_bin("xorb-prune"));
	snprintf(st, sizeof(st), "%s", xt_bin("xorb-state"));
	{
		const char *a[] = { bk, "--serve", "nats://127.0.0.1:1", "--store", store, "list", NULL };
		assert_usage(a, "usage error: unknown option \"--serve\" (did you mean \"--server\"? long options are never abbreviated)");
	}
	{
		const char *a[] = { verify, "--stor", store, "t-qa", NULL };
		assert_usage(a, "usage error: unknown option \"--stor\" (did you mean \"--store\"? long options are never abbreviated)");
	}
	{
		const char *a[] = { restore, "--store", store, "t-qa", "--dry", NULL };
		assert_usage(a, "usage error: unknown option \"--dry\" (did you mean \"--dry-run\"? long options are never abbreviated)");
	}
	{
		const char *a[] = { prune, "--store", store, "t-qa", "--keep-l=1", NULL };
		assert_usage(a, "usage error: unknown option \"--keep-l\" (did you mean \"--keep-last\"? long options are never abbreviated)");
	}
	{
		const char *a[] = { st, "plan", "x.json", "--key", "/k", NULL };
		assert_usage(a, "usage error: plan: unknown option \"--key\" (did you mean \"--keys\"? long options are never abbreviated)");
	}
	{
		const char *a[] = { bk, "--store", store, "list", "--no-such-option", NULL };
		assert_usage(a, "usage error: list: unknown option \"--no-such-option\"");
	}
}

/* Every (sub)command's help: "-h" and "--help" alike. */
static const char *const helped[][2] = {
	{ "xorb-backup", NULL },	 { "xorb-backup", "tenant" }, { "xorb-backup", "all" },
	{ "xorb-backup", "list" },	 { "xorb-backup", "check" },  { "xorb-backup", "copy" },
	{ "xorb-backup", "show" },	 { "xorb-backup", "stats" },  { "xorb-backup", "diff" },
	{ "xorb-restore", NULL },	 { "xorb-verify", NULL },     { "xorb-prune", NULL },
	{ "xorb-state", NULL },		 { "xorb-state", "init" },    { "xorb-state", "plan" },
	{ "xorb-state", "apply" },	 { "xorb-state", "creds" },   { "xorb-state", "age-key" },
	{ "xorb-state", "export" },	 { "xorb-state", "import" },  { "xorb-state", "destroy" },
	{ "xorb-subject-lint", NULL },
};

/* Helps already run in this process: the same command is not run again
 * (under memcheck a run costs about a second). */
static struct {
	char key[96];
	char *out;
} help_cache[64];
static size_t n_help_cache;

/* The help of prog [sub] (flag: "-h" or "--help"): exit 0, on stdout only. */
static char *help_of(const char *prog, const char *sub, const char *flag)
{
	const char *a[] = { xt_bin(prog), sub ? sub : flag, sub ? flag : NULL, NULL };
	const char *env[] = { "XORB_CONFIG=/dev/null", NULL };
	struct xt_result r;
	char *out, key[96];
	size_t i;

	snprintf(key, sizeof(key), "%s %s %s", prog, sub ? sub : "", flag);
	for (i = 0; i < n_help_cache; i++)
		if (!strcmp(help_cache[i].key, key))
			return strdup(help_cache[i].out);
	memset(&r, 0, sizeof(r));
	assert_int_equal(xt_run(a, env, 60, &r), 0);
	if (r.status != 0 || !r.out || !*r.out || (r.err && *r.err))
		fprintf(stderr, "--- %s %s %s: exit %d\n--- stderr:\n%s", prog, sub ? sub : "", flag, r.status,
			r.err ? r.err : "");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err ? r.err : "", "");
	out = strdup(r.out ? r.out : "");
	xt_result_release(&r);
	if (n_help_cache < sizeof(help_cache) / sizeof(help_cache[0])) {
		snprintf(help_cache[n_help_cache].key, sizeof(help_cache[0].key), "%s", key);
		help_cache[n_help_cache++].out = strdup(out); /* kept until exit */
	}
	return out;
}

static void test_help_of_every_command(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(helped) / sizeof(helped[0]); i++) {
		const char *prog = helped[i][0], *sub = helped[i][1];
		/* -h is --help: the same code, so under memcheck (a second a run)
		 * its text is compared in the plain run only */
		char *out = help_of(prog, sub, "--help"), *h = xt_memcheck() ? NULL : help_of(prog, sub, "-h"), usage[128];
		const char *line;

		if (h)
			assert_string_equal(out, h);
		snprintf(usage, sizeof(usage), "Usage: %s%s%s", prog, sub ? " " : "", sub ? sub : "");
		if (strncmp(out, usage, strlen(usage)))
			fprintf(stderr, "--- %s %s --help does not start with \"%s\":\n%s", prog, sub ? sub : "", usage, out);
		assert_true(!strncmp(out, usage, strlen(usage)));
		if (!strstr(out, "\nExamples:\n") || !strstr(out, "\nExit codes"))
			fprintf(stderr, "--- %s %s --help: no Examples or Exit codes:\n%s", prog, sub ? sub : "", out);
		assert_non_null(strstr(out, "\nExamples:\n"));
		assert_non_null(strstr(out, "\nExit codes"));
		/* every line fits 80 columns */
		for (line = out; *line;) {
			size_t n = strcspn(line, "\n");

			if (n > 80)
				fprintf(stderr, "--- %s %s --help: a line of %zu columns:\n%.*s\n", prog, sub ? sub : "", n,
					(int)n, line);
			assert_true(n <= 80);
			line += n + (line[n] == '\n');
		}
		free(out);
		free(h);
	}
}

/* The options a (sub)command's help shows are its own. */
static void assert_help(const char *prog, const char *sub, const char *const *has, const char *const *lacks)
{
	char *out = help_of(prog, sub, "--help");

	for (; has && *has; has++) {
		if (!strstr(out, *has))
			fprintf(stderr, "--- %s %s --help lacks \"%s\":\n%s", prog, sub ? sub : "", *has, out);
		assert_non_null(strstr(out, *has));
	}
	for (; lacks && *lacks; lacks++) {
		if (strstr(out, *lacks))
			fprintf(stderr, "--- %s %s --help shows \"%s\":\n%s", prog, sub ? sub : "", *lacks, out);
		assert_null(strstr(out, *lacks));
	}
	free(out);
}

static void test_help_lists_own_options(void **state)
{
	(void)state;
	{
		const char *has[] = { "--store URL", "--s3-endpoint", "--identity", "--json", "-V, --version", NULL };
		const char *lacks[] = { "--server", "--creds", "--context", "--timeout", "--replace", NULL };
		assert_help("xorb-verify", NULL, has, lacks);
	}
	{
		const char *has[] = { "--keep-daily", "--store URL", "--dry-run", NULL };
		const char *lacks[] = { "--server", "--creds", "--tlsca", NULL };
		assert_help("xorb-prune", NULL, has, lacks);
	}
	{
		const char *has[] = { "--server", "--store URL", "--s3-endpoint", "--replace", "--identity", NULL };
		const char *lacks[] = { "--to ", "--max-age", "--keys", NULL };
		assert_help("xorb-restore", NULL, has, lacks);
	}
	{
		const char *has[] = { "--store URL", "--s3-endpoint", "--json", NULL };
		const char *lacks[] = { "--to ", "--dry-run", "--server", "--stream", "--max-age", "--recipient",
					"--identity", "--parallel", NULL };
		assert_help("xorb-backup", "list", has, lacks);
	}
	{
		const char *has[] = { "--stream NAME", "--server", "--store URL", "--recipient", "--pre-hook", NULL };
		const char *lacks[] = { "--to ", "--dry-run", "--max-age", "--tenants", "--identity", NULL };
		assert_help("xorb-backup", "tenant", has, lacks);
	}
	{
		const char *has[] = { "--tenants", "--parallel", "--creds-dir", "--no-consumers", NULL };
		const char *lacks[] = { "--stream", "--to ", "--max-age", NULL };
		assert_help("xorb-backup", "all", has, lacks);
	}
	{
		const char *has[] = { "--max-age", "--warn-age", "--server", NULL };
		const char *lacks[] = { "--to ", "--stream", "--recipient", NULL };
		assert_help("xorb-backup", "check", has, lacks);
	}
	{
		const char *has[] = { "--to STORE", "--all", "--dry-run", "--s3-endpoint", NULL };
		const char *lacks[] = { "--server", "--stream", "--max-age", NULL };
		assert_help("xorb-backup", "copy", has, lacks);
	}
	{
		const char *has[] = { "--identity", "--store URL", NULL };
		const char *lacks[] = { "--server", "--to ", "--stream", NULL };
		assert_help("xorb-backup", "show", has, lacks);
		assert_help("xorb-backup", "diff", has, lacks);
	}
	{
		const char *lacks[] = { "--server", "--identity", "--to ", NULL };
		assert_help("xorb-backup", "stats", NULL, lacks);
	}
	{
		/* the overview: every subcommand, one line each */
		const char *has[] = { "\n  tenant ", "\n  all ", "\n  list ", "\n  check ", "\n  copy ",
				      "\n  show ", "\n  stats ", "\n  diff ", NULL };
		const char *lacks[] = { "--s3-endpoint", "--to ", NULL };
		assert_help("xorb-backup", NULL, has, lacks);
	}
	{
		const char *has[] = { "--keys DIR", "--server", "--json", "--replicas", NULL };
		const char *lacks[] = { "--s3-endpoint", "--store", "--password", "--yes", "--tenant T", NULL };
		assert_help("xorb-state", "plan", has, lacks);
	}
	{
		const char *has[] = { "--keys DIR", "--operator", NULL };
		const char *lacks[] = { "--server", "--s3-endpoint", "--json", NULL };
		assert_help("xorb-state", "init", has, lacks);
	}
	{
		const char *has[] = { "--tenant T", "--yes", "--keep-streams", NULL };
		const char *lacks[] = { "--operator", "--with-streams", "--store", NULL };
		assert_help("xorb-state", "destroy", has, lacks);
	}
	{
		const char *has[] = { "--paths", "--wildcards", "-V, --version", NULL };
		const char *lacks[] = { "--server", "--store", NULL };
		assert_help("xorb-subject-lint", NULL, has, lacks);
	}
}

static void test_short_version(void **state)
{
	static const char *const progs[] = { "xorb-backup", "xorb-restore", "xorb-verify",
					     "xorb-prune", "xorb-state", "xorb-subject-lint" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		const char *a[] = { xt_bin(progs[i]), "-V", NULL };
		const char *b[] = { xt_bin(progs[i]), "--version", NULL };
		struct xt_result r, q;
		char want[128];

		memset(&r, 0, sizeof(r));
		memset(&q, 0, sizeof(q));
		assert_int_equal(xt_run(a, NULL, 60, &r), 0);
		assert_int_equal(xt_run(b, NULL, 60, &q), 0);
		snprintf(want, sizeof(want), "%s (xorb-dr) ", progs[i]);
		if (r.status != 0 || strncmp(r.out, want, strlen(want)))
			fprintf(stderr, "--- %s -V: exit %d\n%s%s", progs[i], r.status, r.out, r.err);
		assert_int_equal(r.status, 0);
		assert_true(!strncmp(r.out, want, strlen(want)));
		assert_string_equal(r.out, q.out);
		xt_result_release(&r);
		xt_result_release(&q);
	}
	/* after a subcommand too */
	{
		const char *a[] = { xt_bin("xorb-backup"), "list", "-V", NULL };
		struct xt_result r;

		memset(&r, 0, sizeof(r));
		assert_int_equal(xt_run(a, NULL, 60, &r), 0);
		assert_int_equal(r.status, 0);
		assert_true(!strncmp(r.out, "xorb-backup (xorb-dr) ", 22));
		xt_result_release(&r);
	}
}

/* argv exits 64 and prints exactly want on stderr, nothing on stdout. */
static void assert_usage_exact(const char *const *argv, const char *want)
{
	const char *env[] = { "XORB_CONFIG=/dev/null", NULL };
	struct xt_result r;

	memset(&r, 0, sizeof(r));
	assert_int_equal(xt_run(argv, env, 60, &r), 0);
	if (r.status != 64 || strcmp(r.err, want))
		fprintf(stderr, "--- %s %s: exit %d, want 64 and:\n%s--- stderr:\n%s", argv[0], argv[1] ? argv[1] : "",
			r.status, want, r.err ? r.err : "");
	assert_int_equal(r.status, 64);
	assert_string_equal(r.err, want);
	assert_string_equal(r.out, "");
	xt_result_release(&r);
}

/* The --s3-* options are the S3 plugin's (storage ABI 1.2): every command
 * with a store takes them, before or after xorb-backup's subcommand (the
 * dispatcher must know that --s3-endpoint takes a value), and they reach
 * the plugin: it names the endpoint it could not reach (exit 2, not a
 * usage error). Nothing listens on 127.0.0.1:1. */
static void test_plugin_options(void **state)
{
	const char *env[] = { "XORB_CONFIG=/dev/null", "AWS_ACCESS_KEY_ID=xorb-test", "AWS_SECRET_ACCESS_KEY=xorb-test",
			      NULL };
	const char *bk = xt_bin("xorb-backup");
	char vf[4200], pr[4200];
	const char *const *cases[4];
	size_t i;

	(void)state;
	snprintf(vf, sizeof(vf), "%s", xt_bin("xorb-verify"));
	snprintf(pr, sizeof(pr), "%s", xt_bin("xorb-prune"));
	{
		const char *a0[] = { bk, "--s3-endpoint", "http://127.0.0.1:1", "--s3-retries", "1", "--s3-path-style",
				     "--store", "s3://xorb-test/x", "list", NULL };
		const char *a1[] = { bk, "list", "--store", "s3://xorb-test/x", "--s3-endpoint", "http://127.0.0.1:1",
				     "--s3-retries=1", NULL };
		const char *a2[] = { vf, "--store", "s3://xorb-test/x", "--s3-endpoint", "http://127.0.0.1:1",
				     "--s3-retries", "1", "t-qa", NULL };
		const char *a3[] = { pr, "--store", "s3://xorb-test/x", "--s3-endpoint", "http://127.0.0.1:1",
				     "--s3-retries", "1", "--keep-last", "1", "t-qa", NULL };

		cases[0] = a0;
		cases[1] = a1;
		cases[2] = a2;
		cases[3] = a3;
		for (i = 0; i < 4; i++) {
			struct xt_result r;

			memset(&r, 0, sizeof(r));
			assert_int_equal(xt_run(cases[i], env, 60, &r), 0);
			if (r.status != 2 || !strstr(r.err, "http://127.0.0.1:1"))
				fprintf(stderr, "--- case %zu: exit %d, want 2 naming the endpoint\n--- stderr:\n%s", i,
					r.status, r.err ? r.err : "");
			assert_int_equal(r.status, 2);
			assert_non_null(strstr(r.err, "cannot reach the S3 endpoint http://127.0.0.1:1"));
			assert_null(strstr(r.err, "usage error"));
			xt_result_release(&r);
		}
	}
	/* their values are checked by the commands' parser, by the plugin's range */
	{
		const char *a[] = { bk, "list", "--store", "s3://xorb-test/x", "--s3-part-size", "1K", NULL };
		assert_usage_exact(a, "xorb-backup: usage error: --s3-part-size: \"1K\" is not a number from 5242880 to "
				      "5368709120\nTry 'xorb-backup list --help'.\n");
	}
}

static void test_uniform_usage_errors(void **state)
{
	const char *bk = xt_bin("xorb-backup"), *rs = xt_bin("xorb-restore"), *vf = xt_bin("xorb-verify");
	const char *st = xt_bin("xorb-state"), *pr = xt_bin("xorb-prune"), *sl = xt_bin("xorb-subject-lint");

	(void)state;
	/* missing positional argument */
	{
		const char *a[] = { rs, NULL };
		assert_usage_exact(a, "xorb-restore: usage error: missing argument TENANT\nTry 'xorb-restore --help'.\n");
	}
	{
		const char *a[] = { vf, "-q", NULL };
		assert_usage_exact(a, "xorb-verify: usage error: missing argument TENANT\nTry 'xorb-verify --help'.\n");
	}
	{
		const char *a[] = { bk, "tenant", NULL };
		assert_usage_exact(a, "xorb-backup: usage error: tenant: missing argument TENANT\n"
				      "Try 'xorb-backup tenant --help'.\n");
	}
	{
		const char *a[] = { st, "age-key", NULL };
		assert_usage_exact(a, "xorb-state: usage error: age-key: missing argument TENANT\n"
				      "Try 'xorb-state age-key --help'.\n");
	}
	/* too many arguments */
	{
		const char *a[] = { vf, "t-qa", "latest", "extra", NULL };
		assert_usage_exact(a, "xorb-verify: usage error: unexpected argument \"extra\" (too many arguments)\n"
				      "Try 'xorb-verify --help'.\n");
	}
	{
		const char *a[] = { bk, "list", "t-qa", "extra", NULL };
		assert_usage_exact(a, "xorb-backup: usage error: list: unexpected argument \"extra\" (too many arguments)\n"
				      "Try 'xorb-backup list --help'.\n");
	}
	{
		const char *a[] = { st, "init", "extra", NULL };
		assert_usage_exact(a, "xorb-state: usage error: init: unexpected argument \"extra\" (too many arguments)\n"
				      "Try 'xorb-state init --help'.\n");
	}
	/* unknown short option, missing option value: our words, not getopt's */
	{
		const char *a[] = { rs, "-x", "t-qa", NULL };
		assert_usage_exact(a, "xorb-restore: usage error: unknown option \"-x\"\nTry 'xorb-restore --help'.\n");
	}
	{
		const char *a[] = { sl, "-qx", NULL };
		assert_usage_exact(a, "xorb-subject-lint: usage error: unknown option \"-x\"\n"
				      "Try 'xorb-subject-lint --help'.\n");
	}
	{
		const char *a[] = { rs, "t-qa", "--stream", NULL };
		assert_usage_exact(a, "xorb-restore: usage error: missing value for option \"--stream\"\n"
				      "Try 'xorb-restore --help'.\n");
	}
	{
		const char *a[] = { pr, "--all", "--keep-last", NULL };
		assert_usage_exact(a, "xorb-prune: usage error: missing value for option \"--keep-last\"\n"
				      "Try 'xorb-prune --help'.\n");
	}
	{
		const char *a[] = { bk, "check", "-s", NULL };
		assert_usage_exact(a, "xorb-backup: usage error: check: missing value for option \"-s\"\n"
				      "Try 'xorb-backup check --help'.\n");
	}
	/* unknown subcommand */
	{
		const char *a[] = { bk, "-q", "frob", NULL };
		assert_usage_exact(a, "xorb-backup: usage error: unknown command \"frob\" (commands: tenant, all, "
				      "list, check, copy, show, stats or diff)\nTry 'xorb-backup --help'.\n");
	}
	{
		const char *a[] = { st, "frob", NULL };
		assert_usage_exact(a, "xorb-state: usage error: unknown command \"frob\" (commands: init, plan, apply, "
				      "creds, age-key, export, import or destroy)\nTry 'xorb-state --help'.\n");
	}
	/* an option of another subcommand, or one that never applies */
	{
		const char *a[] = { bk, "list", "--to", "/x", NULL };
		assert_usage_exact(a, "xorb-backup: usage error: list: --to does not apply (it is an option of copy)\n"
				      "Try 'xorb-backup list --help'.\n");
	}
	{
		const char *a[] = { bk, "-s", "nats://127.0.0.1:1", "list", NULL };
		assert_usage_exact(a, "xorb-backup: usage error: list: --server does not apply (list reads the store "
				      "only and never connects to NATS)\nTry 'xorb-backup list --help'.\n");
	}
	{
		const char *a[] = { st, "init", "--yes", NULL };
		assert_usage_exact(a, "xorb-state: usage error: init: --yes does not apply (it is an option of destroy)\n"
				      "Try 'xorb-state init --help'.\n");
	}
	{
		const char *a[] = { vf, "--server", "nats://127.0.0.1:1", "t-qa", NULL };
		assert_usage(a, "xorb-verify: usage error: unknown option \"--server\"");
	}
	{
		const char *a[] = { st, "plan", "x.json", "--s3-endpoint", "http://127.0.0.1:1", NULL };
		assert_usage(a, "xorb-state: usage error: plan: unknown option \"--s3-endpoint\"");
	}
}

/* `xorb-backup --store X list`: options before the subcommand's name, the
 * value of an option never taken for the subcommand. */
static void test_options_before_subcommand(void **state)
{
	const char *bk = xt_bin("xorb-backup");
	char empty[4300];
	struct xt_result r;

	(void)state;
	snprintf(empty, sizeof(empty), "%s/empty-store", work);
	assert_int_equal(mkdir(empty, 0700), 0);
	{
		const char *a[] = { bk, "--store", empty, "--json", "list", NULL };

		memset(&r, 0, sizeof(r));
		assert_int_equal(xt_run(a, NULL, 60, &r), 0);
		if (r.status)
			fprintf(stderr, "--- exit %d:\n%s", r.status, r.err);
		assert_int_equal(r.status, 0);
		assert_string_equal(r.out, "[]\n");
		xt_result_release(&r);
	}
	{
		const char *a[] = { bk, "-q", "--store", empty, "stats", "--json", NULL };

		memset(&r, 0, sizeof(r));
		assert_int_equal(xt_run(a, NULL, 60, &r), 0);
		assert_true(r.status == 0 || r.status == 1);
		xt_result_release(&r);
	}
	/* "list" is --stream's value: the subcommand is tenant */
	{
		const char *a[] = { bk, "--stream", "list", "tenant", NULL };
		assert_usage(a, "xorb-backup: usage error: tenant: missing argument TENANT");
	}
	/* before the name or after it, an option of another subcommand is refused */
	{
		const char *a[] = { bk, "--to", empty, "list", NULL };
		assert_usage(a, "list: --to does not apply (it is an option of copy)");
	}
}

/* Runs argv with env; returns its exit status, stderr in *err (caller frees). */
static int run_env(const char *const *argv, const char *const *env, char **err)
{
	struct xt_result r;
	int st;

	memset(&r, 0, sizeof(r));
	assert_int_equal(xt_run(argv, env, 60, &r), 0);
	st = r.status;
	*err = strdup(r.err ? r.err : "");
	xt_result_release(&r);
	return st;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* `xorb-backup list` fails on a store that does not exist and names it:
 * which store it names tells which setting won. */
static void assert_store_from(const char *const *env, const char *flag_store, const char *want)
{
	const char *bk = xt_bin("xorb-backup");
	const char *with_flag[] = { bk, "--store", flag_store, "list", NULL };
	const char *without[] = { bk, "list", NULL };
	char *err = NULL;
	int st = run_env(flag_store ? with_flag : without, env, &err);

	if (st != 2 || !strstr(err, want))
		fprintf(stderr, "--- want exit 2 naming %s, got %d:\n%s", want, st, err);
	assert_int_equal(st, 2);
	assert_non_null(strstr(err, want));
	free(err);
}

static void test_config_file(void **state)
{
	char conf[4400], xdg[4400], xdgconf[4400], cfgenv[4500], xdgenv[4500], from_file[4400], from_env[4400],
		from_flag[4400], from_xdg[4400], from_section[4400], text[20000], storeenv[4500];
	char *err = NULL;

	(void)state;
	snprintf(conf, sizeof(conf), "%s/xorb.conf", work);
	snprintf(from_file, sizeof(from_file), "%s/from-file", work);
	snprintf(from_env, sizeof(from_env), "%s/from-env", work);
	snprintf(from_flag, sizeof(from_flag), "%s/from-flag", work);
	snprintf(from_xdg, sizeof(from_xdg), "%s/from-xdg", work);
	snprintf(from_section, sizeof(from_section), "%s/from-section", work);
	snprintf(cfgenv, sizeof(cfgenv), "XORB_CONFIG=%s", conf);
	snprintf(storeenv, sizeof(storeenv), "XORB_STORE=%s", from_env);

	/* the file's store; the environment's over it; the flag's over both */
	snprintf(text, sizeof(text), "# a comment\n\nstore = %s\n[xorb-verify]\nstore = /elsewhere\n", from_file);
	write_file(conf, text, 0644);
	{
		const char *env[] = { cfgenv, NULL };
		assert_store_from(env, NULL, from_file);
		assert_store_from(env, from_flag, from_flag);
	}
	{
		const char *env[] = { cfgenv, storeenv, NULL };
		assert_store_from(env, NULL, from_env);
	}
	/* a [xorb-backup] section wins over the keys for all programs */
	snprintf(text, sizeof(text), "store = %s\n[xorb-backup]\nstore = \"%s\"\n", from_file, from_section);
	write_file(conf, text, 0644);
	{
		const char *env[] = { cfgenv, NULL };
		assert_store_from(env, NULL, from_section);
	}

	/* no --config nor XORB_CONFIG: $XDG_CONFIG_HOME/xorb/xorb.conf */
	snprintf(xdg, sizeof(xdg), "%s/xdg", work);
	snprintf(xdgconf, sizeof(xdgconf), "%s/xorb", xdg);
	assert_int_equal(mkdir(xdg, 0700), 0);
	assert_int_equal(mkdir(xdgconf, 0700), 0);
	snprintf(xdgconf, sizeof(xdgconf), "%s/xorb/xorb.conf", xdg);
	snprintf(text, sizeof(text), "store = %s\n", from_xdg);
	write_file(xdgconf, text, 0600);
	snprintf(xdgenv, sizeof(xdgenv), "XDG_CONFIG_HOME=%s", xdg);
	{
		const char *env[] = { "XORB_CONFIG=", xdgenv, NULL };
		assert_store_from(env, NULL, from_xdg);
	}
	/* --config FILE alone: the XDG file is not read then */
	{
		const char *bk = xt_bin("xorb-backup");
		const char *a[] = { bk, "--config", conf, "list", NULL };
		const char *env[] = { "XORB_CONFIG=", xdgenv, NULL };

		assert_int_equal(run_env(a, env, &err), 2);
		assert_non_null(strstr(err, from_section));
		free(err);
	}

	/* errors: exit 64 naming the file and the line */
	{
		static const struct {
			const char *text, *prog, *want;
			mode_t mode;
		} bad[] = {
			{ "store = /x\nbogus = 1\n", "xorb-backup", "line 2: unknown key \"bogus\"", 0600 },
			{ "server\n", "xorb-backup", "line 1: expected \"key = value\"", 0600 },
			{ "[xorb-nothing]\n", "xorb-backup", "line 1: [xorb-nothing] is not one of", 0600 },
			{ "password = s3cret\n", "xorb-backup", "a password in a file other users can read (mode 644)", 0644 },
			{ "timeout = soon\n", "xorb-backup", "(from ", 0600 },
			{ "s3-path-style = maybe\n", "xorb-backup", "line 1: s3-path-style is yes or no", 0600 },
			{ "[xorb-state]\ncontext = prod\n", "xorb-state", "line 2: xorb-state does not take context from a configuration file", 0600 },
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			const char *a[] = { xt_bin(bad[i].prog), "--help", NULL };
			const char *env[] = { cfgenv, NULL };
			int st;

			write_file(conf, bad[i].text, bad[i].mode);
			st = run_env(a, env, &err);
			if (st != 64 || !strstr(err, bad[i].want) || !strstr(err, conf))
				fprintf(stderr, "--- case %zu: want 64, \"%s\" and the path; got %d:\n%s", i, bad[i].want, st, err);
			assert_int_equal(st, 64);
			assert_non_null(strstr(err, bad[i].want));
			assert_non_null(strstr(err, conf));
			/* a secret is never echoed */
			assert_null(strstr(err, "s3cret"));
			free(err);
		}
	}
	/* a password in a private file, and keys for other programs, are fine */
	write_file(conf, "password = s3cret\ns3-path-style = yes\n[xorb-state]\nserver = nats://127.0.0.1:1\n", 0600);
	{
		const char *a[] = { xt_bin("xorb-verify"), "--help", NULL };
		const char *env[] = { cfgenv, NULL };

		assert_int_equal(run_env(a, env, &err), 0);
		free(err);
	}
	/* an explicit file that does not exist is an error */
	{
		const char *a[] = { xt_bin("xorb-prune"), "--config", "/nonexistent/xorb.conf", "--help", NULL };

		assert_int_equal(run_env(a, NULL, &err), 64);
		assert_non_null(strstr(err, "/nonexistent/xorb.conf: No such file or directory"));
		free(err);
	}
}

/* xorb-state age-key (issue 15): the tenant's identity made once (0600),
 * its public key printed, the age tool reads the file to the same key; a
 * second run prints the same key and writes nothing. */
static void test_state_age_key(void **state)
{
	char keys[4400], path[4500], cmd[4700], pub[128] = "", *first = NULL;
	const char *env[] = { NULL };
	struct stat st;
	int i;
	FILE *f;

	(void)state;
	snprintf(keys, sizeof(keys), "%s/keys", work);
	{
		const char *a[] = { xt_bin("xorb-state"), "--keys", keys, "-q", "init", NULL };
		char *err = NULL;

		assert_int_equal(run_env(a, env, &err), 0);
		free(err);
	}
	for (i = 0; i < 2; i++) {
		const char *a[] = { xt_bin("xorb-state"), "--keys", keys, "age-key", "t-qa", NULL };
		struct xt_result r;

		memset(&r, 0, sizeof(r));
		assert_int_equal(xt_run(a, env, 60, &r), 0);
		assert_int_equal(r.status, 0);
		assert_true(!strncmp(r.out, "age1", 4));
		assert_null(strstr(r.out, "AGE-SECRET-KEY"));
		assert_null(strstr(r.err, "AGE-SECRET-KEY"));
		if (!i)
			first = strdup(r.out);
		else
			assert_string_equal(first, r.out);
		xt_result_release(&r);
	}
	snprintf(path, sizeof(path), "%s/age/xorb-t-qa.key", keys);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(cmd, sizeof(cmd), "age-keygen -y '%s'", path);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_non_null(fgets(pub, sizeof(pub), f));
	pclose(f);
	assert_string_equal(pub, first);
	free(first);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_that_do_not_apply),
		cmocka_unit_test(test_no_abbreviations),
		cmocka_unit_test(test_config_file),
		cmocka_unit_test(test_state_age_key),
		cmocka_unit_test(test_help_of_every_command),
		cmocka_unit_test(test_help_lists_own_options),
		cmocka_unit_test(test_short_version),
		cmocka_unit_test(test_uniform_usage_errors),
		cmocka_unit_test(test_plugin_options),
		cmocka_unit_test(test_options_before_subcommand),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

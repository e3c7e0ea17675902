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
		assert_usage(a, "usage error: unknown option \"--serve\" (long options are never abbreviated)");
	}
	{
		const char *a[] = { verify, "--stor", store, "t-qa", NULL };
		assert_usage(a, "usage error: unknown option \"--stor\" (long options are never abbreviated)");
	}
	{
		const char *a[] = { restore, "--store", store, "t-qa", "--dry", NULL };
		assert_usage(a, "usage error: unknown option \"--dry\" (long options are never abbreviated)");
	}
	{
		const char *a[] = { prune, "--store", store, "t-qa", "--keep-l=1", NULL };
		assert_usage(a, "usage error: unknown option \"--keep-l\" (long options are never abbreviated)");
	}
	{
		const char *a[] = { st, "plan", "x.json", "--key", "/k", NULL };
		assert_usage(a, "usage error: unknown option \"--key\" (long options are never abbreviated)");
	}
	{
		const char *a[] = { bk, "--store", store, "list", "--no-such-option", NULL };
		assert_usage(a, "usage error: unknown option \"--no-such-option\"");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_that_do_not_apply),
		cmocka_unit_test(test_no_abbreviations),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

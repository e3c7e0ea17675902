/*
 * Unit tests of nats-server versions (xorb_version.h): parsing (what the
 * servers really report, and what is refused), semantic-version order, the
 * snapshot format per version, and the restore check: a backup made on
 * nats-server 2.15+ (v2 NATSARC1 snapshots) into an older server is refused
 * with a message naming both versions; everything else passes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xorb_error.h"
#include "xorb_version.h"

static void test_parse_real_versions(void **state)
{
	static const struct {
		const char *s;
		unsigned major, minor, patch;
		const char *pre;
	} ok[] = {
		{ "2.9.10", 2, 9, 10, "" },	      /* Debian 12 */
		{ "2.10.27", 2, 10, 27, "" },	      /* Debian 13 */
		{ "2.15.1", 2, 15, 1, "" },	      /* Debian testing */
		{ "2.15.0-dev", 2, 15, 0, "dev" },    /* main */
		{ "2.11.0-RC.1", 2, 11, 0, "RC.1" },
		{ "v2.12.5", 2, 12, 5, "" },
		{ "2.14", 2, 14, 0, "" },
		{ "2.10.27+debian", 2, 10, 27, "" },
		{ "2.12.0-beta.2+build.7", 2, 12, 0, "beta.2" },
		{ "0.0.0", 0, 0, 0, "" },
		{ "999999999.0.1", 999999999, 0, 1, "" },
	};
	struct xorb_version v;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct xorb_error err = { 0, "" };

		if (xorb_version_parse(ok[i].s, &v, &err) != XORB_OK)
			fail_msg("\"%s\" refused: %s", ok[i].s, err.msg);
		assert_int_equal(v.major, ok[i].major);
		assert_int_equal(v.minor, ok[i].minor);
		assert_int_equal(v.patch, ok[i].patch);
		assert_string_equal(v.pre, ok[i].pre);
	}
}

static void test_parse_refuses(void **state)
{
	static const char *const bad[] = {
		"", "2", "2.", "2.x", ".9.10", "2.9.", "2.9.10.1", "2.9.10-", "2.9.10+", "-2.9.10",
		"2.9.10 ", " 2.9.10", "2.9.10-dev!", "2.9.10-a b", "1234567890.0.0", "v", "vv2.9",
		"2.9.10-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	struct xorb_version v;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct xorb_error err = { 0, "" };

		if (xorb_version_parse(bad[i], &v, &err) != XORB_EINVAL)
			fail_msg("\"%s\" was accepted", bad[i]);
		assert_int_equal(err.code, XORB_EINVAL);
		assert_non_null(strstr(err.msg, "is not a version"));
		assert_int_equal(v.major, 0);
	}
	assert_int_equal(xorb_version_parse(NULL, &v, NULL), XORB_EINVAL);
	{
		struct xorb_error err = { 0, "" };

		assert_int_equal(xorb_version_parse("2.x", &v, &err), XORB_EINVAL);
		assert_string_equal(err.msg, "\"2.x\" is not a version (MAJOR.MINOR.PATCH[-PRE])");
	}
}

static int cmp(const char *a, const char *b)
{
	struct xorb_version x, y;

	assert_int_equal(xorb_version_parse(a, &x, NULL), XORB_OK);
	assert_int_equal(xorb_version_parse(b, &y, NULL), XORB_OK);
	return xorb_version_cmp(&x, &y);
}

static void test_order(void **state)
{
	/* ascending: semver 2.0.0's own example, then the servers we meet */
	static const char *const asc[] = {
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.9.9", "2.9.10", "2.10.0", "2.10.27",
		"2.11.0-RC.1", "2.11.0", "2.14.9", "2.15.0-dev", "2.15.0", "2.15.1", "2.100.0", "3.0.0",
	};
	size_t i, k;

	for (i = 0; i < sizeof(asc) / sizeof(asc[0]); i++)
		for (k = 0; k < sizeof(asc) / sizeof(asc[0]); k++) {
			int c = cmp(asc[i], asc[k]), want = i < k ? -1 : i > k;

			if (c != want)
				fail_msg("cmp(%s, %s) = %d, want %d", asc[i], asc[k], c, want);
		}
	/* numbers, not strings; build metadata and a leading v ignored; x.y = x.y.0 */
	assert_int_equal(cmp("2.9.10", "2.10.1"), -1);
	assert_int_equal(cmp("2.15.1+debian", "2.15.1"), 0);
	assert_int_equal(cmp("v2.15.1", "2.15.1"), 0);
	assert_int_equal(cmp("2.15", "2.15.0"), 0);
	assert_int_equal(cmp("2.15.0-rc.010", "2.15.0-rc.10"), 0);
	assert_int_equal(cmp("2.15.0-rc.9", "2.15.0-rc.10"), -1);
}

static void test_snapshot_format(void **state)
{
	static const struct {
		const char *s;
		int format;
	} cases[] = {
		{ "2.9.10", 1 }, { "2.10.27", 1 }, { "2.11.0", 1 }, { "2.12.5", 1 }, { "2.14.99", 1 },
		{ "2.15.0-dev", 2 }, { "2.15.0", 2 }, { "2.15.1", 2 }, { "2.16.0", 2 }, { "3.0.0", 2 },
		{ "1.99.99", 1 },
	};
	struct xorb_version v;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(xorb_version_parse(cases[i].s, &v, NULL), XORB_OK);
		if (xorb_version_snapshot_format(&v) != cases[i].format)
			fail_msg("%s: format %d, want %d", cases[i].s, xorb_version_snapshot_format(&v),
				 cases[i].format);
	}
}

static void test_check_restore_refuses_v2_into_older(void **state)
{
	static const char *const old[] = { "2.9.10", "2.10.27", "2.14.9", "2.11.0-RC.1" };
	size_t i;

	for (i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
		struct xorb_error err = { 0, "" };
		char want[1024];

		assert_int_equal(xorb_version_check_restore("2.15.1", old[i], "backup X of tenant \"t-qa\"", &err),
				 XORB_EUNSUPPORTED);
		assert_int_equal(err.code, XORB_EUNSUPPORTED);
		snprintf(want, sizeof(want),
			 "backup X of tenant \"t-qa\" was made on nats-server 2.15.1, whose snapshots are in the v2 (NATSARC1) format, and the target nats-server %s cannot read that format (only 2.15.0 and newer can); nothing was created: restore it into a nats-server 2.15.0 or newer",
			 old[i]);
		assert_string_equal(err.msg, want);
	}
	{
		struct xorb_error err = { 0, "" };

		/* a 2.15 pre-release writes v2 too */
		assert_int_equal(xorb_version_check_restore("2.15.0-dev", "2.10.27", NULL, &err), XORB_EUNSUPPORTED);
		assert_non_null(strstr(err.msg, "the backup was made on nats-server 2.15.0-dev"));
		assert_non_null(strstr(err.msg, "target nats-server 2.10.27"));
	}
}

static void test_check_restore_allows(void **state)
{
	static const char *const pairs[][2] = {
		{ "2.9.10", "2.9.10" },	  { "2.9.10", "2.10.27" }, { "2.9.10", "2.15.1" },
		{ "2.10.27", "2.15.1" },  { "2.10.27", "2.9.10" }, /* v1 both: not this check's business */
		{ "2.14.9", "2.10.27" },  { "2.15.1", "2.15.1" },  { "2.15.1", "2.15.0-dev" },
		{ "2.15.0", "2.16.0" },	  { "2.15.1", "3.0.0" },   { "", "2.9.10" },
		{ "", "garbage" }, /* no version recorded: no check, whatever the target says */
	};
	size_t i;

	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct xorb_error err = { 0, "" };

		if (xorb_version_check_restore(pairs[i][0], pairs[i][1], "b", &err) != XORB_OK)
			fail_msg("backup %s into %s refused: %s", pairs[i][0], pairs[i][1], err.msg);
		assert_string_equal(err.msg, "");
	}
	assert_int_equal(xorb_version_check_restore(NULL, "2.9.10", "b", NULL), XORB_OK);
}

static void test_check_restore_bad_versions(void **state)
{
	struct xorb_error err = { 0, "" };

	assert_int_equal(xorb_version_check_restore("two", "2.15.1", "backup X", &err), XORB_EINVAL);
	assert_string_equal(err.msg, "backup X records \"two\" as the version of the server it was made on, which is not a version");
	assert_int_equal(xorb_version_check_restore("2.15.1", "", "backup X", &err), XORB_EINVAL);
	assert_string_equal(err.msg, "the target server reports \"\" as its version, which is not a version, so it cannot be told whether it reads the v2 (NATSARC1) snapshots of backup X (made on nats-server 2.15.1)");
	assert_int_equal(xorb_version_check_restore("2.15.1", NULL, "backup X", &err), XORB_EINVAL);
	/* a v1 backup does not need the target's version */
	assert_int_equal(xorb_version_check_restore("2.10.27", "", "backup X", NULL), XORB_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_real_versions),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_snapshot_format),
		cmocka_unit_test(test_check_restore_refuses_v2_into_older),
		cmocka_unit_test(test_check_restore_allows),
		cmocka_unit_test(test_check_restore_bad_versions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

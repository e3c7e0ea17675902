/*
 * Unit tests of the product's names (xorb_names.h): tenant rules and their
 * messages, which streams belong to which tenant (tenants whose names are
 * prefixes of each other must never see each other's streams), backup ids
 * made and parsed back, and stream names usable as path components.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "xorb_error.h"
#include "xorb_names.h"

/* ---- tenants ---- */

static void assert_tenant_bad(const char *t, const char *want_msg)
{
	struct xorb_error err = { 0 };

	if (xorb_tenant_check(t, &err) != XORB_EINVAL)
		fail_msg("tenant \"%s\" was accepted", t);
	assert_int_equal(err.code, XORB_EINVAL);
	assert_string_equal(err.msg, want_msg);
}

static void test_tenant_valid(void **state)
{
	static const char *const good[] = {
		"t-qa", "abc", "ABC", "a1b", "t-qa-eu", "0-9", "a--b", "Tenant-42",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk", /* 63 */
	};
	struct xorb_error err = { 0 };
	size_t i;

	assert_int_equal(strlen(good[8]), 63);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (xorb_tenant_check(good[i], &err) != XORB_OK)
			fail_msg("tenant \"%s\" rejected: %s", good[i], err.msg);
		assert_int_equal(err.code, XORB_OK);
	}
	/* err may be NULL */
	assert_int_equal(xorb_tenant_check("t-qa", NULL), XORB_OK);
	assert_int_equal(xorb_tenant_check("t", NULL), XORB_EINVAL);
}

static void test_tenant_invalid_with_reason(void **state)
{
	char t64[65];

	assert_tenant_bad("t", "tenant name \"t\" must be 3 to 63 characters long");
	assert_tenant_bad("ab", "tenant name \"ab\" must be 3 to 63 characters long");
	assert_tenant_bad("", "tenant name \"\" must be 3 to 63 characters long");
	assert_tenant_bad(NULL, "tenant name \"\" must be 3 to 63 characters long");
	memset(t64, 'a', 64);
	t64[64] = '\0';
	assert_tenant_bad(t64, "tenant name \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" "
			       "must be 3 to 63 characters long");
	assert_tenant_bad("-ab", "tenant name \"-ab\" must not start or end with a hyphen");
	assert_tenant_bad("ab-", "tenant name \"ab-\" must not start or end with a hyphen");
	assert_tenant_bad("---", "tenant name \"---\" must not start or end with a hyphen");
	assert_tenant_bad("a.b", "tenant name \"a.b\" has '.' at position 2: only letters, digits "
				 "and hyphens are allowed");
	assert_tenant_bad("t_qa", "tenant name \"t_qa\" has '_' at position 2: only letters, digits "
				  "and hyphens are allowed");
	assert_tenant_bad("t qa", "tenant name \"t qa\" has ' ' at position 2: only letters, digits "
				  "and hyphens are allowed");
	assert_tenant_bad("ab/c", "tenant name \"ab/c\" has '/' at position 3: only letters, digits "
				  "and hyphens are allowed");
	assert_tenant_bad("abc*", "tenant name \"abc*\" has '*' at position 4: only letters, digits "
				  "and hyphens are allowed");
	/* Non-printing and non-ASCII bytes are shown as '?'. */
	assert_tenant_bad("ab\tc", "tenant name \"ab\tc\" has '?' at position 3: only letters, "
				   "digits and hyphens are allowed");
	assert_tenant_bad("caf\xc3\xa9", "tenant name \"caf\xc3\xa9\" has '?' at position 4: only "
					 "letters, digits and hyphens are allowed");
}

/* ---- streams of a tenant ---- */

static void test_stream_of_tenant(void **state)
{
	/* every domain of schema v1 */
	assert_true(xorb_stream_of_tenant("xorb-t-qa-scan-live", "t-qa"));
	assert_true(xorb_stream_of_tenant("xorb-t-qa-evidence-live", "t-qa"));
	assert_true(xorb_stream_of_tenant("xorb-t-qa-compliance-archive", "t-qa"));
	assert_true(xorb_stream_of_tenant("xorb-t-qa-control-x", "t-qa"));
	assert_true(xorb_stream_of_tenant("xorb-t-qa-scan-Live_2", "t-qa"));

	/* prefix tenants never see each other's streams */
	assert_false(xorb_stream_of_tenant("xorb-t-qa-eu-scan-live", "t-qa"));
	assert_true(xorb_stream_of_tenant("xorb-t-qa-eu-scan-live", "t-qa-eu"));
	assert_false(xorb_stream_of_tenant("xorb-t-qa-scan-live", "t-qa-eu"));
	assert_false(xorb_stream_of_tenant("xorb-t-qa-scan-live", "t-q"));
	assert_false(xorb_stream_of_tenant("xorb-t-qa-scan-live", "qa"));
	/* a tenant named like a domain does not swallow another's streams */
	assert_false(xorb_stream_of_tenant("xorb-abc-scan-x-scan-live", "abc"));
	assert_true(xorb_stream_of_tenant("xorb-abc-scan-x-scan-live", "abc-scan-x"));

	/* unknown domain, empty, hyphenated or odd class */
	assert_false(xorb_stream_of_tenant("xorb-t-qa-bogus-live", "t-qa"));
	assert_false(xorb_stream_of_tenant("xorb-t-qa-scan-", "t-qa"));
	assert_false(xorb_stream_of_tenant("xorb-t-qa-scan", "t-qa"));
	assert_false(xorb_stream_of_tenant("xorb-t-qa-scan-live-x", "t-qa"));
	assert_false(xorb_stream_of_tenant("xorb-t-qa-scan-li.ve", "t-qa"));
	assert_false(xorb_stream_of_tenant("xorb-t-qa-scan-li ve", "t-qa"));
	assert_false(xorb_stream_of_tenant("xorb-t-qa-Scan-live", "t-qa"));
	assert_false(xorb_stream_of_tenant("xorb-t-qa--scan-live", "t-qa"));
	assert_false(xorb_stream_of_tenant("xorb-t-qa-scanlive", "t-qa"));
	/* wrong product prefix or tenant case */
	assert_false(xorb_stream_of_tenant("xorbt-qa-scan-live", "t-qa"));
	assert_false(xorb_stream_of_tenant("Xorb-t-qa-scan-live", "t-qa"));
	assert_false(xorb_stream_of_tenant("x-t-qa-scan-live", "t-qa"));
	assert_false(xorb_stream_of_tenant("xorb-T-QA-scan-live", "t-qa"));
	assert_false(xorb_stream_of_tenant("", "t-qa"));
	assert_false(xorb_stream_of_tenant("xorb-", "t-qa"));
	assert_false(xorb_stream_of_tenant("xorb-t-qa", "t-qa"));
	assert_false(xorb_stream_of_tenant("xorb-t-qa-", "t-qa"));
}

static void test_domain_valid(void **state)
{
	assert_true(xorb_domain_valid("scan", 4));
	assert_true(xorb_domain_valid("evidence", 8));
	assert_true(xorb_domain_valid("compliance", 10));
	assert_true(xorb_domain_valid("control", 7));
	assert_true(xorb_domain_valid("scan-live", 4)); /* only len bytes count */
	assert_false(xorb_domain_valid("scan", 3));
	assert_false(xorb_domain_valid("scans", 5));
	assert_false(xorb_domain_valid("SCAN", 4));
	assert_false(xorb_domain_valid("", 0));
}

/* ---- backup ids ---- */

static void test_backup_id_new_and_parse(void **state)
{
	struct xorb_error err = { 0 };
	const time_t t = 1795799108; /* 2026-11-27T17:05:08Z */
	char a[XORB_BACKUP_ID_LEN + 1], b[XORB_BACKUP_ID_LEN + 1];
	time_t back = 0;
	int i, same = 0;

	assert_int_equal(xorb_backup_id_new(t, a, sizeof(a), &err), XORB_OK);
	assert_int_equal(strlen(a), XORB_BACKUP_ID_LEN);
	assert_memory_equal(a, "20261127T170508Z-", 17);
	for (i = 17; i < XORB_BACKUP_ID_LEN; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_true(xorb_backup_id_parse(a, &back));
	assert_int_equal(back, t);
	assert_true(xorb_backup_id_parse(a, NULL));

	/* Same second, different random suffixes (24 bits: 16 draws collide
	 * with probability ~7e-6). */
	for (i = 0; i < 16; i++) {
		assert_int_equal(xorb_backup_id_new(t, b, sizeof(b), &err), XORB_OK);
		assert_memory_equal(a, b, 17);
		same += !strcmp(a, b);
		assert_true(xorb_backup_id_parse(b, &back));
		assert_int_equal(back, t);
	}
	assert_true(same <= 1);

	/* the epoch and a leap day round-trip too */
	assert_int_equal(xorb_backup_id_new(0, b, sizeof(b), &err), XORB_OK);
	assert_memory_equal(b, "19700101T000000Z-", 17);
	assert_true(xorb_backup_id_parse(b, &back));
	assert_int_equal(back, 0);
	assert_int_equal(xorb_backup_id_new(1709251199, b, sizeof(b), &err), XORB_OK);
	assert_memory_equal(b, "20240229T235959Z-", 17);
	assert_true(xorb_backup_id_parse(b, &back));
	assert_int_equal(back, 1709251199);
}

static void test_backup_id_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"20261127T170508Z-3FA9C1",  /* upper-case hex */
		"20261127T170508Z-3fa9cG",  /* not hex */
		"20261327T170508Z-3fa9c1",  /* month 13 */
		"20260027T170508Z-3fa9c1",  /* month 0 */
		"20261100T170508Z-3fa9c1",  /* day 0 */
		"20261132T170508Z-3fa9c1",  /* day 32 */
		"20261127T240508Z-3fa9c1",  /* hour 24 */
		"20261127T176008Z-3fa9c1",  /* minute 60 */
		"20261127T170561Z-3fa9c1",  /* second 61 */
		"20261127T170508Z-3fa9c",   /* too short */
		"20261127T170508Z-3fa9c10", /* too long */
		"20261127T170508-3fa9c1x",  /* missing Z, right length */
		"20261127T170508Z3fa9c1x",  /* missing hyphen */
		"20261127t170508Z-3fa9c1",  /* lower-case t */
		"2026112T1170508Z-3fa9c1",  /* T misplaced */
		"2026-11-27T17:05:08Z-3f",  /* RFC 3339 shape */
		"+0261127T170508Z-3fa9c1",  /* sign in a digit position */
		" 0261127T170508Z-3fa9c1",  /* blank in a digit position */
		"20261127T170508Z 3fa9c1",
		"",
	};
	size_t i;

	assert_true(xorb_backup_id_parse("20261127T170508Z-3fa9c1", NULL));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		time_t t = 12345;

		if (xorb_backup_id_parse(bad[i], &t))
			fail_msg("backup id \"%s\" was accepted", bad[i]);
		assert_int_equal(t, 12345); /* untouched on failure */
	}
}

/*
 * Regression test (fixed; src/lib/xorb_names.c, xorb_backup_id_new, the check after
 * snprintf): `if (n != XORB_BACKUP_ID_LEN)` compares snprintf's would-be
 * length, which is 23 whatever outlen is, so a short buffer is silently
 * truncated and XORB_OK returned ("19700101T" for outlen 10). One-line fix:
 * `if (n != XORB_BACKUP_ID_LEN || (size_t)n >= outlen)`.
 */
static void test_backup_id_new_short_buffer(void **state)
{
	struct xorb_error err = { 0 };
	char small[XORB_BACKUP_ID_LEN]; /* one byte short for the NUL */

	assert_int_equal(xorb_backup_id_new(0, small, sizeof(small), &err), XORB_EINVAL);
	assert_string_equal(err.msg, "backup id buffer too small");
}

/*
 * Regression test (fixed; src/lib/xorb_names.c, xorb_backup_id_parse): days are checked
 * only against 1..31 and timegm() normalises, so "20260231T..." (31
 * February) is accepted as 3 March. The id then no longer names the second
 * it claims. Fix: after timegm, gmtime_r the result and compare year, month
 * and day with the parsed fields.
 */
static void test_backup_id_parse_impossible_date(void **state)
{
	assert_false(xorb_backup_id_parse("20260231T000000Z-abcdef", NULL));
	assert_false(xorb_backup_id_parse("20250229T000000Z-abcdef", NULL));
	assert_false(xorb_backup_id_parse("20260431T000000Z-abcdef", NULL));
}

/* ---- stream names ---- */

static void test_stream_name_valid(void **state)
{
	char n255[256], n256[257];
	static const char *const bad[] = {
		"", "a.b", ".", "..", "a*", "a>", "a/b", "/", "a\\b", "a b", "a\tb", "a\nb",
		"\x01", "a\x7f", "*", ">",
	};
	size_t i;

	assert_true(xorb_stream_name_valid("xorb-t-qa-scan-live"));
	assert_true(xorb_stream_name_valid("ORDERS"));
	assert_true(xorb_stream_name_valid("a"));
	assert_true(xorb_stream_name_valid("a_b-c~d@e"));
	assert_true(xorb_stream_name_valid("caf\xc3\xa9")); /* UTF-8 is allowed */
	memset(n255, 'a', 255);
	n255[255] = '\0';
	memset(n256, 'a', 256);
	n256[256] = '\0';
	assert_true(xorb_stream_name_valid(n255));
	assert_false(xorb_stream_name_valid(n256));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (xorb_stream_name_valid(bad[i]))
			fail_msg("stream name \"%s\" was accepted", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tenant_valid),
		cmocka_unit_test(test_tenant_invalid_with_reason),
		cmocka_unit_test(test_stream_of_tenant),
		cmocka_unit_test(test_domain_valid),
		cmocka_unit_test(test_backup_id_new_and_parse),
		cmocka_unit_test(test_backup_id_parse_rejects),
		cmocka_unit_test(test_backup_id_new_short_buffer),
		cmocka_unit_test(test_backup_id_parse_impossible_date),
		cmocka_unit_test(test_stream_name_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

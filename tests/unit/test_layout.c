/*
 * Unit tests of the store's key layout (xorb_layout.h): every key a backup
 * has is built and read back by the one owner; keys of anything else
 * (other depths, names, bad tenants or ids, look-alike extensions) are not
 * a backup's; the longest tenant's encrypted archive key fits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "xorb_layout.h"

#define ID "20261127T170508Z-3fa9c1"
#define T63 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"

static void test_round_trip(void **state)
{
	static const struct {
		enum xorb_key_kind kind;
		const char *want;
	} cases[] = {
		{ XORB_KEY_SIDECAR, "t-qa/" ID ".json" },
		{ XORB_KEY_ARCHIVE, "t-qa/" ID ".tar.zst" },
		{ XORB_KEY_ARCHIVE_AGE, "t-qa/" ID ".tar.zst.age" },
	};
	char key[XORB_KEY_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xorb_backup_key k;

		assert_string_equal(xorb_key_format(key, "t-qa", ID, cases[i].kind), cases[i].want);
		assert_true(xorb_key_parse(key, &k));
		assert_string_equal(k.tenant, "t-qa");
		assert_string_equal(k.id, ID);
		assert_int_equal(k.kind, cases[i].kind);
		assert_int_equal((long long)k.time, 1795799108LL); /* 2026-11-27T17:05:08Z */
	}
}

/* The longest tenant's longest key fits exactly: nothing is cut off (the
 * prune module's unfinished-upload key was 4 bytes short for .age). */
static void test_longest_key_fits(void **state)
{
	char key[XORB_KEY_MAX];
	struct xorb_backup_key k;

	(void)state;
	xorb_key_format(key, T63, ID, XORB_KEY_ARCHIVE_AGE);
	assert_int_equal(strlen(key), 63 + 1 + 23 + strlen(".tar.zst.age"));
	assert_int_equal(strlen(key) + 1, XORB_KEY_MAX);
	assert_true(xorb_key_parse(key, &k));
	assert_string_equal(k.tenant, T63);
	assert_int_equal(k.kind, XORB_KEY_ARCHIVE_AGE);
}

static void test_not_backup_keys(void **state)
{
	static const char *const bad[] = {
		"",
		"t-qa",
		"t-qa/",
		ID ".json",			      /* no tenant */
		"/" ID ".json",			      /* empty tenant */
		"t-qa/x/" ID ".json",		      /* too deep */
		"../t-qa/" ID ".json",		      /* too deep, and a dot tenant */
		"t-qa/" ID ".json.tmp",		      /* look-alike extension */
		"t-qa/" ID ".tar",
		"t-qa/" ID ".tar.zst.age.x",
		"t-qa/" ID ".zst",
		"t-qa/" ID,			      /* no extension */
		"t-qa/20261127T170508Z-3fa9c.json",   /* short id */
		"t-qa/20261127T170508Z-3fa9cg.json",  /* not hex */
		"t-qa/20261327T170508Z-3fa9c1.json",  /* month 13 */
		"-bad/" ID ".json",		      /* tenant rule */
		"t_qa/" ID ".json",
		T63 "x/" ID ".json",		      /* tenant of 64 */
		"t-qa/" ID ".JSON",
	};
	struct xorb_backup_key k;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (xorb_key_parse(bad[i], &k))
			fail_msg("\"%s\" was read as a backup key", bad[i]);
}

static void test_prefix(void **state)
{
	char p[XORB_TENANT_MAX + 2];

	(void)state;
	assert_string_equal(xorb_key_prefix(p, "t-qa"), "t-qa/");
	assert_string_equal(xorb_key_prefix(p, NULL), "");
	assert_string_equal(xorb_key_prefix(p, T63), T63 "/");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_longest_key_fits),
		cmocka_unit_test(test_not_backup_keys),
		cmocka_unit_test(test_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of pruning (xorb_prune.h). The policy is tested as the pure
 * function it is, with fixed clocks, on restic-like scenarios: every test
 * compares the WHOLE plan (each kept backup with its reasons, each leftover
 * with its verdict) with the expected text, and counts the removed backups.
 * Scanning and removal run against the real file store in a temp directory:
 * sidecars and archives are paired, junk is ignored, and the sidecar goes
 * before the archive. Unfinished uploads: judged by their start against the
 * grace period (unknown or future starts are young), only those of backup
 * keys are scanned, and removal names what it could not remove.
 */
#include <ftw.h>
#include <setjmp.h>
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

#include "xorb_buf.h"
#include "xorb_error.h"
#include "xorb_names.h"
#include "xorb_prune.h"
#include "xorb_store.h"

/* a tenant of the longest name allowed (63) */
#define T63 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"

#define DAY 86400
#define HOUR 3600

/* ---- helpers ---- */

static struct xorb_prune_policy policy(int last, int hourly, int daily, int weekly, int monthly)
{
	struct xorb_prune_policy p = { last, hourly, daily, weekly, monthly,
				       XORB_PRUNE_GRACE_DEFAULT };

	return p;
}

/* A UTC time from its parts. */
static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return timegm(&tm);
}

/* A complete backup of tenant at t, with the id a backup made then would get
 * (suffix: 6 lower-case hex digits). The time comes from the id, as in a scan. */
static void set_backup(struct xorb_prune_item *it, const char *tenant, time_t t, const char *suffix)
{
	struct tm tm;
	char id[64];

	memset(it, 0, sizeof(*it));
	assert_non_null(gmtime_r(&t, &tm));
	assert_true(strftime(id, sizeof(id), "%Y%m%dT%H%M%SZ-", &tm) > 0);
	strcat(id, suffix);
	assert_int_equal(strlen(id), XORB_BACKUP_ID_LEN);
	snprintf(it->tenant, sizeof(it->tenant), "%s", tenant);
	memcpy(it->id, id, XORB_BACKUP_ID_LEN + 1);
	assert_true(xorb_backup_id_parse(it->id, &it->time));
	assert_int_equal(it->time, t);
	it->complete = true;
	it->has_archive = true;
	it->archive_size = 1000;
	it->archive_mtime = t + 60;
	it->keep = true; /* the plan must decide, not inherit */
	it->n_reasons = 1;
	strcpy(it->reasons[0], "stale");
}

/* An archive without a sidecar, its object last written at mtime. */
static void set_leftover(struct xorb_prune_item *it, const char *tenant, time_t id_time,
			 const char *suffix, int64_t mtime)
{
	set_backup(it, tenant, id_time, suffix);
	it->complete = false;
	it->archive_mtime = mtime;
}

/* Reverses items so that the plan must sort them (they are made oldest first). */
static void reverse(struct xorb_prune_item *v, size_t n)
{
	size_t i;

	for (i = 0; i < n / 2; i++) {
		struct xorb_prune_item t = v[i];

		v[i] = v[n - 1 - i];
		v[n - 1 - i] = t;
	}
}

/* The plan as text: "keep TENANT ID (reasons)" per kept item, and
 * "remove TENANT ID (reasons)" per removed leftover. Removed backups are
 * counted instead (each must say why: test_removal_reasons checks the
 * words). */
static char *render(const struct xorb_prune_item *v, size_t n, size_t *removed)
{
	struct xorb_buf b;
	char why[512];
	size_t i;

	xorb_buf_init(&b);
	*removed = 0;
	assert_int_equal(xorb_buf_puts(&b, ""), 0);
	for (i = 0; i < n; i++) {
		xorb_prune_reasons_join(&v[i], why, sizeof(why));
		if (v[i].keep) {
			assert_true(v[i].n_reasons > 0);
			assert_int_equal(xorb_buf_printf(&b, "keep %s %s (%s)\n", v[i].tenant, v[i].id, why), 0);
		} else if (!v[i].complete) {
			assert_true(v[i].n_reasons > 0);
			assert_int_equal(xorb_buf_printf(&b, "remove %s %s (%s)\n", v[i].tenant, v[i].id, why), 0);
		} else {
			assert_true(v[i].n_reasons > 0);
			(*removed)++;
		}
	}
	return xorb_buf_detach(&b);
}

static void assert_plan(const struct xorb_prune_policy *p, time_t now, struct xorb_prune_item *v,
			size_t n, const char *want, size_t want_removed)
{
	struct xorb_error err = { 0, "" };
	size_t removed;
	char *got;

	if (xorb_prune_plan(p, now, v, n, &err) != XORB_OK)
		fail_msg("plan failed: %s", err.msg);
	got = render(v, n, &removed);
	assert_string_equal(got, want);
	assert_int_equal(removed, want_removed);
	free(got);
}

/* ---- the policy ---- */

/* restic's classic: hourly backups over 10 days, keep daily 7 = exactly the
 * newest backup of each of the last 7 days. */
static void test_daily_of_hourly_backups(void **state)
{
	struct xorb_prune_item v[240];
	struct xorb_prune_policy p = policy(0, 0, 7, 0, 0);
	time_t start = utc(2026, 11, 18, 0, 0, 0);
	size_t i;

	for (i = 0; i < 240; i++)
		set_backup(&v[i], "t-qa", start + (time_t)i * HOUR, "3fa9c1");
	reverse(v, 240);
	assert_plan(&p, start + 11 * DAY, v, 240,
		    "keep t-qa 20261127T230000Z-3fa9c1 (daily 2026-11-27)\n"
		    "keep t-qa 20261126T230000Z-3fa9c1 (daily 2026-11-26)\n"
		    "keep t-qa 20261125T230000Z-3fa9c1 (daily 2026-11-25)\n"
		    "keep t-qa 20261124T230000Z-3fa9c1 (daily 2026-11-24)\n"
		    "keep t-qa 20261123T230000Z-3fa9c1 (daily 2026-11-23)\n"
		    "keep t-qa 20261122T230000Z-3fa9c1 (daily 2026-11-22)\n"
		    "keep t-qa 20261121T230000Z-3fa9c1 (daily 2026-11-21)\n",
		    233);
}

/* Daily backups at noon, 2026-11-10 (Tuesday) to 2026-11-27 (Friday of ISO
 * week 48): the 3 newest, plus the newest of the 2 newest weeks. The week of
 * the 27th is already taken by the newest, so the second week is W47, whose
 * newest backup is Sunday the 22nd. */
static void test_last_and_weekly(void **state)
{
	struct xorb_prune_item v[18];
	struct xorb_prune_policy p = policy(3, 0, 0, 2, 0);
	size_t i;

	for (i = 0; i < 18; i++)
		set_backup(&v[i], "t-qa", utc(2026, 11, 10, 12, 0, 0) + (time_t)i * DAY, "0a0b0c");
	assert_plan(&p, utc(2026, 11, 28, 0, 0, 0), v, 18,
		    "keep t-qa 20261127T120000Z-0a0b0c (last 1/3, weekly 2026-W48)\n"
		    "keep t-qa 20261126T120000Z-0a0b0c (last 2/3)\n"
		    "keep t-qa 20261125T120000Z-0a0b0c (last 3/3)\n"
		    "keep t-qa 20261122T120000Z-0a0b0c (weekly 2026-W47)\n",
		    14);
}

/* Every removed backup says why no rule keeps it, one reason per rule in
 * force (issue 14: prune printed no reason for a removal). */
static void test_removal_reasons(void **state)
{
	struct xorb_prune_item v[18];
	struct xorb_prune_policy p = policy(3, 0, 0, 2, 0);
	struct xorb_error err = { 0, "" };
	char why[512];
	size_t i;

	for (i = 0; i < 18; i++)
		set_backup(&v[i], "t-qa", utc(2026, 11, 10, 12, 0, 0) + (time_t)i * DAY, "0a0b0c");
	assert_int_equal(xorb_prune_plan(&p, utc(2026, 11, 28, 0, 0, 0), v, 18, &err), XORB_OK);
	/* newest first: 27th..25th last 3, 24th and 23rd in week 48 after the
	 * 27th, 22nd kept for week 47, 21st..16th in week 47 after the 22nd,
	 * 15th and older (week 46) past the 2 weeks kept */
	assert_false(v[3].keep);
	xorb_prune_reasons_join(&v[3], why, sizeof(why));
	assert_string_equal(why, "not among the last 3, weekly 2026-W48 has a newer one");
	assert_true(v[5].keep);
	assert_false(v[6].keep);
	xorb_prune_reasons_join(&v[6], why, sizeof(why));
	assert_string_equal(why, "not among the last 3, weekly 2026-W47 has a newer one");
	assert_false(v[12].keep);
	xorb_prune_reasons_join(&v[12], why, sizeof(why));
	assert_string_equal(why, "not among the last 3, older than the 2 weekly kept");
}

/* Backups on the 1st and 15th of each month, June 2026 to February 2027:
 * keep monthly 4 crosses the year boundary. */
static void test_monthly_across_year(void **state)
{
	struct xorb_prune_item v[18];
	struct xorb_prune_policy p = policy(0, 0, 0, 0, 4);
	size_t n = 0;
	int m;

	for (m = 0; m < 9; m++) {
		int y = 2026 + (5 + m) / 12, mo = (5 + m) % 12 + 1;

		set_backup(&v[n++], "t-qa", utc(y, mo, 1, 2, 0, 0), "00aa11");
		set_backup(&v[n++], "t-qa", utc(y, mo, 15, 2, 0, 0), "00aa11");
	}
	assert_int_equal(n, 18);
	assert_plan(&p, utc(2027, 3, 1, 0, 0, 0), v, n,
		    "keep t-qa 20270215T020000Z-00aa11 (monthly 2027-02)\n"
		    "keep t-qa 20270115T020000Z-00aa11 (monthly 2027-01)\n"
		    "keep t-qa 20261215T020000Z-00aa11 (monthly 2026-12)\n"
		    "keep t-qa 20261115T020000Z-00aa11 (monthly 2026-11)\n",
		    14);
}

/* ISO weeks cross year boundaries: 2026-12-28 to 2027-01-03 are all in
 * 2026-W53, 2027-01-04 starts 2027-W01, and 2025-12-29 is in 2026-W01. */
static void test_iso_week_across_year(void **state)
{
	const time_t t[] = {
		utc(2025, 12, 28, 9, 0, 0), utc(2025, 12, 29, 9, 0, 0), utc(2026, 12, 28, 9, 0, 0),
		utc(2026, 12, 31, 9, 0, 0), utc(2027, 1, 1, 9, 0, 0),	utc(2027, 1, 3, 9, 0, 0),
		utc(2027, 1, 4, 9, 0, 0),
	};
	struct xorb_prune_item v[7];
	struct xorb_prune_policy p = policy(0, 0, 0, 2, 0);
	size_t i;

	for (i = 0; i < 7; i++)
		set_backup(&v[i], "t-qa", t[i], "beef00");
	assert_plan(&p, utc(2027, 1, 5, 0, 0, 0), v, 7,
		    "keep t-qa 20270104T090000Z-beef00 (weekly 2027-W01)\n"
		    "keep t-qa 20270103T090000Z-beef00 (weekly 2026-W53)\n",
		    5);

	/* four weeks back: the year changes between 2026-W53 and 2027-W01, and
	 * between 2025-W52 and 2026-W01 */
	for (i = 0; i < 7; i++)
		set_backup(&v[i], "t-qa", t[i], "beef00");
	p = policy(0, 0, 0, 4, 0);
	assert_plan(&p, utc(2027, 1, 5, 0, 0, 0), v, 7,
		    "keep t-qa 20270104T090000Z-beef00 (weekly 2027-W01)\n"
		    "keep t-qa 20270103T090000Z-beef00 (weekly 2026-W53)\n"
		    "keep t-qa 20251229T090000Z-beef00 (weekly 2026-W01)\n"
		    "keep t-qa 20251228T090000Z-beef00 (weekly 2025-W52)\n",
		    3);

	/* the last second of 2026 and the first of 2027: two days, two months,
	 * one week */
	set_backup(&v[0], "t-qa", utc(2026, 12, 31, 23, 59, 59), "beef00");
	set_backup(&v[1], "t-qa", utc(2027, 1, 1, 0, 0, 0), "beef00");
	p = policy(0, 0, 0, 2, 0);
	assert_plan(&p, utc(2027, 1, 5, 0, 0, 0), v, 2,
		    "keep t-qa 20270101T000000Z-beef00 (weekly 2026-W53)\n", 1);
	set_backup(&v[0], "t-qa", utc(2026, 12, 31, 23, 59, 59), "beef00");
	set_backup(&v[1], "t-qa", utc(2027, 1, 1, 0, 0, 0), "beef00");
	p = policy(0, 0, 2, 2, 2);
	assert_plan(&p, utc(2027, 1, 5, 0, 0, 0), v, 2,
		    "keep t-qa 20270101T000000Z-beef00 (daily 2027-01-01, weekly 2026-W53, monthly 2027-01)\n"
		    "keep t-qa 20261231T235959Z-beef00 (daily 2026-12-31, monthly 2026-12)\n",
		    0);
}

/* Periods without backups do not count: the 3 most recent hours that HAVE
 * backups, each by its newest backup. */
static void test_hourly_skips_empty_hours(void **state)
{
	const time_t t[] = {
		utc(2026, 11, 27, 9, 59, 59), utc(2026, 11, 27, 10, 5, 0), utc(2026, 11, 27, 10, 40, 0),
		utc(2026, 11, 27, 12, 10, 0), utc(2026, 11, 27, 15, 0, 0), utc(2026, 11, 27, 15, 30, 0),
	};
	struct xorb_prune_item v[6];
	struct xorb_prune_policy p = policy(0, 3, 0, 0, 0);
	size_t i;

	for (i = 0; i < 6; i++)
		set_backup(&v[i], "t-qa", t[i], "c0ffee");
	assert_plan(&p, utc(2026, 11, 28, 0, 0, 0), v, 6,
		    "keep t-qa 20261127T153000Z-c0ffee (hourly 2026-11-27T15)\n"
		    "keep t-qa 20261127T121000Z-c0ffee (hourly 2026-11-27T12)\n"
		    "keep t-qa 20261127T104000Z-c0ffee (hourly 2026-11-27T10)\n",
		    3);
}

/* Every rule on: reasons in rule order, each rule counted on its own. */
static void test_all_rules_and_reason_order(void **state)
{
	struct xorb_prune_item v[4];
	struct xorb_prune_policy p = policy(2, 2, 2, 2, 2);

	set_backup(&v[0], "t-qa", utc(2026, 10, 30, 8, 0, 0), "000001");
	set_backup(&v[1], "t-qa", utc(2026, 11, 27, 16, 0, 0), "000002");
	set_backup(&v[2], "t-qa", utc(2026, 11, 27, 17, 5, 8), "3fa9c1");
	set_backup(&v[3], "t-qa", utc(2026, 11, 27, 17, 30, 0), "000003");
	assert_plan(&p, utc(2026, 11, 28, 0, 0, 0), v, 4,
		    "keep t-qa 20261127T173000Z-000003 (last 1/2, hourly 2026-11-27T17, daily 2026-11-27, weekly 2026-W48, monthly 2026-11)\n"
		    "keep t-qa 20261127T170508Z-3fa9c1 (last 2/2)\n"
		    "keep t-qa 20261127T160000Z-000002 (hourly 2026-11-27T16)\n"
		    "keep t-qa 20261030T080000Z-000001 (daily 2026-10-30, weekly 2026-W44, monthly 2026-10)\n",
		    0);
}

static void test_empty_input(void **state)
{
	struct xorb_prune_policy p = policy(3, 0, 7, 0, 0);
	struct xorb_error err = { 0, "" };

	assert_int_equal(xorb_prune_plan(&p, utc(2026, 11, 28, 0, 0, 0), NULL, 0, &err), XORB_OK);
	assert_plan(&p, 0, NULL, 0, "", 0);
}

/* Every rule at 0: only the newest backup of each tenant stays. */
static void test_newest_is_never_removed(void **state)
{
	struct xorb_prune_item v[5];
	struct xorb_prune_policy p = policy(0, 0, 0, 0, 0);

	set_backup(&v[0], "t-qa", utc(2026, 11, 27, 17, 5, 8), "3fa9c1");
	assert_plan(&p, utc(2026, 11, 28, 0, 0, 0), v, 1,
		    "keep t-qa 20261127T170508Z-3fa9c1 (newest backup)\n", 0);

	/* a leftover archive newer than every backup is not "the newest backup" */
	set_backup(&v[0], "t-qa", utc(2026, 11, 25, 1, 0, 0), "000001");
	set_backup(&v[1], "t-qa", utc(2026, 11, 26, 1, 0, 0), "000002");
	set_backup(&v[2], "t-qa", utc(2026, 11, 27, 1, 0, 0), "000003");
	set_leftover(&v[3], "t-qa", utc(2026, 11, 27, 23, 0, 0), "000004",
		     utc(2026, 11, 27, 23, 30, 0));
	set_backup(&v[4], "t-ops", utc(2026, 11, 1, 1, 0, 0), "000005");
	assert_plan(&p, utc(2026, 11, 28, 0, 0, 0), v, 5,
		    "keep t-ops 20261101T010000Z-000005 (newest backup)\n"
		    "keep t-qa 20261127T230000Z-000004 (incomplete, may still be uploading)\n"
		    "keep t-qa 20261127T010000Z-000003 (newest backup)\n",
		    2);
}

/* Backups of one second are ordered by id, the greater id the newer (as
 * xorb_bundle_catalog lists them), whatever the input order. */
static void test_ties_in_one_second(void **state)
{
	static const char *const suffix[] = { "3fa9c1", "ffffff", "0b2e44" };
	struct xorb_prune_item v[3];
	struct xorb_prune_policy p = policy(2, 0, 0, 0, 0);
	time_t t = utc(2026, 11, 27, 17, 5, 8);
	size_t i;

	for (i = 0; i < 3; i++)
		set_backup(&v[i], "t-qa", t, suffix[i]);
	assert_plan(&p, t + DAY, v, 3,
		    "keep t-qa 20261127T170508Z-ffffff (last 1/2)\n"
		    "keep t-qa 20261127T170508Z-3fa9c1 (last 2/2)\n",
		    1);
	for (i = 0; i < 3; i++)
		set_backup(&v[i], "t-qa", t, suffix[2 - i]);
	p = policy(0, 0, 1, 0, 0);
	assert_plan(&p, t + DAY, v, 3, "keep t-qa 20261127T170508Z-ffffff (daily 2026-11-27)\n", 2);
}

/* The policy applies to each tenant on its own, also to tenants whose names
 * are prefixes of each other. */
static void test_tenants_are_separate(void **state)
{
	struct xorb_prune_item v[6];
	struct xorb_prune_policy p = policy(1, 0, 0, 0, 0);

	set_backup(&v[0], "t-qa-eu", utc(2026, 11, 27, 1, 0, 0), "000001");
	set_backup(&v[1], "t-qa", utc(2026, 11, 20, 1, 0, 0), "000002");
	set_backup(&v[2], "t-qa-eu", utc(2026, 11, 26, 1, 0, 0), "000003");
	set_backup(&v[3], "t-qa", utc(2026, 11, 21, 1, 0, 0), "000004");
	set_backup(&v[4], "t-ops", utc(2026, 1, 1, 1, 0, 0), "000005");
	set_backup(&v[5], "t-qa", utc(2026, 11, 19, 1, 0, 0), "000006");
	assert_plan(&p, utc(2026, 11, 28, 0, 0, 0), v, 6,
		    "keep t-ops 20260101T010000Z-000005 (last 1/1)\n"
		    "keep t-qa 20261121T010000Z-000004 (last 1/1)\n"
		    "keep t-qa-eu 20261127T010000Z-000001 (last 1/1)\n",
		    3);
	/* sorted: tenant, then newest first */
	assert_string_equal(v[2].id, "20261120T010000Z-000002");
	assert_string_equal(v[3].id, "20261119T010000Z-000006");
	assert_string_equal(v[5].id, "20261126T010000Z-000003");
}

/* Leftover archives go by the object's mtime against the grace period, not
 * by the id's time, and never count for the rules. */
static void test_leftovers_by_mtime(void **state)
{
	const time_t now = utc(2026, 11, 28, 12, 0, 0);
	struct xorb_prune_item v[7];
	struct xorb_prune_policy p = policy(1, 0, 0, 0, 0);

	set_backup(&v[0], "t-qa", utc(2026, 11, 27, 12, 0, 0), "000001");
	set_backup(&v[1], "t-qa", utc(2026, 11, 26, 12, 0, 0), "000002");
	/* older than 24h: removed, even with an id from the future */
	set_leftover(&v[2], "t-qa", utc(2099, 1, 1, 0, 0, 0), "00dead", now - 24 * HOUR - 1);
	/* exactly 24h old: not yet older than the grace period */
	set_leftover(&v[3], "t-qa", utc(2026, 11, 27, 12, 0, 0), "000003", now - 24 * HOUR);
	/* an old id, a new object: an upload still running */
	set_leftover(&v[4], "t-qa", utc(2020, 1, 1, 0, 0, 0), "00beef", now - 60);
	/* an mtime in the future (clock skew): kept */
	set_leftover(&v[5], "t-qa", utc(2026, 1, 1, 0, 0, 0), "000005", now + 3 * DAY);
	set_leftover(&v[6], "t-qa", utc(2026, 11, 1, 0, 0, 0), "000006", now - 30 * DAY);
	assert_plan(&p, now, v, 7,
		    "remove t-qa 20990101T000000Z-00dead (incomplete, older than 24h)\n"
		    "keep t-qa 20261127T120000Z-000003 (incomplete, may still be uploading)\n"
		    "keep t-qa 20261127T120000Z-000001 (last 1/1)\n"
		    "remove t-qa 20261101T000000Z-000006 (incomplete, older than 24h)\n"
		    "keep t-qa 20260101T000000Z-000005 (incomplete, may still be uploading)\n"
		    "keep t-qa 20200101T000000Z-00beef (incomplete, may still be uploading)\n",
		    1);

	/* the grace period is the caller's */
	set_leftover(&v[0], "t-qa", utc(2026, 11, 1, 0, 0, 0), "000001", now - 91 * 60);
	set_leftover(&v[1], "t-qa", utc(2026, 11, 1, 0, 0, 0), "000002", now - 89 * 60);
	p.grace = 90 * 60;
	assert_plan(&p, now, v, 2,
		    "keep t-qa 20261101T000000Z-000002 (incomplete, may still be uploading)\n"
		    "remove t-qa 20261101T000000Z-000001 (incomplete, older than 90m)\n",
		    0);
}

/* Unfinished uploads go by their start against the grace period. */
static void set_unfinished(struct xorb_prune_unfinished *u, const char *tenant, const char *name,
			   int64_t started)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->tenant, sizeof(u->tenant), "%s", tenant);
	snprintf(u->key, sizeof(u->key), "%s/%s", tenant, name);
	u->id = (char *)"upload-id";
	u->last_write = started;
}

static void assert_unfinished_plan(int64_t grace, time_t now, struct xorb_prune_unfinished *v, size_t n,
				   const char *want)
{
	struct xorb_error err = { 0, "" };
	struct xorb_buf b;
	size_t i;

	assert_int_equal(xorb_prune_plan_unfinished(grace, now, v, n, &err), XORB_OK);
	xorb_buf_init(&b);
	assert_int_equal(xorb_buf_puts(&b, ""), 0);
	for (i = 0; i < n; i++)
		xorb_buf_printf(&b, "%s %s (%s)\n", v[i].keep ? "keep" : "remove", v[i].key, v[i].reason);
	assert_string_equal(b.data, want);
	xorb_buf_release(&b);
}

static void test_unfinished_by_start(void **state)
{
	const time_t now = utc(2026, 11, 28, 12, 0, 0);
	struct xorb_prune_unfinished v[6];
	struct xorb_error err = { 0, "" };

	set_unfinished(&v[0], "t-qa", "20261127T110000Z-000001.tar.zst", now - 24 * HOUR - 1);
	set_unfinished(&v[1], "t-qa", "20261127T120000Z-000002.tar.zst", now - 24 * HOUR); /* not yet */
	set_unfinished(&v[2], "t-qa", "20261128T115900Z-000003.tar.zst", now - 60);
	set_unfinished(&v[3], "t-qa", "20261101T000000Z-000004.json", now + 3 * DAY); /* clock skew */
	set_unfinished(&v[4], "t-qa", "20261101T000000Z-000005.tar.zst", 0);		/* start unknown */
	set_unfinished(&v[5], "t-ops", "20261101T000000Z-000006.tar.zst", now - 30 * DAY);
	assert_unfinished_plan(XORB_PRUNE_GRACE_DEFAULT, now, v, 6,
			       "remove t-ops/20261101T000000Z-000006.tar.zst (older than 24h)\n"
			       "keep t-qa/20261101T000000Z-000004.json (may still be uploading)\n"
			       "keep t-qa/20261101T000000Z-000005.tar.zst (may still be uploading)\n"
			       "remove t-qa/20261127T110000Z-000001.tar.zst (older than 24h)\n"
			       "keep t-qa/20261127T120000Z-000002.tar.zst (may still be uploading)\n"
			       "keep t-qa/20261128T115900Z-000003.tar.zst (may still be uploading)\n");

	/* the grace period is the caller's */
	set_unfinished(&v[0], "t-qa", "20261128T100000Z-000001.tar.zst", now - 91 * 60);
	set_unfinished(&v[1], "t-qa", "20261128T100000Z-000001.tar.zst", now - 89 * 60);
	assert_unfinished_plan(90 * 60, now, v, 2,
			       "remove t-qa/20261128T100000Z-000001.tar.zst (older than 90m)\n"
			       "keep t-qa/20261128T100000Z-000001.tar.zst (may still be uploading)\n");
	assert_unfinished_plan(90 * 60, now, v, 0, "");
	assert_int_equal(xorb_prune_plan_unfinished(60, now, v, 2, &err), XORB_EINVAL);
	assert_int_equal(xorb_prune_plan_unfinished(XORB_PRUNE_GRACE_MAX + 1, now, v, 2, &err), XORB_EINVAL);
}

static void test_bad_policy_is_refused(void **state)
{
	struct xorb_prune_item v[1];
	struct xorb_prune_policy p = policy(1, 0, -1, 0, 0);
	struct xorb_error err = { 0, "" };

	set_backup(&v[0], "t-qa", utc(2026, 11, 27, 1, 0, 0), "000001");
	assert_int_equal(xorb_prune_plan(&p, 0, v, 1, &err), XORB_EINVAL);
	assert_string_equal(err.msg, "keep daily -1 is not from 0 to 1000000");
	assert_string_equal(v[0].reasons[0], "stale"); /* nothing decided */

	p = policy(1, 0, 0, 0, 0);
	p.grace = 60;
	assert_int_equal(xorb_prune_plan(&p, 0, v, 1, &err), XORB_EINVAL);
	assert_string_equal(err.msg, "grace period of 60 s is not from 600 s to 315360000 s");

	p = policy(0, 0, 0, 0, XORB_PRUNE_COUNT_MAX + 1);
	assert_int_equal(xorb_prune_plan(&p, 0, v, 1, &err), XORB_EINVAL);
	assert_string_equal(err.msg, "keep monthly 1000001 is not from 0 to 1000000");
}

/* ---- text ---- */

static void test_duration_text(void **state)
{
	static const struct {
		int64_t secs;
		const char *text;
	} cases[] = {
		{ 5400, "90m" }, { 86400, "24h" }, { 7 * 86400, "7d" }, { 2 * 86400, "2d" },
		{ 7200, "2h" },	 { 45, "45s" },	   { 600, "10m" },	{ 0, "0s" },
		{ 86401, "86401s" },
	};
	char buf[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(xorb_prune_duration_str(cases[i].secs, buf, sizeof(buf)), cases[i].text);
}

static void test_reasons_join_truncates(void **state)
{
	struct xorb_prune_item it;
	char buf[12];

	set_backup(&it, "t-qa", utc(2026, 11, 27, 1, 0, 0), "000001");
	it.n_reasons = 2;
	strcpy(it.reasons[0], "last 1/3");
	strcpy(it.reasons[1], "daily 2026-11-27");
	assert_string_equal(xorb_prune_reasons_join(&it, buf, sizeof(buf)), "last 1/3, d");
	it.n_reasons = 0;
	assert_string_equal(xorb_prune_reasons_join(&it, buf, sizeof(buf)), "");
}

/* ---- scanning and removal on the file store ---- */

static char store_dir[256];

static void write_file(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", store_dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int exists(const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", store_dir, rel);
	return lstat(path, &st) == 0;
}

static void make_dir(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", store_dir, rel);
	assert_int_equal(mkdir(path, 0700), 0);
}

static int store_setup(void **state)
{
	snprintf(store_dir, sizeof(store_dir), "%s/xorb-test-prune-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(store_dir) ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

static int store_teardown(void **state)
{
	return nftw(store_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_scan_pairs_and_ignores(void **state)
{
	struct xorb_store *s = NULL;
	struct xorb_error err = { 0, "" };
	struct xorb_prune_item *v = NULL;
	size_t n = 0;

	make_dir("t-qa");
	make_dir("t-qa-eu");
	make_dir("bad_tenant");
	make_dir("t-qa/sub");
	write_file("t-qa/20261127T170508Z-3fa9c1.json", "{}");
	write_file("t-qa/20261127T170508Z-3fa9c1.tar.zst", "archive-1");
	write_file("t-qa/20261126T010000Z-000001.json", "{}"); /* sidecar only */
	write_file("t-qa/20261125T010000Z-000002.tar.zst", "leftover"); /* archive only */
	write_file("t-qa/20261125T010000Z-000003.tar", "junk");
	write_file("t-qa/20261125T010000Z-00000G.json", "junk: not an id");
	write_file("t-qa/notes.txt", "junk");
	write_file("t-qa/sub/20261125T010000Z-000004.json", "junk: too deep");
	write_file("t-qa/.20261125T010000Z-000005.json.tmp-abc", "junk: hidden");
	write_file("t-qa-eu/20261127T010000Z-000006.json", "{}");
	write_file("bad_tenant/20261127T010000Z-000007.json", "{}");
	write_file("20261127T010000Z-000008.json", "junk: no tenant");

	assert_int_equal(xorb_store_open(store_dir, &s, &err), XORB_OK);

	assert_int_equal(xorb_prune_scan(s, "t-qa", &v, &n, &err), XORB_OK);
	assert_int_equal(n, 3);
	/* sorted by key */
	assert_string_equal(v[0].id, "20261125T010000Z-000002");
	assert_false(v[0].complete);
	assert_true(v[0].has_archive);
	assert_int_equal(v[0].archive_size, 8);
	assert_true(v[0].archive_mtime > 0);
	assert_string_equal(v[1].id, "20261126T010000Z-000001");
	assert_true(v[1].complete);
	assert_false(v[1].has_archive);
	assert_string_equal(v[2].id, "20261127T170508Z-3fa9c1");
	assert_true(v[2].complete);
	assert_true(v[2].has_archive);
	assert_int_equal(v[2].archive_size, 9);
	assert_int_equal(v[2].time, utc(2026, 11, 27, 17, 5, 8));
	assert_string_equal(v[2].tenant, "t-qa");
	free(v);

	assert_int_equal(xorb_prune_scan(s, NULL, &v, &n, &err), XORB_OK);
	assert_int_equal(n, 4);
	assert_string_equal(v[3].tenant, "t-qa-eu");
	assert_string_equal(v[3].id, "20261127T010000Z-000006");
	free(v);

	assert_int_equal(xorb_prune_scan(s, "t-none", &v, &n, &err), XORB_OK);
	assert_int_equal(n, 0);
	assert_null(v);

	assert_int_equal(xorb_prune_scan(s, "x", &v, &n, &err), XORB_EINVAL);
	xorb_store_free(s);
}

/* The sidecar goes first: when it cannot be removed the archive stays (the
 * backup still lists and reads); when the archive cannot be removed the
 * sidecar is already gone (nothing lists that cannot be read). */
static void test_remove_sidecar_first(void **state)
{
	struct xorb_store *s = NULL;
	struct xorb_error err = { 0, "" };
	struct xorb_prune_item it;

	make_dir("t-rm");
	assert_int_equal(xorb_store_open(store_dir, &s, &err), XORB_OK);

	/* a plain removal; then again: already gone counts as removed */
	write_file("t-rm/20261101T000000Z-000001.json", "{}");
	write_file("t-rm/20261101T000000Z-000001.tar.zst", "a");
	set_backup(&it, "t-rm", utc(2026, 11, 1, 0, 0, 0), "000001");
	assert_int_equal(xorb_prune_remove(s, &it, &err), XORB_OK);
	assert_false(exists("t-rm/20261101T000000Z-000001.json"));
	assert_false(exists("t-rm/20261101T000000Z-000001.tar.zst"));
	assert_int_equal(xorb_prune_remove(s, &it, &err), XORB_OK);

	/* a sidecar that cannot be removed (a directory): the archive stays */
	make_dir("t-rm/20261102T000000Z-000002.json");
	write_file("t-rm/20261102T000000Z-000002.json/x", "x");
	write_file("t-rm/20261102T000000Z-000002.tar.zst", "a");
	set_backup(&it, "t-rm", utc(2026, 11, 2, 0, 0, 0), "000002");
	assert_int_not_equal(xorb_prune_remove(s, &it, &err), XORB_OK);
	assert_non_null(strstr(err.msg, "backup t-rm/20261102T000000Z-000002 is not removed: cannot remove \"t-rm/20261102T000000Z-000002.json\""));
	assert_true(exists("t-rm/20261102T000000Z-000002.tar.zst"));

	/* an archive that cannot be removed: the sidecar is gone already */
	write_file("t-rm/20261103T000000Z-000003.json", "{}");
	make_dir("t-rm/20261103T000000Z-000003.tar.zst");
	set_backup(&it, "t-rm", utc(2026, 11, 3, 0, 0, 0), "000003");
	assert_int_not_equal(xorb_prune_remove(s, &it, &err), XORB_OK);
	assert_non_null(strstr(err.msg, "backup t-rm/20261103T000000Z-000003 is half removed (sidecar gone, archive left;"));
	assert_false(exists("t-rm/20261103T000000Z-000003.json"));

	/* a leftover: only the archive */
	write_file("t-rm/20261104T000000Z-000004.tar.zst", "a");
	write_file("t-rm/20261104T000000Z-000004.json.keep", "not ours");
	set_leftover(&it, "t-rm", utc(2026, 11, 4, 0, 0, 0), "000004", 0);
	assert_int_equal(xorb_prune_remove(s, &it, &err), XORB_OK);
	assert_false(exists("t-rm/20261104T000000Z-000004.tar.zst"));
	assert_true(exists("t-rm/20261104T000000Z-000004.json.keep"));
	xorb_store_free(s);
}

/* Only the unfinished uploads of backup keys are scanned: a file store's
 * temporary files of <tenant>/<id>.json and .tar.zst, of the tenant asked. */
static void test_scan_unfinished(void **state)
{
	struct xorb_store *s = NULL;
	struct xorb_error err = { 0, "" };
	struct xorb_prune_unfinished *v = NULL, bad;
	size_t n = 0;

	make_dir("t-qa");
	make_dir("t-qa-eu");
	make_dir("bad_tenant");
	make_dir("t-qa/sub");
	write_file("t-qa/20261127T170508Z-3fa9c1.json", "{}");
	write_file("t-qa/.20261127T170508Z-3fa9c1.tar.zst.tmp-a1B2c3", "partial");
	write_file("t-qa/.20261128T170508Z-000001.json.tmp-zzzzzz", "{");
	write_file("t-qa/.notes.txt.tmp-abcdef", "not a backup key");
	write_file("t-qa/.20261125T010000Z-00000G.json.tmp-abcdef", "not an id");
	write_file("t-qa/sub/.20261125T010000Z-000004.json.tmp-abcdef", "too deep");
	write_file("t-qa-eu/.20261127T010000Z-000006.tar.zst.tmp-qwerty", "partial");
	write_file("bad_tenant/.20261127T010000Z-000007.json.tmp-abcdef", "bad tenant");
	write_file(".20261127T010000Z-000008.json.tmp-abcdef", "no tenant");
	/* the longest tenant's encrypted archive: its key is the longest a
	 * backup has (it was 4 bytes too long for the key buffer, and such an
	 * upload was never listed nor removed) */
	make_dir(T63);
	write_file(T63 "/.20261127T010000Z-000009.tar.zst.age.tmp-abcdef", "partial");
	assert_int_equal(xorb_store_open(store_dir, &s, &err), XORB_OK);

	assert_int_equal(xorb_prune_scan_unfinished(s, "t-qa", &v, &n, &err), XORB_OK);
	assert_int_equal(n, 2);
	assert_int_equal(xorb_prune_plan_unfinished(XORB_PRUNE_GRACE_DEFAULT, time(NULL), v, n, &err), XORB_OK);
	assert_string_equal(v[0].tenant, "t-qa");
	assert_string_equal(v[0].key, "t-qa/20261127T170508Z-3fa9c1.tar.zst");
	assert_string_equal(v[0].id, ".20261127T170508Z-3fa9c1.tar.zst.tmp-a1B2c3");
	assert_true(v[0].last_write > time(NULL) - 600 && v[0].last_write <= time(NULL) + 60);
	assert_true(v[0].keep);
	assert_string_equal(v[1].key, "t-qa/20261128T170508Z-000001.json");
	xorb_prune_unfinished_free(v, n);

	assert_int_equal(xorb_prune_scan_unfinished(s, T63, &v, &n, &err), XORB_OK);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].key, T63 "/20261127T010000Z-000009.tar.zst.age");
	assert_int_equal(xorb_prune_remove_unfinished(s, &v[0], &err), XORB_OK);
	assert_false(exists(T63 "/.20261127T010000Z-000009.tar.zst.age.tmp-abcdef"));
	xorb_prune_unfinished_free(v, n);

	assert_int_equal(xorb_prune_scan_unfinished(s, NULL, &v, &n, &err), XORB_OK);
	assert_int_equal(n, 3);
	assert_int_equal(xorb_prune_plan_unfinished(XORB_PRUNE_GRACE_DEFAULT, time(NULL), v, n, &err), XORB_OK);
	assert_string_equal(v[2].key, "t-qa-eu/20261127T010000Z-000006.tar.zst");

	/* removal; then gone, which counts as removed */
	assert_int_equal(xorb_prune_remove_unfinished(s, &v[2], &err), XORB_OK);
	assert_false(exists("t-qa-eu/.20261127T010000Z-000006.tar.zst.tmp-qwerty"));
	assert_int_equal(xorb_prune_remove_unfinished(s, &v[2], &err), XORB_OK);
	xorb_prune_unfinished_free(v, n);

	assert_int_equal(xorb_prune_scan_unfinished(s, "t-none", &v, &n, &err), XORB_OK);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_int_equal(xorb_prune_scan_unfinished(s, "x", &v, &n, &err), XORB_EINVAL);

	/* a removal the store refuses says what was not removed */
	set_unfinished(&bad, "t-qa", "20261127T170508Z-3fa9c1.tar.zst", 1);
	bad.id = (char *)".notes.txt.tmp-abcdef";
	assert_int_equal(xorb_prune_remove_unfinished(s, &bad, &err), XORB_EINVAL);
	assert_non_null(strstr(err.msg, "unfinished upload of t-qa/20261127T170508Z-3fa9c1.tar.zst is not removed: "));
	assert_true(exists("t-qa/.notes.txt.tmp-abcdef"));
	xorb_prune_unfinished_free(NULL, 0);
	xorb_store_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daily_of_hourly_backups),
		cmocka_unit_test(test_last_and_weekly),
		cmocka_unit_test(test_removal_reasons),
		cmocka_unit_test(test_monthly_across_year),
		cmocka_unit_test(test_iso_week_across_year),
		cmocka_unit_test(test_hourly_skips_empty_hours),
		cmocka_unit_test(test_all_rules_and_reason_order),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_newest_is_never_removed),
		cmocka_unit_test(test_ties_in_one_second),
		cmocka_unit_test(test_tenants_are_separate),
		cmocka_unit_test(test_leftovers_by_mtime),
		cmocka_unit_test(test_unfinished_by_start),
		cmocka_unit_test(test_bad_policy_is_refused),
		cmocka_unit_test(test_duration_text),
		cmocka_unit_test(test_reasons_join_truncates),
		cmocka_unit_test_setup_teardown(test_scan_pairs_and_ignores, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_remove_sidecar_first, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_scan_unfinished, store_setup, store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

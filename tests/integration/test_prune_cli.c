/*
 * xorb-prune as a user runs it, on a synthetic file store (no NATS needed):
 * 30 backups of two tenants at chosen times, written through the store API
 * with sidecars made by xorb_manifest_to_json (so `xorb-backup list` reads
 * them), plus leftover archives without sidecars whose mtimes are set old or
 * young. Checks: --dry-run changes nothing (directory listings with sizes and
 * mtimes compared before and after) and prints the exact plan; the real run
 * leaves exactly the expected files, the other tenant untouched; --all then
 * prunes every tenant; `xorb-backup list` lists exactly the kept backups;
 * usage errors change nothing; a failed removal is reported, exits 2, and the
 * other removals still happen. Unfinished uploads (the temporary files of
 * puts whose writer died, left by a forked writer and aged with utimensat):
 * older than --grace removed, younger kept, --dry-run changes nothing, other
 * tenants and non-backup keys untouched; text and --json.
 */
#include "xt_harness.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "xorb_buf.h"
#include "xorb_hash.h"
#include "xorb_manifest.h"
#include "xorb_names.h"
#include "xorb_store.h"

#define HOUR 3600
#define DAY 86400

static char *store; /* the test's own temp dir, one per test */

/* ---- building the store ---- */

static time_t utc(int y, int mo, int d, int h)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	return timegm(&tm);
}

static void make_id(time_t t, unsigned suffix, char id[XORB_BACKUP_ID_LEN + 1])
{
	struct tm tm;
	char s[16];

	assert_non_null(gmtime_r(&t, &tm));
	assert_true(strftime(id, XORB_BACKUP_ID_LEN + 1, "%Y%m%dT%H%M%SZ-", &tm) > 0);
	snprintf(s, sizeof(s), "%06x", suffix);
	strcat(id, s);
	assert_true(xorb_backup_id_parse(id, NULL));
}

static void put(struct xorb_store *s, const char *key, const char *data, size_t len)
{
	struct xorb_error err = { 0, "" };

	if (xorb_store_put_all(s, key, data, len, &err))
		fail_msg("cannot write %s: %s", key, err.msg);
}

/* A complete backup: a small archive, then its sidecar, as xorb-backup
 * writes them (the sidecar made by xorb_manifest_to_json). */
static void put_backup(struct xorb_store *s, const char *tenant, time_t t, unsigned suffix,
		       char id_out[XORB_BACKUP_ID_LEN + 1])
{
	char id[XORB_BACKUP_ID_LEN + 1], created[32], completed[32], archive_key[128], side_key[128];
	char archive[128], tool[] = "0.1.0", ver[] = "2.10.22", name[] = "nats-1", cluster[] = "";
	char manifest_path[] = "manifest.json";
	struct xorb_entry entry;
	struct xorb_manifest m;
	struct xorb_sha256 *h = xorb_sha256_new();
	struct xorb_buf json;
	time_t done = t + 2;
	struct tm tm;

	assert_non_null(h);
	make_id(t, suffix, id);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	strftime(completed, sizeof(completed), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&done, &tm));
	snprintf(archive_key, sizeof(archive_key), "%s/%s.tar.zst", tenant, id);
	snprintf(side_key, sizeof(side_key), "%s/%s.json", tenant, id);
	snprintf(archive, sizeof(archive), "archive of %s\n", id); /* 35 bytes */
	put(s, archive_key, archive, strlen(archive));

	memset(&m, 0, sizeof(m));
	m.format_version = XORB_FORMAT_VERSION;
	m.tool_version = tool;
	m.tenant = (char *)tenant;
	m.backup_id = id;
	m.created = created;
	m.completed = completed;
	m.server_version = ver;
	m.server_name = name;
	m.cluster = cluster;
	entry.path = manifest_path;
	entry.size = 1234;
	xorb_sha256_update(h, "manifest", 8);
	xorb_sha256_final_hex(h, entry.sha256);
	m.entries = &entry;
	m.n_entries = 1;
	m.has_archive = 1;
	m.archive_key = archive_key;
	m.archive_size = strlen(archive);
	xorb_sha256_update(h, archive, strlen(archive));
	xorb_sha256_final_hex(h, m.archive_sha256);
	xorb_sha256_free(h);
	xorb_buf_init(&json);
	assert_int_equal(xorb_manifest_to_json(&m, 1, &json), 0);
	put(s, side_key, json.data, json.len);
	xorb_buf_release(&json);
	if (id_out)
		memcpy(id_out, id, XORB_BACKUP_ID_LEN + 1);
}

/* An archive without a sidecar whose object was last written at mtime. */
static void put_leftover(struct xorb_store *s, const char *tenant, const char *id, time_t mtime)
{
	char key[128], path[4300];
	struct timeval tv[2] = { { mtime, 0 }, { mtime, 0 } };

	snprintf(key, sizeof(key), "%s/%s.tar.zst", tenant, id);
	put(s, key, "partial archive\n", 16);
	snprintf(path, sizeof(path), "%s/%s", store, key);
	assert_int_equal(utimes(path, tv), 0);
}

static struct xorb_store *open_store(void)
{
	struct xorb_store *s = NULL;
	struct xorb_error err = { 0, "" };

	if (xorb_store_open(store, &s, &err))
		fail_msg("cannot open the store: %s", err.msg);
	return s;
}

/* ---- looking at the store ---- */

static void walk(const char *dir, const char *rel, struct xorb_buf *out, int with_stat)
{
	struct dirent **names = NULL;
	int n, i;

	n = scandir(dir, &names, NULL, alphasort);
	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		char path[4300], r[1024];
		struct stat st;

		if (strcmp(nm, ".") && strcmp(nm, "..")) {
			snprintf(path, sizeof(path), "%s/%s", dir, nm);
			snprintf(r, sizeof(r), "%s%s%s", rel, *rel ? "/" : "", nm);
			assert_int_equal(lstat(path, &st), 0);
			if (S_ISDIR(st.st_mode) && !strstr(nm, ".tar.zst"))
				walk(path, r, out, with_stat);
			else if (with_stat)
				xorb_buf_printf(out, "%s %lld %lld\n", r, (long long)st.st_size,
						(long long)st.st_mtime);
			else
				xorb_buf_printf(out, "%s\n", r);
		}
		free(names[i]);
	}
	free(names);
}

/* Every file of the store, sorted, one a line (with size and mtime). */
static char *listing(int with_stat)
{
	struct xorb_buf b;

	xorb_buf_init(&b);
	assert_int_equal(xorb_buf_puts(&b, ""), 0);
	walk(store, "", &b, with_stat);
	return xorb_buf_detach(&b);
}

/* ---- running the commands ---- */

/* Runs a command with XORB_STORE set to the test's store. */
static int run(struct xt_result *r, const char *first, ...)
{
	const char *argv[32], *env[2];
	char store_env[4200];
	size_t n = 0;
	va_list ap;

	snprintf(store_env, sizeof(store_env), "XORB_STORE=%s", store);
	env[0] = store_env;
	env[1] = NULL;
	argv[n++] = xt_bin(first);
	va_start(ap, first);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	memset(r, 0, sizeof(*r));
	assert_int_equal(xt_run(argv, env, 60, r), 0);
	return r->status;
}

static void show(const char *what, const struct xt_result *r)
{
	fprintf(stderr, "--- %s: exit %d\n--- stdout:\n%s--- stderr:\n%s", what, r->status, r->out,
		r->err);
}

static void expect_status(const char *what, const struct xt_result *r, int want)
{
	if (r->status != want) {
		show(what, r);
		fail_msg("%s: exit %d, expected %d", what, r->status, want);
	}
}

static size_t count_lines(const char *text, const char *prefix)
{
	size_t n = 0;
	const char *l = text;

	while (l && *l) {
		if (!strncmp(l, prefix, strlen(prefix)))
			n++;
		l = strchr(l, '\n');
		l = l ? l + 1 : NULL;
	}
	return n;
}

/* ---- fixtures ---- */

static int setup(void **state)
{
	store = xt_tempdir("prune");
	return store ? 0 : -1;
}

static int teardown(void **state)
{
	int rc = xt_rmtree(store);

	free(store);
	store = NULL;
	return rc;
}

/* t-qa: 20 backups every 6 hours from 2026-11-20T00 (Friday, ISO week 47) to
 * 2026-11-24T18 (Tuesday, week 48); t-ops: 10 daily backups at 03:00 from
 * 2026-11-15 to 2026-11-24. Leftovers: in t-qa one old (an id from the
 * future, but an object 2 days old: removed) and one young (an old id, but an
 * object written now: an upload still running, kept); in t-ops one old. */
static char qa_ids[20][XORB_BACKUP_ID_LEN + 1], ops_ids[10][XORB_BACKUP_ID_LEN + 1];

static void build_store(void)
{
	struct xorb_store *s = open_store();
	time_t now = time(NULL);
	char path[4300];
	FILE *f;
	int i;

	for (i = 0; i < 20; i++)
		put_backup(s, "t-qa", utc(2026, 11, 20, 0) + i * 6 * HOUR, 0x100 + (unsigned)i, qa_ids[i]);
	for (i = 0; i < 10; i++)
		put_backup(s, "t-ops", utc(2026, 11, 15, 3) + i * DAY, 0x200 + (unsigned)i, ops_ids[i]);
	put_leftover(s, "t-qa", "20991231T000000Z-dead01", now - 2 * DAY);
	put_leftover(s, "t-qa", "20200101T000000Z-beef01", now);
	put_leftover(s, "t-ops", "20261101T000000Z-dead02", now - 3 * DAY);
	xorb_store_free(s);
	/* not a backup: never touched */
	snprintf(path, sizeof(path), "%s/t-qa/README.txt", store);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("notes\n", f);
	fclose(f);
}

/* The files expected when t-qa keeps indexes qa_keep and t-ops ops_keep. */
static char *expected_files(const int *qa_keep, size_t nq, const int *ops_keep, size_t no,
			    int ops_leftover)
{
	struct xorb_buf b;
	char *lines[64], *out;
	size_t n = 0, i, k;

	for (i = 0; i < nq; i++) {
		assert_true(asprintf(&lines[n++], "t-qa/%s.json", qa_ids[qa_keep[i]]) > 0);
		assert_true(asprintf(&lines[n++], "t-qa/%s.tar.zst", qa_ids[qa_keep[i]]) > 0);
	}
	for (i = 0; i < no; i++) {
		assert_true(asprintf(&lines[n++], "t-ops/%s.json", ops_ids[ops_keep[i]]) > 0);
		assert_true(asprintf(&lines[n++], "t-ops/%s.tar.zst", ops_ids[ops_keep[i]]) > 0);
	}
	lines[n++] = strdup("t-qa/20200101T000000Z-beef01.tar.zst");
	lines[n++] = strdup("t-qa/README.txt");
	if (ops_leftover)
		lines[n++] = strdup("t-ops/20261101T000000Z-dead02.tar.zst");
	/* sorted like scandir's alphasort in the C locale */
	for (i = 1; i < n; i++)
		for (k = i; k > 0 && strcmp(lines[k - 1], lines[k]) > 0; k--) {
			char *t = lines[k];

			lines[k] = lines[k - 1];
			lines[k - 1] = t;
		}
	xorb_buf_init(&b);
	assert_int_equal(xorb_buf_puts(&b, ""), 0);
	for (i = 0; i < n; i++) {
		xorb_buf_printf(&b, "%s\n", lines[i]);
		free(lines[i]);
	}
	out = xorb_buf_detach(&b);
	return out;
}

static const char dry_run_qa[] =
	"would remove t-qa 20991231T000000Z-dead01  (incomplete, older than 24h)\n"
	"keep         t-qa 20261124T180000Z-000113  (last 1/2, daily 2026-11-24, weekly 2026-W48)\n"
	"keep         t-qa 20261124T120000Z-000112  (last 2/2)\n"
	"would remove t-qa 20261124T060000Z-000111  (not among the last 2, daily 2026-11-24 has a newer one, weekly 2026-W48 has a newer one)\n"
	"would remove t-qa 20261124T000000Z-000110  (not among the last 2, daily 2026-11-24 has a newer one, weekly 2026-W48 has a newer one)\n"
	"keep         t-qa 20261123T180000Z-00010f  (daily 2026-11-23)\n"
	"would remove t-qa 20261123T120000Z-00010e  (not among the last 2, daily 2026-11-23 has a newer one, weekly 2026-W48 has a newer one)\n"
	"would remove t-qa 20261123T060000Z-00010d  (not among the last 2, daily 2026-11-23 has a newer one, weekly 2026-W48 has a newer one)\n"
	"would remove t-qa 20261123T000000Z-00010c  (not among the last 2, daily 2026-11-23 has a newer one, weekly 2026-W48 has a newer one)\n"
	"keep         t-qa 20261122T180000Z-00010b  (daily 2026-11-22, weekly 2026-W47)\n"
	"would remove t-qa 20261122T120000Z-00010a  (not among the last 2, daily 2026-11-22 has a newer one, weekly 2026-W47 has a newer one)\n"
	"would remove t-qa 20261122T060000Z-000109  (not among the last 2, daily 2026-11-22 has a newer one, weekly 2026-W47 has a newer one)\n"
	"would remove t-qa 20261122T000000Z-000108  (not among the last 2, daily 2026-11-22 has a newer one, weekly 2026-W47 has a newer one)\n"
	"would remove t-qa 20261121T180000Z-000107  (not among the last 2, older than the 3 daily kept, weekly 2026-W47 has a newer one)\n"
	"would remove t-qa 20261121T120000Z-000106  (not among the last 2, older than the 3 daily kept, weekly 2026-W47 has a newer one)\n"
	"would remove t-qa 20261121T060000Z-000105  (not among the last 2, older than the 3 daily kept, weekly 2026-W47 has a newer one)\n"
	"would remove t-qa 20261121T000000Z-000104  (not among the last 2, older than the 3 daily kept, weekly 2026-W47 has a newer one)\n"
	"would remove t-qa 20261120T180000Z-000103  (not among the last 2, older than the 3 daily kept, weekly 2026-W47 has a newer one)\n"
	"would remove t-qa 20261120T120000Z-000102  (not among the last 2, older than the 3 daily kept, weekly 2026-W47 has a newer one)\n"
	"would remove t-qa 20261120T060000Z-000101  (not among the last 2, older than the 3 daily kept, weekly 2026-W47 has a newer one)\n"
	"would remove t-qa 20261120T000000Z-000100  (not among the last 2, older than the 3 daily kept, weekly 2026-W47 has a newer one)\n"
	"keep         t-qa 20200101T000000Z-beef01  (incomplete, may still be uploading)\n"
	/* 16 archives of 35 bytes and a 16-byte leftover */
	"dry run, nothing changed: 1 tenant: 4 backups kept, 16 would be removed; "
	"incomplete: 1 would be removed, 1 kept (may still be uploading); 576 B would be freed\n";

#define POLICY "--keep-last", "2", "--keep-daily", "3", "--keep-weekly", "2"

static void test_dry_run_then_prune_then_all(void **state)
{
	static const int qa_keep[] = { 19, 18, 15, 11 }, ops_keep[] = { 9, 8, 7 };
	static const int ops_all[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	struct xt_result r;
	char *before, *after, *want;
	cJSON *j, *it;
	struct xorb_buf ids;

	build_store();
	before = listing(1);
	assert_int_equal(count_lines(before, "t-qa/"), 40 + 3);
	assert_int_equal(count_lines(before, "t-ops/"), 20 + 1);

	/* --dry-run: the exact plan, and nothing changes */
	run(&r, "xorb-prune", "--store", store, "t-qa", POLICY, "--dry-run", NULL);
	expect_status("dry run", &r, 0);
	assert_string_equal(r.out, dry_run_qa);
	assert_string_equal(r.err, "");
	xt_result_release(&r);
	run(&r, "xorb-prune", "--store", store, "t-qa", POLICY, "--dry-run", "--json", NULL);
	expect_status("dry run --json", &r, 0);
	j = cJSON_Parse(r.out);
	assert_non_null(j);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "dry_run")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "backups")), 22);
	assert_int_equal(cJSON_GetObjectItem(j, "kept")->valueint, 4);
	assert_int_equal(cJSON_GetObjectItem(j, "removed")->valueint, 16);
	assert_int_equal(cJSON_GetObjectItem(j, "incomplete_removed")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(j, "incomplete_kept")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(j, "failed")->valueint, 0);
	assert_string_equal(cJSON_GetObjectItem(j, "result")->valuestring, "ok");
	it = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "backups"), 1);
	assert_string_equal(cJSON_GetObjectItem(it, "backup_id")->valuestring, qa_ids[19]);
	assert_string_equal(cJSON_GetObjectItem(it, "action")->valuestring, "keep");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(it, "reasons"), 2)->valuestring,
			    "weekly 2026-W48");
	it = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "backups"), 3);
	assert_string_equal(cJSON_GetObjectItem(it, "action")->valuestring, "remove");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(it, "removed")));
	cJSON_Delete(j);
	xt_result_release(&r);
	after = listing(1);
	assert_string_equal(after, before);
	free(after);

	/* for real: exactly the kept files remain, t-ops untouched */
	run(&r, "xorb-prune", "--store", store, "t-qa", POLICY, NULL);
	expect_status("prune t-qa", &r, 0);
	assert_int_equal(count_lines(r.out, "remove t-qa "), 17);
	assert_int_equal(count_lines(r.out, "keep   t-qa "), 5);
	assert_non_null(strstr(r.out, "remove t-qa 20991231T000000Z-dead01  (incomplete, older than 24h)\n"));
	assert_non_null(strstr(r.out, "keep   t-qa 20200101T000000Z-beef01  (incomplete, may still be uploading)\n"));
	assert_non_null(strstr(r.out, "1 tenant: 4 backups kept, 16 removed; incomplete: 1 removed, 1 kept (may still be uploading); 576 B freed\n"));
	assert_string_equal(r.err, "");
	xt_result_release(&r);
	after = listing(0);
	want = expected_files(qa_keep, 4, ops_all, 10, 1);
	assert_string_equal(after, want);
	free(after);
	free(want);

	/* again: nothing more to do */
	run(&r, "xorb-prune", "--store", store, "t-qa", POLICY, NULL);
	expect_status("prune t-qa again", &r, 0);
	assert_int_equal(count_lines(r.out, "remove"), 0);
	assert_non_null(strstr(r.out, "1 tenant: 4 backups kept, 0 removed; incomplete: 0 removed, 1 kept (may still be uploading); 0 B freed\n"));
	xt_result_release(&r);

	/* --all: t-ops too; t-qa stays as it is */
	run(&r, "xorb-prune", "--store", store, "--all", POLICY, NULL);
	expect_status("prune --all", &r, 0);
	assert_int_equal(count_lines(r.out, "remove t-ops "), 8);
	assert_int_equal(count_lines(r.out, "remove t-qa"), 0);
	assert_int_equal(count_lines(r.out, "keep   t-qa  "), 5);
	assert_non_null(strstr(r.out, "keep   t-ops 20261124T030000Z-000209  (last 1/2, daily 2026-11-24, weekly 2026-W48)\n"));
	assert_non_null(strstr(r.out, "keep   t-ops 20261123T030000Z-000208  (last 2/2, daily 2026-11-23)\n"));
	assert_non_null(strstr(r.out, "keep   t-ops 20261122T030000Z-000207  (daily 2026-11-22, weekly 2026-W47)\n"));
	assert_non_null(strstr(r.out, "remove t-ops 20261101T000000Z-dead02  (incomplete, older than 24h)\n"));
	assert_non_null(strstr(r.out, "2 tenants: 7 backups kept, 7 removed; incomplete: 1 removed, 1 kept (may still be uploading); 261 B freed\n"));
	xt_result_release(&r);
	after = listing(0);
	want = expected_files(qa_keep, 4, ops_keep, 3, 0);
	assert_string_equal(after, want);
	free(after);
	free(want);

	/* xorb-backup list: exactly the kept backups, newest first */
	run(&r, "xorb-backup", "list", "--json", NULL); /* the store from XORB_STORE */
	expect_status("list", &r, 0);
	j = cJSON_Parse(r.out);
	assert_non_null(j);
	xorb_buf_init(&ids);
	assert_int_equal(xorb_buf_puts(&ids, ""), 0);
	cJSON_ArrayForEach(it, j)
		xorb_buf_printf(&ids, "%s/%s\n", cJSON_GetObjectItem(it, "tenant")->valuestring,
				cJSON_GetObjectItem(it, "backup_id")->valuestring);
	cJSON_Delete(j);
	assert_string_equal(ids.data,
			    "t-qa/20261124T180000Z-000113\n"
			    "t-qa/20261124T120000Z-000112\n"
			    "t-ops/20261124T030000Z-000209\n"
			    "t-qa/20261123T180000Z-00010f\n"
			    "t-ops/20261123T030000Z-000208\n"
			    "t-qa/20261122T180000Z-00010b\n"
			    "t-ops/20261122T030000Z-000207\n");
	xorb_buf_release(&ids);
	xt_result_release(&r);
	free(before);
}

/* Usage errors exit 64 and change nothing. */
static void test_usage_errors(void **state)
{
	static const char *const cases[][8] = {
		{ "t-qa", NULL },					 /* no policy */
		{ "t-qa", "--grace", "48h", NULL },			 /* still no policy */
		{ "t-qa", "--keep-last", "-1", NULL },			 /* negative */
		{ "t-qa", "--keep-daily", "seven", NULL },		 /* not a number */
		{ "t-qa", "--keep-last", "2", "--bogus", NULL },	 /* unknown flag */
		{ "--keep-last", "2", NULL },				 /* no tenant, no --all */
		{ "t-qa", "--all", "--keep-last", "2", NULL },		 /* both */
		{ "t_qa", "--keep-last", "2", NULL },			 /* bad tenant */
		{ "t-qa", "t-ops", "--keep-last", "2", NULL },		 /* two tenants */
		{ "t-qa", "--keep-last", "2", "--grace", "1.5h", NULL }, /* bad duration */
		{ "t-qa", "--keep-last", "2", "--grace", "5m", NULL },	 /* grace too short */
	};
	struct xt_result r;
	char *before, *after;
	size_t i, k, a;

	build_store();
	before = listing(1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[16];

		k = 0;
		argv[k++] = xt_bin("xorb-prune");
		argv[k++] = "--store";
		argv[k++] = store;
		for (a = 0; cases[i][a]; a++)
			argv[k++] = cases[i][a];
		argv[k] = NULL;
		memset(&r, 0, sizeof(r));
		assert_int_equal(xt_run(argv, NULL, 60, &r), 0);
		expect_status(cases[i][0], &r, 64);
		assert_non_null(strstr(r.err, "xorb-prune: usage error: "));
		assert_string_equal(r.out, "");
		if (i == 0)
			assert_non_null(strstr(r.err, "refusing to remove every backup but the newest"));
		xt_result_release(&r);
	}
	after = listing(1);
	assert_string_equal(after, before);
	free(before);
	free(after);
}

/* A removal that fails is reported with what was left, exits 2, and the
 * other removals still happen. The archive keys are made directories, which
 * the file store cannot unlink (whoever runs the test, root included). */
static void test_failed_removal(void **state)
{
	struct xorb_store *s = open_store();
	char id[5][XORB_BACKUP_ID_LEN + 1], path[4300], *files;
	struct xt_result r;
	cJSON *j;
	int i;

	for (i = 0; i < 5; i++)
		put_backup(s, "t-bad", utc(2026, 11, 20 + i, 1), 0x300 + (unsigned)i, id[i]);
	xorb_store_free(s);
	for (i = 1; i < 4; i += 2) { /* the 2nd and 4th */
		snprintf(path, sizeof(path), "%s/t-bad/%s.tar.zst", store, id[i]);
		assert_int_equal(unlink(path), 0);
		assert_int_equal(mkdir(path, 0700), 0);
	}

	run(&r, "xorb-prune", "--store", store, "t-bad", "--keep-last", "1", NULL);
	expect_status("prune with failures", &r, 2);
	for (i = 1; i < 4; i += 2) {
		char want[256];

		snprintf(want, sizeof(want), "xorb-prune: error: backup t-bad/%s is half removed", id[i]);
		assert_non_null(strstr(r.err, want));
		snprintf(want, sizeof(want), "FAILED t-bad %s  (not among the last 1)\n", id[i]);
		assert_non_null(strstr(r.out, want));
	}
	assert_non_null(strstr(r.out, "1 tenant: 1 backup kept, 2 removed; 70 B freed; 2 removals FAILED\n"));
	xt_result_release(&r);
	files = listing(0);
	/* sidecars first: the failed ones no longer list; the others are gone */
	{
		char want[1024];

		snprintf(want, sizeof(want), "t-bad/%s.tar.zst\nt-bad/%s.tar.zst\nt-bad/%s.json\nt-bad/%s.tar.zst\n",
			 id[1], id[3], id[4], id[4]);
		assert_string_equal(files, want);
	}
	free(files);

	/* once the archives can be removed, what a cut-short removal left is an
	 * archive without a sidecar: the next prune removes it (past the grace) */
	s = open_store();
	for (i = 1; i < 4; i += 2) {
		char name[64];

		snprintf(path, sizeof(path), "%s/t-bad/%s.tar.zst", store, id[i]);
		assert_int_equal(rmdir(path), 0);
		snprintf(name, sizeof(name), "%s", id[i]);
		put_leftover(s, "t-bad", name, time(NULL) - 2 * DAY);
	}
	xorb_store_free(s);
	run(&r, "xorb-prune", "--store", store, "t-bad", "--keep-last", "1", "--json", NULL);
	expect_status("prune again", &r, 0);
	j = cJSON_Parse(r.out);
	assert_non_null(j);
	assert_int_equal(cJSON_GetObjectItem(j, "incomplete_removed")->valueint, 2);
	assert_int_equal(cJSON_GetObjectItem(j, "kept")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(j, "removed")->valueint, 0);
	assert_int_equal(cJSON_GetObjectItem(j, "failed")->valueint, 0);
	assert_string_equal(cJSON_GetObjectItem(j, "result")->valuestring, "ok");
	cJSON_Delete(j);
	xt_result_release(&r);
	files = listing(0);
	{
		char want[1024];

		snprintf(want, sizeof(want), "t-bad/%s.json\nt-bad/%s.tar.zst\n", id[4], id[4]);
		assert_string_equal(files, want);
	}
	free(files);
}

/* A store without backups of the tenant: nothing to do, exit 0. */
static void test_nothing_to_prune(void **state)
{
	struct xt_result r;

	run(&r, "xorb-prune", "--store", store, "t-none", "--keep-daily", "7", NULL);
	expect_status("prune empty", &r, 0);
	assert_non_null(strstr(r.out, "no backups of tenant t-none in store"));
	xt_result_release(&r);
	/* as schedules/xorb-scheduled runs it */
	run(&r, "xorb-prune", "--log-format", "json", "--all", "--keep-daily", "7", "--json", NULL);
	expect_status("prune empty --json", &r, 0);
	assert_non_null(strstr(r.out, "\"backups\":[],\"tenants\":0,"));
	xt_result_release(&r);
}

/* What a backup killed while writing key leaves: a child begins the put and
 * exits without commit or abort. The temporary file's mtime is then set to
 * mtime; its name goes to name. */
static void put_unfinished(const char *key, time_t mtime, char *name, size_t len)
{
	const char *slash = strrchr(key, '/');
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
	char dir[4300], path[4400], want[256];
	struct dirent *de;
	int st = 0, found = 0;
	DIR *d;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct xorb_error err = { 0, "" };
		struct xorb_store_writer *w;
		struct xorb_store *s;

		if (xorb_store_open(store, &s, &err) || xorb_store_put_begin(s, key, &w, &err) ||
		    xorb_store_put_write(w, "partial archive\n", 16, &err))
			_exit(1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_non_null(slash);
	snprintf(dir, sizeof(dir), "%s/%.*s", store, (int)(slash - key), key);
	snprintf(want, sizeof(want), ".%s.tmp-", slash + 1);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, want, strlen(want))) {
			snprintf(name, len, "%s", de->d_name);
			found++;
		}
	closedir(d);
	assert_int_equal(found, 1);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void started_text(time_t t, char *buf, size_t len)
{
	struct tm tm;

	assert_true(strftime(buf, len, "%Y-%m-%d %H:%M UTC", gmtime_r(&t, &tm)) > 0);
}

/* Unfinished uploads older than --grace go, younger ones stay; --dry-run
 * changes nothing; another tenant's go only with --all; a temporary file of a
 * key that is not a backup's is never touched. */
static void test_unfinished_uploads(void **state)
{
	const time_t now = time(NULL), old = now - 3 * HOUR, young = now - 5 * 60, ops_old = now - 2 * DAY;
	char old_name[256], young_name[256], ops_name[256], notes_name[256], old_when[32], young_when[32];
	char want[2048], path[4400], *before, *after;
	struct xorb_store *s = open_store();
	struct xt_result r;
	cJSON *j, *u;

	put_backup(s, "t-qa", utc(2026, 11, 20, 0), 0x100, NULL);
	xorb_store_free(s);
	put_unfinished("t-qa/20261126T100000Z-00dead.tar.zst", old, old_name, sizeof(old_name));
	put_unfinished("t-qa/20261128T090000Z-00beef.tar.zst", young, young_name, sizeof(young_name));
	put_unfinished("t-ops/20261126T100000Z-00ab01.tar.zst", ops_old, ops_name, sizeof(ops_name));
	put_unfinished("t-qa/notes.txt", ops_old, notes_name, sizeof(notes_name));
	started_text(old, old_when, sizeof(old_when));
	started_text(young, young_when, sizeof(young_when));
	before = listing(1);

	/* --dry-run: the plan, and nothing changes */
	run(&r, "xorb-prune", "--store", store, "t-qa", "--keep-last", "1", "--grace", "1h", "--dry-run", NULL);
	expect_status("dry run", &r, 0);
	snprintf(want, sizeof(want),
		 "keep         t-qa 20261120T000000Z-000100  (last 1/1)\n"
		 "would remove t-qa unfinished upload of 20261126T100000Z-00dead.tar.zst, last written %s  (older than 1h)\n"
		 "keep         t-qa unfinished upload of 20261128T090000Z-00beef.tar.zst, last written %s  (may still be uploading)\n"
		 "dry run, nothing changed: 1 tenant: 1 backup kept, 0 would be removed; "
		 "unfinished uploads: 1 would be removed, 1 kept (may still be uploading); 0 B would be freed\n",
		 old_when, young_when);
	assert_string_equal(r.out, want);
	assert_string_equal(r.err, "");
	xt_result_release(&r);
	run(&r, "xorb-prune", "--store", store, "t-qa", "--keep-last", "1", "--grace", "1h", "--dry-run", "--json",
	    NULL);
	expect_status("dry run --json", &r, 0);
	j = cJSON_Parse(r.out);
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "backups")), 1);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "unfinished")), 2);
	assert_int_equal(cJSON_GetObjectItem(j, "unfinished_removed")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(j, "unfinished_kept")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(j, "failed")->valueint, 0);
	assert_string_equal(cJSON_GetObjectItem(j, "result")->valuestring, "ok");
	u = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "unfinished"), 0);
	assert_string_equal(cJSON_GetObjectItem(u, "tenant")->valuestring, "t-qa");
	assert_string_equal(cJSON_GetObjectItem(u, "key")->valuestring, "t-qa/20261126T100000Z-00dead.tar.zst");
	assert_string_equal(cJSON_GetObjectItem(u, "upload_id")->valuestring, old_name);
	{
		char iso[32];
		struct tm tm;

		strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&old, &tm));
		assert_string_equal(cJSON_GetObjectItem(u, "last_write")->valuestring, iso);
	}
	assert_string_equal(cJSON_GetObjectItem(u, "action")->valuestring, "remove");
	assert_string_equal(cJSON_GetObjectItem(u, "reason")->valuestring, "older than 1h");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(u, "removed")));
	u = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "unfinished"), 1);
	assert_string_equal(cJSON_GetObjectItem(u, "action")->valuestring, "keep");
	assert_string_equal(cJSON_GetObjectItem(u, "reason")->valuestring, "may still be uploading");
	assert_null(cJSON_GetObjectItem(u, "removed"));
	cJSON_Delete(j);
	xt_result_release(&r);
	after = listing(1);
	assert_string_equal(after, before);
	free(after);
	free(before);

	/* for real: the old one goes, the young one, the other tenant's and the
	 * non-backup key's stay */
	run(&r, "xorb-prune", "--store", store, "t-qa", "--keep-last", "1", "--grace", "1h", NULL);
	expect_status("prune", &r, 0);
	snprintf(want, sizeof(want),
		 "remove t-qa unfinished upload of 20261126T100000Z-00dead.tar.zst, last written %s  (older than 1h)\n", old_when);
	assert_non_null(strstr(r.out, want));
	snprintf(want, sizeof(want),
		 "keep   t-qa unfinished upload of 20261128T090000Z-00beef.tar.zst, last written %s  (may still be uploading)\n",
		 young_when);
	assert_non_null(strstr(r.out, want));
	assert_non_null(strstr(r.out, "1 tenant: 1 backup kept, 0 removed; unfinished uploads: 1 removed, 1 kept (may still be uploading); 0 B freed\n"));
	assert_string_equal(r.err, "");
	xt_result_release(&r);
	after = listing(0);
	snprintf(want, sizeof(want),
		 "t-ops/%s\nt-qa/%s\nt-qa/%s\nt-qa/20261120T000000Z-000100.json\nt-qa/20261120T000000Z-000100.tar.zst\n",
		 ops_name, young_name, notes_name);
	assert_string_equal(after, want);
	free(after);

	/* --all: the other tenant's old one too */
	run(&r, "xorb-prune", "--store", store, "--all", "--keep-last", "1", "--grace", "1h", "--json", NULL);
	expect_status("prune --all", &r, 0);
	j = cJSON_Parse(r.out);
	assert_non_null(j);
	assert_int_equal(cJSON_GetObjectItem(j, "tenants")->valueint, 2);
	assert_int_equal(cJSON_GetObjectItem(j, "unfinished_removed")->valueint, 1);
	assert_int_equal(cJSON_GetObjectItem(j, "unfinished_kept")->valueint, 1);
	u = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "unfinished"), 0);
	assert_string_equal(cJSON_GetObjectItem(u, "key")->valuestring, "t-ops/20261126T100000Z-00ab01.tar.zst");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(u, "removed")));
	cJSON_Delete(j);
	xt_result_release(&r);
	snprintf(path, sizeof(path), "%s/t-ops/%s", store, ops_name);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/t-qa/%s", store, young_name);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/t-qa/%s", store, notes_name);
	assert_int_equal(access(path, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dry_run_then_prune_then_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_removal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_to_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unfinished_uploads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

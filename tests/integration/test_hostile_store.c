/*
 * Hostile sidecars in a file store (issue 12, points 5 and 7), no NATS
 * server needed: the store is written by hand.
 *
 * - A sidecar whose text holds quotes, backslashes, control characters and
 *   non-ASCII (in "created", the free text of a sidecar) is listed, and
 *   every --json output of every command parses as one JSON document with
 *   exactly the members the command writes (nothing injected).
 * - `list` shows a sidecar only when its tenant, id and archive key match its
 *   own location: another tenant's sidecar copied into t-qa/, archive keys
 *   "../…", absolute, another tenant's or another id's are ignored with a
 *   warning (exit 1) that names each.
 * - `copy` of such a sidecar fails (exit 2) before it opens the key the
 *   sidecar names: nothing arrives in the destination.
 * - A tenant directory that is a symbolic link is refused by every reader
 *   and writer alike (point 3).
 */
#include "xt_harness.h"

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
#include <unistd.h>

#include <cmocka.h>

#include "xorb_hash.h"
#include "xorb_json.h"

#define ID_QA "20261201T100000Z-aaaaaa"	   /* t-qa, hostile text, in place */
#define ID_BEE "20261201T110000Z-bbbbbb"   /* t-bee, in place */
#define ID_COPIED "20261201T120000Z-cccccc" /* t-bee's sidecar copied into t-qa/ */
#define ID_DOTDOT "20261201T130000Z-dddddd" /* archive ../outside.tar.zst */
#define ID_ABS "20261201T140000Z-eeeeee"    /* archive /…/outside.tar.zst */
#define ID_OTHER_T "20261201T150000Z-ffffff" /* archive t-bee/ID_BEE.tar.zst */
#define ID_OTHER_ID "20261201T160000Z-abcdef" /* archive t-qa/ID_QA.tar.zst */

/* quotes, a crafted member, backslashes, control characters, é, U+1F600 */
static const char hostile[] = "\",\"injected\":true,\"x\":\"\\\\\" \x01\x1f\n\t \xc3\xa9 \xf0\x9f\x98\x80";

static char *work;
static char store[4200], dest[4200], outside[4200];
/* the commands (xt_bin's buffer is its own: one copy each) */
static char backup_bin[4200], prune_bin[4200], verify_bin[4200], restore_bin[4200];

static void show(const char *what, const struct xt_result *r)
{
	fprintf(stderr, "--- %s: exit %d%s\n--- stdout:\n%s--- stderr:\n%s", what, r->status,
		r->timed_out ? " (timed out)" : "", r->out ? r->out : "", r->err ? r->err : "");
}

static int run(struct xt_result *r, const char *const *argv)
{
	memset(r, 0, sizeof(*r));
	if (xt_run(argv, NULL, 120, r))
		show(argv[1], r);
	return r->status;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 16);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void sha_hex(const void *data, size_t len, char out[XORB_SHA256_HEX])
{
	struct xorb_sha256 *h = xorb_sha256_new();

	assert_non_null(h);
	xorb_sha256_update(h, data, len);
	xorb_sha256_final_hex(h, out);
	xorb_sha256_free(h);
}

/* A sidecar at <store>/<dir>/<file_id>.json describing tenant/id, its archive
 * key (and the size and digest of archive_data) as given. */
static void sidecar(const char *dir, const char *file_id, const char *tenant, const char *id, const char *created,
		    const char *archive_key, const char *archive_data)
{
	char path[4600], sha[XORB_SHA256_HEX], *tmpl, *text;
	struct xorb_error err = { 0 };
	cJSON *j = NULL, *ar;

	snprintf(path, sizeof(path), "%s/fuzz/corpus/manifest/sidecar-1-stream.json", getenv("XORB_SOURCE_DIR"));
	tmpl = read_text(path);
	/* the template is t-qa's: its streams are renamed for another tenant */
	for (char *at = tmpl; (at = strstr(at, "xorb-t-qa-"));) {
		size_t off = (size_t)(at - tmpl);
		char *rest = strdup(at + 10), *more;

		assert_non_null(rest);
		more = realloc(tmpl, strlen(tmpl) + strlen(tenant) + 16);
		assert_non_null(more);
		tmpl = more;
		at = tmpl + off;
		at += sprintf(at, "xorb-%s-", tenant);
		strcpy(at, rest);
		free(rest);
	}
	assert_int_equal(xorb_json_parse(tmpl, strlen(tmpl), "template", &j, &err), XORB_OK);
	free(tmpl);
	cJSON_ReplaceItemInObjectCaseSensitive(j, "tenant", cJSON_CreateString(tenant));
	cJSON_ReplaceItemInObjectCaseSensitive(j, "backup_id", cJSON_CreateString(id));
	cJSON_ReplaceItemInObjectCaseSensitive(j, "created", cJSON_CreateString(created));
	ar = cJSON_GetObjectItemCaseSensitive(j, "archive");
	cJSON_ReplaceItemInObjectCaseSensitive(ar, "key", cJSON_CreateString(archive_key));
	cJSON_ReplaceItemInObjectCaseSensitive(ar, "size", cJSON_CreateNumber((double)strlen(archive_data)));
	sha_hex(archive_data, strlen(archive_data), sha);
	cJSON_ReplaceItemInObjectCaseSensitive(ar, "sha256", cJSON_CreateString(sha));
	text = cJSON_PrintUnformatted(j);
	assert_non_null(text);
	snprintf(path, sizeof(path), "%s/%s", store, dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%s/%s.json", store, dir, file_id);
	write_file(path, text, strlen(text));
	free(text);
	cJSON_Delete(j);
}

static const char qa_archive[] = "not a real archive of t-qa";
static const char bee_archive[] = "not a real archive of t-bee";
static const char outside_data[] = "a file outside the store";

static int setup(void **state)
{
	char path[4600];

	(void)state;
	work = xt_tempdir("hostile");
	if (!work)
		return -1;
	snprintf(store, sizeof(store), "%s/store", work);
	snprintf(dest, sizeof(dest), "%s/dest", work);
	snprintf(backup_bin, sizeof(backup_bin), "%s", xt_bin("xorb-backup"));
	snprintf(prune_bin, sizeof(prune_bin), "%s", xt_bin("xorb-prune"));
	snprintf(verify_bin, sizeof(verify_bin), "%s", xt_bin("xorb-verify"));
	snprintf(restore_bin, sizeof(restore_bin), "%s", xt_bin("xorb-restore"));
	snprintf(outside, sizeof(outside), "%s/outside.tar.zst", work);
	mkdir(store, 0700);
	mkdir(dest, 0700);
	write_file(outside, outside_data, strlen(outside_data));
	sidecar("t-qa", ID_QA, "t-qa", ID_QA, hostile, "t-qa/" ID_QA ".tar.zst", qa_archive);
	snprintf(path, sizeof(path), "%s/t-qa/" ID_QA ".tar.zst", store);
	write_file(path, qa_archive, strlen(qa_archive));
	sidecar("t-bee", ID_BEE, "t-bee", ID_BEE, "2026-12-01T11:00:00Z", "t-bee/" ID_BEE ".tar.zst", bee_archive);
	snprintf(path, sizeof(path), "%s/t-bee/" ID_BEE ".tar.zst", store);
	write_file(path, bee_archive, strlen(bee_archive));
	/* misplaced: each names something the location does not */
	sidecar("t-qa", ID_COPIED, "t-bee", ID_BEE, "2026-12-01T11:00:00Z", "t-bee/" ID_BEE ".tar.zst", bee_archive);
	sidecar("t-qa", ID_DOTDOT, "t-qa", ID_DOTDOT, "x", "../outside.tar.zst", outside_data);
	sidecar("t-qa", ID_ABS, "t-qa", ID_ABS, "x", outside, outside_data);
	sidecar("t-qa", ID_OTHER_T, "t-qa", ID_OTHER_T, "x", "t-bee/" ID_BEE ".tar.zst", bee_archive);
	sidecar("t-qa", ID_OTHER_ID, "t-qa", ID_OTHER_ID, "x", "t-qa/" ID_QA ".tar.zst", qa_archive);
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

/* out is one JSON document (read strictly: a member written twice, as an
 * injection would, is refused). Returns the tree (caller deletes). */
static cJSON *parse_out(const char *what, const struct xt_result *r)
{
	struct xorb_error err = { 0 };
	cJSON *j = NULL;

	if (xorb_json_parse_strict(r->out ? r->out : "", r->out ? strlen(r->out) : 0, what, &j, &err)) {
		show(what, r);
		fail_msg("%s", err.msg);
	}
	return j;
}

/* Every member of o is one of names (NULL-terminated). */
static void only_members(const cJSON *o, const char *const *names)
{
	const cJSON *it;

	assert_true(cJSON_IsObject(o));
	cJSON_ArrayForEach(it, o) {
		size_t i;

		for (i = 0; names[i] && strcmp(names[i], it->string); i++)
			;
		if (!names[i])
			fail_msg("unexpected member \"%s\"", it->string);
	}
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			char p[4600];
			struct stat sb;

			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			if (!lstat(p, &sb) && S_ISDIR(sb.st_mode))
				n += count_files(p);
			else
				n++;
		}
	closedir(d);
	return n;
}

static void test_list_shows_only_what_matches_its_location(void **state)
{
	static const char *const members[] = { "tenant", "backup_id", "created", "streams", "messages",
					       "archive_bytes", "archive", NULL };
	static const char *const ignored[] = { ID_COPIED, ID_DOTDOT, ID_ABS, ID_OTHER_T, ID_OTHER_ID, NULL };
	const char *list[] = { xt_bin("xorb-backup"), "--store", store, "list", "--json", NULL, NULL };
	struct xt_result r;
	const cJSON *it;
	cJSON *j;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		list[5] = i ? "t-qa" : NULL;
		assert_int_equal(run(&r, list), 1); /* warnings: sidecars ignored */
		j = parse_out("list --json", &r);
		assert_true(cJSON_IsArray(j));
		assert_int_equal(cJSON_GetArraySize(j), i ? 1 : 2);
		cJSON_ArrayForEach(it, j) {
			only_members(it, members);
			if (!strcmp(xorb_json_str(it, "tenant", ""), "t-qa")) {
				assert_string_equal(xorb_json_str(it, "backup_id", ""), ID_QA);
				assert_string_equal(xorb_json_str(it, "created", ""), hostile);
				assert_string_equal(xorb_json_str(it, "archive", ""), "t-qa/" ID_QA ".tar.zst");
			} else {
				assert_string_equal(xorb_json_str(it, "tenant", ""), "t-bee");
				assert_string_equal(xorb_json_str(it, "backup_id", ""), ID_BEE);
			}
		}
		cJSON_Delete(j);
		for (size_t k = 0; ignored[k]; k++) {
			char key[80];

			snprintf(key, sizeof(key), "\"t-qa/%s.json\"", ignored[k]);
			if (!strstr(r.err, key))
				show("list", &r);
			assert_non_null(strstr(r.err, key));
		}
		assert_non_null(strstr(r.err, "describes backup t-bee/" ID_BEE " instead"));
		assert_non_null(strstr(r.err, "names archive \"../outside.tar.zst\" instead of \"t-qa/" ID_DOTDOT ".tar.zst\""));
		assert_non_null(strstr(r.err, "not listed"));
		xt_result_release(&r);
	}
	/* the table too: the misplaced ones are not there */
	list[4] = NULL;
	assert_int_equal(run(&r, list), 1);
	assert_non_null(strstr(r.out, ID_QA));
	assert_non_null(strstr(r.out, ID_BEE));
	for (i = 0; ignored[i]; i++)
		assert_null(strstr(r.out, ignored[i]));
	xt_result_release(&r);
}

static void test_copy_never_opens_a_foreign_key(void **state)
{
	static const char *const bad[] = { ID_COPIED, ID_DOTDOT, ID_ABS, ID_OTHER_T, ID_OTHER_ID, NULL };
	struct xt_result r;
	size_t i;

	(void)state;
	for (i = 0; bad[i]; i++) {
		const char *copy[] = { xt_bin("xorb-backup"), "--store", store, "copy", "t-qa", bad[i], "--to", dest, NULL };

		assert_int_equal(run(&r, copy), 2);
		if (!strstr(r.err, bad[i]))
			show("copy", &r);
		assert_non_null(strstr(r.err, bad[i]));
		xt_result_release(&r);
		/* nothing arrived: no archive of another tenant, nothing at all */
		assert_int_equal(count_files(dest), 0);
	}
}

/* Every --json output of every command is one JSON document, also when
 * a command fails on the hostile store. */
static void test_every_json_output_parses(void **state)
{
	const char *const bk_copy = backup_bin, *const prune = prune_bin, *const verify = verify_bin,
			  *const restore = restore_bin;
	const char *const nowhere = "nats://127.0.0.1:1";
	struct xt_result r;
	cJSON *j;
	size_t i;

	(void)state;
	{
		const char *const cmds[][12] = {
			{ bk_copy, "--store", store, "list", "--json", NULL },
			{ bk_copy, "--store", store, "copy", "t-qa", "--all", "--to", dest, "--dry-run", "--json", NULL },
			{ bk_copy, "--store", store, "copy", "t-qa", ID_QA, "--to", dest, "--json", NULL },
			{ bk_copy, "--store", store, "copy", "t-qa", ID_DOTDOT, "--to", dest, "--json", NULL },
			{ bk_copy, "-s", nowhere, "--store", store, "tenant", "t-qa", "--json", NULL },
			{ bk_copy, "-s", nowhere, "--store", store, "all", "--tenants", "t-qa,t-bee", "--json", NULL },
			{ bk_copy, "-s", nowhere, "--store", store, "check", "--json", NULL },
			{ prune, "--store", store, "--all", "--keep-last", "1", "--dry-run", "--json", NULL },
			{ prune, "--store", store, "t-qa", "--keep-last", "1", "--json", NULL },
			{ verify, "--store", store, "t-qa", ID_QA, "--json", NULL },
			{ verify, "--store", store, "t-qa", ID_OTHER_T, "--json", NULL },
			{ restore, "-s", nowhere, "--store", store, "t-qa", ID_QA, "--json", NULL },
			{ restore, "-s", nowhere, "--store", store, "t-qa", ID_QA, "--dry-run", "--json", NULL },
		};

		for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
			char what[300];

			snprintf(what, sizeof(what), "%s %s %s", strrchr(cmds[i][0], '/') ? strrchr(cmds[i][0], '/') + 1 : cmds[i][0],
				 cmds[i][3], cmds[i][4]);
			run(&r, cmds[i]);
			if (r.status == 64 || r.status == 127)
				show(what, &r);
			assert_true(r.status == 0 || r.status == 1 || r.status == 2);
			if (r.out && r.out[strspn(r.out, " \n")]) {
				j = parse_out(what, &r);
				cJSON_Delete(j);
			}
			xt_result_release(&r);
		}
	}
}

/* One rule for links (issue 12, point 3): t-bee's directory moved out of the
 * store and replaced by a link to it. Every reader (list, verify, restore,
 * prune) and every writer (copy into a destination whose tenant directory is
 * a link) refuses it with the same message, naming the link and its target;
 * nothing outside the store is written or removed. Before, readers skipped
 * the link silently (the backup looked absent) and writers wrote through it. */
static void test_linked_tenant_refused_everywhere(void **state)
{
	char moved[4300], link[4300], dstore[4300], dlink[4400], dtarget[4300], want[4600];
	const char *bk = backup_bin;
	struct xt_result r;
	size_t i;

	(void)state;
	snprintf(link, sizeof(link), "%s/t-bee", store);
	snprintf(moved, sizeof(moved), "%s/t-bee-elsewhere", work);
	assert_int_equal(rename(link, moved), 0);
	assert_int_equal(symlink(moved, link), 0);
	snprintf(dstore, sizeof(dstore), "%s/dest-linked", work);
	assert_int_equal(mkdir(dstore, 0700), 0);
	snprintf(dlink, sizeof(dlink), "%s/t-bee", dstore);
	snprintf(dtarget, sizeof(dtarget), "%s/dest-elsewhere", work);
	assert_int_equal(mkdir(dtarget, 0700), 0);
	assert_int_equal(symlink(dtarget, dlink), 0);
	snprintf(want, sizeof(want), "\"t-bee\" in the store is a symbolic link (to \"%s\")", moved);
	{
		const char *const prune = prune_bin, *const verify = verify_bin, *const restore = restore_bin;
		const char *const cmds[][12] = {
			{ bk, "--store", store, "list", NULL },
			{ bk, "--store", store, "list", "t-bee", NULL },
			{ verify, "--store", store, "t-bee", "latest", NULL },
			{ restore, "-s", "nats://127.0.0.1:1", "--store", store, "t-bee", "latest", "--dry-run", NULL },
			{ prune, "--store", store, "t-bee", "--keep-last", "0", NULL },
			{ bk, "--store", store, "copy", "t-bee", ID_BEE, "--to", dstore, NULL },
		};

		for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
			run(&r, cmds[i]);
			if (r.status != 2 || !strstr(r.err, want))
				show(cmds[i][3], &r);
			assert_int_equal(r.status, 2);
			assert_non_null(strstr(r.err, want));
			xt_result_release(&r);
		}
	}
	/* nothing removed from t-bee's real directory */
	assert_int_equal(count_files(moved), 2);
	assert_int_equal(unlink(link), 0);
	assert_int_equal(rename(moved, link), 0);

	/* the writer: t-bee's backup copied into a destination whose t-bee/ is
	 * a link */
	{
		const char *copy[] = { bk, "--store", store, "copy", "t-bee", ID_BEE, "--to", dstore, NULL };

		snprintf(want, sizeof(want), "\"t-bee\" in the store is a symbolic link (to \"%s\")", dtarget);
		assert_int_equal(run(&r, copy), 2);
		if (!strstr(r.err, want))
			show("copy", &r);
		assert_non_null(strstr(r.err, want));
		xt_result_release(&r);
	}
	assert_int_equal(count_files(dtarget), 0);
	assert_int_equal(unlink(dlink), 0);
	assert_int_equal(rmdir(dtarget), 0);
	xt_rmtree(dstore);
}

/* A mistyped store is an error, never a new empty store (issue 14, point 2):
 * every command that only reads fails naming the directory, and creates
 * nothing; a scheme without "//" is refused instead of making a directory
 * named "s3:". Only a backup (or copy's destination) creates a store. */
static void test_mistyped_store_is_an_error(void **state)
{
	const char *const bk = backup_bin, *const prune = prune_bin, *const verify = verify_bin,
			  *const restore = restore_bin;
	char missing[4300];
	struct xt_result r;
	struct stat st;
	size_t i;

	(void)state;
	snprintf(missing, sizeof(missing), "%s/store-lcoal", work);
	{
		const char *const cmds[][12] = {
			{ bk, "--store", missing, "list", NULL },
			{ bk, "--store", missing, "list", "t-qa", "--json", NULL },
			{ bk, "-s", "nats://127.0.0.1:1", "--store", missing, "check", NULL },
			{ bk, "--store", missing, "copy", "t-qa", "--all", "--to", dest, NULL },
			{ verify, "--store", missing, "t-qa", "latest", NULL },
			{ restore, "-s", "nats://127.0.0.1:1", "--store", missing, "t-qa", "latest", "--dry-run", NULL },
			{ prune, "--store", missing, "--all", "--keep-last", "1", NULL },
		};

		for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
			int said;

			run(&r, cmds[i]);
			/* check reports on stdout (CRITICAL), the others on stderr */
			said = strstr(r.out ? r.out : "", "store-lcoal\" does not exist") ||
			       strstr(r.err ? r.err : "", "store-lcoal\" does not exist");
			if (r.status != 2 || !said)
				show(cmds[i][3], &r);
			assert_int_equal(r.status, 2);
			assert_true(said);
			xt_result_release(&r);
			assert_int_not_equal(lstat(missing, &st), 0);
		}
	}
	{
		const char *ls[] = { bk, "--store", "s3:/bucket/x", "list", NULL };
		char cwd[4200];

		/* run in the test's own directory, where nothing is yet */
		assert_non_null(getcwd(cwd, sizeof(cwd)));
		assert_int_equal(chdir(work), 0);
		assert_int_equal(run(&r, ls), 2);
		assert_non_null(strstr(r.err, "\"s3:\" is not followed by \"//\""));
		xt_result_release(&r);
		assert_int_not_equal(lstat("s3:", &st), 0);
		assert_int_equal(chdir(cwd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_shows_only_what_matches_its_location),
		cmocka_unit_test(test_copy_never_opens_a_foreign_key),
		cmocka_unit_test(test_every_json_output_parses),
		cmocka_unit_test(test_linked_tenant_refused_everywhere),
		cmocka_unit_test(test_mistyped_store_is_an_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

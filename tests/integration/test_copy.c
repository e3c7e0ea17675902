/*
 * xorb-backup copy between two file stores, with real backups of a real
 * server: the newest backup by default, a rerun skips it, --all copies what
 * the destination lacks (--dry-run first changes nothing), the copy verifies
 * and restores to the original messages, a damaged source archive is refused
 * with nothing left in the destination, and a different backup under the
 * same id in the destination is not overwritten. The same command against
 * S3 runs in test_s3.
 */
#include "xt_fixture.h"
#include "xt_harness.h"

#include <dirent.h>
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

static const char *const streams[] = { "xorb-t-qa-compliance-replay", "xorb-t-qa-evidence-live",
				       "xorb-t-qa-scan-live", NULL };

static struct xt_server src;
static natsConnection *src_nc;
static char *work;
static char store_a[4200], store_b[4200];
static char ids[3][64]; /* oldest first */

static void show(const char *what, const struct xt_result *r)
{
	fprintf(stderr, "--- %s: exit %d%s\n--- stdout:\n%s--- stderr:\n%s", what, r->status,
		r->timed_out ? " (timed out)" : "", r->out ? r->out : "", r->err ? r->err : "");
}

/* Runs argv; returns its exit status with output in *r (released by caller). */
static int run(struct xt_result *r, const char *const *argv)
{
	memset(r, 0, sizeof(*r));
	if (xt_run(argv, NULL, 300, r))
		show(argv[1], r);
	return r->status;
}

static int count_files(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name), sl = strlen(suffix);

		n += e->d_name[0] != '.' && l > sl && !strcmp(e->d_name + l - sl, suffix);
	}
	closedir(d);
	return n;
}

static int exists(const char *store, const char *id, const char *ext)
{
	char path[4400];

	snprintf(path, sizeof(path), "%s/t-qa/%s%s", store, id, ext);
	return access(path, F_OK) == 0;
}

static int setup(void **state)
{
	char why[1024];
	int i;

	work = xt_tempdir("copy");
	if (!work)
		return -1;
	snprintf(store_a, sizeof(store_a), "%s/a", work);
	snprintf(store_b, sizeof(store_b), "%s/b", work);
	if (xt_server_start(&src, NULL) || xt_server_connect(&src, &src_nc))
		return -1;
	if (xt_fixture_tenant(src_nc, "t-qa", 300, why, sizeof(why))) {
		fprintf(stderr, "fixture: %s\n", why);
		return -1;
	}
	/* three backups in store a; ids are second-resolution timestamps */
	for (i = 0; i < 3; i++) {
		const char *argv[] = { xt_bin("xorb-backup"), "-q", "-s", src.url, "--store", store_a, "tenant", "t-qa",
				       "--json", NULL };
		struct xt_result r;
		char *p;

		if (i)
			sleep(1);
		if (run(&r, argv) != 0 || !(p = strstr(r.out, "\"backup_id\":\""))) {
			show("backup", &r);
			xt_result_release(&r);
			return -1;
		}
		snprintf(ids[i], sizeof(ids[i]), "%.23s", p + 13);
		xt_result_release(&r);
	}
	return 0;
}

static int teardown(void **state)
{
	natsConnection_Destroy(src_nc);
	xt_server_stop(&src);
	if (work && !getenv("XT_KEEP"))
		xt_rmtree(work);
	free(work);
	return 0;
}

/* Newest by default, skipped on a rerun; the copy verifies and restores. */
static void test_copy_newest_then_restore(void **state)
{
	struct xt_server dst;
	natsConnection *dst_nc;
	struct xt_result r;
	char dir_b[4400], why[1024];
	size_t i;

	const char *copy[] = { xt_bin("xorb-backup"), "--store", store_a, "copy", "t-qa", "--to", store_b, NULL };
	assert_int_equal(run(&r, copy), 0);
	assert_non_null(strstr(r.out, ids[2]));
	assert_non_null(strstr(r.out, " copied ("));
	xt_result_release(&r);
	snprintf(dir_b, sizeof(dir_b), "%s/t-qa", store_b);
	assert_int_equal(count_files(dir_b, ".json"), 1);
	assert_int_equal(count_files(dir_b, ".tar.zst"), 1);
	assert_true(exists(store_b, ids[2], ".json"));

	/* a rerun finds it there */
	assert_int_equal(run(&r, copy), 0);
	assert_non_null(strstr(r.out, "already in"));
	xt_result_release(&r);

	const char *verify[] = { xt_bin("xorb-verify"), "--store", store_b, "t-qa", ids[2], NULL };
	assert_int_equal(run(&r, verify), 0);
	xt_result_release(&r);

	assert_int_equal(xt_server_start(&dst, NULL), 0);
	assert_int_equal(xt_server_connect(&dst, &dst_nc), 0);
	const char *restore[] = { xt_bin("xorb-restore"), "-q", "-s", dst.url, "--store", store_b, "t-qa", ids[2], NULL };
	assert_int_equal(run(&r, restore), 0);
	xt_result_release(&r);
	for (i = 0; streams[i]; i++) {
		int rc = xt_compare_stream(src_nc, dst_nc, streams[i], why, sizeof(why));

		if (rc)
			fprintf(stderr, "stream %s differs: %s\n", streams[i], why);
		assert_int_equal(rc, 0);
	}
	natsConnection_Destroy(dst_nc);
	xt_server_stop(&dst);
}

/* --all --dry-run names what is missing and copies nothing; --all copies it. */
static void test_copy_all(void **state)
{
	struct xt_result r;
	char dir_b[4400];

	snprintf(dir_b, sizeof(dir_b), "%s/t-qa", store_b);
	const char *dry[] = { xt_bin("xorb-backup"), "--store", store_a, "copy", "--all", "--to", store_b,
			      "--dry-run", "--json", NULL };
	assert_int_equal(run(&r, dry), 0);
	assert_non_null(strstr(r.out, "\"result\":\"would-copy\""));
	assert_non_null(strstr(r.out, ids[0]));
	assert_non_null(strstr(r.out, ids[1]));
	assert_non_null(strstr(r.out, "\"result\":\"present\""));
	xt_result_release(&r);
	assert_int_equal(count_files(dir_b, ".json"), 1);
	assert_int_equal(count_files(dir_b, ".tar.zst"), 1);

	const char *all[] = { xt_bin("xorb-backup"), "--store", store_a, "copy", "t-qa", "--all", "--to", store_b, NULL };
	assert_int_equal(run(&r, all), 0);
	xt_result_release(&r);
	assert_int_equal(count_files(dir_b, ".json"), 3);
	assert_int_equal(count_files(dir_b, ".tar.zst"), 3);

	const char *list[] = { xt_bin("xorb-backup"), "--store", store_b, "list", "t-qa", NULL };
	assert_int_equal(run(&r, list), 0);
	assert_non_null(strstr(r.out, ids[0]));
	assert_non_null(strstr(r.out, ids[1]));
	assert_non_null(strstr(r.out, ids[2]));
	xt_result_release(&r);
}

/* A flipped byte in the source archive: refused, nothing in the destination;
 * a different sidecar in the destination: not overwritten. */
static void test_copy_refuses_damage(void **state)
{
	struct xt_result r;
	char path[4400], store_c[4200];
	struct stat sb;
	unsigned char byte;
	int fd;

	snprintf(store_c, sizeof(store_c), "%s/c", work);
	snprintf(path, sizeof(path), "%s/t-qa/%s.tar.zst", store_a, ids[1]);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal(pread(fd, &byte, 1, sb.st_size / 2), 1);
	byte ^= 0x10;
	assert_int_equal(pwrite(fd, &byte, 1, sb.st_size / 2), 1);
	close(fd);

	const char *copy[] = { xt_bin("xorb-backup"), "--store", store_a, "copy", "t-qa", ids[1], "--to", store_c, NULL };
	assert_int_equal(run(&r, copy), 2);
	show("copy of a damaged archive", &r);
	assert_non_null(strstr(r.err, "does not match its sidecar"));
	assert_non_null(strstr(r.err, "xorb-verify"));
	xt_result_release(&r);
	assert_false(exists(store_c, ids[1], ".json"));
	assert_false(exists(store_c, ids[1], ".tar.zst"));
	snprintf(path, sizeof(path), "%s/t-qa", store_c);
	assert_int_equal(count_files(path, ""), 0); /* no temp file left either */

	/* store b holds ids[1] already (undamaged); a different sidecar there */
	snprintf(path, sizeof(path), "%s/t-qa/%s.json", store_b, ids[1]);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\n", 1), 1);
	close(fd);
	const char *again[] = { xt_bin("xorb-backup"), "--store", store_a, "copy", "t-qa", ids[0], "--to", store_b, NULL };
	assert_int_equal(run(&r, again), 0); /* the untouched one is still fine */
	xt_result_release(&r);
	const char *clash[] = { xt_bin("xorb-backup"), "--store", store_a, "copy", "t-qa", ids[1], "--to", store_b, NULL };
	assert_int_equal(run(&r, clash), 2);
	assert_non_null(strstr(r.err, "with a different sidecar: not overwritten"));
	xt_result_release(&r);

	/* usage errors */
	const char *no_to[] = { xt_bin("xorb-backup"), "--store", store_a, "copy", "t-qa", NULL };
	assert_int_equal(run(&r, no_to), 64);
	assert_non_null(strstr(r.err, "--to"));
	xt_result_release(&r);
	const char *self[] = { xt_bin("xorb-backup"), "--store", store_a, "copy", "t-qa", "--to", store_a, NULL };
	assert_int_equal(run(&r, self), 64);
	xt_result_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_newest_then_restore),
		cmocka_unit_test(test_copy_all),
		cmocka_unit_test(test_copy_refuses_damage),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

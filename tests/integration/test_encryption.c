/*
 * Encryption at rest in the age format (issue 15), with real backups of a
 * real server and the real age tool (Debian package age):
 *
 * - an encrypted backup's store objects hold no stream name, subject,
 *   consumer name or payload in plain text (every file of the store is
 *   scanned; the same scan finds them in a plain backup);
 * - `age -d -i` decrypts the archive into a tar.zst whose manifest lists
 *   every stream; an archive that `age -r` encrypted again is read by
 *   xorb-verify and restored by xorb-restore;
 * - xorb-verify without an identity proves the ciphertext, with the wrong
 *   one fails naming the cause, with the right one checks everything;
 * - xorb-restore without an identity, with a wrong or unprotected one, of
 *   a tampered or truncated archive: refused, and the target server has
 *   no stream afterwards; with the identity, every stream comes back;
 * - `xorb-backup all --env` encrypts each tenant to its own
 *   backup_recipients; a tenant whose identity is gone cannot be read
 *   while the other can (the erasure procedure).
 */
#include "xt_fixture.h"
#include "xt_harness.h"

#include <cjson/cJSON.h>
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

#include "xorb_hash.h"

static const char *const streams[] = { "xorb-t-enc-compliance-replay", "xorb-t-enc-evidence-live",
				       "xorb-t-enc-scan-live", NULL };

static struct xt_server src, dst;
static natsConnection *src_nc, *dst_nc;
static char *work;
static char store[4200], key_a[4200], key_b[4200], pub_a[128], pub_b[128], id_enc[64];

static void show(const char *what, const struct xt_result *r)
{
	fprintf(stderr, "--- %s: exit %d%s\n--- stdout:\n%s--- stderr:\n%s", what, r->status,
		r->timed_out ? " (timed out)" : "", r->out ? r->out : "", r->err ? r->err : "");
}

static int run(struct xt_result *r, const char *const *argv)
{
	memset(r, 0, sizeof(*r));
	if (xt_run(argv, NULL, 300, r))
		show(argv[0], r);
	return r->status;
}

/* Runs a shell command line (the age tool, tar); 0 when it exits 0. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[16384];
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	struct xt_result r;
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	memset(&r, 0, sizeof(r));
	if (xt_run(argv, NULL, 120, &r) || r.status)
		show(cmd, &r);
	st = r.status;
	xt_result_release(&r);
	return st;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	if (b)
		b[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return b;
}

static int contains(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; i + n <= len; i++)
		if (!memcmp(hay + i, needle, n))
			return 1;
	return 0;
}

/* How many files under dir hold any of the words in plain text. */
static int plaintext_hits(const char *dir, const char *const *words)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int hits = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[4600];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			hits += plaintext_hits(path, words);
		} else {
			size_t len = 0, k;
			char *b = slurp(path, &len);

			for (k = 0; b && words[k]; k++)
				if (contains(b, len, words[k])) {
					fprintf(stderr, "plain text \"%s\" in %s\n", words[k], path);
					hits++;
				}
			free(b);
		}
	}
	closedir(d);
	return hits;
}

/* Backs up tenant into dir with extra options; the backup id into id. */
static void backup(const char *dir, const char *tenant, const char *opt, const char *val, char id[64])
{
	const char *argv[] = { xt_bin("xorb-backup"), "-q", "-s", src.url, "--store", dir, "tenant", tenant,
			       "--json", opt, val, NULL };
	struct xt_result r;
	const char *p;

	if (run(&r, argv) != 0)
		show("backup", &r);
	assert_int_equal(r.status, 0);
	p = strstr(r.out, "\"backup_id\":\"");
	assert_non_null(p);
	snprintf(id, 64, "%.23s", p + 13);
	xt_result_release(&r);
}

static int dst_streams(void)
{
	natsMsg *m = NULL;
	int n = -1;

	if (natsConnection_RequestString(&m, dst_nc, "$JS.API.STREAM.NAMES", "", 5000) == NATS_OK) {
		cJSON *j = cJSON_Parse(natsMsg_GetData(m));

		n = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "total"));
		cJSON_Delete(j);
	}
	natsMsg_Destroy(m);
	return n;
}

static void dst_clear(void)
{
	int i;

	for (i = 0; streams[i]; i++) {
		char subj[300];
		natsMsg *m = NULL;

		snprintf(subj, sizeof(subj), "$JS.API.STREAM.DELETE.%s", streams[i]);
		natsConnection_RequestString(&m, dst_nc, subj, "", 5000);
		natsMsg_Destroy(m);
	}
}

/* An age identity made by age-keygen; its public key into pub. */
static int keygen(const char *path, char pub[128])
{
	char cmd[4400], *p;
	FILE *f;

	if (sh("age-keygen -o '%s' 2>/dev/null && chmod 600 '%s'", path, path))
		return -1;
	snprintf(cmd, sizeof(cmd), "age-keygen -y '%s'", path);
	f = popen(cmd, "r");
	if (!f || !fgets(pub, 128, f)) {
		if (f)
			pclose(f);
		return -1;
	}
	pclose(f);
	if ((p = strchr(pub, '\n')))
		*p = '\0';
	return strncmp(pub, "age1", 4) ? -1 : 0;
}

static int setup(void **state)
{
	char why[1024];

	(void)state;
	work = xt_tempdir("encryption");
	if (!work)
		return -1;
	snprintf(store, sizeof(store), "%s/store", work);
	snprintf(key_a, sizeof(key_a), "%s/a.key", work);
	snprintf(key_b, sizeof(key_b), "%s/b.key", work);
	if (keygen(key_a, pub_a) || keygen(key_b, pub_b)) {
		fprintf(stderr, "age-keygen failed: install the Debian package age (scripts/deps.sh does)\n");
		return -1;
	}
	if (xt_server_start(&src, NULL) || xt_server_connect(&src, &src_nc) || xt_server_start(&dst, NULL) ||
	    xt_server_connect(&dst, &dst_nc))
		return -1;
	if (xt_fixture_tenant(src_nc, "t-enc", 120, why, sizeof(why)) ||
	    xt_fixture_tenant(src_nc, "t-two", 40, why, sizeof(why))) {
		fprintf(stderr, "fixture: %s\n", why);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	natsConnection_Destroy(src_nc);
	natsConnection_Destroy(dst_nc);
	xt_server_stop(&src);
	xt_server_stop(&dst);
	if (work && !getenv("XT_KEEP"))
		xt_rmtree(work);
	free(work);
	return 0;
}

static const char *const secret_words[] = { "xorb-t-enc-", "xorb.t-enc.", "-consumer", "-completed",
					    "\"sensor\"", "\"record\"", NULL };

static void test_no_plaintext_and_age_reads_it(void **state)
{
	char plain[4400], archive[4400], sidecar[4400];
	struct xt_result r;
	size_t len = 0;
	char *s;
	cJSON *j;
	int i;

	(void)state;
	backup(store, "t-enc", "--recipient", pub_a, id_enc);
	snprintf(archive, sizeof(archive), "%s/t-enc/%s.tar.zst.age", store, id_enc);
	snprintf(sidecar, sizeof(sidecar), "%s/t-enc/%s.json", store, id_enc);
	assert_int_equal(access(archive, R_OK), 0);

	/* nothing of the tenant's data in plain text, anywhere in the store */
	assert_int_equal(plaintext_hits(store, secret_words), 0);
	/* ... while the same scan finds the names in a plain backup */
	snprintf(plain, sizeof(plain), "%s/plain", work);
	{
		const char *argv[] = { xt_bin("xorb-backup"), "-q", "-s", src.url, "--store", plain, "tenant", "t-enc", NULL };

		assert_int_equal(run(&r, argv), 0);
		xt_result_release(&r);
	}
	assert_true(plaintext_hits(plain, secret_words) > 0);

	/* the sidecar: the documented plain fields, and the recipient */
	s = slurp(sidecar, &len);
	assert_non_null(s);
	j = cJSON_Parse(s);
	assert_non_null(j);
	assert_null(cJSON_GetObjectItem(j, "streams"));
	assert_null(cJSON_GetObjectItem(j, "entries"));
	assert_int_equal((int)cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "totals"), "streams")), 3);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(
				    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "encryption"), "recipients"), 0)),
			    pub_a);
	cJSON_Delete(j);
	free(s);

	/* the age tool decrypts it into a tar.zst whose manifest lists every stream */
	assert_int_equal(sh("cd '%s' && age -d -i '%s' -o out.tar.zst '%s' && zstd -dq -c out.tar.zst | tar -xOf - manifest.json > manifest.json",
			    work, key_a, archive), 0);
	snprintf(plain, sizeof(plain), "%s/manifest.json", work);
	s = slurp(plain, &len);
	assert_non_null(s);
	for (i = 0; streams[i]; i++)
		assert_non_null(strstr(s, streams[i]));
	free(s);

	/* list shows it with its totals */
	{
		const char *argv[] = { xt_bin("xorb-backup"), "--store", store, "list", "t-enc", "--json", NULL };

		assert_int_equal(run(&r, argv), 0);
		assert_non_null(strstr(r.out, "\"encrypted\":true"));
		assert_non_null(strstr(r.out, "\"streams\":3"));
		xt_result_release(&r);
	}
}

/* show gives the plain totals without the key and the streams with it;
 * diff refuses encrypted backups without it (sidecars alone would look
 * identical) and compares them with it. */
static void test_show_and_diff(void **state)
{
	struct xt_result r;

	(void)state;
	{
		const char *argv[] = { xt_bin("xorb-backup"), "--store", store, "show", "t-enc", id_enc, NULL };

		assert_int_equal(run(&r, argv), 0);
		assert_non_null(strstr(r.out, "encrypted  age, to"));
		assert_non_null(strstr(r.out, "3 streams"));
		assert_null(strstr(r.out, "xorb-t-enc-"));
		xt_result_release(&r);
	}
	{
		const char *argv[] = { xt_bin("xorb-backup"), "--store", store, "show", "t-enc", id_enc, "--identity", key_a, NULL };

		assert_int_equal(run(&r, argv), 0);
		assert_non_null(strstr(r.out, "xorb-t-enc-scan-live"));
		xt_result_release(&r);
	}
	{
		const char *argv[] = { xt_bin("xorb-backup"), "--store", store, "diff", "t-enc", id_enc, "latest", NULL };

		assert_int_equal(run(&r, argv), 2);
		assert_non_null(strstr(r.err, "is encrypted"));
		xt_result_release(&r);
	}
	{
		const char *argv[] = { xt_bin("xorb-backup"), "--store", store, "diff", "t-enc", id_enc, "latest",
				       "--identity", key_a, NULL };

		assert_int_equal(run(&r, argv), 0);
		xt_result_release(&r);
	}
}

static void test_verify(void **state)
{
	struct xt_result r;

	(void)state;
	{
		const char *argv[] = { xt_bin("xorb-verify"), "--store", store, "t-enc", id_enc, NULL };

		assert_int_equal(run(&r, argv), 0);
		assert_non_null(strstr(r.out, "is encrypted: its stored archive is whole"));
		xt_result_release(&r);
	}
	{
		const char *argv[] = { xt_bin("xorb-verify"), "--store", store, "--identity", key_b, "t-enc", id_enc, NULL };

		assert_int_equal(run(&r, argv), 2);
		assert_non_null(strstr(r.err, "cannot decrypt"));
		xt_result_release(&r);
	}
	{
		const char *argv[] = { xt_bin("xorb-verify"), "--store", store, "--identity", key_a, "t-enc", id_enc, NULL };

		if (run(&r, argv) != 0)
			show("verify --identity", &r);
		assert_int_equal(r.status, 0);
		assert_non_null(strstr(r.out, "is whole: 3 streams"));
		xt_result_release(&r);
	}
}

/* A copy of the encrypted backup under another store, with its archive
 * changed by edit (a shell command run in that tenant directory). */
static void damaged_copy(const char *dir, const char *edit)
{
	assert_int_equal(sh("rm -rf '%s' && mkdir -p '%s' && cp -r '%s/t-enc' '%s/' && cd '%s/t-enc' && A='%s.tar.zst.age' && %s",
			    dir, dir, store, dir, dir, id_enc, edit), 0);
}

static void test_restore_refusals(void **state)
{
	char bad[4400], open_key[4400];
	struct xt_result r;

	(void)state;
	dst_clear();
	/* no identity */
	{
		const char *argv[] = { xt_bin("xorb-restore"), "-s", dst.url, "--store", store, "t-enc", id_enc, NULL };

		assert_int_equal(run(&r, argv), 2);
		assert_non_null(strstr(r.err, "is encrypted"));
		assert_non_null(strstr(r.err, "--identity"));
		xt_result_release(&r);
	}
	/* the wrong identity */
	{
		const char *argv[] = { xt_bin("xorb-restore"), "-s", dst.url, "--store", store, "--identity", key_b, "t-enc", id_enc, NULL };

		assert_int_equal(run(&r, argv), 2);
		assert_non_null(strstr(r.err, "cannot decrypt"));
		xt_result_release(&r);
	}
	/* an identity file others can read */
	snprintf(open_key, sizeof(open_key), "%s/open.key", work);
	assert_int_equal(sh("cp '%s' '%s' && chmod 644 '%s'", key_a, open_key, open_key), 0);
	{
		const char *argv[] = { xt_bin("xorb-restore"), "-s", dst.url, "--store", store, "--identity", open_key, "t-enc", id_enc, NULL };

		assert_int_equal(run(&r, argv), 2);
		assert_non_null(strstr(r.err, "chmod 600"));
		assert_null(strstr(r.err, "AGE-SECRET-KEY"));
		xt_result_release(&r);
	}
	/* a byte of a chunk in the middle changed */
	snprintf(bad, sizeof(bad), "%s/tampered", work);
	/* every bit of the byte flipped: writing a fixed byte left the file as
	 * it was when that byte was already there (1 run in 256: the restore
	 * then succeeded, in a fresh-clone run on 2.9.10) */
	damaged_copy(bad, "n=$(stat -c %s \"$A\") && o=$((n / 2)) && b=$(od -An -tu1 -j $o -N 1 \"$A\") && "
			  "printf \"$(printf '\\\\%03o' $((b ^ 255)))\" | dd of=\"$A\" bs=1 seek=$o conv=notrunc status=none");
	assert_int_equal(sh("! cmp -s '%s/t-enc/%s.tar.zst.age' '%s/t-enc/%s.tar.zst.age'", store, id_enc, bad, id_enc), 0);
	{
		const char *argv[] = { xt_bin("xorb-restore"), "-s", dst.url, "--store", bad, "--identity", key_a, "t-enc", id_enc, NULL };

		assert_int_equal(run(&r, argv), 2);
		assert_non_null(strstr(r.err, "nothing was created"));
		assert_non_null(strstr(r.err, "chunk"));
		xt_result_release(&r);
	}
	/* cut short */
	snprintf(bad, sizeof(bad), "%s/truncated", work);
	damaged_copy(bad, "n=$(stat -c %s \"$A\") && truncate -s $((n - 100)) \"$A\"");
	{
		const char *argv[] = { xt_bin("xorb-restore"), "-s", dst.url, "--store", bad, "--identity", key_a, "t-enc", id_enc, NULL };

		assert_int_equal(run(&r, argv), 2);
		assert_non_null(strstr(r.err, "nothing was created"));
		xt_result_release(&r);
	}
	/* a header byte changed: refused when the archive is opened */
	snprintf(bad, sizeof(bad), "%s/header", work);
	damaged_copy(bad, "printf 'X' | dd of=\"$A\" bs=1 seek=30 conv=notrunc status=none");
	{
		const char *argv[] = { xt_bin("xorb-restore"), "-s", dst.url, "--store", bad, "--identity", key_a, "t-enc", id_enc, NULL };

		assert_int_equal(run(&r, argv), 2);
		xt_result_release(&r);
	}
	assert_int_equal(dst_streams(), 0);
}

/* The archive decrypted and encrypted again by the age tool (as an
 * operator re-keying by hand would), the sidecar's size and digest of it
 * updated: verified and restored with the identity. */
static void test_restore_from_age_tool(void **state)
{
	char dir[4400], archive[4400], sidecar[4400], sha[XORB_SHA256_HEX];
	struct xorb_sha256 *h = xorb_sha256_new();
	struct xt_result r;
	size_t len = 0, slen = 0;
	char *bytes, *s, *out;
	cJSON *j, *ar;
	FILE *f;
	int i;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/rekeyed", work);
	assert_int_equal(sh("rm -rf '%s' && mkdir -p '%s' && cp -r '%s/t-enc' '%s/' && cd '%s/t-enc' && "
			    "age -d -i '%s' '%s.tar.zst.age' > plain.tar.zst && age -r '%s' -o '%s.tar.zst.age' plain.tar.zst && rm plain.tar.zst",
			    dir, dir, store, dir, dir, key_a, id_enc, pub_a, id_enc),
			 0);
	snprintf(archive, sizeof(archive), "%s/t-enc/%s.tar.zst.age", dir, id_enc);
	snprintf(sidecar, sizeof(sidecar), "%s/t-enc/%s.json", dir, id_enc);
	bytes = slurp(archive, &len);
	assert_non_null(bytes);
	xorb_sha256_update(h, bytes, len);
	xorb_sha256_final_hex(h, sha);
	xorb_sha256_free(h);
	free(bytes);
	s = slurp(sidecar, &slen);
	j = cJSON_Parse(s);
	free(s);
	ar = cJSON_GetObjectItem(j, "archive");
	cJSON_ReplaceItemInObject(ar, "size", cJSON_CreateNumber((double)len));
	cJSON_ReplaceItemInObject(ar, "sha256", cJSON_CreateString(sha));
	out = cJSON_PrintUnformatted(j);
	f = fopen(sidecar, "w");
	fputs(out, f);
	fclose(f);
	free(out);
	cJSON_Delete(j);

	{
		const char *argv[] = { xt_bin("xorb-verify"), "--store", dir, "--identity", key_a, "t-enc", id_enc, NULL };

		if (run(&r, argv) != 0)
			show("verify of the age tool's archive", &r);
		assert_int_equal(r.status, 0);
		xt_result_release(&r);
	}
	dst_clear();
	{
		const char *argv[] = { xt_bin("xorb-restore"), "-s", dst.url, "--store", dir, "--identity", key_b,
				       "--identity", key_a, "t-enc", id_enc, NULL };

		if (run(&r, argv) != 0)
			show("restore of the age tool's archive", &r);
		assert_int_equal(r.status, 0);
		xt_result_release(&r);
	}
	for (i = 0; streams[i]; i++) {
		char why[1024];
		int rc = xt_compare_stream(src_nc, dst_nc, streams[i], why, sizeof(why));

		if (rc)
			fprintf(stderr, "%s: %s\n", streams[i], why);
		assert_int_equal(rc, 0);
	}
}

/* `all` with each tenant's backup_recipients; then one tenant's identity
 * is deleted: its backups can no longer be read, the other's still can. */
static void test_per_tenant_keys_and_erasure(void **state)
{
	char env[4400], dir[4400], sidecar[4400], id[64];
	struct xt_result r;
	FILE *f;
	char *s, *p;

	(void)state;
	snprintf(env, sizeof(env), "%s/keys.tfvars.json", work);
	snprintf(dir, sizeof(dir), "%s/all", work);
	f = fopen(env, "w");
	assert_non_null(f);
	fprintf(f, "{\"environment\":\"enc\",\"nats_url\":\"%s\",\"tenants\":{"
		   "\"t-enc\":{\"name\":\"t-enc\",\"max_streams\":10,\"max_consumers\":20,\"max_bytes\":268435456,"
		   "\"max_messages\":250000,\"retention_days\":3,\"backup_recipients\":[\"%s\"]},"
		   "\"t-two\":{\"name\":\"t-two\",\"max_streams\":10,\"max_consumers\":20,\"max_bytes\":268435456,"
		   "\"max_messages\":250000,\"retention_days\":3,\"backup_recipients\":[\"%s\"]}}}",
		src.url, pub_a, pub_b);
	fclose(f);
	{
		const char *argv[] = { xt_bin("xorb-backup"), "-s", src.url, "--store", dir, "all", "--env", env, NULL };

		if (run(&r, argv) != 0)
			show("all", &r);
		assert_int_equal(r.status, 0);
		xt_result_release(&r);
	}
	{
		const char *argv[] = { xt_bin("xorb-backup"), "--store", dir, "list", "t-two", "--json", NULL };

		assert_int_equal(run(&r, argv), 0);
		p = strstr(r.out, "\"backup_id\":\"");
		assert_non_null(p);
		snprintf(id, sizeof(id), "%.23s", p + 13);
		xt_result_release(&r);
	}
	snprintf(sidecar, sizeof(sidecar), "%s/t-two/%s.json", dir, id);
	s = slurp(sidecar, NULL);
	assert_non_null(s);
	assert_non_null(strstr(s, pub_b));
	assert_null(strstr(s, pub_a));
	free(s);
	/* t-two's identity opens t-two only */
	{
		const char *argv[] = { xt_bin("xorb-verify"), "--store", dir, "--identity", key_a, "t-two", NULL };

		assert_int_equal(run(&r, argv), 2);
		assert_non_null(strstr(r.err, "cannot decrypt"));
		xt_result_release(&r);
	}
	/* erasure: t-two's identity deleted: t-two cannot be restored, with
	 * its key file gone or with the other tenant's; t-enc still can */
	assert_int_equal(unlink(key_b), 0);
	dst_clear();
	{
		const char *argv[] = { xt_bin("xorb-restore"), "-s", dst.url, "--store", dir, "--identity", key_b, "t-two", NULL };

		assert_int_equal(run(&r, argv), 2);
		assert_non_null(strstr(r.err, key_b));
		xt_result_release(&r);
	}
	{
		const char *argv[] = { xt_bin("xorb-restore"), "-s", dst.url, "--store", dir, "--identity", key_a, "t-two", NULL };

		assert_int_equal(run(&r, argv), 2);
		assert_non_null(strstr(r.err, "cannot decrypt"));
		xt_result_release(&r);
	}
	assert_int_equal(dst_streams(), 0);
	{
		const char *argv[] = { xt_bin("xorb-restore"), "-q", "-s", dst.url, "--store", dir, "--identity", key_a, "t-enc", NULL };

		if (run(&r, argv) != 0)
			show("restore of the other tenant", &r);
		assert_int_equal(r.status, 0);
		xt_result_release(&r);
	}
	assert_int_equal(dst_streams(), 3);
}

/* prune removes an encrypted backup whole: its sidecar and its .tar.zst.age */
static void test_prune(void **state)
{
	char older[64], newer[64], path[4400];
	struct xt_result r;

	(void)state;
	snprintf(older, sizeof(older), "%s", id_enc);
	sleep(1); /* backup ids have whole seconds */
	backup(store, "t-enc", "--recipient", pub_a, newer);
	{
		const char *argv[] = { xt_bin("xorb-prune"), "--store", store, "t-enc", "--keep-last", "1", NULL };

		if (run(&r, argv) != 0)
			show("prune", &r);
		assert_int_equal(r.status, 0);
		xt_result_release(&r);
	}
	snprintf(path, sizeof(path), "%s/t-enc/%s.tar.zst.age", store, older);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/t-enc/%s.json", store, older);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/t-enc/%s.tar.zst.age", store, newer);
	assert_int_equal(access(path, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_plaintext_and_age_reads_it),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_show_and_diff),
		cmocka_unit_test(test_restore_refusals),
		cmocka_unit_test(test_restore_from_age_tool),
		cmocka_unit_test(test_per_tenant_keys_and_erasure),
		cmocka_unit_test(test_prune),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

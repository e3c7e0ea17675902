/*
 * Hostile backups against xorb-verify and xorb-restore as a user runs them,
 * with a real nats-server (one for the whole file) and a file store in the
 * test's own temp dir.
 *
 * Every hostile archive starts from a real backup that xorb-backup made of a
 * small fixture tenant: its entries are read with libarchive and written
 * again, as format v1 does (PAX tar, zstd), with one thing changed. The
 * in-archive manifest.json is rewritten for the case's backup id and the
 * sidecar is computed the way xorb-backup computes it (xorb_manifest_to_json
 * plus the archive object's size and SHA-256), so that each case fails for
 * the reason it tests and not for an earlier one. A faithful rewrite must
 * verify and restore: that proves the rewriting itself breaks nothing.
 *
 * Each case runs both commands and requires: exit 2, one clear message on
 * stderr naming that problem, no stream, consumer or stored byte in the
 * server's account afterwards (a restore that committed streams before the
 * problem showed up must have deleted them; checked again once the server
 * dropped the restores that were cut short), and no file added, removed or
 * resized anywhere under the temp dir, where the commands run (cwd, TMPDIR,
 * HOME) and where the `..`, absolute and link targets point; nor in $TMPDIR
 * or /tmp.
 */
#include "xt_fixture.h"
#include "xt_harness.h"

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cmocka.h>

#include "xorb_buf.h"
#include "xorb_hash.h"
#include "xorb_json.h"
#include "xorb_manifest.h"
#include "xorb_names.h"
#include "xorb_nats.h"
#include "xorb_version.h"

#define TENANT "t-qa"
#define BIG_TENANT "t-big" /* one stream of incompressible data, over 2 MiB */
#define HUGE_SIZE (UINT64_C(1) << 40)
#define MAX_BASE_ENTRIES 11 /* 3 streams x 3 (backup.json, snapshot, consumers.json),
			     * account/jetstream.json, manifest.json */
#define ENTRY_MTIME 1795799108

struct base_entry {
	char *path;
	unsigned char *data;
	size_t len;
};

static struct xt_server srv;
static natsConnection *nc;
static char *root;			  /* the test's temp dir: everything lives under it */
static char store[PATH_MAX];		  /* <root>/store */
static char work[PATH_MAX];		  /* <root>/work/a/b/c/d: the commands' cwd */
static char outside[PATH_MAX];		  /* <root>/outside: absolute and link targets */
static char old_cwd[PATH_MAX];
static char env_store[PATH_MAX + 16], env_tmp[PATH_MAX + 16], env_home[PATH_MAX + 16];
static char escape_name[64];		  /* "xorb-escape-<pid>" */
static char abs_target[PATH_MAX];	  /* <outside>/xorb-abs-escape-<pid> */
static char link_target[PATH_MAX];	  /* <outside>/xorb-link-target-<pid> */
static char id_a[XORB_BACKUP_ID_LEN + 1]; /* the real backup the cases start from */
static char id_b[XORB_BACKUP_ID_LEN + 1]; /* another real backup (one message more) */
static char id_big[XORB_BACKUP_ID_LEN + 1];
static char *sidecar_a, *sidecar_b;	  /* their sidecars, verbatim */
static struct base_entry base[MAX_BASE_ENTRIES];
static size_t n_base;

/* ---- commands and the server ---- */

static int run(struct xt_result *r, const char *const *argv)
{
	const char *env[] = { env_store, env_tmp, env_home, NULL };

	memset(r, 0, sizeof(*r));
	assert_int_equal(xt_run(argv, env, 120, r), 0);
	return r->status;
}

static cJSON *js_api(const char *subject, const char *body)
{
	natsMsg *m = NULL;
	cJSON *j;

	assert_int_equal(natsConnection_RequestString(&m, nc, subject, body, 5000), NATS_OK);
	j = cJSON_ParseWithLength(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
	natsMsg_Destroy(m);
	assert_non_null(j);
	return j;
}

/* The streams on the server, comma-joined ("" when none). Caller frees. */
static char *server_streams(void)
{
	cJSON *j = js_api("$JS.API.STREAM.NAMES", "{}"), *it;
	struct xorb_buf b;

	xorb_buf_init(&b);
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "streams"))
		xorb_buf_printf(&b, "%s%s", b.len ? "," : "", cJSON_GetStringValue(it));
	cJSON_Delete(j);
	return xorb_buf_detach(&b);
}

static void delete_all_streams(void)
{
	char *names = server_streams(), *save = NULL, *s;

	for (s = strtok_r(names, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
		char subj[512];

		snprintf(subj, sizeof(subj), "$JS.API.STREAM.DELETE.%s", s);
		cJSON_Delete(js_api(subj, ""));
	}
	free(names);
}

/* Nothing of the tenant on the server: no stream, no consumer, no storage. */
static void assert_server_empty(const char *what)
{
	char *names = server_streams();
	cJSON *info;

	if (*names)
		fprintf(stderr, "%s: left on the server: %s\n", what, names);
	assert_string_equal(names, "");
	free(names);
	info = js_api("$JS.API.INFO", "");
	if (cJSON_GetNumberValue(cJSON_GetObjectItem(info, "streams")) != 0 ||
	    cJSON_GetNumberValue(cJSON_GetObjectItem(info, "consumers")) != 0 ||
	    cJSON_GetNumberValue(cJSON_GetObjectItem(info, "storage")) != 0) {
		char *t = cJSON_PrintUnformatted(info);

		fprintf(stderr, "%s: account not empty: %s\n", what, t);
		free(t);
		fail();
	}
	cJSON_Delete(info);
}

/* ---- files ---- */

static struct xorb_buf tree_buf;
static size_t root_len;

static int tree_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	xorb_buf_printf(&tree_buf, "%s %o %lld\n", p + root_len, (unsigned)st->st_mode,
			S_ISDIR(st->st_mode) ? 0LL : (long long)st->st_size);
	return 0;
}

/* Every path under root with its mode and size, one a line. Caller frees. */
static char *tree(void)
{
	xorb_buf_init(&tree_buf);
	root_len = strlen(root);
	assert_int_equal(nftw(root, tree_cb, 16, FTW_PHYS), 0);
	return xorb_buf_detach(&tree_buf);
}

static void assert_absent(const char *dir, const char *name)
{
	char p[PATH_MAX * 2];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (!lstat(p, &sb))
		fail_msg("%s exists: something was written outside the temp dir", p);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *p;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, fp), (size_t)n);
	p[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return p;
}

static char *read_sidecar(const char *tenant, const char *id, size_t *len)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s/%s/%s.json", store, tenant, id);
	return (char *)slurp(p, len);
}

/* Writes <store>/<tenant>/<name> 0600, as the file store does. */
static void put_file(const char *tenant, const char *name, const void *data, size_t len)
{
	char p[PATH_MAX * 2];
	int fd;

	snprintf(p, sizeof(p), "%s/%s/%s", store, tenant, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* ---- the hostile tar ---- */

/*
 * The tar is made in memory by libarchive's writer (PAX, as format v1), then
 * compressed with zstd. Unbuffered (bytes_per_block 0), so that every header
 * and data write reaches the buffer at once and hand-made header bytes can
 * go between entries: libarchive writes every case but one, an entry that
 * declares more bytes than follow (it would pad it to 1 TiB), see tw_huge.
 */
struct tarw {
	struct archive *a;
	struct xorb_buf tar;
	const char *manifest; /* replaces the base manifest.json */
	size_t manifest_len;
};

static la_ssize_t tar_sink(struct archive *a, void *arg, const void *p, size_t n)
{
	return xorb_buf_append(arg, p, n) ? -1 : (la_ssize_t)n;
}

static void tw_open(struct tarw *t, const char *manifest, size_t len)
{
	xorb_buf_init(&t->tar);
	t->manifest = manifest;
	t->manifest_len = len;
	t->a = archive_write_new();
	assert_non_null(t->a);
	assert_int_equal(archive_write_set_format_pax_restricted(t->a), ARCHIVE_OK);
	assert_int_equal(archive_write_set_bytes_per_block(t->a, 0), ARCHIVE_OK);
	assert_int_equal(archive_write_open2(t->a, &t->tar, NULL, tar_sink, NULL, NULL), ARCHIVE_OK);
}

static void tw_entry(struct tarw *t, const char *path, unsigned type, const char *link, int hard,
		     const void *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();

	assert_non_null(e);
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFLNK ? 0777 : 0600);
	archive_entry_set_mtime(e, ENTRY_MTIME, 0);
	archive_entry_set_size(e, (la_int64_t)len);
	if (link && hard)
		archive_entry_set_hardlink(e, link);
	else if (link)
		archive_entry_set_symlink(e, link);
	if (archive_write_header(t->a, e) != ARCHIVE_OK)
		fail_msg("libarchive: %s: %s", path, archive_error_string(t->a));
	if (len)
		assert_int_equal(archive_write_data(t->a, data, len), (la_ssize_t)len);
	assert_int_equal(archive_write_finish_entry(t->a), ARCHIVE_OK);
	archive_entry_free(e);
}

static void tw_file(struct tarw *t, const char *path, const void *data, size_t len)
{
	tw_entry(t, path, AE_IFREG, NULL, 0, data, len);
}

/* Base entries [from, to), manifest.json replaced by the case's. */
static void tw_base(struct tarw *t, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to && i < n_base; i++) {
		if (!strcmp(base[i].path, "manifest.json"))
			tw_file(t, base[i].path, t->manifest, t->manifest_len);
		else
			tw_file(t, base[i].path, base[i].data, base[i].len);
	}
}

static void ustar_header(unsigned char h[512], const char *name, char type, uint64_t size)
{
	unsigned sum = 0;
	size_t i;

	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", name);
	memcpy(h + 100, "0000600", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	snprintf((char *)h + 124, 12, "%011" PRIo64, size);
	snprintf((char *)h + 136, 12, "%011o", (unsigned)ENTRY_MTIME);
	memset(h + 148, ' ', 8);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

static void pax_record(struct xorb_buf *b, const char *key, const char *value)
{
	size_t body = strlen(key) + strlen(value) + 3, n = body + 1; /* " k=v\n" + digits */

	while (snprintf(NULL, 0, "%zu", n) + body != n)
		n = (size_t)snprintf(NULL, 0, "%zu", n) + body;
	xorb_buf_printf(b, "%zu %s=%s\n", n, key, value);
}

static void append_padded(struct xorb_buf *b, const void *p, size_t n)
{
	static const unsigned char zero[512];

	assert_int_equal(xorb_buf_append(b, p, n), 0);
	if (n % 512)
		assert_int_equal(xorb_buf_append(b, zero, 512 - n % 512), 0);
}

/*
 * An entry whose PAX header declares `declared` bytes while only len follow
 * (written by hand: libarchive's writer would pad it to its declared size).
 */
static void tw_huge(struct tarw *t, const char *path, const void *data, size_t len,
		    uint64_t declared)
{
	unsigned char h[512];
	struct xorb_buf pax;
	char v[32];

	xorb_buf_init(&pax);
	pax_record(&pax, "path", path);
	snprintf(v, sizeof(v), "%" PRIu64, declared);
	pax_record(&pax, "size", v);
	ustar_header(h, "PaxHeader/huge", 'x', pax.len);
	append_padded(&t->tar, h, 512);
	append_padded(&t->tar, pax.data, pax.len);
	ustar_header(h, path, '0', len);
	append_padded(&t->tar, h, 512);
	append_padded(&t->tar, data, len);
	xorb_buf_release(&pax);
}

/* Ends the tar (libarchive writes its end blocks) and compresses it with
 * zstd as one frame. Caller frees. */
static unsigned char *tw_close_zstd(struct tarw *t, size_t *len)
{
	size_t cap, n;
	unsigned char *z;

	assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
	archive_write_free(t->a);
	cap = ZSTD_compressBound(t->tar.len);
	z = malloc(cap);
	assert_non_null(z);
	n = ZSTD_compress(z, cap, t->tar.data, t->tar.len, 3);
	assert_false(ZSTD_isError(n));
	xorb_buf_release(&t->tar);
	*len = n;
	return z;
}

/* ---- the cases ---- */

struct bad_case {
	const char *name;
	/* changes both the in-archive manifest and the sidecar */
	void (*manifest)(struct xorb_manifest *m);
	/* writes the tar's entries; NULL: the faithful copy */
	void (*tar)(struct tarw *t);
	/* changes the sidecar only, after its archive member is set */
	void (*sidecar)(struct xorb_manifest *m);
	/* the archive and sidecar written raw instead (NULL: built as above) */
	void (*raw)(const char *id);
	/* substrings (any case) that the error of both commands must hold */
	const char *expect[4];
	/* one more for xorb-restore only (rollback), or NULL */
	const char *expect_restore;
};

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	assert_non_null(*dst);
}

static size_t base_index(const char *path)
{
	size_t i;

	for (i = 0; i < n_base; i++)
		if (!strcmp(base[i].path, path))
			return i;
	fail_msg("no base entry %s", path);
	return 0;
}

static struct xorb_entry *manifest_entry(struct xorb_manifest *m, const char *path)
{
	size_t i;

	for (i = 0; i < m->n_entries; i++)
		if (!strcmp(m->entries[i].path, path))
			return &m->entries[i];
	fail_msg("the manifest lists no %s", path);
	return NULL;
}

/* Builds the case's archive and sidecar under id. */
static void build(const struct bad_case *c, const char *id)
{
	char key[128], name[128], *inner_json;
	struct xorb_manifest *m = NULL;
	struct xorb_error err = { 0, "" };
	struct xorb_sha256 *h;
	struct xorb_buf j;
	struct tarw t;
	unsigned char *z;
	size_t zlen;

	if (c->raw) {
		c->raw(id);
		return;
	}
	if (xorb_manifest_parse(sidecar_a, strlen(sidecar_a), "base sidecar", &m, &err))
		fail_msg("%s", err.msg);
	snprintf(key, sizeof(key), TENANT "/%s.tar.zst", id);
	set_str(&m->backup_id, id);
	set_str(&m->archive_key, key);
	if (c->manifest)
		c->manifest(m);
	xorb_buf_init(&j);
	assert_int_equal(xorb_manifest_to_json(m, 0, &j), 0);
	inner_json = xorb_buf_detach(&j);
	tw_open(&t, inner_json, strlen(inner_json));
	if (c->tar)
		c->tar(&t);
	else
		tw_base(&t, 0, n_base);
	z = tw_close_zstd(&t, &zlen);
	free(inner_json);
	snprintf(name, sizeof(name), "%s.tar.zst", id);
	put_file(TENANT, name, z, zlen);

	h = xorb_sha256_new();
	assert_non_null(h);
	xorb_sha256_update(h, z, zlen);
	xorb_sha256_final_hex(h, m->archive_sha256);
	xorb_sha256_free(h);
	free(z);
	m->archive_size = zlen;
	if (c->sidecar)
		c->sidecar(m);
	assert_int_equal(xorb_manifest_to_json(m, 1, &j), 0);
	snprintf(name, sizeof(name), "%s.json", id);
	put_file(TENANT, name, j.data, j.len);
	xorb_buf_release(&j);
	xorb_manifest_free(m);
}

/* 1. mismatched sidecars */

static void copy_real_archive(const char *id)
{
	char p[PATH_MAX * 2], name[128];
	unsigned char *data;
	size_t len;

	snprintf(p, sizeof(p), "%s/" TENANT "/%s.tar.zst", store, id_a);
	data = slurp(p, &len);
	snprintf(name, sizeof(name), "%s.tar.zst", id);
	put_file(TENANT, name, data, len);
	free(data);
}

/* Backup A's archive beside backup B's sidecar, verbatim. */
static void raw_other_sidecar(const char *id)
{
	char name[128];

	copy_real_archive(id);
	snprintf(name, sizeof(name), "%s.json", id);
	put_file(TENANT, name, sidecar_b, strlen(sidecar_b));
}

/* Backup A's archive beside backup B's sidecar renamed to this id (so that
 * it passes the id check). */
static void raw_other_sidecar_renamed(const char *id)
{
	struct xorb_manifest *m = NULL;
	struct xorb_error err = { 0, "" };
	char key[128], name[128];
	struct xorb_buf j;

	copy_real_archive(id);
	if (xorb_manifest_parse(sidecar_b, strlen(sidecar_b), "sidecar B", &m, &err))
		fail_msg("%s", err.msg);
	snprintf(key, sizeof(key), TENANT "/%s.tar.zst", id);
	set_str(&m->backup_id, id);
	set_str(&m->archive_key, key);
	xorb_buf_init(&j);
	assert_int_equal(xorb_manifest_to_json(m, 1, &j), 0);
	snprintf(name, sizeof(name), "%s.json", id);
	put_file(TENANT, name, j.data, j.len);
	xorb_buf_release(&j);
	xorb_manifest_free(m);
}

static void sidecar_wrong_sha(struct xorb_manifest *m)
{
	m->archive_sha256[0] = m->archive_sha256[0] == '0' ? '1' : '0';
}

static void sidecar_wrong_size(struct xorb_manifest *m)
{
	m->archive_size += 1;
}

static void sidecar_other_content(struct xorb_manifest *m)
{
	set_str(&m->completed, "2020-01-01T00:00:59Z");
}

/* 2. unsafe paths */

static void tar_dotdot(struct tarw *t)
{
	char p[128];

	snprintf(p, sizeof(p), "../%s", escape_name);
	tw_file(t, p, "escaped\n", 8);
	tw_base(t, 0, n_base);
}

/* After the first stream, which a restore has committed by then. */
static void tar_dotdot_deep(struct tarw *t)
{
	char p[PATH_MAX];

	/* "streams/<third stream>/" + "../../../<escape>" */
	snprintf(p, sizeof(p), "%.*s../../../%s", (int)(strlen(base[6].path) - strlen("backup.json")),
		 base[6].path, escape_name);
	tw_base(t, 0, 3);
	tw_file(t, p, "escaped\n", 8);
	tw_base(t, 3, n_base);
}

static void tar_absolute(struct tarw *t)
{
	tw_base(t, 0, 3);
	tw_file(t, abs_target, "escaped\n", 8);
	tw_base(t, 3, n_base);
}

/* 3. links */

/* The first stream's snapshot as a symlink to /etc/passwd. */
static void tar_symlink(struct tarw *t)
{
	tw_base(t, 0, 1);
	tw_entry(t, base[1].path, AE_IFLNK, "/etc/passwd", 0, NULL, 0);
	tw_base(t, 2, n_base);
}

/* account/jetstream.json as a hard link to a path outside (after every
 * stream: a restore has committed them all by then). */
static void tar_hardlink(struct tarw *t)
{
	size_t acc = base_index("account/jetstream.json");

	tw_base(t, 0, acc);
	tw_entry(t, "account/jetstream.json", AE_IFREG, link_target, 1, NULL, 0);
	tw_base(t, acc + 1, n_base);
}

/* 4. huge declared sizes */

/* The first snapshot declares 1 TiB; the manifest says its real size. */
static void tar_huge_snapshot(struct tarw *t)
{
	tw_base(t, 0, 1);
	tw_huge(t, base[1].path, base[1].data, base[1].len, HUGE_SIZE);
}

/* account/jetstream.json declares 1 TiB and so do both manifests. */
static void manifest_huge_account(struct xorb_manifest *m)
{
	manifest_entry(m, "account/jetstream.json")->size = HUGE_SIZE;
}

static void tar_huge_account(struct tarw *t)
{
	size_t acc = base_index("account/jetstream.json");

	tw_base(t, 0, acc);
	tw_huge(t, base[acc].path, base[acc].data, base[acc].len, HUGE_SIZE);
}

/* The first snapshot declares 1 TiB and so do both manifests (entry and
 * snapshot size): the reader streams what there is and must stop cleanly. */
static void manifest_huge_snapshot(struct xorb_manifest *m)
{
	manifest_entry(m, base[1].path)->size = HUGE_SIZE;
	m->streams[0].snapshot.size = HUGE_SIZE;
}

/* 5. duplicates, each right after the original */

static void tar_dup_snapshot(struct tarw *t)
{
	tw_base(t, 0, 2);
	tw_base(t, 1, n_base);
}

static void tar_dup_backup_json(struct tarw *t)
{
	tw_base(t, 0, 1);
	tw_base(t, 0, n_base);
}

static void tar_dup_stream(struct tarw *t)
{
	tw_base(t, 0, 3);
	tw_base(t, 0, n_base);
}

static void tar_dup_account(struct tarw *t)
{
	size_t acc = base_index("account/jetstream.json");

	tw_base(t, 0, acc + 1);
	tw_base(t, acc, n_base);
}

/* 6. the manifest names streams the tar lacks */

/* The third stream's entries left out; both manifests still list it. */
static void tar_missing_stream(struct tarw *t)
{
	tw_base(t, 0, 6);
	tw_base(t, 9, n_base);
}

/* Both manifests list a fourth stream that the tar does not hold. */
static void manifest_extra_stream(struct xorb_manifest *m)
{
	struct xorb_manifest_stream *s;

	s = realloc(m->streams, (m->n_streams + 1) * sizeof(*s));
	assert_non_null(s);
	m->streams = s;
	s = &m->streams[m->n_streams++];
	memset(s, 0, sizeof(*s));
	s->name = strdup("xorb-" TENANT "-control-live");
	s->storage = strdup("file");
	s->consumers = calloc(1, sizeof(char *));
	assert_true(s->name && s->storage && s->consumers);
	s->messages = 5;
	s->bytes = 500;
	s->first_seq = 1;
	s->last_seq = 5;
	s->replicas = 1;
	s->snapshot.size = 1000;
	memset(s->snapshot.sha256, 'a', 64);
	s->snapshot.sha256[64] = '\0';
}

#define ROLLED_BACK "deleted again"

static const struct bad_case cases[] = {
	{ "sidecar of another backup", .raw = raw_other_sidecar,
	  .expect = { "describes backup " TENANT "/" } },
	/* B's backup.json of the first stream may differ in length or only in
	 * content (timestamps): "declares N bytes, the sidecar M" or "does not
	 * match its SHA-256 in the sidecar" */
	{ "sidecar of another backup, renamed", .raw = raw_other_sidecar_renamed,
	  .expect = { "\"streams/xorb-t-qa-compliance-replay/backup.json\"", "the sidecar" } },
	{ "sidecar with another archive SHA-256", .sidecar = sidecar_wrong_sha,
	  .expect = { "the sidecar says" }, .expect_restore = ROLLED_BACK },
	{ "sidecar with another archive size", .sidecar = sidecar_wrong_size,
	  .expect = { "the sidecar says" }, .expect_restore = ROLLED_BACK },
	{ "sidecar differs from manifest.json", .sidecar = sidecar_other_content,
	  .expect = { "manifest.json does not match the sidecar" }, .expect_restore = ROLLED_BACK },
	{ "entry ../escape", .tar = tar_dotdot, .expect = { "unsafe path \"../xorb-escape-" } },
	{ "entry streams/x/../../../escape", .tar = tar_dotdot_deep,
	  .expect = { "unsafe path \"streams/xorb-t-qa-scan-live/../../../xorb-escape-" },
	  .expect_restore = ROLLED_BACK },
	{ "entry with an absolute path", .tar = tar_absolute,
	  .expect = { "unsafe path \"/", "/outside/xorb-abs-escape-" }, .expect_restore = ROLLED_BACK },
	{ "symlink entry", .tar = tar_symlink, .expect = { "stream.tar.s2\" is not a regular file" } },
	{ "hardlink entry", .tar = tar_hardlink,
	  .expect = { "\"account/jetstream.json\" is not a regular file" }, .expect_restore = ROLLED_BACK },
	{ "entry declaring 1 TiB", .tar = tar_huge_snapshot,
	  .expect = { "declares 1099511627776 bytes, the sidecar " } },
	{ "entry and manifests declaring 1 TiB", .manifest = manifest_huge_account,
	  .tar = tar_huge_account, .expect = { "\"account/jetstream.json\" is too large (1099511627776 bytes)" },
	  .expect_restore = ROLLED_BACK },
	{ "snapshot and manifests declaring 1 TiB", .manifest = manifest_huge_snapshot,
	  .tar = tar_huge_snapshot, .expect = { "stream.tar.s2\"", "truncated" } },
	{ "snapshot entry twice", .tar = tar_dup_snapshot,
	  .expect = { "stream.tar.s2\" twice" }, .expect_restore = ROLLED_BACK },
	{ "backup.json twice", .tar = tar_dup_backup_json,
	  .expect = { "stream \"xorb-t-qa-compliance-replay\" appears twice" } },
	{ "whole stream twice", .tar = tar_dup_stream,
	  .expect = { "stream \"xorb-t-qa-compliance-replay\" appears twice" }, .expect_restore = ROLLED_BACK },
	{ "account/jetstream.json twice", .tar = tar_dup_account,
	  .expect = { "\"account/jetstream.json\" twice" }, .expect_restore = ROLLED_BACK },
	{ "manifest stream missing from the tar", .tar = tar_missing_stream,
	  .expect = { "lacks \"streams/xorb-t-qa-scan-live/backup.json\"" }, .expect_restore = ROLLED_BACK },
	{ "manifest names an extra stream", .manifest = manifest_extra_stream,
	  .expect = { "lacks the snapshot of stream \"xorb-t-qa-control-live\"" }, .expect_restore = ROLLED_BACK },
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static void case_id(const struct bad_case *c, char id[XORB_BACKUP_ID_LEN + 1])
{
	unsigned i = (unsigned)(c - cases) + 1;

	snprintf(id, XORB_BACKUP_ID_LEN + 1, "20200101T0000%02uZ-bad%03x", i, i);
	assert_true(xorb_backup_id_parse(id, NULL));
}

static void assert_error(const struct bad_case *c, const char *cmd, const struct xt_result *r,
			 const char *also)
{
	char prefix[64];
	size_t i;
	int ok = r->status == 2;

	snprintf(prefix, sizeof(prefix), "%s: error: ", cmd);
	ok = ok && strstr(r->err, prefix);
	for (i = 0; ok && i < 4 && c->expect[i]; i++)
		ok = strcasestr(r->err, c->expect[i]) != NULL;
	if (ok && also)
		ok = strcasestr(r->err, also) != NULL;
	fprintf(stderr, "[%s] %s: exit %d: %s%s", c->name, cmd, r->status, r->err,
		r->err_len && r->err[r->err_len - 1] == '\n' ? "" : "\n");
	if (!ok)
		fail_msg("[%s] %s: expected exit 2 and an error holding \"%s\"%s%s%s", c->name, cmd,
			 c->expect[0], also ? " and \"" : "", also ? also : "", also ? "\"" : "");
}

/* What a test holds when a failed assertion ends it early: the per-test
 * teardown (cleanup) frees it, so that a failure is not also a leak. */
static struct {
	struct xt_result verify, restore;
	char *before, *after, *names;
	struct xorb_manifest *m;
} held;

static void release_held(void)
{
	xt_result_release(&held.verify);
	xt_result_release(&held.restore);
	free(held.before);
	free(held.after);
	free(held.names);
	xorb_manifest_free(held.m);
	memset(&held, 0, sizeof(held));
}

/* Does the server under test apply restored data as it arrives (2.14+)? */
static int server_pipes(void)
{
	int r = xt_server_at_least(nc, 2, 14);

	assert_true(r >= 0);
	return r;
}

/* Runs both commands on tenant/id and checks everything a rejection must
 * leave as it was. xorb-restore's result stays in held.restore. */
static void check_rejected(const struct bad_case *c, const char *tenant, const char *id)
{
	held.before = tree();

	const char *verify[] = { xt_bin("xorb-verify"), tenant, id, NULL };
	run(&held.verify, verify);
	assert_error(c, "xorb-verify", &held.verify, NULL);

	const char *restore[] = { xt_bin("xorb-restore"), "-s", srv.url, tenant, id, NULL };
	run(&held.restore, restore);
	/* a server that applies restored data as it arrives (2.14+) gets the
	 * backup only once all of it is verified: nothing is created at all */
	assert_error(c, "xorb-restore", &held.restore,
		     c->expect_restore && server_pipes() ? "nothing was created" : c->expect_restore);

	assert_server_empty(c->name);
	held.after = tree();
	if (strcmp(held.before, held.after))
		fail_msg("[%s] files changed under %s:\n--- before\n%s--- after\n%s", c->name, root,
			 held.before, held.after);
	assert_absent(outside, strrchr(abs_target, '/') + 1);
	assert_absent(outside, strrchr(link_target, '/') + 1);
	assert_absent(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", escape_name);
	assert_absent("/tmp", escape_name);
	assert_absent("/", escape_name);
}

static void test_case(void **state)
{
	const struct bad_case *c = *state;
	char id[XORB_BACKUP_ID_LEN + 1];

	case_id(c, id);
	build(c, id);
	check_rejected(c, TENANT, id);
}

/*
 * A sidecar whose archive size is off by one, on an archive larger than the
 * reader's 1 MiB buffer: besides the rejection, a message that quotes the
 * archive's SHA-256 must quote the real one (a digest over part of the
 * archive would claim a checksum mismatch that does not exist).
 */
static void test_big_archive_wrong_size(void **state)
{
	static const struct bad_case c = { .name = "big archive, sidecar with another size",
					   .expect = { "the sidecar says" },
					   .expect_restore = ROLLED_BACK };
	struct xorb_error e = { 0, "" };
	char name[64], *text;
	const char *at;
	struct xorb_buf j;
	size_t len;

	text = read_sidecar(BIG_TENANT, id_big, &len);
	if (xorb_manifest_parse(text, len, "big sidecar", &held.m, &e)) {
		free(text);
		fail_msg("%s", e.msg);
	}
	free(text);
	assert_true(held.m->archive_size > (2u << 20)); /* a few reader buffers */
	held.m->archive_size += 1;
	xorb_buf_init(&j);
	assert_int_equal(xorb_manifest_to_json(held.m, 1, &j), 0);
	snprintf(name, sizeof(name), "%s.json", id_big);
	put_file(BIG_TENANT, name, j.data, j.len);
	xorb_buf_release(&j);

	check_rejected(&c, BIG_TENANT, id_big);
	at = strstr(held.restore.err, "with SHA-256 ");
	if (at && strncmp(at + 13, held.m->archive_sha256, 12))
		fail_msg("[%s] xorb-restore quotes SHA-256 %.12s for the archive; its real SHA-256 is %.12s…",
			 c.name, at + 13, held.m->archive_sha256);
}

/* The rewriting machinery itself: a faithful copy verifies and restores. */
static void test_faithful_copy_is_whole(void **state)
{
	static const struct bad_case faithful = { .name = "faithful copy" };
	char id[XORB_BACKUP_ID_LEN + 1] = "20200101T000100Z-600d01";

	build(&faithful, id);
	const char *verify[] = { xt_bin("xorb-verify"), TENANT, id, NULL };
	if (run(&held.verify, verify) != 0)
		fprintf(stderr, "verify: %s", held.verify.err);
	assert_int_equal(held.verify.status, 0);
	assert_non_null(strstr(held.verify.out, "is whole"));
	const char *restore[] = { xt_bin("xorb-restore"), "-s", srv.url, TENANT, id, NULL };
	if (run(&held.restore, restore) != 0)
		fprintf(stderr, "restore: %s", held.restore.err);
	assert_int_equal(held.restore.status, 0);
	held.names = server_streams();
	assert_string_equal(held.names, "xorb-t-qa-compliance-replay,xorb-t-qa-evidence-live,xorb-t-qa-scan-live");
}

/* Restores that were cut short leave nothing on the server even after the
 * server's restore inactivity timeout (5 s) dropped them. */
static void test_server_still_empty(void **state)
{
	sleep(6);
	assert_server_empty("after all cases");
}

static int cleanup(void **state)
{
	release_held();
	delete_all_streams();
	return 0;
}

/* ---- setup ---- */

static void backup(const char *tenant, char id[XORB_BACKUP_ID_LEN + 1])
{
	const char *argv[] = { xt_bin("xorb-backup"), "-s", srv.url, "tenant", tenant, "--json", NULL };
	struct xt_result r;
	cJSON *j;

	if (run(&r, argv) != 0)
		fail_msg("xorb-backup: exit %d: %s", r.status, r.err);
	j = cJSON_Parse(r.out);
	assert_non_null(j);
	assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(j, "backup_id")));
	snprintf(id, XORB_BACKUP_ID_LEN + 1, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "backup_id")));
	cJSON_Delete(j);
	xt_result_release(&r);
}

/* Reads backup A's entries into base[]: the layout format v1 writes. */
static void load_base(void)
{
	char p[PATH_MAX * 2];
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int rc;

	assert_non_null(a);
	assert_int_equal(archive_read_support_filter_zstd(a), ARCHIVE_OK);
	assert_int_equal(archive_read_support_format_tar(a), ARCHIVE_OK);
	snprintf(p, sizeof(p), "%s/" TENANT "/%s.tar.zst", store, id_a);
	assert_int_equal(archive_read_open_filename(a, p, 1 << 16), ARCHIVE_OK);
	while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		struct base_entry *b = &base[n_base++];
		size_t len = (size_t)archive_entry_size(e);

		assert_true(n_base <= MAX_BASE_ENTRIES);
		b->path = strdup(archive_entry_pathname(e));
		b->data = malloc(len ? len : 1);
		b->len = len;
		assert_true(b->path && b->data);
		assert_int_equal(archive_read_data(a, b->data, len), (la_ssize_t)len);
	}
	assert_int_equal(rc, ARCHIVE_EOF);
	archive_read_free(a);
	/* the cases rely on this order: three streams, each one entry of
	 * backup.json, one stream.tar.s2 (small enough for one part) and
	 * consumers.json */
	assert_int_equal(n_base, 11);
	assert_string_equal(base[0].path, "streams/xorb-t-qa-compliance-replay/backup.json");
	assert_string_equal(base[1].path, "streams/xorb-t-qa-compliance-replay/stream.tar.s2");
	assert_string_equal(base[2].path, "streams/xorb-t-qa-compliance-replay/consumers.json");
	assert_string_equal(base[6].path, "streams/xorb-t-qa-scan-live/backup.json");
	assert_string_equal(base[7].path, "streams/xorb-t-qa-scan-live/stream.tar.s2");
	assert_string_equal(base[8].path, "streams/xorb-t-qa-scan-live/consumers.json");
	assert_string_equal(base[9].path, "account/jetstream.json");
	assert_string_equal(base[10].path, "manifest.json");
}

static void mkdirs(const char *path)
{
	char p[PATH_MAX], *s;

	snprintf(p, sizeof(p), "%s", path);
	for (s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(p, 0700) && errno != EEXIST)
				fail_msg("mkdir %s: %s", p, strerror(errno));
			*s = '/';
		}
	if (mkdir(p, 0700) && errno != EEXIST)
		fail_msg("mkdir %s: %s", p, strerror(errno));
}

static int setup(void **state)
{
	char why[1024], dir[PATH_MAX + 16];
	natsMsg *m = NULL;
	size_t len;

	assert_int_equal(xt_server_start(&srv, NULL), 0);
	assert_int_equal(xt_server_connect(&srv, &nc), 0);
	if (xt_fixture_tenant(nc, TENANT, 20, why, sizeof(why)))
		fail_msg("fixture: %s", why);

	root = xt_tempdir("xorb-bad");
	assert_non_null(root);
	snprintf(store, sizeof(store), "%s/store", root);
	snprintf(work, sizeof(work), "%s/work/a/b/c/d", root);
	snprintf(outside, sizeof(outside), "%s/outside", root);
	mkdirs(work);
	mkdirs(outside);
	snprintf(dir, sizeof(dir), "%s/tmp", root);
	mkdirs(dir);
	snprintf(env_tmp, sizeof(env_tmp), "TMPDIR=%s", dir);
	snprintf(dir, sizeof(dir), "%s/home", root);
	mkdirs(dir);
	snprintf(env_home, sizeof(env_home), "HOME=%s", dir);
	snprintf(env_store, sizeof(env_store), "XORB_STORE=%s", store);
	snprintf(escape_name, sizeof(escape_name), "xorb-escape-%d", (int)getpid());
	snprintf(abs_target, sizeof(abs_target), "%s/xorb-abs-escape-%d", outside, (int)getpid());
	snprintf(link_target, sizeof(link_target), "%s/xorb-link-target-%d", outside, (int)getpid());
	assert_non_null(getcwd(old_cwd, sizeof(old_cwd)));
	assert_int_equal(chdir(work), 0);

	/* two real backups that differ in the first stream by one message */
	backup(TENANT, id_a);
	assert_int_equal(natsConnection_RequestString(&m, nc, "xorb." TENANT ".compliance.audit.created",
						      "one more", 5000), NATS_OK);
	natsMsg_Destroy(m);
	backup(TENANT, id_b);
	assert_string_not_equal(id_a, id_b);
	if (xt_fixture_bulk(nc, "xorb-" BIG_TENANT "-scan-live", "xorb." BIG_TENANT ".scan.load.created", 3000,
			    1024, why, sizeof(why)))
		fail_msg("fixture: %s", why);
	backup(BIG_TENANT, id_big);
	sidecar_a = read_sidecar(TENANT, id_a, &len);
	sidecar_b = read_sidecar(TENANT, id_b, &len);
	load_base();
	delete_all_streams();
	assert_server_empty("setup");
	return 0;
}

static int teardown(void **state)
{
	size_t i;

	if (old_cwd[0] && chdir(old_cwd))
		perror("chdir");
	for (i = 0; i < n_base; i++) {
		free(base[i].path);
		free(base[i].data);
	}
	free(sidecar_a);
	free(sidecar_b);
	natsConnection_Destroy(nc);
	xt_server_stop(&srv);
	if (root)
		xt_rmtree(root);
	free(root);
	return 0;
}

int main(void)
{
	struct CMUnitTest tests[N_CASES + 3];
	size_t i;

	tests[0] = (struct CMUnitTest){ "faithful copy is whole", test_faithful_copy_is_whole, NULL,
					cleanup, NULL };
	for (i = 0; i < N_CASES; i++)
		tests[i + 1] = (struct CMUnitTest){ cases[i].name, test_case, NULL, cleanup,
						    (void *)&cases[i] };
	tests[N_CASES + 1] = (struct CMUnitTest){ "big archive, sidecar with another size",
						  test_big_archive_wrong_size, NULL, cleanup, NULL };
	tests[N_CASES + 2] = (struct CMUnitTest){ "server still empty", test_server_still_empty, NULL,
						  NULL, NULL };
	return _cmocka_run_group_tests("bad_archives", tests, N_CASES + 3, setup, teardown);
}

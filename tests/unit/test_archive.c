/*
 * Unit tests of archive format v1 (xorb_archive.h) through the real file
 * store in a temporary directory: JSON entries and blobs below, at and above
 * the part size written and read back with the same paths, sizes and
 * SHA-256s; the archive's own size and digest agree between writer, reader
 * and the bytes on disk; truncated or flipped archives and hostile tars
 * (made here with libarchive: "..", absolute paths, links, directories) fail
 * with XORB_ECORRUPT and never crash or pass silently.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xorb_archive.h"
#include "xorb_error.h"
#include "xorb_store.h"

#define KEY "t-qa/20261127T170508Z-3fa9c1.tar.zst"
#define PART 65536
#define BIG_BLOB 200000 /* three full parts and 3392 bytes */
#define SMALL_BLOB 1000
#define MAX_ENTRIES 64

struct fixture {
	char dir[64];
	struct xorb_store *store;
};

/* What the writer recorded, for comparison with the reader. */
struct written {
	unsigned char *big, *small;
	struct xorb_blob_info big_info, small_info;
	struct xorb_entry entries[MAX_ENTRIES];
	size_t n_entries;
	uint64_t bytes_out;
	char sha[XORB_SHA256_HEX];
};

struct read_entry {
	char path[XORB_ENTRY_PATH_MAX];
	uint64_t size;
	char sha[XORB_SHA256_HEX];
	unsigned char *data;
	size_t len;
};

struct read_result {
	struct read_entry e[MAX_ENTRIES];
	size_t n;
	uint64_t bytes_in;
	char sha[XORB_SHA256_HEX];
};

static const char backup_json[] = "{\"config\":{\"name\":\"xorb-t-qa-scan-live\",\"max_age\":2592000000000000},"
				  "\"state\":{\"messages\":3}}";
static const char manifest_json[] = "{\"format\":\"xorb-backup\",\"format_version\":1}\n";

/* ---- helpers ---- */

static void sha256_hex(const void *p, size_t len, char out[XORB_SHA256_HEX])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	int i;

	assert_int_equal(EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL), 1);
	assert_int_equal(mdlen, 32);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Deterministic incompressible bytes (xorshift64*). */
static unsigned char *random_bytes(size_t n, uint64_t seed)
{
	unsigned char *p = malloc(n ? n : 1);
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		p[i] = (unsigned char)((x * 0x2545f4914f6cdd1dULL) >> 56);
	}
	return p;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct xorb_error err = { 0 };

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/xorb-test-archive-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	if (xorb_store_open(f->dir, &f->store, &err))
		fail_msg("store open: %s", err.msg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	xorb_store_free(f->store);
	nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void path_of(const struct fixture *f, const char *key, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", f->dir, key);
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
	fclose(fp);
	*len = (size_t)n;
	return p;
}

static void blob_in_chunks(struct xorb_aw *a, const unsigned char *p, size_t n, size_t chunk)
{
	struct xorb_error err = { 0 };
	size_t off;

	for (off = 0; off < n; off += chunk) {
		size_t k = n - off < chunk ? n - off : chunk;

		if (xorb_aw_blob_write(a, p + off, k, &err))
			fail_msg("blob write: %s", err.msg);
	}
}

/* Writes the standard archive under key: a JSON entry, a small blob, a big
 * blob in parts and the manifest. */
static void write_standard(struct fixture *f, const char *key, struct written *w)
{
	struct xorb_aw_opts o = { .part_size = PART, .mtime = 1795799108 };
	struct xorb_error err = { 0 };
	struct xorb_store_writer *sw;
	struct xorb_aw *a;
	size_t i;

	memset(w, 0, sizeof(*w));
	w->big = random_bytes(BIG_BLOB, 1);
	w->small = random_bytes(SMALL_BLOB, 2);
	assert_int_equal(xorb_store_put_begin(f->store, key, &sw, &err), XORB_OK);
	assert_int_equal(xorb_aw_new(&a, sw, &o, &err), XORB_OK);
	assert_int_equal(xorb_aw_add(a, "streams/xorb-t-qa-scan-live/backup.json", backup_json,
				     strlen(backup_json), &err), XORB_OK);
	assert_int_equal(xorb_aw_blob_begin(a, "streams/xorb-t-qa-evidence-live/stream.tar.s2", &err),
			 XORB_OK);
	blob_in_chunks(a, w->small, SMALL_BLOB, 333);
	assert_int_equal(xorb_aw_blob_end(a, &w->small_info, &err), XORB_OK);
	assert_int_equal(xorb_aw_blob_begin(a, "streams/xorb-t-qa-scan-live/stream.tar.s2", &err), XORB_OK);
	blob_in_chunks(a, w->big, BIG_BLOB, 7777);
	assert_int_equal(xorb_aw_blob_end(a, &w->big_info, &err), XORB_OK);
	assert_int_equal(xorb_aw_add(a, "manifest.json", manifest_json, strlen(manifest_json), &err),
			 XORB_OK);
	if (xorb_aw_finish(a, &err))
		fail_msg("finish: %s", err.msg);
	w->n_entries = xorb_aw_entry_count(a);
	assert_true(w->n_entries <= MAX_ENTRIES);
	for (i = 0; i < w->n_entries; i++) {
		const struct xorb_entry *e = xorb_aw_entry(a, i);

		assert_non_null(e);
		w->entries[i] = *e;
		w->entries[i].path = strdup(e->path);
		assert_non_null(w->entries[i].path);
	}
	assert_null(xorb_aw_entry(a, w->n_entries));
	w->bytes_out = xorb_aw_bytes_out(a);
	memcpy(w->sha, xorb_aw_sha256(a), XORB_SHA256_HEX);
	xorb_aw_free(a);
	if (xorb_store_put_commit(sw, &err))
		fail_msg("commit: %s", err.msg);
}

static void written_free(struct written *w)
{
	size_t i;

	for (i = 0; i < w->n_entries; i++)
		free(w->entries[i].path);
	free(w->big);
	free(w->small);
}

static void result_free(struct read_result *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->e[i].data);
	r->n = 0;
}

/* Reads the whole archive at key; returns the first failure's code. Entry
 * data is read with xorb_ar_read, then xorb_ar_entry_done gives the digest
 * (of the whole entry: the reads so far and the rest). */
static int read_archive(struct fixture *f, const char *key, struct read_result *r,
			struct xorb_error *err)
{
	struct xorb_store_reader *sr;
	struct xorb_ar *a = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = xorb_store_get_open(f->store, key, &sr, err);
	if (rc)
		return rc;
	rc = xorb_ar_open(&a, sr, key, err);
	if (rc) {
		assert_null(a);
		goto out;
	}
	for (;;) {
		struct read_entry *e;
		const char *path;
		uint64_t size;

		rc = xorb_ar_next(a, &path, &size, err);
		if (rc == XORB_ENOTFOUND)
			break;
		if (rc)
			goto out;
		assert_true(r->n < MAX_ENTRIES);
		e = &r->e[r->n++];
		snprintf(e->path, sizeof(e->path), "%s", path);
		e->size = size;
		e->data = malloc(size + 1);
		assert_non_null(e->data);
		for (;;) {
			const void *d;
			size_t got;

			rc = xorb_ar_read(a, &d, &got, err);
			if (rc)
				goto out;
			if (!got)
				break;
			assert_true(e->len + got <= size);
			memcpy(e->data + e->len, d, got);
			e->len += got;
		}
		rc = xorb_ar_entry_done(a, e->sha, err);
		if (rc)
			goto out;
	}
	/* after the end, next keeps saying so */
	{
		const char *path;
		uint64_t size;

		assert_int_equal(xorb_ar_next(a, &path, &size, err), XORB_ENOTFOUND);
	}
	rc = xorb_ar_finish(a, err);
	if (rc)
		goto out;
	r->bytes_in = xorb_ar_bytes_in(a);
	memcpy(r->sha, xorb_ar_sha256(a), XORB_SHA256_HEX);
out:
	xorb_ar_free(a);
	xorb_store_get_close(sr);
	return rc;
}

/* ---- round trip ---- */

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct xorb_error err = { 0 };
	struct read_result r;
	struct written w;
	char sha[XORB_SHA256_HEX], path[256];
	unsigned char *disk, *joined;
	size_t disk_len, i, off;
	struct stat st;

	write_standard(f, KEY, &w);

	/* the writer's record */
	assert_int_equal(w.n_entries, 7);
	assert_string_equal(w.entries[0].path, "streams/xorb-t-qa-scan-live/backup.json");
	assert_int_equal(w.entries[0].size, strlen(backup_json));
	sha256_hex(backup_json, strlen(backup_json), sha);
	assert_string_equal(w.entries[0].sha256, sha);

	/* A blob smaller than a part: one entry under its own name. */
	assert_string_equal(w.entries[1].path, "streams/xorb-t-qa-evidence-live/stream.tar.s2");
	assert_int_equal(w.entries[1].size, SMALL_BLOB);
	assert_int_equal(w.small_info.size, SMALL_BLOB);
	assert_int_equal(w.small_info.parts, 0);
	sha256_hex(w.small, SMALL_BLOB, sha);
	assert_string_equal(w.small_info.sha256, sha);
	assert_string_equal(w.entries[1].sha256, sha);

	/* A blob larger than a part: numbered parts, the last one short. */
	assert_int_equal(w.big_info.size, BIG_BLOB);
	assert_int_equal(w.big_info.parts, 4);
	/* parts: the digest of the parts' hex digests, in order */
	{
		char cat[4 * 64 + 1] = "", part[XORB_SHA256_HEX];

		for (i = 0; i < 4; i++) {
			sha256_hex(w.big + i * PART, i < 3 ? PART : BIG_BLOB - 3 * PART, part);
			strcat(cat, part);
		}
		sha256_hex(cat, strlen(cat), sha);
		assert_string_equal(w.big_info.sha256, sha);
	}
	for (i = 0; i < 4; i++) {
		char want[128];
		size_t n = i < 3 ? PART : BIG_BLOB - 3 * PART;

		snprintf(want, sizeof(want), "streams/xorb-t-qa-scan-live/stream.tar.s2.%06zu", i);
		assert_string_equal(w.entries[2 + i].path, want);
		assert_int_equal(w.entries[2 + i].size, n);
		sha256_hex(w.big + i * PART, n, sha);
		assert_string_equal(w.entries[2 + i].sha256, sha);
	}
	assert_string_equal(w.entries[6].path, "manifest.json");
	assert_int_equal(w.entries[6].size, strlen(manifest_json));

	/* The writer's count and digest are those of the bytes on disk. */
	path_of(f, KEY, path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((uint64_t)st.st_size, w.bytes_out);
	assert_int_equal(st.st_mode & 0777, 0600);
	disk = slurp(path, &disk_len);
	sha256_hex(disk, disk_len, sha);
	assert_string_equal(w.sha, sha);
	/* zstd frame magic 28 b5 2f fd */
	assert_true(disk_len > 4 && disk[0] == 0x28 && disk[1] == 0xb5 && disk[2] == 0x2f &&
		    disk[3] == 0xfd);
	free(disk);

	/* The reader sees exactly what the writer recorded. */
	if (read_archive(f, KEY, &r, &err))
		fail_msg("read: %s", err.msg);
	assert_int_equal(r.n, w.n_entries);
	for (i = 0; i < r.n; i++) {
		assert_string_equal(r.e[i].path, w.entries[i].path);
		assert_int_equal(r.e[i].size, w.entries[i].size);
		assert_int_equal(r.e[i].len, w.entries[i].size);
		assert_string_equal(r.e[i].sha, w.entries[i].sha256);
		sha256_hex(r.e[i].data, r.e[i].len, sha);
		assert_string_equal(sha, w.entries[i].sha256);
	}
	assert_memory_equal(r.e[0].data, backup_json, strlen(backup_json));
	assert_memory_equal(r.e[1].data, w.small, SMALL_BLOB);
	assert_memory_equal(r.e[6].data, manifest_json, strlen(manifest_json));
	/* the parts joined are the blob */
	joined = malloc(BIG_BLOB);
	assert_non_null(joined);
	for (i = 2, off = 0; i < 6; i++) {
		memcpy(joined + off, r.e[i].data, r.e[i].len);
		off += r.e[i].len;
	}
	assert_int_equal(off, BIG_BLOB);
	assert_memory_equal(joined, w.big, BIG_BLOB);
	free(joined);

	assert_int_equal(r.bytes_in, w.bytes_out);
	assert_string_equal(r.sha, w.sha);
	result_free(&r);
	written_free(&w);
}

static void test_entry_done_without_reading(void **state)
{
	struct fixture *f = *state;
	struct xorb_error err = { 0 };
	struct xorb_store_reader *sr;
	struct xorb_ar *a;
	struct written w;
	const char *path;
	uint64_t size;
	char sha[XORB_SHA256_HEX];
	size_t i;

	write_standard(f, KEY, &w);
	assert_int_equal(xorb_store_get_open(f->store, KEY, &sr, &err), XORB_OK);
	assert_int_equal(xorb_ar_open(&a, sr, KEY, &err), XORB_OK);
	/* entry_done alone hashes the whole entry; skipping entries by calling
	 * next again also works */
	for (i = 0; i < w.n_entries; i++) {
		assert_int_equal(xorb_ar_next(a, &path, &size, &err), XORB_OK);
		assert_string_equal(path, w.entries[i].path);
		assert_int_equal(size, w.entries[i].size);
		if (i % 2 == 0) {
			assert_int_equal(xorb_ar_entry_done(a, sha, &err), XORB_OK);
			assert_string_equal(sha, w.entries[i].sha256);
		}
	}
	assert_int_equal(xorb_ar_next(a, &path, &size, &err), XORB_ENOTFOUND);
	assert_int_equal(xorb_ar_finish(a, &err), XORB_OK);
	assert_int_equal(xorb_ar_bytes_in(a), w.bytes_out);
	assert_string_equal(xorb_ar_sha256(a), w.sha);
	xorb_ar_free(a);
	xorb_store_get_close(sr);
	written_free(&w);
	xorb_ar_free(NULL);
	xorb_aw_free(NULL);
}

/* Blobs of 0, part_size - 1, part_size, part_size + 1 and 2 * part_size
 * bytes: one entry under the blob's name up to part_size, parts above. */
static void test_blob_boundaries(void **state)
{
	static const size_t sizes[] = { 0, PART - 1, PART, PART + 1, 2 * PART };
	static const unsigned want_parts[] = { 0, 0, 0, 2, 2 };
	struct xorb_aw_opts o = { .part_size = PART, .mtime = 1 };
	struct fixture *f = *state;
	struct xorb_error err = { 0 };
	struct xorb_store_writer *sw;
	struct xorb_blob_info info[5];
	unsigned char *data[5];
	struct read_result r;
	struct xorb_aw *a;
	char name[64], sha[XORB_SHA256_HEX];
	size_t i, e = 0;

	assert_int_equal(xorb_store_put_begin(f->store, "b.tar.zst", &sw, &err), XORB_OK);
	assert_int_equal(xorb_aw_new(&a, sw, &o, &err), XORB_OK);
	for (i = 0; i < 5; i++) {
		data[i] = random_bytes(sizes[i], 10 + i);
		snprintf(name, sizeof(name), "blob%zu", i);
		assert_int_equal(xorb_aw_blob_begin(a, name, &err), XORB_OK);
		/* a second begin while one is open is refused */
		assert_int_equal(xorb_aw_blob_begin(a, "other", &err), XORB_EINVAL);
		assert_string_equal(err.msg, "a blob is already open");
		blob_in_chunks(a, data[i], sizes[i], 4096);
		assert_int_equal(xorb_aw_blob_end(a, &info[i], &err), XORB_OK);
		assert_int_equal(info[i].size, sizes[i]);
		assert_int_equal(info[i].parts, want_parts[i]);
		if (!want_parts[i]) {
			sha256_hex(data[i], sizes[i], sha);
		} else {
			/* the digest of the parts' hex digests */
			char *cat = calloc(want_parts[i], 64 + 1), part[XORB_SHA256_HEX];
			size_t k, psz = o.part_size;

			for (k = 0; k < want_parts[i]; k++) {
				size_t n = k + 1 < want_parts[i] ? psz : sizes[i] - k * psz;

				sha256_hex(data[i] + k * psz, n, part);
				strcat(cat, part);
			}
			sha256_hex(cat, strlen(cat), sha);
			free(cat);
		}
		assert_string_equal(info[i].sha256, sha);
	}
	assert_int_equal(xorb_aw_finish(a, &err), XORB_OK);
	assert_int_equal(xorb_aw_entry_count(a), 7);
	xorb_aw_free(a);
	assert_int_equal(xorb_store_put_commit(sw, &err), XORB_OK);

	if (read_archive(f, "b.tar.zst", &r, &err))
		fail_msg("read: %s", err.msg);
	assert_int_equal(r.n, 7);
	for (i = 0; i < 5; i++) {
		if (want_parts[i] == 0) {
			snprintf(name, sizeof(name), "blob%zu", i);
			assert_string_equal(r.e[e].path, name);
			assert_int_equal(r.e[e].len, sizes[i]);
			assert_memory_equal(r.e[e].data, data[i], sizes[i]);
			e++;
		} else {
			snprintf(name, sizeof(name), "blob%zu.000000", i);
			assert_string_equal(r.e[e].path, name);
			assert_int_equal(r.e[e].len, PART);
			assert_memory_equal(r.e[e].data, data[i], PART);
			snprintf(name, sizeof(name), "blob%zu.000001", i);
			assert_string_equal(r.e[e + 1].path, name);
			assert_int_equal(r.e[e + 1].len, sizes[i] - PART);
			assert_memory_equal(r.e[e + 1].data, data[i] + PART, sizes[i] - PART);
			e += 2;
		}
		free(data[i]);
	}
	result_free(&r);
}

static void test_writer_rejects_long_paths(void **state)
{
	struct fixture *f = *state;
	struct xorb_error err = { 0 };
	struct xorb_store_writer *sw;
	struct xorb_aw *a;
	char path[XORB_ENTRY_PATH_MAX + 1];

	assert_int_equal(xorb_store_put_begin(f->store, "long.tar.zst", &sw, &err), XORB_OK);
	assert_int_equal(xorb_aw_new(&a, sw, NULL, &err), XORB_OK);
	memset(path, 'p', XORB_ENTRY_PATH_MAX);
	path[XORB_ENTRY_PATH_MAX] = '\0';
	assert_int_equal(xorb_aw_add(a, path, "x", 1, &err), XORB_EINVAL);
	/* the message quotes the whole path, so it is cut at 1023 bytes */
	assert_memory_equal(err.msg, "archive path \"pppp", 18);
	/* a blob name leaves room for the part suffix */
	path[XORB_ENTRY_PATH_MAX - XORB_PART_SUFFIX_LEN] = '\0';
	assert_int_equal(xorb_aw_blob_begin(a, path, &err), XORB_EINVAL);
	path[XORB_ENTRY_PATH_MAX - XORB_PART_SUFFIX_LEN - 1] = '\0';
	assert_int_equal(xorb_aw_blob_begin(a, path, &err), XORB_OK);
	/* freed unfinished: nothing more reaches the store, abort removes it */
	xorb_aw_free(a);
	xorb_store_put_abort(sw);
}

/* ---- damage ---- */

static void put_bytes(struct fixture *f, const char *key, const void *p, size_t n)
{
	struct xorb_error err = { 0 };

	if (xorb_store_put_all(f->store, key, p, n, &err))
		fail_msg("put_all: %s", err.msg);
}

static void assert_read_fails(struct fixture *f, const char *key, const char *what)
{
	struct xorb_error err = { 0 };
	struct read_result r;
	int rc = read_archive(f, key, &r, &err);

	result_free(&r);
	if (rc == XORB_OK)
		fail_msg("%s: the damaged archive was read without an error", what);
	if (rc != XORB_ECORRUPT)
		fail_msg("%s: code %d (%s), want XORB_ECORRUPT", what, rc, err.msg);
	assert_int_equal(err.code, XORB_ECORRUPT);
	assert_non_null(strstr(err.msg, key));
}

static void test_truncated_archives_fail(void **state)
{
	struct fixture *f = *state;
	struct written w;
	unsigned char *disk;
	size_t len, i;
	char path[256];

	write_standard(f, KEY, &w);
	path_of(f, KEY, path, sizeof(path));
	disk = slurp(path, &len);
	assert_true(len > 4096);
	{
		/* the offsets: inside the frame header, the first blocks, the
		 * middle of the parts, and the frame's last bytes */
		const size_t cuts[] = { 0, 1, 3, 4, 6, 13, 100, 1000, len / 3, len / 2,
					len - 5000, len - 300, len - 64, len - 20, len - 8,
					len - 4, len - 3, len - 2, len - 1 };

		for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
			char what[64];

			snprintf(what, sizeof(what), "cut at %zu of %zu", cuts[i], len);
			put_bytes(f, "cut.tar.zst", disk, cuts[i]);
			/* the key appears in the message */
			assert_read_fails(f, "cut.tar.zst", what);
		}
	}
	free(disk);
	written_free(&w);
}

/* Damage is never silent: the read fails with XORB_ECORRUPT, or (when the
 * flipped byte lies in stored data that still decodes: the frame carries no
 * zstd content checksum, see the report) the reader's size and digest are
 * those of the damaged bytes, so they differ from the writer's, which is
 * what verify and restore compare against the sidecar. */
static void assert_damage_detected(struct fixture *f, const char *key, const unsigned char *bytes,
				   size_t len, const struct written *w, const char *what)
{
	struct xorb_error err = { 0 };
	struct read_result r;
	char sha[XORB_SHA256_HEX];
	int rc = read_archive(f, key, &r, &err);

	result_free(&r);
	if (rc) {
		if (rc != XORB_ECORRUPT)
			fail_msg("%s: code %d (%s), want XORB_ECORRUPT", what, rc, err.msg);
		assert_non_null(strstr(err.msg, key));
		return;
	}
	sha256_hex(bytes, len, sha);
	if (r.bytes_in != len || strcmp(r.sha, sha))
		fail_msg("%s: read back without error, and the reader's size/digest (%llu, %s) are "
			 "not those of the bytes (%zu, %s)", what, (unsigned long long)r.bytes_in,
			 r.sha, len, sha);
	assert_string_not_equal(r.sha, w->sha);
	print_message("%s: read without error; caught only by the archive digest\n", what);
}

static void test_flipped_byte_detected(void **state)
{
	struct fixture *f = *state;
	struct written w;
	unsigned char *disk;
	size_t len, i;
	char path[256];

	write_standard(f, KEY, &w);
	path_of(f, KEY, path, sizeof(path));
	disk = slurp(path, &len);
	{
		/* frame header, the first (JSON) block, the parts, near the end */
		const size_t at[] = { 1, 5, 40, 200, len / 4, len / 2, len - 2000, len - 30, len - 3 };

		for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
			char what[64];

			snprintf(what, sizeof(what), "byte %zu of %zu flipped", at[i], len);
			disk[at[i]] ^= 0x5a;
			put_bytes(f, "flip.tar.zst", disk, len);
			assert_damage_detected(f, "flip.tar.zst", disk, len, &w, what);
			disk[at[i]] ^= 0x5a;
		}
	}
	/* the frame magic damaged: not even recognised */
	disk[0] ^= 0xff;
	put_bytes(f, "flip.tar.zst", disk, len);
	disk[0] ^= 0xff;
	assert_read_fails(f, "flip.tar.zst", "frame magic flipped");
	free(disk);
	written_free(&w);
}

/* An archive larger than the reader's 1 MiB input chunks, so that the
 * frame's end arrives in a later read than its start. */
static unsigned char *write_large(struct fixture *f, const char *key, size_t *len,
				  struct written *w)
{
	struct xorb_aw_opts o = { .part_size = 1 << 20, .mtime = 1 };
	struct xorb_error err = { 0 };
	struct xorb_store_writer *sw;
	struct xorb_blob_info info;
	struct xorb_aw *a;
	unsigned char *blob = random_bytes(3500000, 7);
	char path[256];
	size_t i;

	memset(w, 0, sizeof(*w));
	assert_int_equal(xorb_store_put_begin(f->store, key, &sw, &err), XORB_OK);
	assert_int_equal(xorb_aw_new(&a, sw, &o, &err), XORB_OK);
	assert_int_equal(xorb_aw_blob_begin(a, "big", &err), XORB_OK);
	blob_in_chunks(a, blob, 3500000, 100000);
	assert_int_equal(xorb_aw_blob_end(a, &info, &err), XORB_OK);
	assert_int_equal(info.parts, 4);
	assert_int_equal(xorb_aw_add(a, "manifest.json", manifest_json, strlen(manifest_json), &err),
			 XORB_OK);
	assert_int_equal(xorb_aw_finish(a, &err), XORB_OK);
	w->n_entries = xorb_aw_entry_count(a);
	for (i = 0; i < w->n_entries; i++) {
		w->entries[i] = *xorb_aw_entry(a, i);
		w->entries[i].path = strdup(w->entries[i].path);
		assert_non_null(w->entries[i].path);
	}
	w->bytes_out = xorb_aw_bytes_out(a);
	memcpy(w->sha, xorb_aw_sha256(a), XORB_SHA256_HEX);
	xorb_aw_free(a);
	assert_int_equal(xorb_store_put_commit(sw, &err), XORB_OK);
	free(blob);
	path_of(f, key, path, sizeof(path));
	return slurp(path, len);
}

static void test_large_archive_damage(void **state)
{
	struct fixture *f = *state;
	struct xorb_error err = { 0 };
	struct read_result r;
	struct written w;
	unsigned char *disk, *more;
	size_t len, i;

	disk = write_large(f, "large.tar.zst", &len, &w);
	assert_true(len > (3u << 20));
	if (read_archive(f, "large.tar.zst", &r, &err))
		fail_msg("read: %s", err.msg);
	assert_int_equal(r.n, 5);
	assert_int_equal(r.bytes_in, len);
	assert_string_equal(r.sha, w.sha);
	result_free(&r);
	{
		const size_t cuts[] = { 1 << 20, (1 << 20) + 1, (2 << 20) - 7, 3 << 20, len - 1000,
					len - 5, len - 1 };

		for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
			char what[64];

			snprintf(what, sizeof(what), "cut at %zu of %zu", cuts[i], len);
			put_bytes(f, "cut.tar.zst", disk, cuts[i]);
			assert_read_fails(f, "cut.tar.zst", what);
		}
	}
	more = malloc(len + (1 << 20));
	assert_non_null(more);
	memcpy(more, disk, len);
	memset(more + len, 0xab, 1 << 20);
	put_bytes(f, "tail.tar.zst", more, len + 16);
	assert_read_fails(f, "tail.tar.zst", "16 bytes appended");
	put_bytes(f, "tail.tar.zst", more, len + (1 << 20));
	assert_read_fails(f, "tail.tar.zst", "1 MiB appended");
	free(more);
	free(disk);
	written_free(&w);
}

/* Another archive appended after the frame: libarchive decodes the second
 * frame without complaint and the tar reader stops at the first end
 * marker, so the read itself succeeds (see the report); the reader's
 * size and digest cover every byte, so the sidecar comparison refuses it. */
static void test_appended_frame_detected(void **state)
{
	struct fixture *f = *state;
	struct written w, w2;
	unsigned char *disk, *second, *both;
	size_t len, len2;
	char path[256];

	write_standard(f, KEY, &w);
	path_of(f, KEY, path, sizeof(path));
	disk = slurp(path, &len);
	second = write_large(f, "large.tar.zst", &len2, &w2);
	written_free(&w2);
	both = malloc(len + len2);
	assert_non_null(both);
	memcpy(both, disk, len);
	memcpy(both + len, second, len2);
	free(second);
	free(disk);
	put_bytes(f, "two.tar.zst", both, len + len2);
	assert_damage_detected(f, "two.tar.zst", both, len + len2, &w, "an archive appended");
	free(both);
	written_free(&w);
}

/* The level each entry gets: by default JSON documents are compressed and
 * snapshot entries (blobs, S2-compressed already) are stored; --zstd-level
 * (opts.zstd_level) compresses everything. One archive is then several zstd
 * frames, which the reader takes as one stream. Writes 256 KiB that repeat
 * 1000 random bytes as a blob (not a run of one byte: zstd stores those as
 * RLE at any level) and 64 KiB of repeated JSON twice; returns the
 * archive's size. */
static size_t write_levels(struct fixture *f, const char *key, int level, struct written *w)
{
	struct xorb_aw_opts o = { .zstd_level = level, .part_size = PART, .mtime = 1795799108 };
	struct xorb_error err = { 0 };
	struct xorb_store_writer *sw;
	struct xorb_aw *a;
	size_t i, n = 65536;
	char *json = malloc(n + 1);
	unsigned char *rep = malloc(4 * PART), *seed = random_bytes(1000, 7);
	struct xorb_blob_info bi;

	assert_non_null(json);
	assert_non_null(rep);
	for (i = 0; i < 4 * PART; i++)
		rep[i] = seed[i % 1000];
	free(seed);
	for (i = 0; i < n; i++)
		json[i] = "{\"config\":1},"[i % 13];
	json[n] = '\0';
	memset(w, 0, sizeof(*w));
	assert_int_equal(xorb_store_put_begin(f->store, key, &sw, &err), XORB_OK);
	assert_int_equal(xorb_aw_new(&a, sw, &o, &err), XORB_OK);
	assert_int_equal(xorb_aw_add(a, "streams/xorb-t-qa-scan-live/backup.json", json, n, &err), XORB_OK);
	assert_int_equal(xorb_aw_blob_begin(a, "streams/xorb-t-qa-scan-live/stream.tar.s2", &err), XORB_OK);
	blob_in_chunks(a, rep, 4 * PART, 10000);
	assert_int_equal(xorb_aw_blob_end(a, &bi, &err), XORB_OK);
	assert_int_equal(xorb_aw_add(a, "manifest.json", json, n, &err), XORB_OK);
	if (xorb_aw_finish(a, &err))
		fail_msg("finish: %s", err.msg);
	w->n_entries = xorb_aw_entry_count(a);
	for (i = 0; i < w->n_entries; i++) {
		w->entries[i] = *xorb_aw_entry(a, i);
		w->entries[i].path = strdup(w->entries[i].path);
	}
	w->bytes_out = xorb_aw_bytes_out(a);
	memcpy(w->sha, xorb_aw_sha256(a), XORB_SHA256_HEX);
	xorb_aw_free(a);
	if (xorb_store_put_commit(sw, &err))
		fail_msg("commit: %s", err.msg);
	free(json);
	free(rep);
	return (size_t)w->bytes_out;
}

static void test_levels_per_entry(void **state)
{
	struct fixture *f = *state;
	struct xorb_error err = { 0 };
	struct read_result r;
	struct written w;
	size_t stored, all, i;
	int level;

	for (level = 0; level <= 1; level++) {
		const char *key = level ? "t-qa/all.tar.zst" : "t-qa/default.tar.zst";
		size_t size = write_levels(f, key, level, &w);

		if (read_archive(f, key, &r, &err))
			fail_msg("read %s: %s", key, err.msg);
		assert_int_equal(r.n, w.n_entries);
		assert_int_equal(r.bytes_in, w.bytes_out);
		assert_string_equal(r.sha, w.sha);
		for (i = 0; i < r.n; i++) {
			assert_string_equal(r.e[i].path, w.entries[i].path);
			assert_string_equal(r.e[i].sha, w.entries[i].sha256);
		}
		if (level)
			all = size;
		else
			stored = size;
		result_free(&r);
		for (i = 0; i < w.n_entries; i++)
			free(w.entries[i].path);
	}
	print_message("archive: %zu bytes by default, %zu with level 1 for all\n", stored, all);
	/* default: the 256 KiB blob is stored, the 128 KiB of JSON are
	 * not; level 1 for all: everything compresses */
	assert_true(stored > 4 * PART);
	assert_true(stored < 4 * PART + 16384);
	assert_true(all < 16384);
}

/* ---- hostile archives ---- */

enum craft_kind { CRAFT_FILE, CRAFT_SYMLINK, CRAFT_HARDLINK, CRAFT_DIR, CRAFT_FIFO };

/* A pax tar (zstd-compressed unless plain) holding a good file "ok.json"
 * then one entry of the given kind and path. */
static void craft(struct fixture *f, const char *key, enum craft_kind kind, const char *path,
		  int plain)
{
	struct archive *ar = archive_write_new();
	struct archive_entry *e;
	size_t cap = 1 << 20, used = 0;
	unsigned char *buf = malloc(cap);

	assert_non_null(ar);
	assert_non_null(buf);
	assert_int_equal(archive_write_set_format_pax(ar), ARCHIVE_OK);
	if (!plain)
		assert_int_equal(archive_write_add_filter_zstd(ar), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(ar, buf, cap, &used), ARCHIVE_OK);

	e = archive_entry_new();
	archive_entry_set_pathname(e, "ok.json");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_size(e, 2);
	assert_int_equal(archive_write_header(ar, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(ar, "{}", 2), 2);
	archive_entry_free(e);

	e = archive_entry_new();
	archive_entry_set_pathname(e, path);
	archive_entry_set_perm(e, 0600);
	switch (kind) {
	case CRAFT_FILE:
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_size(e, 4);
		break;
	case CRAFT_SYMLINK:
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_symlink(e, "/etc/passwd");
		break;
	case CRAFT_HARDLINK:
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_hardlink(e, "ok.json");
		archive_entry_set_size(e, 0);
		break;
	case CRAFT_DIR:
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_perm(e, 0700);
		break;
	case CRAFT_FIFO:
		archive_entry_set_filetype(e, AE_IFIFO);
		break;
	}
	assert_int_equal(archive_write_header(ar, e), ARCHIVE_OK);
	if (kind == CRAFT_FILE)
		assert_int_equal(archive_write_data(ar, "evil", 4), 4);
	archive_entry_free(e);
	assert_int_equal(archive_write_close(ar), ARCHIVE_OK);
	archive_write_free(ar);
	put_bytes(f, key, buf, used);
	free(buf);
}

/* The first entry reads; the second is refused with XORB_ECORRUPT and the
 * given words in the message. */
static void assert_second_refused(struct fixture *f, const char *key, const char *words)
{
	struct xorb_error err = { 0 };
	struct xorb_store_reader *sr;
	struct xorb_ar *a;
	const char *path;
	uint64_t size;
	char sha[XORB_SHA256_HEX];

	assert_int_equal(xorb_store_get_open(f->store, key, &sr, &err), XORB_OK);
	if (xorb_ar_open(&a, sr, key, &err))
		fail_msg("open %s: %s", key, err.msg);
	assert_int_equal(xorb_ar_next(a, &path, &size, &err), XORB_OK);
	assert_string_equal(path, "ok.json");
	assert_int_equal(size, 2);
	assert_int_equal(xorb_ar_entry_done(a, sha, &err), XORB_OK);
	assert_string_equal(sha, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
	assert_int_equal(xorb_ar_next(a, &path, &size, &err), XORB_ECORRUPT);
	assert_int_equal(err.code, XORB_ECORRUPT);
	if (!strstr(err.msg, words))
		fail_msg("%s: message \"%s\" lacks \"%s\"", key, err.msg, words);
	assert_non_null(strstr(err.msg, key));
	xorb_ar_free(a);
	xorb_store_get_close(sr);
}

static void test_hostile_entries_refused(void **state)
{
	struct fixture *f = *state;

	craft(f, "dotdot.tar.zst", CRAFT_FILE, "../evil", 0);
	assert_second_refused(f, "dotdot.tar.zst", "unsafe path \"../evil\"");
	craft(f, "inner.tar.zst", CRAFT_FILE, "streams/../../evil", 0);
	assert_second_refused(f, "inner.tar.zst", "unsafe path \"streams/../../evil\"");
	craft(f, "abs.tar.zst", CRAFT_FILE, "/etc/x", 0);
	assert_second_refused(f, "abs.tar.zst", "unsafe path \"/etc/x\"");
	craft(f, "dot.tar.zst", CRAFT_FILE, "./x", 0);
	assert_second_refused(f, "dot.tar.zst", "unsafe path \"./x\"");
	craft(f, "bs.tar.zst", CRAFT_FILE, "a\\..\\b", 0);
	assert_second_refused(f, "bs.tar.zst", "unsafe path");
	craft(f, "ctl.tar.zst", CRAFT_FILE, "a\nb", 0);
	assert_second_refused(f, "ctl.tar.zst", "unsafe path");
	craft(f, "sym.tar.zst", CRAFT_SYMLINK, "link", 0);
	assert_second_refused(f, "sym.tar.zst", "entry \"link\" is not a regular file");
	craft(f, "hard.tar.zst", CRAFT_HARDLINK, "hl", 0);
	assert_second_refused(f, "hard.tar.zst", "entry \"hl\" is not a regular file");
	craft(f, "dir.tar.zst", CRAFT_DIR, "streams", 0);
	/* the pax writer stores a directory as "streams/": refused as a path */
	assert_second_refused(f, "dir.tar.zst", "\"streams/\"");
	craft(f, "fifo.tar.zst", CRAFT_FIFO, "fifo", 0);
	assert_second_refused(f, "fifo.tar.zst", "entry \"fifo\" is not a regular file");
}

static void test_not_an_archive(void **state)
{
	struct fixture *f = *state;
	struct xorb_error err = { 0 };
	struct xorb_store_reader *sr;
	struct xorb_ar *a = (struct xorb_ar *)&err;
	unsigned char *junk = random_bytes(5000, 99);

	put_bytes(f, "junk.tar.zst", junk, 5000);
	free(junk);
	assert_int_equal(xorb_store_get_open(f->store, "junk.tar.zst", &sr, &err), XORB_OK);
	assert_int_equal(xorb_ar_open(&a, sr, "junk.tar.zst", &err), XORB_ECORRUPT);
	assert_null(a);
	assert_non_null(strstr(err.msg, "archive \"junk.tar.zst\" is not a zstd-compressed tar"));
	xorb_store_get_close(sr);

	assert_read_fails(f, "junk.tar.zst", "random bytes");
}

/*
 * Regression test (fixed; src/lib/xorb_archive.c, xorb_ar_open): the comment
 * there says "Exactly the format v1 pipeline: zstd, then tar. Nothing else
 * is tasted", but libarchive always accepts an uncompressed stream (its
 * "none" filter), so a plain tar reads as a valid archive. Fix: in
 * xorb_ar_next, after the first archive_read_next_header succeeds, refuse
 * unless archive_filter_code(a->ar, 0) == ARCHIVE_FILTER_ZSTD.
 */
static void test_plain_tar_refused(void **state)
{
	struct fixture *f = *state;

	craft(f, "plain.tar", CRAFT_FILE, "x.json", 1);
	assert_read_fails(f, "plain.tar", "an uncompressed tar");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_done_without_reading, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_boundaries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_rejects_long_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_archives_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_byte_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_archive_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_appended_frame_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_levels_per_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_entries_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_an_archive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_tar_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

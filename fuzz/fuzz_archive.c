/*
 * libFuzzer target: the archive reader (xorb_ar_open_cb, xorb_ar_next,
 * xorb_ar_read, xorb_ar_entry_done, xorb_ar_finish) over an untrusted
 * .tar.zst, every entry read to its end, the way verify and restore walk a
 * stored backup.
 *
 * An input that starts with the zstd frame magic is the archive itself. Any
 * other input is taken as the tar and compressed here first: zstd's
 * checksums and entropy coding would otherwise stop almost every mutation
 * before it reaches the tar reader and the path checks behind it. The byte
 * source hands out data-derived chunk sizes and, for some inputs, fails
 * part way, to exercise the read callback's error path. An input stops
 * after 64 MiB of decoded data (see READ_BUDGET).
 */
#include <string.h>
#include <zstd.h>

#include "fuzz_util.h"
#include "xorb_archive.h"

struct src {
	const uint8_t *p;
	size_t len, off;
	size_t step;	 /* largest chunk handed out per call */
	size_t fail_at;	 /* fail the first read at or past this offset; 0: never */
	int failed;
};

static int src_read(void *arg, void *buf, size_t len, size_t *got, struct xorb_error *err)
{
	struct src *s = arg;
	size_t n = s->len - s->off;

	*got = 0;
	if (s->fail_at && s->off >= s->fail_at) {
		s->failed = 1;
		return xorb_error_set(err, XORB_EIO, "injected read failure at offset %zu", s->off);
	}
	if (n > len)
		n = len;
	if (n > s->step)
		n = s->step;
	memcpy(buf, s->p + s->off, n);
	s->off += n;
	*got = n;
	return XORB_OK;
}

/* What xorb_ar_next promises of a path: relative, no empty, "." or ".."
 * component, no trailing slash, no control byte or backslash. */
static int path_ok(const char *p)
{
	const char *c;
	size_t n;

	if (!*p || *p == '/' || strlen(p) >= XORB_ENTRY_PATH_MAX)
		return 0;
	for (c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == '\\')
			return 0;
	for (c = p;; c += n + 1) {
		n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (!c[n])
			return 1;
	}
}

/* Decoded bytes read per input at most: 64 KiB of zstd can expand to
 * gigabytes, which is no bug but would time out. */
#define READ_BUDGET (64u << 20)
#define OVER_BUDGET (-1)

/* Reads the current entry to its end, by hand or with xorb_ar_entry_done;
 * OVER_BUDGET when *budget ran out first. */
static int read_entry(struct xorb_ar *a, uint64_t size, int by_hand, uint64_t *budget,
		      struct xorb_error *err)
{
	char sha[XORB_SHA256_HEX];
	uint64_t total = 0;
	const void *d;
	size_t got;
	int rc;

	if (size > *budget)
		by_hand = 1;
	if (!by_hand) {
		*budget -= size;
		rc = xorb_ar_entry_done(a, sha, err);
		if (!rc)
			FUZZ_CHECK(strlen(sha) == XORB_SHA256_HEX - 1);
		return rc;
	}
	for (;;) {
		rc = xorb_ar_read(a, &d, &got, err);
		if (rc)
			return rc;
		if (!got)
			break;
		FUZZ_CHECK(d != NULL);
		if (got > *budget)
			return OVER_BUDGET;
		*budget -= got;
		fuzz_touch(d, got);
		total += got;
		FUZZ_CHECK(total <= size);
	}
	FUZZ_CHECK(total == size);
	return XORB_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const uint8_t zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	uint64_t h = fuzz_hash(data, len), size, budget = READ_BUDGET;
	struct src s = { 0 };
	struct xorb_error err;
	struct xorb_ar *a = NULL;
	const char *path;
	uint8_t *z = NULL;
	unsigned entries = 0;
	int rc;

	if (len >= 4 && !memcmp(data, zstd_magic, 4)) {
		s.p = data;
		s.len = len;
	} else {
		size_t cap = ZSTD_compressBound(len), n;

		z = malloc(cap ? cap : 1);
		if (!z)
			return 0;
		n = ZSTD_compress(z, cap, data, len, 1);
		FUZZ_CHECK(!ZSTD_isError(n));
		s.p = z;
		s.len = n;
	}
	s.step = fuzz_pick(h, 0, 8) == 0 ? 1 + fuzz_pick(h, 8, 700) : (size_t)-1;
	s.fail_at = fuzz_pick(h, 24, 8) == 0 ? 1 + fuzz_pick(h, 32, s.len + 1) : 0;

	xorb_error_clear(&err);
	rc = xorb_ar_open_cb(&a, src_read, &s, "fuzz.tar.zst", &err);
	if (rc) {
		FUZZ_CHECK(a == NULL && err.code == rc);
		goto out;
	}
	while ((rc = xorb_ar_next(a, &path, &size, &err)) == XORB_OK) {
		FUZZ_CHECK(path && path_ok(path));
		rc = read_entry(a, size, (int)((h >> (40 + entries % 16)) & 1), &budget, &err);
		if (rc == OVER_BUDGET)
			goto out;
		if (rc)
			break;
		entries++;
	}
	if (rc == XORB_ENOTFOUND) {
		rc = xorb_ar_finish(a, &err);
		if (!rc) {
			FUZZ_CHECK(!s.failed);
			FUZZ_CHECK(xorb_ar_bytes_in(a) == s.len);
			FUZZ_CHECK(strlen(xorb_ar_sha256(a)) == XORB_SHA256_HEX - 1);
		}
	}
	if (rc)
		FUZZ_CHECK(err.code == rc && strnlen(err.msg, sizeof(err.msg)) < sizeof(err.msg));
	if (s.failed && rc)
		FUZZ_CHECK(rc == XORB_EIO); /* the source's failure is not reported as damage */
out:
	xorb_ar_free(a);
	free(z);
	return 0;
}

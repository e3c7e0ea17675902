/*
 * Unit tests of the snapshot checker (xorb_snapcheck.h): the consumers and
 * entries of real nats-server 2.9.10 (tar) and 2.15.1 (v2, "NATSARC1")
 * snapshots, and synthetic snapshots (tars written with libarchive or
 * header by header, v2 archives entry by entry, framed here with
 * uncompressed S2 chunks) that hold the server's errors.txt, are
 * truncated, lack meta.inf or state.json or the v2 end sentinel, break a
 * header, put entries out of order, or exceed a cap; and how the format is
 * told from the first decoded bytes.
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

#include "xorb_buf.h"
#include "xorb_error.h"
#include "xorb_s2.h"
#include "xorb_snapcheck.h"

/* ---- helpers ---- */

static uint8_t *read_vector(const char *name, size_t *len)
{
	const char *dir = getenv("XORB_TEST_DATA");
	char path[4096];
	FILE *f;
	long n;
	uint8_t *buf;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/s2/%s", dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* The framing a snapshot travels in, with uncompressed chunks of at most
 * chunk bytes each. */
static void put_frame(struct xorb_buf *b, uint8_t type, const void *body, size_t len)
{
	uint8_t h[4] = { type, (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16) };

	assert_int_equal(xorb_buf_append(b, h, 4), 0);
	assert_int_equal(xorb_buf_append(b, body, len), 0);
}

static void put_uncompressed(struct xorb_buf *b, const void *data, size_t len)
{
	uint32_t c = xorb_crc32c(0, data, len);
	uint8_t h[8];

	c = ((c >> 15) | (c << 17)) + 0xa282ead8u;
	h[0] = 0x01;
	h[1] = (uint8_t)(len + 4);
	h[2] = (uint8_t)((len + 4) >> 8);
	h[3] = (uint8_t)((len + 4) >> 16);
	h[4] = (uint8_t)c;
	h[5] = (uint8_t)(c >> 8);
	h[6] = (uint8_t)(c >> 16);
	h[7] = (uint8_t)(c >> 24);
	assert_int_equal(xorb_buf_append(b, h, 8), 0);
	assert_int_equal(xorb_buf_append(b, data, len), 0);
}

static void frame_tar(struct xorb_buf *out, const void *tar, size_t len, size_t chunk)
{
	const uint8_t *p = tar;
	size_t off, n;

	xorb_buf_init(out);
	put_frame(out, 0xff, "S2sTwO", 6);
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		put_uncompressed(out, p + off, n);
	}
}

/* Runs a checker over in, fed step bytes at a time (0: at once). Returns
 * the first failing status or finish's; *out is left for inspection. */
static int check(const void *in, size_t len, size_t step,
		 struct xorb_snapcheck **out, struct xorb_error *err)
{
	const uint8_t *p = in;
	struct xorb_snapcheck *c;
	size_t off, n;
	int rc = 0;

	xorb_error_clear(err);
	assert_int_equal(xorb_snapcheck_new(&c), XORB_OK);
	if (!step)
		step = len ? len : 1;
	for (off = 0; off < len && !rc; off += n) {
		n = len - off < step ? len - off : step;
		rc = xorb_snapcheck_feed(c, p + off, n, err);
	}
	if (!rc)
		rc = xorb_snapcheck_finish(c, err);
	*out = c;
	return rc;
}

/* Frames tar and checks it; returns the status, err the message. */
static int check_tar(const void *tar, size_t len, struct xorb_snapcheck **out,
		     struct xorb_error *err)
{
	struct xorb_buf s2;
	int rc;

	frame_tar(&s2, tar, len, 1000);
	rc = check(s2.data, s2.len, 0, out, err);
	xorb_buf_release(&s2);
	return rc;
}

static void expect_tar_fails(const void *tar, size_t len, const char *msg)
{
	struct xorb_snapcheck *c;
	struct xorb_error err;
	int rc = check_tar(tar, len, &c, &err);

	if (rc != XORB_ECORRUPT || !strstr(err.msg, msg))
		fail_msg("want ECORRUPT with \"%s\", got %d \"%s\"", msg, rc, err.msg);
	assert_int_equal(err.code, XORB_ECORRUPT);
	xorb_snapcheck_free(c);
}

/* ---- a tar written by libarchive into memory ---- */

struct tarw {
	struct archive *a;
	char *buf;
	size_t cap;
	size_t used;
};

static void tw_open(struct tarw *t, int format)
{
	t->cap = 16u << 20;
	t->buf = malloc(t->cap);
	assert_non_null(t->buf);
	t->used = 0;
	t->a = archive_write_new();
	assert_non_null(t->a);
	assert_int_equal(archive_write_set_format(t->a, format), ARCHIVE_OK);
	/* no blocking: t->used is exact after each entry */
	assert_int_equal(archive_write_set_bytes_per_block(t->a, 0), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(t->a, t->buf, t->cap, &t->used), ARCHIVE_OK);
}

static void tw_entry(struct tarw *t, const char *name, int type, const void *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, (unsigned int)type);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_mtime(e, 1700000000, 0);
	archive_entry_set_size(e, type == AE_IFREG ? (la_int64_t)len : 0);
	if (type == AE_IFLNK)
		archive_entry_set_symlink(e, "meta.inf");
	assert_int_equal(archive_write_header(t->a, e), ARCHIVE_OK);
	if (type == AE_IFREG && len)
		assert_int_equal(archive_write_data(t->a, data, len), (la_ssize_t)len);
	assert_int_equal(archive_write_finish_entry(t->a), ARCHIVE_OK);
	archive_entry_free(e);
}

static void tw_file(struct tarw *t, const char *name, const char *text)
{
	tw_entry(t, name, AE_IFREG, text, strlen(text));
}

/* Closes the archive (end marker included) and returns its length. */
static size_t tw_close(struct tarw *t)
{
	assert_int_equal(archive_write_close(t->a), ARCHIVE_OK);
	assert_int_equal(archive_write_free(t->a), ARCHIVE_OK);
	return t->used;
}

static const char stream_meta[] =
	"{\"name\":\"ORDERS\",\"subjects\":[\"ORDERS.>\"],\"storage\":\"file\",\"num_replicas\":1}";

/* ---- a tar header made by hand, for what libarchive will not write ---- */

static void put_octal(uint8_t *f, size_t width, uint64_t v)
{
	size_t i;

	/* width - 1 digits and a NUL */
	f[width - 1] = '\0';
	for (i = width - 1; i-- > 0; v >>= 3)
		f[i] = (uint8_t)('0' + (v & 7));
}

static void raw_header(uint8_t h[512], const char *name, char type, uint64_t size)
{
	unsigned sum = 0;
	size_t i, n = strlen(name);

	memset(h, 0, 512);
	memcpy(h, name, n < 100 ? n : 100);
	put_octal(h + 100, 8, 0644);
	put_octal(h + 108, 8, 0);
	put_octal(h + 116, 8, 0);
	put_octal(h + 124, 12, size);
	put_octal(h + 136, 12, 1700000000);
	h[156] = (uint8_t)type;
	memcpy(h + 257, "ustar\0" "00", 8);
	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += h[i];
	put_octal(h + 148, 7, sum);
	h[155] = ' ';
}

static void raw_entry(struct xorb_buf *t, const char *name, char type,
		      const void *data, size_t len)
{
	static const uint8_t zeros[512];
	uint8_t h[512];

	raw_header(h, name, type, len);
	assert_int_equal(xorb_buf_append(t, h, 512), 0);
	assert_int_equal(xorb_buf_append(t, data, len), 0);
	assert_int_equal(xorb_buf_append(t, zeros, -len & 511), 0);
}

/* One PAX record "<len> key=value\n", its length counting itself. */
static void pax_record(struct xorb_buf *b, const char *key, const char *val)
{
	size_t body = strlen(key) + strlen(val) + 3, len = body + 1, digits;

	for (;;) {
		digits = (size_t)snprintf(NULL, 0, "%zu", len);
		if (body + digits == len)
			break;
		len = body + digits;
	}
	assert_int_equal(xorb_buf_printf(b, "%zu %s=%s\n", len, key, val), 0);
}

static void raw_end(struct xorb_buf *t)
{
	static const uint8_t zeros[1024];

	assert_int_equal(xorb_buf_append(t, zeros, sizeof(zeros)), 0);
}

/* ---- real snapshots ---- */

static void expect_consumers(struct xorb_snapcheck *c, const char *const *names, size_t n)
{
	size_t i;

	assert_int_equal(xorb_snapcheck_consumer_count(c), n);
	for (i = 0; i < n; i++)
		assert_string_equal(xorb_snapcheck_consumer(c, i), names[i]);
	assert_null(xorb_snapcheck_consumer(c, n));
}

static void test_real_snapshots(void **state)
{
	static const char *const orders[] = { "c1", "worker-2" };
	static const char *const kv[] = { "reader", "audit-log-archiver", "x" };
	struct xorb_snapcheck *c;
	struct xorb_error err;
	uint8_t *in;
	size_t len;

	(void)state;
	in = read_vector("orders.s2", &len);
	assert_int_equal(check(in, len, 4093, &c, &err), XORB_OK);
	expect_consumers(c, orders, 2);
	assert_int_equal(xorb_snapcheck_entry_count(c), 11);
	assert_int_equal(xorb_snapcheck_tar_bytes(c), 3578880);
	xorb_snapcheck_free(c);
	free(in);

	in = read_vector("kv.s2", &len);
	assert_int_equal(check(in, len, 1, &c, &err), XORB_OK);
	expect_consumers(c, kv, 3);
	assert_int_equal(xorb_snapcheck_entry_count(c), 14);
	assert_int_equal(xorb_snapcheck_tar_bytes(c), 112128);
	xorb_snapcheck_free(c);
	free(in);

	/* the same tar in Snappy framing */
	in = read_vector("kv.sz", &len);
	assert_int_equal(check(in, len, 0, &c, &err), XORB_OK);
	expect_consumers(c, kv, 3);
	assert_int_equal(xorb_snapcheck_entry_count(c), 14);
	assert_int_equal(xorb_snapcheck_tar_bytes(c), 112128);
	xorb_snapcheck_free(c);
	free(in);
}

/* S2 faults come through with the decoder's message. */
static void test_real_snapshot_s2_faults(void **state)
{
	struct xorb_snapcheck *c;
	struct xorb_error err;
	uint8_t *in;
	size_t len;

	(void)state;
	in = read_vector("kv.s2", &len);
	in[15] ^= 0x04; /* the first block's checksum */
	assert_int_equal(check(in, len, 0, &c, &err), XORB_ECORRUPT);
	assert_non_null(strstr(err.msg, "s2: crc mismatch in block at input offset 10 (stored 0x"));
	/* it sticks */
	xorb_error_clear(&err);
	assert_int_equal(xorb_snapcheck_feed(c, in, 10, &err), XORB_ECORRUPT);
	assert_non_null(strstr(err.msg, "crc mismatch"));
	xorb_error_clear(&err);
	assert_int_equal(xorb_snapcheck_finish(c, &err), XORB_ECORRUPT);
	assert_non_null(strstr(err.msg, "crc mismatch"));
	assert_int_equal(xorb_snapcheck_consumer_count(c), 0);
	xorb_snapcheck_free(c);
	in[15] ^= 0x04;

	assert_int_equal(check(in, len - 1, 0, &c, &err), XORB_ECORRUPT);
	assert_non_null(strstr(err.msg, "s2: input ends inside the frame at input offset 10"));
	xorb_snapcheck_free(c);
	free(in);
}

/* ---- errors.txt ---- */

static void test_errors_txt(void **state)
{
	static const char text[] =
		"error snapshotting stream: open /var/lib/nats/jetstream/$G/streams/ORDERS/msgs/2.blk: too many open files\n";
	static const char want[] =
		"the server reported an error inside the snapshot: error snapshotting stream: open /var/lib/nats/jetstream/$G/streams/ORDERS/msgs/2.blk: too many open files";
	struct xorb_snapcheck *c;
	struct xorb_error err;
	struct xorb_buf s2;
	struct tarw t;
	size_t len;
	char blk[3000];
	const char *found;

	(void)state;
	memset(blk, 'm', sizeof(blk));
	tw_open(&t, ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE);
	tw_file(&t, "meta.inf", stream_meta);
	tw_entry(&t, "msgs/1.blk", AE_IFREG, blk, sizeof(blk));
	tw_file(&t, "errors.txt", text);
	tw_file(&t, "obs/c1/meta.inf", "{}");
	len = tw_close(&t);

	frame_tar(&s2, t.buf, len, 1000);
	assert_int_equal(check(s2.data, s2.len, 0, &c, &err), XORB_ECORRUPT);
	assert_string_equal(err.msg, want);
	xorb_snapcheck_free(c);
	/* byte by byte, and with the failure replayed by finish */
	assert_int_equal(check(s2.data, s2.len, 1, &c, &err), XORB_ECORRUPT);
	assert_string_equal(err.msg, want);
	xorb_error_clear(&err);
	assert_int_equal(xorb_snapcheck_finish(c, &err), XORB_ECORRUPT);
	assert_string_equal(err.msg, want);
	xorb_snapcheck_free(c);
	xorb_buf_release(&s2);

	/* the snapshot ends inside errors.txt: still the server's text */
	found = memmem(t.buf, len, text, strlen(text));
	assert_non_null(found);
	expect_tar_fails(t.buf, (size_t)(found - t.buf) + 40,
			 "the server reported an error inside the snapshot: error snapshotting stream: open /var/li");
	free(t.buf);
}

static void test_errors_txt_long_and_multiline(void **state)
{
	char text[2000], want[600];
	struct xorb_snapcheck *c;
	struct xorb_error err;
	struct tarw t;
	const char *quoted;
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(text) - 1; i++)
		text[i] = (char)('a' + i % 26);
	text[sizeof(text) - 1] = '\0';
	text[30] = '\n';
	text[31] = '\t';
	tw_open(&t, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	tw_file(&t, "errors.txt", text);
	tw_file(&t, "meta.inf", stream_meta);
	len = tw_close(&t);
	assert_int_equal(check_tar(t.buf, len, &c, &err), XORB_ECORRUPT);
	quoted = strstr(err.msg, "snapshot: ");
	assert_non_null(quoted);
	quoted += strlen("snapshot: ");
	/* exactly the first 512 bytes, control characters made spaces */
	memcpy(want, text, 512);
	want[30] = ' ';
	want[31] = ' ';
	want[512] = '\0';
	assert_string_equal(quoted, want);
	xorb_snapcheck_free(c);
	free(t.buf);

	/* an empty errors.txt is a failure too */
	tw_open(&t, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	tw_file(&t, "meta.inf", stream_meta);
	tw_file(&t, "./errors.txt", "");
	len = tw_close(&t);
	expect_tar_fails(t.buf, len, "the server reported an error inside the snapshot: (errors.txt is empty)");
	free(t.buf);
}

/* ---- truncation ---- */

static void test_truncated_tar(void **state)
{
	static const char *const one[] = { "c1" };
	struct xorb_snapcheck *c;
	struct xorb_error err;
	struct tarw t;
	char blk[5000];
	size_t len, after_blk, after_obs, before_long, i;
	char longname[200];

	(void)state;
	memset(blk, 'b', sizeof(blk));
	tw_open(&t, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	tw_file(&t, "meta.inf", stream_meta);	  /* header 0, data 512 */
	tw_entry(&t, "msgs/1.blk", AE_IFREG, blk, sizeof(blk)); /* header 1024 */
	after_blk = t.used;
	tw_file(&t, "obs/c1/meta.inf", "{\"durable_name\":\"c1\"}");
	after_obs = t.used;
	before_long = t.used;
	for (i = 0; i < 150; i++)
		longname[i] = 'n';
	longname[150] = '\0'; /* no ustar prefix split: a PAX header */
	tw_file(&t, longname, "x");
	len = tw_close(&t);
	assert_int_equal(after_blk, 1024 + 512 + 5120);

	/* the whole tar, and cut at entry boundaries without the end marker */
	assert_int_equal(check_tar(t.buf, len, &c, &err), XORB_OK);
	expect_consumers(c, one, 1);
	assert_int_equal(xorb_snapcheck_entry_count(c), 4);
	assert_int_equal(xorb_snapcheck_tar_bytes(c), len);
	xorb_snapcheck_free(c);
	assert_int_equal(check_tar(t.buf, after_obs, &c, &err), XORB_OK);
	expect_consumers(c, one, 1);
	assert_int_equal(xorb_snapcheck_entry_count(c), 3);
	xorb_snapcheck_free(c);
	assert_int_equal(check_tar(t.buf, len - 512, &c, &err), XORB_OK); /* half an end marker */
	xorb_snapcheck_free(c);

	/* cut inside data, padding, a header, a PAX header */
	expect_tar_fails(t.buf, 1024 + 512 + 1000,
			 "snapshot tar: ends inside entry \"msgs/1.blk\" at decoded offset 2536 (4000 data bytes missing)");
	expect_tar_fails(t.buf, 1024 + 512 + 5000 + 10,
			 "snapshot tar: ends inside the padding of entry \"msgs/1.blk\" at decoded offset 6546");
	expect_tar_fails(t.buf, 1024 + 100,
			 "snapshot tar: ends inside the header at decoded offset 1024 (100 of 512 bytes)");
	expect_tar_fails(t.buf, before_long + 600,
			 "snapshot tar: ends inside the extended header at decoded offset 7680");
	expect_tar_fails(t.buf, before_long + 1000,
			 "snapshot tar: ends inside the extended header at decoded offset 7680");
	expect_tar_fails(t.buf, before_long + 1024,
			 "snapshot tar: ends after an extended header with no entry at decoded offset 7680");
	free(t.buf);
}

static void test_no_meta_inf(void **state)
{
	struct tarw t;
	size_t len;

	(void)state;
	tw_open(&t, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	tw_file(&t, "msgs/1.blk", "data");
	tw_file(&t, "obs/c1/meta.inf", "{}");
	tw_file(&t, "meta.inf.bak", "{}");
	len = tw_close(&t);
	expect_tar_fails(t.buf, len, "snapshot holds no meta.inf (entries: 3, decoded bytes: 4096): not a JetStream stream snapshot");
	free(t.buf);
	/* an empty tar, and no tar at all */
	{
		struct xorb_buf raw;

		xorb_buf_init(&raw);
		raw_end(&raw);
		expect_tar_fails(raw.data, raw.len, "snapshot holds no meta.inf (entries: 0, decoded bytes: 1024)");
		expect_tar_fails(raw.data, 0, "snapshot holds no meta.inf (entries: 0, decoded bytes: 0)");
		xorb_buf_release(&raw);
	}
}

static void test_bad_headers(void **state)
{
	struct xorb_buf raw;
	struct tarw t;
	size_t len;

	(void)state;
	tw_open(&t, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
	tw_file(&t, "meta.inf", stream_meta);
	tw_file(&t, "obs/c1/meta.inf", "{}");
	len = tw_close(&t);
	t.buf[1024 + 5] ^= 0x01; /* the second header's name */
	expect_tar_fails(t.buf, len, "snapshot tar: bad header checksum at decoded offset 1024");
	t.buf[1024 + 5] ^= 0x01;
	memcpy(t.buf + 1024 + 124, "0000000009x", 11); /* the sum covers the size */
	expect_tar_fails(t.buf, len, "snapshot tar: bad header checksum at decoded offset 1024");
	free(t.buf);

	/* a bad size with a good checksum */
	xorb_buf_init(&raw);
	raw_entry(&raw, "meta.inf", '0', "{}", 2);
	raw_header((uint8_t *)raw.data, "meta.inf", '0', 2);
	raw.data[124] = 'z';
	{
		unsigned sum = 0;
		size_t i;

		memset(raw.data + 148, ' ', 8);
		for (i = 0; i < 512; i++)
			sum += (uint8_t)raw.data[i];
		put_octal((uint8_t *)raw.data + 148, 7, sum);
	}
	expect_tar_fails(raw.data, raw.len, "snapshot tar: bad size field in the header at decoded offset 0");

	/* non-zero bytes after the end marker; a header after one zero block */
	xorb_buf_reset(&raw);
	raw_entry(&raw, "meta.inf", '0', "{}", 2);
	raw_end(&raw);
	assert_int_equal(xorb_buf_append(&raw, "junk", 4), 0);
	expect_tar_fails(raw.data, raw.len, "snapshot tar: data after the end-of-archive marker at decoded offset 2048");
	xorb_buf_reset(&raw);
	raw_entry(&raw, "meta.inf", '0', "{}", 2);
	{
		static const uint8_t zeros[512];

		assert_int_equal(xorb_buf_append(&raw, zeros, 512), 0);
	}
	raw_entry(&raw, "msgs/1.blk", '0', "x", 1);
	expect_tar_fails(raw.data, raw.len, "snapshot tar: a header follows a lone zero block at decoded offset 1536");
	xorb_buf_release(&raw);
}

/* Zero padding after the end marker (tar's 10 KiB records) is fine. */
static void test_record_padding_after_end(void **state)
{
	struct xorb_snapcheck *c;
	struct xorb_error err;
	struct archive *a;
	struct archive_entry *e;
	size_t used = 0;
	char *buf = malloc(1 << 20);

	(void)state;
	assert_non_null(buf);
	a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	/* pad to whole 10 KiB records, as tar(1) does and memory output does not */
	archive_write_set_bytes_in_last_block(a, 10240);
	assert_int_equal(archive_write_open_memory(a, buf, 1 << 20, &used), ARCHIVE_OK);
	e = archive_entry_new();
	archive_entry_set_pathname(e, "meta.inf");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, 2);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, "{}", 2), 2);
	archive_entry_free(e);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	assert_int_equal(used, 10240);
	assert_int_equal(check_tar(buf, used, &c, &err), XORB_OK);
	assert_int_equal(xorb_snapcheck_entry_count(c), 1);
	assert_int_equal(xorb_snapcheck_tar_bytes(c), 10240);
	xorb_snapcheck_free(c);
	free(buf);
}

/* ---- names: PAX path, GNU long name, ustar prefix, global headers ---- */

static void test_long_consumer_names(void **state)
{
	static const int formats[] = { ARCHIVE_FORMAT_TAR_PAX_RESTRICTED,
				       ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE,
				       ARCHIVE_FORMAT_TAR_GNUTAR,
				       ARCHIVE_FORMAT_TAR_USTAR };
	char long_name[201], mid_name[91], path[300];
	const char *names[3];
	struct xorb_snapcheck *c;
	struct xorb_error err;
	struct tarw t;
	size_t len, f;

	(void)state;
	memset(long_name, 'L', 200);
	long_name[200] = '\0';
	memset(mid_name, 'm', 90);
	mid_name[90] = '\0';
	for (f = 0; f < sizeof(formats) / sizeof(formats[0]); f++) {
		tw_open(&t, formats[f]);
		tw_entry(&t, "obs", AE_IFDIR, NULL, 0);
		tw_file(&t, "meta.inf", stream_meta);
		tw_entry(&t, "obs/short", AE_IFDIR, NULL, 0);
		tw_file(&t, "obs/short/meta.inf", "{}");
		tw_file(&t, "obs/short/o.dat", "12345678");
		snprintf(path, sizeof(path), "obs/%s/meta.inf", mid_name); /* ustar: prefix */
		tw_file(&t, path, "{}");
		if (formats[f] != ARCHIVE_FORMAT_TAR_USTAR) {
			snprintf(path, sizeof(path), "obs/%s/meta.inf", long_name);
			tw_file(&t, path, "{}");
		}
		tw_entry(&t, "link", AE_IFLNK, NULL, 0);
		tw_file(&t, "obs/not/a/consumer/meta.inf", "{}");
		tw_file(&t, "obs/meta.inf", "{}");
		len = tw_close(&t);
		assert_int_equal(check_tar(t.buf, len, &c, &err), XORB_OK);
		names[0] = "short";
		names[1] = mid_name;
		names[2] = long_name;
		expect_consumers(c, names, formats[f] == ARCHIVE_FORMAT_TAR_USTAR ? 2 : 3);
		assert_int_equal(xorb_snapcheck_entry_count(c),
				 formats[f] == ARCHIVE_FORMAT_TAR_USTAR ? 9 : 10);
		xorb_snapcheck_free(c);
		free(t.buf);
	}
}

static void test_pax_global_and_records(void **state)
{
	static const char *const one[] = { "from-pax" };
	struct xorb_buf tar, pax;
	struct xorb_snapcheck *c;
	struct xorb_error err;

	(void)state;
	xorb_buf_init(&tar);
	xorb_buf_init(&pax);
	/* a global header applies to no entry name; an 'x' one sets the next
	 * name and size (here larger than the ustar field says) */
	pax_record(&pax, "comment", "made by hand");
	pax_record(&pax, "path", "ignored/in/global");
	raw_entry(&tar, "pax_global_header", 'g', pax.data, pax.len);
	raw_entry(&tar, "meta.inf", '0', "{}", 2);
	xorb_buf_reset(&pax);
	pax_record(&pax, "mtime", "1700000000.5");
	pax_record(&pax, "path", "obs/from-pax/meta.inf");
	pax_record(&pax, "size", "600");
	raw_entry(&tar, "PaxHeaders/x", 'x', pax.data, pax.len);
	{
		uint8_t h[512], data[1024] = { 0 };

		raw_header(h, "short", '0', 0);
		assert_int_equal(xorb_buf_append(&tar, h, 512), 0);
		assert_int_equal(xorb_buf_append(&tar, data, 1024), 0); /* 600 bytes padded */
	}
	/* a GNU base-256 size field */
	{
		uint8_t h[512] = { 0 }, data[1536] = { 0 };
		unsigned sum = 0;
		size_t i;

		memcpy(h, "msgs/1.blk", 10);
		memcpy(h + 100, "0000644", 8);
		h[124] = 0x80;
		h[134] = 0x05; /* 0x05dc = 1500 */
		h[135] = 0xdc;
		h[156] = '0';
		memcpy(h + 257, "ustar  ", 8); /* GNU magic */
		memset(h + 148, ' ', 8);
		for (i = 0; i < 512; i++)
			sum += h[i];
		put_octal(h + 148, 7, sum);
		assert_int_equal(xorb_buf_append(&tar, h, 512), 0);
		assert_int_equal(xorb_buf_append(&tar, data, sizeof(data)), 0);
	}
	raw_entry(&tar, "obs/after/meta.inf", '0', "{}", 2);
	raw_end(&tar);
	assert_int_equal(check_tar(tar.data, tar.len, &c, &err), XORB_OK);
	{
		const char *const both[] = { one[0], "after" };

		expect_consumers(c, both, 2);
	}
	assert_int_equal(xorb_snapcheck_entry_count(c), 4);
	xorb_snapcheck_free(c);

	/* broken records */
	xorb_buf_reset(&tar);
	raw_entry(&tar, "x", 'x', "11 path=abcd\n", 13);
	raw_entry(&tar, "meta.inf", '0', "{}", 2);
	expect_tar_fails(tar.data, tar.len, "snapshot tar: bad PAX header at decoded offset 0: record length does not match its text");
	xorb_buf_reset(&tar);
	raw_entry(&tar, "x", 'x', "path=abc\n", 9);
	expect_tar_fails(tar.data, tar.len, "snapshot tar: bad PAX header at decoded offset 0: record without a length");
	xorb_buf_reset(&tar);
	raw_entry(&tar, "x", 'x', "99 path=abc\n", 12);
	expect_tar_fails(tar.data, tar.len, "snapshot tar: bad PAX header at decoded offset 0: record longer than the header");
	xorb_buf_reset(&tar);
	raw_entry(&tar, "x", 'x', "11 size=1x\n", 11);
	expect_tar_fails(tar.data, tar.len, "snapshot tar: bad PAX header at decoded offset 0: bad size");
	xorb_buf_release(&tar);
	xorb_buf_release(&pax);
}

/* ---- caps ---- */

static void test_caps(void **state)
{
	struct xorb_buf tar, pax;
	char *name;
	uint8_t h[512];

	(void)state;
	xorb_buf_init(&tar);
	xorb_buf_init(&pax);
	/* a PAX header over 1 MiB is refused from its header */
	raw_header(h, "x", 'x', (1u << 20) + 1);
	assert_int_equal(xorb_buf_append(&tar, h, 512), 0);
	expect_tar_fails(tar.data, tar.len, "snapshot tar: 'x' header of 1048577 bytes at decoded offset 0 exceeds the limit of 1048576");
	xorb_buf_reset(&tar);
	raw_header(h, "././@LongLink", 'L', 4098);
	assert_int_equal(xorb_buf_append(&tar, h, 512), 0);
	expect_tar_fails(tar.data, tar.len, "snapshot tar: 'L' header of 4098 bytes at decoded offset 0 exceeds the limit of 4097");
	/* a PAX path over 4096 bytes */
	name = malloc(5001);
	assert_non_null(name);
	memset(name, 'p', 5000);
	name[5000] = '\0';
	xorb_buf_reset(&tar);
	pax_record(&pax, "path", name);
	raw_entry(&tar, "x", 'x', pax.data, pax.len);
	expect_tar_fails(tar.data, tar.len, "snapshot tar: entry name of 5000 bytes at decoded offset 0 exceeds the limit of 4096");
	/* a GNU long name of 4096 bytes is fine, one more is not */
	xorb_buf_reset(&tar);
	name[4096] = '\0';
	raw_entry(&tar, "././@LongLink", 'L', name, 4097);
	raw_entry(&tar, "ignored", '0', "", 0);
	raw_entry(&tar, "meta.inf", '0', "{}", 2);
	{
		struct xorb_snapcheck *c;
		struct xorb_error err;

		assert_int_equal(check_tar(tar.data, tar.len, &c, &err), XORB_OK);
		assert_int_equal(xorb_snapcheck_entry_count(c), 2);
		xorb_snapcheck_free(c);
	}
	name[4096] = 'p';
	xorb_buf_reset(&tar);
	raw_entry(&tar, "././@LongLink", 'L', name, 4097);
	expect_tar_fails(tar.data, tar.len, "snapshot tar: entry name of 4097 bytes at decoded offset 0 exceeds the limit of 4096");
	free(name);
	xorb_buf_release(&tar);
	xorb_buf_release(&pax);
}

/* 100000 consumers are fine, one more is not. Headers are streamed in
 * frames of 8000 so that memory stays small. */
static void test_consumer_cap(void **state)
{
	struct xorb_snapcheck *c;
	struct xorb_error err;
	struct xorb_buf tar, s2;
	uint8_t h[512];
	char name[64];
	unsigned i, total = 100001;
	int rc = 0;

	(void)state;
	xorb_buf_init(&tar);
	xorb_buf_init(&s2);
	assert_int_equal(xorb_snapcheck_new(&c), XORB_OK);
	put_frame(&s2, 0xff, "S2sTwO", 6);
	raw_header(h, "meta.inf", '0', 0);
	assert_int_equal(xorb_buf_append(&tar, h, 512), 0);
	for (i = 0; i < total && !rc; i++) {
		snprintf(name, sizeof(name), "obs/c%06u/meta.inf", i);
		raw_header(h, name, '0', 0);
		assert_int_equal(xorb_buf_append(&tar, h, 512), 0);
		if (tar.len == 8000 * 512 || i == total - 1) {
			put_uncompressed(&s2, tar.data, tar.len);
			rc = xorb_snapcheck_feed(c, s2.data, s2.len, &err);
			xorb_buf_reset(&s2);
			xorb_buf_reset(&tar);
		}
	}
	assert_int_equal(rc, XORB_ECORRUPT);
	assert_string_equal(err.msg, "snapshot lists more than 100000 consumers");
	assert_int_equal(xorb_snapcheck_consumer_count(c), 100000);
	assert_string_equal(xorb_snapcheck_consumer(c, 99999), "c099999");
	xorb_snapcheck_free(c);
	xorb_buf_release(&tar);
	xorb_buf_release(&s2);
}

/* ---- v2 ("NATSARC1", nats-server 2.15+) ---- */

static void put_uvarint(struct xorb_buf *b, uint64_t v)
{
	uint8_t o[10];
	size_t n = 0;

	while (v >= 0x80) {
		o[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	o[n++] = (uint8_t)v;
	assert_int_equal(xorb_buf_append(b, o, n), 0);
}

/* An entry header as the server writes it: name length, zig-zag timestamp,
 * sequence, header size, payload size, then the name. */
static void v2_head(struct xorb_buf *b, const char *name, int64_t ts, uint64_t seq,
		    uint64_t hdr, uint64_t payload)
{
	size_t n = strlen(name);

	put_uvarint(b, n);
	put_uvarint(b, (uint64_t)ts << 1 ^ (uint64_t)(ts >> 63));
	put_uvarint(b, seq);
	put_uvarint(b, hdr);
	put_uvarint(b, payload);
	assert_int_equal(xorb_buf_append(b, name, n), 0);
}

static void v2_json(struct xorb_buf *b, const char *name, const char *json)
{
	v2_head(b, name, 1796531481051089750, 0, 0, strlen(json));
	assert_int_equal(xorb_buf_append(b, json, strlen(json)), 0);
}

static void v2_msg(struct xorb_buf *b, const char *subj, uint64_t seq, const char *hdr,
		   const char *data)
{
	v2_head(b, subj, 1796531481023306322 + (int64_t)seq, seq, strlen(hdr), strlen(data));
	assert_int_equal(xorb_buf_append(b, hdr, strlen(hdr)), 0);
	assert_int_equal(xorb_buf_append(b, data, strlen(data)), 0);
}

static void v2_sentinel(struct xorb_buf *b)
{
	assert_int_equal(xorb_buf_append(b, "\0\0\0\0\0", 5), 0);
}

static void v2_start(struct xorb_buf *b, uint64_t first_seq, unsigned consumers)
{
	xorb_buf_reset(b);
	assert_int_equal(xorb_buf_append(b, "NATSARC1", 8), 0);
	assert_int_equal(xorb_buf_printf(b, "%c", 0), 0); /* replaced below */
	b->len = 8;
	{
		char js[200];

		snprintf(js, sizeof(js),
			 "{\"messages\":3,\"bytes\":200,\"first_seq\":%llu,\"last_seq\":9,\"consumer_count\":%u}",
			 (unsigned long long)first_seq, consumers);
		v2_json(b, "state.json", js);
	}
}

static const char cons_a[] = "{\"config\":{\"durable_name\":\"a\"},\"state\":{}}";
static const char msg_hdr[] = "NATS/1.0\r\nX-Trace: 1\r\n\r\n";

/* Offsets of each piece of the synthetic snapshot good_v2 builds. */
struct v2_marks {
	size_t state, cons_a, cons_b, msg5, msg7, msg8, sentinel, end;
};

/* state.json (first_seq 5, 2 consumers), consumers a and b, messages 5
 * (with headers), 7 and 8, the sentinel. */
static void good_v2(struct xorb_buf *b, struct v2_marks *m)
{
	v2_start(b, 5, 2);
	m->state = 8;
	m->cons_a = b->len;
	v2_json(b, "consumers/a", cons_a);
	m->cons_b = b->len;
	v2_json(b, "consumers/b", "{\"config\":{},\"state\":{}}");
	m->msg5 = b->len;
	v2_msg(b, "orders.a", 5, msg_hdr, "{\"id\":5}");
	m->msg7 = b->len;
	v2_msg(b, "orders.b", 7, "", "payload of seven");
	m->msg8 = b->len;
	v2_msg(b, "orders.a", 8, "", "");
	m->sentinel = b->len;
	v2_sentinel(b);
	m->end = b->len;
}

static int check_v2(const void *dec, size_t len, size_t chunk, size_t step,
		    struct xorb_snapcheck **out, struct xorb_error *err)
{
	struct xorb_buf s2;
	int rc;

	frame_tar(&s2, dec, len, chunk);
	rc = check(s2.data, s2.len, step, out, err);
	xorb_buf_release(&s2);
	return rc;
}

static void expect_v2_fails(const void *dec, size_t len, const char *msg)
{
	struct xorb_snapcheck *c;
	struct xorb_error err;
	int rc = check_v2(dec, len, 1000, 0, &c, &err);

	if (rc != XORB_ECORRUPT || !strstr(err.msg, msg))
		fail_msg("want ECORRUPT with \"%s\", got %d \"%s\"", msg, rc, err.msg);
	assert_int_equal(err.code, XORB_ECORRUPT);
	xorb_snapcheck_free(c);
}

/* Decodes an S2 vector into out. */
static int collect_sink(void *arg, const uint8_t *p, size_t len)
{
	return xorb_buf_append(arg, p, len) ? XORB_ENOMEM : XORB_OK;
}

static void decode_vector(const char *name, struct xorb_buf *out)
{
	struct xorb_s2_dec *d;
	struct xorb_error err;
	uint8_t *in;
	size_t len;

	in = read_vector(name, &len);
	xorb_buf_init(out);
	assert_int_equal(xorb_s2_dec_new(&d, collect_sink, out), XORB_OK);
	assert_int_equal(xorb_s2_dec_feed(d, in, len, &err), XORB_OK);
	assert_int_equal(xorb_s2_dec_finish(d, &err), XORB_OK);
	xorb_s2_dec_free(d);
	free(in);
}

static void test_v2_real_snapshot(void **state)
{
	static const char *const orders[] = { "billing", "shipping-worker" };
	static const size_t steps[] = { 0, 1, 7, 300 };
	struct xorb_snapcheck *c;
	struct xorb_error err;
	struct xorb_buf dec;
	uint64_t first, last;
	uint8_t *in;
	size_t len, i;

	(void)state;
	in = read_vector("orders-v2.s2", &len);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		assert_int_equal(check(in, len, steps[i], &c, &err), XORB_OK);
		assert_int_equal(xorb_snapcheck_format(c), XORB_SNAPCHECK_FORMAT_V2);
		expect_consumers(c, orders, 2);
		/* state.json, 2 consumers, messages 1 2 4 5 6 (3 was deleted) */
		assert_int_equal(xorb_snapcheck_entry_count(c), 8);
		assert_int_equal(xorb_snapcheck_message_count(c), 5);
		assert_int_equal(xorb_snapcheck_seq_range(c, &first, &last), 1);
		assert_int_equal(first, 1);
		assert_int_equal(last, 6);
		assert_int_equal(xorb_snapcheck_decoded_bytes(c), 1400);
		assert_int_equal(xorb_snapcheck_tar_bytes(c), 1400);
		xorb_snapcheck_free(c);
	}
	free(in);

	/* decoded and re-framed: whole, it passes; cut anywhere, it fails */
	decode_vector("orders-v2.s2", &dec);
	assert_int_equal(dec.len, 1400);
	assert_int_equal(check_v2(dec.data, dec.len, 64, 0, &c, &err), XORB_OK);
	assert_int_equal(xorb_snapcheck_message_count(c), 5);
	xorb_snapcheck_free(c);
	for (len = 0; len < dec.len; len++) {
		int rc = check_v2(dec.data, len, 100, 0, &c, &err);

		if (rc != XORB_ECORRUPT || (len && !strstr(err.msg, "snapshot v2: ends ")))
			fail_msg("cut at %zu: got %d \"%s\"", len, rc, err.msg);
		xorb_snapcheck_free(c);
	}
	/* where the cut lands says what is missing */
	expect_v2_fails(dec.data, 1395,
			"snapshot v2: ends at decoded offset 1395 without the end sentinel (after 8 entries, 5 messages)");
	expect_v2_fails(dec.data, 1397,
			"snapshot v2: ends inside the header of the entry at decoded offset 1395 (in its sequence)");
	expect_v2_fails(dec.data, 1360,
			"snapshot v2: ends inside message sequence 5 \"orders.shipped\" at decoded offset 1360 (12 data bytes missing)");
	expect_v2_fails(dec.data, 700,
			"snapshot v2: ends inside entry \"consumers/shipping-worker\" at decoded offset 700 (427 data bytes missing)");
	expect_v2_fails(dec.data, 650,
			"snapshot v2: ends inside the header of the entry at decoded offset 647 (in its timestamp)");
	expect_v2_fails(dec.data, 1217, /* a 13-byte header, then the name */
			"snapshot v2: ends inside the name of the entry at decoded offset 1202 (2 of 10 bytes)");
	xorb_buf_release(&dec);
}

static void test_v2_synthetic_good(void **state)
{
	static const char *const ab[] = { "a", "b" };
	struct xorb_snapcheck *c;
	struct xorb_error err;
	struct v2_marks m;
	struct xorb_buf b;
	uint64_t first, last;
	size_t chunk;

	(void)state;
	xorb_buf_init(&b);
	good_v2(&b, &m);
	/* S2 blocks of every small size split headers, varints, names and
	 * data everywhere; fed one byte at a time too */
	for (chunk = 1; chunk <= 24; chunk++) {
		assert_int_equal(check_v2(b.data, b.len, chunk, chunk % 3 ? 0 : 1, &c, &err), XORB_OK);
		expect_consumers(c, ab, 2);
		assert_int_equal(xorb_snapcheck_entry_count(c), 6);
		assert_int_equal(xorb_snapcheck_message_count(c), 3);
		assert_int_equal(xorb_snapcheck_seq_range(c, &first, &last), 1);
		assert_int_equal(first, 5);
		assert_int_equal(last, 8);
		assert_int_equal(xorb_snapcheck_decoded_bytes(c), b.len);
		xorb_snapcheck_free(c);
	}

	/* zero bytes after the sentinel are fine, anything else is not */
	assert_int_equal(xorb_buf_append(&b, "\0\0\0", 3), 0);
	assert_int_equal(check_v2(b.data, b.len, 1000, 0, &c, &err), XORB_OK);
	xorb_snapcheck_free(c);
	assert_int_equal(xorb_buf_append(&b, "x", 1), 0);
	expect_v2_fails(b.data, b.len, "snapshot v2: data after the end sentinel at decoded offset ");
	{
		char want[100];

		snprintf(want, sizeof(want), "snapshot v2: data after the end sentinel at decoded offset %zu",
			 m.end + 3);
		expect_v2_fails(b.data, b.len, want);
	}
	/* a second sentinel-sized header that is not all zero */
	b.len = m.end;
	v2_msg(&b, "orders.late", 9, "", "x");
	expect_v2_fails(b.data, b.len, "snapshot v2: data after the end sentinel");

	/* no consumers, no messages: state.json and the sentinel (as the
	 * server writes an empty stream, first_seq 0) */
	v2_start(&b, 0, 0);
	v2_sentinel(&b);
	assert_int_equal(check_v2(b.data, b.len, 1000, 0, &c, &err), XORB_OK);
	assert_int_equal(xorb_snapcheck_consumer_count(c), 0);
	assert_int_equal(xorb_snapcheck_entry_count(c), 1);
	assert_int_equal(xorb_snapcheck_seq_range(c, &first, &last), 0);
	assert_int_equal(first, 0);
	assert_int_equal(last, 0);
	xorb_snapcheck_free(c);

	/* uncommon but valid: negative timestamp, huge sequences, a subject
	 * of exactly 4096 bytes, a 10-byte varint */
	{
		char *subj = malloc(4097);

		assert_non_null(subj);
		memset(subj, 's', 4096);
		subj[4096] = '\0';
		v2_start(&b, UINT64_MAX - 10, 0);
		v2_head(&b, "x.y", -5, UINT64_MAX - 5, 0, 1);
		assert_int_equal(xorb_buf_append(&b, "z", 1), 0);
		v2_msg(&b, subj, UINT64_MAX, "", "zz");
		v2_sentinel(&b);
		assert_int_equal(check_v2(b.data, b.len, 1000, 0, &c, &err), XORB_OK);
		assert_int_equal(xorb_snapcheck_seq_range(c, &first, &last), 1);
		assert_int_equal(first, UINT64_MAX - 5);
		assert_int_equal(last, UINT64_MAX);
		xorb_snapcheck_free(c);
		free(subj);
	}
	xorb_buf_release(&b);
}

static void test_v2_truncated(void **state)
{
	struct xorb_snapcheck *c;
	struct xorb_error err;
	struct v2_marks m;
	struct xorb_buf b;
	char want[200];

	(void)state;
	xorb_buf_init(&b);
	good_v2(&b, &m);
	expect_v2_fails(b.data, 4, "snapshot v2: ends inside the \"NATSARC1\" magic at decoded offset 4 (4 of 8 bytes)");
	expect_v2_fails(b.data, 8, "snapshot v2: ends at decoded offset 8 before state.json");
	expect_v2_fails(b.data, 9, "snapshot v2: ends inside the header of the entry at decoded offset 8 (in its timestamp)");
	expect_v2_fails(b.data, 12, "snapshot v2: ends inside the header of the entry at decoded offset 8 (in its timestamp)");
	/* name length 1 byte, timestamp 9, three 1-byte sizes */
	expect_v2_fails(b.data, 8 + 1 + 9 + 1, "snapshot v2: ends inside the header of the entry at decoded offset 8 (in its header size)");
	expect_v2_fails(b.data, 8 + 13 + 4, "snapshot v2: ends inside the name of the entry at decoded offset 8 (4 of 10 bytes)");
	snprintf(want, sizeof(want), "snapshot v2: ends inside entry \"state.json\" at decoded offset %zu (%zu data bytes missing)",
		 m.cons_a - 5, (size_t)5);
	expect_v2_fails(b.data, m.cons_a - 5, want);
	snprintf(want, sizeof(want), "snapshot v2: ends inside entry \"consumers/a\" at decoded offset %zu (1 data bytes missing)",
		 m.cons_b - 1);
	expect_v2_fails(b.data, m.cons_b - 1, want);
	/* between the consumers, and after them: no sentinel */
	snprintf(want, sizeof(want), "snapshot v2: ends at decoded offset %zu without the end sentinel (after 2 entries, 0 messages): truncated, or the server failed mid-snapshot",
		 m.cons_b);
	expect_v2_fails(b.data, m.cons_b, want);
	snprintf(want, sizeof(want), "snapshot v2: ends at decoded offset %zu without the end sentinel (after 3 entries, 0 messages)",
		 m.msg5);
	expect_v2_fails(b.data, m.msg5, want);
	/* inside a message's headers, and its payload */
	snprintf(want, sizeof(want), "snapshot v2: ends inside message sequence 5 \"orders.a\" at decoded offset %zu (%zu data bytes missing)",
		 m.msg7 - 20, (size_t)20);
	expect_v2_fails(b.data, m.msg7 - 20, want);
	snprintf(want, sizeof(want), "snapshot v2: ends inside message sequence 7 \"orders.b\" at decoded offset %zu (3 data bytes missing)",
		 m.msg8 - 3);
	expect_v2_fails(b.data, m.msg8 - 3, want);
	snprintf(want, sizeof(want), "snapshot v2: ends at decoded offset %zu without the end sentinel (after 6 entries, 3 messages)",
		 m.sentinel);
	expect_v2_fails(b.data, m.sentinel, want);
	/* inside the sentinel itself */
	snprintf(want, sizeof(want), "snapshot v2: ends inside the header of the entry at decoded offset %zu (in its sequence)",
		 m.sentinel);
	expect_v2_fails(b.data, m.sentinel + 2, want);

	/* the failure sticks, and finish repeats it */
	assert_int_equal(check_v2(b.data, m.msg5, 1000, 0, &c, &err), XORB_ECORRUPT);
	xorb_error_clear(&err);
	assert_int_equal(xorb_snapcheck_finish(c, &err), XORB_ECORRUPT);
	assert_non_null(strstr(err.msg, "without the end sentinel"));
	xorb_snapcheck_free(c);
	xorb_buf_release(&b);
}

static void test_v2_bad_headers(void **state)
{
	static const uint8_t overflow[] = { 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
	struct xorb_buf b;
	char want[300];
	size_t at;

	(void)state;
	xorb_buf_init(&b);
	/* a varint past 64 bits (the server's reader refuses it too) */
	assert_int_equal(xorb_buf_append(&b, "NATSARC1", 8), 0);
	assert_int_equal(xorb_buf_append(&b, overflow, sizeof(overflow)), 0);
	expect_v2_fails(b.data, b.len, "snapshot v2: the timestamp of the entry header at decoded offset 8 overflows 64 bits");
	b.len = 8;
	assert_int_equal(xorb_buf_append(&b, overflow, sizeof(overflow) - 1), 0);
	assert_int_equal(xorb_buf_append(&b, "\x01", 1), 0); /* 10 bytes, ends in 1: 2^64 - 1 */
	put_uvarint(&b, 0);
	put_uvarint(&b, 0);
	put_uvarint(&b, 0);
	expect_v2_fails(b.data, b.len, "snapshot v2: ends inside the name of the entry at decoded offset 8 (0 of 1 bytes)");

	/* sizes above int64, or whose sum is */
	v2_start(&b, 1, 0);
	at = b.len;
	v2_head(&b, "orders.a", 1, 1, (uint64_t)1 << 63, 0);
	snprintf(want, sizeof(want), "snapshot v2: the entry at decoded offset %zu declares an impossible size (header 9223372036854775808, payload 0 bytes)", at);
	expect_v2_fails(b.data, b.len, want);
	b.len = at;
	v2_head(&b, "orders.a", 1, 1, 10, INT64_MAX - 9);
	expect_v2_fails(b.data, b.len, "declares an impossible size (header 10, payload 9223372036854775798 bytes)");

	/* a message over the largest max_payload, and just at it */
	b.len = at;
	v2_head(&b, "orders.a", 1, 1, 100, 2147483548);
	snprintf(want, sizeof(want), "snapshot v2: message sequence 1 at decoded offset %zu holds 2147483648 bytes (header 100, payload 2147483548), over the limit of 2147483647", at);
	expect_v2_fails(b.data, b.len, want);
	b.len = at;
	v2_head(&b, "orders.a", 1, 1, 100, 2147483547);
	expect_v2_fails(b.data, b.len, "snapshot v2: ends inside message sequence 1 \"orders.a\"");

	/* a JSON entry (sequence 0) with headers, or over its cap */
	b.len = 8;
	v2_head(&b, "state.json", 1, 0, 2, 10);
	expect_v2_fails(b.data, b.len, "snapshot v2: the entry at decoded offset 8 has sequence 0 (not a message) but a header size of 2");
	b.len = 8;
	v2_head(&b, "state.json", 1, 0, 0, (1u << 20) + 1);
	expect_v2_fails(b.data, b.len, "snapshot v2: state.json of 1048577 bytes at decoded offset 8 exceeds the limit of 1048576");
	v2_start(&b, 1, 1);
	at = b.len;
	v2_head(&b, "consumers/a", 1, 0, 0, (256u << 20) + 1);
	snprintf(want, sizeof(want), "snapshot v2: the entry at decoded offset %zu holds 268435457 bytes of JSON, over the limit of 268435456", at);
	expect_v2_fails(b.data, b.len, want);

	/* names: none, too long (refused from the header) */
	v2_start(&b, 1, 0);
	at = b.len;
	v2_head(&b, "", 1, 4, 0, 3);
	snprintf(want, sizeof(want), "snapshot v2: the entry at decoded offset %zu has no name (sequence 4, 3 data bytes)", at);
	expect_v2_fails(b.data, b.len, want);
	b.len = at;
	put_uvarint(&b, 4097);
	put_uvarint(&b, 2);
	put_uvarint(&b, 4);
	put_uvarint(&b, 0);
	put_uvarint(&b, 3);
	snprintf(want, sizeof(want), "snapshot v2: entry name of 4097 bytes at decoded offset %zu exceeds the limit of 4096", at);
	expect_v2_fails(b.data, b.len, want);
	b.len = at;
	put_uvarint(&b, UINT64_MAX);
	put_uvarint(&b, 0);
	put_uvarint(&b, 0);
	put_uvarint(&b, 0);
	put_uvarint(&b, 0);
	snprintf(want, sizeof(want), "snapshot v2: entry name of 18446744073709551615 bytes at decoded offset %zu exceeds the limit of 4096", at);
	expect_v2_fails(b.data, b.len, want);
	xorb_buf_release(&b);
}

static void test_v2_state_json(void **state)
{
	struct xorb_buf b;

	(void)state;
	xorb_buf_init(&b);
	/* missing: the first entry is something else, or the sentinel */
	assert_int_equal(xorb_buf_append(&b, "NATSARC1", 8), 0);
	v2_json(&b, "consumers/a", cons_a);
	v2_sentinel(&b);
	expect_v2_fails(b.data, b.len, "snapshot v2: the first entry, \"consumers/a\" at decoded offset 8, is not state.json");
	b.len = 8;
	v2_msg(&b, "orders.a", 1, "", "x");
	expect_v2_fails(b.data, b.len, "snapshot v2: the first entry, \"orders.a\" at decoded offset 8, is not state.json");
	b.len = 8;
	v2_head(&b, "state.json", 1, 7, 0, 2); /* a message named state.json */
	expect_v2_fails(b.data, b.len, "snapshot v2: state.json at decoded offset 8 has sequence 7 (only messages have one)");
	b.len = 8;
	v2_sentinel(&b);
	expect_v2_fails(b.data, b.len, "snapshot v2: the end sentinel at decoded offset 8 comes before state.json");

	/* bad content */
	b.len = 8;
	v2_json(&b, "state.json", "{\"first_seq\":1,");
	v2_sentinel(&b);
	expect_v2_fails(b.data, b.len, "snapshot v2: state.json is not valid JSON (near byte ");
	b.len = 8;
	v2_head(&b, "state.json", 1, 0, 0, 0);
	v2_sentinel(&b);
	expect_v2_fails(b.data, b.len, "snapshot v2: state.json is not valid JSON");
	b.len = 8;
	v2_json(&b, "state.json", "[1,2]");
	expect_v2_fails(b.data, b.len, "snapshot v2: state.json at decoded offset 8 is not a JSON object");
	b.len = 8;
	v2_json(&b, "state.json", "{\"first_seq\":1}");
	expect_v2_fails(b.data, b.len, "snapshot v2: state.json at decoded offset 8 has no unsigned integer \"consumer_count\"");
	b.len = 8;
	v2_json(&b, "state.json", "{\"first_seq\":1,\"consumer_count\":-1}");
	expect_v2_fails(b.data, b.len, "has no unsigned integer \"consumer_count\"");
	b.len = 8;
	v2_json(&b, "state.json", "{\"consumer_count\":0,\"first_seq\":1.5}");
	expect_v2_fails(b.data, b.len, "snapshot v2: state.json at decoded offset 8 has no unsigned integer \"first_seq\"");
	b.len = 8;
	v2_json(&b, "state.json", "{\"consumer_count\":0,\"first_seq\":18446744073709551616}");
	expect_v2_fails(b.data, b.len, "has no unsigned integer \"first_seq\"");
	b.len = 8;
	v2_json(&b, "state.json", "{\"consumer_count\":100001,\"first_seq\":1}");
	expect_v2_fails(b.data, b.len, "snapshot v2: state.json at decoded offset 8 announces 100001 consumers, more than the limit of 100000");

	/* a second one */
	v2_start(&b, 1, 0);
	v2_json(&b, "state.json", "{}");
	expect_v2_fails(b.data, b.len, "snapshot v2: a second state.json at decoded offset ");
	xorb_buf_release(&b);
}

static void test_v2_consumers(void **state)
{
	struct xorb_buf b;
	char want[300];
	size_t at;

	(void)state;
	xorb_buf_init(&b);
	/* fewer than announced: a message or the sentinel where one is due */
	v2_start(&b, 1, 2);
	v2_json(&b, "consumers/a", cons_a);
	at = b.len;
	v2_msg(&b, "orders.a", 1, "", "x");
	snprintf(want, sizeof(want), "snapshot v2: entry \"orders.a\" at decoded offset %zu where consumer 2 of the 2 that state.json announces was due", at);
	expect_v2_fails(b.data, b.len, want);
	b.len = at;
	v2_sentinel(&b);
	snprintf(want, sizeof(want), "snapshot v2: the end sentinel at decoded offset %zu comes after 1 of the 2 consumers that state.json announces", at);
	expect_v2_fails(b.data, b.len, want);
	/* more than announced */
	v2_start(&b, 1, 1);
	v2_json(&b, "consumers/a", cons_a);
	at = b.len;
	v2_json(&b, "consumers/b", cons_a);
	snprintf(want, sizeof(want), "snapshot v2: consumer entry \"consumers/b\" at decoded offset %zu is one more than the 1 that state.json announces", at);
	expect_v2_fails(b.data, b.len, want);
	/* after the messages started */
	v2_start(&b, 1, 0);
	v2_msg(&b, "orders.a", 1, "", "x");
	v2_json(&b, "consumers/late", cons_a);
	expect_v2_fails(b.data, b.len, "snapshot v2: consumer entry \"consumers/late\" at decoded offset ");
	/* bad names, no data, not JSON */
	v2_start(&b, 1, 1);
	at = b.len;
	v2_json(&b, "consumers/", cons_a);
	snprintf(want, sizeof(want), "snapshot v2: consumer entry \"consumers/\" at decoded offset %zu has an invalid consumer name", at);
	expect_v2_fails(b.data, b.len, want);
	b.len = at;
	v2_json(&b, "consumers/a/b", cons_a);
	expect_v2_fails(b.data, b.len, "snapshot v2: consumer entry \"consumers/a/b\" at decoded offset ");
	b.len = at;
	v2_json(&b, "consumers/a b", cons_a);
	expect_v2_fails(b.data, b.len, "has an invalid consumer name");
	b.len = at;
	v2_head(&b, "consumers/a", 1, 0, 0, 0);
	snprintf(want, sizeof(want), "snapshot v2: consumer entry \"consumers/a\" at decoded offset %zu is empty", at);
	expect_v2_fails(b.data, b.len, want);
	b.len = at;
	v2_json(&b, "consumers/a", "{\"config\":{},\"state\"");
	v2_sentinel(&b);
	snprintf(want, sizeof(want), "snapshot v2: consumer entry \"consumers/a\" at decoded offset %zu does not hold a JSON object", at);
	expect_v2_fails(b.data, b.len, want);
	xorb_buf_release(&b);
}

static void test_v2_messages(void **state)
{
	struct xorb_buf b;
	char want[300];
	size_t at;

	(void)state;
	xorb_buf_init(&b);
	/* out of order, repeated, before first_seq, in a never-written stream */
	v2_start(&b, 5, 0);
	v2_msg(&b, "orders.a", 7, "", "x");
	at = b.len;
	v2_msg(&b, "orders.a", 6, "", "x");
	snprintf(want, sizeof(want), "snapshot v2: message sequence 6 at decoded offset %zu follows sequence 7: out of order", at);
	expect_v2_fails(b.data, b.len, want);
	b.len = at;
	v2_msg(&b, "orders.a", 7, "", "x");
	expect_v2_fails(b.data, b.len, "snapshot v2: message sequence 7 at decoded offset ");
	expect_v2_fails(b.data, b.len, "follows sequence 7: out of order");
	v2_start(&b, 5, 0);
	at = b.len;
	v2_msg(&b, "orders.a", 4, "", "x");
	snprintf(want, sizeof(want), "snapshot v2: message sequence 4 at decoded offset %zu precedes the stream's first_seq 5 in state.json", at);
	expect_v2_fails(b.data, b.len, want);
	v2_start(&b, 0, 0);
	v2_msg(&b, "orders.a", 1, "", "x");
	expect_v2_fails(b.data, b.len, "in a stream that state.json says never held one (first_seq 0)");
	/* a subject no client could have published */
	v2_start(&b, 1, 0);
	at = b.len;
	v2_msg(&b, "orders a", 1, "", "x");
	snprintf(want, sizeof(want), "snapshot v2: message sequence 1 at decoded offset %zu has an invalid subject \"orders a\"", at);
	expect_v2_fails(b.data, b.len, want);
	/* sequence 0 that is not the sentinel: a name, or any non-zero field */
	b.len = at;
	v2_head(&b, "orders.a", 0, 0, 0, 0);
	snprintf(want, sizeof(want), "snapshot v2: entry \"orders.a\" at decoded offset %zu has sequence 0 but is not the end sentinel", at);
	expect_v2_fails(b.data, b.len, want);
	b.len = at;
	v2_head(&b, "", 1, 0, 0, 0);
	snprintf(want, sizeof(want), "snapshot v2: the entry at decoded offset %zu has no name (sequence 0, 0 data bytes)", at);
	expect_v2_fails(b.data, b.len, want);
	xorb_buf_release(&b);
}

/* Formats: told from the first 8 decoded bytes, whatever the blocks. */
static void test_format_detection(void **state)
{
	struct xorb_snapcheck *c;
	struct xorb_error err;
	struct xorb_buf raw, s2;
	uint64_t first, last;
	size_t chunk;

	(void)state;
	/* a tar whose first name starts like the magic */
	xorb_buf_init(&raw);
	raw_entry(&raw, "NATSARC.txt", '0', "x", 1);
	raw_entry(&raw, "meta.inf", '0', "{}", 2);
	raw_end(&raw);
	for (chunk = 1; chunk <= 9; chunk++) {
		frame_tar(&s2, raw.data, raw.len, chunk);
		assert_int_equal(check(s2.data, s2.len, chunk == 3 ? 1 : 0, &c, &err), XORB_OK);
		assert_int_equal(xorb_snapcheck_format(c), XORB_SNAPCHECK_FORMAT_TAR);
		assert_int_equal(xorb_snapcheck_entry_count(c), 2);
		assert_int_equal(xorb_snapcheck_decoded_bytes(c), raw.len);
		assert_int_equal(xorb_snapcheck_message_count(c), 0);
		assert_int_equal(xorb_snapcheck_seq_range(c, &first, &last), 0);
		xorb_snapcheck_free(c);
		xorb_buf_release(&s2);
	}
	/* before any decoded byte, and after a partial magic */
	assert_int_equal(xorb_snapcheck_new(&c), XORB_OK);
	assert_int_equal(xorb_snapcheck_format(c), XORB_SNAPCHECK_FORMAT_UNKNOWN);
	frame_tar(&s2, "NATSA", 5, 10);
	assert_int_equal(xorb_snapcheck_feed(c, s2.data, s2.len, &err), XORB_OK);
	assert_int_equal(xorb_snapcheck_format(c), XORB_SNAPCHECK_FORMAT_UNKNOWN);
	assert_int_equal(xorb_snapcheck_decoded_bytes(c), 5);
	xorb_buf_release(&s2);
	xorb_buf_reset(&raw);
	assert_int_equal(xorb_buf_append(&raw, "RC1", 3), 0);
	put_uncompressed(&raw, "RC1", 3);
	assert_int_equal(xorb_snapcheck_feed(c, raw.data + 3, raw.len - 3, &err), XORB_OK);
	assert_int_equal(xorb_snapcheck_format(c), XORB_SNAPCHECK_FORMAT_V2);
	assert_int_equal(xorb_snapcheck_decoded_bytes(c), 8);
	xorb_snapcheck_free(c);
	/* a tar that mismatches at the first byte, as every real one does */
	{
		uint8_t *in;
		size_t len;

		in = read_vector("kv.s2", &len);
		assert_int_equal(check(in, len, 0, &c, &err), XORB_OK);
		assert_int_equal(xorb_snapcheck_format(c), XORB_SNAPCHECK_FORMAT_TAR);
		assert_int_equal(xorb_snapcheck_message_count(c), 0);
		xorb_snapcheck_free(c);
		free(in);
	}
	xorb_buf_release(&raw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_snapshots),
		cmocka_unit_test(test_real_snapshot_s2_faults),
		cmocka_unit_test(test_errors_txt),
		cmocka_unit_test(test_errors_txt_long_and_multiline),
		cmocka_unit_test(test_truncated_tar),
		cmocka_unit_test(test_no_meta_inf),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_record_padding_after_end),
		cmocka_unit_test(test_long_consumer_names),
		cmocka_unit_test(test_pax_global_and_records),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_consumer_cap),
		cmocka_unit_test(test_v2_real_snapshot),
		cmocka_unit_test(test_v2_synthetic_good),
		cmocka_unit_test(test_v2_truncated),
		cmocka_unit_test(test_v2_bad_headers),
		cmocka_unit_test(test_v2_state_json),
		cmocka_unit_test(test_v2_consumers),
		cmocka_unit_test(test_v2_messages),
		cmocka_unit_test(test_format_detection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

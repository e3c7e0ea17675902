/*
 * Unit tests of the S2 framing decoder and CRC-32C (xorb_s2.h): published
 * CRC vectors, real nats-server 2.9.10 snapshots (tests/data/s2) decoded
 * whole and one byte at a time, hand-built blocks for every element form,
 * and corrupt input of every kind the decoder must refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "xorb_buf.h"
#include "xorb_error.h"
#include "xorb_s2.h"

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

static void sha256_hex(const void *p, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	int i;

	assert_int_equal(EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL), 1);
	assert_int_equal(mdlen, 32);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Sink that keeps everything; fails with stop_with once limit is passed. */
struct collect {
	struct xorb_buf out;
	size_t calls;
	size_t limit;
	int stop_with;
};

static int collect_sink(void *arg, const uint8_t *data, size_t len)
{
	struct collect *c = arg;

	assert_true(len > 0);
	c->calls++;
	if (c->stop_with && c->out.len + len > c->limit)
		return c->stop_with;
	assert_int_equal(xorb_buf_append(&c->out, data, len), 0);
	return 0;
}

/* Decodes in feeds of step bytes (0: all at once). Returns the status of
 * the first failing call, or of finish; err gets its message. */
static int decode(const uint8_t *in, size_t len, size_t step, struct collect *c,
		  struct xorb_error *err)
{
	struct xorb_s2_dec *d;
	size_t off, n;
	int rc = 0;

	xorb_buf_init(&c->out);
	c->calls = 0;
	xorb_error_clear(err);
	assert_int_equal(xorb_s2_dec_new(&d, collect_sink, c), XORB_OK);
	if (!step)
		step = len ? len : 1;
	for (off = 0; off < len && !rc; off += n) {
		n = len - off < step ? len - off : step;
		rc = xorb_s2_dec_feed(d, in + off, n, err);
	}
	if (!rc)
		rc = xorb_s2_dec_finish(d, err);
	if (!rc) {
		assert_int_equal(xorb_s2_dec_total_in(d), len);
		assert_int_equal(xorb_s2_dec_total_out(d), c->out.len);
	}
	xorb_s2_dec_free(d);
	return rc;
}

static void expect_corrupt(const uint8_t *in, size_t len, const char *msg)
{
	struct collect c = { 0 };
	struct xorb_error err;
	int rc = decode(in, len, 0, &c, &err);

	if (rc != XORB_ECORRUPT || !strstr(err.msg, msg))
		fail_msg("want ECORRUPT with \"%s\", got %d \"%s\"", msg, rc, err.msg);
	assert_int_equal(err.code, XORB_ECORRUPT);
	xorb_buf_release(&c.out);
}

/* ---- a tiny framer, to build streams the tests need ---- */

static void put_frame(struct xorb_buf *b, uint8_t type, const void *body, size_t len)
{
	uint8_t h[4] = { type, (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16) };

	assert_true(len < (1u << 24));
	assert_int_equal(xorb_buf_append(b, h, 4), 0);
	assert_int_equal(xorb_buf_append(b, body, len), 0);
}

static void put_stream_id(struct xorb_buf *b)
{
	put_frame(b, 0xff, "S2sTwO", 6);
}

static uint32_t masked(const void *p, size_t len)
{
	uint32_t c = xorb_crc32c(0, p, len);

	return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put_uncompressed(struct xorb_buf *b, const void *data, size_t len)
{
	struct xorb_buf body;
	uint8_t crc[4];

	xorb_buf_init(&body);
	put_le32(crc, masked(data, len));
	assert_int_equal(xorb_buf_append(&body, crc, 4), 0);
	assert_int_equal(xorb_buf_append(&body, data, len), 0);
	put_frame(b, 0x01, body.data, body.len);
	xorb_buf_release(&body);
}

/* A compressed frame: the checksum of plain, uvarint declared, elements. */
static void put_compressed(struct xorb_buf *b, const void *elems, size_t elen,
			   uint64_t declared, const void *plain, size_t plen)
{
	struct xorb_buf body;
	uint8_t crc[4], v;

	xorb_buf_init(&body);
	put_le32(crc, masked(plain, plen));
	assert_int_equal(xorb_buf_append(&body, crc, 4), 0);
	do {
		v = (uint8_t)(declared & 0x7f);
		declared >>= 7;
		if (declared)
			v |= 0x80;
		assert_int_equal(xorb_buf_append(&body, &v, 1), 0);
	} while (declared);
	assert_int_equal(xorb_buf_append(&body, elems, elen), 0);
	put_frame(b, 0x00, body.data, body.len);
	xorb_buf_release(&body);
}

/* Element builders for hand-made blocks. */
static void el_literal(struct xorb_buf *b, const void *p, size_t len, int extra)
{
	uint8_t t[5];
	size_t n = 1;
	int i;

	if (extra == 0) {
		assert_true(len >= 1 && len <= 60);
		t[0] = (uint8_t)((len - 1) << 2);
	} else {
		t[0] = (uint8_t)((59 + extra) << 2);
		for (i = 0; i < extra; i++)
			t[n++] = (uint8_t)((len - 1) >> (8 * i));
	}
	assert_int_equal(xorb_buf_append(b, t, n), 0);
	assert_int_equal(xorb_buf_append(b, p, len), 0);
}

static void el_copy1(struct xorb_buf *b, size_t offset, size_t len)
{
	uint8_t t[2];

	assert_true(len >= 4 && len <= 11 && offset < 2048);
	t[0] = (uint8_t)(1 | (len - 4) << 2 | (offset >> 8) << 5);
	t[1] = (uint8_t)offset;
	assert_int_equal(xorb_buf_append(b, t, 2), 0);
}

static void el_copy2(struct xorb_buf *b, size_t offset, size_t len)
{
	uint8_t t[3] = { (uint8_t)(2 | (len - 1) << 2), (uint8_t)offset,
			 (uint8_t)(offset >> 8) };

	assert_int_equal(xorb_buf_append(b, t, 3), 0);
}

static void el_copy4(struct xorb_buf *b, size_t offset, size_t len)
{
	uint8_t t[5] = { (uint8_t)(3 | (len - 1) << 2) };

	put_le32(t + 1, (uint32_t)offset);
	assert_int_equal(xorb_buf_append(b, t, 5), 0);
}

/* Repeat of the previous offset: code 0-4 is length 4-8; 5, 6, 7 take
 * 1, 2, 3 more bytes for lengths 8-263, 260-65795, 65540-16842755. */
static void el_repeat(struct xorb_buf *b, int code, size_t len)
{
	uint8_t t[5];
	size_t n = 2, v;

	t[0] = (uint8_t)(1 | code << 2);
	t[1] = 0;
	if (code <= 4) {
		assert_int_equal(len, (size_t)code + 4);
	} else {
		v = len - (code == 5 ? 8 : code == 6 ? 260 : 65540);
		t[n++] = (uint8_t)v;
		if (code >= 6)
			t[n++] = (uint8_t)(v >> 8);
		if (code == 7)
			t[n++] = (uint8_t)(v >> 16);
	}
	assert_int_equal(xorb_buf_append(b, t, n), 0);
}

/* The reference meaning of a copy, byte by byte, for the expected output. */
static void ref_copy(struct xorb_buf *plain, size_t offset, size_t len)
{
	size_t i;

	assert_int_equal(xorb_buf_reserve(plain, len), 0);
	for (i = 0; i < len; i++) {
		plain->data[plain->len] = plain->data[plain->len - offset];
		plain->len++;
	}
	plain->data[plain->len] = '\0';
}

static void fill_random(uint8_t *p, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		p[i] = (uint8_t)(seed >> 24);
	}
}

/* ---- CRC-32C ---- */

static void test_crc_vectors(void **state)
{
	uint8_t buf[64];
	int i;

	(void)state;
	/* the check value, and the iSCSI test patterns of RFC 3720 B.4 */
	assert_int_equal(xorb_crc32c(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(xorb_crc32c_portable(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(xorb_crc32c(0, "", 0), 0);
	memset(buf, 0, 32);
	assert_int_equal(xorb_crc32c(0, buf, 32), 0x8a9136aau);
	assert_int_equal(xorb_crc32c_portable(0, buf, 32), 0x8a9136aau);
	memset(buf, 0xff, 32);
	assert_int_equal(xorb_crc32c(0, buf, 32), 0x62a8ab43u);
	assert_int_equal(xorb_crc32c_portable(0, buf, 32), 0x62a8ab43u);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(xorb_crc32c(0, buf, 32), 0x46dd794eu);
	assert_int_equal(xorb_crc32c_portable(0, buf, 32), 0x46dd794eu);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	assert_int_equal(xorb_crc32c(0, buf, 32), 0x113fdb5cu);
	assert_int_equal(xorb_crc32c_portable(0, buf, 32), 0x113fdb5cu);
	assert_int_equal(xorb_crc32c(0, "a", 1), 0xc1d04330u);
	/* continuing from a previous value */
	assert_int_equal(xorb_crc32c(xorb_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
}

/* Both implementations agree at every length and alignment, and a CRC
 * computed in pieces equals the CRC of the whole. */
static void test_crc_implementations_agree(void **state)
{
	uint8_t *buf = malloc(4096 + 16);
	size_t len, align, cut;
	uint32_t a, b, whole;

	(void)state;
	assert_non_null(buf);
	fill_random(buf, 4096 + 16, 12345);
	for (align = 0; align < 8; align++) {
		for (len = 0; len <= 300; len++) {
			a = xorb_crc32c(0, buf + align, len);
			b = xorb_crc32c_portable(0, buf + align, len);
			assert_int_equal(a, b);
		}
		a = xorb_crc32c(0x12345678u, buf + align, 4096);
		b = xorb_crc32c_portable(0x12345678u, buf + align, 4096);
		assert_int_equal(a, b);
	}
	whole = xorb_crc32c(0, buf, 4096);
	for (cut = 0; cut <= 4096; cut += 37) {
		a = xorb_crc32c(xorb_crc32c(0, buf, cut), buf + cut, 4096 - cut);
		b = xorb_crc32c_portable(xorb_crc32c_portable(0, buf, cut), buf + cut, 4096 - cut);
		assert_int_equal(a, whole);
		assert_int_equal(b, whole);
	}
	free(buf);
}

/* ---- real snapshots ---- */

struct vector {
	const char *file;
	size_t tar_len;
	const char *sha256;
};

static const struct vector vectors[] = {
	{ "orders.s2", 3578880, "93cca2c2d594cd795e62c092fe8f7be8c01d00d898085f38f2d5d66d552134fa" },
	{ "kv.s2", 112128, "498df704616494703615190ee1c9b0328d57aa79cd98f2eddf3e7127cddfd712" },
	{ "kv.sz", 112128, "498df704616494703615190ee1c9b0328d57aa79cd98f2eddf3e7127cddfd712" },
};

static void test_real_snapshots(void **state)
{
	struct collect c = { 0 };
	struct xorb_error err;
	char hex[65];
	uint8_t *in;
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		in = read_vector(vectors[i].file, &len);
		assert_int_equal(decode(in, len, 0, &c, &err), XORB_OK);
		assert_int_equal(c.out.len, vectors[i].tar_len);
		sha256_hex(c.out.data, c.out.len, hex);
		assert_string_equal(hex, vectors[i].sha256);
		/* a ustar header with the name the server gives the PAX header */
		assert_memory_equal(c.out.data + 257, "ustar\0" "00", 8);
		xorb_buf_release(&c.out);

		/* the same again in the 1 MiB pieces a snapshot arrives in */
		assert_int_equal(decode(in, len, 1 << 20, &c, &err), XORB_OK);
		sha256_hex(c.out.data, c.out.len, hex);
		assert_string_equal(hex, vectors[i].sha256);
		xorb_buf_release(&c.out);
		free(in);
	}
}

/* Feeding one byte at a time splits the input at every boundary: the
 * output must not change. Odd feed sizes too. */
static void test_real_snapshots_split_everywhere(void **state)
{
	static const size_t steps[] = { 1, 2, 3, 7, 4093, 65537 };
	struct collect c = { 0 };
	struct xorb_error err;
	char hex[65];
	uint8_t *in;
	size_t len, i, s;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		in = read_vector(vectors[i].file, &len);
		for (s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
			assert_int_equal(decode(in, len, steps[s], &c, &err), XORB_OK);
			assert_int_equal(c.out.len, vectors[i].tar_len);
			sha256_hex(c.out.data, c.out.len, hex);
			assert_string_equal(hex, vectors[i].sha256);
			xorb_buf_release(&c.out);
		}
		free(in);
	}
}

/* A flipped bit in a real snapshot is caught by the CRC, or by the framing
 * and block checks when it hits them. The one way through is a flip that
 * changes nothing decoded (a copy offset moved to identical bytes, as at
 * byte 156 here): then the output must be exactly the original. */
static void test_real_snapshot_any_flip_fails(void **state)
{
	struct collect c = { 0 };
	struct xorb_error err;
	char hex[65];
	uint8_t *in;
	size_t len, pos, caught = 0, same = 0;
	int rc, bit = 0;

	(void)state;
	in = read_vector("kv.s2", &len);
	for (pos = 0; pos < len; pos += 13) {
		in[pos] ^= (uint8_t)(1u << bit);
		rc = decode(in, len, 0, &c, &err);
		if (rc == XORB_OK) {
			sha256_hex(c.out.data, c.out.len, hex);
			if (strcmp(hex, vectors[1].sha256))
				fail_msg("flipping bit %d of byte %zu changed the output unnoticed", bit, pos);
			same++;
		} else {
			assert_int_equal(rc, XORB_ECORRUPT);
			assert_true(strncmp(err.msg, "s2: ", 4) == 0);
			caught++;
		}
		in[pos] ^= (uint8_t)(1u << bit);
		bit = (bit + 1) % 8;
		xorb_buf_release(&c.out);
	}
	assert_true(caught > 6000);
	assert_true(same < 20);
	free(in);
}

static void test_crc_mismatch_message(void **state)
{
	struct xorb_buf s;
	uint8_t *in;
	size_t len;

	(void)state;
	/* the first block's checksum in a real snapshot */
	in = read_vector("orders.s2", &len);
	in[10 + 4 + 1] ^= 0x10;
	expect_corrupt(in, len, "s2: crc mismatch in block at input offset 10 ");
	in[10 + 4 + 1] ^= 0x10;
	/* the data of a later uncompressed block */
	xorb_buf_init(&s);
	put_stream_id(&s);
	put_uncompressed(&s, "hello, ", 7);
	put_uncompressed(&s, "world", 5);
	s.data[10 + 4 + 4 + 7 + 4 + 4 + 2] ^= 0x01;
	expect_corrupt((uint8_t *)s.data, s.len, "s2: crc mismatch in block at input offset 25 ");
	xorb_buf_release(&s);
	free(in);
}

static void test_truncated(void **state)
{
	static const size_t cuts[] = { 1, 2, 3, 4, 5, 100, 5000 };
	struct collect c = { 0 };
	struct xorb_error err;
	uint8_t *in;
	size_t len, i;

	(void)state;
	in = read_vector("orders.s2", &len);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		assert_int_equal(decode(in, len - cuts[i], 1000, &c, &err), XORB_ECORRUPT);
		assert_non_null(strstr(err.msg, "s2: input ends inside"));
		xorb_buf_release(&c.out);
	}
	/* inside the first frame header, and inside the stream identifier */
	assert_int_equal(decode(in, 2, 0, &c, &err), XORB_ECORRUPT);
	assert_string_equal(err.msg, "s2: input ends inside a frame header at input offset 0");
	xorb_buf_release(&c.out);
	assert_int_equal(decode(in, 7, 0, &c, &err), XORB_ECORRUPT);
	assert_string_equal(err.msg, "s2: input ends inside the frame at input offset 0 (chunk type 0xff, 3 of 6 bytes)");
	xorb_buf_release(&c.out);
	/* nothing at all */
	assert_int_equal(decode(in, 0, 0, &c, &err), XORB_ECORRUPT);
	assert_string_equal(err.msg, "s2: input holds no stream identifier (0 bytes)");
	xorb_buf_release(&c.out);
	free(in);
}

static void test_stream_identifier(void **state)
{
	static const uint8_t other[] = { 0xff, 6, 0, 0, 'S', '2', 's', 'T', 'w', 'X' };
	static const uint8_t long_id[] = { 0xff, 7, 0, 0, 'S', '2', 's', 'T', 'w', 'O', 0 };
	struct collect c = { 0 };
	struct xorb_error err;
	struct xorb_buf s;

	(void)state;
	expect_corrupt(other, sizeof(other), "s2: unknown stream identifier \"S2sTwX\" at input offset 0");
	expect_corrupt(long_id, sizeof(long_id), "s2: stream identifier of 7 bytes at input offset 0, want 6");
	/* data before any identifier */
	xorb_buf_init(&s);
	put_uncompressed(&s, "abc", 3);
	expect_corrupt((uint8_t *)s.data, s.len, "s2: input does not start with a stream identifier (chunk type 0x01 at input offset 0)");
	/* Snappy's identifier works; concatenated streams repeat it */
	xorb_buf_reset(&s);
	put_frame(&s, 0xff, "sNaPpY", 6);
	put_uncompressed(&s, "abc", 3);
	put_stream_id(&s);
	put_uncompressed(&s, "def", 3);
	assert_int_equal(decode((uint8_t *)s.data, s.len, 0, &c, &err), XORB_OK);
	assert_int_equal(c.out.len, 6);
	assert_memory_equal(c.out.data, "abcdef", 6);
	xorb_buf_release(&c.out);
	xorb_buf_release(&s);
}

static void test_chunk_types(void **state)
{
	static const uint8_t pad[300];
	struct collect c = { 0 };
	struct xorb_error err;
	struct xorb_buf s;

	(void)state;
	/* skippable chunks (index 0x99, padding 0xfe, empty 0x80) are skipped */
	xorb_buf_init(&s);
	put_stream_id(&s);
	put_frame(&s, 0x99, "index data", 10);
	put_uncompressed(&s, "one", 3);
	put_frame(&s, 0xfe, pad, sizeof(pad));
	put_frame(&s, 0x80, "", 0);
	put_uncompressed(&s, "two", 3);
	assert_int_equal(decode((uint8_t *)s.data, s.len, 0, &c, &err), XORB_OK);
	assert_int_equal(c.out.len, 6);
	assert_memory_equal(c.out.data, "onetwo", 6);
	xorb_buf_release(&c.out);
	assert_int_equal(decode((uint8_t *)s.data, s.len, 1, &c, &err), XORB_OK);
	assert_memory_equal(c.out.data, "onetwo", 6);
	xorb_buf_release(&c.out);
	/* an empty uncompressed block is fine and delivers nothing */
	xorb_buf_reset(&s);
	put_stream_id(&s);
	put_uncompressed(&s, "", 0);
	assert_int_equal(decode((uint8_t *)s.data, s.len, 0, &c, &err), XORB_OK);
	assert_int_equal(c.out.len, 0);
	assert_int_equal(c.calls, 0);
	xorb_buf_release(&c.out);

	/* reserved unskippable chunks */
	xorb_buf_reset(&s);
	put_stream_id(&s);
	put_uncompressed(&s, "abc", 3);
	put_frame(&s, 0x02, "xx", 2);
	expect_corrupt((uint8_t *)s.data, s.len, "s2: reserved chunk type 0x02 at input offset 21");
	xorb_buf_reset(&s);
	put_stream_id(&s);
	put_frame(&s, 0x7f, "", 0);
	expect_corrupt((uint8_t *)s.data, s.len, "s2: reserved chunk type 0x7f at input offset 10");
	/* data chunks too short to hold their checksum */
	xorb_buf_reset(&s);
	put_stream_id(&s);
	put_frame(&s, 0x01, "abc", 3);
	expect_corrupt((uint8_t *)s.data, s.len, "s2: uncompressed block of 3 bytes is too short at input offset 10");
	xorb_buf_reset(&s);
	put_stream_id(&s);
	put_frame(&s, 0x00, "abcd", 4);
	expect_corrupt((uint8_t *)s.data, s.len, "s2: compressed block of 4 bytes is too short at input offset 10");
	xorb_buf_release(&s);
}

/* One hand-made block holding every element form; checked against the
 * byte-by-byte meaning of each copy. */
static void test_all_element_forms(void **state)
{
	struct xorb_buf el, plain, s;
	struct collect c = { 0 };
	struct xorb_error err;
	char hex_want[65], hex_got[65];
	uint8_t rnd[70000];
	size_t steps[] = { 0, 1, 5, 4096 };
	size_t i;

	(void)state;
	xorb_buf_init(&el);
	xorb_buf_init(&plain);
	fill_random(rnd, sizeof(rnd), 99);

	/* literals: length in the tag, then with 1, 2, 3 and 4 length bytes */
	el_literal(&el, "abcdefgh", 8, 0);
	assert_int_equal(xorb_buf_append(&plain, "abcdefgh", 8), 0);
	el_literal(&el, rnd, 60, 0);
	assert_int_equal(xorb_buf_append(&plain, rnd, 60), 0);
	el_literal(&el, rnd + 100, 200, 1);
	assert_int_equal(xorb_buf_append(&plain, rnd + 100, 200), 0);
	el_literal(&el, rnd + 300, 1000, 2);
	assert_int_equal(xorb_buf_append(&plain, rnd + 300, 1000), 0);
	el_literal(&el, rnd, 69000, 3);
	assert_int_equal(xorb_buf_append(&plain, rnd, 69000), 0);
	el_literal(&el, "xy", 2, 4);
	assert_int_equal(xorb_buf_append(&plain, "xy", 2), 0);

	/* copies with 1-, 2- and 4-byte offsets, overlapping and not */
	el_copy1(&el, 1, 11); /* run of 'y' */
	ref_copy(&plain, 1, 11);
	el_copy1(&el, 3, 7);
	ref_copy(&plain, 3, 7);
	el_copy1(&el, 2047, 9);
	ref_copy(&plain, 2047, 9);
	el_copy2(&el, 2, 64);
	ref_copy(&plain, 2, 64);
	el_copy2(&el, 9, 33);
	ref_copy(&plain, 9, 33);
	el_copy2(&el, 65535, 40);
	ref_copy(&plain, 65535, 40);
	el_copy4(&el, 70000, 64);
	ref_copy(&plain, 70000, 64);
	el_copy4(&el, 5, 17);
	ref_copy(&plain, 5, 17);

	/* repeats of the last offset (5) with every length code */
	for (i = 0; i <= 4; i++) {
		el_repeat(&el, (int)i, i + 4);
		ref_copy(&plain, 5, i + 4);
	}
	el_repeat(&el, 5, 8);
	ref_copy(&plain, 5, 8);
	el_repeat(&el, 5, 263);
	ref_copy(&plain, 5, 263);
	el_repeat(&el, 6, 260);
	ref_copy(&plain, 5, 260);
	el_repeat(&el, 6, 65795);
	ref_copy(&plain, 5, 65795);
	el_copy2(&el, 1000, 12); /* a new offset for the repeat to take */
	ref_copy(&plain, 1000, 12);
	el_repeat(&el, 7, 65540);
	ref_copy(&plain, 1000, 65540);
	el_repeat(&el, 7, 300000);
	ref_copy(&plain, 1000, 300000);
	el_literal(&el, "end", 3, 0);
	assert_int_equal(xorb_buf_append(&plain, "end", 3), 0);

	xorb_buf_init(&s);
	put_stream_id(&s);
	put_compressed(&s, el.data, el.len, plain.len, plain.data, plain.len);
	sha256_hex(plain.data, plain.len, hex_want);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		assert_int_equal(decode((uint8_t *)s.data, s.len, steps[i], &c, &err), XORB_OK);
		assert_int_equal(c.out.len, plain.len);
		sha256_hex(c.out.data, c.out.len, hex_got);
		assert_string_equal(hex_got, hex_want);
		assert_int_equal(c.calls, 1);
		xorb_buf_release(&c.out);
	}
	xorb_buf_release(&s);
	xorb_buf_release(&el);
	xorb_buf_release(&plain);
}

/* Copies at every small offset and length, overlapping or not, agree with
 * the byte-by-byte reference: the decoder moves them in 16- and 8-byte
 * steps, or in doubling steps near the end of the block. */
static void test_overlapping_copies(void **state)
{
	struct xorb_buf el, plain, s;
	struct collect c = { 0 };
	struct xorb_error err;
	size_t off, len;

	(void)state;
	xorb_buf_init(&el);
	xorb_buf_init(&plain);
	el_literal(&el, "0123456789abcdefghijklmnopqrstuv", 32, 0);
	assert_int_equal(xorb_buf_append(&plain, "0123456789abcdefghijklmnopqrstuv", 32), 0);
	for (off = 1; off <= 70; off++) {
		for (len = 1; len <= 64; len++) {
			el_copy2(&el, off, len);
			ref_copy(&plain, off, len);
			el_literal(&el, "#", 1, 0); /* vary the pattern */
			assert_int_equal(xorb_buf_append(&plain, "#", 1), 0);
		}
	}
	xorb_buf_init(&s);
	put_stream_id(&s);
	put_compressed(&s, el.data, el.len, plain.len, plain.data, plain.len);
	assert_int_equal(decode((uint8_t *)s.data, s.len, 0, &c, &err), XORB_OK);
	assert_int_equal(c.out.len, plain.len);
	assert_memory_equal(c.out.data, plain.data, plain.len);
	xorb_buf_release(&c.out);
	xorb_buf_release(&s);
	xorb_buf_release(&el);
	xorb_buf_release(&plain);
}

static void corrupt_block(const void *elems, size_t elen, uint64_t declared,
			  const char *msg)
{
	struct xorb_buf s;

	xorb_buf_init(&s);
	put_stream_id(&s);
	put_compressed(&s, elems, elen, declared, "", 0);
	expect_corrupt((uint8_t *)s.data, s.len, msg);
	xorb_buf_release(&s);
}

static void test_bad_offsets(void **state)
{
	struct xorb_buf el;

	(void)state;
	xorb_buf_init(&el);
	/* block at offset 10; checksum 14..17, length byte 18, elements 19.. */
	el_literal(&el, "abcd", 4, 0);
	el_copy2(&el, 0, 4);
	corrupt_block(el.data, el.len, 8, "s2: copy with offset 0 at input offset 24 (block at input offset 10)");
	xorb_buf_reset(&el);
	el_literal(&el, "abcd", 4, 0);
	el_copy4(&el, 0, 4);
	corrupt_block(el.data, el.len, 8, "s2: copy with offset 0 at input offset 24 ");
	xorb_buf_reset(&el);
	el_literal(&el, "abcd", 4, 0);
	el_copy1(&el, 5, 4);
	corrupt_block(el.data, el.len, 8, "s2: copy offset 5 beyond the 4 bytes decoded so far at input offset 24 (block at input offset 10)");
	xorb_buf_reset(&el);
	el_literal(&el, "abcd", 4, 0);
	el_copy4(&el, 0x80000000u, 4);
	corrupt_block(el.data, el.len, 8, "s2: copy offset 2147483648 beyond the 4 bytes");
	xorb_buf_reset(&el);
	el_copy2(&el, 1, 4);
	corrupt_block(el.data, el.len, 4, "s2: copy offset 1 beyond the 0 bytes decoded so far at input offset 19 ");
	/* a repeat needs an earlier copy in the same block */
	xorb_buf_reset(&el);
	el_literal(&el, "abcd", 4, 0);
	el_repeat(&el, 0, 4);
	corrupt_block(el.data, el.len, 8, "s2: repeat copy before any offset at input offset 24 (block at input offset 10)");
	/* the offset does not carry over from the previous block */
	{
		struct xorb_buf s, b1, b2;

		xorb_buf_init(&s);
		xorb_buf_init(&b1);
		xorb_buf_init(&b2);
		el_literal(&b1, "abcd", 4, 0);
		el_copy1(&b1, 4, 4);
		el_repeat(&b2, 0, 4);
		put_stream_id(&s);
		put_compressed(&s, b1.data, b1.len, 8, "abcdabcd", 8);
		put_compressed(&s, b2.data, b2.len, 4, "abcd", 4);
		expect_corrupt((uint8_t *)s.data, s.len, "s2: repeat copy before any offset at input offset 35 (block at input offset 26)");
		xorb_buf_release(&s);
		xorb_buf_release(&b1);
		xorb_buf_release(&b2);
	}
	xorb_buf_release(&el);
}

static void test_bad_lengths(void **state)
{
	static const uint8_t long_varint[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
	struct xorb_buf el, s;

	(void)state;
	xorb_buf_init(&el);
	/* decodes to fewer or more bytes than declared */
	el_literal(&el, "abcde", 5, 0);
	corrupt_block(el.data, el.len, 10, "s2: block at input offset 10 decodes to 5 bytes, not its declared 10");
	corrupt_block(el.data, el.len, 3, "s2: block at input offset 10 decodes to more than its declared 3 bytes (element at input offset 19)");
	xorb_buf_reset(&el);
	el_literal(&el, "abcd", 4, 0);
	el_copy2(&el, 4, 20);
	corrupt_block(el.data, el.len, 10, "s2: block at input offset 10 decodes to more than its declared 10 bytes (element at input offset 24)");
	/* elements cut short by the end of the block */
	xorb_buf_reset(&el);
	el_literal(&el, "abcde", 5, 0);
	el.len -= 2;
	corrupt_block(el.data, el.len, 5, "s2: element at input offset 19 runs past the end of the block at input offset 10");
	xorb_buf_reset(&el);
	el_literal(&el, "abcd", 4, 0);
	el_copy4(&el, 4, 4);
	el.len -= 1;
	corrupt_block(el.data, el.len, 8, "s2: element at input offset 24 runs past the end of the block");
	xorb_buf_reset(&el);
	el_literal(&el, "abcd", 4, 0);
	el_repeat(&el, 7, 70000);
	el.len -= 1;
	/* 70004 takes 3 uvarint bytes: elements from 21 */
	corrupt_block(el.data, el.len, 70004, "s2: element at input offset 26 runs past the end of the block");
	xorb_buf_reset(&el);
	el_literal(&el, "abcd", 4, 4);
	el.data[1] = (char)0xff; /* a 4-byte literal length of 4 GiB */
	el.data[2] = (char)0xff;
	el.data[3] = (char)0xff;
	el.data[4] = (char)0xff;
	corrupt_block(el.data, el.len, 4, "s2: element at input offset 19 runs past the end of the block");
	/* the declared length itself: too long a uvarint, or none */
	xorb_buf_init(&s);
	put_stream_id(&s);
	{
		uint8_t body[4 + sizeof(long_varint)] = { 0 };

		memcpy(body + 4, long_varint, sizeof(long_varint));
		put_frame(&s, 0x00, body, sizeof(body));
	}
	expect_corrupt((uint8_t *)s.data, s.len, "s2: bad decoded length in block at input offset 10");
	xorb_buf_release(&s);
	xorb_buf_release(&el);
}

static void test_oversize_blocks(void **state)
{
	struct collect c = { 0 };
	struct xorb_error err;
	struct xorb_buf el, s, plain;
	uint8_t hdr[4];
	uint8_t *big;
	size_t max = XORB_S2_MAX_BLOCK;

	(void)state;
	xorb_buf_init(&el);
	xorb_buf_init(&s);
	xorb_buf_init(&plain);
	/* declared decoded length one past 4 MiB */
	el_literal(&el, "a", 1, 0);
	corrupt_block(el.data, el.len, max + 1, "s2: block at input offset 10 declares 4194305 decoded bytes, more than the limit of 4194304");
	/* an uncompressed frame one past 4 MiB: refused from its header alone */
	put_stream_id(&s);
	hdr[0] = 0x01;
	hdr[1] = (uint8_t)(max + 5);
	hdr[2] = (uint8_t)((max + 5) >> 8);
	hdr[3] = (uint8_t)((max + 5) >> 16);
	assert_int_equal(xorb_buf_append(&s, hdr, 4), 0);
	expect_corrupt((uint8_t *)s.data, s.len, "s2: uncompressed block of 4194305 bytes at input offset 10 exceeds the block limit of 4194304");
	/* a compressed frame larger than any 4 MiB block can encode to */
	xorb_buf_reset(&s);
	put_stream_id(&s);
	hdr[0] = 0x00;
	hdr[1] = hdr[2] = hdr[3] = 0xff;
	assert_int_equal(xorb_buf_append(&s, hdr, 4), 0);
	expect_corrupt((uint8_t *)s.data, s.len, "s2: compressed block of 16777215 bytes at input offset 10 exceeds the limit of 4194316");
	/* sNaPpY streams keep Snappy's 64 KiB */
	big = calloc(1, max);
	assert_non_null(big);
	xorb_buf_reset(&s);
	put_frame(&s, 0xff, "sNaPpY", 6);
	put_uncompressed(&s, big, 65537);
	expect_corrupt((uint8_t *)s.data, s.len, "s2: uncompressed block of 65537 bytes at input offset 10 exceeds the block limit of 65536");
	xorb_buf_reset(&s);
	put_frame(&s, 0xff, "sNaPpY", 6);
	put_uncompressed(&s, big, 65536);
	assert_int_equal(decode((uint8_t *)s.data, s.len, 0, &c, &err), XORB_OK);
	assert_int_equal(c.out.len, 65536);
	xorb_buf_release(&c.out);

	/* exactly 4 MiB, stored and compressed, fed whole and in pieces that
	 * make the frame straddle feed calls */
	fill_random(big, max, 7);
	xorb_buf_reset(&s);
	put_stream_id(&s);
	put_uncompressed(&s, big, max);
	xorb_buf_reset(&el);
	el_literal(&el, big, 1000, 2);
	assert_int_equal(xorb_buf_append(&plain, big, 1000), 0);
	el_copy2(&el, 1000, 64);
	ref_copy(&plain, 1000, 64);
	el_repeat(&el, 7, max - 1064);
	ref_copy(&plain, 1000, max - 1064);
	put_compressed(&s, el.data, el.len, max, plain.data, plain.len);
	assert_int_equal(decode((uint8_t *)s.data, s.len, 0, &c, &err), XORB_OK);
	assert_int_equal(c.out.len, 2 * max);
	assert_memory_equal(c.out.data, big, max);
	assert_memory_equal(c.out.data + max, plain.data, max);
	xorb_buf_release(&c.out);
	assert_int_equal(decode((uint8_t *)s.data, s.len, 999983, &c, &err), XORB_OK);
	assert_int_equal(c.out.len, 2 * max);
	assert_memory_equal(c.out.data, big, max);
	assert_memory_equal(c.out.data + max, plain.data, max);
	xorb_buf_release(&c.out);
	free(big);
	xorb_buf_release(&s);
	xorb_buf_release(&el);
	xorb_buf_release(&plain);
}

/* Split a small stream into two feeds at every possible point. */
static void test_two_feeds_every_split(void **state)
{
	struct xorb_buf el, s, plain;
	struct collect c = { 0 };
	struct xorb_s2_dec *d;
	struct xorb_error err;
	size_t cut;

	(void)state;
	xorb_buf_init(&el);
	xorb_buf_init(&s);
	xorb_buf_init(&plain);
	el_literal(&el, "snapshot ", 9, 0);
	assert_int_equal(xorb_buf_append(&plain, "snapshot ", 9), 0);
	el_copy1(&el, 9, 9);
	ref_copy(&plain, 9, 9);
	el_repeat(&el, 5, 100);
	ref_copy(&plain, 9, 100);
	put_stream_id(&s);
	put_frame(&s, 0x88, "skip me", 7);
	put_compressed(&s, el.data, el.len, plain.len, plain.data, plain.len);
	put_uncompressed(&s, "tail", 4);
	assert_int_equal(xorb_buf_append(&plain, "tail", 4), 0);
	for (cut = 0; cut <= s.len; cut++) {
		xorb_buf_init(&c.out);
		assert_int_equal(xorb_s2_dec_new(&d, collect_sink, &c), XORB_OK);
		assert_int_equal(xorb_s2_dec_feed(d, s.data, cut, &err), XORB_OK);
		assert_int_equal(xorb_s2_dec_feed(d, s.data + cut, s.len - cut, &err), XORB_OK);
		assert_int_equal(xorb_s2_dec_finish(d, &err), XORB_OK);
		assert_int_equal(c.out.len, plain.len);
		assert_memory_equal(c.out.data, plain.data, plain.len);
		assert_int_equal(xorb_s2_dec_total_in(d), s.len);
		assert_int_equal(xorb_s2_dec_total_out(d), plain.len);
		xorb_s2_dec_free(d);
		xorb_buf_release(&c.out);
	}
	xorb_buf_release(&el);
	xorb_buf_release(&s);
	xorb_buf_release(&plain);
}

/* A sink's nonzero status stops decoding, is returned, and sticks; so does
 * a corrupt-input failure. Counters show how far it got. */
static void test_sink_abort_and_sticky_failure(void **state)
{
	struct collect c = { 0 };
	struct xorb_s2_dec *d;
	struct xorb_error err;
	struct xorb_buf s;
	char want[200];

	(void)state;
	xorb_buf_init(&s);
	put_stream_id(&s);
	put_uncompressed(&s, "first", 5);
	put_uncompressed(&s, "second", 6);
	c.stop_with = 42;
	c.limit = 5;
	xorb_buf_init(&c.out);
	assert_int_equal(xorb_s2_dec_new(&d, collect_sink, &c), XORB_OK);
	assert_int_equal(xorb_s2_dec_feed(d, s.data, s.len, &err), 42);
	assert_int_equal(err.code, 42);
	assert_string_equal(err.msg, "s2: output consumer stopped with status 42 after the block at input offset 23");
	assert_int_equal(c.out.len, 5);
	assert_int_equal(xorb_s2_dec_total_out(d), 5);
	assert_int_equal(xorb_s2_dec_total_in(d), s.len);
	xorb_error_clear(&err);
	assert_int_equal(xorb_s2_dec_feed(d, "x", 1, &err), 42);
	assert_int_equal(err.code, 42);
	assert_int_equal(xorb_s2_dec_finish(d, &err), 42);
	assert_int_equal(c.calls, 2);
	xorb_s2_dec_free(d);
	xorb_buf_release(&c.out);

	/* corrupt input: the same error again on every later call */
	c.stop_with = 0;
	xorb_buf_init(&c.out);
	s.data[s.len - 1] ^= 1;
	assert_int_equal(xorb_s2_dec_new(&d, collect_sink, &c), XORB_OK);
	assert_int_equal(xorb_s2_dec_feed(d, s.data, s.len, &err), XORB_ECORRUPT);
	snprintf(want, sizeof(want), "s2: crc mismatch in block at input offset 23 (stored 0x%08x, computed 0x%08x)",
		 masked("second", 6), masked("secone", 6));
	assert_string_equal(err.msg, want);
	xorb_error_clear(&err);
	assert_int_equal(xorb_s2_dec_feed(d, s.data, 10, &err), XORB_ECORRUPT);
	assert_non_null(strstr(err.msg, "crc mismatch in block at input offset 23"));
	xorb_error_clear(&err);
	assert_int_equal(xorb_s2_dec_finish(d, &err), XORB_ECORRUPT);
	assert_non_null(strstr(err.msg, "crc mismatch in block at input offset 23"));
	assert_int_equal(xorb_s2_dec_feed(d, s.data, 10, NULL), XORB_ECORRUPT);
	assert_int_equal(c.out.len, 5);
	xorb_s2_dec_free(d);
	xorb_buf_release(&c.out);
	xorb_s2_dec_free(NULL);
	xorb_buf_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc_vectors),
		cmocka_unit_test(test_crc_implementations_agree),
		cmocka_unit_test(test_real_snapshots),
		cmocka_unit_test(test_real_snapshots_split_everywhere),
		cmocka_unit_test(test_real_snapshot_any_flip_fails),
		cmocka_unit_test(test_crc_mismatch_message),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_stream_identifier),
		cmocka_unit_test(test_chunk_types),
		cmocka_unit_test(test_all_element_forms),
		cmocka_unit_test(test_overlapping_copies),
		cmocka_unit_test(test_bad_offsets),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_oversize_blocks),
		cmocka_unit_test(test_two_feeds_every_split),
		cmocka_unit_test(test_sink_abort_and_sticky_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

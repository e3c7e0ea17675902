/*
 * S2 framing decoder and CRC-32C: see xorb_s2.h.
 *
 * A frame is 1 type byte, a 24-bit little-endian body length and the body.
 * When a whole frame lies in the caller's buffer it is decoded from there in
 * one pass; only a frame that straddles feed calls is copied into the
 * decoder's frame buffer first. Uncompressed blocks go to the sink straight
 * from the frame, compressed ones through the block buffer. The block format
 * (Snappy's, plus S2's repeat-offset copies) is described in the snapshot
 * protocol notes; every length and offset is checked before it is used.
 */
#include "xorb_s2.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define S2_HAVE_SSE42 1
#include <nmmintrin.h>
#endif

#define CRC32C_POLY 0x82f63b78u /* reflected Castagnoli polynomial */

#define SNAPPY_MAX_BLOCK (64u << 10)
/* The largest compressed body S2 produces for a maximal block: the checksum,
 * the uvarint length (4 bytes for 4 MiB) and the block stored as one literal
 * (tag plus 3 length bytes). Larger frames are refused before buffering. */
#define S2_MAX_COMPRESSED_BODY (4u + 4u + 4u + XORB_S2_MAX_BLOCK)

enum {
	CHUNK_COMPRESSED = 0x00,
	CHUNK_UNCOMPRESSED = 0x01,
	CHUNK_SKIPPABLE_FIRST = 0x80,
	CHUNK_STREAM_ID = 0xff,
};

enum dec_state {
	ST_HEADER, /* collecting the 4-byte frame header */
	ST_BODY,   /* buffering a frame body that straddles feed calls */
	ST_SKIP,   /* skipping the body of a skippable frame */
};

struct xorb_s2_dec {
	xorb_s2_sink_fn sink;
	void *arg;
	uint64_t in;	   /* input bytes consumed */
	uint64_t out;	   /* bytes handed to the sink */
	uint64_t frame_at; /* input offset of the current frame's header */
	enum dec_state state;
	uint8_t hdr[4];
	unsigned hdr_have;
	uint8_t type;  /* current frame */
	uint32_t flen; /* its body length */
	uint32_t have; /* body bytes buffered or skipped so far */
	bool seen_id;
	bool snappy; /* sNaPpY identifier: 64 KiB blocks */
	uint8_t *frame;
	size_t frame_cap;
	uint8_t *block;
	size_t block_cap;
	int failed; /* status that stopped the decoder, replayed from fail */
	struct xorb_error fail;
};

/* ---- CRC-32C ---- */

static uint32_t crc_table[8][256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

static void crc_table_init(void)
{
	uint32_t c;
	unsigned n, k;

	for (n = 0; n < 256; n++) {
		c = n;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		crc_table[0][n] = c;
	}
	for (n = 0; n < 256; n++) {
		c = crc_table[0][n];
		for (k = 1; k < 8; k++) {
			c = crc_table[0][c & 0xff] ^ (c >> 8);
			crc_table[k][n] = c;
		}
	}
}

static inline uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

uint32_t xorb_crc32c_portable(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t lo, hi;

	pthread_once(&crc_table_once, crc_table_init);
	crc = ~crc;
	while (len && ((uintptr_t)p & 7)) {
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
		len--;
	}
	while (len >= 8) {
		lo = load_le32(p) ^ crc;
		hi = load_le32(p + 4);
		crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
		      crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
		      crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
		      crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

#ifdef S2_HAVE_SSE42
__attribute__((target("sse4.2"))) static uint32_t
crc32c_sse42(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = ~crc, w;

	while (len && ((uintptr_t)p & 7)) {
		c = _mm_crc32_u8((uint32_t)c, *p++);
		len--;
	}
	while (len >= 32) {
		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
		memcpy(&w, p + 8, 8);
		c = _mm_crc32_u64(c, w);
		memcpy(&w, p + 16, 8);
		c = _mm_crc32_u64(c, w);
		memcpy(&w, p + 24, 8);
		c = _mm_crc32_u64(c, w);
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		memcpy(&w, p, 8);
		c = _mm_crc32_u64(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = _mm_crc32_u8((uint32_t)c, *p++);
	return ~(uint32_t)c;
}
#endif

uint32_t xorb_crc32c(uint32_t crc, const void *data, size_t len)
{
#ifdef S2_HAVE_SSE42
	if (__builtin_cpu_supports("sse4.2"))
		return crc32c_sse42(crc, data, len);
#endif
	return xorb_crc32c_portable(crc, data, len);
}

/* The frame format stores CRCs rotated and offset ("masked"). */
static inline uint32_t crc_masked(const uint8_t *p, size_t len)
{
	uint32_t c = xorb_crc32c(0, p, len);

	return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

/* ---- Block decoding ---- */

enum blk_fault {
	BLK_TRUNCATED = 1, /* an element runs past the end of the block */
	BLK_OVERRUN,	   /* decodes to more than the declared length */
	BLK_SHORT,	   /* decodes to less than the declared length */
	BLK_OFFSET_ZERO,   /* copy with offset 0 outside the repeat form */
	BLK_OFFSET_FAR,	   /* copy offset beyond the output so far */
	BLK_NO_REPEAT,	   /* repeat before any copy set an offset */
};

struct blk_err {
	enum blk_fault fault;
	size_t at;	 /* offset of the bad element within the block */
	uint64_t offset; /* the copy offset, for the offset faults */
	size_t done;	 /* bytes decoded before the bad element */
};

static inline size_t load_le(const uint8_t *p, unsigned n)
{
	size_t v = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		v |= (size_t)p[i] << (8 * i);
	return v;
}

/*
 * Copies length bytes from offset bytes back, forwards, so that an offset
 * shorter than the length repeats the pattern. Each step doubles the
 * distance between source and destination, so no memcpy ever overlaps.
 */
static inline void copy_back(uint8_t *d, size_t offset, size_t length)
{
	const uint8_t *from = d - offset;
	size_t step;

	while (length > (size_t)(d - from)) {
		step = (size_t)(d - from);
		memcpy(d, from, step);
		d += step;
		length -= step;
	}
	memcpy(d, from, length);
}

/* Short literals and copies are moved in whole 16-byte steps when both
 * buffers have this much room left past the element's start. */
#define FAST_SLACK 64

/*
 * Decodes the elements src[0..slen) into exactly dlen bytes at dst. Returns
 * 0, or -1 with *e saying what is wrong and where.
 */
static int decode_block(uint8_t *dst, size_t dlen, const uint8_t *src,
			size_t slen, struct blk_err *e)
{
	const uint8_t *s = src, *const send = src + slen, *tag;
	uint8_t *d = dst, *const dend = dlen ? dst + dlen : dst; /* dst may be NULL when dlen is 0 */
	size_t length, offset, i, last = 0; /* last copy offset, 0 = none */
	unsigned c, n;

	while (s < send) {
		tag = s;
		c = *s;
		switch (c & 3) {
		case 0: /* literal */
			c >>= 2;
			if (c < 60) {
				s++;
				length = c + 1;
				if (send - s >= FAST_SLACK && dend - d >= FAST_SLACK) {
					memcpy(d, s, 16);
					if (length > 16) {
						memcpy(d + 16, s + 16, 16);
						memcpy(d + 32, s + 32, 16);
						memcpy(d + 48, s + 48, 16);
					}
					d += length;
					s += length;
					continue;
				}
			} else {
				n = c - 59;
				if ((size_t)(send - s) <= n)
					goto truncated;
				length = load_le(s + 1, n);
				s += 1 + n;
				if (length >= (size_t)(send - s))
					goto truncated;
				length++;
			}
			if (length > (size_t)(send - s))
				goto truncated;
			if (length > (size_t)(dend - d))
				goto overrun;
			memcpy(d, s, length);
			d += length;
			s += length;
			continue;
		case 1: /* copy, 3-bit length and 11-bit offset */
			if (send - s < 2)
				goto truncated;
			length = ((c >> 2) & 7) + 4;
			offset = (c & 0xe0) << 3 | s[1];
			s += 2;
			if (offset == 0) {
				/* S2 repeat: the previous offset again, lengths
				 * 5..7 announce 1..3 more length bytes */
				if (length >= 9) {
					n = (unsigned)length - 8;
					if ((size_t)(send - s) < n)
						goto truncated;
					length = load_le(s, n) + 4 +
						 (n == 1 ? 4 : n == 2 ? 256 : 65536);
					s += n;
				}
				if (!last) {
					e->fault = BLK_NO_REPEAT;
					goto fault;
				}
				offset = last;
			}
			break;
		case 2: /* copy, 6-bit length and 16-bit offset */
			if (send - s < 3)
				goto truncated;
			length = (c >> 2) + 1;
			offset = load_le(s + 1, 2);
			s += 3;
			break;
		default: /* copy, 6-bit length and 32-bit offset */
			if (send - s < 5)
				goto truncated;
			length = (c >> 2) + 1;
			offset = load_le(s + 1, 4);
			s += 5;
			break;
		}
		if (offset == 0) {
			e->fault = BLK_OFFSET_ZERO;
			goto fault;
		}
		if (offset > (size_t)(d - dst)) {
			e->fault = BLK_OFFSET_FAR;
			e->offset = offset;
			goto fault;
		}
		if (length > (size_t)(dend - d))
			goto overrun;
		last = offset;
		if (length <= FAST_SLACK && dend - d >= FAST_SLACK) {
			/* a step of n bytes with offset >= n reads only bytes
			 * already written; steps may run past length */
			const uint8_t *from = d - offset;

			/* index from below d: i - offset would wrap around */
			if (offset >= 16) {
				for (i = 0; i < length; i += 16)
					memcpy(d + i, from + i, 16);
			} else if (offset >= 8) {
				for (i = 0; i < length; i += 8)
					memcpy(d + i, from + i, 8);
			} else {
				for (i = 0; i < length; i++)
					d[i] = from[i];
			}
		} else if (offset >= length) {
			memcpy(d, d - offset, length);
		} else {
			copy_back(d, offset, length);
		}
		d += length;
	}
	if (d != dend) {
		e->fault = BLK_SHORT;
		e->at = slen;
		e->done = (size_t)(d - dst);
		return -1;
	}
	return 0;

truncated:
	e->fault = BLK_TRUNCATED;
	goto fault;
overrun:
	e->fault = BLK_OVERRUN;
fault:
	e->at = (size_t)(tag - src);
	e->done = (size_t)(d - dst);
	return -1;
}

/* ---- Framing ---- */

static int dec_corrupt(struct xorb_s2_dec *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int dec_corrupt(struct xorb_s2_dec *d, const char *fmt, ...)
{
	va_list ap;

	d->fail.code = XORB_ECORRUPT;
	va_start(ap, fmt);
	vsnprintf(d->fail.msg, sizeof(d->fail.msg), fmt, ap);
	va_end(ap);
	return XORB_ECORRUPT;
}

static uint32_t max_block(const struct xorb_s2_dec *d)
{
	return d->snappy ? SNAPPY_MAX_BLOCK : XORB_S2_MAX_BLOCK;
}

static int deliver(struct xorb_s2_dec *d, const uint8_t *p, size_t len)
{
	int rc;

	if (!len)
		return 0;
	rc = d->sink(d->arg, p, len);
	if (rc) {
		xorb_error_set(&d->fail, rc,
			       "s2: output consumer stopped with status %d after the block at input offset %" PRIu64,
			       rc, d->frame_at);
		return rc;
	}
	d->out += len;
	return 0;
}

/* Checks a frame header as soon as it is complete, so that nothing
 * oversized or unknown is ever buffered. */
static int frame_begin(struct xorb_s2_dec *d)
{
	uint32_t limit;

	d->type = d->hdr[0];
	d->flen = (uint32_t)d->hdr[1] | (uint32_t)d->hdr[2] << 8 |
		  (uint32_t)d->hdr[3] << 16;
	d->have = 0;
	d->frame_at = d->in - 4;
	if (!d->seen_id && d->type != CHUNK_STREAM_ID)
		return dec_corrupt(d, "s2: input does not start with a stream identifier (chunk type 0x%02x at input offset %" PRIu64 ")",
				   d->type, d->frame_at);
	switch (d->type) {
	case CHUNK_STREAM_ID:
		if (d->flen != 6)
			return dec_corrupt(d, "s2: stream identifier of %" PRIu32 " bytes at input offset %" PRIu64 ", want 6",
					   d->flen, d->frame_at);
		break;
	case CHUNK_COMPRESSED:
		if (d->flen < 5)
			return dec_corrupt(d, "s2: compressed block of %" PRIu32 " bytes is too short at input offset %" PRIu64,
					   d->flen, d->frame_at);
		if (d->flen > S2_MAX_COMPRESSED_BODY)
			return dec_corrupt(d, "s2: compressed block of %" PRIu32 " bytes at input offset %" PRIu64 " exceeds the limit of %u",
					   d->flen, d->frame_at, S2_MAX_COMPRESSED_BODY);
		break;
	case CHUNK_UNCOMPRESSED:
		limit = max_block(d);
		if (d->flen < 4)
			return dec_corrupt(d, "s2: uncompressed block of %" PRIu32 " bytes is too short at input offset %" PRIu64,
					   d->flen, d->frame_at);
		if (d->flen - 4 > limit)
			return dec_corrupt(d, "s2: uncompressed block of %" PRIu32 " bytes at input offset %" PRIu64 " exceeds the block limit of %" PRIu32,
					   d->flen - 4, d->frame_at, limit);
		break;
	default:
		if (d->type < CHUNK_SKIPPABLE_FIRST)
			return dec_corrupt(d, "s2: reserved chunk type 0x%02x at input offset %" PRIu64,
					   d->type, d->frame_at);
		d->state = d->flen ? ST_SKIP : ST_HEADER;
		return 0;
	}
	d->state = ST_BODY;
	return 0;
}

static int frame_stream_id(struct xorb_s2_dec *d, const uint8_t *body)
{
	char shown[7];
	int i;

	if (!memcmp(body, "S2sTwO", 6)) {
		d->snappy = false;
	} else if (!memcmp(body, "sNaPpY", 6)) {
		d->snappy = true;
	} else {
		for (i = 0; i < 6; i++)
			shown[i] = body[i] >= 0x20 && body[i] < 0x7f && body[i] != '"' ? (char)body[i] : '?';
		shown[6] = '\0';
		return dec_corrupt(d, "s2: unknown stream identifier \"%s\" at input offset %" PRIu64,
				   shown, d->frame_at);
	}
	d->seen_id = true;
	return 0;
}

static int check_crc(struct xorb_s2_dec *d, const uint8_t *body,
		     const uint8_t *data, size_t len)
{
	uint32_t want = load_le32(body), got = crc_masked(data, len);

	if (want != got)
		return dec_corrupt(d, "s2: crc mismatch in block at input offset %" PRIu64 " (stored 0x%08" PRIx32 ", computed 0x%08" PRIx32 ")",
				   d->frame_at, want, got);
	return 0;
}

static int grow(uint8_t **buf, size_t *cap, size_t need, size_t max)
{
	size_t n;
	uint8_t *p;

	if (need <= *cap)
		return 0;
	/* grow by doubling, capped at the most a frame can need */
	n = *cap ? *cap * 2 : 64u << 10;
	if (n < need)
		n = need;
	if (n > max)
		n = max;
	p = realloc(*buf, n);
	if (!p)
		return -1;
	*buf = p;
	*cap = n;
	return 0;
}

static int frame_compressed(struct xorb_s2_dec *d, const uint8_t *body)
{
	const uint8_t *src = body + 4;
	size_t slen = d->flen - 4, hlen = 0;
	uint64_t dlen = 0, at;
	struct blk_err e;
	int rc;

	/* uvarint decoded length, at most 5 bytes and 32 bits */
	for (;;) {
		if (hlen >= slen || hlen == 5)
			return dec_corrupt(d, "s2: bad decoded length in block at input offset %" PRIu64,
					   d->frame_at);
		dlen |= (uint64_t)(src[hlen] & 0x7f) << (7 * hlen);
		if (!(src[hlen++] & 0x80))
			break;
	}
	if (dlen > max_block(d))
		return dec_corrupt(d, "s2: block at input offset %" PRIu64 " declares %" PRIu64 " decoded bytes, more than the limit of %" PRIu32,
				   d->frame_at, dlen, max_block(d));
	if (grow(&d->block, &d->block_cap, (size_t)dlen, XORB_S2_MAX_BLOCK))
		return xorb_error_set(&d->fail, XORB_ENOMEM,
				      "s2: out of memory for a block of %" PRIu64 " bytes", dlen);
	if (decode_block(d->block, (size_t)dlen, src + hlen, slen - hlen, &e)) {
		at = d->frame_at + 8 + hlen + e.at;
		switch (e.fault) {
		case BLK_TRUNCATED:
			return dec_corrupt(d, "s2: element at input offset %" PRIu64 " runs past the end of the block at input offset %" PRIu64,
					   at, d->frame_at);
		case BLK_OVERRUN:
			return dec_corrupt(d, "s2: block at input offset %" PRIu64 " decodes to more than its declared %" PRIu64 " bytes (element at input offset %" PRIu64 ")",
					   d->frame_at, dlen, at);
		case BLK_SHORT:
			return dec_corrupt(d, "s2: block at input offset %" PRIu64 " decodes to %zu bytes, not its declared %" PRIu64,
					   d->frame_at, e.done, dlen);
		case BLK_OFFSET_ZERO:
			return dec_corrupt(d, "s2: copy with offset 0 at input offset %" PRIu64 " (block at input offset %" PRIu64 ")",
					   at, d->frame_at);
		case BLK_OFFSET_FAR:
			return dec_corrupt(d, "s2: copy offset %" PRIu64 " beyond the %zu bytes decoded so far at input offset %" PRIu64 " (block at input offset %" PRIu64 ")",
					   e.offset, e.done, at, d->frame_at);
		case BLK_NO_REPEAT:
			return dec_corrupt(d, "s2: repeat copy before any offset at input offset %" PRIu64 " (block at input offset %" PRIu64 ")",
					   at, d->frame_at);
		}
	}
	rc = check_crc(d, body, d->block, (size_t)dlen);
	if (rc)
		return rc;
	return deliver(d, d->block, (size_t)dlen);
}

/* Handles one complete frame body, wherever it lies in memory. */
static int frame_end(struct xorb_s2_dec *d, const uint8_t *body)
{
	int rc;

	d->state = ST_HEADER;
	switch (d->type) {
	case CHUNK_STREAM_ID:
		return frame_stream_id(d, body);
	case CHUNK_UNCOMPRESSED:
		rc = check_crc(d, body, body + 4, d->flen - 4);
		if (rc)
			return rc;
		return deliver(d, body + 4, d->flen - 4);
	default:
		return frame_compressed(d, body);
	}
}

static int dec_step(struct xorb_s2_dec *d, const uint8_t *p, size_t len,
		    size_t *used)
{
	size_t take;

	switch (d->state) {
	case ST_HEADER:
		if (d->hdr_have == 0 && len >= 4) {
			memcpy(d->hdr, p, 4);
			take = 4;
		} else {
			take = 4 - d->hdr_have < len ? 4 - d->hdr_have : len;
			memcpy(d->hdr + d->hdr_have, p, take);
			d->hdr_have += (unsigned)take;
			if (d->hdr_have < 4) {
				d->in += take;
				*used = take;
				return 0;
			}
		}
		d->hdr_have = 0;
		d->in += take;
		*used = take;
		if (frame_begin(d))
			return d->fail.code;
		if (d->state == ST_BODY && len - take >= d->flen) {
			/* the whole frame is here: decode it in place */
			d->in += d->flen;
			*used += d->flen;
			return frame_end(d, p + take);
		}
		return 0;
	case ST_SKIP:
		take = d->flen - d->have < len ? d->flen - d->have : len;
		d->have += (uint32_t)take;
		d->in += take;
		*used = take;
		if (d->have == d->flen)
			d->state = ST_HEADER;
		return 0;
	case ST_BODY:
		if (grow(&d->frame, &d->frame_cap, d->flen, S2_MAX_COMPRESSED_BODY))
			return xorb_error_set(&d->fail, XORB_ENOMEM,
					      "s2: out of memory for a frame of %" PRIu32 " bytes", d->flen);
		take = d->flen - d->have < len ? d->flen - d->have : len;
		memcpy(d->frame + d->have, p, take);
		d->have += (uint32_t)take;
		d->in += take;
		*used = take;
		if (d->have == d->flen)
			return frame_end(d, d->frame);
		return 0;
	}
	return 0;
}

static int dec_failed(struct xorb_s2_dec *d, int rc, struct xorb_error *err)
{
	d->failed = rc;
	if (d->fail.code != rc)
		xorb_error_set(&d->fail, rc, "s2: decoding failed with status %d", rc);
	if (err)
		*err = d->fail;
	return rc;
}

int xorb_s2_dec_new(struct xorb_s2_dec **out, xorb_s2_sink_fn sink, void *arg)
{
	struct xorb_s2_dec *d;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return XORB_ENOMEM;
	d->sink = sink;
	d->arg = arg;
	d->state = ST_HEADER;
	*out = d;
	return XORB_OK;
}

int xorb_s2_dec_feed(struct xorb_s2_dec *d, const void *data, size_t len,
		     struct xorb_error *err)
{
	const uint8_t *p = data;
	size_t used;
	int rc;

	if (d->failed)
		return dec_failed(d, d->failed, err);
	while (len) {
		used = 0;
		rc = dec_step(d, p, len, &used);
		if (rc)
			return dec_failed(d, rc, err);
		p += used;
		len -= used;
	}
	return XORB_OK;
}

int xorb_s2_dec_finish(struct xorb_s2_dec *d, struct xorb_error *err)
{
	if (d->failed)
		return dec_failed(d, d->failed, err);
	if (d->hdr_have)
		return dec_failed(d, dec_corrupt(d, "s2: input ends inside a frame header at input offset %" PRIu64,
						 d->in - d->hdr_have), err);
	if (d->state != ST_HEADER)
		return dec_failed(d, dec_corrupt(d, "s2: input ends inside the frame at input offset %" PRIu64 " (chunk type 0x%02x, %" PRIu32 " of %" PRIu32 " bytes)",
						 d->frame_at, d->type, d->have, d->flen), err);
	if (!d->seen_id)
		return dec_failed(d, dec_corrupt(d, "s2: input holds no stream identifier (%" PRIu64 " bytes)",
						 d->in), err);
	return XORB_OK;
}

uint64_t xorb_s2_dec_total_in(const struct xorb_s2_dec *d)
{
	return d->in;
}

uint64_t xorb_s2_dec_total_out(const struct xorb_s2_dec *d)
{
	return d->out;
}

void xorb_s2_dec_free(struct xorb_s2_dec *d)
{
	if (!d)
		return;
	free(d->frame);
	free(d->block);
	free(d);
}

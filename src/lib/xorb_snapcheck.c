/*
 * Snapshot checker: see xorb_snapcheck.h.
 *
 * The S2 decoder hands decoded blocks to snap_sink, which holds back the
 * leading bytes while they match "NATSARC1" and then passes everything to
 * one of two followers (on a mismatch, the held-back bytes first):
 *
 * The tar follower, a state machine that collects each 512-byte header
 * (however the blocks split it), checks it, and then skips the entry's
 * data, or collects it when it is a PAX header, a GNU long name, or the
 * server's errors.txt.
 *
 * The v2 follower, a state machine that reads each entry header's five
 * varints a byte at a time, collects the name, checks the entry against
 * the order the server writes (state.json, consumers, messages, sentinel),
 * and then skips the entry's data, or collects it for state.json.
 *
 * Only names and those small headers are kept; entry data is never stored.
 */
#include "xorb_snapcheck.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xorb_buf.h"
#include "xorb_json.h"
#include "xorb_s2.h"

#define TAR_BLOCK 512u

enum tar_state {
	T_HEADER, /* collecting a header block */
	T_SKIP,	  /* skipping entry data and padding */
	T_META,	  /* collecting a PAX header's or GNU long name's data */
	T_ERRTXT, /* collecting the start of errors.txt */
	T_END,	  /* past the end-of-archive marker: only zeros may follow */
};

/* v2 (nats-server's server/archive/archive.go, server/stream_backup.go) */
#define V2_MAGIC "NATSARC1"
#define V2_MAGIC_LEN 8u
#define V2_FIELDS 5

enum v2_state {
	V_HEAD, /* reading the header's varints */
	V_NAME, /* collecting the entry's name */
	V_DATA, /* passing the entry's data (collecting it for state.json) */
	V_END,	/* past the end sentinel: only zeros may follow */
};

/* What may come next, in the order the server writes and its restore reads. */
enum v2_phase {
	P_STATE,     /* state.json */
	P_CONSUMERS, /* consumer_count consumers/<name> entries */
	P_MESSAGES,  /* messages, then the sentinel */
};

enum v2_kind { K_STATE, K_CONSUMER, K_MESSAGE };

/* The header's fields, in wire order: uvarint, zig-zag varint, 3 uvarints. */
enum { F_NAMELEN, F_TS, F_SEQ, F_HDR, F_PAYLOAD };
static const char *const v2_field_name[V2_FIELDS] = {
	"name length", "timestamp", "sequence", "header size", "payload size",
};

struct xorb_snapcheck {
	struct xorb_s2_dec *dec;
	enum tar_state state;
	uint64_t pos;	 /* decoded bytes consumed so far */
	uint64_t hdr_at; /* decoded offset of the current header */
	uint8_t hdr[TAR_BLOCK];
	size_t hdr_have;
	uint64_t data_left; /* T_META, T_ERRTXT: data bytes still to come */
	uint64_t skip_left; /* T_SKIP: bytes still to skip */
	uint64_t data_end;  /* decoded offset where the entry's data ends */
	uint32_t pad;	    /* padding after the current entry's data */
	char meta_type;	    /* 'x', 'g' or 'L' while in T_META */
	struct xorb_buf meta;
	bool in_entry;	    /* the current header is an entry, not a PAX one */
	bool pending;	    /* a PAX or long-name header awaits its entry */
	bool have_next_path;
	struct xorb_buf next_path;
	bool have_next_size;
	uint64_t next_size;
	struct xorb_buf name; /* the current entry's name */
	struct xorb_buf errtxt;
	unsigned zero_blocks;
	size_t entries;
	bool seen_meta_inf;
	char **consumers;
	size_t nconsumers;
	size_t cap_consumers;
	int failed; /* status that stopped the check, replayed from err */
	struct xorb_error err;

	int format;	   /* XORB_SNAPCHECK_FORMAT_* */
	size_t magic_have; /* FORMAT_UNKNOWN: leading bytes that match the magic */
	enum v2_state vstate;
	enum v2_phase phase;
	enum v2_kind kind;   /* V_DATA: what the current entry is */
	unsigned vfield;     /* V_HEAD: the field being read */
	unsigned vbytes;     /* V_HEAD: its bytes so far */
	uint64_t vacc;	     /* V_HEAD: its value so far */
	uint64_t vf[V2_FIELDS]; /* the current entry's header (F_TS as on the wire) */
	uint64_t data_len;   /* the current entry's data: header + payload size */
	uint8_t json_first;  /* a consumer entry's first and last data byte */
	uint8_t json_last;
	uint64_t consumers_due; /* state.json's consumer_count */
	uint64_t first_seq;	/* state.json's first_seq */
	uint64_t messages;
	uint64_t seq_first;
	uint64_t seq_last;
};

static int check_fail(struct xorb_snapcheck *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int check_fail(struct xorb_snapcheck *c, int code, const char *fmt, ...)
{
	va_list ap;

	c->err.code = code;
	va_start(ap, fmt);
	vsnprintf(c->err.msg, sizeof(c->err.msg), fmt, ap);
	va_end(ap);
	return code;
}

static int server_error(struct xorb_snapcheck *c);

/* A name made printable and short enough to quote in a message. */
static const char *shown_name(const char *s, size_t len, char *out, size_t size)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 4 < size; i++) {
		unsigned char ch = (unsigned char)s[i];

		out[n++] = ch < 0x20 || ch == 0x7f || ch == '"' ? '?' : (char)ch;
	}
	if (i < len)
		out[n++] = '.', out[n++] = '.', out[n++] = '.';
	out[n] = '\0';
	return out;
}

static const char *entry_name(struct xorb_snapcheck *c, char *out, size_t size)
{
	return shown_name(c->name.data ? c->name.data : "", c->name.len, out, size);
}

/*
 * Parses a tar numeric field: octal digits, optionally space-padded and
 * NUL- or space-terminated, or GNU base-256 when the top bit of the first
 * byte is set. Returns 0, or -1 for anything else or a value past 2^63.
 */
static int tar_number(const uint8_t *f, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		if (f[0] & 0x40) /* negative */
			return -1;
		v = f[0] & 0x3f;
		for (i = 1; i < n; i++) {
			if (v >> 55)
				return -1;
			v = v << 8 | f[i];
		}
		*out = v;
		return 0;
	}
	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	for (; i < n; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return -1;
	*out = v;
	return 0;
}

static bool header_is_zero(const uint8_t *h)
{
	size_t i;

	for (i = 0; i < TAR_BLOCK; i++)
		if (h[i])
			return false;
	return true;
}

/* Accepts the unsigned sum of POSIX and the signed one of old tars. */
static bool header_sum_ok(const uint8_t *h)
{
	uint64_t want;
	unsigned long usum = 0;
	long ssum = 0;
	size_t i;

	if (tar_number(h + 148, 8, &want))
		return false;
	for (i = 0; i < TAR_BLOCK; i++) {
		uint8_t b = i >= 148 && i < 156 ? ' ' : h[i];

		usum += b;
		ssum += (signed char)b;
	}
	return want == usum || (ssum >= 0 && want == (uint64_t)ssum);
}

static int set_name(struct xorb_buf *b, const char *s, size_t len)
{
	xorb_buf_reset(b);
	return xorb_buf_append(b, s, len) ? XORB_ENOMEM : XORB_OK;
}

static int add_consumer(struct xorb_snapcheck *c, const char *s, size_t len)
{
	char **v, *name;
	size_t cap;

	if (c->nconsumers >= XORB_SNAPCHECK_MAX_CONSUMERS)
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot lists more than %u consumers", XORB_SNAPCHECK_MAX_CONSUMERS);
	if (c->nconsumers == c->cap_consumers) {
		cap = c->cap_consumers ? c->cap_consumers * 2 : 16;
		v = realloc(c->consumers, cap * sizeof(*v));
		if (!v)
			return check_fail(c, XORB_ENOMEM, "snapshot check: out of memory");
		c->consumers = v;
		c->cap_consumers = cap;
	}
	name = strndup(s, len);
	if (!name)
		return check_fail(c, XORB_ENOMEM, "snapshot check: out of memory");
	c->consumers[c->nconsumers++] = name;
	return XORB_OK;
}

/* Notes what a complete entry name means for the snapshot. */
static int classify_entry(struct xorb_snapcheck *c, uint64_t size)
{
	const char *n = c->name.data, *slash;
	size_t len = c->name.len;

	while (len >= 2 && n[0] == '.' && n[1] == '/')
		n += 2, len -= 2;
	if (len == 10 && !memcmp(n, "errors.txt", 10)) {
		xorb_buf_reset(&c->errtxt);
		if (!size)
			return server_error(c);
		c->state = T_ERRTXT;
		c->data_left = size;
		return XORB_OK;
	}
	if (len == 8 && !memcmp(n, "meta.inf", 8)) {
		c->seen_meta_inf = true;
	} else if (len > 13 && !memcmp(n, "obs/", 4) &&
		   !memcmp(n + len - 9, "/meta.inf", 9)) {
		slash = memchr(n + 4, '/', len - 13);
		if (!slash)
			return add_consumer(c, n + 4, len - 13);
	}
	return XORB_OK;
}

static int name_too_long(struct xorb_snapcheck *c, uint64_t len)
{
	return check_fail(c, XORB_ECORRUPT,
			  "snapshot tar: entry name of %" PRIu64 " bytes at decoded offset %" PRIu64 " exceeds the limit of %u",
			  len, c->hdr_at, XORB_SNAPCHECK_MAX_NAME);
}

/* Moves on past the data of the current header: skip it, or its padding. */
static void skip_rest(struct xorb_snapcheck *c, uint64_t n)
{
	c->skip_left = n;
	c->state = n ? T_SKIP : T_HEADER;
}

static int tar_header(struct xorb_snapcheck *c)
{
	const uint8_t *h = c->hdr;
	char type = (char)h[156], shown[128];
	uint64_t size, limit;
	size_t nlen, plen;
	int rc;

	if (header_is_zero(h)) {
		if (++c->zero_blocks == 2)
			c->state = T_END;
		return XORB_OK;
	}
	if (c->zero_blocks)
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot tar: a header follows a lone zero block at decoded offset %" PRIu64,
				  c->hdr_at);
	if (!header_sum_ok(h))
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot tar: bad header checksum at decoded offset %" PRIu64,
				  c->hdr_at);
	if (tar_number(h + 124, 12, &size))
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot tar: bad size field in the header at decoded offset %" PRIu64,
				  c->hdr_at);

	if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
		limit = type == 'x' || type == 'g' ? XORB_SNAPCHECK_MAX_PAX
						   : XORB_SNAPCHECK_MAX_NAME + 1;
		if (size > limit)
			return check_fail(c, XORB_ECORRUPT,
					  "snapshot tar: '%c' header of %" PRIu64 " bytes at decoded offset %" PRIu64 " exceeds the limit of %" PRIu64,
					  type, size, c->hdr_at, limit);
		c->pad = (uint32_t)(-size & (TAR_BLOCK - 1));
		c->data_end = c->pos + size;
		c->in_entry = false;
		c->meta_type = type;
		if (type != 'g')
			c->pending = true;
		if (type == 'K') { /* link targets do not matter here */
			skip_rest(c, size + c->pad);
			return XORB_OK;
		}
		xorb_buf_reset(&c->meta);
		c->data_left = size;
		if (size) {
			c->state = T_META;
			return XORB_OK;
		}
		skip_rest(c, 0);
		return XORB_OK;
	}

	/* an entry: name from PAX, GNU long name, or ustar prefix + name */
	if (c->have_next_path) {
		rc = set_name(&c->name, c->next_path.data, c->next_path.len);
	} else {
		nlen = strnlen((const char *)h, 100);
		plen = 0;
		if (!memcmp(h + 257, "ustar", 6))
			plen = strnlen((const char *)h + 345, 155);
		xorb_buf_reset(&c->name);
		rc = XORB_OK;
		if (plen && (xorb_buf_append(&c->name, h + 345, plen) ||
			     xorb_buf_append(&c->name, "/", 1)))
			rc = XORB_ENOMEM;
		if (!rc && xorb_buf_append(&c->name, h, nlen))
			rc = XORB_ENOMEM;
	}
	if (rc)
		return check_fail(c, rc, "snapshot check: out of memory");
	if (c->have_next_size)
		size = c->next_size;
	c->have_next_path = false;
	c->have_next_size = false;
	c->pending = false;
	if (c->entries == SIZE_MAX)
		return check_fail(c, XORB_ECORRUPT, "snapshot tar: too many entries");
	c->entries++;
	/* as in POSIX and Go's archive/tar, these types carry no data */
	if (type == '1' || type == '2' || type == '3' || type == '4' ||
	    type == '5' || type == '6')
		size = 0;
	if (size > (UINT64_MAX >> 2))
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot tar: entry \"%s\" at decoded offset %" PRIu64 " has an impossible size",
				  entry_name(c, shown, sizeof(shown)), c->hdr_at);
	c->pad = (uint32_t)(-size & (TAR_BLOCK - 1));
	c->data_end = c->pos + size;
	c->in_entry = true;
	skip_rest(c, size + c->pad);
	return classify_entry(c, size);
}

static int pax_bad(struct xorb_snapcheck *c, const char *why)
{
	return check_fail(c, XORB_ECORRUPT,
			  "snapshot tar: bad PAX header at decoded offset %" PRIu64 ": %s",
			  c->hdr_at, why);
}

/* Parses "<len> <key>=<value>\n" records; keeps path and size of an 'x'
 * header for the next entry, checks the records of a 'g' header only. */
static int pax_parse(struct xorb_snapcheck *c, bool global)
{
	const char *p = c->meta.data, *r, *key, *eq, *val;
	size_t n = c->meta.len, off = 0, left, i, klen, vlen;
	uint64_t rl, v;

	while (off < n) {
		r = p + off;
		left = n - off;
		rl = 0;
		for (i = 0; i < left && r[i] >= '0' && r[i] <= '9'; i++) {
			rl = rl * 10 + (uint64_t)(r[i] - '0');
			if (rl > left)
				return pax_bad(c, "record longer than the header");
		}
		if (i == 0 || i >= left || r[i] != ' ')
			return pax_bad(c, "record without a length");
		if (rl < i + 4 || r[rl - 1] != '\n')
			return pax_bad(c, "record length does not match its text");
		key = r + i + 1;
		eq = memchr(key, '=', (size_t)rl - 1 - (i + 1));
		if (!eq || eq == key)
			return pax_bad(c, "record without a key");
		klen = (size_t)(eq - key);
		val = eq + 1;
		vlen = (size_t)(r + rl - 1 - val);
		off += (size_t)rl;
		if (global)
			continue;
		if (klen == 4 && !memcmp(key, "path", 4)) {
			if (vlen > XORB_SNAPCHECK_MAX_NAME)
				return name_too_long(c, vlen);
			if (memchr(val, '\0', vlen))
				return pax_bad(c, "path holds a NUL byte");
			if (set_name(&c->next_path, val, vlen))
				return check_fail(c, XORB_ENOMEM, "snapshot check: out of memory");
			c->have_next_path = vlen > 0;
		} else if (klen == 4 && !memcmp(key, "size", 4)) {
			v = 0;
			if (!vlen || vlen > 19)
				return pax_bad(c, "bad size");
			for (i = 0; i < vlen; i++) {
				if (val[i] < '0' || val[i] > '9')
					return pax_bad(c, "bad size");
				v = v * 10 + (uint64_t)(val[i] - '0');
			}
			c->next_size = v;
			c->have_next_size = true;
		}
	}
	return XORB_OK;
}

static int meta_end(struct xorb_snapcheck *c)
{
	size_t len;

	skip_rest(c, c->pad);
	if (c->meta_type == 'x' || c->meta_type == 'g')
		return pax_parse(c, c->meta_type == 'g');
	/* 'L': the next entry's name, NUL-terminated */
	len = strnlen(c->meta.data, c->meta.len);
	if (len > XORB_SNAPCHECK_MAX_NAME)
		return name_too_long(c, len);
	if (set_name(&c->next_path, c->meta.data, len))
		return check_fail(c, XORB_ENOMEM, "snapshot check: out of memory");
	c->have_next_path = len > 0;
	return XORB_OK;
}

/* errors.txt: the server's own failure, quoted on one printable line. */
static int server_error(struct xorb_snapcheck *c)
{
	char text[XORB_SNAPCHECK_ERRTXT_QUOTE + 1];
	size_t i, n = c->errtxt.len;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)c->errtxt.data[i];

		text[i] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	while (n && text[n - 1] == ' ')
		n--;
	text[n] = '\0';
	return check_fail(c, XORB_ECORRUPT,
			  "the server reported an error inside the snapshot: %s",
			  n ? text : "(errors.txt is empty)");
}

/* Past the end of the snapshot only zero bytes may follow (both formats):
 * consumes len of them, or fails naming what and the offset. */
static int zeros_only(struct xorb_snapcheck *c, const uint8_t *p, size_t len, const char *what)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return check_fail(c, XORB_ECORRUPT, "%s at decoded offset %" PRIu64, what, c->pos + i);
	c->pos += len;
	return XORB_OK;
}

static int tar_sink(void *arg, const uint8_t *p, size_t len)
{
	struct xorb_snapcheck *c = arg;
	size_t take, keep;
	int rc;

	while (len) {
		take = len;
		switch (c->state) {
		case T_HEADER:
			if (!c->hdr_have)
				c->hdr_at = c->pos;
			take = TAR_BLOCK - c->hdr_have < len ? TAR_BLOCK - c->hdr_have : len;
			memcpy(c->hdr + c->hdr_have, p, take);
			c->hdr_have += take;
			c->pos += take;
			if (c->hdr_have == TAR_BLOCK) {
				c->hdr_have = 0;
				rc = tar_header(c);
				if (rc)
					return rc;
			}
			break;
		case T_SKIP:
			take = c->skip_left < len ? (size_t)c->skip_left : len;
			c->skip_left -= take;
			c->pos += take;
			if (!c->skip_left)
				c->state = T_HEADER;
			break;
		case T_META:
			take = c->data_left < len ? (size_t)c->data_left : len;
			if (xorb_buf_append(&c->meta, p, take))
				return check_fail(c, XORB_ENOMEM, "snapshot check: out of memory");
			c->data_left -= take;
			c->pos += take;
			if (!c->data_left) {
				rc = meta_end(c);
				if (rc)
					return rc;
			}
			break;
		case T_ERRTXT:
			take = c->data_left < len ? (size_t)c->data_left : len;
			keep = XORB_SNAPCHECK_ERRTXT_QUOTE - c->errtxt.len;
			if (keep > take)
				keep = take;
			if (xorb_buf_append(&c->errtxt, p, keep))
				return check_fail(c, XORB_ENOMEM, "snapshot check: out of memory");
			c->data_left -= take;
			c->pos += take;
			if (!c->data_left || c->errtxt.len == XORB_SNAPCHECK_ERRTXT_QUOTE)
				return server_error(c);
			break;
		case T_END:
			rc = zeros_only(c, p, len, "snapshot tar: data after the end-of-archive marker");
			if (rc)
				return rc;
			break;
		}
		p += take;
		len -= take;
	}
	return XORB_OK;
}

/* ---- v2: "NATSARC1" ---- */

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v';
}

/* A top-level member of state.json as an exact unsigned integer; 0 or -1. */
static int state_uint(const struct xorb_buf *b, const char *key, uint64_t *out)
{
	const char *v;
	size_t vlen, i;
	uint64_t x = 0;

	if (xorb_json_member_span(b->data, b->len, key, &v, &vlen) != XORB_OK || !vlen)
		return -1;
	for (i = 0; i < vlen; i++) {
		if (v[i] < '0' || v[i] > '9' || x > (UINT64_MAX - (uint64_t)(v[i] - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return 0;
}

/* state.json is complete: it must be a JSON object with consumer_count
 * (how many consumer entries follow) and first_seq (no message before it). */
static int v2_state_json(struct xorb_snapcheck *c)
{
	struct xorb_error e;
	cJSON *j = NULL;
	uint64_t n;
	bool obj;
	int rc;

	xorb_error_clear(&e);
	rc = xorb_json_parse(c->meta.data ? c->meta.data : "", c->meta.len, "state.json", &j, &e);
	if (rc)
		return check_fail(c, XORB_ECORRUPT, "snapshot v2: %s (entry at decoded offset %" PRIu64 ")",
				  e.msg, c->hdr_at);
	obj = cJSON_IsObject(j);
	cJSON_Delete(j);
	if (!obj)
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: state.json at decoded offset %" PRIu64 " is not a JSON object",
				  c->hdr_at);
	if (state_uint(&c->meta, "consumer_count", &n))
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: state.json at decoded offset %" PRIu64 " has no unsigned integer \"consumer_count\"",
				  c->hdr_at);
	if (n > XORB_SNAPCHECK_MAX_CONSUMERS)
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: state.json at decoded offset %" PRIu64 " announces %" PRIu64 " consumers, more than the limit of %u",
				  c->hdr_at, n, XORB_SNAPCHECK_MAX_CONSUMERS);
	if (state_uint(&c->meta, "first_seq", &c->first_seq))
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: state.json at decoded offset %" PRIu64 " has no unsigned integer \"first_seq\"",
				  c->hdr_at);
	c->consumers_due = n;
	c->phase = n ? P_CONSUMERS : P_MESSAGES;
	xorb_buf_release(&c->meta); /* up to 1 MiB, needed no more */
	xorb_buf_init(&c->meta);
	return XORB_OK;
}

/* The current entry's data has all passed. */
static int v2_data_end(struct xorb_snapcheck *c)
{
	char shown[128];

	c->vstate = V_HEAD;
	if (c->kind == K_STATE)
		return v2_state_json(c);
	/* json.Marshal of a struct: nothing but an object */
	if (c->kind == K_CONSUMER && (c->json_first != '{' || c->json_last != '}'))
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: consumer entry \"%s\" at decoded offset %" PRIu64 " does not hold a JSON object",
				  entry_name(c, shown, sizeof(shown)), c->hdr_at);
	return XORB_OK;
}

static int v2_consumer(struct xorb_snapcheck *c, const char *name, size_t len, uint64_t size)
{
	char shown[128];
	size_t i;

	for (i = 0; i < len; i++)
		if (name[i] == '/' || name[i] == '\0' || is_blank(name[i]))
			break;
	if (!len || i < len)
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: consumer entry \"%s\" at decoded offset %" PRIu64 " has an invalid consumer name",
				  entry_name(c, shown, sizeof(shown)), c->hdr_at);
	if (!size)
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: consumer entry \"%s\" at decoded offset %" PRIu64 " is empty",
				  entry_name(c, shown, sizeof(shown)), c->hdr_at);
	return add_consumer(c, name, len);
}

static int v2_message(struct xorb_snapcheck *c, uint64_t seq)
{
	char shown[128];
	size_t i;

	for (i = 0; i < c->name.len; i++)
		if (c->name.data[i] == '\0' || is_blank(c->name.data[i]))
			return check_fail(c, XORB_ECORRUPT,
					  "snapshot v2: message sequence %" PRIu64 " at decoded offset %" PRIu64 " has an invalid subject \"%s\"",
					  seq, c->hdr_at, entry_name(c, shown, sizeof(shown)));
	/* the restore starts at first_seq - 1 and wants every sequence above
	 * the last one; first_seq 0 is a stream that never held a message */
	if (!c->first_seq)
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: message sequence %" PRIu64 " at decoded offset %" PRIu64 " in a stream that state.json says never held one (first_seq 0)",
				  seq, c->hdr_at);
	if (seq < c->first_seq)
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: message sequence %" PRIu64 " at decoded offset %" PRIu64 " precedes the stream's first_seq %" PRIu64 " in state.json",
				  seq, c->hdr_at, c->first_seq);
	if (c->messages && seq <= c->seq_last)
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: message sequence %" PRIu64 " at decoded offset %" PRIu64 " follows sequence %" PRIu64 ": out of order",
				  seq, c->hdr_at, c->seq_last);
	if (!c->messages)
		c->seq_first = seq;
	c->seq_last = seq;
	c->messages++;
	return XORB_OK;
}

/* The current entry's name is complete: what it is, and is it due here. */
static int v2_entry(struct xorb_snapcheck *c)
{
	const char *n = c->name.data;
	size_t len = c->name.len;
	uint64_t seq = c->vf[F_SEQ], size = c->vf[F_HDR] + c->vf[F_PAYLOAD];
	bool is_state = len == 10 && !memcmp(n, "state.json", 10);
	bool is_consumer = len >= 10 && !memcmp(n, "consumers/", 10);
	char shown[128];
	int rc = XORB_OK;

	switch (c->phase) {
	case P_STATE:
		if (!is_state)
			return check_fail(c, XORB_ECORRUPT,
					  "snapshot v2: the first entry, \"%s\" at decoded offset %" PRIu64 ", is not state.json",
					  entry_name(c, shown, sizeof(shown)), c->hdr_at);
		if (seq)
			return check_fail(c, XORB_ECORRUPT,
					  "snapshot v2: state.json at decoded offset %" PRIu64 " has sequence %" PRIu64 " (only messages have one)",
					  c->hdr_at, seq);
		if (size > XORB_SNAPCHECK_MAX_STATE_JSON)
			return check_fail(c, XORB_ECORRUPT,
					  "snapshot v2: state.json of %" PRIu64 " bytes at decoded offset %" PRIu64 " exceeds the limit of %u",
					  size, c->hdr_at, XORB_SNAPCHECK_MAX_STATE_JSON);
		c->kind = K_STATE;
		xorb_buf_reset(&c->meta);
		break;
	case P_CONSUMERS:
		if (seq || !is_consumer)
			return check_fail(c, XORB_ECORRUPT,
					  "snapshot v2: entry \"%s\" at decoded offset %" PRIu64 " where consumer %zu of the %" PRIu64 " that state.json announces was due",
					  entry_name(c, shown, sizeof(shown)), c->hdr_at, c->nconsumers + 1,
					  c->consumers_due);
		rc = v2_consumer(c, n + 10, len - 10, size);
		c->kind = K_CONSUMER;
		if (c->nconsumers == c->consumers_due)
			c->phase = P_MESSAGES;
		break;
	case P_MESSAGES:
		if (!seq && is_state)
			return check_fail(c, XORB_ECORRUPT,
					  "snapshot v2: a second state.json at decoded offset %" PRIu64, c->hdr_at);
		if (!seq && is_consumer)
			return check_fail(c, XORB_ECORRUPT,
					  "snapshot v2: consumer entry \"%s\" at decoded offset %" PRIu64 " is one more than the %" PRIu64 " that state.json announces",
					  entry_name(c, shown, sizeof(shown)), c->hdr_at, c->consumers_due);
		if (!seq)
			return check_fail(c, XORB_ECORRUPT,
					  "snapshot v2: entry \"%s\" at decoded offset %" PRIu64 " has sequence 0 but is not the end sentinel",
					  entry_name(c, shown, sizeof(shown)), c->hdr_at);
		rc = v2_message(c, seq);
		c->kind = K_MESSAGE;
		break;
	}
	if (rc)
		return rc;
	if (c->entries == SIZE_MAX)
		return check_fail(c, XORB_ECORRUPT, "snapshot v2: too many entries");
	c->entries++;
	c->data_len = c->data_left = size;
	c->data_end = c->pos + size;
	c->vstate = V_DATA;
	return size ? XORB_OK : v2_data_end(c);
}

/* All five header fields are in: the sentinel, or the sizes of an entry. */
static int v2_header(struct xorb_snapcheck *c)
{
	uint64_t nlen = c->vf[F_NAMELEN], seq = c->vf[F_SEQ];
	uint64_t hs = c->vf[F_HDR], ps = c->vf[F_PAYLOAD];

	if (!nlen && !c->vf[F_TS] && !seq && !hs && !ps) {
		if (c->phase == P_STATE)
			return check_fail(c, XORB_ECORRUPT,
					  "snapshot v2: the end sentinel at decoded offset %" PRIu64 " comes before state.json",
					  c->hdr_at);
		if (c->phase == P_CONSUMERS)
			return check_fail(c, XORB_ECORRUPT,
					  "snapshot v2: the end sentinel at decoded offset %" PRIu64 " comes after %zu of the %" PRIu64 " consumers that state.json announces",
					  c->hdr_at, c->nconsumers, c->consumers_due);
		c->vstate = V_END;
		return XORB_OK;
	}
	/* the server reads both sizes as int64 and refuses negative ones */
	if (hs > INT64_MAX || ps > INT64_MAX - hs)
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: the entry at decoded offset %" PRIu64 " declares an impossible size (header %" PRIu64 ", payload %" PRIu64 " bytes)",
				  c->hdr_at, hs, ps);
	if (!nlen)
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: the entry at decoded offset %" PRIu64 " has no name (sequence %" PRIu64 ", %" PRIu64 " data bytes)",
				  c->hdr_at, seq, hs + ps);
	if (nlen > XORB_SNAPCHECK_MAX_NAME)
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: entry name of %" PRIu64 " bytes at decoded offset %" PRIu64 " exceeds the limit of %u",
				  nlen, c->hdr_at, XORB_SNAPCHECK_MAX_NAME);
	if (seq && hs + ps > XORB_SNAPCHECK_MAX_MESSAGE)
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: message sequence %" PRIu64 " at decoded offset %" PRIu64 " holds %" PRIu64 " bytes (header %" PRIu64 ", payload %" PRIu64 "), over the limit of %u (the largest max_payload)",
				  seq, c->hdr_at, hs + ps, hs, ps, XORB_SNAPCHECK_MAX_MESSAGE);
	if (!seq && hs)
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: the entry at decoded offset %" PRIu64 " has sequence 0 (not a message) but a header size of %" PRIu64,
				  c->hdr_at, hs);
	if (!seq && ps > XORB_SNAPCHECK_MAX_CONSUMER_JSON)
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: the entry at decoded offset %" PRIu64 " holds %" PRIu64 " bytes of JSON, over the limit of %u",
				  c->hdr_at, ps, XORB_SNAPCHECK_MAX_CONSUMER_JSON);
	xorb_buf_reset(&c->name);
	c->vstate = V_NAME;
	return XORB_OK;
}

/* One header byte. Varints as Go's encoding/binary reads them: 7 bits a
 * byte, low group first, at most 10 bytes, the 10th 0 or 1. */
static int v2_header_byte(struct xorb_snapcheck *c, uint8_t b)
{
	if (c->vbytes == 9 && b > 1)
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: the %s of the entry header at decoded offset %" PRIu64 " overflows 64 bits",
				  v2_field_name[c->vfield], c->hdr_at);
	c->vacc |= (uint64_t)(b & 0x7f) << (7 * c->vbytes);
	c->vbytes++;
	if (b & 0x80)
		return XORB_OK;
	c->vf[c->vfield++] = c->vacc;
	c->vacc = 0;
	c->vbytes = 0;
	if (c->vfield < V2_FIELDS)
		return XORB_OK;
	c->vfield = 0;
	return v2_header(c);
}

static int v2_sink(struct xorb_snapcheck *c, const uint8_t *p, size_t len)
{
	size_t take;
	int rc;

	while (len) {
		take = len;
		switch (c->vstate) {
		case V_HEAD:
			if (!c->vfield && !c->vbytes)
				c->hdr_at = c->pos;
			take = 1; /* a header is at most 50 bytes */
			c->pos++;
			rc = v2_header_byte(c, p[0]);
			if (rc)
				return rc;
			break;
		case V_NAME:
			if (c->vf[F_NAMELEN] - c->name.len < len)
				take = (size_t)(c->vf[F_NAMELEN] - c->name.len);
			if (xorb_buf_append(&c->name, p, take))
				return check_fail(c, XORB_ENOMEM, "snapshot check: out of memory");
			c->pos += take;
			if (c->name.len == c->vf[F_NAMELEN]) {
				rc = v2_entry(c);
				if (rc)
					return rc;
			}
			break;
		case V_DATA:
			if (c->data_left < len)
				take = (size_t)c->data_left;
			if (c->kind == K_STATE && xorb_buf_append(&c->meta, p, take))
				return check_fail(c, XORB_ENOMEM, "snapshot check: out of memory");
			if (c->kind == K_CONSUMER) {
				if (c->data_left == c->data_len)
					c->json_first = p[0];
				c->json_last = p[take - 1];
			}
			c->data_left -= take;
			c->pos += take;
			if (!c->data_left) {
				rc = v2_data_end(c);
				if (rc)
					return rc;
			}
			break;
		case V_END:
			rc = zeros_only(c, p, len, "snapshot v2: data after the end sentinel");
			if (rc)
				return rc;
			break;
		}
		p += take;
		len -= take;
	}
	return XORB_OK;
}

static int v2_finish(struct xorb_snapcheck *c)
{
	char shown[128];

	switch (c->vstate) {
	case V_HEAD:
		if (c->vfield || c->vbytes)
			return check_fail(c, XORB_ECORRUPT,
					  "snapshot v2: ends inside the header of the entry at decoded offset %" PRIu64 " (in its %s)",
					  c->hdr_at, v2_field_name[c->vfield]);
		if (c->phase == P_STATE)
			return check_fail(c, XORB_ECORRUPT,
					  "snapshot v2: ends at decoded offset %" PRIu64 " before state.json", c->pos);
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: ends at decoded offset %" PRIu64 " without the end sentinel (after %zu entries, %" PRIu64 " messages): truncated, or the server failed mid-snapshot (v2 reports that in the final status message, not in the snapshot)",
				  c->pos, c->entries, c->messages);
	case V_NAME:
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: ends inside the name of the entry at decoded offset %" PRIu64 " (%zu of %" PRIu64 " bytes)",
				  c->hdr_at, c->name.len, c->vf[F_NAMELEN]);
	case V_DATA:
		if (c->kind == K_MESSAGE)
			return check_fail(c, XORB_ECORRUPT,
					  "snapshot v2: ends inside message sequence %" PRIu64 " \"%s\" at decoded offset %" PRIu64 " (%" PRIu64 " data bytes missing)",
					  c->vf[F_SEQ], entry_name(c, shown, sizeof(shown)), c->pos, c->data_left);
		return check_fail(c, XORB_ECORRUPT,
				  "snapshot v2: ends inside entry \"%s\" at decoded offset %" PRIu64 " (%" PRIu64 " data bytes missing)",
				  entry_name(c, shown, sizeof(shown)), c->pos, c->data_left);
	case V_END:
		break;
	}
	return XORB_OK;
}

/* ---- both formats ---- */

/* Decoded bytes: held back while they match the v2 magic, then the
 * follower of the format they turned out to be. */
static int snap_sink(void *arg, const uint8_t *p, size_t len)
{
	struct xorb_snapcheck *c = arg;
	size_t n;
	int rc;

	if (c->format == XORB_SNAPCHECK_FORMAT_TAR)
		return tar_sink(c, p, len);
	if (c->format == XORB_SNAPCHECK_FORMAT_V2)
		return v2_sink(c, p, len);
	for (n = 0; n < len && c->magic_have < V2_MAGIC_LEN; n++, c->magic_have++)
		if (p[n] != (uint8_t)V2_MAGIC[c->magic_have])
			break;
	if (c->magic_have == V2_MAGIC_LEN) {
		c->format = XORB_SNAPCHECK_FORMAT_V2;
		c->pos = V2_MAGIC_LEN;
		return v2_sink(c, p + n, len - n);
	}
	if (n == len) /* all of it still matches */
		return XORB_OK;
	c->format = XORB_SNAPCHECK_FORMAT_TAR;
	rc = tar_sink(c, (const uint8_t *)V2_MAGIC, c->magic_have);
	return rc ? rc : tar_sink(c, p + n, len - n);
}

static int replay(struct xorb_snapcheck *c, struct xorb_error *err)
{
	if (err)
		*err = c->err;
	return c->failed;
}

static int stop(struct xorb_snapcheck *c, struct xorb_error *err)
{
	c->failed = c->err.code ? c->err.code : XORB_ECORRUPT;
	return replay(c, err);
}

int xorb_snapcheck_new(struct xorb_snapcheck **out)
{
	struct xorb_snapcheck *c;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return XORB_ENOMEM;
	if (xorb_s2_dec_new(&c->dec, snap_sink, c)) {
		free(c);
		return XORB_ENOMEM;
	}
	c->state = T_HEADER;
	c->format = XORB_SNAPCHECK_FORMAT_UNKNOWN;
	c->vstate = V_HEAD;
	c->phase = P_STATE;
	xorb_buf_init(&c->meta);
	xorb_buf_init(&c->next_path);
	xorb_buf_init(&c->name);
	xorb_buf_init(&c->errtxt);
	xorb_error_clear(&c->err);
	*out = c;
	return XORB_OK;
}

int xorb_snapcheck_feed(struct xorb_snapcheck *c, const void *data, size_t len,
			struct xorb_error *err)
{
	struct xorb_error e;

	if (c->failed)
		return replay(c, err);
	xorb_error_clear(&e);
	if (!xorb_s2_dec_feed(c->dec, data, len, &e))
		return XORB_OK;
	if (!c->err.code) /* the decoder's own failure, not the sink's */
		c->err = e;
	return stop(c, err);
}

int xorb_snapcheck_finish(struct xorb_snapcheck *c, struct xorb_error *err)
{
	struct xorb_error e;
	char shown[128];

	if (c->failed)
		return replay(c, err);
	xorb_error_clear(&e);
	if (xorb_s2_dec_finish(c->dec, &e)) {
		c->err = e;
		return stop(c, err);
	}
	if (c->format == XORB_SNAPCHECK_FORMAT_V2)
		return v2_finish(c) ? stop(c, err) : XORB_OK;
	if (c->format == XORB_SNAPCHECK_FORMAT_UNKNOWN && c->magic_have) {
		check_fail(c, XORB_ECORRUPT,
			   "snapshot v2: ends inside the \"NATSARC1\" magic at decoded offset %zu (%zu of %u bytes)",
			   c->magic_have, c->magic_have, V2_MAGIC_LEN);
		return stop(c, err);
	}
	switch (c->state) {
	case T_HEADER:
		if (c->hdr_have) {
			check_fail(c, XORB_ECORRUPT,
				   "snapshot tar: ends inside the header at decoded offset %" PRIu64 " (%zu of %u bytes)",
				   c->hdr_at, c->hdr_have, TAR_BLOCK);
			return stop(c, err);
		}
		if (c->pending) {
			check_fail(c, XORB_ECORRUPT,
				   "snapshot tar: ends after an extended header with no entry at decoded offset %" PRIu64,
				   c->hdr_at);
			return stop(c, err);
		}
		break;
	case T_SKIP:
		if (!c->in_entry)
			check_fail(c, XORB_ECORRUPT,
				   "snapshot tar: ends inside the extended header at decoded offset %" PRIu64,
				   c->hdr_at);
		else if (c->pos < c->data_end)
			check_fail(c, XORB_ECORRUPT,
				   "snapshot tar: ends inside entry \"%s\" at decoded offset %" PRIu64 " (%" PRIu64 " data bytes missing)",
				   entry_name(c, shown, sizeof(shown)), c->pos, c->data_end - c->pos);
		else
			check_fail(c, XORB_ECORRUPT,
				   "snapshot tar: ends inside the padding of entry \"%s\" at decoded offset %" PRIu64,
				   entry_name(c, shown, sizeof(shown)), c->pos);
		return stop(c, err);
	case T_META:
		check_fail(c, XORB_ECORRUPT,
			   "snapshot tar: ends inside the extended header at decoded offset %" PRIu64,
			   c->hdr_at);
		return stop(c, err);
	case T_ERRTXT:
		server_error(c);
		return stop(c, err);
	case T_END:
		break;
	}
	if (!c->seen_meta_inf) {
		check_fail(c, XORB_ECORRUPT,
			   "snapshot holds no meta.inf (entries: %zu, decoded bytes: %" PRIu64 "): not a JetStream stream snapshot",
			   c->entries, c->pos);
		return stop(c, err);
	}
	return XORB_OK;
}

size_t xorb_snapcheck_consumer_count(const struct xorb_snapcheck *c)
{
	return c->nconsumers;
}

const char *xorb_snapcheck_consumer(const struct xorb_snapcheck *c, size_t i)
{
	return i < c->nconsumers ? c->consumers[i] : NULL;
}

int xorb_snapcheck_format(const struct xorb_snapcheck *c)
{
	return c->format;
}

uint64_t xorb_snapcheck_decoded_bytes(const struct xorb_snapcheck *c)
{
	return c->format == XORB_SNAPCHECK_FORMAT_UNKNOWN ? c->magic_have : c->pos;
}

uint64_t xorb_snapcheck_tar_bytes(const struct xorb_snapcheck *c)
{
	return xorb_snapcheck_decoded_bytes(c);
}

size_t xorb_snapcheck_entry_count(const struct xorb_snapcheck *c)
{
	return c->entries;
}

uint64_t xorb_snapcheck_message_count(const struct xorb_snapcheck *c)
{
	return c->messages;
}

int xorb_snapcheck_seq_range(const struct xorb_snapcheck *c, uint64_t *first, uint64_t *last)
{
	*first = c->messages ? c->seq_first : 0;
	*last = c->messages ? c->seq_last : 0;
	return c->messages ? 1 : 0;
}

void xorb_snapcheck_free(struct xorb_snapcheck *c)
{
	size_t i;

	if (!c)
		return;
	xorb_s2_dec_free(c->dec);
	for (i = 0; i < c->nconsumers; i++)
		free(c->consumers[i]);
	free(c->consumers);
	xorb_buf_release(&c->meta);
	xorb_buf_release(&c->next_path);
	xorb_buf_release(&c->name);
	xorb_buf_release(&c->errtxt);
	free(c);
}

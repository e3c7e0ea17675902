/*
 * Snapshot checker: see xorb_snapcheck.h.
 *
 * The S2 decoder hands decoded blocks to a tar follower, a state machine
 * that collects each 512-byte header (however the blocks split it), checks
 * it, and then skips the entry's data, or collects it when it is a PAX
 * header, a GNU long name, or the server's errors.txt. Only names and those
 * small headers are kept; entry data is never stored.
 */
#include "xorb_snapcheck.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xorb_buf.h"
#include "xorb_s2.h"

#define TAR_BLOCK 512u

enum tar_state {
	T_HEADER, /* collecting a header block */
	T_SKIP,	  /* skipping entry data and padding */
	T_META,	  /* collecting a PAX header's or GNU long name's data */
	T_ERRTXT, /* collecting the start of errors.txt */
	T_END,	  /* past the end-of-archive marker: only zeros may follow */
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
			for (take = 0; take < len; take++)
				if (p[take])
					return check_fail(c, XORB_ECORRUPT,
							  "snapshot tar: data after the end-of-archive marker at decoded offset %" PRIu64,
							  c->pos + take);
			c->pos += take;
			break;
		}
		p += take;
		len -= take;
	}
	return XORB_OK;
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
	if (xorb_s2_dec_new(&c->dec, tar_sink, c)) {
		free(c);
		return XORB_ENOMEM;
	}
	c->state = T_HEADER;
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

uint64_t xorb_snapcheck_tar_bytes(const struct xorb_snapcheck *c)
{
	return c->pos;
}

size_t xorb_snapcheck_entry_count(const struct xorb_snapcheck *c)
{
	return c->entries;
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

/*
 * Strict JSON validation of untrusted files before cJSON reads them: see
 * xorb_json.h (xorb_json_strict_check).
 *
 * cJSON keeps the first of two equal keys (Python and Terraform keep the
 * last), cuts a string at an escaped NUL ("t-qa\u0000x" becomes "t-qa") and
 * accepts keys with control characters. This scanner walks the raw text once
 * (RFC 8259 grammar, bounded nesting, well-formed UTF-8, paired surrogates)
 * and refuses all of these with the position of each offending byte. Keys of
 * the objects being read are decoded into one arena; when an object closes
 * its keys are sorted and compared, then dropped, so memory stays in
 * proportion to the keys of the open objects.
 */
#include "xorb_json.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct key_rec {
	size_t at;	 /* byte offset of the key's opening quote */
	size_t off, len; /* decoded bytes in the arena */
	const char *p;	 /* set just before sorting */
};

struct frame {
	int obj;
	size_t first_key;  /* keys[first_key..] belong to this object */
	size_t arena_mark; /* arena length when the object opened */
	size_t cur;	   /* object: index of the current key; array: element index */
};

struct scan {
	const char *s;
	size_t len, pos;
	const char *what;
	struct xorb_error *err;
	struct xorb_buf arena;
	struct key_rec *keys;
	size_t nkeys, capkeys;
	struct frame fr[XORB_JSON_STRICT_DEPTH + 1];
	unsigned depth; /* open containers */
	int in_key;	/* reading the key of the innermost object */
	int rc;
};

/* The decoded bytes of key r ("" while the arena is empty: only empty keys so far). */
static const char *key_text(const struct scan *sc, const struct key_rec *r)
{
	return sc->arena.data ? sc->arena.data + r->off : "";
}

static void line_col(const struct scan *sc, size_t at, size_t *line, size_t *col)
{
	size_t i, l = 1, start = 0;

	for (i = 0; i < at && i < sc->len; i++)
		if (sc->s[i] == '\n') {
			l++;
			start = i + 1;
		}
	*line = l;
	*col = at - start + 1;
}

/* A key as text for a message: printable bytes as they are, the rest as \xNN. */
static void show(char *dst, size_t cap, const char *k, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 5 < cap; i++) {
		unsigned char c = (unsigned char)k[i];

		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
		else
			dst[o++] = (char)c;
	}
	if (i < len && o + 4 < cap)
		o += (size_t)snprintf(dst + o, cap - o, "...");
	dst[o] = 0;
}

/* The path of the current position: tenants.t-qa.max_bytes, streams[2].name */
static void path_of(const struct scan *sc, unsigned depth, char *dst, size_t cap)
{
	size_t o = 0;
	unsigned d;

	dst[0] = 0;
	for (d = 0; d < depth && o + 1 < cap; d++) {
		const struct frame *f = &sc->fr[d];

		if (f->obj && sc->in_key && d + 1 == depth)
			break;
		if (f->obj && f->cur < sc->nkeys) {
			char k[160];

			show(k, sizeof(k), key_text(sc, &sc->keys[f->cur]), sc->keys[f->cur].len);
			o += (size_t)snprintf(dst + o, cap - o, "%s%s", o ? "." : "", k);
		} else if (!f->obj) {
			o += (size_t)snprintf(dst + o, cap - o, "[%zu]", f->cur);
		}
		if (o >= cap)
			o = cap - 1;
	}
}

__attribute__((format(printf, 3, 4))) static int fail(struct scan *sc, size_t at, const char *fmt, ...)
{
	char why[512], path[400];
	size_t line, col;
	va_list ap;

	if (sc->rc)
		return sc->rc;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	line_col(sc, at, &line, &col);
	path_of(sc, sc->depth, path, sizeof(path));
	sc->rc = xorb_error_set(sc->err, XORB_ECORRUPT, "%s: line %zu, column %zu (byte %zu)%s%s: %s", sc->what,
				line, col, at, path[0] ? ", in " : "", path, why);
	return sc->rc;
}

static void ws(struct scan *sc)
{
	while (sc->pos < sc->len && (sc->s[sc->pos] == ' ' || sc->s[sc->pos] == '\t' ||
				     sc->s[sc->pos] == '\n' || sc->s[sc->pos] == '\r'))
		sc->pos++;
}

static int hex4(struct scan *sc, size_t at, unsigned *cp)
{
	size_t i;

	*cp = 0;
	if (sc->len - at < 4)
		return fail(sc, at, "a \\u escape needs four hex digits");
	for (i = 0; i < 4; i++) {
		char c = sc->s[at + i];

		*cp <<= 4;
		if (c >= '0' && c <= '9')
			*cp |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*cp |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*cp |= (unsigned)(c - 'A' + 10);
		else
			return fail(sc, at, "a \\u escape needs four hex digits");
	}
	return 0;
}

static int put_utf8(struct scan *sc, unsigned cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (xorb_buf_append(&sc->arena, b, n))
		return sc->rc = xorb_error_set(sc->err, XORB_ENOMEM, "out of memory");
	return 0;
}

/* Length of the well-formed UTF-8 sequence at s[at] (lead >= 0x80), or 0. */
static size_t utf8_len(const struct scan *sc, size_t at, unsigned *cp)
{
	const unsigned char *u = (const unsigned char *)sc->s + at;
	size_t left = sc->len - at, n, i;
	unsigned min;

	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		n = 2;
		*cp = u[0] & 0x1fu;
		min = 0x80;
	} else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		n = 3;
		*cp = u[0] & 0x0fu;
		min = 0x800;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		n = 4;
		*cp = u[0] & 0x07u;
		min = 0x10000;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (u[i] & 0x3fu);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

static const char *key_or_string(int key)
{
	return key ? "a key" : "a string";
}

/* sc->pos at the opening quote; a key is decoded into the arena. */
static int string(struct scan *sc, int key)
{
	size_t start = sc->pos;

	sc->pos++;
	for (;;) {
		unsigned char c;

		if (sc->pos >= sc->len)
			return fail(sc, start, "%s that never ends (no closing quote)", key_or_string(key));
		if (key && sc->arena.len - sc->keys[sc->nkeys - 1].off > XORB_JSON_STRICT_KEY_MAX)
			return fail(sc, start, "a key longer than %u bytes", XORB_JSON_STRICT_KEY_MAX);
		c = (unsigned char)sc->s[sc->pos];
		if (c == '"') {
			sc->pos++;
			return 0;
		}
		if (c < 0x20)
			return fail(sc, sc->pos, "raw control byte 0x%02x inside %s (refused: keys and names must be printable, other control characters must be escaped)",
				    c, key_or_string(key));
		if (c == 0x7f && key)
			return fail(sc, sc->pos, "control byte 0x7f inside a key (keys and names must be printable)");
		if (c == '\\') {
			unsigned cp;
			size_t at = sc->pos;

			if (sc->pos + 1 >= sc->len)
				return fail(sc, at, "%s that never ends (no closing quote)", key_or_string(key));
			switch (sc->s[sc->pos + 1]) {
			case '"': cp = '"'; break;
			case '\\': cp = '\\'; break;
			case '/': cp = '/'; break;
			case 'b': cp = '\b'; break;
			case 'f': cp = '\f'; break;
			case 'n': cp = '\n'; break;
			case 'r': cp = '\r'; break;
			case 't': cp = '\t'; break;
			case 'u':
				if (hex4(sc, sc->pos + 2, &cp))
					return sc->rc;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return fail(sc, at, "a lone low surrogate \\u%04x (not a character)", cp);
				if (cp >= 0xd800 && cp <= 0xdbff) {
					unsigned lo;

					if (sc->len - sc->pos < 12 || sc->s[sc->pos + 6] != '\\' || sc->s[sc->pos + 7] != 'u' ||
					    hex4(sc, sc->pos + 8, &lo) || lo < 0xdc00 || lo > 0xdfff)
						return sc->rc ? sc->rc
							      : fail(sc, at, "a high surrogate \\u%04x without its low half (not a character)", cp);
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					sc->pos += 6;
				}
				sc->pos += 4;
				break;
			default:
				return fail(sc, at, "unknown escape \\%c (JSON knows \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)",
					    sc->s[sc->pos + 1] >= 0x20 && sc->s[sc->pos + 1] < 0x7f ? sc->s[sc->pos + 1] : '?');
			}
			sc->pos += 2;
			if (cp == 0)
				return fail(sc, at, "NUL (\\u0000) inside %s: refused (the JSON reader would cut the text there, so \"t-qa\\u0000x\" would read as \"t-qa\")",
					    key_or_string(key));
			if (key && (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)))
				return fail(sc, at, "control character U+%04X inside a key (keys and names must be printable)", cp);
			if (key && put_utf8(sc, cp))
				return sc->rc;
			continue;
		}
		if (c >= 0x80) {
			unsigned cp;
			size_t n = utf8_len(sc, sc->pos, &cp);

			if (!n)
				return fail(sc, sc->pos, "byte 0x%02x is not well-formed UTF-8", c);
			if (key && cp < 0xa0)
				return fail(sc, sc->pos, "control character U+%04X inside a key (keys and names must be printable)", cp);
			if (key && xorb_buf_append(&sc->arena, sc->s + sc->pos, n))
				return sc->rc = xorb_error_set(sc->err, XORB_ENOMEM, "out of memory");
			sc->pos += n;
			continue;
		}
		if (key && xorb_buf_append(&sc->arena, &sc->s[sc->pos], 1))
			return sc->rc = xorb_error_set(sc->err, XORB_ENOMEM, "out of memory");
		sc->pos++;
	}
}

static int digits(struct scan *sc)
{
	size_t start = sc->pos;

	while (sc->pos < sc->len && sc->s[sc->pos] >= '0' && sc->s[sc->pos] <= '9')
		sc->pos++;
	return sc->pos > start;
}

static int number(struct scan *sc)
{
	size_t start = sc->pos;

	if (sc->s[sc->pos] == '-')
		sc->pos++;
	if (sc->pos < sc->len && sc->s[sc->pos] == '0')
		sc->pos++;
	else if (!digits(sc))
		return fail(sc, start, "not a number (a digit must follow the minus sign)");
	if (sc->pos < sc->len && sc->s[sc->pos] == '.') {
		sc->pos++;
		if (!digits(sc))
			return fail(sc, start, "not a number (a digit must follow the decimal point)");
	}
	if (sc->pos < sc->len && (sc->s[sc->pos] == 'e' || sc->s[sc->pos] == 'E')) {
		sc->pos++;
		if (sc->pos < sc->len && (sc->s[sc->pos] == '+' || sc->s[sc->pos] == '-'))
			sc->pos++;
		if (!digits(sc))
			return fail(sc, start, "not a number (a digit must follow the exponent)");
	}
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	const struct key_rec *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, n);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* The object of frame depth-1 closes: refuse two equal keys, drop its keys. */
static int close_object(struct scan *sc)
{
	struct frame *f = &sc->fr[sc->depth - 1];
	size_t i, n = sc->nkeys - f->first_key;
	struct key_rec *k = sc->keys + f->first_key;

	for (i = 0; i < n; i++)
		k[i].p = key_text(sc, &k[i]);
	if (n > 1)
		qsort(k, n, sizeof(*k), cmp_key);
	for (i = 1; i < n; i++)
		if (k[i].len == k[i - 1].len && !memcmp(k[i].p, k[i - 1].p, k[i].len)) {
			char name[160], path[400];
			size_t l1, c1, l2, c2;

			show(name, sizeof(name), k[i].p, k[i].len);
			line_col(sc, k[i - 1].at, &l1, &c1);
			line_col(sc, k[i].at, &l2, &c2);
			path_of(sc, sc->depth - 1, path, sizeof(path));
			sc->rc = xorb_error_set(sc->err, XORB_ECORRUPT,
						"%s: duplicate key \"%s\"%s%s at line %zu, column %zu (byte %zu) and again at line %zu, column %zu (byte %zu): "
						"refused, readers disagree on which one counts (xorb's JSON reader takes the first, Python and Terraform the last); keep one",
						sc->what, name, path[0] ? " in " : " at the top level", path, l1, c1, k[i - 1].at, l2,
						c2, k[i].at);
			return sc->rc;
		}
	sc->nkeys = f->first_key;
	sc->arena.len = f->arena_mark;
	return 0;
}

static int value(struct scan *sc);

static int open_container(struct scan *sc, int obj)
{
	struct frame *f;

	if (sc->depth >= XORB_JSON_STRICT_DEPTH)
		return fail(sc, sc->pos, "nested deeper than %u levels", XORB_JSON_STRICT_DEPTH);
	f = &sc->fr[sc->depth++];
	f->obj = obj;
	f->first_key = sc->nkeys;
	f->arena_mark = sc->arena.len;
	f->cur = obj ? SIZE_MAX : 0;
	sc->pos++;
	return 0;
}

static int object(struct scan *sc)
{
	if (open_container(sc, 1))
		return sc->rc;
	ws(sc);
	if (sc->pos < sc->len && sc->s[sc->pos] == '}') {
		sc->pos++;
		sc->depth--;
		return 0;
	}
	for (;;) {
		struct frame *f = &sc->fr[sc->depth - 1];
		struct key_rec *r;

		ws(sc);
		if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
			return fail(sc, sc->pos, "a key (a string in double quotes) was expected");
		if (sc->nkeys == sc->capkeys) {
			size_t cap = sc->capkeys ? sc->capkeys * 2 : 64;
			struct key_rec *nk = realloc(sc->keys, cap * sizeof(*nk));

			if (!nk)
				return sc->rc = xorb_error_set(sc->err, XORB_ENOMEM, "out of memory");
			sc->keys = nk;
			sc->capkeys = cap;
		}
		r = &sc->keys[sc->nkeys++];
		r->at = sc->pos;
		r->off = sc->arena.len;
		r->len = 0;
		f->cur = sc->nkeys - 1;
		sc->in_key = 1;
		if (string(sc, 1))
			return sc->rc;
		sc->in_key = 0;
		sc->keys[f->cur].len = sc->arena.len - sc->keys[f->cur].off;
		ws(sc);
		if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
			return fail(sc, sc->pos, "a colon was expected after the key");
		sc->pos++;
		if (value(sc))
			return sc->rc;
		ws(sc);
		if (sc->pos < sc->len && sc->s[sc->pos] == ',') {
			sc->pos++;
			f->cur = SIZE_MAX; /* between members: the path is the object's */
			continue;
		}
		if (sc->pos < sc->len && sc->s[sc->pos] == '}') {
			if (close_object(sc))
				return sc->rc;
			sc->pos++;
			sc->depth--;
			return 0;
		}
		return fail(sc, sc->pos, "a comma or a closing brace was expected");
	}
}

static int array(struct scan *sc)
{
	if (open_container(sc, 0))
		return sc->rc;
	ws(sc);
	if (sc->pos < sc->len && sc->s[sc->pos] == ']') {
		sc->pos++;
		sc->depth--;
		return 0;
	}
	for (;;) {
		if (value(sc))
			return sc->rc;
		ws(sc);
		if (sc->pos < sc->len && sc->s[sc->pos] == ',') {
			sc->pos++;
			sc->fr[sc->depth - 1].cur++;
			continue;
		}
		if (sc->pos < sc->len && sc->s[sc->pos] == ']') {
			sc->pos++;
			sc->depth--;
			return 0;
		}
		return fail(sc, sc->pos, "a comma or a closing bracket was expected");
	}
}

static int literal(struct scan *sc, const char *word)
{
	size_t n = strlen(word);

	if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, word, n))
		return fail(sc, sc->pos, "not a JSON value (expected %s)", word);
	sc->pos += n;
	return 0;
}

static int value(struct scan *sc)
{
	unsigned char c;

	ws(sc);
	if (sc->pos >= sc->len)
		return fail(sc, sc->pos, "the document ends where a value was expected");
	c = (unsigned char)sc->s[sc->pos];
	switch (c) {
	case '{': return object(sc);
	case '[': return array(sc);
	case '"': return string(sc, 0);
	case 't': return literal(sc, "true");
	case 'f': return literal(sc, "false");
	case 'n': return literal(sc, "null");
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return number(sc);
		return fail(sc, sc->pos, "byte 0x%02x does not start a JSON value", c);
	}
}

int xorb_json_strict_check(const char *text, size_t len, const char *what, struct xorb_error *err)
{
	struct scan sc;

	if (len > XORB_JSON_MAX)
		return xorb_error_set(err, XORB_ECORRUPT, "%s is %zu bytes, over the %u-byte limit", what, len,
				      XORB_JSON_MAX);
	memset(&sc, 0, sizeof(sc));
	sc.s = text;
	sc.len = len;
	sc.what = what;
	sc.err = err;
	xorb_buf_init(&sc.arena);
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		fail(&sc, 0, "a UTF-8 byte order mark: save the file without it");
	else if (!value(&sc)) {
		ws(&sc);
		if (sc.pos < sc.len)
			fail(&sc, sc.pos, "data after the end of the JSON document");
	}
	xorb_buf_release(&sc.arena);
	free(sc.keys);
	return sc.rc;
}

int xorb_json_parse_strict(const char *text, size_t len, const char *what, cJSON **out,
			   struct xorb_error *err)
{
	int rc;

	*out = NULL;
	rc = xorb_json_strict_check(text, len, what, err);
	if (rc)
		return rc;
	return xorb_json_parse(text, len, what, out, err);
}

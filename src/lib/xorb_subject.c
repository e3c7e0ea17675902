/* Subject schema v1 and the subject scanner: see xorb_subject.h. */
#include "xorb_subject.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "xorb_buf.h"
#include "xorb_names.h"

#define SHOW 80 /* at most this much of a token is quoted in a message */

static const char *const token_role[] = { "", "prefix", "tenant", "domain", "service", "event" };

static bool event_valid(const char *e, size_t len)
{
	static const char *const events[] = { "created", "updated", "completed", "failed", "replay" };
	size_t i;

	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
		if (strlen(events[i]) == len && !memcmp(events[i], e, len))
			return true;
	return false;
}

/* The problems found so far, joined by "; ". */
struct problems {
	struct xorb_buf b;
	int count;
	int oom;
};

static void problem(struct problems *pr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct problems *pr, const char *fmt, ...)
{
	char m[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	if ((pr->count && xorb_buf_puts(&pr->b, "; ")) || xorb_buf_puts(&pr->b, m))
		pr->oom = 1;
	pr->count++;
}

static void check_service(struct problems *b, const char *s, size_t n)
{
	int show = (int)(n < SHOW ? n : SHOW);
	size_t i;

	if (n > XORB_SERVICE_MAX) {
		problem(b, "service \"%.*s\" must be 1 to %d characters long (has %zu)", show, s,
			XORB_SERVICE_MAX, n);
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isascii(c) || !(isalnum(c) || c == '-')) {
			problem(b,
				"service \"%.*s\" has '%c' at position %zu: only letters, digits and hyphens are allowed",
				show, s, isprint(c) ? c : '?', i + 1);
			return;
		}
	}
	if (s[0] == '-' || s[n - 1] == '-')
		problem(b, "service \"%.*s\" must not start or end with a hyphen", show, s);
}

static void check_token(struct problems *b, int pos, const char *s, size_t n)
{
	struct xorb_error terr = { 0, "" };
	int show = (int)(n < SHOW ? n : SHOW);
	char tenant[XORB_TENANT_MAX + 2];

	switch (pos) {
	case 2:
		if (n > XORB_TENANT_MAX) {
			/* xorb_tenant_check's message, without copying a huge token */
			problem(b, "tenant name \"%.*s%s\" must be 3 to 63 characters long (has %zu)", show, s,
				n > SHOW ? "..." : "", n);
			return;
		}
		memcpy(tenant, s, n);
		tenant[n] = '\0';
		if (xorb_tenant_check(tenant, &terr))
			problem(b, "%s", terr.msg);
		return;
	case 3:
		if (!xorb_domain_valid(s, n))
			problem(b, "domain \"%.*s\" is not one of evidence, scan, compliance, control", show, s);
		return;
	case 4:
		check_service(b, s, n);
		return;
	case 5:
		if (!event_valid(s, n))
			problem(b, "event \"%.*s\" is not one of created, updated, completed, failed, replay",
				show, s);
		return;
	}
}

int xorb_subject_check(const char *subject, int allow_wildcards, struct xorb_error *err)
{
	const char *tok[XORB_SUBJECT_TOKENS + 1];
	size_t tlen[XORB_SUBJECT_TOKENS + 1];
	const char *p, *last = subject, *dd;
	struct problems b = { .count = 0, .oom = 0 };
	size_t n, ntok = 0, i, lastlen = 0;
	int rc = XORB_OK;

	if (!subject || !*subject)
		return xorb_error_set(err, XORB_EINVAL, "subject is empty");
	n = strlen(subject);
	if (n > XORB_SUBJECT_MAX)
		return xorb_error_set(err, XORB_EINVAL, "subject is %zu bytes long: schema v1 subjects are far shorter", n);
	/* empty tokens first: with one, token positions mean nothing */
	if (subject[0] == '.')
		return xorb_error_set(err, XORB_EINVAL, "subject starts with a dot (empty first token)");
	if (subject[n - 1] == '.')
		return xorb_error_set(err, XORB_EINVAL, "subject ends with a dot (empty last token)");
	dd = strstr(subject, "..");
	if (dd) {
		for (p = subject, i = 1; p <= dd; p++)
			i += *p == '.';
		return xorb_error_set(err, XORB_EINVAL, "subject has an empty token at position %zu ('..')", i);
	}

	for (p = subject; p; ntok++) {
		const char *dot = strchr(p, '.');
		size_t tl = dot ? (size_t)(dot - p) : strlen(p);

		if (ntok < XORB_SUBJECT_TOKENS + 1) {
			tok[ntok] = p;
			tlen[ntok] = tl;
		}
		last = p;
		lastlen = tl;
		p = dot ? dot + 1 : NULL;
	}

	xorb_buf_init(&b.b);
	if (allow_wildcards && lastlen == 1 && *last == '>') {
		if (ntok > XORB_SUBJECT_TOKENS)
			problem(&b, "'>' as token %zu matches only subjects of more than %d tokens", ntok,
				XORB_SUBJECT_TOKENS);
	} else if (ntok != XORB_SUBJECT_TOKENS) {
		problem(&b, "has %zu token%s, schema v1 has %d: xorb.<tenant>.<domain>.<service>.<event>", ntok,
			ntok == 1 ? "" : "s", XORB_SUBJECT_TOKENS);
	}
	for (i = 0; i < ntok && i < XORB_SUBJECT_TOKENS; i++) {
		const char *s = tok[i];
		size_t tl = tlen[i];
		int pos = (int)i + 1, show = (int)(tl < SHOW ? tl : SHOW);
		bool wild = tl == 1 && (*s == '*' || *s == '>');

		if (pos == 1) {
			if (tl != 4 || memcmp(s, "xorb", 4))
				problem(&b, "token 1 is \"%.*s\", schema v1 subjects start with \"xorb\"", show, s);
			continue;
		}
		if (wild && !allow_wildcards) {
			problem(&b, "wildcard \"%c\" as the %s (token %d) is only allowed in patterns", *s,
				token_role[pos], pos);
			continue;
		}
		if (wild && *s == '>' && (size_t)pos != ntok) {
			problem(&b, "'>' as the %s (token %d) must be the last token", token_role[pos], pos);
			continue;
		}
		if (wild)
			continue;
		if (memchr(s, '*', tl) || memchr(s, '>', tl)) {
			problem(&b, "%s \"%.*s\" contains '%c': a wildcard must be a whole token", token_role[pos],
				show, s, memchr(s, '*', tl) ? '*' : '>');
			continue;
		}
		check_token(&b, pos, s, tl);
	}
	if (b.oom)
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory checking a subject");
	else if (b.count)
		rc = xorb_error_set(err, XORB_EINVAL, "%s", b.b.data);
	xorb_buf_release(&b.b);
	return rc;
}

/* ---- scanner ---- */

#define LIT_MAX 256
#define PLACEHOLDER '\x01'

static bool lit_char_ok(unsigned char c)
{
	return c > 0x20 && c != 0x7f && c != '\\' && c != '/' && c != ':';
}

/* Length of a placeholder starting at s[0] (n bytes left), or 0. */
static size_t placeholder_len(const char *s, size_t n)
{
	size_t i = 0, depth = 0;

	if (s[0] == '$' && n > 1 && s[1] != '{') {
		for (i = 1; i < n && (isalnum((unsigned char)s[i]) || s[i] == '_'); i++)
			;
		return i > 1 && !isdigit((unsigned char)s[1]) ? i : 0;
	}
	if (s[0] == '$')
		i = 1;
	if (i < n && s[i] == '{') {
		for (; i < n; i++) {
			if (s[i] == '{')
				depth++;
			else if (s[i] == '}' && --depth == 0)
				return i + 1;
		}
		return 0;
	}
	if (s[0] == '%') {
		for (i = 1; i < n && strchr("-+ #0123456789.*", s[i]); i++)
			;
		return i < n && isalpha((unsigned char)s[i]) ? i + 1 : 0;
	}
	if (s[0] == '<') {
		for (i = 1; i < n && (isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-'); i++)
			;
		return i > 1 && i < n && s[i] == '>' ? i + 1 : 0;
	}
	return 0;
}

/* Builds the form to check into out (>= LIT_MAX + 3 bytes). */
static void normalize(const char *s, size_t n, char *out)
{
	char tmp[LIT_MAX + 1];
	size_t i = 0, o = 0, t0;

	while (i < n) {
		size_t pl = placeholder_len(s + i, n - i);

		if (pl) {
			tmp[o++] = PLACEHOLDER;
			i += pl;
		} else {
			tmp[o++] = s[i++];
		}
	}
	/* a token holding a placeholder is unknown at lint time: "*" */
	for (i = 0, t0 = 0, n = 0; i <= o; i++) {
		if (i < o && tmp[i] != '.')
			continue;
		if (memchr(tmp + t0, PLACEHOLDER, i - t0)) {
			out[n++] = '*';
		} else {
			memcpy(out + n, tmp + t0, i - t0);
			n += i - t0;
		}
		if (i < o)
			out[n++] = '.';
		t0 = i + 1;
	}
	if (n && out[n - 1] == '.')
		out[n++] = '>';
	out[n] = '\0';
}

static int consider(const char *s, size_t n, size_t line, xorb_subject_literal_fn fn, void *arg)
{
	struct xorb_subject_literal lit;
	char subject[LIT_MAX + 3];
	size_t i, dots = 0;

	if (n > LIT_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		if (!lit_char_ok((unsigned char)s[i]))
			return 0;
		dots += s[i] == '.';
	}
	if (dots < 2)
		return 0;
	normalize(s, n, subject);
	lit.line = line;
	lit.text = s;
	lit.len = n;
	lit.subject = subject;
	return fn(arg, &lit);
}

static bool bare_start(char prev)
{
	return prev == ' ' || prev == '\t' || prev == '[' || prev == ',' || prev == '(' || prev == '=';
}

static const char ignore_marker[] = "xorb-subject-lint: ignore";

int xorb_subject_scan(const char *text, size_t len, unsigned int flags, xorb_subject_literal_fn fn,
		      void *arg)
{
	const char *p = text, *end = text + len;
	size_t line = 0;
	int rc;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p), i;

		line++;
		if (n && p[n - 1] == '\r')
			n--;
		if (!memmem(p, n, ignore_marker, sizeof(ignore_marker) - 1)) {
			for (i = 0; i + 5 <= n; i++) {
				char prev = i ? p[i - 1] : '\0';
				size_t j;

				if (memcmp(p + i, "xorb.", 5))
					continue;
				if (prev == '"' || prev == '\'' || prev == '`') {
					const char *q = memchr(p + i, prev, n - i);

					if (!q)
						continue; /* no closing quote on this line */
					j = (size_t)(q - p);
				} else if ((flags & XORB_SUBJECT_SCAN_BARE) && (i == 0 || bare_start(prev))) {
					for (j = i; j < n && !isspace((unsigned char)p[j]) &&
						    !strchr(",]});#\"'", p[j]);
					     j++)
						;
				} else {
					continue;
				}
				rc = consider(p + i, j - i, line, fn, arg);
				if (rc)
					return rc;
				i = j;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

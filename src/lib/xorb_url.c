/* Credentials in URLs, masked for output: see xorb_url.h. */
#include "xorb_url.h"

#include <string.h>

static const char word_sep[] = " \t\r\n,\"'<>";

/* Appends n bytes of s to out[*at..len), keeping room for the NUL. */
static void put(char *out, size_t len, size_t *at, const char *s, size_t n)
{
	if (*at + 1 >= len)
		return;
	if (n > len - 1 - *at)
		n = len - 1 - *at;
	memcpy(out + *at, s, n);
	*at += n;
}

/* One word: masks its user info when it is a URL. */
static void word(const char *w, size_t n, bool bare, char *out, size_t len, size_t *at)
{
	const char *auth = NULL, *at_sign = NULL, *colon, *p;

	for (p = w; p + 3 <= w + n; p++)
		if (!memcmp(p, "://", 3)) {
			auth = p + 3;
			break;
		}
	if (!auth && bare)
		auth = w;
	/* the user info ends at the last '@', as nats.c and libcurl read it */
	for (p = auth; p && p < w + n; p++)
		if (*p == '@')
			at_sign = p;
	if (!at_sign) {
		put(out, len, at, w, n);
		return;
	}
	put(out, len, at, w, (size_t)(auth - w));
	colon = memchr(auth, ':', (size_t)(at_sign - auth));
	if (colon) /* user:password: the user stays */
		put(out, len, at, auth, (size_t)(colon - auth) + 1);
	put(out, len, at, "***", 3);
	put(out, len, at, at_sign, (size_t)(w + n - at_sign));
}

char *xorb_url_redact(const char *text, bool bare, char *out, size_t len)
{
	size_t at = 0;
	const char *p = text ? text : "";

	if (!len)
		return out;
	while (*p) {
		size_t sep = strspn(p, word_sep), n;

		put(out, len, &at, p, sep);
		p += sep;
		n = strcspn(p, word_sep);
		if (n)
			word(p, n, bare, out, len, &at);
		p += n;
	}
	out[at] = '\0';
	return out;
}

const char *xorb_url_shown(const char *text, bool bare)
{
	static __thread char slot[4][XORB_URL_SHOWN_MAX];
	static __thread unsigned next;
	char *out = slot[next++ % 4];

	return xorb_url_redact(text, bare, out, XORB_URL_SHOWN_MAX);
}

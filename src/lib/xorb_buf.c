/* Growable byte buffer: see xorb_buf.h. */
#include "xorb_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void xorb_buf_init(struct xorb_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void xorb_buf_release(struct xorb_buf *b)
{
	free(b->data);
	xorb_buf_init(b);
}

void xorb_buf_wipe_release(struct xorb_buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	xorb_buf_release(b);
}

int xorb_buf_reserve(struct xorb_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > SIZE_MAX - b->len - 1)
		return -1;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		return -1;
	b->data = p;
	b->cap = cap;
	p[b->len] = '\0';
	return 0;
}

int xorb_buf_append(struct xorb_buf *b, const void *p, size_t n)
{
	if (xorb_buf_reserve(b, n))
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int xorb_buf_puts(struct xorb_buf *b, const char *s)
{
	return xorb_buf_append(b, s, strlen(s));
}

int xorb_buf_printf(struct xorb_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || xorb_buf_reserve(b, (size_t)n))
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void xorb_buf_reset(struct xorb_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *xorb_buf_detach(struct xorb_buf *b)
{
	char *p;

	if (!b->data && xorb_buf_reserve(b, 0))
		return NULL;
	p = b->data;
	xorb_buf_init(b);
	return p;
}

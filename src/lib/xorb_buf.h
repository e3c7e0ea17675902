/*
 * The one growable byte buffer of the project. Always NUL-terminated past len
 * so text can be used as a C string. Embedded: xorb_buf_init / xorb_buf_release.
 */
#ifndef XORB_BUF_H
#define XORB_BUF_H

#include <stddef.h>
#include <stdint.h>

struct xorb_buf {
	char *data; /* owned; NULL until the first append */
	size_t len;
	size_t cap;
};

void xorb_buf_init(struct xorb_buf *b);
/* Frees the storage (wiping it first when wipe != 0: secrets) and re-inits. */
void xorb_buf_release(struct xorb_buf *b);
void xorb_buf_wipe_release(struct xorb_buf *b);
/* All return 0, or -1 when memory runs out (the buffer is unchanged then). */
int xorb_buf_reserve(struct xorb_buf *b, size_t extra);
int xorb_buf_append(struct xorb_buf *b, const void *p, size_t n);
int xorb_buf_puts(struct xorb_buf *b, const char *s);
int xorb_buf_printf(struct xorb_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void xorb_buf_reset(struct xorb_buf *b); /* len = 0, keeps the storage */
/* Hands the storage to the caller (free() it) and re-inits b. Never NULL
 * unless memory runs out. */
char *xorb_buf_detach(struct xorb_buf *b);

#endif

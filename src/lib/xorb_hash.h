/* SHA-256 over OpenSSL's EVP, for entry and archive checksums. */
#ifndef XORB_HASH_H
#define XORB_HASH_H

#include <stddef.h>

#define XORB_SHA256_HEX 65 /* 64 hex digits + NUL */

struct xorb_sha256;

struct xorb_sha256 *xorb_sha256_new(void); /* NULL when memory runs out */
void xorb_sha256_update(struct xorb_sha256 *h, const void *data, size_t len);
/* Writes the lower-case hex digest and resets h for the next use. */
void xorb_sha256_final_hex(struct xorb_sha256 *h, char out[XORB_SHA256_HEX]);
void xorb_sha256_free(struct xorb_sha256 *h); /* NULL-safe */

#endif

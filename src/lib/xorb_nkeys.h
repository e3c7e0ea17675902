/*
 * NATS nkeys: Ed25519 keys in the text form nats-server and nats.c read, and
 * the codecs they need (base32, CRC-16/XMODEM, base64url).
 *
 * A public key is base32(prefix | pub[32] | crc16) = 56 characters: "O..."
 * operator, "A..." account, "U..." user. A seed is base32(0x90 | t >> 5,
 * (t & 31) << 3 | seed[32] | crc16) = 58 characters: "SO...", "SA...",
 * "SU...", where seed is the raw 32-byte Ed25519 private seed and t the type's
 * prefix byte. CRC-16/XMODEM is over every preceding byte, little-endian.
 * Base32 is RFC 4648, upper case, no padding; decoding is strict (canonical
 * text only). Ed25519 comes from OpenSSL 3.
 */
#ifndef XORB_NKEYS_H
#define XORB_NKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "xorb_error.h"

#define XORB_NKEY_PUBLIC_LEN 56 /* characters, without the NUL */
#define XORB_NKEY_SEED_LEN 58
#define XORB_NKEY_RAW_LEN 32 /* Ed25519 seed and public key bytes */
#define XORB_NKEY_SIG_LEN 64

enum xorb_nkey_type { XORB_NKEY_OPERATOR, XORB_NKEY_ACCOUNT, XORB_NKEY_USER };

/* A key pair. Holds the 32-byte seed, wiped with explicit_bzero on free. */
struct xorb_nkey;

/* New key pair of type t from the OpenSSL CSPRNG. *out is owned by the caller
 * (xorb_nkey_free). */
int xorb_nkey_generate(enum xorb_nkey_type t, struct xorb_nkey **out, struct xorb_error *err);

/* Key pair from a raw 32-byte Ed25519 seed (fixed test vectors, key
 * derivation). The caller wipes its copy of seed. */
int xorb_nkey_from_raw(enum xorb_nkey_type t, const unsigned char seed[XORB_NKEY_RAW_LEN],
		       struct xorb_nkey **out, struct xorb_error *err);

/* Key pair from a seed text "SO...", "SA..." or "SU..." (surrounding white
 * space ignored). Checks the base32, the length, the prefix and the CRC:
 * XORB_EINVAL naming what is wrong, never echoing the seed. */
int xorb_nkey_from_seed(const char *seed_text, struct xorb_nkey **out, struct xorb_error *err);

/* Writes the 56-character public key and a NUL. 0, or -1 when k is NULL. */
int xorb_nkey_public(const struct xorb_nkey *k, char out[XORB_NKEY_PUBLIC_LEN + 1]);

/* Writes the 58-character seed and a NUL: a secret, the caller wipes out.
 * 0, or -1 when k is NULL. */
int xorb_nkey_seed(const struct xorb_nkey *k, char out[XORB_NKEY_SEED_LEN + 1]);

enum xorb_nkey_type xorb_nkey_type(const struct xorb_nkey *k);

/* "operator", "account" or "user". */
const char *xorb_nkey_type_name(enum xorb_nkey_type t);

/* Ed25519 signature of data (pure Ed25519, deterministic). */
int xorb_nkey_sign(const struct xorb_nkey *k, const void *data, size_t len,
		   unsigned char sig[XORB_NKEY_SIG_LEN], struct xorb_error *err);

/* Checks sig over data against an operator, account or user public key.
 * 0 when it verifies; XORB_EINVAL when public_text is not a well-formed
 * public key; XORB_ECORRUPT when the signature does not verify. */
int xorb_nkey_verify(const char *public_text, const void *data, size_t len,
		     const unsigned char sig[XORB_NKEY_SIG_LEN]);

/* 1 when public_text is a well-formed public key of type t (exactly 56
 * characters, right prefix, CRC correct), else 0. */
int xorb_nkey_public_valid(const char *public_text, enum xorb_nkey_type t);

/* Decodes any public key: its type and raw 32 bytes. 0, or -1 when malformed. */
int xorb_nkey_public_decode(const char *public_text, enum xorb_nkey_type *t,
			    unsigned char raw[XORB_NKEY_RAW_LEN]);

void xorb_nkey_free(struct xorb_nkey *k); /* NULL-safe; wipes the seed */

/* ---- codecs ---- */

uint16_t xorb_crc16_xmodem(const void *data, size_t len);

/* Base32 (RFC 4648 alphabet, upper case, no padding). out needs
 * xorb_base32_len(n) + 1 bytes; it is NUL-terminated. */
size_t xorb_base32_len(size_t n);
void xorb_base32_encode(const void *data, size_t n, char *out);
/* Decodes len characters into out (cap bytes). Strict: upper case only, no
 * padding, no white space, unused trailing bits must be zero, and the length
 * must be one an encoder can produce. *outlen receives the byte count.
 * 0, or -1 for malformed text or cap too small. */
int xorb_base32_decode(const char *text, size_t len, unsigned char *out, size_t cap,
		       size_t *outlen);

/* Base64url (RFC 4648 section 5) without padding, as JWTs use it. out needs
 * xorb_base64url_len(n) + 1 bytes; it is NUL-terminated. */
size_t xorb_base64url_len(size_t n); /* the standard alphabet's length too */
/* Either alphabet (64 characters): xorb_b64_url (JWTs) or xorb_b64_std
 * (the age format); no padding, strict and canonical when decoding. */
extern const char xorb_b64_std[], xorb_b64_url[];
void xorb_base64_encode_alpha(const char *alphabet, const void *data, size_t n, char *out);
int xorb_base64_decode_alpha(const char *alphabet, const char *text, size_t len, unsigned char *out, size_t cap,
			     size_t *outlen);
void xorb_base64url_encode(const void *data, size_t n, char *out);
/* Strict like xorb_base32_decode ('=' , '+', '/' and white space rejected).
 * out needs len * 3 / 4 bytes (cap). 0 or -1. */
int xorb_base64url_decode(const char *text, size_t len, unsigned char *out, size_t cap,
			  size_t *outlen);

#endif

/* NATS nkeys over OpenSSL Ed25519: see xorb_nkeys.h. */
#include "xorb_nkeys.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

/* Prefix bytes (the first base32 character is the prefix >> 3). */
#define PREFIX_SEED (18 << 3)	  /* 'S' */
#define PREFIX_OPERATOR (14 << 3) /* 'O' */
#define PREFIX_ACCOUNT 0	  /* 'A' */
#define PREFIX_USER (20 << 3)	  /* 'U' */

#define PUBLIC_RAW (1 + XORB_NKEY_RAW_LEN + 2) /* 35 bytes -> 56 chars */
#define SEED_RAW (2 + XORB_NKEY_RAW_LEN + 2)   /* 36 bytes -> 58 chars */

struct xorb_nkey {
	enum xorb_nkey_type type;
	unsigned char seed[XORB_NKEY_RAW_LEN];
	unsigned char pub[XORB_NKEY_RAW_LEN];
};

/* ---- codecs ---- */

uint16_t xorb_crc16_xmodem(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint16_t crc = 0;
	size_t i;
	int b;

	for (i = 0; i < len; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (b = 0; b < 8; b++)
			crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

size_t xorb_base32_len(size_t n)
{
	return (n * 8 + 4) / 5;
}

void xorb_base32_encode(const void *data, size_t n, char *out)
{
	const unsigned char *p = data;
	unsigned int acc = 0;
	int bits = 0;
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32_alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0)
		out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
	out[o] = '\0';
}

static int b32_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

int xorb_base32_decode(const char *text, size_t len, unsigned char *out, size_t cap,
		       size_t *outlen)
{
	unsigned int acc = 0;
	int bits = 0;
	size_t i, o = 0;

	/* 1, 3 and 6 trailing characters never come out of an encoder */
	switch (len % 8) {
	case 1: case 3: case 6: return -1;
	}
	if (len / 8 * 5 + (len % 8) * 5 / 8 > cap)
		return -1;
	for (i = 0; i < len; i++) {
		int v = b32_value(text[i]);

		if (v < 0)
			return -1;
		acc = (acc << 5) | (unsigned int)v;
		bits += 5;
		if (bits >= 8) {
			out[o++] = (unsigned char)(acc >> (bits - 8));
			bits -= 8;
		}
		acc &= (1u << bits) - 1;
	}
	if (acc != 0) /* non-canonical: unused bits set */
		return -1;
	*outlen = o;
	return 0;
}

/* Base64 without padding, strict, over either alphabet (RFC 4648 sections
 * 4 and 5): the NATS JWTs' base64url and the age format's standard base64
 * (xorb_age.c) are the same code. */
const char xorb_b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const char xorb_b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t xorb_base64url_len(size_t n)
{
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

void xorb_base64_encode_alpha(const char *alphabet, const void *data, size_t n, char *out)
{
	const unsigned char *p = data;
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned long v = (unsigned long)p[i] << 16 | (unsigned long)p[i + 1] << 8 | p[i + 2];

		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		out[o++] = alphabet[p[i] >> 2];
		out[o++] = alphabet[(p[i] & 3) << 4];
	} else if (n - i == 2) {
		out[o++] = alphabet[p[i] >> 2];
		out[o++] = alphabet[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		out[o++] = alphabet[(p[i + 1] & 15) << 2];
	}
	out[o] = '\0';
}

void xorb_base64url_encode(const void *data, size_t n, char *out)
{
	xorb_base64_encode_alpha(xorb_b64_url, data, n, out);
}

int xorb_base64_decode_alpha(const char *alphabet, const char *text, size_t len, unsigned char *out, size_t cap,
			     size_t *outlen)
{
	unsigned int acc = 0;
	int bits = 0;
	size_t i, o = 0;

	*outlen = 0;
	/* 1 trailing character never comes out of an encoder */
	if (len % 4 == 1 || len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > cap)
		return -1;
	for (i = 0; i < len; i++) {
		const char *at = text[i] ? strchr(alphabet, text[i]) : NULL;

		if (!at)
			return -1;
		acc = (acc << 6) | (unsigned int)(at - alphabet);
		bits += 6;
		if (bits >= 8) {
			out[o++] = (unsigned char)(acc >> (bits - 8));
			bits -= 8;
		}
		acc &= (1u << bits) - 1;
	}
	if (acc != 0) /* non-canonical: unused bits set (RFC 4648 3.5) */
		return -1;
	*outlen = o;
	return 0;
}

int xorb_base64url_decode(const char *text, size_t len, unsigned char *out, size_t cap,
			  size_t *outlen)
{
	return xorb_base64_decode_alpha(xorb_b64_url, text, len, out, cap, outlen);
}

/* ---- keys ---- */

static unsigned char type_prefix(enum xorb_nkey_type t)
{
	switch (t) {
	case XORB_NKEY_OPERATOR: return PREFIX_OPERATOR;
	case XORB_NKEY_ACCOUNT: return PREFIX_ACCOUNT;
	case XORB_NKEY_USER: return PREFIX_USER;
	}
	return 0xff;
}

static int prefix_type(unsigned char p, enum xorb_nkey_type *t)
{
	switch (p) {
	case PREFIX_OPERATOR: *t = XORB_NKEY_OPERATOR; return 0;
	case PREFIX_ACCOUNT: *t = XORB_NKEY_ACCOUNT; return 0;
	case PREFIX_USER: *t = XORB_NKEY_USER; return 0;
	}
	return -1;
}

const char *xorb_nkey_type_name(enum xorb_nkey_type t)
{
	switch (t) {
	case XORB_NKEY_OPERATOR: return "operator";
	case XORB_NKEY_ACCOUNT: return "account";
	case XORB_NKEY_USER: return "user";
	}
	return "unknown";
}

static int valid_type(enum xorb_nkey_type t)
{
	return t == XORB_NKEY_OPERATOR || t == XORB_NKEY_ACCOUNT || t == XORB_NKEY_USER;
}

int xorb_nkey_from_raw(enum xorb_nkey_type t, const unsigned char seed[XORB_NKEY_RAW_LEN],
		       struct xorb_nkey **out, struct xorb_error *err)
{
	struct xorb_nkey *k;
	EVP_PKEY *pk;
	size_t publen = XORB_NKEY_RAW_LEN;

	*out = NULL;
	if (!valid_type(t))
		return xorb_error_set(err, XORB_EINVAL, "unknown nkey type %d", (int)t);
	k = calloc(1, sizeof(*k));
	if (!k)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory for an nkey");
	k->type = t;
	memcpy(k->seed, seed, XORB_NKEY_RAW_LEN);
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, k->seed, XORB_NKEY_RAW_LEN);
	if (!pk || EVP_PKEY_get_raw_public_key(pk, k->pub, &publen) != 1 ||
	    publen != XORB_NKEY_RAW_LEN) {
		EVP_PKEY_free(pk);
		xorb_nkey_free(k);
		return xorb_error_set(err, XORB_EINVAL, "OpenSSL cannot derive the Ed25519 public key");
	}
	EVP_PKEY_free(pk);
	*out = k;
	return XORB_OK;
}

int xorb_nkey_generate(enum xorb_nkey_type t, struct xorb_nkey **out, struct xorb_error *err)
{
	unsigned char seed[XORB_NKEY_RAW_LEN];
	int rc;

	*out = NULL;
	if (RAND_priv_bytes(seed, sizeof(seed)) != 1)
		return xorb_error_set(err, XORB_EIO, "cannot read random bytes for a new %s nkey",
				      xorb_nkey_type_name(t));
	rc = xorb_nkey_from_raw(t, seed, out, err);
	explicit_bzero(seed, sizeof(seed));
	return rc;
}

int xorb_nkey_from_seed(const char *text, struct xorb_nkey **out, struct xorb_error *err)
{
	unsigned char raw[SEED_RAW + 8];
	enum xorb_nkey_type t;
	size_t len, n = 0;
	uint16_t crc;
	int rc;

	*out = NULL;
	if (!text)
		return xorb_error_set(err, XORB_EINVAL, "nkey seed is missing");
	while (isspace((unsigned char)*text))
		text++;
	len = strlen(text);
	while (len && isspace((unsigned char)text[len - 1]))
		len--;
	if (len != XORB_NKEY_SEED_LEN)
		return xorb_error_set(err, XORB_EINVAL,
				      "nkey seed is %zu characters long, a seed has %d", len,
				      XORB_NKEY_SEED_LEN);
	if (text[0] != 'S')
		return xorb_error_set(err, XORB_EINVAL,
				      "nkey seed starts with '%c', a seed starts with 'S' (a public key is not a seed)",
				      isprint((unsigned char)text[0]) ? text[0] : '?');
	if (xorb_base32_decode(text, len, raw, sizeof(raw), &n) || n != SEED_RAW) {
		explicit_bzero(raw, sizeof(raw));
		return xorb_error_set(err, XORB_EINVAL,
				      "nkey seed is not valid base32 (RFC 4648, upper case, no padding)");
	}
	crc = (uint16_t)(raw[SEED_RAW - 2] | raw[SEED_RAW - 1] << 8);
	if (crc != xorb_crc16_xmodem(raw, SEED_RAW - 2)) {
		explicit_bzero(raw, sizeof(raw));
		return xorb_error_set(err, XORB_EINVAL, "nkey seed fails its CRC-16 check (mistyped or truncated?)");
	}
	if ((raw[0] & 0xf8) != PREFIX_SEED || (raw[1] & 7) ||
	    prefix_type((unsigned char)((raw[0] & 7) << 5 | raw[1] >> 3), &t)) {
		explicit_bzero(raw, sizeof(raw));
		return xorb_error_set(err, XORB_EINVAL,
				      "nkey seed \"%.2s...\" is not an operator, account or user seed", text);
	}
	rc = xorb_nkey_from_raw(t, raw + 2, out, err);
	explicit_bzero(raw, sizeof(raw));
	return rc;
}

static void encode_public(enum xorb_nkey_type t, const unsigned char pub[XORB_NKEY_RAW_LEN],
			  char out[XORB_NKEY_PUBLIC_LEN + 1])
{
	unsigned char raw[PUBLIC_RAW];
	uint16_t crc;

	raw[0] = type_prefix(t);
	memcpy(raw + 1, pub, XORB_NKEY_RAW_LEN);
	crc = xorb_crc16_xmodem(raw, PUBLIC_RAW - 2);
	raw[PUBLIC_RAW - 2] = (unsigned char)(crc & 0xff);
	raw[PUBLIC_RAW - 1] = (unsigned char)(crc >> 8);
	xorb_base32_encode(raw, sizeof(raw), out);
}

int xorb_nkey_public(const struct xorb_nkey *k, char out[XORB_NKEY_PUBLIC_LEN + 1])
{
	if (!k)
		return -1;
	encode_public(k->type, k->pub, out);
	return 0;
}

int xorb_nkey_seed(const struct xorb_nkey *k, char out[XORB_NKEY_SEED_LEN + 1])
{
	unsigned char raw[SEED_RAW];
	unsigned char p;
	uint16_t crc;

	if (!k)
		return -1;
	p = type_prefix(k->type);
	raw[0] = (unsigned char)(PREFIX_SEED | p >> 5);
	raw[1] = (unsigned char)((p & 31) << 3);
	memcpy(raw + 2, k->seed, XORB_NKEY_RAW_LEN);
	crc = xorb_crc16_xmodem(raw, SEED_RAW - 2);
	raw[SEED_RAW - 2] = (unsigned char)(crc & 0xff);
	raw[SEED_RAW - 1] = (unsigned char)(crc >> 8);
	xorb_base32_encode(raw, sizeof(raw), out);
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

enum xorb_nkey_type xorb_nkey_type(const struct xorb_nkey *k)
{
	return k->type;
}

int xorb_nkey_sign(const struct xorb_nkey *k, const void *data, size_t len,
		   unsigned char sig[XORB_NKEY_SIG_LEN], struct xorb_error *err)
{
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY *pk;
	size_t siglen = XORB_NKEY_SIG_LEN;
	int ok;

	if (!k)
		return xorb_error_set(err, XORB_EINVAL, "no nkey to sign with");
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, k->seed, XORB_NKEY_RAW_LEN);
	ctx = pk ? EVP_MD_CTX_new() : NULL;
	ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk) == 1 &&
	     EVP_DigestSign(ctx, sig, &siglen, data ? data : (const void *)"", len) == 1 &&
	     siglen == XORB_NKEY_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	if (!ok)
		return xorb_error_set(err, XORB_ENOMEM, "OpenSSL cannot sign with the %s nkey",
				      xorb_nkey_type_name(k->type));
	return XORB_OK;
}

int xorb_nkey_public_decode(const char *text, enum xorb_nkey_type *t,
			    unsigned char pub[XORB_NKEY_RAW_LEN])
{
	unsigned char raw[PUBLIC_RAW + 8];
	size_t n = 0;
	uint16_t crc;

	if (!text || strlen(text) != XORB_NKEY_PUBLIC_LEN ||
	    xorb_base32_decode(text, XORB_NKEY_PUBLIC_LEN, raw, sizeof(raw), &n) || n != PUBLIC_RAW)
		return -1;
	crc = (uint16_t)(raw[PUBLIC_RAW - 2] | raw[PUBLIC_RAW - 1] << 8);
	if (crc != xorb_crc16_xmodem(raw, PUBLIC_RAW - 2) || prefix_type(raw[0], t))
		return -1;
	memcpy(pub, raw + 1, XORB_NKEY_RAW_LEN);
	return 0;
}

int xorb_nkey_public_valid(const char *text, enum xorb_nkey_type t)
{
	unsigned char pub[XORB_NKEY_RAW_LEN];
	enum xorb_nkey_type got;

	return xorb_nkey_public_decode(text, &got, pub) == 0 && got == t;
}

int xorb_nkey_verify(const char *public_text, const void *data, size_t len,
		     const unsigned char sig[XORB_NKEY_SIG_LEN])
{
	unsigned char pub[XORB_NKEY_RAW_LEN];
	enum xorb_nkey_type t;
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY *pk;
	int ok;

	if (xorb_nkey_public_decode(public_text, &t, pub))
		return XORB_EINVAL;
	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, sizeof(pub));
	ctx = pk ? EVP_MD_CTX_new() : NULL;
	ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
	     EVP_DigestVerify(ctx, sig, XORB_NKEY_SIG_LEN, data ? data : (const void *)"", len) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return ok ? XORB_OK : XORB_ECORRUPT;
}

void xorb_nkey_free(struct xorb_nkey *k)
{
	if (!k)
		return;
	explicit_bzero(k, sizeof(*k));
	free(k);
}

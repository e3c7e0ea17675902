/* age v1 over OpenSSL 3 EVP: see xorb_age.h. */
#include "xorb_age.h"
#include "xorb_nkeys.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "xorb_bech32.h"
#include "xorb_keys.h" /* xorb_read_file */

#define INTRO "age-encryption.org/v1"
#define INTRO_PREFIX "age-encryption.org/"
#define ARMOR_BEGIN "-----BEGIN AGE ENCRYPTED FILE-----"
#define X25519_INFO "age-encryption.org/v1/X25519"
#define IDENTITY_HRP "AGE-SECRET-KEY-"
#define RECIPIENT_HRP "age"

#define VERSION_LINE_MAX 256 /* a longer first line is refused before the rest is read */
#define BODY_LINE_COLS 64
#define BODY_LINE_BYTES 48
#define WRAPPED_LEN (XORB_AGE_FILE_KEY_LEN + XORB_AGE_TAG_LEN) /* an X25519 or scrypt body */
#define FULL_CHUNK (XORB_AGE_CHUNK + XORB_AGE_TAG_LEN)
#define HEADER_READ_STEP 4096
#define SCRYPT_LOG2_MAX 64 /* 2^64 is beyond any machine: a larger work factor is malformed */

const char *xorb_age_fail_str(enum xorb_age_fail f)
{
	switch (f) {
	case XORB_AGE_FAIL_NONE: return "no failure";
	case XORB_AGE_FAIL_NOT_AGE: return "not an age file";
	case XORB_AGE_FAIL_UNSUPPORTED: return "unsupported age feature";
	case XORB_AGE_FAIL_HEADER: return "malformed age header";
	case XORB_AGE_FAIL_NO_MATCH: return "no identity matches";
	case XORB_AGE_FAIL_HEADER_MAC: return "header MAC mismatch";
	case XORB_AGE_FAIL_CHUNK: return "payload chunk authentication failure";
	case XORB_AGE_FAIL_TRUNCATED: return "truncated age file";
	case XORB_AGE_FAIL_TRAILING: return "trailing data after the age payload";
	case XORB_AGE_FAIL_READ: return "read error";
	case XORB_AGE_FAIL_INTERNAL: return "out of memory or OpenSSL failure";
	}
	return "unknown age failure";
}

/* ---- base64 (standard alphabet, no padding): xorb_nkeys.c's codec ---- */

size_t xorb_age_b64_len(size_t n)
{
	return xorb_base64url_len(n);
}

void xorb_age_b64_encode(const void *data, size_t n, char *out)
{
	xorb_base64_encode_alpha(xorb_b64_std, data, n, out);
}

int xorb_age_b64_decode(const char *text, size_t len, unsigned char *out, size_t cap,
			size_t *outlen)
{
	return xorb_base64_decode_alpha(xorb_b64_std, text, len, out, cap, outlen);
}

/* ---- primitives, all through EVP ---- */

/* HKDF-SHA-256 (extract then expand) to 32 bytes. An empty salt is left
 * out: HKDF then uses a block of zeros, which is the same HMAC key. */
static int hkdf_sha256(const unsigned char *ikm, size_t ikm_len, const unsigned char *salt,
		       size_t salt_len, const char *info, unsigned char out[32])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[5], *p = params;
	int ok;

	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	if (salt_len)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
	*p = OSSL_PARAM_construct_end();
	ok = ctx && EVP_KDF_derive(ctx, out, 32, params) == 1;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : -1;
}

static int hmac_sha256(const unsigned char key[32], const void *data, size_t len,
		       unsigned char out[32])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = ctx && EVP_MAC_init(ctx, key, 32, params) == 1 && EVP_MAC_update(ctx, data, len) == 1 &&
	     EVP_MAC_final(ctx, out, &outl, 32) == 1 && outl == 32;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok ? 0 : -1;
}

/*
 * ChaCha20-Poly1305 of len bytes from in to out (they may be the same
 * buffer), with a 12-byte nonce and no associated data. key NULL keeps the
 * key c already has (one key schedule per file). Sealing writes tag; opening
 * checks it: -1 when it does not match (out then holds unauthenticated bytes
 * that the caller wipes).
 */
static int aead(EVP_CIPHER_CTX *c, int enc, const unsigned char *key,
		const unsigned char nonce[12], const unsigned char *in, size_t len, unsigned char *out,
		unsigned char tag[XORB_AGE_TAG_LEN])
{
	int outl = 0, fl = 0;

	if (EVP_CipherInit_ex(c, key ? EVP_chacha20_poly1305() : NULL, NULL, key, nonce, enc) != 1)
		return -1;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, XORB_AGE_TAG_LEN, tag) != 1)
		return -1;
	if (len && (EVP_CipherUpdate(c, out, &outl, in, (int)len) != 1 || (size_t)outl != len))
		return -1;
	if (EVP_CipherFinal_ex(c, out + outl, &fl) != 1)
		return -1;
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, XORB_AGE_TAG_LEN, tag) != 1)
		return -1;
	return 0;
}

/* Loads the payload key into c once; each chunk then sets only its nonce
 * (aead with key NULL), which saves a key setup per chunk. */
static int aead_set_key(EVP_CIPHER_CTX *c, const unsigned char key[32], int enc)
{
	return EVP_CipherInit_ex(c, EVP_chacha20_poly1305(), NULL, key, NULL, enc) == 1 ? 0 : -1;
}

/* The file key wrapped or unwrapped with a one-time key (zero nonce). */
static int wrap_key(const unsigned char key[32], int enc, const unsigned char *in,
		    unsigned char *out)
{
	static const unsigned char zero_nonce[12];
	unsigned char tag[XORB_AGE_TAG_LEN];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int rc;

	if (!c)
		return -1;
	if (!enc)
		memcpy(tag, in + XORB_AGE_FILE_KEY_LEN, XORB_AGE_TAG_LEN);
	rc = aead(c, enc, key, zero_nonce, in, XORB_AGE_FILE_KEY_LEN, out, tag);
	if (rc == 0 && enc)
		memcpy(out + XORB_AGE_FILE_KEY_LEN, tag, XORB_AGE_TAG_LEN);
	if (rc && !enc)
		OPENSSL_cleanse(out, XORB_AGE_FILE_KEY_LEN);
	EVP_CIPHER_CTX_free(c);
	ERR_clear_error();
	return rc;
}

static int x25519_public(const unsigned char priv[32], unsigned char pub[32])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
	size_t n = 32;
	int ok = k && EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == 32;

	EVP_PKEY_free(k);
	return ok ? 0 : -1;
}

/*
 * X25519(priv, peer). 0 with the shared secret in out; 1 when it is all zero
 * (peer is a low-order point: the spec says abort); -1 when OpenSSL fails.
 * OpenSSL itself refuses to derive an all-zero secret (ossl_x25519 returns 0
 * for it), so a failing derive with both keys loaded means exactly that.
 */
static int x25519_shared(const unsigned char priv[32], const unsigned char peer[32],
			 unsigned char out[32])
{
	static const unsigned char zero[32];
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
	EVP_PKEY *p = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, 32);
	EVP_PKEY_CTX *ctx = k && p ? EVP_PKEY_CTX_new(k, NULL) : NULL;
	size_t n = 32;
	int rc = -1;

	if (ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, p) == 1) {
		if (EVP_PKEY_derive(ctx, out, &n) == 1 && n == 32)
			rc = CRYPTO_memcmp(out, zero, 32) == 0 ? 1 : 0;
		else
			rc = 1;
	}
	if (rc)
		OPENSSL_cleanse(out, 32);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(p);
	EVP_PKEY_free(k);
	ERR_clear_error();
	return rc;
}

/* The X25519 wrap key of a stanza: HKDF(shared, share || recipient, info). */
static int x25519_wrap_key(const unsigned char shared[32], const unsigned char share[32],
			   const unsigned char recipient[32], unsigned char out[32])
{
	unsigned char salt[64];

	memcpy(salt, share, 32);
	memcpy(salt + 32, recipient, 32);
	return hkdf_sha256(shared, 32, salt, sizeof(salt), X25519_INFO, out);
}

/* ---- keys ---- */

struct xorb_age_identity {
	unsigned char secret[XORB_AGE_KEY_LEN];
	unsigned char pub[XORB_AGE_KEY_LEN];
};

static int has_prefix(const char *text, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(text, prefix, n) == 0;
}

static int has_prefix_nocase(const char *text, size_t len, const char *prefix)
{
	size_t n = strlen(prefix), i;

	if (len < n)
		return 0;
	for (i = 0; i < n; i++) {
		char a = text[i], b = prefix[i];

		if (a >= 'a' && a <= 'z')
			a = (char)(a - 'a' + 'A');
		if (b >= 'a' && b <= 'z')
			b = (char)(b - 'a' + 'A');
		if (a != b)
			return 0;
	}
	return 1;
}

int xorb_age_identity_from_raw(const unsigned char secret[XORB_AGE_KEY_LEN],
			       struct xorb_age_identity **out, struct xorb_error *err)
{
	struct xorb_age_identity *id;

	*out = NULL;
	id = OPENSSL_zalloc(sizeof(*id));
	if (!id)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory for an age identity");
	memcpy(id->secret, secret, XORB_AGE_KEY_LEN);
	if (x25519_public(id->secret, id->pub)) {
		xorb_age_identity_free(id);
		return xorb_error_set(err, XORB_ENOMEM, "OpenSSL cannot compute an X25519 public key");
	}
	*out = id;
	return XORB_OK;
}

int xorb_age_keygen(struct xorb_age_identity **out, struct xorb_error *err)
{
	unsigned char secret[XORB_AGE_KEY_LEN];
	int rc;

	*out = NULL;
	if (RAND_priv_bytes(secret, sizeof(secret)) != 1)
		return xorb_error_set(err, XORB_EIO, "cannot read random bytes for a new age identity");
	rc = xorb_age_identity_from_raw(secret, out, err);
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

int xorb_age_identity_parse(const char *text, size_t len, struct xorb_age_identity **out,
			    struct xorb_error *err)
{
	unsigned char raw[XORB_AGE_KEY_LEN + 8];
	char hrp[32];
	size_t n = 0;
	int rc;

	*out = NULL;
	if (!text)
		return xorb_error_set(err, XORB_EINVAL, "age identity is missing");
	if (has_prefix_nocase(text, len, "AGE-SECRET-KEY-PQ-1"))
		return xorb_error_set(err, XORB_EUNSUPPORTED,
				      "a post-quantum age identity (AGE-SECRET-KEY-PQ-1...) is not supported: use an X25519 identity (AGE-SECRET-KEY-1..., from age-keygen without -pq)");
	if (has_prefix_nocase(text, len, "AGE-PLUGIN-"))
		return xorb_error_set(err, XORB_EUNSUPPORTED,
				      "an age plugin identity (AGE-PLUGIN-...) is not supported: use an X25519 identity (AGE-SECRET-KEY-1...)");
	if (has_prefix(text, len, "age1"))
		return xorb_error_set(err, XORB_EINVAL,
				      "an age recipient (a public key, age1...) where an identity (AGE-SECRET-KEY-1...) is needed");
	if (!has_prefix_nocase(text, len, "AGE-SECRET-KEY-1"))
		return xorb_error_set(err, XORB_EINVAL,
				      "not an age identity: it does not start with \"AGE-SECRET-KEY-1\"");
	rc = xorb_bech32_decode(text, len, hrp, sizeof(hrp), raw, sizeof(raw), &n);
	if (rc != XORB_BECH32_OK) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return xorb_error_set(err, XORB_EINVAL, "malformed age identity: %s",
				      xorb_bech32_strerror(rc));
	}
	if (strcmp(hrp, IDENTITY_HRP)) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return xorb_error_set(err, XORB_EINVAL,
				      "malformed age identity: it must be written in upper case (AGE-SECRET-KEY-1...)");
	}
	if (n != XORB_AGE_KEY_LEN) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return xorb_error_set(err, XORB_EINVAL,
				      "malformed age identity: it holds %zu bytes, an X25519 key has %d", n,
				      XORB_AGE_KEY_LEN);
	}
	rc = xorb_age_identity_from_raw(raw, out, err);
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

int xorb_age_identity_format(const struct xorb_age_identity *id,
			     char out[XORB_AGE_IDENTITY_LEN + 1])
{
	if (!id)
		return -1;
	return xorb_bech32_encode(IDENTITY_HRP, id->secret, XORB_AGE_KEY_LEN, 1, out,
				  XORB_AGE_IDENTITY_LEN + 1) == XORB_BECH32_OK ? 0 : -1;
}

void xorb_age_recipient_format(const struct xorb_age_recipient *r,
			       char out[XORB_AGE_RECIPIENT_LEN + 1])
{
	xorb_bech32_encode(RECIPIENT_HRP, r->key, XORB_AGE_KEY_LEN, 0, out, XORB_AGE_RECIPIENT_LEN + 1);
}

int xorb_age_identity_recipient(const struct xorb_age_identity *id, struct xorb_age_recipient *r,
				char text[XORB_AGE_RECIPIENT_LEN + 1])
{
	struct xorb_age_recipient tmp;

	if (!id)
		return -1;
	memcpy(tmp.key, id->pub, XORB_AGE_KEY_LEN);
	if (r)
		*r = tmp;
	if (text)
		xorb_age_recipient_format(&tmp, text);
	return 0;
}

void xorb_age_identity_free(struct xorb_age_identity *id)
{
	if (!id)
		return;
	OPENSSL_clear_free(id, sizeof(*id));
}

int xorb_age_recipient_parse(const char *text, size_t len, struct xorb_age_recipient *out,
			     struct xorb_error *err)
{
	unsigned char raw[XORB_AGE_KEY_LEN + 8];
	char hrp[16];
	size_t n = 0, sep;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!text)
		return xorb_error_set(err, XORB_EINVAL, "age recipient is missing");
	if (has_prefix(text, len, "ssh-") || has_prefix(text, len, "ecdsa-sha2-"))
		return xorb_error_set(err, XORB_EUNSUPPORTED,
				      "SSH keys are not supported as age recipients: use an X25519 recipient (age1...)");
	if (has_prefix_nocase(text, len, "AGE-SECRET-KEY-"))
		return xorb_error_set(err, XORB_EINVAL,
				      "an age identity (a secret key) where a recipient (age1..., its public key: age-keygen -y) is needed");
	if (!has_prefix_nocase(text, len, "age1"))
		return xorb_error_set(err, XORB_EINVAL,
				      "not an age recipient: it does not start with \"age1\"");
	/* the HRP runs up to the last '1': "age" for X25519, "age1pq" and
	 * "age1tag" for the post-quantum and tag types, "age1NAME" for plugins */
	for (sep = len; sep > 0 && text[sep - 1] != '1'; sep--)
		;
	if (sep > 4 && has_prefix(text, len, "age1"))
		return xorb_error_set(err, XORB_EUNSUPPORTED,
				      "age recipient type \"%.*s\" is not supported (post-quantum, tag and plugin recipients are not): use an X25519 recipient (age1...)",
				      (int)(sep - 1 > 24 ? 24 : sep - 1), text);
	rc = xorb_bech32_decode(text, len, hrp, sizeof(hrp), raw, sizeof(raw), &n);
	if (rc != XORB_BECH32_OK)
		return xorb_error_set(err, XORB_EINVAL, "malformed age recipient: %s",
				      xorb_bech32_strerror(rc));
	if (strcmp(hrp, RECIPIENT_HRP))
		return xorb_error_set(err, XORB_EINVAL,
				      "malformed age recipient: it must be written in lower case (age1...)");
	if (n != XORB_AGE_KEY_LEN)
		return xorb_error_set(err, XORB_EINVAL,
				      "malformed age recipient: it holds %zu bytes, an X25519 key has %d", n,
				      XORB_AGE_KEY_LEN);
	memcpy(out->key, raw, XORB_AGE_KEY_LEN);
	return XORB_OK;
}

/* ---- identities and recipients files ---- */

/* Calls one(line, len, lineno, ctx) for each line that is neither empty nor a
 * comment. A CR before the LF is dropped (files edited on Windows). */
static int each_key_line(const char *text, size_t len,
			 int (*one)(const char *line, size_t len, size_t lineno, void *ctx), void *ctx)
{
	size_t pos = 0, lineno = 0;

	while (pos < len) {
		const char *l = text + pos, *lf = memchr(l, '\n', len - pos);
		size_t ll = lf ? (size_t)(lf - l) : len - pos;
		int rc;

		pos += ll + (lf ? 1 : 0);
		lineno++;
		if (ll && l[ll - 1] == '\r')
			ll--;
		if (ll == 0 || l[0] == '#')
			continue;
		rc = one(l, ll, lineno, ctx);
		if (rc)
			return rc;
	}
	return XORB_OK;
}

struct ids_ctx {
	const char *name;
	struct xorb_age_identity **v;
	size_t n, cap;
	struct xorb_error *err;
};

static int one_identity(const char *line, size_t len, size_t lineno, void *arg)
{
	struct ids_ctx *c = arg;
	struct xorb_age_identity *id = NULL;
	struct xorb_error e;
	int rc;

	if (c->n == XORB_AGE_KEYS_MAX)
		return xorb_error_set(c->err, XORB_ELIMIT,
				      "identities file \"%s\" has more than %d identities", c->name,
				      XORB_AGE_KEYS_MAX);
	xorb_error_clear(&e);
	rc = xorb_age_identity_parse(line, len, &id, &e);
	if (rc)
		return xorb_error_set(c->err, rc, "identities file \"%s\" line %zu: %s", c->name, lineno,
				      e.msg);
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4;
		struct xorb_age_identity **v = realloc(c->v, cap * sizeof(*v));

		if (!v) {
			xorb_age_identity_free(id);
			return xorb_error_set(c->err, XORB_ENOMEM, "out of memory reading \"%s\"", c->name);
		}
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = id;
	return XORB_OK;
}

int xorb_age_identities_parse(const char *text, size_t len, const char *name,
			      struct xorb_age_identity ***ids, size_t *n, struct xorb_error *err)
{
	struct ids_ctx c = { name ? name : "-", NULL, 0, 0, err };
	int rc;

	*ids = NULL;
	*n = 0;
	if (len > XORB_AGE_KEYS_FILE_MAX)
		return xorb_error_set(err, XORB_ELIMIT, "identities file \"%s\" is larger than %d bytes",
				      c.name, XORB_AGE_KEYS_FILE_MAX);
	rc = each_key_line(text, len, one_identity, &c);
	if (rc == XORB_OK && c.n == 0)
		rc = xorb_error_set(err, XORB_EINVAL,
				    "identities file \"%s\" holds no identity (AGE-SECRET-KEY-1... line)",
				    c.name);
	if (rc) {
		xorb_age_identities_free(c.v, c.n);
		return rc;
	}
	*ids = c.v;
	*n = c.n;
	return XORB_OK;
}

int xorb_age_identities_read_file(const char *path, struct xorb_age_identity ***ids, size_t *n,
				  struct xorb_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	rc = xorb_read_file(path, XORB_AGE_KEYS_FILE_MAX, &text, &len, err);
	if (rc)
		return xorb_error_prefix(err, "age identities: ");
	rc = xorb_age_identities_parse(text, len, path, ids, n, err);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

void xorb_age_identities_free(struct xorb_age_identity **ids, size_t n)
{
	size_t i;

	if (!ids)
		return;
	for (i = 0; i < n; i++)
		xorb_age_identity_free(ids[i]);
	free(ids);
}

struct rcpt_ctx {
	const char *name;
	struct xorb_age_recipient *v;
	size_t n, cap;
	struct xorb_error *err;
};

static int one_recipient(const char *line, size_t len, size_t lineno, void *arg)
{
	struct rcpt_ctx *c = arg;
	struct xorb_age_recipient r;
	struct xorb_error e;
	int rc;

	if (c->n == XORB_AGE_KEYS_MAX)
		return xorb_error_set(c->err, XORB_ELIMIT,
				      "recipients file \"%s\" has more than %d recipients", c->name,
				      XORB_AGE_KEYS_MAX);
	xorb_error_clear(&e);
	rc = xorb_age_recipient_parse(line, len, &r, &e);
	if (rc)
		return xorb_error_set(c->err, rc, "recipients file \"%s\" line %zu: %s", c->name, lineno,
				      e.msg);
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4;
		struct xorb_age_recipient *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return xorb_error_set(c->err, XORB_ENOMEM, "out of memory reading \"%s\"", c->name);
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = r;
	return XORB_OK;
}

int xorb_age_recipients_parse(const char *text, size_t len, const char *name,
			      struct xorb_age_recipient **rs, size_t *n, struct xorb_error *err)
{
	struct rcpt_ctx c = { name ? name : "-", NULL, 0, 0, err };
	int rc;

	*rs = NULL;
	*n = 0;
	if (len > XORB_AGE_KEYS_FILE_MAX)
		return xorb_error_set(err, XORB_ELIMIT, "recipients file \"%s\" is larger than %d bytes",
				      c.name, XORB_AGE_KEYS_FILE_MAX);
	rc = each_key_line(text, len, one_recipient, &c);
	if (rc == XORB_OK && c.n == 0)
		rc = xorb_error_set(err, XORB_EINVAL, "recipients file \"%s\" holds no recipient (age1... line)",
				    c.name);
	if (rc) {
		free(c.v);
		return rc;
	}
	*rs = c.v;
	*n = c.n;
	return XORB_OK;
}

int xorb_age_recipients_read_file(const char *path, struct xorb_age_recipient **rs, size_t *n,
				  struct xorb_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	*rs = NULL;
	*n = 0;
	rc = xorb_read_file(path, XORB_AGE_KEYS_FILE_MAX, &text, &len, err);
	if (rc)
		return xorb_error_prefix(err, "age recipients: ");
	rc = xorb_age_recipients_parse(text, len, path, rs, n, err);
	/* a secret key given by mistake as a recipients file must not linger */
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

/* ---- header ---- */

static int put_stanza(struct xorb_buf *b, const char *type, const char *const *args, size_t nargs,
		      const unsigned char *body, size_t body_len)
{
	char line[BODY_LINE_COLS + 1];
	size_t i, off = 0;

	if (xorb_buf_puts(b, "-> ") || xorb_buf_puts(b, type))
		return -1;
	for (i = 0; i < nargs; i++)
		if (xorb_buf_puts(b, " ") || xorb_buf_puts(b, args[i]))
			return -1;
	if (xorb_buf_puts(b, "\n"))
		return -1;
	/* full 64-column lines, then a shorter one, empty when the body fills
	 * its last line exactly: that short line is what ends a stanza */
	for (;;) {
		size_t take = body_len - off < BODY_LINE_BYTES ? body_len - off : BODY_LINE_BYTES;

		xorb_age_b64_encode(body + off, take, line);
		if (xorb_buf_puts(b, line) || xorb_buf_puts(b, "\n"))
			return -1;
		off += take;
		if (take < BODY_LINE_BYTES)
			return 0;
	}
}

struct header_impl {
	struct xorb_age_header pub; /* first: the public part is what callers hold */
	char *text;		    /* the header's argument lines, NUL-separated */
	const char **argv;
	unsigned char *bodies;
};

void xorb_age_header_free(struct xorb_age_header *h)
{
	struct header_impl *hi = (struct header_impl *)h;

	if (!hi)
		return;
	free(hi->text);
	free(hi->argv);
	free(hi->bodies);
	free(hi->pub.stanzas);
	free(hi);
}

int xorb_age_header_format(const struct xorb_age_header *h, struct xorb_buf *out,
			   struct xorb_error *err)
{
	char mac[XORB_AGE_MAC_LEN * 2];
	size_t i;

	if (xorb_buf_puts(out, INTRO "\n"))
		goto nomem;
	for (i = 0; i < h->nstanzas; i++) {
		const struct xorb_age_stanza *s = &h->stanzas[i];

		if (put_stanza(out, s->type, s->args, s->nargs, s->body, s->body_len))
			goto nomem;
	}
	xorb_age_b64_encode(h->mac, XORB_AGE_MAC_LEN, mac);
	if (xorb_buf_puts(out, "--- ") || xorb_buf_puts(out, mac) || xorb_buf_puts(out, "\n"))
		goto nomem;
	return XORB_OK;
nomem:
	return xorb_error_set(err, XORB_ENOMEM, "out of memory formatting an age header");
}

/* Sets *why and the error; returns the status that goes with the kind. */
static int age_fail(struct xorb_error *err, enum xorb_age_fail *why, enum xorb_age_fail kind,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int kind_status(enum xorb_age_fail kind)
{
	switch (kind) {
	case XORB_AGE_FAIL_NONE: return XORB_OK;
	case XORB_AGE_FAIL_NOT_AGE: return XORB_EINVAL;
	case XORB_AGE_FAIL_UNSUPPORTED: return XORB_EUNSUPPORTED;
	case XORB_AGE_FAIL_NO_MATCH: return XORB_EAUTH;
	case XORB_AGE_FAIL_READ: return XORB_EIO;
	case XORB_AGE_FAIL_INTERNAL: return XORB_ENOMEM;
	case XORB_AGE_FAIL_HEADER:
	case XORB_AGE_FAIL_HEADER_MAC:
	case XORB_AGE_FAIL_CHUNK:
	case XORB_AGE_FAIL_TRUNCATED:
	case XORB_AGE_FAIL_TRAILING: return XORB_ECORRUPT;
	}
	return XORB_ECORRUPT;
}

static int age_fail(struct xorb_error *err, enum xorb_age_fail *why, enum xorb_age_fail kind,
		    const char *fmt, ...)
{
	int code = kind_status(kind);
	va_list ap;

	if (why)
		*why = kind;
	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

static int parse_nomem(struct xorb_error *err, enum xorb_age_fail *why)
{
	return age_fail(err, why, XORB_AGE_FAIL_INTERNAL, "out of memory parsing an age header");
}

static int is_vchar(unsigned char c)
{
	return c >= 33 && c <= 126;
}

/*
 * The version line at the start of p (len bytes). XORB_OK with *more = 1 when
 * more bytes are needed to decide, else with *next = the length of the line
 * and its LF; or a failure. Looks at no more than VERSION_LINE_MAX bytes, so
 * that a reader can refuse a file that is not age after its first bytes.
 */
static int check_intro(const unsigned char *p, size_t len, size_t *next, int *more,
		       enum xorb_age_fail *why, struct xorb_error *err)
{
	const size_t plen = strlen(INTRO_PREFIX), alen = strlen(ARMOR_BEGIN);
	const unsigned char *lf;
	size_t ll, i;

	*more = 0;
	*next = 0;
	if (len == 0) {
		*more = 1;
		return XORB_OK;
	}
	if (memcmp(p, INTRO_PREFIX, len < plen ? len : plen)) {
		if (memcmp(p, ARMOR_BEGIN, len < alen ? len : alen) == 0) {
			if (len < alen) {
				*more = 1;
				return XORB_OK;
			}
			return age_fail(err, why, XORB_AGE_FAIL_UNSUPPORTED,
					"an ASCII-armored age file (\"" ARMOR_BEGIN "\"): the armor is not supported, only binary age files are");
		}
		return age_fail(err, why, XORB_AGE_FAIL_NOT_AGE,
				"not an age file: it does not start with \"" INTRO_PREFIX "\"");
	}
	lf = memchr(p, '\n', len < VERSION_LINE_MAX ? len : VERSION_LINE_MAX);
	if (!lf) {
		if (len >= VERSION_LINE_MAX)
			return age_fail(err, why, XORB_AGE_FAIL_HEADER,
					"malformed age header: the version line is longer than %d bytes",
					VERSION_LINE_MAX);
		*more = 1;
		return XORB_OK;
	}
	ll = (size_t)(lf - p);
	if (ll == strlen(INTRO) && memcmp(p, INTRO, ll) == 0) {
		*next = ll + 1;
		return XORB_OK;
	}
	if (ll > plen && p[ll - 1] == '\r')
		return age_fail(err, why, XORB_AGE_FAIL_HEADER,
				"malformed age header: the version line ends with CR LF, age headers use LF line ends");
	for (i = plen; i < ll; i++)
		if (!is_vchar(p[i]))
			break;
	if (ll == plen || i < ll)
		return age_fail(err, why, XORB_AGE_FAIL_HEADER, "malformed age header: bad version line");
	return age_fail(err, why, XORB_AGE_FAIL_UNSUPPORTED,
			"age format version \"%.*s\" is not supported, only \"v1\" is",
			(int)(ll - plen > 40 ? 40 : ll - plen), (const char *)p + plen);
}

struct parse_stanza {
	size_t arg0, nargs, body_off, body_len;
};

struct parser {
	const unsigned char *p;
	size_t lim, pos, line; /* line: number of the line last returned (1-based) */
	int more;	       /* bytes exist beyond lim (the header cap) */
	struct parse_stanza *st;
	size_t nst, capst;
	size_t *argoff;
	size_t nargs, capargs;
	struct xorb_buf bodies;
};

/* The next complete line: 0 with *l, *ll (without the LF); 1 when no LF
 * comes before the end of the data (or the header cap). */
static int next_line(struct parser *ps, const unsigned char **l, size_t *ll)
{
	const unsigned char *lf;

	if (ps->pos >= ps->lim)
		return 1;
	lf = memchr(ps->p + ps->pos, '\n', ps->lim - ps->pos);
	if (!lf)
		return 1;
	*l = ps->p + ps->pos;
	*ll = (size_t)(lf - *l);
	ps->pos += *ll + 1;
	ps->line++;
	return 0;
}

static int ended_early(struct parser *ps, enum xorb_age_fail *why, struct xorb_error *err)
{
	if (ps->more)
		return age_fail(err, why, XORB_AGE_FAIL_HEADER,
				"malformed age header: no end (\"---\" line) in its first %d bytes",
				XORB_AGE_HEADER_MAX);
	return age_fail(err, why, XORB_AGE_FAIL_TRUNCATED,
			"truncated age file: it ends inside the header (line %zu, after %zu bytes)",
			ps->line + 1, ps->lim);
}

static int push_arg(struct parser *ps, size_t off)
{
	if (ps->nargs == ps->capargs) {
		size_t cap = ps->capargs ? ps->capargs * 2 : 16;
		size_t *v = realloc(ps->argoff, cap * sizeof(*v));

		if (!v)
			return -1;
		ps->argoff = v;
		ps->capargs = cap;
	}
	ps->argoff[ps->nargs++] = off;
	return 0;
}

static int has_byte(const unsigned char *l, size_t ll, unsigned char c)
{
	return memchr(l, c, ll) != NULL;
}

/* A stanza's first line, "-> " and the arguments (without the LF). */
static int parse_arg_line(struct parser *ps, const unsigned char *l, size_t ll,
			  enum xorb_age_fail *why, struct xorb_error *err)
{
	size_t i, start, off = (size_t)(l - ps->p);
	struct parse_stanza *s;

	if (ps->nst == XORB_AGE_STANZAS_MAX)
		return age_fail(err, why, XORB_AGE_FAIL_HEADER,
				"malformed age header: more than %d recipient stanzas", XORB_AGE_STANZAS_MAX);
	if (ll < 3 || l[2] != ' ')
		return age_fail(err, why, XORB_AGE_FAIL_HEADER,
				"malformed age header: line %zu: a stanza line is \"-> \" and at least one argument",
				ps->line);
	if (has_byte(l, ll, '\r'))
		return age_fail(err, why, XORB_AGE_FAIL_HEADER,
				"malformed age header: line %zu ends with CR LF, age headers use LF line ends",
				ps->line);
	if (ps->nst == ps->capst) {
		size_t cap = ps->capst ? ps->capst * 2 : 4;
		struct parse_stanza *v = realloc(ps->st, cap * sizeof(*v));

		if (!v)
			return parse_nomem(err, why);
		ps->st = v;
		ps->capst = cap;
	}
	s = &ps->st[ps->nst];
	memset(s, 0, sizeof(*s));
	s->arg0 = ps->nargs;
	/* arguments: 1*VCHAR each, separated by exactly one space */
	for (start = 3, i = 3; i <= ll; i++) {
		if (i < ll && l[i] != ' ') {
			if (!is_vchar(l[i]))
				return age_fail(err, why, XORB_AGE_FAIL_HEADER,
						"malformed age header: line %zu: byte 0x%02x in a stanza argument (printable ASCII only)",
						ps->line, l[i]);
			continue;
		}
		if (i == start)
			return age_fail(err, why, XORB_AGE_FAIL_HEADER,
					"malformed age header: line %zu: an empty stanza argument (two spaces, or a space at the end)",
					ps->line);
		if (push_arg(ps, off + start))
			return parse_nomem(err, why);
		s->nargs++;
		start = i + 1;
	}
	return XORB_OK;
}

/* Body lines of the stanza just opened, up to its short final line. */
static int parse_body(struct parser *ps, enum xorb_age_fail *why, struct xorb_error *err)
{
	struct parse_stanza *s = &ps->st[ps->nst];
	unsigned char bytes[BODY_LINE_BYTES];
	const unsigned char *l;
	size_t ll, n;

	s->body_off = ps->bodies.len;
	for (;;) {
		if (next_line(ps, &l, &ll))
			return ended_early(ps, why, err);
		if ((ll >= 2 && !memcmp(l, "->", 2)) || (ll >= 3 && !memcmp(l, "---", 3)))
			return age_fail(err, why, XORB_AGE_FAIL_HEADER,
					"malformed age header: line %zu: stanza %zu ends with a full %d-column body line, a shorter final line (possibly empty) must follow it",
					ps->line, ps->nst + 1, BODY_LINE_COLS);
		if (ll > BODY_LINE_COLS)
			return age_fail(err, why, XORB_AGE_FAIL_HEADER,
					"malformed age header: line %zu: a stanza body line longer than %d columns",
					ps->line, BODY_LINE_COLS);
		if (has_byte(l, ll, '='))
			return age_fail(err, why, XORB_AGE_FAIL_HEADER,
					"malformed age header: line %zu: base64 padding ('=') in a stanza body, age base64 has none",
					ps->line);
		if (has_byte(l, ll, '\r'))
			return age_fail(err, why, XORB_AGE_FAIL_HEADER,
					"malformed age header: line %zu ends with CR LF, age headers use LF line ends",
					ps->line);
		if (xorb_age_b64_decode((const char *)l, ll, bytes, sizeof(bytes), &n))
			return age_fail(err, why, XORB_AGE_FAIL_HEADER,
					"malformed age header: line %zu: a stanza body line that is not canonical base64",
					ps->line);
		if (xorb_buf_append(&ps->bodies, bytes, n))
			return parse_nomem(err, why);
		s->body_len += n;
		if (ll < BODY_LINE_COLS)
			return XORB_OK;
	}
}

static int decode_exact(const char *text, unsigned char *out, size_t want)
{
	size_t n = 0;

	return xorb_age_b64_decode(text, strlen(text), out, want, &n) == 0 && n == want ? 0 : -1;
}

/* The rules of the stanza types this module knows (spec: "The X25519
 * recipient type", "The scrypt recipient type"). */
static int check_known_stanzas(const struct xorb_age_header *h, enum xorb_age_fail *why,
			       struct xorb_error *err)
{
	unsigned char buf[32];
	size_t i;

	for (i = 0; i < h->nstanzas; i++) {
		const struct xorb_age_stanza *s = &h->stanzas[i];

		if (!strcmp(s->type, "X25519")) {
			if (s->nargs != 1)
				return age_fail(err, why, XORB_AGE_FAIL_HEADER,
						"malformed age header: X25519 stanza %zu has %zu arguments, it has exactly one (the ephemeral share)",
						i + 1, s->nargs);
			if (decode_exact(s->args[0], buf, 32))
				return age_fail(err, why, XORB_AGE_FAIL_HEADER,
						"malformed age header: X25519 stanza %zu: the ephemeral share is not the canonical base64 of 32 bytes",
						i + 1);
			if (s->body_len != WRAPPED_LEN)
				return age_fail(err, why, XORB_AGE_FAIL_HEADER,
						"malformed age header: X25519 stanza %zu has a %zu-byte body, a wrapped file key is %d",
						i + 1, s->body_len, WRAPPED_LEN);
		} else if (!strcmp(s->type, "scrypt")) {
			const char *wf;
			size_t k;

			if (h->nstanzas != 1)
				return age_fail(err, why, XORB_AGE_FAIL_HEADER,
						"malformed age header: an scrypt (passphrase) stanza must be the only stanza, this header has %zu",
						h->nstanzas);
			if (s->nargs != 2)
				return age_fail(err, why, XORB_AGE_FAIL_HEADER,
						"malformed age header: the scrypt stanza has %zu arguments, it has two (salt, work factor)",
						s->nargs);
			if (decode_exact(s->args[0], buf, 16))
				return age_fail(err, why, XORB_AGE_FAIL_HEADER,
						"malformed age header: the scrypt salt is not the canonical base64 of 16 bytes");
			wf = s->args[1];
			for (k = 0; wf[k] >= '0' && wf[k] <= '9'; k++)
				;
			if (wf[0] < '1' || wf[0] > '9' || wf[k] || k > 2 || atoi(wf) > SCRYPT_LOG2_MAX)
				return age_fail(err, why, XORB_AGE_FAIL_HEADER,
						"malformed age header: the scrypt work factor \"%.20s\" is not a decimal number from 1 to %d without leading zeros",
						wf, SCRYPT_LOG2_MAX);
			if (s->body_len != WRAPPED_LEN)
				return age_fail(err, why, XORB_AGE_FAIL_HEADER,
						"malformed age header: the scrypt stanza has a %zu-byte body, a wrapped file key is %d",
						s->body_len, WRAPPED_LEN);
		}
	}
	return XORB_OK;
}

static int assemble(struct parser *ps, size_t hlen, const unsigned char mac[XORB_AGE_MAC_LEN],
		    size_t mac_input_len, struct xorb_age_header **out)
{
	struct header_impl *hi = calloc(1, sizeof(*hi));
	size_t i;

	if (!hi)
		return -1;
	hi->text = malloc(hlen + 1);
	hi->argv = malloc((ps->nargs ? ps->nargs : 1) * sizeof(*hi->argv));
	hi->pub.stanzas = calloc(ps->nst, sizeof(*hi->pub.stanzas));
	hi->bodies = malloc(ps->bodies.len ? ps->bodies.len : 1);
	if (!hi->text || !hi->argv || !hi->pub.stanzas || !hi->bodies) {
		xorb_age_header_free(&hi->pub);
		return -1;
	}
	memcpy(hi->text, ps->p, hlen);
	hi->text[hlen] = '\0';
	if (ps->bodies.len)
		memcpy(hi->bodies, ps->bodies.data, ps->bodies.len);
	/* every argument ends at a space or at the LF: cut the copy there */
	for (i = 0; i < ps->nargs; i++) {
		char *a = hi->text + ps->argoff[i];

		a[strcspn(a, " \n")] = '\0';
		hi->argv[i] = a;
	}
	for (i = 0; i < ps->nst; i++) {
		struct xorb_age_stanza *s = &hi->pub.stanzas[i];

		s->type = hi->argv[ps->st[i].arg0];
		s->args = hi->argv + ps->st[i].arg0 + 1;
		s->nargs = ps->st[i].nargs - 1;
		s->body = hi->bodies + ps->st[i].body_off;
		s->body_len = ps->st[i].body_len;
	}
	hi->pub.nstanzas = ps->nst;
	memcpy(hi->pub.mac, mac, XORB_AGE_MAC_LEN);
	hi->pub.mac_input_len = mac_input_len;
	hi->pub.len = hlen;
	*out = &hi->pub;
	return 0;
}

int xorb_age_header_parse(const void *data, size_t len, struct xorb_age_header **out,
			  enum xorb_age_fail *why, struct xorb_error *err)
{
	struct parser ps;
	unsigned char mac[XORB_AGE_MAC_LEN];
	const unsigned char *l;
	size_t ll, next = 0, n;
	int rc, more = 0;

	*out = NULL;
	if (why)
		*why = XORB_AGE_FAIL_NONE;
	memset(&ps, 0, sizeof(ps));
	xorb_buf_init(&ps.bodies);
	ps.p = data;
	ps.lim = len < XORB_AGE_HEADER_MAX ? len : XORB_AGE_HEADER_MAX;
	ps.more = len > XORB_AGE_HEADER_MAX;

	rc = check_intro(ps.p, ps.lim, &next, &more, why, err);
	if (rc)
		goto out;
	if (more) {
		if (len == 0)
			rc = age_fail(err, why, XORB_AGE_FAIL_NOT_AGE, "not an age file: it is empty");
		else
			rc = age_fail(err, why, XORB_AGE_FAIL_TRUNCATED,
				      "truncated age file: it ends inside the version line (%zu bytes)", len);
		goto out;
	}
	ps.pos = next;
	ps.line = 1;
	for (;;) {
		if (next_line(&ps, &l, &ll)) {
			rc = ended_early(&ps, why, err);
			goto out;
		}
		if (ll >= 3 && !memcmp(l, "---", 3)) {
			if (ll != 4 + 43 || l[3] != ' ' ||
			    xorb_age_b64_decode((const char *)l + 4, 43, mac, sizeof(mac), &n) ||
			    n != XORB_AGE_MAC_LEN) {
				rc = age_fail(err, why, XORB_AGE_FAIL_HEADER,
					      "malformed age header: line %zu: the MAC line is \"--- \" and the canonical base64 of 32 bytes",
					      ps.line);
				goto out;
			}
			if (ps.nst == 0) {
				rc = age_fail(err, why, XORB_AGE_FAIL_HEADER,
					      "malformed age header: no recipient stanza");
				goto out;
			}
			break;
		}
		if (ll < 2 || memcmp(l, "->", 2)) {
			rc = age_fail(err, why, XORB_AGE_FAIL_HEADER,
				      "malformed age header: line %zu starts with neither \"->\" (a stanza) nor \"---\" (the MAC)",
				      ps.line);
			goto out;
		}
		rc = parse_arg_line(&ps, l, ll, why, err);
		if (rc == XORB_OK)
			rc = parse_body(&ps, why, err);
		if (rc)
			goto out;
		ps.nst++;
	}
	if (assemble(&ps, ps.pos, mac, (size_t)(l - ps.p) + 3, out)) {
		rc = parse_nomem(err, why);
		goto out;
	}
	rc = check_known_stanzas(*out, why, err);
	if (rc) {
		xorb_age_header_free(*out);
		*out = NULL;
	}
out:
	free(ps.st);
	free(ps.argoff);
	xorb_buf_release(&ps.bodies);
	return rc;
}

/* ---- encryption ---- */

enum { ST_OPEN, ST_FINISHED, ST_FAILED };

struct xorb_age_enc {
	xorb_age_write_fn write;
	void *arg;
	struct xorb_buf head; /* header and payload nonce, until the first output */
	EVP_CIPHER_CTX *cctx; /* holds the payload key */
	uint64_t counter;
	unsigned char *buf; /* one chunk and its tag */
	size_t fill;
	int state;
	struct xorb_error failed;
	uint64_t plain, cipher;
};

static void chunk_nonce(uint64_t counter, int last, unsigned char nonce[12])
{
	int i;

	/* 11-byte big-endian counter: its top 3 bytes stay zero with a 64-bit
	 * counter, which cannot wrap before 2^64 chunks (2^80 bytes) */
	nonce[0] = nonce[1] = nonce[2] = 0;
	for (i = 0; i < 8; i++)
		nonce[3 + i] = (unsigned char)(counter >> (56 - 8 * i));
	nonce[11] = last ? 1 : 0;
}

static int enc_emit(struct xorb_age_enc *e, const void *data, size_t len)
{
	int rc;

	if (e->head.len) {
		xorb_error_clear(&e->failed);
		rc = e->write(e->arg, e->head.data, e->head.len, &e->failed);
		if (rc)
			goto fail;
		e->cipher += e->head.len;
		xorb_buf_release(&e->head);
	}
	xorb_error_clear(&e->failed);
	rc = len ? e->write(e->arg, data, len, &e->failed) : XORB_OK;
	if (rc)
		goto fail;
	e->cipher += len;
	return XORB_OK;
fail:
	if (!e->failed.code)
		xorb_error_set(&e->failed, rc, "writing the age file failed (%s)", xorb_status_str(rc));
	e->failed.code = rc;
	e->state = ST_FAILED;
	return rc;
}

static int enc_seal(struct xorb_age_enc *e, int last)
{
	unsigned char nonce[12];

	if (e->counter == UINT64_MAX) {
		e->state = ST_FAILED;
		return xorb_error_set(&e->failed, XORB_ELIMIT, "age payload chunk counter overflow");
	}
	chunk_nonce(e->counter, last, nonce);
	if (aead(e->cctx, 1, NULL, nonce, e->buf, e->fill, e->buf, e->buf + e->fill)) {
		e->state = ST_FAILED;
		return xorb_error_set(&e->failed, XORB_ENOMEM, "OpenSSL cannot encrypt an age payload chunk");
	}
	e->counter++;
	return enc_emit(e, e->buf, e->fill + XORB_AGE_TAG_LEN);
}

static int enc_sticky(const struct xorb_age_enc *e, struct xorb_error *err)
{
	if (e->state == ST_FINISHED)
		return xorb_error_set(err, XORB_EINVAL, "the age encryptor is finished");
	if (err)
		*err = e->failed;
	return e->failed.code ? e->failed.code : XORB_EIO;
}

/* One X25519 stanza wrapping file_key for r, appended to b. */
static int add_x25519_stanza(struct xorb_buf *b, const struct xorb_age_recipient *r, size_t index,
			     const unsigned char file_key[XORB_AGE_FILE_KEY_LEN],
			     struct xorb_error *err)
{
	unsigned char eph[32], share[32], shared[32], wrap[32], body[WRAPPED_LEN];
	char share_b64[48];
	const char *args[1] = { share_b64 };
	int rc = XORB_OK, x;

	if (RAND_priv_bytes(eph, sizeof(eph)) != 1) {
		rc = xorb_error_set(err, XORB_EIO, "cannot read random bytes for an age stanza");
		goto out;
	}
	if (x25519_public(eph, share)) {
		rc = xorb_error_set(err, XORB_ENOMEM, "OpenSSL cannot compute an X25519 public key");
		goto out;
	}
	x = x25519_shared(eph, r->key, shared);
	if (x) {
		char text[XORB_AGE_RECIPIENT_LEN + 1];

		xorb_age_recipient_format(r, text);
		rc = x > 0 ? xorb_error_set(err, XORB_EINVAL,
					    "age recipient %zu (\"%s\") is a low-order point: it cannot receive a file key",
					    index + 1, text) :
			     xorb_error_set(err, XORB_ENOMEM, "OpenSSL cannot compute X25519");
		goto out;
	}
	if (x25519_wrap_key(shared, share, r->key, wrap) || wrap_key(wrap, 1, file_key, body)) {
		rc = xorb_error_set(err, XORB_ENOMEM, "OpenSSL cannot wrap the age file key");
		goto out;
	}
	xorb_age_b64_encode(share, sizeof(share), share_b64);
	if (put_stanza(b, "X25519", args, 1, body, sizeof(body)))
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory building an age header");
out:
	OPENSSL_cleanse(eph, sizeof(eph));
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(wrap, sizeof(wrap));
	return rc;
}

int xorb_age_enc_new(struct xorb_age_enc **out, const struct xorb_age_recipient *r, size_t n,
		     xorb_age_write_fn write, void *arg, struct xorb_error *err)
{
	unsigned char file_key[XORB_AGE_FILE_KEY_LEN], hkey[32], mac[32], nonce[XORB_AGE_NONCE_LEN],
		pkey[32];
	char mac_b64[48];
	struct xorb_age_enc *e;
	size_t i;
	int rc = XORB_OK;

	*out = NULL;
	if (!write || (!r && n))
		return xorb_error_set(err, XORB_EINVAL, "age encryptor needs recipients and a writer");
	if (n == 0 || n > XORB_AGE_STANZAS_MAX)
		return xorb_error_set(err, XORB_EINVAL, "age encryption needs 1 to %d recipients, not %zu",
				      XORB_AGE_STANZAS_MAX, n);
	e = calloc(1, sizeof(*e));
	if (!e)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory for an age encryptor");
	e->write = write;
	e->arg = arg;
	xorb_buf_init(&e->head);
	e->buf = malloc(FULL_CHUNK);
	e->cctx = EVP_CIPHER_CTX_new();
	if (!e->buf || !e->cctx) {
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory for an age encryptor");
		goto out;
	}
	if (RAND_priv_bytes(file_key, sizeof(file_key)) != 1 || RAND_bytes(nonce, sizeof(nonce)) != 1) {
		rc = xorb_error_set(err, XORB_EIO, "cannot read random bytes for an age file key");
		goto out;
	}
	if (xorb_buf_puts(&e->head, INTRO "\n")) {
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory building an age header");
		goto out;
	}
	for (i = 0; i < n && rc == XORB_OK; i++)
		rc = add_x25519_stanza(&e->head, &r[i], i, file_key, err);
	if (rc)
		goto out;
	/* the MAC covers the header up to and including "---" */
	if (xorb_buf_puts(&e->head, "---")) {
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory building an age header");
		goto out;
	}
	if (hkdf_sha256(file_key, sizeof(file_key), NULL, 0, "header", hkey) ||
	    hmac_sha256(hkey, e->head.data, e->head.len, mac) ||
	    hkdf_sha256(file_key, sizeof(file_key), nonce, sizeof(nonce), "payload", pkey)) {
		rc = xorb_error_set(err, XORB_ENOMEM, "OpenSSL cannot derive the age header and payload keys");
		goto out;
	}
	xorb_age_b64_encode(mac, sizeof(mac), mac_b64);
	if (xorb_buf_puts(&e->head, " ") || xorb_buf_puts(&e->head, mac_b64) ||
	    xorb_buf_puts(&e->head, "\n") || xorb_buf_append(&e->head, nonce, sizeof(nonce))) {
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory building an age header");
		goto out;
	}
	if (aead_set_key(e->cctx, pkey, 1)) {
		rc = xorb_error_set(err, XORB_ENOMEM, "OpenSSL cannot set up ChaCha20-Poly1305");
		goto out;
	}
	e->state = ST_OPEN;
out:
	OPENSSL_cleanse(file_key, sizeof(file_key));
	OPENSSL_cleanse(hkey, sizeof(hkey));
	OPENSSL_cleanse(pkey, sizeof(pkey));
	if (rc) {
		xorb_age_enc_free(e);
		return rc;
	}
	*out = e;
	return XORB_OK;
}

int xorb_age_enc_write(struct xorb_age_enc *e, const void *data, size_t len,
		       struct xorb_error *err)
{
	const unsigned char *p = data;
	int rc;

	if (!e || (!data && len))
		return xorb_error_set(err, XORB_EINVAL, "age encryptor write without an encryptor or data");
	if (e->state != ST_OPEN)
		return enc_sticky(e, err);
	while (len) {
		size_t take;

		/* a full buffer is sealed as non-final only now that more data
		 * shows it is not the last chunk */
		if (e->fill == XORB_AGE_CHUNK) {
			rc = enc_seal(e, 0);
			if (rc)
				return enc_sticky(e, err);
			e->fill = 0;
		}
		take = XORB_AGE_CHUNK - e->fill < len ? XORB_AGE_CHUNK - e->fill : len;
		memcpy(e->buf + e->fill, p, take);
		e->fill += take;
		e->plain += take;
		p += take;
		len -= take;
	}
	return XORB_OK;
}

int xorb_age_enc_finish(struct xorb_age_enc *e, struct xorb_error *err)
{
	if (!e)
		return xorb_error_set(err, XORB_EINVAL, "age encryptor finish without an encryptor");
	if (e->state != ST_OPEN)
		return enc_sticky(e, err);
	/* fill == 0 here only when nothing was written: the one empty final
	 * chunk the spec allows */
	if (enc_seal(e, 1))
		return enc_sticky(e, err);
	OPENSSL_cleanse(e->buf, FULL_CHUNK);
	e->fill = 0;
	e->state = ST_FINISHED;
	return XORB_OK;
}

uint64_t xorb_age_enc_plain_bytes(const struct xorb_age_enc *e)
{
	return e ? e->plain : 0;
}

uint64_t xorb_age_enc_cipher_bytes(const struct xorb_age_enc *e)
{
	return e ? e->cipher : 0;
}

void xorb_age_enc_free(struct xorb_age_enc *e)
{
	if (!e)
		return;
	if (e->buf) {
		OPENSSL_cleanse(e->buf, FULL_CHUNK);
		free(e->buf);
	}
	EVP_CIPHER_CTX_free(e->cctx);
	xorb_buf_release(&e->head);
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
}

/* ---- decryption ---- */

struct xorb_age_dec {
	xorb_age_read_fn read;
	void *arg;
	struct xorb_age_identity *const *ids;
	size_t nids;
	int started, final_seen, done, eof;
	enum xorb_age_fail why;
	struct xorb_error error; /* the sticky failure, or scratch for the callback */
	EVP_CIPHER_CTX *cctx;	 /* holds the payload key */
	uint64_t counter;
	uint64_t payload_start; /* file offset of chunk 0 */
	unsigned char *cbuf;	/* ciphertext: a chunk and its tag; first the header */
	size_t cfill;
	unsigned char *pbuf; /* plaintext of the current chunk */
	size_t plen, ppos;
	uint64_t plain;
};

int xorb_age_dec_new(struct xorb_age_dec **out, struct xorb_age_identity *const *ids, size_t n,
		     xorb_age_read_fn read, void *arg, struct xorb_error *err)
{
	struct xorb_age_dec *d;
	size_t i;

	*out = NULL;
	if (!read || !ids || n == 0)
		return xorb_error_set(err, XORB_EINVAL, "age decryptor needs at least one identity and a reader");
	for (i = 0; i < n; i++)
		if (!ids[i])
			return xorb_error_set(err, XORB_EINVAL, "age identity %zu is missing", i + 1);
	d = calloc(1, sizeof(*d));
	if (!d)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory for an age decryptor");
	d->read = read;
	d->arg = arg;
	d->ids = ids;
	d->nids = n;
	d->cbuf = malloc(FULL_CHUNK);
	d->pbuf = malloc(XORB_AGE_CHUNK);
	d->cctx = EVP_CIPHER_CTX_new();
	if (!d->cbuf || !d->pbuf || !d->cctx) {
		xorb_age_dec_free(d);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory for an age decryptor");
	}
	*out = d;
	return XORB_OK;
}

static int dec_fail(struct xorb_age_dec *d, enum xorb_age_fail kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int dec_fail(struct xorb_age_dec *d, enum xorb_age_fail kind, const char *fmt, ...)
{
	va_list ap;

	d->why = kind;
	d->error.code = kind_status(kind);
	va_start(ap, fmt);
	vsnprintf(d->error.msg, sizeof(d->error.msg), fmt, ap);
	va_end(ap);
	return d->error.code;
}

static int dec_sticky(const struct xorb_age_dec *d, struct xorb_error *err)
{
	if (err)
		*err = d->error;
	return d->error.code;
}

/* Up to want bytes from the source into dst, fewer only at its end. */
static int pull(struct xorb_age_dec *d, unsigned char *dst, size_t want, size_t *got)
{
	*got = 0;
	while (*got < want && !d->eof) {
		size_t n = 0;
		int rc;

		xorb_error_clear(&d->error);
		rc = d->read(d->arg, dst + *got, want - *got, &n, &d->error);
		if (rc) {
			if (!d->error.code)
				xorb_error_set(&d->error, rc, "the read callback failed (%s)",
					       xorb_status_str(rc));
			d->error.code = rc;
			xorb_error_prefix(&d->error, "reading the age file: ");
			d->why = XORB_AGE_FAIL_READ;
			return rc;
		}
		if (n > want - *got)
			return dec_fail(d, XORB_AGE_FAIL_READ,
					"reading the age file: the read callback returned %zu bytes for %zu",
					n, want - *got);
		if (n == 0)
			d->eof = 1;
		*got += n;
	}
	return XORB_OK;
}

/* "2 X25519, 1 \"piv-p256\"": the stanza types of h, for the no-match message. */
static void describe_stanzas(const struct xorb_age_header *h, char *out, size_t cap)
{
	const char *types[6];
	size_t counts[6], ntypes = 0, other = 0, i, j, o = 0;

	for (i = 0; i < h->nstanzas; i++) {
		for (j = 0; j < ntypes && strcmp(types[j], h->stanzas[i].type); j++)
			;
		if (j == ntypes) {
			if (ntypes == 6) {
				other++;
				continue;
			}
			types[ntypes] = h->stanzas[i].type;
			counts[ntypes++] = 0;
		}
		counts[j]++;
	}
	out[0] = '\0';
	for (j = 0; j < ntypes && o < cap; j++) {
		int known = !strcmp(types[j], "X25519");
		int w = snprintf(out + o, cap - o, "%s%zu %s%.40s%s%s", j ? ", " : "", counts[j],
				 known ? "" : "\"", types[j], known ? "" : "\"",
				 known ? "" : " (a type this library cannot decrypt)");

		if (w < 0)
			break;
		o += (size_t)w;
	}
	if (other && o < cap)
		snprintf(out + o, cap - o, ", %zu of other types", other);
}

static int no_match(struct xorb_age_dec *d, const struct xorb_age_header *h)
{
	char types[400], tried[160] = "";
	size_t i, o = 0;

	describe_stanzas(h, types, sizeof(types));
	for (i = 0; i < d->nids && i < 2; i++) {
		char r[XORB_AGE_RECIPIENT_LEN + 1];

		xorb_age_identity_recipient(d->ids[i], NULL, r);
		o += (size_t)snprintf(tried + o, sizeof(tried) - o, "%s%.16s...", i ? ", " : "", r);
	}
	if (d->nids > 2)
		snprintf(tried + o, sizeof(tried) - o, " and %zu more", d->nids - 2);
	if (d->nids == 1)
		return dec_fail(d, XORB_AGE_FAIL_NO_MATCH,
				"the identity (public key %s) cannot decrypt this file: its recipients are %s",
				tried, types);
	return dec_fail(d, XORB_AGE_FAIL_NO_MATCH,
			"none of the %zu identities (public keys %s) can decrypt this file: its recipients are %s",
			d->nids, tried, types);
}

/* The file key from the first X25519 stanza one of the identities opens.
 * 1 when none does, 0 when found, else a failure status. */
static int unwrap(struct xorb_age_dec *d, const struct xorb_age_header *h,
		  unsigned char file_key[XORB_AGE_FILE_KEY_LEN])
{
	unsigned char share[32], shared[32], wrap[32];
	size_t i, j;
	int x, found = 0;

	for (i = 0; i < d->nids && !found; i++) {
		const struct xorb_age_identity *id = d->ids[i];

		for (j = 0; j < h->nstanzas && !found; j++) {
			const struct xorb_age_stanza *s = &h->stanzas[j];
			size_t n;

			if (strcmp(s->type, "X25519"))
				continue; /* the spec: ignore unrecognised stanzas */
			/* checked by the parser: canonical, 32 bytes; body 32 bytes */
			if (xorb_age_b64_decode(s->args[0], strlen(s->args[0]), share, sizeof(share), &n) ||
			    n != 32 || s->body_len != WRAPPED_LEN)
				return dec_fail(d, XORB_AGE_FAIL_HEADER,
						"malformed age header: X25519 stanza %zu", j + 1);
			x = x25519_shared(id->secret, share, shared);
			if (x > 0)
				return dec_fail(d, XORB_AGE_FAIL_HEADER,
						"malformed age header: X25519 stanza %zu: the shared secret is all zero (its share is a low-order point), which the spec forbids",
						j + 1);
			if (x < 0)
				return dec_fail(d, XORB_AGE_FAIL_INTERNAL, "OpenSSL cannot compute X25519");
			if (x25519_wrap_key(shared, share, id->pub, wrap)) {
				OPENSSL_cleanse(shared, sizeof(shared));
				return dec_fail(d, XORB_AGE_FAIL_INTERNAL, "OpenSSL cannot derive an age wrap key");
			}
			/* a tag that does not verify: the stanza is for another key */
			found = wrap_key(wrap, 0, s->body, file_key) == 0;
		}
	}
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(wrap, sizeof(wrap));
	return found ? 0 : 1;
}

/* Up to the first line starting with "---", and its LF: where the header ends
 * if the file is well formed (no stanza or body line can start so). *scan
 * keeps the start of the first line not looked at yet, across calls. */
static size_t find_header_end(const unsigned char *p, size_t fill, size_t *scan)
{
	while (*scan < fill) {
		const unsigned char *lf = memchr(p + *scan, '\n', fill - *scan);
		size_t ll;

		if (!lf)
			return 0;
		ll = (size_t)(lf - (p + *scan));
		if (ll >= 3 && !memcmp(p + *scan, "---", 3))
			return (size_t)(lf - p) + 1;
		*scan += ll + 1;
	}
	return 0;
}

static int dec_header(struct xorb_age_dec *d)
{
	unsigned char file_key[XORB_AGE_FILE_KEY_LEN], hkey[32], mac[32], nonce[XORB_AGE_NONCE_LEN],
		pkey[32];
	struct xorb_age_header *h = NULL;
	enum xorb_age_fail why = XORB_AGE_FAIL_NONE;
	size_t fill = 0, scan = 0, end = 0, got, rest;
	int rc, intro_ok = 0;

	for (;;) {
		if (!intro_ok) {
			size_t next = 0;
			int more = 0;

			rc = check_intro(d->cbuf, fill, &next, &more, &d->why, &d->error);
			if (rc)
				return rc;
			if (!more) {
				intro_ok = 1;
				scan = next;
			}
		}
		if (intro_ok) {
			end = find_header_end(d->cbuf, fill, &scan);
			if (end)
				break;
		}
		if (fill >= XORB_AGE_HEADER_MAX || d->eof) {
			/* no end line: let the parser say what is wrong */
			rc = xorb_age_header_parse(d->cbuf, fill, &h, &why, &d->error);
			xorb_age_header_free(h);
			if (rc == XORB_OK)
				return dec_fail(d, XORB_AGE_FAIL_HEADER, "malformed age header");
			d->why = why;
			if (why == XORB_AGE_FAIL_TRUNCATED && !d->eof)
				return dec_fail(d, XORB_AGE_FAIL_HEADER,
						"malformed age header: no end (\"---\" line) in its first %d bytes",
						XORB_AGE_HEADER_MAX);
			return rc;
		}
		rc = pull(d, d->cbuf + fill,
			  XORB_AGE_HEADER_MAX - fill < HEADER_READ_STEP ? XORB_AGE_HEADER_MAX - fill :
									  HEADER_READ_STEP,
			  &got);
		if (rc)
			return rc;
		fill += got;
	}

	rc = xorb_age_header_parse(d->cbuf, end, &h, &why, &d->error);
	if (rc) {
		d->why = why;
		return rc;
	}
	if (h->nstanzas == 1 && !strcmp(h->stanzas[0].type, "scrypt")) {
		xorb_age_header_free(h);
		return dec_fail(d, XORB_AGE_FAIL_UNSUPPORTED,
				"the file is passphrase-encrypted (an scrypt stanza), not supported: only files encrypted to X25519 recipients (age1...) can be decrypted");
	}
	rc = unwrap(d, h, file_key);
	if (rc == 1)
		rc = no_match(d, h);
	if (rc) {
		xorb_age_header_free(h);
		return rc;
	}
	rc = hkdf_sha256(file_key, sizeof(file_key), NULL, 0, "header", hkey) ||
	     hmac_sha256(hkey, d->cbuf, h->mac_input_len, mac);
	OPENSSL_cleanse(hkey, sizeof(hkey));
	if (rc) {
		OPENSSL_cleanse(file_key, sizeof(file_key));
		xorb_age_header_free(h);
		return dec_fail(d, XORB_AGE_FAIL_INTERNAL, "OpenSSL cannot compute the age header MAC");
	}
	rc = CRYPTO_memcmp(mac, h->mac, sizeof(mac));
	xorb_age_header_free(h);
	if (rc) {
		OPENSSL_cleanse(file_key, sizeof(file_key));
		return dec_fail(d, XORB_AGE_FAIL_HEADER_MAC,
				"age header MAC mismatch: the header was tampered with or corrupted");
	}

	/* the payload nonce, then what was read past it is the first chunk's start */
	rest = fill - end;
	if (rest < XORB_AGE_NONCE_LEN) {
		rc = pull(d, d->cbuf + fill, XORB_AGE_NONCE_LEN - rest, &got);
		if (rc) {
			OPENSSL_cleanse(file_key, sizeof(file_key));
			return rc;
		}
		fill += got;
		rest += got;
	}
	if (rest < XORB_AGE_NONCE_LEN) {
		OPENSSL_cleanse(file_key, sizeof(file_key));
		return dec_fail(d, XORB_AGE_FAIL_TRUNCATED,
				"truncated age file: it ends inside the payload nonce (%zu of %d bytes after the %zu-byte header)",
				rest, XORB_AGE_NONCE_LEN, end);
	}
	memcpy(nonce, d->cbuf + end, sizeof(nonce));
	rc = hkdf_sha256(file_key, sizeof(file_key), nonce, sizeof(nonce), "payload", pkey);
	OPENSSL_cleanse(file_key, sizeof(file_key));
	if (rc == 0)
		rc = aead_set_key(d->cctx, pkey, 0);
	OPENSSL_cleanse(pkey, sizeof(pkey));
	if (rc)
		return dec_fail(d, XORB_AGE_FAIL_INTERNAL, "OpenSSL cannot derive the age payload key");
	d->payload_start = end + XORB_AGE_NONCE_LEN;
	d->cfill = fill - end - XORB_AGE_NONCE_LEN;
	memmove(d->cbuf, d->cbuf + d->payload_start, d->cfill);
	return XORB_OK;
}

int xorb_age_dec_start(struct xorb_age_dec *d, struct xorb_error *err)
{
	int rc;

	if (!d)
		return xorb_error_set(err, XORB_EINVAL, "no age decryptor");
	if (d->why)
		return dec_sticky(d, err);
	if (d->started)
		return XORB_OK;
	rc = dec_header(d);
	if (rc) {
		if (!d->why)
			d->why = rc == XORB_ENOMEM ? XORB_AGE_FAIL_INTERNAL : XORB_AGE_FAIL_HEADER;
		d->error.code = rc;
		return dec_sticky(d, err);
	}
	d->started = 1;
	d->ids = NULL; /* not needed any more: the caller may free them */
	return XORB_OK;
}

/* Tries the chunk in cbuf (n bytes) with the given last flag; 0 when its tag
 * verifies, its plaintext then in pbuf. */
static int open_chunk(struct xorb_age_dec *d, size_t n, int last)
{
	unsigned char nonce[12];

	chunk_nonce(d->counter, last, nonce);
	if (aead(d->cctx, 0, NULL, nonce, d->cbuf, n - XORB_AGE_TAG_LEN, d->pbuf,
		 d->cbuf + n - XORB_AGE_TAG_LEN) == 0)
		return 0;
	OPENSSL_cleanse(d->pbuf, n - XORB_AGE_TAG_LEN); /* unauthenticated */
	ERR_clear_error();
	return -1;
}

static int next_chunk(struct xorb_age_dec *d)
{
	unsigned long long k = (unsigned long long)d->counter,
			   at = (unsigned long long)(d->payload_start + d->counter * FULL_CHUNK);
	size_t n = d->cfill, got;
	int rc;

	if (d->counter == UINT64_MAX)
		return dec_fail(d, XORB_AGE_FAIL_CHUNK, "age payload chunk counter overflow at byte %llu", at);
	rc = pull(d, d->cbuf + n, FULL_CHUNK - n, &got);
	if (rc)
		return rc;
	n += got;
	d->cfill = 0;
	if (n == 0)
		return k == 0 ? dec_fail(d, XORB_AGE_FAIL_TRUNCATED,
					 "truncated age file: no payload after the header (byte %llu)", at) :
				dec_fail(d, XORB_AGE_FAIL_TRUNCATED,
					 "truncated age file: it ends after chunk %llu (byte %llu), which is not the final chunk",
					 k - 1, at);
	if (n < XORB_AGE_TAG_LEN)
		return dec_fail(d, XORB_AGE_FAIL_TRUNCATED,
				"truncated age file: chunk %llu (byte %llu) has %zu bytes, less than its %d-byte tag",
				k, at, n, XORB_AGE_TAG_LEN);
	if (n == XORB_AGE_TAG_LEN && k > 0)
		return dec_fail(d, XORB_AGE_FAIL_CHUNK,
				"age payload chunk %llu (byte %llu) is an empty final chunk, which only an empty file has: the file was altered",
				k, at);
	if (n == FULL_CHUNK) {
		/* a full chunk is final only when the file ends with it: it
		 * fails as non-final first in that case (as in age itself) */
		if (open_chunk(d, n, 0) == 0) {
			d->final_seen = 0;
		} else if (open_chunk(d, n, 1) == 0) {
			d->final_seen = 1;
		} else {
			return dec_fail(d, XORB_AGE_FAIL_CHUNK,
					"age payload chunk %llu (byte %llu) fails authentication: the file was tampered with or corrupted",
					k, at);
		}
	} else if (open_chunk(d, n, 1) == 0) {
		d->final_seen = 1;
	} else if (open_chunk(d, n, 0) == 0) {
		OPENSSL_cleanse(d->pbuf, n - XORB_AGE_TAG_LEN);
		return dec_fail(d, XORB_AGE_FAIL_TRUNCATED,
				"truncated age file: chunk %llu (byte %llu) is short but not the final chunk, and the file ends there",
				k, at);
	} else {
		return dec_fail(d, XORB_AGE_FAIL_CHUNK,
				"age payload chunk %llu (byte %llu, the last %zu bytes of the file) fails authentication: the file was truncated inside it, has data appended, or was tampered with or corrupted",
				k, at, n);
	}
	d->counter++;
	d->plen = n - XORB_AGE_TAG_LEN;
	d->ppos = 0;
	return XORB_OK;
}

int xorb_age_dec_read(struct xorb_age_dec *d, void *buf, size_t len, size_t *got,
		      struct xorb_error *err)
{
	int rc;

	if (got)
		*got = 0;
	if (!d || !buf || !got || len == 0)
		return xorb_error_set(err, XORB_EINVAL, "age decryptor read without a decryptor or buffer");
	if (d->why)
		return dec_sticky(d, err);
	if (!d->started) {
		rc = xorb_age_dec_start(d, err);
		if (rc)
			return rc;
	}
	for (;;) {
		if (d->ppos < d->plen) {
			size_t n = d->plen - d->ppos < len ? d->plen - d->ppos : len;

			memcpy(buf, d->pbuf + d->ppos, n);
			d->ppos += n;
			d->plain += n;
			*got = n;
			return XORB_OK;
		}
		if (d->done)
			return XORB_OK;
		if (d->final_seen) {
			unsigned char extra;
			size_t n = 0;

			rc = pull(d, &extra, 1, &n);
			if (rc == XORB_OK && n)
				rc = dec_fail(d, XORB_AGE_FAIL_TRAILING,
					      "age file has data after its final chunk (at byte %llu): trailing garbage, or another file appended",
					      (unsigned long long)(d->payload_start +
								   (d->counter - 1) * FULL_CHUNK +
								   d->plen + XORB_AGE_TAG_LEN));
			if (rc)
				return dec_sticky(d, err);
			d->done = 1;
			OPENSSL_cleanse(d->pbuf, XORB_AGE_CHUNK);
			return XORB_OK;
		}
		rc = next_chunk(d);
		if (rc)
			return dec_sticky(d, err);
	}
}

int xorb_age_dec_read_cb(void *dec, void *buf, size_t len, size_t *got, struct xorb_error *err)
{
	return xorb_age_dec_read(dec, buf, len, got, err);
}

enum xorb_age_fail xorb_age_dec_fail(const struct xorb_age_dec *d)
{
	return d ? d->why : XORB_AGE_FAIL_NONE;
}

uint64_t xorb_age_dec_plain_bytes(const struct xorb_age_dec *d)
{
	return d ? d->plain : 0;
}

void xorb_age_dec_free(struct xorb_age_dec *d)
{
	if (!d)
		return;
	if (d->cbuf) {
		OPENSSL_cleanse(d->cbuf, FULL_CHUNK);
		free(d->cbuf);
	}
	if (d->pbuf) {
		OPENSSL_cleanse(d->pbuf, XORB_AGE_CHUNK);
		free(d->pbuf);
	}
	EVP_CIPHER_CTX_free(d->cctx);
	OPENSSL_cleanse(d, sizeof(*d));
	free(d);
}

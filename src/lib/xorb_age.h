/*
 * age v1 file encryption (https://c2sp.org/age, "age-encryption.org/v1"),
 * streaming, for encryption at rest: files that `age -d -i KEY` decrypts and
 * files that `age -r age1...` wrote.
 *
 * What is implemented: X25519 recipients and identities (age1... and
 * AGE-SECRET-KEY-1... keys, recipients and identities files), the binary
 * format (header with its MAC, STREAM payload of 64 KiB ChaCha20-Poly1305
 * chunks). What is not: passphrases (scrypt stanzas: such a file is refused as
 * "passphrase-encrypted, not supported"), the ASCII armor, post-quantum
 * (mlkem768x25519), tag and plugin recipients and identities, SSH keys. A
 * stanza of a type this module does not know is skipped, as the spec says.
 *
 * Memory is bounded whatever the file size: an encryptor holds one chunk
 * (64 KiB + tag) and the header; a decryptor a ciphertext chunk and its
 * plaintext (about 128 KiB: a full-length chunk that fails as non-final is
 * tried again as final, which needs the ciphertext intact); the header is
 * read into the ciphertext buffer (at most XORB_AGE_HEADER_MAX bytes) and
 * parsed into a short-lived copy. A decryptor releases
 * plaintext only from chunks whose tag has been verified. Keys and plaintext
 * are wiped (OPENSSL_cleanse) when an object is freed. Cryptography is
 * OpenSSL 3 EVP only: X25519 (EVP_PKEY), HKDF-SHA-256 (EVP_KDF), HMAC-SHA-256
 * (EVP_MAC), ChaCha20-Poly1305 (EVP_CIPHER), RAND_priv_bytes / RAND_bytes.
 *
 * The library never prints: every failing call fills struct xorb_error with
 * one sentence, and never puts a secret key into it.
 */
#ifndef XORB_AGE_H
#define XORB_AGE_H

#include <stddef.h>
#include <stdint.h>

#include "xorb_buf.h"
#include "xorb_error.h"

#define XORB_AGE_KEY_LEN 32	 /* X25519 secret and public keys */
#define XORB_AGE_FILE_KEY_LEN 16
#define XORB_AGE_MAC_LEN 32
#define XORB_AGE_NONCE_LEN 16	 /* payload nonce after the header */
#define XORB_AGE_CHUNK 65536	 /* plaintext bytes per STREAM chunk */
#define XORB_AGE_TAG_LEN 16
#define XORB_AGE_RECIPIENT_LEN 62 /* "age1" + 58: characters, without the NUL */
#define XORB_AGE_IDENTITY_LEN 74  /* "AGE-SECRET-KEY-1" + 58 */

/* Caps on untrusted input. */
#define XORB_AGE_HEADER_MAX 65536    /* bytes of header, version line to MAC line */
#define XORB_AGE_STANZAS_MAX 1024    /* stanzas in a header, recipients for an encryptor */
#define XORB_AGE_KEYS_FILE_MAX (1 << 20) /* identities or recipients file */
#define XORB_AGE_KEYS_MAX 4096	     /* keys in one identities or recipients file */

/*
 * Why a decryption (or a header parse) failed, finer than the status code:
 * the codes of xorb_error.h are shared by the whole project, these tell the
 * age outcomes apart (each has its own message, too).
 */
enum xorb_age_fail {
	XORB_AGE_FAIL_NONE = 0,
	XORB_AGE_FAIL_NOT_AGE,	    /* XORB_EINVAL: does not start like an age file (or is empty) */
	XORB_AGE_FAIL_UNSUPPORTED,  /* XORB_EUNSUPPORTED: another version, ASCII armor, passphrase */
	XORB_AGE_FAIL_HEADER,	    /* XORB_ECORRUPT: malformed header, the message says what */
	XORB_AGE_FAIL_NO_MATCH,	    /* XORB_EAUTH: none of the identities unwraps the file key */
	XORB_AGE_FAIL_HEADER_MAC,   /* XORB_ECORRUPT: the header MAC does not verify: tampered */
	XORB_AGE_FAIL_CHUNK,	    /* XORB_ECORRUPT: a payload chunk fails authentication */
	XORB_AGE_FAIL_TRUNCATED,    /* XORB_ECORRUPT: ends inside the header, the nonce, or
				     * after a chunk that is not the final one */
	XORB_AGE_FAIL_TRAILING,	    /* XORB_ECORRUPT: data after the final chunk */
	XORB_AGE_FAIL_READ,	    /* the read callback's own status: not damage */
	XORB_AGE_FAIL_INTERNAL,	    /* XORB_ENOMEM: memory or OpenSSL failed: not the file */
};

/* Short name of a failure kind ("header MAC mismatch"); never NULL. */
const char *xorb_age_fail_str(enum xorb_age_fail f);

/* ---- keys ---- */

/* A public key: not secret, a plain value. */
struct xorb_age_recipient {
	unsigned char key[XORB_AGE_KEY_LEN];
};

/* A secret key with its public key. Wiped when freed. */
struct xorb_age_identity;

/* New identity from the OpenSSL CSPRNG (RAND_priv_bytes). *out is owned by the
 * caller (xorb_age_identity_free). */
int xorb_age_keygen(struct xorb_age_identity **out, struct xorb_error *err);

/* Identity from 32 raw secret bytes (test vectors). The caller wipes its copy. */
int xorb_age_identity_from_raw(const unsigned char secret[XORB_AGE_KEY_LEN],
			       struct xorb_age_identity **out, struct xorb_error *err);

/* Parses "AGE-SECRET-KEY-1..." (len characters, upper case, nothing around it).
 * XORB_EINVAL saying what is wrong, never echoing the text; XORB_EUNSUPPORTED
 * for the post-quantum and plugin identities. */
int xorb_age_identity_parse(const char *text, size_t len, struct xorb_age_identity **out,
			    struct xorb_error *err);

/* Writes the 74-character "AGE-SECRET-KEY-1..." and a NUL: a secret, the
 * caller wipes out. 0, or -1 when id is NULL. */
int xorb_age_identity_format(const struct xorb_age_identity *id,
			     char out[XORB_AGE_IDENTITY_LEN + 1]);

/* The identity's public key, as a value and as "age1..." text (either may be
 * NULL). 0, or -1 when id is NULL. */
int xorb_age_identity_recipient(const struct xorb_age_identity *id, struct xorb_age_recipient *r,
				char text[XORB_AGE_RECIPIENT_LEN + 1]);

void xorb_age_identity_free(struct xorb_age_identity *id); /* NULL-safe; wipes */

/* Parses "age1..." (len characters, lower case). XORB_EINVAL saying what is
 * wrong; XORB_EUNSUPPORTED for other recipient types (age1pq1..., age1tag1...,
 * plugins, SSH keys). */
int xorb_age_recipient_parse(const char *text, size_t len, struct xorb_age_recipient *out,
			     struct xorb_error *err);

/* Writes the 62-character "age1..." and a NUL. */
void xorb_age_recipient_format(const struct xorb_age_recipient *r,
			       char out[XORB_AGE_RECIPIENT_LEN + 1]);

/*
 * Identities and recipients files, as age reads them: one key per line, lines
 * starting with '#' and empty lines ignored, LF or CRLF line ends. Any other
 * line is an error naming name (the file, for the message) and the line
 * number; a line of an identities file is never echoed. A file without any
 * key is an error. At most XORB_AGE_KEYS_MAX keys.
 *
 * _parse reads len bytes of text; _read_file reads path (at most
 * XORB_AGE_KEYS_FILE_MAX bytes; the text of an identities file is wiped
 * after parsing). On success *ids is an array of *n identities owned by the
 * caller (xorb_age_identities_free), *rs an array of *n recipients (free()).
 */
int xorb_age_identities_parse(const char *text, size_t len, const char *name,
			      struct xorb_age_identity ***ids, size_t *n, struct xorb_error *err);
int xorb_age_identities_read_file(const char *path, struct xorb_age_identity ***ids, size_t *n,
				  struct xorb_error *err);
void xorb_age_identities_free(struct xorb_age_identity **ids, size_t n); /* NULL-safe */

int xorb_age_recipients_parse(const char *text, size_t len, const char *name,
			      struct xorb_age_recipient **rs, size_t *n, struct xorb_error *err);
int xorb_age_recipients_read_file(const char *path, struct xorb_age_recipient **rs, size_t *n,
				  struct xorb_error *err);

/* ---- streaming encryption ---- */

/* Receives every output byte, in order. Returns XORB_OK, or a status (with
 * err filled in) that stops the encryptor for good. */
typedef int (*xorb_age_write_fn)(void *arg, const void *data, size_t len, struct xorb_error *err);

struct xorb_age_enc;

/* An encryptor to n recipients (1 to XORB_AGE_STANZAS_MAX; r is copied)
 * whose output goes to write(arg, ...). A fresh file key, one X25519 stanza
 * per recipient, the header MAC and the payload nonce are made here; the
 * header and the nonce are written by the first _write or _finish. */
int xorb_age_enc_new(struct xorb_age_enc **out, const struct xorb_age_recipient *r, size_t n,
		     xorb_age_write_fn write, void *arg, struct xorb_error *err);

/* Encrypts len bytes of plaintext. Full chunks are written out as soon as
 * the next byte shows they are not the last one. */
int xorb_age_enc_write(struct xorb_age_enc *e, const void *data, size_t len,
		       struct xorb_error *err);

/* Writes the final chunk (empty only when no byte was written at all). The
 * file is complete only when this returns XORB_OK. No _write after it. */
int xorb_age_enc_finish(struct xorb_age_enc *e, struct xorb_error *err);

/* Plaintext bytes taken and ciphertext bytes written so far. */
uint64_t xorb_age_enc_plain_bytes(const struct xorb_age_enc *e);
uint64_t xorb_age_enc_cipher_bytes(const struct xorb_age_enc *e);

void xorb_age_enc_free(struct xorb_age_enc *e); /* NULL-safe; wipes keys and buffers */

/* ---- streaming decryption ---- */

/* The shape of xorb_ar_read_fn (xorb_archive.h): fills up to len bytes into
 * buf, *got == 0 at the end of the input. A short read is not the end. */
typedef int (*xorb_age_read_fn)(void *arg, void *buf, size_t len, size_t *got,
				struct xorb_error *err);

struct xorb_age_dec;

/* A decryptor pulling the age file from read(arg, ...). It only allocates:
 * the header is read by xorb_age_dec_start or the first xorb_age_dec_read.
 * ids (n >= 1 identities) stay owned by the caller and must stay valid until
 * the header has been read. */
int xorb_age_dec_new(struct xorb_age_dec **out, struct xorb_age_identity *const *ids, size_t n,
		     xorb_age_read_fn read, void *arg, struct xorb_error *err);

/* Reads the header and the payload nonce: parses the header, unwraps the
 * file key with the identities, verifies the header MAC. Call it to learn
 * early (before any plaintext) whether the file can be decrypted at all;
 * idempotent. */
int xorb_age_dec_start(struct xorb_age_dec *d, struct xorb_error *err);

/* Plaintext into buf (up to len >= 1 bytes); *got == 0 with XORB_OK only at
 * the verified end of the file: after the final chunk and an end of input
 * right behind it. Only the plaintext of authenticated chunks is released;
 * a file that stops early or goes on after its final chunk fails here, after
 * what came before it was released, so a consumer must treat its output as
 * complete only at that *got == 0. Failures are sticky. */
int xorb_age_dec_read(struct xorb_age_dec *d, void *buf, size_t len, size_t *got,
		      struct xorb_error *err);

/* xorb_age_dec_read as an xorb_age_read_fn / xorb_ar_read_fn, arg being the
 * decryptor: to chain a decryptor into a reader of the plaintext. */
int xorb_age_dec_read_cb(void *dec, void *buf, size_t len, size_t *got, struct xorb_error *err);

/* Why the decryptor failed (XORB_AGE_FAIL_NONE while it has not). */
enum xorb_age_fail xorb_age_dec_fail(const struct xorb_age_dec *d);

/* Plaintext bytes released so far. */
uint64_t xorb_age_dec_plain_bytes(const struct xorb_age_dec *d);

void xorb_age_dec_free(struct xorb_age_dec *d); /* NULL-safe; wipes keys and buffers */

/* ---- header (the untrusted text a decryptor parses first) ---- */

struct xorb_age_stanza {
	const char *type;	  /* the first argument ("X25519", "scrypt", ...) */
	const char *const *args;  /* the other arguments, nargs of them */
	size_t nargs;
	const unsigned char *body; /* decoded body, body_len bytes */
	size_t body_len;
};

struct xorb_age_header {
	struct xorb_age_stanza *stanzas; /* nstanzas >= 1 */
	size_t nstanzas;
	unsigned char mac[XORB_AGE_MAC_LEN];
	size_t mac_input_len; /* bytes the MAC covers: up to and including "---" */
	size_t len;	      /* header bytes, through the LF that ends the MAC line */
};

/*
 * Parses the header at the start of data (len bytes; what follows it, the
 * payload, is not looked at). Strict, as the spec asks: the
 * "age-encryption.org/v1" line; stanzas "-> " with space-separated arguments
 * of printable ASCII; bodies of canonical unpadded base64 in lines of exactly
 * 64 columns ended by a shorter (possibly empty) one; LF line ends; the
 * "--- " MAC line. The stanza types this module knows are checked too:
 * X25519 (one argument, a 32-byte share, a 32-byte body) and scrypt (salt,
 * work factor, body; and alone in the header). At most XORB_AGE_HEADER_MAX
 * bytes and XORB_AGE_STANZAS_MAX stanzas.
 *
 * XORB_OK with *out owned by the caller (xorb_age_header_free; everything it
 * points to lives as long as it). Otherwise *why (may be NULL) says which
 * failure: XORB_AGE_FAIL_TRUNCATED when data ends inside a header that could
 * still be valid with more bytes, XORB_AGE_FAIL_NOT_AGE,
 * XORB_AGE_FAIL_UNSUPPORTED (another version, armor) or
 * XORB_AGE_FAIL_HEADER. The MAC is not verified: that needs the file key.
 */
int xorb_age_header_parse(const void *data, size_t len, struct xorb_age_header **out,
			  enum xorb_age_fail *why, struct xorb_error *err);

/* Appends the header's text to out, MAC line included. What
 * xorb_age_header_parse accepted formats back to the very same bytes. */
int xorb_age_header_format(const struct xorb_age_header *h, struct xorb_buf *out,
			   struct xorb_error *err);

void xorb_age_header_free(struct xorb_age_header *h); /* NULL-safe */

/* ---- codecs ---- */

/* Standard base64 (RFC 4648 section 4) without padding, as age writes it.
 * out needs xorb_age_b64_len(n) + 1 bytes; it is NUL-terminated. */
size_t xorb_age_b64_len(size_t n);
void xorb_age_b64_encode(const void *data, size_t n, char *out);
/* Strict: '=' padding, '-', '_', white space, a length no encoder makes and
 * unused trailing bits that are not zero are all rejected. out holds cap
 * bytes. 0, or -1. */
int xorb_age_b64_decode(const char *text, size_t len, unsigned char *out, size_t cap,
			size_t *outlen);

#endif

/*
 * NATS JWT v2 as nats-server 2.9.10 (nats-io/jwt v2.3.0) reads it, the .creds
 * file around a user JWT, and the one way this project writes secret files.
 *
 * A JWT is base64url(header) "." base64url(claims) "." base64url(signature),
 * no padding; header {"typ":"JWT","alg":"ed25519-nkey"}; the signature is
 * Ed25519 by the issuer's nkey over the first two parts joined by the dot.
 * Claims carry jti, iat, iss, name, sub and a "nats" object with "type" and
 * "version":2. Numbers are printed by xorb_json_print, so limits such as
 * 5368709120 stay exact integers.
 */
#ifndef XORB_JWT_H
#define XORB_JWT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "xorb_error.h"
#include "xorb_nkeys.h"

#define XORB_JWT_MAX (1u << 20)	 /* no JWT we read or write may be larger */
#define XORB_JWT_ID_LEN 52	 /* base32 of a 32-byte SHA-512/256 digest */
#define XORB_CREDS_MAX (XORB_JWT_MAX + 4096)

/*
 * Signs claims with the issuer nkey; *out (caller frees) is the compact JWT.
 * claims must be an object with a "sub" string. It is completed in place
 * (jti, iat, iss replaced when present): "iat" = iat when > 0, else the
 * current time; "iss" = the issuer's public key; "jti" = the nats-io/jwt id
 * (xorb_jwt_id). The claim fields are moved to the front in nats-io/jwt's
 * order (aud, exp, jti, iat, iss, name, nbf, sub), the rest keeps its order.
 * Claims with a member name twice in one object are refused (XORB_EINVAL):
 * cJSON reads the first, nats-server (Go) the last. So are keys of the wrong
 * kind for nats.type, as nats-io/jwt refuses them: operator JWTs are issued
 * by operator keys for an operator, account JWTs by operator keys for an
 * account, user JWTs by account keys for a user.
 */
int xorb_jwt_encode(cJSON *claims, const struct xorb_nkey *issuer, int64_t iat, char **out,
		    struct xorb_error *err);

/*
 * The "jti" nats-io/jwt v2 computes: base32 (no padding) of SHA-512/256 over
 * the JSON of the standard claim fields only - {"aud","exp","iat","iss",
 * "name","nbf","sub"} in that order, empty and zero ones omitted, jti left
 * out, strings escaped as Go's encoding/json does - NOT over the whole
 * claims (the "nats" object does not enter the id). Writes 52 characters and
 * a NUL. 0, or -1 when memory runs out.
 */
int xorb_jwt_id(const cJSON *claims, char out[XORB_JWT_ID_LEN + 1]);

/*
 * Decodes and verifies a JWT (NUL-terminated, at most XORB_JWT_MAX bytes):
 * three base64url parts; the header's typ is "JWT" and alg "ed25519-nkey"
 * (case-insensitive, as nats-io/jwt; v1 "ed25519" tokens are refused); the
 * claims are an object whose "iss" is an operator, account or user public
 * key; the signature verifies against it; the issuer and subject are keys
 * of the kinds nats.type needs (as xorb_jwt_encode); nats.version is
 * 2; no object in the header or claims has a member name twice
 * (the server would read the last, cJSON the first). exp and nbf are NOT
 * enforced (backups must read old tokens):
 * the caller checks them when it matters. *claims is owned by the caller
 * (cJSON_Delete); numbers above 2^53 lose precision in cJSON.
 * XORB_ECORRUPT for malformed tokens, XORB_EAUTH for a bad signature.
 */
int xorb_jwt_decode(const char *jwt, cJSON **claims, struct xorb_error *err);

/*
 * Claims as nats-io/jwt v2.3.0's New*Claims start them, ready for
 * xorb_jwt_encode. name may be NULL (no "name"). NULL is returned when memory
 * runs out or a key is not a well-formed public key of the right type.
 *  - operator: sub = operator_pub (the JWT is self-signed by that key);
 *    nats.signing_keys (NULL-terminated list of operator public keys, may be
 *    NULL or empty), nats.system_account (account key, may be NULL).
 *  - account: nats.limits {subs, data, payload, imports, exports, conn,
 *    leaf: -1, wildcards: true} (JetStream off until the caller adds
 *    mem_storage/disk_storage etc.), nats.default_permissions {pub:{},sub:{}}.
 *  - user: nats.pub {}, nats.sub {}, subs/data/payload -1 (the caller adds
 *    pub.allow etc.); nats.issuer_account when the JWT will be signed by one
 *    of the account's signing keys (NULL when by the account key itself).
 */
cJSON *xorb_jwt_operator_claims(const char *name, const char *operator_pub,
				const char *const *signing_keys, const char *system_account);
cJSON *xorb_jwt_account_claims(const char *name, const char *account_pub);
cJSON *xorb_jwt_user_claims(const char *name, const char *user_pub, const char *issuer_account);

/*
 * The .creds file text, byte for byte as nsc and nats-io/jwt's
 * FormatUserConfig write it: the user JWT between "-----BEGIN NATS USER
 * JWT-----" and "------END NATS USER JWT------", a blank line, the IMPORTANT
 * notice, the seed between "-----BEGIN USER NKEY SEED-----" and
 * "------END USER NKEY SEED------", a blank line and a line of stars.
 * Refuses unless user_jwt decodes (xorb_jwt_decode) as a user JWT whose "sub"
 * is user_seed's public key. *out holds the seed: the caller wipes it
 * (explicit_bzero over strlen) and frees it.
 */
int xorb_creds_format(const char *user_jwt, const struct xorb_nkey *user_seed, char **out,
		      struct xorb_error *err);

/*
 * Parses a .creds text (len bytes, at most XORB_CREDS_MAX; CRLF accepted):
 * the first delimited block is the JWT, the second the seed, which must be a
 * user seed. The JWT is returned as text, not verified (xorb_jwt_decode it).
 * *jwt (free) and *seed (xorb_nkey_free) are owned by the caller.
 * XORB_ECORRUPT when a block is missing or the seed is malformed.
 */
int xorb_creds_parse(const char *text, size_t len, char **jwt, struct xorb_nkey **seed,
		     struct xorb_error *err);

/*
 * Writes a secret file with mode 0600 and fsyncs it and its directory.
 * Missing parent directories are created with mode 0700. Refuses a parent
 * directory that others can write to unless it has the sticky bit (/tmp).
 * overwrite == 0: O_CREAT|O_EXCL|O_NOFOLLOW, XORB_EEXIST when path exists.
 * overwrite != 0: the data goes to a 0600 temporary file beside path that is
 * then renamed over it, so readers see the old or the new file, never half
 * of one, and a symlink at path is replaced, not followed.
 * A failed write leaves no partial file behind.
 */
int xorb_secret_write(const char *path, const char *data, size_t len, int overwrite,
		      struct xorb_error *err);

#endif

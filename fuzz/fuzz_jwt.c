/*
 * libFuzzer target: NATS JWTs and .creds files from untrusted text.
 *
 * Every input goes to xorb_jwt_decode (as a C string) and xorb_creds_parse
 * (as bytes; a JWT found there is decoded too). A signature cannot be
 * forged by mutation, so an input that starts with '{' is also signed with
 * fixed keys: as raw claims text (decode then runs its checks behind the
 * signature on text no encoder wrote), and parsed, as claims for
 * xorb_jwt_encode, decoded again, and for a user JWT wrapped into a .creds
 * text (xorb_creds_format) and parsed back.
 *
 * Invariants: what xorb_jwt_encode signs, xorb_jwt_decode accepts, with the
 * same sub, iss and a jti that xorb_jwt_id reproduces; claims with a member
 * name twice are refused by both; raw claims signed by the key they name as
 * "iss" never fail the signature check; a .creds text written by
 * xorb_creds_format parses back to the same JWT and seed.
 */
#include <cjson/cJSON.h>
#include <string.h>

#include "fuzz_util.h"
#include "xorb_json.h"
#include "xorb_jwt.h"
#include "xorb_nkeys.h"

static struct xorb_nkey *operator_key, *account_key, *user_key;

static struct xorb_nkey *fixed_key(enum xorb_nkey_type t, unsigned char first)
{
	unsigned char raw[XORB_NKEY_RAW_LEN];
	struct xorb_nkey *k = NULL;
	size_t i;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(first + i);
	FUZZ_CHECK(xorb_nkey_from_raw(t, raw, &k, NULL) == XORB_OK && k);
	return k;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	operator_key = fixed_key(XORB_NKEY_OPERATOR, 1);
	account_key = fixed_key(XORB_NKEY_ACCOUNT, 101);
	user_key = fixed_key(XORB_NKEY_USER, 201);
	return 0;
}

static void decode_one(const char *jwt)
{
	struct xorb_error err;
	cJSON *claims = NULL;
	int rc;

	xorb_error_clear(&err);
	rc = xorb_jwt_decode(jwt, &claims, &err);
	if (rc) {
		FUZZ_CHECK(claims == NULL && err.code == rc);
		FUZZ_CHECK(rc == XORB_ECORRUPT || rc == XORB_EAUTH || rc == XORB_ENOMEM ||
			   rc == XORB_EINVAL);
		return;
	}
	FUZZ_CHECK(cJSON_IsObject(claims));
	cJSON_Delete(claims);
}

static void creds_round_trip(const char *jwt)
{
	char pub[XORB_NKEY_PUBLIC_LEN + 1], pub2[XORB_NKEY_PUBLIC_LEN + 1];
	struct xorb_nkey *seed = NULL;
	struct xorb_error err;
	char *creds = NULL, *jwt2 = NULL;
	int rc;

	rc = xorb_creds_format(jwt, user_key, &creds, &err);
	if (rc)
		fprintf(stderr, "creds_format: %s\n", err.msg);
	FUZZ_CHECK(rc == XORB_OK);
	rc = xorb_creds_parse(creds, strlen(creds), &jwt2, &seed, &err);
	if (rc)
		fprintf(stderr, "creds_parse of a formatted file: %s\n", err.msg);
	FUZZ_CHECK(rc == XORB_OK);
	FUZZ_CHECK(!strcmp(jwt, jwt2));
	FUZZ_CHECK(xorb_nkey_public(seed, pub2) == 0 && xorb_nkey_public(user_key, pub) == 0);
	FUZZ_CHECK(!strcmp(pub, pub2));
	explicit_bzero(creds, strlen(creds));
	free(creds);
	free(jwt2);
	xorb_nkey_free(seed);
}

/* 1 when an object anywhere in item has a member name twice (cJSON keeps
 * the first, Go's encoding/json in nats-server the last). */
static int has_duplicate_member(const cJSON *item)
{
	const cJSON *a, *b;

	for (a = item ? item->child : NULL; a; a = a->next) {
		if (cJSON_IsObject(item))
			for (b = a->next; b; b = b->next)
				if (a->string && b->string && !strcmp(a->string, b->string))
					return 1;
		if (has_duplicate_member(a))
			return 1;
	}
	return 0;
}

static void set_sub(cJSON *claims, const struct xorb_nkey *k)
{
	char pub[XORB_NKEY_PUBLIC_LEN + 1];

	FUZZ_CHECK(xorb_nkey_public(k, pub) == 0);
	cJSON_DeleteItemFromObjectCaseSensitive(claims, "sub");
	cJSON_AddStringToObject(claims, "sub", pub);
}

/* Signs claims (a JSON object from the input) and checks what comes back.
 * The subject and issuer keys are chosen to suit nats.type, so that a
 * well-formed token can come out. */
static void sign_round_trip(cJSON *claims)
{
	char iss[XORB_NKEY_PUBLIC_LEN + 1], jti[XORB_JWT_ID_LEN + 1];
	const cJSON *nats = cJSON_GetObjectItemCaseSensitive(claims, "nats");
	const char *type = xorb_json_str(nats, "type", "");
	struct xorb_nkey *issuer = account_key;
	struct xorb_error err;
	cJSON *back = NULL;
	char *jwt = NULL, *sub = NULL;
	int rc, dup = has_duplicate_member(claims), is_user = !strcmp(type, "user");

	if (!strcmp(type, "operator") || !strcmp(type, "account"))
		issuer = operator_key;
	if (!dup) {
		if (!strcmp(type, "operator"))
			set_sub(claims, operator_key);
		else if (!strcmp(type, "account"))
			set_sub(claims, account_key);
		else if (is_user) /* so that it can go into a .creds */
			set_sub(claims, user_key);
	}
	rc = xorb_jwt_encode(claims, issuer, 1700000000, &jwt, &err);
	if (dup)
		FUZZ_CHECK(rc == XORB_EINVAL); /* refused: the server would read the last */
	if (rc) {
		FUZZ_CHECK(jwt == NULL && err.code == rc);
		FUZZ_CHECK(rc == XORB_EINVAL || rc == XORB_ENOMEM);
		return;
	}
	sub = strdup(xorb_json_str(claims, "sub", ""));
	rc = xorb_jwt_decode(jwt, &back, &err);
	if (rc)
		fprintf(stderr, "decode of a signed JWT: %s\n%s\n", err.msg, jwt);
	FUZZ_CHECK(rc == XORB_OK);
	FUZZ_CHECK(xorb_nkey_public(issuer, iss) == 0);
	FUZZ_CHECK(!strcmp(xorb_json_str(back, "iss", ""), iss));
	FUZZ_CHECK(sub && !strcmp(xorb_json_str(back, "sub", ""), sub));
	FUZZ_CHECK(xorb_jwt_id(back, jti) == 0);
	FUZZ_CHECK(!strcmp(xorb_json_str(back, "jti", ""), jti));
	if (is_user)
		creds_round_trip(jwt);
	cJSON_Delete(back);
	free(sub);
	free(jwt);
}

/* Signs the input bytes themselves as the claims part, with the fixed key
 * whose public key the claims name as "iss" (the dictionary holds them), and
 * decodes: what xorb_jwt_decode does after a good signature, on claims text
 * no encoder wrote. */
static void sign_raw(const uint8_t *data, size_t len)
{
	static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\"}";
	struct xorb_nkey *const keys[] = { operator_key, account_key, user_key };
	char pub[XORB_NKEY_PUBLIC_LEN + 1], *tok, *w;
	unsigned char sig[XORB_NKEY_SIG_LEN];
	struct xorb_nkey *k = account_key;
	const char *iss = NULL;
	cJSON *parsed = NULL, *back = NULL;
	struct xorb_error err;
	size_t i, hl = strlen(header);
	int rc, matched = 0;

	if (xorb_json_parse((const char *)data, len, "claims", &parsed, NULL) == XORB_OK)
		iss = xorb_json_str(parsed, "iss", NULL);
	for (i = 0; iss && i < sizeof(keys) / sizeof(keys[0]); i++) {
		FUZZ_CHECK(xorb_nkey_public(keys[i], pub) == 0);
		if (!strcmp(pub, iss)) {
			k = keys[i];
			matched = 1;
		}
	}
	tok = malloc(xorb_base64url_len(hl) + xorb_base64url_len(len) +
		     xorb_base64url_len(sizeof(sig)) + 3);
	FUZZ_CHECK(tok != NULL);
	xorb_base64url_encode(header, hl, tok);
	w = tok + strlen(tok);
	*w++ = '.';
	xorb_base64url_encode(data, len, w);
	w += strlen(w);
	FUZZ_CHECK(xorb_nkey_sign(k, tok, (size_t)(w - tok), sig, NULL) == XORB_OK);
	*w++ = '.';
	xorb_base64url_encode(sig, sizeof(sig), w);

	rc = xorb_jwt_decode(tok, &back, &err);
	if (getenv("FUZZ_DEBUG")) /* which way the decode went, for seed work */
		fprintf(stderr, "fuzz_jwt: raw-signed claims: %s\n", rc ? err.msg : "ok");
	if (matched)
		FUZZ_CHECK(rc != XORB_EAUTH); /* signed by the key it names */
	if (rc == XORB_OK) {
		FUZZ_CHECK(parsed && matched && cJSON_IsObject(back));
		FUZZ_CHECK(!has_duplicate_member(parsed));
		FUZZ_CHECK(xorb_json_int(cJSON_GetObjectItemCaseSensitive(back, "nats"), "version", 0) ==
			   2);
	}
	cJSON_Delete(back);
	cJSON_Delete(parsed);
	free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct xorb_nkey *seed = NULL;
	struct xorb_error err;
	cJSON *claims = NULL;
	char *text, *jwt = NULL;
	int rc;

	text = fuzz_strndup(data, len);
	if (!text)
		return 0;
	decode_one(text);

	xorb_error_clear(&err);
	rc = xorb_creds_parse((const char *)data, len, &jwt, &seed, &err);
	if (rc) {
		FUZZ_CHECK(jwt == NULL && seed == NULL && err.code == rc);
	} else {
		FUZZ_CHECK(jwt && seed && xorb_nkey_type(seed) == XORB_NKEY_USER);
		decode_one(jwt);
		free(jwt);
		xorb_nkey_free(seed);
	}

	if (len && data[0] == '{') {
		sign_raw(data, len);
		if (xorb_json_parse(text, len, "claims", &claims, NULL) == XORB_OK &&
		    cJSON_IsObject(claims))
			sign_round_trip(claims);
		cJSON_Delete(claims);
	}
	free(text);
	return 0;
}

/* NATS JWT v2, .creds files and secret files: see xorb_jwt.h. */
#include "xorb_jwt.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "xorb_buf.h"
#include "xorb_json.h"

static const char jwt_header[] = "{\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\"}";

/* nats-io/jwt ClaimsData: the fields in struct order, which is also the
 * order of the JSON the id is computed over. */
static const char *const claim_fields[] = { "aud", "exp", "jti", "iat", "iss", "name", "nbf", "sub" };

/* ---- the id ---- */

/* Appends s as Go's encoding/json (1.19, HTML escaping on) writes a string:
 * <, > and & as \u003c etc., control bytes as \n \r \t or \u00xx, U+2028 and
 * U+2029 escaped, each byte of invalid UTF-8 as \ufffd. */
static int go_json_string(const char *s, struct xorb_buf *b)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	int rc = xorb_buf_append(b, "\"", 1);

	while (*p && !rc) {
		unsigned char c = *p;

		if (c < 0x80) {
			if (c == '"' || c == '\\') {
				char e[2] = { '\\', (char)c };
				rc = xorb_buf_append(b, e, 2);
			} else if (c == '\n') {
				rc = xorb_buf_append(b, "\\n", 2);
			} else if (c == '\r') {
				rc = xorb_buf_append(b, "\\r", 2);
			} else if (c == '\t') {
				rc = xorb_buf_append(b, "\\t", 2);
			} else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
				char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
				rc = xorb_buf_append(b, e, 6);
			} else {
				rc = xorb_buf_append(b, p, 1);
			}
			p++;
			continue;
		}
		/* one UTF-8 sequence, validated as utf8.DecodeRuneInString does */
		{
			size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
			unsigned long r = n == 4 ? c & 7u : n == 3 ? c & 15u : c & 31u;
			size_t i;

			if (c > 0xf4)
				n = 0;
			for (i = 1; i < n; i++) {
				unsigned char cc = p[i];
				unsigned char lo = 0x80, hi = 0xbf;

				if (i == 1 && c == 0xe0)
					lo = 0xa0;
				else if (i == 1 && c == 0xed)
					hi = 0x9f;
				else if (i == 1 && c == 0xf0)
					lo = 0x90;
				else if (i == 1 && c == 0xf4)
					hi = 0x8f;
				if (cc < lo || cc > hi) {
					n = 0;
					break;
				}
				r = r << 6 | (cc & 63u);
			}
			if (n == 0) {
				rc = xorb_buf_puts(b, "\\ufffd");
				p++;
			} else if (r == 0x2028 || r == 0x2029) {
				rc = xorb_buf_puts(b, r == 0x2028 ? "\\u2028" : "\\u2029");
				p += n;
			} else {
				rc = xorb_buf_append(b, p, n);
				p += n;
			}
		}
	}
	return rc ? rc : xorb_buf_append(b, "\"", 1);
}

/* An integral number that fits int64_t (no libm: floor needs -lm at -O0). */
static int is_int64(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble >= -9223372036854775808.0 &&
	       v->valuedouble < 9223372036854775808.0 &&
	       v->valuedouble == (double)(int64_t)v->valuedouble;
}

static int is_int_field(const char *k)
{
	return !strcmp(k, "exp") || !strcmp(k, "iat") || !strcmp(k, "nbf");
}

int xorb_jwt_id(const cJSON *claims, char out[XORB_JWT_ID_LEN + 1])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	struct xorb_buf b;
	size_t i;
	int rc = 0, first = 1;

	xorb_buf_init(&b);
	rc = xorb_buf_append(&b, "{", 1);
	for (i = 0; i < sizeof(claim_fields) / sizeof(claim_fields[0]) && !rc; i++) {
		const char *k = claim_fields[i];
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, k);

		if (!strcmp(k, "jti"))
			continue; /* cleared before hashing */
		if (is_int_field(k)) {
			int64_t n;

			if (!is_int64(v) || (n = (int64_t)v->valuedouble) == 0)
				continue; /* omitempty */
			rc = xorb_buf_printf(&b, "%s\"%s\":%" PRId64, first ? "" : ",", k, n);
		} else {
			if (!cJSON_IsString(v) || !v->valuestring || !*v->valuestring)
				continue;
			rc = xorb_buf_printf(&b, "%s\"%s\":", first ? "" : ",", k);
			rc = rc ? rc : go_json_string(v->valuestring, &b);
		}
		first = 0;
	}
	rc = rc ? rc : xorb_buf_append(&b, "}", 1);
	if (!rc && (EVP_Digest(b.data, b.len, md, &mdlen, EVP_sha512_256(), NULL) != 1 ||
		    mdlen != sizeof(md)))
		rc = -1;
	xorb_buf_release(&b);
	if (rc)
		return -1;
	xorb_base32_encode(md, sizeof(md), out);
	return 0;
}

/* ---- who may issue what ---- */

static const char *key_article(int t)
{
	return t == XORB_NKEY_OPERATOR ? "an operator" : t == XORB_NKEY_ACCOUNT ? "an account" : "a user";
}

/* The key kinds nats-io/jwt expects for a claim type (ExpectedPrefixes and
 * the subject checks of its Encode/Validate); -1 where any key will do. */
static void expected_kinds(const char *type, int *issuer, int *subject)
{
	*issuer = *subject = -1;
	if (!strcmp(type, "operator")) {
		*issuer = XORB_NKEY_OPERATOR;
		*subject = XORB_NKEY_OPERATOR;
	} else if (!strcmp(type, "account")) {
		*issuer = XORB_NKEY_OPERATOR;
		*subject = XORB_NKEY_ACCOUNT;
	} else if (!strcmp(type, "user")) {
		*issuer = XORB_NKEY_ACCOUNT;
		*subject = XORB_NKEY_USER;
	} else if (!strcmp(type, "activation")) {
		*issuer = XORB_NKEY_ACCOUNT;
	}
}

/* XORB_OK, or code when issuer or subject is of the wrong kind for type. */
static int check_kinds(const char *type, int issuer, const char *iss, const char *sub, int code,
		       struct xorb_error *err)
{
	int want_iss, want_sub;

	expected_kinds(type, &want_iss, &want_sub);
	if (want_iss >= 0 && issuer != want_iss)
		return xorb_error_set(err, code, "%s JWT issued by %s key (%s), expected %s key", type,
				      key_article(issuer), iss, key_article(want_iss));
	if (want_sub >= 0 && !xorb_nkey_public_valid(sub, (enum xorb_nkey_type)want_sub))
		return xorb_error_set(err, code, "%s JWT has the subject \"%.60s\", expected %s public key",
				      type, sub, key_article(want_sub));
	return XORB_OK;
}

/* ---- duplicate member names ---- */

static int cmp_member_name(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

	return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

/*
 * The first member name found twice in one object, at any depth, or NULL.
 * cJSON reads the first of two equal names, Go's encoding/json (nats-server)
 * the last: claims with a repeated name would mean one thing here and
 * another to the server, so they are refused both ways. Sorted, not
 * compared pairwise: a 1 MiB object may have 100k members. *oom is set when
 * memory runs out.
 */
static const char *duplicate_member(const cJSON *item, int *oom)
{
	const cJSON **v, *c;
	const char *dup = NULL;
	size_t n = 0, i;

	for (c = item ? item->child : NULL; c; c = c->next) {
		n++;
		if ((dup = duplicate_member(c, oom)) || *oom)
			return dup;
	}
	if (!cJSON_IsObject(item) || n < 2)
		return NULL;
	v = malloc(n * sizeof(*v));
	if (!v) {
		*oom = 1;
		return NULL;
	}
	for (c = item->child, i = 0; c; c = c->next)
		v[i++] = c;
	qsort(v, n, sizeof(*v), cmp_member_name);
	for (i = 1; i < n && !dup; i++)
		if (!cmp_member_name(&v[i - 1], &v[i]))
			dup = v[i]->string ? v[i]->string : "";
	free(v);
	return dup;
}

static int check_duplicates(const cJSON *j, const char *what, int code, struct xorb_error *err)
{
	int oom = 0;
	const char *dup = duplicate_member(j, &oom);

	if (oom)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory checking %s", what);
	if (dup)
		return xorb_error_set(err, code, "%s: member \"%.80s\" appears twice", what, dup);
	return XORB_OK;
}

/* ---- encode ---- */

static int b64_append(struct xorb_buf *b, const void *data, size_t n)
{
	size_t el = xorb_base64url_len(n);

	if (xorb_buf_reserve(b, el + 1))
		return -1;
	xorb_base64url_encode(data, n, b->data + b->len);
	b->len += el;
	return 0;
}

static int replace_member(cJSON *obj, const char *key, cJSON *v)
{
	if (!v)
		return -1;
	cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
	if (!cJSON_AddItemToObject(obj, key, v)) {
		cJSON_Delete(v);
		return -1;
	}
	return 0;
}

/* Moves the standard claim fields to the front in nats-io/jwt's order, the
 * other members keeping theirs. Without memory for the scratch object the
 * order stays as it was (still valid, only less like nsc's output). */
static void order_claims(cJSON *claims)
{
	cJSON *rest = cJSON_CreateObject(), *v;
	size_t i;

	if (!rest)
		return;
	/* cJSON_AddItemToArray keeps an item's key: usable on objects */
	while (claims->child)
		cJSON_AddItemToArray(rest, cJSON_DetachItemViaPointer(claims, claims->child));
	for (i = 0; i < sizeof(claim_fields) / sizeof(claim_fields[0]); i++)
		if ((v = cJSON_DetachItemFromObjectCaseSensitive(rest, claim_fields[i])))
			cJSON_AddItemToArray(claims, v);
	while (rest->child)
		cJSON_AddItemToArray(claims, cJSON_DetachItemViaPointer(rest, rest->child));
	cJSON_Delete(rest);
}

static int check_claim_types(const cJSON *claims, struct xorb_error *err)
{
	size_t i;

	for (i = 0; i < sizeof(claim_fields) / sizeof(claim_fields[0]); i++) {
		const char *k = claim_fields[i];
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, k);

		if (!v || !strcmp(k, "jti") || !strcmp(k, "iat") || !strcmp(k, "iss"))
			continue;
		if (is_int_field(k) ? !is_int64(v) : !cJSON_IsString(v))
			return xorb_error_set(err, XORB_EINVAL, "JWT claim \"%s\" must be %s", k,
					      is_int_field(k) ? "an integer" : "a string");
	}
	return XORB_OK;
}

int xorb_jwt_encode(cJSON *claims, const struct xorb_nkey *issuer, int64_t iat, char **out,
		    struct xorb_error *err)
{
	char iss[XORB_NKEY_PUBLIC_LEN + 1], jti[XORB_JWT_ID_LEN + 1];
	unsigned char sig[XORB_NKEY_SIG_LEN];
	const cJSON *sub;
	cJSON *nats, *ver;
	struct xorb_buf payload, tok;
	int rc;

	*out = NULL;
	if (!cJSON_IsObject(claims) || !issuer)
		return xorb_error_set(err, XORB_EINVAL, "JWT claims must be an object and an issuer is required");
	sub = cJSON_GetObjectItemCaseSensitive(claims, "sub");
	if (!cJSON_IsString(sub) || !sub->valuestring || !*sub->valuestring)
		return xorb_error_set(err, XORB_EINVAL, "JWT claims have no \"sub\" (the subject's public key)");
	rc = check_claim_types(claims, err);
	rc = rc ? rc : check_duplicates(claims, "JWT claims", XORB_EINVAL, err);
	if (rc)
		return rc;
	nats = cJSON_GetObjectItemCaseSensitive(claims, "nats");
	if (nats && !cJSON_IsObject(nats))
		return xorb_error_set(err, XORB_EINVAL, "JWT claim \"nats\" must be an object");
	ver = nats ? cJSON_GetObjectItemCaseSensitive(nats, "version") : NULL;
	if (ver && (!cJSON_IsNumber(ver) || ver->valuedouble != 2))
		return xorb_error_set(err, XORB_EINVAL, "JWT claim nats.version must be 2");
	if (!nats) {
		nats = cJSON_AddObjectToObject(claims, "nats");
		if (!nats)
			return xorb_error_set(err, XORB_ENOMEM, "out of memory for JWT claims");
	}
	/* without version 2 nats-server checks a v1 signature, which fails */
	if (!ver && !xorb_json_add_int(nats, "version", 2))
		return xorb_error_set(err, XORB_ENOMEM, "out of memory for JWT claims");

	xorb_nkey_public(issuer, iss);
	rc = check_kinds(xorb_json_str(nats, "type", ""), (int)xorb_nkey_type(issuer), iss,
			 sub->valuestring, XORB_EINVAL, err);
	if (rc)
		return rc;
	if (iat <= 0)
		iat = (int64_t)time(NULL);
	cJSON_DeleteItemFromObjectCaseSensitive(claims, "jti");
	if (replace_member(claims, "iat", cJSON_CreateNumber((double)iat)) ||
	    replace_member(claims, "iss", cJSON_CreateString(iss)) || xorb_jwt_id(claims, jti) ||
	    replace_member(claims, "jti", cJSON_CreateString(jti)))
		return xorb_error_set(err, XORB_ENOMEM, "out of memory for JWT claims");
	order_claims(claims);

	xorb_buf_init(&payload);
	xorb_buf_init(&tok);
	if (xorb_json_print(claims, &payload) || b64_append(&tok, jwt_header, strlen(jwt_header)) ||
	    xorb_buf_append(&tok, ".", 1) || b64_append(&tok, payload.data, payload.len)) {
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory for the JWT");
		goto out;
	}
	if (tok.len + 1 + xorb_base64url_len(sizeof(sig)) > XORB_JWT_MAX) {
		rc = xorb_error_set(err, XORB_EINVAL, "JWT of \"%s\" would be %zu bytes, over the %u-byte limit",
				    sub->valuestring, tok.len, XORB_JWT_MAX);
		goto out;
	}
	rc = xorb_nkey_sign(issuer, tok.data, tok.len, sig, err);
	if (rc)
		goto out;
	if (xorb_buf_append(&tok, ".", 1) || b64_append(&tok, sig, sizeof(sig))) {
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory for the JWT");
		goto out;
	}
	*out = xorb_buf_detach(&tok);
	if (!*out)
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory for the JWT");
out:
	xorb_buf_release(&payload);
	xorb_buf_release(&tok);
	return rc;
}

/* ---- decode ---- */


/* Decodes one base64url part into a fresh NUL-terminated buffer. */
static int b64_part(const char *s, size_t len, const char *what, unsigned char **out, size_t *n,
		    struct xorb_error *err)
{
	unsigned char *buf = malloc(len / 4 * 3 + 3 + 1);

	*out = NULL;
	if (!buf)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory decoding a JWT");
	if (xorb_base64url_decode(s, len, buf, len / 4 * 3 + 3, n)) {
		free(buf);
		return xorb_error_set(err, XORB_ECORRUPT, "JWT %s is not valid base64url (no padding)", what);
	}
	buf[*n] = '\0';
	*out = buf;
	return XORB_OK;
}

static int check_header(const unsigned char *h, size_t n, struct xorb_error *err)
{
	const char *typ, *alg;
	cJSON *j = NULL;
	int rc;

	rc = xorb_json_parse((const char *)h, n, "JWT header", &j, err);
	rc = rc ? rc : check_duplicates(j, "JWT header", XORB_ECORRUPT, err);
	if (rc) {
		cJSON_Delete(j);
		return rc;
	}
	typ = xorb_json_str(j, "typ", NULL);
	alg = xorb_json_str(j, "alg", NULL);
	if (!cJSON_IsObject(j) || !typ || strcasecmp(typ, "JWT"))
		rc = xorb_error_set(err, XORB_ECORRUPT, "JWT header has typ \"%.40s\", expected \"JWT\"",
				    typ ? typ : "");
	else if (!alg || strcasecmp(alg, "ed25519-nkey"))
		rc = xorb_error_set(err, XORB_ECORRUPT,
				    "JWT header has alg \"%.40s\", expected \"ed25519-nkey\" (JWT v2)",
				    alg ? alg : "");
	cJSON_Delete(j);
	return rc;
}

int xorb_jwt_decode(const char *jwt, cJSON **claims, struct xorb_error *err)
{
	unsigned char pub[XORB_NKEY_RAW_LEN];
	unsigned char *hdr = NULL, *pl = NULL, *sig = NULL;
	const char *d1, *d2, *iss, *type;
	enum xorb_nkey_type it;
	size_t len, hn, pn, sn;
	const cJSON *nats;
	cJSON *c = NULL;
	int rc;

	*claims = NULL;
	if (!jwt)
		return xorb_error_set(err, XORB_EINVAL, "no JWT given");
	len = strnlen(jwt, XORB_JWT_MAX + 1);
	if (len > XORB_JWT_MAX)
		return xorb_error_set(err, XORB_ECORRUPT, "JWT is over the %u-byte limit", XORB_JWT_MAX);
	d1 = memchr(jwt, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jwt)) : NULL;
	if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jwt)))
		return xorb_error_set(err, XORB_ECORRUPT, "JWT does not have 3 dot-separated parts");

	rc = b64_part(jwt, (size_t)(d1 - jwt), "header", &hdr, &hn, err);
	rc = rc ? rc : check_header(hdr, hn, err);
	rc = rc ? rc : b64_part(d1 + 1, (size_t)(d2 - d1 - 1), "claims", &pl, &pn, err);
	rc = rc ? rc : xorb_json_parse((const char *)pl, pn, "JWT claims", &c, err);
	rc = rc ? rc : b64_part(d2 + 1, len - (size_t)(d2 + 1 - jwt), "signature", &sig, &sn, err);
	if (rc)
		goto out;
	if (!cJSON_IsObject(c)) {
		rc = xorb_error_set(err, XORB_ECORRUPT, "JWT claims are not a JSON object");
		goto out;
	}
	rc = check_duplicates(c, "JWT claims", XORB_ECORRUPT, err);
	if (rc)
		goto out;
	if (sn != XORB_NKEY_SIG_LEN) {
		rc = xorb_error_set(err, XORB_ECORRUPT, "JWT signature is %zu bytes, Ed25519 has %d", sn,
				    XORB_NKEY_SIG_LEN);
		goto out;
	}
	iss = xorb_json_str(c, "iss", NULL);
	if (!iss || xorb_nkey_public_decode(iss, &it, pub)) {
		rc = xorb_error_set(err, XORB_ECORRUPT,
				    "JWT issuer \"iss\" is not an operator, account or user public key");
		goto out;
	}
	if (xorb_nkey_verify(iss, jwt, (size_t)(d2 - jwt), sig)) {
		rc = xorb_error_set(err, XORB_EAUTH, "JWT signature does not verify against its issuer %s", iss);
		goto out;
	}
	nats = cJSON_GetObjectItemCaseSensitive(c, "nats");
	if (xorb_json_int(nats, "version", 0) != 2) {
		rc = xorb_error_set(err, XORB_ECORRUPT, "JWT claims have nats.version %" PRId64 ", expected 2",
				    xorb_json_int(nats, "version", 0));
		goto out;
	}
	type = xorb_json_str(nats, "type", "");
	rc = check_kinds(type, (int)it, iss, xorb_json_str(c, "sub", ""), XORB_ECORRUPT, err);
	if (rc)
		goto out;
	*claims = c;
	c = NULL;
out:
	cJSON_Delete(c);
	free(hdr);
	free(pl);
	free(sig);
	return rc;
}

/* ---- claims ---- */

static cJSON *base_claims(const char *name, const char *sub, cJSON **nats)
{
	cJSON *c = cJSON_CreateObject();

	*nats = NULL;
	if (!c)
		return NULL;
	if ((name && !cJSON_AddStringToObject(c, "name", name)) ||
	    !cJSON_AddStringToObject(c, "sub", sub) || !(*nats = cJSON_AddObjectToObject(c, "nats"))) {
		cJSON_Delete(c);
		return NULL;
	}
	return c;
}

/* Appends nats.type and nats.version; returns c, or NULL (c freed). */
static cJSON *finish_claims(cJSON *c, cJSON *nats, const char *type)
{
	if (!cJSON_AddStringToObject(nats, "type", type) || !xorb_json_add_int(nats, "version", 2)) {
		cJSON_Delete(c);
		return NULL;
	}
	return c;
}

cJSON *xorb_jwt_operator_claims(const char *name, const char *operator_pub,
				const char *const *signing_keys, const char *system_account)
{
	cJSON *c, *nats, *keys;
	size_t i;

	if (!xorb_nkey_public_valid(operator_pub, XORB_NKEY_OPERATOR) ||
	    (system_account && !xorb_nkey_public_valid(system_account, XORB_NKEY_ACCOUNT)))
		return NULL;
	for (i = 0; signing_keys && signing_keys[i]; i++)
		if (!xorb_nkey_public_valid(signing_keys[i], XORB_NKEY_OPERATOR))
			return NULL;
	c = base_claims(name, operator_pub, &nats);
	if (!c)
		return NULL;
	if (signing_keys && signing_keys[0]) {
		keys = cJSON_AddArrayToObject(nats, "signing_keys");
		for (i = 0; keys && signing_keys[i]; i++) {
			cJSON *k = cJSON_CreateString(signing_keys[i]);

			if (!k || !cJSON_AddItemToArray(keys, k)) {
				cJSON_Delete(k);
				keys = NULL;
			}
		}
		if (!keys) {
			cJSON_Delete(c);
			return NULL;
		}
	}
	if (system_account && !cJSON_AddStringToObject(nats, "system_account", system_account)) {
		cJSON_Delete(c);
		return NULL;
	}
	return finish_claims(c, nats, "operator");
}

cJSON *xorb_jwt_account_claims(const char *name, const char *account_pub)
{
	static const char *const unlimited[] = { "subs", "data", "payload", "imports", "exports" };
	cJSON *c, *nats, *lim, *perm;
	size_t i;
	int ok;

	if (!xorb_nkey_public_valid(account_pub, XORB_NKEY_ACCOUNT))
		return NULL;
	c = base_claims(name, account_pub, &nats);
	if (!c)
		return NULL;
	lim = cJSON_AddObjectToObject(nats, "limits");
	ok = lim != NULL;
	for (i = 0; ok && i < sizeof(unlimited) / sizeof(unlimited[0]); i++)
		ok = xorb_json_add_int(lim, unlimited[i], -1) != NULL;
	ok = ok && cJSON_AddBoolToObject(lim, "wildcards", 1) && xorb_json_add_int(lim, "conn", -1) &&
	     xorb_json_add_int(lim, "leaf", -1);
	perm = ok ? cJSON_AddObjectToObject(nats, "default_permissions") : NULL;
	ok = perm && cJSON_AddObjectToObject(perm, "pub") && cJSON_AddObjectToObject(perm, "sub");
	if (!ok) {
		cJSON_Delete(c);
		return NULL;
	}
	return finish_claims(c, nats, "account");
}

cJSON *xorb_jwt_user_claims(const char *name, const char *user_pub, const char *issuer_account)
{
	cJSON *c, *nats;
	int ok;

	if (!xorb_nkey_public_valid(user_pub, XORB_NKEY_USER) ||
	    (issuer_account && !xorb_nkey_public_valid(issuer_account, XORB_NKEY_ACCOUNT)))
		return NULL;
	c = base_claims(name, user_pub, &nats);
	if (!c)
		return NULL;
	ok = cJSON_AddObjectToObject(nats, "pub") && cJSON_AddObjectToObject(nats, "sub") &&
	     xorb_json_add_int(nats, "subs", -1) && xorb_json_add_int(nats, "data", -1) &&
	     xorb_json_add_int(nats, "payload", -1) &&
	     (!issuer_account || cJSON_AddStringToObject(nats, "issuer_account", issuer_account));
	if (!ok) {
		cJSON_Delete(c);
		return NULL;
	}
	return finish_claims(c, nats, "user");
}

/* ---- .creds ---- */

static const char creds_notice[] =
	"************************* IMPORTANT *************************\n"
	"NKEY Seed printed below can be used to sign and prove identity.\n"
	"NKEYs are sensitive and should be treated as secrets.\n"
	"\n";

int xorb_creds_format(const char *user_jwt, const struct xorb_nkey *user_seed, char **out,
		      struct xorb_error *err)
{
	char seed[XORB_NKEY_SEED_LEN + 1], pub[XORB_NKEY_PUBLIC_LEN + 1];
	const char *sub;
	struct xorb_buf b;
	cJSON *c = NULL;
	int rc;

	*out = NULL;
	if (!user_seed || xorb_nkey_type(user_seed) != XORB_NKEY_USER)
		return xorb_error_set(err, XORB_EINVAL, "a .creds file needs a user nkey seed");
	rc = xorb_jwt_decode(user_jwt, &c, err);
	if (rc)
		return err ? xorb_error_prefix(err, "user JWT for a .creds file: ") : rc;
	xorb_nkey_public(user_seed, pub);
	sub = xorb_json_str(c, "sub", "");
	if (strcmp(xorb_json_str(cJSON_GetObjectItemCaseSensitive(c, "nats"), "type", ""), "user"))
		rc = xorb_error_set(err, XORB_EINVAL, "JWT for a .creds file is not a user JWT");
	else if (strcmp(sub, pub))
		rc = xorb_error_set(err, XORB_EINVAL,
				    "user JWT is for %s but the seed is of %s: they do not belong together",
				    sub, pub);
	cJSON_Delete(c);
	if (rc)
		return rc;
	xorb_nkey_seed(user_seed, seed);
	xorb_buf_init(&b);
	if (xorb_buf_printf(&b,
			    "-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n\n%s"
			    "-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n\n"
			    "*************************************************************\n",
			    user_jwt, creds_notice, seed)) {
		xorb_buf_wipe_release(&b);
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory formatting a .creds file");
	} else {
		*out = xorb_buf_detach(&b);
	}
	explicit_bzero(seed, sizeof(seed));
	return rc;
}

/* A delimiter line: white space, 3+ dashes, anything, 3+ dashes, white space. */
static int is_marker(const char *s, size_t n)
{
	size_t i = 0, j = n, k;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	while (j > i && (s[j - 1] == ' ' || s[j - 1] == '\t'))
		j--;
	if (j - i < 6)
		return 0;
	for (k = 0; k < 3; k++)
		if (s[i + k] != '-' || s[j - 1 - k] != '-')
			return 0;
	return 1;
}

static int is_token(const char *s, size_t n)
{
	size_t i;

	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.' || c == '='))
			return 0;
	}
	return 1;
}

int xorb_creds_parse(const char *text, size_t len, char **jwt, struct xorb_nkey **seed,
		     struct xorb_error *err)
{
	const char *line[3] = { NULL, NULL, NULL }, *p = text, *end = text + len;
	size_t llen[3] = { 0, 0, 0 };
	const char *blk[2] = { NULL, NULL };
	size_t blen[2] = { 0, 0 }, nblk = 0;
	char *s;
	int rc;

	*jwt = NULL;
	*seed = NULL;
	if (!text || len > XORB_CREDS_MAX)
		return xorb_error_set(err, XORB_ECORRUPT, ".creds text is missing or over %u bytes",
				      XORB_CREDS_MAX);
	/* slide a window of three lines: marker, token, marker */
	while (p < end && nblk < 2) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (n && p[n - 1] == '\r')
			n--;
		line[0] = line[1];
		llen[0] = llen[1];
		line[1] = line[2];
		llen[1] = llen[2];
		line[2] = p;
		llen[2] = n;
		if (line[0] && is_marker(line[0], llen[0]) && is_token(line[1], llen[1]) &&
		    is_marker(line[2], llen[2])) {
			blk[nblk] = line[1];
			blen[nblk++] = llen[1];
			line[1] = line[2] = NULL; /* the closing marker opens nothing */
		}
		p = nl ? nl + 1 : end;
	}
	if (nblk < 2)
		return xorb_error_set(err, XORB_ECORRUPT,
				      ".creds text has %s: expected the user JWT and the seed between BEGIN/END lines",
				      nblk ? "no seed block" : "no JWT block");
	s = strndup(blk[1], blen[1]);
	if (!s)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory reading .creds");
	rc = xorb_nkey_from_seed(s, seed, err);
	explicit_bzero(s, blen[1]);
	free(s);
	if (rc) {
		if (!err)
			return XORB_ECORRUPT;
		err->code = XORB_ECORRUPT;
		return xorb_error_prefix(err, ".creds seed: ");
	}
	if (xorb_nkey_type(*seed) != XORB_NKEY_USER) {
		rc = xorb_error_set(err, XORB_ECORRUPT, ".creds seed is an %s seed, not a user seed",
				    xorb_nkey_type_name(xorb_nkey_type(*seed)));
		xorb_nkey_free(*seed);
		*seed = NULL;
		return rc;
	}
	*jwt = strndup(blk[0], blen[0]);
	if (!*jwt) {
		xorb_nkey_free(*seed);
		*seed = NULL;
		return xorb_error_set(err, XORB_ENOMEM, "out of memory reading .creds");
	}
	return XORB_OK;
}

/* ---- secret files ---- */

static int mkdir_private(const char *dir, struct xorb_error *err)
{
	char buf[4096];
	size_t n = strlen(dir), i;
	struct stat sb;

	if (n == 0 || n >= sizeof(buf))
		return xorb_error_set(err, XORB_EINVAL, "directory path \"%.200s\" is empty or too long", dir);
	memcpy(buf, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return xorb_error_set(err, XORB_EIO, "cannot create directory \"%s\": %s", buf,
					      strerror(errno));
		if (stat(buf, &sb) || !S_ISDIR(sb.st_mode))
			return xorb_error_set(err, XORB_EIO, "\"%s\" is not a directory", buf);
		if (i < n)
			buf[i] = '/';
	}
	return XORB_OK;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t w = write(fd, data, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

int xorb_secret_write(const char *path, const char *data, size_t len, int overwrite,
		      struct xorb_error *err)
{
	char dir[4096], tmp[4096 + 16];
	const char *slash, *base;
	struct stat sb;
	int fd, rc, e;

	if (!path || !*path || path[strlen(path) - 1] == '/')
		return xorb_error_set(err, XORB_EINVAL, "secret file path \"%s\" is not a file name",
				      path ? path : "");
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) >= sizeof(dir))
		return xorb_error_set(err, XORB_EINVAL, "secret file path \"%.200s...\" is too long", path);
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	rc = mkdir_private(dir, err);
	if (rc)
		return rc;
	if (stat(dir, &sb))
		return xorb_error_set(err, XORB_EIO, "cannot stat \"%s\": %s", dir, strerror(errno));
	if ((sb.st_mode & (S_IWGRP | S_IWOTH)) && !(sb.st_mode & S_ISVTX))
		return xorb_error_set(err, XORB_EINVAL,
				      "directory \"%s\" is writable by group or others: refusing to write the secret \"%s\" there (chmod go-w it)",
				      dir, base);
	if (overwrite) {
		if (snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, base) >= (int)sizeof(tmp))
			return xorb_error_set(err, XORB_EINVAL, "secret file path \"%.200s...\" is too long", path);
		fd = mkostemp(tmp, O_CLOEXEC);
	} else {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		e = errno;
		if (!overwrite && e == EEXIST)
			return xorb_error_set(err, XORB_EEXIST, "\"%s\" already exists: not overwriting a secret", path);
		return xorb_error_set(err, XORB_EIO, "cannot create \"%s\": %s", overwrite ? tmp : path,
				      strerror(e));
	}
	if (write_all(fd, data, len) || fsync(fd)) {
		e = errno;
		close(fd);
		unlink(overwrite ? tmp : path);
		return xorb_error_set(err, XORB_EIO, "cannot write \"%s\": %s", path, strerror(e));
	}
	if (close(fd)) {
		e = errno;
		unlink(overwrite ? tmp : path);
		return xorb_error_set(err, XORB_EIO, "cannot write \"%s\": %s", path, strerror(e));
	}
	if (overwrite && rename(tmp, path)) {
		e = errno;
		unlink(tmp);
		return xorb_error_set(err, XORB_EIO, "cannot replace \"%s\": %s", path, strerror(e));
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (fsync(fd)) {
			e = errno;
			close(fd);
			return xorb_error_set(err, XORB_EIO, "cannot sync directory \"%s\": %s", dir, strerror(e));
		}
		close(fd);
	}
	return XORB_OK;
}

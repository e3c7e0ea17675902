/*
 * Unit tests of the JWT module (xorb_jwt.h): a JWT computed outside this
 * code matched byte for byte, tokens made by the NATS Go tools decoded and
 * their jti recomputed, encode -> decode round trips, forgeries and
 * malformed tokens refused, exact integers, .creds text in nsc's format both
 * ways, and secret files (0600, O_EXCL, atomic overwrite, unsafe dirs).
 *
 * Vectors from outside:
 *  - EXPECT_ACCOUNT_JWT: Python 3 (json.dumps with separators (',', ':'),
 *    hashlib sha512_256 for the jti over {"iat","iss","name","sub"}, base64
 *    and base32) and `openssl pkeyutl -sign -rawin` with the operator key of
 *    seed bytes 00..1f (see test_nkeys.c for the key texts);
 *  - GO_*: an operator, an account and a user JWT with the user's .creds,
 *    made by nsc (Go, nats-io/jwt v2) and published in cgrates/cgrates
 *    ers/nats_it_test.go. Their jti values were computed by nats-io/jwt, so
 *    recomputing them proves xorb_jwt_id hashes what nats-io/jwt hashes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "xorb_buf.h"
#include "xorb_error.h"
#include "xorb_json.h"
#include "xorb_jwt.h"
#include "xorb_nkeys.h"

#define OP_PUB "OAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3QZVT"
#define ACC_PUB "ADLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVRTU"
#define ACC_SEED "SAAJ2YNRTXX72WTAXKCEV5ES5QWMIRCJYVUXWMTJDFYDXLADDSXH6YHY3Q"

static const char EXPECT_ACCOUNT_JTI[] = "VHX42S33RZ2W2K74KV2N7GYGWUMX35RJOWXQKGEDEKVH5ULVQZ3Q";
static const char EXPECT_ACCOUNT_JWT[] =
	"eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ."
	"eyJqdGkiOiJWSFg0MlMzM1JaMlcySzc0S1YyTjdHWUdXVU1YMzVSSk9XWFFLR0VERUtWSDVVTFZRWjNRIiwiaWF0IjoxNzAw"
	"MDAwMDAwLCJpc3MiOiJPQUIyQ0I1NzZQSEJCUFE1T0RPUlJaMkxZQ01XUFpHV0dDTjJLREs3RFhPSU1aQVNLVVkzUVpWVCIs"
	"Im5hbWUiOiJ0LXFhIiwic3ViIjoiQURMVlZHQUJRS1lRVk42VkpQN05IU0xFQTQ1QTVZTFM2UE5LTUlaRlY0QkJVMkhYQTVJ"
	"UlZSVFUiLCJuYXRzIjp7ImxpbWl0cyI6eyJzdWJzIjotMSwiZGF0YSI6LTEsInBheWxvYWQiOi0xLCJpbXBvcnRzIjotMSwi"
	"ZXhwb3J0cyI6LTEsIndpbGRjYXJkcyI6dHJ1ZSwiY29ubiI6LTEsImxlYWYiOi0xLCJkaXNrX3N0b3JhZ2UiOjUzNjg3MDkx"
	"MjAsInN0cmVhbXMiOjEwLCJjb25zdW1lciI6MTAwfSwiZGVmYXVsdF9wZXJtaXNzaW9ucyI6eyJwdWIiOnt9LCJzdWIiOnt9"
	"fSwidHlwZSI6ImFjY291bnQiLCJ2ZXJzaW9uIjoyfX0."
	"r--3SLUD6I1gZcuXzU39B7l02FolzBf0y0GbfR178CgAko_FJt36iTOCBJyoQdhpbp28LKewcXMpIA5zoUUGCA";

#define GO_OPERATOR_PUB "OCERRT6XSDCWAY3EYSSN46QLFBJ7DRG523SXH2H4R47XVUXV2RRBISLK"
#define GO_ACCOUNT_PUB "AAYJDVLZGWN7Y3FBPCVXCRVQZDFMYGHU4YXLGSXX7U254KH5SC3R5QKM"
#define GO_USER_PUB "UD3BGWIBPU3CWL4HOUU4VJEQWTUASAEG6OJ3XHM3EEJNA2PA3UVNYTZN"
#define GO_USER_SEED "SUADIH32XQYWC2MI2YGM4AUQ3NMKZSZ5V2BZXQ237XXMLO7FFHDF5CTUDE"

static const char GO_OPERATOR_JWT[] =
	"eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJqdGkiOiJFRk5ERUdSNU1aUEw1VElQTFVKMlNMTFdZV0VD"
	"U0NJSEhVU1lISE5IR1BZVUpaWE5XUlNRIiwiaWF0IjoxNjI0ODc1NzYwLCJpc3MiOiJPQ0VSUlQ2WFNEQ1dBWTNFWVNTTjQ2"
	"UUxGQko3RFJHNTIzU1hIMkg0UjQ3WFZVWFYyUlJCSVNMSyIsIm5hbWUiOiJtZW1vcnkiLCJzdWIiOiJPQ0VSUlQ2WFNEQ1dB"
	"WTNFWVNTTjQ2UUxGQko3RFJHNTIzU1hIMkg0UjQ3WFZVWFYyUlJCSVNMSyIsIm5hdHMiOnsidHlwZSI6Im9wZXJhdG9yIiwi"
	"dmVyc2lvbiI6Mn19.MZfwcw5j6zY8SfFQppGIa3VjYYZK2_n1kV16Nk5jVCgwS8dKWzRQK_XjFYWwQ15Cq9YY73jcTA6LO0Dm"
	"QGsdBA";
static const char GO_ACCOUNT_JWT[] =
	"eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJqdGkiOiJUNUFINlFUUEJIQlYyV1ZGWEkzMlFOT0RCVkI2"
	"Vkg3WTNJNzVQTjJBRzNPV0xESVc3TFFRIiwiaWF0IjoxNjI0ODc1ODEwLCJpc3MiOiJPQ0VSUlQ2WFNEQ1dBWTNFWVNTTjQ2"
	"UUxGQko3RFJHNTIzU1hIMkg0UjQ3WFZVWFYyUlJCSVNMSyIsIm5hbWUiOiJhY2NvdW50Iiwic3ViIjoiQUFZSkRWTFpHV043"
	"WTNGQlBDVlhDUlZRWkRGTVlHSFU0WVhMR1NYWDdVMjU0S0g1U0MzUjVRS00iLCJuYXRzIjp7ImxpbWl0cyI6eyJzdWJzIjot"
	"MSwiZGF0YSI6LTEsInBheWxvYWQiOi0xLCJpbXBvcnRzIjotMSwiZXhwb3J0cyI6LTEsIndpbGRjYXJkcyI6dHJ1ZSwiY29u"
	"biI6LTEsImxlYWYiOi0xfSwiZGVmYXVsdF9wZXJtaXNzaW9ucyI6eyJwdWIiOnt9LCJzdWIiOnt9fSwidHlwZSI6ImFjY291"
	"bnQiLCJ2ZXJzaW9uIjoyfX0.unslgXhO_ui9NpYkq5CuEmaU0rz5B1dbxr0bM98kXi2E-TB7RnTXPRGJpqTX16DKCdYhklfI"
	"VnI0zPMWHkaJCg";
static const char GO_USER_JWT[] =
	"eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJqdGkiOiJETFRGNFpLVVdNNFRPRkVNQko0UEUzTVFFVlhI"
	"UkJJN0xZNDdZNEMzNTNMWlJKSU5CUkJRIiwiaWF0IjoxNjI0ODg1NzMwLCJpc3MiOiJBQVlKRFZMWkdXTjdZM0ZCUENWWENS"
	"VlFaREZNWUdIVTRZWExHU1hYN1UyNTRLSDVTQzNSNVFLTSIsIm5hbWUiOiJ1c2VyIiwic3ViIjoiVUQzQkdXSUJQVTNDV0w0"
	"SE9VVTRWSkVRV1RVQVNBRUc2T0ozWEhNM0VFSk5BMlBBM1VWTllUWk4iLCJuYXRzIjp7InB1YiI6e30sInN1YiI6e30sInN1"
	"YnMiOi0xLCJkYXRhIjotMSwicGF5bG9hZCI6LTEsInR5cGUiOiJ1c2VyIiwidmVyc2lvbiI6Mn19.YmFL5nRMkEOXe77sQJPP"
	"Rv_vwi89tzhVVl0AVjE4sXWyoWIHiCepNw28DbpJ0p_MlT8Qf0SY2cjAhIm-Qi7lDw";

#define CREDS_NOTICE                                                    \
	"************************* IMPORTANT *************************\n" \
	"NKEY Seed printed below can be used to sign and prove identity.\n" \
	"NKEYs are sensitive and should be treated as secrets.\n"

/* ---- helpers ---- */

static struct xorb_nkey *seq_key(enum xorb_nkey_type t)
{
	unsigned char seed[XORB_NKEY_RAW_LEN];
	struct xorb_nkey *k = NULL;
	size_t i;

	for (i = 0; i < sizeof(seed); i++)
		seed[i] = (unsigned char)i;
	assert_int_equal(xorb_nkey_from_raw(t, seed, &k, NULL), XORB_OK);
	return k;
}

static struct xorb_nkey *seed_key(const char *seed)
{
	struct xorb_nkey *k = NULL;

	assert_int_equal(xorb_nkey_from_seed(seed, &k, NULL), XORB_OK);
	return k;
}

static struct xorb_nkey *new_key(enum xorb_nkey_type t, char pub[XORB_NKEY_PUBLIC_LEN + 1])
{
	struct xorb_nkey *k = NULL;

	assert_int_equal(xorb_nkey_generate(t, &k, NULL), XORB_OK);
	xorb_nkey_public(k, pub);
	return k;
}

static cJSON *decode_ok(const char *jwt)
{
	struct xorb_error err = { 0, "" };
	cJSON *c = NULL;

	if (xorb_jwt_decode(jwt, &c, &err) != XORB_OK)
		fail_msg("JWT rejected: %s", err.msg);
	assert_non_null(c);
	return c;
}

static void decode_bad(const char *jwt, int code, const char *want_msg)
{
	struct xorb_error err = { 0, "" };
	cJSON *c = (cJSON *)1;

	if (xorb_jwt_decode(jwt, &c, &err) == XORB_OK)
		fail_msg("JWT accepted: %.80s", jwt);
	assert_null(c);
	assert_int_equal(err.code, code);
	if (want_msg)
		assert_string_equal(err.msg, want_msg);
}

static char *encode_ok(cJSON *claims, const struct xorb_nkey *issuer, int64_t iat)
{
	struct xorb_error err = { 0, "" };
	char *jwt = NULL;

	if (xorb_jwt_encode(claims, issuer, iat, &jwt, &err) != XORB_OK)
		fail_msg("encode failed: %s", err.msg);
	assert_non_null(jwt);
	return jwt;
}

/* The decoded claims part of a JWT as text (free it). */
static char *payload_text(const char *jwt)
{
	const char *d1 = strchr(jwt, '.'), *d2 = strchr(d1 + 1, '.');
	size_t n = (size_t)(d2 - d1 - 1), out;
	char *buf = malloc(n);

	assert_non_null(buf);
	assert_int_equal(xorb_base64url_decode(d1 + 1, n, (unsigned char *)buf, n, &out), 0);
	buf[out] = '\0';
	return buf;
}

/* A JWT rebuilt from a header text, a claims text and a signature part. */
static char *rebuild(const char *header, const char *claims, const char *sig_part)
{
	struct xorb_buf b;
	char tmp[8192];

	xorb_buf_init(&b);
	xorb_base64url_encode(header, strlen(header), tmp);
	xorb_buf_puts(&b, tmp);
	xorb_buf_puts(&b, ".");
	assert_true(xorb_base64url_len(strlen(claims)) < sizeof(tmp));
	xorb_base64url_encode(claims, strlen(claims), tmp);
	xorb_buf_puts(&b, tmp);
	xorb_buf_puts(&b, ".");
	xorb_buf_puts(&b, sig_part);
	return xorb_buf_detach(&b);
}

/* A JWT of claims text signed by k, whatever the claims say (forgeries and
 * tokens xorb_jwt_encode refuses to make). */
static char *signed_token(const char *claims, const struct xorb_nkey *k)
{
	static const char hdr[] = "{\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\"}";
	unsigned char sig[XORB_NKEY_SIG_LEN];
	char sigtxt[100], *jwt, *tosign;

	jwt = rebuild(hdr, claims, "");
	tosign = strndup(jwt, strlen(jwt) - 1); /* without the final dot */
	assert_int_equal(xorb_nkey_sign(k, tosign, strlen(tosign), sig, NULL), XORB_OK);
	xorb_base64url_encode(sig, sizeof(sig), sigtxt);
	free(jwt);
	free(tosign);
	return rebuild(hdr, claims, sigtxt);
}

/* ---- known answers ---- */

static void test_encode_matches_independent_vector(void **state)
{
	struct xorb_nkey *op = seq_key(XORB_NKEY_OPERATOR);
	cJSON *c = xorb_jwt_account_claims("t-qa", ACC_PUB), *lim;
	char *jwt;

	assert_non_null(c);
	lim = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "nats"), "limits");
	assert_non_null(xorb_json_add_int(lim, "disk_storage", 5368709120LL));
	assert_non_null(xorb_json_add_int(lim, "streams", 10));
	assert_non_null(xorb_json_add_int(lim, "consumer", 100));
	jwt = encode_ok(c, op, 1700000000);
	assert_string_equal(jwt, EXPECT_ACCOUNT_JWT);
	assert_string_equal(xorb_json_str(c, "jti", ""), EXPECT_ACCOUNT_JTI);
	assert_string_equal(xorb_json_str(c, "iss", ""), OP_PUB);
	free(jwt);
	cJSON_Delete(c);
	xorb_nkey_free(op);
}

static void test_go_made_tokens_decode(void **state)
{
	static const struct { const char *jwt, *type, *iss, *sub, *name; } v[] = {
		{ GO_OPERATOR_JWT, "operator", GO_OPERATOR_PUB, GO_OPERATOR_PUB, "memory" },
		{ GO_ACCOUNT_JWT, "account", GO_OPERATOR_PUB, GO_ACCOUNT_PUB, "account" },
		{ GO_USER_JWT, "user", GO_ACCOUNT_PUB, GO_USER_PUB, "user" },
	};
	char id[XORB_JWT_ID_LEN + 1];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cJSON *c = decode_ok(v[i].jwt);
		const cJSON *nats = cJSON_GetObjectItemCaseSensitive(c, "nats");

		assert_string_equal(xorb_json_str(nats, "type", ""), v[i].type);
		assert_int_equal(xorb_json_int(nats, "version", 0), 2);
		assert_string_equal(xorb_json_str(c, "iss", ""), v[i].iss);
		assert_string_equal(xorb_json_str(c, "sub", ""), v[i].sub);
		assert_string_equal(xorb_json_str(c, "name", ""), v[i].name);
		/* the id nats-io/jwt computed is the id we compute */
		assert_int_equal(xorb_jwt_id(c, id), 0);
		assert_string_equal(id, xorb_json_str(c, "jti", ""));
		cJSON_Delete(c);
	}
}

static void test_jti_go_string_escaping(void **state)
{
	/* Python: the hash of the document Go's encoding/json writes for this
	 * name: {"iat":1,"iss":OP,"name":"a\u003cb\u003e\u0026c\"\\\n\u0001\u2028é\ufffdz","sub":ACC} */
	cJSON *c = cJSON_CreateObject();
	char id[XORB_JWT_ID_LEN + 1];

	assert_non_null(xorb_json_add_int(c, "iat", 1));
	cJSON_AddStringToObject(c, "iss", OP_PUB);
	cJSON_AddStringToObject(c, "name", "a<b>&c\"\\\n\x01\xe2\x80\xa8\xc3\xa9\xff" "z");
	cJSON_AddStringToObject(c, "sub", ACC_PUB);
	cJSON_AddStringToObject(c, "jti", "ignored");
	cJSON_AddStringToObject(c, "aud", ""); /* empty: omitted */
	assert_non_null(xorb_json_add_int(c, "exp", 0)); /* zero: omitted */
	cJSON_AddStringToObject(c, "nats", "not part of the id");
	assert_int_equal(xorb_jwt_id(c, id), 0);
	assert_string_equal(id, "ZHN62VK4ARM7V5BBAKVZNMHTPAP32IMLFTGA5YTFCESJ3NMLZZEA");
	cJSON_Delete(c);
}

/* ---- round trips ---- */

static void test_round_trip_operator_account_user(void **state)
{
	char op_pub[57], sk_pub[57], acc_pub[57], ask_pub[57], usr_pub[57], id[XORB_JWT_ID_LEN + 1];
	struct xorb_nkey *op = new_key(XORB_NKEY_OPERATOR, op_pub);
	struct xorb_nkey *sk = new_key(XORB_NKEY_OPERATOR, sk_pub);
	struct xorb_nkey *acc = new_key(XORB_NKEY_ACCOUNT, acc_pub);
	struct xorb_nkey *ask = new_key(XORB_NKEY_ACCOUNT, ask_pub);
	struct xorb_nkey *usr = new_key(XORB_NKEY_USER, usr_pub);
	const char *skeys[] = { sk_pub, NULL };
	cJSON *c, *d;
	char *jwt, *p;
	size_t i;

	/* operator, self-signed, with a signing key and the system account */
	c = xorb_jwt_operator_claims("xorb-op", op_pub, skeys, acc_pub);
	assert_non_null(c);
	jwt = encode_ok(c, op, 0);
	d = decode_ok(jwt);
	assert_string_equal(xorb_json_str(d, "iss", ""), op_pub);
	assert_string_equal(xorb_json_str(d, "sub", ""), op_pub);
	assert_string_equal(xorb_json_str(cJSON_GetObjectItemCaseSensitive(d, "nats"), "system_account", ""),
			    acc_pub);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
				    cJSON_GetObjectItemCaseSensitive(d, "nats"), "signing_keys"), 0)->valuestring,
			    sk_pub);
	assert_true(xorb_json_int(d, "iat", 0) > 1700000000);
	/* jti: 52 characters of base32, and the id of the claims */
	p = (char *)xorb_json_str(d, "jti", "");
	assert_int_equal(strlen(p), XORB_JWT_ID_LEN);
	for (i = 0; p[i]; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", p[i]));
	assert_int_equal(xorb_jwt_id(d, id), 0);
	assert_string_equal(id, p);
	free(jwt);
	cJSON_Delete(c);
	cJSON_Delete(d);

	/* account issued by the operator's signing key */
	c = xorb_jwt_account_claims("xorb-t-qa", acc_pub);
	jwt = encode_ok(c, sk, 1700000001);
	d = decode_ok(jwt);
	assert_string_equal(xorb_json_str(d, "iss", ""), sk_pub);
	assert_int_equal(xorb_json_int(d, "iat", 0), 1700000001);
	free(jwt);
	cJSON_Delete(c);
	cJSON_Delete(d);

	/* user issued by an account signing key names its account */
	c = xorb_jwt_user_claims("xorb-t-qa-user", usr_pub, acc_pub);
	jwt = encode_ok(c, ask, 0);
	d = decode_ok(jwt);
	assert_string_equal(xorb_json_str(d, "iss", ""), ask_pub);
	assert_string_equal(xorb_json_str(cJSON_GetObjectItemCaseSensitive(d, "nats"), "issuer_account", ""),
			    acc_pub);
	assert_int_equal(xorb_json_int(cJSON_GetObjectItemCaseSensitive(d, "nats"), "subs", 0), -1);
	free(jwt);
	cJSON_Delete(c);
	cJSON_Delete(d);

	xorb_nkey_free(op);
	xorb_nkey_free(sk);
	xorb_nkey_free(acc);
	xorb_nkey_free(ask);
	xorb_nkey_free(usr);
}

static void test_numbers_exact(void **state)
{
	struct xorb_nkey *op = seq_key(XORB_NKEY_OPERATOR);
	cJSON *c = xorb_jwt_account_claims(NULL, ACC_PUB), *lim, *d;
	char *jwt, *text;

	lim = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(c, "nats"), "limits");
	xorb_json_add_int(lim, "disk_storage", 5368709120LL);
	xorb_json_add_int(lim, "mem_storage", 2592000000000000LL);
	xorb_json_add_int(lim, "max_ack_pending", 1024);
	jwt = encode_ok(c, op, 4102444800LL); /* 2100-01-01 */
	text = payload_text(jwt);
	assert_non_null(strstr(text, "\"disk_storage\":5368709120,"));
	assert_non_null(strstr(text, "\"mem_storage\":2592000000000000,"));
	assert_non_null(strstr(text, "\"iat\":4102444800,"));
	assert_null(strstr(text, "e+"));
	assert_null(strstr(text, "\"name\"")); /* NULL name: none */
	/* the claims come first, in nats-io/jwt's order */
	assert_memory_equal(text, "{\"jti\":\"", 8);
	d = decode_ok(jwt);
	assert_int_equal(xorb_json_int(cJSON_GetObjectItemCaseSensitive(
					       cJSON_GetObjectItemCaseSensitive(d, "nats"), "limits"),
				       "disk_storage", 0),
			 5368709120LL);
	free(text);
	free(jwt);
	cJSON_Delete(c);
	cJSON_Delete(d);
	xorb_nkey_free(op);
}

static void test_encode_replaces_and_refuses(void **state)
{
	struct xorb_error err = { 0, "" };
	struct xorb_nkey *op = seq_key(XORB_NKEY_OPERATOR);
	cJSON *c;
	char *jwt = NULL;

	/* jti/iat/iss given are replaced; a missing nats.version becomes 2 */
	c = cJSON_Parse("{\"jti\":\"X\",\"iat\":5,\"iss\":\"me\",\"sub\":\"" ACC_PUB "\","
			"\"nats\":{\"type\":\"account\"}}");
	jwt = encode_ok(c, op, 1700000000);
	assert_string_not_equal(xorb_json_str(c, "jti", ""), "X");
	assert_int_equal(strlen(xorb_json_str(c, "jti", "")), 52);
	assert_string_equal(xorb_json_str(c, "iss", ""), OP_PUB);
	assert_int_equal(xorb_json_int(c, "iat", 0), 1700000000);
	assert_int_equal(xorb_json_int(cJSON_GetObjectItemCaseSensitive(c, "nats"), "version", 0), 2);
	free(jwt);
	cJSON_Delete(c);

	c = cJSON_Parse("{\"name\":\"x\"}");
	assert_int_equal(xorb_jwt_encode(c, op, 0, &jwt, &err), XORB_EINVAL);
	assert_string_equal(err.msg, "JWT claims have no \"sub\" (the subject's public key)");
	assert_null(jwt);
	cJSON_Delete(c);
	c = cJSON_Parse("{\"sub\":\"x\",\"nats\":{\"version\":1}}");
	assert_int_equal(xorb_jwt_encode(c, op, 0, &jwt, &err), XORB_EINVAL);
	assert_string_equal(err.msg, "JWT claim nats.version must be 2");
	cJSON_Delete(c);
	c = cJSON_Parse("{\"sub\":\"x\",\"exp\":\"tomorrow\"}");
	assert_int_equal(xorb_jwt_encode(c, op, 0, &jwt, &err), XORB_EINVAL);
	assert_string_equal(err.msg, "JWT claim \"exp\" must be an integer");
	cJSON_Delete(c);
	c = cJSON_CreateArray();
	assert_int_equal(xorb_jwt_encode(c, op, 0, &jwt, &err), XORB_EINVAL);
	cJSON_Delete(c);
	xorb_nkey_free(op);
}

static void test_claims_helpers_refuse_wrong_keys(void **state)
{
	const char *bad_sk[] = { ACC_PUB, NULL };

	assert_null(xorb_jwt_operator_claims("x", ACC_PUB, NULL, NULL));
	assert_null(xorb_jwt_operator_claims("x", OP_PUB, bad_sk, NULL));
	assert_null(xorb_jwt_operator_claims("x", OP_PUB, NULL, OP_PUB));
	assert_null(xorb_jwt_account_claims("x", OP_PUB));
	assert_null(xorb_jwt_account_claims("x", "AAAA"));
	assert_null(xorb_jwt_user_claims("x", ACC_PUB, NULL));
	assert_null(xorb_jwt_user_claims("x", GO_USER_PUB, GO_USER_PUB));
}

/* ---- forgeries and malformed tokens ---- */

static void test_tampering_rejected(void **state)
{
	char *jwt = strdup(EXPECT_ACCOUNT_JWT), *text, *forged;
	const char *d2;
	size_t at;

	/* one payload character changed (still valid base64url) */
	at = (size_t)(strchr(jwt, '.') - jwt) + 40;
	jwt[at] = jwt[at] == 'A' ? 'B' : 'A';
	decode_bad(jwt, XORB_EAUTH, "JWT signature does not verify against its issuer " OP_PUB);
	free(jwt);

	/* one signature character changed */
	jwt = strdup(EXPECT_ACCOUNT_JWT);
	at = strlen(jwt) - 20;
	jwt[at] = jwt[at] == 'A' ? 'B' : 'A';
	decode_bad(jwt, XORB_EAUTH, NULL);
	free(jwt);

	/* raised limit, original signature */
	text = payload_text(EXPECT_ACCOUNT_JWT);
	memcpy(strstr(text, "5368709120"), "9368709120", 10);
	d2 = strrchr(EXPECT_ACCOUNT_JWT, '.') + 1;
	forged = rebuild("{\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\"}", text, d2);
	decode_bad(forged, XORB_EAUTH, NULL);
	free(forged);

	/* issuer swapped for another key: signature no longer verifies */
	memcpy(strstr(text, OP_PUB), GO_OPERATOR_PUB, 56);
	forged = rebuild("{\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\"}", text, d2);
	decode_bad(forged, XORB_EAUTH, NULL);
	free(forged);
	free(text);

	/* signature of the wrong size */
	{
		unsigned char raw[61];
		char sig61[100];

		memset(raw, 0x41, sizeof(raw));
		xorb_base64url_encode(raw, sizeof(raw), sig61);
		text = payload_text(EXPECT_ACCOUNT_JWT);
		forged = rebuild("{\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\"}", text, sig61);
		decode_bad(forged, XORB_ECORRUPT, "JWT signature is 61 bytes, Ed25519 has 64");
		free(forged);
		free(text);
	}
	/* signature cut short: no longer canonical base64url */
	jwt = strdup(EXPECT_ACCOUNT_JWT);
	jwt[strlen(jwt) - 4] = '\0';
	decode_bad(jwt, XORB_ECORRUPT, "JWT signature is not valid base64url (no padding)");
	free(jwt);
}

static void test_header_checked(void **state)
{
	const char *payload = strchr(EXPECT_ACCOUNT_JWT, '.') + 1;
	char *text = payload_text(EXPECT_ACCOUNT_JWT), *jwt;
	const char *sig = strrchr(EXPECT_ACCOUNT_JWT, '.') + 1;

	(void)payload;
	jwt = rebuild("{\"typ\":\"JWT\",\"alg\":\"HS256\"}", text, sig);
	decode_bad(jwt, XORB_ECORRUPT, "JWT header has alg \"HS256\", expected \"ed25519-nkey\" (JWT v2)");
	free(jwt);
	jwt = rebuild("{\"typ\":\"JWT\",\"alg\":\"ed25519\"}", text, sig); /* v1 */
	decode_bad(jwt, XORB_ECORRUPT, "JWT header has alg \"ed25519\", expected \"ed25519-nkey\" (JWT v2)");
	free(jwt);
	jwt = rebuild("{\"typ\":\"JOSE\",\"alg\":\"ed25519-nkey\"}", text, sig);
	decode_bad(jwt, XORB_ECORRUPT, "JWT header has typ \"JOSE\", expected \"JWT\"");
	free(jwt);
	jwt = rebuild("{\"alg\":\"ed25519-nkey\"}", text, sig);
	decode_bad(jwt, XORB_ECORRUPT, "JWT header has typ \"\", expected \"JWT\"");
	free(jwt);
	jwt = rebuild("not json", text, sig);
	decode_bad(jwt, XORB_ECORRUPT, NULL);
	free(jwt);
	/* a valid header spelled differently changes the signed bytes */
	jwt = rebuild("{\"typ\":\"jwt\",\"alg\":\"ED25519-NKEY\"}", text, sig);
	decode_bad(jwt, XORB_EAUTH, NULL);
	free(jwt);
	free(text);
}

static void test_key_kinds_checked(void **state)
{
	struct xorb_nkey *op = seq_key(XORB_NKEY_OPERATOR), *acc = seed_key(ACC_SEED);
	struct xorb_error err = { 0, "" };
	char *jwt = NULL;
	cJSON *c;

	/* decode: a user JWT signed by an operator key */
	jwt = signed_token("{\"iss\":\"" OP_PUB "\",\"sub\":\"" GO_USER_PUB "\","
			   "\"nats\":{\"type\":\"user\",\"version\":2}}", op);
	decode_bad(jwt, XORB_ECORRUPT,
		   "user JWT issued by an operator key (" OP_PUB "), expected an account key");
	free(jwt);
	/* an account JWT signed by an account key */
	jwt = signed_token("{\"iss\":\"" ACC_PUB "\",\"sub\":\"" GO_ACCOUNT_PUB "\","
			   "\"nats\":{\"type\":\"account\",\"version\":2}}", acc);
	decode_bad(jwt, XORB_ECORRUPT,
		   "account JWT issued by an account key (" ACC_PUB "), expected an operator key");
	free(jwt);
	/* an account JWT whose subject is a user key */
	jwt = signed_token("{\"iss\":\"" OP_PUB "\",\"sub\":\"" GO_USER_PUB "\","
			   "\"nats\":{\"type\":\"account\",\"version\":2}}", op);
	decode_bad(jwt, XORB_ECORRUPT,
		   "account JWT has the subject \"" GO_USER_PUB "\", expected an account public key");
	free(jwt);
	/* a claim type nats-server does not check: any keys */
	jwt = signed_token("{\"iss\":\"" ACC_PUB "\",\"sub\":\"whatever\","
			   "\"nats\":{\"type\":\"generic\",\"version\":2}}", acc);
	c = decode_ok(jwt);
	cJSON_Delete(c);
	free(jwt);

	/* encode refuses the same */
	c = xorb_jwt_user_claims("u", GO_USER_PUB, NULL);
	assert_int_equal(xorb_jwt_encode(c, op, 0, &jwt, &err), XORB_EINVAL);
	assert_string_equal(err.msg, "user JWT issued by an operator key (" OP_PUB "), expected an account key");
	assert_null(jwt);
	cJSON_Delete(c);
	c = cJSON_Parse("{\"sub\":\"" OP_PUB "\",\"nats\":{\"type\":\"account\"}}");
	assert_int_equal(xorb_jwt_encode(c, op, 0, &jwt, &err), XORB_EINVAL);
	assert_string_equal(err.msg, "account JWT has the subject \"" OP_PUB "\", expected an account public key");
	cJSON_Delete(c);
	xorb_nkey_free(op);
	xorb_nkey_free(acc);
}

static void test_malformed(void **state)
{
	char *big;

	decode_bad("", XORB_ECORRUPT, "JWT does not have 3 dot-separated parts");
	decode_bad("a.b", XORB_ECORRUPT, "JWT does not have 3 dot-separated parts");
	decode_bad("a.b.c.d", XORB_ECORRUPT, "JWT does not have 3 dot-separated parts");
	decode_bad("eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.@@@.AAAA", XORB_ECORRUPT,
		   "JWT claims is not valid base64url (no padding)");
	decode_bad("eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ==.e30.AAAA", XORB_ECORRUPT,
		   "JWT header is not valid base64url (no padding)");
	/* claims not an object, no issuer */
	decode_bad("eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.WzFd.AAAA", XORB_ECORRUPT, NULL);
	big = malloc(XORB_JWT_MAX + 2);
	memset(big, 'A', XORB_JWT_MAX + 1);
	big[XORB_JWT_MAX + 1] = '\0';
	decode_bad(big, XORB_ECORRUPT, "JWT is over the 1048576-byte limit");
	free(big);
	decode_bad(NULL, XORB_EINVAL, "no JWT given");
}

static void test_version_checked(void **state)
{
	struct xorb_nkey *op = seq_key(XORB_NKEY_OPERATOR);
	char *jwt;

	/* signed properly, but a newer claims version; and none (v1) */
	jwt = signed_token("{\"iss\":\"" OP_PUB "\",\"sub\":\"" OP_PUB "\","
			   "\"nats\":{\"type\":\"operator\",\"version\":3}}", op);
	decode_bad(jwt, XORB_ECORRUPT, "JWT claims have nats.version 3, expected 2");
	free(jwt);
	jwt = signed_token("{\"iss\":\"" OP_PUB "\",\"sub\":\"" OP_PUB "\",\"type\":\"operator\"}", op);
	decode_bad(jwt, XORB_ECORRUPT, "JWT claims have nats.version 0, expected 2");
	free(jwt);
	xorb_nkey_free(op);
}

/* cJSON reads the first of two equal names, nats-server (Go) the last:
 * such claims must not pass either way. */
static void test_duplicate_members_refused(void **state)
{
	struct xorb_nkey *op = seq_key(XORB_NKEY_OPERATOR), *acc = seed_key(ACC_SEED);
	struct xorb_error err = { 0, "" };
	char *jwt = NULL;
	const char *claims =
		"{\"iss\":\"" OP_PUB "\",\"sub\":\"" ACC_PUB "\",\"iss\":\"" ACC_PUB "\","
		"\"nats\":{\"type\":\"account\",\"version\":2}}";
	const char *nested =
		"{\"iss\":\"" OP_PUB "\",\"sub\":\"" ACC_PUB "\","
		"\"nats\":{\"limits\":{\"conn\":1,\"conn\":-1},\"type\":\"account\",\"version\":2}}";
	const char *const texts[] = { claims, nested };
	const char *const names[] = { "iss", "conn" };
	cJSON *c;
	size_t i;

	/* decode: properly signed by the key of the first "iss" */
	for (i = 0; i < 2; i++) {
		char want[128];

		jwt = signed_token(texts[i], op);
		snprintf(want, sizeof(want), "JWT claims: member \"%s\" appears twice", names[i]);
		decode_bad(jwt, XORB_ECORRUPT, want);
		free(jwt);
	}
	/* a header with "alg" twice */
	{
		char *text = payload_text(EXPECT_ACCOUNT_JWT);

		jwt = rebuild("{\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\",\"alg\":\"HS256\"}", text, "AAAA");
		decode_bad(jwt, XORB_ECORRUPT, "JWT header: member \"alg\" appears twice");
		free(jwt);
		free(text);
	}
	/* encode */
	c = cJSON_Parse("{\"sub\":\"" ACC_PUB "\",\"name\":\"a\",\"name\":\"b\"}");
	assert_int_equal(xorb_jwt_encode(c, op, 0, &jwt, &err), XORB_EINVAL);
	assert_string_equal(err.msg, "JWT claims: member \"name\" appears twice");
	assert_null(jwt);
	cJSON_Delete(c);
	/* an "iss" given twice is refused, not half replaced */
	c = cJSON_Parse("{\"sub\":\"" ACC_PUB "\",\"iss\":\"x\",\"iss\":\"y\"}");
	assert_int_equal(xorb_jwt_encode(c, acc, 0, &jwt, &err), XORB_EINVAL);
	cJSON_Delete(c);
	xorb_nkey_free(op);
	xorb_nkey_free(acc);
}

/* ---- .creds ---- */

static const char GO_CREDS[] =
	"-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n\n" CREDS_NOTICE "\n"
	"-----BEGIN USER NKEY SEED-----\n" GO_USER_SEED "\n------END USER NKEY SEED------\n\n"
	"*************************************************************\n";

static void test_creds_format_is_nsc_format(void **state)
{
	struct xorb_error err = { 0, "" };
	struct xorb_nkey *k = seed_key(GO_USER_SEED);
	char want[4096], *out = NULL;

	snprintf(want, sizeof(want), GO_CREDS, GO_USER_JWT);
	assert_int_equal(xorb_creds_format(GO_USER_JWT, k, &out, &err), XORB_OK);
	assert_string_equal(out, want);
	explicit_bzero(out, strlen(out));
	free(out);
	xorb_nkey_free(k);
}

static void test_creds_format_refuses(void **state)
{
	struct xorb_error err = { 0, "" };
	struct xorb_nkey *k = seed_key(GO_USER_SEED), *other = NULL, *acc = seed_key(ACC_SEED);
	char pub[57], *out = NULL;

	/* not a user JWT */
	assert_int_equal(xorb_creds_format(GO_ACCOUNT_JWT, k, &out, &err), XORB_EINVAL);
	assert_string_equal(err.msg, "JWT for a .creds file is not a user JWT");
	/* the seed of someone else */
	other = new_key(XORB_NKEY_USER, pub);
	assert_int_equal(xorb_creds_format(GO_USER_JWT, other, &out, &err), XORB_EINVAL);
	assert_non_null(strstr(err.msg, "do not belong together"));
	/* an account seed */
	assert_int_equal(xorb_creds_format(GO_USER_JWT, acc, &out, &err), XORB_EINVAL);
	/* a forged JWT */
	assert_int_equal(xorb_creds_format("a.b.c", k, &out, &err), XORB_ECORRUPT);
	assert_string_equal(err.msg, "user JWT for a .creds file: JWT header is not valid base64url (no padding)");
	assert_null(out);
	xorb_nkey_free(k);
	xorb_nkey_free(other);
	xorb_nkey_free(acc);
}

static void test_creds_parse(void **state)
{
	struct xorb_error err = { 0, "" };
	struct xorb_nkey *seed = NULL;
	char text[4096], crlf[8192], pub[57], *jwt = NULL;
	size_t i, o;

	/* as cgrates' test wrote it: no newline after the last line */
	snprintf(text, sizeof(text), GO_CREDS, GO_USER_JWT);
	text[strlen(text) - 1] = '\0';
	assert_int_equal(xorb_creds_parse(text, strlen(text), &jwt, &seed, &err), XORB_OK);
	assert_string_equal(jwt, GO_USER_JWT);
	xorb_nkey_public(seed, pub);
	assert_string_equal(pub, GO_USER_PUB);
	free(jwt);
	xorb_nkey_free(seed);

	/* CRLF line ends */
	for (i = 0, o = 0; text[i]; i++) {
		if (text[i] == '\n')
			crlf[o++] = '\r';
		crlf[o++] = text[i];
	}
	assert_int_equal(xorb_creds_parse(crlf, o, &jwt, &seed, &err), XORB_OK);
	assert_string_equal(jwt, GO_USER_JWT);
	free(jwt);
	xorb_nkey_free(seed);

	/* no seed block */
	snprintf(text, sizeof(text), "-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n",
		 GO_USER_JWT);
	assert_int_equal(xorb_creds_parse(text, strlen(text), &jwt, &seed, &err), XORB_ECORRUPT);
	assert_string_equal(err.msg,
			    ".creds text has no seed block: expected the user JWT and the seed between BEGIN/END lines");
	assert_null(jwt);
	assert_null(seed);
	assert_int_equal(xorb_creds_parse("", 0, &jwt, &seed, &err), XORB_ECORRUPT);

	/* an account seed in a user creds file */
	snprintf(text, sizeof(text),
		 "-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n\n"
		 "-----BEGIN USER NKEY SEED-----\n" ACC_SEED "\n------END USER NKEY SEED------\n",
		 GO_USER_JWT);
	assert_int_equal(xorb_creds_parse(text, strlen(text), &jwt, &seed, &err), XORB_ECORRUPT);
	assert_string_equal(err.msg, ".creds seed is an account seed, not a user seed");
	/* a mistyped seed */
	snprintf(text, sizeof(text),
		 "-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n\n"
		 "-----BEGIN USER NKEY SEED-----\nSUADIH32XQYWC2MI2YGM4AUQ3NMKZSZ5V2BZXQ237XXMLO7FFHDF5CTUDF\n"
		 "------END USER NKEY SEED------\n",
		 GO_USER_JWT);
	assert_int_equal(xorb_creds_parse(text, strlen(text), &jwt, &seed, &err), XORB_ECORRUPT);
	assert_non_null(strstr(err.msg, ".creds seed: nkey seed"));
	assert_null(strstr(err.msg, "SUADIH32")); /* never echoed */
}

static void test_creds_round_trip(void **state)
{
	char usr_pub[57], pub[57], *jwt, *text = NULL, *jwt2 = NULL;
	struct xorb_nkey *acc = seed_key(ACC_SEED), *usr = new_key(XORB_NKEY_USER, usr_pub), *seed = NULL;
	struct xorb_error err = { 0, "" };
	cJSON *c = xorb_jwt_user_claims("xorb-t-qa-user", usr_pub, NULL);

	jwt = encode_ok(c, acc, 0);
	assert_int_equal(xorb_creds_format(jwt, usr, &text, &err), XORB_OK);
	assert_int_equal(xorb_creds_parse(text, strlen(text), &jwt2, &seed, &err), XORB_OK);
	assert_string_equal(jwt2, jwt);
	xorb_nkey_public(seed, pub);
	assert_string_equal(pub, usr_pub);
	explicit_bzero(text, strlen(text));
	free(text);
	free(jwt);
	free(jwt2);
	cJSON_Delete(c);
	xorb_nkey_free(acc);
	xorb_nkey_free(usr);
	xorb_nkey_free(seed);
}

/* ---- secret files ---- */

static char *tempdir(void)
{
	const char *root = getenv("TMPDIR");
	char tmpl[4096];

	snprintf(tmpl, sizeof(tmpl), "%s/xorb-jwt-test-XXXXXX", root && *root ? root : "/tmp");
	assert_non_null(mkdtemp(tmpl));
	assert_null(strchr(tmpl, '\'')); /* goes into a shell command */
	return strdup(tmpl);
}

static void rm_rf(const char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 4096);

	assert_non_null(f);
	assert_non_null(buf);
	(void)!fread(buf, 1, 4095, f);
	fclose(f);
	return buf;
}

static void test_secret_write(void **state)
{
	struct xorb_error err = { 0, "" };
	char *dir = tempdir(), path[4200], sub[4200], link[4200], other[4200], *t;
	struct stat sb;
	mode_t old = umask(022);

	/* missing parent directories are created 0700; the file is 0600 */
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	snprintf(path, sizeof(path), "%s/user.creds", sub);
	assert_int_equal(xorb_secret_write(path, "one", 3, 0, &err), XORB_OK);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	t = slurp(path);
	assert_string_equal(t, "one");
	free(t);

	/* no overwrite without asking */
	assert_int_equal(xorb_secret_write(path, "two", 3, 0, &err), XORB_EEXIST);
	assert_non_null(strstr(err.msg, "already exists"));
	t = slurp(path);
	assert_string_equal(t, "one");
	free(t);

	/* overwrite replaces the content atomically, still 0600 */
	assert_int_equal(xorb_secret_write(path, "three", 5, 1, &err), XORB_OK);
	t = slurp(path);
	assert_string_equal(t, "three");
	free(t);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);

	/* a symlink at the path: O_EXCL refuses, overwrite replaces the link */
	snprintf(other, sizeof(other), "%s/other", dir);
	assert_int_equal(xorb_secret_write(other, "victim", 6, 0, &err), XORB_OK);
	snprintf(link, sizeof(link), "%s/link.creds", sub);
	assert_int_equal(symlink(other, link), 0);
	assert_int_equal(xorb_secret_write(link, "x", 1, 0, &err), XORB_EEXIST);
	assert_int_equal(xorb_secret_write(link, "secret", 6, 1, &err), XORB_OK);
	t = slurp(other);
	assert_string_equal(t, "victim");
	free(t);
	assert_int_equal(lstat(link, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));

	/* a directory others can write to is refused; sticky (/tmp) is fine */
	assert_int_equal(chmod(sub, 0777), 0);
	snprintf(path, sizeof(path), "%s/new.creds", sub);
	assert_int_equal(xorb_secret_write(path, "x", 1, 0, &err), XORB_EINVAL);
	assert_non_null(strstr(err.msg, "is writable by group or others"));
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(chmod(sub, 01777), 0);
	assert_int_equal(xorb_secret_write(path, "x", 1, 0, &err), XORB_OK);

	/* a directory as the path */
	assert_int_equal(xorb_secret_write(sub, "x", 1, 1, &err), XORB_EIO);
	assert_int_equal(xorb_secret_write("", "x", 1, 0, &err), XORB_EINVAL);

	umask(old);
	rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_matches_independent_vector),
		cmocka_unit_test(test_go_made_tokens_decode),
		cmocka_unit_test(test_jti_go_string_escaping),
		cmocka_unit_test(test_round_trip_operator_account_user),
		cmocka_unit_test(test_numbers_exact),
		cmocka_unit_test(test_encode_replaces_and_refuses),
		cmocka_unit_test(test_claims_helpers_refuse_wrong_keys),
		cmocka_unit_test(test_tampering_rejected),
		cmocka_unit_test(test_header_checked),
		cmocka_unit_test(test_key_kinds_checked),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_version_checked),
		cmocka_unit_test(test_duplicate_members_refused),
		cmocka_unit_test(test_creds_format_is_nsc_format),
		cmocka_unit_test(test_creds_format_refuses),
		cmocka_unit_test(test_creds_parse),
		cmocka_unit_test(test_creds_round_trip),
		cmocka_unit_test(test_secret_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

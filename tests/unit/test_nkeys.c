/*
 * Unit tests of the nkeys module (xorb_nkeys.h): known vectors computed
 * outside this code, seed -> public round trips, strict decoding (CRC,
 * prefix, length, alphabet, canonical trailing bits), signatures that verify
 * and forgeries that do not, and the codecs.
 *
 * The vectors were derived independently, without this project's code:
 *  - Ed25519: RFC 8032 section 7.1 TEST 1 (secret key 9d61b19d...7f60, public
 *    key d75a9801...511a, the signature of the empty message e5564300...100b),
 *    confirmed with `openssl pkey -inform DER -pubout` on the seed wrapped
 *    in the PKCS#8 prefix 302e020100300506032b657004220420;
 *  - the nkey texts with this Python 3 standard-library script (base32 from
 *    the base64 module, CRC-16/XMODEM by hand):
 *
 *      import base64
 *      def crc16(d):
 *          c = 0
 *          for b in d:
 *              c ^= b << 8
 *              for _ in range(8):
 *                  c = ((c << 1) ^ 0x1021 if c & 0x8000 else c << 1) & 0xffff
 *          return c
 *      def enc(raw):
 *          c = crc16(raw)
 *          return base64.b32encode(raw + bytes([c & 255, c >> 8])).decode().rstrip('=')
 *      seed = bytes.fromhex('9d61...7f60'); pub = bytes.fromhex('d75a...511a')
 *      for p in (14 << 3, 0, 20 << 3):   # operator, account, user
 *          print(enc(bytes([p]) + pub), enc(bytes([0x90 | p >> 5, (p & 31) << 3]) + seed))
 *
 *  - an nkey made by the NATS Go tools: the user seed and public key of a
 *    .creds file published in a public test suite (see test_jwt.c), whose
 *    pair was checked with the same script and openssl.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xorb_error.h"
#include "xorb_nkeys.h"

static const char rfc8032_seed_hex[] =
	"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char rfc8032_sig_hex[] =
	"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

static const struct {
	enum xorb_nkey_type type;
	const char *pub;
	const char *seed;
} vectors[] = {
	{ XORB_NKEY_OPERATOR, "ODLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVH7S",
	  "SOAJ2YNRTXX72WTAXKCEV5ES5QWMIRCJYVUXWMTJDFYDXLADDSXH6YFUVY" },
	{ XORB_NKEY_ACCOUNT, "ADLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVRTU",
	  "SAAJ2YNRTXX72WTAXKCEV5ES5QWMIRCJYVUXWMTJDFYDXLADDSXH6YHY3Q" },
	{ XORB_NKEY_USER, "UDLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRUVAL",
	  "SUAJ2YNRTXX72WTAXKCEV5ES5QWMIRCJYVUXWMTJDFYDXLADDSXH6YALCA" },
};

/* Seed bytes 00 01 02 ... 1f, same derivation. */
static const char seq_user_pub[] = "UAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLKK";
static const char seq_user_seed[] = "SUAAAAICAMCAKBQHBAEQUCYMBUHA6EARCIJRIFIWC4MBSGQ3DQOR4H776Y";

/* Made by nsc (Go nkeys): a user seed and its public key. */
static const char go_user_seed[] = "SUADIH32XQYWC2MI2YGM4AUQ3NMKZSZ5V2BZXQ237XXMLO7FFHDF5CTUDE";
static const char go_user_pub[] = "UD3BGWIBPU3CWL4HOUU4VJEQWTUASAEG6OJ3XHM3EEJNA2PA3UVNYTZN";

static void hex_decode(const char *hex, unsigned char *out, size_t n)
{
	size_t i;

	assert_int_equal(strlen(hex), n * 2);
	for (i = 0; i < n; i++) {
		unsigned int v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
}

static struct xorb_nkey *from_seed_ok(const char *seed)
{
	struct xorb_error err = { 0, "" };
	struct xorb_nkey *k = NULL;

	if (xorb_nkey_from_seed(seed, &k, &err) != XORB_OK)
		fail_msg("seed rejected: %s", err.msg);
	assert_non_null(k);
	return k;
}

static void assert_seed_bad(const char *seed, const char *want_msg)
{
	struct xorb_error err = { 0, "" };
	struct xorb_nkey *k = (struct xorb_nkey *)1;

	if (xorb_nkey_from_seed(seed, &k, &err) != XORB_EINVAL)
		fail_msg("seed \"%s\" accepted", seed);
	assert_null(k);
	assert_int_equal(err.code, XORB_EINVAL);
	if (want_msg)
		assert_string_equal(err.msg, want_msg);
	/* a rejected seed is never echoed back whole */
	if (seed && strlen(seed) > 8)
		assert_null(strstr(err.msg, seed + 4));
}

/* ---- known vectors ---- */

static void test_vectors_from_raw_seed(void **state)
{
	unsigned char seed[XORB_NKEY_RAW_LEN];
	char pub[XORB_NKEY_PUBLIC_LEN + 1], st[XORB_NKEY_SEED_LEN + 1];
	struct xorb_error err = { 0, "" };
	size_t i;

	hex_decode(rfc8032_seed_hex, seed, sizeof(seed));
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct xorb_nkey *k = NULL;

		assert_int_equal(xorb_nkey_from_raw(vectors[i].type, seed, &k, &err), XORB_OK);
		assert_int_equal(xorb_nkey_type(k), vectors[i].type);
		assert_int_equal(xorb_nkey_public(k, pub), 0);
		assert_string_equal(pub, vectors[i].pub);
		assert_int_equal(xorb_nkey_seed(k, st), 0);
		assert_string_equal(st, vectors[i].seed);
		assert_int_equal(strlen(pub), XORB_NKEY_PUBLIC_LEN);
		assert_int_equal(strlen(st), XORB_NKEY_SEED_LEN);
		xorb_nkey_free(k);
	}
	for (i = 0; i < sizeof(seed); i++)
		seed[i] = (unsigned char)i;
	{
		struct xorb_nkey *k = NULL;

		assert_int_equal(xorb_nkey_from_raw(XORB_NKEY_USER, seed, &k, &err), XORB_OK);
		xorb_nkey_public(k, pub);
		xorb_nkey_seed(k, st);
		assert_string_equal(pub, seq_user_pub);
		assert_string_equal(st, seq_user_seed);
		xorb_nkey_free(k);
	}
}

static void test_vectors_from_seed_text(void **state)
{
	char pub[XORB_NKEY_PUBLIC_LEN + 1], st[XORB_NKEY_SEED_LEN + 1];
	size_t i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct xorb_nkey *k = from_seed_ok(vectors[i].seed);

		assert_int_equal(xorb_nkey_type(k), vectors[i].type);
		xorb_nkey_public(k, pub);
		assert_string_equal(pub, vectors[i].pub);
		xorb_nkey_seed(k, st);
		assert_string_equal(st, vectors[i].seed);
		assert_true(xorb_nkey_public_valid(pub, vectors[i].type));
		xorb_nkey_free(k);
	}
}

static void test_go_made_seed(void **state)
{
	char pub[XORB_NKEY_PUBLIC_LEN + 1];
	struct xorb_nkey *k = from_seed_ok(go_user_seed);

	assert_int_equal(xorb_nkey_type(k), XORB_NKEY_USER);
	xorb_nkey_public(k, pub);
	assert_string_equal(pub, go_user_pub);
	xorb_nkey_free(k);
	/* surrounding white space (a seed file with a newline) is fine */
	k = from_seed_ok("  SUADIH32XQYWC2MI2YGM4AUQ3NMKZSZ5V2BZXQ237XXMLO7FFHDF5CTUDE\n");
	xorb_nkey_public(k, pub);
	assert_string_equal(pub, go_user_pub);
	xorb_nkey_free(k);
}

static void test_rfc8032_signature(void **state)
{
	unsigned char seed[XORB_NKEY_RAW_LEN], want[XORB_NKEY_SIG_LEN], sig[XORB_NKEY_SIG_LEN];
	struct xorb_error err = { 0, "" };
	struct xorb_nkey *k = NULL;

	hex_decode(rfc8032_seed_hex, seed, sizeof(seed));
	hex_decode(rfc8032_sig_hex, want, sizeof(want));
	assert_int_equal(xorb_nkey_from_raw(XORB_NKEY_ACCOUNT, seed, &k, &err), XORB_OK);
	assert_int_equal(xorb_nkey_sign(k, "", 0, sig, &err), XORB_OK);
	assert_memory_equal(sig, want, sizeof(sig));
	assert_int_equal(xorb_nkey_verify(vectors[1].pub, "", 0, want), XORB_OK);
	xorb_nkey_free(k);
}

/* ---- round trips and generation ---- */

static void test_generate_round_trip(void **state)
{
	static const enum xorb_nkey_type types[] = { XORB_NKEY_OPERATOR, XORB_NKEY_ACCOUNT, XORB_NKEY_USER };
	static const char prefix[] = "OAU";
	char pub[XORB_NKEY_PUBLIC_LEN + 1], pub2[XORB_NKEY_PUBLIC_LEN + 1], st[XORB_NKEY_SEED_LEN + 1];
	char first_pub[XORB_NKEY_PUBLIC_LEN + 1] = "";
	struct xorb_error err = { 0, "" };
	size_t i;
	int round;

	for (round = 0; round < 4; round++) {
		for (i = 0; i < 3; i++) {
			struct xorb_nkey *k = NULL, *k2;

			assert_int_equal(xorb_nkey_generate(types[i], &k, &err), XORB_OK);
			xorb_nkey_public(k, pub);
			xorb_nkey_seed(k, st);
			assert_int_equal(pub[0], prefix[i]);
			assert_int_equal(st[0], 'S');
			assert_int_equal(st[1], prefix[i]);
			assert_true(xorb_nkey_public_valid(pub, types[i]));
			assert_false(xorb_nkey_public_valid(pub, types[(i + 1) % 3]));
			k2 = from_seed_ok(st);
			xorb_nkey_public(k2, pub2);
			assert_string_equal(pub, pub2);
			assert_int_equal(xorb_nkey_type(k2), types[i]);
			if (!first_pub[0])
				memcpy(first_pub, pub, sizeof(pub));
			else if (i == 0)
				assert_string_not_equal(first_pub, pub); /* random keys differ */
			explicit_bzero(st, sizeof(st));
			xorb_nkey_free(k);
			xorb_nkey_free(k2);
		}
	}
	xorb_nkey_free(NULL);
}

/* ---- rejections ---- */

static void test_seed_rejects(void **state)
{
	char s[XORB_NKEY_SEED_LEN + 2];

	assert_seed_bad("", "nkey seed is 0 characters long, a seed has 58");
	assert_seed_bad(NULL, "nkey seed is missing");
	/* length: one character short, one too many */
	snprintf(s, sizeof(s), "%.*s", XORB_NKEY_SEED_LEN - 1, vectors[2].seed);
	assert_seed_bad(s, "nkey seed is 57 characters long, a seed has 58");
	snprintf(s, sizeof(s), "%sA", vectors[2].seed);
	assert_seed_bad(s, "nkey seed is 59 characters long, a seed has 58");
	/* a public key is not a seed */
	assert_seed_bad(vectors[2].pub, "nkey seed is 56 characters long, a seed has 58");
	snprintf(s, sizeof(s), "%s", vectors[2].seed);
	s[0] = 'U';
	assert_seed_bad(s, "nkey seed starts with 'U', a seed starts with 'S' (a public key is not a seed)");
	/* CRC: flip one data character */
	snprintf(s, sizeof(s), "%s", vectors[2].seed);
	s[20] = s[20] == 'A' ? 'B' : 'A';
	assert_seed_bad(s, "nkey seed fails its CRC-16 check (mistyped or truncated?)");
	/* CRC: the last (checksum) characters */
	snprintf(s, sizeof(s), "%s", vectors[2].seed);
	s[56] = s[56] == 'A' ? 'B' : 'A';
	assert_seed_bad(s, NULL);
	/* alphabet: lower case, padding, digits outside 2-7 */
	snprintf(s, sizeof(s), "%s", vectors[2].seed);
	s[10] = (char)(s[10] - 'A' + 'a');
	assert_seed_bad(s, "nkey seed is not valid base32 (RFC 4648, upper case, no padding)");
	snprintf(s, sizeof(s), "%s", vectors[2].seed);
	s[30] = '1';
	assert_seed_bad(s, "nkey seed is not valid base32 (RFC 4648, upper case, no padding)");
	snprintf(s, sizeof(s), "%s", vectors[2].seed);
	s[57] = '=';
	assert_seed_bad(s, NULL);
}

static void test_seed_wrong_prefix_with_good_crc(void **state)
{
	/* A well-formed, CRC-correct seed of another nkey type (server 'N'):
	 * SN + seed. Built here with the codecs, checked as text. */
	unsigned char raw[36];
	char text[64];
	uint16_t crc;
	unsigned char p = 13 << 3; /* server */

	memset(raw, 0x42, sizeof(raw));
	raw[0] = (unsigned char)(0x90 | p >> 5);
	raw[1] = (unsigned char)((p & 31) << 3);
	crc = xorb_crc16_xmodem(raw, 34);
	raw[34] = (unsigned char)(crc & 0xff);
	raw[35] = (unsigned char)(crc >> 8);
	xorb_base32_encode(raw, sizeof(raw), text);
	assert_int_equal(strlen(text), 58);
	assert_int_equal(text[1], 'N');
	assert_seed_bad(text, "nkey seed \"SN...\" is not an operator, account or user seed");
	/* a byte after the seed prefix that is not a seed prefix: 'X...' */
	raw[0] = 0x00; /* "A..." as a 36-byte blob */
	crc = xorb_crc16_xmodem(raw, 34);
	raw[34] = (unsigned char)(crc & 0xff);
	raw[35] = (unsigned char)(crc >> 8);
	xorb_base32_encode(raw, sizeof(raw), text);
	assert_seed_bad(text, NULL);
}

static void test_public_valid(void **state)
{
	char s[XORB_NKEY_PUBLIC_LEN + 2];

	assert_true(xorb_nkey_public_valid(vectors[0].pub, XORB_NKEY_OPERATOR));
	assert_true(xorb_nkey_public_valid(vectors[1].pub, XORB_NKEY_ACCOUNT));
	assert_true(xorb_nkey_public_valid(vectors[2].pub, XORB_NKEY_USER));
	assert_false(xorb_nkey_public_valid(vectors[1].pub, XORB_NKEY_USER));
	assert_false(xorb_nkey_public_valid(vectors[2].seed, XORB_NKEY_USER));
	assert_false(xorb_nkey_public_valid(NULL, XORB_NKEY_USER));
	assert_false(xorb_nkey_public_valid("", XORB_NKEY_USER));
	/* prefix changed, CRC left: fails (the CRC covers the prefix) */
	snprintf(s, sizeof(s), "%s", vectors[1].pub);
	s[0] = 'U';
	assert_false(xorb_nkey_public_valid(s, XORB_NKEY_USER));
	assert_false(xorb_nkey_public_valid(s, XORB_NKEY_ACCOUNT));
	/* one character changed */
	snprintf(s, sizeof(s), "%s", vectors[1].pub);
	s[40] = s[40] == 'Q' ? 'R' : 'Q';
	assert_false(xorb_nkey_public_valid(s, XORB_NKEY_ACCOUNT));
	/* truncated, extended */
	snprintf(s, sizeof(s), "%.55s", vectors[1].pub);
	assert_false(xorb_nkey_public_valid(s, XORB_NKEY_ACCOUNT));
	snprintf(s, sizeof(s), "%sA", vectors[1].pub);
	assert_false(xorb_nkey_public_valid(s, XORB_NKEY_ACCOUNT));
	/* lower case */
	snprintf(s, sizeof(s), "%s", vectors[1].pub);
	s[5] = (char)(s[5] - 'A' + 'a');
	assert_false(xorb_nkey_public_valid(s, XORB_NKEY_ACCOUNT));
}

/* ---- signatures ---- */

static void test_sign_verify(void **state)
{
	static const char msg[] = "xorb.t-qa.scan.nmap.created";
	char pub[XORB_NKEY_PUBLIC_LEN + 1], other_pub[XORB_NKEY_PUBLIC_LEN + 1];
	unsigned char sig[XORB_NKEY_SIG_LEN], sig2[XORB_NKEY_SIG_LEN];
	struct xorb_error err = { 0, "" };
	struct xorb_nkey *k = NULL, *other = NULL;

	assert_int_equal(xorb_nkey_generate(XORB_NKEY_USER, &k, &err), XORB_OK);
	assert_int_equal(xorb_nkey_generate(XORB_NKEY_USER, &other, &err), XORB_OK);
	xorb_nkey_public(k, pub);
	xorb_nkey_public(other, other_pub);
	assert_int_equal(xorb_nkey_sign(k, msg, strlen(msg), sig, &err), XORB_OK);
	assert_int_equal(xorb_nkey_verify(pub, msg, strlen(msg), sig), XORB_OK);
	/* deterministic */
	assert_int_equal(xorb_nkey_sign(k, msg, strlen(msg), sig2, &err), XORB_OK);
	assert_memory_equal(sig, sig2, sizeof(sig));
	/* wrong key */
	assert_int_equal(xorb_nkey_verify(other_pub, msg, strlen(msg), sig), XORB_ECORRUPT);
	/* tampered message, tampered signature */
	assert_int_equal(xorb_nkey_verify(pub, msg, strlen(msg) - 1, sig), XORB_ECORRUPT);
	sig2[10] ^= 1;
	assert_int_equal(xorb_nkey_verify(pub, msg, strlen(msg), sig2), XORB_ECORRUPT);
	/* malformed public key */
	assert_int_equal(xorb_nkey_verify("UABC", msg, strlen(msg), sig), XORB_EINVAL);
	assert_int_equal(xorb_nkey_sign(NULL, msg, 1, sig, &err), XORB_EINVAL);
	xorb_nkey_free(k);
	xorb_nkey_free(other);
}

/* ---- codecs ---- */

static void test_base32(void **state)
{
	/* RFC 4648 section 10 vectors, padding removed */
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "MY" }, { "fo", "MZXQ" }, { "foo", "MZXW6" }, { "foob", "MZXW6YQ" },
		{ "fooba", "MZXW6YTB" }, { "foobar", "MZXW6YTBOI" },
	};
	unsigned char buf[16];
	char out[32];
	size_t i, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(xorb_base32_len(strlen(v[i].in)), strlen(v[i].out));
		xorb_base32_encode(v[i].in, strlen(v[i].in), out);
		assert_string_equal(out, v[i].out);
		assert_int_equal(xorb_base32_decode(v[i].out, strlen(v[i].out), buf, sizeof(buf), &n), 0);
		assert_int_equal(n, strlen(v[i].in));
		assert_memory_equal(buf, v[i].in, n);
	}
	assert_int_equal(xorb_base32_decode("MZ", 2, buf, sizeof(buf), &n), -1); /* trailing bits */
	assert_int_equal(xorb_base32_decode("M", 1, buf, sizeof(buf), &n), -1);	 /* impossible length */
	assert_int_equal(xorb_base32_decode("MY======", 8, buf, sizeof(buf), &n), -1);
	assert_int_equal(xorb_base32_decode("my", 2, buf, sizeof(buf), &n), -1);
	assert_int_equal(xorb_base32_decode("MZXW6YTBOI", 10, buf, 5, &n), -1); /* cap */
}

static void test_base64url(void **state)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg" },
		{ "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" }, { "\xfb\xff", "-_8" },
		{ "{\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\"}", "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ" },
	};
	unsigned char buf[64];
	char out[96];
	size_t i, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(xorb_base64url_len(strlen(v[i].in)), strlen(v[i].out));
		xorb_base64url_encode(v[i].in, strlen(v[i].in), out);
		assert_string_equal(out, v[i].out);
		assert_int_equal(xorb_base64url_decode(v[i].out, strlen(v[i].out), buf, sizeof(buf), &n), 0);
		assert_int_equal(n, strlen(v[i].in));
		assert_memory_equal(buf, v[i].in, n);
	}
	assert_int_equal(xorb_base64url_decode("Zg==", 4, buf, sizeof(buf), &n), -1);
	assert_int_equal(xorb_base64url_decode("Zh", 2, buf, sizeof(buf), &n), -1); /* trailing bits */
	assert_int_equal(xorb_base64url_decode("Z", 1, buf, sizeof(buf), &n), -1);
	assert_int_equal(xorb_base64url_decode("+/8", 3, buf, sizeof(buf), &n), -1);
	assert_int_equal(xorb_base64url_decode("Zm9vYmFy", 8, buf, 5, &n), -1);
}

static void test_crc16(void **state)
{
	/* CRC-16/XMODEM check value */
	assert_int_equal(xorb_crc16_xmodem("123456789", 9), 0x31c3);
	assert_int_equal(xorb_crc16_xmodem("", 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_from_raw_seed),
		cmocka_unit_test(test_vectors_from_seed_text),
		cmocka_unit_test(test_go_made_seed),
		cmocka_unit_test(test_rfc8032_signature),
		cmocka_unit_test(test_generate_round_trip),
		cmocka_unit_test(test_seed_rejects),
		cmocka_unit_test(test_seed_wrong_prefix_with_good_crc),
		cmocka_unit_test(test_public_valid),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_base32),
		cmocka_unit_test(test_base64url),
		cmocka_unit_test(test_crc16),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of the strict JSON scanner (xorb_json_strict_check), run on
 * every untrusted JSON file before cJSON reads it: what it accepts (the whole
 * RFC 8259 grammar, escapes, UTF-8, surrogate pairs), and each refusal with
 * its position and path: equal keys at any level (also when spelled with
 * escapes), NUL anywhere, control characters in keys, malformed UTF-8, lone
 * surrogates, number grammar, nesting and size limits, trailing data.
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
#include "xorb_json.h"

static struct xorb_error err;

static int check_len(const char *text, size_t len)
{
	memset(&err, 0, sizeof(err));
	return xorb_json_strict_check(text, len, "file f.json", &err);
}

static void ok(const char *text)
{
	if (check_len(text, strlen(text)) != XORB_OK)
		fail_msg("refused %s: %s", text, err.msg);
}

/* Refused, and the message holds each of the parts (NULL-terminated). */
static void refused_len(const char *text, size_t len, ...)
{
	const char *part;
	va_list ap;

	if (check_len(text, len) != XORB_ECORRUPT)
		fail_msg("accepted %.*s", (int)len, text);
	assert_int_equal(err.code, XORB_ECORRUPT);
	if (strncmp(err.msg, "file f.json: ", 13))
		fail_msg("message \"%s\" does not start with the file", err.msg);
	va_start(ap, len);
	while ((part = va_arg(ap, const char *)))
		if (!strstr(err.msg, part))
			fail_msg("message \"%s\" lacks \"%s\"", err.msg, part);
	va_end(ap);
}
#define refused(text, ...) refused_len(text, strlen(text), __VA_ARGS__, (const char *)NULL)

static void test_accepts_valid_json(void **state)
{
	(void)state;
	ok("{}");
	ok("[]");
	ok(" \t\r\n{\"a\":[1,-0,0.5,-1.25e+10,3E-2,true,false,null,\"\"]} \n");
	ok("\"just a string\"");
	ok("123");
	ok("{\"k\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00\"}");
	ok("{\"caf\xc3\xa9\":\"\xe2\x82\xac \xf0\x9f\x98\x80\"}");
	/* the same key in sibling objects and at other levels is no duplicate */
	ok("{\"a\":{\"a\":1,\"b\":{\"a\":2}},\"b\":[{\"a\":1},{\"a\":1}],\"c\":{\"a\":{}}}");
	/* keys that share a prefix are different keys */
	ok("{\"t\":1,\"t-qa\":2,\"t-q\":3,\"\":4}");
}

static void test_duplicate_keys_refused_everywhere(void **state)
{
	(void)state;
	refused("{\"a\":1,\"a\":2}", "duplicate key \"a\" at the top level",
		"line 1, column 2 (byte 1)", "line 1, column 8 (byte 7)", "keep one");
	refused("{\"x\":{\"y\":[0,{\"k\":1,\n  \"k\":2}]}}", "duplicate key \"k\" in x.y[1]",
		"line 1, column 15 (byte 14)", "line 2, column 3 (byte 23)");
	/* equal once decoded */
	refused("{\"ab\":1,\"a\\u0062\":2}", "duplicate key \"ab\"");
	refused("{\"\\u00e9\":1,\"\xc3\xa9\":2}", "duplicate key \"\xc3\xa9\"");
	/* the first of three, after other keys and nested objects */
	refused("{\"a\":{\"z\":1},\"b\":2,\"c\":{\"d\":{}},\"b\":3}", "duplicate key \"b\" at the top level");
	/* the empty key twice */
	refused("{\"\":1,\"\":2}", "duplicate key \"\"");
}

static void test_nul_and_control_characters(void **state)
{
	static const char raw_nul_key[] = "{\"t-qa\0x\":1}";
	static const char raw_nul_out[] = "{\"a\":1}\0";

	(void)state;
	refused("{\"t-qa\\u0000x\":1}", "line 1, column 7 (byte 6)", "NUL (\\u0000) inside a key");
	refused("{\"a\":\"x\\u0000\"}", "in a: NUL (\\u0000) inside a string");
	refused_len(raw_nul_key, sizeof(raw_nul_key) - 1, "raw control byte 0x00 inside a key", NULL);
	refused_len(raw_nul_out, sizeof(raw_nul_out) - 1, "data after the end", NULL);
	refused("{\"a\\n\":1}", "control character U+000A inside a key");
	refused("{\"a\\u007f\":1}", "control character U+007F inside a key");
	refused("{\"a\\u0085\":1}", "control character U+0085 inside a key");
	refused("{\"a\xc2\x85\":1}", "control character U+0085 inside a key");
	refused("{\"a\x7f\":1}", "control byte 0x7f inside a key");
	refused("{\"a\":\"tab\there\"}", "raw control byte 0x09 inside a string");
	/* escaped control characters in values are text, not names */
	ok("{\"a\":\"line\\nbreak \\u001b\"}");
	/* messages show hostile keys escaped */
	refused("{\"q\\\"\\\\\":1,\"q\\\"\\\\\":2}", "duplicate key \"q\\x22\\x5c\"");
}

static void test_utf8_and_surrogates(void **state)
{
	(void)state;
	refused("{\"a\":\"\xc0\x80\"}", "byte 0xc0 is not well-formed UTF-8");
	refused("{\"a\":\"\xed\xa0\x80\"}", "byte 0xed is not well-formed UTF-8");
	refused("{\"a\":\"\xf5\x80\x80\x80\"}", "not well-formed UTF-8");
	refused("{\"a\":\"\xe2\x82\"}", "not well-formed UTF-8");
	refused("{\"a\":\"\x80\"}", "not well-formed UTF-8");
	refused("{\"a\":\"\\ud83d\"}", "high surrogate \\ud83d without its low half");
	refused("{\"a\":\"\\ud83d\\u0041\"}", "without its low half");
	refused("{\"a\":\"\\ude00\"}", "lone low surrogate");
	refused("{\"a\":\"\\u12g4\"}", "four hex digits");
	refused("{\"a\":\"\\u12\"}", "four hex digits");
	refused("{\"a\":\"\\x41\"}", "unknown escape \\x");
}

static void test_grammar(void **state)
{
	(void)state;
	refused("", "the document ends where a value was expected");
	refused("{", "a key (a string in double quotes) was expected");
	refused("{\"a\"}", "a colon was expected");
	refused("{\"a\":1,}", "a key (a string in double quotes) was expected");
	refused("[1,]", "does not start a JSON value");
	refused("[1 2]", "a comma or a closing bracket");
	refused("{\"a\":1 \"b\":2}", "a comma or a closing brace");
	refused("{a:1}", "a key");
	refused("{\"a\":01}", "a comma or a closing brace");
	refused("{\"a\":1.}", "a digit must follow the decimal point");
	refused("{\"a\":.5}", "byte 0x2e does not start a JSON value");
	refused("{\"a\":1e}", "a digit must follow the exponent");
	refused("{\"a\":-}", "a digit must follow the minus sign");
	refused("{\"a\":+1}", "does not start a JSON value");
	refused("{\"a\":truex}", "a comma or a closing brace");
	refused("{\"a\":tru}", "expected true");
	refused("{\"a\":NaN}", "does not start a JSON value");
	refused("{\"a\":\"open", "a string that never ends");
	refused("{\"a\":1}{}", "data after the end of the JSON document");
	refused("\xef\xbb\xbf{}", "byte order mark");
	refused("// comment\n{}", "does not start a JSON value");
}

static void test_limits(void **state)
{
	char deep[2 * XORB_JSON_STRICT_DEPTH + 8], *key;
	size_t i, n = XORB_JSON_STRICT_KEY_MAX + 1;

	(void)state;
	for (i = 0; i < XORB_JSON_STRICT_DEPTH; i++) {
		deep[i] = '[';
		deep[XORB_JSON_STRICT_DEPTH + i] = ']';
	}
	deep[2 * XORB_JSON_STRICT_DEPTH] = 0;
	ok(deep);
	memset(deep, '[', XORB_JSON_STRICT_DEPTH + 1);
	memset(deep + XORB_JSON_STRICT_DEPTH + 1, ']', XORB_JSON_STRICT_DEPTH + 1);
	deep[2 * XORB_JSON_STRICT_DEPTH + 2] = 0;
	refused(deep, "nested deeper than 64 levels");

	key = malloc(n + 16);
	assert_non_null(key);
	key[0] = '{';
	key[1] = '"';
	memset(key + 2, 'k', n);
	memcpy(key + 2 + n, "\":1}", 5);
	refused(key, "a key longer than 4096 bytes");
	key[2 + n - 1] = '"';
	memcpy(key + 2 + n - 1, "\":1}", 5);
	ok(key);
	free(key);

	assert_int_equal(check_len("{}", (size_t)XORB_JSON_MAX + 1), XORB_ECORRUPT);
	assert_non_null(strstr(err.msg, "over the"));
}

static void test_parse_strict(void **state)
{
	cJSON *j = NULL;

	(void)state;
	memset(&err, 0, sizeof(err));
	assert_int_equal(xorb_json_parse_strict("{\"a\":[1,{\"b\":\"c\"}]}", 19, "doc", &j, &err), XORB_OK);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "a"), 1), "b")->valuestring, "c");
	cJSON_Delete(j);
	j = (cJSON *)1;
	assert_int_equal(xorb_json_parse_strict("{\"a\":1,\"a\":2}", 13, "doc", &j, &err), XORB_ECORRUPT);
	assert_null(j);
	/* err may be NULL */
	assert_int_equal(xorb_json_strict_check("{\"a\":1,\"a\":2}", 13, "doc", NULL), XORB_ECORRUPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts_valid_json),
		cmocka_unit_test(test_duplicate_keys_refused_everywhere),
		cmocka_unit_test(test_nul_and_control_characters),
		cmocka_unit_test(test_utf8_and_surrogates),
		cmocka_unit_test(test_grammar),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_parse_strict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

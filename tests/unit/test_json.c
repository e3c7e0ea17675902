/*
 * Unit tests of the JSON helpers (xorb_json.h): the integer-fidelity trap
 * (cJSON prints 2592000000000000 as 2.592e+15, which nats-server rejects),
 * string escaping and re-parse equality, top-level member spans carried
 * verbatim, the document size cap and the typed getters' defaults.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "xorb_buf.h"
#include "xorb_error.h"
#include "xorb_json.h"

/* ---- helpers ---- */

static cJSON *parse_ok(const char *text)
{
	struct xorb_error err = { 0 };
	cJSON *j = NULL;

	assert_int_equal(xorb_json_parse(text, strlen(text), "test document", &j, &err), XORB_OK);
	assert_non_null(j);
	assert_int_equal(err.code, XORB_OK);
	return j;
}

/* Prints j with xorb_json_print and compares with want. */
static void assert_prints(const cJSON *j, const char *want)
{
	struct xorb_buf b;

	xorb_buf_init(&b);
	assert_int_equal(xorb_json_print(j, &b), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, want);
	assert_int_equal(b.len, strlen(want));
	xorb_buf_release(&b);
}

/* Prints j, parses the text back and checks the trees are equal. */
static void assert_reparses_equal(const cJSON *j)
{
	struct xorb_buf b;
	cJSON *back;

	xorb_buf_init(&b);
	assert_int_equal(xorb_json_print(j, &b), 0);
	back = parse_ok(b.data);
	assert_true(cJSON_Compare(j, back, 1));
	cJSON_Delete(back);
	xorb_buf_release(&b);
}

static void assert_span(const char *doc, const char *key, const char *want)
{
	const char *start = NULL;
	size_t vlen = 0;

	assert_int_equal(xorb_json_member_span(doc, strlen(doc), key, &start, &vlen), XORB_OK);
	assert_non_null(start);
	assert_true(start >= doc && start + vlen <= doc + strlen(doc));
	assert_int_equal(vlen, strlen(want));
	assert_memory_equal(start, want, vlen);
}

static void assert_span_rc(const char *doc, size_t len, const char *key, int want)
{
	const char *start = NULL;
	size_t vlen = 0;

	assert_int_equal(xorb_json_member_span(doc, len, key, &start, &vlen), want);
}

/* Runs xorb_json_member_span in a child with a 2 s alarm, so that a hang
 * fails the test instead of stalling the suite. Returns the status code, or
 * 1000 + the signal number when the child did not exit normally (SIGALRM,
 * i.e. 1014: it hung). */
static int span_rc_in_child(const char *doc, size_t len, const char *key)
{
	pid_t pid = fork();
	int st = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		const char *start;
		size_t vlen;

		alarm(2);
		_exit(xorb_json_member_span(doc, len, key, &start, &vlen));
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 1000 + WTERMSIG(st) : 999;
}

/* ---- integer fidelity ---- */

static void test_integer_fidelity(void **state)
{
	static const char doc[] =
		"{\"max_age\":2592000000000000,\"x\":-1,\"d\":1.5,\"big\":9007199254740993}";
	cJSON *j = parse_ok(doc);
	char *plain;

	/* The trap is real: cJSON's own printer writes the exponent form. */
	plain = cJSON_PrintUnformatted(j);
	assert_non_null(plain);
	assert_non_null(strstr(plain, "2.592e+15"));
	cJSON_free(plain);

	/* xorb_json_print writes every integral value as an exact integer.
	 * 9007199254740993 (2^53 + 1) has no double; cJSON stores the nearest
	 * one, 2^53, which is why server documents are carried verbatim
	 * (xorb_json_member_span, below) rather than re-printed. */
	assert_prints(j, "{\"max_age\":2592000000000000,\"x\":-1,\"d\":1.5,"
			 "\"big\":9007199254740992}");
	assert_span(doc, "big", "9007199254740993");
	assert_span(doc, "max_age", "2592000000000000");
	cJSON_Delete(j);
}

static void test_integers_near_limits(void **state)
{
	cJSON *j = parse_ok("[0,-0,1,-1,9007199254740992,-9007199254740992,"
			    "4611686018427387904,-4611686018427387904,120000000000,"
			    "1e3,2.5e1,-1000000000000000000]");

	/* 1e3 and 2.5e1 are integral: printed as integers, which nats-server
	 * reads as the same value. */
	assert_prints(j, "[0,0,1,-1,9007199254740992,-9007199254740992,"
			 "4611686018427387904,-4611686018427387904,120000000000,"
			 "1000,25,-1000000000000000000]");
	cJSON_Delete(j);
}

static void test_fractions_and_huge_reparse_exactly(void **state)
{
	cJSON *j = parse_ok("{\"a\":1.5,\"b\":0.1,\"c\":-2.25,\"d\":1e300,\"e\":1.7976931348623157e308,"
			    "\"f\":5e-324,\"g\":123.456}");
	struct xorb_buf b;
	cJSON *back;

	xorb_buf_init(&b);
	assert_int_equal(xorb_json_print(j, &b), 0);
	assert_non_null(strstr(b.data, "\"a\":1.5,"));
	assert_non_null(strstr(b.data, "\"c\":-2.25,"));
	/* Not integers below 2^63: printed with 17 significant digits, which
	 * re-parse to the very same double. */
	assert_null(strstr(b.data, "1000000000000000000000000000"));
	back = parse_ok(b.data);
	assert_true(cJSON_GetObjectItem(back, "b")->valuedouble == 0.1);
	assert_true(cJSON_GetObjectItem(back, "d")->valuedouble == 1e300);
	assert_true(cJSON_GetObjectItem(back, "e")->valuedouble == 1.7976931348623157e308);
	assert_true(cJSON_GetObjectItem(back, "f")->valuedouble == 5e-324);
	assert_true(cJSON_GetObjectItem(back, "g")->valuedouble == 123.456);
	assert_true(cJSON_Compare(j, back, 1));
	cJSON_Delete(back);
	cJSON_Delete(j);
	xorb_buf_release(&b);
}

static void test_print_all_types(void **state)
{
	static const char doc[] =
		"{\"t\":true,\"f\":false,\"n\":null,\"s\":\"x\",\"a\":[],\"o\":{},"
		"\"nested\":[1,[2,[3,{\"k\":[true,null]}]]],\"e\":\"\"}";
	cJSON *j = parse_ok(doc);

	/* Compact output equals the compact input byte for byte. */
	assert_prints(j, doc);
	assert_reparses_equal(j);
	cJSON_Delete(j);
	assert_prints(NULL, "null");
}

static void test_print_raw_and_nonfinite(void **state)
{
	cJSON *o = cJSON_CreateObject();

	assert_non_null(o);
	assert_non_null(cJSON_AddRawToObject(o, "raw", "{\"x\":2592000000000000}"));
	assert_non_null(cJSON_AddNumberToObject(o, "inf", 1.0 / 0.0));
	assert_prints(o, "{\"raw\":{\"x\":2592000000000000},\"inf\":null}");
	cJSON_Delete(o);
}

/* ---- strings ---- */

static void test_string_escaping(void **state)
{
	/* quote, backslash, the short escapes, other control bytes, DEL and
	 * UTF-8 (2, 3 and 4 bytes) */
	static const char s[] = "q\"b\\/ \b\f\n\r\t \x01\x1f\x7f caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
	static const char want[] = "\"q\\\"b\\\\/ \\b\\f\\n\\r\\t \\u0001\\u001f\x7f caf\xc3\xa9 "
				   "\xe2\x82\xac \xf0\x9f\x98\x80\"";
	struct xorb_buf b;
	cJSON *back;

	xorb_buf_init(&b);
	assert_int_equal(xorb_json_print_string(s, &b), 0);
	assert_string_equal(b.data, want);

	back = parse_ok(b.data);
	assert_true(cJSON_IsString(back));
	assert_string_equal(back->valuestring, s);
	cJSON_Delete(back);

	xorb_buf_reset(&b);
	assert_int_equal(xorb_json_print_string("", &b), 0);
	assert_string_equal(b.data, "\"\"");
	xorb_buf_release(&b);
}

static void test_escaped_keys_and_values_reparse(void **state)
{
	cJSON *o = cJSON_CreateObject();

	assert_non_null(o);
	assert_non_null(cJSON_AddStringToObject(o, "k\"ey\\", "v\nal\"ue\x02"));
	assert_non_null(cJSON_AddStringToObject(o, "\xc3\xa9t\xc3\xa9", "\xe2\x82\xac"));
	assert_prints(o, "{\"k\\\"ey\\\\\":\"v\\nal\\\"ue\\u0002\",\"\xc3\xa9t\xc3\xa9\":\"\xe2\x82\xac\"}");
	assert_reparses_equal(o);
	cJSON_Delete(o);

	/* Escapes read from JSON text come back as the same escapes. */
	o = parse_ok("{\"s\":\"a\\u0000b\",\"u\":\"\\u00e9\\ud83d\\ude00\",\"sl\":\"\\/\"}");
	/* cJSON ends a string at an escaped NUL; what remains must still print. */
	assert_prints(o, "{\"s\":\"a\",\"u\":\"\xc3\xa9\xf0\x9f\x98\x80\",\"sl\":\"/\"}");
	cJSON_Delete(o);
}

/* ---- member spans ---- */

static void test_member_span_finds_top_level_verbatim(void **state)
{
	static const char doc[] =
		" {\n"
		"  \"a\" : {\"x\":\"}{\\\"\", \"y\":[1,{\"z\":2}], \"state\":\"nested\"},\n"
		"  \"arr\":[ \"]\", {\"}\":\"{\"}, [[]] ],\n"
		"  \"s\":\"br}ace\\\\\\\"q\",\n"
		"  \"n\":-12.5e+3,\"t\":true,\"nul\":null,\n"
		"  \"config\":{\"name\":\"ORDERS\",\"max_age\":2592000000000000,\"subjects\":[\"a.>\"]},\n"
		"  \"state\" :\t{\"k\":[]}\n"
		"}";

	assert_span(doc, "a", "{\"x\":\"}{\\\"\", \"y\":[1,{\"z\":2}], \"state\":\"nested\"}");
	assert_span(doc, "arr", "[ \"]\", {\"}\":\"{\"}, [[]] ]");
	assert_span(doc, "s", "\"br}ace\\\\\\\"q\"");
	assert_span(doc, "n", "-12.5e+3");
	assert_span(doc, "t", "true");
	assert_span(doc, "nul", "null");
	assert_span(doc, "config",
		    "{\"name\":\"ORDERS\",\"max_age\":2592000000000000,\"subjects\":[\"a.>\"]}");
	/* "state" appears nested in "a" first; the top-level one is found. */
	assert_span(doc, "state", "{\"k\":[]}");

	/* Keys that exist only nested, or only as values, are not found. */
	assert_span_rc(doc, strlen(doc), "x", XORB_ENOTFOUND);
	assert_span_rc(doc, strlen(doc), "z", XORB_ENOTFOUND);
	assert_span_rc(doc, strlen(doc), "name", XORB_ENOTFOUND);
	assert_span_rc(doc, strlen(doc), "}", XORB_ENOTFOUND);
	assert_span_rc(doc, strlen(doc), "nested", XORB_ENOTFOUND);
	assert_span_rc(doc, strlen(doc), "ORDERS", XORB_ENOTFOUND);
	assert_span_rc(doc, strlen(doc), "missing", XORB_ENOTFOUND);
	/* Key comparison is exact: no prefix match, no case folding. */
	assert_span_rc(doc, strlen(doc), "conf", XORB_ENOTFOUND);
	assert_span_rc(doc, strlen(doc), "configs", XORB_ENOTFOUND);
	assert_span_rc(doc, strlen(doc), "Config", XORB_ENOTFOUND);
	assert_span_rc("{}", 2, "a", XORB_ENOTFOUND);
	assert_span_rc(" { } ", 5, "a", XORB_ENOTFOUND);
}

static void test_member_span_honours_len(void **state)
{
	/* The text need not be NUL-terminated: only len bytes count. */
	static const char doc[] = "{\"a\":1,\"b\":[2,3]}{\"c\":4}";
	const size_t first = strlen("{\"a\":1,\"b\":[2,3]}");
	char *copy = malloc(first);

	assert_non_null(copy);
	memcpy(copy, doc, first); /* no NUL: ASan reports any read past it */
	assert_span_rc(copy, first, "c", XORB_ENOTFOUND);
	{
		const char *start = NULL;
		size_t vlen = 0;

		assert_int_equal(xorb_json_member_span(copy, first, "b", &start, &vlen), XORB_OK);
		assert_int_equal(vlen, 5);
		assert_memory_equal(start, "[2,3]", 5);
	}
	/* Cut inside the object: the member after the cut is not there, and
	 * the object never closes. */
	assert_span_rc(copy, first - 1, "zz", XORB_ECORRUPT);
	assert_span_rc(copy, 8, "b", XORB_ECORRUPT);
	assert_span_rc(copy, 10, "b", XORB_ECORRUPT);
	/* Found before the cut: the span is complete. */
	assert_span_rc(copy, 7, "a", XORB_OK);
	free(copy);
}

static void test_member_span_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"   ",
		"[1,2]",
		"\"a\"",
		"{",
		"{\"a\"",
		"{\"a\":",
		"{\"a\":1",
		"{\"a\" 1}",
		"{a:1}",
		"{\"a\":1 \"b\":2}",
		"{\"a\":1;\"b\":2}",
		"{\"a\":}",
		"{\"a\":\"unterminated}",
		"{\"a\":\"esc\\\"}",
		"{\"a\":{\"b\":1}",
		"{\"a\":[1,2}",
		"{\"a\":1,,\"b\":2}",
		"{\"a\":]}",
		"{,\"b\":2}",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *start = NULL;
		size_t vlen = 0;
		int rc = xorb_json_member_span(bad[i], strlen(bad[i]), "b", &start, &vlen);

		if (rc != XORB_ECORRUPT)
			fail_msg("member_span(%s, \"b\") returned %d, want XORB_ECORRUPT", bad[i], rc);
	}
}

/*
 * Regression test (fixed; src/lib/xorb_json.c, skip_value, the `default:` branch): a NUL
 * byte inside the given length is a "stop" character for the scalar scan
 * (strchr(",:]} \t\r\n", '\0') matches the terminator) but no case consumes
 * it, so inside an array or object (depth > 0) the loop never advances: an
 * endless loop on e.g. {"a":[<NUL>]}. At depth 0 it yields an empty value
 * and XORB_OK. The snapshot reply from the server goes through this
 * function, so a reply with a NUL byte hangs the backup. Fix: in the default
 * branch, return -1 when the scan did not move (*p unchanged).
 */
static void test_member_span_nul_byte(void **state)
{
	static const char nested[] = "{\"a\":[\0],\"b\":1}";
	static const char top[] = "{\"a\":\0,\"b\":1}";

	int rc = span_rc_in_child(nested, sizeof(nested) - 1, "b");

	if (rc != XORB_ECORRUPT)
		fail_msg("{\"a\":[NUL]}: member_span %s (%d), want XORB_ECORRUPT",
			 rc == 1000 + SIGALRM ? "hangs" : "returned", rc);
	rc = span_rc_in_child(top, sizeof(top) - 1, "a");
	if (rc != XORB_ECORRUPT)
		fail_msg("{\"a\":NUL}: member_span %s (%d), want XORB_ECORRUPT",
			 rc == 1000 + SIGALRM ? "hangs" : "returned", rc);
}

/* ---- parse ---- */

static void test_parse_errors_and_cap(void **state)
{
	struct xorb_error err = { 0 };
	cJSON *j = (cJSON *)&err; /* must be reset to NULL on failure */
	char *big;

	assert_int_equal(xorb_json_parse("{\"a\":1,}", 8, "stream info", &j, &err), XORB_ECORRUPT);
	assert_null(j);
	assert_int_equal(err.code, XORB_ECORRUPT);
	assert_string_equal(err.msg, "stream info is not valid JSON (near byte 7)");

	xorb_error_clear(&err);
	assert_int_equal(xorb_json_parse("", 0, "empty reply", &j, &err), XORB_ECORRUPT);
	assert_null(j);
	assert_non_null(strstr(err.msg, "empty reply is not valid JSON"));

	/* Only len bytes are read: a valid prefix parses even when the buffer
	 * continues. */
	assert_int_equal(xorb_json_parse("[1,2]xxxxx", 5, "prefix", &j, NULL), XORB_OK);
	assert_int_equal(cJSON_GetArraySize(j), 2);
	cJSON_Delete(j);
	/* A cut document fails. */
	assert_int_equal(xorb_json_parse("[1,2]", 4, "cut", &j, NULL), XORB_ECORRUPT);
	assert_null(j);

	/* The cap: exactly XORB_JSON_MAX bytes is allowed, one more is not. */
	big = malloc((size_t)XORB_JSON_MAX + 1);
	assert_non_null(big);
	memset(big, ' ', (size_t)XORB_JSON_MAX + 1);
	big[0] = '[';
	big[(size_t)XORB_JSON_MAX - 1] = ']';
	xorb_error_clear(&err);
	assert_int_equal(xorb_json_parse(big, XORB_JSON_MAX, "big", &j, &err), XORB_OK);
	assert_true(cJSON_IsArray(j));
	cJSON_Delete(j);
	big[(size_t)XORB_JSON_MAX - 1] = ' ';
	big[(size_t)XORB_JSON_MAX] = ']';
	assert_int_equal(xorb_json_parse(big, (size_t)XORB_JSON_MAX + 1, "huge reply", &j, &err),
			 XORB_ECORRUPT);
	assert_null(j);
	assert_string_equal(err.msg, "huge reply is 67108865 bytes, over the 67108864-byte limit");
	free(big);
}

/* ---- getters ---- */

static void test_getters_and_defaults(void **state)
{
	cJSON *j = parse_ok("{\"i\":2592000000000000,\"neg\":-1,\"frac\":1.9,\"s\":\"text\","
			    "\"es\":\"\",\"b\":true,\"n\":null,\"o\":{\"i\":5},\"a\":[1],"
			    "\"huge\":1e300,\"nhuge\":-1e300,\"numstr\":\"42\"}");

	assert_int_equal(xorb_json_int(j, "i", -7), 2592000000000000LL);
	assert_int_equal(xorb_json_int(j, "neg", -7), -1);
	assert_int_equal(xorb_json_int(j, "frac", -7), 1); /* truncated toward zero */
	assert_int_equal(xorb_json_int(j, "huge", -7), INT64_MAX);
	assert_int_equal(xorb_json_int(j, "nhuge", -7), INT64_MIN);
	/* missing or another type: the default */
	assert_int_equal(xorb_json_int(j, "missing", -7), -7);
	assert_int_equal(xorb_json_int(j, "s", -7), -7);
	assert_int_equal(xorb_json_int(j, "numstr", -7), -7);
	assert_int_equal(xorb_json_int(j, "b", -7), -7);
	assert_int_equal(xorb_json_int(j, "n", -7), -7);
	assert_int_equal(xorb_json_int(j, "o", -7), -7);
	assert_int_equal(xorb_json_int(j, "a", -7), -7);
	assert_int_equal(xorb_json_int(j, "I", -7), -7); /* keys are case-sensitive */
	assert_int_equal(xorb_json_int(NULL, "i", 3), 3);

	assert_string_equal(xorb_json_str(j, "s", "d"), "text");
	assert_string_equal(xorb_json_str(j, "es", "d"), "");
	assert_string_equal(xorb_json_str(j, "missing", "d"), "d");
	assert_string_equal(xorb_json_str(j, "i", "d"), "d");
	assert_string_equal(xorb_json_str(j, "n", "d"), "d");
	assert_string_equal(xorb_json_str(j, "o", "d"), "d");
	assert_string_equal(xorb_json_str(j, "S", "d"), "d");
	assert_null(xorb_json_str(j, "missing", NULL));
	assert_null(xorb_json_str(NULL, "s", NULL));
	cJSON_Delete(j);
}

static void test_add_int_prints_exactly(void **state)
{
	cJSON *o = cJSON_CreateObject();

	assert_non_null(o);
	assert_non_null(xorb_json_add_int(o, "max_age", 2592000000000000LL));
	assert_non_null(xorb_json_add_int(o, "neg", -1));
	assert_non_null(xorb_json_add_int(o, "zero", 0));
	assert_non_null(xorb_json_add_int(o, "p53", 9007199254740992LL));
	assert_prints(o, "{\"max_age\":2592000000000000,\"neg\":-1,\"zero\":0,"
			 "\"p53\":9007199254740992}");
	assert_int_equal(xorb_json_int(o, "max_age", 0), 2592000000000000LL);
	cJSON_Delete(o);
}

/* xorb_json_add_int is exact up to 2^53 (the documented contract): every
 * count and size the toolkit writes is far below that. */
static void test_add_int_beyond_2_53(void **state)
{
	cJSON *o = cJSON_CreateObject();
	struct xorb_buf b;
	char got[64];

	assert_non_null(o);
	assert_non_null(xorb_json_add_int(o, "v", 9007199254740992LL));
	xorb_buf_init(&b);
	assert_int_equal(xorb_json_print(o, &b), 0);
	snprintf(got, sizeof(got), "%s", b.data);
	xorb_buf_release(&b);
	cJSON_Delete(o);
	assert_string_equal(got, "{\"v\":9007199254740992}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integer_fidelity),
		cmocka_unit_test(test_integers_near_limits),
		cmocka_unit_test(test_fractions_and_huge_reparse_exactly),
		cmocka_unit_test(test_print_all_types),
		cmocka_unit_test(test_print_raw_and_nonfinite),
		cmocka_unit_test(test_string_escaping),
		cmocka_unit_test(test_escaped_keys_and_values_reparse),
		cmocka_unit_test(test_member_span_finds_top_level_verbatim),
		cmocka_unit_test(test_member_span_honours_len),
		cmocka_unit_test(test_member_span_malformed),
		cmocka_unit_test(test_member_span_nul_byte),
		cmocka_unit_test(test_parse_errors_and_cap),
		cmocka_unit_test(test_getters_and_defaults),
		cmocka_unit_test(test_add_int_prints_exactly),
		cmocka_unit_test(test_add_int_beyond_2_53),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests of the environment file reader (xorb_env.h) on hostile files
 * (issue 12, point 4): a NUL or a control character in a tenant key, equal
 * keys at the top level, inside tenants and inside a tenant, each named with
 * both positions, and numbers beyond every range reported as out of range
 * with the range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "xorb_env.h"

#define TENANT(k, name, bytes)                                                                      \
	"\"" k "\":{\"name\":\"" name "\",\"max_streams\":10,\"max_consumers\":10,\"max_bytes\":" bytes \
	",\"max_messages\":100,\"retention_days\":7}"
#define HEAD "{\"environment\":\"qa\",\"nats_url\":\"nats://127.0.0.1:4222\",\"tenants\":{"

/* Parses text; returns the error message ("" when it parsed). */
static const char *parse(const char *text, size_t len)
{
	static struct xorb_error err;
	struct xorb_env *e = NULL;
	int rc;

	memset(&err, 0, sizeof(err));
	if (!len)
		len = strlen(text);
	rc = xorb_env_parse(text, len, "environments/qa.tfvars.json", &e, &err);
	if (rc == XORB_OK) {
		xorb_env_free(e);
		return "";
	}
	assert_null(e);
	assert_int_equal(rc, XORB_EINVAL);
	return err.msg;
}

static void assert_has(const char *msg, const char *part)
{
	if (!strstr(msg, part))
		fail_msg("message \"%s\" lacks \"%s\"", msg, part);
}

static void test_valid_file_parses(void **state)
{
	(void)state;
	assert_string_equal(parse(HEAD TENANT("t-qa", "t-qa", "1024") "}}", 0), "");
}

static void test_nul_in_tenant_key_refused(void **state)
{
	const char *m;

	(void)state;
	m = parse(HEAD TENANT("t-qa\\u0000x", "t-qa", "1024") "}}", 0);
	assert_has(m, "environments/qa.tfvars.json");
	assert_has(m, "NUL");
	assert_has(m, "line 1, column 72 (byte 71), in tenants: NUL");
}

static void test_control_in_keys_and_names_refused(void **state)
{
	const char raw[] = HEAD "\"t-qa\x01\":{}}}";

	(void)state;
	assert_has(parse(HEAD TENANT("t-qa\\u001b", "t-qa", "1024") "}}", 0), "control character U+001B inside a key");
	assert_has(parse(raw, sizeof(raw) - 1), "raw control byte 0x01");
	assert_has(parse(HEAD TENANT("t-qa", "t-qa", "1024") "},\"environment\\n\":\"x\"}", 0), "inside a key");
	/* a value: the display name must be printable too */
	assert_has(parse(HEAD "\"t-qa\":{\"name\":\"t-qa\",\"display_name\":\"a\\u0007b\",\"max_streams\":1,"
			      "\"max_consumers\":1,\"max_bytes\":1,\"max_messages\":1,\"retention_days\":1}}}", 0),
		   "tenants.t-qa.display_name: holds the control character 0x07");
}

static void test_duplicates_refused_at_every_level(void **state)
{
	const char *m;

	(void)state;
	/* top level */
	m = parse("{\"environment\":\"qa\",\n\"environment\":\"prod\",\"nats_url\":\"x\",\"tenants\":{}}", 0);
	assert_has(m, "environments/qa.tfvars.json");
	assert_has(m, "duplicate key \"environment\" at the top level");
	assert_has(m, "line 1, column 2 (byte 1)");
	assert_has(m, "line 2, column 1 (byte 21)");
	/* two tenants with the same key */
	m = parse(HEAD TENANT("t-qa", "t-qa", "1024") ",\n" TENANT("t-qa", "t-qa", "2048") "}}", 0);
	assert_has(m, "duplicate key \"t-qa\" in tenants");
	assert_has(m, "line 2, column 1");
	/* inside a tenant */
	m = parse(HEAD "\"t-qa\":{\"name\":\"t-qa\",\"max_streams\":10,\"max_streams\":99999,\"max_consumers\":1,"
		       "\"max_bytes\":1,\"max_messages\":1,\"retention_days\":1}}}", 0);
	assert_has(m, "duplicate key \"max_streams\" in tenants.t-qa");
	/* the same key spelled with an escape is the same key */
	m = parse(HEAD TENANT("t-qa", "t-qa", "1") "," TENANT("t-q\\u0061", "t-qa", "1") "}}", 0);
	assert_has(m, "duplicate key \"t-qa\" in tenants");
	/* inside security_settings */
	m = parse(HEAD "},\"security_settings\":{\"require_tls\":true,\"require_tls\":false}}", 0);
	assert_has(m, "duplicate key \"require_tls\" in security_settings");
}

static void test_numbers_out_of_range_say_so(void **state)
{
	const char *m;

	(void)state;
	m = parse(HEAD TENANT("t-qa", "t-qa", "9223372036854775808") "}}", 0);
	assert_has(m, "tenants.t-qa.max_bytes");
	assert_has(m, "out of range (1 to 1125899906842624)");
	m = parse(HEAD TENANT("t-qa", "t-qa", "1e300") "}}", 0);
	assert_has(m, "out of range (1 to 1125899906842624)");
	m = parse(HEAD TENANT("t-qa", "t-qa", "-9223372036854775809") "}}", 0);
	assert_has(m, "out of range");
	m = parse(HEAD TENANT("t-qa", "t-qa", "1125899906842625") "}}", 0);
	assert_has(m, "1125899906842625 is out of range (1 to 1125899906842624)");
	m = parse(HEAD TENANT("t-qa", "t-qa", "1.5") "}}", 0);
	assert_has(m, "must be a whole number (1 to 1125899906842624)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_file_parses),
		cmocka_unit_test(test_nul_in_tenant_key_refused),
		cmocka_unit_test(test_control_in_keys_and_names_refused),
		cmocka_unit_test(test_duplicates_refused_at_every_level),
		cmocka_unit_test(test_numbers_out_of_range_say_so),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

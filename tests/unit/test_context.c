/*
 * Unit tests of natscli contexts (src/cli/xorb_context.h): where a context
 * name leads, which settings a context fills (only those no option or
 * variable set; empty strings are unset), what is refused with the key named
 * (settings xorb-dr cannot honour, a key given twice, a value that is not a
 * string), and a missing file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unistd.h>

#include "xorb_context.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/xorb-test-context-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *write_ctx(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_paths(void **state)
{
	struct xorb_error err = { 0, "" };
	char out[512];

	(void)state;
	setenv("XDG_CONFIG_HOME", "/x/cfg", 1);
	assert_int_equal(xorb_context_path("orders", out, sizeof(out), &err), XORB_OK);
	assert_string_equal(out, "/x/cfg/nats/context/orders.json");
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "/home/sre", 1);
	assert_int_equal(xorb_context_path("prod.eu-1_a", out, sizeof(out), &err), XORB_OK);
	assert_string_equal(out, "/home/sre/.config/nats/context/prod.eu-1_a.json");
	/* a path is taken as given */
	assert_int_equal(xorb_context_path("./ctx/x.json", out, sizeof(out), &err), XORB_OK);
	assert_string_equal(out, "./ctx/x.json");
	/* names natscli could not have made */
	assert_int_equal(xorb_context_path("", out, sizeof(out), &err), XORB_EINVAL);
	assert_int_equal(xorb_context_path("..", out, sizeof(out), &err), XORB_EINVAL);
	assert_int_equal(xorb_context_path(".hidden", out, sizeof(out), &err), XORB_EINVAL);
	assert_int_equal(xorb_context_path("a b", out, sizeof(out), &err), XORB_EINVAL);
	assert_non_null(strstr(err.msg, "a context name holds letters"));
}

static void test_fills_what_is_not_given(void **state)
{
	struct xorb_error err = { 0, "" };
	struct xorb_conn_opts c;
	cJSON *owner = NULL;
	const char *p = write_ctx("full", "{\"description\":\"d\",\"url\":\"nats://ctx:4222\",\"token\":\"\",\"user\":\"u\","
					  "\"password\":\"pw\",\"creds\":\"/c.creds\",\"nkey\":\"\",\"cert\":\"/cert\",\"key\":\"/key\","
					  "\"ca\":\"/ca\",\"nsc\":\"\",\"inbox_prefix\":\"\",\"tls_first\":false,\"color_scheme\":\"x\","
					  "\"some_future_key\":\"y\"}");

	(void)state;
	memset(&c, 0, sizeof(c));
	c.url = "nats://flag:4222";
	c.user = "from-env";
	/* url (bit 0) given by a flag, user (bit 2) by the environment */
	assert_int_equal(xorb_context_apply(p, 1u << 0 | 1u << 2, &c, &owner, &err), XORB_OK);
	assert_string_equal(c.url, "nats://flag:4222");
	assert_string_equal(c.user, "from-env");
	assert_string_equal(c.password, "pw");
	assert_string_equal(c.creds, "/c.creds");
	assert_string_equal(c.tlscert, "/cert");
	assert_string_equal(c.tlskey, "/key");
	assert_string_equal(c.tlsca, "/ca");
	assert_null(c.token); /* "" is unset */
	cJSON_Delete(owner);
}

static void test_refusals(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "{\"url\":\"n\",\"nkey\":\"/k.nk\"}", "sets \"nkey\", which xorb-dr does not support" },
		{ "{\"nsc\":\"nsc://op/acc/user\"}", "sets \"nsc\", which xorb-dr does not support" },
		{ "{\"jetstream_domain\":\"hub\"}", "sets \"jetstream_domain\"" },
		{ "{\"inbox_prefix\":\"_I\"}", "sets \"inbox_prefix\": xorb-dr uses its own inbox prefix, _XORB_INBOX" },
		{ "{\"tls_first\":true}", "sets \"tls_first\"" },
		{ "{\"user\":\"a\",\"user\":\"b\"}", "duplicate key \"user\"" },
		{ "{\"url\":4222}", "\"url\" is not a string" },
		{ "[]", "not a JSON object" },
		{ "{\"url\":", "" },
	};
	struct xorb_error err = { 0, "" };
	struct xorb_conn_opts c;
	cJSON *owner = (cJSON *)&err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *p = write_ctx("bad", bad[i].text);

		memset(&c, 0, sizeof(c));
		assert_int_not_equal(xorb_context_apply(p, 0, &c, &owner, &err), XORB_OK);
		assert_null(owner);
		if (!strstr(err.msg, bad[i].want))
			fail_msg("context %s: \"%s\", want \"%s\"", bad[i].text, err.msg, bad[i].want);
		assert_null(c.url);
	}
	snprintf(err.msg, sizeof(err.msg), "%s", "");
	assert_int_equal(xorb_context_apply("/nonexistent/ctx.json", 0, &c, &owner, &err), XORB_ENOTFOUND);
	assert_non_null(strstr(err.msg, "context file /nonexistent/ctx.json does not exist"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_fills_what_is_not_given),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

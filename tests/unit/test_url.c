/*
 * Unit tests of the URL masking rule (xorb_url.h): the user info of every
 * URL is hidden (user kept, password or token masked), in single URLs, in
 * lists, in free text, with and without a scheme, and never shown when the
 * output is cut.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xorb_url.h"

static void assert_redacted(const char *in, bool bare, const char *want)
{
	char out[512];

	assert_string_equal(xorb_url_redact(in, bare, out, sizeof(out)), want);
	assert_string_equal(xorb_url_shown(in, bare), want);
}

static void test_single_urls(void **state)
{
	assert_redacted("nats://bk:pw@host:4222", true, "nats://bk:***@host:4222");
	assert_redacted("nats://bk:pw@host:4222", false, "nats://bk:***@host:4222");
	assert_redacted("nats://token@host", true, "nats://***@host");
	assert_redacted("tls://bk:@host", true, "tls://bk:***@host");
	assert_redacted("nats://:pw@host", true, "nats://:***@host");
	assert_redacted("http://AKID:se:cret@127.0.0.1:9000/path", false, "http://AKID:***@127.0.0.1:9000/path");
	/* the user info ends at the last '@', as nats.c and libcurl read it */
	assert_redacted("nats://bk:p@ss@host", true, "nats://bk:***@host");
	assert_redacted("https://u:a/b@host/x", false, "https://u:***@host/x");
	/* nothing to hide */
	assert_redacted("nats://127.0.0.1:4222", true, "nats://127.0.0.1:4222");
	assert_redacted("/var/lib/xorb/backups", false, "/var/lib/xorb/backups");
	assert_redacted("s3://bucket/prefix", false, "s3://bucket/prefix");
	assert_redacted("", true, "");
	assert_redacted(NULL, true, "");
}

static void test_lists_and_bare_urls(void **state)
{
	assert_redacted("nats://a:pw1@h1:4222,nats://a:pw2@h2:4222", true, "nats://a:***@h1:4222,nats://a:***@h2:4222");
	assert_redacted("nats://a:pw1@h1, bk:pw2@h2:4222", true, "nats://a:***@h1, bk:***@h2:4222");
	/* without a scheme: a URL only in a server list */
	assert_redacted("bk:pw@host:4222", true, "bk:***@host:4222");
	assert_redacted("token@host", true, "***@host");
	assert_redacted("xorb-backup@t-qa.service", false, "xorb-backup@t-qa.service");
}

static void test_free_text(void **state)
{
	assert_redacted("curl -fsS \"https://hc:pw@hc.example/ping\" && echo done", false,
			"curl -fsS \"https://hc:***@hc.example/ping\" && echo done");
	assert_redacted("connecting to <nats://bk:pw@h:1> failed: 'tls://t@h'", false,
			"connecting to <nats://bk:***@h:1> failed: 'tls://***@h'");
}

static void test_cut_output_never_shows_a_secret(void **state)
{
	char out[16];
	size_t len;

	/* cut inside the password's place: only the mask's prefix is shown */
	xorb_url_redact("nats://bk:averylongpassword@host", true, out, sizeof(out));
	assert_string_equal(out, "nats://bk:***@h");
	for (len = 1; len < sizeof(out); len++) {
		xorb_url_redact("nats://bk:secret@host", true, out, len);
		assert_null(strstr(out, "sec"));
		assert_true(strlen(out) < len);
	}
	assert_ptr_equal(xorb_url_redact("x", true, out, 0), out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_urls),
		cmocka_unit_test(test_lists_and_bare_urls),
		cmocka_unit_test(test_free_text),
		cmocka_unit_test(test_cut_output_never_shows_a_secret),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

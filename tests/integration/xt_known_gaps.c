/*
 * Linked into every integration program: skips the test cases that
 * tests/CMakeLists.txt lists as a known gap of the server version this run
 * uses (XORB_NATS_KNOWN_GAPS), and says so on stderr, so that a gap is
 * visible in every log instead of silently passing. XT_SKIP is a cmocka
 * pattern (* and ?), XT_SKIP_REASON the reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

__attribute__((constructor)) static void xt_known_gaps(void)
{
	const char *pattern = getenv("XT_SKIP"), *why = getenv("XT_SKIP_REASON");

	if (!pattern || !*pattern)
		return;
	cmocka_set_skip_filter(pattern);
	fprintf(stderr, "xt: known gap: test cases matching \"%s\" are NOT run against %s: %s\n",
		pattern, getenv("XT_NATS_SERVER") ? getenv("XT_NATS_SERVER") : "nats-server",
		why ? why : "(no reason given)");
}

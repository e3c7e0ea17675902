/*
 * Unit tests of subject schema v1 (xorb_subject.h): the seed's examples get
 * the seed's verdicts with precise reasons, each rule at its boundaries
 * (3/63-character tenants, 32/33-character services, hyphens at the ends,
 * case), empty tokens, wildcards only in patterns and only where NATS allows
 * them, and the literal scanner behind xorb-subject-lint.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xorb_buf.h"
#include "xorb_error.h"
#include "xorb_subject.h"

static void ok(const char *s, int patterns)
{
	struct xorb_error err = { 0, "" };

	if (xorb_subject_check(s, patterns, &err) != XORB_OK)
		fail_msg("\"%s\" rejected: %s", s, err.msg);
	assert_int_equal(err.code, XORB_OK);
}

static void bad(const char *s, int patterns, const char *want)
{
	struct xorb_error err = { 0, "" };

	if (xorb_subject_check(s, patterns, &err) != XORB_EINVAL)
		fail_msg("\"%s\" accepted", s ? s : "(null)");
	assert_int_equal(err.code, XORB_EINVAL);
	if (strcmp(err.msg, want))
		fail_msg("\"%s\":\n  got  %s\n  want %s", s ? s : "(null)", err.msg, want);
}

/* ---- the seed ---- */

static void test_seed_examples(void **state)
{
	ok("xorb.t-qa.scan.nmap.created", 0);
	ok("xorb.tenant-1.evidence.discovery.completed", 0);
	bad("xorb.t.scan.nmap.started", 0,
	    "tenant name \"t\" must be 3 to 63 characters long; "
	    "event \"started\" is not one of created, updated, completed, failed, replay");
	/* the same verdicts as patterns */
	ok("xorb.t-qa.scan.nmap.created", 1);
	bad("xorb.t.scan.nmap.started", 1,
	    "tenant name \"t\" must be 3 to 63 characters long; "
	    "event \"started\" is not one of created, updated, completed, failed, replay");
	/* the seed's test 2 */
	bad("xorb.tenant-a.invalid-domain.service.created", 0,
	    "domain \"invalid-domain\" is not one of evidence, scan, compliance, control");
}

static void test_every_domain_and_event(void **state)
{
	static const char *const domains[] = { "evidence", "scan", "compliance", "control" };
	static const char *const events[] = { "created", "updated", "completed", "failed", "replay" };
	char s[128];
	size_t d, e;

	for (d = 0; d < 4; d++)
		for (e = 0; e < 5; e++) {
			snprintf(s, sizeof(s), "xorb.t-qa.%s.svc.%s", domains[d], events[e]);
			ok(s, 0);
		}
	bad("xorb.t-qa.Scan.nmap.created", 0, "domain \"Scan\" is not one of evidence, scan, compliance, control");
	bad("xorb.t-qa.scan.nmap.CREATED", 0,
	    "event \"CREATED\" is not one of created, updated, completed, failed, replay");
	bad("xorb.t-qa.scans.nmap.created", 0, "domain \"scans\" is not one of evidence, scan, compliance, control");
	bad("xorb.t-qa.scan.nmap.create", 0,
	    "event \"create\" is not one of created, updated, completed, failed, replay");
}

/* ---- tenant ---- */

static void test_tenant_boundaries(void **state)
{
	char t63[64], t64[65], s[256];

	memset(t63, 'a', 63);
	t63[63] = '\0';
	memset(t64, 'b', 64);
	t64[64] = '\0';
	ok("xorb.abc.scan.nmap.created", 0); /* 3 */
	snprintf(s, sizeof(s), "xorb.%s.scan.nmap.created", t63);
	ok(s, 0);
	bad("xorb.ab.scan.nmap.created", 0, "tenant name \"ab\" must be 3 to 63 characters long");
	snprintf(s, sizeof(s), "xorb.%s.scan.nmap.created", t64);
	bad(s, 0,
	    "tenant name \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\" must be 3 to 63 characters long (has 64)");
	bad("xorb.-tqa.scan.nmap.created", 0, "tenant name \"-tqa\" must not start or end with a hyphen");
	bad("xorb.tqa-.scan.nmap.created", 0, "tenant name \"tqa-\" must not start or end with a hyphen");
	bad("xorb.t_qa.scan.nmap.created", 0,
	    "tenant name \"t_qa\" has '_' at position 2: only letters, digits and hyphens are allowed");
	/* as xorb_tenant_check: upper case and inner double hyphens pass */
	ok("xorb.T-QA.scan.nmap.created", 0);
	ok("xorb.t--qa.scan.nmap.created", 0);
	ok("xorb.123.scan.nmap.created", 0);
}

/* ---- service ---- */

static void test_service_boundaries(void **state)
{
	char s32[33], s33[34], s[256];

	memset(s32, 'n', 32);
	s32[32] = '\0';
	memset(s33, 'n', 33);
	s33[33] = '\0';
	ok("xorb.t-qa.scan.n.created", 0); /* 1 */
	snprintf(s, sizeof(s), "xorb.t-qa.scan.%s.created", s32);
	ok(s, 0);
	snprintf(s, sizeof(s), "xorb.t-qa.scan.%s.created", s33);
	bad(s, 0, "service \"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\" must be 1 to 32 characters long (has 33)");
	ok("xorb.t-qa.scan.port-scan.created", 0);
	ok("xorb.t-qa.scan.a--b.created", 0);
	ok("xorb.t-qa.scan.Nmap2.created", 0);
	ok("xorb.t-qa.scan.7.created", 0);
	/* decided: hyphens only between alphanumerics, as for tenants */
	bad("xorb.t-qa.scan.-nmap.created", 0, "service \"-nmap\" must not start or end with a hyphen");
	bad("xorb.t-qa.scan.nmap-.created", 0, "service \"nmap-\" must not start or end with a hyphen");
	bad("xorb.t-qa.scan.-.created", 0, "service \"-\" must not start or end with a hyphen");
	bad("xorb.t-qa.scan.nmap_v2.created", 0,
	    "service \"nmap_v2\" has '_' at position 5: only letters, digits and hyphens are allowed");
	bad("xorb.t-qa.scan.n\xc3\xa9.created", 0,
	    "service \"n\xc3\xa9\" has '?' at position 2: only letters, digits and hyphens are allowed");
	bad("xorb.t-qa.scan.n map.created", 0,
	    "service \"n map\" has ' ' at position 2: only letters, digits and hyphens are allowed");
}

/* ---- structure ---- */

static void test_structure(void **state)
{
	bad("", 0, "subject is empty");
	bad(NULL, 0, "subject is empty");
	bad(".xorb.t-qa.scan.nmap.created", 0, "subject starts with a dot (empty first token)");
	bad("xorb.t-qa.scan.nmap.created.", 0, "subject ends with a dot (empty last token)");
	bad("xorb.t-qa.scan.nmap.", 0, "subject ends with a dot (empty last token)");
	bad("xorb.t-qa..nmap.created", 0, "subject has an empty token at position 3 ('..')");
	bad("xorb..scan.nmap.created", 1, "subject has an empty token at position 2 ('..')");
	bad("xorb.t-qa.scan.nmap", 0,
	    "has 4 tokens, schema v1 has 5: xorb.<tenant>.<domain>.<service>.<event>");
	bad("xorb.t-qa.scan.nmap.created.v2", 0,
	    "has 6 tokens, schema v1 has 5: xorb.<tenant>.<domain>.<service>.<event>");
	bad("xorb", 0, "has 1 token, schema v1 has 5: xorb.<tenant>.<domain>.<service>.<event>");
	bad("XORB.t-qa.scan.nmap.created", 0, "token 1 is \"XORB\", schema v1 subjects start with \"xorb\"");
	bad("orders.t-qa.scan.nmap.created", 0, "token 1 is \"orders\", schema v1 subjects start with \"xorb\"");
	/* every problem, in token order */
	bad("xorb.t.scans.-x.started", 0,
	    "tenant name \"t\" must be 3 to 63 characters long; "
	    "domain \"scans\" is not one of evidence, scan, compliance, control; "
	    "service \"-x\" must not start or end with a hyphen; "
	    "event \"started\" is not one of created, updated, completed, failed, replay");
}

/* ---- wildcards ---- */

static void test_wildcards(void **state)
{
	/* subjects: never */
	bad("xorb.*.scan.nmap.created", 0,
	    "wildcard \"*\" as the tenant (token 2) is only allowed in patterns");
	bad("xorb.t-qa.scan.nmap.>", 0, "wildcard \">\" as the event (token 5) is only allowed in patterns");
	bad("xorb.t-qa.>", 0,
	    "has 3 tokens, schema v1 has 5: xorb.<tenant>.<domain>.<service>.<event>; "
	    "wildcard \">\" as the domain (token 3) is only allowed in patterns");
	/* patterns: '*' for any whole token after "xorb", '>' last */
	ok("xorb.t-qa.>", 1);
	ok("xorb.>", 1);
	ok("xorb.*.scan.*.created", 1);
	ok("xorb.t-qa.*.*.*", 1);
	ok("xorb.t-qa.scan.nmap.>", 1);
	ok("xorb.t-qa.scan.>", 1);
	ok("xorb.*.>", 1);
	bad("xorb.t-qa.scan.nmap.created.>", 1, "'>' as token 6 matches only subjects of more than 5 tokens");
	bad("xorb.t-qa.>.nmap.created", 1, "'>' as the domain (token 3) must be the last token");
	bad("*.t-qa.scan.nmap.created", 1, "token 1 is \"*\", schema v1 subjects start with \"xorb\"");
	bad(">", 1, "token 1 is \">\", schema v1 subjects start with \"xorb\"");
	bad("xorb.t-qa.scan.*", 1, "has 4 tokens, schema v1 has 5: xorb.<tenant>.<domain>.<service>.<event>");
	bad("xorb.t-qa.scan.nmap*.created", 1, "service \"nmap*\" contains '*': a wildcard must be a whole token");
	bad("xorb.t-qa*.scan.nmap.created", 0, "tenant \"t-qa*\" contains '*': a wildcard must be a whole token");
	bad("xorb.t-qa.scan.nmap.created>", 1, "event \"created>\" contains '>': a wildcard must be a whole token");
	/* wildcards do not excuse the other tokens */
	bad("xorb.t.*.nmap.>", 1, "tenant name \"t\" must be 3 to 63 characters long");
	bad("xorb.t-qa.nope.>", 1, "domain \"nope\" is not one of evidence, scan, compliance, control");
}

static void test_long_input(void **state)
{
	char *s = malloc(XORB_SUBJECT_MAX + 2);
	struct xorb_error err = { 0, "" };

	memset(s, 'a', XORB_SUBJECT_MAX + 1);
	s[XORB_SUBJECT_MAX + 1] = '\0';
	assert_int_equal(xorb_subject_check(s, 1, &err), XORB_EINVAL);
	assert_string_equal(err.msg, "subject is 4097 bytes long: schema v1 subjects are far shorter");
	/* a long token is quoted shortened, never overflowing the message */
	memcpy(s, "xorb.", 5);
	s[2000] = '\0';
	assert_int_equal(xorb_subject_check(s, 1, &err), XORB_EINVAL);
	assert_true(strlen(err.msg) < 400);
	assert_int_equal(xorb_subject_check("xorb.t.scan.nmap.created", 0, NULL), XORB_EINVAL);
	free(s);
}

/* ---- scanner ---- */

struct found {
	struct xorb_buf b; /* "line|text|subject\n" per literal */
	int stop_after;
	int n;
};

static int collect(void *arg, const struct xorb_subject_literal *lit)
{
	struct found *f = arg;

	xorb_buf_printf(&f->b, "%zu|%.*s|%s\n", lit->line, (int)lit->len, lit->text, lit->subject);
	f->n++;
	return f->stop_after && f->n >= f->stop_after ? 7 : 0;
}

static void scan_expect(const char *text, unsigned int flags, const char *want)
{
	struct found f;

	memset(&f, 0, sizeof(f));
	xorb_buf_init(&f.b);
	assert_int_equal(xorb_subject_scan(text, strlen(text), flags, collect, &f), 0);
	if (strcmp(f.b.data ? f.b.data : "", want))
		fail_msg("scan of:\n%s\n got:\n%s\n want:\n%s", text, f.b.data ? f.b.data : "", want);
	xorb_buf_release(&f.b);
}

static void test_scan_quotes(void **state)
{
	scan_expect("a = \"xorb.t-qa.scan.nmap.created\"\n"
		    "b = 'xorb.t.scan.nmap.started'; c = `xorb.t-qa.>`\n",
		    0,
		    "1|xorb.t-qa.scan.nmap.created|xorb.t-qa.scan.nmap.created\n"
		    "2|xorb.t.scan.nmap.started|xorb.t.scan.nmap.started\n"
		    "2|xorb.t-qa.>|xorb.t-qa.>\n");
	/* an apostrophe before does not matter: the quote must be right before */
	scan_expect("# don't publish to 'xorb.t.scan.x.created'\n", 0,
		    "1|xorb.t.scan.x.created|xorb.t.scan.x.created\n");
	/* not subjects: one dot, prose, paths, URLs, host:port, escapes, no
	 * closing quote, not right after a quote, too long */
	scan_expect("\"xorb.yaml\" \"xorb.t-qa is down.\" \"xorb.d/x.y\" \"xorb.a.b:4222\"\n"
		    "\"xorb.a.b.c\\n\" \"xorb.a.b.c\n"
		    "import xorb.client.api\n"
		    "pkg.xorb.a.b.c\n",
		    0, "");
	{
		char line[400];

		memset(line, 'a', sizeof(line));
		memcpy(line, "\"xorb.", 6);
		line[300] = '.';
		line[301] = '.';
		line[398] = '"';
		line[399] = '\0';
		scan_expect(line, 0, "");
	}
	/* CRLF, and the ignore marker */
	scan_expect("x = \"xorb.t.scan.a.b\"\r\n"
		    "y = \"xorb.t.scan.a.b\"  # xorb-subject-lint: ignore\r\n"
		    "z = 'xorb.t-qa.scan.a.failed'\r\n",
		    0,
		    "1|xorb.t.scan.a.b|xorb.t.scan.a.b\n"
		    "3|xorb.t-qa.scan.a.failed|xorb.t-qa.scan.a.failed\n");
}

static void test_scan_placeholders_and_prefixes(void **state)
{
	scan_expect("f\"xorb.{tenant}.scan.{svc}.created\"\n"
		    "fmt.Sprintf(\"xorb.%s.scan.%-8v.failed\", t, s)\n"
		    "`xorb.${tenant}.evidence.x.replay`\n"
		    "\"xorb.$TENANT.control.x.updated\"\n"
		    "'xorb.<tenant>.<domain>.<service>.<event>'\n"
		    "\"xorb.{cfg.tenant}.scan.nmap.started\"\n"
		    "\"xorb.t-{env}.scan.nmap.created\"\n"
		    "\"xorb.t-qa.scan.\"\n",
		    0,
		    "1|xorb.{tenant}.scan.{svc}.created|xorb.*.scan.*.created\n"
		    "2|xorb.%s.scan.%-8v.failed|xorb.*.scan.*.failed\n"
		    "3|xorb.${tenant}.evidence.x.replay|xorb.*.evidence.x.replay\n"
		    "4|xorb.$TENANT.control.x.updated|xorb.*.control.x.updated\n"
		    "5|xorb.<tenant>.<domain>.<service>.<event>|xorb.*.*.*.*\n"
		    "6|xorb.{cfg.tenant}.scan.nmap.started|xorb.*.scan.nmap.started\n"
		    "7|xorb.t-{env}.scan.nmap.created|xorb.*.scan.nmap.created\n"
		    "8|xorb.t-qa.scan.|xorb.t-qa.scan.>\n");
}

static void test_scan_bare(void **state)
{
	static const char yaml[] = "subjects:\n"
				   "  - xorb.t-qa.scan.>\n"
				   "  - \"xorb.t-qa.evidence.>\"\n"
				   "publish: [xorb.t-qa.scan.nmap.created, xorb.t.scan.nmap.started]\n"
				   "subject: xorb.t-qa.scan.nmap.done # trailing comment\n"
				   "xorb.key.looking.thing: 1\n"
				   "url: nats://xorb.example.com:4222\n";

	/* without the flag only the quoted one */
	scan_expect(yaml, 0, "3|xorb.t-qa.evidence.>|xorb.t-qa.evidence.>\n");
	scan_expect(yaml, XORB_SUBJECT_SCAN_BARE,
		    "2|xorb.t-qa.scan.>|xorb.t-qa.scan.>\n"
		    "3|xorb.t-qa.evidence.>|xorb.t-qa.evidence.>\n"
		    "4|xorb.t-qa.scan.nmap.created|xorb.t-qa.scan.nmap.created\n"
		    "4|xorb.t.scan.nmap.started|xorb.t.scan.nmap.started\n"
		    "5|xorb.t-qa.scan.nmap.done|xorb.t-qa.scan.nmap.done\n");
	scan_expect("nats pub xorb.t-qa.scan.nmap.created hi\nSUBJ=xorb.t-qa.scan.x.failed\n",
		    XORB_SUBJECT_SCAN_BARE,
		    "1|xorb.t-qa.scan.nmap.created|xorb.t-qa.scan.nmap.created\n"
		    "2|xorb.t-qa.scan.x.failed|xorb.t-qa.scan.x.failed\n");
}

static void test_scan_stops_on_callback(void **state)
{
	static const char text[] = "'xorb.a.b.c' 'xorb.d.e.f'\n'xorb.g.h.i'\n";
	struct found f;

	memset(&f, 0, sizeof(f));
	xorb_buf_init(&f.b);
	f.stop_after = 2;
	assert_int_equal(xorb_subject_scan(text, strlen(text), 0, collect, &f), 7);
	assert_int_equal(f.n, 2);
	xorb_buf_release(&f.b);
	/* empty text, text without a newline at the end */
	scan_expect("", 0, "");
	scan_expect("'xorb.a.b.c'", 0, "1|xorb.a.b.c|xorb.a.b.c\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_examples),
		cmocka_unit_test(test_every_domain_and_event),
		cmocka_unit_test(test_tenant_boundaries),
		cmocka_unit_test(test_service_boundaries),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_wildcards),
		cmocka_unit_test(test_long_input),
		cmocka_unit_test(test_scan_quotes),
		cmocka_unit_test(test_scan_placeholders_and_prefixes),
		cmocka_unit_test(test_scan_bare),
		cmocka_unit_test(test_scan_stops_on_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

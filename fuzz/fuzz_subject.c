/*
 * libFuzzer target: subject schema v1 (xorb_subject_check, as subject and as
 * pattern) and the source scanner of xorb-subject-lint (xorb_subject_scan,
 * plain and with bare subjects), on untrusted text.
 *
 * Invariants: a valid subject is a valid pattern; without '*' or '>' in it
 * the two checks say the same thing; a valid subject has five tokens and
 * starts with "xorb."; every literal the scanner reports lies inside the
 * text, on a line that exists, and its normalised form can be checked.
 */
#include <string.h>

#include "fuzz_util.h"
#include "xorb_subject.h"

struct scan {
	const char *text;
	size_t len, lines, found;
};

static int on_literal(void *arg, const struct xorb_subject_literal *lit)
{
	struct scan *s = arg;
	struct xorb_error err;
	int rc;

	FUZZ_CHECK(lit->text >= s->text && lit->len <= (size_t)(s->text + s->len - lit->text));
	FUZZ_CHECK(lit->len >= 5 && !memcmp(lit->text, "xorb.", 5));
	FUZZ_CHECK(lit->line >= 1 && lit->line <= s->lines);
	FUZZ_CHECK(lit->subject && strlen(lit->subject) <= lit->len + 1);
	FUZZ_CHECK(!memchr(lit->text, '\n', lit->len));
	rc = xorb_subject_check(lit->subject, 1, &err);
	FUZZ_CHECK(rc == XORB_OK || rc == XORB_EINVAL || rc == XORB_ENOMEM);
	s->found++;
	return s->found == 1000; /* stops the scan: the stop path is checked below */
}

static int count_lines(const char *t, size_t len)
{
	int n = 1;
	size_t i;

	for (i = 0; i < len; i++)
		n += t[i] == '\n';
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct xorb_error e0, e1;
	struct scan s = { (const char *)data, len, 0, 0 };
	char *subject;
	int r0, r1, rc;

	subject = fuzz_strndup(data, len);
	if (!subject)
		return 0;
	r0 = xorb_subject_check(subject, 0, &e0);
	r1 = xorb_subject_check(subject, 1, &e1);
	FUZZ_CHECK(r0 == XORB_OK || r0 == XORB_EINVAL || r0 == XORB_ENOMEM);
	if (r0 == XORB_OK) {
		const char *p = subject;
		int dots = 0;

		FUZZ_CHECK(r1 == XORB_OK);
		FUZZ_CHECK(!strncmp(subject, "xorb.", 5));
		while ((p = strchr(p, '.')))
			p++, dots++;
		FUZZ_CHECK(dots == XORB_SUBJECT_TOKENS - 1);
	} else {
		FUZZ_CHECK(e0.code == r0 && strnlen(e0.msg, sizeof(e0.msg)) < sizeof(e0.msg));
		FUZZ_CHECK(e0.msg[0] != '\0');
	}
	if (!strpbrk(subject, "*>")) {
		FUZZ_CHECK(r0 == r1);
		FUZZ_CHECK(r0 == XORB_OK || !strcmp(e0.msg, e1.msg));
	}
	free(subject);

	s.lines = (size_t)count_lines(s.text, len);
	rc = xorb_subject_scan(s.text, len, 0, on_literal, &s);
	FUZZ_CHECK(rc == 0 || (rc == 1 && s.found == 1000));
	s.found = 0;
	rc = xorb_subject_scan(s.text, len, XORB_SUBJECT_SCAN_BARE, on_literal, &s);
	FUZZ_CHECK(rc == 0 || (rc == 1 && s.found == 1000));
	return 0;
}

/*
 * Subject schema v1 (immutable): xorb.<tenant>.<domain>.<service>.<event>,
 * and the scanner xorb-subject-lint uses to find subjects in source text.
 *
 *   tenant   xorb_tenant_check: 3-63 of [A-Za-z0-9-], no hyphen at either end
 *   domain   evidence | scan | compliance | control
 *   service  1-32 of [A-Za-z0-9-], no hyphen at either end (the seed says
 *            "alphanumeric with hyphens"; read, like the tenant rule, as
 *            hyphens BETWEEN alphanumerics: "-nmap" and "nmap-" are refused,
 *            "port-scan" and "a--b" pass). Upper case passes, as for tenants.
 *   event    created | updated | completed | failed | replay
 * "xorb", the domains and the events are lower case exactly (NATS subjects
 * are case-sensitive). Pure functions, no I/O.
 */
#ifndef XORB_SUBJECT_H
#define XORB_SUBJECT_H

#include <stddef.h>

#include "xorb_error.h"

#define XORB_SUBJECT_TOKENS 5
#define XORB_SERVICE_MAX 32
#define XORB_SUBJECT_MAX 4096 /* longer input is refused without a closer look */

/*
 * XORB_OK when subject follows schema v1; otherwise XORB_EINVAL and err->msg
 * names every problem found, in token order, separated by "; " - e.g. for
 * xorb.t.scan.nmap.started: tenant name "t" must be 3 to 63 characters
 * long; event "started" is not one of created, updated, completed, failed,
 * replay. The message does not repeat the subject: callers prefix it.
 * allow_wildcards != 0 checks a PATTERN (subscriptions, permissions,
 * stream subjects): "*" may stand for any whole token after "xorb", and ">"
 * may be the last token when it still matches schema subjects (it stands
 * for one or more tokens, so xorb.t-qa.> passes and xorb.a.b.c.d.> does
 * not). Wildcards inside a token ("nmap*") are always refused.
 */
int xorb_subject_check(const char *subject, int allow_wildcards, struct xorb_error *err);

/* ---- finding subjects in source text (xorb-subject-lint) ---- */

struct xorb_subject_literal {
	size_t line;	     /* 1-based */
	const char *text;    /* the literal as written: points into the scanned
			      * text, NOT NUL-terminated */
	size_t len;
	const char *subject; /* NUL-terminated form to check as a pattern:
			      * placeholders as "*", a trailing dot as ".>";
			      * valid during the callback only */
};

/* Return 0 to go on; anything else stops the scan and is returned. */
typedef int (*xorb_subject_literal_fn)(void *arg, const struct xorb_subject_literal *lit);

/* Also find unquoted subjects (YAML, shell, configuration files). */
#define XORB_SUBJECT_SCAN_BARE 1u

/*
 * Calls fn for every literal in text that looks like an xorb subject, in
 * order. The heuristic, line by line:
 *  - a literal is "xorb." right after a quote character (" ' `) and runs to
 *    the next same quote on that line (no closing quote: not a literal);
 *    with XORB_SUBJECT_SCAN_BARE also "xorb." at the start of a line or
 *    after white space, '[', ',', '(' or '=', running to white space or one
 *    of , ] } ) ; # " ' or the end of the line;
 *  - it looks like a subject when it has at least 2 dots, at most 256 bytes
 *    and no white space, control byte, backslash, '/' or ':' (prose, paths,
 *    URLs, host:port and escaped strings are not subjects);
 *  - placeholders ({x}, {{x}}, ${x}, $X, %s / %-8v ..., <x>) make their
 *    token "*"; a literal ending in '.' is a prefix and is checked as
 *    prefix + ">";
 *  - a line containing "xorb-subject-lint: ignore" is skipped.
 * Returns 0, or the first non-zero value fn returned.
 */
int xorb_subject_scan(const char *text, size_t len, unsigned int flags, xorb_subject_literal_fn fn,
		      void *arg);

#endif

/* nats-server versions: see xorb_version.h. */
#include "xorb_version.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A decimal number without sign or leading '+'/' ', at most 9 digits. */
static int number(const char **p, unsigned *out)
{
	const char *s = *p;
	unsigned v = 0;
	int n = 0;

	while (isdigit((unsigned char)*s) && n < 10) {
		v = v * 10 + (unsigned)(*s - '0');
		s++;
		n++;
	}
	if (!n || n > 9)
		return -1;
	*out = v;
	*p = s;
	return 0;
}

int xorb_version_parse(const char *s, struct xorb_version *v, struct xorb_error *err)
{
	const char *p = s;
	size_t n;

	memset(v, 0, sizeof(*v));
	if (!s)
		return xorb_error_set(err, XORB_EINVAL, "no version given");
	if (*p == 'v')
		p++;
	if (number(&p, &v->major) || *p++ != '.' || number(&p, &v->minor))
		goto bad;
	if (*p == '.' && (p++, number(&p, &v->patch)))
		goto bad;
	if (*p == '-') {
		p++;
		n = strcspn(p, "+");
		if (!n || n >= sizeof(v->pre))
			goto bad;
		memcpy(v->pre, p, n);
		v->pre[n] = '\0';
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)v->pre[i]) && v->pre[i] != '.' && v->pre[i] != '-')
				goto bad;
		p += n;
	}
	if (*p == '+') {
		p++;
		if (!*p)
			goto bad;
		for (; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
				goto bad;
	}
	if (*p)
		goto bad;
	return XORB_OK;
bad:
	memset(v, 0, sizeof(*v));
	return xorb_error_set(err, XORB_EINVAL, "\"%.100s\" is not a version (MAJOR.MINOR.PATCH[-PRE])", s);
}

static int cmp_u(unsigned a, unsigned b)
{
	return a < b ? -1 : a > b;
}

int xorb_version_cmp_core(const struct xorb_version *a, unsigned major, unsigned minor,
			  unsigned patch)
{
	int c = cmp_u(a->major, major);

	if (!c)
		c = cmp_u(a->minor, minor);
	if (!c)
		c = cmp_u(a->patch, patch);
	return c;
}

static int all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return n > 0;
}

/* semver 2.0.0, 11.4: dot-separated identifiers, numbers below words. */
static int cmp_pre(const char *a, const char *b)
{
	if (!*a || !*b)
		return *a ? -1 : *b ? 1 : 0; /* a release sorts after its pre-releases */
	for (;;) {
		size_t na = strcspn(a, "."), nb = strcspn(b, ".");
		int da = all_digits(a, na), db = all_digits(b, nb), c;

		if (da && db) {
			/* strip leading zeros, then the longer number is larger */
			while (na > 1 && *a == '0')
				a++, na--;
			while (nb > 1 && *b == '0')
				b++, nb--;
			c = na != nb ? (na < nb ? -1 : 1) : memcmp(a, b, na);
		} else if (da != db) {
			c = da ? -1 : 1;
		} else {
			c = memcmp(a, b, na < nb ? na : nb);
			if (!c)
				c = na < nb ? -1 : na > nb;
		}
		if (c)
			return c < 0 ? -1 : 1;
		a += na;
		b += nb;
		if (!*a || !*b)
			return *a ? 1 : *b ? -1 : 0; /* more identifiers sort higher */
		a++;
		b++;
	}
}

int xorb_version_cmp(const struct xorb_version *a, const struct xorb_version *b)
{
	int c = xorb_version_cmp_core(a, b->major, b->minor, b->patch);

	return c ? c : cmp_pre(a->pre, b->pre);
}

int xorb_version_snapshot_format(const struct xorb_version *v)
{
	return xorb_version_cmp_core(v, XORB_SNAPSHOT_V2_MAJOR, XORB_SNAPSHOT_V2_MINOR,
				     XORB_SNAPSHOT_V2_PATCH) >= 0 ? 2 : 1;
}

int xorb_version_check_restore(const char *backup_version, const char *target_version,
			       const char *what, struct xorb_error *err)
{
	struct xorb_version b, t;

	if (!backup_version || !*backup_version)
		return XORB_OK;
	if (!what || !*what)
		what = "the backup";
	if (xorb_version_parse(backup_version, &b, NULL))
		return xorb_error_set(err, XORB_EINVAL,
				      "%s records \"%.100s\" as the version of the server it was made on, which is not a version",
				      what, backup_version);
	if (xorb_version_snapshot_format(&b) < 2)
		return XORB_OK; /* v1 (tar) snapshots: every server from 2.9 reads them */
	if (xorb_version_parse(target_version, &t, NULL))
		return xorb_error_set(err, XORB_EINVAL,
				      "the target server reports \"%.100s\" as its version, which is not a version, so it cannot be told whether it reads the v2 (NATSARC1) snapshots of %s (made on nats-server %s)",
				      target_version ? target_version : "", what, backup_version);
	if (xorb_version_snapshot_format(&t) >= 2)
		return XORB_OK;
	return xorb_error_set(err, XORB_EUNSUPPORTED,
			      "%s was made on nats-server %s, whose snapshots are in the v2 (NATSARC1) format, and the target nats-server %s cannot read that format (only %s and newer can); nothing was created: restore it into a nats-server %s or newer",
			      what, backup_version, target_version, XORB_SNAPSHOT_V2_SINCE,
			      XORB_SNAPSHOT_V2_SINCE);
}

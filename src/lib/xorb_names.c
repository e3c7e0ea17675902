/* Tenant, stream and backup-id names: see xorb_names.h. */
#include "xorb_names.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

int xorb_tenant_check(const char *t, struct xorb_error *err)
{
	size_t n = t ? strlen(t) : 0, i;

	if (n < 3 || n > XORB_TENANT_MAX)
		return xorb_error_set(err, XORB_EINVAL,
				      "tenant name \"%.80s\" must be 3 to 63 characters long", t ? t : "");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];

		if (!isascii(c) || !(isalnum(c) || c == '-'))
			return xorb_error_set(err, XORB_EINVAL,
					      "tenant name \"%s\" has '%c' at position %zu: only letters, digits and hyphens are allowed",
					      t, isprint(c) ? c : '?', i + 1);
	}
	if (t[0] == '-' || t[n - 1] == '-')
		return xorb_error_set(err, XORB_EINVAL,
				      "tenant name \"%s\" must not start or end with a hyphen", t);
	return XORB_OK;
}

bool xorb_domain_valid(const char *d, size_t len)
{
	static const char *const domains[] = { "evidence", "scan", "compliance", "control" };
	size_t i;

	for (i = 0; i < sizeof(domains) / sizeof(domains[0]); i++)
		if (strlen(domains[i]) == len && !memcmp(domains[i], d, len))
			return true;
	return false;
}

bool xorb_stream_of_tenant(const char *s, const char *tenant)
{
	size_t tl = strlen(tenant);
	const char *rest, *dash, *p;

	if (strncmp(s, "xorb-", 5) || strncmp(s + 5, tenant, tl) || s[5 + tl] != '-')
		return false;
	rest = s + 5 + tl + 1;
	dash = strchr(rest, '-');
	if (!dash || !xorb_domain_valid(rest, (size_t)(dash - rest)) || !dash[1])
		return false;
	for (p = dash + 1; *p; p++)
		if (!(isascii((unsigned char)*p) && (isalnum((unsigned char)*p) || *p == '_')))
			return false;
	return true;
}

int xorb_backup_id_new(time_t t, char *out, size_t outlen, struct xorb_error *err)
{
	unsigned char r[3];
	struct tm tm;
	int n;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return xorb_error_set(err, XORB_EIO, "cannot read random bytes for the backup id");
	if (!gmtime_r(&t, &tm))
		return xorb_error_set(err, XORB_EINVAL, "cannot convert the time for the backup id");
	n = snprintf(out, outlen, "%04d%02d%02dT%02d%02d%02dZ-%02x%02x%02x", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, r[0], r[1], r[2]);
	if (n != XORB_BACKUP_ID_LEN || (size_t)n >= outlen)
		return xorb_error_set(err, XORB_EINVAL, "backup id buffer too small");
	return XORB_OK;
}

bool xorb_backup_id_parse(const char *id, time_t *t)
{
	static const char shape[] = "ddddddddTddddddZ-xxxxxx";
	struct tm tm;
	size_t i;
	time_t v;

	if (strlen(id) != XORB_BACKUP_ID_LEN)
		return false;
	for (i = 0; i < XORB_BACKUP_ID_LEN; i++) {
		char c = id[i];

		if (shape[i] == 'd' ? !isdigit((unsigned char)c)
		    : shape[i] == 'x' ? !isxdigit((unsigned char)c) || isupper((unsigned char)c)
				      : c != shape[i])
			return false;
	}
	memset(&tm, 0, sizeof(tm));
	if (sscanf(id, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec) != 6)
		return false;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	{
		struct tm check = tm;

		v = timegm(&check);
		/* timegm normalises 31 February into March: refuse such dates */
		if (v == (time_t)-1 || check.tm_mday != tm.tm_mday || check.tm_mon != tm.tm_mon)
			return false;
	}
	if (t)
		*t = v;
	return true;
}

bool xorb_stream_name_valid(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n > 255 || !strcmp(name, ".."))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= 0x20 || c == 0x7f || strchr(".*>/\\", c))
			return false;
	}
	return true;
}

/*
 * Names of the product: tenants, the streams that belong to a tenant, and
 * backup ids. Pure functions, no I/O except the random suffix of new ids.
 */
#ifndef XORB_NAMES_H
#define XORB_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "xorb_error.h"

#define XORB_TENANT_MAX 63
#define XORB_BACKUP_ID_LEN 23 /* 20261127T170508Z-3fa9c1 */

/* Tenant names: 3-63 characters of [A-Za-z0-9-], no hyphen at either end.
 * Returns XORB_OK or XORB_EINVAL with the reason in err. */
int xorb_tenant_check(const char *tenant, struct xorb_error *err);

/* The four domains of subject schema v1. */
bool xorb_domain_valid(const char *domain, size_t len);

/* A stream belongs to tenant T when its name is xorb-T-<domain>-<class> with
 * <domain> one of the schema's domains and <class> a single word of
 * [A-Za-z0-9_] (no hyphen). The rule is strict so that tenants whose names are
 * prefixes of each other (t-qa, t-qa-eu) never see each other's streams. */
bool xorb_stream_of_tenant(const char *stream, const char *tenant);

/* Writes a new backup id for time t (UTC) into out (>= XORB_BACKUP_ID_LEN+1). */
int xorb_backup_id_new(time_t t, char *out, size_t outlen, struct xorb_error *err);
/* true for a well-formed id; *t (may be NULL) receives its time. */
bool xorb_backup_id_parse(const char *id, time_t *t);

/* Stream names are path components in the archive and API subject tokens:
 * 1-255 bytes, no '.', '*', '>', '/', '\\', white space or control bytes. */
bool xorb_stream_name_valid(const char *name);

#endif

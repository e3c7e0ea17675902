/* The backup store's key layout: see xorb_layout.h. */
#include "xorb_layout.h"

#include <stdio.h>
#include <string.h>

static const char *const ext[] = {
	[XORB_KEY_SIDECAR] = ".json",
	[XORB_KEY_ARCHIVE] = ".tar.zst",
	[XORB_KEY_ARCHIVE_AGE] = ".tar.zst.age",
};

char *xorb_key_format(char out[XORB_KEY_MAX], const char *tenant, const char *id, enum xorb_key_kind kind)
{
	snprintf(out, XORB_KEY_MAX, "%.*s/%.*s%s", XORB_TENANT_MAX, tenant, XORB_BACKUP_ID_LEN, id, ext[kind]);
	return out;
}

bool xorb_key_parse(const char *key, struct xorb_backup_key *k)
{
	const char *slash = strchr(key, '/'), *name;
	size_t tlen, i;

	if (!slash || strchr(slash + 1, '/'))
		return false;
	tlen = (size_t)(slash - key);
	name = slash + 1;
	if (tlen > XORB_TENANT_MAX || strlen(name) <= XORB_BACKUP_ID_LEN)
		return false;
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (!strcmp(name + XORB_BACKUP_ID_LEN, ext[i]))
			break;
	if (i == sizeof(ext) / sizeof(ext[0]))
		return false;
	k->kind = (enum xorb_key_kind)i;
	memcpy(k->tenant, key, tlen);
	k->tenant[tlen] = '\0';
	memcpy(k->id, name, XORB_BACKUP_ID_LEN);
	k->id[XORB_BACKUP_ID_LEN] = '\0';
	return !xorb_tenant_check(k->tenant, NULL) && xorb_backup_id_parse(k->id, &k->time);
}

char *xorb_key_prefix(char out[XORB_TENANT_MAX + 2], const char *tenant)
{
	snprintf(out, XORB_TENANT_MAX + 2, "%.*s%s", XORB_TENANT_MAX, tenant ? tenant : "", tenant ? "/" : "");
	return out;
}

/*
 * The backup store's key layout, in one place: every key of a backup is
 * built and read here, nowhere else.
 *
 *   <tenant>/<backup-id>.json          the sidecar (written last: the backup
 *                                      is complete once it exists)
 *   <tenant>/<backup-id>.tar.zst       the archive
 *   <tenant>/<backup-id>.tar.zst.age   the archive of an encrypted backup
 *
 * <tenant> passes xorb_tenant_check and <backup-id> xorb_backup_id_parse;
 * any other key in a store is not a backup's and is ignored by every
 * command. Pure functions, no I/O.
 */
#ifndef XORB_LAYOUT_H
#define XORB_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "xorb_names.h"

enum xorb_key_kind {
	XORB_KEY_SIDECAR,
	XORB_KEY_ARCHIVE,     /* .tar.zst */
	XORB_KEY_ARCHIVE_AGE, /* .tar.zst.age */
};

/* Longest key, NUL included. */
#define XORB_KEY_MAX (XORB_TENANT_MAX + 1 + XORB_BACKUP_ID_LEN + sizeof(".tar.zst.age"))

/* One backup key, read. */
struct xorb_backup_key {
	char tenant[XORB_TENANT_MAX + 1];
	char id[XORB_BACKUP_ID_LEN + 1];
	enum xorb_key_kind kind;
	time_t time; /* of the id */
};

/* The key of tenant's backup id of that kind, into out (XORB_KEY_MAX
 * bytes); returns out. tenant and id are the caller's to have checked. */
char *xorb_key_format(char out[XORB_KEY_MAX], const char *tenant, const char *id, enum xorb_key_kind kind);

/* Reads key into *k. false (and *k unspecified) for a key that is not one
 * of a backup: another name, another depth, a bad tenant or id. */
bool xorb_key_parse(const char *key, struct xorb_backup_key *k);

/* The listing prefix of tenant's keys ("<tenant>/"), or "" for every
 * tenant (tenant NULL); returns out. */
char *xorb_key_prefix(char out[XORB_TENANT_MAX + 2], const char *tenant);

#endif

/*
 * nats-server versions: parsing, ordering, and what a version means for the
 * snapshot format.
 *
 * nats-server 2.15.0 replaced the snapshot's tar with the v2 "NATSARC1"
 * archive (PR #7882). Servers from 2.15.0 on still restore v1 (tar)
 * snapshots; older servers cannot read v2 snapshots at all. A backup records
 * the version of the server it was made on (manifest "server.version"), so a
 * restore can refuse a target that cannot read it before anything is
 * created.
 */
#ifndef XORB_VERSION_H
#define XORB_VERSION_H

#include "xorb_error.h"

/* MAJOR.MINOR[.PATCH][-PRERELEASE][+BUILD], an optional leading "v". */
struct xorb_version {
	unsigned major, minor, patch;
	char pre[64]; /* "" for a release; "dev", "RC.1", "beta.2" ... */
};

/* Parses s into *v. XORB_OK, or XORB_EINVAL naming s (err may be NULL). */
int xorb_version_parse(const char *s, struct xorb_version *v, struct xorb_error *err);

/* Semantic-version order: <0, 0, >0. A pre-release sorts before its release
 * (2.15.0-dev < 2.15.0); pre-release identifiers compare dot by dot, numbers
 * numerically and below words; build metadata is ignored. */
int xorb_version_cmp(const struct xorb_version *a, const struct xorb_version *b);

/* The same order on MAJOR.MINOR.PATCH only (pre-releases equal their release). */
int xorb_version_cmp_core(const struct xorb_version *a, unsigned major, unsigned minor,
			  unsigned patch);

/* The first nats-server version whose snapshots are v2 (NATSARC1) and which
 * restores them. Pre-releases of it (2.15.0-dev) count as it. */
#define XORB_SNAPSHOT_V2_MAJOR 2
#define XORB_SNAPSHOT_V2_MINOR 15
#define XORB_SNAPSHOT_V2_PATCH 0
#define XORB_SNAPSHOT_V2_SINCE "2.15.0"

/* 2 when a server of version v writes v2 (NATSARC1) snapshots, else 1. */
int xorb_version_snapshot_format(const struct xorb_version *v);

/*
 * Can a server of version target_version restore snapshots made by a server
 * of version backup_version? XORB_OK when it can, or when the backup's
 * version is unknown ("" or NULL: a backup made without one, no check
 * possible). XORB_EUNSUPPORTED when the backup's snapshots are v2 and the
 * target is older than 2.15.0, with a message naming both versions and what
 * to do; XORB_EINVAL when a version given cannot be parsed. what names the
 * backup in the message (e.g. "backup 2026...-3fa9c1 of tenant \"t-qa\"").
 */
int xorb_version_check_restore(const char *backup_version, const char *target_version,
			       const char *what, struct xorb_error *err);

#endif

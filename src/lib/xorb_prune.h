/*
 * Pruning the backup store: which backups a retention policy keeps, and
 * removing the others without ever leaving a backup that lists but cannot be
 * read.
 *
 * The policy has restic's `forget` semantics. Per tenant, backups are walked
 * newest to oldest (by the time in the id; ids of the same second by id, the
 * greater one newer, as xorb_bundle_catalog orders them). A backup is kept when
 * ANY rule keeps it:
 *   keep_last N      the N newest;
 *   keep_hourly N    for each rule, a backup is kept when its period (UTC hour,
 *   keep_daily N     day, ISO 8601 week starting on Monday, month) differs from
 *   keep_weekly N    the period of the backup that rule kept last, until the
 *   keep_monthly N   rule has kept N: the newest backup of each of the N most
 *                    recent periods that HAVE backups.
 * A rule of 0 is off. Unlike recent restic, a rule with counts left over does
 * not also keep the oldest backup. Whatever the policy, a tenant's newest
 * complete backup is never removed (reason "newest backup" when no rule
 * kept it).
 *
 * A backup is complete when its sidecar <tenant>/<id>.json exists. An archive
 * <tenant>/<id>.tar.zst without one is the leftover of a backup that failed,
 * or one still being written: it is removed when the archive OBJECT's mtime is
 * more than `grace` seconds before `now`. The mtime, not the id's time, because
 * a running upload's object is new while its id may be old (a long backup), and
 * an id's clock may be wrong; an object with an mtime in the future is kept.
 *
 * Removal deletes the sidecar first, then the archive: a removal cut short
 * leaves an archive without a sidecar (a leftover that a later prune removes),
 * never a sidecar without its archive.
 *
 * A backup killed while it wrote (SIGKILL, OOM, reboot) also leaves an
 * unfinished upload of its key in the store (an open S3 multipart upload, a
 * file store's hidden temporary file; see xorb_storage_abi.h), which lists
 * neither as a backup nor as a leftover. Those of backup keys are removed once
 * they were last written to more than `grace` seconds before `now`; younger
 * ones, and ones the store cannot date, may still be uploading and are kept.
 *
 * The store is used only through xorb_store.h, so this works on every backend.
 */
#ifndef XORB_PRUNE_H
#define XORB_PRUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "xorb_error.h"
#include "xorb_layout.h"
#include "xorb_names.h"
#include "xorb_store.h"

#define XORB_PRUNE_GRACE_DEFAULT (24 * 3600)
/* An archive is committed a moment before its sidecar is written: removing it
 * in that moment would leave a sidecar without an archive. */
#define XORB_PRUNE_GRACE_MIN (10 * 60)
#define XORB_PRUNE_GRACE_MAX (3650LL * 86400)
#define XORB_PRUNE_COUNT_MAX 1000000

#define XORB_PRUNE_REASONS 6
#define XORB_PRUNE_REASON_LEN 48
/* the longest backup key and its NUL */
#define XORB_PRUNE_KEY_LEN XORB_KEY_MAX

struct xorb_prune_policy {
	int keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly; /* 0: off */
	int64_t grace; /* seconds, XORB_PRUNE_GRACE_MIN..XORB_PRUNE_GRACE_MAX */
};

/* One backup, or the leftover archive of one. */
struct xorb_prune_item {
	/* What the store holds: xorb_prune_scan fills these (tests by hand). */
	char tenant[XORB_TENANT_MAX + 1];
	char id[XORB_BACKUP_ID_LEN + 1];
	time_t time;	       /* the id's time (UTC): orders and buckets backups */
	bool complete;	       /* the sidecar exists; false: an archive without one */
	bool has_archive;      /* the archive object was listed */
	uint64_t archive_size; /* when has_archive */
	int64_t archive_mtime; /* when has_archive; judged against the grace period */

	/* The decision: xorb_prune_plan fills these. */
	bool keep;
	size_t n_reasons; /* why it is kept, or why it goes */
	char reasons[XORB_PRUNE_REASONS][XORB_PRUNE_REASON_LEN];
};

/*
 * Decides every item, pure (no I/O, no clock): sorts items by tenant, then
 * newest first, and sets keep and reasons. Reasons, in this order:
 * "last 1/3", "hourly 2026-11-27T17", "daily 2026-11-27", "weekly 2026-W48",
 * "monthly 2026-11", "newest backup"; for a backup no rule keeps, why each
 * rule does not: "not among the last 3", "daily 2026-11-27 has a newer one",
 * "older than the 7 daily kept"; for a leftover archive
 * "incomplete, older than 24h" (removed) or
 * "incomplete, may still be uploading" (kept). now only judges leftovers.
 * Returns XORB_OK, or XORB_EINVAL for a policy out of range or an item whose
 * time cannot be broken down (nothing is decided then).
 */
int xorb_prune_plan(const struct xorb_prune_policy *p, time_t now, struct xorb_prune_item *items,
		    size_t n, struct xorb_error *err);

/*
 * Lists the backups and leftover archives of tenant (every tenant when NULL)
 * with one xorb_store_list call. Keys that are not <tenant>/<id>.json or
 * <tenant>/<id>.tar.zst with a valid tenant and id are ignored; sidecars are
 * not read. *items is a heap array owned by the caller (free()), NULL when
 * *n is 0. Items come undecided and unsorted: pass them to xorb_prune_plan.
 */
int xorb_prune_scan(struct xorb_store *s, const char *tenant, struct xorb_prune_item **items,
		    size_t *n, struct xorb_error *err);

/*
 * Removes one item: the sidecar (complete backups), then the archive. A key
 * that is already gone counts as removed. The caller removes only items the
 * plan did not keep. On failure err names the key and says what was left.
 */
int xorb_prune_remove(struct xorb_store *s, const struct xorb_prune_item *it,
		      struct xorb_error *err);

/* An unfinished upload of a backup key. */
struct xorb_prune_unfinished {
	/* What the store holds: xorb_prune_scan_unfinished fills these. */
	char tenant[XORB_TENANT_MAX + 1];
	char key[XORB_PRUNE_KEY_LEN]; /* a backup key (xorb_layout.h), as it would be committed */
	char *id;		      /* the store's id of it (owned; an S3 UploadId, a temp file name) */
	int64_t last_write;	      /* seconds since the epoch: last written to; 0: the store cannot tell */

	/* The decision: xorb_prune_plan_unfinished fills these. */
	bool keep;
	char reason[XORB_PRUNE_REASON_LEN]; /* "older than 24h", "may still be uploading" */
};

/*
 * Lists the unfinished uploads of backup keys (<tenant>/<id>.tar.zst or
 * <tenant>/<id>.json, valid tenant and id; nothing else is ever reported) of
 * tenant, or of every tenant when NULL. *ups is a heap array owned by the
 * caller (xorb_prune_unfinished_free), NULL when *n is 0. XORB_EUNSUPPORTED
 * when the store's plugin cannot report unfinished uploads (err says so):
 * the caller may go on without them.
 */
int xorb_prune_scan_unfinished(struct xorb_store *s, const char *tenant,
			       struct xorb_prune_unfinished **ups, size_t *n, struct xorb_error *err);

/*
 * Decides each one, pure: sorts by tenant, key, last write, and sets keep
 * and reason: removed when last written more than grace seconds before now
 * ("older than 24h"), else kept ("may still be uploading"; a time in the
 * future or unknown counts as young). XORB_EINVAL for a grace out of range.
 */
int xorb_prune_plan_unfinished(int64_t grace, time_t now, struct xorb_prune_unfinished *ups, size_t n,
			       struct xorb_error *err);

/* Removes one (whether or not a writer still uses it: the plan judged). One
 * that is already gone counts as removed. */
int xorb_prune_remove_unfinished(struct xorb_store *s, const struct xorb_prune_unfinished *u,
				 struct xorb_error *err);

/* Frees the array and the ids; NULL-safe. */
void xorb_prune_unfinished_free(struct xorb_prune_unfinished *ups, size_t n);

/* An exact form of secs into buf: days from 2d up ("7d"), else hours ("24h"),
 * minutes ("90m") or seconds ("45s"). */
const char *xorb_prune_duration_str(int64_t secs, char *buf, size_t len);

/* The reasons joined by ", " into buf (truncated to len); returns buf. */
const char *xorb_prune_reasons_join(const struct xorb_prune_item *it, char *buf, size_t len);

#endif

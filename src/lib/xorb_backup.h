/*
 * One backup run of one tenant: every selected stream's snapshot, the
 * account's JetStream info and the manifest into ONE archive in the store,
 * then the sidecar. Either the sidecar is written last and the backup
 * exists, or nothing visible is left behind.
 */
#ifndef XORB_BACKUP_H
#define XORB_BACKUP_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stdint.h>

#include "xorb_archive.h"
#include "xorb_error.h"
#include "xorb_layout.h"
#include "xorb_snapshot.h"
#include "xorb_store.h"

enum xorb_note_level { XORB_NOTE_INFO, XORB_NOTE_WARN, XORB_NOTE_DEBUG };

/* Progress and warnings for the tool layer to print (the library never
 * prints). stream may be NULL. */
typedef void (*xorb_note_fn)(void *arg, enum xorb_note_level lvl, const char *stream,
			     const char *msg);

/* Formats a note (up to 4 KiB) and hands it to fn; fn NULL: nothing. */
__attribute__((format(printf, 5, 6))) void xorb_notef(xorb_note_fn fn, void *arg,
						      enum xorb_note_level lvl,
						      const char *stream, const char *fmt, ...);

struct xorb_backup_opts {
	const char *tenant;
	const char *const *streams; /* NULL-terminated narrowing list, or NULL */
	bool no_consumers;
	struct xorb_snapshot_opts snap;
	struct xorb_aw_opts archive;
	int api_timeout_ms;
	xorb_note_fn note;
	void *note_arg;
	/* Called as snapshot bytes arrive; total is the stream's stored size
	 * (an estimate of the snapshot size). */
	void (*progress)(void *arg, const char *stream, uint64_t done, uint64_t total);
	const char *backup_id; /* use this id (from xorb_backup_id_new); NULL: a new one */
	/* account/state.json: the tenant's account as the server holds it
	 * (xorb_state_export_account), or NULL to leave it out */
	const char *account_state;
};

struct xorb_backup_result {
	char backup_id[32];
	char archive_key[XORB_KEY_MAX];
	unsigned streams, skipped;
	uint64_t messages, bytes;  /* stream state at snapshot time */
	uint64_t snapshot_bytes;   /* raw snapshot bytes received */
	uint64_t archive_bytes;
	double seconds;
	unsigned warnings;
};

/* XORB_OK (check result->warnings for exit code 1) or a failure. */
int xorb_backup_tenant(natsConnection *nc, struct xorb_store *store,
		       const struct xorb_backup_opts *o, struct xorb_backup_result *res,
		       struct xorb_error *err);

/* RFC 3339 UTC time text ("2026-11-27T17:05:08Z"). */
void xorb_time_rfc3339(time_t t, char out[32]);
double xorb_now(void); /* monotonic seconds */

#endif

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
#include "xorb_util.h" /* notes, time text: included here for the commands' sake */

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


#endif

/*
 * Verify and restore of a stored backup (library side).
 *
 * Verify reads the whole backup without NATS: sidecar and in-archive manifest
 * agree, every entry's size and SHA-256, each snapshot's S2 framing and CRCs,
 * no server error inside a snapshot.
 *
 * Restore streams the archive straight into the server's restore API: no
 * extraction to disk. A stream is committed (the server creates it) only once
 * all of its bytes passed their checks; nats-server 2.14+ build the stream as
 * the chunks arrive, so there the whole backup is verified before the first
 * byte is sent, and the stream carries a marker (config metadata
 * "xorb-dr.restore") until it is whole.
 *
 * Ownership: a failed run deletes only the streams it proves it created
 * (the creation time the server reported at commit, or its own marker), never
 * by name alone. When another restore or a client took a stream's name
 * meanwhile, the streams this run restored completely stay in place.
 *
 * Rerun: a target stream that already holds the backup's state (messages,
 * first/last sequence, the same durable consumers, the same config) is kept
 * (its consumers reconciled as after a restore); a partial stream marked by
 * a restore that is over (its data unchanged for 7 s) is deleted and
 * restored; any other existing stream is refused unless --replace.
 */
#ifndef XORB_RESTORE_H
#define XORB_RESTORE_H

#include <nats/nats.h>
#include <stdbool.h>

#include "xorb_backup.h"
#include "xorb_manifest.h"
#include "xorb_restore_proto.h"
#include "xorb_store.h"

struct xorb_verify_result {
	unsigned streams;
	uint64_t messages;
	uint64_t archive_bytes;
	double seconds;
};

/* Progress of a walk over an archive: the stream being read (NULL between
 * streams), archive bytes read so far and in all. */
typedef void (*xorb_progress_fn)(void *arg, const char *stream, uint64_t done, uint64_t total);

/* Reads the whole backup and checks everything a restore would. progress
 * (may be NULL) is called with note_arg as the archive is read. */
int xorb_verify_backup(struct xorb_store *store, const struct xorb_manifest *m, xorb_note_fn note,
		       void *note_arg, xorb_progress_fn progress, struct xorb_verify_result *res,
		       struct xorb_error *err);

struct xorb_restore_opts {
	const char *const *streams; /* NULL-terminated narrowing list, or NULL */
	bool replace;
	int replicas; /* 0: as saved */
	struct xorb_restorer_opts proto;
	int api_timeout_ms;
	int settle_timeout_ms; /* wait for the stream and consumers to be whole; 0: 60 s */
	/* the main connection's options: in a cluster every node is asked with
	 * them after the restore (xorb_nodecheck.h); NULL: only the node of nc */
	const struct xorb_conn_opts *conn;
	xorb_note_fn note;
	void *note_arg;
	/* Called as archive bytes are read; total is the archive's size. */
	xorb_progress_fn progress;
};

struct xorb_restore_result {
	unsigned streams;
	uint64_t messages, bytes;
	double seconds;
	unsigned rolled_back;	     /* streams this run created and deleted again */
	unsigned kept;		     /* already held the backup's state: kept */
	unsigned partials_replaced;  /* partial streams of an interrupted restore replaced */
	unsigned consumers_repaired; /* recreated to match the backup's record */
	unsigned consumer_warnings;  /* consumers that still differ (exit 1) */
	unsigned config_warnings;    /* streams whose config the target changed (exit 1) */
	unsigned node_warnings;	     /* cluster nodes that show other than the backup, or that
					could not be checked (down, offline replicas) (exit 1) */
};

int xorb_restore_backup(natsConnection *nc, struct xorb_store *store,
			const struct xorb_manifest *m, const struct xorb_restore_opts *o,
			struct xorb_restore_result *res, struct xorb_error *err);

/* The restore request for a stream: backup.json verbatim, or with
 * config.num_replicas replaced. Caller frees *out. */
int xorb_restore_request(const char *backup_json, size_t len, const char *stream, int replicas,
			 char **out, struct xorb_error *err);

#endif

/*
 * Reading a stored backup against its sidecar manifest, in one pass.
 *
 * The walker opens <tenant>/<id>.tar.zst, accepts only the entries the
 * sidecar lists (plus manifest.json), in the order format v1 writes them,
 * checks each entry's size before reading it and its SHA-256 after, joins a
 * snapshot's parts and checks the joined size and the digest of the parts'
 * digests, compares the
 * in-archive manifest with the sidecar, and finally the archive's own size
 * and SHA-256. Stream data is handed to the callbacks while it streams;
 * stream_end is called only once every byte of that stream has been checked,
 * so a consumer can "commit" there. Any failure after stream_end (a later
 * stream, the manifest, the archive checksum) is still reported: a restorer
 * must roll back what it committed.
 */
#ifndef XORB_BUNDLE_H
#define XORB_BUNDLE_H

#include "xorb_error.h"
#include "xorb_layout.h"
#include "xorb_manifest.h"
#include "xorb_store.h"

struct xorb_walk_cb {
	int (*stream_begin)(void *arg, const struct xorb_manifest_stream *ms,
			    const char *backup_json, size_t len, struct xorb_error *err);
	int (*stream_data)(void *arg, const struct xorb_manifest_stream *ms, const void *data,
			   size_t len, struct xorb_error *err);
	int (*stream_end)(void *arg, const struct xorb_manifest_stream *ms,
			  struct xorb_error *err);
	/* streams/<name>/consumers.json, when the backup has it (backups made
	 * before the record existed lack it): after stream_end. */
	int (*stream_record)(void *arg, const struct xorb_manifest_stream *ms,
			     const char *json, size_t len, struct xorb_error *err);
	/* Small entries other than stream ones (account/…, manifest.json). */
	int (*other)(void *arg, const char *path, const char *data, size_t len,
		     struct xorb_error *err);
	/* Bytes read from the store so far (progress). */
	void (*progress)(void *arg, uint64_t archive_bytes);
	void *arg;
	/* Set by a caller that has walked this archive against this sidecar
	 * earlier in the same run, without failure (xorb-restore's verifying
	 * first pass): the SHA-256 over the archive's compressed bytes is not
	 * computed again. What is read is still proven to be what that pass
	 * proved: every entry's size and SHA-256 against the sidecar, the
	 * joined snapshots' digests, manifest.json against the sidecar and the
	 * archive's size are all checked as on the first walk. */
	int archive_proven;
};

int xorb_bundle_walk(struct xorb_store *store, const struct xorb_manifest *sidecar,
		     const struct xorb_walk_cb *cb, struct xorb_error *err);

/* Finds the sidecar of id (NULL or "latest": the newest) of tenant, reads and
 * parses it, and checks that it describes its own location
 * (xorb_bundle_check_location). */
int xorb_bundle_load(struct xorb_store *store, const char *tenant, const char *id,
		     struct xorb_manifest **out, struct xorb_error *err);

/* The sidecar m, read from key "<tenant>/<id>.json", describes the backup of
 * that location: its tenant and id are those of the key and its archive is
 * "<tenant>/<id>.tar.zst" (not "../…", absolute, or another id). XORB_OK,
 * or XORB_ECORRUPT with a message naming key and what differs. */
int xorb_bundle_check_location(const struct xorb_manifest *m, const char *key, struct xorb_error *err);

/* Complete backups (those with a sidecar) of tenant, or of every tenant
 * when NULL, newest first (by id, then tenant): *v is an array of n
 * records, the caller's to free(). Keys that are not a backup's are
 * ignored (xorb_layout.h). */
int xorb_bundle_catalog(struct xorb_store *store, const char *tenant, struct xorb_backup_key **v,
			size_t *n, struct xorb_error *err);

/* The kind of m's archive key: XORB_KEY_ARCHIVE, or XORB_KEY_ARCHIVE_AGE
 * for an encrypted backup. */
enum xorb_key_kind xorb_archive_kind(const struct xorb_manifest *m);

struct xorb_age_identity;

/* An encrypted backup's sealed sidecar sc opened with ids (n of them,
 * borrowed: they must outlive *out): the full manifest (streams,
 * consumers, entries), checked to describe the same backup, with the
 * sidecar's archive member and open_ids set, ready for xorb_bundle_walk.
 * XORB_EAUTH when no identity is given or none opens it. */
int xorb_bundle_unseal(const struct xorb_manifest *sc, struct xorb_age_identity *const *ids, size_t n,
		       struct xorb_manifest **out, struct xorb_error *err);

/* Reads the stored archive of m and checks its size and SHA-256 against
 * the sidecar, without decoding it (what can be proven of an encrypted
 * backup without its identity; copy does the same while it copies). */
int xorb_bundle_check_stored(struct xorb_store *store, const struct xorb_manifest *m,
			     void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg,
			     struct xorb_error *err);

struct xorb_copy_opts {
	int dry_run; /* decide and report, copy nothing */
	/* Bytes of the archive copied so far, of total. */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *arg;
};

struct xorb_copy_result {
	char backup_id[32]; /* the id copied (resolves "latest") */
	int skipped;	    /* the destination has it already, identical */
	uint64_t bytes;	    /* archive bytes copied (dry run: would copy) */
};

/*
 * Copies backup id (NULL or "latest": the newest) of tenant from src to dst
 * for an off-site copy: the archive byte for byte under the same key, its
 * size and SHA-256 checked against the sidecar while it streams (a mismatch
 * aborts the upload: nothing damaged is copied), then the sidecar as it is,
 * last, so the copy exists only once complete. A backup whose sidecar dst
 * already holds, identical, is skipped; a different one there is an error
 * (XORB_EEXIST). Memory: one 1 MiB buffer plus what the stores use.
 */
int xorb_bundle_copy(struct xorb_store *src, struct xorb_store *dst, const char *tenant, const char *id,
		     const struct xorb_copy_opts *o, struct xorb_copy_result *res, struct xorb_error *err);

#endif

/*
 * The backup manifest: what a backup holds, written into the archive as
 * manifest.json (last entry) and again beside it as the sidecar
 * <tenant>/<backup-id>.json (last object of all: a backup exists only when its
 * sidecar exists). The sidecar adds the "archive" member (key, size, SHA-256
 * of the archive object), which the archive cannot hold about itself.
 */
#ifndef XORB_MANIFEST_H
#define XORB_MANIFEST_H

#include <stdint.h>

#include "xorb_archive.h"
#include "xorb_buf.h"
#include "xorb_error.h"

#define XORB_FORMAT_NAME "xorb-backup"
#define XORB_FORMAT_VERSION 1
#define XORB_MANIFEST_MAX (16u << 20) /* sidecar size cap */

struct xorb_manifest_stream {
	char *name;
	char *storage;	 /* "file" */
	int64_t messages, bytes, first_seq, last_seq, replicas;
	char **consumers; /* durable consumer names found in the snapshot */
	size_t n_consumers;
	struct xorb_blob_info snapshot; /* the joined stream.tar.s2 */
};

struct xorb_age_identity;

struct xorb_manifest_skip {
	char *name;
	char *reason;
};

struct xorb_manifest {
	int format_version;
	char *tool_version;
	char *tenant;
	char *backup_id;
	char *created;	 /* RFC 3339 UTC */
	char *completed; /* RFC 3339 UTC */
	char *server_version, *server_name, *cluster; /* "" when unknown */
	struct xorb_manifest_stream *streams;
	size_t n_streams;
	struct xorb_manifest_skip *skipped;
	size_t n_skipped;
	struct xorb_entry *entries;
	size_t n_entries;
	/* sidecar only */
	int has_archive;
	char *archive_key;
	uint64_t archive_size;
	char archive_sha256[XORB_SHA256_HEX];
	/*
	 * Encrypted backups (issue 15). The archive object is age-encrypted
	 * (<id>.tar.zst.age; archive_size and archive_sha256 are the
	 * ciphertext's). Its sidecar is "sealed": it keeps in plain text only
	 * what list, check, prune and copy need (format, tool version, tenant,
	 * id, times, server, the totals below, the recipients' public keys and
	 * the archive member), and the whole manifest (streams, consumers,
	 * entries and their digests) as sealed_manifest: the manifest's JSON
	 * age-encrypted to the same recipients, in base64. xorb_bundle_unseal
	 * opens it with an identity into the full manifest; streams, skipped
	 * and entries are empty in a sealed sidecar.
	 */
	int archive_encrypted;
	int sealed;
	char *sealed_manifest;
	char **recipients; /* "age1..." */
	size_t n_recipients;
	int64_t total_streams, total_messages, total_bytes;
	/* The identities that open the archive (borrowed; set by
	 * xorb_bundle_unseal on the full manifest it returns). */
	struct xorb_age_identity *const *open_ids;
	size_t n_open_ids;
};

#define XORB_SEALED_MANIFEST_MAX (12u << 20) /* base64 characters */

/* Serialises m; with_archive adds the sidecar's "archive" member. A sealed
 * m (m->sealed) is written in the sealed sidecar form. */
int xorb_manifest_to_json(const struct xorb_manifest *m, int with_archive, struct xorb_buf *out);
/* Strict parse: every required member present with its type; sizes capped.
 * what names the document in messages. */
int xorb_manifest_parse(const char *text, size_t len, const char *what,
			struct xorb_manifest **out, struct xorb_error *err);
void xorb_manifest_free(struct xorb_manifest *m); /* NULL-safe, frees members too */
/* Releases the members of an embedded manifest. */
void xorb_manifest_release(struct xorb_manifest *m);
const struct xorb_entry *xorb_manifest_entry(const struct xorb_manifest *m, const char *path);
const struct xorb_manifest_stream *xorb_manifest_stream(const struct xorb_manifest *m,
							const char *name);
/* 0 when a and b describe the same backup (the archive member aside). */
int xorb_manifest_compare(const struct xorb_manifest *a, const struct xorb_manifest *b,
			  char *why, size_t whylen);

#endif

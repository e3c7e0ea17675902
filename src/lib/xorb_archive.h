/*
 * Archive format v1 on the wire: a PAX tar compressed with zstd, written and
 * read in one streaming pass through libarchive.
 *
 * Writer: whole small entries (JSON documents) and "blobs" of unknown length
 * (snapshots). A tar header needs the entry size up front, so a blob is held
 * in a bounded part buffer: a blob that fits in one part becomes one entry
 * named exactly as asked (streams/S/stream.tar.s2); a larger one becomes
 * consecutive parts "<name>.000000", "<name>.000001", ... whose concatenation
 * is the blob. Every entry's size and SHA-256 are recorded for the manifest.
 *
 * Reader: regular-file entries only, with safe relative paths; computes each
 * entry's SHA-256 and the whole archive's size and SHA-256 as it reads.
 */
#ifndef XORB_ARCHIVE_H
#define XORB_ARCHIVE_H

#include <stdint.h>
#include <time.h>

#include "xorb_error.h"
#include "xorb_hash.h"
#include "xorb_store.h"

#define XORB_PART_SUFFIX_LEN 7 /* ".000000" */
#define XORB_ENTRY_PATH_MAX 1024

struct xorb_entry {
	char *path;
	uint64_t size;
	char sha256[XORB_SHA256_HEX];
};

struct xorb_blob_info {
	uint64_t size;
	unsigned parts; /* 0 when stored as one entry under its own name */
	/* parts == 0: the SHA-256 of the blob; parts > 0: the SHA-256 of the
	 * parts' lower-case hex digests concatenated in order */
	char sha256[XORB_SHA256_HEX];
};

struct xorb_aw_opts {
	/* 0: JSON entries at XORB_DEFAULT_ZSTD_LEVEL, snapshot entries (blobs)
	 * stored (zstd's fastest level, which keeps them as they are); else
	 * every entry at this level */
	int zstd_level;
	int zstd_threads; /* 0: single-threaded */
	size_t part_size; /* 0: XORB_DEFAULT_PART_SIZE */
	time_t mtime;	  /* entry modification time */
	/* age recipients (issue 15): when n_recipients > 0 the compressed
	 * stream is age-encrypted to them on its way to the store, and the
	 * archive's size and SHA-256 (xorb_aw_bytes_out, xorb_aw_sha256) are
	 * those of the ciphertext, the stored object */
	const struct xorb_age_recipient *recipients;
	size_t n_recipients;
};

#define XORB_DEFAULT_PART_SIZE (4u << 20)
/* The level of the entries that compress (the JSON documents, a few KiB
 * per stream). Snapshots are S2-compressed already: by default they are
 * stored, as zstd's level -3 saves 3.9% of 1M x 256 B messages' snapshot
 * for 1.3 CPU s/GiB more and nothing on large random payloads
 * (bench/PROFILE.md); --zstd-level compresses them too. */
#define XORB_DEFAULT_ZSTD_LEVEL 3

struct xorb_aw;
struct xorb_age_recipient;
struct xorb_age_identity;

/* The writer sends the compressed bytes to w; w stays owned by the caller,
 * who commits or aborts it after xorb_aw_finish. */
int xorb_aw_new(struct xorb_aw **out, struct xorb_store_writer *w, const struct xorb_aw_opts *o,
		struct xorb_error *err);
int xorb_aw_add(struct xorb_aw *a, const char *path, const void *data, size_t len,
		struct xorb_error *err);
int xorb_aw_blob_begin(struct xorb_aw *a, const char *path, struct xorb_error *err);
int xorb_aw_blob_write(struct xorb_aw *a, const void *data, size_t len, struct xorb_error *err);
int xorb_aw_blob_end(struct xorb_aw *a, struct xorb_blob_info *info, struct xorb_error *err);
/* Writes the tar end and flushes the compressor. */
int xorb_aw_finish(struct xorb_aw *a, struct xorb_error *err);
/* Entries are written by a worker thread: wait until all queued ones are
 * done. The entry list below is complete only after sync or finish. */
int xorb_aw_sync(struct xorb_aw *a, struct xorb_error *err);
size_t xorb_aw_entry_count(const struct xorb_aw *a);
const struct xorb_entry *xorb_aw_entry(const struct xorb_aw *a, size_t i); /* owned by a */
uint64_t xorb_aw_bytes_out(const struct xorb_aw *a);
const char *xorb_aw_sha256(const struct xorb_aw *a); /* valid after finish */
void xorb_aw_free(struct xorb_aw *a);

struct xorb_ar;

/* r stays owned by the caller and must outlive the reader. */
int xorb_ar_open(struct xorb_ar **out, struct xorb_store_reader *r, const char *name,
		 struct xorb_error *err);
/* The same over any byte source: read fills up to len bytes, *got == 0 at
 * the end (fuzzing, tests). */
typedef int (*xorb_ar_read_fn)(void *arg, void *buf, size_t len, size_t *got,
			       struct xorb_error *err);
int xorb_ar_open_cb(struct xorb_ar **out, xorb_ar_read_fn read, void *arg, const char *name,
		    struct xorb_error *err);
/* An age-encrypted archive (issue 15): the store object is decrypted with
 * ids (n >= 1, borrowed until xorb_ar_free) on the reader's own thread. The
 * age header is read and the file key unwrapped here, so a wrong identity,
 * a tampered header or a file that is not age fail before any entry is
 * read. xorb_ar_bytes_in and xorb_ar_sha256 are of the ciphertext, after
 * xorb_ar_finish. Only authenticated plaintext reaches the tar reader; a
 * tampered or truncated payload fails the read where it is found. */
int xorb_ar_open_age(struct xorb_ar **out, struct xorb_store_reader *r, const char *name,
		     struct xorb_age_identity *const *ids, size_t n, struct xorb_error *err);
/* XORB_OK with *path (owned by the reader, valid until the next call) and
 * *size; XORB_ENOTFOUND at the end of the archive; another code on damage. */
int xorb_ar_next(struct xorb_ar *a, const char **path, uint64_t *size, struct xorb_error *err);
/* Data of the current entry; *got == 0 at its end. */
int xorb_ar_read(struct xorb_ar *a, const void **data, size_t *got, struct xorb_error *err);
/* Reads the current entry to its end and gives its SHA-256. */
int xorb_ar_entry_done(struct xorb_ar *a, char sha256[XORB_SHA256_HEX], struct xorb_error *err);
/* After xorb_ar_next returned XORB_ENOTFOUND: reads the store object to its
 * end (a well-formed archive has nothing after the compressed stream). */
int xorb_ar_finish(struct xorb_ar *a, struct xorb_error *err);
uint64_t xorb_ar_bytes_in(const struct xorb_ar *a);
const char *xorb_ar_sha256(const struct xorb_ar *a); /* valid after finish; "" when skipped */
/* Leaves out the SHA-256 over the store object's bytes (the entries' own
 * digests are still computed). Call right after open: for a second read of
 * an archive whose digest an earlier read of this run has already proven
 * (xorb_walk_cb.archive_proven). */
void xorb_ar_skip_archive_digest(struct xorb_ar *a);
void xorb_ar_free(struct xorb_ar *a);

void xorb_entries_free(struct xorb_entry *e, size_t n);

#endif

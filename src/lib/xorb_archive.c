/* Archive format v1 writer and reader: see xorb_archive.h. */
#include "xorb_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <pthread.h>
#include <zstd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xorb_age.h"
#include "xorb_buf.h"

/*
 * The writer runs libarchive, the compressor, the checksums and the store
 * writes on a worker thread, so that the caller's thread (receiving the
 * snapshot from NATS and checking it) never waits for them. The entries'
 * SHA-256 is computed on the caller's thread, as the bytes are copied into
 * the part buffer, and the archive's on the worker: each thread hashes
 * about half of what passes through (the two digests used to run one after
 * the other on the worker, which then fell behind the server).
 *
 * libarchive writes the bare tar; this file compresses it with libzstd, so
 * that each entry gets the level that pays for it (xorb_aw_opts): the
 * compressed stream is one zstd frame per run of entries of the same
 * level, and a new frame starts where the level changes (zstd readers,
 * libarchive's included, read concatenated frames as one stream). Jobs pass through
 * a queue of at most QUEUE_MAX entries; blob parts travel in a pool of
 * POOL_PARTS buffers, so memory stays bounded by POOL_PARTS x part size.
 */
#define QUEUE_MAX 2
#define POOL_PARTS 3

enum job_kind { JOB_ENTRY, JOB_FINISH };

struct aw_job {
	enum job_kind kind;
	char *path;
	unsigned char *data;
	size_t len;
	int pooled;  /* data is a part buffer to give back to the pool */
	int blob_last;
	char sha[XORB_SHA256_HEX]; /* of data, computed by the caller */
	struct aw_job *next;
};

struct xorb_aw {
	struct archive *ar;
	ZSTD_CCtx *zc;
	unsigned char *zbuf; /* compressed output, ZSTD_CStreamOutSize() */
	size_t zbuf_size;
	int level_json, level_blob; /* what each kind of entry gets */
	int level_want, level_frame; /* the next bytes' level; the open frame's */
	int frame_open;
	struct xorb_store_writer *w;
	struct xorb_age_enc *enc; /* age encryption of the output, or NULL */
	struct xorb_sha256 *out_hash;		 /* worker */
	struct xorb_sha256 *entry_hash, *add_hash, *blob_hash; /* caller: blob parts, whole entries, parts' digests */
	uint64_t out_bytes;
	char out_sha[XORB_SHA256_HEX];
	time_t mtime;
	int discard; /* freeing an unfinished archive: drop its tail */

	/* shared with the worker, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t worker;
	int worker_started;
	struct aw_job *head, *tail;
	size_t queued;
	int busy;		/* the worker holds a job */
	int stop;
	struct xorb_error werr; /* sticky failure of the worker */
	struct xorb_entry *entries;
	size_t n_entries, cap_entries;
	unsigned char *pool[POOL_PARTS];
	size_t pool_free, pool_allocated;
	int finished;

	/* caller side: the blob being filled */
	char *blob_path;
	unsigned char *part;
	size_t part_size, part_len;
	unsigned parts_written;
	uint64_t blob_size;
};

static int ar_fail(struct archive *ar, struct xorb_error *err, const struct xorb_error *werr,
		   const char *what)
{
	if (werr && werr->code)
		return xorb_error_set(err, werr->code, "%s", werr->msg);
	return xorb_error_set(err, XORB_EIO, "%s: %s", what,
			      archive_error_string(ar) ? archive_error_string(ar) : "libarchive failed");
}

/* Runs on the worker: bytes of the stored object (compressed, or the
 * ciphertext of an encrypted archive) to the store, hashed and counted. */
static int put_stored(void *arg, const void *buf, size_t len, struct xorb_error *err)
{
	struct xorb_aw *a = arg;
	int rc;

	if (!len)
		return XORB_OK;
	rc = xorb_store_put_write(a->w, buf, len, err);
	if (rc)
		return rc;
	xorb_sha256_update(a->out_hash, buf, len);
	a->out_bytes += len;
	return XORB_OK;
}

/* Runs on the worker: sends compressed bytes on, through the encryptor
 * when there is one. */
static int put_out(struct xorb_aw *a, const void *buf, size_t len)
{
	struct xorb_error e = { 0, "" };
	int rc;

	if (!len)
		return 0;
	rc = a->enc ? xorb_age_enc_write(a->enc, buf, len, &e) : put_stored(a, buf, len, &e);
	if (rc) {
		pthread_mutex_lock(&a->mu);
		if (!a->werr.code)
			a->werr = e;
		pthread_mutex_unlock(&a->mu);
		return -1;
	}
	return 0;
}

static int zstd_fail(struct xorb_aw *a, size_t r)
{
	pthread_mutex_lock(&a->mu);
	if (!a->werr.code)
		xorb_error_set(&a->werr, XORB_EIO, "zstd: %s", ZSTD_getErrorName(r));
	pthread_mutex_unlock(&a->mu);
	return -1;
}

/* Compresses len tar bytes (mode ZSTD_e_continue), or ends the open frame
 * (ZSTD_e_end, len 0), sending what comes out. */
static int zstd_run(struct xorb_aw *a, const void *buf, size_t len, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { buf, len, 0 };
	size_t left;

	do {
		ZSTD_outBuffer out = { a->zbuf, a->zbuf_size, 0 };

		left = ZSTD_compressStream2(a->zc, &out, &in, mode);
		if (ZSTD_isError(left))
			return zstd_fail(a, left);
		if (put_out(a, a->zbuf, out.pos))
			return -1;
	} while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
	return 0;
}

/* Runs on the worker (and during free): compresses the tar bytes at the
 * level of the entry they belong to. */
static la_ssize_t aw_write_cb(struct archive *ar, void *arg, const void *buf, size_t len)
{
	struct xorb_aw *a = arg;
	size_t r;

	(void)ar;
	if (a->discard)
		return (la_ssize_t)len;
	if (a->frame_open && a->level_frame != a->level_want) {
		if (zstd_run(a, NULL, 0, ZSTD_e_end))
			return -1;
		a->frame_open = 0;
	}
	if (!a->frame_open) {
		r = ZSTD_CCtx_setParameter(a->zc, ZSTD_c_compressionLevel, a->level_want);
		if (ZSTD_isError(r))
			return zstd_fail(a, r);
		a->level_frame = a->level_want;
		a->frame_open = 1;
	}
	if (zstd_run(a, buf, len, ZSTD_e_continue))
		return -1;
	return (la_ssize_t)len;
}

static void set_werr(struct xorb_aw *a, const struct xorb_error *e)
{
	pthread_mutex_lock(&a->mu);
	if (!a->werr.code)
		a->werr = *e;
	pthread_mutex_unlock(&a->mu);
}

static int add_entry_record(struct xorb_aw *a, const char *path, uint64_t size, const char *sha,
			    struct xorb_error *err)
{
	struct xorb_entry *e;
	int rc = XORB_OK;

	pthread_mutex_lock(&a->mu);
	if (a->n_entries == a->cap_entries) {
		size_t cap = a->cap_entries ? a->cap_entries * 2 : 32;
		struct xorb_entry *ne = realloc(a->entries, cap * sizeof(*ne));

		if (!ne) {
			rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
			goto out;
		}
		a->entries = ne;
		a->cap_entries = cap;
	}
	e = &a->entries[a->n_entries];
	e->path = strdup(path);
	if (!e->path) {
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
		goto out;
	}
	e->size = size;
	memcpy(e->sha256, sha, XORB_SHA256_HEX);
	a->n_entries++;
out:
	pthread_mutex_unlock(&a->mu);
	return rc;
}

/* Worker: writes one entry. */
static int write_entry(struct xorb_aw *a, struct aw_job *j, struct xorb_error *err)
{
	struct archive_entry *e = archive_entry_new();
	int rc = XORB_OK;

	if (!e)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	/* the previous entry's padding still goes with its own frame's level:
	 * libarchive writes it before this header */
	a->level_want = j->pooled ? a->level_blob : a->level_json;
	archive_entry_set_pathname(e, j->path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_size(e, (la_int64_t)j->len);
	archive_entry_set_mtime(e, a->mtime, 0);
	if (archive_write_header(a->ar, e) != ARCHIVE_OK)
		rc = ar_fail(a->ar, err, NULL, "cannot write an archive header");
	else if (j->len && archive_write_data(a->ar, j->data, j->len) != (la_ssize_t)j->len)
		rc = ar_fail(a->ar, err, NULL, "cannot write archive data");
	else if (archive_write_finish_entry(a->ar) != ARCHIVE_OK)
		rc = ar_fail(a->ar, err, NULL, "cannot finish an archive entry");
	archive_entry_free(e);
	if (rc)
		return xorb_error_prefix(err, "archive entry \"%s\": ", j->path);
	return add_entry_record(a, j->path, j->len, j->sha, err);
}

static void job_free(struct xorb_aw *a, struct aw_job *j)
{
	if (j->pooled) {
		pthread_mutex_lock(&a->mu);
		a->pool[a->pool_free++] = j->data;
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
	} else {
		free(j->data);
	}
	free(j->path);
	free(j);
}

static void *worker_main(void *arg)
{
	struct xorb_aw *a = arg;

	for (;;) {
		struct xorb_error e = { 0, "" };
		struct aw_job *j;
		int failed;

		pthread_mutex_lock(&a->mu);
		while (!a->head && !a->stop)
			pthread_cond_wait(&a->cv, &a->mu);
		if (!a->head) {
			pthread_mutex_unlock(&a->mu);
			return NULL;
		}
		j = a->head;
		a->head = j->next;
		if (!a->head)
			a->tail = NULL;
		a->queued--;
		a->busy = 1;
		failed = a->werr.code != 0;
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);

		if (!failed) {
			if (j->kind == JOB_ENTRY) {
				if (write_entry(a, j, &e))
					set_werr(a, &e);
			} else if (archive_write_close(a->ar) != ARCHIVE_OK ||
				   (a->frame_open && zstd_run(a, NULL, 0, ZSTD_e_end))) {
				ar_fail(a->ar, &e, &a->werr, "cannot complete the archive");
				set_werr(a, &e);
			} else if (a->enc && xorb_age_enc_finish(a->enc, &e)) {
				set_werr(a, &e);
			} else {
				xorb_sha256_final_hex(a->out_hash, a->out_sha);
				a->finished = 1;
			}
		}
		job_free(a, j);
		pthread_mutex_lock(&a->mu);
		a->busy = 0;
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
	}
}

/* Caller: queues a job (taking ownership of it), waiting for room. */
static int enqueue(struct xorb_aw *a, struct aw_job *j, struct xorb_error *err)
{
	int rc = XORB_OK;

	pthread_mutex_lock(&a->mu);
	while (a->queued >= QUEUE_MAX && !a->werr.code)
		pthread_cond_wait(&a->cv, &a->mu);
	if (a->werr.code) {
		rc = xorb_error_set(err, a->werr.code, "%s", a->werr.msg);
		pthread_mutex_unlock(&a->mu);
		job_free(a, j);
		return rc;
	}
	j->next = NULL;
	if (a->tail)
		a->tail->next = j;
	else
		a->head = j;
	a->tail = j;
	a->queued++;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

/* Caller: waits until the worker has done everything queued. */
static int drain(struct xorb_aw *a, struct xorb_error *err)
{
	int rc = XORB_OK;

	pthread_mutex_lock(&a->mu);
	while ((a->queued || a->busy) && a->worker_started)
		pthread_cond_wait(&a->cv, &a->mu);
	if (a->werr.code)
		rc = xorb_error_set(err, a->werr.code, "%s", a->werr.msg);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

int xorb_aw_new(struct xorb_aw **out, struct xorb_store_writer *w, const struct xorb_aw_opts *o,
		struct xorb_error *err)
{
	struct xorb_aw *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (!a)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	a->w = w;
	a->mtime = o && o->mtime ? o->mtime : time(NULL);
	a->part_size = o && o->part_size ? o->part_size : XORB_DEFAULT_PART_SIZE;
	a->out_hash = xorb_sha256_new();
	a->entry_hash = xorb_sha256_new();
	a->add_hash = xorb_sha256_new();
	a->blob_hash = xorb_sha256_new();
	a->ar = archive_write_new();
	a->zc = ZSTD_createCCtx();
	a->zbuf_size = ZSTD_CStreamOutSize();
	a->zbuf = malloc(a->zbuf_size);
	if (!a->out_hash || !a->entry_hash || !a->add_hash || !a->blob_hash || !a->ar || !a->zc ||
	    !a->zbuf) {
		xorb_aw_free(a);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	if (o && o->n_recipients &&
	    xorb_age_enc_new(&a->enc, o->recipients, o->n_recipients, put_stored, a, err)) {
		int rc = err ? err->code : XORB_EINVAL;

		xorb_aw_free(a);
		return rc;
	}
	if (o && o->zstd_level) {
		a->level_json = a->level_blob = o->zstd_level;
	} else {
		a->level_json = XORB_DEFAULT_ZSTD_LEVEL;
		a->level_blob = ZSTD_minCLevel();
	}
	a->level_want = a->level_json;
	if (o && o->zstd_threads > 0)
		ZSTD_CCtx_setParameter(a->zc, ZSTD_c_nbWorkers, o->zstd_threads); /* fails quietly without MT support */
	/* bytes per block 0: every write goes straight to aw_write_cb, so each
	 * byte is compressed at its own entry's level; the tar is not padded
	 * to a block (as before, with a last block of 1 byte) */
	if (archive_write_set_format_pax_restricted(a->ar) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a->ar, 0) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a->ar, 1) != ARCHIVE_OK) {
		int rc = ar_fail(a->ar, err, NULL, "cannot set up the archive writer");

		xorb_aw_free(a);
		return rc;
	}
	if (archive_write_open2(a->ar, a, NULL, aw_write_cb, NULL, NULL) != ARCHIVE_OK) {
		int rc = ar_fail(a->ar, err, &a->werr, "cannot start the archive");

		xorb_aw_free(a);
		return rc;
	}
	if (pthread_create(&a->worker, NULL, worker_main, a)) {
		xorb_aw_free(a);
		return xorb_error_set(err, XORB_ENOMEM, "cannot start the archive writer thread");
	}
	a->worker_started = 1;
	*out = a;
	return XORB_OK;
}

static struct aw_job *job_new(const char *path, struct xorb_error *err)
{
	struct aw_job *j = calloc(1, sizeof(*j));

	if (j && !(j->path = strdup(path))) {
		free(j);
		j = NULL;
	}
	if (!j)
		xorb_error_set(err, XORB_ENOMEM, "out of memory");
	return j;
}

int xorb_aw_add(struct xorb_aw *a, const char *path, const void *data, size_t len,
		struct xorb_error *err)
{
	struct aw_job *j;

	if (strlen(path) >= XORB_ENTRY_PATH_MAX)
		return xorb_error_set(err, XORB_EINVAL, "archive path \"%s\" is too long", path);
	j = job_new(path, err);
	if (!j)
		return XORB_ENOMEM;
	j->data = malloc(len ? len : 1);
	if (!j->data) {
		job_free(a, j);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	memcpy(j->data, data, len);
	j->len = len;
	xorb_sha256_update(a->add_hash, data, len);
	xorb_sha256_final_hex(a->add_hash, j->sha);
	return enqueue(a, j, err);
}

/* Caller: takes a free part buffer from the pool (allocating up to
 * POOL_PARTS of them), waiting for one the worker gives back. */
static int take_part(struct xorb_aw *a, struct xorb_error *err)
{
	int rc = XORB_OK;

	pthread_mutex_lock(&a->mu);
	while (!a->pool_free && a->pool_allocated == POOL_PARTS && !a->werr.code)
		pthread_cond_wait(&a->cv, &a->mu);
	if (a->werr.code) {
		rc = xorb_error_set(err, a->werr.code, "%s", a->werr.msg);
	} else if (a->pool_free) {
		a->part = a->pool[--a->pool_free];
	} else {
		a->part = malloc(a->part_size);
		if (a->part)
			a->pool_allocated++;
		else
			rc = xorb_error_set(err, XORB_ENOMEM, "out of memory for a %zu-byte part buffer",
					    a->part_size);
	}
	pthread_mutex_unlock(&a->mu);
	return rc;
}

int xorb_aw_blob_begin(struct xorb_aw *a, const char *path, struct xorb_error *err)
{
	if (a->blob_path)
		return xorb_error_set(err, XORB_EINVAL, "a blob is already open");
	if (strlen(path) + XORB_PART_SUFFIX_LEN >= XORB_ENTRY_PATH_MAX)
		return xorb_error_set(err, XORB_EINVAL, "archive path \"%s\" is too long", path);
	a->blob_path = strdup(path);
	if (!a->blob_path)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	a->part_len = 0;
	a->parts_written = 0;
	a->blob_size = 0;
	return a->part ? XORB_OK : take_part(a, err);
}

static int flush_part(struct xorb_aw *a, int named_part, int last, struct xorb_error *err)
{
	char path[XORB_ENTRY_PATH_MAX + 16];
	struct aw_job *j;

	if (a->parts_written >= 999999)
		return xorb_error_set(err, XORB_EINVAL, "blob \"%s\" has too many parts", a->blob_path);
	if (named_part)
		snprintf(path, sizeof(path), "%s.%06u", a->blob_path, a->parts_written);
	else
		snprintf(path, sizeof(path), "%s", a->blob_path);
	j = job_new(path, err);
	if (!j)
		return XORB_ENOMEM;
	j->data = a->part;
	j->len = a->part_len;
	xorb_sha256_final_hex(a->entry_hash, j->sha); /* blob_write hashed the part */
	j->pooled = 1;
	j->blob_last = last;
	a->part = NULL;
	a->part_len = 0;
	a->parts_written++;
	return enqueue(a, j, err);
}

int xorb_aw_blob_write(struct xorb_aw *a, const void *data, size_t len, struct xorb_error *err)
{
	const unsigned char *p = data;
	int rc;

	a->blob_size += len;
	while (len) {
		size_t n;

		if (a->part_len == a->part_size) {
			rc = flush_part(a, 1, 0, err);
			if (!rc)
				rc = take_part(a, err);
			if (rc)
				return rc;
		}
		n = a->part_size - a->part_len;
		if (n > len)
			n = len;
		memcpy(a->part + a->part_len, p, n);
		xorb_sha256_update(a->entry_hash, p, n);
		a->part_len += n;
		p += n;
		len -= n;
	}
	return XORB_OK;
}

int xorb_aw_blob_end(struct xorb_aw *a, struct xorb_blob_info *info, struct xorb_error *err)
{
	/* One entry under its own name when nothing was flushed yet. */
	int rc = flush_part(a, a->parts_written > 0, 1, err);

	if (!rc)
		rc = drain(a, err);
	if (!rc)
		rc = take_part(a, err); /* keep one buffer ready for the next blob */
	if (rc)
		return rc;
	info->size = a->blob_size;
	info->parts = a->parts_written > 1 ? a->parts_written : 0;
	/* One entry: its digest. Parts: the digest of the parts' hex digests in
	 * order (like S3's multipart ETag), so the data is hashed once, not
	 * twice; each part's own digest is in the entry list. */
	if (!info->parts) {
		memcpy(info->sha256, a->entries[a->n_entries - 1].sha256, XORB_SHA256_HEX);
	} else {
		size_t i;

		for (i = a->n_entries - info->parts; i < a->n_entries; i++)
			xorb_sha256_update(a->blob_hash, a->entries[i].sha256, XORB_SHA256_HEX - 1);
		xorb_sha256_final_hex(a->blob_hash, info->sha256);
	}
	free(a->blob_path);
	a->blob_path = NULL;
	return XORB_OK;
}

int xorb_aw_finish(struct xorb_aw *a, struct xorb_error *err)
{
	struct aw_job *j = calloc(1, sizeof(*j));
	int rc;

	if (!j)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	j->kind = JOB_FINISH;
	rc = enqueue(a, j, err);
	if (!rc)
		rc = drain(a, err);
	if (!rc && !a->finished)
		rc = xorb_error_set(err, XORB_EIO, "the archive was not completed");
	return rc;
}

int xorb_aw_sync(struct xorb_aw *a, struct xorb_error *err)
{
	return drain(a, err);
}

size_t xorb_aw_entry_count(const struct xorb_aw *a)
{
	return a->n_entries;
}

const struct xorb_entry *xorb_aw_entry(const struct xorb_aw *a, size_t i)
{
	return i < a->n_entries ? &a->entries[i] : NULL;
}

uint64_t xorb_aw_bytes_out(const struct xorb_aw *a)
{
	return a->out_bytes;
}

const char *xorb_aw_sha256(const struct xorb_aw *a)
{
	return a->out_sha;
}

void xorb_entries_free(struct xorb_entry *e, size_t n)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < n; i++)
		free(e[i].path);
	free(e);
}

void xorb_aw_free(struct xorb_aw *a)
{
	struct aw_job *j;
	size_t i;

	if (!a)
		return;
	if (a->worker_started) {
		pthread_mutex_lock(&a->mu);
		a->stop = 1;
		if (!a->werr.code)
			a->werr.code = XORB_EINVAL; /* drop whatever is still queued */
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->worker, NULL);
	}
	while ((j = a->head)) {
		a->head = j->next;
		job_free(a, j);
	}
	a->discard = !a->finished;
	if (a->ar)
		archive_write_free(a->ar); /* closes if still open */
	xorb_age_enc_free(a->enc);
	xorb_sha256_free(a->out_hash);
	xorb_sha256_free(a->entry_hash);
	xorb_sha256_free(a->add_hash);
	xorb_sha256_free(a->blob_hash);
	ZSTD_freeCCtx(a->zc);
	free(a->zbuf);
	xorb_entries_free(a->entries, a->n_entries);
	for (i = 0; i < a->pool_free; i++)
		free(a->pool[i]);
	free(a->part);
	free(a->blob_path);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

/* ---- reader ---- */

/*
 * Reading beside decoding: a thread of the reader's own reads the store
 * object into AR_SLOTS buffers of AR_BUF bytes ahead of libarchive and runs
 * the archive's SHA-256 over them, while the caller's thread decompresses,
 * parses the tar, hashes the entries, checks S2 and sends (issue 13, point
 * 4). The bytes reach libarchive in the same order as before, so every
 * check is the same; only the store reads and the archive digest leave the
 * caller's thread. Memory: AR_SLOTS MiB, fixed.
 */
#define AR_BUF (1u << 20)
#define AR_SLOTS 3

struct xorb_ar {
	struct archive *ar;
	xorb_ar_read_fn read;
	void *read_arg;
	struct xorb_error rerr; /* failure inside the read callback */
	struct xorb_sha256 *in_hash, *entry_hash;
	uint64_t in_bytes;      /* handed to libarchive (or drained by finish) */
	char in_sha[XORB_SHA256_HEX];
	char *name;
	char path[XORB_ENTRY_PATH_MAX];
	uint64_t entry_size, entry_read;
	int entry_open, at_end;
	/* the read-ahead thread and its ring; under mu */
	pthread_t th;
	int th_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned char *slot[AR_SLOTS];
	size_t slot_len[AR_SLOTS];
	uint64_t filled, released; /* slots filled by the thread / given back by the caller */
	int held;                  /* the caller holds slot released % AR_SLOTS */
	int done, failed, stop;    /* the thread met the end / a read error / was asked to stop */
	int no_archive_digest;
	/* an age-encrypted object: read (the thread's source) is the
	 * decryptor, which pulls the ciphertext through cipher_read from
	 * src_read; the archive digest and size are of the ciphertext */
	struct xorb_age_dec *dec;
	xorb_ar_read_fn src_read;
	void *src_arg;
	uint64_t cipher_bytes; /* reader thread (and the caller before it starts) */
	int hash_cipher;       /* reader thread: hash what cipher_read reads */
};

static void *ar_reader_thread(void *arg)
{
	struct xorb_ar *a = arg;

	for (;;) {
		unsigned char *buf;
		size_t got = 0;
		int rc, skip;

		pthread_mutex_lock(&a->mu);
		while (!a->stop && a->filled - a->released >= AR_SLOTS)
			pthread_cond_wait(&a->cv, &a->mu);
		if (a->stop) {
			pthread_mutex_unlock(&a->mu);
			return NULL;
		}
		buf = a->slot[a->filled % AR_SLOTS];
		skip = a->no_archive_digest;
		pthread_mutex_unlock(&a->mu);

		a->hash_cipher = !skip;
		rc = a->read(a->read_arg, buf, AR_BUF, &got, &a->rerr);
		if (!rc && got && !skip && !a->dec)
			xorb_sha256_update(a->in_hash, buf, got);

		if (rc && a->dec && xorb_age_dec_fail(a->dec) != XORB_AGE_FAIL_READ)
			xorb_error_prefix(&a->rerr, "archive \"%s\": ", a->name);
		pthread_mutex_lock(&a->mu);
		if (rc) {
			a->failed = 1;
			a->done = 1;
		} else if (!got) {
			a->done = 1;
		} else {
			a->slot_len[a->filled % AR_SLOTS] = got;
			a->filled++;
		}
		pthread_cond_broadcast(&a->cv);
		rc = a->done;
		pthread_mutex_unlock(&a->mu);
		if (rc)
			return NULL;
	}
}

/* The next buffer of the object, in order: 1 with *buf and *len (valid until
 * the next call), 0 at its end, -1 after a read error (a->rerr). */
static int ar_take(struct xorb_ar *a, const unsigned char **buf, size_t *len)
{
	int r;

	pthread_mutex_lock(&a->mu);
	if (a->held) {
		a->released++;
		a->held = 0;
		pthread_cond_broadcast(&a->cv);
	}
	while (a->filled == a->released && !a->done)
		pthread_cond_wait(&a->cv, &a->mu);
	if (a->filled > a->released) {
		*buf = a->slot[a->released % AR_SLOTS];
		*len = a->slot_len[a->released % AR_SLOTS];
		a->held = 1;
		r = 1;
	} else {
		r = a->failed ? -1 : 0;
	}
	pthread_mutex_unlock(&a->mu);
	if (r == 1)
		a->in_bytes += *len;
	return r;
}

static la_ssize_t ar_read_cb(struct archive *ar, void *arg, const void **out)
{
	struct xorb_ar *a = arg;
	const unsigned char *buf = NULL;
	size_t len = 0;
	int r = ar_take(a, &buf, &len);

	(void)ar;
	if (r < 0)
		return -1;
	*out = buf;
	return r ? (la_ssize_t)len : 0;
}

/* Stops the read-ahead thread and waits for it (it finishes a read that is
 * under way first). */
static void ar_stop_thread(struct xorb_ar *a)
{
	if (!a->th_started)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = 1;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->th, NULL);
	a->th_started = 0;
}

static int store_read(void *arg, void *buf, size_t len, size_t *got, struct xorb_error *err)
{
	return xorb_store_get_read(arg, buf, len, got, err);
}

int xorb_ar_open(struct xorb_ar **out, struct xorb_store_reader *r, const char *name,
		 struct xorb_error *err)
{
	return xorb_ar_open_cb(out, store_read, r, name, err);
}

/* Allocates a reader for name (no thread yet). */
static struct xorb_ar *ar_new(const char *name, struct xorb_error *err)
{
	struct xorb_ar *a = calloc(1, sizeof(*a));
	int i, bad = 0;

	if (!a) {
		xorb_error_set(err, XORB_ENOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	a->name = strdup(name);
	for (i = 0; i < AR_SLOTS; i++)
		bad |= !(a->slot[i] = malloc(AR_BUF));
	a->in_hash = xorb_sha256_new();
	a->entry_hash = xorb_sha256_new();
	a->ar = archive_read_new();
	if (bad || !a->name || !a->in_hash || !a->entry_hash || !a->ar) {
		xorb_ar_free(a);
		xorb_error_set(err, XORB_ENOMEM, "out of memory");
		return NULL;
	}
	return a;
}

/* Starts the read-ahead thread and libarchive on a (a->read set); frees a
 * on failure. */
static int ar_start(struct xorb_ar **out, struct xorb_ar *a, struct xorb_error *err)
{
	/* Exactly the format v1 pipeline: zstd, then tar. Nothing else is tasted. */
	if (archive_read_support_filter_zstd(a->ar) != ARCHIVE_OK ||
	    archive_read_support_format_tar(a->ar) != ARCHIVE_OK) {
		xorb_ar_free(a);
		return xorb_error_set(err, XORB_EUNSUPPORTED, "libarchive lacks zstd or tar support");
	}
	if (pthread_create(&a->th, NULL, ar_reader_thread, a)) {
		xorb_ar_free(a);
		return xorb_error_set(err, XORB_ENOMEM, "cannot start the archive's reading thread");
	}
	a->th_started = 1;
	if (archive_read_open2(a->ar, a, NULL, ar_read_cb, NULL, NULL) != ARCHIVE_OK) {
		int rc = a->rerr.code ? xorb_error_set(err, a->rerr.code, "%s", a->rerr.msg)
				      : xorb_error_set(err, XORB_ECORRUPT,
						       "archive \"%s\" is not a zstd-compressed tar%s: %s", a->name,
						       a->dec ? " inside its encryption" : "", archive_error_string(a->ar));
		xorb_ar_free(a);
		return rc;
	}
	*out = a;
	return XORB_OK;
}

int xorb_ar_open_cb(struct xorb_ar **out, xorb_ar_read_fn read, void *arg, const char *name,
		    struct xorb_error *err)
{
	struct xorb_ar *a = ar_new(name, err);

	*out = NULL;
	if (!a)
		return err ? err->code : XORB_ENOMEM;
	a->read = read;
	a->read_arg = arg;
	return ar_start(out, a, err);
}

/* The decryptor's source: the stored bytes, hashed and counted. */
static int cipher_read(void *arg, void *buf, size_t len, size_t *got, struct xorb_error *err)
{
	struct xorb_ar *a = arg;
	int rc = a->src_read(a->src_arg, buf, len, got, err);

	if (!rc && *got) {
		if (a->hash_cipher)
			xorb_sha256_update(a->in_hash, buf, *got);
		a->cipher_bytes += *got;
	}
	return rc;
}

int xorb_ar_open_age(struct xorb_ar **out, struct xorb_store_reader *r, const char *name,
		     struct xorb_age_identity *const *ids, size_t n, struct xorb_error *err)
{
	struct xorb_ar *a = ar_new(name, err);
	int rc;

	*out = NULL;
	if (!a)
		return err ? err->code : XORB_ENOMEM;
	a->src_read = store_read;
	a->src_arg = r;
	a->hash_cipher = 1;
	rc = xorb_age_dec_new(&a->dec, ids, n, cipher_read, a, err);
	/* the header now, on this thread: a wrong identity or a damaged
	 * header is known before any entry is read */
	if (!rc)
		rc = xorb_age_dec_start(a->dec, err);
	if (rc) {
		xorb_error_prefix(err, "archive \"%s\": ", name);
		xorb_ar_free(a);
		return rc;
	}
	a->read = xorb_age_dec_read_cb;
	a->read_arg = a->dec;
	return ar_start(out, a, err);
}

static int safe_path(const char *p)
{
	const char *c = p;

	if (!*p || *p == '/' || strlen(p) >= XORB_ENTRY_PATH_MAX)
		return 0;
	while (*c) {
		size_t n = strcspn(c, "/");

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		c += n;
		if (*c == '/' && !*++c)
			return 0;
	}
	for (c = p; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == '\\')
			return 0;
	return 1;
}

static int ar_damage(struct xorb_ar *a, struct xorb_error *err, const char *when)
{
	if (a->rerr.code)
		return xorb_error_set(err, a->rerr.code, "%s", a->rerr.msg);
	return xorb_error_set(err, XORB_ECORRUPT, "archive \"%s\" is damaged %s: %s", a->name, when,
			      archive_error_string(a->ar) ? archive_error_string(a->ar)
							  : "truncated or corrupt data");
}

int xorb_ar_next(struct xorb_ar *a, const char **path, uint64_t *size, struct xorb_error *err)
{
	struct archive_entry *e;
	const char *p;
	int r;

	if (a->at_end)
		return XORB_ENOTFOUND;
	r = archive_read_next_header(a->ar, &e);
	if (r == ARCHIVE_EOF) {
		a->at_end = 1;
		return XORB_ENOTFOUND;
	}
	if (r != ARCHIVE_OK)
		return ar_damage(a, err, a->path[0] ? "after the entry" : "at its start");
	/* format v1 is zstd-compressed: a bare tar is not one of ours */
	if (archive_filter_code(a->ar, 0) != ARCHIVE_FILTER_ZSTD)
		return xorb_error_set(err, XORB_ECORRUPT, "archive \"%s\" is not zstd-compressed", a->name);
	p = archive_entry_pathname(e);
	if (!p || !safe_path(p))
		return xorb_error_set(err, XORB_ECORRUPT,
				      "archive \"%s\" holds an entry with an unsafe path \"%.200s\"",
				      a->name, p ? p : "");
	if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) ||
	    archive_entry_symlink(e))
		return xorb_error_set(err, XORB_ECORRUPT,
				      "archive \"%s\" entry \"%s\" is not a regular file", a->name, p);
	if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0)
		return xorb_error_set(err, XORB_ECORRUPT, "archive \"%s\" entry \"%s\" has no size",
				      a->name, p);
	snprintf(a->path, sizeof(a->path), "%s", p);
	a->entry_size = (uint64_t)archive_entry_size(e);
	a->entry_read = 0;
	a->entry_open = 1;
	*path = a->path;
	*size = a->entry_size;
	return XORB_OK;
}

int xorb_ar_read(struct xorb_ar *a, const void **data, size_t *got, struct xorb_error *err)
{
	la_int64_t off;
	size_t n = 0;
	int r;

	*got = 0;
	if (!a->entry_open)
		return XORB_OK;
	r = archive_read_data_block(a->ar, data, &n, &off);
	if (r == ARCHIVE_EOF) {
		a->entry_open = 0;
		if (a->entry_read != a->entry_size)
			return xorb_error_set(err, XORB_ECORRUPT,
					      "archive \"%s\" entry \"%s\" is truncated", a->name, a->path);
		return XORB_OK;
	}
	if (r != ARCHIVE_OK) {
		char when[XORB_ENTRY_PATH_MAX + 32];

		snprintf(when, sizeof(when), "inside entry \"%s\"", a->path);
		return ar_damage(a, err, when);
	}
	if ((uint64_t)off != a->entry_read)
		return xorb_error_set(err, XORB_ECORRUPT, "archive \"%s\" entry \"%s\" is sparse",
				      a->name, a->path);
	xorb_sha256_update(a->entry_hash, *data, n);
	a->entry_read += n;
	*got = n;
	return XORB_OK;
}

int xorb_ar_entry_done(struct xorb_ar *a, char sha256[XORB_SHA256_HEX], struct xorb_error *err)
{
	const void *d;
	size_t got;
	int rc;

	do {
		rc = xorb_ar_read(a, &d, &got, err);
		if (rc)
			return rc;
	} while (got);
	xorb_sha256_final_hex(a->entry_hash, sha256);
	return XORB_OK;
}

int xorb_ar_finish(struct xorb_ar *a, struct xorb_error *err)
{
	const unsigned char *buf;
	size_t len;
	int r;

	/* what libarchive did not need (the tar's padding, or bytes after the
	 * end): counted and hashed like the rest */
	while ((r = ar_take(a, &buf, &len)) > 0)
		;
	ar_stop_thread(a); /* the thread's digest updates happen before this */
	if (r < 0)
		return xorb_error_set(err, a->rerr.code ? a->rerr.code : XORB_EIO, "%s",
				      a->rerr.msg[0] ? a->rerr.msg : "reading the archive failed");
	if (a->dec)
		a->in_bytes = a->cipher_bytes; /* the stored object's size */
	if (!a->no_archive_digest)
		xorb_sha256_final_hex(a->in_hash, a->in_sha);
	return XORB_OK;
}

void xorb_ar_skip_archive_digest(struct xorb_ar *a)
{
	pthread_mutex_lock(&a->mu);
	a->no_archive_digest = 1;
	pthread_mutex_unlock(&a->mu);
}

uint64_t xorb_ar_bytes_in(const struct xorb_ar *a)
{
	return a->in_bytes;
}

const char *xorb_ar_sha256(const struct xorb_ar *a)
{
	return a->in_sha;
}

void xorb_ar_free(struct xorb_ar *a)
{
	int i;

	if (!a)
		return;
	ar_stop_thread(a);
	if (a->ar)
		archive_read_free(a->ar);
	xorb_age_dec_free(a->dec);
	xorb_sha256_free(a->in_hash);
	xorb_sha256_free(a->entry_hash);
	free(a->name);
	for (i = 0; i < AR_SLOTS; i++)
		free(a->slot[i]);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

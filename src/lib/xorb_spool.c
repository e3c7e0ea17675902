/* Memory-bounded FIFO that spills to a temporary file: see xorb_spool.h. */
#include "xorb_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Consumed file ranges are given back to the file system in steps of this. */
#define SPOOL_RELEASE_STEP (32u << 20)

struct spool_entry {
	struct spool_entry *next;
	size_t len;
	int in_file;
	uint64_t off;	    /* in_file: where the bytes are */
	const void *data;   /* !in_file: the producer's bytes */
	void *owner;	    /* !in_file: released when done */
	void (*release)(void *owner);
	char tag[];
};

struct xorb_spool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct spool_entry *head, *tail;
	size_t mem_limit;
	uint64_t mem_bytes, file_bytes;
	int finished, fin_code, cancelled;
	struct xorb_error fin_err;
	/* The file: created, written and wr_off advanced by the producer only;
	 * read, and released below done_off, by the consumer only. */
	char dir[4096], path[4200];
	int fd;
	uint64_t wr_off, done_off, freed_off;
	unsigned char *buf; /* consumer's read-back buffer */
	size_t buf_cap;
	struct xorb_spool_stats st;
};

int xorb_spool_new(size_t mem_limit, const char *dir, struct xorb_spool **out,
		   struct xorb_error *err)
{
	struct xorb_spool *sp = calloc(1, sizeof(*sp));

	*out = NULL;
	if (!sp)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	if (!dir || !*dir)
		dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	if ((size_t)snprintf(sp->dir, sizeof(sp->dir), "%s", dir) >= sizeof(sp->dir)) {
		free(sp);
		return xorb_error_set(err, XORB_EINVAL, "the spool directory name is too long");
	}
	pthread_mutex_init(&sp->mu, NULL);
	pthread_cond_init(&sp->cv, NULL);
	sp->mem_limit = mem_limit;
	sp->fd = -1;
	*out = sp;
	return XORB_OK;
}

static void entry_free(struct spool_entry *e)
{
	if (e->release)
		e->release(e->owner);
	free(e);
}

void xorb_spool_free(struct xorb_spool *sp)
{
	struct spool_entry *e, *next;

	if (!sp)
		return;
	for (e = sp->head; e; e = next) {
		next = e->next;
		entry_free(e);
	}
	if (sp->fd >= 0)
		close(sp->fd);
	free(sp->buf);
	pthread_cond_destroy(&sp->cv);
	pthread_mutex_destroy(&sp->mu);
	free(sp);
}

/* An unlinked file only this process can reach. */
static int spool_open(struct xorb_spool *sp, struct xorb_error *err)
{
	snprintf(sp->path, sizeof(sp->path), "%s", sp->dir);
	sp->fd = open(sp->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (sp->fd >= 0)
		return XORB_OK;
	/* File systems without O_TMPFILE: a named file, unlinked at once. */
	snprintf(sp->path, sizeof(sp->path), "%s/xorb-spool-XXXXXX", sp->dir);
	sp->fd = mkostemp(sp->path, O_CLOEXEC);
	if (sp->fd < 0)
		return xorb_error_set(err, XORB_EIO,
				      "cannot create a spool file in \"%s\": %s (set TMPDIR to a writable directory with free space)",
				      sp->dir, strerror(errno));
	unlink(sp->path);
	snprintf(sp->path, sizeof(sp->path), "%s", sp->dir);
	return XORB_OK;
}

static int spool_write(struct xorb_spool *sp, const void *data, size_t len, struct xorb_error *err)
{
	const unsigned char *p = data;
	size_t done = 0;

	if (sp->fd < 0 && spool_open(sp, err))
		return XORB_EIO;
	while (done < len) {
		ssize_t n = pwrite(sp->fd, p + done, len - done, (off_t)(sp->wr_off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return xorb_error_set(err, XORB_EIO,
					      "cannot write to the spool file in \"%s\": %s (free space there or set TMPDIR to a larger disk)",
					      sp->path, n < 0 ? strerror(errno) : "short write");
		done += (size_t)n;
	}
	return XORB_OK;
}

int xorb_spool_put(struct xorb_spool *sp, const void *data, size_t len, const char *tag,
		   void *owner, void (*release)(void *owner), struct xorb_error *err)
{
	size_t tl = tag ? strlen(tag) : 0;
	struct spool_entry *e = malloc(sizeof(*e) + tl + 1);
	int rc = XORB_OK, spill;

	if (!e) {
		if (release)
			release(owner);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	memset(e, 0, sizeof(*e));
	memcpy(e->tag, tag ? tag : "", tl + 1);
	e->len = len;
	pthread_mutex_lock(&sp->mu);
	if (sp->cancelled) {
		pthread_mutex_unlock(&sp->mu);
		rc = xorb_error_set(err, XORB_EINVAL, "the spool was cancelled");
		goto fail;
	}
	/* Once something waits in the file, later items follow it there only
	 * while memory is full: order is kept by the list, not the location. */
	spill = sp->mem_bytes + len > sp->mem_limit;
	if (!spill) {
		e->data = data;
		e->owner = owner;
		e->release = release;
		sp->mem_bytes += len;
		if (sp->mem_bytes > sp->st.peak_mem)
			sp->st.peak_mem = sp->mem_bytes;
		goto enqueue;
	}
	pthread_mutex_unlock(&sp->mu);

	rc = spool_write(sp, data, len, err);
	if (rc)
		goto fail;
	if (release)
		release(owner);
	e->in_file = 1;
	e->off = sp->wr_off;
	sp->wr_off += len;
	pthread_mutex_lock(&sp->mu);
	sp->file_bytes += len;
	sp->st.spilled_bytes += len;
	if (sp->file_bytes > sp->st.peak_file)
		sp->st.peak_file = sp->file_bytes;
enqueue:
	if (sp->tail)
		sp->tail->next = e;
	else
		sp->head = e;
	sp->tail = e;
	pthread_cond_broadcast(&sp->cv);
	pthread_mutex_unlock(&sp->mu);
	return XORB_OK;
fail:
	if (release)
		release(owner);
	free(e);
	return rc;
}

void xorb_spool_finish(struct xorb_spool *sp, int code, const struct xorb_error *e)
{
	pthread_mutex_lock(&sp->mu);
	sp->finished = 1;
	sp->fin_code = code;
	if (code && e)
		sp->fin_err = *e;
	pthread_cond_broadcast(&sp->cv);
	pthread_mutex_unlock(&sp->mu);
}

int xorb_spool_cancelled(struct xorb_spool *sp)
{
	int c;

	pthread_mutex_lock(&sp->mu);
	c = sp->cancelled;
	pthread_mutex_unlock(&sp->mu);
	return c;
}

void xorb_spool_cancel(struct xorb_spool *sp)
{
	pthread_mutex_lock(&sp->mu);
	sp->cancelled = 1;
	pthread_cond_broadcast(&sp->cv);
	pthread_mutex_unlock(&sp->mu);
}

static int spool_read(struct xorb_spool *sp, struct spool_entry *e, struct xorb_error *err)
{
	size_t done = 0;

	if (e->len > sp->buf_cap) {
		unsigned char *nb = realloc(sp->buf, e->len);

		if (!nb)
			return xorb_error_set(err, XORB_ENOMEM, "out of memory");
		sp->buf = nb;
		sp->buf_cap = e->len;
	}
	while (done < e->len) {
		ssize_t n = pread(sp->fd, sp->buf + done, e->len - done, (off_t)(e->off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return xorb_error_set(err, XORB_EIO,
					      "cannot read back from the spool file in \"%s\": %s",
					      sp->path, n < 0 ? strerror(errno) : "unexpected end of file");
		done += (size_t)n;
	}
	return XORB_OK;
}

int xorb_spool_get(struct xorb_spool *sp, struct xorb_spool_item *it, struct xorb_error *err)
{
	struct spool_entry *e;
	int rc;

	memset(it, 0, sizeof(*it));
	pthread_mutex_lock(&sp->mu);
	while (!sp->head && !sp->finished)
		pthread_cond_wait(&sp->cv, &sp->mu);
	e = sp->head;
	if (!e) {
		rc = sp->fin_code;
		if (rc && err)
			*err = sp->fin_err;
		pthread_mutex_unlock(&sp->mu);
		return rc ? rc : 1;
	}
	sp->head = e->next;
	if (!sp->head)
		sp->tail = NULL;
	pthread_mutex_unlock(&sp->mu);
	e->next = NULL;
	it->priv_ = e;
	it->len = e->len;
	it->tag = e->tag;
	if (!e->in_file) {
		it->data = e->data;
		return XORB_OK;
	}
	rc = spool_read(sp, e, err);
	it->data = sp->buf;
	return rc;
}

void xorb_spool_done(struct xorb_spool *sp, struct xorb_spool_item *it)
{
	struct spool_entry *e = it->priv_;

	if (!e)
		return;
	it->priv_ = NULL;
	pthread_mutex_lock(&sp->mu);
	if (e->in_file) {
		sp->file_bytes -= e->len;
		sp->done_off = e->off + e->len;
	} else {
		sp->mem_bytes -= e->len;
	}
	pthread_mutex_unlock(&sp->mu);
	/* Give consumed file ranges back: disk use follows the backlog, not
	 * everything that ever passed through. Best effort (not every file
	 * system can punch holes; the file is gone at exit anyway). */
	if (e->in_file && sp->done_off - sp->freed_off >= SPOOL_RELEASE_STEP) {
		(void)fallocate(sp->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)sp->freed_off,
				(off_t)(sp->done_off - sp->freed_off));
		sp->freed_off = sp->done_off;
	}
	entry_free(e);
}

void xorb_spool_stats(struct xorb_spool *sp, struct xorb_spool_stats *st)
{
	pthread_mutex_lock(&sp->mu);
	*st = sp->st;
	pthread_mutex_unlock(&sp->mu);
}

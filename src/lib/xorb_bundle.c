/* Stored backup reader and catalog: see xorb_bundle.h. */
#include "xorb_bundle.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "xorb_age.h"
#include "xorb_archive.h"
#include "xorb_buf.h"
#include "xorb_hash.h"
#include "xorb_names.h"
#include "xorb_nats.h"
#include "xorb_util.h"

#define SMALL_ENTRY_MAX (16u << 20)

struct walk {
	struct xorb_store *store;
	const struct xorb_manifest *m;
	const struct xorb_walk_cb *cb;
	struct xorb_ar *ar;
	unsigned char *seen;	   /* per manifest entry */
	unsigned char *stream_seen; /* per manifest stream: 1 meta, 2 data done */
	/* the snapshot being joined */
	const struct xorb_manifest_stream *cur;
	size_t cur_index;
	unsigned next_part;
	uint64_t blob_size;
	struct xorb_sha256 *blob_hash; /* over the parts' hex digests */
	char single_sha[XORB_SHA256_HEX];
	int manifest_seen;
};

static size_t stream_index(const struct xorb_manifest *m, const struct xorb_manifest_stream *ms)
{
	return (size_t)(ms - m->streams);
}

/* Splits "streams/<name>/<file>"; returns the stream or NULL. */
static const struct xorb_manifest_stream *stream_of_path(const struct xorb_manifest *m,
							 const char *path, const char **file)
{
	char name[256];
	const char *p, *slash;

	if (strncmp(path, "streams/", 8))
		return NULL;
	p = path + 8;
	slash = strchr(p, '/');
	if (!slash || (size_t)(slash - p) >= sizeof(name))
		return NULL;
	memcpy(name, p, (size_t)(slash - p));
	name[slash - p] = '\0';
	*file = slash + 1;
	return xorb_manifest_stream(m, name);
}

static int end_blob(struct walk *w, struct xorb_error *err)
{
	const struct xorb_manifest_stream *ms = w->cur;
	char sha[XORB_SHA256_HEX];
	unsigned parts = w->next_part;
	int rc;

	if (!ms)
		return XORB_OK;
	w->cur = NULL;
	if (parts)
		xorb_sha256_final_hex(w->blob_hash, sha); /* over the parts' digests */
	else
		memcpy(sha, w->single_sha, XORB_SHA256_HEX);
	if ((ms->snapshot.parts ? ms->snapshot.parts : 1) != (parts ? parts : 1))
		return xorb_error_set(err, XORB_ECORRUPT,
				      "stream \"%s\": the archive holds %u snapshot parts, the manifest says %u",
				      ms->name, parts ? parts : 1, ms->snapshot.parts ? ms->snapshot.parts : 1);
	if (w->blob_size != ms->snapshot.size || strcmp(sha, ms->snapshot.sha256))
		return xorb_error_set(err, XORB_ECORRUPT,
				      "stream \"%s\": the snapshot's size or SHA-256 does not match the manifest (%" PRIu64
				      " bytes, sha256 %.12s…; expected %" PRIu64 ", %.12s…)",
				      ms->name, w->blob_size, sha, ms->snapshot.size, ms->snapshot.sha256);
	w->stream_seen[w->cur_index] = 2;
	if (w->cb->stream_end) {
		rc = w->cb->stream_end(w->cb->arg, ms, err);
		if (rc)
			return rc;
	}
	return XORB_OK;
}

static int read_small(struct walk *w, const char *path, uint64_t size, struct xorb_buf *b,
		      char sha[XORB_SHA256_HEX], struct xorb_error *err)
{
	const void *d;
	size_t got;
	int rc;

	if (size > SMALL_ENTRY_MAX)
		return xorb_error_set(err, XORB_ECORRUPT, "archive entry \"%s\" is too large (%" PRIu64 " bytes)",
				      path, size);
	if (xorb_buf_reserve(b, (size_t)size))
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	for (;;) {
		rc = xorb_ar_read(w->ar, &d, &got, err);
		if (rc)
			return rc;
		if (!got)
			break;
		if (b->len + got > size)
			return xorb_error_set(err, XORB_ECORRUPT, "archive entry \"%s\" is longer than its header says", path);
		xorb_buf_append(b, d, got);
	}
	return xorb_ar_entry_done(w->ar, sha, err);
}

static int check_entry(struct walk *w, const char *path, uint64_t size, size_t *idx,
		       struct xorb_error *err)
{
	const struct xorb_entry *e = xorb_manifest_entry(w->m, path);

	if (!e)
		return xorb_error_set(err, XORB_ECORRUPT,
				      "the archive holds \"%s\", which the manifest does not list", path);
	*idx = (size_t)(e - w->m->entries);
	if (w->seen[*idx])
		return xorb_error_set(err, XORB_ECORRUPT, "the archive holds \"%s\" twice", path);
	w->seen[*idx] = 1;
	if (e->size != size)
		return xorb_error_set(err, XORB_ECORRUPT,
				      "archive entry \"%s\" declares %" PRIu64 " bytes, the sidecar %" PRIu64,
				      path, size, e->size);
	return XORB_OK;
}

static int sha_check(const struct xorb_manifest *m, size_t idx, const char *sha,
		     struct xorb_error *err)
{
	if (strcmp(m->entries[idx].sha256, sha))
		return xorb_error_set(err, XORB_ECORRUPT,
				      "archive entry \"%s\" does not match its SHA-256 in the sidecar (the entry is damaged, or the sidecar belongs to another archive)",
				      m->entries[idx].path);
	return XORB_OK;
}

/* A small entry the manifest lists: its size, its bytes into b (initialised
 * by the caller, who releases it) and its SHA-256 checked. */
static int read_listed(struct walk *w, const char *path, uint64_t size, struct xorb_buf *b,
		       struct xorb_error *err)
{
	char sha[XORB_SHA256_HEX];
	size_t idx;
	int rc = check_entry(w, path, size, &idx, err);

	if (!rc)
		rc = read_small(w, path, size, b, sha, err);
	if (!rc)
		rc = sha_check(w->m, idx, sha, err);
	return rc;
}

/* The consumer found the stream data corrupt: when the archive itself ends
 * or breaks inside this entry, that is the cause to report (a truncated
 * archive, not "s2: block too short"). Only on this failure path. */
static int archive_damage_first(struct walk *w, int rc, struct xorb_error *err)
{
	struct xorb_error damage = { 0, "" };
	const void *d;
	size_t got;

	do {
		if (xorb_ar_read(w->ar, &d, &got, &damage)) {
			*err = damage;
			return damage.code;
		}
	} while (got);
	return rc;
}

static int do_stream_entry(struct walk *w, const struct xorb_manifest_stream *ms,
			   const char *file, const char *path, uint64_t size, struct xorb_error *err)
{
	size_t si = stream_index(w->m, ms), idx;
	char sha[XORB_SHA256_HEX];
	int rc;

	if (!strcmp(file, "backup.json")) {
		struct xorb_buf b;

		rc = end_blob(w, err);
		if (rc)
			return rc;
		if (w->stream_seen[si])
			return xorb_error_set(err, XORB_ECORRUPT, "stream \"%s\" appears twice in the archive", ms->name);
		xorb_buf_init(&b);
		rc = read_listed(w, path, size, &b, err);
		if (!rc && w->cb->stream_begin)
			rc = w->cb->stream_begin(w->cb->arg, ms, b.data ? b.data : "", b.len, err);
		xorb_buf_release(&b);
		w->stream_seen[si] = 1;
		return rc;
	}
	if (!strcmp(file, "consumers.json")) {
		/* the consumers as recorded at backup time (xorb_consumers.h):
		 * after the stream's snapshot */
		struct xorb_buf b;

		rc = end_blob(w, err);
		if (rc)
			return rc;
		if (w->stream_seen[si] != 2)
			return xorb_error_set(err, XORB_ECORRUPT,
					      "archive entry \"%s\" is out of order (it must follow the stream's snapshot)", path);
		xorb_buf_init(&b);
		rc = read_listed(w, path, size, &b, err);
		if (!rc && w->cb->stream_record)
			rc = w->cb->stream_record(w->cb->arg, ms, b.data ? b.data : "", b.len, err);
		xorb_buf_release(&b);
		return rc;
	}
	if (strncmp(file, "stream.tar.s2", 13))
		return xorb_error_set(err, XORB_ECORRUPT, "unexpected archive entry \"%s\"", path);
	{
		const char *suffix = file + 13;
		unsigned part = 0;

		if (*suffix) {
			char *end;

			if (*suffix != '.' || strlen(suffix) != XORB_PART_SUFFIX_LEN)
				return xorb_error_set(err, XORB_ECORRUPT, "unexpected archive entry \"%s\"", path);
			part = (unsigned)strtoul(suffix + 1, &end, 10);
			if (*end)
				return xorb_error_set(err, XORB_ECORRUPT, "unexpected archive entry \"%s\"", path);
		}
		{
			const struct xorb_entry *e = xorb_manifest_entry(w->m, path);

			if (e && w->seen[e - w->m->entries])
				return xorb_error_set(err, XORB_ECORRUPT, "the archive holds \"%s\" twice", path);
		}
		if (w->stream_seen[si] != 1 || (w->cur && w->cur != ms))
			return xorb_error_set(err, XORB_ECORRUPT,
					      "archive entry \"%s\" is out of order (its backup.json must come first)", path);
		if (!w->cur) {
			if (part != 0)
				return xorb_error_set(err, XORB_ECORRUPT, "archive entry \"%s\": snapshot part 0 is missing", path);
			w->cur = ms;
			w->cur_index = si;
			w->next_part = 0;
			w->blob_size = 0;
		} else if (!*suffix || part != w->next_part) {
			return xorb_error_set(err, XORB_ECORRUPT, "archive entry \"%s\": snapshot parts are not consecutive", path);
		}
		w->next_part = *suffix ? part + 1 : 0;
	}
	rc = check_entry(w, path, size, &idx, err);
	if (rc)
		return rc;
	for (;;) {
		const void *d;
		size_t got;

		rc = xorb_ar_read(w->ar, &d, &got, err);
		if (rc)
			return rc;
		if (!got)
			break;
		w->blob_size += got;
		if (w->cb->stream_data) {
			rc = w->cb->stream_data(w->cb->arg, ms, d, got, err);
			if (rc == XORB_ECORRUPT)
				return archive_damage_first(w, rc, err);
			if (rc)
				return rc;
		}
		if (w->cb->progress)
			w->cb->progress(w->cb->arg, xorb_ar_bytes_in(w->ar));
	}
	rc = xorb_ar_entry_done(w->ar, sha, err);
	if (!rc)
		rc = sha_check(w->m, idx, sha, err);
	if (!rc && file[13])
		xorb_sha256_update(w->blob_hash, sha, XORB_SHA256_HEX - 1);
	else if (!rc)
		memcpy(w->single_sha, sha, XORB_SHA256_HEX);
	/* A single-entry snapshot ends here; parts end at the next entry. */
	if (!rc && !file[13])
		rc = end_blob(w, err);
	return rc;
}

static int do_other(struct walk *w, const char *path, uint64_t size, struct xorb_error *err)
{
	char sha[XORB_SHA256_HEX], why[256];
	struct xorb_manifest *inner = NULL;
	struct xorb_buf b;
	size_t idx = 0;
	int rc, is_manifest = !strcmp(path, "manifest.json");

	if (!is_manifest) {
		rc = check_entry(w, path, size, &idx, err);
		if (rc)
			return rc;
	} else if (w->manifest_seen) {
		return xorb_error_set(err, XORB_ECORRUPT, "the archive holds manifest.json twice");
	}
	xorb_buf_init(&b);
	rc = read_small(w, path, size, &b, sha, err);
	if (!rc && !is_manifest)
		rc = sha_check(w->m, idx, sha, err);
	if (!rc && is_manifest) {
		w->manifest_seen = 1;
		rc = xorb_manifest_parse(b.data ? b.data : "", b.len, "the archive's manifest.json", &inner, err);
		if (!rc && xorb_manifest_compare(inner, w->m, why, sizeof(why)))
			rc = xorb_error_set(err, XORB_ECORRUPT,
					    "the archive's manifest.json does not match the sidecar: %s", why);
		xorb_manifest_free(inner);
	}
	if (!rc && w->cb->other)
		rc = w->cb->other(w->cb->arg, path, b.data ? b.data : "", b.len, err);
	xorb_buf_release(&b);
	return rc;
}

int xorb_bundle_walk(struct xorb_store *store, const struct xorb_manifest *m,
		     const struct xorb_walk_cb *cb, struct xorb_error *err)
{
	struct xorb_store_reader *r = NULL;
	struct walk w;
	size_t i;
	int rc;

	memset(&w, 0, sizeof(w));
	w.store = store;
	w.m = m;
	w.cb = cb;
	if (!m->has_archive || !m->archive_key)
		return xorb_error_set(err, XORB_ECORRUPT, "the sidecar of backup %s names no archive", m->backup_id);
	{
		char expect[XORB_KEY_MAX];

		xorb_key_format(expect, m->tenant, m->backup_id, xorb_archive_kind(m));
		if (strcmp(expect, m->archive_key))
			return xorb_error_set(err, XORB_ECORRUPT, "the sidecar of backup %s names archive \"%s\", expected \"%s\"",
					      m->backup_id, m->archive_key, expect);
	}
	if (m->sealed)
		return xorb_error_set(err, XORB_EINVAL,
				      "backup %s of tenant \"%s\" is encrypted: its contents can be read only with one of its identities (xorb_bundle_unseal)",
				      m->backup_id, m->tenant);
	if (m->archive_encrypted && !m->n_open_ids)
		return xorb_error_set(err, XORB_EAUTH, "backup %s of tenant \"%s\" is encrypted and no identity was given",
				      m->backup_id, m->tenant);
	w.seen = calloc(m->n_entries + 1, 1);
	w.stream_seen = calloc(m->n_streams + 1, 1);
	w.blob_hash = xorb_sha256_new();
	if (!w.seen || !w.stream_seen || !w.blob_hash) {
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
		goto out;
	}
	rc = xorb_store_get_open(store, m->archive_key, &r, err);
	if (rc)
		goto out;
	rc = m->archive_encrypted ? xorb_ar_open_age(&w.ar, r, m->archive_key, m->open_ids, m->n_open_ids, err)
				  : xorb_ar_open(&w.ar, r, m->archive_key, err);
	if (rc)
		goto out;
	if (cb->archive_proven)
		xorb_ar_skip_archive_digest(w.ar);
	for (;;) {
		const struct xorb_manifest_stream *ms;
		const char *path, *file = NULL;
		uint64_t size;

		rc = xorb_ar_next(w.ar, &path, &size, err);
		if (rc == XORB_ENOTFOUND) {
			rc = XORB_OK;
			break;
		}
		if (rc)
			goto out;
		if (w.manifest_seen) {
			rc = xorb_error_set(err, XORB_ECORRUPT, "archive entry \"%s\" follows manifest.json", path);
			goto out;
		}
		ms = stream_of_path(m, path, &file);
		if (ms) {
			rc = do_stream_entry(&w, ms, file, path, size, err);
		} else if (!strncmp(path, "streams/", 8)) {
			rc = xorb_error_set(err, XORB_ECORRUPT,
					    "the archive holds \"%s\" of a stream the manifest does not list", path);
		} else {
			rc = end_blob(&w, err);
			if (!rc)
				rc = do_other(&w, path, size, err);
		}
		if (rc)
			goto out;
	}
	rc = end_blob(&w, err);
	if (rc)
		goto out;
	for (i = 0; i < m->n_entries; i++)
		if (!w.seen[i]) {
			rc = xorb_error_set(err, XORB_ECORRUPT,
					    "the archive lacks \"%s\", which the manifest lists",
					    m->entries[i].path);
			goto out;
		}
	for (i = 0; i < m->n_streams; i++)
		if (w.stream_seen[i] != 2) {
			rc = xorb_error_set(err, XORB_ECORRUPT, "the archive lacks the snapshot of stream \"%s\"",
					    m->streams[i].name);
			goto out;
		}
	if (!w.manifest_seen) {
		rc = xorb_error_set(err, XORB_ECORRUPT, "the archive lacks manifest.json (truncated archive?)");
		goto out;
	}
	rc = xorb_ar_finish(w.ar, err);
	if (rc)
		goto out;
	if (xorb_ar_bytes_in(w.ar) != m->archive_size ||
	    (!cb->archive_proven && strcmp(xorb_ar_sha256(w.ar), m->archive_sha256)))
		rc = xorb_error_set(err, XORB_ECORRUPT,
				    "archive \"%s\" is %" PRIu64 " bytes with SHA-256 %.12s…, the sidecar says %" PRIu64 " bytes, %.12s…",
				    m->archive_key, xorb_ar_bytes_in(w.ar), xorb_ar_sha256(w.ar), m->archive_size,
				    m->archive_sha256);
out:
	xorb_ar_free(w.ar);
	xorb_store_get_close(r);
	xorb_sha256_free(w.blob_hash);
	free(w.seen);
	free(w.stream_seen);
	return rc;
}

/* ---- catalog ---- */

struct list_ctx {
	const char *tenant;
	struct xorb_backup_key *v;
	size_t n, cap;
	int oom;
};

static int list_fn(void *arg, const struct xorb_store_obj *o)
{
	struct list_ctx *c = arg;
	struct xorb_backup_key k;

	if (!xorb_key_parse(o->key, &k) || k.kind != XORB_KEY_SIDECAR)
		return 0;
	if (c->tenant && strcmp(c->tenant, k.tenant))
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		struct xorb_backup_key *nv = realloc(c->v, cap * sizeof(*nv));

		if (!nv) {
			c->oom = 1;
			return 1;
		}
		c->v = nv;
		c->cap = cap;
	}
	c->v[c->n++] = k;
	return 0;
}

/* Newest first: by id (its time sorts lexicographically), then tenant. */
static int cmp_newest(const void *a, const void *b)
{
	const struct xorb_backup_key *x = a, *y = b;
	int c = strcmp(y->id, x->id);

	return c ? c : strcmp(x->tenant, y->tenant);
}

int xorb_bundle_catalog(struct xorb_store *store, const char *tenant, struct xorb_backup_key **v,
			size_t *n, struct xorb_error *err)
{
	struct list_ctx c = { tenant, NULL, 0, 0, 0 };
	char prefix[XORB_TENANT_MAX + 2];
	int rc;

	*v = NULL;
	*n = 0;
	rc = xorb_store_list(store, xorb_key_prefix(prefix, tenant), list_fn, &c, err);
	if (!rc && c.oom)
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
	if (rc) {
		free(c.v);
		return rc;
	}
	if (c.n)
		qsort(c.v, c.n, sizeof(*c.v), cmp_newest);
	*v = c.v;
	*n = c.n;
	return XORB_OK;
}

int xorb_bundle_check_location(const struct xorb_manifest *m, const char *key, struct xorb_error *err)
{
	struct xorb_backup_key k;
	char expect[XORB_KEY_MAX];

	if (!xorb_key_parse(key, &k) || k.kind != XORB_KEY_SIDECAR)
		return xorb_error_set(err, XORB_EINVAL, "\"%s\" is not the key of a sidecar (<tenant>/<backup id>.json)", key);
	if (strcmp(m->tenant, k.tenant) || strcmp(m->backup_id, k.id))
		return xorb_error_set(err, XORB_ECORRUPT,
				      "sidecar \"%s\" describes backup %.80s/%.40s instead (copied or moved from elsewhere?): a sidecar must describe the backup of its own location",
				      key, m->tenant, m->backup_id);
	if (!m->has_archive || !m->archive_key)
		return xorb_error_set(err, XORB_ECORRUPT, "sidecar \"%s\" names no archive", key);
	xorb_key_format(expect, k.tenant, k.id, xorb_archive_kind(m));
	if (strcmp(m->archive_key, expect))
		return xorb_error_set(err, XORB_ECORRUPT,
				      "sidecar \"%s\" names archive \"%.300s\" instead of \"%s\": an archive lies next to its sidecar, under the same id, and nothing else is opened",
				      key, m->archive_key, expect);
	return XORB_OK;
}

int xorb_bundle_load(struct xorb_store *store, const char *tenant, const char *id,
		     struct xorb_manifest **out, struct xorb_error *err)
{
	char key[XORB_KEY_MAX], what[200], *text = NULL;
	struct xorb_backup_key *keys = NULL;
	size_t n = 0, len = 0;
	struct xorb_manifest *m = NULL;
	int rc;

	*out = NULL;
	rc = xorb_tenant_check(tenant, err);
	if (rc)
		return rc;
	if (!id || !strcmp(id, "latest")) {
		rc = xorb_bundle_catalog(store, tenant, &keys, &n, err);
		if (rc)
			return rc;
		if (!n)
			return xorb_error_set(err, XORB_ENOTFOUND,
					      "tenant \"%s\" has no complete backup in store \"%s\"", tenant,
					      xorb_store_url(store));
		xorb_key_format(key, keys[0].tenant, keys[0].id, XORB_KEY_SIDECAR);
		free(keys);
	} else {
		if (!xorb_backup_id_parse(id, NULL))
			return xorb_error_set(err, XORB_EINVAL,
					      "\"%s\" is not a backup id (like 20261127T170508Z-3fa9c1) or \"latest\"", id);
		xorb_key_format(key, tenant, id, XORB_KEY_SIDECAR);
	}
	rc = xorb_store_get_all(store, key, XORB_MANIFEST_MAX, &text, &len, err);
	if (rc == XORB_ENOTFOUND)
		return xorb_error_set(err, rc, "backup %s of tenant \"%s\" does not exist (or is incomplete) in store \"%s\"; see xorb-backup list",
				      id, tenant, xorb_store_url(store));
	if (rc)
		return rc;
	snprintf(what, sizeof(what), "sidecar \"%s\"", key);
	rc = xorb_manifest_parse(text, len, what, &m, err);
	free(text);
	if (rc)
		return rc;
	rc = xorb_bundle_check_location(m, key, err);
	if (rc) {
		xorb_manifest_free(m);
		return rc;
	}
	*out = m;
	return XORB_OK;
}

enum xorb_key_kind xorb_archive_kind(const struct xorb_manifest *m)
{
	return m && m->archive_encrypted ? XORB_KEY_ARCHIVE_AGE : XORB_KEY_ARCHIVE;
}

/* Buffer of one read from the source store while copying. */
#define COPY_BUF (1u << 20)

static int copy_archive(struct xorb_store *src, struct xorb_store *dst, const struct xorb_manifest *m,
			const struct xorb_copy_opts *o, uint64_t *copied, struct xorb_error *err)
{
	struct xorb_store_reader *r = NULL;
	struct xorb_store_writer *w = NULL;
	struct xorb_sha256 *h = xorb_sha256_new();
	char *buf = malloc(COPY_BUF), sha[XORB_SHA256_HEX];
	uint64_t total = 0;
	int rc;

	if (!h || !buf) {
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
		goto out;
	}
	rc = xorb_store_get_open(src, m->archive_key, &r, err);
	if (!rc && dst)
		rc = xorb_store_put_begin(dst, m->archive_key, &w, err);
	while (!rc) {
		size_t got = 0;

		rc = xorb_store_get_read(r, buf, COPY_BUF, &got, err);
		if (rc || !got)
			break;
		total += got;
		if (total > m->archive_size) {
			rc = xorb_error_set(err, XORB_ECORRUPT,
					    "archive \"%s\" in store \"%s\" is larger than its sidecar says (%" PRIu64
					    " bytes): not copied; run xorb-verify on the source",
					    m->archive_key, xorb_store_url(src), m->archive_size);
			break;
		}
		xorb_sha256_update(h, buf, got);
		if (w)
			rc = xorb_store_put_write(w, buf, got, err);
		if (!rc && o && o->progress)
			o->progress(o->arg, total, m->archive_size);
	}
	if (rc)
		goto out;
	xorb_sha256_final_hex(h, sha);
	if (total != m->archive_size || strcmp(sha, m->archive_sha256)) {
		rc = xorb_error_set(err, XORB_ECORRUPT,
				    "archive \"%s\" in store \"%s\" does not match its sidecar (%" PRIu64
				    " bytes with SHA-256 %.12s…, the sidecar says %" PRIu64 " bytes, %.12s…)%s",
				    m->archive_key, xorb_store_url(src), total, sha, m->archive_size, m->archive_sha256,
				    dst ? ": not copied; run xorb-verify on the source" : "");
		goto out;
	}
	if (w)
		rc = xorb_store_put_commit(w, err);
	w = NULL;
	*copied = total;
out:
	if (w)
		xorb_store_put_abort(w);
	if (r)
		xorb_store_get_close(r);
	xorb_sha256_free(h);
	free(buf);
	return rc;
}

int xorb_bundle_copy(struct xorb_store *src, struct xorb_store *dst, const char *tenant, const char *id,
		     const struct xorb_copy_opts *o, struct xorb_copy_result *res, struct xorb_error *err)
{
	struct xorb_manifest *m = NULL;
	char key[XORB_KEY_MAX], *side = NULL, *there = NULL;
	size_t side_len = 0, there_len = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = xorb_bundle_load(src, tenant, id, &m, err);
	if (rc)
		return rc;
	snprintf(res->backup_id, sizeof(res->backup_id), "%s", m->backup_id);
	xorb_key_format(key, tenant, m->backup_id, XORB_KEY_SIDECAR);
	rc = xorb_store_get_all(src, key, XORB_MANIFEST_MAX, &side, &side_len, err);
	if (rc)
		goto out;
	/* A backup whose sidecar is in the destination is complete there. */
	rc = xorb_store_get_all(dst, key, XORB_MANIFEST_MAX, &there, &there_len, err);
	if (!rc) {
		if (there_len != side_len || memcmp(there, side, side_len))
			rc = xorb_error_set(err, XORB_EEXIST,
					    "backup %s of tenant \"%s\" exists in store \"%s\" with a different sidecar: not overwritten (remove it there first if it is damaged)",
					    m->backup_id, tenant, xorb_store_url(dst));
		else
			res->skipped = 1;
		goto out;
	}
	if (rc != XORB_ENOTFOUND)
		goto out;
	xorb_error_clear(err);
	if (o && o->dry_run) {
		res->bytes = m->archive_size;
		rc = XORB_OK;
		goto out;
	}
	rc = copy_archive(src, dst, m, o, &res->bytes, err);
	/* the sidecar last: the copy exists only once it is complete */
	if (!rc)
		rc = xorb_store_put_all(dst, key, side, side_len, err);
	if (rc && rc != XORB_ECORRUPT)
		xorb_error_prefix(err, "copying backup %s of tenant \"%s\" to store \"%s\": ", m->backup_id, tenant,
				  xorb_store_url(dst));
out:
	free(side);
	free(there);
	xorb_manifest_free(m);
	return rc;
}

int xorb_bundle_check_stored(struct xorb_store *store, const struct xorb_manifest *m,
			     void (*progress)(void *arg, uint64_t done, uint64_t total), void *arg,
			     struct xorb_error *err)
{
	struct xorb_copy_opts o = { 0, progress, arg };
	uint64_t n = 0;

	return copy_archive(store, NULL, m, &o, &n, err);
}

/* The sealed manifest's bytes, for the decryptor. */
struct mem_src {
	const unsigned char *p;
	size_t len, off;
};

static int mem_read(void *arg, void *buf, size_t len, size_t *got, struct xorb_error *err)
{
	struct mem_src *m = arg;

	(void)err;
	*got = m->len - m->off < len ? m->len - m->off : len;
	memcpy(buf, m->p + m->off, *got);
	m->off += *got;
	return XORB_OK;
}

int xorb_bundle_unseal(const struct xorb_manifest *sc, struct xorb_age_identity *const *ids, size_t n,
		       struct xorb_manifest **out, struct xorb_error *err)
{
	struct xorb_age_dec *d = NULL;
	struct mem_src src = { NULL, 0, 0 };
	struct xorb_manifest *m = NULL;
	unsigned char *bin = NULL;
	struct xorb_buf plain;
	size_t len = 0;
	char what[160];
	int rc;

	*out = NULL;
	xorb_buf_init(&plain);
	if (!sc->sealed || !sc->sealed_manifest)
		return xorb_error_set(err, XORB_EINVAL, "backup %s is not encrypted", sc->backup_id);
	if (!n)
		return xorb_error_set(err, XORB_EAUTH,
				      "backup %s of tenant \"%s\" is encrypted (age, to %zu recipient%s: %s%s): give its identity with --identity FILE or XORB_IDENTITY_FILE",
				      sc->backup_id, sc->tenant, sc->n_recipients, sc->n_recipients == 1 ? "" : "s",
				      sc->n_recipients ? sc->recipients[0] : "?", sc->n_recipients > 1 ? ", ..." : "");
	bin = malloc(strlen(sc->sealed_manifest) / 4 * 3 + 4);
	if (!bin)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	if (xorb_age_b64_decode(sc->sealed_manifest, strlen(sc->sealed_manifest), bin,
				strlen(sc->sealed_manifest) / 4 * 3 + 4, &len)) {
		rc = xorb_error_set(err, XORB_ECORRUPT, "the sidecar of backup %s: sealed_manifest is not base64", sc->backup_id);
		goto out;
	}
	src.p = bin;
	src.len = len;
	rc = xorb_age_dec_new(&d, ids, n, mem_read, &src, err);
	while (!rc) {
		size_t got = 0;

		if (xorb_buf_reserve(&plain, 65536)) {
			rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
			break;
		}
		rc = xorb_age_dec_read(d, plain.data + plain.len, 65536, &got, err);
		if (rc || !got)
			break;
		plain.len += got;
		if (plain.len > XORB_MANIFEST_MAX)
			rc = xorb_error_set(err, XORB_ECORRUPT, "the sealed manifest is larger than %u bytes", XORB_MANIFEST_MAX);
	}
	if (rc) {
		xorb_error_prefix(err, "backup %s of tenant \"%s\": opening its sealed manifest: ", sc->backup_id, sc->tenant);
		if (rc == XORB_EAUTH && err && sc->n_recipients) {
			size_t i, l = strlen(err->msg);

			snprintf(err->msg + l, sizeof(err->msg) - l, "; the sidecar says it is encrypted to");
			for (i = 0; i < sc->n_recipients && i < 4; i++) {
				l = strlen(err->msg);
				snprintf(err->msg + l, sizeof(err->msg) - l, "%s %s", i ? "," : "", sc->recipients[i]);
			}
			l = strlen(err->msg);
			snprintf(err->msg + l, sizeof(err->msg) - l, "%s: give the identity of one of them",
				 sc->n_recipients > 4 ? ", ..." : "");
		}
		goto out;
	}
	snprintf(what, sizeof(what), "the sealed manifest of backup %s", sc->backup_id);
	rc = xorb_manifest_parse(plain.data ? plain.data : "", plain.len, what, &m, err);
	if (rc)
		goto out;
	if (m->sealed || strcmp(m->tenant, sc->tenant) || strcmp(m->backup_id, sc->backup_id) ||
	    strcmp(m->created, sc->created) || (int64_t)m->n_streams != sc->total_streams) {
		rc = xorb_error_set(err, XORB_ECORRUPT,
				    "the sealed manifest of backup %s does not describe this backup (tenant %.80s, id %.40s, %zu streams; the sidecar: %s, %s, %" PRId64 ")",
				    sc->backup_id, m->tenant, m->backup_id, m->n_streams, sc->tenant, sc->backup_id, sc->total_streams);
		goto out;
	}
	/* the archive member is the plain-text sidecar's: the stored object */
	free(m->archive_key);
	m->archive_key = strdup(sc->archive_key);
	if (!m->archive_key) {
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
		goto out;
	}
	m->has_archive = 1;
	m->archive_size = sc->archive_size;
	memcpy(m->archive_sha256, sc->archive_sha256, XORB_SHA256_HEX);
	m->archive_encrypted = 1;
	m->open_ids = ids;
	m->n_open_ids = n;
	*out = m;
	m = NULL;
out:
	if (plain.data)
		OPENSSL_cleanse(plain.data, plain.cap);
	xorb_buf_release(&plain);
	xorb_age_dec_free(d);
	xorb_manifest_free(m);
	free(bin);
	return rc;
}

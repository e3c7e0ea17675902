/*
 * libFuzzer target: xorb_bundle_walk, the restore-side walk of a stored
 * archive against its sidecar, through the real file store.
 *
 * The input is the archive (a .tar.zst, or a tar that is compressed here as
 * in fuzz_archive). A mutated archive would fail the sidecar's SHA-256s at
 * its first entry, so for most inputs the sidecar is derived from the
 * archive itself: the in-archive manifest.json when it parses (else a
 * skeleton), with its entry list, the streams' snapshot sizes, SHA-256s and
 * part counts, and the archive's own size and SHA-256 replaced by what a
 * first pass over the archive found. The walk then gets past the checksums
 * to the ordering, part-joining and manifest rules. For the other inputs the
 * in-archive manifest is used unchanged, to exercise the mismatch paths.
 * The archive is written to <tmp>/<tenant>/<id>.tar.zst under a private
 * directory (in /dev/shm when there is one), and removed after each input.
 *
 * Invariants: callbacks only see streams of the sidecar, each stream is
 * begun and ended at most once and ended only after it began; a walk that
 * succeeds has ended every stream of the sidecar.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "fuzz_util.h"
#include "xorb_archive.h"
#include "xorb_bundle.h"
#include "xorb_hash.h"
#include "xorb_manifest.h"
#include "xorb_store.h"

#define MAX_STREAMS 32
#define READ_BUDGET (64u << 20) /* decoded bytes per pass: zstd bombs are not bugs */

static char root[256];
static struct xorb_store *store;

static void cleanup(void)
{
	xorb_store_free(store);
	if (root[0])
		rmdir(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char url[300];
	struct xorb_error err;

	setenv("XORB_PLUGIN_DIR", XORB_FUZZ_PLUGIN_DIR, 0);
	snprintf(root, sizeof(root), "%s/xorb-fuzz-bundle-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	FUZZ_CHECK(mkdtemp(root) != NULL);
	snprintf(url, sizeof(url), "file://%s", root);
	if (xorb_store_open(url, &store, &err)) {
		fprintf(stderr, "fuzz_bundle: %s\n", err.msg);
		abort();
	}
	atexit(cleanup);
	return 0;
}

/* ---- the archive in memory as a byte source ---- */

struct src {
	const uint8_t *p;
	size_t len, off;
};

static int src_read(void *arg, void *buf, size_t len, size_t *got, struct xorb_error *err)
{
	struct src *s = arg;
	size_t n = s->len - s->off < len ? s->len - s->off : len;

	memcpy(buf, s->p + s->off, n);
	s->off += n;
	*got = n;
	return XORB_OK;
}

/* ---- first pass: what the archive holds ---- */

struct scanned_stream {
	char name[256];
	struct xorb_sha256 *hash;
	uint64_t size;
	unsigned parts;
};

struct scan {
	struct xorb_entry *entries;
	size_t n_entries;
	char *manifest; /* manifest.json, NUL-terminated */
	size_t manifest_len;
	struct scanned_stream streams[MAX_STREAMS];
	size_t n_streams;
	int over_budget;
};

static struct scanned_stream *scan_stream(struct scan *sc, const char *path)
{
	const char *p = path + 8, *slash = strchr(p, '/');
	size_t n = slash ? (size_t)(slash - p) : 0, i;

	if (strncmp(path, "streams/", 8) || !slash || !n || n >= sizeof(sc->streams[0].name) ||
	    strncmp(slash + 1, "stream.tar.s2", 13))
		return NULL;
	for (i = 0; i < sc->n_streams; i++)
		if (!strncmp(sc->streams[i].name, p, n) && !sc->streams[i].name[n])
			return &sc->streams[i];
	if (sc->n_streams == MAX_STREAMS)
		return NULL;
	i = sc->n_streams++;
	memcpy(sc->streams[i].name, p, n);
	sc->streams[i].name[n] = '\0';
	sc->streams[i].hash = xorb_sha256_new();
	FUZZ_CHECK(sc->streams[i].hash != NULL);
	return &sc->streams[i];
}

static void scan_archive(const uint8_t *a, size_t len, struct scan *sc)
{
	struct src s = { a, len, 0 };
	struct xorb_error err;
	struct xorb_ar *ar = NULL;
	uint64_t size, budget = READ_BUDGET;
	const char *path;

	if (xorb_ar_open_cb(&ar, src_read, &s, "scan", &err))
		return;
	while (xorb_ar_next(ar, &path, &size, &err) == XORB_OK) {
		struct scanned_stream *st = scan_stream(sc, path);
		int is_manifest = !strcmp(path, "manifest.json") && size <= (1u << 20), is_part = 0;
		struct xorb_entry *e = NULL;
		char sha[XORB_SHA256_HEX];
		const void *d;
		size_t got;

		if (!is_manifest) {
			e = realloc(sc->entries, (sc->n_entries + 1) * sizeof(*e));
			FUZZ_CHECK(e != NULL);
			sc->entries = e;
			e = &sc->entries[sc->n_entries++];
			memset(e, 0, sizeof(*e));
			e->path = strdup(path);
			FUZZ_CHECK(e->path != NULL);
			e->size = size;
		} else {
			free(sc->manifest);
			sc->manifest = calloc(1, (size_t)size + 1);
			FUZZ_CHECK(sc->manifest != NULL);
			sc->manifest_len = 0;
		}
		is_part = st && path[strlen(path) - 1] != '2'; /* ".NNNNNN" suffix */
		if (st)
			st->parts += is_part;
		for (;;) {
			if (xorb_ar_read(ar, &d, &got, &err) || !got)
				break;
			if (got > budget) {
				sc->over_budget = 1;
				goto out;
			}
			budget -= got;
			if (st) {
				if (!is_part)
					xorb_sha256_update(st->hash, d, got);
				st->size += got;
			}
			if (is_manifest && sc->manifest_len + got <= size) {
				memcpy(sc->manifest + sc->manifest_len, d, got);
				sc->manifest_len += got;
			}
		}
		if (xorb_ar_entry_done(ar, sha, &err))
			break;
		if (e)
			memcpy(e->sha256, sha, sizeof(sha));
		/* a parted snapshot's digest is over the parts' hex digests */
		if (st && is_part)
			xorb_sha256_update(st->hash, sha, 64);
	}
out:
	xorb_ar_free(ar);
}

/* ---- the sidecar ---- */

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	FUZZ_CHECK(d != NULL);
	return d;
}

static struct xorb_manifest *skeleton(void)
{
	struct xorb_manifest *m = calloc(1, sizeof(*m));

	FUZZ_CHECK(m != NULL);
	m->format_version = XORB_FORMAT_VERSION;
	m->tool_version = xstrdup("0.1.0");
	m->tenant = xstrdup("t-qa");
	m->backup_id = xstrdup("20261127T174459Z-d17e2c");
	m->created = xstrdup("2026-11-27T17:44:59Z");
	m->completed = xstrdup("2026-11-27T17:44:59Z");
	m->server_version = xstrdup("2.9.10");
	m->server_name = xstrdup("");
	m->cluster = xstrdup("");
	m->streams = calloc(1, sizeof(*m->streams));
	m->skipped = calloc(1, sizeof(*m->skipped));
	m->entries = calloc(1, sizeof(*m->entries));
	FUZZ_CHECK(m->streams && m->skipped && m->entries);
	return m;
}

/* Replaces what the sidecar says about entries and snapshots by the scan. */
static void align(struct xorb_manifest *m, struct scan *sc)
{
	size_t i, k;

	xorb_entries_free(m->entries, m->n_entries);
	m->entries = sc->entries ? sc->entries : calloc(1, sizeof(*m->entries));
	FUZZ_CHECK(m->entries != NULL);
	m->n_entries = sc->n_entries;
	sc->entries = NULL;
	sc->n_entries = 0;
	for (i = 0; i < sc->n_streams; i++) {
		struct scanned_stream *st = &sc->streams[i];
		struct xorb_manifest_stream *ms = NULL;

		for (k = 0; k < m->n_streams; k++)
			if (!strcmp(m->streams[k].name, st->name))
				ms = &m->streams[k];
		if (!ms) {
			ms = realloc(m->streams, (m->n_streams + 1) * sizeof(*ms));
			FUZZ_CHECK(ms != NULL);
			m->streams = ms;
			ms = &m->streams[m->n_streams++];
			memset(ms, 0, sizeof(*ms));
			ms->name = xstrdup(st->name);
			ms->storage = xstrdup("file");
		}
		ms->snapshot.size = st->size;
		ms->snapshot.parts = st->parts;
		xorb_sha256_final_hex(st->hash, ms->snapshot.sha256);
	}
}

static void sidecar_archive(struct xorb_manifest *m, const uint8_t *a, size_t len)
{
	struct xorb_sha256 *h = xorb_sha256_new();
	char key[256];

	FUZZ_CHECK(h != NULL);
	xorb_sha256_update(h, a, len);
	xorb_sha256_final_hex(h, m->archive_sha256);
	xorb_sha256_free(h);
	snprintf(key, sizeof(key), "%s/%s.tar.zst", m->tenant, m->backup_id);
	free(m->archive_key);
	m->archive_key = xstrdup(key);
	m->archive_size = len;
	m->has_archive = 1;
}

/* ---- the walk ---- */

struct seen {
	const struct xorb_manifest *m;
	unsigned char begun[64], ended[64];
};

static size_t index_of(struct seen *s, const struct xorb_manifest_stream *ms)
{
	FUZZ_CHECK(ms >= s->m->streams && ms < s->m->streams + s->m->n_streams);
	return (size_t)(ms - s->m->streams);
}

static int on_begin(void *arg, const struct xorb_manifest_stream *ms, const char *json, size_t len,
		    struct xorb_error *err)
{
	struct seen *s = arg;
	size_t i = index_of(s, ms);

	FUZZ_CHECK(json != NULL && strlen(json) <= len);
	if (i < sizeof(s->begun))
		FUZZ_CHECK(s->begun[i]++ == 0);
	return 0;
}

static int on_data(void *arg, const struct xorb_manifest_stream *ms, const void *data, size_t len,
		   struct xorb_error *err)
{
	struct seen *s = arg;
	size_t i = index_of(s, ms);

	FUZZ_CHECK(len > 0);
	fuzz_touch(data, len);
	if (i < sizeof(s->begun))
		FUZZ_CHECK(s->begun[i] == 1 && s->ended[i] == 0);
	return 0;
}

static int on_end(void *arg, const struct xorb_manifest_stream *ms, struct xorb_error *err)
{
	struct seen *s = arg;
	size_t i = index_of(s, ms);

	if (i < sizeof(s->begun))
		FUZZ_CHECK(s->begun[i] == 1 && s->ended[i]++ == 0);
	return 0;
}

static int on_other(void *arg, const char *path, const char *data, size_t len,
		    struct xorb_error *err)
{
	FUZZ_CHECK(path && data);
	fuzz_touch(data, len);
	return 0;
}

static int write_archive(const struct xorb_manifest *m, const uint8_t *a, size_t len,
			 char *path, size_t pathlen)
{
	char dir[600];
	int fd;

	snprintf(dir, sizeof(dir), "%s/%s", root, m->tenant);
	if (mkdir(dir, 0700) && access(dir, W_OK))
		return -1;
	snprintf(path, pathlen, "%s/%s", root, m->archive_key);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	FUZZ_CHECK(write(fd, a, len) == (ssize_t)len);
	close(fd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const uint8_t zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	uint64_t h = fuzz_hash(data, len);
	struct xorb_walk_cb cb = { on_begin, on_data, on_end, NULL, on_other, NULL, NULL, 0 };
	struct xorb_manifest *m = NULL;
	struct scan sc;
	struct seen seen;
	struct xorb_error err;
	const uint8_t *a = data;
	uint8_t *z = NULL;
	size_t alen = len, i;
	char path[900], dir[600];
	int rc;

	if (len < 4 || memcmp(data, zstd_magic, 4)) {
		size_t cap = ZSTD_compressBound(len);

		z = malloc(cap ? cap : 1);
		FUZZ_CHECK(z != NULL);
		alen = ZSTD_compress(z, cap, data, len, 1);
		FUZZ_CHECK(!ZSTD_isError(alen));
		a = z;
	}
	memset(&sc, 0, sizeof(sc));
	scan_archive(a, alen, &sc);
	if (sc.over_budget)
		goto out;
	if (!sc.manifest ||
	    xorb_manifest_parse(sc.manifest, sc.manifest_len, "manifest.json", &m, NULL))
		m = skeleton();
	if (fuzz_pick(h, 0, 8) != 0)
		align(m, &sc);
	sidecar_archive(m, a, alen);
	if (write_archive(m, a, alen, path, sizeof(path)))
		goto out;

	memset(&seen, 0, sizeof(seen));
	seen.m = m;
	cb.arg = &seen;
	xorb_error_clear(&err);
	rc = xorb_bundle_walk(store, m, &cb, &err);
	if (getenv("FUZZ_DEBUG")) /* which way the walk went, for seed work */
		fprintf(stderr, "fuzz_bundle: walk: %s\n", rc ? err.msg : "ok");
	if (rc) {
		FUZZ_CHECK(err.code == rc && strnlen(err.msg, sizeof(err.msg)) < sizeof(err.msg));
	} else {
		for (i = 0; i < m->n_streams && i < sizeof(seen.ended); i++)
			FUZZ_CHECK(seen.begun[i] == 1 && seen.ended[i] == 1);
	}
	unlink(path);
	snprintf(dir, sizeof(dir), "%s/%s", root, m->tenant);
	rmdir(dir);
out:
	xorb_manifest_free(m);
	xorb_entries_free(sc.entries, sc.n_entries);
	for (i = 0; i < sc.n_streams; i++)
		xorb_sha256_free(sc.streams[i].hash);
	free(sc.manifest);
	free(z);
	return 0;
}

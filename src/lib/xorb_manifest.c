/* Backup manifest build and strict parse: see xorb_manifest.h. */
#include "xorb_manifest.h"

#include "xorb_age.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xorb_json.h"
#include "xorb_names.h"
#include "xorb_nats.h"
#include "xorb_util.h"

#define MAX_STREAMS 100000
#define MAX_ENTRIES 10000000
#define MAX_CONSUMERS 100000

static cJSON *str_or_empty(const char *s)
{
	return cJSON_CreateString(s ? s : "");
}

/* The members both forms start with: format, tool, tenant, id, times, server. */
static void add_header(cJSON *root, const struct xorb_manifest *m)
{
	cJSON *srv;

	cJSON_AddStringToObject(root, "format", XORB_FORMAT_NAME);
	xorb_json_add_int(root, "format_version", XORB_FORMAT_VERSION);
	cJSON_AddItemToObject(root, "tool", cJSON_CreateString("xorb-dr"));
	cJSON_AddItemToObject(root, "tool_version", str_or_empty(m->tool_version));
	cJSON_AddItemToObject(root, "tenant", str_or_empty(m->tenant));
	cJSON_AddItemToObject(root, "backup_id", str_or_empty(m->backup_id));
	cJSON_AddItemToObject(root, "created", str_or_empty(m->created));
	cJSON_AddItemToObject(root, "completed", str_or_empty(m->completed));
	srv = cJSON_AddObjectToObject(root, "server");
	cJSON_AddItemToObject(srv, "version", str_or_empty(m->server_version));
	cJSON_AddItemToObject(srv, "name", str_or_empty(m->server_name));
	cJSON_AddItemToObject(srv, "cluster", str_or_empty(m->cluster));
}

/* The sidecar's "archive" member: the stored object's key, size and SHA-256. */
static void add_archive(cJSON *root, const struct xorb_manifest *m)
{
	cJSON *o = cJSON_AddObjectToObject(root, "archive");

	cJSON_AddItemToObject(o, "key", str_or_empty(m->archive_key));
	xorb_json_add_int(o, "size", (int64_t)m->archive_size);
	cJSON_AddStringToObject(o, "sha256", m->archive_sha256);
}

/* The sealed sidecar: see struct xorb_manifest. Nothing in it names a
 * stream, a subject, a consumer or an entry. */
static int sealed_to_json(const struct xorb_manifest *m, struct xorb_buf *out)
{
	cJSON *root = cJSON_CreateObject(), *o, *arr;
	size_t i;
	int rc;

	if (!root)
		return -1;
	add_header(root, m);
	o = cJSON_AddObjectToObject(root, "totals");
	xorb_json_add_int(o, "streams", m->total_streams);
	xorb_json_add_int(o, "messages", m->total_messages);
	xorb_json_add_int(o, "bytes", m->total_bytes);
	o = cJSON_AddObjectToObject(root, "encryption");
	cJSON_AddStringToObject(o, "format", "age-v1");
	arr = cJSON_AddArrayToObject(o, "recipients");
	for (i = 0; i < m->n_recipients; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(m->recipients[i]));
	cJSON_AddItemToObject(root, "sealed_manifest", str_or_empty(m->sealed_manifest));
	add_archive(root, m);
	rc = xorb_json_print(root, out);
	if (!rc)
		rc = xorb_buf_append(out, "\n", 1);
	cJSON_Delete(root);
	return rc;
}

int xorb_manifest_to_json(const struct xorb_manifest *m, int with_archive, struct xorb_buf *out)
{
	cJSON *root = cJSON_CreateObject(), *arr, *o, *c;
	size_t i, k;
	int rc = -1;

	if (!root)
		return -1;
	if (m->sealed) {
		cJSON_Delete(root);
		return sealed_to_json(m, out);
	}
	add_header(root, m);
	arr = cJSON_AddArrayToObject(root, "streams");
	for (i = 0; i < m->n_streams; i++) {
		const struct xorb_manifest_stream *s = &m->streams[i];
		cJSON *snap;

		o = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, o);
		cJSON_AddItemToObject(o, "name", str_or_empty(s->name));
		cJSON_AddItemToObject(o, "storage", str_or_empty(s->storage));
		xorb_json_add_int(o, "messages", s->messages);
		xorb_json_add_int(o, "bytes", s->bytes);
		xorb_json_add_int(o, "first_seq", s->first_seq);
		xorb_json_add_int(o, "last_seq", s->last_seq);
		xorb_json_add_int(o, "replicas", s->replicas);
		c = cJSON_AddArrayToObject(o, "consumers");
		for (k = 0; k < s->n_consumers; k++)
			cJSON_AddItemToArray(c, cJSON_CreateString(s->consumers[k]));
		snap = cJSON_AddObjectToObject(o, "snapshot");
		xorb_json_add_int(snap, "size", (int64_t)s->snapshot.size);
		xorb_json_add_int(snap, "parts", s->snapshot.parts);
		cJSON_AddStringToObject(snap, "sha256", s->snapshot.sha256);
	}
	arr = cJSON_AddArrayToObject(root, "skipped");
	for (i = 0; i < m->n_skipped; i++) {
		o = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, o);
		cJSON_AddItemToObject(o, "name", str_or_empty(m->skipped[i].name));
		cJSON_AddItemToObject(o, "reason", str_or_empty(m->skipped[i].reason));
	}
	arr = cJSON_AddArrayToObject(root, "entries");
	for (i = 0; i < m->n_entries; i++) {
		o = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, o);
		cJSON_AddItemToObject(o, "path", str_or_empty(m->entries[i].path));
		xorb_json_add_int(o, "size", (int64_t)m->entries[i].size);
		cJSON_AddStringToObject(o, "sha256", m->entries[i].sha256);
	}
	if (with_archive) {
		add_archive(root, m);
	}
	/* cJSON reports allocation failures only through missing items; print
	 * what we have and let the parse-back in tests catch damage. */
	rc = xorb_json_print(root, out);
	if (!rc)
		rc = xorb_buf_append(out, "\n", 1);
	cJSON_Delete(root);
	return rc;
}

/* ---- strict parse ---- */

struct pctx {
	const char *what;
	struct xorb_error *err;
	int rc;
};

static int bad(struct pctx *p, const char *field, const char *why)
{
	if (!p->rc)
		p->rc = xorb_error_set(p->err, XORB_ECORRUPT, "%s: member \"%s\" %s", p->what, field, why);
	return p->rc;
}

static char *get_str(struct pctx *p, const cJSON *o, const char *key, size_t maxlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	char *s;

	if (!cJSON_IsString(v) || !v->valuestring) {
		bad(p, key, "is missing or not a string");
		return NULL;
	}
	if (strlen(v->valuestring) > maxlen) {
		bad(p, key, "is too long");
		return NULL;
	}
	s = strdup(v->valuestring);
	if (!s && !p->rc)
		p->rc = xorb_error_set(p->err, XORB_ENOMEM, "out of memory");
	return s;
}

static int64_t get_int(struct pctx *p, const cJSON *o, const char *key, int64_t min, int64_t max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	int64_t x;

	/* range-check the double before converting: casting 1e300 is undefined */
	if (!cJSON_IsNumber(v) || !(fabs(v->valuedouble) < 9223372036854775808.0) ||
	    v->valuedouble != floor(v->valuedouble)) {
		bad(p, key, "is missing or not an integer");
		return 0;
	}
	x = (int64_t)v->valuedouble;
	if (x < min || x > max) {
		bad(p, key, "is out of range");
		return 0;
	}
	return x;
}

static const cJSON *get_arr(struct pctx *p, const cJSON *o, const char *key, size_t max, size_t *n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*n = 0;
	if (!cJSON_IsArray(v)) {
		bad(p, key, "is missing or not an array");
		return NULL;
	}
	*n = (size_t)cJSON_GetArraySize(v);
	if (*n > max) {
		bad(p, key, "has too many elements");
		*n = 0;
		return NULL;
	}
	return v;
}

static void get_sha(struct pctx *p, const cJSON *o, const char *key, char out[XORB_SHA256_HEX])
{
	const char *s = xorb_json_str(o, key, NULL);
	size_t i;

	out[0] = '\0';
	if (!s || strlen(s) != 64) {
		bad(p, key, "is not a SHA-256 hex digest");
		return;
	}
	for (i = 0; i < 64; i++)
		if (!strchr("0123456789abcdef", s[i]) || !s[i]) {
			bad(p, key, "is not a SHA-256 hex digest");
			return;
		}
	memcpy(out, s, XORB_SHA256_HEX);
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int entry_path_ok(const char *path)
{
	const char *c = path;

	if (!*path || *path == '/' || strlen(path) >= XORB_ENTRY_PATH_MAX)
		return 0;
	while (*c) {
		size_t n = strcspn(c, "/");

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		c += n;
		if (*c == '/' && !*++c)
			return 0;
	}
	return 1;
}

/* The members of a sealed sidecar after "server" (struct xorb_manifest):
 * the plain-text part must not hold what the sealed manifest hides. */
static void parse_sealed(struct pctx *p, const cJSON *root, struct xorb_manifest *m)
{
	static const char *const hidden[] = { "streams", "skipped", "entries" };
	const cJSON *tot, *enc, *arr, *it;
	size_t i, n;

	for (i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
		if (cJSON_GetObjectItemCaseSensitive(root, hidden[i])) {
			bad(p, hidden[i], "is in the plain text of an encrypted backup's sidecar: refused (it belongs in sealed_manifest)");
			return;
		}
	tot = cJSON_GetObjectItemCaseSensitive(root, "totals");
	if (!cJSON_IsObject(tot)) {
		bad(p, "totals", "is missing or not an object");
		return;
	}
	m->total_streams = get_int(p, tot, "streams", 0, MAX_STREAMS);
	m->total_messages = get_int(p, tot, "messages", 0, INT64_MAX);
	m->total_bytes = get_int(p, tot, "bytes", 0, INT64_MAX);
	enc = cJSON_GetObjectItemCaseSensitive(root, "encryption");
	if (!cJSON_IsObject(enc) || strcmp(xorb_json_str(enc, "format", ""), "age-v1")) {
		if (!p->rc)
			p->rc = xorb_error_set(p->err, XORB_EUNSUPPORTED,
					       "%s: member \"encryption\" is not {\"format\": \"age-v1\", ...}: encrypted with something this xorb-dr does not read",
					       p->what);
		return;
	}
	arr = get_arr(p, enc, "recipients", 1024, &n);
	if (p->rc)
		return;
	m->recipients = calloc(n ? n : 1, sizeof(char *));
	if (!m->recipients) {
		p->rc = xorb_error_set(p->err, XORB_ENOMEM, "out of memory");
		return;
	}
	cJSON_ArrayForEach(it, arr) {
		struct xorb_age_recipient r;

		if (!cJSON_IsString(it) ||
		    xorb_age_recipient_parse(it->valuestring, strlen(it->valuestring), &r, NULL)) {
			bad(p, "recipients", "holds something that is not an age1... public key");
			return;
		}
		m->recipients[m->n_recipients] = strdup(it->valuestring);
		if (!m->recipients[m->n_recipients++]) {
			p->rc = xorb_error_set(p->err, XORB_ENOMEM, "out of memory");
			return;
		}
	}
	m->sealed_manifest = get_str(p, root, "sealed_manifest", XORB_SEALED_MANIFEST_MAX);
	m->sealed = 1;
	m->archive_encrypted = 1;
}

int xorb_manifest_parse(const char *text, size_t len, const char *what,
			struct xorb_manifest **out, struct xorb_error *err)
{
	struct pctx p = { what, err, 0 };
	struct xorb_manifest *m;
	const cJSON *arr, *it, *srv, *ar;
	cJSON *root = NULL;
	size_t n, i, k;
	const char *fmt;

	*out = NULL;
	if (len > XORB_MANIFEST_MAX)
		return xorb_error_set(err, XORB_ECORRUPT, "%s is %zu bytes, over the %u-byte limit", what,
				      len, XORB_MANIFEST_MAX);
	if (xorb_json_parse_strict(text, len, what, &root, err))
		return err ? err->code : XORB_ECORRUPT;
	m = calloc(1, sizeof(*m));
	if (!m) {
		cJSON_Delete(root);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	if (!cJSON_IsObject(root)) {
		xorb_error_set(err, XORB_ECORRUPT, "%s is not a JSON object", what);
		p.rc = XORB_ECORRUPT;
		goto out;
	}
	fmt = xorb_json_str(root, "format", "");
	if (strcmp(fmt, XORB_FORMAT_NAME)) {
		bad(&p, "format", "is not \"" XORB_FORMAT_NAME "\": this is not an xorb-dr backup manifest");
		goto out;
	}
	m->format_version = (int)get_int(&p, root, "format_version", 1, 1000);
	if (!p.rc && m->format_version != XORB_FORMAT_VERSION) {
		p.rc = xorb_error_set(err, XORB_EUNSUPPORTED,
				      "%s has format version %d; this xorb-dr reads version %d: use a newer xorb-dr",
				      what, m->format_version, XORB_FORMAT_VERSION);
		goto out;
	}
	m->tool_version = get_str(&p, root, "tool_version", 64);
	m->tenant = get_str(&p, root, "tenant", XORB_TENANT_MAX);
	m->backup_id = get_str(&p, root, "backup_id", XORB_BACKUP_ID_LEN);
	m->created = get_str(&p, root, "created", 64);
	m->completed = get_str(&p, root, "completed", 64);
	if (p.rc)
		goto out;
	if (xorb_tenant_check(m->tenant, NULL)) {
		bad(&p, "tenant", "is not a valid tenant name");
		goto out;
	}
	if (!xorb_backup_id_parse(m->backup_id, NULL)) {
		bad(&p, "backup_id", "is not a valid backup id");
		goto out;
	}
	srv = cJSON_GetObjectItemCaseSensitive(root, "server");
	if (!cJSON_IsObject(srv)) {
		bad(&p, "server", "is missing or not an object");
		goto out;
	}
	m->server_version = get_str(&p, srv, "version", 256);
	m->server_name = get_str(&p, srv, "name", 256);
	m->cluster = get_str(&p, srv, "cluster", 256);
	if (p.rc)
		goto out;
	if (cJSON_GetObjectItemCaseSensitive(root, "encryption")) {
		parse_sealed(&p, root, m);
		if (p.rc)
			goto out;
		goto archive;
	}

	arr = get_arr(&p, root, "streams", MAX_STREAMS, &n);
	if (p.rc)
		goto out;
	m->streams = calloc(n ? n : 1, sizeof(*m->streams));
	if (!m->streams) {
		p.rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(it, arr) {
		struct xorb_manifest_stream *s = &m->streams[m->n_streams];
		const cJSON *cons, *c, *snap;

		if (!cJSON_IsObject(it)) {
			bad(&p, "streams", "holds a non-object");
			goto out;
		}
		m->n_streams++;
		s->name = get_str(&p, it, "name", 255);
		s->storage = get_str(&p, it, "storage", 16);
		s->messages = get_int(&p, it, "messages", 0, INT64_MAX);
		s->bytes = get_int(&p, it, "bytes", 0, INT64_MAX);
		s->first_seq = get_int(&p, it, "first_seq", 0, INT64_MAX);
		s->last_seq = get_int(&p, it, "last_seq", 0, INT64_MAX);
		s->replicas = get_int(&p, it, "replicas", 0, 5);
		if (p.rc)
			goto out;
		if (!xorb_stream_name_valid(s->name) || !xorb_stream_of_tenant(s->name, m->tenant)) {
			bad(&p, "streams", "names a stream that is not a valid stream of the tenant");
			goto out;
		}
		for (k = 0; k + 1 < m->n_streams; k++)
			if (!strcmp(m->streams[k].name, s->name)) {
				bad(&p, "streams", "names a stream twice");
				goto out;
			}
		cons = get_arr(&p, it, "consumers", MAX_CONSUMERS, &k);
		if (p.rc)
			goto out;
		s->consumers = calloc(k ? k : 1, sizeof(char *));
		if (!s->consumers) {
			p.rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
			goto out;
		}
		cJSON_ArrayForEach(c, cons) {
			if (!cJSON_IsString(c) || strlen(c->valuestring) > 255) {
				bad(&p, "consumers", "holds a non-string or overlong name");
				goto out;
			}
			s->consumers[s->n_consumers] = strdup(c->valuestring);
			if (!s->consumers[s->n_consumers++]) {
				p.rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
				goto out;
			}
		}
		snap = cJSON_GetObjectItemCaseSensitive(it, "snapshot");
		if (!cJSON_IsObject(snap)) {
			bad(&p, "snapshot", "is missing or not an object");
			goto out;
		}
		s->snapshot.size = (uint64_t)get_int(&p, snap, "size", 0, INT64_MAX);
		s->snapshot.parts = (unsigned)get_int(&p, snap, "parts", 0, 999999);
		get_sha(&p, snap, "sha256", s->snapshot.sha256);
		if (p.rc)
			goto out;
	}

	arr = get_arr(&p, root, "skipped", MAX_STREAMS, &n);
	if (p.rc)
		goto out;
	m->skipped = calloc(n ? n : 1, sizeof(*m->skipped));
	if (!m->skipped) {
		p.rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(it, arr) {
		struct xorb_manifest_skip *s = &m->skipped[m->n_skipped++];

		s->name = get_str(&p, it, "name", 255);
		s->reason = get_str(&p, it, "reason", 1024);
		if (p.rc)
			goto out;
	}

	arr = get_arr(&p, root, "entries", MAX_ENTRIES, &n);
	if (p.rc)
		goto out;
	m->entries = calloc(n ? n : 1, sizeof(*m->entries));
	if (!m->entries) {
		p.rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(it, arr) {
		struct xorb_entry *e = &m->entries[m->n_entries++];

		e->path = get_str(&p, it, "path", XORB_ENTRY_PATH_MAX - 1);
		e->size = (uint64_t)get_int(&p, it, "size", 0, INT64_MAX);
		get_sha(&p, it, "sha256", e->sha256);
		if (p.rc)
			goto out;
		if (!entry_path_ok(e->path)) {
			bad(&p, "entries", "holds an unsafe path");
			goto out;
		}
	}
	if (m->n_entries > 1) {
		const char **sorted = malloc(m->n_entries * sizeof(*sorted));

		if (!sorted) {
			p.rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
			goto out;
		}
		for (i = 0; i < m->n_entries; i++)
			sorted[i] = m->entries[i].path;
		qsort(sorted, m->n_entries, sizeof(*sorted), cmp_path);
		for (i = 1; i < m->n_entries && !p.rc; i++)
			if (!strcmp(sorted[i - 1], sorted[i]))
				bad(&p, "entries", "names a path twice");
		free(sorted);
		if (p.rc)
			goto out;
	}

archive:
	ar = cJSON_GetObjectItemCaseSensitive(root, "archive");
	if (m->sealed && !cJSON_IsObject(ar)) {
		bad(&p, "archive", "is missing (a sealed sidecar names its encrypted archive)");
		goto out;
	}
	if (ar) {
		if (!cJSON_IsObject(ar)) {
			bad(&p, "archive", "is not an object");
			goto out;
		}
		m->has_archive = 1;
		m->archive_key = get_str(&p, ar, "key", 2048);
		m->archive_size = (uint64_t)get_int(&p, ar, "size", 0, INT64_MAX);
		get_sha(&p, ar, "sha256", m->archive_sha256);
	}
out:
	cJSON_Delete(root);
	if (p.rc) {
		xorb_manifest_free(m);
		return p.rc;
	}
	*out = m;
	return XORB_OK;
}

void xorb_manifest_release(struct xorb_manifest *m)
{
	size_t i;

	if (!m)
		return;
	free(m->tool_version);
	free(m->tenant);
	free(m->backup_id);
	free(m->created);
	free(m->completed);
	free(m->server_version);
	free(m->server_name);
	free(m->cluster);
	for (i = 0; i < m->n_streams; i++) {
		free(m->streams[i].name);
		free(m->streams[i].storage);
		xorb_strv_free(m->streams[i].consumers, m->streams[i].n_consumers);
	}
	free(m->streams);
	for (i = 0; i < m->n_skipped; i++) {
		free(m->skipped[i].name);
		free(m->skipped[i].reason);
	}
	free(m->skipped);
	xorb_entries_free(m->entries, m->n_entries);
	free(m->archive_key);
	free(m->sealed_manifest);
	xorb_strv_free(m->recipients, m->n_recipients);
	memset(m, 0, sizeof(*m));
}

void xorb_manifest_free(struct xorb_manifest *m)
{
	xorb_manifest_release(m);
	free(m);
}

const struct xorb_entry *xorb_manifest_entry(const struct xorb_manifest *m, const char *path)
{
	size_t i;

	for (i = 0; i < m->n_entries; i++)
		if (!strcmp(m->entries[i].path, path))
			return &m->entries[i];
	return NULL;
}

const struct xorb_manifest_stream *xorb_manifest_stream(const struct xorb_manifest *m,
							const char *name)
{
	size_t i;

	for (i = 0; i < m->n_streams; i++)
		if (!strcmp(m->streams[i].name, name))
			return &m->streams[i];
	return NULL;
}

int xorb_manifest_compare(const struct xorb_manifest *a, const struct xorb_manifest *b,
			  char *why, size_t whylen)
{
	struct xorb_buf ja, jb;
	size_t i;
	int rc;

	/* Same serialisation without the archive member means same content. */
	xorb_buf_init(&ja);
	xorb_buf_init(&jb);
	if (xorb_manifest_to_json(a, 0, &ja) || xorb_manifest_to_json(b, 0, &jb)) {
		snprintf(why, whylen, "out of memory");
		rc = -1;
		goto out;
	}
	rc = ja.len != jb.len || memcmp(ja.data, jb.data, ja.len);
	if (rc) {
		if (strcmp(a->backup_id, b->backup_id) || strcmp(a->tenant, b->tenant))
			snprintf(why, whylen, "they name different backups (%s/%s vs %s/%s)", a->tenant,
				 a->backup_id, b->tenant, b->backup_id);
		else if (a->n_entries != b->n_entries)
			snprintf(why, whylen, "they list %zu and %zu entries", a->n_entries, b->n_entries);
		else {
			snprintf(why, whylen, "their content differs");
			for (i = 0; i < a->n_entries; i++)
				if (strcmp(a->entries[i].path, b->entries[i].path) ||
				    strcmp(a->entries[i].sha256, b->entries[i].sha256) ||
				    a->entries[i].size != b->entries[i].size) {
					snprintf(why, whylen, "they disagree on entry \"%s\"",
						 a->entries[i].path);
					break;
				}
		}
	}
out:
	xorb_buf_release(&ja);
	xorb_buf_release(&jb);
	return rc;
}

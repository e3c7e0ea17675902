/*
 * xorb-backup show, stats and diff: see xorb_show.h.
 *
 * Decisions (also in README.md, "Looking into backups"):
 * - Sidecars only. The sidecar is the manifest plus the archive's key, size
 *   and SHA-256: everything these commands show is there, so no archive is
 *   opened (a backup whose archive is gone or sits in cold storage is still
 *   shown; `xorb-verify` is what proves an archive whole). A sidecar is used
 *   only when it describes its own location, as for `list`.
 * - Absent values: a string that is NULL or "" (the manifest's "unknown",
 *   e.g. the cluster of a single server) and a negative number are absent:
 *   "-" in text, left out of --json. Nothing is invented.
 * - show TENANT [ID]: ID defaults to the newest ("latest"). Text: a header,
 *   a table of streams, the consumers of each stream, the skipped streams
 *   with their reasons; -v adds each snapshot's size, parts and SHA-256.
 * - stats [TENANT]: per tenant, from every readable sidecar: backups,
 *   oldest and newest id, total / average / newest archive bytes, messages
 *   and streams of the newest. An unreadable sidecar is named in a warning
 *   and not counted (exit 1, as `list`); a TENANT without any backup is a
 *   row of zeros and a warning (exit 1: a typo must not look like "fine").
 * - diff TENANT ID1 ID2: ID1 is "from", ID2 "to" (either may be "latest").
 *   Compared per stream: storage, messages, bytes, first and last sequence,
 *   replicas, the set of consumer names; streams added and removed; streams
 *   skipped in one and not the other. Not compared: snapshot bytes and
 *   digests (two snapshots of an unchanged stream differ), the server and
 *   the times (shown in the header). Exit like diff(1): 0 identical, 1
 *   different, 2 error; -q prints nothing, -v also lists unchanged streams.
 * - Options: the store options, --json, -q, -v, --log-format. Any command
 *   option (check_cmd_opts in xorb-backup.c) and any connection option
 *   (-s, --creds, ...: they never connect) is a usage error, exit 64, as is
 *   a missing or extra argument, a bad tenant name or a malformed id.
 * - Errors: nothing on stdout, the message on stderr, exit 2. An unknown id
 *   says how to list the ids (`xorb-backup list TENANT`).
 */
#include "xorb_show.h"

#include "xorb_age.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xorb_bundle.h"
#include "xorb_json.h"
#include "xorb_manifest.h"
#include "xorb_names.h"
#include "xorb_nats.h"

bool xorb_show_conn_option(int opt)
{
	switch (opt) {
	case 's':
	case XORB_OPT_CREDS:
	case XORB_OPT_USER:
	case XORB_OPT_PASSWORD:
	case XORB_OPT_TLSCERT:
	case XORB_OPT_TLSKEY:
	case XORB_OPT_TLSCA:
	case XORB_OPT_TIMEOUT:
	case XORB_OPT_CONTEXT:
		return true;
	default:
		return false;
	}
}

/* ---- absent values ---- */

static bool have_str(const char *s)
{
	return s && *s;
}

/* For text output: "-" when absent, and a copy whose control characters
 * (a hostile sidecar's escape sequences) are shown as '?'. Sixteen rotating
 * buffers: enough for one printf. Longer text is cut. */
static const char *or_dash(const char *s)
{
	static char ring[16][4200];
	static unsigned next;
	char *b;
	size_t i;

	if (!have_str(s))
		return "-";
	b = ring[next++ % 16];
	for (i = 0; s[i] && i < sizeof(ring[0]) - 1; i++)
		b[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	b[i] = '\0';
	return b;
}

static void add_str(cJSON *o, const char *key, const char *s)
{
	if (have_str(s))
		cJSON_AddStringToObject(o, key, s);
}

static void add_num(cJSON *o, const char *key, int64_t v)
{
	if (v >= 0)
		xorb_json_add_int(o, key, v);
}

static const char *num_text(int64_t v, char *buf, size_t len)
{
	if (v < 0)
		return "-";
	snprintf(buf, len, "%" PRId64, v);
	return buf;
}

static const char *size_text(int64_t v, char *buf, size_t len)
{
	return v < 0 ? "-" : xorb_cli_bytes((uint64_t)v, buf, len);
}

/* "2026-11-27T17:05:08Z" (fraction of a second allowed) as UTC. */
static bool parse_time(const char *s, time_t *t)
{
	struct tm tm;
	const char *p;
	int n = 0;

	if (!have_str(s))
		return false;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec, &n) != 6)
		return false;
	p = s + n;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	if (strcmp(p, "Z"))
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*t = timegm(&tm);
	return *t != (time_t)-1;
}

/* Seconds from created to completed, or -1 when either is absent. */
static int64_t duration(const struct xorb_manifest *m)
{
	time_t a, b;

	if (!parse_time(m->created, &a) || !parse_time(m->completed, &b) || b < a)
		return -1;
	return (int64_t)(b - a);
}

static const char *duration_text(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		return "-";
	if (s < 60)
		snprintf(buf, len, "%" PRId64 " s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m%02" PRId64 "s", s / 3600, (s % 3600) / 60, s % 60);
	return buf;
}

struct totals {
	int64_t messages, bytes, consumers, snapshot_bytes;
};

/* Sums of the streams' values that are present. */
static struct totals totals_of(const struct xorb_manifest *m)
{
	struct totals t = { 0, 0, 0, 0 };
	size_t i;

	if (m->sealed) { /* encrypted, not opened: the sidecar's totals */
		t.messages = m->total_messages;
		t.bytes = m->total_bytes;
		t.consumers = -1;
		return t;
	}
	for (i = 0; i < m->n_streams; i++) {
		const struct xorb_manifest_stream *s = &m->streams[i];

		t.messages += s->messages > 0 ? s->messages : 0;
		t.bytes += s->bytes > 0 ? s->bytes : 0;
		t.consumers += (int64_t)s->n_consumers;
		t.snapshot_bytes += (int64_t)s->snapshot.size;
	}
	return t;
}

/* ---- arguments, store, sidecars ---- */

static int check_conn(struct xorb_cli *c, const char *sub, const char *conn_opt)
{
	if (conn_opt)
		return xorb_cli_usage_error(c, "%s: %s does not apply (%s reads the store's sidecars only and never connects to NATS)",
					    sub, conn_opt, sub);
	return 0;
}

static int check_tenant(struct xorb_cli *c, const char *sub, const char *tenant)
{
	struct xorb_error err = { 0, "" };

	if (xorb_tenant_check(tenant, &err))
		return xorb_cli_usage_error(c, "%s: %s", sub, err.msg);
	return 0;
}

static int check_id(struct xorb_cli *c, const char *sub, const char *tenant, const char *id)
{
	if (strcmp(id, "latest") && !xorb_backup_id_parse(id, NULL))
		return xorb_cli_usage_error(c, "%s: \"%s\" is not a backup id (like 20261127T170508Z-3fa9c1) or \"latest\"; `xorb-backup list %s` lists the ids",
					    sub, id, tenant);
	return 0;
}

static int open_store(struct xorb_cli *c, const char *sub, struct xorb_store **s)
{
	struct xorb_error err = { 0, "" };

	if (xorb_cli_open_store(c, NULL, XORB_STORE_READ, s, &err)) {
		xorb_cli_error(c, "%s: %s", sub, err.msg);
		return XORB_EXIT_FAIL;
	}
	return 0;
}

/* The sidecar of id ("latest": the newest) of tenant; the error printed. */
static int load(struct xorb_cli *c, struct xorb_store *s, const char *sub, const char *tenant, const char *id,
		struct xorb_manifest **m)
{
	struct xorb_error err = { 0, "" };
	int rc = xorb_bundle_load(s, tenant, id, m, &err);

	if (rc == XORB_ENOTFOUND && strcmp(id, "latest"))
		xorb_cli_error(c, "%s: backup %s of tenant \"%s\" is not in store \"%s\" (there is no sidecar %s/%s.json: a wrong id, a pruned backup or one that never completed): `xorb-backup list %s` lists the backups of the tenant",
			       sub, id, tenant, xorb_store_url(s), tenant, id, tenant);
	else if (rc == XORB_ENOTFOUND)
		xorb_cli_error(c, "%s: tenant \"%s\" has no complete backup in store \"%s\": check the tenant name and --store; `xorb-backup list` lists the backups of every tenant",
			       sub, tenant, xorb_store_url(s));
	else if (rc)
		xorb_cli_error(c, "%s: cannot read backup %s of tenant \"%s\": %s", sub, id, tenant, err.msg);
	if (!rc && (*m)->sealed && c->n_identity_files) {
		/* an encrypted backup and --identity: its sealed manifest opened */
		struct xorb_age_identity **ids = NULL;
		struct xorb_manifest *full = NULL;
		size_t n = 0;

		if (xorb_cli_identities(c, c->identity_files, c->n_identity_files, &ids, &n))
			return XORB_EXIT_FAIL;
		rc = xorb_bundle_unseal(*m, ids, n, &full, &err);
		xorb_age_identities_free(ids, n);
		if (rc) {
			xorb_cli_error(c, "%s: %s", sub, err.msg);
			return XORB_EXIT_FAIL;
		}
		full->open_ids = NULL; /* not walked here: the keys are gone */
		full->n_open_ids = 0;
		xorb_manifest_free(*m);
		*m = full;
	}
	return rc ? XORB_EXIT_FAIL : 0;
}

/* ---- show ---- */

static cJSON *consumer_names(const struct xorb_manifest_stream *s)
{
	cJSON *a = cJSON_CreateArray();
	size_t k;

	for (k = 0; a && k < s->n_consumers; k++)
		if (have_str(s->consumers[k]))
			cJSON_AddItemToArray(a, cJSON_CreateString(s->consumers[k]));
	return a;
}

static cJSON *show_json(const struct xorb_manifest *m)
{
	cJSON *j = cJSON_CreateObject(), *o, *arr;
	struct totals t = totals_of(m);
	size_t i;

	if (!j)
		return NULL;
	add_str(j, "tenant", m->tenant);
	add_str(j, "backup_id", m->backup_id);
	add_str(j, "created", m->created);
	add_str(j, "completed", m->completed);
	add_num(j, "duration_seconds", duration(m));
	if (m->format_version > 0)
		xorb_json_add_int(j, "format_version", m->format_version);
	add_str(j, "tool_version", m->tool_version);
	o = cJSON_CreateObject();
	add_str(o, "version", m->server_version);
	add_str(o, "name", m->server_name);
	add_str(o, "cluster", m->cluster);
	if (cJSON_GetArraySize(o))
		cJSON_AddItemToObject(j, "server", o);
	else
		cJSON_Delete(o);
	if (m->has_archive) {
		o = cJSON_AddObjectToObject(j, "archive");
		add_str(o, "key", m->archive_key);
		xorb_json_add_int(o, "size", (int64_t)m->archive_size);
		add_str(o, "sha256", m->archive_sha256);
	}
	if (m->archive_encrypted) {
		o = cJSON_AddObjectToObject(j, "encryption");
		cJSON_AddStringToObject(o, "format", "age-v1");
		cJSON_AddBoolToObject(o, "opened", !m->sealed);
		if (m->sealed) {
			cJSON *r = cJSON_AddArrayToObject(o, "recipients");

			for (i = 0; i < m->n_recipients; i++)
				cJSON_AddItemToArray(r, cJSON_CreateString(m->recipients[i]));
		}
	}
	o = cJSON_AddObjectToObject(j, "totals");
	xorb_json_add_int(o, "streams", m->sealed ? m->total_streams : (int64_t)m->n_streams);
	xorb_json_add_int(o, "skipped", (int64_t)m->n_skipped);
	xorb_json_add_int(o, "messages", t.messages);
	xorb_json_add_int(o, "bytes", t.bytes);
	xorb_json_add_int(o, "consumers", t.consumers);
	xorb_json_add_int(o, "snapshot_bytes", t.snapshot_bytes);
	xorb_json_add_int(o, "entries", (int64_t)m->n_entries);
	arr = cJSON_AddArrayToObject(j, "streams");
	for (i = 0; i < m->n_streams; i++) {
		const struct xorb_manifest_stream *s = &m->streams[i];
		cJSON *st = cJSON_CreateObject(), *snap;

		cJSON_AddItemToArray(arr, st);
		add_str(st, "name", s->name);
		add_str(st, "storage", s->storage);
		add_num(st, "messages", s->messages);
		add_num(st, "bytes", s->bytes);
		add_num(st, "first_seq", s->first_seq);
		add_num(st, "last_seq", s->last_seq);
		add_num(st, "replicas", s->replicas);
		xorb_json_add_int(st, "consumer_count", (int64_t)s->n_consumers);
		cJSON_AddItemToObject(st, "consumers", consumer_names(s));
		if (s->snapshot.sha256[0]) {
			snap = cJSON_AddObjectToObject(st, "snapshot");
			xorb_json_add_int(snap, "size", (int64_t)s->snapshot.size);
			xorb_json_add_int(snap, "parts", s->snapshot.parts);
			cJSON_AddStringToObject(snap, "sha256", s->snapshot.sha256);
		}
	}
	arr = cJSON_AddArrayToObject(j, "skipped");
	for (i = 0; i < m->n_skipped; i++) {
		o = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, o);
		add_str(o, "name", m->skipped[i].name);
		add_str(o, "reason", m->skipped[i].reason);
	}
	return j;
}

static void show_text(const struct xorb_manifest *m, int verbose)
{
	struct totals t = totals_of(m);
	char b1[32], b2[32], b3[32], b4[32], b5[32];
	int w = 6;
	size_t i, k;
	bool any = false;

	printf("backup %s of tenant %s\n", or_dash(m->backup_id), or_dash(m->tenant));
	printf("  created    %s\n", or_dash(m->created));
	printf("  completed  %s (took %s)\n", or_dash(m->completed), duration_text(duration(m), b1, sizeof(b1)));
	printf("  tool       xorb-dr %s, archive format %s\n", or_dash(m->tool_version),
	       num_text(m->format_version > 0 ? m->format_version : -1, b1, sizeof(b1)));
	printf("  server     nats-server %s, name %s, cluster %s\n", or_dash(m->server_version), or_dash(m->server_name),
	       or_dash(m->cluster));
	if (m->has_archive)
		printf("  archive    %s, %s (%" PRIu64 " bytes), sha256 %.16s%s\n", or_dash(m->archive_key),
		       xorb_cli_bytes(m->archive_size, b1, sizeof(b1)), m->archive_size, or_dash(m->archive_sha256),
		       strlen(m->archive_sha256) > 16 ? "..." : "");
	else
		printf("  archive    -\n");
	if (m->sealed) {
		printf("  encrypted  age, to");
		for (i = 0; i < m->n_recipients; i++)
			printf("%s %s", i ? "," : "", m->recipients[i]);
		printf("\n  content    %" PRId64 " stream%s, %" PRId64 " messages, %s; the names are sealed: "
		       "--identity FILE shows the streams and consumers\n",
		       m->total_streams, m->total_streams == 1 ? "" : "s", t.messages,
		       xorb_cli_bytes((uint64_t)t.bytes, b1, sizeof(b1)));
		return;
	}
	if (m->archive_encrypted)
		printf("  encrypted  age (opened with the identity given)\n");
	printf("  content    %zu stream%s, %" PRId64 " messages, %s, %" PRId64 " consumer%s; %zu skipped\n", m->n_streams,
	       m->n_streams == 1 ? "" : "s", t.messages, xorb_cli_bytes((uint64_t)t.bytes, b1, sizeof(b1)), t.consumers,
	       t.consumers == 1 ? "" : "s", m->n_skipped);
	if (!m->n_streams) {
		printf("\nno stream saved\n");
	} else {
		for (i = 0; i < m->n_streams; i++)
			if (m->streams[i].name && (int)strlen(m->streams[i].name) > w)
				w = (int)strlen(m->streams[i].name);
		printf("\n%-*s  %-7s  %10s  %10s  %12s  %12s  %8s  %9s\n", w, "STREAM", "STORAGE", "MESSAGES", "BYTES",
		       "FIRST SEQ", "LAST SEQ", "REPLICAS", "CONSUMERS");
		for (i = 0; i < m->n_streams; i++) {
			const struct xorb_manifest_stream *s = &m->streams[i];

			printf("%-*s  %-7s  %10s  %10s  %12s  %12s  %8s  %9zu\n", w, or_dash(s->name), or_dash(s->storage),
			       num_text(s->messages, b1, sizeof(b1)), size_text(s->bytes, b2, sizeof(b2)),
			       num_text(s->first_seq, b3, sizeof(b3)), num_text(s->last_seq, b4, sizeof(b4)),
			       num_text(s->replicas, b5, sizeof(b5)), s->n_consumers);
		}
	}
	for (i = 0; i < m->n_streams; i++)
		if (m->streams[i].n_consumers) {
			const struct xorb_manifest_stream *s = &m->streams[i];

			if (!any)
				printf("\nConsumers:\n");
			any = true;
			printf("  %s:", or_dash(s->name));
			for (k = 0; k < s->n_consumers; k++)
				printf("%s %s", k ? "," : "", or_dash(s->consumers[k]));
			printf("\n");
		}
	if (!any && m->n_streams)
		printf("\nConsumers: none\n");
	if (m->n_skipped) {
		printf("\nSkipped (not in this backup):\n");
		for (i = 0; i < m->n_skipped; i++)
			printf("  %s: %s\n", or_dash(m->skipped[i].name), or_dash(m->skipped[i].reason));
	}
	if (verbose && m->n_streams) {
		printf("\nSnapshots (%" PRId64 " bytes in %zu archive entries):\n", t.snapshot_bytes, m->n_entries);
		for (i = 0; i < m->n_streams; i++) {
			const struct xorb_manifest_stream *s = &m->streams[i];

			if (s->snapshot.parts)
				printf("  %s: %" PRIu64 " bytes in %u parts, sha256 of the parts' digests %s\n", or_dash(s->name),
				       s->snapshot.size, s->snapshot.parts, or_dash(s->snapshot.sha256));
			else
				printf("  %s: %" PRIu64 " bytes in one entry, sha256 %s\n", or_dash(s->name), s->snapshot.size,
				       or_dash(s->snapshot.sha256));
		}
	}
}

int xorb_show_main(struct xorb_cli *c, char **argv, int argc, const char *conn_opt)
{
	struct xorb_store *s = NULL;
	struct xorb_manifest *m = NULL;
	const char *tenant = argc > 0 ? argv[0] : NULL, *id = argc > 1 ? argv[1] : "latest";
	int rc;

	if (check_conn(c, "show", conn_opt))
		return XORB_EXIT_USAGE;
	if (!tenant)
		return xorb_cli_usage_error(c, "show: missing argument TENANT (show TENANT [ID|latest]; `xorb-backup list` lists the backups)");
	if (argc > 2)
		return xorb_cli_usage_error(c, "show: unexpected argument \"%s\" (too many arguments: show TENANT [ID|latest])", argv[2]);
	if (check_tenant(c, "show", tenant) || check_id(c, "show", tenant, id))
		return XORB_EXIT_USAGE;
	c->tenant = tenant;
	rc = open_store(c, "show", &s);
	if (!rc)
		rc = load(c, s, "show", tenant, id, &m);
	if (!rc) {
		if (c->json)
			xorb_cli_json_emit(show_json(m), "\n");
		else if (!c->quiet)
			show_text(m, c->verbose);
	}
	xorb_manifest_free(m);
	xorb_store_free(s);
	return rc;
}

/* ---- stats ---- */

struct tstat {
	char tenant[XORB_TENANT_MAX + 1];
	size_t backups, unreadable;
	char newest_id[XORB_BACKUP_ID_LEN + 1], oldest_id[XORB_BACKUP_ID_LEN + 1];
	char newest_created[40], oldest_created[40];
	uint64_t total, last;
	int64_t newest_messages;
	size_t newest_streams;
};

static struct tstat *tstat_get(struct tstat **v, size_t *n, const char *tenant, size_t tl)
{
	struct tstat *t;
	size_t i;

	for (i = 0; i < *n; i++)
		if (strlen((*v)[i].tenant) == tl && !strncmp((*v)[i].tenant, tenant, tl))
			return &(*v)[i];
	t = realloc(*v, (*n + 1) * sizeof(**v));
	if (!t)
		return NULL;
	*v = t;
	t = &(*v)[(*n)++];
	memset(t, 0, sizeof(*t));
	snprintf(t->tenant, sizeof(t->tenant), "%.*s", (int)tl, tenant);
	t->newest_messages = -1;
	return t;
}

static int tstat_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tstat *)a)->tenant, ((const struct tstat *)b)->tenant);
}

/* Counts the readable sidecar key into its tenant's row; keys come newest
 * first. Returns 1 when the sidecar could not be used (warning printed). */
static int stats_add(struct xorb_cli *c, struct xorb_store *s, const char *key, struct tstat *t)
{
	struct xorb_error err = { 0, "" };
	struct xorb_manifest *m = NULL;
	char *text = NULL, what[200];
	size_t len = 0;

	snprintf(what, sizeof(what), "sidecar \"%s\"", key);
	if (xorb_store_get_all(s, key, XORB_MANIFEST_MAX, &text, &len, &err) ||
	    xorb_manifest_parse(text, len, what, &m, &err) || xorb_bundle_check_location(m, key, &err)) {
		xorb_cli_warn(c, "stats: %s; not counted (list leaves it out too: fix or remove that sidecar)", err.msg);
		free(text);
		xorb_manifest_free(m);
		t->unreadable++;
		return 1;
	}
	free(text);
	if (!t->backups) {
		snprintf(t->newest_id, sizeof(t->newest_id), "%s", or_dash(m->backup_id));
		snprintf(t->newest_created, sizeof(t->newest_created), "%s", have_str(m->created) ? m->created : "");
		t->last = m->has_archive ? m->archive_size : 0;
		t->newest_messages = totals_of(m).messages;
		t->newest_streams = m->sealed ? (size_t)m->total_streams : m->n_streams;
	}
	snprintf(t->oldest_id, sizeof(t->oldest_id), "%s", or_dash(m->backup_id));
	snprintf(t->oldest_created, sizeof(t->oldest_created), "%s", have_str(m->created) ? m->created : "");
	t->total += m->has_archive ? m->archive_size : 0;
	t->backups++;
	xorb_manifest_free(m);
	return 0;
}

static cJSON *stats_json(const struct tstat *v, size_t n)
{
	cJSON *j = cJSON_CreateObject(), *arr, *o;
	size_t i, backups = 0, unreadable = 0;
	uint64_t total = 0;

	if (!j)
		return NULL;
	arr = cJSON_AddArrayToObject(j, "tenants");
	for (i = 0; i < n; i++) {
		const struct tstat *t = &v[i];

		o = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, o);
		cJSON_AddStringToObject(o, "tenant", t->tenant);
		xorb_json_add_int(o, "backups", (int64_t)t->backups);
		if (t->backups) {
			cJSON_AddStringToObject(o, "oldest_backup_id", t->oldest_id);
			add_str(o, "oldest_created", t->oldest_created);
			cJSON_AddStringToObject(o, "newest_backup_id", t->newest_id);
			add_str(o, "newest_created", t->newest_created);
			xorb_json_add_int(o, "total_archive_bytes", (int64_t)t->total);
			xorb_json_add_int(o, "average_archive_bytes", (int64_t)(t->total / t->backups));
			xorb_json_add_int(o, "last_archive_bytes", (int64_t)t->last);
			xorb_json_add_int(o, "newest_messages", t->newest_messages);
			xorb_json_add_int(o, "newest_streams", (int64_t)t->newest_streams);
		}
		xorb_json_add_int(o, "unreadable", (int64_t)t->unreadable);
		backups += t->backups;
		unreadable += t->unreadable;
		total += t->total;
	}
	o = cJSON_AddObjectToObject(j, "total");
	xorb_json_add_int(o, "tenants", (int64_t)n);
	xorb_json_add_int(o, "backups", (int64_t)backups);
	xorb_json_add_int(o, "archive_bytes", (int64_t)total);
	xorb_json_add_int(o, "unreadable", (int64_t)unreadable);
	return j;
}

static void stats_text(const struct tstat *v, size_t n, const char *store_url)
{
	char b1[32], b2[32], b3[32], b4[32];
	size_t i, backups = 0;
	uint64_t total = 0;
	int w = 6;

	if (!n) {
		printf("no backups in store %s\n", store_url);
		return;
	}
	for (i = 0; i < n; i++)
		if ((int)strlen(v[i].tenant) > w)
			w = (int)strlen(v[i].tenant);
	printf("%-*s  %7s  %-23s  %-23s  %10s  %10s  %10s  %13s\n", w, "TENANT", "BACKUPS", "OLDEST", "NEWEST",
	       "TOTAL SIZE", "AVG SIZE", "LAST SIZE", "LAST MESSAGES");
	for (i = 0; i < n; i++) {
		const struct tstat *t = &v[i];

		if (t->backups)
			printf("%-*s  %7zu  %-23s  %-23s  %10s  %10s  %10s  %13s\n", w, or_dash(t->tenant), t->backups,
			       or_dash(t->oldest_id), or_dash(t->newest_id), xorb_cli_bytes(t->total, b1, sizeof(b1)),
			       xorb_cli_bytes(t->total / t->backups, b2, sizeof(b2)), xorb_cli_bytes(t->last, b3, sizeof(b3)),
			       num_text(t->newest_messages, b4, sizeof(b4)));
		else
			printf("%-*s  %7d  %-23s  %-23s  %10s  %10s  %10s  %13s\n", w, or_dash(t->tenant), 0, "-", "-", "-", "-", "-",
			       "-");
		backups += t->backups;
		total += t->total;
	}
	printf("%zu tenant%s, %zu backup%s, %s of archives (sizes: archive bytes; LAST: the newest backup)\n",
	       n, n == 1 ? "" : "s", backups, backups == 1 ? "" : "s", xorb_cli_bytes(total, b1, sizeof(b1)));
}

int xorb_stats_main(struct xorb_cli *c, char **argv, int argc, const char *conn_opt)
{
	struct xorb_store *s = NULL;
	struct xorb_error err = { 0, "" };
	const char *tenant = argc > 0 ? argv[0] : NULL;
	struct tstat *v = NULL;
	struct xorb_backup_key *keys = NULL;
	char key[XORB_KEY_MAX];
	size_t n = 0, nt = 0, i;
	int rc, warn = 0;

	if (check_conn(c, "stats", conn_opt))
		return XORB_EXIT_USAGE;
	if (argc > 1)
		return xorb_cli_usage_error(c, "stats: unexpected argument \"%s\" (too many arguments: stats [TENANT])", argv[1]);
	if (tenant && check_tenant(c, "stats", tenant))
		return XORB_EXIT_USAGE;
	c->tenant = tenant;
	rc = open_store(c, "stats", &s);
	if (rc)
		return rc;
	if (xorb_bundle_catalog(s, tenant, &keys, &n, &err)) {
		xorb_cli_error(c, "stats: listing the backups in store \"%s\": %s", xorb_store_url(s), err.msg);
		xorb_store_free(s);
		return XORB_EXIT_FAIL;
	}
	if (tenant && !tstat_get(&v, &nt, tenant, strlen(tenant)))
		rc = XORB_EXIT_FAIL;
	for (i = 0; !rc && i < n; i++) {
		struct tstat *t = tstat_get(&v, &nt, keys[i].tenant, strlen(keys[i].tenant));

		if (!t)
			rc = XORB_EXIT_FAIL;
		else
			warn |= stats_add(c, s, xorb_key_format(key, keys[i].tenant, keys[i].id, XORB_KEY_SIDECAR), t);
	}
	if (rc) {
		xorb_cli_error(c, "stats: out of memory");
	} else {
		if (tenant && !v[0].backups && !v[0].unreadable) {
			xorb_cli_warn(c, "stats: tenant \"%s\" has no complete backup in store \"%s\": check the tenant name and --store; `xorb-backup list` lists the backups of every tenant",
				      tenant, xorb_store_url(s));
			warn = 1;
		}
		if (nt)
			qsort(v, nt, sizeof(*v), tstat_cmp);
		if (c->json)
			xorb_cli_json_emit(stats_json(v, nt), "\n");
		else if (!c->quiet)
			stats_text(v, nt, xorb_store_url(s));
		rc = warn ? XORB_EXIT_WARN : XORB_EXIT_OK;
	}
	free(v);
	free(keys);
	xorb_store_free(s);
	return rc;
}

/* ---- diff ---- */

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted, distinct names of both lists (pointers into them). */
static const char **union_names(const char *const *a, size_t na, const char *const *b, size_t nb, size_t *n)
{
	const char **v = calloc(na + nb + 1, sizeof(*v));
	size_t i, k = 0;

	*n = 0;
	if (!v)
		return NULL;
	for (i = 0; i < na; i++)
		if (a[i])
			v[k++] = a[i];
	for (i = 0; i < nb; i++)
		if (b[i])
			v[k++] = b[i];
	if (k)
		qsort(v, k, sizeof(*v), strp_cmp);
	for (i = 0; i < k; i++)
		if (!*n || strcmp(v[*n - 1], v[i]))
			v[(*n)++] = v[i];
	return v;
}

static bool has_name(const char *const *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] && !strcmp(v[i], name))
			return true;
	return false;
}

static const struct xorb_manifest_skip *skipped_of(const struct xorb_manifest *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_skipped; i++)
		if (m->skipped[i].name && !strcmp(m->skipped[i].name, name))
			return &m->skipped[i];
	return NULL;
}

static bool same_str(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

struct diff_counts {
	unsigned added, removed, changed, unchanged, skipped;
};

static cJSON *side_json(const struct xorb_manifest_stream *s)
{
	cJSON *o = cJSON_CreateObject();

	add_str(o, "storage", s->storage);
	add_num(o, "messages", s->messages);
	add_num(o, "bytes", s->bytes);
	add_num(o, "first_seq", s->first_seq);
	add_num(o, "last_seq", s->last_seq);
	add_num(o, "replicas", s->replicas);
	cJSON_AddItemToObject(o, "consumers", consumer_names(s));
	return o;
}

static cJSON *backup_json(const struct xorb_manifest *m)
{
	cJSON *o = cJSON_CreateObject();
	struct totals t = totals_of(m);

	add_str(o, "backup_id", m->backup_id);
	add_str(o, "created", m->created);
	add_str(o, "completed", m->completed);
	add_str(o, "server_version", m->server_version);
	xorb_json_add_int(o, "streams", (int64_t)m->n_streams);
	xorb_json_add_int(o, "messages", t.messages);
	xorb_json_add_int(o, "bytes", t.bytes);
	if (m->has_archive)
		xorb_json_add_int(o, "archive_bytes", (int64_t)m->archive_size);
	return o;
}

/* "17 messages, 1234 bytes, seq 1..20, 2 consumers" */
static void stream_summary(const struct xorb_manifest_stream *s, char *out, size_t len)
{
	char b1[32], b2[32], b3[32], b4[32];

	snprintf(out, len, "%s, %s messages, %s bytes, seq %s..%s, %zu consumer%s", or_dash(s->storage),
		 num_text(s->messages, b1, sizeof(b1)), num_text(s->bytes, b2, sizeof(b2)),
		 num_text(s->first_seq, b3, sizeof(b3)), num_text(s->last_seq, b4, sizeof(b4)), s->n_consumers,
		 s->n_consumers == 1 ? "" : "s");
}

static void add_change(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void add_change(char *out, size_t len, const char *fmt, ...)
{
	size_t l = strlen(out);
	va_list ap;

	if (l + 2 >= len)
		return;
	if (l)
		l += (size_t)snprintf(out + l, len - l, ", ");
	va_start(ap, fmt);
	vsnprintf(out + l, len - l, fmt, ap);
	va_end(ap);
}

static void delta_text(int64_t a, int64_t b, char *out, size_t len)
{
	if (a < 0 || b < 0)
		snprintf(out, len, "?");
	else
		snprintf(out, len, "%+" PRId64, b - a);
}

/* Compares stream name of a (from) and b (to): the text of its line (""
 * when equal) and its JSON member. Returns 1 when it changed. */
static int diff_stream(const struct xorb_manifest_stream *x, const struct xorb_manifest_stream *y, char *text,
		       size_t len, cJSON *o)
{
	cJSON *fields = cJSON_AddArrayToObject(o, "changed_fields"), *added, *removed;
	char b1[32], b2[32], b3[32], b4[32], d[32];
	size_t k;

	text[0] = '\0';
	if (x->messages >= 0 && y->messages >= 0)
		xorb_json_add_int(o, "messages_delta", y->messages - x->messages);
	if (x->bytes >= 0 && y->bytes >= 0)
		xorb_json_add_int(o, "bytes_delta", y->bytes - x->bytes);
	added = cJSON_AddArrayToObject(o, "consumers_added");
	removed = cJSON_AddArrayToObject(o, "consumers_removed");
	if (!same_str(x->storage, y->storage)) {
		add_change(text, len, "storage %s -> %s", or_dash(x->storage), or_dash(y->storage));
		cJSON_AddItemToArray(fields, cJSON_CreateString("storage"));
	}
	if (x->messages != y->messages) {
		delta_text(x->messages, y->messages, d, sizeof(d));
		add_change(text, len, "messages %s -> %s (%s)", num_text(x->messages, b1, sizeof(b1)),
			   num_text(y->messages, b2, sizeof(b2)), d);
		cJSON_AddItemToArray(fields, cJSON_CreateString("messages"));
	}
	if (x->bytes != y->bytes) {
		delta_text(x->bytes, y->bytes, d, sizeof(d));
		add_change(text, len, "bytes %s -> %s (%s)", num_text(x->bytes, b1, sizeof(b1)),
			   num_text(y->bytes, b2, sizeof(b2)), d);
		cJSON_AddItemToArray(fields, cJSON_CreateString("bytes"));
	}
	if (x->first_seq != y->first_seq || x->last_seq != y->last_seq) {
		add_change(text, len, "seq %s..%s -> %s..%s", num_text(x->first_seq, b1, sizeof(b1)),
			   num_text(x->last_seq, b2, sizeof(b2)), num_text(y->first_seq, b3, sizeof(b3)),
			   num_text(y->last_seq, b4, sizeof(b4)));
		if (x->first_seq != y->first_seq)
			cJSON_AddItemToArray(fields, cJSON_CreateString("first_seq"));
		if (x->last_seq != y->last_seq)
			cJSON_AddItemToArray(fields, cJSON_CreateString("last_seq"));
	}
	if (x->replicas != y->replicas) {
		add_change(text, len, "replicas %s -> %s", num_text(x->replicas, b1, sizeof(b1)),
			   num_text(y->replicas, b2, sizeof(b2)));
		cJSON_AddItemToArray(fields, cJSON_CreateString("replicas"));
	}
	for (k = 0; k < y->n_consumers; k++)
		if (y->consumers[k] && !has_name((const char *const *)x->consumers, x->n_consumers, y->consumers[k])) {
			add_change(text, len, "consumer +%s", y->consumers[k]);
			cJSON_AddItemToArray(added, cJSON_CreateString(y->consumers[k]));
		}
	for (k = 0; k < x->n_consumers; k++)
		if (x->consumers[k] && !has_name((const char *const *)y->consumers, y->n_consumers, x->consumers[k])) {
			add_change(text, len, "consumer -%s", x->consumers[k]);
			cJSON_AddItemToArray(removed, cJSON_CreateString(x->consumers[k]));
		}
	if (cJSON_GetArraySize(added) || cJSON_GetArraySize(removed))
		cJSON_AddItemToArray(fields, cJSON_CreateString("consumers"));
	return text[0] != '\0';
}

static void backup_line(const char *mark, const struct xorb_manifest *m)
{
	struct totals t = totals_of(m);

	printf("%s %s/%s  created %s  nats-server %s  %zu stream%s, %" PRId64 " messages\n", mark, or_dash(m->tenant),
	       or_dash(m->backup_id), or_dash(m->created), or_dash(m->server_version), m->n_streams,
	       m->n_streams == 1 ? "" : "s", t.messages);
}

/* Prints (text, unless quiet) and builds (json) the differences; returns
 * 1 when there are any. */
static int diff_run(struct xorb_cli *c, const struct xorb_manifest *a, const struct xorb_manifest *b, cJSON *j)
{
	const char **an = calloc(a->n_streams + a->n_skipped + 1, sizeof(char *));
	const char **bn = calloc(b->n_streams + b->n_skipped + 1, sizeof(char *));
	const char **names = NULL;
	struct diff_counts n = { 0, 0, 0, 0, 0 };
	cJSON *streams = cJSON_AddArrayToObject(j, "streams"), *skipped = cJSON_AddArrayToObject(j, "skipped"), *o;
	bool text = !c->json && !c->quiet;
	char line[4096], sum[512];
	size_t i, nn = 0;

	if (!an || !bn) {
		free(an);
		free(bn);
		return -1;
	}
	for (i = 0; i < a->n_streams; i++)
		an[i] = a->streams[i].name;
	for (i = 0; i < b->n_streams; i++)
		bn[i] = b->streams[i].name;
	names = union_names(an, a->n_streams, bn, b->n_streams, &nn);
	if (!names) {
		free(an);
		free(bn);
		return -1;
	}
	if (text) {
		backup_line("---", a);
		backup_line("+++", b);
	}
	for (i = 0; i < nn; i++) {
		const struct xorb_manifest_stream *x = xorb_manifest_stream(a, names[i]);
		const struct xorb_manifest_stream *y = xorb_manifest_stream(b, names[i]);

		o = cJSON_CreateObject();
		cJSON_AddItemToArray(streams, o);
		cJSON_AddStringToObject(o, "name", names[i]);
		if (x && y) {
			int changed;

			cJSON_AddStringToObject(o, "change", "");
			cJSON_AddItemToObject(o, "from", side_json(x));
			cJSON_AddItemToObject(o, "to", side_json(y));
			changed = diff_stream(x, y, line, sizeof(line), o);
			cJSON_ReplaceItemInObjectCaseSensitive(o, "change", cJSON_CreateString(changed ? "changed" : "unchanged"));
			if (changed)
				n.changed++;
			else
				n.unchanged++;
			if (text && changed)
				printf("~ stream %s: %s\n", or_dash(names[i]), or_dash(line));
			else if (text && c->verbose)
				printf("= stream %s\n", or_dash(names[i]));
		} else if (y) {
			n.added++;
			cJSON_AddStringToObject(o, "change", "added");
			cJSON_AddItemToObject(o, "to", side_json(y));
			stream_summary(y, line, sizeof(line));
			if (text)
				printf("+ stream %s: %s%s%s\n", or_dash(names[i]), or_dash(line), skipped_of(a, names[i]) ? "; skipped in " : "",
				       skipped_of(a, names[i]) ? or_dash(a->backup_id) : "");
		} else {
			n.removed++;
			cJSON_AddStringToObject(o, "change", "removed");
			cJSON_AddItemToObject(o, "from", side_json(x));
			stream_summary(x, line, sizeof(line));
			if (text)
				printf("- stream %s: %s%s%s\n", or_dash(names[i]), or_dash(line), skipped_of(b, names[i]) ? "; skipped in " : "",
				       skipped_of(b, names[i]) ? or_dash(b->backup_id) : "");
		}
	}
	free(names);
	/* streams skipped in one backup and not in the other */
	for (i = 0; i < a->n_skipped; i++)
		an[i] = a->skipped[i].name;
	for (i = 0; i < b->n_skipped; i++)
		bn[i] = b->skipped[i].name;
	names = union_names(an, a->n_skipped, bn, b->n_skipped, &nn);
	if (!names) {
		free(an);
		free(bn);
		return -1;
	}
	for (i = 0; i < nn; i++) {
		const struct xorb_manifest_skip *x = skipped_of(a, names[i]), *y = skipped_of(b, names[i]);

		if (x && y)
			continue;
		n.skipped++;
		o = cJSON_CreateObject();
		cJSON_AddItemToArray(skipped, o);
		cJSON_AddStringToObject(o, "name", names[i]);
		cJSON_AddStringToObject(o, "change", y ? "added" : "removed");
		add_str(o, "reason", y ? y->reason : x->reason);
		if (text)
			printf("%s skipped %s: %s\n", y ? "+" : "-", or_dash(names[i]), or_dash(y ? y->reason : x->reason));
	}
	free(names);
	free(an);
	free(bn);
	o = cJSON_AddObjectToObject(j, "summary");
	xorb_json_add_int(o, "added", n.added);
	xorb_json_add_int(o, "removed", n.removed);
	xorb_json_add_int(o, "changed", n.changed);
	xorb_json_add_int(o, "unchanged", n.unchanged);
	xorb_json_add_int(o, "skipped_changed", n.skipped);
	snprintf(sum, sizeof(sum), "%u changed, %u added, %u removed, %u unchanged stream%s", n.changed, n.added,
		 n.removed, n.unchanged, n.unchanged == 1 ? "" : "s");
	if (n.skipped)
		snprintf(sum + strlen(sum), sizeof(sum) - strlen(sum), "; %u skipped stream%s differ", n.skipped,
			 n.skipped == 1 ? "" : "s");
	if (text && (n.added || n.removed || n.changed || n.skipped))
		printf("%s\n", sum);
	else if (text)
		printf("identical: %u stream%s with the same storage, messages, bytes, sequences, replicas and consumers\n",
		       n.unchanged, n.unchanged == 1 ? "" : "s");
	return n.added || n.removed || n.changed || n.skipped;
}

int xorb_diff_main(struct xorb_cli *c, char **argv, int argc, const char *conn_opt)
{
	struct xorb_store *s = NULL;
	struct xorb_manifest *a = NULL, *b = NULL;
	const char *tenant = argc > 0 ? argv[0] : NULL;
	cJSON *j = NULL;
	int rc, d;

	if (check_conn(c, "diff", conn_opt))
		return XORB_EXIT_USAGE;
	if (argc < 3)
		return xorb_cli_usage_error(c, "diff: missing argument %s (diff TENANT ID1 ID2, either id may be \"latest\"; `xorb-backup list TENANT` lists the ids)",
					    argc == 0 ? "TENANT" : argc == 1 ? "ID1 and ID2" : "ID2");
	if (argc > 3)
		return xorb_cli_usage_error(c, "diff: unexpected argument \"%s\" (too many arguments: diff TENANT ID1 ID2)", argv[3]);
	if (check_tenant(c, "diff", tenant) || check_id(c, "diff", tenant, argv[1]) || check_id(c, "diff", tenant, argv[2]))
		return XORB_EXIT_USAGE;
	c->tenant = tenant;
	rc = open_store(c, "diff", &s);
	if (!rc)
		rc = load(c, s, "diff", tenant, argv[1], &a);
	if (!rc)
		rc = load(c, s, "diff", tenant, argv[2], &b);
	if (!rc && (a->sealed || b->sealed)) {
		/* the streams of an encrypted backup are sealed: comparing the
		 * sidecars alone would find two different backups "identical" */
		xorb_cli_error(c, "diff: backup %s of tenant \"%s\" is encrypted: its streams are sealed; give --identity FILE to compare them",
			       a->sealed ? a->backup_id : b->backup_id, tenant);
		rc = XORB_EXIT_FAIL;
	}
	if (!rc) {
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "tenant", tenant);
		cJSON_AddItemToObject(j, "from", backup_json(a));
		cJSON_AddItemToObject(j, "to", backup_json(b));
		cJSON_AddBoolToObject(j, "identical", 0);
		d = diff_run(c, a, b, j);
		if (d < 0) {
			xorb_cli_error(c, "diff: out of memory");
			rc = XORB_EXIT_FAIL;
		} else {
			cJSON_ReplaceItemInObjectCaseSensitive(j, "identical", cJSON_CreateBool(!d));
			if (c->json) {
				xorb_cli_json_emit(j, "\n");
				j = NULL;
			}
			rc = d ? XORB_EXIT_WARN : XORB_EXIT_OK;
		}
	}
	cJSON_Delete(j);
	xorb_manifest_free(a);
	xorb_manifest_free(b);
	xorb_store_free(s);
	return rc;
}

/* One tenant backup run: see xorb_backup.h. */
#include "xorb_backup.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xorb_buf.h"
#include "xorb_consumers.h"
#include "xorb_json.h"
#include "xorb_manifest.h"

#include <openssl/crypto.h>

#include "xorb_age.h"
#include "xorb_bundle.h"
#include "xorb_names.h"
#include "xorb_nats.h"
#include "xorb_snapcheck.h"
#include "xorb_version.h"
#include "xorb_util.h"

__attribute__((format(printf, 4, 5))) static void note(const struct xorb_backup_opts *o,
						       enum xorb_note_level lvl,
						       const char *stream, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!o->note)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->note(o->note_arg, lvl, stream, msg);
}

/* Per-stream snapshot sink: backup.json, then the blob through the checker. */
struct stream_sink {
	const struct xorb_backup_opts *o;
	uint64_t done;
	struct xorb_aw *aw;
	struct xorb_snapcheck *check;
	struct xorb_manifest_stream *ms;
	char path[600];
};

static int sink_meta(void *arg, const char *json, size_t len, struct xorb_error *err)
{
	struct stream_sink *k = arg;
	cJSON *j = NULL, *st, *cfg;
	int rc;

	rc = xorb_json_parse(json, len, "the snapshot's backup.json", &j, err);
	if (rc)
		return rc;
	st = cJSON_GetObjectItemCaseSensitive(j, "state");
	cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
	k->ms->messages = xorb_json_int(st, "messages", 0);
	k->ms->bytes = xorb_json_int(st, "bytes", 0);
	k->ms->first_seq = xorb_json_int(st, "first_seq", 0);
	k->ms->last_seq = xorb_json_int(st, "last_seq", 0);
	k->ms->replicas = xorb_json_int(cfg, "num_replicas", 1);
	cJSON_Delete(j);
	snprintf(k->path, sizeof(k->path), "streams/%s/backup.json", k->ms->name);
	rc = xorb_aw_add(k->aw, k->path, json, len, err);
	if (rc)
		return rc;
	snprintf(k->path, sizeof(k->path), "streams/%s/stream.tar.s2", k->ms->name);
	return xorb_aw_blob_begin(k->aw, k->path, err);
}

static int sink_data(void *arg, const void *data, size_t len, struct xorb_error *err)
{
	struct stream_sink *k = arg;
	int rc = xorb_snapcheck_feed(k->check, data, len, err);

	if (!rc)
		rc = xorb_aw_blob_write(k->aw, data, len, err);
	k->done += len;
	if (!rc && k->o->progress)
		k->o->progress(k->o->note_arg, k->ms->name, k->done, (uint64_t)k->ms->bytes);
	return rc;
}

static int save_stream(natsConnection *nc, struct xorb_aw *aw, const struct xorb_backup_opts *o,
		       struct xorb_manifest_stream *ms, uint64_t *snap_bytes, struct xorb_error *err)
{
	struct stream_sink k = { o, 0, aw, NULL, ms, "" };
	struct xorb_snapshot_cb cb = { sink_meta, sink_data, &k };
	struct xorb_snapshot_opts so = o->snap;
	struct xorb_snapshot_stats stats;
	struct xorb_buf record;
	size_t i, n;
	double t0 = xorb_now();
	int rc;

	so.no_consumers = o->no_consumers;
	rc = xorb_snapcheck_new(&k.check);
	if (rc)
		return xorb_error_set(err, rc, "out of memory");
	xorb_buf_init(&record);
	/* The consumers as the server reports them, right before the snapshot
	 * takes their stored state: the restore compares with this record and
	 * repairs what the snapshot lost (xorb_consumers.h). */
	if (!o->no_consumers)
		rc = xorb_consumers_record(nc, ms->name, o->api_timeout_ms, &record, err);
	if (!rc)
		rc = xorb_snapshot_stream(nc, ms->name, &so, &cb, &stats, err);
	if (!rc) {
		rc = xorb_snapcheck_finish(k.check, err);
		if (rc)
			xorb_error_prefix(err, "stream \"%s\": ", ms->name);
	}
	if (!rc)
		rc = xorb_aw_blob_end(aw, &ms->snapshot, err);
	if (!rc && !o->no_consumers) {
		snprintf(k.path, sizeof(k.path), "streams/%s/consumers.json", ms->name);
		rc = xorb_aw_add(aw, k.path, record.data, record.len, err);
	}
	if (rc)
		goto out;
	n = xorb_snapcheck_consumer_count(k.check);
	ms->consumers = calloc(n ? n : 1, sizeof(char *));
	if (!ms->consumers) {
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		ms->consumers[i] = strdup(xorb_snapcheck_consumer(k.check, i));
		if (!ms->consumers[i]) {
			rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
			goto out;
		}
		ms->n_consumers++;
	}
	*snap_bytes = stats.bytes;
	if (stats.spooled)
		note(o, XORB_NOTE_INFO, ms->name,
		     "the store was slower than the snapshot: %" PRIu64 " bytes waited in a temporary file (at most %" PRIu64 " at once)",
		     stats.spooled, stats.spool_peak);
	note(o, XORB_NOTE_INFO, ms->name,
	     "%" PRId64 " messages, %" PRId64 " bytes, %zu consumers, snapshot %" PRIu64 " bytes in %.2f s",
	     ms->messages, ms->bytes, n, stats.bytes, xorb_now() - t0);
out:
	xorb_snapcheck_free(k.check);
	xorb_buf_release(&record);
	return rc;
}

/* The tenant's streams, narrowed by o->streams; sorted. */
static int select_streams(natsConnection *nc, const struct xorb_backup_opts *o, char ***out,
			  size_t *count, struct xorb_error *err)
{
	char **all = NULL, **sel = NULL;
	size_t n = 0, k = 0, i, j;
	int rc;

	*out = NULL;
	*count = 0;
	rc = xorb_js_stream_names(nc, o->api_timeout_ms, &all, &n, err);
	if (rc)
		return xorb_error_prefix(err, "cannot list the account's streams: ");
	sel = calloc(n ? n : 1, sizeof(char *));
	if (!sel) {
		xorb_strv_free(all, n);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	for (i = 0; o->streams && o->streams[i]; i++) {
		const char *want = o->streams[i];

		if (!xorb_stream_of_tenant(want, o->tenant)) {
			rc = xorb_error_set(err, XORB_EINVAL,
					    "stream \"%s\" is not a stream of tenant \"%s\" (tenant streams are named xorb-%s-<domain>-<class>)",
					    want, o->tenant, o->tenant);
			goto out;
		}
		for (j = 0; j < n && strcmp(all[j], want); j++)
			;
		if (j == n) {
			rc = xorb_error_set(err, XORB_ENOTFOUND, "stream \"%s\" does not exist in the account", want);
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		bool take = xorb_stream_of_tenant(all[i], o->tenant);

		if (take && o->streams) {
			take = false;
			for (j = 0; o->streams[j]; j++)
				take = take || !strcmp(o->streams[j], all[i]);
		}
		if (take) {
			sel[k++] = all[i];
			all[i] = NULL;
		}
	}
	if (!k) {
		rc = xorb_error_set(err, XORB_ENOTFOUND,
				    "tenant \"%s\" has no streams in the account these credentials reach (looked for xorb-%s-<domain>-<class> among %zu streams)",
				    o->tenant, o->tenant, n);
		goto out;
	}
	*out = sel;
	*count = k;
	sel = NULL;
out:
	xorb_strv_free(all, n);
	xorb_strv_free(sel, k);
	return rc;
}

static int copy_entries(struct xorb_manifest *m, const struct xorb_aw *aw, struct xorb_error *err)
{
	size_t n = xorb_aw_entry_count(aw), i;

	m->entries = calloc(n ? n : 1, sizeof(*m->entries));
	if (!m->entries)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		const struct xorb_entry *e = xorb_aw_entry(aw, i);

		m->entries[i] = *e;
		m->entries[i].path = strdup(e->path);
		if (!m->entries[i].path)
			return xorb_error_set(err, XORB_ENOMEM, "out of memory");
		m->n_entries++;
	}
	return XORB_OK;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static int buf_write(void *arg, const void *data, size_t len, struct xorb_error *err)
{
	if (xorb_buf_append(arg, data, len))
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	return XORB_OK;
}

/* Turns m into the sealed sidecar of an encrypted backup (struct
 * xorb_manifest): the whole manifest, without its archive member,
 * age-encrypted to the archive's recipients, plus the totals and the
 * recipients' public keys in plain text. */
static int seal(struct xorb_manifest *m, const struct xorb_aw_opts *ao, struct xorb_error *err)
{
	struct xorb_age_enc *e = NULL;
	struct xorb_buf plain, sealed;
	size_t i;
	int rc;

	xorb_buf_init(&plain);
	xorb_buf_init(&sealed);
	m->has_archive = 0;
	rc = xorb_manifest_to_json(m, 0, &plain) ? xorb_error_set(err, XORB_ENOMEM, "out of memory") : XORB_OK;
	m->has_archive = 1;
	if (!rc)
		rc = xorb_age_enc_new(&e, ao->recipients, ao->n_recipients, buf_write, &sealed, err);
	if (!rc)
		rc = xorb_age_enc_write(e, plain.data, plain.len, err);
	if (!rc)
		rc = xorb_age_enc_finish(e, err);
	if (!rc) {
		m->sealed_manifest = malloc(xorb_age_b64_len(sealed.len) + 1);
		m->recipients = calloc(ao->n_recipients, sizeof(char *));
		if (!m->sealed_manifest || !m->recipients)
			rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	for (i = 0; !rc && i < ao->n_recipients; i++) {
		m->recipients[i] = malloc(XORB_AGE_RECIPIENT_LEN + 1);
		if (!m->recipients[i]) {
			rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
			break;
		}
		m->n_recipients++;
		xorb_age_recipient_format(&ao->recipients[i], m->recipients[i]);
	}
	if (!rc) {
		xorb_age_b64_encode(sealed.data, sealed.len, m->sealed_manifest);
		m->total_streams = (int64_t)m->n_streams;
		for (i = 0; i < m->n_streams; i++) {
			m->total_messages += m->streams[i].messages;
			m->total_bytes += m->streams[i].bytes;
		}
		m->sealed = 1;
	}
	xorb_age_enc_free(e);
	if (plain.data)
		OPENSSL_cleanse(plain.data, plain.len);
	xorb_buf_release(&plain);
	xorb_buf_release(&sealed);
	if (rc)
		xorb_error_prefix(err, "sealing the manifest of the encrypted backup: ");
	return rc;
}

int xorb_backup_tenant(natsConnection *nc, struct xorb_store *store,
		       const struct xorb_backup_opts *o, struct xorb_backup_result *res,
		       struct xorb_error *err)
{
	struct xorb_manifest m;
	struct xorb_store_writer *w = NULL;
	struct xorb_aw *aw = NULL;
	struct xorb_aw_opts ao = o->archive;
	struct xorb_buf json;
	cJSON *info = NULL;
	char **names = NULL, *jsinfo = NULL, created[32], done[32], sidecar[XORB_KEY_MAX];
	size_t n = 0, i;
	time_t started = time(NULL);
	double t0 = xorb_now();
	int rc, archive_committed = 0, v2_server = 0;

	memset(res, 0, sizeof(*res));
	memset(&m, 0, sizeof(m));
	xorb_buf_init(&json);
	rc = xorb_tenant_check(o->tenant, err);
	if (rc)
		return rc;
	rc = select_streams(nc, o, &names, &n, err);
	if (rc)
		return rc;
	if (o->backup_id) {
		if (!xorb_backup_id_parse(o->backup_id, NULL)) {
			rc = xorb_error_set(err, XORB_EINVAL, "\"%s\" is not a backup id", o->backup_id);
			goto out;
		}
		snprintf(res->backup_id, sizeof(res->backup_id), "%s", o->backup_id);
	} else {
		rc = xorb_backup_id_new(started, res->backup_id, sizeof(res->backup_id), err);
		if (rc)
			goto out;
	}
	m.archive_encrypted = o->archive.n_recipients > 0;
	xorb_key_format(res->archive_key, o->tenant, res->backup_id, xorb_archive_kind(&m));
	xorb_key_format(sidecar, o->tenant, res->backup_id, XORB_KEY_SIDECAR);
	xorb_time_rfc3339(started, created);
	m.tool_version = strdup(XORB_VERSION);
	m.tenant = strdup(o->tenant);
	m.backup_id = strdup(res->backup_id);
	m.created = strdup(created);
	if (xorb_nats_server_info(nc, &info, NULL) == XORB_OK) {
		m.server_version = dup_or_empty(xorb_json_str(info, "version", ""));
		m.server_name = dup_or_empty(xorb_json_str(info, "server_name", ""));
		m.cluster = dup_or_empty(xorb_json_str(info, "cluster", ""));
	} else {
		m.server_version = dup_or_empty("");
		m.server_name = dup_or_empty("");
		m.cluster = dup_or_empty("");
	}
	m.streams = calloc(n, sizeof(*m.streams));
	m.skipped = calloc(n, sizeof(*m.skipped));
	if (!m.tool_version || !m.tenant || !m.backup_id || !m.created || !m.server_version ||
	    !m.server_name || !m.cluster || !m.streams || !m.skipped) {
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
		goto out;
	}

	{
		struct xorb_version sv;

		v2_server = xorb_version_parse(m.server_version, &sv, NULL) == XORB_OK &&
			    xorb_version_snapshot_format(&sv) == 2;
	}
	rc = xorb_store_put_begin(store, res->archive_key, &w, err);
	if (rc)
		goto out;
	ao.mtime = started;
	rc = xorb_aw_new(&aw, w, &ao, err);
	if (rc)
		goto out;

	for (i = 0; i < n; i++) {
		cJSON *si = NULL;
		const char *storage;
		uint64_t snap = 0;

		rc = xorb_js_stream_info(nc, names[i], o->api_timeout_ms, &si, err);
		if (rc) {
			xorb_error_prefix(err, "stream \"%s\": ", names[i]);
			goto out;
		}
		storage = xorb_json_str(cJSON_GetObjectItemCaseSensitive(si, "config"), "storage", "file");
		/* nats-server 2.15 snapshots memory streams too (v2 format); older
		 * servers cannot */
		if (!strcmp(storage, "memory") && !v2_server) {
			struct xorb_manifest_skip *sk = &m.skipped[m.n_skipped++];

			sk->name = strdup(names[i]);
			sk->reason = strdup("memory storage: nats-server before 2.15 cannot snapshot memory streams");
			cJSON_Delete(si);
			if (!sk->name || !sk->reason) {
				rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
				goto out;
			}
			res->warnings++;
			note(o, XORB_NOTE_WARN, names[i],
			     "skipped: memory storage streams cannot be snapshotted by nats-server %s (2.15 and newer can); this stream is NOT in the backup",
			     *m.server_version ? m.server_version : "(unknown version)");
			continue;
		}
		m.streams[m.n_streams].name = strdup(names[i]);
		m.streams[m.n_streams].storage = strdup(storage);
		cJSON_Delete(si); /* storage pointed into it */
		if (!m.streams[m.n_streams].name || !m.streams[m.n_streams].storage) {
			m.n_streams++;
			rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
			goto out;
		}
		m.n_streams++;
		rc = save_stream(nc, aw, o, &m.streams[m.n_streams - 1], &snap, err);
		if (rc)
			goto out;
		res->streams++;
		res->messages += (uint64_t)m.streams[m.n_streams - 1].messages;
		res->bytes += (uint64_t)m.streams[m.n_streams - 1].bytes;
		res->snapshot_bytes += snap;
	}
	res->skipped = (unsigned)m.n_skipped;
	if (!m.n_streams) {
		rc = xorb_error_set(err, XORB_EUNSUPPORTED,
				    "nothing to back up for tenant \"%s\": all %zu selected streams use memory storage",
				    o->tenant, n);
		goto out;
	}

	rc = xorb_js_request(nc, "$JS.API.INFO", NULL, o->api_timeout_ms, NULL, &jsinfo, NULL, err);
	if (rc) {
		xorb_error_prefix(err, "cannot read the account's JetStream info: ");
		goto out;
	}
	rc = xorb_aw_add(aw, "account/jetstream.json", jsinfo, strlen(jsinfo), err);
	if (!rc && o->account_state)
		rc = xorb_aw_add(aw, "account/state.json", o->account_state, strlen(o->account_state), err);
	if (rc)
		goto out;

	rc = xorb_aw_sync(aw, err);
	if (!rc)
		rc = copy_entries(&m, aw, err);
	if (rc)
		goto out;
	xorb_time_rfc3339(time(NULL), done);
	m.completed = strdup(done);
	if (!m.completed || xorb_manifest_to_json(&m, 0, &json)) {
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
		goto out;
	}
	rc = xorb_aw_add(aw, "manifest.json", json.data, json.len, err);
	if (!rc)
		rc = xorb_aw_finish(aw, err);
	if (rc)
		goto out;
	res->archive_bytes = xorb_aw_bytes_out(aw);
	m.has_archive = 1;
	m.archive_key = strdup(res->archive_key);
	m.archive_size = res->archive_bytes;
	memcpy(m.archive_sha256, xorb_aw_sha256(aw), XORB_SHA256_HEX);
	xorb_aw_free(aw);
	aw = NULL;
	rc = xorb_store_put_commit(w, err);
	w = NULL;
	if (rc)
		goto out;
	archive_committed = 1;

	if (m.archive_encrypted) {
		rc = seal(&m, &o->archive, err);
		if (rc)
			goto out;
	}
	/* The sidecar is written last: from now on the backup exists. */
	xorb_buf_reset(&json);
	if (!m.archive_key || xorb_manifest_to_json(&m, 1, &json)) {
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
		goto out;
	}
	rc = xorb_store_put_all(store, sidecar, json.data, json.len, err);
	if (rc)
		goto out;
	res->seconds = xorb_now() - t0;
out:
	if (rc && archive_committed)
		xorb_store_remove(store, res->archive_key, NULL);
	xorb_aw_free(aw);
	if (w)
		xorb_store_put_abort(w);
	xorb_manifest_release(&m);
	xorb_strv_free(names, n);
	xorb_buf_release(&json);
	cJSON_Delete(info);
	free(jsinfo);
	return rc;
}

/* Verify and restore of a stored backup: see xorb_restore.h. */
#include "xorb_restore.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xorb_bundle.h"
#include "xorb_json.h"
#include "xorb_nats.h"
#include "xorb_consumers.h"
#include "xorb_nodecheck.h"
#include "xorb_snapcheck.h"
#include "xorb_streamcfg.h"
#include "xorb_version.h"

/* backup.json must be {"config":{"name":<stream>,…},"state":{…}}. */
static int check_backup_json(const char *json, size_t len, const char *stream, cJSON **out,
			     struct xorb_error *err)
{
	cJSON *j = NULL, *cfg;
	int rc = xorb_json_parse(json, len, "backup.json", &j, err);

	if (rc)
		return xorb_error_prefix(err, "stream \"%s\": ", stream);
	cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
	if (!cJSON_IsObject(cfg) || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "state")) ||
	    strcmp(xorb_json_str(cfg, "name", ""), stream)) {
		cJSON_Delete(j);
		return xorb_error_set(err, XORB_ECORRUPT,
				      "stream \"%s\": backup.json lacks config/state or names another stream", stream);
	}
	if (out)
		*out = j;
	else
		cJSON_Delete(j);
	return XORB_OK;
}

static int consumers_match(const struct xorb_manifest_stream *ms, const struct xorb_snapcheck *c,
			   struct xorb_error *err)
{
	size_t i, k, n = xorb_snapcheck_consumer_count(c);

	if (n != ms->n_consumers)
		return xorb_error_set(err, XORB_ECORRUPT,
				      "stream \"%s\": the snapshot holds %zu consumers, the manifest lists %zu",
				      ms->name, n, ms->n_consumers);
	for (i = 0; i < n; i++) {
		for (k = 0; k < ms->n_consumers && strcmp(ms->consumers[k], xorb_snapcheck_consumer(c, i)); k++)
			;
		if (k == ms->n_consumers)
			return xorb_error_set(err, XORB_ECORRUPT,
					      "stream \"%s\": the snapshot holds consumer \"%s\", which the manifest does not list",
					      ms->name, xorb_snapcheck_consumer(c, i));
	}
	return XORB_OK;
}

/* ---- verify ---- */

struct vctx {
	struct xorb_snapcheck *check;
	struct xorb_verify_result *res;
	xorb_note_fn note;
	void *note_arg;
};

static int v_begin(void *arg, const struct xorb_manifest_stream *ms, const char *json, size_t len,
		   struct xorb_error *err)
{
	struct vctx *v = arg;
	int rc = check_backup_json(json, len, ms->name, NULL, err);

	if (rc)
		return rc;
	xorb_snapcheck_free(v->check);
	v->check = NULL;
	return xorb_snapcheck_new(&v->check) ? xorb_error_set(err, XORB_ENOMEM, "out of memory") : XORB_OK;
}

static int v_data(void *arg, const struct xorb_manifest_stream *ms, const void *d, size_t len,
		  struct xorb_error *err)
{
	struct vctx *v = arg;
	int rc = xorb_snapcheck_feed(v->check, d, len, err);

	return rc ? xorb_error_prefix(err, "stream \"%s\": ", ms->name) : XORB_OK;
}

static int v_end(void *arg, const struct xorb_manifest_stream *ms, struct xorb_error *err)
{
	struct vctx *v = arg;
	int rc = xorb_snapcheck_finish(v->check, err);

	if (rc)
		return xorb_error_prefix(err, "stream \"%s\": ", ms->name);
	rc = consumers_match(ms, v->check, err);
	if (rc)
		return rc;
	v->res->streams++;
	v->res->messages += (uint64_t)ms->messages;
	xorb_notef(v->note, v->note_arg, XORB_NOTE_INFO, ms->name, "ok: %" PRId64 " messages, %zu consumers, snapshot %" PRIu64 " bytes",
	      ms->messages, ms->n_consumers, ms->snapshot.size);
	return XORB_OK;
}

int xorb_verify_backup(struct xorb_store *store, const struct xorb_manifest *m,
		       xorb_note_fn note, void *note_arg, struct xorb_verify_result *res,
		       struct xorb_error *err)
{
	struct vctx v = { NULL, res, note, note_arg };
	struct xorb_walk_cb cb = { v_begin, v_data, v_end, NULL, NULL, NULL, &v };
	double t0 = xorb_now();
	int rc;

	memset(res, 0, sizeof(*res));
	rc = xorb_bundle_walk(store, m, &cb, err);
	xorb_snapcheck_free(v.check);
	res->archive_bytes = m->archive_size;
	res->seconds = xorb_now() - t0;
	return rc;
}

/* ---- restore ---- */

int xorb_restore_request(const char *json, size_t len, const char *stream, int replicas,
			 char **out, struct xorb_error *err)
{
	struct xorb_buf b;
	cJSON *j = NULL, *cfg;
	int rc;

	*out = NULL;
	if (replicas <= 0) {
		rc = check_backup_json(json, len, stream, NULL, err);
		if (rc)
			return rc;
		*out = strndup(json, len);
		return *out ? XORB_OK : xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	rc = check_backup_json(json, len, stream, &j, err);
	if (rc)
		return rc;
	cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
	cJSON_DeleteItemFromObjectCaseSensitive(cfg, "num_replicas");
	xorb_json_add_int(cfg, "num_replicas", replicas);
	xorb_buf_init(&b);
	if (xorb_json_print(j, &b)) {
		cJSON_Delete(j);
		xorb_buf_release(&b);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	cJSON_Delete(j);
	*out = xorb_buf_detach(&b);
	return *out ? XORB_OK : xorb_error_set(err, XORB_ENOMEM, "out of memory");
}

struct rctx {
	const struct xorb_manifest *m;
	natsConnection *nc;
	const struct xorb_restore_opts *o;
	struct xorb_restore_result *res;
	struct xorb_restorer *r;
	struct xorb_snapcheck *check;
	const struct xorb_manifest_stream *cur; /* being restored, NULL when skipped */
	const struct xorb_manifest_stream *done; /* the last one restored */
	char **created;
	size_t n_created;
	double t_stream;
	char *final_config; /* config to set once restored (see fit_account), or NULL */
	int64_t final_max_bytes;
	char *backup_json; /* the stream being restored: its backup.json */
	size_t backup_json_len;
	bool piped; /* the server applies restore chunks as they arrive (2.14+) */
};

/*
 * Account storage limits (nats-server 2.10+, seen on 2.10.27; notes P8):
 * while a restore streams, the server checks the stream's max_bytes PLUS the
 * bytes restored so far, plus the account's other reservations, against the
 * account's storage limit. An account whose streams' max_bytes add up to
 * its limit (xorb-state's split) therefore refuses the last stream restored,
 * although the data fits. When that would happen, the stream is restored
 * with max_bytes -1 (which reserves nothing, so only the restored bytes
 * count) and its max_bytes is set back by a STREAM.UPDATE with the backed-up
 * config right after the restore: the reservation then fits as it did on
 * the source. No data is dropped: max_bytes is never made smaller.
 * Sets *relax when the request must go without max_bytes.
 */
static int fit_account(struct rctx *c, const struct xorb_manifest_stream *ms, const cJSON *cfg,
		       bool *relax, struct xorb_error *err)
{
	int64_t max_bytes = xorb_json_int(cfg, "max_bytes", -1), limit, reserved, restored;
	cJSON *info = NULL, *lim;
	int rc;

	*relax = false;
	/* R1 file streams only: how clustered servers count replicas against
	 * (tiered) account limits was not measured */
	if (max_bytes <= 0 || strcmp(xorb_json_str(cfg, "storage", "file"), "file") ||
	    xorb_json_int(cfg, "num_replicas", 1) > 1)
		return XORB_OK;
	rc = xorb_js_request(c->nc, "$JS.API.INFO", NULL, c->o->api_timeout_ms, &info, NULL, NULL, err);
	if (rc)
		return xorb_error_prefix(err, "stream \"%s\": cannot read the account's limits: ", ms->name);
	lim = cJSON_GetObjectItemCaseSensitive(info, "limits");
	limit = xorb_json_int(lim, "max_storage", -1);
	reserved = xorb_json_int(info, "reserved_storage", 0);
	cJSON_Delete(info);
	if (limit <= 0)
		return XORB_OK; /* no account limit */
	if (reserved + max_bytes > limit)
		return xorb_error_set(err, XORB_ELIMIT,
				      "stream \"%s\" cannot be restored: the account's storage limit is %" PRId64
				      " bytes, %" PRId64 " are reserved by its other streams and this stream reserves %" PRId64
				      " (max_bytes); nothing of it was created (raise the account's limit, e.g. with xorb-state apply, or delete other streams)",
				      ms->name, limit, reserved, max_bytes);
	/* What the server counts while restoring is the size of the files in
	 * the snapshot (message blocks, indexes, metadata: more than the
	 * messages' bytes, and not zero for an empty stream): estimated
	 * generously, since restoring without max_bytes first costs nothing. */
	restored = (ms->bytes > (int64_t)ms->snapshot.size ? ms->bytes : (int64_t)ms->snapshot.size) * 2 +
		   (1 << 20);
	if (reserved + max_bytes + restored > limit) {
		if (reserved + ms->bytes + 1 > limit)
			return xorb_error_set(err, XORB_ELIMIT,
					      "stream \"%s\" cannot be restored: it holds %" PRId64 " bytes, the account's storage limit is %" PRId64
					      " bytes and %" PRId64 " are reserved by its other streams; nothing of it was created",
					      ms->name, ms->bytes, limit, reserved);
		*relax = true;
	}
	return XORB_OK;
}

/* The restore request without max_bytes (fit_account); the config to set
 * afterwards goes to c->final_config. */
static int relax_request(struct rctx *c, const struct xorb_manifest_stream *ms, char **req,
			 struct xorb_error *err)
{
	cJSON *j = cJSON_Parse(*req), *cfg;
	struct xorb_buf b;

	cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
	if (!cfg) {
		cJSON_Delete(j);
		return xorb_error_set(err, XORB_ENOMEM, "stream \"%s\": cannot rewrite the restore request", ms->name);
	}
	xorb_buf_init(&b);
	free(c->final_config);
	c->final_config = NULL;
	c->final_max_bytes = xorb_json_int(cfg, "max_bytes", -1);
	if (xorb_json_print(cfg, &b))
		goto oom;
	c->final_config = xorb_buf_detach(&b);
	cJSON_DeleteItemFromObjectCaseSensitive(cfg, "max_bytes");
	xorb_json_add_int(cfg, "max_bytes", -1);
	if (!c->final_config || xorb_json_print(j, &b))
		goto oom;
	free(*req);
	*req = xorb_buf_detach(&b);
	cJSON_Delete(j);
	return *req ? XORB_OK : xorb_error_set(err, XORB_ENOMEM, "out of memory");
oom:
	cJSON_Delete(j);
	xorb_buf_release(&b);
	return xorb_error_set(err, XORB_ENOMEM, "out of memory");
}

static bool selected(const struct xorb_restore_opts *o, const char *name)
{
	size_t i;

	if (!o->streams)
		return true;
	for (i = 0; o->streams[i]; i++)
		if (!strcmp(o->streams[i], name))
			return true;
	return false;
}

/* Remembers that this run created stream name: a later failure deletes it. */
static int track_created(struct rctx *c, const char *name, struct xorb_error *err)
{
	char **nv = realloc(c->created, (c->n_created + 1) * sizeof(*nv));

	if (!nv)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	c->created = nv;
	c->created[c->n_created] = strdup(name);
	if (!c->created[c->n_created])
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	c->n_created++;
	return XORB_OK;
}

static int r_begin(void *arg, const struct xorb_manifest_stream *ms, const char *json, size_t len,
		   struct xorb_error *err)
{
	struct rctx *c = arg;
	char *req = NULL;
	int rc;

	c->cur = NULL;
	if (!selected(c->o, ms->name))
		return check_backup_json(json, len, ms->name, NULL, err);
	free(c->backup_json);
	c->backup_json = strndup(json, len);
	c->backup_json_len = len;
	if (!c->backup_json)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	rc = xorb_restore_request(json, len, ms->name, c->o->replicas, &req, err);
	if (rc)
		return rc;
	free(c->final_config);
	c->final_config = NULL;
	{
		cJSON *j = cJSON_Parse(req);
		bool relax = false;

		rc = fit_account(c, ms, cJSON_GetObjectItemCaseSensitive(j, "config"), &relax, err);
		cJSON_Delete(j);
		if (!rc && relax)
			rc = relax_request(c, ms, &req, err);
		if (rc) {
			free(req);
			return rc;
		}
	}
	xorb_snapcheck_free(c->check);
	c->check = NULL;
	if (xorb_snapcheck_new(&c->check)) {
		free(req);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	rc = xorb_restorer_begin(c->nc, ms->name, req, strlen(req), &c->o->proto, &c->r, err);
	free(req);
	if (rc)
		return rc;
	/* nats-server 2.14+ creates the stream as the chunks arrive (notes P6):
	 * it is this run's from the accepted request on */
	if (c->piped)
		rc = track_created(c, ms->name, err);
	if (rc)
		return rc;
	c->cur = ms;
	c->t_stream = xorb_now();
	return XORB_OK;
}

static int r_data(void *arg, const struct xorb_manifest_stream *ms, const void *d, size_t len,
		  struct xorb_error *err)
{
	struct rctx *c = arg;
	int rc;

	if (!c->cur)
		return XORB_OK;
	rc = xorb_snapcheck_feed(c->check, d, len, err);
	if (rc)
		return xorb_error_prefix(err, "stream \"%s\": ", ms->name);
	return xorb_restorer_write(c->r, d, len, err);
}

/* Polls until the stream holds what the backup holds and every consumer
 * exists (in a cluster: and every replica is current). */
static int settle(struct rctx *c, const struct xorb_manifest_stream *ms, struct xorb_error *err)
{
	int timeout = c->o->settle_timeout_ms > 0 ? c->o->settle_timeout_ms : 60000;
	double deadline = xorb_now() + timeout / 1000.0;
	char why[512] = "";

	for (;;) {
		cJSON *info = NULL, *st, *cl, *rep;
		char **cons = NULL;
		size_t nc = 0, i, k;
		bool ok = true;
		int rc = xorb_js_stream_info(c->nc, ms->name, c->o->api_timeout_ms, &info, err);

		if (rc == XORB_OK) {
			st = cJSON_GetObjectItemCaseSensitive(info, "state");
			if (xorb_json_int(st, "messages", -1) < ms->messages ||
			    xorb_json_int(st, "last_seq", -1) < ms->last_seq) {
				ok = false;
				snprintf(why, sizeof(why), "it holds %" PRId64 " messages up to sequence %" PRId64
					 ", the backup %" PRId64 " up to %" PRId64,
					 xorb_json_int(st, "messages", -1), xorb_json_int(st, "last_seq", -1),
					 ms->messages, ms->last_seq);
			}
			cl = cJSON_GetObjectItemCaseSensitive(info, "cluster");
			rep = cJSON_GetObjectItemCaseSensitive(cl, "replicas");
			cJSON *r1;
			cJSON_ArrayForEach(r1, rep) {
				/* a replica on a node that is down (nats-server 2.12+
				 * places replicas there while a quorum is online) is
				 * reported after the restore (xorb_nodecheck.h) */
				if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r1, "current")) &&
				    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r1, "offline"))) {
					ok = false;
					snprintf(why, sizeof(why), "replica %s is not current yet",
						 xorb_json_str(r1, "name", "?"));
				}
			}
			cJSON_Delete(info);
		} else {
			ok = false;
			snprintf(why, sizeof(why), "%s", err ? err->msg : "stream info failed");
		}
		if (ok && xorb_js_consumer_names(c->nc, ms->name, c->o->api_timeout_ms, &cons, &nc, NULL) == XORB_OK) {
			for (i = 0; ok && i < ms->n_consumers; i++) {
				for (k = 0; k < nc && strcmp(cons[k], ms->consumers[i]); k++)
					;
				if (k == nc) {
					ok = false;
					snprintf(why, sizeof(why), "consumer \"%s\" does not exist yet", ms->consumers[i]);
				}
			}
			xorb_strv_free(cons, nc);
		} else if (ok) {
			ok = false;
			snprintf(why, sizeof(why), "its consumers cannot be listed");
		}
		if (ok)
			return XORB_OK;
		if (xorb_now() > deadline)
			return xorb_error_set(err, XORB_ETIMEOUT,
					      "stream \"%s\" was restored but is not whole after %d s: %s",
					      ms->name, timeout / 1000, why);
		nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
	}
}

static int r_end(void *arg, const struct xorb_manifest_stream *ms, struct xorb_error *err)
{
	struct rctx *c = arg;
	struct xorb_restorer *r = c->r;
	cJSON *reply = NULL;
	int rc;

	if (!c->cur)
		return XORB_OK;
	rc = xorb_snapcheck_finish(c->check, err);
	if (rc)
		return xorb_error_prefix(err, "stream \"%s\": ", ms->name);
	rc = consumers_match(ms, c->check, err);
	if (rc)
		return rc;
	/* Every byte of this stream passed its checks: commit. From here on a
	 * failure deletes it again (on piped servers: from its first chunk). */
	c->r = NULL;
	if (!c->piped && (rc = track_created(c, ms->name, err))) {
		xorb_restorer_abort(r);
		return rc;
	}
	rc = xorb_restorer_commit(r, &reply, err);
	cJSON_Delete(reply);
	if (rc)
		return rc;
	if (c->final_config) {
		char subj[600];

		snprintf(subj, sizeof(subj), "$JS.API.STREAM.UPDATE.%s", ms->name);
		rc = xorb_js_request(c->nc, subj, c->final_config, c->o->api_timeout_ms, NULL, NULL, NULL, err);
		free(c->final_config);
		c->final_config = NULL;
		if (rc)
			return xorb_error_prefix(err, "stream \"%s\" was restored without max_bytes to fit the account's storage limit, and setting max_bytes back failed: ",
						 ms->name);
		xorb_notef(c->o->note, c->o->note_arg, XORB_NOTE_INFO, ms->name,
		      "restored without max_bytes, then max_bytes set back to %" PRId64
		      " (the account's storage limit cannot hold the reservation and the restored bytes at once; nats-server 2.10+)",
		      c->final_max_bytes);
	}
	rc = settle(c, ms, err);
	if (rc)
		return rc;
	/* a config member the target does not keep (a feature it lacks) is a
	 * warning, not silently lost (xorb_streamcfg.h) */
	{
		unsigned differ = 0;

		rc = xorb_streamcfg_check(c->nc, ms->name, c->backup_json, c->backup_json_len,
					  c->o->replicas > 0, c->o->api_timeout_ms, c->o->note, c->o->note_arg,
					  &differ, err);
		if (rc)
			return rc;
		c->res->config_warnings += differ;
	}
	c->res->streams++;
	c->res->messages += (uint64_t)ms->messages;
	c->res->bytes += (uint64_t)ms->bytes;
	xorb_notef(c->o->note, c->o->note_arg, XORB_NOTE_INFO, ms->name,
	      "restored: %" PRId64 " messages, %zu consumers, in %.2f s", ms->messages, ms->n_consumers,
	      xorb_now() - c->t_stream);
	c->done = ms;
	c->cur = NULL;
	return XORB_OK;
}

/* The consumers as recorded at backup time: compare, repair what can be
 * repaired exactly, warn about the rest (xorb_consumers.h); in a cluster
 * first wait until every node answers from elected leaders, and after it
 * check that every node shows the recorded state (xorb_nodecheck.h). */
static int r_record(void *arg, const struct xorb_manifest_stream *ms, const char *json, size_t len,
		    struct xorb_error *err)
{
	struct rctx *c = arg;
	struct xorb_consumers_result cr;
	struct xorb_nodecheck_opts nk = { c->nc, c->o->conn, c->o->api_timeout_ms, c->o->settle_timeout_ms,
					  c->o->note, c->o->note_arg };
	struct xorb_nodecheck_result nr;
	bool clustered = false;
	int rc;

	if (c->done != ms)
		return XORB_OK; /* not restored in this run */
	rc = xorb_nodecheck_clustered(c->nc, ms->name, c->o->api_timeout_ms, &clustered, err);
	if (!rc && clustered)
		rc = xorb_nodecheck_stream(&nk, ms, json, len, XORB_NODECHECK_LEADERS, &nr, err);
	if (!rc)
		rc = xorb_consumers_reconcile(c->nc, ms->name, json, len, ms->last_seq, c->o->api_timeout_ms,
					      c->o->note, c->o->note_arg, &cr, err);
	if (rc)
		return rc;
	c->res->consumers_repaired += cr.repaired;
	c->res->consumer_warnings += cr.differ;
	if (clustered) {
		rc = xorb_nodecheck_stream(&nk, ms, json, len, XORB_NODECHECK_RECORD, &nr, err);
		c->res->node_warnings += nr.differ + nr.unreachable + nr.offline;
	}
	return rc;
}

static void r_progress(void *arg, uint64_t bytes)
{
	struct rctx *c = arg;

	c->o->progress(c->o->note_arg, c->cur ? c->cur->name : NULL, bytes, c->m->archive_size);
}

/* nats-server 2.14.0+ pipe restore chunks into the stream as they arrive
 * (commit 4d12f15; seen on 2.15.1): the stream exists, and is activated
 * even when the restore fails midway. An unknown version counts as piped
 * (the safe side: a verification pass more). */
static bool server_pipes_restores(natsConnection *nc)
{
	struct xorb_version v;
	cJSON *info = NULL;
	bool piped = true;

	if (xorb_nats_server_info(nc, &info, NULL) == XORB_OK &&
	    xorb_version_parse(xorb_json_str(info, "version", ""), &v, NULL) == XORB_OK)
		piped = xorb_version_cmp_core(&v, 2, 14, 0) >= 0;
	cJSON_Delete(info);
	return piped;
}

int xorb_restore_backup(natsConnection *nc, struct xorb_store *store,
			const struct xorb_manifest *m, const struct xorb_restore_opts *o,
			struct xorb_restore_result *res, struct xorb_error *err)
{
	struct rctx c = { m, nc, o, res, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, 0, NULL, 0, false };
	struct xorb_walk_cb cb = { r_begin, r_data, r_end, r_record, NULL, o->progress ? r_progress : NULL, &c };
	char **existing = NULL;
	size_t n_existing = 0, n_gone = 0, i;
	double t0 = xorb_now();
	int rc = XORB_OK;

	memset(res, 0, sizeof(*res));
	for (i = 0; o->streams && o->streams[i]; i++)
		if (!xorb_manifest_stream(m, o->streams[i]))
			return xorb_error_set(err, XORB_ENOTFOUND, "backup %s/%s does not hold stream \"%s\"",
					      m->tenant, m->backup_id, o->streams[i]);
	existing = calloc(m->n_streams + 1, sizeof(char *));
	if (!existing)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	/* Refuse before touching anything when a target stream exists. */
	for (i = 0; i < m->n_streams; i++) {
		cJSON *info = NULL;

		if (!selected(o, m->streams[i].name))
			continue;
		rc = xorb_js_stream_info(nc, m->streams[i].name, o->api_timeout_ms, &info, err);
		cJSON_Delete(info);
		if (rc == XORB_ENOTFOUND) {
			rc = XORB_OK;
			continue;
		}
		if (rc)
			goto out;
		if (!o->replace) {
			rc = xorb_error_set(err, XORB_EEXIST,
					    "stream \"%s\" already exists on the server; nothing was changed (use --replace to delete and restore it)",
					    m->streams[i].name);
			goto out;
		}
		existing[n_existing] = strdup(m->streams[i].name);
		if (!existing[n_existing++]) {
			rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
			goto out;
		}
	}
	c.piped = server_pipes_restores(nc);
	if (n_existing || c.piped) {
		struct xorb_verify_result vr;

		/* --replace: the whole archive must be sound before anything is
		 * deleted; a server that applies restore chunks as they arrive
		 * must get only bytes already proven whole */
		if (n_existing)
			xorb_notef(o->note, o->note_arg, XORB_NOTE_INFO, NULL,
				   "verifying the whole backup before replacing %zu existing streams", n_existing);
		else
			xorb_notef(o->note, o->note_arg, XORB_NOTE_INFO, NULL,
				   "verifying the whole backup first: this nats-server applies restored data as it arrives (2.14+)");
		rc = xorb_verify_backup(store, m, NULL, NULL, &vr, err);
		if (rc) {
			xorb_error_prefix(err, n_existing ? "not replacing anything: " : "nothing was created: ");
			goto out;
		}
		for (i = 0; i < n_existing; i++) {
			rc = xorb_js_stream_delete(nc, existing[i], o->api_timeout_ms, err);
			if (rc) {
				xorb_error_prefix(err, "cannot delete stream \"%s\" for --replace: ", existing[i]);
				goto out;
			}
			xorb_notef(o->note, o->note_arg, XORB_NOTE_INFO, existing[i], "deleted (--replace)");
		}
	}
	rc = xorb_bundle_walk(store, m, &cb, err);
	if (rc) {
		xorb_restorer_abort(c.r);
		c.r = NULL;
		for (i = c.n_created; i-- > 0;) {
			int d = xorb_js_stream_delete(nc, c.created[i], o->api_timeout_ms, NULL);

			if (d == XORB_OK)
				res->rolled_back++;
			else if (d == XORB_ENOTFOUND)
				n_gone++; /* its commit failed: the server never created it */
		}
		c.n_created -= n_gone;
		if (c.n_created && res->rolled_back == c.n_created)
			xorb_error_prefix(err, "restore failed and the %u stream%s it had created %s deleted again: ",
					  res->rolled_back, res->rolled_back == 1 ? "" : "s",
					  res->rolled_back == 1 ? "was" : "were");
		else if (c.n_created)
			xorb_error_prefix(err, "restore failed and only %u of the %u streams it had created could be deleted again (delete the others by hand): ",
					  res->rolled_back, (unsigned)c.n_created);
	}
	res->seconds = xorb_now() - t0;
out:
	xorb_snapcheck_free(c.check);
	xorb_strv_free(c.created, c.n_created + n_gone);
	free(c.final_config);
	free(c.backup_json);
	xorb_strv_free(existing, n_existing);
	return rc;
}

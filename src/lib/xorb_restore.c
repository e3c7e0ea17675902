/* Verify and restore of a stored backup: see xorb_restore.h. */
#include "xorb_restore.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "xorb_bundle.h"
#include "xorb_json.h"
#include "xorb_nats.h"
#include "xorb_consumers.h"
#include "xorb_nodecheck.h"
#include "xorb_snapcheck.h"
#include "xorb_streamcfg.h"
#include "xorb_version.h"
#include "xorb_util.h"

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

typedef int (*json_fn)(void *arg, const struct xorb_manifest_stream *ms, const char *json, size_t len,
		       struct xorb_error *err);

struct vctx {
	struct xorb_snapcheck *check;
	struct xorb_verify_result *res;
	xorb_note_fn note;
	void *note_arg;
	json_fn json_cb; /* sees each stream's backup.json, or NULL */
	void *json_arg;
	xorb_progress_fn progress; /* called with note_arg, or NULL */
	const struct xorb_manifest *m;
	const char *stream; /* the stream being read */
};

static int v_begin(void *arg, const struct xorb_manifest_stream *ms, const char *json, size_t len,
		   struct xorb_error *err)
{
	struct vctx *v = arg;
	int rc = check_backup_json(json, len, ms->name, NULL, err);

	v->stream = ms->name;
	if (!rc && v->json_cb)
		rc = v->json_cb(v->json_arg, ms, json, len, err);
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
	v->stream = NULL;
	v->res->streams++;
	v->res->messages += (uint64_t)ms->messages;
	xorb_notef(v->note, v->note_arg, XORB_NOTE_INFO, ms->name, "ok: %" PRId64 " messages, %zu consumers, snapshot %" PRIu64 " bytes",
	      ms->messages, ms->n_consumers, ms->snapshot.size);
	return XORB_OK;
}

static void v_progress(void *arg, uint64_t bytes)
{
	struct vctx *v = arg;

	v->progress(v->note_arg, v->stream, bytes, v->m->archive_size);
}

static int verify_walk(struct xorb_store *store, const struct xorb_manifest *m, xorb_note_fn note,
		       void *note_arg, xorb_progress_fn progress, json_fn json_cb, void *json_arg,
		       struct xorb_verify_result *res, struct xorb_error *err)
{
	struct vctx v = { NULL, res, note, note_arg, json_cb, json_arg, progress, m, NULL };
	struct xorb_walk_cb cb = { v_begin, v_data, v_end, NULL, NULL, progress ? v_progress : NULL, &v, 0 };
	double t0 = xorb_now();
	int rc;

	memset(res, 0, sizeof(*res));
	rc = xorb_bundle_walk(store, m, &cb, err);
	xorb_snapcheck_free(v.check);
	res->archive_bytes = m->archive_size;
	res->seconds = xorb_now() - t0;
	return rc;
}

int xorb_verify_backup(struct xorb_store *store, const struct xorb_manifest *m, xorb_note_fn note,
		       void *note_arg, xorb_progress_fn progress, struct xorb_verify_result *res,
		       struct xorb_error *err)
{
	return verify_walk(store, m, note, note_arg, progress, NULL, NULL, res, err);
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

/* The metadata key a restore marks a stream with while nats-server 2.14+
 * builds it from the arriving chunks (notes P6): a partial stream left by a
 * killed run is then recognisable, and a failed run can prove which partial
 * stream is its own. Removed by a STREAM.UPDATE once the stream is whole. */
#define MARK_KEY "xorb-dr.restore"
/* nats-server 2.14+ end a restore that got no chunk for 5 s (activityInterval
 * in jetstream_api.go, seen in 2.15.1); a marked stream unchanged for longer
 * is no longer being restored by anyone. */
#define STALL_WAIT_S 7

/* A stream this run created, and what proves it is still that stream. */
struct owned {
	char *name;
	char *created; /* STREAM.INFO "created" once committed; NULL: proven by the marker */
};

enum plan { PLAN_RESTORE, PLAN_SKIP, PLAN_KEEP, PLAN_REPLACE, PLAN_PARTIAL };

struct rctx {
	const struct xorb_manifest *m;
	natsConnection *nc;
	const struct xorb_restore_opts *o;
	struct xorb_restore_result *res;
	struct xorb_restorer *r;
	struct xorb_snapcheck *check;
	const struct xorb_manifest_stream *cur; /* being restored, NULL when skipped */
	const struct xorb_manifest_stream *done; /* the last one restored */
	struct owned *owned;
	size_t n_owned;
	enum plan *plan; /* per manifest stream */
	double t_stream;
	char *final_config; /* config to set once restored (fit_account, marker), or NULL */
	bool relaxed;	    /* restored without max_bytes (fit_account) */
	int64_t final_max_bytes;
	char *backup_json; /* the stream being restored: its backup.json */
	size_t backup_json_len;
	bool piped; /* the server applies restore chunks as they arrive (2.14+) */
	/* The whole backup was verified earlier in this run (verify_walk): the
	 * snapshots' S2 frames, CRCs, inner format and consumer names are not
	 * decoded and checked again. The restore pass still checks every
	 * entry's SHA-256 against the sidecar before its stream commits, which
	 * proves these are the bytes the first pass checked. */
	bool proven;
	bool committing; /* the final message of cur was sent */
	int64_t commit_msgs; /* messages the commit's reply reported, -1: none */
	char mark[200]; /* this run's MARK_KEY value */
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

/* The restore request rewritten: without max_bytes (relax, fit_account)
 * and/or with this run's marker in the config's metadata (piped servers);
 * the config to set once the stream is whole goes to c->final_config. */
static int rewrite_request(struct rctx *c, const struct xorb_manifest_stream *ms, char **req, bool relax,
			   struct xorb_error *err)
{
	cJSON *j = cJSON_Parse(*req), *cfg, *md;
	struct xorb_buf b;

	cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
	if (!cfg) {
		cJSON_Delete(j);
		return xorb_error_set(err, XORB_ENOMEM, "stream \"%s\": cannot rewrite the restore request", ms->name);
	}
	xorb_buf_init(&b);
	free(c->final_config);
	c->final_config = NULL;
	c->relaxed = relax;
	c->final_max_bytes = xorb_json_int(cfg, "max_bytes", -1);
	if (xorb_json_print(cfg, &b))
		goto oom;
	c->final_config = xorb_buf_detach(&b);
	if (!c->final_config)
		goto oom;
	if (relax) {
		cJSON_DeleteItemFromObjectCaseSensitive(cfg, "max_bytes");
		xorb_json_add_int(cfg, "max_bytes", -1);
	}
	if (c->piped) {
		md = cJSON_GetObjectItemCaseSensitive(cfg, "metadata");
		if (!cJSON_IsObject(md)) {
			cJSON_DeleteItemFromObjectCaseSensitive(cfg, "metadata");
			md = cJSON_AddObjectToObject(cfg, "metadata");
		}
		cJSON_DeleteItemFromObjectCaseSensitive(md, MARK_KEY);
		if (!md || !cJSON_AddStringToObject(md, MARK_KEY, c->mark))
			goto oom;
	}
	if (xorb_json_print(j, &b))
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

/* Remembers that this run created stream name (created: what the server
 * reports as its creation time, or NULL while only the marker proves it). */
static int own(struct rctx *c, const char *name, const char *created, struct xorb_error *err)
{
	struct owned *nv;
	size_t i;

	for (i = 0; i < c->n_owned; i++)
		if (!strcmp(c->owned[i].name, name)) {
			free(c->owned[i].created);
			c->owned[i].created = created ? strdup(created) : NULL;
			return created && !c->owned[i].created ? xorb_error_set(err, XORB_ENOMEM, "out of memory")
							       : XORB_OK;
		}
	nv = realloc(c->owned, (c->n_owned + 1) * sizeof(*nv));
	if (!nv)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	c->owned = nv;
	nv[c->n_owned].name = strdup(name);
	nv[c->n_owned].created = created ? strdup(created) : NULL;
	if (!nv[c->n_owned].name || (created && !nv[c->n_owned].created)) {
		free(nv[c->n_owned].name);
		free(nv[c->n_owned].created);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	c->n_owned++;
	return XORB_OK;
}

static const struct owned *owned_entry(const struct rctx *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_owned; i++)
		if (!strcmp(c->owned[i].name, name))
			return &c->owned[i];
	return NULL;
}

static const char *marker_of(const cJSON *info)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(info, "config"),
							   "metadata");

	return xorb_json_str(md, MARK_KEY, NULL);
}

/*
 * Whether stream name, as the server reports it NOW, is the one this run
 * created: its creation time is the one the server reported when this run
 * committed it, or it carries this run's marker. A name alone proves
 * nothing: another restore or a client may have created a stream of the
 * same name meanwhile. Returns XORB_OK with *mine set, XORB_ENOTFOUND when
 * the stream does not exist, or the STREAM.INFO failure; *why (may be NULL)
 * describes the stream found, for messages.
 */
static int proves_mine(struct rctx *c, const char *name, bool *mine, char *why, size_t whylen,
		       struct xorb_error *err)
{
	const struct owned *e = owned_entry(c, name);
	cJSON *info = NULL;
	const char *created, *mark;
	int rc = xorb_js_stream_info(c->nc, name, c->o->api_timeout_ms, &info, err);

	*mine = false;
	if (rc)
		return rc;
	created = xorb_json_str(info, "created", "");
	mark = marker_of(info);
	if (e && e->created)
		*mine = !strcmp(created, e->created);
	else if (e)
		*mine = mark && !strcmp(mark, c->mark);
	if (why) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(info, "state");

		snprintf(why, whylen, "created %s, %" PRId64 " messages%s%s%s", created,
			 xorb_json_int(st, "messages", 0), mark ? ", marked by the restore \"" : "",
			 mark ? mark : "", mark ? "\"" : "");
	}
	cJSON_Delete(info);
	return XORB_OK;
}

static int r_begin(void *arg, const struct xorb_manifest_stream *ms, const char *json, size_t len,
		   struct xorb_error *err)
{
	struct rctx *c = arg;
	char *req = NULL;
	int rc;

	c->cur = NULL;
	if (c->plan[ms - c->m->streams] == PLAN_SKIP || c->plan[ms - c->m->streams] == PLAN_KEEP)
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
	c->relaxed = false;
	{
		cJSON *j = cJSON_Parse(req);
		bool relax = false;

		rc = fit_account(c, ms, cJSON_GetObjectItemCaseSensitive(j, "config"), &relax, err);
		cJSON_Delete(j);
		if (!rc && (relax || c->piped))
			rc = rewrite_request(c, ms, &req, relax, err);
		if (rc) {
			free(req);
			return rc;
		}
	}
	xorb_snapcheck_free(c->check);
	c->check = NULL;
	if (!c->proven && xorb_snapcheck_new(&c->check)) {
		free(req);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	c->cur = ms;
	c->t_stream = xorb_now();
	rc = xorb_restorer_begin(c->nc, ms->name, req, strlen(req), &c->o->proto, &c->r, err);
	free(req);
	if (rc)
		return rc;
	/* nats-server 2.14+ creates the stream as the chunks arrive (notes P6):
	 * from here on it may exist, marked as this run's */
	if (c->piped)
		rc = own(c, ms->name, NULL, err);
	return rc;
}

static int r_data(void *arg, const struct xorb_manifest_stream *ms, const void *d, size_t len,
		  struct xorb_error *err)
{
	struct rctx *c = arg;
	int rc;

	if (!c->cur)
		return XORB_OK;
	if (!c->proven) {
		rc = xorb_snapcheck_feed(c->check, d, len, err);
		if (rc)
			return xorb_error_prefix(err, "stream \"%s\": ", ms->name);
	}
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
					 ", the backup %" PRId64 " up to %" PRId64 "%s",
					 xorb_json_int(st, "messages", -1), xorb_json_int(st, "last_seq", -1),
					 ms->messages, ms->last_seq,
					 /* more at commit than now, or fewer at commit than
					  * were sent: the files changed under the commit */
					 c->commit_msgs > xorb_json_int(st, "messages", -1) ||
							 (c->commit_msgs >= 0 && c->commit_msgs < ms->messages)
						 ? "; the server's commit reported other messages than this run sent or holds now, so its files were removed under it: nats-server 2.9/2.10 do that when another restore of the same stream commits at the same moment (a nats-server race; README, Supported servers); run the restore again once the other one ended"
						 : "");
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
	cJSON *reply = NULL, *info = NULL;
	const char *created;
	int rc;

	if (!c->cur)
		return XORB_OK;
	if (!c->proven) {
		rc = xorb_snapcheck_finish(c->check, err);
		if (rc)
			return xorb_error_prefix(err, "stream \"%s\": ", ms->name);
		rc = consumers_match(ms, c->check, err);
		if (rc)
			return rc;
	}
	/* Every byte of this stream passed its checks: commit. */
	c->r = NULL;
	c->committing = true;
	rc = xorb_restorer_commit(r, &reply, err);
	/* nats-server 2.9/2.10 RestoreStream removes a streams/<name> directory
	 * it finds before moving its own there (docs/nats-server-notes.md P10): when two restores
	 * of one stream commit at once, the one whose files went first fails
	 * reading them ("storage directory not readable", filestore.go,
	 * seen on 2.10.27 in test_restore_safety) */
	if (rc && err && strstr(err->msg, "storage directory not readable"))
		snprintf(err->msg + strlen(err->msg), sizeof(err->msg) - strlen(err->msg),
			 "; its files were removed under it: nats-server 2.9/2.10 do that when another restore of the same stream commits at the same moment (a nats-server race; README, Supported servers); run the restore again once the other one ended");
	if (rc)
		return rc;
	c->committing = false;
	/* The creation time the server reports for the stream it just made
	 * (the commit's reply carries the stream info) is what later proves
	 * the stream is this run's (proves_mine) */
	c->commit_msgs = xorb_json_int(cJSON_GetObjectItemCaseSensitive(reply, "state"), "messages", -1);
	created = xorb_json_str(reply, "created", NULL);
	if (!created && xorb_js_stream_info(c->nc, ms->name, c->o->api_timeout_ms, &info, NULL) == XORB_OK)
		created = xorb_json_str(info, "created", NULL);
	rc = created ? own(c, ms->name, created, err)
		     : xorb_error_set(err, XORB_ENATS,
				      "stream \"%s\": the server reports no creation time for the restored stream", ms->name);
	cJSON_Delete(reply);
	cJSON_Delete(info);
	if (rc)
		return rc;
	if (c->final_config) {
		char subj[600];

		snprintf(subj, sizeof(subj), "$JS.API.STREAM.UPDATE.%s", ms->name);
		rc = xorb_js_request(c->nc, subj, c->final_config, c->o->api_timeout_ms, NULL, NULL, NULL, err);
		free(c->final_config);
		c->final_config = NULL;
		if (rc && c->relaxed)
			return xorb_error_prefix(err, "stream \"%s\" was restored without max_bytes to fit the account's storage limit, and setting max_bytes back failed: ",
						 ms->name);
		if (rc)
			return xorb_error_prefix(err, "stream \"%s\" was restored, and removing the restore's marker (metadata \"%s\") from its config failed: ",
						 ms->name, MARK_KEY);
		if (c->relaxed)
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
 * repaired exactly, warn about the rest (xorb_consumers.h). A stream kept
 * from an earlier run gets the same (that run may have ended before it). In
 * a cluster first wait until every node answers from elected leaders, and
 * after it check that every node shows the recorded state
 * (xorb_nodecheck.h). */
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

	if (c->done != ms && c->plan[ms - c->m->streams] != PLAN_KEEP)
		return XORB_OK; /* not restored in this run */
	rc = xorb_nodecheck_clustered(c->nc, ms->name, c->o->api_timeout_ms, &clustered, err);
	if (!rc && clustered)
		rc = xorb_nodecheck_stream(&nk, ms, json, len, XORB_NODECHECK_LEADERS, &nr, err);
	if (!rc)
		rc = xorb_consumers_reconcile(c->nc, ms->name, json, len, ms->last_seq, c->o->api_timeout_ms,
					      c->o->note, c->o->note_arg, &cr, err);
	if (rc) {
		/* the stream's data is whole: a consumer that cannot be checked
		 * (or repaired: another restore of the tenant may be repairing
		 * it at the same time) is a warning, not a reason to delete it */
		xorb_notef(c->o->note, c->o->note_arg, XORB_NOTE_WARN, ms->name,
			   "the stream's data is restored, but its consumers could not be compared with the backup: %s; check them (nats consumer info) before the applications resume",
			   err ? err->msg : "?");
		c->res->consumer_warnings++;
		return XORB_OK;
	}
	c->res->consumers_repaired += cr.repaired;
	c->res->consumer_warnings += cr.differ;
	if (clustered) {
		rc = xorb_nodecheck_stream(&nk, ms, json, len, XORB_NODECHECK_RECORD, &nr, err);
		if (rc) {
			xorb_notef(c->o->note, c->o->note_arg, XORB_NOTE_WARN, ms->name,
				   "the stream's data is restored, but the cluster's nodes could not be checked: %s",
				   err ? err->msg : "?");
			c->res->node_warnings++;
			return XORB_OK;
		}
		c->res->node_warnings += nr.differ + nr.unreachable + nr.offline;
	}
	return XORB_OK;
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

/* ---- what the target already holds ---- */

/* Whether the stream's state (STREAM.INFO) is the backup's: messages,
 * first and last sequence. Else describes the difference in why. */
static bool state_matches(const struct xorb_manifest_stream *ms, const cJSON *info, char *why, size_t len)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(info, "state");
	int64_t n = xorb_json_int(st, "messages", -1), f = xorb_json_int(st, "first_seq", -1),
		l = xorb_json_int(st, "last_seq", -1);

	/* an empty stream comes back with first_seq 1 instead of 0 (the next
	 * sequence is the same): its first_seq says nothing */
	if (n == ms->messages && l == ms->last_seq && (!ms->messages || f == ms->first_seq))
		return true;
	snprintf(why, len, "it holds %" PRId64 " messages, sequences %" PRId64 "-%" PRId64 "; the backup %" PRId64
		 ", sequences %" PRId64 "-%" PRId64, n, f, l, ms->messages, ms->first_seq, ms->last_seq);
	return false;
}

/* Whether the stream has exactly the backup's durable consumers (by name;
 * their positions are compared and repaired by r_record). */
static int consumers_match_server(struct rctx *c, const struct xorb_manifest_stream *ms, bool *same, char *why,
				  size_t len, struct xorb_error *err)
{
	char **names = NULL;
	size_t n = 0, i, k;
	int rc = xorb_js_consumer_names(c->nc, ms->name, c->o->api_timeout_ms, &names, &n, err);

	*same = false;
	if (rc)
		return xorb_error_prefix(err, "stream \"%s\": cannot list its consumers: ", ms->name);
	*same = n == ms->n_consumers;
	for (i = 0; *same && i < ms->n_consumers; i++) {
		for (k = 0; k < n && strcmp(names[k], ms->consumers[i]); k++)
			;
		if (k == n) {
			*same = false;
			snprintf(why, len, "it has no consumer \"%s\"", ms->consumers[i]);
		}
	}
	if (!*same && n != ms->n_consumers)
		snprintf(why, len, "it has %zu consumers, the backup %zu", n, ms->n_consumers);
	xorb_strv_free(names, n);
	return XORB_OK;
}

/* What changes while a restore writes into a stream: a marked stream whose
 * signature stays the same over STALL_WAIT_S is no longer being restored. */
static void signature(const cJSON *info, char *out, size_t len)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(info, "state");
	const char *mark = marker_of(info);

	snprintf(out, len, "%s|%s|%" PRId64 "|%" PRId64 "|%" PRId64, xorb_json_str(info, "created", ""),
		 mark ? mark : "", xorb_json_int(st, "messages", -1), xorb_json_int(st, "bytes", -1),
		 xorb_json_int(st, "last_seq", -1));
}

struct keepcheck {
	struct rctx *c;
	cJSON **found;
};

/* During the verification pass: a stream to keep must also have the
 * backup's config. */
static int keep_config(void *arg, const struct xorb_manifest_stream *ms, const char *json, size_t len,
		       struct xorb_error *err)
{
	static const char *const ignore_replicas[] = { "num_replicas", NULL };
	struct keepcheck *k = arg;
	size_t i = (size_t)(ms - k->c->m->streams);
	cJSON *rec = NULL;
	struct xorb_buf b;
	unsigned n;
	int rc;

	if (k->c->plan[i] != PLAN_KEEP)
		return XORB_OK;
	rc = check_backup_json(json, len, ms->name, &rec, err);
	if (rc)
		return rc;
	xorb_buf_init(&b);
	n = xorb_streamcfg_diff(cJSON_GetObjectItemCaseSensitive(rec, "config"),
				cJSON_GetObjectItemCaseSensitive(k->found[i], "config"),
				k->c->o->replicas > 0 ? ignore_replicas : NULL, &b);
	if (n)
		rc = xorb_error_set(err, XORB_EEXIST,
				    "stream \"%s\" already exists and its config differs from the backup's (%s); nothing was changed (use --replace to delete and restore it)",
				    ms->name, b.data ? b.data : "");
	xorb_buf_release(&b);
	cJSON_Delete(rec);
	return rc;
}

/*
 * Looks at every selected stream on the target before anything changes and
 * sets its plan: restore (missing), replace (--replace), keep (it already
 * holds the backup's state: a rerun after a killed or failed run), partial
 * (left marked by a restore that is over: deleted and restored). A stream
 * that differs from the backup, or that another restore is writing right
 * now, is refused. found[i] receives the STREAM.INFO of stream i.
 */
static int plan_streams(struct rctx *c, cJSON **found, struct xorb_error *err)
{
	const struct xorb_manifest *m = c->m;
	char why[512], sig[1024];
	size_t i, n_partial = 0;
	int rc;

	for (i = 0; i < m->n_streams; i++) {
		const struct xorb_manifest_stream *ms = &m->streams[i];
		bool same;

		c->plan[i] = PLAN_RESTORE;
		if (!selected(c->o, ms->name)) {
			c->plan[i] = PLAN_SKIP;
			continue;
		}
		rc = xorb_js_stream_info(c->nc, ms->name, c->o->api_timeout_ms, &found[i], err);
		if (rc == XORB_ENOTFOUND)
			continue;
		if (rc)
			return rc;
		if (c->o->replace) {
			c->plan[i] = PLAN_REPLACE;
			continue;
		}
		if (marker_of(found[i])) {
			c->plan[i] = PLAN_PARTIAL;
			n_partial++;
			continue;
		}
		if (!state_matches(ms, found[i], why, sizeof(why)))
			return xorb_error_set(err, XORB_EEXIST,
					      "stream \"%s\" already exists and differs from the backup: %s; nothing was changed (use --replace to delete and restore it)",
					      ms->name, why);
		rc = consumers_match_server(c, ms, &same, why, sizeof(why), err);
		if (rc)
			return rc;
		if (!same)
			return xorb_error_set(err, XORB_EEXIST,
					      "stream \"%s\" already exists and differs from the backup: %s; nothing was changed (use --replace to delete and restore it)",
					      ms->name, why);
		c->plan[i] = PLAN_KEEP; /* its config is compared in the verification pass */
	}
	if (!n_partial)
		return XORB_OK;
	xorb_notef(c->o->note, c->o->note_arg, XORB_NOTE_INFO, NULL,
		   "%zu stream%s marked by another restore: watching %d s whether that restore is still writing",
		   n_partial, n_partial == 1 ? " is" : "s are", STALL_WAIT_S);
	sleep(STALL_WAIT_S);
	for (i = 0; i < m->n_streams; i++) {
		cJSON *now = NULL;
		char sig2[1024];

		if (c->plan[i] != PLAN_PARTIAL)
			continue;
		signature(found[i], sig, sizeof(sig));
		rc = xorb_js_stream_info(c->nc, m->streams[i].name, c->o->api_timeout_ms, &now, err);
		if (rc == XORB_ENOTFOUND) {
			c->plan[i] = PLAN_RESTORE; /* its owner deleted it meanwhile */
			cJSON_Delete(found[i]);
			found[i] = NULL;
			continue;
		}
		if (rc)
			return rc;
		signature(now, sig2, sizeof(sig2));
		cJSON_Delete(now);
		if (strcmp(sig, sig2))
			return xorb_error_set(err, XORB_EEXIST,
					      "stream \"%s\" is being restored right now by another run (its config carries the marker %s=\"%s\" and its data changed within %d s); nothing was changed: wait for that restore to end, then run this one again",
					      m->streams[i].name, MARK_KEY, marker_of(found[i]), STALL_WAIT_S);
	}
	return XORB_OK;
}

/* Deletes stream i found by plan_streams: --replace, or a partial stream
 * that must still be exactly what plan_streams saw. */
static int clear_stream(struct rctx *c, cJSON **found, size_t i, struct xorb_error *err)
{
	const char *name = c->m->streams[i].name;
	char sig[1024], sig2[1024];
	cJSON *now = NULL;
	int rc;

	if (c->plan[i] == PLAN_PARTIAL) {
		rc = xorb_js_stream_info(c->nc, name, c->o->api_timeout_ms, &now, err);
		if (rc == XORB_ENOTFOUND) {
			c->plan[i] = PLAN_RESTORE;
			return XORB_OK;
		}
		if (rc)
			return rc;
		signature(found[i], sig, sizeof(sig));
		signature(now, sig2, sizeof(sig2));
		cJSON_Delete(now);
		if (strcmp(sig, sig2))
			return xorb_error_set(err, XORB_EEXIST,
					      "stream \"%s\" changed while this run verified the backup (another restore or client writes to it); nothing was changed: run this one again once it is quiet",
					      name);
	}
	rc = xorb_js_stream_delete(c->nc, name, c->o->api_timeout_ms, err);
	if (rc)
		return xorb_error_prefix(err, "cannot delete stream \"%s\"%s: ", name,
					 c->plan[i] == PLAN_PARTIAL ? " (left partial by an interrupted restore)" : " for --replace");
	if (c->plan[i] == PLAN_PARTIAL) {
		xorb_notef(c->o->note, c->o->note_arg, XORB_NOTE_INFO, name,
			   "deleted the partial stream an interrupted restore left (%s=\"%s\"); restoring it whole",
			   MARK_KEY, marker_of(found[i]));
		c->res->partials_replaced++;
	} else {
		xorb_notef(c->o->note, c->o->note_arg, XORB_NOTE_INFO, name, "deleted (--replace)");
	}
	c->plan[i] = PLAN_RESTORE;
	return XORB_OK;
}

/* After a failure: deletes what this run proves it created, leaves the
 * rest, and says which is which in err. */
static void roll_back(struct rctx *c, struct xorb_error *err)
{
	char why[600] = "", w[600], pre[2600];
	const char *conflict = NULL;
	unsigned deleted = 0, kept = 0, left = 0;
	struct xorb_buf lb;
	size_t i;
	bool mine;

	if (c->cur) {
		int d = proves_mine(c, c->cur->name, &mine, why, sizeof(why), NULL);
		int tries = c->committing ? 30 : 0;

		/* a commit that failed because another restore committed the
		 * same name at the same moment ("rename ...: file exists", seen
		 * on nats-server 2.9.10): that stream shows up a moment later */
		while (d == XORB_ENOTFOUND && tries-- > 0) {
			nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
			d = proves_mine(c, c->cur->name, &mine, why, sizeof(why), NULL);
		}
		if (d == XORB_OK && !mine)
			conflict = c->cur->name;
	}
	xorb_buf_init(&lb);
	for (i = c->n_owned; i-- > 0;) {
		const struct owned *e = &c->owned[i];
		int d;

		/* another restore (or a client) took part of the tenant: what this
		 * run restored completely is exactly the backup; it stays for the
		 * rerun to keep, and the other restore may count on it */
		if (conflict && e->created) {
			kept++;
			continue;
		}
		d = proves_mine(c, e->name, &mine, w, sizeof(w), NULL);
		if (d == XORB_ENOTFOUND)
			continue; /* never created: its restore failed before */
		if (d == XORB_OK && mine && xorb_js_stream_delete(c->nc, e->name, c->o->api_timeout_ms, NULL) == XORB_OK) {
			deleted++;
			continue;
		}
		left++;
		xorb_buf_printf(&lb, "%s\"%s\" (%s)", left > 1 ? ", " : "", e->name,
				d == XORB_OK && !mine ? w : "cannot read or delete it");
	}
	c->res->rolled_back = deleted;
	pre[0] = 0;
	if (conflict && kept)
		snprintf(pre, sizeof(pre),
			 "stream \"%s\" exists but is not the stream this run was restoring (%s): another restore or a client created it meanwhile, and it was left alone. The %u stream%s this run restored completely %s (%s exactly the backup: the same command run again, once the other restore ended, keeps %s and restores the rest)%s. The failure: ",
			 conflict, why, kept, kept == 1 ? "" : "s", kept == 1 ? "stays" : "stay",
			 kept == 1 ? "it holds" : "they hold", kept == 1 ? "it" : "them",
			 deleted ? "; its partial stream was deleted" : "");
	else if (conflict)
		snprintf(pre, sizeof(pre),
			 "stream \"%s\" exists but is not the stream this run was restoring (%s): another restore or a client created it meanwhile, and it was left alone%s; run the same command again once the other restore ended (it keeps what holds the backup and restores the rest). The failure: ",
			 conflict, why, deleted ? "; this run's partial stream was deleted" : "");
	else if (deleted && !left)
		snprintf(pre, sizeof(pre), "restore failed and the %u stream%s it had created %s deleted again: ",
			 deleted, deleted == 1 ? "" : "s", deleted == 1 ? "was" : "were");
	else if (left)
		snprintf(pre, sizeof(pre),
			 "restore failed; of the %u streams it had created, %u %s deleted again and %u %s left alone, as this run cannot prove %s still the stream%s it created: %s (check and delete by hand, or run the same restore again: it keeps a stream that holds the backup): ",
			 deleted + left, deleted, deleted == 1 ? "was" : "were", left, left == 1 ? "was" : "were",
			 left == 1 ? "it is" : "they are", left == 1 ? "" : "s", lb.data ? lb.data : "");
	if (pre[0])
		xorb_error_prefix(err, "%s", pre);
	xorb_buf_release(&lb);
}

int xorb_restore_backup(natsConnection *nc, struct xorb_store *store,
			const struct xorb_manifest *m, const struct xorb_restore_opts *o,
			struct xorb_restore_result *res, struct xorb_error *err)
{
	struct rctx c;
	struct xorb_walk_cb cb = { r_begin, r_data, r_end, r_record, NULL, o->progress ? r_progress : NULL, &c, 0 };
	cJSON **found = NULL;
	size_t n_keep = 0, n_clear = 0, i;
	double t0 = xorb_now();
	char host[128] = "?", started[32];
	unsigned char rnd[8];
	int rc = XORB_OK;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	c.m = m;
	c.nc = nc;
	c.o = o;
	c.res = res;
	for (i = 0; o->streams && o->streams[i]; i++)
		if (!xorb_manifest_stream(m, o->streams[i]))
			return xorb_error_set(err, XORB_ENOTFOUND, "backup %s/%s does not hold stream \"%s\"",
					      m->tenant, m->backup_id, o->streams[i]);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return xorb_error_set(err, XORB_EIO, "cannot read random bytes for the restore's run id");
	gethostname(host, sizeof(host) - 1);
	xorb_time_rfc3339(time(NULL), started);
	snprintf(c.mark, sizeof(c.mark), "run %02x%02x%02x%02x%02x%02x%02x%02x of backup %s on %s pid %ld at %s",
		 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], m->backup_id, host,
		 (long)getpid(), started);
	found = calloc(m->n_streams + 1, sizeof(*found));
	c.plan = calloc(m->n_streams + 1, sizeof(*c.plan));
	if (!found || !c.plan) {
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
		goto out;
	}
	c.piped = server_pipes_restores(nc);
	/* Refuse before touching anything when a target stream differs. */
	rc = plan_streams(&c, found, err);
	if (rc)
		goto out;
	for (i = 0; i < m->n_streams; i++) {
		n_keep += c.plan[i] == PLAN_KEEP;
		n_clear += c.plan[i] == PLAN_REPLACE || c.plan[i] == PLAN_PARTIAL;
	}
	/* an encrypted archive is authenticated chunk by chunk, and its end
	 * only at its end: nothing is sent before all of it is proven */
	if (n_keep || n_clear || c.piped || m->archive_encrypted) {
		struct xorb_verify_result vr;
		struct keepcheck k = { &c, found };

		/* before anything is deleted, the whole archive must be sound (and
		 * the streams to keep must have the backup's config); a server
		 * that applies restore chunks as they arrive must get only bytes
		 * already proven whole */
		if (n_clear || n_keep)
			xorb_notef(o->note, o->note_arg, XORB_NOTE_INFO, NULL,
				   "verifying the whole backup first: %zu existing stream%s to compare or replace",
				   n_keep + n_clear, n_keep + n_clear == 1 ? "" : "s");
		else if (c.piped)
			xorb_notef(o->note, o->note_arg, XORB_NOTE_INFO, NULL,
				   "verifying the whole backup first: this nats-server applies restored data as it arrives (2.14+)");
		else
			xorb_notef(o->note, o->note_arg, XORB_NOTE_INFO, NULL,
				   "verifying the whole backup first: it is encrypted, and nothing is sent before every chunk of it is authenticated");
		rc = verify_walk(store, m, NULL, o->note_arg, o->progress, n_keep ? keep_config : NULL, &k, &vr, err);
		if (rc) {
			if (rc != XORB_EEXIST)
				xorb_error_prefix(err, n_clear ? "not replacing anything: "
						  : n_keep ? "nothing was changed: " : "nothing was created: ");
			goto out;
		}
		c.proven = true;
		for (i = 0; i < m->n_streams; i++) {
			if (c.plan[i] == PLAN_REPLACE || c.plan[i] == PLAN_PARTIAL)
				rc = clear_stream(&c, found, i, err);
			if (rc)
				goto out;
			if (c.plan[i] == PLAN_KEEP) {
				res->kept++;
				xorb_notef(o->note, o->note_arg, XORB_NOTE_INFO, m->streams[i].name,
					   "kept: it already holds the backup's state (%" PRId64 " messages, sequences %" PRId64 "-%" PRId64 ", %zu consumers, same config)",
					   m->streams[i].messages, m->streams[i].first_seq, m->streams[i].last_seq,
					   m->streams[i].n_consumers);
			}
		}
	}
	/* after the verifying pass, this one proves its bytes are the same by
	 * the entries' digests alone (struct rctx, proven) */
	cb.archive_proven = c.proven;
	rc = xorb_bundle_walk(store, m, &cb, err);
	if (rc) {
		xorb_restorer_abort(c.r);
		c.r = NULL;
		roll_back(&c, err);
	}
	res->seconds = xorb_now() - t0;
out:
	xorb_snapcheck_free(c.check);
	for (i = 0; i < c.n_owned; i++) {
		free(c.owned[i].name);
		free(c.owned[i].created);
	}
	free(c.owned);
	free(c.final_config);
	free(c.backup_json);
	for (i = 0; found && i < m->n_streams; i++)
		cJSON_Delete(found[i]);
	free(found);
	free(c.plan);
	return rc;
}

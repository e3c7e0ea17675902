/*
 * Every node of a cluster shows the restored stream and consumers as
 * recorded: see xorb_nodecheck.h.
 */
#include "xorb_nodecheck.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xorb_buf.h"
#include "xorb_consumers.h"
#include "xorb_json.h"
#include "xorb_url.h"
#include "xorb_util.h"

struct node {
	char url[512];
	char shown[512];	/* url for messages: credentials masked */
	char name[128];		/* server_name, or "" */
	natsConnection *nc;	/* NULL: unreachable */
	bool own;		/* nc is ours to close */
	struct xorb_buf why;	/* what is not right yet, "; "-separated */
	unsigned wrong;		/* how many things */
};

struct check {
	const struct xorb_nodecheck_opts *o;
	const struct xorb_manifest_stream *ms;
	enum xorb_nodecheck_mode mode;
	cJSON *record;	 /* consumers.json, parsed */
	cJSON *keep;	 /* references read from the leader (owned) */
	cJSON **ref;	 /* per recorded consumer: what every node must show */
	const char **ref_label;
	size_t n_cons;
	struct node *nodes;
	size_t n_nodes;
	char **offline;	 /* replica names reported offline */
	size_t n_offline;
};

int xorb_nodecheck_clustered(natsConnection *nc, const char *stream, int timeout_ms,
			     bool *clustered, struct xorb_error *err)
{
	cJSON *info = NULL, *cl;
	int rc;

	*clustered = false;
	rc = xorb_js_stream_info(nc, stream, timeout_ms, &info, err);
	if (rc)
		return rc;
	cl = cJSON_GetObjectItemCaseSensitive(info, "cluster");
	*clustered = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(cl, "replicas")) > 0 ||
		     *xorb_json_str(cl, "raft_group", "");
	cJSON_Delete(info);
	return XORB_OK;
}

static const char *node_label(const struct node *n, char *buf, size_t len)
{
	if (n->name[0])
		snprintf(buf, len, "node %s (%s)", n->name, n->shown);
	else
		snprintf(buf, len, "node %s", n->shown);
	return buf;
}

__attribute__((format(printf, 2, 3))) static void wrong(struct node *n, const char *fmt, ...)
{
	char line[1200];
	va_list ap;

	n->wrong++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n->why.len)
		xorb_buf_puts(&n->why, "; ");
	xorb_buf_puts(&n->why, line);
}

static void note_offline(struct check *c, const char *name)
{
	char **nv;
	size_t i;

	for (i = 0; i < c->n_offline; i++)
		if (!strcmp(c->offline[i], name))
			return;
	nv = realloc(c->offline, (c->n_offline + 1) * sizeof(*nv));
	if (!nv)
		return;
	c->offline = nv;
	if ((c->offline[c->n_offline] = strdup(name)))
		c->n_offline++;
}

/* A "cluster" object of STREAM.INFO or CONSUMER.INFO: answered by an
 * elected leader, every online replica current? Offline replicas are
 * remembered, not waited for. what names the stream or consumer. */
static bool cluster_ok(struct check *c, struct node *n, const cJSON *info, const char *what)
{
	const cJSON *cl = cJSON_GetObjectItemCaseSensitive(info, "cluster"), *r;
	bool ok = true;

	if (!cJSON_IsObject(cl)) {
		/* a member whose Raft node is not created yet answers with the
		 * config and an empty state, without cluster information */
		wrong(n, "%s: answered by a member without its group (no cluster information yet)", what);
		return false;
	}
	if (!*xorb_json_str(cl, "leader", "")) {
		wrong(n, "%s: no leader elected yet (a member answered with its own state)", what);
		return false;
	}
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(cl, "replicas")) {
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "offline"))) {
			note_offline(c, xorb_json_str(r, "name", "?"));
			continue;
		}
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "current"))) {
			wrong(n, "%s: replica %s is not current yet", what, xorb_json_str(r, "name", "?"));
			ok = false;
		}
	}
	return ok;
}

/* One round on one node: n->wrong says what is not right yet. */
static void check_node(struct check *c, struct node *n)
{
	const struct xorb_manifest_stream *ms = c->ms;
	struct xorb_error e;
	cJSON *info = NULL, *rec;
	size_t i = 0;
	int rc;

	xorb_buf_reset(&n->why);
	n->wrong = 0;
	xorb_error_clear(&e);
	rc = xorb_js_stream_info(n->nc, ms->name, c->o->api_timeout_ms, &info, &e);
	if (rc == XORB_ENOTFOUND) {
		wrong(n, "the stream does not exist there");
		return;
	}
	if (rc) {
		wrong(n, "cannot read the stream: %s", e.msg);
		return;
	}
	if (cluster_ok(c, n, info, "the stream") && c->mode == XORB_NODECHECK_RECORD) {
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(info, "state");

		/* at least (what settle() waits for): applications may publish
		 * as soon as the stream exists */
		if (xorb_json_int(st, "messages", -1) < ms->messages ||
		    xorb_json_int(st, "last_seq", -1) < ms->last_seq)
			wrong(n, "the stream holds %" PRId64 " messages up to sequence %" PRId64
			      ", the backup %" PRId64 " up to %" PRId64,
			      xorb_json_int(st, "messages", -1), xorb_json_int(st, "last_seq", -1), ms->messages,
			      ms->last_seq);
	}
	cJSON_Delete(info);
	cJSON_ArrayForEach(rec, cJSON_GetObjectItemCaseSensitive(c->record, "consumers")) {
		const char *name = xorb_json_str(rec, "name", "");
		char what[400];
		cJSON *now = NULL;

		if (!c->ref[i++])
			continue; /* not on the server at all: reconciliation reports it */
		snprintf(what, sizeof(what), "consumer \"%s\"", name);
		xorb_error_clear(&e);
		rc = xorb_js_consumer_info(n->nc, ms->name, name, c->o->api_timeout_ms, &now, &e);
		if (rc == XORB_ENOTFOUND)
			wrong(n, "%s does not exist there", what);
		else if (rc)
			wrong(n, "%s cannot be read: %s", what, e.msg);
		else if (cluster_ok(c, n, now, what) && c->mode == XORB_NODECHECK_RECORD) {
			struct xorb_buf t;
			unsigned d;

			xorb_buf_init(&t);
			d = xorb_consumers_compare(c->ref[i - 1], now, c->ref_label[i - 1], "node", &t);
			if (d)
				wrong(n, "%s: %s%s", what, t.data ? t.data : "",
				      d > XORB_CONSUMERS_DIFF_SHOWN ? "; ..." : "");
			xorb_buf_release(&t);
		}
		cJSON_Delete(now);
	}
}

/* The nodes: every server the main connection knows of. */
static int open_nodes(struct check *c, struct xorb_nodecheck_result *res, struct xorb_error *err)
{
	const struct xorb_nodecheck_opts *o = c->o;
	char **urls = NULL;
	int count = 0, i;

	if (o->conn && natsConnection_GetServers(o->nc, &urls, &count) != NATS_OK) {
		urls = NULL;
		count = 0;
	}
	c->nodes = calloc((size_t)count + 1, sizeof(*c->nodes));
	if (!c->nodes) {
		for (i = 0; i < count; i++)
			free(urls[i]);
		free(urls);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	for (i = 0; i < count; i++) {
		struct node *n = &c->nodes[c->n_nodes++];
		struct xorb_conn_opts co = *o->conn;
		struct xorb_error e;

		snprintf(n->url, sizeof(n->url), "%s", urls[i]);
		free(urls[i]);
		/* nats.c gives the URLs with the user and password they came with */
		xorb_url_redact(n->url, true, n->shown, sizeof(n->shown));
		xorb_buf_init(&n->why);
		co.url = n->url;
		co.allow_reconnect = 0;
		xorb_error_clear(&e);
		if (xorb_nats_connect(&co, &n->nc, &e)) {
			n->nc = NULL;
			res->unreachable++;
			if (c->mode == XORB_NODECHECK_RECORD)
				xorb_notef(o->note, o->note_arg, XORB_NOTE_WARN, c->ms->name,
					   "server %s of the cluster cannot be reached, so what it shows was not checked: %s",
					   n->shown, e.msg);
			continue;
		}
		n->own = true;
	}
	free(urls);
	if (c->n_nodes == res->unreachable) {
		/* no server list, or none reachable: the main connection's node */
		struct node *n = &c->nodes[c->n_nodes++];

		n->nc = o->nc;
		xorb_buf_init(&n->why);
		if (natsConnection_GetConnectedUrl(o->nc, n->url, sizeof(n->url)) != NATS_OK)
			snprintf(n->url, sizeof(n->url), "(the main connection)");
		xorb_url_redact(n->url, true, n->shown, sizeof(n->shown));
	}
	for (i = 0; i < (int)c->n_nodes; i++) {
		struct node *n = &c->nodes[i];
		cJSON *info = NULL;

		if (!n->nc)
			continue;
		res->nodes++;
		if (xorb_nats_server_info(n->nc, &info, NULL) == XORB_OK)
			snprintf(n->name, sizeof(n->name), "%s", xorb_json_str(info, "server_name", ""));
		cJSON_Delete(info);
	}
	return XORB_OK;
}

/* What each recorded consumer must show on every node: the record; in
 * XORB_NODECHECK_RECORD mode what its leader shows when that already differs
 * from the record (reported by the reconciliation). NULL: it is not on the
 * server (through the main connection) at all, which the reconciliation
 * reports: not waited for. */
static int set_refs(struct check *c, struct xorb_error *err)
{
	cJSON *rec;
	size_t i = 0;

	c->n_cons = (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c->record, "consumers"));
	c->ref = calloc(c->n_cons + 1, sizeof(*c->ref));
	c->ref_label = calloc(c->n_cons + 1, sizeof(*c->ref_label));
	if (!c->ref || !c->ref_label)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	cJSON_ArrayForEach(rec, cJSON_GetObjectItemCaseSensitive(c->record, "consumers")) {
		cJSON *now = NULL;
		const cJSON *cl;
		int rc;

		c->ref[i] = rec;
		c->ref_label[i] = "backup";
		rc = xorb_js_consumer_info(c->o->nc, c->ms->name, xorb_json_str(rec, "name", ""), c->o->api_timeout_ms, &now,
				   NULL);
		if (rc == XORB_ENOTFOUND)
			c->ref[i] = NULL;
		if (rc == XORB_OK && c->mode == XORB_NODECHECK_RECORD) {
			cl = cJSON_GetObjectItemCaseSensitive(now, "cluster");
			/* already reported as different from the backup: every
			 * node must at least show what the leader shows */
			if (*xorb_json_str(cl, "leader", "") && xorb_consumers_compare(rec, now, "", "", NULL)) {
				if (!c->keep && !(c->keep = cJSON_CreateArray())) {
					cJSON_Delete(now);
					return xorb_error_set(err, XORB_ENOMEM, "out of memory");
				}
				cJSON_AddItemToArray(c->keep, now);
				c->ref[i] = now;
				c->ref_label[i] = "leader";
				now = NULL;
			}
		}
		cJSON_Delete(now);
		i++;
	}
	return XORB_OK;
}

int xorb_nodecheck_stream(const struct xorb_nodecheck_opts *o, const struct xorb_manifest_stream *ms,
			  const char *record, size_t len, enum xorb_nodecheck_mode mode,
			  struct xorb_nodecheck_result *res, struct xorb_error *err)
{
	int timeout = o->timeout_ms > 0 ? o->timeout_ms : 60000;
	double t0 = xorb_now(), deadline = t0 + timeout / 1000.0;
	struct check c = { o, ms, mode, NULL, NULL, NULL, NULL, 0, NULL, 0, NULL, 0 };
	bool first = true;
	size_t i;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = xorb_consumers_parse(ms->name, record, len, &c.record, err);
	if (!rc)
		rc = open_nodes(&c, res, err);
	if (!rc)
		rc = set_refs(&c, err);
	while (!rc) {
		unsigned bad = 0;

		for (i = 0; i < c.n_offline; i++)
			free(c.offline[i]);
		c.n_offline = 0;
		for (i = 0; i < c.n_nodes; i++) {
			if (!c.nodes[i].nc)
				continue;
			check_node(&c, &c.nodes[i]);
			bad += c.nodes[i].wrong;
		}
		if (bad && first) {
			/* what the nodes showed right after the restore (-v) */
			for (i = 0; i < c.n_nodes; i++) {
				char label[800];

				if (c.nodes[i].nc && c.nodes[i].wrong)
					xorb_notef(o->note, o->note_arg, XORB_NOTE_DEBUG, ms->name,
						   "through %s, not settled yet: %s",
						   node_label(&c.nodes[i], label, sizeof(label)),
						   c.nodes[i].why.data ? c.nodes[i].why.data : "");
			}
		}
		first = false;
		if (!bad || xorb_now() > deadline)
			break;
		nanosleep(&(struct timespec){ 0, 200 * 1000 * 1000 }, NULL);
	}
	res->seconds = xorb_now() - t0;
	if (!rc && mode == XORB_NODECHECK_RECORD) {
		for (i = 0; i < c.n_nodes; i++) {
			char label[800];

			if (!c.nodes[i].nc || !c.nodes[i].wrong)
				continue;
			res->differ += c.nodes[i].wrong;
			xorb_notef(o->note, o->note_arg, XORB_NOTE_WARN, ms->name,
				   "through %s, %u thing%s still differ%s from the backup after %d s: %s",
				   node_label(&c.nodes[i], label, sizeof(label)), c.nodes[i].wrong,
				   c.nodes[i].wrong == 1 ? "" : "s", c.nodes[i].wrong == 1 ? "s" : "", timeout / 1000,
				   c.nodes[i].why.data ? c.nodes[i].why.data : "");
		}
		for (i = 0; i < c.n_offline; i++) {
			res->offline++;
			xorb_notef(o->note, o->note_arg, XORB_NOTE_WARN, ms->name,
				   "replica %s is offline: it holds nothing of this restore yet and catches up from the other replicas when it is back (the stream has a quorum without it)",
				   c.offline[i]);
		}
		if (!res->differ)
			xorb_notef(o->note, o->note_arg, XORB_NOTE_DEBUG, ms->name,
				   "every node (%u) shows the stream and its %zu recorded consumers as in the backup (%.2f s)",
				   res->nodes, c.n_cons, res->seconds);
	} else if (!rc) {
		xorb_notef(o->note, o->note_arg, XORB_NOTE_DEBUG, ms->name,
			   "every node (%u) answered from elected leaders with their online replicas current after %.2f s%s",
			   res->nodes, res->seconds, xorb_now() > deadline ? " (timeout: the check after the reconciliation reports what is left)" : "");
	}
	for (i = 0; i < c.n_nodes; i++) {
		if (c.nodes[i].own)
			xorb_nats_close(c.nodes[i].nc);
		xorb_buf_release(&c.nodes[i].why);
	}
	for (i = 0; i < c.n_offline; i++)
		free(c.offline[i]);
	free(c.offline);
	free(c.nodes);
	free(c.ref);
	free(c.ref_label);
	cJSON_Delete(c.record);
	cJSON_Delete(c.keep);
	return rc;
}

/*
 * xorb-restore: put a tenant's backup back into a NATS server, exactly.
 *
 *   xorb-restore TENANT [BACKUP-ID|latest] [--stream NAME]... [--replace]
 *                [--dry-run] [--replicas N]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xorb_bundle.h"
#include "xorb_cli.h"
#include "xorb_age.h"
#include "xorb_metrics.h"
#include "xorb_names.h"
#include "xorb_restore.h"
#include "xorb_url.h"
#include "xorb_version.h"

static void help(FILE *f)
{
	fputs("Usage: xorb-restore TENANT [BACKUP-ID|latest] [options]\n"
	      "\n"
	      "Restores the streams of a backup, with their messages, sequence numbers,\n"
	      "timestamps and consumer state, through the server's restore API. The archive\n"
	      "is checked while it streams: a stream is created only once all of its data\n"
	      "passed its checks, and if anything fails, every stream this run proves it\n"
	      "created is deleted again (never a stream someone else created meanwhile). Run\n"
	      "again after a failed or killed run, it keeps streams that already hold the\n"
	      "backup's state and restores the rest; other existing streams are refused\n"
	      "unless --replace. Default backup: latest. In a cluster, success also means\n"
	      "that every node the connection knows of shows each stream and consumer as in\n"
	      "the backup; what differs there, or a node that is down, is a warning (exit 1).\n"
	      "\n"
	      "Options:\n"
	      "      --stream NAME    restore only this stream (repeatable)\n"
	      "      --replace        delete existing streams first (after verifying the\n"
	      "                       whole backup)\n"
	      "      --identity FILE  age identities file (repeatable; env\n"
	      "                       XORB_IDENTITY_FILE) of an encrypted backup: it is\n"
	      "                       verified whole before anything is sent\n"
	      "      --dry-run        print what would be restored; does not connect to NATS\n"
	      "      --replicas N     override num_replicas (restoring into a cluster)\n"
	      "      --window N       restore chunks in flight (default 16)\n"
	      "      --chunk-size N   restore chunk size (default 1M, capped by the server's\n"
	      "                       max_payload)\n"
	      "      --metrics-file F update Prometheus textfile metrics in F\n"
	      "                       (xorb_restore_*); when F cannot be written: a warning\n"
	      "                       and exit 1\n"
	      "      --pre-hook CMD   run CMD (sh -c) before the restore; a failure aborts it\n"
	      "      --post-hook CMD  run CMD after it (XORB_RESULT=ok|failed); hooks also get\n"
	      "                       XORB_OPERATION=restore, XORB_TENANT, XORB_BACKUP_ID, the\n"
	      "                       caller's other XORB_* and PATH, HOME, LANG, LC_ALL, TZ:\n"
	      "                       nothing else\n",
	      f);
	xorb_cli_print_conn_help(f);
	xorb_cli_print_store_help(f);
	xorb_cli_print_output_help(f, 1);
	xorb_cli_print_config_help(f);
	fputs("\n"
	      "Examples:\n"
	      "  xorb-restore t-qa\n"
	      "  xorb-restore --store s3://xorb-backups/prod t-qa 20260101T020000Z-3f9a1c \\\n"
	      "      --dry-run\n"
	      "  xorb-restore -s nats://nats-dr.internal:4222 --replicas 3 t-qa latest\n"
	      "  xorb-restore t-qa --stream xorb-t-qa-scan-live --replace\n"
	      "\n",
	      f);
	xorb_cli_print_exit_help(f);
}

enum {
	OPT_STREAM = XORB_OPT_FIRST_COMMAND_OPT,
	OPT_IDENTITY,
	OPT_REPLACE,
	OPT_DRY_RUN,
	OPT_REPLICAS,
	OPT_WINDOW,
	OPT_CHUNK,
	OPT_METRICS,
	OPT_PRE_HOOK,
	OPT_POST_HOOK,
};

static const struct option longopts[] = {
	XORB_CLI_COMMON_LONGOPTS,
	{ "stream", required_argument, NULL, OPT_STREAM },
	{ "identity", required_argument, NULL, OPT_IDENTITY },
	{ "replace", no_argument, NULL, OPT_REPLACE },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "replicas", required_argument, NULL, OPT_REPLICAS },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "chunk-size", required_argument, NULL, OPT_CHUNK },
	{ "metrics-file", required_argument, NULL, OPT_METRICS },
	{ "pre-hook", required_argument, NULL, OPT_PRE_HOOK },
	{ "post-hook", required_argument, NULL, OPT_POST_HOOK },
	{ NULL, 0, NULL, 0 },
};

static bool selected(const char *const *streams, const char *name)
{
	size_t i;

	if (!streams)
		return true;
	for (i = 0; streams[i]; i++)
		if (!strcmp(streams[i], name))
			return true;
	return false;
}

static int dry_run(const struct xorb_cli *c, const struct xorb_manifest *m,
		   const char *const *streams)
{
	cJSON *doc = NULL, *arr = NULL; /* --json */
	char b[32];
	size_t i;

	for (i = 0; streams && streams[i]; i++)
		if (!xorb_manifest_stream(m, streams[i])) {
			xorb_cli_error(c, "backup %s/%s does not hold stream \"%s\"", m->tenant, m->backup_id,
				       streams[i]);
			return XORB_EXIT_FAIL;
		}
	if (c->json) {
		doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "tenant", m->tenant);
		cJSON_AddStringToObject(doc, "backup_id", m->backup_id);
		cJSON_AddTrueToObject(doc, "dry_run");
		arr = cJSON_AddArrayToObject(doc, "streams");
	} else
		printf("dry run: would restore backup %s of tenant %s (created %s, server %s):\n",
		       m->backup_id, m->tenant, m->created, m->server_version[0] ? m->server_version : "?");
	for (i = 0; i < m->n_streams; i++) {
		const struct xorb_manifest_stream *s = &m->streams[i];
		size_t k;

		if (!selected(streams, s->name))
			continue;
		if (c->json) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "name", s->name);
			xorb_json_add_int(o, "messages", s->messages);
			xorb_json_add_int(o, "bytes", s->bytes);
			xorb_json_add_int(o, "first_seq", s->first_seq);
			xorb_json_add_int(o, "last_seq", s->last_seq);
			xorb_json_add_int(o, "consumers", (int64_t)s->n_consumers);
			cJSON_AddItemToArray(arr, o);
			continue;
		}
		printf("  %-40s %10" PRId64 " messages  seq %" PRId64 "..%" PRId64 "  %s\n", s->name,
		       s->messages, s->first_seq, s->last_seq, xorb_cli_bytes((uint64_t)s->bytes, b, sizeof(b)));
		for (k = 0; k < s->n_consumers; k++)
			printf("      consumer %s\n", s->consumers[k]);
	}
	if (c->json)
		xorb_cli_json_emit(doc, "\n");
	else
		printf("nothing was changed.\n");
	return XORB_EXIT_OK;
}

/*
 * Refuses, before anything is created, a backup the target server cannot
 * read: one made on nats-server 2.15+ (v2 NATSARC1 snapshots) into an older
 * server. A backup that records no server version is not checked; when the
 * target's version cannot be read, the restore goes on with a warning (the
 * server then fails it if it cannot read it).
 */
static int check_target_version(const struct xorb_cli *c, natsConnection *nc,
				const struct xorb_manifest *m, struct xorb_error *err)
{
	struct xorb_version bv;
	struct xorb_error e = { 0, "" };
	cJSON *info = NULL;
	int rc;

	if (!m->server_version || !*m->server_version)
		return XORB_OK;
	if (!xorb_version_parse(m->server_version, &bv, NULL) && xorb_version_snapshot_format(&bv) < 2)
		return XORB_OK; /* v1 (tar) snapshots: every supported server reads them */
	if (xorb_nats_server_info(nc, &info, &e)) {
		xorb_cli_warn(c, "cannot read the target server's version (%s): not checking that it can read the snapshots of backup %s, made on nats-server %s (servers older than %s cannot)",
			      e.msg, m->backup_id, m->server_version, XORB_SNAPSHOT_V2_SINCE);
		return XORB_OK;
	}
	rc = xorb_version_check_restore(m->server_version, xorb_json_str(info, "version", ""), "the backup", err);
	cJSON_Delete(info);
	if (rc == XORB_EINVAL) {
		xorb_cli_warn(c, "%s; restoring anyway", err->msg);
		xorb_error_clear(err);
		return XORB_OK;
	}
	return rc;
}

/* Returns -1 when the metrics file could not be updated (warning printed):
 * the run then ends with exit code 1 at least. */
static int record(const struct xorb_cli *c, const char *path, const char *tenant, const char *result,
		  const struct xorb_restore_result *res, double seconds)
{
	struct xorb_run_metrics m = { "restore", tenant, result, (double)time(NULL), seconds,
				      res ? res->bytes : 0, res ? res->messages : 0, res ? res->streams : 0 };
	struct xorb_error err = { 0, "" };

	if (!path || !xorb_metrics_record(path, &m, &err))
		return 0;
	xorb_cli_warn(c, "the metrics of the restore of tenant \"%s\" were not recorded: %s: create the directory or fix --metrics-file (until then monitoring sees no new sample)",
		      tenant, err.msg);
	return -1;
}

int main(int argc, char **argv)
{
	struct xorb_restore_opts o;
	struct xorb_restore_result res;
	struct xorb_manifest *m = NULL;
	struct xorb_store *store = NULL;
	struct xorb_error err = { 0, "" };
	natsConnection *nc = NULL;
	struct xorb_cli c;
	const char **streams = NULL, *tenant, *id, **idfiles = NULL;
	size_t n_streams = 0, n_idfiles = 0, n_ids = 0;
	struct xorb_age_identity **ids = NULL;
	bool dry = false;
	const char *metrics = NULL, *pre_hook = NULL, *post_hook = NULL;
	double t0 = xorb_now();
	char b[32];
	int hook, metrics_lost = 0;
	int opt, rc;
	int64_t v;

	xorb_cli_init(&c, "xorb-restore");
	memset(&o, 0, sizeof(o));
	if (xorb_cli_begin(&c, argc, argv, XORB_CLI_COMMON_SHORTOPTS, longopts))
		return XORB_EXIT_USAGE;
	while ((opt = xorb_cli_getopt(&c, argc, argv, NULL)) != -1) {
		int h = xorb_cli_common_opt(&c, opt, optarg);

		if (h < 0)
			return XORB_EXIT_USAGE;
		if (h)
			continue;
		switch (opt) {
		case 'h':
			help(stdout);
			return XORB_EXIT_OK;
		case XORB_OPT_VERSION: xorb_cli_version(&c); return XORB_EXIT_OK;
		case OPT_STREAM:
			if (xorb_cli_list_add(&streams, &n_streams, optarg))
				return XORB_EXIT_FAIL;
			break;
		case OPT_IDENTITY:
			if (xorb_cli_list_add(&idfiles, &n_idfiles, optarg))
				return XORB_EXIT_FAIL;
			break;
		case OPT_REPLACE: o.replace = true; break;
		case OPT_DRY_RUN: dry = true; break;
		case OPT_REPLICAS:
			if ((v = xorb_cli_parse_int(&c, "--replicas", optarg, 1, 5, false)) < 0)
				return XORB_EXIT_USAGE;
			o.replicas = (int)v;
			break;
		case OPT_WINDOW:
			if ((v = xorb_cli_parse_int(&c, "--window", optarg, 1, 256, false)) < 0)
				return XORB_EXIT_USAGE;
			o.proto.window = (int)v;
			break;
		case OPT_CHUNK:
			if ((v = xorb_cli_parse_int(&c, "--chunk-size", optarg, 4096, 8 << 20, true)) < 0)
				return XORB_EXIT_USAGE;
			o.proto.chunk_size = (int)v;
			break;
		case OPT_METRICS: metrics = optarg; break;
		case OPT_PRE_HOOK: pre_hook = optarg; break;
		case OPT_POST_HOOK: post_hook = optarg; break;
		default:
			return XORB_EXIT_USAGE; /* xorb_cli_getopt said why */
		}
	}
	if (optind >= argc)
		return xorb_cli_missing_arg(&c, "TENANT");
	if (optind + 2 < argc)
		return xorb_cli_extra_arg(&c, argv[optind + 2]);
	tenant = argv[optind];
	id = optind + 1 < argc ? argv[optind + 1] : "latest";
	if (xorb_tenant_check(tenant, &err))
		return xorb_cli_usage_error(&c, "%s", err.msg);
	c.tenant = tenant;
	xorb_cli_progress_setup(&c);
	if (c.progress)
		o.progress = xorb_cli_progress_cb;
	o.streams = streams;
	o.note = xorb_cli_note;
	o.note_arg = &c;
	o.api_timeout_ms = c.conn.timeout_ms;
	o.conn = &c.conn;
	o.proto.api_timeout_ms = c.conn.timeout_ms;

	if (xorb_cli_identities(&c, idfiles, n_idfiles, &ids, &n_ids)) {
		rc = XORB_EXIT_FAIL;
		goto out;
	}
	rc = xorb_cli_open_store(&c, NULL, XORB_STORE_READ, &store, &err);
	/* an encrypted backup is opened here, before anything connects: no
	 * identity, a wrong one, or a damaged sealed manifest stop the restore */
	if (!rc)
		rc = xorb_cli_open_backup(store, tenant, id, ids, n_ids, 0, &m, &err);
	if (rc) {
		rc = xorb_cli_fail(&c, &err);
		goto out;
	}
	if (dry) {
		rc = dry_run(&c, m, streams);
		goto out;
	}
	if (pre_hook && (hook = xorb_cli_run_hook(&c, pre_hook, "restore", tenant, m->backup_id, ""))) {
		xorb_cli_error(&c, "restore of tenant \"%s\" aborted: the pre-hook failed (exit %d): %s", tenant,
			       hook, xorb_url_shown(pre_hook, false));
		rc = XORB_EXIT_FAIL;
		record(&c, metrics, tenant, "failed", NULL, xorb_now() - t0);
		if (post_hook)
			xorb_cli_run_hook(&c, post_hook, "restore", tenant, m->backup_id, "failed");
		goto out;
	}
	memset(&res, 0, sizeof(res));
	rc = xorb_cli_connect(&c, &nc, &err);
	if (!rc)
		rc = check_target_version(&c, nc, m, &err);
	if (!rc)
		rc = xorb_restore_backup(nc, store, m, &o, &res, &err);
	xorb_cli_progress_end(&c);
	metrics_lost = record(&c, metrics, tenant, rc ? "failed" : "ok", &res, xorb_now() - t0) != 0;
	if (post_hook && (hook = xorb_cli_run_hook(&c, post_hook, "restore", tenant, m->backup_id, rc ? "failed" : "ok")))
		xorb_cli_warn(&c, "the post-hook failed (exit %d): %s", hook, xorb_url_shown(post_hook, false));
	if (rc) {
		xorb_cli_error(&c, "restore of backup %s of tenant \"%s\" failed: %s", m->backup_id, tenant,
			       err.msg);
		if (c.json) {
			cJSON *j = cJSON_CreateObject();

			cJSON_AddStringToObject(j, "tenant", tenant);
			cJSON_AddStringToObject(j, "backup_id", m->backup_id);
			cJSON_AddStringToObject(j, "result", "failed");
			cJSON_AddStringToObject(j, "error", err.msg);
			xorb_cli_json_emit(j, "\n");
		}
		rc = XORB_EXIT_FAIL;
		goto out;
	}
	if (c.json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "tenant", tenant);
		cJSON_AddStringToObject(j, "backup_id", m->backup_id);
		cJSON_AddStringToObject(j, "result",
					res.consumer_warnings || res.config_warnings || res.node_warnings || metrics_lost
						? "warning"
						: "ok");
		xorb_json_add_int(j, "streams", res.streams);
		xorb_json_add_int(j, "messages", (int64_t)res.messages);
		xorb_json_add_int(j, "bytes", (int64_t)res.bytes);
		xorb_cli_json_add_seconds(j, "seconds", res.seconds);
		xorb_json_add_int(j, "consumers_repaired", res.consumers_repaired);
		xorb_json_add_int(j, "consumers_differing", res.consumer_warnings);
		xorb_json_add_int(j, "streams_kept", res.kept);
		xorb_json_add_int(j, "partial_streams_replaced", res.partials_replaced);
		xorb_json_add_int(j, "node_warnings", res.node_warnings);
		xorb_cli_json_emit(j, "\n");
	} else if (!c.quiet && !res.kept)
		printf("restored backup %s of tenant %s: %u streams, %" PRIu64 " messages (%s) in %.2f s\n",
		       m->backup_id, tenant, res.streams, res.messages,
		       xorb_cli_bytes(res.bytes, b, sizeof(b)), res.seconds);
	else if (!c.quiet)
		printf("restored backup %s of tenant %s: %u streams restored, %" PRIu64 " messages (%s) in %.2f s; %u kept (they already held the backup's state)\n",
		       m->backup_id, tenant, res.streams, res.messages,
		       xorb_cli_bytes(res.bytes, b, sizeof(b)), res.seconds, res.kept);
	rc = XORB_EXIT_OK;
	if (res.config_warnings) {
		xorb_cli_warn(&c, "%u stream%s of tenant \"%s\" came back with another config than the backup's (see the warnings above): this server does not keep everything the backup holds",
			      res.config_warnings, res.config_warnings == 1 ? "" : "s", tenant);
		rc = XORB_EXIT_WARN;
	}
	if (res.node_warnings) {
		xorb_cli_warn(&c, "the cluster's nodes: %u problem%s (see the warnings above): a node that is down or a replica not yet current does not show what the restore put on the others; check the nodes named there",
			      res.node_warnings, res.node_warnings == 1 ? "" : "s");
		rc = XORB_EXIT_WARN;
	}
	if (res.consumer_warnings) {
		xorb_cli_warn(&c, "%u consumer%s of tenant \"%s\" differ%s from the backup (see the warnings above): the data is restored; check those consumers' positions before the applications resume",
			      res.consumer_warnings, res.consumer_warnings == 1 ? "" : "s", tenant,
			      res.consumer_warnings == 1 ? "s" : "");
		rc = XORB_EXIT_WARN;
	}
	if (metrics_lost)
		rc = XORB_EXIT_WARN;
out:
	xorb_nats_close(nc);
	xorb_manifest_free(m);
	xorb_store_free(store);
	xorb_age_identities_free(ids, n_ids);
	free(idfiles);
	free(streams);
	nats_CloseAndWait(5000); /* frees what the library still holds: no leak reports */
	return rc;
}

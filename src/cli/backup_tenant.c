/* xorb-backup tenant: see backup.h. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xorb_bundle.h"
#include "backup.h"
#include "xorb_buf.h"
#include "xorb_cli.h"
#include "xorb_env.h"
#include "xorb_json.h"
#include "xorb_manifest.h"
#include "xorb_metrics.h"
#include "xorb_names.h"
#include "xorb_show.h"
#include "xorb_state.h"
#include "xorb_url.h"

static void progress_cb(void *arg, const char *stream, uint64_t done, uint64_t total)
{
	struct backup_args *a = (struct backup_args *)arg;
	static const char *last;

	if (stream != last) {
		last = stream;
		a->progress_started = xorb_now();
	}
	xorb_cli_progress(&a->c, stream, done, total, a->progress_started);
}

static void note_cb(void *arg, enum xorb_note_level lvl, const char *stream, const char *msg)
{
	xorb_cli_note(&((struct backup_args *)arg)->c, lvl, stream, msg);
}

/* Returns -1 when the metrics file could not be updated (warning printed):
 * monitoring then sees no new sample, so the run ends with exit code 1. */
static int record_metrics(struct backup_args *a, const char *tenant, const char *result,
			  const struct xorb_backup_result *res, double seconds)
{
	struct xorb_run_metrics m = { "backup", tenant, result, (double)time(NULL), seconds,
				      res ? res->bytes : 0, res ? res->messages : 0, res ? res->streams : 0 };
	struct xorb_error err = { 0, "" };

	if (!a->metrics || !xorb_metrics_record(a->metrics, &m, &err))
		return 0;
	xorb_cli_warn(&a->c, "the metrics of the backup of tenant \"%s\" were not recorded: %s: create the directory or fix --metrics-file (until then monitoring sees no new sample)",
		      tenant, err.msg);
	return -1;
}

static int cmd_tenant(struct backup_args *a, const char *tenant)
{
	struct xorb_cli *c = &a->c;
	struct xorb_backup_result res;
	struct xorb_store *store = NULL;
	natsConnection *nc = NULL;
	struct xorb_error err = { 0, "" };
	char b1[32], b2[32], b3[32], path[4200], id[32], *account_state = NULL;
	const char *result;
	double t0 = xorb_now();
	int rc, hook, metrics_lost = 0;

	c->tenant = tenant;
	memset(&res, 0, sizeof(res));
	a->o.tenant = tenant;
	a->o.note = note_cb;
	a->o.note_arg = a;
	a->o.api_timeout_ms = c->conn.timeout_ms;
	a->o.streams = a->streams;
	xorb_cli_progress_setup(c);
	if (c->progress)
		a->o.progress = progress_cb;
	rc = xorb_tenant_check(tenant, &err);
	if (rc)
		return xorb_cli_usage_error(c, "%s", err.msg);
	/* encryption: the keys are read before anything else happens */
	if (!a->o.archive.n_recipients) {
		struct xorb_age_recipient *rs = NULL;
		size_t nr = 0;

		rc = xorb_cli_recipients(c, a->recipient_keys, a->n_recipient_keys, a->recipient_files,
					 a->n_recipient_files, &rs, &nr);
		if (rc)
			return rc;
		a->o.archive.recipients = rs; /* kept for the process */
		a->o.archive.n_recipients = nr;
	}
	rc = xorb_backup_id_new(time(NULL), id, sizeof(id), &err);
	if (rc)
		return xorb_cli_fail(c, &err);
	a->o.backup_id = id;
	if (a->pre_hook) {
		hook = xorb_cli_run_hook(c, a->pre_hook, "backup", tenant, id, "");
		if (hook) {
			xorb_cli_error(c, "backup of tenant \"%s\" aborted: the pre-hook failed (exit %d): %s", tenant,
				       hook, xorb_url_shown(a->pre_hook, false));
			record_metrics(a, tenant, "failed", NULL, xorb_now() - t0);
			if (a->post_hook)
				xorb_cli_run_hook(c, a->post_hook, "backup", tenant, id, "failed");
			if (c->json) {
				cJSON *j = cJSON_CreateObject();

				cJSON_AddStringToObject(j, "tenant", tenant);
				cJSON_AddStringToObject(j, "result", "failed");
				cJSON_AddStringToObject(j, "error", "pre-hook failed");
				xorb_cli_json_emit(j, "\n");
			}
			return XORB_EXIT_FAIL;
		}
	}
	rc = xorb_cli_open_store(c, NULL, XORB_STORE_WRITE, &store, &err);
	if (!rc)
		rc = xorb_cli_load_context(c, &err);
	if (!rc && a->system_creds) {
		struct xorb_conn_opts so = c->conn;
		natsConnection *sys = NULL;

		so.creds = a->system_creds;
		so.user = so.password = NULL;
		rc = xorb_nats_connect(&so, &sys, &err);
		if (!rc)
			rc = xorb_state_export_account(sys, tenant, &account_state, &err);
		if (rc)
			xorb_error_prefix(&err, "reading the account with the system user (%s): ", a->system_creds);
		xorb_nats_close(sys);
		a->o.account_state = account_state;
	}
	if (!rc)
		rc = xorb_cli_connect(c, &nc, &err);
	if (!rc)
		rc = xorb_backup_tenant(nc, store, &a->o, &res, &err);
	free(account_state);
	a->o.account_state = NULL;
	xorb_cli_progress_end(c);
	xorb_nats_close(nc);
	result = rc ? "failed" : res.warnings ? "warning" : "ok";
	if (record_metrics(a, tenant, result, &res, xorb_now() - t0) && !rc) {
		metrics_lost = 1;
		result = "warning";
	}
	if (a->post_hook) {
		hook = xorb_cli_run_hook(c, a->post_hook, "backup", tenant, id, result);
		if (hook)
			xorb_cli_warn(c, "the post-hook failed (exit %d): %s", hook, xorb_url_shown(a->post_hook, false));
	}
	if (rc) {
		xorb_store_free(store);
		xorb_cli_error(c, "backup of tenant \"%s\" failed: %s", tenant, err.msg);
		if (c->json) {
			cJSON *j = cJSON_CreateObject();

			cJSON_AddStringToObject(j, "tenant", tenant);
			cJSON_AddStringToObject(j, "result", "failed");
			cJSON_AddStringToObject(j, "error", err.msg);
			xorb_cli_json_emit(j, "\n");
		}
		return XORB_EXIT_FAIL;
	}
	snprintf(path, sizeof(path), "%s/%s", xorb_store_url(store), res.archive_key);
	xorb_store_free(store);
	if (c->json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "tenant", tenant);
		cJSON_AddStringToObject(j, "result", result);
		cJSON_AddStringToObject(j, "backup_id", res.backup_id);
		cJSON_AddStringToObject(j, "archive", res.archive_key);
		xorb_json_add_int(j, "streams", res.streams);
		xorb_json_add_int(j, "skipped", res.skipped);
		xorb_json_add_int(j, "messages", (int64_t)res.messages);
		xorb_json_add_int(j, "bytes", (int64_t)res.bytes);
		xorb_json_add_int(j, "snapshot_bytes", (int64_t)res.snapshot_bytes);
		xorb_json_add_int(j, "archive_bytes", (int64_t)res.archive_bytes);
		xorb_cli_json_add_seconds(j, "seconds", res.seconds);
		xorb_cli_json_emit(j, "\n");
	} else if (!c->quiet) {
		printf("backup %s of tenant %s complete%s\n", res.backup_id, tenant,
		       res.warnings || metrics_lost ? " WITH WARNINGS" : "");
		printf("  streams   %u saved, %u skipped\n", res.streams, res.skipped);
		printf("  messages  %" PRIu64 " (%s)\n", res.messages, xorb_cli_bytes(res.bytes, b1, sizeof(b1)));
		printf("  archive   %s (%s; snapshots %s)\n", path,
		       xorb_cli_bytes(res.archive_bytes, b2, sizeof(b2)),
		       xorb_cli_bytes(res.snapshot_bytes, b3, sizeof(b3)));
		printf("  duration  %.2f s (%s/s)\n", res.seconds,
		       xorb_cli_bytes(res.seconds > 0 ? (uint64_t)((double)res.snapshot_bytes / res.seconds) : 0,
				      b1, sizeof(b1)));
	}
	return res.warnings || metrics_lost ? XORB_EXIT_WARN : XORB_EXIT_OK;
}

void backup_run_options_help(FILE *f)
{
	fputs("      --no-consumers     leave consumers out of the snapshots\n"
	      "      --chunk-size N     snapshot chunk size asked of the server, 1K..1M\n"
	      "                         (default 256K)\n"
	      "      --window-size N    bytes the server may send before acks, 1K..32M\n"
	      "                         (nats-server 2.12.5+; default: the server's, 8M)\n"
	      "      --idle-timeout SEC fail a snapshot that sends nothing for SEC seconds\n"
	      "                         (default 30)\n"
	      "      --zstd-level N     zstd level -7..19 for every entry (default: JSON at\n"
	      "                         3, snapshots stored: they are S2-compressed already)\n"
	      "      --part-size N      split snapshots larger than N into parts (default 4M)\n"
	      "      --system-creds F   also save the tenant's account (JWT and claims, as\n"
	      "                         the server holds it) as account/state.json, read\n"
	      "                         with the system user F\n"
	      "      --metrics-file F   update Prometheus textfile metrics in F (atomic);\n"
	      "                         when F cannot be written: a warning and exit 1\n"
	      "      --recipient AGE1...  encrypt the archive to this age public key\n"
	      "                         (repeatable)\n"
	      "      --recipients-file F  ... to the keys of an age recipients file\n"
	      "                         (repeatable; env XORB_RECIPIENTS_FILE). The archive\n"
	      "                         is <backup-id>.tar.zst.age; the sidecar keeps no\n"
	      "                         stream, subject or consumer name in plain text\n"
	      "      --pre-hook CMD     run CMD (sh -c) before the backup; a failure aborts\n"
	      "                         the tenant\n"
	      "      --post-hook CMD    run CMD after the backup (XORB_RESULT=ok|warning|\n"
	      "                         failed). Hooks get XORB_OPERATION, XORB_TENANT,\n"
	      "                         XORB_BACKUP_ID, XORB_RESULT, the caller's other\n"
	      "                         XORB_* and PATH, HOME, LANG, LC_ALL, TZ: nothing else\n",
	      f);
}

static void help(FILE *f)
{
	fputs("Usage: xorb-backup tenant TENANT [options]\n"
	      "\n"
	      "Backs up every stream of TENANT: the streams named xorb-TENANT-<domain>-<class>\n"
	      "in the account the credentials reach. Each file-storage stream is saved with\n"
	      "the server's snapshot API, consumers included, into ONE archive\n"
	      "<store>/TENANT/<backup-id>.tar.zst; the sidecar <backup-id>.json is written\n"
	      "last, so a backup exists only once it is complete.\n"
	      "\n"
	      "Options:\n"
	      "      --stream NAME      back up only this stream (repeatable)\n",
	      f);
	backup_run_options_help(f);
	xorb_cli_print_conn_help(f);
	xorb_cli_print_store_help(f);
	xorb_cli_print_output_help(f, 1);
	xorb_cli_print_config_help(f);
	fputs("\n"
	      "Examples:\n"
	      "  xorb-backup tenant t-qa\n"
	      "  xorb-backup --store s3://xorb-backups/prod tenant t-qa --json\n"
	      "  xorb-backup --creds /etc/xorb/xorb-t-qa-backup.creds tenant t-qa \\\n"
	      "      --stream xorb-t-qa-scan-live --no-consumers\n"
	      "  xorb-backup tenant t-qa --recipients-file /etc/xorb/t-qa.recipients\n"
	      "\n",
	      f);
	xorb_cli_print_exit_help(f);
}

static int run(struct backup_args *a, char **argv, int argc)
{
	if (argc < 1)
		return xorb_cli_missing_arg(&a->c, "TENANT");
	if (argc > 1)
		return xorb_cli_extra_arg(&a->c, argv[1]);
	return cmd_tenant(a, argv[0]);
}

static const struct option longopts[] = {
	XORB_CLI_CONN_LONGOPTS,
	XORB_CLI_STORE_LONGOPTS,
	XORB_CLI_OUTPUT_LONGOPTS,
	XORB_CLI_JSON_LONGOPT,
	XORB_CLI_BASE_LONGOPTS,
	BACKUP_RUN_LONGOPTS,
	{ "stream", required_argument, NULL, OPT_STREAM },
	{ NULL, 0, NULL, 0 },
};

const struct backup_cmd backup_tenant_cmd = {
	"tenant", "back up every stream of a tenant", XORB_CLI_COMMON_SHORTOPTS, longopts, NULL, help, run,
};

/*
 * xorb-backup: back up tenants into the backup store, list backups, and check
 * that backups are fresh.
 *
 *   xorb-backup tenant TENANT [--stream NAME]... [--no-consumers]
 *   xorb-backup all (--env ENV | --tenants a,b,c) [--creds-dir DIR] [--parallel N]
 *   xorb-backup list [TENANT]
 *   xorb-backup check [--max-age 26h] [--warn-age 24h] [--env ENV] [TENANT]...
 *   xorb-backup copy (TENANT [ID] | [TENANT] --all) --to STORE [--dry-run]
 *   xorb-backup show TENANT [ID] | stats [TENANT] | diff TENANT ID1 ID2   (src/cli/xorb_show.c)
 */
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
#include "xorb_cli.h"
#include "xorb_env.h"
#include "xorb_json.h"
#include "xorb_manifest.h"
#include "xorb_metrics.h"
#include "xorb_names.h"
#include "xorb_show.h"
#include "xorb_state.h"
#include "xorb_url.h"

static const char usage_text[] =
	"Usage: xorb-backup tenant TENANT [options]   back up every stream of a tenant\n"
	"       xorb-backup all (--env ENV | --tenants a,b,c) [options]   every tenant\n"
	"       xorb-backup list [TENANT] [options]   list complete backups, newest first\n"
	"       xorb-backup check [TENANT]... [options]   health check for monitoring\n"
	"       xorb-backup copy (TENANT [ID] | [TENANT] --all) --to STORE [options]\n"
	"                                                 copy backups to another store (off-site)\n"
	"       xorb-backup show TENANT [ID|latest] [options]   one backup: streams, consumers,\n"
	"                                                 sequences, sizes, server, duration\n"
	"       xorb-backup stats [TENANT] [options]    per tenant: backups, oldest/newest, sizes\n"
	"       xorb-backup diff TENANT ID1 ID2 [options]   what changed between two backups\n"
	"\n"
	"The tenant's streams are those named xorb-TENANT-<domain>-<class> in the account the\n"
	"credentials reach. Each file-storage stream is saved with the server's snapshot API,\n"
	"consumers included, into ONE archive <store>/TENANT/<backup-id>.tar.zst; the sidecar\n"
	"<backup-id>.json is written last, so a backup exists only once it is complete.\n"
	"\n"
	"Options of 'tenant' (and 'all'):\n"
	"      --stream NAME      back up only this stream (repeatable; 'tenant' only)\n"
	"      --no-consumers     leave consumers out of the snapshots\n"
	"      --chunk-size N     snapshot chunk size asked of the server, 1K..1M (default 256K)\n"
	"      --window-size N    bytes the server may send before acks, 1K..32M (nats-server\n"
	"                         2.12.5+; default: the server's, 8M)\n"
	"      --idle-timeout SEC fail a snapshot that sends nothing for SEC seconds (default 30)\n"
	"      --zstd-level N     zstd level -7..19 for every entry (default: JSON at 3, snapshots\n"
	"                         stored: they are S2-compressed already; see README)\n"
	"      --part-size N      split snapshots larger than N into parts (default 4M)\n"
	"      --system-creds F   also save the tenant's account (JWT and claims, as the server\n"
	"                         holds it) as account/state.json, read with the system user F\n"
	"      --metrics-file F   update Prometheus textfile metrics in F (atomic); when F cannot\n"
	"                         be written: a warning and exit 1\n"
	"      --pre-hook CMD     run CMD (sh -c) before the backup; a failure aborts the tenant\n"
	"      --recipient AGE1...  encrypt the archive to this age public key (repeatable)\n"
	"      --recipients-file F  ... to the keys of an age recipients file (repeatable;\n"
	"                         env XORB_RECIPIENTS_FILE); 'all' adds each tenant's\n"
	"                         backup_recipients of the environment file. The archive is\n"
	"                         <backup-id>.tar.zst.age; the sidecar keeps no stream, subject\n"
	"                         or consumer name in plain text (README: Encryption)\n"
	"      --post-hook CMD    run CMD after the backup (XORB_RESULT=ok|warning|failed)\n"
	"                         hooks get XORB_OPERATION, XORB_TENANT, XORB_BACKUP_ID, XORB_RESULT,\n"
	"                         the caller's other XORB_* and PATH, HOME, LANG, LC_ALL, TZ: nothing else\n"
	"Options of 'all':\n"
	"      --env ENV          tenants of environments/ENV.tfvars.json (or a path)\n"
	"      --tenants a,b,c    these tenants (one named twice runs once)\n"
	"      --creds-dir DIR    per-tenant credentials DIR/xorb-<tenant>-backup.creds\n"
	"      --parallel N       tenants backed up at a time (default 1)\n"
	"  One line per tenant; exit 0 all ok, 1 any warning, 2 any failure. One tenant's\n"
	"  failure never stops the others.\n"
	"Options of 'check' (Nagios exit codes: 0 OK, 1 WARNING, 2 CRITICAL):\n"
	"      --max-age D        CRITICAL when the newest backup is older (default 26h)\n"
	"      --warn-age D       WARNING when it is older (default 24h)\n"
	"      --env ENV          check the environment's tenants (default: the arguments, else\n"
	"                         every tenant found in the store)\n"
	"Options of 'copy' (from --store to --to; the --s3-* options apply to both):\n"
	"      --to STORE         the destination store (required)\n"
	"      --all              every backup (of TENANT, or of every tenant) the destination lacks\n"
	"      --dry-run          print what would be copied, copy nothing\n"
	"  ID defaults to the newest backup. Each archive is checked against its sidecar's size\n"
	"  and SHA-256 while it streams (a damaged source is not copied); the sidecar goes last.\n"
	"  Backups the destination already holds are skipped. Exit 0 ok, 2 any failure.\n"
	"show, stats and diff read sidecars only (no archive, no NATS): the store options, --json,\n"
	"  -q, -v. ID defaults to the newest. diff compares streams, messages, bytes, first/last\n"
	"  sequences, replicas and consumers: exit 0 identical, 1 different, 2 error (like diff).\n"
	"      --identity FILE    (show, diff) open an encrypted backup's sealed manifest with this\n"
	"                         age identities file (repeatable); without it show gives the\n"
	"                         plain totals and diff refuses encrypted backups\n"
	"\n";

enum {
	OPT_STREAM = XORB_OPT_FIRST_COMMAND_OPT,
	OPT_NO_CONSUMERS,
	OPT_CHUNK,
	OPT_WINDOW,
	OPT_IDLE,
	OPT_ZSTD,
	OPT_PART,
	OPT_METRICS,
	OPT_PRE_HOOK,
	OPT_POST_HOOK,
	OPT_ENV,
	OPT_TENANTS,
	OPT_CREDS_DIR,
	OPT_PARALLEL,
	OPT_MAX_AGE,
	OPT_WARN_AGE,
	OPT_SYSTEM_CREDS,
	OPT_TO,
	OPT_ALL,
	OPT_DRY_RUN,
	OPT_RECIPIENT,
	OPT_RECIPIENTS_FILE,
	OPT_IDENTITY,
	OPT_END /* after the last: every option above is checked per subcommand */
};

/* Which command options each subcommand takes; any other is a usage error
 * (before, "tenant --dry-run" ran a real backup, "check --to" and "list
 * --all" were ignored). */
#define OPTBIT(o) (UINT64_C(1) << ((o) - XORB_OPT_FIRST_COMMAND_OPT))
#define BACKUP_OPTS                                                                                      \
	(OPTBIT(OPT_NO_CONSUMERS) | OPTBIT(OPT_CHUNK) | OPTBIT(OPT_WINDOW) | OPTBIT(OPT_IDLE) |          \
	 OPTBIT(OPT_ZSTD) | OPTBIT(OPT_PART) | OPTBIT(OPT_METRICS) | OPTBIT(OPT_PRE_HOOK) |              \
	 OPTBIT(OPT_POST_HOOK) | OPTBIT(OPT_SYSTEM_CREDS) | OPTBIT(OPT_RECIPIENT) | OPTBIT(OPT_RECIPIENTS_FILE))
static const struct {
	const char *cmd;
	uint64_t opts;
} cmd_opts[] = {
	{ "tenant", BACKUP_OPTS | OPTBIT(OPT_STREAM) },
	{ "all", BACKUP_OPTS | OPTBIT(OPT_ENV) | OPTBIT(OPT_TENANTS) | OPTBIT(OPT_CREDS_DIR) | OPTBIT(OPT_PARALLEL) },
	{ "list", 0 },
	{ "check", OPTBIT(OPT_MAX_AGE) | OPTBIT(OPT_WARN_AGE) | OPTBIT(OPT_ENV) },
	{ "copy", OPTBIT(OPT_TO) | OPTBIT(OPT_ALL) | OPTBIT(OPT_DRY_RUN) },
	{ "show", OPTBIT(OPT_IDENTITY) },
	{ "stats", 0 },
	{ "diff", OPTBIT(OPT_IDENTITY) },
};

static const struct option longopts[] = {
	XORB_CLI_COMMON_LONGOPTS,
	{ "stream", required_argument, NULL, OPT_STREAM },
	{ "recipient", required_argument, NULL, OPT_RECIPIENT },
	{ "recipients-file", required_argument, NULL, OPT_RECIPIENTS_FILE },
	{ "identity", required_argument, NULL, OPT_IDENTITY },
	{ "no-consumers", no_argument, NULL, OPT_NO_CONSUMERS },
	{ "chunk-size", required_argument, NULL, OPT_CHUNK },
	{ "window-size", required_argument, NULL, OPT_WINDOW },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE },
	{ "zstd-level", required_argument, NULL, OPT_ZSTD },
	{ "part-size", required_argument, NULL, OPT_PART },
	{ "metrics-file", required_argument, NULL, OPT_METRICS },
	{ "pre-hook", required_argument, NULL, OPT_PRE_HOOK },
	{ "post-hook", required_argument, NULL, OPT_POST_HOOK },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "tenants", required_argument, NULL, OPT_TENANTS },
	{ "creds-dir", required_argument, NULL, OPT_CREDS_DIR },
	{ "parallel", required_argument, NULL, OPT_PARALLEL },
	{ "max-age", required_argument, NULL, OPT_MAX_AGE },
	{ "warn-age", required_argument, NULL, OPT_WARN_AGE },
	{ "system-creds", required_argument, NULL, OPT_SYSTEM_CREDS },
	{ "to", required_argument, NULL, OPT_TO },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ NULL, 0, NULL, 0 },
};

/* Usage error when an option given (bits of given) is not one of sub's. */
static int check_cmd_opts(const struct xorb_cli *c, const char *sub, uint64_t given)
{
	const struct option *o;
	size_t i, k;

	for (i = 0; i < sizeof(cmd_opts) / sizeof(cmd_opts[0]) && strcmp(cmd_opts[i].cmd, sub); i++)
		;
	if (i == sizeof(cmd_opts) / sizeof(cmd_opts[0]))
		return 0; /* an unknown command: said later */
	for (o = longopts; o->name; o++) {
		char of[64] = "";

		if (o->val < XORB_OPT_FIRST_COMMAND_OPT || !(given & OPTBIT(o->val)) || (cmd_opts[i].opts & OPTBIT(o->val)))
			continue;
		for (k = 0; k < sizeof(cmd_opts) / sizeof(cmd_opts[0]); k++)
			if (cmd_opts[k].opts & OPTBIT(o->val))
				snprintf(of + strlen(of), sizeof(of) - strlen(of), "%s%s", *of ? ", " : "", cmd_opts[k].cmd);
		return xorb_cli_usage_error(c, "%s: --%s does not apply (it is an option of %s)", sub, o->name, of);
	}
	return 0;
}

struct args {
	struct xorb_cli c;
	struct xorb_backup_opts o;
	const char **streams;
	size_t n_streams;
	const char *metrics, *pre_hook, *post_hook, *system_creds;
	const char *env, *tenants, *creds_dir;
	const char **recipient_keys, **recipient_files;
	size_t n_recipient_keys, n_recipient_files;
	struct xorb_env *envobj; /* 'all' with --env: each tenant's backup_recipients */
	const char *copy_to;
	bool copy_all, dry_run;
	int parallel;
	int64_t max_age, warn_age;
	/* options replayed to the children of 'all' */
	const char **child_argv;
	size_t n_child;
	char **owned;
	size_t n_owned;
	double progress_started;
};

static void usage(void)
{
	fputs(usage_text, stdout);
	fputs(xorb_cli_common_help, stdout);
}

static void progress_cb(void *arg, const char *stream, uint64_t done, uint64_t total)
{
	struct args *a = (struct args *)arg;
	static const char *last;

	if (stream != last) {
		last = stream;
		a->progress_started = xorb_now();
	}
	xorb_cli_progress(&a->c, stream, done, total, a->progress_started);
}

static void note_cb(void *arg, enum xorb_note_level lvl, const char *stream, const char *msg)
{
	xorb_cli_note(&((struct args *)arg)->c, lvl, stream, msg);
}

/* Returns -1 when the metrics file could not be updated (warning printed):
 * monitoring then sees no new sample, so the run ends with exit code 1. */
static int record_metrics(struct args *a, const char *tenant, const char *result,
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

static int cmd_tenant(struct args *a, const char *tenant)
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

static int cmd_list(struct args *a, const char *tenant)
{
	struct xorb_cli *c = &a->c;
	struct xorb_store *store = NULL;
	struct xorb_error err = { 0, "" };
	char **keys = NULL, size[32];
	size_t n = 0, i;
	int rc, warn = 0;
	cJSON *list = NULL;

	if (tenant && xorb_tenant_check(tenant, &err))
		return xorb_cli_usage_error(c, "%s", err.msg);
	rc = xorb_cli_open_store(c, NULL, XORB_STORE_READ, &store, &err);
	if (!rc)
		rc = xorb_bundle_list(store, tenant, &keys, &n, &err);
	if (rc) {
		xorb_store_free(store);
		return xorb_cli_fail(c, &err);
	}
	if (c->json)
		list = cJSON_CreateArray();
	else if (!c->quiet)
		printf("%-20s %-23s %-20s %7s %12s %10s\n", "TENANT", "BACKUP ID", "CREATED", "STREAMS",
		       "MESSAGES", "SIZE");
	for (i = 0; i < n; i++) {
		struct xorb_manifest *m = NULL;
		char *text = NULL, what[200];
		size_t len = 0, k;
		int64_t msgs = 0;

		snprintf(what, sizeof(what), "sidecar \"%s\"", keys[i]);
		if (xorb_store_get_all(store, keys[i], XORB_MANIFEST_MAX, &text, &len, &err) ||
		    xorb_manifest_parse(text, len, what, &m, &err) || xorb_bundle_check_location(m, keys[i], &err)) {
			xorb_cli_warn(c, "%s; not listed", err.msg);
			warn = 1;
			free(text);
			xorb_manifest_free(m);
			continue;
		}
		free(text);
		for (k = 0; k < m->n_streams; k++)
			msgs += m->streams[k].messages;
		if (m->sealed) /* encrypted: the sidecar's totals */
			msgs = m->total_messages;
		if (c->json) {
			cJSON *j = cJSON_CreateObject();

			cJSON_AddStringToObject(j, "tenant", m->tenant);
			cJSON_AddStringToObject(j, "backup_id", m->backup_id);
			cJSON_AddStringToObject(j, "created", m->created);
			xorb_json_add_int(j, "streams", m->sealed ? m->total_streams : (int64_t)m->n_streams);
			if (m->sealed)
				cJSON_AddTrueToObject(j, "encrypted");
			xorb_json_add_int(j, "messages", msgs);
			xorb_json_add_int(j, "archive_bytes", (int64_t)m->archive_size);
			cJSON_AddStringToObject(j, "archive", m->archive_key ? m->archive_key : "");
			cJSON_AddItemToArray(list, j);
		} else
			printf("%-20s %-23s %-20s %7zu %12" PRId64 " %10s\n", m->tenant, m->backup_id,
			       m->created, m->sealed ? (size_t)m->total_streams : m->n_streams, msgs,
			       xorb_cli_bytes(m->archive_size, size, sizeof(size)));
		xorb_manifest_free(m);
	}
	if (c->json)
		xorb_cli_json_emit(list, "\n");
	xorb_strv_free(keys, n);
	xorb_store_free(store);
	return warn ? XORB_EXIT_WARN : XORB_EXIT_OK;
}

/* ---- all ---- */

struct child {
	char tenant[XORB_TENANT_MAX + 1];
	pid_t pid;
	int out; /* read end of the child's stdout */
	struct xorb_buf buf;
	int status;
	double t0;
};

static int tenant_list(struct args *a, char ***out, size_t *n, struct xorb_error *err)
{
	char **v = NULL;
	size_t k = 0, i;

	*out = NULL;
	*n = 0;
	if (a->env) {
		struct xorb_env *e = NULL;
		char path[4096];
		int rc;

		xorb_env_path(a->env, path, sizeof(path));
		rc = xorb_env_load(path, &e, err);
		if (rc)
			return rc;
		v = calloc(e->n_tenants + 1, sizeof(char *));
		for (i = 0; v && i < e->n_tenants; i++)
			if ((v[k] = strdup(e->tenants[i].name)))
				k++;
		xorb_env_free(a->envobj);
		a->envobj = e; /* the children's backup_recipients */
	} else if (a->tenants) {
		const char *p = a->tenants;

		v = calloc(strlen(p) + 1, sizeof(char *));
		while (v && *p) {
			size_t l = strcspn(p, ",");

			if (l) {
				v[k] = strndup(p, l);
				if (!v[k])
					break;
				if (xorb_tenant_check(v[k], err)) {
					xorb_strv_free(v, k + 1);
					return XORB_EINVAL;
				}
				k++;
			}
			p += l + (p[l] == ',');
		}
	}
	if (!v)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	/* a tenant named twice runs once: two runs of one tenant at a time
	 * collide on the server ("snapshot in progress") */
	for (i = 0; i < k; i++) {
		size_t j, w = i + 1;

		for (j = i + 1; j < k; j++) {
			if (strcmp(v[j], v[i]))
				v[w++] = v[j];
			else
				free(v[j]);
		}
		if (w < k) {
			char msg[200];

			snprintf(msg, sizeof(msg), "tenant \"%s\" is listed %zu times in %s: it runs once", v[i],
				 k - w + 1, a->env ? "the environment" : "--tenants");
			xorb_cli_note(&a->c, XORB_NOTE_INFO, NULL, msg);
		}
		k = w;
		v[k] = NULL;
	}
	*out = v;
	*n = k;
	return XORB_OK;
}

static int spawn_child(struct args *a, const char *self, struct child *ch)
{
	const char **argv;
	char creds[4200];
	size_t i, k = 0;
	int pfd[2];

	const struct xorb_env_tenant *et = a->envobj ? xorb_env_tenant(a->envobj, ch->tenant) : NULL;
	size_t nr = et ? et->n_backup_recipients : 0;

	argv = calloc(a->n_child + 12 + 2 * nr, sizeof(char *));
	if (!argv || pipe(pfd)) {
		free(argv);
		return -1;
	}
	argv[k++] = self;
	for (i = 0; i < a->n_child; i++)
		argv[k++] = a->child_argv[i];
	if (a->creds_dir) {
		snprintf(creds, sizeof(creds), "%s/xorb-%s-backup.creds", a->creds_dir, ch->tenant);
		argv[k++] = "--creds";
		argv[k++] = creds;
	}
	for (i = 0; i < nr; i++) {
		argv[k++] = "--recipient";
		argv[k++] = et->backup_recipients[i];
	}
	argv[k++] = "--json";
	argv[k++] = "tenant";
	argv[k++] = ch->tenant;
	argv[k] = NULL;
	fflush(stdout);
	fflush(stderr);
	ch->pid = fork();
	if (ch->pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execv(self, (char *const *)argv);
		fprintf(stderr, "xorb-backup: error: cannot run %s: %s\n", self, strerror(errno));
		_exit(2);
	}
	free(argv);
	close(pfd[1]);
	if (ch->pid < 0) {
		close(pfd[0]);
		return -1;
	}
	ch->out = pfd[0];
	ch->t0 = xorb_now();
	xorb_buf_init(&ch->buf);
	return 0;
}

/* Reads what a child wrote until it closes stdout, then reaps it. */
static void finish_child(struct child *ch)
{
	char tmp[4096];
	ssize_t n;
	int st = 0;

	while ((n = read(ch->out, tmp, sizeof(tmp))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && ch->buf.len < 65536)
			xorb_buf_append(&ch->buf, tmp, (size_t)n);
	close(ch->out);
	while (waitpid(ch->pid, &st, 0) < 0 && errno == EINTR)
		;
	ch->status = WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}

static void report_child(struct args *a, const struct child *ch, int first)
{
	cJSON *j = NULL;
	char b[32];

	if (ch->buf.data)
		xorb_json_parse(ch->buf.data, strcspn(ch->buf.data, "\n"), "result", &j, NULL);
	if (a->c.json) {
		printf("%s", first ? "" : ",");
		if (cJSON_IsObject(j)) {
			/* the child's document, printed again by the one writer */
			xorb_cli_json_emit(j, NULL);
			j = NULL;
		} else {
			cJSON *f = cJSON_CreateObject();

			cJSON_AddStringToObject(f, "tenant", ch->tenant);
			cJSON_AddStringToObject(f, "result", "failed");
			xorb_json_add_int(f, "exit", ch->status);
			xorb_cli_json_emit(f, NULL);
		}
	} else if (!a->c.quiet || ch->status) {
		const char *res = ch->status == 0 ? "ok" : ch->status == 1 ? "WARNING" : "FAILED";

		if (j && ch->status != 2)
			printf("%-24s %-8s %s  %3" PRId64 " streams  %10" PRId64 " messages  %10s  %.1f s\n",
			       ch->tenant, res, xorb_json_str(j, "backup_id", "?"), xorb_json_int(j, "streams", 0),
			       xorb_json_int(j, "messages", 0),
			       xorb_cli_bytes((uint64_t)xorb_json_int(j, "archive_bytes", 0), b, sizeof(b)),
			       xorb_now() - ch->t0);
		else
			printf("%-24s %-8s exit %d: %s\n", ch->tenant, res, ch->status,
			       j ? xorb_json_str(j, "error", "see the error above") : "see the error above");
	}
	fflush(stdout);
	cJSON_Delete(j);
}

static int cmd_all(struct args *a)
{
	struct xorb_error err = { 0, "" };
	char **tenants = NULL, self[4096];
	struct child *ch;
	size_t n = 0, next = 0, running = 0, done = 0, i;
	int worst = 0, first = 1;
	ssize_t sl;

	if (!a->env == !a->tenants)
		return xorb_cli_usage_error(&a->c, "all: give exactly one of --env ENV or --tenants a,b,c");
	if (a->streams)
		return xorb_cli_usage_error(&a->c, "all: --stream does not apply (use tenant)");
	if (tenant_list(a, &tenants, &n, &err))
		return err.code == XORB_EINVAL && a->tenants ? xorb_cli_usage_error(&a->c, "%s", err.msg)
							     : xorb_cli_fail(&a->c, &err);
	if (!n) {
		xorb_strv_free(tenants, n);
		xorb_cli_error(&a->c, "no tenants to back up");
		return XORB_EXIT_FAIL;
	}
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0) {
		xorb_strv_free(tenants, n);
		xorb_cli_error(&a->c, "cannot find this program's path: %s", strerror(errno));
		return XORB_EXIT_FAIL;
	}
	self[sl] = '\0';
	ch = calloc(n, sizeof(*ch));
	if (!ch) {
		xorb_strv_free(tenants, n);
		return XORB_EXIT_FAIL;
	}
	if (a->c.json)
		printf("[");
	while (done < n) {
		while (next < n && running < (size_t)a->parallel) {
			snprintf(ch[next].tenant, sizeof(ch[next].tenant), "%s", tenants[next]);
			if (spawn_child(a, self, &ch[next])) {
				ch[next].status = 2;
				ch[next].pid = 0;
				report_child(a, &ch[next], first);
				first = 0;
				worst = 2;
				done++;
			} else {
				running++;
			}
			next++;
		}
		/* wait for any running child to finish its output */
		{
			struct pollfd pf[256];
			size_t map[256], np = 0;

			for (i = 0; i < next && np < 256; i++)
				if (ch[i].pid > 0 && ch[i].out >= 0) {
					pf[np].fd = ch[i].out;
					pf[np].events = POLLIN;
					map[np++] = i;
				}
			if (!np)
				break;
			if (poll(pf, np, -1) < 0 && errno != EINTR)
				break;
			for (i = 0; i < np; i++) {
				struct child *c1 = &ch[map[i]];
				char tmp[4096];
				ssize_t r;

				if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				r = read(c1->out, tmp, sizeof(tmp));
				if (r > 0) {
					if (c1->buf.len < 65536)
						xorb_buf_append(&c1->buf, tmp, (size_t)r);
					continue;
				}
				if (r < 0 && errno == EINTR)
					continue;
				finish_child(c1);
				c1->out = -1;
				c1->pid = -1;
				report_child(a, c1, first);
				first = 0;
				if (c1->status > worst)
					worst = c1->status > 2 ? 2 : c1->status;
				running--;
				done++;
			}
		}
	}
	if (a->c.json)
		printf("]\n");
	else if (!a->c.quiet)
		printf("%zu tenants: %s\n", n, worst == 0 ? "all ok" : worst == 1 ? "some with warnings" : "some FAILED");
	for (i = 0; i < n; i++)
		xorb_buf_release(&ch[i].buf);
	free(ch);
	xorb_strv_free(tenants, n);
	return worst;
}

/* ---- check ---- */

struct checks {
	struct xorb_cli *c;
	int worst;
	unsigned ok, warn, crit;
	struct xorb_buf lines;
	cJSON *checks;	      /* --json */
	struct xorb_buf perf; /* Nagios performance data */
};

/* One check's result: a line (text) or an item (--json) with "check" (nats,
 * store, environment, tenant) and "status"; returns the item, for the caller
 * to add fields to (NULL in text mode: cJSON's Add functions do nothing on a
 * NULL object). */
__attribute__((format(printf, 4, 5))) static cJSON *check_line(struct checks *k, int level, const char *what,
								const char *fmt, ...)
{
	static const char *const names[] = { "OK", "WARNING", "CRITICAL" };
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (level > k->worst)
		k->worst = level;
	if (level == 0)
		k->ok++;
	else if (level == 1)
		k->warn++;
	else
		k->crit++;
	if (k->c->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "check", what);
		cJSON_AddStringToObject(o, "status", names[level]);
		cJSON_AddStringToObject(o, "message", msg);
		cJSON_AddItemToArray(k->checks, o);
		return o;
	}
	xorb_buf_printf(&k->lines, "%s: %s\n", names[level], msg);
	return NULL;
}

static void check_nats(struct checks *k)
{
	struct xorb_error err = { 0, "" };
	natsConnection *nc = NULL;
	cJSON *info = NULL;

	if (xorb_cli_connect(k->c, &nc, &err)) {
		check_line(k, 2, "nats", "nats: %s", err.msg);
		return;
	}
	if (xorb_js_request(nc, "$JS.API.INFO", NULL, k->c->conn.timeout_ms, &info, NULL, NULL, &err))
		check_line(k, 2, "nats", "nats: connected to %s but JetStream is not usable: %s",
			   xorb_url_shown(k->c->conn.url, true), err.msg);
	else
		check_line(k, 0, "nats", "nats: %s reachable, JetStream enabled (%" PRId64 " streams, %" PRId64 " consumers)",
			   xorb_url_shown(k->c->conn.url, true), xorb_json_int(info, "streams", 0),
			   xorb_json_int(info, "consumers", 0));
	cJSON_Delete(info);
	xorb_nats_close(nc);
}

static struct xorb_store *check_store(struct checks *k)
{
	struct xorb_error err = { 0, "" };
	struct xorb_store *s = NULL;
	char key[128], host[64] = "host";

	if (xorb_cli_open_store(k->c, NULL, XORB_STORE_READ, &s, &err)) {
		check_line(k, 2, "store", "store: %s", err.msg);
		return NULL;
	}
	gethostname(host, sizeof(host) - 1);
	snprintf(key, sizeof(key), "xorb-check/probe-%.40s-%d", host, (int)getpid());
	if (xorb_store_put_all(s, key, "probe\n", 6, &err)) {
		check_line(k, 2, "store", "store: %s is not writable: %s", xorb_store_url(s), err.msg);
		return s;
	}
	if (xorb_store_remove(s, key, &err))
		check_line(k, 1, "store", "store: %s is writable but the probe could not be removed: %s", xorb_store_url(s), err.msg);
	else
		check_line(k, 0, "store", "store: %s reachable and writable", xorb_store_url(s));
	return s;
}

static void fmt_age(int64_t s, char *out, size_t len)
{
	if (s >= 86400)
		snprintf(out, len, "%" PRId64 "d%" PRId64 "h", s / 86400, (s % 86400) / 3600);
	else if (s >= 3600)
		snprintf(out, len, "%" PRId64 "h%" PRId64 "m", s / 3600, (s % 3600) / 60);
	else
		snprintf(out, len, "%" PRId64 "m", s / 60);
}

static void check_tenant(struct checks *k, struct xorb_store *s, const char *tenant, int64_t max_age,
			 int64_t warn_age)
{
	struct xorb_error err = { 0, "" };
	char **keys = NULL, age[32], lim[32], id[XORB_BACKUP_ID_LEN + 1];
	size_t n = 0;
	time_t t;
	int64_t a;
	int level;
	cJSON *o;

	if (xorb_bundle_list(s, tenant, &keys, &n, &err)) {
		o = check_line(k, 2, "tenant", "tenant %s: %s", tenant, err.msg);
		cJSON_AddStringToObject(o, "tenant", tenant);
		return;
	}
	if (!n) {
		o = check_line(k, 2, "tenant", "tenant %s: no complete backup in the store", tenant);
		cJSON_AddStringToObject(o, "tenant", tenant);
		xorb_json_add_int(o, "backups", 0);
		xorb_buf_printf(&k->perf, " 'backups_%s'=0;;;0", tenant);
		return;
	}
	snprintf(id, sizeof(id), "%.*s", XORB_BACKUP_ID_LEN, strchr(keys[0], '/') + 1);
	if (!xorb_backup_id_parse(id, &t)) {
		o = check_line(k, 2, "tenant", "tenant %s: cannot read the time of %s", tenant, keys[0]);
		cJSON_AddStringToObject(o, "tenant", tenant);
		xorb_strv_free(keys, n);
		return;
	}
	a = (int64_t)(time(NULL) - t);
	if (a < 0)
		a = 0;
	fmt_age(a, age, sizeof(age));
	level = a > max_age ? 2 : a > warn_age ? 1 : 0;
	fmt_age(level == 2 ? max_age : warn_age, lim, sizeof(lim));
	if (level)
		o = check_line(k, level, "tenant", "tenant %s: newest backup %s is %s old (more than %s)", tenant, id, age,
			       lim);
	else
		o = check_line(k, 0, "tenant", "tenant %s: newest backup %s is %s old (%zu backups)", tenant, id, age, n);
	cJSON_AddStringToObject(o, "tenant", tenant);
	cJSON_AddStringToObject(o, "backup_id", id);
	xorb_json_add_int(o, "age_seconds", a);
	xorb_json_add_int(o, "warn_age_seconds", warn_age);
	xorb_json_add_int(o, "max_age_seconds", max_age);
	xorb_json_add_int(o, "backups", (int64_t)n);
	/* 'label'=value[UOM];warn;crit;min;max (Nagios plugin guidelines) */
	xorb_buf_printf(&k->perf, " 'age_%s'=%" PRId64 "s;%" PRId64 ";%" PRId64 ";0 'backups_%s'=%zu;;;0", tenant, a,
			warn_age, max_age, tenant, n);
	xorb_strv_free(keys, n);
}

static int cmd_check(struct args *a, char **names, int count)
{
	struct checks k = { &a->c, 0, 0, 0, 0, { NULL, 0, 0 }, NULL, { NULL, 0, 0 } };
	struct xorb_error err = { 0, "" };
	struct xorb_store *s;
	char **tenants = NULL;
	size_t n = 0, i;
	static const char *const status[] = { "OK", "WARNING", "CRITICAL" };

	for (i = 0; i < (size_t)count; i++)
		if (xorb_tenant_check(names[i], &err))
			return xorb_cli_usage_error(&a->c, "%s", err.msg);
	if (a->warn_age > a->max_age)
		a->warn_age = a->max_age;
	xorb_buf_init(&k.lines);
	xorb_buf_init(&k.perf);
	if (a->c.json)
		k.checks = cJSON_CreateArray();
	check_nats(&k);
	s = check_store(&k);
	if (count) {
		for (i = 0; i < (size_t)count; i++)
			if (s)
				check_tenant(&k, s, names[i], a->max_age, a->warn_age);
	} else if (a->env) {
		if (tenant_list(a, &tenants, &n, &err))
			check_line(&k, 2, "environment", "environment: %s", err.msg);
		for (i = 0; s && i < n; i++)
			check_tenant(&k, s, tenants[i], a->max_age, a->warn_age);
	} else if (s) {
		char **keys = NULL, last[XORB_TENANT_MAX + 2] = "";
		size_t nk = 0, j;

		if (xorb_bundle_list(s, NULL, &keys, &nk, &err))
			check_line(&k, 2, "store", "store: %s", err.msg);
		/* every tenant that has backups */
		for (j = 0; j < nk; j++) {
			size_t tl = strcspn(keys[j], "/");
			char t[XORB_TENANT_MAX + 2];
			size_t m;
			bool seen = false;

			snprintf(t, sizeof(t), "%.*s", (int)tl, keys[j]);
			for (m = 0; m < j; m++)
				if (!strncmp(keys[m], t, tl) && keys[m][tl] == '/')
					seen = true;
			if (!seen)
				check_tenant(&k, s, t, a->max_age, a->warn_age);
			snprintf(last, sizeof(last), "%s", t);
		}
		if (!nk)
			check_line(&k, 1, "store", "store: no backups at all");
		xorb_strv_free(keys, nk);
	}
	if (a->c.json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "status", status[k.worst]);
		xorb_json_add_int(j, "ok", k.ok);
		xorb_json_add_int(j, "warning", k.warn);
		xorb_json_add_int(j, "critical", k.crit);
		cJSON_AddItemToObject(j, "checks", k.checks);
		k.checks = NULL;
		xorb_cli_json_emit(j, "\n");
	} else
		printf("XORB BACKUP %s - %u critical, %u warning, %u ok%s%s\n%s", status[k.worst], k.crit, k.warn, k.ok,
		       k.perf.data ? " |" : "", k.perf.data ? k.perf.data : "", k.lines.data ? k.lines.data : "");
	xorb_buf_release(&k.lines);
	xorb_buf_release(&k.perf);
	cJSON_Delete(k.checks);
	xorb_strv_free(tenants, n);
	xorb_store_free(s);
	return k.worst;
}

/* ---- copy ---- */

struct copy_run {
	struct xorb_cli *c;
	double t0;
};

static void copy_progress(void *arg, uint64_t done, uint64_t total)
{
	struct copy_run *r = arg;

	xorb_cli_progress(r->c, "copy", done, total, r->t0);
}

/* One backup; prints its line. Returns the exit code for it. */
static int copy_one(struct args *a, struct xorb_store *src, struct xorb_store *dst, const char *tenant,
		    const char *id, int *first)
{
	double t0 = xorb_now(), took;
	struct copy_run run = { &a->c, t0 };
	struct xorb_copy_opts o = { a->dry_run, copy_progress, &run };
	struct xorb_copy_result res;
	struct xorb_error err = { 0, "" };
	char size[32];
	const char *what;
	int rc;

	a->c.tenant = tenant;
	rc = xorb_bundle_copy(src, dst, tenant, id, &o, &res, &err);
	xorb_cli_progress_end(&a->c);
	took = xorb_now() - t0;
	if (rc) {
		xorb_cli_error(&a->c, "%s", err.msg);
		what = "failed";
	} else {
		what = res.skipped ? "present" : a->dry_run ? "would-copy" : "copied";
	}
	if (a->c.json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "tenant", tenant);
		cJSON_AddStringToObject(j, "backup_id", res.backup_id[0] ? res.backup_id : id ? id : "");
		cJSON_AddStringToObject(j, "result", what);
		xorb_json_add_int(j, "archive_bytes", (int64_t)res.bytes);
		xorb_cli_json_add_seconds(j, "seconds", took);
		if (rc)
			cJSON_AddStringToObject(j, "error", err.msg);
		printf("%s", *first ? "" : ",");
		xorb_cli_json_emit(j, NULL);
	} else if (!rc && !a->c.quiet) {
		if (res.skipped)
			printf("%s/%s already in %s\n", tenant, res.backup_id, a->copy_to);
		else if (a->dry_run)
			printf("%s/%s would be copied (%s)\n", tenant, res.backup_id,
			       xorb_cli_bytes(res.bytes, size, sizeof(size)));
		else
			printf("%s/%s copied (%s in %.2f s, %.1f MiB/s)\n", tenant, res.backup_id,
			       xorb_cli_bytes(res.bytes, size, sizeof(size)), took,
			       took > 0 ? (double)res.bytes / 1048576.0 / took : 0.0);
	}
	*first = 0;
	return rc ? XORB_EXIT_FAIL : XORB_EXIT_OK;
}

static int cmd_copy(struct args *a, char **argv, int argc)
{
	struct xorb_cli *c = &a->c;
	struct xorb_store *src = NULL, *dst = NULL;
	struct xorb_error err = { 0, "" };
	const char *tenant = argc > 0 ? argv[0] : NULL, *id = argc > 1 ? argv[1] : NULL;
	char **keys = NULL;
	size_t n = 0, i;
	int rc = XORB_EXIT_OK, first = 1;

	if (!a->copy_to)
		return xorb_cli_usage_error(c, "copy: missing --to STORE (the destination)");
	if (argc > 2)
		return xorb_cli_usage_error(c, "copy: unexpected argument \"%s\"", argv[2]);
	if (!tenant && !a->copy_all)
		return xorb_cli_usage_error(c, "copy: missing TENANT (or --all for every tenant)");
	if (id && a->copy_all)
		return xorb_cli_usage_error(c, "copy: give a backup ID or --all, not both");
	if (tenant && xorb_tenant_check(tenant, &err))
		return xorb_cli_usage_error(c, "%s", err.msg);
	if (c->store && !strcmp(a->copy_to, c->store))
		return xorb_cli_usage_error(c, "copy: --to is the source store itself (%s)", c->store);
	if (xorb_cli_open_store(c, NULL, XORB_STORE_READ, &src, &err) ||
	    xorb_cli_open_store(c, a->copy_to, XORB_STORE_WRITE, &dst, &err)) {
		rc = xorb_cli_fail(c, &err);
		goto out;
	}
	xorb_cli_progress_setup(c);
	if (c->json)
		printf("[");
	if (!a->copy_all) {
		rc = copy_one(a, src, dst, tenant, id, &first);
	} else if (xorb_bundle_list(src, tenant, &keys, &n, &err)) {
		xorb_cli_error(c, "%s", err.msg);
		rc = XORB_EXIT_FAIL;
	} else {
		/* oldest first: an interrupted run leaves the newest to the next */
		for (i = n; i-- > 0;) {
			char t[XORB_TENANT_MAX + 1], b[XORB_BACKUP_ID_LEN + 1];
			size_t tl = strcspn(keys[i], "/");

			if (tl > XORB_TENANT_MAX)
				continue;
			snprintf(t, sizeof(t), "%.*s", (int)tl, keys[i]);
			snprintf(b, sizeof(b), "%.*s", XORB_BACKUP_ID_LEN, keys[i] + tl + 1);
			if (copy_one(a, src, dst, t, b, &first))
				rc = XORB_EXIT_FAIL;
		}
		if (!n && !c->json && !c->quiet)
			printf("no backups%s%s in %s\n", tenant ? " of tenant " : "", tenant ? tenant : "", c->store);
	}
	if (c->json)
		printf("]\n");
out:
	xorb_strv_free(keys, n);
	xorb_store_free(src);
	xorb_store_free(dst);
	return rc;
}

/* Remembers an option for the children of 'all' (not those 'all' consumes).
 * name is copied (freed by free_child_args); value points into argv. */
static int keep_for_child(struct args *a, const char *name, const char *value)
{
	const char **v = realloc(a->child_argv, (a->n_child + 3) * sizeof(char *));
	char **o = realloc(a->owned, (a->n_owned + 1) * sizeof(char *));

	if (o)
		a->owned = o;
	if (v)
		a->child_argv = v;
	if (!v || !o || !(o[a->n_owned] = strdup(name)))
		return -1;
	v[a->n_child++] = o[a->n_owned++];
	if (value)
		v[a->n_child++] = value;
	return 0;
}

static void free_child_args(struct args *a)
{
	size_t i;

	for (i = 0; i < a->n_owned; i++)
		free(a->owned[i]);
	free(a->owned);
	free(a->child_argv);
}

int main(int argc, char **argv)
{
	/* static: what it points to stays reachable on every early return */
	static struct args a;
	const char *sub, *arg1;
	char conn_opt[64] = ""; /* the first connection option given (show, stats, diff refuse it) */
	uint64_t given = 0;
	int opt, idx, rc;
	int64_t v;

	xorb_cli_malloc_for_streaming();
	memset(&a, 0, sizeof(a));
	xorb_cli_init(&a.c, "xorb-backup");
	a.parallel = 1;
	a.max_age = 26 * 3600;
	a.warn_age = 24 * 3600;
	if (xorb_cli_begin(&a.c, argc, argv, XORB_CLI_COMMON_SHORTOPTS, longopts))
		return XORB_EXIT_USAGE;
	while ((opt = xorb_cli_getopt(&a.c, argc, argv, &idx)) != -1) {
		int h = xorb_cli_common_opt(&a.c, opt, optarg);
		char optname[64];

		if (h < 0)
			return XORB_EXIT_USAGE;
		if (opt >= XORB_OPT_FIRST_COMMAND_OPT && opt < OPT_END)
			given |= OPTBIT(opt);
		/* the long name of what was given, to replay it to children */
		if (opt == 's')
			snprintf(optname, sizeof(optname), "--server");
		else if (opt == 'q')
			snprintf(optname, sizeof(optname), "--quiet");
		else if (opt == 'v')
			snprintf(optname, sizeof(optname), "--verbose");
		else {
			const struct option *o;

			optname[0] = '\0';
			for (o = longopts; o->name; o++)
				if (o->val == opt)
					snprintf(optname, sizeof(optname), "--%s", o->name);
		}
		if (h > 0 && xorb_show_conn_option(opt) && !conn_opt[0])
			snprintf(conn_opt, sizeof(conn_opt), "%s", optname);
		if (h) {
			/* the password reaches children through the environment */
			if (opt == XORB_OPT_PASSWORD)
				setenv("NATS_PASSWORD", optarg, 1);
			else if (opt != XORB_OPT_JSON && opt != XORB_OPT_CREDS)
				keep_for_child(&a, optname, optarg);
			else if (opt == XORB_OPT_CREDS)
				keep_for_child(&a, "--creds", optarg);
			continue;
		}
		switch (opt) {
		case 'h': usage(); return XORB_EXIT_OK;
		case XORB_OPT_VERSION: xorb_cli_version(&a.c); return XORB_EXIT_OK;
		case OPT_STREAM:
			if (xorb_cli_list_add(&a.streams, &a.n_streams, optarg))
				return XORB_EXIT_FAIL;
			continue;
		case OPT_NO_CONSUMERS: a.o.no_consumers = true; break;
		case OPT_CHUNK:
			/* nats-server 2.12.5+ clamp chunk_size to 1 KiB..1 MiB (older
			 * ones take any size): the same range here means the same
			 * chunks on every version */
			if ((v = xorb_cli_parse_int(&a.c, "--chunk-size", optarg, 1024, 1 << 20, true)) < 0)
				return XORB_EXIT_USAGE;
			a.o.snap.chunk_size = (int)v;
			break;
		case OPT_WINDOW:
			/* the range nats-server 2.12.5+ clamps window_size to */
			if ((v = xorb_cli_parse_int(&a.c, "--window-size", optarg, 1024, 32 << 20, true)) < 0)
				return XORB_EXIT_USAGE;
			a.o.snap.window_size = (int)v;
			break;
		case OPT_IDLE:
			if ((v = xorb_cli_parse_int(&a.c, "--idle-timeout", optarg, 1, 86400, false)) < 0)
				return XORB_EXIT_USAGE;
			a.o.snap.idle_timeout_ms = (int)v * 1000;
			break;
		case OPT_ZSTD:
		{
			char *end;
			long l = strtol(optarg, &end, 10);

			if (*end || end == optarg || l < -7 || l > 19 || l == 0)
				return xorb_cli_usage_error(&a.c, "--zstd-level: \"%s\" is not a level from -7 to 19 (not 0)",
							    optarg);
			a.o.archive.zstd_level = (int)l;
			break;
		}
		case OPT_PART:
			if ((v = xorb_cli_parse_int(&a.c, "--part-size", optarg, 1 << 16, 64 << 20, true)) < 0)
				return XORB_EXIT_USAGE;
			a.o.archive.part_size = (size_t)v;
			break;
		case OPT_RECIPIENT:
			if (xorb_cli_list_add(&a.recipient_keys, &a.n_recipient_keys, optarg))
				return XORB_EXIT_FAIL;
			break;
		case OPT_IDENTITY:
			if (xorb_cli_list_add(&a.c.identity_files, &a.c.n_identity_files, optarg))
				return XORB_EXIT_FAIL;
			continue;
		case OPT_RECIPIENTS_FILE:
			if (xorb_cli_list_add(&a.recipient_files, &a.n_recipient_files, optarg))
				return XORB_EXIT_FAIL;
			break;
		case OPT_METRICS: a.metrics = optarg; break;
		case OPT_SYSTEM_CREDS: a.system_creds = optarg; break;
		case OPT_PRE_HOOK: a.pre_hook = optarg; break;
		case OPT_POST_HOOK: a.post_hook = optarg; break;
		case OPT_ENV: a.env = optarg; continue;
		case OPT_TENANTS: a.tenants = optarg; continue;
		case OPT_CREDS_DIR: a.creds_dir = optarg; continue;
		case OPT_PARALLEL:
			if ((v = xorb_cli_parse_int(&a.c, "--parallel", optarg, 1, 64, false)) < 0)
				return XORB_EXIT_USAGE;
			a.parallel = (int)v;
			continue;
		case OPT_MAX_AGE:
			if ((a.max_age = xorb_cli_parse_duration(&a.c, "--max-age", optarg)) < 0)
				return XORB_EXIT_USAGE;
			continue;
		case OPT_TO: a.copy_to = optarg; continue;
		case OPT_ALL: a.copy_all = true; continue;
		case OPT_DRY_RUN: a.dry_run = true; continue;
		case OPT_WARN_AGE:
			if ((a.warn_age = xorb_cli_parse_duration(&a.c, "--warn-age", optarg)) < 0)
				return XORB_EXIT_USAGE;
			continue;
		default:
			return XORB_EXIT_USAGE; /* getopt printed the reason */
		}
		keep_for_child(&a, optname, optarg ? optarg : NULL);
	}
	if (optind >= argc)
		return xorb_cli_usage_error(&a.c, "missing command: tenant, all, list, check, copy, show, stats or diff");
	sub = argv[optind];
	arg1 = optind + 1 < argc ? argv[optind + 1] : NULL;
	if (check_cmd_opts(&a.c, sub, given))
		return XORB_EXIT_USAGE;
	if (!strcmp(sub, "tenant")) {
		if (!arg1)
			return xorb_cli_usage_error(&a.c, "tenant: missing TENANT");
		if (optind + 2 < argc)
			return xorb_cli_usage_error(&a.c, "tenant: unexpected argument \"%s\"", argv[optind + 2]);
		rc = cmd_tenant(&a, arg1);
	} else if (!strcmp(sub, "all")) {
		if (arg1)
			return xorb_cli_usage_error(&a.c, "all: unexpected argument \"%s\"", arg1);
		rc = cmd_all(&a);
	} else if (!strcmp(sub, "list")) {
		if (optind + 2 < argc)
			return xorb_cli_usage_error(&a.c, "list: unexpected argument \"%s\"", argv[optind + 2]);
		rc = cmd_list(&a, arg1);
	} else if (!strcmp(sub, "check")) {
		rc = cmd_check(&a, argv + optind + 1, argc - optind - 1);
	} else if (!strcmp(sub, "copy")) {
		rc = cmd_copy(&a, argv + optind + 1, argc - optind - 1);
	} else if (!strcmp(sub, "show")) {
		rc = xorb_show_main(&a.c, argv + optind + 1, argc - optind - 1, conn_opt[0] ? conn_opt : NULL);
	} else if (!strcmp(sub, "stats")) {
		rc = xorb_stats_main(&a.c, argv + optind + 1, argc - optind - 1, conn_opt[0] ? conn_opt : NULL);
	} else if (!strcmp(sub, "diff")) {
		rc = xorb_diff_main(&a.c, argv + optind + 1, argc - optind - 1, conn_opt[0] ? conn_opt : NULL);
	} else {
		rc = xorb_cli_usage_error(&a.c, "unknown command \"%s\" (use tenant, all, list, check, copy, show, stats or diff)", sub);
	}
	free(a.streams);
	free_child_args(&a);
	nats_CloseAndWait(5000); /* frees what the library still holds: no leak reports */
	return rc;
}

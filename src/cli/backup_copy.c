/* xorb-backup copy: see backup.h. */
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
static int copy_one(struct backup_args *a, struct xorb_store *src, struct xorb_store *dst, const char *tenant,
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

static int cmd_copy(struct backup_args *a, char **argv, int argc)
{
	struct xorb_cli *c = &a->c;
	struct xorb_store *src = NULL, *dst = NULL;
	struct xorb_error err = { 0, "" };
	const char *tenant = argc > 0 ? argv[0] : NULL, *id = argc > 1 ? argv[1] : NULL;
	struct xorb_backup_key *keys = NULL;
	size_t n = 0, i;
	int rc = XORB_EXIT_OK, first = 1;

	if (!a->copy_to)
		return xorb_cli_usage_error(c, "copy: missing option --to STORE (the destination)");
	if (argc > 2)
		return xorb_cli_extra_arg(c, argv[2]);
	if (!tenant && !a->copy_all)
		return xorb_cli_usage_error(c, "copy: missing argument TENANT (or --all for every tenant)");
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
	} else if (xorb_bundle_catalog(src, tenant, &keys, &n, &err)) {
		xorb_cli_error(c, "%s", err.msg);
		rc = XORB_EXIT_FAIL;
	} else {
		/* oldest first: an interrupted run leaves the newest to the next */
		for (i = n; i-- > 0;)
			if (copy_one(a, src, dst, keys[i].tenant, keys[i].id, &first))
				rc = XORB_EXIT_FAIL;
		if (!n && !c->json && !c->quiet)
			printf("no backups%s%s in %s\n", tenant ? " of tenant " : "", tenant ? tenant : "", c->store);
	}
	if (c->json)
		printf("]\n");
out:
	free(keys);
	xorb_store_free(src);
	xorb_store_free(dst);
	return rc;
}

static void help(FILE *f)
{
	fputs("Usage: xorb-backup copy TENANT [ID] --to STORE [options]\n"
	      "       xorb-backup copy [TENANT] --all --to STORE [options]\n"
	      "\n"
	      "Copies backups from --store to another store (off-site). ID defaults to the\n"
	      "newest backup. Each archive is checked against its sidecar's size and\n"
	      "SHA-256 while it streams (a damaged source is not copied); the sidecar goes\n"
	      "last. Backups the destination already holds are skipped. Never connects to\n"
	      "NATS; the S3 options apply to both stores.\n"
	      "\n"
	      "Options:\n"
	      "      --to STORE         the destination store (required)\n"
	      "      --all              every backup (of TENANT, or of every tenant) the\n"
	      "                         destination lacks, oldest first\n"
	      "      --dry-run          print what would be copied, copy nothing\n",
	      f);
	xorb_cli_print_store_help(f);
	xorb_cli_print_output_help(f, 1);
	xorb_cli_print_config_help(f);
	fputs("\n"
	      "Examples:\n"
	      "  xorb-backup copy t-qa --to s3://xorb-backups/prod\n"
	      "  xorb-backup --store /var/lib/xorb/backups copy --all \\\n"
	      "      --to s3://xorb-backups/prod --dry-run\n"
	      "  xorb-backup copy t-qa 20260101T020000Z-3f9a1c --to /mnt/offsite/xorb\n"
	      "\n"
	      "Exit codes: 0 success, 2 any failure, 64 usage error.\n",
	      f);
}

static int run(struct backup_args *a, char **argv, int argc)
{
	return cmd_copy(a, argv, argc);
}

static const struct option longopts[] = {
	XORB_CLI_STORE_LONGOPTS,
	XORB_CLI_OUTPUT_LONGOPTS,
	XORB_CLI_JSON_LONGOPT,
	XORB_CLI_BASE_LONGOPTS,
	{ "to", required_argument, NULL, OPT_TO },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ NULL, 0, NULL, 0 },
};

const struct backup_cmd backup_copy_cmd = {
	"copy", "copy backups to another store (off-site)", XORB_CLI_NOCONN_SHORTOPTS, longopts,
	"copy reads and writes stores only and never connects to NATS", help, run,
};

/*
 * xorb-verify: prove that a stored backup is whole, without NATS.
 *
 *   xorb-verify TENANT [BACKUP-ID|latest]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xorb_bundle.h"
#include "xorb_cli.h"
#include "xorb_names.h"
#include "xorb_restore.h"

static const char usage_text[] =
	"Usage: xorb-verify TENANT [BACKUP-ID|latest] [options]\n"
	"\n"
	"Reads the whole backup from the store and checks, without connecting to NATS: the\n"
	"sidecar and the archive's manifest agree; every entry's size and SHA-256; each\n"
	"snapshot's S2 framing and CRCs; that no snapshot holds an error written by the\n"
	"server; the archive's size and SHA-256. Exit 0, or 2 naming the first problem.\n"
	"\n";

static const struct option longopts[] = {
	XORB_CLI_COMMON_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	struct xorb_verify_result res;
	struct xorb_manifest *m = NULL;
	struct xorb_store *store = NULL;
	struct xorb_error err = { 0, "" };
	struct xorb_cli c;
	const char *tenant, *id;
	char b[32];
	int opt, rc;

	xorb_cli_init(&c, "xorb-verify");
	if (xorb_cli_exact_options(&c, argc, argv, XORB_CLI_COMMON_SHORTOPTS, longopts) ||
	    xorb_cli_load_config(&c, argc, argv, longopts))
		return XORB_EXIT_USAGE;
	while ((opt = getopt_long(argc, argv, XORB_CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		int h = xorb_cli_common_opt(&c, opt, optarg);

		if (h < 0)
			return XORB_EXIT_USAGE;
		if (h)
			continue;
		switch (opt) {
		case 'h':
			fputs(usage_text, stdout);
			fputs(xorb_cli_common_help, stdout);
			return XORB_EXIT_OK;
		case XORB_OPT_VERSION: xorb_cli_version(&c); return XORB_EXIT_OK;
		default: return xorb_cli_usage_error(&c, "unknown option");
		}
	}
	if (optind >= argc)
		return xorb_cli_usage_error(&c, "missing TENANT");
	if (optind + 2 < argc)
		return xorb_cli_usage_error(&c, "unexpected argument \"%s\"", argv[optind + 2]);
	tenant = argv[optind];
	id = optind + 1 < argc ? argv[optind + 1] : "latest";
	if (xorb_tenant_check(tenant, &err))
		return xorb_cli_usage_error(&c, "%s", err.msg);
	rc = xorb_cli_open_store(&c, NULL, XORB_STORE_READ, &store, &err);
	if (!rc)
		rc = xorb_bundle_load(store, tenant, id, &m, &err);
	if (!rc) {
		xorb_cli_progress_setup(&c);
		rc = xorb_verify_backup(store, m, c.verbose ? xorb_cli_note : NULL, &c, xorb_cli_progress_cb, &res, &err);
		xorb_cli_progress_end(&c);
	}
	if (rc) {
		xorb_cli_error(&c, "%s%s%s%s", m ? "backup " : "", m ? m->backup_id : "", m ? ": " : "", err.msg);
		if (c.json) {
			cJSON *j = cJSON_CreateObject();

			cJSON_AddStringToObject(j, "tenant", tenant);
			cJSON_AddStringToObject(j, "backup_id", m ? m->backup_id : id);
			cJSON_AddStringToObject(j, "result", "failed");
			cJSON_AddStringToObject(j, "error", err.msg);
			xorb_cli_json_emit(j, "\n");
		}
		rc = XORB_EXIT_FAIL;
	} else {
		if (c.json) {
			cJSON *j = cJSON_CreateObject();

			cJSON_AddStringToObject(j, "tenant", tenant);
			cJSON_AddStringToObject(j, "backup_id", m->backup_id);
			cJSON_AddStringToObject(j, "result", "ok");
			xorb_json_add_int(j, "streams", res.streams);
			xorb_json_add_int(j, "messages", (int64_t)res.messages);
			xorb_json_add_int(j, "archive_bytes", (int64_t)res.archive_bytes);
			xorb_cli_json_add_seconds(j, "seconds", res.seconds);
			xorb_cli_json_emit(j, "\n");
		} else if (!c.quiet)
			printf("backup %s of tenant %s is whole: %u streams, %" PRIu64 " messages, archive %s, checked in %.2f s\n",
			       m->backup_id, tenant, res.streams, res.messages,
			       xorb_cli_bytes(res.archive_bytes, b, sizeof(b)), res.seconds);
		rc = XORB_EXIT_OK;
	}
	xorb_manifest_free(m);
	xorb_store_free(store);
	return rc;
}

/* xorb-backup list: see backup.h. */
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

static int cmd_list(struct backup_args *a, const char *tenant)
{
	struct xorb_cli *c = &a->c;
	struct xorb_store *store = NULL;
	struct xorb_error err = { 0, "" };
	struct xorb_backup_key *keys = NULL;
	char size[32], key[XORB_KEY_MAX];
	size_t n = 0, i;
	int rc, warn = 0;
	cJSON *list = NULL;

	if (tenant && xorb_tenant_check(tenant, &err))
		return xorb_cli_usage_error(c, "%s", err.msg);
	rc = xorb_cli_open_store(c, NULL, XORB_STORE_READ, &store, &err);
	if (!rc)
		rc = xorb_bundle_catalog(store, tenant, &keys, &n, &err);
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

		xorb_key_format(key, keys[i].tenant, keys[i].id, XORB_KEY_SIDECAR);
		snprintf(what, sizeof(what), "sidecar \"%s\"", key);
		if (xorb_store_get_all(store, key, XORB_MANIFEST_MAX, &text, &len, &err) ||
		    xorb_manifest_parse(text, len, what, &m, &err) || xorb_bundle_check_location(m, key, &err)) {
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
	free(keys);
	xorb_store_free(store);
	return warn ? XORB_EXIT_WARN : XORB_EXIT_OK;
}

static void help(FILE *f)
{
	fputs("Usage: xorb-backup list [TENANT] [options]\n"
	      "\n"
	      "Lists the complete backups in the store (of TENANT, or of every tenant),\n"
	      "newest first: tenant, backup id, creation time, streams, messages, archive\n"
	      "size. Reads the sidecars only; never connects to NATS. A sidecar that cannot\n"
	      "be read is named in a warning and not listed (exit 1).\n"
	      "\n",
	      f);
	xorb_cli_print_store_help(f);
	xorb_cli_print_output_help(f, 1);
	xorb_cli_print_config_help(f);
	fputs("\n"
	      "Examples:\n"
	      "  xorb-backup list\n"
	      "  xorb-backup list t-qa\n"
	      "  xorb-backup --store s3://xorb-backups/prod list t-qa --json\n"
	      "  xorb-backup list --store /var/lib/xorb/backups\n"
	      "\n",
	      f);
	xorb_cli_print_exit_help(f);
}

static int run(struct backup_args *a, char **argv, int argc)
{
	if (argc > 1)
		return xorb_cli_extra_arg(&a->c, argv[1]);
	return cmd_list(a, argc ? argv[0] : NULL);
}

static const struct option longopts[] = {
	XORB_CLI_STORE_LONGOPTS,
	XORB_CLI_OUTPUT_LONGOPTS,
	XORB_CLI_JSON_LONGOPT,
	XORB_CLI_BASE_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

const struct backup_cmd backup_list_cmd = {
	"list", "list complete backups, newest first", XORB_CLI_NOCONN_SHORTOPTS, longopts,
	"list reads the store only and never connects to NATS", help, run,
};

/*
 * xorb-verify: prove that a stored backup is whole, without NATS.
 *
 *   xorb-verify TENANT [BACKUP-ID|latest]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xorb_age.h"
#include "xorb_bundle.h"
#include "xorb_cli.h"
#include "xorb_names.h"
#include "xorb_restore.h"

static void help(FILE *f)
{
	fputs("Usage: xorb-verify TENANT [BACKUP-ID|latest] [options]\n"
	      "\n"
	      "Reads the whole backup from the store and checks, without connecting to\n"
	      "NATS: the sidecar and the archive's manifest agree; every entry's size and\n"
	      "SHA-256; each snapshot's S2 framing and CRCs; that no snapshot holds an error\n"
	      "written by the server; the archive's size and SHA-256. An encrypted backup:\n"
	      "with --identity, all of the above, every chunk authenticated; without, what\n"
	      "can be proven without its key: the stored ciphertext's size and SHA-256\n"
	      "against the sidecar, and the sealed manifest is an age file to its\n"
	      "recipients. Default backup: latest.\n"
	      "\n"
	      "Options:\n"
	      "      --identity FILE  age identities file (repeatable; env\n"
	      "                       XORB_IDENTITY_FILE)\n",
	      f);
	xorb_cli_print_store_help(f);
	xorb_cli_print_output_help(f, 1);
	xorb_cli_print_config_help(f);
	fputs("\n"
	      "Examples:\n"
	      "  xorb-verify t-qa\n"
	      "  xorb-verify --store s3://xorb-backups/prod t-qa 20260101T020000Z-3f9a1c\n"
	      "  xorb-verify --store /var/lib/xorb/backups t-qa latest --json\n"
	      "  xorb-verify t-qa --identity /etc/xorb/keys/age/xorb-t-qa.key\n"
	      "\n"
	      "Exit codes: 0 the backup is whole, 2 failed (naming the first problem),\n"
	      "64 usage error.\n",
	      f);
}

enum { OPT_IDENTITY = XORB_OPT_FIRST_COMMAND_OPT };

static const struct option longopts[] = {
	/* no connection options: it never connects to NATS */
	XORB_CLI_STORE_LONGOPTS,
	XORB_CLI_OUTPUT_LONGOPTS,
	XORB_CLI_JSON_LONGOPT,
	XORB_CLI_BASE_LONGOPTS,
	{ "identity", required_argument, NULL, OPT_IDENTITY },
	{ NULL, 0, NULL, 0 },
};

/* An encrypted backup without its identity: the stored ciphertext against
 * the sidecar, and the sealed manifest is an age file. */
static int check_sealed(struct xorb_store *store, const struct xorb_manifest *m, struct xorb_error *err)
{
	size_t cap = strlen(m->sealed_manifest) / 4 * 3 + 4, len = 0;
	unsigned char *bin = malloc(cap);
	struct xorb_age_header *h = NULL;
	int rc;

	if (!bin)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	if (xorb_age_b64_decode(m->sealed_manifest, strlen(m->sealed_manifest), bin, cap, &len))
		rc = xorb_error_set(err, XORB_ECORRUPT, "the sidecar's sealed_manifest is not base64");
	else if ((rc = xorb_age_header_parse(bin, len, &h, NULL, err)))
		xorb_error_prefix(err, "the sidecar's sealed manifest: ");
	xorb_age_header_free(h);
	free(bin);
	if (!rc)
		rc = xorb_bundle_check_stored(store, m, NULL, NULL, err);
	return rc;
}

int main(int argc, char **argv)
{
	struct xorb_verify_result res;
	struct xorb_manifest *m = NULL;
	struct xorb_store *store = NULL;
	struct xorb_error err = { 0, "" };
	struct xorb_cli c;
	const char *tenant, *id, **idfiles = NULL;
	struct xorb_age_identity **ids = NULL;
	size_t n_idfiles = 0, n_ids = 0;
	char b[32];
	int opt, rc;

	xorb_cli_init(&c, "xorb-verify");
	if (xorb_cli_begin(&c, argc, argv, XORB_CLI_NOCONN_SHORTOPTS, longopts))
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
		case OPT_IDENTITY:
			if (xorb_cli_list_add(&idfiles, &n_idfiles, optarg))
				return XORB_EXIT_FAIL;
			break;
		default: return XORB_EXIT_USAGE; /* xorb_cli_getopt said why */
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
	if (xorb_cli_identities(&c, idfiles, n_idfiles, &ids, &n_ids)) {
		free(idfiles);
		return XORB_EXIT_FAIL;
	}
	rc = xorb_cli_open_store(&c, NULL, XORB_STORE_READ, &store, &err);
	if (!rc)
		rc = xorb_cli_open_backup(store, tenant, id, ids, n_ids, 1, &m, &err);
	if (!rc && m->sealed) {
		rc = check_sealed(store, m, &err);
		if (!rc && c.json) {
			cJSON *j = cJSON_CreateObject();

			cJSON_AddStringToObject(j, "tenant", tenant);
			cJSON_AddStringToObject(j, "backup_id", m->backup_id);
			cJSON_AddStringToObject(j, "result", "ok");
			cJSON_AddStringToObject(j, "checked", "ciphertext");
			xorb_json_add_int(j, "archive_bytes", (int64_t)m->archive_size);
			xorb_cli_json_emit(j, "\n");
		} else if (!rc && !c.quiet) {
			printf("backup %s of tenant %s is encrypted: its stored archive is whole (%s, SHA-256 as the sidecar says); its contents were not checked: --identity FILE checks them too\n",
			       m->backup_id, tenant, xorb_cli_bytes(m->archive_size, b, sizeof(b)));
		}
		if (!rc)
			goto done;
	} else if (!rc) {
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
done:
	xorb_manifest_free(m);
	xorb_store_free(store);
	xorb_age_identities_free(ids, n_ids);
	free(idfiles);
	return rc;
}

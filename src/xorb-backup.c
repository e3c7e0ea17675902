/*
 * xorb-backup: back up tenants into the backup store, and list backups.
 *
 *   xorb-backup tenant TENANT [--stream NAME]... [--no-consumers]
 *   xorb-backup list [TENANT]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xorb_bundle.h"
#include "xorb_cli.h"
#include "xorb_manifest.h"
#include "xorb_names.h"

static const char usage_text[] =
	"Usage: xorb-backup tenant TENANT [options]   back up every stream of a tenant\n"
	"       xorb-backup list [TENANT] [options]   list complete backups, newest first\n"
	"\n"
	"The tenant's streams are those named xorb-TENANT-<domain>-<class> in the account the\n"
	"credentials reach. Each file-storage stream is saved with the server's snapshot API,\n"
	"consumers included, into ONE archive <store>/TENANT/<backup-id>.tar.zst; the sidecar\n"
	"<backup-id>.json is written last, so a backup exists only once it is complete.\n"
	"\n"
	"Options of 'tenant':\n"
	"      --stream NAME      back up only this stream (repeatable)\n"
	"      --no-consumers     leave consumers out of the snapshots\n"
	"      --chunk-size N     snapshot chunk size asked of the server (default 256K)\n"
	"      --idle-timeout SEC fail a snapshot that sends nothing for SEC seconds (default 30)\n"
	"      --zstd-level N     zstd compression level 1-19 (default 3)\n"
	"      --part-size N      split snapshots larger than N into parts (default 8M)\n"
	"\n";

enum {
	OPT_STREAM = XORB_OPT_FIRST_COMMAND_OPT,
	OPT_NO_CONSUMERS,
	OPT_CHUNK,
	OPT_IDLE,
	OPT_ZSTD,
	OPT_PART,
};

static const struct option longopts[] = {
	XORB_CLI_COMMON_LONGOPTS,
	{ "stream", required_argument, NULL, OPT_STREAM },
	{ "no-consumers", no_argument, NULL, OPT_NO_CONSUMERS },
	{ "chunk-size", required_argument, NULL, OPT_CHUNK },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE },
	{ "zstd-level", required_argument, NULL, OPT_ZSTD },
	{ "part-size", required_argument, NULL, OPT_PART },
	{ NULL, 0, NULL, 0 },
};

static void usage(void)
{
	fputs(usage_text, stdout);
	fputs(xorb_cli_common_help, stdout);
}

static int cmd_tenant(struct xorb_cli *c, const char *tenant, struct xorb_backup_opts *o)
{
	struct xorb_backup_result res;
	struct xorb_store *store = NULL;
	natsConnection *nc = NULL;
	struct xorb_error err = { 0, "" };
	char b1[32], b2[32], b3[32], path[4200];
	int rc;

	o->tenant = tenant;
	o->note = xorb_cli_note;
	o->note_arg = c;
	o->api_timeout_ms = c->conn.timeout_ms;
	rc = xorb_tenant_check(tenant, &err);
	if (rc)
		return xorb_cli_usage_error(c, "%s", err.msg);
	rc = xorb_cli_open_store(c, &store, &err);
	if (!rc)
		rc = xorb_cli_connect(c, &nc, &err);
	if (!rc)
		rc = xorb_backup_tenant(nc, store, o, &res, &err);
	xorb_nats_close(nc);
	if (rc) {
		xorb_store_free(store);
		xorb_cli_error(c, "backup of tenant \"%s\" failed: %s", tenant, err.msg);
		if (c->json) {
			printf("{\"tenant\":\"%s\",\"result\":\"failed\",\"error\":", tenant);
			xorb_cli_json_str(err.msg);
			printf("}\n");
		}
		return XORB_EXIT_FAIL;
	}
	snprintf(path, sizeof(path), "%s/%s", xorb_store_url(store), res.archive_key);
	xorb_store_free(store);
	if (c->json) {
		printf("{\"tenant\":\"%s\",\"result\":\"%s\",\"backup_id\":\"%s\",\"archive\":\"%s\","
		       "\"streams\":%u,\"skipped\":%u,\"messages\":%" PRIu64 ",\"bytes\":%" PRIu64
		       ",\"snapshot_bytes\":%" PRIu64 ",\"archive_bytes\":%" PRIu64 ",\"seconds\":%.3f}\n",
		       tenant, res.warnings ? "warning" : "ok", res.backup_id, res.archive_key, res.streams,
		       res.skipped, res.messages, res.bytes, res.snapshot_bytes, res.archive_bytes,
		       res.seconds);
	} else if (!c->quiet) {
		printf("backup %s of tenant %s complete%s\n", res.backup_id, tenant,
		       res.warnings ? " WITH WARNINGS" : "");
		printf("  streams   %u saved, %u skipped\n", res.streams, res.skipped);
		printf("  messages  %" PRIu64 " (%s)\n", res.messages, xorb_cli_bytes(res.bytes, b1, sizeof(b1)));
		printf("  archive   %s (%s; snapshots %s)\n", path,
		       xorb_cli_bytes(res.archive_bytes, b2, sizeof(b2)),
		       xorb_cli_bytes(res.snapshot_bytes, b3, sizeof(b3)));
		printf("  duration  %.2f s (%s/s)\n", res.seconds,
		       xorb_cli_bytes(res.seconds > 0 ? (uint64_t)((double)res.snapshot_bytes / res.seconds) : 0,
				      b1, sizeof(b1)));
	}
	return res.warnings ? XORB_EXIT_WARN : XORB_EXIT_OK;
}

static int cmd_list(struct xorb_cli *c, const char *tenant)
{
	struct xorb_store *store = NULL;
	struct xorb_error err = { 0, "" };
	char **keys = NULL, size[32];
	size_t n = 0, i;
	int rc, warn = 0;

	if (tenant && xorb_tenant_check(tenant, &err))
		return xorb_cli_usage_error(c, "%s", err.msg);
	rc = xorb_cli_open_store(c, &store, &err);
	if (!rc)
		rc = xorb_bundle_list(store, tenant, &keys, &n, &err);
	if (rc) {
		xorb_store_free(store);
		return xorb_cli_fail(c, &err);
	}
	if (c->json)
		printf("[");
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
		    xorb_manifest_parse(text, len, what, &m, &err)) {
			xorb_cli_warn(c, "%s", err.msg);
			warn = 1;
			free(text);
			continue;
		}
		free(text);
		for (k = 0; k < m->n_streams; k++)
			msgs += m->streams[k].messages;
		if (c->json)
			printf("%s{\"tenant\":\"%s\",\"backup_id\":\"%s\",\"created\":\"%s\",\"streams\":%zu,"
			       "\"messages\":%" PRId64 ",\"archive_bytes\":%" PRIu64 ",\"archive\":\"%s\"}",
			       i ? "," : "", m->tenant, m->backup_id, m->created, m->n_streams, msgs,
			       m->archive_size, m->archive_key ? m->archive_key : "");
		else
			printf("%-20s %-23s %-20s %7zu %12" PRId64 " %10s\n", m->tenant, m->backup_id,
			       m->created, m->n_streams, msgs, xorb_cli_bytes(m->archive_size, size, sizeof(size)));
		xorb_manifest_free(m);
	}
	if (c->json)
		printf("]\n");
	xorb_strv_free(keys, n);
	xorb_store_free(store);
	return warn ? XORB_EXIT_WARN : XORB_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct xorb_backup_opts o;
	struct xorb_cli c;
	const char **streams = NULL;
	size_t n_streams = 0;
	const char *sub, *arg1;
	int opt, rc;
	int64_t v;

	xorb_cli_init(&c, "xorb-backup");
	memset(&o, 0, sizeof(o));
	while ((opt = getopt_long(argc, argv, XORB_CLI_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		int h = xorb_cli_common_opt(&c, opt, optarg);

		if (h < 0)
			return XORB_EXIT_USAGE;
		if (h)
			continue;
		switch (opt) {
		case 'h': usage(); return XORB_EXIT_OK;
		case XORB_OPT_VERSION: xorb_cli_version(&c); return XORB_EXIT_OK;
		case OPT_STREAM:
			if (xorb_cli_list_add(&streams, &n_streams, optarg))
				return XORB_EXIT_FAIL;
			break;
		case OPT_NO_CONSUMERS: o.no_consumers = true; break;
		case OPT_CHUNK:
			if ((v = xorb_cli_parse_int(&c, "--chunk-size", optarg, 4096, 8 << 20, true)) < 0)
				return XORB_EXIT_USAGE;
			o.snap.chunk_size = (int)v;
			break;
		case OPT_IDLE:
			if ((v = xorb_cli_parse_int(&c, "--idle-timeout", optarg, 1, 86400, false)) < 0)
				return XORB_EXIT_USAGE;
			o.snap.idle_timeout_ms = (int)v * 1000;
			break;
		case OPT_ZSTD:
			if ((v = xorb_cli_parse_int(&c, "--zstd-level", optarg, 1, 19, false)) < 0)
				return XORB_EXIT_USAGE;
			o.archive.zstd_level = (int)v;
			break;
		case OPT_PART:
			if ((v = xorb_cli_parse_int(&c, "--part-size", optarg, 1 << 16, 64 << 20, true)) < 0)
				return XORB_EXIT_USAGE;
			o.archive.part_size = (size_t)v;
			break;
		default:
			return xorb_cli_usage_error(&c, "unknown option");
		}
	}
	if (optind >= argc)
		return xorb_cli_usage_error(&c, "missing command: tenant or list");
	sub = argv[optind];
	arg1 = optind + 1 < argc ? argv[optind + 1] : NULL;
	if (!strcmp(sub, "tenant")) {
		if (!arg1)
			return xorb_cli_usage_error(&c, "tenant: missing TENANT");
		if (optind + 2 < argc)
			return xorb_cli_usage_error(&c, "tenant: unexpected argument \"%s\"", argv[optind + 2]);
		o.streams = streams;
		rc = cmd_tenant(&c, arg1, &o);
	} else if (!strcmp(sub, "list")) {
		if (optind + 2 < argc)
			return xorb_cli_usage_error(&c, "list: unexpected argument \"%s\"", argv[optind + 2]);
		if (streams)
			return xorb_cli_usage_error(&c, "list: --stream does not apply");
		rc = cmd_list(&c, arg1);
	} else {
		rc = xorb_cli_usage_error(&c, "unknown command \"%s\" (use tenant or list)", sub);
	}
	free(streams);
	nats_Close();
	return rc;
}

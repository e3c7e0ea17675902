/* xorb-backup show, stats and diff: their options and --help (the work is
 * in xorb_show.c). See backup.h. */
#include "backup.h"
#include "xorb_show.h"

#define SIDECAR_LONGOPTS                                                          \
	XORB_CLI_STORE_LONGOPTS, XORB_CLI_OUTPUT_LONGOPTS, XORB_CLI_JSON_LONGOPT, \
	XORB_CLI_BASE_LONGOPTS

static void common_help(FILE *f)
{
	xorb_cli_print_store_help(f);
	xorb_cli_print_output_help(f, 1);
	xorb_cli_print_config_help(f);
}

static const char identity_help[] =
	"Options:\n"
	"      --identity FILE    open an encrypted backup's sealed manifest with this\n"
	"                         age identities file (repeatable); without it show\n"
	"                         gives the plain totals and diff refuses encrypted\n"
	"                         backups\n";

static void show_help(FILE *f)
{
	fputs("Usage: xorb-backup show TENANT [ID|latest] [options]\n"
	      "\n"
	      "One backup from its sidecar (no archive, no NATS): header, streams,\n"
	      "consumers, sequences, sizes, server, duration, skipped streams; -v adds each\n"
	      "snapshot's size, parts and SHA-256. ID defaults to the newest.\n"
	      "\n",
	      f);
	fputs(identity_help, f);
	common_help(f);
	fputs("\n"
	      "Examples:\n"
	      "  xorb-backup show t-qa\n"
	      "  xorb-backup show t-qa 20260101T020000Z-3f9a1c -v\n"
	      "  xorb-backup --store s3://xorb-backups/prod show t-qa latest --json\n"
	      "  xorb-backup show t-qa --identity /etc/xorb/keys/age/xorb-t-qa.key\n"
	      "\n",
	      f);
	xorb_cli_print_exit_help(f);
}

static void stats_help(FILE *f)
{
	fputs("Usage: xorb-backup stats [TENANT] [options]\n"
	      "\n"
	      "Per tenant, from every readable sidecar (no archive, no NATS): backups,\n"
	      "oldest and newest id, total, average and newest archive bytes, messages and\n"
	      "streams of the newest. An unreadable sidecar, or a TENANT without backups, is\n"
	      "a warning (exit 1).\n"
	      "\n",
	      f);
	common_help(f);
	fputs("\n"
	      "Examples:\n"
	      "  xorb-backup stats\n"
	      "  xorb-backup stats t-qa --json\n"
	      "  xorb-backup --store s3://xorb-backups/prod stats\n"
	      "\n",
	      f);
	xorb_cli_print_exit_help(f);
}

static void diff_help(FILE *f)
{
	fputs("Usage: xorb-backup diff TENANT ID1 ID2 [options]\n"
	      "\n"
	      "What changed between two backups of TENANT, from their sidecars (no archive,\n"
	      "no NATS): streams, messages, bytes, first/last sequences, replicas and\n"
	      "consumers. Either id may be \"latest\".\n"
	      "\n",
	      f);
	fputs(identity_help, f);
	common_help(f);
	fputs("\n"
	      "Examples:\n"
	      "  xorb-backup diff t-qa 20260101T020000Z-3f9a1c latest\n"
	      "  xorb-backup --store s3://xorb-backups/prod diff t-qa \\\n"
	      "      20260101T020000Z-3f9a1c 20260102T020000Z-7b2e04 --json\n"
	      "\n"
	      "Exit codes: 0 identical, 1 different, 2 failed, 64 usage error (like diff).\n",
	      f);
}

static int show_run(struct backup_args *a, char **argv, int argc)
{
	return xorb_show_main(&a->c, argv, argc, NULL);
}

static int stats_run(struct backup_args *a, char **argv, int argc)
{
	return xorb_stats_main(&a->c, argv, argc, NULL);
}

static int diff_run(struct backup_args *a, char **argv, int argc)
{
	return xorb_diff_main(&a->c, argv, argc, NULL);
}

static const struct option identity_longopts[] = {
	SIDECAR_LONGOPTS,
	{ "identity", required_argument, NULL, OPT_IDENTITY },
	{ NULL, 0, NULL, 0 },
};

static const struct option stats_longopts[] = {
	SIDECAR_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

const struct backup_cmd backup_show_cmd = {
	"show", "one backup: streams, consumers, sequences, sizes", XORB_CLI_NOCONN_SHORTOPTS, identity_longopts,
	"show reads the store's sidecars only and never connects to NATS", show_help, show_run,
};

const struct backup_cmd backup_stats_cmd = {
	"stats", "per tenant: backups, oldest/newest, sizes", XORB_CLI_NOCONN_SHORTOPTS, stats_longopts,
	"stats reads the store's sidecars only and never connects to NATS", stats_help, stats_run,
};

const struct backup_cmd backup_diff_cmd = {
	"diff", "what changed between two backups", XORB_CLI_NOCONN_SHORTOPTS, identity_longopts,
	"diff reads the store's sidecars only and never connects to NATS", diff_help, diff_run,
};

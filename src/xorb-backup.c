/*
 * xorb-backup: back up tenants into the backup store, list backups, and check
 * that backups are fresh. The dispatcher of the subcommands, each in its own
 * file with its own option table and --help (src/cli/backup.h):
 *
 *   xorb-backup tenant TENANT [--stream NAME]... [--no-consumers]  backup_tenant.c
 *   xorb-backup all (--env ENV | --tenants a,b,c) [--parallel N]   backup_all.c
 *   xorb-backup list [TENANT]                                      backup_list.c
 *   xorb-backup check [--max-age 26h] [--warn-age 24h] [TENANT]... backup_check.c
 *   xorb-backup copy (TENANT [ID] | [TENANT] --all) --to STORE     backup_copy.c
 *   xorb-backup show TENANT [ID] | stats [TENANT] | diff TENANT ID1 ID2
 *                                                  backup_show.c, xorb_show.c
 *
 * Options may come before the subcommand's name (`xorb-backup --store X
 * list`): the name is the first word that is not an option or an option's
 * value, per the union of the subcommands' tables. An option of another
 * subcommand is a usage error naming the subcommands it belongs to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "xorb_cli.h"
#include "xorb_show.h"

static const struct backup_cmd *const cmds[] = {
	&backup_tenant_cmd, &backup_all_cmd,  &backup_list_cmd,	 &backup_check_cmd,
	&backup_copy_cmd,   &backup_show_cmd, &backup_stats_cmd, &backup_diff_cmd,
};
#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))
#define COMMAND_NAMES "tenant, all, list, check, copy, show, stats or diff"

/* Every option of every subcommand: to find the subcommand's name, and to
 * name the subcommands an option belongs to. */
static const struct option all_longopts[] = {
	XORB_CLI_COMMON_LONGOPTS,
	BACKUP_RUN_LONGOPTS,
	{ "stream", required_argument, NULL, OPT_STREAM },
	{ "identity", required_argument, NULL, OPT_IDENTITY },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "tenants", required_argument, NULL, OPT_TENANTS },
	{ "creds-dir", required_argument, NULL, OPT_CREDS_DIR },
	{ "parallel", required_argument, NULL, OPT_PARALLEL },
	{ "max-age", required_argument, NULL, OPT_MAX_AGE },
	{ "warn-age", required_argument, NULL, OPT_WARN_AGE },
	{ "to", required_argument, NULL, OPT_TO },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ NULL, 0, NULL, 0 },
};

static void overview(FILE *f)
{
	size_t i;

	fputs("Usage: xorb-backup COMMAND [ARGS] [options]\n"
	      "\n"
	      "Backs up the tenants' JetStream streams into the backup store (a directory or\n"
	      "S3), lists, checks, copies and compares the backups. Options may come before\n"
	      "or after COMMAND; each command takes only its own (see its --help).\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (i = 0; i < N_CMDS; i++)
		fprintf(f, "  %-8s %s\n", cmds[i]->name, cmds[i]->summary);
	fputs("\n"
	      "Options without a command:\n"
	      "  -h, --help           this help\n"
	      "  -V, --version        print the version\n"
	      "\n"
	      "Examples:\n"
	      "  xorb-backup tenant t-qa\n"
	      "  xorb-backup --store s3://xorb-backups/prod list t-qa\n"
	      "  xorb-backup check --env prod\n"
	      "  xorb-backup list --help\n"
	      "\n",
	      f);
	xorb_cli_print_exit_help(f);
}

/* Usage error for an option that cmd lacks: the subcommands that have it. */
static int not_for(const struct xorb_cli *c, const struct backup_cmd *cmd, const struct option *o)
{
	char of[128] = "";
	size_t k;

	if (cmd->no_conn && xorb_show_conn_option(o->val))
		return xorb_cli_usage_error(c, "%s: --%s does not apply (%s)", cmd->name, o->name, cmd->no_conn);
	for (k = 0; k < N_CMDS; k++)
		if (xorb_cli_has_option(cmds[k]->longopts, o->val))
			snprintf(of + strlen(of), sizeof(of) - strlen(of), "%s%s", *of ? ", " : "", cmds[k]->name);
	return xorb_cli_usage_error(c, "%s: --%s does not apply (it is an option of %s)", cmd->name, o->name, of);
}

/* Without a subcommand: --help, --version, or a usage error. */
static int no_command(struct backup_args *a, int argc, char **argv, int at)
{
	int opt;

	if (xorb_cli_begin(&a->c, argc, argv, XORB_CLI_COMMON_SHORTOPTS, all_longopts))
		return XORB_EXIT_USAGE;
	while ((opt = xorb_cli_getopt(&a->c, argc, argv, NULL)) != -1) {
		if (opt == 'h') {
			overview(stdout);
			return XORB_EXIT_OK;
		}
		if (opt == XORB_OPT_VERSION) {
			xorb_cli_version(&a->c);
			return XORB_EXIT_OK;
		}
		if (opt == XORB_CLI_OPT_ERROR)
			return XORB_EXIT_USAGE;
	}
	if (at < argc)
		return xorb_cli_unknown_command(&a->c, argv[at], COMMAND_NAMES);
	return xorb_cli_usage_error(&a->c, "missing command: " COMMAND_NAMES);
}

/* Remembers an option for the children of 'all' (not those 'all' consumes).
 * name is copied (freed by free_child_args); value points into argv. */
static int keep_for_child(struct backup_args *a, const char *name, const char *value)
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

static void free_child_args(struct backup_args *a)
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
	static struct backup_args a;
	const struct backup_cmd *cmd = NULL;
	const struct option *foreign, *all;
	int opt, idx, rc, at;
	size_t i;
	int64_t v;

	xorb_cli_malloc_for_streaming();
	memset(&a, 0, sizeof(a));
	xorb_cli_init(&a.c, "xorb-backup");
	a.parallel = 1;
	a.max_age = 26 * 3600;
	a.warn_age = 24 * 3600;
	/* with the store plugins' options (--s3-endpoint URL takes a value) */
	all = xorb_cli_options_with_plugins(&a.c, all_longopts);
	at = xorb_cli_find_command(argc, argv, XORB_CLI_COMMON_SHORTOPTS, all);
	for (i = 0; at < argc && i < N_CMDS && !cmd; i++)
		if (!strcmp(argv[at], cmds[i]->name))
			cmd = cmds[i];
	if (!cmd)
		return no_command(&a, argc, argv, at);
	a.c.sub = cmd->name;
	/* a [xorb-backup] key of the configuration file is one for every
	 * subcommand: the file is read with the union of the tables */
	a.c.config_longopts = all;
	if (xorb_cli_exact_options(&a.c, argc, argv, XORB_CLI_COMMON_SHORTOPTS, all))
		return XORB_EXIT_USAGE;
	if ((foreign = xorb_cli_foreign_option(argc, argv, XORB_CLI_COMMON_SHORTOPTS, all,
					       xorb_cli_options_with_plugins(&a.c, cmd->longopts))))
		return not_for(&a.c, cmd, foreign);
	if (xorb_cli_begin(&a.c, argc, argv, cmd->shortopts, cmd->longopts))
		return XORB_EXIT_USAGE;
	while ((opt = xorb_cli_getopt(&a.c, argc, argv, &idx)) != -1) {
		int h = xorb_cli_common_opt(&a.c, opt, optarg);
		char optname[64];

		if (h < 0)
			return XORB_EXIT_USAGE;
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
			for (o = a.c.longopts; o->name; o++) /* the storage plugins' too */
				if (o->val == opt)
					snprintf(optname, sizeof(optname), "--%s", o->name);
		}
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
		case 'h': cmd->help(stdout); return XORB_EXIT_OK;
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
			return XORB_EXIT_USAGE; /* xorb_cli_getopt said why */
		}
		keep_for_child(&a, optname, optarg ? optarg : NULL);
	}
	/* optind: the subcommand's name (getopt put the words after the options) */
	rc = cmd->run(&a, argv + optind + 1, argc - optind - 1);
	free(a.streams);
	free_child_args(&a);
	nats_CloseAndWait(5000); /* frees what the library still holds: no leak reports */
	return rc;
}

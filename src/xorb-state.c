/*
 * xorb-state: the tenants' NATS accounts as code (operator/JWT mode). The
 * dispatcher of the subcommands, each in its own file with its own option
 * table and --help (src/cli/state.h):
 *
 *   xorb-state init --keys DIR                                  state_init.c
 *   xorb-state plan ENV | apply ENV     (--json: the changes)   state_apply.c
 *   xorb-state creds TENANT [--user NAME] | creds --env ENV     state_creds.c
 *   xorb-state age-key TENANT                                   state_age_key.c
 *   xorb-state export [--tenant T]... [-o FILE]                 state_export.c
 *   xorb-state import FILE [--with-streams]                     state_import.c
 *   xorb-state destroy (--tenant T... | ENV) --yes [--keep-streams]
 *                                                               state_destroy.c
 *
 * Options may come before the subcommand's name; an option of another
 * subcommand is a usage error naming the subcommands it belongs to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "xorb_cli.h"
#include "xorb_names.h"

/* the union: to find the subcommand, and --context (refused, with why) */
static const struct option longopts[] = {
	STATE_BASE_LONGOPTS,
	STATE_CONN_LONGOPTS,
	XORB_CLI_JSON_LONGOPT,
	{ "context", required_argument, NULL, XORB_OPT_CONTEXT },
	{ "creds-dir", required_argument, NULL, OPT_CREDS_DIR },
	{ "operator", required_argument, NULL, OPT_OPERATOR },
	{ "replicas", required_argument, NULL, OPT_REPLICAS },
	{ "tenant", required_argument, NULL, OPT_TENANT },
	{ "user", required_argument, NULL, OPT_USER },
	{ "with-streams", no_argument, NULL, OPT_WITH_STREAMS },
	{ "keep-streams", no_argument, NULL, OPT_KEEP_STREAMS },
	{ "yes", no_argument, NULL, OPT_YES },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "output", required_argument, NULL, 'o' },
	{ NULL, 0, NULL, 0 },
};
#define STATE_SHORTOPTS "s:qvhVo:"

static const struct state_cmd *const cmds[] = {
	&state_init_cmd,    &state_plan_cmd,   &state_apply_cmd,  &state_creds_cmd,
	&state_age_key_cmd, &state_export_cmd, &state_import_cmd, &state_destroy_cmd,
};
#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))
#define COMMAND_NAMES "init, plan, apply, creds, age-key, export, import or destroy"

static void overview(FILE *f)
{
	size_t i;

	fputs("Usage: xorb-state COMMAND [ARGS] [options]\n"
	      "\n"
	      "The tenants' NATS accounts as code (operator/JWT mode): keys, accounts,\n"
	      "users, JetStream limits, streams and consumers from an environment file.\n"
	      "Options may come before or after COMMAND; each command takes only its own\n"
	      "(see its --help).\n"
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
	      "  xorb-state init --keys /etc/xorb/keys\n"
	      "  xorb-state --keys /etc/xorb/keys plan prod\n"
	      "  xorb-state apply --help\n"
	      "\n",
	      f);
	xorb_cli_print_exit_help(f);
}

int main(int argc, char **argv)
{
	static struct state_args a;
	const struct state_cmd *cmd = NULL;
	const struct option *foreign;
	int opt, rc, at;
	size_t i;
	int64_t v;

	xorb_cli_init(&a.c, "xorb-state");
	a.keys = getenv("XORB_KEYS") && *getenv("XORB_KEYS") ? getenv("XORB_KEYS") : NULL;
	a.server_given = getenv("NATS_URL") && *getenv("NATS_URL");
	at = xorb_cli_find_command(argc, argv, STATE_SHORTOPTS, longopts);
	for (i = 0; at < argc && i < N_CMDS && !cmd; i++)
		if (!strcmp(argv[at], cmds[i]->name))
			cmd = cmds[i];
	/* a server from the configuration file is a default: the environment
	 * file's nats_url wins over it (server_given stays as it is); the file
	 * is read with the union of the tables */
	a.c.config_longopts = longopts;
	if (cmd) {
		a.c.sub = cmd->name;
		if (xorb_cli_exact_options(&a.c, argc, argv, STATE_SHORTOPTS, longopts))
			return XORB_EXIT_USAGE;
		foreign = xorb_cli_foreign_option(argc, argv, STATE_SHORTOPTS, longopts, cmd->longopts);
		/* it connects with the keys directory's system user, to the
		 * environment file's server: a natscli context does not apply
		 * (NATS_CONTEXT in the environment is ignored likewise) */
		if (foreign && foreign->val == XORB_OPT_CONTEXT)
			return xorb_cli_usage_error(&a.c, "--context does not apply: xorb-state connects to the environment file's nats_url (or --server) as the system user of its keys directory");
		if (foreign) {
			char of[128] = "";

			for (i = 0; i < N_CMDS; i++)
				if (xorb_cli_has_option(cmds[i]->longopts, foreign->val))
					snprintf(of + strlen(of), sizeof(of) - strlen(of), "%s%s", *of ? ", " : "",
						 cmds[i]->name);
			return xorb_cli_usage_error(&a.c, "%s: --%s does not apply (it is an option of %s)", cmd->name,
						    foreign->name, of);
		}
	}
	if (xorb_cli_begin(&a.c, argc, argv, cmd ? cmd->shortopts : STATE_SHORTOPTS, cmd ? cmd->longopts : longopts))
		return XORB_EXIT_USAGE;
	while ((opt = xorb_cli_getopt(&a.c, argc, argv, NULL)) != -1) {
		int h;

		if (opt == 'h') {
			if (cmd)
				cmd->help(stdout);
			else
				overview(stdout);
			return XORB_EXIT_OK;
		}
		if (opt == XORB_OPT_VERSION) {
			xorb_cli_version(&a.c);
			return XORB_EXIT_OK;
		}
		if (opt == XORB_CLI_OPT_ERROR)
			return XORB_EXIT_USAGE;
		if (!cmd)
			continue; /* said below: no or an unknown command */
		/* --user names the user of `creds` here: xorb-state never logs in
		 * with a user name and password */
		if (opt == OPT_USER) {
			a.user = optarg;
			continue;
		}
		h = xorb_cli_common_opt(&a.c, opt, optarg);
		if (h < 0)
			return XORB_EXIT_USAGE;
		if (opt == 's')
			a.server_given = true;
		if (h)
			continue;
		switch (opt) {
		case OPT_KEYS: a.keys = optarg; break;
		case OPT_SYS: a.sys_creds = optarg; break;
		case OPT_CREDS_DIR: a.creds_dir = optarg; break;
		case OPT_OPERATOR: a.operator_name = optarg; break;
		case OPT_REPLICAS:
			if ((v = xorb_cli_parse_int(&a.c, "--replicas", optarg, 1, 5, false)) < 0)
				return XORB_EXIT_USAGE;
			a.replicas = (int)v;
			break;
		case OPT_TENANT: {
			struct xorb_error err;

			if (xorb_tenant_check(optarg, &err))
				return xorb_cli_usage_error(&a.c, "%s", err.msg);
			if (xorb_cli_list_add(&a.tenants, &a.n_tenants, optarg))
				return XORB_EXIT_FAIL;
			break;
		}
		case OPT_WITH_STREAMS: a.with_streams = true; break;
		case OPT_KEEP_STREAMS: a.keep_streams = true; break;
		case OPT_YES: a.yes = true; break;
		case OPT_ENV: a.env = optarg; break;
		case 'o': a.output = optarg; break;
		default:
			/* an option of the table without a case here: a bug, never silent */
			return xorb_cli_usage_error(&a.c, "%s: option %d is not handled (a bug: please report it)", cmd->name,
						    opt);
		}
	}
	if (!cmd) {
		if (at < argc)
			return xorb_cli_unknown_command(&a.c, argv[at], COMMAND_NAMES);
		return xorb_cli_usage_error(&a.c, "missing command: " COMMAND_NAMES);
	}
	/* optind: the subcommand's name (getopt put the words after the options) */
	rc = cmd->run(&a, argv + optind + 1, argc - optind - 1);
	free(a.tenants);
	nats_CloseAndWait(5000); /* frees what the library still holds: no leak reports */
	return rc;
}

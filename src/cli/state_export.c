/* xorb-state export: see state.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "state.h"
#include "xorb_age.h"
#include "xorb_cli.h"
#include "xorb_env.h"
#include "xorb_json.h"
#include "xorb_jwt.h"
#include "xorb_keys.h"
#include "xorb_names.h"
#include "xorb_state.h"

static int cmd_export(struct state_args *a)
{
	struct xorb_state_ctx ctx;
	struct xorb_error err = { 0, "" };
	char *json = NULL;
	int rc;

	rc = state_open_ctx(a, NULL, &ctx, &err);
	if (!rc)
		rc = xorb_state_export(&ctx, a->tenants, a->n_tenants, &json, &err);
	state_close_ctx(&ctx);
	if (!rc && a->output)
		rc = xorb_secret_write(a->output, json, strlen(json), 1, &err);
	else if (!rc)
		fputs(json, stdout);
	free(json);
	if (rc)
		return xorb_cli_fail(&a->c, &err);
	if (a->output && !a->c.quiet)
		fprintf(stderr, "xorb-state: state written to %s\n", a->output);
	return XORB_EXIT_OK;
}

static const struct option export_opts[] = {
	STATE_BASE_LONGOPTS,
	STATE_CONN_LONGOPTS,
	{ "tenant", required_argument, NULL, OPT_TENANT },
	{ "output", required_argument, NULL, 'o' },
	{ NULL, 0, NULL, 0 },
};

static void export_help(FILE *f)
{
	fputs("Usage: xorb-state export [--tenant T]... [-o FILE] [options]\n"
	      "\n"
	      "Writes the tenants' accounts, users, streams and consumers as the server\n"
	      "holds them (every tenant, or those of --tenant) as one JSON document, for\n"
	      "import on another server.\n"
	      "\n"
	      "Options:\n",
	      f);
	fputs(state_keys_help, f);
	fputs("      --tenant T           this tenant (repeatable)\n"
	      "  -o, --output FILE        write to FILE (0600) instead of stdout\n",
	      f);
	state_help_tail(f, 1, 0,
		  "  xorb-state --keys /etc/xorb/keys export -o /var/lib/xorb/state.json\n"
		  "  xorb-state -s nats://127.0.0.1:4222 export --tenant t-qa\n",
		  NULL);
}

static int run(struct state_args *a, char **argv, int argc)
{
	return state_nargs(a, argv, argc, 0, 0, "") ? XORB_EXIT_USAGE : cmd_export(a);
}

const struct state_cmd state_export_cmd = {
	"export", "the tenants' accounts and streams as JSON", "s:qvhVo:", export_opts, export_help, run,
};

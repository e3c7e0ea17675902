/* xorb-state import: see state.h. */
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

static int cmd_import(struct state_args *a, const char *file)
{
	struct xorb_state_ctx ctx;
	struct xorb_state_counts n;
	struct xorb_error err = { 0, "" };
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = xorb_read_file(file, 64u << 20, &text, &len, &err);
	if (!rc) {
		/* strict before anything connects: the file names itself in the message */
		char what[600];

		snprintf(what, sizeof(what), "state file %s", file);
		rc = xorb_json_strict_check(text, len, what, &err);
	}
	if (!rc)
		rc = state_open_ctx(a, NULL, &ctx, &err);
	else
		memset(&ctx, 0, sizeof(ctx));
	if (!rc)
		rc = xorb_state_import(&ctx, text, len, a->with_streams, &n, &err);
	state_close_ctx(&ctx);
	free(text);
	if (rc)
		return xorb_cli_fail(&a->c, &err);
	if (!a->c.quiet)
		printf("Imported: %u created, %u unchanged\n", n.create, n.unchanged);
	return XORB_EXIT_OK;
}

static const struct option import_opts[] = {
	STATE_BASE_LONGOPTS,
	STATE_CONN_LONGOPTS,
	{ "with-streams", no_argument, NULL, OPT_WITH_STREAMS },
	{ "replicas", required_argument, NULL, OPT_REPLICAS },
	{ NULL, 0, NULL, 0 },
};

static void import_help(FILE *f)
{
	fputs("Usage: xorb-state import FILE [--with-streams] [options]\n"
	      "\n"
	      "Creates the accounts and users of an export FILE on the server (the state\n"
	      "a disaster recovery starts from), and with --with-streams its streams and\n"
	      "consumers, empty (xorb-restore fills them).\n"
	      "\n"
	      "Options:\n",
	      f);
	fputs(state_keys_help, f);
	fputs("      --with-streams       create the streams and consumers empty from the\n"
	      "                           state\n"
	      "      --replicas N         num_replicas of the streams\n",
	      f);
	state_help_tail(f, 1, 0,
		  "  xorb-state --keys /etc/xorb/keys import /var/lib/xorb/state.json\n"
		  "  xorb-state -s nats://nats-dr.internal:4222 import state.json --with-streams\n",
		  NULL);
}

static int run(struct state_args *a, char **argv, int argc)
{
	return state_nargs(a, argv, argc, 1, 1, "FILE (a state file of export)") ? XORB_EXIT_USAGE
										 : cmd_import(a, argv[0]);
}

const struct state_cmd state_import_cmd = {
	"import", "create accounts (and streams) from an export", "s:qvhV", import_opts, import_help, run,
};

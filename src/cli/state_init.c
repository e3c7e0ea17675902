/* xorb-state init: see state.h. */
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

static int cmd_init(struct state_args *a)
{
	struct xorb_error err = { 0, "" };
	char path[4300];

	if (!a->keys)
		return xorb_cli_usage_error(&a->c, "init: give --keys DIR (or XORB_KEYS)");
	if (xorb_keys_init(a->keys, a->operator_name ? a->operator_name : "xorb", &err))
		return xorb_cli_fail(&a->c, &err);
	if (!a->c.quiet) {
		char real[4096];

		if (!realpath(a->keys, real))
			snprintf(real, sizeof(real), "%s", a->keys);
		snprintf(path, sizeof(path), "%s/resolver.conf", real);
		printf("operator keys written to %s (seeds 0600, never printed)\n", real);
		printf("server configuration: copy %s next to the server's config file and add\n"
		       "  include resolver.conf\n"
		       "(nats-server resolves include paths relative to the including file), or paste it in.\n",
		       path);
		printf("system user credentials:               %s/sys.creds\n", real);
	}
	return XORB_EXIT_OK;
}

static const struct option init_opts[] = {
	STATE_BASE_LONGOPTS,
	{ "operator", required_argument, NULL, OPT_OPERATOR },
	{ NULL, 0, NULL, 0 },
};

static void init_help(FILE *f)
{
	fputs("Usage: xorb-state init --keys DIR [options]\n"
	      "\n"
	      "Makes the operator's keys directory: the operator and system account keys,\n"
	      "the system user's creds (DIR/sys.creds) and the server's resolver settings.\n"
	      "Does not connect to NATS.\n"
	      "\n"
	      "Options:\n",
	      f);
	fputs(state_keys_help, f);
	fputs("      --operator NAME      operator name (default xorb)\n", f);
	state_help_tail(f, 0, 0,
		  "  xorb-state init --keys /etc/xorb/keys\n"
		  "  XORB_KEYS=/etc/xorb/keys xorb-state init --operator xorb-prod\n",
		  NULL);
}

static int run(struct state_args *a, char **argv, int argc)
{
	return state_nargs(a, argv, argc, 0, 0, "") ? XORB_EXIT_USAGE : cmd_init(a);
}

const struct state_cmd state_init_cmd = {
	"init", "make the operator's keys directory", "qvhV", init_opts, init_help, run,
};

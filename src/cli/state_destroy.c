/* xorb-state destroy: see state.h. */
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

static int cmd_destroy(struct state_args *a, const char *envname)
{
	struct xorb_state_ctx ctx;
	struct xorb_state_counts n;
	struct xorb_error err = { 0, "" };
	struct xorb_env *env = NULL;
	const char **list = a->tenants;
	size_t nl = a->n_tenants, i;
	int rc;

	if (!envname == !a->tenants)
		return xorb_cli_usage_error(&a->c, "destroy: give --tenant T (repeatable) or an environment, not both");
	if (!a->yes)
		return xorb_cli_usage_error(&a->c, "destroy deletes tenants' streams and accounts: add --yes to do it");
	if (envname) {
		rc = state_load_env(a, envname, &env);
		if (rc)
			return rc;
		list = calloc(env->n_tenants + 1, sizeof(char *));
		for (i = 0; list && i < env->n_tenants; i++)
			list[i] = env->tenants[i].name;
		nl = env->n_tenants;
	}
	rc = state_open_ctx(a, env, &ctx, &err);
	if (!rc)
		rc = xorb_state_destroy(&ctx, list, nl, a->keep_streams, &n, &err);
	state_close_ctx(&ctx);
	if (envname)
		free(list);
	xorb_env_free(env);
	if (rc)
		return xorb_cli_fail(&a->c, &err);
	if (!a->c.quiet)
		printf("Destroyed: %u removed, %u already absent\n", n.remove, n.unchanged);
	return XORB_EXIT_OK;
}

static const struct option destroy_opts[] = {
	STATE_BASE_LONGOPTS,
	STATE_CONN_LONGOPTS,
	{ "tenant", required_argument, NULL, OPT_TENANT },
	{ "yes", no_argument, NULL, OPT_YES },
	{ "keep-streams", no_argument, NULL, OPT_KEEP_STREAMS },
	{ NULL, 0, NULL, 0 },
};

static void destroy_help(FILE *f)
{
	fputs("Usage: xorb-state destroy (--tenant T... | ENV) --yes [--keep-streams]\n"
	      "                          [options]\n"
	      "\n"
	      "Deletes tenants' streams and accounts (those of --tenant, or every tenant of\n"
	      "the environment file ENV). Nothing happens without --yes.\n"
	      "\n"
	      "Options:\n",
	      f);
	fputs(state_keys_help, f);
	fputs("      --tenant T           this tenant (repeatable)\n"
	      "      --yes                really do it\n"
	      "      --keep-streams       delete the account only, keep its streams on disk\n",
	      f);
	state_help_tail(f, 1, 0,
		  "  xorb-state --keys /etc/xorb/keys destroy --tenant t-qa --yes\n"
		  "  xorb-state destroy staging --yes --keep-streams\n",
		  NULL);
}

static int run(struct state_args *a, char **argv, int argc)
{
	return state_nargs(a, argv, argc, 0, 1, "") ? XORB_EXIT_USAGE : cmd_destroy(a, argc ? argv[0] : NULL);
}

const struct state_cmd state_destroy_cmd = {
	"destroy", "delete tenants' streams and accounts", "s:qvhV", destroy_opts, destroy_help, run,
};

/* xorb-state creds: see state.h. */
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

static int cmd_creds(struct state_args *a, const char *tenant)
{
	struct xorb_state_ctx ctx;
	struct xorb_error err = { 0, "" };
	struct xorb_env *env = NULL;
	char path[4400];
	int rc;

	if (xorb_tenant_check(tenant, &err))
		return xorb_cli_usage_error(&a->c, "%s", err.msg);
	if (a->env && (rc = state_load_env(a, a->env, &env)))
		return rc;
	memset(&ctx, 0, sizeof(ctx));
	rc = a->keys ? xorb_keys_open(a->keys, &ctx.keys, &err)
		     : xorb_error_set(&err, XORB_EINVAL, "no keys directory: give --keys DIR or set XORB_KEYS");
	if (!rc) {
		if (!a->creds_dir) {
			snprintf(a->creds_dir_buf, sizeof(a->creds_dir_buf), "%s/creds", ctx.keys->dir);
			a->creds_dir = a->creds_dir_buf;
		}
		ctx.creds_dir = a->creds_dir;
		rc = xorb_state_creds(&ctx, env, tenant, a->user, path, sizeof(path), &err);
	}
	xorb_keys_free(ctx.keys);
	xorb_env_free(env);
	if (rc)
		return xorb_cli_fail(&a->c, &err);
	if (!a->c.quiet)
		printf("wrote %s (0600)\n", path);
	return XORB_EXIT_OK;
}

/* Both users of every tenant of --env (the seed's make nats-generate-creds). */
static int cmd_creds_all(struct state_args *a)
{
	struct xorb_env *env = NULL;
	size_t i;
	int rc, worst = 0;

	rc = state_load_env(a, a->env, &env);
	if (rc)
		return rc;
	for (i = 0; i < env->n_tenants; i++) {
		char user[160];
		int k;

		for (k = 0; k < 2; k++) {
			snprintf(user, sizeof(user), "xorb-%s-%s", env->tenants[i].name, k ? "backup" : "user");
			a->user = user;
			rc = cmd_creds(a, env->tenants[i].name);
			if (rc > worst)
				worst = rc;
		}
	}
	a->user = NULL;
	xorb_env_free(env);
	return worst;
}

static const struct option creds_opts[] = {
	STATE_BASE_LONGOPTS,
	{ "creds-dir", required_argument, NULL, OPT_CREDS_DIR },
	{ "user", required_argument, NULL, OPT_USER },
	{ "env", required_argument, NULL, OPT_ENV },
	{ NULL, 0, NULL, 0 },
};

static void creds_help(FILE *f)
{
	fputs("Usage: xorb-state creds TENANT [--user NAME] [options]\n"
	      "       xorb-state creds --env ENV [options]\n"
	      "\n"
	      "Writes a user's .creds file (0600) signed with the keys directory's account\n"
	      "keys; with --env, both users' .creds of every tenant of the environment.\n"
	      "Does not connect to NATS.\n"
	      "\n"
	      "Options:\n",
	      f);
	fputs(state_keys_help, f);
	fputs("      --creds-dir DIR      where the .creds files go (default <keys>/creds)\n"
	      "      --user NAME          the user, default xorb-<tenant>-user\n"
	      "      --env ENV            every tenant of the environment file\n",
	      f);
	state_help_tail(f, 0, 0,
		  "  xorb-state --keys /etc/xorb/keys creds t-qa\n"
		  "  xorb-state creds t-qa --user xorb-t-qa-backup --creds-dir /etc/xorb/creds\n"
		  "  xorb-state creds --env prod\n",
		  NULL);
}

static int run(struct state_args *a, char **argv, int argc)
{
	if (state_nargs(a, argv, argc, 0, 1, "TENANT"))
		return XORB_EXIT_USAGE;
	if (argc)
		return cmd_creds(a, argv[0]);
	if (!a->env)
		return xorb_cli_usage_error(&a->c, "creds: missing argument TENANT (or --env ENV for every tenant)");
	return cmd_creds_all(a);
}

const struct state_cmd state_creds_cmd = {
	"creds", "write users' .creds files", "qvhV", creds_opts, creds_help, run,
};

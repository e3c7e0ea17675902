/* xorb-state plan and apply: see state.h. */
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

/*
 * plan/apply --json: one object, built from the same list of changes the
 * text lines are rendered from:
 *   {"command":"plan","environment":"dev","env_file":"environments/dev.tfvars.json",
 *    "result":"ok","changes":[{"tenant","kind","action","name","detail","key",
 *    "path","stream","revoke"}...],"summary":{"create","update","unchanged","stray"}}
 * kind: account, user, stream, consumer; action: create, update, unchanged,
 * stray (an xorb-* account on the server that the environment lacks: apply
 * leaves it). A failure: "result":"failed", "error", and the changes so far.
 */
static void plan_json(const char *cmd, const struct xorb_env *env, const struct xorb_state_plan *plan,
		      const struct xorb_state_counts *n, const struct xorb_error *err)
{
	cJSON *j = cJSON_CreateObject(), *o;

	cJSON_AddStringToObject(j, "command", cmd);
	cJSON_AddStringToObject(j, "environment", env->environment ? env->environment : "");
	cJSON_AddStringToObject(j, "env_file", env->path ? env->path : "");
	cJSON_AddStringToObject(j, "result", err ? "failed" : "ok");
	if (err)
		cJSON_AddStringToObject(j, "error", err->msg);
	cJSON_AddItemToObject(j, "changes", xorb_state_plan_json(plan));
	o = cJSON_AddObjectToObject(j, "summary");
	xorb_json_add_int(o, "create", n->create);
	xorb_json_add_int(o, "update", n->update);
	xorb_json_add_int(o, "unchanged", n->unchanged);
	xorb_json_add_int(o, "stray", n->remove);
	xorb_cli_json_emit(j, "\n");
}

static int cmd_apply(struct state_args *a, const char *envname, bool dry)
{
	struct xorb_state_ctx ctx;
	struct xorb_state_counts n;
	struct xorb_state_plan plan;
	struct xorb_error err = { 0, "" };
	struct xorb_env *env = NULL;
	int rc;

	memset(&n, 0, sizeof(n));
	memset(&plan, 0, sizeof(plan));
	rc = state_load_env(a, envname, &env);
	if (rc)
		return rc;
	a->json_plan = a->c.json;
	rc = state_open_ctx(a, env, &ctx, &err);
	if (!rc) {
		ctx.plan = &plan;
		rc = xorb_state_apply(&ctx, env, dry, &n, &err);
	}
	if (!rc && plan.oom)
		rc = xorb_error_set(&err, XORB_ENOMEM, "out of memory while recording the plan");
	state_close_ctx(&ctx);
	if (a->c.json)
		plan_json(dry ? "plan" : "apply", env, &plan, &n, rc ? &err : NULL);
	xorb_state_plan_release(&plan);
	xorb_env_free(env);
	if (rc)
		return xorb_cli_fail(&a->c, &err);
	if (!a->c.quiet && !a->c.json)
		printf("%s: %u to create, %u to update, %u unchanged%s\n", dry ? "Plan" : "Applied", n.create,
		       n.update, n.unchanged, n.remove ? " (see ! lines: not in the environment)" : "");
	return XORB_EXIT_OK;
}

static const struct option apply_opts[] = {
	STATE_BASE_LONGOPTS,
	STATE_CONN_LONGOPTS,
	XORB_CLI_JSON_LONGOPT,
	{ "creds-dir", required_argument, NULL, OPT_CREDS_DIR },
	{ "replicas", required_argument, NULL, OPT_REPLICAS },
	{ NULL, 0, NULL, 0 },
};

static void apply_help_of(FILE *f, int plan)
{
	fprintf(f, "Usage: xorb-state %s ENV [options]\n\n", plan ? "plan" : "apply");
	fputs(plan ? "Shows what apply would change on the live server to make it match the\n"
		     "environment file; changes nothing.\n"
		   : "Makes the server match the environment file: accounts, users, JetStream\n"
		     "limits, streams and consumers (idempotent: a second run changes nothing).\n",
	      f);
	fputs("\n", f);
	fputs(state_env_text, f);
	fputs("\nOptions:\n", f);
	fputs(state_keys_help, f);
	fputs("      --creds-dir DIR      where users' .creds files go (default <keys>/creds)\n"
	      "      --replicas N         num_replicas of the streams (default: the\n"
	      "                           environment's)\n",
	      f);
	state_help_tail(f, 1, 1,
		  plan ? "  xorb-state --keys /etc/xorb/keys plan prod\n"
			 "  xorb-state plan environments/staging.tfvars.json --json\n"
		       : "  xorb-state --keys /etc/xorb/keys apply prod\n"
			 "  xorb-state -s nats://nats-dr.internal:4222 apply dr --replicas 3\n",
		  NULL);
}

static void plan_help(FILE *f)
{
	apply_help_of(f, 1);
}

static void apply_help(FILE *f)
{
	apply_help_of(f, 0);
}

static int plan_run(struct state_args *a, char **argv, int argc)
{
	if (state_nargs(a, argv, argc, 1, 1, "ENV (an environment: dev, prod or a path)"))
		return XORB_EXIT_USAGE;
	return cmd_apply(a, argv[0], true);
}

static int apply_run(struct state_args *a, char **argv, int argc)
{
	if (state_nargs(a, argv, argc, 1, 1, "ENV (an environment: dev, prod or a path)"))
		return XORB_EXIT_USAGE;
	return cmd_apply(a, argv[0], false);
}

const struct state_cmd state_plan_cmd = {
	"plan", "what apply would change, against the live server", "s:qvhV", apply_opts, plan_help, plan_run,
};

const struct state_cmd state_apply_cmd = {
	"apply", "make the server match the environment (idempotent)", "s:qvhV", apply_opts, apply_help, apply_run,
};

/*
 * xorb-state: the tenants' NATS accounts as code (operator/JWT mode).
 *
 *   xorb-state init --keys DIR
 *   xorb-state plan ENV | apply ENV     (--json: the changes as data)
 *   xorb-state creds TENANT [--user NAME] [--env ENV]
 *   xorb-state export [--tenant T]... [-o FILE]
 *   xorb-state import FILE [--with-streams]
 *   xorb-state destroy (--tenant T... | ENV) --yes [--keep-streams]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "xorb_age.h"
#include "xorb_cli.h"
#include "xorb_env.h"
#include "xorb_json.h"
#include "xorb_jwt.h"
#include "xorb_keys.h"
#include "xorb_names.h"
#include "xorb_state.h"

enum {
	OPT_KEYS = XORB_OPT_FIRST_COMMAND_OPT,
	OPT_SYS,
	OPT_CREDS_DIR,
	OPT_OPERATOR,
	OPT_REPLICAS,
	OPT_TENANT,
	OPT_USER,
	OPT_WITH_STREAMS,
	OPT_KEEP_STREAMS,
	OPT_YES,
	OPT_ENV,
};

/* Every subcommand has its own table (any other option is a usage error)
 * and --help; options may come before the subcommand's name. It connects
 * as the keys directory's system user: of the connection options only the
 * server, TLS and timeout apply (--user names the user of `creds`). */
#define STATE_BASE_LONGOPTS                                                       \
	{ "keys", required_argument, NULL, OPT_KEYS }, XORB_CLI_OUTPUT_LONGOPTS,  \
	XORB_CLI_BASE_LONGOPTS
#define STATE_CONN_LONGOPTS                                                       \
	{ "server", required_argument, NULL, 's' },                               \
	{ "tlscert", required_argument, NULL, XORB_OPT_TLSCERT },                 \
	{ "tlskey", required_argument, NULL, XORB_OPT_TLSKEY },                   \
	{ "tlsca", required_argument, NULL, XORB_OPT_TLSCA },                     \
	{ "timeout", required_argument, NULL, XORB_OPT_TIMEOUT },                 \
	{ "system-creds", required_argument, NULL, OPT_SYS }

static const struct option init_opts[] = {
	STATE_BASE_LONGOPTS,
	{ "operator", required_argument, NULL, OPT_OPERATOR },
	{ NULL, 0, NULL, 0 },
};
static const struct option apply_opts[] = {
	STATE_BASE_LONGOPTS,
	STATE_CONN_LONGOPTS,
	XORB_CLI_JSON_LONGOPT,
	{ "creds-dir", required_argument, NULL, OPT_CREDS_DIR },
	{ "replicas", required_argument, NULL, OPT_REPLICAS },
	{ NULL, 0, NULL, 0 },
};
static const struct option creds_opts[] = {
	STATE_BASE_LONGOPTS,
	{ "creds-dir", required_argument, NULL, OPT_CREDS_DIR },
	{ "user", required_argument, NULL, OPT_USER },
	{ "env", required_argument, NULL, OPT_ENV },
	{ NULL, 0, NULL, 0 },
};
static const struct option age_key_opts[] = {
	STATE_BASE_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};
static const struct option export_opts[] = {
	STATE_BASE_LONGOPTS,
	STATE_CONN_LONGOPTS,
	{ "tenant", required_argument, NULL, OPT_TENANT },
	{ "output", required_argument, NULL, 'o' },
	{ NULL, 0, NULL, 0 },
};
static const struct option import_opts[] = {
	STATE_BASE_LONGOPTS,
	STATE_CONN_LONGOPTS,
	{ "with-streams", no_argument, NULL, OPT_WITH_STREAMS },
	{ "replicas", required_argument, NULL, OPT_REPLICAS },
	{ NULL, 0, NULL, 0 },
};
static const struct option destroy_opts[] = {
	STATE_BASE_LONGOPTS,
	STATE_CONN_LONGOPTS,
	{ "tenant", required_argument, NULL, OPT_TENANT },
	{ "yes", no_argument, NULL, OPT_YES },
	{ "keep-streams", no_argument, NULL, OPT_KEEP_STREAMS },
	{ NULL, 0, NULL, 0 },
};
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

static const char keys_help[] =
	"      --keys DIR           the operator's keys (env XORB_KEYS; made by init)\n";
static const char conn_help[] =
	"Connection (as the system user of the keys directory):\n"
	"  -s, --server URL         NATS server (default: the environment file's\n"
	"                           nats_url; env NATS_URL)\n"
	"      --system-creds FILE  the system user (default <keys>/sys.creds)\n"
	"      --tlscert FILE       client certificate (env NATS_CERT)\n"
	"      --tlskey FILE        client private key (env NATS_KEY)\n"
	"      --tlsca FILE         CA that signed the server's certificate (env NATS_CA)\n"
	"      --timeout SEC        JetStream API request timeout (default 10)\n"
	"  A natscli --context does not apply: it logs in as the keys' system user.\n";
static const char env_text[] =
	"ENV is an environment file: environments/ENV.tfvars.json (Terraform's JSON\n"
	"variable format), or a path. One NATS account per tenant, xorb-<tenant>, with\n"
	"JetStream limits, users xorb-<tenant>-user and xorb-<tenant>-backup, 8 streams\n"
	"and 4 tuned consumers.\n";

static void help_tail(FILE *f, int conn, int json, const char *examples, const char *exits)
{
	if (conn)
		fputs(conn_help, f);
	xorb_cli_print_output_help(f, json);
	xorb_cli_print_config_help(f);
	fprintf(f, "\nExamples:\n%s\n", examples);
	if (exits)
		fputs(exits, f);
	else
		xorb_cli_print_exit_help(f);
}

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
	fputs(keys_help, f);
	fputs("      --operator NAME      operator name (default xorb)\n", f);
	help_tail(f, 0, 0,
		  "  xorb-state init --keys /etc/xorb/keys\n"
		  "  XORB_KEYS=/etc/xorb/keys xorb-state init --operator xorb-prod\n",
		  NULL);
}

static void apply_help_of(FILE *f, int plan)
{
	fprintf(f, "Usage: xorb-state %s ENV [options]\n\n", plan ? "plan" : "apply");
	fputs(plan ? "Shows what apply would change on the live server to make it match the\n"
		     "environment file; changes nothing.\n"
		   : "Makes the server match the environment file: accounts, users, JetStream\n"
		     "limits, streams and consumers (idempotent: a second run changes nothing).\n",
	      f);
	fputs("\n", f);
	fputs(env_text, f);
	fputs("\nOptions:\n", f);
	fputs(keys_help, f);
	fputs("      --creds-dir DIR      where users' .creds files go (default <keys>/creds)\n"
	      "      --replicas N         num_replicas of the streams (default: the\n"
	      "                           environment's)\n",
	      f);
	help_tail(f, 1, 1,
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
	fputs(keys_help, f);
	fputs("      --creds-dir DIR      where the .creds files go (default <keys>/creds)\n"
	      "      --user NAME          the user, default xorb-<tenant>-user\n"
	      "      --env ENV            every tenant of the environment file\n",
	      f);
	help_tail(f, 0, 0,
		  "  xorb-state --keys /etc/xorb/keys creds t-qa\n"
		  "  xorb-state creds t-qa --user xorb-t-qa-backup --creds-dir /etc/xorb/creds\n"
		  "  xorb-state creds --env prod\n",
		  NULL);
}

static void age_key_help(FILE *f)
{
	fputs("Usage: xorb-state age-key TENANT [options]\n"
	      "\n"
	      "The tenant's age identity for encrypted backups: <keys>/age/xorb-TENANT.key\n"
	      "(0600), made once; prints its public key (for backup_recipients in the\n"
	      "environment file). Does not connect to NATS.\n"
	      "\n"
	      "Options:\n",
	      f);
	fputs(keys_help, f);
	help_tail(f, 0, 0,
		  "  xorb-state --keys /etc/xorb/keys age-key t-qa\n"
		  "  xorb-state age-key t-qa > /etc/xorb/t-qa.recipients\n",
		  NULL);
}

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
	fputs(keys_help, f);
	fputs("      --tenant T           this tenant (repeatable)\n"
	      "  -o, --output FILE        write to FILE (0600) instead of stdout\n",
	      f);
	help_tail(f, 1, 0,
		  "  xorb-state --keys /etc/xorb/keys export -o /var/lib/xorb/state.json\n"
		  "  xorb-state -s nats://127.0.0.1:4222 export --tenant t-qa\n",
		  NULL);
}

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
	fputs(keys_help, f);
	fputs("      --with-streams       create the streams and consumers empty from the\n"
	      "                           state\n"
	      "      --replicas N         num_replicas of the streams\n",
	      f);
	help_tail(f, 1, 0,
		  "  xorb-state --keys /etc/xorb/keys import /var/lib/xorb/state.json\n"
		  "  xorb-state -s nats://nats-dr.internal:4222 import state.json --with-streams\n",
		  NULL);
}

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
	fputs(keys_help, f);
	fputs("      --tenant T           this tenant (repeatable)\n"
	      "      --yes                really do it\n"
	      "      --keep-streams       delete the account only, keep its streams on disk\n",
	      f);
	help_tail(f, 1, 0,
		  "  xorb-state --keys /etc/xorb/keys destroy --tenant t-qa --yes\n"
		  "  xorb-state destroy staging --yes --keep-streams\n",
		  NULL);
}

struct state_cmd {
	const char *name, *summary, *shortopts;
	const struct option *longopts;
	void (*help)(FILE *f);
};

static const struct state_cmd cmds[] = {
	{ "init", "make the operator's keys directory", "qvhV", init_opts, init_help },
	{ "plan", "what apply would change, against the live server", "s:qvhV", apply_opts, plan_help },
	{ "apply", "make the server match the environment (idempotent)", "s:qvhV", apply_opts, apply_help },
	{ "creds", "write users' .creds files", "qvhV", creds_opts, creds_help },
	{ "age-key", "the tenant's age identity for encrypted backups", "qvhV", age_key_opts, age_key_help },
	{ "export", "the tenants' accounts and streams as JSON", "s:qvhVo:", export_opts, export_help },
	{ "import", "create accounts (and streams) from an export", "s:qvhV", import_opts, import_help },
	{ "destroy", "delete tenants' streams and accounts", "s:qvhV", destroy_opts, destroy_help },
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
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
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

struct args {
	struct xorb_cli c;
	const char *keys, *sys_creds, *creds_dir, *operator_name, *user, *output, *env;
	const char **tenants;
	size_t n_tenants;
	int replicas;
	bool with_streams, keep_streams, yes, server_given;
	bool json_plan; /* plan/apply --json: collect the changes, print them as one document */
	char creds_dir_buf[4200], sys_buf[4200];
};

static void note_out(void *arg, enum xorb_note_level lvl, const char *stream, const char *msg)
{
	struct args *a = arg;

	if (lvl == XORB_NOTE_WARN) {
		xorb_cli_warn(&a->c, "%s", msg);
		return;
	}
	/* plan/apply --json: the changes are printed as data at the end */
	if (!a->c.quiet && !a->json_plan)
		printf("%s\n", msg);
	fflush(stdout);
}

static int load_env(struct args *a, const char *name, struct xorb_env **env)
{
	struct xorb_error err = { 0, "" };
	char path[4200];

	xorb_env_path(name, path, sizeof(path));
	if (xorb_env_load(path, env, &err))
		return xorb_cli_fail(&a->c, &err);
	return 0;
}

/* Keys, system connection and the context every command but init needs. */
static int open_ctx(struct args *a, const struct xorb_env *env, struct xorb_state_ctx *ctx, struct xorb_error *err)
{
	struct xorb_conn_opts so;
	int rc;

	memset(ctx, 0, sizeof(*ctx));
	if (!a->keys)
		return xorb_error_set(err, XORB_EINVAL, "no keys directory: give --keys DIR or set XORB_KEYS (xorb-state init makes one)");
	rc = xorb_keys_open(a->keys, &ctx->keys, err);
	if (rc)
		return rc;
	if (!a->sys_creds) {
		snprintf(a->sys_buf, sizeof(a->sys_buf), "%s/sys.creds", ctx->keys->dir);
		a->sys_creds = a->sys_buf;
	}
	if (!a->creds_dir) {
		snprintf(a->creds_dir_buf, sizeof(a->creds_dir_buf), "%s/creds", ctx->keys->dir);
		a->creds_dir = a->creds_dir_buf;
	}
	ctx->url = a->server_given || !env ? a->c.conn.url : env->nats_url;
	ctx->tlsca = a->c.conn.tlsca;
	ctx->tlscert = a->c.conn.tlscert;
	ctx->tlskey = a->c.conn.tlskey;
	ctx->creds_dir = a->creds_dir;
	ctx->timeout_ms = a->c.conn.timeout_ms;
	ctx->replicas = a->replicas;
	ctx->note = note_out;
	ctx->note_arg = a;
	so = a->c.conn;
	so.url = ctx->url;
	so.creds = a->sys_creds;
	so.user = so.password = NULL;
	/* refused now and then right after account pushes (nats-server 2.9.10
	 * and 2.10.27, seen in test_state): the same retry as the admin login */
	rc = xorb_nats_connect_retry_auth(&so, 5000, &ctx->sys, err);
	if (rc)
		xorb_error_prefix(err, "as the system user (%s): ", a->sys_creds);
	return rc;
}

static void close_ctx(struct xorb_state_ctx *ctx)
{
	xorb_nats_close(ctx->sys);
	xorb_keys_free(ctx->keys);
}

static int cmd_init(struct args *a)
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

static int cmd_apply(struct args *a, const char *envname, bool dry)
{
	struct xorb_state_ctx ctx;
	struct xorb_state_counts n;
	struct xorb_state_plan plan;
	struct xorb_error err = { 0, "" };
	struct xorb_env *env = NULL;
	int rc;

	memset(&n, 0, sizeof(n));
	memset(&plan, 0, sizeof(plan));
	rc = load_env(a, envname, &env);
	if (rc)
		return rc;
	a->json_plan = a->c.json;
	rc = open_ctx(a, env, &ctx, &err);
	if (!rc) {
		ctx.plan = &plan;
		rc = xorb_state_apply(&ctx, env, dry, &n, &err);
	}
	if (!rc && plan.oom)
		rc = xorb_error_set(&err, XORB_ENOMEM, "out of memory while recording the plan");
	close_ctx(&ctx);
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

static int cmd_creds(struct args *a, const char *tenant)
{
	struct xorb_state_ctx ctx;
	struct xorb_error err = { 0, "" };
	struct xorb_env *env = NULL;
	char path[4400];
	int rc;

	if (xorb_tenant_check(tenant, &err))
		return xorb_cli_usage_error(&a->c, "%s", err.msg);
	if (a->env && (rc = load_env(a, a->env, &env)))
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

/*
 * The tenant's age identity (issue 15): <keys>/age/xorb-<tenant>.key, made
 * once (0600, the layout age-keygen writes), its public key printed on
 * stdout for the tenant's backup_recipients. Run again: the same public key,
 * the file untouched. Deleting the file makes every backup encrypted only
 * to it unreadable: the erasure procedure (README: Encryption).
 */
static int cmd_age_key(struct args *a, const char *tenant)
{
	struct xorb_age_identity *id = NULL;
	struct xorb_error err = { 0, "" };
	char dir[4200], path[4400], pub[XORB_AGE_RECIPIENT_LEN + 1], sec[XORB_AGE_IDENTITY_LEN + 1], when[32];
	struct xorb_age_identity **have = NULL;
	size_t n = 0;
	FILE *f;
	int fd;

	if (xorb_tenant_check(tenant, &err))
		return xorb_cli_usage_error(&a->c, "%s", err.msg);
	if (!a->keys)
		return xorb_cli_usage_error(&a->c, "age-key: give --keys DIR (or XORB_KEYS)");
	snprintf(dir, sizeof(dir), "%s/age", a->keys);
	snprintf(path, sizeof(path), "%s/xorb-%s.key", dir, tenant);
	if (!xorb_age_identities_read_file(path, &have, &n, &err)) {
		xorb_age_identity_recipient(have[0], NULL, pub);
		xorb_age_identities_free(have, n);
		printf("%s\n", pub);
		if (!a->c.quiet)
			fprintf(stderr, "xorb-state: %s exists: its public key is above (nothing written)\n", path);
		return XORB_EXIT_OK;
	}
	if (access(path, F_OK) == 0)
		return xorb_cli_fail(&a->c, &err); /* there, but not an identity: never overwritten */
	if (mkdir(dir, 0700) && errno != EEXIST) {
		xorb_cli_error(&a->c, "cannot create %s: %s", dir, strerror(errno));
		return XORB_EXIT_FAIL;
	}
	if (xorb_age_keygen(&id, &err))
		return xorb_cli_fail(&a->c, &err);
	xorb_age_identity_recipient(id, NULL, pub);
	xorb_age_identity_format(id, sec);
	xorb_age_identity_free(id);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		OPENSSL_cleanse(sec, sizeof(sec));
		xorb_cli_error(&a->c, "cannot create %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return XORB_EXIT_FAIL;
	}
	xorb_time_rfc3339(time(NULL), when);
	fprintf(f, "# created: %s by xorb-state age-key for tenant %s\n# public key: %s\n%s\n", when, tenant, pub, sec);
	OPENSSL_cleanse(sec, sizeof(sec));
	if (fflush(f) || fsync(fileno(f)) || fclose(f)) {
		xorb_cli_error(&a->c, "writing %s failed: %s", path, strerror(errno));
		unlink(path);
		return XORB_EXIT_FAIL;
	}
	printf("%s\n", pub);
	if (!a->c.quiet)
		fprintf(stderr, "xorb-state: wrote %s (0600): put the public key above in tenant %s's backup_recipients; "
				"deleting this file makes the backups encrypted only to it unreadable\n", path, tenant);
	return XORB_EXIT_OK;
}

/* Both users of every tenant of --env (the seed's make nats-generate-creds). */
static int cmd_creds_all(struct args *a)
{
	struct xorb_env *env = NULL;
	size_t i;
	int rc, worst = 0;

	rc = load_env(a, a->env, &env);
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

static int cmd_export(struct args *a)
{
	struct xorb_state_ctx ctx;
	struct xorb_error err = { 0, "" };
	char *json = NULL;
	int rc;

	rc = open_ctx(a, NULL, &ctx, &err);
	if (!rc)
		rc = xorb_state_export(&ctx, a->tenants, a->n_tenants, &json, &err);
	close_ctx(&ctx);
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

static int cmd_import(struct args *a, const char *file)
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
		rc = open_ctx(a, NULL, &ctx, &err);
	else
		memset(&ctx, 0, sizeof(ctx));
	if (!rc)
		rc = xorb_state_import(&ctx, text, len, a->with_streams, &n, &err);
	close_ctx(&ctx);
	free(text);
	if (rc)
		return xorb_cli_fail(&a->c, &err);
	if (!a->c.quiet)
		printf("Imported: %u created, %u unchanged\n", n.create, n.unchanged);
	return XORB_EXIT_OK;
}

static int cmd_destroy(struct args *a, const char *envname)
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
		rc = load_env(a, envname, &env);
		if (rc)
			return rc;
		list = calloc(env->n_tenants + 1, sizeof(char *));
		for (i = 0; list && i < env->n_tenants; i++)
			list[i] = env->tenants[i].name;
		nl = env->n_tenants;
	}
	rc = open_ctx(a, env, &ctx, &err);
	if (!rc)
		rc = xorb_state_destroy(&ctx, list, nl, a->keep_streams, &n, &err);
	close_ctx(&ctx);
	if (envname)
		free(list);
	xorb_env_free(env);
	if (rc)
		return xorb_cli_fail(&a->c, &err);
	if (!a->c.quiet)
		printf("Destroyed: %u removed, %u already absent\n", n.remove, n.unchanged);
	return XORB_EXIT_OK;
}

int main(int argc, char **argv)
{
	static struct args a;
	const struct state_cmd *cmd = NULL;
	const struct option *foreign;
	const char *sub;
	int opt, rc, nargs, at;
	size_t i;
	int64_t v;

	xorb_cli_init(&a.c, "xorb-state");
	a.keys = getenv("XORB_KEYS") && *getenv("XORB_KEYS") ? getenv("XORB_KEYS") : NULL;
	a.server_given = getenv("NATS_URL") && *getenv("NATS_URL");
	at = xorb_cli_find_command(argc, argv, STATE_SHORTOPTS, longopts);
	for (i = 0; at < argc && i < N_CMDS && !cmd; i++)
		if (!strcmp(argv[at], cmds[i].name))
			cmd = &cmds[i];
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
				if (xorb_cli_has_option(cmds[i].longopts, foreign->val))
					snprintf(of + strlen(of), sizeof(of) - strlen(of), "%s%s", *of ? ", " : "",
						 cmds[i].name);
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
		if (opt == XORB_OPT_USER) {
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
		default: return XORB_EXIT_USAGE;
		}
	}
	if (!cmd) {
		if (at < argc)
			return xorb_cli_unknown_command(&a.c, argv[at], COMMAND_NAMES);
		return xorb_cli_usage_error(&a.c, "missing command: " COMMAND_NAMES);
	}
	sub = argv[optind];
	nargs = argc - optind - 1;
#define ARGS(min, max, what)                                                          \
	do {                                                                          \
		if (nargs < (min))                                                    \
			return xorb_cli_missing_arg(&a.c, what);                      \
		if (nargs > (max))                                                    \
			return xorb_cli_extra_arg(&a.c, argv[optind + 1 + (max)]);    \
	} while (0)
	if (!strcmp(sub, "init")) {
		ARGS(0, 0, "");
		rc = cmd_init(&a);
	} else if (!strcmp(sub, "plan") || !strcmp(sub, "apply")) {
		ARGS(1, 1, "ENV (an environment: dev, prod or a path)");
		rc = cmd_apply(&a, argv[optind + 1], !strcmp(sub, "plan"));
	} else if (!strcmp(sub, "creds")) {
		ARGS(0, 1, "TENANT");
		if (nargs)
			rc = cmd_creds(&a, argv[optind + 1]);
		else if (!a.env)
			rc = xorb_cli_usage_error(&a.c, "creds: missing argument TENANT (or --env ENV for every tenant)");
		else
			rc = cmd_creds_all(&a);
	} else if (!strcmp(sub, "age-key")) {
		ARGS(1, 1, "TENANT");
		rc = cmd_age_key(&a, argv[optind + 1]);
	} else if (!strcmp(sub, "export")) {
		ARGS(0, 0, "");
		rc = cmd_export(&a);
	} else if (!strcmp(sub, "import")) {
		ARGS(1, 1, "FILE (a state file of export)");
		rc = cmd_import(&a, argv[optind + 1]);
	} else {
		ARGS(0, 1, "");
		rc = cmd_destroy(&a, nargs ? argv[optind + 1] : NULL);
	}
	free(a.tenants);
	nats_CloseAndWait(5000); /* frees what the library still holds: no leak reports */
	return rc;
}

/* What xorb-state's subcommands share: see state.h. */
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

void state_note_out(void *arg, enum xorb_note_level lvl, const char *stream, const char *msg)
{
	struct state_args *a = arg;

	if (lvl == XORB_NOTE_WARN) {
		xorb_cli_warn(&a->c, "%s", msg);
		return;
	}
	/* plan/apply --json: the changes are printed as data at the end */
	if (!a->c.quiet && !a->json_plan)
		printf("%s\n", msg);
	fflush(stdout);
}

int state_load_env(struct state_args *a, const char *name, struct xorb_env **env)
{
	struct xorb_error err = { 0, "" };
	char path[4200];

	xorb_env_path(name, path, sizeof(path));
	if (xorb_env_load(path, env, &err))
		return xorb_cli_fail(&a->c, &err);
	return 0;
}

int state_open_ctx(struct state_args *a, const struct xorb_env *env, struct xorb_state_ctx *ctx, struct xorb_error *err)
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
	ctx->note = state_note_out;
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

void state_close_ctx(struct xorb_state_ctx *ctx)
{
	xorb_nats_close(ctx->sys);
	xorb_keys_free(ctx->keys);
}


int state_nargs(const struct state_args *a, char **argv, int argc, int min, int max, const char *what)
{
	if (argc < min)
		return xorb_cli_missing_arg(&a->c, what);
	if (argc > max)
		return xorb_cli_extra_arg(&a->c, argv[max]);
	return 0;
}

const char state_keys_help[] =
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
const char state_env_text[] =
	"ENV is an environment file: environments/ENV.tfvars.json (Terraform's JSON\n"
	"variable format), or a path. One NATS account per tenant, xorb-<tenant>, with\n"
	"JetStream limits, users xorb-<tenant>-user and xorb-<tenant>-backup, 8 streams\n"
	"and 4 tuned consumers.\n";

void state_help_tail(FILE *f, int conn, int json, const char *examples, const char *exits)
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


/*
 * xorb-state's subcommands, one file each: src/cli/state_init.c,
 * state_apply.c (plan and apply), state_creds.c, state_age_key.c,
 * state_export.c, state_import.c, state_destroy.c; what they share in
 * state_common.c. Each declares a struct state_cmd: its option table
 * (exactly the options it takes: any other is a usage error), its --help
 * and its run function. src/xorb-state.c is the dispatcher.
 */
#ifndef XORB_STATE_CMD_H
#define XORB_STATE_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "xorb_cli.h"
#include "xorb_env.h"
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

struct state_args {
	struct xorb_cli c;
	const char *keys, *sys_creds, *creds_dir, *operator_name, *user, *output, *env;
	const char **tenants;
	size_t n_tenants;
	int replicas;
	bool with_streams, keep_streams, yes, server_given;
	bool json_plan; /* plan/apply --json: collect the changes, print them as one document */
	char creds_dir_buf[4200], sys_buf[4200];
};

struct state_cmd {
	const char *name, *summary, *shortopts;
	const struct option *longopts;
	void (*help)(FILE *f);
	/* the words after the subcommand's name; returns the exit code */
	int (*run)(struct state_args *a, char **argv, int argc);
};

extern const struct state_cmd state_init_cmd, state_plan_cmd, state_apply_cmd, state_creds_cmd, state_age_key_cmd,
	state_export_cmd, state_import_cmd, state_destroy_cmd;

/* state_common.c */
void state_note_out(void *arg, enum xorb_note_level lvl, const char *stream, const char *msg);
int state_load_env(struct state_args *a, const char *name, struct xorb_env **env);
/* Keys, system connection and the context every command but init needs. */
int state_open_ctx(struct state_args *a, const struct xorb_env *env, struct xorb_state_ctx *ctx,
		   struct xorb_error *err);
void state_close_ctx(struct xorb_state_ctx *ctx);
/* Usage error unless min <= argc <= max (what: the missing argument). */
int state_nargs(const struct state_args *a, char **argv, int argc, int min, int max, const char *what);
/* The help's parts: --keys, ENV, and the end (connection options when
 * conn, output, configuration, examples, exit codes: exits or the usual). */
extern const char state_keys_help[];
extern const char state_env_text[];
void state_help_tail(FILE *f, int conn, int json, const char *examples, const char *exits);

#endif

/*
 * xorb-backup's subcommands, one file each (git's cmd_*, restic's cmd
 * files): src/cli/backup_tenant.c, backup_all.c, backup_list.c,
 * backup_check.c, backup_copy.c and backup_show.c (show, stats, diff, whose
 * work is in xorb_show.c). Each declares a struct backup_cmd: its option
 * table (exactly the options it takes: any other is a usage error), its
 * --help and its run function. src/xorb-backup.c is the dispatcher: it
 * finds the subcommand (options may come before its name), refuses the
 * options the subcommand lacks, parses with its table and runs it.
 */
#ifndef XORB_BACKUP_CMD_H
#define XORB_BACKUP_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "xorb_cli.h"
#include "xorb_env.h"

enum {
	OPT_STREAM = XORB_OPT_FIRST_COMMAND_OPT,
	OPT_NO_CONSUMERS,
	OPT_CHUNK,
	OPT_WINDOW,
	OPT_IDLE,
	OPT_ZSTD,
	OPT_PART,
	OPT_METRICS,
	OPT_PRE_HOOK,
	OPT_POST_HOOK,
	OPT_ENV,
	OPT_TENANTS,
	OPT_CREDS_DIR,
	OPT_PARALLEL,
	OPT_MAX_AGE,
	OPT_WARN_AGE,
	OPT_SYSTEM_CREDS,
	OPT_TO,
	OPT_ALL,
	OPT_DRY_RUN,
	OPT_RECIPIENT,
	OPT_RECIPIENTS_FILE,
	OPT_IDENTITY,
};

/* The options of a backup run: 'tenant' and 'all' (which passes them on). */
#define BACKUP_RUN_LONGOPTS                                                       \
	{ "recipient", required_argument, NULL, OPT_RECIPIENT },                  \
	{ "recipients-file", required_argument, NULL, OPT_RECIPIENTS_FILE },      \
	{ "no-consumers", no_argument, NULL, OPT_NO_CONSUMERS },                  \
	{ "chunk-size", required_argument, NULL, OPT_CHUNK },                     \
	{ "window-size", required_argument, NULL, OPT_WINDOW },                   \
	{ "idle-timeout", required_argument, NULL, OPT_IDLE },                    \
	{ "zstd-level", required_argument, NULL, OPT_ZSTD },                      \
	{ "part-size", required_argument, NULL, OPT_PART },                       \
	{ "metrics-file", required_argument, NULL, OPT_METRICS },                 \
	{ "pre-hook", required_argument, NULL, OPT_PRE_HOOK },                    \
	{ "post-hook", required_argument, NULL, OPT_POST_HOOK },                  \
	{ "system-creds", required_argument, NULL, OPT_SYSTEM_CREDS }

struct backup_args {
	struct xorb_cli c;
	struct xorb_backup_opts o;
	const char **streams;
	size_t n_streams;
	const char *metrics, *pre_hook, *post_hook, *system_creds;
	const char *env, *tenants, *creds_dir;
	const char **recipient_keys, **recipient_files;
	size_t n_recipient_keys, n_recipient_files;
	struct xorb_env *envobj; /* 'all' with --env: each tenant's backup_recipients */
	const char *copy_to;
	bool copy_all, dry_run;
	int parallel;
	int64_t max_age, warn_age;
	/* options replayed to the children of 'all' */
	const char **child_argv;
	size_t n_child;
	char **owned;
	size_t n_owned;
	double progress_started;
};

struct backup_cmd {
	const char *name;
	const char *summary; /* one line of `xorb-backup --help` */
	const char *shortopts;
	const struct option *longopts;
	/* why the connection options do not apply (NULL: they do, or the
	 * usual "it is an option of ..." message) */
	const char *no_conn;
	void (*help)(FILE *f);
	/* the words after the subcommand's name; returns the exit code */
	int (*run)(struct backup_args *a, char **argv, int argc);
};

extern const struct backup_cmd backup_tenant_cmd, backup_all_cmd, backup_list_cmd, backup_check_cmd,
	backup_copy_cmd, backup_show_cmd, backup_stats_cmd, backup_diff_cmd;

/* The tenants of --env or --tenants (all, check). */
int backup_tenant_list(struct backup_args *a, char ***out, size_t *n, struct xorb_error *err);

/* The "Options of 'tenant' and 'all'" lines of their --help. */
void backup_run_options_help(FILE *f);

#endif

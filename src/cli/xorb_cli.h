/*
 * The tool layer shared by every command: common options (the nats CLI's
 * names and environment variables), message formatting, exit codes.
 * Only this layer and the commands print or exit.
 */
#ifndef XORB_CLI_H
#define XORB_CLI_H

#include <getopt.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>

#include "xorb_backup.h"
#include "xorb_error.h"
#include "xorb_json.h"
#include "xorb_nats.h"
#include "xorb_store.h"

enum xorb_exit {
	XORB_EXIT_OK = 0,
	XORB_EXIT_WARN = 1,
	XORB_EXIT_FAIL = 2,
	XORB_EXIT_USAGE = 64,
};

struct xorb_cli {
	const char *prog;
	struct xorb_conn_opts conn;
	const char *store;
	int quiet, verbose, json;
	char default_store[4096];
	/* store settings passed to the backend: key/value pairs, NULL-terminated */
	struct xorb_param params[16];
	size_t n_params;
	int log_json;	     /* --log-format json: one JSON object per stderr line */
	const char *tenant;  /* context for log lines, may be NULL */
	int progress;	     /* draw a progress line on stderr (a terminal, not -q) */
	double progress_last;
	double progress_t0; /* the first call of xorb_cli_progress_cb */
	int progress_drawn;
	/* natscli context (--context, NATS_CONTEXT): applied once by
	 * xorb_cli_load_context; conn_given has bit i set for each connection
	 * setting given by flag or environment (order of xorb_context_apply) */
	const char *context;
	unsigned conn_given;
	cJSON *context_json;
	int context_loaded;
	/* --identity FILE of the commands that read encrypted backups' contents
	 * (xorb-backup show and diff), borrowed from argv */
	const char **identity_files;
	size_t n_identity_files;
	/* set by xorb_cli_begin for xorb_cli_getopt: the command's table plus
	 * the storage plugins' options (plugin_opts[i] is XORB_OPT_PLUGIN + i) */
	const char *shortopts;
	const struct option *longopts;
	const struct xorb_storage_option *plugin_opts[64];
	size_t n_plugin_opts;
	char param_num[16][24]; /* numbers given to plugins, in digits */
	char getopt_short[64]; /* ":" + shortopts: xorb_cli_getopt prints its errors */
	/* a subcommand's name (usage errors say "Try 'PROG SUB --help'.") */
	const char *sub;
	/* the table the configuration file is read with when not the one given
	 * to xorb_cli_begin: a dispatcher's union of its subcommands' tables
	 * (a [program] section key is then valid for every subcommand) */
	const struct option *config_longopts;
};

/* Option ids of the common options (above the ASCII range). */
enum {
	XORB_OPT_CREDS = 1000,
	XORB_OPT_USER,
	XORB_OPT_PASSWORD,
	XORB_OPT_TLSCERT,
	XORB_OPT_TLSKEY,
	XORB_OPT_TLSCA,
	XORB_OPT_STORE,
	XORB_OPT_JSON,
	XORB_OPT_VERSION,
	XORB_OPT_TIMEOUT,
	XORB_OPT_LOG_FORMAT,
	XORB_OPT_CONTEXT,
	XORB_OPT_CONFIG,
	XORB_OPT_FIRST_COMMAND_OPT = 1100, /* commands number theirs from here */
	XORB_OPT_PLUGIN = 2000,		   /* the storage plugins' options: 2000 + their index */
};

/* The common options in groups: each command's table holds the groups
 * that apply to it (a command that never connects has no connection
 * options, one without a store no store options), and its --help prints
 * the same groups (xorb_cli_print_*_help). */
#define XORB_CLI_CONN_LONGOPTS                                                    \
	{ "server", required_argument, NULL, 's' },                               \
	{ "creds", required_argument, NULL, XORB_OPT_CREDS },                     \
	{ "user", required_argument, NULL, XORB_OPT_USER },                       \
	{ "password", required_argument, NULL, XORB_OPT_PASSWORD },               \
	{ "tlscert", required_argument, NULL, XORB_OPT_TLSCERT },                 \
	{ "tlskey", required_argument, NULL, XORB_OPT_TLSKEY },                   \
	{ "tlsca", required_argument, NULL, XORB_OPT_TLSCA },                     \
	{ "context", required_argument, NULL, XORB_OPT_CONTEXT },                 \
	{ "timeout", required_argument, NULL, XORB_OPT_TIMEOUT }
#define XORB_CLI_STORE_LONGOPTS                                                   \
	{ "store", required_argument, NULL, XORB_OPT_STORE }
/* -q, -v, --log-format (--json is separate: not every command has it) */
#define XORB_CLI_OUTPUT_LONGOPTS                                                  \
	{ "quiet", no_argument, NULL, 'q' },                                      \
	{ "verbose", no_argument, NULL, 'v' },                                    \
	{ "log-format", required_argument, NULL, XORB_OPT_LOG_FORMAT }
#define XORB_CLI_JSON_LONGOPT { "json", no_argument, NULL, XORB_OPT_JSON }
/* --config, --help, --version: every command */
#define XORB_CLI_BASE_LONGOPTS                                                    \
	{ "config", required_argument, NULL, XORB_OPT_CONFIG },                   \
	{ "help", no_argument, NULL, 'h' },                                       \
	{ "version", no_argument, NULL, XORB_OPT_VERSION }
#define XORB_CLI_COMMON_LONGOPTS                                                  \
	XORB_CLI_CONN_LONGOPTS, XORB_CLI_STORE_LONGOPTS, XORB_CLI_OUTPUT_LONGOPTS, \
	XORB_CLI_JSON_LONGOPT, XORB_CLI_BASE_LONGOPTS
/* -V is --version (xorb_cli_getopt returns XORB_OPT_VERSION for it) */
#define XORB_CLI_COMMON_SHORTOPTS "s:qvhV"
#define XORB_CLI_NOCONN_SHORTOPTS "qvhV"

/* The help of the common options, in the groups above; each command's
 * --help prints the groups that apply to it. Every line fits 80 columns. */
void xorb_cli_print_conn_help(FILE *f);
/* --store and the options of the store backends (S3) */
void xorb_cli_print_store_help(FILE *f);
/* -q, -v, --log-format, and --json when json */
void xorb_cli_print_output_help(FILE *f, int json);
/* --config, -h, -V */
void xorb_cli_print_config_help(FILE *f);
/* "Exit codes: 0 success, 1 finished with warnings, 2 failed, 64 usage error." */
void xorb_cli_print_exit_help(FILE *f);
/* All of the above (a command that has every common option). */
void xorb_cli_print_common_help(FILE *f, int json);

/* Fills defaults from the environment (NATS_URL, NATS_CREDS, NATS_USER,
 * NATS_PASSWORD, NATS_CERT, NATS_KEY, NATS_CA, XORB_STORE). First of all it
 * makes the process non-dumpable (prctl PR_SET_DUMPABLE 0): no core dump and
 * no ptrace by the user's other processes while secrets are in memory. */
void xorb_cli_init(struct xorb_cli *c, const char *prog);

/* For commands that stream snapshots (xorb-backup): glibc malloc keeps the
 * memory of freed blocks up to 32 MiB in its heaps instead of returning it
 * to the kernel at once. Process-wide: call first thing in main. Why: the
 * NATS reader thread allocates every snapshot chunk (up to 1 MiB) anew and
 * another thread frees it; with glibc's defaults the heap top was trimmed
 * and faulted in again for each chunk (27,000 page faults for a 285 MB
 * snapshot, 15 % of the backup's CPU; 8,600 and 25 % less CPU with this:
 * bench/PROFILE.md). Memory held stays what was in use at the peak, so the
 * peak RSS does not grow. A no-op outside glibc. */
void xorb_cli_malloc_for_streaming(void);

/* Reads the configuration file(s) into c (src/cli/xorb_config.c): --config
 * FILE or $XORB_CONFIG alone, else /etc/xorb/xorb.conf then
 * $XDG_CONFIG_HOME/xorb/xorb.conf (~/.config/xorb/xorb.conf). Call after
 * xorb_cli_init and before parsing the options (flags win). 0, or
 * XORB_EXIT_USAGE after the message. */
int xorb_cli_load_config(struct xorb_cli *c, int argc, char *const *argv, const struct option *longopts);

struct xorb_age_identity;
struct xorb_age_recipient;
struct xorb_manifest;

/* Keys of encrypted backups (issue 15). The identities of files (each an age
 * identities file; none given: $XORB_IDENTITY_FILE when set), appended to
 * *ids / *n (caller: xorb_age_identities_free). A file that group or others
 * can read is refused, like ssh refuses an unprotected private key. 0, or
 * XORB_EXIT_FAIL / XORB_EXIT_USAGE after the message. */
int xorb_cli_identities(const struct xorb_cli *c, const char *const *files, size_t n_files,
			struct xorb_age_identity ***ids, size_t *n);
/* The recipients of --recipient values and --recipients-file files (none
 * given: $XORB_RECIPIENTS_FILE when set), appended to *rs / *n (free()). */
int xorb_cli_recipients(const struct xorb_cli *c, const char *const *keys, size_t n_keys,
			const char *const *files, size_t n_files, struct xorb_age_recipient **rs, size_t *n);
/* The backup id of tenant (NULL or "latest": the newest), its sidecar
 * opened with ids when it is encrypted: *m is the full manifest, ready to
 * walk. An encrypted backup and no identity: *m is the sealed sidecar when
 * sealed_ok (what can be checked without the key), else an error naming
 * the recipients and how to give an identity. XORB_OK or a status (err). */
int xorb_cli_open_backup(struct xorb_store *store, const char *tenant, const char *id,
			 struct xorb_age_identity *const *ids, size_t n_ids, int sealed_ok,
			 struct xorb_manifest **m, struct xorb_error *err);

/* Handles a common option. Returns 1 when handled, 0 when not a common
 * option, or -1 for a bad value (message printed). --help/--version are
 * left to the command (return 0). */
int xorb_cli_common_opt(struct xorb_cli *c, int opt, const char *arg);

void xorb_cli_error(const struct xorb_cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void xorb_cli_warn(const struct xorb_cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints "prog: error: <err->msg>" and returns the exit code for it. */
int xorb_cli_fail(const struct xorb_cli *c, const struct xorb_error *err);
/* Usage error: message plus a pointer to --help; returns XORB_EXIT_USAGE. */
int xorb_cli_usage_error(const struct xorb_cli *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Long options are never abbreviated: getopt_long takes "--serve" for
 * "--server", so a typo or a prefix that later becomes ambiguous would run
 * something else. Scans argv (up to "--", skipping the values of options
 * that take one) before getopt_long; an unknown or shortened long option is
 * a usage error naming it. Returns 0, or XORB_EXIT_USAGE after the message. */
int xorb_cli_exact_options(const struct xorb_cli *c, int argc, char *const *argv, const char *shortopts,
			   const struct option *longopts);

/* Option parsing of every command, in two calls: xorb_cli_begin checks
 * argv for abbreviated or unknown long options and reads the configuration
 * file(s), then xorb_cli_getopt returns the options one by one like
 * getopt_long (optarg set). The table the command passes is used as is
 * (with XORB_CLI_COMMON_LONGOPTS in it); options that storage plugins
 * declare are added here, so commands never list them. begin returns 0, or
 * XORB_EXIT_USAGE after the message. */
/* The storage plugins' option of that name (as in --NAME or a
 * configuration file), when the command takes store options; NULL if none. */
const struct xorb_storage_option *xorb_cli_plugin_option(const struct xorb_cli *c, const char *name, int *id);

/* longopts plus the options the storage plugins declare (ABI 1.2), when
 * longopts has --store (a command that uses a store); else longopts. A
 * dispatcher that looks at argv before xorb_cli_begin (to find its
 * subcommand) looks with this table. Kept until exit. */
const struct option *xorb_cli_options_with_plugins(struct xorb_cli *c, const struct option *longopts);

int xorb_cli_begin(struct xorb_cli *c, int argc, char **argv, const char *shortopts,
		   const struct option *longopts);
int xorb_cli_getopt(struct xorb_cli *c, int argc, char **argv, int *longindex);
/* xorb_cli_getopt's return for a usage error it has already printed
 * (unknown option, missing value): the command returns XORB_EXIT_USAGE. */
#define XORB_CLI_OPT_ERROR '?'

/* The uniform usage errors, each followed by "Try 'PROG [SUB] --help'."
 * and returning XORB_EXIT_USAGE:
 *   missing argument NAME / unexpected argument "X" (too many arguments) /
 *   unknown command "X" (commands: list) */
int xorb_cli_missing_arg(const struct xorb_cli *c, const char *name);
int xorb_cli_extra_arg(const struct xorb_cli *c, const char *arg);
int xorb_cli_unknown_command(const struct xorb_cli *c, const char *cmd, const char *commands);

/* For programs with subcommands: the index in argv of the first word that
 * is neither an option nor an option's value (per shortopts/longopts, the
 * union of the subcommands' tables), or argc when there is none. Options
 * may come before the subcommand's name. */
int xorb_cli_find_command(int argc, char *const *argv, const char *shortopts, const struct option *longopts);
/* The first option in argv (per all, the union) that the table sub lacks,
 * as the entry of all (NULL: none). A short option counts as its long name. */
const struct option *xorb_cli_foreign_option(int argc, char *const *argv, const char *all_short,
					     const struct option *all, const struct option *sub);
/* Is the option with this id in the table? */
int xorb_cli_has_option(const struct option *longopts, int val);

/* A note callback for the library that prints per the -q/-v settings. */
void xorb_cli_note(void *arg, enum xorb_note_level lvl, const char *stream, const char *msg);

/* Fills the connection settings from the natscli context named by
 * --context or NATS_CONTEXT (none: nothing to do), where neither a flag nor
 * the environment set them. Once; xorb_cli_connect calls it. */
int xorb_cli_load_context(struct xorb_cli *c, struct xorb_error *err);
int xorb_cli_connect(struct xorb_cli *c, natsConnection **nc, struct xorb_error *err);
/* How a command uses a store: only a writer (a backup, copy's destination)
 * creates a missing one; every other command fails on it, so that a mistyped
 * --store is an error and not an empty store. */
enum xorb_store_use { XORB_STORE_READ, XORB_STORE_WRITE };

/* Opens --store (url NULL) or url, with the command's store parameters. */
int xorb_cli_open_store(const struct xorb_cli *c, const char *url, enum xorb_store_use use,
			struct xorb_store **s, struct xorb_error *err);

/* "1.2 MiB" style sizes. */
const char *xorb_cli_bytes(uint64_t n, char *buf, size_t len);
/* Parses a positive integer option value (with optional K/M/G suffix when
 * allow_suffix); -1 on error (message printed). */
int64_t xorb_cli_parse_int(const struct xorb_cli *c, const char *opt, const char *arg,
			   int64_t min, int64_t max, bool allow_suffix);

/* Parses a duration "90s", "45m", "26h", "7d" (or plain seconds) into
 * seconds; -1 on error (message printed). */
int64_t xorb_cli_parse_duration(const struct xorb_cli *c, const char *opt, const char *arg);

/* Appends a string to a NULL-terminated growable list (for repeated flags). */
int xorb_cli_list_add(const char ***list, size_t *n, const char *s);

/*
 * The one JSON writer of the commands' --json output: every document is built
 * as a cJSON tree and printed by xorb_json_print (every string escaped, so a
 * quote in a sidecar cannot end a string or add a member; integers exact).
 * Prints j compactly, then after (e.g. "\n", ",", or NULL), and deletes j;
 * a NULL j (out of memory while building) prints null.
 */
void xorb_cli_json_emit(cJSON *j, const char *after);

/* Adds a duration in seconds, to the millisecond. */
void xorb_cli_json_add_seconds(cJSON *o, const char *key, double s);

void xorb_cli_version(const struct xorb_cli *c);

/* Decides whether progress is drawn: stderr is a terminal, not -q, text logs. */
void xorb_cli_progress_setup(struct xorb_cli *c);
/* Draws "label  done/total  rate  ETA" at most 10 times a second; total may
 * be 0 (unknown). */
void xorb_cli_progress(struct xorb_cli *c, const char *label, uint64_t done, uint64_t total,
		       double started);
void xorb_cli_progress_end(struct xorb_cli *c);
/* An xorb_progress_fn for archive walks (verify, restore): arg is the
 * struct xorb_cli; the rate counts from its first call. */
void xorb_cli_progress_cb(void *arg, const char *stream, uint64_t done, uint64_t total);

/* Runs a hook with /bin/sh -c, its stdout on our stderr, in a minimal
 * environment: XORB_OPERATION, XORB_TENANT, XORB_BACKUP_ID and XORB_RESULT
 * of this run, every other XORB_* variable of ours, and PATH, HOME, LANG,
 * LC_ALL and TZ when set; nothing else (no NATS_*, AWS_*: no secrets).
 * Returns its exit status (128+signal when killed), or -1 when it could not
 * be started. */
int xorb_cli_run_hook(const struct xorb_cli *c, const char *cmd, const char *op,
		      const char *tenant, const char *backup_id, const char *result);

#endif

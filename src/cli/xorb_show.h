/*
 * Looking into backups without opening them (issue 14, point 6):
 *
 *   xorb-backup show TENANT [ID|latest]   one backup: header, streams, consumers, skipped
 *   xorb-backup stats [TENANT]            per tenant: count, oldest/newest, sizes, messages
 *   xorb-backup diff TENANT ID1 ID2       what changed between two backups
 *
 * All three read sidecars only (<tenant>/<id>.json), never an archive, and
 * never connect to NATS; they open the store read-only (a missing store is
 * an error, never created). Text on stdout, or one JSON document with --json
 * (snake_case names, integers as numbers). A sidecar value that is absent
 * (NULL or "" string, negative number) is shown as "-" in text and left out
 * of the JSON, so a sidecar that keeps fewer fields (future encrypted
 * backups) is shown as far as it goes, never a crash. See README.md
 * ("Looking into backups") for the outputs and exit codes.
 */
#ifndef XORB_SHOW_H
#define XORB_SHOW_H

#include <stdbool.h>

#include "xorb_cli.h"

/* Each takes the arguments after the subcommand's name. conn_opt is the
 * first connection option given on the command line ("--server", ...) or
 * NULL: these subcommands never connect, so one is a usage error. Return the
 * exit code: show and stats 0 ok, 1 warnings (stats: an unreadable sidecar,
 * a tenant without backups), 2 failed; diff 0 identical, 1 different, 2
 * failed; 64 usage. */
int xorb_show_main(struct xorb_cli *c, char **argv, int argc, const char *conn_opt);
int xorb_stats_main(struct xorb_cli *c, char **argv, int argc, const char *conn_opt);
int xorb_diff_main(struct xorb_cli *c, char **argv, int argc, const char *conn_opt);

/* true for the common options that only matter to a NATS connection
 * (-s/--server, --creds, --user, --password, --tls*, --timeout, --context). */
bool xorb_show_conn_option(int opt);

#endif

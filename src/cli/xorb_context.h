/*
 * natscli contexts (the nats CLI's `--context NAME`): named connection
 * settings in $XDG_CONFIG_HOME/nats/context/NAME.json (default
 * ~/.config/nats/context), as described by NATS ADR-21.
 *
 * Used only when named (--context or NATS_CONTEXT): the context natscli has
 * selected (context.txt) is not read, so that a `nats context select` on the
 * host never changes what a scheduled backup connects to. A setting comes
 * from, first to last: the command line, the environment (NATS_URL,
 * NATS_CREDS, ...), the context, the default.
 */
#ifndef XORB_CONTEXT_H
#define XORB_CONTEXT_H

#include <cjson/cJSON.h>

#include "xorb_error.h"
#include "xorb_nats.h"

#define XORB_CONTEXT_MAX (64 * 1024) /* bytes of a context file */

/* The path of context name (a name, or a path with a '/', taken as given)
 * into out. XORB_EINVAL for a name natscli could not have made. */
int xorb_context_path(const char *name, char *out, size_t len, struct xorb_error *err);

/* Reads the context file at path (strictly: a key twice is an error) and
 * fills the fields of conn that keep is 0 for (bit i: field i, in the
 * order url, creds, user, password, tlscert, tlskey, tlsca, token), from
 * its non-empty "url", "creds", "user", "password", "cert", "key", "ca",
 * "token". Settings xorb-dr cannot honour ("nkey", "nsc", "user_jwt",
 * "jetstream_domain", "jetstream_api_prefix", "jetstream_event_prefix",
 * "tls_first", "windows_*") are refused when set, naming them;
 * "inbox_prefix" is refused too (xorb-dr's own prefix is what the backup
 * user's permissions allow). The strings point into *owner, which the
 * caller keeps while conn is in use and then deletes. */
int xorb_context_apply(const char *path, unsigned keep, struct xorb_conn_opts *conn, cJSON **owner,
		       struct xorb_error *err);

#endif

/*
 * Tenant accounts as code: plan/apply an environment against a live server
 * in operator mode, export the tenants' state, import it after a destroy
 * (same account public keys, so existing user credentials keep working),
 * and destroy tenants. Every change is reported through the note callback
 * as one line ("+ stream xorb-t-qa-scan-live", "~ account xorb-t-qa:
 * disk_storage 1 -> 2", "= ..."), so the tool layer can print a plan.
 */
#ifndef XORB_STATE_H
#define XORB_STATE_H

#include <nats/nats.h>
#include <stdbool.h>

#include "xorb_backup.h"
#include "xorb_env.h"
#include "xorb_keys.h"

struct xorb_state_ctx {
	struct xorb_keys *keys;
	natsConnection *sys;	  /* system user connection */
	const char *url;	  /* server(s) for account connections */
	const char *tlsca, *tlscert, *tlskey;
	const char *creds_dir;	  /* users' .creds files */
	int timeout_ms;
	int replicas;		  /* 0: the environment's num_replicas */
	xorb_note_fn note;
	void *note_arg;
};

struct xorb_state_counts {
	unsigned create, update, unchanged, remove;
};

/* dry_run: plan only. */
int xorb_state_apply(struct xorb_state_ctx *c, const struct xorb_env *env, bool dry_run,
		     struct xorb_state_counts *counts, struct xorb_error *err);

/* Writes (or rewrites, keeping its key) the creds file of a tenant's user:
 * user "xorb-<t>-user" or "xorb-<t>-backup" (or another name, with the
 * data user's permissions). */
int xorb_state_creds(struct xorb_state_ctx *c, const struct xorb_env *env, const char *tenant,
		     const char *user, char *path_out, size_t path_len, struct xorb_error *err);

/* The state document of the given tenants (all tenants with an account key
 * when n == 0). Caller frees *json. */
int xorb_state_export(struct xorb_state_ctx *c, const char *const *tenants, size_t n, char **json,
		      struct xorb_error *err);
/* Export of one tenant's account as the server holds it, with only the
 * system credentials (no keys): for account/state.json in a backup. */
int xorb_state_export_account(natsConnection *sys, const char *tenant, char **json,
			      struct xorb_error *err);

/* Re-provisions the accounts of a state document with their own public keys.
 * All or nothing for the accounts: every tenant (name, account key here,
 * JWT, issuer, subject, no tenant or account twice) is checked before the
 * first push, and any failure then pushes nothing. A failure after the first
 * push names the accounts that were pushed and those that were not. */
int xorb_state_import(struct xorb_state_ctx *c, const char *json, size_t len, bool with_streams,
		      struct xorb_state_counts *counts, struct xorb_error *err);

int xorb_state_destroy(struct xorb_state_ctx *c, const char *const *tenants, size_t n,
		       bool keep_streams, struct xorb_state_counts *counts, struct xorb_error *err);

/* Connects to the server as an administrator of the tenant's account: a
 * short-lived user minted in memory with the account key. */
int xorb_state_account_connect(struct xorb_state_ctx *c, const char *tenant, natsConnection **nc,
			       struct xorb_error *err);

#endif

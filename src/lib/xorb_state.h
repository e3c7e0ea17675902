/*
 * Tenant accounts as code: plan/apply an environment against a live server
 * in operator mode, export the tenants' state, import it after a destroy
 * (same account public keys, so existing user credentials keep working),
 * and destroy tenants. Every change is reported through the note callback
 * as one line ("+ stream xorb-t-qa-scan-live", "~ account xorb-t-qa:
 * disk_storage 1 -> 2", "= ..."), so the tool layer can print a plan.
 *
 * A plan (and what apply did) is data: a list of struct xorb_state_change.
 * Each text line is rendered from it (xorb_state_change_line) and so is the
 * --json document (xorb_state_plan_json); ctx->plan collects the list.
 */
#ifndef XORB_STATE_H
#define XORB_STATE_H

#include <nats/nats.h>
#include <stdbool.h>

#include "xorb_backup.h"
#include "xorb_env.h"
#include "xorb_json.h"
#include "xorb_keys.h"

/* What a change is about, and what apply does to it. */
enum xorb_change_kind { XORB_CHANGE_ACCOUNT, XORB_CHANGE_USER, XORB_CHANGE_STREAM, XORB_CHANGE_CONSUMER };
enum xorb_change_action {
	XORB_CHANGE_CREATE,	/* "+" */
	XORB_CHANGE_UPDATE,	/* "~" (a user re-issued, an account's limits or revocations) */
	XORB_CHANGE_UNCHANGED,	/* "=" */
	XORB_CHANGE_STRAY,	/* "!": an xorb-* account on the server that the environment
				 * lacks; apply leaves it (nothing is ever deleted by apply) */
};

struct xorb_state_change {
	enum xorb_change_kind kind;
	enum xorb_change_action action;
	char *tenant;
	char *name;   /* the account, user, stream or consumer */
	char *detail; /* the settings created, what differs, why; NULL: none */
	char *key;    /* account: its public key; NULL while it has none (plan of a new tenant) */
	char *path;   /* user: its creds file */
	char *stream; /* consumer: its stream */
	bool revoke;  /* account, user: earlier JWTs of a user are revoked */
	bool joined;  /* shown on the text line of the change before it (the two users
		       * of a tenant whose account key does not exist yet) */
};

struct xorb_state_plan {
	struct xorb_state_change *v;
	size_t n, cap;
	int oom; /* a change could not be recorded */
};

/* Renders the text line of v[0] and of the changes after it that are joined
 * to it (at most n) into buf, e.g. "+ stream xorb-t-qa-scan-live: max_bytes
 * ..."; returns how many changes the line covers (>= 1). */
size_t xorb_state_change_line(const struct xorb_state_change *v, size_t n, char *buf, size_t len);
/* The changes as a JSON array of objects: tenant, kind (account, user,
 * stream, consumer), action (create, update, unchanged, stray), name,
 * and when present detail, key, path, stream, revoke. NULL on ENOMEM. */
cJSON *xorb_state_plan_json(const struct xorb_state_plan *p);
void xorb_state_plan_release(struct xorb_state_plan *p);
const char *xorb_state_change_kind_name(enum xorb_change_kind k);
const char *xorb_state_change_action_name(enum xorb_change_action a);

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
	struct xorb_state_plan *plan; /* when set, plan/apply append every change */
};

struct xorb_state_counts {
	unsigned create, update, unchanged, remove; /* remove: plan/apply's strays */
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

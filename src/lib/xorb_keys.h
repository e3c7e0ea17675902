/*
 * The operator's keys directory (what `nsc init` makes), and the signing of
 * account and user JWTs for the tenants.
 *
 *   DIR/                      0700
 *     operator.nk             operator identity seed (0600)
 *     operator-signing.nk     operator signing key seed: issues account JWTs
 *     operator.jwt            operator JWT (lists the signing key, the system account)
 *     sys-account.nk, sys-account.jwt, sys.creds   the system account and its user
 *     resolver.conf           fragment for nats-server: operator, system_account,
 *                             full resolver (DIR/jwt), resolver_preload
 *     accounts/<tenant>.nk    each tenant's account seed: its public key is the
 *                             account's identity and must never change
 *     creds/                  default directory of the users' .creds files
 * Seeds never leave these files: they are not printed or logged.
 */
#ifndef XORB_KEYS_H
#define XORB_KEYS_H

#include <cjson/cJSON.h>

#include "xorb_error.h"
#include "xorb_nkeys.h"

struct xorb_keys {
	char dir[4096];
	char operator_pub[XORB_NKEY_PUBLIC_LEN + 1];
	char signing_pub[XORB_NKEY_PUBLIC_LEN + 1];
	char sys_account_pub[XORB_NKEY_PUBLIC_LEN + 1];
	struct xorb_nkey *op;	   /* identity key (signs claims deletes) */
	struct xorb_nkey *signing; /* issues account JWTs */
};

/* Creates DIR and every file above; refuses a DIR that already holds keys. */
int xorb_keys_init(const char *dir, const char *operator_name, struct xorb_error *err);
int xorb_keys_open(const char *dir, struct xorb_keys **out, struct xorb_error *err);
void xorb_keys_free(struct xorb_keys *k);

/* The tenant's account key; create != 0 makes and stores one when missing,
 * otherwise XORB_ENOTFOUND. */
int xorb_keys_account(const struct xorb_keys *k, const char *tenant, int create,
		      struct xorb_nkey **out, struct xorb_error *err);

/* An account JWT for tenant: name xorb-<tenant>, nats.limits as given,
 * nats.revocations as given ({"<user public key>": <unix time>, ...}: the
 * server refuses that user's JWTs issued at or before the time; NULL or empty:
 * none), issued by the operator signing key with iat = now. */
int xorb_keys_account_jwt(const struct xorb_keys *k, const char *account_pub,
			  const char *account_name, const cJSON *limits, const cJSON *revocations,
			  char **jwt, struct xorb_error *err);

/* A user JWT signed by the account key; perms is {"pub":…,"sub":…}. */
int xorb_keys_user_jwt(const struct xorb_nkey *account, const char *user_name,
		       const struct xorb_nkey *user, const cJSON *perms, char **jwt,
		       struct xorb_error *err);

/* The operator-signed claims-delete request for the given accounts. */
int xorb_keys_delete_jwt(const struct xorb_keys *k, const char *const *accounts, size_t n,
			 char **jwt, struct xorb_error *err);

/* Reads a whole secret/config file (at most max bytes). */
int xorb_read_file(const char *path, size_t max, char **data, size_t *len, struct xorb_error *err);

#endif

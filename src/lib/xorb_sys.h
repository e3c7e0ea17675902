/*
 * System-account requests of the NATS account resolver ($SYS.REQ.*), made
 * with the system user's credentials. In a cluster several servers answer:
 * replies are gathered until the servers fall silent, and every one must
 * agree.
 */
#ifndef XORB_SYS_H
#define XORB_SYS_H

#include <nats/nats.h>

#include "xorb_error.h"

/* Pushes an account JWT ($SYS.REQ.CLAIMS.UPDATE). *servers (may be NULL)
 * receives how many servers confirmed. */
int xorb_sys_claims_update(natsConnection *sys, const char *account_pub, const char *jwt,
			   int *servers, struct xorb_error *err);
/* The account JWT the server holds; XORB_ENOTFOUND when it has none. */
int xorb_sys_claims_lookup(natsConnection *sys, const char *account_pub, char **jwt,
			   struct xorb_error *err);
/* Public keys of every account the resolver holds. */
int xorb_sys_claims_list(natsConnection *sys, char ***accounts, size_t *n, struct xorb_error *err);
/* Deletes accounts with an operator-signed request (needs allow_delete). */
int xorb_sys_claims_delete(natsConnection *sys, const char *delete_jwt, int *servers,
			   struct xorb_error *err);

#endif

/*
 * Environment files: the tenants of one deployment, in Terraform's JSON
 * variable-file format (environments/dev.tfvars.json), so that the same file
 * can feed Terraform and xorb-dr.
 *
 *   {"environment":"dev","nats_url":"nats://…","num_replicas":1,
 *    "tenants":{"t-qa":{"name":"t-qa","display_name":"…","max_streams":25,
 *                       "max_consumers":50,"max_bytes":536870912,
 *                       "max_messages":500000,"retention_days":7,
 *                       "max_connections":100}},
 *    "security_settings":{"require_tls":true,"verify_certificates":true,
 *                         "min_tls_version":"1.3","allowed_cipher_suites":[…]}}
 *
 * Parsing is strict: unknown keys, wrong types, out-of-range numbers and bad
 * tenant names are rejected with the file, the key path and the reason.
 */
#ifndef XORB_ENV_H
#define XORB_ENV_H

#include <stdbool.h>
#include <stdint.h>

#include "xorb_error.h"

#define XORB_ENV_MAX_BYTES (4u << 20)
#define XORB_ENV_MAX_TENANTS 10000

struct xorb_env_tenant {
	char *name;
	char *display_name;
	int64_t max_streams, max_consumers, max_bytes, max_messages, retention_days;
	int64_t max_connections; /* -1: unlimited (default) */
	/* "backup_recipients": age public keys (age1...) the tenant's backups
	 * are encrypted to by `xorb-backup all` (issue 15); may be empty */
	char **backup_recipients;
	size_t n_backup_recipients;
};

struct xorb_env {
	char *path;
	char *environment;
	char *nats_url;
	int num_replicas; /* default 1 */
	struct xorb_env_tenant *tenants; /* sorted by name */
	size_t n_tenants;
	bool has_security;
	bool require_tls, verify_certificates;
	char *min_tls_version;
	char **cipher_suites;
	size_t n_cipher_suites;
};

int xorb_env_load(const char *path, struct xorb_env **out, struct xorb_error *err);
int xorb_env_parse(const char *text, size_t len, const char *path, struct xorb_env **out,
		   struct xorb_error *err);
void xorb_env_free(struct xorb_env *e);
const struct xorb_env_tenant *xorb_env_tenant(const struct xorb_env *e, const char *name);
/* "dev" -> "<dir>/dev.tfvars.json" when ENV is a bare name; a path is used as
 * given. dir is XORB_ENV_DIR or "environments". */
void xorb_env_path(const char *env, char *out, size_t len);

#endif

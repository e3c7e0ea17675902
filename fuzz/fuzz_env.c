/*
 * libFuzzer target: xorb_env_parse on an untrusted environment file (the
 * Terraform tfvars JSON that "xorb-backup all --env" reads).
 *
 * Invariants of a file that parses: the tenants are sorted by name, unique,
 * valid tenant names, each found by xorb_env_tenant; every number is inside
 * the range the parser promises.
 */
#include <string.h>

#include "fuzz_util.h"
#include "xorb_env.h"
#include "xorb_names.h"

static void check_env(const struct xorb_env *e)
{
	size_t i;

	FUZZ_CHECK(e->environment && e->nats_url && e->path);
	FUZZ_CHECK(e->num_replicas >= 1 && e->num_replicas <= 5);
	FUZZ_CHECK(e->n_tenants <= XORB_ENV_MAX_TENANTS);
	for (i = 0; i < e->n_tenants; i++) {
		const struct xorb_env_tenant *t = &e->tenants[i];

		FUZZ_CHECK(t->name && xorb_tenant_check(t->name, NULL) == XORB_OK);
		FUZZ_CHECK(i == 0 || strcmp(e->tenants[i - 1].name, t->name) < 0);
		FUZZ_CHECK(xorb_env_tenant(e, t->name) == t);
		FUZZ_CHECK(t->max_streams >= 1 && t->max_consumers >= 1 && t->max_bytes >= 1 &&
			   t->max_messages >= 1 && t->retention_days >= 1);
		FUZZ_CHECK(t->max_connections >= -1);
	}
	FUZZ_CHECK(xorb_env_tenant(e, "-not-a-tenant-") == NULL);
	if (e->has_security) {
		FUZZ_CHECK(!e->min_tls_version || !strcmp(e->min_tls_version, "1.2") ||
			   !strcmp(e->min_tls_version, "1.3"));
		for (i = 0; i < e->n_cipher_suites; i++)
			FUZZ_CHECK(e->cipher_suites[i] != NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct xorb_env *e = NULL;
	struct xorb_error err;
	int rc;

	xorb_error_clear(&err);
	rc = xorb_env_parse((const char *)data, len, "fuzz.tfvars.json", &e, &err);
	if (rc) {
		/* err.code may differ from rc: invalid JSON returns XORB_EINVAL
		 * with err.code XORB_ECORRUPT (reported, see fuzz/README.md) */
		FUZZ_CHECK(e == NULL && err.code != XORB_OK);
		FUZZ_CHECK(strnlen(err.msg, sizeof(err.msg)) < sizeof(err.msg));
		return 0;
	}
	FUZZ_CHECK(e != NULL);
	check_env(e);
	xorb_env_free(e);
	return 0;
}

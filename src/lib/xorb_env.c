/* Strict environment file parser: see xorb_env.h. */
#include "xorb_env.h"

#include "xorb_age.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xorb_json.h"
#include "xorb_names.h"

struct ectx {
	const char *path;
	struct xorb_error *err;
	int rc;
};

__attribute__((format(printf, 3, 4))) static int bad(struct ectx *c, const char *key,
						     const char *fmt, ...)
{
	char why[512];
	va_list ap;

	if (c->rc)
		return c->rc;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	c->rc = xorb_error_set(c->err, XORB_EINVAL, "environment file %s: %s: %s", c->path, key, why);
	return c->rc;
}

static int64_t num(struct ectx *c, const cJSON *o, const char *key, const char *path,
		   int64_t min, int64_t max, int64_t dflt, bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	char kp[300];

	snprintf(kp, sizeof(kp), "%s%s", path, key);
	if (!v) {
		if (required)
			bad(c, kp, "missing (a whole number is required)");
		return dflt;
	}
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble)) {
		bad(c, kp, "must be a whole number (%lld to %lld)", (long long)min, (long long)max);
		return dflt;
	}
	/* range-check before converting: casting 1e20 to int64_t is undefined */
	if (!(fabs(v->valuedouble) < 9.2e18)) {
		bad(c, kp, "%.17g is out of range (%lld to %lld)", v->valuedouble, (long long)min, (long long)max);
		return dflt;
	}
	if ((int64_t)v->valuedouble < min || (int64_t)v->valuedouble > max) {
		bad(c, kp, "%lld is out of range (%lld to %lld)", (long long)v->valuedouble,
		    (long long)min, (long long)max);
		return dflt;
	}
	return (int64_t)v->valuedouble;
}

static char *str(struct ectx *c, const cJSON *o, const char *key, const char *path, size_t maxlen,
		 bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	char kp[300], *s;

	snprintf(kp, sizeof(kp), "%s%s", path, key);
	if (!v) {
		if (required)
			bad(c, kp, "missing (a string is required)");
		return NULL;
	}
	if (!cJSON_IsString(v)) {
		bad(c, kp, "must be a string");
		return NULL;
	}
	if (strlen(v->valuestring) > maxlen) {
		bad(c, kp, "is longer than %zu characters", maxlen);
		return NULL;
	}
	for (s = v->valuestring; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			bad(c, kp, "holds the control character 0x%02x at character %zu (names and settings must be printable)",
			    (unsigned char)*s, (size_t)(s - v->valuestring) + 1);
			return NULL;
		}
	s = strdup(v->valuestring);
	if (!s && !c->rc)
		c->rc = xorb_error_set(c->err, XORB_ENOMEM, "out of memory");
	return s;
}

static bool boolean(struct ectx *c, const cJSON *o, const char *key, const char *path, bool dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	char kp[300];

	if (!v)
		return dflt;
	snprintf(kp, sizeof(kp), "%s%s", path, key);
	if (!cJSON_IsBool(v)) {
		bad(c, kp, "must be true or false");
		return dflt;
	}
	return cJSON_IsTrue(v);
}

/* Every member of o must be one of allowed. */
static void only_keys(struct ectx *c, const cJSON *o, const char *path, const char *const *allowed)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, o) {
		size_t i;

		for (i = 0; allowed[i] && strcmp(allowed[i], it->string); i++)
			;
		if (!allowed[i]) {
			char kp[300];

			snprintf(kp, sizeof(kp), "%s%s", path, it->string);
			bad(c, kp, "unknown key (allowed: see README, Environment files)");
			return;
		}
	}
}

static int cmp_tenant(const void *a, const void *b)
{
	return strcmp(((const struct xorb_env_tenant *)a)->name, ((const struct xorb_env_tenant *)b)->name);
}

int xorb_env_parse(const char *text, size_t len, const char *path, struct xorb_env **out,
		   struct xorb_error *err)
{
	static const char *const top_keys[] = { "environment", "nats_url", "num_replicas", "tenants",
						"security_settings", NULL };
	static const char *const tenant_keys[] = { "name", "display_name", "max_streams", "max_consumers",
						   "max_bytes", "max_messages", "retention_days",
						   "max_connections", "backup_recipients", NULL };
	static const char *const sec_keys[] = { "require_tls", "verify_certificates", "min_tls_version",
						"allowed_cipher_suites", NULL };
	struct ectx c = { path, err, 0 };
	const cJSON *tenants, *it, *sec;
	struct xorb_env *e;
	cJSON *root = NULL;
	char what[600];
	size_t n;

	*out = NULL;
	snprintf(what, sizeof(what), "environment file %s", path);
	if (len > XORB_ENV_MAX_BYTES)
		return xorb_error_set(err, XORB_EINVAL, "%s is larger than %u bytes", what, XORB_ENV_MAX_BYTES);
	if (xorb_json_parse_strict(text, len, what, &root, err)) {
		if (err)
			err->code = XORB_EINVAL; /* an input error, like every other one here */
		return XORB_EINVAL;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->path = strdup(path))) {
		free(e);
		cJSON_Delete(root);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	if (!cJSON_IsObject(root)) {
		bad(&c, "(top level)", "must be a JSON object");
		goto out;
	}
	only_keys(&c, root, "", top_keys);
	e->environment = str(&c, root, "environment", "", 63, true);
	e->nats_url = str(&c, root, "nats_url", "", 1024, true);
	e->num_replicas = (int)num(&c, root, "num_replicas", "", 1, 5, 1, false);
	if (c.rc)
		goto out;
	tenants = cJSON_GetObjectItemCaseSensitive(root, "tenants");
	if (!cJSON_IsObject(tenants)) {
		bad(&c, "tenants", tenants ? "must be an object mapping tenant names to settings" : "missing");
		goto out;
	}
	n = (size_t)cJSON_GetArraySize(tenants);
	if (n > XORB_ENV_MAX_TENANTS) {
		bad(&c, "tenants", "more than %u tenants", XORB_ENV_MAX_TENANTS);
		goto out;
	}
	e->tenants = calloc(n ? n : 1, sizeof(*e->tenants));
	if (!e->tenants) {
		c.rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
		goto out;
	}
	cJSON_ArrayForEach(it, tenants) {
		struct xorb_env_tenant *t = &e->tenants[e->n_tenants];
		char p[200];
		struct xorb_error te;
		size_t k;

		snprintf(p, sizeof(p), "tenants.%.80s.", it->string);
		if (xorb_tenant_check(it->string, &te)) {
			bad(&c, p, "%s", te.msg);
			goto out;
		}
		for (k = 0; k < e->n_tenants; k++)
			if (!strcmp(e->tenants[k].name, it->string)) {
				bad(&c, p, "tenant appears twice");
				goto out;
			}
		if (!cJSON_IsObject(it)) {
			bad(&c, p, "must be an object");
			goto out;
		}
		only_keys(&c, it, p, tenant_keys);
		e->n_tenants++;
		t->name = str(&c, it, "name", p, XORB_TENANT_MAX, true);
		if (!c.rc && strcmp(t->name, it->string)) {
			bad(&c, p, "name \"%s\" differs from the map key \"%s\"", t->name, it->string);
			goto out;
		}
		t->display_name = str(&c, it, "display_name", p, 256, false);
		t->max_streams = num(&c, it, "max_streams", p, 1, 100000, 0, true);
		t->max_consumers = num(&c, it, "max_consumers", p, 1, 1000000, 0, true);
		t->max_bytes = num(&c, it, "max_bytes", p, 1, INT64_C(1) << 50, 0, true);
		t->max_messages = num(&c, it, "max_messages", p, 1, INT64_C(1) << 50, 0, true);
		t->retention_days = num(&c, it, "retention_days", p, 1, 36500, 0, true);
		t->max_connections = num(&c, it, "max_connections", p, -1, 1000000, -1, false);
		if (c.rc)
			goto out;
		{
			const cJSON *rs = cJSON_GetObjectItemCaseSensitive(it, "backup_recipients"), *r;
			size_t nr = rs ? (size_t)cJSON_GetArraySize(rs) : 0;

			if (rs && (!cJSON_IsArray(rs) || nr > 64)) {
				bad(&c, p, "backup_recipients must be an array of at most 64 age public keys (age1...)");
				goto out;
			}
			t->backup_recipients = calloc(nr ? nr : 1, sizeof(char *));
			if (!t->backup_recipients) {
				c.rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
				goto out;
			}
			cJSON_ArrayForEach(r, rs) {
				struct xorb_age_recipient key;
				struct xorb_error ke = { 0, "" };

				if (!cJSON_IsString(r) ||
				    xorb_age_recipient_parse(r->valuestring, strlen(r->valuestring), &key, &ke)) {
					bad(&c, p, "backup_recipients[%zu]: %s", t->n_backup_recipients,
					    ke.msg[0] ? ke.msg : "not a string");
					goto out;
				}
				t->backup_recipients[t->n_backup_recipients] = strdup(r->valuestring);
				if (!t->backup_recipients[t->n_backup_recipients++]) {
					c.rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
					goto out;
				}
			}
		}
	}
	qsort(e->tenants, e->n_tenants, sizeof(*e->tenants), cmp_tenant);
	sec = cJSON_GetObjectItemCaseSensitive(root, "security_settings");
	if (sec) {
		const cJSON *arr, *s;

		if (!cJSON_IsObject(sec)) {
			bad(&c, "security_settings", "must be an object");
			goto out;
		}
		only_keys(&c, sec, "security_settings.", sec_keys);
		e->has_security = true;
		e->require_tls = boolean(&c, sec, "require_tls", "security_settings.", false);
		e->verify_certificates = boolean(&c, sec, "verify_certificates", "security_settings.", true);
		e->min_tls_version = str(&c, sec, "min_tls_version", "security_settings.", 8, false);
		if (e->min_tls_version && strcmp(e->min_tls_version, "1.2") && strcmp(e->min_tls_version, "1.3"))
			bad(&c, "security_settings.min_tls_version", "must be \"1.2\" or \"1.3\"");
		arr = cJSON_GetObjectItemCaseSensitive(sec, "allowed_cipher_suites");
		if (arr && !cJSON_IsArray(arr))
			bad(&c, "security_settings.allowed_cipher_suites", "must be an array of strings");
		if (c.rc)
			goto out;
		n = arr ? (size_t)cJSON_GetArraySize(arr) : 0;
		e->cipher_suites = calloc(n ? n : 1, sizeof(char *));
		if (!e->cipher_suites) {
			c.rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
			goto out;
		}
		cJSON_ArrayForEach(s, arr) {
			if (!cJSON_IsString(s) || strlen(s->valuestring) > 128) {
				bad(&c, "security_settings.allowed_cipher_suites", "must be an array of strings");
				goto out;
			}
			e->cipher_suites[e->n_cipher_suites] = strdup(s->valuestring);
			if (!e->cipher_suites[e->n_cipher_suites++]) {
				c.rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
				goto out;
			}
		}
	}
out:
	cJSON_Delete(root);
	if (c.rc) {
		xorb_env_free(e);
		return c.rc;
	}
	*out = e;
	return XORB_OK;
}

int xorb_env_load(const char *path, struct xorb_env **out, struct xorb_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	*out = NULL;
	f = fopen(path, "rb");
	if (!f)
		return xorb_error_set(err, errno == ENOENT ? XORB_ENOTFOUND : XORB_EIO,
				      "cannot open environment file %s: %s%s", path, strerror(errno),
				      errno == ENOENT ? " (--env NAME reads $XORB_ENV_DIR/NAME.tfvars.json, by default "
							"./environments/NAME.tfvars.json: copy the environment's file there, "
							"set XORB_ENV_DIR, or give the file's path)" : "");
	buf = malloc(XORB_ENV_MAX_BYTES + 1);
	if (!buf) {
		fclose(f);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	len = fread(buf, 1, XORB_ENV_MAX_BYTES + 1, f);
	if (ferror(f)) {
		rc = xorb_error_set(err, XORB_EIO, "cannot read environment file %s", path);
	} else if (len > XORB_ENV_MAX_BYTES) {
		rc = xorb_error_set(err, XORB_EINVAL, "environment file %s is larger than %u bytes", path,
				    XORB_ENV_MAX_BYTES);
	} else {
		rc = xorb_env_parse(buf, len, path, out, err);
	}
	fclose(f);
	free(buf);
	return rc;
}

void xorb_env_free(struct xorb_env *e)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < e->n_tenants; i++) {
		free(e->tenants[i].name);
		free(e->tenants[i].display_name);
		for (size_t k = 0; k < e->tenants[i].n_backup_recipients; k++)
			free(e->tenants[i].backup_recipients[k]);
		free(e->tenants[i].backup_recipients);
	}
	free(e->tenants);
	for (i = 0; i < e->n_cipher_suites; i++)
		free(e->cipher_suites[i]);
	free(e->cipher_suites);
	free(e->min_tls_version);
	free(e->environment);
	free(e->nats_url);
	free(e->path);
	free(e);
}

const struct xorb_env_tenant *xorb_env_tenant(const struct xorb_env *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->n_tenants; i++)
		if (!strcmp(e->tenants[i].name, name))
			return &e->tenants[i];
	return NULL;
}

void xorb_env_path(const char *env, char *out, size_t len)
{
	const char *dir = getenv("XORB_ENV_DIR");

	if (strchr(env, '/') || strstr(env, ".json"))
		snprintf(out, len, "%s", env);
	else
		snprintf(out, len, "%s/%s.tfvars.json", dir && *dir ? dir : "environments", env);
}

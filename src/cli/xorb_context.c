/* natscli contexts: see xorb_context.h. */
#include "xorb_context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xorb_json.h"
#include "xorb_keys.h"

int xorb_context_path(const char *name, char *out, size_t len, struct xorb_error *err)
{
	const char *cfg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	size_t i, n;

	if (!name || !*name)
		return xorb_error_set(err, XORB_EINVAL, "--context: the name is empty");
	if (strchr(name, '/')) {
		if ((size_t)snprintf(out, len, "%s", name) >= len)
			return xorb_error_set(err, XORB_EINVAL, "--context: the path is too long");
		return XORB_OK;
	}
	n = strlen(name);
	for (i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '_' || (ch == '.' && i > 0)))
			return xorb_error_set(err, XORB_EINVAL,
					      "--context \"%.64s\": a context name holds letters, digits, '-', '_' and '.' (not first); give a path with a '/' for a file elsewhere",
					      name);
	}
	if (cfg && *cfg)
		n = (size_t)snprintf(out, len, "%s/nats/context/%s.json", cfg, name);
	else if (home && *home)
		n = (size_t)snprintf(out, len, "%s/.config/nats/context/%s.json", home, name);
	else
		return xorb_error_set(err, XORB_EINVAL,
				      "--context %s: neither XDG_CONFIG_HOME nor HOME is set, so there is no context directory; give the file's path",
				      name);
	if (n >= len)
		return xorb_error_set(err, XORB_EINVAL, "--context: the path is too long");
	return XORB_OK;
}

/* A setting of the context: NULL when absent or "" (natscli writes every
 * key, empty ones included); XORB_EINVAL when not a string. */
static int setting(const cJSON *ctx, const char *path, const char *key, const char **out, struct xorb_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(ctx, key);

	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return XORB_OK;
	if (!cJSON_IsString(v))
		return xorb_error_set(err, XORB_EINVAL, "context %s: \"%s\" is not a string", path, key);
	if (*v->valuestring)
		*out = v->valuestring;
	return XORB_OK;
}

int xorb_context_apply(const char *path, unsigned keep, struct xorb_conn_opts *conn, cJSON **owner,
		       struct xorb_error *err)
{
	static const char *const unsupported[] = { "nkey",
						   "nsc",
						   "user_jwt",
						   "jetstream_domain",
						   "jetstream_api_prefix",
						   "jetstream_event_prefix",
						   "inbox_prefix",
						   "windows_cert_store",
						   "windows_cert_match_by",
						   "windows_cert_match",
						   "windows_ca_certs_match",
						   NULL };
	static const char *const keys[] = { "url", "creds", "user", "password", "cert", "key", "ca", "token" };
	const char **fields[] = { &conn->url,	  &conn->creds,	 &conn->user,  &conn->password,
				  &conn->tlscert, &conn->tlskey, &conn->tlsca, &conn->token };
	const cJSON *tls_first;
	char *text = NULL;
	size_t len = 0, i;
	cJSON *ctx = NULL;
	int rc;

	*owner = NULL;
	rc = xorb_read_file(path, XORB_CONTEXT_MAX, &text, &len, err);
	if (rc == XORB_ENOTFOUND)
		return xorb_error_set(err, rc, "context file %s does not exist (natscli: nats context ls; give a name or a path)",
				      path);
	if (rc)
		return xorb_error_prefix(err, "context: ");
	rc = xorb_json_parse_strict(text, len, path, &ctx, err);
	free(text);
	if (rc)
		return rc;
	if (!cJSON_IsObject(ctx)) {
		cJSON_Delete(ctx);
		return xorb_error_set(err, XORB_EINVAL, "context %s: not a JSON object", path);
	}
	for (i = 0; unsupported[i]; i++) {
		const char *v = NULL;

		rc = setting(ctx, path, unsupported[i], &v, err);
		if (!rc && v)
			rc = xorb_error_set(err, XORB_EUNSUPPORTED,
					    !strcmp(unsupported[i], "inbox_prefix")
						    ? "context %s sets \"%s\": xorb-dr uses its own inbox prefix, _XORB_INBOX, the one the backup user may subscribe to (README: Security); remove it from a context made for xorb-dr"
						    : "context %s sets \"%s\", which xorb-dr does not support: use a context without it, or the options (--creds, --tlscert, ...)",
					    path, unsupported[i]);
		if (rc) {
			cJSON_Delete(ctx);
			return rc;
		}
	}
	tls_first = cJSON_GetObjectItemCaseSensitive(ctx, "tls_first");
	if (cJSON_IsTrue(tls_first)) {
		cJSON_Delete(ctx);
		return xorb_error_set(err, XORB_EUNSUPPORTED, "context %s sets \"tls_first\", which xorb-dr does not support", path);
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = NULL;

		rc = setting(ctx, path, keys[i], &v, err);
		if (rc) {
			cJSON_Delete(ctx);
			return rc;
		}
		if (v && !(keep & (1u << i)))
			*fields[i] = v;
	}
	*owner = ctx;
	return XORB_OK;
}

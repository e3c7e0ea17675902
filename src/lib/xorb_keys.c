/* The operator's keys directory: see xorb_keys.h. */
#include "xorb_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xorb_buf.h"
#include "xorb_json.h"
#include "xorb_jwt.h"
#include "xorb_names.h"

int xorb_read_file(const char *path, size_t max, char **data, size_t *len, struct xorb_error *err)
{
	struct xorb_buf b;
	char tmp[65536];
	ssize_t n;
	int fd;

	*data = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return xorb_error_set(err, errno == ENOENT ? XORB_ENOTFOUND : XORB_EIO, "cannot open %s: %s", path,
				      strerror(errno));
	xorb_buf_init(&b);
	while ((n = read(fd, tmp, sizeof(tmp))) > 0) {
		if (b.len + (size_t)n > max) {
			close(fd);
			xorb_buf_wipe_release(&b);
			return xorb_error_set(err, XORB_EINVAL, "%s is larger than %zu bytes", path, max);
		}
		if (xorb_buf_append(&b, tmp, (size_t)n)) {
			close(fd);
			xorb_buf_wipe_release(&b);
			return xorb_error_set(err, XORB_ENOMEM, "out of memory");
		}
	}
	explicit_bzero(tmp, sizeof(tmp));
	close(fd);
	if (n < 0) {
		xorb_buf_wipe_release(&b);
		return xorb_error_set(err, XORB_EIO, "cannot read %s: %s", path, strerror(errno));
	}
	*len = b.len;
	*data = xorb_buf_detach(&b);
	return *data ? XORB_OK : xorb_error_set(err, XORB_ENOMEM, "out of memory");
}

static int load_seed(const char *dir, const char *file, struct xorb_nkey **out, struct xorb_error *err)
{
	char path[4200], *text = NULL;
	size_t len = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	rc = xorb_read_file(path, 4096, &text, &len, err);
	if (rc)
		return rc;
	text[strcspn(text, "\r\n")] = '\0';
	rc = xorb_nkey_from_seed(text, out, err);
	explicit_bzero(text, len);
	free(text);
	if (rc)
		xorb_error_prefix(err, "%s: ", path);
	return rc;
}

static int save_seed(const char *dir, const char *file, const struct xorb_nkey *k, struct xorb_error *err)
{
	char path[4200], seed[XORB_NKEY_SEED_LEN + 2];
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	xorb_nkey_seed(k, seed);
	strcat(seed, "\n");
	rc = xorb_secret_write(path, seed, strlen(seed), 0, err);
	explicit_bzero(seed, sizeof(seed));
	return rc;
}

static int sign(cJSON *claims, const struct xorb_nkey *issuer, char **jwt, struct xorb_error *err)
{
	int rc;

	if (!claims)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory building claims");
	rc = xorb_jwt_encode(claims, issuer, (int64_t)time(NULL), jwt, err);
	cJSON_Delete(claims);
	return rc;
}

int xorb_keys_account_jwt(const struct xorb_keys *k, const char *account_pub,
			  const char *account_name, const cJSON *limits, const cJSON *revocations,
			  char **jwt, struct xorb_error *err)
{
	cJSON *c = xorb_jwt_account_claims(account_name, account_pub);
	cJSON *nats = c ? cJSON_GetObjectItemCaseSensitive(c, "nats") : NULL;

	if (nats && limits) {
		cJSON_DeleteItemFromObjectCaseSensitive(nats, "limits");
		cJSON_AddItemToObject(nats, "limits", cJSON_Duplicate(limits, 1));
	}
	if (nats && cJSON_GetArraySize(revocations) > 0)
		cJSON_AddItemToObject(nats, "revocations", cJSON_Duplicate(revocations, 1));
	return sign(c, k->signing, jwt, err);
}

int xorb_keys_user_jwt(const struct xorb_nkey *account, const char *user_name,
		       const struct xorb_nkey *user, const cJSON *perms, char **jwt,
		       struct xorb_error *err)
{
	char upub[XORB_NKEY_PUBLIC_LEN + 1];
	cJSON *c, *nats, *it;

	xorb_nkey_public(user, upub);
	c = xorb_jwt_user_claims(user_name, upub, NULL);
	if (c && perms) {
		nats = cJSON_GetObjectItemCaseSensitive(c, "nats");
		cJSON_ArrayForEach(it, perms) {
			cJSON_DeleteItemFromObjectCaseSensitive(nats, it->string);
			cJSON_AddItemToObject(nats, it->string, cJSON_Duplicate(it, 1));
		}
	}
	return sign(c, account, jwt, err);
}

int xorb_keys_delete_jwt(const struct xorb_keys *k, const char *const *accounts, size_t n,
			 char **jwt, struct xorb_error *err)
{
	cJSON *c = cJSON_CreateObject(), *nats, *arr;
	size_t i;

	if (!c)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	cJSON_AddStringToObject(c, "sub", k->operator_pub);
	nats = cJSON_AddObjectToObject(c, "nats");
	arr = cJSON_AddArrayToObject(nats, "accounts");
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(accounts[i]));
	xorb_json_add_int(nats, "version", 2);
	/* the claims delete must be signed by the operator itself */
	return sign(c, k->op, jwt, err);
}

static int write_text(const char *dir, const char *file, const char *text, int secret,
		      struct xorb_error *err)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (secret)
		return xorb_secret_write(path, text, strlen(text), 0, err);
	f = fopen(path, "wx");
	if (!f)
		return xorb_error_set(err, XORB_EIO, "cannot create %s: %s", path, strerror(errno));
	fputs(text, f);
	if (fclose(f))
		return xorb_error_set(err, XORB_EIO, "cannot write %s: %s", path, strerror(errno));
	return XORB_OK;
}

int xorb_keys_init(const char *dir_in, const char *operator_name, struct xorb_error *err)
{
	struct xorb_nkey *op = NULL, *signing = NULL, *sys = NULL, *sysuser = NULL;
	char dir[PATH_MAX], path[PATH_MAX + 64], op_pub[60], sg_pub[60], sys_pub[60], su_pub[60];
	char *op_jwt = NULL, *sys_jwt = NULL, *su_jwt = NULL, *creds = NULL;
	const char *signing_keys[2];
	struct xorb_buf conf;
	cJSON *c;
	int rc;

	xorb_buf_init(&conf);
	if (mkdir(dir_in, 0700) && errno != EEXIST)
		return xorb_error_set(err, XORB_EIO, "cannot create keys directory %s: %s", dir_in, strerror(errno));
	if (!realpath(dir_in, dir))
		return xorb_error_set(err, XORB_EIO, "cannot resolve %s: %s", dir_in, strerror(errno));
	chmod(dir, 0700);
	snprintf(path, sizeof(path), "%s/operator.nk", dir);
	if (access(path, F_OK) == 0)
		return xorb_error_set(err, XORB_EEXIST,
				      "%s already holds an operator (operator.nk): refusing to overwrite keys; use another --keys directory",
				      dir);
	rc = xorb_nkey_generate(XORB_NKEY_OPERATOR, &op, err);
	if (!rc)
		rc = xorb_nkey_generate(XORB_NKEY_OPERATOR, &signing, err);
	if (!rc)
		rc = xorb_nkey_generate(XORB_NKEY_ACCOUNT, &sys, err);
	if (!rc)
		rc = xorb_nkey_generate(XORB_NKEY_USER, &sysuser, err);
	if (rc)
		goto out;
	xorb_nkey_public(op, op_pub);
	xorb_nkey_public(signing, sg_pub);
	xorb_nkey_public(sys, sys_pub);
	xorb_nkey_public(sysuser, su_pub);
	signing_keys[0] = sg_pub;
	signing_keys[1] = NULL;
	rc = sign(xorb_jwt_operator_claims(operator_name, op_pub, signing_keys, sys_pub), op, &op_jwt, err);
	if (!rc)
		rc = sign(xorb_jwt_account_claims("SYS", sys_pub), signing, &sys_jwt, err);
	if (!rc) {
		c = xorb_jwt_user_claims("sys", su_pub, NULL);
		rc = sign(c, sys, &su_jwt, err);
	}
	if (!rc)
		rc = xorb_creds_format(su_jwt, sysuser, &creds, err);
	if (rc)
		goto out;
	snprintf(path, sizeof(path), "%s/accounts", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/creds", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/jwt", dir);
	mkdir(path, 0700);
	rc = save_seed(dir, "operator.nk", op, err);
	if (!rc)
		rc = save_seed(dir, "operator-signing.nk", signing, err);
	if (!rc)
		rc = save_seed(dir, "sys-account.nk", sys, err);
	if (!rc)
		rc = write_text(dir, "operator.jwt", op_jwt, 0, err);
	if (!rc)
		rc = write_text(dir, "sys-account.jwt", sys_jwt, 0, err);
	if (!rc)
		rc = write_text(dir, "sys.creds", creds, 1, err);
	if (rc)
		goto out;
	xorb_buf_printf(&conf,
			"# nats-server configuration fragment written by xorb-state init: include it from\n"
			"# the server configuration (include \"%s/resolver.conf\").\n"
			"operator: \"%s/operator.jwt\"\n"
			"system_account: %s\n"
			"resolver: {\n"
			"  type: full\n"
			"  dir: \"%s/jwt\"\n"
			"  allow_delete: true\n"
			"  interval: \"2m\"\n"
			"}\n"
			"resolver_preload: {\n"
			"  %s: \"%s\"\n"
			"}\n",
			dir, dir, sys_pub, dir, sys_pub, sys_jwt);
	rc = conf.data ? write_text(dir, "resolver.conf", conf.data, 0, err) : xorb_error_set(err, XORB_ENOMEM, "out of memory");
out:
	if (creds) {
		explicit_bzero(creds, strlen(creds));
		free(creds);
	}
	free(op_jwt);
	free(sys_jwt);
	free(su_jwt);
	xorb_buf_release(&conf);
	xorb_nkey_free(op);
	xorb_nkey_free(signing);
	xorb_nkey_free(sys);
	xorb_nkey_free(sysuser);
	return rc;
}

int xorb_keys_open(const char *dir, struct xorb_keys **out, struct xorb_error *err)
{
	struct xorb_keys *k = calloc(1, sizeof(*k));
	struct xorb_nkey *sys = NULL;
	int rc;

	*out = NULL;
	if (!k)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	if (!realpath(dir, k->dir)) {
		free(k);
		return xorb_error_set(err, XORB_ENOTFOUND,
				      "keys directory %s: %s (create one with xorb-state init --keys %s)", dir,
				      strerror(errno), dir);
	}
	rc = load_seed(k->dir, "operator.nk", &k->op, err);
	if (!rc)
		rc = load_seed(k->dir, "operator-signing.nk", &k->signing, err);
	if (!rc)
		rc = load_seed(k->dir, "sys-account.nk", &sys, err);
	if (rc) {
		if (rc == XORB_ENOTFOUND)
			xorb_error_prefix(err, "keys directory %s is incomplete (xorb-state init makes one): ", k->dir);
		xorb_keys_free(k);
		xorb_nkey_free(sys);
		return rc;
	}
	if (xorb_nkey_type(k->op) != XORB_NKEY_OPERATOR || xorb_nkey_type(k->signing) != XORB_NKEY_OPERATOR ||
	    xorb_nkey_type(sys) != XORB_NKEY_ACCOUNT) {
		xorb_keys_free(k);
		xorb_nkey_free(sys);
		return xorb_error_set(err, XORB_ECORRUPT, "keys directory %s holds keys of the wrong type", dir);
	}
	xorb_nkey_public(k->op, k->operator_pub);
	xorb_nkey_public(k->signing, k->signing_pub);
	xorb_nkey_public(sys, k->sys_account_pub);
	xorb_nkey_free(sys);
	*out = k;
	return XORB_OK;
}

void xorb_keys_free(struct xorb_keys *k)
{
	if (!k)
		return;
	xorb_nkey_free(k->op);
	xorb_nkey_free(k->signing);
	free(k);
}

int xorb_keys_account(const struct xorb_keys *k, const char *tenant, int create,
		      struct xorb_nkey **out, struct xorb_error *err)
{
	char file[128];
	int rc;

	*out = NULL;
	rc = xorb_tenant_check(tenant, err);
	if (rc)
		return rc;
	snprintf(file, sizeof(file), "accounts/%s.nk", tenant);
	rc = load_seed(k->dir, file, out, err);
	if (rc != XORB_ENOTFOUND)
		return rc;
	if (!create)
		return xorb_error_set(err, XORB_ENOTFOUND, "tenant %s has no account key in %s/accounts", tenant, k->dir);
	rc = xorb_nkey_generate(XORB_NKEY_ACCOUNT, out, err);
	if (!rc)
		rc = save_seed(k->dir, file, *out, err);
	if (rc) {
		xorb_nkey_free(*out);
		*out = NULL;
	}
	return rc;
}

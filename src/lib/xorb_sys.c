/* $SYS.REQ account resolver requests: see xorb_sys.h. */
#include "xorb_sys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xorb_json.h"
#include "xorb_nats.h"
#include "xorb_util.h"

/* Publishes body to subject and gathers every reply: waits up to first_ms for
 * the first, then until quiet_ms pass without another. fn judges each. */
static int gather(natsConnection *nc, const char *subject, const char *body, int first_ms, int quiet_ms,
		  int (*fn)(void *arg, const char *data, int len, struct xorb_error *err), void *arg,
		  int *count, struct xorb_error *err)
{
	natsSubscription *sub = NULL;
	char inbox[128];
	natsStatus s;
	int n = 0, rc = XORB_OK;

	s = xorb_nats_inbox(inbox, sizeof(inbox));
	if (s == NATS_OK)
		s = natsConnection_SubscribeSync(&sub, nc, inbox);
	if (s == NATS_OK)
		s = natsConnection_PublishRequestString(nc, subject, inbox, body ? body : "");
	if (s == NATS_OK)
		s = natsConnection_Flush(nc);
	if (s != NATS_OK) {
		rc = xorb_error_set(err, XORB_ENATS, "%s: %s", subject, natsStatus_GetText(s));
		goto out;
	}
	for (;;) {
		natsMsg *m = NULL;

		s = natsSubscription_NextMsg(&m, sub, n ? quiet_ms : first_ms);
		if (s == NATS_TIMEOUT)
			break;
		if (s != NATS_OK) {
			rc = xorb_error_set(err, XORB_ENATS, "%s: %s", subject, natsStatus_GetText(s));
			break;
		}
		n++;
		if (!rc && fn)
			rc = fn(arg, natsMsg_GetData(m), natsMsg_GetDataLength(m), err);
		natsMsg_Destroy(m);
	}
out:
	xorb_nats_sub_free(nc, sub);
	if (count)
		*count = n;
	return rc;
}

/* {"data":{"code":200,"message":…}} or {"error":{"code":…,"description":…}} */
static int judge(void *arg, const char *data, int len, struct xorb_error *err)
{
	const char *what = arg;
	cJSON *j = NULL, *e, *d;
	int rc;

	rc = xorb_json_parse(data, (size_t)len, "the server's reply", &j, err);
	if (rc)
		return rc;
	e = cJSON_GetObjectItemCaseSensitive(j, "error");
	d = cJSON_GetObjectItemCaseSensitive(j, "data");
	if (cJSON_IsObject(e))
		rc = xorb_error_set(err, XORB_ENATS, "%s: the server refused: %s (code %lld)", what,
				    xorb_json_str(e, "description", "?"), (long long)xorb_json_int(e, "code", 0));
	else if (cJSON_IsObject(d) && xorb_json_int(d, "code", 200) != 200)
		rc = xorb_error_set(err, XORB_ENATS, "%s: the server answered %lld: %s", what,
				    (long long)xorb_json_int(d, "code", 0), xorb_json_str(d, "message", "?"));
	cJSON_Delete(j);
	return rc;
}

int xorb_sys_claims_update(natsConnection *sys, const char *account_pub, const char *jwt,
			   int *servers, struct xorb_error *err)
{
	char what[160];
	int n = 0, rc;

	snprintf(what, sizeof(what), "pushing the JWT of account %s", account_pub);
	rc = gather(sys, "$SYS.REQ.CLAIMS.UPDATE", jwt, 5000, 500, judge, what, &n, err);
	if (!rc && n == 0)
		rc = xorb_error_set(err, XORB_ETIMEOUT,
				    "%s: no server answered $SYS.REQ.CLAIMS.UPDATE: is the server in operator mode with the full resolver (resolver.conf), and are these the system user's credentials?",
				    what);
	if (servers)
		*servers = n;
	return rc;
}

struct lookup {
	char *jwt;
};

static int take_jwt(void *arg, const char *data, int len, struct xorb_error *err)
{
	struct lookup *l = arg;

	if (!l->jwt && len > 0 && len < (1 << 20) && data[0] != '{')
		l->jwt = strndup(data, (size_t)len);
	return XORB_OK;
}

int xorb_sys_claims_lookup(natsConnection *sys, const char *account_pub, char **jwt,
			   struct xorb_error *err)
{
	struct lookup l = { NULL };
	char subj[160];
	int rc;

	*jwt = NULL;
	snprintf(subj, sizeof(subj), "$SYS.REQ.ACCOUNT.%s.CLAIMS.LOOKUP", account_pub);
	rc = gather(sys, subj, "", 2000, 300, take_jwt, &l, NULL, err);
	if (rc) {
		free(l.jwt);
		return rc;
	}
	if (!l.jwt)
		return xorb_error_set(err, XORB_ENOTFOUND, "the server holds no JWT for account %s", account_pub);
	*jwt = l.jwt;
	return XORB_OK;
}

struct list {
	char **v;
	size_t n, cap;
	int oom;
};

static int take_list(void *arg, const char *data, int len, struct xorb_error *err)
{
	struct list *l = arg;
	cJSON *j = NULL, *it;
	size_t k;

	if (xorb_json_parse(data, (size_t)len, "CLAIMS.LIST reply", &j, err))
		return XORB_ECORRUPT;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "data")) {
		if (!cJSON_IsString(it))
			continue;
		for (k = 0; k < l->n && strcmp(l->v[k], it->valuestring); k++)
			;
		if (k < l->n)
			continue; /* another server's copy of the same list */
		if (l->n == l->cap) {
			char **nv = realloc(l->v, (l->cap ? l->cap * 2 : 16) * sizeof(char *));

			if (!nv) {
				l->oom = 1;
				break;
			}
			l->v = nv;
			l->cap = l->cap ? l->cap * 2 : 16;
		}
		if ((l->v[l->n] = strdup(it->valuestring)))
			l->n++;
	}
	cJSON_Delete(j);
	return XORB_OK;
}

int xorb_sys_claims_list(natsConnection *sys, char ***accounts, size_t *n, struct xorb_error *err)
{
	struct list l = { NULL, 0, 0, 0 };
	int count = 0, rc;

	*accounts = NULL;
	*n = 0;
	rc = gather(sys, "$SYS.REQ.CLAIMS.LIST", "", 3000, 300, take_list, &l, &count, err);
	if (!rc && !count)
		rc = xorb_error_set(err, XORB_ETIMEOUT,
				    "no server answered $SYS.REQ.CLAIMS.LIST: the server needs the full account resolver (resolver.conf from xorb-state init)");
	if (!rc && l.oom)
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
	if (rc) {
		xorb_strv_free(l.v, l.n);
		return rc;
	}
	*accounts = l.v;
	*n = l.n;
	return XORB_OK;
}

int xorb_sys_claims_delete(natsConnection *sys, const char *delete_jwt, int *servers,
			   struct xorb_error *err)
{
	int n = 0, rc = gather(sys, "$SYS.REQ.CLAIMS.DELETE", delete_jwt, 5000, 500, judge,
			       "deleting accounts", &n, err);

	if (!rc && !n)
		rc = xorb_error_set(err, XORB_ETIMEOUT,
				    "no server answered $SYS.REQ.CLAIMS.DELETE (the resolver needs allow_delete: true)");
	if (servers)
		*servers = n;
	return rc;
}

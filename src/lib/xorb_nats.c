/* NATS connection and JetStream API requests: see xorb_nats.h. */
#include "xorb_nats.h"
#include "xorb_nkeys.h"
#include "xorb_url.h"
#include "xorb_util.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int status_error(struct xorb_error *err, natsStatus s, const char *what, const char *url)
{
	const char *last = nats_GetLastError(NULL);
	const char *hint = "";

	/* nats.c prefixes its text with "(file.c:line): " */
	if (last && last[0] == '(' && strstr(last, "): "))
		last = strstr(last, "): ") + 3;
	/* in case nats.c ever quotes a URL: no password in our messages */
	if (last)
		last = xorb_url_shown(last, false);

	switch (s) {
	case NATS_NO_SERVER:
		hint = ": is nats-server running there and the address right? (set --server or NATS_URL)";
		break;
	case NATS_CONNECTION_AUTH_FAILED:
	case NATS_NOT_PERMITTED:
		hint = ": the server rejected the credentials (check --creds / --user / --password)";
		return xorb_error_set(err, XORB_EAUTH, "%s %s failed: %s%s", what, xorb_url_shown(url, true),
				      last && *last ? last : natsStatus_GetText(s), hint);
	case NATS_SSL_ERROR:
		hint = ": TLS handshake failed (check --tlsca for the server's CA, and the certificate's host name)";
		break;
	default:
		break;
	}
	return xorb_error_set(err, XORB_ENATS, "%s %s failed: %s%s", what, xorb_url_shown(url, true),
			      last && *last ? last : natsStatus_GetText(s), hint);
}

static natsStatus jwt_cb(char **jwt, char **errtxt, void *closure)
{
	const struct xorb_conn_opts *o = closure;

	*jwt = strdup(o->user_jwt);
	return *jwt ? NATS_OK : NATS_NO_MEMORY;
}

static natsStatus sig_cb(char **errtxt, unsigned char **sig, int *siglen, const char *nonce, void *closure)
{
	const struct xorb_conn_opts *o = closure;

	*sig = malloc(XORB_NKEY_SIG_LEN);
	if (!*sig)
		return NATS_NO_MEMORY;
	if (xorb_nkey_sign(o->user_key, nonce, strlen(nonce), *sig, NULL)) {
		free(*sig);
		*sig = NULL;
		*errtxt = strdup("cannot sign the server's nonce");
		return NATS_ERR;
	}
	*siglen = XORB_NKEY_SIG_LEN;
	return NATS_OK;
}

natsStatus xorb_nats_inbox(char *out, size_t len)
{
	natsInbox *ib = NULL;
	natsStatus s = natsInbox_Create(&ib);
	const char *id;

	if (s != NATS_OK)
		return s;
	/* nats.c makes "_INBOX.<nuid>": the same unique token, our prefix */
	id = strrchr((const char *)ib, '.');
	if ((size_t)snprintf(out, len, "%s.%s", XORB_INBOX_PREFIX, id ? id + 1 : (const char *)ib) >= len)
		s = NATS_INSUFFICIENT_BUFFER;
	natsInbox_Destroy(ib);
	return s;
}

int xorb_nats_connect(const struct xorb_conn_opts *o, natsConnection **nc, struct xorb_error *err)
{
	const char *url = o->url && *o->url ? o->url : "nats://127.0.0.1:4222";
	natsOptions *opts = NULL;
	natsStatus s;

	*nc = NULL;
	s = nats_Open(-1);
	if (s == NATS_OK)
		s = natsOptions_Create(&opts);
	/* one URL or a comma-separated list of them (a cluster's nodes) */
	if (s == NATS_OK) {
		char list[2048], *tok, *save = NULL;
		const char *servers[32];
		int n = 0;

		snprintf(list, sizeof(list), "%s", url);
		for (tok = strtok_r(list, ", ", &save); tok && n < 32; tok = strtok_r(NULL, ", ", &save))
			servers[n++] = tok;
		s = n ? natsOptions_SetServers(opts, servers, n) : NATS_INVALID_ARG;
	}
	if (s == NATS_OK)
		s = natsOptions_SetName(opts, "xorb-dr " XORB_VERSION);
	if (s == NATS_OK)
		s = natsOptions_SetCustomInboxPrefix(opts, XORB_INBOX_PREFIX);
	if (s == NATS_OK)
		s = natsOptions_SetAllowReconnect(opts, o->allow_reconnect != 0);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(opts, 5000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxPendingMsgs(opts, 1 << 20);
	if (s == NATS_OK && o->user_jwt && o->user_key)
		s = natsOptions_SetUserCredentialsCallbacks(opts, jwt_cb, (void *)o, sig_cb, (void *)o);
	else if (s == NATS_OK && o->creds && *o->creds)
		s = natsOptions_SetUserCredentialsFromFiles(opts, o->creds, NULL);
	if (s == NATS_OK && o->user && *o->user)
		s = natsOptions_SetUserInfo(opts, o->user, o->password ? o->password : "");
	if (s == NATS_OK && o->token && *o->token)
		s = natsOptions_SetToken(opts, o->token);
	if (s == NATS_OK && (o->tlsca || o->tlscert)) {
		s = natsOptions_SetSecure(opts, true);
		if (s == NATS_OK && o->tlsca && *o->tlsca)
			s = natsOptions_LoadCATrustedCertificates(opts, o->tlsca);
		if (s == NATS_OK && o->tlscert && *o->tlscert)
			s = natsOptions_LoadCertificatesChain(opts, o->tlscert, o->tlskey ? o->tlskey : o->tlscert);
	}
	if (s != NATS_OK) {
		natsOptions_Destroy(opts);
		return status_error(err, s, "setting up the connection to", url);
	}
	s = natsConnection_Connect(nc, opts);
	natsOptions_Destroy(opts);
	if (s != NATS_OK) {
		*nc = NULL;
		return status_error(err, s, "connecting to", url);
	}
	return XORB_OK;
}

void xorb_nats_sub_free(natsConnection *nc, natsSubscription *sub)
{
	if (!sub)
		return;
	natsSubscription_Unsubscribe(sub);
	natsConnection_FlushTimeout(nc, 2000);
	natsSubscription_Destroy(sub);
}

void xorb_nats_close(natsConnection *nc)
{
	if (nc) {
		natsConnection_Close(nc);
		natsConnection_Destroy(nc);
	}
}

int xorb_js_request(natsConnection *nc, const char *subject, const char *body, int timeout_ms,
		    cJSON **reply, char **raw, int *api_err, struct xorb_error *err)
{
	natsMsg *msg = NULL;
	natsStatus s;
	cJSON *j = NULL, *e;
	int rc;

	if (reply)
		*reply = NULL;
	if (raw)
		*raw = NULL;
	if (api_err)
		*api_err = 0;
	if (timeout_ms <= 0)
		timeout_ms = 10000;
	s = natsConnection_Request(&msg, nc, subject, body, body ? (int)strlen(body) : 0, timeout_ms);
	if (s == NATS_NO_RESPONDERS)
		return xorb_error_set(err, XORB_ENATS,
				      "no JetStream answered %s: JetStream is not enabled for this account, or the server has it off",
				      subject);
	if (s == NATS_TIMEOUT)
		return xorb_error_set(err, XORB_ETIMEOUT,
				      "no reply to %s within %d ms: the server may be overloaded, a JetStream cluster may be electing a meta leader (a node just went down: try again in a few seconds), or the credentials lack permission to publish to it",
				      subject, timeout_ms);
	if (s != NATS_OK)
		return xorb_error_set(err, XORB_ENATS, "request %s failed: %s", subject,
				      natsStatus_GetText(s));
	rc = xorb_json_parse(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg),
			     "the JetStream API reply", &j, err);
	if (rc) {
		xorb_error_prefix(err, "%s: ", subject);
		goto out;
	}
	e = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (cJSON_IsObject(e)) {
		int code = (int)xorb_json_int(e, "code", 0);
		int ec = (int)xorb_json_int(e, "err_code", 0);

		if (api_err)
			*api_err = ec;
		rc = xorb_error_set(err, code == 404 ? XORB_ENOTFOUND : XORB_ENATS,
				    "%s: %s (code %d, err_code %d)", subject,
				    xorb_json_str(e, "description", "no description"), code, ec);
		goto out;
	}
	if (raw) {
		*raw = strndup(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg));
		if (!*raw) {
			rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (reply) {
		*reply = j;
		j = NULL;
	}
out:
	cJSON_Delete(j);
	natsMsg_Destroy(msg);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Pages through an API that answers {"total","offset","limit",<key>:[...]}. */
static int paged_names(natsConnection *nc, const char *subject, const char *key, int timeout_ms,
		       char ***names, size_t *count, struct xorb_error *err)
{
	char **v = NULL, body[64];
	size_t n = 0, cap = 0;
	int64_t total = 0;
	int rc = XORB_OK;

	do {
		cJSON *reply, *arr, *it;
		size_t before = n;

		snprintf(body, sizeof(body), "{\"offset\":%zu}", n);
		rc = xorb_js_request(nc, subject, body, timeout_ms, &reply, NULL, NULL, err);
		if (rc)
			break;
		total = xorb_json_int(reply, "total", 0);
		arr = cJSON_GetObjectItemCaseSensitive(reply, key);
		cJSON_ArrayForEach(it, arr) {
			if (!cJSON_IsString(it))
				continue;
			if (n == cap) {
				char **nv = realloc(v, (cap ? cap * 2 : 64) * sizeof(*v));

				if (!nv) {
					rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
					break;
				}
				v = nv;
				cap = cap ? cap * 2 : 64;
			}
			if (!(v[n] = strdup(it->valuestring))) {
				rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
				break;
			}
			n++;
		}
		cJSON_Delete(reply);
		if (n == before)
			break; /* no progress: do not loop forever on a confused server */
	} while (!rc && (int64_t)n < total && n < 1000000);
	if (rc) {
		xorb_strv_free(v, n);
		return rc;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*names = v;
	*count = n;
	return XORB_OK;
}

int xorb_js_stream_names(natsConnection *nc, int timeout_ms, char ***names, size_t *count,
			 struct xorb_error *err)
{
	return paged_names(nc, "$JS.API.STREAM.NAMES", "streams", timeout_ms, names, count, err);
}

int xorb_nats_connect_retry_auth(const struct xorb_conn_opts *o, int retry_ms, natsConnection **nc,
				 struct xorb_error *err)
{
	int rc, waited = 0;

	for (;;) {
		rc = xorb_nats_connect(o, nc, err);
		if (rc != XORB_EAUTH || waited >= retry_ms)
			return rc;
		nanosleep(&(struct timespec){ 0, 200 * 1000 * 1000 }, NULL);
		waited += 200;
	}
}

int xorb_js_consumer_names(natsConnection *nc, const char *stream, int timeout_ms,
			   char ***names, size_t *count, struct xorb_error *err)
{
	char subj[512];

	snprintf(subj, sizeof(subj), "$JS.API.CONSUMER.NAMES.%s", stream);
	return paged_names(nc, subj, "consumers", timeout_ms, names, count, err);
}

int xorb_js_stream_info(natsConnection *nc, const char *stream, int timeout_ms, cJSON **info,
			struct xorb_error *err)
{
	char subj[512];

	snprintf(subj, sizeof(subj), "$JS.API.STREAM.INFO.%s", stream);
	return xorb_js_request(nc, subj, NULL, timeout_ms, info, NULL, NULL, err);
}

int xorb_js_consumer_info(natsConnection *nc, const char *stream, const char *name, int timeout_ms,
			  cJSON **info, struct xorb_error *err)
{
	char subj[600];
	int api = 0, rc;

	snprintf(subj, sizeof(subj), "$JS.API.CONSUMER.INFO.%s.%s", stream, name);
	rc = xorb_js_request(nc, subj, NULL, timeout_ms, info, NULL, &api, err);
	if (api == XORB_JS_CONSUMER_NOT_FOUND)
		rc = XORB_ENOTFOUND;
	return rc;
}

int xorb_js_stream_delete(natsConnection *nc, const char *stream, int timeout_ms,
			  struct xorb_error *err)
{
	char subj[512];

	snprintf(subj, sizeof(subj), "$JS.API.STREAM.DELETE.%s", stream);
	return xorb_js_request(nc, subj, NULL, timeout_ms, NULL, NULL, NULL, err);
}

/* nats.c 3.4.1 does not expose the server's INFO: read it from a short-lived
 * plain TCP connection (the server sends INFO before any TLS upgrade). */
int xorb_nats_server_info(natsConnection *nc, cJSON **info, struct xorb_error *err)
{
	char url[512], host[256], port[16], buf[8192];
	struct addrinfo hints, *ai = NULL;
	const char *p, *h, *colon;
	size_t got = 0;
	int fd = -1, rc;

	*info = NULL;
	if (natsConnection_GetConnectedUrl(nc, url, sizeof(url)) != NATS_OK)
		return xorb_error_set(err, XORB_ENATS, "not connected");
	p = strstr(url, "://");
	h = p ? p + 3 : url;
	if (strchr(h, '@'))
		h = strchr(h, '@') + 1;
	colon = strrchr(h, ':');
	if (!colon || (size_t)(colon - h) >= sizeof(host))
		return xorb_error_set(err, XORB_EINVAL, "cannot parse server URL \"%s\"", xorb_url_shown(url, true));
	snprintf(host, sizeof(host), "%.*s", (int)(colon - h), h);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	snprintf(port, sizeof(port), "%.*s", (int)strcspn(colon + 1, "/"), colon + 1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &ai) || !ai)
		return xorb_error_set(err, XORB_ENATS, "cannot resolve %s", host);
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		struct timeval tv = { 5, 0 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen)) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return xorb_error_set(err, XORB_ENATS, "cannot connect to %s:%s to read INFO", host, port);
	while (got < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(buf, '\n', got))
			break;
	}
	close(fd);
	buf[got] = '\0';
	if (strncmp(buf, "INFO ", 5) || !strchr(buf, '\n'))
		return xorb_error_set(err, XORB_ENATS, "server at %s:%s sent no INFO line", host, port);
	rc = xorb_json_parse(buf + 5, strcspn(buf + 5, "\r\n"), "the server INFO", info, err);
	return rc;
}

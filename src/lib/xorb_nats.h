/*
 * NATS connection set-up and JetStream API requests.
 *
 * nats.c has no snapshot/restore API and its JetStream API hides the raw
 * server JSON, so the toolkit speaks $JS.API requests itself and keeps the
 * server's documents as text where they are carried (backup.json).
 */
#ifndef XORB_NATS_H
#define XORB_NATS_H

#include <nats/nats.h>
#include <stdbool.h>

#include "xorb_error.h"
#include "xorb_json.h"
#include "xorb_util.h" /* xorb_strv_free for the name lists */

struct xorb_conn_opts {
	const char *url;      /* may be a comma-separated list */
	const char *creds;    /* .creds file */
	const char *user, *password;
	const char *tlscert, *tlskey, *tlsca;
	const char *token;    /* an authentication token (from a natscli context) */
	int timeout_ms;       /* API request timeout; 0 = 10000 */
	/* in-memory credentials (instead of a .creds file): the user JWT and
	 * the user's nkey, which signs the server's nonce; both borrowed */
	const char *user_jwt;
	const struct xorb_nkey *user_key;
	int allow_reconnect;
};

struct xorb_nkey;

/* Connects (no reconnects: a connection lost mid-operation fails it cleanly).
 * *nc is owned by the caller: xorb_nats_close(). */
int xorb_nats_connect(const struct xorb_conn_opts *o, natsConnection **nc, struct xorb_error *err);
void xorb_nats_close(natsConnection *nc);

/* xorb_nats_connect, retrying a refused login (XORB_EAUTH) every 200 ms for
 * up to retry_ms: nats-server 2.9.10 (also seen on 2.10.27) now and then
 * refuses a valid first login right after accounts were (re)loaded. For
 * operator-mode administration only, where the credentials were just made. */
int xorb_nats_connect_retry_auth(const struct xorb_conn_opts *o, int retry_ms, natsConnection **nc,
				 struct xorb_error *err);

/* Unsubscribes and frees a subscription safely while the server may still be
 * sending to it: the flush is a round trip, so the connection's reader thread
 * has handled every message of that subscription before it is freed (nats.c
 * 3.4.1 can otherwise use a freed subscription). NULL-safe. */
void xorb_nats_sub_free(natsConnection *nc, natsSubscription *sub);

/* JetStream API error codes the toolkit reacts to. */
#define XORB_JS_STREAM_NOT_FOUND 10059
#define XORB_JS_CONSUMER_NOT_FOUND 10014
#define XORB_JS_STREAM_NAME_IN_USE 10058
#define XORB_JS_RESTORE_NAME_IN_USE 10130
#define XORB_JS_NOT_ENABLED_ACCOUNT 10039
#define XORB_JS_NOT_ENABLED 10076

/* Sends body (may be NULL) to subject and parses the JSON reply into *reply
 * (caller frees with cJSON_Delete); the raw reply text goes to *raw when raw
 * is not NULL (caller frees). An API error reply fails with XORB_ENATS
 * (XORB_ENOTFOUND for 404) and the server's description; *api_err (may be
 * NULL) receives the err_code, 0 when there was none. */
int xorb_js_request(natsConnection *nc, const char *subject, const char *body, int timeout_ms,
		    cJSON **reply, char **raw, int *api_err, struct xorb_error *err);

/* Names of all streams of the account (paged STREAM.NAMES), sorted. Caller
 * frees each name and the array. */
int xorb_js_stream_names(natsConnection *nc, int timeout_ms, char ***names, size_t *count,
			 struct xorb_error *err);

/* Names of a stream's consumers (paged CONSUMER.NAMES), sorted. */
int xorb_js_consumer_names(natsConnection *nc, const char *stream, int timeout_ms,
			   char ***names, size_t *count, struct xorb_error *err);

/*
 * The inbox prefix of every xorb connection (natsOptions_SetCustomInboxPrefix:
 * request replies) and of the subjects xorb subscribes to itself (snapshot
 * deliver subjects, restore chunk replies, fetches): the backup user may
 * subscribe to this prefix only, so it never receives what applications
 * deliver to "_INBOX." subjects (the seed's push consumers do).
 */
#define XORB_INBOX_PREFIX "_XORB_INBOX"

/* A fresh inbox subject under XORB_INBOX_PREFIX into out (at least 64
 * bytes). Returns NATS_OK or the nats.c status. */
natsStatus xorb_nats_inbox(char *out, size_t len);

/* STREAM.INFO; XORB_ENOTFOUND when the stream does not exist. */
int xorb_js_stream_info(natsConnection *nc, const char *stream, int timeout_ms, cJSON **info,
			struct xorb_error *err);
/* CONSUMER.INFO; XORB_ENOTFOUND when the consumer does not exist. */
int xorb_js_consumer_info(natsConnection *nc, const char *stream, const char *name, int timeout_ms,
			  cJSON **info, struct xorb_error *err);
int xorb_js_stream_delete(natsConnection *nc, const char *stream, int timeout_ms,
			  struct xorb_error *err);

/* The INFO document of the server the connection reached (version,
 * server_name, cluster, max_payload...). Caller frees *info. */
int xorb_nats_server_info(natsConnection *nc, cJSON **info, struct xorb_error *err);

#endif

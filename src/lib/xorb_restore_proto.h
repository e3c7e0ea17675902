/*
 * The JetStream stream restore protocol (client side), pipelined.
 *
 * begin: $JS.API.STREAM.RESTORE.<stream> with {"config","state"}; the server
 * answers with a deliver subject. write: the snapshot bytes in chunks of at
 * most the server's max_payload, each published WITH a reply subject (a chunk
 * without one silently aborts the restore), several in flight. commit: the
 * empty final message; only then does the server create the stream. abort:
 * stop sending; the server drops the restore after its idle timeout and no
 * stream is created.
 */
#ifndef XORB_RESTORE_PROTO_H
#define XORB_RESTORE_PROTO_H

#include <nats/nats.h>

#include "xorb_error.h"
#include "xorb_json.h"

struct xorb_restorer_opts {
	int chunk_size;	      /* 0: 1 MiB, capped by the server's max_payload */
	int window;	      /* chunks in flight; 0: 16 */
	int api_timeout_ms;   /* 0: 10 s */
	int commit_timeout_ms; /* the final reply; 0: 300 s */
};

struct xorb_restorer;

int xorb_restorer_begin(natsConnection *nc, const char *stream, const char *request,
			size_t len, const struct xorb_restorer_opts *o,
			struct xorb_restorer **out, struct xorb_error *err);
int xorb_restorer_write(struct xorb_restorer *r, const void *data, size_t len,
			struct xorb_error *err);
/* Sends the last chunk and the final message; *reply (may be NULL) receives
 * the server's stream_create_response. Frees r. */
int xorb_restorer_commit(struct xorb_restorer *r, cJSON **reply, struct xorb_error *err);
void xorb_restorer_abort(struct xorb_restorer *r); /* NULL-safe, frees r */

#endif

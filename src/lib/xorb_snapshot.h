/*
 * The JetStream stream snapshot protocol (client side), as nats-server 2.9
 * to 2.15 speak it: request $JS.API.STREAM.SNAPSHOT.<stream> with a private
 * deliver inbox, receive the snapshot as chunks, ack every chunk that has an
 * ack subject as soon as it arrives, take a reply-less chunk with data as the
 * last one (2.12.5+), stop at the empty end-of-snapshot message and honour
 * its status (408/500 from 2.10). The snapshot bytes are the server's own
 * format: a v1 tar up to 2.14, the v2 "NATSARC1" archive from 2.15.
 *
 * The caller gets the server's {"config","state"} (backup.json) before any
 * data, then every chunk in order, on the calling thread. A reader thread
 * takes chunks off the connection meanwhile; when the callbacks (the store)
 * are slower than the server sends, at most 8 MiB wait in memory and the
 * rest in an unlinked temporary file in $TMPDIR (xorb_spool.h).
 */
#ifndef XORB_SNAPSHOT_H
#define XORB_SNAPSHOT_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stdint.h>

#include "xorb_error.h"

struct xorb_snapshot_opts {
	int chunk_size;	     /* bytes per chunk asked of the server; 0 = default;
			      * servers clamp it to 1 KiB..1 MiB */
	int window_size;     /* un-acked bytes the server may send (2.12.5+,
			      * clamped to 1 KiB..32 MiB); 0 = server default */
	int idle_timeout_ms; /* fail when no chunk arrives for this long; 0 = 30 s */
	int api_timeout_ms;  /* the initial request; 0 = 10 s */
	bool no_consumers;
};

#define XORB_SNAPSHOT_CHUNK_DEFAULT (256 * 1024)

struct xorb_snapshot_cb {
	/* backup.json: {"config":…,"state":…} exactly as the server sent them. */
	int (*meta)(void *arg, const char *backup_json, size_t len, struct xorb_error *err);
	int (*data)(void *arg, const void *chunk, size_t len, struct xorb_error *err);
	void *arg;
};

struct xorb_snapshot_stats {
	uint64_t bytes;
	uint64_t chunks;
	uint64_t spooled;    /* bytes that waited in the temporary file */
	uint64_t spool_peak; /* largest backlog in that file */
};

int xorb_snapshot_stream(natsConnection *nc, const char *stream,
			 const struct xorb_snapshot_opts *o, const struct xorb_snapshot_cb *cb,
			 struct xorb_snapshot_stats *stats, struct xorb_error *err);

#endif

/*
 * After a restore into a cluster: every node shows the stream and each
 * backed-up consumer with the recorded state.
 *
 * Why it exists: a JetStream API request reaches every server, and the one
 * that answers is not always the leader. A member of a consumer's group
 * whose Raft node is not created yet answers CONSUMER.INFO with the config
 * and an empty state, and a member of a group without a leader yet answers
 * with its own state (nats-server v2.10.27 jetstream_api.go
 * jsConsumerInfoRequest; the node the client is connected to answers
 * first). Right after a restore succeeded through one node, another node
 * showed the stream without its consumers (2.9.10) or a consumer with
 * num_pending 0 instead of 289 (2.10.27). So the check connects to every
 * node the main connection knows of (natsConnection_GetServers: the URLs
 * given and those the cluster advertises), with the main connection's
 * credentials and TLS options, and asks each one until every answer comes
 * from an elected leader whose online replicas are current and equals the
 * backup's record (docs/nats-server-notes.md P9).
 *
 * A replica that STREAM.INFO or CONSUMER.INFO reports offline (a node that
 * is down: nats-server 2.12+ places replicas on it as long as a quorum is
 * online) is not waited for, and is reported: it holds nothing of the
 * restore until it is back. A known server that cannot be reached is
 * reported too. With TLS, the servers a cluster advertises are reached by
 * the addresses it advertises (usually IPs): a certificate that does not
 * name them makes those nodes unreachable here (warnings) although the main
 * connection works (have the servers advertise names their certificates
 * cover: client_advertise). Not tested with a TLS cluster.
 *
 * Cost: per restored stream, two rounds of one connection per node (each
 * round ends as soon as every node agrees; 0.01-0.9 s measured on loopback).
 */
#ifndef XORB_NODECHECK_H
#define XORB_NODECHECK_H

#include <nats/nats.h>
#include <stdbool.h>

#include "xorb_backup.h"
#include "xorb_manifest.h"
#include "xorb_nats.h"

struct xorb_nodecheck_opts {
	natsConnection *nc;		   /* the main connection */
	const struct xorb_conn_opts *conn; /* its options (url replaced per node); NULL: main only */
	int api_timeout_ms;
	int timeout_ms; /* how long the nodes may take to agree; 0: 60 s */
	xorb_note_fn note;
	void *note_arg;
};

enum xorb_nodecheck_mode {
	/* every answer from an elected leader with its online replicas
	 * current; nothing compared, nothing reported (before the consumers
	 * are reconciled through the main connection) */
	XORB_NODECHECK_LEADERS,
	/* that, and every node shows the backup's messages and each recorded
	 * consumer as recorded; what still differs at the timeout is reported
	 * as warnings naming the node, the consumer and the field */
	XORB_NODECHECK_RECORD,
};

struct xorb_nodecheck_result {
	unsigned nodes;	      /* nodes asked */
	unsigned unreachable; /* known servers that could not be reached (warnings) */
	unsigned offline;     /* replicas reported offline, not checked (warnings) */
	unsigned differ;      /* node/stream or node/consumer pairs still wrong (warnings) */
	double seconds;	      /* until every node agreed, or the timeout */
};

/* Is stream on a cluster: does its STREAM.INFO "cluster" hold "replicas" or
 * a "raft_group"? */
int xorb_nodecheck_clustered(natsConnection *nc, const char *stream, int timeout_ms,
			     bool *clustered, struct xorb_error *err);

/*
 * Checks stream ms and the consumers of record (its consumers.json) through
 * every node (see the top of this file). In XORB_NODECHECK_RECORD mode a
 * consumer that already differs from the record through the main connection
 * (reconciled and reported by xorb_consumers_reconcile) must show the same
 * state as there on every node instead. Returns XORB_OK (what differs is a
 * warning, counted in res), XORB_ECORRUPT for an invalid record, or
 * XORB_ENOMEM.
 */
int xorb_nodecheck_stream(const struct xorb_nodecheck_opts *o, const struct xorb_manifest_stream *ms,
			  const char *record, size_t len, enum xorb_nodecheck_mode mode,
			  struct xorb_nodecheck_result *res, struct xorb_error *err);

#endif

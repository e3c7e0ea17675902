/*
 * A 3-node JetStream cluster on loopback for tests: three nats-server
 * processes (via xt_server_start) with routes between them, each with its own
 * store directory so that a node can be stopped and started again.
 */
#ifndef XT_CLUSTER_H
#define XT_CLUSTER_H

#include "xt_harness.h"

#define XT_CLUSTER_NODES 3

struct xt_cluster {
	struct xt_server node[XT_CLUSTER_NODES];
	int cluster_port[XT_CLUSTER_NODES];
	int client_port[XT_CLUSTER_NODES];
	char name[32];
	char *dir; /* holds the nodes' store directories */
	char urls[512]; /* all client URLs, comma-separated */
};

/* Starts the nodes and waits until JetStream answers on every node (meta
 * leader elected, within 60 s) and an R3 stream can be placed (20 s); a
 * cluster that cannot place one is stopped, its log lines printed, and a new
 * one started (3 tries: 2.10.27 sometimes forms a cluster that never can).
 * 0 or -1 (message on stderr). */
int xt_cluster_start(struct xt_cluster *c, const char *name);
/* Stops one node (SIGTERM) and waits until the others have a meta leader
 * (20 s) / starts it again on the same ports and store. */
void xt_cluster_stop_node(struct xt_cluster *c, int i);
int xt_cluster_start_node(struct xt_cluster *c, int i);
void xt_cluster_stop(struct xt_cluster *c);
/* server_name of node i: "<name>-n<i>" */
void xt_cluster_node_name(const struct xt_cluster *c, int i, char *out, size_t len);

#endif

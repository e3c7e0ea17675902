/* 3-node JetStream cluster for tests: see xt_cluster.h. */
#include "xt_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!bind(fd, (struct sockaddr *)&sa, sizeof(sa)) && !getsockname(fd, (struct sockaddr *)&sa, &len))
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

void xt_cluster_node_name(const struct xt_cluster *c, int i, char *out, size_t len)
{
	snprintf(out, len, "%s-n%d", c->name, i);
}

static int start_node(struct xt_cluster *c, int i)
{
	char conf[2048], store[4200], routes[512] = "", name[64];
	struct xt_server_opts o = { 1, conf, store, c->client_port[i] };
	int k;

	for (k = 0; k < XT_CLUSTER_NODES; k++)
		if (k != i)
			snprintf(routes + strlen(routes), sizeof(routes) - strlen(routes),
				 "    nats-route://127.0.0.1:%d\n", c->cluster_port[k]);
	xt_cluster_node_name(c, i, name, sizeof(name));
	snprintf(conf, sizeof(conf),
		 "server_name: \"%s\"\n"
		 "cluster {\n  name: \"%s\"\n  listen: \"127.0.0.1:%d\"\n  routes: [\n%s  ]\n}\n",
		 name, c->name, c->cluster_port[i], routes);
	snprintf(store, sizeof(store), "%s/n%d", c->dir, i);
	if (xt_server_start(&c->node[i], &o))
		return -1;
	c->client_port[i] = c->node[i].port;
	return 0;
}

/* JetStream answers $JS.API.INFO without an error on node i. */
static int js_ready(const struct xt_server *s)
{
	natsConnection *nc = NULL;
	natsMsg *m = NULL;
	int ok = 0;

	if (xt_server_connect(s, &nc))
		return 0;
	if (natsConnection_RequestString(&m, nc, "$JS.API.INFO", "", 2000) == NATS_OK)
		ok = strstr(natsMsg_GetData(m), "\"error\"") == NULL;
	natsMsg_Destroy(m);
	natsConnection_Destroy(nc);
	return ok;
}

static int wait_ready(struct xt_cluster *c)
{
	time_t deadline = time(NULL) + 60;
	int i, ready;

	do {
		for (i = 0, ready = 0; i < XT_CLUSTER_NODES; i++)
			ready += c->node[i].pid > 0 ? js_ready(&c->node[i]) : 1;
		if (ready == XT_CLUSTER_NODES)
			return 0;
		usleep(200 * 1000);
	} while (time(NULL) < deadline);
	fprintf(stderr, "xt: cluster %s: JetStream not ready within 60 s\n", c->name);
	return -1;
}

/* JetStream answers on every node before the meta leader has heard from
 * every peer: an R3 stream is refused with "no suitable peers for placement"
 * until it has (2.15.1 right after the start). On nats-server 2.10.27 a
 * cluster whose three nodes dial each other at once sometimes never gets
 * there: a pooled route closed as "Duplicate Route" leaves one node without
 * the meta leader's updates, and placement fails for good (seen in CI and in
 * a loop of test_cluster, 1 start in about 10 on 2 busy cores). 1 when c can
 * place an R3 stream within `seconds`. */
static int r3_placeable(const struct xt_cluster *c, int seconds)
{
	natsConnection *nc = NULL;
	time_t deadline = time(NULL) + seconds;
	int ok = 0;

	if (xt_server_connect(&c->node[0], &nc))
		return 0;
	do {
		natsMsg *m = NULL;

		if (natsConnection_RequestString(&m, nc, "$JS.API.STREAM.CREATE.xt-probe",
						 "{\"name\":\"xt-probe\",\"subjects\":[\"xt.probe\"],\"num_replicas\":3}",
						 5000) == NATS_OK)
			ok = strstr(natsMsg_GetData(m), "\"error\"") == NULL;
		natsMsg_Destroy(m);
		if (!ok)
			usleep(200 * 1000);
	} while (!ok && time(NULL) < deadline);
	if (ok) {
		natsMsg *m = NULL;

		natsConnection_RequestString(&m, nc, "$JS.API.STREAM.DELETE.xt-probe", "", 5000);
		natsMsg_Destroy(m);
	}
	natsConnection_Destroy(nc);
	return ok;
}

/* The lines of node i's log that tell how the cluster formed (warnings,
 * errors, meta leader, duplicate routes), at most 30. */
static void print_log_summary(const struct xt_cluster *c, int i)
{
	FILE *f = fopen(c->node[i].log, "r");
	char line[512], name[64];
	int n = 0;

	xt_cluster_node_name(c, i, name, sizeof(name));
	fprintf(stderr, "xt: cluster %s: %s (%s):\n", c->name, name, c->node[i].log);
	if (!f)
		return;
	while (n < 30 && fgets(line, sizeof(line), f))
		if (strstr(line, "[WRN]") || strstr(line, "[ERR]") || strstr(line, "leader") ||
		    strstr(line, "Duplicate")) {
			fprintf(stderr, "   %s", line);
			n++;
		}
	fclose(f);
}

static int start_once(struct xt_cluster *c)
{
	int i;

	c->dir = xt_tempdir("xt-cluster");
	if (!c->dir)
		return -1;
	c->urls[0] = '\0';
	for (i = 0; i < XT_CLUSTER_NODES; i++) {
		c->cluster_port[i] = free_port();
		c->client_port[i] = 0;
	}
	for (i = 0; i < XT_CLUSTER_NODES; i++)
		if (start_node(c, i))
			return -1;
	for (i = 0; i < XT_CLUSTER_NODES; i++)
		snprintf(c->urls + strlen(c->urls), sizeof(c->urls) - strlen(c->urls), "%s%s", i ? "," : "",
			 c->node[i].url);
	return wait_ready(c);
}

int xt_cluster_start(struct xt_cluster *c, const char *name)
{
	enum { TRIES = 3, PLACE_SECONDS = 20 };
	int attempt, i;

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	for (attempt = 1; attempt <= TRIES; attempt++) {
		if (start_once(c)) {
			/* a node did not start: most often its route port, free
			 * when free_port() looked, was taken by another test's
			 * server before this one bound it ("address already in
			 * use", ctest -j2); new ports next time */
			fprintf(stderr, "xt: cluster %s: a node did not start (try %d of %d)%s\n", c->name, attempt, TRIES,
				attempt < TRIES ? ": starting a new cluster on other ports" : "");
			xt_cluster_stop(c);
			continue;
		}
		if (r3_placeable(c, PLACE_SECONDS))
			return 0;
		/* a harness problem, not the toolkit's: start a new cluster
		 * (new ports, empty stores), and say so with the evidence */
		fprintf(stderr, "xt: cluster %s cannot place an R3 stream %d s after JetStream answered on every node "
				"(try %d of %d)%s\n",
			c->name, PLACE_SECONDS, attempt, TRIES, attempt < TRIES ? ": starting a new cluster" : "");
		for (i = 0; i < XT_CLUSTER_NODES; i++)
			print_log_summary(c, i);
		xt_cluster_stop(c);
	}
	return -1;
}

/* Stopping the meta leader leaves the others without one for a moment, and
 * a JetStream request that arrives then is never answered (2.10.27: the
 * restore's first STREAM.INFO, sent 40 ms before the new leader was
 * elected, timed out after 10 s). Waits (up to 20 s) until a node that is
 * up answers a STREAM.INFO of a stream that does not exist: only the meta
 * leader answers that one. */
static void wait_meta_leader(const struct xt_cluster *c)
{
	time_t deadline = time(NULL) + 20;
	natsConnection *nc = NULL;
	int i, ok = 0;

	for (i = 0; i < XT_CLUSTER_NODES && !nc; i++)
		if (c->node[i].pid > 0 && xt_server_connect(&c->node[i], &nc))
			nc = NULL;
	if (!nc)
		return;
	while (!ok && time(NULL) < deadline) {
		natsMsg *m = NULL;

		/* 2.9.10 answers 503 "JetStream system temporarily unavailable"
		 * while there is no meta leader: only another answer counts */
		ok = natsConnection_RequestString(&m, nc, "$JS.API.STREAM.INFO.xt-no-such-stream", "", 1000) == NATS_OK &&
		     !strstr(natsMsg_GetData(m), "\"code\":503");
		natsMsg_Destroy(m);
		if (!ok)
			usleep(100 * 1000);
	}
	if (!ok)
		fprintf(stderr, "xt: cluster %s: no meta leader 20 s after a node stopped\n", c->name);
	natsConnection_Destroy(nc);
}

void xt_cluster_stop_node(struct xt_cluster *c, int i)
{
	xt_server_stop(&c->node[i]);
	wait_meta_leader(c);
}

int xt_cluster_start_node(struct xt_cluster *c, int i)
{
	if (start_node(c, i))
		return -1;
	return wait_ready(c);
}

void xt_cluster_stop(struct xt_cluster *c)
{
	int i;

	for (i = 0; i < XT_CLUSTER_NODES; i++)
		xt_server_stop(&c->node[i]);
	if (c->dir) {
		xt_rmtree(c->dir);
		free(c->dir);
		c->dir = NULL;
	}
}

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

int xt_cluster_start(struct xt_cluster *c, const char *name)
{
	int i;

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->dir = xt_tempdir("xt-cluster");
	if (!c->dir)
		return -1;
	for (i = 0; i < XT_CLUSTER_NODES; i++) {
		c->cluster_port[i] = free_port();
		c->client_port[i] = 0;
	}
	for (i = 0; i < XT_CLUSTER_NODES; i++)
		if (start_node(c, i)) {
			xt_cluster_stop(c);
			return -1;
		}
	for (i = 0; i < XT_CLUSTER_NODES; i++)
		snprintf(c->urls + strlen(c->urls), sizeof(c->urls) - strlen(c->urls), "%s%s", i ? "," : "",
			 c->node[i].url);
	return wait_ready(c);
}

void xt_cluster_stop_node(struct xt_cluster *c, int i)
{
	xt_server_stop(&c->node[i]);
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

/*
 * A 3-node JetStream cluster: backup of R3 streams through a connection to a
 * node that is not the stream leader, restore as R3 into another cluster
 * (success only once every replica is current and every node shows the
 * stream and its consumer with the recorded state: xorb_nodecheck.h), a
 * leader step-down during a backup (the run either completes with a whole
 * backup or fails leaving nothing), and backup and restore with one node
 * down.
 */
#include "xt_cluster.h"
#include "xt_fixture.h"
#include "xt_harness.h"

#include "xorb_json.h"
#include "xorb_nats.h"
#include "xorb_version.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <inttypes.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static struct xt_cluster src, dst;
static char *work, store[4200], store_env[4300];

static char *request(natsConnection *nc, const char *subj, const char *body)
{
	natsMsg *m = NULL;
	char *out;

	assert_int_equal(natsConnection_RequestString(&m, nc, subj, body, 10000), NATS_OK);
	out = strndup(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
	natsMsg_Destroy(m);
	if (strstr(out, "\"error\""))
		fprintf(stderr, "%s -> %s\n", subj, out);
	return out;
}

/* An R3 stream with headers, a gap and a durable consumer with pending acks. */
static void make_r3_stream(natsConnection *nc, const char *stream, const char *tenant, int n)
{
	char subj[300], body[1024], *r;
	natsSubscription *sub = NULL;
	int i;

	snprintf(subj, sizeof(subj), "$JS.API.STREAM.CREATE.%s", stream);
	snprintf(body, sizeof(body),
		 "{\"name\":\"%s\",\"subjects\":[\"xorb.%s.scan.>\"],\"storage\":\"file\",\"num_replicas\":3,"
		 "\"max_age\":2592000000000000}", stream, tenant);
	r = request(nc, subj, body);
	assert_null(strstr(r, "\"error\""));
	free(r);
	for (i = 0; i < n; i++) {
		natsMsg *m = NULL, *ack = NULL;
		char data[64];

		snprintf(subj, sizeof(subj), "xorb.%s.scan.svc-%d.created", tenant, i % 7);
		snprintf(data, sizeof(data), "event %d", i);
		assert_int_equal(natsMsg_Create(&m, subj, NULL, data, (int)strlen(data)), NATS_OK);
		natsMsgHeader_Set(m, "X-Seq", data);
		natsMsgHeader_Add(m, "X-Multi", "a");
		natsMsgHeader_Add(m, "X-Multi", "b");
		assert_int_equal(natsConnection_RequestMsg(&ack, nc, m, 10000), NATS_OK);
		natsMsg_Destroy(m);
		natsMsg_Destroy(ack);
	}
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.MSG.DELETE.%s", stream);
	free(request(nc, subj, "{\"seq\":5}"));
	snprintf(subj, sizeof(subj), "$JS.API.CONSUMER.DURABLE.CREATE.%s.worker", stream);
	snprintf(body, sizeof(body), "{\"stream_name\":\"%s\",\"config\":{\"durable_name\":\"worker\","
		 "\"ack_policy\":\"explicit\",\"deliver_policy\":\"all\",\"ack_wait\":30000000000}}", stream);
	r = request(nc, subj, body);
	assert_null(strstr(r, "\"error\""));
	free(r);
	/* a pull request that reaches the R3 consumer before it has a leader
	 * is dropped (2.10.27 in the Debian 13 root: no message in 5 s): wait
	 * until CONSUMER.INFO names one (up to 10 s) */
	snprintf(subj, sizeof(subj), "$JS.API.CONSUMER.INFO.%s.worker", stream);
	for (i = 0; i < 100; i++) {
		r = request(nc, subj, "");
		if (strstr(r, "\"leader\":\"")) {
			free(r);
			break;
		}
		free(r);
		nats_Sleep(100);
	}
	/* fetch 10, ack 4: delivered 10, ack floor 4, 6 pending */
	assert_int_equal(natsConnection_SubscribeSync(&sub, nc, "_INBOX.xt-fetch"), NATS_OK);
	snprintf(subj, sizeof(subj), "$JS.API.CONSUMER.MSG.NEXT.%s.worker", stream);
	/* expires 4 s: a request asked again after 5 s never doubles one still pending */
	assert_int_equal(natsConnection_PublishRequestString(nc, subj, "_INBOX.xt-fetch",
							     "{\"batch\":10,\"expires\":4000000000}"), NATS_OK);
	for (i = 0; i < 10; i++) {
		natsMsg *m = NULL;
		natsStatus st = natsSubscription_NextMsg(&m, sub, 5000);

		/* still lost (a leader elected a moment before): ask once more,
		 * for the first message only (none was delivered yet) */
		if (st == NATS_TIMEOUT && i == 0) {
			assert_int_equal(natsConnection_PublishRequestString(nc, subj, "_INBOX.xt-fetch",
									     "{\"batch\":10,\"expires\":4000000000}"),
					 NATS_OK);
			st = natsSubscription_NextMsg(&m, sub, 5000);
		}
		assert_int_equal(st, NATS_OK);
		if (i < 4) {
			natsMsg *ack = NULL;

			assert_int_equal(natsConnection_Request(&ack, nc, natsMsg_GetReply(m), "+ACK", 4, 5000), NATS_OK);
			natsMsg_Destroy(ack);
		}
		natsMsg_Destroy(m);
	}
	natsSubscription_Destroy(sub);
}

/* Through every node of c but stopped (-1: none): the stream holds what the
 * source holds and its consumer "worker" (left by make_r3_stream with acks
 * pending and a deleted message inside its ack floor) shows what it shows
 * through node 0 of the source, answered by an elected leader, num_pending
 * included; checked right after the restore reported success (num_pending,
 * derived, may take a moment: see below). */
static void assert_worker_on_every_node(const struct xt_cluster *c, const char *stream, int stopped)
{
	static const char *const fields[][2] = {
		{ "delivered", "consumer_seq" }, { "delivered", "stream_seq" }, { "ack_floor", "consumer_seq" },
		{ "ack_floor", "stream_seq" },	 { "num_ack_pending", NULL },	{ "num_redelivered", NULL },
		{ "num_pending", NULL },
	};
	char subj[300], *r;
	natsConnection *nc;
	cJSON *want, *sw;
	int64_t msgs, last;
	size_t f;
	int i;

	assert_int_equal(xt_server_connect(&src.node[0], &nc), 0);
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.INFO.%s", stream);
	r = request(nc, subj, "");
	sw = cJSON_Parse(r);
	free(r);
	msgs = xorb_json_int(cJSON_GetObjectItem(sw, "state"), "messages", -1);
	last = xorb_json_int(cJSON_GetObjectItem(sw, "state"), "last_seq", -1);
	cJSON_Delete(sw);
	snprintf(subj, sizeof(subj), "$JS.API.CONSUMER.INFO.%s.worker", stream);
	r = request(nc, subj, "");
	want = cJSON_Parse(r);
	free(r);
	natsConnection_Destroy(nc);
	assert_non_null(want);
	assert_true(xorb_json_int(want, "num_ack_pending", 0) > 0); /* what 2.15 snapshots roll back */
	for (i = 0; i < XT_CLUSTER_NODES; i++) {
		cJSON *j;

		if (i == stopped)
			continue;
		assert_int_equal(xt_server_connect(&c->node[i], &nc), 0);
		snprintf(subj, sizeof(subj), "$JS.API.STREAM.INFO.%s", stream);
		r = request(nc, subj, "");
		j = cJSON_Parse(r);
		assert_non_null(j);
		assert_int_equal(xorb_json_int(cJSON_GetObjectItem(j, "state"), "messages", -1), msgs);
		assert_int_equal(xorb_json_int(cJSON_GetObjectItem(j, "state"), "last_seq", -1), last);
		cJSON_Delete(j);
		free(r);
		snprintf(subj, sizeof(subj), "$JS.API.CONSUMER.INFO.%s.worker", stream);
		r = request(nc, subj, "");
		j = cJSON_Parse(r);
		assert_non_null(j);
		/* num_pending is derived from the stream, not the consumer's state
		 * (the restore's node check leaves it out): an elected consumer
		 * leader of nats-server 2.9.10 answered 0 instead of 289 once,
		 * right after the restore, under load (docs/nats-server-notes.md).
		 * Asked again for up to 5 s; the consumer's own state is checked
		 * once, as the restore left it. */
		for (f = 0; f < 25 && xorb_json_int(j, "num_pending", -2) != xorb_json_int(want, "num_pending", -1); f++) {
			fprintf(stderr, "through %s: num_pending %" PRId64 " (source %" PRId64 "): asking again\n",
				c->node[i].url, xorb_json_int(j, "num_pending", -2), xorb_json_int(want, "num_pending", -1));
			usleep(200 * 1000);
			cJSON_Delete(j);
			free(r);
			r = request(nc, subj, "");
			j = cJSON_Parse(r);
			assert_non_null(j);
		}
		for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
			const cJSON *a = fields[f][1] ? cJSON_GetObjectItem(want, fields[f][0]) : want;
			const cJSON *b = fields[f][1] ? cJSON_GetObjectItem(j, fields[f][0]) : j;
			const char *k = fields[f][1] ? fields[f][1] : fields[f][0];

			if (xorb_json_int(a, k, -1) != xorb_json_int(b, k, -2))
				fprintf(stderr, "through %s: %s%s%s: source %" PRId64 ", here %" PRId64 "\n%s\n",
					c->node[i].url, fields[f][0], fields[f][1] ? "." : "", fields[f][1] ? k : "",
					xorb_json_int(a, k, -1), xorb_json_int(b, k, -2), r);
			assert_int_equal(xorb_json_int(a, k, -1), xorb_json_int(b, k, -2));
		}
		assert_true(*xorb_json_str(cJSON_GetObjectItem(j, "cluster"), "leader", ""));
		cJSON_Delete(j);
		free(r);
		natsConnection_Destroy(nc);
	}
	cJSON_Delete(want);
}

/* Does the cluster's nats-server place replicas on a node that is down
 * while a quorum is online (2.12.0+, commit 665dfe5c1; docs/nats-server-notes.md P9)? */
static int places_on_offline_nodes(const struct xt_server *s)
{
	struct xorb_version v;
	natsConnection *nc;
	cJSON *info = NULL;
	int yes;

	assert_int_equal(xt_server_connect(s, &nc), 0);
	assert_int_equal(xorb_nats_server_info(nc, &info, NULL), XORB_OK);
	assert_int_equal(xorb_version_parse(xorb_json_str(info, "version", ""), &v, NULL), XORB_OK);
	yes = xorb_version_cmp_core(&v, 2, 12, 0) >= 0;
	cJSON_Delete(info);
	natsConnection_Destroy(nc);
	return yes;
}

static void leader_of(natsConnection *nc, const char *stream, char *out, size_t len)
{
	char subj[300], *r;
	cJSON *j;

	snprintf(subj, sizeof(subj), "$JS.API.STREAM.INFO.%s", stream);
	r = request(nc, subj, "");
	j = cJSON_Parse(r);
	assert_non_null(j);
	snprintf(out, len, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "cluster"), "leader")) ?: "");
	cJSON_Delete(j);
	free(r);
}

static int node_of(const struct xt_cluster *c, const char *name)
{
	char n[64];
	int i;

	for (i = 0; i < XT_CLUSTER_NODES; i++) {
		xt_cluster_node_name(c, i, n, sizeof(n));
		if (!strcmp(n, name))
			return i;
	}
	return -1;
}

static int run(struct xt_result *r, const char *const *argv)
{
	const char *env[] = { store_env, NULL };

	memset(r, 0, sizeof(*r));
	assert_int_equal(xt_run(argv, env, 300, r), 0);
	if (r->status)
		fprintf(stderr, "%s: exit %d\n%s", argv[0], r->status, r->err);
	return r->status;
}

static int setup(void **state)
{
	natsConnection *nc;

	work = xt_tempdir("xorb-cluster");
	snprintf(store, sizeof(store), "%s/store", work);
	snprintf(store_env, sizeof(store_env), "XORB_STORE=%s", store);
	/* xt_cluster_start waits until each can place an R3 stream */
	if (xt_cluster_start(&src, "src") || xt_cluster_start(&dst, "dst"))
		return -1;
	assert_int_equal(xt_server_connect(&src.node[0], &nc), 0);
	make_r3_stream(nc, "xorb-t-r3-scan-live", "t-r3", 300);
	natsConnection_Destroy(nc);
	return 0;
}

static int teardown(void **state)
{
	xt_cluster_stop(&src);
	xt_cluster_stop(&dst);
	xt_rmtree(work);
	free(work);
	return 0;
}

static void compare(const struct xt_server *a, const struct xt_server *b, const char *stream)
{
	natsConnection *na, *nb;
	char why[1024];
	int rc;

	assert_int_equal(xt_server_connect(a, &na), 0);
	assert_int_equal(xt_server_connect(b, &nb), 0);
	rc = xt_compare_stream(na, nb, stream, why, sizeof(why));
	if (rc)
		fprintf(stderr, "%s: %s\n", stream, why);
	assert_int_equal(rc, 0);
	natsConnection_Destroy(na);
	natsConnection_Destroy(nb);
}

static void test_r3_via_non_leader_and_restore_r3(void **state)
{
	char leader[64], subj[300], *r;
	natsConnection *nc;
	struct xt_result res;
	cJSON *j, *rep;
	int li, via;

	assert_int_equal(xt_server_connect(&src.node[0], &nc), 0);
	leader_of(nc, "xorb-t-r3-scan-live", leader, sizeof(leader));
	natsConnection_Destroy(nc);
	li = node_of(&src, leader);
	assert_true(li >= 0);
	via = (li + 1) % XT_CLUSTER_NODES;

	const char *backup[] = { xt_bin("xorb-backup"), "-s", src.node[via].url, "tenant", "t-r3", NULL };
	assert_int_equal(run(&res, backup), 0);
	xt_result_release(&res);

	/* -v: what the nodes showed right after the restore goes to the log */
	const char *restore[] = { xt_bin("xorb-restore"), "-v", "-s", dst.urls, "t-r3", NULL };
	assert_int_equal(run(&res, restore), 0);
	fprintf(stderr, "%s", res.err);
	assert_null(strstr(res.err, "warning"));
	xt_result_release(&res);
	/* every node shows the consumer as recorded, at once: no waiting here */
	assert_worker_on_every_node(&dst, "xorb-t-r3-scan-live", -1);
	/* R3 on the target, every replica current when success was reported */
	assert_int_equal(xt_server_connect(&dst.node[2], &nc), 0);
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.INFO.%s", "xorb-t-r3-scan-live");
	r = request(nc, subj, "");
	j = cJSON_Parse(r);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "config"), "num_replicas")->valueint, 3);
	rep = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "cluster"), "replicas");
	assert_int_equal(cJSON_GetArraySize(rep), 2);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(rep, 0), "current")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(rep, 1), "current")));
	cJSON_Delete(j);
	free(r);
	natsConnection_Destroy(nc);
	for (li = 0; li < XT_CLUSTER_NODES; li++)
		compare(&src.node[via], &dst.node[li], "xorb-t-r3-scan-live");
}

static int visible_sidecars(const char *tenant)
{
	char dir[4400];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/%s", store, tenant);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Waits (up to 60 s) until the store holds a non-empty hidden temporary
 * archive of tenant, or pid ended (left for the caller to reap). */
static void wait_for_archive(const char *tenant, pid_t pid)
{
	char dir[4400], p[4700];
	int i, found = 0;

	snprintf(dir, sizeof(dir), "%s/%s", store, tenant);
	for (i = 0; i < 6000 && !found; i++) {
		siginfo_t si = { 0 };
		struct dirent *de;
		struct stat sb;
		DIR *d;

		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) || si.si_pid == pid)
			break;
		d = opendir(dir);
		while (d && (de = readdir(d)))
			if (de->d_name[0] == '.' && strstr(de->d_name, ".tar.zst.tmp-")) {
				snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
				found |= !stat(p, &sb) && sb.st_size > 0;
			}
		if (d)
			closedir(d);
		usleep(10 * 1000);
	}
}

static void test_stepdown_during_backup(void **state)
{
	char subj[300], why[512], errf[4400], *r;
	natsConnection *nc;
	struct xt_result res;
	int st = 0, before;
	pid_t pid;

	assert_int_equal(xt_server_connect(&src.node[0], &nc), 0);
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.CREATE.%s", "xorb-t-sd-scan-live");
	r = request(nc, subj, "{\"name\":\"xorb-t-sd-scan-live\",\"subjects\":[\"xorb.t-sd.scan.>\"],\"num_replicas\":3}");
	free(r);
	assert_int_equal(xt_fixture_bulk(nc, "xorb-t-sd-scan-live", "xorb.t-sd.scan.load.created", 50000, 256, why,
					 sizeof(why)), 0);
	before = visible_sidecars("t-sd");
	snprintf(errf, sizeof(errf), "%s/sd.err", work);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		setenv("XORB_STORE", store, 1);
		execl(xt_bin("xorb-backup"), "xorb-backup", "-s", src.node[0].url, "tenant", "t-sd", "--chunk-size",
		      "4096", "--idle-timeout", "5", (char *)NULL);
		_exit(127);
	}
	/* under memcheck the backup needs seconds to start: step down once
	 * its archive is being written, as 250 ms does without valgrind */
	if (xt_memcheck())
		wait_for_archive("t-sd", pid);
	else
		usleep(250 * 1000);
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.LEADER.STEPDOWN.%s", "xorb-t-sd-scan-live");
	free(request(nc, subj, ""));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 0) {
		/* it completed: the backup must be whole */
		const char *verify[] = { xt_bin("xorb-verify"), "t-sd", NULL };
		assert_int_equal(run(&res, verify), 0);
		xt_result_release(&res);
		assert_int_equal(visible_sidecars("t-sd"), before + 2);
	} else {
		/* it failed: cleanly, nothing visible */
		assert_int_equal(WEXITSTATUS(st), 2);
		assert_int_equal(visible_sidecars("t-sd"), before);
	}
	/* either way a rerun succeeds */
	const char *again[] = { xt_bin("xorb-backup"), "-q", "-s", src.node[0].url, "tenant", "t-sd", NULL };
	assert_int_equal(run(&res, again), 0);
	xt_result_release(&res);
	natsConnection_Destroy(nc);
}

static void test_one_node_down(void **state)
{
	struct xt_result res;
	natsConnection *nc;
	char subj[300], *r;

	/* the source loses a node: backup still works through the others */
	xt_cluster_stop_node(&src, 2);
	const char *backup[] = { xt_bin("xorb-backup"), "-q", "-s", src.node[0].url, "tenant", "t-r3", NULL };
	assert_int_equal(run(&res, backup), 0);
	xt_result_release(&res);
	/* the target loses a node: the R3 restore still works */
	assert_int_equal(xt_server_connect(&dst.node[0], &nc), 0);
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.DELETE.%s", "xorb-t-r3-scan-live");
	free(request(nc, subj, ""));
	natsConnection_Destroy(nc);
	xt_cluster_stop_node(&dst, 2);
	const char *restore[] = { xt_bin("xorb-restore"), "-v", "-s", dst.node[0].url, "t-r3", NULL };
	int rc = run(&res, restore);
	fprintf(stderr, "%s", res.err);
	if (places_on_offline_nodes(&dst.node[0])) {
		/* 2.12+: the R3 stream is placed on the 2 nodes up and the one
		 * down; the restore goes through the quorum and says that the
		 * replica on the node that is down holds nothing yet (exit 1) */
		assert_int_equal(rc, 1);
		assert_non_null(strstr(res.err, "replica dst-n2 is offline"));
		assert_null(strstr(res.err, "consumer \"worker\" differs"));
		assert_null(strstr(res.err, "still differ"));
	} else {
		/* up to 2.11: R3 cannot be placed on 2 of 3 nodes; R1 works */
		assert_int_equal(rc, 2);
		assert_non_null(strstr(res.err, "no suitable peers"));
	}
	xt_result_release(&res);
	if (rc == 2) {
		const char *r1[] = { xt_bin("xorb-restore"), "-s", dst.node[0].url, "t-r3", "--replicas", "1", NULL };
		assert_int_equal(run(&res, r1), 0);
		assert_null(strstr(res.err, "warning"));
		xt_result_release(&res);
	}
	/* the nodes up show the consumer as recorded */
	assert_worker_on_every_node(&dst, "xorb-t-r3-scan-live", 2);
	assert_int_equal(xt_server_connect(&dst.node[0], &nc), 0);
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.INFO.%s", "xorb-t-r3-scan-live");
	r = request(nc, subj, "");
	assert_null(strstr(r, "\"error\""));
	free(r);
	natsConnection_Destroy(nc);
	if (rc == 1) {
		/* the node comes back: its replica catches up and shows the
		 * recorded state too */
		int i, current = 0;

		assert_int_equal(xt_cluster_start_node(&dst, 2), 0);
		assert_int_equal(xt_server_connect(&dst.node[0], &nc), 0);
		for (i = 0; i < 600 && !current; i++) {
			cJSON *j, *rep, *r1;

			r = request(nc, subj, "");
			j = cJSON_Parse(r);
			rep = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "cluster"), "replicas");
			current = cJSON_GetArraySize(rep) == 2;
			cJSON_ArrayForEach(r1, rep)
				current &= cJSON_IsTrue(cJSON_GetObjectItem(r1, "current"));
			cJSON_Delete(j);
			free(r);
			if (!current)
				usleep(100 * 1000);
		}
		natsConnection_Destroy(nc);
		assert_true(current);
		fprintf(stderr, "one node down: the replica on the node brought back was current after %.1f s\n", i / 10.0);
		compare(&src.node[0], &dst.node[2], "xorb-t-r3-scan-live");
	}
	fprintf(stderr, "one node down: R3 restore %s\n",
		rc ? (rc == 2 ? "refused by the server; R1 restore worked" : "went through the quorum, the replica on the node down reported") : "worked");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_r3_via_non_leader_and_restore_r3),
		cmocka_unit_test(test_stepdown_during_backup),
		cmocka_unit_test(test_one_node_down),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

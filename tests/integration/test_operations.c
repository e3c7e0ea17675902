/*
 * Operations end to end: backup all (parallel, one failure does not stop the
 * others), the health check's Nagios codes, Prometheus metrics (validated by
 * promtool), hooks, JSON logs, progress only on a terminal, and the shipped
 * schedules (systemd units verified, cron fields valid, and their exact
 * command lines executed against the test servers).
 */
#include "xt_fixture.h"
#include "xt_harness.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

static struct xt_server srv;
static natsConnection *nc;
static char *work, store[4200], store_env[4300];

static int run(struct xt_result *r, const char *const *argv)
{
	const char *env[] = { store_env, NULL };

	memset(r, 0, sizeof(*r));
	assert_int_equal(xt_run(argv, env, 300, r), 0);
	return r->status;
}

static void show(const char *what, const struct xt_result *r)
{
	fprintf(stderr, "--- %s: exit %d\n--- stdout:\n%s--- stderr:\n%s", what, r->status, r->out, r->err);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int count_sidecars(const char *tenant)
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
		if (de->d_name[0] != '.' && strstr(de->d_name, ".json"))
			n++;
	closedir(d);
	return n;
}

static int setup(void **state)
{
	char why[512];

	assert_int_equal(xt_server_start(&srv, NULL), 0);
	assert_int_equal(xt_server_connect(&srv, &nc), 0);
	if (xt_fixture_tenant(nc, "t-ops", 40, why, sizeof(why)) ||
	    xt_fixture_tenant(nc, "t-demo", 20, why, sizeof(why))) {
		fprintf(stderr, "fixture: %s\n", why);
		return -1;
	}
	work = xt_tempdir("xorb-ops");
	snprintf(store, sizeof(store), "%s/store", work);
	snprintf(store_env, sizeof(store_env), "XORB_STORE=%s", store);
	return 0;
}

static int teardown(void **state)
{
	natsConnection_Destroy(nc);
	xt_server_stop(&srv);
	xt_rmtree(work);
	free(work);
	return 0;
}

static void test_all_parallel_one_failure(void **state)
{
	struct xt_result r;
	char metrics[4400], *text;

	snprintf(metrics, sizeof(metrics), "%s/xorb.prom", work);
	const char *argv[] = { xt_bin("xorb-backup"), "-s", srv.url, "all", "--tenants", "t-ops,t-nope,t-demo",
			       "--parallel", "2", "--metrics-file", metrics, NULL };
	if (run(&r, argv) != 2)
		show("all", &r);
	assert_int_equal(r.status, 2);
	/* one line per tenant, the failure among them, the others done */
	assert_non_null(strstr(r.out, "t-ops"));
	assert_non_null(strstr(r.out, "t-demo"));
	assert_non_null(strstr(r.out, "t-nope"));
	assert_non_null(strstr(r.out, "FAILED"));
	assert_non_null(strstr(r.err, "t-nope"));
	xt_result_release(&r);
	assert_int_equal(count_sidecars("t-ops"), 1);
	assert_int_equal(count_sidecars("t-demo"), 1);
	assert_int_equal(count_sidecars("t-nope"), 0);

	/* metrics: promtool accepts the file, and the values are the runs' */
	const char *promtool[] = { "promtool", "check", "metrics", NULL };
	{
		char cmd[9000];

		snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s'", metrics);
		const char *sh[] = { "/bin/sh", "-c", cmd, NULL };
		if (run(&r, sh) != 0)
			show("promtool", &r);
		assert_int_equal(r.status, 0);
		xt_result_release(&r);
	}
	(void)promtool;
	text = slurp(metrics);
	assert_non_null(strstr(text, "# TYPE xorb_backup_runs_total counter"));
	assert_non_null(strstr(text, "xorb_backup_runs_total{tenant=\"t-ops\",result=\"ok\"} 1\n"));
	assert_non_null(strstr(text, "xorb_backup_runs_total{tenant=\"t-nope\",result=\"failed\"} 1\n"));
	assert_non_null(strstr(text, "xorb_backup_last_run_success{tenant=\"t-nope\"} 0\n"));
	assert_non_null(strstr(text, "xorb_backup_last_run_success{tenant=\"t-ops\"} 1\n"));
	assert_non_null(strstr(text, "xorb_backup_last_streams{tenant=\"t-ops\"} 3\n"));
	assert_non_null(strstr(text, "xorb_backup_last_success_timestamp_seconds{tenant=\"t-demo\"} "));
	assert_null(strstr(text, "xorb_backup_last_success_timestamp_seconds{tenant=\"t-nope\"}"));
	free(text);

	/* a second run counts on: counters persist in the file */
	const char *again[] = { xt_bin("xorb-backup"), "-s", srv.url, "-q", "tenant", "t-ops", "--metrics-file", metrics, NULL };
	assert_int_equal(run(&r, again), 0);
	xt_result_release(&r);
	text = slurp(metrics);
	assert_non_null(strstr(text, "xorb_backup_runs_total{tenant=\"t-ops\",result=\"ok\"} 2\n"));
	assert_non_null(strstr(text, "xorb_backup_runs_total{tenant=\"t-nope\",result=\"failed\"} 1\n"));
	free(text);

	/* --json: an array with one object per tenant */
	const char *js[] = { xt_bin("xorb-backup"), "-s", srv.url, "all", "--tenants", "t-demo", "--json", NULL };
	assert_int_equal(run(&r, js), 0);
	{
		cJSON *j = cJSON_Parse(r.out);

		assert_non_null(j);
		assert_int_equal(cJSON_GetArraySize(j), 1);
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "result")), "ok");
		cJSON_Delete(j);
	}
	xt_result_release(&r);
}

static void test_all_from_env_file(void **state)
{
	struct xt_result r;
	char env[4400];
	FILE *f;

	snprintf(env, sizeof(env), "%s/ops.tfvars.json", work);
	f = fopen(env, "w");
	assert_non_null(f);
	fprintf(f, "{\"environment\":\"ops\",\"nats_url\":\"%s\",\"tenants\":{"
		   "\"t-demo\":{\"name\":\"t-demo\",\"max_streams\":10,\"max_consumers\":20,\"max_bytes\":268435456,"
		   "\"max_messages\":250000,\"retention_days\":3}}}", srv.url);
	fclose(f);
	const char *argv[] = { xt_bin("xorb-backup"), "-s", srv.url, "all", "--env", env, NULL };
	assert_int_equal(run(&r, argv), 0);
	assert_non_null(strstr(r.out, "t-demo"));
	assert_non_null(strstr(r.out, "1 tenants: all ok"));
	xt_result_release(&r);

	/* a broken environment file is rejected naming the file, key and reason */
	f = fopen(env, "w");
	fprintf(f, "{\"environment\":\"ops\",\"nats_url\":\"x\",\"tenants\":{\"t\":{}}}");
	fclose(f);
	assert_int_equal(run(&r, argv), 2);
	assert_non_null(strstr(r.err, env));
	assert_non_null(strstr(r.err, "tenants.t"));
	assert_non_null(strstr(r.err, "3 to 63"));
	xt_result_release(&r);
}

static void test_check(void **state)
{
	struct xt_result r;

	const char *ok[] = { xt_bin("xorb-backup"), "-s", srv.url, "check", "t-ops", NULL };
	if (run(&r, ok) != 0)
		show("check", &r);
	assert_int_equal(r.status, 0);
	assert_true(!strncmp(r.out, "XORB BACKUP OK", 14));
	/* Nagios performance data on the first line: age and count per tenant */
	{
		const char *eol = strchr(r.out, '\n'), *perf = strstr(r.out, " | 'age_t-ops'=");

		assert_non_null(perf);
		assert_true(perf < eol);
		assert_non_null(strstr(perf, "s;86400;93600;0 'backups_t-ops'="));
	}
	assert_non_null(strstr(r.out, "OK: nats:"));
	assert_non_null(strstr(r.out, "OK: store:"));
	assert_non_null(strstr(r.out, "OK: tenant t-ops"));
	xt_result_release(&r);

	sleep(2);
	const char *warn[] = { xt_bin("xorb-backup"), "-s", srv.url, "check", "t-ops", "--warn-age", "1s", "--max-age", "1h", NULL };
	assert_int_equal(run(&r, warn), 1);
	assert_true(!strncmp(r.out, "XORB BACKUP WARNING", 19));
	xt_result_release(&r);
	const char *crit[] = { xt_bin("xorb-backup"), "-s", srv.url, "check", "t-ops", "--max-age", "1s", NULL };
	assert_int_equal(run(&r, crit), 2);
	assert_non_null(strstr(r.out, "CRITICAL: tenant t-ops: newest backup"));
	xt_result_release(&r);
	const char *none[] = { xt_bin("xorb-backup"), "-s", srv.url, "check", "t-never", NULL };
	assert_int_equal(run(&r, none), 2);
	assert_non_null(strstr(r.out, "CRITICAL: tenant t-never: no complete backup"));
	xt_result_release(&r);
	const char *down[] = { xt_bin("xorb-backup"), "-s", "nats://127.0.0.1:1", "check", "t-ops", NULL };
	assert_int_equal(run(&r, down), 2);
	assert_non_null(strstr(r.out, "CRITICAL: nats:"));
	xt_result_release(&r);
	/* every tenant found in the store when none is named; --json items
	 * are structured: check, status, and for a tenant its newest backup's id
	 * and age */
	const char *all[] = { xt_bin("xorb-backup"), "-s", srv.url, "check", "--json", NULL };
	assert_int_equal(run(&r, all), 0);
	{
		cJSON *j = cJSON_Parse(r.out), *it;
		int tenants = 0;

		assert_non_null(j);
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "status")), "OK");
		cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "checks")) {
			const char *what = cJSON_GetStringValue(cJSON_GetObjectItem(it, "check"));
			const cJSON *age = cJSON_GetObjectItem(it, "age_seconds");

			assert_non_null(what);
			assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(it, "status")), "OK");
			if (strcmp(what, "tenant"))
				continue;
			tenants++;
			assert_true(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "tenant")), "t-ops") ||
				    !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "tenant")), "t-demo"));
			assert_int_equal(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(it, "backup_id"))), 23);
			assert_true(cJSON_IsNumber(age) && age->valuedouble >= 0 && age->valuedouble < 3600);
			assert_int_equal(cJSON_GetObjectItem(it, "max_age_seconds")->valuedouble, 93600);
			assert_true(cJSON_GetObjectItem(it, "backups")->valuedouble >= 1);
		}
		assert_int_equal(tenants, 2);
		cJSON_Delete(j);
	}
	xt_result_release(&r);
}

static void test_hooks(void **state)
{
	struct xt_result r;
	char pre[4400], post[4400], hpre[4600], hpost[4600], id[64] = "", *t;

	snprintf(pre, sizeof(pre), "%s/pre.env", work);
	snprintf(post, sizeof(post), "%s/post.env", work);
	snprintf(hpre, sizeof(hpre), "echo \"$XORB_OPERATION $XORB_TENANT $XORB_BACKUP_ID\" > '%s'", pre);
	snprintf(hpost, sizeof(hpost), "echo \"$XORB_OPERATION $XORB_RESULT $XORB_BACKUP_ID\" > '%s'", post);
	const char *argv[] = { xt_bin("xorb-backup"), "-s", srv.url, "tenant", "t-demo", "--json", "--pre-hook", hpre,
			       "--post-hook", hpost, NULL };
	assert_int_equal(run(&r, argv), 0);
	{
		cJSON *j = cJSON_Parse(r.out);

		assert_non_null(j);
		snprintf(id, sizeof(id), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "backup_id")));
		cJSON_Delete(j);
	}
	xt_result_release(&r);
	t = slurp(pre);
	assert_true(!strncmp(t, "backup t-demo ", 14));
	assert_non_null(strstr(t, id));
	free(t);
	t = slurp(post);
	assert_true(!strncmp(t, "backup ok ", 10));
	assert_non_null(strstr(t, id));
	free(t);

	/* a failing pre-hook aborts the tenant: exit 2, no backup, post-hook sees failed */
	int before = count_sidecars("t-demo");
	const char *fail[] = { xt_bin("xorb-backup"), "-s", srv.url, "tenant", "t-demo", "--pre-hook", "exit 3",
			       "--post-hook", hpost, NULL };
	assert_int_equal(run(&r, fail), 2);
	assert_non_null(strstr(r.err, "pre-hook failed (exit 3)"));
	xt_result_release(&r);
	assert_int_equal(count_sidecars("t-demo"), before);
	t = slurp(post);
	assert_true(!strncmp(t, "backup failed ", 14));
	free(t);
}

static void test_json_logs_and_progress(void **state)
{
	struct xt_result r;
	char *line, *save = NULL, cmd[9000];
	int n = 0;

	const char *argv[] = { xt_bin("xorb-backup"), "-s", srv.url, "tenant", "t-ops", "--log-format", "json", NULL };
	assert_int_equal(run(&r, argv), 0);
	assert_null(strchr(r.err, '\r')); /* not a terminal: no progress bar */
	for (line = strtok_r(r.err, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *j = cJSON_Parse(line);

		assert_non_null(j);
		assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(j, "time")));
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "level")), "info");
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "tenant")), "t-ops");
		assert_true(!strncmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "stream")), "xorb-t-ops-", 11));
		assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(j, "message")));
		cJSON_Delete(j);
		n++;
	}
	assert_int_equal(n, 3);
	xt_result_release(&r);

	/* on a terminal (script(1) gives it one) the progress line is drawn */
	snprintf(cmd, sizeof(cmd), "TERM=xterm script -qec \"'%s' -s %s tenant t-ops\" /dev/null", xt_bin("xorb-backup"),
		 srv.url);
	const char *tty[] = { "/bin/sh", "-c", cmd, NULL };
	assert_int_equal(run(&r, tty), 0);
	assert_non_null(strstr(r.out, "\r"));
	assert_non_null(strstr(r.out, "xorb-t-ops-"));
	assert_non_null(strstr(r.out, "/s"));
	xt_result_release(&r);
	/* -q: nothing drawn even on a terminal */
	snprintf(cmd, sizeof(cmd), "TERM=xterm script -qec \"'%s' -q -s %s tenant t-ops\" /dev/null", xt_bin("xorb-backup"),
		 srv.url);
	const char *quiet[] = { "/bin/sh", "-c", cmd, NULL };
	assert_int_equal(run(&r, quiet), 0);
	assert_null(strstr(r.out, "\r\033[K"));
	xt_result_release(&r);
	/* TERM=dumb (no escape sequences): nothing drawn */
	snprintf(cmd, sizeof(cmd), "TERM=dumb script -qec \"'%s' -s %s tenant t-ops\" /dev/null", xt_bin("xorb-backup"),
		 srv.url);
	const char *dumb[] = { "/bin/sh", "-c", cmd, NULL };
	assert_int_equal(run(&r, dumb), 0);
	assert_null(strstr(r.out, "\r\033[K"));
	xt_result_release(&r);
	/* a narrow terminal: every drawn line fits in its 40 columns (a longer
	 * one wraps and is never redrawn); verify draws progress too */
	{
		const char *tools[2] = { "xorb-backup", "xorb-verify" };
		int k;

		for (k = 0; k < 2; k++) {
			char *at, *next;
			int drawn = 0;

			if (k == 0)
				snprintf(cmd, sizeof(cmd), "TERM=xterm script -qec \"stty cols 40; '%s' -s %s tenant t-ops\" /dev/null",
					 xt_bin(tools[k]), srv.url);
			else
				snprintf(cmd, sizeof(cmd), "TERM=xterm script -qec \"stty cols 40; '%s' t-ops latest\" /dev/null",
					 xt_bin(tools[k]));
			const char *narrow[] = { "/bin/sh", "-c", cmd, NULL };
			if (run(&r, narrow) != 0)
				show(tools[k], &r);
			assert_int_equal(r.status, 0);
			/* a progress line: from one "\r ESC [K" to the next, without a
			 * newline (what follows the clearing one is ordinary output) */
			for (at = strstr(r.out, "\r\033[K"); at; at = next) {
				size_t len;

				at += 4;
				next = strstr(at, "\r\033[K");
				if (!next)
					break;
				len = (size_t)(next - at);
				if (memchr(at, '\n', len))
					continue;
				if (len > 39)
					fail_msg("%s drew a line of %zu columns on a 40-column terminal: \"%.*s\"", tools[k], len,
						 (int)len, at);
				drawn += len > 0;
			}
			if (!drawn)
				show(tools[k], &r);
			assert_true(drawn > 0);
			xt_result_release(&r);
		}
	}
}

/* Cron time fields: m h dom mon dow; each a star, a number, a range or a list,
 * optionally with a step. */
static int cron_field_ok(const char *f, int lo, int hi)
{
	char buf[128], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", f);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *step = strchr(tok, '/'), *dash;
		long a, b;

		if (step) {
			*step++ = '\0';
			if (!*step || strspn(step, "0123456789") != strlen(step) || atol(step) < 1)
				return 0;
		}
		if (!strcmp(tok, "*"))
			continue;
		dash = strchr(tok, '-');
		if (dash)
			*dash++ = '\0';
		if (!*tok || strspn(tok, "0123456789") != strlen(tok))
			return 0;
		a = atol(tok);
		b = dash ? (strspn(dash, "0123456789") == strlen(dash) && *dash ? atol(dash) : -1) : a;
		if (a < lo || b > hi || b < a)
			return 0;
	}
	return 1;
}

/* A syslog socket of the test's own (XORB_SYSLOG_SOCKET): a thread reads
 * what logger sends while the scheduled job runs, so logger never blocks on
 * a full socket queue. */
struct syslog_sink {
	int fd;
	volatile int stop;
	pthread_t thread;
	char text[1 << 16];
	size_t len;
	pthread_mutex_t mu;
};

static void *sink_read(void *arg)
{
	struct syslog_sink *k = arg;
	char buf[4096];

	while (!k->stop) {
		struct timeval tv = { 0, 100 * 1000 };
		ssize_t n;

		setsockopt(k->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = recv(k->fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		pthread_mutex_lock(&k->mu);
		if (k->len + (size_t)n + 2 < sizeof(k->text)) {
			memcpy(k->text + k->len, buf, (size_t)n);
			k->len += (size_t)n;
			k->text[k->len++] = '\n';
			k->text[k->len] = '\0';
		}
		pthread_mutex_unlock(&k->mu);
	}
	return NULL;
}

static void sink_start(struct syslog_sink *k, const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->mu, NULL);
	assert_true(strlen(path) < sizeof(a.sun_path));
	strcpy(a.sun_path, path);
	k->fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(k->fd >= 0);
	assert_int_equal(bind(k->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(pthread_create(&k->thread, NULL, sink_read, k), 0);
}

/* What arrived so far (the caller frees it). */
static char *sink_text(struct syslog_sink *k)
{
	char *t;

	usleep(300 * 1000); /* the last datagrams */
	pthread_mutex_lock(&k->mu);
	t = strdup(k->text);
	k->len = 0;
	k->text[0] = '\0';
	pthread_mutex_unlock(&k->mu);
	assert_non_null(t);
	return t;
}

static void sink_stop(struct syslog_sink *k, const char *path)
{
	k->stop = 1;
	pthread_join(k->thread, NULL);
	close(k->fd);
	unlink(path);
	pthread_mutex_destroy(&k->mu);
}

static void test_schedules(void **state)
{
	const char *src = getenv("XORB_SOURCE_DIR");
	char path[4400], units[4400], cmd[16000], envfile[4400], sock[4400], *text, *line, *save = NULL;
	static char cron_line[16000];
	static struct syslog_sink sink;
	struct xt_result r;
	int jobs = 0;
	FILE *f;

	assert_non_null(src);
	/* 1. systemd units verify cleanly (paths pointed at this tree) */
	snprintf(units, sizeof(units), "%s/units", work);
	mkdir(units, 0700);
	snprintf(cmd, sizeof(cmd),
		 "for f in '%s'/schedules/*.service '%s'/schedules/*.timer; do "
		 "sed -e 's|/usr/local/lib/xorb-dr/xorb-scheduled|%s/schedules/xorb-scheduled|' "
		 "-e 's|/etc/xorb/xorb.env|%s/schedules/xorb.env|' \"$f\" > '%s'/$(basename \"$f\"); done && "
		 "cd '%s' && cp xorb-backup@.service xorb-backup@t-ops.service && cp xorb-backup@.timer xorb-backup@t-ops.timer && "
		 "systemd-analyze verify --man=no xorb-backup-all.service xorb-backup-all.timer "
		 "xorb-backup@t-ops.service xorb-backup@t-ops.timer",
		 src, src, src, src, units, units);
	const char *verify[] = { "/bin/sh", "-c", cmd, NULL };
	if (run(&r, verify) != 0 || r.err[0])
		show("systemd-analyze verify", &r);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	xt_result_release(&r);

	/* 2. alert rules: promtool checks them and runs their unit tests */
	snprintf(cmd, sizeof(cmd), "cd '%s/schedules' && promtool check rules xorb-alerts.rules.yml && "
		 "promtool test rules xorb-alerts.test.yml", src);
	const char *prom[] = { "/bin/sh", "-c", cmd, NULL };
	if (run(&r, prom) != 0)
		show("promtool rules", &r);
	assert_int_equal(r.status, 0);
	xt_result_release(&r);

	/* 3. an environment file for the test servers, as /etc/xorb/xorb.env would be */
	snprintf(envfile, sizeof(envfile), "%s/xorb.env", work);
	f = fopen(envfile, "w");
	assert_non_null(f);
	snprintf(sock, sizeof(sock), "%s/syslog.sock", work);
	fprintf(f, "NATS_URL=%s\nXORB_STORE=%s\nXORB_TENANTS=t-ops,t-demo\nXORB_PARALLEL=2\n"
		   "XORB_PRUNE_FLAGS=\"--keep-last 2\"\nXORB_METRICS_FILE=%s/sched.prom\nXORB_BIN_DIR=%s\n"
		   "XORB_LOCK_DIR=%s/locks\nXORB_SYSLOG_SOCKET=%s\n", srv.url, store, work, getenv("XORB_BIN_DIR"), work,
		sock);
	fclose(f);
	sink_start(&sink, sock);

	/* 4. the systemd units' ExecStart lines, %i = t-ops, run exactly */
	snprintf(path, sizeof(path), "%s/xorb-backup@t-ops.service", units);
	text = slurp(path);
	line = strstr(text, "\nExecStart=");
	assert_non_null(line);
	line += strlen("\nExecStart=");
	line[strcspn(line, "\n")] = '\0';
	{
		char *pct = strstr(line, "%i");

		assert_non_null(pct);
		snprintf(cmd, sizeof(cmd), "XORB_ENV_FILE='%s' %.*st-ops%s", envfile, (int)(pct - line), line, pct + 2);
	}
	free(text);
	const char *unit_cmd[] = { "/bin/sh", "-c", cmd, NULL };
	if (run(&r, unit_cmd) != 0)
		show("xorb-backup@t-ops ExecStart", &r);
	assert_int_equal(r.status, 0);
	xt_result_release(&r);

	/* 5. the crontab: valid fields, and its command run exactly */
	snprintf(path, sizeof(path), "%s/schedules/xorb-backup.cron", src);
	text = slurp(path);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char m[64], h[64], dom[64], mon[64], dow[64], user[64];
		int off = 0;

		while (isspace((unsigned char)*line))
			line++;
		if (!*line || *line == '#')
			continue;
		if (strcspn(line, "=") < strcspn(line, " \t"))
			continue; /* SHELL=, PATH= */
		assert_int_equal(sscanf(line, "%63s %63s %63s %63s %63s %63s %n", m, h, dom, mon, dow, user, &off), 6);
		assert_true(cron_field_ok(m, 0, 59));
		assert_true(cron_field_ok(h, 0, 23));
		assert_true(cron_field_ok(dom, 1, 31));
		assert_true(cron_field_ok(mon, 1, 12));
		assert_true(cron_field_ok(dow, 0, 7));
		assert_string_equal(user, "xorb");
		snprintf(cmd, sizeof(cmd), "XORB_ENV_FILE='%s'; export XORB_ENV_FILE; %s", envfile, line + off);
		{
			char *p = strstr(cmd, "/usr/local/lib/xorb-dr/xorb-scheduled");
			char fixed[16000];

			assert_non_null(p);
			snprintf(fixed, sizeof(fixed), "%.*s%s/schedules/xorb-scheduled%s", (int)(p - cmd), cmd, src,
				 p + strlen("/usr/local/lib/xorb-dr/xorb-scheduled"));
			snprintf(cmd, sizeof(cmd), "%s", fixed);
		}
		/* exactly as cron runs it: /bin/sh, its exit status is the job's */
		const char *cron_cmd[] = { "/bin/sh", "-c", cmd, NULL };
		char *logged;

		if (run(&r, cron_cmd) != 0)
			show("cron command", &r);
		assert_int_equal(r.status, 0);
		/* its output went to syslog, tagged, ending with the job's result */
		assert_string_equal(r.out, "");
		assert_string_equal(r.err, "");
		logged = sink_text(&sink);
		if (!strstr(logged, " xorb-backup: xorb-scheduled: all: exit 0 (ok)"))
			fprintf(stderr, "--- syslog:\n%s", logged);
		assert_non_null(strstr(logged, " xorb-backup: xorb-scheduled: all: exit 0 (ok)"));
		free(logged);
		xt_result_release(&r);

		snprintf(cron_line, sizeof(cron_line), "%s", line + off);
		jobs++;
	}
	free(text);
	assert_true(jobs >= 1);
	/* prune ran after the backups: --keep-last 2 leaves two per tenant */
	assert_int_equal(count_sidecars("t-ops"), 2);
	assert_int_equal(count_sidecars("t-demo"), 2);
	/* metrics were written by the scheduled runs */
	snprintf(path, sizeof(path), "%s/sched.prom", work);
	text = slurp(path);
	assert_non_null(strstr(text, "xorb_backup_runs_total{tenant=\"t-ops\",result=\"ok\"}"));
	free(text);

	/* 6. a failed job fails the cron command too (a pipe into logger, as
	 * the crontab had, exited 0): the crontab's line, its settings pointing
	 * at a closed port */
	{
		char failenv[4400], *p, *logged;
		const char *fail_cmd[] = { "/bin/sh", "-c", cmd, NULL };

		snprintf(failenv, sizeof(failenv), "%s/xorb-fail.env", work);
		f = fopen(failenv, "w");
		assert_non_null(f);
		fprintf(f, "NATS_URL=nats://127.0.0.1:1\nXORB_STORE=%s\nXORB_TENANTS=t-ops\nXORB_PRUNE_FLAGS=\"--keep-last 2\"\n"
			   "XORB_METRICS_FILE=%s/sched.prom\nXORB_BIN_DIR=%s\nXORB_LOCK_DIR=%s/locks\nXORB_SYSLOG_SOCKET=%s\n",
			store, work, getenv("XORB_BIN_DIR"), work, sock);
		fclose(f);
		p = strstr(cron_line, "/usr/local/lib/xorb-dr/xorb-scheduled");
		assert_non_null(p);
		snprintf(cmd, sizeof(cmd), "XORB_ENV_FILE='%s'; export XORB_ENV_FILE; %.*s%s/schedules/xorb-scheduled%s",
			 failenv, (int)(p - cron_line), cron_line, src, p + strlen("/usr/local/lib/xorb-dr/xorb-scheduled"));
		assert_int_equal(run(&r, fail_cmd), 2);
		xt_result_release(&r);
		logged = sink_text(&sink);
		if (!strstr(logged, " xorb-backup: xorb-scheduled: all: exit 2 (FAILED)"))
			fprintf(stderr, "--- syslog:\n%s", logged);
		assert_non_null(strstr(logged, "connecting to nats://127.0.0.1:1 failed"));
		assert_non_null(strstr(logged, " xorb-backup: xorb-scheduled: all: exit 2 (FAILED)"));
		free(logged);
		/* and the failure is in the metrics */
		text = slurp(path);
		assert_non_null(strstr(text, "xorb_backup_runs_total{tenant=\"t-ops\",result=\"failed\"} 1"));
		assert_non_null(strstr(text, "xorb_backup_last_run_success{tenant=\"t-ops\"} 0"));
		free(text);
	}

	/* 7. failures the metrics must show too, each run of the wrapper one more
	 * failed run of t-ops (and of t-demo, both named by XORB_TENANTS):
	 *   a store that cannot be opened (a regular file where the directory is);
	 *   a lock that cannot be taken (XORB_LOCK_DIR under a regular file): the
	 *     wrapper died at its "exec 9>" before, exit 2 with no message and no
	 *     metrics; it records them itself now. */
	{
		static const char *const cases[][2] = {
			{ "store", "cannot open the store directory" },
			{ "lock", "cannot create the lock" },
		};
		char failenv[4400], notdir[4400], *logged;
		const char *fail_cmd[] = { "/bin/sh", "-c", cmd, NULL };
		size_t i;

		snprintf(notdir, sizeof(notdir), "%s/not-a-dir", work);
		f = fopen(notdir, "w");
		assert_non_null(f);
		fclose(f);
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const char *what = cases[i][0];
			char want[128];

			snprintf(failenv, sizeof(failenv), "%s/xorb-fail-%s.env", work, what);
			f = fopen(failenv, "w");
			assert_non_null(f);
			fprintf(f, "NATS_URL=%s\nXORB_STORE=%s\nXORB_TENANTS=t-ops,t-demo\nXORB_PRUNE_FLAGS=\"--keep-last 2\"\n"
				   "XORB_METRICS_FILE=%s/sched.prom\nXORB_BIN_DIR=%s\nXORB_LOCK_DIR=%s\nXORB_SYSLOG_SOCKET=%s\n",
				srv.url, !strcmp(what, "store") ? notdir : store, work, getenv("XORB_BIN_DIR"),
				!strcmp(what, "lock") ? notdir : work, sock);
			fclose(f);
			snprintf(cmd, sizeof(cmd), "XORB_ENV_FILE='%s' '%s/schedules/xorb-scheduled' --syslog xorb-backup all",
				 failenv, src);
			if (run(&r, fail_cmd) != 2)
				show(what, &r);
			assert_int_equal(r.status, 2);
			xt_result_release(&r);
			logged = sink_text(&sink);
			if (!strstr(logged, cases[i][1]) || !strstr(logged, " xorb-backup: xorb-scheduled: all: exit 2 (FAILED)"))
				fprintf(stderr, "--- %s: syslog:\n%s", what, logged);
			assert_non_null(strstr(logged, cases[i][1]));
			assert_non_null(strstr(logged, " xorb-backup: xorb-scheduled: all: exit 2 (FAILED)"));
			free(logged);
			text = slurp(path);
			snprintf(want, sizeof(want), "xorb_backup_runs_total{tenant=\"t-ops\",result=\"failed\"} %zu", i + 2);
			if (!strstr(text, want))
				fprintf(stderr, "--- %s: want %s in:\n%s", what, want, text);
			assert_non_null(strstr(text, want));
			assert_non_null(strstr(text, "xorb_backup_last_run_success{tenant=\"t-ops\"} 0"));
			assert_non_null(strstr(text, "xorb_backup_last_run_success{tenant=\"t-demo\"} 0"));
			free(text);
		}
	}
	sink_stop(&sink, sock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_parallel_one_failure),
		cmocka_unit_test(test_all_from_env_file),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_hooks),
		cmocka_unit_test(test_json_logs_and_progress),
		cmocka_unit_test(test_schedules),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

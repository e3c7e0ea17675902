/*
 * The S3 plugin against a misbehaving server: a real OpenStack Swift +
 * s3api (scripts/swift-harness.sh) behind tests/s3proxy/fault_proxy.py, an
 * HTTP proxy that answers some requests with 500 InternalError or 503
 * SlowDown, resets connections or holds answers back. Backup, verify and
 * restore must ride through a fraction of failures (retries with backoff),
 * and give up with a clear message, leaving nothing visible, when every
 * attempt fails. awscli talks to Swift directly to check what is left.
 * Nothing is skipped: without Swift, awscli or python3 the test fails.
 */
#include "xt_fixture.h"
#include "xt_harness.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define AWS "/usr/bin/aws"
#define PYTHON "/usr/bin/python3"
#define BUCKET "xorb-faults"

static const char *const big_streams[] = { "xorb-t-big-scan-live", NULL };

static struct xt_server src;
static natsConnection *src_nc;
static char *swift_dir, *work_dir;
static char harness[4096], proxy_script[4096];
static char endpoint[128], via_proxy[128];
static char env_key[256], env_secret[256];
static const char *s3_env[24];
static char env_cfg[4200], env_creds[4200];
static char control[4200], proxy_log[4200];
static pid_t proxy;
static char good_id[64];

/* ---- helpers ----------------------------------------------------------- */

static void show(const char *what, const struct xt_result *r)
{
	fprintf(stderr, "--- %s: exit %d%s\n--- stdout:\n%s--- stderr:\n%s", what, r->status,
		r->timed_out ? " (timed out)" : "", r->out ? r->out : "", r->err ? r->err : "");
}

/* Runs argv with the S3 environment; the exit status (-1: not run/timed out). */
static int run(struct xt_result *r, const char *const *argv, int timeout)
{
	memset(r, 0, sizeof(*r));
	if (xt_run(argv, s3_env, timeout, r))
		return -1;
	return r->status;
}

static char *must(const char *what, const char *const *argv)
{
	struct xt_result r;
	char *out;

	if (run(&r, argv, 180) != 0)
		show(what, &r);
	assert_int_equal(r.status, 0);
	assert_false(r.timed_out);
	out = strdup(r.out);
	xt_result_release(&r);
	return out;
}

/* Starts argv with the S3 environment and output to /dev/null, for a test
 * that kills it; the caller reaps it. */
static pid_t spawn(const char *const *argv)
{
	pid_t pid = fork();
	int i;

	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		for (i = 0; s3_env[i]; i++)
			putenv((char *)s3_env[i]);
		dup2(null, 1);
		dup2(null, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* awscli against Swift itself, never through the proxy. */
static char *aws(const char *what, const char *const *args)
{
	const char *argv[24] = { AWS, "--endpoint-url", endpoint };
	size_t i;

	for (i = 0; args[i] && i < 20; i++)
		argv[3 + i] = args[i];
	argv[3 + i] = NULL;
	return must(what, argv);
}

static void json_field(const char *text, const char *key, char *out, size_t len)
{
	cJSON *j = cJSON_Parse(text);
	const char *v;

	assert_non_null(j);
	v = cJSON_GetStringValue(cJSON_GetObjectItem(j, key));
	assert_non_null(v);
	snprintf(out, len, "%s", v);
	cJSON_Delete(j);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the fault proxy ---------------------------------------------------- */

/* Replaces the proxy's rules (it re-reads the file on every request). */
static void set_rules(const char *rules)
{
	char tmp[4300];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", control);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(rules, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, control), 0);
}

static off_t log_size(void)
{
	struct stat sb;

	return stat(proxy_log, &sb) ? 0 : sb.st_size;
}

/* Lines of the proxy log after byte off that contain needle. */
static int log_count(off_t off, const char *needle)
{
	char line[8192];
	int n = 0;
	FILE *f = fopen(proxy_log, "r");

	assert_non_null(f);
	assert_int_equal(fseeko(f, off, SEEK_SET), 0);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

static int proxy_start(void)
{
	int out[2], logfd, got = 0, port = 0;
	char buf[128];
	double until;

	snprintf(control, sizeof(control), "%s/rules", work_dir);
	snprintf(proxy_log, sizeof(proxy_log), "%s/proxy.log", work_dir);
	if (access(PYTHON, X_OK) || access(proxy_script, R_OK)) {
		fprintf(stderr, "no %s or %s\n", PYTHON, proxy_script);
		return -1;
	}
	if (pipe(out))
		return -1;
	logfd = open(proxy_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0)
		return -1;
	proxy = fork();
	if (proxy < 0)
		return -1;
	if (proxy == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
		dup2(out[1], 1);
		dup2(logfd, 2);
		execl(PYTHON, PYTHON, proxy_script, "--upstream", endpoint, "--control", control, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	close(logfd);
	/* the first line is "PORT <n>" */
	until = now_s() + 15;
	while (got < (int)sizeof(buf) - 1 && !memchr(buf, '\n', (size_t)got) && now_s() < until) {
		struct pollfd p = { out[0], POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(out[0], buf + got, sizeof(buf) - 1 - (size_t)got);
		if (n <= 0)
			break;
		got += (int)n;
	}
	close(out[0]); /* later prints would get EPIPE: it prints nothing else */
	buf[got] = '\0';
	if (sscanf(buf, "PORT %d", &port) != 1 || port <= 0) {
		fprintf(stderr, "fault proxy did not print its port (got \"%s\"); see %s\n", buf, proxy_log);
		return -1;
	}
	snprintf(via_proxy, sizeof(via_proxy), "http://127.0.0.1:%d", port);
	fprintf(stderr, "fault proxy pid %d at %s -> %s\n", (int)proxy, via_proxy, endpoint);
	return 0;
}

static void proxy_stop(void)
{
	int status, i;

	if (proxy <= 0)
		return;
	kill(proxy, SIGTERM);
	for (i = 0; i < 50 && waitpid(proxy, &status, WNOHANG) == 0; i++)
		usleep(100 * 1000);
	if (i == 50) {
		kill(proxy, SIGKILL);
		waitpid(proxy, &status, 0);
	}
	proxy = 0;
}

/* ---- setup ------------------------------------------------------------- */

static void swift_stop(void)
{
	if (swift_dir && *harness) {
		const char *argv[] = { harness, "stop", swift_dir, NULL };
		struct xt_result r;

		xt_run(argv, NULL, 60, &r);
		xt_result_release(&r);
		if (!getenv("XT_KEEP"))
			xt_rmtree(swift_dir);
		free(swift_dir);
		swift_dir = NULL;
	}
}

static void stop_all(void)
{
	proxy_stop();
	swift_stop();
}

static int read_swift_env(void)
{
	char path[4200], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/env", swift_dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "S3_ENDPOINT=", 12))
			snprintf(endpoint, sizeof(endpoint), "%s", line + 12);
		else if (!strncmp(line, "AWS_ACCESS_KEY_ID=", 18))
			snprintf(env_key, sizeof(env_key), "%s", line);
		else if (!strncmp(line, "AWS_SECRET_ACCESS_KEY=", 22))
			snprintf(env_secret, sizeof(env_secret), "%s", line);
	}
	fclose(f);
	return endpoint[0] && env_key[0] && env_secret[0] ? 0 : -1;
}

static int setup(void **state)
{
	const char *srcdir = getenv("XORB_SOURCE_DIR");
	char owner[64], why[1024];
	struct xt_result r;
	size_t n = 0;

	if (!srcdir) {
		fprintf(stderr, "XORB_SOURCE_DIR is not set: run through ctest\n");
		return -1;
	}
	snprintf(harness, sizeof(harness), "%s/scripts/swift-harness.sh", srcdir);
	snprintf(proxy_script, sizeof(proxy_script), "%s/tests/s3proxy/fault_proxy.py", srcdir);
	swift_dir = xt_tempdir("swift");
	work_dir = xt_tempdir("s3faults");
	if (!swift_dir || !work_dir)
		return -1;
	atexit(stop_all);
	snprintf(owner, sizeof(owner), "SWIFT_HARNESS_OWNER=%d", (int)getpid());
	const char *start[] = { harness, "start", swift_dir, NULL };
	const char *start_env[] = { owner, NULL };
	if (xt_run(start, start_env, 180, &r) || r.status != 0) {
		show("swift-harness.sh start", &r);
		xt_result_release(&r);
		return -1;
	}
	xt_result_release(&r);
	if (read_swift_env()) {
		fprintf(stderr, "no usable %s/env\n", swift_dir);
		return -1;
	}

	snprintf(env_cfg, sizeof(env_cfg), "AWS_CONFIG_FILE=%s/aws-config", work_dir);
	snprintf(env_creds, sizeof(env_creds), "AWS_SHARED_CREDENTIALS_FILE=%s/aws-credentials", work_dir);
	s3_env[n++] = env_key;
	s3_env[n++] = env_secret;
	s3_env[n++] = "AWS_REGION=us-east-1";
	s3_env[n++] = "AWS_DEFAULT_REGION=us-east-1";
	s3_env[n++] = "AWS_SESSION_TOKEN=";
	s3_env[n++] = "AWS_ENDPOINT_URL=";
	s3_env[n++] = "AWS_ENDPOINT_URL_S3=";
	s3_env[n++] = "AWS_CA_BUNDLE=";
	s3_env[n++] = "AWS_EC2_METADATA_DISABLED=true";
	s3_env[n++] = "AWS_PAGER=";
	/* awscli >= 2.23 (Debian 13) sends CRC64NVME/CRC32 flexible checksums
	 * that Swift's s3api refuses: only where an operation requires one */
	s3_env[n++] = "AWS_REQUEST_CHECKSUM_CALCULATION=when_required";
	s3_env[n++] = "AWS_RESPONSE_CHECKSUM_VALIDATION=when_required";
	s3_env[n++] = env_cfg;
	s3_env[n++] = env_creds;
	s3_env[n++] = "XORB_STORE=";
	s3_env[n] = NULL;

	free(aws("mb", (const char *const[]){ "s3", "mb", "s3://" BUCKET, NULL }));
	if (proxy_start())
		return -1;

	if (xt_server_start(&src, NULL) || xt_server_connect(&src, &src_nc))
		return -1;
	/* 60,000 x 256 random bytes: an archive of 4 parts of 5 MiB */
	if (xt_fixture_tenant(src_nc, "t-qa", 100, why, sizeof(why)) ||
	    xt_fixture_bulk(src_nc, "xorb-t-big-scan-live", "xorb.t-big.scan.load.created", 60000, 256, why,
			    sizeof(why))) {
		fprintf(stderr, "fixture: %s\n", why);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	proxy_stop();
	natsConnection_Destroy(src_nc);
	xt_server_stop(&src);
	swift_stop();
	if (work_dir) {
		if (!getenv("XT_KEEP"))
			xt_rmtree(work_dir);
		free(work_dir);
		work_dir = NULL;
	}
	return 0;
}

/* ---- tests ------------------------------------------------------------- */

static void need_good_backup(void);

/* A fraction of requests fail in every way: backup, verify and restore all
 * succeed, and the restored stream is the original. */
static void test_rides_through_faults(void **state)
{
	struct xt_server dst;
	natsConnection *dst_nc;
	char why[1024], *out;
	off_t off;
	int n500, n503, nreset, nstall;
	double t0;

	/* backup: all methods. Coprime periods: at most 4 failures in a row */
	set_rules("every 3 500\nevery 4 503\nevery 5 reset\nevery 7 stall 2\n");
	off = log_size();
	t0 = now_s();
	const char *backup[] = { xt_bin("xorb-backup"), "-s", src.url, "tenant", "t-big", "--store", "s3://" BUCKET "/a",
				 "--s3-endpoint", via_proxy, "--s3-path-style", "--s3-part-size", "5M", "--s3-retries", "8",
				 "--json", NULL };
	out = must("backup through faults", backup);
	json_field(out, "backup_id", good_id, sizeof(good_id));
	free(out);
	n500 = log_count(off, "FAULT 500");
	n503 = log_count(off, "FAULT 503");
	nreset = log_count(off, "FAULT reset");
	nstall = log_count(off, "FAULT stall");
	fprintf(stderr, "backup %s in %.1f s: %d requests, faults: %d x 500, %d x 503, %d resets, %d stalls\n", good_id,
		now_s() - t0, log_count(off, "REQ "), n500, n503, nreset, nstall);
	assert_true(n500 >= 1);
	assert_true(n503 >= 1);
	assert_true(nreset >= 1);
	assert_true(nstall >= 1);
	assert_true(log_count(off, "PUT ") >= 4); /* multipart: parts went through the proxy */
	out = aws("list-multipart-uploads", (const char *const[]){ "s3api", "list-multipart-uploads", "--bucket", BUCKET,
								   "--output", "json", NULL });
	assert_null(strstr(out, "UploadId"));
	free(out);

	/* verify: faults on downloads */
	set_rules("every 2 500 match GET\nevery 3 reset match GET\nevery 5 stall 1 match GET\n");
	off = log_size();
	const char *verify[] = { xt_bin("xorb-verify"), "t-big", good_id, "--store", "s3://" BUCKET "/a",
				 "--s3-endpoint", via_proxy, "--s3-path-style", "--s3-retries", "8", NULL };
	out = must("verify through faults", verify);
	assert_non_null(strstr(out, "is whole"));
	free(out);
	fprintf(stderr, "verify: %d requests, %d faults\n", log_count(off, "REQ "), log_count(off, "FAULT"));
	assert_true(log_count(off, "FAULT 500") >= 1);
	assert_true(log_count(off, "FAULT reset") >= 1);

	/* restore: the same, into another server */
	off = log_size();
	assert_int_equal(xt_server_start(&dst, NULL), 0);
	assert_int_equal(xt_server_connect(&dst, &dst_nc), 0);
	const char *restore[] = { xt_bin("xorb-restore"), "-s", dst.url, "t-big", good_id, "--store", "s3://" BUCKET "/a",
				  "--s3-endpoint", via_proxy, "--s3-path-style", "--s3-retries", "8", NULL };
	free(must("restore through faults", restore));
	fprintf(stderr, "restore: %d requests, %d faults\n", log_count(off, "REQ "), log_count(off, "FAULT"));
	assert_true(log_count(off, "FAULT") >= 1);
	for (size_t i = 0; big_streams[i]; i++) {
		int rc = xt_compare_stream(src_nc, dst_nc, big_streams[i], why, sizeof(why));

		if (rc)
			fprintf(stderr, "stream %s differs: %s\n", big_streams[i], why);
		assert_int_equal(rc, 0);
	}
	natsConnection_Destroy(dst_nc);
	xt_server_stop(&dst);
	set_rules("");
}

/* Every upload answered 503 SlowDown: the backup gives up after 3 attempts,
 * says so, and leaves nothing in the bucket. */
static void test_gives_up_on_uploads(void **state)
{
	struct xt_result r;
	char *out;
	double t0, took;
	off_t off;

	set_rules("always 503 match PUT,POST\n");
	off = log_size();
	t0 = now_s();
	const char *backup[] = { xt_bin("xorb-backup"), "-s", src.url, "tenant", "t-qa", "--store", "s3://" BUCKET "/b",
				 "--s3-endpoint", via_proxy, "--s3-path-style", "--s3-retries", "3", NULL };
	int rc = run(&r, backup, 120);
	took = now_s() - t0;
	show("backup, every upload refused", &r);
	fprintf(stderr, "gave up in %.1f s, %d faults\n", took, log_count(off, "FAULT 503"));
	assert_int_equal(rc, 2);
	assert_true(took < 60);
	assert_non_null(strstr(r.err, "xorb-backup: error: "));
	/* the archive is small: one PutObject, tried 3 times, then given up */
	assert_non_null(strstr(r.err, "PutObject of \"b/t-qa/"));
	assert_non_null(strstr(r.err, "HTTP 503 SlowDown"));
	assert_non_null(strstr(r.err, "(after 3 attempts)"));
	assert_int_equal(log_count(off, "FAULT 503"), 3);
	xt_result_release(&r);
	set_rules("");

	/* nothing under the prefix, and no upload left open (Swift directly) */
	out = aws("list-objects-v2", (const char *const[]){ "s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix",
							      "b/", "--query", "Contents[].Key", "--output", "text", NULL });
	fprintf(stderr, "left under b/: %s", out);
	assert_null(strstr(out, "t-qa"));
	assert_null(strstr(out, ".json"));
	free(out);
	out = aws("list-multipart-uploads", (const char *const[]){ "s3api", "list-multipart-uploads", "--bucket", BUCKET,
								   "--output", "json", NULL });
	assert_null(strstr(out, "UploadId"));
	free(out);
}

/* xorb-backup SIGKILLed in the middle of a multipart upload: no backup is
 * visible, a rerun succeeds. A killed process cannot abort its multipart
 * upload: the upload it left open is the documented limit (a bucket
 * lifecycle rule removes such uploads); the test checks it is the only trace
 * and then aborts it. */
static void test_killed_backup_on_s3(void **state)
{
	char *out, upload[256] = "";
	off_t off;
	pid_t pid;
	int i, st = 0;

	/* parts are held 1 s each by the proxy, so the run is still uploading */
	set_rules("every 1 stall 1 match PUT\n");
	off = log_size();
	const char *backup[] = { xt_bin("xorb-backup"), "-s", src.url, "tenant", "t-big", "--store", "s3://" BUCKET "/k",
				 "--s3-endpoint", via_proxy, "--s3-path-style", "--s3-part-size", "5M", NULL };
	pid = spawn(backup);
	/* wait for the multipart upload to start, then kill it mid-way */
	for (i = 0; i < 600 && log_count(off, "?uploads") == 0; i++)
		usleep(50 * 1000);
	usleep(500 * 1000);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	set_rules("");

	const char *list[] = { xt_bin("xorb-backup"), "list", "t-big", "--store", "s3://" BUCKET "/k", "--s3-endpoint",
			       endpoint, "--s3-path-style", NULL };
	out = must("list after the kill", list);
	assert_null(strstr(out, "t-big "));
	free(out);
	out = aws("list-objects-v2", (const char *const[]){ "s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix",
							      "k/", "--query", "Contents[].Key", "--output", "text", NULL });
	assert_null(strstr(out, ".json"));
	assert_null(strstr(out, ".tar.zst"));
	free(out);

	/* a rerun succeeds and is the one complete backup */
	const char *again[] = { xt_bin("xorb-backup"), "-q", "-s", src.url, "tenant", "t-big", "--store", "s3://" BUCKET "/k",
				"--s3-endpoint", endpoint, "--s3-path-style", "--s3-part-size", "5M", NULL };
	free(must("backup rerun", again));
	out = must("list after the rerun", list);
	assert_non_null(strstr(out, "t-big "));
	free(out);

	/* the killed run's open upload: the only trace, removed here */
	out = aws("list-multipart-uploads", (const char *const[]){ "s3api", "list-multipart-uploads", "--bucket", BUCKET,
								   "--prefix", "k/", "--query", "Uploads[0].UploadId",
								   "--output", "text", NULL });
	snprintf(upload, sizeof(upload), "%.*s", (int)strcspn(out, "\r\n"), out);
	free(out);
	fprintf(stderr, "multipart upload left by the killed run: %s\n", upload);
	if (strcmp(upload, "None") && upload[0]) {
		out = aws("list-multipart-uploads", (const char *const[]){ "s3api", "list-multipart-uploads", "--bucket",
									   BUCKET, "--prefix", "k/", "--query", "Uploads[0].Key",
									   "--output", "text", NULL });
		out[strcspn(out, "\r\n")] = '\0';
		free(aws("abort", (const char *const[]){ "s3api", "abort-multipart-upload", "--bucket", BUCKET, "--key", out,
							 "--upload-id", upload, NULL }));
		free(out);
	}
}

/* Every download answered 500: verify fails with a clear message. */
static void test_gives_up_on_downloads(void **state)
{
	struct xt_result r;
	double t0, took;
	off_t off;

	need_good_backup();
	set_rules("always 500 match GET\n");
	off = log_size();
	t0 = now_s();
	const char *verify[] = { xt_bin("xorb-verify"), "t-big", good_id, "--store", "s3://" BUCKET "/a",
				 "--s3-endpoint", via_proxy, "--s3-path-style", "--s3-retries", "3", NULL };
	int rc = run(&r, verify, 120);
	took = now_s() - t0;
	show("verify, every download refused", &r);
	assert_int_equal(rc, 2);
	assert_true(took < 60);
	assert_non_null(strstr(r.err, "xorb-verify: error: "));
	/* the first download (the listing) fails 3 times; the message names it */
	assert_non_null(strstr(r.err, "ListObjectsV2 on bucket \"" BUCKET "\""));
	assert_non_null(strstr(r.err, "HTTP 500 InternalError"));
	assert_non_null(strstr(r.err, "(after 3 attempts)"));
	assert_int_equal(log_count(off, "FAULT 500"), 3);
	xt_result_release(&r);
	set_rules("");
}


/* The backup id of t-big in s3://BUCKET/a made by the first test, or a new
 * one when that test failed. */
static void need_good_backup(void)
{
	char *out;

	if (good_id[0])
		return;
	const char *backup[] = { xt_bin("xorb-backup"), "-s", src.url, "tenant", "t-big", "--store", "s3://" BUCKET "/a",
				 "--s3-endpoint", endpoint, "--s3-path-style", "--s3-part-size", "5M", "--json", NULL };
	out = must("backup", backup);
	json_field(out, "backup_id", good_id, sizeof(good_id));
	free(out);
}

/* What a killed restore may leave: nothing, or on nats-server 2.14+ (which
 * build the stream as chunks arrive) a partial stream marked by the restore
 * ("xorb-dr.restore" in its metadata), which the rerun replaces. */
static int absent_or_marked_partial(natsConnection *nc, const char *name)
{
	char subj[300];
	natsMsg *m = NULL;
	int ok;

	snprintf(subj, sizeof(subj), "$JS.API.STREAM.INFO.%s", name);
	assert_int_equal(natsConnection_RequestString(&m, nc, subj, "", 5000), NATS_OK);
	ok = strstr(natsMsg_GetData(m), "\"error\"") != NULL ||
	     strstr(natsMsg_GetData(m), "\"xorb-dr.restore\":\"run ") != NULL;
	natsMsg_Destroy(m);
	return ok;
}

static int dir_is_empty(const char *dir)
{
	const char *argv[] = { "/usr/bin/find", dir, "-mindepth", "1", NULL };
	struct xt_result r;
	int empty;

	memset(&r, 0, sizeof(r));
	assert_int_equal(xt_run(argv, NULL, 30, &r), 0);
	empty = r.status == 0 && r.out_len == 0;
	if (!empty)
		fprintf(stderr, "left in %s:\n%s", dir, r.out);
	xt_result_release(&r);
	return empty;
}

/*
 * A store far slower than the server sends the snapshot (the proxy holds
 * every uploaded part 2 s: about 7 MiB/s against the server's 25 MiB/s when
 * acks lag): the backup succeeds, the backlog waits in a temporary file in
 * TMPDIR that is gone afterwards, and the backup restores identical. With
 * an unusable TMPDIR the same backup fails naming it, and leaves nothing.
 */
static void test_slow_store_spools(void **state)
{
	static const char *const slow_streams[] = { "xorb-t-slow-scan-live", NULL };
	const char *env[20];
	char spool[4200], tmpdir[4300], why[1024];
	struct xt_server dst;
	natsConnection *dst_nc;
	struct xt_result r;
	size_t n;
	int rc;

	/* 80,000 x 1 KiB random: an 80 MB snapshot, far more than memory holds.
	 * Under memcheck 40 MB: the reader thread there takes chunks off the
	 * connection slower than the server sends them, and past 64 MiB queued
	 * nats-server drops it as a slow consumer; 40 MB still spools. */
	if (xt_fixture_bulk(src_nc, "xorb-t-slow-scan-live", "xorb.t-slow.scan.load.created",
			    xt_memcheck() ? 40000 : 80000, 1024, why, sizeof(why)))
		fail_msg("fixture: %s", why);
	snprintf(spool, sizeof(spool), "%s/spool", work_dir);
	assert_int_equal(mkdir(spool, 0700), 0);
	for (n = 0; s3_env[n]; n++)
		env[n] = s3_env[n];
	snprintf(tmpdir, sizeof(tmpdir), "TMPDIR=%s", spool);
	env[n++] = tmpdir;
	env[n] = NULL;

	/* under memcheck the snapshot also arrives slower: hold parts longer */
	set_rules(xt_memcheck() ? "every 1 stall 6 match PUT\n" : "every 1 stall 2 match PUT\n");
	const char *backup[] = { xt_bin("xorb-backup"), "-v", "-s", src.url, "tenant", "t-slow", "--store",
				 "s3://" BUCKET "/slow", "--s3-endpoint", via_proxy, "--s3-path-style", NULL };
	memset(&r, 0, sizeof(r));
	rc = xt_run(backup, env, 600, &r);
	if (rc || r.status)
		show("backup into a slow store", &r);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "bytes waited in a temporary file"));
	xt_result_release(&r);
	assert_true(dir_is_empty(spool));

	/* the same with a TMPDIR that does not exist. Not under memcheck:
	 * valgrind itself needs TMPDIR (it keeps the command's stand-in
	 * /proc/self/cmdline there) and cannot start the command at all */
	if (!xt_memcheck()) {
		snprintf(tmpdir, sizeof(tmpdir), "TMPDIR=%s/missing", spool);
		const char *failing[] = { xt_bin("xorb-backup"), "-s", src.url, "tenant", "t-slow", "--store",
					  "s3://" BUCKET "/slow2", "--s3-endpoint", via_proxy, "--s3-path-style", NULL };
		memset(&r, 0, sizeof(r));
		xt_run(failing, env, 600, &r);
		show("backup into a slow store, no TMPDIR", &r);
		assert_int_equal(r.status, 2);
		assert_non_null(strstr(r.err, "the store is slower than the server sends the snapshot"));
		assert_non_null(strstr(r.err, "/spool/missing"));
		assert_non_null(strstr(r.err, "TMPDIR"));
		xt_result_release(&r);
		const char *list[] = { xt_bin("xorb-backup"), "list", "t-slow", "--store", "s3://" BUCKET "/slow2",
				       "--s3-endpoint", endpoint, "--s3-path-style", NULL };
		char *out = must("list after the failed backup", list);
		assert_null(strstr(out, "t-slow "));
		free(out);
		out = aws("list-multipart-uploads", (const char *const[]){ "s3api", "list-multipart-uploads", "--bucket", BUCKET,
									   "--prefix", "slow2/", "--output", "json", NULL });
		assert_null(strstr(out, "UploadId"));
		free(out);
	}
	set_rules("");

	/* the spooled backup is whole */
	assert_int_equal(xt_server_start(&dst, NULL), 0);
	assert_int_equal(xt_server_connect(&dst, &dst_nc), 0);
	const char *restore[] = { xt_bin("xorb-restore"), "-q", "-s", dst.url, "t-slow", "--store", "s3://" BUCKET "/slow",
				  "--s3-endpoint", endpoint, "--s3-path-style", NULL };
	free(must("restore of the spooled backup", restore));
	rc = xt_compare_stream(src_nc, dst_nc, slow_streams[0], why, sizeof(why));
	if (rc)
		fprintf(stderr, "stream %s differs: %s\n", slow_streams[0], why);
	assert_int_equal(rc, 0);
	natsConnection_Destroy(dst_nc);
	xt_server_stop(&dst);
}

/* xorb-restore SIGKILLed while it streams a backup from S3 into the server
 * (downloads throttled to 1 MiB/s by the proxy): no stream appears, also
 * after the server dropped the unfinished restore; a rerun succeeds. */
static void test_killed_restore_from_s3(void **state)
{
	struct xt_server dst;
	natsConnection *dst_nc;
	char archive[128], why[1024];
	off_t off;
	pid_t pid;
	int i, st = 0;
	size_t k;

	need_good_backup();
	assert_int_equal(xt_server_start(&dst, NULL), 0);
	assert_int_equal(xt_server_connect(&dst, &dst_nc), 0);
	set_rules("always throttle 1024 match GET\n");
	off = log_size();
	const char *restore[] = { xt_bin("xorb-restore"), "-s", dst.url, "t-big", good_id, "--store", "s3://" BUCKET "/a",
				  "--s3-endpoint", via_proxy, "--s3-path-style", NULL };
	pid = spawn(restore);
	/* wait until the archive streams in, let 2 MiB of it reach the server */
	snprintf(archive, sizeof(archive), "%s.tar.zst", good_id);
	for (i = 0; i < 1200 && log_count(off, archive) == 0; i++)
		usleep(50 * 1000);
	assert_true(log_count(off, archive) > 0);
	sleep(2);
	assert_int_equal(waitpid(pid, &st, WNOHANG), 0); /* still running */
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	set_rules("");
	for (k = 0; big_streams[k]; k++)
		assert_true(absent_or_marked_partial(dst_nc, big_streams[k]));
	sleep(7); /* the server drops a restore that never got its final message */
	for (k = 0; big_streams[k]; k++)
		assert_true(absent_or_marked_partial(dst_nc, big_streams[k]));

	const char *again[] = { xt_bin("xorb-restore"), "-q", "-s", dst.url, "t-big", good_id, "--store",
				"s3://" BUCKET "/a", "--s3-endpoint", endpoint, "--s3-path-style", NULL };
	free(must("restore rerun", again));
	for (k = 0; big_streams[k]; k++) {
		int rc = xt_compare_stream(src_nc, dst_nc, big_streams[k], why, sizeof(why));

		if (rc)
			fprintf(stderr, "stream %s differs: %s\n", big_streams[k], why);
		assert_int_equal(rc, 0);
	}
	natsConnection_Destroy(dst_nc);
	xt_server_stop(&dst);
}

/* xorb-backup copy from a file store into S3 through faults (500s, resets):
 * the copy is whole (xorb-verify against Swift directly) and a second copy
 * finds it there. */
static void test_copy_to_s3_through_faults(void **state)
{
	char store[4200], id[64], *out;
	off_t off;

	snprintf(store, sizeof(store), "%s/local", work_dir);
	const char *backup[] = { xt_bin("xorb-backup"), "-s", src.url, "tenant", "t-big", "--store", store, "--json", NULL };
	out = must("backup into the file store", backup);
	json_field(out, "backup_id", id, sizeof(id));
	free(out);

	set_rules("every 3 500\nevery 5 reset\n");
	off = log_size();
	const char *copy[] = { xt_bin("xorb-backup"), "--store", store, "copy", "t-big", "--to", "s3://" BUCKET "/copy",
			       "--s3-endpoint", via_proxy, "--s3-path-style", "--s3-retries", "8", NULL };
	out = must("copy through faults", copy);
	assert_non_null(strstr(out, " copied ("));
	free(out);
	fprintf(stderr, "copy: %d requests, %d faults\n", log_count(off, "REQ "), log_count(off, "FAULT"));
	assert_true(log_count(off, "FAULT") >= 1);
	assert_true(log_count(off, "?uploads") >= 1); /* multipart */
	set_rules("");

	const char *verify[] = { xt_bin("xorb-verify"), "t-big", id, "--store", "s3://" BUCKET "/copy", "--s3-endpoint",
				 endpoint, "--s3-path-style", NULL };
	out = must("verify the copy", verify);
	assert_non_null(strstr(out, "is whole"));
	free(out);
	out = must("copy again", copy);
	assert_non_null(strstr(out, "already in"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rides_through_faults),
		cmocka_unit_test(test_gives_up_on_uploads),
		cmocka_unit_test(test_gives_up_on_downloads),
		cmocka_unit_test(test_killed_backup_on_s3),
		cmocka_unit_test(test_slow_store_spools),
		cmocka_unit_test(test_killed_restore_from_s3),
		cmocka_unit_test(test_copy_to_s3_through_faults),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * Faults in the middle of a run. Each must end with exit != 0 and a clear
 * message, no complete-looking backup, no half-restored stream, and a rerun
 * that succeeds:
 *  - nats-server SIGKILLed during a backup and during a restore;
 *  - xorb-restore SIGKILLed during a restore;
 *  - the file store's file system full (a small tmpfs mounted by the test).
 * (xorb-backup SIGKILLed mid-run: test_backup_restore.)
 */
#include "xt_fixture.h"
#include "xt_harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define STREAM "xorb-t-fault-scan-live"

static char *work;
static char jsdir[4200], store[4200], store_env[4300], errfile[4200];
static struct xt_server src;

static int setup(void **state)
{
	struct xt_server_opts o = { 1, NULL, NULL, 0 };
	natsConnection *nc;
	char why[512];

	work = xt_tempdir("xorb-faults");
	snprintf(jsdir, sizeof(jsdir), "%s/js", work);
	snprintf(store, sizeof(store), "%s/store", work);
	snprintf(store_env, sizeof(store_env), "XORB_STORE=%s", store);
	snprintf(errfile, sizeof(errfile), "%s/err.txt", work);
	o.store_dir = jsdir;
	assert_int_equal(xt_server_start(&src, &o), 0);
	assert_int_equal(xt_server_connect(&src, &nc), 0);
	/* under memcheck the commands run 5 to 10 times slower here: a quarter
	 * of the data keeps the same runs as long and still midway at a kill */
	if (xt_fixture_bulk(nc, STREAM, "xorb.t-fault.scan.load.created", xt_memcheck() ? 50000 : 200000, 256, why,
			    sizeof(why))) {
		fprintf(stderr, "fixture: %s\n", why);
		return -1;
	}
	natsConnection_Destroy(nc);
	return 0;
}

static int teardown(void **state)
{
	xt_server_stop(&src);
	xt_rmtree(work);
	free(work);
	return 0;
}

/* Starts argv in the background with stdout/stderr to errfile. */
static pid_t spawn(const char *const *argv, const char *store_dir)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		setenv("XORB_STORE", store_dir, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static char *slurp(const char *path)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

static int exit_code(pid_t pid)
{
	int st = 0;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Files in dir (recursively one level) that are not hidden temporaries. */
static int visible(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char sub[4400];
		struct stat sb;

		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		if (stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
			n += visible(sub);
		else
			n++;
	}
	closedir(d);
	return n;
}

static int hidden(const char *dir)
{
	char cmd[4400];
	struct xt_result r;
	int n;

	snprintf(cmd, sizeof(cmd), "find '%s' -name '.*.tmp-*' 2>/dev/null | wc -l", dir);
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	assert_int_equal(xt_run(argv, NULL, 30, &r), 0);
	n = atoi(r.out);
	xt_result_release(&r);
	return n;
}

/* Waits (up to 30 s) for a non-empty hidden temporary archive under dir:
 * the backup is mid-run. 0 when pid ended first. */
static int wait_for_tmp(const char *dir, pid_t pid)
{
	char cmd[4400];
	int i;

	snprintf(cmd, sizeof(cmd), "find '%s' -name '.*.tar.zst.tmp-*' -size +0 2>/dev/null | grep -q .", dir);
	for (i = 0; i < 3000; i++) {
		if (system(cmd) == 0)
			return 1;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return 0;
		usleep(10 * 1000);
	}
	return 0;
}

static int stream_exists(const struct xt_server *s, const char *name);

/* Waits until the restore pid streams into server s (JetStream store js):
 * the server stages the incoming snapshot (a non-empty file in
 * <js>/jetstream/.snap-staging, nats-server 2.9 to 2.13) or, from 2.14 on,
 * builds the stream as the chunks arrive (it exists). Up to 60 s or pid's
 * end (left for the caller to reap). */
static void wait_midway_restore(const struct xt_server *s, const char *js, pid_t pid)
{
	char dir[4400], p[4700];
	int i, found = 0;

	snprintf(dir, sizeof(dir), "%s/jetstream/.snap-staging", js);
	for (i = 0; i < 6000 && !found; i++) {
		siginfo_t si = { 0 };
		struct dirent *de;
		struct stat sb;
		DIR *d;

		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) || si.si_pid == pid)
			break;
		d = opendir(dir);
		while (d && (de = readdir(d))) {
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			found |= de->d_name[0] != '.' && !stat(p, &sb) && S_ISREG(sb.st_mode) && sb.st_size > 0;
		}
		if (d)
			closedir(d);
		if (!found && i % 10 == 0)
			found = stream_exists(s, STREAM);
		usleep(10 * 1000);
	}
	if (!found)
		fail_msg("the restore (pid %ld) never streamed into the server", (long)pid);
	usleep(100 * 1000);
}

static void restart(struct xt_server *s, const char *js)
{
	struct xt_server_opts o = { 1, NULL, js, s->port };

	assert_int_equal(xt_server_start(s, &o), 0);
}

/* STREAM.INFO of name on s: the reply text (static; an "error" member when
 * the stream does not exist). */
static const char *stream_info(const struct xt_server *s, const char *name)
{
	static char text[65536];
	natsConnection *nc;
	natsMsg *m = NULL;
	char subj[300];

	assert_int_equal(xt_server_connect(s, &nc), 0);
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.INFO.%s", name);
	assert_int_equal(natsConnection_RequestString(&m, nc, subj, "", 5000), NATS_OK);
	snprintf(text, sizeof(text), "%s", natsMsg_GetData(m));
	natsMsg_Destroy(m);
	natsConnection_Destroy(nc);
	return text;
}

static int stream_exists(const struct xt_server *s, const char *name)
{
	return strstr(stream_info(s, name), "\"error\"") == NULL;
}

/* What a restore killed mid-stream may leave: nothing, or on nats-server
 * 2.14+ (which build the stream as chunks arrive) a partial stream marked
 * by the restore ("xorb-dr.restore" in its metadata) for the rerun. */
static int absent_or_marked_partial(const struct xt_server *s, const char *name)
{
	const char *text = stream_info(s, name);
	int ok = strstr(text, "\"error\"") != NULL || strstr(text, "\"xorb-dr.restore\":\"run ") != NULL;

	if (!ok)
		fprintf(stderr, "unmarked stream left: %s\n", text);
	return ok;
}

static void test_server_killed_during_backup(void **state)
{
	struct xt_result r;
	const char *argv[] = { xt_bin("xorb-backup"), "-s", src.url, "tenant", "t-fault", "--chunk-size", "4096",
			       "--idle-timeout", "5", NULL };
	pid_t pid = spawn(argv, store);
	int port = src.port;

	/* kill the server once the snapshot flows into the archive */
	assert_true(wait_for_tmp(store, pid));
	xt_server_kill(&src);
	assert_int_equal(exit_code(pid), 2);
	assert_non_null(strstr(slurp(errfile), "xorb-backup: error: "));
	assert_non_null(strstr(slurp(errfile), STREAM));
	assert_int_equal(visible(store), 0);
	assert_int_equal(hidden(store), 0);

	src.port = port;
	restart(&src, jsdir);
	const char *again[] = { xt_bin("xorb-backup"), "-q", "-s", src.url, "tenant", "t-fault", NULL };
	const char *env[] = { store_env, NULL };
	assert_int_equal(xt_run(again, env, 300, &r), 0);
	if (r.status)
		fprintf(stderr, "%s", r.err);
	assert_int_equal(r.status, 0);
	xt_result_release(&r);
	assert_int_equal(visible(store), 2); /* the archive and its sidecar */
}

static void test_server_killed_during_restore(void **state)
{
	struct xt_server dst;
	struct xt_server_opts o = { 1, NULL, NULL, 0 };
	char js2[4400], why[1024];
	natsConnection *a, *b;
	struct xt_result r;
	int port;

	snprintf(js2, sizeof(js2), "%s/js-dst", work);
	o.store_dir = js2;
	assert_int_equal(xt_server_start(&dst, &o), 0);
	port = dst.port;
	const char *argv[] = { xt_bin("xorb-restore"), "-s", dst.url, "t-fault", "--window", "1", "--chunk-size", "16K", NULL };
	pid_t pid = spawn(argv, store);

	wait_midway_restore(&dst, js2, pid);
	xt_server_kill(&dst);
	assert_int_equal(exit_code(pid), 2);
	assert_non_null(strstr(slurp(errfile), "xorb-restore: error: "));
	dst.port = port;
	restart(&dst, js2);
	assert_true(absent_or_marked_partial(&dst, STREAM));

	const char *again[] = { xt_bin("xorb-restore"), "-q", "-s", dst.url, "t-fault", NULL };
	const char *env[] = { store_env, NULL };
	assert_int_equal(xt_run(again, env, 300, &r), 0);
	if (r.status)
		fprintf(stderr, "%s", r.err);
	assert_int_equal(r.status, 0);
	xt_result_release(&r);
	assert_int_equal(xt_server_connect(&src, &a), 0);
	assert_int_equal(xt_server_connect(&dst, &b), 0);
	assert_int_equal(xt_compare_stream(a, b, STREAM, why, sizeof(why)), 0);
	natsConnection_Destroy(a);
	natsConnection_Destroy(b);
	xt_server_stop(&dst);
	xt_rmtree(js2);
}

static void test_restore_killed(void **state)
{
	struct xt_server dst;
	struct xt_result r;
	const char *env[] = { store_env, NULL };

	assert_int_equal(xt_server_start(&dst, NULL), 0);
	const char *argv[] = { xt_bin("xorb-restore"), "-s", dst.url, "t-fault", "--window", "1", "--chunk-size", "16K", NULL };
	pid_t pid = spawn(argv, store);
	char js[4400];

	snprintf(js, sizeof(js), "%s/js", dst.dir); /* the harness's default store */
	wait_midway_restore(&dst, js, pid);
	kill(pid, SIGKILL);
	assert_int_equal(exit_code(pid), 128 + SIGKILL);
	/* the server drops a restore that never got its final message; from
	 * 2.14 on it keeps what arrived, marked for the rerun */
	sleep(7);
	assert_true(absent_or_marked_partial(&dst, STREAM));
	const char *again[] = { xt_bin("xorb-restore"), "-s", dst.url, "t-fault", NULL };
	assert_int_equal(xt_run(again, env, 300, &r), 0);
	if (r.status)
		fprintf(stderr, "%s", r.err);
	assert_int_equal(r.status, 0);
	if (stream_exists(&dst, STREAM) && strstr(r.err, "deleted the partial stream an interrupted restore left"))
		fprintf(stderr, "the rerun replaced the partial stream the killed restore left\n");
	xt_result_release(&r);
	{
		natsConnection *a, *b;
		char why[1024];

		assert_int_equal(xt_server_connect(&src, &a), 0);
		assert_int_equal(xt_server_connect(&dst, &b), 0);
		assert_int_equal(xt_compare_stream(a, b, STREAM, why, sizeof(why)), 0);
		natsConnection_Destroy(a);
		natsConnection_Destroy(b);
	}
	xt_server_stop(&dst);
}

static void test_store_disk_full(void **state)
{
	char small[4400];
	struct xt_result r;

	snprintf(small, sizeof(small), "%s/small", work);
	assert_int_equal(mkdir(small, 0700), 0);
	if (mount("tmpfs", small, "tmpfs", 0, "size=2m") != 0)
		fail_msg("cannot mount a 2 MiB tmpfs at %s for the disk-full test: %s (the tests run as root)",
			 small, strerror(errno));
	const char *argv[] = { xt_bin("xorb-backup"), "-s", src.url, "--store", small, "tenant", "t-fault", NULL };
	assert_int_equal(xt_run(argv, NULL, 300, &r), 0);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "xorb-backup: error: "));
	assert_non_null(strstr(r.err, "No space left on device"));
	assert_non_null(strstr(r.err, "free space"));
	xt_result_release(&r);
	assert_int_equal(visible(small), 0);
	assert_int_equal(hidden(small), 0);
	const char *list[] = { xt_bin("xorb-backup"), "--store", small, "list", "t-fault", NULL };
	assert_int_equal(xt_run(list, NULL, 60, &r), 0);
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.out, "t-fault "));
	xt_result_release(&r);
	umount2(small, MNT_DETACH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_killed_during_backup),
		cmocka_unit_test(test_server_killed_during_restore),
		cmocka_unit_test(test_restore_killed),
		cmocka_unit_test(test_store_disk_full),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * Test harness: nats-server processes started, watched and stopped by PID in
 * their own temp dirs, a fork/exec runner that captures a command's output,
 * and the reading of valgrind's logs in memcheck mode (see xt_harness.h).
 * Everything a child needs is prepared before fork(): nats.c runs threads,
 * so the child only calls async-signal-safe functions until exec.
 */
#include "xt_harness.h"

#include "xorb_buf.h"
#include "xorb_json.h"
#include "xorb_nats.h"
#include "xorb_version.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define XT_MAX_SERVERS 64
#define XT_START_TIMEOUT_MS 15000
#define XT_STOP_TIMEOUT_MS 10000

/*
 * Every server this process started, by PID and dir, for the exit and
 * signal handlers. A copy rather than a pointer to the caller's struct: that
 * may live on a stack frame long gone when the handlers run.
 */
static struct {
	volatile pid_t pid; /* 0: not running */
	char dir[4096];	    /* "": nothing to remove */
} servers[XT_MAX_SERVERS];

/* Memcheck mode: the directory of valgrind's logs, "" when off. */
static char mc_dir[4096];
static pid_t mc_owner; /* the process whose exit reports the errors */
static int mc_errors;  /* logs with errors read so far */
static int mc_logs;    /* logs read so far */

static volatile pid_t run_child; /* process group of the running xt_run child */
static pid_t owner;		 /* the process that installed the handlers */
static struct sigaction old_int, old_term, old_abrt;
static int hooks_installed;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int keep_dirs(void)
{
	const char *k = getenv("XT_KEEP");

	return k && strcmp(k, "1") == 0;
}

static const char *tmp_root(void)
{
	const char *t = getenv("TMPDIR");

	return t && *t ? t : "/tmp";
}

/*
 * Stops one child: SIGTERM, up to XT_STOP_TIMEOUT_MS for it to exit, then
 * SIGKILL. ECHILD (already reaped elsewhere) counts as gone.
 */
static void stop_pid(pid_t pid, int sig_first)
{
	long long deadline = now_ms() + XT_STOP_TIMEOUT_MS;
	pid_t r;

	if (pid <= 0)
		return;
	if (sig_first == SIGTERM) {
		kill(pid, SIGTERM);
		for (;;) {
			r = waitpid(pid, NULL, WNOHANG);
			if (r == pid || (r < 0 && errno != EINTR))
				return;
			if (now_ms() >= deadline)
				break;
			sleep_ms(10);
		}
		fprintf(stderr, "xt: server %ld ignored SIGTERM for %d s, killing it\n",
			(long)pid, XT_STOP_TIMEOUT_MS / 1000);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static void on_exit_stop_all(void)
{
	int i;

	if (getpid() != owner)
		return;
	for (i = 0; i < XT_MAX_SERVERS; i++) {
		if (servers[i].pid > 0) {
			stop_pid(servers[i].pid, SIGTERM);
			servers[i].pid = 0;
		}
		if (servers[i].dir[0]) {
			if (keep_dirs())
				fprintf(stderr, "xt: kept %s\n", servers[i].dir);
			else
				xt_rmtree(servers[i].dir);
			servers[i].dir[0] = '\0';
		}
	}
}

/* Async-signal-safe: kill what we started, then let the previous disposition
 * of the signal take its course. The temp dirs stay behind. */
static void on_fatal_signal(int sig)
{
	const struct sigaction *old;
	int i;

	if (getpid() == owner) {
		for (i = 0; i < XT_MAX_SERVERS; i++)
			if (servers[i].pid > 0)
				kill(servers[i].pid, SIGKILL);
		if (run_child > 0)
			kill(-run_child, SIGKILL);
	}
	old = sig == SIGINT ? &old_int : sig == SIGTERM ? &old_term : &old_abrt;
	sigaction(sig, old, NULL);
	raise(sig);
}

static void hook_signal(int sig, struct sigaction *old)
{
	struct sigaction sa;

	if (sigaction(sig, NULL, old))
		return;
	if (old->sa_handler == SIG_IGN) /* e.g. nohup: leave it ignored */
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void install_hooks(void)
{
	if (hooks_installed)
		return;
	hooks_installed = 1;
	owner = getpid();
	atexit(on_exit_stop_all);
	hook_signal(SIGINT, &old_int);
	hook_signal(SIGTERM, &old_term);
	hook_signal(SIGABRT, &old_abrt);
}

static int reg_add(const char *dir)
{
	int i;

	for (i = 0; i < XT_MAX_SERVERS; i++) {
		if (servers[i].pid == 0 && servers[i].dir[0] == '\0') {
			snprintf(servers[i].dir, sizeof(servers[i].dir), "%s", dir);
			return i;
		}
	}
	return -1;
}

static int reg_find(const char *dir)
{
	int i;

	if (!dir[0])
		return -1;
	for (i = 0; i < XT_MAX_SERVERS; i++)
		if (strcmp(servers[i].dir, dir) == 0)
			return i;
	return -1;
}

/* Prints the last lines of a file on stderr (a failed server's log). */
static void print_tail(const char *path, int lines)
{
	char buf[8192];
	ssize_t n;
	off_t size;
	int fd, seen = 0;
	ssize_t i;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)sizeof(buf) - 1)
		lseek(fd, size - (off_t)sizeof(buf) + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (i = 0; i < n; i++) /* Go error texts may quote a NUL */
		if (buf[i] == '\0')
			buf[i] = '?';
	for (i = n - 1; i > 0; i--) {
		if (buf[i - 1] == '\n' && ++seen > lines)
			break;
	}
	fprintf(stderr, "xt: --- last lines of %s ---\n%s", path, buf + i);
	if (buf[n - 1] != '\n')
		fputc('\n', stderr);
	fprintf(stderr, "xt: --- end of log ---\n");
}

/* Reads the port from <dir>/<name>_<pid>.ports, which nats-server writes once
 * its client listener accepts. 0 when not there yet. */
static int read_ports_file(const char *dir, pid_t pid)
{
	char suffix[64], path[4096 + 256], text[1024];
	struct dirent *de;
	const char *p;
	size_t nl, sl;
	ssize_t n;
	DIR *d;
	int fd, port = 0;

	snprintf(suffix, sizeof(suffix), "_%ld.ports", (long)pid);
	sl = strlen(suffix);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		nl = strlen(de->d_name);
		if (nl <= sl || strcmp(de->d_name + nl - sl, suffix) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			break;
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
		if (n <= 0)
			break;
		text[n] = '\0';
		/* {"nats":["nats://127.0.0.1:36895"]}, or tls:// with TLS on */
		p = strstr(text, "://127.0.0.1:");
		if (p)
			port = atoi(p + strlen("://127.0.0.1:"));
		break;
	}
	closedir(d);
	return port > 0 && port < 65536 ? port : 0;
}

/* A TCP connect to the client port that reads the server's INFO line: the
 * listener is up. Works whatever authentication the config requires. */
static int probe_info(int port)
{
	struct sockaddr_in sa;
	struct pollfd pfd;
	char buf[512];
	ssize_t n;
	int fd, ok = 0;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 1000) == 1) {
			n = read(fd, buf, sizeof(buf) - 1);
			if (n >= 5 && memcmp(buf, "INFO ", 5) == 0)
				ok = 1;
		}
	}
	close(fd);
	return ok;
}

/* Writes the config. Paths are quoted, so they must not contain quotes. */
static int write_conf(struct xt_server *s, const struct xt_server_opts *o,
		      const char *store)
{
	FILE *f;
	int ok;

	if (strpbrk(s->dir, "\"\\") || strpbrk(store, "\"\\")) {
		fprintf(stderr, "xt: path \"%s\" cannot go into a server config\n", store);
		return -1;
	}
	f = fopen(s->conf, "we");
	if (!f) {
		fprintf(stderr, "xt: cannot write %s: %s\n", s->conf, strerror(errno));
		return -1;
	}
	fprintf(f, "# nats-server config written by the xorb test harness\n");
	if (o->port > 0)
		fprintf(f, "listen: 127.0.0.1:%d\n", o->port);
	else
		fprintf(f, "listen: 127.0.0.1:-1\n");
	fprintf(f, "ports_file_dir: \"%s\"\n", s->dir);
	if (o->jetstream)
		fprintf(f, "jetstream {\n\tstore_dir: \"%s\"\n}\n", store);
	if (o->extra_conf)
		fprintf(f, "%s\n", o->extra_conf);
	/* XT_NATS_DEBUG=1: the servers log at debug level (why a login failed) */
	if (getenv("XT_NATS_DEBUG") && !strcmp(getenv("XT_NATS_DEBUG"), "1"))
		fprintf(f, "debug: true\n");
	/* Under valgrind a command needs more than the server's 2 s to answer
	 * the nonce and send CONNECT on a loaded machine ("Authentication
	 * Timeout", seen with xorb-state in memcheck/test_state): give clients
	 * 10 s there, unless the test configures authorization itself. */
	if (getenv("XT_MEMCHECK") && !strcmp(getenv("XT_MEMCHECK"), "1") &&
	    !(o->extra_conf && strstr(o->extra_conf, "authorization")))
		fprintf(f, "authorization {\n\ttimeout: 10\n}\n");
	ok = !ferror(f);
	if (fclose(f) || !ok) {
		fprintf(stderr, "xt: cannot write %s\n", s->conf);
		return -1;
	}
	return 0;
}

/*
 * Forks and execs `file` with argv and envp. The child gets SIGKILL when this
 * thread dies, its own process group, default signal dispositions and an
 * empty signal mask, stdin from /dev/null and stdout/stderr on out_fd and
 * err_fd. An exec failure comes back through a close-on-exec pipe: returns
 * the pid, or -1 with errno set (the child already reaped).
 */
static pid_t spawn(const char *file, char *const argv[], char *const envp[],
		   int out_fd, int err_fd)
{
	static const int reset[] = { SIGINT, SIGTERM, SIGQUIT, SIGPIPE, SIGCHLD,
				     SIGHUP, SIGABRT };
	pid_t parent = getpid(), pid;
	int ep[2], e = 0, devnull;
	sigset_t none;
	ssize_t n;
	size_t i;

	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0)
		return -1;
	if (pipe2(ep, O_CLOEXEC)) {
		e = errno;
		close(devnull);
		errno = e;
		return -1;
	}
	sigemptyset(&none);
	pid = fork();
	if (pid < 0) {
		e = errno;
		close(devnull);
		close(ep[0]);
		close(ep[1]);
		errno = e;
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) /* the parent died before prctl */
			_exit(127);
		setpgid(0, 0);
		for (i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
			signal(reset[i], SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
			e = errno;
		else if (envp)
			execvpe(file, argv, envp);
		else
			execvp(file, argv);
		if (!e)
			e = errno;
		n = write(ep[1], &e, sizeof(e));
		(void)n;
		_exit(127);
	}
	setpgid(pid, pid); /* either this or the child's call wins: no race */
	close(devnull);
	close(ep[1]);
	do
		n = read(ep[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(ep[0]);
	if (n == (ssize_t)sizeof(e)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		errno = e;
		return -1;
	}
	return pid;
}

static void fail_start(struct xt_server *s, int slot, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail_start(struct xt_server *s, int slot, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xt: nats-server in %s did not start: ", s->dir);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (s->log[0])
		print_tail(s->log, 30);
	if (s->pid > 0)
		stop_pid(s->pid, SIGKILL);
	s->pid = 0;
	if (slot >= 0)
		servers[slot].pid = 0;
	if (keep_dirs())
		fprintf(stderr, "xt: kept %s\n", s->dir);
	else
		xt_rmtree(s->dir);
	if (slot >= 0)
		servers[slot].dir[0] = '\0';
	s->dir[0] = '\0';
}

int xt_server_start(struct xt_server *s, const struct xt_server_opts *o)
{
	static const struct xt_server_opts defaults = { .jetstream = 1 };
	const char *bin = getenv("XT_NATS_SERVER");
	char store[4096], *argv[4];
	long long deadline;
	int fd, slot, port;

	install_hooks();
	memset(s, 0, sizeof(*s));
	if (!o)
		o = &defaults;
	if (!bin || !*bin)
		bin = "nats-server";
	if (o->port < 0 || o->port > 65535) {
		fprintf(stderr, "xt: bad port %d\n", o->port);
		return -1;
	}
	if (snprintf(s->dir, sizeof(s->dir), "%s/xt-nats-XXXXXX", tmp_root()) >=
		    (int)sizeof(s->dir) ||
	    !mkdtemp(s->dir)) {
		fprintf(stderr, "xt: cannot create a temp dir under %s: %s\n",
			tmp_root(), strerror(errno));
		s->dir[0] = '\0';
		return -1;
	}
	slot = reg_add(s->dir);
	if (slot < 0) {
		fail_start(s, -1, "more than %d servers at once", XT_MAX_SERVERS);
		return -1;
	}
	snprintf(s->conf, sizeof(s->conf), "%.4000s/server.conf", s->dir);
	snprintf(store, sizeof(store), "%.4000s/js", s->dir);
	if (o->store_dir)
		snprintf(store, sizeof(store), "%s", o->store_dir);
	if (write_conf(s, o, store)) {
		fail_start(s, slot, "no config");
		return -1;
	}
	snprintf(s->log, sizeof(s->log), "%.4000s/server.log", s->dir);
	fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fail_start(s, slot, "cannot create %s: %s", s->log, strerror(errno));
		return -1;
	}
	argv[0] = (char *)bin;
	argv[1] = (char *)"-c";
	argv[2] = s->conf;
	argv[3] = NULL;
	s->pid = spawn(bin, argv, NULL, fd, fd);
	close(fd);
	if (s->pid < 0) {
		s->pid = 0;
		fail_start(s, slot, "cannot execute \"%s\": %s%s", bin, strerror(errno),
			   errno == ENOENT ? " (install nats-server or set XT_NATS_SERVER)" : "");
		return -1;
	}
	servers[slot].pid = s->pid;

	deadline = now_ms() + XT_START_TIMEOUT_MS;
	for (;;) {
		int st;
		pid_t r = waitpid(s->pid, &st, WNOHANG);

		if (r == s->pid) {
			s->pid = 0;
			servers[slot].pid = 0;
			if (WIFEXITED(st))
				fail_start(s, slot, "it exited with status %d", WEXITSTATUS(st));
			else
				fail_start(s, slot, "it died of signal %d", WTERMSIG(st));
			return -1;
		}
		/* The ports file appears once the listener accepts, fixed port or not. */
		port = read_ports_file(s->dir, s->pid);
		if (port && (o->port == 0 || port == o->port) && probe_info(port))
			break;
		if (now_ms() >= deadline) {
			fail_start(s, slot, "not ready within %d s", XT_START_TIMEOUT_MS / 1000);
			return -1;
		}
		sleep_ms(10);
	}
	s->port = port;
	snprintf(s->url, sizeof(s->url), "nats://127.0.0.1:%d", port);
	return 0;
}

void xt_server_stop(struct xt_server *s)
{
	int slot = reg_find(s->dir);

	if (s->pid > 0)
		stop_pid(s->pid, SIGTERM);
	s->pid = 0;
	if (slot >= 0)
		servers[slot].pid = 0;
	if (!s->dir[0])
		return;
	if (keep_dirs())
		fprintf(stderr, "xt: kept %s\n", s->dir);
	else
		xt_rmtree(s->dir);
	if (slot >= 0)
		servers[slot].dir[0] = '\0';
	s->dir[0] = '\0';
}

void xt_server_kill(struct xt_server *s)
{
	int slot = reg_find(s->dir);

	if (s->pid > 0)
		stop_pid(s->pid, SIGKILL);
	s->pid = 0;
	if (slot >= 0)
		servers[slot].pid = 0;
}

int xt_server_connect(const struct xt_server *s, natsConnection **nc)
{
	natsStatus st;

	*nc = NULL;
	if (!s->url[0]) {
		fprintf(stderr, "xt: connect: server not started\n");
		return -1;
	}
	st = natsConnection_ConnectTo(nc, s->url);
	if (st != NATS_OK) {
		fprintf(stderr, "xt: cannot connect to %s: %s\n", s->url, natsStatus_GetText(st));
		*nc = NULL;
		return -1;
	}
	return 0;
}

/* ---- memcheck mode ---------------------------------------------------- */

/* The commands xt_bin() names that the memcheck wrappers run under valgrind
 * (tests/CMakeLists.txt writes one wrapper for each). */
static const char *const our_commands[] = {
	"xorb-backup", "xorb-restore", "xorb-verify", "xorb-prune", "xorb-state", "xorb-subject-lint", NULL,
};

/*
 * The first words of memcheck's error reports (valgrind's mc_errors.c). Only
 * for a log that never got its ERROR SUMMARY (a process killed with SIGKILL,
 * or still running at exit): the summary's count decides for the others.
 */
static const char *const mc_error_heads[] = {
	"Invalid read",	 "Invalid write", "Invalid free", "Mismatched free", "Conditional jump",
	"Use of uninitialised", "Syscall param", "Source and destination overlap", "Argument '",
	"Jump to the invalid address", "Invalid alignment", "Illegal memory pool", "Unaddressable byte",
	"Uninitialised byte", "Fishy value", NULL,
};

int xt_server_at_least(natsConnection *nc, unsigned major, unsigned minor)
{
	struct xorb_version v;
	cJSON *info = NULL;
	int r = -1;

	if (xorb_nats_server_info(nc, &info, NULL) == XORB_OK &&
	    xorb_version_parse(xorb_json_str(info, "version", ""), &v, NULL) == XORB_OK)
		r = xorb_version_cmp_core(&v, major, minor, 0) >= 0;
	cJSON_Delete(info);
	return r;
}

int xt_memcheck(void)
{
	return mc_dir[0] != '\0';
}

/* argv0 is one of our commands as xt_bin() names it. */
static int is_our_command(const char *argv0)
{
	const char *dir = getenv("XORB_BIN_DIR");
	size_t dl, i;

	if (!dir || !*dir)
		return 0;
	dl = strlen(dir);
	if (strncmp(argv0, dir, dl) || argv0[dl] != '/')
		return 0;
	for (i = 0; our_commands[i]; i++)
		if (strcmp(argv0 + dl + 1, our_commands[i]) == 0)
			return 1;
	return 0;
}

/* Whether a valgrind log reports errors. */
static int log_has_errors(const char *text)
{
	const char *p = strstr(text, "ERROR SUMMARY: "), *line;
	size_t i;

	if (p)
		return strtol(p + strlen("ERROR SUMMARY: "), NULL, 10) != 0;
	for (line = text; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *t = line + strspn(line, "=0123456789"); /* "==<pid>== " */

		if (t == line || *t != ' ')
			continue;
		t++;
		for (i = 0; mc_error_heads[i]; i++)
			if (strncmp(t, mc_error_heads[i], strlen(mc_error_heads[i])) == 0)
				return 1;
	}
	return 0;
}

static int read_file(const char *path, struct xorb_buf *b)
{
	char chunk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && xorb_buf_append(b, chunk, (size_t)n))
			break;
	close(fd);
	return xorb_buf_append(b, "", 0);
}

/*
 * Reads the logs (vg.<pid>.log, see tests/CMakeLists.txt) of the processes
 * that have ended, or of all at exit; prints those with errors on stderr and
 * removes them. child (0: none) is the xt_run child just reaped, named by
 * name; *child_seen tells whether its log was there. Returns how many logs
 * had errors (also added to mc_errors).
 */
static int memcheck_collect(pid_t child, const char *name, int at_exit, int *child_seen)
{
	struct dirent *de;
	int bad = 0;
	DIR *d;

	*child_seen = 0;
	d = opendir(mc_dir);
	if (!d) {
		fprintf(stderr, "xt: memcheck: cannot read %s: %s\n", mc_dir, strerror(errno));
		mc_errors++;
		return 1;
	}
	while ((de = readdir(d))) {
		char path[4096 + 256];
		struct xorb_buf log;
		char *end;
		long pid;

		if (strncmp(de->d_name, "vg.", 3))
			continue;
		pid = strtol(de->d_name + 3, &end, 10);
		if (pid <= 0 || strcmp(end, ".log"))
			continue;
		if (pid == child)
			*child_seen = 1;
		else if (!at_exit && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue; /* still running (or a zombie): later */
		snprintf(path, sizeof(path), "%s/%s", mc_dir, de->d_name);
		mc_logs++;
		xorb_buf_init(&log);
		if (read_file(path, &log)) {
			fprintf(stderr, "xt: memcheck: cannot read %s: %s\n", path, strerror(errno));
			bad++;
		} else if (log_has_errors(log.data)) {
			fprintf(stderr, "xt: ---- valgrind memcheck found errors in %s%s%ld ----\n%s",
				pid == child ? name : "", pid == child ? ", pid " : "pid ", pid, log.data);
			if (log.len && log.data[log.len - 1] != '\n')
				fputc('\n', stderr);
			fprintf(stderr, "xt: ---- end of the valgrind report of pid %ld ----\n", pid);
			bad++;
		}
		xorb_buf_release(&log);
		unlink(path);
	}
	closedir(d);
	mc_errors += bad;
	return bad;
}

/* Last exit handler (registered before main): a test program that saw
 * valgrind errors fails, whatever its tests asserted. */
static void memcheck_at_exit(void)
{
	int seen;

	if (getpid() != mc_owner)
		return;
	memcheck_collect(0, NULL, 1, &seen);
	if (keep_dirs())
		fprintf(stderr, "xt: kept %s\n", mc_dir);
	else
		xt_rmtree(mc_dir);
	if (mc_errors) {
		fprintf(stderr, "xt: memcheck: valgrind found errors in %d of %d processes, reported above: "
				"the test program fails\n", mc_errors, mc_logs);
		fflush(NULL);
		_exit(XT_MEMCHECK_STATUS);
	}
	fprintf(stderr, "xt: memcheck: %d processes ran under valgrind, no errors\n", mc_logs);
}

/* Before main, while the process has one thread: the log dir, in the
 * environment every command inherits. Under $XT_MEMCHECK_ROOT when set (the
 * build tree), so that tests that watch $TMPDIR see no valgrind files. */
__attribute__((constructor)) static void memcheck_init(void)
{
	const char *on = getenv("XT_MEMCHECK"), *root = getenv("XT_MEMCHECK_ROOT");

	if (!on || strcmp(on, "1") != 0)
		return;
	if (!root || !*root)
		root = tmp_root();
	mkdir(root, 0755);
	if (snprintf(mc_dir, sizeof(mc_dir), "%s/xt-memcheck-XXXXXX", root) >= (int)sizeof(mc_dir) ||
	    !mkdtemp(mc_dir) || setenv("XT_MEMCHECK_LOGS", mc_dir, 1)) {
		fprintf(stderr, "xt: memcheck: cannot create a log dir under %s: %s\n", root, strerror(errno));
		exit(2);
	}
	mc_owner = getpid();
	atexit(memcheck_at_exit);
}

/* After a run in memcheck mode: its logs, and whether it ran under valgrind. */
static void memcheck_after_run(const char *argv0, pid_t pid, int wrapped, struct xt_result *r)
{
	int seen = 0;

	if (memcheck_collect(pid, argv0, 0, &seen)) {
		r->status = XT_MEMCHECK_STATUS;
		return;
	}
	if (!wrapped)
		return;
	if (!seen) {
		fprintf(stderr, "xt: memcheck: \"%s\" left no valgrind log in %s: it did not run under valgrind "
				"(XORB_BIN_DIR must name the memcheck wrappers)\n", argv0, mc_dir);
		mc_errors++;
		r->status = XT_MEMCHECK_STATUS;
	} else if (r->status == XT_MEMCHECK_STATUS) {
		fprintf(stderr, "xt: memcheck: valgrind failed \"%s\" (exit %d) without a report\n", argv0,
			XT_MEMCHECK_STATUS);
		mc_errors++;
	}
}

/* environ with extra_env's keys replaced or added. The strings are shared
 * with environ and extra_env: free only the array. */
/* The commands a test runs read no configuration file of this machine
 * (/etc/xorb/xorb.conf, ~/.config/xorb/xorb.conf): XORB_CONFIG=/dev/null
 * unless the test's environment or its extra variables set one. */
__attribute__((constructor)) static void xt_no_host_config(void)
{
	setenv("XORB_CONFIG", "/dev/null", 0);
}

static char **build_env(const char *const extra[])
{
	size_t n = 0, m = 0, i, j, k, kl;
	char **env;

	while (environ[n])
		n++;
	while (extra && extra[m])
		m++;
	env = calloc(n + m + 1, sizeof(*env));
	if (!env)
		return NULL;
	k = 0;
	for (i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		int replaced = 0;

		kl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		for (j = 0; j < m && !replaced; j++)
			replaced = strncmp(extra[j], environ[i], kl) == 0 && extra[j][kl] == '=';
		if (!replaced)
			env[k++] = environ[i];
	}
	for (j = 0; j < m; j++)
		env[k++] = (char *)extra[j];
	env[k] = NULL;
	return env;
}

static int exit_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}

/* Reads what is available on fd into b; closes it and sets *fd = -1 at EOF. */
static void drain(int *fd, struct xorb_buf *b)
{
	char chunk[65536];
	ssize_t n;

	n = read(*fd, chunk, sizeof(chunk));
	if (n > 0) {
		if (xorb_buf_append(b, chunk, (size_t)n))
			fprintf(stderr, "xt: out of memory capturing output\n");
		return;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	close(*fd);
	*fd = -1;
}

int xt_run(const char *const argv[], const char *const extra_env[],
	   int timeout_sec, struct xt_result *r)
{
	struct xorb_buf out, err;
	int op[2] = { -1, -1 }, erp[2] = { -1, -1 }, st = 0, ret = 0, reaped = 0;
	long long deadline = 0, grace = 0;
	char **env = NULL;
	pid_t pid = -1;
	int wrapped;

	install_hooks();
	memset(r, 0, sizeof(*r));
	xorb_buf_init(&out);
	xorb_buf_init(&err);
	/* detach() wants at least one append to hand back a terminated string */
	xorb_buf_append(&out, "", 0);
	xorb_buf_append(&err, "", 0);
	if (!argv || !argv[0]) {
		xorb_buf_puts(&err, "xt_run: empty argv\n");
		goto fail;
	}
	wrapped = xt_memcheck() && is_our_command(argv[0]);
	if (wrapped && timeout_sec > 0)
		timeout_sec *= XT_MEMCHECK_SLOWER;
	deadline = timeout_sec > 0 ? now_ms() + (long long)timeout_sec * 1000 : 0;

	env = build_env(extra_env);
	if (!env || pipe2(op, O_CLOEXEC) || pipe2(erp, O_CLOEXEC)) {
		xorb_buf_printf(&err, "xt_run: cannot set up \"%s\": %s\n", argv[0],
				strerror(errno));
		goto fail;
	}
	pid = spawn(argv[0], (char *const *)argv, env, op[1], erp[1]);
	close(op[1]);
	close(erp[1]);
	op[1] = erp[1] = -1;
	if (pid < 0) {
		xorb_buf_printf(&err, "xt_run: cannot execute \"%s\": %s\n", argv[0],
				strerror(errno));
		goto fail;
	}
	run_child = pid;
	fcntl(op[0], F_SETFL, O_NONBLOCK);
	fcntl(erp[0], F_SETFL, O_NONBLOCK);

	/*
	 * Read until both pipes close. Something the child left running may hold
	 * them open after the child exits: read for a short grace, then stop.
	 */
	while (op[0] >= 0 || erp[0] >= 0) {
		struct pollfd pfd[2] = { { op[0], POLLIN, 0 }, { erp[0], POLLIN, 0 } };
		long long now = now_ms();
		int wait = 50, n;

		if (deadline && now >= deadline)
			break;
		if (grace && now >= grace)
			break;
		n = poll(pfd, 2, wait);
		if (n < 0 && errno != EINTR)
			break;
		if (op[0] >= 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			drain(&op[0], &out);
		if (erp[0] >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			drain(&erp[0], &err);
		if (!reaped && waitpid(pid, &st, WNOHANG) == pid) {
			reaped = 1;
			grace = now_ms() + 200;
		}
	}
	while (!reaped) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid || (w < 0 && errno != EINTR)) {
			reaped = 1;
			break;
		}
		if (deadline && now_ms() >= deadline)
			break;
		sleep_ms(5);
	}
	if (!reaped) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		r->timed_out = 1;
		r->status = 128 + SIGKILL;
		ret = -1;
	} else {
		r->status = exit_status(st);
	}
	run_child = 0;
	if (xt_memcheck())
		memcheck_after_run(argv[0], pid, wrapped, r);
	goto out;
fail:
	r->status = 127;
	ret = -1;
out:
	if (op[0] >= 0)
		close(op[0]);
	if (erp[0] >= 0)
		close(erp[0]);
	if (op[1] >= 0)
		close(op[1]);
	if (erp[1] >= 0)
		close(erp[1]);
	free(env);
	r->out_len = out.len;
	r->err_len = err.len;
	r->out = xorb_buf_detach(&out);
	r->err = xorb_buf_detach(&err);
	return ret;
}

void xt_result_release(struct xt_result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

char *xt_tempdir(const char *tag)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/xt-%s-XXXXXX", tmp_root(),
		     tag && *tag ? tag : "tmp") >= (int)sizeof(path))
		return NULL;
	if (!mkdtemp(path))
		return NULL;
	return strdup(path);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) ? -1 : 0;
	return unlink(path) && errno != ENOENT ? -1 : 0;
}

int xt_rmtree(const char *path)
{
	struct stat sb;

	if (!path || !*path)
		return -1;
	if (lstat(path, &sb))
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(sb.st_mode))
		return unlink(path);
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *xt_bin(const char *name)
{
	static char bufs[8][4096];
	static unsigned next;
	const char *dir = getenv("XORB_BIN_DIR");
	char *b;

	if (!dir || !*dir)
		return name;
	b = bufs[next++ % 8];
	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

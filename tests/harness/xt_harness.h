/*
 * Test harness: real nats-server processes for integration tests, and a
 * runner for the commands under test.
 *
 * Every server listens on 127.0.0.1 only, lives in its own temporary
 * directory (config, log, JetStream store) and is stopped by PID, never by
 * name. Servers never outlive the test program: the first xt_server_start()
 * installs an atexit handler and SIGINT/SIGTERM/SIGABRT handlers that stop
 * every server still running, and each nats-server child asks the kernel for
 * SIGKILL when the thread that started it dies (PR_SET_PDEATHSIG; start
 * servers from a thread that lives as long as they do, normally main).
 *
 * Environment: TMPDIR (default /tmp) for the temp dirs, XT_KEEP=1 keeps them
 * after a stop for post-mortems, XT_NATS_SERVER overrides the nats-server
 * binary (default: "nats-server" from PATH), XORB_BIN_DIR is where xt_bin()
 * finds the built commands. Not thread-safe: call from one thread.
 *
 * Memcheck mode (XT_MEMCHECK=1; the memcheck/<test> ctest entries set it):
 * XORB_BIN_DIR then names a directory of wrappers (tests/CMakeLists.txt
 * writes them) that run each command under valgrind memcheck with one log
 * file per process in $XT_MEMCHECK_LOGS, a fresh dir the harness creates
 * before main() under $XT_MEMCHECK_ROOT (default: TMPDIR), so every command
 * the test starts, however it starts it, logs there. After each xt_run the
 * harness reads the logs of the processes that have ended: a log with errors
 * (invalid accesses, uninitialised values, definite or indirect leaks) is
 * printed on stderr and turns the run's status into XT_MEMCHECK_STATUS. The
 * test program exits with that status at the end when any log had errors,
 * also those of commands it started itself (fork/exec, a shell) or killed,
 * whatever its tests asserted.
 */
#ifndef XT_HARNESS_H
#define XT_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

#include <nats/nats.h>

struct xt_server {
	pid_t pid;	 /* 0 when not running */
	int port;
	char dir[4096];	 /* temp dir owned by this server; "" once removed */
	char url[128];	 /* nats://127.0.0.1:<port> */
	char conf[4096]; /* <dir>/server.conf */
	char log[4096];	 /* <dir>/server.log: the server's stdout and stderr */
};

struct xt_server_opts {
	int jetstream;		/* enable JetStream (opts NULL: enabled) */
	const char *extra_conf; /* appended verbatim to the config file */
	const char *store_dir;	/* NULL: <dir>/js. Set it to keep the data over a
				 * restart; the harness never removes it then */
	int port;		/* 0: a free port chosen by the server */
};

/*
 * Starts a server (s is overwritten: stop a running one first) and waits up
 * to 15 s until it is ready: it has written its ports file and a TCP connect
 * to the client port gets its INFO line. nats-server enables JetStream
 * before it opens the client port, and the check needs no credentials, so
 * it holds for any extra_conf (operator mode, clusters: JetStream meta
 * leadership in a cluster comes later, see xt_cluster). Returns 0, or -1
 * after printing the reason and the tail of the server log on stderr
 * (s->pid is 0 then and the temp dir is gone unless XT_KEEP=1).
 */
int xt_server_start(struct xt_server *s, const struct xt_server_opts *o);

/* SIGTERM, wait up to 10 s, then SIGKILL; removes s->dir unless XT_KEEP=1.
 * Safe on a stopped, killed or never started (zeroed) server. */
void xt_server_stop(struct xt_server *s);

/* SIGKILL and reap, keeping s->dir (fault tests; a later xt_server_stop, or
 * the exit handler, removes the dir). */
void xt_server_kill(struct xt_server *s);

/* Plain connection to s->url (no reconnect). Returns 0, or -1 with a message
 * on stderr. The caller destroys *nc. */
int xt_server_connect(const struct xt_server *s, natsConnection **nc);

struct xt_result {
	int status;    /* exit code, or 128+signal */
	int timed_out; /* 1 when xt_run killed the child at the timeout */
	char *out;     /* captured stdout, NUL-terminated, owned */
	char *err;     /* captured stderr, NUL-terminated, owned */
	size_t out_len;
	size_t err_len;
};

/* Exit status valgrind gives a command in which it found errors. */
#define XT_MEMCHECK_STATUS 99

/*
 * 1 in memcheck mode, where a command takes about a second more to start
 * and its own work runs 10 to 50 times slower. Tests scale their data down
 * and wait for events rather than fixed times by it, never changing what
 * they check. xt_run gives our commands (xt_bin() names) XT_MEMCHECK_SLOWER
 * times their timeout by itself.
 */
int xt_memcheck(void);

/* 1 when the server nc is connected to is version major.minor or newer
 * (its INFO), 0 when older, -1 when the version cannot be read. */
int xt_server_at_least(natsConnection *nc, unsigned major, unsigned minor);
#define XT_MEMCHECK_SLOWER 5

/*
 * Runs argv (argv[0] is looked up in PATH when it has no '/') with the
 * current environment plus extra_env ("K=V" entries overriding existing
 * keys; NULL-terminated, or NULL), stdin from /dev/null, stdout and stderr
 * captured in full. The child runs in its own process group; at timeout_sec
 * (<= 0: no limit) the whole group is SIGKILLed.
 *
 * Returns 0 when the child ran and exited by itself (whatever its status),
 * -1 when it could not be started (status 127, the reason in r->err) or was
 * killed at the timeout (timed_out set, output so far captured). r is always
 * filled in; release it with xt_result_release(). In memcheck mode status
 * is XT_MEMCHECK_STATUS when valgrind found errors in the command or in a
 * process it started (the report is on stderr, not in r->err).
 */
int xt_run(const char *const argv[], const char *const extra_env[],
	   int timeout_sec, struct xt_result *r);
void xt_result_release(struct xt_result *r);

/* Creates $TMPDIR/xt-<tag>-XXXXXX. Returns a malloc'd path (caller frees;
 * remove the dir with xt_rmtree), or NULL. */
char *xt_tempdir(const char *tag);

/* rm -rf without following symlinks. A missing path is success. 0 or -1. */
int xt_rmtree(const char *path);

/* "$XORB_BIN_DIR/<name>", or name itself when XORB_BIN_DIR is unset. The
 * string lives in one of 8 rotating static buffers: copy it if it must
 * outlive 8 further calls. */
const char *xt_bin(const char *name);

#endif

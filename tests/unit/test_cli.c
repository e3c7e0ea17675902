/*
 * Unit tests of the tool layer shared by the commands (src/cli/xorb_cli.h):
 * integer options with K/M/G suffixes and their bounds, the usage messages
 * they print, human-readable sizes, repeated-flag lists, defaults taken from
 * the environment, the common options through getopt_long, and the message
 * formats of errors, warnings, notes and JSON strings.
 *
 * Links the tool-layer library xorb_cli (tests/CMakeLists.txt links every
 * unit test with it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <getopt.h>
#include <sys/wait.h>
#include <unistd.h>

#include "xorb_cli.h"

/* ---- capturing stdout / stderr ---- */

struct capture {
	int fd;	   /* 1 or 2 */
	int saved; /* the original descriptor */
	FILE *tmp;
};

static void capture_begin(struct capture *c, int fd)
{
	c->fd = fd;
	fflush(stdout);
	fflush(stderr);
	c->tmp = tmpfile();
	assert_non_null(c->tmp);
	c->saved = dup(fd);
	assert_true(c->saved >= 0);
	assert_int_equal(dup2(fileno(c->tmp), fd), fd);
}

/* Ends the capture and returns what was written (caller frees). */
static char *capture_end(struct capture *c)
{
	long n;
	char *text;

	fflush(stdout);
	fflush(stderr);
	assert_int_equal(dup2(c->saved, c->fd), c->fd);
	close(c->saved);
	n = (long)lseek(fileno(c->tmp), 0, SEEK_END);
	assert_true(n >= 0);
	text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(lseek(fileno(c->tmp), 0, SEEK_SET), 0);
	assert_int_equal(read(fileno(c->tmp), text, (size_t)n), n);
	fclose(c->tmp);
	return text;
}

static void init_cli(struct xorb_cli *c)
{
	xorb_cli_init(c, "xorb-test");
}

/* Parses arg and checks the result and what went to stderr ("" for none). */
static void assert_parse(const char *arg, int64_t min, int64_t max, bool suffix, int64_t want,
			 const char *want_err)
{
	struct xorb_cli c;
	struct capture cap;
	int64_t v;
	char *err;

	init_cli(&c);
	capture_begin(&cap, 2);
	v = xorb_cli_parse_int(&c, "--part-size", arg, min, max, suffix);
	err = capture_end(&cap);
	if (v != want)
		fail_msg("parse \"%s\" [%lld, %lld]%s: %lld, want %lld", arg, (long long)min,
			 (long long)max, suffix ? " with suffixes" : "", (long long)v, (long long)want);
	assert_string_equal(err, want_err);
	free(err);
}

static void assert_parse_refused(const char *arg, int64_t min, int64_t max, bool suffix)
{
	char want[512];

	snprintf(want, sizeof(want),
		 "xorb-test: usage error: --part-size: \"%s\" is not a number from %lld to %lld\n"
		 "Try 'xorb-test --help'.\n",
		 arg, (long long)min, (long long)max);
	assert_parse(arg, min, max, suffix, -1, want);
}

/* ---- integers ---- */

static void test_parse_int_values_and_suffixes(void **state)
{
	assert_parse("42", 1, 100, false, 42, "");
	assert_parse("0", 0, 100, false, 0, "");
	assert_parse("100", 1, 100, false, 100, "");
	assert_parse("1", 1, 100, false, 1, "");
	assert_parse("007", 1, 100, false, 7, "");
	assert_parse("256K", 1, INT64_MAX, true, 262144, "");
	assert_parse("256k", 1, INT64_MAX, true, 262144, "");
	assert_parse("1M", 1, INT64_MAX, true, 1048576, "");
	assert_parse("16m", 1, INT64_MAX, true, 16777216, "");
	assert_parse("5G", 1, INT64_MAX, true, 5368709120LL, "");
	assert_parse("2g", 1, INT64_MAX, true, 2147483648LL, "");
	assert_parse("65536", 1, INT64_MAX, true, 65536, "");
	assert_parse("9223372036854775807", 1, INT64_MAX, false, INT64_MAX, "");
	/* the suffix counts towards the bounds */
	assert_parse("5M", 5 << 20, 5LL << 30, true, 5 << 20, "");
	assert_parse("5G", 5 << 20, 5LL << 30, true, 5LL << 30, "");
}

static void test_parse_int_refusals(void **state)
{
	/* bounds */
	assert_parse_refused("0", 1, 100, false);
	assert_parse_refused("101", 1, 100, false);
	assert_parse_refused("-5", 1, 100, false);
	assert_parse_refused("4M", 5 << 20, 5LL << 30, true);
	assert_parse_refused("6G", 5 << 20, 5LL << 30, true);
	assert_parse_refused("5121M", 5 << 20, 5LL << 30, true);
	/* suffixes only where allowed, one letter, nothing after it */
	assert_parse_refused("1K", 1, INT64_MAX, false);
	assert_parse_refused("1KB", 1, INT64_MAX, true);
	assert_parse_refused("1Ki", 1, INT64_MAX, true);
	assert_parse_refused("1T", 1, INT64_MAX, true);
	assert_parse_refused("1.5M", 1, INT64_MAX, true);
	assert_parse_refused("K", 1, INT64_MAX, true);
	assert_parse_refused("M1", 1, INT64_MAX, true);
	/* garbage */
	assert_parse_refused("", 1, 100, false);
	assert_parse_refused("abc", 1, 100, false);
	assert_parse_refused("12x", 1, 100, false);
	assert_parse_refused("5 ", 1, 100, false);
	assert_parse_refused("0x10", 1, 100, false);
	assert_parse_refused("1e3", 1, 10000, false);
	/* out of the type's range */
	assert_parse_refused("9223372036854775808", 1, INT64_MAX, false);
	assert_parse_refused("99999999999999999999", 1, INT64_MAX, true);
	/* "99999999999999999999K" belongs here too, but overflows the
	 * multiplication: see test_parse_int_suffix_overflow */
}

/* Runs one parse in a child (stderr to /dev/null): 0 when refused, 3 when
 * accepted, another exit status (the sanitizers exit with 1) or 1000 +
 * signal when the child died (UBSan stops on signed overflow in the
 * sanitizer build). */
static int parse_in_child(const char *arg)
{
	pid_t pid = fork();
	int st = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct xorb_cli c;
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 2);
		init_cli(&c);
		_exit(xorb_cli_parse_int(&c, "--part-size", arg, 1, INT64_MAX, true) == -1 ? 0 : 3);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 1000 + WTERMSIG(st) : 999;
}

/*
 * Regression test (fixed; src/cli/xorb_cli.c, xorb_cli_parse_int, the suffix switch):
 * `v *= 1024` (and * 1024 * 1024, * 1024^3) is done on a long long without
 * an overflow check: signed overflow, undefined behaviour. In practice it
 * wraps: "18014398509481985K" ((2^54 + 1) * 1024 = 2^64 + 1024) becomes
 * 1024 and is ACCEPTED as 1024; the sanitizer build aborts. strtoll's
 * ERANGE does not help: "99999999999999999999K" saturates to LLONG_MAX and
 * is then multiplied (UB) before errno is looked at. Fix: before
 * multiplying by mult, `if (v > max / mult || v < min / mult)` (or
 * v > INT64_MAX / mult || v < INT64_MIN / mult) treat it as out of range.
 */
static void test_parse_int_suffix_overflow(void **state)
{
	static const char *const args[] = { "18014398509481985K", "17592186044417M",
					     "17179869185G", "9223372036854775807K",
					     "99999999999999999999K", "-99999999999999999999G" };
	size_t i;

	for (i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		int rc = parse_in_child(args[i]);

		if (rc != 0)
			fail_msg("\"%s\": %s (%d), want it refused", args[i],
				 rc == 3 ? "accepted" : "the parser died (a sanitizer report?)", rc);
	}
}

/* ---- sizes ---- */

static void assert_bytes(uint64_t n, const char *want)
{
	char buf[32];

	memset(buf, 'x', sizeof(buf));
	assert_ptr_equal(xorb_cli_bytes(n, buf, sizeof(buf)), buf);
	assert_string_equal(buf, want);
}

static void test_bytes_formatting(void **state)
{
	char small[5];

	assert_bytes(0, "0 B");
	assert_bytes(1, "1 B");
	assert_bytes(1023, "1023 B");
	assert_bytes(1024, "1.0 KiB");
	assert_bytes(1536, "1.5 KiB");
	assert_bytes(10 * 1024 + 51, "10.0 KiB");
	assert_bytes(1048576, "1.0 MiB");
	assert_bytes(1258291, "1.2 MiB");
	assert_bytes(5368709120ULL, "5.0 GiB");
	assert_bytes(1099511627776ULL, "1.0 TiB");
	/* TiB is the largest unit */
	assert_bytes(1125899906842624ULL, "1024.0 TiB");
	assert_bytes(UINT64_MAX, "16777216.0 TiB");
	/* a short buffer is cut, still terminated */
	assert_ptr_equal(xorb_cli_bytes(1536, small, sizeof(small)), small);
	assert_string_equal(small, "1.5 ");
}

/* ---- lists ---- */

static void test_list_add(void **state)
{
	const char **list = NULL;
	size_t n = 0;
	const char *a = "xorb-t-qa-scan-live", *b = "xorb-t-qa-evidence-live";

	assert_int_equal(xorb_cli_list_add(&list, &n, a), 0);
	assert_int_equal(n, 1);
	assert_non_null(list);
	assert_ptr_equal(list[0], a); /* the strings are not copied */
	assert_null(list[1]);
	assert_int_equal(xorb_cli_list_add(&list, &n, b), 0);
	assert_int_equal(xorb_cli_list_add(&list, &n, a), 0); /* duplicates are kept */
	assert_int_equal(n, 3);
	assert_ptr_equal(list[0], a);
	assert_ptr_equal(list[1], b);
	assert_ptr_equal(list[2], a);
	assert_null(list[3]);
	free(list);
}

/* ---- environment and options ---- */

static const char *const env_names[] = { "NATS_URL", "NATS_CREDS", "NATS_USER", "NATS_PASSWORD",
					 "NATS_CERT", "NATS_KEY", "NATS_CA", "XORB_STORE", "XDG_DATA_HOME" };

static void clear_env(void)
{
	size_t i;

	for (i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
		unsetenv(env_names[i]);
}

static void test_init_from_environment(void **state)
{
	struct xorb_cli c;

	clear_env();
	setenv("NATS_URL", "nats://a:4222,nats://b:4222", 1);
	setenv("NATS_CREDS", "/etc/xorb/user.creds", 1);
	setenv("NATS_USER", "backup", 1);
	setenv("NATS_PASSWORD", "s3cret", 1);
	setenv("NATS_CERT", "/c.pem", 1);
	setenv("NATS_KEY", "/k.pem", 1);
	setenv("NATS_CA", "/ca.pem", 1);
	setenv("XORB_STORE", "file:///srv/backups", 1);
	memset(&c, 0xa5, sizeof(c));
	init_cli(&c);
	assert_string_equal(c.prog, "xorb-test");
	assert_string_equal(c.conn.url, "nats://a:4222,nats://b:4222");
	assert_string_equal(c.conn.creds, "/etc/xorb/user.creds");
	assert_string_equal(c.conn.user, "backup");
	assert_string_equal(c.conn.password, "s3cret");
	assert_string_equal(c.conn.tlscert, "/c.pem");
	assert_string_equal(c.conn.tlskey, "/k.pem");
	assert_string_equal(c.conn.tlsca, "/ca.pem");
	assert_string_equal(c.store, "file:///srv/backups");
	assert_int_equal(c.conn.timeout_ms, 10000);
	assert_int_equal(c.quiet, 0);
	assert_int_equal(c.verbose, 0);
	assert_int_equal(c.json, 0);
	assert_int_equal(c.n_params, 0);
	assert_null(c.params[0].key);
	clear_env();
}

static void test_init_defaults(void **state)
{
	const char *home = getenv("HOME");
	char *saved_home = home ? strdup(home) : NULL;
	struct xorb_cli c;

	clear_env();
	/* an empty variable counts as unset */
	setenv("NATS_URL", "", 1);
	setenv("XORB_STORE", "", 1);
	setenv("HOME", "/home/op", 1);
	init_cli(&c);
	assert_string_equal(c.conn.url, "nats://127.0.0.1:4222");
	assert_null(c.conn.creds);
	assert_null(c.conn.user);
	assert_null(c.conn.password);
	assert_null(c.conn.tlscert);
	assert_null(c.conn.tlskey);
	assert_null(c.conn.tlsca);
	assert_ptr_equal(c.store, c.default_store);
	if (geteuid() == 0)
		assert_string_equal(c.store, XORB_DEFAULT_STORE);
	else
		assert_string_equal(c.store, "/home/op/.local/share/xorb/backups");
	/* without HOME: the system store */
	unsetenv("HOME");
	init_cli(&c);
	assert_string_equal(c.store, XORB_DEFAULT_STORE);
	clear_env();
	if (saved_home)
		setenv("HOME", saved_home, 1);
	free(saved_home);
}

/* The default store of a user (not root) in a child that gave up root:
 * 0 when it is want, 1 when not (printed), 2 when the child could not. */
static int default_store_as_user(const char *home, const char *xdg_data_home, const char *want)
{
	struct xorb_cli c;
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(2);
		clear_env();
		if (home)
			setenv("HOME", home, 1);
		else
			unsetenv("HOME");
		if (xdg_data_home)
			setenv("XDG_DATA_HOME", xdg_data_home, 1);
		init_cli(&c);
		if (strcmp(c.store, want)) {
			fprintf(stderr, "HOME=%s XDG_DATA_HOME=%s: store \"%s\", want \"%s\"\n", home ? home : "(unset)",
				xdg_data_home ? xdg_data_home : "(unset)", c.store, want);
			_exit(1);
		}
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 2;
	return WEXITSTATUS(status);
}

/* A user's default store follows the XDG base directory spec (issue 14):
 * $XDG_DATA_HOME/xorb/backups when it is absolute, else ~/.local/share. */
static void test_init_default_store_xdg(void **state)
{
	assert_int_equal(default_store_as_user("/home/op", NULL, "/home/op/.local/share/xorb/backups"), 0);
	assert_int_equal(default_store_as_user("/home/op", "/data/op", "/data/op/xorb/backups"), 0);
	/* a relative XDG_DATA_HOME is ignored, as the spec says; so is an empty one */
	assert_int_equal(default_store_as_user("/home/op", "data", "/home/op/.local/share/xorb/backups"), 0);
	assert_int_equal(default_store_as_user("/home/op", "", "/home/op/.local/share/xorb/backups"), 0);
	/* no HOME: XDG_DATA_HOME still counts; neither: the system store */
	assert_int_equal(default_store_as_user(NULL, "/data/op", "/data/op/xorb/backups"), 0);
	assert_int_equal(default_store_as_user(NULL, NULL, XORB_DEFAULT_STORE), 0);
	/* root keeps the system store whatever XDG_DATA_HOME says */
	if (geteuid() == 0) {
		struct xorb_cli c;

		clear_env();
		setenv("XDG_DATA_HOME", "/data/root", 1);
		init_cli(&c);
		assert_string_equal(c.store, XORB_DEFAULT_STORE);
		clear_env();
	}
}

static void test_common_options_via_getopt(void **state)
{
	static const struct option longopts[] = { XORB_CLI_COMMON_LONGOPTS,
						  { "tenant", required_argument, NULL, 't' },
						  { NULL, 0, NULL, 0 } };
	char *argv[] = { "xorb-test", "-s", "nats://x:4222", "--store", "/tmp/s", "--timeout", "30",
			 "-qv", "--verbose", "--json", "--creds", "/u.creds", "--user", "u",
			 "--password", "p", "--tlscert", "c", "--tlskey", "k", "--tlsca", "ca",
			 "--s3-region", "eu-west-1", "--s3-path-style", "--s3-part-size", "8M",
			 "--s3-region", "eu-central-1", "-t", "t-qa", "--help", "rest", NULL };
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - 1, opt, tenant = 0, help = 0;
	struct xorb_cli c;

	clear_env();
	setenv("XORB_CONFIG", "/dev/null", 1);
	init_cli(&c);
	optind = 1;
	opterr = 0;
	/* the --s3-* options come from the s3 plugin's table (ABI 1.2) */
	assert_int_equal(xorb_cli_begin(&c, argc, argv, XORB_CLI_COMMON_SHORTOPTS "t:", longopts), 0);
	assert_non_null(xorb_cli_plugin_option(&c, "s3-part-size", NULL));
	while ((opt = xorb_cli_getopt(&c, argc, argv, NULL)) != -1) {
		int r = xorb_cli_common_opt(&c, opt, optarg);

		assert_true(r >= 0);
		if (r == 1)
			continue;
		if (opt == 't')
			tenant = 1;
		else if (opt == 'h')
			help = 1;
		else
			fail_msg("unexpected option %d", opt);
	}
	assert_int_equal(optind, argc - 1);
	assert_string_equal(argv[optind], "rest");
	assert_true(tenant && help);
	assert_string_equal(c.conn.url, "nats://x:4222");
	assert_string_equal(c.store, "/tmp/s");
	assert_int_equal(c.conn.timeout_ms, 30000);
	assert_int_equal(c.quiet, 1);
	assert_int_equal(c.verbose, 2);
	assert_int_equal(c.json, 1);
	assert_string_equal(c.conn.creds, "/u.creds");
	assert_string_equal(c.conn.user, "u");
	assert_string_equal(c.conn.password, "p");
	assert_string_equal(c.conn.tlscert, "c");
	assert_string_equal(c.conn.tlskey, "k");
	assert_string_equal(c.conn.tlsca, "ca");
	/* store parameters: the last value of a repeated flag wins */
	assert_int_equal(c.n_params, 3);
	assert_string_equal(c.params[0].key, "s3-region");
	assert_string_equal(c.params[0].value, "eu-central-1");
	assert_string_equal(c.params[1].key, "s3-path-style");
	assert_string_equal(c.params[1].value, "1");
	assert_string_equal(c.params[2].key, "s3-part-size");
	assert_string_equal(c.params[2].value, "8388608"); /* the plugin gets bytes: one size parser */
	assert_null(c.params[3].key);
	/* --help, --version and unknown options are left to the command */
	assert_int_equal(xorb_cli_common_opt(&c, 'h', NULL), 0);
	assert_int_equal(xorb_cli_common_opt(&c, XORB_OPT_VERSION, NULL), 0);
	assert_int_equal(xorb_cli_common_opt(&c, 'x', NULL), 0);
	assert_int_equal(xorb_cli_common_opt(&c, XORB_OPT_FIRST_COMMAND_OPT, "v"), 0);
}

static void test_common_option_bad_values(void **state)
{
	struct xorb_cli c;
	struct capture cap;
	char *err;

	static const struct option longopts[] = { XORB_CLI_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	char *argv[] = { "xorb-test", NULL };
	int part = 0, conc = 0;

	init_cli(&c);
	setenv("XORB_CONFIG", "/dev/null", 1);
	assert_int_equal(xorb_cli_begin(&c, 1, argv, XORB_CLI_COMMON_SHORTOPTS, longopts), 0);
	assert_non_null(xorb_cli_plugin_option(&c, "s3-part-size", &part));
	assert_non_null(xorb_cli_plugin_option(&c, "s3-concurrency", &conc));
	capture_begin(&cap, 2);
	assert_int_equal(xorb_cli_common_opt(&c, XORB_OPT_TIMEOUT, "0"), -1);
	assert_int_equal(xorb_cli_common_opt(&c, XORB_OPT_TIMEOUT, "3601"), -1);
	assert_int_equal(xorb_cli_common_opt(&c, part, "4M"), -1);
	assert_int_equal(xorb_cli_common_opt(&c, conc, "65"), -1);
	err = capture_end(&cap);
	assert_string_equal(err,
			    "xorb-test: usage error: --timeout: \"0\" is not a number from 1 to 3600\n"
			    "Try 'xorb-test --help'.\n"
			    "xorb-test: usage error: --timeout: \"3601\" is not a number from 1 to 3600\n"
			    "Try 'xorb-test --help'.\n"
			    "xorb-test: usage error: --s3-part-size: \"4M\" is not a number from 5242880 to 5368709120\n"
			    "Try 'xorb-test --help'.\n"
			    "xorb-test: usage error: --s3-concurrency: \"65\" is not a number from 1 to 64\n"
			    "Try 'xorb-test --help'.\n");
	free(err);
	/* nothing was changed by the refused values */
	assert_int_equal(c.conn.timeout_ms, 10000);
	assert_int_equal(c.n_params, 0);
}

/* ---- messages ---- */

static void test_messages(void **state)
{
	struct xorb_error e = { 0 };
	struct xorb_cli c;
	struct capture cap;
	char *err;

	init_cli(&c);
	capture_begin(&cap, 2);
	xorb_cli_error(&c, "stream \"%s\" failed", "x");
	xorb_cli_warn(&c, "%d consumers skipped", 2);
	xorb_error_set(&e, XORB_ENOTFOUND, "backup \"%s\" does not exist", "t-qa/1");
	assert_int_equal(xorb_cli_fail(&c, &e), XORB_EXIT_FAIL);
	assert_int_equal(xorb_cli_usage_error(&c, "missing --tenant"), XORB_EXIT_USAGE);
	err = capture_end(&cap);
	assert_string_equal(err, "xorb-test: error: stream \"x\" failed\n"
				 "xorb-test: warning: 2 consumers skipped\n"
				 "xorb-test: error: backup \"t-qa/1\" does not exist\n"
				 "xorb-test: usage error: missing --tenant\n"
				 "Try 'xorb-test --help'.\n");
	free(err);

	/* an error without text falls back to the status name */
	xorb_error_clear(&e);
	e.code = XORB_ETIMEOUT;
	capture_begin(&cap, 2);
	assert_int_equal(xorb_cli_fail(&c, &e), XORB_EXIT_FAIL);
	err = capture_end(&cap);
	{
		char want[256];

		snprintf(want, sizeof(want), "xorb-test: error: %s\n", xorb_status_str(XORB_ETIMEOUT));
		assert_string_equal(err, want);
	}
	free(err);
}

static void test_notes_by_level(void **state)
{
	struct xorb_cli c;
	struct capture cap;
	char *err;

	init_cli(&c);
	capture_begin(&cap, 2);
	xorb_cli_note(&c, XORB_NOTE_INFO, "s1", "snapshot done");
	xorb_cli_note(&c, XORB_NOTE_INFO, NULL, "archive written");
	xorb_cli_note(&c, XORB_NOTE_DEBUG, "s1", "hidden without -v");
	xorb_cli_note(&c, XORB_NOTE_WARN, "s2", "memory storage");
	c.verbose = 1;
	xorb_cli_note(&c, XORB_NOTE_DEBUG, NULL, "shown with -v");
	c.quiet = 1;
	xorb_cli_note(&c, XORB_NOTE_INFO, "s1", "hidden with -q");
	xorb_cli_note(&c, XORB_NOTE_DEBUG, "s1", "hidden with -q too");
	xorb_cli_note(&c, XORB_NOTE_WARN, NULL, "warnings always show");
	err = capture_end(&cap);
	assert_string_equal(err, "xorb-test: stream \"s1\": snapshot done\n"
				 "xorb-test: archive written\n"
				 "xorb-test: warning: stream \"s2\": memory storage\n"
				 "xorb-test: shown with -v\n"
				 "xorb-test: warning: warnings always show\n");
	free(err);
}

static void test_json_emit_and_version(void **state)
{
	struct xorb_cli c;
	struct capture cap;
	char *out, want[128];

	capture_begin(&cap, 1);
	{
		cJSON *j = cJSON_CreateObject();

		/* a hostile value stays one string: no member can be injected */
		cJSON_AddStringToObject(j, "s", "a\"b\\c\nd\x01 \xc3\xa9\",\"x\":\"y");
		xorb_json_add_int(j, "n", INT64_C(2592000000000000));
		xorb_cli_json_add_seconds(j, "seconds", 0.1234);
		xorb_cli_json_emit(j, "|");
		xorb_cli_json_emit(cJSON_CreateArray(), "|");
		xorb_cli_json_emit(NULL, NULL);
	}
	out = capture_end(&cap);
	assert_string_equal(out, "{\"s\":\"a\\\"b\\\\c\\nd\\u0001 \xc3\xa9\\\",\\\"x\\\":\\\"y\","
				 "\"n\":2592000000000000,\"seconds\":0.123}|[]|null");
	free(out);

	init_cli(&c);
	capture_begin(&cap, 1);
	xorb_cli_version(&c);
	out = capture_end(&cap);
	snprintf(want, sizeof(want), "xorb-test (xorb-dr) %s\n", XORB_VERSION);
	assert_string_equal(out, want);
	free(out);
	capture_begin(&cap, 1);
	xorb_cli_print_common_help(stdout, 1);
	xorb_cli_print_exit_help(stdout);
	out = capture_end(&cap);
	assert_non_null(strstr(out, "--store URL"));
	assert_non_null(strstr(out, "--s3-endpoint URL"));
	assert_non_null(strstr(out, "-V, --version"));
	assert_non_null(strstr(out, "64 usage error"));
	free(out);
}

/* The dispatchers' helpers: the subcommand's name is the first word that
 * is neither an option nor an option's value; the first option a
 * subcommand's table lacks; -V and the uniform getopt errors. */
static void test_find_command_and_foreign_option(void **state)
{
	static const struct option all[] = { XORB_CLI_COMMON_LONGOPTS,
					     { "to", required_argument, NULL, 't' },
					     { "all", no_argument, NULL, 'a' },
					     { NULL, 0, NULL, 0 } };
	static const struct option sub[] = { XORB_CLI_STORE_LONGOPTS, XORB_CLI_OUTPUT_LONGOPTS, XORB_CLI_BASE_LONGOPTS,
					     { "all", no_argument, NULL, 'a' },
					     { NULL, 0, NULL, 0 } };
	char *a1[] = { "p", "--store", "list", "-s", "nats://x", "-qv", "copy", "x", NULL };
	char *a2[] = { "p", "--store=/s", "-snats://x", "--all", NULL };
	char *a3[] = { "p", "-q", "--", "list", NULL };
	char *a4[] = { "p", "--all", "list", "--to", "/x", NULL };
	char *a5[] = { "p", "list", "-qs", "nats://x", NULL };
	char *a6[] = { "p", "list", "--all", "--store", "--to", NULL };
	const struct option *o;

	(void)state;
	/* "list" is --store's value, "nats://x" -s's */
	assert_int_equal(xorb_cli_find_command(8, a1, XORB_CLI_COMMON_SHORTOPTS "t:", all), 6);
	assert_int_equal(xorb_cli_find_command(4, a2, XORB_CLI_COMMON_SHORTOPTS "t:", all), 4);
	assert_int_equal(xorb_cli_find_command(4, a3, XORB_CLI_COMMON_SHORTOPTS "t:", all), 4);
	assert_null(xorb_cli_foreign_option(5, a4, XORB_CLI_COMMON_SHORTOPTS "t:", all, all));
	o = xorb_cli_foreign_option(5, a4, XORB_CLI_COMMON_SHORTOPTS "t:", all, sub);
	assert_non_null(o);
	assert_string_equal(o->name, "to");
	/* a short option counts as its long name */
	o = xorb_cli_foreign_option(4, a5, XORB_CLI_COMMON_SHORTOPTS "t:", all, sub);
	assert_non_null(o);
	assert_string_equal(o->name, "server");
	/* "--to" is --store's value here, not an option */
	assert_null(xorb_cli_foreign_option(5, a6, XORB_CLI_COMMON_SHORTOPTS "t:", all, sub));
	assert_true(xorb_cli_has_option(sub, 'a'));
	assert_false(xorb_cli_has_option(sub, 's'));
}

static void test_getopt_version_and_errors(void **state)
{
	static const struct option longopts[] = { XORB_CLI_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };
	char *a1[] = { "xorb-test", "-V", NULL };
	char *a2[] = { "xorb-test", "-x", NULL };
	char *a3[] = { "xorb-test", "--store", NULL };
	struct capture cap;
	struct xorb_cli c;
	char *err;

	(void)state;
	clear_env();
	init_cli(&c);
	c.shortopts = XORB_CLI_COMMON_SHORTOPTS;
	c.longopts = (struct option *)longopts; /* read only by xorb_cli_getopt */
	optind = 1;
	assert_int_equal(xorb_cli_getopt(&c, 2, a1, NULL), XORB_OPT_VERSION);
	optind = 1;
	capture_begin(&cap, 2);
	assert_int_equal(xorb_cli_getopt(&c, 2, a2, NULL), XORB_CLI_OPT_ERROR);
	err = capture_end(&cap);
	assert_string_equal(err, "xorb-test: usage error: unknown option \"-x\"\nTry 'xorb-test --help'.\n");
	free(err);
	optind = 1;
	c.sub = "list";
	capture_begin(&cap, 2);
	assert_int_equal(xorb_cli_getopt(&c, 2, a3, NULL), XORB_CLI_OPT_ERROR);
	err = capture_end(&cap);
	assert_string_equal(err, "xorb-test: usage error: list: missing value for option \"--store\"\n"
				 "Try 'xorb-test list --help'.\n");
	free(err);
	capture_begin(&cap, 2);
	assert_int_equal(xorb_cli_missing_arg(&c, "TENANT"), XORB_EXIT_USAGE);
	assert_int_equal(xorb_cli_extra_arg(&c, "x"), XORB_EXIT_USAGE);
	err = capture_end(&cap);
	assert_string_equal(err, "xorb-test: usage error: list: missing argument TENANT\n"
				 "Try 'xorb-test list --help'.\n"
				 "xorb-test: usage error: list: unexpected argument \"x\" (too many arguments)\n"
				 "Try 'xorb-test list --help'.\n");
	free(err);
	optind = 1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_int_values_and_suffixes),
		cmocka_unit_test(test_parse_int_refusals),
		cmocka_unit_test(test_parse_int_suffix_overflow),
		cmocka_unit_test(test_bytes_formatting),
		cmocka_unit_test(test_list_add),
		cmocka_unit_test(test_init_from_environment),
		cmocka_unit_test(test_init_defaults),
		cmocka_unit_test(test_init_default_store_xdg),
		cmocka_unit_test(test_common_options_via_getopt),
		cmocka_unit_test(test_common_option_bad_values),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_notes_by_level),
		cmocka_unit_test(test_json_emit_and_version),
		cmocka_unit_test(test_find_command_and_foreign_option),
		cmocka_unit_test(test_getopt_version_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

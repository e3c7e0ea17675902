/*
 * Options that do not apply, and abbreviations, are usage errors (issue 14,
 * point 1, the part done so far), no NATS server needed: every case exits
 * 64 before it connects or opens a store.
 *
 * - xorb-backup takes each command option only for the subcommands that use
 *   it: `tenant --dry-run` ran a REAL backup before (exit 0), `check --to`
 *   and `list --all` were accepted and ignored.
 * - Long options are never abbreviated, in every command: getopt_long took
 *   `--serve` for `--server`.
 * - The value of an option is not read as an option ("--pre-hook --x").
 * - The configuration file (issue 14, point 3): --config / XORB_CONFIG, the
 *   XDG user file, [program] sections, flags > environment > file, and its
 *   errors (exit 64 naming file and line). The system file
 *   /etc/xorb/xorb.conf is read the same way (not written by a test).
 */
#include "xt_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

static char *work;
static char store[4200];

static int setup(void **state)
{
	(void)state;
	work = xt_tempdir("cli-options");
	if (!work)
		return -1;
	snprintf(store, sizeof(store), "%s/store", work);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (work && !getenv("XT_KEEP"))
		xt_rmtree(work);
	free(work);
	return 0;
}

/* argv exits 64 and says want on stderr; nothing is created in the store. */
static void assert_usage(const char *const *argv, const char *want)
{
	struct xt_result r;
	struct stat st;

	memset(&r, 0, sizeof(r));
	assert_int_equal(xt_run(argv, NULL, 60, &r), 0);
	if (r.status != 64 || !r.err || !strstr(r.err, want))
		fprintf(stderr, "--- %s %s: exit %d, want 64 and \"%s\"\n--- stderr:\n%s", argv[0], argv[1] ? argv[1] : "",
			r.status, want, r.err ? r.err : "");
	assert_int_equal(r.status, 64);
	assert_non_null(strstr(r.err, want));
	assert_non_null(strstr(r.err, "Try '"));
	xt_result_release(&r);
	assert_int_not_equal(stat(store, &st), 0);
}

static void test_options_that_do_not_apply(void **state)
{
	const char *bk = xt_bin("xorb-backup");
	const char *nowhere = "nats://127.0.0.1:1";

	(void)state;
	{
		const char *a[] = { bk, "-s", nowhere, "--store", store, "tenant", "t-qa", "--dry-run", NULL };
		assert_usage(a, "usage error: tenant: --dry-run does not apply (it is an option of copy)");
	}
	{
		const char *a[] = { bk, "-s", nowhere, "--store", store, "check", "--to", "/elsewhere", NULL };
		assert_usage(a, "usage error: check: --to does not apply (it is an option of copy)");
	}
	/* the options of encryption (issue 15) are checked like the others */
	{
		const char *a[] = { bk, "--store", store, "list", "--recipient", "age1x", NULL };
		assert_usage(a, "usage error: list: --recipient does not apply (it is an option of tenant, all)");
	}
	{
		const char *a[] = { bk, "-s", nowhere, "--store", store, "tenant", "t-qa", "--identity", "/k", NULL };
		assert_usage(a, "usage error: tenant: --identity does not apply (it is an option of show, diff)");
	}
	{
		const char *a[] = { bk, "--store", store, "list", "--all", NULL };
		assert_usage(a, "usage error: list: --all does not apply (it is an option of copy)");
	}
	{
		const char *a[] = { bk, "--store", store, "list", "--stream", "xorb-t-qa-scan-live", NULL };
		assert_usage(a, "usage error: list: --stream does not apply (it is an option of tenant)");
	}
	{
		const char *a[] = { bk, "--store", store, "copy", "t-qa", "--to", "/elsewhere", "--zstd-level", "3", NULL };
		assert_usage(a, "usage error: copy: --zstd-level does not apply (it is an option of tenant, all)");
	}
	{
		const char *a[] = { bk, "-s", nowhere, "--store", store, "all", "--tenants", "t-qa", "--max-age", "1h", NULL };
		assert_usage(a, "usage error: all: --max-age does not apply (it is an option of check)");
	}
	{
		/* "--x" is --pre-hook's value, not an unknown option */
		const char *a[] = { bk, "--store", store, "--pre-hook", "--x", "list", NULL };
		assert_usage(a, "usage error: list: --pre-hook does not apply (it is an option of tenant, all)");
	}
}

static void test_no_abbreviations(void **state)
{
	char verify[4200], restore[4200], prune[4200], st[4200];
	const char *bk = xt_bin("xorb-backup");

	(void)state;
	snprintf(verify, sizeof(verify), "%s", xt_bin("xorb-verify"));
	snprintf(restore, sizeof(restore), "%s", xt_bin("xorb-restore"));
	snprintf(prune, sizeof(prune), "%s", xt_bin("xorb-prune"));
	snprintf(st, sizeof(st), "%s", xt_bin("xorb-state"));
	{
		const char *a[] = { bk, "--serve", "nats://127.0.0.1:1", "--store", store, "list", NULL };
		assert_usage(a, "usage error: unknown option \"--serve\" (long options are never abbreviated)");
	}
	{
		const char *a[] = { verify, "--stor", store, "t-qa", NULL };
		assert_usage(a, "usage error: unknown option \"--stor\" (long options are never abbreviated)");
	}
	{
		const char *a[] = { restore, "--store", store, "t-qa", "--dry", NULL };
		assert_usage(a, "usage error: unknown option \"--dry\" (long options are never abbreviated)");
	}
	{
		const char *a[] = { prune, "--store", store, "t-qa", "--keep-l=1", NULL };
		assert_usage(a, "usage error: unknown option \"--keep-l\" (long options are never abbreviated)");
	}
	{
		const char *a[] = { st, "plan", "x.json", "--key", "/k", NULL };
		assert_usage(a, "usage error: unknown option \"--key\" (long options are never abbreviated)");
	}
	{
		const char *a[] = { bk, "--store", store, "list", "--no-such-option", NULL };
		assert_usage(a, "usage error: unknown option \"--no-such-option\"");
	}
}

/* Runs argv with env; returns its exit status, stderr in *err (caller frees). */
static int run_env(const char *const *argv, const char *const *env, char **err)
{
	struct xt_result r;
	int st;

	memset(&r, 0, sizeof(r));
	assert_int_equal(xt_run(argv, env, 60, &r), 0);
	st = r.status;
	*err = strdup(r.err ? r.err : "");
	xt_result_release(&r);
	return st;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* `xorb-backup list` fails on a store that does not exist and names it:
 * which store it names tells which setting won. */
static void assert_store_from(const char *const *env, const char *flag_store, const char *want)
{
	const char *bk = xt_bin("xorb-backup");
	const char *with_flag[] = { bk, "--store", flag_store, "list", NULL };
	const char *without[] = { bk, "list", NULL };
	char *err = NULL;
	int st = run_env(flag_store ? with_flag : without, env, &err);

	if (st != 2 || !strstr(err, want))
		fprintf(stderr, "--- want exit 2 naming %s, got %d:\n%s", want, st, err);
	assert_int_equal(st, 2);
	assert_non_null(strstr(err, want));
	free(err);
}

static void test_config_file(void **state)
{
	char conf[4400], xdg[4400], xdgconf[4400], cfgenv[4500], xdgenv[4500], from_file[4400], from_env[4400],
		from_flag[4400], from_xdg[4400], from_section[4400], text[20000], storeenv[4500];
	char *err = NULL;

	(void)state;
	snprintf(conf, sizeof(conf), "%s/xorb.conf", work);
	snprintf(from_file, sizeof(from_file), "%s/from-file", work);
	snprintf(from_env, sizeof(from_env), "%s/from-env", work);
	snprintf(from_flag, sizeof(from_flag), "%s/from-flag", work);
	snprintf(from_xdg, sizeof(from_xdg), "%s/from-xdg", work);
	snprintf(from_section, sizeof(from_section), "%s/from-section", work);
	snprintf(cfgenv, sizeof(cfgenv), "XORB_CONFIG=%s", conf);
	snprintf(storeenv, sizeof(storeenv), "XORB_STORE=%s", from_env);

	/* the file's store; the environment's over it; the flag's over both */
	snprintf(text, sizeof(text), "# a comment\n\nstore = %s\n[xorb-verify]\nstore = /elsewhere\n", from_file);
	write_file(conf, text, 0644);
	{
		const char *env[] = { cfgenv, NULL };
		assert_store_from(env, NULL, from_file);
		assert_store_from(env, from_flag, from_flag);
	}
	{
		const char *env[] = { cfgenv, storeenv, NULL };
		assert_store_from(env, NULL, from_env);
	}
	/* a [xorb-backup] section wins over the keys for all programs */
	snprintf(text, sizeof(text), "store = %s\n[xorb-backup]\nstore = \"%s\"\n", from_file, from_section);
	write_file(conf, text, 0644);
	{
		const char *env[] = { cfgenv, NULL };
		assert_store_from(env, NULL, from_section);
	}

	/* no --config nor XORB_CONFIG: $XDG_CONFIG_HOME/xorb/xorb.conf */
	snprintf(xdg, sizeof(xdg), "%s/xdg", work);
	snprintf(xdgconf, sizeof(xdgconf), "%s/xorb", xdg);
	assert_int_equal(mkdir(xdg, 0700), 0);
	assert_int_equal(mkdir(xdgconf, 0700), 0);
	snprintf(xdgconf, sizeof(xdgconf), "%s/xorb/xorb.conf", xdg);
	snprintf(text, sizeof(text), "store = %s\n", from_xdg);
	write_file(xdgconf, text, 0600);
	snprintf(xdgenv, sizeof(xdgenv), "XDG_CONFIG_HOME=%s", xdg);
	{
		const char *env[] = { "XORB_CONFIG=", xdgenv, NULL };
		assert_store_from(env, NULL, from_xdg);
	}
	/* --config FILE alone: the XDG file is not read then */
	{
		const char *bk = xt_bin("xorb-backup");
		const char *a[] = { bk, "--config", conf, "list", NULL };
		const char *env[] = { "XORB_CONFIG=", xdgenv, NULL };

		assert_int_equal(run_env(a, env, &err), 2);
		assert_non_null(strstr(err, from_section));
		free(err);
	}

	/* errors: exit 64 naming the file and the line */
	{
		static const struct {
			const char *text, *prog, *want;
			mode_t mode;
		} bad[] = {
			{ "store = /x\nbogus = 1\n", "xorb-backup", "line 2: unknown key \"bogus\"", 0600 },
			{ "server\n", "xorb-backup", "line 1: expected \"key = value\"", 0600 },
			{ "[xorb-nothing]\n", "xorb-backup", "line 1: [xorb-nothing] is not one of", 0600 },
			{ "password = s3cret\n", "xorb-backup", "a password in a file other users can read (mode 644)", 0644 },
			{ "timeout = soon\n", "xorb-backup", "(from ", 0600 },
			{ "s3-path-style = maybe\n", "xorb-backup", "line 1: s3-path-style is yes or no", 0600 },
			{ "[xorb-state]\ncontext = prod\n", "xorb-state", "line 2: xorb-state does not take context from a configuration file", 0600 },
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			const char *a[] = { xt_bin(bad[i].prog), "--help", NULL };
			const char *env[] = { cfgenv, NULL };
			int st;

			write_file(conf, bad[i].text, bad[i].mode);
			st = run_env(a, env, &err);
			if (st != 64 || !strstr(err, bad[i].want) || !strstr(err, conf))
				fprintf(stderr, "--- case %zu: want 64, \"%s\" and the path; got %d:\n%s", i, bad[i].want, st, err);
			assert_int_equal(st, 64);
			assert_non_null(strstr(err, bad[i].want));
			assert_non_null(strstr(err, conf));
			/* a secret is never echoed */
			assert_null(strstr(err, "s3cret"));
			free(err);
		}
	}
	/* a password in a private file, and keys for other programs, are fine */
	write_file(conf, "password = s3cret\ns3-path-style = yes\n[xorb-state]\nserver = nats://127.0.0.1:1\n", 0600);
	{
		const char *a[] = { xt_bin("xorb-verify"), "--help", NULL };
		const char *env[] = { cfgenv, NULL };

		assert_int_equal(run_env(a, env, &err), 0);
		free(err);
	}
	/* an explicit file that does not exist is an error */
	{
		const char *a[] = { xt_bin("xorb-prune"), "--config", "/nonexistent/xorb.conf", "--help", NULL };

		assert_int_equal(run_env(a, NULL, &err), 64);
		assert_non_null(strstr(err, "/nonexistent/xorb.conf: No such file or directory"));
		free(err);
	}
}

/* xorb-state age-key (issue 15): the tenant's identity made once (0600),
 * its public key printed, the age tool reads the file to the same key; a
 * second run prints the same key and writes nothing. */
static void test_state_age_key(void **state)
{
	char keys[4400], path[4500], cmd[4700], pub[128] = "", *first = NULL;
	const char *env[] = { NULL };
	struct stat st;
	int i;
	FILE *f;

	(void)state;
	snprintf(keys, sizeof(keys), "%s/keys", work);
	{
		const char *a[] = { xt_bin("xorb-state"), "--keys", keys, "-q", "init", NULL };
		char *err = NULL;

		assert_int_equal(run_env(a, env, &err), 0);
		free(err);
	}
	for (i = 0; i < 2; i++) {
		const char *a[] = { xt_bin("xorb-state"), "--keys", keys, "age-key", "t-qa", NULL };
		struct xt_result r;

		memset(&r, 0, sizeof(r));
		assert_int_equal(xt_run(a, env, 60, &r), 0);
		assert_int_equal(r.status, 0);
		assert_true(!strncmp(r.out, "age1", 4));
		assert_null(strstr(r.out, "AGE-SECRET-KEY"));
		assert_null(strstr(r.err, "AGE-SECRET-KEY"));
		if (!i)
			first = strdup(r.out);
		else
			assert_string_equal(first, r.out);
		xt_result_release(&r);
	}
	snprintf(path, sizeof(path), "%s/age/xorb-t-qa.key", keys);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(cmd, sizeof(cmd), "age-keygen -y '%s'", path);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_non_null(fgets(pub, sizeof(pub), f));
	pclose(f);
	assert_string_equal(pub, first);
	free(first);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_that_do_not_apply),
		cmocka_unit_test(test_no_abbreviations),
		cmocka_unit_test(test_config_file),
		cmocka_unit_test(test_state_age_key),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

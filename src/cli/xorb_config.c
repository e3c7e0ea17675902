/*
 * The configuration file (issue 14, point 3): the common settings a host or
 * a user sets once instead of on every command line.
 *
 *   # /etc/xorb/xorb.conf, then $XDG_CONFIG_HOME/xorb/xorb.conf (or
 *   # ~/.config/xorb/xorb.conf): both are read, the user's after the host's
 *   store = s3://backups/xorb
 *   s3-endpoint = https://s3.example.internal
 *   context = prod
 *   [xorb-state]
 *   server = nats://admin.example.internal:4222
 *
 * Keys are the long names of the common options (connection, store, S3,
 * timeout, log format); a [program] section applies to that program only
 * and comes after the keys for all. Precedence, as the issue asks: flags >
 * environment > natscli context > file > defaults. A key whose environment
 * variable is set is skipped (the variable wins), flags are parsed after the
 * file (they win), and the file does not count as "given" for the natscli
 * context (a context selected anywhere fills what no flag or variable set,
 * over the file's values: it names one deployment, the file is a default).
 *
 * Options of one command (--max-age, --replicas...) are not configuration:
 * they define the job, and they stay on the job's command line or unit.
 * Decided: a key the program does not use is skipped in the part for all
 * programs and an error in its own section; an unknown key, a malformed
 * line, a bad value, or a password in a file others can read are usage
 * errors (exit 64) naming the file and line.
 */
#include "xorb_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_MAX (64u << 10)

#ifndef XORB_SYSTEM_CONFIG
#define XORB_SYSTEM_CONFIG "/etc/xorb/xorb.conf"
#endif

/* The keys a file may set, and the variables that win over each; and the
 * options the storage plugins declare (xorb_cli_plugin_option), with the
 * variables they name. */
static const struct {
	const char *key;
	const char *env[2];
	int flag; /* a flag without a value: yes/no in the file */
} keys[] = {
	{ "server", { "NATS_URL" }, 0 },
	{ "creds", { "NATS_CREDS" }, 0 },
	{ "user", { "NATS_USER" }, 0 },
	{ "password", { "NATS_PASSWORD" }, 0 },
	{ "tlscert", { "NATS_CERT" }, 0 },
	{ "tlskey", { "NATS_KEY" }, 0 },
	{ "tlsca", { "NATS_CA" }, 0 },
	{ "context", { "NATS_CONTEXT" }, 0 },
	{ "timeout", { NULL }, 0 },
	{ "store", { "XORB_STORE" }, 0 },
	{ "log-format", { NULL }, 0 },
};

/* Keys a program has an option for but that mean something else there:
 * xorb-state logs in as its keys directory's system user (--user names the
 * user of `creds`, and --context is refused). */
static const struct {
	const char *prog, *key;
} not_for[] = {
	{ "xorb-state", "context" },
	{ "xorb-state", "user" },
	{ "xorb-state", "password" },
	{ "xorb-state", "creds" },
};

static int used_by(const char *prog, const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(not_for) / sizeof(not_for[0]); i++)
		if (!strcmp(not_for[i].prog, prog) && !strcmp(not_for[i].key, key))
			return 0;
	return 1;
}

static const char *const programs[] = { "xorb-backup", "xorb-restore", "xorb-verify",
					"xorb-prune",  "xorb-state",   "xorb-subject-lint" };

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int known_program(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(programs) / sizeof(programs[0]); i++)
		if (!strcmp(programs[i], name))
			return 1;
	return 0;
}

static int env_set(const char *const *env)
{
	int i;

	for (i = 0; i < 2; i++)
		if (env[i] && getenv(env[i]) && *getenv(env[i]))
			return 1;
	return 0;
}

static const struct option *program_option(const struct option *longopts, const char *name)
{
	for (; longopts && longopts->name; longopts++)
		if (!strcmp(longopts->name, name))
			return longopts;
	return NULL;
}

/* Reads path (regular file, or /dev/null) into a NUL-terminated buffer kept
 * for the process (the settings point into it). 1 read, 0 absent (missing
 * is fine only when !required), -1 error (message printed). */
static int read_config(struct xorb_cli *c, const char *path, int required, char **text, mode_t *mode)
{
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		if (errno == ENOENT && !required)
			return 0;
		xorb_cli_usage_error(c, "configuration file %s: %s%s", path, strerror(errno),
				     errno == ENOENT ? " (--config and XORB_CONFIG name a file that must exist)" : "");
		return -1;
	}
	if (fstat(fd, &st) || (!S_ISREG(st.st_mode) && strcmp(path, "/dev/null"))) {
		close(fd);
		xorb_cli_usage_error(c, "configuration file %s is not a regular file", path);
		return -1;
	}
	*mode = st.st_mode;
	*text = malloc(CONFIG_MAX + 1);
	if (!*text) {
		close(fd);
		xorb_cli_usage_error(c, "configuration file %s: out of memory", path);
		return -1;
	}
	while (len <= CONFIG_MAX && (n = read(fd, *text + len, CONFIG_MAX + 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (len > CONFIG_MAX) {
		xorb_cli_usage_error(c, "configuration file %s is larger than %u KiB: is it the right file?", path,
				     CONFIG_MAX >> 10);
		return -1;
	}
	(*text)[len] = '\0';
	{
		char *fit = realloc(*text, len + 1);

		if (fit)
			*text = fit;
	}
	if (memchr(*text, '\0', len)) {
		xorb_cli_usage_error(c, "configuration file %s holds a NUL byte: not a text file", path);
		return -1;
	}
	return 1;
}

/* The texts of the files read (the system's and the user's): the settings
 * point into them for the life of the process; freed at exit. */
static char *kept[2];
static unsigned n_kept;

static void free_kept(void)
{
	free(kept[0]);
	free(kept[1]);
}

static int apply_file(struct xorb_cli *c, const char *path, int required, const struct option *longopts)
{
	char *text = NULL, *line, *next;
	const char *section = NULL;
	unsigned saved_given = c->conn_given;
	mode_t mode = 0;
	int r = read_config(c, path, required, &text, &mode), no = 0;

	if (r <= 0)
		return r;
	for (line = text; line; line = next) {
		char *eq, *key, *val;
		const struct option *o;
		const struct xorb_storage_option *po = NULL;
		const char *const *env;
		int flag, pid = 0;
		size_t k;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		no++;
		line = trim(line);
		if (!*line || *line == '#' || *line == ';')
			continue;
		if (*line == '[') {
			char *end = strchr(line, ']');

			if (!end || end[1]) {
				r = xorb_cli_usage_error(c, "%s line %d: a section is [program]", path, no);
				goto fail;
			}
			*end = '\0';
			section = trim(line + 1);
			if (!known_program(section)) {
				r = xorb_cli_usage_error(c, "%s line %d: [%s] is not one of xorb-backup, xorb-restore, "
							 "xorb-verify, xorb-prune, xorb-state, xorb-subject-lint",
							 path, no, section);
				goto fail;
			}
			continue;
		}
		eq = strchr(line, '=');
		if (!eq) {
			r = xorb_cli_usage_error(c, "%s line %d: expected \"key = value\"", path, no);
			goto fail;
		}
		*eq = '\0';
		key = trim(line);
		val = trim(eq + 1);
		if (strlen(val) >= 2 && val[0] == '"' && val[strlen(val) - 1] == '"') {
			val[strlen(val) - 1] = '\0';
			val++;
		}
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]) && strcmp(keys[k].key, key); k++)
			;
		if (k == sizeof(keys) / sizeof(keys[0]))
			po = xorb_cli_plugin_option(c, key, &pid);
		if (k == sizeof(keys) / sizeof(keys[0]) && !po) {
			r = xorb_cli_usage_error(c, "%s line %d: unknown key \"%.60s\" (keys: the common options' long "
						    "names, e.g. server, creds, context, store, s3-endpoint, timeout; "
						    "see the README's Configuration)", path, no, key);
			goto fail;
		}
		if (!*val) {
			r = xorb_cli_usage_error(c, "%s line %d: %s has no value", path, no, key);
			goto fail;
		}
		if (!strcmp(key, "password") && (mode & 077)) {
			r = xorb_cli_usage_error(c, "%s line %d: a password in a file other users can read (mode %03o): "
						    "chmod 600 %s, or use a creds file", path, no, (unsigned)(mode & 0777), path);
			goto fail;
		}
		if (section && strcmp(section, c->prog))
			continue;
		o = used_by(c->prog, key) ? program_option(longopts, key) : NULL;
		if (!o) {
			if (!section)
				continue; /* a setting for the other programs */
			r = xorb_cli_usage_error(c, "%s line %d: %s does not take %s from a configuration file%s", path, no,
						 c->prog, key,
						 program_option(longopts, key) ? " (it logs in as its keys directory's system user)" : "");
			goto fail;
		}
		env = po ? po->env : keys[k].env;
		flag = po ? po->type == XORB_SOPT_FLAG : keys[k].flag;
		if (env_set(env))
			continue; /* the environment wins */
		if (flag) {
			if (!strcmp(val, "no") || !strcmp(val, "false") || !strcmp(val, "0"))
				continue;
			if (strcmp(val, "yes") && strcmp(val, "true") && strcmp(val, "1")) {
				r = xorb_cli_usage_error(c, "%s line %d: %s is yes or no, not \"%.40s\"", path, no, key, val);
				goto fail;
			}
		}
		if (xorb_cli_common_opt(c, po ? pid : o->val, val) < 0) {
			/* the value's message was printed; say where it came from */
			fprintf(stderr, "%s: (from %s line %d)\n", c->prog, path, no);
			r = XORB_EXIT_USAGE;
			goto fail;
		}
	}
	c->conn_given = saved_given; /* the file is a default: a natscli context fills over it */
	/* kept: the settings point into it until the process ends */
	if (!n_kept)
		atexit(free_kept);
	kept[n_kept++ % 2] = text;
	return 1;
fail:
	free(text);
	return -1;
}

/* --config FILE or --config=FILE among argv (before "--"), else NULL. */
static const char *config_arg(int argc, char *const *argv)
{
	const char *last = NULL;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			last = argv[++i];
		else if (!strncmp(argv[i], "--config=", 9))
			last = argv[i] + 9;
	}
	return last;
}

int xorb_cli_load_config(struct xorb_cli *c, int argc, char *const *argv, const struct option *longopts)
{
	const char *explicit = config_arg(argc, argv), *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char user[4200];

	if (!explicit && getenv("XORB_CONFIG") && *getenv("XORB_CONFIG"))
		explicit = getenv("XORB_CONFIG");
	if (explicit)
		return apply_file(c, explicit, 1, longopts) < 0 ? XORB_EXIT_USAGE : 0;
	if (apply_file(c, XORB_SYSTEM_CONFIG, 0, longopts) < 0)
		return XORB_EXIT_USAGE;
	/* XDG Base Directory: $XDG_CONFIG_HOME when absolute, else ~/.config */
	if (xdg && xdg[0] == '/')
		snprintf(user, sizeof(user), "%s/xorb/xorb.conf", xdg);
	else if (home && *home)
		snprintf(user, sizeof(user), "%s/.config/xorb/xorb.conf", home);
	else
		return 0;
	return apply_file(c, user, 0, longopts) < 0 ? XORB_EXIT_USAGE : 0;
}

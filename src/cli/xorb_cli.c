/* Tool layer: see xorb_cli.h. */
#include "xorb_cli.h"

#include "xorb_buf.h"
#include "xorb_context.h"
#include "xorb_json.h"

#include <errno.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void xorb_cli_print_conn_help(FILE *f)
{
	fputs("Connection (the nats CLI's names):\n"
	      "  -s, --server URL     NATS server URL(s) (env NATS_URL;\n"
	      "                       default nats://127.0.0.1:4222)\n"
	      "      --creds FILE     user credentials file (env NATS_CREDS)\n"
	      "      --user USER      user name (env NATS_USER)\n"
	      "      --password PASS  password (env NATS_PASSWORD; prefer the variable:\n"
	      "                       flags show in ps)\n"
	      "      --tlscert FILE   client certificate (env NATS_CERT)\n"
	      "      --tlskey FILE    client private key (env NATS_KEY)\n"
	      "      --tlsca FILE     CA that signed the server's certificate (env NATS_CA)\n"
	      "      --context NAME   natscli context (env NATS_CONTEXT):\n"
	      "                       ~/.config/nats/context/NAME.json or a path; options\n"
	      "                       and NATS_* variables override its settings\n"
	      "      --timeout SEC    JetStream API request timeout (default 10)\n",
	      f);
}

/* The options the storage plugins declare (ABI 1.2), under each plugin's
 * title: "      --NAME VALUE" then the help from column 28, or on the next
 * line when the two do not fit in 80 columns. */
static void xorb_cli_print_plugin_help(FILE *f)
{
	const struct xorb_storage_option *o[64];
	const char *t[64], *title = NULL;
	size_t n = xorb_store_plugin_options(o, t, 64), i;

	for (i = 0; i < n && i < 64; i++) {
		char head[64];
		int w;

		if (t[i] && t[i] != title)
			fprintf(f, "%s\n", t[i]);
		title = t[i];
		w = snprintf(head, sizeof(head), "      --%s%s%s", o[i]->name, o[i]->value_name ? " " : "",
			     o[i]->value_name ? o[i]->value_name : "");
		if (w < 27 && w + 1 + (int)strlen(o[i]->help) <= 80)
			fprintf(f, "%-27s%s\n", head, o[i]->help);
		else
			fprintf(f, "%s\n%27s%s\n", head, "", o[i]->help);
	}
}

void xorb_cli_print_store_help(FILE *f)
{
	fputs("Store:\n"
	      "      --store URL      backup store: file:///abs/path, a directory, or\n"
	      "                       s3://bucket/prefix (env XORB_STORE; default\n"
	      "                       /var/lib/xorb/backups as root, else\n"
	      "                       $XDG_DATA_HOME/xorb/backups or\n"
	      "                       ~/.local/share/xorb/backups)\n",
	      f);
	xorb_cli_print_plugin_help(f);
}

void xorb_cli_print_output_help(FILE *f, int json)
{
	fputs("Output:\n"
	      "  -q, --quiet          only errors and warnings\n"
	      "  -v, --verbose        more detail\n",
	      f);
	if (json)
		fputs("      --json           machine-readable result on stdout\n", f);
	fputs("      --log-format F   text (default) or json: one JSON object per stderr line\n"
	      "                       (time, level, tenant, stream, message)\n",
	      f);
}

void xorb_cli_print_config_help(FILE *f)
{
	fputs("Configuration:\n"
	      "      --config FILE    read only FILE (env XORB_CONFIG); by default\n"
	      "                       /etc/xorb/xorb.conf, then $XDG_CONFIG_HOME/xorb/xorb.conf\n"
	      "                       (~/.config/xorb/xorb.conf): \"key = value\" lines named\n"
	      "                       like the common options (server, creds, store,\n"
	      "                       s3-endpoint...), [program] sections; flags > NATS_* and\n"
	      "                       XORB_* variables > natscli context > file\n"
	      "  -h, --help           this help\n"
	      "  -V, --version        print the version\n",
	      f);
}

void xorb_cli_print_exit_help(FILE *f)
{
	fputs("Exit codes: 0 success, 1 finished with warnings, 2 failed, 64 usage error.\n", f);
}

void xorb_cli_print_common_help(FILE *f, int json)
{
	xorb_cli_print_conn_help(f);
	xorb_cli_print_store_help(f);
	xorb_cli_print_output_help(f, json);
	xorb_cli_print_config_help(f);
}

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

void xorb_cli_malloc_for_streaming(void)
{
#ifdef __GLIBC__
	/* setting either one also turns off glibc's dynamic adjustment, which
	 * would otherwise raise the mmap threshold only after the first free */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 16 << 20);
#endif
}

void xorb_cli_init(struct xorb_cli *c, const char *prog)
{
	const char *home = getenv("HOME"), *data = getenv("XDG_DATA_HOME");

	/* no core dump, and no ptrace by other processes of the same user,
	 * while passwords, tokens and nkeys seeds may be in memory: from the
	 * first line of every command (exec of a hook resets it for the hook) */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	memset(c, 0, sizeof(*c));
	c->prog = prog;
	c->conn.url = env_or("NATS_URL", "nats://127.0.0.1:4222");
	c->conn.creds = env_or("NATS_CREDS", NULL);
	c->conn.user = env_or("NATS_USER", NULL);
	c->conn.password = env_or("NATS_PASSWORD", NULL);
	c->conn.tlscert = env_or("NATS_CERT", NULL);
	c->conn.tlskey = env_or("NATS_KEY", NULL);
	c->conn.tlsca = env_or("NATS_CA", NULL);
	{
		static const char *const vars[] = { "NATS_URL",	 "NATS_CREDS", "NATS_USER", "NATS_PASSWORD",
						    "NATS_CERT", "NATS_KEY",   "NATS_CA" };
		size_t i;

		for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
			if (env_or(vars[i], NULL))
				c->conn_given |= 1u << i;
	}
	c->context = env_or("NATS_CONTEXT", NULL);
	c->conn.timeout_ms = 10000;
	/* a user's store follows the XDG base directory spec: $XDG_DATA_HOME
	 * when it is an absolute path (a relative one is ignored, as the spec
	 * says), else ~/.local/share */
	if (geteuid() == 0)
		snprintf(c->default_store, sizeof(c->default_store), "%s", XORB_DEFAULT_STORE);
	else if (data && data[0] == '/')
		snprintf(c->default_store, sizeof(c->default_store), "%s/xorb/backups", data);
	else if (home && *home)
		snprintf(c->default_store, sizeof(c->default_store), "%s/.local/share/xorb/backups", home);
	else
		snprintf(c->default_store, sizeof(c->default_store), "%s", XORB_DEFAULT_STORE);
	c->store = env_or("XORB_STORE", c->default_store);
}

int64_t xorb_cli_parse_int(const struct xorb_cli *c, const char *opt, const char *arg,
			   int64_t min, int64_t max, bool allow_suffix)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (allow_suffix && end != arg && *end && !end[1]) {
		long long mul = 1;

		switch (*end) {
		case 'k': case 'K': mul = 1024; break;
		case 'm': case 'M': mul = 1024 * 1024; break;
		case 'g': case 'G': mul = 1024LL * 1024 * 1024; break;
		}
		if (mul > 1) {
			end++;
			if (v > LLONG_MAX / mul || v < LLONG_MIN / mul)
				errno = ERANGE;
			else
				v *= mul;
		}
	}
	if (errno || end == arg || *end || v < min || v > max) {
		xorb_cli_usage_error(c, "%s: \"%s\" is not a number from %lld to %lld", opt, arg,
				     (long long)min, (long long)max);
		return -1;
	}
	return v;
}

static int set_param(struct xorb_cli *c, const char *key, const char *value)
{
	size_t i;

	for (i = 0; i < c->n_params; i++)
		if (!strcmp(c->params[i].key, key)) {
			c->params[i].value = value;
			return 1;
		}
	if (c->n_params + 1 >= sizeof(c->params) / sizeof(c->params[0]))
		return -1;
	c->params[c->n_params].key = key;
	c->params[c->n_params++].value = value;
	c->params[c->n_params].key = NULL;
	return 1;
}

int64_t xorb_cli_parse_duration(const struct xorb_cli *c, const char *opt, const char *arg)
{
	char *end;
	long long v;
	int64_t mul = 1;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (end != arg && *end && !end[1]) {
		switch (*end) {
		case 's': mul = 1; end++; break;
		case 'm': mul = 60; end++; break;
		case 'h': mul = 3600; end++; break;
		case 'd': mul = 86400; end++; break;
		}
	}
	if (errno || end == arg || *end || v < 0 || v > INT64_MAX / 86400 / mul) {
		xorb_cli_usage_error(c, "%s: \"%s\" is not a duration like 90m, 26h or 7d", opt, arg);
		return -1;
	}
	return v * mul;
}

/* An option a storage plugin declared: its value checked by its type, then
 * handed to the plugin as the parameter of the same name. */
static int plugin_opt(struct xorb_cli *c, const struct xorb_storage_option *o, const char *arg)
{
	char opt[64];
	int64_t v;
	size_t i;

	switch (o->type) {
	case XORB_SOPT_FLAG:
		return set_param(c, o->name, "1");
	case XORB_SOPT_TEXT:
		return set_param(c, o->name, arg);
	default:
		snprintf(opt, sizeof(opt), "--%s", o->name);
		v = xorb_cli_parse_int(c, opt, arg, o->min, o->max, o->type == XORB_SOPT_SIZE);
		if (v < 0)
			return -1;
		/* one slot per option name: given again, the last wins */
		for (i = 0; i < c->n_params && strcmp(c->params[i].key, o->name); i++)
			;
		if (i >= sizeof(c->param_num) / sizeof(c->param_num[0]))
			return -1;
		snprintf(c->param_num[i], sizeof(c->param_num[i]), "%lld", (long long)v);
		return set_param(c, o->name, c->param_num[i]);
	}
}

int xorb_cli_common_opt(struct xorb_cli *c, int opt, const char *arg)
{
	if (opt >= XORB_OPT_PLUGIN && (size_t)(opt - XORB_OPT_PLUGIN) < c->n_plugin_opts)
		return plugin_opt(c, c->plugin_opts[opt - XORB_OPT_PLUGIN], arg);
	switch (opt) {
	case 's': c->conn.url = arg; c->conn_given |= 1u << 0; return 1;
	case XORB_OPT_CREDS: c->conn.creds = arg; c->conn_given |= 1u << 1; return 1;
	case XORB_OPT_USER: c->conn.user = arg; c->conn_given |= 1u << 2; return 1;
	case XORB_OPT_PASSWORD: c->conn.password = arg; c->conn_given |= 1u << 3; return 1;
	case XORB_OPT_TLSCERT: c->conn.tlscert = arg; c->conn_given |= 1u << 4; return 1;
	case XORB_OPT_TLSKEY: c->conn.tlskey = arg; c->conn_given |= 1u << 5; return 1;
	case XORB_OPT_TLSCA: c->conn.tlsca = arg; c->conn_given |= 1u << 6; return 1;
	case XORB_OPT_CONTEXT: c->context = arg; return 1;
	case XORB_OPT_CONFIG: return 1; /* read before the options: xorb_cli_load_config */
	case XORB_OPT_STORE: c->store = arg; return 1;
	case XORB_OPT_TIMEOUT: {
		int64_t v = xorb_cli_parse_int(c, "--timeout", arg, 1, 3600, false);

		if (v < 0)
			return -1;
		c->conn.timeout_ms = (int)v * 1000;
		return 1;
	}
	case XORB_OPT_LOG_FORMAT:
		if (!strcmp(arg, "json"))
			c->log_json = 1;
		else if (!strcmp(arg, "text"))
			c->log_json = 0;
		else {
			xorb_cli_usage_error(c, "--log-format: \"%s\" is not text or json", arg);
			return -1;
		}
		return 1;
	case 'q': c->quiet = 1; return 1;
	case 'v': c->verbose++; return 1;
	case XORB_OPT_JSON: c->json = 1; return 1;
	}
	return 0;
}

static void log_json_line(const struct xorb_cli *c, const char *level, const char *stream,
			  const char *msg)
{
	char when[40], stamp[48];
	struct timespec ts;
	struct tm tm;
	struct xorb_buf b;
	cJSON *j = cJSON_CreateObject();

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp, sizeof(stamp), "%s.%03ldZ", when, ts.tv_nsec / 1000000);
	cJSON_AddStringToObject(j, "time", stamp);
	cJSON_AddStringToObject(j, "level", level);
	cJSON_AddStringToObject(j, "program", c->prog);
	if (c->tenant)
		cJSON_AddStringToObject(j, "tenant", c->tenant);
	else
		cJSON_AddNullToObject(j, "tenant");
	if (stream)
		cJSON_AddStringToObject(j, "stream", stream);
	else
		cJSON_AddNullToObject(j, "stream");
	cJSON_AddStringToObject(j, "message", msg);
	/* the same writer as --json output, to stderr */
	xorb_buf_init(&b);
	if (j && !xorb_json_print(j, &b) && !xorb_buf_puts(&b, "\n"))
		fputs(b.data, stderr);
	xorb_buf_release(&b);
	cJSON_Delete(j);
}

static void vmsg(const struct xorb_cli *c, const char *kind, const char *fmt, va_list ap)
{
	char buf[2048];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	xorb_cli_progress_end((struct xorb_cli *)c);
	if (c->log_json) {
		char level[16];

		snprintf(level, sizeof(level), "%.*s", (int)strcspn(kind, ": "), kind);
		log_json_line(c, level, NULL, buf);
		return;
	}
	fprintf(stderr, "%s: %s%s\n", c->prog, kind, buf);
}

void xorb_cli_error(const struct xorb_cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(c, "error: ", fmt, ap);
	va_end(ap);
}

void xorb_cli_warn(const struct xorb_cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(c, "warning: ", fmt, ap);
	va_end(ap);
}

int xorb_cli_fail(const struct xorb_cli *c, const struct xorb_error *err)
{
	xorb_cli_error(c, "%s", err->msg[0] ? err->msg : xorb_status_str(err->code));
	return XORB_EXIT_FAIL;
}

int xorb_cli_usage_error(const struct xorb_cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(c, "usage error: ", fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s%s%s --help'.\n", c->prog, c->sub ? " " : "", c->sub ? c->sub : "");
	return XORB_EXIT_USAGE;
}

int xorb_cli_missing_arg(const struct xorb_cli *c, const char *name)
{
	return xorb_cli_usage_error(c, "%s%smissing argument %s", c->sub ? c->sub : "", c->sub ? ": " : "", name);
}

int xorb_cli_extra_arg(const struct xorb_cli *c, const char *arg)
{
	return xorb_cli_usage_error(c, "%s%sunexpected argument \"%.200s\" (too many arguments)", c->sub ? c->sub : "",
				    c->sub ? ": " : "", arg);
}

int xorb_cli_unknown_command(const struct xorb_cli *c, const char *cmd, const char *commands)
{
	return xorb_cli_usage_error(c, "unknown command \"%.80s\" (commands: %s)", cmd, commands);
}

/* The entry of longopts for a short option (-V: version). */
static const struct option *short_entry(const struct option *longopts, int ch)
{
	const struct option *o;

	if (ch == 'V')
		ch = XORB_OPT_VERSION;
	for (o = longopts; o->name; o++)
		if (o->val == ch)
			return o;
	return NULL;
}

int xorb_cli_has_option(const struct option *longopts, int val)
{
	const struct option *o;

	for (o = longopts; o->name; o++)
		if (o->val == val)
			return 1;
	return 0;
}

/* Walks argv's options like getopt would (up to "--"): calls fn for each
 * option given (its entry in longopts, NULL when unknown; word: the argv
 * word of a long option, NULL for a short one) and returns the
 * index of the first word that is not an option (argc: none), or stops
 * early when fn returns nonzero (then returns -1). */
static int walk_options(int argc, char *const *argv, const char *shortopts, const struct option *longopts,
			int (*fn)(void *arg, const struct option *o, const char *word), void *arg)
{
	int i, first = argc;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--"))
			break;
		if (!strncmp(a, "--", 2)) {
			size_t n = strcspn(a + 2, "=");
			const struct option *o;

			for (o = longopts; o->name; o++)
				if (strlen(o->name) == n && !strncmp(o->name, a + 2, n))
					break;
			if (fn && fn(arg, o->name ? o : NULL, a))
				return -1;
			if (o->name && o->has_arg == required_argument && !a[2 + n])
				i++;
		} else if (a[0] == '-' && a[1]) {
			const char *p;

			for (p = a + 1; *p; p++) {
				const char *spec = strchr(shortopts, *p);

				if (fn && fn(arg, short_entry(longopts, *p), NULL))
					return -1;
				if (spec && spec[1] == ':') {
					if (!p[1])
						i++;
					break;
				}
			}
		} else if (first == argc) {
			first = i;
		}
	}
	return first;
}

int xorb_cli_find_command(int argc, char *const *argv, const char *shortopts, const struct option *longopts)
{
	return walk_options(argc, argv, shortopts, longopts, NULL, NULL);
}

struct foreign {
	const struct option *sub, *found;
};

static int foreign_fn(void *arg, const struct option *o, const char *word)
{
	struct foreign *f = arg;
	const struct option *s;

	(void)word;
	if (!o)
		return 0; /* unknown: said by xorb_cli_begin */
	for (s = f->sub; s->name; s++)
		if (!strcmp(s->name, o->name))
			return 0;
	f->found = o;
	return 1;
}

const struct option *xorb_cli_foreign_option(int argc, char *const *argv, const char *all_short,
					     const struct option *all, const struct option *sub)
{
	struct foreign f = { sub, NULL };

	walk_options(argc, argv, all_short, all, foreign_fn, &f);
	return f.found;
}

/* The first long option word that names no option. */
static int unknown_fn(void *arg, const struct option *o, const char *word)
{
	if (o || !word)
		return 0;
	*(const char **)arg = word;
	return 1;
}

int xorb_cli_exact_options(const struct xorb_cli *c, int argc, char *const *argv, const char *shortopts,
			   const struct option *longopts)
{
	const char *a = NULL, *sub = c->sub ? c->sub : "", *sep = c->sub ? ": " : "";
	const struct option *o;
	size_t n;

	walk_options(argc, argv, shortopts, longopts, unknown_fn, &a);
	if (!a)
		return 0;
	n = strcspn(a + 2, "=");
	/* a prefix of an option: say which one, and why it is refused */
	for (o = longopts; o->name; o++)
		if (strlen(o->name) > n && !strncmp(o->name, a + 2, n))
			break;
	if (o->name && n)
		return xorb_cli_usage_error(c, "%s%sunknown option \"--%.*s\" (did you mean \"--%s\"? long options are never abbreviated)",
					    sub, sep, (int)n, a + 2, o->name);
	return xorb_cli_usage_error(c, "%s%sunknown option \"--%.*s\"", sub, sep, (int)(n > 80 ? 80 : n), a + 2);
}

void xorb_cli_note(void *arg, enum xorb_note_level lvl, const char *stream, const char *msg)
{
	struct xorb_cli *c = arg;

	if (c->log_json) {
		if (lvl == XORB_NOTE_WARN || !(c->quiet || (lvl == XORB_NOTE_DEBUG && !c->verbose)))
			log_json_line(c, lvl == XORB_NOTE_WARN ? "warning" : lvl == XORB_NOTE_DEBUG ? "debug" : "info",
				      stream, msg);
		return;
	}
	xorb_cli_progress_end(c);
	if (lvl == XORB_NOTE_WARN) {
		if (stream)
			xorb_cli_warn(c, "stream \"%s\": %s", stream, msg);
		else
			xorb_cli_warn(c, "%s", msg);
		return;
	}
	if (c->quiet || (lvl == XORB_NOTE_DEBUG && !c->verbose))
		return;
	if (stream)
		fprintf(stderr, "%s: stream \"%s\": %s\n", c->prog, stream, msg);
	else
		fprintf(stderr, "%s: %s\n", c->prog, msg);
}

int xorb_cli_load_context(struct xorb_cli *c, struct xorb_error *err)
{
	char path[4096];
	int rc;

	if (!c->context || c->context_loaded)
		return XORB_OK;
	rc = xorb_context_path(c->context, path, sizeof(path), err);
	if (!rc)
		rc = xorb_context_apply(path, c->conn_given, &c->conn, &c->context_json, err);
	if (!rc) {
		char msg[4200];

		c->context_loaded = 1;
		snprintf(msg, sizeof(msg), "natscli context %s: its settings apply where no option or variable sets them", path);
		xorb_cli_note(c, XORB_NOTE_DEBUG, NULL, msg);
	}
	return rc;
}

int xorb_cli_connect(struct xorb_cli *c, natsConnection **nc, struct xorb_error *err)
{
	int rc = xorb_cli_load_context(c, err);

	return rc ? rc : xorb_nats_connect(&c->conn, nc, err);
}

int xorb_cli_open_store(const struct xorb_cli *c, const char *url, enum xorb_store_use use,
			struct xorb_store **s, struct xorb_error *err)
{
	struct xorb_param p[sizeof(c->params) / sizeof(c->params[0]) + 1];
	size_t i;

	for (i = 0; i < c->n_params; i++)
		p[i] = c->params[i];
	p[i].key = "create";
	p[i++].value = use == XORB_STORE_WRITE ? "yes" : "no";
	p[i].key = NULL;
	p[i].value = NULL;
	return xorb_store_open_with(url ? url : c->store, p, s, err);
}

const char *xorb_cli_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}

int xorb_cli_list_add(const char ***list, size_t *n, const char *s)
{
	const char **l = realloc(*list, (*n + 2) * sizeof(*l));

	if (!l)
		return -1;
	l[(*n)++] = s;
	l[*n] = NULL;
	*list = l;
	return 0;
}

void xorb_cli_version(const struct xorb_cli *c)
{
	printf("%s (xorb-dr) %s\n", c->prog, XORB_VERSION);
}

void xorb_cli_json_emit(cJSON *j, const char *after)
{
	struct xorb_buf b;

	xorb_buf_init(&b);
	if (j && xorb_json_print(j, &b) == 0)
		fwrite(b.data, 1, b.len, stdout);
	else
		fputs("null", stdout);
	if (after)
		fputs(after, stdout);
	xorb_buf_release(&b);
	cJSON_Delete(j);
}

void xorb_cli_json_add_seconds(cJSON *o, const char *key, double s)
{
	cJSON_AddNumberToObject(o, key, round(s * 1000.0) / 1000.0);
}

void xorb_cli_progress_setup(struct xorb_cli *c)
{
	const char *term = getenv("TERM");

	/* the line is redrawn with \r and ESC [K: a terminal that knows no
	 * escapes (TERM unset or dumb, e.g. Emacs shell buffers) gets none */
	c->progress = isatty(STDERR_FILENO) && !c->quiet && !c->log_json && term && *term && strcmp(term, "dumb");
}

void xorb_cli_progress(struct xorb_cli *c, const char *label, uint64_t done, uint64_t total,
		       double started)
{
	double now = xorb_now(), rate, eta;
	char d[32], t[32], r[32], line[512];
	struct winsize ws;

	if (!c->progress || now - c->progress_last < 0.1)
		return;
	c->progress_last = now;
	rate = now > started ? (double)done / (now - started) : 0;
	xorb_cli_bytes(done, d, sizeof(d));
	xorb_cli_bytes((uint64_t)rate, r, sizeof(r));
	if (total && total >= done && rate > 0) {
		eta = (double)(total - done) / rate;
		xorb_cli_bytes(total, t, sizeof(t));
		snprintf(line, sizeof(line), "%s  %s / %s  %3d%%  %s/s  ETA %.0fs", label, d, t,
			 (int)(100.0 * (double)done / (double)total), r, eta);
	} else {
		snprintf(line, sizeof(line), "%s  %s  %s/s", label, d, r);
	}
	/* one line that fits: a longer one wraps and \r no longer redraws it */
	if (!ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) && ws.ws_col > 1 && strlen(line) >= ws.ws_col)
		line[ws.ws_col - 1] = '\0';
	fprintf(stderr, "\r\033[K%s", line);
	c->progress_drawn = 1;
}

void xorb_cli_progress_cb(void *arg, const char *stream, uint64_t done, uint64_t total)
{
	struct xorb_cli *c = arg;

	if (!c->progress_t0)
		c->progress_t0 = xorb_now();
	xorb_cli_progress(c, stream ? stream : c->prog, done, total, c->progress_t0);
}

void xorb_cli_progress_end(struct xorb_cli *c)
{
	if (c && c->progress_drawn) {
		fputs("\r\033[K", stderr);
		c->progress_drawn = 0;
	}
}

extern char **environ;

/* The variables of ours a hook gets with the values of this run. */
static const char *const hook_set[] = { "XORB_OPERATION", "XORB_TENANT", "XORB_BACKUP_ID", "XORB_RESULT" };
/* The only others it inherits (with every other XORB_* variable). */
static const char *const hook_kept[] = { "PATH", "HOME", "LANG", "LC_ALL", "TZ" };

static bool named(const char *kv, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(kv, name, n) && kv[n] == '=';
}

static bool hook_inherits(const char *kv)
{
	size_t i;

	for (i = 0; i < sizeof(hook_set) / sizeof(hook_set[0]); i++)
		if (named(kv, hook_set[i]))
			return false;
	if (!strncmp(kv, "XORB_", 5) && strchr(kv, '='))
		return true;
	for (i = 0; i < sizeof(hook_kept) / sizeof(hook_kept[0]); i++)
		if (named(kv, hook_kept[i]))
			return true;
	return false;
}

int xorb_cli_run_hook(const struct xorb_cli *c, const char *cmd, const char *op,
		      const char *tenant, const char *backup_id, const char *result)
{
	const char *val[] = { op, tenant ? tenant : "", backup_id ? backup_id : "", result ? result : "" };
	size_t n = 0, k = 0, i;
	char **env, *own[4] = { NULL, NULL, NULL, NULL };
	int status = 0;
	pid_t pid;

	/* built before the fork: a child of a threaded process may not malloc */
	while (environ && environ[n])
		n++;
	env = calloc(n + 5, sizeof(*env));
	if (!env)
		return -1;
	for (i = 0; i < 4; i++) {
		size_t len = strlen(hook_set[i]) + strlen(val[i]) + 2;

		if (!(own[i] = malloc(len)))
			goto fail;
		snprintf(own[i], len, "%s=%s", hook_set[i], val[i]);
		env[k++] = own[i];
	}
	for (i = 0; i < n; i++)
		if (hook_inherits(environ[i]))
			env[k++] = environ[i];
	env[k] = NULL;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0) {
		char *const argv[] = { "sh", "-c", (char *)cmd, NULL };

		dup2(STDERR_FILENO, STDOUT_FILENO);
		execve("/bin/sh", argv, env);
		_exit(127);
	}
	for (i = 0; i < 4; i++)
		free(own[i]);
	free(env);
	while (waitpid(pid, &status, 0) < 0)
		;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
fail:
	for (i = 0; i < 4; i++)
		free(own[i]);
	free(env);
	return -1;
}

/* The tables xorb_cli_options_with_plugins made: freed at exit. */
static struct option *merged[8];
static size_t n_merged;

static void free_merged(void)
{
	while (n_merged)
		free(merged[--n_merged]);
}

const struct xorb_storage_option *xorb_cli_plugin_option(const struct xorb_cli *c, const char *name, int *id)
{
	size_t i;

	for (i = 0; i < c->n_plugin_opts; i++)
		if (!strcmp(c->plugin_opts[i]->name, name)) {
			if (id)
				*id = XORB_OPT_PLUGIN + (int)i;
			return c->plugin_opts[i];
		}
	return NULL;
}

const struct option *xorb_cli_options_with_plugins(struct xorb_cli *c, const struct option *longopts)
{
	struct option *m;
	size_t n = 0, i, k;
	int store = 0;

	for (; longopts[n].name; n++)
		if (!strcmp(longopts[n].name, "store"))
			store = 1;
	if (!store)
		return longopts;
	/* the same list every time: the plugins' options are loaded once */
	c->n_plugin_opts = xorb_store_plugin_options(c->plugin_opts, NULL, sizeof(c->plugin_opts) / sizeof(c->plugin_opts[0]));
	if (c->n_plugin_opts > sizeof(c->plugin_opts) / sizeof(c->plugin_opts[0]))
		c->n_plugin_opts = sizeof(c->plugin_opts) / sizeof(c->plugin_opts[0]);
	if (!c->n_plugin_opts || n_merged == sizeof(merged) / sizeof(merged[0]))
		return longopts;
	m = calloc(n + c->n_plugin_opts + 1, sizeof(*m));
	if (!m)
		return longopts; /* the plugins' options are then unknown options */
	if (!n_merged)
		atexit(free_merged);
	merged[n_merged++] = m;
	memcpy(m, longopts, n * sizeof(*m));
	for (i = 0, k = n; i < c->n_plugin_opts; i++) {
		const struct xorb_storage_option *o = c->plugin_opts[i];
		size_t j;

		for (j = 0; j < n && strcmp(longopts[j].name, o->name); j++)
			;
		if (j < n)
			continue; /* the command's own option of that name wins */
		m[k].name = o->name;
		m[k].has_arg = o->type == XORB_SOPT_FLAG ? no_argument : required_argument;
		m[k].flag = NULL;
		m[k].val = XORB_OPT_PLUGIN + (int)i;
		k++;
	}
	return m;
}

int xorb_cli_begin(struct xorb_cli *c, int argc, char **argv, const char *shortopts,
		   const struct option *longopts)
{
	const struct option *all = xorb_cli_options_with_plugins(c, longopts);

	c->shortopts = shortopts;
	c->longopts = all;
	if (xorb_cli_exact_options(c, argc, argv, shortopts, all) ||
	    xorb_cli_load_config(c, argc, argv, c->config_longopts ? c->config_longopts : all))
		return XORB_EXIT_USAGE;
	return 0;
}

int xorb_cli_getopt(struct xorb_cli *c, int argc, char **argv, int *longindex)
{
	int opt;

	/* getopt's own messages differ from ours: it is silenced (the leading
	 * ':' also tells a missing value from an unknown option) */
	snprintf(c->getopt_short, sizeof(c->getopt_short), ":%s", c->shortopts);
	opterr = 0;
	opt = getopt_long(argc, argv, c->getopt_short, c->longopts, longindex);
	if (opt == 'V')
		return XORB_OPT_VERSION;
	if (opt == ':' || opt == '?') {
		const char *a = optind > 0 && optind <= argc ? argv[optind - 1] : "";
		char name[96];

		if (opt == '?' && optopt > 0 && optopt < 128)
			snprintf(name, sizeof(name), "-%c", optopt); /* maybe within "-qx" */
		else if (!strncmp(a, "--", 2))
			snprintf(name, sizeof(name), "%.*s", (int)(strcspn(a, "=") > 80 ? 80 : strcspn(a, "=")), a);
		else
			snprintf(name, sizeof(name), "%.80s", a);
		if (opt == ':')
			xorb_cli_usage_error(c, "%s%smissing value for option \"%s\"", c->sub ? c->sub : "",
					     c->sub ? ": " : "", name);
		else
			xorb_cli_usage_error(c, "%s%sunknown option \"%s\"", c->sub ? c->sub : "", c->sub ? ": " : "",
					     name);
		return XORB_CLI_OPT_ERROR;
	}
	return opt;
}

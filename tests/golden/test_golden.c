/*
 * Golden CLI tests (issue 14, point 7): every case of tests/golden/cases.txt
 * is run against real servers and files, its command line, exit code,
 * stdout and stderr are normalized (temp paths, ports, backup ids, times,
 * durations, sizes that depend on compression, versions, hashes, keys: see
 * normalize() and json_volatile[]) and compared with
 * tests/golden/expected/<case>.out. A mismatch prints a unified diff.
 *
 * XORB_GOLDEN_UPDATE=1 rewrites the expected files instead (and removes
 * those of cases no longer listed); review the diff before committing.
 * XORB_GOLDEN_CASES=REGEX (POSIX extended) runs only the matching cases
 * (never with UPDATE: stale files could not be told apart).
 *
 * Setup (before the first case), in one temp dir <TMP>:
 *   - nats-server A (JetStream) with the fixture tenants t-gold and t-fresh
 *     (xt_fixture.h, 20 messages per stream);
 *   - store <TMP>/store with two backups of t-gold: ID_A, then, a second
 *     later (ids sort by their start second), 5 more messages in its scan
 *     stream and a purge of its evidence stream to 2 messages, ID_B;
 *   - nats-server B (JetStream, empty): the target of restores;
 *   - an operator-mode nats-server C and its keys (xorb-state init) with
 *     the environment file <TMP>/golden.tfvars.json (tenant t-plan);
 *   - <TMP>/lint: files with schema v1 subjects, good and bad.
 * Every case runs with a fixed environment: LC_ALL=C TZ=UTC TERM=dumb
 * NO_COLOR=1 COLUMNS=80 HOME=<TMP>/home XORB_CONFIG=/dev/null, and no
 * NATS_*, XORB_*, AWS_*, XDG_* or LANG/LC_* of the caller.
 */
#include "xt_fixture.h"
#include "xt_harness.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

extern char **environ;

#define MAX_ARGS 64
#define MAX_VARS 32
#define MAX_IDS 64
#define CASE_TIMEOUT 60

/* ---------------------------------------------------------------- buffers */

struct buf {
	char *s;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2 + 64;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			abort();
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_fmt(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_fmt(struct buf *b, const char *fmt, ...)
{
	char tmp[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		abort();
	return d;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf b = { 0 };
	char tmp[65536];
	size_t n;

	if (!f)
		return NULL;
	buf_add(&b, "", 0);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_add(&b, tmp, n);
	fclose(f);
	return b.s;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	if (!f || fputs(text, f) < 0 || fclose(f)) {
		fprintf(stderr, "golden: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- state */

static struct xt_server srv, srv_empty, srv_op;
static char *work;
static const char *src_dir, *actual_dir;
static char tool_version[64], server_version[64];

static struct {
	char name[32];
	char value[4400];
} vars[MAX_VARS];
static int nvars;

static void set_var(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_var(const char *name, const char *fmt, ...)
{
	va_list ap;

	if (nvars == MAX_VARS)
		abort();
	snprintf(vars[nvars].name, sizeof(vars[nvars].name), "%s", name);
	va_start(ap, fmt);
	vsnprintf(vars[nvars].value, sizeof(vars[nvars].value), fmt, ap);
	va_end(ap);
	nvars++;
}

static const char *get_var(const char *name, size_t len)
{
	for (int i = 0; i < nvars; i++)
		if (strlen(vars[i].name) == len && !strncmp(vars[i].name, name, len))
			return vars[i].value;
	return NULL;
}

/* ------------------------------------------------------------ normalizing */

/* Backup ids seen in one case, numbered in order of appearance (the
 * command line first): <ID1>, <ID2>... */
static char ids[MAX_IDS][32];
static int nids;

static bool word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

typedef void (*repl_fn)(struct buf *out, const char *match, size_t len, const regmatch_t *m, const char *arg);

/* Replaces every match of re in *s (for which a non-word character or the
 * end lies on both sides when bounded) by what fn writes. */
static void re_replace(char **s, const char *re, bool bounded, repl_fn fn, const char *arg)
{
	regex_t rx;
	regmatch_t m[4];
	struct buf out = { 0 };
	const char *p = *s;
	int flags = 0;

	if (regcomp(&rx, re, REG_EXTENDED)) {
		fprintf(stderr, "golden: bad regex %s\n", re);
		abort();
	}
	buf_add(&out, "", 0);
	while (*p && !regexec(&rx, p, 4, m, flags)) {
		const char *a = p + m[0].rm_so, *z = p + m[0].rm_eo;

		if (z == a || (bounded && ((a > *s && word_char(a[-1])) || word_char(*z)))) {
			buf_add(&out, p, (size_t)(a - p) + 1);
			p = a + 1;
		} else {
			buf_add(&out, p, (size_t)(a - p));
			for (int i = 1; i < 4; i++)
				if (m[i].rm_so >= 0) {
					m[i].rm_so -= m[0].rm_so;
					m[i].rm_eo -= m[0].rm_so;
				}
			fn(&out, a, (size_t)(z - a), m, arg);
			p = z;
		}
		flags = REG_NOTBOL;
	}
	buf_str(&out, p);
	regfree(&rx);
	free(*s);
	*s = out.s;
}

static void put_const(struct buf *out, const char *match, size_t len, const regmatch_t *m, const char *arg)
{
	(void)match, (void)len, (void)m;
	buf_str(out, arg);
}

/* arg with "\\N" (N 1..3) replaced by group N */
static void put_groups(struct buf *out, const char *match, size_t len, const regmatch_t *m, const char *arg)
{
	(void)len;
	for (const char *a = arg; *a; a++) {
		if (a[0] == '\\' && a[1] >= '1' && a[1] <= '3') {
			const regmatch_t *g = &m[a[1] - '0'];

			if (g->rm_so >= 0)
				buf_add(out, match + g->rm_so, (size_t)(g->rm_eo - g->rm_so));
			a++;
		} else {
			buf_add(out, a, 1);
		}
	}
}

static void put_id(struct buf *out, const char *match, size_t len, const regmatch_t *m, const char *arg)
{
	int i;

	(void)m, (void)arg;
	for (i = 0; i < nids; i++)
		if (strlen(ids[i]) == len && !strncmp(ids[i], match, len))
			break;
	if (i == nids && nids < MAX_IDS)
		snprintf(ids[nids++], sizeof(ids[0]), "%.*s", (int)len, match);
	buf_fmt(out, "<ID%d>", i + 1);
}

/* arg, when the match holds a letter (a hex string, not a number) */
static void put_hex(struct buf *out, const char *match, size_t len, const regmatch_t *m, const char *arg)
{
	(void)m;
	if (strcspn(match, "abcdef") < len)
		buf_str(out, arg);
	else
		buf_add(out, match, len);
}

/* Replaces every occurrence of the literal lit (non-empty). */
static void lit_replace(char **s, const char *lit, const char *with, bool bounded)
{
	struct buf out = { 0 };
	const char *p = *s, *q;
	size_t n = strlen(lit);

	if (!n)
		return;
	buf_add(&out, "", 0);
	while ((q = strstr(p, lit))) {
		if (bounded && ((q > *s && (word_char(q[-1]) || q[-1] == '.' || q[-1] == '-')) ||
				word_char(q[n]) || (q[n] == '.' && isdigit((unsigned char)q[n + 1])))) {
			buf_add(&out, p, (size_t)(q - p) + 1);
			p = q + 1;
			continue;
		}
		buf_add(&out, p, (size_t)(q - p));
		buf_str(&out, with);
		p = q + n;
	}
	buf_str(&out, p);
	free(*s);
	*s = out.s;
}

/* The normalizers of text (and of JSON once printed), in this order. */
static void normalize(char **s)
{
	char tmp_prefix[4200];
	const char *tmpdir = getenv("TMPDIR");

	/* paths: the test's temp dir, then any other temp dir the harness made */
	lit_replace(s, work, "<TMP>", false);
	snprintf(tmp_prefix, sizeof(tmp_prefix), "%s/xt-", tmpdir && *tmpdir ? tmpdir : "/tmp");
	{
		char re[4400];
		struct buf esc = { 0 };

		buf_add(&esc, "", 0);
		for (const char *c = tmp_prefix; *c; c++) {
			if (strchr(".[]()*+?{}|^$\\", *c))
				buf_add(&esc, "\\", 1);
			buf_add(&esc, c, 1);
		}
		snprintf(re, sizeof(re), "%s[A-Za-z0-9_-]+-[A-Za-z0-9]{6}", esc.s);
		free(esc.s);
		re_replace(s, re, false, put_const, "<TMP>");
	}
	/* backup ids, 20261127T170508Z-3fa9c1 */
	re_replace(s, "[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}", true, put_id, NULL);
	/* where the commands name this machine (never the host name as a
	 * word anywhere: a machine called "build" would change help texts):
	 * a restore's run mark, the store probe of check */
	re_replace(s, "run [0-9a-f]{16} of backup", true, put_const, "run <RUN-ID> of backup");
	re_replace(s, " on [^ ]+ pid [0-9]+", false, put_const, " on <HOST> pid <PID>");
	re_replace(s, "xorb-check/probe-[^ \"/]+-[0-9]+", false, put_const, "xorb-check/probe-<HOST>-<PID>");
	/* RFC 3339 times */
	re_replace(s, "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})?",
		   true, put_const, "<TIME>");
	/* hashes, JWTs, nkeys (accounts, users, servers, operators) and seeds */
	re_replace(s, "[0-9a-f]{64}", true, put_const, "<SHA256>");
	re_replace(s, "[0-9a-f]{12,63}", true, put_hex, "<SHA256-PREFIX>"); /* "sha256 4853f1b3ed95d2de..." */
	re_replace(s, "eyJ[A-Za-z0-9_-]+[.][A-Za-z0-9_-]+[.][A-Za-z0-9_-]+", true, put_const, "<JWT>");
	re_replace(s, "S[ACNOPU][A-Z2-7]{56}", true, put_const, "<SEED>");
	re_replace(s, "[ACNOPU][A-Z2-7]{55}", true, put_const, "<NKEY>");
	/* ports of local servers */
	re_replace(s, "(127[.]0[.]0[.]1|localhost|\\[::1\\]):[0-9]+", false, put_groups, "\\1:<PORT>");
	/* versions */
	re_replace(s, "(xorb-dr[)]?) [0-9]+[.][0-9]+[.][0-9]+[0-9A-Za-z.+~-]*", false, put_groups, "\\1 <VERSION>");
	if (*server_version)
		lit_replace(s, server_version, "<SERVER-VERSION>", true);
	/* speeds, durations and ages as the commands print them in text */
	re_replace(s, "[0-9]+[.][0-9]+ ?(B|KiB|MiB|GiB|KB|MB|GB)/s", true, put_const, "<SPEED>");
	re_replace(s, "(in|took|after|elapsed) [0-9]+([.][0-9]+)? ?(ns|us|ms|s|min|h)", true, put_groups,
		   "\\1 <DURATION>");
	re_replace(s, "[0-9]+[dhm]([0-9]+[hm])? old", true, put_const, "<AGE> old");
	re_replace(s, "'age_([^' ]*)'=[0-9]+s;", false, put_groups, "'age_\\1'=<AGE>s;");
	/* sizes that depend on compression (archives: the zstd library;
	 * snapshots: the server's S2) are in KiB and up in text, next to
	 * exact byte counts; stream sizes below 1 KiB stay */
	re_replace(s, "[0-9]+([.][0-9]+)? (KiB|MiB|GiB|TiB)", true, put_const, "<SIZE>");
	re_replace(s, "<SIZE> [(][0-9]+ bytes[)]", false, put_const, "<SIZE> (<N> bytes)");
	re_replace(s, "snapshot [0-9]+ bytes", true, put_const, "snapshot <SIZE> bytes");
}

/*
 * JSON members whose values vary from run to run, or with the zstd
 * library (archive sizes): their values become "<KEY>" placeholders, with
 * the key's name. Matched on the key alone, at any depth.
 */
static const char *const json_volatile[][2] = {
	{ "age_seconds", "<AGE>" },
	{ "newest_age_seconds", "<AGE>" },
	{ "oldest_age_seconds", "<AGE>" },
	{ "duration_ms", "<DURATION>" },
	{ "duration_seconds", "<DURATION>" },
	{ "duration_s", "<DURATION>" },
	{ "duration", "<DURATION>" },
	{ "elapsed_seconds", "<DURATION>" },
	{ "seconds", "<DURATION>" },
	{ "bytes_per_second", "<SPEED>" },
	{ "speed", "<SPEED>" },
	{ "archive_size", "<SIZE>" },
	{ "archive_bytes", "<SIZE>" },
	{ "size", "<SIZE>" },
	{ "total_size", "<SIZE>" },
	{ "total_bytes", "<SIZE>" },
	{ "compressed_bytes", "<SIZE>" },
	{ "stored_bytes", "<SIZE>" },
	{ "bytes_removed", "<SIZE>" },
	{ "bytes_freed", "<SIZE>" },
	{ "host", "<HOST>" },
	{ "hostname", "<HOST>" },
	{ "server_version", "<SERVER-VERSION>" },
	{ "tool_version", "<VERSION>" },
	{ "xorb_version", "<VERSION>" },
	{ "pid", "<PID>" },
};

/* Keys ending in these hold sizes that depend on compression. */
static const char *const json_size_suffixes[] = { "archive_bytes", "archive_size", "snapshot_bytes" };

static const char *json_placeholder(const char *key)
{
	size_t n = strlen(key);

	for (size_t i = 0; i < sizeof(json_volatile) / sizeof(json_volatile[0]); i++)
		if (!strcmp(key, json_volatile[i][0]))
			return json_volatile[i][1];
	for (size_t i = 0; i < sizeof(json_size_suffixes) / sizeof(json_size_suffixes[0]); i++) {
		size_t k = strlen(json_size_suffixes[i]);

		if (n >= k && !strcmp(key + n - k, json_size_suffixes[i]))
			return "<SIZE>";
	}
	return NULL;
}

static void json_walk(cJSON *j)
{
	cJSON *c;
	const char *ph;

	cJSON_ArrayForEach(c, j) {
		if (c->string && (cJSON_IsNumber(c) || cJSON_IsString(c)) && (ph = json_placeholder(c->string))) {
			/* in place: the member keeps its key and position */
			if (cJSON_IsString(c))
				free(c->valuestring);
			c->type = cJSON_String;
			c->valuestring = xstrdup(ph);
		}
		if (cJSON_IsObject(c) || cJSON_IsArray(c))
			json_walk(c);
	}
}

/*
 * When s is one or more JSON values (a document, or one per line), each is
 * parsed, its volatile members replaced and printed again (formatted,
 * tab-indented, one per line group). Otherwise s stays as it is.
 */
static void json_normalize(char **s)
{
	struct buf out = { 0 };
	const char *p = *s, *end;
	int docs = 0;

	buf_add(&out, "", 0);
	while (*p) {
		cJSON *j;
		char *txt;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (*p != '{' && *p != '[')
			goto not_json;
		j = cJSON_ParseWithOpts(p, &end, 0);
		if (!j)
			goto not_json;
		json_walk(j);
		txt = cJSON_Print(j);
		buf_str(&out, txt);
		buf_str(&out, "\n");
		free(txt);
		cJSON_Delete(j);
		p = end;
		docs++;
	}
	if (!docs)
		goto not_json;
	free(*s);
	*s = out.s;
	return;
not_json:
	free(out.s);
}

/* ------------------------------------------------------------ cases */

struct gcase {
	char name[128];
	char *env[MAX_ARGS];
	char *argv[MAX_ARGS];
	int nenv, nargs;
	int line;
};

/* ${VAR} expanded in token t. */
static char *expand(const char *t, int line)
{
	struct buf b = { 0 };

	buf_add(&b, "", 0);
	while (*t) {
		const char *e;

		if (t[0] == '$' && t[1] == '{' && (e = strchr(t, '}'))) {
			const char *v = get_var(t + 2, (size_t)(e - t - 2));

			if (!v) {
				fprintf(stderr, "golden: cases.txt:%d: unknown variable %.*s\n", line, (int)(e - t + 1), t);
				exit(2);
			}
			buf_str(&b, v);
			t = e + 1;
		} else {
			buf_add(&b, t, 1);
			t++;
		}
	}
	return b.s;
}

/* One line: NAME [VAR=VALUE]... PROGRAM [ARG]...; tokens split at blanks,
 * '...' and "..." quote (no escapes). Returns 1 with a case, 0 for a blank
 * or comment line. */
static int parse_line(char *l, int line, struct gcase *c)
{
	char *tok[MAX_ARGS + 2];
	int n = 0;

	memset(c, 0, sizeof(*c));
	c->line = line;
	while (*l) {
		struct buf b = { 0 };

		while (*l == ' ' || *l == '\t' || *l == '\n' || *l == '\r')
			l++;
		if (!*l || (*l == '#' && n == 0))
			break;
		buf_add(&b, "", 0);
		while (*l && *l != ' ' && *l != '\t' && *l != '\n' && *l != '\r') {
			if (*l == '\'' || *l == '"') {
				char q = *l++, *e = strchr(l, q);

				if (!e) {
					fprintf(stderr, "golden: cases.txt:%d: unterminated quote\n", line);
					exit(2);
				}
				buf_add(&b, l, (size_t)(e - l));
				l = e + 1;
			} else {
				buf_add(&b, l++, 1);
			}
		}
		if (n == MAX_ARGS + 1) {
			fprintf(stderr, "golden: cases.txt:%d: too many words\n", line);
			exit(2);
		}
		tok[n++] = b.s;
	}
	if (n == 0)
		return 0;
	if (n < 2) {
		fprintf(stderr, "golden: cases.txt:%d: a case is NAME [VAR=VALUE]... PROGRAM [ARG]...\n", line);
		exit(2);
	}
	for (const char *p = tok[0]; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p)) {
			fprintf(stderr, "golden: cases.txt:%d: case name \"%s\": letters, digits, '.', '_', '-'\n", line,
				tok[0]);
			exit(2);
		}
	snprintf(c->name, sizeof(c->name), "%s", tok[0]);
	free(tok[0]);
	for (int i = 1; i < n; i++) {
		const char *eq = strchr(tok[i], '=');
		bool is_env = c->nargs == 0 && eq && eq > tok[i];

		for (const char *p = tok[i]; is_env && p < eq; p++)
			if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
				is_env = false;
		if (is_env)
			c->env[c->nenv++] = expand(tok[i], line);
		else
			c->argv[c->nargs++] = expand(tok[i], line);
		free(tok[i]);
	}
	if (!c->nargs) {
		fprintf(stderr, "golden: cases.txt:%d: no program\n", line);
		exit(2);
	}
	return 1;
}

static void free_case(struct gcase *c)
{
	for (int i = 0; i < c->nenv; i++)
		free(c->env[i]);
	for (int i = 0; i < c->nargs; i++)
		free(c->argv[i]);
}

static void quote_arg(struct buf *b, const char *a)
{
	bool plain = *a != '\0';

	for (const char *p = a; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_./:=@,+%", *p))
			plain = false;
	if (plain) {
		buf_str(b, a);
		return;
	}
	buf_str(b, "'");
	for (const char *p = a; *p; p++)
		if (*p == '\'')
			buf_str(b, "'\\''");
		else
			buf_add(b, p, 1);
	buf_str(b, "'");
}

static void section(struct buf *b, const char *title, char *text)
{
	buf_fmt(b, "--- %s\n", title);
	buf_str(b, text);
	if (*text && text[strlen(text) - 1] != '\n')
		buf_str(b, "\n[no newline at end]\n");
}

/* Runs c and returns its normalized record (malloc'd). */
static char *run_case(const struct gcase *c)
{
	const char *argv[MAX_ARGS + 1], *env[MAX_ARGS + 1];
	struct xt_result r;
	struct buf cmd = { 0 }, rec = { 0 };
	char *out, *err, *cmdline;
	const char *prog = c->argv[0];

	nids = 0;
	argv[0] = prog; /* a bare name: found in PATH, where the build dir comes first */
	for (int i = 1; i < c->nargs; i++)
		argv[i] = c->argv[i];
	argv[c->nargs] = NULL;
	for (int i = 0; i < c->nenv; i++)
		env[i] = c->env[i];
	env[c->nenv] = NULL;

	buf_add(&cmd, "", 0);
	for (int i = 0; i < c->nenv; i++) {
		quote_arg(&cmd, c->env[i]);
		buf_str(&cmd, " ");
	}
	for (int i = 0; i < c->nargs; i++) {
		if (i)
			buf_str(&cmd, " ");
		quote_arg(&cmd, i ? c->argv[i] : (strrchr(prog, '/') ? strrchr(prog, '/') + 1 : prog));
	}
	cmdline = cmd.s;
	normalize(&cmdline);

	memset(&r, 0, sizeof(r));
	if (xt_run(argv, env, CASE_TIMEOUT, &r) && !r.timed_out && r.status == 127)
		fprintf(stderr, "golden: %s: cannot run %s: %s\n", c->name, argv[0], r.err);
	out = xstrdup(r.out);
	err = xstrdup(r.err);
	json_normalize(&out);
	json_normalize(&err);
	normalize(&out);
	normalize(&err);

	buf_add(&rec, "", 0);
	buf_fmt(&rec, "$ %s\n", cmdline);
	if (r.timed_out)
		buf_fmt(&rec, "timed out after %d s\n", CASE_TIMEOUT);
	else
		buf_fmt(&rec, "exit %d\n", r.status);
	section(&rec, "stdout", out);
	section(&rec, "stderr", err);
	free(out);
	free(err);
	free(cmdline);
	xt_result_release(&r);
	return rec.s;
}

/* ------------------------------------------------------------ setup */

static int run_setup(const char *what, const char *const *argv, char **out)
{
	struct xt_result r;

	memset(&r, 0, sizeof(r));
	if (xt_run(argv, NULL, 120, &r) || (r.status != 0 && r.status != 1)) {
		fprintf(stderr, "golden: setup: %s: exit %d\n--- stdout:\n%s--- stderr:\n%s", what, r.status, r.out,
			r.err);
		xt_result_release(&r);
		return -1;
	}
	if (out)
		*out = xstrdup(r.out);
	xt_result_release(&r);
	return 0;
}

static int backup(const char *store, const char *tenant, char *id, size_t len)
{
	char *out = NULL;
	cJSON *j;
	const char *argv[] = { xt_bin("xorb-backup"), "-s", srv.url, "--store", store, "--json", "tenant", tenant, NULL };

	if (run_setup("backup", argv, &out))
		return -1;
	j = cJSON_Parse(out);
	free(out);
	if (!j || !cJSON_GetStringValue(cJSON_GetObjectItem(j, "backup_id"))) {
		fprintf(stderr, "golden: setup: backup of %s: no backup_id\n", tenant);
		cJSON_Delete(j);
		return -1;
	}
	snprintf(id, len, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "backup_id")));
	cJSON_Delete(j);
	return 0;
}

static int js_do(natsConnection *nc, const char *subj, const char *body)
{
	natsMsg *m = NULL;
	int rc = natsConnection_RequestString(&m, nc, subj, body ? body : "", 10000) == NATS_OK &&
			 !strstr(natsMsg_GetData(m), "\"error\"")
		 ? 0
		 : -1;

	if (rc)
		fprintf(stderr, "golden: setup: %s: %s\n", subj, m ? natsMsg_GetData(m) : nats_GetLastError(NULL));
	natsMsg_Destroy(m);
	return rc;
}

static void next_second(void)
{
	time_t t0 = time(NULL);

	while (time(NULL) == t0)
		usleep(20 * 1000);
}

static int setup(void)
{
	char path[4400], why[512], id_a[64], id_b[64], *conf, *out = NULL;
	natsConnection *nc = NULL;
	struct xt_server_opts op = { 1, NULL, NULL, 0 };

	set_var("TMP", "%s", work);
	set_var("STORE", "%s/store", work);
	set_var("MISSING", "%s/no-such-store", work);
	set_var("KEYS", "%s/keys", work);
	set_var("ENVFILE", "%s/golden.tfvars.json", work);
	set_var("LINT", "%s/lint", work);
	set_var("HOME", "%s/home", work);

	if (xt_server_start(&srv, NULL) || xt_server_connect(&srv, &nc))
		return -1;
	if (xt_fixture_tenant(nc, "t-gold", 20, why, sizeof(why)) ||
	    xt_fixture_tenant(nc, "t-fresh", 20, why, sizeof(why))) {
		fprintf(stderr, "golden: setup: fixture: %s\n", why);
		return -1;
	}
	{
		const char *info = NULL;
		struct xt_result r;
		const char *argv[] = { getenv("XT_NATS_SERVER") ? getenv("XT_NATS_SERVER") : "nats-server", "--version",
				       NULL };

		(void)info;
		memset(&r, 0, sizeof(r));
		if (!xt_run(argv, NULL, 30, &r)) {
			/* "nats-server: v2.15.1" */
			const char *v = strstr(r.out, " v");

			if (v)
				snprintf(server_version, sizeof(server_version), "%.*s", (int)strcspn(v + 2, " \n"),
					 v + 2);
		}
		xt_result_release(&r);
	}
	set_var("URL", "%s", srv.url);
	if (backup(get_var("STORE", 5), "t-gold", id_a, sizeof(id_a)))
		return -1;
	next_second(); /* ids sort by their start second */
	for (int i = 0; i < 5; i++)
		if (js_do(nc, "xorb.t-gold.scan.nmap.created", "five more"))
			return -1;
	if (js_do(nc, "$JS.API.STREAM.PURGE.xorb-t-gold-evidence-live", "{\"keep\":2}"))
		return -1;
	if (backup(get_var("STORE", 5), "t-gold", id_b, sizeof(id_b)))
		return -1;
	next_second();
	natsConnection_Destroy(nc);
	set_var("ID_A", "%s", id_a);
	set_var("ID_B", "%s", id_b);

	if (xt_server_start(&srv_empty, NULL))
		return -1;
	set_var("EMPTY_URL", "%s", srv_empty.url);

	/* operator mode, for xorb-state */
	{
		const char *init[] = { xt_bin("xorb-state"), "init", "--keys", get_var("KEYS", 4), NULL };

		if (run_setup("xorb-state init", init, NULL))
			return -1;
	}
	snprintf(path, sizeof(path), "%s/resolver.conf", get_var("KEYS", 4));
	conf = slurp(path);
	if (!conf)
		return -1;
	op.extra_conf = conf;
	if (xt_server_start(&srv_op, &op))
		return -1;
	free(conf);
	set_var("OP_URL", "%s", srv_op.url);
	{
		char text[2048];

		snprintf(text, sizeof(text),
			 "{\"environment\":\"golden\",\"nats_url\":\"%s\",\"num_replicas\":1,\"tenants\":{"
			 "\"t-plan\":{\"name\":\"t-plan\",\"max_streams\":10,\"max_consumers\":20,"
			 "\"max_bytes\":268435456,\"max_messages\":250000,\"retention_days\":3}}}\n",
			 srv_op.url);
		if (write_file(get_var("ENVFILE", 7), text))
			return -1;
	}

	/* subjects for xorb-subject-lint */
	if (mkdir(get_var("LINT", 4), 0755) || mkdir(get_var("HOME", 4), 0755))
		return -1;
	snprintf(path, sizeof(path), "%s/publish.sh", get_var("LINT", 4));
	if (write_file(path, "nats pub xorb.t-gold.scan.nmap.created '{}'\n"
			     "nats pub xorb.t-gold.scan.nmap.started '{}'\n"
			     "nats sub 'xorb.T_Gold.evidence.*.updated'\n"))
		return -1;
	snprintf(path, sizeof(path), "%s/app.c", get_var("LINT", 4));
	if (write_file(path, "const char *s = \"xorb.t-gold.compliance.%s.replay\";\n"
			     "const char *bad = \"xorb.t-gold.billing.svc.created\";\n"))
		return -1;

	/* the tool's version, for <VERSION> */
	{
		const char *argv[] = { xt_bin("xorb-backup"), "--version", NULL };

		if (run_setup("xorb-backup --version", argv, &out))
			return -1;
		snprintf(tool_version, sizeof(tool_version), "%.*s", (int)strcspn(out, "\n"), out);
		free(out);
	}
	return 0;
}

/* The fixed environment of every case (and of the setup's commands). */
static void clean_environment(void)
{
	static const char *const drop[] = { "NATS_", "XORB_", "AWS_", "XDG_", "LC_", "LANG", "LANGUAGE", NULL };
	char **names = NULL;
	size_t n = 0;

	for (char **e = environ; *e; e++)
		for (int i = 0; drop[i]; i++)
			if (!strncmp(*e, drop[i], strlen(drop[i]))) {
				names = realloc(names, (n + 1) * sizeof(*names));
				names[n++] = strndup(*e, strcspn(*e, "="));
				break;
			}
	for (size_t i = 0; i < n; i++) {
		unsetenv(names[i]);
		free(names[i]);
	}
	free(names);
	setenv("LC_ALL", "C", 1);
	setenv("TZ", "UTC", 1);
	setenv("TERM", "dumb", 1);
	setenv("NO_COLOR", "1", 1);
	setenv("COLUMNS", "80", 1);
	setenv("XORB_CONFIG", "/dev/null", 1);
	tzset();
}

/* ------------------------------------------------------------ main */

static void cleanup(void)
{
	xt_server_stop(&srv);
	xt_server_stop(&srv_empty);
	xt_server_stop(&srv_op);
	if (work && !getenv("XT_KEEP"))
		xt_rmtree(work);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	char cases_path[4200], exp_dir[4200], bin_dir[4200], *text, *line, *save = NULL;
	const char *only = getenv("XORB_GOLDEN_CASES");
	bool update = getenv("XORB_GOLDEN_UPDATE") && strcmp(getenv("XORB_GOLDEN_UPDATE"), "0");
	/* the run that writes NAME.out on update: the newest server of the
	 * matrix (CMake sets it); the others write NAME@SERIES.out where they
	 * differ */
	bool is_default = getenv("XORB_GOLDEN_DEFAULT") && !strcmp(getenv("XORB_GOLDEN_DEFAULT"), "1");
	char series[16] = "";
	struct gcase *cases = NULL;
	int ncases = 0, nrun = 0, nfail = 0, nstale = 0, lineno = 0;
	char **seen = NULL;
	regex_t only_rx;
	struct timeval t0, t1, c0, c1;

	gettimeofday(&t0, NULL);
	src_dir = getenv("XORB_SOURCE_DIR") ? xstrdup(getenv("XORB_SOURCE_DIR")) : NULL;
	actual_dir = getenv("XORB_GOLDEN_ACTUAL");
	if (!src_dir || !getenv("XORB_BIN_DIR") || !actual_dir) {
		fprintf(stderr, "golden: XORB_SOURCE_DIR, XORB_BIN_DIR and XORB_GOLDEN_ACTUAL must be set (run it "
				"through ctest)\n");
		return 2;
	}
	if (only && update) {
		fprintf(stderr, "golden: XORB_GOLDEN_UPDATE rewrites every case: unset XORB_GOLDEN_CASES\n");
		return 2;
	}
	if (only && regcomp(&only_rx, only, REG_EXTENDED | REG_NOSUB)) {
		fprintf(stderr, "golden: XORB_GOLDEN_CASES: bad regex\n");
		return 2;
	}
	snprintf(cases_path, sizeof(cases_path), "%s/tests/golden/cases.txt", src_dir);
	snprintf(exp_dir, sizeof(exp_dir), "%s/tests/golden/expected", src_dir);
	/* xt_bin reads XORB_BIN_DIR, which the clean environment drops */
	snprintf(bin_dir, sizeof(bin_dir), "%s", getenv("XORB_BIN_DIR"));
	{
		char actual[4200];

		snprintf(actual, sizeof(actual), "%s", actual_dir);
		actual_dir = xstrdup(actual);
	}
	clean_environment();
	setenv("XORB_BIN_DIR", bin_dir, 1); /* for xt_bin() in the setup (xt_run passes it on: unused by the commands) */
	{
		/* the cases run the commands by bare name, as a user would: their
		 * messages name argv[0], which then holds no build path */
		struct buf path = { 0 };

		buf_fmt(&path, "%s:%s", bin_dir, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
		setenv("PATH", path.s, 1);
		free(path.s);
	}

	text = slurp(cases_path);
	if (!text) {
		fprintf(stderr, "golden: cannot read %s\n", cases_path);
		return 2;
	}
	work = xt_tempdir("golden");
	if (!work)
		return 2;
	atexit(cleanup);
	{
		char home[4400];

		snprintf(home, sizeof(home), "%s/home", work);
		setenv("HOME", home, 1);
	}
	if (setup()) {
		fprintf(stderr, "golden: setup failed\n");
		return 2;
	}
	{
		/* "2.10.27" -> "2.10": the series whose NAME@SERIES.out files apply */
		const char *dot = strchr(server_version, '.');

		if (dot && strchr(dot + 1, '.'))
			snprintf(series, sizeof(series), "%.*s", (int)(strchr(dot + 1, '.') - server_version), server_version);
		printf("golden: nats-server %s (series %s)%s\n", *server_version ? server_version : "?", *series ? series : "?",
		       is_default ? ", the default expected files" : "");
	}
	unsetenv("XORB_BIN_DIR"); /* the cases get no XORB_* but XORB_CONFIG */

	for (line = text; line && *line; line = save) {
		struct gcase c;

		lineno++;
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		if (parse_line(line, lineno, &c)) {
			for (int i = 0; i < ncases; i++)
				if (!strcmp(cases[i].name, c.name)) {
					fprintf(stderr, "golden: cases.txt:%d: case %s is already on line %d\n", lineno,
						c.name, cases[i].line);
					return 2;
				}
			cases = realloc(cases, (size_t)(ncases + 1) * sizeof(*cases));
			cases[ncases++] = c;
		}
	}
	free(text);
	mkdir(actual_dir, 0755);

	for (int i = 0; i < ncases; i++) {
		struct gcase *c = &cases[i];
		char exp_path[4400], var_path[4500], act_path[4400], *rec, *want;
		bool variant;

		if (only && regexec(&only_rx, c->name, 0, NULL, 0))
			continue;
		nrun++;
		gettimeofday(&c0, NULL);
		rec = run_case(c);
		gettimeofday(&c1, NULL);
		if ((c1.tv_sec - c0.tv_sec) * 1000 + (c1.tv_usec - c0.tv_usec) / 1000 > 2000)
			printf("golden: note: case %s took %.1f s\n", c->name,
			       (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_usec - c0.tv_usec) / 1e6);
		snprintf(exp_path, sizeof(exp_path), "%s/%s.out", exp_dir, c->name);
		snprintf(var_path, sizeof(var_path), "%s/%s@%s.out", exp_dir, c->name, series);
		snprintf(act_path, sizeof(act_path), "%s/%s.out", actual_dir, c->name);
		/* this server series' own expected output, when it has one */
		want = *series ? slurp(var_path) : NULL;
		variant = want != NULL;
		if (!want)
			want = slurp(exp_path);
		if (update) {
			char *dflt = variant ? slurp(exp_path) : NULL;

			if (variant && dflt && !strcmp(dflt, rec)) {
				unlink(var_path); /* the same as every other series' now */
				printf("golden: removed expected/%s@%s.out (the default fits)\n", c->name, series);
			} else if (variant && strcmp(want, rec)) {
				if (write_file(var_path, rec))
					return 2;
				printf("golden: updated expected/%s@%s.out\n", c->name, series);
			} else if (!variant && is_default && (!want || strcmp(want, rec))) {
				if (write_file(exp_path, rec))
					return 2;
				printf("golden: %s expected/%s.out\n", want ? "updated" : "created", c->name);
			} else if (!variant && !is_default && want && strcmp(want, rec) && *series) {
				if (write_file(var_path, rec))
					return 2;
				printf("golden: created expected/%s@%s.out (nats-server %s differs)\n", c->name, series,
				       series);
			}
			free(dflt);
		} else if (!want || strcmp(want, rec)) {
			const char *diff[] = { "diff", "-u", "--label", NULL, "--label", NULL, want ? (variant ? var_path : exp_path) : "/dev/null",
					       act_path, NULL };
			char la[4400], lb[4400];
			struct xt_result r;

			nfail++;
			write_file(act_path, rec);
			if (variant)
				snprintf(la, sizeof(la), "tests/golden/expected/%s@%s.out", c->name, series);
			else
				snprintf(la, sizeof(la), "tests/golden/expected/%s.out%s", c->name, want ? "" : " (missing)");
			snprintf(lb, sizeof(lb), "actual (cases.txt:%d, nats-server %s)", c->line, server_version);
			diff[3] = la;
			diff[5] = lb;
			memset(&r, 0, sizeof(r));
			xt_run(diff, NULL, 30, &r);
			printf("golden: FAIL %s\n%s%s", c->name, r.out, r.err);
			xt_result_release(&r);
		} else {
			unlink(act_path);
		}
		free(want);
		free(rec);
	}

	/* expected files of no case */
	if (!only) {
		DIR *d = opendir(exp_dir);
		struct dirent *e;
		size_t nseen = 0;

		while (d && (e = readdir(d))) {
			size_t n = strlen(e->d_name);
			bool known = false;

			if (n < 5 || strcmp(e->d_name + n - 4, ".out"))
				continue;
			{
				/* NAME.out, or NAME@SERIES.out: one server series' own */
				const char *at = memchr(e->d_name, '@', n - 4);
				size_t base = at ? (size_t)(at - e->d_name) : n - 4;

				for (int i = 0; i < ncases && !known; i++)
					known = strlen(cases[i].name) == base && !strncmp(cases[i].name, e->d_name, base);
			}
			if (!known) {
				seen = realloc(seen, (nseen + 1) * sizeof(*seen));
				seen[nseen++] = xstrdup(e->d_name);
			}
		}
		if (d)
			closedir(d);
		if (nseen)
			qsort(seen, nseen, sizeof(*seen), cmp_name);
		for (size_t i = 0; i < nseen; i++) {
			char p[4400];

			snprintf(p, sizeof(p), "%s/%s", exp_dir, seen[i]);
			if (update) {
				unlink(p);
				printf("golden: removed expected/%s (no such case)\n", seen[i]);
			} else {
				printf("golden: FAIL expected/%s belongs to no case of cases.txt\n", seen[i]);
				nstale++;
			}
			free(seen[i]);
		}
		free(seen);
	}
	for (int i = 0; i < ncases; i++)
		free_case(&cases[i]);
	free(cases);
	if (only)
		regfree(&only_rx);

	gettimeofday(&t1, NULL);
	printf("golden: %d case%s run, %d differ%s, %.1f s\n", nrun, nrun == 1 ? "" : "s", nfail,
	       nstale ? " (and stale expected files)" : "",
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_usec - t0.tv_usec) / 1e6);
	if (nfail || nstale) {
		printf("golden: the actual outputs are in %s/.\n"
		       "golden: if the change is intended, regenerate with\n"
		       "golden:     scripts/golden-update.sh   (or: cd build && XORB_GOLDEN_UPDATE=1 ctest -R golden)\n"
		       "golden: and review `git diff tests/golden/expected` before committing.\n",
		       actual_dir);
		return 1;
	}
	return 0;
}

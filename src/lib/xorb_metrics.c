/* Prometheus textfile metrics: see xorb_metrics.h. */
#include "xorb_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "xorb_buf.h"

#define MAX_SAMPLES 100000
#define MAX_FILE (16u << 20)

struct sample {
	char name[96];
	char labels[256]; /* the text between the braces */
	double value;
};

struct family {
	const char *suffix;
	const char *type;
	const char *help;
};

/* Per operation (xorb_backup_*, xorb_restore_*). */
static const struct family families[] = {
	{ "last_success_timestamp_seconds", "gauge", "Unix time of the last successful run of the tenant." },
	{ "last_duration_seconds", "gauge", "Duration of the last run of the tenant." },
	{ "last_bytes", "gauge", "Stream bytes covered by the last successful run of the tenant." },
	{ "last_messages", "gauge", "Messages covered by the last successful run of the tenant." },
	{ "last_streams", "gauge", "Streams covered by the last successful run of the tenant." },
	{ "last_run_success", "gauge", "1 when the last run of the tenant succeeded (ok or warning), 0 when it failed." },
	{ "runs_total", "counter", "Runs of the tenant by result (ok, warning, failed)." },
};

struct set {
	struct sample *s;
	size_t n, cap;
};

static struct sample *find(struct set *set, const char *name, const char *labels)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (!strcmp(set->s[i].name, name) && !strcmp(set->s[i].labels, labels))
			return &set->s[i];
	return NULL;
}

static struct sample *get(struct set *set, const char *name, const char *labels)
{
	struct sample *p = find(set, name, labels);

	if (p)
		return p;
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 64;
		struct sample *ns;

		if (cap > MAX_SAMPLES)
			return NULL;
		ns = realloc(set->s, cap * sizeof(*ns));
		if (!ns)
			return NULL;
		set->s = ns;
		set->cap = cap;
	}
	p = &set->s[set->n++];
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->labels, sizeof(p->labels), "%s", labels);
	p->value = 0;
	return p;
}

/* Reads back what an earlier run wrote; lines that are not our own simple
 * `name{labels} value` form are dropped. */
static void load(FILE *f, struct set *set)
{
	char line[1024];

	while (fgets(line, sizeof(line), f)) {
		char name[96], labels[256];
		const char *open, *close;
		double v;
		char *end;
		struct sample *p;

		if (line[0] == '#' || strncmp(line, "xorb_", 5))
			continue;
		open = strchr(line, '{');
		close = open ? strchr(open, '}') : NULL;
		if (!open || !close || (size_t)(open - line) >= sizeof(name) ||
		    (size_t)(close - open - 1) >= sizeof(labels))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(open - line), line);
		snprintf(labels, sizeof(labels), "%.*s", (int)(close - open - 1), open + 1);
		v = strtod(close + 1, &end);
		if (end == close + 1 || !isfinite(v))
			continue;
		p = get(set, name, labels);
		if (p)
			p->value = v;
	}
}

static int cmp_sample(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->labels, y->labels);
}

static int render(struct set *set, struct xorb_buf *out)
{
	const char *last = "";
	size_t i, k;
	int rc = 0;

	qsort(set->s, set->n, sizeof(*set->s), cmp_sample);
	for (i = 0; i < set->n && !rc; i++) {
		const struct sample *p = &set->s[i];

		if (strcmp(p->name, last)) {
			for (k = 0; k < sizeof(families) / sizeof(families[0]); k++) {
				const char *op = strncmp(p->name, "xorb_backup_", 12) ? "restore" : "backup";
				size_t pl = strlen("xorb_") + strlen(op) + 1;

				if (strlen(p->name) > pl && !strcmp(p->name + pl, families[k].suffix)) {
					rc = xorb_buf_printf(out, "# HELP %s xorb-dr %s: %s", p->name, op,
							     families[k].help);
					rc = rc ? rc : xorb_buf_printf(out, "\n# TYPE %s %s\n", p->name, families[k].type);
					break;
				}
			}
			last = p->name;
		}
		if (!rc) {
			if (p->value == floor(p->value) && fabs(p->value) < 9e15)
				rc = xorb_buf_printf(out, "%s{%s} %" PRId64 "\n", p->name, p->labels, (int64_t)p->value);
			else
				rc = xorb_buf_printf(out, "%s{%s} %.3f\n", p->name, p->labels, p->value);
		}
	}
	return rc;
}

static int write_atomic(const char *path, const struct xorb_buf *b, struct xorb_error *err)
{
	char tmp[4200];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return xorb_error_set(err, XORB_EIO, "cannot write metrics file %s: %s", tmp, strerror(errno));
	if (write(fd, b->data ? b->data : "", b->len) != (ssize_t)b->len || fsync(fd)) {
		int e = errno;

		close(fd);
		unlink(tmp);
		return xorb_error_set(err, XORB_EIO, "cannot write metrics file %s: %s", tmp, strerror(e));
	}
	close(fd);
	if (rename(tmp, path)) {
		int e = errno;

		unlink(tmp);
		return xorb_error_set(err, XORB_EIO, "cannot replace metrics file %s: %s", path, strerror(e));
	}
	return XORB_OK;
}

int xorb_metrics_record(const char *path, const struct xorb_run_metrics *r, struct xorb_error *err)
{
	struct set set = { NULL, 0, 0 };
	struct xorb_buf out;
	char lock[4200], name[96], labels[256];
	struct sample *p;
	FILE *f;
	int lfd, rc = XORB_OK;
	bool ok = strcmp(r->result, "failed") != 0;

	snprintf(lock, sizeof(lock), "%s.lock", path);
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lfd < 0)
		return xorb_error_set(err, XORB_EIO, "cannot open metrics lock %s: %s", lock, strerror(errno));
	flock(lfd, LOCK_EX);
	f = fopen(path, "r");
	if (f) {
		load(f, &set);
		fclose(f);
	}
	xorb_buf_init(&out);
	snprintf(labels, sizeof(labels), "tenant=\"%s\"", r->tenant);
#define SET(suffix, v)                                                            \
	do {                                                                      \
		snprintf(name, sizeof(name), "xorb_%s_%s", r->op, suffix);        \
		if ((p = get(&set, name, labels)))                                \
			p->value = (v);                                           \
	} while (0)
	SET("last_duration_seconds", r->duration);
	SET("last_run_success", ok ? 1 : 0);
	if (ok) {
		SET("last_success_timestamp_seconds", r->finished);
		SET("last_bytes", (double)r->bytes);
		SET("last_messages", (double)r->messages);
		SET("last_streams", (double)r->streams);
	}
#undef SET
	/* every result label exists from the first run, so rate() works */
	{
		static const char *const results[] = { "ok", "warning", "failed" };
		size_t i;

		snprintf(name, sizeof(name), "xorb_%s_runs_total", r->op);
		for (i = 0; i < 3; i++) {
			snprintf(labels, sizeof(labels), "tenant=\"%s\",result=\"%s\"", r->tenant, results[i]);
			p = get(&set, name, labels);
			if (p && !strcmp(results[i], r->result))
				p->value += 1;
		}
	}
	if (render(&set, &out))
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
	else
		rc = write_atomic(path, &out, err);
	xorb_buf_release(&out);
	free(set.s);
	flock(lfd, LOCK_UN);
	close(lfd);
	return rc;
}

/* Retention policy and removal of backups: see xorb_prune.h. */
#include "xorb_prune.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { RULE_LAST, RULE_HOURLY, RULE_DAILY, RULE_WEEKLY, RULE_MONTHLY, RULE_COUNT };

static const char *const rule_name[RULE_COUNT] = { "last", "hourly", "daily", "weekly", "monthly" };


static void add_reason(struct xorb_prune_item *it, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_reason(struct xorb_prune_item *it, const char *fmt, ...)
{
	va_list ap;

	if (it->n_reasons >= XORB_PRUNE_REASONS)
		return;
	va_start(ap, fmt);
	vsnprintf(it->reasons[it->n_reasons++], XORB_PRUNE_REASON_LEN, fmt, ap);
	va_end(ap);
}

/* Tenant, then newest first: time, then id (the greater id of one second is
 * the newer, as in xorb_bundle_catalog), then the complete backup first. */
static int cmp_plan(const void *a, const void *b)
{
	const struct xorb_prune_item *x = a, *y = b;
	int c = strcmp(x->tenant, y->tenant);

	if (c)
		return c;
	if (x->time != y->time)
		return x->time > y->time ? -1 : 1;
	c = strcmp(y->id, x->id);
	if (c)
		return c;
	return (int)y->complete - (int)x->complete;
}

/* The period of t for a rule, from its UTC breakdown. %G-W%V is the ISO 8601
 * week-based year and week (weeks start on Monday; 2027-01-01 is in 2026-W53). */
static int period_of(int rule, time_t t, char *buf, size_t len)
{
	struct tm tm;
	size_t w = 0;

	if (!gmtime_r(&t, &tm))
		return -1;
	switch (rule) {
	case RULE_HOURLY: w = strftime(buf, len, "%Y-%m-%dT%H", &tm); break;
	case RULE_DAILY: w = strftime(buf, len, "%Y-%m-%d", &tm); break;
	case RULE_WEEKLY: w = strftime(buf, len, "%G-W%V", &tm); break;
	case RULE_MONTHLY: w = strftime(buf, len, "%Y-%m", &tm); break;
	}
	return w ? 0 : -1;
}

static void decide_leftover(struct xorb_prune_item *it, int64_t grace, time_t now)
{
	char g[32];

	xorb_prune_duration_str(grace, g, sizeof(g));
	/* an mtime in the future (clock skew) is young: kept */
	if (it->archive_mtime < (int64_t)now && (int64_t)now - it->archive_mtime > grace) {
		it->keep = false;
		add_reason(it, "incomplete, older than %s", g);
	} else {
		it->keep = true;
		add_reason(it, "incomplete, may still be uploading");
	}
}

/* items[0..n) are one tenant's, newest first. */
static void decide_tenant(const struct xorb_prune_policy *p, time_t now,
			  struct xorb_prune_item *items, size_t n)
{
	const int count[RULE_COUNT] = { p->keep_last, p->keep_hourly, p->keep_daily, p->keep_weekly,
					p->keep_monthly };
	char last[RULE_COUNT][32] = { { 0 } }, period[32], why_not[RULE_COUNT][XORB_PRUNE_REASON_LEN];
	int kept[RULE_COUNT] = { 0 }, n_why;
	bool newest_seen = false;
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		struct xorb_prune_item *it = &items[i];

		if (!it->complete) {
			decide_leftover(it, p->grace, now);
			continue;
		}
		it->keep = false;
		n_why = 0;
		/* why_not: why each rule in force does not keep it, said if none does */
		for (r = 0; r < RULE_COUNT; r++) {
			if (!count[r])
				continue;
			if (r == RULE_LAST) {
				if (kept[r] >= count[r]) {
					snprintf(why_not[n_why++], sizeof(why_not[0]), "not among the last %d", count[r]);
					continue;
				}
				it->keep = true;
				kept[r]++;
				add_reason(it, "last %d/%d", kept[r], count[r]);
				continue;
			}
			(void)period_of(r, it->time, period, sizeof(period)); /* checked by the caller */
			if (!strcmp(period, last[r])) {
				snprintf(why_not[n_why++], sizeof(why_not[0]), "%s %s has a newer one", rule_name[r], period);
				continue;
			}
			if (kept[r] >= count[r]) {
				snprintf(why_not[n_why++], sizeof(why_not[0]), "older than the %d %s kept", count[r],
					 rule_name[r]);
				continue;
			}
			memcpy(last[r], period, sizeof(period));
			it->keep = true;
			kept[r]++;
			add_reason(it, "%s %s", rule_name[r], period);
		}
		if (!newest_seen && !it->keep) {
			it->keep = true;
			add_reason(it, "newest backup");
		}
		for (r = 0; !it->keep && r < n_why; r++)
			add_reason(it, "%s", why_not[r]);
		if (!it->keep && !n_why)
			add_reason(it, "every rule is 0: only the newest stays");
		newest_seen = true;
	}
}

int xorb_prune_plan(const struct xorb_prune_policy *p, time_t now, struct xorb_prune_item *items,
		    size_t n, struct xorb_error *err)
{
	const int count[RULE_COUNT] = { p->keep_last, p->keep_hourly, p->keep_daily, p->keep_weekly,
					p->keep_monthly };
	char period[32];
	size_t i, j;
	int r;

	for (r = 0; r < RULE_COUNT; r++)
		if (count[r] < 0 || count[r] > XORB_PRUNE_COUNT_MAX)
			return xorb_error_set(err, XORB_EINVAL, "keep %s %d is not from 0 to %d",
					      rule_name[r], count[r], XORB_PRUNE_COUNT_MAX);
	if (p->grace < XORB_PRUNE_GRACE_MIN || p->grace > XORB_PRUNE_GRACE_MAX)
		return xorb_error_set(err, XORB_EINVAL,
				      "grace period of %" PRId64 " s is not from %d s to %lld s", p->grace,
				      XORB_PRUNE_GRACE_MIN, (long long)XORB_PRUNE_GRACE_MAX);
	for (i = 0; i < n; i++)
		for (r = RULE_HOURLY; r < RULE_COUNT; r++)
			if (period_of(r, items[i].time, period, sizeof(period)))
				return xorb_error_set(err, XORB_EINVAL,
						      "backup %s/%s: its time %lld is out of range",
						      items[i].tenant, items[i].id, (long long)items[i].time);
	for (i = 0; i < n; i++) {
		items[i].keep = false;
		items[i].n_reasons = 0;
		memset(items[i].reasons, 0, sizeof(items[i].reasons));
	}
	if (n)
		qsort(items, n, sizeof(*items), cmp_plan);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && !strcmp(items[j].tenant, items[i].tenant); j++)
			;
		decide_tenant(p, now, items + i, j - i);
	}
	return XORB_OK;
}

/* ---- scanning the store ---- */

struct scan {
	const char *tenant; /* NULL: every tenant */
	struct xorb_prune_item *v;
	size_t n, cap;
	int oom;
};

/* Takes <tenant>/<id>.json and <tenant>/<id>.tar.zst; ignores anything else. */
static int scan_fn(void *arg, const struct xorb_store_obj *o)
{
	struct scan *c = arg;
	struct xorb_prune_item *it;
	struct xorb_backup_key k;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct xorb_prune_item *nv = realloc(c->v, cap * sizeof(*nv));

		if (!nv) {
			c->oom = 1;
			return 1;
		}
		c->v = nv;
		c->cap = cap;
	}
	it = &c->v[c->n];
	memset(it, 0, sizeof(*it));
	if (!xorb_key_parse(o->key, &k))
		return 0;
	if (c->tenant && strcmp(c->tenant, k.tenant))
		return 0;
	memcpy(it->tenant, k.tenant, sizeof(it->tenant));
	memcpy(it->id, k.id, sizeof(it->id));
	it->time = k.time;
	it->complete = k.kind == XORB_KEY_SIDECAR;
	if (!it->complete) {
		it->has_archive = true;
		it->archive_size = o->size;
		it->archive_mtime = o->mtime;
	}
	c->n++;
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	const struct xorb_prune_item *x = a, *y = b;
	int c = strcmp(x->tenant, y->tenant);

	return c ? c : strcmp(x->id, y->id);
}

int xorb_prune_scan(struct xorb_store *s, const char *tenant, struct xorb_prune_item **items,
		    size_t *n, struct xorb_error *err)
{
	struct scan c = { tenant, NULL, 0, 0, 0 };
	char prefix[XORB_TENANT_MAX + 2];
	size_t i, k;
	int rc;

	*items = NULL;
	*n = 0;
	if (tenant && xorb_tenant_check(tenant, err))
		return err ? err->code : XORB_EINVAL;
	rc = xorb_store_list(s, xorb_key_prefix(prefix, tenant), scan_fn, &c, err);
	if (!rc && c.oom)
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory listing store \"%s\"",
				    xorb_store_url(s));
	if (rc) {
		free(c.v);
		return rc;
	}
	/* one item per backup: merge its sidecar and its archive */
	if (c.n)
		qsort(c.v, c.n, sizeof(*c.v), cmp_key);
	for (i = 0, k = 0; i < c.n; i++) {
		if (k && !cmp_key(&c.v[k - 1], &c.v[i])) {
			struct xorb_prune_item *m = &c.v[k - 1];

			m->complete |= c.v[i].complete;
			if (c.v[i].has_archive) {
				m->has_archive = true;
				m->archive_size = c.v[i].archive_size;
				m->archive_mtime = c.v[i].archive_mtime;
			}
			continue;
		}
		if (k != i)
			c.v[k] = c.v[i];
		k++;
	}
	if (!k) {
		free(c.v);
		c.v = NULL;
	}
	*items = c.v;
	*n = k;
	return XORB_OK;
}

int xorb_prune_remove(struct xorb_store *s, const struct xorb_prune_item *it,
		      struct xorb_error *err)
{
	char key[XORB_KEY_MAX];
	int rc;

	if (it->complete) {
		xorb_key_format(key, it->tenant, it->id, XORB_KEY_SIDECAR);
		rc = xorb_store_remove(s, key, err);
		if (rc && rc != XORB_ENOTFOUND) {
			xorb_error_prefix(err, "backup %s/%s is not removed: ", it->tenant, it->id);
			return rc;
		}
	}
	/* the archive is <id>.tar.zst, or <id>.tar.zst.age when encrypted */
	xorb_key_format(key, it->tenant, it->id, XORB_KEY_ARCHIVE_AGE);
	rc = xorb_store_remove(s, key, err);
	if (rc == XORB_ENOTFOUND) {
		xorb_error_clear(err);
		xorb_key_format(key, it->tenant, it->id, XORB_KEY_ARCHIVE);
		rc = xorb_store_remove(s, key, err);
	}
	if (rc == XORB_ENOTFOUND) {
		xorb_error_clear(err);
		return XORB_OK;
	}
	if (rc && it->complete)
		xorb_error_prefix(err,
				  "backup %s/%s is half removed (sidecar gone, archive left; a later prune removes the archive once it is older than the grace period): ",
				  it->tenant, it->id);
	else if (rc)
		xorb_error_prefix(err, "incomplete backup %s/%s is not removed: ", it->tenant, it->id);
	return rc;
}

/* ---- unfinished uploads ---- */

struct scan_unfinished {
	const char *tenant; /* NULL: every tenant */
	struct xorb_prune_unfinished *v;
	size_t n, cap;
	int oom;
};

/* Takes unfinished uploads of backup keys; ignores anything else. */
static int scan_unfinished_fn(void *arg, const struct xorb_store_unfinished *u)
{
	struct scan_unfinished *c = arg;
	struct xorb_prune_unfinished *it;
	struct xorb_backup_key k;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct xorb_prune_unfinished *nv = realloc(c->v, cap * sizeof(*nv));

		if (!nv) {
			c->oom = 1;
			return 1;
		}
		c->v = nv;
		c->cap = cap;
	}
	it = &c->v[c->n];
	memset(it, 0, sizeof(*it));
	if (!u->key || !u->id || !*u->id || strlen(u->key) >= sizeof(it->key) || !xorb_key_parse(u->key, &k))
		return 0;
	memcpy(it->tenant, k.tenant, sizeof(it->tenant));
	if (c->tenant && strcmp(c->tenant, it->tenant))
		return 0;
	memcpy(it->key, u->key, strlen(u->key) + 1);
	it->last_write = u->last_write;
	it->id = strdup(u->id);
	if (!it->id) {
		c->oom = 1;
		return 1;
	}
	c->n++;
	return 0;
}

int xorb_prune_scan_unfinished(struct xorb_store *s, const char *tenant,
			       struct xorb_prune_unfinished **ups, size_t *n, struct xorb_error *err)
{
	struct scan_unfinished c = { tenant, NULL, 0, 0, 0 };
	char prefix[XORB_TENANT_MAX + 2];
	int rc;

	*ups = NULL;
	*n = 0;
	if (tenant && xorb_tenant_check(tenant, err))
		return err ? err->code : XORB_EINVAL;
	xorb_key_prefix(prefix, tenant);
	rc = xorb_store_list_unfinished(s, prefix, scan_unfinished_fn, &c, err);
	if (!rc && c.oom)
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory listing store \"%s\"",
				    xorb_store_url(s));
	if (rc || !c.n) {
		xorb_prune_unfinished_free(c.v, c.n);
		return rc;
	}
	*ups = c.v;
	*n = c.n;
	return XORB_OK;
}

static int cmp_unfinished(const void *a, const void *b)
{
	const struct xorb_prune_unfinished *x = a, *y = b;
	int c = strcmp(x->tenant, y->tenant);

	if (!c)
		c = strcmp(x->key, y->key);
	if (!c && x->last_write != y->last_write)
		c = x->last_write < y->last_write ? -1 : 1;
	return c ? c : strcmp(x->id, y->id);
}

int xorb_prune_plan_unfinished(int64_t grace, time_t now, struct xorb_prune_unfinished *ups, size_t n,
			       struct xorb_error *err)
{
	char g[32];
	size_t i;

	if (grace < XORB_PRUNE_GRACE_MIN || grace > XORB_PRUNE_GRACE_MAX)
		return xorb_error_set(err, XORB_EINVAL,
				      "grace period of %" PRId64 " s is not from %d s to %lld s", grace,
				      XORB_PRUNE_GRACE_MIN, (long long)XORB_PRUNE_GRACE_MAX);
	xorb_prune_duration_str(grace, g, sizeof(g));
	if (n)
		qsort(ups, n, sizeof(*ups), cmp_unfinished);
	for (i = 0; i < n; i++) {
		struct xorb_prune_unfinished *u = &ups[i];

		/* unknown (0) or in the future (clock skew): young */
		u->keep = !(u->last_write > 0 && u->last_write < (int64_t)now && (int64_t)now - u->last_write > grace);
		if (u->keep)
			snprintf(u->reason, sizeof(u->reason), "may still be uploading");
		else
			snprintf(u->reason, sizeof(u->reason), "older than %s", g);
	}
	return XORB_OK;
}

int xorb_prune_remove_unfinished(struct xorb_store *s, const struct xorb_prune_unfinished *u,
				 struct xorb_error *err)
{
	int rc = xorb_store_remove_unfinished(s, u->key, u->id, err);

	if (rc)
		xorb_error_prefix(err, "unfinished upload of %s is not removed: ", u->key);
	return rc;
}

void xorb_prune_unfinished_free(struct xorb_prune_unfinished *ups, size_t n)
{
	size_t i;

	if (!ups)
		return;
	for (i = 0; i < n; i++)
		free(ups[i].id);
	free(ups);
}

/* ---- text ---- */

const char *xorb_prune_duration_str(int64_t secs, char *buf, size_t len)
{
	if (secs >= 2 * 86400 && secs % 86400 == 0) /* 1d reads better as 24h */
		snprintf(buf, len, "%" PRId64 "d", secs / 86400);
	else if (secs && secs % 3600 == 0)
		snprintf(buf, len, "%" PRId64 "h", secs / 3600);
	else if (secs && secs % 60 == 0)
		snprintf(buf, len, "%" PRId64 "m", secs / 60);
	else
		snprintf(buf, len, "%" PRId64 "s", secs);
	return buf;
}

const char *xorb_prune_reasons_join(const struct xorb_prune_item *it, char *buf, size_t len)
{
	size_t i, at = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < it->n_reasons && at < len; i++) {
		int w = snprintf(buf + at, len - at, "%s%s", i ? ", " : "", it->reasons[i]);

		if (w < 0)
			break;
		at += (size_t)w;
	}
	return buf;
}

/* Tenant accounts as code: see xorb_state.h. */
#include "xorb_state.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "xorb_buf.h"
#include "xorb_json.h"
#include "xorb_jwt.h"
#include "xorb_names.h"
#include "xorb_nats.h"
#include "xorb_sys.h"
#include "xorb_tenancy.h"
#include "xorb_util.h"

#define STATE_FORMAT "xorb-state"
#define STATE_VERSION 1

__attribute__((format(printf, 3, 4))) static void say(struct xorb_state_ctx *c, enum xorb_note_level l,
						      const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (!c->note)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->note(c->note_arg, l, NULL, msg);
}

/* ---- the plan as data ---- */

const char *xorb_state_change_kind_name(enum xorb_change_kind k)
{
	static const char *const names[] = { "account", "user", "stream", "consumer" };

	return (unsigned)k < 4 ? names[k] : "?";
}

const char *xorb_state_change_action_name(enum xorb_change_action a)
{
	static const char *const names[] = { "create", "update", "unchanged", "stray" };

	return (unsigned)a < 4 ? names[a] : "?";
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

size_t xorb_state_change_line(const struct xorb_state_change *v, size_t n, char *buf, size_t len)
{
	static const char mark[] = { '+', '~', '=', '!' };
	const char *kind = xorb_state_change_kind_name(v->kind), *name = or_empty(v->name),
		   *detail = or_empty(v->detail);
	char m = (unsigned)v->action < 4 ? mark[v->action] : '?';

	if (v->kind == XORB_CHANGE_USER && v->action == XORB_CHANGE_CREATE && n > 1 && v[1].joined) {
		snprintf(buf, len, "+ user %s, %s (%s)", name, or_empty(v[1].name), detail);
		return 2;
	}
	switch (v->action) {
	case XORB_CHANGE_CREATE:
		if (v->kind == XORB_CHANGE_ACCOUNT)
			snprintf(buf, len, "+ account %s (%s): %s", name, v->key ? v->key : "new key", detail);
		else if (v->kind == XORB_CHANGE_USER)
			snprintf(buf, len, "+ user %s -> %s", name, or_empty(v->path));
		else if (v->kind == XORB_CHANGE_CONSUMER)
			snprintf(buf, len, "+ consumer %s on %s (%s)", name, or_empty(v->stream), detail);
		else
			snprintf(buf, len, "+ %s %s: %s", kind, name, detail);
		break;
	case XORB_CHANGE_UNCHANGED:
		if (v->kind == XORB_CHANGE_ACCOUNT)
			snprintf(buf, len, "= account %s (%s)", name, or_empty(v->key));
		else if (v->kind == XORB_CHANGE_USER)
			snprintf(buf, len, "= user %s (%s)", name, or_empty(v->path));
		else
			snprintf(buf, len, "= %s %s", kind, name);
		break;
	case XORB_CHANGE_STRAY:
		snprintf(buf, len, "! %s %s (%s) %s", kind, name, or_empty(v->key), detail);
		break;
	default:
		snprintf(buf, len, "%c %s %s: %s", m, kind, name, detail);
		break;
	}
	return 1;
}

static void change_free(struct xorb_state_change *c)
{
	free(c->tenant);
	free(c->name);
	free(c->detail);
	free(c->key);
	free(c->path);
	free(c->stream);
}

void xorb_state_plan_release(struct xorb_state_plan *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++)
		change_free(&p->v[i]);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

static char *dup_or_null(const char *s, int *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = 1;
	return d;
}

static void plan_add(struct xorb_state_plan *p, const struct xorb_state_change *c)
{
	struct xorb_state_change *d;
	int oom = 0;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;

		d = realloc(p->v, cap * sizeof(*d));
		if (!d) {
			p->oom = 1;
			return;
		}
		p->v = d;
		p->cap = cap;
	}
	d = &p->v[p->n++];
	*d = *c;
	d->tenant = dup_or_null(c->tenant, &oom);
	d->name = dup_or_null(c->name, &oom);
	d->detail = dup_or_null(c->detail, &oom);
	d->key = dup_or_null(c->key, &oom);
	d->path = dup_or_null(c->path, &oom);
	d->stream = dup_or_null(c->stream, &oom);
	if (oom)
		p->oom = 1;
}

cJSON *xorb_state_plan_json(const struct xorb_state_plan *p)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; arr && i < p->n; i++) {
		const struct xorb_state_change *c = &p->v[i];
		cJSON *o = cJSON_CreateObject();

		if (!o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			cJSON_Delete(arr);
			return NULL;
		}
		cJSON_AddStringToObject(o, "tenant", or_empty(c->tenant));
		cJSON_AddStringToObject(o, "kind", xorb_state_change_kind_name(c->kind));
		cJSON_AddStringToObject(o, "action", xorb_state_change_action_name(c->action));
		cJSON_AddStringToObject(o, "name", or_empty(c->name));
		if (c->detail)
			cJSON_AddStringToObject(o, "detail", c->detail);
		if (c->key)
			cJSON_AddStringToObject(o, "key", c->key);
		if (c->path)
			cJSON_AddStringToObject(o, "path", c->path);
		if (c->stream)
			cJSON_AddStringToObject(o, "stream", c->stream);
		if (c->kind == XORB_CHANGE_ACCOUNT || c->kind == XORB_CHANGE_USER)
			cJSON_AddBoolToObject(o, "revoke", c->revoke);
	}
	return arr;
}

/* Records cnt changes that make one text line: counted, collected in
 * c->plan, and the line said. */
static void change(struct xorb_state_ctx *c, struct xorb_state_counts *n, const struct xorb_state_change *v, size_t cnt)
{
	char line[2048];
	size_t i;

	for (i = 0; i < cnt; i++) {
		switch (v[i].action) {
		case XORB_CHANGE_CREATE: n->create++; break;
		case XORB_CHANGE_UPDATE: n->update++; break;
		case XORB_CHANGE_UNCHANGED: n->unchanged++; break;
		case XORB_CHANGE_STRAY: n->remove++; break;
		}
		if (c->plan)
			plan_add(c->plan, &v[i]);
	}
	xorb_state_change_line(v, cnt, line, sizeof(line));
	say(c, XORB_NOTE_INFO, "%s", line);
}

/* The connection options every login of xorb-state shares: URL and TLS. */
static void conn_opts(const struct xorb_state_ctx *c, struct xorb_conn_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->url = c->url;
	o->tlsca = c->tlsca;
	o->tlscert = c->tlscert;
	o->tlskey = c->tlskey;
}

int xorb_state_account_connect(struct xorb_state_ctx *c, const char *tenant, natsConnection **nc,
			       struct xorb_error *err)
{
	struct xorb_nkey *acct = NULL, *user = NULL;
	struct xorb_conn_opts o;
	char *jwt = NULL;
	int rc;

	*nc = NULL;
	rc = xorb_keys_account(c->keys, tenant, 0, &acct, err);
	if (!rc)
		rc = xorb_nkey_generate(XORB_NKEY_USER, &user, err);
	if (!rc)
		rc = xorb_keys_user_jwt(acct, "xorb-state-admin", user, NULL, &jwt, err);
	if (rc)
		goto out;
	conn_opts(c, &o);
	o.user_jwt = jwt;
	o.user_key = user;
	/* nats-server 2.9.10 now and then refuses the first login into an
	 * account it just (re)loaded */
	rc = xorb_nats_connect_retry_auth(&o, 5000, nc, err);
	if (rc)
		xorb_error_prefix(err, "tenant %s: as the account's administrator: ", tenant);
out:
	free(jwt);
	xorb_nkey_free(acct);
	xorb_nkey_free(user);
	return rc;
}

/* ---- comparing the desired with the live ---- */

/* Names the first member of want whose value differs in have ("" when none). */
static void first_difference(const cJSON *want, const cJSON *have, char *out, size_t len)
{
	const cJSON *it;

	out[0] = '\0';
	cJSON_ArrayForEach(it, want) {
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(have, it->string);

		if (h && cJSON_Compare(it, h, 1))
			continue;
		if (!h && cJSON_IsFalse(it))
			continue; /* a false flag the server omits */
		{
			struct xorb_buf a, b;

			xorb_buf_init(&a);
			xorb_buf_init(&b);
			xorb_json_print(h, &a);
			xorb_json_print(it, &b);
			snprintf(out, len, "%s %s -> %s", it->string, h ? a.data : "(unset)", b.data);
			xorb_buf_release(&a);
			xorb_buf_release(&b);
		}
		return;
	}
}

/* ---- users and their creds files ---- */

static void creds_path(struct xorb_state_ctx *c, const char *user, char *out, size_t len)
{
	snprintf(out, len, "%s/%s.creds", c->creds_dir, user);
}

/* Whether the creds file at path holds a user of account_pub with exactly perms. */
static int creds_current(const char *path, const char *account_pub, const cJSON *perms,
			 struct xorb_nkey **seed_out, char *why, size_t whylen)
{
	char *text = NULL, *jwt = NULL;
	struct xorb_nkey *seed = NULL;
	cJSON *claims = NULL, *nats, *it;
	size_t len = 0;
	int current = 0;

	*seed_out = NULL;
	snprintf(why, whylen, "new");
	if (xorb_read_file(path, XORB_CREDS_MAX, &text, &len, NULL))
		return 0;
	if (xorb_creds_parse(text, len, &jwt, &seed, NULL) || xorb_jwt_decode(jwt, &claims, NULL)) {
		snprintf(why, whylen, "unreadable creds file, re-issued with a new key");
		goto out;
	}
	*seed_out = seed;
	seed = NULL;
	if (strcmp(xorb_json_str(claims, "iss", ""), account_pub)) {
		snprintf(why, whylen, "issued by another account key");
		goto out;
	}
	nats = cJSON_GetObjectItemCaseSensitive(claims, "nats");
	current = 1;
	cJSON_ArrayForEach(it, perms) {
		if (!cJSON_Compare(it, cJSON_GetObjectItemCaseSensitive(nats, it->string), 1)) {
			snprintf(why, whylen, "%s permissions changed", it->string);
			current = 0;
		}
	}
out:
	if (text) {
		explicit_bzero(text, len);
		free(text);
	}
	free(jwt);
	xorb_nkey_free(seed);
	cJSON_Delete(claims);
	return current;
}

static int write_creds(struct xorb_state_ctx *c, const struct xorb_nkey *acct, const char *user,
		       const cJSON *perms, struct xorb_nkey *seed, const char *path, struct xorb_error *err)
{
	struct xorb_nkey *fresh = NULL;
	char *jwt = NULL, *creds = NULL;
	int rc = XORB_OK;

	if (!seed) {
		rc = xorb_nkey_generate(XORB_NKEY_USER, &fresh, err);
		seed = fresh;
	}
	if (!rc)
		rc = xorb_keys_user_jwt(acct, user, seed, perms, &jwt, err);
	if (!rc)
		rc = xorb_creds_format(jwt, seed, &creds, err);
	if (!rc)
		rc = xorb_secret_write(path, creds, strlen(creds), 1, err);
	if (creds) {
		explicit_bzero(creds, strlen(creds));
		free(creds);
	}
	free(jwt);
	xorb_nkey_free(fresh);
	return rc;
}

/* ---- apply ---- */

/* A tenant's two users as their creds files hold them now. */
struct user_now {
	char name[128], path[4400], why[128];
	const cJSON *perms;	  /* what they must be */
	struct xorb_nkey *seed;	  /* the creds file's key; NULL: none usable */
	int current;		  /* the creds file is up to date */
	int revoke;		  /* permissions changed: revoke this key's earlier JWTs */
	char pub[XORB_NKEY_PUBLIC_LEN + 1];
};

static void users_read(struct xorb_state_ctx *c, const struct xorb_tenant_plan *p, const char *acct_pub,
		       struct user_now u[2])
{
	const char *suffix[2] = { "user", "backup" };
	int i;

	for (i = 0; i < 2; i++) {
		memset(&u[i], 0, sizeof(u[i]));
		u[i].perms = i ? p->backup_perms : p->user_perms;
		snprintf(u[i].name, sizeof(u[i].name), "xorb-%s-%s", p->tenant, suffix[i]);
		creds_path(c, u[i].name, u[i].path, sizeof(u[i].path));
		u[i].current = creds_current(u[i].path, acct_pub, u[i].perms, &u[i].seed, u[i].why, sizeof(u[i].why));
		/* A user JWT stays valid until it expires (ours do not) or the
		 * account revokes it: re-issuing the creds file alone would leave
		 * every copy of the old one working with the old permissions. */
		if (!u[i].current && u[i].seed && strstr(u[i].why, "permissions changed")) {
			u[i].revoke = 1;
			xorb_nkey_public(u[i].seed, u[i].pub);
		}
	}
}

/* The account's revocations: the live JWT's (kept: xorb-state never drops
 * one, whoever made it), plus this run's at revoke_at. *added: how many new. */
static cJSON *revocations(const cJSON *live_nats, const struct user_now u[2], int64_t revoke_at, int *added)
{
	const cJSON *had = cJSON_GetObjectItemCaseSensitive(live_nats, "revocations");
	cJSON *r = cJSON_IsObject(had) ? cJSON_Duplicate(had, 1) : cJSON_CreateObject();
	int i;

	*added = 0;
	for (i = 0; r && i < 2; i++) {
		if (!u[i].revoke)
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(r, u[i].pub);
		cJSON_AddItemToObject(r, u[i].pub, cJSON_CreateNumber((double)revoke_at));
		(*added)++;
	}
	return r;
}

static int account_changes(struct xorb_state_ctx *c, const struct xorb_tenant_plan *p, const char *acct_pub,
			   bool new_key, bool dry, const struct user_now u[2], int64_t revoke_at,
			   struct xorb_state_counts *n, bool *exists, struct xorb_error *err)
{
	char *live = NULL, diff[512];
	cJSON *claims = NULL, *revs = NULL;
	int rc, added = 0;
	struct xorb_state_change ch = { XORB_CHANGE_ACCOUNT, XORB_CHANGE_UNCHANGED, (char *)p->tenant,
					(char *)p->account_name, NULL, (char *)acct_pub, NULL, NULL, false, false };

	*exists = false;
	if (new_key) {
		rc = XORB_ENOTFOUND;
	} else {
		rc = xorb_sys_claims_lookup(c->sys, acct_pub, &live, err);
		if (rc && rc != XORB_ENOTFOUND)
			return rc;
	}
	if (rc == XORB_OK) {
		rc = xorb_jwt_decode(live, &claims, err);
		free(live);
		if (rc)
			return xorb_error_prefix(err, "the server's JWT of account %s: ", p->account_name);
		*exists = true;
		first_difference(p->limits, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(claims, "nats"),
									   "limits"), diff, sizeof(diff));
		if (!diff[0] && strcmp(xorb_json_str(claims, "name", ""), p->account_name))
			snprintf(diff, sizeof(diff), "name \"%s\" -> \"%s\"", xorb_json_str(claims, "name", ""),
				 p->account_name);
		revs = revocations(cJSON_GetObjectItemCaseSensitive(claims, "nats"), u, revoke_at, &added);
		cJSON_Delete(claims);
		if (!revs)
			return xorb_error_set(err, XORB_ENOMEM, "out of memory");
		if (added && !diff[0])
			snprintf(diff, sizeof(diff), "revoke the earlier JWTs of %d user%s whose permissions changed", added,
				 added > 1 ? "s" : "");
		else if (added)
			snprintf(diff + strlen(diff), sizeof(diff) - strlen(diff), "; revoke the earlier JWTs of %d user%s",
				 added, added > 1 ? "s" : "");
		if (!diff[0]) {
			cJSON_Delete(revs);
			ch.action = XORB_CHANGE_UNCHANGED;
			change(c, n, &ch, 1);
			return XORB_OK;
		}
		ch.action = XORB_CHANGE_UPDATE;
		ch.detail = diff;
		ch.revoke = added > 0;
		change(c, n, &ch, 1);
	} else {
		/* a known key whose account is not on the server (destroyed):
		 * the creds files may still be of the old permissions */
		revs = revocations(NULL, u, revoke_at, &added);
		if (!revs)
			return xorb_error_set(err, XORB_ENOMEM, "out of memory");
		snprintf(diff, sizeof(diff), "disk %" PRId64 " B, streams %" PRId64 ", consumers %" PRId64
			 ", connections %" PRId64, xorb_json_int(p->limits, "disk_storage", 0),
			 xorb_json_int(p->limits, "streams", 0), xorb_json_int(p->limits, "consumer", 0),
			 xorb_json_int(p->limits, "conn", -1));
		ch.action = XORB_CHANGE_CREATE;
		ch.key = new_key ? NULL : (char *)acct_pub;
		ch.detail = diff;
		ch.revoke = added > 0;
		change(c, n, &ch, 1);
	}
	if (dry) {
		cJSON_Delete(revs);
		return XORB_OK;
	}
	{
		char *jwt = NULL;
		int servers = 0;

		rc = xorb_keys_account_jwt(c->keys, acct_pub, p->account_name, p->limits, revs, &jwt, err);
		if (!rc)
			rc = xorb_sys_claims_update(c->sys, acct_pub, jwt, &servers, err);
		free(jwt);
		cJSON_Delete(revs);
		if (!rc)
			*exists = true;
		return rc;
	}
}

static int user_changes(struct xorb_state_ctx *c, const char *tenant, const struct xorb_nkey *acct,
			struct user_now u[2], int64_t revoke_at, bool dry, struct xorb_state_counts *n,
			struct xorb_error *err)
{
	int i, rc = XORB_OK;
	char detail[1100];

	/* the server refuses a JWT issued at or before its key's revocation time
	 * (nats-server 2.9.10 isRevoked: revoked when t >= iat), and iat has
	 * whole seconds: the new JWTs are issued after that second */
	if (!dry && (u[0].revoke || u[1].revoke))
		while ((int64_t)time(NULL) <= revoke_at)
			nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	for (i = 0; i < 2 && !rc; i++) {
		struct xorb_state_change ch = { XORB_CHANGE_USER, XORB_CHANGE_UNCHANGED, (char *)tenant, u[i].name,
						NULL, NULL, u[i].path, NULL, false, false };

		if (u[i].current) {
			change(c, n, &ch, 1);
			continue;
		}
		if (!strcmp(u[i].why, "new")) {
			ch.action = XORB_CHANGE_CREATE;
		} else {
			snprintf(detail, sizeof(detail), "%s%s", u[i].why,
				 u[i].revoke ? "; its earlier JWTs are revoked (copies of the old creds file stop working)" : "");
			ch.action = XORB_CHANGE_UPDATE;
			ch.detail = detail;
			ch.revoke = u[i].revoke;
		}
		change(c, n, &ch, 1);
		if (!dry)
			rc = write_creds(c, acct, u[i].name, u[i].perms, u[i].seed, u[i].path, err);
	}
	return rc;
}

static int js(natsConnection *nc, int timeout, const char *body, cJSON **reply, struct xorb_error *err,
	      const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int js(natsConnection *nc, int timeout, const char *body, cJSON **reply, struct xorb_error *err,
	      const char *fmt, ...)
{
	char subj[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(subj, sizeof(subj), fmt, ap);
	va_end(ap);
	return xorb_js_request(nc, subj, body, timeout, reply, NULL, NULL, err);
}

static int stream_changes(struct xorb_state_ctx *c, natsConnection *nc, const struct xorb_tenant_plan *p,
			  bool dry, struct xorb_state_counts *n, struct xorb_error *err)
{
	struct xorb_buf body;
	int i, rc = XORB_OK;

	xorb_buf_init(&body);
	for (i = 0; i < XORB_TENANT_STREAMS && !rc; i++) {
		const struct xorb_stream_plan *s = &p->streams[i];
		cJSON *info = NULL, *live;
		char diff[512];
		struct xorb_state_change ch = { XORB_CHANGE_STREAM, XORB_CHANGE_UNCHANGED, (char *)p->tenant,
						(char *)s->name, NULL, NULL, NULL, NULL, false, false };

		rc = nc ? xorb_js_stream_info(nc, s->name, c->timeout_ms, &info, err) : XORB_ENOTFOUND;
		if (rc == XORB_ENOTFOUND) {
			rc = XORB_OK;
			snprintf(diff, sizeof(diff), "max_bytes %" PRId64 ", max_msgs %" PRId64 ", max_age %" PRId64
				 " d, replicas %" PRId64, xorb_json_int(s->config, "max_bytes", 0),
				 xorb_json_int(s->config, "max_msgs", 0),
				 (int64_t)(xorb_json_int(s->config, "max_age", 0) / XORB_NS_PER_DAY),
				 xorb_json_int(s->config, "num_replicas", 1));
			ch.action = XORB_CHANGE_CREATE;
			ch.detail = diff;
			change(c, n, &ch, 1);
			if (dry)
				continue;
			xorb_buf_reset(&body);
			xorb_json_print(s->config, &body);
			rc = js(nc, c->timeout_ms, body.data, NULL, err, "$JS.API.STREAM.CREATE.%s", s->name);
			if (rc)
				xorb_error_prefix(err, "creating stream %s: ", s->name);
			continue;
		}
		if (rc)
			break;
		live = cJSON_GetObjectItemCaseSensitive(info, "config");
		first_difference(s->config, live, diff, sizeof(diff));
		if (!diff[0]) {
			change(c, n, &ch, 1);
		} else {
			ch.action = XORB_CHANGE_UPDATE;
			ch.detail = diff;
			change(c, n, &ch, 1);
			if (!dry) {
				const cJSON *it;

				/* the server wants the whole config: live, with ours on top */
				cJSON_ArrayForEach(it, s->config) {
					cJSON_DeleteItemFromObjectCaseSensitive(live, it->string);
					cJSON_AddItemToObject(live, it->string, cJSON_Duplicate(it, 1));
				}
				xorb_buf_reset(&body);
				xorb_json_print(live, &body);
				rc = js(nc, c->timeout_ms, body.data, NULL, err, "$JS.API.STREAM.UPDATE.%s", s->name);
				if (rc)
					xorb_error_prefix(err, "updating stream %s: ", s->name);
			}
		}
		cJSON_Delete(info);
	}
	for (i = 0; i < XORB_TENANT_CONSUMERS && !rc; i++) {
		const struct xorb_consumer_plan *k = &p->consumers[i];
		cJSON *info = NULL, *req;
		char diff[512];
		struct xorb_state_change ch = { XORB_CHANGE_CONSUMER, XORB_CHANGE_UNCHANGED, (char *)p->tenant,
						(char *)k->name, NULL, NULL, NULL, (char *)k->stream, false, false };

		rc = nc ? js(nc, c->timeout_ms, NULL, &info, err, "$JS.API.CONSUMER.INFO.%s.%s", k->stream, k->name)
			: XORB_ENOTFOUND;
		if (rc == XORB_ENOTFOUND || (rc && dry && !nc)) {
			rc = XORB_OK;
			ch.action = XORB_CHANGE_CREATE;
			ch.detail = (char *)"ack_wait 30s, max_ack_pending 1024, flow control, heartbeat 5s, deliver last, 1 MiB/s";
			change(c, n, &ch, 1);
			diff[0] = '+';
		} else if (rc) {
			break;
		} else {
			first_difference(k->config, cJSON_GetObjectItemCaseSensitive(info, "config"), diff, sizeof(diff));
			if (!diff[0]) {
				change(c, n, &ch, 1);
			} else {
				ch.action = XORB_CHANGE_UPDATE;
				ch.detail = diff;
				change(c, n, &ch, 1);
			}
		}
		cJSON_Delete(info);
		if (dry || !diff[0])
			continue;
		req = cJSON_CreateObject();
		cJSON_AddStringToObject(req, "stream_name", k->stream);
		cJSON_AddItemToObject(req, "config", cJSON_Duplicate(k->config, 1));
		xorb_buf_reset(&body);
		xorb_json_print(req, &body);
		cJSON_Delete(req);
		rc = js(nc, c->timeout_ms, body.data, NULL, err, "$JS.API.CONSUMER.DURABLE.CREATE.%s.%s", k->stream, k->name);
		if (rc)
			xorb_error_prefix(err, "creating consumer %s: ", k->name);
	}
	xorb_buf_release(&body);
	return rc;
}

static int tenant_apply(struct xorb_state_ctx *c, const struct xorb_env *env, const struct xorb_env_tenant *t,
			bool dry, struct xorb_state_counts *n, struct xorb_error *err)
{
	struct xorb_tenant_plan p;
	struct xorb_nkey *acct = NULL;
	natsConnection *nc = NULL;
	char acct_pub[XORB_NKEY_PUBLIC_LEN + 1] = "";
	struct user_now users[2];
	const int64_t revoke_at = (int64_t)time(NULL);
	bool new_key = false, exists = false;
	int rc;

	memset(users, 0, sizeof(users));
	rc = xorb_tenant_plan(env, t, c->replicas, &p, err);
	if (rc)
		return rc;
	rc = xorb_keys_account(c->keys, t->name, 0, &acct, err);
	if (rc == XORB_ENOTFOUND) {
		new_key = true;
		rc = dry ? XORB_OK : xorb_keys_account(c->keys, t->name, 1, &acct, err);
	}
	if (rc)
		goto out;
	if (acct)
		xorb_nkey_public(acct, acct_pub);
	if (acct)
		users_read(c, &p, acct_pub, users);
	rc = account_changes(c, &p, acct_pub, new_key, dry, users, revoke_at, n, &exists, err);
	if (!rc && acct)
		rc = user_changes(c, t->name, acct, users, revoke_at, dry, n, err);
	else if (!rc) {
		/* no account key yet (a plan): one line for both users */
		char names[2][160], paths[2][4400], detail[4200];
		struct xorb_state_change ch[2];
		int i;

		snprintf(detail, sizeof(detail), "creds in %s", c->creds_dir);
		for (i = 0; i < 2; i++) {
			snprintf(names[i], sizeof(names[i]), "xorb-%s-%s", t->name, i ? "backup" : "user");
			creds_path(c, names[i], paths[i], sizeof(paths[i]));
			ch[i] = (struct xorb_state_change){ XORB_CHANGE_USER, XORB_CHANGE_CREATE, t->name, names[i], detail,
							    NULL, paths[i], NULL, false, i == 1 };
		}
		change(c, n, ch, 2);
	}
	if (rc)
		goto out;
	if (exists) {
		/* the server applies a pushed JWT at once; give a cluster a moment */
		int tries;

		for (tries = 0; tries < 20; tries++) {
			rc = xorb_state_account_connect(c, t->name, &nc, err);
			if (!rc) {
				cJSON *info = NULL;

				rc = xorb_js_request(nc, "$JS.API.INFO", NULL, c->timeout_ms, &info, NULL, NULL, err);
				cJSON_Delete(info);
				if (!rc)
					break;
				xorb_nats_close(nc);
				nc = NULL;
			}
			nanosleep(&(struct timespec){ 0, 200 * 1000 * 1000 }, NULL);
		}
		if (rc)
			goto out;
	}
	rc = stream_changes(c, nc, &p, dry, n, err);
out:
	if (rc)
		xorb_error_prefix(err, "tenant %s: ", t->name);
	xorb_nats_close(nc);
	xorb_nkey_free(users[0].seed);
	xorb_nkey_free(users[1].seed);
	xorb_nkey_free(acct);
	xorb_tenant_plan_release(&p);
	return rc;
}

/* Accounts named xorb-* on the server that the environment does not hold. */
static void strays(struct xorb_state_ctx *c, const struct xorb_env *env, struct xorb_state_counts *n)
{
	char **accts = NULL;
	size_t na = 0, i;

	if (xorb_sys_claims_list(c->sys, &accts, &na, NULL))
		return;
	for (i = 0; i < na; i++) {
		char *jwt = NULL;
		cJSON *claims = NULL;
		const char *name;

		if (!strcmp(accts[i], c->keys->sys_account_pub) ||
		    xorb_sys_claims_lookup(c->sys, accts[i], &jwt, NULL) || xorb_jwt_decode(jwt, &claims, NULL)) {
			free(jwt);
			continue;
		}
		name = xorb_json_str(claims, "name", "");
		if (!strncmp(name, "xorb-", 5) && !xorb_env_tenant(env, name + 5)) {
			char detail[1500];
			struct xorb_state_change ch = { XORB_CHANGE_ACCOUNT, XORB_CHANGE_STRAY, (char *)name + 5, (char *)name,
							detail, accts[i], NULL, NULL, false, false };

			snprintf(detail, sizeof(detail), "is on the server but not in %s: apply leaves it; "
				 "xorb-state destroy --tenant %s removes it", env->path, name + 5);
			change(c, n, &ch, 1);
		}
		cJSON_Delete(claims);
		free(jwt);
	}
	xorb_strv_free(accts, na);
}

int xorb_state_apply(struct xorb_state_ctx *c, const struct xorb_env *env, bool dry_run,
		     struct xorb_state_counts *counts, struct xorb_error *err)
{
	size_t i;
	int rc;

	memset(counts, 0, sizeof(*counts));
	/* check every tenant's plan before changing anything */
	for (i = 0; i < env->n_tenants; i++) {
		struct xorb_tenant_plan p;

		rc = xorb_tenant_plan(env, &env->tenants[i], c->replicas, &p, err);
		if (rc)
			return xorb_error_prefix(err, "environment %s cannot be met: ", env->path);
		xorb_tenant_plan_release(&p);
	}
	for (i = 0; i < env->n_tenants; i++) {
		rc = tenant_apply(c, env, &env->tenants[i], dry_run, counts, err);
		if (rc)
			return rc;
	}
	strays(c, env, counts);
	return XORB_OK;
}

int xorb_state_creds(struct xorb_state_ctx *c, const struct xorb_env *env, const char *tenant,
		     const char *user, char *path_out, size_t path_len, struct xorb_error *err)
{
	const struct xorb_env_tenant *t = env ? xorb_env_tenant(env, tenant) : NULL;
	struct xorb_env_tenant dflt = { (char *)tenant, NULL, 8, 4, 1LL << 30, 1000000, 30, -1, NULL, 0 };
	struct xorb_env e1 = { NULL };
	struct xorb_tenant_plan p;
	struct xorb_nkey *acct = NULL, *seed = NULL;
	char name[160], why[128];
	const cJSON *perms;
	int rc;

	/* the permissions do not depend on the budgets: any tenant record will do */
	e1.num_replicas = 1;
	rc = xorb_tenant_plan(env ? env : &e1, t ? t : &dflt, 1, &p, err);
	if (rc)
		return rc;
	snprintf(name, sizeof(name), "%s", user ? user : "");
	if (!user)
		snprintf(name, sizeof(name), "xorb-%s-user", tenant);
	perms = strstr(name, "-backup") && !strcmp(name + strlen(name) - 7, "-backup") ? p.backup_perms : p.user_perms;
	rc = xorb_keys_account(c->keys, tenant, 0, &acct, err);
	if (rc) {
		xorb_error_prefix(err, "cannot issue credentials (run xorb-state apply first): ");
		goto out;
	}
	creds_path(c, name, path_out, path_len);
	{
		char pub[XORB_NKEY_PUBLIC_LEN + 1];

		xorb_nkey_public(acct, pub);
		creds_current(path_out, pub, perms, &seed, why, sizeof(why));
	}
	rc = write_creds(c, acct, name, perms, seed, path_out, err);
out:
	xorb_nkey_free(seed);
	xorb_nkey_free(acct);
	xorb_tenant_plan_release(&p);
	return rc;
}

/* ---- export ---- */

static void add_raw(cJSON *obj, const char *key, const char *raw, size_t len)
{
	char *copy = strndup(raw, len);

	if (copy) {
		cJSON_AddItemToObject(obj, key, cJSON_CreateRaw(copy));
		free(copy);
	}
}

/* Streams and consumers of the tenant in the account nc reaches: configs verbatim. */
static int export_streams(natsConnection *nc, const char *tenant, int timeout, cJSON *arr, struct xorb_error *err)
{
	char **names = NULL;
	size_t n = 0, i;
	int rc = xorb_js_stream_names(nc, timeout, &names, &n, err);

	for (i = 0; !rc && i < n; i++) {
		char subj[512], *raw = NULL, **cons = NULL;
		const char *span;
		size_t sl, nc2 = 0, k;
		cJSON *s, *carr;

		if (!xorb_stream_of_tenant(names[i], tenant))
			continue;
		snprintf(subj, sizeof(subj), "$JS.API.STREAM.INFO.%s", names[i]);
		rc = xorb_js_request(nc, subj, NULL, timeout, NULL, &raw, NULL, err);
		if (rc)
			break;
		s = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, s);
		if (!xorb_json_member_span(raw, strlen(raw), "config", &span, &sl))
			add_raw(s, "config", span, sl);
		free(raw);
		carr = cJSON_AddArrayToObject(s, "consumers");
		rc = xorb_js_consumer_names(nc, names[i], timeout, &cons, &nc2, err);
		for (k = 0; !rc && k < nc2; k++) {
			snprintf(subj, sizeof(subj), "$JS.API.CONSUMER.INFO.%s.%s", names[i], cons[k]);
			rc = xorb_js_request(nc, subj, NULL, timeout, NULL, &raw, NULL, err);
			if (!rc && !xorb_json_member_span(raw, strlen(raw), "config", &span, &sl)) {
				cJSON *co = cJSON_CreateObject();

				add_raw(co, "config", span, sl);
				cJSON_AddItemToArray(carr, co);
			}
			free(raw);
		}
		xorb_strv_free(cons, nc2);
	}
	xorb_strv_free(names, n);
	return rc;
}

static cJSON *account_doc(const char *pub, const char *jwt)
{
	cJSON *a = cJSON_CreateObject(), *claims = NULL;

	cJSON_AddStringToObject(a, "public_key", pub);
	cJSON_AddStringToObject(a, "jwt", jwt);
	if (xorb_jwt_decode(jwt, &claims, NULL) == XORB_OK)
		cJSON_AddItemToObject(a, "claims", claims);
	return a;
}

static cJSON *user_doc(const char *path)
{
	char *text = NULL, *jwt = NULL;
	struct xorb_nkey *seed = NULL;
	cJSON *u = NULL, *claims = NULL;
	size_t len = 0;

	if (xorb_read_file(path, XORB_CREDS_MAX, &text, &len, NULL))
		return NULL;
	if (!xorb_creds_parse(text, len, &jwt, &seed, NULL) && !xorb_jwt_decode(jwt, &claims, NULL)) {
		/* public claims only: never the seed */
		u = cJSON_CreateObject();
		cJSON_AddStringToObject(u, "name", xorb_json_str(claims, "name", ""));
		cJSON_AddStringToObject(u, "public_key", xorb_json_str(claims, "sub", ""));
		cJSON_AddStringToObject(u, "jwt", jwt);
		cJSON_AddItemToObject(u, "claims", claims);
		claims = NULL;
	}
	explicit_bzero(text, len);
	free(text);
	free(jwt);
	xorb_nkey_free(seed);
	cJSON_Delete(claims);
	return u;
}

static char **tenants_with_keys(const struct xorb_keys *k, size_t *n)
{
	char dir[4200], **v = NULL;
	size_t cap = 0;
	struct dirent *de;
	DIR *d;

	*n = 0;
	snprintf(dir, sizeof(dir), "%s/accounts", k->dir);
	d = opendir(dir);
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l < 4 || strcmp(de->d_name + l - 3, ".nk"))
			continue;
		if (*n == cap) {
			char **nv = realloc(v, (cap ? cap * 2 : 8) * sizeof(char *));

			if (!nv)
				break;
			v = nv;
			cap = cap ? cap * 2 : 8;
		}
		v[*n] = strndup(de->d_name, l - 3);
		if (v[*n] && !xorb_tenant_check(v[*n], NULL))
			(*n)++;
		else
			free(v[*n]);
	}
	closedir(d);
	return v;
}

int xorb_state_export(struct xorb_state_ctx *c, const char *const *tenants, size_t n, char **json,
		      struct xorb_error *err)
{
	char **found = NULL, when[32];
	size_t nf = 0, i;
	cJSON *root = cJSON_CreateObject(), *arr;
	struct xorb_buf b;
	int rc = XORB_OK;

	*json = NULL;
	if (!n) {
		found = tenants_with_keys(c->keys, &nf);
		tenants = (const char *const *)found;
		n = nf;
	}
	cJSON_AddStringToObject(root, "format", STATE_FORMAT);
	xorb_json_add_int(root, "format_version", STATE_VERSION);
	cJSON_AddStringToObject(root, "operator", c->keys->operator_pub);
	cJSON_AddStringToObject(root, "operator_signing_key", c->keys->signing_pub);
	xorb_time_rfc3339(time(NULL), when);
	cJSON_AddStringToObject(root, "exported", when);
	arr = cJSON_AddArrayToObject(root, "tenants");
	for (i = 0; i < n && !rc; i++) {
		struct xorb_nkey *acct = NULL;
		char pub[XORB_NKEY_PUBLIC_LEN + 1], *jwt = NULL, path[4400], user[160];
		natsConnection *nc = NULL;
		cJSON *t, *users, *u;
		int k;

		rc = xorb_keys_account(c->keys, tenants[i], 0, &acct, err);
		if (rc)
			break;
		xorb_nkey_public(acct, pub);
		xorb_nkey_free(acct);
		rc = xorb_sys_claims_lookup(c->sys, pub, &jwt, err);
		if (rc) {
			xorb_error_prefix(err, "tenant %s: ", tenants[i]);
			break;
		}
		t = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, t);
		cJSON_AddStringToObject(t, "tenant", tenants[i]);
		cJSON_AddItemToObject(t, "account", account_doc(pub, jwt));
		free(jwt);
		users = cJSON_AddArrayToObject(t, "users");
		for (k = 0; k < 2; k++) {
			snprintf(user, sizeof(user), "xorb-%s-%s", tenants[i], k ? "backup" : "user");
			creds_path(c, user, path, sizeof(path));
			if ((u = user_doc(path)))
				cJSON_AddItemToArray(users, u);
		}
		rc = xorb_state_account_connect(c, tenants[i], &nc, err);
		if (!rc)
			rc = export_streams(nc, tenants[i], c->timeout_ms, cJSON_AddArrayToObject(t, "streams"), err);
		xorb_nats_close(nc);
	}
	xorb_strv_free(found, nf);
	xorb_buf_init(&b);
	if (!rc && (xorb_json_print(root, &b) || xorb_buf_puts(&b, "\n")))
		rc = xorb_error_set(err, XORB_ENOMEM, "out of memory");
	cJSON_Delete(root);
	if (rc) {
		xorb_buf_release(&b);
		return rc;
	}
	*json = xorb_buf_detach(&b);
	return XORB_OK;
}

int xorb_state_export_account(natsConnection *sys, const char *tenant, char **json, struct xorb_error *err)
{
	char **accts = NULL, want[80], when[32];
	size_t na = 0, i;
	cJSON *root = NULL;
	struct xorb_buf b;
	int rc;

	*json = NULL;
	snprintf(want, sizeof(want), "xorb-%s", tenant);
	rc = xorb_sys_claims_list(sys, &accts, &na, err);
	if (rc)
		return rc;
	for (i = 0; i < na && !root; i++) {
		char *jwt = NULL;
		cJSON *claims = NULL;

		if (!xorb_sys_claims_lookup(sys, accts[i], &jwt, NULL) && !xorb_jwt_decode(jwt, &claims, NULL) &&
		    !strcmp(xorb_json_str(claims, "name", ""), want)) {
			cJSON *t, *arr;

			root = cJSON_CreateObject();
			cJSON_AddStringToObject(root, "format", STATE_FORMAT);
			xorb_json_add_int(root, "format_version", STATE_VERSION);
			cJSON_AddStringToObject(root, "operator", xorb_json_str(claims, "iss", ""));
			xorb_time_rfc3339(time(NULL), when);
			cJSON_AddStringToObject(root, "exported", when);
			arr = cJSON_AddArrayToObject(root, "tenants");
			t = cJSON_CreateObject();
			cJSON_AddItemToArray(arr, t);
			cJSON_AddStringToObject(t, "tenant", tenant);
			cJSON_AddItemToObject(t, "account", account_doc(accts[i], jwt));
		}
		cJSON_Delete(claims);
		free(jwt);
	}
	xorb_strv_free(accts, na);
	if (!root)
		return xorb_error_set(err, XORB_ENOTFOUND, "the server holds no account named %s", want);
	xorb_buf_init(&b);
	rc = xorb_json_print(root, &b) ? xorb_error_set(err, XORB_ENOMEM, "out of memory") : XORB_OK;
	cJSON_Delete(root);
	if (rc) {
		xorb_buf_release(&b);
		return rc;
	}
	*json = xorb_buf_detach(&b);
	return XORB_OK;
}

/* ---- import ---- */

static int create_from_state(struct xorb_state_ctx *c, natsConnection *nc, const cJSON *streams,
			     struct xorb_state_counts *n, struct xorb_error *err)
{
	const cJSON *s, *k;
	struct xorb_buf b;
	int rc = XORB_OK;

	xorb_buf_init(&b);
	cJSON_ArrayForEach(s, streams) {
		const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(s, "config");
		const char *name = xorb_json_str(cfg, "name", "");
		cJSON *info = NULL;

		if (!xorb_stream_name_valid(name)) {
			rc = xorb_error_set(err, XORB_ECORRUPT, "the state names an invalid stream \"%.100s\"", name);
			break;
		}
		if (xorb_js_stream_info(nc, name, c->timeout_ms, &info, NULL) == XORB_OK) {
			cJSON_Delete(info);
			n->unchanged++;
			say(c, XORB_NOTE_INFO, "= stream %s exists", name);
		} else {
			xorb_buf_reset(&b);
			xorb_json_print(cfg, &b);
			rc = js(nc, c->timeout_ms, b.data, NULL, err, "$JS.API.STREAM.CREATE.%s", name);
			if (rc)
				break;
			n->create++;
			say(c, XORB_NOTE_INFO, "+ stream %s (empty)", name);
		}
		cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(s, "consumers")) {
			const cJSON *kc = cJSON_GetObjectItemCaseSensitive(k, "config");
			const char *cn = xorb_json_str(kc, "durable_name", xorb_json_str(kc, "name", ""));
			cJSON *req;

			if (!*cn || strpbrk(cn, ".*> "))
				continue;
			if (js(nc, c->timeout_ms, NULL, &info, NULL, "$JS.API.CONSUMER.INFO.%s.%s", name, cn) == XORB_OK) {
				cJSON_Delete(info);
				continue;
			}
			req = cJSON_CreateObject();
			cJSON_AddStringToObject(req, "stream_name", name);
			cJSON_AddItemToObject(req, "config", cJSON_Duplicate(kc, 1));
			xorb_buf_reset(&b);
			xorb_json_print(req, &b);
			cJSON_Delete(req);
			rc = js(nc, c->timeout_ms, b.data, NULL, err, "$JS.API.CONSUMER.DURABLE.CREATE.%s.%s", name, cn);
			if (rc)
				break;
			n->create++;
			say(c, XORB_NOTE_INFO, "+ consumer %s on %s", cn, name);
		}
		if (rc)
			break;
	}
	xorb_buf_release(&b);
	return rc;
}

/* One tenant of a state file on its way to the server. */
struct import_item {
	const char *tenant, *pub;
	const cJSON *streams;
	char *jwt;     /* its claims, re-signed by this operator's signing key */
	bool has_key;  /* its account key is in the keys directory */
	bool present;  /* the server held the account before the push */
};

/* Appends more of what happened to the error message. */
__attribute__((format(printf, 2, 3))) static void error_append(struct xorb_error *err, const char *fmt, ...)
{
	size_t len;
	va_list ap;

	if (!err)
		return;
	len = strlen(err->msg);
	va_start(ap, fmt);
	vsnprintf(err->msg + len, sizeof(err->msg) - len, fmt, ap);
	va_end(ap);
}

enum { LIST_ALL, LIST_PUSHED, LIST_KEYED };

/* Appends the accounts of items [from, to) to the error message, "none"
 * when there is none: all of them; with what the push did to each; or only
 * those whose account key is here (the only ones we can look inside). */
static void append_accounts(struct xorb_error *err, const struct import_item *it, size_t from, size_t to, int how)
{
	size_t i, shown = 0;

	for (i = from; i < to; i++) {
		if (how == LIST_KEYED && !it[i].has_key)
			continue;
		error_append(err, "%sxorb-%s%s", shown++ ? ", " : "", it[i].tenant,
			     how != LIST_PUSHED ? "" : it[i].present ? " (pushed again)" : " (re-provisioned)");
	}
	if (!shown)
		error_append(err, "none");
}

/* Everything about items[i] that can be known before a push: the tenant
 * name, the account key (the file's, and the one in the keys directory when
 * there is one), the JWT, its issuer and subject, no tenant or account twice
 * in the file (items[0..i) are checked), and with streams their names. The
 * claims are re-signed here too: same key, same claims, a fresh iat (the
 * server ignores a byte-identical JWT pushed again after a delete). */
static int check_tenant(struct xorb_state_ctx *c, const cJSON *t, bool with_streams, struct import_item *items,
			size_t i, struct xorb_error *err)
{
	struct import_item *it = &items[i];
	const cJSON *acct = cJSON_GetObjectItemCaseSensitive(t, "account"), *s;
	struct xorb_error kerr = { 0, "" };
	struct xorb_nkey *key = NULL;
	cJSON *claims = NULL, *fresh;
	const char *iss;
	size_t k;
	int rc;

	it->tenant = xorb_json_str(t, "tenant", "");
	it->pub = xorb_json_str(acct, "public_key", "");
	it->streams = cJSON_GetObjectItemCaseSensitive(t, "streams");
	rc = xorb_tenant_check(it->tenant, err);
	if (!rc)
		rc = xorb_jwt_decode(xorb_json_str(acct, "jwt", ""), &claims, err);
	if (rc)
		return xorb_error_prefix(err, "the state's tenant \"%.80s\": ", it->tenant);
	for (k = 0; k < i && !rc; k++) {
		if (!strcmp(items[k].tenant, it->tenant))
			rc = xorb_error_set(err, XORB_ECORRUPT, "tenant %s: the state file lists it twice", it->tenant);
		else if (!strcmp(items[k].pub, it->pub))
			rc = xorb_error_set(err, XORB_ECORRUPT, "tenant %s: its account %s is tenant %s's too in the state file",
					    it->tenant, it->pub, items[k].tenant);
	}
	if (!rc && !xorb_nkey_public_valid(it->pub, XORB_NKEY_ACCOUNT))
		rc = xorb_error_set(err, XORB_ECORRUPT, "tenant %s: the state's account.public_key \"%.60s\" is not an account public key",
				    it->tenant, it->pub);
	/* trust: only an account of THIS operator may be pushed (the server
	 * would store another operator's JWT, answer 200, and then refuse
	 * every login) */
	iss = xorb_json_str(claims, "iss", "");
	if (!rc && strcmp(iss, c->keys->signing_pub) && strcmp(iss, c->keys->operator_pub))
		rc = xorb_error_set(err, XORB_EAUTH,
				    "tenant %s: the account JWT in the state was issued by %s, not by this operator (%s) or its signing key: refusing to push it",
				    it->tenant, *iss ? iss : "?", c->keys->operator_pub);
	if (!rc && strcmp(xorb_json_str(claims, "sub", ""), it->pub))
		rc = xorb_error_set(err, XORB_ECORRUPT, "tenant %s: the account JWT's subject is not %s", it->tenant, it->pub);
	if (!rc && strcmp(xorb_json_str(cJSON_GetObjectItemCaseSensitive(claims, "nats"), "type", ""), "account"))
		rc = xorb_error_set(err, XORB_ECORRUPT, "tenant %s: the state's JWT is not an account JWT (nats.type \"%.20s\")",
				    it->tenant, xorb_json_str(cJSON_GetObjectItemCaseSensitive(claims, "nats"), "type", ""));
	/* the account key here, when there is one, must be the file's */
	if (!rc) {
		rc = xorb_keys_account(c->keys, it->tenant, 0, &key, &kerr);
		if (rc == XORB_ENOTFOUND) {
			rc = XORB_OK;
		} else if (rc) {
			if (err)
				*err = kerr;
			xorb_error_prefix(err, "tenant %s: ", it->tenant);
		} else {
			char kp[XORB_NKEY_PUBLIC_LEN + 1];

			xorb_nkey_public(key, kp);
			xorb_nkey_free(key);
			it->has_key = true;
			if (strcmp(kp, it->pub))
				rc = xorb_error_set(err, XORB_ECORRUPT, "tenant %s: the account key in %s/accounts is %s, the state says %s",
						    it->tenant, c->keys->dir, kp, it->pub);
		}
	}
	if (!rc) {
		fresh = cJSON_Duplicate(claims, 1);
		cJSON_DeleteItemFromObjectCaseSensitive(fresh, "iat");
		cJSON_DeleteItemFromObjectCaseSensitive(fresh, "jti");
		cJSON_DeleteItemFromObjectCaseSensitive(fresh, "iss");
		rc = fresh ? xorb_jwt_encode(fresh, c->keys->signing, (int64_t)time(NULL), &it->jwt, err) :
			     xorb_error_set(err, XORB_ENOMEM, "out of memory");
		cJSON_Delete(fresh);
		if (rc)
			xorb_error_prefix(err, "tenant %s: signing the account JWT again: ", it->tenant);
	}
	cJSON_Delete(claims);
	if (rc || !with_streams)
		return rc;
	if (it->streams && !cJSON_IsArray(it->streams))
		return xorb_error_set(err, XORB_ECORRUPT, "tenant %s: the state's \"streams\" is not an array", it->tenant);
	cJSON_ArrayForEach(s, it->streams) {
		const char *name = xorb_json_str(cJSON_GetObjectItemCaseSensitive(s, "config"), "name", "");

		if (!xorb_stream_name_valid(name))
			return xorb_error_set(err, XORB_ECORRUPT, "tenant %s: the state names an invalid stream \"%.100s\"",
					      it->tenant, name);
	}
	return XORB_OK;
}

/* "Existing credentials work again": the tenant's creds files in the creds
 * directory are tried, each until it logs in (5 s). Besides proving what
 * import prints, this lets the server finish (re)loading the account for
 * its users: nats-server 2.9.10 refused the backup user's first login when
 * xorb-restore ran the moment the import returned (memcheck/test_state in
 * CI, 2026-12-06), as it refuses the administrator's now and then (see
 * xorb_state_account_connect). A file that is still refused is a warning:
 * the account was pushed, its users may need `xorb-state creds`. */
static void creds_log_in(struct xorb_state_ctx *c, const char *tenant)
{
	static const char *const suffix[] = { "user", "backup" };
	size_t i;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		struct xorb_error e = { 0, "" };
		struct xorb_conn_opts o;
		natsConnection *nc = NULL;
		char name[200], path[4200];

		snprintf(name, sizeof(name), "xorb-%s-%s", tenant, suffix[i]);
		creds_path(c, name, path, sizeof(path));
		if (access(path, R_OK))
			continue;
		conn_opts(c, &o);
		o.creds = path;
		if (xorb_nats_connect_retry_auth(&o, 5000, &nc, &e))
			say(c, XORB_NOTE_WARN, "tenant %s: %s does not log in after the import: %s (xorb-state creds %s writes it again)",
			    tenant, path, e.msg, tenant);
		xorb_nats_close(nc);
	}
}

/* Inside a pushed account, when its key is here: what the server kept, and
 * with_streams the streams and consumers of the state that are missing. */
static int import_streams(struct xorb_state_ctx *c, const struct import_item *it, bool with_streams,
			  struct xorb_state_counts *n, struct xorb_error *err)
{
	natsConnection *nc = NULL;
	char **names = NULL;
	size_t nn = 0, i, kept = 0;
	int rc = XORB_OK;

	if (!it->has_key) {
		say(c, XORB_NOTE_WARN, "tenant %s: no account key in %s/accounts: cannot check or create streams", it->tenant,
		    c->keys->dir);
		return XORB_OK;
	}
	for (i = 0; i < 20; i++) {
		rc = xorb_state_account_connect(c, it->tenant, &nc, err);
		if (!rc && !(rc = xorb_js_stream_names(nc, c->timeout_ms, &names, &nn, err)))
			break;
		xorb_nats_close(nc);
		nc = NULL;
		nanosleep(&(struct timespec){ 0, 200 * 1000 * 1000 }, NULL);
	}
	if (rc)
		return xorb_error_prefix(err, "tenant %s: ", it->tenant);
	for (i = 0; i < nn; i++)
		kept += xorb_stream_of_tenant(names[i], it->tenant);
	xorb_strv_free(names, nn);
	if (kept && !it->present)
		say(c, XORB_NOTE_INFO, "  tenant %s: the server kept the account's JetStream data: %zu streams re-attached "
		    "(restore only what is missing; xorb-restore refuses existing streams)", it->tenant, kept);
	creds_log_in(c, it->tenant);
	if (with_streams)
		rc = create_from_state(c, nc, it->streams, n, err);
	xorb_nats_close(nc);
	if (rc)
		xorb_error_prefix(err, "tenant %s: ", it->tenant);
	return rc;
}

/*
 * All or nothing for the accounts: every tenant of the file is checked and
 * re-signed (check_tenant) before the first push, so a bad account anywhere
 * in the file leaves the server as it was. Then every account is pushed,
 * then each one is looked inside (import_streams). A failure after the
 * first push says which accounts were pushed and which were not.
 */
int xorb_state_import(struct xorb_state_ctx *c, const char *json, size_t len, bool with_streams,
		      struct xorb_state_counts *n, struct xorb_error *err)
{
	const cJSON *tenants, *t;
	struct import_item *items = NULL;
	cJSON *root = NULL;
	size_t nt = 0, i;
	int rc;

	memset(n, 0, sizeof(*n));
	rc = xorb_json_parse_strict(json, len, "the state file", &root, err);
	if (rc)
		return rc;
	if (strcmp(xorb_json_str(root, "format", ""), STATE_FORMAT) || xorb_json_int(root, "format_version", 0) != STATE_VERSION) {
		cJSON_Delete(root);
		return xorb_error_set(err, XORB_ECORRUPT, "the state file is not an xorb-state version %d document", STATE_VERSION);
	}
	tenants = cJSON_GetObjectItemCaseSensitive(root, "tenants");
	if (!cJSON_IsArray(tenants)) {
		cJSON_Delete(root);
		return xorb_error_set(err, XORB_ECORRUPT, "the state file has no \"tenants\" array");
	}
	items = calloc((size_t)cJSON_GetArraySize(tenants) + 1, sizeof(*items));
	if (!items) {
		cJSON_Delete(root);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	/* 1. every account is checked before the first push */
	cJSON_ArrayForEach(t, tenants) {
		rc = check_tenant(c, t, with_streams, items, nt, err);
		nt++;
		if (rc) {
			error_append(err, "; nothing was pushed (every account of the state file is checked before the first push)");
			goto out;
		}
	}
	/* 2. every account is pushed */
	for (i = 0; i < nt; i++) {
		char *had = NULL;

		items[i].present = xorb_sys_claims_lookup(c->sys, items[i].pub, &had, NULL) == XORB_OK;
		free(had);
		rc = xorb_sys_claims_update(c->sys, items[i].pub, items[i].jwt, NULL, err);
		if (rc) {
			xorb_error_prefix(err, "tenant %s: ", items[i].tenant);
			error_append(err, "; pushed: ");
			append_accounts(err, items, 0, i, LIST_PUSHED);
			error_append(err, "; not pushed: ");
			append_accounts(err, items, i, nt, LIST_ALL);
			error_append(err, ": import the same file again once the cause is fixed (it pushes every account again)");
			goto out;
		}
		if (items[i].present) {
			n->unchanged++;
			say(c, XORB_NOTE_INFO, "= account xorb-%s (%s) was on the server: its JWT was pushed again", items[i].tenant,
			    items[i].pub);
		} else {
			n->create++;
			say(c, XORB_NOTE_INFO, "+ account xorb-%s (%s) re-provisioned with its own key: existing credentials work again",
			    items[i].tenant, items[i].pub);
		}
	}
	/* 3. inside the accounts (with the account key we can; without it we cannot) */
	for (i = 0; i < nt; i++) {
		rc = import_streams(c, &items[i], with_streams, n, err);
		if (rc) {
			error_append(err, "; all %zu accounts of the state file were pushed; streams %s for: ", nt,
				     with_streams ? "checked and created" : "checked");
			append_accounts(err, items, 0, i, LIST_KEYED);
			error_append(err, "; not for: ");
			append_accounts(err, items, i, nt, LIST_KEYED);
			goto out;
		}
	}
out:
	for (i = 0; i < nt; i++)
		free(items[i].jwt);
	free(items);
	cJSON_Delete(root);
	return rc;
}

/* ---- destroy ---- */

int xorb_state_destroy(struct xorb_state_ctx *c, const char *const *tenants, size_t n, bool keep_streams,
		       struct xorb_state_counts *counts, struct xorb_error *err)
{
	size_t i;
	int rc = XORB_OK;

	memset(counts, 0, sizeof(*counts));
	for (i = 0; i < n && !rc; i++) {
		struct xorb_nkey *acct = NULL;
		char pub[XORB_NKEY_PUBLIC_LEN + 1], *jwt = NULL, **names = NULL;
		const char *list[1];
		natsConnection *nc = NULL;
		size_t nn = 0, k;

		rc = xorb_keys_account(c->keys, tenants[i], 0, &acct, err);
		if (rc)
			break;
		xorb_nkey_public(acct, pub);
		xorb_nkey_free(acct);
		if (xorb_sys_claims_lookup(c->sys, pub, &jwt, NULL) == XORB_ENOTFOUND) {
			say(c, XORB_NOTE_INFO, "= account xorb-%s is not on the server", tenants[i]);
			counts->unchanged++;
			continue;
		}
		free(jwt);
		jwt = NULL;
		if (!keep_streams) {
			rc = xorb_state_account_connect(c, tenants[i], &nc, err);
			if (!rc)
				rc = xorb_js_stream_names(nc, c->timeout_ms, &names, &nn, err);
			for (k = 0; !rc && k < nn; k++) {
				if (!xorb_stream_of_tenant(names[k], tenants[i]))
					continue;
				rc = xorb_js_stream_delete(nc, names[k], c->timeout_ms, err);
				if (!rc) {
					counts->remove++;
					say(c, XORB_NOTE_INFO, "- stream %s", names[k]);
				}
			}
			xorb_strv_free(names, nn);
			xorb_nats_close(nc);
			if (rc)
				break;
		}
		list[0] = pub;
		rc = xorb_keys_delete_jwt(c->keys, list, 1, &jwt, err);
		if (!rc)
			rc = xorb_sys_claims_delete(c->sys, jwt, NULL, err);
		free(jwt);
		if (!rc) {
			counts->remove++;
			say(c, XORB_NOTE_INFO, "- account xorb-%s (%s)%s; its key stays in %s/accounts for xorb-state import",
			    tenants[i], pub, keep_streams ? ", streams kept on the server" : "", c->keys->dir);
		}
	}
	return rc;
}

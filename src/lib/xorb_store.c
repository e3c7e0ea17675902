/*
 * Host side of the storage ABI: picks the backend for a URL, checks its
 * table, and turns backend statuses into messages naming store and key.
 */
#include "xorb_store.h"

#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "xorb_buf.h"
#include "xorb_url.h"

struct xorb_store {
	const struct xorb_storage_ops *ops;
	void *handle; /* dlopen handle of the plugin */
	void *ctx;
	char *url; /* for messages: credentials masked (xorb_url.h) */
};

struct xorb_store_writer {
	struct xorb_store *s;
	void *w;
	char *key;
};

struct xorb_store_reader {
	struct xorb_store *s;
	void *r;
	char *key;
};

static const char *backend_error(struct xorb_store *s)
{
	const char *m = s->ops->last_error && s->ctx ? s->ops->last_error(s->ctx) : NULL;

	return m && *m ? m : "no detail given by the storage backend";
}

/* The table of ABI 1.0 ends with remove: every 1.x table is at least this
 * long; members after it are present when struct_size covers them. */
#define OPS_SIZE_1_0 offsetof(struct xorb_storage_ops, list_unfinished)
#define OPS_END(member) (offsetof(struct xorb_storage_ops, member) + sizeof(((struct xorb_storage_ops *)0)->member))
#define OPS_HAS_SINCE(ops, minor, member) \
	((ops)->abi_minor >= (minor) && (ops)->struct_size >= OPS_END(member) && (ops)->member != NULL)
#define OPS_HAS(ops, member) OPS_HAS_SINCE(ops, 1, member)

static int ops_check(const struct xorb_storage_ops *ops, const char *name, struct xorb_error *err)
{
	if (!ops)
		return xorb_error_set(err, XORB_EUNSUPPORTED, "storage backend \"%s\" returned no table", name);
	if (ops->abi_major != XORB_STORAGE_ABI_MAJOR)
		return xorb_error_set(err, XORB_EUNSUPPORTED,
				      "storage backend \"%s\" has ABI %u.%u, this program needs %u.x: install matching plugins",
				      name, ops->abi_major, ops->abi_minor, XORB_STORAGE_ABI_MAJOR);
	if (ops->struct_size < OPS_SIZE_1_0 || !ops->open || !ops->close ||
	    !ops->put_begin || !ops->put_write || !ops->put_commit || !ops->put_abort ||
	    !ops->get_open || !ops->get_read || !ops->get_close || !ops->list || !ops->remove)
		return xorb_error_set(err, XORB_EUNSUPPORTED,
				      "storage backend \"%s\" lacks required entry points", name);
	return XORB_OK;
}

/* Where the installed programs find the plugins, relative to their own
 * directory (CMake computes it from the install layout: "../lib/xorb-dr/plugins",
 * "../lib/x86_64-linux-gnu/xorb-dr/plugins" with Debian's multiarch libdir),
 * and the same directory as an absolute path under the configured prefix. */
#ifndef XORB_PLUGIN_RELDIR
#define XORB_PLUGIN_RELDIR "../lib/xorb-dr/plugins"
#endif
#ifndef XORB_PLUGIN_INSTALL_DIR
#define XORB_PLUGIN_INSTALL_DIR ""
#endif

#define PLUGIN_CANDIDATES 4

/* Appends dir to cand[*nc] unless it is already there. A leading "../" of
 * rel drops a component of base: /proc/self/exe is canonical, so this
 * lexical step is exact. */
static void add_candidate(char cand[][PATH_MAX], size_t *nc, const char *base, const char *rel)
{
	char dir[PATH_MAX];
	size_t i, n;
	char *slash;

	if (*nc >= PLUGIN_CANDIDATES || !rel || !*rel)
		return;
	if (!base || rel[0] == '/') {
		snprintf(dir, sizeof(dir), "%s", rel);
	} else {
		snprintf(dir, sizeof(dir), "%s", base);
		while (!strncmp(rel, "../", 3) && (slash = strrchr(dir, '/'))) {
			*slash = '\0';
			rel += 3;
		}
		n = strlen(dir);
		snprintf(dir + n, sizeof(dir) - n, "/%s", rel);
	}
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	for (i = 0; i < *nc; i++)
		if (!strcmp(cand[i], dir))
			return;
	snprintf(cand[(*nc)++], PATH_MAX, "%s", dir);
}

/* Where plugins are looked for: $XORB_PLUGIN_DIR alone when set. Else, in
 * this order: next to the program (the build tree: <bin>/plugins); the
 * installed tree relative to the program (<bin>/XORB_PLUGIN_RELDIR, so a
 * tree installed with any prefix, staged with DESTDIR or unpacked with
 * dpkg-deb -x finds its own plugins); <bin>/../lib/xorb-dr/plugins (the
 * layout without a multiarch libdir); the compiled-in install directory
 * (a program copied elsewhere). The number of directories; 0 when there
 * are none to look in. */
static size_t plugin_dirs(char cand[PLUGIN_CANDIDATES][PATH_MAX])
{
	const char *env = getenv("XORB_PLUGIN_DIR");
	char exe[PATH_MAX];
	ssize_t n;
	size_t nc = 0;
	char *slash;

	if (env && *env) {
		add_candidate(cand, &nc, NULL, env);
		return nc;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		add_candidate(cand, &nc, exe, "plugins");
		add_candidate(cand, &nc, exe, XORB_PLUGIN_RELDIR);
		add_candidate(cand, &nc, exe, "../lib/xorb-dr/plugins");
	}
	if (XORB_PLUGIN_INSTALL_DIR[0] == '/')
		add_candidate(cand, &nc, NULL, XORB_PLUGIN_INSTALL_DIR);
	return nc;
}

/* The first of plugin_dirs() that has xorb-storage-<scheme>.so; tried gets
 * every path looked at. */
static int plugin_path(const char *scheme, char *out, size_t len, char *tried, size_t tlen)
{
	char cand[PLUGIN_CANDIDATES][PATH_MAX], path[PATH_MAX + 64];
	size_t i, nc = plugin_dirs(cand);

	tried[0] = '\0';
	if (nc == 0) {
		snprintf(tried, tlen, "nothing: /proc/self/exe is unreadable and no install directory is compiled in");
		return -1;
	}
	for (i = 0; i < nc; i++) {
		snprintf(path, sizeof(path), "%s/xorb-storage-%s.so", cand[i], scheme);
		if (access(path, R_OK) == 0) {
			snprintf(out, len, "%s", path);
			return 0;
		}
		snprintf(tried + strlen(tried), tlen - strlen(tried), "%s%s", i ? ", " : "", path);
	}
	return -1;
}

static int load_backend(const char *scheme, void **handle, const struct xorb_storage_ops **ops,
			struct xorb_error *err)
{
	char path[PATH_MAX + 64], tried[PLUGIN_CANDIDATES * (PATH_MAX + 66)];
	xorb_storage_entry_fn entry;
	void *h;
	int rc;

	*handle = NULL;
	*ops = NULL;
	if (plugin_path(scheme, path, sizeof(path), tried, sizeof(tried)))
		return xorb_error_set(err, XORB_EUNSUPPORTED,
				      "no storage plugin for \"%s://\" (looked for %s; set XORB_PLUGIN_DIR to the directory of xorb-storage-%s.so)",
				      scheme, tried, scheme);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return xorb_error_set(err, XORB_EUNSUPPORTED, "cannot load storage plugin %s: %s", path, dlerror());
	entry = (xorb_storage_entry_fn)dlsym(h, XORB_STORAGE_ENTRY);
	if (!entry) {
		dlclose(h);
		return xorb_error_set(err, XORB_EUNSUPPORTED,
				      "storage plugin %s lacks the entry point %s(): not an xorb-dr plugin",
				      path, XORB_STORAGE_ENTRY);
	}
	*ops = entry();
	rc = ops_check(*ops, path, err);
	if (!rc && (!(*ops)->scheme || strcmp((*ops)->scheme, scheme)))
		rc = xorb_error_set(err, XORB_EUNSUPPORTED, "storage plugin %s serves \"%s\", not \"%s\"",
				    path, (*ops)->scheme ? (*ops)->scheme : "?", scheme);
	if (rc) {
		dlclose(h);
		*ops = NULL;
		return rc;
	}
	*handle = h;
	return XORB_OK;
}

int xorb_store_open(const char *url, struct xorb_store **out, struct xorb_error *err)
{
	return xorb_store_open_with(url, NULL, out, err);
}

int xorb_store_open_with(const char *url, const struct xorb_param *params,
			 struct xorb_store **out, struct xorb_error *err)
{
	const struct xorb_storage_ops *ops;
	const char *colon;
	char scheme[16];
	struct xorb_store *s;
	void *handle;
	int rc;

	*out = NULL;
	if (!url || !*url)
		return xorb_error_set(err, XORB_EINVAL, "the store URL is empty");
	colon = strstr(url, "://");
	if (!colon) {
		/* "s3:/bucket", "file:/x": a mistyped URL, not a directory to create */
		const char *c1 = strchr(url, ':'), *s1 = strchr(url, '/');

		if (c1 && (!s1 || c1 < s1))
			return xorb_error_set(err, XORB_EINVAL,
					      "store \"%s\": \"%.*s:\" is not followed by \"//\": write a URL as s3://bucket/prefix or file:///absolute/path (a local directory whose name holds a colon: ./%s)",
					      xorb_url_shown(url, false), (int)(c1 - url), url, xorb_url_shown(url, false));
		snprintf(scheme, sizeof(scheme), "file");
	}
	else if ((size_t)(colon - url) >= sizeof(scheme) || colon == url)
		return xorb_error_set(err, XORB_EINVAL, "store \"%s\": unknown URL scheme", xorb_url_shown(url, false));
	else
		snprintf(scheme, sizeof(scheme), "%.*s", (int)(colon - url), url);
	for (rc = 0; scheme[rc]; rc++)
		if (!((scheme[rc] >= 'a' && scheme[rc] <= 'z') || (scheme[rc] >= '0' && scheme[rc] <= '9')))
			return xorb_error_set(err, XORB_EINVAL, "store \"%s\": unknown URL scheme",
					      xorb_url_shown(url, false));
	rc = load_backend(scheme, &handle, &ops, err);
	if (rc)
		return rc;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->url = strdup(xorb_url_shown(url, false)))) {
		free(s);
		dlclose(handle);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory opening store");
	}
	s->ops = ops;
	s->handle = handle;
	rc = ops->open(&s->ctx, url, params);
	if (rc) {
		xorb_error_set(err, rc, "store \"%s\": %s", s->url, backend_error(s));
		xorb_store_free(s);
		return rc;
	}
	*out = s;
	return XORB_OK;
}

void xorb_store_free(struct xorb_store *s)
{
	if (!s)
		return;
	if (s->ctx)
		s->ops->close(s->ctx);
	if (s->handle)
		dlclose(s->handle);
	free(s->url);
	free(s);
}

const char *xorb_store_url(const struct xorb_store *s)
{
	return s->url;
}

int xorb_store_put_begin(struct xorb_store *s, const char *key, struct xorb_store_writer **out,
			 struct xorb_error *err)
{
	struct xorb_store_writer *w = calloc(1, sizeof(*w));
	int rc;

	*out = NULL;
	if (!w || !(w->key = strdup(key))) {
		free(w);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	w->s = s;
	rc = s->ops->put_begin(s->ctx, key, &w->w);
	if (rc) {
		xorb_error_set(err, rc, "cannot create \"%s\" in store \"%s\": %s", key, s->url,
			       backend_error(s));
		free(w->key);
		free(w);
		return rc;
	}
	*out = w;
	return XORB_OK;
}

int xorb_store_put_write(struct xorb_store_writer *w, const void *data, size_t len,
			 struct xorb_error *err)
{
	int rc = w->s->ops->put_write(w->w, data, len);

	if (rc)
		return xorb_error_set(err, rc, "cannot write \"%s\" to store \"%s\": %s", w->key,
				      w->s->url, backend_error(w->s));
	return XORB_OK;
}

int xorb_store_put_commit(struct xorb_store_writer *w, struct xorb_error *err)
{
	int rc = w->s->ops->put_commit(w->w);

	if (rc)
		xorb_error_set(err, rc, "cannot complete \"%s\" in store \"%s\": %s", w->key,
			       w->s->url, backend_error(w->s));
	free(w->key);
	free(w);
	return rc;
}

void xorb_store_put_abort(struct xorb_store_writer *w)
{
	if (!w)
		return;
	w->s->ops->put_abort(w->w);
	free(w->key);
	free(w);
}

int xorb_store_put_all(struct xorb_store *s, const char *key, const void *data, size_t len,
		       struct xorb_error *err)
{
	struct xorb_store_writer *w;
	int rc = xorb_store_put_begin(s, key, &w, err);

	if (rc)
		return rc;
	rc = xorb_store_put_write(w, data, len, err);
	if (rc) {
		xorb_store_put_abort(w);
		return rc;
	}
	return xorb_store_put_commit(w, err);
}

int xorb_store_get_open(struct xorb_store *s, const char *key, struct xorb_store_reader **out,
			struct xorb_error *err)
{
	struct xorb_store_reader *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (!r || !(r->key = strdup(key))) {
		free(r);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	r->s = s;
	rc = s->ops->get_open(s->ctx, key, &r->r);
	if (rc) {
		if (rc == XORB_ENOTFOUND)
			xorb_error_set(err, rc, "\"%s\" does not exist in store \"%s\"", key, s->url);
		else
			xorb_error_set(err, rc, "cannot open \"%s\" in store \"%s\": %s", key,
				       s->url, backend_error(s));
		free(r->key);
		free(r);
		return rc;
	}
	*out = r;
	return XORB_OK;
}

int xorb_store_get_read(struct xorb_store_reader *r, void *buf, size_t len, size_t *got,
			struct xorb_error *err)
{
	int rc = r->s->ops->get_read(r->r, buf, len, got);

	if (rc)
		return xorb_error_set(err, rc, "cannot read \"%s\" from store \"%s\": %s", r->key,
				      r->s->url, backend_error(r->s));
	return XORB_OK;
}

void xorb_store_get_close(struct xorb_store_reader *r)
{
	if (!r)
		return;
	r->s->ops->get_close(r->r);
	free(r->key);
	free(r);
}

int xorb_store_get_all(struct xorb_store *s, const char *key, size_t max, char **data,
		       size_t *len, struct xorb_error *err)
{
	struct xorb_store_reader *r;
	struct xorb_buf b;
	size_t got;
	int rc;

	*data = NULL;
	*len = 0;
	rc = xorb_store_get_open(s, key, &r, err);
	if (rc)
		return rc;
	xorb_buf_init(&b);
	for (;;) {
		if (xorb_buf_reserve(&b, 65536)) {
			rc = xorb_error_set(err, XORB_ENOMEM, "out of memory reading \"%s\"", key);
			break;
		}
		rc = xorb_store_get_read(r, b.data + b.len, 65536, &got, err);
		if (rc || !got)
			break;
		b.len += got;
		b.data[b.len] = '\0';
		if (b.len > max) {
			rc = xorb_error_set(err, XORB_ECORRUPT,
					    "\"%s\" in store \"%s\" is larger than the %zu-byte limit",
					    key, s->url, max);
			break;
		}
	}
	xorb_store_get_close(r);
	if (rc) {
		xorb_buf_release(&b);
		return rc;
	}
	*len = b.len;
	*data = xorb_buf_detach(&b);
	return *data ? XORB_OK : xorb_error_set(err, XORB_ENOMEM, "out of memory");
}

int xorb_store_list(struct xorb_store *s, const char *prefix, xorb_storage_list_fn fn,
		    void *arg, struct xorb_error *err)
{
	int rc = s->ops->list(s->ctx, prefix, fn, arg);

	if (rc && rc != XORB_ENOTFOUND)
		return xorb_error_set(err, rc, "cannot list \"%s\" in store \"%s\": %s", prefix,
				      s->url, backend_error(s));
	return XORB_OK;
}

int xorb_store_remove(struct xorb_store *s, const char *key, struct xorb_error *err)
{
	int rc = s->ops->remove(s->ctx, key);

	if (rc)
		return xorb_error_set(err, rc, "cannot remove \"%s\" from store \"%s\": %s", key,
				      s->url, backend_error(s));
	return XORB_OK;
}

/* Unfinished puts came with ABI 1.1: an older plugin cannot report them. */
static int unfinished_unsupported(struct xorb_store *s, struct xorb_error *err)
{
	return xorb_error_set(err, XORB_EUNSUPPORTED,
			      "store \"%s\": its \"%s\" storage plugin (ABI %u.%u) cannot report unfinished uploads (ABI 1.1 can): install the plugins of this version",
			      s->url, s->ops->scheme, s->ops->abi_major, s->ops->abi_minor);
}

int xorb_store_list_unfinished(struct xorb_store *s, const char *prefix,
			       xorb_storage_unfinished_fn fn, void *arg, struct xorb_error *err)
{
	int rc;

	if (!OPS_HAS(s->ops, list_unfinished) || !OPS_HAS(s->ops, remove_unfinished))
		return unfinished_unsupported(s, err);
	rc = s->ops->list_unfinished(s->ctx, prefix, fn, arg);
	if (rc && rc != XORB_ENOTFOUND)
		return xorb_error_set(err, rc, "cannot list the unfinished uploads of \"%s\" in store \"%s\": %s",
				      prefix, s->url, backend_error(s));
	return XORB_OK;
}

int xorb_store_remove_unfinished(struct xorb_store *s, const char *key, const char *id,
				 struct xorb_error *err)
{
	int rc;

	if (!OPS_HAS(s->ops, remove_unfinished))
		return unfinished_unsupported(s, err);
	rc = s->ops->remove_unfinished(s->ctx, key, id);
	if (rc)
		return xorb_error_set(err, rc, "cannot remove the unfinished upload \"%s\" of \"%s\" from store \"%s\": %s",
				      id, key, s->url, backend_error(s));
	return XORB_OK;
}

/* ---- the options plugins declare ---- */

#define MAX_PLUGINS 16
#define MAX_PLUGIN_OPTIONS 64

static int scheme_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Each option's name starts with its plugin's scheme and '-', then
 * [a-z0-9-]; the types are known; a value's name for every type but FLAG. */
static int option_ok(const struct xorb_storage_option *o, const char *scheme)
{
	size_t sl = strlen(scheme);
	const char *p;

	if (strncmp(o->name, scheme, sl) || o->name[sl] != '-' || !o->name[sl + 1] || strlen(o->name) > 40 ||
	    !o->help || o->type < XORB_SOPT_FLAG || o->type > XORB_SOPT_SIZE ||
	    (o->type != XORB_SOPT_FLAG && !o->value_name) ||
	    ((o->type == XORB_SOPT_COUNT || o->type == XORB_SOPT_SIZE) && o->min > o->max))
		return 0;
	for (p = o->name + sl + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return 0;
	return 1;
}

size_t xorb_store_plugin_options(const struct xorb_storage_option **out, const char **titles, size_t max)
{
	static const struct xorb_storage_option *found[MAX_PLUGIN_OPTIONS];
	static const char *found_title[MAX_PLUGIN_OPTIONS];
	static size_t n_found;
	static int done;
	char cand[PLUGIN_CANDIDATES][PATH_MAX], schemes[MAX_PLUGINS][32];
	size_t nc, i, ns = 0, k;

	if (!done) {
		done = 1;
		nc = plugin_dirs(cand);
		/* the schemes of the first directory that has plugins: where
		 * load_backend finds them too, in the usual layouts */
		for (i = 0; i < nc && !ns; i++) {
			DIR *d = opendir(cand[i]);
			struct dirent *e;

			while (d && (e = readdir(d)) && ns < MAX_PLUGINS) {
				size_t l = strlen(e->d_name);

				if (l > 16 && l - 16 < sizeof(schemes[0]) && !strncmp(e->d_name, "xorb-storage-", 13) &&
				    !strcmp(e->d_name + l - 3, ".so"))
					snprintf(schemes[ns++], sizeof(schemes[0]), "%.*s", (int)(l - 16), e->d_name + 13);
			}
			if (d)
				closedir(d);
		}
		qsort(schemes, ns, sizeof(schemes[0]), scheme_cmp);
		for (i = 0; i < ns; i++) {
			const struct xorb_storage_ops *ops = NULL;
			const struct xorb_storage_option *o;
			void *h = NULL;

			/* one that does not load is left out here: opening a
			 * store of its scheme says why */
			if (load_backend(schemes[i], &h, &ops, NULL))
				continue;
			if (!OPS_HAS_SINCE(ops, 2, options)) {
				dlclose(h);
				continue;
			}
			/* kept loaded: the table is the plugin's */
			for (o = ops->options; o->name && n_found < MAX_PLUGIN_OPTIONS; o++)
				if (option_ok(o, schemes[i])) {
					found_title[n_found] = OPS_HAS_SINCE(ops, 2, options_title) ? ops->options_title : NULL;
					found[n_found++] = o;
				}
		}
	}
	for (k = 0; k < n_found && k < max; k++) {
		if (out)
			out[k] = found[k];
		if (titles)
			titles[k] = found_title[k];
	}
	return n_found;
}

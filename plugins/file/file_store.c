/*
 * The "file" storage backend: a backup store in a local directory.
 *
 * Objects are files under the root named by their key. A put writes to a
 * hidden temporary file in the target directory (".<name>.tmp-XXXXXX", mode
 * 0600), and commit fsyncs it, renames it into place and fsyncs the directory,
 * so a crash never leaves a partial object under its real name. Listing skips
 * hidden files, so an interrupted put is invisible; list_unfinished reports
 * exactly those temporary files (by the name put_begin gives them, nothing
 * else that is hidden), and remove_unfinished unlinks one of them only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xorb_error.h"
#include "xorb_storage_abi.h"

struct fctx {
	char root[PATH_MAX];
	char err[1024];
};

struct fwriter {
	struct fctx *c;
	int fd;
	char tmp[PATH_MAX];
	char final[PATH_MAX];
};

struct freader {
	struct fctx *c;
	int fd;
	char path[PATH_MAX];
};

__attribute__((format(printf, 3, 4))) static int fail(struct fctx *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return code;
}

static int errno_code(int e)
{
	return e == ENOENT ? XORB_ENOTFOUND : e == EEXIST ? XORB_EEXIST : XORB_EIO;
}

static const char *errno_hint(int e)
{
	switch (e) {
	case ENOSPC: return " (free space on the store's file system, or prune old backups)";
	case EACCES:
	case EPERM: return " (check the permissions of the store directory)";
	case EROFS: return " (the store's file system is mounted read-only)";
	default: return "";
	}
}

/* Keys are relative, '/'-separated, without empty, "." or ".." components,
 * and without hidden components (those are the backend's temporary files). */
static int key_path(struct fctx *c, const char *key, char *out, size_t outlen)
{
	const char *p = key;

	if (!*key || *key == '/')
		return fail(c, XORB_EINVAL, "invalid key \"%s\"", key);
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 0 || p[0] == '.')
			return fail(c, XORB_EINVAL, "invalid key \"%s\"", key);
		p += n + (e ? 1 : 0);
		if (e && !*p)
			return fail(c, XORB_EINVAL, "invalid key \"%s\"", key);
	}
	if ((size_t)snprintf(out, outlen, "%s/%s", c->root, key) >= outlen)
		return fail(c, XORB_EINVAL, "key \"%s\" is too long", key);
	return XORB_OK;
}

static int mkdirs(struct fctx *c, char *path, size_t upto)
{
	size_t i;

	for (i = 1; i <= upto; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		char save = path[i];

		path[i] = '\0';
		if (mkdir(path, 0700) && errno != EEXIST) {
			int e = errno;

			fail(c, errno_code(e), "cannot create directory \"%s\": %s%s", path,
			     strerror(e), errno_hint(e));
			path[i] = save;
			return errno_code(e);
		}
		path[i] = save;
	}
	return XORB_OK;
}

static int f_open(void **ctx, const char *url, const struct xorb_param *params)
{
	struct fctx *c = calloc(1, sizeof(*c));
	const char *path = url;
	char tmp[PATH_MAX];
	size_t n;
	int rc;

	*ctx = c;
	if (!c)
		return XORB_ENOMEM;
	if (!strncmp(url, "file://", 7)) {
		path = url + 7;
		if (*path != '/')
			return fail(c, XORB_EINVAL, "a file:// URL needs an absolute path (file:///var/backups)");
	}
	if (*path == '/') {
		n = (size_t)snprintf(c->root, sizeof(c->root), "%s", path);
	} else {
		if (!getcwd(tmp, sizeof(tmp)))
			return fail(c, XORB_EIO, "cannot read the current directory: %s", strerror(errno));
		n = (size_t)snprintf(c->root, sizeof(c->root), "%s/%s", tmp, path);
	}
	if (n >= sizeof(c->root))
		return fail(c, XORB_EINVAL, "store path is too long");
	while (n > 1 && c->root[n - 1] == '/')
		c->root[--n] = '\0';
	rc = mkdirs(c, c->root, n);
	if (rc)
		return rc;
	return XORB_OK;
}

static void f_close(void *ctx)
{
	free(ctx);
}

static const char *f_last_error(void *ctx)
{
	return ((struct fctx *)ctx)->err;
}

static int f_put_begin(void *ctx, const char *key, void **out)
{
	struct fctx *c = ctx;
	struct fwriter *w;
	char *slash;
	int rc;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return fail(c, XORB_ENOMEM, "out of memory");
	w->c = c;
	w->fd = -1;
	rc = key_path(c, key, w->final, sizeof(w->final));
	if (rc)
		goto out;
	slash = strrchr(w->final, '/');
	rc = mkdirs(c, w->final, (size_t)(slash - w->final));
	if (rc)
		goto out;
	if ((size_t)snprintf(w->tmp, sizeof(w->tmp), "%.*s/.%s.tmp-XXXXXX", (int)(slash - w->final),
			     w->final, slash + 1) >= sizeof(w->tmp)) {
		rc = fail(c, XORB_EINVAL, "key \"%s\" is too long", key);
		goto out;
	}
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0) {
		int e = errno;

		rc = fail(c, errno_code(e), "cannot create \"%s\": %s%s", w->tmp, strerror(e), errno_hint(e));
		goto out;
	}
	*out = w;
	return XORB_OK;
out:
	free(w);
	return rc;
}

static int f_put_write(void *wp, const void *data, size_t len)
{
	struct fwriter *w = wp;
	const char *p = data;

	while (len) {
		ssize_t n = write(w->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : ENOSPC;

			return fail(w->c, XORB_EIO, "write to \"%s\" failed: %s%s", w->tmp, strerror(e),
				    errno_hint(e));
		}
		p += n;
		len -= (size_t)n;
	}
	return XORB_OK;
}

static int fsync_dir_of(struct fctx *c, const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, rc = XORB_OK;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return XORB_OK;
	*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		rc = fail(c, XORB_EIO, "cannot sync directory \"%s\": %s", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

static int f_put_commit(void *wp)
{
	struct fwriter *w = wp;
	struct fctx *c = w->c;
	int rc = XORB_OK;

	if (fsync(w->fd)) {
		int e = errno;

		rc = fail(c, XORB_EIO, "cannot sync \"%s\": %s%s", w->tmp, strerror(e), errno_hint(e));
	}
	if (close(w->fd) && !rc)
		rc = fail(c, XORB_EIO, "cannot close \"%s\": %s", w->tmp, strerror(errno));
	w->fd = -1;
	if (!rc && rename(w->tmp, w->final))
		rc = fail(c, XORB_EIO, "cannot rename \"%s\" to \"%s\": %s", w->tmp, w->final,
			  strerror(errno));
	if (rc)
		unlink(w->tmp);
	else
		rc = fsync_dir_of(c, w->final);
	free(w);
	return rc;
}

static void f_put_abort(void *wp)
{
	struct fwriter *w = wp;

	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	unlink(w->tmp);
	free(w);
}

static int f_get_open(void *ctx, const char *key, void **out)
{
	struct fctx *c = ctx;
	struct freader *r;
	int rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return fail(c, XORB_ENOMEM, "out of memory");
	r->c = c;
	rc = key_path(c, key, r->path, sizeof(r->path));
	if (rc) {
		free(r);
		return rc;
	}
	r->fd = open(r->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (r->fd < 0) {
		int e = errno;

		free(r);
		return fail(c, errno_code(e), "cannot open \"%s\": %s", key, strerror(e));
	}
	*out = r;
	return XORB_OK;
}

static int f_get_read(void *rp, void *buf, size_t len, size_t *got)
{
	struct freader *r = rp;
	ssize_t n;

	do
		n = read(r->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		*got = 0;
		return fail(r->c, XORB_EIO, "read from \"%s\" failed: %s", r->path, strerror(errno));
	}
	*got = (size_t)n;
	return XORB_OK;
}

static void f_get_close(void *rp)
{
	struct freader *r = rp;

	if (!r)
		return;
	close(r->fd);
	free(r);
}

#define TMP_SUFFIX ".tmp-"
#define TMP_RANDOM 6 /* mkostemp's XXXXXX */

/* When name is the temporary file of a put, ".<base>.tmp-XXXXXX" as
 * f_put_begin makes it (<base> a valid key component, XXXXXX six ASCII
 * letters or digits), returns the length of <base>; else 0. */
static size_t tmp_base_len(const char *name)
{
	const size_t tail = strlen(TMP_SUFFIX) + TMP_RANDOM;
	size_t n = strlen(name), i;

	if (n < 2 + tail || name[0] != '.' || name[1] == '.' || strchr(name, '/'))
		return 0;
	if (strncmp(name + n - tail, TMP_SUFFIX, strlen(TMP_SUFFIX)))
		return 0;
	for (i = n - TMP_RANDOM; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')))
			return 0;
	}
	return n - 1 - tail;
}

/* What a walk reports: committed objects (obj) or unfinished puts (unf). */
struct walk_to {
	xorb_storage_list_fn obj;
	xorb_storage_unfinished_fn unf;
	void *arg;
};

/* Reports one directory entry of rel; *descend is set for a directory the
 * prefix can still match. */
static int walk_entry(struct fctx *c, const char *rel, const char *name, const char *prefix,
		      const struct walk_to *to, char *sub, size_t sublen, int *descend)
{
	char key[PATH_MAX], path[PATH_MAX];
	size_t kl, pl = strlen(prefix), base = 0;
	struct stat st;

	*descend = 0;
	if (name[0] == '.' && !(to->unf && (base = tmp_base_len(name))))
		return XORB_OK;
	/* a temporary file reports the key it would be committed under */
	kl = base ? (size_t)snprintf(key, sizeof(key), "%s%s%.*s", rel, *rel ? "/" : "", (int)base, name + 1)
		  : (size_t)snprintf(key, sizeof(key), "%s%s%s", rel, *rel ? "/" : "", name);
	if (kl >= sizeof(key) ||
	    (size_t)snprintf(path, sizeof(path), "%s%s%s/%s", c->root, *rel ? "/" : "", rel, name) >= sizeof(path))
		return XORB_OK;
	if (lstat(path, &st))
		return XORB_OK;
	if (S_ISDIR(st.st_mode)) {
		if (!base && !strncmp(key, prefix, kl < pl ? kl : pl)) {
			snprintf(sub, sublen, "%s", key);
			*descend = 1;
		}
		return XORB_OK;
	}
	if (!S_ISREG(st.st_mode) || strncmp(key, prefix, pl))
		return XORB_OK;
	if (base) {
		struct xorb_store_unfinished u = { key, name, (int64_t)st.st_mtime };

		return to->unf(to->arg, &u);
	}
	if (to->obj) {
		struct xorb_store_obj o = { key, (uint64_t)st.st_size, (int64_t)st.st_mtime };

		return to->obj(to->arg, &o);
	}
	return XORB_OK;
}

/* Walks dir (relative key rel) and reports the regular files whose key starts
 * with prefix: the non-hidden ones to to->obj, the temporary files of puts to
 * to->unf. Symbolic links are not followed; depth bounds the recursion. */
static int walk(struct fctx *c, const char *rel, const char *prefix, int depth,
		const struct walk_to *to)
{
	char dir[PATH_MAX], sub[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int rc = XORB_OK, descend;

	snprintf(dir, sizeof(dir), "%s%s%s", c->root, *rel ? "/" : "", rel);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? XORB_OK
				       : fail(c, XORB_EIO, "cannot read directory \"%s\": %s", dir, strerror(errno));
	while (!rc && (de = readdir(d))) {
		rc = walk_entry(c, rel, de->d_name, prefix, to, sub, sizeof(sub), &descend);
		if (!rc && descend && depth > 0)
			rc = walk(c, sub, prefix, depth - 1, to);
	}
	closedir(d);
	return rc;
}

static int f_list(void *ctx, const char *prefix, xorb_storage_list_fn fn, void *arg)
{
	const struct walk_to to = { fn, NULL, arg };

	return walk(ctx, "", prefix ? prefix : "", 8, &to);
}

static int f_list_unfinished(void *ctx, const char *prefix, xorb_storage_unfinished_fn fn, void *arg)
{
	const struct walk_to to = { NULL, fn, arg };

	return walk(ctx, "", prefix ? prefix : "", 8, &to);
}

/* Unlinks the temporary file id of key's put, and nothing else: id must be
 * ".<name of key>.tmp-XXXXXX", in key's directory inside the root. */
static int f_remove_unfinished(void *ctx, const char *key, const char *id)
{
	struct fctx *c = ctx;
	char final[PATH_MAX], path[PATH_MAX];
	const char *base;
	struct stat st;
	size_t bl;
	int rc = key_path(c, key, final, sizeof(final));

	if (rc)
		return rc;
	base = strrchr(final, '/') + 1;
	bl = id ? tmp_base_len(id) : 0;
	if (!bl || bl != strlen(base) || strncmp(id + 1, base, bl))
		return fail(c, XORB_EINVAL,
			    "\"%s\" is not the temporary file of a put of \"%s\" (\".%s" TMP_SUFFIX "XXXXXX\"): not removed",
			    id ? id : "", key, base);
	if ((size_t)snprintf(path, sizeof(path), "%.*s%s", (int)(base - final), final, id) >= sizeof(path))
		return fail(c, XORB_EINVAL, "key \"%s\" is too long", key);
	if (!lstat(path, &st) && !S_ISREG(st.st_mode))
		return fail(c, XORB_EINVAL, "\"%s\" is not a regular file: not removed", path);
	if (unlink(path)) {
		int e = errno;

		if (e == ENOENT)
			return XORB_OK; /* gone already */
		return fail(c, errno_code(e), "cannot remove \"%s\": %s%s", path, strerror(e), errno_hint(e));
	}
	return fsync_dir_of(c, path);
}

static int f_remove(void *ctx, const char *key)
{
	struct fctx *c = ctx;
	char path[PATH_MAX];
	int rc = key_path(c, key, path, sizeof(path));

	if (rc)
		return rc;
	if (unlink(path)) {
		int e = errno;

		return fail(c, errno_code(e), "cannot remove \"%s\": %s", key, strerror(e));
	}
	return fsync_dir_of(c, path);
}

static const struct xorb_storage_ops file_ops = {
	.abi_major = XORB_STORAGE_ABI_MAJOR,
	.abi_minor = XORB_STORAGE_ABI_MINOR,
	.struct_size = sizeof(struct xorb_storage_ops),
	.scheme = "file",
	.open = f_open,
	.close = f_close,
	.last_error = f_last_error,
	.put_begin = f_put_begin,
	.put_write = f_put_write,
	.put_commit = f_put_commit,
	.put_abort = f_put_abort,
	.get_open = f_get_open,
	.get_read = f_get_read,
	.get_close = f_get_close,
	.list = f_list,
	.remove = f_remove,
	.list_unfinished = f_list_unfinished,
	.remove_unfinished = f_remove_unfinished,
};

/* The plugin's one exported symbol. */
__attribute__((visibility("default"))) const struct xorb_storage_ops *xorb_storage_entry(void)
{
	return &file_ops;
}

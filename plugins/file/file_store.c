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
 *
 * Symbolic links: the root is the directory the operator names, links in its
 * own path followed; below it no link is ever followed, by any operation
 * (see link_refused).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xorb_error.h"
#include "xorb_storage_abi.h"

#define TMP_SUFFIX ".tmp-"
#define TMP_RANDOM 6 /* the random letters and digits of a temporary name */

struct fctx {
	char root[PATH_MAX];
	char err[1024];
};

struct fwriter {
	struct fctx *c;
	int fd;	      /* the temporary file */
	int dirfd;    /* the directory it and the object live in */
	char tmpname[NAME_MAX + 1];
	char base[NAME_MAX + 1];
	char tmp[PATH_MAX]; /* paths, for messages */
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
 * and without hidden components (those are the backend's temporary files).
 * out gets the key's path, for messages. */
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
		if (n > NAME_MAX)
			return fail(c, XORB_EINVAL, "key \"%s\" is too long", key);
		p += n + (e ? 1 : 0);
		if (e && !*p)
			return fail(c, XORB_EINVAL, "invalid key \"%s\"", key);
	}
	if ((size_t)snprintf(out, outlen, "%s/%s", c->root, key) >= outlen)
		return fail(c, XORB_EINVAL, "key \"%s\" is too long", key);
	return XORB_OK;
}

/*
 * The one rule for links: the root is opened as the operator names it (links
 * in its own path are followed: the store may live on another disk), and
 * nothing below it is reached through a symbolic link. Every directory and
 * object below the root is opened relative to its parent with O_NOFOLLOW, so
 * a link met by any operation (put, get, list, remove) fails with this
 * message, and no file is ever read or written outside the store through
 * one, not even when a link replaces a directory while we run.
 */
static int link_refused(struct fctx *c, int dirfd, const char *name, const char *rel)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);

	target[n > 0 ? n : 0] = '\0';
	return fail(c, XORB_ESTORE,
		    "\"%s\" in the store is a symbolic link (to \"%s\"): the file store follows no link below its root, so that nothing is read or written outside it; replace the link with what it points to (move the files into the store), or name the link's target as the store",
		    rel, target);
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

/* Opens the root directory; create: make it (and its parents) first. */
static int open_root(struct fctx *c, int create, int *fd)
{
	int rc = create ? mkdirs(c, c->root, strlen(c->root)) : XORB_OK;

	if (rc)
		return rc;
	*fd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0) {
		int e = errno;

		return fail(c, errno_code(e), "cannot open the store directory \"%s\": %s%s", c->root,
			    strerror(e), errno_hint(e));
	}
	return XORB_OK;
}

/* Why name (rel in the store) in dirfd could not be opened as a directory. */
static int not_a_dir(struct fctx *c, int dirfd, const char *name, const char *rel, int e)
{
	struct stat st;

	if ((e == ELOOP || e == ENOTDIR) && !fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) &&
	    S_ISLNK(st.st_mode))
		return link_refused(c, dirfd, name, rel);
	return fail(c, errno_code(e), "cannot open directory \"%s/%s\": %s%s", c->root, rel, strerror(e),
		    errno_hint(e));
}

/* Opens the directory that holds key's object (key checked by key_path),
 * one component at a time from the root and never through a link; create:
 * make missing directories (0700). *base: the key's last component. */
static int open_parent(struct fctx *c, const char *key, int create, int *out, const char **base)
{
	const char *p = key, *slash;
	char name[NAME_MAX + 1], rel[PATH_MAX];
	int fd, rc = open_root(c, create, &fd);

	*out = -1;
	while (!rc && (slash = strchr(p, '/'))) {
		size_t n = (size_t)(slash - p);
		int sub;

		memcpy(name, p, n);
		name[n] = '\0';
		snprintf(rel, sizeof(rel), "%.*s", (int)(slash - key), key);
		if (create && mkdirat(fd, name, 0700) && errno != EEXIST) {
			int e = errno;

			rc = fail(c, errno_code(e), "cannot create directory \"%s/%s\": %s%s", c->root, rel,
				  strerror(e), errno_hint(e));
			break;
		}
		sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			rc = not_a_dir(c, fd, name, rel, errno);
			break;
		}
		close(fd);
		fd = sub;
		p = slash + 1;
	}
	if (rc) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	*out = fd;
	*base = p;
	return XORB_OK;
}

/* XORB_OK unless name in dirfd is a symbolic link (then the refusal). */
static int no_link(struct fctx *c, int dirfd, const char *name, const char *key)
{
	struct stat st;

	if (!fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) && S_ISLNK(st.st_mode))
		return link_refused(c, dirfd, name, key);
	return XORB_OK;
}

static int f_open(void **ctx, const char *url, const struct xorb_param *params)
{
	struct fctx *c = calloc(1, sizeof(*c));
	const char *path = url;
	char tmp[PATH_MAX];
	size_t n;
	int rc, fd, readonly = 0;

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
	for (; params && params->key; params++)
		if (!strcmp(params->key, "create") && params->value && !strcmp(params->value, "no"))
			readonly = 1;
	rc = open_root(c, !readonly, &fd);
	if (rc == XORB_ENOTFOUND && readonly)
		return fail(c, rc,
			    "the store directory \"%s\" does not exist: check --store (or XORB_STORE) for a typo; a backup (xorb-backup tenant|all) creates the store, no other command does",
			    c->root);
	if (rc)
		return rc;
	close(fd);
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

/* Creates ".<base>.tmp-XXXXXX" (six random letters or digits) in dirfd,
 * exclusively, 0600. */
static int make_tmp(struct fwriter *w)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char r[TMP_RANDOM];
	size_t at;
	int tries, i, e = EEXIST;

	for (tries = 0; tries < 100 && e == EEXIST; tries++) {
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return fail(w->c, XORB_EIO, "cannot read random bytes for a temporary name: %s",
				    strerror(errno));
		at = (size_t)snprintf(w->tmpname, sizeof(w->tmpname), ".%s" TMP_SUFFIX, w->base);
		for (i = 0; i < TMP_RANDOM; i++)
			w->tmpname[at + (size_t)i] = set[r[i] % (sizeof(set) - 1)];
		w->tmpname[at + TMP_RANDOM] = '\0';
		w->fd = openat(w->dirfd, w->tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		e = w->fd < 0 ? errno : 0;
	}
	snprintf(w->tmp, sizeof(w->tmp), "%.*s%s", (int)(strlen(w->final) - strlen(w->base)), w->final,
		 w->tmpname);
	if (w->fd < 0)
		return fail(w->c, errno_code(e), "cannot create \"%s\": %s%s", w->tmp, strerror(e), errno_hint(e));
	return XORB_OK;
}

static int f_put_begin(void *ctx, const char *key, void **out)
{
	struct fctx *c = ctx;
	struct fwriter *w;
	const char *base;
	int rc;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return fail(c, XORB_ENOMEM, "out of memory");
	w->c = c;
	w->fd = -1;
	w->dirfd = -1;
	rc = key_path(c, key, w->final, sizeof(w->final));
	if (!rc)
		rc = open_parent(c, key, 1, &w->dirfd, &base);
	if (!rc) {
		snprintf(w->base, sizeof(w->base), "%s", base);
		if (strlen(w->base) + 1 + strlen(TMP_SUFFIX) + TMP_RANDOM > NAME_MAX)
			rc = fail(c, XORB_EINVAL, "key \"%s\" is too long", key);
	}
	if (!rc)
		rc = no_link(c, w->dirfd, w->base, key);
	if (!rc)
		rc = make_tmp(w);
	if (rc) {
		if (w->dirfd >= 0)
			close(w->dirfd);
		free(w);
		return rc;
	}
	*out = w;
	return XORB_OK;
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

static void writer_free(struct fwriter *w)
{
	if (w->fd >= 0)
		close(w->fd);
	close(w->dirfd);
	free(w);
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
	if (!rc && renameat(w->dirfd, w->tmpname, w->dirfd, w->base))
		rc = fail(c, XORB_EIO, "cannot rename \"%s\" to \"%s\": %s", w->tmp, w->final,
			  strerror(errno));
	if (rc)
		unlinkat(w->dirfd, w->tmpname, 0);
	else if (fsync(w->dirfd))
		rc = fail(c, XORB_EIO, "cannot sync the directory of \"%s\": %s", w->final, strerror(errno));
	writer_free(w);
	return rc;
}

static void f_put_abort(void *wp)
{
	struct fwriter *w = wp;

	if (!w)
		return;
	unlinkat(w->dirfd, w->tmpname, 0);
	writer_free(w);
}

static int f_get_open(void *ctx, const char *key, void **out)
{
	struct fctx *c = ctx;
	struct freader *r;
	const char *base;
	struct stat st;
	int rc, dirfd = -1;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return fail(c, XORB_ENOMEM, "out of memory");
	r->c = c;
	r->fd = -1;
	rc = key_path(c, key, r->path, sizeof(r->path));
	if (!rc)
		rc = open_parent(c, key, 0, &dirfd, &base);
	if (!rc) {
		/* O_NONBLOCK: a FIFO planted under a key must not hang the open */
		r->fd = openat(dirfd, base, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (r->fd < 0) {
			int e = errno;

			rc = e == ELOOP ? link_refused(c, dirfd, base, key)
					: fail(c, errno_code(e), "cannot open \"%s\": %s", key, strerror(e));
		} else if (fstat(r->fd, &st) || !S_ISREG(st.st_mode)) {
			rc = fail(c, XORB_EINVAL, "\"%s\" is not a regular file", key);
		}
	}
	if (dirfd >= 0)
		close(dirfd);
	if (rc) {
		if (r->fd >= 0)
			close(r->fd);
		free(r);
		return rc;
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

/* Reports one entry name of the directory dirfd (key rel); *descend is set
 * for a directory the prefix can still match. A symbolic link whose key the
 * prefix can match fails the walk (link_refused): skipping it would hide
 * backups that a writer put there before the rule, and the operator must
 * see it. Hidden names are not objects and are passed over. */
static int walk_entry(struct fctx *c, int dirfd, const char *rel, const char *name, const char *prefix,
		      const struct walk_to *to, char *sub, size_t sublen, int *descend)
{
	char key[PATH_MAX];
	size_t kl, pl = strlen(prefix), base = 0;
	struct stat st;

	*descend = 0;
	if (name[0] == '.' && !(to->unf && (base = tmp_base_len(name))))
		return XORB_OK;
	/* a temporary file reports the key it would be committed under */
	kl = base ? (size_t)snprintf(key, sizeof(key), "%s%s%.*s", rel, *rel ? "/" : "", (int)base, name + 1)
		  : (size_t)snprintf(key, sizeof(key), "%s%s%s", rel, *rel ? "/" : "", name);
	if (kl >= sizeof(key) || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return XORB_OK;
	if (S_ISLNK(st.st_mode))
		return base || strncmp(key, prefix, kl < pl ? kl : pl) ? XORB_OK : link_refused(c, dirfd, name, key);
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

/* Walks the directory fd (key rel; the walk owns fd) and reports the
 * regular files whose key starts with prefix: the non-hidden ones to
 * to->obj, the temporary files of puts to to->unf. Subdirectories are opened
 * relative to their parent with O_NOFOLLOW; depth bounds the recursion. */
static int walk(struct fctx *c, int fd, const char *rel, const char *prefix, int depth,
		const struct walk_to *to)
{
	char sub[PATH_MAX];
	struct dirent *de;
	DIR *d = fdopendir(fd);
	int rc = XORB_OK, descend;

	if (!d) {
		close(fd);
		return fail(c, XORB_EIO, "cannot read directory \"%s/%s\": %s", c->root, rel, strerror(errno));
	}
	while (!rc && (de = readdir(d))) {
		rc = walk_entry(c, dirfd(d), rel, de->d_name, prefix, to, sub, sizeof(sub), &descend);
		if (!rc && descend && depth > 0) {
			int sfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			rc = sfd < 0 ? not_a_dir(c, dirfd(d), de->d_name, sub, errno)
				     : walk(c, sfd, sub, prefix, depth - 1, to);
		}
	}
	closedir(d);
	return rc;
}

static int walk_root(struct fctx *c, const char *prefix, const struct walk_to *to)
{
	int fd, rc = open_root(c, 0, &fd);

	if (rc == XORB_ENOTFOUND) /* the root removed behind our back: nothing in it */
		return XORB_OK;
	return rc ? rc : walk(c, fd, "", prefix ? prefix : "", 8, to);
}

static int f_list(void *ctx, const char *prefix, xorb_storage_list_fn fn, void *arg)
{
	const struct walk_to to = { fn, NULL, arg };

	return walk_root(ctx, prefix, &to);
}

static int f_list_unfinished(void *ctx, const char *prefix, xorb_storage_unfinished_fn fn, void *arg)
{
	const struct walk_to to = { NULL, fn, arg };

	return walk_root(ctx, prefix, &to);
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
	int rc = key_path(c, key, final, sizeof(final)), dirfd;

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
	rc = open_parent(c, key, 0, &dirfd, &base);
	if (rc == XORB_ENOTFOUND)
		return XORB_OK; /* gone already, with its directory */
	if (rc)
		return rc;
	if (!fstatat(dirfd, id, &st, AT_SYMLINK_NOFOLLOW) && !S_ISREG(st.st_mode))
		rc = fail(c, XORB_EINVAL, "\"%s\" is not a regular file: not removed", path);
	else if (unlinkat(dirfd, id, 0)) {
		int e = errno;

		if (e != ENOENT) /* ENOENT: gone already */
			rc = fail(c, errno_code(e), "cannot remove \"%s\": %s%s", path, strerror(e), errno_hint(e));
	} else if (fsync(dirfd)) {
		rc = fail(c, XORB_EIO, "cannot sync the directory of \"%s\": %s", path, strerror(errno));
	}
	close(dirfd);
	return rc;
}

static int f_remove(void *ctx, const char *key)
{
	struct fctx *c = ctx;
	char path[PATH_MAX];
	const char *base;
	int rc = key_path(c, key, path, sizeof(path)), dirfd = -1;

	if (!rc)
		rc = open_parent(c, key, 0, &dirfd, &base);
	if (rc == XORB_ENOTFOUND)
		return fail(c, rc, "cannot remove \"%s\": %s", key, strerror(ENOENT));
	if (rc)
		return rc;
	rc = no_link(c, dirfd, base, key);
	if (!rc && unlinkat(dirfd, base, 0)) {
		int e = errno;

		rc = fail(c, errno_code(e), "cannot remove \"%s\": %s", key, strerror(e));
	}
	if (!rc && fsync(dirfd))
		rc = fail(c, XORB_EIO, "cannot sync the directory of \"%s\": %s", path, strerror(errno));
	close(dirfd);
	return rc;
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

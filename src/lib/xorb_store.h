/*
 * The backup store as the commands see it: a storage backend chosen by the
 * URL's scheme, wrapped so that every failure lands in a struct xorb_error
 * naming the store and the key.
 *
 * Store URLs: file:///abs/path, or a plain directory path (relative paths are
 * made absolute), or s3://bucket/prefix. Backends are plugins (see
 * xorb_storage_abi.h). The default store is XORB_DEFAULT_STORE.
 */
#ifndef XORB_STORE_H
#define XORB_STORE_H

#include "xorb_error.h"
#include "xorb_storage_abi.h"

#define XORB_DEFAULT_STORE "/var/lib/xorb/backups"

struct xorb_store;
struct xorb_store_writer;
struct xorb_store_reader;

/* Loads the plugin for the URL's scheme (xorb-storage-<scheme>.so) and opens
 * the store. params (may be NULL) go to the backend's open(). */
int xorb_store_open(const char *url, struct xorb_store **out, struct xorb_error *err);
int xorb_store_open_with(const char *url, const struct xorb_param *params,
			 struct xorb_store **out, struct xorb_error *err);
void xorb_store_free(struct xorb_store *s); /* NULL-safe */
/* The store URL for messages, credentials masked (xorb_url.h). */
const char *xorb_store_url(const struct xorb_store *s);

int xorb_store_put_begin(struct xorb_store *s, const char *key, struct xorb_store_writer **w,
			 struct xorb_error *err);
int xorb_store_put_write(struct xorb_store_writer *w, const void *data, size_t len,
			 struct xorb_error *err);
/* Both free w. */
int xorb_store_put_commit(struct xorb_store_writer *w, struct xorb_error *err);
void xorb_store_put_abort(struct xorb_store_writer *w);
/* Writes a small object in one go (sidecars). */
int xorb_store_put_all(struct xorb_store *s, const char *key, const void *data, size_t len,
		       struct xorb_error *err);

int xorb_store_get_open(struct xorb_store *s, const char *key, struct xorb_store_reader **r,
			struct xorb_error *err);
int xorb_store_get_read(struct xorb_store_reader *r, void *buf, size_t len, size_t *got,
			struct xorb_error *err);
void xorb_store_get_close(struct xorb_store_reader *r);
/* Reads a whole small object (at most max bytes) into a NUL-terminated heap
 * buffer owned by the caller. */
int xorb_store_get_all(struct xorb_store *s, const char *key, size_t max, char **data,
		       size_t *len, struct xorb_error *err);

int xorb_store_list(struct xorb_store *s, const char *prefix, xorb_storage_list_fn fn,
		    void *arg, struct xorb_error *err);
int xorb_store_remove(struct xorb_store *s, const char *key, struct xorb_error *err);

/* Unfinished puts (see xorb_storage_abi.h): what a writer killed between
 * put_begin and put_commit left, whose key starts with prefix. The callback's
 * strings live only during the call. XORB_EUNSUPPORTED (err says why) when
 * the store's plugin predates ABI 1.1 and cannot report them: not a failure
 * of the store. */
int xorb_store_list_unfinished(struct xorb_store *s, const char *prefix,
			       xorb_storage_unfinished_fn fn, void *arg, struct xorb_error *err);
/* Removes one as list_unfinished reported it (key and id), even when a writer
 * still uses it: the caller judges by its start time. Already gone: XORB_OK. */
int xorb_store_remove_unfinished(struct xorb_store *s, const char *key, const char *id,
				 struct xorb_error *err);

/* The options of every storage plugin found where plugins are looked for
 * (ABI 1.2 tables: xorb_storage_abi.h), by scheme, then as each plugin
 * lists them; a malformed entry is left out, and so is a plugin that does
 * not load (opening a store of its scheme says why). Loaded once; the
 * plugins stay loaded. Fills out and titles (each may be NULL; titles[i]:
 * the options_title of option i's plugin, or NULL), up to max, and returns
 * how many there are. */
size_t xorb_store_plugin_options(const struct xorb_storage_option **out, const char **titles, size_t max);

#endif

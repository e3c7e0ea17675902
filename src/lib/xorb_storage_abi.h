/*
 * The storage plugin ABI: what a backup store backend (file, s3, ...) provides.
 *
 * A backend exposes one entry point returning a const table. The table starts
 * with the ABI major/minor and its own size; the host refuses a table with
 * another major, and reads members past struct_size as absent. Members are
 * only ever appended. Backends never print or exit: every call returns an
 * enum xorb_status value and keeps the detail for last_error().
 *
 * Keys are '/'-separated relative paths ("t-qa/20261127T170508Z-3fa9c1.json").
 * A put is invisible under its key until put_commit succeeds; put_abort
 * removes every trace of it.
 *
 * A writer that dies between put_begin and put_commit/put_abort (SIGKILL, OOM,
 * a reboot) leaves an unfinished put: an open multipart upload on S3, a
 * hidden temporary file in a file store. Since 1.1 a backend can list those
 * and remove one (list_unfinished, remove_unfinished); whether one is still
 * being written is for the caller to judge (by its start time).
 *
 * Since 1.2 a backend declares the command-line options it takes (options):
 * the commands offer each as --<name> and as <name> in the configuration
 * file, check its value by its type with the commands' own parser, and pass
 * it to open() as the parameter <name>. The commands know no backend's
 * options.
 *
 * History: 1.0 open .. remove; 1.1 list_unfinished, remove_unfinished;
 * 1.2 options.
 */
#ifndef XORB_STORAGE_ABI_H
#define XORB_STORAGE_ABI_H

#include <stddef.h>
#include <stdint.h>

#define XORB_STORAGE_ABI_MAJOR 1
#define XORB_STORAGE_ABI_MINOR 2
#define XORB_STORAGE_ENTRY "xorb_storage_entry"

struct xorb_store_obj {
	const char *key;  /* relative to the store root */
	uint64_t size;
	int64_t mtime;	  /* seconds since the epoch */
};

/* Settings passed to open() as a NULL-key-terminated array: the options the
 * backends declare (struct xorb_storage_option), as given, and "create". A
 * backend ignores keys that are not its own. Values: a flag's is "1"; a
 * COUNT's or SIZE's is the number in decimal digits (a SIZE's suffix already
 * applied, the range already checked: a backend may still check it); a
 * TEXT's is the text. "create": "no" when the command only reads (a store
 * that does not exist is then an error: the file backend does not create its
 * root), "yes" (or absent) when it writes. */
struct xorb_param {
	const char *key;
	const char *value;
};

/* The kind of value an option takes (since 1.2). */
enum xorb_storage_opt_type {
	XORB_SOPT_FLAG = 1, /* no value: given or not */
	XORB_SOPT_TEXT = 2, /* any text */
	XORB_SOPT_COUNT = 3, /* an integer from min to max */
	XORB_SOPT_SIZE = 4, /* bytes from min to max, with an optional K, M or G suffix (powers of 1024) */
};

/* An option of a backend (since 1.2), in a table ended by a NULL name. The
 * table and its strings live as long as the plugin is loaded. This struct
 * never grows: a later minor that needs more describes it with a new struct
 * and a new member. */
struct xorb_storage_option {
	const char *name;	/* "s3-endpoint": the scheme, '-', then [a-z0-9-] */
	uint32_t type;		/* enum xorb_storage_opt_type */
	int64_t min, max;	/* COUNT and SIZE */
	const char *value_name; /* in help: "URL", "N"; NULL for a flag */
	const char *help;	/* one line, at most 50 columns; a default is named in it */
	/* variables the backend reads itself as a default of this option (up
	 * to 2, unused NULL): set, they win over a configuration file */
	const char *env[2];
};

/* Called per object; return 0 to go on, nonzero to stop (returned by list). */
typedef int (*xorb_storage_list_fn)(void *arg, const struct xorb_store_obj *obj);

/* An unfinished put (since 1.1). The strings belong to the backend and live
 * only during the callback. This struct never grows: a later minor that needs
 * more describes it with a new struct and new members. */
struct xorb_store_unfinished {
	const char *key;  /* the key it would be committed under, relative to the store root */
	const char *id;	  /* the backend's name for it, for remove_unfinished: the S3
			   * UploadId, the temporary file's name */
	int64_t last_write; /* seconds since the epoch: when it was last written to (its
			     * start or newest part on S3, the file's mtime); 0: cannot tell */
};

/* Called per unfinished put; return 0 to go on, nonzero to stop (returned by
 * list_unfinished). */
typedef int (*xorb_storage_unfinished_fn)(void *arg, const struct xorb_store_unfinished *u);

struct xorb_storage_ops {
	uint16_t abi_major;
	uint16_t abi_minor;
	uint32_t struct_size;
	const char *scheme; /* "file", "s3" */

	/* url is the whole store URL; params may be NULL. *ctx is freed by
	 * close(). On failure *ctx may still be set so that last_error() can
	 * explain; close() it. */
	int (*open)(void **ctx, const char *url, const struct xorb_param *params);
	void (*close)(void *ctx);
	const char *(*last_error)(void *ctx);

	int (*put_begin)(void *ctx, const char *key, void **w);
	int (*put_write)(void *w, const void *data, size_t len);
	int (*put_commit)(void *w); /* frees w, success or not */
	void (*put_abort)(void *w); /* frees w */

	int (*get_open)(void *ctx, const char *key, void **r);
	/* *got == 0 means end of object. */
	int (*get_read)(void *r, void *buf, size_t len, size_t *got);
	void (*get_close)(void *r);

	/* Objects whose key starts with prefix, in no particular order. */
	int (*list)(void *ctx, const char *prefix, xorb_storage_list_fn fn, void *arg);
	int (*remove)(void *ctx, const char *key);

	/* ---- 1.1 ---- */
	/* Unfinished puts whose key starts with prefix, in no particular order.
	 * Only what the backend's own put_begin leaves, never anything else. */
	int (*list_unfinished)(void *ctx, const char *prefix, xorb_storage_unfinished_fn fn, void *arg);
	/* Removes the unfinished put id of key (as list_unfinished reported
	 * them), whether or not a writer still uses it. One that is already
	 * gone counts as removed (XORB_OK); an id the backend could not have
	 * made is refused (XORB_EINVAL). */
	int (*remove_unfinished)(void *ctx, const char *key, const char *id);

	/* ---- 1.2 ---- */
	/* The options this backend takes, or NULL for none, and the title
	 * --help prints above them (lines of at most 80 columns, ending in
	 * ':'; it names the variables the backend reads that are not options,
	 * such as credentials), or NULL. */
	const struct xorb_storage_option *options;
	const char *options_title;
	/* append new members only below */
};

typedef const struct xorb_storage_ops *(*xorb_storage_entry_fn)(void);

#endif

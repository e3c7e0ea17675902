/*
 * Status codes and the error record every library call fills in.
 *
 * The library never prints and never exits: a failing call returns one of the
 * codes below and writes one precise sentence (what failed, on what, why) into
 * the caller's struct xorb_error. The tool layer prefixes the command name and
 * prints it. The code set only ever grows.
 */
#ifndef XORB_ERROR_H
#define XORB_ERROR_H

#include <stddef.h>

enum xorb_status {
	XORB_OK = 0,
	XORB_EINVAL,	/* bad argument or input the caller gave */
	XORB_ENOMEM,
	XORB_EIO,	/* local file system */
	XORB_ENOTFOUND, /* stream, backup, key, file does not exist */
	XORB_EEXIST,	/* would overwrite something that exists */
	XORB_ECORRUPT,	/* data fails a checksum, framing or format check */
	XORB_ETIMEOUT,	/* a peer stopped answering */
	XORB_ENATS,	/* NATS connection or JetStream API failure */
	XORB_EUNSUPPORTED,
	XORB_ETRANSIENT, /* worth retrying (network, 5xx) */
	XORB_EAUTH,	/* credentials rejected */
	XORB_ESTORE,	/* backup store failure that is not one of the above */
	XORB_ELIMIT,	/* a quota or limit (account storage...) would be exceeded */
};

struct xorb_error {
	int code;
	char msg[1024];
};

/* Records code and a printf-style message; returns code so that callers can
 * write `return xorb_error_set(err, XORB_EIO, "...")`. err may be NULL. */
int xorb_error_set(struct xorb_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepends context ("stream \"x\": ") to an existing message; returns err->code. */
int xorb_error_prefix(struct xorb_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void xorb_error_clear(struct xorb_error *err);

/* Short English name of a status code; never NULL. */
const char *xorb_status_str(int code);

#endif

/* Error records: see xorb_error.h. */
#include "xorb_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int xorb_error_set(struct xorb_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int xorb_error_prefix(struct xorb_error *err, const char *fmt, ...)
{
	char head[512], old[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return XORB_EINVAL;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s%s", head, old);
	return err->code;
}

void xorb_error_clear(struct xorb_error *err)
{
	if (err) {
		err->code = XORB_OK;
		err->msg[0] = '\0';
	}
}

const char *xorb_status_str(int code)
{
	static const char *const names[] = {
		[XORB_OK] = "ok",
		[XORB_EINVAL] = "invalid argument",
		[XORB_ENOMEM] = "out of memory",
		[XORB_EIO] = "i/o error",
		[XORB_ENOTFOUND] = "not found",
		[XORB_EEXIST] = "already exists",
		[XORB_ECORRUPT] = "corrupt data",
		[XORB_ETIMEOUT] = "timed out",
		[XORB_ENATS] = "nats error",
		[XORB_EUNSUPPORTED] = "unsupported",
		[XORB_ETRANSIENT] = "transient failure",
		[XORB_EAUTH] = "authentication failed",
		[XORB_ESTORE] = "store error",
		[XORB_ELIMIT] = "limit exceeded",
	};

	if (code < 0 || (size_t)code >= sizeof(names) / sizeof(names[0]) || !names[code])
		return "unknown error";
	return names[code];
}

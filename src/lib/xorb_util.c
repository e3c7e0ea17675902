/* The ground floor: see xorb_util.h. */
#include "xorb_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void xorb_time_rfc3339(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

double xorb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void xorb_strv_free(char **v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void xorb_notef(xorb_note_fn fn, void *arg, enum xorb_note_level lvl, const char *stream,
		const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	if (!fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(arg, lvl, stream, msg);
}

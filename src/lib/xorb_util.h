/*
 * The ground floor: small helpers every layer uses (time text and clocks,
 * string vectors, notes for the tool layer to print). No NATS, no store,
 * no I/O.
 */
#ifndef XORB_UTIL_H
#define XORB_UTIL_H

#include <stddef.h>
#include <time.h>

/* RFC 3339 UTC time text ("2026-11-27T17:05:08Z"). */
void xorb_time_rfc3339(time_t t, char out[32]);
double xorb_now(void); /* monotonic seconds */

/* Frees n strings and the array (v NULL: nothing). */
void xorb_strv_free(char **v, size_t n);

enum xorb_note_level { XORB_NOTE_INFO, XORB_NOTE_WARN, XORB_NOTE_DEBUG };

/* Progress and warnings for the tool layer to print (the library never
 * prints). stream may be NULL. */
typedef void (*xorb_note_fn)(void *arg, enum xorb_note_level lvl, const char *stream,
			     const char *msg);

/* Formats a note (up to 4 KiB) and hands it to fn; fn NULL: nothing. */
__attribute__((format(printf, 5, 6))) void xorb_notef(xorb_note_fn fn, void *arg,
						      enum xorb_note_level lvl,
						      const char *stream, const char *fmt, ...);

#endif

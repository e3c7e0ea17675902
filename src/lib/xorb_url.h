/*
 * Credentials in URLs, hidden before anything is printed.
 *
 * The one rule for every message, JSON result, log line and health check:
 * in a URL, the user info (everything up to the last '@', as nats.c and
 * libcurl read it) is masked and the rest kept, so the operator still sees
 * which server and which user:
 *   nats://bk:PASSWORD@host:4222   ->  nats://bk:***@host:4222
 *   http://AKID:SECRET@host:9000   ->  http://AKID:***@host:9000
 * and user info without a colon (a NATS token) is masked whole:
 * TOKEN@host:4222 becomes ***@host:4222.
 * Lists (comma or space separated, as -s and NATS_URL take them) are masked
 * element by element.
 *
 * No allocation, no locale: usable in the storage plugins and in a child
 * between fork and exec.
 */
#ifndef XORB_URL_H
#define XORB_URL_H

#include <stdbool.h>
#include <stddef.h>

/* Longest text xorb_url_redact_s masks (longer text is cut, never shown
 * unmasked). */
#define XORB_URL_SHOWN_MAX 2048

/*
 * Copies text into out (len bytes, always NUL-terminated; cut when longer)
 * with the user info of every URL masked. A URL is a word (words are
 * separated by white space, ',', quotes, '<' and '>') that holds "://".
 * bare: words without a scheme are URLs too ("bk:pw@host:4222", which
 * nats.c reads as nats://...): set it for a server list, leave it unset for
 * free text (a hook command, a path), where "a@b" is no URL. Returns out.
 */
char *xorb_url_redact(const char *text, bool bare, char *out, size_t len);

/* xorb_url_redact into a buffer of one of 4 rotating thread-local slots of
 * XORB_URL_SHOWN_MAX bytes, for a message's arguments (NULL gives ""). */
const char *xorb_url_shown(const char *text, bool bare);

#endif

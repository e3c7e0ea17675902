/*
 * JSON helpers around cJSON, for carrying server JSON without damaging it.
 *
 * cJSON stores numbers as doubles and prints integers of 16+ digits in
 * exponent form (2592000000000000 -> 2.592e+15), which nats-server rejects.
 * Server documents are therefore carried verbatim where possible
 * (xorb_json_member_span), and when a tree must be re-serialised it is printed
 * by xorb_json_print, which writes every integral number as an exact integer.
 */
#ifndef XORB_JSON_H
#define XORB_JSON_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "xorb_buf.h"
#include "xorb_error.h"

#define XORB_JSON_MAX (64u << 20) /* no JSON document we read may be larger */

/* Parses len bytes (need not be NUL-terminated); what names the document in
 * error messages. *out is owned by the caller (cJSON_Delete). */
int xorb_json_parse(const char *text, size_t len, const char *what, cJSON **out,
		    struct xorb_error *err);

/*
 * Strict validation of an untrusted JSON file (environment files, state
 * files, sidecars) before it is parsed: the RFC 8259 grammar, nesting up to
 * XORB_JSON_STRICT_DEPTH, well-formed UTF-8 and paired surrogates, no NUL
 * (\u0000) in any string, no control character (raw or escaped) in a key,
 * keys up to XORB_JSON_STRICT_KEY_MAX bytes, and no two equal keys (compared
 * decoded) in any object at any level. The message names what, the line,
 * column and byte offset of each position involved, and the path of the
 * member (tenants.t-qa.max_bytes). XORB_OK, XORB_ECORRUPT or XORB_ENOMEM.
 */
#define XORB_JSON_STRICT_DEPTH 64u
#define XORB_JSON_STRICT_KEY_MAX 4096u
int xorb_json_strict_check(const char *text, size_t len, const char *what, struct xorb_error *err);

/* xorb_json_strict_check, then xorb_json_parse. */
int xorb_json_parse_strict(const char *text, size_t len, const char *what, cJSON **out,
			   struct xorb_error *err);

/* Compact JSON with exact integers (|v| < 2^63 and integral). 0 or -1 (ENOMEM). */
int xorb_json_print(const cJSON *item, struct xorb_buf *out);

/* Appends s as a quoted, escaped JSON string. 0 or -1 (ENOMEM). */
int xorb_json_print_string(const char *s, struct xorb_buf *out);

/* Finds the value of top-level member key in the JSON object text. On success
 * start and vlen point into text. Returns XORB_OK, XORB_ENOTFOUND or XORB_ECORRUPT. */
int xorb_json_member_span(const char *text, size_t len, const char *key,
			  const char **start, size_t *vlen);

/* Typed getters: the default when the member is missing or of another type. */
int64_t xorb_json_int(const cJSON *obj, const char *key, int64_t dflt);
const char *xorb_json_str(const cJSON *obj, const char *key, const char *dflt);

/* Adds an integer member. Stored as a double, so exact for |v| <= 2^53 (every
 * count and size the toolkit writes); printed exactly by xorb_json_print. */
cJSON *xorb_json_add_int(cJSON *obj, const char *key, int64_t v);

#endif

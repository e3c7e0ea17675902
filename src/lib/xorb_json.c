/* JSON helpers: see xorb_json.h. */
#include "xorb_json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int xorb_json_parse(const char *text, size_t len, const char *what, cJSON **out,
		    struct xorb_error *err)
{
	const char *end = NULL;
	cJSON *j;

	*out = NULL;
	if (len > XORB_JSON_MAX)
		return xorb_error_set(err, XORB_ECORRUPT, "%s is %zu bytes, over the %u-byte limit",
				      what, len, XORB_JSON_MAX);
	j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (j && end) {
		/* only white space may follow the document */
		while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
			end++;
		if (end < text + len && *end) {
			cJSON_Delete(j);
			return xorb_error_set(err, XORB_ECORRUPT, "%s has trailing data after the JSON document (byte %zu)",
					      what, (size_t)(end - text));
		}
	}
	if (!j) {
		size_t at = end && end >= text ? (size_t)(end - text) : 0;
		return xorb_error_set(err, XORB_ECORRUPT, "%s is not valid JSON (near byte %zu)",
				      what, at);
	}
	*out = j;
	return XORB_OK;
}

int xorb_json_print_string(const char *s, struct xorb_buf *out)
{
	const unsigned char *p = (const unsigned char *)s;
	int rc = xorb_buf_append(out, "\"", 1);

	for (; *p && !rc; p++) {
		switch (*p) {
		case '"': rc = xorb_buf_append(out, "\\\"", 2); break;
		case '\\': rc = xorb_buf_append(out, "\\\\", 2); break;
		case '\b': rc = xorb_buf_append(out, "\\b", 2); break;
		case '\f': rc = xorb_buf_append(out, "\\f", 2); break;
		case '\n': rc = xorb_buf_append(out, "\\n", 2); break;
		case '\r': rc = xorb_buf_append(out, "\\r", 2); break;
		case '\t': rc = xorb_buf_append(out, "\\t", 2); break;
		default:
			if (*p < 0x20)
				rc = xorb_buf_printf(out, "\\u%04x", *p);
			else
				rc = xorb_buf_append(out, p, 1);
		}
	}
	return rc ? rc : xorb_buf_append(out, "\"", 1);
}

static int print_number(double v, struct xorb_buf *out)
{
	if (!isfinite(v))
		return xorb_buf_puts(out, "null");
	char s[32];

	if (v == floor(v) && fabs(v) < 9223372036854775808.0)
		return xorb_buf_printf(out, "%" PRId64, (int64_t)v);
	/* the shortest form that reads back exactly: 0.123, not 0.12299999999999999 */
	snprintf(s, sizeof(s), "%.15g", v);
	if (strtod(s, NULL) != v)
		snprintf(s, sizeof(s), "%.17g", v);
	return xorb_buf_puts(out, s);
}

int xorb_json_print(const cJSON *item, struct xorb_buf *out)
{
	const cJSON *c;
	int rc = 0;

	if (!item)
		return xorb_buf_puts(out, "null");
	switch (item->type & 0xff) {
	case cJSON_False: return xorb_buf_puts(out, "false");
	case cJSON_True: return xorb_buf_puts(out, "true");
	case cJSON_NULL: return xorb_buf_puts(out, "null");
	case cJSON_Number: return print_number(item->valuedouble, out);
	case cJSON_String: return xorb_json_print_string(item->valuestring ? item->valuestring : "", out);
	case cJSON_Raw: return xorb_buf_puts(out, item->valuestring ? item->valuestring : "null");
	case cJSON_Array:
	case cJSON_Object: {
		int obj = (item->type & 0xff) == cJSON_Object;

		rc = xorb_buf_append(out, obj ? "{" : "[", 1);
		for (c = item->child; c && !rc; c = c->next) {
			if (c != item->child)
				rc = xorb_buf_append(out, ",", 1);
			if (!rc && obj) {
				rc = xorb_json_print_string(c->string ? c->string : "", out);
				rc = rc ? rc : xorb_buf_append(out, ":", 1);
			}
			rc = rc ? rc : xorb_json_print(c, out);
		}
		return rc ? rc : xorb_buf_append(out, obj ? "}" : "]", 1);
	}
	}
	return xorb_buf_puts(out, "null");
}

/* Skips one JSON value starting at *p (after white space); 0 or -1. */
static int skip_ws(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r'))
		(*p)++;
	return *p < end ? 0 : -1;
}

static int skip_string(const char **p, const char *end)
{
	const char *s = *p + 1;

	for (; s < end; s++) {
		if (*s == '\\')
			s++;
		else if (*s == '"') {
			*p = s + 1;
			return 0;
		}
	}
	return -1;
}

static int skip_value(const char **p, const char *end)
{
	int depth = 0;

	if (skip_ws(p, end))
		return -1;
	do {
		if (skip_ws(p, end))
			return -1;
		switch (**p) {
		case '"':
			if (skip_string(p, end))
				return -1;
			break;
		case '{': case '[':
			depth++;
			(*p)++;
			break;
		case '}': case ']':
			if (--depth < 0)
				return -1;
			(*p)++;
			break;
		case ',': case ':':
			if (!depth)
				return -1;
			(*p)++;
			break;
		default: {
			const char *start = *p;

			/* a bare word (number, true, false, null); strchr would
			 * match a NUL byte, so test it explicitly */
			while (*p < end && **p && !strchr(",:]} \t\r\n", **p))
				(*p)++;
			if (*p == start)
				return -1;
		}
		}
	} while (depth > 0);
	return 0;
}

int xorb_json_member_span(const char *text, size_t len, const char *key,
			  const char **start, size_t *vlen)
{
	const char *p = text, *end = text + len, *k, *v;
	size_t klen = strlen(key), kl;

	if (skip_ws(&p, end) || *p != '{')
		return XORB_ECORRUPT;
	p++;
	for (;;) {
		if (skip_ws(&p, end))
			return XORB_ECORRUPT;
		if (*p == '}')
			return XORB_ENOTFOUND;
		if (*p != '"')
			return XORB_ECORRUPT;
		k = p + 1;
		if (skip_string(&p, end))
			return XORB_ECORRUPT;
		kl = (size_t)(p - 1 - k);
		if (skip_ws(&p, end) || *p != ':')
			return XORB_ECORRUPT;
		p++;
		if (skip_ws(&p, end))
			return XORB_ECORRUPT;
		v = p;
		if (skip_value(&p, end))
			return XORB_ECORRUPT;
		if (kl == klen && !memcmp(k, key, klen)) {
			*start = v;
			*vlen = (size_t)(p - v);
			return XORB_OK;
		}
		if (skip_ws(&p, end))
			return XORB_ECORRUPT;
		if (*p == ',')
			p++;
		else if (*p != '}')
			return XORB_ECORRUPT;
	}
}

int64_t xorb_json_int(const cJSON *obj, const char *key, int64_t dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return dflt;
	if (v->valuedouble >= 9223372036854775807.0)
		return INT64_MAX;
	if (v->valuedouble <= -9223372036854775808.0)
		return INT64_MIN;
	return (int64_t)v->valuedouble;
}

const char *xorb_json_str(const cJSON *obj, const char *key, const char *dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : dflt;
}

cJSON *xorb_json_add_int(cJSON *obj, const char *key, int64_t v)
{
	return cJSON_AddNumberToObject(obj, key, (double)v);
}

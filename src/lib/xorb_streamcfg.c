/* Stream configs after a restore: see xorb_streamcfg.h. */
#include "xorb_streamcfg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xorb_nats.h"
#include "xorb_util.h"

#define SHOWN_MAX 8 /* differences described; the count says the rest */

/* A JSON value on one line, cut to fit a message. */
static void shown(const cJSON *v, char *out, size_t size)
{
	char *s = v ? cJSON_PrintUnformatted(v) : NULL;

	snprintf(out, size, "%s", s ? s : "(absent)");
	if (s && strlen(s) >= size && size > 4)
		memcpy(out + size - 4, "...", 4);
	free(s);
}

static void add(struct xorb_buf *out, unsigned n, const char *text)
{
	if (!out || n > SHOWN_MAX)
		return;
	if (n > 1)
		xorb_buf_puts(out, "; ");
	xorb_buf_puts(out, text);
}

/* false, 0, "", {} or []: what a server that lacks the member behaves as */
static int is_default(const cJSON *v)
{
	if (cJSON_IsFalse(v) || cJSON_IsNull(v))
		return 1;
	if (cJSON_IsNumber(v))
		return v->valuedouble == 0;
	if (cJSON_IsString(v))
		return !*v->valuestring;
	if (cJSON_IsObject(v) || cJSON_IsArray(v))
		return v->child == NULL;
	return 0;
}

static int ignored(const char *const *ignore, const char *name)
{
	for (; ignore && *ignore; ignore++)
		if (!strcmp(*ignore, name))
			return 1;
	return 0;
}

unsigned xorb_streamcfg_diff(const cJSON *backup, const cJSON *server, const char *const *ignore,
			     struct xorb_buf *out)
{
	const cJSON *it;
	char a[200], b[200], line[600];
	unsigned n = 0;

	cJSON_ArrayForEach(it, backup) {
		const cJSON *o;

		if (!it->string || ignored(ignore, it->string))
			continue;
		o = cJSON_GetObjectItemCaseSensitive(server, it->string);
		if (!strcmp(it->string, "metadata") && cJSON_IsObject(it)) {
			const cJSON *mk;

			cJSON_ArrayForEach(mk, it) {
				const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, mk->string);

				if (!mk->string || !strncmp(mk->string, "_nats.", 6) || (v && cJSON_Compare(mk, v, 1)))
					continue;
				shown(mk, a, sizeof(a));
				if (!o)
					snprintf(line, sizeof(line),
						 "metadata.%s %s is not kept by this server (a feature it does not have)",
						 mk->string, a);
				else {
					shown(v, b, sizeof(b));
					snprintf(line, sizeof(line), "metadata.%s: backup %s, server %s", mk->string, a, b);
				}
				add(out, ++n, line);
			}
			continue;
		}
		if (!o && is_default(it))
			continue; /* e.g. allow_msg_ttl false on 2.10: nothing is lost */
		if (!o) {
			shown(it, a, sizeof(a));
			snprintf(line, sizeof(line), "%s %s is not kept by this server (a feature it does not have)",
				 it->string, a);
			add(out, ++n, line);
		} else if (!cJSON_Compare(it, o, 1)) {
			shown(it, a, sizeof(a));
			shown(o, b, sizeof(b));
			snprintf(line, sizeof(line), "%s: backup %s, server %s", it->string, a, b);
			add(out, ++n, line);
		}
	}
	if (out && n > SHOWN_MAX)
		xorb_buf_puts(out, "; ...");
	return n;
}

int xorb_streamcfg_check(natsConnection *nc, const char *stream, const char *backup_json, size_t len,
			 int replicas_changed, int timeout_ms, xorb_note_fn note, void *note_arg,
			 unsigned *differ, struct xorb_error *err)
{
	static const char *const replicas[] = { "num_replicas", NULL };
	cJSON *rec = NULL, *info = NULL;
	const cJSON *cfg;
	struct xorb_buf b;
	unsigned n;
	int rc;

	*differ = 0;
	rc = xorb_json_parse(backup_json, len, "backup.json", &rec, err);
	if (rc)
		return xorb_error_prefix(err, "stream \"%s\": ", stream);
	cfg = cJSON_GetObjectItemCaseSensitive(rec, "config");
	if (!cJSON_IsObject(cfg)) {
		cJSON_Delete(rec);
		return xorb_error_set(err, XORB_ECORRUPT, "stream \"%s\": backup.json has no \"config\" object", stream);
	}
	rc = xorb_js_stream_info(nc, stream, timeout_ms, &info, err);
	if (rc) {
		cJSON_Delete(rec);
		return xorb_error_prefix(err, "stream \"%s\": cannot read its config after the restore: ", stream);
	}
	xorb_buf_init(&b);
	n = xorb_streamcfg_diff(cfg, cJSON_GetObjectItemCaseSensitive(info, "config"),
				replicas_changed ? replicas : NULL, &b);
	if (n) {
		char msg[2048];

		*differ = 1;
		snprintf(msg, sizeof(msg),
			 "the restored stream's config differs from the backup (%u difference%s): %s; the messages are restored, but the server does not apply what it does not keep",
			 n, n == 1 ? "" : "s", b.data ? b.data : "");
		if (note)
			note(note_arg, XORB_NOTE_WARN, stream, msg);
	}
	xorb_buf_release(&b);
	cJSON_Delete(info);
	cJSON_Delete(rec);
	return XORB_OK;
}

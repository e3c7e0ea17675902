/* The XML answers of S3, read into what the plugin needs: see s3_xml.h. */
#include "s3_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xorb_buf.h"
#include "xorb_error.h"

/* Finds the next <tag>...</tag> in [p, end); sets *in and *inlen to its
 * content and returns the position after it, or NULL. */
static const char *xml_next(const char *p, const char *end, const char *tag, const char **in, size_t *inlen)
{
	char open[80], close[80];
	size_t ol, cl;
	const char *s, *e;

	if ((size_t)snprintf(open, sizeof(open), "<%s>", tag) >= sizeof(open) ||
	    (size_t)snprintf(close, sizeof(close), "</%s>", tag) >= sizeof(close))
		return NULL;
	ol = strlen(open);
	cl = strlen(close);
	s = p ? memmem(p, (size_t)(end - p), open, ol) : NULL;
	if (!s)
		return NULL;
	s += ol;
	e = memmem(s, (size_t)(end - s), close, cl);
	if (!e)
		return NULL;
	*in = s;
	*inlen = (size_t)(e - s);
	return e + cl;
}

static int utf8_put(struct xorb_buf *b, unsigned long cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xC0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xE0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 3;
	} else if (cp < 0x110000) {
		u[0] = (unsigned char)(0xF0 | (cp >> 18));
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 4;
	} else {
		return -1;
	}
	return xorb_buf_append(b, u, n);
}

/* Unescapes XML text (entities and character references) into b. */
static int xml_unescape(struct xorb_buf *b, const char *s, size_t len)
{
	static const struct {
		const char *name;
		char c;
	} ent[] = { { "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' } };
	size_t i = 0, k;

	while (i < len) {
		const char *amp = memchr(s + i, '&', len - i);
		size_t run = amp ? (size_t)(amp - (s + i)) : len - i;

		if (xorb_buf_append(b, s + i, run))
			return -1;
		i += run;
		if (!amp)
			break;
		i++; /* past '&' */
		for (k = 0; k < sizeof(ent) / sizeof(ent[0]); k++) {
			size_t el = strlen(ent[k].name);

			if (len - i >= el && !memcmp(s + i, ent[k].name, el)) {
				if (xorb_buf_append(b, &ent[k].c, 1))
					return -1;
				i += el;
				break;
			}
		}
		if (k < sizeof(ent) / sizeof(ent[0]))
			continue;
		if (i < len && s[i] == '#') {
			const char *semi = memchr(s + i, ';', len - i);
			char num[16];
			unsigned long cp;

			if (semi && (size_t)(semi - (s + i)) < sizeof(num)) {
				snprintf(num, sizeof(num), "%.*s", (int)(semi - (s + i) - 1), s + i + 1);
				cp = (num[0] == 'x' || num[0] == 'X') ? strtoul(num + 1, NULL, 16)
								      : strtoul(num, NULL, 10);
				if (utf8_put(b, cp))
					return -1;
				i = (size_t)(semi - s) + 1;
				continue;
			}
		}
		if (xorb_buf_append(b, "&", 1)) /* not an entity: keep it */
			return -1;
	}
	return 0;
}

/* Copies the unescaped content of the first <tag> into out ("" when
 * absent). Returns 1 when found (even if cut to outlen), 0 when not. */
static int xml_get(const char *xml, size_t len, const char *tag, char *out, size_t outlen)
{
	const char *in;
	size_t inlen;
	struct xorb_buf b;

	out[0] = '\0';
	if (!xml || !xml_next(xml, xml + len, tag, &in, &inlen))
		return 0;
	xorb_buf_init(&b);
	if (!xml_unescape(&b, in, inlen) && b.data)
		snprintf(out, outlen, "%s", b.data);
	xorb_buf_release(&b);
	return 1;
}

int s3_xml_read_error(const char *doc, size_t len, struct s3_xml_error *e)
{
	memset(e, 0, sizeof(*e));
	if (!len)
		return 0;
	xml_get(doc, len, "Code", e->code, sizeof(e->code));
	xml_get(doc, len, "Message", e->message, sizeof(e->message));
	xml_get(doc, len, "Region", e->region, sizeof(e->region));
	return e->code[0] != '\0';
}

int s3_xml_read_initiate(const char *doc, size_t len, char **upload_id, char *err, size_t errlen)
{
	char id[1024];

	*upload_id = NULL;
	err[0] = '\0';
	if (!xml_get(doc, len, "UploadId", id, sizeof(id)) || !id[0]) {
		snprintf(err, errlen, "has no UploadId");
		return XORB_ESTORE;
	}
	*upload_id = strdup(id);
	return *upload_id ? XORB_OK : XORB_ENOMEM;
}

int s3_xml_read_complete(const char *doc, size_t len, struct s3_xml_complete *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	if (doc && len && memmem(doc, len, "<Error>", 7)) {
		out->failed = 1;
		xml_get(doc, len, "Code", out->error.code, sizeof(out->error.code));
		xml_get(doc, len, "Message", out->error.message, sizeof(out->error.message));
		return XORB_OK;
	}
	xml_get(doc, len, "ETag", out->etag, sizeof(out->etag));
	return XORB_OK;
}

int s3_xml_read_list(enum s3_xml_list kind, const char *doc, size_t len, s3_xml_item_fn fn, void *arg,
		     struct s3_xml_page *page, char *err, size_t errlen)
{
	static const char *const item_tag[] = { "Contents", "Part", "Upload" };
	static const char *const next_tag[] = { "NextContinuationToken", "NextPartNumberMarker", "NextKeyMarker" };
	const char *p = doc ? doc : "", *end = p + len, *in;
	size_t inlen;
	char trunc[16];
	struct xorb_buf key, id;
	int rc = XORB_OK;

	memset(page, 0, sizeof(*page));
	err[0] = '\0';
	xorb_buf_init(&key);
	xorb_buf_init(&id);
	while (!rc && (p = xml_next(p, end, item_tag[kind], &in, &inlen))) {
		char size[32], when[64], initiated[64];
		struct s3_xml_item it = { NULL, NULL, size, when, initiated };
		const char *v;
		size_t vl;

		xorb_buf_reset(&key);
		xorb_buf_reset(&id);
		if (kind != S3_XML_PARTS && xml_next(in, in + inlen, "Key", &v, &vl)) {
			if (xml_unescape(&key, v, vl)) {
				rc = XORB_ENOMEM;
				break;
			}
			it.key = key.data ? key.data : "";
		}
		if (kind == S3_XML_UPLOADS && xml_next(in, in + inlen, "UploadId", &v, &vl)) {
			if (xml_unescape(&id, v, vl)) {
				rc = XORB_ENOMEM;
				break;
			}
			it.upload_id = id.data ? id.data : "";
		}
		xml_get(in, inlen, "Size", size, sizeof(size));
		xml_get(in, inlen, "LastModified", when, sizeof(when));
		xml_get(in, inlen, "Initiated", initiated, sizeof(initiated));
		rc = fn(arg, &it);
	}
	xorb_buf_release(&key);
	xorb_buf_release(&id);
	if (rc)
		return rc;
	xml_get(doc, len, "IsTruncated", trunc, sizeof(trunc));
	page->truncated = !strcmp(trunc, "true");
	xml_get(doc, len, next_tag[kind], page->next, sizeof(page->next));
	if (kind == S3_XML_UPLOADS)
		xml_get(doc, len, "NextUploadIdMarker", page->next_id, sizeof(page->next_id));
	return XORB_OK;
}

/*
 * The XML answers of S3, read with expat: see s3_xml.h.
 *
 * One pass over the whole body. expat reports elements; this file keeps the
 * path of local names from the root ("ListBucketResult/Contents/Key") and the
 * text of the innermost element, and hands each element to the reader of the
 * answer at its end tag, so a listing's entries go out one by one and memory
 * stays a parser and a few fixed buffers whatever the page holds. The body,
 * the nesting, one element's text and the entries of a page are capped
 * (S3_XML_* in s3_xml.h). No DTD: a DOCTYPE or an entity declaration stops
 * the parse (entity expansion bombs, external entities), so the only
 * references ever expanded are XML's five entities and character references.
 */
#include "s3_xml.h"

#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xorb_error.h"

#define PATH_MAX_BYTES 512 /* local names from the root, '/'-separated */
#define NS_SEP ' '	   /* expat's "uri local" separator: no name holds a space */

/* The reader of one kind of answer: called at each end tag with the path
 * below the root ("" for the root, "Contents/Key") and the element's text
 * (NUL-terminated; "" for an element with child elements). Returns 0, or a
 * status that stops the parse (with p->err set, or "" for a callback's). */
struct parse;
typedef int (*element_fn)(struct parse *p, const char *path, const char *text, size_t len);

struct parse {
	XML_Parser xp;
	const char *const *roots; /* the root elements accepted, NULL-terminated */
	int root;		  /* index in roots of the document's root */
	element_fn element;
	void *reader;
	int rc;			  /* first failure; the parse stops at it */
	char *err;
	size_t errlen;

	char path[PATH_MAX_BYTES + 1];
	size_t plen, rootlen;
	size_t at[S3_XML_DEPTH_MAX + 1]; /* plen before each level's name */
	int depth;
	size_t entries;		  /* children of the root */
	int parent;		  /* the innermost open element has child elements */
	char text[S3_XML_VALUE_MAX + 1];
	size_t tlen;
};

__attribute__((format(printf, 3, 4))) static void stop(struct parse *p, int rc, const char *fmt, ...)
{
	va_list ap;

	if (p->rc)
		return;
	p->rc = rc;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
	XML_StopParser(p->xp, XML_FALSE);
}

/* Where the parser is. expat 2.9 (Debian 13's, 2.9.0-1~deb13u1) deprecates
 * XML_GetCurrentLineNumber/ColumnNumber for their *64 forms, which 2.5
 * (Debian 12's) lacks: the *64 forms where they exist, and the old ones
 * without the deprecation warning (-Werror) in between. */
#if XML_MAJOR_VERSION > 2 || (XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION >= 9)
#define XML_LINE(xp) XML_GetCurrentLineNumber64(xp)
#define XML_COLUMN(xp) XML_GetCurrentColumnNumber64(xp)
#else
#define XML_LINE(xp) XML_GetCurrentLineNumber(xp)
#define XML_COLUMN(xp) XML_GetCurrentColumnNumber(xp)
#endif

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static unsigned long line(const struct parse *p)
{
	return (unsigned long)XML_LINE(p->xp);
}

static unsigned long column(const struct parse *p)
{
	return (unsigned long)XML_COLUMN(p->xp) + 1;
}
#pragma GCC diagnostic pop

static const char *local_name(const char *name)
{
	const char *sep = strrchr(name, NS_SEP);

	return sep ? sep + 1 : name;
}

static void XMLCALL on_start(void *arg, const XML_Char *name, const XML_Char **attrs)
{
	struct parse *p = arg;
	const char *local = local_name(name);
	size_t n = strlen(local);
	int i;

	if (p->rc)
		return;
	if (p->depth == 0) {
		for (i = 0; p->roots[i] && strcmp(p->roots[i], local); i++)
			;
		if (!p->roots[i]) {
			stop(p, XORB_ESTORE, "is not a %s document (its root element is \"%.64s\")", p->roots[0], local);
			return;
		}
		p->root = i;
		p->rootlen = n;
	}
	if (p->depth == S3_XML_DEPTH_MAX) {
		stop(p, XORB_ESTORE, "nests elements deeper than %d levels (line %lu, column %lu; S3 answers nest 4)",
		     S3_XML_DEPTH_MAX, line(p), column(p));
		return;
	}
	if (p->depth == 1 && ++p->entries > S3_XML_ENTRIES_MAX) {
		stop(p, XORB_ESTORE, "has more than %d entries in one page (line %lu, column %lu; S3 sends at most 1000)",
		     S3_XML_ENTRIES_MAX, line(p), column(p));
		return;
	}
	if (p->plen + (p->depth ? 1 : 0) + n > PATH_MAX_BYTES) {
		stop(p, XORB_ESTORE, "has element names longer than %d bytes along one path (line %lu, column %lu)",
		     PATH_MAX_BYTES, line(p), column(p));
		return;
	}
	p->at[p->depth++] = p->plen;
	if (p->depth > 1)
		p->path[p->plen++] = '/';
	memcpy(p->path + p->plen, local, n + 1);
	p->plen += n;
	p->parent = 0;
	p->tlen = 0;
}

static void XMLCALL on_end(void *arg, const XML_Char *name)
{
	struct parse *p = arg;
	const char *below = p->path + p->rootlen;
	int rc;

	if (p->rc || p->depth == 0)
		return;
	p->text[p->parent ? 0 : p->tlen] = '\0';
	rc = p->element(p, *below ? below + 1 : below, p->text, p->parent ? 0 : p->tlen);
	if (rc) {
		if (!p->rc)
			p->rc = rc;
		XML_StopParser(p->xp, XML_FALSE);
		return;
	}
	p->plen = p->at[--p->depth];
	p->path[p->plen] = '\0';
	p->parent = 1; /* the element we are back in has this child */
	p->tlen = 0;
}

static void XMLCALL on_text(void *arg, const XML_Char *s, int len)
{
	struct parse *p = arg;

	/* the text of an element with children is layout (white space) */
	if (p->rc || p->depth == 0 || p->parent || len <= 0)
		return;
	if ((size_t)len > S3_XML_VALUE_MAX - p->tlen) {
		stop(p, XORB_ESTORE,
		     "has more than %d bytes of text in element \"%s\" (line %lu, column %lu; S3 keys are at most 1024 bytes)",
		     S3_XML_VALUE_MAX, p->path, line(p), column(p));
		return;
	}
	memcpy(p->text + p->tlen, s, (size_t)len);
	p->tlen += (size_t)len;
}

static void refuse_dtd(struct parse *p, const char *what)
{
	stop(p, XORB_ESTORE,
	     "has %s (line %lu, column %lu): DOCTYPE/entity declarations are not accepted in S3 responses", what,
	     line(p), column(p));
}

static void XMLCALL on_doctype(void *arg, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
			       int has_internal_subset)
{
	refuse_dtd(arg, "a DOCTYPE declaration");
}

static void XMLCALL on_entity(void *arg, const XML_Char *name, int is_param, const XML_Char *value, int value_len,
			      const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid,
			      const XML_Char *notation)
{
	refuse_dtd(arg, "an entity declaration");
}

/* Parses doc with p's reader (p->roots, p->element, p->reader set; the rest
 * is set here). XORB_OK, XORB_ESTORE with err, XORB_ENOMEM, or the reader's
 * status. */
static int parse(struct parse *p, const char *doc, size_t len, char *err, size_t errlen)
{
	p->err = err;
	p->errlen = errlen;
	err[0] = '\0';
	/* a server that keeps a slow CompleteMultipartUpload alive with white
	 * space may send it before the declaration, where XML allows none
	 * (Swift sends it after) */
	while (len && (*doc == ' ' || *doc == '\t' || *doc == '\r' || *doc == '\n')) {
		doc++;
		len--;
	}
	if (!len) {
		snprintf(err, errlen, "is empty");
		return XORB_ESTORE;
	}
	if (len > S3_XML_DOC_MAX) {
		snprintf(err, errlen, "is larger than %zu MiB (no S3 answer read here comes near)", S3_XML_DOC_MAX >> 20);
		return XORB_ESTORE;
	}
	p->xp = XML_ParserCreateNS(NULL, NS_SEP);
	if (!p->xp) {
		snprintf(err, errlen, "out of memory");
		return XORB_ENOMEM;
	}
	XML_SetUserData(p->xp, p);
	XML_SetElementHandler(p->xp, on_start, on_end);
	XML_SetCharacterDataHandler(p->xp, on_text);
	XML_SetStartDoctypeDeclHandler(p->xp, on_doctype);
	XML_SetEntityDeclHandler(p->xp, on_entity);
	if (XML_Parse(p->xp, doc, (int)len, XML_TRUE) != XML_STATUS_OK && !p->rc) {
		enum XML_Error e = XML_GetErrorCode(p->xp);

		if (e == XML_ERROR_NO_MEMORY) {
			p->rc = XORB_ENOMEM;
			snprintf(err, errlen, "out of memory");
		} else {
			p->rc = XORB_ESTORE;
			snprintf(err, errlen, "is not valid XML: %s (line %lu, column %lu)", XML_ErrorString(e), line(p),
				 column(p));
		}
	}
	XML_ParserFree(p->xp);
	p->xp = NULL;
	return p->rc;
}

/* Copies text into a field of the reader (sized S3_XML_VALUE_MAX + 1, or
 * cut to size when smaller: message fields). */
static void put(char *field, size_t size, const char *text)
{
	snprintf(field, size, "%s", text);
}

/* ---- error bodies ---- */

static void error_field(struct s3_xml_error *e, const char *path, const char *text)
{
	if (!strcmp(path, "Code"))
		put(e->code, sizeof(e->code), text);
	else if (!strcmp(path, "Message"))
		put(e->message, sizeof(e->message), text);
	else if (!strcmp(path, "Region"))
		put(e->region, sizeof(e->region), text);
}

static int error_element(struct parse *p, const char *path, const char *text, size_t len)
{
	error_field(p->reader, path, text);
	return XORB_OK;
}

int s3_xml_read_error(const char *doc, size_t len, struct s3_xml_error *e)
{
	static const char *const roots[] = { "Error", NULL };
	struct parse *p = calloc(1, sizeof(*p));
	char err[256];
	int rc;

	memset(e, 0, sizeof(*e));
	if (!p)
		return 0;
	p->roots = roots;
	p->element = error_element;
	p->reader = e;
	rc = parse(p, doc, len, err, sizeof(err));
	free(p);
	if (rc)
		memset(e, 0, sizeof(*e)); /* all or nothing */
	return !rc;
}

/* ---- CreateMultipartUpload ---- */

struct initiate {
	int found;
	char id[S3_XML_VALUE_MAX + 1];
};

static int initiate_element(struct parse *p, const char *path, const char *text, size_t len)
{
	struct initiate *in = p->reader;

	if (!strcmp(path, "UploadId")) {
		put(in->id, sizeof(in->id), text);
		in->found = 1;
	}
	return XORB_OK;
}

int s3_xml_read_initiate(const char *doc, size_t len, char **upload_id, char *err, size_t errlen)
{
	static const char *const roots[] = { "InitiateMultipartUploadResult", NULL };
	struct parse *p = calloc(1, sizeof(*p));
	struct initiate *in = calloc(1, sizeof(*in));
	int rc;

	*upload_id = NULL;
	err[0] = '\0';
	if (!p || !in) {
		rc = XORB_ENOMEM;
		goto out;
	}
	p->roots = roots;
	p->element = initiate_element;
	p->reader = in;
	rc = parse(p, doc, len, err, errlen);
	if (!rc && !in->id[0]) {
		snprintf(err, errlen, "has no UploadId");
		rc = XORB_ESTORE;
	}
	if (!rc && !(*upload_id = strdup(in->id)))
		rc = XORB_ENOMEM;
out:
	free(in);
	free(p);
	return rc;
}

/* ---- CompleteMultipartUpload ---- */

static int complete_element(struct parse *p, const char *path, const char *text, size_t len)
{
	struct s3_xml_complete *c = p->reader;

	if (p->root == 1)
		error_field(&c->error, path, text);
	else if (!strcmp(path, "ETag"))
		put(c->etag, sizeof(c->etag), text);
	return XORB_OK;
}

int s3_xml_read_complete(const char *doc, size_t len, struct s3_xml_complete *out, char *err, size_t errlen)
{
	static const char *const roots[] = { "CompleteMultipartUploadResult", "Error", NULL };
	struct parse *p = calloc(1, sizeof(*p));
	int rc;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	if (!p)
		return XORB_ENOMEM;
	p->roots = roots;
	p->element = complete_element;
	p->reader = out;
	rc = parse(p, doc, len, err, errlen);
	if (!rc)
		out->failed = p->root == 1;
	free(p);
	return rc;
}

/* ---- listings ---- */

/* Where a listing's values are, below its root. */
static const struct list_kind {
	const char *root, *entry;
	const char *next;    /* -> page->next */
	const char *next_id; /* -> page->next_id, or NULL */
} kinds[] = {
	[S3_XML_OBJECTS] = { "ListBucketResult", "Contents", "NextContinuationToken", NULL },
	[S3_XML_PARTS] = { "ListPartsResult", "Part", "NextPartNumberMarker", NULL },
	[S3_XML_UPLOADS] = { "ListMultipartUploadsResult", "Upload", "NextKeyMarker", "NextUploadIdMarker" },
};

struct list {
	const struct list_kind *kind;
	s3_xml_item_fn fn;
	void *arg;
	struct s3_xml_page *page;
	/* the entry being read */
	int has_key, has_id;
	char key[S3_XML_VALUE_MAX + 1], id[S3_XML_VALUE_MAX + 1], size[S3_XML_VALUE_MAX + 1];
	char last_modified[S3_XML_VALUE_MAX + 1], initiated[S3_XML_VALUE_MAX + 1];
};

static void entry_reset(struct list *l)
{
	l->has_key = l->has_id = 0;
	l->key[0] = l->id[0] = l->size[0] = l->last_modified[0] = l->initiated[0] = '\0';
}

static int list_element(struct parse *p, const char *path, const char *text, size_t len)
{
	struct list *l = p->reader;
	const struct list_kind *k = l->kind;
	size_t el = strlen(k->entry);
	const char *field;
	int rc;

	if (!strcmp(path, k->entry)) {
		struct s3_xml_item it = { l->has_key ? l->key : NULL, l->has_id ? l->id : NULL, l->size,
					  l->last_modified, l->initiated };

		rc = l->fn(l->arg, &it);
		entry_reset(l);
		return rc;
	}
	if (!strncmp(path, k->entry, el) && path[el] == '/') {
		field = path + el + 1;
		if (!strcmp(field, "Key") && l->kind != &kinds[S3_XML_PARTS]) {
			put(l->key, sizeof(l->key), text);
			l->has_key = 1;
		} else if (!strcmp(field, "UploadId") && l->kind == &kinds[S3_XML_UPLOADS]) {
			put(l->id, sizeof(l->id), text);
			l->has_id = 1;
		} else if (!strcmp(field, "Size")) {
			put(l->size, sizeof(l->size), text);
		} else if (!strcmp(field, "LastModified")) {
			put(l->last_modified, sizeof(l->last_modified), text);
		} else if (!strcmp(field, "Initiated")) {
			put(l->initiated, sizeof(l->initiated), text);
		}
	} else if (!strcmp(path, "IsTruncated")) {
		l->page->truncated = !strcmp(text, "true");
	} else if (!strcmp(path, k->next)) {
		put(l->page->next, sizeof(l->page->next), text);
	} else if (k->next_id && !strcmp(path, k->next_id)) {
		put(l->page->next_id, sizeof(l->page->next_id), text);
	}
	return XORB_OK;
}

int s3_xml_read_list(enum s3_xml_list kind, const char *doc, size_t len, s3_xml_item_fn fn, void *arg,
		     struct s3_xml_page *page, char *err, size_t errlen)
{
	const char *roots[] = { kinds[kind].root, NULL };
	struct parse *p = calloc(1, sizeof(*p));
	struct list *l = calloc(1, sizeof(*l));
	int rc = XORB_ENOMEM;

	memset(page, 0, sizeof(*page));
	err[0] = '\0';
	if (p && l) {
		l->kind = &kinds[kind];
		l->fn = fn;
		l->arg = arg;
		l->page = page;
		p->roots = roots;
		p->element = list_element;
		p->reader = l;
		rc = parse(p, doc, len, err, errlen);
	}
	free(l);
	free(p);
	return rc;
}

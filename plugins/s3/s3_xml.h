/*
 * The XML answers of S3, read into what the "s3" plugin needs: one reader per
 * kind of answer (an error body, CreateMultipartUpload, CompleteMultipartUpload,
 * and the three listings ListObjectsV2, ListParts, ListMultipartUploads).
 * Answers are untrusted network input; every reader takes the whole body and
 * either returns the values or says why the body is unusable.
 *
 * Messages: a reader that fails writes into err a phrase that completes
 * "the S3 server's answer ..." ("is not valid XML: mismatched tag (line 3,
 * column 7)"); the caller names the request in front of it. err is "" when
 * the failure came from the caller's own callback (which keeps its message),
 * and may be "" for XORB_ENOMEM.
 *
 * Parsed with expat, one pass, no DTD: a DOCTYPE or an entity declaration
 * is refused. The text handed out is decoded (entities, character
 * references, CDATA) UTF-8 without NUL bytes; namespaces are ignored (S3's
 * xmlns, or any prefix). Nothing here prints, keeps memory beyond the call
 * (except where stated) or keeps state between calls.
 */
#ifndef XORB_S3_XML_H
#define XORB_S3_XML_H

#include <stddef.h>

/*
 * Limits on an answer; hitting one fails the reading with a message naming it.
 * S3 itself stays far below each: a page holds at most 1000 entries (a few
 * MiB with 1024-byte keys), answers nest 4 elements deep, keys are at most
 * 1024 bytes and upload ids, ETags and tokens are shorter.
 */
#define S3_XML_DOC_MAX ((size_t)32 << 20) /* bytes of one body */
#define S3_XML_DEPTH_MAX 16		  /* levels of nested elements */
#define S3_XML_VALUE_MAX 4096		  /* bytes of one element's text, decoded */
#define S3_XML_ENTRIES_MAX 10000	  /* children of the root: a page's entries and fields */

/* An <Error> document, cut to these sizes (for messages and retry rules). */
struct s3_xml_error {
	char code[64];
	char message[300];
	char region[64];
};

/* Reads an error body. 1 when doc is a whole, valid S3 <Error> document
 * (fields "" when absent), 0 when it is not (empty, HTML from a proxy, cut,
 * refused): e is all "" then and the caller falls back on the HTTP status. */
int s3_xml_read_error(const char *doc, size_t len, struct s3_xml_error *e);

/* Reads the UploadId of a CreateMultipartUpload answer into *upload_id
 * (malloc'd, never empty: the caller frees it; NULL on failure). XORB_OK,
 * XORB_ESTORE (err says why), XORB_ENOMEM. */
int s3_xml_read_initiate(const char *doc, size_t len, char **upload_id, char *err, size_t errlen);

/* A CompleteMultipartUpload answer: S3 may answer 200 and report the failure
 * in the body, as an <Error> document. */
struct s3_xml_complete {
	int failed;		 /* the body is an <Error> document: see error */
	struct s3_xml_error error;
	char etag[S3_XML_VALUE_MAX + 1]; /* the object's ETag as sent (quoted); "" when absent */
};

/* XORB_OK (out filled in), XORB_ESTORE (err says why), XORB_ENOMEM. */
int s3_xml_read_complete(const char *doc, size_t len, struct s3_xml_complete *out, char *err, size_t errlen);

/* One entry of a listing. The strings are valid during the callback only. */
struct s3_xml_item {
	const char *key;	   /* Key; NULL when the entry has none (parts have none) */
	const char *upload_id;	   /* UploadId (uploads); NULL when absent */
	const char *size;	   /* Size; "" when absent */
	const char *last_modified; /* LastModified (objects, parts); "" when absent */
	const char *initiated;	   /* Initiated (uploads); "" when absent */
};

/* Called for each entry, in document order; anything but 0 stops the reading,
 * which returns it (err stays ""). */
typedef int (*s3_xml_item_fn)(void *arg, const struct s3_xml_item *it);

enum s3_xml_list {
	S3_XML_OBJECTS, /* ListObjectsV2: ListBucketResult/Contents */
	S3_XML_PARTS,	/* ListParts: ListPartsResult/Part */
	S3_XML_UPLOADS, /* ListMultipartUploads: ListMultipartUploadsResult/Upload */
};

/* Where the next page of a listing starts. */
struct s3_xml_page {
	int truncated;			  /* IsTruncated is "true" */
	char next[S3_XML_VALUE_MAX + 1];  /* NextContinuationToken, NextPartNumberMarker or
					   * NextKeyMarker; "" when absent */
	char next_id[S3_XML_VALUE_MAX + 1]; /* NextUploadIdMarker (uploads); "" when absent */
};

/* Reads one page of a listing of the given kind: fn for each entry, then
 * *page. XORB_OK, XORB_ESTORE (err says why), XORB_ENOMEM, or fn's code. */
int s3_xml_read_list(enum s3_xml_list kind, const char *doc, size_t len, s3_xml_item_fn fn, void *arg,
		     struct s3_xml_page *page, char *err, size_t errlen);

#endif

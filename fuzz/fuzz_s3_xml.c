/*
 * libFuzzer target: every reader of the S3 plugin's XML answers
 * (plugins/s3/s3_xml.h) on the same bytes: an error body,
 * CreateMultipartUpload, CompleteMultipartUpload, and the three listings
 * (ListObjectsV2, ListParts, ListMultipartUploads). These are the bytes an
 * S3 endpoint, or whatever answers in its place, sends back.
 *
 * Invariants: values are NUL-terminated and within S3_XML_VALUE_MAX; a
 * failure of a reader says why, except when the caller's callback stopped it
 * (then it returns that callback's status with an empty reason); an error
 * body is all or nothing; what the error reader takes for an <Error>
 * document, the CompleteMultipartUpload reader takes for a failure with the
 * same code and message; a listing never hands out more than
 * S3_XML_ENTRIES_MAX entries; and the callback that stops at entry k (chosen
 * from the input) sees exactly k entries.
 */
#include <string.h>

#include "fuzz_util.h"
#include "s3_xml.h"
#include "xorb_error.h"

#define STOPPED XORB_EIO /* what the callback returns to stop a listing */

struct count {
	size_t n;
	size_t stop_at; /* 1-based; 0: never */
};

static void check_value(const char *s, int may_be_null)
{
	if (!s) {
		FUZZ_CHECK(may_be_null);
		return;
	}
	FUZZ_CHECK(strnlen(s, S3_XML_VALUE_MAX + 1) <= S3_XML_VALUE_MAX);
}

static int on_item(void *arg, const struct s3_xml_item *it)
{
	struct count *c = arg;

	check_value(it->key, 1);
	check_value(it->upload_id, 1);
	check_value(it->size, 0);
	check_value(it->last_modified, 0);
	check_value(it->initiated, 0);
	c->n++;
	FUZZ_CHECK(c->n <= S3_XML_ENTRIES_MAX);
	return c->stop_at && c->n == c->stop_at ? STOPPED : XORB_OK;
}

static void check_failure(int rc, const char *err, size_t errlen)
{
	FUZZ_CHECK(rc == XORB_ESTORE || rc == XORB_ENOMEM);
	FUZZ_CHECK(strnlen(err, errlen) < errlen);
	FUZZ_CHECK(rc == XORB_ENOMEM || err[0] != '\0');
}

static void fuzz_lists(const char *doc, size_t len, uint64_t h)
{
	static struct s3_xml_page page; /* 8 KiB: off the stack */
	char err[512];
	int kind;

	for (kind = S3_XML_OBJECTS; kind <= S3_XML_UPLOADS; kind++) {
		struct count c = { 0, fuzz_pick(h, (unsigned)(16 * kind), 4) };
		int rc = s3_xml_read_list((enum s3_xml_list)kind, doc, len, on_item, &c, &page, err, sizeof(err));

		if (rc == STOPPED) {
			FUZZ_CHECK(c.stop_at && c.n == c.stop_at && err[0] == '\0');
			continue;
		}
		FUZZ_CHECK(!c.stop_at || c.n < c.stop_at);
		if (rc) {
			check_failure(rc, err, sizeof(err));
			continue;
		}
		FUZZ_CHECK(page.truncated == 0 || page.truncated == 1);
		check_value(page.next, 0);
		check_value(page.next_id, 0);
		FUZZ_CHECK(kind == S3_XML_UPLOADS || page.next_id[0] == '\0');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct s3_xml_complete done; /* 4 KiB: off the stack */
	char *doc = fuzz_strndup(data, len), err[512], *id = NULL;
	struct s3_xml_error e;
	int is_error, rc;

	if (!doc)
		return 0;
	/* bytes as they came; the NUL fuzz_strndup adds is not part of them */
	is_error = s3_xml_read_error(doc, len, &e);
	FUZZ_CHECK(is_error == 0 || is_error == 1);
	check_value(e.code, 0);
	if (!is_error)
		FUZZ_CHECK(!e.code[0] && !e.message[0] && !e.region[0]);

	rc = s3_xml_read_initiate(doc, len, &id, err, sizeof(err));
	if (rc) {
		FUZZ_CHECK(id == NULL);
		check_failure(rc, err, sizeof(err));
	} else {
		FUZZ_CHECK(id && id[0]);
		check_value(id, 0);
		free(id);
	}

	rc = s3_xml_read_complete(doc, len, &done, err, sizeof(err));
	if (rc) {
		check_failure(rc, err, sizeof(err));
	} else {
		FUZZ_CHECK(done.failed == 0 || done.failed == 1);
		check_value(done.etag, 0);
		FUZZ_CHECK(!done.failed || done.etag[0] == '\0');
	}
	/* the same parse: <Error> documents are the same to both readers */
	FUZZ_CHECK(is_error == (rc == XORB_OK && done.failed));
	if (is_error)
		FUZZ_CHECK(!strcmp(done.error.code, e.code) && !strcmp(done.error.message, e.message));

	fuzz_lists(doc, len, fuzz_hash(data, len));
	free(doc);
	return 0;
}

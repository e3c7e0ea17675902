/*
 * Unit tests of the S3 plugin's answer readers (plugins/s3/s3_xml.h): every
 * kind of answer the plugin reads, in the shapes OpenStack Swift's s3api and
 * AWS send them, gives the values the plugin used before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "s3_xml.h"
#include "xorb_error.h"

#define DECL "<?xml version='1.0' encoding='UTF-8'?>\n"
#define NS " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

/* The entries a listing delivered, as "key|upload_id|size|last_modified|initiated". */
struct seen {
	int n;
	char item[1100][1200];
	int stop_at; /* 1-based entry whose callback returns XORB_EIO; 0: none */
};

static int collect(void *arg, const struct s3_xml_item *it)
{
	struct seen *s = arg;

	if (s->n < (int)(sizeof(s->item) / sizeof(s->item[0])))
		snprintf(s->item[s->n], sizeof(s->item[0]), "%s|%s|%s|%s|%s", it->key ? it->key : "(none)",
			 it->upload_id ? it->upload_id : "(none)", it->size, it->last_modified, it->initiated);
	s->n++;
	return s->stop_at && s->n == s->stop_at ? XORB_EIO : XORB_OK;
}

/* Reads doc (a C string) as a listing of kind into *s and *page; returns the status. */
static int read_list(enum s3_xml_list kind, const char *doc, struct seen *s, struct s3_xml_page *page, char *err,
		     size_t errlen)
{
	return s3_xml_read_list(kind, doc, strlen(doc), collect, s, page, err, errlen);
}

static struct seen *seen_new(void)
{
	struct seen *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	return s;
}

static void test_error_bodies(void **state)
{
	static const char swift[] = DECL "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
				       "<RequestId>tx1</RequestId><Key>b/k</Key></Error>";
	static const char aws[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AuthorizationHeaderMalformed</Code>"
				  "<Message>the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message>"
				  "<Region>eu-west-1</Region><RequestId>X</RequestId><HostId>Y</HostId></Error>";
	struct s3_xml_error e;

	assert_int_equal(s3_xml_read_error(swift, strlen(swift), &e), 1);
	assert_string_equal(e.code, "NoSuchKey");
	assert_string_equal(e.message, "The specified key does not exist.");
	assert_string_equal(e.region, "");
	assert_int_equal(s3_xml_read_error(aws, strlen(aws), &e), 1);
	assert_string_equal(e.code, "AuthorizationHeaderMalformed");
	assert_string_equal(e.message, "the region 'us-east-1' is wrong; expecting 'eu-west-1'");
	assert_string_equal(e.region, "eu-west-1");
	/* HEAD answers have no body; proxies send HTML: the HTTP status speaks */
	assert_int_equal(s3_xml_read_error(NULL, 0, &e), 0);
	assert_string_equal(e.code, "");
	assert_int_equal(s3_xml_read_error("Bad Gateway", 11, &e), 0);
	assert_string_equal(e.code, "");
	assert_string_equal(e.message, "");
}

static void test_error_fields_are_cut_to_size(void **state)
{
	char doc[2048], msg[1000];
	struct s3_xml_error e;

	memset(msg, 'm', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	snprintf(doc, sizeof(doc), "<Error><Code>InternalError</Code><Message>%s</Message></Error>", msg);
	assert_int_equal(s3_xml_read_error(doc, strlen(doc), &e), 1);
	assert_string_equal(e.code, "InternalError");
	assert_int_equal(strlen(e.message), sizeof(e.message) - 1);
}

static void test_initiate(void **state)
{
	static const char doc[] = DECL "<InitiateMultipartUploadResult" NS "><Bucket>xorb</Bucket>"
				       "<Key>backups/t-qa/x.tar.zst</Key>"
				       "<UploadId>ZDk2ZjI0ZjEtNjQ1Ny00YzhkLWI5NGYtM2QxNjA1MDA4ZjM0</UploadId>"
				       "</InitiateMultipartUploadResult>";
	static const char none[] = DECL "<InitiateMultipartUploadResult" NS "><Bucket>xorb</Bucket>"
					"<Key>k</Key><UploadId></UploadId></InitiateMultipartUploadResult>";
	char err[256], *id = NULL;

	assert_int_equal(s3_xml_read_initiate(doc, strlen(doc), &id, err, sizeof(err)), XORB_OK);
	assert_string_equal(id, "ZDk2ZjI0ZjEtNjQ1Ny00YzhkLWI5NGYtM2QxNjA1MDA4ZjM0");
	free(id);
	assert_int_equal(s3_xml_read_initiate(none, strlen(none), &id, err, sizeof(err)), XORB_ESTORE);
	assert_null(id);
	assert_string_equal(err, "has no UploadId");
}

static void test_complete(void **state)
{
	static const char ok[] = DECL "<CompleteMultipartUploadResult" NS "><Location>http://127.0.0.1:8080/xorb/k</Location>"
				      "<Bucket>xorb</Bucket><Key>k</Key>"
				      "<ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag></CompleteMultipartUploadResult>";
	/* Swift: 200, whitespace while it works, then the error */
	static const char failed[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n \n \n\n<Error><Code>InvalidPart</Code>"
				     "<Message>One or more of the specified parts could not be found.</Message>"
				     "<UploadId>abc</UploadId></Error>";
	struct s3_xml_complete c;
	char err[256];

	assert_int_equal(s3_xml_read_complete(ok, strlen(ok), &c, err, sizeof(err)), XORB_OK);
	assert_false(c.failed);
	assert_string_equal(c.etag, "\"3858f62230ac3c915f300c664312c11f-9\"");
	assert_int_equal(s3_xml_read_complete(failed, strlen(failed), &c, err, sizeof(err)), XORB_OK);
	assert_true(c.failed);
	assert_string_equal(c.error.code, "InvalidPart");
	assert_string_equal(c.error.message, "One or more of the specified parts could not be found.");
	assert_string_equal(c.etag, "");
}

static void test_list_objects(void **state)
{
	static const char doc[] =
		DECL "<ListBucketResult" NS "><Name>xorb</Name><Prefix>backups/</Prefix><KeyCount>2</KeyCount>"
		"<MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>"
		"<NextContinuationToken>YmFja3Vwcy90LXFhLzIwMjYuanNvbg==</NextContinuationToken>"
		"<Contents><Key>backups/t-qa/20260101T000000Z.json</Key><LastModified>2026-01-01T00:00:01.000Z</LastModified>"
		"<ETag>\"d41d8cd98f00b204e9800998ecf8427e\"</ETag><Size>1234</Size>"
		"<Owner><ID>test:tester</ID><DisplayName>test:tester</DisplayName></Owner>"
		"<StorageClass>STANDARD</StorageClass></Contents>"
		"<Contents><Key>backups/unf &amp; \xc3\xa9/a&lt;b&gt;&quot;c&apos;.tar.zst</Key>"
		"<LastModified>2026-01-02T03:04:05.000Z</LastModified><ETag>\"x-2\"</ETag><Size>10485760</Size>"
		"<StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>";
	struct seen *s = seen_new();
	struct s3_xml_page page;
	char err[256];

	assert_int_equal(read_list(S3_XML_OBJECTS, doc, s, &page, err, sizeof(err)), XORB_OK);
	assert_int_equal(s->n, 2);
	assert_string_equal(s->item[0], "backups/t-qa/20260101T000000Z.json|(none)|1234|2026-01-01T00:00:01.000Z|");
	assert_string_equal(s->item[1], "backups/unf & \xc3\xa9/a<b>\"c'.tar.zst|(none)|10485760|2026-01-02T03:04:05.000Z|");
	assert_true(page.truncated);
	assert_string_equal(page.next, "YmFja3Vwcy90LXFhLzIwMjYuanNvbg==");
	free(s);
}

static void test_list_objects_last_and_empty_pages(void **state)
{
	static const char last[] = DECL "<ListBucketResult" NS "><Name>xorb</Name><Prefix></Prefix><KeyCount>1</KeyCount>"
				       "<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
				       "<Contents><Key>a</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>"
				       "<Size>0</Size></Contents></ListBucketResult>";
	static const char empty[] = DECL "<ListBucketResult" NS "><Name>xorb</Name><Prefix>none/</Prefix>"
					"<KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
					"</ListBucketResult>";
	static const char nokey[] = DECL "<ListBucketResult" NS "><IsTruncated>false</IsTruncated>"
					"<Contents><Size>1</Size></Contents></ListBucketResult>";
	struct seen *s = seen_new();
	struct s3_xml_page page;
	char err[256];

	assert_int_equal(read_list(S3_XML_OBJECTS, last, s, &page, err, sizeof(err)), XORB_OK);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->item[0], "a|(none)|0|2026-01-01T00:00:00.000Z|");
	assert_false(page.truncated);
	assert_string_equal(page.next, "");
	memset(s, 0, sizeof(*s));
	assert_int_equal(read_list(S3_XML_OBJECTS, empty, s, &page, err, sizeof(err)), XORB_OK);
	assert_int_equal(s->n, 0);
	assert_false(page.truncated);
	/* an entry without a key reaches the caller, which refuses it */
	memset(s, 0, sizeof(*s));
	assert_int_equal(read_list(S3_XML_OBJECTS, nokey, s, &page, err, sizeof(err)), XORB_OK);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->item[0], "(none)|(none)|1||");
	free(s);
}

static void test_callback_stops_the_listing(void **state)
{
	static const char doc[] = DECL "<ListBucketResult" NS "><IsTruncated>false</IsTruncated>"
				       "<Contents><Key>a</Key></Contents><Contents><Key>b</Key></Contents>"
				       "<Contents><Key>c</Key></Contents></ListBucketResult>";
	struct seen *s = seen_new();
	struct s3_xml_page page;
	char err[256];

	s->stop_at = 2;
	assert_int_equal(read_list(S3_XML_OBJECTS, doc, s, &page, err, sizeof(err)), XORB_EIO);
	assert_int_equal(s->n, 2);
	assert_string_equal(err, "");
	free(s);
}

static void test_list_parts(void **state)
{
	static const char doc[] =
		DECL "<ListPartsResult" NS "><Bucket>xorb</Bucket><Key>backups/t-qa/x.tar.zst</Key><UploadId>U1</UploadId>"
		"<Initiator><ID>test:tester</ID><DisplayName>test:tester</DisplayName></Initiator>"
		"<Owner><ID>test:tester</ID><DisplayName>test:tester</DisplayName></Owner>"
		"<StorageClass>STANDARD</StorageClass><PartNumberMarker>0</PartNumberMarker>"
		"<NextPartNumberMarker>2</NextPartNumberMarker><MaxParts>2</MaxParts><IsTruncated>true</IsTruncated>"
		"<Part><PartNumber>1</PartNumber><LastModified>2026-01-01T00:00:01.000Z</LastModified>"
		"<ETag>\"a\"</ETag><Size>5242880</Size></Part>"
		"<Part><PartNumber>2</PartNumber><LastModified>2026-01-01T00:00:09.000Z</LastModified>"
		"<ETag>\"b\"</ETag><Size>5242880</Size></Part></ListPartsResult>";
	struct seen *s = seen_new();
	struct s3_xml_page page;
	char err[256];

	assert_int_equal(read_list(S3_XML_PARTS, doc, s, &page, err, sizeof(err)), XORB_OK);
	assert_int_equal(s->n, 2);
	assert_string_equal(s->item[0], "(none)|(none)|5242880|2026-01-01T00:00:01.000Z|");
	assert_string_equal(s->item[1], "(none)|(none)|5242880|2026-01-01T00:00:09.000Z|");
	assert_true(page.truncated);
	assert_string_equal(page.next, "2");
	free(s);
}

static void test_list_uploads(void **state)
{
	static const char doc[] =
		DECL "<ListMultipartUploadsResult" NS "><Bucket>xorb</Bucket><KeyMarker></KeyMarker>"
		"<UploadIdMarker></UploadIdMarker><NextKeyMarker>unf &amp; \xc3\xa9/b</NextKeyMarker>"
		"<NextUploadIdMarker>U2</NextUploadIdMarker><Prefix>unf &amp; \xc3\xa9/</Prefix>"
		"<MaxUploads>2</MaxUploads><IsTruncated>true</IsTruncated>"
		"<Upload><Key>unf &amp; \xc3\xa9/a</Key><UploadId>U1</UploadId>"
		"<Initiator><ID>test:tester</ID><DisplayName>test:tester</DisplayName></Initiator>"
		"<Owner><ID>test:tester</ID><DisplayName>test:tester</DisplayName></Owner>"
		"<StorageClass>STANDARD</StorageClass><Initiated>2026-01-01T00:00:00.000Z</Initiated></Upload>"
		"<Upload><Key>unf &amp; \xc3\xa9/b</Key><UploadId>U2</UploadId>"
		"<StorageClass>STANDARD</StorageClass><Initiated>2026-01-01T00:00:02.000Z</Initiated></Upload>"
		"</ListMultipartUploadsResult>";
	struct seen *s = seen_new();
	struct s3_xml_page page;
	char err[256];

	assert_int_equal(read_list(S3_XML_UPLOADS, doc, s, &page, err, sizeof(err)), XORB_OK);
	assert_int_equal(s->n, 2);
	assert_string_equal(s->item[0], "unf & \xc3\xa9/a|U1|||2026-01-01T00:00:00.000Z");
	assert_string_equal(s->item[1], "unf & \xc3\xa9/b|U2|||2026-01-01T00:00:02.000Z");
	assert_true(page.truncated);
	assert_string_equal(page.next, "unf & \xc3\xa9/b");
	assert_string_equal(page.next_id, "U2");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_bodies),
		cmocka_unit_test(test_error_fields_are_cut_to_size),
		cmocka_unit_test(test_initiate),
		cmocka_unit_test(test_complete),
		cmocka_unit_test(test_list_objects),
		cmocka_unit_test(test_list_objects_last_and_empty_pages),
		cmocka_unit_test(test_callback_stops_the_listing),
		cmocka_unit_test(test_list_parts),
		cmocka_unit_test(test_list_uploads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

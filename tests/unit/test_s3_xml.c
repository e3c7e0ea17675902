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

/* --- what the hand parser before expat got wrong (each failed on it) --- */

/* CDATA is text; a comment is not an entry. Before: the key came back as
 * "<![CDATA[...]]>" and the commented-out entry was listed. */
static void test_cdata_and_comments(void **state)
{
	static const char doc[] = DECL "<ListBucketResult" NS "><IsTruncated>false</IsTruncated>"
				       "<!-- <Contents><Key>ghost</Key></Contents> -->"
				       "<Contents><Key><![CDATA[a&b<c>]]></Key><Size>1</Size></Contents>"
				       "<Contents><Key>x<!-- y -->z</Key><Size>2</Size></Contents></ListBucketResult>";
	struct seen *s = seen_new();
	struct s3_xml_page page;
	char err[256];

	assert_int_equal(read_list(S3_XML_OBJECTS, doc, s, &page, err, sizeof(err)), XORB_OK);
	assert_int_equal(s->n, 2);
	assert_string_equal(s->item[0], "a&b<c>|(none)|1||");
	assert_string_equal(s->item[1], "xz|(none)|2||");
	free(s);
}

/* A page cut short (a proxy, a server bug) is not a shorter page. Before:
 * the entries up to the cut were listed and the next page asked for with
 * the token, so the rest of this page was silently skipped. */
static void test_cut_page_is_refused(void **state)
{
	static const char doc[] = DECL "<ListBucketResult" NS "><Name>xorb</Name><IsTruncated>true</IsTruncated>"
				       "<NextContinuationToken>T</NextContinuationToken>"
				       "<Contents><Key>a</Key></Contents>\n<Contents><Key>b</Key></Contents>\n<Contents><Ke";
	struct seen *s = seen_new();
	struct s3_xml_page page;
	char err[256];

	assert_int_equal(read_list(S3_XML_OBJECTS, doc, s, &page, err, sizeof(err)), XORB_ESTORE);
	assert_string_equal(err, "is not valid XML: unclosed token (line 4, column 11)");
	free(s);
}

/* A 200 whose body is some other document (a portal's page) is not an empty
 * listing. Before: no <Contents>, no <IsTruncated>: an empty last page. */
static void test_other_document_is_refused(void **state)
{
	static const char html[] = "<html><head><title>Login</title></head><body>Sign in</body></html>";
	static const char other[] = DECL "<ListAllMyBucketsResult" NS "><Buckets/></ListAllMyBucketsResult>";
	struct seen *s = seen_new();
	struct s3_xml_page page;
	char err[256];

	assert_int_equal(read_list(S3_XML_OBJECTS, html, s, &page, err, sizeof(err)), XORB_ESTORE);
	assert_string_equal(err, "is not a ListBucketResult document (its root element is \"html\")");
	assert_int_equal(read_list(S3_XML_UPLOADS, other, s, &page, err, sizeof(err)), XORB_ESTORE);
	assert_string_equal(err,
			    "is not a ListMultipartUploadsResult document (its root element is \"ListAllMyBucketsResult\")");
	assert_int_equal(s->n, 0);
	free(s);
}

/* Elements are found by where they are, with any namespace prefix, not by
 * the text "<Key>". Before: a prefixed document listed nothing, and a Key
 * inside Owner was taken for the entry's key. */
static void test_elements_by_path(void **state)
{
	static const char prefixed[] = DECL "<s3:ListBucketResult xmlns:s3=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
					    "<s3:IsTruncated>false</s3:IsTruncated><s3:Contents><s3:Key>p</s3:Key>"
					    "<s3:Size>3</s3:Size></s3:Contents></s3:ListBucketResult>";
	static const char nested[] = DECL "<ListBucketResult" NS "><IsTruncated>false</IsTruncated><Contents>"
					  "<Owner><Key>owner-key</Key></Owner><Key >real</Key ><KeyCount>9</KeyCount>"
					  "</Contents></ListBucketResult>";
	struct seen *s = seen_new();
	struct s3_xml_page page;
	char err[256];

	assert_int_equal(read_list(S3_XML_OBJECTS, prefixed, s, &page, err, sizeof(err)), XORB_OK);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->item[0], "p|(none)|3||");
	memset(s, 0, sizeof(*s));
	assert_int_equal(read_list(S3_XML_OBJECTS, nested, s, &page, err, sizeof(err)), XORB_OK);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->item[0], "real|(none)|||");
	free(s);
}

/* Character references to what XML forbids, and entities it does not
 * define, are errors. Before: "&#0;" cut the key at a NUL ("a&#0;b" listed
 * as "a"), "&nbsp;" was kept as it stood. */
static void test_bad_references_are_refused(void **state)
{
	static const char nul[] = DECL "<ListBucketResult" NS "><IsTruncated>false</IsTruncated>"
				       "<Contents><Key>a&#0;b</Key></Contents></ListBucketResult>";
	static const char nbsp[] = DECL "<ListBucketResult" NS "><IsTruncated>false</IsTruncated>"
					"<Contents><Key>a&nbsp;b</Key></Contents></ListBucketResult>";
	struct seen *s = seen_new();
	struct s3_xml_page page;
	char err[256];

	assert_int_equal(read_list(S3_XML_OBJECTS, nul, s, &page, err, sizeof(err)), XORB_ESTORE);
	assert_string_equal(err, "is not valid XML: reference to invalid character number (line 2, column 115)");
	assert_int_equal(read_list(S3_XML_OBJECTS, nbsp, s, &page, err, sizeof(err)), XORB_ESTORE);
	assert_string_equal(err, "is not valid XML: undefined entity (line 2, column 115)");
	assert_int_equal(s->n, 0);
	free(s);
}

/* --- decoding --- */

static void test_entities_and_references(void **state)
{
	static const char doc[] = DECL "<ListBucketResult" NS "><IsTruncated>false</IsTruncated><Contents>"
				       "<Key>&amp;&lt;&gt;&quot;&apos; &#x41;&#66;&#x1F600; \xe2\x82\xac&#13;</Key>"
				       "</Contents></ListBucketResult>";
	/* the declared encoding is honoured: Latin-1 e-acute becomes UTF-8 */
	static const char latin1[] = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><ListBucketResult>"
				     "<Contents><Key>caf\xe9</Key></Contents></ListBucketResult>";
	struct seen *s = seen_new();
	struct s3_xml_page page;
	char err[256];

	assert_int_equal(read_list(S3_XML_OBJECTS, doc, s, &page, err, sizeof(err)), XORB_OK);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->item[0], "&<>\"' AB\xf0\x9f\x98\x80 \xe2\x82\xac\r|(none)|||");
	memset(s, 0, sizeof(*s));
	assert_int_equal(read_list(S3_XML_OBJECTS, latin1, s, &page, err, sizeof(err)), XORB_OK);
	assert_string_equal(s->item[0], "caf\xc3\xa9|(none)|||");
	free(s);
}

/* Text is the element's own: layout around child elements is not kept, and
 * an empty element is an empty value. */
static void test_layout_and_empty_elements(void **state)
{
	static const char doc[] = DECL "<ListBucketResult" NS ">\n  <IsTruncated>true</IsTruncated>\n"
				       "  <NextContinuationToken/>\n  <Contents>\n    <Key> sp ace </Key>\n"
				       "    <Size>7</Size>\n  </Contents>\n  <Contents><Key/></Contents>\n</ListBucketResult>\n";
	struct seen *s = seen_new();
	struct s3_xml_page page;
	char err[256];

	assert_int_equal(read_list(S3_XML_OBJECTS, doc, s, &page, err, sizeof(err)), XORB_OK);
	assert_int_equal(s->n, 2);
	assert_string_equal(s->item[0], " sp ace |(none)|7||");
	assert_string_equal(s->item[1], "|(none)|||");
	assert_true(page.truncated);
	assert_string_equal(page.next, "");
	free(s);
}

/* --- refusals --- */

static void test_dtd_is_refused(void **state)
{
	static const char laughs[] =
		"<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
		" <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
		" <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
		" <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n]>\n"
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>&lol3;</Key></Contents></ListBucketResult>";
	static const char external[] = "<?xml version=\"1.0\"?>\n<!DOCTYPE Error [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
				       "<Error><Code>&x;</Code></Error>";
	static const char plain[] = "<!DOCTYPE Error><Error><Code>NoSuchKey</Code></Error>";
	struct seen *s = seen_new();
	struct s3_xml_page page;
	struct s3_xml_error e;
	char err[256], *id = NULL;

	assert_int_equal(read_list(S3_XML_OBJECTS, laughs, s, &page, err, sizeof(err)), XORB_ESTORE);
	assert_string_equal(err, "has a DOCTYPE declaration (line 2, column 16): DOCTYPE/entity declarations are not "
				 "accepted in S3 responses");
	assert_int_equal(s->n, 0);
	assert_int_equal(s3_xml_read_initiate(external, strlen(external), &id, err, sizeof(err)), XORB_ESTORE);
	assert_null(id);
	assert_non_null(strstr(err, "DOCTYPE/entity declarations are not accepted in S3 responses"));
	/* an error body with a DTD is no S3 error document: the status speaks */
	assert_int_equal(s3_xml_read_error(external, strlen(external), &e), 0);
	assert_string_equal(e.code, "");
	assert_int_equal(s3_xml_read_error(plain, strlen(plain), &e), 0);
	assert_string_equal(e.code, "");
	free(s);
}

/* Broken documents: every reader says so, with expat's reason and where. */
static void test_broken_documents(void **state)
{
	static const char mismatched[] = DECL "<InitiateMultipartUploadResult><UploadId>U</Upload>"
					      "</InitiateMultipartUploadResult>";
	static const char cut[] = DECL "<CompleteMultipartUploadResult" NS "><ETag>\"abc-2\"</ETag>";
	static const char cut_error[] = DECL "<Error><Code>NoSuchKey</Code><Message>gone";
	static const char two_roots[] = "<Error><Code>A</Code></Error><Error><Code>B</Code></Error>";
	struct s3_xml_complete c;
	struct s3_xml_error e;
	char err[256], *id = NULL;

	assert_int_equal(s3_xml_read_initiate(mismatched, strlen(mismatched), &id, err, sizeof(err)), XORB_ESTORE);
	assert_string_equal(err, "is not valid XML: mismatched tag (line 2, column 45)");
	assert_null(id);
	assert_int_equal(s3_xml_read_initiate("", 0, &id, err, sizeof(err)), XORB_ESTORE);
	assert_string_equal(err, "is empty");
	assert_int_equal(s3_xml_read_complete(cut, strlen(cut), &c, err, sizeof(err)), XORB_ESTORE);
	assert_string_equal(err, "is not valid XML: no element found (line 2, column 100)");
	assert_int_equal(s3_xml_read_complete(" \n\n ", 4, &c, err, sizeof(err)), XORB_ESTORE);
	assert_string_equal(err, "is empty");
	assert_int_equal(s3_xml_read_complete("OK", 2, &c, err, sizeof(err)), XORB_ESTORE);
	assert_string_equal(err, "is not valid XML: syntax error (line 1, column 1)");
	/* all or nothing: no Code from a cut error body */
	assert_int_equal(s3_xml_read_error(cut_error, strlen(cut_error), &e), 0);
	assert_string_equal(e.code, "");
	assert_int_equal(s3_xml_read_error(two_roots, strlen(two_roots), &e), 0);
	assert_string_equal(e.code, "");
}

/* --- limits --- */

/* A page of 1000 entries (S3's most) with keys of 1024 bytes (S3's
 * longest) is read whole; the entries go out one by one. */
static void test_page_of_1000(void **state)
{
	size_t cap = (size_t)1200 * 1300, n = 0;
	char *doc = malloc(cap), key[1025], err[256];
	struct seen *s = seen_new();
	struct s3_xml_page page;
	int i;

	assert_non_null(doc);
	n += (size_t)snprintf(doc + n, cap - n, DECL "<ListBucketResult" NS "><Name>xorb</Name><KeyCount>1000</KeyCount>"
						   "<MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>"
						   "<NextContinuationToken>next</NextContinuationToken>");
	for (i = 0; i < 1000; i++) {
		memset(key, 'k', 1024);
		snprintf(key, sizeof(key), "%04d", i);
		key[4] = 'k';
		key[1024] = '\0';
		n += (size_t)snprintf(doc + n, cap - n,
				      "<Contents><Key>%s</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>"
				      "<ETag>\"e\"</ETag><Size>%d</Size><StorageClass>STANDARD</StorageClass></Contents>",
				      key, i);
	}
	n += (size_t)snprintf(doc + n, cap - n, "</ListBucketResult>");
	assert_true(n < cap);
	assert_int_equal(s3_xml_read_list(S3_XML_OBJECTS, doc, n, collect, s, &page, err, sizeof(err)), XORB_OK);
	assert_int_equal(s->n, 1000);
	assert_int_equal(strlen(s->item[999]), 1024 + strlen("|(none)|999|2026-01-01T00:00:00.000Z|"));
	assert_memory_equal(s->item[999], "0999kkkk", 8);
	assert_true(page.truncated);
	assert_string_equal(page.next, "next");
	free(s);
	free(doc);
}

static void test_entries_limit(void **state)
{
	size_t cap = (size_t)(S3_XML_ENTRIES_MAX + 10) * 40, n = 0;
	char *doc = malloc(cap), err[256];
	struct seen *s = seen_new();
	struct s3_xml_page page;
	int i;

	assert_non_null(doc);
	n += (size_t)snprintf(doc + n, cap - n, "<ListPartsResult><IsTruncated>false</IsTruncated>");
	for (i = 1; i < S3_XML_ENTRIES_MAX; i++) /* with IsTruncated: exactly at the limit */
		n += (size_t)snprintf(doc + n, cap - n, "<Part/>");
	/* cut before its end tag: refused, after the entries up to the cut went
	 * out (the callers report the failure, so nothing is silently lost) */
	assert_int_equal(s3_xml_read_list(S3_XML_PARTS, doc, n, collect, s, &page, err, sizeof(err)), XORB_ESTORE);
	assert_string_equal(err, "is not valid XML: no element found (line 1, column 70043)");
	assert_int_equal(s->n, S3_XML_ENTRIES_MAX - 1);
	memcpy(doc + n, "</ListPartsResult>", 19);
	s->n = 0;
	assert_int_equal(s3_xml_read_list(S3_XML_PARTS, doc, n + 18, collect, s, &page, err, sizeof(err)), XORB_OK);
	assert_int_equal(s->n, S3_XML_ENTRIES_MAX - 1);
	memcpy(doc + n, "<Part/></ListPartsResult>", 26);
	s->n = 0;
	assert_int_equal(s3_xml_read_list(S3_XML_PARTS, doc, n + 25, collect, s, &page, err, sizeof(err)), XORB_ESTORE);
	assert_string_equal(err, "has more than 10000 entries in one page (line 1, column 70043; S3 sends at most 1000)");
	assert_int_equal(s->n, S3_XML_ENTRIES_MAX - 1);
	free(s);
	free(doc);
}

static void test_text_limit(void **state)
{
	char doc[2 * S3_XML_VALUE_MAX + 200], err[256], *id = NULL;
	int n;

	/* exactly at the limit, in two pieces (a reference splits expat's text) */
	n = snprintf(doc, sizeof(doc), "<InitiateMultipartUploadResult><UploadId>");
	memset(doc + n, 'u', S3_XML_VALUE_MAX - 1);
	n += S3_XML_VALUE_MAX - 1;
	n += snprintf(doc + n, sizeof(doc) - (size_t)n, "&#65;</UploadId></InitiateMultipartUploadResult>");
	assert_int_equal(s3_xml_read_initiate(doc, (size_t)n, &id, err, sizeof(err)), XORB_OK);
	assert_int_equal(strlen(id), S3_XML_VALUE_MAX);
	assert_int_equal(id[S3_XML_VALUE_MAX - 1], 'A');
	free(id);
	/* one byte more */
	n = snprintf(doc, sizeof(doc), "<InitiateMultipartUploadResult>\n<UploadId>");
	memset(doc + n, 'u', S3_XML_VALUE_MAX);
	n += S3_XML_VALUE_MAX;
	n += snprintf(doc + n, sizeof(doc) - (size_t)n, "&#65;</UploadId></InitiateMultipartUploadResult>");
	assert_int_equal(s3_xml_read_initiate(doc, (size_t)n, &id, err, sizeof(err)), XORB_ESTORE);
	assert_null(id);
	assert_string_equal(err, "has more than 4096 bytes of text in element \"InitiateMultipartUploadResult/UploadId\" "
				 "(line 2, column 4107; S3 keys are at most 1024 bytes)");
}

static void test_depth_and_name_limits(void **state)
{
	char doc[4096], err[256];
	struct s3_xml_error e;
	struct s3_xml_complete c;
	int i, n = 0;

	/* 16 levels are read, 17 are not */
	n += snprintf(doc + n, sizeof(doc) - (size_t)n, "<Error><Code>A</Code>");
	for (i = 1; i < S3_XML_DEPTH_MAX; i++)
		n += snprintf(doc + n, sizeof(doc) - (size_t)n, "<d>");
	for (i = 1; i < S3_XML_DEPTH_MAX; i++)
		n += snprintf(doc + n, sizeof(doc) - (size_t)n, "</d>");
	n += snprintf(doc + n, sizeof(doc) - (size_t)n, "</Error>");
	assert_int_equal(s3_xml_read_error(doc, (size_t)n, &e), 1);
	assert_string_equal(e.code, "A");
	n = snprintf(doc, sizeof(doc), "<CompleteMultipartUploadResult>");
	for (i = 1; i <= S3_XML_DEPTH_MAX; i++)
		n += snprintf(doc + n, sizeof(doc) - (size_t)n, "<d>");
	assert_int_equal(s3_xml_read_complete(doc, (size_t)n, &c, err, sizeof(err)), XORB_ESTORE);
	assert_string_equal(err, "nests elements deeper than 16 levels (line 1, column 77; S3 answers nest 4)");
	/* names: 512 bytes along one path at most ("Error/a0...0" is 506) */
	n = snprintf(doc, sizeof(doc), "<Error><a%0499d><b%04d/></a%0499d></Error>", 0, 0, 0);
	assert_int_equal(s3_xml_read_error(doc, (size_t)n, &e), 1);
	n = snprintf(doc, sizeof(doc), "<Error><a%0499d><b%05d/></a%0499d></Error>", 0, 0, 0);
	assert_int_equal(s3_xml_read_complete(doc, (size_t)n, &c, err, sizeof(err)), XORB_ESTORE);
	assert_string_equal(err, "has element names longer than 512 bytes along one path (line 1, column 510)");
}

static void test_document_limit(void **state)
{
	size_t n = S3_XML_DOC_MAX + 1;
	char *doc = malloc(n), err[256];
	struct seen *s = seen_new();
	struct s3_xml_page page;

	assert_non_null(doc);
	memset(doc, ' ', n);
	memcpy(doc, "<ListBucketResult><!--", 22);
	memcpy(doc + n - 22, "--></ListBucketResult>", 22);
	assert_int_equal(s3_xml_read_list(S3_XML_OBJECTS, doc, n, collect, s, &page, err, sizeof(err)), XORB_ESTORE);
	assert_string_equal(err, "is larger than 32 MiB (no S3 answer read here comes near)");
	/* at the limit: read */
	memcpy(doc + n - 23, "--></ListBucketResult>", 22);
	assert_int_equal(s3_xml_read_list(S3_XML_OBJECTS, doc, n - 1, collect, s, &page, err, sizeof(err)), XORB_OK);
	assert_int_equal(s->n, 0);
	free(s);
	free(doc);
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
		cmocka_unit_test(test_cdata_and_comments),
		cmocka_unit_test(test_cut_page_is_refused),
		cmocka_unit_test(test_other_document_is_refused),
		cmocka_unit_test(test_elements_by_path),
		cmocka_unit_test(test_bad_references_are_refused),
		cmocka_unit_test(test_entities_and_references),
		cmocka_unit_test(test_layout_and_empty_elements),
		cmocka_unit_test(test_dtd_is_refused),
		cmocka_unit_test(test_broken_documents),
		cmocka_unit_test(test_page_of_1000),
		cmocka_unit_test(test_entries_limit),
		cmocka_unit_test(test_text_limit),
		cmocka_unit_test(test_depth_and_name_limits),
		cmocka_unit_test(test_document_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

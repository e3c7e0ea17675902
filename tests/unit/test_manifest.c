/*
 * Unit tests of the backup manifest (xorb_manifest.h): a manifest built by
 * hand survives serialise + strict parse field by field, compare tells equal
 * from different and says why, and the strict parser refuses every damaged
 * document with one precise message (a forged manifest MUST fail).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xorb_buf.h"
#include "xorb_error.h"
#include "xorb_json.h"
#include "xorb_manifest.h"

#define WHAT "sidecar \"t-qa/20261127T170508Z-3fa9c1.json\""

static const char sha_a[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const char sha_b[] = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
static const char sha_c[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* ---- helpers ---- */

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

static void set_entry(struct xorb_entry *e, const char *path, uint64_t size, const char *sha)
{
	e->path = xstrdup(path);
	e->size = size;
	memcpy(e->sha256, sha, XORB_SHA256_HEX);
}

/* Two streams with consumers (one with a three-part snapshot), one stream
 * without consumers, a skipped stream, the archive's entries and the
 * sidecar's archive member. Every member is on the heap, released by
 * xorb_manifest_release. */
static void build(struct xorb_manifest *m)
{
	struct xorb_manifest_stream *s;

	memset(m, 0, sizeof(*m));
	m->format_version = XORB_FORMAT_VERSION;
	m->tool_version = xstrdup("0.1.0");
	m->tenant = xstrdup("t-qa");
	m->backup_id = xstrdup("20261127T170508Z-3fa9c1");
	m->created = xstrdup("2026-11-27T17:05:08Z");
	m->completed = xstrdup("2026-11-27T17:06:10Z");
	m->server_version = xstrdup("2.10.22");
	m->server_name = xstrdup("nats-1");
	m->cluster = xstrdup("");

	m->n_streams = 3;
	m->streams = calloc(3, sizeof(*m->streams));
	assert_non_null(m->streams);
	s = &m->streams[0];
	s->name = xstrdup("xorb-t-qa-scan-live");
	s->storage = xstrdup("file");
	s->messages = 123456;
	s->bytes = 2592000000000000; /* prints in exponent form through cJSON */
	s->first_seq = 17;
	s->last_seq = 123472;
	s->replicas = 3;
	s->n_consumers = 2;
	s->consumers = calloc(2, sizeof(char *));
	assert_non_null(s->consumers);
	s->consumers[0] = xstrdup("scanner");
	s->consumers[1] = xstrdup("audit \"q\" \\ \xc3\xa9");
	s->snapshot.size = 20000000;
	s->snapshot.parts = 3;
	memcpy(s->snapshot.sha256, sha_a, XORB_SHA256_HEX);
	s = &m->streams[1];
	s->name = xstrdup("xorb-t-qa-evidence-archive");
	s->storage = xstrdup("file");
	s->messages = 1;
	s->bytes = 77;
	s->first_seq = 9;
	s->last_seq = 9;
	s->replicas = 1;
	s->n_consumers = 1;
	s->consumers = calloc(1, sizeof(char *));
	assert_non_null(s->consumers);
	s->consumers[0] = xstrdup("ev");
	s->snapshot.size = 4096;
	s->snapshot.parts = 0;
	memcpy(s->snapshot.sha256, sha_b, XORB_SHA256_HEX);
	s = &m->streams[2];
	s->name = xstrdup("xorb-t-qa-control-empty");
	s->storage = xstrdup("file");
	s->replicas = 1; /* all counters 0, no consumers */
	s->snapshot.size = 0;
	memcpy(s->snapshot.sha256, sha_c, XORB_SHA256_HEX);

	m->n_skipped = 1;
	m->skipped = calloc(1, sizeof(*m->skipped));
	assert_non_null(m->skipped);
	m->skipped[0].name = xstrdup("xorb-t-qa-compliance-mem");
	m->skipped[0].reason = xstrdup("memory storage: \"not snapshotted\"");

	m->n_entries = 6;
	m->entries = calloc(6, sizeof(*m->entries));
	assert_non_null(m->entries);
	set_entry(&m->entries[0], "streams/xorb-t-qa-scan-live/backup.json", 812, sha_c);
	set_entry(&m->entries[1], "streams/xorb-t-qa-scan-live/stream.tar.s2.000000", 8388608, sha_a);
	set_entry(&m->entries[2], "streams/xorb-t-qa-scan-live/stream.tar.s2.000001", 8388608, sha_b);
	set_entry(&m->entries[3], "streams/xorb-t-qa-scan-live/stream.tar.s2.000002", 3222784, sha_c);
	set_entry(&m->entries[4], "streams/xorb-t-qa-evidence-archive/stream.tar.s2", 4096, sha_b);
	set_entry(&m->entries[5], "streams/xorb-t-qa-control-empty/stream.tar.s2", 0, sha_c);

	m->has_archive = 1;
	m->archive_key = xstrdup("t-qa/20261127T170508Z-3fa9c1.tar.zst");
	m->archive_size = 5000000000ULL;
	memcpy(m->archive_sha256, sha_b, XORB_SHA256_HEX);
}

static char *to_json(const struct xorb_manifest *m, int with_archive)
{
	struct xorb_buf b;

	xorb_buf_init(&b);
	assert_int_equal(xorb_manifest_to_json(m, with_archive, &b), 0);
	assert_non_null(b.data);
	return xorb_buf_detach(&b);
}

static struct xorb_manifest *parse_ok(const char *text)
{
	struct xorb_error err = { 0 };
	struct xorb_manifest *m = NULL;
	int rc = xorb_manifest_parse(text, strlen(text), WHAT, &m, &err);

	if (rc != XORB_OK)
		fail_msg("manifest rejected (%d): %s", rc, err.msg);
	assert_non_null(m);
	return m;
}

static void assert_same_manifest(const struct xorb_manifest *a, const struct xorb_manifest *b,
				 int archive_too)
{
	size_t i, k;

	assert_int_equal(a->format_version, b->format_version);
	assert_string_equal(a->tool_version, b->tool_version);
	assert_string_equal(a->tenant, b->tenant);
	assert_string_equal(a->backup_id, b->backup_id);
	assert_string_equal(a->created, b->created);
	assert_string_equal(a->completed, b->completed);
	assert_string_equal(a->server_version, b->server_version);
	assert_string_equal(a->server_name, b->server_name);
	assert_string_equal(a->cluster, b->cluster);
	assert_int_equal(a->n_streams, b->n_streams);
	for (i = 0; i < a->n_streams; i++) {
		const struct xorb_manifest_stream *x = &a->streams[i], *y = &b->streams[i];

		assert_string_equal(x->name, y->name);
		assert_string_equal(x->storage, y->storage);
		assert_int_equal(x->messages, y->messages);
		assert_int_equal(x->bytes, y->bytes);
		assert_int_equal(x->first_seq, y->first_seq);
		assert_int_equal(x->last_seq, y->last_seq);
		assert_int_equal(x->replicas, y->replicas);
		assert_int_equal(x->n_consumers, y->n_consumers);
		for (k = 0; k < x->n_consumers; k++)
			assert_string_equal(x->consumers[k], y->consumers[k]);
		assert_int_equal(x->snapshot.size, y->snapshot.size);
		assert_int_equal(x->snapshot.parts, y->snapshot.parts);
		assert_string_equal(x->snapshot.sha256, y->snapshot.sha256);
	}
	assert_int_equal(a->n_skipped, b->n_skipped);
	for (i = 0; i < a->n_skipped; i++) {
		assert_string_equal(a->skipped[i].name, b->skipped[i].name);
		assert_string_equal(a->skipped[i].reason, b->skipped[i].reason);
	}
	assert_int_equal(a->n_entries, b->n_entries);
	for (i = 0; i < a->n_entries; i++) {
		assert_string_equal(a->entries[i].path, b->entries[i].path);
		assert_int_equal(a->entries[i].size, b->entries[i].size);
		assert_string_equal(a->entries[i].sha256, b->entries[i].sha256);
	}
	if (archive_too) {
		assert_int_equal(a->has_archive, b->has_archive);
		assert_string_equal(a->archive_key, b->archive_key);
		assert_int_equal(a->archive_size, b->archive_size);
		assert_string_equal(a->archive_sha256, b->archive_sha256);
	}
}

/* The member at a '/'-separated path ("streams/0/snapshot/size"); array
 * elements by index. Sets *parent, and *name or *index, for replacement. */
static cJSON *walk(cJSON *root, const char *path, cJSON **parent, char *name, int *index)
{
	char buf[256], *tok, *save = NULL;
	cJSON *cur = root;

	snprintf(buf, sizeof(buf), "%s", path);
	*parent = NULL;
	for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		*parent = cur;
		if (cJSON_IsArray(cur)) {
			*index = atoi(tok);
			cur = cJSON_GetArrayItem(cur, *index);
		} else {
			snprintf(name, 64, "%s", tok);
			*index = -1;
			cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
		}
	}
	return cur;
}

/* The sidecar of build() with the member at path replaced by the JSON
 * value text (added when absent), or deleted when value is NULL. */
static char *mutated(const char *path, const char *value)
{
	struct xorb_manifest m;
	struct xorb_buf b;
	cJSON *root, *parent, *v = NULL;
	char name[64] = "";
	int index = -1;
	char *text;

	build(&m);
	text = to_json(&m, 1);
	xorb_manifest_release(&m);
	root = cJSON_Parse(text);
	free(text);
	assert_non_null(root);
	walk(root, path, &parent, name, &index);
	assert_non_null(parent);
	if (value) {
		v = cJSON_Parse(value);
		if (!v)
			fail_msg("bad test value %s", value);
	}
	if (index >= 0) {
		if (v)
			assert_true(cJSON_ReplaceItemInArray(parent, index, v));
		else
			cJSON_DeleteItemFromArray(parent, index);
	} else {
		if (cJSON_GetObjectItemCaseSensitive(parent, name))
			cJSON_DeleteItemFromObjectCaseSensitive(parent, name);
		if (v)
			cJSON_AddItemToObject(parent, name, v);
	}
	xorb_buf_init(&b);
	assert_int_equal(xorb_json_print(root, &b), 0);
	cJSON_Delete(root);
	return xorb_buf_detach(&b);
}

static void assert_rejected(const char *text, int want_rc, const char *want_msg)
{
	struct xorb_error err = { 0 };
	struct xorb_manifest *m = (struct xorb_manifest *)&err;
	int rc = xorb_manifest_parse(text, strlen(text), WHAT, &m, &err);

	if (rc == XORB_OK) {
		xorb_manifest_free(m);
		fail_msg("accepted, want \"%s\": %s", want_msg, text);
	}
	assert_null(m);
	assert_int_equal(rc, want_rc);
	assert_int_equal(err.code, want_rc);
	if (strcmp(err.msg, want_msg))
		fail_msg("message \"%s\", want \"%s\"", err.msg, want_msg);
}

static void assert_mutation_rejected(const char *path, const char *value, int want_rc,
				     const char *want_msg)
{
	char *text = mutated(path, value);

	assert_rejected(text, want_rc, want_msg);
	free(text);
}

/* ---- round trip ---- */

static void test_round_trip_every_field(void **state)
{
	struct xorb_manifest m, *back;
	char *text;

	build(&m);
	text = to_json(&m, 1);
	/* Exact integers in the text, and a single line ending in '\n'. */
	assert_non_null(strstr(text, "\"bytes\":2592000000000000,"));
	assert_non_null(strstr(text, "\"size\":5000000000,"));
	assert_null(strstr(text, "e+"));
	assert_non_null(strstr(text, "\"format\":\"xorb-backup\",\"format_version\":1,"));
	assert_int_equal(text[strlen(text) - 1], '\n');
	assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);

	back = parse_ok(text);
	assert_same_manifest(&m, back, 1);
	assert_int_equal(back->has_archive, 1);

	/* lookups */
	assert_ptr_equal(xorb_manifest_entry(back, "streams/xorb-t-qa-scan-live/stream.tar.s2.000001"),
			 &back->entries[2]);
	assert_null(xorb_manifest_entry(back, "streams/xorb-t-qa-scan-live/stream.tar.s2"));
	assert_ptr_equal(xorb_manifest_stream(back, "xorb-t-qa-evidence-archive"), &back->streams[1]);
	assert_null(xorb_manifest_stream(back, "xorb-t-qa-compliance-mem")); /* skipped */
	assert_int_equal(back->streams[2].n_consumers, 0);

	/* Serialising the parsed manifest gives the same text. */
	{
		char *again = to_json(back, 1);

		assert_string_equal(again, text);
		free(again);
	}
	xorb_manifest_free(back);
	free(text);

	/* Without the archive member (the copy inside the archive). */
	text = to_json(&m, 0);
	assert_null(strstr(text, "\"archive\""));
	back = parse_ok(text);
	assert_same_manifest(&m, back, 0);
	assert_int_equal(back->has_archive, 0);
	assert_null(back->archive_key);
	assert_int_equal(back->archive_size, 0);
	assert_string_equal(back->archive_sha256, "");
	xorb_manifest_free(back);
	free(text);

	xorb_manifest_release(&m);
	assert_null(m.tenant);
	assert_int_equal(m.n_streams, 0);
	xorb_manifest_release(&m); /* twice is harmless */
	xorb_manifest_free(NULL);
}

static void test_empty_lists_round_trip(void **state)
{
	struct xorb_manifest m, *back;
	char *text;
	size_t i;

	build(&m);
	for (i = 0; i < m.n_streams; i++) {
		free(m.streams[i].name);
		free(m.streams[i].storage);
		for (size_t k = 0; k < m.streams[i].n_consumers; k++)
			free(m.streams[i].consumers[k]);
		free(m.streams[i].consumers);
	}
	free(m.streams);
	m.streams = NULL;
	m.n_streams = 0;
	free(m.skipped[0].name);
	free(m.skipped[0].reason);
	free(m.skipped);
	m.skipped = NULL;
	m.n_skipped = 0;
	xorb_entries_free(m.entries, m.n_entries);
	m.entries = NULL;
	m.n_entries = 0;

	text = to_json(&m, 1);
	assert_non_null(strstr(text, "\"streams\":[],\"skipped\":[],\"entries\":[]"));
	back = parse_ok(text);
	assert_same_manifest(&m, back, 1);
	xorb_manifest_free(back);
	free(text);
	xorb_manifest_release(&m);
}

static void test_compare(void **state)
{
	struct xorb_manifest a, b;
	char why[256];

	build(&a);
	build(&b);
	strcpy(why, "untouched");
	assert_int_equal(xorb_manifest_compare(&a, &b, why, sizeof(why)), 0);
	assert_string_equal(why, "untouched");

	/* The archive member is not part of the comparison. */
	b.archive_size = 1;
	b.has_archive = 0;
	assert_int_equal(xorb_manifest_compare(&a, &b, why, sizeof(why)), 0);

	/* An entry's digest. */
	b.entries[4].sha256[0] = '0'; /* was 'f' */
	assert_int_equal(xorb_manifest_compare(&a, &b, why, sizeof(why)), 1);
	assert_string_equal(why, "they disagree on entry \"streams/xorb-t-qa-evidence-archive/stream.tar.s2\"");
	b.entries[4].sha256[0] = a.entries[4].sha256[0];
	/* An entry's size. */
	b.entries[1].size++;
	assert_int_equal(xorb_manifest_compare(&a, &b, why, sizeof(why)), 1);
	assert_string_equal(why, "they disagree on entry \"streams/xorb-t-qa-scan-live/stream.tar.s2.000000\"");
	b.entries[1].size--;
	assert_int_equal(xorb_manifest_compare(&a, &b, why, sizeof(why)), 0);

	/* Entry count. */
	b.n_entries = 5;
	assert_int_equal(xorb_manifest_compare(&a, &b, why, sizeof(why)), 1);
	assert_string_equal(why, "they list 6 and 5 entries");
	b.n_entries = 6;

	/* Content outside the entries. */
	b.streams[0].messages++;
	assert_int_equal(xorb_manifest_compare(&a, &b, why, sizeof(why)), 1);
	assert_string_equal(why, "their content differs");
	b.streams[0].messages--;
	free(b.streams[0].consumers[1]);
	b.streams[0].consumers[1] = xstrdup("other");
	assert_int_equal(xorb_manifest_compare(&a, &b, why, sizeof(why)), 1);
	assert_string_equal(why, "their content differs");

	/* Another backup altogether. */
	free(b.backup_id);
	b.backup_id = xstrdup("20261127T170509Z-000000");
	assert_int_equal(xorb_manifest_compare(&a, &b, why, sizeof(why)), 1);
	assert_string_equal(why, "they name different backups (t-qa/20261127T170508Z-3fa9c1 vs "
				 "t-qa/20261127T170509Z-000000)");

	xorb_manifest_release(&a);
	xorb_manifest_release(&b);
}

/* ---- strict parse ---- */

static void test_reject_format(void **state)
{
	assert_mutation_rejected("format", "\"xorb-backup2\"", XORB_ECORRUPT,
				 WHAT ": member \"format\" is not \"xorb-backup\": this is not an "
				      "xorb-dr backup manifest");
	assert_mutation_rejected("format", NULL, XORB_ECORRUPT,
				 WHAT ": member \"format\" is not \"xorb-backup\": this is not an "
				      "xorb-dr backup manifest");
	assert_mutation_rejected("format", "1", XORB_ECORRUPT,
				 WHAT ": member \"format\" is not \"xorb-backup\": this is not an "
				      "xorb-dr backup manifest");
	assert_mutation_rejected("format_version", "2", XORB_EUNSUPPORTED,
				 WHAT " has format version 2; this xorb-dr reads version 1: use a "
				      "newer xorb-dr");
	assert_mutation_rejected("format_version", "0", XORB_ECORRUPT,
				 WHAT ": member \"format_version\" is out of range");
	assert_mutation_rejected("format_version", "\"1\"", XORB_ECORRUPT,
				 WHAT ": member \"format_version\" is missing or not an integer");
	assert_mutation_rejected("format_version", "1.5", XORB_ECORRUPT,
				 WHAT ": member \"format_version\" is missing or not an integer");
	assert_mutation_rejected("format_version", NULL, XORB_ECORRUPT,
				 WHAT ": member \"format_version\" is missing or not an integer");
}

static void test_reject_missing_or_wrong_type(void **state)
{
	static const struct {
		const char *path, *value, *msg;
	} cases[] = {
		{ "tenant", NULL, "member \"tenant\" is missing or not a string" },
		{ "tool_version", "5", "member \"tool_version\" is missing or not a string" },
		{ "backup_id", "null", "member \"backup_id\" is missing or not a string" },
		{ "created", NULL, "member \"created\" is missing or not a string" },
		{ "completed", "[]", "member \"completed\" is missing or not a string" },
		{ "server", NULL, "member \"server\" is missing or not an object" },
		{ "server", "\"nats-1\"", "member \"server\" is missing or not an object" },
		{ "server/version", "2", "member \"version\" is missing or not a string" },
		{ "server/cluster", NULL, "member \"cluster\" is missing or not a string" },
		{ "streams", NULL, "member \"streams\" is missing or not an array" },
		{ "streams", "{}", "member \"streams\" is missing or not an array" },
		{ "streams/1", "\"xorb-t-qa-scan-live\"", "member \"streams\" holds a non-object" },
		{ "streams/0/name", NULL, "member \"name\" is missing or not a string" },
		{ "streams/0/storage", "true", "member \"storage\" is missing or not a string" },
		{ "streams/0/messages", "\"5\"", "member \"messages\" is missing or not an integer" },
		{ "streams/0/bytes", "1.5", "member \"bytes\" is missing or not an integer" },
		{ "streams/1/last_seq", NULL, "member \"last_seq\" is missing or not an integer" },
		{ "streams/0/consumers", NULL, "member \"consumers\" is missing or not an array" },
		{ "streams/0/consumers/1", "7", "member \"consumers\" holds a non-string or overlong name" },
		{ "streams/0/snapshot", NULL, "member \"snapshot\" is missing or not an object" },
		{ "streams/0/snapshot", "[]", "member \"snapshot\" is missing or not an object" },
		{ "streams/0/snapshot/parts", "\"3\"", "member \"parts\" is missing or not an integer" },
		{ "streams/0/snapshot/sha256", NULL, "member \"sha256\" is not a SHA-256 hex digest" },
		{ "skipped", NULL, "member \"skipped\" is missing or not an array" },
		{ "skipped/0", "\"x\"", "member \"name\" is missing or not a string" },
		{ "skipped/0/reason", NULL, "member \"reason\" is missing or not a string" },
		{ "entries", NULL, "member \"entries\" is missing or not an array" },
		{ "entries", "\"all\"", "member \"entries\" is missing or not an array" },
		{ "entries/2/path", NULL, "member \"path\" is missing or not a string" },
		{ "entries/2/size", NULL, "member \"size\" is missing or not an integer" },
		{ "archive", "\"t-qa/x.tar.zst\"", "member \"archive\" is not an object" },
		{ "archive/key", NULL, "member \"key\" is missing or not a string" },
		{ "archive/size", "true", "member \"size\" is missing or not an integer" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char want[512];

		snprintf(want, sizeof(want), WHAT ": %s", cases[i].msg);
		assert_mutation_rejected(cases[i].path, cases[i].value, XORB_ECORRUPT, want);
	}
}

static void test_reject_ranges_and_digests(void **state)
{
	static const struct {
		const char *path, *value, *msg;
	} cases[] = {
		{ "entries/0/size", "-1", "member \"size\" is out of range" },
		{ "streams/0/snapshot/size", "-4096", "member \"size\" is out of range" },
		{ "archive/size", "-1", "member \"size\" is out of range" },
		{ "streams/0/messages", "-1", "member \"messages\" is out of range" },
		{ "streams/0/first_seq", "-5", "member \"first_seq\" is out of range" },
		{ "streams/0/replicas", "6", "member \"replicas\" is out of range" },
		{ "streams/0/snapshot/parts", "1000000", "member \"parts\" is out of range" },
		/* 1e300 is not an int64: refused, not wrapped or saturated */
		{ "streams/0/messages", "1e300", "member \"messages\" is missing or not an integer" },
		{ "entries/1/size", "1e300", "member \"size\" is missing or not an integer" },
		{ "archive/size", "-1e300", "member \"size\" is missing or not an integer" },
		{ "entries/0/sha256",
		  "\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\"",
		  "member \"sha256\" is not a SHA-256 hex digest" },
		{ "entries/0/sha256",
		  "\"0123456789abcdeg0123456789abcdef0123456789abcdef0123456789abcdef\"",
		  "member \"sha256\" is not a SHA-256 hex digest" },
		{ "entries/0/sha256",
		  "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\"",
		  "member \"sha256\" is not a SHA-256 hex digest" },
		{ "entries/0/sha256",
		  "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0\"",
		  "member \"sha256\" is not a SHA-256 hex digest" },
		{ "entries/0/sha256", "\"\"", "member \"sha256\" is not a SHA-256 hex digest" },
		{ "entries/0/sha256",
		  "\" 123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"",
		  "member \"sha256\" is not a SHA-256 hex digest" },
		{ "entries/0/sha256", "12", "member \"sha256\" is not a SHA-256 hex digest" },
		{ "archive/sha256", "\"sha256:abc\"", "member \"sha256\" is not a SHA-256 hex digest" },
		{ "streams/1/snapshot/sha256",
		  "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeZ\"",
		  "member \"sha256\" is not a SHA-256 hex digest" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char want[512];

		snprintf(want, sizeof(want), WHAT ": %s", cases[i].msg);
		assert_mutation_rejected(cases[i].path, cases[i].value, XORB_ECORRUPT, want);
	}
}

static void test_reject_unsafe_paths(void **state)
{
	static const char *const bad[] = {
		"\"../evil\"",
		"\"/etc/passwd\"",
		"\"streams/../../evil\"",
		"\"streams/x/..\"",
		"\"./streams/x\"",
		"\"streams/./x\"",
		"\"streams//x\"",
		"\"streams/x/\"",
		"\"..\"",
		"\"\"",
		"\"/\"",
	};
	size_t i;
	char path[XORB_ENTRY_PATH_MAX + 8];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_mutation_rejected("entries/3/path", bad[i], XORB_ECORRUPT,
					 WHAT ": member \"entries\" holds an unsafe path");
	/* over the entry path limit */
	path[0] = '"';
	memset(path + 1, 'a', XORB_ENTRY_PATH_MAX);
	path[XORB_ENTRY_PATH_MAX + 1] = '"';
	path[XORB_ENTRY_PATH_MAX + 2] = '\0';
	assert_mutation_rejected("entries/3/path", path, XORB_ECORRUPT,
				 WHAT ": member \"path\" is too long");
	/* names with dots that are not "." or ".." are fine */
	{
		char *text = mutated("entries/3/path", "\"streams/..x/.y/a..b\"");
		struct xorb_manifest *m = parse_ok(text);

		assert_string_equal(m->entries[3].path, "streams/..x/.y/a..b");
		xorb_manifest_free(m);
		free(text);
	}
}

static void test_reject_duplicates_and_foreign_streams(void **state)
{
	assert_mutation_rejected("entries/3/path", "\"streams/xorb-t-qa-scan-live/stream.tar.s2.000001\"",
				 XORB_ECORRUPT, WHAT ": member \"entries\" names a path twice");
	assert_mutation_rejected("entries/5/path", "\"streams/xorb-t-qa-scan-live/backup.json\"",
				 XORB_ECORRUPT, WHAT ": member \"entries\" names a path twice");
	assert_mutation_rejected("streams/1/name", "\"xorb-t-qa-scan-live\"", XORB_ECORRUPT,
				 WHAT ": member \"streams\" names a stream twice");
	assert_mutation_rejected("streams/2/name", "\"xorb-t-qa-scan-live\"", XORB_ECORRUPT,
				 WHAT ": member \"streams\" names a stream twice");
	/* prefix tenant, another tenant, no product prefix, a path-like name */
	assert_mutation_rejected("streams/1/name", "\"xorb-t-qa-eu-scan-live\"", XORB_ECORRUPT,
				 WHAT ": member \"streams\" names a stream that is not a valid stream "
				      "of the tenant");
	assert_mutation_rejected("streams/0/name", "\"xorb-t-prod-scan-live\"", XORB_ECORRUPT,
				 WHAT ": member \"streams\" names a stream that is not a valid stream "
				      "of the tenant");
	assert_mutation_rejected("streams/0/name", "\"ORDERS\"", XORB_ECORRUPT,
				 WHAT ": member \"streams\" names a stream that is not a valid stream "
				      "of the tenant");
	assert_mutation_rejected("streams/0/name", "\"xorb-t-qa-scan-../x\"", XORB_ECORRUPT,
				 WHAT ": member \"streams\" names a stream that is not a valid stream "
				      "of the tenant");
	assert_mutation_rejected("tenant", "\"t-qa-eu\"", XORB_ECORRUPT,
				 WHAT ": member \"streams\" names a stream that is not a valid stream "
				      "of the tenant");
}

/*
 * Regression test (fixed; src/lib/xorb_manifest.c, xorb_manifest_parse, the duplicate
 * entry loop `for (k = i + 1; k < m->n_entries && k < i + 64; k++)`): only
 * entries fewer than 64 positions apart are compared, so a manifest naming
 * one path at positions 0 and 69 is accepted. The contract is "strict", and
 * restore keys data by entry path. Fix: sort an array of pointers to the
 * paths (qsort + strcmp, O(n log n)) and compare neighbours.
 */
static void test_reject_duplicate_entries_far_apart(void **state)
{
	struct xorb_manifest m;
	struct xorb_manifest *back = NULL;
	struct xorb_error err = { 0 };
	char *text, path[64];
	size_t i;
	int rc;

	build(&m);
	xorb_entries_free(m.entries, m.n_entries);
	m.n_entries = 70;
	m.entries = calloc(70, sizeof(*m.entries));
	assert_non_null(m.entries);
	for (i = 0; i < 70; i++) {
		snprintf(path, sizeof(path), "extra/%03zu.json", i % 69); /* 0 and 69 collide */
		set_entry(&m.entries[i], path, i, sha_a);
	}
	text = to_json(&m, 1);
	rc = xorb_manifest_parse(text, strlen(text), WHAT, &back, &err);
	xorb_manifest_free(back);
	free(text);
	xorb_manifest_release(&m);
	assert_int_equal(rc, XORB_ECORRUPT);
	assert_string_equal(err.msg, WHAT ": member \"entries\" names a path twice");
}

static void test_reject_names_and_shape(void **state)
{
	char big_tenant[80];

	assert_mutation_rejected("tenant", "\"t\"", XORB_ECORRUPT,
				 WHAT ": member \"tenant\" is not a valid tenant name");
	assert_mutation_rejected("tenant", "\"t_qa\"", XORB_ECORRUPT,
				 WHAT ": member \"tenant\" is not a valid tenant name");
	snprintf(big_tenant, sizeof(big_tenant), "\"%064d\"", 0);
	assert_mutation_rejected("tenant", big_tenant, XORB_ECORRUPT,
				 WHAT ": member \"tenant\" is too long");
	assert_mutation_rejected("backup_id", "\"20261327T170508Z-3fa9c1\"", XORB_ECORRUPT,
				 WHAT ": member \"backup_id\" is not a valid backup id");
	assert_mutation_rejected("backup_id", "\"20261127T170508Z-3fa9c10\"", XORB_ECORRUPT,
				 WHAT ": member \"backup_id\" is too long");
	assert_mutation_rejected("tool_version",
				 "\"0123456789012345678901234567890123456789012345678901234567890123X\"",
				 XORB_ECORRUPT, WHAT ": member \"tool_version\" is too long");

	assert_rejected("[]", XORB_ECORRUPT, WHAT " is not a JSON object");
	assert_rejected("\"xorb-backup\"", XORB_ECORRUPT, WHAT " is not a JSON object");
	assert_rejected("{\"format\":\"xorb-backup\",", XORB_ECORRUPT,
			WHAT ": line 1, column 25 (byte 24): a key (a string in double quotes) was expected");
	assert_rejected("", XORB_ECORRUPT, WHAT ": line 1, column 1 (byte 0): the document ends where a value was expected");
	/* strict: equal keys and NUL are refused before cJSON sees them (issue 12) */
	assert_rejected("{\"format\":\"xorb-backup\",\"format\":\"other\"}", XORB_ECORRUPT,
			WHAT ": duplicate key \"format\" at the top level at line 1, column 2 (byte 1) and again at line 1, "
			     "column 25 (byte 24): refused, readers disagree on which one counts (xorb's JSON reader takes "
			     "the first, Python and Terraform the last); keep one");
	assert_rejected("{\"tenant\":\"t-qa\\u0000x\"}", XORB_ECORRUPT,
			WHAT ": line 1, column 16 (byte 15), in tenant: NUL (\\u0000) inside a string: refused (the JSON "
			     "reader would cut the text there, so \"t-qa\\u0000x\" would read as \"t-qa\")");
}

static void test_reject_over_size_cap(void **state)
{
	struct xorb_manifest *m = NULL;
	struct xorb_error err = { 0 };
	const size_t n = (size_t)XORB_MANIFEST_MAX + 1;
	char *big = malloc(n);
	struct xorb_manifest built;
	char *text;

	/* A valid manifest padded with white space: accepted at the cap,
	 * refused one byte past it. */
	assert_non_null(big);
	build(&built);
	text = to_json(&built, 1);
	xorb_manifest_release(&built);
	memset(big, ' ', n);
	memcpy(big, text, strlen(text));
	free(text);
	assert_int_equal(xorb_manifest_parse(big, n - 1, WHAT, &m, &err), XORB_OK);
	assert_non_null(m);
	assert_string_equal(m->tenant, "t-qa");
	xorb_manifest_free(m);
	assert_int_equal(xorb_manifest_parse(big, n, WHAT, &m, &err), XORB_ECORRUPT);
	assert_null(m);
	assert_string_equal(err.msg, WHAT " is 16777217 bytes, over the 16777216-byte limit");
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_field),
		cmocka_unit_test(test_empty_lists_round_trip),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_reject_format),
		cmocka_unit_test(test_reject_missing_or_wrong_type),
		cmocka_unit_test(test_reject_ranges_and_digests),
		cmocka_unit_test(test_reject_unsafe_paths),
		cmocka_unit_test(test_reject_duplicates_and_foreign_streams),
		cmocka_unit_test(test_reject_duplicate_entries_far_apart),
		cmocka_unit_test(test_reject_names_and_shape),
		cmocka_unit_test(test_reject_over_size_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

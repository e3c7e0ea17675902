/*
 * libFuzzer target: xorb_manifest_parse on an untrusted sidecar or
 * manifest.json. A manifest that parses must serialise (xorb_manifest_to_json)
 * to text that parses again into the same manifest: the sidecar is rewritten
 * by prune and compared by verify, so a round trip that loses or changes a
 * field is a bug even when nothing crashes.
 */
#include <string.h>

#include "fuzz_util.h"
#include "xorb_buf.h"
#include "xorb_manifest.h"

static void check_lookups(const struct xorb_manifest *m)
{
	size_t i;

	for (i = 0; i < m->n_entries; i++)
		FUZZ_CHECK(xorb_manifest_entry(m, m->entries[i].path) != NULL);
	for (i = 0; i < m->n_streams; i++)
		FUZZ_CHECK(xorb_manifest_stream(m, m->streams[i].name) != NULL);
	FUZZ_CHECK(xorb_manifest_entry(m, "no/such/entry\x01") == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct xorb_manifest *m = NULL, *again = NULL;
	struct xorb_error err;
	struct xorb_buf out;
	char why[512];
	int rc;

	xorb_error_clear(&err);
	rc = xorb_manifest_parse((const char *)data, len, "fuzz.json", &m, &err);
	if (rc) {
		FUZZ_CHECK(m == NULL);
		FUZZ_CHECK(err.code == rc);
		FUZZ_CHECK(strnlen(err.msg, sizeof(err.msg)) < sizeof(err.msg));
		return 0;
	}
	FUZZ_CHECK(m != NULL);
	check_lookups(m);

	xorb_buf_init(&out);
	FUZZ_CHECK(xorb_manifest_to_json(m, m->has_archive, &out) == 0);
	rc = xorb_manifest_parse(out.data, out.len, "round trip", &again, &err);
	if (rc)
		fprintf(stderr, "re-parse failed: %s\n%s\n", err.msg, out.data);
	FUZZ_CHECK(rc == XORB_OK);
	why[0] = '\0';
	rc = xorb_manifest_compare(m, again, why, sizeof(why));
	if (rc)
		fprintf(stderr, "round trip differs: %s\n", why);
	FUZZ_CHECK(rc == 0);
	FUZZ_CHECK(again->has_archive == m->has_archive);
	if (m->has_archive) {
		FUZZ_CHECK(again->archive_size == m->archive_size);
		FUZZ_CHECK(!strcmp(again->archive_key, m->archive_key));
		FUZZ_CHECK(!strcmp(again->archive_sha256, m->archive_sha256));
	}
	xorb_buf_release(&out);
	xorb_manifest_free(again);
	xorb_manifest_free(m);
	return 0;
}

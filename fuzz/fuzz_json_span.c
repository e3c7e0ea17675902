/*
 * libFuzzer target: xorb_json_member_span, the scanner that lifts a member's
 * value out of server JSON (a stream's backup.json) without re-serialising
 * it.
 *
 * It is run for a few fixed keys and for every top-level key cJSON finds.
 * A span must lie inside the text. When cJSON accepts the whole text as an
 * object and the text is plain (no backslash, no control byte but white
 * space, so raw keys equal decoded ones and both parsers agree on white
 * space), the scanner must agree with cJSON: a key cJSON has is found, its
 * span parses to an equal value, and a key cJSON lacks is not found.
 */
#include <cjson/cJSON.h>
#include <string.h>

#include "fuzz_util.h"
#include "xorb_json.h"

static int plain_text(const uint8_t *data, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (data[i] == '\\' || (data[i] < 0x20 && data[i] != ' ' && data[i] != '\t' &&
					data[i] != '\n' && data[i] != '\r'))
			return 0;
	return 1;
}

/* Equal as cJSON prints them: cJSON_Compare says inf != inf (1e999). */
static void same_value(const cJSON *a, const cJSON *b)
{
	char *pa = cJSON_PrintUnformatted(a), *pb = cJSON_PrintUnformatted(b);

	FUZZ_CHECK(pa && pb);
	FUZZ_CHECK(!strcmp(pa, pb));
	cJSON_free(pa);
	cJSON_free(pb);
}

static void check_key(const char *text, size_t len, const char *key, const cJSON *root)
{
	const char *start = NULL;
	size_t vlen = 0;
	const cJSON *want = root ? cJSON_GetObjectItemCaseSensitive(root, key) : NULL;
	cJSON *got;
	int rc;

	rc = xorb_json_member_span(text, len, key, &start, &vlen);
	FUZZ_CHECK(rc == XORB_OK || rc == XORB_ENOTFOUND || rc == XORB_ECORRUPT);
	if (rc == XORB_OK) {
		FUZZ_CHECK(start >= text && start <= text + len);
		FUZZ_CHECK(vlen <= (size_t)(text + len - start));
	}
	if (!root)
		return;
	if (!want) {
		FUZZ_CHECK(rc == XORB_ENOTFOUND);
		return;
	}
	FUZZ_CHECK(rc == XORB_OK);
	got = cJSON_ParseWithLength(start, vlen);
	FUZZ_CHECK(got != NULL);
	same_value(got, want);
	cJSON_Delete(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const char *const keys[] = { "config", "state", "cluster", "name", "a", "" };
	const char *text = (const char *)data;
	const char *end = NULL;
	cJSON *root = NULL;
	const cJSON *it;
	size_t i;

	if (plain_text(data, len)) {
		root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
		if (root && !cJSON_IsObject(root)) {
			cJSON_Delete(root);
			root = NULL;
		}
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		check_key(text, len, keys[i], root);
	i = 0;
	cJSON_ArrayForEach(it, root) {
		if (i++ == 16)
			break;
		check_key(text, len, it->string, root);
	}
	cJSON_Delete(root);
	return 0;
}

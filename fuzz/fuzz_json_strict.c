/*
 * libFuzzer target: xorb_json_strict_check, the strict scanner every
 * untrusted JSON file passes before cJSON reads it (environment files,
 * state files, sidecars and in-archive manifests).
 *
 * Invariants: a refusal leaves a terminated message naming the document;
 * a text the scanner accepts is one cJSON parses whole, in which no object
 * at any level holds two equal keys and no string or key holds a control
 * character cJSON would cut at (its length equals the bytes up to the NUL
 * the scanner refused), and whose nesting is at most XORB_JSON_STRICT_DEPTH.
 */
#include <cjson/cJSON.h>
#include <string.h>

#include "fuzz_util.h"
#include "xorb_json.h"

static unsigned check_tree(const cJSON *j, unsigned depth)
{
	const cJSON *a, *b;
	unsigned max = depth;

	FUZZ_CHECK(depth <= XORB_JSON_STRICT_DEPTH);
	if (cJSON_IsObject(j))
		for (a = j->child; a; a = a->next) {
			size_t i, n;

			FUZZ_CHECK(a->string != NULL);
			n = strlen(a->string);
			for (i = 0; i < n; i++)
				FUZZ_CHECK((unsigned char)a->string[i] >= 0x20 && a->string[i] != 0x7f);
			for (b = a->next; b; b = b->next)
				FUZZ_CHECK(strcmp(a->string, b->string) != 0);
		}
	if (cJSON_IsArray(j) || cJSON_IsObject(j))
		for (a = j->child; a; a = a->next) {
			unsigned d = check_tree(a, depth + 1);

			if (d > max)
				max = d;
		}
	return max;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct xorb_error err;
	cJSON *j = NULL;
	int rc;

	xorb_error_clear(&err);
	rc = xorb_json_strict_check((const char *)data, len, "fuzz.json", &err);
	if (rc) {
		FUZZ_CHECK(rc == XORB_ECORRUPT || rc == XORB_ENOMEM);
		FUZZ_CHECK(strnlen(err.msg, sizeof(err.msg)) < sizeof(err.msg));
		FUZZ_CHECK(!strncmp(err.msg, "fuzz.json", 9));
		return 0;
	}
	rc = xorb_json_parse((const char *)data, len, "fuzz.json", &j, &err);
	FUZZ_CHECK(rc == XORB_OK && j != NULL);
	check_tree(j, 0);
	cJSON_Delete(j);
	return 0;
}

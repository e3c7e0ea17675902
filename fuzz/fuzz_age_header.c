/*
 * libFuzzer target: age files (xorb_age.h) from untrusted bytes, header
 * first.
 *
 * Every input goes to xorb_age_header_parse and, pulled in input-derived
 * pieces, through a streaming decryptor holding the C2SP CCTV testkit's
 * public test identity, so that the CCTV vectors and files age wrote for that
 * key are seeds whose mutations reach the unwrap, the header MAC and the
 * STREAM payload.
 *
 * Invariants: a parsed header lies inside the input, formats back to exactly
 * its bytes, parses again from exactly those bytes (and is truncated one
 * byte shorter), and obeys the caps and the X25519 stanza shape; a refusal
 * names a kind that goes with its status; the decryptor fails at the header
 * exactly when the parser does, fails later only with a payload kind,
 * releases no more than the input's length, and succeeds only at a verified
 * end; failures are sticky.
 */
#include <string.h>

#include "fuzz_util.h"
#include "xorb_age.h"

/* The CCTV testkit's X25519 identity (age/internal/testkit): public on
 * purpose, so that its vectors decrypt here. */
static const char cctv_identity[] =
	"AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0";
static struct xorb_age_identity *identity;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FUZZ_CHECK(xorb_age_identity_parse(cctv_identity, strlen(cctv_identity), &identity, NULL) ==
		   XORB_OK);
	return 0;
}

static int status_of(enum xorb_age_fail why)
{
	switch (why) {
	case XORB_AGE_FAIL_NOT_AGE: return XORB_EINVAL;
	case XORB_AGE_FAIL_UNSUPPORTED: return XORB_EUNSUPPORTED;
	case XORB_AGE_FAIL_NO_MATCH: return XORB_EAUTH;
	case XORB_AGE_FAIL_INTERNAL: return XORB_ENOMEM;
	default: return XORB_ECORRUPT;
	}
}

/* Returns the parse status and *hlen, the header length when it parsed. */
static int check_parse(const uint8_t *data, size_t len, size_t *hlen)
{
	enum xorb_age_fail why = XORB_AGE_FAIL_NONE;
	struct xorb_age_header *h = NULL, *h2 = NULL;
	struct xorb_error err;
	struct xorb_buf b;
	size_t i;
	int rc;

	*hlen = 0;
	xorb_error_clear(&err);
	rc = xorb_age_header_parse(data, len, &h, &why, &err);
	if (rc) {
		FUZZ_CHECK(h == NULL && err.code == rc && err.msg[0]);
		FUZZ_CHECK(why == XORB_AGE_FAIL_NOT_AGE || why == XORB_AGE_FAIL_UNSUPPORTED ||
			   why == XORB_AGE_FAIL_HEADER || why == XORB_AGE_FAIL_TRUNCATED ||
			   why == XORB_AGE_FAIL_INTERNAL);
		FUZZ_CHECK(rc == status_of(why));
		return rc;
	}
	FUZZ_CHECK(h && why == XORB_AGE_FAIL_NONE);
	FUZZ_CHECK(h->len <= len && h->len <= XORB_AGE_HEADER_MAX);
	FUZZ_CHECK(h->mac_input_len + 45 == h->len); /* " " + 43 + LF after "---" */
	FUZZ_CHECK(h->nstanzas >= 1 && h->nstanzas <= XORB_AGE_STANZAS_MAX);
	for (i = 0; i < h->nstanzas; i++) {
		const struct xorb_age_stanza *s = &h->stanzas[i];

		FUZZ_CHECK(s->type && s->type[0]);
		if (!strcmp(s->type, "X25519"))
			FUZZ_CHECK(s->nargs == 1 && s->body_len == 32);
		if (!strcmp(s->type, "scrypt"))
			FUZZ_CHECK(h->nstanzas == 1 && s->nargs == 2 && s->body_len == 32);
		fuzz_touch(s->body, s->body_len);
	}
	xorb_buf_init(&b);
	FUZZ_CHECK(xorb_age_header_format(h, &b, &err) == XORB_OK);
	FUZZ_CHECK(b.len == h->len && !memcmp(b.data, data, b.len));
	xorb_buf_release(&b);
	/* the header alone parses the same; one byte less is truncated */
	FUZZ_CHECK(xorb_age_header_parse(data, h->len, &h2, NULL, NULL) == XORB_OK);
	FUZZ_CHECK(h2->len == h->len && h2->nstanzas == h->nstanzas);
	xorb_age_header_free(h2);
	h2 = NULL;
	FUZZ_CHECK(xorb_age_header_parse(data, h->len - 1, &h2, &why, NULL) == XORB_ECORRUPT);
	FUZZ_CHECK(h2 == NULL && why == XORB_AGE_FAIL_TRUNCATED);
	*hlen = h->len;
	xorb_age_header_free(h);
	return XORB_OK;
}

struct source {
	const uint8_t *data;
	size_t len, pos;
	uint64_t h;
};

static int source_read(void *arg, void *buf, size_t len, size_t *got, struct xorb_error *err)
{
	struct source *s = arg;
	size_t n = s->len - s->pos;

	/* input-derived piece sizes: 1 to 70000 bytes */
	s->h = s->h * 6364136223846793005u + 1442695040888963407u;
	if (n > len)
		n = len;
	if (n > 1 + fuzz_pick(s->h, 33, 70000))
		n = 1 + fuzz_pick(s->h, 33, 70000);
	memcpy(buf, s->data + s->pos, n);
	s->pos += n;
	*got = n;
	return XORB_OK;
}

static void check_decrypt(const uint8_t *data, size_t len, int parse_rc, size_t hlen)
{
	struct source src = { data, len, 0, fuzz_hash(data, len) };
	struct xorb_age_dec *d = NULL;
	struct xorb_error err;
	enum xorb_age_fail why;
	unsigned char buf[4096];
	size_t rbuf = 1 + fuzz_pick(src.h, 17, sizeof(buf)), total = 0, got = 0;
	int rc;

	xorb_error_clear(&err);
	FUZZ_CHECK(xorb_age_dec_new(&d, &identity, 1, source_read, &src, &err) == XORB_OK);
	rc = xorb_age_dec_start(d, &err);
	why = xorb_age_dec_fail(d);
	if (parse_rc)
		FUZZ_CHECK(rc != XORB_OK); /* the decryptor refuses what the parser does */
	if (rc) {
		FUZZ_CHECK(err.code == rc && rc == status_of(why));
		if (parse_rc == XORB_OK) /* a header that parses fails later on */
			FUZZ_CHECK(why == XORB_AGE_FAIL_NO_MATCH || why == XORB_AGE_FAIL_HEADER_MAC ||
				   why == XORB_AGE_FAIL_HEADER || why == XORB_AGE_FAIL_TRUNCATED ||
				   why == XORB_AGE_FAIL_UNSUPPORTED);
		xorb_age_dec_free(d);
		return;
	}
	FUZZ_CHECK(parse_rc == XORB_OK && hlen + XORB_AGE_NONCE_LEN <= len);
	for (;;) {
		rc = xorb_age_dec_read(d, buf, rbuf, &got, &err);
		if (rc || got == 0)
			break;
		FUZZ_CHECK(got <= rbuf);
		fuzz_touch(buf, got);
		total += got;
	}
	FUZZ_CHECK(total == xorb_age_dec_plain_bytes(d));
	FUZZ_CHECK(total <= len - hlen - XORB_AGE_NONCE_LEN);
	why = xorb_age_dec_fail(d);
	if (rc == XORB_OK) {
		/* a verified end: every byte consumed, one tag per chunk */
		FUZZ_CHECK(why == XORB_AGE_FAIL_NONE && src.pos == len);
		FUZZ_CHECK(len - hlen - XORB_AGE_NONCE_LEN - total ==
			   XORB_AGE_TAG_LEN * (total ? (total + XORB_AGE_CHUNK - 1) / XORB_AGE_CHUNK : 1));
	} else {
		FUZZ_CHECK(why == XORB_AGE_FAIL_CHUNK || why == XORB_AGE_FAIL_TRUNCATED ||
			   why == XORB_AGE_FAIL_TRAILING);
		FUZZ_CHECK(rc == XORB_ECORRUPT && err.code == rc);
		FUZZ_CHECK(xorb_age_dec_read(d, buf, rbuf, &got, NULL) == rc && got == 0);
	}
	xorb_age_dec_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	size_t hlen = 0;
	int rc = check_parse(data, len, &hlen);

	check_decrypt(data, len, rc, hlen);
	return 0;
}

/*
 * libFuzzer target: the snapshot checker (S2 frames, then the PAX tar
 * follower or the v2 "NATSARC1" follower) on untrusted bytes, fed in
 * data-derived pieces.
 *
 * An input that starts with an S2 or Snappy stream identifier is the
 * snapshot itself. Any other input is taken as the decoded snapshot (a tar,
 * or NATSARC1 and v2 entries) and framed here into uncompressed S2 chunks
 * with correct CRCs, of data-derived sizes: the CRC of every block would
 * otherwise stop almost every mutation before it reaches a follower, and
 * the chunk sizes split tar headers, v2 varints and names across blocks.
 *
 * Invariants: a framed input is told v2 when it starts with NATSARC1, tar
 * when it starts with anything else, unknown only while it is a proper
 * prefix of the magic; a check that succeeds on a framed input has seen
 * every decoded byte; consumer names are NUL-terminated and the index past
 * the last gives NULL; a tar counts no messages; a v2 check counts no more
 * messages than entries, and a good one has exactly state.json, the
 * consumers and the messages as entries, with a sequence range that holds
 * them all; a failed check keeps returning the same status.
 */
#include <string.h>

#include "fuzz_util.h"
#include "xorb_s2.h"
#include "xorb_snapcheck.h"

static uint32_t crc_masked(const uint8_t *p, size_t len)
{
	uint32_t c = xorb_crc32c(0, p, len);

	return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

static void put_frame_header(uint8_t *o, uint8_t type, size_t len)
{
	o[0] = type;
	o[1] = (uint8_t)len;
	o[2] = (uint8_t)(len >> 8);
	o[3] = (uint8_t)(len >> 16);
}

/* Frames tar as an S2 stream of uncompressed chunks of at most chunk bytes. */
static uint8_t *frame_tar(const uint8_t *tar, size_t len, size_t chunk, size_t *outlen)
{
	size_t nchunks = len / chunk + 1, off = 0, n;
	uint8_t *o = malloc(10 + nchunks * 8 + len), *w;
	uint32_t crc;

	if (!o)
		return NULL;
	w = o;
	put_frame_header(w, 0xff, 6);
	memcpy(w + 4, "S2sTwO", 6);
	w += 10;
	while (off < len) {
		n = len - off < chunk ? len - off : chunk;
		put_frame_header(w, 0x01, n + 4);
		crc = crc_masked(tar + off, n);
		w[4] = (uint8_t)crc;
		w[5] = (uint8_t)(crc >> 8);
		w[6] = (uint8_t)(crc >> 16);
		w[7] = (uint8_t)(crc >> 24);
		memcpy(w + 8, tar + off, n);
		w += 8 + n;
		off += n;
	}
	*outlen = (size_t)(w - o);
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const uint8_t id_s2[10] = { 0xff, 6, 0, 0, 'S', '2', 's', 'T', 'w', 'O' };
	static const uint8_t id_snappy[10] = { 0xff, 6, 0, 0, 's', 'N', 'a', 'P', 'p', 'Y' };
	uint64_t h = fuzz_hash(data, len);
	struct xorb_snapcheck *c = NULL;
	const uint8_t *in = data;
	uint8_t *framed = NULL;
	struct xorb_error err, e2;
	size_t inlen = len, off, step, n, i, count;
	uint64_t msgs, first, last;
	int rc, wrapped = 0, fmt, have_range;

	if (len < 10 || (memcmp(data, id_s2, 10) && memcmp(data, id_snappy, 10))) {
		size_t chunk = fuzz_pick(h, 0, 4) == 0 ? 1 + fuzz_pick(h, 4, 1024)
							 : 1 + fuzz_pick(h, 4, 65536);

		framed = frame_tar(data, len, chunk, &inlen);
		if (!framed)
			return 0;
		in = framed;
		wrapped = 1;
	}
	FUZZ_CHECK(xorb_snapcheck_new(&c) == XORB_OK);
	xorb_error_clear(&err);

	step = fuzz_pick(h, 20, 4) == 0 ? 1 + fuzz_pick(h, 24, 600) : 1 + fuzz_pick(h, 24, 70000);
	rc = XORB_OK;
	for (off = 0; !rc && off < inlen; off += n) {
		n = inlen - off < step ? inlen - off : step;
		rc = xorb_snapcheck_feed(c, in + off, n, &err);
	}
	if (!rc)
		rc = xorb_snapcheck_finish(c, &err);

	count = xorb_snapcheck_consumer_count(c);
	FUZZ_CHECK(count <= XORB_SNAPCHECK_MAX_CONSUMERS);
	for (i = 0; i < count; i++) {
		const char *name = xorb_snapcheck_consumer(c, i);

		FUZZ_CHECK(name != NULL && strlen(name) <= XORB_SNAPCHECK_MAX_NAME);
	}
	FUZZ_CHECK(xorb_snapcheck_consumer(c, count) == NULL);
	fmt = xorb_snapcheck_format(c);
	msgs = xorb_snapcheck_message_count(c);
	have_range = xorb_snapcheck_seq_range(c, &first, &last);
	FUZZ_CHECK(have_range == (msgs > 0));
	FUZZ_CHECK(have_range ? first <= last && last - first >= msgs - 1 : first == 0 && last == 0);
	FUZZ_CHECK(xorb_snapcheck_tar_bytes(c) == xorb_snapcheck_decoded_bytes(c));
	if (wrapped && len >= 8 && !memcmp(data, "NATSARC1", 8))
		FUZZ_CHECK(fmt == XORB_SNAPCHECK_FORMAT_V2);
	else if (wrapped && len && memcmp(data, "NATSARC1", len < 8 ? len : 8))
		FUZZ_CHECK(fmt == XORB_SNAPCHECK_FORMAT_TAR);
	else if (wrapped)
		FUZZ_CHECK(fmt == XORB_SNAPCHECK_FORMAT_UNKNOWN);
	if (fmt != XORB_SNAPCHECK_FORMAT_V2)
		FUZZ_CHECK(msgs == 0);
	else
		FUZZ_CHECK(msgs <= xorb_snapcheck_entry_count(c));
	if (rc == XORB_OK) {
		FUZZ_CHECK(xorb_snapcheck_entry_count(c) >= 1); /* meta.inf or state.json at least */
		FUZZ_CHECK(fmt != XORB_SNAPCHECK_FORMAT_UNKNOWN);
		if (fmt == XORB_SNAPCHECK_FORMAT_V2)
			FUZZ_CHECK(xorb_snapcheck_entry_count(c) == 1 + count + msgs);
		if (wrapped)
			FUZZ_CHECK(xorb_snapcheck_decoded_bytes(c) == len);
	} else {
		FUZZ_CHECK(rc == XORB_ECORRUPT || rc == XORB_ENOMEM);
		FUZZ_CHECK(err.code == rc && strnlen(err.msg, sizeof(err.msg)) < sizeof(err.msg));
		xorb_error_clear(&e2);
		FUZZ_CHECK(xorb_snapcheck_feed(c, in, inlen, &e2) == rc && e2.code == rc);
		FUZZ_CHECK(xorb_snapcheck_finish(c, NULL) == rc);
	}
	xorb_snapcheck_free(c);
	free(framed);
	return 0;
}

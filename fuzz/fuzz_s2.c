/*
 * libFuzzer target: the streaming S2/Snappy framing decoder on untrusted
 * bytes, fed in pieces split at data-derived points so that frame headers
 * and bodies straddle xorb_s2_dec_feed calls (the buffered path) as well as
 * arriving whole (the in-place path). Some inputs get a sink that stops the
 * decoder part way. Also holds the SSE4.2 CRC-32C against the portable one.
 *
 * Invariants: bytes counted in equal the bytes fed while decoding goes on;
 * bytes counted out equal what the sink received; a failed decoder keeps
 * returning the same status.
 */
#include <string.h>

#include "fuzz_util.h"
#include "xorb_s2.h"

#define SINK_STOP 4242

struct sink {
	uint64_t got;
	uint64_t stop_after; /* stop once this many bytes arrived; 0: never */
	uint8_t acc;
};

static int sink_fn(void *arg, const uint8_t *data, size_t len)
{
	struct sink *s = arg;
	size_t i;

	FUZZ_CHECK(len > 0 && len <= XORB_S2_MAX_BLOCK);
	for (i = 0; i < len; i++) /* every byte handed out must be readable */
		s->acc ^= data[i];
	s->got += len;
	if (s->stop_after && s->got >= s->stop_after)
		return SINK_STOP;
	return 0;
}

static void check_crc(const uint8_t *data, size_t len)
{
	size_t k = len > 3 ? 3 : len;

	FUZZ_CHECK(xorb_crc32c(0, data, len) == xorb_crc32c_portable(0, data, len));
	/* unaligned start and a running CRC continued across two calls */
	FUZZ_CHECK(xorb_crc32c(xorb_crc32c(0, data, k), data + k, len - k) ==
		   xorb_crc32c_portable(0, data, len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint64_t h = fuzz_hash(data, len);
	struct sink sink = { 0 };
	struct xorb_s2_dec *d = NULL;
	struct xorb_error err;
	size_t off = 0, split, step, n;
	int rc = XORB_OK, again;

	check_crc(data, len);
	if (fuzz_pick(h, 48, 8) == 0)
		sink.stop_after = 1 + fuzz_pick(h, 32, 1 << 16);
	FUZZ_CHECK(xorb_s2_dec_new(&d, sink_fn, &sink) == XORB_OK);
	xorb_error_clear(&err);

	/* first piece up to a data-derived split point, then pieces of a
	 * data-derived size (often tiny, so headers straddle calls) */
	split = fuzz_pick(h, 0, len + 1);
	step = fuzz_pick(h, 16, 4) == 0 ? 1 + fuzz_pick(h, 20, 7) : 1 + fuzz_pick(h, 20, 70000);
	rc = xorb_s2_dec_feed(d, data, split, &err);
	off = split;
	while (!rc && off < len) {
		n = len - off < step ? len - off : step;
		rc = xorb_s2_dec_feed(d, data + off, n, &err);
		off += n;
	}
	if (!rc) {
		FUZZ_CHECK(xorb_s2_dec_total_in(d) == len);
		rc = xorb_s2_dec_finish(d, &err);
	}
	FUZZ_CHECK(xorb_s2_dec_total_in(d) <= len);
	/* a block the sink refused is not counted out */
	if (rc == SINK_STOP)
		FUZZ_CHECK(xorb_s2_dec_total_out(d) < sink.got);
	else
		FUZZ_CHECK(xorb_s2_dec_total_out(d) == sink.got);
	if (rc) {
		struct xorb_error e2;

		FUZZ_CHECK(rc == XORB_ECORRUPT || rc == SINK_STOP || rc == XORB_ENOMEM);
		FUZZ_CHECK(rc != SINK_STOP || sink.stop_after);
		FUZZ_CHECK(err.code == rc && strnlen(err.msg, sizeof(err.msg)) < sizeof(err.msg));
		xorb_error_clear(&e2);
		again = xorb_s2_dec_feed(d, data, len, &e2);
		FUZZ_CHECK(again == rc && e2.code == rc);
		FUZZ_CHECK(xorb_s2_dec_finish(d, NULL) == rc);
	}
	xorb_s2_dec_free(d);
	return 0;
}

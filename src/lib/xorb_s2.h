/*
 * Streaming decoder of the S2 framing format (Snappy's framing format with
 * S2's block extensions), the container nats-server writes stream snapshots
 * in, plus the CRC-32C every frame is checked with.
 *
 * The caller feeds compressed bytes as they arrive, split anywhere; decoded
 * bytes go to a sink callback block by block, each block only after its CRC
 * has been verified. Memory stays bounded by one maximal frame plus one
 * maximal block (about 2 x 4 MiB), whatever the input.
 */
#ifndef XORB_S2_H
#define XORB_S2_H

#include <stddef.h>
#include <stdint.h>

#include "xorb_error.h"

/* The largest decoded block S2 allows; sNaPpY-framed streams allow 64 KiB. */
#define XORB_S2_MAX_BLOCK (4u << 20)

/*
 * Standard CRC-32C (Castagnoli, reflected, as in iSCSI and the Snappy frame
 * format). Start with crc = 0 and pass the previous result to continue:
 * xorb_crc32c(0, "123456789", 9) == 0xE3069283. Uses the SSE4.2 crc32
 * instruction when the CPU has it.
 */
uint32_t xorb_crc32c(uint32_t crc, const void *data, size_t len);
/* The same function computed without special instructions (slicing-by-8);
 * exported so that tests can hold both implementations against each other. */
uint32_t xorb_crc32c_portable(uint32_t crc, const void *data, size_t len);

/*
 * Receives decoded data: len > 0 bytes, valid only during the call. Returns
 * 0 to continue; any other value stops decoding and is returned by the
 * xorb_s2_dec_feed that called it.
 */
typedef int (*xorb_s2_sink_fn)(void *arg, const uint8_t *data, size_t len);

struct xorb_s2_dec;

/* Creates a decoder that hands its output to sink(arg, ...). Returns
 * XORB_OK, or XORB_ENOMEM (then *out is NULL). */
int xorb_s2_dec_new(struct xorb_s2_dec **out, xorb_s2_sink_fn sink, void *arg);

/*
 * Decodes len more bytes of input; the input may be split at any byte
 * boundary across calls. Whole blocks are handed to the sink before this
 * returns; a frame that is not complete yet is kept until the next call.
 * Returns XORB_OK; XORB_ECORRUPT for bad input (err says what and at which
 * input offset); XORB_ENOMEM; or the sink's nonzero value (err then says the
 * sink stopped; the sink is expected to keep its own detail). After any
 * failure the decoder stays failed and every later call returns the same.
 */
int xorb_s2_dec_feed(struct xorb_s2_dec *d, const void *data, size_t len,
		     struct xorb_error *err);

/* Declares the end of the input: XORB_ECORRUPT when it ended inside a
 * frame or held no stream identifier, else XORB_OK. */
int xorb_s2_dec_finish(struct xorb_s2_dec *d, struct xorb_error *err);

/* Bytes consumed from the input and bytes handed to the sink so far. */
uint64_t xorb_s2_dec_total_in(const struct xorb_s2_dec *d);
uint64_t xorb_s2_dec_total_out(const struct xorb_s2_dec *d);

/* Frees the decoder and its buffers; NULL is ignored. */
void xorb_s2_dec_free(struct xorb_s2_dec *d);

#endif

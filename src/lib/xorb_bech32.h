/*
 * Bech32 as age uses it for its keys (age1... recipients, AGE-SECRET-KEY-1...
 * identities): the BIP 173 checksum (not BIP 350's bech32m), without BIP
 * 173's 90-character limit, 8-bit data packed into 5-bit groups.
 *
 * A string is all lower case or all upper case, never mixed; the checksum is
 * always computed over the lower-case form. Decoding is strict: one case, a
 * separator ('1', the last one in the string), a non-empty human-readable part
 * (HRP) of printable ASCII, a 6-character checksum that verifies, and data
 * whose unused trailing bits are zero (the only encoding an encoder makes).
 */
#ifndef XORB_BECH32_H
#define XORB_BECH32_H

#include <stddef.h>

enum xorb_bech32_status {
	XORB_BECH32_OK = 0,
	XORB_BECH32_EMIXED,    /* upper and lower case letters mixed */
	XORB_BECH32_ESEP,      /* no '1' separator, an empty HRP or a data part under 6 characters */
	XORB_BECH32_ECHAR,     /* a character outside the HRP range or the data alphabet */
	XORB_BECH32_ECHECKSUM, /* the checksum does not verify (mistyped or truncated) */
	XORB_BECH32_EPADDING,  /* the data's unused trailing bits are not zero, or too many */
	XORB_BECH32_ESPACE,    /* an output buffer is too small */
};

/* Characters of the encoding of n data bytes with an HRP of hrp_len
 * characters, without the NUL. */
size_t xorb_bech32_len(size_t hrp_len, size_t n);

/* Writes hrp '1' data checksum and a NUL into out (cap bytes, at least
 * xorb_bech32_len + 1): all lower case, or all upper case when upper != 0
 * (the checksum is that of the lower-case string either way). hrp is one or
 * more printable ASCII characters (33..126). XORB_BECH32_OK, ECHAR or ESPACE. */
int xorb_bech32_encode(const char *hrp, const void *data, size_t n, int upper, char *out,
		       size_t cap);

/* Decodes len characters of text. The HRP goes to hrp (hrp_cap bytes, NUL
 * terminated) as written, case kept, so that a caller comparing it also checks
 * the case; the data bytes go to data (cap bytes), their count to *n. Returns
 * an enum xorb_bech32_status. */
int xorb_bech32_decode(const char *text, size_t len, char *hrp, size_t hrp_cap, unsigned char *data,
		       size_t cap, size_t *n);

/* What a status means, in a few lower-case words; never NULL. */
const char *xorb_bech32_strerror(int status);

#endif

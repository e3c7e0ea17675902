/* Bech32 (BIP 173 checksum) for age keys: see xorb_bech32.h. */
#include "xorb_bech32.h"

#include <stdint.h>
#include <string.h>

static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t polymod_step(uint32_t chk, unsigned int v)
{
	static const uint32_t gen[5] = { 0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3 };
	uint32_t b = chk >> 25;
	int i;

	chk = ((chk & 0x1ffffff) << 5) ^ v;
	for (i = 0; i < 5; i++)
		if ((b >> i) & 1)
			chk ^= gen[i];
	return chk;
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* The checksum state after the expanded HRP (high bits, 0, low bits), over
 * the lower-case HRP whatever case it is written in. */
static uint32_t polymod_hrp(const char *hrp, size_t len)
{
	uint32_t chk = 1;
	size_t i;

	for (i = 0; i < len; i++)
		chk = polymod_step(chk, (unsigned int)lower((unsigned char)hrp[i]) >> 5);
	chk = polymod_step(chk, 0);
	for (i = 0; i < len; i++)
		chk = polymod_step(chk, (unsigned int)lower((unsigned char)hrp[i]) & 31);
	return chk;
}

size_t xorb_bech32_len(size_t hrp_len, size_t n)
{
	return hrp_len + 1 + (n * 8 + 4) / 5 + 6;
}

int xorb_bech32_encode(const char *hrp, const void *data, size_t n, int upper, char *out,
		       size_t cap)
{
	const unsigned char *p = data;
	size_t hl = strlen(hrp), o = 0, i;
	unsigned int acc = 0;
	uint32_t chk;
	int bits = 0;

	if (hl == 0)
		return XORB_BECH32_ECHAR;
	for (i = 0; i < hl; i++)
		if ((unsigned char)hrp[i] < 33 || (unsigned char)hrp[i] > 126)
			return XORB_BECH32_ECHAR;
	if (cap < xorb_bech32_len(hl, n) + 1)
		return XORB_BECH32_ESPACE;
	chk = polymod_hrp(hrp, hl);
	for (i = 0; i < hl; i++)
		out[o++] = (char)lower((unsigned char)hrp[i]);
	out[o++] = '1';
	for (i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 5) {
			unsigned int v = (acc >> (bits - 5)) & 31;

			out[o++] = charset[v];
			chk = polymod_step(chk, v);
			bits -= 5;
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0) {
		unsigned int v = (acc << (5 - bits)) & 31;

		out[o++] = charset[v];
		chk = polymod_step(chk, v);
	}
	for (i = 0; i < 6; i++)
		chk = polymod_step(chk, 0);
	chk ^= 1;
	for (i = 0; i < 6; i++)
		out[o++] = charset[(chk >> (5 * (5 - i))) & 31];
	out[o] = '\0';
	if (upper)
		for (i = 0; i < o; i++)
			if (out[i] >= 'a' && out[i] <= 'z')
				out[i] = (char)(out[i] - 'a' + 'A');
	return XORB_BECH32_OK;
}

static int charset_value(int c)
{
	const char *q;

	if (c == 0)
		return -1;
	q = strchr(charset, lower(c));
	return q ? (int)(q - charset) : -1;
}

int xorb_bech32_decode(const char *text, size_t len, char *hrp, size_t hrp_cap, unsigned char *data,
		       size_t cap, size_t *n)
{
	size_t sep, i, groups, o = 0;
	int has_lower = 0, has_upper = 0, bits = 0;
	unsigned int acc = 0;
	uint32_t chk;

	*n = 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c < 33 || c > 126)
			return XORB_BECH32_ECHAR;
		has_lower |= c >= 'a' && c <= 'z';
		has_upper |= c >= 'A' && c <= 'Z';
	}
	if (has_lower && has_upper)
		return XORB_BECH32_EMIXED;
	/* the separator is the last '1': the HRP may contain '1' itself */
	for (sep = len; sep > 0 && text[sep - 1] != '1'; sep--)
		;
	if (sep < 2 || len - sep < 6)
		return XORB_BECH32_ESEP;
	sep--; /* index of the '1' */
	if (sep + 1 > hrp_cap)
		return XORB_BECH32_ESPACE;
	groups = len - sep - 1 - 6;
	if (groups * 5 / 8 > cap)
		return XORB_BECH32_ESPACE;
	for (i = sep + 1; i < len; i++)
		if (charset_value((unsigned char)text[i]) < 0)
			return XORB_BECH32_ECHAR;
	chk = polymod_hrp(text, sep);
	for (i = sep + 1; i < len; i++)
		chk = polymod_step(chk, (unsigned int)charset_value((unsigned char)text[i]));
	if (chk != 1)
		return XORB_BECH32_ECHECKSUM;
	for (i = 0; i < groups; i++) {
		acc = (acc << 5) | (unsigned int)charset_value((unsigned char)text[sep + 1 + i]);
		bits += 5;
		if (bits >= 8) {
			data[o++] = (unsigned char)(acc >> (bits - 8));
			bits -= 8;
		}
		acc &= (1u << bits) - 1;
	}
	/* BIP 173 convertbits without padding: at most 4 leftover bits, all zero */
	if (bits >= 5 || acc != 0) {
		memset(data, 0, o);
		return XORB_BECH32_EPADDING;
	}
	memcpy(hrp, text, sep);
	hrp[sep] = '\0';
	*n = o;
	return XORB_BECH32_OK;
}

const char *xorb_bech32_strerror(int status)
{
	switch (status) {
	case XORB_BECH32_OK: return "valid";
	case XORB_BECH32_EMIXED: return "upper and lower case mixed";
	case XORB_BECH32_ESEP: return "no separator '1', an empty prefix or a data part under 6 characters";
	case XORB_BECH32_ECHAR: return "a character outside the Bech32 alphabet";
	case XORB_BECH32_ECHECKSUM: return "the Bech32 checksum does not match (mistyped or truncated)";
	case XORB_BECH32_EPADDING: return "non-canonical Bech32 data (unused trailing bits)";
	case XORB_BECH32_ESPACE: return "longer than expected";
	}
	return "unknown Bech32 error";
}

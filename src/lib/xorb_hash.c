/* SHA-256 helpers: see xorb_hash.h. */
#include "xorb_hash.h"

#include <openssl/evp.h>
#include <stdio.h>

struct xorb_sha256 {
	EVP_MD_CTX *ctx;
};

struct xorb_sha256 *xorb_sha256_new(void)
{
	struct xorb_sha256 *h = OPENSSL_zalloc(sizeof(*h));

	if (!h)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || !EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL)) {
		xorb_sha256_free(h);
		return NULL;
	}
	return h;
}

void xorb_sha256_update(struct xorb_sha256 *h, const void *data, size_t len)
{
	if (len)
		EVP_DigestUpdate(h->ctx, data, len);
}

void xorb_sha256_final_hex(struct xorb_sha256 *h, char out[XORB_SHA256_HEX])
{
	unsigned char md[32];
	unsigned int n = 0, i;

	EVP_DigestFinal_ex(h->ctx, md, &n);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
	EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
}

void xorb_sha256_free(struct xorb_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	OPENSSL_free(h);
}

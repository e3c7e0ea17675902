/*
 * CPU cost of age encryption and decryption through the streaming API
 * (xorb_age.h): encrypts MIB mebibytes (default 1024) to one X25519
 * recipient into memory, in 1 MiB writes, then decrypts them back in 1 MiB
 * reads, and prints the user + system CPU seconds of each pass scaled to one
 * GiB. The output buffer is touched before the clock starts, so page faults
 * of a fresh buffer are not counted; the copies in and out of the API are
 * (a pipeline makes them too). A third, untimed pass checks the plaintext.
 *
 * Not a test (tests/CMakeLists.txt builds it, nothing runs it):
 *     build/tests/bench_age [MIB]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <openssl/rand.h>

#include "xorb_age.h"

#define PIECE (1u << 20)

struct mem {
	unsigned char *data;
	size_t len, cap, pos;
};

static int mem_write(void *arg, const void *data, size_t len, struct xorb_error *err)
{
	struct mem *m = arg;

	if (len > m->cap - m->len)
		return xorb_error_set(err, XORB_ELIMIT, "bench buffer full");
	memcpy(m->data + m->len, data, len);
	m->len += len;
	return XORB_OK;
}

static int mem_read(void *arg, void *buf, size_t len, size_t *got, struct xorb_error *err)
{
	struct mem *m = arg;
	size_t n = m->len - m->pos < len ? m->len - m->pos : len;

	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	*got = n;
	return XORB_OK;
}

static double cpu_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const struct xorb_error *err)
{
	fprintf(stderr, "bench_age: %s: %s\n", what, err->msg);
	exit(2);
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024, total, i;
	struct xorb_age_identity *id = NULL;
	struct xorb_age_recipient r;
	struct xorb_age_enc *e = NULL;
	struct xorb_age_dec *d = NULL;
	struct xorb_error err = { 0, "" };
	unsigned char *block, *out;
	struct mem m;
	double c0, w0, enc_cpu, enc_wall, dec_cpu, dec_wall, gib;
	size_t got, back = 0;

	if (mib == 0) {
		fprintf(stderr, "usage: bench_age [MIB]\n");
		return 64;
	}
	total = mib * PIECE;
	gib = (double)total / (1024.0 * 1024 * 1024);
	block = malloc(PIECE);
	out = malloc(PIECE);
	memset(&m, 0, sizeof(m));
	m.cap = total + total / XORB_AGE_CHUNK * XORB_AGE_TAG_LEN + 4096;
	m.data = malloc(m.cap);
	if (!block || !out || !m.data || RAND_bytes(block, PIECE) != 1) {
		fprintf(stderr, "bench_age: out of memory\n");
		return 2;
	}
	memset(m.data, 0, m.cap); /* fault the pages in before the clock */
	if (xorb_age_keygen(&id, &err))
		die("keygen", &err);
	xorb_age_identity_recipient(id, &r, NULL);

	c0 = cpu_now();
	w0 = wall_now();
	if (xorb_age_enc_new(&e, &r, 1, mem_write, &m, &err))
		die("enc_new", &err);
	for (i = 0; i < mib; i++)
		if (xorb_age_enc_write(e, block, PIECE, &err))
			die("enc_write", &err);
	if (xorb_age_enc_finish(e, &err))
		die("enc_finish", &err);
	enc_cpu = cpu_now() - c0;
	enc_wall = wall_now() - w0;
	xorb_age_enc_free(e);

	c0 = cpu_now();
	w0 = wall_now();
	if (xorb_age_dec_new(&d, &id, 1, mem_read, &m, &err))
		die("dec_new", &err);
	do {
		if (xorb_age_dec_read(d, out, PIECE, &got, &err))
			die("dec_read", &err);
		back += got;
	} while (got);
	dec_cpu = cpu_now() - c0;
	dec_wall = wall_now() - w0;
	xorb_age_dec_free(d);
	if (back != total) {
		fprintf(stderr, "bench_age: decrypted %zu bytes of %zu\n", back, total);
		return 2;
	}

	/* untimed: the plaintext is right */
	m.pos = 0;
	if (xorb_age_dec_new(&d, &id, 1, mem_read, &m, &err))
		die("dec_new", &err);
	for (back = 0;; back += got) {
		if (xorb_age_dec_read(d, out, PIECE, &got, &err))
			die("dec_read", &err);
		if (!got)
			break;
		if (memcmp(out, block + back % PIECE, got)) {
			fprintf(stderr, "bench_age: plaintext differs near byte %zu\n", back);
			return 2;
		}
	}
	xorb_age_dec_free(d);

	printf("age, %zu MiB, one X25519 recipient, 1 MiB writes and reads, ciphertext %zu bytes\n", mib,
	       m.len);
	printf("encrypt: %.3f CPU s (%.3f CPU s/GiB), %.3f s wall, %.0f MiB/s\n", enc_cpu, enc_cpu / gib,
	       enc_wall, (double)mib / enc_wall);
	printf("decrypt: %.3f CPU s (%.3f CPU s/GiB), %.3f s wall, %.0f MiB/s\n", dec_cpu, dec_cpu / gib,
	       dec_wall, (double)mib / dec_wall);
	xorb_age_identity_free(id);
	free(m.data);
	free(block);
	free(out);
	return 0;
}

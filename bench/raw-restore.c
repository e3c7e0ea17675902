/*
 * raw-restore: the physical baseline for xorb-restore. The least a client can
 * do to restore a snapshot file: the restore request with a backup.json, the
 * snapshot bytes in 1 MiB chunks with WINDOW of them in flight, the final
 * empty message. No archive, no decompression; only the checks without
 * which a failed restore would look like a success: every chunk's reply must
 * be empty (the server answers a chunk it refuses with a JSON error), and the
 * final reply must carry no error.
 *
 * The restore protocol is the same on 2.9.10, 2.10.27 and 2.15.1 (checked):
 * request, chunks with a reply subject each, final empty message. 2.14+ pipe
 * the chunks into the stream as they arrive instead of staging them in a
 * file, which changes nothing a client sees except what exists after a
 * failure.
 *
 *   raw-restore URL STREAM BACKUP_JSON SNAPSHOT_FILE [WINDOW]
 */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* a chunk's reply: empty = stored, anything else (a JSON error) = refused */
static int chunk_ok(natsMsg *m, unsigned long long total)
{
	if (natsMsg_GetDataLength(m) == 0)
		return 1;
	fprintf(stderr, "raw-restore: chunk refused near %llu bytes: %.*s\n", total, natsMsg_GetDataLength(m),
		natsMsg_GetData(m));
	return 0;
}

static char *slurp(const char *path, long *len)
{
	FILE *f = fopen(path, "rb");
	char *p;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)*len + 1);
	if (p && fread(p, 1, (size_t)*len, f) != (size_t)*len) {
		free(p);
		p = NULL;
	}
	if (p)
		p[*len] = '\0';
	fclose(f);
	return p;
}

int main(int argc, char **argv)
{
	natsConnection *nc = NULL;
	natsSubscription *sub = NULL;
	natsMsg *reply = NULL;
	natsInbox *inbox = NULL;
	char subj[512], deliver[256], wild[256], rsubj[300], *meta, *p, buf[1 << 20];
	int window = argc > 5 ? atoi(argv[5]) : 8, inflight = 0;
	long mlen;
	size_t n;
	unsigned long long seq = 0, total = 0;
	struct timespec t0, t1;
	FILE *in;

	if (argc < 5) {
		fprintf(stderr, "usage: raw-restore URL STREAM BACKUP_JSON SNAPSHOT_FILE [WINDOW]\n");
		return 64;
	}
	meta = slurp(argv[3], &mlen);
	in = fopen(argv[4], "rb");
	if (!meta || !in || natsConnection_ConnectTo(&nc, argv[1]) != NATS_OK ||
	    natsInbox_Create(&inbox) != NATS_OK) {
		fprintf(stderr, "raw-restore: setup failed\n");
		return 2;
	}
	snprintf(wild, sizeof(wild), "%s.*", inbox);
	natsConnection_SubscribeSync(&sub, nc, wild);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.RESTORE.%s", argv[2]);
	/* an error reply carries "deliver_subject":"" too (2.15) */
	if (natsConnection_Request(&reply, nc, subj, meta, (int)mlen, 10000) != NATS_OK ||
	    strstr(natsMsg_GetData(reply), "\"error\"") ||
	    !(p = strstr(natsMsg_GetData(reply), "\"deliver_subject\":\"")) || p[strlen("\"deliver_subject\":\"")] == '"') {
		fprintf(stderr, "raw-restore: request failed: %s\n", reply ? natsMsg_GetData(reply) : "");
		return 2;
	}
	p += strlen("\"deliver_subject\":\"");
	snprintf(deliver, sizeof(deliver), "%.*s", (int)strcspn(p, "\""), p);
	natsMsg_Destroy(reply);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		while (inflight >= window) {
			natsMsg *m = NULL;

			if (natsSubscription_NextMsg(&m, sub, 10000) != NATS_OK) {
				fprintf(stderr, "raw-restore: no reply to a chunk near %llu bytes\n", total);
				return 2;
			}
			if (!chunk_ok(m, total))
				return 2;
			natsMsg_Destroy(m);
			inflight--;
		}
		snprintf(rsubj, sizeof(rsubj), "%s.%llu", inbox, ++seq);
		if (natsConnection_PublishRequest(nc, deliver, rsubj, buf, (int)n) != NATS_OK) {
			fprintf(stderr, "raw-restore: sending a chunk failed\n");
			return 2;
		}
		inflight++;
		total += n;
	}
	while (inflight-- > 0) {
		natsMsg *m = NULL;

		if (natsSubscription_NextMsg(&m, sub, 10000) != NATS_OK) {
			fprintf(stderr, "raw-restore: no reply to a chunk near %llu bytes\n", total);
			return 2;
		}
		if (!chunk_ok(m, total))
			return 2;
		natsMsg_Destroy(m);
	}
	if (natsConnection_Request(&reply, nc, deliver, NULL, 0, 300000) != NATS_OK ||
	    strstr(natsMsg_GetData(reply), "\"error\"")) {
		fprintf(stderr, "raw-restore: final failed: %s\n", reply ? natsMsg_GetData(reply) : "no reply");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%llu bytes in %.3f s\n", total,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	natsMsg_Destroy(reply);
	natsSubscription_Destroy(sub);
	natsInbox_Destroy(inbox);
	natsConnection_Destroy(nc);
	fclose(in);
	free(meta);
	return 0;
}

/*
 * raw-snapshot: the physical baseline for xorb-backup. The least a client
 * can do to save a stream: request the server's snapshot, ack every chunk,
 * write the bytes to a file. No checks, no archive, no compression.
 *
 *   raw-snapshot URL STREAM OUTFILE [CHUNK_SIZE]
 *
 * The snapshot reply ({"config","state",...}) goes to OUTFILE.json, the
 * request body raw-restore needs.
 */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	natsConnection *nc = NULL;
	natsSubscription *sub = NULL;
	natsMsg *reply = NULL;
	natsInbox *inbox = NULL;
	char subj[512], body[512];
	long long total = 0;
	struct timespec t0, t1;
	FILE *out;

	if (argc < 4) {
		fprintf(stderr, "usage: raw-snapshot URL STREAM OUTFILE [CHUNK_SIZE]\n");
		return 64;
	}
	out = fopen(argv[3], "wb");
	if (!out || natsConnection_ConnectTo(&nc, argv[1]) != NATS_OK || natsInbox_Create(&inbox) != NATS_OK ||
	    natsConnection_SubscribeSync(&sub, nc, inbox) != NATS_OK ||
	    natsSubscription_SetPendingLimits(sub, -1, 256 << 20) != NATS_OK) {
		fprintf(stderr, "raw-snapshot: setup failed\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.SNAPSHOT.%s", argv[2]);
	snprintf(body, sizeof(body), "{\"deliver_subject\":\"%s\",\"chunk_size\":%s}", inbox,
		 argc > 4 ? argv[4] : "1048576");
	if (natsConnection_RequestString(&reply, nc, subj, body, 10000) != NATS_OK ||
	    strstr(natsMsg_GetData(reply), "\"error\"")) {
		fprintf(stderr, "raw-snapshot: request failed\n");
		return 2;
	}
	{
		char jpath[4096];
		FILE *j;

		snprintf(jpath, sizeof(jpath), "%s.json", argv[3]);
		j = fopen(jpath, "wb");
		if (j) {
			fwrite(natsMsg_GetData(reply), 1, (size_t)natsMsg_GetDataLength(reply), j);
			fclose(j);
		}
	}
	for (;;) {
		natsMsg *m = NULL;

		if (natsSubscription_NextMsg(&m, sub, 30000) != NATS_OK) {
			fprintf(stderr, "raw-snapshot: stalled\n");
			return 2;
		}
		if (!natsMsg_GetReply(m)) {
			natsMsg_Destroy(m);
			break;
		}
		fwrite(natsMsg_GetData(m), 1, (size_t)natsMsg_GetDataLength(m), out);
		total += natsMsg_GetDataLength(m);
		natsConnection_Publish(nc, natsMsg_GetReply(m), NULL, 0);
		natsMsg_Destroy(m);
	}
	fflush(out);
	fsync(fileno(out));
	fclose(out);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%lld bytes in %.3f s\n", total,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	natsMsg_Destroy(reply);
	natsSubscription_Destroy(sub);
	natsInbox_Destroy(inbox);
	natsConnection_Destroy(nc);
	return 0;
}

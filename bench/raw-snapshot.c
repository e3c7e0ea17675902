/*
 * raw-snapshot: the physical baseline for xorb-backup. The least a client
 * can do to save a stream: request the server's snapshot, ack every chunk,
 * write the bytes to a file. No archive, no compression, and only the checks
 * without which the file would be wrong on some server version:
 *
 *  - each chunk is acked on RECEIPT, before it is written: 2.10 ends the
 *    snapshot (408 No Flow Response) after 2 s without an ack, 2.12.5+ after
 *    5 s, so a write that stalls must not hold the ack back;
 *  - a chunk WITHOUT a reply subject but WITH data is the last data chunk
 *    (2.12.5+, e.g. 2.15.1): written, not acked; earlier versions put a reply
 *    subject on every data chunk;
 *  - only an EMPTY message ends the snapshot: bare (2.9; 2.12.5+ when no
 *    acked chunk was sent) or with a status header: 204 = done, anything
 *    else (408 No Flow Response / No Interest, 500 <error>) = failed;
 *  - chunks dropped by the client library (slow consumer) = failed.
 *
 *   raw-snapshot URL STREAM OUTFILE [CHUNK_SIZE]
 *
 * The snapshot reply's "config" and "state" go to OUTFILE.json as
 * {"config":...,"state":...}, the request body raw-restore needs: 2.15 refuses
 * a restore request with any other member (the reply's "type" included:
 * "json: unknown field").
 */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* the span of the value of the top-level member NAME of the object JSON */
static const char *member(const char *json, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	int depth = 0;
	const char *p, *v;

	for (p = json; *p; p++) {
		if (*p == '"') {
			const char *k = ++p;

			while (*p && *p != '"')
				p += (*p == '\\' && p[1]) ? 2 : 1;
			if (!*p)
				return NULL;
			if (depth != 1 || (size_t)(p - k) != nl || strncmp(k, name, nl))
				continue;
			for (v = p + 1; *v == ' '; v++)
				;
			if (*v != ':')
				continue; /* a string value, not a member name */
			for (v++; *v == ' '; v++)
				;
			for (p = v, depth = 0; *p; p++) {
				if (*p == '"') {
					for (p++; *p && *p != '"'; p += (*p == '\\' && p[1]) ? 2 : 1)
						;
					if (!*p)
						return NULL;
				} else if (*p == '{' || *p == '[') {
					depth++;
				} else if (*p == '}' || *p == ']') {
					if (depth-- == 0)
						break;
					if (depth == 0) {
						p++;
						break;
					}
				} else if (*p == ',' && depth == 0) {
					break;
				}
			}
			*len = (size_t)(p - v);
			return v;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']')
			depth--;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	natsConnection *nc = NULL;
	natsSubscription *sub = NULL;
	natsMsg *reply = NULL;
	natsInbox *inbox = NULL;
	char subj[512], body[512];
	long long total = 0;
	int64_t dropped = 0;
	int last = 0;
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
		const char *cfg, *st;
		size_t cl = 0, sl = 0;
		FILE *j;

		cfg = member(natsMsg_GetData(reply), "config", &cl);
		st = member(natsMsg_GetData(reply), "state", &sl);
		snprintf(jpath, sizeof(jpath), "%s.json", argv[3]);
		if (!cfg || !st || !(j = fopen(jpath, "wb")) ||
		    fprintf(j, "{\"config\":%.*s,\"state\":%.*s}", (int)cl, cfg, (int)sl, st) < 0 || fclose(j)) {
			fprintf(stderr, "raw-snapshot: cannot write %s from the reply %s\n", jpath, natsMsg_GetData(reply));
			return 2;
		}
	}
	for (;;) {
		natsMsg *m = NULL;
		const char *ack, *status = NULL, *desc = NULL;
		int len;

		if (natsSubscription_NextMsg(&m, sub, 30000) != NATS_OK) {
			fprintf(stderr, "raw-snapshot: stalled or interrupted after %lld bytes\n", total);
			return 2;
		}
		ack = natsMsg_GetReply(m);
		len = natsMsg_GetDataLength(m);
		if (len == 0 && (!ack || !*ack)) {
			natsMsgHeader_Get(m, "Status", &status);
			natsMsgHeader_Get(m, "Description", &desc);
			if (status && strcmp(status, "204") && strcmp(status, "200")) {
				fprintf(stderr, "raw-snapshot: the server ended the snapshot after %lld bytes with status %s %s\n",
					total, status, desc ? desc : "");
				return 2;
			}
			natsMsg_Destroy(m);
			break;
		}
		if (last) {
			fprintf(stderr, "raw-snapshot: a chunk arrived after the last one (at %lld bytes)\n", total);
			return 2;
		}
		if (ack && *ack)
			natsConnection_Publish(nc, ack, NULL, 0); /* ack on receipt */
		else
			last = 1; /* 2.12.5+: the last data chunk carries no reply subject */
		if (fwrite(natsMsg_GetData(m), 1, (size_t)len, out) != (size_t)len) {
			fprintf(stderr, "raw-snapshot: write failed\n");
			return 2;
		}
		total += len;
		natsMsg_Destroy(m);
	}
	if (natsSubscription_GetDropped(sub, &dropped) != NATS_OK || dropped > 0) {
		fprintf(stderr, "raw-snapshot: %lld chunks were dropped by the client library\n", (long long)dropped);
		return 2;
	}
	if (fflush(out) || fsync(fileno(out)) || fclose(out)) {
		fprintf(stderr, "raw-snapshot: write failed\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%lld bytes in %.3f s\n", total,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	natsMsg_Destroy(reply);
	natsSubscription_Destroy(sub);
	natsInbox_Destroy(inbox);
	natsConnection_Destroy(nc);
	return 0;
}

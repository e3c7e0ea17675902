/* The tenant isolation model: see xorb_tenancy.h. */
#include "xorb_tenancy.h"

#include <stdio.h>
#include <string.h>

#include "xorb_json.h"
#include "xorb_nats.h"

const char *const xorb_domains[XORB_DOMAINS] = { "evidence", "scan", "compliance", "control" };

static cJSON *strings(const char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	size_t i;

	for (i = 0; a && i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

static cJSON *perms(const char *const *pub, size_t np, const char *const *sub, size_t ns)
{
	cJSON *p = cJSON_CreateObject(), *o;

	o = cJSON_AddObjectToObject(p, "pub");
	cJSON_AddItemToObject(o, "allow", strings(pub, np));
	cJSON_AddArrayToObject(o, "deny");
	o = cJSON_AddObjectToObject(p, "sub");
	cJSON_AddItemToObject(o, "allow", strings(sub, ns));
	return p;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int xorb_tenant_plan(const struct xorb_env *env, const struct xorb_env_tenant *t, int replicas,
		     struct xorb_tenant_plan *p, struct xorb_error *err)
{
	char s1[160], s2[160], s3[160], s4[160], data[160];
	int64_t live_bytes, replay_bytes, live_msgs, replay_msgs;
	int r = replicas > 0 ? replicas : env->num_replicas, d;

	memset(p, 0, sizeof(*p));
	if (t->max_streams < XORB_TENANT_STREAMS)
		return xorb_error_set(err, XORB_EINVAL,
				      "tenant %s: max_streams %lld is below the %d streams its classes need (4 domains x live, replay)",
				      t->name, (long long)t->max_streams, XORB_TENANT_STREAMS);
	if (t->max_consumers < XORB_TENANT_CONSUMERS)
		return xorb_error_set(err, XORB_EINVAL,
				      "tenant %s: max_consumers %lld is below the %d tuned consumers (one per domain's live stream)",
				      t->name, (long long)t->max_consumers, XORB_TENANT_CONSUMERS);
	/* a quarter per domain, live:replay = 1:2, capped by the class sizes */
	live_bytes = min64(t->max_bytes / 12, XORB_LIVE_MAX_BYTES);
	replay_bytes = min64(t->max_bytes / 12 * 2, XORB_REPLAY_MAX_BYTES);
	live_msgs = min64(t->max_messages / 12, XORB_LIVE_MAX_MSGS);
	replay_msgs = min64(t->max_messages / 12 * 2, XORB_REPLAY_MAX_MSGS);
	if (live_bytes < (1 << 20) || live_msgs < 100)
		return xorb_error_set(err, XORB_EINVAL,
				      "tenant %s: max_bytes %lld / max_messages %lld leave less than 1 MiB / 100 messages per live stream",
				      t->name, (long long)t->max_bytes, (long long)t->max_messages);
	snprintf(p->tenant, sizeof(p->tenant), "%s", t->name);
	snprintf(p->account_name, sizeof(p->account_name), "xorb-%s", t->name);
	p->max_connections = t->max_connections;

	p->limits = cJSON_CreateObject();
	xorb_json_add_int(p->limits, "subs", -1);
	xorb_json_add_int(p->limits, "data", -1);
	xorb_json_add_int(p->limits, "payload", -1);
	xorb_json_add_int(p->limits, "imports", -1);
	xorb_json_add_int(p->limits, "exports", -1);
	cJSON_AddBoolToObject(p->limits, "wildcards", 1);
	xorb_json_add_int(p->limits, "conn", t->max_connections);
	xorb_json_add_int(p->limits, "leaf", -1);
	xorb_json_add_int(p->limits, "mem_storage", 0);
	xorb_json_add_int(p->limits, "disk_storage", t->max_bytes);
	xorb_json_add_int(p->limits, "streams", t->max_streams);
	xorb_json_add_int(p->limits, "consumer", t->max_consumers);

	snprintf(data, sizeof(data), "xorb.%s.>", t->name);
	{
		/* the tenant's applications: publish and consume their subjects,
		 * the JetStream API of their account (create and read streams and
		 * consumers, fetch, ack, flow control), replies and push deliveries
		 * on _INBOX. Denied: deleting, purging or reconfiguring a replay
		 * stream (deny_delete/deny_purge guard single messages only, while
		 * STREAM.UPDATE to a short max_age or STREAM.DELETE would erase the
		 * evidence); xorb-state apply changes them as the account's
		 * administrator, restores go through the backup user. */
		const char *pub[] = { data, "$JS.API.>", "$JS.ACK.>", "$JS.FC.>", "_INBOX.>" };
		const char *sub[] = { data, "_INBOX.>", "$JS.FC.>" };
		cJSON *deny;

		p->user_perms = perms(pub, 5, sub, 3);
		deny = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(p->user_perms, "pub"), "deny");
		for (d = 0; deny && d < XORB_DOMAINS; d++) {
			static const char *const ops[] = { "DELETE", "PURGE", "UPDATE" };
			size_t k;

			for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
				snprintf(s1, sizeof(s1), "$JS.API.STREAM.%s.xorb-%s-%s-replay", ops[k], t->name,
					 xorb_domains[d]);
				cJSON_AddItemToArray(deny, cJSON_CreateString(s1));
			}
		}
	}
	{
		/* least privilege for xorb-backup / xorb-restore: the API calls they
		 * make, the snapshot acks and restore chunks, replies; no data.
		 * CONSUMER.DELETE and DURABLE.CREATE: a restore recreates a consumer
		 * the server restored without its position (xorb_consumers.h);
		 * STREAM.UPDATE: a restore sets max_bytes back after restoring without
		 * it to fit the account's limit (xorb_restore.c, fit_account). */
		const char *pub[] = { "$JS.API.INFO", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST",
				      "$JS.API.STREAM.INFO.*", "$JS.API.STREAM.SNAPSHOT.*",
				      "$JS.API.STREAM.RESTORE.*", "$JS.API.STREAM.DELETE.*",
				      "$JS.API.STREAM.UPDATE.*",
				      "$JS.API.CONSUMER.NAMES.*", "$JS.API.CONSUMER.LIST.*",
				      "$JS.API.CONSUMER.INFO.*.*", "$JS.API.CONSUMER.DELETE.*.*",
				      "$JS.API.CONSUMER.DURABLE.CREATE.*.*", "$JS.SNAPSHOT.ACK.>",
				      "$JS.SNAPSHOT.RESTORE.>" };
		/* only xorb's own inboxes (XORB_INBOX_PREFIX): "_INBOX.>" would
		 * let it receive what push consumers deliver to _INBOX subjects */
		const char *sub[] = { XORB_INBOX_PREFIX ".>" };

		p->backup_perms = perms(pub, sizeof(pub) / sizeof(pub[0]), sub, 1);
	}

	for (d = 0; d < XORB_DOMAINS; d++) {
		struct xorb_stream_plan *live = &p->streams[2 * d], *replay = &p->streams[2 * d + 1];
		struct xorb_consumer_plan *c = &p->consumers[d];
		const char *dom = xorb_domains[d];
		cJSON *cfg, *subj;
		char deliver[200];

		snprintf(live->name, sizeof(live->name), "xorb-%s-%s-live", t->name, dom);
		snprintf(replay->name, sizeof(replay->name), "xorb-%s-%s-replay", t->name, dom);
		snprintf(s1, sizeof(s1), "xorb.%s.%s.*.created", t->name, dom);
		snprintf(s2, sizeof(s2), "xorb.%s.%s.*.updated", t->name, dom);
		snprintf(s3, sizeof(s3), "xorb.%s.%s.*.completed", t->name, dom);
		snprintf(s4, sizeof(s4), "xorb.%s.%s.*.failed", t->name, dom);

		cfg = live->config = cJSON_CreateObject();
		cJSON_AddStringToObject(cfg, "name", live->name);
		subj = cJSON_AddArrayToObject(cfg, "subjects");
		cJSON_AddItemToArray(subj, cJSON_CreateString(s1));
		cJSON_AddItemToArray(subj, cJSON_CreateString(s2));
		cJSON_AddItemToArray(subj, cJSON_CreateString(s3));
		cJSON_AddItemToArray(subj, cJSON_CreateString(s4));
		cJSON_AddStringToObject(cfg, "retention", "limits");
		xorb_json_add_int(cfg, "max_consumers", -1);
		xorb_json_add_int(cfg, "max_msgs", live_msgs);
		xorb_json_add_int(cfg, "max_bytes", live_bytes);
		xorb_json_add_int(cfg, "max_age", t->retention_days * XORB_NS_PER_DAY);
		cJSON_AddStringToObject(cfg, "storage", "file");
		cJSON_AddStringToObject(cfg, "discard", "old");
		xorb_json_add_int(cfg, "num_replicas", r);

		snprintf(s1, sizeof(s1), "xorb.%s.%s.*.replay", t->name, dom);
		cfg = replay->config = cJSON_CreateObject();
		cJSON_AddStringToObject(cfg, "name", replay->name);
		subj = cJSON_AddArrayToObject(cfg, "subjects");
		cJSON_AddItemToArray(subj, cJSON_CreateString(s1));
		cJSON_AddStringToObject(cfg, "retention", "limits");
		xorb_json_add_int(cfg, "max_consumers", -1);
		xorb_json_add_int(cfg, "max_msgs", replay_msgs);
		xorb_json_add_int(cfg, "max_bytes", replay_bytes);
		xorb_json_add_int(cfg, "max_age", XORB_REPLAY_MAX_AGE_DAYS * XORB_NS_PER_DAY);
		cJSON_AddStringToObject(cfg, "storage", "file");
		cJSON_AddStringToObject(cfg, "discard", "old");
		xorb_json_add_int(cfg, "num_replicas", r);
		cJSON_AddBoolToObject(cfg, "deny_delete", 1);
		cJSON_AddBoolToObject(cfg, "deny_purge", 1);
		/* WORM-like: a full replay stream refuses new events rather than
		 * silently dropping old evidence */
		cJSON_DeleteItemFromObjectCaseSensitive(cfg, "discard");
		cJSON_AddStringToObject(cfg, "discard", "new");

		/* the seed's tuned push consumer on the live stream */
		snprintf(c->stream, sizeof(c->stream), "%s", live->name);
		snprintf(c->name, sizeof(c->name), "%s-consumer", live->name);
		snprintf(deliver, sizeof(deliver), "_INBOX.%s", c->name);
		cfg = c->config = cJSON_CreateObject();
		cJSON_AddStringToObject(cfg, "durable_name", c->name);
		cJSON_AddStringToObject(cfg, "deliver_subject", deliver);
		cJSON_AddStringToObject(cfg, "deliver_policy", "last");
		cJSON_AddStringToObject(cfg, "ack_policy", "explicit");
		xorb_json_add_int(cfg, "ack_wait", 30LL * 1000000000LL);
		xorb_json_add_int(cfg, "max_ack_pending", 1024);
		cJSON_AddBoolToObject(cfg, "flow_control", 1);
		xorb_json_add_int(cfg, "idle_heartbeat", 5LL * 1000000000LL);
		xorb_json_add_int(cfg, "rate_limit_bps", 1048576);
		cJSON_AddStringToObject(cfg, "replay_policy", "instant");
	}
	if (!p->limits || !p->user_perms || !p->backup_perms) {
		xorb_tenant_plan_release(p);
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	}
	return XORB_OK;
}

void xorb_tenant_plan_release(struct xorb_tenant_plan *p)
{
	int i;

	cJSON_Delete(p->limits);
	cJSON_Delete(p->user_perms);
	cJSON_Delete(p->backup_perms);
	for (i = 0; i < XORB_TENANT_STREAMS; i++)
		cJSON_Delete(p->streams[i].config);
	for (i = 0; i < XORB_TENANT_CONSUMERS; i++)
		cJSON_Delete(p->consumers[i].config);
	memset(p, 0, sizeof(*p));
}

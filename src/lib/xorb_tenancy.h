/*
 * The tenant isolation model of the seed, as data: from one environment
 * tenant, the account limits, the two users' permissions, the streams
 * (domain x class) and the tuned consumers that `xorb-state apply` makes.
 *
 * Streams: xorb-<t>-<domain>-live and xorb-<t>-<domain>-replay for the four
 * domains. Subjects do not overlap: live takes the events created, updated,
 * completed and failed (xorb.<t>.<domain>.*.<event>), replay takes the event
 * replay (xorb.<t>.<domain>.*.replay).
 *
 * Budgets: the class sizes (live 512 MiB / 1M messages, replay 1 GiB / 2M)
 * are caps; the tenant's budget wins. Each domain gets a quarter of the
 * tenant's max_bytes and max_messages, split live:replay = 1:2 (the seed's
 * class sizes are in that ratio), each capped by its class size, so that
 * the tenant's streams together never exceed its limits (nats-server
 * reserves a stream's max_bytes from the account's storage).
 *
 * Replay streams are WORM-like: deny_delete, deny_purge, and discard "new"
 * (a full replay stream refuses new events instead of dropping old ones);
 * live streams discard the oldest events.
 */
#ifndef XORB_TENANCY_H
#define XORB_TENANCY_H

#include <cjson/cJSON.h>

#include "xorb_env.h"
#include "xorb_error.h"

#define XORB_DOMAINS 4
#define XORB_CLASSES 2
#define XORB_TENANT_STREAMS (XORB_DOMAINS * XORB_CLASSES)
#define XORB_TENANT_CONSUMERS XORB_DOMAINS

#define XORB_LIVE_MAX_BYTES (512LL << 20)
#define XORB_LIVE_MAX_MSGS 1000000LL
#define XORB_REPLAY_MAX_BYTES (1LL << 30)
#define XORB_REPLAY_MAX_MSGS 2000000LL
#define XORB_REPLAY_MAX_AGE_DAYS 30
#define XORB_NS_PER_DAY 86400000000000LL

extern const char *const xorb_domains[XORB_DOMAINS];

struct xorb_stream_plan {
	char name[128];
	cJSON *config; /* the stream config to create (owned) */
};

struct xorb_consumer_plan {
	char stream[128];
	char name[160];
	cJSON *config; /* the consumer config (owned) */
};

struct xorb_tenant_plan {
	char tenant[64];
	char account_name[80];	/* xorb-<tenant> */
	int64_t max_connections;
	cJSON *limits;		/* nats.limits of the account JWT (owned) */
	cJSON *user_perms;	/* {"pub":{"allow":[…]},"sub":{"allow":[…]}} for xorb-<t>-user */
	cJSON *backup_perms;	/* the same for xorb-<t>-backup */
	struct xorb_stream_plan streams[XORB_TENANT_STREAMS];
	struct xorb_consumer_plan consumers[XORB_TENANT_CONSUMERS];
};

/* Builds the plan of one tenant; replicas overrides the environment's
 * num_replicas when > 0. Fails with the reason when the environment cannot
 * be met (max_streams or max_consumers below what the classes need, a
 * budget too small for 8 streams). */
int xorb_tenant_plan(const struct xorb_env *env, const struct xorb_env_tenant *t, int replicas,
		     struct xorb_tenant_plan *out, struct xorb_error *err);
void xorb_tenant_plan_release(struct xorb_tenant_plan *p);

#endif

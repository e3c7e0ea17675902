/*
 * Tenant accounts as code against a real operator-mode nats-server (full
 * account resolver): plan/apply idempotence, a limit changed live, the seed's
 * isolation tests (permissions, schema, quotas), the DR drill (apply ->
 * publish -> backup -> destroy -> import -> restore -> the old creds work and
 * every message and consumer is back), the seed's dev and prod environments,
 * bad environment and state files, the issuer check on import, and that an
 * import is all or nothing for the accounts (a bad last account: none of the
 * file's accounts is pushed; a push the server refuses: the error says which
 * were pushed and which not).
 */
#include "xt_harness.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "xorb_jwt.h"
#include "xorb_keys.h"
#include "xorb_nkeys.h"
#include "xorb_sys.h"

static char *work, keys[4200], envf[4200], store_env[4300], keys_env[4300];
static struct xt_server srv;

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int run(struct xt_result *r, const char *const *argv)
{
	const char *env[] = { store_env, keys_env, NULL };

	memset(r, 0, sizeof(*r));
	assert_int_equal(xt_run(argv, env, 300, r), 0);
	if (r->status)
		fprintf(stderr, "--- %s %s: exit %d\n%s%s", argv[0], argv[1] ? argv[1] : "", r->status, r->out, r->err);
	return r->status;
}

static void write_env(const char *path, const char *tenants_json)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "{\"environment\":\"test\",\"nats_url\":\"%s\",\"num_replicas\":1,\"tenants\":{%s}}\n", srv.url,
		tenants_json);
	fclose(f);
}

#define T_QA "\"t-qa\":{\"name\":\"t-qa\",\"display_name\":\"QA\",\"max_streams\":25,\"max_consumers\":50,\"max_bytes\":536870912,\"max_messages\":500000,\"retention_days\":7}"
#define T_B "\"t-bee\":{\"name\":\"t-bee\",\"max_streams\":10,\"max_consumers\":20,\"max_bytes\":268435456,\"max_messages\":250000,\"retention_days\":3}"
#define T_QUOTA "\"t-quota\":{\"name\":\"t-quota\",\"max_streams\":8,\"max_consumers\":4,\"max_bytes\":25165824,\"max_messages\":1200,\"retention_days\":1}"

static int setup(void **state)
{
	struct xt_server_opts o = { 1, NULL, NULL, 0 };
	char path[4400], *conf;
	struct xt_result r;

	work = xt_tempdir("xorb-state");
	snprintf(keys, sizeof(keys), "%s/keys", work);
	snprintf(envf, sizeof(envf), "%s/test.tfvars.json", work);
	snprintf(store_env, sizeof(store_env), "XORB_STORE=%s/store", work);
	snprintf(keys_env, sizeof(keys_env), "XORB_KEYS=%s", keys);
	const char *init[] = { xt_bin("xorb-state"), "init", "--keys", keys, NULL };
	assert_int_equal(xt_run(init, NULL, 60, &r), 0);
	assert_int_equal(r.status, 0);
	xt_result_release(&r);
	/* the fragment init wrote, pasted into the server's configuration */
	snprintf(path, sizeof(path), "%s/resolver.conf", keys);
	conf = slurp(path);
	o.extra_conf = conf;
	assert_int_equal(xt_server_start(&srv, &o), 0);
	free(conf);
	write_env(envf, T_QA "," T_B "," T_QUOTA);
	return 0;
}

static int teardown(void **state)
{
	xt_server_stop(&srv);
	xt_rmtree(work);
	free(work);
	return 0;
}

static void creds(const char *user, char *out, size_t len)
{
	snprintf(out, len, "%s/creds/%s.creds", keys, user);
}

static int login_tries = 25; /* connect_as's attempts */

static natsStatus connect_with(const char *path, natsConnection **nc, natsErrHandler eh, void *closure)
{
	natsOptions *o = NULL;
	natsStatus s = NATS_ERR;

	natsOptions_Create(&o);
	natsOptions_SetURL(o, srv.url);
	natsOptions_SetUserCredentialsFromFiles(o, path, NULL);
	natsOptions_SetAllowReconnect(o, false);
	if (eh)
		natsOptions_SetErrorHandler(o, eh, closure);
	/* nats-server 2.9.10 refused a valid user's first login now and then
	 * (about 1 run in 5, at different points) right after xorb-state had
	 * pushed or left the account: retry for up to 5 s like a reconnecting
	 * client. Logins that must fail (after destroy) still fail, 5 s later. */
	for (int attempt = 0; attempt < login_tries; attempt++) {
		s = natsConnection_Connect(nc, o);
		if (s == NATS_OK)
			break;
		fprintf(stderr, "connect with %s: %s\n", path, nats_GetLastError(NULL));
		usleep(200 * 1000);
	}
	natsOptions_Destroy(o);
	return s;
}

static natsStatus connect_as(const char *user, natsConnection **nc, natsErrHandler eh, void *closure)
{
	char path[4400];

	creds(user, path, sizeof(path));
	return connect_with(path, nc, eh, closure);
}

static void test_init_files_are_private(void **state)
{
	struct stat sb;
	char p[4400];
	const char *secret[] = { "operator.nk", "operator-signing.nk", "sys-account.nk", "sys.creds" };
	size_t i;

	assert_int_equal(stat(keys, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	for (i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", keys, secret[i]);
		assert_int_equal(stat(p, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}
	/* init refuses to overwrite */
	struct xt_result r;
	const char *again[] = { xt_bin("xorb-state"), "init", "--keys", keys, NULL };
	assert_int_equal(run(&r, again), 2);
	assert_non_null(strstr(r.err, "refusing to overwrite"));
	xt_result_release(&r);
}

static void test_plan_apply_idempotent(void **state)
{
	struct xt_result r;

	const char *plan[] = { xt_bin("xorb-state"), "plan", envf, NULL };
	assert_int_equal(run(&r, plan), 0);
	assert_non_null(strstr(r.out, "+ account xorb-t-qa"));
	assert_non_null(strstr(r.out, "+ stream xorb-t-qa-scan-live"));
	assert_non_null(strstr(r.out, "+ consumer xorb-t-qa-scan-live-consumer"));
	assert_non_null(strstr(r.out, "Plan: 45 to create, 0 to update, 0 unchanged"));
	xt_result_release(&r);

	const char *apply[] = { xt_bin("xorb-state"), "apply", envf, NULL };
	assert_int_equal(run(&r, apply), 0);
	assert_non_null(strstr(r.out, "Applied: 45 to create, 0 to update, 0 unchanged"));
	xt_result_release(&r);
	assert_int_equal(run(&r, apply), 0);
	assert_non_null(strstr(r.out, "Applied: 0 to create, 0 to update, 45 unchanged"));
	xt_result_release(&r);
	assert_int_equal(run(&r, plan), 0);
	assert_null(strstr(r.out, "\n+ "));
	assert_null(strstr(r.out, "\n~ "));
	xt_result_release(&r);
}

static int64_t account_limit(const char *user, const char *key)
{
	natsConnection *nc = NULL;
	natsMsg *m = NULL;
	cJSON *j;
	int64_t v;

	assert_int_equal(connect_as(user, &nc, NULL, NULL), NATS_OK);
	assert_int_equal(natsConnection_RequestString(&m, nc, "$JS.API.INFO", "", 5000), NATS_OK);
	j = cJSON_Parse(natsMsg_GetData(m));
	v = (int64_t)cJSON_GetObjectItem(cJSON_GetObjectItem(j, "limits"), key)->valuedouble;
	cJSON_Delete(j);
	natsMsg_Destroy(m);
	natsConnection_Destroy(nc);
	return v;
}

static void test_limit_change_applied_live(void **state)
{
	struct xt_result r;

	assert_int_equal(account_limit("xorb-t-bee-user", "max_streams"), 10);
	write_env(envf, T_QA ",\"t-bee\":{\"name\":\"t-bee\",\"max_streams\":12,\"max_consumers\":20,\"max_bytes\":268435456,"
		  "\"max_messages\":250000,\"retention_days\":3}," T_QUOTA);
	const char *plan[] = { xt_bin("xorb-state"), "plan", envf, NULL };
	assert_int_equal(run(&r, plan), 0);
	assert_non_null(strstr(r.out, "~ account xorb-t-bee: streams 10 -> 12"));
	assert_non_null(strstr(r.out, "Plan: 0 to create, 1 to update"));
	xt_result_release(&r);
	const char *apply[] = { xt_bin("xorb-state"), "apply", envf, NULL };
	assert_int_equal(run(&r, apply), 0);
	xt_result_release(&r);
	/* the running server enforces the new limit at once, no restart */
	assert_int_equal(account_limit("xorb-t-bee-user", "max_streams"), 12);
	write_env(envf, T_QA "," T_B "," T_QUOTA);
	assert_int_equal(run(&r, apply), 0);
	xt_result_release(&r);
}

static int violations;
static char last_violation[512];

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
	violations++;
	snprintf(last_violation, sizeof(last_violation), "%s", nats_GetLastError(NULL) ?: "");
}

static void test_isolation(void **state)
{
	natsConnection *nc = NULL;
	natsSubscription *sub = NULL;
	natsMsg *m = NULL;
	struct xt_result r;
	char subj[200];
	int i, before;

	assert_int_equal(connect_as("xorb-t-qa-user", &nc, on_error, NULL), NATS_OK);
	/* 1. tenant A cannot publish to tenant B's subjects, nor subscribe */
	before = violations;
	assert_int_equal(natsConnection_PublishString(nc, "xorb.t-bee.scan.nmap.created", "test"), NATS_OK);
	natsConnection_Flush(nc);
	usleep(300 * 1000);
	assert_true(violations > before);
	before = violations;
	assert_int_equal(natsConnection_SubscribeSync(&sub, nc, "xorb.t-bee.>"), NATS_OK);
	natsConnection_Flush(nc);
	usleep(300 * 1000);
	assert_true(violations > before);
	natsSubscription_Destroy(sub);
	/* its own subjects are stored */
	assert_int_equal(natsConnection_RequestString(&m, nc, "xorb.t-qa.scan.nmap.created", "ok", 5000), NATS_OK);
	assert_non_null(strstr(natsMsg_GetData(m), "\"stream\":\"xorb-t-qa-scan-live\""));
	natsMsg_Destroy(m);
	/* 2. a subject outside the schema is not stored by any stream, and the linter flags it */
	assert_int_equal(natsConnection_RequestString(&m, nc, "xorb.t-qa.invalid-domain.service.created", "x", 2000),
			 NATS_NO_RESPONDERS);
	const char *lint[] = { xt_bin("xorb-subject-lint"), "xorb.t-qa.invalid-domain.service.created", NULL };
	assert_int_equal(run(&r, lint), 1);
	assert_non_null(strstr(r.out, "invalid-domain"));
	xt_result_release(&r);
	natsConnection_Destroy(nc);

	/* 3. quotas: the replay stream refuses events past its share of max_messages */
	assert_int_equal(connect_as("xorb-t-quota-user", &nc, NULL, NULL), NATS_OK);
	for (i = 0; i < 201; i++) {
		snprintf(subj, sizeof(subj), "xorb.t-quota.evidence.svc.replay");
		assert_int_equal(natsConnection_RequestString(&m, nc, subj, "e", 5000), NATS_OK);
		if (i < 200)
			assert_null(strstr(natsMsg_GetData(m), "\"error\""));
		else
			assert_non_null(strstr(natsMsg_GetData(m), "maximum messages"));
		natsMsg_Destroy(m);
	}
	/* stream and consumer counts are enforced: max_streams 8 are in use */
	assert_int_equal(natsConnection_RequestString(&m, nc, "$JS.API.STREAM.CREATE.xorb-t-quota-extra-live",
						      "{\"name\":\"xorb-t-quota-extra-live\",\"subjects\":[\"xorb.t-quota.extra.>\"],\"max_bytes\":1024}",
						      5000), NATS_OK);
	assert_non_null(strstr(natsMsg_GetData(m), "10027"));
	natsMsg_Destroy(m);
	/* nats-server 2.9 applies the account's max_consumers (4 here) to each
	 * stream: scan-live has its tuned consumer, 3 more fit, the 5th fails */
	for (i = 1; i <= 4; i++) {
		char body[300];

		snprintf(subj, sizeof(subj), "$JS.API.CONSUMER.DURABLE.CREATE.xorb-t-quota-scan-live.extra%d", i);
		snprintf(body, sizeof(body), "{\"stream_name\":\"xorb-t-quota-scan-live\",\"config\":{\"durable_name\":\"extra%d\","
			 "\"ack_policy\":\"explicit\"}}", i);
		assert_int_equal(natsConnection_RequestString(&m, nc, subj, body, 5000), NATS_OK);
		if (i < 4)
			assert_null(strstr(natsMsg_GetData(m), "\"error\""));
		else
			assert_non_null(strstr(natsMsg_GetData(m), "10026"));
		natsMsg_Destroy(m);
	}
	natsConnection_Destroy(nc);

	/* 4. the backup user has no data subjects */
	assert_int_equal(connect_as("xorb-t-qa-backup", &nc, on_error, NULL), NATS_OK);
	before = violations;
	natsConnection_PublishString(nc, "xorb.t-qa.scan.nmap.created", "x");
	natsConnection_Flush(nc);
	usleep(300 * 1000);
	assert_true(violations > before);
	/* ... and receives nothing the tenant's push consumers deliver: the
	 * seed's consumer delivers to _INBOX.<consumer>, which the backup user
	 * may not subscribe to (neither to _INBOX.> nor to >) */
	{
		natsConnection *app = NULL;
		natsSubscription *spy[3] = { NULL }, *own = NULL;
		const char *spied[] = { "_INBOX.>", ">", "_INBOX.xorb-t-qa-scan-live-consumer" };
		int k, got_own = 0;

		for (k = 0; k < 3; k++) {
			before = violations;
			assert_int_equal(natsConnection_SubscribeSync(&spy[k], nc, spied[k]), NATS_OK);
			natsConnection_Flush(nc);
			usleep(300 * 1000);
			if (violations <= before)
				fail_msg("the backup user may subscribe to %s", spied[k]);
		}
		assert_int_equal(connect_as("xorb-t-qa-user", &app, NULL, NULL), NATS_OK);
		assert_int_equal(natsConnection_SubscribeSync(&own, app, "_INBOX.xorb-t-qa-scan-live-consumer"), NATS_OK);
		for (i = 0; i < 3; i++) {
			assert_int_equal(natsConnection_RequestString(&m, app, "xorb.t-qa.scan.nmap.completed", "secret-event", 5000),
					 NATS_OK);
			natsMsg_Destroy(m);
		}
		/* the application gets the deliveries, the backup user none */
		for (i = 0; i < 20 && natsSubscription_NextMsg(&m, own, 500) == NATS_OK; i++) {
			got_own += strstr(natsMsg_GetData(m) ? natsMsg_GetData(m) : "", "secret-event") != NULL;
			natsMsg_Destroy(m);
		}
		assert_true(got_own > 0);
		for (k = 0; k < 3; k++) {
			if (natsSubscription_NextMsg(&m, spy[k], 200) == NATS_OK)
				fail_msg("the backup user received \"%.60s\" on %s", natsMsg_GetData(m), natsMsg_GetSubject(m));
			natsSubscription_Destroy(spy[k]);
		}
		natsSubscription_Destroy(own);
		natsConnection_Destroy(app);
	}
	natsConnection_Destroy(nc);

	/* 5. the tenant's user cannot delete, purge or reconfigure a replay
	 * stream (WORM-like), but can still publish to it and read it */
	assert_int_equal(connect_as("xorb-t-qa-user", &nc, on_error, NULL), NATS_OK);
	{
		static const char *const admin[][2] = {
			{ "$JS.API.STREAM.DELETE.xorb-t-qa-scan-replay", "" },
			{ "$JS.API.STREAM.PURGE.xorb-t-qa-scan-replay", "" },
			{ "$JS.API.STREAM.UPDATE.xorb-t-qa-scan-replay",
			  "{\"name\":\"xorb-t-qa-scan-replay\",\"subjects\":[\"xorb.t-qa.scan.*.replay\"],\"max_age\":1000000000,\"storage\":\"file\"}" },
		};
		cJSON *info;
		size_t k;

		assert_int_equal(natsConnection_RequestString(&m, nc, "xorb.t-qa.scan.nmap.replay", "evidence", 5000), NATS_OK);
		assert_null(strstr(natsMsg_GetData(m), "\"error\""));
		natsMsg_Destroy(m);
		for (k = 0; k < sizeof(admin) / sizeof(admin[0]); k++) {
			natsStatus st;

			before = violations;
			st = natsConnection_RequestString(&m, nc, admin[k][0], admin[k][1], 1000);
			if (st == NATS_OK) {
				fail_msg("the tenant's user got an answer to %s: %s", admin[k][0], natsMsg_GetData(m));
				natsMsg_Destroy(m);
			}
			usleep(200 * 1000);
			if (violations <= before)
				fail_msg("no permission violation for %s (%s)", admin[k][0], natsStatus_GetText(st));
		}
		assert_int_equal(natsConnection_RequestString(&m, nc, "$JS.API.STREAM.INFO.xorb-t-qa-scan-replay", "", 5000),
				 NATS_OK);
		info = cJSON_Parse(natsMsg_GetData(m));
		natsMsg_Destroy(m);
		assert_non_null(info);
		/* still there, with its messages and its 30-day max_age */
		assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(info, "state"), "messages")->valuedouble >= 1);
		assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(info, "config"), "max_age")->valuedouble > 1e9 * 86400);
		cJSON_Delete(info);
	}
	natsConnection_Destroy(nc);
}

/* Every message of a stream as "seq subject data time" lines. */
static char *dump(natsConnection *nc, const char *stream)
{
	char subj[300], body[64];
	natsMsg *m = NULL;
	size_t cap = 1 << 16, len = 0;
	char *out = calloc(1, cap);
	cJSON *info;
	int64_t first, last, seq;

	snprintf(subj, sizeof(subj), "$JS.API.STREAM.INFO.%s", stream);
	assert_int_equal(natsConnection_RequestString(&m, nc, subj, "", 5000), NATS_OK);
	info = cJSON_Parse(natsMsg_GetData(m));
	first = (int64_t)cJSON_GetObjectItem(cJSON_GetObjectItem(info, "state"), "first_seq")->valuedouble;
	last = (int64_t)cJSON_GetObjectItem(cJSON_GetObjectItem(info, "state"), "last_seq")->valuedouble;
	len += (size_t)snprintf(out + len, cap - len, "state %lld..%lld consumers %d\n", (long long)first, (long long)last,
				cJSON_GetObjectItem(cJSON_GetObjectItem(info, "state"), "consumer_count")->valueint);
	cJSON_Delete(info);
	natsMsg_Destroy(m);
	snprintf(subj, sizeof(subj), "$JS.API.STREAM.MSG.GET.%s", stream);
	for (seq = first; seq && seq <= last; seq++) {
		snprintf(body, sizeof(body), "{\"seq\":%lld}", (long long)seq);
		assert_int_equal(natsConnection_RequestString(&m, nc, subj, body, 5000), NATS_OK);
		if (len + (size_t)natsMsg_GetDataLength(m) + 2 > cap) {
			cap = cap * 2 + (size_t)natsMsg_GetDataLength(m);
			out = realloc(out, cap);
		}
		len += (size_t)snprintf(out + len, cap - len, "%s\n", natsMsg_GetData(m));
		natsMsg_Destroy(m);
	}
	return out;
}

/* Whether text holds an nkey seed: "S" + type letter + 56 more base32 characters. */
static int has_seed(const char *text)
{
	const char *p;

	for (p = text; (p = strchr(p, 'S')); p++) {
		size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");

		if ((p == text || !strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abcdefghijklmnopqrstuvwxyz0123456789-_", p[-1])) &&
		    n == 58 && strchr("UAO", p[1]))
			return 1;
	}
	return 0;
}

/*
 * `xorb-state apply` moves an existing account to the current permissions
 * (issue 12, point 1): a backup user of an earlier version (subscribe
 * `_INBOX.>`, where the seed's push consumers deliver the tenant's events) is
 * re-issued, and its earlier JWTs are revoked in the account JWT, so a copy
 * of the old creds file no longer connects and a connection made with it is
 * closed. Before, only the creds file was rewritten: the old JWT, signed by
 * the same account key, kept working with the old permissions. A second apply
 * changes nothing (the revocation is kept, not added again).
 */
static void test_apply_revokes_old_permissions(void **state)
{
	struct xorb_error err = { 0 };
	struct xorb_keys *k = NULL;
	struct xorb_nkey *acct = NULL, *seed = NULL;
	natsConnection *nc = NULL, *old_nc = NULL;
	natsSubscription *sub = NULL;
	char path[4400], old_copy[4400], *text, *jwt = NULL, *old_jwt = NULL, *old_creds = NULL;
	cJSON *claims = NULL, *perms, *sub_perm;
	struct xt_result r;
	int before, i;

	/* an "earlier version's" backup user: same key, sub _INBOX.> allowed */
	creds("xorb-t-qa-backup", path, sizeof(path));
	text = slurp(path);
	assert_int_equal(xorb_creds_parse(text, strlen(text), &jwt, &seed, &err), XORB_OK);
	free(text);
	assert_int_equal(xorb_jwt_decode(jwt, &claims, &err), XORB_OK);
	perms = cJSON_CreateObject();
	cJSON_AddItemToObject(perms, "pub", cJSON_Duplicate(cJSON_GetObjectItem(cJSON_GetObjectItem(claims, "nats"), "pub"), 1));
	sub_perm = cJSON_AddObjectToObject(perms, "sub");
	cJSON_AddItemToObject(sub_perm, "allow", cJSON_CreateStringArray((const char *[]){ "_INBOX.>" }, 1));
	assert_int_equal(xorb_keys_open(keys, &k, &err), XORB_OK);
	assert_int_equal(xorb_keys_account(k, "t-qa", 0, &acct, &err), XORB_OK);
	assert_int_equal(xorb_keys_user_jwt(acct, "xorb-t-qa-backup", seed, perms, &old_jwt, &err), XORB_OK);
	assert_int_equal(xorb_creds_format(old_jwt, seed, &old_creds, &err), XORB_OK);
	assert_int_equal(xorb_secret_write(path, old_creds, strlen(old_creds), 1, &err), XORB_OK);
	snprintf(old_copy, sizeof(old_copy), "%s/old-backup.creds", work);
	assert_int_equal(xorb_secret_write(old_copy, old_creds, strlen(old_creds), 1, &err), XORB_OK);

	/* the old permissions work: _INBOX.> can be subscribed */
	assert_int_equal(connect_with(old_copy, &old_nc, on_error, NULL), NATS_OK);
	before = violations;
	assert_int_equal(natsConnection_SubscribeSync(&sub, old_nc, "_INBOX.>"), NATS_OK);
	natsConnection_Flush(old_nc);
	usleep(300 * 1000);
	assert_int_equal(violations, before);
	natsSubscription_Destroy(sub);
	sub = NULL;

	const char *plan[] = { xt_bin("xorb-state"), "plan", envf, NULL };
	assert_int_equal(run(&r, plan), 0);
	assert_non_null(strstr(r.out, "~ account xorb-t-qa: revoke the earlier JWTs of 1 user whose permissions changed"));
	assert_non_null(strstr(r.out, "~ user xorb-t-qa-backup: sub permissions changed; its earlier JWTs are revoked"));
	xt_result_release(&r);
	const char *apply[] = { xt_bin("xorb-state"), "apply", envf, NULL };
	assert_int_equal(run(&r, apply), 0);
	assert_non_null(strstr(r.out, "~ user xorb-t-qa-backup: sub permissions changed; its earlier JWTs are revoked"));
	xt_result_release(&r);

	/* the connection made with the old JWT is closed, and the old creds no
	 * longer connect */
	for (i = 0; i < 50 && !natsConnection_IsClosed(old_nc); i++)
		usleep(100 * 1000);
	assert_true(natsConnection_IsClosed(old_nc));
	natsConnection_Destroy(old_nc);
	login_tries = 3;
	assert_int_not_equal(connect_with(old_copy, &old_nc, NULL, NULL), NATS_OK);
	login_tries = 25;
	/* the re-issued creds connect, without _INBOX.> */
	assert_int_equal(connect_as("xorb-t-qa-backup", &nc, on_error, NULL), NATS_OK);
	before = violations;
	assert_int_equal(natsConnection_SubscribeSync(&sub, nc, "_INBOX.>"), NATS_OK);
	natsConnection_Flush(nc);
	usleep(300 * 1000);
	assert_true(violations > before);
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(nc);

	/* idempotent: the revocation stays, nothing to do */
	assert_int_equal(run(&r, apply), 0);
	assert_non_null(strstr(r.out, "= account xorb-t-qa ("));
	assert_non_null(strstr(r.out, "= user xorb-t-qa-backup"));
	xt_result_release(&r);

	cJSON_Delete(perms);
	cJSON_Delete(claims);
	free(jwt);
	free(old_jwt);
	explicit_bzero(old_creds, strlen(old_creds));
	free(old_creds);
	xorb_nkey_free(seed);
	xorb_nkey_free(acct);
	xorb_keys_free(k);
}

static void test_dr_drill(void **state)
{
	static const char *streams[] = { "xorb-t-qa-scan-live", "xorb-t-qa-evidence-replay", "xorb-t-qa-control-live" };
	char *before[3], *after[3], statef[4400], bk[4400];
	natsConnection *nc = NULL;
	natsMsg *m = NULL;
	struct xt_result r;
	int i;

	/* publish with the tenant's own credentials */
	assert_int_equal(connect_as("xorb-t-qa-user", &nc, NULL, NULL), NATS_OK);
	for (i = 0; i < 120; i++) {
		char subj[200], data[64];

		snprintf(subj, sizeof(subj), i % 3 == 0 ? "xorb.t-qa.scan.nmap.created" :
					     i % 3 == 1 ? "xorb.t-qa.evidence.collector.replay" : "xorb.t-qa.control.api.updated");
		snprintf(data, sizeof(data), "event %d", i);
		assert_int_equal(natsConnection_RequestString(&m, nc, subj, data, 5000), NATS_OK);
		assert_null(strstr(natsMsg_GetData(m), "\"error\""));
		natsMsg_Destroy(m);
	}
	for (i = 0; i < 3; i++)
		before[i] = dump(nc, streams[i]);
	natsConnection_Destroy(nc);

	creds("xorb-t-qa-backup", bk, sizeof(bk));
	const char *backup[] = { xt_bin("xorb-backup"), "-s", srv.url, "--creds", bk, "tenant", "t-qa", NULL };
	assert_int_equal(run(&r, backup), 0);
	xt_result_release(&r);
	snprintf(statef, sizeof(statef), "%s/state.json", work);
	const char *exp[] = { xt_bin("xorb-state"), "-s", srv.url, "export", "-o", statef, NULL };
	assert_int_equal(run(&r, exp), 0);
	xt_result_release(&r);
	{
		char *st = slurp(statef);

		/* public claims only: never a seed */
		assert_false(has_seed(st));
		assert_non_null(strstr(st, "xorb-t-qa-user"));
		free(st);
	}

	const char *destroy[] = { xt_bin("xorb-state"), "-s", srv.url, "destroy", "--tenant", "t-qa", NULL };
	assert_int_equal(run(&r, destroy), 64); /* --yes is required */
	xt_result_release(&r);
	const char *destroy_yes[] = { xt_bin("xorb-state"), "-s", srv.url, "destroy", "--tenant", "t-qa", "--yes", NULL };
	assert_int_equal(run(&r, destroy_yes), 0);
	assert_non_null(strstr(r.out, "- account xorb-t-qa"));
	xt_result_release(&r);
	/* the tenant is gone: its credentials no longer log in (one try: a
	 * login that must fail would fail each of the retries too) */
	login_tries = 1;
	assert_int_not_equal(connect_as("xorb-t-qa-user", &nc, NULL, NULL), NATS_OK);
	login_tries = 25;

	const char *import[] = { xt_bin("xorb-state"), "-s", srv.url, "import", statef, NULL };
	assert_int_equal(run(&r, import), 0);
	assert_non_null(strstr(r.out, "+ account xorb-t-qa"));
	/* import tried the tenant's creds files: they log in again */
	assert_null(strstr(r.err, "does not log in"));
	xt_result_release(&r);
	const char *restore[] = { xt_bin("xorb-restore"), "-s", srv.url, "--creds", bk, "t-qa", NULL };
	assert_int_equal(run(&r, restore), 0);
	xt_result_release(&r);

	/* the pre-existing creds connect, and every message and consumer is back */
	assert_int_equal(connect_as("xorb-t-qa-user", &nc, NULL, NULL), NATS_OK);
	for (i = 0; i < 3; i++) {
		after[i] = dump(nc, streams[i]);
		if (strcmp(before[i], after[i]))
			fprintf(stderr, "%s differs:\n--- before\n%.2000s\n--- after\n%.2000s\n", streams[i], before[i], after[i]);
		assert_string_equal(before[i], after[i]);
		assert_true(strlen(before[i]) > 200);
		free(before[i]);
		free(after[i]);
	}
	assert_int_equal(natsConnection_RequestString(&m, nc, "$JS.API.CONSUMER.INFO.xorb-t-qa-scan-live.xorb-t-qa-scan-live-consumer",
						      "", 5000), NATS_OK);
	assert_null(strstr(natsMsg_GetData(m), "\"error\""));
	assert_non_null(strstr(natsMsg_GetData(m), "\"rate_limit_bps\":1048576"));
	natsMsg_Destroy(m);
	natsConnection_Destroy(nc);

	/* a state file from another operator is refused before anything is pushed */
	{
		char keys2[4400];

		snprintf(keys2, sizeof(keys2), "%s/keys2", work);
		const char *init2[] = { xt_bin("xorb-state"), "init", "--keys", keys2, NULL };
		assert_int_equal(run(&r, init2), 0);
		xt_result_release(&r);
		const char *imp2[] = { xt_bin("xorb-state"), "-s", srv.url, "import", statef, "--keys", keys2,
				       "--system-creds", NULL, NULL };
		char sysc[4400];

		snprintf(sysc, sizeof(sysc), "%s/sys.creds", keys);
		imp2[8] = sysc;
		assert_int_equal(run(&r, imp2), 2);
		assert_non_null(strstr(r.err, "not by this operator"));
		xt_result_release(&r);
	}
}

/* Whether the server holds an account JWT for pub: the resolver's answer to
 * the system user ($SYS.REQ.ACCOUNT.<pub>.CLAIMS.LOOKUP). */
static bool server_holds(const char *pub)
{
	struct xorb_error err = { 0, "" };
	natsConnection *nc = NULL;
	natsOptions *o = NULL;
	char path[4400], *jwt = NULL;
	natsStatus s = NATS_ERR;
	int rc, attempt;

	snprintf(path, sizeof(path), "%s/sys.creds", keys);
	natsOptions_Create(&o);
	natsOptions_SetURL(o, srv.url);
	natsOptions_SetUserCredentialsFromFiles(o, path, NULL);
	natsOptions_SetAllowReconnect(o, false);
	/* a first login refused now and then right after pushes (connect_as) */
	for (attempt = 0; attempt < 25 && s != NATS_OK; attempt++) {
		s = natsConnection_Connect(&nc, o);
		if (s != NATS_OK)
			usleep(200 * 1000);
	}
	natsOptions_Destroy(o);
	assert_int_equal(s, NATS_OK);
	rc = xorb_sys_claims_lookup(nc, pub, &jwt, &err);
	free(jwt);
	natsConnection_Destroy(nc);
	if (rc != XORB_OK && rc != XORB_ENOTFOUND)
		fail_msg("claims lookup of %s: %s", pub, err.msg);
	return rc == XORB_OK;
}

static cJSON *load_state(const char *path)
{
	char *text = slurp(path);
	cJSON *j = cJSON_Parse(text);

	free(text);
	assert_non_null(j);
	return j;
}

static void save_state(cJSON *j, const char *path)
{
	char *text = cJSON_Print(j);
	FILE *f = fopen(path, "w");

	assert_non_null(text);
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(text);
	cJSON_Delete(j);
}

/* The state file src written to dst with its last tenant's account JWT
 * signed again by issuer, with the members of nats_extra (JSON, or NULL)
 * added to the claims' "nats" object first. */
static void resign_last(const char *src, const char *dst, const struct xorb_nkey *issuer, const char *nats_extra)
{
	cJSON *j = load_state(src), *acct, *claims = NULL, *extra, *it;
	struct xorb_error err = { 0, "" };
	char *jwt = NULL;

	acct = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tenants"),
						      cJSON_GetArraySize(cJSON_GetObjectItem(j, "tenants")) - 1), "account");
	assert_int_equal(xorb_jwt_decode(cJSON_GetObjectItem(acct, "jwt")->valuestring, &claims, &err), XORB_OK);
	if (nats_extra) {
		extra = cJSON_Parse(nats_extra);
		assert_non_null(extra);
		cJSON_ArrayForEach(it, extra)
			cJSON_AddItemToObject(cJSON_GetObjectItem(claims, "nats"), it->string, cJSON_Duplicate(it, 1));
		cJSON_Delete(extra);
	}
	if (xorb_jwt_encode(claims, issuer, 0, &jwt, &err))
		fail_msg("signing the edited account JWT: %s", err.msg);
	cJSON_Delete(claims);
	cJSON_ReplaceItemInObject(acct, "jwt", cJSON_CreateString(jwt));
	free(jwt);
	save_state(j, dst);
}

#define T_AON(x) "\"t-aon-" x "\":{\"name\":\"t-aon-" x "\",\"max_streams\":8,\"max_consumers\":4,\"max_bytes\":25165824," \
		 "\"max_messages\":1200,\"retention_days\":1}"

static void test_import_all_or_nothing(void **state)
{
	static const char *const tenants[] = { "t-aon-a", "t-aon-b", "t-aon-c" };
	char envaon[4400], good[4400], bad[4400], pubs[3][XORB_NKEY_PUBLIC_LEN + 1];
	struct xorb_error err = { 0, "" };
	struct xorb_nkey *foreign = NULL;
	struct xorb_keys *k = NULL;
	natsConnection *nc = NULL;
	struct xt_result r;
	cJSON *j, *arr;
	int i;

	/* three tenants of their own, exported, then destroyed */
	snprintf(envaon, sizeof(envaon), "%s/aon.tfvars.json", work);
	snprintf(good, sizeof(good), "%s/aon-state.json", work);
	snprintf(bad, sizeof(bad), "%s/aon-bad.json", work);
	write_env(envaon, T_AON("a") "," T_AON("b") "," T_AON("c"));
	const char *apply[] = { xt_bin("xorb-state"), "-s", srv.url, "apply", envaon, NULL };
	assert_int_equal(run(&r, apply), 0);
	xt_result_release(&r);
	const char *exp[] = { xt_bin("xorb-state"), "-s", srv.url, "export", "--tenant", tenants[0], "--tenant", tenants[1],
			      "--tenant", tenants[2], "-o", good, NULL };
	assert_int_equal(run(&r, exp), 0);
	xt_result_release(&r);
	j = load_state(good);
	arr = cJSON_GetObjectItem(j, "tenants");
	assert_int_equal(cJSON_GetArraySize(arr), 3);
	for (i = 0; i < 3; i++) {
		cJSON *t = cJSON_GetArrayItem(arr, i);

		assert_string_equal(cJSON_GetObjectItem(t, "tenant")->valuestring, tenants[i]);
		snprintf(pubs[i], sizeof(pubs[i]), "%s",
			 cJSON_GetObjectItem(cJSON_GetObjectItem(t, "account"), "public_key")->valuestring);
		assert_true(server_holds(pubs[i]));
	}
	cJSON_Delete(j);
	const char *destroy[] = { xt_bin("xorb-state"), "-s", srv.url, "destroy", "--tenant", tenants[0], "--tenant", tenants[1],
				  "--tenant", tenants[2], "--yes", NULL };
	assert_int_equal(run(&r, destroy), 0);
	xt_result_release(&r);
	for (i = 0; i < 3; i++)
		assert_false(server_holds(pubs[i]));

	/* 1. the LAST account issued by another operator: refused before the
	 * first push, so none of the three is back */
	assert_int_equal(xorb_nkey_generate(XORB_NKEY_OPERATOR, &foreign, &err), XORB_OK);
	resign_last(good, bad, foreign, NULL);
	xorb_nkey_free(foreign);
	const char *imp_bad[] = { xt_bin("xorb-state"), "-s", srv.url, "import", bad, NULL };
	assert_int_equal(run(&r, imp_bad), 2);
	assert_non_null(strstr(r.err, "tenant t-aon-c: "));
	assert_non_null(strstr(r.err, "not by this operator"));
	assert_non_null(strstr(r.err, "nothing was pushed"));
	assert_null(strstr(r.out, "+ account"));
	xt_result_release(&r);
	for (i = 0; i < 3; i++)
		assert_false(server_holds(pubs[i]));
	/* the first tenant's credentials do not log in: its account is not back */
	login_tries = 1;
	assert_int_not_equal(connect_as("xorb-t-aon-a-user", &nc, NULL, NULL), NATS_OK);
	login_tries = 25;

	/* 2. a tenant listed twice: refused, nothing pushed */
	j = load_state(good);
	arr = cJSON_GetObjectItem(j, "tenants");
	cJSON_AddItemToArray(arr, cJSON_Duplicate(cJSON_GetArrayItem(arr, 0), 1));
	save_state(j, bad);
	assert_int_equal(run(&r, imp_bad), 2);
	assert_non_null(strstr(r.err, "tenant t-aon-a: the state file lists it twice"));
	assert_non_null(strstr(r.err, "nothing was pushed"));
	xt_result_release(&r);
	for (i = 0; i < 3; i++)
		assert_false(server_holds(pubs[i]));

	/* 3. the last account is this operator's, but its claims are ones the
	 * server refuses (an export subject with a space): the first two are
	 * pushed, and the error says which were and which were not */
	assert_int_equal(xorb_keys_open(keys, &k, &err), XORB_OK);
	resign_last(good, bad, k->signing, "{\"exports\":[{\"name\":\"bad\",\"subject\":\"xorb.t-aon-c.bad subject\",\"type\":\"stream\"}]}");
	xorb_keys_free(k);
	assert_int_equal(run(&r, imp_bad), 2);
	assert_non_null(strstr(r.err, "tenant t-aon-c: "));
	assert_non_null(strstr(r.err, "pushed: xorb-t-aon-a (re-provisioned), xorb-t-aon-b (re-provisioned); not pushed: xorb-t-aon-c"));
	xt_result_release(&r);
	assert_true(server_holds(pubs[0]));
	assert_true(server_holds(pubs[1]));
	assert_false(server_holds(pubs[2]));

	/* 4. the good file then completes the import */
	const char *imp_good[] = { xt_bin("xorb-state"), "-s", srv.url, "import", good, NULL };
	assert_int_equal(run(&r, imp_good), 0);
	assert_non_null(strstr(r.out, "= account xorb-t-aon-a"));
	assert_non_null(strstr(r.out, "= account xorb-t-aon-b"));
	assert_non_null(strstr(r.out, "+ account xorb-t-aon-c"));
	assert_non_null(strstr(r.out, "Imported: 1 created, 2 unchanged"));
	xt_result_release(&r);
	for (i = 0; i < 3; i++)
		assert_true(server_holds(pubs[i]));
	assert_int_equal(connect_as("xorb-t-aon-c-user", &nc, NULL, NULL), NATS_OK);
	natsConnection_Destroy(nc);
}

static void test_seed_environments_apply(void **state)
{
	char src[4400], path[4400];
	struct xt_result r;
	const char *env_names[] = { "dev", "prod" };
	size_t i;

	snprintf(src, sizeof(src), "%s/environments", getenv("XORB_SOURCE_DIR"));
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s.tfvars.json", src, env_names[i]);
		/* a single test server: one replica whatever the environment says */
		const char *apply[] = { xt_bin("xorb-state"), "-s", srv.url, "apply", path, "--replicas", "1", NULL };
		assert_int_equal(run(&r, apply), 0);
		xt_result_release(&r);
		assert_int_equal(run(&r, apply), 0);
		assert_non_null(strstr(r.out, "0 to create, 0 to update"));
		xt_result_release(&r);
	}
}

static void test_bad_inputs(void **state)
{
	static const struct {
		const char *json, *expect;
	} cases[] = {
		{ "{\"environment\":\"x\",\"nats_url\":\"n\",\"tenants\":{},\"colour\":1}", "colour: unknown key" },
		{ "{\"environment\":\"x\",\"nats_url\":\"n\",\"tenants\":{\"t-qa\":{\"name\":\"t-qa\",\"max_streams\":\"25\","
		  "\"max_consumers\":5,\"max_bytes\":1,\"max_messages\":1,\"retention_days\":1}}}", "tenants.t-qa.max_streams: must be a whole number" },
		{ "{\"environment\":\"x\",\"nats_url\":\"n\",\"tenants\":{\"-bad-\":{}}}", "must not start or end with a hyphen" },
		{ "{\"environment\":\"x\",\"nats_url\":\"n\",\"tenants\":{\"t-qa\":{\"name\":\"t-qa\",\"max_streams\":5,"
		  "\"max_consumers\":50,\"max_bytes\":536870912,\"max_messages\":500000,\"retention_days\":7}}}", "max_streams 5 is below the 8 streams" },
		{ "{\"environment\":\"x\",\"nats_url\":\"n\",\"tenants\":{\"t-qa\":{\"name\":\"t-qa\",\"max_streams\":25,"
		  "\"max_consumers\":50,\"max_bytes\":99999999999999999999,\"max_messages\":500000,\"retention_days\":7}}}",
		  "tenants.t-qa.max_bytes: 1e+20 is out of range (1 to 1125899906842624)" },
		{ "{\"environment\":", "line 1, column 16 (byte 15), in environment: the document ends where a value was expected" },
		/* issue 12, point 4: a NUL in a tenant key was read as "t-qa" */
		{ "{\"environment\":\"x\",\"nats_url\":\"n\",\"tenants\":{\"t-qa\\u0000x\":{\"name\":\"t-qa\",\"max_streams\":25,"
		  "\"max_consumers\":50,\"max_bytes\":536870912,\"max_messages\":500000,\"retention_days\":7}}}",
		  "line 1, column 51 (byte 50), in tenants: NUL (\\u0000) inside a key" },
		/* equal keys: xorb took the first, Python and Terraform take the last */
		{ "{\"environment\":\"x\",\"nats_url\":\"n\",\"tenants\":{\"t-qa\":{\"name\":\"t-qa\",\"max_streams\":25,"
		  "\"max_consumers\":50,\"max_bytes\":536870912,\"max_bytes\":1,\"max_messages\":500000,\"retention_days\":7}}}",
		  "duplicate key \"max_bytes\" in tenants.t-qa at line 1, column 104 (byte 103) and again at line 1, column 126 (byte 125)" },
		{ "{\"environment\":\"x\",\n\"nats_url\":\"n\",\"tenants\":{},\n\"environment\":\"y\"}",
		  "duplicate key \"environment\" at the top level at line 1, column 2 (byte 1) and again at line 3, column 1" },
		{ "{\"environment\":\"x\",\"nats_url\":\"n\",\"tenants\":{\"t-qa\":{\"name\":\"t-qa\",\"max_streams\":25,"
		  "\"max_consumers\":50,\"max_bytes\":9223372036854775808,\"max_messages\":500000,\"retention_days\":7}}}",
		  "tenants.t-qa.max_bytes: 9.2233720368547758e+18 is out of range (1 to 1125899906842624)" },
	};
	char path[4400];
	struct xt_result r;
	size_t i;

	snprintf(path, sizeof(path), "%s/bad.tfvars.json", work);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		FILE *f = fopen(path, "w");

		fputs(cases[i].json, f);
		fclose(f);
		const char *plan[] = { xt_bin("xorb-state"), "-s", srv.url, "plan", path, NULL };
		assert_int_equal(xt_run(plan, (const char *const[]){ keys_env, NULL }, 60, &r), 0);
		if (r.status != 2 || !strstr(r.err, cases[i].expect))
			fprintf(stderr, "case %zu: exit %d: %s", i, r.status, r.err);
		assert_int_equal(r.status, 2);
		assert_non_null(strstr(r.err, cases[i].expect));
		assert_non_null(strstr(r.err, path));
		xt_result_release(&r);
	}
	/* a state file that is not one */
	FILE *f = fopen(path, "w");
	fputs("{\"format\":\"something-else\"}", f);
	fclose(f);
	const char *imp[] = { xt_bin("xorb-state"), "-s", srv.url, "import", path, NULL };
	assert_int_equal(run(&r, imp), 2);
	assert_non_null(strstr(r.err, "not an xorb-state"));
	xt_result_release(&r);
	/* issue 12, point 4: the state file is read strictly, before anything connects */
	f = fopen(path, "w");
	fputs("{\"format\":\"xorb-state\",\"format_version\":1,\"tenants\":[{\"tenant\":\"t-qa\",\n\"tenant\":\"t-qa\\u0000x\"}]}", f);
	fclose(f);
	assert_int_equal(run(&r, imp), 2);
	assert_non_null(strstr(r.err, path));
	assert_non_null(strstr(r.err, "NUL (\\u0000) inside a string"));
	xt_result_release(&r);
	f = fopen(path, "w");
	fputs("{\"format\":\"xorb-state\",\"format_version\":1,\"tenants\":[{\"tenant\":\"t-qa\",\n\"tenant\":\"t-bee\"}]}", f);
	fclose(f);
	assert_int_equal(run(&r, imp), 2);
	assert_non_null(strstr(r.err, path));
	assert_non_null(strstr(r.err, "duplicate key \"tenant\" in tenants[0] at line 1, column 55 (byte 54) and again at line 2, column 1 (byte 71)"));
	xt_result_release(&r);
}

static void test_creds_command(void **state)
{
	struct xt_result r;
	char path[4400];
	struct stat sb;
	natsConnection *nc = NULL;

	creds("xorb-t-bee-user", path, sizeof(path));
	unlink(path);
	const char *cmd[] = { xt_bin("xorb-state"), "creds", "t-bee", NULL };
	assert_int_equal(run(&r, cmd), 0);
	xt_result_release(&r);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(connect_as("xorb-t-bee-user", &nc, NULL, NULL), NATS_OK);
	natsConnection_Destroy(nc);
	nc = NULL;

	/* --user names the user (it was exit 64 without a word after the
	 * per-subcommand split: the option's id was not the one checked) */
	creds("xorb-t-bee-backup", path, sizeof(path));
	unlink(path);
	const char *cmd2[] = { xt_bin("xorb-state"), "creds", "t-bee", "--user", "xorb-t-bee-backup", NULL };
	assert_int_equal(run(&r, cmd2), 0);
	xt_result_release(&r);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(connect_as("xorb-t-bee-backup", &nc, NULL, NULL), NATS_OK);
	natsConnection_Destroy(nc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_files_are_private),
		cmocka_unit_test(test_plan_apply_idempotent),
		cmocka_unit_test(test_limit_change_applied_live),
		cmocka_unit_test(test_isolation),
		cmocka_unit_test(test_apply_revokes_old_permissions),
		cmocka_unit_test(test_dr_drill),
		cmocka_unit_test(test_import_all_or_nothing),
		cmocka_unit_test(test_seed_environments_apply),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_creds_command),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

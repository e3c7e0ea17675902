/*
 * Proof against a real nats-server (2.9.10 in CI) that the nkeys and JWTs
 * this project writes are the ones the server reads: an operator JWT with a
 * signing key and the system account, a tenant account signed by that
 * operator signing key with JetStream limits (exact integers: 5 GiB of disk)
 * and an account signing key, users signed by the account key and by the
 * account signing key, each logging in with a .creds file written by
 * xorb_creds_format/xorb_secret_write. Forged or foreign credentials must be
 * refused. The server runs in operator mode with the MEMORY resolver and the
 * accounts preloaded. Never skips: without nats-server this test fails.
 */
#include "xt_harness.h"

#include <cJSON.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "xorb_buf.h"
#include "xorb_json.h"
#include "xorb_jwt.h"
#include "xorb_nkeys.h"

#define DISK_LIMIT 5368709120LL /* 5 GiB: printed by cJSON as 5.36870912e+09 */

struct key {
	struct xorb_nkey *k;
	char pub[XORB_NKEY_PUBLIC_LEN + 1];
};

static struct world {
	char *dir;
	struct xt_server srv;
	struct key op, op_sk, sys, acc, acc_sk, user, svc, stranger_acc, stranger;
	char creds_user[4200], creds_svc[4200], creds_stranger[4200], creds_forged[4200];
} W;

static void key_new(struct key *k, enum xorb_nkey_type t)
{
	assert_int_equal(xorb_nkey_generate(t, &k->k, NULL), XORB_OK);
	xorb_nkey_public(k->k, k->pub);
}

static char *sign(cJSON *claims, const struct key *issuer)
{
	struct xorb_error err = { 0, "" };
	char *jwt = NULL;

	assert_non_null(claims);
	if (xorb_jwt_encode(claims, issuer->k, 0, &jwt, &err))
		fail_msg("encode: %s", err.msg);
	cJSON_Delete(claims);
	return jwt;
}

static void add_strings(cJSON *obj, const char *key, const char *const *v)
{
	cJSON *a = cJSON_AddArrayToObject(obj, key);

	assert_non_null(a);
	for (; *v; v++)
		cJSON_AddItemToArray(a, cJSON_CreateString(*v));
}

/* A user who may use its tenant's subjects and JetStream. */
static cJSON *tenant_user_claims(const char *name, const char *pub, const char *issuer_account)
{
	static const char *const pub_allow[] = { "xorb.t-qa.>", "$JS.API.>", "_INBOX.>", NULL };
	static const char *const sub_allow[] = { "xorb.t-qa.>", "_INBOX.>", NULL };
	cJSON *c = xorb_jwt_user_claims(name, pub, issuer_account), *nats;

	assert_non_null(c);
	nats = cJSON_GetObjectItemCaseSensitive(c, "nats");
	add_strings(cJSON_GetObjectItemCaseSensitive(nats, "pub"), "allow", pub_allow);
	add_strings(cJSON_GetObjectItemCaseSensitive(nats, "sub"), "allow", sub_allow);
	return c;
}

static void write_creds(char *path, size_t len, const char *name, const char *jwt,
			const struct key *user)
{
	struct xorb_error err = { 0, "" };
	char *text = NULL;

	snprintf(path, len, "%s/creds/%s.creds", W.dir, name);
	if (xorb_creds_format(jwt, user->k, &text, &err))
		fail_msg("creds: %s", err.msg);
	if (xorb_secret_write(path, text, strlen(text), 0, &err))
		fail_msg("secret write: %s", err.msg);
	explicit_bzero(text, strlen(text));
	free(text);
}

static int setup(void **state)
{
	char *op_jwt, *sys_jwt, *acc_jwt, *jwt, conf[16384], path[4200];
	const char *op_sks[2], *acc_sks[] = { NULL, NULL };
	struct xt_server_opts o = { 0 };
	cJSON *c, *lim, *nats;
	FILE *f;

	assert_int_equal(nats_Open(-1), NATS_OK);
	W.dir = xt_tempdir("jwt");
	assert_non_null(W.dir);
	key_new(&W.op, XORB_NKEY_OPERATOR);
	key_new(&W.op_sk, XORB_NKEY_OPERATOR);
	key_new(&W.sys, XORB_NKEY_ACCOUNT);
	key_new(&W.acc, XORB_NKEY_ACCOUNT);
	key_new(&W.acc_sk, XORB_NKEY_ACCOUNT);
	key_new(&W.user, XORB_NKEY_USER);
	key_new(&W.svc, XORB_NKEY_USER);
	key_new(&W.stranger_acc, XORB_NKEY_ACCOUNT);
	key_new(&W.stranger, XORB_NKEY_USER);

	/* operator: self-signed, one signing key, the system account */
	op_sks[0] = W.op_sk.pub;
	op_sks[1] = NULL;
	op_jwt = sign(xorb_jwt_operator_claims("xorb-test-op", W.op.pub, op_sks, W.sys.pub), &W.op);
	/* system account: by the operator key itself */
	sys_jwt = sign(xorb_jwt_account_claims("SYS", W.sys.pub), &W.op);
	/* tenant account: by the operator SIGNING key, JetStream limits, a signing key */
	c = xorb_jwt_account_claims("xorb-t-qa", W.acc.pub);
	nats = cJSON_GetObjectItemCaseSensitive(c, "nats");
	lim = cJSON_GetObjectItemCaseSensitive(nats, "limits");
	xorb_json_add_int(lim, "mem_storage", 0);
	xorb_json_add_int(lim, "disk_storage", DISK_LIMIT);
	xorb_json_add_int(lim, "streams", 2);
	xorb_json_add_int(lim, "consumer", -1);
	acc_sks[0] = W.acc_sk.pub;
	add_strings(nats, "signing_keys", acc_sks);
	acc_jwt = sign(c, &W.op_sk);

	/* users: by the account key; by the account signing key */
	jwt = sign(tenant_user_claims("xorb-t-qa-user", W.user.pub, NULL), &W.acc);
	write_creds(W.creds_user, sizeof(W.creds_user), "user", jwt, &W.user);
	free(jwt);
	jwt = sign(tenant_user_claims("xorb-t-qa-svc", W.svc.pub, W.acc.pub), &W.acc_sk);
	write_creds(W.creds_svc, sizeof(W.creds_svc), "svc", jwt, &W.svc);
	free(jwt);
	/* a user of an account the server does not know */
	jwt = sign(tenant_user_claims("stranger", W.stranger.pub, NULL), &W.stranger_acc);
	write_creds(W.creds_stranger, sizeof(W.creds_stranger), "stranger", jwt, &W.stranger);
	free(jwt);
	/* forged: claims to be issued for the tenant account by a key that is
	 * not one of its signing keys */
	jwt = sign(tenant_user_claims("forged", W.stranger.pub, W.acc.pub), &W.stranger_acc);
	write_creds(W.creds_forged, sizeof(W.creds_forged), "forged", jwt, &W.stranger);
	free(jwt);

	snprintf(path, sizeof(path), "%s/op.jwt", W.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(op_jwt, f);
	assert_int_equal(fclose(f), 0);
	snprintf(conf, sizeof(conf),
		 "jetstream { store_dir: \"%s/js\" }\n"
		 "operator: \"%s\"\n"
		 "system_account: %s\n"
		 "resolver: MEMORY\n"
		 "resolver_preload: {\n"
		 "  %s: \"%s\"\n"
		 "  %s: \"%s\"\n"
		 "}\n",
		 W.dir, path, W.sys.pub, W.sys.pub, sys_jwt, W.acc.pub, acc_jwt);
	free(op_jwt);
	free(sys_jwt);
	free(acc_jwt);
	o.jetstream = 0; /* configured above: the harness's probe has no creds */
	o.extra_conf = conf;
	if (xt_server_start(&W.srv, &o))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	struct key *keys[] = { &W.op, &W.op_sk, &W.sys, &W.acc, &W.acc_sk, &W.user, &W.svc,
			       &W.stranger_acc, &W.stranger };
	size_t i;

	xt_server_stop(&W.srv);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		xorb_nkey_free(keys[i]->k);
	if (W.dir) {
		xt_rmtree(W.dir);
		free(W.dir);
	}
	nats_Close();
	return 0;
}

static natsStatus connect_creds(const char *creds, natsConnection **nc)
{
	natsOptions *opts = NULL;
	natsStatus s;

	*nc = NULL;
	s = natsOptions_Create(&opts);
	if (s == NATS_OK)
		s = natsOptions_SetURL(opts, W.srv.url);
	if (s == NATS_OK)
		s = natsOptions_SetAllowReconnect(opts, false);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(opts, 5000);
	if (s == NATS_OK)
		s = natsOptions_SetUserCredentialsFromFiles(opts, creds, NULL);
	if (s == NATS_OK)
		s = natsConnection_Connect(nc, opts);
	natsOptions_Destroy(opts);
	return s;
}

/* ---- logins ---- */

static void test_creds_file_is_private(void **state)
{
	struct stat sb;

	assert_int_equal(stat(W.creds_user, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
}

static void test_user_signed_by_account_logs_in(void **state)
{
	natsConnection *nc = NULL;
	natsSubscription *sub = NULL;
	natsMsg *m = NULL;
	natsStatus s = connect_creds(W.creds_user, &nc);

	if (s != NATS_OK)
		fail_msg("login refused: %s (%s)", natsStatus_GetText(s), nats_GetLastError(NULL));
	/* the connection works: a round trip on a tenant subject */
	assert_int_equal(natsConnection_SubscribeSync(&sub, nc, "xorb.t-qa.scan.nmap.created"), NATS_OK);
	assert_int_equal(natsConnection_PublishString(nc, "xorb.t-qa.scan.nmap.created", "hi"), NATS_OK);
	assert_int_equal(natsSubscription_NextMsg(&m, sub, 5000), NATS_OK);
	assert_string_equal(natsMsg_GetData(m), "hi");
	natsMsg_Destroy(m);
	natsSubscription_Destroy(sub);
	natsConnection_Destroy(nc);
}

static void test_user_signed_by_account_signing_key_logs_in(void **state)
{
	natsConnection *nc = NULL;
	natsStatus s = connect_creds(W.creds_svc, &nc);

	if (s != NATS_OK)
		fail_msg("login refused: %s (%s)", natsStatus_GetText(s), nats_GetLastError(NULL));
	assert_int_equal(natsConnection_Flush(nc), NATS_OK);
	natsConnection_Destroy(nc);
}

/* The server, not the client, must be the one saying no. */
static void assert_refused(const char *creds)
{
	natsConnection *nc = NULL;
	natsStatus s = connect_creds(creds, &nc);
	const char *why = nats_GetLastError(NULL);

	assert_int_not_equal(s, NATS_OK);
	assert_null(nc);
	if (!why || !strstr(why, "Authorization Violation"))
		fail_msg("refused for another reason: %s (%s)", natsStatus_GetText(s), why ? why : "");
}

static void test_unknown_account_refused(void **state)
{
	assert_refused(W.creds_stranger);
}

static void test_forged_issuer_refused(void **state)
{
	assert_refused(W.creds_forged);
}

/* ---- the account's limits as the server read them ---- */

static cJSON *request_json(natsConnection *nc, const char *subj, const char *body)
{
	natsMsg *reply = NULL;
	cJSON *j;

	assert_int_equal(natsConnection_RequestString(&reply, nc, subj, body, 5000), NATS_OK);
	j = cJSON_ParseWithLength(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
	if (!j)
		fail_msg("not JSON: %.*s", natsMsg_GetDataLength(reply), natsMsg_GetData(reply));
	natsMsg_Destroy(reply);
	return j;
}

static void test_jetstream_limits_exact(void **state)
{
	natsConnection *nc = NULL;
	const cJSON *limits, *e;
	char body[256], subj[128];
	cJSON *j;
	int i;

	assert_int_equal(connect_creds(W.creds_user, &nc), NATS_OK);
	j = request_json(nc, "$JS.API.INFO", "");
	limits = cJSON_GetObjectItemCaseSensitive(j, "limits");
	if (!limits)
		fail_msg("no JetStream for the account: %s", cJSON_PrintUnformatted(j));
	/* the 5 GiB limit arrived as an exact integer */
	assert_int_equal(xorb_json_int(limits, "max_storage", 0), DISK_LIMIT);
	assert_int_equal(xorb_json_int(limits, "max_streams", 0), 2);
	cJSON_Delete(j);

	/* the streams limit is enforced: the third stream is refused */
	for (i = 1; i <= 3; i++) {
		snprintf(subj, sizeof(subj), "$JS.API.STREAM.CREATE.xorb-t-qa-scan-s%d", i);
		snprintf(body, sizeof(body),
			 "{\"name\":\"xorb-t-qa-scan-s%d\",\"subjects\":[\"xorb.t-qa.scan.s%d.>\"],"
			 "\"storage\":\"file\",\"max_bytes\":1048576}",
			 i, i);
		j = request_json(nc, subj, body);
		e = cJSON_GetObjectItemCaseSensitive(j, "error");
		if (i < 3 && e)
			fail_msg("stream %d refused: %s", i, cJSON_PrintUnformatted(e));
		if (i == 3) {
			assert_non_null(e);
			assert_int_equal(xorb_json_int(e, "err_code", 0), 10027);
		}
		cJSON_Delete(j);
	}
	natsConnection_Destroy(nc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_creds_file_is_private),
		cmocka_unit_test(test_user_signed_by_account_logs_in),
		cmocka_unit_test(test_user_signed_by_account_signing_key_logs_in),
		cmocka_unit_test(test_unknown_account_refused),
		cmocka_unit_test(test_forged_issuer_refused),
		cmocka_unit_test(test_jetstream_limits_exact),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

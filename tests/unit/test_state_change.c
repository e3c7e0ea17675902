/*
 * The plan of xorb-state as data (xorb_state.h): each kind of change renders
 * to exactly the text line plan/apply printed before the plan became data
 * (tests and users read those lines), the two users of a tenant without an
 * account key share one line, and the JSON array carries the same fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xorb_state.h"

#define KEY "AAGYOEKIT5GCLVXBNE4MOSSXVWEWVR6LRRAJTT7HQABJU73FE7POAVAI"

static struct xorb_state_change ch(enum xorb_change_kind k, enum xorb_change_action a, const char *name,
				   const char *detail, const char *key, const char *path, const char *stream)
{
	struct xorb_state_change c = { k, a, (char *)"t-qa", (char *)name, (char *)detail, (char *)key, (char *)path,
				       (char *)stream, false, false };

	return c;
}

static void assert_line(struct xorb_state_change c, const char *want)
{
	char buf[2048];

	assert_int_equal(xorb_state_change_line(&c, 1, buf, sizeof(buf)), 1);
	assert_string_equal(buf, want);
}

static void test_lines(void **state)
{
	(void)state;
	assert_line(ch(XORB_CHANGE_ACCOUNT, XORB_CHANGE_CREATE, "xorb-t-qa", "disk 536870912 B, streams 25, consumers 50, connections -1",
		       NULL, NULL, NULL),
		    "+ account xorb-t-qa (new key): disk 536870912 B, streams 25, consumers 50, connections -1");
	assert_line(ch(XORB_CHANGE_ACCOUNT, XORB_CHANGE_CREATE, "xorb-t-qa", "disk 1 B, streams 1, consumers 1, connections 5", KEY,
		       NULL, NULL),
		    "+ account xorb-t-qa (" KEY "): disk 1 B, streams 1, consumers 1, connections 5");
	assert_line(ch(XORB_CHANGE_ACCOUNT, XORB_CHANGE_UPDATE, "xorb-t-qa", "streams 10 -> 12", KEY, NULL, NULL),
		    "~ account xorb-t-qa: streams 10 -> 12");
	assert_line(ch(XORB_CHANGE_ACCOUNT, XORB_CHANGE_UNCHANGED, "xorb-t-qa", NULL, KEY, NULL, NULL),
		    "= account xorb-t-qa (" KEY ")");
	assert_line(ch(XORB_CHANGE_ACCOUNT, XORB_CHANGE_STRAY, "xorb-t-old",
		       "is on the server but not in env.json: apply leaves it; xorb-state destroy --tenant t-old removes it", KEY,
		       NULL, NULL),
		    "! account xorb-t-old (" KEY ") is on the server but not in env.json: apply leaves it; xorb-state destroy --tenant t-old removes it");
	assert_line(ch(XORB_CHANGE_USER, XORB_CHANGE_CREATE, "xorb-t-qa-user", NULL, NULL, "/k/creds/xorb-t-qa-user.creds", NULL),
		    "+ user xorb-t-qa-user -> /k/creds/xorb-t-qa-user.creds");
	assert_line(ch(XORB_CHANGE_USER, XORB_CHANGE_UPDATE, "xorb-t-qa-backup",
		       "sub permissions changed; its earlier JWTs are revoked (copies of the old creds file stop working)", NULL,
		       "/k/creds/xorb-t-qa-backup.creds", NULL),
		    "~ user xorb-t-qa-backup: sub permissions changed; its earlier JWTs are revoked (copies of the old creds file stop working)");
	assert_line(ch(XORB_CHANGE_USER, XORB_CHANGE_UNCHANGED, "xorb-t-qa-user", NULL, NULL, "/k/creds/xorb-t-qa-user.creds", NULL),
		    "= user xorb-t-qa-user (/k/creds/xorb-t-qa-user.creds)");
	assert_line(ch(XORB_CHANGE_STREAM, XORB_CHANGE_CREATE, "xorb-t-qa-scan-live",
		       "max_bytes 22369621, max_msgs 20833, max_age 3 d, replicas 1", NULL, NULL, NULL),
		    "+ stream xorb-t-qa-scan-live: max_bytes 22369621, max_msgs 20833, max_age 3 d, replicas 1");
	assert_line(ch(XORB_CHANGE_STREAM, XORB_CHANGE_UPDATE, "xorb-t-qa-scan-live", "max_age 1 -> 2", NULL, NULL, NULL),
		    "~ stream xorb-t-qa-scan-live: max_age 1 -> 2");
	assert_line(ch(XORB_CHANGE_STREAM, XORB_CHANGE_UNCHANGED, "xorb-t-qa-scan-live", NULL, NULL, NULL, NULL),
		    "= stream xorb-t-qa-scan-live");
	assert_line(ch(XORB_CHANGE_CONSUMER, XORB_CHANGE_CREATE, "xorb-t-qa-scan-live-consumer",
		       "ack_wait 30s, max_ack_pending 1024, flow control, heartbeat 5s, deliver last, 1 MiB/s", NULL, NULL,
		       "xorb-t-qa-scan-live"),
		    "+ consumer xorb-t-qa-scan-live-consumer on xorb-t-qa-scan-live (ack_wait 30s, max_ack_pending 1024, flow control, heartbeat 5s, deliver last, 1 MiB/s)");
	assert_line(ch(XORB_CHANGE_CONSUMER, XORB_CHANGE_UPDATE, "xorb-t-qa-scan-live-consumer", "ack_wait 1 -> 2", NULL, NULL,
		       "xorb-t-qa-scan-live"),
		    "~ consumer xorb-t-qa-scan-live-consumer: ack_wait 1 -> 2");
	assert_line(ch(XORB_CHANGE_CONSUMER, XORB_CHANGE_UNCHANGED, "xorb-t-qa-scan-live-consumer", NULL, NULL, NULL,
		       "xorb-t-qa-scan-live"),
		    "= consumer xorb-t-qa-scan-live-consumer");
}

static void test_joined_users_and_json(void **state)
{
	struct xorb_state_change v[3] = {
		ch(XORB_CHANGE_USER, XORB_CHANGE_CREATE, "xorb-t-qa-user", "creds in /k/creds", NULL,
		   "/k/creds/xorb-t-qa-user.creds", NULL),
		ch(XORB_CHANGE_USER, XORB_CHANGE_CREATE, "xorb-t-qa-backup", "creds in /k/creds", NULL,
		   "/k/creds/xorb-t-qa-backup.creds", NULL),
		ch(XORB_CHANGE_STREAM, XORB_CHANGE_UNCHANGED, "xorb-t-qa-scan-live", NULL, NULL, NULL, NULL),
	};
	struct xorb_state_plan p = { v, 3, 3, 0 };
	char buf[512];
	cJSON *j;
	const cJSON *o;

	(void)state;
	v[1].joined = true;
	assert_int_equal(xorb_state_change_line(v, 3, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "+ user xorb-t-qa-user, xorb-t-qa-backup (creds in /k/creds)");
	/* the last change: nothing after it to join */
	assert_int_equal(xorb_state_change_line(v, 1, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "+ user xorb-t-qa-user -> /k/creds/xorb-t-qa-user.creds");

	j = xorb_state_plan_json(&p);
	assert_non_null(j);
	assert_int_equal(cJSON_GetArraySize(j), 3);
	o = cJSON_GetArrayItem(j, 1);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "tenant")), "t-qa");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "kind")), "user");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "action")), "create");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "name")), "xorb-t-qa-backup");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "path")), "/k/creds/xorb-t-qa-backup.creds");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "revoke")));
	assert_null(cJSON_GetObjectItem(o, "key"));
	o = cJSON_GetArrayItem(j, 2);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "action")), "unchanged");
	assert_null(cJSON_GetObjectItem(o, "detail"));
	assert_null(cJSON_GetObjectItem(o, "revoke")); /* accounts and users only */
	cJSON_Delete(j);
	assert_string_equal(xorb_state_change_action_name(XORB_CHANGE_STRAY), "stray");
	assert_string_equal(xorb_state_change_kind_name(XORB_CHANGE_CONSUMER), "consumer");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_joined_users_and_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

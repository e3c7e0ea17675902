/*
 * Unit tests of the consumer comparison shared by the restore's
 * reconciliation and the cluster node check (xorb_consumers_compare,
 * xorb_consumers_parse): which fields count, num_pending left out, the two
 * ways servers write "nothing acked", labels in the text, config
 * differences, and the record's validation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "xorb_buf.h"
#include "xorb_consumers.h"
#include "xorb_error.h"
#include "xorb_json.h"

static cJSON *info(int64_t dc, int64_t ds, int64_t ac, int64_t as, int64_t ack_pending, int64_t redelivered,
		   int64_t pending, const char *cfg)
{
	char s[1024];
	cJSON *j;

	snprintf(s, sizeof(s),
		 "{\"name\":\"w\",\"config\":%s,\"delivered\":{\"consumer_seq\":%lld,\"stream_seq\":%lld},"
		 "\"ack_floor\":{\"consumer_seq\":%lld,\"stream_seq\":%lld},\"num_ack_pending\":%lld,"
		 "\"num_redelivered\":%lld,\"num_pending\":%lld}",
		 cfg ? cfg : "{\"durable_name\":\"w\",\"ack_policy\":\"explicit\"}", (long long)dc, (long long)ds,
		 (long long)ac, (long long)as, (long long)ack_pending, (long long)redelivered, (long long)pending);
	j = cJSON_Parse(s);
	assert_non_null(j);
	return j;
}

static void test_same_state_and_num_pending_ignored(void **state)
{
	cJSON *a = info(10, 11, 4, 5, 6, 0, 289, NULL), *b = info(10, 11, 4, 5, 6, 0, 0, NULL);

	/* num_pending 0 through a member that was never leader (2.10.27) */
	assert_int_equal(xorb_consumers_compare(a, b, "backup", "node", NULL), 0);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

static void test_rollback_to_ack_floor_named(void **state)
{
	/* what a clustered 2.15 snapshot brings back (docs/nats-server-notes.md P9) */
	cJSON *rec = info(10, 11, 4, 5, 6, 0, 289, NULL), *now = info(4, 5, 4, 5, 0, 0, 295, NULL);
	struct xorb_buf t;

	xorb_buf_init(&t);
	assert_int_equal(xorb_consumers_compare(rec, now, "backup", "node", &t), 3);
	assert_non_null(t.data);
	assert_non_null(strstr(t.data, "delivered.consumer_seq: backup 10, node 4"));
	assert_non_null(strstr(t.data, "delivered.stream_seq: backup 11, node 5"));
	assert_non_null(strstr(t.data, "num_ack_pending: backup 6, node 0"));
	assert_null(strstr(t.data, "num_pending"));
	xorb_buf_release(&t);
	cJSON_Delete(rec);
	cJSON_Delete(now);
}

static void test_nothing_acked_written_two_ways(void **state)
{
	/* deliver-last, nothing acked: 2.10 writes ack floor 0, 2.11+ the
	 * delivered position */
	cJSON *a = info(0, 299, 0, 0, 0, 0, 1, NULL), *b = info(0, 299, 0, 299, 0, 0, 1, NULL);
	cJSON *c = info(0, 299, 0, 298, 0, 0, 1, NULL);

	assert_int_equal(xorb_consumers_compare(a, b, "backup", "server", NULL), 0);
	assert_int_equal(xorb_consumers_compare(b, a, "backup", "server", NULL), 0);
	assert_int_equal(xorb_consumers_compare(a, c, "backup", "server", NULL), 1);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
}

static void test_config_difference_counted(void **state)
{
	cJSON *a = info(1, 1, 1, 1, 0, 0, 0, "{\"durable_name\":\"w\",\"max_deliver\":5}");
	cJSON *b = info(1, 1, 1, 1, 0, 0, 0, "{\"durable_name\":\"w\",\"max_deliver\":-1,\"metadata\":{\"_nats.ver\":\"2.15.1\"}}");
	struct xorb_buf t;

	xorb_buf_init(&t);
	assert_int_equal(xorb_consumers_compare(a, b, "backup", "server", &t), 1);
	assert_non_null(strstr(t.data, "config: "));
	assert_non_null(strstr(t.data, "max_deliver"));
	xorb_buf_release(&t);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

static void test_parse_record(void **state)
{
	static const char ok[] = "{\"consumers\":[{\"name\":\"a\",\"config\":{}},{\"name\":\"b\",\"config\":{}}]}";
	static const char *const bad[] = {
		"{}",
		"{\"consumers\":{}}",
		"{\"consumers\":[{\"config\":{}}]}",
		"{\"consumers\":[{\"name\":\"a.b\",\"config\":{}}]}",
		"{\"consumers\":[{\"name\":\"a\"}]}",
		"not json",
	};
	struct xorb_error err;
	cJSON *j = NULL;
	size_t i;

	assert_int_equal(xorb_consumers_parse("s", ok, strlen(ok), &j, &err), XORB_OK);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "consumers")), 2);
	cJSON_Delete(j);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		xorb_error_clear(&err);
		assert_int_equal(xorb_consumers_parse("s", bad[i], strlen(bad[i]), &j, &err), XORB_ECORRUPT);
		assert_null(j);
		assert_non_null(strstr(err.msg, "stream \"s\""));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_state_and_num_pending_ignored),
		cmocka_unit_test(test_rollback_to_ack_floor_named),
		cmocka_unit_test(test_nothing_acked_written_two_ways),
		cmocka_unit_test(test_config_difference_counted),
		cmocka_unit_test(test_parse_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

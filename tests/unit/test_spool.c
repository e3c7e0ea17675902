/*
 * Unit tests of the spool (xorb_spool.h): items come out in the order they
 * went in, byte for byte, whether they waited in memory or in the file;
 * memory never holds more than the limit; the producer's owners are released
 * exactly once on every path; a producer error reaches the consumer after
 * the queued items; a cancelled spool refuses more; the file lives in the
 * given directory and leaves nothing behind; an unusable directory gives an
 * error naming it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <unistd.h>

#include "xorb_spool.h"

/* owners are released on both threads */
static _Atomic int released;

static void count_release(void *owner)
{
	released++;
	free(owner);
}

/* Item i: (i % 7 + 1) * 10000 bytes of a pattern that depends on i. */
static size_t item_len(int i)
{
	return (size_t)(i % 7 + 1) * 10000;
}

static unsigned char *item_make(int i)
{
	size_t n = item_len(i), k;
	unsigned char *p = malloc(n);

	assert_non_null(p);
	for (k = 0; k < n; k++)
		p[k] = (unsigned char)(i * 31 + k * 7);
	return p;
}

static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

struct producer {
	struct xorb_spool *sp;
	int count;
	int fail_code; /* finish with this after count items */
	int put_failures;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	struct xorb_error err = { 0 };
	char tag[32];
	int i;

	for (i = 0; i < p->count; i++) {
		unsigned char *d = item_make(i);

		snprintf(tag, sizeof(tag), "ack.%d", i);
		if (xorb_spool_put(p->sp, d, item_len(i), tag, d, count_release, &err))
			p->put_failures++;
	}
	if (p->fail_code)
		xorb_error_set(&err, p->fail_code, "producer broke after %d items", p->count);
	xorb_spool_finish(p->sp, p->fail_code, &err);
	return NULL;
}

/* Consumes everything; slow_every > 0 sleeps now and then so that the
 * producer runs ahead and the spool has to spill. Returns the get status
 * that ended it. */
static int consume(struct xorb_spool *sp, int slow_every, int *got, struct xorb_error *err)
{
	struct xorb_spool_item it;
	char tag[32];
	int rc;

	*got = 0;
	while (!(rc = xorb_spool_get(sp, &it, err))) {
		unsigned char *want = item_make(*got);

		snprintf(tag, sizeof(tag), "ack.%d", *got);
		assert_int_equal(it.len, item_len(*got));
		assert_memory_equal(it.data, want, it.len);
		assert_string_equal(it.tag, tag);
		free(want);
		xorb_spool_done(sp, &it);
		(*got)++;
		if (slow_every > 0 && *got % slow_every == 0)
			usleep(2000);
	}
	return rc;
}

static void run(size_t mem_limit, int count, int slow_every, struct xorb_spool_stats *st)
{
	char dir[] = "/tmp/xorb-test-spool-XXXXXX";
	struct producer p = { NULL, count, 0, 0 };
	struct xorb_error err = { 0 };
	pthread_t t;
	int got;

	assert_non_null(mkdtemp(dir));
	released = 0;
	assert_int_equal(xorb_spool_new(mem_limit, dir, &p.sp, &err), 0);
	assert_int_equal(pthread_create(&t, NULL, produce, &p), 0);
	assert_int_equal(consume(p.sp, slow_every, &got, &err), 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(got, count);
	assert_int_equal(p.put_failures, 0);
	assert_int_equal(released, count);
	xorb_spool_stats(p.sp, st);
	assert_true(st->peak_mem <= mem_limit);
	/* the file, if any, was never visible by name */
	assert_int_equal(dir_entries(dir), 0);
	xorb_spool_free(p.sp);
	assert_int_equal(rmdir(dir), 0);
}

static void test_memory_only(void **state)
{
	struct xorb_spool_stats st;

	run(64u << 20, 200, 0, &st);
	assert_int_equal(st.spilled_bytes, 0);
}

static void test_spills_in_order(void **state)
{
	struct xorb_spool_stats st;

	/* 100 KB of memory for ~8 MB of items and a slow consumer */
	run(100000, 200, 5, &st);
	assert_true(st.spilled_bytes > 0);
	assert_true(st.peak_file > 0);
}

static void test_everything_spills(void **state)
{
	struct xorb_spool_stats st;

	/* no memory at all: every item through the file */
	run(0, 50, 0, &st);
	assert_int_equal(st.peak_mem, 0);
}

static void test_producer_error_after_items(void **state)
{
	struct producer p = { NULL, 20, XORB_EIO, 0 };
	struct xorb_error err = { 0 };
	int got;

	released = 0;
	assert_int_equal(xorb_spool_new(50000, "/tmp", &p.sp, &err), 0);
	produce(&p);
	/* the items come first, then the producer's error with its text */
	assert_int_equal(consume(p.sp, 0, &got, &err), XORB_EIO);
	assert_int_equal(got, 20);
	assert_non_null(strstr(err.msg, "producer broke after 20 items"));
	xorb_spool_free(p.sp);
	assert_int_equal(released, 20);
}

static void test_cancel_releases_everything(void **state)
{
	struct xorb_spool *sp;
	struct xorb_error err = { 0 };
	int i;

	released = 0;
	assert_int_equal(xorb_spool_new(1u << 20, NULL, &sp, &err), 0); /* all in memory */
	for (i = 0; i < 10; i++) {
		unsigned char *d = item_make(i);

		assert_int_equal(xorb_spool_put(sp, d, item_len(i), NULL, d, count_release, &err), 0);
	}
	assert_int_equal(xorb_spool_cancelled(sp), 0);
	xorb_spool_cancel(sp);
	assert_int_equal(xorb_spool_cancelled(sp), 1);
	{
		unsigned char *d = item_make(10);

		assert_int_not_equal(xorb_spool_put(sp, d, item_len(10), NULL, d, count_release, &err), 0);
	}
	assert_int_equal(released, 1); /* the refused item's owner */
	xorb_spool_free(sp);
	assert_int_equal(released, 11); /* queued ones at free */
}

static void test_unusable_directory(void **state)
{
	struct xorb_spool *sp;
	struct xorb_error err = { 0 };
	unsigned char *d = item_make(0);

	released = 0;
	assert_int_equal(xorb_spool_new(0, "/nonexistent/xorb-spool", &sp, &err), 0);
	assert_int_equal(xorb_spool_put(sp, d, item_len(0), NULL, d, count_release, &err), XORB_EIO);
	assert_non_null(strstr(err.msg, "/nonexistent/xorb-spool"));
	assert_non_null(strstr(err.msg, "TMPDIR"));
	assert_int_equal(released, 1);
	xorb_spool_free(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory_only),
		cmocka_unit_test(test_spills_in_order),
		cmocka_unit_test(test_everything_spills),
		cmocka_unit_test(test_producer_error_after_items),
		cmocka_unit_test(test_cancel_releases_everything),
		cmocka_unit_test(test_unusable_directory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

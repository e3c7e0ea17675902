/*
 * Backup and restore over TLS: nats-server requires TLS with certificates the
 * test makes with openssl; the commands verify the server against --tlsca.
 * A wrong CA, or no CA at all, fails with a clear message.
 */
#include "xt_fixture.h"
#include "xt_harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char *dir;
static char ca[4200], other_ca[4200], conf[16384], store_env[4300];

static void sh(const char *fmt, ...)
{
	char cmd[16384];
	struct xt_result r;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	assert_int_equal(xt_run(argv, NULL, 60, &r), 0);
	if (r.status)
		fprintf(stderr, "%s\n%s", cmd, r.err);
	assert_int_equal(r.status, 0);
	xt_result_release(&r);
}

static int setup(void **state)
{
	dir = xt_tempdir("xorb-tls");
	/* a CA, a server certificate for 127.0.0.1/localhost signed by it, and an unrelated CA */
	sh("cd '%s' && "
	   "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=xorb-test-ca -keyout ca.key -out ca.pem 2>/dev/null && "
	   "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr 2>/dev/null && "
	   "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext && "
	   "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem 2>/dev/null && "
	   "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout other.key -out other.pem 2>/dev/null",
	   dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(other_ca, sizeof(other_ca), "%s/other.pem", dir);
	snprintf(conf, sizeof(conf), "tls {\n  cert_file: \"%s/server.pem\"\n  key_file: \"%s/server.key\"\n  timeout: 3\n}\n",
		 dir, dir);
	snprintf(store_env, sizeof(store_env), "XORB_STORE=%s/store", dir);
	return 0;
}

static int teardown(void **state)
{
	xt_rmtree(dir);
	free(dir);
	return 0;
}

static int tls_connect(const struct xt_server *s, natsConnection **nc)
{
	natsOptions *o = NULL;
	int rc = -1;

	if (natsOptions_Create(&o) == NATS_OK && natsOptions_SetURL(o, s->url) == NATS_OK &&
	    natsOptions_SetSecure(o, true) == NATS_OK && natsOptions_LoadCATrustedCertificates(o, ca) == NATS_OK &&
	    natsConnection_Connect(nc, o) == NATS_OK)
		rc = 0;
	natsOptions_Destroy(o);
	return rc;
}

static void test_backup_restore_over_tls(void **state)
{
	struct xt_server a, b;
	struct xt_server_opts o = { 1, conf, NULL, 0 };
	natsConnection *na, *nb;
	struct xt_result r;
	char why[1024];
	const char *env[] = { store_env, NULL };
	const char *streams[] = { "xorb-t-qa-compliance-replay", "xorb-t-qa-evidence-live", "xorb-t-qa-scan-live" };
	size_t i;

	assert_int_equal(xt_server_start(&a, &o), 0);
	assert_int_equal(xt_server_start(&b, &o), 0);
	assert_int_equal(tls_connect(&a, &na), 0);
	assert_int_equal(tls_connect(&b, &nb), 0);
	assert_int_equal(xt_fixture_tenant(na, "t-qa", 50, why, sizeof(why)), 0);

	const char *backup[] = { xt_bin("xorb-backup"), "-s", a.url, "--tlsca", ca, "tenant", "t-qa", NULL };
	assert_int_equal(xt_run(backup, env, 120, &r), 0);
	if (r.status)
		fprintf(stderr, "%s", r.err);
	assert_int_equal(r.status, 0);
	xt_result_release(&r);
	const char *restore[] = { xt_bin("xorb-restore"), "-s", b.url, "--tlsca", ca, "t-qa", NULL };
	assert_int_equal(xt_run(restore, env, 120, &r), 0);
	if (r.status)
		fprintf(stderr, "%s", r.err);
	assert_int_equal(r.status, 0);
	xt_result_release(&r);
	for (i = 0; i < 3; i++) {
		int rc = xt_compare_stream(na, nb, streams[i], why, sizeof(why));

		if (rc)
			fprintf(stderr, "%s: %s\n", streams[i], why);
		assert_int_equal(rc, 0);
	}

	/* the wrong CA: the server's certificate is not trusted */
	const char *wrong[] = { xt_bin("xorb-backup"), "-s", a.url, "--tlsca", other_ca, "tenant", "t-qa", NULL };
	assert_int_equal(xt_run(wrong, env, 60, &r), 0);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "xorb-backup: error: "));
	assert_non_null(strstr(r.err, "TLS"));
	assert_non_null(strstr(r.err, "--tlsca"));
	xt_result_release(&r);
	/* the variable works like the flag */
	{
		char var[4300];
		const char *env2[] = { store_env, var, NULL };

		snprintf(var, sizeof(var), "NATS_CA=%s", other_ca);
		const char *viaenv[] = { xt_bin("xorb-restore"), "-s", b.url, "t-qa", "--replace", NULL };
		assert_int_equal(xt_run(viaenv, env2, 60, &r), 0);
		assert_int_equal(r.status, 2);
		assert_non_null(strstr(r.err, "TLS"));
		xt_result_release(&r);
	}
	/* no CA given, TLS required by the server: a clear error too */
	const char *plain[] = { xt_bin("xorb-backup"), "-s", a.url, "tenant", "t-qa", NULL };
	assert_int_equal(xt_run(plain, env, 60, &r), 0);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "xorb-backup: error: "));
	xt_result_release(&r);

	natsConnection_Destroy(na);
	natsConnection_Destroy(nb);
	xt_server_stop(&a);
	xt_server_stop(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backup_restore_over_tls),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

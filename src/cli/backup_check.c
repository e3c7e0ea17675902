/* xorb-backup check: see backup.h. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xorb_bundle.h"
#include "backup.h"
#include "xorb_buf.h"
#include "xorb_cli.h"
#include "xorb_env.h"
#include "xorb_json.h"
#include "xorb_manifest.h"
#include "xorb_metrics.h"
#include "xorb_names.h"
#include "xorb_show.h"
#include "xorb_state.h"
#include "xorb_url.h"

struct checks {
	struct xorb_cli *c;
	int worst;
	unsigned ok, warn, crit;
	struct xorb_buf lines;
	cJSON *checks;	      /* --json */
	struct xorb_buf perf; /* Nagios performance data */
};

/* One check's result: a line (text) or an item (--json) with "check" (nats,
 * store, environment, tenant) and "status"; returns the item, for the caller
 * to add fields to (NULL in text mode: cJSON's Add functions do nothing on a
 * NULL object). */
__attribute__((format(printf, 4, 5))) static cJSON *check_line(struct checks *k, int level, const char *what,
								const char *fmt, ...)
{
	static const char *const names[] = { "OK", "WARNING", "CRITICAL" };
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (level > k->worst)
		k->worst = level;
	if (level == 0)
		k->ok++;
	else if (level == 1)
		k->warn++;
	else
		k->crit++;
	if (k->c->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "check", what);
		cJSON_AddStringToObject(o, "status", names[level]);
		cJSON_AddStringToObject(o, "message", msg);
		cJSON_AddItemToArray(k->checks, o);
		return o;
	}
	xorb_buf_printf(&k->lines, "%s: %s\n", names[level], msg);
	return NULL;
}

static void check_nats(struct checks *k)
{
	struct xorb_error err = { 0, "" };
	natsConnection *nc = NULL;
	cJSON *info = NULL;

	if (xorb_cli_connect(k->c, &nc, &err)) {
		check_line(k, 2, "nats", "nats: %s", err.msg);
		return;
	}
	if (xorb_js_request(nc, "$JS.API.INFO", NULL, k->c->conn.timeout_ms, &info, NULL, NULL, &err))
		check_line(k, 2, "nats", "nats: connected to %s but JetStream is not usable: %s",
			   xorb_url_shown(k->c->conn.url, true), err.msg);
	else
		check_line(k, 0, "nats", "nats: %s reachable, JetStream enabled (%" PRId64 " streams, %" PRId64 " consumers)",
			   xorb_url_shown(k->c->conn.url, true), xorb_json_int(info, "streams", 0),
			   xorb_json_int(info, "consumers", 0));
	cJSON_Delete(info);
	xorb_nats_close(nc);
}

static struct xorb_store *check_store(struct checks *k)
{
	struct xorb_error err = { 0, "" };
	struct xorb_store *s = NULL;
	char key[128], host[64] = "host";

	if (xorb_cli_open_store(k->c, NULL, XORB_STORE_READ, &s, &err)) {
		check_line(k, 2, "store", "store: %s", err.msg);
		return NULL;
	}
	gethostname(host, sizeof(host) - 1);
	snprintf(key, sizeof(key), "xorb-check/probe-%.40s-%d", host, (int)getpid());
	if (xorb_store_put_all(s, key, "probe\n", 6, &err)) {
		check_line(k, 2, "store", "store: %s is not writable: %s", xorb_store_url(s), err.msg);
		return s;
	}
	if (xorb_store_remove(s, key, &err))
		check_line(k, 1, "store", "store: %s is writable but the probe could not be removed: %s", xorb_store_url(s), err.msg);
	else
		check_line(k, 0, "store", "store: %s reachable and writable", xorb_store_url(s));
	return s;
}

static void fmt_age(int64_t s, char *out, size_t len)
{
	if (s >= 86400)
		snprintf(out, len, "%" PRId64 "d%" PRId64 "h", s / 86400, (s % 86400) / 3600);
	else if (s >= 3600)
		snprintf(out, len, "%" PRId64 "h%" PRId64 "m", s / 3600, (s % 3600) / 60);
	else
		snprintf(out, len, "%" PRId64 "m", s / 60);
}

static void check_tenant(struct checks *k, struct xorb_store *s, const char *tenant, int64_t max_age,
			 int64_t warn_age)
{
	struct xorb_error err = { 0, "" };
	struct xorb_backup_key *keys = NULL;
	char age[32], lim[32], id[XORB_BACKUP_ID_LEN + 1];
	size_t n = 0;
	int64_t a;
	int level;
	cJSON *o;

	if (xorb_bundle_catalog(s, tenant, &keys, &n, &err)) {
		o = check_line(k, 2, "tenant", "tenant %s: %s", tenant, err.msg);
		cJSON_AddStringToObject(o, "tenant", tenant);
		return;
	}
	if (!n) {
		o = check_line(k, 2, "tenant", "tenant %s: no complete backup in the store", tenant);
		cJSON_AddStringToObject(o, "tenant", tenant);
		xorb_json_add_int(o, "backups", 0);
		xorb_buf_printf(&k->perf, " 'backups_%s'=0;;;0", tenant);
		return;
	}
	/* the catalog holds only keys whose id (and time) reads */
	snprintf(id, sizeof(id), "%s", keys[0].id);
	a = (int64_t)(time(NULL) - keys[0].time);
	if (a < 0)
		a = 0;
	fmt_age(a, age, sizeof(age));
	level = a > max_age ? 2 : a > warn_age ? 1 : 0;
	fmt_age(level == 2 ? max_age : warn_age, lim, sizeof(lim));
	if (level)
		o = check_line(k, level, "tenant", "tenant %s: newest backup %s is %s old (more than %s)", tenant, id, age,
			       lim);
	else
		o = check_line(k, 0, "tenant", "tenant %s: newest backup %s is %s old (%zu backups)", tenant, id, age, n);
	cJSON_AddStringToObject(o, "tenant", tenant);
	cJSON_AddStringToObject(o, "backup_id", id);
	xorb_json_add_int(o, "age_seconds", a);
	xorb_json_add_int(o, "warn_age_seconds", warn_age);
	xorb_json_add_int(o, "max_age_seconds", max_age);
	xorb_json_add_int(o, "backups", (int64_t)n);
	/* 'label'=value[UOM];warn;crit;min;max (Nagios plugin guidelines) */
	xorb_buf_printf(&k->perf, " 'age_%s'=%" PRId64 "s;%" PRId64 ";%" PRId64 ";0 'backups_%s'=%zu;;;0", tenant, a,
			warn_age, max_age, tenant, n);
	free(keys);
}

static int cmd_check(struct backup_args *a, char **names, int count)
{
	struct checks k = { &a->c, 0, 0, 0, 0, { NULL, 0, 0 }, NULL, { NULL, 0, 0 } };
	struct xorb_error err = { 0, "" };
	struct xorb_store *s;
	char **tenants = NULL;
	size_t n = 0, i;
	static const char *const status[] = { "OK", "WARNING", "CRITICAL" };

	for (i = 0; i < (size_t)count; i++)
		if (xorb_tenant_check(names[i], &err))
			return xorb_cli_usage_error(&a->c, "%s", err.msg);
	if (a->warn_age > a->max_age)
		a->warn_age = a->max_age;
	xorb_buf_init(&k.lines);
	xorb_buf_init(&k.perf);
	if (a->c.json)
		k.checks = cJSON_CreateArray();
	check_nats(&k);
	s = check_store(&k);
	if (count) {
		for (i = 0; i < (size_t)count; i++)
			if (s)
				check_tenant(&k, s, names[i], a->max_age, a->warn_age);
	} else if (a->env) {
		if (backup_tenant_list(a, &tenants, &n, &err))
			check_line(&k, 2, "environment", "environment: %s", err.msg);
		for (i = 0; s && i < n; i++)
			check_tenant(&k, s, tenants[i], a->max_age, a->warn_age);
	} else if (s) {
		struct xorb_backup_key *keys = NULL;
		size_t nk = 0, j;

		if (xorb_bundle_catalog(s, NULL, &keys, &nk, &err))
			check_line(&k, 2, "store", "store: %s", err.msg);
		/* every tenant that has backups, in the order their newest appears */
		for (j = 0; j < nk; j++) {
			size_t m;
			bool seen = false;

			for (m = 0; m < j && !seen; m++)
				seen = !strcmp(keys[m].tenant, keys[j].tenant);
			if (!seen)
				check_tenant(&k, s, keys[j].tenant, a->max_age, a->warn_age);
		}
		if (!nk)
			check_line(&k, 1, "store", "store: no backups at all");
		free(keys);
	}
	if (a->c.json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "status", status[k.worst]);
		xorb_json_add_int(j, "ok", k.ok);
		xorb_json_add_int(j, "warning", k.warn);
		xorb_json_add_int(j, "critical", k.crit);
		cJSON_AddItemToObject(j, "checks", k.checks);
		k.checks = NULL;
		xorb_cli_json_emit(j, "\n");
	} else
		printf("XORB BACKUP %s - %u critical, %u warning, %u ok%s%s\n%s", status[k.worst], k.crit, k.warn, k.ok,
		       k.perf.data ? " |" : "", k.perf.data ? k.perf.data : "", k.lines.data ? k.lines.data : "");
	xorb_buf_release(&k.lines);
	xorb_buf_release(&k.perf);
	cJSON_Delete(k.checks);
	xorb_strv_free(tenants, n);
	xorb_store_free(s);
	return k.worst;
}

static void help(FILE *f)
{
	fputs("Usage: xorb-backup check [TENANT]... [options]\n"
	      "\n"
	      "Health check for monitoring (a Nagios plugin): connects to NATS, opens the\n"
	      "store, and checks that the newest backup of each tenant (the arguments, else\n"
	      "--env's tenants, else every tenant found in the store) is recent enough. One\n"
	      "status line with performance data, then a line per check.\n"
	      "\n"
	      "Options:\n"
	      "      --max-age D        CRITICAL when the newest backup is older (default 26h)\n"
	      "      --warn-age D       WARNING when it is older (default 24h)\n"
	      "      --env ENV          check the tenants of environments/ENV.tfvars.json\n"
	      "                         (or a path)\n",
	      f);
	xorb_cli_print_conn_help(f);
	xorb_cli_print_store_help(f);
	xorb_cli_print_output_help(f, 1);
	xorb_cli_print_config_help(f);
	fputs("\n"
	      "Examples:\n"
	      "  xorb-backup check t-qa\n"
	      "  xorb-backup check --env prod --max-age 26h --warn-age 24h\n"
	      "  xorb-backup --store s3://xorb-backups/prod check --json\n"
	      "\n"
	      "Exit codes (Nagios): 0 OK, 1 WARNING, 2 CRITICAL, 64 usage error.\n",
	      f);
}

static int run(struct backup_args *a, char **argv, int argc)
{
	return cmd_check(a, argv, argc);
}

static const struct option longopts[] = {
	XORB_CLI_CONN_LONGOPTS,
	XORB_CLI_STORE_LONGOPTS,
	XORB_CLI_OUTPUT_LONGOPTS,
	XORB_CLI_JSON_LONGOPT,
	XORB_CLI_BASE_LONGOPTS,
	{ "max-age", required_argument, NULL, OPT_MAX_AGE },
	{ "warn-age", required_argument, NULL, OPT_WARN_AGE },
	{ "env", required_argument, NULL, OPT_ENV },
	{ NULL, 0, NULL, 0 },
};

const struct backup_cmd backup_check_cmd = {
	"check", "health check of the newest backups, for monitoring", XORB_CLI_COMMON_SHORTOPTS, longopts, NULL, help,
	run,
};

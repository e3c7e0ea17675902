/*
 * xorb-prune: remove the backups that a retention policy does not keep
 * (restic's `forget` rules, see xorb_prune.h), the leftover archives of
 * backups that never completed, and the unfinished uploads that killed
 * backups left in the store.
 *
 *   xorb-prune TENANT|--all --keep-last N --keep-daily N ... [--grace DURATION] [--dry-run]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xorb_cli.h"
#include "xorb_names.h"
#include "xorb_prune.h"

static void help(FILE *f)
{
	fputs("Usage: xorb-prune TENANT [--keep-last N] [--keep-hourly N] [--keep-daily N]\n"
	      "                  [--keep-weekly N] [--keep-monthly N] [options]\n"
	      "       xorb-prune --all [--keep-...] [options]\n"
	      "\n"
	      "Removes the complete backups of TENANT (of every tenant in the store with\n"
	      "--all) that no --keep rule keeps, with restic's `forget` rules, per tenant,\n"
	      "newest first. A backup is kept when any rule keeps it. A tenant's newest\n"
	      "backup is never removed. At least one --keep option is required (0 turns a\n"
	      "rule off; with every rule at 0 only the newest backup of each tenant is\n"
	      "kept). A backup's sidecar is removed before its archive: a removal cut short\n"
	      "leaves an archive without a sidecar, which never lists, and which a later\n"
	      "prune removes. Never connects to NATS.\n"
	      "\n"
	      "Options:\n"
	      "      --keep-last N     the N newest backups\n"
	      "      --keep-hourly N   the newest backup of each of the N most recent hours,\n"
	      "      --keep-daily N    days, ISO weeks (Monday to Sunday) or months (UTC)\n"
	      "      --keep-weekly N   that have backups\n"
	      "      --keep-monthly N\n"
	      "      --all             every tenant found in the store\n"
	      "      --grace DURATION  an archive without a sidecar (a backup that failed, or\n"
	      "                        one still being written) is removed once the archive\n"
	      "                        object is older than this, by its modification time\n"
	      "                        (default 24h; e.g. 90m, 24h, 7d; at least 10m); so is\n"
	      "                        an unfinished upload (what a killed backup leaves: an\n"
	      "                        open S3 multipart upload, a hidden temporary file in a\n"
	      "                        file store) last written to longer ago than this\n"
	      "      --dry-run         print the plan (\"would remove\"), change nothing\n",
	      f);
	xorb_cli_print_store_help(f);
	xorb_cli_print_output_help(f, 1);
	xorb_cli_print_config_help(f);
	fputs("\n"
	      "Examples:\n"
	      "  xorb-prune t-qa --keep-daily 7 --keep-weekly 4 --dry-run\n"
	      "  xorb-prune --store s3://xorb-backups/prod --all --keep-daily 14 \\\n"
	      "      --keep-monthly 12\n"
	      "  xorb-prune --store /var/lib/xorb/backups t-qa --keep-last 3 --json\n"
	      "\n"
	      "Exit codes: 0 success, 2 any removal failed (the others are still done),\n"
	      "64 usage error.\n",
	      f);
}

enum {
	OPT_ALL = XORB_OPT_FIRST_COMMAND_OPT,
	OPT_KEEP_LAST,
	OPT_KEEP_HOURLY,
	OPT_KEEP_DAILY,
	OPT_KEEP_WEEKLY,
	OPT_KEEP_MONTHLY,
	OPT_GRACE,
	OPT_DRY_RUN,
};

static const struct option longopts[] = {
	/* no connection options: it never connects to NATS */
	XORB_CLI_STORE_LONGOPTS,
	XORB_CLI_OUTPUT_LONGOPTS,
	XORB_CLI_JSON_LONGOPT,
	XORB_CLI_BASE_LONGOPTS,
	{ "all", no_argument, NULL, OPT_ALL },
	{ "keep-last", required_argument, NULL, OPT_KEEP_LAST },
	{ "keep-hourly", required_argument, NULL, OPT_KEEP_HOURLY },
	{ "keep-daily", required_argument, NULL, OPT_KEEP_DAILY },
	{ "keep-weekly", required_argument, NULL, OPT_KEEP_WEEKLY },
	{ "keep-monthly", required_argument, NULL, OPT_KEEP_MONTHLY },
	{ "grace", required_argument, NULL, OPT_GRACE },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ NULL, 0, NULL, 0 },
};

struct tally {
	size_t kept, removed, leftovers_kept, leftovers_removed, unfinished_kept, unfinished_removed, failed;
	uint64_t bytes_removed;
};

static void json_item(cJSON *arr, const struct xorb_prune_item *it, bool dry_run, int rc, const char *error)
{
	cJSON *o = cJSON_CreateObject(), *reasons = cJSON_CreateArray();
	char when[32];
	struct tm tm;
	time_t t = (time_t)it->archive_mtime;
	size_t i;

	cJSON_AddStringToObject(o, "tenant", it->tenant);
	cJSON_AddStringToObject(o, "backup_id", it->id);
	cJSON_AddBoolToObject(o, "complete", it->complete);
	cJSON_AddStringToObject(o, "action", it->keep ? "keep" : "remove");
	for (i = 0; i < it->n_reasons; i++)
		cJSON_AddItemToArray(reasons, cJSON_CreateString(it->reasons[i]));
	cJSON_AddItemToObject(o, "reasons", reasons);
	if (it->has_archive)
		xorb_json_add_int(o, "archive_bytes", (int64_t)it->archive_size);
	if (!it->complete && it->has_archive && gmtime_r(&t, &tm) &&
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
		cJSON_AddStringToObject(o, "archive_mtime", when);
	if (!it->keep)
		cJSON_AddBoolToObject(o, "removed", !dry_run && !rc);
	if (rc)
		cJSON_AddStringToObject(o, "error", error);
	cJSON_AddItemToArray(arr, o);
}

static void print_text_item(const struct xorb_prune_item *it, int tenant_width, bool dry_run,
			    int rc)
{
	const char *action = it->keep ? "keep" : rc ? "FAILED" : dry_run ? "would remove" : "remove";
	char why[XORB_PRUNE_REASONS * (XORB_PRUNE_REASON_LEN + 2)];

	xorb_prune_reasons_join(it, why, sizeof(why));
	printf("%-*s %-*s %s%s%s%s\n", dry_run ? 12 : 6, action, tenant_width, it->tenant, it->id,
	       *why ? "  (" : "", why, *why ? ")" : "");
}

/* "2026-11-26 10:00 UTC" (text) or "2026-11-26T10:00:00Z" (json) of an
 * unfinished upload's last write; "" when unknown. */
static const char *last_write_str(const struct xorb_prune_unfinished *u, bool json, char *buf, size_t len)
{
	time_t t = (time_t)u->last_write;
	struct tm tm;

	buf[0] = '\0';
	if (u->last_write > 0 && gmtime_r(&t, &tm))
		strftime(buf, len, json ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M UTC", &tm);
	return buf;
}

static void json_unfinished(cJSON *arr, const struct xorb_prune_unfinished *u, bool dry_run,
			    const struct xorb_error *e)
{
	cJSON *o = cJSON_CreateObject();
	char when[32];

	cJSON_AddStringToObject(o, "tenant", u->tenant);
	cJSON_AddStringToObject(o, "key", u->key);
	cJSON_AddStringToObject(o, "upload_id", u->id);
	if (*last_write_str(u, true, when, sizeof(when)))
		cJSON_AddStringToObject(o, "last_write", when);
	else
		cJSON_AddNullToObject(o, "last_write");
	cJSON_AddStringToObject(o, "action", u->keep ? "keep" : "remove");
	cJSON_AddStringToObject(o, "reason", u->reason);
	if (!u->keep)
		cJSON_AddBoolToObject(o, "removed", !dry_run && !e->code);
	if (e->code)
		cJSON_AddStringToObject(o, "error", e->msg);
	cJSON_AddItemToArray(arr, o);
}

static void print_text_unfinished(const struct xorb_prune_unfinished *u, int tenant_width, bool dry_run,
				  int rc)
{
	const char *action = u->keep ? "keep" : rc ? "FAILED" : dry_run ? "would remove" : "remove";
	char when[32];

	printf("%-*s %-*s unfinished upload of %s, last written %s  (%s)\n", dry_run ? 12 : 6, action, tenant_width,
	       u->tenant, u->key + strlen(u->tenant) + 1,
	       *last_write_str(u, false, when, sizeof(when)) ? when : "at an unknown time", u->reason);
}

static void print_summary(const struct tally *t, size_t tenants, bool dry_run)
{
	char b[32];

	printf("%s%zu tenant%s: %zu backup%s kept, %zu %s", dry_run ? "dry run, nothing changed: " : "",
	       tenants, tenants == 1 ? "" : "s", t->kept, t->kept == 1 ? "" : "s", t->removed,
	       dry_run ? "would be removed" : "removed");
	if (t->leftovers_kept || t->leftovers_removed)
		printf("; incomplete: %zu %s, %zu kept (may still be uploading)", t->leftovers_removed,
		       dry_run ? "would be removed" : "removed", t->leftovers_kept);
	if (t->unfinished_kept || t->unfinished_removed)
		printf("; unfinished uploads: %zu %s, %zu kept (may still be uploading)", t->unfinished_removed,
		       dry_run ? "would be removed" : "removed", t->unfinished_kept);
	printf("; %s %s", xorb_cli_bytes(t->bytes_removed, b, sizeof(b)),
	       dry_run ? "would be freed" : "freed");
	if (t->failed)
		printf("; %zu removal%s FAILED", t->failed, t->failed == 1 ? "" : "s");
	printf("\n");
}

/* Distinct tenants of the backups and the unfinished uploads (both sorted by
 * tenant), and the width of the longest name. */
static size_t count_tenants(const struct xorb_prune_item *items, size_t n,
			    const struct xorb_prune_unfinished *ups, size_t nu, int *width)
{
	const char *last = NULL;
	size_t i = 0, j = 0, count = 0;

	*width = 0;
	while (i < n || j < nu) {
		const char *t = j >= nu || (i < n && strcmp(items[i].tenant, ups[j].tenant) <= 0)
					? items[i++].tenant
					: ups[j++].tenant;
		int w = (int)strlen(t);

		*width = w > *width ? w : *width;
		if (!last || strcmp(last, t))
			count++;
		last = t;
	}
	return count;
}

static int prune(struct xorb_cli *c, const char *tenant, const struct xorb_prune_policy *p,
		 bool dry_run)
{
	struct xorb_prune_item *items = NULL;
	struct xorb_prune_unfinished *ups = NULL;
	struct xorb_error *uerr = NULL; /* per unfinished upload */
	struct xorb_store *store = NULL;
	struct xorb_error err = { 0, "" };
	char note[sizeof(err.msg)] = "";
	struct tally t = { 0 };
	size_t n = 0, nu = 0, i, tenants = 0;
	time_t now = time(NULL);
	int rc, tw = 0;
	cJSON *doc = NULL, *backups = NULL; /* --json */

	/* everything is listed and decided before anything is removed */
	rc = xorb_cli_open_store(c, NULL, XORB_STORE_READ, &store, &err);
	if (!rc)
		rc = xorb_prune_scan(store, tenant, &items, &n, &err);
	if (!rc)
		rc = xorb_prune_plan(p, now, items, n, &err);
	if (!rc) {
		rc = xorb_prune_scan_unfinished(store, tenant, &ups, &nu, &err);
		if (rc == XORB_EUNSUPPORTED) { /* an older plugin: prune without them */
			snprintf(note, sizeof(note), "%s", err.msg);
			xorb_error_clear(&err);
			rc = XORB_OK;
		}
	}
	if (!rc)
		rc = xorb_prune_plan_unfinished(p->grace, now, ups, nu, &err);
	if (!rc && nu && !(uerr = calloc(nu, sizeof(*uerr))))
		rc = xorb_error_set(&err, XORB_ENOMEM, "out of memory");
	if (rc) {
		xorb_cli_error(c, "%s", err.msg);
		if (c->json) {
			cJSON *j = cJSON_CreateObject();

			cJSON_AddBoolToObject(j, "dry_run", dry_run);
			cJSON_AddStringToObject(j, "result", "failed");
			cJSON_AddStringToObject(j, "error", err.msg);
			xorb_cli_json_emit(j, "\n");
		}
		goto out;
	}
	if (*note)
		xorb_cli_note(c, XORB_NOTE_INFO, NULL, note);
	tenants = count_tenants(items, n, ups, nu, &tw);
	if (c->json) {
		cJSON *pol = cJSON_CreateObject();

		doc = cJSON_CreateObject();
		cJSON_AddBoolToObject(doc, "dry_run", dry_run);
		xorb_json_add_int(pol, "keep_last", p->keep_last);
		xorb_json_add_int(pol, "keep_hourly", p->keep_hourly);
		xorb_json_add_int(pol, "keep_daily", p->keep_daily);
		xorb_json_add_int(pol, "keep_weekly", p->keep_weekly);
		xorb_json_add_int(pol, "keep_monthly", p->keep_monthly);
		xorb_json_add_int(pol, "grace_seconds", p->grace);
		cJSON_AddItemToObject(doc, "policy", pol);
		backups = cJSON_AddArrayToObject(doc, "backups");
	} else if (!c->quiet && !n)
		printf("no backups%s%s in store \"%s\"\n", tenant ? " of tenant " : "", tenant ? tenant : "",
		       xorb_store_url(store));
	for (i = 0; i < n; i++) {
		const struct xorb_prune_item *it = &items[i];
		int r = XORB_OK;

		xorb_error_clear(&err);
		if (!it->keep && !dry_run) {
			r = xorb_prune_remove(store, it, &err);
			if (r) {
				const char *ctx = c->tenant;

				c->tenant = it->tenant;
				xorb_cli_error(c, "%s", err.msg);
				c->tenant = ctx;
			}
		}
		if (r) {
			t.failed++;
		} else if (it->keep) {
			if (it->complete)
				t.kept++;
			else
				t.leftovers_kept++;
		} else {
			if (it->complete)
				t.removed++;
			else
				t.leftovers_removed++;
			t.bytes_removed += it->archive_size;
		}
		if (c->json)
			json_item(backups, it, dry_run, r, err.msg);
		else if (!c->quiet)
			print_text_item(it, tw, dry_run, r);
	}
	for (i = 0; i < nu; i++) {
		const struct xorb_prune_unfinished *u = &ups[i];
		int r = XORB_OK;

		if (!u->keep && !dry_run) {
			r = xorb_prune_remove_unfinished(store, u, &uerr[i]);
			if (r) {
				const char *ctx = c->tenant;

				c->tenant = u->tenant;
				xorb_cli_error(c, "%s", uerr[i].msg);
				c->tenant = ctx;
			}
		}
		if (r)
			t.failed++;
		else if (u->keep)
			t.unfinished_kept++;
		else
			t.unfinished_removed++;
		if (!c->json && !c->quiet)
			print_text_unfinished(u, tw, dry_run, r);
	}
	if (c->json) {
		cJSON *unf;

		xorb_json_add_int(doc, "tenants", (int64_t)tenants);
		xorb_json_add_int(doc, "kept", (int64_t)t.kept);
		xorb_json_add_int(doc, "removed", (int64_t)t.removed);
		xorb_json_add_int(doc, "incomplete_kept", (int64_t)t.leftovers_kept);
		xorb_json_add_int(doc, "incomplete_removed", (int64_t)t.leftovers_removed);
		unf = cJSON_AddArrayToObject(doc, "unfinished");
		for (i = 0; i < nu; i++)
			json_unfinished(unf, &ups[i], dry_run, &uerr[i]);
		xorb_json_add_int(doc, "unfinished_kept", (int64_t)t.unfinished_kept);
		xorb_json_add_int(doc, "unfinished_removed", (int64_t)t.unfinished_removed);
		if (*note)
			cJSON_AddStringToObject(doc, "unfinished_note", note);
		xorb_json_add_int(doc, "failed", (int64_t)t.failed);
		xorb_json_add_int(doc, "bytes_removed", (int64_t)t.bytes_removed);
		cJSON_AddStringToObject(doc, "result", t.failed ? "failed" : "ok");
		xorb_cli_json_emit(doc, "\n");
		doc = NULL;
	} else if (!c->quiet && (n || nu)) {
		print_summary(&t, tenants, dry_run);
	}
	rc = t.failed ? XORB_ESTORE : XORB_OK;
out:
	cJSON_Delete(doc);
	free(items);
	xorb_prune_unfinished_free(ups, nu);
	free(uerr);
	xorb_store_free(store);
	return rc ? XORB_EXIT_FAIL : XORB_EXIT_OK;
}

static int parse_count(const struct xorb_cli *c, const char *opt, const char *arg, int *out)
{
	int64_t v = xorb_cli_parse_int(c, opt, arg, 0, XORB_PRUNE_COUNT_MAX, false);

	if (v < 0)
		return -1;
	*out = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	struct xorb_prune_policy p = { 0, 0, 0, 0, 0, XORB_PRUNE_GRACE_DEFAULT };
	struct xorb_error err = { 0, "" };
	bool all = false, dry_run = false, any_keep = false;
	const char *tenant = NULL;
	struct xorb_cli c;
	int opt, bad = 0;

	xorb_cli_init(&c, "xorb-prune");
	if (xorb_cli_begin(&c, argc, argv, XORB_CLI_NOCONN_SHORTOPTS, longopts))
		return XORB_EXIT_USAGE;
	while ((opt = xorb_cli_getopt(&c, argc, argv, NULL)) != -1) {
		int h = xorb_cli_common_opt(&c, opt, optarg);

		if (h < 0)
			return XORB_EXIT_USAGE;
		if (h)
			continue;
		switch (opt) {
		case 'h':
			help(stdout);
			return XORB_EXIT_OK;
		case XORB_OPT_VERSION: xorb_cli_version(&c); return XORB_EXIT_OK;
		case OPT_ALL: all = true; break;
		case OPT_DRY_RUN: dry_run = true; break;
		case OPT_KEEP_LAST: bad = parse_count(&c, "--keep-last", optarg, &p.keep_last); break;
		case OPT_KEEP_HOURLY: bad = parse_count(&c, "--keep-hourly", optarg, &p.keep_hourly); break;
		case OPT_KEEP_DAILY: bad = parse_count(&c, "--keep-daily", optarg, &p.keep_daily); break;
		case OPT_KEEP_WEEKLY: bad = parse_count(&c, "--keep-weekly", optarg, &p.keep_weekly); break;
		case OPT_KEEP_MONTHLY: bad = parse_count(&c, "--keep-monthly", optarg, &p.keep_monthly); break;
		case OPT_GRACE:
			if ((p.grace = xorb_cli_parse_duration(&c, "--grace", optarg)) < 0)
				return XORB_EXIT_USAGE;
			if (p.grace < XORB_PRUNE_GRACE_MIN || p.grace > XORB_PRUNE_GRACE_MAX)
				return xorb_cli_usage_error(&c, "--grace: \"%s\" is not from 10m to 3650d (an archive is stored a moment before its sidecar: a shorter grace could take the archive of a backup that is completing)",
							    optarg);
			break;
		default: return XORB_EXIT_USAGE; /* xorb_cli_getopt said why */
		}
		if (bad)
			return XORB_EXIT_USAGE;
		if (opt >= OPT_KEEP_LAST && opt <= OPT_KEEP_MONTHLY)
			any_keep = true;
	}
	if (optind < argc)
		tenant = argv[optind];
	if (optind + 1 < argc)
		return xorb_cli_extra_arg(&c, argv[optind + 1]);
	if (!tenant && !all)
		return xorb_cli_usage_error(&c, "missing argument TENANT (or --all for every tenant in the store)");
	if (tenant && all)
		return xorb_cli_usage_error(&c, "give TENANT or --all, not both");
	if (tenant && xorb_tenant_check(tenant, &err))
		return xorb_cli_usage_error(&c, "%s", err.msg);
	c.tenant = tenant; /* context of log lines */
	if (!any_keep)
		return xorb_cli_usage_error(&c, "no --keep-last/--keep-hourly/--keep-daily/--keep-weekly/--keep-monthly option: refusing to remove every backup but the newest; give the policy to apply (e.g. --keep-daily 7 --keep-weekly 4)");
	return prune(&c, tenant, &p, dry_run);
}

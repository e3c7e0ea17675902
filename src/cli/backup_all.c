/* xorb-backup all: see backup.h. */
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

struct child {
	char tenant[XORB_TENANT_MAX + 1];
	pid_t pid;
	int out; /* read end of the child's stdout */
	struct xorb_buf buf;
	int status;
	double t0;
};

int backup_tenant_list(struct backup_args *a, char ***out, size_t *n, struct xorb_error *err)
{
	char **v = NULL;
	size_t k = 0, i;

	*out = NULL;
	*n = 0;
	if (a->env) {
		struct xorb_env *e = NULL;
		char path[4096];
		int rc;

		xorb_env_path(a->env, path, sizeof(path));
		rc = xorb_env_load(path, &e, err);
		if (rc)
			return rc;
		v = calloc(e->n_tenants + 1, sizeof(char *));
		for (i = 0; v && i < e->n_tenants; i++)
			if ((v[k] = strdup(e->tenants[i].name)))
				k++;
		xorb_env_free(a->envobj);
		a->envobj = e; /* the children's backup_recipients */
	} else if (a->tenants) {
		const char *p = a->tenants;

		v = calloc(strlen(p) + 1, sizeof(char *));
		while (v && *p) {
			size_t l = strcspn(p, ",");

			if (l) {
				v[k] = strndup(p, l);
				if (!v[k])
					break;
				if (xorb_tenant_check(v[k], err)) {
					xorb_strv_free(v, k + 1);
					return XORB_EINVAL;
				}
				k++;
			}
			p += l + (p[l] == ',');
		}
	}
	if (!v)
		return xorb_error_set(err, XORB_ENOMEM, "out of memory");
	/* a tenant named twice runs once: two runs of one tenant at a time
	 * collide on the server ("snapshot in progress") */
	for (i = 0; i < k; i++) {
		size_t j, w = i + 1;

		for (j = i + 1; j < k; j++) {
			if (strcmp(v[j], v[i]))
				v[w++] = v[j];
			else
				free(v[j]);
		}
		if (w < k) {
			char msg[200];

			snprintf(msg, sizeof(msg), "tenant \"%s\" is listed %zu times in %s: it runs once", v[i],
				 k - w + 1, a->env ? "the environment" : "--tenants");
			xorb_cli_note(&a->c, XORB_NOTE_INFO, NULL, msg);
		}
		k = w;
		v[k] = NULL;
	}
	*out = v;
	*n = k;
	return XORB_OK;
}

static int spawn_child(struct backup_args *a, const char *self, struct child *ch)
{
	const char **argv;
	char creds[4200];
	size_t i, k = 0;
	int pfd[2];

	const struct xorb_env_tenant *et = a->envobj ? xorb_env_tenant(a->envobj, ch->tenant) : NULL;
	size_t nr = et ? et->n_backup_recipients : 0;

	argv = calloc(a->n_child + 12 + 2 * nr, sizeof(char *));
	if (!argv || pipe(pfd)) {
		free(argv);
		return -1;
	}
	argv[k++] = self;
	for (i = 0; i < a->n_child; i++)
		argv[k++] = a->child_argv[i];
	if (a->creds_dir) {
		snprintf(creds, sizeof(creds), "%s/xorb-%s-backup.creds", a->creds_dir, ch->tenant);
		argv[k++] = "--creds";
		argv[k++] = creds;
	}
	for (i = 0; i < nr; i++) {
		argv[k++] = "--recipient";
		argv[k++] = et->backup_recipients[i];
	}
	argv[k++] = "--json";
	argv[k++] = "tenant";
	argv[k++] = ch->tenant;
	argv[k] = NULL;
	fflush(stdout);
	fflush(stderr);
	ch->pid = fork();
	if (ch->pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execv(self, (char *const *)argv);
		fprintf(stderr, "xorb-backup: error: cannot run %s: %s\n", self, strerror(errno));
		_exit(2);
	}
	free(argv);
	close(pfd[1]);
	if (ch->pid < 0) {
		close(pfd[0]);
		return -1;
	}
	ch->out = pfd[0];
	ch->t0 = xorb_now();
	xorb_buf_init(&ch->buf);
	return 0;
}

/* Reads what a child wrote until it closes stdout, then reaps it. */
static void finish_child(struct child *ch)
{
	char tmp[4096];
	ssize_t n;
	int st = 0;

	while ((n = read(ch->out, tmp, sizeof(tmp))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && ch->buf.len < 65536)
			xorb_buf_append(&ch->buf, tmp, (size_t)n);
	close(ch->out);
	while (waitpid(ch->pid, &st, 0) < 0 && errno == EINTR)
		;
	ch->status = WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}

static void report_child(struct backup_args *a, const struct child *ch, int first)
{
	cJSON *j = NULL;
	char b[32];

	if (ch->buf.data)
		xorb_json_parse(ch->buf.data, strcspn(ch->buf.data, "\n"), "result", &j, NULL);
	if (a->c.json) {
		printf("%s", first ? "" : ",");
		if (cJSON_IsObject(j)) {
			/* the child's document, printed again by the one writer */
			xorb_cli_json_emit(j, NULL);
			j = NULL;
		} else {
			cJSON *f = cJSON_CreateObject();

			cJSON_AddStringToObject(f, "tenant", ch->tenant);
			cJSON_AddStringToObject(f, "result", "failed");
			xorb_json_add_int(f, "exit", ch->status);
			xorb_cli_json_emit(f, NULL);
		}
	} else if (!a->c.quiet || ch->status) {
		const char *res = ch->status == 0 ? "ok" : ch->status == 1 ? "WARNING" : "FAILED";

		if (j && ch->status != 2)
			printf("%-24s %-8s %s  %3" PRId64 " streams  %10" PRId64 " messages  %10s  %.1f s\n",
			       ch->tenant, res, xorb_json_str(j, "backup_id", "?"), xorb_json_int(j, "streams", 0),
			       xorb_json_int(j, "messages", 0),
			       xorb_cli_bytes((uint64_t)xorb_json_int(j, "archive_bytes", 0), b, sizeof(b)),
			       xorb_now() - ch->t0);
		else
			printf("%-24s %-8s exit %d: %s\n", ch->tenant, res, ch->status,
			       j ? xorb_json_str(j, "error", "see the error above") : "see the error above");
	}
	fflush(stdout);
	cJSON_Delete(j);
}

static int cmd_all(struct backup_args *a)
{
	struct xorb_error err = { 0, "" };
	char **tenants = NULL, self[4096];
	struct child *ch;
	size_t n = 0, next = 0, running = 0, done = 0, i;
	int worst = 0, first = 1;
	ssize_t sl;

	if (!a->env == !a->tenants)
		return xorb_cli_usage_error(&a->c, "all: give exactly one of --env ENV or --tenants a,b,c");
	if (a->streams)
		return xorb_cli_usage_error(&a->c, "all: --stream does not apply (use tenant)");
	if (backup_tenant_list(a, &tenants, &n, &err))
		return err.code == XORB_EINVAL && a->tenants ? xorb_cli_usage_error(&a->c, "%s", err.msg)
							     : xorb_cli_fail(&a->c, &err);
	if (!n) {
		xorb_strv_free(tenants, n);
		xorb_cli_error(&a->c, "no tenants to back up");
		return XORB_EXIT_FAIL;
	}
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0) {
		xorb_strv_free(tenants, n);
		xorb_cli_error(&a->c, "cannot find this program's path: %s", strerror(errno));
		return XORB_EXIT_FAIL;
	}
	self[sl] = '\0';
	ch = calloc(n, sizeof(*ch));
	if (!ch) {
		xorb_strv_free(tenants, n);
		return XORB_EXIT_FAIL;
	}
	if (a->c.json)
		printf("[");
	while (done < n) {
		while (next < n && running < (size_t)a->parallel) {
			snprintf(ch[next].tenant, sizeof(ch[next].tenant), "%s", tenants[next]);
			if (spawn_child(a, self, &ch[next])) {
				ch[next].status = 2;
				ch[next].pid = 0;
				report_child(a, &ch[next], first);
				first = 0;
				worst = 2;
				done++;
			} else {
				running++;
			}
			next++;
		}
		/* wait for any running child to finish its output */
		{
			struct pollfd pf[256];
			size_t map[256], np = 0;

			for (i = 0; i < next && np < 256; i++)
				if (ch[i].pid > 0 && ch[i].out >= 0) {
					pf[np].fd = ch[i].out;
					pf[np].events = POLLIN;
					map[np++] = i;
				}
			if (!np)
				break;
			if (poll(pf, np, -1) < 0 && errno != EINTR)
				break;
			for (i = 0; i < np; i++) {
				struct child *c1 = &ch[map[i]];
				char tmp[4096];
				ssize_t r;

				if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				r = read(c1->out, tmp, sizeof(tmp));
				if (r > 0) {
					if (c1->buf.len < 65536)
						xorb_buf_append(&c1->buf, tmp, (size_t)r);
					continue;
				}
				if (r < 0 && errno == EINTR)
					continue;
				finish_child(c1);
				c1->out = -1;
				c1->pid = -1;
				report_child(a, c1, first);
				first = 0;
				if (c1->status > worst)
					worst = c1->status > 2 ? 2 : c1->status;
				running--;
				done++;
			}
		}
	}
	if (a->c.json)
		printf("]\n");
	else if (!a->c.quiet)
		printf("%zu tenants: %s\n", n, worst == 0 ? "all ok" : worst == 1 ? "some with warnings" : "some FAILED");
	for (i = 0; i < n; i++)
		xorb_buf_release(&ch[i].buf);
	free(ch);
	xorb_strv_free(tenants, n);
	return worst;
}

static void help(FILE *f)
{
	fputs("Usage: xorb-backup all (--env ENV | --tenants a,b,c) [options]\n"
	      "\n"
	      "Backs up every tenant of an environment file (or of a list), each in its own\n"
	      "process (`xorb-backup tenant`, given the options below), N at a time. One\n"
	      "line per tenant; one tenant's failure never stops the others.\n"
	      "\n"
	      "Options:\n"
	      "      --env ENV          tenants of environments/ENV.tfvars.json (or a path);\n"
	      "                         each tenant's backup_recipients encrypt its backups\n"
	      "      --tenants a,b,c    these tenants (one named twice runs once)\n"
	      "      --creds-dir DIR    per-tenant credentials DIR/xorb-<tenant>-backup.creds\n"
	      "      --parallel N       tenants backed up at a time (default 1)\n",
	      f);
	backup_run_options_help(f);
	xorb_cli_print_conn_help(f);
	xorb_cli_print_store_help(f);
	xorb_cli_print_output_help(f, 1);
	xorb_cli_print_config_help(f);
	fputs("\n"
	      "Examples:\n"
	      "  xorb-backup all --env prod --creds-dir /etc/xorb/creds --parallel 4\n"
	      "  xorb-backup --store s3://xorb-backups/prod all --tenants t-qa,t-ops\n"
	      "  xorb-backup all --env environments/staging.tfvars.json \\\n"
	      "      --metrics-file /var/lib/node_exporter/xorb.prom\n"
	      "\n"
	      "Exit codes: 0 all ok, 1 any warning, 2 any failure, 64 usage error.\n",
	      f);
}

static int run(struct backup_args *a, char **argv, int argc)
{
	if (argc > 0)
		return xorb_cli_extra_arg(&a->c, argv[0]);
	return cmd_all(a);
}

static const struct option longopts[] = {
	XORB_CLI_CONN_LONGOPTS,
	XORB_CLI_STORE_LONGOPTS,
	XORB_CLI_OUTPUT_LONGOPTS,
	XORB_CLI_JSON_LONGOPT,
	XORB_CLI_BASE_LONGOPTS,
	BACKUP_RUN_LONGOPTS,
	{ "env", required_argument, NULL, OPT_ENV },
	{ "tenants", required_argument, NULL, OPT_TENANTS },
	{ "creds-dir", required_argument, NULL, OPT_CREDS_DIR },
	{ "parallel", required_argument, NULL, OPT_PARALLEL },
	{ NULL, 0, NULL, 0 },
};

const struct backup_cmd backup_all_cmd = {
	"all", "back up every tenant of an environment (or --tenants)", XORB_CLI_COMMON_SHORTOPTS, longopts, NULL, help,
	run,
};

/* xorb-state age-key: see state.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "state.h"
#include "xorb_age.h"
#include "xorb_cli.h"
#include "xorb_env.h"
#include "xorb_json.h"
#include "xorb_jwt.h"
#include "xorb_keys.h"
#include "xorb_names.h"
#include "xorb_state.h"

/*
 * The tenant's age identity (issue 15): <keys>/age/xorb-<tenant>.key, made
 * once (0600, the layout age-keygen writes), its public key printed on
 * stdout for the tenant's backup_recipients. Run again: the same public key,
 * the file untouched. Deleting the file makes every backup encrypted only
 * to it unreadable: the erasure procedure (README: Encryption).
 */
static int cmd_age_key(struct state_args *a, const char *tenant)
{
	struct xorb_age_identity *id = NULL;
	struct xorb_error err = { 0, "" };
	char dir[4200], path[4400], pub[XORB_AGE_RECIPIENT_LEN + 1], sec[XORB_AGE_IDENTITY_LEN + 1], when[32];
	struct xorb_age_identity **have = NULL;
	size_t n = 0;
	FILE *f;
	int fd;

	if (xorb_tenant_check(tenant, &err))
		return xorb_cli_usage_error(&a->c, "%s", err.msg);
	if (!a->keys)
		return xorb_cli_usage_error(&a->c, "age-key: give --keys DIR (or XORB_KEYS)");
	snprintf(dir, sizeof(dir), "%s/age", a->keys);
	snprintf(path, sizeof(path), "%s/xorb-%s.key", dir, tenant);
	if (!xorb_age_identities_read_file(path, &have, &n, &err)) {
		xorb_age_identity_recipient(have[0], NULL, pub);
		xorb_age_identities_free(have, n);
		printf("%s\n", pub);
		if (!a->c.quiet)
			fprintf(stderr, "xorb-state: %s exists: its public key is above (nothing written)\n", path);
		return XORB_EXIT_OK;
	}
	if (access(path, F_OK) == 0)
		return xorb_cli_fail(&a->c, &err); /* there, but not an identity: never overwritten */
	if (mkdir(dir, 0700) && errno != EEXIST) {
		xorb_cli_error(&a->c, "cannot create %s: %s", dir, strerror(errno));
		return XORB_EXIT_FAIL;
	}
	if (xorb_age_keygen(&id, &err))
		return xorb_cli_fail(&a->c, &err);
	xorb_age_identity_recipient(id, NULL, pub);
	xorb_age_identity_format(id, sec);
	xorb_age_identity_free(id);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		OPENSSL_cleanse(sec, sizeof(sec));
		xorb_cli_error(&a->c, "cannot create %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return XORB_EXIT_FAIL;
	}
	xorb_time_rfc3339(time(NULL), when);
	fprintf(f, "# created: %s by xorb-state age-key for tenant %s\n# public key: %s\n%s\n", when, tenant, pub, sec);
	OPENSSL_cleanse(sec, sizeof(sec));
	if (fflush(f) || fsync(fileno(f)) || fclose(f)) {
		xorb_cli_error(&a->c, "writing %s failed: %s", path, strerror(errno));
		unlink(path);
		return XORB_EXIT_FAIL;
	}
	printf("%s\n", pub);
	if (!a->c.quiet)
		fprintf(stderr, "xorb-state: wrote %s (0600): put the public key above in tenant %s's backup_recipients; "
				"deleting this file makes the backups encrypted only to it unreadable\n", path, tenant);
	return XORB_EXIT_OK;
}

static const struct option age_key_opts[] = {
	STATE_BASE_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};

static void age_key_help(FILE *f)
{
	fputs("Usage: xorb-state age-key TENANT [options]\n"
	      "\n"
	      "The tenant's age identity for encrypted backups: <keys>/age/xorb-TENANT.key\n"
	      "(0600), made once; prints its public key (for backup_recipients in the\n"
	      "environment file). Does not connect to NATS.\n"
	      "\n"
	      "Options:\n",
	      f);
	fputs(state_keys_help, f);
	state_help_tail(f, 0, 0,
		  "  xorb-state --keys /etc/xorb/keys age-key t-qa\n"
		  "  xorb-state age-key t-qa > /etc/xorb/t-qa.recipients\n",
		  NULL);
}

static int run(struct state_args *a, char **argv, int argc)
{
	return state_nargs(a, argv, argc, 1, 1, "TENANT") ? XORB_EXIT_USAGE : cmd_age_key(a, argv[0]);
}

const struct state_cmd state_age_key_cmd = {
	"age-key", "the tenant's age identity for encrypted backups", "qvhV", age_key_opts, age_key_help, run,
};

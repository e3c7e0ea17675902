/*
 * Keys of encrypted backups on the command line (issue 15): age identities
 * (--identity FILE, XORB_IDENTITY_FILE) for verify, restore and show, and
 * recipients (--recipient AGE1..., --recipients-file FILE,
 * XORB_RECIPIENTS_FILE) for backup. Names as in age(1).
 */
#include "xorb_cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xorb_age.h"
#include "xorb_bundle.h"

int xorb_cli_identities(const struct xorb_cli *c, const char *const *files, size_t n_files,
			struct xorb_age_identity ***ids, size_t *n)
{
	const char *env = getenv("XORB_IDENTITY_FILE");
	const char *one[1];
	size_t i;

	if (!n_files && env && *env) {
		one[0] = env;
		files = one;
		n_files = 1;
	}
	for (i = 0; i < n_files; i++) {
		struct xorb_error err = { 0, "" };
		struct xorb_age_identity **got = NULL, **all;
		struct stat st;
		size_t k, ng = 0;

		if (stat(files[i], &st)) {
			xorb_cli_error(c, "identity file %s: %s: give the age identity (AGE-SECRET-KEY-1...) of the backup's recipient",
				       files[i], strerror(errno));
			return XORB_EXIT_FAIL;
		}
		if (S_ISREG(st.st_mode) && (st.st_mode & 077)) {
			xorb_cli_error(c, "identity file %s is readable by %s (mode %03o): it holds a secret key; chmod 600 %s",
				       files[i], st.st_mode & 07 ? "every user" : "its group", (unsigned)(st.st_mode & 0777),
				       files[i]);
			return XORB_EXIT_FAIL;
		}
		if (xorb_age_identities_read_file(files[i], &got, &ng, &err)) {
			xorb_cli_error(c, "%s", err.msg);
			return XORB_EXIT_FAIL;
		}
		all = realloc(*ids, (*n + ng) * sizeof(*all));
		if (!all) {
			xorb_age_identities_free(got, ng);
			xorb_cli_error(c, "out of memory");
			return XORB_EXIT_FAIL;
		}
		*ids = all;
		for (k = 0; k < ng; k++)
			all[(*n)++] = got[k];
		free(got);
	}
	return 0;
}

int xorb_cli_recipients(const struct xorb_cli *c, const char *const *keys, size_t n_keys,
			const char *const *files, size_t n_files, struct xorb_age_recipient **rs, size_t *n)
{
	const char *env = getenv("XORB_RECIPIENTS_FILE");
	const char *one[1];
	size_t i;

	if (!n_keys && !n_files && env && *env) {
		one[0] = env;
		files = one;
		n_files = 1;
	}
	for (i = 0; i < n_keys + n_files; i++) {
		struct xorb_error err = { 0, "" };
		struct xorb_age_recipient *got = NULL, *all;
		size_t ng = 0;
		int rc;

		if (i < n_keys) {
			got = malloc(sizeof(*got));
			ng = 1;
			rc = got ? xorb_age_recipient_parse(keys[i], strlen(keys[i]), got, &err)
				 : xorb_error_set(&err, XORB_ENOMEM, "out of memory");
			if (rc)
				xorb_error_prefix(&err, "--recipient \"%.80s\": ", keys[i]);
		} else {
			rc = xorb_age_recipients_read_file(files[i - n_keys], &got, &ng, &err);
		}
		if (rc) {
			free(got);
			xorb_cli_error(c, "%s", err.msg);
			return rc == XORB_ENOMEM ? XORB_EXIT_FAIL : XORB_EXIT_USAGE;
		}
		all = realloc(*rs, (*n + ng) * sizeof(*all));
		if (!all) {
			free(got);
			xorb_cli_error(c, "out of memory");
			return XORB_EXIT_FAIL;
		}
		*rs = all;
		memcpy(all + *n, got, ng * sizeof(*got));
		*n += ng;
		free(got);
	}
	return 0;
}

int xorb_cli_open_backup(struct xorb_store *store, const char *tenant, const char *id,
			 struct xorb_age_identity *const *ids, size_t n_ids, int sealed_ok,
			 struct xorb_manifest **m, struct xorb_error *err)
{
	struct xorb_manifest *sc = NULL;
	int rc = xorb_bundle_load(store, tenant, id, &sc, err);

	*m = NULL;
	if (rc)
		return rc;
	if (!sc->sealed || (!n_ids && sealed_ok)) {
		*m = sc;
		return XORB_OK;
	}
	rc = xorb_bundle_unseal(sc, ids, n_ids, m, err);
	xorb_manifest_free(sc);
	return rc;
}

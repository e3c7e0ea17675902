/*
 * xorb-subject-lint: check subjects against schema v1, given as arguments or
 * found in source files.
 *
 *   xorb-subject-lint [--paths DIR|FILE]... [--wildcards] [SUBJECT]...
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xorb_buf.h"
#include "xorb_cli.h"
#include "xorb_json.h"
#include "xorb_subject.h"

#define FILE_MAX (8u << 20) /* larger files are skipped */
#define BINARY_PROBE 8000   /* a NUL in this many first bytes: binary (as git) */

static void help(FILE *f)
{
	fputs("Usage: xorb-subject-lint [--paths DIR|FILE]... [--wildcards] [SUBJECT]...\n"
	      "                         [options]\n"
	      "\n"
	      "Checks subjects against schema v1, xorb.<tenant>.<domain>.<service>.<event>:\n"
	      "  tenant   3-63 letters, digits and hyphens, no hyphen at either end\n"
	      "  domain   evidence, scan, compliance or control\n"
	      "  service  1-32 letters, digits and hyphens, no hyphen at either end\n"
	      "  event    created, updated, completed, failed or replay\n"
	      "\n"
	      "SUBJECTs are checked as given (wildcards only with --wildcards). --paths\n"
	      "scans files, and directories recursively, for string literals that look like\n"
	      "subjects: \"xorb.\" right after a quote (\" ' `) up to the same quote on that\n"
	      "line, with at least 2 dots and no white space, '\\', '/' or ':'; in .yaml,\n"
	      ".yml, .sh, .bash, .conf and .env files also unquoted words starting with\n"
	      "\"xorb.\". Found subjects are checked as patterns ('*' and a final '>'\n"
	      "allowed); a placeholder ({x}, ${x}, $X, %s, <x>) counts as '*'; a literal\n"
	      "ending in '.' is a prefix (checked with '>'). Lines containing\n"
	      "\"xorb-subject-lint: ignore\" are skipped. Not scanned: symlinks met while\n"
	      "walking, binary files, files over 8 MiB, and the directories .git, .hg, .svn,\n"
	      ".venv, node_modules, __pycache__, build, build-* and cmake-build-*.\n"
	      "\n"
	      "Prints FILE:LINE: SUBJECT: REASON (or SUBJECT: REASON) per violation, then a\n"
	      "summary.\n"
	      "\n"
	      "Options:\n"
	      "      --paths PATH     a file or directory to scan (repeatable)\n"
	      "      --wildcards      allow '*' and a final '>' in SUBJECT arguments\n"
	      "  -q, --quiet          no summary line\n"
	      "  -v, --verbose        name the files skipped\n"
	      "      --json           one JSON document on stdout instead of lines\n"
	      "  -h, --help           this help\n"
	      "  -V, --version        print the version\n"
	      "\n"
	      "Examples:\n"
	      "  xorb-subject-lint xorb.t-qa.evidence.scanner.created\n"
	      "  xorb-subject-lint --paths services/ --paths deploy/values.yaml\n"
	      "  xorb-subject-lint --wildcards 'xorb.t-qa.scan.*.>' --json\n"
	      "\n"
	      "Exit codes: 0 no violation, 1 violations, 2 a file could not be read,\n"
	      "64 usage error.\n",
	      f);
}

enum { OPT_PATHS = XORB_OPT_FIRST_COMMAND_OPT, OPT_WILDCARDS };

static const struct option longopts[] = {
	{ "paths", required_argument, NULL, OPT_PATHS },
	{ "wildcards", no_argument, NULL, OPT_WILDCARDS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	XORB_CLI_JSON_LONGOPT,
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, XORB_OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

struct lint {
	struct xorb_cli c;
	unsigned int files_scanned, files_skipped, subjects_checked, violations, errors;
	const char *file; /* being scanned */
	cJSON *jviol, *jerr; /* --json: the arrays so far */
	int oom;
};

/* ---- reporting ---- */

static void report(struct lint *L, const char *file, size_t line, const char *subj, size_t len,
		   const char *reason)
{
	L->violations++;
	if (!L->c.json) {
		if (file)
			printf("%s:%zu: %.*s: %s\n", file, line, (int)len, subj, reason);
		else
			printf("%.*s: %s\n", (int)len, subj, reason);
		return;
	}
	{
		cJSON *o = cJSON_CreateObject();
		char *s = strndup(subj, len);

		if (!o || !s || !(file ? cJSON_AddStringToObject(o, "file", file) : cJSON_AddNullToObject(o, "file")) ||
		    !(file ? xorb_json_add_int(o, "line", (int64_t)line) : cJSON_AddNullToObject(o, "line")) ||
		    !cJSON_AddStringToObject(o, "subject", s) || !cJSON_AddStringToObject(o, "reason", reason) ||
		    !cJSON_AddItemToArray(L->jviol, o)) {
			cJSON_Delete(o);
			L->oom = 1;
		}
		free(s);
	}
}

static void io_error(struct lint *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void io_error(struct lint *L, const char *fmt, ...)
{
	char m[4608];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	L->errors++;
	xorb_cli_error(&L->c, "%s", m);
	if (L->c.json) {
		cJSON *e = cJSON_CreateString(m);

		if (!e || !cJSON_AddItemToArray(L->jerr, e)) {
			cJSON_Delete(e);
			L->oom = 1;
		}
	}
}

static void skipped(struct lint *L, const char *path, const char *why)
{
	L->files_skipped++;
	if (L->c.verbose)
		fprintf(stderr, "%s: skipped \"%s\": %s\n", L->c.prog, path, why);
}

/* ---- checking ---- */

static int on_literal(void *arg, const struct xorb_subject_literal *lit)
{
	struct xorb_error err = { 0, "" };
	struct lint *L = arg;

	L->subjects_checked++;
	if (xorb_subject_check(lit->subject, 1, &err) == XORB_OK)
		return 0;
	if (strlen(lit->subject) != lit->len || memcmp(lit->subject, lit->text, lit->len)) {
		/* say what was checked when placeholders or a prefix were rewritten */
		size_t n = strlen(err.msg);

		snprintf(err.msg + n, sizeof(err.msg) - n, " (checked as \"%s\")", lit->subject);
	}
	report(L, L->file, lit->line, lit->text, lit->len, err.msg);
	return 0;
}

static unsigned int scan_flags(const char *path)
{
	static const char *const bare_ext[] = { ".yaml", ".yml", ".sh", ".bash", ".conf", ".env" };
	const char *base = strrchr(path, '/'), *dot;
	size_t i;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	for (i = 0; dot && i < sizeof(bare_ext) / sizeof(bare_ext[0]); i++)
		if (!strcmp(dot, bare_ext[i]))
			return XORB_SUBJECT_SCAN_BARE;
	return 0;
}

static void scan_file(struct lint *L, const char *path, int walking)
{
	struct stat sb;
	char *data = NULL;
	size_t n = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (walking ? O_NOFOLLOW : 0));
	if (fd < 0) {
		if (walking && errno == ELOOP)
			skipped(L, path, "symlink");
		else
			io_error(L, "cannot read \"%s\": %s", path, strerror(errno));
		return;
	}
	if (fstat(fd, &sb)) {
		io_error(L, "cannot read \"%s\": %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		skipped(L, path, "not a regular file");
		goto out;
	}
	if (sb.st_size > (off_t)FILE_MAX) {
		skipped(L, path, "larger than 8 MiB");
		goto out;
	}
	data = malloc((size_t)sb.st_size + 1);
	if (!data) {
		io_error(L, "cannot read \"%s\": out of memory", path);
		goto out;
	}
	while (n <= (size_t)sb.st_size) { /* read to EOF, never past the cap */
		ssize_t r = read(fd, data + n, (size_t)sb.st_size + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			io_error(L, "cannot read \"%s\": %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > (size_t)sb.st_size) {
		skipped(L, path, "grew while being read");
		goto out;
	}
	if (memchr(data, '\0', n < BINARY_PROBE ? n : BINARY_PROBE)) {
		skipped(L, path, "binary");
		goto out;
	}
	L->files_scanned++;
	L->file = path;
	xorb_subject_scan(data, n, scan_flags(path), on_literal, L);
	L->file = NULL;
out:
	free(data);
	close(fd);
}

static int skip_dir(const char *name)
{
	static const char *const names[] = { ".git", ".hg", ".svn", ".venv", "node_modules",
					     "__pycache__", "build" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return 1;
	return !strncmp(name, "build-", 6) || !strncmp(name, "cmake-build-", 12);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void scan_path(struct lint *L, const char *path, int walking);

static void scan_dir(struct lint *L, const char *path, int walking)
{
	char **names = NULL, child[4096];
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (walking ? O_NOFOLLOW : 0));
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		io_error(L, "cannot read directory \"%s\": %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap ? cap * 2 : 64) * sizeof(*names));

			if (!nn)
				break;
			names = nn;
			cap = cap ? cap * 2 : 64;
		}
		if (!(names[n] = strdup(de->d_name)))
			break;
		n++;
		errno = 0;
	}
	if (errno)
		io_error(L, "cannot read directory \"%s\": %s", path, strerror(errno));
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		size_t pl = strlen(path);
		int w = snprintf(child, sizeof(child), "%s%s%s", path,
				 pl && path[pl - 1] == '/' ? "" : "/", names[i]);

		if (w < 0 || (size_t)w >= sizeof(child))
			io_error(L, "path \"%s/%s\" is too long", path, names[i]);
		else
			scan_path(L, child, 1);
		free(names[i]);
	}
	free(names);
}

/* walking == 0 for a path named on the command line: followed if a symlink,
 * and never skipped by name. */
static void scan_path(struct lint *L, const char *path, int walking)
{
	const char *base = strrchr(path, '/');
	struct stat sb;

	if ((walking ? lstat(path, &sb) : stat(path, &sb))) {
		io_error(L, "cannot read \"%s\": %s", path, strerror(errno));
		return;
	}
	base = base ? base + 1 : path;
	if (S_ISLNK(sb.st_mode)) {
		skipped(L, path, "symlink");
	} else if (S_ISDIR(sb.st_mode)) {
		if (walking && skip_dir(base)) {
			if (L->c.verbose)
				fprintf(stderr, "%s: skipped directory \"%s\"\n", L->c.prog, path);
			return;
		}
		scan_dir(L, path, walking);
	} else if (S_ISREG(sb.st_mode)) {
		scan_file(L, path, walking);
	} else {
		skipped(L, path, "not a regular file");
	}
}

/* ---- main ---- */

static void print_summary(const struct lint *L)
{
	if (L->c.json) {
		cJSON *j = cJSON_CreateObject();

		cJSON_AddStringToObject(j, "result", L->errors ? "error" : L->violations ? "violations" : "clean");
		cJSON_AddItemReferenceToObject(j, "violations", L->jviol);
		cJSON_AddItemReferenceToObject(j, "errors", L->jerr);
		xorb_json_add_int(j, "files_scanned", L->files_scanned);
		xorb_json_add_int(j, "files_skipped", L->files_skipped);
		xorb_json_add_int(j, "subjects_checked", L->subjects_checked);
		xorb_cli_json_emit(j, "\n");
		return;
	}
	if (L->c.quiet)
		return;
	if (L->violations)
		printf("%s: %u violation%s", L->c.prog, L->violations, L->violations == 1 ? "" : "s");
	else
		printf("%s: no violations", L->c.prog);
	if (L->errors)
		printf(", %u file%s not read", L->errors, L->errors == 1 ? "" : "s");
	printf(" (%u file%s scanned, %u skipped, %u subject%s checked)\n", L->files_scanned,
	       L->files_scanned == 1 ? "" : "s", L->files_skipped, L->subjects_checked,
	       L->subjects_checked == 1 ? "" : "s");
}

int main(int argc, char **argv)
{
	const char **paths = NULL;
	size_t npaths = 0, i;
	int opt, wildcards = 0, rc;
	struct lint L;

	memset(&L, 0, sizeof(L));
	xorb_cli_init(&L.c, "xorb-subject-lint");
	if (xorb_cli_begin(&L.c, argc, argv, "qvhV", longopts))
		return XORB_EXIT_USAGE;
	while ((opt = xorb_cli_getopt(&L.c, argc, argv, NULL)) != -1) {
		switch (opt) {
		case OPT_PATHS:
			if (xorb_cli_list_add(&paths, &npaths, optarg)) {
				xorb_cli_error(&L.c, "out of memory");
				free(paths);
				return XORB_EXIT_FAIL;
			}
			break;
		case OPT_WILDCARDS: wildcards = 1; break;
		case 'q': L.c.quiet = 1; break;
		case 'v': L.c.verbose++; break;
		case XORB_OPT_JSON: L.c.json = 1; break;
		case 'h':
			help(stdout);
			free(paths);
			return XORB_EXIT_OK;
		case XORB_OPT_VERSION:
			xorb_cli_version(&L.c);
			free(paths);
			return XORB_EXIT_OK;
		default:
			free(paths);
			return XORB_EXIT_USAGE; /* xorb_cli_getopt said why */
		}
	}
	if (!npaths && optind >= argc) {
		free(paths);
		return xorb_cli_usage_error(&L.c, "missing argument SUBJECT (or --paths PATH): nothing to check");
	}
	for (i = (size_t)optind; i < (size_t)argc; i++) {
		struct stat sb;

		/* "--paths a b" would check the path b as a subject */
		if (strchr(argv[i], '/') || stat(argv[i], &sb) == 0) {
			free(paths);
			return xorb_cli_usage_error(&L.c, "\"%s\" is a path, not a subject: use --paths %s",
						    argv[i], argv[i]);
		}
	}

	if (L.c.json && (!(L.jviol = cJSON_CreateArray()) || !(L.jerr = cJSON_CreateArray())))
		L.oom = 1;
	for (i = (size_t)optind; i < (size_t)argc; i++) {
		struct xorb_error err = { 0, "" };

		L.subjects_checked++;
		if (xorb_subject_check(argv[i], wildcards, &err))
			report(&L, NULL, 0, argv[i], strlen(argv[i]), err.msg);
	}
	for (i = 0; i < npaths; i++)
		scan_path(&L, paths[i], 0);
	if (L.oom)
		io_error(&L, "out of memory collecting the results");
	print_summary(&L);
	fflush(stdout);
	rc = L.errors ? XORB_EXIT_FAIL : L.violations ? XORB_EXIT_WARN : XORB_EXIT_OK;
	cJSON_Delete(L.jviol);
	cJSON_Delete(L.jerr);
	free(paths);
	return rc;
}

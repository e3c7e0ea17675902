/*
 * The "s3" storage backend: a backup store in an S3 bucket, on AWS or on any
 * S3-compatible server. URL s3://bucket/prefix (prefix optional): every key
 * lives under the prefix. Settings follow the AWS conventions (AWS_* variables)
 * with the command line's s3-* parameters on top; requests are signed by
 * libcurl's SigV4.
 *
 * A put streams: the bytes are cut into parts of s3-part-size. An object that
 * fits in one part is ONE PutObject at commit. A larger one becomes a
 * multipart upload started at the first full part, whose parts go out on an
 * upload thread, up to s3-concurrency at once (curl multi); put_write blocks
 * only while every part buffer is busy, so memory stays below part size x
 * (concurrency + 1). Each part carries Content-MD5 and its ETag is checked.
 * Nothing is visible under the key before CompleteMultipartUpload succeeds;
 * any failure and put_abort abort the upload so no parts are left behind.
 * A writer killed before either leaves the upload open: list_unfinished
 * (ListMultipartUploads) reports it and remove_unfinished aborts it.
 *
 * A get streams too (pull model, bounded buffer): a connection that breaks
 * mid-body is resumed with a ranged GET from the byte reached, pinned to the
 * first answer's ETag, and the total is checked against the object's size.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "s3_http.h"
#include "s3_xml.h"
#include "xorb_buf.h"
#include "xorb_error.h"
#include "xorb_hash.h"
#include "xorb_storage_abi.h"
#include "xorb_url.h"

/* memory: (concurrency + 1) x part size; 5 MiB (the S3 minimum) x 4 keeps a backup to S3
 * within 64 MiB together with the archive writer's part buffers */
#define DEFAULT_PART_SIZE ((size_t)5 << 20)
#define DEFAULT_CONCURRENCY 3
#define DEFAULT_RETRIES 5
/* An abandoned multipart upload costs storage until someone aborts it: the
 * abort gets more patience than an ordinary request (10 attempts, 20 to 40 s
 * of backoff), enough to outlast a restarting server or a brief outage. */
#define ABORT_MIN_ATTEMPTS 10
#define KEY_MAX 1024		 /* S3's limit on a key, in bytes */
#define LIST_RESP_MAX S3_XML_DOC_MAX
#define GET_PENDING_MAX ((size_t)1 << 20)
#define MD5_LEN 16

struct s3ctx {
	struct s3_conf conf;
	pthread_mutex_t mu; /* serialises the use of easy */
	CURL *easy;	    /* open's check, list, remove */
	char err[S3_ERR_MAX];
};

__attribute__((format(printf, 3, 4))) static int fail(struct s3ctx *x, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->err, sizeof(x->err), fmt, ap);
	va_end(ap);
	return code;
}

/* The message of a reader's failure (s3_xml.h): "<subject>: the S3 server's
 * answer <why>". An empty why is a callback's failure, which has its own. */
__attribute__((format(printf, 4, 5))) static int bad_answer(struct s3ctx *x, int code, const char *why,
							    const char *fmt, ...)
{
	char subj[S3_ERR_MAX];
	va_list ap;

	if (code == XORB_ENOMEM)
		return fail(x, code, "out of memory");
	if (!why[0])
		return code;
	va_start(ap, fmt);
	vsnprintf(subj, sizeof(subj), fmt, ap);
	va_end(ap);
	return fail(x, code, "%s: the S3 server's answer %s", subj, why);
}

/* ---- settings ---------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static const char *param(const struct xorb_param *p, const char *key)
{
	for (; p && p->key; p++)
		if (!strcmp(p->key, key))
			return p->value;
	return NULL;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static int truthy(const char *v)
{
	return v && *v && strcmp(v, "0") && strcasecmp(v, "false") && strcasecmp(v, "no");
}

/* The options this backend takes (ABI 1.2): the commands offer them as
 * --s3-..., check the numbers' ranges with their own parser (sizes arrive
 * in bytes, suffix applied) and pass them to open(). */
static const struct xorb_storage_option s3_options[] = {
	{ "s3-endpoint", XORB_SOPT_TEXT, 0, 0, "URL", "endpoint of a non-AWS server (https://host:port)", { "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL" } },
	{ "s3-region", XORB_SOPT_TEXT, 0, 0, "NAME", "region (default AWS_REGION or us-east-1)",
	  { "AWS_REGION", "AWS_DEFAULT_REGION" } },
	{ "s3-path-style", XORB_SOPT_FLAG, 0, 0, NULL, "path-style URLs (most self-hosted servers)",
	  { NULL, NULL } },
	{ "s3-insecure", XORB_SOPT_FLAG, 0, 0, NULL, "do NOT verify the server's TLS certificate", { NULL, NULL } },
	{ "s3-part-size", XORB_SOPT_SIZE, (int64_t)S3_MIN_PART, (int64_t)S3_MAX_PART, "N",
	  "multipart part size (default 5M, the S3 minimum)", { NULL, NULL } },
	{ "s3-concurrency", XORB_SOPT_COUNT, 1, 64, "N", "parts in flight (default 3)", { NULL, NULL } },
	{ "s3-retries", XORB_SOPT_COUNT, 1, 100, "N", "attempts per request (default 5)", { NULL, NULL } },
	{ NULL, 0, 0, 0, NULL, NULL, { NULL, NULL } },
};

/* A number parameter: decimal digits (the commands applied any suffix and
 * checked the range), checked again here against [min, max]. */
static int int_param(struct s3ctx *x, const struct xorb_param *p, const char *key, int64_t dflt,
		     int64_t min, int64_t max, int64_t *out)
{
	const char *v = param(p, key);
	int64_t n = dflt;

	if (v) {
		char *end;

		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno || end == v || *end)
			n = -1;
	}
	if (n < min || n > max)
		return fail(x, XORB_EINVAL, "%s \"%s\" is out of range (%lld to %lld)", key, v ? v : "",
			    (long long)min, (long long)max);
	*out = n;
	return XORB_OK;
}

static int valid_bucket(const char *b, size_t n)
{
	size_t i;

	if (n < 3 || n > 255)
		return 0;
	for (i = 0; i < n; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= 'A' && b[i] <= 'Z') ||
		      (b[i] >= '0' && b[i] <= '9') || b[i] == '.' || b[i] == '-' || b[i] == '_'))
			return 0;
	return 1;
}

static int parse_url(struct s3ctx *x, const char *url)
{
	struct s3_conf *c = &x->conf;
	const char *b, *slash;
	size_t bl, pl;

	if (strncmp(url, "s3://", 5))
		return fail(x, XORB_EINVAL, "not an s3:// URL");
	b = url + 5;
	slash = strchr(b, '/');
	bl = slash ? (size_t)(slash - b) : strlen(b);
	if (!valid_bucket(b, bl))
		return fail(x, XORB_EINVAL,
			    "\"%.*s\" is not a valid bucket name (3 to 63 letters, digits, '.' and '-'): write s3://BUCKET/PREFIX",
			    (int)bl, b);
	c->bucket = strndup(b, bl);
	pl = slash ? strlen(slash + 1) : 0;
	if (pl >= KEY_MAX)
		return fail(x, XORB_EINVAL, "the prefix of the store URL is too long");
	/* keys go under "prefix/" */
	c->prefix = malloc(pl + 2);
	if (!c->bucket || !c->prefix)
		return fail(x, XORB_ENOMEM, "out of memory");
	snprintf(c->prefix, pl + 2, "%s%s", pl ? slash + 1 : "", pl && slash[pl] != '/' ? "/" : "");
	if (s3_key_dot_segment(c->prefix))
		return fail(x, XORB_EINVAL,
			    "the prefix \"%s\" of the store URL has a \".\" or \"..\" path segment, which HTTP clients, proxies "
			    "and servers remove from URLs: write the prefix without them",
			    c->prefix);
	return XORB_OK;
}

/* True for an IP address or localhost: such endpoints take path-style URLs. */
static int host_is_address(const char *h, size_t n)
{
	size_t i, dots = 0;

	if (n && h[0] == '[')
		return 1;
	if (n == 9 && !strncasecmp(h, "localhost", 9))
		return 1;
	for (i = 0; i < n; i++) {
		if (h[i] == '.')
			dots++;
		else if (h[i] < '0' || h[i] > '9')
			return 0;
	}
	return dots == 3;
}

static int settings(struct s3ctx *x, const struct xorb_param *p)
{
	struct s3_conf *c = &x->conf;
	const char *region, *ep, *key, *secret, *token, *ca, *host, *hend, *colon;
	char buf[1024];
	int64_t n;
	int rc;
	size_t hl;

	region = param(p, "s3-region");
	if (!region)
		region = env("AWS_REGION");
	if (!region)
		region = env("AWS_DEFAULT_REGION");
	if (!region)
		region = "us-east-1";
	key = env("AWS_ACCESS_KEY_ID");
	secret = env("AWS_SECRET_ACCESS_KEY");
	if (!key || !secret)
		return fail(x, XORB_EAUTH, "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
	token = env("AWS_SESSION_TOKEN");
	ca = env("AWS_CA_BUNDLE");
	c->region = strdup(region);
	c->access_key = strdup(key);
	c->secret = strdup(secret);
	if (token) {
		size_t tl = strlen(token) + 32;

		c->token_hdr = malloc(tl);
		if (c->token_hdr)
			snprintf(c->token_hdr, tl, "x-amz-security-token: %s", token);
	}
	c->ca_bundle = ca ? strdup(ca) : NULL;
	snprintf(buf, sizeof(buf), "aws:amz:%s:s3", region);
	c->sigv4 = strdup(buf);
	if (!c->region || !c->access_key || !c->secret || (token && !c->token_hdr) || (ca && !c->ca_bundle) ||
	    !c->sigv4)
		return fail(x, XORB_ENOMEM, "out of memory");
	c->insecure = truthy(param(p, "s3-insecure"));

	if ((rc = int_param(x, p, "s3-part-size", (int64_t)DEFAULT_PART_SIZE, (int64_t)S3_MIN_PART,
			    (int64_t)S3_MAX_PART, &n)))
		return rc;
	c->part_size = (size_t)n;
	if ((rc = int_param(x, p, "s3-concurrency", DEFAULT_CONCURRENCY, 1, 64, &n)))
		return rc;
	c->concurrency = (int)n;
	if ((rc = int_param(x, p, "s3-retries", DEFAULT_RETRIES, 1, 100, &n)))
		return rc;
	c->retries = (int)n;

	ep = param(p, "s3-endpoint");
	if (!ep)
		ep = env("AWS_ENDPOINT_URL_S3");
	if (!ep)
		ep = env("AWS_ENDPOINT_URL");
	if (ep) {
		size_t el = strlen(ep);

		while (el && ep[el - 1] == '/')
			el--;
		if (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8))
			return fail(x, XORB_EINVAL, "the S3 endpoint \"%s\" must start with http:// or https://",
				    xorb_url_shown(ep, true));
		c->endpoint = strndup(ep, el);
	} else {
		snprintf(buf, sizeof(buf), "https://s3.%s.amazonaws.com", region);
		c->endpoint = strdup(buf);
	}
	if (!c->endpoint)
		return fail(x, XORB_ENOMEM, "out of memory");
	host = strstr(c->endpoint, "://") + 3;
	hend = host + strcspn(host, "/");
	hl = (size_t)(hend - host);
	colon = host[0] == '[' ? NULL : memchr(host, ':', hl);
	c->path_style = truthy(param(p, "s3-path-style")) ||
			host_is_address(host, colon ? (size_t)(colon - host) : hl) ||
			/* a dotted bucket breaks the TLS wildcard of virtual hosts */
			(strchr(c->bucket, '.') && !strncmp(c->endpoint, "https://", 8));
	if (c->path_style)
		snprintf(buf, sizeof(buf), "%s/%s", c->endpoint, c->bucket);
	else
		snprintf(buf, sizeof(buf), "%.*s%s.%s", (int)(host - c->endpoint), c->endpoint, c->bucket, host);
	c->bucket_url = strdup(buf);
	return c->bucket_url ? XORB_OK : fail(x, XORB_ENOMEM, "out of memory");
}

/* Store prefix + key, checked. Returns a malloc'd string or NULL (x->err). */
static char *full_key(struct s3ctx *x, const char *key, int *rc)
{
	size_t n;
	char *f;

	if (!key || !*key || *key == '/') {
		*rc = fail(x, XORB_EINVAL, "invalid key \"%s\"", key ? key : "");
		return NULL;
	}
	n = strlen(x->conf.prefix) + strlen(key);
	if (s3_key_dot_segment(key) || s3_key_dot_segment(x->conf.prefix)) {
		*rc = fail(x, XORB_EINVAL,
			   "key \"%s%s\" has a \".\" or \"..\" path segment: HTTP clients, proxies and servers remove those from "
			   "URLs, so the request could reach another object; such keys are not supported (rename the object with another S3 tool)",
			   x->conf.prefix, key);
		return NULL;
	}
	if (n > KEY_MAX) {
		*rc = fail(x, XORB_EINVAL, "key \"%s%s\" is longer than S3's %d bytes", x->conf.prefix, key, KEY_MAX);
		return NULL;
	}
	f = malloc(n + 1);
	if (!f) {
		*rc = fail(x, XORB_ENOMEM, "out of memory");
		return NULL;
	}
	snprintf(f, n + 1, "%s%s", x->conf.prefix, key);
	return f;
}

/* Runs a request on the shared handle. */
static int run_shared(struct s3ctx *x, struct s3_req *r, int attempts)
{
	char err[S3_ERR_MAX];
	int rc;

	pthread_mutex_lock(&x->mu);
	rc = s3_req_run(&x->conf, x->easy, r, attempts, err, sizeof(err));
	pthread_mutex_unlock(&x->mu);
	if (rc)
		fail(x, rc, "%s", err);
	return rc;
}

/* A one-key listing: proves endpoint, credentials, region and bucket. */
static int check_bucket(struct s3ctx *x)
{
	struct s3_qparam q[] = { { "list-type", "2" }, { "max-keys", "1" }, { "prefix", x->conf.prefix } };
	struct s3_req r;
	char *query = s3_query(q, 3);
	int rc;

	s3_req_init(&r, "ListObjectsV2", "GET", NULL);
	if (!query || s3_req_url(&r, &x->conf, NULL, query))
		rc = fail(x, XORB_ENOMEM, "out of memory");
	else
		rc = run_shared(x, &r, x->conf.retries);
	free(query);
	s3_req_release(&r);
	return rc;
}

static int s_open(void **ctx, const char *url, const struct xorb_param *params)
{
	struct s3ctx *x = calloc(1, sizeof(*x));
	int rc;

	*ctx = x;
	if (!x)
		return XORB_ENOMEM;
	pthread_mutex_init(&x->mu, NULL);
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc)
		return fail(x, XORB_ESTORE, "cannot initialise libcurl: %s", curl_easy_strerror(curl_init_rc));
	rc = parse_url(x, url);
	if (!rc)
		rc = settings(x, params);
	if (rc)
		return rc;
	x->easy = curl_easy_init();
	if (!x->easy)
		return fail(x, XORB_ENOMEM, "out of memory");
	return check_bucket(x);
}

static void s_close(void *ctx)
{
	struct s3ctx *x = ctx;

	if (!x)
		return;
	if (x->easy)
		curl_easy_cleanup(x->easy);
	s3_conf_release(&x->conf);
	pthread_mutex_destroy(&x->mu);
	free(x);
}

static const char *s_last_error(void *ctx)
{
	return ((struct s3ctx *)ctx)->err;
}

/* ---- put --------------------------------------------------------------- */

enum slot_state { SLOT_FREE, SLOT_FILLING, SLOT_QUEUED, SLOT_RUNNING };

/* One part buffer and the request that sends it. */
struct slot {
	unsigned char *buf;
	size_t len, cap;
	EVP_MD_CTX *md5; /* over buf as it fills */
	struct xorb_sha256 *sha;
	char md5_hex[2 * MD5_LEN + 1];
	int part;
	int attempts;
	int64_t not_before; /* a retry waits for its backoff */
	enum slot_state state;
	CURL *easy;
	struct s3_req req;
};

struct s3writer {
	struct s3ctx *x;
	char *key;  /* store prefix + key */
	CURL *ctl;  /* create, complete, abort, single put: caller's thread */
	struct slot *slots;
	int nslots; /* concurrency + 1 */
	struct slot *fill; /* being filled by put_write; caller's thread only */
	char *upload_id;
	int parts;  /* parts handed to the upload thread */
	unsigned char (*md5s)[MD5_LEN]; /* by part number - 1 */
	size_t md5s_cap;

	/* shared with the upload thread, under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int thread_started;
	CURLM *multi;
	int stop;   /* 1: leave when idle, 2: cancel now */
	int failed; /* sticky status of a failed part */
	char werr[S3_ERR_MAX];
};

static int wfail(struct s3writer *w, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int wfail(struct s3writer *w, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->x->err, sizeof(w->x->err), fmt, ap);
	va_end(ap);
	return code;
}

static int s_put_begin(void *ctx, const char *key, void **out)
{
	struct s3ctx *x = ctx;
	struct s3writer *w;
	int rc = XORB_OK;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return fail(x, XORB_ENOMEM, "out of memory");
	w->x = x;
	w->key = full_key(x, key, &rc);
	if (!w->key) {
		free(w);
		return rc;
	}
	w->nslots = x->conf.concurrency + 1;
	w->slots = calloc((size_t)w->nslots, sizeof(*w->slots));
	w->ctl = curl_easy_init();
	if (!w->slots || !w->ctl) {
		curl_easy_cleanup(w->ctl);
		free(w->slots);
		free(w->key);
		free(w);
		return fail(x, XORB_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	*out = w;
	return XORB_OK;
}

/* ---- the upload thread ---- */

static void part_done(struct s3writer *w, struct slot *s, CURLcode cc)
{
	const struct s3_conf *c = &w->x->conf;
	enum s3_outcome o = s3_req_outcome(&s->req, cc);
	char err[S3_ERR_MAX];
	int code;

	curl_multi_remove_handle(w->multi, s->easy);
	s->attempts++;
	/* the ETag of a part is its MD5 (not under SSE-KMS, where Content-MD5
	 * has already been checked by the server) */
	if (o == S3_DONE && strcasecmp(s->req.etag, s->md5_hex) && strncmp(s->req.sse, "aws:kms", 7)) {
		if (s->attempts < c->retries) {
			o = S3_RETRY;
		} else {
			pthread_mutex_lock(&w->mu);
			if (!w->failed) {
				w->failed = XORB_ECORRUPT;
				snprintf(w->werr, sizeof(w->werr),
					 "UploadPart %d of \"%s\": the server's ETag \"%s\" is not the part's MD5 %s",
					 s->part, w->key, s->req.etag, s->md5_hex);
			}
			s->state = SLOT_FREE;
			pthread_cond_broadcast(&w->cv);
			pthread_mutex_unlock(&w->mu);
			return;
		}
	}
	if (o == S3_DONE) {
		pthread_mutex_lock(&w->mu);
		s->state = SLOT_FREE;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		return;
	}
	if (o == S3_RETRY && s->attempts < c->retries) {
		pthread_mutex_lock(&w->mu);
		s->state = SLOT_QUEUED;
		s->not_before = s3_now_ms() + s3_backoff_ms(s->attempts);
		pthread_mutex_unlock(&w->mu);
		return;
	}
	code = s3_req_error(c, &s->req, cc, s->attempts, err, sizeof(err));
	pthread_mutex_lock(&w->mu);
	if (!w->failed) {
		w->failed = code;
		snprintf(w->werr, sizeof(w->werr), "%s", err);
	}
	s->state = SLOT_FREE;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Drops every queued and running part (after a failure or on cancel). */
static void cancel_parts(struct s3writer *w)
{
	int i;

	for (i = 0; i < w->nslots; i++) {
		struct slot *s = &w->slots[i];

		if (s->state == SLOT_RUNNING)
			curl_multi_remove_handle(w->multi, s->easy);
		if (s->state == SLOT_RUNNING || s->state == SLOT_QUEUED)
			s->state = SLOT_FREE;
	}
	pthread_cond_broadcast(&w->cv);
}

static void *uploader(void *arg)
{
	struct s3writer *w = arg;
	const struct s3_conf *c = &w->x->conf;
	sigset_t set;

	/* a peer closing mid-write must not kill the process */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	pthread_mutex_lock(&w->mu);
	for (;;) {
		int64_t now = s3_now_ms();
		int i, running = 0, busy = 0, timeout = 1000, still;
		CURLMsg *m;

		if (w->stop == 2 || w->failed) {
			cancel_parts(w);
			if (w->stop)
				break;
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		for (i = 0; i < w->nslots; i++)
			running += w->slots[i].state == SLOT_RUNNING;
		for (i = 0; i < w->nslots; i++) {
			struct slot *s = &w->slots[i];

			if (s->state != SLOT_QUEUED)
				continue;
			busy = 1;
			if (s->not_before > now) {
				if (s->not_before - now < timeout)
					timeout = (int)(s->not_before - now);
				continue;
			}
			if (running >= c->concurrency)
				continue;
			if (s3_req_setup(c, s->easy, &s->req) || curl_multi_add_handle(w->multi, s->easy)) {
				w->failed = XORB_ENOMEM;
				snprintf(w->werr, sizeof(w->werr), "UploadPart %d of \"%s\": out of memory", s->part, w->key);
				break;
			}
			curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
			s->state = SLOT_RUNNING;
			running++;
		}
		if (w->failed)
			continue;
		busy |= running > 0;
		if (!busy && w->stop == 1)
			break;
		pthread_mutex_unlock(&w->mu);

		curl_multi_perform(w->multi, &still);
		while ((m = curl_multi_info_read(w->multi, &still))) {
			struct slot *s = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
			if (s)
				part_done(w, s, m->data.result);
		}
		curl_multi_poll(w->multi, NULL, 0, timeout, NULL);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static int start_thread(struct s3writer *w)
{
	int i;

	w->multi = curl_multi_init();
	if (!w->multi)
		return wfail(w, XORB_ENOMEM, "out of memory");
	for (i = 0; i < w->nslots; i++)
		if (!(w->slots[i].easy = curl_easy_init()))
			return wfail(w, XORB_ENOMEM, "out of memory");
	if (pthread_create(&w->thread, NULL, uploader, w))
		return wfail(w, XORB_ENOMEM, "cannot start the upload thread");
	w->thread_started = 1;
	return XORB_OK;
}

/* how: 1 waits until every part is sent, 2 cancels. */
static void stop_thread(struct s3writer *w, int how)
{
	if (!w->thread_started)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = how;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	curl_multi_wakeup(w->multi);
	pthread_join(w->thread, NULL);
	w->thread_started = 0;
}

/* ---- the caller's side ---- */

/* The sticky failure of the upload thread, as this call's result. */
static int thread_failure(struct s3writer *w)
{
	int rc;

	pthread_mutex_lock(&w->mu);
	rc = w->failed;
	if (rc)
		snprintf(w->x->err, sizeof(w->x->err), "%s", w->werr);
	pthread_mutex_unlock(&w->mu);
	return rc;
}

static int take_slot(struct s3writer *w)
{
	struct slot *s = NULL;
	int i;

	pthread_mutex_lock(&w->mu);
	while (!w->failed) {
		for (i = 0; i < w->nslots && !s; i++)
			if (w->slots[i].state == SLOT_FREE)
				s = &w->slots[i];
		if (s)
			break;
		pthread_cond_wait(&w->cv, &w->mu);
	}
	if (s)
		s->state = SLOT_FILLING;
	pthread_mutex_unlock(&w->mu);
	if (!s)
		return thread_failure(w);
	if (!s->md5) {
		s->md5 = EVP_MD_CTX_new();
		s->sha = xorb_sha256_new();
		if (!s->md5 || !s->sha || !EVP_DigestInit_ex(s->md5, EVP_md5(), NULL)) {
			s->state = SLOT_FREE;
			return wfail(w, XORB_ENOMEM, "cannot set up MD5/SHA-256 hashing");
		}
	}
	s->len = 0;
	w->fill = s;
	return XORB_OK;
}

/* Finishes the hashes of s into md5_hex/md5_b64/sha256 and resets them. */
static void slot_digest(struct slot *s, unsigned char md5[MD5_LEN])
{
	unsigned int n = 0;

	EVP_DigestFinal_ex(s->md5, md5, &n);
	EVP_DigestInit_ex(s->md5, EVP_md5(), NULL);
	s3_hex(md5, MD5_LEN, s->md5_hex);
	s3_base64(md5, MD5_LEN, s->req.md5_b64);
	xorb_sha256_final_hex(s->sha, s->req.sha256);
}

static int create_upload(struct s3writer *w)
{
	struct s3_qparam q[] = { { "uploads", "" } };
	char *query = s3_query(q, 1), err[S3_ERR_MAX], why[S3_ERR_MAX];
	struct s3_req r;
	int rc;

	s3_req_init(&r, "CreateMultipartUpload", "POST", w->key);
	r.content_type = "application/octet-stream"; /* the object's type */
	if (!query || s3_req_url(&r, &w->x->conf, w->key, query)) {
		rc = wfail(w, XORB_ENOMEM, "out of memory");
		goto out;
	}
	rc = s3_req_run(&w->x->conf, w->ctl, &r, w->x->conf.retries, err, sizeof(err));
	if (rc) {
		wfail(w, rc, "%s", err);
		goto out;
	}
	if (r.resp_cut) {
		rc = wfail(w, XORB_ESTORE, "CreateMultipartUpload of \"%s\": the S3 server's answer is larger than %zu MiB",
			   w->key, r.resp_max >> 20);
		goto out;
	}
	rc = s3_xml_read_initiate(r.resp.data, r.resp.len, &w->upload_id, why, sizeof(why));
	if (rc)
		bad_answer(w->x, rc, why, "CreateMultipartUpload of \"%s\" (HTTP %ld)", w->key, r.status);
out:
	free(query);
	s3_req_release(&r);
	return rc;
}

/* Hands the filled slot to the upload thread as the next part. */
static int submit(struct s3writer *w)
{
	const struct s3_conf *c = &w->x->conf;
	struct slot *s = w->fill;
	struct s3_qparam q[2];
	char num[16], *query;
	int rc;

	if (!w->upload_id) {
		rc = create_upload(w);
		if (!rc)
			rc = start_thread(w);
		if (rc)
			return rc;
	}
	if (w->parts >= S3_MAX_PARTS)
		return wfail(w, XORB_EUNSUPPORTED,
			     "\"%s\" needs more than %d parts of %zu MiB: raise --s3-part-size (at most 5G)",
			     w->key, S3_MAX_PARTS, c->part_size >> 20);
	if ((size_t)w->parts >= w->md5s_cap) {
		size_t cap = w->md5s_cap ? w->md5s_cap * 2 : 64;
		void *p = realloc(w->md5s, cap * MD5_LEN);

		if (!p)
			return wfail(w, XORB_ENOMEM, "out of memory");
		w->md5s = p;
		w->md5s_cap = cap;
	}
	s->part = ++w->parts;
	s3_req_release(&s->req);
	s3_req_init(&s->req, "UploadPart", "PUT", w->key);
	s->req.part = s->part;
	s->req.body = s->buf;
	s->req.body_len = s->len;
	slot_digest(s, w->md5s[s->part - 1]);
	snprintf(num, sizeof(num), "%d", s->part);
	q[0] = (struct s3_qparam){ "partNumber", num };
	q[1] = (struct s3_qparam){ "uploadId", w->upload_id };
	query = s3_query(q, 2);
	if (!query || s3_req_url(&s->req, c, w->key, query)) {
		free(query);
		return wfail(w, XORB_ENOMEM, "out of memory");
	}
	free(query);
	w->fill = NULL;
	pthread_mutex_lock(&w->mu);
	s->attempts = 0;
	s->not_before = 0;
	s->state = SLOT_QUEUED;
	pthread_mutex_unlock(&w->mu);
	curl_multi_wakeup(w->multi);
	return XORB_OK;
}

static int grow(struct s3writer *w, struct slot *s, size_t need)
{
	size_t cap = s->cap ? s->cap : 64 * 1024;
	unsigned char *p;

	if (need <= s->cap)
		return XORB_OK;
	while (cap < need)
		cap *= 2;
	if (cap > w->x->conf.part_size)
		cap = w->x->conf.part_size;
	p = realloc(s->buf, cap);
	if (!p)
		return wfail(w, XORB_ENOMEM, "out of memory for a %zu MiB part buffer", cap >> 20);
	s->buf = p;
	s->cap = cap;
	return XORB_OK;
}

static int s_put_write(void *wp, const void *data, size_t len)
{
	struct s3writer *w = wp;
	const unsigned char *p = data;
	size_t part = w->x->conf.part_size;
	int rc = thread_failure(w);

	while (!rc && len) {
		struct slot *s;
		size_t n;

		/* a full part goes out only once more data follows: an object of
		 * exactly one part stays a single PutObject */
		if (w->fill && w->fill->len == part && (rc = submit(w)))
			break;
		if (!w->fill && (rc = take_slot(w)))
			break;
		s = w->fill;
		n = part - s->len < len ? part - s->len : len;
		if ((rc = grow(w, s, s->len + n)))
			break;
		memcpy(s->buf + s->len, p, n);
		EVP_DigestUpdate(s->md5, p, n);
		xorb_sha256_update(s->sha, p, n);
		s->len += n;
		p += n;
		len -= n;
	}
	return rc;
}

/* Waits until every submitted part is stored (or one failed). */
static int wait_parts(struct s3writer *w)
{
	int i, busy;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		busy = 0;
		for (i = 0; i < w->nslots; i++)
			busy |= w->slots[i].state == SLOT_QUEUED || w->slots[i].state == SLOT_RUNNING;
		if (!busy || w->failed)
			break;
		pthread_cond_wait(&w->cv, &w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return thread_failure(w);
}

/* The ETag S3 gives a multipart object: md5 of the parts' MD5s, "-N". */
static void multipart_etag(struct s3writer *w, char *out, size_t len)
{
	unsigned char md5[MD5_LEN];
	unsigned int n = 0;
	char hex[2 * MD5_LEN + 1];

	EVP_Digest(w->md5s, (size_t)w->parts * MD5_LEN, md5, &n, EVP_md5(), NULL);
	s3_hex(md5, MD5_LEN, hex);
	snprintf(out, len, "%s-%d", hex, w->parts);
}

static int etag_equal(const char *got, const char *want)
{
	size_t n = strlen(got);

	if (n >= 2 && got[0] == '"' && got[n - 1] == '"')
		return strlen(want) == n - 2 && !strncasecmp(got + 1, want, n - 2);
	return !strcasecmp(got, want);
}

/* After a lost answer the retried Complete finds no upload: the object is
 * there when its ETag is the one the parts make. */
static int completed_already(struct s3writer *w, const char *want)
{
	struct s3_req r;
	char err[S3_ERR_MAX];
	int ok;

	s3_req_init(&r, "HeadObject", "HEAD", w->key);
	ok = !s3_req_url(&r, &w->x->conf, w->key, NULL) &&
	     !s3_req_run(&w->x->conf, w->ctl, &r, w->x->conf.retries, err, sizeof(err)) &&
	     etag_equal(r.etag, want);
	s3_req_release(&r);
	return ok;
}

static int complete_upload(struct s3writer *w)
{
	const struct s3_conf *c = &w->x->conf;
	struct s3_qparam q[] = { { "uploadId", w->upload_id } };
	char *query = s3_query(q, 1), err[S3_ERR_MAX], why[S3_ERR_MAX], want[64];
	struct s3_xml_complete done = { 0 };
	struct xorb_buf body;
	struct s3_req r;
	int i, a, rc = XORB_OK;

	multipart_etag(w, want, sizeof(want));
	xorb_buf_init(&body);
	s3_req_init(&r, "CompleteMultipartUpload", "POST", w->key);
	r.content_type = "application/xml";
	if (!query || s3_req_url(&r, c, w->key, query) || xorb_buf_puts(&body, "<CompleteMultipartUpload>")) {
		rc = wfail(w, XORB_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < w->parts; i++) {
		char hex[2 * MD5_LEN + 1];

		s3_hex(w->md5s[i], MD5_LEN, hex);
		if (xorb_buf_printf(&body, "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>", i + 1, hex)) {
			rc = wfail(w, XORB_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (xorb_buf_puts(&body, "</CompleteMultipartUpload>")) {
		rc = wfail(w, XORB_ENOMEM, "out of memory");
		goto out;
	}
	r.body = (const unsigned char *)body.data;
	r.body_len = body.len;
	for (a = 1;; a++) {
		enum s3_outcome o;
		CURLcode cc;

		if (s3_req_setup(c, w->ctl, &r)) {
			rc = wfail(w, XORB_ENOMEM, "out of memory");
			goto out;
		}
		cc = curl_easy_perform(w->ctl);
		o = s3_req_outcome(&r, cc);
		if (o == S3_DONE && r.resp_cut) {
			rc = wfail(w, XORB_ESTORE, "CompleteMultipartUpload of \"%s\": the S3 server's answer is larger than %zu MiB",
				   w->key, r.resp_max >> 20);
			goto out;
		}
		if (o == S3_DONE) {
			rc = s3_xml_read_complete(r.resp.data, r.resp.len, &done, why, sizeof(why));
			if (rc) {
				bad_answer(w->x, rc, why, "CompleteMultipartUpload of \"%s\" (HTTP %ld)", w->key, r.status);
				goto out;
			}
		}
		/* S3 may answer 200 and put the failure in the body */
		if (o == S3_DONE && done.failed) {
			o = !strcmp(done.error.code, "InternalError") || !strcmp(done.error.code, "SlowDown") ? S3_RETRY
													   : S3_FAILED;
			if (o == S3_FAILED || a >= c->retries) {
				rc = wfail(w, XORB_ESTORE, "CompleteMultipartUpload of \"%s\": HTTP 200 with error %s: %s%s",
					   w->key, done.error.code, done.error.message, a > 1 ? " (after retries)" : "");
				goto out;
			}
		}
		if (o == S3_DONE)
			break;
		if (a > 1 && r.status == 404 && completed_already(w, want))
			goto out; /* the first attempt went through */
		if (o == S3_FAILED || a >= c->retries) {
			rc = s3_req_error(c, &r, cc, a, err, sizeof(err));
			wfail(w, rc, "%s", err);
			goto out;
		}
		s3_sleep_ms(s3_backoff_ms(a));
	}
	/* the server assembled other parts than we sent: do not keep it */
	if (strchr(done.etag, '-') && !etag_equal(done.etag, want)) {
		struct s3_req d;

		rc = wfail(w, XORB_ECORRUPT,
			   "CompleteMultipartUpload of \"%s\": the object's ETag %s is not %s, made from the parts sent; it was removed",
			   w->key, done.etag, want);
		s3_req_init(&d, "DeleteObject", "DELETE", w->key);
		if (!s3_req_url(&d, c, w->key, NULL))
			s3_req_run(c, w->ctl, &d, c->retries, err, sizeof(err));
		s3_req_release(&d);
	}
out:
	free(query);
	xorb_buf_release(&body);
	s3_req_release(&r);
	return rc;
}

/* AbortMultipartUpload of upload_id on full_key (store prefix + key) on
 * handle e, with more patience than other requests (ABORT_MIN_ATTEMPTS). An
 * upload that is gone already (404 NoSuchUpload: aborted elsewhere, by a
 * lifecycle rule, or a retried abort whose first answer was lost) counts as
 * aborted. The message of a failure goes to err. */
static int abort_multipart(const struct s3_conf *c, CURL *e, const char *full_key, const char *upload_id,
			   char *err, size_t errlen)
{
	struct s3_qparam q[] = { { "uploadId", upload_id } };
	char *query = s3_query(q, 1);
	struct s3_xml_error answer;
	struct s3_req r;
	int rc;

	s3_req_init(&r, "AbortMultipartUpload", "DELETE", full_key);
	if (!query || s3_req_url(&r, c, full_key, query)) {
		snprintf(err, errlen, "out of memory");
		rc = XORB_ENOMEM;
	} else {
		rc = s3_req_run(c, e, &r, c->retries > ABORT_MIN_ATTEMPTS ? c->retries : ABORT_MIN_ATTEMPTS, err,
				errlen);
		if (rc && r.status == 404 && s3_xml_read_error(r.resp.data, r.resp.len, &answer) &&
		    !strcmp(answer.code, "NoSuchUpload"))
			rc = XORB_OK;
	}
	free(query);
	s3_req_release(&r);
	return rc;
}

/* Aborts the writer's multipart upload; on failure appends how to clean up by
 * hand. */
static void abort_upload(struct s3writer *w)
{
	const struct s3_conf *c = &w->x->conf;
	char err[S3_ERR_MAX];

	if (!w->upload_id)
		return;
	if (abort_multipart(c, w->ctl, w->key, w->upload_id, err, sizeof(err))) {
		size_t n = strlen(w->x->err);

		snprintf(w->x->err + n, sizeof(w->x->err) - n,
			 "; the incomplete upload could not be aborted either (%s): run aws s3api abort-multipart-upload --bucket %s --key '%s' --upload-id '%s'",
			 err, c->bucket, w->key, w->upload_id);
	}
}

static int put_single(struct s3writer *w)
{
	const struct s3_conf *c = &w->x->conf;
	struct slot *s = w->fill;
	unsigned char md5[MD5_LEN];
	char err[S3_ERR_MAX];
	struct s3_req r;
	int rc;

	if (!s && (rc = take_slot(w)))
		return rc;
	s = w->fill;
	s3_req_init(&r, "PutObject", "PUT", w->key);
	r.content_type = "application/octet-stream";
	r.body = s->buf;
	r.body_len = s->len;
	slot_digest(s, md5);
	memcpy(r.md5_b64, s->req.md5_b64, sizeof(r.md5_b64));
	memcpy(r.sha256, s->req.sha256, sizeof(r.sha256));
	if (s3_req_url(&r, c, w->key, NULL)) {
		rc = wfail(w, XORB_ENOMEM, "out of memory");
	} else {
		rc = s3_req_run(c, w->ctl, &r, c->retries, err, sizeof(err));
		if (rc)
			wfail(w, rc, "%s", err);
		else if (!etag_equal(r.etag, s->md5_hex) && strncmp(r.sse, "aws:kms", 7))
			rc = wfail(w, XORB_ECORRUPT, "PutObject of \"%s\": the server's ETag \"%s\" is not the MD5 %s",
				   w->key, r.etag, s->md5_hex);
	}
	s3_req_release(&r);
	return rc;
}

static void writer_free(struct s3writer *w)
{
	int i;

	stop_thread(w, 2);
	for (i = 0; i < w->nslots; i++) {
		struct slot *s = &w->slots[i];

		if (s->easy)
			curl_easy_cleanup(s->easy);
		s3_req_release(&s->req);
		EVP_MD_CTX_free(s->md5);
		xorb_sha256_free(s->sha);
		free(s->buf);
	}
	if (w->multi)
		curl_multi_cleanup(w->multi);
	curl_easy_cleanup(w->ctl);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w->slots);
	free(w->md5s);
	free(w->upload_id);
	free(w->key);
	free(w);
}

static int s_put_commit(void *wp)
{
	struct s3writer *w = wp;
	int rc = thread_failure(w);

	if (!rc && !w->upload_id) {
		rc = put_single(w);
	} else if (!rc) {
		if (w->fill && w->fill->len)
			rc = submit(w);
		if (!rc)
			rc = wait_parts(w);
		stop_thread(w, rc ? 2 : 1);
		if (!rc)
			rc = complete_upload(w);
	}
	if (rc) {
		stop_thread(w, 2);
		abort_upload(w);
	}
	writer_free(w);
	return rc;
}

static void s_put_abort(void *wp)
{
	struct s3writer *w = wp;

	if (!w)
		return;
	stop_thread(w, 2);
	w->x->err[0] = '\0';
	abort_upload(w);
	writer_free(w);
}

/* ---- get --------------------------------------------------------------- */

struct s3reader {
	struct s3ctx *x;
	char *key; /* store prefix + key */
	CURL *easy;
	CURLM *multi;
	struct s3_req req;
	struct xorb_buf pend; /* received, not yet read */
	size_t pos;
	uint64_t got;	      /* bytes of the object received */
	uint64_t attempt_from; /* got when this attempt started */
	uint64_t discard;     /* bytes to drop: a server that ignored Range */
	int64_t total;	      /* object size; -1 unknown */
	char etag[136];
	int attempts;	      /* failures since the last progress */
	int running, paused, started, eof;
	int failed;
	char err[S3_ERR_MAX];
};

static int rfail(struct s3reader *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int rfail(struct s3reader *r, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	r->failed = code;
	return code;
}

/* Checks a 2xx answer's headers against what was asked for. */
static int check_answer(struct s3reader *r)
{
	struct s3_req *q = &r->req;
	unsigned long long from = 0, to = 0, total = 0;

	r->started = 1;
	if (q->status == 200) {
		if (r->got && r->etag[0] && strcmp(q->etag, r->etag))
			return rfail(r, XORB_ESTORE, "GetObject of \"%s\": the object changed while it was being read",
				     r->key);
		if (r->got)
			r->discard = r->got; /* Range ignored: skip what we have */
		if (q->content_length >= 0)
			r->total = q->content_length;
		snprintf(r->etag, sizeof(r->etag), "%s", q->etag);
		return XORB_OK;
	}
	if (q->status == 206 && r->got &&
	    sscanf(q->content_range, "bytes %llu-%llu/%llu", &from, &to, &total) == 3 && from == r->got &&
	    (r->total < 0 || total == (unsigned long long)r->total))
		return XORB_OK;
	return rfail(r, XORB_ESTORE,
		     "GetObject of \"%s\": the resumed download does not line up (HTTP %ld, Content-Range \"%s\", expected from byte %llu)",
		     r->key, q->status, q->content_range, (unsigned long long)r->got);
}

static size_t get_sink(void *arg, const char *data, size_t len)
{
	struct s3reader *r = arg;
	size_t skip;

	if (!r->started && check_answer(r))
		return 0; /* curl ends the transfer with a write error */
	if (r->pend.len - r->pos >= GET_PENDING_MAX) {
		r->paused = 1;
		return CURL_WRITEFUNC_PAUSE;
	}
	skip = r->discard < len ? (size_t)r->discard : len;
	r->discard -= skip;
	if (xorb_buf_append(&r->pend, data + skip, len - skip)) {
		rfail(r, XORB_ENOMEM, "out of memory");
		return 0;
	}
	r->got += len - skip;
	return len;
}

static int start_attempt(struct s3reader *r)
{
	r->req.range[0] = r->req.if_match[0] = '\0';
	if (r->got) {
		snprintf(r->req.range, sizeof(r->req.range), "bytes=%llu-", (unsigned long long)r->got);
		snprintf(r->req.if_match, sizeof(r->req.if_match), "%s", r->etag);
	}
	r->req.sink = get_sink;
	r->req.sink_arg = r;
	r->started = r->paused = 0;
	r->discard = 0;
	r->attempt_from = r->got;
	if (s3_req_setup(&r->x->conf, r->easy, &r->req) || curl_multi_add_handle(r->multi, r->easy))
		return rfail(r, XORB_ENOMEM, "out of memory");
	r->running = 1;
	return XORB_OK;
}

/* A finished attempt: the end, a resume, or the failure. */
static void attempt_done(struct s3reader *r, CURLcode cc)
{
	const struct s3_conf *c = &r->x->conf;
	enum s3_outcome o;
	char err[S3_ERR_MAX];
	int code;

	curl_multi_remove_handle(r->multi, r->easy);
	r->running = 0;
	if (r->failed)
		return; /* the sink refused the answer */
	o = s3_req_outcome(&r->req, cc);
	if (o == S3_DONE) {
		if (!r->started && check_answer(r))
			return;
		if (r->total < 0 || r->got == (uint64_t)r->total) {
			r->eof = 1;
			return;
		}
		if (r->got > (uint64_t)r->total) {
			rfail(r, XORB_ECORRUPT, "GetObject of \"%s\": received %llu bytes of a %lld-byte object",
			      r->key, (unsigned long long)r->got, (long long)r->total);
			return;
		}
		o = S3_RETRY; /* the body ended early */
	}
	if (r->req.status == 416 && r->total >= 0 && r->got == (uint64_t)r->total) {
		r->eof = 1;
		return;
	}
	if (r->got > r->attempt_from)
		r->attempts = 0; /* progress earns a fresh budget */
	r->attempts++;
	if (o == S3_RETRY && r->attempts < c->retries) {
		s3_sleep_ms(s3_backoff_ms(r->attempts));
		start_attempt(r);
		return;
	}
	if (cc == CURLE_OK && r->req.status >= 200 && r->req.status < 300) {
		rfail(r, XORB_ETRANSIENT, "GetObject of \"%s\": the body ended at byte %llu of %lld%s", r->key,
		      (unsigned long long)r->got, (long long)r->total,
		      r->attempts > 1 ? " (after retries)" : "");
		return;
	}
	code = s3_req_error(c, &r->req, cc, r->attempts, err, sizeof(err));
	if (r->got && r->req.status == 404)
		code = XORB_ESTORE; /* deleted while being read */
	rfail(r, code, "%s", err);
}

/* Moves the transfer on: some bytes, the end, or a failure. */
static void drive(struct s3reader *r)
{
	CURLMsg *m;
	int still;

	if (r->paused) {
		r->paused = 0;
		curl_easy_pause(r->easy, CURLPAUSE_CONT); /* may deliver at once */
	}
	curl_multi_perform(r->multi, &still);
	while ((m = curl_multi_info_read(r->multi, &still)))
		if (m->msg == CURLMSG_DONE)
			attempt_done(r, m->data.result);
	if (r->running && !r->failed && r->pend.len == r->pos && !r->paused)
		curl_multi_poll(r->multi, NULL, 0, 1000, NULL);
}

static void reader_free(struct s3reader *r)
{
	if (!r)
		return;
	if (r->running)
		curl_multi_remove_handle(r->multi, r->easy);
	if (r->easy)
		curl_easy_cleanup(r->easy);
	if (r->multi)
		curl_multi_cleanup(r->multi);
	s3_req_release(&r->req);
	xorb_buf_release(&r->pend);
	free(r->key);
	free(r);
}

static int s_get_open(void *ctx, const char *key, void **out)
{
	struct s3ctx *x = ctx;
	struct s3reader *r;
	int rc = XORB_OK;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return fail(x, XORB_ENOMEM, "out of memory");
	r->x = x;
	r->total = -1;
	xorb_buf_init(&r->pend);
	s3_req_init(&r->req, "GetObject", "GET", NULL);
	r->key = full_key(x, key, &rc);
	if (!r->key) {
		reader_free(r);
		return rc;
	}
	r->req.what = r->key;
	r->easy = curl_easy_init();
	r->multi = curl_multi_init();
	if (!r->easy || !r->multi || s3_req_url(&r->req, &x->conf, r->key, NULL)) {
		reader_free(r);
		return fail(x, XORB_ENOMEM, "out of memory");
	}
	rc = start_attempt(r);
	/* run until the answer is known, so that a missing key fails here */
	while (!rc && !r->started && !r->eof && !r->failed)
		drive(r);
	if (r->failed) {
		rc = fail(x, r->failed, "%s", r->err);
		reader_free(r);
		return rc;
	}
	*out = r;
	return XORB_OK;
}

static int s_get_read(void *rp, void *buf, size_t len, size_t *got)
{
	struct s3reader *r = rp;

	*got = 0;
	for (;;) {
		size_t avail = r->pend.len - r->pos;

		if (avail) {
			size_t n = avail < len ? avail : len;

			memcpy(buf, r->pend.data + r->pos, n);
			r->pos += n;
			if (r->pos == r->pend.len) {
				xorb_buf_reset(&r->pend);
				r->pos = 0;
			}
			*got = n;
			return XORB_OK;
		}
		if (r->failed)
			return fail(r->x, r->failed, "%s", r->err);
		if (r->eof)
			return XORB_OK;
		drive(r);
	}
}

static void s_get_close(void *rp)
{
	reader_free(rp);
}

/* ---- list, remove ------------------------------------------------------ */

static int64_t parse_time(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		   &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

/* One page of a bucket-level listing (op names it in messages): the answer
 * capped at LIST_RESP_MAX. r is initialised here; the caller releases it. */
static int run_listing(struct s3ctx *x, struct s3_req *r, const char *op, const char *query)
{
	int rc;

	s3_req_init(r, op, "GET", NULL);
	r->resp_max = LIST_RESP_MAX;
	if (!query || s3_req_url(r, &x->conf, NULL, query))
		return fail(x, XORB_ENOMEM, "out of memory");
	rc = run_shared(x, r, x->conf.retries);
	if (!rc && r->resp_cut)
		rc = fail(x, XORB_ESTORE, "%s on bucket \"%s\": the S3 server's answer is larger than %zu MiB", op,
			  x->conf.bucket, LIST_RESP_MAX >> 20);
	return rc;
}

/* What the listing callbacks need. */
struct list_cb {
	struct s3ctx *x;
	size_t plen; /* of the store prefix */
	xorb_storage_list_fn fn;
	xorb_storage_unfinished_fn ufn;
	void *arg;
	char mk[S3_XML_VALUE_MAX + 1];	/* uploads: the last entry's key and id */
	char mid[S3_XML_VALUE_MAX + 1];
};

static int on_object(void *arg, const struct s3_xml_item *it)
{
	struct list_cb *l = arg;
	struct s3ctx *x = l->x;
	struct xorb_store_obj o;

	if (!it->key || !it->key[0])
		return fail(x, XORB_ESTORE, "ListObjectsV2 on bucket \"%s\": an entry has no key", x->conf.bucket);
	if (strncmp(it->key, x->conf.prefix, l->plen) || !it->key[l->plen])
		return XORB_OK;
	o.key = it->key + l->plen;
	o.size = strtoull(it->size, NULL, 10);
	o.mtime = parse_time(it->last_modified);
	return l->fn(l->arg, &o);
}

/* Calls fn for each object of one ListObjectsV2 page; sets *next to the
 * continuation token (malloc'd) or NULL on the last page. */
static int list_page(struct s3ctx *x, const struct s3_req *r, xorb_storage_list_fn fn, void *arg, char **next)
{
	struct list_cb l = { .x = x, .plen = strlen(x->conf.prefix), .fn = fn, .arg = arg };
	struct s3_xml_page page;
	char why[S3_ERR_MAX];
	int rc;

	*next = NULL;
	rc = s3_xml_read_list(S3_XML_OBJECTS, r->resp.data, r->resp.len, on_object, &l, &page, why, sizeof(why));
	if (rc)
		return bad_answer(x, rc, why, "ListObjectsV2 on bucket \"%s\"", x->conf.bucket);
	if (!page.truncated)
		return XORB_OK;
	if (!page.next[0])
		return fail(x, XORB_ESTORE, "ListObjectsV2 on bucket \"%s\": a truncated page without a continuation token",
			    x->conf.bucket);
	*next = strdup(page.next);
	return *next ? XORB_OK : fail(x, XORB_ENOMEM, "out of memory");
}

static int s_list(void *ctx, const char *prefix, xorb_storage_list_fn fn, void *arg)
{
	struct s3ctx *x = ctx;
	char *full, *token = NULL, *query = NULL;
	int rc = XORB_OK;
	size_t n;

	n = strlen(x->conf.prefix) + strlen(prefix ? prefix : "") + 1;
	full = malloc(n);
	if (!full)
		return fail(x, XORB_ENOMEM, "out of memory");
	snprintf(full, n, "%s%s", x->conf.prefix, prefix ? prefix : "");
	do {
		struct s3_qparam q[] = { { "list-type", "2" }, { "prefix", full }, { "continuation-token", token } };
		struct s3_req r;
		char *next = NULL;

		query = s3_query(q, token ? 3 : 2);
		rc = run_listing(x, &r, "ListObjectsV2", query);
		/* callbacks run without the lock: they may use the store */
		if (!rc)
			rc = list_page(x, &r, fn, arg, &next);
		s3_req_release(&r);
		free(query);
		free(token);
		token = next;
	} while (!rc && token);
	free(token);
	free(full);
	return rc;
}

static int s_remove(void *ctx, const char *key)
{
	struct s3ctx *x = ctx;
	struct s3_req r;
	char *full;
	int rc = XORB_OK;

	full = full_key(x, key, &rc);
	if (!full)
		return rc;
	s3_req_init(&r, "DeleteObject", "DELETE", full);
	if (s3_req_url(&r, &x->conf, full, NULL))
		rc = fail(x, XORB_ENOMEM, "out of memory");
	else
		rc = run_shared(x, &r, x->conf.retries);
	s3_req_release(&r);
	free(full);
	return rc;
}

/* ---- unfinished puts: open multipart uploads ---------------------------- */

#define UPLOAD_ID_MAX 1024

/* Where the next ListMultipartUploads page starts (owned strings). */
struct upload_marker {
	char *key; /* full key; NULL: the first page */
	char *id;
};

static void marker_release(struct upload_marker *m)
{
	free(m->key);
	free(m->id);
	m->key = m->id = NULL;
}

/* The newest of when the upload began and its parts' LastModified (a backup
 * still uploading keeps this fresh; its start alone would make a long backup
 * look abandoned). ListParts, paged. *gone is set when the upload ended
 * meanwhile (404 NoSuchUpload). */
static int on_part(void *arg, const struct s3_xml_item *it)
{
	int64_t *last = arg, t = parse_time(it->last_modified);

	if (t > *last)
		*last = t;
	return XORB_OK;
}

static int upload_last_write(struct s3ctx *x, const char *full_key, const char *id, int64_t *last, int *gone)
{
	char marker[S3_XML_VALUE_MAX + 1] = "";
	struct s3_xml_page page;
	int rc = XORB_OK;

	*gone = 0;
	do {
		struct s3_qparam q[] = { { "uploadId", id }, { "part-number-marker", marker } };
		char *query = s3_query(q, marker[0] ? 2 : 1), err[S3_ERR_MAX];
		struct s3_req r;

		page.truncated = 0;
		s3_req_init(&r, "ListParts", "GET", full_key);
		r.resp_max = LIST_RESP_MAX;
		if (!query || s3_req_url(&r, &x->conf, full_key, query)) {
			rc = fail(x, XORB_ENOMEM, "out of memory");
		} else {
			pthread_mutex_lock(&x->mu);
			rc = s3_req_run(&x->conf, x->easy, &r, x->conf.retries, err, sizeof(err));
			pthread_mutex_unlock(&x->mu);
			if (rc && r.status == 404) {
				*gone = 1;
				rc = XORB_OK;
			} else if (rc) {
				fail(x, rc, "%s", err);
			}
		}
		if (!rc && !*gone && r.resp_cut)
			rc = fail(x, XORB_ESTORE, "ListParts of \"%s\": the S3 server's answer is larger than %zu MiB",
				  full_key, LIST_RESP_MAX >> 20);
		if (!rc && !*gone) {
			rc = s3_xml_read_list(S3_XML_PARTS, r.resp.data, r.resp.len, on_part, last, &page, err,
					      sizeof(err));
			if (rc)
				bad_answer(x, rc, err, "ListParts of \"%s\"", full_key);
			else if (page.truncated && (!page.next[0] || !strcmp(page.next, marker)))
				rc = fail(x, XORB_ESTORE, "ListParts of \"%s\": a truncated page that does not say where the next one starts",
					  full_key);
		}
		free(query);
		s3_req_release(&r);
		if (rc || *gone || !page.truncated)
			break;
		snprintf(marker, sizeof(marker), "%s", page.next);
	} while (1);
	return rc;
}

static int on_upload(void *arg, const struct s3_xml_item *it)
{
	struct list_cb *l = arg;
	struct s3ctx *x = l->x;
	struct xorb_store_unfinished u;
	int gone = 0, rc = XORB_OK;

	if (!it->key || !it->key[0] || !it->upload_id || !it->upload_id[0] || strlen(it->upload_id) > UPLOAD_ID_MAX)
		return fail(x, XORB_ESTORE, "ListMultipartUploads on bucket \"%s\": an entry has no key or no upload id",
			    x->conf.bucket);
	/* the last entry is where the next page starts if the answer names none */
	snprintf(l->mk, sizeof(l->mk), "%s", it->key);
	snprintf(l->mid, sizeof(l->mid), "%s", it->upload_id);
	if (strncmp(it->key, x->conf.prefix, l->plen) || !it->key[l->plen])
		return XORB_OK;
	u.key = it->key + l->plen;
	u.id = it->upload_id;
	u.last_write = parse_time(it->initiated);
	/* a key with a dot segment cannot be addressed (s3_key_dot_segment):
	 * its start is all we know; removing it fails naming the key */
	if (!s3_key_dot_segment(it->key))
		rc = upload_last_write(x, it->key, it->upload_id, &u.last_write, &gone);
	if (!rc && !gone)
		rc = l->ufn(l->arg, &u);
	return rc;
}

/* Calls fn for each upload of one ListMultipartUploads page under the store
 * prefix; sets *next to where the following page starts (both NULL after the
 * last page). */
static int uploads_page(struct s3ctx *x, const struct s3_req *r, xorb_storage_unfinished_fn fn, void *arg,
			const struct upload_marker *at, struct upload_marker *next)
{
	struct list_cb l = { .x = x, .plen = strlen(x->conf.prefix), .ufn = fn, .arg = arg };
	struct s3_xml_page page;
	char why[S3_ERR_MAX];
	int rc;

	next->key = next->id = NULL;
	rc = s3_xml_read_list(S3_XML_UPLOADS, r->resp.data, r->resp.len, on_upload, &l, &page, why, sizeof(why));
	if (rc)
		return bad_answer(x, rc, why, "ListMultipartUploads on bucket \"%s\"", x->conf.bucket);
	if (!page.truncated)
		return XORB_OK;
	if (page.next[0] && page.next_id[0]) {
		snprintf(l.mk, sizeof(l.mk), "%s", page.next);
		snprintf(l.mid, sizeof(l.mid), "%s", page.next_id);
	}
	if (!l.mk[0] || (at->key && !strcmp(at->key, l.mk) && !strcmp(at->id, l.mid)))
		return fail(x, XORB_ESTORE, "ListMultipartUploads on bucket \"%s\": a truncated page that does not say where the next one starts",
			    x->conf.bucket);
	next->key = strdup(l.mk);
	next->id = strdup(l.mid);
	if (!next->key || !next->id) {
		marker_release(next);
		return fail(x, XORB_ENOMEM, "out of memory");
	}
	return XORB_OK;
}

static int s_list_unfinished(void *ctx, const char *prefix, xorb_storage_unfinished_fn fn, void *arg)
{
	struct s3ctx *x = ctx;
	struct upload_marker at = { NULL, NULL };
	char *full, *query = NULL;
	int rc = XORB_OK;
	size_t n;

	n = strlen(x->conf.prefix) + strlen(prefix ? prefix : "") + 1;
	full = malloc(n);
	if (!full)
		return fail(x, XORB_ENOMEM, "out of memory");
	snprintf(full, n, "%s%s", x->conf.prefix, prefix ? prefix : "");
	do {
		struct s3_qparam q[] = { { "uploads", "" }, { "prefix", full }, { "key-marker", at.key },
					 { "upload-id-marker", at.id } };
		struct upload_marker next = { NULL, NULL };
		struct s3_req r;

		query = s3_query(q, at.key ? 4 : 2);
		rc = run_listing(x, &r, "ListMultipartUploads", query);
		/* callbacks run without the lock: they may use the store */
		if (!rc)
			rc = uploads_page(x, &r, fn, arg, &at, &next);
		s3_req_release(&r);
		free(query);
		marker_release(&at);
		at = next;
	} while (!rc && at.key);
	marker_release(&at);
	free(full);
	return rc;
}

static int s_remove_unfinished(void *ctx, const char *key, const char *id)
{
	struct s3ctx *x = ctx;
	char err[S3_ERR_MAX];
	const char *p;
	char *full;
	int rc = XORB_OK;

	if (!id || !*id || strlen(id) > UPLOAD_ID_MAX)
		return fail(x, XORB_EINVAL, "\"%s\" is not a multipart upload id", id ? id : "");
	for (p = id; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return fail(x, XORB_EINVAL, "\"%s\" is not a multipart upload id", id);
	full = full_key(x, key, &rc);
	if (!full)
		return rc;
	pthread_mutex_lock(&x->mu);
	rc = abort_multipart(&x->conf, x->easy, full, id, err, sizeof(err));
	pthread_mutex_unlock(&x->mu);
	if (rc)
		fail(x, rc, "%s", err);
	free(full);
	return rc;
}

static const struct xorb_storage_ops s3_ops = {
	.abi_major = XORB_STORAGE_ABI_MAJOR,
	.abi_minor = XORB_STORAGE_ABI_MINOR,
	.struct_size = sizeof(struct xorb_storage_ops),
	.scheme = "s3",
	.open = s_open,
	.close = s_close,
	.last_error = s_last_error,
	.put_begin = s_put_begin,
	.put_write = s_put_write,
	.put_commit = s_put_commit,
	.put_abort = s_put_abort,
	.get_open = s_get_open,
	.get_read = s_get_read,
	.get_close = s_get_close,
	.list = s_list,
	.remove = s_remove,
	.list_unfinished = s_list_unfinished,
	.remove_unfinished = s_remove_unfinished,
	.options = s3_options,
	.options_title = "S3 stores (also AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,\n"
			 "AWS_REGION, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_CA_BUNDLE):",
};

/* The plugin's one exported symbol. */
__attribute__((visibility("default"))) const struct xorb_storage_ops *xorb_storage_entry(void)
{
	return &s3_ops;
}

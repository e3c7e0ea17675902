/*
 * One S3 request over libcurl, for the "s3" storage plugin: the settings of a
 * store, the URL and query encoding S3 signs, SigV4 computed here over the
 * exact bytes libcurl sends (see sign_v4 in s3_http.c), the verdict on an answer (done, retry, failed), the
 * one retry/backoff rule, and messages that name the operation, the key, the
 * HTTP status and the S3 error code. Secrets never reach a message.
 *
 * Nothing here prints, exits or keeps global state; a struct s3_req and the
 * CURL handle it runs on belong to one thread at a time.
 */
#ifndef XORB_S3_HTTP_H
#define XORB_S3_HTTP_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "xorb_buf.h"

#define S3_ERR_MAX 1024
#define S3_MAX_PARTS 10000
#define S3_MIN_PART ((size_t)5 << 20)
#define S3_MAX_PART ((size_t)5 << 30)
#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* A store's settings, fixed at open and read-only afterwards (threads share
 * them). Strings are owned; s3_conf_release() wipes the secrets. */
struct s3_conf {
	char *bucket;
	char *prefix;	   /* "" or ending in '/': every key lives under it */
	char *endpoint;	   /* scheme://host[:port][/path], for messages */
	char *bucket_url;  /* URL of the bucket, no trailing '/' */
	char *region;
	char *sigv4;	   /* "aws:amz:<region>:s3" */
	char *access_key;  /* may contain ':' (Swift's "test:tester") */
	char *secret;
	char *token_hdr;   /* "x-amz-security-token: ..." or NULL */
	char *ca_bundle;   /* NULL: the system's CAs */
	int insecure;	   /* TLS verification off (s3-insecure) */
	int path_style;
	size_t part_size;
	int concurrency;   /* parts in flight */
	int retries;	   /* attempts per request */
};

void s3_conf_release(struct s3_conf *c);

/* A body sink for 2xx answers: curl's write-callback contract (return len,
 * or CURL_WRITEFUNC_PAUSE). */
typedef size_t (*s3_sink_fn)(void *arg, const char *data, size_t len);

struct s3_req {
	/* set by the caller (s3_req_init zeroes everything else) */
	const char *op;	    /* S3 operation for messages: "UploadPart" */
	const char *what;   /* caller's key for messages; NULL: the bucket */
	int part;	    /* part number for messages; 0: none */
	const char *method; /* GET PUT POST DELETE HEAD */
	char *url;	    /* owned: see s3_req_url() */
	const unsigned char *body;
	size_t body_len;
	char sha256[65];    /* hex SHA-256 of body; "" → computed at setup */
	char md5_b64[32];   /* Content-MD5; "" → none */
	const char *content_type; /* NULL: none (a POST gets octet-stream) */
	char range[48];	    /* "bytes=N-" or "" */
	char if_match[136]; /* an ETag or "" */
	s3_sink_fn sink;    /* NULL: a 2xx body is collected in resp */
	void *sink_arg;
	size_t resp_max;    /* cap on resp (default 1 MiB) */

	/* filled in by each attempt */
	CURL *easy;
	size_t body_pos;
	long status;	    /* 0 until an answer came */
	struct xorb_buf resp;
	int resp_cut;	    /* resp hit resp_max */
	char etag[136];	    /* unquoted */
	char bucket_region[64];
	char content_range[96];
	char sse[32];	    /* x-amz-server-side-encryption */
	int64_t content_length; /* -1: none */
	struct curl_slist *hdrs;
	char curlerr[CURL_ERROR_SIZE];
};

void s3_req_init(struct s3_req *r, const char *op, const char *method, const char *what);
void s3_req_release(struct s3_req *r);

/* Sets r->url to the bucket (full_key NULL) or object URL with the query
 * (canonical, see s3_query; may be NULL). 0, or -1 out of memory or when
 * full_key has a dot segment (callers check keys first: s3_key_dot_segment). */
int s3_req_url(struct s3_req *r, const struct s3_conf *c, const char *full_key, const char *query);

/* 1 when key has a "." or ".." segment ('/'-separated, the whole segment).
 * HTTP clients, proxies and servers remove such segments from URL paths
 * (RFC 3986; libcurl unless told not to, also when written %2E), so a request
 * could reach another object than the one named: such keys are refused
 * (s3_req_url, and with a clear message by the store). */
int s3_key_dot_segment(const char *key);
/* Configures e for the next attempt of r (resets e, keeps its connections). */
int s3_req_setup(const struct s3_conf *c, CURL *e, struct s3_req *r);

enum s3_outcome { S3_DONE, S3_RETRY, S3_FAILED };

/* The verdict on a finished attempt: 2xx → done; 5xx, 429, RequestTimeout,
 * timeouts, resets, refused connections → retry; anything else → failed. */
enum s3_outcome s3_req_outcome(const struct s3_req *r, CURLcode cc);

/* Writes one line for a failed attempt into err and returns the status code
 * (XORB_EAUTH, XORB_ENOTFOUND, XORB_ETRANSIENT, XORB_ESTORE, ...). attempts
 * > 1 is mentioned. */
int s3_req_error(const struct s3_conf *c, const struct s3_req *r, CURLcode cc, int attempts,
		 char *err, size_t errlen);

/* Runs r on e with up to `attempts` tries and backoff between them. 0 on a
 * 2xx, else the code of s3_req_error with the message in err. */
int s3_req_run(const struct s3_conf *c, CURL *e, struct s3_req *r, int attempts, char *err,
	       size_t errlen);

/* The one backoff rule: 200 ms x 2^(attempt-1), capped at 10 s, with jitter
 * (a random point in the upper half). attempt counts from 1. */
unsigned s3_backoff_ms(int attempt);
void s3_sleep_ms(unsigned ms);
int64_t s3_now_ms(void);

/* Percent-encoding as S3 signs it: everything but A-Za-z0-9-._~ (and '/'
 * when keep_slash). 0, or -1 out of memory. */
int s3_encode(struct xorb_buf *b, const char *s, int keep_slash);

struct s3_qparam {
	const char *key;
	const char *value; /* raw; encoded here */
};
/* A canonical query string: sorted by name, '=' always, values encoded.
 * Returns a malloc'd string, or NULL out of memory. */
char *s3_query(const struct s3_qparam *p, size_t n);

/* Base64 of n bytes into out (at least 4*((n+2)/3)+1 bytes). */
void s3_base64(const unsigned char *in, size_t n, char *out);
void s3_hex(const unsigned char *in, size_t n, char *out);

#endif

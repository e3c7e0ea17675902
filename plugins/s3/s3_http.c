/* One S3 request over libcurl: see s3_http.h. */
#include "s3_http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "s3_xml.h"
#include "xorb_error.h"
#include "xorb_hash.h"
#include "xorb_url.h"

#define RESP_MAX_DEFAULT ((size_t)1 << 20)

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void s3_conf_release(struct s3_conf *c)
{
	free(c->bucket);
	free(c->prefix);
	free(c->endpoint);
	free(c->bucket_url);
	free(c->region);
	free(c->sigv4);
	free(c->access_key);
	wipe_free(c->secret);
	wipe_free(c->token_hdr);
	free(c->ca_bundle);
	memset(c, 0, sizeof(*c));
}

void s3_req_init(struct s3_req *r, const char *op, const char *method, const char *what)
{
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->method = method;
	r->what = what;
	r->content_length = -1;
	xorb_buf_init(&r->resp);
}

static void free_headers(struct curl_slist *h)
{
	struct curl_slist *p;

	/* the list may hold the session token */
	for (p = h; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(h);
}

void s3_req_release(struct s3_req *r)
{
	free(r->url);
	r->url = NULL;
	xorb_buf_release(&r->resp);
	free_headers(r->hdrs);
	r->hdrs = NULL;
}

int s3_encode(struct xorb_buf *b, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		char enc[3];

		/* ASCII only, whatever the locale: UTF-8 bytes are encoded */
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~' ||
		    (keep_slash && *p == '/')) {
			if (xorb_buf_append(b, p, 1))
				return -1;
			continue;
		}
		enc[0] = '%';
		enc[1] = hex[*p >> 4];
		enc[2] = hex[*p & 15];
		if (xorb_buf_append(b, enc, 3))
			return -1;
	}
	return 0;
}

struct qenc {
	char *key;
	const char *value;
};

static int qenc_cmp(const void *a, const void *b)
{
	return strcmp(((const struct qenc *)a)->key, ((const struct qenc *)b)->key);
}

char *s3_query(const struct s3_qparam *p, size_t n)
{
	struct qenc *q = calloc(n ? n : 1, sizeof(*q));
	struct xorb_buf b, k;
	size_t i;
	int bad = !q;

	xorb_buf_init(&b);
	for (i = 0; !bad && i < n; i++) {
		xorb_buf_init(&k);
		if (s3_encode(&k, p[i].key, 0) || !(q[i].key = xorb_buf_detach(&k)))
			bad = 1;
		q[i].value = p[i].value ? p[i].value : "";
	}
	if (!bad)
		qsort(q, n, sizeof(*q), qenc_cmp);
	for (i = 0; !bad && i < n; i++)
		if ((i && xorb_buf_puts(&b, "&")) || xorb_buf_puts(&b, q[i].key) ||
		    xorb_buf_puts(&b, "=") || s3_encode(&b, q[i].value, 0))
			bad = 1;
	for (i = 0; q && i < n; i++)
		free(q[i].key);
	free(q);
	if (bad) {
		xorb_buf_release(&b);
		return NULL;
	}
	return xorb_buf_detach(&b);
}

int s3_key_dot_segment(const char *key)
{
	const char *p = key;

	while (p) {
		size_t n = strcspn(p, "/");

		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 1;
		p = p[n] ? p + n + 1 : NULL;
	}
	return 0;
}

int s3_req_url(struct s3_req *r, const struct s3_conf *c, const char *full_key, const char *query)
{
	struct xorb_buf b;

	/* dot segments are normalised away on the way (s3_key_dot_segment):
	 * never let the URL name another object */
	if (full_key && s3_key_dot_segment(full_key))
		return -1;
	xorb_buf_init(&b);
	if (xorb_buf_puts(&b, c->bucket_url) || xorb_buf_puts(&b, "/") ||
	    (full_key && s3_encode(&b, full_key, 1)) ||
	    (query && *query && (xorb_buf_puts(&b, "?") || xorb_buf_puts(&b, query)))) {
		xorb_buf_release(&b);
		return -1;
	}
	free(r->url);
	r->url = xorb_buf_detach(&b);
	return r->url ? 0 : -1;
}

static size_t on_read(char *dst, size_t size, size_t n, void *arg)
{
	struct s3_req *r = arg;
	size_t len = size * n, left = r->body_len - r->body_pos;

	if (len > left)
		len = left;
	if (len)
		memcpy(dst, r->body + r->body_pos, len);
	r->body_pos += len;
	return len;
}

static int on_seek(void *arg, curl_off_t off, int origin)
{
	struct s3_req *r = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > r->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	r->body_pos = (size_t)off;
	return CURL_SEEKFUNC_OK;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct s3_req *r = arg;
	size_t len = size * n, room;

	if (r->status >= 200 && r->status < 300 && r->sink)
		return r->sink(r->sink_arg, p, len);
	room = r->resp_max > r->resp.len ? r->resp_max - r->resp.len : 0;
	if (len > room)
		r->resp_cut = 1;
	if (xorb_buf_append(&r->resp, p, len < room ? len : room))
		return 0; /* out of memory: curl reports a write error */
	return len;
}

/* Copies a header value (trimmed, quotes stripped when unquote) into out. */
static void header_value(const char *v, size_t len, char *out, size_t outlen, int unquote)
{
	while (len && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	if (unquote && len >= 2 && v[0] == '"' && v[len - 1] == '"') {
		v++;
		len -= 2;
	}
	snprintf(out, outlen, "%.*s", (int)len, v);
}

static int header_is(const char *line, size_t len, const char *name, const char **val, size_t *vlen)
{
	size_t n = strlen(name);

	if (len <= n || line[n] != ':' || strncasecmp(line, name, n))
		return 0;
	*val = line + n + 1;
	*vlen = len - n - 1;
	return 1;
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
	struct s3_req *r = arg;
	size_t len = size * n, vlen;
	const char *v;
	char num[32];

	if (len > 5 && !strncmp(line, "HTTP/", 5)) {
		/* a new answer (after "100 Continue" too): forget the last */
		const char *sp = memchr(line, ' ', len);

		r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		r->etag[0] = r->bucket_region[0] = r->content_range[0] = r->sse[0] = '\0';
		r->content_length = -1;
	} else if (header_is(line, len, "x-amz-server-side-encryption", &v, &vlen)) {
		header_value(v, vlen, r->sse, sizeof(r->sse), 0);
	} else if (header_is(line, len, "ETag", &v, &vlen)) {
		header_value(v, vlen, r->etag, sizeof(r->etag), 1);
	} else if (header_is(line, len, "x-amz-bucket-region", &v, &vlen)) {
		header_value(v, vlen, r->bucket_region, sizeof(r->bucket_region), 0);
	} else if (header_is(line, len, "Content-Range", &v, &vlen)) {
		header_value(v, vlen, r->content_range, sizeof(r->content_range), 0);
	} else if (header_is(line, len, "Content-Length", &v, &vlen)) {
		header_value(v, vlen, num, sizeof(num), 0);
		r->content_length = strtoll(num, NULL, 10);
	}
	return len;
}

static int add_header(struct s3_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_header(struct s3_req *r, const char *fmt, ...)
{
	char line[512];
	struct curl_slist *l;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	l = curl_slist_append(r->hdrs, line);
	explicit_bzero(line, sizeof(line));
	if (!l)
		return -1;
	r->hdrs = l;
	return 0;
}

static int hmac256(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
	unsigned int n = 32;

	return HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &n) && n == 32 ? 0 : -1;
}

/*
 * SigV4 (header form), computed here rather than by libcurl's
 * CURLOPT_AWS_SIGV4, whose canonical request differs between versions: 7.88
 * signs the query as written; 8.14 decodes and re-encodes it and turns a '+'
 * (%2B) into %20 (fixed upstream only in 2026), so any query with a '+' — a
 * prefix, a continuation token, a key marker — got 403 on Debian 13; 8.14 also
 * refuses CURLOPT_PATH_AS_IS with SigV4. Here the canonical URI and query are
 * the bytes of r->url, which curl sends unchanged (CURLOPT_PATH_AS_IS; keys are
 * encoded by s3_encode, queries by s3_query), and the Host header is set to
 * what is signed. Signed: host, x-amz-content-sha256, x-amz-date and the
 * session token; other headers (Content-MD5, Range, ...) are sent unsigned,
 * which S3 allows.
 */
static int sign_v4(const struct s3_conf *c, struct s3_req *r)
{
	const char *host, *path, *query, *tok = NULL;
	size_t hostlen, pathlen;
	char amzdate[20], day[12], hex[65], sig[65], *sk = NULL;
	unsigned char k1[32], k2[32];
	struct xorb_sha256 *h;
	struct xorb_buf b;
	struct tm tm;
	time_t now = time(NULL);
	int bad = 0;

	host = strstr(r->url, "://");
	if (!host)
		return -1;
	host += 3;
	hostlen = strcspn(host, "/?");
	path = host + hostlen;
	pathlen = strcspn(path, "?");
	query = path[pathlen] == '?' ? path + pathlen + 1 : "";
	if (c->token_hdr) {
		tok = strchr(c->token_hdr, ':');
		tok = tok ? tok + 1 + strspn(tok + 1, " ") : NULL;
	}
	if (!gmtime_r(&now, &tm) || !strftime(amzdate, sizeof(amzdate), "%Y%m%dT%H%M%SZ", &tm) ||
	    !strftime(day, sizeof(day), "%Y%m%d", &tm))
		return -1;

	/* canonical request → its hash */
	xorb_buf_init(&b);
	bad |= xorb_buf_puts(&b, r->method) || xorb_buf_puts(&b, "\n");
	bad |= pathlen ? xorb_buf_append(&b, path, pathlen) : xorb_buf_puts(&b, "/");
	bad |= xorb_buf_puts(&b, "\n") || xorb_buf_puts(&b, query) || xorb_buf_puts(&b, "\nhost:") ||
	       xorb_buf_append(&b, host, hostlen) || xorb_buf_puts(&b, "\nx-amz-content-sha256:") ||
	       xorb_buf_puts(&b, r->sha256) || xorb_buf_puts(&b, "\nx-amz-date:") || xorb_buf_puts(&b, amzdate) ||
	       xorb_buf_puts(&b, "\n");
	if (tok)
		bad |= xorb_buf_puts(&b, "x-amz-security-token:") || xorb_buf_puts(&b, tok) || xorb_buf_puts(&b, "\n");
	bad |= xorb_buf_puts(&b, "\nhost;x-amz-content-sha256;x-amz-date") ||
	       (tok && xorb_buf_puts(&b, ";x-amz-security-token")) || xorb_buf_puts(&b, "\n") ||
	       xorb_buf_puts(&b, r->sha256);
	if (bad || !(h = xorb_sha256_new())) {
		xorb_buf_release(&b);
		return -1;
	}
	xorb_sha256_update(h, b.data, b.len);
	xorb_sha256_final_hex(h, hex);
	xorb_sha256_free(h);

	/* string to sign, signing key, signature */
	xorb_buf_reset(&b);
	bad |= xorb_buf_puts(&b, "AWS4-HMAC-SHA256\n") || xorb_buf_puts(&b, amzdate) || xorb_buf_puts(&b, "\n") ||
	       xorb_buf_puts(&b, day) || xorb_buf_puts(&b, "/") || xorb_buf_puts(&b, c->region) ||
	       xorb_buf_puts(&b, "/s3/aws4_request\n") || xorb_buf_puts(&b, hex);
	if (!bad) {
		size_t sl = strlen(c->secret) + 5;

		sk = malloc(sl);
		if (!sk)
			bad = 1;
		else
			snprintf(sk, sl, "AWS4%s", c->secret);
	}
	bad = bad || hmac256(sk, strlen(sk), day, k1) || hmac256(k1, 32, c->region, k2) ||
	      hmac256(k2, 32, "s3", k1) || hmac256(k1, 32, "aws4_request", k2) || hmac256(k2, 32, b.data, k1);
	if (sk) {
		explicit_bzero(sk, strlen(sk));
		free(sk);
	}
	if (!bad)
		s3_hex(k1, 32, sig);
	explicit_bzero(k1, sizeof(k1));
	explicit_bzero(k2, sizeof(k2));
	xorb_buf_release(&b);
	if (bad)
		return -1;
	bad |= add_header(r, "Host: %.*s", (int)hostlen, host);
	bad |= add_header(r, "x-amz-date: %s", amzdate);
	bad |= add_header(r, "Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/%s/s3/aws4_request, "
			     "SignedHeaders=host;x-amz-content-sha256;x-amz-date%s, Signature=%s",
			  c->access_key, day, c->region, tok ? ";x-amz-security-token" : "", sig);
	return bad ? -1 : 0;
}

int s3_req_setup(const struct s3_conf *c, CURL *e, struct s3_req *r)
{
	int bad = 0;

	curl_easy_reset(e);
	r->easy = e;
	r->body_pos = 0;
	r->status = 0;
	xorb_buf_reset(&r->resp);
	r->resp_cut = 0;
	r->etag[0] = r->bucket_region[0] = r->content_range[0] = r->sse[0] = r->curlerr[0] = '\0';
	r->content_length = -1;
	if (!r->resp_max)
		r->resp_max = RESP_MAX_DEFAULT;
	free_headers(r->hdrs);
	r->hdrs = NULL;
	if (!r->sha256[0]) {
		if (r->body_len) {
			struct xorb_sha256 *h = xorb_sha256_new();

			if (!h)
				return -1;
			xorb_sha256_update(h, r->body, r->body_len);
			xorb_sha256_final_hex(h, r->sha256);
			xorb_sha256_free(h);
		} else {
			memcpy(r->sha256, S3_EMPTY_SHA256, sizeof(S3_EMPTY_SHA256));
		}
	}

	/* the payload hash: S3 needs it, and it is signed */
	bad |= add_header(r, "x-amz-content-sha256: %s", r->sha256);
	if (r->md5_b64[0])
		bad |= add_header(r, "Content-MD5: %s", r->md5_b64);
	if (c->token_hdr)
		bad |= add_header(r, "%s", c->token_hdr);
	if (r->range[0])
		bad |= add_header(r, "Range: %s", r->range);
	if (r->if_match[0])
		bad |= add_header(r, "If-Match: \"%s\"", r->if_match);
	/* without one, curl gives a POST a form type that it signs differently */
	if (r->content_type || !strcmp(r->method, "POST"))
		bad |= add_header(r, "Content-Type: %s",
				  r->content_type ? r->content_type : "application/octet-stream");
	if (bad || sign_v4(c, r))
		return -1;

	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	/* the path goes out exactly as signed (sign_v4): no dot-segment removal */
	curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curlerr);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "xorb-dr/" XORB_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
	/* no byte for 60 s: the connection is dead (retried) */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
	if (c->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->ca_bundle)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_bundle);

	if (!strcmp(r->method, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(r->method, "PUT")) {
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(e, CURLOPT_READDATA, r);
		curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(e, CURLOPT_SEEKDATA, r);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
	} else if (!strcmp(r->method, "POST")) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? (const char *)r->body : "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	} else if (strcmp(r->method, "GET")) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	}
	return 0;
}

enum s3_outcome s3_req_outcome(const struct s3_req *r, CURLcode cc)
{
	struct s3_xml_error e;

	switch (cc) {
	case CURLE_OK:
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return S3_RETRY;
	default:
		return S3_FAILED;
	}
	if (r->status >= 200 && r->status < 300)
		return S3_DONE;
	if (r->status == 429 || (r->status >= 500 && r->status != 501))
		return S3_RETRY;
	s3_xml_read_error(r->resp.data, r->resp.len, &e);
	if (!strcmp(e.code, "RequestTimeout") || !strcmp(e.code, "SlowDown") || !strcmp(e.code, "InternalError"))
		return S3_RETRY;
	return S3_FAILED;
}

static int is_retryable_curl(CURLcode cc)
{
	struct s3_req none;

	memset(&none, 0, sizeof(none));
	return s3_req_outcome(&none, cc) == S3_RETRY;
}

/* The URL of a request without its query and credentials, for messages. */
static void url_base(const char *url, char *out, size_t len)
{
	char base[XORB_URL_SHOWN_MAX];
	size_t n = strcspn(url ? url : "", "?");

	snprintf(base, sizeof(base), "%.*s", (int)n, url ? url : "");
	xorb_url_redact(base, false, out, len);
}

int s3_req_error(const struct s3_conf *c, const struct s3_req *r, CURLcode cc, int attempts,
		 char *err, size_t errlen)
{
	char subj[512], after[48] = "", code[64], msg[300], region[64], url[600];
	struct s3_xml_error e;
	const char *hint = NULL;
	size_t n;
	int rc = XORB_ESTORE;

	n = (size_t)snprintf(subj, sizeof(subj), "%s", r->op);
	if (r->part && n < sizeof(subj))
		n += (size_t)snprintf(subj + n, sizeof(subj) - n, " %d", r->part);
	if (n < sizeof(subj)) {
		if (r->what)
			snprintf(subj + n, sizeof(subj) - n, " of \"%s\"", r->what);
		else
			snprintf(subj + n, sizeof(subj) - n, " on bucket \"%s\"", c->bucket);
	}
	if (attempts > 1)
		snprintf(after, sizeof(after), " (after %d attempts)", attempts);
	url_base(r->url, url, sizeof(url));

	if (cc != CURLE_OK) {
		/* libcurl's text, in case it ever quotes the URL */
		const char *detail = xorb_url_shown(r->curlerr[0] ? r->curlerr : curl_easy_strerror(cc), false);

		switch (cc) {
		case CURLE_COULDNT_CONNECT:
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
			snprintf(err, errlen,
				 "%s: cannot reach the S3 endpoint %s (%s)%s: check --s3-endpoint or AWS_ENDPOINT_URL, and that the server runs",
				 subj, xorb_url_shown(c->endpoint, false), detail, after);
			return XORB_ETRANSIENT;
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
			snprintf(err, errlen,
				 "%s: the TLS certificate of %s was refused (%s): set AWS_CA_BUNDLE to the CA that signed it (--s3-insecure only for a test server)",
				 subj, xorb_url_shown(c->endpoint, false), detail);
			return XORB_ESTORE;
		case CURLE_OPERATION_TIMEDOUT:
			snprintf(err, errlen, "%s: %s timed out (%s)%s", subj, url, detail, after);
			return XORB_ETIMEOUT;
		case CURLE_OUT_OF_MEMORY:
			snprintf(err, errlen, "%s: out of memory", subj);
			return XORB_ENOMEM;
		default:
			snprintf(err, errlen, "%s: %s: %s%s", subj, url, detail, after);
			return is_retryable_curl(cc) ? XORB_ETRANSIENT : XORB_ESTORE;
		}
	}

	/* a body that is no S3 error document (HEAD, a proxy's page) leaves all "" */
	s3_xml_read_error(r->resp.data, r->resp.len, &e);
	snprintf(code, sizeof(code), "%s", e.code);
	snprintf(msg, sizeof(msg), "%s", e.message);
	n = strlen(msg);
	while (n && (msg[n - 1] == '.' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	snprintf(region, sizeof(region), "%s", r->bucket_region[0] ? r->bucket_region : e.region);
	if (!code[0]) {
		/* HEAD answers and some proxies carry no XML */
		switch (r->status) {
		case 301: snprintf(code, sizeof(code), "PermanentRedirect"); break;
		case 400: snprintf(code, sizeof(code), "BadRequest"); break;
		case 401: snprintf(code, sizeof(code), "Unauthorized"); break;
		case 403: snprintf(code, sizeof(code), "Forbidden"); break;
		case 404: snprintf(code, sizeof(code), r->what ? "NotFound" : "NoSuchBucket"); break;
		case 412: snprintf(code, sizeof(code), "PreconditionFailed"); break;
		default: snprintf(code, sizeof(code), "%s", r->status >= 500 ? "ServerError" : "Error"); break;
		}
	}

	if (!strcmp(code, "SignatureDoesNotMatch")) {
		hint = "the signature did not match: check AWS_SECRET_ACCESS_KEY (and the region)";
		rc = XORB_EAUTH;
	} else if (!strcmp(code, "InvalidAccessKeyId")) {
		hint = "the server does not know this access key: check AWS_ACCESS_KEY_ID";
		rc = XORB_EAUTH;
	} else if (!strcmp(code, "ExpiredToken") || !strcmp(code, "InvalidToken") ||
		   !strcmp(code, "TokenRefreshRequired")) {
		hint = "the session token was refused: renew the temporary credentials (AWS_SESSION_TOKEN)";
		rc = XORB_EAUTH;
	} else if (!strcmp(code, "RequestTimeTooSkewed")) {
		hint = "the local clock is too far off the server's: fix the clock (NTP)";
		rc = XORB_EAUTH;
	} else if (!strcmp(code, "AccessDenied") || !strcmp(code, "Forbidden") ||
		   !strcmp(code, "Unauthorized") || !strcmp(code, "AllAccessDisabled")) {
		snprintf(msg, sizeof(msg),
			 "access denied: check that AWS_ACCESS_KEY_ID may use bucket \"%s\" (and the clock: some servers report clock skew this way)",
			 c->bucket);
		rc = XORB_EAUTH;
	} else if (!strcmp(code, "NoSuchBucket")) {
		snprintf(msg, sizeof(msg), "bucket \"%s\" does not exist at %s: create it or fix the store URL",
			 c->bucket, xorb_url_shown(c->endpoint, false));
		rc = XORB_ESTORE;
	} else if (!strcmp(code, "NoSuchKey") || (r->status == 404 && !strcmp(code, "NotFound"))) {
		hint = "no such key";
		rc = XORB_ENOTFOUND;
	} else if (!strcmp(code, "NoSuchUpload")) {
		hint = "the multipart upload is gone (aborted elsewhere, or by a lifecycle rule)";
	} else if (region[0] && strcmp(region, c->region) &&
		   (r->status == 301 || !strcmp(code, "AuthorizationHeaderMalformed") ||
		    !strcmp(code, "PermanentRedirect") || !strcmp(code, "IllegalLocationConstraintException"))) {
		snprintf(msg, sizeof(msg), "bucket \"%s\" is in region \"%s\", not \"%s\": set AWS_REGION or --s3-region",
			 c->bucket, region, c->region);
	} else if (!strcmp(code, "EntityTooSmall")) {
		hint = "a part is below the server's minimum part size: raise --s3-part-size";
	} else if (!strcmp(code, "EntityTooLarge")) {
		hint = "the object or a part is above the server's limit: lower --s3-part-size";
	} else if (!strcmp(code, "BadDigest") || !strcmp(code, "XAmzContentSHA256Mismatch") ||
		   !strcmp(code, "InvalidDigest")) {
		hint = "the server received other bytes than were sent (checksum mismatch)";
	} else if (!strcmp(code, "PreconditionFailed")) {
		hint = "the object changed while it was being read";
	} else if (r->status == 429 || r->status >= 500 || !strcmp(code, "SlowDown") ||
		   !strcmp(code, "RequestTimeout") || !strcmp(code, "InternalError")) {
		rc = XORB_ETRANSIENT;
	}
	if (hint)
		snprintf(msg, sizeof(msg), "%s", hint);
	if (msg[0])
		snprintf(err, errlen, "%s: HTTP %ld %s: %s%s", subj, r->status, code, msg, after);
	else
		snprintf(err, errlen, "%s: HTTP %ld %s%s", subj, r->status, code, after);
	return rc;
}

unsigned s3_backoff_ms(int attempt)
{
	unsigned d = 10000;

	if (attempt < 1)
		attempt = 1;
	if (attempt <= 6)
		d = 200u << (attempt - 1);
	if (d > 10000)
		d = 10000;
	return d / 2 + arc4random_uniform(d / 2 + 1);
}

void s3_sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

int64_t s3_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int s3_req_run(const struct s3_conf *c, CURL *e, struct s3_req *r, int attempts, char *err,
	       size_t errlen)
{
	int a;

	for (a = 1;; a++) {
		enum s3_outcome o;
		CURLcode cc;

		if (s3_req_setup(c, e, r)) {
			snprintf(err, errlen, "%s: out of memory", r->op);
			return XORB_ENOMEM;
		}
		cc = curl_easy_perform(e);
		o = s3_req_outcome(r, cc);
		if (o == S3_DONE)
			return XORB_OK;
		if (o == S3_FAILED || a >= attempts)
			return s3_req_error(c, r, cc, a, err, errlen);
		s3_sleep_ms(s3_backoff_ms(a));
	}
}

void s3_base64(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (i < n) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0);

		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
}

void s3_hex(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

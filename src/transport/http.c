/*
** http.c: libcurl easy handles ("slots").  No Lua here:
** pacing and retries are policy.c's, waiting and logging in the call
** loops' (slot.c, login.c).  No Lua
** is called from a libcurl callback: the write callback only fills a
** capped buffer, the header callback only notes a few values.
*/
#define _POSIX_C_SOURCE 200809L /* strcasecmp */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "userupd.h"

static char user_agent[96];

const char *uu_user_agent(void)
{
  if (user_agent[0] == '\0')
    snprintf(user_agent, sizeof user_agent, "userupd/%s libcurl/%s",
             UU_VERSION, curl_version_info(CURLVERSION_NOW)->version);
  return user_agent;
}

/* ---- callbacks ------------------------------------------------------- */

/* Appends to the slot's answer buffer; past max_response it stops the
** transfer (returning less than given makes curl fail with WRITE_ERROR). */
static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
  uu_slot *s = (uu_slot *)ud;
  size_t n = size * nmemb;
  if (s->resp.n + n > s->client->max_response) {
    s->overflow = 1;
    return 0;
  }
  return uu_buf_add(&s->resp, p, n) == 0 ? n : 0;
}

/* Notes Retry-After, a request id and the X-RateLimit headers. */
static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
  uu_slot *s = (uu_slot *)ud;
  size_t n = size * nmemb, k;
  const char *colon = (const char *)memchr(p, ':', n);
  if ((s->header_bytes += n) > UU_MAX_HEADERS) {
    s->header_overflow = 1;              /* stops the transfer */
    return 0;
  }
  if (n > 5 && strncmp(p, "HTTP/", 5) == 0) {      /* a new answer */
    memset(&s->heard, 0, sizeof s->heard);
    s->headers_done = 0;
  } else if (n <= 2 && (p[0] == '\r' || p[0] == '\n')) {
    s->headers_done = 1;                 /* the blank line ends them */
  } else if (colon != NULL) {
    k = (size_t)(colon - p);
    uu_header_note(&s->heard, p, k, colon + 1, n - k - 1);
  }
  return n;
}

/* ---- slots ------------------------------------------------------------ */

/* The proxy rule (docs/security.md): the `proxy` option is used as
** given.  Without it libcurl honours the environment (https_proxy,
** ALL_PROXY, NO_PROXY, ...) for https, where a proxy only relays a CONNECT
** tunnel; a plain-http request carries the credential in clear, so it
** never goes to an environment proxy ("" turns them off). */
static void set_proxy(const uu_client *c, CURL *e)
{
  const char *b = c->base.p;
  if (c->proxy != NULL)
    curl_easy_setopt(e, CURLOPT_PROXY, c->proxy);
  else if (b == NULL || c->base.n < 6 || strncasecmp(b, "https:", 6) != 0)
    curl_easy_setopt(e, CURLOPT_PROXY, "");
}

/* An easy handle with everything that does not change between requests:
** set once, so the hot path only sets the URL and the body. */
int uu_slot_init(uu_client *c, uu_slot *s)
{
  CURL *e;
  s->client = c;
  if ((e = s->easy = curl_easy_init()) == NULL)
    return -1;
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers); /* User-Agent too:
                   CURLOPT_USERAGENT would be formatted for every request */
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
  curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)s);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
  if (c->ca_file)
    curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
  set_proxy(c, e);
  uu_pool_easy(c, e);
  s->method = NULL;
  return 0;
}

void uu_slot_free(uu_slot *s)
{
  if (s->easy != NULL)
    curl_easy_cleanup(s->easy);
  s->easy = NULL;
  uu_buf_free(&s->url);
  uu_buf_free(&s->body);
  uu_buf_free(&s->resp);
  uu_buf_free(&s->id);
  uu_buf_free(&s->full);
  uu_buf_free(&s->prev);
}

/* Per request: URL, method and body.  POSTFIELDS is not copied by curl;
** it points into the slot's body, which lives as long as the slot. */
void uu_slot_prepare(uu_slot *s, const char *method, int body)
{
  CURL *e = s->easy;
  s->resp.n = 0;
  s->overflow = 0;
  s->status = 0;
  s->errbuf[0] = '\0';
  memset(&s->heard, 0, sizeof s->heard);
  s->header_bytes = 0;
  s->header_overflow = 0;
  s->headers_done = 0;
  curl_easy_setopt(e, CURLOPT_URL, s->url.p);
  if (s->method != method) {                       /* only on a change */
    if (body)
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    else {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
    }
    s->method = method;
  }
  if (body) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, s->body.p);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)s->body.n);
  }
}

/* A transfer that ended inside the header section: the server closed the
** connection there (curl calls that a success), or the section outgrew
** UU_MAX_HEADERS (ours) or one header line outgrew curl's own limit (curl
** says "Out of memory").  Tells the answer what really happened. */
static CURLcode header_fate(uu_slot *s, CURLcode cc, uu_answer *a)
{
  if (s->header_overflow || (cc == CURLE_OUT_OF_MEMORY && !s->headers_done &&
                             s->header_bytes > 0)) {
    a->header_overflow = 1;
    return CURLE_RECV_ERROR;
  }
  if (cc == CURLE_OK && !s->headers_done && !s->overflow) {
    snprintf(s->errbuf, sizeof s->errbuf, "the connection was closed "
             "before the end of the answer's headers");
    return CURLE_RECV_ERROR;             /* retryable, like a reset */
  }
  return cc;
}

/* What one transfer gave, for uu_push_answer. */
void uu_slot_answer(uu_slot *s, uu_op op, CURLcode cc, uu_answer *a)
{
  memset(a, 0, sizeof *a);
  a->op = op;
  cc = header_fate(s, cc, a);
  a->cc = s->overflow ? CURLE_OK : cc;
  a->overflow = s->overflow;
  curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->status);
  a->status = s->status;
  a->curl_msg = s->errbuf;
  a->body = s->resp.p ? s->resp.p : "";
  a->len = s->resp.n;
  a->request_id = s->heard.request_id[0] ? s->heard.request_id : NULL;
  if (op == UU_OP_UPDATE) {                /* the record's own secrets */
    a->sent = s->body.p;
    a->sent_len = s->body.n;
  }
  uu_pool_note(s->client, s->easy, cc);
}

/* Points the handle's callbacks back at s (after the pool was moved). */
void uu_slot_rebind(uu_slot *s)
{
  curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
  curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
  curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->errbuf);
  curl_easy_setopt(s->easy, CURLOPT_PRIVATE, (char *)s);
}

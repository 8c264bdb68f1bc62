/*
** pool.c: one connection pool per client.  A libcurl share handle holds
** the client's connections, TLS sessions and DNS answers; every easy
** handle the client owns (sync, login, update_many's pool, submit's jobs)
** is attached to it, and every multi handle that drives them gets the
** client's connection cap.  So update, get, update_many and submit reuse
** one set of connections, and a new connection resumes a TLS session.
**
** HTTP/2: over TLS libcurl asks for h2 by ALPN; CURLOPT_PIPEWAIT makes a
** burst wait for the first connection to learn whether it multiplexes,
** instead of opening one connection per transfer.  max_connections stays
** "connections at once", h2 or not.
**
** Order on release: every easy handle first (curl_share_cleanup refuses
** while one still points at the share), then the share, which closes the
** pooled connections.  uu_pool_close is idempotent.
*/
#include <string.h>
#include "userupd.h"

/* The http_version option: NULL or "" = negotiate (h2 over TLS by ALPN,
** HTTP/1.1 in clear), "1.1" = HTTP/1.1 only, "2" = ask for h2 (also over
** plain http://, by Upgrade).  -1 for anything else. */
long uu_http_version(const char *s)
{
  if (s == NULL)
    return CURL_HTTP_VERSION_2TLS;
  if (strcmp(s, "1.1") == 0)
    return CURL_HTTP_VERSION_1_1;
  if (strcmp(s, "2") == 0)
    return CURL_HTTP_VERSION_2_0;
  return -1;
}

/* Makes the client's share handle; 0, or -1 when libcurl cannot. */
int uu_pool_open(uu_client *c)
{
  CURLSH *sh;
  if (c->share != NULL)
    return 0;
  if ((sh = curl_share_init()) == NULL)
    return -1;
  curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
#if LIBCURL_VERSION_NUM >= 0x073900
  curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
#endif
  c->share = sh;
  return 0;
}

/* What every easy handle of the client gets: the pool, the HTTP version,
** and PIPEWAIT (wait for a connection that may multiplex). */
void uu_pool_easy(uu_client *c, CURL *e)
{
  if (c->share != NULL)
    curl_easy_setopt(e, CURLOPT_SHARE, c->share);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, c->http_version);
  curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
}

/* Streams per h2 connection libcurl opens before it starts another. */
#define UU_H2_STREAMS 100

/* What every multi handle gets: multiplexing, and max_connections as the
** cap on connections (per host and in all; 0 = none).  Once the server
** is known to speak h2, inflight transfers need only inflight/100
** connections (+1 of slack): the cap keeps libcurl from opening one more
** connection per transfer past a full connection's 100 streams; those
** transfers wait for a free stream instead.  A cold TLS pool gets that
** cap too: its burst starts once the first handshake is done (many.c),
** before anyone knows whether the server multiplexes, and the first
** answer (uu_pool_note) lifts the cap for an HTTP/1.1 server. */
void uu_pool_multi(uu_client *c, CURLM *m, int inflight)
{
  long cap = c->max_conn, h2cap = (inflight + UU_H2_STREAMS - 1) /
                                  UU_H2_STREAMS + 1;
  if ((c->pool_h2 || uu_pool_cold(c)) && (cap == 0 || cap > h2cap))
    cap = h2cap;
  curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
#if LIBCURL_VERSION_NUM >= 0x074300
  curl_multi_setopt(m, CURLMOPT_MAX_CONCURRENT_STREAMS,
                    (long)UU_H2_STREAMS);
#endif
  curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, cap);
  curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, cap);
}

/* After any finished transfer: the pool is warm (with an answer, a TLS
** session is in it; without one, such as a host that is down, holding
** the others back would only make the run fail one record at a time),
** and with an answer, whether the server multiplexes (h2) is known. */
void uu_pool_note(uu_client *c, CURL *e, CURLcode cc)
{
  long v = 0;
  c->pool_warm = 1;
  if (cc == CURLE_OK && !c->pool_h2 &&
      curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &v) == CURLE_OK &&
      v == CURL_HTTP_VERSION_2_0)
    c->pool_h2 = 1;
}

/* True while a client talking TLS has had no transfer finish: update_many
** then runs one transfer alone, so the TLS session it brings home (a
** TLS 1.3 ticket arrives with the first answer) is resumed by every
** connection opened after it, and an h2 server is known to multiplex
** before the burst.  Costs one round trip, once per client. */
int uu_pool_cold(const uu_client *c)
{
  return !c->pool_warm && c->base.n > 8 &&
         strncmp(c->base.p, "https://", 8) == 0;
}

/* Frees the share; call after every easy handle of the client is gone. */
void uu_pool_close(uu_client *c)
{
  if (c->share == NULL)
    return;
  if (curl_share_cleanup(c->share) == CURLSHE_OK)
    c->share = NULL;
}

/*
** secrets.c: every secret of a client, remembered in each form it can
** take on the wire (raw, %-encoded, JSON-escaped, base64 in a Basic or
** proxy header), so redaction (request.c) can cut it from any text.
*/
#include <stdlib.h>
#include <string.h>
#include "userupd.h"

/* Adds a copy of s to the client's secrets; -1 when out of memory. */
int uu_secret_keep(uu_client *c, const char *s, size_t n)
{
  char **grown;
  char *p;
  if (n == 0)
    return 0;
  grown = (char **)realloc(c->secrets, (c->nsecrets + 1) * sizeof *grown);
  if (grown == NULL)
    return -1;
  c->secrets = grown;
  if ((p = (char *)malloc(n + 1)) == NULL)
    return -1;
  memcpy(p, s, n);
  p[n] = '\0';
  c->secrets[c->nsecrets++] = p;
  return 0;
}

void uu_secret_add(uu_client *c, lua_State *L, const char *s, size_t n)
{
  if (uu_secret_keep(c, s, n) != 0)
    luaL_error(L, "userupd: out of memory");
}

/* The raw value, its %-encoded form (URL) and its JSON-escaped form.  The
** forms are built in the client's scratch buffer, so a raise on the way
** (out of memory) strands nothing: release frees it. */
void uu_secret_forms(uu_client *c, lua_State *L, const char *s)
{
  uu_buf *b = &c->scratch;
  size_t n = strlen(s);
  uu_secret_add(c, L, s, n);
  b->n = 0;
  if (uu_percent_encode(b, s, n) == 0 && (b->n != n || memcmp(b->p, s, n)))
    uu_secret_add(c, L, b->p, b->n);
  b->n = 0;
  if (uu_json_string(b, s, n) == UU_JOK && b->n > 2 &&
      (b->n - 2 != n || memcmp(b->p + 1, s, n) != 0))
    uu_secret_add(c, L, b->p + 1, b->n - 2);
}

/* A proxy's user:password: the password as written and decoded, and the
** base64 of user:password libcurl sends in Proxy-Authorization.  Kept
** without raising while libcurl's strings are held; then the decoded
** password's other forms. */
void uu_secrets_proxy(uu_client *c, lua_State *L)
{
  CURLU *u;
  char *user = NULL, *pass = NULL, *raw = NULL;
  uu_buf pair = {NULL, 0, 0}, b64 = {NULL, 0, 0};
  int bad = 0, at = c->nsecrets;
  if (c->proxy == NULL || (u = curl_url()) == NULL)
    return;
  if (curl_url_set(u, CURLUPART_URL, c->proxy, CURLU_NON_SUPPORT_SCHEME |
                   CURLU_GUESS_SCHEME) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PASSWORD, &raw, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PASSWORD, &pass, CURLU_URLDECODE) ==
        CURLUE_OK) {
    curl_url_get(u, CURLUPART_USER, &user, CURLU_URLDECODE);
    bad = uu_secret_keep(c, pass, strlen(pass)) || uu_secret_keep(c, raw,
                                                             strlen(raw));
    bad |= uu_buf_add(&pair, user ? user : "", user ? strlen(user) : 0) ||
           uu_buf_addc(&pair, ':') || uu_buf_add(&pair, pass, strlen(pass));
    if (!bad && uu_base64(&b64, pair.p, pair.n) == 0)
      bad = uu_secret_keep(c, b64.p, b64.n);
  }
  curl_free(user);
  curl_free(pass);
  curl_free(raw);
  curl_url_cleanup(u);
  uu_buf_free(&pair);
  uu_buf_free(&b64);
  if (bad)
    luaL_error(L, "userupd: out of memory");
  if (c->nsecrets > at)                    /* the decoded password */
    uu_secret_forms(c, L, c->secrets[at]);
}

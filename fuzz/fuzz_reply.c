/*
** fuzz_reply: a random finished exchange through the answer parser:
** status, headers and body -> uu_push_answer -> user, err, info.
**
** http.c is included here, not linked, to reach its static header callback
** (on_header), which libcurl calls with one header line at a time, not
** NUL-terminated: each line goes to it in a buffer of exactly its size, so
** ASan sees any read past it.  The other module sources are linked.
**
** Input: vendor byte, flags byte (op = flags % 3, 0x10: a curl error,
** 0x20: max_response overflow), 2 bytes of status (100..599), a curl code
** byte and up to 32 bytes of curl message when flagged, 2 bytes of header
** block length, the header block ('\n'-separated lines), then the body.
**
** Contract checked:
**   - header parsing: Retry-After and X-RateLimit-* never make a backoff
**     or a pause outside [0, max_retry_wait], nor NaN;
**   - uu_push_answer returns exactly 3 values: a user table, nil and an
**     info table; or nil, an error table and an info table;
**   - the error's kind is one of invalid rejected auth not_found
**     rate_limited http transport decode; its vendor is the client's; its
**     status, if any, is the answer's; retryable is a boolean; tostring
**     works; neither message nor tostring shows a credential;
**   - nothing raises (uu_push_answer runs under lua_pcall).
*/
#include "../src/transport/http.c"   /* first: its feature macros; gives on_header */
#include <math.h>
#include "fuzz_common.h"

int luaopen_userupd(lua_State *L);

#define NVENDORS 5

static const char *const vendor_names[NVENDORS] = {
  "smartermeasure", "thoughtindustries", "blackbaud", "formsonfire",
  "questionpro"};


static const char *const kinds[] = {"invalid", "rejected", "auth",
  "not_found", "rate_limited", "http", "transport", "decode", NULL};


static lua_State *L;
static uu_client *clients[NVENDORS];

/* ---- headers ------------------------------------------------------------ */

/* One header line to on_header, as libcurl gives it: CRLF, no NUL. */
static void feed_header(uu_slot *s, const char *line, size_t n)
{
  char *p = (char *)malloc(n + 2);
  if (p == NULL)
    fz_fail("out of memory");
  memcpy(p, line, n);
  p[n] = '\r', p[n + 1] = '\n';
  if (on_header(p, 1, n + 2, s) != n + 2)
    fz_fail("on_header did not take the whole line");
  free(p);
}

static void feed_headers(uu_slot *s, long status, const char *h, size_t n)
{
  char first[32];
  const char *nl;
  snprintf(first, sizeof first, "HTTP/1.1 %ld Fuzz", status);
  feed_header(s, first, strlen(first));
  while (n > 0) {
    nl = (const char *)memchr(h, '\n', n);
    feed_header(s, h, nl ? (size_t)(nl - h) : n);
    if (nl == NULL)
      break;
    n -= (size_t)(nl - h) + 1;
    h = nl + 1;
  }
}

static void check_wait(const char *what, double w, double cap)
{
  /* known "nan-retry-after": "Retry-After: nan" gives a NaN backoff */
  if (isnan(w) && fz_known("nan-retry-after"))
    return;
  if (isnan(w) || w < 0 || w > cap)
    fz_fail("%s is %g, outside [0, %g]", what, w, cap);
}

/* What the retry loop would make of the headers. */
static void check_limits(uu_client *c, uu_slot *s)
{
  double now = uu_now(), saved = c->policy.pause_until;
  uu_limits l;
  uu_limits_read(&l, &s->heard, uu_wall());
  /* Retry-After (capped) plus up to retry_base of jitter */
  check_wait("backoff", uu_backoff(&c->policy, 1, l.retry_after),
             c->policy.max_retry_wait + c->policy.retry_base);
  c->policy.pause_until = 0;
  uu_note_limits(&c->policy, s->status, &l, now);
  check_wait("pause", c->policy.pause_until > 0
             ? c->policy.pause_until - now : 0,
             c->policy.max_retry_wait + 1);
  c->policy.pause_until = saved;
  if (strlen(s->heard.request_id) >= sizeof s->heard.request_id)
    fz_fail("request id not terminated");
}

/* ---- the answer ------------------------------------------------------ */

/* uu_push_answer(client, answer) under pcall: both as light userdata. */
static int l_push_answer(lua_State *S)
{
  uu_client *c = (uu_client *)lua_touserdata(S, 1);
  const uu_answer *a = (const uu_answer *)lua_touserdata(S, 2);
  int top = lua_gettop(S), n;
  n = uu_push_answer(S, c, a);
  if (n != 3 || lua_gettop(S) != top + 3)
    fz_fail("uu_push_answer returned %d and pushed %d", n,
            lua_gettop(S) - top);
  return 3;
}

static const char *field_string(int t, const char *k)
{
  const char *s;
  lua_getfield(L, t, k);
  s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  lua_pop(L, 1);
  return s;
}

static int cur;                            /* this input's vendor */

static void no_secret(const char *s, const char *what, const char *known)
{
  if (s != NULL && fz_shows(s, secrets[cur]) &&
      !(known != NULL && fz_known(known)))
    fz_fail("%s shows the credential %s:\n%s", what, secrets[cur], s);
}

/* err.status is the answer's status (a 2xx body that is no user keeps
   it); for an error envelope inside a 2xx it is the status the envelope
   stands for (never a success), and info.status stays the HTTP one
   (check_info). */
static void check_status(int e, const uu_answer *a)
{
  lua_getfield(L, e, "status");
  if (!lua_isnil(L, -1) && !lua_isinteger(L, -1))
    fz_fail("error status is a %s", luaL_typename(L, -1));
  if (a->status >= 200 && a->status < 300 && a->cc == CURLE_OK &&
      !a->overflow) {
    if (!lua_isnil(L, -1) && lua_tointeger(L, -1) != a->status &&
        lua_tointeger(L, -1) < 300)
      fz_fail("error status %s from a %ld answer", lua_tostring(L, -1),
              a->status);
  } else if (!lua_isnil(L, -1) && lua_tointeger(L, -1) != a->status)
    fz_fail("error status %s, the answer's %ld", lua_tostring(L, -1),
            a->status);
  lua_pop(L, 1);
}

static void check_error(int e, const uu_answer *a, const char *vendor)
{
  const char *kind = field_string(e, "kind"), *s;
  int i;
  if (kind == NULL)
    fz_fail("error without kind");
  for (i = 0; kinds[i] != NULL && strcmp(kinds[i], kind) != 0; i++)
    ;
  if (kinds[i] == NULL)
    fz_fail("error kind '%s' is not in the fixed set", kind);
  if ((s = field_string(e, "vendor")) == NULL || strcmp(s, vendor) != 0)
    fz_fail("error vendor %s, not %s", s ? s : "nil", vendor);
  check_status(e, a);
  lua_getfield(L, e, "retryable");
  if (!lua_isboolean(L, -1))
    fz_fail("error retryable is a %s", luaL_typename(L, -1));
  lua_pop(L, 1);
  no_secret(field_string(e, "message"), "error message", NULL);
  /* known "code-unredacted": vendor_code (and so tostring) is not */
  no_secret(field_string(e, "vendor_code"), "error vendor_code",
            "code-unredacted");
  lua_getglobal(L, "tostring");
  lua_pushvalue(L, e);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_isstring(L, -1))
    fz_fail("tostring(err) failed: %s", lua_tostring(L, -1));
  no_secret(lua_tostring(L, -1), "tostring(err)", "code-unredacted");
  lua_pop(L, 1);
}

/* info.status is the HTTP status heard, whatever the body says. */
static void check_info(int info, const uu_answer *a)
{
  lua_getfield(L, info, "status");
  if (a->status > 0 && (!lua_isinteger(L, -1) ||
                        lua_tointeger(L, -1) != a->status))
    fz_fail("info.status %s, the answer's %ld", lua_tostring(L, -1),
            a->status);
  lua_pop(L, 1);
}

static void check_results(int base, const uu_answer *a, const char *vendor)
{
  if (!lua_istable(L, base + 3))
    fz_fail("third value is a %s, not info", luaL_typename(L, base + 3));
  check_info(base + 3, a);
  if (lua_istable(L, base + 1)) {
    if (!lua_isnil(L, base + 2))
      fz_fail("a user and a %s", luaL_typename(L, base + 2));
    if (!(a->status >= 200 && a->status < 300) || a->cc != CURLE_OK ||
        a->overflow)
      fz_fail("a user from status %ld, curl code %d", a->status, a->cc);
    return;
  }
  if (!lua_isnil(L, base + 1))
    fz_fail("first value is a %s", luaL_typename(L, base + 1));
  if (!lua_istable(L, base + 2))
    fz_fail("nil and a %s, not an error", luaL_typename(L, base + 2));
  check_error(base + 2, a, vendor);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  int i;
  (void)argc, (void)argv;
  L = fz_newstate(1);
  luaL_requiref(L, "userupd", luaopen_userupd, 1);
  lua_pop(L, 1);
  if (luaL_dostring(L, clients_chunk) != LUA_OK)
    fz_fail("cannot make the clients: %s", lua_tostring(L, -1));
  for (i = 0; i < NVENDORS; i++) {
    lua_rawgeti(L, -1, i + 1);
    clients[i] = (uu_client *)lua_touserdata(L, -1);
    lua_pop(L, 1);
  }
  luaL_ref(L, LUA_REGISTRYINDEX);           /* keep the clients alive */
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fz_in in = {data, size};
  int v = fz_u8(&in) % NVENDORS, flags = fz_u8(&in), top = lua_gettop(L);
  uu_client *c = clients[cur = v];
  uu_slot s;
  uu_answer a;
  char curl_msg[40];
  const char *h;
  char *body;
  size_t hn, mn, bn;
  memset(&s, 0, sizeof s);
  memset(&a, 0, sizeof a);
  s.client = c;
  a.op = (uu_op)(flags % 3);
  a.status = 100 + fz_u16(&in) % 500;
  if (flags & 0x10) {
    a.cc = (CURLcode)(1 + fz_u8(&in) % 98);
    h = fz_bytes(&in, fz_u8(&in) % 33, &mn);
    memcpy(curl_msg, h, mn);
    curl_msg[mn] = '\0';
    a.curl_msg = curl_msg;
  }
  a.overflow = (flags & 0x20) != 0;
  h = fz_bytes(&in, fz_u16(&in) % 1024, &hn);
  feed_headers(&s, a.status, h, hn);
  check_limits(c, &s);
  /* The body as the write callback leaves it: a uu_buf, NUL after it. */
  bn = in.n;
  if ((body = (char *)malloc(bn + 1)) == NULL)
    fz_fail("out of memory");
  memcpy(body, in.p, bn);
  body[bn] = '\0';
  a.body = body;
  a.len = bn;
  a.request_id = s.heard.request_id[0] ? s.heard.request_id : NULL;
  a.attempts = 1 + flags / 64;
  a.elapsed = 0.25;
  lua_pushcfunction(L, l_push_answer);
  lua_pushlightuserdata(L, c);
  lua_pushlightuserdata(L, &a);
  if (lua_pcall(L, 2, 3, 0) != LUA_OK)
    fz_fail("uu_push_answer raised: %s", lua_tostring(L, -1));
  check_results(top, &a, vendor_names[v]);
  lua_settop(L, top);
  free(body);
  lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}

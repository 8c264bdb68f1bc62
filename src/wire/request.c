/*
** request.c: the request a call sends: its URL from the vendor's templates
** (at construction and after each login), as bytes (for libcurl) and as a
** Lua table (prepare's dry run, a Lua transport), the login request, and
** the redacted rendering of any of them (its redaction: redact.c).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "userupd.h"

/* ---- URL templates ------------------------------------------------------ */

/* "{name}" -> the option's value (the login token for the token option).
** Host parts go in raw (options there are checked labels or hosts);
** path and query parts are %-encoded.  Stops at "{id}": *rest says where
** the template goes on after it. */
static void expand(uu_client *c, lua_State *L, int opts, const char *t,
                   int encode, uu_buf *out, const char **rest)
{
  const char *close, *val;
  char name[32];
  size_t n;
  *rest = NULL;
  while (*t) {
    if (*t != '{' || (close = strchr(t, '}')) == NULL) {
      uu_buf_addc(out, *t++);
      continue;
    }
    n = (size_t)(close - t - 1);
    snprintf(name, sizeof name, "%.*s", (int)n, t + 1);
    t = close + 1;
    if (strcmp(name, "id") == 0) {
      *rest = t;
      return;
    }
    if (c->v->login && strcmp(name, c->v->login->token_opt) == 0 &&
        c->token != NULL) {
      uu_percent_encode(out, c->token, strlen(c->token));
      continue;
    }
    lua_getfield(L, opts, name);
    if (lua_isnil(L, -1) && c->token == NULL && c->login_user != NULL) {
      lua_pop(L, 1);                     /* not logged in yet: no token */
      continue;
    }
    if ((val = lua_tolstring(L, -1, &n)) == NULL)
      luaL_error(L, "bad argument #1 to '%s' (option '%s' is required (or "
                 "give base_url))", c->v->name, name);
    if (encode)
      uu_percent_encode(out, val, n);
    else
      uu_buf_add(out, val, n);
    lua_pop(L, 1);
  }
}

/* The login token in the forms it takes (raw, %-encoded as the URL has
** it, JSON-escaped), kept when the token is dropped for a re-login: an old
** token may still work.  A new token's forms go first and the last
** token's move behind them, so an answer to a request still in flight
** with the old token (a 401 quoting it, say) is hidden too; the token
** before that is forgotten.  Built with plain mallocs: a failure leaves
** a form out, never a leak. */
static void token_forms(uu_client *c)
{
  uu_buf r = {NULL, 0, 0}, u = {NULL, 0, 0}, j = {NULL, 0, 0};
  size_t n;
  int i, half = UU_TOKEN_FORMS / 2;
  if (c->token == NULL || (c->token_forms[0] != NULL &&
                           strcmp(c->token_forms[0], c->token) == 0))
    return;
  for (i = 0; i < half; i++) {
    free(c->token_forms[half + i]);
    c->token_forms[half + i] = c->token_forms[i];
    c->token_forms[i] = NULL;
  }
  n = strlen(c->token);
  if (uu_buf_add(&r, c->token, n) == 0) {
    c->token_forms[0] = r.p;
    r.p = NULL;
  }
  if (uu_percent_encode(&u, c->token, n) == 0 && u.p != NULL) {
    c->token_forms[1] = u.p;
    u.p = NULL;
  }
  if (uu_json_string(&j, c->token, n) == UU_JOK && j.n >= 2) {
    memmove(j.p, j.p + 1, j.n - 2);
    j.p[j.n - 2] = '\0';
    c->token_forms[2] = j.p;
    j.p = NULL;
  }
  uu_buf_free(&r);
  uu_buf_free(&u);
  uu_buf_free(&j);
}

/* url_pre/url_post (and the read call's) from the templates and options.
** Called at construction and again when a login brings a new token. */
void uu_build_urls(uu_client *c, lua_State *L, int opts)
{
  const char *rest;
  int given;
  token_forms(c);
  c->base.n = c->url_pre.n = c->url_post.n = 0;
  c->get_pre.n = c->get_post.n = 0;
  lua_getfield(L, opts, "base_url");
  given = lua_isstring(L, -1);
  if (given)
    uu_buf_add(&c->base, lua_tostring(L, -1), uu_rawlen(L, -1));
  else
    expand(c, L, opts, c->setup.base, 0, &c->base, &rest);
  lua_pop(L, 1);
  while (c->base.n > 0 && c->base.p[c->base.n - 1] == '/')
    c->base.p[--c->base.n] = '\0';
  if (c->base.p == NULL)
    luaL_error(L, "userupd: out of memory");
  uu_buf_add(&c->url_pre, c->base.p, c->base.n);
  uu_buf_add(&c->get_pre, c->base.p, c->base.n);
  expand(c, L, opts, c->setup.path, 1, &c->url_pre, &rest);
  if ((c->id_in_url = rest != NULL))
    expand(c, L, opts, rest, 1, &c->url_post, &rest);
  expand(c, L, opts, c->setup.get_path, 1, &c->get_pre, &rest);
  if ((c->id_in_get = rest != NULL))
    expand(c, L, opts, rest, 1, &c->get_post, &rest);
}


/* url = pre + %-encoded id + post; the parts were fixed at construction. */
int uu_build_url(uu_client *c, uu_op op, const char *id, size_t idlen,
                 uu_buf *url)
{
  const uu_buf *pre = op == UU_OP_GET ? &c->get_pre : &c->url_pre;
  const uu_buf *post = op == UU_OP_GET ? &c->get_post : &c->url_post;
  int with_id = op == UU_OP_GET ? c->id_in_get : c->id_in_url;
  url->n = 0;
  if (uu_buf_add(url, pre->p, pre->n) != 0 ||
      (with_id && uu_percent_encode(url, id, idlen) != 0) ||
      (post->n > 0 && uu_buf_add(url, post->p, post->n) != 0))
    return -1;
  return 0;
}

/* The login call's URL and JSON body (Blackbaud ON API) in s. */
int uu_login_build(uu_client *c, uu_slot *s)
{
  const uu_loginspec *lg = c->v->login;
  s->url.n = s->body.n = 0;
  return uu_buf_add(&s->url, c->base.p, c->base.n) ||
         uu_buf_add(&s->url, lg->path, strlen(lg->path)) ||
         uu_buf_addc(&s->body, '{') ||
         uu_json_string(&s->body, lg->user_opt, strlen(lg->user_opt)) ||
         uu_buf_addc(&s->body, ':') ||
         uu_json_string(&s->body, c->login_user, strlen(c->login_user)) ||
         uu_buf_addc(&s->body, ',') ||
         uu_json_string(&s->body, lg->pass_opt, strlen(lg->pass_opt)) ||
         uu_buf_addc(&s->body, ':') ||
         uu_json_string(&s->body, c->login_pass, strlen(c->login_pass)) ||
         uu_buf_addc(&s->body, '}');
}

/* ---- the request as a Lua table ------------------------------------ */

/* Pushes the redacted "\nName: value" line of every header, sorted. */
static void push_header_lines(uu_client *c, lua_State *L, int h)
{
  int i, n, keys;
  size_t len;
  const char *s;
  n = uu_json_sorted_keys(L, h, 1);                /* keys */
  keys = lua_gettop(L);
  luaL_checkstack(L, n + 4, "headers");
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, keys, i);
    lua_pushvalue(L, -1);
    lua_rawget(L, h);
    lua_pushfstring(L, "\n%s: %s", lua_tostring(L, -2),
                    lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
    s = lua_tolstring(L, -1, &len);
    uu_redact(c, L, s, len);
    lua_replace(L, -4);                            /* line, v, line */
    lua_pop(L, 2);
  }
  lua_remove(L, keys);
}

static void push_redacted_field(uu_client *c, lua_State *L, const char *k)
{
  size_t n;
  const char *s;
  lua_getfield(L, 1, k);
  s = lua_isstring(L, -1) ? lua_tolstring(L, -1, &n) : (n = 0, "");
  uu_redact(c, L, s, n);
  lua_remove(L, -2);
}

/* "\n\nextra (...): A, B" for a request whose body carries members the
** vendor's descriptor lacks (req.extra), or "". */
static void push_extra_line(lua_State *L)
{
  int i, n, list;
  lua_getfield(L, 1, "extra");
  list = lua_gettop(L);
  n = lua_istable(L, list) ? (int)uu_rawlen(L, list) : 0;
  lua_pop(L, n == 0);
  if (n == 0) {
    lua_pushliteral(L, "");
    return;
  }
  luaL_checkstack(L, 2 * n + 2, "extra");
  lua_pushliteral(L, "\n\nextra, not in the vendor's documentation: ");
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, list, i);
    if (lua_type(L, -1) != LUA_TSTRING) {
      lua_pop(L, 1);
      lua_pushliteral(L, "?");
    }
    if (i < n)
      lua_pushliteral(L, ", ");
  }
  lua_concat(L, 2 * n);
  lua_remove(L, list);
}

/* tostring(req): method, URL, headers and body, all redacted.  The client
** is this closure's upvalue, so its secrets are known here. */
static int l_request_tostring(lua_State *L)
{
  uu_client *c = (uu_client *)lua_touserdata(L, lua_upvalueindex(1));
  int top;
  if (c == NULL || c->closed) {
    lua_pushliteral(L, "userupd.request(client closed)");
    return 1;
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  top = lua_gettop(L);
  lua_getfield(L, 1, "method");
  if (!lua_isstring(L, -1)) {
    lua_pop(L, 1);
    lua_pushliteral(L, "?");
  }
  lua_pushliteral(L, " ");
  push_redacted_field(c, L, "url");
  lua_getfield(L, 1, "headers");
  if (lua_istable(L, -1))
    push_header_lines(c, L, lua_gettop(L));
  lua_remove(L, top + 4);                          /* the headers table */
  lua_pushliteral(L, "\n\n");
  push_redacted_field(c, L, "body");
  push_extra_line(L);
  lua_concat(L, lua_gettop(L) - top);
  return 1;
}

/* The client's uservalue slots: its options, then what every request of
** it shares.  Integer keys: rawgeti is the cheapest look-up there is. */
enum { UV_REQMT = 1, UV_HEADERS = 2 };

/* Pushes "Name: value" of one curl header line into the table on top. */
static void set_header(lua_State *L, const char *line)
{
  const char *colon = strchr(line, ':');
  const char *v;
  if (colon == NULL || colon[1] == '\0')           /* "Expect:" disables */
    return;
  for (v = colon + 1; *v == ' '; v++)
    ;
  lua_pushlstring(L, line, (size_t)(colon - line));
  lua_pushstring(L, v);
  lua_rawset(L, -3);
}

/* A copy of the shared headers at index shared (a transport may add its
** own), on top. */
static void push_headers(lua_State *L, int shared)
{
  lua_createtable(L, 0, 6);
  lua_pushnil(L);
  while (lua_next(L, shared)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
}

/* __index of a request: req.headers is made on its first read (most
** requests are sent or encoded without anyone reading it), then kept in
** the request like the other members.  Upvalue 1: the shared headers. */
static int l_request_index(lua_State *L)
{
  const char *k = lua_tostring(L, 2);
  if (lua_type(L, 2) != LUA_TSTRING || strcmp(k, "headers") != 0)
    return 0;
  push_headers(L, lua_upvalueindex(1));
  lua_pushvalue(L, 2);
  lua_pushvalue(L, -2);
  lua_rawset(L, 1);                                /* req.headers = copy */
  return 1;
}

/* Made once per client and kept in its uservalue: the request metatable
** (its __tostring must know the client's secrets; its __index makes
** req.headers from the headers kept beside it). */
static void make_shared(lua_State *L, uu_client *c, int client, int uv)
{
  struct curl_slist *h;
  lua_createtable(L, 0, 5);
  for (h = c->headers; h != NULL; h = h->next)
    set_header(L, h->data);
  lua_pushvalue(L, -1);
  lua_rawseti(L, uv, UV_HEADERS);
  lua_newtable(L);                                 /* headers, mt */
  lua_pushvalue(L, client);
  lua_pushcclosure(L, l_request_tostring, 1);
  lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, "userupd.request");
  lua_setfield(L, -2, "__name");
  lua_pushvalue(L, -2);
  lua_pushcclosure(L, l_request_index, 1);
  lua_setfield(L, -2, "__index");
  lua_rawseti(L, uv, UV_REQMT);
  lua_pop(L, 1);
}

/* { method, url, headers = { ... }, body } for the client at index 1;
** headers comes on first read (l_request_index). */
void uu_push_request(lua_State *L, uu_client *c, const char *method,
                     uu_buf *url, uu_buf *body)
{
  int uv;
  uu_getuservalue(L, 1);
  uv = lua_gettop(L);
  lua_rawgeti(L, uv, UV_REQMT);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    make_shared(L, c, 1, uv);
    lua_rawgeti(L, uv, UV_REQMT);
  }
  lua_createtable(L, 0, 4);                        /* uv, mt, req */
  lua_pushstring(L, method);
  lua_setfield(L, -2, "method");
  lua_pushlstring(L, url->p, url->n);
  lua_setfield(L, -2, "url");
  if (body != NULL) {
    lua_pushlstring(L, body->p, body->n);
    lua_setfield(L, -2, "body");
  }
  lua_insert(L, -2);                               /* uv, req, mt */
  lua_setmetatable(L, -2);
  lua_remove(L, uv);
}

/*
** driver.c: the C side of clients with a Lua transport.  src/loops/driver.lua
** runs their call loop (it may yield); these primitives keep every
** decision here: what to send, how long to wait, what an answer means.
** They are methods with a leading underscore, internal to the module.
**
** A transport is function(req) -> status, body, headers, or nil, message,
** kind;
** req = { method, url, headers, body, timeout, connect_timeout,
** max_response, and proxy, ca_file, http_version when the client has
** them }: a transport honours every one it is given or fails the request
** saying which it cannot (never drops one silently).
*/
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include "userupd.h"
#include "base/whole.h"
#include "loops/budget.h"
#include "loops/driver_lua.h"

/* A count driver.lua passes (attempts, a token generation): a whole
** number from 0 to 2^31 - 1. */
static int whole_arg(lua_State *L, int idx)
{
  long n = 0;
  if (!uu_lua_whole(L, idx, 0, 2147483647.0, &n))
    luaL_argerror(L, idx, "whole number from 0 to 2^31-1 expected");
  return (int)n;
}

static uu_op check_op(lua_State *L, int idx)
{
  static const char *const ops[] = {"update", "get", NULL};
  return luaL_checkoption(L, idx, NULL, ops) == 0 ? UU_OP_UPDATE : UU_OP_GET;
}

/* Adds the client's connection options a transport must honour (or
** refuse) to the request on top: proxy, ca_file, http_version. */
static void add_connection(lua_State *L, const uu_client *c)
{
  if (c->proxy != NULL) {
    lua_pushstring(L, c->proxy);
    lua_setfield(L, -2, "proxy");
  }
  if (c->ca_file != NULL) {
    lua_pushstring(L, c->ca_file);
    lua_setfield(L, -2, "ca_file");
  }
  if (c->http_version == CURL_HTTP_VERSION_1_1)
    lua_pushliteral(L, "1.1");
  else if (c->http_version == CURL_HTTP_VERSION_2_0)
    lua_pushliteral(L, "2");
  else
    return;                                /* absent: the transport's */
  lua_setfield(L, -2, "http_version");
}

/* Adds the limits and options a transport must apply to the request on
** top. */
static void add_limits(lua_State *L, const uu_client *c)
{
  add_connection(L, c);
  lua_pushnumber(L, (lua_Number)c->timeout_ms / 1000);
  lua_setfield(L, -2, "timeout");
  lua_pushnumber(L, (lua_Number)c->connect_timeout_ms / 1000);
  lua_setfield(L, -2, "connect_timeout");
  lua_pushnumber(L, (lua_Number)c->max_response);
  lua_setfield(L, -2, "max_response");
}

/* c:_request(op, id [, fields [, opts]]) -> req, or nil, err, info */
static int l_request_run(lua_State *L)
{
  uu_client *c = uu_check_client(L, 1);
  uu_op op = check_op(L, 2);
  uu_slot *s = &c->sync;
  uu_bad bad;
  if (op == UU_OP_UPDATE)
    luaL_checktype(L, 4, LUA_TTABLE);
  if (uu_build(L, c, s, op, 3, 4, op == UU_OP_UPDATE ? uu_extra_arg(L, 5) : 0,
               &bad) != 0)
    return uu_push_refusal(L, c, &bad);
  if (uu_build_url(c, op, s->id.p, s->id.n, &s->url) != 0)
    return luaL_error(L, "userupd: out of memory");
  uu_push_request(L, c, op == UU_OP_UPDATE ? c->v->method : "GET", &s->url,
                  op == UU_OP_UPDATE ? &s->body : NULL);
  add_limits(L, c);
  return 1;
}

/* c:_needs_login() -> boolean */
static int l_needs_login(lua_State *L)
{
  uu_client *c = uu_check_client(L, 1);
  lua_pushboolean(L, c->login_user != NULL && c->token == NULL);
  return 1;
}

/* c:_login_begin() -> true for the first caller while no token is held;
** others wait (c:_login_busy()) for its token instead of logging in too.
** The claim lapses after the client's timeout, should that login never
** come back. */
static int l_login_begin(lua_State *L)
{
  uu_client *c = uu_check_client(L, 1);
  double now = uu_now();
  int first = c->login_busy_until <= now;
  if (first)
    c->login_busy_until = now + (double)c->timeout_ms / 1000;
  lua_pushboolean(L, first);
  return 1;
}

static int l_login_busy(lua_State *L)
{
  uu_client *c = uu_check_client(L, 1);
  lua_pushboolean(L, c->token == NULL && c->login_busy_until > uu_now());
  return 1;
}

/* c:_login_request() -> req (the password is redacted by tostring) */
static int l_login_request_run(lua_State *L)
{
  uu_client *c = uu_check_client(L, 1);
  if (c->login_user == NULL)
    return luaL_error(L, "userupd: this client does not log in");
  if (uu_login_build(c, &c->login) != 0)
    return luaL_error(L, "userupd: out of memory");
  uu_push_request(L, c, "POST", &c->login.url, &c->login.body);
  add_limits(L, c);
  return 1;
}

/* A transport's failure, nil, message, kind, as the curl code it amounts
** to, so the retry rules and error kinds are the same as over libcurl.
** The kind comes from this fixed list; the message is only shown. */
static const char *const failure_kinds[] = {
  "timeout", "refused", "resolve", "tls", "closed", "protocol", "url", NULL};
static const CURLcode failure_codes[] = {
  CURLE_OPERATION_TIMEDOUT, CURLE_COULDNT_CONNECT,
  CURLE_COULDNT_RESOLVE_HOST, CURLE_PEER_FAILED_VERIFICATION,
  CURLE_RECV_ERROR, CURLE_WEIRD_SERVER_REPLY, CURLE_URL_MALFORMAT};

static CURLcode failure_code(lua_State *L, int idx)
{
  if (lua_type(L, idx) != LUA_TSTRING)
    luaL_error(L, "userupd: a transport failure must be nil, message, kind "
               "(kind one of timeout refused resolve tls closed protocol "
               "url), got a %s kind", luaL_typename(L, idx));
  return failure_codes[luaL_checkoption(L, idx, NULL, failure_kinds)];
}

/* Notes the headers the core reads (any case) into the slot. */
static void read_headers(lua_State *L, int idx, uu_slot *s)
{
  const char *k, *v;
  size_t kn, vn;
  if (!lua_istable(L, idx))
    return;
  lua_pushnil(L);
  while (lua_next(L, idx)) {                       /* ..., k, v */
    if (lua_type(L, -2) == LUA_TSTRING && (lua_type(L, -1) == LUA_TSTRING
                                           || lua_type(L, -1) == LUA_TNUMBER)) {
      k = lua_tolstring(L, -2, &kn);
      v = lua_tolstring(L, -1, &vn);
      uu_header_note(&s->heard, k, kn, v, vn);
    }
    lua_pop(L, 1);
  }
}

/* status, body, headers at idx..idx+2 (or nil, message) -> *a; s keeps
** what the headers said.  The body stays on the stack, a points into it. */
static void answer_from_lua(lua_State *L, uu_client *c, uu_slot *s, int idx,
                            uu_op op, uu_answer *a)
{
  size_t n = 0;
  const char *body;
  memset(a, 0, sizeof *a);
  a->op = op;
  memset(&s->heard, 0, sizeof s->heard);
  s->overflow = 0;
  body = lua_tolstring(L, idx + 1, &n);
  if (lua_isnil(L, idx)) {
    a->cc = failure_code(L, idx + 2);
    snprintf(s->errbuf, sizeof s->errbuf, "%s", body ? body : "no answer");
    a->curl_msg = s->errbuf;
  } else {
    if (!uu_lua_whole(L, idx, 100, 599, &a->status))
      luaL_error(L, "userupd: a transport's status must be a whole number "
                 "from 100 to 599, got %s", lua_type(L, idx) == LUA_TNUMBER
                 ? lua_tostring(L, idx) : luaL_typename(L, idx));
    s->status = a->status;
    a->body = body ? body : "";
    a->len = n;
    a->overflow = s->overflow = n > c->max_response;
    read_headers(L, idx + 2, s);
  }
  a->request_id = s->heard.request_id[0] ? s->heard.request_id : NULL;
}

/* c:_login_answer(status, body, headers) -> true, or nil, err, info */
static int l_login_answer_run(lua_State *L)
{
  uu_client *c = uu_check_client(L, 1);
  uu_slot *s = &c->login;
  uu_answer a;
  lua_settop(L, 4);
  c->login_busy_until = 0;                 /* the claim ends either way */
  answer_from_lua(L, c, s, 2, UU_OP_LOGIN, &a);
  s->resp.n = 0;
  if (a.body != NULL && uu_buf_add(&s->resp, a.body, a.len) != 0)
    return luaL_error(L, "userupd: out of memory");
  if (uu_login_finish(c, L, 1, s, &a) == 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  a.attempts = 1;
  return uu_push_answer(L, c, &a);
}

/* c:_token_gen() -> the generation of the token the URLs now carry */
static int l_token_gen(lua_State *L)
{
  lua_pushinteger(L, uu_check_client(L, 1)->token_gen);
  return 1;
}

/* c:_verdict(op, attempts, t0, relogged, gen, status, body, headers,
** sent) -> "retry", seconds | "relogin" | "done", user, err, info.  gen is
** the token generation the request was built with (c:_token_gen()); sent
** the body it sent (its secret fields are hidden in what the answer
** says). */
static int l_verdict_run(lua_State *L)
{
  uu_client *c = uu_check_client(L, 1);
  uu_op op = check_op(L, 2);
  uu_slot *s = &c->sync;
  double t0 = luaL_checknumber(L, 4), wait;
  int verdict;
  s->attempts = whole_arg(L, 3);
  s->relogged = lua_toboolean(L, 5);
  s->token_gen = whole_arg(L, 6);
  lua_settop(L, 10);
  answer_from_lua(L, c, s, 7, op, &s->answer);
  if (op == UU_OP_UPDATE && lua_type(L, 10) == LUA_TSTRING)
    s->answer.sent = lua_tolstring(L, 10, &s->answer.sent_len);
  verdict = uu_slot_settle(L, c, s, &wait);
  if (verdict == UU_RETRY) {
    lua_pushliteral(L, "retry");
    lua_pushnumber(L, wait);
    return 2;
  }
  if (verdict == UU_RELOGIN) {
    lua_pushliteral(L, "relogin");
    return 1;
  }
  s->answer.attempts = s->attempts;
  s->answer.elapsed = uu_now() - t0;
  lua_pushliteral(L, "done");
  return 1 + uu_push_answer(L, c, &s->answer);
}

/* The primitives that use the client's call state run as its one
** running call (guard.c): Lua inside them (__index, a finalizer) cannot
** start another. */
static int l_request(lua_State *L)
{
  return uu_guarded(L, "_request", l_request_run);
}

static int l_login_request(lua_State *L)
{
  return uu_guarded(L, "_login_request", l_login_request_run);
}

static int l_login_answer(lua_State *L)
{
  return uu_guarded(L, "_login_answer", l_login_answer_run);
}

static int l_verdict(lua_State *L)
{
  return uu_guarded(L, "_verdict", l_verdict_run);
}

/* c:_closed() -> whether a hook closed the client (never raises) */
static int l_closed(lua_State *L)
{
  lua_pushboolean(L, uu_to_client(L, 1)->closed);
  return 1;
}

/* c:_closed_error(op, attempts, t0) -> err, info for a call whose client
** a hook closed (never raises: the client is closed by now). */
static int l_closed_error(lua_State *L)
{
  uu_client *c = uu_to_client(L, 1);
  uu_answer a;
  uu_closed_answer(&a, check_op(L, 2));
  a.attempts = whole_arg(L, 3);
  a.elapsed = uu_now() - luaL_checknumber(L, 4);
  uu_push_answer(L, c, &a);
  lua_remove(L, -3);                               /* the nil user */
  return 2;
}

/* c:_take() -> store, key, rate, burst, timeout when the next attempt's
** token comes from a Lua shared_budget store: driver.lua calls
** store:take(...) itself, where it may yield, and hands the answer to
** c:_pace(true, ...).  Nothing when C paces on its own. */
static int l_take(lua_State *L)
{
  return uu_budget_take_args(uu_check_client(L, 1), L);
}

/* c:_pace() or c:_pace(true, store's answer...) -> seconds to wait
** before the next attempt, which starts after that wait (its trace notes
** it, trace.c). */
static int l_pace(lua_State *L)
{
  uu_client *c = uu_check_client(L, 1);
  double now = uu_now(), w;
  if (lua_toboolean(L, 2))
    w = uu_slot_paced(c, &c->sync, uu_budget_taken(c, L, 3, now), now);
  else
    w = uu_slot_pace(c, L, &c->sync, now);
  lua_pushnumber(L, w);
  uu_slot_begins(&c->sync);
  return 1;
}

/* Copies what a transport told of its transfer (its 4th value, a table)
** into the trace on top: reused (boolean) and the numbers of time. */
static void copy_transfer(lua_State *L, int idx)
{
  static const char *const steps[] = {"dns", "connect", "tls", "first_byte",
                                      "total", NULL};
  int i;
  if (!lua_istable(L, idx))
    return;
  lua_getfield(L, idx, "reused");
  if (lua_isboolean(L, -1))
    lua_setfield(L, -2, "reused");
  else
    lua_pop(L, 1);
  lua_createtable(L, 0, 5);
  for (i = 0; steps[i] != NULL; i++) {
    lua_getfield(L, idx, steps[i]);
    if (lua_type(L, -1) == LUA_TNUMBER)
      lua_setfield(L, -2, steps[i]);
    else
      lua_pop(L, 1);
  }
  lua_setfield(L, -2, "time");
}

/* c:_attempt(verdict, wait, transfer) -> the trace of the attempt
** c:_verdict just settled, for on_attempt (called from driver.lua, so it
** may yield); transfer is the transport's 4th value or nil. */
static int l_attempt(lua_State *L)
{
  static const char *const names[] = {"done", "retry", "relogin", NULL};
  uu_client *c = uu_check_client(L, 1);
  int verdict = luaL_checkoption(L, 2, NULL, names);
  uu_push_attempt(L, c, &c->sync, verdict, luaL_optnumber(L, 3, 0));
  copy_transfer(L, 4);
  return 1;
}

static int l_now(lua_State *L)
{
  lua_pushnumber(L, uu_now());
  return 1;
}

/* The default wait for a transport without a sleep: block. */
static int l_block(lua_State *L)
{
  uu_client *c = uu_check_client(L, lua_upvalueindex(1));
  uu_sleep(c, L, luaL_checknumber(L, 1));
  return 0;
}

/* c:_hooks() -> transport, sleep, on_attempt or nil. */
static int l_hooks(lua_State *L)
{
  uu_client *c = uu_check_client(L, 1);
  if (c->transport_ref == LUA_NOREF)
    return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->transport_ref);
  if (c->sleep_ref != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->sleep_ref);
  } else {
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, l_block, 1);
  }
  if (c->attempt_ref == LUA_NOREF)
    return 2;
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->attempt_ref);
  return 3;
}

/* The primitives driver.lua uses, for the methods of clients with a
** transport (lua_userupd.c). */
const luaL_Reg uu_driver_methods[] = {
  {"_request", l_request}, {"_needs_login", l_needs_login},
  {"_login_request", l_login_request}, {"_login_answer", l_login_answer},
  {"_login_begin", l_login_begin}, {"_login_busy", l_login_busy},
  {"_verdict", l_verdict}, {"_token_gen", l_token_gen},
  {"_pace", l_pace}, {"_take", l_take}, {"_now", l_now},
  {"_attempt", l_attempt},
  {"_hooks", l_hooks}, {"_closed", l_closed},
  {"_closed_error", l_closed_error}, {NULL, NULL}};

/* Runs the driver on the methods table on top (its primitives already
** in it): it wraps update and get in the Lua call loop. */
void uu_driver_wrap(lua_State *L)
{
  if (luaL_loadbuffer(L, driver_lua, sizeof driver_lua - 1,
                      "=userupd/driver.lua") != 0)
    lua_error(L);
  lua_pushvalue(L, -2);
  lua_call(L, 1, 0);
}

/*
** trace.c: on_attempt, the per-attempt trace hook.  After every attempt
** of update, get, update_many or submit, on every path (libcurl's easy
** and multi handles, and a Lua transport through driver.lua), the hook
** gets one table: which attempt, what came back, the wait before it and
** why, whether the connection was reused, and the transfer's times.  It
** is one of the places user Lua runs (docs/reentrancy.md): the loops look
** at the client after it.  Nothing in the table can hold a secret: no URL,
** header, body or libcurl message, only numbers, the id and fixed words.
** Unset, it costs one comparison per attempt.
*/
#include "userupd.h"

static const char *const verdicts[] = {"done", "retry", "relogin"};

static void set_number(lua_State *L, const char *k, double v)
{
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

static void set_string(lua_State *L, const char *k, const char *v)
{
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

/* What came back: status, or error = "transport" and curl_code; error is
** also set for an HTTP status that is not a success. */
static void set_outcome(lua_State *L, const uu_answer *a)
{
  if (a->refused != NULL) {
    set_string(L, "error", "rate_limited");
  } else if (a->cc != CURLE_OK) {
    set_string(L, "error", "transport");
    lua_pushinteger(L, (lua_Integer)a->cc);
    lua_setfield(L, -2, "curl_code");
  } else {
    lua_pushinteger(L, (lua_Integer)a->status);
    lua_setfield(L, -2, "status");
    if (a->status >= 300)
      set_string(L, "error", uu_status_kind(a->status));
  }
}

/* Seconds from the start of the transfer until each step ended. */
static double step(CURL *e, CURLINFO what)
{
  curl_off_t us = 0;
  if (curl_easy_getinfo(e, what, &us) != CURLE_OK)
    return 0;
  return (double)us / 1e6;
}

/* reused and time = { dns, connect, tls, first_byte, total } from the
** slot's easy handle (the libcurl paths). */
static void set_curl_times(lua_State *L, uu_slot *s)
{
  long connects = -1;
  if (s->easy == NULL)
    return;
  if (curl_easy_getinfo(s->easy, CURLINFO_NUM_CONNECTS, &connects) ==
      CURLE_OK && (connects > 0 || s->answer.cc == CURLE_OK)) {
    lua_pushboolean(L, connects == 0);
    lua_setfield(L, -2, "reused");
  }
  lua_createtable(L, 0, 5);
  set_number(L, "dns", step(s->easy, CURLINFO_NAMELOOKUP_TIME_T));
  set_number(L, "connect", step(s->easy, CURLINFO_CONNECT_TIME_T));
  set_number(L, "tls", step(s->easy, CURLINFO_APPCONNECT_TIME_T));
  set_number(L, "first_byte", step(s->easy, CURLINFO_STARTTRANSFER_TIME_T));
  set_number(L, "total", step(s->easy, CURLINFO_TOTAL_TIME_T));
  lua_setfield(L, -2, "time");
}

/* Pushes the trace of the attempt s just settled with verdict (UU_DONE,
** UU_RETRY, UU_RELOGIN); next_wait is the wait before the retry.  The
** transfer's times are the caller's to add on the Lua-transport path. */
void uu_push_attempt(lua_State *L, uu_client *c, uu_slot *s, int verdict,
                     double next_wait)
{
  lua_createtable(L, 0, 12);
  set_string(L, "vendor", c->v->name);
  set_string(L, "op", s->answer.op == UU_OP_GET ? "get" : "update");
  lua_pushlstring(L, s->id.p, s->id.n);
  lua_setfield(L, -2, "id");
  lua_pushinteger(L, s->attempts);
  lua_setfield(L, -2, "attempt");
  set_outcome(L, &s->answer);
  set_number(L, "wait", s->trace_wait);
  if (s->trace_why != NULL)
    set_string(L, "wait_reason", s->trace_why);
  set_string(L, "verdict", verdicts[verdict]);
  if (verdict == UU_RETRY) {
    set_number(L, "retry_in", next_wait);
    if (s->why != NULL)                /* noted at settle: the next wait's */
      set_string(L, "retry_reason", s->why);
  }
  if (s->heard.request_id[0] != '\0')
    set_string(L, "request_id", s->heard.request_id);
}

/* Calls on_attempt, if set, for the attempt s just settled on a libcurl
** path.  A raise in it goes to the caller, as on_result's does. */
void uu_trace_attempt(lua_State *L, uu_client *c, uu_slot *s, int verdict,
                      double next_wait)
{
  if (c->attempt_ref == LUA_NOREF || c->closed)
    return;
  luaL_checkstack(L, 4, "on_attempt");
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->attempt_ref);
  uu_push_attempt(L, c, s, verdict, next_wait);
  set_curl_times(L, s);
  lua_call(L, 1, 0);
}

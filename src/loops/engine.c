/*
** engine.c: client:update and client:get.  One call runs the retry loop
** on the client's own easy handle, so its connection stays alive between
** calls.  update_many (many.c) and submit/poll (async.c) run many at once
** on a multi handle; all of them share slot.c's life cycle.
*/
#include <stdlib.h>
#include <string.h>
#include "userupd.h"
#include "loops/budget.h"

/* Validates id and fields into the slot; 0, or -1 with bad filled. */
int uu_build(lua_State *L, uu_client *c, uu_slot *s, uu_op op, int id,
             int fields, int extra, uu_bad *bad)
{
  size_t fe;
  if (uu_check_id(c->v, L, id, &s->id, bad) != 0)
    return -1;
  if (op == UU_OP_UPDATE &&
      uu_marshal_x(c, L, fields, extra, s->id.p, s->id.n, &s->body, &fe,
                   bad) != 0)
    return -1;
  return 0;
}

/* One attempt of op on slot s, settled: its verdict, *wait before a
** retry.  on_attempt hears of it (trace.c). */
static int attempt(lua_State *L, uu_client *c, uu_slot *s, uu_op op,
                   double *wait)
{
  int verdict;
  uu_slot_arm(c, s, op);
  uu_slot_answer(s, op, curl_easy_perform(s->easy), &s->answer);
  verdict = uu_slot_settle(L, c, s, wait);
  uu_trace_attempt(L, c, s, verdict, *wait);
  return verdict;
}

/* The retry loop of one call (update, get) on slot s, which ends with the
** answer in *a.  A 401 with a login-based client means the token expired
** (20 idle minutes): log in again once and resend.  The sleep and
** on_attempt hooks may close the client: the call then ends with an
** answer saying so. */
static void send_retrying(lua_State *L, uu_client *c, uu_slot *s, uu_op op,
                          uu_answer *a)
{
  double wait;
  int verdict = UU_RETRY;
  s->attempts = s->relogged = 0;
  for (;;) {
    if (c->closed || uu_slot_url(L, c, 1, s, op) != 0 ||
        uu_quota_refuse(c, L, &s->answer, op))
      break;
    uu_sleep(c, L, uu_slot_pace(c, L, s, uu_now()));
    if (c->closed)
      break;
    verdict = attempt(L, c, s, op, &wait);
    if (verdict == UU_DONE || c->closed)
      break;
    uu_sleep(c, L, wait);
    if (c->closed)
      break;
  }
  if (c->closed && verdict != UU_DONE)   /* a done answer stands */
    uu_closed_answer(&s->answer, op);
  *a = s->answer;
  a->attempts = s->attempts;
}

/* The fields that did not take, as "A, B" (for the strict error). */
static void push_joined(lua_State *L, int list)
{
  int i, n = (int)uu_rawlen(L, list);
  luaL_checkstack(L, 2 * n + 2, "verify");        /* a name and a ", " each */
  lua_pushliteral(L, "the vendor accepted the update but did not apply: ");
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, list, i);
    if (i < n)
      lua_pushliteral(L, ", ");
  }
  lua_concat(L, n > 0 ? 2 * n : 1);
}

/* After a successful write (user, nil, info on top): read the user back
** and put the fields that did not take in info.unapplied; strict turns
** any into a rejected error.  A failed read leaves info.verified false and
** the read's error in info.verify_error. */
static void verify(lua_State *L, uu_client *c, int strict)
{
  int info = lua_gettop(L), base = info - 2;
  uu_answer ga;
  send_retrying(L, c, &c->sync, UU_OP_GET, &ga);
  uu_push_answer(L, c, &ga);                       /* guser, gerr, ginfo */
  if (lua_isnil(L, -3)) {
    lua_pushvalue(L, -2);
    lua_setfield(L, info, "verify_error");
    lua_pushboolean(L, 0);
    lua_setfield(L, info, "verified");
    lua_settop(L, info);
    return;
  }
  uu_verify(L, c->v, 3, lua_gettop(L) - 2);
  lua_pushvalue(L, -1);
  lua_setfield(L, info, "unapplied");
  lua_pushboolean(L, 1);
  lua_setfield(L, info, "verified");
  if (strict && uu_rawlen(L, -1) > 0) {
    push_joined(L, lua_gettop(L));
    lua_rawgeti(L, -2, 1);
    uu_push_error(L, c->v, "rejected", lua_tostring(L, -1), 0, NULL, NULL, 0,
                  lua_tostring(L, -2));
    lua_replace(L, base + 1);                      /* err */
    lua_pushnil(L);
    lua_replace(L, base);                          /* no user */
  }
  lua_settop(L, info);
}

/* verify = true or "strict" in update's options. */
static int verify_mode(lua_State *L, int opts)
{
  int mode = 0;
  if (lua_isnoneornil(L, opts))
    return 0;
  luaL_checktype(L, opts, LUA_TTABLE);
  lua_getfield(L, opts, "verify");
  if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1),
                                               "strict") == 0)
    mode = 2;
  else if (lua_toboolean(L, -1))
    mode = 1;
  lua_pop(L, 1);
  return mode;
}

/* client:update(id, fields) and client:get(id): user, err, info. */
int uu_update(lua_State *L, uu_client *c, uu_op op)
{
  uu_slot *s = &c->sync;
  uu_bad bad;
  uu_answer a;
  double t0 = uu_now();
  int mode;
  luaL_checkany(L, 2);
  if (op == UU_OP_UPDATE)
    luaL_checktype(L, 3, LUA_TTABLE);
  mode = op == UU_OP_UPDATE ? verify_mode(L, 4) : 0;
  lua_settop(L, 4);                        /* opts: verify, extra */
  if (uu_build(L, c, s, op, 2, 3,
               op == UU_OP_UPDATE ? uu_extra_arg(L, 4) : 0, &bad) != 0)
    return uu_push_refusal(L, c, &bad);
  send_retrying(L, c, s, op, &a);
  a.elapsed = uu_now() - t0;
  uu_push_answer(L, c, &a);
  if (mode && !lua_isnil(L, -3))
    verify(L, c, mode == 2);
  return 3;
}

/*
** async.c: client:submit(id, fields, callback) and userupd.poll(timeout),
** for hosts with their own frame loop (a game, an admin console).  submit
** validates and queues at once; the exchange advances only inside poll,
** which never blocks longer than its timeout, and callbacks run only from
** poll.
**
** One queue per Lua state, a userdata in the registry: its __gc takes
** every transfer off the multi handle and frees it.  Each job holds a
** reference to its client, so a client cannot be collected mid-flight;
** closing a client explicitly cancels its jobs first (uu_async_cancel).
*/
#include <stdlib.h>
#include <string.h>
#include "userupd.h"
#include "loops/budget.h"

#define QUEUE_KEY "userupd.async"

typedef struct job {
  uu_slot s;                 /* first: the easy handle's PRIVATE is &s */
  uu_client *c;
  int client_ref, cb_ref;
  int invalid;               /* refused at submit; err is in cb_ref's pair */
  uu_bad bad;
  struct job *next;
} job;

typedef struct queue {
  CURLM *multi;
  job *head;
  int n;
} queue;

static void job_free(lua_State *L, queue *e, job *j)
{
  if (j->s.state == UU_SLOT_ACTIVE && e->multi != NULL)
    curl_multi_remove_handle(e->multi, j->s.easy);
  uu_slot_free(&j->s);
  luaL_unref(L, LUA_REGISTRYINDEX, j->client_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, j->cb_ref);
  free(j);
}

static int queue_gc(lua_State *L)
{
  queue *e = (queue *)lua_touserdata(L, 1);
  job *j, *next;
  for (j = e->head; j != NULL; j = next) {
    next = j->next;
    job_free(L, e, j);
  }
  e->head = NULL;
  e->n = 0;
  if (e->multi != NULL)
    curl_multi_cleanup(e->multi);
  e->multi = NULL;
  return 0;
}

/* The queue of this Lua state; made on first use when create is set. */
static queue *get_queue(lua_State *L, int create)
{
  queue *e;
  lua_getfield(L, LUA_REGISTRYINDEX, QUEUE_KEY);
  e = (queue *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (e != NULL || !create)
    return e;
  e = (queue *)lua_newuserdata(L, sizeof *e);
  memset(e, 0, sizeof *e);
  lua_newtable(L);
  lua_pushcfunction(L, queue_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, QUEUE_KEY);
  if ((e->multi = curl_multi_init()) == NULL)
    luaL_error(L, "userupd: cannot create a curl multi handle");
  return e;
}

/* Drops every job of client c (it is being closed): no callback runs.  A
** job whose callback is running (and closed the client) stays, for
** deliver to free once the callback returns; its easy handle goes now
** (its results are on the stack already), so the client's share handle
** has no user left and is freed with the client. */
void uu_async_cancel(lua_State *L, uu_client *c)
{
  queue *e = get_queue(L, 0);
  job **pp, *j;
  if (e == NULL)
    return;
  for (pp = &e->head; (j = *pp) != NULL;) {
    if (j->c == c && j->s.state == UU_SLOT_DELIVERING) {
      uu_slot_free(&j->s);
      pp = &j->next;
    } else if (j->c == c) {
      *pp = j->next;
      e->n--;
      job_free(L, e, j);
    } else {
      pp = &j->next;
    }
  }
}

/* client:submit(id, fields [, opts], callback), opts = { extra = ... }:
** the arguments put as update and prepare take them, callback last. */
static int submit_args(lua_State *L)
{
  if (lua_type(L, 4) == LUA_TFUNCTION && lua_isnoneornil(L, 5)) {
    lua_settop(L, 4);
    lua_pushnil(L);
    lua_insert(L, 4);
  }
  if (!lua_isnil(L, 4))
    luaL_checktype(L, 4, LUA_TTABLE);
  luaL_checktype(L, 5, LUA_TFUNCTION);
  lua_settop(L, 5);
  return uu_extra_arg(L, 4);                       /* 6 or 0 */
}

/* client:submit(id, fields [, opts], callback): queues the update; the
** callback gets user, err, info from a later userupd.poll.  Bad input is
** not raised either: it reaches the callback as an invalid error. */
static int l_submit(lua_State *L)
{
  uu_client *c = uu_check_client(L, 1);
  queue *e;
  job *j;
  double now;
  int extra;
  luaL_checkany(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  extra = submit_args(L);                          /* callback at 5 */
  e = get_queue(L, 1);
  if ((j = (job *)calloc(1, sizeof *j)) == NULL)
    return luaL_error(L, "userupd: out of memory");
  j->client_ref = j->cb_ref = LUA_NOREF;
  j->next = e->head;                             /* owned by the queue now */
  e->head = j;
  e->n++;
  j->c = c;
  j->s.client = c;
  lua_pushvalue(L, 1);
  j->client_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushvalue(L, 5);
  j->cb_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  now = uu_now();
  j->s.t0 = now;
  if (uu_build(L, c, &j->s, UU_OP_UPDATE, 2, 3, extra, &j->bad) != 0) {
    j->invalid = 1;
    j->s.state = UU_SLOT_DONE;
    return 0;
  }
  if (uu_slot_init(c, &j->s) != 0)
    return luaL_error(L, "userupd: cannot create a curl handle");
  j->s.due = now + uu_slot_pace(c, L, &j->s, now);
  j->s.state = UU_SLOT_WAIT;
  return 0;
}

/* Starts every waiting job whose time has come (logging its client in
** first if it must: blocking, once per token). */
static void start_due_jobs(lua_State *L, queue *e)
{
  double now = uu_now();
  job *j;
  for (j = e->head; j != NULL; j = j->next) {
    uu_slot *s = &j->s;
    if (s->state != UU_SLOT_WAIT || s->due > now ||
        j->c->policy.pause_until > now)
      continue;
    lua_rawgeti(L, LUA_REGISTRYINDEX, j->client_ref);
    uu_slot_start(L, j->c, lua_gettop(L), s, e->multi); /* or done */
    lua_pop(L, 1);
  }
}

/* Pushes user, err, info for a finished job. */
static void push_results(lua_State *L, job *j)
{
  uu_answer *a = &j->s.answer;
  if (j->invalid) {
    uu_push_refusal(L, j->c, &j->bad);
    return;
  }
  a->attempts = j->s.attempts;
  a->elapsed = uu_now() - j->s.t0;
  uu_push_answer(L, j->c, a);
}

static void unlink_job(queue *e, job *j)
{
  job **pp;
  for (pp = &e->head; *pp != NULL; pp = &(*pp)->next)
    if (*pp == j) {
      *pp = j->next;
      e->n--;
      return;
    }
}

/* Runs the callback of every finished job.  A job stays in the list until
** its callback returned, so nothing leaks if the results cannot be built;
** a raising callback does not stop the others: the first error is raised
** after all were called. */
static int deliver(lua_State *L, queue *e)
{
  job *j;
  int failed = 0;
  for (;;) {
    for (j = e->head; j != NULL && j->s.state != UU_SLOT_DONE; j = j->next)
      ;
    if (j == NULL)
      break;
    j->s.state = UU_SLOT_DELIVERING;             /* cancel leaves it to us */
    lua_rawgeti(L, LUA_REGISTRYINDEX, j->cb_ref);
    push_results(L, j);
    if (lua_pcall(L, 3, 0, 0) != 0) {
      if (failed++ == 0)
        lua_insert(L, 1);                  /* keep the first error */
      else
        lua_pop(L, 1);
    }
    unlink_job(e, j);
    job_free(L, e, j);
  }
  if (failed)
    return lua_error(L);
  return 0;
}

static int ms_until(double t)
{
  double d = t - uu_now();
  return d <= 0 ? 0 : d > 3600 ? 3600000 : (int)(d * 1000) + 1;
}

/* The earliest time a waiting job may start, or deadline. */
static double next_due(const queue *e, double deadline)
{
  const job *j;
  double t = deadline;
  for (j = e->head; j != NULL; j = j->next)
    if (j->s.state == UU_SLOT_WAIT) {
      double due = j->s.due > j->c->policy.pause_until ? j->s.due
                                                : j->c->policy.pause_until;
      if (due < t)
        t = due;
    }
  return t;
}

static int any_done(const queue *e)
{
  const job *j;
  for (j = e->head; j != NULL; j = j->next)
    if (j->s.state == UU_SLOT_DONE)
      return 1;
  return 0;
}

/* userupd.poll([timeout]) -> jobs still pending.  Advances every transfer
** and waits up to timeout seconds (default 0: never blocks) for one to
** finish; runs the callbacks of the finished ones. */
static int l_poll(lua_State *L)
{
  double deadline = uu_now() + luaL_optnumber(L, 1, 0);
  queue *e = get_queue(L, 0);
  int running;
  lua_settop(L, 0);
  if (e == NULL) {
    lua_pushinteger(L, 0);
    return 1;
  }
  for (;;) {
    start_due_jobs(L, e);
    curl_multi_perform(e->multi, &running);
    if (uu_slot_harvest(L, e->multi) > 0 || any_done(e) || e->n == 0 ||
        uu_now() >= deadline)
      break;
    curl_multi_poll(e->multi, NULL, 0, ms_until(next_due(e, deadline)),
                    NULL);
  }
  deliver(L, e);
  lua_pushinteger(L, e->n);
  return 1;
}

static int l_pending(lua_State *L)
{
  queue *e = get_queue(L, 0);
  lua_pushinteger(L, e ? e->n : 0);
  return 1;
}

/* submit, for the client methods; poll and pending, for the module
** (both put in place by lua_userupd.c). */
const luaL_Reg uu_async_methods[] = {
  {"submit", l_submit},
  {NULL, NULL}};

const luaL_Reg uu_async_funcs[] = {
  {"poll", l_poll}, {"pending", l_pending},
  {NULL, NULL}};

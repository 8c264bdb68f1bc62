/*
** async.c: client:submit(id, fields, callback) and userupd.poll(timeout),
** for hosts with their own frame loop (a game, an admin console).  submit
** validates and queues at once and returns a job handle (job:cancel(),
** job:status()); the exchange advances only inside poll, which never
** blocks longer than its timeout, and callbacks run only from poll.
**
** One queue per Lua state, a userdata in the registry: its __gc takes
** every transfer off the multi handle and frees it.  Each job holds a
** reference to its client, so a client cannot be collected mid-flight;
** closing a client explicitly cancels its jobs first (uu_async_cancel).
**
** Cost: poll(0) does a bounded amount of work whatever the queue length.
** Jobs sit in doubly linked lists by state (waiting in submit order,
** retrying, on the multi handle, done, delivering), so moving one is
** O(1); at most MAX_ACTIVE transfers run at once, and each poll looks at
** no more than SCAN_MAX waiting jobs.  A waiting job holds its id, URL
** and body but no easy handle: that is made when it starts.
*/
#include <stdlib.h>
#include <string.h>
#include "userupd.h"
#include "loops/budget.h"

#define QUEUE_KEY "userupd.async"
#define JOB_MT "userupd.job"
#define MAX_ACTIVE 64        /* transfers on the multi handle at once */
#define SCAN_MAX 256         /* waiting jobs one poll looks at */

/* The lists a job can be on (job.list). */
enum { J_BUILD = 0, J_WAIT, J_RETRY, J_ACTIVE, J_DONE, J_DELIVER, J_NLISTS,
       J_NONE = -1 };

struct handle;

typedef struct job {
  uu_slot s;                 /* first: the easy handle's PRIVATE is &s */
  uu_client *c;
  int client_ref, cb_ref;
  int invalid;               /* refused at submit; err is built from bad */
  int list;                  /* J_*: the list that holds it */
  uu_bad bad;
  struct handle *h;          /* the handle submit returned, while it lives */
  struct job *prev, *next;   /* neighbours in its list */
} job;

typedef struct jlist {
  job *head, *tail;
  int n;
} jlist;

typedef struct queue {
  CURLM *multi;
  jlist l[J_NLISTS];         /* J_BUILD is not pending: still in submit */
  int n;                     /* jobs pending: every list but J_BUILD */
} queue;

/* What a job handle knows once its job is gone. */
typedef struct handle {
  job *j;                    /* NULL once the job is freed */
  const char *gone;          /* then "done" or "cancelled" */
} handle;

/* ---- lists ------------------------------------------------------------ */

static void list_out(queue *e, job *j)
{
  jlist *l;
  if (j->list == J_NONE)
    return;
  l = &e->l[j->list];
  if (j->prev != NULL)
    j->prev->next = j->next;
  else
    l->head = j->next;
  if (j->next != NULL)
    j->next->prev = j->prev;
  else
    l->tail = j->prev;
  l->n--;
  e->n -= j->list != J_BUILD;
  j->prev = j->next = NULL;
  j->list = J_NONE;
}

static void list_in(queue *e, job *j, int which)
{
  jlist *l = &e->l[which];
  list_out(e, j);
  j->prev = l->tail;
  j->next = NULL;
  if (l->tail != NULL)
    l->tail->next = j;
  else
    l->head = j;
  l->tail = j;
  l->n++;
  e->n += which != J_BUILD;
  j->list = which;
}

/* Takes j off every list and the multi handle and frees it; its handle,
** if any, remembers how it ended. */
static void job_free(lua_State *L, queue *e, job *j, const char *how)
{
  if (j->list == J_ACTIVE && e->multi != NULL && j->s.easy != NULL)
    curl_multi_remove_handle(e->multi, j->s.easy);
  list_out(e, j);
  if (j->h != NULL) {
    j->h->j = NULL;
    j->h->gone = how;
  }
  uu_slot_free(&j->s);
  luaL_unref(L, LUA_REGISTRYINDEX, j->client_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, j->cb_ref);
  free(j);
}

static int queue_gc(lua_State *L)
{
  queue *e = (queue *)lua_touserdata(L, 1);
  int i;
  for (i = 0; i < J_NLISTS; i++)
    while (e->l[i].head != NULL)
      job_free(L, e, e->l[i].head, "cancelled");
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
** has no user left and is freed with the client.  A job still being
** built stays for submit, which sees the client closed. */
void uu_async_cancel(lua_State *L, uu_client *c)
{
  queue *e = get_queue(L, 0);
  job *j, *next;
  int i;
  if (e == NULL)
    return;
  for (i = J_WAIT; i < J_NLISTS; i++)
    for (j = e->l[i].head; j != NULL; j = next) {
      next = j->next;
      if (j->c != c)
        continue;
      if (i == J_DELIVER)
        uu_slot_free(&j->s);
      else
        job_free(L, e, j, "cancelled");
    }
}

/* ---- job handles -------------------------------------------------------- */

static handle *check_handle(lua_State *L)
{
  return (handle *)luaL_checkudata(L, 1, JOB_MT);
}

static const char *job_status(const handle *h)
{
  if (h->j == NULL)
    return h->gone;
  switch (h->j->list) {
  case J_WAIT: return "waiting";
  case J_RETRY: return "waiting";
  case J_ACTIVE: return "sending";
  default: return "done";
  }
}

/* job:status() -> "waiting" (not sent yet, or waiting to retry),
** "sending", "done" (answered; its callback runs or has run), or
** "cancelled". */
static int l_job_status(lua_State *L)
{
  lua_pushstring(L, job_status(check_handle(L)));
  return 1;
}

/* job:cancel() -> true when the job was waiting: it is dropped and its
** callback never runs (a job waiting to retry was sent once and failed).
** false, and the status, when it is being sent or is done: it goes on,
** and its callback runs, so no outcome is lost. */
static int l_job_cancel(lua_State *L)
{
  handle *h = check_handle(L);
  queue *e = get_queue(L, 0);
  if (h->j != NULL && e != NULL &&
      (h->j->list == J_WAIT || h->j->list == J_RETRY)) {
    job_free(L, e, h->j, "cancelled");
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  lua_pushstring(L, job_status(h));
  return 2;
}

static int l_job_gc(lua_State *L)
{
  handle *h = (handle *)lua_touserdata(L, 1);
  if (h->j != NULL)
    h->j->h = NULL;
  h->j = NULL;
  return 0;
}

static int l_job_tostring(lua_State *L)
{
  lua_pushfstring(L, "userupd.job(%s)", job_status(check_handle(L)));
  return 1;
}

/* Pushes a new handle for j. */
static void push_handle(lua_State *L, job *j)
{
  handle *h = (handle *)lua_newuserdata(L, sizeof *h);
  h->j = NULL;
  h->gone = "done";
  if (luaL_newmetatable(L, JOB_MT)) {
    static const luaL_Reg meta[] = {
      {"cancel", l_job_cancel}, {"status", l_job_status},
      {"__gc", l_job_gc}, {"__tostring", l_job_tostring}, {NULL, NULL}};
    uu_setfuncs(L, meta, 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "__index");
  }
  lua_setmetatable(L, -2);
  h->j = j;
  j->h = h;
}

/* ---- submit ------------------------------------------------------------- */

/* client:submit(id, fields [, opts], callback), opts = { extra = ... }:
** the arguments put as update and prepare take them, callback last. */
static int submit_args(lua_State *L)
{
  int n, cb;
  if (lua_gettop(L) == 5 && lua_isnil(L, 5) &&
      lua_type(L, 4) == LUA_TFUNCTION)
    lua_settop(L, 4);                              /* submit(id, t, cb, nil) */
  n = lua_gettop(L);
  cb = n >= 5 ? 5 : 4;
  if (n > 5 || lua_type(L, cb) != LUA_TFUNCTION)
    return luaL_error(L, "bad argument #%d to 'submit' (a callback function "
                      "is expected last: submit(id, fields [, opts], "
                      "callback), got %s)", n > 5 ? n - 1 : cb - 1,
                      luaL_typename(L, n > 5 ? n : cb));
  if (cb == 4) {
    lua_pushnil(L);
    lua_insert(L, 4);                              /* no opts */
  }
  if (!lua_isnil(L, 4))
    luaL_checktype(L, 4, LUA_TTABLE);
  return uu_extra_arg(L, 4);                       /* 6 or 0 */
}

/* Under lua_pcall: lightuserdata job, id, fields, extra or nil.  Builds
** the job's record (Lua may run: __index, a finalizer, the budget store,
** and raise) and its due time. */
static int build_job(lua_State *L)
{
  job *j = (job *)lua_touserdata(L, 1);
  double now = uu_now();
  j->s.t0 = now;
  if (uu_build(L, j->c, &j->s, UU_OP_UPDATE, 2, 3,
               lua_isnil(L, 4) ? 0 : 4, &j->bad) != 0) {
    j->invalid = 1;
    return 0;
  }
  if (!j->c->closed)
    j->s.due = now + uu_slot_pace(j->c, L, &j->s, now);
  return 0;
}

/* The new job j (on J_BUILD) built from the arguments: queued (waiting,
** or done when refused), or freed if anything raised on the way. */
static void build(lua_State *L, queue *e, job *j, int extra)
{
  lua_pushcfunction(L, build_job);
  lua_pushlightuserdata(L, j);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 3);
  if (extra != 0)
    lua_pushvalue(L, extra);
  else
    lua_pushnil(L);
  if (lua_pcall(L, 4, 0, 0) != 0) {
    job_free(L, e, j, "cancelled");        /* nothing is left queued */
    lua_error(L);
  }
  if (j->c->closed) {                      /* closed while reading it */
    job_free(L, e, j, "cancelled");
    luaL_error(L, "attempt to use a closed client");
  }
  list_in(e, j, j->invalid ? J_DONE : J_WAIT);
}

/* client:submit(id, fields [, opts], callback) -> job: queues the update;
** the callback gets user, err, info from a later userupd.poll.  Bad input
** is not raised either: it reaches the callback as an invalid error. */
static int l_submit(lua_State *L)
{
  uu_client *c = uu_check_client(L, 1);
  queue *e;
  job *j;
  int extra;
  luaL_checkany(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  extra = submit_args(L);                          /* callback at 5 */
  e = get_queue(L, 1);
  if ((j = (job *)calloc(1, sizeof *j)) == NULL)
    return luaL_error(L, "userupd: out of memory");
  j->client_ref = j->cb_ref = LUA_NOREF;
  j->list = J_NONE;
  list_in(e, j, J_BUILD);                  /* owned by the queue now */
  j->c = c;
  j->s.client = c;
  lua_pushvalue(L, 1);
  j->client_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_pushvalue(L, 5);
  j->cb_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  build(L, e, j, extra);
  push_handle(L, j);
  return 1;
}

/* ---- poll --------------------------------------------------------------- */

/* Starts j: its easy handle now, then its client's login if it must
** (blocking, once per token), then the transfer. */
static void start_job(lua_State *L, queue *e, job *j)
{
  list_in(e, j, J_ACTIVE);
  if (j->s.easy == NULL && uu_slot_init(j->c, &j->s) != 0)
    luaL_error(L, "userupd: cannot create a curl handle");
  lua_rawgeti(L, LUA_REGISTRYINDEX, j->client_ref);
  if (uu_slot_start(L, j->c, lua_gettop(L), &j->s, e->multi) != 0)
    list_in(e, j, J_DONE);                 /* the login was refused */
  lua_pop(L, 1);
}

/* Starts the due jobs of list which, looking at no more than scan. */
static void start_from(lua_State *L, queue *e, int which, int scan,
                       double now)
{
  job *j, *next;
  for (j = e->l[which].head; j != NULL && scan-- > 0 &&
       e->l[J_ACTIVE].n < MAX_ACTIVE; j = next) {
    next = j->next;
    if (j->s.due <= now && j->c->policy.pause_until <= now)
      start_job(L, e, j);
  }
}

/* Retries first (there are at most MAX_ACTIVE), then new jobs in submit
** order. */
static void start_due_jobs(lua_State *L, queue *e)
{
  double now = uu_now();
  start_from(L, e, J_RETRY, MAX_ACTIVE, now);
  start_from(L, e, J_WAIT, SCAN_MAX, now);
}

/* Settles the finished transfers; moves each active job to done or, to
** retry, back to waiting.  How many are done. */
static int harvest(lua_State *L, queue *e)
{
  job *j, *next;
  int done = 0;
  if (uu_slot_harvest(L, e->multi) == 0 && e->l[J_ACTIVE].n == 0)
    return 0;
  for (j = e->l[J_ACTIVE].head; j != NULL; j = next) {
    next = j->next;
    if (j->s.state == UU_SLOT_DONE) {
      list_in(e, j, J_DONE);
      done++;
    } else if (j->s.state == UU_SLOT_WAIT) {
      list_in(e, j, J_RETRY);
    }
  }
  return done;
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

/* Runs the callback of every finished job.  A job stays listed (as
** delivering) until its callback returned, so nothing leaks if the
** results cannot be built; a raising callback does not stop the others:
** the first error is raised after all were called. */
static int deliver(lua_State *L, queue *e)
{
  job *j;
  int failed = 0;
  while ((j = e->l[J_DONE].head) != NULL) {
    list_in(e, j, J_DELIVER);
    j->s.state = UU_SLOT_DELIVERING;             /* cancel leaves it to us */
    lua_rawgeti(L, LUA_REGISTRYINDEX, j->cb_ref);
    push_results(L, j);
    if (lua_pcall(L, 3, 0, 0) != 0) {
      if (failed++ == 0)
        lua_insert(L, 1);                  /* keep the first error */
      else
        lua_pop(L, 1);
    }
    job_free(L, e, j, "done");
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

/* The earliest time a job of list which may start (looking at no more
** than scan of them), or t. */
static double due_in(const queue *e, int which, int scan, double t)
{
  const job *j;
  for (j = e->l[which].head; j != NULL && scan-- > 0; j = j->next) {
    double due = j->s.due > j->c->policy.pause_until ? j->s.due
                                              : j->c->policy.pause_until;
    if (due < t)
      t = due;
  }
  return t;
}

/* When poll should look again: the next due job, or deadline. */
static double next_due(const queue *e, double deadline)
{
  if (e->l[J_ACTIVE].n >= MAX_ACTIVE)      /* only an answer frees room */
    return deadline;
  return due_in(e, J_WAIT, SCAN_MAX, due_in(e, J_RETRY, MAX_ACTIVE,
                                             deadline));
}

/* userupd.poll([timeout]) -> jobs still pending.  Advances every transfer
** and waits up to timeout seconds (default 0: never blocks) for one to
** finish; runs the callbacks of the finished ones. */
static int l_poll(lua_State *L)
{
  double timeout = luaL_optnumber(L, 1, 0), deadline;
  queue *e = get_queue(L, 0);
  int running;
  if (!(timeout >= 0))                     /* also NaN */
    timeout = 0;
  deadline = uu_now() + (timeout > 86400 ? 86400 : timeout);
  lua_settop(L, 0);
  if (e == NULL) {
    lua_pushinteger(L, 0);
    return 1;
  }
  for (;;) {
    start_due_jobs(L, e);
    curl_multi_perform(e->multi, &running);
    if (harvest(L, e) > 0 || e->l[J_DONE].n > 0 || e->n == 0 ||
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

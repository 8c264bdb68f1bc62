/*
** many.c: client:update_many(source, opts).  Records are pulled from the
** source only when a slot is free (memory stays flat for any length),
** validated, paced by the client's bucket, and sent concurrently on one
** libcurl multi handle.  A failing record is retried on its own schedule
** without holding up the others.
**
** Durability: the outcomes finished in one round are written to the
** journal in one transaction, committed, and only then reported.  A kill
** at any moment loses no reported outcome; a record in flight at the kill
** is sent again by the next run, which is safe because PUT is idempotent.
**
** Nothing a Lua error can skip owns memory: slots, the multi handle and
** the journal hang off the client, and the next run (or the client's
** release) puts them back in order.
*/
#define _POSIX_C_SOURCE 200809L  /* sigaction */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include "loops/budget.h"
#include "loops/run.h"
#include "base/whole.h"

/* ---- the pool and the multi handle ------------------------------------ */

/* Takes every slot off the multi handle and marks it idle.  Safe to run
** on a pool a Lua error left half-way through a run. */
static void reset_pool(uu_client *c)
{
  int i;
  for (i = 0; i < c->npool; i++) {
    if (c->pool[i].state == UU_SLOT_ACTIVE && c->multi != NULL)
      curl_multi_remove_handle(c->multi, c->pool[i].easy);
    c->pool[i].state = UU_SLOT_IDLE;
  }
  if (c->journal != NULL) {
    uu_journal_close(c->journal);
    c->journal = NULL;
  }
}

void uu_many_release(uu_client *c)
{
  int i;
  reset_pool(c);
  for (i = 0; i < c->npool; i++)
    uu_slot_free(&c->pool[i]);
  free(c->pool);
  c->pool = NULL;
  c->npool = 0;
  if (c->multi != NULL)
    curl_multi_cleanup(c->multi);
  c->multi = NULL;
}

/* Grows the pool to n slots and makes the multi handle. */
static void ensure_pool(lua_State *L, uu_client *c, int n)
{
  uu_slot *grown;
  if (c->multi == NULL && (c->multi = curl_multi_init()) == NULL)
    luaL_error(L, "userupd: cannot create a curl multi handle");
  uu_pool_multi(c, c->multi, n);
  if (n <= c->npool)
    return;
  grown = (uu_slot *)realloc(c->pool, (size_t)n * sizeof *grown);
  if (grown == NULL)
    luaL_error(L, "userupd: out of memory");
  c->pool = grown;
  for (; c->npool < n; c->npool++) {
    memset(&c->pool[c->npool], 0, sizeof *grown);
    c->pool[c->npool].index = c->npool;
    if (uu_slot_init(c, &c->pool[c->npool]) != 0)
      luaL_error(L, "userupd: cannot create a curl handle");
  }
  for (n = 0; n < c->npool; n++)       /* realloc moved them: re-point */
    uu_slot_rebind(&c->pool[n]);
}

/* ---- pulling records ------------------------------------------------- */

/* A function source's values after id, fields: extra (a table) and the
** input line (a number, which the journal keeps for `userupd failures`),
** each optional, in that order.  Leaves id, fields, extra pushed. */
static void iter_tail(uu_run *r)
{
  lua_State *L = r->L;
  int line = lua_type(L, -2) == LUA_TNUMBER ? -2 : -1;
  if (!uu_lua_whole(L, line, 0, UU_MAX_SAFE_DOUBLE, &r->line))
    r->line = 0;                   /* not a line number (1e300, NaN, 2.5) */
  if (line == -2) {                                /* id, fields, line, x */
    lua_pushnil(L);
    lua_replace(L, -3);
  }
  lua_pop(L, 1);                                   /* id, fields, extra */
}

/* Pushes the next record's id, fields and extra (or nil); 0 when the
** source is done.  A function source returns id, fields [, extra] [, line]
** and is called with the number of the records it gave that were queued
** to be sent so far (not skipped as unchanged, nor refused): a caller
** keeping something per record (the CLI keeps the input row) can tell
** which records it will hear of again in on_result. */
static int pull(uu_run *r)
{
  lua_State *L = r->L;
  if (r->iter) {
    lua_pushvalue(L, r->src);
    lua_pushinteger(L, (lua_Integer)r->queued);
    lua_call(L, 1, 4);
    iter_tail(r);
    if (lua_isnil(L, -3)) {
      lua_pop(L, 3);
      return 0;
    }
    return 1;
  }
  r->line = 0;
  lua_rawgeti(L, r->src, (int)++r->next);  /* {id, fields, extra = ...} */
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return 0;
  }
  if (!lua_istable(L, -1)) {
    lua_pushnil(L);                                /* reported invalid */
    lua_pushnil(L);
    return 1;
  }
  lua_rawgeti(L, -1, 1);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_getfield(L, -1, "id");
  }
  lua_rawgeti(L, -2, 2);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_getfield(L, -2, "fields");
  }
  lua_getfield(L, -3, "extra");
  lua_remove(L, -4);
  return 1;
}

/* Fills slot s from the record (id, fields, extra on top, popped here): 1
** when it is queued, 0 when it was refused or skipped.  A record with
** extra members goes whole: changed_fields knows only the descriptor's. */
static int load(uu_run *r, uu_slot *s)
{
  lua_State *L = r->L;
  int id = lua_gettop(L) - 2, fields = id + 1, extra = id + 2, skip;
  uu_bad bad;
  s->id.n = 0;
  if (uu_check_id(r->c->v, L, id, &s->id, &bad) == 0 &&
      !lua_istable(L, fields)) {
    snprintf(bad.field, sizeof bad.field, "fields");
    snprintf(bad.msg, sizeof bad.msg, "fields: expected a table, got %s",
             luaL_typename(L, fields));
  } else if (bad.msg[0] == '\0' &&
             uu_marshal_x(r->c, L, fields, extra, s->id.p, s->id.n, &s->body,
                          &s->fields_end, &bad) == 0) {
    if (r->j != NULL) {                /* only the journal reads these */
      s->secret_fields = uu_many_has_secret(r->c->v, L, fields);
      s->hash = uu_many_hash(r, s);
    }
    s->full.n = 0;
    skip = uu_many_already_done(r, s, fields, !lua_isnil(L, extra));
    lua_pop(L, 2);                                 /* fields, extra */
    lua_rawseti(L, r->ids, s->index + 1);          /* the id, for later */
    return !skip;
  }
  uu_many_report_invalid(r, s, id, &bad);
  lua_pop(L, 3);
  return 0;
}

/* Pulls records into idle slots until none is idle or the source ends.
** Each queued record takes its place in the client's pace now. */
static void fill(uu_run *r)
{
  int i;
  double now;
  for (i = 0; i < r->conc && !r->exhausted; i++) {
    uu_slot *s = &r->c->pool[i];
    while (s->state == UU_SLOT_IDLE && !r->exhausted) {
      r->exhausted = !pull(r);
      uu_many_check_open(r);                   /* s may be gone: check first */
      if (r->exhausted)
        break;
      s->line = r->line;
      r->pulled++;
      if (!load(r, s) || (r->dry && uu_many_plan(r, s))) {
        uu_many_check_open(r);         /* on_result saw an invalid one */
        continue;
      }
      now = uu_now();
      r->queued++;
      s->state = UU_SLOT_WAIT;
      s->attempts = s->relogged = 0;
      s->t0 = now;
      s->due = now + uu_slot_pace(r->c, r->L, s, now);
    }
  }
}

/* A cold TLS pool runs one transfer alone (uu_pool_cold) until its TLS
** handshake is done: then a connection that may multiplex is there for
** PIPEWAIT to wait on, and the burst goes.  With http_version "1.1"
** (one connection per transfer) it waits for the answer, which brings
** the TLS session every later connection resumes. */
static int held_back(const uu_run *r)
{
  curl_off_t done;
  int i;
  if (!uu_pool_cold(r->c))
    return 0;
  for (i = 0; i < r->conc; i++)
    if (r->c->pool[i].state == UU_SLOT_ACTIVE) {
      done = 0;
      if (r->c->http_version == CURL_HTTP_VERSION_1_1 ||
          curl_easy_getinfo(r->c->pool[i].easy, CURLINFO_PRETRANSFER_TIME_T,
                            &done) != CURLE_OK)
        return 1;
      return done <= 0;
    }
  return 0;
}

/* The daily quota is spent: nothing more is sent or pulled, and the
** records waiting in slots stay pending (unreported, unjournaled) for the
** next run.  Requests under way finish and are reported. */
static void quota_stop(uu_run *r, long sent)
{
  int i;
  r->stop = "daily_quota";
  r->exhausted = 1;
  r->quota_sent = sent;
  for (i = 0; i < r->conc; i++)
    if (r->c->pool[i].state == UU_SLOT_WAIT) {
      r->c->pool[i].state = UU_SLOT_IDLE;
      r->held++;
    }
}

/* Starts every waiting slot whose time has come, beginning one further
** along each time so no slot is always first after a pause.  Each request
** counts against the daily quota. */
static void start_due(uu_run *r)
{
  uu_client *c = r->c;
  double now = uu_now();
  int i;
  long sent;
  if (r->h2_seen != c->pool_h2 || r->warm_seen != c->pool_warm) {
    r->h2_seen = c->pool_h2;           /* the first answer came (over h2) */
    r->warm_seen = c->pool_warm;
    uu_pool_multi(c, c->multi, r->conc);
  }
  r->first = (r->first + 1) % r->conc;
  for (i = 0; i < r->conc && r->stop == NULL; i++) {
    uu_slot *s = &c->pool[(r->first + i) % r->conc];
    if (s->state != UU_SLOT_WAIT || s->due > now ||
        c->policy.pause_until > now)
      continue;
    if (held_back(r))
      break;
    if (uu_quota_spend(c, r->L, &sent) != 0) {
      quota_stop(r, sent);
      return;
    }
    uu_slot_start(r->L, c, 1, s, c->multi);  /* or done: login refused */
  }
}

/* user, err, info for a finished slot.  A success nobody reads (no
** on_result) is neither decoded nor given an info table, unless the
** vendor hides errors in a 2xx or this one held an error envelope. */
static void push_results(uu_run *r, uu_slot *s)
{
  const uu_answer *a = &s->answer;
  if (!r->need_user && a->cc == CURLE_OK && !a->overflow &&
      a->status >= 200 && a->status < 300 && a->env_status == 0 &&
      !(r->c->v->flags & UU_V_ERR_IN_2XX)) {
    lua_pushboolean(r->L, 1);
    lua_pushnil(r->L);
    lua_pushnil(r->L);
    return;
  }
  uu_push_answer(r->L, r->c, a);
}

/* Journals every finished slot in one transaction, commits, then reports
** them: an outcome is never reported before it is durable. */
static void complete(uu_run *r)
{
  lua_State *L = r->L;
  int i, n = 0, base = lua_gettop(L) + 1;
  double now = uu_now();
  luaL_checkstack(L, 5 * r->conc + 8, "update_many");
  for (i = 0; i < r->conc; i++) {
    uu_slot *s = &r->c->pool[i];
    if (s->state != UU_SLOT_DONE)
      continue;
    if (n++ == 0 && r->j != NULL && uu_journal_begin(r->j) != 0)
      luaL_error(L, "userupd: journal: %s", uu_journal_errmsg(r->j));
    s->answer.attempts = s->attempts;
    s->answer.elapsed = now - s->t0;
    lua_rawgeti(L, r->ids, i + 1);
    push_results(r, s);
    uu_many_push_line(L, s);
    uu_many_journal(r, s, lua_gettop(L) - 4,
                    lua_isnil(L, -3) ? UU_J_OK : UU_J_FAILED);
    s->state = UU_SLOT_IDLE;
  }
  if (n > 0 && r->j != NULL)
    uu_quota_flush(r->c, L, r->j);      /* the calls behind these outcomes */
  if (n > 0 && r->j != NULL && uu_journal_commit(r->j) != 0)
    luaL_error(L, "userupd: journal: %s", uu_journal_errmsg(r->j));
  for (i = 0; i < n; i++)              /* all of them: all are journaled */
    uu_many_report(r, base + 5 * i);
  lua_settop(L, base - 1);
  uu_many_check_open(r);
}

/* ---- the loop ----------------------------------------------------------- */

/* Waits for network activity or the next due slot, whichever is first. */
static void wait_some(uu_run *r)
{
  double now = uu_now(), next = -1, t;
  int i, active = 0, held = held_back(r);  /* held: network news only */
  for (i = 0; i < r->conc; i++) {
    uu_slot *s = &r->c->pool[i];
    if (s->state == UU_SLOT_ACTIVE)
      active = 1;
    else if (s->state == UU_SLOT_WAIT && !held) {
      t = s->due > r->c->policy.pause_until ? s->due : r->c->policy.pause_until;
      if (next < 0 || t < next)
        next = t;
    }
  }
  t = next < 0 ? 1.0 : next - now;
  if (active)
    curl_multi_poll(r->c->multi, NULL, 0, t < 0 ? 0 : t > 0.1 ? 100
                    : (int)(t * 1000) + 1, NULL);
  else if (next >= 0) {
    if (r->interruptible && t > 0.25)
      t = 0.25;                        /* a signal ends a long wait soon */
    uu_sleep(r->c, r->L, t);
    uu_many_check_open(r);
  }
}

static int busy(const uu_run *r)
{
  int i;
  for (i = 0; i < r->conc; i++)
    if (r->c->pool[i].state != UU_SLOT_IDLE)
      return 1;
  return 0;
}

/* Runs under lua_pcall (so the caller can always put the pool back),
** with the client first (uu_login finds it there), then the run, the
** source, the ids table, on_result or nil, the by_kind table, on_skip,
** on_plan and on_progress (each a function or nil). */
static int loop(lua_State *L)
{
  uu_run *r = (uu_run *)lua_touserdata(L, 2);
  int running;
  r->L = L;
  r->src = 3;
  r->ids = 4;
  r->kinds = 6;
  r->on_result = lua_isnil(L, 5) ? 0 : 5;
  r->on_skip = lua_isnil(L, 7) ? 0 : 7;
  r->on_plan = lua_isnil(L, 8) ? 0 : 8;
  r->on_progress = lua_isnil(L, 9) ? 0 : 9;
  for (;;) {
    uu_many_check_stop(r);
    uu_many_tell_stop(r);
    fill(r);
    if (!busy(r) && r->exhausted)
      break;
    start_due(r);
    curl_multi_perform(r->c->multi, &running);
    uu_slot_harvest(r->L, r->c->multi);
    complete(r);
    uu_many_progress(r, 0);
    uu_many_check_stop(r);
    uu_many_tell_stop(r);
    fill(r);                           /* refill freed slots before waiting, */
    start_due(r);                      /* or they idle a whole round trip */
    if (busy(r))
      wait_some(r);
  }
  uu_quota_flush(r->c, L, r->j);         /* calls of records left pending */
  return 0;
}

/* Options: concurrency, skip_unchanged, total, changed_fields, dry_run
** (opts.progress is the binding's: it picks the on_progress renderer).  Wrong types raise (they are the caller's bug, not data). */
static void read_opts(lua_State *L, uu_run *r, int opts)
{
  int max = r->c->max_conn > 0 ? r->c->max_conn : 256;
  long n = max < 8 ? max : 8;
  lua_getfield(L, opts, "concurrency");
  if (!lua_isnil(L, -1) && !uu_lua_whole(L, -1, 1, 256, &n))
    luaL_error(L, "bad argument #2 to 'update_many' (concurrency must be "
               "1 to 256)");
  r->conc = (int)n;
  if (r->conc > max)
    r->conc = max;                     /* the vendor's connection limit */
  lua_getfield(L, opts, "skip_unchanged");
  r->skip_unchanged = lua_isnil(L, -1) || lua_toboolean(L, -1);
  lua_getfield(L, opts, "total");
  if (!lua_isnil(L, -1) && !uu_lua_whole(L, -1, 0, UU_MAX_SAFE_DOUBLE, &n))
    luaL_error(L, "bad argument #2 to 'update_many' (total must be a whole "
               "number from 0 to 2^53)");
  r->total = lua_isnil(L, -1) ? -1 : (lua_Integer)n;
  lua_getfield(L, opts, "changed_fields");
  r->changed_fields = lua_toboolean(L, -1);
  lua_getfield(L, opts, "dry_run");
  r->dry = lua_toboolean(L, -1);
  lua_pop(L, 5);
  if (r->changed_fields)
    r->skip_unchanged = 1;               /* a record with no change: skip */
  if (!r->iter && r->total < 0)
    r->total = (lua_Integer)uu_rawlen(L, r->src);
}

/* A whole number of at least 0, or dflt when the option is nil. */
static long count_opt(lua_State *L, int opts, const char *k, long dflt)
{
  long n = 0;
  lua_getfield(L, opts, k);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return dflt;
  }
  if (!uu_lua_whole(L, -1, 0, UU_MAX_SAFE_DOUBLE, &n))
    luaL_error(L, "bad argument #2 to 'update_many' (%s must be 0 or more, "
               "a whole number)", k);
  lua_pop(L, 1);
  return n;
}

/* Options for stopping early: max_auth_failures (default 5),
** max_rate_limited (default 5), max_failures (default 0, never),
** interruptible. */
static void read_stop_opts(lua_State *L, uu_run *r, int opts)
{
  r->max_auth = count_opt(L, opts, "max_auth_failures", 5);
  r->max_rl = count_opt(L, opts, "max_rate_limited", 5);
  r->max_failures = count_opt(L, opts, "max_failures", 0);
  lua_getfield(L, opts, "interruptible");
  r->interruptible = lua_toboolean(L, -1);
  lua_pop(L, 1);
}

/* One writer at a time, and only for the account and endpoint it was
** written for, unless journal_rebind (owner.c); a dry run (read-only)
** takes no lock and only checks.  A refusal closes the journal, and its
** lock, before it raises. */
static void own_journal(lua_State *L, uu_run *r, int opts)
{
  char err[640];
  int rebind;
  lua_getfield(L, opts, "journal_rebind");
  rebind = lua_toboolean(L, -1);
  lua_pushlstring(L, r->c->base.p, r->c->base.n);
  if ((r->dry || uu_journal_lock(r->j, r->took, sizeof r->took, err,
                                 sizeof err) == 0) &&
      uu_journal_bind(r->j, r->c->account, lua_tostring(L, -1), rebind, err,
                      sizeof err) == 0) {
    lua_pop(L, 2);
    return;
  }
  uu_journal_close(r->j);
  r->c->journal = r->j = NULL;
  luaL_error(L, "userupd: %s", err);
}

static void open_journal(lua_State *L, uu_run *r, int opts)
{
  char err[256];
  const char *path;
  lua_getfield(L, opts, "journal");
  if ((path = lua_tostring(L, -1)) != NULL && r->dry) {
    if (uu_journal_open_ro(path, r->c->v->name, &r->c->journal, err,
                           sizeof err) < 0)
      luaL_error(L, "userupd: %s", err);
    r->j = r->c->journal;              /* NULL: no journal yet, all new */
    if (r->j != NULL) {
      own_journal(L, r, opts);
      uu_many_secret_key(r);
    }
  } else if (path != NULL) {
    if (uu_journal_open(path, r->c->v->name, &r->c->journal, err,
                        sizeof err) != 0)
      luaL_error(L, "userupd: %s", err);
    r->j = r->c->journal;
    own_journal(L, r, opts);
    uu_many_secret_key(r);
  }
  lua_pop(L, 1);
}

/* Runs the loop under lua_pcall with what it reads at 4 (on_result),
** 5 (by_kind), 6 (on_skip), 7 (on_plan) and 8 (on_progress), SIGINT
** caught when asked.  The status. */
static int run_loop(lua_State *L, uu_run *r)
{
  struct sigaction old[2];
  int status;
  lua_getfield(L, 3, "on_stop");      /* a ref, taken and given back here */
  r->stop_ref = LUA_NOREF;
  if (!lua_isnil(L, -1))
    r->stop_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  else
    lua_pop(L, 1);
  lua_pushcfunction(L, loop);
  lua_pushvalue(L, 1);
  lua_pushlightuserdata(L, r);
  lua_pushvalue(L, 2);
  lua_newtable(L);                                 /* ids in flight */
  lua_pushvalue(L, 4);
  lua_pushvalue(L, 5);
  lua_pushvalue(L, 6);
  lua_pushvalue(L, 7);
  lua_pushvalue(L, 8);
  if (r->interruptible)
    uu_many_sigint_catch(old);
  r->c->many_running = 1;
  status = lua_pcall(L, 9, 0, 0);
  r->c->many_running = 0;
  luaL_unref(L, LUA_REGISTRYINDEX, r->stop_ref);
  if (r->interruptible)
    uu_many_sigint_restore(r, old);
  r->L = L;
  return status;
}

/* opts[k] pushed: a function or nil (anything else raises). */
static void get_hook(lua_State *L, const char *k)
{
  lua_getfield(L, 3, k);
  if (!lua_isnil(L, -1))
    luaL_checktype(L, lua_gettop(L), LUA_TFUNCTION);
}

/* on_result (4), the by_kind table (5), on_skip (6), on_plan (7) and
** on_progress (8). */
static void read_hooks(lua_State *L, uu_run *r)
{
  get_hook(L, "on_result");                        /* 4 */
  r->need_user = !lua_isnil(L, 4);
  lua_newtable(L);                                 /* 5: by_kind */
  get_hook(L, "on_skip");                          /* 6 */
  get_hook(L, "on_plan");                          /* 7 */
  get_hook(L, "on_progress");                      /* 8 */
  r->on_progress = lua_isnil(L, 8) ? 0 : 8;
  get_hook(L, "on_stop");          /* checked here, taken by run_loop */
  lua_pop(L, 1);
}

/* The run r begins: the source at 2 (a list or a function) and the
** options at 3 (a table, made when nil) checked; raises when the client
** cannot run update_many now. */
static void begin(lua_State *L, uu_client *c, uu_run *r)
{
  int t = lua_type(L, 2);
  memset(r, 0, sizeof *r);
  r->L = L;
  r->c = c;
  r->src = 2;
  r->t0 = uu_now();
  if (t != LUA_TTABLE && t != LUA_TFUNCTION)
    uu_typeerror(L, 2, "table or function");
  r->iter = t == LUA_TFUNCTION;
  uu_not_busy(L, c, "update_many");   /* inside update, get, ... */
  if (c->many_running)                 /* the pool is in use: no nesting */
    luaL_error(L, "update_many is already running on this client");
  if (c->transport_ref != LUA_NOREF)   /* inside nginx it would block */
    luaL_error(L, "update_many sends with libcurl and this client has a "
               "transport: call update per record instead");
  lua_settop(L, 3);
  if (lua_isnil(L, 3)) {
    lua_newtable(L);
    lua_replace(L, 3);
  }
  luaL_checktype(L, 3, LUA_TTABLE);
}

/* client:update_many(source, opts) -> summary */
int uu_update_many(lua_State *L)
{
  uu_client *c = uu_check_client(L, 1);
  uu_run r;
  int status;
  begin(L, c, &r);
  read_opts(L, &r, 3);
  read_stop_opts(L, &r, 3);
  read_hooks(L, &r);
  reset_pool(c);
  ensure_pool(L, c, r.conc);
  open_journal(L, &r, 3);
  uu_quota_begin(c, r.j);
  status = run_loop(L, &r);
  reset_pool(c);                                   /* closes the journal */
  if (status != 0 && uu_many_closed(L)) {
    status = 0;                        /* a callback closed the client */
    r.stop = "closed";
  }
  if (status != 0)
    return lua_error(L);
  r.on_progress = lua_isnil(L, 8) ? 0 : 8;
  uu_many_progress(&r, 1);             /* the last call: the same counts */
  uu_many_summary(&r, 5);
  if (c->release_due && luaL_callmeta(L, 1, "__gc"))
    lua_pop(L, 1);                     /* closed in on_progress: free now */
  return 1;
}

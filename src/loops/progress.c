/*
** progress.c: the progress channel of an update_many run (run.h).  The
** run calls opts.on_progress(stats) at most every UU_PROGRESS_EVERY
** seconds while it goes, and once at the end (stats.final = true).  stats
** is a new table each time, a copy: what the callback does to it changes
** nothing in the run.  The callback is user Lua (docs/reentrancy.md): it
** may close the client, which ends the run (summary.stopped = "closed"),
** and a raise in it ends the run with that error.  Drawing is the Lua
** renderer's job (userupd.progress); no terminal output comes from C.
*/
#include "loops/run.h"

#define UU_PROGRESS_EVERY 0.15   /* seconds between two calls, at least */

static void set_int(lua_State *L, const char *k, long n)
{
  lua_pushinteger(L, (lua_Integer)n);
  lua_setfield(L, -2, k);
}

/* Records in a slot: waiting for their turn or on the wire. */
static long in_flight(const uu_run *r)
{
  long n = 0;
  int i;
  for (i = 0; i < r->conc && i < r->c->npool; i++)
    if (r->c->pool[i].state != UU_SLOT_IDLE)
      n++;
  return n;
}

/* Why nothing is being sent just now, or NULL: the vendor asked for a
** pause (Retry-After, a spent rate-limit window), or every record in a
** slot waits for its turn in the client's pace. */
static const char *waiting(const uu_run *r, double now, double *secs)
{
  const uu_client *c = r->c;
  double due = -1;
  int i, active = 0;
  if (c->policy.pause_until > now) {
    *secs = c->policy.pause_until - now;
    return "rate_limited";
  }
  for (i = 0; i < r->conc && i < c->npool; i++) {
    if (c->pool[i].state == UU_SLOT_ACTIVE)
      active = 1;
    else if (c->pool[i].state == UU_SLOT_WAIT &&
             (due < 0 || c->pool[i].due < due))
      due = c->pool[i].due;
  }
  if (active || due <= now)
    return NULL;
  *secs = due - now;
  return "pacing";
}

/* The counts as of now, into the table on top. */
static void push_counts(const uu_run *r)
{
  lua_State *L = r->L;
  set_int(L, "done", r->done + r->unchanged + r->skipped);
  if (r->total >= 0)
    set_int(L, "total", (long)r->total);
  set_int(L, "ok", r->ok);
  set_int(L, "failed", r->failed);
  set_int(L, "invalid", r->invalid);
  set_int(L, "unchanged", r->unchanged);
  set_int(L, "skipped", r->skipped);
  if (r->dry)
    set_int(L, "ready", r->ready);
}

/* Pushes the stats table: counts, in_flight, elapsed, rate (outcomes per
** second so far), waiting and wait (seconds) when nothing is sent now,
** final at the end. */
static void push_stats(const uu_run *r, double now, int final)
{
  lua_State *L = r->L;
  double el = now - r->t0, secs = 0;
  const char *why = final ? NULL : waiting(r, now, &secs);
  lua_createtable(L, 0, 14);
  push_counts(r);
  set_int(L, "in_flight", final ? 0 : in_flight(r));
  lua_pushnumber(L, el);
  lua_setfield(L, -2, "elapsed");
  lua_pushnumber(L, el > 0 ? (double)r->done / el : 0.0);
  lua_setfield(L, -2, "rate");
  if (why != NULL) {
    lua_pushstring(L, why);
    lua_setfield(L, -2, "waiting");
    lua_pushnumber(L, secs);
    lua_setfield(L, -2, "wait");
  }
  lua_pushboolean(L, final);
  lua_setfield(L, -2, "final");
}

/* Calls on_progress(stats) when one is set and its time has come (always
** when final).  The client is busy meanwhile: a progress tick comes while
** requests are on the wire and the multi handle is not being pumped, so
** an update, get, prepare, encode or update_many on the same client from
** here is refused (guard.c) instead of waiting on the connections those
** requests hold.  A close is kept for after the run (release_due).
** Inside the loop a closed client ends the run. */
void uu_many_progress(uu_run *r, int final)
{
  lua_State *L = r->L;
  double now;
  int status;
  if (r->on_progress == 0)             /* the common case: not even a clock */
    return;
  now = uu_now();
  if (!final && now - r->drawn < UU_PROGRESS_EVERY)
    return;
  r->drawn = now;
  luaL_checkstack(L, 4, "on_progress");
  lua_pushvalue(L, r->on_progress);
  push_stats(r, now, final);
  r->c->busy = "update_many (its on_progress)";
  status = lua_pcall(L, 1, 0, 0);
  r->c->busy = NULL;
  if (status != 0)
    lua_error(L);
  if (!final)
    uu_many_check_open(r);
}

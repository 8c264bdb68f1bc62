/*
** stop.c: how an update_many run stops early (run.h).  A callback that
** closed the client ends the run at once; SIGINT or SIGTERM (with
** `interruptible`),
** a streak of auth failures or of failures of any kind, and the daily
** quota end the pulling, and what is in flight finishes and is journaled.
*/
#define _POSIX_C_SOURCE 200809L  /* sigaction */
#include <string.h>
#include <signal.h>
#include "loops/run.h"

/* What a run raises, under its own pcall, when one of its callbacks
** (on_result, the source iterator, sleep) closed the client: the pool,
** the multi handle and the journal went with it, so the run stops at
** once and update_many returns a summary saying so. */
static char closed_mark;

void uu_many_check_open(uu_run *r)
{
  if (r->c->closed) {
    lua_pushlightuserdata(r->L, &closed_mark);
    lua_error(r->L);
  }
}

/* The error on top is the mark uu_many_check_open raises. */
int uu_many_closed(lua_State *L)
{
  return lua_touserdata(L, -1) == &closed_mark;
}

/* Stopping early on systemic failure: max_auth_failures (default 5)
** auth failures in a row, max_rate_limited (default 5) records still
** rate_limited after their retries in a row, or max_failures failures of
** any kind in a row
** (invalid records are the data's fault and break no streak).  The run
** then pulls nothing more; what is in flight finishes and is journaled. */
void uu_many_streak(uu_run *r, const char *kind)
{
  if (kind != NULL && strcmp(kind, "invalid") == 0)
    return;
  r->auth_row = kind != NULL && strcmp(kind, "auth") == 0 ? r->auth_row + 1
                                                          : 0;
  r->rl_row = kind != NULL && strcmp(kind, "rate_limited") == 0
              ? r->rl_row + 1 : 0;
  r->fail_row = kind != NULL ? r->fail_row + 1 : 0;
  if (r->stop != NULL)
    return;
  if (r->max_auth > 0 && r->auth_row >= r->max_auth)
    r->stop = "auth";
  else if (r->max_rl > 0 && r->rl_row >= r->max_rl)
    r->stop = "rate_limited";          /* a 429 storm: the rest waits */
  else if (r->max_failures > 0 && r->fail_row >= r->max_failures)
    r->stop = "max_failures";
}

/* SIGINT or SIGTERM (systemd, docker, timeout) while a run with
** `interruptible` is going: the first asks the run to stop (nothing more
** is pulled or retried; what is in flight finishes, within the client's
** timeout, and is journaled); a second drops what is still in flight
** (not journaled: the next run sends it again) so the run ends at once
** with its summary; a third restores the default action and delivers
** itself, for a loop that cannot come back.  Holds the signal that came,
** and how many came. */
static volatile sig_atomic_t interrupted;
static volatile sig_atomic_t presses;

static void on_signal(int sig)
{
  if (presses >= 2) {
    signal(sig, SIG_DFL);
    raise(sig);
  }
  presses = presses + 1;
  if (!interrupted)
    interrupted = sig;
}

void uu_many_sigint_catch(struct sigaction *old)
{
  struct sigaction sa;
  interrupted = 0;
  presses = 0;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old[0]);
  sigaction(SIGTERM, &sa, &old[1]);
}

/* The run stops for the signal that came, and says which (summary). */
static void note_signal(uu_run *r)
{
  if (interrupted && r->stop == NULL) {
    r->stop = "interrupted";
    r->signal = interrupted;
  }
}

/* Puts the handlers back; a signal that came stops the run. */
void uu_many_sigint_restore(uu_run *r, const struct sigaction *old)
{
  sigaction(SIGINT, &old[0], NULL);
  sigaction(SIGTERM, &old[1], NULL);
  note_signal(r);
}

/* A second signal: the requests in flight are dropped unanswered.  They
** were sent but are not journaled, so the next run sends them again (a PUT
** is idempotent); the summary counts them as abandoned. */
static void abandon(uu_run *r)
{
  int i;
  for (i = 0; i < r->conc; i++) {
    uu_slot *s = &r->c->pool[i];
    if (s->state != UU_SLOT_ACTIVE)
      continue;
    curl_multi_remove_handle(r->c->multi, s->easy);
    s->state = UU_SLOT_IDLE;
    r->abandoned++;
  }
}

/* Ends the pulling when the run must stop, and drops the records still
** waiting for their turn: they were never sent, and not journaled, so the
** next run sends them. */
void uu_many_check_stop(uu_run *r)
{
  int i;
  if (r->interruptible)
    note_signal(r);
  if (r->stop == NULL)
    return;
  r->exhausted = 1;
  for (i = 0; i < r->conc; i++)
    if (r->c->pool[i].state == UU_SLOT_WAIT) {
      r->c->pool[i].state = UU_SLOT_IDLE;
      r->held++;                       /* left for the next run */
    }
  if (r->interruptible && presses >= 2)
    abandon(r);
}

/* Tells opts.on_stop(why, in_flight), once, that the run stops pulling:
** the CLI says so at once instead of waiting silently for the slowest
** answer.  The client is busy meanwhile, as during on_progress: requests
** are on the wire, so an update, get, prepare, encode or update_many on
** the same client is refused at once (guard.c) instead of waiting on the
** connections they hold.  The callback may close the client (kept for
** after the run; the run ends "closed"). */
void uu_many_tell_stop(uu_run *r)
{
  int i, status;
  long flying = 0;
  if (r->stop == NULL || r->stop_told || r->stop_ref == LUA_NOREF)
    return;
  r->stop_told = 1;
  for (i = 0; i < r->conc; i++)
    if (r->c->pool[i].state == UU_SLOT_ACTIVE)
      flying++;
  lua_rawgeti(r->L, LUA_REGISTRYINDEX, r->stop_ref);
  lua_pushstring(r->L, r->stop);
  lua_pushinteger(r->L, (lua_Integer)flying);
  r->c->busy = "update_many (its on_stop)";  /* as on_progress: see */
  status = lua_pcall(r->L, 2, 0, 0);         /* uu_many_progress */
  r->c->busy = NULL;
  if (status != 0)
    lua_error(r->L);
  uu_many_check_open(r);
}

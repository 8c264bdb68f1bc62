/*
** budget.h: pacing shared beyond one client (the `shared_budget` option)
** and the daily quota (`daily_quota`).  The core asks one question before
** each request, uu_budget_pace: how long until it may start?  A store
** answers it for every client naming the same budget: the file store here
** in C, or a Lua object with take/spend methods (lua/userupd/budget/).
*/
#ifndef UU_BUDGET_H
#define UU_BUDGET_H

#include "userupd.h"
#include "base/hash.h"

struct uu_journal;

/* Reads shared_budget and daily_quota; raises on bad values. */
void uu_budget_open(uu_client *c, lua_State *L, int opts);
void uu_budget_close(uu_client *c, lua_State *L);

/* Seconds until the next request may start (0: now), its token taken:
** from the shared store when there is one, else the client's bucket. */
double uu_budget_pace(uu_client *c, lua_State *L, double now);

/* A retry is a call too: with a shared store it takes a token, and waits
** for it when that is longer than wait (the backoff); else wait. */
double uu_budget_retry(uu_client *c, lua_State *L, double wait);

/* The same in two halves, for a Lua transport's call loop (driver.lua),
** where a store's take may yield: take_args pushes store, key, rate,
** burst, timeout and returns 5 when the take goes to a Lua store (else 0:
** use uu_budget_pace); the loop calls store:take(key, rate, burst,
** timeout) in Lua, and taken turns its answer (at idx, idx + 1: wait, or
** nil and a message) into the wait, checked as a take from C is. */
int uu_budget_take_args(uu_client *c, lua_State *L);
double uu_budget_taken(uu_client *c, lua_State *L, int idx, double now);

/* Whether the pace comes from a shared store (file or Lua), not the
** client's own bucket (on_attempt's "budget" reason). */
int uu_budget_shared(const uu_client *c);

/* The quota of a run: begin reads today's count (from the store, else the
** journal, else the client's own count); spend counts one request, or
** returns 1 without counting when the quota is reached (*sent: today's
** count); flush writes the run's count into the journal. */
void uu_quota_begin(uu_client *c, struct uu_journal *j);
long uu_quota_left(uu_client *c, lua_State *L);
int uu_quota_spend(uu_client *c, lua_State *L, long *sent);
void uu_quota_flush(uu_client *c, lua_State *L, struct uu_journal *j);
long uu_quota_limit(const uu_client *c);

/* For one call of update or get: counts it, or, when the quota is spent,
** fills *a with a refusal (kind rate_limited, never sent) and returns 1. */
int uu_quota_refuse(uu_client *c, lua_State *L, uu_answer *a, uu_op op);

#endif

/*
** slot.c: one request's life cycle, written once for every call loop
** (engine.c, many.c, async.c, driver.c): start it (log in if needed, URL,
** handle), settle its answer (the policy's verdict, the next due time, a
** stale token dropped), and wait between attempts.  A slot's state is one
** of UU_SLOT_* (userupd.h) in every loop.
*/
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include "userupd.h"
#include "loops/budget.h"

/* Blocks for secs, or hands the wait to the client's sleep function (which
** may close the client: callers look at c->closed afterwards). */
void uu_sleep(uu_client *c, lua_State *L, double secs)
{
  struct timespec ts;
  if (!(secs > 0))                         /* also NaN */
    return;
  if (secs > 86400)
    secs = 86400;
  if (c->sleep_ref != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->sleep_ref);
    lua_pushnumber(L, secs);
    lua_call(L, 1, 0);
    return;
  }
  ts.tv_sec = (time_t)secs;
  ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* The policy's verdict on answer a of slot s (policy.c): done, retry
** after *wait seconds, or log in again. */
int uu_decide(uu_client *c, const uu_slot *s, const uu_answer *a,
              int attempts, int *relogged, double *wait)
{
  uu_limits l;
  uu_limits_read(&l, &s->heard, uu_wall());
  return uu_policy_decide(&c->policy, &l, uu_answer_status(a),
                          uu_retryable(a),
                          c->login_user != NULL, attempts, relogged,
                          uu_now(), wait);
}

/* Drops the token a request of generation gen was refused with.  Several
** requests may see the same token expire; only the first drops it, and a
** newer token (another request already logged in again) is kept. */
void uu_drop_token(uu_client *c, int gen)
{
  if (gen != c->token_gen)
    return;
  free(c->token);
  c->token = NULL;
}

/* Logs the client (at stack index cidx) in if it must, then builds the
** URL of s, noting the token generation it carries.  -1 when the login
** was refused: its answer is the slot's, and the slot is done. */
int uu_slot_url(lua_State *L, uu_client *c, int cidx, uu_slot *s, uu_op op)
{
  if (c->login_user != NULL && c->token == NULL &&
      uu_login(c, L, cidx, &s->answer) != 0) {
    s->state = UU_SLOT_DONE;
    return -1;
  }
  s->token_gen = c->token_gen;
  if (uu_build_url(c, op, s->id.p, s->id.n, &s->url) != 0)
    luaL_error(L, "userupd: out of memory");
  return 0;
}

/* Notes a wait of w seconds before the next attempt of s, for why: the
** attempt's trace (trace.c) gives the sum and the reason of the longest. */
static void note_wait(uu_slot *s, double w, const char *why)
{
  if (!(w > 0))
    return;
  s->waited += w;
  if (w > s->why_part) {
    s->why_part = w;
    s->why = why;
  }
}

/* An attempt of s starts now: the waits noted so far are the ones before
** it. */
void uu_slot_begins(uu_slot *s)
{
  s->trace_wait = s->waited;
  s->trace_why = s->why;
  s->waited = s->why_part = 0;
  s->why = NULL;
}

/* Seconds until the next attempt of s may start, its token taken
** (budget.c), noted with the reason: the vendor's pause, the shared
** store, or the client's own pace. */
double uu_slot_pace(uu_client *c, lua_State *L, uu_slot *s, double now)
{
  return uu_slot_paced(c, s, uu_budget_pace(c, L, now), now);
}

/* Notes w, the pace of the next attempt of s decided at now, with its
** reason; returns w. */
double uu_slot_paced(uu_client *c, uu_slot *s, double w, double now)
{
  double pause = c->policy.pause_until - now;
  note_wait(s, w, pause > 0 && pause >= w ? UU_WHY_RETRY_AFTER
                  : uu_budget_shared(c) ? UU_WHY_BUDGET : UU_WHY_PACING);
  return w;
}

/* The handle of s set up for one more attempt of op. */
void uu_slot_arm(uu_client *c, uu_slot *s, uu_op op)
{
  int body = op == UU_OP_UPDATE;
  uu_slot_prepare(s, body ? c->v->method : "GET", body);
  s->attempts++;
  uu_slot_begins(s);
}

/* Starts an update on multi (many.c, async.c); 0 started, -1 done (the
** login was refused). */
int uu_slot_start(lua_State *L, uu_client *c, int cidx, uu_slot *s,
                  CURLM *multi)
{
  if (uu_slot_url(L, c, cidx, s, UU_OP_UPDATE) != 0)
    return -1;
  uu_slot_arm(c, s, UU_OP_UPDATE);
  if (curl_multi_add_handle(multi, s->easy) != CURLM_OK)
    luaL_error(L, "userupd: curl_multi_add_handle failed");
  s->state = UU_SLOT_ACTIVE;
  return 0;
}

/* The verdict on s->answer: done, waiting until s->due for a retry, or
** waiting for a login (the token it was sent with dropped).  An error
** envelope inside a 2xx counts as the status it stands for. */
int uu_slot_settle(lua_State *L, uu_client *c, uu_slot *s, double *wait)
{
  int verdict;
  uu_envelope_note(c, L, &s->answer);
  verdict = uu_decide(c, s, &s->answer, s->attempts, &s->relogged, wait);
  s->state = verdict == UU_DONE ? UU_SLOT_DONE : UU_SLOT_WAIT;
  s->due = uu_now() + *wait;
  if (verdict == UU_RETRY)
    note_wait(s, *wait, uu_retry_after(s->heard.retry_after, uu_wall()) >= 0
                        ? UU_WHY_RETRY_AFTER : UU_WHY_BACKOFF);
  if (verdict == UU_RELOGIN)
    uu_drop_token(c, s->token_gen);
  return verdict;
}

/* The verdict on the transfer of s that multi finished with cc.  A retry
** waits for the client's shared budget too (budget.c), as its first
** attempt did.  Then on_attempt hears of it (trace.c). */
static int settle_finished(lua_State *L, uu_slot *s, CURLcode cc)
{
  double wait, w;
  int verdict;
  uu_slot_answer(s, UU_OP_UPDATE, cc, &s->answer);
  verdict = uu_slot_settle(L, s->client, s, &wait);
  if (verdict == UU_RETRY) {
    w = uu_budget_retry(s->client, L, wait);
    note_wait(s, w - wait, UU_WHY_BUDGET);
    s->due = uu_now() + w;
    wait = w;
  }
  uu_trace_attempt(L, s->client, s, verdict, wait);
  return verdict;
}

/* Settles every transfer multi finished (the handle's PRIVATE is its
** slot); how many are done for good.  on_attempt may close the client:
** the loops look after this returns. */
int uu_slot_harvest(lua_State *L, CURLM *multi)
{
  CURLMsg *m;
  CURL *e;
  CURLcode cc;
  char *priv;
  int left, done = 0;
  while ((m = curl_multi_info_read(multi, &left)) != NULL) {
    if (m->msg != CURLMSG_DONE)
      continue;
    e = m->easy_handle;
    cc = m->data.result;                       /* m dies on removal */
    curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
    curl_multi_remove_handle(multi, e);
    done += settle_finished(L, (uu_slot *)(void *)priv, cc) == UU_DONE;
  }
  return done;
}

/*
** policy.c: pacing and retries (policy.h).  Plain C: no Lua, no libcurl,
** no clock; the call loops pass the time in.
*/
#define _DEFAULT_SOURCE 1 /* timegm */
#define _XOPEN_SOURCE 700 /* strptime */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "policy/policy.h"

/* A full bucket; the rest of *p (options) is the caller's. */
void uu_policy_init(uu_policy *p, double now, uint64_t seed)
{
  p->tokens = p->burst;
  p->last_fill = now;
  p->pause_until = 0;
  p->rng = seed;
}

/* A wait from the wire, made safe: NaN and absurd values are none (-1). */
double uu_seconds(double d)
{
  return d != d || d > 1e9 ? -1 : d < 0 ? 0 : d;
}

/* A server's "wait this long", made safe: beyond any sane wait (1e308,
** inf, a date in the year 9999) it is still a long wait, never none; the
** caller caps it at max_retry_wait.  NaN is none. */
static double long_wait(double d)
{
  return d > 1e9 ? 1e9 : uu_seconds(d);
}

/* Retry-After as seconds: a number, or an HTTP date (RFC 7231) compared
** with wall, the Unix time now. */
double uu_retry_after(const char *v, double wall)
{
  struct tm tm;
  char *end;
  double d = strtod(v, &end);
  if (end != v && *end == '\0')         /* "nan" and "inf" parse too */
    return long_wait(d);
  memset(&tm, 0, sizeof tm);
  if (strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm) == NULL)
    return -1;
  return long_wait((double)timegm(&tm) - floor(wall));
}

/* The headers' text as numbers.  X-RateLimit-Reset-After (seconds from
** now) is exact and wins over X-RateLimit-Reset (a Unix time, compared
** with wall and its fraction: whole seconds would wait up to a second too
** long at every window). */
void uu_limits_read(uu_limits *l, const uu_heard *h, double wall)
{
  l->retry_after = h->retry_after[0] ? uu_retry_after(h->retry_after, wall)
                                     : -1;
  l->rl_remaining = h->rl_remaining[0] ? strtol(h->rl_remaining, NULL, 10)
                                       : -1;
  l->rl_reset = -1;
  if (h->rl_reset_after[0])
    l->rl_reset = uu_seconds(strtod(h->rl_reset_after, NULL));
  else if (h->rl_reset[0])
    l->rl_reset = uu_seconds(strtod(h->rl_reset, NULL) - wall);
}

/* A random double in [0, 1): xorshift64*, per client. */
double uu_jitter(uu_policy *p)
{
  uint64_t x = p->rng ? p->rng : 0x9E3779B97F4A7C15ULL;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  p->rng = x;
  return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

/* Seconds to wait before attempt number attempt+1: exponential backoff
** with full jitter, or the vendor's Retry-After, never more than
** max_retry_wait.  A Retry-After wait gets up to retry_base of jitter on
** top: requests told the same wait must not all come back at once, in the
** same order, and meet the same limit again. */
double uu_backoff(uu_policy *p, int attempt, double ra)
{
  double cap = p->retry_base * pow(2.0, attempt - 1);
  if (!(ra >= 0))                          /* none, or NaN */
    return uu_jitter(p) * (cap > p->max_retry_wait ? p->max_retry_wait
                                                   : cap);
  return (ra > p->max_retry_wait ? p->max_retry_wait : ra) +
         uu_jitter(p) * p->retry_base;
}

/* Seconds until the next request may start (0: now), taking a token.  The
** bucket refills at rate per second up to burst; the vendor's own word
** (X-RateLimit-Remaining 0, a 429's Retry-After) pauses everything. */
double uu_pace(uu_policy *p, double now)
{
  double wait = p->pause_until > now ? p->pause_until - now : 0;
  if (p->rate <= 0)
    return wait;
  p->tokens += (now - p->last_fill) * p->rate;
  p->last_fill = now;
  if (p->tokens > p->burst)
    p->tokens = p->burst;
  p->tokens -= 1;
  if (p->tokens < 0 && -p->tokens / p->rate > wait)
    wait = -p->tokens / p->rate;
  return wait;
}

/* After an answer: when the vendor says its budget is spent, every
** request of this client waits for the reset (capped by max_retry_wait). */
void uu_note_limits(uu_policy *p, long status, const uu_limits *l,
                    double now)
{
  double until = -1;
  if (l->rl_remaining == 0 && l->rl_reset >= 0)
    until = now + l->rl_reset;
  if (status == 429 && l->retry_after >= 0)
    until = now + l->retry_after;
  if (until > now + p->max_retry_wait)
    until = now + p->max_retry_wait;
  if (until > p->pause_until)
    p->pause_until = until;
}

/* What to do after an exchange: done, retry after *wait seconds, or log
** in again (a 401 when the client can log in: the token expired after 20
** idle minutes; once per record).  Notes the vendor's limits first. */
int uu_policy_decide(uu_policy *p, const uu_limits *l, long status,
                     int retryable, int can_relogin, int attempts,
                     int *relogged, double now, double *wait)
{
  uu_note_limits(p, status, l, now);
  *wait = 0;
  if (status == 401 && can_relogin && !*relogged) {
    *relogged = 1;
    return UU_RELOGIN;
  }
  if (retryable && attempts <= p->retries) {
    *wait = uu_backoff(p, attempts, l->retry_after);
    return UU_RETRY;
  }
  return UU_DONE;
}

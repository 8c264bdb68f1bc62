/*
** policy.h: when to send and whether to send again.  The token bucket, the
** vendor's own limits (Retry-After, X-RateLimit-*), the retry decision and
** the jitter, as plain C on plain numbers: no Lua, no libcurl, no clock
** (every function is told the time), so spec/unit/policy_spec.lua drives it
** through a small C program with numbers alone.
*/
#ifndef UU_POLICY_H
#define UU_POLICY_H

#include <stddef.h>
#include <stdint.h>

/* A client's policy: its options and the state of its bucket. */
typedef struct uu_policy {
  int retries;               /* sends after the first, at most */
  double retry_base;         /* seconds: backoff unit and jitter span */
  double max_retry_wait;     /* no single wait is longer */
  double rate, burst;        /* requests per second (0: unlimited), depth */
  double tokens, last_fill;  /* the bucket */
  double pause_until;        /* the vendor's word: nothing starts before */
  uint64_t rng;              /* xorshift64* state for the jitter */
} uu_policy;

/* What an answer's headers said, as text: captured by uu_header_note
** (request.c) from libcurl's header lines or a Lua transport's table;
** read into numbers by uu_limits_read.  "" = the header was absent. */
typedef struct uu_heard {
  char retry_after[64];
  char rl_remaining[24];
  char rl_reset[32];         /* X-RateLimit-Reset: a Unix time */
  char rl_reset_after[32];   /* X-RateLimit-Reset-After: seconds */
  char request_id[96];
} uu_heard;

/* The same, as numbers. */
typedef struct uu_limits {
  double retry_after;        /* seconds, -1 if none */
  double rl_reset;           /* seconds from now, -1 if none */
  long rl_remaining;         /* -1 if none */
} uu_limits;

/* The answer's verdict. */
enum { UU_DONE = 0, UU_RETRY, UU_RELOGIN };

void uu_policy_init(uu_policy *p, double now, uint64_t seed);
double uu_seconds(double d);
double uu_retry_after(const char *v, double wall);
void uu_limits_read(uu_limits *l, const uu_heard *h, double wall);
double uu_jitter(uu_policy *p);
double uu_backoff(uu_policy *p, int attempt, double retry_after);
double uu_pace(uu_policy *p, double now);
void uu_note_limits(uu_policy *p, long status, const uu_limits *l,
                    double now);
int uu_policy_decide(uu_policy *p, const uu_limits *l, long status,
                     int retryable, int can_relogin, int attempts,
                     int *relogged, double now, double *wait);

#endif

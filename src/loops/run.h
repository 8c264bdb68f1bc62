/*
** run.h: what one update_many run carries across its calls, shared by the
** files that make it up (private to src/loops):
**   many.c      the run loop: options, the pool, pulling, sending, waiting
**   changes.c   change detection: fingerprints, skip_unchanged,
**               changed_fields
**   outcome.c   journaling and reporting outcomes, the summary
**   stop.c      stopping early: SIGINT, failure streaks, a closed client
**   progress.c  the progress channel (on_progress)
*/
#ifndef UU_RUN_H
#define UU_RUN_H

#include "userupd.h"
#include "journal/journal.h"

/* One update_many run; lives on the C stack of uu_update_many. */
typedef struct uu_run {
  lua_State *L;              /* the state the loop runs in */
  uu_client *c;              /* the client whose pool sends */
  int src;                   /* stack index: the source (list or function) */
  int ids;                   /* stack index: slot number -> id in flight */
  int on_result;             /* stack index: on_result, or 0 */
  int kinds;                 /* stack index: the by_kind counts table */
  int on_skip;               /* stack index: on_skip, or 0 */
  int on_plan;               /* stack index: on_plan (dry_run), or 0 */
  int dry;                   /* dry_run: plan, send and write nothing */
  const char *why;           /* the journal's reason to send: new, changed,
                                failed (a dry run's plan says it) */
  long ready;                /* a dry run's records it would send */
  int iter;                  /* the source is a function, not a list */
  int exhausted;             /* nothing more is pulled */
  int conc;                  /* slots in use: opts.concurrency, capped */
  int need_user;             /* results are read: decode every answer */
  int skip_unchanged;        /* skip a record whose payload last succeeded */
  int changed_fields;        /* send only the fields that differ */
  int interruptible;         /* SIGINT stops the run gently */
  int first;                 /* the slot where start_due starts this round */
  int h2_seen;               /* the multi's cap knows the pool speaks h2 */
  int warm_seen;             /* and that the pool is warm */
  const char *stop;          /* why the run stopped early, or NULL */
  int signal;                /* SIGINT or SIGTERM that stopped it, or 0 */
  char took[160];            /* the dead writer whose journal lock this */
                             /* run took over ("pid .. on host .."), or "" */
  long max_auth;             /* auth failures in a row that stop; 0 never */
  long max_failures;         /* failures in a row that stop; 0 never */
  long max_rl;               /* rate_limited outcomes in a row that stop;
                                0 never */
  long rl_row;               /* the current streak of rate_limited ones */
  int stop_ref;              /* registry ref of opts.on_stop, or
                                LUA_NOREF */
  int stop_told;             /* on_stop was called for this stop */
  long abandoned;            /* in flight at a second signal, dropped
                                unjournaled: the next run sends them */
  long auth_row;             /* the current streak of auth failures */
  long fail_row;             /* the current streak of failures of any kind */
  lua_Integer next;          /* a list source: the last index read */
  lua_Integer total;         /* records expected, or -1 when unknown */
  long line;                 /* the pulled record's input line, or 0 */
  long ok;                   /* outcomes: successes */
  long failed;               /* outcomes: failures other than invalid */
  long invalid;              /* outcomes: records refused before sending */
  long skipped;              /* summary.skipped (no path skips yet) */
  long unchanged;            /* records the journal showed unchanged */
  long done;                 /* outcomes reported, of every kind */
  long pulled;               /* records taken from the source */
  long queued;               /* of those, given a slot to be sent */
  long held;                 /* records pulled, never sent: a stop left them */
  long quota_sent;           /* the quota's count of calls today at stop */
  unsigned char skey[16];    /* the key for secret records' hashes */
  double t0;                 /* when the run began (uu_now) */
  int on_progress;           /* stack index: on_progress, or 0 */
  double drawn;              /* when on_progress was last called */
  uu_journal *j;             /* opts.journal, open for the run, or NULL */
} uu_run;

/* stop.c (the caller keeps the SIGINT handler it replaced) */
struct sigaction;
void uu_many_check_open(uu_run *r);
int uu_many_closed(lua_State *L);
void uu_many_streak(uu_run *r, const char *kind);
void uu_many_sigint_catch(struct sigaction *old); /* old[2]: INT, TERM */
void uu_many_sigint_restore(uu_run *r, const struct sigaction *old);
void uu_many_check_stop(uu_run *r);
void uu_many_tell_stop(uu_run *r);

/* outcome.c */
#define UU_JKEY 64                /* a journal key: ids are at most 36 */
const char *uu_many_jkey(const uu_run *r, const uu_slot *s, char *buf,
                         size_t *n);
int uu_many_fields_json(uu_client *c, const uu_slot *s);
void uu_many_journal(uu_run *r, uu_slot *s, int base, int state);
void uu_many_report(uu_run *r, int base);
void uu_many_push_line(lua_State *L, const uu_slot *s);
void uu_many_report_invalid(uu_run *r, uu_slot *s, int id,
                            const uu_bad *bad);
int uu_many_plan(uu_run *r, uu_slot *s);
void uu_many_summary(uu_run *r, int kinds);

/* changes.c */
void uu_many_secret_key(uu_run *r);
int uu_many_has_secret(const uu_vendor *v, lua_State *L, int fields);
uint64_t uu_many_hash(uu_run *r, const uu_slot *s);
int uu_many_already_done(uu_run *r, uu_slot *s, int fields, int whole);

/* progress.c */
void uu_many_progress(uu_run *r, int final);

#endif

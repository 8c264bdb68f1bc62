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
#include <unistd.h>
#include <signal.h>
#include "userupd.h"
#include "loops/budget.h"
#include "journal/journal.h"

typedef struct run {
  lua_State *L;
  uu_client *c;
  int src, opts, ids, on_result, kinds; /* stack indexes */
  int iter, exhausted, conc, need_user, skip_unchanged, progress;
  int interruptible;                   /* SIGINT stops the run gently */
  int first;                           /* where start_due starts */
  int h2_seen;                         /* the multi's cap knows h2 */
  int changed_fields;                  /* send only what differs */
  int on_skip;                         /* stack index of on_skip, or 0 */
  int dry;                             /* dry_run: plan, send nothing */
  int on_plan;                         /* stack index of on_plan, or 0 */
  const char *why;                     /* the journal's reason to send */
  long ready;                          /* a dry run's records to send */
  const char *stop;                    /* why the run stopped early */
  long max_auth, max_failures;         /* in a row; 0: never stop */
  long auth_row, fail_row;             /* the current streaks */
  lua_Integer next, total;
  long line;                           /* the pulled record's input line */
  long ok, failed, invalid, skipped, unchanged, done;
  unsigned char skey[16];              /* keys secret records' hashes */
  long pulled, held, quota_sent;       /* the daily quota's stop */
  double t0, drawn;
  uu_journal *j;
} run;

/* What a run raises, under its own pcall, when one of its callbacks
** (on_result, the source iterator, sleep) closed the client: the pool,
** the multi handle and the journal went with it, so the run stops at
** once and update_many returns a summary saying so. */
static char closed_mark;

static void check_open(run *r)
{
  if (r->c->closed) {
    lua_pushlightuserdata(r->L, &closed_mark);
    lua_error(r->L);
  }
}

/* FNV-1a, 64 bits: the journal's payload fingerprint. */
uint64_t uu_hash(const char *s, size_t n)
{
  uint64_t h = 14695981039346656037ULL;
  size_t i;
  for (i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
  return h ? h : 1;                    /* 0 means "no payload" */
}

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
  c->pool = NULL, c->npool = 0;
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

/* ---- reporting ------------------------------------------------------- */

static void count_kind(run *r, const char *kind)
{
  lua_getfield(r->L, r->kinds, kind);
  lua_pushinteger(r->L, lua_tointeger(r->L, -1) + 1);
  lua_setfield(r->L, r->kinds, kind);
  lua_pop(r->L, 1);
}

/* The error table's string field k, or NULL (valid while err is on the
** stack: the table holds the string). */
static const char *err_field(lua_State *L, int err, const char *k)
{
  const char *s;
  lua_getfield(L, err, k);
  s = lua_tostring(L, -1);
  lua_pop(L, 1);
  return s;
}

/* The record's fields alone as a JSON object: the body up to where the
** credentials begin, closed.  Into the client's scratch buffer. */
static int fields_json(uu_client *c, const uu_slot *s)
{
  c->scratch.n = 0;
  if (uu_buf_add(&c->scratch, s->body.p, s->fields_end) != 0)
    return -1;
  if (c->scratch.n > 1 && c->scratch.p[c->scratch.n - 1] == ',')
    c->scratch.n--;
  return uu_buf_addc(&c->scratch, '}');
}

/* Journal one outcome; results at base: id, user, err, info. */
static void journal_outcome(run *r, uu_slot *s, int base, int state)
{
  uu_jrecord jr;
  int err = base + 2;
  if (r->j == NULL || r->dry)            /* a plan writes nothing */
    return;
  memset(&jr, 0, sizeof jr);
  jr.id = s->id.p, jr.idlen = s->id.n, jr.state = state;
  jr.attempts = s->answer.attempts, jr.http_status = (int)s->answer.status;
  jr.elapsed = s->answer.elapsed, jr.line = s->line;
  if (state != UU_J_OK) {
    jr.kind = err_field(r->L, err, "kind");
    jr.message = err_field(r->L, err, "message");
    jr.vendor_code = err_field(r->L, err, "vendor_code");
    jr.field = err_field(r->L, err, "field");
  }
  if (state != UU_J_INVALID) {
    jr.hash = s->hash;
    if (s->secret_fields) {
      /* never a password, not even here */
    } else if (s->full.n > 0) {
      jr.payload = s->full.p, jr.payload_len = s->full.n;
    } else if (fields_json(r->c, s) == 0) {
      jr.payload = r->c->scratch.p, jr.payload_len = r->c->scratch.n;
    }
  }
  if (uu_journal_record(r->j, &jr) != 0)
    luaL_error(r->L, "userupd: journal: %s", uu_journal_errmsg(r->j));
}

/* Stopping early on systemic failure: max_auth_failures (default 5)
** auth failures in a row, or max_failures failures of any kind in a row
** (invalid records are the data's fault and break no streak).  The run
** then pulls nothing more; what is in flight finishes and is journaled. */
static void streaks(run *r, const char *kind)
{
  if (kind != NULL && strcmp(kind, "invalid") == 0)
    return;
  r->auth_row = kind != NULL && strcmp(kind, "auth") == 0 ? r->auth_row + 1
                                                          : 0;
  r->fail_row = kind != NULL ? r->fail_row + 1 : 0;
  if (r->stop != NULL)
    return;
  if (r->max_auth > 0 && r->auth_row >= r->max_auth)
    r->stop = "auth";
  else if (r->max_failures > 0 && r->fail_row >= r->max_failures)
    r->stop = "max_failures";
}

/* Counts the outcome whose 4 results sit at base and hands them to
** on_result (a raise there stops the run; the journal is already
** committed). */
static void report(run *r, int base)
{
  lua_State *L = r->L;
  const char *kind = NULL;
  r->done++;
  if (lua_isnil(L, base + 2)) {
    r->ok++;
  } else {
    kind = err_field(L, base + 2, "kind");
    if (kind != NULL && strcmp(kind, "invalid") == 0)
      r->invalid++;
    else
      r->failed++;
    count_kind(r, kind ? kind : "unknown");
  }
  streaks(r, lua_isnil(L, base + 2) ? NULL : kind ? kind : "unknown");
  if (r->on_result == 0)
    return;
  lua_pushvalue(L, r->on_result);
  lua_pushvalue(L, base);
  lua_pushvalue(L, base + 1);
  lua_pushvalue(L, base + 2);
  lua_pushvalue(L, base + 3);
  lua_call(L, 4, 0);
}

/* A record refused before sending: journal it, report it. */
static void report_invalid(run *r, uu_slot *s, int id, const uu_bad *bad)
{
  uu_answer a;
  int base = lua_gettop(r->L) + 1;
  memset(&a, 0, sizeof a);
  lua_pushvalue(r->L, id);
  lua_pushnil(r->L);
  uu_push_invalid(r->L, r->c, bad);
  uu_push_info(r->L, &a);
  s->answer = a;
  if (strcmp(bad->field, "id") != 0)   /* a bad id cannot key a row */
    journal_outcome(r, s, base, UU_J_INVALID);
  report(r, base);
  lua_settop(r->L, base - 1);
}

/* ---- pulling records ------------------------------------------------- */

/* A function source's values after id, fields: extra (a table) and the
** input line (a number, which the journal keeps for `userupd failures`),
** each optional, in that order.  Leaves id, fields, extra pushed. */
static void iter_tail(run *r)
{
  lua_State *L = r->L;
  int line = lua_type(L, -2) == LUA_TNUMBER ? -2 : -1;
  r->line = lua_type(L, line) == LUA_TNUMBER ? (long)lua_tonumber(L, line)
                                             : 0;
  if (line == -2)                                  /* id, fields, line, x */
    lua_pushnil(L), lua_replace(L, -3);
  lua_pop(L, 1);                                   /* id, fields, extra */
}

/* Pushes the next record's id, fields and extra (or nil); 0 when the
** source is done.  A function source returns id, fields [, extra] [, line]. */
static int pull(run *r)
{
  lua_State *L = r->L;
  if (r->iter) {
    lua_pushvalue(L, r->src);
    lua_call(L, 0, 4);
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

/* ---- changed_fields ------------------------------------------------- */

/* Equality of two decoded JSON values (tables key by key). */
static int json_equal(lua_State *L, int a, int b)
{
  int eq = 1;
  a = uu_absindex(L, a), b = uu_absindex(L, b);
  if (lua_type(L, a) != LUA_TTABLE || lua_type(L, b) != LUA_TTABLE)
    return lua_rawequal(L, a, b);
  luaL_checkstack(L, 4, "changed_fields");
  lua_pushnil(L);
  while (eq && lua_next(L, a)) {                   /* ..., k, va */
    lua_pushvalue(L, -2);
    lua_rawget(L, b);                              /* ..., k, va, vb */
    eq = json_equal(L, -2, -1);
    lua_pop(L, 2);
  }
  if (!eq) {
    lua_pop(L, 1);
    return 0;
  }
  lua_pushnil(L);
  while (eq && lua_next(L, b)) {                   /* every key of b in a */
    lua_pushvalue(L, -2);
    lua_rawget(L, a);
    eq = !lua_isnil(L, -1);
    lua_pop(L, 2);
  }
  if (!eq)
    lua_pop(L, 1);
  return eq;
}

/* Marks the fields whose JSON differs between the current (cur) and the
** last successful payload (prev). */
static int mark_changes(lua_State *L, const uu_vendor *v, int cur, int prev,
                        unsigned char *mark)
{
  const uu_field *f;
  int n = 0, i;
  for (f = v->fields, i = 0; f->name != NULL; f++, i++) {
    lua_getfield(L, cur, f->name);
    lua_getfield(L, prev, f->name);
    if (!json_equal(L, -2, -1))
      mark[i] = 1, n++;
    lua_pop(L, 2);
  }
  return n;
}

/* A replace* flag that is true replaces every list it guards: if anything
** in its group changed, the whole group goes (flag and lists), or the
** lists left out would go as [] and wipe the user's access. */
static void keep_groups(lua_State *L, const uu_vendor *v, int fields,
                        unsigned char *mark)
{
  const uu_field *f, *lf;
  const char *p, *bar;
  int canon, any;
  for (f = v->fields; f->name != NULL; f++) {
    if (!(f->flags & UU_GUARD))
      continue;
    lua_getfield(L, fields, f->name);
    if (lua_toboolean(L, -1)) {
      for (any = mark[f - v->fields], p = f->arg; p; p = bar ? bar + 1 : 0) {
        bar = strchr(p, '|');
        lf = uu_field_find(v, p, bar ? (size_t)(bar - p) : strlen(p), &canon);
        any |= lf ? mark[lf - v->fields] : 0;
      }
      for (p = any ? f->arg : NULL; p; p = bar ? bar + 1 : 0) {
        bar = strchr(p, '|');
        lf = uu_field_find(v, p, bar ? (size_t)(bar - p) : strlen(p), &canon);
        if (lf)
          mark[lf - v->fields] = 1;
      }
      mark[f - v->fields] |= any;
    }
    lua_pop(L, 1);
  }
}

/* Copies the caller's values of the marked fields (by whichever name the
** caller used) into the table on top.  A changed clear list (Blackbaud
** FieldsToNull) brings every field the caller cleared with it. */
static void copy_marked(lua_State *L, const uu_vendor *v, int fields,
                        const unsigned char *mark)
{
  const uu_field *f, *nf = NULL;
  int canon, nulls, want;
  if (v->null_list != NULL)
    nf = uu_field_find(v, v->null_list, strlen(v->null_list), &canon);
  nulls = nf != NULL && mark[nf - v->fields];
  for (f = v->fields; f->name != NULL; f++) {
    want = mark[f - v->fields];
    lua_getfield(L, fields, f->name);              /* R, value */
    if (lua_isnil(L, -1) && f->canon != NULL) {
      lua_pop(L, 1);
      lua_getfield(L, fields, f->canon);
    }
    if (want || (nulls && lua_type(L, -1) == LUA_TLIGHTUSERDATA))
      lua_setfield(L, -2, f->name);
    else
      lua_pop(L, 1);
  }
}

/* changed_fields: re-marshals s with only the fields that differ from the
** last successful payload (in s->prev).  Returns 0 when nothing differs.
** s->full keeps the whole payload: that is what the journal remembers. */
static int reduce(run *r, uu_slot *s, int fields)
{
  lua_State *L = r->L;
  unsigned char mark[128];
  char msg[64];
  int top = lua_gettop(L), changed;
  uu_bad bad;
  memset(mark, 0, sizeof mark);
  if (uu_json_decode(L, s->prev.p, s->prev.n, 64, msg, sizeof msg) != 0 ||
      uu_json_decode(L, s->full.p, s->full.n, 64, msg, sizeof msg) != 0)
    return lua_settop(L, top), 1;                  /* no usable baseline */
  changed = mark_changes(L, r->c->v, top + 2, top + 1, mark);
  lua_settop(L, top);
  if (changed == 0)
    return 0;
  keep_groups(L, r->c->v, fields, mark);
  lua_newtable(L);
  copy_marked(L, r->c->v, fields, mark);
  if (uu_marshal(r->c, L, lua_gettop(L), s->id.p, s->id.n, &s->body,
                 &s->fields_end, &bad) != 0) {   /* it passed once already */
    uu_redact(r->c, L, bad.msg, strlen(bad.msg));
    luaL_error(L, "userupd: changed_fields: %s", lua_tostring(L, -1));
  }
  lua_settop(L, top);
  return 1;
}

/* Tells on_skip about a record the journal showed unchanged. */
static int unchanged(run *r)
{
  r->unchanged++;
  if (r->on_skip == 0)
    return 1;
  lua_pushvalue(r->L, r->on_skip);
  lua_pushvalue(r->L, -3);                         /* the id */
  lua_pushliteral(r->L, "unchanged");
  lua_call(r->L, 2, 0);
  check_open(r);
  return 1;
}

/* The journal's word on this id: skip it only when the payload it would
** send now is the one that last succeeded for it (one rule for resuming
** and for a nightly sync); with changed_fields send only the fields that
** differ.  skip_unchanged = false sends everything again. */
static int already_done(run *r, uu_slot *s, int fields, int whole)
{
  uu_jentry e;
  int have_prev;
  r->why = "new";
  if (r->j == NULL)
    return 0;
  memset(&e, 0, sizeof e);
  if (uu_journal_lookup(r->j, s->id.p, s->id.n, &e) != 0)
    luaL_error(r->L, "userupd: journal: %s", uu_journal_errmsg(r->j));
  s->prev.n = 0;                         /* copy, then free: no raise between */
  have_prev = e.payload != NULL &&
              uu_buf_add(&s->prev, e.payload, e.payload_len) == 0;
  free(e.payload);
  r->why = e.state == UU_J_OK ? "changed" : e.state == UU_J_NONE ? "new"
                                                                 : "failed";
  if (!r->skip_unchanged)
    return 0;
  if (e.hash != 0 && e.hash == s->hash)
    return unchanged(r);
  if (r->changed_fields && !whole && have_prev && e.hash != 0 &&
      !s->secret_fields && fields_json(r->c, s) == 0) {
    s->full.n = 0;
    if (uu_buf_add(&s->full, r->c->scratch.p, r->c->scratch.n) != 0)
      return 0;
    if (!reduce(r, s, fields))
      return unchanged(r);
  }
  return 0;
}

/* The key for the hash of a record carrying a secret: SipHash under the
** journal's random key of a tag and the client's credentials, so neither
** the journal alone nor the same password in another journal gives a
** value to test guesses against.  Built in the scratch buffer before the
** loop uses it. */
static void secret_key(run *r)
{
  uu_client *c = r->c;
  uint64_t h;
  int i, half, bad = 0;
  for (half = 0; half < 2; half++) {
    c->scratch.n = 0;
    bad |= uu_buf_addc(&c->scratch, (char)('0' + half));
    for (i = 0; i < c->nsecrets; i++)
      bad |= uu_buf_add(&c->scratch, c->secrets[i],
                        strlen(c->secrets[i]) + 1);
    if (bad != 0)
      luaL_error(r->L, "userupd: out of memory");
    h = uu_siphash(uu_journal_key(r->j), c->scratch.p, c->scratch.n);
    memcpy(r->skey + 8 * half, &h, 8);
  }
  memset(c->scratch.p, 0, c->scratch.n);           /* leave no copy */
  c->scratch.n = 0;
}

/* The payload's fingerprint: plain for ordinary fields, keyed for a
** record that carries a secret (see keyed_hash.c). */
static uint64_t payload_hash(run *r, const uu_slot *s)
{
  if (s->secret_fields)
    return uu_siphash(r->skey, s->body.p, s->fields_end);
  return uu_hash(s->body.p, s->fields_end);
}

static int has_secret_field(const uu_vendor *v, lua_State *L, int fields)
{
  const uu_field *f;
  for (f = v->fields; f->name != NULL; f++)
    if ((f->flags & UU_SECRET)) {
      lua_getfield(L, fields, f->name);
      if (!lua_isnil(L, -1))
        return lua_pop(L, 1), 1;
      lua_pop(L, 1);
    }
  return 0;
}

/* Fills slot s from the record (id, fields, extra on top, popped here): 1
** when it is queued, 0 when it was refused or skipped.  A record with
** extra members goes whole: changed_fields knows only the descriptor's. */
static int load(run *r, uu_slot *s)
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
      s->secret_fields = has_secret_field(r->c->v, L, fields);
      s->hash = payload_hash(r, s);
    }
    s->full.n = 0;
    skip = already_done(r, s, fields, !lua_isnil(L, extra));
    lua_pop(L, 2);                                 /* fields, extra */
    lua_rawseti(L, r->ids, s->index + 1);          /* the id, for later */
    return !skip;
  }
  report_invalid(r, s, id, &bad);
  lua_pop(L, 3);
  return 0;
}

/* A dry run's record that the real run would send: counted and handed
** to on_plan(id, why, fields, line, last), never queued.  why: "new",
** "changed" or "failed" (before); fields: the JSON of the fields it would
** send (no credentials); last: the JSON of the last payload that
** succeeded, or nil.  Returns 1. */
static int plan(run *r, uu_slot *s)
{
  lua_State *L = r->L;
  r->ready++;
  if (r->on_plan == 0)
    return 1;
  lua_pushvalue(L, r->on_plan);
  lua_rawgeti(L, r->ids, s->index + 1);
  lua_pushstring(L, r->why);
  if (fields_json(r->c, s) != 0)
    luaL_error(L, "userupd: out of memory");
  lua_pushlstring(L, r->c->scratch.p, r->c->scratch.n);
  lua_pushinteger(L, (lua_Integer)s->line);
  if (r->j != NULL && s->prev.n > 0)
    lua_pushlstring(L, s->prev.p, s->prev.n);
  else
    lua_pushnil(L);
  lua_call(L, 5, 0);
  return 1;
}

/* Pulls records into idle slots until none is idle or the source ends.
** Each queued record takes its place in the client's pace now. */
static void fill(run *r)
{
  int i;
  double now;
  for (i = 0; i < r->conc && !r->exhausted; i++) {
    uu_slot *s = &r->c->pool[i];
    while (s->state == UU_SLOT_IDLE && !r->exhausted) {
      r->exhausted = !pull(r);
      check_open(r);                   /* s may be gone: check first */
      if (r->exhausted)
        break;
      s->line = r->line;
      r->pulled++;
      if (!load(r, s) || (r->dry && plan(r, s))) {
        check_open(r);                 /* on_result saw an invalid one */
        continue;
      }
      now = uu_now();
      s->state = UU_SLOT_WAIT;
      s->attempts = s->relogged = 0;
      s->t0 = now;
      s->due = now + uu_budget_pace(r->c, r->L, now);
    }
  }
}

/* A cold TLS pool runs one transfer alone (uu_pool_cold). */
static int held_back(const run *r)
{
  int i;
  if (!uu_pool_cold(r->c))
    return 0;
  for (i = 0; i < r->conc; i++)
    if (r->c->pool[i].state == UU_SLOT_ACTIVE)
      return 1;
  return 0;
}

/* The daily quota is spent: nothing more is sent or pulled, and the
** records waiting in slots stay pending (unreported, unjournaled) for the
** next run.  Requests under way finish and are reported. */
static void quota_stop(run *r, long sent)
{
  int i;
  r->stop = "daily_quota", r->exhausted = 1, r->quota_sent = sent;
  for (i = 0; i < r->conc; i++)
    if (r->c->pool[i].state == UU_SLOT_WAIT) {
      r->c->pool[i].state = UU_SLOT_IDLE;
      r->held++;
    }
}

/* Starts every waiting slot whose time has come, beginning one further
** along each time so no slot is always first after a pause.  Each request
** counts against the daily quota. */
static void start_due(run *r)
{
  uu_client *c = r->c;
  double now = uu_now();
  int i;
  long sent;
  if (r->h2_seen != c->pool_h2) {      /* the first answer came over h2 */
    r->h2_seen = c->pool_h2;
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
static void push_results(run *r, uu_slot *s)
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
static void complete(run *r)
{
  lua_State *L = r->L;
  int i, n = 0, base = lua_gettop(L) + 1;
  double now = uu_now();
  luaL_checkstack(L, 4 * r->conc + 8, "update_many");
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
    journal_outcome(r, s, lua_gettop(L) - 3,
                    lua_isnil(L, -2) ? UU_J_OK : UU_J_FAILED);
    s->state = UU_SLOT_IDLE;
  }
  if (n > 0 && r->j != NULL)
    uu_quota_flush(r->c, L, r->j);      /* the calls behind these outcomes */
  if (n > 0 && r->j != NULL && uu_journal_commit(r->j) != 0)
    luaL_error(L, "userupd: journal: %s", uu_journal_errmsg(r->j));
  for (i = 0; i < n; i++)              /* all of them: all are journaled */
    report(r, base + 4 * i);
  lua_settop(L, base - 1);
  check_open(r);
}

/* ---- progress ----------------------------------------------------------- */

static void draw(run *r, int final)
{
  double now, el, rate, eta = -1;
  long seen = r->done + r->skipped + r->unchanged;
  char bar[26];
  int i, fill_n = 0;
  if (!r->progress)                    /* the common case: not even a clock */
    return;
  now = uu_now(), el = now - r->t0;
  if (!final && now - r->drawn < 0.1)
    return;
  r->drawn = now;
  rate = el > 0 ? (double)r->done / el : 0;
  if (r->total > 0) {
    fill_n = (int)(24.0 * (double)seen / (double)r->total);
    fill_n = fill_n > 24 ? 24 : fill_n;
    if (rate > 0)
      eta = (double)(r->total - seen) / rate;
  }
  for (i = 0; i < 24; i++)
    bar[i] = i < fill_n ? '=' : (i == fill_n ? '>' : ' ');
  bar[24] = '\0';
  /* \r and erase-line: the bar owns its line, however long it was */
  if (r->total > 0)
    fprintf(stderr, "\r\033[K[%s] %ld/%ld", bar, seen, (long)r->total);
  else
    fprintf(stderr, "\r\033[K%ld", seen);
  if (eta >= 0)
    fprintf(stderr, "  %.0f/s  ETA %d:%02d", rate, (int)eta / 60,
            (int)eta % 60);
  else
    fprintf(stderr, "  %.0f/s  ETA --:--", rate);
  fprintf(stderr, "  ok %ld  failed %ld  invalid %ld  unchanged %ld ",
          r->ok, r->failed, r->invalid, r->skipped + r->unchanged);
  if (final)
    fputc('\n', stderr);
  fflush(stderr);
}

/* ---- stopping early ---------------------------------------------------- */

/* SIGINT while a run with `interruptible` is going: the first asks the
** run to stop (what is in flight finishes and is journaled); a second
** restores the previous handler and delivers itself, ending the process. */
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
  if (interrupted) {
    signal(sig, SIG_DFL);
    raise(sig);
  }
  interrupted = 1;
}

static void catch_sigint(run *r, struct sigaction *old)
{
  struct sigaction sa;
  interrupted = 0;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, old);
  (void)r;
}

/* Ends the pulling when the run must stop, and drops the records still
** waiting for their turn: they were never sent, and not journaled, so the
** next run sends them. */
static void check_stop(run *r)
{
  int i;
  if (interrupted && r->interruptible && r->stop == NULL)
    r->stop = "interrupted";
  if (r->stop == NULL)
    return;
  r->exhausted = 1;
  for (i = 0; i < r->conc; i++)
    if (r->c->pool[i].state == UU_SLOT_WAIT)
      r->c->pool[i].state = UU_SLOT_IDLE;
}

/* ---- the loop ----------------------------------------------------------- */

/* Waits for network activity or the next due slot, whichever is first. */
static void wait_some(run *r)
{
  double now = uu_now(), next = -1, t;
  int i, active = 0;
  for (i = 0; i < r->conc; i++) {
    uu_slot *s = &r->c->pool[i];
    if (s->state == UU_SLOT_ACTIVE)
      active = 1;
    else if (s->state == UU_SLOT_WAIT) {
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
    uu_sleep(r->c, r->L, t);
    check_open(r);
  }
}

static int busy(const run *r)
{
  int i;
  for (i = 0; i < r->conc; i++)
    if (r->c->pool[i].state != UU_SLOT_IDLE)
      return 1;
  return 0;
}

/* Runs under lua_pcall (so the caller can always put the pool back),
** with the client first (uu_login finds it there), then the run, the
** source, the ids table, on_result or nil, the by_kind table and on_skip
** or nil. */
static int loop(lua_State *L)
{
  run *r = (run *)lua_touserdata(L, 2);
  int running;
  r->L = L;
  r->src = 3, r->ids = 4, r->kinds = 6;
  r->on_result = lua_isnil(L, 5) ? 0 : 5;
  r->on_skip = lua_isnil(L, 7) ? 0 : 7;
  r->on_plan = lua_isnil(L, 8) ? 0 : 8;
  for (;;) {
    check_stop(r);
    fill(r);
    if (!busy(r) && r->exhausted)
      break;
    start_due(r);
    curl_multi_perform(r->c->multi, &running);
    uu_slot_harvest(r->L, r->c->multi);
    complete(r);
    draw(r, 0);
    check_stop(r);
    fill(r);                           /* refill freed slots before waiting, */
    start_due(r);                      /* or they idle a whole round trip */
    if (busy(r))
      wait_some(r);
  }
  uu_quota_flush(r->c, L, r->j);         /* calls of records left pending */
  return 0;
}

static void set_count(lua_State *L, const char *k, long n)
{
  lua_pushinteger(L, (lua_Integer)n);
  lua_setfield(L, -2, k);
}

/* A stop at the daily quota: summary.message, .pending (records left,
** when known), .sent_today and .daily_quota. */
static void push_quota_stop(run *r)
{
  lua_State *L = r->L;
  long left = r->total >= 0 ? r->held + (long)r->total - r->pulled : -1;
  if (left >= 0) {
    set_count(L, "pending", left);
    lua_pushfstring(L, "daily quota reached: %d sent today, %d left; run "
                    "again after 00:00 UTC", (int)r->quota_sent, (int)left);
  } else {
    lua_pushfstring(L, "daily quota reached: %d sent today, more left; run "
                    "again after 00:00 UTC", (int)r->quota_sent);
  }
  lua_setfield(L, -2, "message");
  set_count(L, "sent_today", r->quota_sent);
  set_count(L, "daily_quota", uu_quota_limit(r->c));
}

/* A dry run's summary: .ready, and with a daily quota .quota_left, the
** calls today's quota has left (what the plan can send today). */
static void push_plan(run *r)
{
  long limit = uu_quota_limit(r->c);
  set_count(r->L, "ready", r->ready);
  if (limit > 0)
    set_count(r->L, "quota_left", uu_quota_left(r->c));
}

static void push_summary(run *r, int kinds)
{
  lua_State *L = r->L;
  lua_createtable(L, 0, 8);
  set_count(L, "ok", r->ok);
  set_count(L, "failed", r->failed);
  set_count(L, "invalid", r->invalid);
  set_count(L, "skipped", r->skipped);
  set_count(L, "unchanged", r->unchanged);
  if (r->stop != NULL) {
    lua_pushstring(L, r->stop);
    lua_setfield(L, -2, "stopped");
  }
  if (r->c->closed) {
    lua_pushliteral(L, "the client was closed during the run: records not "
                    "reported were not finished and are sent again by the "
                    "next run");
    lua_setfield(L, -2, "message");
  }
  lua_pushnumber(L, uu_now() - r->t0);
  lua_setfield(L, -2, "elapsed");
  lua_pushvalue(L, kinds);
  lua_setfield(L, -2, "by_kind");
  if (r->stop != NULL && strcmp(r->stop, "daily_quota") == 0)
    push_quota_stop(r);
  if (r->dry)
    push_plan(r);
}

/* Options: concurrency, on_result, journal, progress, skip_unchanged,
** total.  Wrong types raise (they are the caller's bug, not data). */
static void read_opts(lua_State *L, run *r, int opts)
{
  int max = r->c->max_conn > 0 ? r->c->max_conn : 256;
  lua_getfield(L, opts, "concurrency");
  r->conc = lua_isnil(L, -1) ? (max < 8 ? max : 8)
                             : (int)luaL_checkinteger(L, -1);
  if (r->conc < 1 || r->conc > 256)
    luaL_error(L, "bad argument #2 to 'update_many' (concurrency must be "
               "1 to 256)");
  if (r->conc > max)
    r->conc = max;                     /* the vendor's connection limit */
  lua_getfield(L, opts, "progress");
  r->progress = lua_isnil(L, -1) ? isatty(2) : lua_toboolean(L, -1);
  lua_getfield(L, opts, "skip_unchanged");
  r->skip_unchanged = lua_isnil(L, -1) || lua_toboolean(L, -1);
  lua_getfield(L, opts, "total");
  r->total = lua_isnil(L, -1) ? -1 : luaL_checkinteger(L, -1);
  lua_getfield(L, opts, "changed_fields");
  r->changed_fields = lua_toboolean(L, -1);
  lua_getfield(L, opts, "dry_run");
  r->dry = lua_toboolean(L, -1);
  lua_pop(L, 6);
  if (r->changed_fields)
    r->skip_unchanged = 1;               /* a record with no change: skip */
  if (!r->iter && r->total < 0)
    r->total = (lua_Integer)uu_rawlen(L, r->src);
}

/* A whole number of at least 0, or dflt when the option is nil. */
static long count_opt(lua_State *L, int opts, const char *k, long dflt)
{
  lua_Integer n;
  lua_getfield(L, opts, k);
  if (lua_isnil(L, -1))
    return lua_pop(L, 1), dflt;
  n = luaL_checkinteger(L, -1);
  if (n < 0)
    luaL_error(L, "bad argument #2 to 'update_many' (%s must be 0 or more)",
               k);
  lua_pop(L, 1);
  return (long)n;
}

/* Options for stopping early: max_auth_failures (default 5),
** max_failures (default 0, never), interruptible, on_skip. */
static void read_stop_opts(lua_State *L, run *r, int opts)
{
  r->max_auth = count_opt(L, opts, "max_auth_failures", 5);
  r->max_failures = count_opt(L, opts, "max_failures", 0);
  lua_getfield(L, opts, "interruptible");
  r->interruptible = lua_toboolean(L, -1);
  lua_pop(L, 1);
}

static void open_journal(lua_State *L, run *r, int opts)
{
  char err[256];
  const char *path;
  lua_getfield(L, opts, "journal");
  if ((path = lua_tostring(L, -1)) != NULL && r->dry) {
    if (uu_journal_open_ro(path, r->c->v->name, &r->c->journal, err,
                           sizeof err) < 0)
      luaL_error(L, "userupd: %s", err);
    r->j = r->c->journal;              /* NULL: no journal yet, all new */
    if (r->j != NULL)
      secret_key(r);
  } else if (path != NULL) {
    if (uu_journal_open(path, r->c->v->name, &r->c->journal, err,
                        sizeof err) != 0)
      luaL_error(L, "userupd: %s", err);
    r->j = r->c->journal;
    secret_key(r);
  }
  lua_pop(L, 1);
}

/* Runs the loop under lua_pcall with what it reads at 4 (on_result),
** 5 (by_kind), 6 (on_skip) and 7 (on_plan), SIGINT caught when asked.
** The status. */
static int run_loop(lua_State *L, run *r)
{
  struct sigaction old;
  int status;
  lua_pushcfunction(L, loop);
  lua_pushvalue(L, 1);
  lua_pushlightuserdata(L, r);
  lua_pushvalue(L, 2);
  lua_newtable(L);                                 /* ids in flight */
  lua_pushvalue(L, 4);
  lua_pushvalue(L, 5);
  lua_pushvalue(L, 6);
  lua_pushvalue(L, 7);
  if (r->interruptible)
    catch_sigint(r, &old);
  r->c->many_running = 1;
  status = lua_pcall(L, 8, 0, 0);
  r->c->many_running = 0;
  if (r->interruptible) {
    sigaction(SIGINT, &old, NULL);
    if (interrupted && r->stop == NULL)
      r->stop = "interrupted";
  }
  r->L = L;
  return status;
}

/* on_result (4) and on_skip (6): a function or nil. */
static void read_hooks(lua_State *L, run *r)
{
  lua_getfield(L, 3, "on_result");                 /* 4 */
  if (!lua_isnil(L, 4))
    luaL_checktype(L, 4, LUA_TFUNCTION);
  r->need_user = !lua_isnil(L, 4);
  lua_newtable(L);                                 /* 5: by_kind */
  lua_getfield(L, 3, "on_skip");                   /* 6 */
  if (!lua_isnil(L, 6))
    luaL_checktype(L, 6, LUA_TFUNCTION);
  lua_getfield(L, 3, "on_plan");                   /* 7 */
  if (!lua_isnil(L, 7))
    luaL_checktype(L, 7, LUA_TFUNCTION);
}

/* client:update_many(source, opts) -> summary */
int uu_update_many(lua_State *L)
{
  uu_client *c = uu_check_client(L, 1);
  run r;
  int status, t = lua_type(L, 2);
  memset(&r, 0, sizeof r);
  r.L = L, r.c = c, r.src = 2, r.t0 = uu_now();
  if (t != LUA_TTABLE && t != LUA_TFUNCTION)
    return uu_typeerror(L, 2, "table or function");
  r.iter = t == LUA_TFUNCTION;
  uu_not_busy(L, c, "update_many");   /* inside update, get, ... */
  if (c->many_running)                 /* the pool is in use: no nesting */
    return luaL_error(L, "update_many is already running on this client");
  if (c->transport_ref != LUA_NOREF)   /* inside nginx it would block */
    return luaL_error(L, "update_many sends with libcurl and this client "
                      "has a transport: call update per record instead");
  lua_settop(L, 3);
  if (lua_isnil(L, 3)) {
    lua_newtable(L);
    lua_replace(L, 3);
  }
  luaL_checktype(L, 3, LUA_TTABLE);
  read_opts(L, &r, 3);
  read_stop_opts(L, &r, 3);
  read_hooks(L, &r);
  reset_pool(c);
  ensure_pool(L, c, r.conc);
  open_journal(L, &r, 3);
  uu_quota_begin(c, r.j);
  status = run_loop(L, &r);
  reset_pool(c);                                   /* closes the journal */
  draw(&r, 1);
  if (status != 0 && lua_touserdata(L, -1) == &closed_mark)
    status = 0, r.stop = "closed";     /* a callback closed the client */
  if (status != 0)
    return lua_error(L);
  push_summary(&r, 5);
  return 1;
}

/* update_many, for the client methods (lua_userupd.c). */
const luaL_Reg uu_many_methods[] = {
  {"update_many", uu_update_many},
  {NULL, NULL}};

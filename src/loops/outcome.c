/*
** outcome.c: an update_many run's outcomes (run.h): each is counted,
** journaled (many.c commits a round's in one transaction) and then handed
** to on_result; a dry run's records go to on_plan; at the end, the
** summary table.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "loops/budget.h"
#include "loops/run.h"

static void count_kind(uu_run *r, const char *kind)
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
int uu_many_fields_json(uu_client *c, const uu_slot *s)
{
  c->scratch.n = 0;
  if (uu_buf_add(&c->scratch, s->body.p, s->fields_end) != 0)
    return -1;
  if (c->scratch.n > 1 && c->scratch.p[c->scratch.n - 1] == ',')
    c->scratch.n--;
  return uu_buf_addc(&c->scratch, '}');
}

/* The id as the journal keys it: a UUID or GUID in lower case (a GUID
** without dashes), since the vendors read them without regard to either,
** so one user is one journal record whichever spelling a run used; a
** positive integer as it is (ids.c allows one spelling).  buf holds
** UU_JKEY bytes. */
const char *uu_many_jkey(const uu_run *r, const uu_slot *s, char *buf,
                         size_t *n)
{
  uu_idkind kind = r->c->v->id;
  size_t i;
  *n = 0;
  if (kind == UU_ID_POSINT || s->id.n >= UU_JKEY) {
    *n = s->id.n;
    return s->id.p;
  }
  for (i = 0; i < s->id.n; i++) {
    char ch = s->id.p[i];
    if (ch == '-' && kind == UU_ID_GUID)
      continue;
    buf[(*n)++] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
  }
  return buf;
}

/* Journal one outcome; results at base: id, user, err, info. */
void uu_many_journal(uu_run *r, uu_slot *s, int base, int state)
{
  uu_jrecord jr;
  char key[UU_JKEY];
  int err = base + 2;
  if (r->j == NULL || r->dry)            /* a plan writes nothing */
    return;
  memset(&jr, 0, sizeof jr);
  jr.id = uu_many_jkey(r, s, key, &jr.idlen);
  jr.state = state;
  jr.attempts = s->answer.attempts;
  jr.http_status = (int)s->answer.status;
  jr.elapsed = s->answer.elapsed;
  jr.line = s->line;
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
      jr.payload = s->full.p;
      jr.payload_len = s->full.n;
    } else if (uu_many_fields_json(r->c, s) == 0) {
      jr.payload = r->c->scratch.p;
      jr.payload_len = r->c->scratch.n;
    }
  }
  if (uu_journal_record(r->j, &jr) != 0)
    luaL_error(r->L, "userupd: journal: %s", uu_journal_errmsg(r->j));
}

/* The record's input line, the fifth value on_result gets: a number, or
** nil when the source gave none.  The CLI reads it there instead of
** keeping a table of lines by id. */
void uu_many_push_line(lua_State *L, const uu_slot *s)
{
  if (s->line > 0)
    lua_pushinteger(L, (lua_Integer)s->line);
  else
    lua_pushnil(L);
}

/* Counts the outcome whose 5 results (id, user, err, info, line) sit at
** base and hands them to on_result (a raise there stops the run; the
** journal is already committed). */
void uu_many_report(uu_run *r, int base)
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
  uu_many_streak(r, lua_isnil(L, base + 2) ? NULL : kind ? kind : "unknown");
  if (r->on_result == 0)
    return;
  lua_pushvalue(L, r->on_result);
  lua_pushvalue(L, base);
  lua_pushvalue(L, base + 1);
  lua_pushvalue(L, base + 2);
  lua_pushvalue(L, base + 3);
  lua_pushvalue(L, base + 4);
  lua_call(L, 5, 0);
}

/* A record refused before sending: journal it, report it. */
void uu_many_report_invalid(uu_run *r, uu_slot *s, int id, const uu_bad *bad)
{
  uu_answer a;
  int base = lua_gettop(r->L) + 1;
  memset(&a, 0, sizeof a);
  lua_pushvalue(r->L, id);
  lua_pushnil(r->L);
  uu_push_invalid(r->L, r->c, bad);
  uu_push_info(r->L, &a);
  uu_many_push_line(r->L, s);
  s->answer = a;
  if (strcmp(bad->field, "id") != 0)   /* a bad id cannot key a row */
    uu_many_journal(r, s, base, UU_J_INVALID);
  uu_many_report(r, base);
  lua_settop(r->L, base - 1);
}

/* A dry run's record that the real run would send: counted and handed
** to on_plan(id, why, fields, line, last), never queued.  why: "new",
** "changed" or "failed" (before); fields: the JSON of the fields it would
** send (no credentials); last: the JSON of the last payload that
** succeeded, or nil.  Returns 1. */
int uu_many_plan(uu_run *r, uu_slot *s)
{
  lua_State *L = r->L;
  r->ready++;
  if (r->on_plan == 0)
    return 1;
  lua_pushvalue(L, r->on_plan);
  lua_rawgeti(L, r->ids, s->index + 1);
  lua_pushstring(L, r->why);
  if (uu_many_fields_json(r->c, s) != 0)
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

static void set_count(lua_State *L, const char *k, long n)
{
  lua_pushinteger(L, (lua_Integer)n);
  lua_setfield(L, -2, k);
}

/* A stop at the daily quota: summary.message, .pending (records left,
** when known), .sent_today and .daily_quota. */
static void push_quota_stop(uu_run *r)
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
static void push_plan(uu_run *r)
{
  long limit = uu_quota_limit(r->c);
  set_count(r->L, "ready", r->ready);
  if (limit > 0)
    set_count(r->L, "quota_left", uu_quota_left(r->c, r->L));
}

void uu_many_summary(uu_run *r, int kinds)
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
    set_count(L, "held", r->held);     /* pulled, never sent */
    if (r->abandoned > 0)              /* in flight at a second signal */
      set_count(L, "abandoned", r->abandoned);
  }
  if (r->took[0] != '\0') {            /* a killed run's journal lock */
    lua_pushstring(L, r->took);
    lua_setfield(L, -2, "lock_taken_over");
  }
  if (r->signal != 0) {                /* 2 SIGINT, 15 SIGTERM */
    lua_pushinteger(L, r->signal);
    lua_setfield(L, -2, "signal");
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

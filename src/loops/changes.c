/*
** changes.c: change detection for update_many (run.h).  Each record's
** payload gets a fingerprint; the journal's word on its id decides
** whether it is sent (skip_unchanged), and with changed_fields only the
** fields that differ from the last successful payload go.
*/
#include <stdlib.h>
#include <string.h>
#include "base/hash.h"
#include "loops/run.h"

/* Equality of two decoded JSON values (tables key by key). */
static int json_equal(lua_State *L, int a, int b)
{
  int eq = 1;
  a = uu_absindex(L, a);
  b = uu_absindex(L, b);
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
    if (!json_equal(L, -2, -1)) {
      mark[i] = 1;
      n++;
    }
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
static int reduce(uu_run *r, uu_slot *s, int fields)
{
  lua_State *L = r->L;
  unsigned char mark[128];
  char msg[64];
  int top = lua_gettop(L), changed;
  uu_bad bad;
  memset(mark, 0, sizeof mark);
  if (uu_json_decode(L, s->prev.p, s->prev.n, 64, msg, sizeof msg) != 0 ||
      uu_json_decode(L, s->full.p, s->full.n, 64, msg, sizeof msg) != 0) {
    lua_settop(L, top);                            /* no usable baseline */
    return 1;
  }
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
static int unchanged(uu_run *r)
{
  r->unchanged++;
  if (r->on_skip == 0)
    return 1;
  lua_pushvalue(r->L, r->on_skip);
  lua_pushvalue(r->L, -3);                         /* the id */
  lua_pushliteral(r->L, "unchanged");
  lua_call(r->L, 2, 0);
  uu_many_check_open(r);
  return 1;
}

/* The unchanged rule.  The journal keeps the last successful payload of
** every record without a secret: it is compared byte for byte with the
** fields now (a hash could be forced to collide: issue 21 #3).  A record
** carrying a secret keeps no payload, only a SipHash keyed with the
** journal's random key and the credentials, which no input can aim at. */
static int same_payload(uu_run *r, uu_slot *s, const uu_jentry *e,
                        int have_prev)
{
  uu_client *c = r->c;
  if (s->secret_fields)
    return !have_prev && e->hash != 0 && e->hash == s->hash;
  return have_prev && uu_many_fields_json(c, s) == 0 &&
         c->scratch.n == s->prev.n &&
         memcmp(c->scratch.p, s->prev.p, s->prev.n) == 0;
}

/* The journal's word on this id: skip it only when the payload it would
** send now is the one that last succeeded for it (one rule for resuming
** and for a nightly sync); with changed_fields send only the fields that
** differ.  skip_unchanged = false sends everything again. */
/* An unchanged record the journal holds as invalid (refused before it
** reached the vendor): what it would send is what last succeeded, so it
** leaves the failures list (a real run only: a plan writes nothing).  A
** failed one never gets here: it is always sent again. */
static void heal(uu_run *r, const uu_slot *s, const uu_jentry *e,
                 int have_prev)
{
  uu_jrecord jr;
  char key[UU_JKEY];
  if (r->dry || e->state == UU_J_OK || e->state == UU_J_NONE)
    return;
  memset(&jr, 0, sizeof jr);
  jr.id = uu_many_jkey(r, s, key, &jr.idlen);
  jr.state = UU_J_OK;
  jr.hash = s->hash;
  jr.line = s->line;
  if (have_prev && !s->secret_fields) {
    jr.payload = s->prev.p;
    jr.payload_len = s->prev.n;
  }
  if (uu_journal_record(r->j, &jr) != 0)
    luaL_error(r->L, "userupd: journal: %s", uu_journal_errmsg(r->j));
}

int uu_many_already_done(uu_run *r, uu_slot *s, int fields, int whole)
{
  uu_jentry e;
  char key[UU_JKEY];
  const char *k;
  size_t kn;
  int have_prev;
  r->why = "new";
  if (r->j == NULL)
    return 0;
  memset(&e, 0, sizeof e);
  k = uu_many_jkey(r, s, key, &kn);
  s->prev.n = 0;
  if (uu_journal_lookup(r->j, k, kn, &e, &s->prev) != 0)
    luaL_error(r->L, "userupd: journal: %s", uu_journal_errmsg(r->j));
  have_prev = e.has_payload;
  r->why = e.state == UU_J_OK ? "changed" : e.state == UU_J_NONE ? "new"
                                                                 : "failed";
  if (!r->skip_unchanged || e.state == UU_J_FAILED)
    return 0;          /* a failure may have reached the vendor: send again */
  if (same_payload(r, s, &e, have_prev)) {
    heal(r, s, &e, have_prev);
    return unchanged(r);
  }
  if (r->changed_fields && !whole && have_prev &&
      !s->secret_fields && uu_many_fields_json(r->c, s) == 0) {
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
void uu_many_secret_key(uu_run *r)
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

/* The fingerprint of a record that carries a secret (keyed, see
** keyed_hash.c); 0 for the others, whose payload the journal keeps and
** compares itself (same_payload). */
uint64_t uu_many_hash(uu_run *r, const uu_slot *s)
{
  if (s->secret_fields)
    return uu_siphash(r->skey, s->body.p, s->fields_end);
  return 0;
}

int uu_many_has_secret(const uu_vendor *v, lua_State *L, int fields)
{
  const uu_field *f;
  for (f = v->fields; f->name != NULL; f++)
    if ((f->flags & UU_SECRET)) {
      lua_getfield(L, fields, f->name);
      if (!lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return 1;
      }
      lua_pop(L, 1);
    }
  return 0;
}

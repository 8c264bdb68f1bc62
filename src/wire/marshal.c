/*
** marshal.c: a Lua table of fields -> the vendor's JSON body, driven by the
** descriptor.  Validation and writing are one walk: nothing is sent unless
** every field passed, and the first problem is reported with its field.
**
** Keys come out in descriptor order (the seed's order), never in lua_next
** order, so the same input always gives the same bytes.
*/
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "wire/marshal.h"

/* Where each descriptor field was given: absent, by its native name or by
** its cross-vendor name. */
enum { GIVEN_NO = 0, GIVEN_NATIVE, GIVEN_CANON };

static int is_null(lua_State *L, int idx)
{
  return lua_type(L, idx) == LUA_TLIGHTUSERDATA &&
         lua_touserdata(L, idx) == NULL;
}

/* The nearest field name (native or cross-vendor), or NULL if none is
** close enough to be a plausible typo (suggest.c). */
static const char *nearest(const uu_vendor *v, const char *s, size_t n)
{
  const uu_field *f;
  uu_suggest sg;
  uu_suggest_init(&sg, s, n);
  for (f = v->fields; f->name != NULL; f++) {
    uu_suggest_try(&sg, f->name);
    uu_suggest_try(&sg, f->canon);
  }
  return sg.best;
}

static int is_canon_name(const char *s)
{
  return strcmp(s, "first_name") == 0 || strcmp(s, "last_name") == 0 ||
         strcmp(s, "email") == 0 || strcmp(s, "external_id") == 0;
}

static int unknown_field(const uu_vendor *v, const char *s, size_t n,
                         uu_bad *bad)
{
  char name[64];
  const char *near;
  snprintf(name, sizeof name, "%.*s%s", n > 48 ? 48 : (int)n, s,
           n > 48 ? "..." : "");
  if (is_canon_name(name))
    return uu_bad_at(bad, name, "%s: %s has no such field", name, v->name);
  near = nearest(v, s, n);
  if (near != NULL)
    return uu_bad_at(bad, name, "unknown field '%s' (did you mean '%s'?)",
                     name, near);
  return uu_bad_at(bad, name, "unknown field '%s' for %s", name, v->name);
}

/* ---- one record ------------------------------------------------------- */

/* Everything one marshal call tracks about the record. */
typedef struct walk {
  uu_client *c;                     /* the client: descriptor and limits */
  lua_State *L;                     /* the state the fields table is in */
  int idx;                          /* stack index of the fields table */
  unsigned char given[MAX_FIELDS];  /* per field: GIVEN_NO/NATIVE/CANON */
  unsigned char nulled[MAX_FIELDS]; /* cleared via the vendor's null list */
  unsigned char listed[MAX_FIELDS]; /* named in the explicit null list */
  int slot[MAX_FIELDS];             /* stack index of each given value */
  int type[MAX_FIELDS];             /* its Lua type */
  const char *str[MAX_FIELDS];      /* a string's bytes (the slot keeps */
  size_t len[MAX_FIELDS];           /* them alive) and length */
  int nfields;                      /* fields in the descriptor */
  uu_buf *b;                        /* the body being written */
  int first;                        /* no member written yet: no comma */
  uu_bad *bad;                      /* the first problem, for the caller */
} walk;

static const char *given_name(const walk *w, const uu_field *f)
{
  return w->given[f - w->c->v->fields] == GIVEN_CANON ? f->canon : f->name;
}

/* Pass 1: every key must name a field, and no field twice.  Unknown keys
** are reported smallest first, so the message does not depend on hash
** order. */
/* A key (under its value) that names no field: the first in byte order
** is kept for the error; a key that is no string is an error now.  Pops
** the value. */
static int note_unknown(walk *w, const char **unknown, size_t *ul)
{
  const char *k, *t;
  size_t kl;
  if (lua_type(w->L, -2) != LUA_TSTRING) {
    t = luaL_typename(w->L, -2);
    lua_pop(w->L, 2);
    return uu_bad_at(w->bad, "?", "field names must be strings, got a %s "
                     "key (is fields a list instead of a table of names?)", t);
  }
  k = lua_tolstring(w->L, -2, &kl);
  if (*unknown == NULL || strcmp(k, *unknown) < 0) {
    *unknown = k;                                  /* the table holds it */
    *ul = kl;
  }
  lua_pop(w->L, 1);
  return 0;
}

/* The value on top for the field at index at of the names table (< 0:
** given by its cross-vendor name) stays where it is, as that field's
** slot, and a copy of its key goes on top for the next lua_next. */
static int keep_field(walk *w, int at)
{
  const uu_field *f;
  int i = (at < 0 ? -at : at) - 1;
  if (i < 0 || i >= w->nfields) {                  /* the table is ours */
    lua_pop(w->L, 2);
    return uu_bad_at(w->bad, "?", "internal: bad field index");
  }
  f = &w->c->v->fields[i];
  if (w->given[i] != GIVEN_NO) {
    lua_pop(w->L, 2);
    return uu_bad_at(w->bad, f->name, "%s: given twice, as '%s' and '%s'",
                     f->name, f->name, f->canon);
  }
  w->given[i] = at < 0 ? GIVEN_CANON : GIVEN_NATIVE;
  w->slot[i] = lua_gettop(w->L);
  w->type[i] = lua_type(w->L, -1);
  if (w->type[i] == LUA_TSTRING)
    w->str[i] = lua_tolstring(w->L, -1, &w->len[i]);
  lua_pushvalue(w->L, -2);                         /* key, value, key */
  return 0;
}

/* The names table's value for the key under the value on top: by the
** key string's address (names.c), else by a look-up in the table. */
static int field_at(walk *w, int names)
{
  int at = 0;
  if (lua_type(w->L, -2) == LUA_TSTRING)
    at = uu_names_find(w->c, lua_tostring(w->L, -2));
  if (at != 0)
    return at;
  lua_pushvalue(w->L, -2);
  lua_rawget(w->L, names);                         /* ..., key, value, at */
  at = (int)lua_tointeger(w->L, -1);
  lua_pop(w->L, 1);
  return at;
}

/* Every key of the fields table to its field's slot: a known field's
** key and value stay on the stack above the names table (each field at
** most once, so 2 slots per field of the descriptor at most); an unknown
** name fails with the closest one. */
static int scan_keys(walk *w)
{
  const char *unknown = NULL;
  size_t ul = 0;
  int names = uu_names_push(w->L, w->c), at, rc;
  luaL_checkstack(w->L, 2 * w->nfields + 6, "fields");
  lua_pushnil(w->L);
  while (lua_next(w->L, w->idx)) {                 /* ..., key, value */
    at = field_at(w, names);
    rc = at == 0 ? note_unknown(w, &unknown, &ul) : keep_field(w, at);
    if (rc != 0)
      return rc;
  }
  if (unknown != NULL)
    return unknown_field(w->c->v, unknown, ul, w->bad);
  return 0;
}

/* The vendor's explicit null list (Blackbaud FieldsToNull): each entry must
** name one of the vendor's own fields. */
static int scan_null_list(walk *w, const uu_field *nf)
{
  const uu_field *f;
  const char *s;
  size_t n, i, len;
  int canon;
  char where[96];
  luaL_checkstack(w->L, 4, "fields");
  if (lua_type(w->L, -1) != LUA_TTABLE)
    return uu_type_error(w->L, -1, nf->name, "a list of field names", w->bad);
  len = uu_rawlen(w->L, -1);
  if (uu_count_keys(w->L, lua_gettop(w->L)) != len)
    return uu_bad_at(w->bad, nf->name, "%s: expected a list (keys 1..n)",
                     nf->name);
  for (i = 1; i <= len; i++) {
    snprintf(where, sizeof where, "%s[%lu]", nf->name, (unsigned long)i);
    lua_rawgeti(w->L, -1, (int)i);
    s = lua_tolstring(w->L, -1, &n);
    f = lua_type(w->L, -1) == LUA_TSTRING
            ? uu_field_find(w->c->v, s, n, &canon) : NULL;
    lua_pop(w->L, 1);
    if (f == NULL || canon || f == nf)
      return uu_bad_at(w->bad, where, "%s: not a %s field name", where,
                       w->c->v->name);
    w->listed[f - w->c->v->fields] = 1;
  }
  return 0;
}

/* A replace* flag set to true replaces the user's access with the lists
** given; any list left out would go as [] and silently remove everything.
** So every list it replaces must be given explicitly. */
static int check_guard(walk *w, const uu_field *f)
{
  const char *p = f->arg, *bar;
  const uu_field *lf;
  int canon;
  size_t n;
  if (!lua_toboolean(w->L, w->slot[f - w->c->v->fields]))
    return 0;
  for (;;) {
    bar = strchr(p, '|');
    n = bar ? (size_t)(bar - p) : strlen(p);
    lf = uu_field_find(w->c->v, p, n, &canon);
    if (lf != NULL && w->given[lf - w->c->v->fields] == GIVEN_NO)
      return uu_bad_at(w->bad, f->name, "%s = true replaces the user's "
                       "access, but %.*s was not given and would wipe it; give "
                       "every list it replaces (an empty table to clear one)",
                       f->name, (int)n, p);
    if (bar == NULL)
      return 0;
    p = bar + 1;
  }
}

/* Field i's given value (in its slot), of Lua type t. */
static int write_value(walk *w, const uu_field *f, const char *field,
                       int i, int t)
{
  lua_State *L = w->L;
  int at = w->slot[i];
  switch (f->kind) {
  case UU_INT:
  case UU_NUMBER:
    if (t != LUA_TNUMBER)
      return uu_value_error(L, at, f, field, f->kind == UU_INT ? "integer"
                            : "number", w->bad);
    return f->kind == UU_INT ? uu_write_int(L, at, w->b, field, w->bad)
                             : uu_write_number(L, at, w->b, field, w->bad);
  case UU_BOOL:
    if (t != LUA_TBOOLEAN)
      return uu_value_error(L, at, f, field, "boolean", w->bad);
    return uu_buf_add(w->b, lua_toboolean(L, at) ? "true" : "false",
                      lua_toboolean(L, at) ? 4 : 5) == 0
               ? 0 : uu_bad_nomem(w->bad, field);
  case UU_STRING_LIST:
  case UU_UUID_LIST:
  case UU_NAME_LIST:
    return uu_write_list(w->c, L, at, w->b, field, f, w->bad);
  case UU_OBJECT:
    return uu_write_object(w->c, L, at, w->b, field, w->bad);
  case UU_KV_LIST:
    return uu_write_kvlist(w->c, L, at, w->b, field, w->bad);
  default:
    if (t != LUA_TSTRING)
      return uu_type_error(L, at, field, "string", w->bad);
    return uu_write_chars(w->c, w->b, field, f, w->str[i], w->len[i],
                          w->bad);
  }
}

/* ,"name": -- descriptor names are plain ASCII, so no escaping pass. */
static int write_key(walk *w, const char *name)
{
  size_t n = strlen(name);
  /* room for ,"name": and the NUL: cap - n > n + 4 (false at cap 0) */
  if (w->b->cap - w->b->n <= n + 4 && uu_buf_reserve(w->b, n + 4) != 0)
    return uu_bad_nomem(w->bad, name);
  if (!w->first)
    w->b->p[w->b->n++] = ',';
  w->b->p[w->b->n++] = '"';
  memcpy(w->b->p + w->b->n, name, n);
  w->b->n += n;
  w->b->p[w->b->n++] = '"';
  w->b->p[w->b->n++] = ':';
  w->b->p[w->b->n] = '\0';
  w->first = 0;
  return 0;
}

/* userupd.null for field f: the vendor's own null list where its seed
** documents one (Blackbaud FieldsToNull); JSON null only when the client
** opted in with send_null, because no other seed says null clears. */
static int write_null(walk *w, const uu_field *f, const char *name)
{
  const uu_vendor *v = w->c->v;
  if (f->flags & UU_NONULL)
    return uu_bad_at(w->bad, name, "%s: cannot be cleared with userupd.null%s",
                     name, f->kind == UU_KV_LIST || f->kind == UU_STRING_LIST ||
                     f->kind == UU_UUID_LIST ? "; give {} for an empty list"
                                          : "");
  if (v->null_list != NULL) {
    (w->nulled[f - v->fields] = 1);
    return 0;
  }
  if (!w->c->send_null)
    return uu_bad_at(w->bad, name, "%s: userupd.null refused: %s documents no "
                     "way to clear a field; set send_null = true on the client "
                     "to send JSON null anyway", name, v->name);
  return write_key(w, f->name) != 0 || uu_buf_add(w->b, "null", 4) != 0
             ? -1 : 0;
}

/* Pass 2, one descriptor field, its value read in its slot.  The
** explicit null list is written last, by write_nulls, once every cleared
** field is known. */
static int write_field(walk *w, const uu_field *f)
{
  lua_State *L = w->L;
  int i = (int)(f - w->c->v->fields), rc, t;
  const char *name;
  if (w->given[i] == GIVEN_NO)
    return (f->flags & UU_REQLIST)
               ? (write_key(w, f->name) != 0 ||
                  uu_buf_add(w->b, "[]", 2) != 0 ? -1 : 0)
               : 0;
  name = given_name(w, f);
  t = w->type[i];
  if (t == LUA_TLIGHTUSERDATA && is_null(L, w->slot[i]))
    return write_null(w, f, name);
  if (w->listed[i])
    return uu_bad_at(w->bad, name, "%s: given a value and also listed in %s",
                     name, w->c->v->null_list);
  /* a list's writer pushes an element, an object's recurses with its own
  ** checks: room for what they push */
  if (t == LUA_TTABLE)
    luaL_checkstack(L, 4, "fields");
  rc = (f->flags & UU_GUARD) ? check_guard(w, f) : 0;
  if (rc == 0 && (rc = write_key(w, f->name)) == 0)
    rc = write_value(w, f, name, i, t);
  return rc;
}

/* "FieldsToNull":[...] in descriptor order, if anything is cleared. */
static int write_nulls(walk *w, const uu_field *nf)
{
  const uu_field *f;
  int i, any = 0;
  for (f = w->c->v->fields; f->name != NULL; f++) {
    i = (int)(f - w->c->v->fields);
    if (!w->nulled[i] && !w->listed[i])
      continue;
    if ((!any && (write_key(w, nf->name) != 0 ||
                  uu_buf_addc(w->b, '[') != 0)) ||
        (any && uu_buf_addc(w->b, ',') != 0) ||
        uu_json_string(w->b, f->name, strlen(f->name)) != UU_JOK)
      return uu_bad_nomem(w->bad, nf->name);
    any = 1;
  }
  if (any && uu_buf_addc(w->b, ']') != 0)
    return uu_bad_nomem(w->bad, nf->name);
  return 0;
}

static const uu_field *null_field(const uu_vendor *v)
{
  int canon;
  return v->null_list == NULL ? NULL
         : uu_field_find(v, v->null_list, strlen(v->null_list), &canon);
}

static int walk_fields(walk *w, const uu_field *nf)
{
  const uu_field *f;
  for (f = w->c->v->fields; f->name != NULL; f++)
    if (f != nf && write_field(w, f) != 0)
      return -1;
  return nf != NULL ? write_nulls(w, nf) : 0;
}

/* ---- extra members (fields the descriptor lacks) ---------------------- */

/* a and the n bytes at k are one name but for ASCII case. */
static int same_name(const char *a, const char *k, size_t n)
{
  return a != NULL && strlen(a) == n && strncasecmp(a, k, n) == 0;
}

/* Whether k names a user's id, as vendors spell one in bodies and answers
** ("id", "Id", "userID", "UserId", "user_id", "uid"): ASCII case, '_' and
** '-' ignored.  The id goes where the descriptor puts it (the URL, or the
** body's id member) and nowhere else: an id member in extra could point
** the write at another user wherever the vendor reads the body's id. */
static int names_an_id(const char *k, size_t n)
{
  static const char *const ids[] = { "id", "userid", "uid", NULL };
  char norm[16];
  size_t i, m = 0;
  int j;
  for (i = 0; i < n; i++) {
    if (k[i] == '_' || k[i] == '-')
      continue;
    if (m == sizeof norm - 1)
      return 0;
    norm[m++] = (char)((k[i] >= 'A' && k[i] <= 'Z') ? k[i] + 32 : k[i]);
  }
  norm[m] = '\0';
  for (j = 0; ids[j] != NULL; j++)
    if (strcmp(norm, ids[j]) == 0)
      return 1;
  return 0;
}

/* What a name extra may not take: a member userupd writes or checks (a
** descriptor field, native, cross-vendor or as answered; the body id;
** the clear list; a credential) in any ASCII case, since a vendor may
** match names without case (Forms On Fire's .NET service: "ID" next to
** the checked "Id").  NULL when free; else why, with *same the member. */
static const char *extra_name_taken(const uu_client *c, const char *k,
                                    size_t n, const char **same)
{
  const uu_vendor *v = c->v;
  const uu_field *f;
  const uu_bodycred *bc;
  for (f = v->fields; f->name != NULL; f++) {
    *same = same_name(f->name, k, n) ? f->name : same_name(f->canon, k, n)
            ? f->canon : same_name(f->reply, k, n) ? f->reply : NULL;
    if (*same != NULL)
      return "is a documented field; give it in fields, not extra";
  }
  *same = v->id_body;
  if (same_name(v->id_body, k, n))
    return "is written by userupd itself (the id)";
  *same = "id";
  if (names_an_id(k, n))
    return "names the user's id, which userupd takes from the id argument "
           "only";
  *same = v->null_list;
  if (same_name(v->null_list, k, n))
    return "is the documented clear list; give it in fields, not extra";
  for (bc = v->body_creds; bc != NULL && bc->json != NULL; bc++) {
    *same = bc->json;
    if (same_name(bc->json, k, n))
      return "is written by userupd itself (a credential)";
  }
  return NULL;
}

/* userupd.null as an extra value: JSON null only with send_null. */
static int extra_null(walk *w, const char *at)
{
  if (w->c->v->null_list != NULL)
    return uu_bad_at(w->bad, at, "%s: userupd.null refused: %s clears fields "
                     "through %s, not JSON null; set send_null = true on the "
                     "client to send JSON null anyway", at, w->c->v->name,
                     w->c->v->null_list);
  return uu_bad_at(w->bad, at, "%s: userupd.null refused: %s documents no way "
                   "to clear a field; set send_null = true on the client to "
                   "send JSON null anyway", at, w->c->v->name);
}

/* ,"name":value for one extra member; the value at index value, checked
** as JSON only (UTF-8, finite numbers, no cycles, depth, length). */
static int write_extra_member(walk *w, int value, const char *k, size_t kl)
{
  char at[96], where[224];
  const char *taken, *same;
  uu_jerr je;
  int rc;
  snprintf(at, sizeof at, "extra.%s", uu_cut(k, kl, where, sizeof where, 24));
  if (kl == 0)
    return uu_bad_at(w->bad, "extra", "extra: a member name must not be empty");
  if ((taken = extra_name_taken(w->c, k, kl, &same)) != NULL)
    return uu_bad_at(w->bad, at, "%s: '%s' %s ('%s', compared without "
                     "case)", at, at + 6, taken, same);
  if (is_null(w->L, value) && !w->c->send_null)
    return extra_null(w, at);
  if ((!w->first && uu_buf_addc(w->b, ',') != 0) ||
      (rc = uu_json_string(w->b, k, kl)) == UU_JNOMEM ||
      (rc == UU_JOK && uu_buf_addc(w->b, ':') != 0))
    return uu_bad_nomem(w->bad, at);
  if (rc != UU_JOK)
    return uu_bad_at(w->bad, at, "%s: the name is %s", at,
                     uu_json_strerror(rc));
  w->first = 0;
  je.path[0] = '\0';
  if ((rc = uu_json_value(w->L, value, w->b, UU_MAX_DEPTH, w->c->max_string,
                          w->c->max_body, &je)) == UU_JOK)
    return 0;
  if (rc == UU_JBIG)
    return uu_bad_big(w->c, w->bad, at);
  snprintf(where, sizeof where, "%s%s%s", at,
           je.path[0] && je.path[0] != '[' ? "." : "", je.path);
  return uu_bad_at(w->bad, where, "%s: %s", where, uu_json_strerror(rc));
}

/* extra = { Name = value }: after the documented fields, names sorted so
** the same input gives the same bytes. */
static int write_extra(walk *w, int extra)
{
  lua_State *L = w->L;
  int top = lua_gettop(L), n, i, keys;
  const char *k;
  size_t kl;
  if (lua_type(L, extra) != LUA_TTABLE)
    return uu_type_error(L, extra, "extra", "a table of name = value", w->bad);
  n = uu_json_sorted_keys(L, extra, 0);
  keys = lua_gettop(L);
  if (n < 0) {
    lua_settop(L, top);
    return uu_bad_at(w->bad, "extra", "extra: member names must be "
                     "strings");
  }
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, keys, i);
    lua_pushvalue(L, -1);
    lua_rawget(L, extra);                          /* ..., keys, k, v */
    k = lua_tolstring(L, -2, &kl);
    if (write_extra_member(w, lua_gettop(L), k, kl) != 0) {
      lua_settop(L, top);
      return -1;
    }
    lua_pop(L, 2);
  }
  lua_settop(L, top);
  return 0;
}

/* Pushes the sorted names of a non-empty extra table and returns 1; 0
** (nothing pushed) for none.  tostring(request) and --dry-run mark them. */
int uu_push_extra_names(lua_State *L, int extra)
{
  if (extra == 0 || lua_type(L, extra) != LUA_TTABLE ||
      uu_count_keys(L, uu_absindex(L, extra)) == 0)
    return 0;
  if (uu_json_sorted_keys(L, extra, 0) < 0) {
    lua_pop(L, 1);
    return 0;
  }
  return 1;
}

/* opts.extra (opts at index opts, a table or none) pushed: its index, or
** 0 with nothing pushed when there is none. */
int uu_extra_arg(lua_State *L, int opts)
{
  if (lua_type(L, opts) != LUA_TTABLE)
    return 0;
  lua_getfield(L, opts, "extra");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return 0;
  }
  return lua_gettop(L);
}

/* ---- one record, whole ------------------------------------------------ */

static int walk_init(walk *w, uu_client *c, lua_State *L, int idx,
                     uu_buf *body, uu_bad *bad)
{
  /* only what the walk reads before writing: the per-field values are
  ** set where given[] says so */
  memset(w->given, 0, sizeof w->given);
  memset(w->nulled, 0, sizeof w->nulled);
  memset(w->listed, 0, sizeof w->listed);
  w->c = c;
  w->L = L;
  w->idx = uu_absindex(L, idx);
  w->b = body;
  w->bad = bad;
  w->first = 1;
  for (w->nfields = 0; c->v->fields[w->nfields].name != NULL; w->nfields++)
    ;
  bad->field[0] = bad->msg[0] = '\0';
  body->n = 0;
  luaL_checkstack(L, 12, "fields");
  if (w->nfields > MAX_FIELDS)
    return uu_bad_at(bad, "?", "vendor descriptor has too many fields");
  return scan_keys(w);
}

/* The explicit null list, when given, checked (scan_null_list). */
static int read_null_list(walk *w, const uu_field *nf)
{
  int rc;
  if (nf == NULL || w->given[nf - w->c->v->fields] == GIVEN_NO)
    return 0;
  lua_pushvalue(w->L, w->slot[nf - w->c->v->fields]);
  rc = scan_null_list(w, nf);
  lua_pop(w->L, 1);
  return rc;
}

/* "{", the id where the body carries it, the fields, the extra members:
** everything up to the credentials. */
static int write_members(walk *w, const uu_field *nf, int extra,
                         const char *id, size_t idlen)
{
  const uu_vendor *v = w->c->v;
  if (uu_buf_addc(w->b, '{') != 0)
    return uu_bad_nomem(w->bad, "body");
  if (v->id_body != NULL && (write_key(w, v->id_body) != 0 ||
                             uu_json_string(w->b, id, idlen) != UU_JOK))
    return uu_bad_nomem(w->bad, "id");
  if (walk_fields(w, nf) != 0)
    return -1;
  if (extra != 0 && !lua_isnil(w->L, extra))
    return write_extra(w, extra);
  return 0;
}

/* The record at idx (and the extra members at extra, 0 for none) ->
** body.  *fields_end is where the credentials begin, so a payload hash or
** a kept copy never includes a secret of the client's (the caller drops
** UU_SECRET fields itself where it must). */
int uu_marshal_x(uu_client *c, lua_State *L, int idx, int extra,
                 const char *id, size_t idlen, uu_buf *body,
                 size_t *fields_end, uu_bad *bad)
{
  walk w;
  const uu_field *nf = null_field(c->v);
  int top = lua_gettop(L), rc;
  extra = extra != 0 ? uu_absindex(L, extra) : 0;
  rc = walk_init(&w, c, L, idx, body, bad);
  if (rc == 0)
    rc = read_null_list(&w, nf);
  if (rc == 0)
    rc = write_members(&w, nf, extra, id, idlen);
  lua_settop(L, top);                              /* the given values */
  if (rc != 0)
    return -1;
  if (body->n > c->max_body)             /* many fields, long lists, ... */
    return uu_bad_big(c, bad, "body");
  *fields_end = body->n;
  if (c->body_tail.n > 0 &&
      ((!w.first && uu_buf_addc(body, ',') != 0) ||
       uu_buf_add(body, c->body_tail.p, c->body_tail.n) != 0))
    return uu_bad_nomem(bad, "body");
  return uu_buf_addc(body, '}') == 0 ? 0 : uu_bad_nomem(bad, "body");
}

int uu_marshal(uu_client *c, lua_State *L, int idx, const char *id,
               size_t idlen, uu_buf *body, size_t *fields_end, uu_bad *bad)
{
  return uu_marshal_x(c, L, idx, 0, id, idlen, body, fields_end, bad);
}

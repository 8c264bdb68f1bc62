/*
** json_write.c: the JSON writer (json.h): strings, exact integers, doubles
** and any Lua value.  The generic writer keeps its state on the C stack or
** the Lua stack and appends only to a uu_buf, so a Lua error (only ever out
** of memory) cannot leak.
*/
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/compat.h"
#include "json/json.h"

/* ----------------------------------------------------------------- writer */

/* Escape one byte that JSON may not carry raw: '"', '\\' or < 0x20. */
static int add_escape(uu_buf *b, unsigned char c)
{
  static const char hex[] = "0123456789abcdef";
  char e[6];
  e[0] = '\\';
  switch (c) {
  case '"': e[1] = '"'; break;
  case '\\': e[1] = '\\'; break;
  case '\b': e[1] = 'b'; break;
  case '\f': e[1] = 'f'; break;
  case '\n': e[1] = 'n'; break;
  case '\r': e[1] = 'r'; break;
  case '\t': e[1] = 't'; break;
  default:
    e[1] = 'u';
    e[2] = '0';
    e[3] = '0';
    e[4] = hex[c >> 4];
    e[5] = hex[c & 15];
    return uu_buf_add(b, e, 6);
  }
  return uu_buf_add(b, e, 2);
}

/* Whether the 8 bytes at p are all plain (uu_json_plain): none below
** 0x20, none from 0x80, no '"' and no '\\'.  Each test is exact about
** whether any byte of the word matches (a borrow only runs past a byte
** that matched), so a word it passes is plain. */
static int word_plain(const unsigned char *p)
{
  const uint64_t ones = 0x0101010101010101ull;
  uint64_t w, q, s;
  memcpy(&w, p, 8);
  q = w ^ (ones * 0x22);
  s = w ^ (ones * 0x5C);
  return ((((w - ones * 0x20) & ~w) | ((q - ones) & ~q) |
           ((s - ones) & ~s) | w) & (ones * 0x80)) == 0;
}

/* One pass: copy runs of plain bytes, check UTF-8, escape the rest. */
int uu_json_string(uu_buf *b, const char *s, size_t n)
{
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, run = 0, len;  /* s[run..i) is waiting to be copied */
  if (n == 0)  /* s may be NULL then, and NULL + 0 is undefined */
    return uu_buf_add(b, "\"\"", 2) != 0 ? UU_JNOMEM : UU_JOK;
  /* One reservation covers the common case of nothing to escape. */
  if (uu_buf_reserve(b, n + 2) != 0 || uu_buf_addc(b, '"') != 0)
    return UU_JNOMEM;
  while (i < n) {
    while (n - i >= 8 && word_plain(u + i))
      i += 8;
    while (i < n && uu_json_plain[u[i]])
      i++;
    if (i == n && run == 0) {      /* all plain: one copy, room reserved */
      memcpy(b->p + b->n, s, n);
      b->n += n;
      b->p[b->n++] = '"';
      b->p[b->n] = '\0';
      return UU_JOK;
    }
    if (i == n)
      break;
    if (u[i] >= 0x80) {
      if ((len = uu_utf8_seq(u + i, n - i)) == 0)
        return UU_JUTF8;
      i += len;
      continue;
    }
    if (uu_buf_add(b, s + run, i - run) != 0 || add_escape(b, u[i]) != 0)
      return UU_JNOMEM;
    run = ++i;
  }
  if (uu_buf_add(b, s + run, n - run) != 0 || uu_buf_addc(b, '"') != 0)
    return UU_JNOMEM;
  return UU_JOK;
}

int uu_json_integer(uu_buf *b, long long v)
{
  char tmp[24];
  char *p = tmp + sizeof tmp;
  /* Work on the magnitude unsigned: -LLONG_MIN overflows a long long. */
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                               : (unsigned long long)v;
  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0)
    *--p = '-';
  if (uu_buf_add(b, p, (size_t)(tmp + sizeof tmp - p)) != 0)
    return UU_JNOMEM;
  return UU_JOK;
}

/*
** snprintf writes the C locale's decimal point (',' in de_DE, the two
** bytes of U+066B in ps_AF).  The only bytes of %g output that are not
** digits, signs or 'e' form that point: replace the run by '.'.
*/
static size_t fix_decimal_point(char *s, size_t len)
{
  size_t i, j = 0;
  int in_point = 0;
  for (i = 0; i < len; i++) {
    if (strchr("0123456789+-e", s[i]) == NULL) {
      if (!in_point)
        s[j++] = '.';
      in_point = 1;
      continue;
    }
    in_point = 0;
    s[j++] = s[i];
  }
  s[j] = '\0';
  return j;
}

int uu_json_number(uu_buf *b, double d)
{
  char tmp[48];
  int prec, len = 0;
  if (isnan(d) || isinf(d))
    return UU_JNUMBER;
  if (d == 0)  /* %g writes "-0" and "0" too, but this skips strtod */
    return uu_buf_add(b, signbit(d) ? "-0" : "0", signbit(d) ? 2 : 1)
           ? UU_JNOMEM : UU_JOK;
  /* printf and strtod share the locale, so the read-back test holds. */
  for (prec = 15; prec <= 17; prec++) {
    len = snprintf(tmp, sizeof tmp, "%.*g", prec, d);
    if (len <= 0 || (size_t)len >= sizeof tmp)
      return UU_JNUMBER;
    if (strtod(tmp, NULL) == d)
      break;
  }
  len = (int)fix_decimal_point(tmp, (size_t)len);
  return uu_buf_add(b, tmp, (size_t)len) != 0 ? UU_JNOMEM : UU_JOK;
}

/* ------------------------------------------------ generic Lua value writer */

/*
** One value being written, linked to the value that contains it.  The
** chain is both the cycle check (tables of all ancestors) and the error
** path; it lives on the C stack, so there is nothing to free.
*/
typedef struct enc_frame {
  const struct enc_frame *up;  /* enclosing value; NULL at the root */
  const void *table;           /* this value if a table, else NULL */
  const char *key;             /* key in the enclosing object, or NULL */
  size_t klen;
  long long index;             /* Lua index in the enclosing array, or 0 */
} enc_frame;

typedef struct enc_ctx {
  lua_State *L;
  uu_buf *b;
  int maxdepth;
  size_t maxstr;
  size_t maxbytes;           /* b->n may not pass this */
  uu_jerr *err;
} enc_ctx;

/* A string key of an object; the table being written keeps it alive. */
typedef struct key_ent {
  const char *s;
  size_t len;
} key_ent;

/* What the keys of a table are. */
typedef struct key_scan {
  size_t nstr, nint;  /* string keys, positive integer keys */
  long long maxi;     /* largest integer key */
} key_scan;

#define KEYS_LOCAL 16  /* objects with more keys sort in a userdata */

#define PATH_CAP sizeof(((uu_jerr *)0)->path)

/* Error path being built, capped at sizeof err->path - 1 bytes. */
typedef struct path_out {
  char *s;
  size_t n;
  int cut;  /* something did not fit */
} path_out;

static void path_put(path_out *o, const char *s, size_t n)
{
  size_t room = PATH_CAP - 1 - o->n;
  if (n > room) {
    n = room;
    o->cut = 1;
  }
  memcpy(o->s + o->n, s, n);
  o->n += n;
}

/* a.b for identifier keys, ["x y"] for others (quotes, controls -> '?'). */
static void path_key(path_out *o, const char *k, size_t len)
{
  size_t i;
  int ident = len > 0 && !(k[0] >= '0' && k[0] <= '9');
  char c;
  for (i = 0; i < len && ident; i++)
    ident = (k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z')
            || (k[i] >= '0' && k[i] <= '9') || k[i] == '_';
  if (ident) {
    if (o->n > 0)
      path_put(o, ".", 1);
    path_put(o, k, len);
    return;
  }
  path_put(o, "[\"", 2);
  for (i = 0; i < len; i++) {
    c = ((unsigned char)k[i] < 0x20 || k[i] == '"' || k[i] == '\\')
        ? '?' : k[i];
    path_put(o, &c, 1);
  }
  path_put(o, "\"]", 2);
}

/* Root first: recurse to the top of the chain, then append this step. */
static void path_walk(path_out *o, const enc_frame *f)
{
  char num[32];
  if (f == NULL)
    return;
  path_walk(o, f->up);
  if (f->key != NULL) {
    path_key(o, f->key, f->klen);
  } else if (f->index > 0) {
    snprintf(num, sizeof num, "[%lld]", f->index);
    path_put(o, num, strlen(num));
  }
}

static void path_make(char *dst, const enc_frame *f)
{
  path_out o;
  o.s = dst;
  o.n = 0;
  o.cut = 0;
  path_walk(&o, f);
  if (o.cut) {  /* end in "...", not in half a UTF-8 character */
    o.n = PATH_CAP - 4;
    while (o.n > 0 && ((unsigned char)dst[o.n] & 0xC0) == 0x80)
      o.n--;
    memcpy(dst + o.n, "...", 3);
    o.n += 3;
  }
  dst[o.n] = '\0';
}

/* Record the first (innermost) error only; outer levels pass it on. */
static int enc_fail(enc_ctx *c, int code, const enc_frame *fr)
{
  if (c->err->code == UU_JOK) {
    c->err->code = code;
    path_make(c->err->path, fr);
  }
  return code;
}

static int enc_number(enc_ctx *c, int idx)
{
  lua_Number d;
  if (uu_isinteger(c->L, idx))
    return uu_json_integer(c->b, (long long)lua_tointeger(c->L, idx));
  d = lua_tonumber(c->L, idx);
#if !UU_HAS_INT64
  /* No integer subtype: integral doubles that are exact print as such. */
  if (d == floor(d) && fabs(d) <= UU_MAX_SAFE_DOUBLE
      && !(d == 0 && signbit(d)))
    return uu_json_integer(c->b, (long long)d);
#endif
  return uu_json_number(c->b, (double)d);
}

static int enc_string(enc_ctx *c, int idx)
{
  size_t len;
  const char *s = lua_tolstring(c->L, idx, &len);
  if (len > c->maxstr)
    return UU_JLONG;
  return uu_json_string(c->b, s, len);
}

/* Key at idx as an array index 1..2^53 (or lua_Integer max); 0 if not. */
static int key_index(lua_State *L, int idx, long long *out)
{
  lua_Number d;
  if (lua_type(L, idx) != LUA_TNUMBER)
    return 0;
  if (uu_isinteger(L, idx)) {
    *out = (long long)lua_tointeger(L, idx);
    return *out > 0;
  }
  d = lua_tonumber(L, idx);
  if (!(d >= 1 && d <= UU_MAX_SAFE_DOUBLE) || d != floor(d))
    return 0;
  *out = (long long)d;
  return 1;
}

/* Classify the keys of table t; the first cap string keys go to ents. */
static int scan_keys(lua_State *L, int t, key_ent *ents, size_t cap,
                     key_scan *ks)
{
  long long i;
  ks->nstr = ks->nint = 0;
  ks->maxi = 0;
  lua_pushnil(L);                                  /* t, nil */
  while (lua_next(L, t) != 0) {                    /* t, key, value */
    lua_pop(L, 1);                                 /* t, key */
    if (lua_type(L, -1) == LUA_TSTRING) {
      if (ks->nstr < cap)
        ents[ks->nstr].s = lua_tolstring(L, -1, &ents[ks->nstr].len);
      ks->nstr++;
    } else if (key_index(L, -1, &i)) {
      ks->nint++;
      if (i > ks->maxi)
        ks->maxi = i;
    } else {
      return UU_JKEY;  /* the caller resets the stack */
    }
  }
  if (ks->nint > 0 && (ks->nstr > 0 || ks->maxi != (long long)ks->nint))
    return UU_JSPARSE;
  return UU_JOK;
}

/* Push a userdata holding all n string keys of t (more than KEYS_LOCAL). */
static key_ent *collect_keys(lua_State *L, int t, size_t n)
{
  key_ent *e = (key_ent *)lua_newuserdata(L, n * sizeof *e);  /* t, ud */
  size_t i = 0;
  lua_pushnil(L);
  while (lua_next(L, t) != 0) {                    /* t, ud, key, value */
    lua_pop(L, 1);
    if (i < n)  /* all keys are strings: scan_keys said so */
      e[i].s = lua_tolstring(L, -1, &e[i].len);
    i++;
  }
  return e;
}

/* Bytewise, shorter first on a common prefix: stable across runs. */
static int key_cmp(const void *pa, const void *pb)
{
  const key_ent *a = (const key_ent *)pa, *b = (const key_ent *)pb;
  int r = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
  if (r != 0)
    return r;
  return a->len < b->len ? -1 : a->len > b->len;
}

/* Insertion sort: objects are small, and it avoids qsort's calls. */
static void sort_keys(key_ent *e, size_t n)
{
  size_t i, j;
  key_ent k;
  if (n > KEYS_LOCAL) {
    qsort(e, n, sizeof *e, key_cmp);
    return;
  }
  for (i = 1; i < n; i++) {
    k = e[i];
    for (j = i; j > 0 && key_cmp(&k, &e[j - 1]) < 0; j--)
      e[j] = e[j - 1];
    e[j] = k;
  }
}

static int enc_value(enc_ctx *c, int idx, enc_frame *fr, int depth);

static int enc_array(enc_ctx *c, int t, enc_frame *fr, int depth, size_t n)
{
  lua_State *L = c->L;
  enc_frame ch;
  size_t i;
  int rc;
  ch.up = fr;
  ch.key = NULL;
  ch.klen = 0;
  if (uu_buf_addc(c->b, '[') != 0)
    return UU_JNOMEM;
  for (i = 1; i <= n; i++) {
    if (i > 1 && uu_buf_addc(c->b, ',') != 0)
      return UU_JNOMEM;
    ch.table = NULL;
    ch.index = (long long)i;
    lua_rawgeti(L, t, (int)i);  /* 5.1 takes an int; 2^31 slots won't fit */
    rc = enc_value(c, lua_gettop(L), &ch, depth);  /* t, ..., value */
    if (rc != UU_JOK)
      return rc;
    lua_pop(L, 1);
  }
  return uu_buf_addc(c->b, ']') != 0 ? UU_JNOMEM : UU_JOK;
}

static int enc_object(enc_ctx *c, int t, enc_frame *fr, int depth,
                      const key_ent *e, size_t n)
{
  lua_State *L = c->L;
  enc_frame ch;
  size_t i;
  int rc;
  ch.up = fr;
  ch.index = 0;
  if (uu_buf_addc(c->b, '{') != 0)
    return UU_JNOMEM;
  for (i = 0; i < n; i++) {
    if (i > 0 && uu_buf_addc(c->b, ',') != 0)
      return UU_JNOMEM;
    if (e[i].len > c->maxstr)
      return UU_JLONG;
    rc = uu_json_string(c->b, e[i].s, e[i].len);
    if (rc != UU_JOK)
      return rc;
    if (uu_buf_addc(c->b, ':') != 0)
      return UU_JNOMEM;
    ch.table = NULL;
    ch.key = e[i].s;
    ch.klen = e[i].len;
    lua_pushlstring(L, e[i].s, e[i].len);
    lua_rawget(L, t);                              /* t, ..., value */
    rc = enc_value(c, lua_gettop(L), &ch, depth);
    if (rc != UU_JOK)
      return rc;
    lua_pop(L, 1);
  }
  return uu_buf_addc(c->b, '}') != 0 ? UU_JNOMEM : UU_JOK;
}

/* The string keys of the table at t into a userdata it pushes, counted
** in *n; -1 (nothing pushed) on another key unless skip says to pass it
** by. */
static key_ent *string_keys(lua_State *L, int t, int skip, size_t *n)
{
  key_ent *e;
  size_t i = 0;
  *n = 0;
  lua_pushnil(L);
  while (lua_next(L, t) != 0) {                    /* key, value */
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING)
      (*n)++;
    else if (!skip) {
      lua_pop(L, 1);
      return NULL;
    }
  }
  e = (key_ent *)lua_newuserdata(L, *n * sizeof *e + 1);     /* ud */
  lua_pushnil(L);
  while (lua_next(L, t) != 0) {                    /* ud, key, value */
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING && i < *n) {
      e[i].s = lua_tolstring(L, -1, &e[i].len);
      i++;
    }
  }
  return e;
}

/* Pushes a list of the string keys of the table at t, sorted as the
** writer sorts an object's keys (bytewise, in any locale): the one key
** sort of the module, with no call into Lua (table.sort can be replaced).
** Returns their count, or -1 (an empty list pushed) when a key is not a
** string, unless skip is set: then such keys are left out. */
int uu_json_sorted_keys(lua_State *L, int t, int skip)
{
  key_ent *e;
  size_t n, i;
  int keys;
  t = uu_absindex(L, t);
  luaL_checkstack(L, 5, "keys");
  lua_newtable(L);                                 /* keys */
  keys = lua_gettop(L);
  if ((e = string_keys(L, t, skip, &n)) == NULL)
    return -1;
  sort_keys(e, n);
  for (i = 0; i < n; i++) {                        /* keys, ud */
    lua_pushlstring(L, e[i].s, e[i].len);
    lua_rawseti(L, keys, (int)i + 1);
  }
  lua_pop(L, 1);
  return (int)n;
}

/* Table at t, depth tables deep counting itself. */
static int enc_table(enc_ctx *c, int t, enc_frame *fr, int depth)
{
  lua_State *L = c->L;
  key_ent local[KEYS_LOCAL], *ents = local;
  key_scan ks;
  const enc_frame *f;
  int rc;
  fr->table = lua_topointer(L, t);
  for (f = fr->up; f != NULL; f = f->up)  /* exact, unlike a depth cap */
    if (f->table == fr->table)
      return UU_JCYCLE;
  if (depth > c->maxdepth)
    return UU_JDEPTH;
  /* This level pushes at most 3 (key ents userdata, key, value) before the
     next level checks again; 4 leaves one spare. */
  luaL_checkstack(L, 4, "JSON nesting");
  rc = scan_keys(L, t, local, KEYS_LOCAL, &ks);
  if (rc != UU_JOK)
    return rc;
  if (ks.nint > 0)
    return enc_array(c, t, fr, depth, ks.nint);
  if (ks.nstr == 0)  /* no way to tell an empty array from an empty map */
    return uu_buf_add(c->b, "{}", 2) != 0 ? UU_JNOMEM : UU_JOK;
  if (ks.nstr > KEYS_LOCAL)
    ents = collect_keys(L, t, ks.nstr);            /* t, ..., ents */
  sort_keys(ents, ks.nstr);
  rc = enc_object(c, t, fr, depth, ents, ks.nstr);
  if (rc == UU_JOK && ents != local)
    lua_pop(L, 1);
  return rc;
}

static int enc_value(enc_ctx *c, int idx, enc_frame *fr, int depth)
{
  lua_State *L = c->L;
  int rc;
  if (c->b->n > c->maxbytes)               /* before it grows any more */
    return enc_fail(c, UU_JBIG, fr);
  switch (lua_type(L, idx)) {
  case LUA_TSTRING:
    rc = enc_string(c, idx);
    break;
  case LUA_TNUMBER:
    rc = enc_number(c, idx);
    break;
  case LUA_TBOOLEAN:
    rc = lua_toboolean(L, idx) ? uu_buf_add(c->b, "true", 4)
                               : uu_buf_add(c->b, "false", 5);
    rc = rc != 0 ? UU_JNOMEM : UU_JOK;
    break;
  case LUA_TLIGHTUSERDATA:  /* only NULL, the null sentinel, is data */
    if (lua_touserdata(L, idx) != NULL) {
      rc = UU_JTYPE;
      break;
    }
    rc = uu_buf_add(c->b, "null", 4) != 0 ? UU_JNOMEM : UU_JOK;
    break;
  case LUA_TNIL:
    rc = uu_buf_add(c->b, "null", 4) != 0 ? UU_JNOMEM : UU_JOK;
    break;
  case LUA_TTABLE:
    rc = enc_table(c, idx, fr, depth + 1);
    break;
  default:
    rc = UU_JTYPE;
  }
  return rc == UU_JOK ? UU_JOK : enc_fail(c, rc, fr);
}

int uu_json_value(lua_State *L, int idx, uu_buf *b, int maxdepth,
                  size_t maxstr, size_t maxbytes, uu_jerr *err)
{
  enc_ctx c;
  enc_frame root;
  int top = lua_gettop(L), rc;
  c.L = L;
  c.b = b;
  c.maxdepth = maxdepth;
  c.maxstr = maxstr;
  c.maxbytes = maxbytes;
  c.err = err;
  err->code = UU_JOK;
  err->path[0] = '\0';
  root.up = NULL;
  root.table = NULL;
  root.key = NULL;
  root.klen = 0;
  root.index = 0;
  rc = enc_value(&c, uu_absindex(L, idx), &root, 0);
  lua_settop(L, top);  /* error returns leave keys and values behind */
  if (rc == UU_JOK && b->n > maxbytes)     /* the last value passed it */
    rc = UU_JBIG;
  return rc;
}

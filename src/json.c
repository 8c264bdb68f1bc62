/*
** json.c: the byte buffer, the JSON writer and the JSON decoder (json.h).
** Nothing here mallocs except uu_buf; the generic writer and the decoder
** keep all other state on the C stack or the Lua stack, so a Lua error
** (only ever out of memory) cannot leak.
*/
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat.h"
#include "json.h"

/* ---------------------------------------------------------------- buffer */

int uu_buf_reserve(uu_buf *b, size_t extra)
{
  size_t need, cap;
  char *p;
  if (extra > (size_t)-1 - b->n - 1)
    return -1;
  need = b->n + extra + 1;  /* + 1 for the NUL */
  if (need <= b->cap)
    return 0;
  cap = b->cap < 64 ? 64 : b->cap;
  while (cap < need)
    cap = cap > (size_t)-1 / 2 ? need : cap * 2;
  p = (char *)realloc(b->p, cap);
  if (p == NULL)
    return -1;  /* realloc left the old block as it was */
  b->p = p;
  b->cap = cap;
  b->p[b->n] = '\0';  /* a fresh buffer is a C string at once */
  return 0;
}

int uu_buf_add(uu_buf *b, const char *s, size_t len)
{
  if (b->cap - b->n <= len && uu_buf_reserve(b, len) != 0)
    return -1;
  if (len > 0)  /* s may be NULL when len is 0 */
    memcpy(b->p + b->n, s, len);
  b->n += len;
  b->p[b->n] = '\0';
  return 0;
}

void uu_buf_free(uu_buf *b)
{
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}

const char *uu_json_strerror(int code)
{
  switch (code) {
  case UU_JOK: return "no error";
  case UU_JNOMEM: return "out of memory";
  case UU_JUTF8: return "invalid UTF-8";
  case UU_JNUMBER: return "number is NaN, infinite or out of range";
  case UU_JTYPE: return "cannot encode a function, userdata or thread";
  case UU_JDEPTH: return "tables nested too deeply";
  case UU_JCYCLE: return "table contains itself";
  case UU_JKEY: return "key is neither a string nor a positive integer";
  case UU_JLONG: return "string too long";
  case UU_JSPARSE: return "table is a sparse array or mixes array and "
                          "string keys";
  default: return "unknown error";
  }
}

/* ------------------------------------------------------------------ UTF-8 */

/*
** Length of the valid multi-byte sequence at s (s[0] >= 0x80, n bytes
** left), or 0.  Narrowing the second byte's range is what rejects
** overlongs (E0, F0), surrogates (ED) and code points above U+10FFFF (F4);
** C0, C1 and F5..FF never start a sequence.
*/
static size_t utf8_seq(const unsigned char *s, size_t n)
{
  unsigned char c = s[0], lo = 0x80, hi = 0xBF;
  size_t len;
  if (c >= 0xC2 && c <= 0xDF)
    len = 2;
  else if (c >= 0xE0 && c <= 0xEF)
    len = 3;
  else if (c >= 0xF0 && c <= 0xF4)
    len = 4;
  else
    return 0;
  if (c == 0xE0)
    lo = 0xA0;
  else if (c == 0xED)
    hi = 0x9F;
  else if (c == 0xF0)
    lo = 0x90;
  else if (c == 0xF4)
    hi = 0x8F;
  if (n < len || s[1] < lo || s[1] > hi)
    return 0;
  if (len > 2 && (s[2] & 0xC0) != 0x80)
    return 0;
  if (len > 3 && (s[3] & 0xC0) != 0x80)
    return 0;
  return len;
}

size_t uu_utf8_check(const char *s, size_t n)
{
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, len;
  while (i < n) {
    if (u[i] < 0x80) {
      i++;
      continue;
    }
    len = utf8_seq(u + i, n - i);
    if (len == 0)
      return i;
    i += len;
  }
  return n;
}

/* Write code point cp (<= 0x10FFFF, not a surrogate) to out; its length. */
static size_t utf8_put(char *out, unsigned long cp)
{
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* ----------------------------------------------------------------- writer */

/* 1 for bytes a string carries as they are: ASCII >= 0x20 but '"', '\\'. */
#define R0 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define R1 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
static const unsigned char str_plain[256] = {
  R0, R0,
  1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  /* 0x22 '"' */
  R1, R1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,  /* 0x5C '\\' */
  R1, R1,
  R0, R0, R0, R0, R0, R0, R0, R0
};
#undef R0
#undef R1

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
    while (i < n && str_plain[u[i]])
      i++;
    if (i == n)
      break;
    if (u[i] >= 0x80) {
      if ((len = utf8_seq(u + i, n - i)) == 0)
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
                  size_t maxstr, uu_jerr *err)
{
  enc_ctx c;
  enc_frame root;
  int top = lua_gettop(L), rc;
  c.L = L;
  c.b = b;
  c.maxdepth = maxdepth;
  c.maxstr = maxstr;
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
  return rc;
}

/* ---------------------------------------------------------------- decoder */

typedef struct dec_ctx {
  lua_State *L;
  const char *s, *p, *end;  /* text, current position, end of text */
  int depth, maxdepth;
  int waiting;  /* stack slots held by unfinished containers' items */
  char *msg;
  size_t msglen;
} dec_ctx;

static const double pow10_exact[23] = {
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

static int dec_error(dec_ctx *d, const char *at, const char *what)
{
  if (d->msg != NULL && d->msglen > 0)
    snprintf(d->msg, d->msglen, "%s at offset %lu", what,
             (unsigned long)(at - d->s));
  return -1;
}

static int dec_unexpected(dec_ctx *d, const char *at)
{
  char what[40];
  unsigned char c;
  if (at >= d->end)
    return dec_error(d, at, "unexpected end of input");
  c = (unsigned char)*at;
  if (c > 0x20 && c < 0x7F && c != '\'')
    snprintf(what, sizeof what, "unexpected character '%c'", c);
  else
    snprintf(what, sizeof what, "unexpected byte 0x%02X", c);
  return dec_error(d, at, what);
}

static const char *skip_ws(const char *p, const char *end)
{
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    p++;
  return p;
}

static int dec_value(dec_ctx *d);

/* Four hex digits at p (end bounds the text), or -1. */
static long hex4(const char *p, const char *end)
{
  long v = 0;
  int i, h;
  if (end - p < 4)
    return -1;
  for (i = 0; i < 4; i++) {
    char c = p[i];
    if (c >= '0' && c <= '9')
      h = c - '0';
    else if (c >= 'a' && c <= 'f')
      h = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      h = c - 'A' + 10;
    else
      return -1;
    v = v * 16 + h;
  }
  return v;
}

/* \uXXXX at p, or a \uD8xx\uDCxx pair; lone surrogates are errors. */
static const char *dec_unicode(dec_ctx *d, const char *p, luaL_Buffer *B)
{
  char out[4];
  long cp = hex4(p + 2, d->end), lo;
  size_t adv = 6;
  if (cp < 0) {
    dec_error(d, p, "invalid \\u escape");
    return NULL;
  }
  if (cp >= 0xDC00 && cp <= 0xDFFF) {
    dec_error(d, p, "lone low surrogate");
    return NULL;
  }
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    lo = (d->end - p >= 12 && p[6] == '\\' && p[7] == 'u')
         ? hex4(p + 8, d->end) : -1;
    if (lo < 0xDC00 || lo > 0xDFFF) {
      dec_error(d, p, "lone high surrogate");
      return NULL;
    }
    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    adv = 12;
  }
  luaL_addlstring(B, out, utf8_put(out, (unsigned long)cp));
  return p + adv;
}

/* The escape at p (p[0] == '\\'); returns the byte after it or NULL. */
static const char *dec_escape(dec_ctx *d, const char *p, luaL_Buffer *B)
{
  char c;
  if (d->end - p < 2) {
    dec_error(d, p, "unterminated string");
    return NULL;
  }
  switch (p[1]) {
  case '"': c = '"'; break;
  case '\\': c = '\\'; break;
  case '/': c = '/'; break;
  case 'b': c = '\b'; break;
  case 'f': c = '\f'; break;
  case 'n': c = '\n'; break;
  case 'r': c = '\r'; break;
  case 't': c = '\t'; break;
  case 'u': return dec_unicode(d, p, B);
  default:
    dec_error(d, p, "invalid escape");
    return NULL;
  }
  luaL_addchar(B, c);
  return p + 2;
}

/*
** Slow path for strings with escapes: copy runs into a luaL_Buffer.  Nothing
** else touches the stack until luaL_pushresult; an error abandons the buffer
** and uu_json_decode's lua_settop drops it (5.4's box is collected).
*/
static int dec_string_esc(dec_ctx *d, const char *p)
{
  const unsigned char *u;
  const char *run = d->p + 1;
  size_t len;
  int failed = 0;
  luaL_Buffer B;
  if (!lua_checkstack(d->L, LUA_MINSTACK))  /* 5.1's buffer does not check */
    return dec_error(d, p, "Lua stack exhausted");
  luaL_buffinit(d->L, &B);
  for (;;) {
    u = (const unsigned char *)p;
    while (p < d->end && str_plain[*u])
      u = (const unsigned char *)++p;
    if (p < d->end && *u >= 0x80) {
      if ((len = utf8_seq(u, (size_t)(d->end - p))) == 0) {
        failed = dec_error(d, p, "invalid UTF-8 in string");
        break;
      }
      p += len;
      continue;
    }
    luaL_addlstring(&B, run, (size_t)(p - run));
    if (p >= d->end) {
      failed = dec_error(d, d->p, "unterminated string");
      break;
    }
    if (*p == '"')
      break;
    if (*u < 0x20) {
      failed = dec_error(d, p, "control character in string");
      break;
    }
    if ((run = p = dec_escape(d, p, &B)) == NULL) {
      failed = -1;
      break;
    }
  }
  /* Close the buffer on every path.  Abandoning it is not harmless: past
  ** its inline space it is a to-be-closed box on 5.4, and 5.4.0-5.4.4's
  ** lua_settop can leave the stack top in the freed old stack when the
  ** box's __close grows the stack (a vendor answer could trigger it). */
  luaL_pushresult(&B);
  if (failed) {
    lua_pop(d->L, 1);
    return -1;
  }
  d->p = p + 1;
  return 0;
}

/* String at d->p (a '"'): the common unescaped case is one pushlstring. */
static int dec_string(dec_ctx *d)
{
  const char *p = d->p + 1, *end = d->end;
  const unsigned char *u = (const unsigned char *)p;
  size_t len;
  for (;;) {
    while (p < end && str_plain[*u])
      u = (const unsigned char *)++p;
    if (p >= end)
      return dec_error(d, d->p, "unterminated string");
    if (*p == '"')
      break;
    if (*p == '\\')
      return dec_string_esc(d, p);
    if (*u < 0x20)
      return dec_error(d, p, "control character in string");
    if ((len = utf8_seq(u, (size_t)(end - p))) == 0)
      return dec_error(d, p, "invalid UTF-8 in string");
    p += len;
    u = (const unsigned char *)p;
  }
  lua_pushlstring(d->L, d->p + 1, (size_t)(p - d->p - 1));
  d->p = p + 1;
  return 0;
}

static const char *skip_digits(const char *p, const char *end)
{
  while (p < end && (unsigned)(*p - '0') < 10)
    p++;
  return p;
}

/* Digits s..e with optional '-' as a lua_Integer if it fits exactly. */
static int push_integer(lua_State *L, const char *s, const char *e)
{
  unsigned long long u = 0;
  int neg = (*s == '-');
  s += neg;
  if (e - s > 19)  /* 19 digits cannot overflow the unsigned sum */
    return 0;
  for (; s < e; s++)
    u = u * 10 + (unsigned)(*s - '0');
  if (neg && u == 0)
    return 0;  /* "-0": only a double keeps the sign */
#if UU_HAS_INT64
  if (u > (unsigned long long)LUA_MAXINTEGER + (unsigned)neg)
    return 0;
  /* -(u - 1) - 1 reaches LUA_MININTEGER without signed overflow */
  lua_pushinteger(L, neg ? -(lua_Integer)(u - 1) - 1 : (lua_Integer)u);
#else
  if (u > 9007199254740992ULL)
    return 0;  /* beyond 2^53 let strtod round */
  lua_pushnumber(L, neg ? -(lua_Number)u : (lua_Number)u);
#endif
  return 1;
}

/*
** Clinger's fast path: with at most 15 significant digits and a power of
** ten up to 1e22, both operands are exact doubles and the one multiply or
** divide rounds correctly.  0 if the number is outside that range.
*/
static int fast_double(const char *s, const char *e, double *out)
{
  unsigned long long m = 0;
  int neg = 0, dot = 0, nd = 0, scale = 0, x = 0, xneg = 0;
  if (*s == '-') {
    neg = 1;
    s++;
  }
  for (; s < e && *s != 'e' && *s != 'E'; s++) {
    if (*s == '.') {
      dot = 1;
      continue;
    }
    scale -= dot;
    if (m == 0 && *s == '0')
      continue;  /* leading zeros are not significant */
    if (++nd > 15)
      return 0;
    m = m * 10 + (unsigned)(*s - '0');
  }
  if (s < e && ++s < e && (*s == '-' || *s == '+'))
    xneg = *s++ == '-';
  for (; s < e; s++) {
    if (x > 9999)
      return 0;
    x = x * 10 + (*s - '0');
  }
  x = (xneg ? -x : x) + scale;
  if (x < -22 || x > 22)
    return 0;
  *out = x < 0 ? (double)m / pow10_exact[-x] : (double)m * pow10_exact[x];
  if (neg)
    *out = -*out;
  return 1;
}

/* strtod on a copy whose '.' is the C locale's decimal point. */
static double slow_double(lua_State *L, const char *s, const char *e)
{
  char local[64], *buf = local;
  const char *dp = localeconv()->decimal_point;
  size_t n = (size_t)(e - s), dpl, i, j = 0;
  double v;
  if (dp == NULL || dp[0] == '\0')
    dp = ".";
  dpl = strlen(dp);
  if (n + dpl >= sizeof local)  /* rare: on the Lua stack, never leaked */
    buf = (char *)lua_newuserdata(L, n + dpl + 1);
  for (i = 0; i < n; i++) {
    if (s[i] == '.') {
      memcpy(buf + j, dp, dpl);
      j += dpl;
    } else {
      buf[j++] = s[i];
    }
  }
  buf[j] = '\0';
  v = strtod(buf, NULL);
  if (buf != local)
    lua_pop(L, 1);
  return v;
}

/* Number at d->p, strictly by the RFC 8259 grammar. */
static int dec_number(dec_ctx *d)
{
  const char *s = d->p, *p = s, *end = d->end, *q;
  int frac = 0;
  double v;
  p += (*p == '-');
  q = skip_digits(p, end);
  if (q == p)
    return dec_unexpected(d, p);
  if (*p == '0' && q - p > 1)
    return dec_error(d, p, "leading zero in number");
  p = q;
  if (p < end && *p == '.') {
    p++;
    if ((q = skip_digits(p, end)) == p)
      return dec_unexpected(d, p);
    p = q;
    frac = 1;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    if (++p < end && (*p == '+' || *p == '-'))
      p++;
    if ((q = skip_digits(p, end)) == p)
      return dec_unexpected(d, p);
    p = q;
    frac = 1;
  }
  d->p = p;
  if (!frac && push_integer(d->L, s, p))
    return 0;
  if (!fast_double(s, p, &v))
    v = slow_double(d->L, s, p);
  if (isinf(v))
    return dec_error(d, s, "number out of range");
  lua_pushnumber(d->L, (lua_Number)v);
  return 0;
}

/* true, false or null at d->p. */
static int dec_literal(dec_ctx *d, const char *word, size_t len)
{
  size_t i;
  for (i = 0; i < len; i++)
    if (d->p + i >= d->end || d->p[i] != word[i])
      return dec_unexpected(d, d->p + i);
  d->p += len;
  if (word[0] == 'n')
    lua_pushlightuserdata(d->L, NULL);
  else
    lua_pushboolean(d->L, word[0] == 't');
  return 0;
}

/* Entering an object or array: depth cap, then room for t, key, value. */
static int dec_enter(dec_ctx *d)
{
  if (++d->depth > d->maxdepth)
    return dec_error(d, d->p, "too deeply nested");
  if (!lua_checkstack(d->L, 3))
    return dec_error(d, d->p, "Lua stack exhausted");
  return 0;
}

/*
** Items wait on the stack until the container ends, so its table is made
** at its exact size (no rehash while filling: a third off the decode
** time).  After DEC_BATCH items, or when the stack will not grow, the
** table is made early and the rest go straight in.
*/
#define DEC_BATCH 32
#define DEC_WAIT_MAX 1024

/* Replace the n items (key/value pairs if obj) above base by their table;
   the caller made room for 3 more slots. */
static void dec_flush(lua_State *L, int base, int n, int obj)
{
  int i, t;
  lua_createtable(L, obj ? 0 : n, obj ? n : 0);    /* base, items, t */
  if (n == 0)
    return;
  t = lua_gettop(L);
  for (i = 0; i < n; i++) {  /* in order: with duplicate keys, last wins */
    if (obj) {
      lua_pushvalue(L, base + 1 + 2 * i);
      lua_pushvalue(L, base + 2 + 2 * i);
      lua_rawset(L, t);
    } else {
      lua_pushvalue(L, base + 1 + i);
      lua_rawseti(L, t, i + 1);
    }
  }
  lua_replace(L, base + 1);
  lua_settop(L, base + 1);                         /* base, t */
}

/* Before each item: flush when the batch is full, when all levels together
   hold DEC_WAIT_MAX slots (5.1 gives a C function 8000; 512 levels still
   need about 3 each), or when the stack will not grow by 5 (key, value,
   and the flush's 3 once those 2 are pushed). */
static void dec_room(dec_ctx *d, int base, int *n, int obj)
{
  if (*n < 0)
    return;
  if (*n == DEC_BATCH || d->waiting >= DEC_WAIT_MAX
      || !lua_checkstack(d->L, 5)) {
    dec_flush(d->L, base, *n, obj);
    d->waiting -= *n * (obj ? 2 : 1);
    *n = -1;
  }
}

/* An item stays on the stack, or goes into the table made early: a pair
   if idx is 0, else array item number idx. */
static void dec_keep(dec_ctx *d, int base, int *n, int idx)
{
  if (*n >= 0) {
    (*n)++;
    d->waiting += idx == 0 ? 2 : 1;
  } else if (idx == 0) {
    lua_rawset(d->L, base + 1);
  } else {
    lua_rawseti(d->L, base + 1, idx);
  }
}

static int dec_object(dec_ctx *d)
{
  lua_State *L = d->L;
  int base = lua_gettop(L), n = 0;  /* pairs waiting; -1: table made */
  if (dec_enter(d) != 0)
    return -1;
  d->p = skip_ws(d->p + 1, d->end);
  if (d->p < d->end && *d->p == '}')
    goto done;
  for (;;) {
    dec_room(d, base, &n, 1);
    if (d->p >= d->end || *d->p != '"')
      return dec_unexpected(d, d->p);
    if (dec_string(d) != 0)                        /* ..., key */
      return -1;
    d->p = skip_ws(d->p, d->end);
    if (d->p >= d->end || *d->p != ':')
      return dec_unexpected(d, d->p);
    d->p++;
    if (dec_value(d) != 0)                         /* ..., key, value */
      return -1;
    dec_keep(d, base, &n, 0);                      /* ... */
    d->p = skip_ws(d->p, d->end);
    if (d->p < d->end && *d->p == '}')
      break;
    if (d->p >= d->end || *d->p != ',')
      return dec_unexpected(d, d->p);
    d->p = skip_ws(d->p + 1, d->end);
  }
done:
  if (n >= 0) {
    dec_flush(L, base, n, 1);                      /* t */
    d->waiting -= 2 * n;
  }
  d->p++;
  d->depth--;
  return 0;
}

static int dec_array(dec_ctx *d)
{
  lua_State *L = d->L;
  int base = lua_gettop(L), n = 0, i = 0;  /* n of the i items wait */
  if (dec_enter(d) != 0)
    return -1;
  d->p = skip_ws(d->p + 1, d->end);
  if (d->p < d->end && *d->p == ']')
    goto done;
  for (;;) {
    dec_room(d, base, &n, 0);
    if (dec_value(d) != 0)                         /* ..., value */
      return -1;
    dec_keep(d, base, &n, ++i);                    /* ... */
    d->p = skip_ws(d->p, d->end);
    if (d->p < d->end && *d->p == ']')
      break;
    if (d->p >= d->end || *d->p != ',')
      return dec_unexpected(d, d->p);
    d->p++;
  }
done:
  if (n >= 0) {
    dec_flush(L, base, n, 0);                      /* t */
    d->waiting -= n;
  }
  d->p++;
  d->depth--;
  return 0;
}

static int dec_value(dec_ctx *d)
{
  d->p = skip_ws(d->p, d->end);
  if (d->p >= d->end)
    return dec_unexpected(d, d->p);
  switch (*d->p) {
  case '{': return dec_object(d);
  case '[': return dec_array(d);
  case '"': return dec_string(d);
  case 't': return dec_literal(d, "true", 4);
  case 'f': return dec_literal(d, "false", 5);
  case 'n': return dec_literal(d, "null", 4);
  case '-': return dec_number(d);
  default:
    if (*d->p >= '0' && *d->p <= '9')
      return dec_number(d);
    return dec_unexpected(d, d->p);
  }
}

int uu_json_decode(lua_State *L, const char *s, size_t n, int maxdepth,
                   char *msg, size_t msglen)
{
  dec_ctx d;
  int top = lua_gettop(L);
  d.L = L;
  d.s = d.p = s != NULL ? s : "";
  d.end = d.s + (s != NULL ? n : 0);
  d.depth = 0;
  d.waiting = 0;
  d.maxdepth = maxdepth;
  d.msg = msg;
  d.msglen = msglen;
  if (msg != NULL && msglen > 0)
    msg[0] = '\0';
  if (!lua_checkstack(L, 3))
    return dec_error(&d, d.p, "Lua stack exhausted");
  if (dec_value(&d) == 0) {
    d.p = skip_ws(d.p, d.end);
    if (d.p == d.end)
      return 0;
    dec_unexpected(&d, d.p);  /* something after the value */
  }
  lua_settop(L, top);  /* drop partial tables and abandoned buffers */
  return -1;
}

/*
** json_decode.c: the strict RFC 8259 decoder (json.h).  It keeps all state
** on the C stack or the Lua stack, so a Lua error (only ever out of memory)
** cannot leak.
*/
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/compat.h"
#include "json/json.h"

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

/* One run of dec_string_esc from *pp: plain bytes and valid UTF-8 up to
** an escape, the closing quote or the end, added to B from *run.  1 at the
** closing quote (*pp on it), 0 after an escape (*pp and *run past it), -1
** on an error (reported). */
static int dec_esc_run(dec_ctx *d, const char **pp, const char **run,
                       luaL_Buffer *B)
{
  const char *p = *pp;
  const unsigned char *u = (const unsigned char *)p;
  size_t len;
  for (;;) {
    while (p < d->end && uu_json_plain[*u])
      u = (const unsigned char *)++p;
    if (p >= d->end || *u < 0x80)
      break;
    if ((len = uu_utf8_seq(u, (size_t)(d->end - p))) == 0)
      return dec_error(d, p, "invalid UTF-8 in string");
    p += len;
    u = (const unsigned char *)p;
  }
  luaL_addlstring(B, *run, (size_t)(p - *run));
  *pp = p;
  if (p >= d->end)
    return dec_error(d, d->p, "unterminated string");
  if (*p == '"')
    return 1;
  if (*u < 0x20)
    return dec_error(d, p, "control character in string");
  if ((*run = *pp = dec_escape(d, p, B)) == NULL)
    return -1;
  return 0;
}

/*
** Slow path for strings with escapes: copy runs into a luaL_Buffer.  Nothing
** else touches the stack until luaL_pushresult; an error abandons the buffer
** and uu_json_decode's lua_settop drops it (5.4's box is collected).
*/
static int dec_string_esc(dec_ctx *d, const char *p)
{
  const char *run = d->p + 1;
  int rc;
  luaL_Buffer B;
  if (!lua_checkstack(d->L, LUA_MINSTACK))  /* 5.1's buffer does not check */
    return dec_error(d, p, "Lua stack exhausted");
  luaL_buffinit(d->L, &B);
  while ((rc = dec_esc_run(d, &p, &run, &B)) == 0)
    ;
  /* Close the buffer on every path.  Abandoning it is not harmless: past
  ** its inline space it is a to-be-closed box on 5.4, and 5.4.0-5.4.4's
  ** lua_settop can leave the stack top in the freed old stack when the
  ** box's __close grows the stack (a vendor answer could trigger it). */
  luaL_pushresult(&B);
  if (rc < 0) {
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
    while (p < end && uu_json_plain[*u])
      u = (const unsigned char *)++p;
    if (p >= end)
      return dec_error(d, d->p, "unterminated string");
    if (*p == '"')
      break;
    if (*p == '\\')
      return dec_string_esc(d, p);
    if (*u < 0x20)
      return dec_error(d, p, "control character in string");
    if ((len = uu_utf8_seq(u, (size_t)(end - p))) == 0)
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

/*
** fuzz_json_writer: random strings and numbers through the JSON writer
** (uu_json_string, uu_json_number, uu_json_integer).
**
** Input: records until the input ends (at most MAX_ITEMS), each a type
** byte and its data:
**   0  string: 2 bytes of length (mod 1024), then the bytes (any bytes)
**   1  double: 8 raw bytes (NaN, inf, subnormals, -0 included)
**   2  integer: 8 raw bytes as a long long
**   3  decimal: a 4-byte integer over 10^(byte mod 24) (0.1, 2.5e-7 ...)
** Every item that the writer accepts goes into one JSON array "[a,b,...]".
**
** Contract checked:
**   - a string is refused with UU_JUTF8 exactly when it is not valid UTF-8
**     (a reference validator here decides), and uu_utf8_check agrees;
**   - NaN and inf are refused with UU_JNUMBER, every finite double is
**     written as a plain JSON number that strtod reads back to the same
**     double (sign of zero included); integers print as %lld does;
**   - the whole array decodes (uu_json_decode) to the same values: strings
**     byte-equal, integers as integers, doubles equal;
**   - uu_json_value of a Lua table holding the same values writes the same
**     bytes.
*/
#include <math.h>
#include "fuzz_common.h"
#include "../src/json/json.h"

#define MAX_ITEMS 64

/* What an accepted item should decode to. */
typedef struct item {
  int type;                   /* 0 string, 1 double, 2 integer */
  const char *s;
  size_t n;
  double d;
  long long i;
} item;

/* Reference UTF-8 check (RFC 3629): 1 if s[0..n) is valid. */
static int ref_utf8(const unsigned char *s, size_t n)
{
  size_t i = 0, k, len;
  unsigned long cp, min;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    if ((c & 0xE0) == 0xC0)
      len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
      len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
      len = 4, cp = c & 0x07, min = 0x10000;
    else
      return 0;
    if (n - i < len)
      return 0;
    for (k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    i += len;
  }
  return 1;
}

static void check_string(const char *s, size_t n, int rc)
{
  int valid = ref_utf8((const unsigned char *)s, n);
  size_t at = uu_utf8_check(s, n);
  if (valid != (at == n))
    fz_fail("uu_utf8_check says %lu of %lu for a string that is %svalid",
            (unsigned long)at, (unsigned long)n, valid ? "" : "in");
  if (valid ? rc != UU_JOK : rc != UU_JUTF8)
    fz_fail("uu_json_string returned %d for %svalid UTF-8", rc,
            valid ? "" : "in");
}

/* The text written for d: a JSON number that reads back exactly. */
static void check_number_text(const char *t, size_t len, double d)
{
  size_t i;
  char tmp[64];
  if (len == 0 || len >= sizeof tmp)
    fz_fail("number %.17g written as %lu bytes", d, (unsigned long)len);
  for (i = 0; i < len; i++)
    if (strchr("0123456789+-.e", t[i]) == NULL)
      fz_fail("number %.17g written as '%.*s'", d, (int)len, t);
  memcpy(tmp, t, len);
  tmp[len] = '\0';
  if (strtod(tmp, NULL) != d || signbit(strtod(tmp, NULL)) != signbit(d))
    fz_fail("number %.17g written as '%s', which reads back as %.17g", d,
            tmp, strtod(tmp, NULL));
}

static void check_decoded(lua_State *L, int idx, const item *it, int k)
{
  size_t n;
  const char *s;
  double d;
  switch (it->type) {
  case 0:
    if (lua_type(L, idx) != LUA_TSTRING)
      fz_fail("item %d: string decoded as a %s", k, luaL_typename(L, idx));
    s = lua_tolstring(L, idx, &n);
    if (n != it->n || memcmp(s, it->s, n) != 0)
      fz_fail("item %d: string of %lu bytes decoded as %lu other bytes", k,
              (unsigned long)it->n, (unsigned long)n);
    break;
  case 1:
    if (lua_type(L, idx) != LUA_TNUMBER)
      fz_fail("item %d: double decoded as a %s", k, luaL_typename(L, idx));
    d = lua_tonumber(L, idx);
    if (d != it->d || signbit(d) != signbit(it->d))
      fz_fail("item %d: %.17g decoded as %.17g", k, it->d, d);
    break;
  default:
    if (!lua_isinteger(L, idx) || lua_tointeger(L, idx) != it->i)
      fz_fail("item %d: integer %lld decoded as %s %s", k, it->i,
              lua_isinteger(L, idx) ? "integer" : "non-integer",
              lua_tostring(L, idx) ? lua_tostring(L, idx) : "?");
  }
}

/* Appends one item; on refusal the buffer is put back as it was. */
static int write_item(uu_buf *b, fz_in *in, item *it, lua_State *L, int t,
                      int k)
{
  size_t n0 = b->n, n;
  int rc, type = fz_u8(in) % 4, first = k == 1;
  unsigned e;
  if (!first && uu_buf_addc(b, ',') != 0)
    fz_fail("out of memory");
  memset(it, 0, sizeof *it);
  if (type == 0) {
    it->s = fz_bytes(in, fz_u16(in) % 1024, &it->n);
    rc = uu_json_string(b, it->s, it->n);
    check_string(it->s, it->n, rc);
    if (rc == UU_JOK)
      lua_pushlstring(L, it->s, it->n);
  } else if (type == 2) {
    it->type = 2;
    it->i = (long long)fz_u64(in);
    rc = uu_json_integer(b, it->i);
    if (rc == UU_JOK) {
      char tmp[32];
      n = (size_t)snprintf(tmp, sizeof tmp, "%lld", it->i);
      if (b->n - n0 - !first != n || memcmp(b->p + n0 + !first, tmp, n))
        fz_fail("integer %lld written as '%s'", it->i, b->p + n0);
      lua_pushinteger(L, (lua_Integer)it->i);
    }
  } else {
    it->type = 1;
    if (type == 1) {
      it->d = fz_double(in);
    } else {
      uint32_t hi = fz_u16(in);
      int32_t m = (int32_t)((hi << 16) | fz_u16(in));
      e = fz_u8(in) % 24;
      it->d = (double)m / pow(10.0, (double)e);
    }
    rc = uu_json_number(b, it->d);
    if (isnan(it->d) || isinf(it->d)) {
      if (rc != UU_JNUMBER)
        fz_fail("uu_json_number returned %d for %g", rc, it->d);
    } else if (rc != UU_JOK) {
      fz_fail("uu_json_number returned %d for %.17g", rc, it->d);
    } else {
      check_number_text(b->p + n0 + !first, b->n - n0 - !first, it->d);
      lua_pushnumber(L, it->d);
    }
  }
  if (rc != UU_JOK) {
    b->n = n0;
    if (b->cap > 0)
      b->p[n0] = '\0';
    return 0;
  }
  lua_rawseti(L, t, k);
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static item items[MAX_ITEMS];
  fz_in in = {data, size};
  uu_buf b = {NULL, 0, 0}, g = {NULL, 0, 0};
  uu_jerr err;
  lua_State *L = fz_newstate(0);
  char msg[128];
  int k = 0, t, rc;
  lua_newtable(L);
  t = lua_gettop(L);
  if (uu_buf_addc(&b, '[') != 0)
    fz_fail("out of memory");
  while (in.n > 0 && k < MAX_ITEMS)
    k += write_item(&b, &in, &items[k], L, t, k + 1);
  if (uu_buf_addc(&b, ']') != 0)
    fz_fail("out of memory");
  /* The generic writer must write the same bytes for the same values
     (an empty table is written as {}, the only difference). */
  rc = uu_json_value(L, t, &g, 8, (size_t)1 << 20, (size_t)-1, &err);
  if (rc != UU_JOK)
    fz_fail("uu_json_value failed (%d at '%s')", rc, err.path);
  if (!(k == 0 ? strcmp(g.p, "{}") == 0
               : g.n == b.n && memcmp(g.p, b.p, b.n) == 0))
    fz_fail("uu_json_value wrote '%s', the item writers '%s'", g.p, b.p);
  if (lua_gettop(L) != t)
    fz_fail("uu_json_value left the stack at %d, not %d", lua_gettop(L), t);
  if (uu_json_decode(L, b.p, b.n, 8, msg, sizeof msg) != 0)
    fz_fail("writer output does not decode: %s\n%s", msg, b.p);
  if (!lua_istable(L, -1) || (int)lua_rawlen(L, -1) != k)
    fz_fail("writer output decodes to %d items, not %d",
            lua_istable(L, -1) ? (int)lua_rawlen(L, -1) : -1, k);
  for (rc = 1; rc <= k; rc++) {
    lua_rawgeti(L, -1, rc);
    check_decoded(L, -1, &items[rc - 1], rc);
    lua_pop(L, 1);
  }
  uu_buf_free(&b);
  uu_buf_free(&g);
  lua_close(L);
  return 0;
}

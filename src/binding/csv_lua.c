/*
** csv_lua.c: the record scanner under userupd.csv (lua/userupd/csv.lua).
**
** userupd._csv_next(buf, pos, eof, sep, strict [, header [, cells]])
** scans the next
** record of buf from byte pos (1-based), after any blank lines, with the
** rules, messages and line counts of the Lua reader it stands in for:
** line ends LF, CRLF or a lone CR; quoted fields with doubled quotes and
** line ends inside; a quote inside an unquoted field kept as text (or
** refused when strict).  csv.lua keeps the file, the header, the
** warnings and the interface; only the per-byte work is here.
**
** Returns one of:
**   "end"                       no record left (eof)
**   "more"                      the record runs past buf: read more, retry
**   "row", fields, pos, lines, skipped, stray
**   "bad", message, pos, lines, skipped, stray, swallowed
** fields: keyed by header when header is given and the count matches,
** else the list; cells (with a header), a sum of flags for the CLI:
** 1 leaves empty cells out of the keyed row, 2 refuses a record with a
** cell that is not UTF-8 ('column "name" is not valid UTF-8 (byte n)'); pos: where the next scan starts; lines: line ends
** consumed in all; skipped: blank lines before the record; stray: a quote
** was taken as text; swallowed: an unclosed quote took the rest.
**
** Why not Debian's libcsv: its callbacks give neither the line a record
** started on nor the reason a record is malformed, it has no lone-CR
** line end or "stray quote as text" rule of ours, and it would be one
** more library for every LuaRocks install.
*/
#include <string.h>

#include "base/compat.h"
#include "base/whole.h"
#include "json/json.h"

void uu_csv_open_lua(lua_State *L);

/* One scan of buf[at..len).  All positions are 0-based here. */
typedef struct scan {
  const char *buf;
  size_t len;
  size_t at;                /* the next byte to read */
  int eof;                  /* buf holds the rest of the input */
  char sep;
  int strict;
  long lines;               /* line ends consumed */
  int stray;                /* a quote in an unquoted field, kept */
  int swallowed;            /* an unclosed quote took the rest */
  int nfields;              /* fields read so far */
  int list;                 /* 0: they are on the stack; else the stack
                               index of the list they spilled into */
  int bad_field;            /* the field "bad" names */
  const char *why;          /* the reason for "bad" */
} scan;

enum { S_OK, S_MORE, S_BAD };

/* Consumes the line end at s->at (LF, CRLF or CR); S_MORE when a CR is
** the last byte and more may follow. */
static int line_end(scan *s)
{
  if (s->buf[s->at] == '\r') {
    if (s->at + 1 >= s->len && !s->eof)
      return S_MORE;
    s->at += (s->at + 1 < s->len && s->buf[s->at + 1] == '\n') ? 2 : 1;
  } else
    s->at++;
  s->lines++;
  return S_OK;
}

/* After a malformed record: on to the start of the next line. */
static int skip_line(scan *s)
{
  while (s->at < s->len && s->buf[s->at] != '\n' && s->buf[s->at] != '\r')
    s->at++;
  if (s->at >= s->len)
    return s->eof ? S_OK : S_MORE;
  return line_end(s);
}

/* Line ends inside a quoted field's bytes: CRLF once, LF or CR once. */
static long count_ends(const char *p, size_t n)
{
  long k = 0;
  size_t i;
  for (i = 0; i < n; i++)
    if (p[i] == '\n' || (p[i] == '\r' && (i + 1 >= n || p[i + 1] != '\n')))
      k++;
  return k;
}

/* An unquoted field, pushed. */
static int unquoted(lua_State *L, scan *s)
{
  size_t from = s->at, i = s->at;
  char c;
  for (; i < s->len; i++) {
    c = s->buf[i];
    if (c == s->sep || c == '\n' || c == '\r')
      break;
    if (c == '"') {
      if (s->strict) {
        s->why = "has a quote in the middle of an unquoted field (strict "
                 "CSV; without it the quote is taken as text)";
        return S_BAD;
      }
      s->stray = 1;
    }
  }
  if (i >= s->len && !s->eof)
    return S_MORE;
  lua_pushlstring(L, s->buf + from, i - from);
  s->at = i;
  return S_OK;
}

/* A quoted field from its opening quote, pushed without its quotes and
** with doubled quotes undone (in a luaL_Buffer only when there are some). */
static int quoted(lua_State *L, scan *s)
{
  size_t from = s->at + 1, i = from;
  const char *q;
  luaL_Buffer b;
  int doubled = 0;
  for (;;) {
    q = (const char *)memchr(s->buf + i, '"', s->len - i);
    if (q == NULL || (q + 1 >= s->buf + s->len && !s->eof)) {
      if (!s->eof)
        return S_MORE;
      s->why = "has a quote that is never closed";
      s->swallowed = 1;
      return S_BAD;
    }
    i = (size_t)(q - s->buf);
    if (i + 1 < s->len && s->buf[i + 1] == '"') {
      doubled = 1;
      i += 2;
      continue;
    }
    break;
  }
  s->lines += count_ends(s->buf + from, i - from);
  s->at = i + 1;
  if (!doubled) {
    lua_pushlstring(L, s->buf + from, i - from);
    return S_OK;
  }
  luaL_buffinit(L, &b);
  for (; from < i; from++)
    if (s->buf[from] != '"' || s->buf[++from] == '"')
      luaL_addchar(&b, s->buf[from]);
  luaL_pushresult(&b);
  return S_OK;
}

/* What follows a field: 1 another field, 0 the record's end, or S_MORE /
** S_BAD as a negative number. */
static int after_field(scan *s)
{
  char c;
  if (s->at >= s->len)
    return s->eof ? 0 : -S_MORE;
  c = s->buf[s->at];
  if (c == s->sep) {
    s->at++;
    return 1;
  }
  if (c == '\n' || c == '\r')
    return line_end(s) == S_OK ? 0 : -S_MORE;
  s->why = "has text after its closing quote";
  return -S_BAD;
}

/* Fields a record keeps on the stack before they move to a list.  The
** stack is never filled to its limit: a finalizer the collector runs
** meanwhile needs room too (Lua 5.3 raises "error in __gc metamethod
** (stack overflow)" out of the allocation that ran it). */
enum { STACK_FIELDS = 1024 };

/* Room on the stack for the next field.  A wide record (a hostile line
** of a million separators) moves the fields read so far into a list at
** base, where the rest go too: it is then read and reported like any
** row with the wrong count. */
static void room(lua_State *L, scan *s, int base)
{
  int i;
  if (s->list != 0
      || (s->nfields < STACK_FIELDS && lua_checkstack(L, 4)))
    return;
  luaL_checkstack(L, 4, "CSV record");
  lua_createtable(L, s->nfields + 64, 0);
  for (i = 1; i <= s->nfields; i++) {
    lua_pushvalue(L, base + i - 1);
    lua_rawseti(L, -2, i);
  }
  lua_replace(L, base);
  lua_settop(L, base);
  s->list = base;
}

/* The fields of one record from stack index base on: on the stack in
** order (s->nfields of them), or in the list s->list when they spilled.
** The table is made once their number is known. */
static int record(lua_State *L, scan *s, int base)
{
  int rc, next;
  for (;;) {
    if (s->at >= s->len && !s->eof)
      return S_MORE;
    room(L, s, base);
    if (s->at < s->len && s->buf[s->at] == '"')
      rc = quoted(L, s);
    else
      rc = unquoted(L, s);
    s->bad_field = s->nfields + 1;
    if (rc != S_OK)
      return rc;
    s->nfields++;
    if (s->list != 0)
      lua_rawseti(L, s->list, s->nfields);
    next = after_field(s);
    if (next < 0)
      return -next;
    if (next == 0)
      return S_OK;
  }
}

/* Skips blank lines; 0 at a record, 1 at the end, S_MORE negated. */
static int skip_blank(scan *s, long *skipped)
{
  while (s->at < s->len &&
         (s->buf[s->at] == '\n' || s->buf[s->at] == '\r')) {
    if (line_end(s) != S_OK)
      return -S_MORE;
    (*skipped)++;
  }
  if (s->at < s->len)
    return 0;
  return s->eof ? 1 : -S_MORE;
}

enum { C_DROP_EMPTY = 1, C_UTF8 = 2 };

/* Pushes field i of the record at base (on the stack or in s->list). */
static void field(lua_State *L, const scan *s, int base, int i)
{
  if (s->list != 0)
    lua_rawgeti(L, s->list, i);
  else
    lua_pushvalue(L, base + i - 1);
}

/* The fields from stack index base on as a list, in place of them. */
static void as_list(lua_State *L, const scan *s, int base)
{
  int i;
  if (s->list == 0) {
    lua_createtable(L, s->nfields, 0);
    for (i = 1; i <= s->nfields; i++) {
      lua_pushvalue(L, base + i - 1);
      lua_rawseti(L, -2, i);
    }
    lua_replace(L, base);
  }
  lua_settop(L, base);
}

/* The fields from stack index base on, keyed by the header at hdr when
** the counts match (minding the cells flags), else as a list; left at
** base.  0, or 1 with the reason a cell is refused at base instead. */
static int key_by_header(lua_State *L, const scan *s, int base, int hdr,
                         int cells)
{
  int i, n = s->nfields;
  size_t len, bad;
  const char *v;
  if (hdr == 0 || (int)uu_rawlen(L, hdr) != n) {
    as_list(L, s, base);
    return 0;
  }
  luaL_checkstack(L, 4, "CSV record");  /* the row, a cell, a name, why */
  lua_createtable(L, 0, n);
  for (i = 1; i <= n; i++) {
    field(L, s, base, i);
    v = lua_tolstring(L, -1, &len);
    if ((cells & C_UTF8) && (bad = uu_utf8_check(v, len)) < len) {
      lua_rawgeti(L, hdr, i);
      lua_pushfstring(L, "column \"%s\" is not valid UTF-8 (byte %d)",
                      lua_tostring(L, -1), (int)bad + 1);
      lua_replace(L, base);
      lua_settop(L, base);
      return 1;
    }
    if (len == 0 && (cells & C_DROP_EMPTY)) {
      lua_pop(L, 1);
      continue;
    }
    lua_rawgeti(L, hdr, i);
    lua_insert(L, -2);
    lua_rawset(L, -3);
  }
  lua_replace(L, base);
  lua_settop(L, base);
  return 0;
}

/* The "bad" results: message (on top already when s->why is NULL), pos,
** lines, skipped, stray, swallowed. */
static int push_bad(lua_State *L, scan *s, long skipped)
{
  if (s->why != NULL)
    lua_pushfstring(L, "field %d %s", s->bad_field, s->why);
  lua_pushliteral(L, "bad");
  lua_insert(L, -2);
  lua_pushinteger(L, (lua_Integer)s->at + 1);
  lua_pushinteger(L, (lua_Integer)s->lines);
  lua_pushinteger(L, (lua_Integer)skipped);
  lua_pushboolean(L, s->stray);
  lua_pushboolean(L, s->swallowed);
  return 7;
}

/* The "row" results after the fields at the top: pos, lines, skipped,
** stray. */
static int push_row(lua_State *L, scan *s, long skipped)
{
  lua_pushliteral(L, "row");
  lua_insert(L, -2);
  lua_pushinteger(L, (lua_Integer)s->at + 1);
  lua_pushinteger(L, (lua_Integer)s->lines);
  lua_pushinteger(L, (lua_Integer)skipped);
  lua_pushboolean(L, s->stray);
  return 6;
}

/* Optional argument idx: a whole number from 0 to 2^31 - 1 (0 if absent);
** range first, so 1e300 or NaN is never cast. */
static int whole_arg(lua_State *L, int idx)
{
  long n = 0;
  if (!lua_isnoneornil(L, idx) && !uu_lua_whole(L, idx, 0, 2147483647.0, &n))
    luaL_argerror(L, idx, "whole number from 0 to 2^31-1 expected");
  return (int)n;
}

static int l_csv_next(lua_State *L)
{
  scan s;
  size_t seplen;
  lua_Number pos = luaL_checknumber(L, 2);
  const char *sep = luaL_checklstring(L, 4, &seplen);
  long skipped = 0;
  int rc, base, cells, hdr = lua_istable(L, 6) ? 6 : 0;
  memset(&s, 0, sizeof s);
  s.buf = luaL_checklstring(L, 1, &s.len);
  s.eof = lua_toboolean(L, 3);
  s.strict = lua_toboolean(L, 5);
  luaL_argcheck(L, seplen == 1, 4, "one character expected");
  luaL_argcheck(L, pos >= 1 && pos <= (lua_Number)s.len + 1, 2,
                "position out of range");
  s.sep = sep[0];
  s.at = (size_t)pos - 1;
  rc = skip_blank(&s, &skipped);
  if (rc != 0) {
    lua_pushstring(L, rc == 1 ? "end" : "more");
    return 1;
  }
  cells = whole_arg(L, 7);
  base = lua_gettop(L) + 1;
  rc = record(L, &s, base);
  if (rc == S_BAD && !s.swallowed && skip_line(&s) == S_MORE)
    rc = S_MORE;
  if (rc == S_MORE) {
    lua_pushliteral(L, "more");
    return 1;
  }
  if (rc == S_BAD) {
    lua_settop(L, base - 1);               /* the fields read so far */
    return push_bad(L, &s, skipped);
  }
  if (key_by_header(L, &s, base, hdr, cells))
    return push_bad(L, &s, skipped);               /* a cell refused */
  return push_row(L, &s, skipped);
}

/* Sets _csv_next on the table at the top of the stack. */
void uu_csv_open_lua(lua_State *L)
{
  lua_pushcfunction(L, l_csv_next);
  lua_setfield(L, -2, "_csv_next");
}

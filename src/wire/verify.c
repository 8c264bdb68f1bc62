/*
** verify.c: after a write, compare what was sent with what the vendor now
** holds (its read call's answer).  A vendor may accept an update and
** silently ignore a field (SKY's PATCH is known to); this is how a caller
** finds out.
**
** Only scalar fields are compared: lists and free-form objects come back
** in other shapes (Thought Industries answers with purchased courses, not
** course ids), and secrets never come back.  A field the answer does not
** carry at all cannot be judged and is not reported.  A one-element array
** answered for a scalar sent (["F"] for "F") counts as that element.
*/
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include "userupd.h"

static int comparable(const uu_field *f)
{
  switch (f->kind) {
  case UU_STRING: case UU_INT: case UU_NUMBER: case UU_BOOL: case UU_ENUM:
  case UU_DATE: case UU_UUID: case UU_SFID:
    return !(f->flags & (UU_SECRET | UU_GUARD));
  default:
    return 0;
  }
}

/* Whether the value on top counts as "empty" in the vendor's answer: nil,
** null, "", an empty table (SmarterMeasure's []) or 0 (QuestionPro's
** unset departmentID). */
static int is_empty(lua_State *L, int idx)
{
  switch (lua_type(L, idx)) {
  case LUA_TNIL: return 1;
  case LUA_TLIGHTUSERDATA: return lua_touserdata(L, idx) == NULL;
  case LUA_TSTRING: return uu_rawlen(L, idx) == 0;
  case LUA_TNUMBER: return lua_tonumber(L, idx) == 0;
  case LUA_TTABLE:
    lua_pushnil(L);
    if (lua_next(L, idx < 0 ? idx - 1 : idx)) {
      lua_pop(L, 2);
      return 0;
    }
    return 1;
  default: return 0;
  }
}

/* sent (a) against held (b): numbers by value, also when one side is the
** number's text (SmarterMeasure answers numbers as strings); dates by
** their day when one side has a time; everything else exactly. */
static int same_value(lua_State *L, int a, int b, const uu_field *f)
{
  size_t na, nb;
  const char *sa, *sb;
  if (lua_type(L, a) == LUA_TLIGHTUSERDATA)          /* sent a clear */
    return is_empty(L, b);
  if (lua_type(L, a) == LUA_TNUMBER || lua_type(L, a) == LUA_TBOOLEAN)
    return lua_type(L, b) == LUA_TSTRING && lua_type(L, a) == LUA_TNUMBER
           ? lua_tonumber(L, a) == strtod(lua_tostring(L, b), NULL)
           : lua_rawequal(L, a, b);
  if (lua_type(L, b) != LUA_TSTRING)
    return 0;
  sa = lua_tolstring(L, a, &na);
  sb = lua_tolstring(L, b, &nb);
  if (f->kind == UU_DATE && na >= 10 && nb >= 10)
    return memcmp(sa, sb, 10) == 0;
  if (f->canon != NULL && strcmp(f->canon, "email") == 0 && na == nb)
    return strncasecmp(sa, sb, na) == 0;  /* vendors fold case */
  return na == nb && memcmp(sa, sb, na) == 0;
}

/* An answer of one element, [x], stands for x: SmarterMeasure's reply types
** Gender, AgeRange and HowManyCourses as any[], so a scalar sent may come
** back as a one-element array.  Replaces the table on top by x. */
static void unwrap_single(lua_State *L)
{
  if (lua_type(L, -1) != LUA_TTABLE || uu_rawlen(L, -1) != 1)
    return;
  lua_pushnil(L);
  if (lua_next(L, -2)) {                           /* t, k, v */
    lua_pop(L, 1);
    if (lua_next(L, -2)) {                         /* a second key */
      lua_pop(L, 2);
      return;
    }
  }
  lua_rawgeti(L, -1, 1);
  lua_remove(L, -2);
}

/* The value the caller gave for f (native or cross-vendor name), pushed;
** 0 when none (nothing pushed). */
static int push_sent(lua_State *L, int fidx, const uu_field *f)
{
  lua_getfield(L, fidx, f->name);
  if (lua_isnil(L, -1) && f->canon != NULL) {
    lua_pop(L, 1);
    lua_getfield(L, fidx, f->canon);
  }
  if (!lua_isnil(L, -1))
    return 1;
  lua_pop(L, 1);
  return 0;
}

/* Pushes the names of the fields sent (fields table at fidx) that the user
** read back (at uidx) does not hold, as a list; {} when all took. */
void uu_verify(lua_State *L, const uu_vendor *v, int fidx, int uidx)
{
  const uu_field *f;
  int n = 0;
  lua_newtable(L);
  for (f = v->fields; f->name != NULL; f++) {
    if (!comparable(f) || !push_sent(L, fidx, f))
      continue;
    lua_getfield(L, uidx, f->reply ? f->reply : f->name);
    unwrap_single(L);
    if (!(lua_isnil(L, -1) && lua_type(L, -2) != LUA_TLIGHTUSERDATA) &&
        !same_value(L, -2, -1, f)) {
      lua_pushstring(L, f->name);
      lua_rawseti(L, -4, ++n);
    }
    lua_pop(L, 2);
  }
}

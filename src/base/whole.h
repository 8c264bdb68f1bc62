/*
** whole.h: doubles to integer types, range first.  Converting a NaN, an
** infinity or a double outside the target type's range to an integer
** type is undefined behaviour in C (clang's -fsanitize=float-cast-overflow
** reports it; a normal build stores garbage), so every number that comes
** from Lua, a file or the wire goes through these before a cast.
*/
#ifndef UU_WHOLE_H
#define UU_WHOLE_H

#include <lua.h>

/* d as a long in *out when it is a whole number in [lo, hi], 1; else 0.
** lo and hi must lie within +-2^53 (every such double is a long). */
static inline int uu_whole(double d, double lo, double hi, long *out)
{
  if (!(d >= lo && d <= hi))               /* also NaN */
    return 0;
  if (d != (double)(long)d)                /* in range: the cast is safe */
    return 0;
  *out = (long)d;
  return 1;
}

/* The value at idx as uu_whole takes it: a Lua number (an integer on 5.3+
** too), whole and in [lo, hi].  Never lua_tointeger: on 5.1 and LuaJIT it
** casts without looking. */
static inline int uu_lua_whole(lua_State *L, int idx, double lo, double hi,
                               long *out)
{
  return lua_type(L, idx) == LUA_TNUMBER &&
         uu_whole((double)lua_tonumber(L, idx), lo, hi, out);
}

#endif

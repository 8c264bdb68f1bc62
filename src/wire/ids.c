/*
** ids.c: the record id, checked against the vendor's id kind (a positive
** integer, a UUID or a GUID) and kept as text for the URL or body.
*/
#include <string.h>
#include "wire/marshal.h"

static int id_posint(lua_State *L, int idx, uu_buf *out, uu_bad *bad)
{
  char tmp[UU_SHOWN_BUF];
  size_t n;
  const char *s;
  if (lua_type(L, idx) == LUA_TNUMBER) {
    out->n = 0;
    if (uu_write_int(L, idx, out, "id", bad) != 0)
      return -1;
    if (out->p[0] == '-' || strcmp(out->p, "0") == 0)
      return uu_bad_at(bad, "id", "id: expected a positive integer, got %s",
                       out->p);
    return 0;
  }
  s = lua_tolstring(L, idx, &n);
  /* digits only, no leading zero, at most 2^63-1: compared as text, so
  ** no arithmetic can overflow on the way */
  if (n == 0 || n > 19 || strspn(s, "0123456789") != n || s[0] == '0' ||
      (n == 19 && strcmp(s, "9223372036854775807") > 0))
    return uu_bad_at(bad, "id", "id: expected a positive integer, got %s",
                     uu_shown(&(uu_field){"id", UU_STRING, 0, NULL, NULL, NULL},
                        s, n, tmp, sizeof tmp));
  out->n = 0;
  return uu_buf_add(out, s, n) == 0 ? 0 : uu_bad_nomem(bad, "id");
}

/* The id at idx, checked against the vendor's id kind, as text in out. */
int uu_check_id(const uu_vendor *v, lua_State *L, int idx, uu_buf *out,
                uu_bad *bad)
{
  char tmp[UU_SHOWN_BUF];
  size_t n;
  const char *s;
  uu_field idf = {"id", UU_STRING, 0, NULL, NULL, NULL};
  int t = lua_type(L, idx);
  bad->field[0] = bad->msg[0] = '\0';
  if (t != LUA_TNUMBER && t != LUA_TSTRING)
    return uu_bad_at(bad, "id", "id: expected %s, got %s",
                     v->id == UU_ID_POSINT ? "a positive integer" : "a string",
                     luaL_typename(L, idx));
  if (v->id == UU_ID_POSINT)
    return id_posint(L, idx, out, bad);
  if (t != LUA_TSTRING)
    return uu_bad_at(bad, "id", "id: expected a %s string, got a number",
                     v->id == UU_ID_UUID ? "UUID" : "GUID");
  s = lua_tolstring(L, idx, &n);
  if (v->id == UU_ID_UUID ? !uu_is_uuid(s, n) : !uu_is_guid(s, n))
    return uu_bad_at(bad, "id", "id: %s is not a %s", uu_shown(&idf, s, n, tmp,
                     sizeof tmp), v->id == UU_ID_UUID
                     ? "UUID (8-4-4-4-12 hex digits)"
                     : "GUID (32 hex digits, dashes optional)");
  out->n = 0;
  return uu_buf_add(out, s, n) == 0 ? 0 : uu_bad_nomem(bad, "id");
}

/*
** describe.c: what userupd.vendors[name].field_info says about each field
** of a vendor's descriptor (its JSON type, the set of an enum, the
** cross-vendor name, the flags), read by tools/docs.lua to write the
** reference's field tables and by spec/unit/vendors_spec.lua to test
** every vendor from its descriptor alone; and userupd.error_kinds, the
** list of err.kind values, for the reference's error table.
*/
#include "userupd.h"

void uu_push_field_info(lua_State *L, const uu_vendor *v);
void uu_push_error_kinds(lua_State *L);

static const char *kind_name(uu_kind k)
{
  static const char *const names[] = {
    "?", "string", "integer", "number", "boolean", "enum", "date", "uuid",
    "string list", "uuid list", "object", "key/value list", "field names",
    "uuid or Salesforce id"};
  return (size_t)k < sizeof names / sizeof *names ? names[k] : "?";
}

static void set_string(lua_State *L, const char *key, const char *value)
{
  if (value == NULL)
    return;
  lua_pushstring(L, value);
  lua_setfield(L, -2, key);
}

static void set_flag(lua_State *L, const char *key, int on)
{
  if (!on)
    return;
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, key);
}

/* { type, choices, replaces, cross, reply, secret, required_list,
**   no_null } for one field; absent keys are false or none. */
static void push_one(lua_State *L, const uu_field *f)
{
  lua_createtable(L, 0, 8);
  lua_pushstring(L, kind_name(f->kind));
  lua_setfield(L, -2, "type");
  set_string(L, "choices", f->kind == UU_ENUM ? f->arg : NULL);
  set_string(L, "replaces", (f->flags & UU_GUARD) ? f->arg : NULL);
  set_string(L, "cross", f->canon);
  set_string(L, "reply", f->reply);
  set_flag(L, "secret", (f->flags & UU_SECRET) != 0);
  set_flag(L, "required_list", (f->flags & UU_REQLIST) != 0);
  set_flag(L, "no_null", (f->flags & UU_NONULL) != 0);
}

/* Sets field_info = { [name] = {...} } and null_list (the member that
** lists fields to clear, or absent) on the vendor table at the top. */
void uu_push_field_info(lua_State *L, const uu_vendor *v)
{
  const uu_field *f;
  lua_newtable(L);
  for (f = v->fields; f->name != NULL; f++) {
    push_one(L, f);
    lua_setfield(L, -2, f->name);
  }
  lua_setfield(L, -2, "field_info");
  set_string(L, "null_list", v->null_list);
}

/* userupd.error_kinds = { "invalid", ... }: every err.kind a call can
** return (src/wire/reply.c status_kind and push_failure, the loops'
** "invalid" and "rejected"), in the order the reference lists them. */
void uu_push_error_kinds(lua_State *L)
{
  static const char *const kinds[] = {
    "invalid", "rejected", "auth", "not_found", "rate_limited", "http",
    "transport", "decode", NULL};
  int i;
  lua_newtable(L);
  for (i = 0; kinds[i] != NULL; i++) {
    lua_pushstring(L, kinds[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "error_kinds");
}

/*
** json_lua.c: userupd.json_encode and userupd.json_decode, the Lua face of
** json.h for scripts (free-form fields, vendor replies) and the specs.
** Bad data never raises: both return nil and a message.  Wrong arguments
** (no value, a non-string to decode) raise like any library function.
*/
#include <string.h>

#include "base/compat.h"
#include "json/json.h"

#define ENC_MAXDEPTH 64
#define ENC_MAXSTR ((size_t)16 << 20)
#define ENC_MAXBYTES ((size_t)256 << 20) /* json_encode's output, at most */
#define DEC_MAXDEPTH 512
#define BUF_KEEP ((size_t)64 << 10)  /* bigger buffers are freed after use */
#define BUF_META "userupd.jsonbuf"

/*
** The encoder's buffer lives in a userdata, json_encode's upvalue, whose
** __gc frees it: a Lua error mid-way (out of memory) cannot leak it, and
** calls reuse its memory.  busy marks it in use, so a __gc finalizer that
** runs during an encode (5.4 runs them from allocations) and calls
** json_encode gets a fresh buffer instead of overwriting this one.  An
** out-of-memory error leaves busy set; later calls then just take fresh
** buffers, which is slower but still correct.
*/
typedef struct json_buf {
  uu_buf b;
  int busy;
} json_buf;

static int l_jsonbuf_gc(lua_State *L)
{
  json_buf *jb = (json_buf *)luaL_checkudata(L, 1, BUF_META);
  uu_buf_free(&jb->b);
  return 0;
}

/* Push a zeroed buffer userdata; its __gc is set before anything mallocs. */
static json_buf *jsonbuf_new(lua_State *L)
{
  json_buf *jb = (json_buf *)lua_newuserdata(L, sizeof *jb);
  memset(jb, 0, sizeof *jb);
  luaL_getmetatable(L, BUF_META);
  lua_setmetatable(L, -2);
  return jb;
}

/* nil, "json_encode: <problem> at <path>" (no " at" for the value itself) */
static int encode_fail(lua_State *L, const uu_jerr *err)
{
  lua_pushnil(L);
  if (err->path[0] != '\0')
    lua_pushfstring(L, "json_encode: %s at %s", uu_json_strerror(err->code),
                    err->path);
  else
    lua_pushfstring(L, "json_encode: %s", uu_json_strerror(err->code));
  return 2;
}

/* json_encode(v) -> string | nil, message */
static int l_json_encode(lua_State *L)
{
  json_buf *jb = (json_buf *)lua_touserdata(L, lua_upvalueindex(1));
  uu_jerr err;
  int rc;
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  if (jb->busy)
    jb = jsonbuf_new(L);                           /* v, ud */
  jb->busy = 1;
  jb->b.n = 0;
  rc = uu_json_value(L, 1, &jb->b, ENC_MAXDEPTH, ENC_MAXSTR, ENC_MAXBYTES,
                     &err);
  if (rc == UU_JOK)  /* success always wrote something: p is not NULL */
    lua_pushlstring(L, jb->b.p, jb->b.n);
  jb->busy = 0;
  if (jb->b.cap > BUF_KEEP)  /* one huge value should not pin memory */
    uu_buf_free(&jb->b);
  return rc == UU_JOK ? 1 : encode_fail(L, &err);
}

/* json_decode(s) -> value | nil, message */
static int l_json_decode(lua_State *L)
{
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  char msg[96];
  if (uu_json_decode(L, s, n, DEC_MAXDEPTH, msg, sizeof msg) == 0)
    return 1;
  lua_pushnil(L);
  lua_pushfstring(L, "json_decode: %s", msg);
  return 2;
}

void uu_json_open(lua_State *L)
{
  luaL_checkstack(L, 3, NULL);
  lua_pushcfunction(L, l_json_decode);             /* t, f */
  lua_setfield(L, -2, "json_decode");
  if (luaL_newmetatable(L, BUF_META)) {            /* t, mt */
    lua_pushcfunction(L, l_jsonbuf_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);                                   /* t */
  jsonbuf_new(L);                                  /* t, ud */
  lua_pushcclosure(L, l_json_encode, 1);           /* t, f */
  lua_setfield(L, -2, "json_encode");
}

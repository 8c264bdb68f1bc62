/*
** login.c: the login exchange of clients that trade credentials for a
** session token (Blackbaud ON API): sent over libcurl by the call loops
** (uu_login), or over a Lua transport by driver.c, and settled here
** (uu_login_finish): the token is kept in C memory and the URLs rebuilt
** around it.
*/
#include <stdlib.h>
#include <string.h>
#include "userupd.h"

/* Reads the token out of a login answer; 0 if found. */
static int take_token(uu_client *c, lua_State *L, const uu_slot *s)
{
  char msg[128];
  const char *tok;
  size_t n;
  int ok = 0;
  if (uu_json_decode(L, s->resp.p ? s->resp.p : "", s->resp.n, 16, msg,
                     sizeof msg) != 0)
    return -1;
  if (lua_istable(L, -1)) {
    lua_getfield(L, -1, c->v->login->token_key);
    if ((tok = lua_tolstring(L, -1, &n)) != NULL && n > 0 &&
        lua_type(L, -1) == LUA_TSTRING) {
      free(c->token);
      if ((c->token = (char *)malloc(n + 1)) != NULL) {
        memcpy(c->token, tok, n + 1);
        ok = 1;
      }
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return ok ? 0 : -1;
}

/* After a login answer in s: keep the token (C memory only) and rebuild
** the URLs around it; the client is at stack index cidx.  0 on success;
** -1 when the answer holds no token (then a 200 counts as a 401). */
int uu_login_finish(uu_client *c, lua_State *L, int cidx, uu_slot *s,
                    uu_answer *a)
{
  if (a->cc != CURLE_OK || s->overflow || a->status != 200 ||
      take_token(c, L, s) != 0) {
    if (a->cc == CURLE_OK && a->status == 200)
      a->status = 401;
    return -1;
  }
  c->token_gen++;
  uu_getuservalue(L, cidx);
  lua_getfield(L, -1, "opts");
  uu_build_urls(c, L, lua_gettop(L));
  lua_pop(L, 2);
  return 0;
}

/* POST the credentials as JSON to the login path over libcurl (the
** client at stack index cidx).  On failure *a holds the login's answer. */
int uu_login(uu_client *c, lua_State *L, int cidx, uu_answer *a)
{
  uu_slot *s = &c->login;
  if (s->easy == NULL && uu_slot_init(c, s) != 0)
    return luaL_error(L, "userupd: cannot create a curl handle");
  if (uu_login_build(c, s) != 0)
    return luaL_error(L, "userupd: out of memory");
  uu_slot_prepare(s, "POST", 1);
  uu_slot_answer(s, UU_OP_LOGIN, curl_easy_perform(s->easy), a);
  return uu_login_finish(c, L, cidx, s, a);
}

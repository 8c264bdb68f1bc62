/*
** auth.c: the client's credentials as the wire carries them: the auth
** header (Basic, Bearer or the vendor's own header) and the members that
** close the body (Forms On Fire's CompanyId and IntegrationKey).  Built
** once, at construction, from the options.
*/
#include <string.h>
#include "userupd.h"

/* The auth header, if the vendor's auth is a header, built once into
** c->auth_header (the binding adds it to the handles' header list), its
** secret parts remembered for redaction. */
void uu_auth_header(uu_client *c, lua_State *L, int opts)
{
  uu_buf h = {NULL, 0, 0}, pair = {NULL, 0, 0};
  const char *a, *b;
  lua_getfield(L, opts, c->v->auth_opt1 ? c->v->auth_opt1 : "api_key");
  lua_getfield(L, opts, c->v->auth_opt2 ? c->v->auth_opt2 : "password");
  a = lua_tostring(L, -2);
  b = lua_tostring(L, -1);
  if (c->setup.auth == UU_AUTH_BASIC && a && b) {
    uu_buf_add(&pair, a, strlen(a));
    uu_buf_addc(&pair, ':');
    uu_buf_add(&pair, b, strlen(b));
    uu_buf_add(&h, "Authorization: Basic ", 21);
    uu_base64(&h, pair.p, pair.n);
  } else if (c->setup.auth == UU_AUTH_BEARER && a) {
    uu_buf_add(&h, "Authorization: Bearer ", 22);
    uu_buf_add(&h, a, strlen(a));
  } else if (c->setup.auth == UU_AUTH_HEADER && a) {
    uu_buf_add(&h, c->setup.auth_name, strlen(c->setup.auth_name));
    uu_buf_add(&h, ": ", 2);
    uu_buf_add(&h, a, strlen(a));
  }
  lua_pop(L, 2);
  uu_buf_free(&pair);
  c->auth_header = h.p;                    /* owned by the client now */
  if (h.p != NULL) {
    a = strchr(h.p, ' ') + 1;              /* "Basic dXNlcjpwYXNz" */
    uu_secret_add(c, L, a, strlen(a));
    if ((b = strchr(a, ' ')) != NULL)      /* and the base64 alone */
      uu_secret_add(c, L, b + 1, strlen(b + 1));
  }
}

/* Forms On Fire: "CompanyId":12345,"IntegrationKey":"..." closes the body. */
void uu_body_tail(uu_client *c, lua_State *L, int opts)
{
  const uu_bodycred *bc;
  for (bc = c->v->body_creds; bc && bc->json; bc++) {
    if (c->body_tail.n > 0)
      uu_buf_addc(&c->body_tail, ',');
    uu_json_string(&c->body_tail, bc->json, strlen(bc->json));
    uu_buf_addc(&c->body_tail, ':');
    lua_getfield(L, opts, bc->option);
    if (lua_type(L, -1) == LUA_TNUMBER)
      uu_json_integer(&c->body_tail, (long long)lua_tonumber(L, -1));
    else
      uu_json_string(&c->body_tail, lua_tostring(L, -1), uu_rawlen(L, -1));
    lua_pop(L, 1);
  }
}

/*
** client.c: building a client from its options, releasing it, and showing
** it.  Construction follows liolib: the userdata is zeroed and given its
** metatable before anything is allocated, and every allocation is stored
** in it at once, so a raise at any point leaves __gc a consistent object.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "userupd.h"
#include "loops/budget.h"
#include "base/hash.h"

/* Options every client takes; a vendor adds its own in its descriptor. */
typedef enum { O_END = 0, O_NUM, O_INT, O_STR, O_BOOL, O_FUNC,
               O_BUDGET /* a file path or a store object */ } otype;
static const struct common {
  const char *name;
  otype type;
} common[] = {
  {"base_url", O_STR}, {"timeout", O_NUM}, {"connect_timeout", O_NUM},
  {"retries", O_INT}, {"retry_base", O_NUM}, {"max_retry_wait", O_NUM},
  {"rate", O_NUM}, {"burst", O_NUM}, {"max_connections", O_INT},
  {"max_response", O_INT}, {"max_string", O_INT}, {"max_body", O_INT},
  {"user_agent", O_STR},
  {"ca_file", O_STR}, {"proxy", O_STR}, {"allow_http", O_BOOL},
  {"send_null", O_BOOL},
  {"http_version", O_STR},
  {"sleep", O_FUNC}, {"transport", O_FUNC}, {"on_attempt", O_FUNC},
  {"shared_budget", O_BUDGET}, {"daily_quota", O_INT}, {NULL, O_END}};

/* Adds { type = ... } for every common option (not the Lua hooks) to the
** options table on top: tools such as bin/userupd list them. */
void uu_push_common_options(lua_State *L)
{
  static const char *const types[] = {"?", "number", "integer", "string",
                                      "boolean", "function", "string"};
  const struct common *o;
  for (o = common; o->name != NULL; o++) {
    if (o->type == O_FUNC)
      continue;
    lua_createtable(L, 0, 3);
    lua_pushstring(L, types[o->type]);
    lua_setfield(L, -2, "type");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "secret");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "required");
    lua_setfield(L, -2, o->name);
  }
}

static char *dup_string(lua_State *L, const char *s)
{
  size_t n = strlen(s);
  char *p = (char *)malloc(n + 1);
  if (p == NULL)
    luaL_error(L, "userupd: out of memory");
  memcpy(p, s, n + 1);
  return p;
}

/* ---- option checks (programmer errors: they raise) -------------------- */

static const uu_option *vendor_option(const uu_vendor *v, const char *k)
{
  const uu_option *o;
  for (o = v->options; o->name != NULL; o++)
    if (strcmp(o->name, k) == 0)
      return o;
  return NULL;
}

static const struct common *common_option(const char *k)
{
  const struct common *o;
  for (o = common; o->name != NULL; o++)
    if (strcmp(o->name, k) == 0)
      return o;
  return NULL;
}

static int opt_error(lua_State *L, const uu_vendor *v, const char *k,
                     const char *what)
{
  return luaL_error(L, "bad argument #1 to '%s' (option '%s' %s)", v->name,
                    k, what);
}

/* An unknown option, with the nearest real one as fields get it. */
static void unknown_option(lua_State *L, const uu_vendor *v, const char *k)
{
  const uu_option *vo;
  const struct common *co;
  uu_suggest sg;
  char what[96];
  uu_suggest_init(&sg, k, strlen(k));
  for (vo = v->options; vo->name != NULL; vo++)
    uu_suggest_try(&sg, vo->name);
  for (co = common; co->name != NULL; co++)
    uu_suggest_try(&sg, co->name);
  if (sg.best == NULL)
    opt_error(L, v, k, "is unknown");
  snprintf(what, sizeof what, "is unknown; did you mean '%s'?", sg.best);
  opt_error(L, v, k, what);
}

static int type_ok(lua_State *L, otype t)
{
  switch (t) {
  case O_NUM: return lua_type(L, -1) == LUA_TNUMBER;
  case O_INT: {                            /* range first: casting 1e300 */
    double d = lua_tonumber(L, -1);        /* or NaN is undefined */
    return lua_type(L, -1) == LUA_TNUMBER && d >= -1e15 && d <= 1e15 &&
           d == (double)(long long)d;
  }
  case O_STR: return lua_type(L, -1) == LUA_TSTRING;
  case O_BOOL: return lua_type(L, -1) == LUA_TBOOLEAN;
  case O_BUDGET: return lua_type(L, -1) == LUA_TSTRING ||
                        lua_type(L, -1) == LUA_TTABLE ||
                        lua_type(L, -1) == LUA_TUSERDATA;
  default: return lua_type(L, -1) == LUA_TFUNCTION;
  }
}

static const char *type_name(otype t)
{
  static const char *const names[] = {"?", "a number", "an integer",
                                      "a string", "a boolean", "a function",
                                      "a file path or a store object"};
  return names[t];
}

/* A DNS label: what a subdomain or school name may be. */
static int is_label(const char *s)
{
  size_t i, n = strlen(s);
  if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
    return 0;
  for (i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
          (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
      return 0;
  return 1;
}

/* Vendor option: right type, a label where a host part goes, one of its
** choices.  Secret values are never quoted back. */
static void check_vendor_option(lua_State *L, const uu_vendor *v,
                                const uu_option *o)
{
  const char *s;
  if (o->type == UU_OPT_INT) {
    if (!type_ok(L, O_INT))
      opt_error(L, v, o->name, "must be an integer");
    return;
  }
  if (lua_type(L, -1) != LUA_TSTRING)
    opt_error(L, v, o->name, "must be a string");
  s = lua_tostring(L, -1);
  if (s[0] == '\0' || strlen(s) != uu_rawlen(L, -1))
    opt_error(L, v, o->name, "must be a non-empty string without NUL");
  uu_check_option_value(L, v->name, o->name); /* no header injection */
  if (o->type == UU_OPT_LABEL && !is_label(s))
    opt_error(L, v, o->name, "must be a DNS label (letters, digits, '-')");
  if (o->choices != NULL && !uu_in_set(o->choices, s, strlen(s)))
    luaL_error(L, "bad argument #1 to '%s' (option '%s' must be one of %s)",
               v->name, o->name, o->choices);
}

/* Every key must be an option this vendor knows, of the right type. */
static void check_options(lua_State *L, const uu_vendor *v, int opts)
{
  const struct common *co;
  const uu_option *vo;
  const char *k;
  lua_pushnil(L);
  while (lua_next(L, opts)) {                      /* opts, ..., k, v */
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "bad argument #1 to '%s' (option names must be "
                 "strings)", v->name);
    k = lua_tostring(L, -2);
    if ((vo = vendor_option(v, k)) != NULL)
      check_vendor_option(L, v, vo);
    else if ((co = common_option(k)) == NULL)
      unknown_option(L, v, k);
    else if (!type_ok(L, co->type))
      luaL_error(L, "bad argument #1 to '%s' (option '%s' must be %s, "
                 "got %s)", v->name, k, type_name(co->type),
                 luaL_typename(L, -1));
    else
      uu_check_option_value(L, v->name, k);  /* src/binding/optcheck.c */
    lua_pop(L, 1);
  }
  for (vo = v->options; vo->name != NULL; vo++) {
    lua_getfield(L, opts, vo->name);
    if ((vo->flags & UU_OPT_REQUIRED) && lua_isnil(L, -1))
      opt_error(L, v, vo->name, "is required");
    lua_pop(L, 1);
  }
}

static double num_opt(lua_State *L, int opts, const char *k, double def)
{
  double d;
  lua_getfield(L, opts, k);
  d = lua_isnil(L, -1) ? def : lua_tonumber(L, -1);
  lua_pop(L, 1);
  return d;
}

static char *str_opt(lua_State *L, int opts, const char *k)
{
  char *p = NULL;
  lua_getfield(L, opts, k);
  if (lua_isstring(L, -1))
    p = dup_string(L, lua_tostring(L, -1));
  lua_pop(L, 1);
  return p;
}

/* ---- URL templates ------------------------------------------------------ */

/* The option a base URL comes from: base_url, or the one in the vendor's
** host template ("https://{host}" -> host). */
static void base_option(const uu_client *c, int given, char *name,
                        size_t len)
{
  const char *t = c->setup.base, *open = strchr(t, '{');
  const char *close = open ? strchr(open, '}') : NULL;
  if (given || close == NULL)
    snprintf(name, len, "base_url");
  else
    snprintf(name, len, "%.*s", (int)(close - open - 1), open + 1);
}

/* base_url replaces scheme and host (the sandbox, a proxy, a region).  It
** may carry a path prefix, never a query, fragment or user:password. */
static void check_base(uu_client *c, lua_State *L, const char *b, int given)
{
  char name[32];
  const char *why = uu_base_url_problem(b, c->allow_http);
  if (why != NULL) {
    base_option(c, given, name, sizeof name);
    opt_error(L, c->v, name, why);
  }
}

/* The URLs from the templates (request.c), and base_url checked. */
static void build_urls(uu_client *c, lua_State *L, int opts)
{
  int given;
  uu_build_urls(c, L, opts);
  lua_getfield(L, opts, "base_url");
  given = lua_isstring(L, -1);
  lua_pop(L, 1);
  check_base(c, L, c->base.p, given);
}

/* ---- headers ------------------------------------------------------------ */

static void add_header(uu_client *c, lua_State *L, const char *h)
{
  struct curl_slist *l = curl_slist_append(c->headers, h);
  if (l == NULL)
    luaL_error(L, "userupd: out of memory");
  c->headers = l;
}

static void build_headers(uu_client *c, lua_State *L, int opts)
{
  lua_getfield(L, opts, "transport");      /* libcurl is not the sender */
  lua_pushfstring(L, "User-Agent: %s", c->user_agent ? c->user_agent
                  : lua_isnil(L, -1) ? uu_user_agent()
                  : "userupd/" UU_VERSION " (lua transport)");
  lua_remove(L, -2);
  add_header(c, L, lua_tostring(L, -1));
  lua_pop(L, 1);
  add_header(c, L, "Content-Type: application/json");
  add_header(c, L, "Accept: application/json");
  add_header(c, L, "Expect:");             /* no 100-continue round trip */
  if (c->send_null)                        /* says the null is on purpose */
    add_header(c, L, UU_SEND_NULL_HEADER ": true");
  uu_auth_header(c, L, opts);             /* wire/auth.c */
  if (c->auth_header != NULL)
    add_header(c, L, c->auth_header);
}

/* Every secret option, in each form it can take on the wire; and the
** account: a SHA-256 of the vendor and its credential options (secret or
** required), which a journal keeps only as a keyed fingerprint. */
static void collect_secrets(uu_client *c, lua_State *L, int opts)
{
  const uu_option *o;
  const char *val;
  size_t n;
  uu_sha256 acct;
  uu_sha256_init(&acct);
  uu_sha256_add(&acct, c->v->name, strlen(c->v->name) + 1);
  for (o = c->v->options; o->name != NULL; o++) {
    if (!(o->flags & (UU_OPT_SECRET | UU_OPT_REQUIRED)))
      continue;
    lua_getfield(L, opts, o->name);
    if (lua_isstring(L, -1)) {
      val = lua_tolstring(L, -1, &n);
      uu_sha256_add(&acct, o->name, strlen(o->name) + 1);
      uu_sha256_add(&acct, val, n + 1);
      if (o->flags & UU_OPT_SECRET)
        uu_secret_forms(c, L, val);
    }
    lua_pop(L, 1);
  }
  uu_sha256_end(&acct, c->account);
}

/* ---- life cycle --------------------------------------------------------- */

/* Frees everything; idempotent, so it serves close, __gc and __close. */
/* The client's own C strings and buffers: request parts, secrets, the
** token's forms, options kept as C strings. */
static void free_strings(uu_client *c)
{
  int i;
  uu_buf_free(&c->base);
  uu_buf_free(&c->url_pre);
  uu_buf_free(&c->url_post);
  uu_buf_free(&c->get_pre);
  uu_buf_free(&c->get_post);
  uu_buf_free(&c->body_tail);
  uu_buf_free(&c->scratch);
  for (i = 0; i < c->nsecrets; i++)
    free(c->secrets[i]);
  free(c->secrets);
  c->secrets = NULL;
  c->nsecrets = 0;
  for (i = 0; i < UU_TOKEN_FORMS; i++) {
    free(c->token_forms[i]);
    c->token_forms[i] = NULL;
  }
  free(c->auth_header);
  free(c->login_user);
  free(c->login_pass);
  free(c->token);
  free(c->ca_file);
  free(c->proxy);
  free(c->user_agent);
  c->auth_header = c->login_user = c->login_pass = c->token = NULL;
  c->ca_file = c->proxy = c->user_agent = NULL;
}

void uu_client_release(lua_State *L, uu_client *c)
{
  if (c->closed && !c->release_due)
    return;
  c->closed = 1;
  c->release_due = 0;
  uu_async_cancel(L, c);
  uu_many_release(c);
  uu_budget_close(c, L);
  uu_slot_free(&c->sync);
  uu_slot_free(&c->login);
  uu_pool_close(c);                  /* after every easy handle is gone */
  curl_slist_free_all(c->headers);
  c->headers = NULL;
  free_strings(c);
  luaL_unref(L, LUA_REGISTRYINDEX, c->sleep_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, c->transport_ref);
  luaL_unref(L, LUA_REGISTRYINDEX, c->names_ref);
  uu_names_free(c);
  uu_redact_free(c);
  luaL_unref(L, LUA_REGISTRYINDEX, c->attempt_ref);
  c->sleep_ref = c->transport_ref = c->names_ref = LUA_NOREF;
  c->attempt_ref = LUA_NOREF;
}

/* A numeric option checked against its range before any cast (a cast of
** NaN or 1e300 to an integer type is undefined behaviour). */
static double ranged(lua_State *L, const uu_client *c, int opts,
                     const char *k, double def, double lo, double hi)
{
  double d = num_opt(L, opts, k, def);
  char range[64];
  if (!(d >= lo && d <= hi)) {             /* also NaN */
    snprintf(range, sizeof range, "from %g to %g", lo, hi);
    luaL_error(L, "bad argument #1 to '%s' (option '%s' must be %s)",
               c->v->name, k, range);
  }
  return d;
}

static void read_limits(uu_client *c, lua_State *L, int opts)
{
  const uu_vendor *v = c->v;
  uu_policy *p = &c->policy;
  c->timeout_ms = (long)(ranged(L, c, opts, "timeout", 30, 0.001, 86400)
                         * 1000);
  c->connect_timeout_ms = (long)(ranged(L, c, opts, "connect_timeout", 10,
                                        0.001, 86400) * 1000);
  p->retries = (int)ranged(L, c, opts, "retries", 3, 0, 100);
  p->retry_base = ranged(L, c, opts, "retry_base", 0.5, 0, 3600);
  p->max_retry_wait = ranged(L, c, opts, "max_retry_wait", 60, 0, 86400);
  p->rate = ranged(L, c, opts, "rate", v->rate, 0, 1e6);
  p->burst = ranged(L, c, opts, "burst", v->burst > 0 ? v->burst : 1, 1, 1e6);
  c->max_conn = (int)ranged(L, c, opts, "max_connections", v->max_conn, 0,
                            1024);
  c->max_response = (size_t)ranged(L, c, opts, "max_response", 8 << 20, 1,
                                   1099511627776.0);
  c->max_string = (size_t)ranged(L, c, opts, "max_string", 65536, 1,
                                 2147483647.0);
  c->max_body = (size_t)ranged(L, c, opts, "max_body", 4 << 20, 1024,
                               268435456.0);
  lua_getfield(L, opts, "allow_http");
  c->allow_http = lua_toboolean(L, -1);
  lua_getfield(L, opts, "send_null");
  c->send_null = lua_toboolean(L, -1);
  lua_pop(L, 2);
  uu_policy_init(p, uu_now(), (uint64_t)(size_t)c ^
                 (uint64_t)(uu_now() * 1e6));
}

/* http_version: "1.1", "2", or absent (negotiate by ALPN). */
static void read_http_version(uu_client *c, lua_State *L, int opts)
{
  lua_getfield(L, opts, "http_version");
  c->http_version = uu_http_version(lua_tostring(L, -1));
  lua_pop(L, 1);
  if (c->http_version < 0)
    opt_error(L, c->v, "http_version", "must be \"1.1\" or \"2\" (or "
              "absent: HTTP/2 where the server offers it)");
}

static int hook_ref(lua_State *L, int opts, const char *k)
{
  lua_getfield(L, opts, k);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return LUA_NOREF;
  }
  return luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Runs the vendor's configure hook and the login setup. */
static void configure(uu_client *c, lua_State *L, int opts)
{
  const char *msg;
  c->setup.base = c->v->base;
  c->setup.path = c->v->path;
  c->setup.get_path = c->v->get_path;
  c->setup.auth = c->v->auth;
  c->setup.auth_name = c->v->auth_name;
  if (c->v->configure && (msg = c->v->configure(&c->setup, L, opts)))
    luaL_error(L, "bad argument #1 to '%s' (%s)", c->v->name, msg);
  if (c->v->login != NULL) {
    c->login_user = str_opt(L, opts, c->v->login->user_opt);
    c->login_pass = str_opt(L, opts, c->v->login->pass_opt);
  }
  c->ca_file = str_opt(L, opts, "ca_file");
  c->proxy = str_opt(L, opts, "proxy");
  uu_secrets_proxy(c, L);
  c->user_agent = str_opt(L, opts, "user_agent");
}

/* userupd.<vendor>(opts) and userupd.new(vendor, opts). */
int uu_client_new(lua_State *L, const uu_vendor *v, int opts)
{
  uu_client *c;
  luaL_checktype(L, opts, LUA_TTABLE);
  check_options(L, v, opts);
  c = (uu_client *)lua_newuserdata(L, sizeof *c);
  memset(c, 0, sizeof *c);
  c->v = v;
  c->sleep_ref = c->transport_ref = c->names_ref = LUA_NOREF;
  c->attempt_ref = LUA_NOREF;
  c->closed = 1;                           /* nothing to free yet */
  lua_getfield(L, opts, "transport");      /* a transport: the Lua loop */
  luaL_getmetatable(L, lua_isnil(L, -1) ? UU_CLIENT_MT : UU_CLIENT_LUA_MT);
  lua_remove(L, -2);
  lua_setmetatable(L, -2);
  c->closed = 0;
  read_limits(c, L, opts);
  read_http_version(c, L, opts);
  uu_budget_open(c, L, opts);
  configure(c, L, opts);
  collect_secrets(c, L, opts);
  build_urls(c, L, opts);
  build_headers(c, L, opts);
  uu_body_tail(c, L, opts);
  c->sleep_ref = hook_ref(L, opts, "sleep");
  c->transport_ref = hook_ref(L, opts, "transport");
  c->attempt_ref = hook_ref(L, opts, "on_attempt");
  if (uu_pool_open(c) != 0 || uu_slot_init(c, &c->sync) != 0)
    luaL_error(L, "userupd: cannot create a curl handle");
  lua_newtable(L);                         /* uservalue: the options, kept */
  lua_pushvalue(L, opts);                  /* to rebuild URLs after login */
  lua_setfield(L, -2, "opts");
  uu_setuservalue(L, -2);
  return 1;
}

/* close, __gc, __close.  During a running call (guard.c) the client is
** marked closed now, and freed when that call returns. */
static int l_client_close(lua_State *L)
{
  uu_client *c = uu_to_client(L, 1);
  if (c->busy != NULL && !c->closed) {
    c->closed = 1;
    c->release_due = 1;
    return 0;
  }
  if (c->busy == NULL)
    uu_client_release(L, c);
  return 0;
}

/* Never shows a secret: vendor and host only. */
static int l_client_tostring(lua_State *L)
{
  uu_client *c = uu_to_client(L, 1);
  size_t hostlen;
  const char *host;
  if (c->closed) {
    lua_pushfstring(L, "userupd.client(%s, closed)", c->v->name);
    return 1;
  }
  host = c->base.p + (strncmp(c->base.p, "https", 5) == 0 ? 8 : 7);
  hostlen = strcspn(host, "/?");
  lua_pushfstring(L, "userupd.client(%s, ", c->v->name);
  lua_pushlstring(L, c->base.p, (size_t)(host - c->base.p) + hostlen);
  lua_pushliteral(L, ")");
  lua_concat(L, 3);
  return 1;
}

/* id, fields and opts ({ extra = ... }) at 2, 3 and 4 -> c->scratch (id)
** and the sync body; opts.extra, if any, stays at 5.  0, or -1 with nil,
** err pushed. */
static int marshal_args(lua_State *L, uu_client *c)
{
  uu_bad bad;
  size_t fields_end;
  int extra;
  luaL_checkany(L, 2);
  luaL_checktype(L, 3, LUA_TTABLE);
  if (!lua_isnoneornil(L, 4))
    luaL_checktype(L, 4, LUA_TTABLE);
  lua_settop(L, 4);
  extra = uu_extra_arg(L, 4);
  if (uu_check_id(c->v, L, 2, &c->scratch, &bad) == 0 &&
      uu_marshal_x(c, L, 3, extra, c->scratch.p, c->scratch.n, &c->sync.body,
                   &fields_end, &bad) == 0)
    return 0;
  lua_pushnil(L);
  uu_push_invalid(L, c, &bad);
  return -1;
}

/* client:prepare(id, fields [, opts]): the request update would send; no
** I/O.  Extra members are listed in req.extra (tostring marks them). */
static int client_prepare(lua_State *L)
{
  uu_client *c = (uu_client *)lua_touserdata(L, 1);    /* uu_guarded's */
  int extra;
  if (marshal_args(L, c) != 0)
    return 2;
  extra = lua_gettop(L) == 5 ? 5 : 0;              /* opts.extra, if any */
  if (uu_build_url(c, UU_OP_UPDATE, c->scratch.p, c->scratch.n,
                   &c->sync.url) != 0)
    return luaL_error(L, "userupd: out of memory");
  uu_push_request(L, c, c->v->method, &c->sync.url, &c->sync.body);
  if (uu_push_extra_names(L, extra))
    lua_setfield(L, -2, "extra");
  return 1;
}

/* client:encode(id, fields): the body prepare would build, as a string;
** the payload alone, for hashing, diffing or a transport of one's own. */
static int client_encode(lua_State *L)
{
  uu_client *c = (uu_client *)lua_touserdata(L, 1);    /* uu_guarded's */
  if (marshal_args(L, c) != 0)
    return 2;
  lua_pushlstring(L, c->sync.body.p, c->sync.body.n);
  return 1;
}

static int client_update(lua_State *L)
{
  return uu_update(L, uu_check_client(L, 1), UU_OP_UPDATE);
}

static int client_get(lua_State *L)
{
  return uu_update(L, uu_check_client(L, 1), UU_OP_GET);
}

/* Each runs as its client's one running call (guard.c). */
static int l_client_prepare(lua_State *L)
{
  return uu_guarded(L, "prepare", client_prepare);
}

static int l_client_encode(lua_State *L)
{
  return uu_guarded(L, "encode", client_encode);
}

static int l_client_update(lua_State *L)
{
  return uu_guarded(L, "update", client_update);
}

static int l_client_get(lua_State *L)
{
  return uu_guarded(L, "get", client_get);
}

/* client:failures(journal) -> the journal's failed and invalid records,
** { id, state, kind, status, message, field, payload, ... } each: the
** shortcut for userupd.journal(path, vendor):failures(). */
static int l_client_failures(lua_State *L)
{
  uu_client *c = uu_check_client(L, 1);
  luaL_checkstring(L, 2);
  lua_settop(L, 2);
  lua_getfield(L, LUA_REGISTRYINDEX, "userupd.journal.open");
  lua_pushvalue(L, 2);                   /* no vendor: open, never create */
  lua_call(L, 1, 2);                               /* 3: j or nil, 4: msg */
  if (lua_isnil(L, 3))
    return 2;
  lua_getfield(L, 3, "vendor");
  lua_pushvalue(L, 3);
  lua_call(L, 1, 1);                               /* 5: its vendor */
  lua_getfield(L, 3, strcmp(lua_tostring(L, 5), c->v->name) == 0
                     ? "failures" : "close");
  lua_pushvalue(L, 3);
  lua_call(L, 1, 1);                               /* 6: list (or nil) */
  if (strcmp(lua_tostring(L, 5), c->v->name) != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "journal %s belongs to vendor %s, not %s",
                    lua_tostring(L, 2), lua_tostring(L, 5), c->v->name);
    return 2;
  }
  lua_getfield(L, 3, "close");
  lua_pushvalue(L, 3);
  lua_call(L, 1, 0);
  return 1;
}

static int l_client_vendor(lua_State *L)
{
  lua_pushstring(L, uu_check_client(L, 1)->v->name);
  return 1;
}

/* The client's own methods and metamethods; the binding puts them, and
** the other files' tables, in the client metatables (lua_userupd.c). */
const luaL_Reg uu_client_methods[] = {
  {"prepare", l_client_prepare}, {"encode", l_client_encode},
  {"update", l_client_update}, {"get", l_client_get},
  {"failures", l_client_failures},
  {"close", l_client_close}, {"vendor", l_client_vendor},
  {NULL, NULL}};

const luaL_Reg uu_client_meta[] = {
  {"__gc", l_client_close}, {"__tostring", l_client_tostring},
#if LUA_VERSION_NUM >= 504
  {"__close", l_client_close},
#endif
  {NULL, NULL}};

/*
** request.c: the request a call sends: its URL from the vendor's templates
** (at construction and after each login), as bytes (for libcurl) and as a
** Lua table (prepare's dry run, a Lua transport), the login request, and
** the redacted rendering of any of them.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "userupd.h"

/* ---- URL templates ------------------------------------------------------ */

/* "{name}" -> the option's value (the login token for the token option).
** Host parts go in raw (options there are checked labels or hosts);
** path and query parts are %-encoded.  Stops at "{id}": *rest says where
** the template goes on after it. */
static void expand(uu_client *c, lua_State *L, int opts, const char *t,
                   int encode, uu_buf *out, const char **rest)
{
  const char *close, *val;
  char name[32];
  size_t n;
  *rest = NULL;
  while (*t) {
    if (*t != '{' || (close = strchr(t, '}')) == NULL) {
      uu_buf_addc(out, *t++);
      continue;
    }
    n = (size_t)(close - t - 1);
    snprintf(name, sizeof name, "%.*s", (int)n, t + 1);
    t = close + 1;
    if (strcmp(name, "id") == 0) {
      *rest = t;
      return;
    }
    if (c->v->login && strcmp(name, c->v->login->token_opt) == 0 &&
        c->token != NULL) {
      uu_percent_encode(out, c->token, strlen(c->token));
      continue;
    }
    lua_getfield(L, opts, name);
    if (lua_isnil(L, -1) && c->token == NULL && c->login_user != NULL) {
      lua_pop(L, 1);                     /* not logged in yet: no token */
      continue;
    }
    if ((val = lua_tolstring(L, -1, &n)) == NULL)
      luaL_error(L, "bad argument #1 to '%s' (option '%s' is required (or "
                 "give base_url))", c->v->name, name);
    if (encode)
      uu_percent_encode(out, val, n);
    else
      uu_buf_add(out, val, n);
    lua_pop(L, 1);
  }
}

/* The login token in the forms it takes (raw, %-encoded as the URL has
** it, JSON-escaped), kept when the token is dropped for a re-login: an old
** token may still work, so it stays hidden until the next one replaces it.
** Built with plain mallocs: a failure leaves a form out, never a leak. */
static void token_forms(uu_client *c)
{
  uu_buf r = {NULL, 0, 0}, u = {NULL, 0, 0}, j = {NULL, 0, 0};
  size_t n;
  int i;
  if (c->token == NULL || (c->token_forms[0] != NULL &&
                           strcmp(c->token_forms[0], c->token) == 0))
    return;
  for (i = 0; i < UU_TOKEN_FORMS; i++) {
    free(c->token_forms[i]);
    c->token_forms[i] = NULL;
  }
  n = strlen(c->token);
  if (uu_buf_add(&r, c->token, n) == 0) {
    c->token_forms[0] = r.p;
    r.p = NULL;
  }
  if (uu_percent_encode(&u, c->token, n) == 0 && u.p != NULL) {
    c->token_forms[1] = u.p;
    u.p = NULL;
  }
  if (uu_json_string(&j, c->token, n) == UU_JOK && j.n >= 2) {
    memmove(j.p, j.p + 1, j.n - 2);
    j.p[j.n - 2] = '\0';
    c->token_forms[2] = j.p;
    j.p = NULL;
  }
  uu_buf_free(&r);
  uu_buf_free(&u);
  uu_buf_free(&j);
}

/* url_pre/url_post (and the read call's) from the templates and options.
** Called at construction and again when a login brings a new token. */
void uu_build_urls(uu_client *c, lua_State *L, int opts)
{
  const char *rest;
  int given;
  token_forms(c);
  c->base.n = c->url_pre.n = c->url_post.n = 0;
  c->get_pre.n = c->get_post.n = 0;
  lua_getfield(L, opts, "base_url");
  given = lua_isstring(L, -1);
  if (given)
    uu_buf_add(&c->base, lua_tostring(L, -1), uu_rawlen(L, -1));
  else
    expand(c, L, opts, c->setup.base, 0, &c->base, &rest);
  lua_pop(L, 1);
  while (c->base.n > 0 && c->base.p[c->base.n - 1] == '/')
    c->base.p[--c->base.n] = '\0';
  if (c->base.p == NULL)
    luaL_error(L, "userupd: out of memory");
  uu_buf_add(&c->url_pre, c->base.p, c->base.n);
  uu_buf_add(&c->get_pre, c->base.p, c->base.n);
  expand(c, L, opts, c->setup.path, 1, &c->url_pre, &rest);
  if ((c->id_in_url = rest != NULL))
    expand(c, L, opts, rest, 1, &c->url_post, &rest);
  expand(c, L, opts, c->setup.get_path, 1, &c->get_pre, &rest);
  if ((c->id_in_get = rest != NULL))
    expand(c, L, opts, rest, 1, &c->get_post, &rest);
}


/* url = pre + %-encoded id + post; the parts were fixed at construction. */
int uu_build_url(uu_client *c, uu_op op, const char *id, size_t idlen,
                 uu_buf *url)
{
  const uu_buf *pre = op == UU_OP_GET ? &c->get_pre : &c->url_pre;
  const uu_buf *post = op == UU_OP_GET ? &c->get_post : &c->url_post;
  int with_id = op == UU_OP_GET ? c->id_in_get : c->id_in_url;
  url->n = 0;
  if (uu_buf_add(url, pre->p, pre->n) != 0 ||
      (with_id && uu_percent_encode(url, id, idlen) != 0) ||
      (post->n > 0 && uu_buf_add(url, post->p, post->n) != 0))
    return -1;
  return 0;
}

/* The login call's URL and JSON body (Blackbaud ON API) in s. */
int uu_login_build(uu_client *c, uu_slot *s)
{
  const uu_loginspec *lg = c->v->login;
  s->url.n = s->body.n = 0;
  return uu_buf_add(&s->url, c->base.p, c->base.n) ||
         uu_buf_add(&s->url, lg->path, strlen(lg->path)) ||
         uu_buf_addc(&s->body, '{') ||
         uu_json_string(&s->body, lg->user_opt, strlen(lg->user_opt)) ||
         uu_buf_addc(&s->body, ':') ||
         uu_json_string(&s->body, c->login_user, strlen(c->login_user)) ||
         uu_buf_addc(&s->body, ',') ||
         uu_json_string(&s->body, lg->pass_opt, strlen(lg->pass_opt)) ||
         uu_buf_addc(&s->body, ':') ||
         uu_json_string(&s->body, c->login_pass, strlen(c->login_pass)) ||
         uu_buf_addc(&s->body, '}');
}

/* ---- redaction -------------------------------------------------------- */

static int is_word(int ch)
{
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
         (ch >= '0' && ch <= '9') || ch >= 0x80;
}

/* Matching ignores ASCII case: an echo may change it (a %2b for our %2B,
** an upper-cased message), and hiding a word that equals a secret but for
** case costs nothing.  A secret of UU_ANYWHERE bytes or more is hidden
** wherever it stands, inside a longer word too; a shorter one only as a
** whole token (a password "p" must not turn "application" into
** "a***lication", which garbles the text and hints at the secret). */
#define UU_ANYWHERE 8

static int same_nocase(const char *a, const char *b, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++) {
    int x = (unsigned char)a[i], y = (unsigned char)b[i];
    if (x != y && !(x >= 'A' && x <= 'Z' && x + 32 == y) &&
        !(y >= 'A' && y <= 'Z' && y + 32 == x))
      return 0;
  }
  return 1;
}

/* How many bytes of s are secret sec (0: none).  With cut, the text was
** cut short after s + left: a tail that begins sec is a piece of it (at a
** token start, or 4 bytes or more of a long secret inside a word). */
static size_t token_at(const char *s, size_t left, int prev,
                       const char *sec, int cut)
{
  size_t n = strlen(sec), m = n < left ? n : left;
  int glued = is_word(prev) && is_word((unsigned char)sec[0]);
  if (n == 0 || (m < n && !cut) || !same_nocase(s, sec, m))
    return 0;
  if (m < n)                                       /* a piece at the cut */
    return glued && (n < UU_ANYWHERE || m < 4) ? 0 : m;
  if (n >= UU_ANYWHERE)
    return n;
  if (glued || (n < left && is_word((unsigned char)s[n]) &&
                is_word((unsigned char)sec[n - 1])))
    return 0;
  return n;
}

/* A piece of a secret is hidden too: a vendor may echo one cut short
** ("password Tr0ub4dor-Ho... is too weak") or from its middle.  A run of
** UU_PIECE bytes or more of a secret of UU_PIECE_OF bytes or more, ASCII
** case ignored (shorter secrets: whole only, as above). */
#define UU_PIECE 8
#define UU_PIECE_OF 12

/* Whether the n bytes at s are ASCII letters only: such a run is a word
** ("integration", a vendor's name) more often than a piece of a random
** key, so it is not hidden as a piece (a whole secret still is). */
static int all_letters(const char *s, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
      return 0;
  return 1;
}

/* The longest run at s (left bytes) that is a piece of sec, holding a
** byte other than a letter: its length when UU_PIECE or more, else 0. */
static size_t piece_at(const char *s, size_t left, const char *sec)
{
  size_t n = strlen(sec), j, k, best = 0;
  if (n < UU_PIECE_OF || left < UU_PIECE || !is_word((unsigned char)*s))
    return 0;                            /* a piece starts at a word byte */
  for (j = 0; j + UU_PIECE <= n; j++) {
    for (k = 0; j + k < n && k < left && same_nocase(s + k, sec + j + k, 1);
         k++)
      ;
    if (k >= UU_PIECE && k > best && !all_letters(s, k))
      best = k;
  }
  return best;
}

/* The longest piece of any secret of c's at s, or 0. */
static size_t any_piece_at(const uu_client *c, const char *s, size_t left)
{
  size_t k, best = 0;
  int i;
  for (i = 0; i < c->nsecrets; i++)
    if ((k = piece_at(s, left, c->secrets[i])) > best)
      best = k;
  for (i = 0; i < UU_TOKEN_FORMS; i++)
    if (c->token_forms[i] != NULL &&
        (k = piece_at(s, left, c->token_forms[i])) > best)
      best = k;
  return best;
}

/* Length of the secret of c's that starts at s, or 0.  prev is the byte
** before s (or 0). */
static size_t secret_at(const uu_client *c, const char *s, size_t left,
                        int prev, int cut)
{
  int i;
  size_t n;
  for (i = 0; i < c->nsecrets; i++)
    if ((n = token_at(s, left, prev, c->secrets[i], cut)) > 0)
      return n;
  for (i = 0; i < UU_TOKEN_FORMS; i++)
    if (c->token_forms[i] != NULL &&
        (n = token_at(s, left, prev, c->token_forms[i], cut)) > 0)
      return n;
  return any_piece_at(c, s, left);
}

/* At s, a secret field's key ("password":") followed by its JSON string:
** the number of bytes of the value's content, with *keylen set. */
static size_t secret_field_at(const uu_vendor *v, const char *s, size_t left,
                              size_t *keylen)
{
  const uu_field *f;
  size_t n, i;
  for (f = v->fields; f->name != NULL; f++) {
    if (!(f->flags & UU_SECRET))
      continue;
    n = strlen(f->name);
    if (left < n + 4 || s[0] != '"' || memcmp(s + 1, f->name, n) != 0 ||
        memcmp(s + 1 + n, "\":\"", 3) != 0)
      continue;
    *keylen = n + 4;
    for (i = *keylen; i < left && s[i] != '"'; i++)
      if (s[i] == '\\')
        i++;
    return i - *keylen;
  }
  return 0;
}

/* The redacted text of s into b. */
static void redact_into(uu_client *c, luaL_Buffer *b, const char *s,
                        size_t n, int cut)
{
  size_t i = 0, k, keylen;
  while (i < n) {
    if ((k = secret_at(c, s + i, n - i, i > 0 ? (unsigned char)s[i - 1] : 0,
                       cut)) > 0) {
      luaL_addstring(b, "***");
      i += k;
    } else if (s[i] == '"' &&
               (k = secret_field_at(c->v, s + i, n - i, &keylen)) > 0) {
      luaL_addlstring(b, s + i, keylen);
      luaL_addstring(b, "***");
      i += keylen + k;
    } else {
      luaL_addchar(b, s[i]);
      i++;
    }
  }
}

/* Pushes s with every secret of the client's, in any wire form, and every
** secret field's value, replaced by "***", then cut to max bytes (at a
** UTF-8 boundary): redacted first, so a cut cannot leave a piece of a
** secret.  cut says s itself was cut short before it came here: a tail
** that begins a secret is hidden too. */
void uu_redact_cut(uu_client *c, lua_State *L, const char *s, size_t n,
                   size_t max, int cut)
{
  luaL_Buffer b;
  size_t len;
  const char *r;
  luaL_buffinit(L, &b);
  redact_into(c, &b, s, n, cut);
  luaL_pushresult(&b);
  r = lua_tolstring(L, -1, &len);
  if (len <= max)
    return;
  while (max > 0 && ((unsigned char)r[max] & 0xc0) == 0x80)
    max--;                                /* not inside a UTF-8 sequence */
  lua_pushlstring(L, r, max);
  lua_remove(L, -2);
}

/* The string at t with every whole-token (or, long enough, any) match of
** sec replaced by "***" (the rules of token_at). */
static void hide(lua_State *L, int t, const char *sec)
{
  luaL_Buffer b;
  size_t n, i = 0, k;
  const char *s = lua_tolstring(L, t, &n);
  if (sec[0] == '\0')
    return;
  luaL_buffinit(L, &b);
  while (i < n) {
    k = token_at(s + i, n - i, i > 0 ? (unsigned char)s[i - 1] : 0, sec, 0);
    if (k == 0)
      k = piece_at(s + i, n - i, sec);
    if (k > 0) {
      luaL_addstring(&b, "***");
      i += k;
    } else {
      luaL_addchar(&b, s[i]);
      i++;
    }
  }
  luaL_pushresult(&b);
  lua_replace(L, t);
}

/* Pushes s %-encoded as a URL or a form would carry it (RFC 3986
** unreserved bytes kept, the rest %XX). */
static void push_percent(lua_State *L, const char *s, size_t n)
{
  static const char hex[] = "0123456789ABCDEF";
  luaL_Buffer b;
  size_t i;
  unsigned char ch;
  luaL_buffinit(L, &b);
  for (i = 0; i < n; i++) {
    ch = (unsigned char)s[i];
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
        (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
        ch == '~') {
      luaL_addchar(&b, (char)ch);
    } else {
      luaL_addchar(&b, '%');
      luaL_addchar(&b, hex[ch >> 4]);
      luaL_addchar(&b, hex[ch & 15]);
    }
  }
  luaL_pushresult(&b);
}

/* A secret field's value as sent (JSON-escaped, n bytes at v) hidden in
** the string at t, in that form and as the text it stands for. */
static void hide_value(lua_State *L, int t, const char *v, size_t n)
{
  char msg[64];
  luaL_Buffer b;
  lua_pushlstring(L, v, n);
  hide(L, t, lua_tostring(L, -1));                 /* as sent */
  lua_pop(L, 1);
  luaL_buffinit(L, &b);
  luaL_addchar(&b, '"');
  luaL_addlstring(&b, v, n);
  luaL_addchar(&b, '"');
  luaL_pushresult(&b);                             /* a JSON string */
  if (uu_json_decode(L, lua_tostring(L, -1), uu_rawlen(L, -1), 2, msg,
                     sizeof msg) == 0) {
    hide(L, t, lua_tostring(L, -1));               /* the text */
    push_percent(L, lua_tostring(L, -1), uu_rawlen(L, -1));
    hide(L, t, lua_tostring(L, -1));               /* as a URL has it */
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
}

/* The string on top, with the value of every secret field in body (the
** JSON an update sent: the record's own password, say) hidden as well: a
** vendor may echo it without its key ("password X is too weak"). */
void uu_redact_sent(uu_client *c, lua_State *L, const char *body, size_t n)
{
  size_t i, k, keylen;
  int t = lua_gettop(L);
  if (body == NULL || lua_type(L, t) != LUA_TSTRING)
    return;
  for (i = 0; i < n; i++) {
    if (body[i] != '"' ||
        (k = secret_field_at(c->v, body + i, n - i, &keylen)) == 0)
      continue;
    hide_value(L, t, body + i + keylen, k);
    i += keylen + k;
  }
}

/* Pushes s redacted (uu_redact_cut, no cut). */
void uu_redact(uu_client *c, lua_State *L, const char *s, size_t n)
{
  uu_redact_cut(c, L, s, n, (size_t)-1, 0);
}

/* ---- the request as a Lua table ------------------------------------ */

/* Pushes the redacted "\nName: value" line of every header, sorted. */
static void push_header_lines(uu_client *c, lua_State *L, int h)
{
  int i, n, keys;
  size_t len;
  const char *s;
  n = uu_json_sorted_keys(L, h, 1);                /* keys */
  keys = lua_gettop(L);
  luaL_checkstack(L, n + 4, "headers");
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, keys, i);
    lua_pushvalue(L, -1);
    lua_rawget(L, h);
    lua_pushfstring(L, "\n%s: %s", lua_tostring(L, -2),
                    lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
    s = lua_tolstring(L, -1, &len);
    uu_redact(c, L, s, len);
    lua_replace(L, -4);                            /* line, v, line */
    lua_pop(L, 2);
  }
  lua_remove(L, keys);
}

static void push_redacted_field(uu_client *c, lua_State *L, const char *k)
{
  size_t n;
  const char *s;
  lua_getfield(L, 1, k);
  s = lua_isstring(L, -1) ? lua_tolstring(L, -1, &n) : (n = 0, "");
  uu_redact(c, L, s, n);
  lua_remove(L, -2);
}

/* "\n\nextra (...): A, B" for a request whose body carries members the
** vendor's descriptor lacks (req.extra), or "". */
static void push_extra_line(lua_State *L)
{
  int i, n, list;
  lua_getfield(L, 1, "extra");
  list = lua_gettop(L);
  n = lua_istable(L, list) ? (int)uu_rawlen(L, list) : 0;
  lua_pop(L, n == 0);
  if (n == 0) {
    lua_pushliteral(L, "");
    return;
  }
  luaL_checkstack(L, 2 * n + 2, "extra");
  lua_pushliteral(L, "\n\nextra, not in the vendor's documentation: ");
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, list, i);
    if (lua_type(L, -1) != LUA_TSTRING) {
      lua_pop(L, 1);
      lua_pushliteral(L, "?");
    }
    if (i < n)
      lua_pushliteral(L, ", ");
  }
  lua_concat(L, 2 * n);
  lua_remove(L, list);
}

/* tostring(req): method, URL, headers and body, all redacted.  The client
** is this closure's upvalue, so its secrets are known here. */
static int l_request_tostring(lua_State *L)
{
  uu_client *c = (uu_client *)lua_touserdata(L, lua_upvalueindex(1));
  int top;
  if (c == NULL || c->closed) {
    lua_pushliteral(L, "userupd.request(client closed)");
    return 1;
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  top = lua_gettop(L);
  lua_getfield(L, 1, "method");
  if (!lua_isstring(L, -1)) {
    lua_pop(L, 1);
    lua_pushliteral(L, "?");
  }
  lua_pushliteral(L, " ");
  push_redacted_field(c, L, "url");
  lua_getfield(L, 1, "headers");
  if (lua_istable(L, -1))
    push_header_lines(c, L, lua_gettop(L));
  lua_remove(L, top + 4);                          /* the headers table */
  lua_pushliteral(L, "\n\n");
  push_redacted_field(c, L, "body");
  push_extra_line(L);
  lua_concat(L, lua_gettop(L) - top);
  return 1;
}

/* The client's uservalue slots: its options, then what every request of
** it shares.  Integer keys: rawgeti is the cheapest look-up there is. */
enum { UV_REQMT = 1, UV_HEADERS = 2 };

/* Pushes "Name: value" of one curl header line into the table on top. */
static void set_header(lua_State *L, const char *line)
{
  const char *colon = strchr(line, ':');
  const char *v;
  if (colon == NULL || colon[1] == '\0')           /* "Expect:" disables */
    return;
  for (v = colon + 1; *v == ' '; v++)
    ;
  lua_pushlstring(L, line, (size_t)(colon - line));
  lua_pushstring(L, v);
  lua_rawset(L, -3);
}

/* A copy of the shared headers at index shared (a transport may add its
** own), on top. */
static void push_headers(lua_State *L, int shared)
{
  lua_createtable(L, 0, 6);
  lua_pushnil(L);
  while (lua_next(L, shared)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
}

/* __index of a request: req.headers is made on its first read (most
** requests are sent or encoded without anyone reading it), then kept in
** the request like the other members.  Upvalue 1: the shared headers. */
static int l_request_index(lua_State *L)
{
  const char *k = lua_tostring(L, 2);
  if (lua_type(L, 2) != LUA_TSTRING || strcmp(k, "headers") != 0)
    return 0;
  push_headers(L, lua_upvalueindex(1));
  lua_pushvalue(L, 2);
  lua_pushvalue(L, -2);
  lua_rawset(L, 1);                                /* req.headers = copy */
  return 1;
}

/* Made once per client and kept in its uservalue: the request metatable
** (its __tostring must know the client's secrets; its __index makes
** req.headers from the headers kept beside it). */
static void make_shared(lua_State *L, uu_client *c, int client, int uv)
{
  struct curl_slist *h;
  lua_createtable(L, 0, 5);
  for (h = c->headers; h != NULL; h = h->next)
    set_header(L, h->data);
  lua_pushvalue(L, -1);
  lua_rawseti(L, uv, UV_HEADERS);
  lua_newtable(L);                                 /* headers, mt */
  lua_pushvalue(L, client);
  lua_pushcclosure(L, l_request_tostring, 1);
  lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, "userupd.request");
  lua_setfield(L, -2, "__name");
  lua_pushvalue(L, -2);
  lua_pushcclosure(L, l_request_index, 1);
  lua_setfield(L, -2, "__index");
  lua_rawseti(L, uv, UV_REQMT);
  lua_pop(L, 1);
}

/* { method, url, headers = { ... }, body } for the client at index 1;
** headers comes on first read (l_request_index). */
void uu_push_request(lua_State *L, uu_client *c, const char *method,
                     uu_buf *url, uu_buf *body)
{
  int uv;
  uu_getuservalue(L, 1);
  uv = lua_gettop(L);
  lua_rawgeti(L, uv, UV_REQMT);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    make_shared(L, c, 1, uv);
    lua_rawgeti(L, uv, UV_REQMT);
  }
  lua_createtable(L, 0, 4);                        /* uv, mt, req */
  lua_pushstring(L, method);
  lua_setfield(L, -2, "method");
  lua_pushlstring(L, url->p, url->n);
  lua_setfield(L, -2, "url");
  if (body != NULL) {
    lua_pushlstring(L, body->p, body->n);
    lua_setfield(L, -2, "body");
  }
  lua_insert(L, -2);                               /* uv, req, mt */
  lua_setmetatable(L, -2);
  lua_remove(L, uv);
}

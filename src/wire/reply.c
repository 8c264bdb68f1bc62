/*
** reply.c: a finished exchange -> user, err, info.  Errors are built in
** one place (uu_push_error), so no path can forget kind or let a secret
** into the message: every text from the wire is redacted first.
*/
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "userupd.h"

#define MAX_DECODE_DEPTH 256

/* ---- error objects -------------------------------------------------- */

static void set_str(lua_State *L, const char *k, const char *v)
{
  if (v != NULL && v[0] != '\0') {
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
  }
}

/* err.field is set whenever there is one, even the empty name "" (a key
** of "" is a bad field too, and callers branch on err.field). */
static void set_field(lua_State *L, const char *field)
{
  if (field != NULL) {
    lua_pushstring(L, field);
    lua_setfield(L, -2, "field");
  }
}

/* { kind, message, status, vendor, field, vendor_code, request_id,
**   retryable } with the shared error metatable. */
void uu_push_error(lua_State *L, const uu_vendor *v, const char *kind,
                   const char *field, long status, const char *code,
                   const char *request_id, int retryable, const char *msg)
{
  lua_createtable(L, 0, 8);
  set_str(L, "kind", kind);
  set_str(L, "message", msg);
  set_str(L, "vendor", v->name);
  set_field(L, field);
  set_str(L, "vendor_code", code);
  set_str(L, "request_id", request_id);
  if (status > 0) {
    lua_pushinteger(L, (lua_Integer)status);
    lua_setfield(L, -2, "status");
  }
  lua_pushboolean(L, retryable);
  lua_setfield(L, -2, "retryable");
  luaL_getmetatable(L, UU_ERROR_MT);
  lua_setmetatable(L, -2);
}

/* An invalid error.  Its message may quote the bad value, and a secret
** passed by mistake as a value (a key as the id) must not come back. */
void uu_push_invalid(lua_State *L, uu_client *c, const uu_bad *bad)
{
  size_t n = strlen(bad->msg);
  uu_redact_cut(c, L, bad->msg, n, (size_t)-1, n + 1 >= sizeof bad->msg);
  uu_redact(c, L, bad->field, strlen(bad->field));
  uu_push_error(L, c->v, "invalid", lua_tostring(L, -1), 0, NULL, NULL, 0,
                lua_tostring(L, -2));
  lua_replace(L, -3);
  lua_pop(L, 1);
}

/* nil, err, info for a record refused before sending (0 attempts). */
int uu_push_refusal(lua_State *L, uu_client *c, const uu_bad *bad)
{
  uu_answer a;
  memset(&a, 0, sizeof a);
  lua_pushnil(L);
  uu_push_invalid(L, c, bad);
  uu_push_info(L, &a);
  return 3;
}

/* "userupd: questionpro: rejected (HTTP 400, 1002): message" */
static int l_error_tostring(lua_State *L)
{
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_getfield(L, 1, "vendor");                    /* 2 */
  lua_getfield(L, 1, "kind");                      /* 3 */
  lua_getfield(L, 1, "status");                    /* 4 */
  lua_getfield(L, 1, "vendor_code");               /* 5 */
  lua_getfield(L, 1, "message");                   /* 6 */
  lua_pushfstring(L, "userupd: %s: %s", luaL_optstring(L, 2, "?"),
                  luaL_optstring(L, 3, "error"));
  if (!lua_isnil(L, 4) && !lua_isnil(L, 5))
    lua_pushfstring(L, " (HTTP %s, %s)", lua_tostring(L, 4),
                    lua_tostring(L, 5));
  else if (!lua_isnil(L, 4))
    lua_pushfstring(L, " (HTTP %s)", lua_tostring(L, 4));
  else
    lua_pushliteral(L, "");
  lua_pushfstring(L, ": %s", luaL_optstring(L, 6, "no message"));
  lua_concat(L, 3);
  return 1;
}

void uu_error_open(lua_State *L)
{
  luaL_newmetatable(L, UU_ERROR_MT);
  lua_pushcfunction(L, l_error_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushliteral(L, "userupd.error");
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
}

/* ---- classification --------------------------------------------------- */

static int transport_retryable(CURLcode cc)
{
  switch (cc) {
  case CURLE_COULDNT_RESOLVE_HOST: case CURLE_COULDNT_CONNECT:
  case CURLE_OPERATION_TIMEDOUT: case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR: case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE:
  case CURLE_SSL_CONNECT_ERROR: case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
    return 1;
  default:
    return 0;
  }
}

/* Worth another try: 408, 429, 502, 503, 504, or a network failure.  A
** PUT of the same body is idempotent, so a retry cannot do harm. */
int uu_retryable(const uu_answer *a)
{
  long st = uu_answer_status(a);
  if (a->header_overflow)                /* it would be as large again */
    return 0;
  if (a->cc != CURLE_OK)
    return !a->overflow && transport_retryable(a->cc);
  return st == 408 || st == 429 || st == 502 || st == 503 || st == 504;
}

/* The status an answer stands for: the HTTP status, or for an error
** envelope inside a 2xx the status the envelope gives (400 if none). */
long uu_answer_status(const uu_answer *a)
{
  return a->env_status > 0 ? a->env_status : a->status;
}

/* The error kind of an HTTP status that is not a success. */
const char *uu_status_kind(long status)
{
  if (status == 400 || status == 409 || status == 422)
    return "rejected";
  if (status == 401 || status == 403)
    return "auth";
  if (status == 404)
    return "not_found";
  if (status == 429)
    return "rate_limited";
  return "http";
}

/* ---- headers ------------------------------------------------------------ */

/* Copies v[0..n), trimmed of blanks and CR/LF, into out (cut to fit). */
static void copy_trimmed(char *out, size_t len, const char *v, size_t n)
{
  while (n > 0 && (*v == ' ' || *v == '\t')) {
    v++;
    n--;
  }
  while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' ||
                   v[n - 1] == ' ' || v[n - 1] == '\t'))
    n--;
  if (n >= len)
    n = len - 1;
  memcpy(out, v, n);
  out[n] = '\0';
}

static int name_is(const char *p, size_t n, const char *name)
{
  return n == strlen(name) && strncasecmp(p, name, n) == 0;
}

/* One response header, from libcurl's header line or a Lua transport's
** headers table (any case): keeps the text of those the core reads. */
void uu_header_note(uu_heard *h, const char *name, size_t nlen,
                    const char *value, size_t vlen)
{
  if (name_is(name, nlen, "Retry-After"))
    copy_trimmed(h->retry_after, sizeof h->retry_after, value, vlen);
  else if (name_is(name, nlen, "X-Request-Id") ||
           name_is(name, nlen, "Request-Id"))
    copy_trimmed(h->request_id, sizeof h->request_id, value, vlen);
  else if (name_is(name, nlen, "X-RateLimit-Remaining"))
    copy_trimmed(h->rl_remaining, sizeof h->rl_remaining, value, vlen);
  else if (name_is(name, nlen, "X-RateLimit-Reset-After"))
    copy_trimmed(h->rl_reset_after, sizeof h->rl_reset_after, value, vlen);
  else if (name_is(name, nlen, "X-RateLimit-Reset"))
    copy_trimmed(h->rl_reset, sizeof h->rl_reset, value, vlen);
}

/* ---- reading the body ------------------------------------------------ */

/* Follows "a.b" from the table on top; pushes the value or nil.  An empty
** path is the table itself. */
static void push_path(lua_State *L, const char *path)
{
  const char *dot;
  lua_pushvalue(L, -1);
  while (path != NULL && *path != '\0') {
    if (!lua_istable(L, -1)) {
      lua_pop(L, 1);
      lua_pushnil(L);
      return;
    }
    dot = strchr(path, '.');
    lua_pushlstring(L, path, dot ? (size_t)(dot - path) : strlen(path));
    lua_rawget(L, -2);
    lua_remove(L, -2);
    path = dot ? dot + 1 : NULL;
  }
}

/* The string on top, redacted (the client's secrets, and the secret
** fields a's request sent, if a) and then cut to fit out (a cut before
** redaction could leave a piece of a secret), into out; popped. */
static void redacted_copy(uu_client *c, lua_State *L, const uu_answer *a,
                          char *out, size_t len)
{
  size_t n;
  const char *s = lua_tolstring(L, -1, &n);
  uu_redact(c, L, s, n);
  if (a != NULL)
    uu_redact_sent(c, L, a->sent, a->sent_len);
  s = lua_tolstring(L, -1, &n);
  if (n >= len) {
    n = len - 1;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
      n--;                                /* not inside a UTF-8 sequence */
  }
  memcpy(out, s, n);
  out[n] = '\0';
  lua_pop(L, 2);
}

/* The table on top replaced by the text inside it: its first item, or
** its Message or message member (nil if none). */
static void inner_text(lua_State *L)
{
  static const char *const keys[] = {"Message", "message", NULL};
  int i;
  lua_rawgeti(L, -1, 1);
  for (i = 0; keys[i] != NULL && lua_type(L, -1) != LUA_TSTRING; i++) {
    lua_pop(L, 1);
    lua_getfield(L, -1, keys[i]);
  }
  lua_remove(L, -2);
}

/* A scalar at key k of the table on top, as redacted text in out ("" if
** none). */
static void field_text(uu_client *c, lua_State *L, const uu_answer *a,
                       const char *k, char *out, size_t len)
{
  out[0] = '\0';
  if (k == NULL || !lua_istable(L, -1))
    return;
  lua_getfield(L, -1, k);
  if (lua_type(L, -1) == LUA_TTABLE)     /* ExtendedDetails, {"Message"} */
    inner_text(L);
  if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER)
    redacted_copy(c, L, a, out, len);
  else
    lua_pop(L, 1);
}

/* The vendor's error object in the decoded body on top, if it has one:
** fills code and msg and returns 1.  strict (for a 2xx, whose body is
** normally a user) reads only the descriptor's keys, never the generic
** "message" a user record might hold. */
static int vendor_error(lua_State *L, uu_client *c, const uu_answer *a,
                        char *code, size_t codelen, char *msg, size_t msglen,
                        int strict)
{
  const uu_vendor *v = c->v;
  code[0] = msg[0] = '\0';
  if (v->err_obj == NULL || !lua_istable(L, -1))
    return 0;
  push_path(L, v->err_obj);
  field_text(c, L, a, v->err_code, code, codelen);
  field_text(c, L, a, v->err_msg, msg, msglen);
  if (msg[0] == '\0')
    field_text(c, L, a, v->err_msg2, msg, msglen);
  if (msg[0] == '\0' && !strict)
    field_text(c, L, a, "message", msg, msglen);   /* a generic fallback */
  lua_pop(L, 1);
  return code[0] != '\0' || msg[0] != '\0';
}

/* The HTTP status the vendor's error object (decoded body on top) gives
** in its err_status key, or 0: an integer from 100 to 599 only. */
static long envelope_own_status(lua_State *L, const uu_vendor *v)
{
  double d = 0;
  if (v->err_status == NULL)
    return 0;
  push_path(L, v->err_obj);
  if (lua_istable(L, -1)) {
    lua_pushstring(L, v->err_status);
    lua_rawget(L, -2);
    if (lua_type(L, -1) == LUA_TNUMBER || lua_type(L, -1) == LUA_TSTRING)
      d = lua_tonumber(L, -1);             /* "400" too; else 0 */
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (!(d >= 100 && d <= 599) || d != (double)(long)d)  /* in range: safe */
    return 0;
  return (long)d;
}

/* Whether key k of the table on top holds something (not nil, not JSON
** null). */
static int member_set(lua_State *L, const char *k)
{
  int set;
  if (k == NULL || !lua_istable(L, -1))
    return 0;
  lua_getfield(L, -1, k);
  set = !lua_isnil(L, -1) && !(lua_type(L, -1) == LUA_TLIGHTUSERDATA &&
                               lua_touserdata(L, -1) == NULL);
  lua_pop(L, 1);
  return set;
}

/* Whether a 2xx body (decoded, on top) is the vendor's error envelope:
** its error object is there and not null, whatever its shape ({}, a
** string, a status alone); where the error keys sit at the root, one of
** them is set.  Forms On Fire, which documents errors in a 200, keeps its
** documented rule: a code or message in ResponseStatus. */
static int envelope_present(lua_State *L, uu_client *c)
{
  const uu_vendor *v = c->v;
  char code[64], msg[512];
  int set;
  if (v->err_obj == NULL || !lua_istable(L, -1))
    return 0;
  if (v->flags & UU_V_ERR_IN_2XX)
    return vendor_error(L, c, NULL, code, sizeof code, msg, sizeof msg, 1);
  if (v->err_obj[0] == '\0')
    return member_set(L, v->err_code) || member_set(L, v->err_msg);
  push_path(L, v->err_obj);
  set = !lua_isnil(L, -1) && !(lua_type(L, -1) == LUA_TLIGHTUSERDATA &&
                               lua_touserdata(L, -1) == NULL);
  lua_pop(L, 1);
  return set;
}

/* The status the error envelope in a 2xx body (decoded, on top) stands
** for: its own, else 400 (the vendor refused); 0 when it holds none. */
static long envelope_status(lua_State *L, uu_client *c)
{
  long st;
  if (!envelope_present(L, c))
    return 0;
  st = envelope_own_status(L, c->v);
  return st >= 300 ? st : 400;           /* an "error" saying 2xx: refused */
}

/* Whether "k" (its first n bytes, quoted) is in the len bytes at s. */
static int memmem_quoted(const char *s, size_t len, const char *k, size_t n)
{
  size_t i;
  for (i = 0; i + n + 2 <= len; i++)
    if (s[i] == '"' && s[i + n + 1] == '"' && memcmp(s + i + 1, k, n) == 0)
      return 1;
  return 0;
}

/* The key an error envelope of c's vendor must hold, quoted, so a body
** without it is not decoded twice (every success would be). */
static int has_quoted(const uu_answer *a, const char *k)
{
  size_t n;
  const char *p, *end = a->body + a->len;
  if (k == NULL)
    return 0;
  n = strcspn(k, ".");
  if (n == 0)
    return memmem_quoted(a->body, a->len, k, 0);
  /* from one k[0] to the next (rarer than quotes in a JSON body) */
  for (p = a->body; p < end; p++) {
    if ((p = (const char *)memchr(p, k[0], (size_t)(end - p))) == NULL)
      return 0;
    if (p > a->body && p[-1] == '"' && (size_t)(end - p) > n &&
        memcmp(p, k, n) == 0 && p[n] == '"')
      return 1;
  }
  return 0;
}

static int may_hold_envelope(const uu_client *c, const uu_answer *a)
{
  const uu_vendor *v = c->v;
  if (v->err_obj == NULL)
    return 0;
  if (v->err_obj[0] != '\0')
    return has_quoted(a, v->err_obj);
  return has_quoted(a, v->err_code) || has_quoted(a, v->err_msg);
}

/* Before the policy's verdict on a: a 2xx whose body is the vendor's
** error envelope (inside a 2xx no vendor documents one, but some send
** it) gets env_status, so it is retried or not by the status it stands
** for, and is never a success. */
void uu_envelope_note(uu_client *c, lua_State *L, uu_answer *a)
{
  char msg[128];
  a->env_status = 0;
  if (a->cc != CURLE_OK || a->overflow || a->status < 200 ||
      a->status >= 300 || a->len == 0 || !may_hold_envelope(c, a))
    return;
  if (uu_json_decode(L, a->body, a->len, MAX_DECODE_DEPTH, msg,
                     sizeof msg) != 0)
    return;
  a->env_status = envelope_status(L, c);
  lua_pop(L, 1);
}

/* ---- the answer -> user, err, info -------------------------------------- */

void uu_push_info(lua_State *L, const uu_answer *a)
{
  lua_createtable(L, 0, 4);
  if (a->status > 0) {
    lua_pushinteger(L, (lua_Integer)a->status);
    lua_setfield(L, -2, "status");
  }
  lua_pushinteger(L, a->attempts);
  lua_setfield(L, -2, "attempts");
  lua_pushnumber(L, a->elapsed);
  lua_setfield(L, -2, "elapsed");
  set_str(L, "request_id", a->request_id);
}

/* The answer of a call whose client one of its own callbacks (sleep, a
** Lua transport) closed: a transport failure that says so.  The secrets
** are gone with the client, so nothing from the wire may be shown now. */
void uu_closed_answer(uu_answer *a, uu_op op)
{
  memset(a, 0, sizeof *a);
  a->op = op;
  a->cc = CURLE_ABORTED_BY_CALLBACK;       /* never retryable */
  a->curl_msg = "the client was closed during the call";
  a->body = "";
}

/* nil, err, info.  msg comes from the wire or from curl, so it is
** redacted before it can reach the error object. */
static int push_failure(lua_State *L, uu_client *c, const uu_answer *a,
                        const char *kind, const char *code, const char *msg,
                        int retryable)
{
  lua_pushnil(L);
  uu_redact(c, L, msg, strlen(msg));       /* the vendor's words may echo */
  uu_redact_sent(c, L, a->sent, a->sent_len);    /* a record's password */
  uu_redact(c, L, code ? code : "", code ? strlen(code) : 0); /* a key */
  uu_redact_sent(c, L, a->sent, a->sent_len);
  uu_push_error(L, c->v, kind, NULL, a->status,
                code ? lua_tostring(L, -1) : NULL, a->request_id, retryable,
                lua_tostring(L, -2));
  lua_replace(L, -3);
  lua_pop(L, 1);
  uu_push_info(L, a);
  return 3;
}

static int transport_failure(lua_State *L, uu_client *c, const uu_answer *a)
{
  char msg[CURL_ERROR_SIZE + 96];
  if (a->overflow)
    snprintf(msg, sizeof msg, "answer larger than max_response (%lu bytes)",
             (unsigned long)c->max_response);
  else if (a->header_overflow)
    snprintf(msg, sizeof msg, "the answer's header section was too large "
             "(over %d KB)", UU_MAX_HEADERS / 1024);
  else
    snprintf(msg, sizeof msg, "%s%s%s", curl_easy_strerror(a->cc),
             a->curl_msg && a->curl_msg[0] ? ": " : "",
             a->curl_msg ? a->curl_msg : "");
  if (a->overflow)                       /* retryable: what was done */
    return push_failure(L, c, a, a->status >= 200 && a->status < 300
                        ? "decode" : uu_status_kind(a->status), NULL, msg,
                        uu_retryable(a));
  if (a->curl_msg != NULL && strlen(a->curl_msg) + 1 >= CURL_ERROR_SIZE) {
    uu_redact_cut(c, L, msg, strlen(msg), sizeof msg - 1, 1); /* was cut */
    snprintf(msg, sizeof msg, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  return push_failure(L, c, a, "transport", NULL, msg, uu_retryable(a));
}

/* The error object itself as text, when it is one ("response": {"error":
** "API key is invalid"}, "RestException": "Unauthorized"). */
static void envelope_text(lua_State *L, uu_client *c, const uu_answer *a,
                          char *out, size_t len)
{
  out[0] = '\0';
  if (c->v->err_obj == NULL || c->v->err_obj[0] == '\0')
    return;
  push_path(L, c->v->err_obj);
  if (lua_type(L, -1) == LUA_TTABLE)
    inner_text(L);
  if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER)
    redacted_copy(c, L, a, out, len);
  else
    lua_pop(L, 1);
}

/* A 2xx carrying the vendor's error envelope: never a success.  Its
** kind and retry come from the status the envelope stands for. */
static int error_in_2xx(lua_State *L, uu_client *c, uu_answer *a)
{
  char code[64], msg[512], text[600];
  int strict = !(c->v->flags & UU_V_ERR_IN_2XX);   /* FoF: documented */
  long status;
  vendor_error(L, c, a, code, sizeof code, msg, sizeof msg, strict);
  if (msg[0] == '\0' && code[0] == '\0')
    envelope_text(L, c, a, msg, sizeof msg);
  a->env_status = envelope_status(L, c);
  if (a->env_status == 0)
    a->env_status = 400;
  lua_pop(L, 1);
  snprintf(text, sizeof text, "%s (an error inside an HTTP %ld answer)",
           msg[0] ? msg : code[0] ? code : "the vendor's error envelope",
           a->status);
  status = a->status;
  a->status = a->env_status;               /* err.status: what it means */
  push_failure(L, c, a, uu_status_kind(a->env_status), code, text,
               uu_retryable(a));
  lua_pushinteger(L, (lua_Integer)status); /* info.status: the HTTP one */
  lua_setfield(L, -2, "status");
  return 3;
}

/* A 2xx: the user inside the vendor's envelope, unless the body is the
** vendor's error (Forms On Fire documents errors in a 200; others may
** send them so too). */
static int success(lua_State *L, uu_client *c, const uu_answer *a)
{
  char msg[512];
  const char *path = a->op == UU_OP_GET ? c->v->get_ok_path : c->v->ok_path;
  uu_answer e = *a;
  if (envelope_present(L, c))
    return error_in_2xx(L, c, &e);
  push_path(L, path);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 2);
    snprintf(msg, sizeof msg, "answer has no %s object", path ? path
             : "user");
    return push_failure(L, c, a, "decode", NULL, msg, 0);
  }
  lua_remove(L, -2);                               /* the envelope */
  lua_pushnil(L);
  uu_push_info(L, a);
  return 3;
}

/* The request id, from a header or the vendor's body key (QuestionPro
** requestID), decoded body on top. */
static void body_request_id(lua_State *L, uu_client *c, uu_answer *a,
                            char *buf, size_t len)
{
  if (c->v->request_id_key == NULL || !lua_istable(L, -1))
    return;
  field_text(c, L, a, c->v->request_id_key, buf, len);
  if (buf[0] != '\0')
    a->request_id = buf;
}

/* A request id from a header, redacted into buf.  The slot keeps 95 bytes
** of it: one that long may have been cut, so a tail that begins a secret
** is hidden too. */
static void header_request_id(lua_State *L, uu_client *c, uu_answer *a,
                              char *buf, size_t len)
{
  size_t n;
  if (a->request_id == NULL)
    return;
  n = strlen(a->request_id);
  uu_redact_cut(c, L, a->request_id, n, len - 1,
                n + 1 >= sizeof c->sync.heard.request_id);
  uu_redact_sent(c, L, a->sent, a->sent_len);
  memcpy(buf, lua_tostring(L, -1), uu_rawlen(L, -1) + 1);
  lua_pop(L, 1);
  a->request_id = buf;
}

int uu_push_answer(lua_State *L, uu_client *c, const uu_answer *a0)
{
  uu_answer a = *a0;
  char code[64], msg[512], rid[96], hrid[96];
  int decoded = 0;
  header_request_id(L, c, &a, hrid, sizeof hrid);
  if (a.refused != NULL)                   /* never sent: nothing to retry */
    return push_failure(L, c, &a, "rate_limited", NULL, a.refused, 0);
  if (a.cc != CURLE_OK || a.overflow)
    return transport_failure(L, c, &a);
  if (a.len > 0) {
    decoded = uu_json_decode(L, a.body, a.len, MAX_DECODE_DEPTH, msg,
                             sizeof msg) == 0;
    if (decoded)
      body_request_id(L, c, &a, rid, sizeof rid);
  }
  if (a.status >= 200 && a.status < 300) {
    if (a.len == 0 && a.status == 204) {
      lua_newtable(L);
      lua_pushnil(L);
      uu_push_info(L, &a);
      return 3;
    }
    if (!decoded)
      return push_failure(L, c, &a, "decode", NULL, a.len == 0
                          ? "empty answer" : "answer is not JSON", 0);
    return success(L, c, &a);
  }
  if (decoded) {
    vendor_error(L, c, &a, code, sizeof code, msg, sizeof msg, 0);
    lua_pop(L, 1);
  } else {
    code[0] = msg[0] = '\0';
  }
  if (msg[0] == '\0')
    snprintf(msg, sizeof msg, "HTTP %ld", a.status);
  return push_failure(L, c, &a, uu_status_kind(a.status), code, msg,
                      uu_retryable(&a));
}

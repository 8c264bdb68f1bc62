/*
** fuzz_common.h: what the libFuzzer targets share.  Each target is one
** C file with LLVMFuzzerTestOneInput, linked with the module's sources and
** Debian's static Lua 5.4 (liblua5.4.a), so it hosts its own lua_State.
**
** A broken contract is reported with fz_fail, which prints the reason and
** aborts: libFuzzer then saves the input as crash-<sha1>.
*/
#ifndef UU_FUZZ_COMMON_H
#define UU_FUZZ_COMMON_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

static void fz_fail(const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((noreturn, format(printf, 1, 2)))
#endif
  ;

static void fz_fail(const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "\n*** fuzz contract broken: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
  abort();
}

/*
** FUZZ_KNOWN="tag,tag": contract breaks already reported, tolerated so a
** long exploring run can look past them.  Unset (CI, fuzz/run's default),
** every break fails.  The tags are named where each check is made.
*/
static int fz_known(const char *tag)
{
  const char *k = getenv("FUZZ_KNOWN"), *p;
  size_t n = strlen(tag);
  for (p = k; p != NULL && (p = strstr(p, tag)) != NULL; p += n)
    if ((p == k || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
      return 1;
  return 0;
}

/*
** Whether credential sec shows in s as a whole token.  The module redacts
** whole tokens only (src/wire/request.c: a secret inside a longer word is left,
** so a password "p" does not garble "application"), so an occurrence
** glued to letters or digits on the side where the secret has one is not
** counted.
*/
static int fz_word(int c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c >= 0x80;
}

static int fz_shows(const char *s, const char *sec)
{
  size_t n = strlen(sec);
  const char *p;
  for (p = s; s != NULL && (p = strstr(p, sec)) != NULL; p++) {
    int before = p > s ? (unsigned char)p[-1] : 0;
    int after = (unsigned char)p[n];
    if ((fz_word(before) && fz_word((unsigned char)sec[0])) ||
        (fz_word(after) && fz_word((unsigned char)sec[n - 1])))
      continue;
    return 1;
  }
  return 0;
}

/* ---- reading the input ---------------------------------------------- */

/* A cursor over the fuzz input; reads past the end give zeros. */
typedef struct fz_in {
  const uint8_t *p;
  size_t n;
} fz_in;

static uint8_t fz_u8(fz_in *in)
{
  uint8_t v = 0;
  if (in->n > 0) {
    v = in->p[0];
    in->p++, in->n--;
  }
  return v;
}

static uint16_t fz_u16(fz_in *in)
{
  uint16_t hi = fz_u8(in);
  return (uint16_t)((hi << 8) | fz_u8(in));
}

static uint64_t fz_u64(fz_in *in)
{
  uint64_t v = 0;
  int i;
  for (i = 0; i < 8; i++)
    v = (v << 8) | fz_u8(in);
  return v;
}

static double fz_double(fz_in *in)
{
  uint64_t u = fz_u64(in);
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

/* Up to max bytes (as many as are left); *len gets the count. */
static const char *fz_bytes(fz_in *in, size_t max, size_t *len)
{
  const char *s = (const char *)in->p;
  *len = max < in->n ? max : in->n;
  in->p += *len, in->n -= *len;
  return s;
}

/* ---- comparing Lua values ------------------------------------------- */

/*
** Deep equality of two decoded JSON values: same types, numbers equal by
** value (5.4 compares an integer and a float exactly), strings byte-equal,
** tables with the same keys and equal values.  The null sentinel is a light
** userdata NULL, so rawequal covers it.
*/
static int fz_equal(lua_State *L, int a, int b)
{
  int ok = 1;
  a = lua_absindex(L, a);
  b = lua_absindex(L, b);
  if (lua_type(L, a) != lua_type(L, b))
    return 0;
  if (lua_type(L, a) != LUA_TTABLE)
    return lua_rawequal(L, a, b);
  luaL_checkstack(L, 4, "fz_equal");
  lua_pushnil(L);
  while (ok && lua_next(L, a)) {                   /* key, va */
    lua_pushvalue(L, -2);
    lua_rawget(L, b);                              /* key, va, vb */
    ok = !lua_isnil(L, -1) && fz_equal(L, -2, -1);
    lua_pop(L, 2);                                 /* key */
  }
  if (!ok) {
    lua_pop(L, 1);
    return 0;
  }
  lua_pushnil(L);
  while (lua_next(L, b)) {                         /* every key of b in a */
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawget(L, a);
    ok = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (!ok) {
      lua_pop(L, 1);
      return 0;
    }
  }
  return 1;
}

/*
** The states' allocator never resizes in place: every realloc moves the
** block and frees the old one (ASan then poisons it).  Code that keeps a
** pointer into a Lua stack or buffer across a reallocation then goes wrong
** every time, not only when the C library happened to move the block.
** (Lua 5.4.4's lua_settop is such code when it closes a to-be-closed slot:
** see fuzz/repro/README.)
*/
static void *fz_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
  void *p;
  (void)ud;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  if ((p = malloc(nsize)) == NULL)
    return NULL;
  if (ptr != NULL) {
    memcpy(p, ptr, osize < nsize ? osize : nsize);
    free(ptr);
  }
  return p;
}

static int fz_panic(lua_State *L)
{
  fz_fail("Lua panic: %s", lua_tostring(L, -1) ? lua_tostring(L, -1)
                                               : "(no message)");
  return 0;
}

/* A state on fz_alloc; the targets that need no library skip openlibs. */
static lua_State *fz_newstate(int libs)
{
  lua_State *L = lua_newstate(fz_alloc, NULL);
  if (L == NULL)
    fz_fail("lua_newstate failed");
  lua_atpanic(L, fz_panic);
  if (libs)
    luaL_openlibs(L);
  return L;
}

/* The five clients both Lua-hosting targets build, and the credential
** markers that must never show in anything they return. */
static const char *const secrets[] = {
  "Pw-SM-4417", "Key-TI-9051", "Tok-BB-3380", "Ik-FF-7262", "Key-QP-1848",
  NULL};

static const char *const clients_chunk =
  "local u = require 'userupd'\n"
  "return {\n"
  "  u.smartermeasure{ username = 'sm-user', password = 'Pw-SM-4417' },\n"
  "  u.thoughtindustries{ subdomain = 'acme', api_key = 'Key-TI-9051' },\n"
  "  u.blackbaud{ school = 'acme', token = 'Tok-BB-3380' },\n"
  "  u.formsonfire{ company_id = 12345, integration_key = 'Ik-FF-7262' },\n"
  "  u.questionpro{ api_key = 'Key-QP-1848' },\n"
  "}\n";

#endif

/*
** fuzz_json_decoder: random bytes through uu_json_decode.
**
** The first byte picks the depth limit from the ones the module uses
** (16 for a login answer, 256 for vendor answers, 512 for json_decode);
** the rest is the text.  Contract checked:
**   - no crash, no leak, no UBSan report (the sanitizers);
**   - a refusal leaves the Lua stack as it was and a message that ends in
**     "at offset N" with N within the text;
**   - an acceptance pushes exactly one value; writing it back with
**     uu_json_value (same depth limit) succeeds, and decoding that text
**     gives an equal value (fz_equal);
**   - the written form is canonical: writing the second value again gives
**     the same bytes.
*/
#include "fuzz_common.h"
#include "../src/json/json.h"

static const int depths[] = {16, 256, 512};

static void check_refusal(lua_State *L, int top, const char *msg,
                          size_t size)
{
  const char *at = strstr(msg, " at offset ");
  char *end;
  unsigned long off;
  /* known "settop-uaf": Lua 5.4.4's lua_settop, closing the luaL_Buffer
     box json_decode.c abandons, leaves L->top in the freed stack */
  if (lua_gettop(L) != top) {
    if (fz_known("settop-uaf"))
      return;
    fz_fail("refused with the stack at %d, not %d (L->top left outside "
            "the stack)", lua_gettop(L), top);
  }
  if (at == NULL)
    fz_fail("refused without an offset: '%s'", msg);
  off = strtoul(at + 11, &end, 10);
  if (*end != '\0' || off > size)
    fz_fail("refused with offset %lu of %lu: '%s'", off,
            (unsigned long)size, msg);
}

/* Value on top -> text in b; fails the run if the writer refuses it. */
static void rewrite(lua_State *L, uu_buf *b, int depth, const char *what)
{
  uu_jerr err;
  int rc;
  b->n = 0;
  rc = uu_json_value(L, -1, b, depth, (size_t)-1, (size_t)-1, &err);
  if (rc != UU_JOK)
    fz_fail("%s: uu_json_value refused a decoded value: %s at '%s'", what,
            uu_json_strerror(rc), err.path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  lua_State *L;
  uu_buf b1 = {NULL, 0, 0}, b2 = {NULL, 0, 0};
  char msg[128];
  int depth, top;
  if (size == 0)
    return 0;
  depth = depths[data[0] % 3];
  data++, size--;
  L = fz_newstate(0);
  top = lua_gettop(L);
  if (uu_json_decode(L, (const char *)data, size, depth, msg,
                     sizeof msg) != 0) {
    check_refusal(L, top, msg, size);
    if (lua_gettop(L) == top)       /* a broken state is not closed */
      lua_close(L);
    return 0;
  }
  if (lua_gettop(L) != top + 1)
    fz_fail("accepted with %d values pushed", lua_gettop(L) - top);
  rewrite(L, &b1, depth, "first");
  if (uu_json_decode(L, b1.p, b1.n, depth, msg, sizeof msg) != 0)
    fz_fail("written text does not decode: %s\n%s", msg, b1.p);
  if (!fz_equal(L, -2, -1))
    fz_fail("decoded value changed through write+decode\n%s", b1.p);
  rewrite(L, &b2, depth, "second");
  if (b1.n != b2.n || memcmp(b1.p, b2.p, b1.n) != 0)
    fz_fail("writing is not canonical:\n%s\n%s", b1.p, b2.p);
  uu_buf_free(&b1);
  uu_buf_free(&b2);
  lua_close(L);
  return 0;
}

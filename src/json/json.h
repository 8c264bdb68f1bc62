/*
** json.h: JSON text for userupd.  A growable byte buffer (json_buf.c), an
** exact writer (json_write.c: strings, integers, doubles, any Lua value)
** and a strict RFC 8259 decoder (json_decode.c) that keeps integers
** integers; json_lua.c exposes them to scripts.  Debian's lua-cjson 2.1.0 rounds integers
** to 14 digits, cannot write [] and decodes 42 as 42.0 on 5.3+, hence ours.
*/
#ifndef UU_JSON_H
#define UU_JSON_H

#include <stddef.h>
#include <lua.h>

/*
** Byte buffer, malloc/realloc-owned; p may be NULL while cap == 0.
** Invariant: when cap > 0, n < cap and p[n] == '\0', so p is a C string.
*/
typedef struct uu_buf { char *p; size_t n, cap; } uu_buf;

/* Ensure cap >= n + extra + 1; 0 ok, -1 out of memory (b unchanged). */
int uu_buf_reserve(uu_buf *b, size_t extra);
/* Append len bytes; 0 ok, -1 out of memory (b unchanged). */
int uu_buf_add(uu_buf *b, const char *s, size_t len);
/* Free and zero; idempotent. */
void uu_buf_free(uu_buf *b);

/* Append one byte; 0 ok, -1 out of memory.  Inline: the writer's hot path. */
static inline int uu_buf_addc(uu_buf *b, char c)
{
  /* Room for c and the NUL: cap - n >= 2 (also false while cap == 0). */
  if (b->cap - b->n < 2 && uu_buf_reserve(b, 1) != 0)
    return -1;
  b->p[b->n++] = c;
  b->p[b->n] = '\0';
  return 0;
}

/* Error codes shared by the writer and the decoder. */
enum {
  UU_JOK = 0,
  UU_JNOMEM,   /* out of memory */
  UU_JUTF8,    /* invalid UTF-8 in a string or key */
  UU_JNUMBER,  /* NaN/inf or out of range */
  UU_JTYPE,    /* function, userdata (not null), thread */
  UU_JDEPTH,   /* tables nested deeper than maxdepth */
  UU_JCYCLE,   /* a table contains itself */
  UU_JKEY,     /* a key neither a string nor a positive integer */
  UU_JLONG,    /* string or key longer than maxstr */
  UU_JSPARSE,  /* array with holes, or integer and string keys mixed */
  UU_JBIG      /* the output would pass maxbytes */
};

/* Short English text for a UU_J* code ("invalid UTF-8", ...). */
const char *uu_json_strerror(int code);

/*
** n if s[0..n) is valid UTF-8 (shortest form, no surrogates, <= U+10FFFF),
** else the offset of the first byte of the first invalid sequence.
*/
size_t uu_utf8_check(const char *s, size_t n);
/* Length of the valid multi-byte sequence at s (s[0] >= 0x80, n bytes
** left), or 0; for the writer's and decoder's own loops. */
size_t uu_utf8_seq(const unsigned char *s, size_t n);
/* 1 for bytes a JSON string carries as they are: ASCII >= 0x20 but '"'
** and '\\'. */
extern const unsigned char uu_json_plain[256];

/* Writers: append to b, return UU_JOK or a UU_J* code. */
/* Quoted and escaped ('"', '\\', bytes < 0x20; '/' kept); UU_JUTF8. */
int uu_json_string(uu_buf *b, const char *s, size_t n);
/* Exact decimal, LLONG_MIN included. */
int uu_json_integer(uu_buf *b, long long v);
/* Shortest of %.15g/%.16g/%.17g that reads back equal, '.' in any locale;
   NaN/inf -> UU_JNUMBER; -0.0 -> "-0". */
int uu_json_number(uu_buf *b, double d);

/*
** Generic Lua value at idx -> JSON, for free-form fields (customFields).
** Tables: keys exactly 1..n -> array; all keys strings -> object, keys
** sorted bytewise (same table, same bytes); empty -> {}; holes or mixed
** keys -> UU_JSPARSE; other keys -> UU_JKEY.  Integers exact (5.1/LuaJIT:
** integral doubles with |v| <= 2^53); nil and the null sentinel (light
** userdata NULL, cjson.null) -> null.  Strings over maxstr bytes -> UU_JLONG,
** nesting over maxdepth tables -> UU_JDEPTH, a table inside itself ->
** UU_JCYCLE, output past maxbytes in b (checked before each value, so a
** table of shared subtables stops early instead of growing to gigabytes)
** -> UU_JBIG.  On error err->path says where, relative to the value:
** a.b[3].c (Lua indexes, 1-based; odd keys as ["x y"]), at most 127 bytes;
** b then holds unspecified bytes.  Raw access only (no metamethods); uses
** only the Lua stack and b, so a Lua error (out of memory) leaks nothing.
** The stack is left as it was.
*/
typedef struct uu_jerr { int code; char path[128]; } uu_jerr;
int uu_json_value(lua_State *L, int idx, uu_buf *b, int maxdepth,
                  size_t maxstr, size_t maxbytes, uu_jerr *err);

/* Pushes a list of the string keys of the table at t, sorted bytewise as
** the writer sorts objects: their count; -1 (an empty list pushed) on a
** key that is no string, unless skip: then it is left out. */
int uu_json_sorted_keys(lua_State *L, int t, int skip);

/*
** Strict RFC 8259 text -> one Lua value pushed: objects and arrays ->
** tables, null -> the null sentinel, integers that fit lua_Integer ->
** integers (5.1/LuaJIT: doubles), "-0" and other numbers -> doubles
** (locale-independent; overflow to inf is an error).  Returns 0, or -1
** with nothing pushed and msg set to e.g. "unexpected character 'x' at
** offset 17" (0-based byte offset).  Raises only on out of memory.
*/
int uu_json_decode(lua_State *L, const char *s, size_t n, int maxdepth,
                   char *msg, size_t msglen);

/* json_lua.c: set json_encode and json_decode in the table on top. */
void uu_json_open(lua_State *L);

#endif

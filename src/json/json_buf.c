/*
** json_buf.c: the byte buffer every JSON text and request lives in, the
** UU_J* error texts and the UTF-8 check the writer and decoder share
** (json.h).  The only file here that mallocs.
*/
#include <stdlib.h>
#include <string.h>

#include "base/compat.h"
#include "json/json.h"

/* ---------------------------------------------------------------- buffer */

int uu_buf_reserve(uu_buf *b, size_t extra)
{
  size_t need, cap;
  char *p;
  if (extra > (size_t)-1 - b->n - 1)
    return -1;
  need = b->n + extra + 1;  /* + 1 for the NUL */
  if (need <= b->cap)
    return 0;
  cap = b->cap < 64 ? 64 : b->cap;
  while (cap < need)
    cap = cap > (size_t)-1 / 2 ? need : cap * 2;
  p = (char *)realloc(b->p, cap);
  if (p == NULL)
    return -1;  /* realloc left the old block as it was */
  b->p = p;
  b->cap = cap;
  b->p[b->n] = '\0';  /* a fresh buffer is a C string at once */
  return 0;
}

int uu_buf_add(uu_buf *b, const char *s, size_t len)
{
  if (b->cap - b->n <= len && uu_buf_reserve(b, len) != 0)
    return -1;
  if (len > 0)  /* s may be NULL when len is 0 */
    memcpy(b->p + b->n, s, len);
  b->n += len;
  b->p[b->n] = '\0';
  return 0;
}

void uu_buf_free(uu_buf *b)
{
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}

const char *uu_json_strerror(int code)
{
  switch (code) {
  case UU_JOK: return "no error";
  case UU_JNOMEM: return "out of memory";
  case UU_JUTF8: return "invalid UTF-8";
  case UU_JNUMBER: return "number is NaN, infinite or out of range";
  case UU_JTYPE: return "cannot encode a function, userdata or thread";
  case UU_JDEPTH: return "tables nested too deeply";
  case UU_JCYCLE: return "table contains itself";
  case UU_JKEY: return "key is neither a string nor a positive integer";
  case UU_JLONG: return "string too long";
  case UU_JSPARSE: return "table is a sparse array or mixes array and "
                          "string keys";
  case UU_JBIG: return "the JSON would be larger than the limit";
  default: return "unknown error";
  }
}

/* ------------------------------------------------------- string bytes */

/* 1 for bytes a string carries as they are: ASCII >= 0x20 but '"', '\\'. */
#define R0 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define R1 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
const unsigned char uu_json_plain[256] = {
  R0, R0,
  1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,  /* 0x22 '"' */
  R1, R1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,  /* 0x5C '\\' */
  R1, R1,
  R0, R0, R0, R0, R0, R0, R0, R0
};
#undef R0
#undef R1

/* ------------------------------------------------------------------ UTF-8 */

/*
** Length of the valid multi-byte sequence at s (s[0] >= 0x80, n bytes
** left), or 0.  Narrowing the second byte's range is what rejects
** overlongs (E0, F0), surrogates (ED) and code points above U+10FFFF (F4);
** C0, C1 and F5..FF never start a sequence.
*/
size_t uu_utf8_seq(const unsigned char *s, size_t n)
{
  unsigned char c = s[0], lo = 0x80, hi = 0xBF;
  size_t len;
  if (c >= 0xC2 && c <= 0xDF)
    len = 2;
  else if (c >= 0xE0 && c <= 0xEF)
    len = 3;
  else if (c >= 0xF0 && c <= 0xF4)
    len = 4;
  else
    return 0;
  if (c == 0xE0)
    lo = 0xA0;
  else if (c == 0xED)
    hi = 0x9F;
  else if (c == 0xF0)
    lo = 0x90;
  else if (c == 0xF4)
    hi = 0x8F;
  if (n < len || s[1] < lo || s[1] > hi)
    return 0;
  if (len > 2 && (s[2] & 0xC0) != 0x80)
    return 0;
  if (len > 3 && (s[3] & 0xC0) != 0x80)
    return 0;
  return len;
}

size_t uu_utf8_check(const char *s, size_t n)
{
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, len;
  while (i < n) {
    if (u[i] < 0x80) {
      i++;
      continue;
    }
    len = uu_utf8_seq(u + i, n - i);
    if (len == 0)
      return i;
    i += len;
  }
  return n;
}

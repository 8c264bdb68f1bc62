/*
** encode.c: byte encodings for the wire: percent-encoding for URLs,
** base64 for Basic credentials.
*/
#include "userupd.h"

/* RFC 3986 unreserved characters pass; everything else is %XX.  Ids and
** query values go through here, so "../x" can never change the path. */
int uu_percent_encode(uu_buf *b, const char *s, size_t n)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t i;
  unsigned char ch;
  char esc[3];
  if (uu_buf_reserve(b, n) != 0)
    return -1;
  for (i = 0; i < n; i++) {
    ch = (unsigned char)s[i];
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
        (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
        ch == '~') {
      if (uu_buf_addc(b, (char)ch) != 0)
        return -1;
      continue;
    }
    esc[0] = '%';
    esc[1] = hex[ch >> 4];
    esc[2] = hex[ch & 15];
    if (uu_buf_add(b, esc, 3) != 0)
      return -1;
  }
  return 0;
}

/* Appends the base64 of s; -1 when out of memory. */
int uu_base64(uu_buf *out, const char *s, size_t n)
{
  size_t start = out->n;
  static const char tab[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i;
  unsigned long v;
  for (i = 0; i < n; i += 3) {
    v = (unsigned long)(unsigned char)s[i] << 16;
    if (i + 1 < n) v |= (unsigned long)(unsigned char)s[i + 1] << 8;
    if (i + 2 < n) v |= (unsigned char)s[i + 2];
    uu_buf_addc(out, tab[(v >> 18) & 63]);
    uu_buf_addc(out, tab[(v >> 12) & 63]);
    uu_buf_addc(out, i + 1 < n ? tab[(v >> 6) & 63] : '=');
    uu_buf_addc(out, i + 2 < n ? tab[v & 63] : '=');
  }
  return out->n - start == (n + 2) / 3 * 4 ? 0 : -1; /* an add failed */
}

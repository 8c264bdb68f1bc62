/*
** format.c: the format checks a field's value or an id must pass (UUID,
** GUID, Salesforce id, ISO 8601 date, enum choices), the safe echo of a
** bad value, and the bad-record message every check fills (marshal.h).
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "wire/marshal.h"

int uu_bad_at(uu_bad *bad, const char *field, const char *fmt, ...)
{
  va_list ap;
  snprintf(bad->field, sizeof bad->field, "%s", field);
  va_start(ap, fmt);
  vsnprintf(bad->msg, sizeof bad->msg, fmt, ap);
  va_end(ap);
  return -1;
}

int uu_bad_nomem(uu_bad *bad, const char *field)
{
  return uu_bad_at(bad, field, "%s: out of memory", field);
}

static int is_hex(int c)
{
  return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'f');
}

/* 8-4-4-4-12 hex digits. */
int uu_is_uuid(const char *s, size_t n)
{
  size_t i;
  if (n != 36)
    return 0;
  for (i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-')
        return 0;
    } else if (!is_hex((unsigned char)s[i]))
      return 0;
  }
  return 1;
}

/* 32 hex digits, or the same with dashes in the 8-4-4-4-12 places. */
int uu_is_guid(const char *s, size_t n)
{
  size_t i;
  if (n == 36)
    return uu_is_uuid(s, n);
  if (n != 32)
    return 0;
  for (i = 0; i < 32; i++)
    if (!is_hex((unsigned char)s[i]))
      return 0;
  return 1;
}

/* A Salesforce record id: 15 case-sensitive or 18 case-safe characters
** from [A-Za-z0-9] (0031U00001abcdeQAA).  The seed types sfContactId and
** sfAccountId as uuid, which no Salesforce id is, so both are taken. */
int uu_is_sfid(const char *s, size_t n)
{
  size_t i;
  if (n != 15 && n != 18)
    return 0;
  for (i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
          (s[i] >= 'A' && s[i] <= 'Z')))
      return 0;
  return 1;
}

static int num(const char *s, int n)
{
  int i, v = 0;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* YYYY-MM-DD that names a real day. */
static int valid_ymd(const char *s)
{
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int y = num(s, 4), m = num(s + 5, 2), d = num(s + 8, 2);
  if (y < 0 || s[4] != '-' || s[7] != '-' || m < 1 || m > 12 || d < 1 ||
      d > mdays[m - 1])
    return 0;
  return !(m == 2 && d == 29 && (y % 4 != 0 || (y % 100 == 0 && y % 400)));
}

/* "Z", "+HH:MM" or "-HH:MM", or nothing. */
static int valid_zone(const char *s, size_t n)
{
  if (n == 0 || (n == 1 && s[0] == 'Z'))
    return 1;
  return n == 6 && (s[0] == '+' || s[0] == '-') && num(s + 1, 2) >= 0 &&
         num(s + 1, 2) < 24 && s[3] == ':' && num(s + 4, 2) >= 0 &&
         num(s + 4, 2) < 60;
}

/* YYYY-MM-DD, or that plus THH:MM[:SS[.fff]] and a zone (ISO 8601). */
int uu_is_date(const char *s, size_t n)
{
  size_t i = 16;
  if (n < 10 || !valid_ymd(s))
    return 0;
  if (n == 10)
    return 1;
  if (n < 16 || s[10] != 'T' || num(s + 11, 2) < 0 || num(s + 11, 2) > 23 ||
      s[13] != ':' || num(s + 14, 2) < 0 || num(s + 14, 2) > 59)
    return 0;
  if (i < n && s[i] == ':') {
    if (n < 19 || num(s + 17, 2) < 0 || num(s + 17, 2) > 60)
      return 0;
    i = 19;
    if (i < n && s[i] == '.') {
      for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        ;
      if (i == 20)
        return 0;
    }
  }
  return valid_zone(s + i, n - i);
}

/* "M" in "M|F": the one membership test for enums and option choices. */
int uu_in_set(const char *set, const char *s, size_t n)
{
  const char *p = set, *bar;
  for (;;) {
    bar = strchr(p, '|');
    if ((size_t)((bar ? bar : p + strlen(p)) - p) == n &&
        memcmp(p, s, n) == 0)
      return 1;
    if (bar == NULL)
      return 0;
    p = bar + 1;
  }
}

/* The first max bytes of s, printable ASCII only (others as '?'), and
** "..." when s is longer: never a silent cut. */
const char *uu_cut(const char *s, size_t n, char *out, size_t outlen,
                       size_t max)
{
  size_t i, k = n > max ? max : n;
  for (i = 0; i < k && i + 4 < outlen; i++)
    out[i] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
  out[i] = '\0';
  if (i < n)
    strcat(out, "...");
  return out;
}

/* Short, safe echo of a bad value, quoted: never for secret fields. */
const char *uu_shown(const uu_field *f, const char *s, size_t n,
                         char *out, size_t outlen)
{
  if (f->flags & UU_SECRET)
    return "(hidden)";
  out[0] = '"';
  uu_cut(s, n, out + 1, outlen - 2, UU_SHOWN_MAX);
  strcat(out, "\"");
  return out;
}

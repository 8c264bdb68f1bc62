/*
** payload.c: the compact form of a kept payload (impl.h), in journals of
** schema 3.  Most of a payload's bytes are its field names: each
** '"Name":' of one of the vendor's fields becomes one byte.  The names are
** frozen in meta 'keys' when the journal is made (one per line, the
** vendor's fields in order), so a later release that adds a field cannot
** change what an old journal's bytes mean.
**
** Exact both ways: a payload holding any byte below 0x20 (JSON allows
** none unescaped) is stored as it is, as TEXT; the compact form is a BLOB
** in which every byte below 0x20 is a name.  Reading turns a BLOB back
** into the very bytes that were written; TEXT is read as it is (schema 2
** journals hold only TEXT).
*/
#include <stdlib.h>
#include <string.h>

#include "journal/impl.h"

/* The name bytes: 0x01 to 0x1f, except tab, line feed and return. */
static const unsigned char j_tok[J_NKEYS] = {
  1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23,
  24, 25, 26, 27, 28, 29, 30, 31};

/* The index of name byte c, -1 when c is none. */
static int tok_index(unsigned char c)
{
  int i;
  for (i = 0; i < J_NKEYS; i++)
    if (j_tok[i] == c)
      return i;
  return -1;
}

void uu_jkeys_free(uu_journal *j)
{
  free(j->keys);
  j->keys = NULL;
  j->nkeys = 0;
}

/* Builds '"Name":' for each line of text (n bytes) into j->keys; -1 out
** of memory. */
int uu_jkeys_load(uu_journal *j, const char *text, size_t n)
{
  const char *p = text, *end = text + n, *nl;
  char *q;
  uu_jkeys_free(j);
  if (n == 0)
    return 0;
  if ((j->keys = (char *)malloc(n + 4 * J_NKEYS + 4)) == NULL)
    return -1;
  q = j->keys;
  while (p < end && j->nkeys < J_NKEYS) {
    nl = (const char *)memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL)
      nl = end;
    j->kname[j->nkeys] = q;
    *q++ = '"';
    memcpy(q, p, (size_t)(nl - p));
    q += nl - p;
    *q++ = '"';
    *q++ = ':';
    j->keylen[j->nkeys] = (size_t)(q - j->kname[j->nkeys]);
    j->nkeys++;
    p = nl + 1;
  }
  return 0;
}

/* The name whose '"Name":' starts p (n bytes left), -1 when none. */
static int match(const uu_journal *j, const char *p, size_t n)
{
  int k;
  for (k = 0; k < j->nkeys; k++)
    if (j->keylen[k] <= n && memcmp(p, j->kname[k], j->keylen[k]) == 0)
      return k;
  return -1;
}

/* 1: out holds the compact form of p (n bytes); 0: keep p as it is (no
** names, or a byte below 0x20); -1: out of memory. */
int uu_jpayload_pack(const uu_journal *j, const char *p, size_t n,
                     uu_buf *out)
{
  size_t i = 0;
  int k;
  out->n = 0;
  if (j->nkeys == 0 || uu_buf_reserve(out, n) != 0)
    return j->nkeys == 0 ? 0 : -1;
  while (i < n) {
    if ((unsigned char)p[i] < 0x20)
      return 0;
    if (p[i] == '"' && (i == 0 || p[i - 1] == '{' || p[i - 1] == ',') &&
        (k = match(j, p + i, n - i)) >= 0) {
      out->p[out->n++] = (char)j_tok[k];
      i += j->keylen[k];
    } else
      out->p[out->n++] = p[i++];
  }
  out->p[out->n] = '\0';
  return 1;
}

/* The bytes of a stored payload (p, n) into out: a BLOB is unpacked, TEXT
** copied.  0 ok, -1 out of memory, -2 damaged (a byte names no field). */
int uu_jpayload_read(const uu_journal *j, const char *p, size_t n, int blob,
                     uu_buf *out)
{
  size_t i = 0, run;
  int k;
  out->n = 0;
  if (!blob)
    return uu_buf_add(out, p, n);
  while (i < n) {
    for (run = i; run < n && (unsigned char)p[run] >= 0x20; run++)
      ;
    if (uu_buf_add(out, p + i, run - i) != 0)
      return -1;
    if ((i = run) == n)
      break;
    k = tok_index((unsigned char)p[i++]);
    if (k < 0 || k >= j->nkeys)
      return -2;
    if (uu_buf_add(out, j->kname[k], j->keylen[k]) != 0)
      return -1;
  }
  return out->cap > 0 ? 0 : uu_buf_reserve(out, 0);
}

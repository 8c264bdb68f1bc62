/*
** suggest.c: "did you mean" for misspelt names.  One rule for field names
** (marshal.c) and constructor options (client.c): the closest candidate by
** case-insensitive edit distance, if within a third of the name's length
** (at least 2).
*/
#include <string.h>
#include "userupd.h"

/* Case-insensitive edit distance, capped at 32 characters (longer names
** are never typos of ours). */
static int distance(const char *a, size_t la, const char *b)
{
  int row[33], i, j, prev, tmp, cost;
  size_t lb = strlen(b);
  if (la > 32 || lb > 32)
    return 99;
  for (j = 0; j <= (int)lb; j++)
    row[j] = j;
  for (i = 1; i <= (int)la; i++) {
    prev = row[0];
    row[0] = i;
    for (j = 1; j <= (int)lb; j++) {
      cost = (a[i - 1] | 32) == (b[j - 1] | 32) ? 0 : 1;
      tmp = row[j];
      row[j] = prev + cost;
      if (row[j - 1] + 1 < row[j]) row[j] = row[j - 1] + 1;
      if (tmp + 1 < row[j]) row[j] = tmp + 1;
      prev = tmp;
    }
  }
  return row[lb];
}

void uu_suggest_init(uu_suggest *sg, const char *s, size_t n)
{
  sg->s = s;
  sg->n = n;
  sg->best = NULL;
  sg->bestd = ((int)(n / 3) > 2 ? (int)(n / 3) : 2) + 1;
}

/* Offers one candidate; keeps it if it is the closest so far. */
void uu_suggest_try(uu_suggest *sg, const char *candidate)
{
  int d;
  if (candidate == NULL)
    return;
  d = distance(sg->s, sg->n, candidate);
  if (d < sg->bestd) {
    sg->bestd = d;
    sg->best = candidate;
  }
}

/*
** fnv.c: FNV-1a, 64 bits (base/hash.h): the journal's fingerprint of a
** payload that carries no secret.
*/
#include "base/hash.h"

uint64_t uu_hash(const char *s, size_t n)
{
  uint64_t h = 14695981039346656037ULL;
  size_t i;
  for (i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
  return h ? h : 1;                    /* 0 means "no payload" */
}

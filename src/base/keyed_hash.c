/*
** keyed_hash.c: SipHash-2-4 (Aumasson and Bernstein, 2012), a keyed
** pseudo-random function with a 128-bit key and a 64-bit output.
**
** The journal keeps a hash of what it sent for each id, to skip a record
** whose payload has not changed.  For a record carrying a secret (a
** password) a plain hash would be a fingerprint anyone holding the journal
** could test guesses against, so those are hashed with a key made from the
** journal's random key and the client's credentials: without the
** credentials the stored value says nothing about the password.
*/
#include <stdint.h>
#include <string.h>
#include "base/hash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t read64(const unsigned char *p)
{
  uint64_t v = 0;
  int i;
  for (i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

static void rounds(uint64_t v[4], int n)
{
  while (n-- > 0) {
    v[0] += v[1]; v[1] = ROTL(v[1], 13); v[1] ^= v[0];
    v[0] = ROTL(v[0], 32);
    v[2] += v[3]; v[3] = ROTL(v[3], 16); v[3] ^= v[2];
    v[0] += v[3]; v[3] = ROTL(v[3], 21); v[3] ^= v[0];
    v[2] += v[1]; v[1] = ROTL(v[1], 17); v[1] ^= v[2];
    v[2] = ROTL(v[2], 32);
  }
}

static void absorb(uint64_t v[4], uint64_t m)
{
  v[3] ^= m;
  rounds(v, 2);
  v[0] ^= m;
}

uint64_t uu_siphash(const unsigned char key[16], const void *data, size_t n)
{
  const unsigned char *p = (const unsigned char *)data;
  uint64_t k0 = read64(key), k1 = read64(key + 8), v[4], last;
  unsigned char tail[8];
  size_t i;
  v[0] = k0 ^ 0x736f6d6570736575ULL;
  v[1] = k1 ^ 0x646f72616e646f6dULL;
  v[2] = k0 ^ 0x6c7967656e657261ULL;
  v[3] = k1 ^ 0x7465646279746573ULL;
  for (i = 0; i + 8 <= n; i += 8)
    absorb(v, read64(p + i));
  memset(tail, 0, sizeof tail);
  memcpy(tail, p + i, n - i);
  last = read64(tail) | ((uint64_t)(n & 0xff) << 56);
  absorb(v, last);
  v[2] ^= 0xff;
  rounds(v, 4);
  last = v[0] ^ v[1] ^ v[2] ^ v[3];
  return last ? last : 1;              /* 0 means "no payload" */
}

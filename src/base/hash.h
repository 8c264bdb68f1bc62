/*
** hash.h: the hashes every layer may use (base).  SHA-256 names shared
** budgets and journals by a digest of the credential, never the secret;
** SipHash-2-4 is the keyed hash for payloads that carry a secret (the
** journal compares the others byte for byte).
*/
#ifndef UU_HASH_H
#define UU_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct uu_sha256 {
  uint32_t h[8];           /* chaining state */
  uint64_t len;            /* bytes hashed so far */
  unsigned char buf[64];   /* the block being filled */
} uu_sha256;

void uu_sha256_init(uu_sha256 *c);
void uu_sha256_add(uu_sha256 *c, const void *data, size_t n);
void uu_sha256_end(uu_sha256 *c, unsigned char out[32]);

uint64_t uu_siphash(const unsigned char key[16], const void *data, size_t n);

#endif

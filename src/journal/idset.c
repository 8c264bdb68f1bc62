/*
** idset.c: the id set of idset.h.
**
** Three parts keep memory flat and each add a few hundred nanoseconds:
** - a Bloom filter (12 or more bits per id, 6 probes from one keyed
**   SipHash of the id under a random key) answers "certainly new" for
**   almost every new id without touching anything else;
** - the newest ids wait in a pending list (at most S_PEND ids or S_ARENA
**   bytes), which is sorted and written to the database in one go, so the
**   B-tree takes them in key order whatever order the input has;
** - the database is SQLite's own private temporary file (an empty file
**   name), deleted on close, with a 1 MiB page cache.  Nothing in it must
**   survive a crash: no rollback journal, no sync, one transaction that is
**   never committed.
** Only a Bloom hit (a duplicate, or about 1% false alarms) looks further,
** and then exactly: the pending list, then the database.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "base/hash.h"
#include "journal/idset.h"

#define S_BITS0 (1u << 20)    /* first Bloom filter: 128 KiB */
#define S_BITS_MIN 1024       /* the smallest a caller may ask for */
#define S_BITS_PER_ID 12      /* grow the filter when ids pass bits/12 */
#define S_PROBES 6
#define S_PEND 8192           /* pending ids before a write */
#define S_ARENA (512 * 1024)  /* pending id bytes before a write */

typedef struct pending {
  const char *p;            /* the id's bytes, in the arena */
  size_t len;
  long line;                /* the input line it was first seen on */
} pending;

struct uu_idset {
  sqlite3 *db;
  sqlite3_stmt *add;        /* insert one id */
  sqlite3_stmt *get;        /* the line an id was first seen on */
  sqlite3_stmt *all;        /* every id, to rebuild a grown filter */
  unsigned char key[16];    /* random SipHash key of the filter */
  uint64_t *bloom;          /* the filter's bits */
  size_t bits;              /* its size in bits, a power of two */
  size_t count;             /* ids in the set */
  char *arena;              /* pending ids' bytes */
  size_t arena_len;
  pending *pend;            /* pending ids, pend_max slots */
  size_t npend;
  size_t pend_max;          /* pending ids before a write */
  char err[200];            /* the last failure */
};

static const char s_setup[] =
  "PRAGMA journal_mode = OFF;"
  "PRAGMA synchronous = OFF;"
  "PRAGMA cache_size = -1024;"
  "CREATE TABLE ids (id BLOB PRIMARY KEY NOT NULL, line INTEGER NOT NULL)"
  " WITHOUT ROWID;"
  "BEGIN;";

static int fail(uu_idset *s, const char *what)
{
  snprintf(s->err, sizeof s->err, "id set: %s",
           what != NULL ? what : sqlite3_errmsg(s->db));
  return -1;
}

static int prepare(uu_idset *s)
{
  int rc = sqlite3_exec(s->db, s_setup, NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(s->db, "INSERT INTO ids VALUES (?1, ?2)"
                            " ON CONFLICT DO NOTHING", -1, &s->add, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(s->db, "SELECT line FROM ids WHERE id = ?1",
                            -1, &s->get, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(s->db, "SELECT id FROM ids", -1, &s->all, NULL);
  return rc == SQLITE_OK ? 0 : fail(s, NULL);
}

/* The filter's first size, a power of two of at least S_BITS_MIN. */
static size_t first_bits(size_t want)
{
  size_t bits = S_BITS_MIN;
  while (bits < want && bits < ((size_t)1 << 40))
    bits *= 2;
  return bits;
}

int uu_idset_open(uu_idset **out, size_t bits, size_t pend_max, char *err,
                  size_t errlen)
{
  uu_idset *s = (uu_idset *)calloc(1, sizeof *s);
  *out = NULL;
  if (s == NULL) {
    snprintf(err, errlen, "id set: out of memory");
    return -1;
  }
  s->bits = first_bits(bits > 0 ? bits : S_BITS0);
  s->pend_max = pend_max > 0 && pend_max < S_PEND ? pend_max : S_PEND;
  s->bloom = (uint64_t *)calloc(s->bits / 64, sizeof *s->bloom);
  s->arena = (char *)malloc(S_ARENA);
  s->pend = (pending *)malloc(s->pend_max * sizeof *s->pend);
  if (s->bloom == NULL || s->arena == NULL || s->pend == NULL)
    fail(s, "out of memory");
  else if (sqlite3_open_v2("", &s->db, SQLITE_OPEN_READWRITE |
                           SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
    fail(s, s->db != NULL ? NULL : "out of memory");
  else if (prepare(s) == 0) {
    sqlite3_randomness((int)sizeof s->key, s->key);
    *out = s;
    return 0;
  }
  snprintf(err, errlen, "%s", s->err);
  uu_idset_close(s);
  return -1;
}

/* Tests (set = 0) or sets (set = 1) the filter's bits for hash h; the
** test is 1 when all were set. */
static int bloom(uu_idset *s, uint64_t h, int set)
{
  uint64_t a = h, b = (h >> 32) | 1, bit;
  int i, all = 1;
  for (i = 0; i < S_PROBES; i++) {
    bit = (a + (uint64_t)i * b) & (s->bits - 1);
    if (set)
      s->bloom[bit / 64] |= (uint64_t)1 << (bit % 64);
    else if (!(s->bloom[bit / 64] & ((uint64_t)1 << (bit % 64))))
      all = 0;
  }
  return all;
}

static int pend_cmp(const void *pa, const void *pb)
{
  const pending *a = (const pending *)pa, *b = (const pending *)pb;
  size_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->p, b->p, n);
  if (c != 0)
    return c;
  return a->len < b->len ? -1 : a->len > b->len;
}

/* Writes the pending ids, in key order, and empties the list. */
static int flush(uu_idset *s)
{
  size_t i;
  int rc = SQLITE_OK;
  qsort(s->pend, s->npend, sizeof *s->pend, pend_cmp);
  for (i = 0; i < s->npend && rc == SQLITE_OK; i++) {
    rc = sqlite3_bind_blob64(s->add, 1, s->pend[i].p,
                             (sqlite3_uint64)s->pend[i].len, SQLITE_STATIC);
    if (rc == SQLITE_OK)
      rc = sqlite3_bind_int64(s->add, 2, (sqlite3_int64)s->pend[i].line);
    if (rc == SQLITE_OK)
      rc = sqlite3_step(s->add) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    if (rc != SQLITE_OK)
      fail(s, NULL);
    sqlite3_reset(s->add);
  }
  s->npend = 0;
  s->arena_len = 0;
  return rc == SQLITE_OK ? 0 : -1;
}

/* A filter twice the size, rebuilt from every id (all written first). */
static int grow(uu_idset *s)
{
  size_t bits = s->bits * 2;
  uint64_t *b = (uint64_t *)calloc(bits / 64, sizeof *b);
  int rc;
  if (b == NULL)
    return fail(s, "out of memory");
  free(s->bloom);
  s->bloom = b;
  s->bits = bits;
  if (flush(s) != 0)
    return -1;
  while ((rc = sqlite3_step(s->all)) == SQLITE_ROW)
    bloom(s, uu_siphash(s->key, sqlite3_column_blob(s->all, 0),
                        (size_t)sqlite3_column_bytes(s->all, 0)), 1);
  if (rc != SQLITE_DONE)
    fail(s, NULL);
  sqlite3_reset(s->all);
  return rc == SQLITE_DONE ? 0 : -1;
}

/* After a Bloom hit: 1 and *first when id is in the set, 0 when not. */
static int find(uu_idset *s, const char *id, size_t n, long *first)
{
  size_t i;
  int rc;
  for (i = 0; i < s->npend; i++)
    if (s->pend[i].len == n && memcmp(s->pend[i].p, id, n) == 0) {
      *first = s->pend[i].line;
      return 1;
    }
  rc = sqlite3_bind_blob64(s->get, 1, id, (sqlite3_uint64)n, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(s->get);
  if (rc == SQLITE_ROW)
    *first = (long)sqlite3_column_int64(s->get, 0);
  else if (rc != SQLITE_DONE)
    fail(s, NULL);
  sqlite3_reset(s->get);
  return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int uu_idset_add(uu_idset *s, const char *id, size_t n, long line,
                 long *first)
{
  uint64_t h = uu_siphash(s->key, id, n);
  int rc;
  if (bloom(s, h, 0) && (rc = find(s, id, n, first)) != 0)
    return rc;
  if (n > S_ARENA)
    return fail(s, "id too long");
  if (s->npend == s->pend_max || s->arena_len + n > S_ARENA)
    if (flush(s) != 0)
      return -1;
  memcpy(s->arena + s->arena_len, id, n);
  s->pend[s->npend].p = s->arena + s->arena_len;
  s->pend[s->npend].len = n;
  s->pend[s->npend++].line = line;
  s->arena_len += n;
  bloom(s, h, 1);
  if (++s->count > s->bits / S_BITS_PER_ID)
    return grow(s);
  return 0;
}

const char *uu_idset_errmsg(uu_idset *s)
{
  return s->err;
}

void uu_idset_close(uu_idset *s)
{
  if (s == NULL)
    return;
  sqlite3_finalize(s->add);
  sqlite3_finalize(s->get);
  sqlite3_finalize(s->all);
  sqlite3_close_v2(s->db);     /* rolls back, deletes the temporary file */
  free(s->bloom);
  free(s->arena);
  free(s->pend);
  free(s);
}

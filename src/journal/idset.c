/*
** idset.c: the id set of idset.h.
**
** Three parts keep memory flat and an add at a hash and one cache line:
** - a blocked Bloom filter (16 or more bits per id; 7 probes inside one
**   64-byte block, from one SipHash of the id under a random key) answers
**   "certainly new" for almost every new id;
** - the newest ids wait in a pending list (S_PEND ids or S_ARENA bytes);
**   a full list is sorted by hash and written as one run to an unlinked
**   temporary file;
** - runs of equal size are merged, as a binary counter carries, so a set
**   of N ids has at most log2(N / S_PEND) + 1 runs and each id is copied
**   that many times, sequentially.  Memory keeps a sparse index of every
**   run: the hash and offset of one entry per S_BLOCK bytes.
** Only a Bloom hit (a duplicate, or a false alarm: about 0.1% of new ids)
** looks further, and then exactly, comparing the id's bytes: the pending
** list, then each run, read from the index mark before the hash.
*/
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE       /* glibc: fread_unlocked, fwrite_unlocked */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/hash.h"
#include "journal/idset.h"

#define S_BITS0 (1u << 20)    /* first Bloom filter: 128 KiB */
#define S_BITS_MIN 1024       /* the smallest a caller may ask for */
#define S_BITS_PER_ID 16      /* grow the filter when ids pass bits/16 */
#define S_PROBES 7            /* bits set per id, all in one block */
#define S_PEND 32768          /* pending ids before a write */
#define S_ARENA (1024 * 1024) /* pending id bytes before a write */
#define S_BLOCK 4096          /* run bytes per sparse index mark */
#define S_IOBUF (32 * 1024)   /* stdio buffer of a run file */
#define S_RUNS 64             /* more runs than 2^63 ids could need */

/* One thread owns a set (idset.h): its files need no stdio lock. */
#if defined(__GLIBC__)
#define S_READ fread_unlocked
#define S_WRITE fwrite_unlocked
#else
#define S_READ fread
#define S_WRITE fwrite
#endif

typedef struct pending {
  uint64_t h;               /* the id's hash */
  const char *p;            /* the id's bytes, in the arena */
  uint32_t len;             /* their count */
  uint32_t line;            /* the input line it was first seen on */
} pending;

typedef struct ehead {      /* an entry of a run file; the id follows */
  uint64_t h;               /* the id's hash: a run is sorted by it */
  uint32_t line;            /* the input line it was first seen on */
  uint32_t len;             /* the id's bytes after this header */
} ehead;

typedef struct mark {
  uint64_t h;               /* the hash of the entry at off */
  off_t off;                /* the first entry at or after a block start */
} mark;

typedef struct run {
  FILE *f;                  /* unlinked temporary file */
  char *vbuf;               /* f's stdio buffer, S_IOBUF bytes */
  off_t size;               /* bytes written to it */
  size_t units;             /* pending lists merged into it */
  mark *idx;                /* its sparse index, in file order */
  size_t nidx;              /* marks in idx */
  size_t cap;               /* marks allocated */
} run;

struct uu_idset {
  unsigned char key[16];    /* random SipHash key */
  uint64_t hmask;           /* hash bits kept: all but in tests */
  uint64_t *bloom;          /* the filter's bits, 64-byte aligned */
  size_t bits;              /* its size in bits, a power of two */
  size_t count;             /* ids in the set */
  char *arena;              /* pending ids' bytes */
  size_t arena_len;         /* arena bytes in use */
  pending *pend;            /* pending ids, pend_max slots */
  pending *spare;           /* pend_max more: the radix sort's other half */
  size_t npend;             /* pending ids */
  size_t pend_max;          /* pending ids before a write */
  run runs[S_RUNS];         /* oldest first; units decrease */
  int nruns;                /* runs in use */
  char *buf[2];             /* the two entries' ids a merge holds */
  size_t bufcap[2];         /* their sizes */
  int broken;               /* a grown filter missed ids: refuse adds */
  char err[200];            /* the last failure */
};

static int fail(uu_idset *s, const char *what)
{
  snprintf(s->err, sizeof s->err, "id set: %s", what);
  return -1;
}

/* A failure of the temporary files, with the system's reason. */
static int fail_io(uu_idset *s, const char *what)
{
  int e = errno;
  snprintf(s->err, sizeof s->err, "id set: %s its temporary file: %s",
           what, e != 0 ? strerror(e) : "unexpected end");
  return -1;
}

/* Opens run w on a new empty file in $TMPDIR (or /tmp), unlinked at
** once, with a stdio buffer of S_IOBUF bytes. */
static int open_tmp(uu_idset *s, run *w)
{
  const char *dir = getenv("TMPDIR");
  char *path;
  int fd;
  if (dir == NULL || *dir == '\0')
    dir = "/tmp";
  path = (char *)malloc(strlen(dir) + 32);
  w->vbuf = (char *)malloc(S_IOBUF);
  if (path == NULL || w->vbuf == NULL) {
    free(path);
    return fail(s, "out of memory");
  }
  sprintf(path, "%s/userupd-ids-XXXXXX", dir);
  fd = mkstemp(path);
  if (fd >= 0) {
    unlink(path);
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    if ((w->f = fdopen(fd, "w+b")) == NULL)
      close(fd);
  }
  free(path);
  if (w->f == NULL)
    return fail_io(s, "cannot create");
  setvbuf(w->f, w->vbuf, _IOFBF, S_IOBUF);
  return 0;
}

/* The filter's first size, a power of two of at least S_BITS_MIN. */
static size_t first_bits(size_t want)
{
  size_t bits = S_BITS_MIN;
  while (bits < want && bits < ((size_t)1 << 40))
    bits *= 2;
  return bits;
}

/* bits zeroed bits in 64-byte blocks, or NULL. */
static uint64_t *new_filter(size_t bits)
{
  void *p = NULL;
  if (posix_memalign(&p, 64, bits / 8) != 0)
    return NULL;
  memset(p, 0, bits / 8);
  return (uint64_t *)p;
}

/* Tests (set = 0) or sets (set = 1) the bits of hash h in its block; the
** test is 1 when all were set. */
static int bloom(uu_idset *s, uint64_t h, int set)
{
  uint64_t *blk = s->bloom + (size_t)(h & (s->bits / 512 - 1)) * 8;
  uint64_t g = h * UINT64_C(0x9E3779B97F4A7C15);
  unsigned a = (unsigned)(g >> 55), b = (unsigned)((g >> 46) & 511) | 1;
  unsigned bit;
  int i;
  for (i = 0; i < S_PROBES; i++) {
    bit = (a + (unsigned)i * b) & 511;
    if (set)
      blk[bit / 64] |= (uint64_t)1 << (bit % 64);
    else if (!(blk[bit / 64] & ((uint64_t)1 << (bit % 64))))
      return 0;
  }
  return 1;
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
  s->bloom = new_filter(s->bits);
  s->arena = (char *)malloc(S_ARENA);
  s->pend = (pending *)malloc(s->pend_max * sizeof *s->pend);
  s->spare = (pending *)malloc(s->pend_max * sizeof *s->spare);
  if (s->bloom == NULL || s->arena == NULL || s->pend == NULL ||
      s->spare == NULL) {
    snprintf(err, errlen, "id set: out of memory");
    uu_idset_close(s);
    return -1;
  }
  sqlite3_randomness((int)sizeof s->key, s->key);
  s->hmask = ~(uint64_t)0;
  *out = s;
  return 0;
}

/* ---- runs ---- */

static void run_free(run *w)
{
  if (w->f != NULL)
    fclose(w->f);
  free(w->vbuf);
  free(w->idx);
  memset(w, 0, sizeof *w);
}

/* Appends an entry to run w, marking it in the index when it is the
** first at or after a block start. */
static int run_put(uu_idset *s, run *w, const ehead *e, const char *p)
{
  mark *m;
  if ((off_t)w->nidx * S_BLOCK <= w->size) {
    if (w->nidx == w->cap) {
      m = (mark *)realloc(w->idx, (w->cap * 2 + 16) * sizeof *m);
      if (m == NULL)
        return fail(s, "out of memory");
      w->idx = m;
      w->cap = w->cap * 2 + 16;
    }
    w->idx[w->nidx].h = e->h;
    w->idx[w->nidx++].off = w->size;
  }
  if (S_WRITE(e, sizeof *e, 1, w->f) != 1 ||
      (e->len > 0 && S_WRITE(p, 1, e->len, w->f) != e->len))
    return fail_io(s, "cannot write");
  w->size += (off_t)(sizeof *e + e->len);
  return 0;
}

/* Reads the next entry of f, its id into s->buf[which]: 1 read, 0 at the
** end, -1 error. */
static int run_read(uu_idset *s, FILE *f, ehead *e, int which)
{
  char *b;
  errno = 0;
  if (S_READ(e, sizeof *e, 1, f) != 1)
    return feof(f) && !ferror(f) ? 0 : fail_io(s, "cannot read");
  if (e->len > s->bufcap[which]) {
    if ((b = (char *)realloc(s->buf[which], e->len)) == NULL)
      return fail(s, "out of memory");
    s->buf[which] = b;
    s->bufcap[which] = e->len;
  }
  if (e->len > 0 && S_READ(s->buf[which], 1, e->len, f) != e->len)
    return fail_io(s, "cannot read");
  return 1;
}

/* Merges the two newest runs into one. */
static int merge(uu_idset *s)
{
  run *a = &s->runs[s->nruns - 2], *b = &s->runs[s->nruns - 1], c;
  ehead ea, eb;
  int ha = -1, hb = -1, rc = 0;
  memset(&c, 0, sizeof c);
  if (open_tmp(s, &c) != 0) {
    run_free(&c);
    return -1;
  }
  errno = 0;
  if (fseeko(a->f, 0, SEEK_SET) == 0 && fseeko(b->f, 0, SEEK_SET) == 0) {
    ha = run_read(s, a->f, &ea, 0);
    hb = run_read(s, b->f, &eb, 1);
  } else
    rc = fail_io(s, "cannot read");
  while (rc == 0 && ha >= 0 && hb >= 0 && (ha || hb))
    if (ha && (!hb || ea.h <= eb.h)) {
      rc = run_put(s, &c, &ea, s->buf[0]);
      ha = run_read(s, a->f, &ea, 0);
    } else {
      rc = run_put(s, &c, &eb, s->buf[1]);
      hb = run_read(s, b->f, &eb, 1);
    }
  if (rc == 0 && (ha < 0 || hb < 0 || fflush(c.f) != 0))
    rc = ha < 0 || hb < 0 ? -1 : fail_io(s, "cannot write");
  if (rc != 0) {
    run_free(&c);
    return -1;
  }
  c.units = a->units + b->units;
  run_free(a);
  run_free(b);
  *a = c;
  s->nruns--;
  return 0;
}

/* Sorts the pending ids by hash: a radix sort, a byte a pass, from the
** lowest (a pass where every hash has the same byte is skipped). */
static void sort_pending(uu_idset *s)
{
  size_t count[256], at[256], i, n = s->npend;
  pending *t;
  unsigned shift;
  int d;
  for (shift = 0; shift < 64 && n > 1; shift += 8) {
    memset(count, 0, sizeof count);
    for (i = 0; i < n; i++)
      count[(s->pend[i].h >> shift) & 255]++;
    if (count[(s->pend[0].h >> shift) & 255] == n)
      continue;
    for (at[0] = 0, d = 1; d < 256; d++)
      at[d] = at[d - 1] + count[d - 1];
    for (i = 0; i < n; i++)
      s->spare[at[(s->pend[i].h >> shift) & 255]++] = s->pend[i];
    t = s->pend;
    s->pend = s->spare;
    s->spare = t;
  }
}

/* Writes the pending ids as a new run, sorted by hash, empties the list
** and merges runs of equal size. */
static int flush(uu_idset *s)
{
  run *w = &s->runs[s->nruns];
  ehead e;
  size_t i;
  int rc = 0;
  if (s->npend == 0)
    return 0;
  sort_pending(s);
  if (open_tmp(s, w) != 0) {
    run_free(w);
    return -1;
  }
  for (i = 0; i < s->npend && rc == 0; i++) {
    e.h = s->pend[i].h;
    e.line = s->pend[i].line;
    e.len = s->pend[i].len;
    rc = run_put(s, w, &e, s->pend[i].p);
  }
  if (rc == 0 && fflush(w->f) != 0)
    rc = fail_io(s, "cannot write");
  if (rc != 0) {
    run_free(w);
    return -1;
  }
  w->units = 1;
  s->nruns++;
  s->npend = 0;
  s->arena_len = 0;
  while (s->nruns >= 2 &&
         s->runs[s->nruns - 1].units >= s->runs[s->nruns - 2].units)
    if (merge(s) != 0)
      return -1;
  return 0;
}

/* 1 and *first when id (hash h) is in run w, 0 when not, -1 on error. */
static int in_run(uu_idset *s, run *w, uint64_t h, const char *id,
                  size_t n, long *first)
{
  size_t lo = 0, hi = w->nidx, mid;
  ehead e;
  int rc;
  while (lo < hi) {                  /* the first mark at or past h */
    mid = lo + (hi - lo) / 2;
    if (w->idx[mid].h < h)
      lo = mid + 1;
    else
      hi = mid;
  }
  errno = 0;
  if (fseeko(w->f, lo > 0 ? w->idx[lo - 1].off : 0, SEEK_SET) != 0)
    return fail_io(s, "cannot read");
  while ((rc = run_read(s, w->f, &e, 0)) > 0 && e.h <= h)
    if (e.h == h && e.len == n && (n == 0 || !memcmp(s->buf[0], id, n))) {
      *first = (long)e.line;
      return 1;
    }
  return rc < 0 ? -1 : 0;
}

/* After a Bloom hit: 1 and *first when id is in the set, 0 when not. */
static int find(uu_idset *s, uint64_t h, const char *id, size_t n,
                long *first)
{
  size_t i;
  int r, rc;
  for (i = 0; i < s->npend; i++)
    if (s->pend[i].h == h && s->pend[i].len == n &&
        memcmp(s->pend[i].p, id, n) == 0) {
      *first = (long)s->pend[i].line;
      return 1;
    }
  for (r = s->nruns - 1; r >= 0; r--)
    if ((rc = in_run(s, &s->runs[r], h, id, n, first)) != 0)
      return rc;
  return 0;
}

/* Sets the filter's bits of every id of run w. */
static int refill(uu_idset *s, run *w)
{
  ehead e;
  int rc;
  errno = 0;
  if (fseeko(w->f, 0, SEEK_SET) != 0)
    return fail_io(s, "cannot read");
  while ((rc = run_read(s, w->f, &e, 0)) > 0)
    bloom(s, e.h, 1);
  return rc;
}

/* A filter twice the size, rebuilt from every id's hash. */
static int grow(uu_idset *s)
{
  uint64_t *b = new_filter(s->bits * 2);
  size_t i;
  int r;
  if (b == NULL)
    return fail(s, "out of memory");
  free(s->bloom);
  s->bloom = b;
  s->bits *= 2;
  for (i = 0; i < s->npend; i++)
    bloom(s, s->pend[i].h, 1);
  for (r = 0; r < s->nruns; r++)
    if (refill(s, &s->runs[r]) != 0) {
      s->broken = 1;               /* its answers would not be exact */
      return -1;
    }
  return 0;
}

int uu_idset_add(uu_idset *s, const char *id, size_t n, long line,
                 long *first)
{
  uint64_t h = uu_siphash(s->key, id, n) & s->hmask;
  pending *p;
  int rc;
  if (s->broken)
    return -1;                       /* s->err still says why */
  if (bloom(s, h, 0) && (rc = find(s, h, id, n, first)) != 0)
    return rc;
  if (n > S_ARENA)
    return fail(s, "id too long");
  if (line < 0 || (unsigned long)line > 0xffffffffUL)
    return fail(s, "line number out of range");
  if (s->npend == s->pend_max || s->arena_len + n > S_ARENA)
    if (flush(s) != 0)
      return -1;
  if (n > 0)
    memcpy(s->arena + s->arena_len, id, n);
  p = &s->pend[s->npend++];
  p->h = h;
  p->p = s->arena + s->arena_len;
  p->len = (uint32_t)n;
  p->line = (uint32_t)line;
  s->arena_len += n;
  bloom(s, h, 1);
  if (++s->count > s->bits / S_BITS_PER_ID)
    return grow(s);
  return 0;
}

void uu_idset_weaken(uu_idset *s, int bits)
{
  if (bits > 0 && bits < 64)
    s->hmask = ((uint64_t)1 << bits) - 1;
}

const char *uu_idset_errmsg(uu_idset *s)
{
  return s->err;
}

void uu_idset_close(uu_idset *s)
{
  int r;
  if (s == NULL)
    return;
  for (r = 0; r < S_RUNS; r++)
    run_free(&s->runs[r]);           /* closing deletes the files */
  free(s->bloom);
  free(s->arena);
  free(s->pend);
  free(s->spare);
  free(s->buf[0]);
  free(s->buf[1]);
  free(s);
}

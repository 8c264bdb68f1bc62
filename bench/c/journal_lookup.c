/*
** journal_lookup.c: journal lookups alone, as update_many makes them on a
** nightly run (uu_journal_lookup: shared read transaction, the kept
** payload read into a buffer).  Not part of `make bench`; by hand, after
** `make`, on a journal a night 1 left (ids 100001.. as bench/nightly/gen.lua
** writes them):
**   gcc -O2 -Isrc -I/usr/include/lua5.4 bench/c/journal_lookup.c \
**     $(ls build/5.4/src/{journal,json,vendors,base,policy,wire}/[a-z]*.o) \
**     -lsqlite3 -llua5.4 -lcurl -lm -o /tmp/journal_lookup
**   /tmp/journal_lookup J.db 400000 [order]
** N lookups of ids 100001..100000+N, scrambled (or in order when a third
** argument is given); prints CPU microseconds per lookup.
*/
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "journal/journal.h"
#include "json/json.h"

int main(int argc, char **argv)
{
  uu_journal *j;
  uu_jentry e;
  uu_buf b = {NULL, 0, 0};
  char err[320], id[32];
  long n, i, found = 0;
  struct timespec t0, t1;
  double sec;
  if (argc < 3 || (n = atol(argv[2])) <= 0) {
    fprintf(stderr, "usage: journal_lookup JOURNAL N [order]\n");
    return 2;
  }
  if (uu_journal_open(argv[1], NULL, &j, err, sizeof err) != 0) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
  for (i = 0; i < n; i++) {
    int len = snprintf(id, sizeof id, "%ld",
                       100001 + (argc > 3 ? i : (i * 7919) % n));
    if (uu_journal_lookup(j, id, (size_t)len, &e, &b) != 0) {
      fprintf(stderr, "%s\n", uu_journal_errmsg(j));
      return 1;
    }
    found += e.state != UU_J_NONE && e.has_payload;
  }
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
  sec = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("%ld lookups (%s), %ld with a payload: %.3f us each, %.0f/s\n", n,
         argc > 3 ? "in order" : "scrambled", found, sec / (double)n * 1e6,
         (double)n / sec);
  uu_journal_close(j);
  uu_buf_free(&b);
  return 0;
}

/*
** progress.c: the terminal progress bar of an update_many run (run.h).
*/
#include <stdio.h>
#include "loops/run.h"

void uu_many_draw(uu_run *r, int final)
{
  double now, el, rate, eta = -1;
  long seen = r->done + r->skipped + r->unchanged;
  char bar[26];
  int i, fill_n = 0;
  if (!r->progress)                    /* the common case: not even a clock */
    return;
  now = uu_now();
  el = now - r->t0;
  if (!final && now - r->drawn < 0.1)
    return;
  r->drawn = now;
  rate = el > 0 ? (double)r->done / el : 0;
  if (r->total > 0) {
    fill_n = (int)(24.0 * (double)seen / (double)r->total);
    fill_n = fill_n > 24 ? 24 : fill_n;
    if (rate > 0 && (double)(r->total - seen) / rate < 360000)
      eta = (double)(r->total - seen) / rate;    /* else none: (int) safe */
  }
  for (i = 0; i < 24; i++)
    bar[i] = i < fill_n ? '=' : (i == fill_n ? '>' : ' ');
  bar[24] = '\0';
  /* \r and erase-line: the bar owns its line, however long it was */
  if (r->total > 0)
    fprintf(stderr, "\r\033[K[%s] %ld/%ld", bar, seen, (long)r->total);
  else
    fprintf(stderr, "\r\033[K%ld", seen);
  if (eta >= 0)
    fprintf(stderr, "  %.0f/s  ETA %d:%02d", rate, (int)eta / 60,
            (int)eta % 60);
  else
    fprintf(stderr, "  %.0f/s  ETA --:--", rate);
  fprintf(stderr, "  ok %ld  failed %ld  invalid %ld  unchanged %ld ",
          r->ok, r->failed, r->invalid, r->skipped + r->unchanged);
  if (final)
    fputc('\n', stderr);
  fflush(stderr);
}

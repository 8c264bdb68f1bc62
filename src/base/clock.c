/*
** clock.c: the clocks (base/clock.h): a monotonic one for pacing, waits
** and elapsed times, and the wall clock for X-RateLimit-Reset.
*/
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <time.h>
#include "base/clock.h"

/* Wall-clock seconds with their fraction (X-RateLimit-Reset is a Unix
** time: comparing it with time(NULL) would wait up to a second too long
** at every window). */
double uu_wall(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double uu_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
** clock.h: the two clocks every layer may read (base/clock.c).
*/
#ifndef UU_CLOCK_H
#define UU_CLOCK_H

/* Seconds on a clock that never goes back (pacing, timeouts, elapsed). */
double uu_now(void);
/* Wall-clock seconds since the Unix epoch, with their fraction. */
double uu_wall(void);

#endif

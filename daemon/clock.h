/*
 * clock.h -- the time, with one override for tests
 *
 * Every part of bouncerd and bouncerctl that needs "now" asks
 * clock_now(); nothing else reads the system clock for a decision.
 * Tests move the clock with one environment variable, read here only,
 * once, at the first call:
 *
 *   BOUNCER_NOW=1795601100          the clock stands at that instant
 *   BOUNCER_NOW=2027-01-02T10:00:00Z  the same, as UTC
 *   BOUNCER_NOW=+86400              the real clock, a day ahead
 *   BOUNCER_NOW=-3600               the real clock, an hour behind
 *
 * A fixed instant suits a command that runs once (bouncerctl); an
 * offset suits the daemon, whose back-offs and windows must run out,
 * and lets a test script and every process it starts share one
 * shifted clock. A value that is none of these is ignored, with a
 * message on standard error.
 */
#ifndef BOUNCER_CLOCK_H
#define BOUNCER_CLOCK_H

/* Seconds since the epoch, as the override says. */
long long	 clock_now(void);

/*
 * Reads BOUNCER_NOW anew, so that a test can change it between calls.
 * Returns 0, or -1 if it is set but malformed (the real clock is used).
 */
int		 clock_reset(void);

/*
 * The monotonic clock in milliseconds and in microseconds: for
 * timeouts, intervals and back-offs only. It has no epoch and
 * BOUNCER_NOW does not move it.
 */
long long	 clock_mono_ms(void);
long long	 clock_mono_usec(void);

#endif

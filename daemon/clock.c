/*
 * clock.c -- the time, with one override for tests
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

static enum { C_UNREAD, C_REAL, C_FIXED, C_OFFSET } mode = C_UNREAD;
static long long value;

int
clock_reset(void)
{
	const char *s = getenv("BOUNCER_NOW");
	struct tm tm;
	char *end;
	long long v;

	if (s == NULL || *s == '\0') {
		mode = C_REAL;
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == 0 && end != s && *end == '\0') {
		value = v;
		mode = *s == '+' || *s == '-' ? C_OFFSET : C_FIXED;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) != NULL &&
	    (*end == '\0' || strcmp(end, "Z") == 0)) {
		value = (long long)timegm(&tm);
		mode = C_FIXED;
		return 0;
	}
	fprintf(stderr, "BOUNCER_NOW=%s: want epoch seconds, "
	    "YYYY-MM-DDTHH:MM:SSZ, +seconds or -seconds; using the real "
	    "clock\n", s);
	mode = C_REAL;
	return -1;
}

long long
clock_now(void)
{
	/* bouncerd calls it once before it starts any thread. */
	if (mode == C_UNREAD)
		clock_reset();
	switch (mode) {
	case C_FIXED:
		return value;
	case C_OFFSET:
		return (long long)time(NULL) + value;
	default:
		return (long long)time(NULL);
	}
}

long long
clock_mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long
clock_mono_ms(void)
{
	return clock_mono_usec() / 1000;
}

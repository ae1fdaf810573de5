/*
 * histo.h -- a fixed-bucket latency histogram, safe to record into
 * from any thread
 *
 * The buckets are the same for every histogram: from 50 microseconds
 * to 10 seconds, roughly 1-2.5-5 per decade, then +Inf, so that a
 * dashboard can sum or compare any two of them. Prometheus wants
 * cumulative buckets ("le", less than or equal); a histogram keeps
 * one count per bucket and histo_snapshot() adds them up.
 *
 * Ownership and threads: a struct histo belongs to whoever declares
 * it (a server's stats, a module's static). All-zero is an empty
 * histogram, so static storage or xcalloc() needs no set-up, and
 * there is nothing to free. histo_record() and histo_since() use
 * relaxed atomic additions and take no lock: libmilter's threads and
 * the event loop may record into one histogram while the metrics
 * handler reads it. A snapshot taken during a recording may see the
 * count without the sum, or the reverse, for that one observation;
 * its count is always the sum of its buckets, as Prometheus expects.
 *
 * See also: metrics.h (metrics_histogram(), the text exposition).
 */
#ifndef BOUNCER_HISTO_H
#define BOUNCER_HISTO_H

#include <stddef.h>
#include <stdint.h>

/* Finite buckets; the last one, +Inf, is extra. */
#define HISTO_FINITE	16
#define HISTO_NBUCKETS	(HISTO_FINITE + 1)

struct histo {
	uint64_t	 n[HISTO_NBUCKETS];	/* per bucket, not cumulative */
	uint64_t	 sum_ns;
};

struct histo_snap {
	uint64_t	 cum[HISTO_NBUCKETS];	/* cumulative: cum[i] <= le i */
	uint64_t	 count;			/* == cum[HISTO_FINITE] */
	double		 sum;			/* seconds */
};

/* Nanoseconds on the monotonic clock, for histo_since(). */
uint64_t	 histo_now(void);
/* Counts one observation of ns nanoseconds. */
void		 histo_record(struct histo *, uint64_t ns);
/* Counts the time from t0 (a histo_now()) to now. */
void		 histo_since(struct histo *, uint64_t t0);
/* A consistent-enough copy of h into *out (see above). */
void		 histo_snapshot(const struct histo *h, struct histo_snap *out);
/*
 * Bucket i's upper bound: in nanoseconds (UINT64_MAX for +Inf), and as
 * Prometheus's "le" label ("0.0005", "+Inf"), a static string. i must
 * be below HISTO_NBUCKETS.
 */
uint64_t	 histo_bound_ns(size_t i);
const char	*histo_bound_label(size_t i);

#endif

/*
 * histo.c -- a fixed-bucket latency histogram, safe to record into
 * from any thread
 *
 * Recording is a search over 16 bounds and two relaxed atomic
 * additions: no lock, so a milter thread never waits for the metrics
 * handler or for another milter thread. Reading copies the counts one
 * by one; see histo.h for what a snapshot may miss.
 *
 * See also: histo.h, metrics.c.
 */
#include <time.h>

#include "histo.h"

static const struct {
	uint64_t	 ns;
	const char	*label;
} bounds[HISTO_NBUCKETS] = {
	{ 50000ULL,		"0.00005" },
	{ 100000ULL,		"0.0001" },
	{ 250000ULL,		"0.00025" },
	{ 500000ULL,		"0.0005" },
	{ 1000000ULL,		"0.001" },
	{ 2500000ULL,		"0.0025" },
	{ 5000000ULL,		"0.005" },
	{ 10000000ULL,		"0.01" },
	{ 25000000ULL,		"0.025" },
	{ 50000000ULL,		"0.05" },
	{ 100000000ULL,		"0.1" },
	{ 250000000ULL,		"0.25" },
	{ 500000000ULL,		"0.5" },
	{ 1000000000ULL,	"1" },
	{ 2500000000ULL,	"2.5" },
	{ 10000000000ULL,	"10" },
	{ UINT64_MAX,		"+Inf" },
};

uint64_t
histo_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void
histo_record(struct histo *h, uint64_t ns)
{
	size_t i;

	for (i = 0; i < HISTO_FINITE && ns > bounds[i].ns; i++)
		;
	__atomic_add_fetch(&h->n[i], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&h->sum_ns, ns, __ATOMIC_RELAXED);
}

void
histo_since(struct histo *h, uint64_t t0)
{
	uint64_t now = histo_now();

	/* The monotonic clock does not go back; be safe if t0 is junk. */
	histo_record(h, now > t0 ? now - t0 : 0);
}

void
histo_snapshot(const struct histo *h, struct histo_snap *out)
{
	uint64_t c = 0;
	size_t i;

	for (i = 0; i < HISTO_NBUCKETS; i++) {
		c += __atomic_load_n(&h->n[i], __ATOMIC_RELAXED);
		out->cum[i] = c;
	}
	out->count = c;
	out->sum = (double)__atomic_load_n(&h->sum_ns, __ATOMIC_RELAXED) /
	    1e9;
}

uint64_t
histo_bound_ns(size_t i)
{
	return i < HISTO_NBUCKETS ? bounds[i].ns : UINT64_MAX;
}

const char *
histo_bound_label(size_t i)
{
	return i < HISTO_NBUCKETS ? bounds[i].label : "+Inf";
}

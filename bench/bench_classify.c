/*
 * bench_classify.c -- classifier throughput on one core
 *
 * Reads a weighted mix of replies (bench/mix.tsv), makes a pool of
 * copies with varied recipients and IPs so that nothing is cached by
 * accident, then classifies -n replies from the pool on one thread and
 * prints replies per second (CPU time of this process) and peak RSS.
 *
 * usage: bench_classify [-r rulesdir] [-m mix.tsv] [-n count]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "classify.h"
#include "rules.h"
#include "xalloc.h"

#define POOL	8192

struct item {
	char	*rcpt;
	char	*reply;
	size_t	 len;
};

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Replaces "user@" by "uNNNN@" and the last octet of 192.0.2.x. */
static char *
vary(const char *s, unsigned k)
{
	char *out = xmalloc(strlen(s) * 2 + 32), *o = out;
	const char *p;

	for (p = s; *p != '\0'; ) {
		if (strncmp(p, "user@", 5) == 0) {
			o += sprintf(o, "u%u@", k);
			p += 5;
		} else if (strncmp(p, "192.0.2.", 8) == 0) {
			o += sprintf(o, "192.0.2.%u", k % 250 + 1);
			p += 8;
			while (*p >= '0' && *p <= '9')
				p++;
		} else
			*o++ = *p++;
	}
	*o = '\0';
	/* At its size: the pool is the bench's, not the classifier's. */
	return xrealloc(out, (size_t)(o - out) + 1);
}

int
main(int argc, char **argv)
{
	const char *dir = "rules", *mixfile = "bench/mix.tsv";
	unsigned long n = 1000000, i, decided = 0;
	struct item *mix = NULL, *pool;
	unsigned *weights = NULL, total = 0, k;
	size_t nmix = 0, j, cap = 0;
	struct classification cl;
	struct classifier *c;
	struct ruleset *rs;
	struct rusage ru;
	char *line = NULL, *err = NULL, *t1, *t2, *text;
	double t0, dt;
	FILE *fp;
	int ch;

	while ((ch = getopt(argc, argv, "r:m:n:")) != -1) {
		switch (ch) {
		case 'r': dir = optarg; break;
		case 'm': mixfile = optarg; break;
		case 'n': n = strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: bench_classify [-r rulesdir] "
			    "[-m mix.tsv] [-n count]\n");
			return 1;
		}
	}
	if ((rs = ruleset_load(dir, &err)) == NULL) {
		fprintf(stderr, "%s", err);
		return 2;
	}
	if ((fp = fopen(mixfile, "r")) == NULL) {
		perror(mixfile);
		return 2;
	}
	while (getline(&line, &cap, fp) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0' ||
		    (t1 = strchr(line, '\t')) == NULL ||
		    (t2 = strchr(t1 + 1, '\t')) == NULL)
			continue;
		*t2 = '\0';
		mix = xreallocarray(mix, nmix + 1, sizeof(*mix));
		weights = xreallocarray(weights, nmix + 1, sizeof(*weights));
		weights[nmix] = (unsigned)strtoul(line, NULL, 10);
		mix[nmix].rcpt = xstrdup(t1 + 1);
		mix[nmix].reply = xstrdup(t2 + 1);
		total += weights[nmix];
		nmix++;
	}
	fclose(fp);
	free(line);
	if (nmix == 0 || total == 0) {
		fprintf(stderr, "%s: no replies\n", mixfile);
		return 2;
	}

	/* The pool: copies in proportion to the weights, shuffled. */
	pool = xcalloc(POOL, sizeof(*pool));
	srand(1);
	for (k = 0; k < POOL; k++) {
		unsigned w = k % total;

		for (j = 0; w >= weights[j]; j++)
			w -= weights[j];
		pool[k].rcpt = vary(mix[j].rcpt, k);
		pool[k].reply = vary(mix[j].reply, k);
		pool[k].len = strlen(pool[k].reply);
	}
	for (k = POOL - 1; k > 0; k--) {
		unsigned r = (unsigned)rand() % (k + 1);
		struct item tmp = pool[k];

		pool[k] = pool[r];
		pool[r] = tmp;
	}
	/*
	 * Laid out one after the other in one buffer, as the lines of a
	 * log are when the daemon reads them.
	 */
	for (k = 0, j = 0; k < POOL; k++)
		j += strlen(pool[k].rcpt) + 1 + pool[k].len + 1;
	text = xmalloc(j);
	for (k = 0, j = 0; k < POOL; k++) {
		size_t rl = strlen(pool[k].rcpt) + 1;

		memcpy(text + j, pool[k].rcpt, rl);
		free(pool[k].rcpt);
		pool[k].rcpt = text + j;
		j += rl;
		memcpy(text + j, pool[k].reply, pool[k].len + 1);
		free(pool[k].reply);
		pool[k].reply = text + j;
		j += pool[k].len + 1;
	}

	c = classifier_new(rs);
	for (i = 0; i < POOL; i++)		/* warm up */
		classify(c, rs, pool[i].rcpt, pool[i].reply, pool[i].len,
		    NULL, NULL, &cl);
	t0 = cpu_now();
	for (i = 0; i < n; i++) {
		const struct item *it = &pool[i % POOL];

		classify(c, rs, it->rcpt, it->reply, it->len, NULL, NULL, &cl);
		decided += cl.rule != NULL;
	}
	dt = cpu_now() - t0;
	getrusage(RUSAGE_SELF, &ru);
	printf("replies=%lu cpu_s=%.3f replies_per_s=%.0f ns_per_reply=%.0f "
	    "matched=%.1f%% peak_rss_kib=%ld mix=%zu\n", n, dt, n / dt,
	    dt * 1e9 / n, 100.0 * decided / n, ru.ru_maxrss, nmix);
	classifier_free(c);
	ruleset_unref(rs);
	return 0;
}

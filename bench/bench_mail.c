/*
 * bench_mail.c -- bounce e-mails per second on one core
 *
 * Loads every *.eml file under a directory (the corpus) into memory,
 * then parses and classifies -n e-mails from that pool, round robin, on
 * one thread with one parser and one classifier, as the milter will.
 * Prints e-mails and recipients per second (CPU time of this process)
 * and the peak RSS, with the RSS after loading beside it so that what
 * parsing adds can be read off: it should not grow with the number of
 * e-mails parsed.
 *
 * usage: bench_mail [-r rulesdir] [-d dir] [-n count]
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "classify.h"
#include "dsn.h"
#include "rules.h"
#include "xalloc.h"

struct mail {
	char	*buf;
	size_t	 len;
};

static struct mail *mails;
static size_t nmails, capmails;

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int
load(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	size_t n = strlen(path);
	FILE *fp;

	(void)ftw;
	if (type != FTW_F || n < 4 || strcmp(path + n - 4, ".eml") != 0)
		return 0;
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	if (nmails == capmails) {
		capmails = capmails ? capmails * 2 : 512;
		mails = xreallocarray(mails, capmails, sizeof(*mails));
	}
	mails[nmails].buf = xmalloc((size_t)st->st_size + 1);
	mails[nmails].len = fread(mails[nmails].buf, 1, (size_t)st->st_size,
	    fp);
	nmails++;
	fclose(fp);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *rulesdir = "rules", *dir = "../shared/corpus/maildir";
	unsigned long n = 1000000, i, rcpts = 0, bounces = 0;
	struct dsn_parser *p;
	struct dsn_report rep;
	struct dsn_result res;
	struct classifier *c;
	struct ruleset *rs;
	double t0, dt;
	long rss_loaded;
	char *err = NULL;
	size_t k, bytes = 0;
	int ch;

	while ((ch = getopt(argc, argv, "r:d:n:")) != -1) {
		switch (ch) {
		case 'r': rulesdir = optarg; break;
		case 'd': dir = optarg; break;
		case 'n': n = strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: bench_mail [-r rulesdir] "
			    "[-d dir] [-n count]\n");
			return 1;
		}
	}
	if ((rs = ruleset_load(rulesdir, &err)) == NULL) {
		fprintf(stderr, "%s", err);
		return 1;
	}
	nftw(dir, load, 16, FTW_PHYS);
	if (nmails == 0) {
		fprintf(stderr, "bench_mail: no *.eml files under %s\n", dir);
		return 1;
	}
	for (k = 0; k < nmails; k++)
		bytes += mails[k].len;
	rss_loaded = rss_kib();
	p = dsn_parser_new();
	c = classifier_new(rs);
	t0 = cpu_now();
	for (i = 0; i < n; i++) {
		const struct mail *m = &mails[i % nmails];

		dsn_parse(p, m->buf, m->len, &rep);
		bounces += rep.nrcpts > 0;
		for (k = 0; k < rep.nrcpts; k++) {
			dsn_classify(c, rs, &rep, k, &res);
			rcpts++;
		}
	}
	dt = cpu_now() - t0;
	printf("files=%zu bytes=%zu mails=%lu cpu_s=%.3f mails_per_s=%.0f "
	    "us_per_mail=%.2f rcpts_per_s=%.0f with_rcpts=%.1f%% "
	    "rss_loaded_kib=%ld peak_rss_kib=%ld\n", nmails, bytes, n, dt,
	    n / dt, dt * 1e6 / n, rcpts / dt, 100.0 * bounces / n,
	    rss_loaded, rss_kib());
	dsn_parser_free(p);
	classifier_free(c);
	ruleset_unref(rs);
	for (k = 0; k < nmails; k++)
		free(mails[k].buf);
	free(mails);
	return 0;
}

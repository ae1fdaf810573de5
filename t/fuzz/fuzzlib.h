/*
 * fuzzlib.h -- what the libFuzzer harnesses share
 *
 * The rule set is loaded once per process from $FUZZ_RULES (default
 * "rules"). check_classification() reads every string a result points
 * at, so that AddressSanitizer sees a dangling or unterminated one,
 * and aborts on a result that breaks its header's promises.
 */
#ifndef BOUNCER_FUZZLIB_H
#define BOUNCER_FUZZLIB_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "rules.h"

static struct ruleset *fuzz_rs;

static inline void
fuzz_load_rules(void)
{
	const char *dir = getenv("FUZZ_RULES");
	char *err = NULL;

	if (fuzz_rs != NULL)
		return;
	if ((fuzz_rs = ruleset_load(dir ? dir : "rules", &err)) == NULL) {
		fprintf(stderr, "%s", err ? err : "rules not loaded\n");
		abort();
	}
}

/* The rule set, loaded if need be, and a classifier for it. */
static inline struct classifier *
fuzz_classifier(void)
{
	fuzz_load_rules();
	return classifier_new(fuzz_rs);
}

static volatile unsigned fuzz_sink;

/* Reads n bytes: ASan checks each. */
static inline void
touch(const void *p, size_t n)
{
	const unsigned char *b = p;
	unsigned s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += b[i];
	fuzz_sink += s;
}

static inline void
touch_str(const char *s)
{
	if (s != NULL)
		touch(s, strlen(s) + 1);
}

static inline void
check_classification(const struct classification *cl)
{
	char buf[300];

	if (memchr(cl->status, '\0', sizeof(cl->status)) == NULL ||
	    memchr(cl->details, '\0', sizeof(cl->details)) == NULL)
		abort();
	touch_str(cl->status);
	touch_str(cl->details);
	touch_str(reason_name(cl->reason));
	touch_str(classification_rule(cl, buf, sizeof(buf)));
	touch_str(provider_name(cl->provider));
	if (cl->reply != NULL) {
		if (strlen(cl->reply->text) != cl->reply->textlen)
			abort();
		touch_str(cl->reply->host);
		touch_str(cl->reply->ip);
		touch_str(cl->reply->status);
	}
	if (cl->rule != NULL)
		touch_str(cl->rule->name);
	/* Never suppress on a sender-side reason. */
	if ((cl->decision & D_SUPPRESS) && !reason_may_suppress(cl->reason))
		abort();
}

#endif

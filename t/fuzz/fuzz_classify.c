/*
 * fuzz_classify.c -- classify() on any recipient, dsn, relay and reply
 *
 * Input: "rcpt\x1fdsn\x1frelay\treply", the part before the tab
 * optional (no tab: the whole input is the reply, the recipient NULL).
 */
#include "fuzzlib.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct classifier *kept;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	kept = fuzz_classifier();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *tab;
	char *head = NULL, *rcpt = NULL, *dsn = NULL, *relay = NULL, *reply;
	struct classification cl;
	struct classifier *fresh;
	size_t rlen = size;

	if ((tab = memchr(in, '\t', size)) != NULL) {
		head = strndup(in, (size_t)(tab - in));
		rcpt = head;
		if ((dsn = strchr(head, '\x1f')) != NULL) {
			*dsn++ = '\0';
			if ((relay = strchr(dsn, '\x1f')) != NULL)
				*relay++ = '\0';
		}
		rlen = size - (size_t)(tab - in) - 1;
		in = tab + 1;
	}
	reply = malloc(rlen ? rlen : 1);
	memcpy(reply, in, rlen);

	classify(kept, fuzz_rs, rcpt, reply, rlen, dsn, relay, &cl);
	check_classification(&cl);
	fresh = classifier_new(fuzz_rs);
	classify(fresh, fuzz_rs, rcpt, reply, rlen, dsn, relay, &cl);
	check_classification(&cl);
	classifier_free(fresh);
	free(reply);
	free(head);
	return 0;
}

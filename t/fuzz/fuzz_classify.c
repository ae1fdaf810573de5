/*
 * fuzz_classify.c -- classify() on any recipient, dsn, relay and reply
 *
 * Input: "rcpt\x1fdsn\x1frelay\treply", the part before the tab
 * optional (no tab: the whole input is the reply, the recipient NULL).
 *
 * Besides memory safety, the guards' promises hold for any input: a
 * suppress comes only with a reason that may suppress, never for a
 * temporary reply or one at the connect, HELO or MAIL stage; and the
 * reply said of our envelope sender ("550 5.1.1 <...>: Sender address
 * rejected: " before it) never suppresses.
 */
#include "fuzzlib.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct classifier *kept;

static void
check_guards(const struct classification *cl)
{
	if (!(cl->decision & D_SUPPRESS))
		return;
	if (!reason_may_suppress(cl->reason) || cl->temporary == 1 ||
	    cl->stage == STAGE_CONNECT || cl->stage == STAGE_HELO ||
	    cl->stage == STAGE_MAIL)
		abort();
}

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
	static const char prefix[] = "550 5.1.1 <bounce@news.example.com>: "
	    "Sender address rejected: ";
	char *head = NULL, *rcpt = NULL, *dsn = NULL, *relay = NULL, *reply;
	char *sender;
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
	check_guards(&cl);
	fresh = classifier_new(fuzz_rs);
	classify(fresh, fuzz_rs, rcpt, reply, rlen, dsn, relay, &cl);
	check_classification(&cl);
	classifier_free(fresh);

	sender = malloc(sizeof(prefix) - 1 + rlen);
	memcpy(sender, prefix, sizeof(prefix) - 1);
	memcpy(sender + sizeof(prefix) - 1, reply, rlen);
	classify(kept, fuzz_rs, rcpt, sender, sizeof(prefix) - 1 + rlen, dsn,
	    relay, &cl);
	check_classification(&cl);
	check_guards(&cl);
	if (cl.decision & D_SUPPRESS)
		abort();
	free(sender);
	free(reply);
	free(head);
	return 0;
}

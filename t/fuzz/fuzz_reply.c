/*
 * fuzz_reply.c -- reply_parse() on any bytes
 *
 * Once into a fresh reply, whose buffer is sized to the input (a read
 * past it is a read past the allocation), and once into a reply kept
 * across inputs, as a classifier keeps it.
 */
#include "fuzzlib.h"
#include "reply.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(const struct reply *r)
{
	if (strlen(r->text) != r->textlen ||
	    memchr(r->status, '\0', sizeof(r->status)) == NULL ||
	    memchr(r->host, '\0', sizeof(r->host)) == NULL ||
	    memchr(r->ip, '\0', sizeof(r->ip)) == NULL)
		abort();
	if (r->status[0] != '\0' && status_at(r->status, r->status +
	    strlen(r->status)) != strlen(r->status))
		abort();
	if ((r->code != 0 && (r->code < 200 || r->code > 599)) ||
	    (unsigned)r->stage >= STAGE_COUNT)
		abort();
	touch_str(stage_name(r->stage));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct reply kept;
	struct reply r;
	char *in = malloc(size ? size : 1);	/* no NUL after it */

	memcpy(in, data, size);
	reply_init(&r);
	reply_parse(&r, in, size);
	check(&r);
	reply_free(&r);
	reply_parse(&kept, in, size);
	check(&kept);
	free(in);
	return 0;
}

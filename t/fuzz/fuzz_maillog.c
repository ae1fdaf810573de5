/*
 * fuzz_maillog.c -- a log line, as the daemon's log follower reads it
 *
 * maillog_parse(), every recipient of the entry (also into a buffer too
 * small for it), and each one classified with the line's text.
 */
#include "fuzzlib.h"
#include "maillog.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct classifier *cl;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	cl = fuzz_classifier();
	return 0;
}

/* A field lies inside the line. */
static void
field(const char *line, size_t n, const struct mlfield *f)
{
	if (f->n == 0)
		return;
	if (f->p < line || f->p + f->n > line + n)
		abort();
	touch(f->p, f->n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct maillog_entry e;
	struct classification c;
	char rcpt[1024], small[4], dsn[16], relay[256];
	char *line = malloc(size ? size : 1);
	size_t pos, i;

	memcpy(line, data, size);
	if (maillog_parse(line, size, &e)) {
		field(line, size, &e.time);
		field(line, size, &e.queue_id);
		field(line, size, &e.to);
		field(line, size, &e.relay);
		field(line, size, &e.dsn);
		field(line, size, &e.text);
		for (pos = 0, i = 0; maillog_next_rcpt(&e, &pos, small,
		    sizeof(small)); i++)
			if (i > e.to.n)
				abort();	/* no progress */
		snprintf(dsn, sizeof(dsn), "%.*s", (int)e.dsn.n, e.dsn.p);
		snprintf(relay, sizeof(relay), "%.*s", (int)e.relay.n,
		    e.relay.p);
		for (pos = 0, i = 0; i < 64 && maillog_next_rcpt(&e, &pos,
		    rcpt, sizeof(rcpt)); i++) {
			classify(cl, fuzz_rs, rcpt, e.text.p, e.text.n,
			    dsn[0] ? dsn : NULL, relay, &c);
			check_classification(&c);
		}
	}
	free(line);
	return 0;
}

/*
 * fuzz_mail.c -- a bounce e-mail, as classify-mail and the milter see it
 *
 * dsn_parse() and dsn_classify() for every recipient; then every MIME
 * part's body decoded, and the usual headers, which the bounce parser
 * alone does not all touch.
 */
#include "dsn.h"
#include "fuzzlib.h"
#include "mime.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct classifier *cl;
static struct dsn_parser *dp;
static struct mime *mm;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	cl = fuzz_classifier();
	dp = dsn_parser_new();
	mm = mime_new();
	return 0;
}

static void
walk(struct mime_part *p, int depth)
{
	static const char *const names[] = { "Subject", "From", "To",
	    "Content-Type", "Message-ID", "X-Failed-Recipients", NULL };
	const char *b;
	size_t i, len;

	if (depth > 100)
		abort();
	for (; p != NULL; p = p->next) {
		touch_str(p->type);
		touch_str(p->charset);
		touch_str(p->boundary);
		touch(p->raw, p->rawlen);
		for (i = 0; i < p->nhdrs; i++) {
			touch_str(p->hdrs[i].name);
			touch(p->hdrs[i].value, p->hdrs[i].len);
		}
		for (i = 0; names[i] != NULL; i++)
			touch_str(mime_header_text(mm, p, names[i]));
		if ((b = mime_body(mm, p, &len)) != NULL) {
			touch(b, len);
			if (b[len] != '\0')
				abort();
		}
		walk(p->child, depth + 1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dsn_report rep;
	struct dsn_result res;
	char *msg = malloc(size ? size : 1);
	size_t i;

	memcpy(msg, data, size);
	if (dsn_parse(dp, msg, size, &rep) != rep.nrcpts)
		abort();
	touch_str(rep.reporting_mta);
	touch_str(rep.message_id);
	touch_str(rep.feedback_type);
	for (i = 0; i < rep.nrcpts; i++) {
		const struct dsn_rcpt *r = &rep.rcpts[i];

		if (r->rcpt == NULL || r->diag == NULL)
			abort();
		touch_str(r->rcpt);
		touch_str(r->action);
		touch_str(r->status);
		touch(r->diag, r->diaglen);
		touch_str(r->remote_mta);
		memset(&res, 0xa5, sizeof(res));	/* nothing left over */
		dsn_classify(cl, fuzz_rs, &rep, i, &res);
		check_classification(&res.cl);
	}
	walk(mime_parse(mm, msg, size), 0);
	free(msg);
	return 0;
}

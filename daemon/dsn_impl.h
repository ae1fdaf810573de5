/*
 * dsn_impl.h -- what the parts of the bounce parser share; private to
 * dsn*.c
 *
 * dsn_parse() asks its questions in dsn.c (the walk over the MIME
 * tree, the RFC 3464 fields, the order of the questions); the answers
 * for other shapes of bounce live beside it: dsn_text.c reads a bounce
 * in words, dsn_json.c an Amazon SES notification, dsn_arf.c feedback
 * reports and auto-replies, dsn_notice.c the notices that report no
 * delivery (and forwarded bounces), and dsn_classify.c turns one
 * recipient of a report into a classification. dsn_scan.c has the
 * scanning helpers they all use (lines, literals, addresses).
 *
 * They are stages of one parser over one struct dsn_parser, not
 * modules of their own: nothing outside dsn*.c includes this header,
 * and dsn.h stays the only interface.
 *
 * Memory: every string these functions return or store in a report is
 * in the parser's arena (p->a, or the arena passed in), valid until the
 * next dsn_parse() on the parser or dsn_parser_free(); none is freed by
 * the caller. Text pointers into the message ([s, e) spans) point into
 * the MIME parser's decoded bodies, which live as long.
 */
#ifndef BOUNCER_DSN_IMPL_H
#define BOUNCER_DSN_IMPL_H

#include <stddef.h>

#include "dsn.h"

struct arena;
struct mime_header;
struct mime_part;

#define MAX_TEXT	(64 * 1024)	/* of the bounce's own text */
#define MAX_DIAG	(4 * 1024)	/* of one recipient's failure text */
#define MAX_TEXTPARTS	8
#define MAX_DSPARTS	8
#define MAX_EXCLUDE	16
#define MAX_CUTS	8	/* text_cut() answers a parse remembers */

struct dsn_parser {
	struct mime		*m;
	struct arena		*a;
	size_t			 cap;		/* of the report's rcpts */
	int			 inner;		/* parsing an inlined report */
	/*
	 * A copy of a bounce forwarded in a person's text, parsed as a
	 * message of its own (the MIME arena is reset by that parse);
	 * freed by the next top-level dsn_parse() or dsn_parser_free().
	 */
	char			*fwd;
	/*
	 * text_cut() of the bodies this parse has cut (cut_of()): the
	 * text of a part is cut for the report's own text, then again
	 * for what follows the cut. Emptied by each dsn_parse().
	 */
	struct {
		const char	*s, *e, *cut;
	}			 cuts[MAX_CUTS];
	size_t			 ncuts;
};

/* What a walk over the tree found. */
struct found {
	struct mime_part	*ds[MAX_DSPARTS];
	size_t			 nds;
	struct mime_part	*fb;		/* message/feedback-report */
	struct mime_part	*text[MAX_TEXTPARTS];
	size_t			 ntext;
	struct mime_part	*html;
	struct mime_part	*orig;		/* headers of the original */
	struct mime_part	*top;		/* the first part walked */
	unsigned		 flags;
};

/* dsn_scan.c: lines, literals and addresses in [s, e) spans */
int		 is_wsp(int c);
const char	*line_end(const char *p, const char *e);
/*
 * The end of the line at p with its continuations: the lines after it
 * that begin with a space or a tab, are not blank and are indented at
 * least as deep as it, as a text folded at some width has them.
 */
const char	*folded_end(const char *p, const char *e);
int		 has_ci(const char *s, size_t n, const char *lit);
/*
 * Is one of the phrases of list (NULL-terminated, static: never
 * changed once used) in [s, s + n), as has_ci() finds it? One pass
 * for all of them: a window as long as the shortest moves on as far as
 * its last two bytes allow (Wu-Manber). The list's table is built at
 * its first use and kept to the end of the process. A NULL s holds
 * none.
 */
int		 has_any_ci(const char *s, size_t n, const char *const *list);
int		 has_cs(const char *s, size_t n, const char *lit);
const char	*find_ws_ci(const char *s, size_t n, const char *lit,
		    const char **endp);
int		 addr_next(const char *p, const char *e, const char **as,
		    const char **ae);
const char	*addr_dup(struct arena *a, const char *s, const char *e);
/* A lowercase copy of [s, s + n) in the arena. */
char		*lower_dup(struct arena *a, const char *s, size_t n);
int		 addr_eq(const char *a, const char *s, size_t n);
const char	*after_type(const char *v);
struct dsn_rcpt	*rcpt_add(struct dsn_parser *p, struct dsn_report *rep);
int		 rcpt_known(const struct dsn_report *rep, const char *s,
		    size_t n);
int		 has_alnum(const char *s, const char *e);

/* dsn.c: values of RFC 3464 fields */
const char	*field_dup(struct arena *a, const struct mime_header *h);
const char	*status_dup(struct arena *a, const char *v);
const char	*host_dup(struct arena *a, const char *v);

/* dsn_text.c: a bounce in words */
const char	*text_cut(const char *s, const char *e);
/* text_cut(s, e), cut once a parse for each [s, e) (dsn.c). */
const char	*cut_of(struct dsn_parser *p, const char *s, const char *e);
const char	*own_text(struct dsn_parser *p, struct found *f, size_t *lenp);
int		 excluded(const char *const *ex, size_t nex, const char *as,
		    size_t n);
void		 exclude_add(struct arena *a, const char **ex, size_t *nex,
		    const char *v);
void		 text_rcpts(struct dsn_parser *p, struct dsn_report *rep,
		    const char *s, size_t n, const char **ex, size_t nex,
		    int only_known);
int		 from_daemon(const char *v);
extern const char *const bounce_subjects[];
/*
 * Does s hold one of the phrases of list (NULL-terminated), in any
 * case? any_in() looks in [s, s + n); matches_any() in the string s.
 * A NULL s holds none. The list must be static (has_any_ci() keeps a
 * table for it by its address).
 */
int		 any_in(const char *s, size_t n, const char *const *list);
int		 matches_any(const char *s, const char *const *list);
int		 is_bounce(struct mime_part *root, const char *subject,
		    const char *from);
int		 fml_notice(struct mime_part *root, const char *from);
void		 fml_rcpts(struct dsn_parser *p, struct dsn_report *rep,
		    const char *subject, const char *s, size_t n);
/* A bounce in words that says delivery is still being tried? */
int		 warning_text(const char *subject, const char *s, size_t n);
const char	*inlined_report(const struct mime_part *root, size_t *lenp);

/* dsn_json.c: Amazon SES notifications, Mailgun events */
int		 ses_json(struct dsn_parser *p, struct dsn_report *rep,
		    const char *s, size_t n);
/* The whole input is a notification (bare or in an SNS envelope)? */
int		 ses_bare(struct dsn_parser *p, struct dsn_report *rep,
		    const char *msg, size_t len);
/*
 * SES's bounceType and bounceSubType, where no rule knew r's reply;
 * a Transient bounce never suppresses and is never a hard bounce
 * (cl->temporary is set). Adds "ses=Type/SubType" or
 * "guard=ses-transient" to cl's details when it changed cl.
 */
void		 ses_verdict(const struct dsn_report *rep,
		    const struct dsn_rcpt *r, struct classification *cl);

/* dsn_notice.c: notices that report no delivery, forwarded bounces */
/*
 * Is the text a notice that names no failed recipient (a session
 * transcript to the postmaster, a message frozen in the queue, a list's
 * post held for its moderator, a report on the recall of a message, a
 * lure dressed as a bounce)? html is the HTML part the text came from,
 * with its links (or NULL).
 */
int		 not_a_report(const char *subject, const char *s, size_t n,
		    const char *html, size_t hn);
/* A message disposition notification (RFC 8098), never a bounce? */
int		 is_mdn(const struct mime_part *root);
/* A report in words of a successful delivery, and of no failure? */
int		 success_text(const char *subject, const char *s, size_t n);
/* A content filter's notice to the sender about a virus or banned part? */
int		 filter_notice(const char *subject, const char *s, size_t n,
		    int autosent);
/*
 * A challenge-response system's request to the sender to prove itself
 * before the message is delivered ("I allow incoming messages only from
 * senders I have approved"), from the recipient's address, not from a
 * mailer? It reports no failed recipient.
 */
int		 challenge_request(const char *subject, const char *from,
		    const char *s, size_t n);
/* Was the message written by a person (not a mailer), as a forward is? */
int		 from_person(const char *subject, const char *from,
		    const char *retpath);
/* The bounce forwarded in [s, s + n), from its header lines; or NULL. */
const char	*forwarded_bounce(const char *s, size_t n, size_t *lenp);

/* dsn_arf.c: feedback reports and auto-replies */
int		 is_autoreply(struct mime_part *root, const char *subject,
		    const char *from);
int		 arf(struct dsn_parser *p, struct dsn_report *rep,
		    struct mime_part *root, struct found *f);

#endif

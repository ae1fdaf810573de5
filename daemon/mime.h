/*
 * mime.h -- parse one RFC 5322 message with MIME into a tree of parts
 *
 * The parser reads what mail systems really send: an mbox "From " line
 * before the headers, CRLF, LF or CR line ends, folded and 8-bit headers,
 * RFC 2047 encoded words, RFC 2231 parameter continuations, nested
 * multiparts whose boundaries are missing, wrong or never closed
 * (parsed as far as they go), quoted-printable and base64, legacy
 * charsets (ISO-2022-JP, Shift_JIS/CP932, EUC-JP, ISO-8859-x,
 * Windows-125x, UTF-16, ...) converted to UTF-8 through iconv, and embedded
 * messages (message/rfc822, message/global, text/rfc822-headers),
 * which become the child of their part.
 *
 * Parsing is lazy where it pays: mime_parse() only splits headers and
 * parts; a body is decoded and converted when mime_body() asks for it,
 * so the attached original of a bounce costs nothing.
 *
 * Memory: a struct mime owns an arena (arena.h) and a few iconv
 * handles. Every pointer it hands out (parts, headers, decoded text)
 * points into the arena or into the message buffer given to
 * mime_parse(), and stays valid until the next mime_parse() on the same
 * parser or mime_free(); the caller keeps the message buffer alive as
 * long. Depth, part and header counts are bounded, so no input makes
 * the parser recurse or allocate without limit. Not thread-safe: one
 * parser per thread.
 */
#ifndef BOUNCER_MIME_H
#define BOUNCER_MIME_H

#include <stddef.h>

#define MIME_MAX_DEPTH		24	/* nested multiparts and messages */
#define MIME_MAX_PARTS		4096	/* in one message, all levels */
#define MIME_MAX_HEADERS	1024	/* in one header block */

struct mime;

struct mime_header {
	const char	*name;		/* NUL-terminated, as written */
	const char	*value;		/* unfolded, trimmed, raw bytes */
	size_t		 len;		/* of value */
};

enum mime_cte { CTE_IDENTITY = 0, CTE_QP, CTE_BASE64 };

/* mime_part.flags */
#define MIME_F_UNCLOSED		0x01	/* multipart without its close line */
#define MIME_F_NOBOUNDARY	0x02	/* multipart whose boundary is absent */
#define MIME_F_GUESSED		0x04	/* boundary guessed from the body */
#define MIME_F_TRUNCATED	0x08	/* limits cut the tree here */

struct mime_part {
	struct mime_part	*parent;
	struct mime_part	*child;		/* first subpart, or the
						 * embedded message */
	struct mime_part	*next;		/* next sibling */
	struct mime_header	*hdrs;
	size_t			 nhdrs;
	const char		*type;		/* "text/plain", lowercase */
	const char		*charset;	/* lowercase, or NULL */
	const char		*boundary;	/* or NULL */
	const char		*report_type;	/* lowercase, or NULL */
	enum mime_cte		 cte;
	const char		*raw;		/* the body as sent */
	size_t			 rawlen;
	const char		*preamble;	/* a multipart's text before
						 * its first part, or NULL */
	size_t			 preamblelen;
	int			 depth;
	unsigned		 flags;
	/* Set by mime_body(): the decoded body, NUL-terminated. */
	const char		*text;
	size_t			 textlen;
};

struct mime	*mime_new(void);
void		 mime_free(struct mime *);	/* NULL is fine */

/*
 * Parses len bytes of msg (no NUL needed) and returns the root part:
 * the message itself. Never fails and never returns NULL; an empty or
 * malformed message gives a root with what could be read.
 */
struct mime_part *mime_parse(struct mime *, const char *msg, size_t len);

/* Total number of parts of the last parse (for tests and limits). */
size_t		 mime_nparts(const struct mime *);

/* The first header named `name` (any case) of part, or NULL. */
const struct mime_header *mime_header(const struct mime_part *,
		    const char *name);
/* Its raw value, or NULL. */
const char	*mime_header_value(const struct mime_part *, const char *name);
/*
 * Its value with RFC 2047 encoded words decoded and everything in
 * UTF-8 (8-bit bytes in the part's charset, else kept if UTF-8, else
 * replaced); NULL when the header is absent.
 */
const char	*mime_header_text(struct mime *, const struct mime_part *,
		    const char *name);

/*
 * The body of a leaf part: transfer encoding undone and, for text parts
 * and delivery-status reports, converted to UTF-8. For a multipart it
 * is the raw body. *len may be NULL. Cached in the part.
 */
const char	*mime_body(struct mime *, struct mime_part *, size_t *len);

/*
 * Parses one header block at s (n bytes) into an array in the arena.
 * Stops after the empty line that ends the block, or at a line that is
 * neither a field nor a continuation. Returns the bytes consumed.
 * Used for the field groups of message/delivery-status.
 */
size_t		 mime_fields(struct mime *, const char *s, size_t n,
		    struct mime_header **hdrs_r, size_t *nhdrs_r);

/* Decodes RFC 2047 words in s (n bytes) to UTF-8; NUL-terminated. */
const char	*mime_decode_words(struct mime *, const char *s, size_t n,
		    size_t *len);
/*
 * Converts n bytes from charset (NULL: unknown) to UTF-8. Unknown
 * charsets and invalid sequences keep what is valid UTF-8 and replace
 * the rest with U+FFFD. NUL-terminated; *len may be NULL.
 */
const char	*mime_to_utf8(struct mime *, const char *charset,
		    const char *s, size_t n, size_t *len);

/*
 * Value of parameter `name` of a structured header value such as a
 * Content-Type ("text/plain; charset=\"x\""), with quoting undone and
 * RFC 2231 continuations and %-escapes joined; NULL when absent.
 */
const char	*mime_param(struct mime *, const char *value, size_t len,
		    const char *name);

/* The arena of the parser, for callers that build per-message data. */
struct arena	*mime_arena(struct mime *);

#endif

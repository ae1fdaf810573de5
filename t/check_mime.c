/*
 * check_mime.c -- the MIME parser on what mail systems really send
 *
 * Charsets (each one bounce parsing needs, in a body and in encoded
 * words), the shape of the part tree for well-formed, broken and
 * hostile messages (unclosed and missing boundaries, wrong declared
 * boundaries, CRLF, mbox lines, no headers, deep nesting, a 1 MB line),
 * header unfolding and RFC 2047, and RFC 2231 parameters.
 *
 * See also: mime.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "arena.h"
#include "lineio.h"
#include "mime.h"
#include "testlib.h"
#include "xalloc.h"

#define NCASES(a)	((int)(sizeof(a) / sizeof((a)[0])))

/* --- charsets -------------------------------------------------------- */

struct charset_case {
	const char	*charset;	/* NULL: none declared */
	const char	*bytes;
	const char	*utf8;
};

static const struct charset_case charset_cases[] = {
	{ "iso-2022-jp", "\x1b$B$3$s$K$A$O\x1b(B",
	  "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf" },
	{ "ISO-2022-JP", "x \x1b$B$3$s\x1b(B y",
	  "x \xe3\x81\x93\xe3\x82\x93 y" },
	{ "shift_jis", "\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd",
	  "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf" },
	{ "Shift-JIS", "\x82\xb1", "\xe3\x81\x93" },
	{ "cp932", "\x87@", "\xe2\x91\xa0" },		/* circled 1 */
	{ "windows-31j", "\x87@", "\xe2\x91\xa0" },
	{ "euc-jp", "\xa4\xb3\xa4\xf3\xa4\xcb\xa4\xc1\xa4\xcf",
	  "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf" },
	{ "iso-8859-1", "caf\xe9", "caf\xc3\xa9" },
	{ "latin1", "caf\xe9", "caf\xc3\xa9" },
	{ "iso-8859-15", "\xa4", "\xe2\x82\xac" },
	{ "iso-8859-2", "\xb1", "\xc4\x85" },
	{ "windows-1252", "\x80\x93x\x94",
	  "\xe2\x82\xac\xe2\x80\x9cx\xe2\x80\x9d" },
	{ "windows-1251", "\xcf\xf0\xe8", "\xd0\x9f\xd1\x80\xd0\xb8" },
	{ "koi8-r", "\xed\xc9\xd2", "\xd0\x9c\xd0\xb8\xd1\x80" },
	{ "utf-8", "caf\xc3\xa9", "caf\xc3\xa9" },
	/* Invalid UTF-8 is replaced, valid kept. */
	{ "utf-8", "a\xff" "b", "a\xef\xbf\xbd" "b" },
	/* An unknown charset keeps what is valid UTF-8. */
	{ "x-no-such-charset", "caf\xc3\xa9\xe9",
	  "caf\xc3\xa9\xef\xbf\xbd" },
	/* No charset: ISO-2022-JP is recognised by its escapes. */
	{ NULL, "\x1b$B$3\x1b(B", "\xe3\x81\x93" },
	{ "us-ascii", "\x1b$B$3\x1b(B", "\xe3\x81\x93" },
	/* Truncated multibyte input does not stop the conversion. */
	{ "shift_jis", "a\x82", "a\xef\xbf\xbd" },
	{ "euc-jp", "\xa4\xb3\xa4", "\xe3\x81\x93\xef\xbf\xbd" },
};

START_TEST(test_charset_body)
{
	const struct charset_case *c = &charset_cases[_i];
	struct mime *m = mime_new();
	struct mime_part *root;
	char msg[512];
	const char *body;
	size_t len;

	if (c->charset)
		snprintf(msg, sizeof(msg), "Subject: x\nContent-Type: "
		    "text/plain; charset=\"%s\"\n\n%s", c->charset, c->bytes);
	else
		snprintf(msg, sizeof(msg), "Subject: x\n\n%s", c->bytes);
	root = mime_parse(m, msg, strlen(msg));
	body = mime_body(m, root, &len);
	ck_assert_msg(strcmp(body, c->utf8) == 0, "%s: got \"%s\"",
	    c->charset ? c->charset : "(none)", body);
	ck_assert_uint_eq(len, strlen(c->utf8));
	mime_free(m);
}
END_TEST

/* The same bytes in an RFC 2047 Q word. */
START_TEST(test_charset_word)
{
	const struct charset_case *c = &charset_cases[_i];
	struct mime *m = mime_new();
	char word[512], *d;
	const char *s, *out;

	if (c->charset == NULL) {
		mime_free(m);
		return;
	}
	d = word + snprintf(word, sizeof(word), "=?%s?Q?", c->charset);
	for (s = c->bytes; *s; s++)
		d += sprintf(d, "=%02X", (unsigned char)*s);
	strcpy(d, "?=");
	out = mime_decode_words(m, word, strlen(word), NULL);
	ck_assert_msg(strcmp(out, c->utf8) == 0, "%s: got \"%s\"", word,
	    out);
	mime_free(m);
}
END_TEST

/* --- headers --------------------------------------------------------- */

struct word_case {
	const char	*in;
	const char	*out;
};

static const struct word_case word_cases[] = {
	{ "plain text", "plain text" },
	{ "=?utf-8?B?44Gr44KD44KT44GT?=",
	  "\xe3\x81\xab\xe3\x82\x83\xe3\x82\x93\xe3\x81\x93" },
	{ "=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=",
	  "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf" },
	{ "=?iso-8859-1?q?caf=E9_noir?=", "caf\xc3\xa9 noir" },
	/* Blanks between adjacent words go; around words, they stay. */
	{ "=?utf-8?q?a?= =?utf-8?q?b?=", "ab" },
	{ "x =?utf-8?q?a?= y", "x a y" },
	/* A character split across two words (UTF-8, 3 bytes). */
	{ "=?utf-8?B?44E=?= =?utf-8?B?kw==?=", "\xe3\x81\x93" },
	/* Different charsets side by side. */
	{ "=?iso-8859-1?q?=E9?= =?utf-8?q?=C3=A9?=", "\xc3\xa9\xc3\xa9" },
	/* RFC 2231 language in a word. */
	{ "=?utf-8*en?q?hi?=", "hi" },
	/* Malformed words stay as they are. */
	{ "=?utf-8?x?abc?=", "=?utf-8?x?abc?=" },
	{ "=?utf-8?q?unterminated", "=?utf-8?q?unterminated" },
	{ "=?", "=?" },
	/* 8-bit bytes that are UTF-8 pass; others are replaced. */
	{ "caf\xc3\xa9", "caf\xc3\xa9" },
	{ "caf\xe9", "caf\xef\xbf\xbd" },
};

START_TEST(test_words)
{
	const struct word_case *c = &word_cases[_i];
	struct mime *m = mime_new();
	const char *out;

	out = mime_decode_words(m, c->in, strlen(c->in), NULL);
	ck_assert_msg(strcmp(out, c->out) == 0, "\"%s\": got \"%s\"", c->in,
	    out);
	mime_free(m);
}
END_TEST

struct param_case {
	const char	*value;
	const char	*name;
	const char	*want;		/* NULL: absent */
};

static const struct param_case param_cases[] = {
	{ "text/plain; charset=us-ascii", "charset", "us-ascii" },
	{ "text/plain; CHARSET=\"ISO-2022-JP\"", "charset", "ISO-2022-JP" },
	{ "multipart/mixed; boundary=\"a b; c\"", "boundary", "a b; c" },
	{ "multipart/mixed; boundary=\"a\\\"b\"", "boundary", "a\"b" },
	{ "multipart/mixed; boundary=----=_Part_1", "boundary",
	  "----=_Part_1" },
	{ "multipart/mixed;\tboundary=x;", "boundary", "x" },
	{ "multipart/mixed; boundary*0=\"abc\"; boundary*1=\"def\"",
	  "boundary", "abcdef" },
	{ "multipart/mixed; boundary*1=def; boundary*0=abc", "boundary",
	  "abcdef" },
	{ "text/plain; charset*=us-ascii'en'utf%2D8", "charset", "utf-8" },
	{ "text/plain; charset*0*=utf-8''a%41; charset*1=b", "charset",
	  "aAb" },
	{ "multipart/report; report-type=delivery-status boundary=\"b\"",
	  "boundary", "b" },
	{ "text/plain", "charset", NULL },
	{ "text/plain; charsetx=y", "charset", NULL },
	{ "text/plain; charset=", "charset", "" },
};

START_TEST(test_params)
{
	const struct param_case *c = &param_cases[_i];
	struct mime *m = mime_new();
	const char *got;

	got = mime_param(m, c->value, strlen(c->value), c->name);
	if (c->want == NULL)
		ck_assert_msg(got == NULL, "%s: got \"%s\"", c->value, got);
	else
		ck_assert_msg(got != NULL && strcmp(got, c->want) == 0,
		    "%s: got \"%s\"", c->value, got ? got : "(null)");
	mime_free(m);
}
END_TEST

/* --- the tree -------------------------------------------------------- */

/* Renders a tree as "multipart/mixed(text/plain,message/rfc822(...))". */
static void
render(const struct mime_part *p, char *buf, size_t bufsz)
{
	size_t off;

	for (; p != NULL; p = p->next) {
		off = strlen(buf);
		snprintf(buf + off, bufsz - off, "%s", p->type);
		if (p->child != NULL) {
			off = strlen(buf);
			snprintf(buf + off, bufsz - off, "(");
			render(p->child, buf, bufsz);
			off = strlen(buf);
			snprintf(buf + off, bufsz - off, ")");
		}
		if (p->next != NULL) {
			off = strlen(buf);
			snprintf(buf + off, bufsz - off, ",");
		}
	}
}

struct tree_case {
	const char	*name;
	const char	*msg;
	const char	*tree;
	unsigned	 flags;		/* must be set on the root */
	const char	*header;	/* "name=value" on the root, or NULL */
	const char	*leaf;		/* first leaf's decoded body, or NULL */
};

#define DSN_B64 "UmVwb3J0aW5nLU1UQTogZG5zOyBteC5leGFtcGxlLm5ldAoKRmluYWwtUmVjaXBpZW50OiByZmM4MjI7IGFAZXhhbXBsZS5vcmcKQWN0aW9uOiBmYWlsZWQKU3RhdHVzOiA1LjEuMQpEaWFnbm9zdGljLUNvZGU6IHNtdHA7IDU1MCA1LjEuMSB1c2VyIHVua25vd24K"

static const struct tree_case tree_cases[] = {
	{ "single part", "Subject: a\n\nhello\n", "text/plain", 0,
	  "subject=a", "hello\n" },
	{ "crlf", "Subject: a\r\nContent-Type: text/plain\r\n\r\nhi\r\n",
	  "text/plain", 0, "subject=a", "hi\r\n" },
	{ "mbox from line", "From MAILER-DAEMON Thu Apr 29 2010\n"
	  "Subject: a\n\nbody", "text/plain", 0, "subject=a", "body" },
	{ "folded header", "Subject: one\n two\n\tthree\n\nb", "text/plain",
	  0, "subject=one two\tthree", "b" },
	{ "folded crlf header", "Subject: one\r\n two\r\n\r\nb",
	  "text/plain", 0, "subject=one two", "b" },
	{ "8-bit header", "Subject: caf\xc3\xa9\n\nb", "text/plain", 0,
	  "subject=caf\xc3\xa9", "b" },
	{ "blank before colon", "Subject : x\n\nb", "text/plain", 0,
	  "subject=x", "b" },
	{ "no headers", "just a body line\nand another\n", "text/plain", 0,
	  NULL, "just a body line\nand another\n" },
	{ "no empty line", "Subject: a", "text/plain", 0, "subject=a", "" },
	{ "empty", "", "text/plain", 0, NULL, "" },
	{ "nested multipart",
	  "Content-Type: multipart/mixed; boundary=\"o\"\n\npre\n--o\n"
	  "Content-Type: multipart/report; boundary=i\n\n--i\n\ntext\n--i\n"
	  "Content-Type: message/delivery-status\n\nStatus: 5.1.1\n--i--\n"
	  "--o\nContent-Type: message/rfc822\n\nSubject: orig\n\nx\n--o--\n",
	  "multipart/mixed(multipart/report(text/plain,"
	  "message/delivery-status),message/rfc822(text/plain))", 0, NULL,
	  NULL },
	{ "unclosed",
	  "Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n"
	  "Content-Type: text/html\n\n<p>two",
	  "multipart/mixed(text/plain,text/html)", MIME_F_UNCLOSED, NULL,
	  NULL },
	{ "no boundary parameter",
	  "Content-Type: multipart/mixed\n\njust text\n", "text/plain",
	  MIME_F_NOBOUNDARY, NULL, "just text\n" },
	{ "boundary never used, none to guess",
	  "Content-Type: multipart/mixed; boundary=zz\n\ntext only\n",
	  "text/plain", MIME_F_NOBOUNDARY, NULL, "text only\n" },
	{ "wrong boundary declared",
	  "Content-Type: multipart/mixed; boundary=\"declared\"\n\n"
	  "--actual\n\none\n--actual\nContent-Type: text/html\n\n2\n"
	  "--actual--\n",
	  "multipart/mixed(text/plain,text/html)", MIME_F_GUESSED, NULL,
	  NULL },
	{ "delimiter with trailing blanks",
	  "Content-Type: multipart/mixed; boundary=b\n\n--b  \n\none\n--b--\n",
	  "multipart/mixed(text/plain)", 0, NULL, "one" },
	{ "boundary as a prefix of a line is not a delimiter",
	  "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bx\n--b--\n",
	  "multipart/mixed(text/plain)", 0, NULL, "--bx" },
	{ "rfc 2231 boundary",
	  "Content-Type: multipart/mixed; boundary*0=\"ab\"; "
	  "boundary*1=\"cd\"\n\n--abcd\n\nx\n--abcd--\n",
	  "multipart/mixed(text/plain)", 0, NULL, "x" },
	{ "base64 delivery-status",
	  "Content-Type: multipart/report; boundary=b\n\n--b\n"
	  "Content-Type: message/delivery-status\n"
	  "Content-Transfer-Encoding: base64\n\n" DSN_B64 "\n--b--\n",
	  "multipart/report(message/delivery-status)", 0, NULL,
	  "Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; "
	  "a@example.org\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: "
	  "smtp; 550 5.1.1 user unknown\n" },
	{ "quoted-printable",
	  "Content-Type: text/plain; charset=utf-8\n"
	  "Content-Transfer-Encoding: quoted-printable\n\n"
	  "caf=C3=A9 =\nsoft=3D break=20\n",
	  "text/plain", 0, NULL, "caf\xc3\xa9 soft= break \n" },
	{ "base64 iso-2022-jp",
	  "Content-Type: text/plain; charset=iso-2022-jp\n"
	  "Content-Transfer-Encoding: BASE64\n\nGyRCJDMkcyRLJEEkTxsoQg==\n",
	  "text/plain", 0, NULL,
	  "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf" },
	{ "bad base64 is skipped, not fatal",
	  "Content-Transfer-Encoding: base64\n\naGk*!*=\n", "text/plain", 0,
	  NULL, "hi" },
	{ "text/rfc822-headers",
	  "Content-Type: multipart/report; boundary=b\n\n--b\n"
	  "Content-Type: text/rfc822-headers\n\nMessage-ID: <x@y>\n"
	  "To: a@b.example\n--b--\n",
	  "multipart/report(text/rfc822-headers(text/plain))", 0, NULL,
	  NULL },
	{ "message/global",
	  "Content-Type: message/global\n\nSubject: caf\xc3\xa9\n\nbody\n",
	  "message/global(text/plain)", 0, NULL, NULL },
	{ "digest default type",
	  "Content-Type: multipart/digest; boundary=b\n\n--b\n\n"
	  "Subject: one\n\nx\n--b--\n",
	  "multipart/digest(message/rfc822(text/plain))", 0, NULL, NULL },
	{ "garbage content type",
	  "Content-Type: ;;;===\n\nbody", "text/plain", 0, NULL, "body" },
	{ "part text with no empty line after the delimiter",
	  "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	  "Reason: 550 5.1.1 user unknown\n--b\nContent-Type: text/html\n"
	  "X-Note: a\n\n<p>x\n--b--\n",
	  "multipart/mixed(text/plain,text/html)", 0, NULL,
	  "Reason: 550 5.1.1 user unknown" },
	{ "digest post with no empty line after the delimiter",
	  "Content-Type: multipart/digest; boundary=b\n\n--b\n"
	  "Subject: one\n\nx\n--b--\n",
	  "multipart/digest(message/rfc822(text/plain))", 0, NULL, "x" },
	{ "lines that end in CR alone",
	  "Subject: a\rContent-Type: multipart/report; boundary=b\r\r--b\r"
	  "\rone\r--b\rContent-Type: message/delivery-status\r\r"
	  "Status: 5.1.1\r--b--\r",
	  "multipart/report(text/plain,message/delivery-status)", 0,
	  "subject=a", "one" },
	{ "utf-16le base64 text",
	  "Content-Type: text/plain; charset=utf-16le\n"
	  "Content-Transfer-Encoding: base64\n\nNQA1ADAAIAB4AA==\n",
	  "text/plain", 0, NULL, "550 x" },
};

static const struct mime_part *
first_leaf(const struct mime_part *p)
{
	while (p->child != NULL)
		p = p->child;
	return p;
}

START_TEST(test_tree)
{
	const struct tree_case *c = &tree_cases[_i];
	struct mime *m = mime_new();
	struct mime_part *root;
	char buf[1024] = "", name[64];
	const char *eq, *v, *body;

	/* Parse from a heap copy so that ASan sees any overread. */
	char *msg = xmalloc(strlen(c->msg) + 1);

	memcpy(msg, c->msg, strlen(c->msg));
	root = mime_parse(m, msg, strlen(c->msg));
	render(root, buf, sizeof(buf));
	ck_assert_msg(strcmp(buf, c->tree) == 0, "%s: tree %s", c->name,
	    buf);
	ck_assert_msg((root->flags & c->flags) == c->flags,
	    "%s: flags %x", c->name, root->flags);
	if (c->header != NULL) {
		eq = strchr(c->header, '=');
		snprintf(name, sizeof(name), "%.*s", (int)(eq - c->header),
		    c->header);
		v = mime_header_value(root, name);
		ck_assert_msg(v != NULL && strcmp(v, eq + 1) == 0,
		    "%s: %s is \"%s\"", c->name, name, v ? v : "(null)");
	}
	if (c->leaf != NULL) {
		body = mime_body(m, (struct mime_part *)first_leaf(root),
		    NULL);
		ck_assert_msg(strncmp(body, c->leaf, strlen(c->leaf)) == 0,
		    "%s: body \"%s\"", c->name, body);
	}
	free(msg);
	mime_free(m);
}
END_TEST

/*
 * Charsets of 16- and 32-bit units, whose ASCII has NUL bytes, which
 * are never kept as text; UTF-7, whose ASCII bytes are not all ASCII.
 */
struct wide_case {
	const char	*charset;
	const char	*bytes;
	size_t		 len;
	const char	*utf8;
};

static const struct wide_case wide_cases[] = {
	{ "utf-16le", "5\0005\0000\0 \0x\0", 10, "550 x" },
	{ "UTF-16BE", "\0005\0005\0000", 6, "550" },
	{ "utf-16", "\xff\xfe" "5\0\xe9\0", 6, "5\xc3\xa9" },
	{ "utf-16", "\xfe\xff\0005\0\xe9", 6, "5\xc3\xa9" },
	{ "unicode", "\xff\xfe" "a\0b\0", 6, "ab" },
	{ "utf-32le", "a\0\0\0b\0\0\0", 8, "ab" },
	/* UTF-7: ASCII bytes, not ASCII text. */
	{ "utf-7", "Empf+AOQ-nger", 13, "Empf\xc3\xa4nger" },
	{ "UTF-7", "a+-b", 4, "a+b" },
	/* An odd byte at the end is replaced, the rest kept. */
	{ "utf-16le", "a\0b", 3, "a\xef\xbf\xbd" },
	/* A lone surrogate is one unit: the text after it stays in step. */
	{ "utf-16le", "\0\xd8" "a\0b\0", 6, "\xef\xbf\xbd" "ab" },
	{ "UTF-16BE", "\xdc\0\0a", 4, "\xef\xbf\xbd" "a" },
	{ "utf-32le", "\0\0\x11\0" "a\0\0\0", 8, "\xef\xbf\xbd" "a" },
};

START_TEST(test_wide)
{
	const struct wide_case *c = &wide_cases[_i];
	struct mime *m = mime_new();
	char *in = xmalloc(c->len);
	const char *out;
	size_t len;

	memcpy(in, c->bytes, c->len);
	out = mime_to_utf8(m, c->charset, in, c->len, &len);
	ck_assert_msg(len == strlen(c->utf8) && memcmp(out, c->utf8,
	    len) == 0, "%s #%d: got \"%s\"", c->charset, _i, out);
	free(in);
	mime_free(m);
}
END_TEST

/* A multipart's preamble: the text before its first delimiter. */
START_TEST(test_preamble)
{
	static const char msg[] = "Content-Type: multipart/mixed; "
	    "boundary=b\n\nThe notice.\n--b\n\none\n--b--\n";
	static const char none[] = "Content-Type: multipart/mixed; "
	    "boundary=b\n\n--b\n\none\n--b--\n";
	struct mime *m = mime_new();
	struct mime_part *root;

	root = mime_parse(m, msg, strlen(msg));
	ck_assert_uint_eq(root->preamblelen, 12);
	ck_assert(memcmp(root->preamble, "The notice.\n", 12) == 0);
	ck_assert_ptr_null(root->child->preamble);
	root = mime_parse(m, none, strlen(none));
	ck_assert_ptr_null(root->preamble);
	ck_assert_uint_eq(root->preamblelen, 0);
	mime_free(m);
}
END_TEST

/* A CR-only message parsed twice, and after a parse of another. */
START_TEST(test_cr_reuse)
{
	static const char cr[] = "Subject: cr\r\rbody\r";
	static const char lf[] = "Subject: lf\n\nbody\n";
	struct mime *m = mime_new();
	struct mime_part *root;
	int i;

	for (i = 0; i < 3; i++) {
		root = mime_parse(m, i == 1 ? lf : cr, strlen(cr));
		ck_assert_str_eq(mime_header_value(root, "subject"),
		    i == 1 ? "lf" : "cr");
		ck_assert_str_eq(mime_body(m, root, NULL), "body\n");
	}
	mime_free(m);
}
END_TEST

/* Nesting far past the limit: no crash, the tree stops at the limit. */
START_TEST(test_deep)
{
	struct mime *m = mime_new();
	struct mime_part *root, *p;
	size_t i, n = 2000, off = 0, cap = n * 80 + 64;
	char *msg = xmalloc(cap);
	int depth = 0;

	for (i = 0; i < n; i++)
		off += (size_t)snprintf(msg + off, cap - off,
		    "Content-Type: multipart/mixed; boundary=b%zu\n\n--b%zu\n",
		    i, i);
	off += (size_t)snprintf(msg + off, cap - off, "\nend\n");
	root = mime_parse(m, msg, off);
	for (p = root; p->child != NULL; p = p->child)
		depth++;
	ck_assert_int_le(depth, MIME_MAX_DEPTH + 1);
	ck_assert(p->flags & MIME_F_TRUNCATED);
	free(msg);
	mime_free(m);
}
END_TEST

/* Many parts: bounded by MIME_MAX_PARTS. */
START_TEST(test_many_parts)
{
	struct mime *m = mime_new();
	size_t i, n = MIME_MAX_PARTS * 2, off = 0, cap = n * 16 + 128;
	char *msg = xmalloc(cap);

	off += (size_t)snprintf(msg, cap, "Content-Type: multipart/mixed; "
	    "boundary=b\n\n");
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(msg + off, cap - off, "--b\n\nx\n");
	mime_parse(m, msg, off);
	ck_assert_uint_le(mime_nparts(m), MIME_MAX_PARTS + 1);
	free(msg);
	mime_free(m);
}
END_TEST

/* A 1 MB line in a header and in a body. */
START_TEST(test_long_line)
{
	struct mime *m = mime_new();
	struct mime_part *root;
	size_t n = 1024 * 1024, len;
	char *msg = xmalloc(n * 2 + 64), *p = msg;
	const char *body;

	p += sprintf(p, "Subject: ");
	memset(p, 'a', n);
	p += n;
	p += sprintf(p, "\n\n");
	memset(p, 'b', n);
	p += n;
	root = mime_parse(m, msg, (size_t)(p - msg));
	ck_assert_uint_eq(strlen(mime_header_value(root, "subject")), n);
	body = mime_body(m, root, &len);
	ck_assert_uint_eq(len, n);
	ck_assert_int_eq(body[n - 1], 'b');
	free(msg);
	mime_free(m);
}
END_TEST

/* Reusing a parser: the arena keeps its blocks and memory stays flat. */
START_TEST(test_reuse)
{
	struct mime *m = mime_new();
	const char *msg = "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Type: text/plain; charset=iso-2022-jp\n\n"
	    "\x1b$B$3\x1b(B\n--b--\n";
	size_t i, size = 0;

	for (i = 0; i < 1000; i++) {
		struct mime_part *root = mime_parse(m, msg, strlen(msg));

		mime_body(m, root->child, NULL);
		if (i == 10)
			size = arena_size(mime_arena(m));
	}
	ck_assert_uint_eq(arena_size(mime_arena(m)), size);
	mime_free(m);
}
END_TEST

/* Every prefix of a message parses (truncated input, no overreads). */
START_TEST(test_prefixes)
{
	static const char full[] =
	    "From x\nContent-Type: multipart/report; boundary=\"b\"\n"
	    "Subject: =?utf-8?B?44Gr?=\n\n--b\nContent-Type: text/plain; "
	    "charset=iso-2022-jp\nContent-Transfer-Encoding: quoted-printable"
	    "\n\n=1B$B$3=1B(B =\n--b\nContent-Type: message/rfc822\n"
	    "Content-Transfer-Encoding: base64\n\nU3ViamVjdDogeAoKeQo=\n--b--\n";
	struct mime *m = mime_new();
	size_t n;

	for (n = 0; n <= sizeof(full) - 1; n++) {
		char *msg = xmalloc(n ? n : 1);
		struct mime_part *root, *p;

		memcpy(msg, full, n);
		root = mime_parse(m, msg, n);
		mime_header_text(m, root, "subject");
		for (p = root->child; p != NULL; p = p->next)
			mime_body(m, p, NULL);
		mime_body(m, root, NULL);
		free(msg);
	}
	mime_free(m);
}
END_TEST

/* HTML character references: what each stands for, and its length. */
static const struct {
	const char	*in;
	size_t		 used;
	const char	*out;
} entity_cases[] = {
	{ "&amp;lt;", 5, "&" },
	{ "&LT;x", 4, "<" },
	{ "&apos;", 6, "'" },
	{ "&nbsp;", 6, " " },
	{ "&#64;", 5, "@" },
	{ "&#x40;", 6, "@" },
	{ "&#X2019;", 8, "\xe2\x80\x99" },
	{ "&#128512;", 9, "\xf0\x9f\x98\x80" },
	{ "&#0000039;", 10, "'" },
	{ "&#00000039;", 0, "" },		/* eight digits */
	{ "&#0;", 0, "" },
	{ "&#xD800;", 0, "" },			/* a surrogate */
	{ "&#x110000;", 0, "" },
	{ "&#;", 0, "" },
	{ "&#x;", 0, "" },
	{ "&#64", 0, "" },			/* no ";" */
	{ "&amp", 0, "" },
	{ "&", 0, "" },
	{ "x&amp;", 0, "" },
};

START_TEST(test_entity)
{
	const char *in = entity_cases[_i].in;
	char buf[16], *d = buf;
	size_t used;

	memset(buf, 'Z', sizeof(buf));
	used = html_entity(in, in + strlen(in), &d);
	ck_assert_msg(used == entity_cases[_i].used, "%s: used %zu", in, used);
	ck_assert_uint_le((size_t)(d - buf), used);
	ck_assert_msg((size_t)(d - buf) == strlen(entity_cases[_i].out) &&
	    memcmp(buf, entity_cases[_i].out, (size_t)(d - buf)) == 0,
	    "%s: wrote \"%.*s\"", in, (int)(d - buf), buf);
}
END_TEST

static Suite *
mime_suite(void)
{
	Suite *s = suite_create("mime");
	TCase *tc;

	tc = tcase_create("charsets");
	tcase_add_loop_test(tc, test_charset_body, 0, NCASES(charset_cases));
	tcase_add_loop_test(tc, test_charset_word, 0, NCASES(charset_cases));
	tcase_add_loop_test(tc, test_wide, 0, NCASES(wide_cases));
	tcase_add_loop_test(tc, test_entity, 0, NCASES(entity_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("headers");
	tcase_add_loop_test(tc, test_words, 0, NCASES(word_cases));
	tcase_add_loop_test(tc, test_params, 0, NCASES(param_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("tree");
	tcase_add_loop_test(tc, test_tree, 0, NCASES(tree_cases));
	tcase_add_test(tc, test_deep);
	tcase_add_test(tc, test_many_parts);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_reuse);
	tcase_add_test(tc, test_prefixes);
	tcase_add_test(tc, test_cr_reuse);
	tcase_add_test(tc, test_preamble);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(mime_suite());
}

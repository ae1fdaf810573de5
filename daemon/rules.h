/*
 * rules.h -- provider rule sets, loaded from rules/ and compiled once
 *
 * A rule set is every "*.rules" file of a directory, read in name
 * order. Each file names a provider and the recipient domains and MX
 * hosts it answers for; a file that names neither is generic and
 * applies to every reply. The format is bouncer-rules(5).
 *
 * The operator's own files may sit in a second, local directory
 * (rules_local_dir): they are read first, and one named as a stock
 * file replaces it, so that upgrades can replace the stock files.
 *
 * A loaded set is immutable and reference counted, so a daemon can load
 * a new one on SIGHUP while sessions finish with the old. Everything a
 * rule set hands out (rules, names, providers) lives as long as the set.
 */
#ifndef BOUNCER_RULES_H
#define BOUNCER_RULES_H

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "verdict.h"

struct ruleset;
struct provider;
struct prefilter_need;

/* One named capture group that becomes a detail. */
struct rule_group {
	char		 key[32];	/* detail key: "ip", "retry_after" */
	int		 num;		/* capture group number */
	unsigned	 scale;		/* seconds per unit for retry_after */
	int		 lower;		/* lowercase the value */
};

/* One "status" constraint: -1 in a field means "x", any. */
struct status_pat {
	short		 cls, subj, det;
};

/* Read-only outside rules.c. */
struct rule {
	const char		*name;
	const char		*file;		/* "gmail.rules" */
	const char		*path;		/* dir/file, for messages */
	int			 line;
	const struct provider	*provider;
	pcre2_code		*re;		/* NULL: constraints only */
	int			 jit;		/* re was JIT-compiled */
	char			(*codes)[4];	/* "550", "5x0"; x any */
	size_t			 ncodes;
	struct status_pat	*statuses;
	size_t			 nstatuses;
	unsigned		 stages;	/* 1 << stage; 0 = any */
	enum reason		 reason;
	unsigned		 decision;
	const char		*details;	/* "blocklist=spamhaus", or "" */
	struct rule_group	*groups;
	size_t			 ngroups;
	/* The literals the pattern needs; NULL: none known, always try. */
	const struct prefilter_need *need;
	int			 nocode;	/* "code none": reply has no code */
	unsigned long		 index;		/* position in the whole set */
	/*
	 * A pattern of two or more top-level branches and no named group
	 * also has them compiled one by one, parts[u] the branch of its
	 * need's unit u: classify() runs only those the prefilter lets
	 * through (ruleset_units()). NULL, 0: it runs re.
	 */
	pcre2_code		**parts;
	size_t			 nparts;
	int			 partsjit;	/* every part JIT-compiled */
};

/*
 * One inline test vector. A vector of a stock file that a local file
 * replaces has overridden set to that local file's path, and provider
 * is the provider of the same name in the set, or NULL.
 */
struct rule_test {
	const char	*file;
	const char	*path;			/* dir/file */
	int		 line;
	const struct provider *provider;
	const char	*overridden;		/* or NULL */
	const char	*rcpt;
	const char	*reply;
	enum reason	 reason;
	unsigned	 decision;
	const char	*tokens;		/* "blocklist=x ip=y", or "" */
};

/*
 * Loads every *.rules file in dir. On error returns NULL and sets *errp
 * to all the problems found, one "dir/file:line: message" per line;
 * the caller frees it.
 */
struct ruleset	*ruleset_load(const char *dir, char **errp);
/*
 * The same without some rules, to see how the others do on their own.
 * Each of without[0 .. nwithout) names a rule file of dir
 * ("gmail.rules"), which is then not read at all, so that its domains
 * and MX hosts belong to no provider; or one rule as PROVIDER:RULE
 * ("generic:greylisted"), which is read and checked like any other and
 * then left out of the set with its test vectors. A name that matches
 * nothing is an error like a bad rule. The strings stay the caller's:
 * the set keeps no pointer to them.
 */
struct ruleset	*ruleset_load_without(const char *dir,
		    const char *const *without, size_t nwithout, char **errp);
/*
 * The same with the *.rules files of localdir read first. A local file
 * with the name of a file of dir replaces it: that one is not part of
 * the set, and only its test vectors are kept, marked overridden (a
 * stock file that does not load gives none). localdir may be NULL or
 * "" (none), or a directory that does not exist (no local files); one
 * that cannot be read is an error. A name in without leaves out the
 * file of that name in both directories.
 */
struct ruleset	*ruleset_load_local(const char *localdir, const char *dir,
		    const char *const *without, size_t nwithout, char **errp);
struct ruleset	*ruleset_ref(struct ruleset *);
void		 ruleset_unref(struct ruleset *);	/* NULL is fine */

/*
 * The provider answering for a recipient domain (exact or "*.suffix"),
 * or, failing that, for the remote host; NULL if neither is known.
 * Either argument may be NULL or "".
 */
const struct provider *ruleset_provider(const struct ruleset *,
		    const char *domain, const char *host);
const char	*provider_name(const struct provider *);	/* "-" for NULL */
const char	*provider_first_domain(const struct provider *); /* or NULL */

/*
 * The rules to try for a provider, in order: its own, then every generic
 * rule. provider may be NULL (generic only). *nrules is set.
 */
const struct rule *const *ruleset_chain(const struct ruleset *,
		    const struct provider *, size_t *nrules);
/*
 * The same chain cut down to the rules whose code and status
 * constraints can hold for a reply with this code (0 if none) and
 * enhanced status class and subject (0 if none), still in order, as
 * indexes into ruleset_rules().
 */
const uint32_t	*ruleset_candidates(const struct ruleset *,
		    const struct provider *, int code, int cls, int subj,
		    size_t *nrules);

/* All rules in load order (for listing), and all test vectors. */
const struct rule *const *ruleset_rules(const struct ruleset *, size_t *n);
const struct rule_test *ruleset_tests(const struct ruleset *, size_t *n);
/*
 * Which rules can match text (len bytes): one pass finds every rule's
 * prefilter literals at once. scratch is the caller's, of
 * ruleset_prefilter_size() bytes, suitably aligned (malloc's); the
 * result, inside it, holds one byte per rule (an index into
 * ruleset_rules()): 0 if the rule's pattern can match, nonzero if not.
 */
size_t		 ruleset_prefilter_size(const struct ruleset *);
const uint8_t	*ruleset_prefilter(const struct ruleset *, const char *text,
		    size_t len, void *scratch);
/*
 * After ruleset_prefilter() into scratch, for rule i (an index into
 * ruleset_rules()) with parts: one byte per part, nonzero if the part
 * can match.
 */
const uint8_t	*ruleset_units(const struct ruleset *, const void *scratch,
		    size_t i);
/*
 * The same scan looks for the literals of the guards' phrase sets
 * (senderside.h, uncertain.h). After ruleset_prefilter() returned miss:
 * the bytes of set's branches (phrases_match_scanned()), or NULL when
 * set is not one the rule set scans for.
 */
struct phrases;
const uint8_t	*ruleset_guard_miss(const struct ruleset *,
		    const uint8_t *miss, const struct phrases *set);
/* The most capture pairs any pattern needs, for match data. */
unsigned	 ruleset_max_captures(const struct ruleset *);

#endif

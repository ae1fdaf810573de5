/*
 * dnsbl.h -- watch our own sending IPs and domains on DNS blocklists
 *
 * A DNSBL is asked about an address by looking up an A record: the
 * IPv4 address's octets reversed (IPv6: its 32 nibbles reversed) or
 * the domain, followed by the zone ("2.0.0.192.zen.spamhaus.org").
 * No such name: not listed. An answer in 127.0.0.0/8: listed, and the
 * address says why (the zone's table of codes, dnsbl_zone.codes).
 * Spamhaus answers 127.255.255.252-255 when it refuses the query (a
 * public resolver, too many queries, a bad key): a monitor error,
 * never a listing.
 *
 * Two parts. The pure one (zones, query names, answers) is used by
 * the tests and by "bouncerctl blocklist". The monitor asks, with
 * libevent's evdns on the caller's event base, each watched target
 * (IPs and domains, configured or discovered) against each zone that
 * takes its kind, every interval (with jitter; never before the last
 * answer's TTL ran out), and reports what changed through a callback.
 *
 * Errors are counted by kind: "timeout", "servfail", "refused" (the
 * Spamhaus codes), "badanswer" (an address outside 127.0.0.0/8: a
 * resolver rewriting answers) and "other". libevent's evdns treats a
 * SERVFAIL answer like a lost packet: it resends at once and, when the
 * attempts are used up, reports a timeout. So a timeout reported in
 * less than half of blocklist_timeout is counted as "servfail": no
 * packet can have been lost that fast.
 *
 * Threads: everything runs on the loop thread of the base given,
 * except dnsbl_discover(), which any thread may call.
 */
#ifndef BOUNCER_DNSBL_H
#define BOUNCER_DNSBL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;

/* What a target is; the bits of dnsbl_zone.types. */
enum dnsbl_type {
	DNSBL_BAD = -1,
	DNSBL_IP4 = 0,
	DNSBL_IP6 = 1,
	DNSBL_DOMAIN = 2
};
#define DNSBL_T(t)	(1u << (t))

/* One answer code, or a range of them (host byte order). */
struct dnsbl_code {
	uint32_t	 lo, hi;
	const char	*meaning;	/* "SBL: a spam source ..." */
};

/* A zone bouncer knows, with what its answers mean. */
struct dnsbl_zone {
	const char	*list;	/* "spamhaus", as rules/ name lists */
	const char	*zone;	/* "zen.spamhaus.org" */
	unsigned	 types;	/* DNSBL_T(DNSBL_IP4) | ... */
	const char	*url;	/* delisting; "%s": the target */
	const struct dnsbl_code *codes;	/* ends with a NULL meaning */
	int		 spamhaus;	/* refusal codes, and DQS */
	int		 dflt;		/* in blocklist_zones' default */
};

/* The table of known zones, ending with a NULL zone. Static. */
const struct dnsbl_zone *dnsbl_known_zones(void);
/* The known zone named zone ("zen.spamhaus.org"), or NULL. */
const struct dnsbl_zone *dnsbl_zone_find(const char *zone);

/*
 * A configured zone: the known entry (or a generic one built for an
 * unknown zone), the zone queried ("KEY.zen.dq.spamhaus.net" with a
 * DQS key) and the zone shown (never with the key).
 */
struct dnsbl_zcfg {
	struct dnsbl_zone	 z;	/* strings static or owned below */
	char			 query[256];
	char			 shown[256];
	char			 list[64];
};

/*
 * Parses blocklist_zones: zones separated by spaces or commas, each a
 * known zone, "zen.dq.spamhaus.net" or "dbl.dq.spamhaus.net" (need a
 * key), or "LIST=ZONE" for a zone bouncer does not know (any answer
 * in 127.0.0.0/8 then means "listed"; it is asked about IPv4 and IPv6
 * addresses). With dqs_key not empty the Spamhaus zones are asked in
 * their DQS form. Returns the number of zones with *out (caller frees
 * with free()), or -1 with a message in *errp (caller frees).
 */
int		 dnsbl_zones_parse(const char *spec, const char *dqs_key,
		    struct dnsbl_zcfg **out, char **errp);

/*
 * What target is: an IPv4 or IPv6 address, or a domain name (letters,
 * digits, hyphens, dots; labels of 1-63; at most 253). Domains are
 * lowercased into norm (which may be NULL), addresses written in
 * their usual form. DNSBL_BAD when it is none of these.
 */
enum dnsbl_type	 dnsbl_target(const char *target, char *norm,
		    size_t size);

/*
 * The name to look up for target in zone ("4.3.2.1.zone"; IPv6 as 32
 * nibbles). Returns its type, or DNSBL_BAD (bad target, or the name
 * would not fit size or a DNS name).
 */
enum dnsbl_type	 dnsbl_query_name(const char *target, const char *zone,
		    char *buf, size_t size);

/* What an answer says. */
enum dnsbl_result {
	DNSBL_CLEAN,		/* not listed */
	DNSBL_LISTED,
	DNSBL_REFUSED,		/* the list refused to answer */
	DNSBL_BADANSWER		/* not an answer a DNSBL gives */
};

/*
 * Reads the addresses of an answer (host byte order). meaning gets the
 * codes and what they mean ("127.0.0.2 SBL: ...; 127.0.0.4 XBL: ...")
 * for a listing, and what went wrong and what to do for the others.
 */
enum dnsbl_result dnsbl_answer(const struct dnsbl_zone *z,
		    const uint32_t *addrs, size_t n, char *meaning,
		    size_t size);

/* The delisting URL for target, "%s" replaced; "" when none. */
void		 dnsbl_url(const struct dnsbl_zone *z, const char *target,
		    char *buf, size_t size);

/* --- the monitor --------------------------------------------------- */

struct dnsbl;

struct dnsbl_params {
	const char	*watch_ips;	/* spaces or commas */
	const char	*watch_domains;
	int		 discover;	/* watch the IPs replies name */
	const char	*zones;		/* blocklist_zones */
	const char	*dqs_key;
	const char	*resolver;	/* "ip[:port]"; "": resolv.conf */
	long long	 interval;	/* seconds */
	long long	 timeout;	/* seconds, one attempt */
	int		 once;		/* check each pair once */
};

enum dnsbl_what {
	DNSBL_EV_LISTED,	/* newly listed (or first seen listed) */
	DNSBL_EV_STILL,		/* listed, checked again */
	DNSBL_EV_CLEARED,	/* was listed, is not any more */
	DNSBL_EV_CLEAN,		/* not listed: the pair's first answer,
				   and every one in once mode */
	DNSBL_EV_ERROR		/* the check failed; nothing changed */
};

/* One check's outcome; the strings last until the callback returns. */
struct dnsbl_event {
	enum dnsbl_what	 what;
	const char	*list;		/* "spamhaus" */
	const char	*zone;		/* as shown: never with a key */
	const char	*target;
	int		 discovered;	/* not from the configuration */
	const char	*meaning;	/* the codes' meaning, or error */
	const char	*url;		/* delisting, or "" */
	const char	*error_kind;	/* with an error: "timeout" */
	long long	 since;		/* listed since (clock_now()) */
	long long	 checked;	/* this check */
};

typedef void	 dnsbl_event_fn(const struct dnsbl_event *, void *arg);

/* 1 when the parameters ask for a monitor (watch lists or discover). */
int		 dnsbl_wanted(const struct dnsbl_params *);

/*
 * Starts a monitor on base: the first checks within a few seconds
 * (spread), then every interval. fn is called on the loop thread for
 * each check's outcome. NULL with a message in *errp (caller frees)
 * on a bad parameter (zone, target, resolver).
 */
struct dnsbl	*dnsbl_new(struct event_base *base,
		    const struct dnsbl_params *, dnsbl_event_fn *fn,
		    void *arg, char **errp);
/*
 * Watches target too (a discovered IP); first check within a second.
 * Returns 1 when added, 0 when already watched or the cap of
 * DNSBL_DISCOVER_MAX discovered targets is reached, -1 when target is
 * not an address or a domain. Loop thread.
 */
#define DNSBL_DISCOVER_MAX	64
int		 dnsbl_watch(struct dnsbl *, const char *target);
/*
 * From any thread: an IP that a reply named as ours. Ignored unless
 * discovery is on, or when it is private, loopback or link-local;
 * otherwise handed to the loop and watched (logged once).
 */
void		 dnsbl_discover(struct dnsbl *, const char *ip);
/* 1 when the last check of target found it on list, else 0. */
int		 dnsbl_listed(const struct dnsbl *, const char *list,
		    const char *target);
/* Checks not finished yet (once mode: 0 means all done). */
size_t		 dnsbl_pending(const struct dnsbl *);
/* Its Prometheus lines: bouncer_blocklist_*. */
void		 dnsbl_metrics(const struct dnsbl *, struct evbuffer *);
/* Cancels what is in flight (no callback) and frees. NULL is fine. */
void		 dnsbl_free(struct dnsbl *);

#endif

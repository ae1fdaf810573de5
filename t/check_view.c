/*
 * check_view.c -- the in-memory view and the one decision over it
 *
 * store_decide()'s order (recipient suppressed, deferred, domain
 * throttled, the domain's provider throttled), table-driven over a
 * view; what a view keeps of a record (the day, the status, keys too
 * long to hold); addresses held as a local part and an interned
 * domain, still matched exactly; sharing by name; changes to the live
 * index and room made for them aside; a reload swapped in while
 * readers keep reading.
 *
 * It includes store_impl.h, the back ends' private header, for
 * store_decide_view().
 *
 * See also: view.h, store.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "store.h"
#include "store_impl.h"
#include "testlib.h"
#include "view.h"
#include "xalloc.h"

#define T0	1800000000LL

/*
 * One recipient at example.net (state, until), its domain (until, a
 * provider) and that provider (until); what is answered at T0.
 */
static const struct decide_case {
	const char	*name;
	enum rcpt_state	 state;
	long long	 r_until;
	long long	 d_until;	/* -1: no domain record */
	const char	*prov;
	long long	 p_until;	/* -1: no provider record */
	int		 rc;
	enum answer_kind kind;
	long long	 until;
} cases[] = {
	{ "nothing", RS_NONE, 0, -1, "", -1, 0, ANS_NONE, 0 },
	{ "suppressed for ever", RS_SUPPRESSED, 0, -1, "", -1, 1,
	    ANS_SUPPRESSED, 0 },
	{ "suppressed until later", RS_SUPPRESSED, T0 + 10, -1, "", -1, 1,
	    ANS_SUPPRESSED, T0 + 10 },
	{ "suppression ended", RS_SUPPRESSED, T0, -1, "", -1, 0, ANS_NONE,
	    0 },
	{ "deferred", RS_DEFERRED, T0 + 60, -1, "", -1, 1, ANS_DEFERRED,
	    T0 + 60 },
	{ "deferred, until 0 is no deferral", RS_DEFERRED, 0, -1, "", -1,
	    0, ANS_NONE, 0 },
	{ "suppressed before a throttled domain", RS_SUPPRESSED, 0, T0 + 5,
	    "", -1, 1, ANS_SUPPRESSED, 0 },
	{ "deferral ended, domain throttled", RS_DEFERRED, T0 - 1, T0 + 5,
	    "", -1, 1, ANS_THROTTLED, T0 + 5 },
	{ "domain throttle ended", RS_NONE, 0, T0 - 5, "", -1, 0, ANS_NONE,
	    0 },
	{ "domain before its provider", RS_NONE, 0, T0 + 5, "big", T0 + 50,
	    1, ANS_THROTTLED, T0 + 5 },
	{ "provider, the domain's throttle ended", RS_NONE, 0, T0 - 5,
	    "big", T0 + 50, 1, ANS_THROTTLED, T0 + 50 },
	{ "provider throttle ended", RS_NONE, 0, T0 - 5, "big", T0, 0,
	    ANS_NONE, 0 },
	{ "provider with no record", RS_NONE, 0, T0 - 5, "big", -1, 0,
	    ANS_NONE, 0 },
	{ "no domain record: no provider asked", RS_NONE, 0, -1, "big",
	    T0 + 50, 0, ANS_NONE, 0 },
};

START_TEST(test_decide)
{
	const struct decide_case *c = &cases[_i];
	struct view *v = view_get(NULL);
	struct view_index *ix = view_index_new(0, 0);
	struct store_answer a;
	struct view_fact f;
	int rc;

	view_set_rcpt(ix, "a@example.net", 13, c->state, R_USERUNKNOWN,
	    c->r_until, T0 - 86400, "5.1.1");
	if (c->d_until >= 0)
		view_set_dest(ix, "example.net", R_SPEEDING, c->d_until,
		    c->prov);
	if (c->p_until >= 0)
		view_set_dest(ix, "provider:big", R_BLOCKED, c->p_until, "");
	view_swap(v, ix, "1");
	memset(&f, 0, sizeof(f));
	rc = store_decide_view(v, "a@example.net", "example.net", T0, &a, &f);
	ck_assert_msg(rc == c->rc, "%s: %d, want %d", c->name, rc, c->rc);
	ck_assert_msg(a.kind == c->kind, "%s: kind %d, want %d", c->name,
	    a.kind, c->kind);
	ck_assert_msg(a.until == c->until, "%s: until %lld, want %lld",
	    c->name, a.until, c->until);
	if (a.kind == ANS_SUPPRESSED || a.kind == ANS_DEFERRED) {
		ck_assert_int_eq(a.reason, R_USERUNKNOWN);
		ck_assert_int_eq(f.detail, 1);
		ck_assert_str_eq(f.status, "5.1.1");
		ck_assert_int_eq(f.since / 86400, (T0 - 86400) / 86400);
	} else if (a.kind == ANS_THROTTLED)
		ck_assert_int_eq(a.reason, c->until == T0 + 5 ? R_SPEEDING :
		    R_BLOCKED);
	view_put(v);
}
END_TEST

/* Not loaded, or a key too long: the view cannot tell (-1). */
START_TEST(test_cannot_tell)
{
	struct view *v = view_get(NULL);
	struct view_index *ix;
	struct store_answer a;
	struct view_fact f;
	char long_rcpt[VIEW_KEY_MAX + 16];

	ck_assert_int_eq(view_ready(v), 0);
	ck_assert_int_eq(store_decide_view(v, "a@example.net", "example.net",
	    T0, &a, NULL), -1);
	ix = view_index_new(0, 0);
	memset(long_rcpt, 'x', sizeof(long_rcpt) - 1);
	long_rcpt[sizeof(long_rcpt) - 1] = '\0';
	view_set_rcpt(ix, long_rcpt, strlen(long_rcpt), RS_SUPPRESSED,
	    R_USERUNKNOWN, 0, 0, "");
	view_swap(v, ix, "");
	ck_assert_int_eq(view_ready(v), 1);
	ck_assert_int_eq(view_rcpt(v, long_rcpt, &f), -1);
	ck_assert_int_eq(store_decide_view(v, long_rcpt, "example.net", T0,
	    &a, NULL), -1);
	ck_assert_int_eq(store_decide_view(v, "a@example.net", "example.net",
	    T0, &a, NULL), 0);
	view_put(v);
}
END_TEST

/*
 * What is kept of a record: a status that does not pack, or a day
 * out of range, leaves detail 0 (the back end reads the row).
 */
START_TEST(test_detail)
{
	struct view *v = view_get(NULL);
	struct view_index *ix = view_index_new(0, 0);
	struct view_fact f;

	view_set_rcpt(ix, "plain@x", 7, RS_SUPPRESSED, R_USERUNKNOWN, 0,
	    T0, "5.2.2");
	view_set_rcpt(ix, "odd@x", 5, RS_SUPPRESSED, R_USERUNKNOWN, 0, T0,
	    "5.01.1");
	view_set_rcpt(ix, "nodate@x", 8, RS_DEFERRED, R_MAILBOXFULL, T0, 0,
	    "");
	view_set_rcpt(ix, "gone@x", 6, RS_NONE, R_USERUNKNOWN, 0, 0, "");
	view_set_dest(ix, "d.example", R_SPEEDING, T0, "bigmail");
	view_swap(v, ix, "7");
	ck_assert_str_eq(view_pos(v), "7");
	ck_assert_int_eq(view_rcpt(v, "plain@x", &f), 1);
	ck_assert_int_eq(f.detail, 1);
	ck_assert_str_eq(f.status, "5.2.2");
	ck_assert_int_eq(f.since, T0 / 86400 * 86400);
	ck_assert_int_eq(view_rcpt(v, "odd@x", &f), 1);
	ck_assert_int_eq(f.detail, 0);
	ck_assert_int_eq(view_rcpt(v, "nodate@x", &f), 1);
	ck_assert_int_eq(f.detail, 1);
	ck_assert_int_eq(f.since, 0);
	ck_assert_str_eq(f.status, "");
	ck_assert_int_eq(f.state, RS_DEFERRED);
	ck_assert_int_eq(view_rcpt(v, "gone@x", &f), 0);
	ck_assert_int_eq(view_dest(v, "d.example", &f), 1);
	ck_assert_str_eq(f.provider, "bigmail");
	ck_assert_int_eq(f.until, T0);
	/* Destinations and addresses do not mix. */
	ck_assert_int_eq(view_rcpt(v, "d.example", &f), 0);
	ck_assert_int_eq(view_dest(v, "plain@x", &f), 0);
	view_put(v);
}
END_TEST

/*
 * Addresses are held as a local part and an interned domain: a lookup
 * still matches the whole key, byte for byte, whatever its '@'s.
 */
static const struct intern_case {
	const char	*key;
	int		 rc;		/* view_rcpt() */
} intern_cases[] = {
	{ "a@example.net", 1 },
	{ "a@example.ne", 0 },
	{ "a@example.nett", 0 },
	{ "a@Example.net", 0 },
	{ "a.example.net", 0 },
	{ "a@@example.net", 0 },
	{ "@a@example.net", 0 },
	{ "b@example.net", 0 },
	{ "\"x@y\"@example.net", 1 },
	{ "\"x@y\"@example.org", 0 },
	{ "x@y", 0 },
	{ "trailing@", 1 },
	{ "trailing", 0 },
	{ "@lead.example", 1 },
	{ "lead.example", 0 },
	{ "noat", 1 },
	{ "noat@", 0 },
	{ "d.example", 0 },		/* a destination's name */
	{ "", 0 },
};

START_TEST(test_intern)
{
	const struct intern_case *c = &intern_cases[_i];
	struct view *v = view_get(NULL);
	struct view_index *ix = view_index_new(0, 0);
	struct view_fact f;
	size_t i;

	for (i = 0; i < sizeof(intern_cases) / sizeof(intern_cases[0]); i++)
		if (intern_cases[i].rc == 1)
			view_set_rcpt(ix, intern_cases[i].key,
			    strlen(intern_cases[i].key), RS_SUPPRESSED,
			    R_USERUNKNOWN, T0 + (long long)i, T0, "5.1.1");
	view_set_dest(ix, "d.example", R_SPEEDING, T0, "");
	view_swap(v, ix, "0");
	ck_assert_msg(view_rcpt(v, c->key, &f) == c->rc, "%s: want %d",
	    c->key, c->rc);
	if (c->rc == 1) {
		ck_assert_int_eq(f.state, RS_SUPPRESSED);
		ck_assert_str_eq(f.status, "5.1.1");
		ck_assert_int_eq(f.until, T0 + _i);
	}
	ck_assert_int_eq(view_dest(v, "d.example", &f), 1);
	view_put(v);
}
END_TEST

/*
 * Many domains (references of one to three bytes), records replaced
 * and deleted until a compaction makes the index again: every live
 * record still answers, with its own fields, and the deleted do not.
 */
START_TEST(test_intern_many)
{
	struct view *v = view_get(NULL);
	struct view_index *ix = view_index_new(0, 0);
	struct view_fact f;
	char key[64];
	int i, round;

	for (round = 0; round < 3; round++)
		for (i = 0; i < 40000; i++) {
			snprintf(key, sizeof(key), "u%d@dom%d.example", i,
			    i % 20000);
			if (round == 2 && i % 3 == 0)
				view_del_rcpt(ix, key);
			else
				view_set_rcpt(ix, key, strlen(key),
				    round == 2 ? RS_DEFERRED : RS_SUPPRESSED,
				    R_USERUNKNOWN, T0 + i, 0, "");
		}
	view_swap(v, ix, "0");
	for (i = 0; i < 40000; i++) {
		snprintf(key, sizeof(key), "u%d@dom%d.example", i, i % 20000);
		if (i % 3 == 0) {
			ck_assert_msg(view_rcpt(v, key, &f) == 0, "%s", key);
			continue;
		}
		ck_assert_msg(view_rcpt(v, key, &f) == 1, "%s", key);
		ck_assert_int_eq(f.state, RS_DEFERRED);
		ck_assert_int_eq(f.until, T0 + i);
		/* The same local part at another domain is another key. */
		snprintf(key, sizeof(key), "u%d@dom%d.example", i,
		    (i + 1) % 20000);
		ck_assert_msg(view_rcpt(v, key, &f) == 0, "%s", key);
	}
	/* Changes to the live index after room was made for new domains. */
	ck_assert_int_eq(view_grow(v, 30000), 0);
	ck_assert_int_eq(view_room(view_live(v), 30000), 1);
	view_wrlock(v);
	for (i = 0; i < 30000; i++) {
		snprintf(key, sizeof(key), "n%d@new%d.example", i, i);
		view_set_rcpt(view_live(v), key, strlen(key), RS_SUPPRESSED,
		    R_USERUNKNOWN, 0, 0, "");
	}
	view_unlock(v);
	ck_assert_int_eq(view_rcpt(v, "n29999@new29999.example", &f), 1);
	ck_assert_int_eq(f.until, 0);
	ck_assert_int_eq(view_rcpt(v, "n29999@new29998.example", &f), 0);
	ck_assert_int_eq(view_rcpt(v, "u1@dom1.example", &f), 1);
	view_put(v);
}
END_TEST

/* Views are shared by name; changes to the live index show at once. */
START_TEST(test_shared)
{
	struct view *a = view_get("test:one"), *b = view_get("test:one");
	struct view *c = view_get("test:two");
	struct view_fact f;
	char key[32];
	int i;

	ck_assert_ptr_eq(a, b);
	ck_assert_ptr_ne(a, c);
	view_swap(a, view_index_new(0, 0), "0");
	ck_assert_int_eq(view_ready(b), 1);
	ck_assert_int_eq(view_ready(c), 0);
	view_wrlock(a);
	/* Grows as it must, past what it was sized for. */
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "u%d@x", i);
		view_set_rcpt(view_live(a), key, strlen(key), RS_SUPPRESSED,
		    R_USERUNKNOWN, 0, 0, "");
	}
	view_del_rcpt(view_live(a), "u7@x");
	view_unlock(a);
	/* Room made aside keeps every record, and then takes no rehash. */
	ck_assert_int_eq(view_grow(a, 20000), 0);
	ck_assert_int_eq(view_room(view_live(a), 20000), 1);
	ck_assert_int_eq(view_rcpt(b, "u4998@x", &f), 1);
	ck_assert_int_eq(view_rcpt(b, "u4999@x", &f), 1);
	ck_assert_int_eq(view_rcpt(b, "u7@x", &f), 0);
	view_put(a);
	ck_assert_int_eq(view_rcpt(b, "u0@x", &f), 1);
	view_put(b);
	view_put(c);
	/* The last one gone, the name means a new view. */
	a = view_get("test:one");
	ck_assert_int_eq(view_ready(a), 0);
	view_put(a);
}
END_TEST

/* Readers keep answering, right, while reloads are swapped in. */
static struct view *swapped;
static int swap_stop;

static void *
reader(void *arg)
{
	struct store_answer a;
	long bad = 0;

	(void)arg;
	while (!__atomic_load_n(&swap_stop, __ATOMIC_ACQUIRE))
		if (store_decide_view(swapped, "keep@x", "x", T0, &a,
		    NULL) != 1 || a.kind != ANS_SUPPRESSED)
			bad++;
	return (void *)bad;
}

START_TEST(test_swap_while_reading)
{
	struct view_index *ix;
	pthread_t t[2];
	void *bad;
	char key[32];
	int i, j;

	swapped = view_get(NULL);
	ix = view_index_new(0, 0);
	view_set_rcpt(ix, "keep@x", 6, RS_SUPPRESSED, R_USERUNKNOWN, 0, 0,
	    "");
	view_swap(swapped, ix, "0");
	swap_stop = 0;
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, reader, NULL), 0);
	for (j = 0; j < 50; j++) {
		ix = view_index_new(1000, 10000);
		for (i = 0; i < 1000; i++) {
			snprintf(key, sizeof(key), "r%d.%d@x", j, i);
			view_set_rcpt(ix, key, strlen(key), RS_DEFERRED,
			    R_MAILBOXFULL, T0 + 1, 0, "");
		}
		view_set_rcpt(ix, "keep@x", 6, RS_SUPPRESSED, R_USERUNKNOWN,
		    0, 0, "");
		view_swap(swapped, ix, "1");
	}
	__atomic_store_n(&swap_stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], &bad);
		ck_assert_msg(bad == NULL, "%ld wrong answers", (long)bad);
	}
	view_put(swapped);
}
END_TEST

static Suite *
view_suite(void)
{
	Suite *s = suite_create("view");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_decide, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_cannot_tell);
	tcase_add_test(tc, test_detail);
	tcase_add_loop_test(tc, test_intern, 0,
	    (int)(sizeof(intern_cases) / sizeof(intern_cases[0])));
	tcase_add_test(tc, test_intern_many);
	tcase_add_test(tc, test_shared);
	tcase_add_test(tc, test_swap_while_reading);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(view_suite());
}

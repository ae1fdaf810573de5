/*
 * uncertain.c -- does a reply say its verdict may not hold?
 *
 * One case-insensitive pattern, compiled once per handle:
 *
 *   1. the failure said to be temporary: "temporarily", "temporary
 *      failure", "try again later", "retry later", "come back later",
 *      "try again in 300 seconds", and the same words in the languages
 *      of generic.rules ("vorübergehend", "temporairement", "plus
 *      tard", "más tarde", "временно", "暂时", "一時的", "일시적" ...),
 *      and "currently unable to receive" (the mailbox, for now);
 *      a delay notice's words ("will retry", "has been delayed", "will
 *      keep trying", "not yet been delivered", "warning only");
 *      a 4xx code quoted by a report ("Remote Server returned '450",
 *      "The response from the remote server was: 450", "(450, b'");
 *   2. a busy mailbox: "mailbox busy", "mailbox is busy";
 *   3. a lookup that failed: "lookup failed", "lookup failure",
 *      "unable to (look up|verify|validate)", "could not verify",
 *      "verification in progress", "timed out", a host or server
 *      "unreachable", and a
 *      directory (LDAP, database, backend) that is down or in error;
 *   4. a server not found, in the other languages ("Server nicht
 *      gefunden", "Serveur introuvable", "No se encontró el servidor"):
 *      a route or a name that failed, not a mailbox;
 *   5. Postfix's address verification with no verdict: "unverified
 *      address" (the probe was deferred), a probe answered with a 4xx
 *      ("said: 450 ..."), one that could not connect ("connect to
 *      ...: Connection refused") or looped back to the server.
 *
 * Not a lookup that "failed permanently" (Exim's "all host address
 * lookups failed permanently": the domain does not exist), nor
 * "verification failed" alone, nor "not found in the directory":
 * a server that looked and found nothing has said the mailbox is gone.
 */
#include <pthread.h>
#include <stdlib.h>

#include "phrases.h"
#include "uncertain.h"

/*
 * The pattern is built once for the process into a phrase set
 * (phrases.h), shared by every handle. A handle is a phrases_handle:
 * struct uncertain is never defined.
 */

static const char pattern[] =
	/* 1. temporary, in English */
	"\\btemporar(?:y|ily)\\b"
	/* (not after "check the address and": advice about a wrong one) */
	"|(?<!address and )(?<!address, and )(?<!spelling and )(?<!not )"
	"(?<!n't )(?<!never )"
	"\\b(?:try|retry|come back)(?: (?:it|again|back|once more))?"
	" (?:later|shortly|in (?:a few|\\d+))\\b"
	/* ... and in other languages */
	"|vor(?:\u00fc|ue)bergehend|sp(?:\u00e4|ae)ter (?:erneut|noch|wieder)"
	"|temporairement|\\bplus tard\\b|temporalmente|m(?:\u00e1|a)s tarde"
	"|temporariamente|mais tarde|temporaneamente|pi(?:\u00f9|u) tardi"
	"|\\btijdelijk|later (?:opnieuw|nog eens)|tymczasow|p(?:\u00f3|o)(?:\u017a|z)niej"
	"|(?:\u0412|\u0432)\u0440\u0435\u043c\u0435\u043d\u043d"	/* vremenn- */
	"|(?:\u041f|\u043f)\u043e\u0437\u0436\u0435"	/* pozzhe */
	"|\u6682\u65f6|\u66ab\u6642|\u7a0d\u540e|\u7a0d\u5f8c"
	"|\u4e00\u6642\u7684|\u3057\u3070\u3089\u304f\u3057\u3066\u304b\u3089"
	"|\uc77c\uc2dc\uc801|\ub098\uc911\uc5d0"
	"|\\bge(?:\u00e7|c)ici|tillf(?:\u00e4|a)llig|midlertidig"
	"|v(?:\u00e4|a)liaikais|do(?:\u010d|c)asn|(?:\u00e1|a)tmenetileg"
	"|ideiglenes|\\btemporar\\b|\u03c0\u03c1\u03bf\u03c3\u03c9\u03c1\u03b9\u03bd"
	"|t\u1ea1m th\u1eddi|\\bsementara\\b|\u0e0a\u0e31\u0e48\u0e27\u0e04\u0e23\u0e32\u0e27"
	"|\u0645\u0624\u0642\u062a|\u05d6\u05de\u05e0\u05d9"
	/* ... and "currently unable to receive": the same, said of now */
	"|\\bcurrently (?:unable|not able) to (?:receive|accept)\\b"
	/*
	 * ... and a delay notice's words: the message is still queued
	 * ("Gmail will retry for 47 more hours", "Delivery to the following
	 * recipients has been delayed", "will keep trying", "has not yet
	 * been delivered", "THIS IS A WARNING MESSAGE ONLY")
	 */
	"|\\bwill (?:be )?retr(?:y|ied)\\b|\\b(?:has been|is|was|been) delayed\\b"
	"|\\bwill (?:keep|continue) (?:trying|to try|attempting)\\b"
	"|\\bstill (?:trying|being retried)\\b|\\bnot yet been delivered\\b"
	"|\\bwarning (?:message )?only\\b|\\bdo not need to resend\\b"
	/*
	 * ... and a 4xx reply code quoted by a report whose wrapper the
	 * reply's parser does not peel (Exchange's "Remote Server returned
	 * '450 ...'", Gmail's "The response from the remote server was:
	 * 450 ...", "Diagnostic-Code: smtp; 450", Exchange's "#450 ... ##",
	 * Python's "(450, b'...')", Ruby's "Net::SMTPServerBusy: 450",
	 * PHPMailer's "SMTP ERROR: RCPT TO command failed: 450"):
	 * the reply was temporary, whatever its words
	 */
	"|(?:\\bRemote Server returned '|\\bresponse (?:from the remote server )?"
	"was:? |\\bDiagnostic-Code: ?(?:smtp; ?)?|(?:^|\\s)#|\\(|\\bSMTPServerBusy: "
	"|\\bcommand failed: )"
	"4\\d\\d(?=[ ,'-]|$)"
	/* 2. busy */
	"|\\b(?:mail ?box|user|account|recipient)(?: is)? (?:currently )?busy\\b"
	/* ... and in other languages */
	"|\\bausgelastet|\\bbesetzt\\b|\\boccup(?:\u00e9|e)e?\\b|\\bocupad[oa]\\b"
	"|\\boccupat[oa]\\b|\\bbezet\\b|\\bzaj(?:\u0119|e)t"
	"|(?:\u0417|\u0437)\u0430\u043d\u044f\u0442"	/* zanyat */
	"|\u7e41\u5fd9|\u30d3\u30b8\u30fc|\ud63c\uc7a1"
	/* 3. a lookup that failed */
	"|\\blook ?-?ups? (?:has |have )?(?:failed|failure|error|timed out"
	"|timeout)\\b(?! permanently)"
	"|\\b(?:unable|failed|could not|couldn't|cannot|can't|can not)"
	" (?:to )?(?:look ?up|verify|validate|query|contact)\\b"
	"|\\bverification (?:is )?(?:in progress|pending|timed out)\\b"
	/* a timeout of the lookup, not any timeout the text names */
	"|\\b(?:look ?-?ups?|quer(?:y|ies)|LDAP|directory|DNS|verification"
	"|database|backend)\\b(?: \\S+){0,3}? (?:has |have )?(?:timed out"
	"|time-?out)\\b"
	"|\\b(?:timed out|time-?out)\\b(?: \\S+){0,3}? (?:look ?-?ups?"
	"|quer(?:y|ying|ies)|LDAP|directory|verif\\w*)\\b"
	"|\\b(?:host|server|network|service|destination|relay)s? (?:is |was )?"
	"(?:currently )?unreachable\\b"
	"|Zeit(?:\u00fc|ue)berschreitung|d(?:\u00e9|e)lai (?:d(?:\u00e9|e)pass"
	"|d.attente)|tiempo de espera|tempo (?:esgotado|limite)"
	"|\u8d85\u65f6|\u903e\u6642|\u30bf\u30a4\u30e0\u30a2\u30a6\u30c8"
	"|\uc2dc\uac04 \ucd08\uacfc"
	/* an LDAP or a directory lookup that failed, in other languages */
	/* (a few words between: "user not found in LDAP" is not one) */
	"|\\bLDAP\\b(?:[- ]\\S+){0,2}?[- ](?:fehlgeschlagen|Fehler|(?:\u00e9|e)chec"
	"|erreur|error|fallo|falha|errore|\u043e\u0448\u0438\u0431\u043a)"
	"|(?:Abfrage|(?:\u00e9|\u00c9|e)chec|erreur|error|fallo|falha|errore"
	"|(?:\u041e|\u043e)\u0448\u0438\u0431\u043a)\\S*(?: \\S+){0,3}? LDAP\\b"
	"|(?:\u67e5\u8be2|\u67e5\u627e|\u67e5\u8a62|\u691c\u7d22"
	"|\u7167\u4f1a|\uc870\ud68c).{0,15}?(?:\u5931\u8d25|\u5931\u6557"
	"|\uc2e4\ud328)"
	"|\\b(?:LDAP|directory|database|backend|DB):?(?: \\w+)?"
	" (?:is )?(?:unavailable|unreachable|down|error|failure|failed"
	"|not responding)\\b"
	/*
	 * 5. Postfix's address verification that did not get a verdict:
	 * "unverified address" (the probe was deferred), a probe that
	 * got a 4xx, could not connect or looped back.
	 */
	"|\\bunverified address\\b|\\bsaid: 4\\d\\d\\b"
	"|\\bconnect to \\S+: (?:Connection refused|No route to host"
	"|Network is unreachable)|\\bloops back to myself\\b"
	/* 4. a server not found */
	/* (the server itself, not "not found on the server") */
	"|(?<!auf dem )(?<!auf diesem )(?<!im )(?<!on the )(?<!sur le )"
	"(?<!en el )(?<!no )(?<!sul )(?<!op de )"
	"\\b(?:Mail)?(?:server|serveur|servidor|servidor de correo)(?: \\S+)?"
	" (?:nicht gefunden|nicht erreichbar|introuvable|inaccessible"
	"|no encontrado|n(?:\u00e3|a)o encontrado|non trovato|niet gevonden"
	"|nie znaleziony|nicht verf(?:\u00fc|ue)gbar)"
	"|\\b(?:no se (?:ha )?(?:encontr(?:\u00f3|o|ado)|pudo encontrar)"
	"|impossible de (?:trouver|joindre)|n(?:\u00e3|a)o foi poss(?:\u00ed|i)vel"
	" encontrar|impossibile (?:trovare|raggiungere)) (?:(?:el|le|o|il) )?"
	"(?:server|serveur|servidor)\\b";

static struct phrases *the_set;	/* NULL: the pattern did not compile */
static pthread_once_t set_once = PTHREAD_ONCE_INIT;

static void
set_build(void)
{
	static const char *const src[] = { pattern };

	the_set = phrases_build(src, 1);
}

struct uncertain *
uncertain_new(void)
{
	(void)pthread_once(&set_once, set_build);
	return (struct uncertain *)phrases_handle_new(the_set);
}

void
uncertain_free(struct uncertain *s)
{
	phrases_handle_free((struct phrases_handle *)s);
}

int
uncertain_match(struct uncertain *s, const char *text, size_t len)
{
	return phrases_handle_match((struct phrases_handle *)s, text, len);
}

const struct phrases *
uncertain_set(void)
{
	(void)pthread_once(&set_once, set_build);
	return the_set;
}

int
uncertain_match_scanned(struct uncertain *s, const uint8_t *miss,
    const char *text, size_t len)
{
	return phrases_handle_match_scanned((struct phrases_handle *)s, miss,
	    text, len);
}

int
uncertain_match_all(struct uncertain *s, const char *text, size_t len)
{
	return phrases_handle_match_all((struct phrases_handle *)s, text,
	    len);
}

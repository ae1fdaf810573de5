/*
 * senderside.c -- does a reply speak of the sending side?
 *
 * Case-insensitive patterns, compiled once per handle, in ten parts
 * (1 to 7 in one, 8 to 10 in another):
 *
 *   1. the sender refused by name: Postfix's "Sender address rejected",
 *      a failed sender verification ("Sender verify failed",
 *      "Verification failed for <...>");
 *   2. our IP or host: "your IP" (also "Ihre IP", "votre adresse IP",
 *      "su IP", "Ваш IP", "您的IP", "din IP", "IP-osoitteesi", "az Ön
 *      IP-címe", "IP của bạn", "IP Anda", "IP ของคุณ", "IP الخاص بك",
 *      "IP שלך" ...), "this IP", "the sending IP" (not as a label
 *      that only carries the address: "Your IP: 192.0.2.1"),
 *      "client host", "IP address 192.0.2.1 ... blocked", "host 192.0.2.1 is not
 *      allowed", "connections from 192.0.2.1 not accepted", "your
 *      server (network, MTA) is not permitted";
 *   3. the unknown addresses we tried, counted: "too many invalid
 *      recipients", "number of unknown users", "directory harvest";
 *   4. the MAIL FROM command: "MAIL FROM address", "MAIL FROM:<...>
 *      unknown" (not a bare "MAIL FROM: x", which a bounce lists among
 *      the message's details, nor "accepting mail from specific
 *      senders");
 *   5. the sender, the envelope sender, the return path, the From or
 *      Reply-To address, "your address/account/domain", sending or
 *      outgoing mail "for this/your account", the account "you are
 *      sending from" (or "used to send", the "authenticated" one),
 *      given a recipient-side predicate within a few words: "sender
 *      unknown", "no such sender", "From address does not exist",
 *      "invalid return path", "your account has been disabled",
 *      "sender mailbox is full", "(the recipient) has blocked the
 *      sender", "sending for this account is disabled" (a relay
 *      that locked our account: provider rules that
 *      suppress on "account is disabled" come before the generic rule
 *      that knows it);
 *   6. our HELO name, our reverse DNS (PTR) or "your host name" with
 *      a predicate in the same clause: "Helo command rejected: Host not
 *      found", "reverse DNS lookup failed: host name unknown"; the
 *      domain, host, MX or address "of the sender" (of the return path,
 *      of the envelope sender): "no MX for the sender's domain";
 *   7. the sender in Japanese (送信者, 差出人, 送信元, or the
 *      customer's account, お客様のアカウント) with a
 *      predicate after it in the same clause:
 *      "送信者のメールアドレスが存在しません" (the sender's address
 *      does not exist);
 *   8. the sender in other languages (Absender, expéditeur, remitente,
 *      remetente, mittente, afzender, nadawca, odesílatel, отправитель,
 *      发件人, 발신자, gönderen, avsändare ...), or "your account",
 *      "your mailbox", "your address" in them (Ihr Konto, votre compte,
 *      su cuenta, sua conta, uw account, Ваш аккаунт, 您的账户,
 *      hesabınız ...), with a predicate in one of them after it in the
 *      same clause: "Absender unbekannt", "Absender nicht
 *      zugelassen", "Ihr Konto wurde gesperrt",
 *      "Adresse de l'expéditeur inconnue" counts from the subject on;
 *      also Finnish (lähettäjä, tilisi), Hungarian (feladó, az Ön
 *      fiókja), Romanian (expeditor, contul dvs.), Greek (αποστολέας,
 *      ο λογαριασμός σας), Vietnamese (người gửi, tài khoản của bạn),
 *      Indonesian (pengirim, akun Anda), Thai (ผู้ส่ง, บัญชีของคุณ),
 *      Arabic (المرسل, حسابك) and Hebrew (השולח, החשבון שלך);
 *   9. the same predicates where those languages put them first, then
 *      the sender or our account in the same clause: "No se encontró
 *      la dirección del remitente", "Не удалось найти адрес
 *      отправителя", "تعذر العثور على عنوان المرسل";
 *  11. an IP said not to be found or to be refused in them: "IP non
 *      trovato", "IP-Adresse nicht gefunden", and with no space in
 *      Japanese, Chinese, Korean: "IPアドレスがブロックされています";
 *  12. a check of the sender in them: "Absenderprüfung fehlgeschlagen",
 *      "La vérification de l'expéditeur a échoué", "发件人验证失败";
 *  14. the sender in them as a label, the predicate after the colon:
 *      "Absender: Benutzer unbekannt" (not "Absender: <x@y>");
 *  13. our HELO name or "your host name" in them with a predicate:
 *      "HELO-Name unbekannt", "Votre nom d'hôte est inconnu";
 *  10. an adjective (unknown, invalid, blocked) right before the sender
 *      in them: "Unbekannter Absender", "Nieznany nadawca", "未知发件人".
 *
 * Part 5 asks for the predicate in the same clause (no ". " or ";"
 * between), so that "User unknown; sender bounce@example.com" stays
 * about the recipient, and not right after a header line that a bounce
 * quotes ("Sender: <x@y>", "Return-Path: <x@y>"); nor is a header line
 * the subject of a predicate before it ("User unknown Sender: <x@y>",
 * told apart from "Unknown sender: <x@y>" by the header's capitals).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "phrases.h"
#include "senderside.h"

/*
 * The two patterns are built once for the process into a phrase set
 * (phrases.h: each branch prefiltered), shared by every handle. A
 * handle is a phrases_handle: struct senderside is never defined.
 */
/*
 * After "your IP" (in any language): not a label that only carries the
 * address ("User unknown. Your IP: 192.0.2.1", "(client IP:
 * 192.0.2.1)", "Ihre IP: 192.0.2.1", "your IP 192.0.2.1 has been
 * logged"). Something must be said of the IP for it to be about us.
 */
#define IP_LABEL \
	"(?!(?:-\\w+| address| adresse)?(?: is| ist| est| es| jest| je)? ?:? ?" \
	"\\[?(?:\\d{1,3}(?:\\.\\d{1,3}){3}|[0-9a-f]{0,4}:[0-9a-f:.]+)\\]?" \
	"(?:\\.?\\s*$|[)\\],;]|\\s+\\(in reply to\\b" \
	"| (?:has been |was |is )?(?:logged|recorded|noted)\\b))"

#define PREDICATE \
	"(?:unknown|invalid|not (?:a )?valid|isn't (?:a )?valid" \
	"|(?:does not|doesn't|did not" \
	"|not) exists?|non-?existent|not found|not listed|not known" \
	"|isn't known|not recogni[sz]ed|not registered|no longer" \
	"|disabled|suspended|inactive|deactivated|closed|terminated" \
	"|deleted|locked|frozen|expired|(?:has )?moved|(?:has )?changed" \
	"|does not accept (?:e-?)?mail" \
	"|not local|is full|mailbox full|over ?quota|unavailable" \
	"|(?:is |has been )?(?:rejected|refused|blocked|blacklisted" \
	"|blocklisted|banned|not (?:allowed|permitted|authori[sz]ed))" \
	"|has no (?:MX|DNS|A|valid|mail)" \
	"|(?:does not|doesn't|cannot|can't|could not) (?:be )?resolved?" \
	"|unresolvable|(?:publishes|has) (?:a )?null MX" \
	"|(?:could not|couldn't|cannot|can't) be (?:verified|found|located)" \
	"|not verified" \
	"|(?:is |are )?(?:on|in) (?:our|a|the|an) (?:\\w+ )?(?:block|black|deny" \
	"|ban) ?list)\\b"

/*
 * The sender, or our account (mailbox, address), in the languages
 * servers answer in; what is said of them there; and the predicates
 * that come before their subject ("No se encontró la dirección del
 * remitente", "Не удалось найти адрес отправителя", "Không tìm thấy địa chỉ của
 * người gửi"). Parts 8 and 9 below.
 */
#define L10N_SENDER \
	"(?:Absender|exp(?:\u00e9|e)diteur|remitente|remetente|mittente" \
	"|afzender|nadawc|odes(?:\u00ed|i)latel" \
	"|(?:\u041e|\u043e)\u0442\u043f\u0440\u0430\u0432\u0438\u0442\u0435\u043b" \
	"|(?:\u0412|\u0432)\u0456\u0434\u043f\u0440\u0430\u0432\u043d\u0438\u043a" \
	"|\u53d1\u4ef6\u4eba|\u767c\u4ef6\u4eba|\u5bc4\u4ef6\u4eba" \
	"|\u5bc4\u4ef6\u8005|\u53d1\u4fe1\u4eba|\u767c\u4fe1\u4eba" \
	"|\ubc1c\uc2e0\uc790|\ubcf4\ub0b8 \uc0ac\ub78c" \
	"|g(?:\u00f6|o)nderen|avs(?:\u00e4|a)ndare|afsender|avsender" \
	/*
	 * Your account, mailbox or address. An English word among them
	 * ("account", "mailbox") is written with the possessive before
	 * it, and so is "conta" (in "contact"): the guard's prefilter
	 * then looks for "ihr account", not for "account" (see struct
	 * guard).
	 */ \
	"|(?:Ihre?|Deine?) (?:E-Mail-)?(?:Konto|Benutzerkonto|Nutzerkonto|Mailkonto" \
	"|Postfach|Adresse|Absenderadresse)" \
	"|Ihr Account|Ihre Account|Dein Account|Deine Account" \
	"|Ihr E-Mail-Account|Ihre E-Mail-Account|Dein E-Mail-Account" \
	"|Deine E-Mail-Account" \
	"|(?:votre|ton|ta) (?:compte|adresse|bo(?:\u00ee|i)te)" \
	"|(?:su|tu) cuenta|(?:su|tu) direcci(?:\u00f3|o)n|(?:su|tu) buz(?:\u00f3|o)n" \
	"|(?:sua|seu|tua|teu) (?:endere(?:\u00e7|c)o|caixa)" \
	"|sua conta|seu conta|tua conta|teu conta" \
	"|(?:il tuo|il vostro|la tua|la vostra) (?:indirizzo|casella)" \
	"|il tuo account|il vostro account|la tua account|la vostra account" \
	"|(?:uw|je|jouw) (?:e-?mailadres|adres|postvak)" \
	"|uw account|je account|jouw account|uw mailbox|je mailbox" \
	"|jouw mailbox" \
	"|(?:twoje|twoja|tw(?:\u00f3|o)j) (?:konto|adres|skrzynka)" \
	"|(?:v(?:\u00e1|a)(?:\u0161|s)e?|tv(?:\u016f|u)j|tvoje)" \
	" (?:\u00fa\u010det|\u00facet|u\u010det|ucet|adresa|schr(?:\u00e1|a)nka)" \
	"|(?:\u0412|\u0432)\u0430\u0448(?:\u0430|\u0435" \
	"|\u0435\u0433\u043e)? (?:\u0430\u043a\u043a\u0430\u0443\u043d\u0442" \
	"|\u0443\u0447(?:\u0435|\u0451)\u0442\u043d|\u044f\u0449\u0438\u043a" \
	"|\u0430\u0434\u0440\u0435\u0441|\u043f\u043e\u0447\u0442\u043e\u0432)" \
	"|(?:\u0412|\u0432)\u0430\u0448(?:\u0430|\u0438\u0439" \
	"|\u0435)? (?:\u043e\u0431\u043b\u0456\u043a\u043e\u0432" \
	"|\u0430\u043a\u0430\u0443\u043d\u0442" \
	"|\u0441\u043a\u0440\u0438\u043d\u044c\u043a)" \
	"|(?:\u60a8|\u4f60)\u7684(?:\u8d26\u6237|\u5e10\u6237|\u8d26\u53f7" \
	"|\u5e10\u53f7|\u5e33\u865f|\u5e33\u6236|\u90ae\u7bb1|\u90f5\u7bb1" \
	"|\u5730\u5740)" \
	"|(?:\uadc0\ud558|\ub2f9\uc2e0)\uc758 (?:\uacc4\uc815|\uba54\uc77c|\uc8fc\uc18c)" \
	"|(?:kontoen|postkassen|adressen|e-?postkontoen|innboksen|indbakken)" \
	" din" \
	"|hesab(?:\u0131|i)n(?:\u0131|i)z|posta kutunuz" \
	"|(?:ditt|din) (?:konto|adress|adresse|brevl(?:\u00e5|a)da|postkasse)" \
	"|l\u00e4hett\u00e4j\u00e4|lahettaja|felad(?:\u00f3|o)|expeditor" \
	"|(?:\u0391|\u03b1)\u03c0\u03bf\u03c3\u03c4\u03bf\u03bb\u03ad" \
	"|(?:N|n)g\u01b0\u1eddi g\u1eedi|\\bpengirim" \
	"|\u0e1c\u0e39\u0e49\u0e2a\u0e48\u0e07" \
	"|\u0627\u0644\u0645\u0631\u0633\u0644(?!\u0629|\u064a\u0646" \
	"| \u0625\u0644\u064a\u0647)" \
	"|\u0627\u0644\u0634\u0648\u0644\u062d|\u05d4\u05e9\u05d5\u05dc\u05d7" \
	"|(?<!\\S)(?:\u0645\u0631\u0633\u0644(?!\u0629|\u064a\u0646| \u0625\u0644\u064a\u0647)|\u05e9\u05d5\u05dc\u05d7)" \
	"|\\b(?:tilisi|osoitteesi|s\u00e4hk\u00f6postiosoitteesi" \
	"|postilaatikkosi)" \
	"|(?:\u00d6|\u00f6)n (?:fi\u00f3k|fiok|c\u00edm|cim" \
	"|postafi\u00f3k|postafiok|e-mail-c\u00edm|e-mailc\u00edm" \
	"|email-c\u00edm|emailc\u00edm|e-mail-cim|e-mailcim|email-cim" \
	"|emailcim)" \
	"|\\b(?:fi(?:\u00f3|o)kod|postafi(?:\u00f3|o)kod)" \
	"|\\b(?:contul|adresa|(?:c\u0103su|casu)(?:\u021b|\u0163" \
	"|t)a(?: po(?:\u0219|\u015f|s)tal(?:\u0103|a))?) (?:dvs\\.?" \
	"|dumneavoastr(?:\u0103|a)|t(?:\u0103|a)u|ta)" \
	"|(?:\u03bb\u03bf\u03b3\u03b1\u03c1\u03b9\u03b1\u03c3\u03bc\u03cc" \
	"\u03c2|\u03bb\u03bf\u03b3\u03b1\u03c1\u03b9\u03b1\u03c3\u03bc" \
	"\u03cc|\u03b4\u03b9\u03b5\u03cd\u03b8\u03c5\u03bd\u03c3\u03ae" \
	"|\u03b4\u03b9\u03b5\u03cd\u03b8\u03c5\u03bd\u03c3\u03b7" \
	"|\u03b3\u03c1\u03b1\u03bc\u03bc\u03b1\u03c4\u03bf\u03ba\u03b9" \
	"\u03b2\u03ce\u03c4\u03b9\u03cc" \
	"|\u03b3\u03c1\u03b1\u03bc\u03bc\u03b1\u03c4\u03bf\u03ba\u03b9" \
	"\u03b2\u03ce\u03c4\u03b9\u03bf) \u03c3\u03b1\u03c2" \
	"|(?:t\u00e0i kho\u1ea3n|(?:\u0110" \
	"|\u0111)\u1ecba ch\u1ec9(?: email)?" \
	"|h\u1ed9p th\u01b0) c\u1ee7a b\u1ea1n" \
	"|\\b(?:akun|alamat(?: email| e-?mail)?|kotak surat) (?:Anda|kamu)\\b" \
	"|(?:\u0e1a\u0e31\u0e0d\u0e0a\u0e35" \
	"|\u0e17\u0e35\u0e48\u0e2d\u0e22\u0e39\u0e48(?:\u0e2d\u0e35\u0e40" \
	"\u0e21\u0e25)?|\u0e01\u0e25\u0e48\u0e2d\u0e07\u0e08\u0e14\u0e2b" \
	"\u0e21\u0e32\u0e22)\u0e02\u0e2d\u0e07\u0e04\u0e38\u0e13" \
	"|\u062d\u0633\u0627\u0628\u0643" \
	"|\u0639\u0646\u0648\u0627\u0646\u0643" \
	"|\u0628\u0631\u064a\u062f\u0643" \
	"|(?:\u0627\u0644\u062d\u0633\u0627\u0628" \
	"|\u0627\u0644\u0639\u0646\u0648\u0627\u0646" \
	"|\u0627\u0644\u0628\u0631\u064a\u062f" \
	"|\u0635\u0646\u062f\u0648\u0642 \u0627\u0644\u0628\u0631\u064a" \
	"\u062f|\u0639\u0646\u0648\u0627\u0646 \u0627\u0644\u0628\u0631" \
	"\u064a\u062f \u0627\u0644\u0625\u0644\u0643\u062a\u0631\u0648" \
	"\u0646\u064a) \u0627\u0644\u062e\u0627\u0635 \u0628\u0643" \
	"|(?:\u05d4\u05d7\u05e9\u05d1\u05d5\u05df" \
	"|\u05d4\u05db\u05ea\u05d5\u05d1\u05ea" \
	"|\u05ea\u05d9\u05d1\u05ea \u05d4\u05d3\u05d5\u05d0\u05e8) \u05e9" \
	"\u05dc\u05da|\u05d7\u05e9\u05d1\u05d5\u05e0\u05da" \
	"|\u05db\u05ea\u05d5\u05d1\u05ea\u05da" \
	"|\\badresiniz)"

#define L10N_PREDICATE \
	"(?:unbekannt|existiert nicht|nicht vorhanden|nicht gefunden" \
	"|ung(?:\u00fc|ue)ltig|gesperrt|abgelehnt|blockiert|inconnue?" \
	"|inexistante?|n.existe pas|introuvable|invalide" \
	"|bloqu(?:\u00e9|e)|refus(?:\u00e9|e)|rejet(?:\u00e9|e)" \
	"|desconocid[oa]|no existe|inexistente|no encontrad[oa]" \
	"|no (?:es )?v(?:\u00e1|a)lid[oa]|bloquead[oa]|rechazad[oa]" \
	"|desconhecid[oa]|n(?:\u00e3|a)o existe|n(?:\u00e3|a)o encontrad[oa]" \
	"|inv(?:\u00e1|a)lid[oa]|rejeitad[oa]|recusad[oa]" \
	"|sconosciut[oa]|non esiste|inesistente|non valid[oa]|non trovat[oa]" \
	"|bloccat[oa]|rifiutat[oa]|onbekend|bestaat niet|ongeldig" \
	"|geblokkeerd|geweigerd|niet gevonden|nieznany|nie istnieje" \
	"|nieprawid(?:\u0142|l)owy|zablokowany|odrzucony" \
	"|nezn(?:\u00e1|a)m|neexistuje|neplatn|blokov(?:\u00e1|a)n" \
	"|odm(?:\u00ed|i)tnut" \
	"|\u043d\u0435 \u043d\u0430\u0439\u0434\u0435\u043d" \
	"|\u043d\u0435 \u0441\u0443\u0449\u0435\u0441\u0442\u0432\u0443" \
	"\u0435\u0442" \
	"|\u043d\u0435\u0438\u0437\u0432\u0435\u0441\u0442" \
	"|\u043d\u0435\u0434\u0435\u0439\u0441\u0442\u0432\u0438\u0442\u0435\u043b" \
	"|\u0437\u0430\u0431\u043b\u043e\u043a\u0438\u0440\u043e\u0432\u0430\u043d" \
	"|\u043e\u0442\u043a\u043b\u043e\u043d" \
	"|\u043d\u0435 \u0437\u043d\u0430\u0439\u0434\u0435\u043d" \
	"|\u043d\u0435 \u0456\u0441\u043d\u0443\u0454" \
	"|\u043d\u0435\u0432\u0456\u0434\u043e\u043c" \
	"|\u4e0d\u5b58\u5728|\u672a\u627e\u5230|\u627e\u4e0d\u5230" \
	"|\u65e0\u6548|\u7121\u6548|\u88ab\u62d2|\u62d2\u7edd" \
	"|\u62d2\u7d55|\u88ab\u963b\u6b62|\u88ab\u5c01" \
	"|\uc874\uc7ac\ud558\uc9c0 \uc54a|\ucc3e\uc744 \uc218 \uc5c6" \
	"|\uc720\ud6a8\ud558\uc9c0 \uc54a|\ucc28\ub2e8|\uac70\ubd80" \
	"|bulunamad|mevcut de(?:\u011f|g)il|ge(?:\u00e7|c)ersiz" \
	"|engellen|reddedildi|ok(?:\u00e4|a)nd|finns inte|ogiltig" \
	"|blockerad|ukendt|findes ikke|ugyldig|blokeret|ukjent" \
	"|st(?:\u00e4|a)ngts av|st(?:\u00e4|a)ngd|st(?:\u00e4|a)ngt" \
	"|finnes ikke|blokkert" \
	/* not allowed, not authorised, not accepted */ \
	"|nicht (?:zugelassen|erlaubt|akzeptiert|autorisiert|berechtigt)" \
	"|non (?:autoris(?:\u00e9|e)|accept(?:\u00e9|e)|permis)" \
	"|no (?:autorizad|permitid|aceptad)" \
	"|n(?:\u00e3|a)o (?:autorizad|permitid|aceit)" \
	"|non (?:autorizzat|consentit|accettat)" \
	"|niet (?:toegestaan|geaccepteerd|geautoriseerd)" \
	"|nieautoryzowan|niedozwolon|nepovolen" \
	"|\u043d\u0435 \u0430\u0432\u0442\u043e\u0440\u0438\u0437\u043e\u0432\u0430\u043d" \
	"|\u043d\u0435 \u0440\u0430\u0437\u0440\u0435\u0448\u0435\u043d" \
	"|\u672a\u6388\u6743|\u672a\u7d93\u6388\u6b0a|\u4e0d\u5141\u8bb8" \
	"|\ud5c8\uc6a9\ub418\uc9c0 \uc54a" \
	"|inte till(?:\u00e5|a)ten|ikke tilladt|ikke tillatt|yetkisiz" \
	/* disabled, suspended, deactivated, closed */ \
	"|deaktiviert|stillgelegt|d(?:\u00e9|e)sactiv|suspendu" \
	"|desactivad|suspendid|deshabilitad|desativad|suspens" \
	"|disattivat|disabilitat|sospes|gedeactiveerd|uitgeschakeld" \
	"|opgeheven|geschorst|dezaktywowan|zawieszon|deaktivov" \
	"|zru(?:\u0161|s)en|pozastaven|zablokowan" \
	"|\u0437\u0430\u0431\u043b\u043e\u043a\u043e\u0432\u0430\u043d" \
	"|\u043e\u0442\u043a\u043b\u044e\u0447" \
	"|\u0434\u0435\u0430\u043a\u0442\u0438\u0432\u0438\u0440" \
	"\u043e\u0432\u0430\u043d" \
	"|\u043f\u0440\u0438\u043e\u0441\u0442\u0430\u043d" \
	"\u043e\u0432\u043b\u0435\u043d" \
	"|\u0432\u0438\u043c\u043a\u043d\u0435\u043d" \
	"|\u0434\u0435\u0430\u043a\u0442\u0438\u0432\u043e\u0432\u0430\u043d" \
	"|\u043f\u0440\u0438\u0437\u0443\u043f\u0438\u043d\u0435\u043d" \
	"|\u505c\u7528|\u7981\u7528|\u51bb\u7ed3|\u51cd\u7d50" \
	"|\u6ce8\u9500|\u8a3b\u92b7|\ube44\ud65c\uc131|\uc815\uc9c0" \
	"|\ud734\uba74|devre d(?:\u0131|i)(?:\u015f|s)(?:\u0131|i)" \
	"|ask(?:\u0131|i)ya|inaktiver|avst(?:\u00e4|a)ng" \
	"|sp(?:\u00e4|a)rra|deaktiver|sp(?:\u00e6|ae)rret|sperret" \
	/* moved, no longer at this address */ \
	"|umgezogen" \
	"|ge(?:\u00e4|ae)ndert" \
	"|nicht mehr unter" \
	"|n.{1,3}est plus (?:joignable |disponible )?(?:\u00e0|a) cette" \
	"|chang(?:\u00e9|e) d.{1,3}adresse" \
	"|ya no (?:est|se encuentra|utiliza|usa)" \
	"|cambiado (?:su |de )direcci" \
	"|n(?:\u00e3|a)o (?:est(?:\u00e1|a)|se encontra|usa|utiliza) mais" \
	"|mudou de endere" \
	"|non (?:\u00e8|e'?) pi(?:\u00f9|u)" \
	"|cambiato indirizzo" \
	"|niet meer (?:bereikbaar|actief)" \
	"|nieuw (?:e-?mail)?adres" \
	"|nie jest ju(?:\u017c|z) dost|uleg(?:\u0142|l) zmianie" \
	"|nen(?:\u00ed|i) dostupn" \
	"|\u0431\u043e\u043b\u044c\u0448\u0435 \u043d\u0435" \
	" \u0434\u043e\u0441\u0442\u0443\u043f" \
	"|\u0438\u0437\u043c\u0435\u043d\u0438\u043b" \
	"|ei l(?:\u00f6|o)ytynyt|ei l(?:\u00f6|o)ydy|tuntematon" \
	"|ei ole olemassa|suljettu" \
	"|poistettu|j(?:\u00e4\u00e4|aa)dytetty|estetty|hyl(?:\u00e4|a)tty" \
	"|vaihtanut" \
	"|nem tal(?:\u00e1|a)lhat|nem l(?:\u00e9|e)tezik|ismeretlen" \
	"|le van tiltva|letiltva" \
	"|felf(?:\u00fc|u)ggeszt|megsz(?:\u0171|u)n|t(?:\u00f6" \
	"|o)r(?:\u00f6|o)lve|elutas(?:\u00ed|i)tva|blokkolva" \
	"|nu a fost g(?:\u0103|a)sit|nu exist(?:\u0103|a)|necunoscut" \
	"|inexistent|dezactivat" \
	"|suspendat|blocat|respins" \
	"|\u03b4\u03b5\u03bd \u03b2\u03c1\u03ad\u03b8\u03b7\u03ba\u03b5" \
	"|\u03b4\u03b5\u03bd \u03c5\u03c0\u03ac\u03c1\u03c7\u03b5\u03b9" \
	"|\u03ac\u03b3\u03bd\u03c9\u03c3\u03c4" \
	"|\u03b1\u03c0\u03b5\u03bd\u03b5\u03c1\u03b3\u03bf\u03c0\u03bf" \
	"\u03b9" \
	"|\u03b1\u03bd\u03b5\u03c3\u03c4\u03ac\u03bb\u03b7" \
	"|\u03b1\u03bd\u03b1\u03c3\u03c4\u03b1\u03bb\u03b5\u03af" \
	"|\u03b1\u03c0\u03bf\u03ba\u03bb\u03b5\u03af" \
	"|\u03b1\u03c0\u03bf\u03c1\u03c1\u03af\u03c6\u03b8\u03b7\u03ba" \
	"\u03b5" \
	"|kh\u00f4ng t\u1ed3n t\u1ea1i|kh\u00f4ng t\u00ecm th\u1ea5y" \
	"|kh\u00f4ng h\u1ee3p l\u1ec7|b\u1ecb ch\u1eb7n" \
	"|b\u1ecb t\u1eeb ch\u1ed1i|v\u00f4 hi\u1ec7u h" \
	"|b\u1ecb kh(?:\u00f3a|o\u00e1)|\u0111\u00ecnh ch\u1ec9" \
	"|b\u1ecb x(?:\u00f3a|o\u00e1)" \
	"|tidak (?:dapat )?ditemukan|tidak dikenal|tidak terdaftar" \
	"|tidak valid|diblokir" \
	"|ditolak|dinonaktifkan|ditangguhkan|ditutup|dihapus" \
	"|\u0e44\u0e21\u0e48\u0e1e\u0e1a" \
	"|\u0e44\u0e21\u0e48\u0e21\u0e35\u0e2d\u0e22\u0e39\u0e48" \
	"|\u0e44\u0e21\u0e48\u0e16\u0e39\u0e01\u0e15\u0e49\u0e2d\u0e07" \
	"|\u0e16\u0e39\u0e01\u0e1a\u0e25\u0e47\u0e2d\u0e01" \
	"|\u0e16\u0e39\u0e01\u0e1b\u0e0f\u0e34\u0e40\u0e2a\u0e18" \
	"|\u0e16\u0e39\u0e01\u0e23\u0e30\u0e07\u0e31\u0e1a" \
	"|\u0e1b\u0e34\u0e14\u0e43\u0e0a\u0e49\u0e07\u0e32\u0e19" \
	"|\u0e16\u0e39\u0e01\u0e25\u0e1a" \
	"|\u063a\u064a\u0631 \u0645\u0648\u062c\u0648\u062f" \
	"|\u063a\u064a\u0631 \u0645\u0639\u0631\u0648\u0641" \
	"|\u063a\u064a\u0631 \u0635\u0627\u0644\u062d" \
	"|\u0645\u062d\u0638\u0648\u0631|\u0645\u0631\u0641\u0648\u0636" \
	"|\u0645\u0639\u0637\u0644|\u0645\u0648\u0642\u0648\u0641" \
	"|\u062a\u0645 \u062a\u0639\u0637\u064a\u0644" \
	"|\u062a\u0645 \u0625\u064a\u0642\u0627\u0641" \
	"|\u062a\u0645 \u062d\u0638\u0631|\u062a\u0645 \u0631\u0641\u0636" \
	"|\u05dc\u05d0 \u05e0\u05de\u05e6\u05d0" \
	"|\u05dc\u05d0 \u05e7\u05d9\u05d9\u05dd" \
	"|\u05d0\u05d9\u05e0\u05d5 \u05e7\u05d9\u05d9\u05dd" \
	"|\u05dc\u05d0 \u05d9\u05d3\u05d5\u05e2" \
	"|\u05dc\u05d0 \u05d7\u05d5\u05e7\u05d9" \
	"|\u05d7\u05e1\u05d5\u05dd|\u05e0\u05d7\u05e1\u05dd" \
	"|\u05e0\u05d3\u05d7\u05d4|\u05d4\u05d5\u05e9\u05d1\u05ea" \
	"|\u05de\u05d5\u05e9\u05d1\u05ea|\u05d4\u05d5\u05e9\u05e2\u05d4" \
	"|\u05e0\u05e1\u05d2\u05e8|\u05e0\u05de\u05d7\u05e7" \
	"|bytt (?:e-?post)?adress|byttet (?:e-?post)?adresse" \
	"|skiftet (?:e-?mail)?adresse" \
	"|thay \u0111\u1ed5i \u0111\u1ecba ch\u1ec9" \
	"|\u0111\u1ed5i \u0111\u1ecba ch\u1ec9|(?:berganti|mengganti" \
	"|mengubah|pindah) alamat" \
	"|\u0e40\u0e1b\u0e25\u0e35\u0e48\u0e22\u0e19\u0e17\u0e35\u0e48" \
	"\u0e2d\u0e22\u0e39\u0e48|megv(?:\u00e1|a)ltoztatta" \
	"|schimbat adresa|\u03ac\u03bb\u03bb\u03b1\u03be\u03b5" \
	"|\u0628\u062a\u063a\u064a\u064a\u0631 \u0639\u0646\u0648\u0627" \
	"\u0646|\u063a\u064a\u0651\u0631 \u0639\u0646\u0648\u0627\u0646" \
	"|\u05e9\u05d9\u05e0\u05d4 \u05d0\u05ea" \
	"|\u05d4\u05d7\u05dc\u05d9\u05e3 \u05d0\u05ea" \
	"|\u0437\u043c\u0456\u043d\u0438\u0432 (?:\u0441\u0432\u043e\u044e " \
	")?\u0430\u0434\u0440\u0435\u0441" \
	"|\u0437\u043c\u0456\u043d\u0438\u043b" \
	"|de(?:\u011f|g)i(?:\u015f|s)tir|\u5909\u66f4|\u53d8\u66f4" \
	"|\u8b8a\u66f4|\u66f4\u6362|\u66f4\u63db|\u66f4\u6539|\ubcc0\uacbd)"

#define L10N_FIRST \
	"(?:\\bno se (?:ha )?(?:encontr(?:\u00f3|o|ado)|pudo encontrar" \
	"|puede encontrar)" \
	"|\\bimpossible de (?:trouver|localiser)|\\bimpossibile (?:trovare" \
	"|individuare)" \
	"|\\bn(?:\u00e3|a)o foi poss(?:\u00ed|i)vel (?:encontrar|localizar)" \
	"|\\bnie (?:mo(?:\u017c|z)na|uda(?:\u0142|l)o si(?:\u0119" \
	"|e)) (?:znale(?:\u017a|z)(?:\u0107|c)|odnale(?:\u017a|z)(?:\u0107" \
	"|c))" \
	"|\\bnie znaleziono|\\bnelze naj(?:\u00ed|i)t" \
	"|(?:\u041d|\u043d)\u0435 (?:\u0443\u0434\u0430\u043b\u043e\u0441" \
	"\u044c|\u0443\u0434\u0430(?:\u0435" \
	"|\u0451)\u0442\u0441\u044f) \u043d\u0430\u0439\u0442\u0438" \
	"|(?:\u041d|\u043d)\u0435 (?:\u0432\u0434\u0430\u043b\u043e\u0441" \
	"\u044f|\u0432\u0434\u0430(?:\u0454" \
	"|\u0435)\u0442\u044c\u0441\u044f) \u0437\u043d\u0430\u0439\u0442" \
	"\u0438" \
	"|\\b(?:(?:finner|fant) ikke|kunne ikke finne|kunne ikke finde" \
	"|det gick inte att hitta|kunde inte hitta)" \
	"|(?:K|k)h\u00f4ng t\u00ecm th\u1ea5y|\u0e44\u0e21\u0e48\u0e1e\u0e1a" \
	"|(?:\u062a\u0639\u0630\u0631|\u062a\u0639\u0630\u0651\u0631" \
	"|\u064a\u062a\u0639\u0630\u0631|\u0644\u0645 \u064a\u062a\u0645" \
	"|\u0644\u0627 \u064a\u0645\u0643\u0646) \u0627\u0644\u0639\u062b" \
	"\u0648\u0631 \u0639\u0644\u0649" \
	"|\u062a\u0645 (?:\u062a\u0639\u0637\u064a\u0644" \
	"|\u0625\u064a\u0642\u0627\u0641|\u062d\u0638\u0631" \
	"|\u0631\u0641\u0636)" \
	"|\u05dc\u05d0 \u05e0\u05d9\u05ea\u05df \u05dc\u05de\u05e6\u05d5" \
	"\u05d0" \
	"|(?:\u0394|\u03b4)\u03b5\u03bd (?:\u03ae\u03c4\u03b1\u03bd \u03b4" \
	"\u03c5\u03bd\u03b1\u03c4\u03ae \u03b7 \u03b5\u03cd\u03c1\u03b5" \
	"\u03c3\u03b7|\u03b2\u03c1\u03ad\u03b8\u03b7\u03ba\u03b5)" \
	"|\u627e\u4e0d\u5230|\u65e0\u6cd5\u627e\u5230" \
	"|\u7121\u6cd5\u627e\u5230|\u672a\u80fd\u627e\u5230|\u672a\u627e\u5230)"

/* An adjective before the sender (part 10): "Unbekannter Absender". */
#define L10N_ADJ \
	"(?:unbekannte|ung(?:\u00fc|ue)ltige|gesperrte|falsche|nicht existierende)[rs]?" \
	"|(?:\u041d|\u043d)(?:\u0435\u0438\u0437\u0432\u0435\u0441\u0442\u043d|\u0435\u0434\u0435\u0439\u0441\u0442\u0432\u0438\u0442\u0435\u043b\u044c\u043d|\u0435\u0441\u0443\u0449\u0435\u0441\u0442\u0432\u0443\u044e\u0449|\u0435\u0432\u0435\u0440\u043d)\\S*" \
	"|(?:\u0417|\u0437)\u0430\u0431\u043b\u043e\u043a\u0438\u0440\u043e\u0432\u0430\u043d\u043d\\S*|(?:\u041d|\u043d)(?:\u0435\u0432\u0456\u0434\u043e\u043c|\u0435\u0434\u0456\u0439\u0441\u043d|\u0435\u0456\u0441\u043d\u0443\u044e\u0447)\\S*" \
	"|\\bniez(?:nany|naleziony)|\\bnieprawid(?:\u0142|l)owy|\\bnieistniej(?:\u0105|a)cy" \
	"|\\bnezn(?:\u00e1|a)m(?:\u00fd|y)|\\bneplatn(?:\u00fd|y)|\\bneexistuj(?:\u00ed|i)c(?:\u00ed|i)" \
	"|\u672a\u77e5|\u65e0\u6548\u7684?|\u7121\u6548\u7684?|\u4e0d\u5b58\u5728\u7684|\u4e0d\u660e\u306a|\u7121\u52b9\u306a|\u5b58\u5728\u3057\u306a\u3044" \
	"|\uc54c \uc218 \uc5c6\ub294|\uc874\uc7ac\ud558\uc9c0 \uc54a\ub294|\uc720\ud6a8\ud558\uc9c0 \uc54a\uc740|\uc798\ubabb\ub41c" \
	"|\\bbilinmeyen|\\bge(?:\u00e7|c)ersiz|\\bok(?:\u00e4|a)nd|\\bogiltig|\\bukendt|\\bukjent" \
	"|\\bugyldig|\\btuntematon|\\bvirheellinen|\\bismeretlen|(?:\u00c9|\u00e9|\\be)rv(?:\u00e9|e)nytelen" \
	"|(?:\u0386|\u03ac)\u03b3\u03bd\u03c9\u03c3\u03c4\u03bf\u03c2|(?:\u0386|\u03ac)\u03ba\u03c5\u03c1\u03bf\u03c2|\u03bc\u03b7 \u03ad\u03b3\u03ba\u03c5\u03c1\u03bf\u03c2"

#define L10N_SENDER_NOUN \
	"(?:Absender|exp(?:\u00e9|e)diteur|remitente|remetente|mittente|afzender" \
	"|nadawc|odes(?:\u00ed|i)latel|\u043e\u0442\u043f\u0440\u0430\u0432\u0438\u0442\u0435\u043b|(?:\u0412|\u0432)\u0456\u0434\u043f\u0440\u0430\u0432\u043d\u0438\u043a|\u53d1\u4ef6\u4eba|\u767c\u4ef6\u4eba" \
	"|\u5bc4\u4ef6\u4eba|\u5bc4\u4ef6\u8005|\u53d1\u4fe1\u4eba|\ubc1c\uc2e0\uc790|\ubcf4\ub0b8 \uc0ac\ub78c|\u9001\u4fe1\u8005|\u5dee\u51fa\u4eba|\u9001\u4fe1\u5143" \
	"|g(?:\u00f6|o)nderen|avs(?:\u00e4|a)ndar|afsender|avsender|l(?:\u00e4|a)hett(?:\u00e4|a)j" \
	"|felad(?:\u00f3|o)|expeditor|\u03b1\u03c0\u03bf\u03c3\u03c4\u03bf\u03bb\u03ad|ng\u01b0\u1eddi g\u1eedi|pengirim|\u0e1c\u0e39\u0e49\u0e2a\u0e48\u0e07)"

#define L10N_ADDR \
	"(?:(?:(?:E-Mail-)?Adresse|adres\\S*|(?:\u0410|\u0430)\u0434\u0440\u0435\u0441\\S*|c(?:\u00ed|i)m\\S*" \
	"|osoite\\S*|\u03b4\u03b9\u03b5\u03cd\u03b8\u03c5\u03bd\u03c3\u03b7|\u5730\u5740|\u30a2\u30c9\u30ec\u30b9|\uc8fc\uc18c|address|domain\\S*" \
	"|(?:\u0414|\u0434)\u043e\u043c\u0435\u043d\\S*)\\s*)?"

/*
 * A check or verification (part 12), in the same languages: "Prüfung",
 * "vérification", "verificación", "проверка", "验证", "확인", "検証".
 */
#define L10N_VERIFY \
	"(?:pr(?:\u00fc|ue)fung|verifizierung|verifikation|v(?:\u00e9|e)rification" \
	"|verificaci(?:\u00f3|o)n|verifica(?:\u00e7|c)(?:\u00e3|a)o" \
	"|verifica\\b|verificatie|controle|weryfikacj|ov(?:\u011b|e)(?:\u0159|r)en" \
	"|(?:\u041f|\u043f)\u0440\u043e\u0432\u0435\u0440\u043a" \
	"|(?:\u041f|\u043f)\u0435\u0440\u0435\u0432\u0456\u0440\u043a" \
	"|\u9a8c\u8bc1|\u9a57\u8b49|\u6821\u9a8c|\u78ba\u8a8d|\u691c\u8a3c" \
	"|\ud655\uc778|\uc778\uc99d|\uac80\uc99d" \
	"|do(?:\u011f|g)rulama|verifiering|bekr(?:\u00e6|ae)ftelse|verifisering" \
	"|bekreftelse|tarkistus|vahvistus|ellen(?:\u0151|o)rz|verificarea" \
	"|\u03b5\u03c0\u03b1\u03bb\u03ae\u03b8\u03b5\u03c5\u03c3" \
	"|x\u00e1c minh|verifikasi|\u0e15\u0e23\u0e27\u0e08\u0e2a\u0e2d\u0e1a" \
	"|\u0627\u0644\u062a\u062d\u0642\u0642|\u05d0\u05d9\u05de\u05d5\u05ea)"

#define L10N_CLAUSE \
	"(?:(?!\\. |;|:|\u3002|\u3001|\uff0c|\uff1a).){0,40}?"

static const char pattern[] =
	/* 1 */
	"\\bsender address rejected\\b"
	"|\\bsender verif(?:y|ication) failed\\b"
	"|\\bverification failed for\\b"
	"|\\b(?:could not|unable to|cannot) verify (?:the )?sender\\b"
	"|\\bsender (?:callback|callout|check)\\b"
	"|\\bcall(?:back|out)(?: verification)? (?:of|for|to) (?:the )?sender\\b"
	"|\\(sender\\)"
	/* 1b: "you", the sending client, the SMTP AUTH we gave */
	"|\\byou are (?:not (?:a )?(?:known|registered|recogni[sz]ed|valid)"
	"|unknown)\\b"
	"|\\byou are not (?:allowed|permitted|authori[sz]ed) to (?:send|relay"
	"|use)\\b"
	"|\\b(?:SMTP[- ]AUTH|AUTH(?:entication)?)\\b(?:[^.;]){0,20}?\\b(?:failed"
	"|failure|unsuccessful)\\b"
	"|\\b(?:unknown|invalid|unauthori[sz]ed|unresolvable) (?:client"
	"|sending (?:host|server|domain|IP))\\b"
	"|\\bclient(?: ?host ?name| name| address)? (?:is )?(?:unknown"
	"|not (?:found|known|recogni[sz]ed|resolv))"
	"|\\b(?:cannot|can't|could not|unable to|failed to) resolve your\\b"
	"|\\broute to (?:the )?sender\\b"
	"|\\b(?:domain|host) (?:of|in|for) your (?:e-?mail )?(?:address|account"
	"|message|mail)\\b"
	/* the domains of our message: its links, its DKIM signature */
	"|\\b(?:link|URL|DKIM|signing|SPF)(?:'s)? domain\\b"
	"|\\bdomain (?:of|in) (?:the |a )?(?:link|URL|DKIM|signature)"
	"|\\b(?:not found|does not exist|unknown|unresolvable) in (?:the |a "
	"|your )?(?:URL|link|message body)"
	"|\\blinks? to (?:a |an |the )?(?:domain|host|site)\\b"
	"|\\b(?:URL|link)s? (?:in|of) (?:the |your |this )?message\\b"
	/* our login at a relay: SASL, a client certificate, "login failed" */
	"|\\bSASL (?:user|login|user ?name|authentication)\\b"
	"|\\bclient certificate\\b|\\blogin (?:failed|incorrect|denied)\\b"
	"|\\byour (?:user ?(?:name|ID)|login)\\b"
	"|\\b(?:denied|refused|rejected|blocked|disabled|not allowed) (?:for|to)"
	" (?:the |this |your )?sender\\b"
	/* our connection: over IPv6, the IP's frequency or rate (QQ) */
	"|\\b(?:e-?mail|mail|messages?|connections?) over IPv6\\b"
	"|\\bIP (?:frequency|rate)(?: limit(?:ed)?)?\\b"
	/* the sending server, IP or domain refused, in Korean */
	"|(?:\ubc1c\uc2e0|\ubc1c\uc1a1|\uc1a1\uc2e0) ?(?:\uc11c\ubc84|IP"
	"|\ub3c4\uba54\uc778).{0,30}?(?:\ucc28\ub2e8|\uac70\ubd80"
	"|\uc81c\ud55c)"
	/* our account at a relay: outbound, SMTP, its login and password */
	"|\\b(?:outbound|outgoing|SMTP|submission|relay|SMTP[- ]AUTH)"
	" (?:e-?mail |mail )?(?:account|access|user|login|service)\\b"
	"(?:[^.;]){0,30}?\\b" PREDICATE
	"|\\b(?:disabled|blocked|suspended|locked) (?:for|from) (?:outgoing"
	"|outbound) (?:mail|e-?mail|messages|traffic|sending)\\b"
	"|\\bsmtp-?auth\\b"
	"|\\bpassword (?:has )?(?:expired|incorrect|invalid|wrong|not accepted)\\b"
	/* "Unable to find the sender", "check the sender's address" */
	"|\\b(?:unable to|could not|couldn't|cannot|can't|does not|doesn't"
	"|do not|don't) (?:find|locate|verify|resolve|know|recogni[sz]e)"
	" (?:the |your )?(?:sender|originator|from address"
	"|return[- ]path|envelope sender)\\b"
	"|\\b(?:check|verify|correct) (?:the |your )?(?:sender|originator)"
	"(?:'s)? (?:e-?mail )?address\\b"
	/* the null sender of a bounce: "<>: user unknown" */
	"|(?:<>|<?\\bMAILER-DAEMON>?)(?::| \\.\\.\\.)? (?:[^.;]){0,20}?" PREDICATE
	"|\\bnull (?:sender|return[- ]path|reverse[- ]path|MAIL FROM)\\b"
	"|\\b(?:bounce|DSN|NDR)s?(?: messages?)? (?:are |is )?not (?:accepted"
	"|allowed|permitted)\\b"
	"|\\b(?:reputation|block ?list(?:ing)?|black ?list(?:ing)?) (?:of|for)"
	" (?:the |your )?(?:sending|sender)\\b"
	"|\\b(?:mail|messages?|e-?mail|relay(?:ing)?|connections?) from"
	" (?:this|your|the) (?:domain|IP|host|server|network|relay)\\b"
	"|\\b(?:mail|messages?|e-?mail|relay(?:ing)?|connections?) from"
	" (?:[a-z0-9-]+\\.)+[a-z]{2,}\\b(?! (?:said|says|reported|reports)\\b)"
	"(?: is| are| was| has been)? (?:not accepted|refused|rejected|denied"
	"|blocked|blacklisted|banned|not allowed)\\b"
	"|\\buse your (?:ISP|provider|internet service provider)(?:'s)?"
	" (?:relay|SMTP|mail server|smarthost)\\b"
	"|\\bfrom (?:bulk |mass |unknown |unregistered )?senders? (?:is |are )?"
	"(?:not accepted|refused|rejected|blocked|not allowed)\\b"
	/* 2 */
	"|\\b(?:your|this|the sending|sending|client) IP\\b" IP_LABEL
	/* "your IP" in the other languages servers answer in */
	"|\\b(?:Ihre|deine) IP\\b" IP_LABEL "|\\bvotre (?:adresse )?IP\\b" IP_LABEL
	"|\\b(?:su IP|tu IP|su direcci\u00f3n IP|tu direcci\u00f3n IP"
	"|su direccion IP|tu direccion IP)\\b" IP_LABEL
	"|\\b(?:seu|o seu) (?:endere(?:\u00e7|c)o )?IP\\b" IP_LABEL
	"|\\b(?:il tuo|il vostro|vostro) (?:indirizzo )?IP\\b" IP_LABEL
	"|\\b(?:uw|je) IP\\b" IP_LABEL
	"|\\b(?:tw\u00f3j|twoj) (?:adres IP|IP)\\b" IP_LABEL
	"|(?:\u0412|\u0432)\u0430\u0448(?:\u0435\u0433\u043e)?"
	" (?:IP|\u0430\u0439\u043f\u0438)" IP_LABEL
	"|(?:\u60a8|\u4f60)\u7684 ?IP" IP_LABEL "|\uadc0\ud558\uc758 IP" IP_LABEL
	"|\\bIP adresiniz" IP_LABEL
	/* the sending IP: 발신 IP, 发件人IP, 发送IP, 送信元IP */
	"|(?:\ubc1c\uc2e0|\ubc1c\uc1a1|\uc1a1\uc2e0) ?IP" IP_LABEL
	"|(?:\u53d1\u4ef6\u4eba|\u53d1\u9001\u65b9?|\u53d1\u4fe1|\u9001\u4fe1\u5143) ?IP" IP_LABEL
	"|\\b(?:din|ditt) IP\\b" IP_LABEL "|\\bIP-osoitteesi" IP_LABEL
	"|(?:\u00d6|\u00f6)n IP-c(?:\u00ed|i)m" IP_LABEL "|\\bIP-c(?:\u00ed|i)med" IP_LABEL
	"|\\bIP-ul (?:dvs|dumneavoastr)" "|\\badresa IP a (?:dvs|dumneavoastr)"
	"|\\bva(?:\u0161|s)e IP\\b" IP_LABEL "|(?:\u0412|\u0432)\u0430\u0448\u0430 IP" IP_LABEL
	"|IP \u03c3\u03b1\u03c2" IP_LABEL "|IP c\u1ee7a b\u1ea1n" IP_LABEL
	"|\\bIP (?:Anda|kamu)\\b" IP_LABEL
	"|IP ?\u0e02\u0e2d\u0e07\u0e04\u0e38\u0e13" IP_LABEL
	"|IP \u0627\u0644\u062e\u0627\u0635 \u0628\u0643" IP_LABEL "|IP \u05e9\u05dc\u05da" IP_LABEL
	"|\\bclient host\\b"
	"|\\bIP (?:address )?\\[?\\d{1,3}(?:\\.\\d{1,3}){3}\\]? (?:is |has "
	"been )?(?:temporarily )?(?:blocked|blacklisted|banned|listed"
	"|rejected)"
	"|\\b(?:host|client|server|mail server) \\[?\\d{1,3}(?:\\.\\d{1,3}){3}\\]?"
	" (?:is|was|has been) (?:temporarily )?(?:not allowed|not accepted"
	"|refused|rejected|denied|blocked|blacklisted|banned|listed"
	"|suspended)\\b"
	"|\\b(?:connections?|mail|messages?|relay(?:ing)?) from \\[?\\d{1,3}(?:\\.\\d{1,3}){3}"
	"\\]? (?:is |are |was |were |has been |have been )?(?:temporarily )?"
	"(?:not allowed|not accepted|refused|rejected|denied|blocked"
	"|blacklisted|banned|suspended)\\b"
	"|\\b(?:your (?:network|server|mail ?server|host|MTA|relay)"
	"|(?:this|the sending) network)\\b(?! (?:administrator|admin"
	"|postmaster|provider|operator|support|team|logs?)\\b)"
	"(?:[^.;:]|\\.(?=\\S)){0,40}?"
	"\\b(?:not (?:allowed|permitted|accepted|authori[sz]ed)|refused"
	"|rejected|denied|blocked|blacklisted|blocklisted|banned|listed)\\b"
	/* 3 */
	"|too many (?:invalid|unknown|bad|non-?existent|non-?existing"
	"|undeliverable|wrong|unverified|failed|rejected) (?:recipients?"
	"|rcpts?|addresses|users|mailboxes)\\b"
	"|\\b(?:number of|many|multiple|excessive|repeated) (?:invalid"
	"|unknown|bad|non-?existent) (?:recipients|rcpts|addresses|users"
	"|mailboxes)\\b"
	"|too many (?:recipient|rcpt|address|user) (?:errors|failures"
	"|rejections)"
	"|directory harvest|\\bharvest(?:ing)? attack"
	/* 4 */
	"|\\bMAIL ?FROM (?:command|address|domain|user)\\b|\\bin (?:the )?MAIL FROM\\b"
	"|\\b(?:reply|response|answer) (?:to|after) (?:the |a |your )?MAIL ?FROM\\b"
	"|\\bMAIL FROM ?:? ?<[^<>]*>:? (?:\\S+ ){0,2}?" PREDICATE
	/* 5 */
	"|\\b(?:sender|sending (?:account|domain|address|host|server|user"
	"|mailbox|MTA|relay|network|IP)|their network"
	"|from:? address|from header|reply-to|envelope[- ](?:sender|from|domain)"
	"|return[- ]path|reverse[- ]path|originator|return address"
	"|bounce address|bounce-to address|errors-to address|reply address"
	"|response address|originating (?:address|mailbox|account|user"
	"|domain)|(?:message )?author(?:'s)? address|message author"
	"|(?:RFC ?)?5322\\.From|MAILFROM"
	"|your (?:e-?mail |own |sending |sender |reply |ISP |provider |customer "
	"|user |SMTP |mail |webmail |hosting )?(?:address|account|mailbox"
	"|domain|identity)(?! ?book)(?! ?list)"
	"|(?:sending|(?:outgoing|outbound) (?:mail|e-?mail|messages?))"
	" (?:for|from|of|on) (?:this|your) (?:e-?mail )?(?:account|mailbox"
	"|address|domain)"
	"|(?:e-?mail |user )?(?:account|mailbox|address|user|domain|identity)"
	" (?:that |which )?you(?: are| were| have been|'re)? (?:trying to "
	"|attempting to |tried to |attempted to )?(?:send(?:ing)?|sent"
	"|mail(?:ing)?) (?:from|as|with)"
	"|(?:account|mailbox|address|user|domain) (?:that |which )?"
	"(?:you|this message|the message|it) (?:was |were )?sent"
	"(?: this message| it)? from"
	"|(?:account|mailbox|address|user|domain) from which (?:you|this"
	" message|the message|it) (?:was |were )?(?:sent|send)"
	"(?: this message| it)?"
	"|(?:account|mailbox|address|user|domain) (?:used to send|that sent"
	"|which sent|who sent)(?: this| the)?(?: message| mail| e-?mail)?"
	"|authenticated (?:user|account|sender)"
	"|(?:account|user|identity) you (?:are )?(?:authenticated|logged in)"
	" (?:with|as))(?:'s)?\\b(?!: ?<?[^\\s<>@]+@)"
	"(?:<?[^\\s<>@;]+@[^\\s<>;]+>? ?|[^.;]|\\.(?=\\S)){0,40}?\\b"
	PREDICATE
	"|\\b(?:disabled|blocked|restricted|suspended|not allowed|prohibited)"
	" (?:from|for) sending\\b"
	"|\\b(?:has|have|had) (?:blocked|banned|blacklisted) (?:you|your)\\b"
	"|\\b(?:has|have|had) (?:blocked|banned|blacklisted|rejected|refused)"
	" (?:the|this) (?:sender|sending (?:domain|address|server|IP))\\b"
	"|\\b(?:was |were )?sent (?:this message |this |it |the message )?from"
	" (?:an? |the |this )?(?:address|account|mailbox|user)\\b"
	"(?:[^.;]){0,30}?\\b" PREDICATE
	"|\\bfrom (?:an? )?(?:unknown|invalid|non-?existe?nt|nonexisting"
	"|unregistered|unverified) (?:users?|addresse?s?|accounts?|senders?"
	"|mailbox(?:es)?)\\b"
	"|\\bidentity (?:is )?(?:unknown|not verified|could not be verified)"
	"|\\bFROM: (?:user|address|mailbox|sender) (?:unknown|not found"
	"|does not exist|invalid)\\b"
	/* a sender code: SENDER_UNKNOWN, SenderNotFound, InvalidSender */
	"|(?<![a-z])sender_?(?:not_?found|not_?exists?|unknown|invalid)"
	"|(?<![a-z])(?:unknown|invalid)_?sender(?![a-z])"
	"|\\bsending (?:is |has been |was )?(?:disabled|blocked|restricted"
	"|suspended|deactivated|not allowed|prohibited) (?:for|on|from)"
	" (?:this|your) (?:e-?mail )?(?:account|mailbox|address|domain)\\b"
	"|\\b(?:no such|unknown|invalid|non-?existe?nt|unrecogni[sz]ed"
	"|unregistered|disabled|suspended|deactivated|terminated|inactive"
	"|bad|blocked|blacklisted|blocklisted|banned|denied|forged|spoofed"
	"|fake|unauthenticated|unverified|unrou?teable|unresolvable)"
	" (?!(?-i:Sender|Return-Path|Reverse-Path): )(?:sender"
	"|from address|originator|envelope sender|return[- ]path"
	"|reverse[- ]path)\\b"
	/* 6 */
	"|\\b(?:HELO|EHLO)(?: command| name| hostname| host ?name| domain"
	"| argument| greeting)?\\b(?:[^.;]|\\.(?=\\S)){0,40}?\\b" PREDICATE
	"|\\b(?:reverse (?:DNS|lookup|host ?name)|PTR(?: record)?|rDNS)\\b"
	"(?:[^.;]|\\.(?=\\S)){0,40}?\\b" PREDICATE
	"|\\byour (?:host ?name|host|(?:mail ?)?server(?: name)?(?! (?:admin"
	"|administrator|postmaster|provider|operator|support|team|logs?)\\b)"
	"|domain(?: name)?|From:? (?:header|line))\\b"
	"(?:[^.;]|\\.(?=\\S)){0,40}?\\b" PREDICATE
	"|\\b(?:domain|host ?name|host|MX|mail exchanger|DNS|address|mailbox"
	"|account) (?:of|for|on|in) (?:the |your |this )?(?:sender|sending"
	"|envelope sender|return[- ]path|reverse[- ]path|originator"
	"|from:? address|from:? header|MAIL FROM)\\b"
	/*
	 * 7: the sender in Japanese (送信者, 差出人, 送信元) and a predicate
	 * after it in the same clause (no 、 or 。 between): does not exist,
	 * cannot be found, unknown, invalid, not registered, stopped,
	 * blocked, refused, not in use, frozen, deleted, locked, cancelled,
	 * dormant. Matched byte by byte (no UTF mode).
	 */
	"|(?:\u9001\u4fe1\u8005"
	"|\u5dee\u51fa\u4eba"
	"|\u9001\u4fe1\u5143"
	/* your (the customer's) account or address */
	"|(?:\u304a\u5ba2\u69d8|\u3042\u306a\u305f|\u8cb4\u65b9|\u8cb4\u6bbf)\u306e(?:\u30a2\u30ab"
	"\u30a6\u30f3\u30c8"
	"|\u30e1\u30fc\u30eb\u30a2\u30c9\u30ec\u30b9))"
	"(?:\u306e)?"
	"(?:(?!\u3002|\u3001|\u69d8).){0,60}?"
	"(?:\u5b58\u5728\u3057\u307e\u305b\u3093"
	"|\u5b58\u5728\u3057\u306a\u3044"
	"|\u898b\u3064\u304b\u308a\u307e\u305b\u3093"
	"|\u4e0d\u660e|\u7121\u52b9"
	"|\u767b\u9332\u3055\u308c\u3066\u3044\u307e\u305b\u3093"
	"|\u505c\u6b62|\u30d6\u30ed\u30c3\u30af|\u62d2\u5426"
	"|\u5b58\u5728\u3057\u3066|\u4f7f\u308f\u308c\u3066"
	"|\u4f7f\u7528\u3055\u308c\u3066"
	"|\u51cd\u7d50|\u524a\u9664|\u30ed\u30c3\u30af|\u89e3\u7d04"
	"|\u4f11\u6b62)";

/*
 * Parts 8 to 10, the other languages: a pattern of their own, as PCRE2
 * caps the size of one compiled pattern.
 */
static const char pattern_l10n[] =
	/*
	 * 8: the sender in the other languages servers answer in (German
	 * Absender, French expediteur, Spanish remitente, Portuguese
	 * remetente, Italian mittente, Dutch afzender, Polish nadawca, Czech
	 * odesilatel, Russian and Ukrainian, Chinese, Korean, Turkish,
	 * Swedish, Danish, Norwegian), or "your account" ("your mailbox",
	 * "your address") in them, and, in the same clause (no ". ", ";",
	 * ":" or a CJK stop between), a predicate in one of them: unknown,
	 * does not exist, not found, invalid, blocked, refused, disabled,
	 * suspended, deactivated, closed, moved, no longer at this address,
	 * changed.
	 */
	L10N_SENDER L10N_CLAUSE L10N_PREDICATE
	/*
	 * 14: the same as a label, the predicate after a colon: "Absender:
	 * Benutzer unbekannt", "Αποστολέας: ο χρήστης δεν υπάρχει" (a quoted
	 * "Absender: <x@y>" line, an address after the colon, is not one).
	 */
	"|" L10N_SENDER "\\S{0,8} ?(?::|\uff1a) ?(?!<?[^\\s<>@]+@)"
	L10N_CLAUSE L10N_PREDICATE
	/*
	 * 9: a predicate in one of them before the sender or our account,
	 * as the languages that put the verb first say it: "Impossible de
	 * trouver l'adresse de l'expéditeur", "ไม่พบที่อยู่ของผู้ส่ง".
	 */
	"|" L10N_FIRST
	"(?:(?!\\. |;|:|\u3002|\uff0c|\uff1a).){0,60}?" L10N_SENDER
	/*
	 * 10: "unknown", "invalid" or "blocked" before the sender (and its
	 * address or domain), as the languages that put the adjective first
	 * say it: "Unbekannter Absender", "Неизвестный отправитель",
	 * "Nieznany nadawca", "未知发件人", "알 수 없는 발신자", "Okänd
	 * avsändare", "Άγνωστος αποστολέας".
	 */
	"|(?:" L10N_ADJ ")\\s*" L10N_ADDR L10N_SENDER_NOUN
	/*
	 * 11: an IP (ours: the only one a receiver looks up) said not to
	 * be found or to be refused, in them: "IP non trovato", "IP-Adresse
	 * nicht gefunden", "No se encontró la IP".
	 */
	"|\\bIP(?:-\\w+)?(?: [^\\s.;:]+)? " L10N_PREDICATE
	/* in Japanese, Chinese and Korean, with no space: "IPアドレスがブロック
	 * されています", "IP已被封锁", "IP가 차단되었습니다" */
	"|\\bIP(?:\u30a2\u30c9\u30ec\u30b9|\u5730\u5740|\u4f4d\u5740|\\s?\uc8fc\uc18c)?"
	"(?:(?!\u3002|\uff0c|\u3001|\\. ).){0,24}?(?:\u30d6\u30ed\u30c3\u30af"
	"|\u62d2\u5426|\u30d6\u30e9\u30c3\u30af\u30ea\u30b9\u30c8"
	"|\u5c01\u9501|\u5c01\u9396|\u5c01\u7981|\u88ab\u5c01|\u9ed1\u540d\u5355"
	"|\u9ed1\u540d\u55ae|\u5c4f\u853d|\u88ab\u62d2|\u62d2\u7edd|\u62d2\u7d55"
	"|\ucc28\ub2e8|\uac70\ubd80)"
	/*
	 * 13: our HELO name or host name, in them: "HELO-Name unbekannt",
	 * "Votre nom d'hôte est inconnu", "Ваше имя хоста не найдено".
	 */
	"|\\b(?:HELO|EHLO)\\b" L10N_CLAUSE L10N_PREDICATE
	"|(?:\\b(?:Ihr|Ihre|votre|su|seu|il tuo|uw|tw(?:\u00f3|o)j)"
	"|(?:\u0412|\u0432)\u0430\u0448\u0435|\u60a8\u7684) ?(?:Hostname"
	"|Rechnername|nom d.h(?:\u00f4|o)te|nombre de host|hostnaam|nazwa hosta"
	"|\u0438\u043c\u044f \u0445\u043e\u0441\u0442\u0430|\u4e3b\u673a\u540d)"
	L10N_CLAUSE L10N_PREDICATE
	"|" L10N_FIRST " (?:(?:la|el|l'|o|a|die|de|het) ?)?(?:direcci(?:\u00f3|o)n "
	"|adresse |endere(?:\u00e7|c)o |indirizzo )?IP\\b"
	/*
	 * 12: a check of the sender, the translations of "Sender verify
	 * failed": "Absenderprüfung", "vérification de l'expéditeur",
	 * "проверка отправителя", "发件人验证", "발신자 확인".
	 */
	"|" L10N_VERIFY "(?:(?!\\. |;|:|\u3002|\u3001|\uff0c|\uff1a).){0,24}?"
	"(?:" L10N_SENDER "|" L10N_SENDER_NOUN ")"
	"|" L10N_SENDER_NOUN "\\S{0,6} ?" L10N_VERIFY
	"|" L10N_SENDER_NOUN "(?:(?!\\. |;|:).){0,30}?\\bnicht (?:verifiziert"
	"|(?:\u00fc|ue)berpr(?:\u00fc|ue)ft)";

static struct phrases *the_guard;	/* NULL: a pattern did not compile */
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;

static void
guard_build(void)
{
	static const char *const src[] = { pattern, pattern_l10n };

	the_guard = phrases_build(src, 2);
}

struct senderside *
senderside_new(void)
{
	(void)pthread_once(&guard_once, guard_build);
	return (struct senderside *)phrases_handle_new(the_guard);
}

void
senderside_free(struct senderside *s)
{
	phrases_handle_free((struct phrases_handle *)s);
}

int
senderside_match(struct senderside *s, const char *text, size_t len)
{
	return phrases_handle_match((struct phrases_handle *)s, text, len);
}

const struct phrases *
senderside_set(void)
{
	(void)pthread_once(&guard_once, guard_build);
	return the_guard;
}

int
senderside_match_scanned(struct senderside *s, const uint8_t *miss,
    const char *text, size_t len)
{
	return phrases_handle_match_scanned((struct phrases_handle *)s, miss,
	    text, len);
}

int
senderside_match_all(struct senderside *s, const char *text, size_t len)
{
	return phrases_handle_match_all((struct phrases_handle *)s, text,
	    len);
}

/*
 * check_senderside.c -- the words of the sender-side guard
 *
 * Each case is a reply text (as rules see it, without code, status or
 * wrappers) and whether it speaks of the sending side. The texts that
 * do not are recipient-side wordings that merely hold a word the
 * pattern looks for ("sender", "MAIL FROM", "Return-Path", "your"):
 * the guard must leave them alone, or it would keep dead addresses.
 *
 * See also: senderside.h, check_property.c (the guard with the real
 * rules), bouncer-rules(5) GUARDS.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "rules.h"
#include "senderside.h"
#include "testlib.h"

static const struct testlib_guard_case cases[] = {
	/* 1. the sender refused by name */
	{ "<bounce@news.example.com>: Sender address rejected: User unknown "
	  "in local recipient table", 1 },
	{ "Sender verify failed", 1 },
	{ "Verification failed for <bounce@news.example.com>", 1 },
	{ "Could not verify sender: mailbox unavailable", 1 },
	/* the sender under other names */
	{ "Return address unknown", 1 },
	{ "Bounce address does not exist", 1 },
	{ "The From: address is unknown", 1 },
	{ "The user has blocked you", 1 },
	{ "The account you tried to send from has been suspended", 1 },
	{ "Message refused: recipient has blocked the sender news.example.com", 1 },
	{ "The recipient has rejected the sending domain", 1 },
	{ "Ihr Benutzerkonto wurde deaktiviert", 1 },
	{ "Dominio del remitente no encontrado", 1 },
	{ "\u672a\u627e\u5230\u53d1\u4ef6\u4eba\u57df", 1 },
	{ "IP non trovato", 1 },
	{ "IP-Adresse nicht gefunden", 1 },
	{ "The e-mail address in your From: header does not exist", 1 },
	{ "Sender callback failed: no such user", 1 },
	{ "User unknown (sender)", 1 },
	{ "Unknown user in MAIL FROM", 1 },
	{ "You are not a known user", 1 },
	{ "You are not allowed to send mail: account disabled", 1 },
	{ "SMTP AUTH failed: no such user", 1 },
	{ "Client unknown", 1 },
	{ "Unknown sending host 192.0.2.3", 1 },
	{ "Cannot resolve your hostname", 1 },
	{ "Unable to route to sender domain", 1 },
	/* a check of the sender, in other languages */
	{ "Absenderpr\u00fcfung fehlgeschlagen: Benutzer unbekannt", 1 },
	{ "La v\u00e9rification de l'exp\u00e9diteur a \u00e9chou\u00e9", 1 },
	{ "\u041f\u0440\u043e\u0432\u0435\u0440\u043a\u0430 \u043e\u0442\u043f\u0440\u0430\u0432\u0438\u0442\u0435\u043b\u044f \u043d\u0435 \u043f\u0440\u043e\u0439\u0434\u0435\u043d\u0430", 1 },
	{ "\u53d1\u4ef6\u4eba\u9a8c\u8bc1\u5931\u8d25", 1 },
	{ "Avs\u00e4ndarverifiering misslyckades", 1 },
	{ "L\u00e4hett\u00e4j\u00e4n tarkistus ep\u00e4onnistui", 1 },
	/* ... not the recipient's address to check */
	{ "Benutzer unbekannt. Bitte pr\u00fcfen Sie die Empf\u00e4ngeradresse", 0 },
	{ "Usuario desconocido. Verifique la direcci\u00f3n del destinatario", 0 },
	{ "\uc218\uc2e0\uc790 \uc8fc\uc18c\ub97c \ud655\uc778\ud558\uc138\uc694", 0 },
	{ "the sending domain is on our block list", 1 },
	{ "blocked due to poor reputation of the sending server", 1 },
	{ "Mail from our.example not accepted", 1 },
	{ "Relay from 192.0.2.3 is blocked", 1 },
	{ "Please use your ISP's relay", 1 },
	{ "mail from bulk senders not accepted", 1 },
	{ "Recipient unknown: mail from mx.example.org said user unknown", 0 },
	{ "The address from which you sent this message does not exist", 1 },
	{ "The address you're sending from isn't valid", 1 },
	{ "This message was sent from an account that no longer exists", 1 },
	{ "Originating address unknown", 1 },
	{ "Errors-To address unknown", 1 },
	{ "Forged sender: no such user", 1 },
	{ "SenderNotFound", 1 },
	{ "ERR_SENDER_NOT_FOUND", 1 },
	{ "The recipient's address isn't valid", 0 },
	{ "The message was sent to an address that does not exist", 0 },
	{ "RecipientNotFound", 0 },
	{ "Dein Konto wurde gesperrt", 1 },
	{ "Tu cuenta ha sido suspendida", 1 },
	{ "Kontoen din er deaktivert", 1 },
	{ "Ditt konto har st\u00e4ngts av", 1 },
	{ "El destinatario de tu mensaje no existe", 0 },
	{ "Deine E-Mail an ann@example.de konnte nicht zugestellt werden: "
	  "Empf\u00e4nger unbekannt", 0 },
	/* a recipient's own words, with an IP or a From header near */
	{ "The user you are trying to reach is unknown", 0 },
	{ "Unknown user; client 192.0.2.1 logged", 0 },
	{ "Callout verification failed: 550 5.1.1 user unknown", 0 },
	{ "Empf\u00e4nger unbekannt (IP 192.0.2.1 gepr\u00fcft)", 0 },
	{ "Return-Path: <bounce@example.com> User unknown", 0 },
	/* 2. our IP or host */
	{ "Your IP address 192.0.2.1 has been blocked: No such user here", 1 },
	{ "This IP has been temporarily blocked", 1 },
	{ "Client host rejected: Access denied", 1 },
	{ "IP 192.0.2.1 is blacklisted", 1 },
	{ "Host 192.0.2.1 is not allowed; mailbox unavailable", 1 },
	{ "Connections from 192.0.2.1 not accepted: user unknown", 1 },
	{ "Mail from [192.0.2.1] refused: mailbox unavailable", 1 },
	{ "Your network is not allowed to send mail: user unknown", 1 },
	{ "Your mail server is not permitted: recipient unknown", 1 },
	/* "your IP" as a label that only carries the address */
	{ "User unknown. Your IP: 192.0.2.1", 0 },
	{ "User unknown (client IP: 192.0.2.1)", 0 },
	{ "Recipient unknown, your IP 192.0.2.1 has been logged", 0 },
	{ "Der Empf\u00e4nger existiert nicht. Ihre IP: 192.0.2.1", 0 },
	{ "Destinataire inconnu (votre adresse IP : 192.0.2.1)", 0 },
	{ "User unknown. Your IP: 192.0.2.1 is listed", 1 },
	{ "Unknown user, your IP 192.0.2.1 is blocked", 1 },
	/* our IP in Japanese and Chinese, no space after it */
	{ "IP\u30a2\u30c9\u30ec\u30b9\u304c\u30d6\u30ed\u30c3\u30af"
	  "\u3055\u308c\u3066\u3044\u307e\u3059", 1 },
	{ "IP\u5df2\u88ab\u5c01\u9501", 1 },
	/* our HELO name or host name, our relay login, our links */
	{ "HELO-Name unbekannt", 1 },
	{ "Votre nom d'h\u00f4te est inconnu", 1 },
	{ "Login failed: unknown user", 1 },
	{ "SASL user unknown", 1 },
	{ "Your message links to a domain that does not exist", 1 },
	/* the sender as a label, the predicate after the colon */
	{ "Absender: Benutzer unbekannt", 1 },
	{ "Feladó: a felhasználó nem létezik", 1 },
	{ "\u0391\u03c0\u03bf\u03c3\u03c4\u03bf\u03bb\u03ad\u03b1\u03c2:"
	  " \u03bf \u03c7\u03c1\u03ae\u03c3\u03c4\u03b7\u03c2 \u03b4\u03b5"
	  "\u03bd \u03c5\u03c0\u03ac\u03c1\u03c7\u03b5\u03b9", 1 },
	{ "Benutzer unbekannt. Absender: <bounce@example.com>", 0 },
	/* the sender not allowed, in other languages */
	{ "Absender nicht zugelassen", 1 },
	{ "Exp\u00e9diteur non autoris\u00e9", 1 },
	/* "your IP" in other languages */
	{ "Konto gesperrt: Ihre IP 192.0.2.1 steht auf der Sperrliste", 1 },
	{ "Compte bloqu\u00e9 : votre adresse IP est sur liste noire", 1 },
	{ "\u0412\u0430\u0448 IP-\u0430\u0434\u0440\u0435\u0441 \u0437\u0430\u0431\u043b\u043e\u043a\u0438\u0440\u043e\u0432\u0430\u043d", 1 },
	{ "Din IP-adress har inte beh\u00f6righet att skicka till gruppen", 1 },
	{ "IP-osoitteesi on estetty", 1 },
	{ "Az \u00d6n IP-c\u00edme tilt\u00f3list\u00e1n van", 1 },
	{ "Adresa IP a dvs. este blocat\u0103", 1 },
	{ "\u0397 \u03b4\u03b9\u03b5\u03cd\u03b8\u03c5\u03bd\u03c3\u03b7 IP"
	  " \u03c3\u03b1\u03c2 \u03ad\u03c7\u03b5\u03b9 \u03b1\u03c0\u03bf"
	  "\u03ba\u03bb\u03b5\u03b9\u03c3\u03c4\u03b5\u03af", 1 },
	{ "\u0110\u1ecba ch\u1ec9 IP c\u1ee7a b\u1ea1n \u0111\u00e3 b\u1ecb"
	  " ch\u1eb7n", 1 },
	{ "Alamat IP Anda diblokir", 1 },
	{ "\u0e17\u0e35\u0e48\u0e2d\u0e22\u0e39\u0e48 IP \u0e02\u0e2d\u0e07"
	  "\u0e04\u0e38\u0e13\u0e16\u0e39\u0e01"
	  "\u0e1a\u0e25\u0e47\u0e2d\u0e01", 1 },
	{ "\u062a\u0645 \u062d\u0638\u0631 \u0639\u0646\u0648\u0627\u0646 I"
	  "P \u0627\u0644\u062e\u0627\u0635 \u0628\u0643", 1 },
	{ "\u05db\u05ea\u05d5\u05d1\u05ea \u05d4-IP \u05e9\u05dc\u05da "
	  "\u05d7\u05e1\u05d5\u05de\u05d4", 1 },
	{ "\u0412\u0430\u0448\u0430 IP-\u0430\u0434\u0440\u0435\u0441\u0430"
	  " \u0437\u0430\u0431\u043b\u043e\u043a\u043e\u0432\u0430\u043d"
	  "\u0430", 1 },
	/* 3. the unknown addresses we tried */
	{ "Too many invalid recipients", 1 },
	{ "You have exceeded the number of unknown users allowed", 1 },
	{ "Directory harvest attack detected", 1 },
	/* 4. the MAIL FROM command */
	{ "MAIL FROM address: unknown user", 1 },
	{ "MAIL FROM:<bounce@news.example.com> does not exist", 1 },
	/* 5. a sending-side subject and a predicate */
	{ "The sender's mailbox does not exist", 1 },
	{ "No such sender", 1 },
	{ "Invalid return path", 1 },
	{ "Your account has been disabled", 1 },
	{ "Sender mailbox is full", 1 },
	{ "Reply-To address does not exist", 1 },
	{ "Your domain news.example.com is blacklisted", 1 },
	{ "Unknown or invalid recipient: blocked sender", 1 },
	{ "Unknown sender: <bounce@news.example.com>", 1 },
	{ "Message sending for this account is disabled", 1 },
	{ "Sending from your account has been suspended", 1 },
	{ "Outgoing mail for this account is blocked", 1 },
	{ "Sending is disabled for this account", 1 },
	{ "The account you are sending from has been disabled", 1 },
	{ "The address you sent from does not exist", 1 },
	{ "The user who sent this message is unknown", 1 },
	{ "Authenticated user does not exist", 1 },
	{ "Mailbox of the sending user is disabled", 1 },
	/* a long sender address in the clause counts as one word */
	{ "Domain of sender address root@build-host-17.internal.example.com "
	  "does not exist", 1 },
	{ "The domain of your address could not be resolved", 1 },
	{ "Sender address domain publishes a null MX", 1 },
	{ "The sending domain is not allowed to send to this recipient", 1 },
	{ "There is no MX for the sender's domain", 1 },
	{ "Could not resolve the domain of the sender", 1 },
	/* our HELO name, reverse DNS, host name */
	{ "Helo command rejected: Host not found", 1 },
	{ "HELO domain unknown", 1 },
	{ "Reverse DNS lookup failed: host name not found", 1 },
	{ "PTR record not found for 192.0.2.1", 1 },
	{ "Your host name is unknown", 1 },
	/* the sender in Japanese: "the sender's address does not exist" */
	{ "\u9001\u4fe1\u8005\u306e\u30e1\u30fc\u30eb\u30a2\u30c9\u30ec\u30b9\u304c\u5b58\u5728\u3057\u307e\u305b\u3093", 1 },
	{ "\u5dee\u51fa\u4eba\u306e\u30a2\u30c9\u30ec\u30b9\u306f\u7121\u52b9\u3067\u3059", 1 },
	/* the sender in other languages: unknown, does not exist, refused */
	{ "Absender unbekannt", 1 },
	{ "Absender-Adresse existiert nicht", 1 },
	{ "Adresse de l'exp\u00e9diteur inconnue", 1 },
	{ "Exp\u00e9diteur refus\u00e9", 1 },
	{ "La direcci\u00f3n del remitente no existe", 1 },
	{ "Remetente desconhecido", 1 },
	{ "Mittente sconosciuto", 1 },
	{ "Afzender onbekend", 1 },
	{ "Nadawca nieznany", 1 },
	{ "\u0410\u0434\u0440\u0435\u0441 \u043e\u0442\u043f\u0440\u0430\u0432\u0438\u0442\u0435\u043b\u044f \u043d\u0435 \u0441\u0443\u0449\u0435\u0441\u0442\u0432\u0443\u0435\u0442", 1 },
	{ "\u53d1\u4ef6\u4eba\u5730\u5740\u4e0d\u5b58\u5728", 1 },
	{ "\ubc1c\uc2e0\uc790 \uba54\uc77c \uc8fc\uc18c\ub97c \ucc3e\uc744 \uc218 \uc5c6\uc2b5\ub2c8\ub2e4", 1 },
	{ "G\u00f6nderen bulunamad\u0131", 1 },
	/* our own account in other languages, or the sender's, disabled */
	{ "Ihr Konto wurde gesperrt", 1 },
	{ "Votre compte a \u00e9t\u00e9 d\u00e9sactiv\u00e9", 1 },
	{ "Su cuenta ha sido suspendida", 1 },
	{ "Het account van de afzender is gedeactiveerd", 1 },
	{ "Konto nadawcy jest zablokowane", 1 },
	{ "\u0412\u0430\u0448 \u0430\u043a\u043a\u0430\u0443\u043d"
	  "\u0442 \u0437\u0430\u0431\u043b\u043e\u043a\u0438\u0440"
	  "\u043e\u0432\u0430\u043d", 1 },
	{ "\u60a8\u7684\u8d26\u6237\u5df2\u88ab\u51bb\u7ed3", 1 },
	{ "\u9001\u4fe1\u8005\u306e\u30a2\u30ab\u30a6\u30f3\u30c8\u306f"
	  "\u51cd\u7d50\u3055\u308c\u3066\u3044\u307e\u3059", 1 },
	/* the sender, or our address, moved */
	{ "Der Absender ist nicht mehr unter dieser Adresse erreichbar", 1 },
	{ "L'exp\u00e9diteur n'est plus joignable \u00e0 cette adresse", 1 },
	/* the sender or our account in more languages, either order */
	{ "No se encontr\u00f3 la direcci\u00f3n del remitente", 1 },
	{ "Impossible de trouver l'adresse de l'exp\u00e9diteur", 1 },
	{ "\u041d\u0435 \u0443\u0434\u0430\u043b\u043e\u0441\u044c \u043d"
	  "\u0430\u0439\u0442\u0438 \u0430\u0434\u0440\u0435\u0441 \u043e"
	  "\u0442\u043f\u0440\u0430\u0432\u0438\u0442\u0435\u043b\u044f", 1 },
	{ "L\u00e4hett\u00e4j\u00e4n osoitetta ei l\u00f6ytynyt", 1 },
	{ "Tilisi on suljettu", 1 },
	{ "A felad\u00f3 c\u00edme nem tal\u00e1lhat\u00f3", 1 },
	{ "Az \u00d6n fi\u00f3kja le van tiltva", 1 },
	{ "Adresa expeditorului nu exist\u0103", 1 },
	{ "Contul dvs. a fost dezactivat", 1 },
	{ "\u0397 \u03b4\u03b9\u03b5\u03cd\u03b8\u03c5\u03bd\u03c3\u03b7 "
	  "\u03c4\u03bf\u03c5 \u03b1\u03c0\u03bf\u03c3\u03c4\u03bf\u03bb"
	  "\u03ad\u03b1 \u03b4\u03b5\u03bd \u03b2\u03c1\u03ad\u03b8\u03b7"
	  "\u03ba\u03b5", 1 },
	{ "\u039f \u03bb\u03bf\u03b3\u03b1\u03c1\u03b9\u03b1\u03c3\u03bc"
	  "\u03cc\u03c2 \u03c3\u03b1\u03c2 \u03ad\u03c7\u03b5\u03b9 \u03b1"
	  "\u03c0\u03b5\u03bd\u03b5\u03c1\u03b3\u03bf\u03c0\u03bf\u03b9\u03b7"
	  "\u03b8\u03b5\u03af", 1 },
	{ "Kh\u00f4ng t\u00ecm th\u1ea5y \u0111\u1ecba ch\u1ec9 c\u1ee7a ng"
	  "\u01b0\u1eddi g\u1eedi", 1 },
	{ "T\u00e0i kho\u1ea3n c\u1ee7a b\u1ea1n \u0111\u00e3 b\u1ecb v"
	  "\u00f4 hi\u1ec7u h\u00f3a", 1 },
	{ "Alamat pengirim tidak ditemukan", 1 },
	{ "Akun Anda telah dinonaktifkan", 1 },
	{ "\u0e44\u0e21\u0e48\u0e1e\u0e1a\u0e17\u0e35\u0e48\u0e2d\u0e22"
	  "\u0e39\u0e48\u0e02\u0e2d\u0e07\u0e1c"
	  "\u0e39\u0e49\u0e2a\u0e48\u0e07", 1 },
	{ "\u0e1a\u0e31\u0e0d\u0e0a\u0e35\u0e02\u0e2d\u0e07\u0e04\u0e38"
	  "\u0e13\u0e16\u0e39\u0e01\u0e23\u0e30\u0e07\u0e31\u0e1a", 1 },
	{ "\u062a\u0639\u0630\u0631 \u0627\u0644\u0639\u062b\u0648\u0631 "
	  "\u0639\u0644\u0649 \u0639\u0646\u0648\u0627\u0646 \u0627\u0644"
	  "\u0645\u0631\u0633\u0644", 1 },
	{ "\u062a\u0645 \u062a\u0639\u0637\u064a\u0644 \u062d\u0633\u0627"
	  "\u0628\u0643", 1 },
	{ "\u05dc\u05d0 \u05e0\u05d9\u05ea\u05df \u05dc\u05de\u05e6\u05d5"
	  "\u05d0 \u05d0\u05ea \u05db\u05ea\u05d5\u05d1\u05ea \u05d4\u05e9"
	  "\u05d5\u05dc\u05d7", 1 },
	{ "\u05d4\u05d7\u05e9\u05d1\u05d5\u05df \u05e9\u05dc\u05da \u05d4"
	  "\u05d5\u05e9\u05d1\u05ea", 1 },
	{ "Avs\u00e4ndaren har bytt adress", 1 },
	{ "\u304a\u5ba2\u69d8\u306e\u30a2\u30ab\u30a6\u30f3\u30c8\u306f"
	  "\u505c\u6b62\u3055\u308c\u3066\u3044\u307e\u3059", 1 },
	{ "\u0627\u0644\u062d\u0633\u0627\u0628 \u0627\u0644\u062e\u0627"
	  "\u0635 \u0628\u0643 \u0645\u0639\u0637\u0644", 1 },
	/* an adjective before the sender, or the sender without an article */
	{ "Unbekannter Absender", 1 },
	{ "\u041d\u0435\u0438\u0437\u0432\u0435\u0441\u0442\u043d\u044b\u0439 "
	  "\u043e\u0442\u043f\u0440\u0430"
	  "\u0432\u0438\u0442\u0435\u043b\u044c", 1 },
	{ "Nieznany nadawca", 1 },
	{ "Nezn\u00e1m\u00fd odes\u00edlatel", 1 },
	{ "\u041d\u0435\u0432\u0456\u0434\u043e\u043c\u0438\u0439 \u0432"
	  "\u0456\u0434\u043f\u0440\u0430\u0432\u043d\u0438\u043a", 1 },
	{ "\u672a\u77e5\u53d1\u4ef6\u4eba", 1 },
	{ "\uc54c \uc218 \uc5c6\ub294 \ubc1c\uc2e0\uc790", 1 },
	{ "\u4e0d\u660e\u306a\u9001\u4fe1\u8005", 1 },
	{ "Bilinmeyen g\u00f6nderen", 1 },
	{ "Ok\u00e4nd avs\u00e4ndare", 1 },
	{ "Ukendt afsender", 1 },
	{ "Ukjent avsender", 1 },
	{ "Tuntematon l\u00e4hett\u00e4j\u00e4", 1 },
	{ "Ismeretlen felad\u00f3", 1 },
	{ "\u0386\u03b3\u03bd\u03c9\u03c3\u03c4\u03bf\u03c2 \u03b1"
	  "\u03c0\u03bf\u03c3\u03c4\u03bf\u03bb\u03ad\u03b1\u03c2", 1 },
	{ "\u0645\u0631\u0633\u0644 \u063a\u064a"
	  "\u0631 \u0645\u0639\u0631\u0648\u0641", 1 },
	{ "\u05e9\u05d5\u05dc\u05d7 \u05dc\u05d0 \u05d9\u05d3\u05d5\u05e2", 1 },
	{ "Ung\u00fcltiger Absender", 1 },
	{ "\u041d\u0435\u0434\u0435\u0439\u0441\u0442\u0432\u0438\u0442\u0435"
	  "\u043b\u044c\u043d\u044b\u0439 "
	  "\u0430\u0434\u0440\u0435\u0441 \u043e\u0442\u043f\u0440\u0430"
	  "\u0432\u0438\u0442\u0435\u043b\u044f", 1 },
	/* recipient-side texts with the same words: not the sender's */
	{ "Unbekannter Empf\u00e4nger. Absender: bounce@news.example.com", 0 },
	{ "\u041d\u0435\u0438\u0437\u0432\u0435\u0441\u0442\u043d\u044b\u0439"
	  " \u043f\u043e\u043b\u0443\u0447\u0430\u0442\u0435\u043b\u044c", 0 },
	{ "Nieznany odbiorca", 0 },
	{ "\u672a\u77e5\u6536\u4ef6\u4eba", 0 },
	/* recipient-side, the sender named in another clause */
	{ "Empf\u00e4nger unbekannt. Absender: bounce@news.example.com", 0 },
	{ "Destinataire inconnu; exp\u00e9diteur: bounce@news.example.com", 0 },
	{ "\u7528\u6237\u4e0d\u5b58\u5728\u3002\u53d1\u4ef6\u4eba\uff1abounce@news.example.com", 0 },
	/* the recipient's account disabled, our message named beside it */
	{ "Das Konto des Empf\u00e4ngers ist deaktiviert", 0 },
	{ "Compte d\u00e9sactiv\u00e9", 0 },
	{ "Votre message n'a pas pu \u00eatre remis : le compte du dest"
	  "inataire est d\u00e9sactiv\u00e9", 0 },
	{ "Ihre Nachricht konnte nicht zugestellt werden, das Konto ist"
	  " gesperrt", 0 },
	{ "Der Empf\u00e4nger ist umgezogen", 0 },
	{ "User unknown", 0 },
	{ "<x@example.org>: User unknown; sender bounce@example.com", 0 },
	{ "The email account that you tried to reach does not exist. "
	  "Please try double-checking the recipient's email address", 0 },
	{ "Because the recipient is only accepting mail from specific "
	  "email addresses", 0 },
	{ "no such user here MAIL FROM: bounce@news.example.com RCPT TO: "
	  "x@example.org", 0 },
	{ "User unknown Return-Path: <bounce@news.example.com> Received: "
	  "from unknown", 0 },
	{ "User unknown Sender: <bounce@news.example.com> invalid", 0 },
	{ "User unknown; please update your address book", 0 },
	{ "is not an active address at this host", 0 },
	{ "Requested action not taken: mailbox unavailable", 0 },
	{ "sorry, your message to x@example.org cannot be delivered. This "
	  "account has been disabled or discontinued", 0 },
	{ "Error sending to x@example.org: user unknown", 0 },
	{ "The account you are sending to is disabled", 0 },
	{ "The address you sent the message to does not exist", 0 },
	{ "This server rejected the recipient: user unknown", 0 },
	{ "User unknown. Please contact your mail server administrator if "
	  "this was rejected in error", 0 },
	{ "Remote host 192.0.2.1 rejected recipient <x@example.org>: user "
	  "unknown", 0 },
	{ "Mail for x@example.org from 192.0.2.9 (the last relay): no such "
	  "user", 0 },
	{ "Local mailbox x@mail.ru is unavailable: account is disabled", 0 },
	{ "Amazon SES has suppressed sending to this address because it "
	  "has a recent history of bouncing as an invalid address", 0 },
	{ "Host not found", 0 },
	{ "Recipient domain example.org does not exist", 0 },
	{ "lost connection with mx.example.org while performing the HELO "
	  "handshake", 0 },
	/* the notices' "address you entered": the recipient's, not ours */
	{ "Impossible de trouver l'adresse de messagerie que vous avez entr"
	  "\u00e9e", 0 },
	{ "No se encontr\u00f3 la direcci\u00f3n de correo electr\u00f3nico"
	  " que especific\u00f3", 0 },
	{ "\u041d\u0435 \u0443\u0434\u0430\u043b\u043e\u0441\u044c \u043d"
	  "\u0430\u0439\u0442\u0438 \u0432\u0432\u0435\u0434\u0435\u043d"
	  "\u043d\u044b\u0439 \u0432\u0430\u043c\u0438 \u0430\u0434\u0440"
	  "\u0435\u0441 \u044d\u043b\u0435\u043a\u0442\u0440\u043e\u043d"
	  "\u043d\u043e\u0439 \u043f\u043e\u0447\u0442\u044b", 0 },
	{ "Antamaasi s\u00e4hk\u00f6postiosoitetta ei l\u00f6ytynyt", 0 },
	{ "A megadott e-mail-c\u00edm nem tal\u00e1lhat\u00f3", 0 },
	{ "Adresa de e-mail pe care a\u021bi introdus-o nu a fost g\u0103si"
	  "t\u0103", 0 },
	{ "\u0394\u03b5\u03bd \u03ae\u03c4\u03b1\u03bd \u03b4\u03c5\u03bd"
	  "\u03b1\u03c4\u03ae \u03b7 \u03b5\u03cd\u03c1\u03b5\u03c3\u03b7 "
	  "\u03c4\u03b7\u03c2 \u03b4\u03b9\u03b5\u03cd\u03b8\u03c5\u03bd"
	  "\u03c3\u03b7\u03c2 \u03b7\u03bb\u03b5\u03ba\u03c4\u03c1\u03bf"
	  "\u03bd\u03b9\u03ba\u03bf\u03cd \u03c4\u03b1\u03c7\u03c5\u03b4"
	  "\u03c1\u03bf\u03bc\u03b5\u03af\u03bf\u03c5 \u03c0\u03bf\u03c5 "
	  "\u03ba\u03b1\u03c4\u03b1\u03c7\u03c9\u03c1\u03ae\u03c3\u03b1\u03c4"
	  "\u03b5", 0 },
	{ "Kh\u00f4ng t\u00ecm th\u1ea5y \u0111\u1ecba ch\u1ec9 email b"
	  "\u1ea1n \u0111\u00e3 nh\u1eadp", 0 },
	{ "Alamat email yang Anda masukkan tidak dapat ditemukan", 0 },
	{ "\u0e44\u0e21\u0e48\u0e1e\u0e1a\u0e17\u0e35\u0e48\u0e2d\u0e22"
	  "\u0e39\u0e48\u0e2d\u0e35\u0e40\u0e21\u0e25\u0e17\u0e35\u0e48\u0e04"
	  "\u0e38\u0e13\u0e1b\u0e49\u0e2d\u0e19", 0 },
	{ "\u062a\u0639\u0630\u0631 \u0627\u0644\u0639\u062b\u0648\u0631 "
	  "\u0639\u0644\u0649 \u0639\u0646\u0648\u0627\u0646 \u0627\u0644"
	  "\u0628\u0631\u064a\u062f \u0627\u0644\u0625\u0644\u0643\u062a"
	  "\u0631\u0648\u0646\u064a \u0627\u0644\u0630\u064a \u0623\u062f"
	  "\u062e\u0644\u062a\u0647", 0 },
	{ "\u062a\u0645 \u062a\u0639\u0637\u064a\u0644 \u062d\u0633\u0627"
	  "\u0628 \u0627\u0644\u0645\u0631\u0633\u0644 \u0625\u0644\u064a"
	  "\u0647", 0 },
	{ "\u05dc\u05d0 \u05e0\u05d9\u05ea\u05df \u05dc\u05de\u05e6\u05d5"
	  "\u05d0 \u05d0\u05ea \u05db\u05ea\u05d5\u05d1\u05ea \u05d4\u05d3"
	  "\u05d5\u05d0\u05e8 \u05d4\u05d0\u05dc\u05e7\u05d8\u05e8\u05d5"
	  "\u05e0\u05d9 \u05e9\u05d4\u05d6\u05e0\u05ea", 0 },
	{ "\u627e\u4e0d\u5230\u60a8\u8f38\u5165\u7684\u96fb\u5b50\u90f5"
	  "\u4ef6\u5730\u5740", 0 },
	{ "Tuntematon vastaanottaja", 0 },
	{ "Vastaanottajan postilaatikko on t\u00e4ynn\u00e4", 0 },
	/* "dear sender": the recipient's address does not exist */
	{ "\u9001\u4fe1\u8005\u69d8\u3001\u5b9b\u5148\u306e\u30e1\u30fc\u30eb\u30a2\u30c9\u30ec\u30b9\u306f\u5b58\u5728\u3057\u307e\u305b\u3093", 0 },
	{ "\u5b9b\u5148\u306e\u30e1\u30fc\u30eb\u30a2\u30c9\u30ec\u30b9\u306f\u5b58\u5728\u3057\u307e\u305b\u3093", 0 },
};

START_TEST(test_case)
{
	const struct testlib_guard_case *c = &cases[_i];
	struct senderside *s;

	s = senderside_new();
	ck_assert_ptr_nonnull(s);
	ck_assert_msg(senderside_match(s, c->text, strlen(c->text)) ==
	    c->want, "\"%s\": want %d", c->text, c->want);
	senderside_free(s);
}
END_TEST

static int
fast(void *h, const char *text, size_t len)
{
	return senderside_match(h, text, len);
}

static int
all(void *h, const char *text, size_t len)
{
	return senderside_match_all(h, text, len);
}

/*
 * The prefilter is sound: the guard's cases and every reply text the
 * project keeps (testlib_each_reply()) get the answer every branch of
 * it would give.
 */
START_TEST(test_prefilter_sound)
{
	struct senderside *h = senderside_new();

	ck_assert_ptr_nonnull(h);
	testlib_guard_sound(fast, all, h, cases,
	    sizeof(cases) / sizeof(cases[0]));
	senderside_free(h);
}
END_TEST

/*
 * The same after the rule set's scan, which looks for the guard's
 * literals with the rules' (rules.h: ruleset_guard_miss()).
 */
static int
scanned(void *h, const unsigned char *miss, const char *text, size_t len)
{
	return senderside_match_scanned(h, miss, text, len);
}

START_TEST(test_scanned_sound)
{
	struct senderside *h = senderside_new();

	ck_assert_ptr_nonnull(h);
	testlib_guard_scanned_sound(scanned, all, h, senderside_set(), cases,
	    sizeof(cases) / sizeof(cases[0]));
	senderside_free(h);
}
END_TEST

START_TEST(test_free_null)
{
	senderside_free(NULL);
}
END_TEST

static Suite *
senderside_suite(void)
{
	Suite *s = suite_create("senderside");
	TCase *tc = tcase_create("cases");

	tcase_add_loop_test(tc, test_case, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_prefilter_sound);
	tcase_add_test(tc, test_scanned_sound);
	tcase_add_test(tc, test_free_null);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return testlib_run(senderside_suite());
}

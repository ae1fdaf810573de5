#!/usr/bin/python3
"""notices.py -- the notices MTAs send their postmaster, from the real MTAs

Runs Postfix (and Sendmail and Exim, when scripts/setup-mtas unpacked them) on
127.0.0.1 with its notices to the postmaster turned on, against a
provider in this process that refuses some recipients, and saves every
message the MTA sends (the postmaster's mail and the bounces) in OUT as
NNNN.eml, with Return-Path and X-Envelope-To on top. Samples in
t/data/bounces/shapes/notice-postfix-*.eml and
notice-sendmail-postmaster-02.eml and notice-exim-frozen-01.eml came
from it.

Postfix: notify_classes = bounce, 2bounce, delay, policy, protocol,
resource, software gives "Postmaster Copy: Undelivered Mail" for each
bounce, "Postmaster Warning: Delayed Mail", the double bounce of a bounce
its sender refused, "Postfix SMTP client: errors from ..." for a 501
reply (a protocol error of the session), and "Postfix SMTP server:
errors from ..." for a relay refused and an unknown command of an
inbound session. Sendmail: confCOPY_ERRORS_TO gives "Postmaster notify:
see transcript for details". Exim: freeze_tell gives "Message frozen"
for a message its system filter froze. Run as root:

    /usr/bin/python3 t/bouncelab/notices.py OUT
"""
import os
import smtplib
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mtas  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402

# The provider's answer to RCPT TO, by recipient; 250 for the others.
REPLIES = {
    "nobody@example.org": "550 5.1.1 <nobody@example.org>: Recipient "
                          "address rejected: User unknown in virtual "
                          "mailbox table",
    "slow@example.org": "451 4.3.0 <slow@example.org>: Temporary lookup "
                        "failure",
    "gone@example.com": "550 5.1.1 <gone@example.com>: Recipient address "
                        "rejected: User unknown in local recipient table",
    "garble@example.org": "501 5.5.4 Syntax error in parameters scanning "
                          "\"TO\"",
}

POSTFIX = """notify_classes = bounce, 2bounce, delay, policy, protocol, \
resource, software
delay_warning_time = 1s
bounce_queue_lifetime = 1d
maximal_queue_lifetime = 1d
mynetworks = 192.0.2.0/24
"""
SENDMAIL = "define(`confCOPY_ERRORS_TO', `postmaster@example.net')dnl\n"
EXIM = "freeze_tell = postmaster@example.net\nsystem_filter = %s\n"
# Exim's system filter freezes a message it holds.
EXIM_FILTER = """# Exim filter
if $h_subject: contains "hold" then
  freeze "held for review by the system filter"
endif
"""


class Provider:
    def __init__(self, out):
        self.out, self.n = out, 0

    async def handle_RCPT(self, server, session, envelope, address, opts):
        reply = REPLIES.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        top = "Return-Path: <%s>\r\nX-Envelope-To: %s\r\n" % (
            envelope.mail_from.strip("<>"),
            ", ".join("<%s>" % a for a in envelope.rcpt_tos))
        with open(os.path.join(self.out, "%04d.eml" % self.n), "wb") as f:
            f.write(top.encode() + envelope.original_content)
        return "250 2.0.0 Ok: queued"


def send(port, sender, rcpt, subject):
    body = ("From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\nHello.\r\n"
            % (sender, rcpt, subject))
    with smtplib.SMTP("127.0.0.1", port, timeout=30,
                      local_hostname="client.example.net") as s:
        s.sendmail(sender, [rcpt], body)


def inbound(port):
    """A session the MTA refuses: an unknown command, a relay denied."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        for line in ("EHLO client.example.com", "FOO bar",
                     "MAIL FROM:<spam@example.com>",
                     "RCPT TO:<victim@example.org>", "QUIT"):
            s.sendall(line.encode() + b"\r\n")
            time.sleep(0.5)
        s.recv(65536)


def run(name, extra, out, pport):
    m = mtas.make(name, os.path.join(out, name + ".run"), pport)
    m.extra = extra
    m.start()
    try:
        if name == "postfix":
            # Mail from outside: 127.0.0.1 is no longer in mynetworks,
            # so submit with sendmail(1), which does not ask smtpd.
            conf = m.run + "/etc"
            for sender, rcpt, subj in (
                    ("ann@example.net", "nobody@example.org", "Newsletter"),
                    ("ann@example.net", "slow@example.org", "Meeting"),
                    ("gone@example.com", "nobody@example.org", "Offer"),
                    ("ann@example.net", "garble@example.org", "Hi")):
                os.system("printf 'From: %s\\nTo: %s\\nSubject: %s\\n\\n"
                          "Hello.\\n' | sendmail -C %s -f %s %s"
                          % (sender, rcpt, subj, conf, sender, rcpt))
            inbound(m.port)
        elif name == "exim":
            send(m.port, "ann@example.net", "bea@example.org",
                 "Please hold this")
        else:
            send(m.port, "ann@example.net", "nobody@example.org",
                 "Newsletter")
        for _ in range(6):
            time.sleep(5)
            m.flush()
    finally:
        m.stop()


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: notices.py OUT")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    pport = mtas.free_port()
    ctl = Controller(Provider(out), hostname="127.0.0.1", port=pport)
    ctl.start()
    try:
        run("postfix", POSTFIX, out, pport)
        if not mtas.missing("sendmail"):
            run("sendmail", SENDMAIL, out, pport)
        if not mtas.missing("exim"):
            filt = os.path.join(os.path.abspath(out), "exim.filter")
            with open(filt, "w") as f:
                f.write(EXIM_FILTER)
            os.chmod(filt, 0o644)
            run("exim", EXIM % filt, out, pport)
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""own.py -- real MTAs' own failures: their bounces and log lines must say what they mean

usage: own.py --out DIR [--mta NAME ...] [--save-sample DIR]
       own.py --sample DIR

--sample checks, with no MTA, the kept bounces and log lines listed in
DIR/own.tsv ("file TAB recipient TAB reasons TAB decisions TAB case",
reasons and decisions comma-separated: the ones accepted); --save-sample
keeps one bounce per MTA and failure kind, and the log lines for them,
in DIR/MTA/own-*.

The failures no remote server words: the MTA itself finds that a domain
does not exist, that nothing answers, that the message is too big, that
a local mailbox is full or a pipe command failed, that it would send mail
to itself, that TLS is not offered. The MTAs (Postfix, Exim, Sendmail,
OpenSMTPD, Courier), side by side, run in a network and mount
namespace of this script's own (loopback, and a veth address that
OpenSMTPD's resolver wants) with /etc/resolv.conf pointing at a fake
DNS server (t/lib/dnsd.py) on 127.0.0.1:53, and deliver to port 25 of
scripted hosts on 127.0.0.x: a sink that takes everything (and the
bounces, for bounce.example.net), an address nothing listens on, one
that never answers a SYN, a host that never greets, one that drops the
connection in the middle of DATA, one that advertises SIZE 1000, none
that offers STARTTLS. What an MTA cannot be set up for here is SKIP.

For every case (CASES below) `bouncerctl classify-mail` must give the
bounce's recipient one of the expected reasons and decisions, and
`bouncerctl classify --maillog` the same on the MTA's log lines for that
recipient, the last line's verdict (and none may suppress unless that is
expected): Postfix's maillog, Exim's mainlog, Sendmail's and OpenSMTPD's
syslog (a /dev/log of the namespace's own); bouncerctl reads no Courier
log. A failure the MTA refuses at once (a size limit, too many
Received headers at SMTP time) is checked on its SMTP reply. A failure
that is temporary for the MTA bounces once the queue lifetime (made a
few seconds) has run out; its log lines say deferred first.

The expectations follow ../shared/cases/REASONS.md, where it says;
where it does not:
 - OpenSMTPD and Exim hide the failure of a temporary error in their
   bounce once they give up ("Envelope expired", "retry timeout
   exceeded"): EXPECT below accepts expired, retry there;
 - a mail loop ("loops back to myself", too many Received headers) is a
   set-up error on some side, not a verdict on the recipient: it may be
   networkerror (Sisimai's reading of loops), systemerror or
   mailererror, and it is never suppress nor retry (retrying a loop
   loops again): alert or none;
 - an MX host name without an address is a domain that cannot receive
   mail as published: hostunknown like NXDOMAIN (Sisimai agrees), but
   SERVFAIL is the DNS failing, networkerror or expired, retry;
 - the MTA's own size limit said with X.2.3 ("552 5.2.3 Message size
   exceeds fixed maximum message size", Sendmail) is exceedlimit, as the
   rules' status-x-2-3 vectors and Sisimai read it; REASONS.md's
   mesgtoobig is accepted too: both decide none;
 - a pipe command's exit status is what sysexits.h says it means
   (67 EX_NOUSER userunknown, 75 EX_TEMPFAIL a retry, 69 EX_UNAVAILABLE
   and 77 EX_NOPERM a mailer fault) but the words of the DSN may only
   say that a local program failed: mailererror is accepted for all, and
   none of them suppresses except 67 said as "user unknown" (a local
   part the destination does not know, said by the destination itself).

Prints one line per MTA, with agreement per failure kind ("dns 5/5 log
5/5": bounces, log lines), then each disagreement.
Exit status 0: all agree (or skipped), 1: a disagreement, 2: a lab failure.
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mtas  # noqa: E402

BOUNCE_DOMAIN = "bounce.example.net"
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))

# Scripted hosts, all on port 25.
# NOTLS takes everything as SINK does, at an address of its own: an MTA
# that finds no STARTTLS there must not hold it against the sink
# (OpenSMTPD disables the route to the address for a while).
# SILENT never answers a SYN: its one-place accept queue is kept full.
SINK, REFUSED, NOGREET, MIDDATA, SMALL, NOTLS, SILENT = (
    "127.0.0.10", "127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14",
    "127.0.0.15", "127.0.0.16")

RETRY_NET = ({"networkerror", "expired"}, {"retry"})
LOOP = ({"networkerror", "systemerror", "mailererror", "exceedlimit"},
        {"alert", "none"})
MAILER_ANY = {"mailererror", "systemerror"}

# id, kind, local part @ domain ("{mta}" is the MTA's name), expected
# reasons, expected decisions, options.
CASES = [
    ("nxdomain", "dns", "ann@nx.test", {"hostunknown"}, {"suppress"}, {}),
    ("nomx-noaddr", "dns", "ann@empty.test", {"hostunknown"},
     {"suppress"}, {}),
    ("mx-noaddr", "dns", "ann@mxghost.test", {"hostunknown"},
     {"suppress"}, {}),
    ("nullmx", "dns", "ann@nullmx.test", {"notaccept"}, {"suppress"}, {}),
    ("servfail", "dns", "ann@servfail.test", *RETRY_NET, {}),
    ("dns-timeout", "dns", "ann@dnsdrop.test", *RETRY_NET, {}),
    ("refused", "net", "ann@refused.test", *RETRY_NET, {}),
    ("connect-timeout", "net", "ann@silent.test", *RETRY_NET, {}),
    ("nogreeting", "net", "ann@nogreet.test", *RETRY_NET, {}),
    ("lost-in-data", "net", "ann@middata.test", *RETRY_NET, {}),
    ("loop-self", "loop", "ann@loop-{mta}.test", *LOOP, {}),
    # Exim counts the Received: headers itself: "Too many \"Received\"
    # headers - suspected mail loop" is Sisimai's contenterror
    ("too-many-hops", "loop", "hops@ok.test", LOOP[0] | {"contenterror"},
     LOOP[1], {"hops": 110}),
    ("remote-size", "size", "ann@small.test", {"mesgtoobig"},
     {"none"}, {"big": 3000}),
    ("own-size", "size", "big@ok.test", {"mesgtoobig", "exceedlimit"},
     {"none"},
     {"big": 60000}),
    ("local-unknown", "local", "nosuchuser@local.test", {"userunknown"},
     {"suppress"}, {}),
    ("local-quota", "local", "fullbox@local.test", {"mailboxfull"},
     {"retry"}, {"big": 3000}),
    ("pipe-67", "local", "ex67@local.test", MAILER_ANY | {"userunknown"},
     {"suppress", "none"}, {}),
    ("pipe-75", "local", "ex75@local.test",
     MAILER_ANY | {"expired"}, {"retry", "none"}, {}),
    ("pipe-69", "local", "ex69@local.test", MAILER_ANY, {"none", "retry"},
     {}),
    ("pipe-77", "local", "ex77@local.test", MAILER_ANY | {"securityerror"},
     {"none", "alert"}, {}),
    ("tls-required", "tls", "ann@notls.test", {"securityerror"},
     {"alert"}, {}),
    # One message, three failures: one bounce (or one per time of
    # failure) lists them all, and each recipient keeps its own; the
    # suppression of the first must not reach the others.
    ("mixed", "mixed", [("cat@nx.test", {"hostunknown"}, {"suppress"}),
                        ("dog@refused.test", *RETRY_NET),
                        ("eel@middata.test", *RETRY_NET)], None, None, {}),
]


def expand(cases):
    """One row a recipient: (id, kind, rcpt, reasons, decisions, opts)."""
    out = []
    for cid, kind, rcpt, reasons, decisions, opts in cases:
        if isinstance(rcpt, list):
            out += [(cid, kind, r, rs, ds, opts) for r, rs, ds in rcpt]
        else:
            out.append((cid, kind, rcpt, reasons, decisions, opts))
    return out


def zone(names):
    """The fake DNS: every MTA's own name (the loop cases point at it)."""
    lines = [
        f"{BOUNCE_DOMAIN} MX 10 sink.test",
        f"sink.test A {SINK}",
        "ok.test MX 10 sink.test",
        "empty.test EMPTY",
        "mxghost.test MX 10 ghost.mxghost.test",
        "nullmx.test MX 0 .",
        "servfail.test SERVFAIL",
        "dnsdrop.test DROP",
        f"refused.test A {REFUSED}",
        f"nogreet.test A {NOGREET}",
        f"silent.test A {SILENT}",
        f"middata.test A {MIDDATA}",
        f"small.test A {SMALL}",
        f"notls.test A {NOTLS}",
    ]
    for n in names:
        lines.append(f"loop-{n}.test MX 10 {n}.lab.example.net")
        lines.append(f"{n}.lab.example.net A 127.0.0.1")
    return "\n".join(lines) + "\n"


# --- the scripted hosts ----------------------------------------------------

class Host(threading.Thread):
    """A tiny SMTP server on ADDR:25 that behaves as its mode says."""

    def __init__(self, addr, mode, out):
        super().__init__(daemon=True)
        self.addr, self.mode, self.out = addr, mode, out
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, 25))
        self.sock.listen(64)
        self.lock = threading.Lock()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        try:
            self.dialogue(c)
        except OSError:
            pass
        finally:
            c.close()

    def dialogue(self, c):
        if self.mode == "nogreet":
            c.settimeout(600)
            while c.recv(4096):
                pass
            return
        f = c.makefile("rb")
        c.sendall(b"220 mx.provider.test ESMTP\r\n")
        rcpts, sender = [], ""
        while True:
            line = f.readline()
            if not line:
                return
            cmd = line.decode("latin-1").strip()
            verb = cmd[:4].upper()
            if verb == "EHLO":
                size = b"1000" if self.mode == "small" else b"10240000"
                c.sendall(b"250-mx.provider.test\r\n250-SIZE " + size +
                          b"\r\n250-8BITMIME\r\n250 PIPELINING\r\n")
            elif verb == "HELO":
                c.sendall(b"250 mx.provider.test\r\n")
            elif verb == "MAIL":
                m = re.search(r"<([^>]*)>", cmd)
                sender, rcpts = (m.group(1) if m else ""), []
                sz = re.search(r"SIZE=(\d+)", cmd, re.I)
                if self.mode == "small" and sz and int(sz.group(1)) > 1000:
                    c.sendall(b"552 5.3.4 Message size exceeds fixed "
                              b"maximum message size\r\n")
                    continue
                c.sendall(b"250 2.1.0 Ok\r\n")
            elif verb == "RCPT":
                m = re.search(r"<([^>]*)>", cmd)
                rcpts.append(m.group(1) if m else "")
                c.sendall(b"250 2.1.5 Ok\r\n")
            elif verb == "DATA":
                c.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                if self.mode == "middata":
                    f.readline()
                    return
                data = []
                while True:
                    x = f.readline()
                    if not x or x in (b".\r\n", b".\n"):
                        break
                    data.append(x[1:] if x.startswith(b"..") else x)
                if self.mode == "small" and sum(map(len, data)) > 1000:
                    c.sendall(b"552 5.3.4 Message size exceeds fixed "
                              b"maximum message size\r\n")
                    continue
                self.keep(rcpts, b"".join(data))
                c.sendall(b"250 2.0.0 Ok: queued\r\n")
            elif verb == "QUIT":
                c.sendall(b"221 2.0.0 Bye\r\n")
                return
            else:
                c.sendall(b"250 2.0.0 Ok\r\n")

    def keep(self, rcpts, data):
        for r in rcpts:
            m = re.match(r"lab-([a-z]+)-([a-z0-9-]+)@" + re.escape(
                BOUNCE_DOMAIN), r.lower())
            if not m:
                continue
            d = os.path.join(self.out, m.group(1))
            with self.lock:
                os.makedirs(d, exist_ok=True)
                k = 0
                while os.path.exists(os.path.join(
                        d, m.group(2) + (".%d" % k if k else "") + ".eml")):
                    k += 1
                with open(os.path.join(d, m.group(2) + (
                        ".%d" % k if k else "") + ".eml"), "wb") as fh:
                    fh.write(data)


# --- the MTAs ----------------------------------------------------------------

def message(sender, rcpts, case, mta, opts):
    hops = "".join(
        f"Received: from hop{i}.example.net by hop{i + 1}.example.net; "
        "Sat, 05 Dec 2026 19:00:00 +0000\r\n"
        for i in range(opts.get("hops", 0)))
    body = f"A message of the bounce lab ({mta}, {case}).\r\n"
    if opts.get("big"):
        line = "x" * 70 + "\r\n"
        body += line * (opts["big"] // len(line) + 1)
    return (hops + f"From: Lab Sender <{sender}>\r\n"
            f"To: {', '.join(rcpts)}\r\n"
            f"Subject: bounce lab {case}\r\n"
            f"Message-ID: <{case}.{mta}@lab.example.net>\r\n"
            "Date: Sat, 05 Dec 2026 20:00:00 +0000\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + body)


def submit(port, sender, rcpts, text):
    """Hands the message over by SMTP; returns the MTA's refusal, if any
    (a failure it reports at once instead of in a bounce)."""
    import smtplib
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=60,
                          local_hostname="client.example.net") as s:
            s.sendmail(sender, rcpts, text)
    except smtplib.SMTPRecipientsRefused as e:
        code, msg = list(e.recipients.values())[0]
        return f"{code} {msg.decode('latin-1')}"
    except smtplib.SMTPResponseException as e:
        return f"{e.smtp_code} {e.smtp_error.decode('latin-1')}"
    return None


class Postfix(mtas.Postfix):
    hostname = "postfix.lab.example.net"

    def start(self):
        conf, d = self.run + "/etc", self.run
        os.makedirs(conf)
        os.makedirs(d + "/queue")
        subst = {"DIR": d, "MAIL_OWNER": "postfix",
                 "SETGID_GROUP": "postdrop", "MYHOSTNAME": self.hostname,
                 "MYDOMAIN": "lab.example.net", "RELAY_PORT": 25,
                 "SMTPD_PORT": self.port, "QMGR_WAKEUP": 1}
        box = d + "/fullbox"
        with open(box, "w") as f:
            f.write("From x\n" + "y" * 40000 + "\n")
        os.chmod(box, 0o666)
        os.chmod(d, 0o755)
        own = f"""smtpd_relay_restrictions = permit_mynetworks, reject
relayhost =
smtp_dns_support_level = enabled
smtp_host_lookup = dns
mydestination = local.test
local_transport = local
local_recipient_maps =
alias_maps = inline:{{ {{ex67="|exit 67"}}, {{ex75="|exit 75"}}, {{ex69="|exit 69"}}, {{ex77="|exit 77"}}, {{fullbox={box}}} }}
allow_mail_to_commands = alias
allow_mail_to_files = alias
default_privs = nobody
message_size_limit = 40000
mailbox_size_limit = 41000
transport_maps = inline:{{ notls.test=tlsonly: }}
bounce_queue_lifetime = 0
maximal_queue_lifetime = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtp_connect_timeout = 5s
smtp_helo_timeout = 5s
smtp_data_done_timeout = 10s
hopcount_limit = 50
"""
        # Without the template's lines for the same names: every Postfix
        # process would log "overriding earlier entry" for each, and
        # postlogd, which logs to its own socket, can fill it and hang.
        keys = {x.split("=")[0].strip() for x in own.splitlines()}
        base = [x for x in mtas.postfix_template("main.cf.in", subst)
                .splitlines(True) if x.split("=")[0].strip() not in keys]
        with open(conf + "/main.cf", "w") as f:
            f.write("".join(base) + own)
        with open(conf + "/master.cf", "w") as f:
            f.write(mtas.postfix_template("master.cf.in", subst))
            f.write("local      unix  -  n  n  -  -  local\n"
                    "tlsonly    unix  -  -  n  -  -  smtp\n"
                    "  -o smtp_tls_security_level=encrypt\n")
        p = subprocess.run(["postfix", "-c", conf, "start"],
                           capture_output=True, text=True)
        if p.returncode:
            raise RuntimeError("postfix start failed: " + p.stderr[-300:])
        mtas.wait_port(self.port, 10)

    def logs(self):
        return [self.run + "/maillog"]


class Exim(mtas.Exim):
    hostname = "exim.lab.example.net"

    def start(self):
        d = self.run
        mtas.exim_dirs(d)
        os.makedirs(d + "/boxes")
        os.chmod(d + "/boxes", 0o1777)
        box = d + "/boxes/fullbox"
        with open(box, "w") as f:
            f.write("From x\n" + "y" * 1000 + "\n")
        shutil.chown(box, "nobody", "nogroup")
        with open(d + "/aliases", "w") as f:
            f.write("".join(f"ex{n}: |/bin/sh -c 'exit {n}'\n"
                            for n in (67, 75, 69, 77)) +
                    f"fullbox: {box}\n")
        # Its compiled-in configuration file, not -C: with -C it runs
        # without root and cannot deliver to pipes and files as nobody.
        # /etc/exim4 is a read-only overlay of this namespace's /etc.
        os.makedirs(d + "/stub/exim4")
        self.conf = d + "/stub/exim4/exim4.conf"
        self.bin = mtas.BINARIES["exim"]
        with open(self.conf, "w") as f:
            f.write(mtas.exim_main(
                self.bin, self.hostname, self.port, d,
                "message_size_limit = 100K\n"
                "bounce_return_size_limit = 10K\n"
                "domainlist local_domains = local.test\n") + f"""
begin routers
aliases:
  driver = redirect
  domains = +local_domains
  data = ${{lookup{{$local_part}}lsearch{{{d}/aliases}}}}
  pipe_transport = address_pipe
  file_transport = address_file
  user = nobody
  group = nogroup

tls_only:
  driver = dnslookup
  domains = notls.test
  transport = tls_smtp
  self = fail
  no_more

dnslookup:
  driver = dnslookup
  domains = ! +local_domains
  transport = remote_smtp
  self = fail
  no_more

begin transports
remote_smtp:
  driver = smtp
  message_size_limit = 40K
  hosts_avoid_tls = *
  connect_timeout = 5s
  command_timeout = 10s

tls_smtp:
  driver = smtp
  hosts_require_tls = *

address_pipe:
  driver = pipe
  return_fail_output

address_file:
  driver = appendfile
  quota = 2K
  check_owner = false
  mode_fail_narrower = false

# Give up after a few seconds: the bounce then says why.
begin retry
*  *  F,6s,2s

begin rewrite
""")
        subprocess.run(["mount", "-t", "overlay", "lab", "-o",
                        f"lowerdir={d}/stub:/etc", "/etc"], check=True)
        subprocess.run(["mount", "--bind", os.path.join(
            os.path.dirname(d), "resolv.conf"), "/etc/resolv.conf"],
            check=True)
        p = subprocess.Popen([self.bin, "-bdf", "-q2s"],
                             stdout=open(d + "/daemon.out", "w"),
                             stderr=subprocess.STDOUT)
        self.procs.append(p)
        mtas.wait_port(self.port, 15, p)

    def flush(self):
        subprocess.run([self.bin, "-qff"], capture_output=True, timeout=60)

    # The overlay of /etc stays: the MTAs running beside it read /etc
    # too, and the namespace ends with this script.

    def logs(self):
        return [self.run + "/log/mainlog"]


class Syslog(threading.Thread):
    """/dev/log for this namespace: a datagram socket whose messages are
    written to files as a syslog daemon writes them ("Dec  7 11:00:00
    host prog[pid]: text"), one file per MTA, chosen by the program name
    (Sendmail and OpenSMTPD both log here). In this namespace /dev
    becomes a tmpfs with the machine's entries bound into it, and the
    socket. One for the namespace: Syslog.route() makes it the first
    time."""

    shared = None
    lock = threading.Lock()

    @classmethod
    def route(cls, progs, run, host):
        """Writes the messages of the programs progs (names before "[")
        to run/syslog as from host; returns the syslog."""
        with cls.lock:
            if cls.shared is None:
                cls.shared = cls(os.path.dirname(run))
                cls.shared.start()
            for prog in progs:
                cls.shared.routes[prog] = (host, run + "/syslog")
            return cls.shared

    def __init__(self, top):
        super().__init__(daemon=True)
        self.old = top + "/olddev"
        self.routes, self.files = {}, {}
        os.makedirs(self.old)
        subprocess.run(["mount", "--rbind", "/dev", self.old], check=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "lab",
                        "/dev"], check=True)
        for n in os.listdir(self.old):
            src, dst = os.path.join(self.old, n), os.path.join("/dev", n)
            if n == "log":
                continue
            if os.path.islink(src):
                os.symlink(os.readlink(src), dst)
                continue
            if os.path.isdir(src):
                os.makedirs(dst)
            else:
                open(dst, "w").close()
            subprocess.run(["mount", "--rbind", src, dst], check=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("/dev/log")
        os.chmod("/dev/log", 0o666)

    def run(self):
        while True:
            try:
                msg = self.sock.recv(65536).decode("latin-1")
            except OSError:
                return
            m = re.match(r"<\d+>(\w{3} [ \d]\d \d\d:\d\d:\d\d) "
                         r"(([^\[: ]*).*)", msg, re.S)
            if not m or m.group(3) not in self.routes:
                continue
            host, path = self.routes[m.group(3)]
            if path not in self.files:
                self.files[path] = open(path, "a")
            self.files[path].write(f"{m.group(1)} {host} "
                                   f"{m.group(2).rstrip()}\n")
            self.files[path].flush()

    def stop(self):
        # /dev and the socket stay as they are for the MTAs running
        # beside it; the namespace ends with this script.
        pass


class Sendmail(mtas.Sendmail):
    hostname = "sendmail.lab.example.net"

    def start(self):
        d = self.run
        cf = mtas.CACHE + "/sendmail/usr/share/sendmail/cf"
        for sub in ("queue", "mqueue-client"):
            os.makedirs(f"{d}/{sub}", mode=0o700)
        with open(d + "/aliases", "w") as f:
            f.write("".join(f'ex{n}: "|exit {n}"\n'
                            for n in (67, 75, 69, 77)) +
                    # A local delivery agent finding the mailbox full
                    # as Dovecot's LDA says it with -e: its reason on
                    # stderr, exit 77 (EX_NOPERM). mail.local has no
                    # quota of its own.
                    "fullbox: \"|echo 'Quota exceeded (mailbox for user "
                    "is full)' >&2; exit 77\"\n"
                    "postmaster: /dev/null\nMAILER-DAEMON: postmaster\n")
        with open(d + "/hosts", "w") as f:
            f.write("127.0.0.1 localhost\n")
        with open(d + "/service.switch", "w") as f:
            f.write("hosts dns files\naliases files\n")
        mc = f"""divert(-1)
divert(0)dnl
include(`{cf}/m4/cf.m4')dnl
VERSIONID(`bounce lab, own failures')dnl
OSTYPE(`linux')dnl
define(`confDOMAIN_NAME', `{self.hostname}')dnl
define(`confDONT_PROBE_INTERFACES', `True')dnl
define(`QUEUE_DIR', `{d}/queue')dnl
define(`ALIAS_FILE', `{d}/aliases')dnl
define(`confSERVICE_SWITCH_FILE', `{d}/service.switch')dnl
define(`confHOSTS_FILE', `{d}/hosts')dnl
define(`STATUS_FILE', `{d}/statistics')dnl
define(`confPID_FILE', `{d}/sendmail.pid')dnl
define(`confTO_QUEUERETURN', `15s')dnl
define(`confTO_QUEUEWARN', `1h')dnl
define(`confTO_CONNECT', `5s')dnl
define(`confTO_INITIAL', `5s')dnl
define(`confTO_ICONNECT', `5s')dnl
define(`confMIN_QUEUE_AGE', `0')dnl
define(`confDELIVERY_MODE', `background')dnl
define(`confPRIVACY_FLAGS', `goaway')dnl
define(`confCON_EXPENSIVE', `False')dnl
define(`confBIND_OPTS', `-DNSRCH -DEFNAMES')dnl
define(`confMAX_MESSAGE_SIZE', `40000')dnl
define(`confRUN_AS_USER', `root')dnl
define(`confHOST_STATUS_DIRECTORY', `')dnl
define(`confDONT_BLAME_SENDMAIL', `MapInUnsafeDirPath,GroupWritableDirPathSafe')dnl
define(`LOCAL_MAILER_PATH', `{mtas.CACHE}/sendmail/usr/libexec/sendmail/mail.local')dnl
FEATURE(`nocanonify')dnl
FEATURE(`no_default_msa')dnl
FEATURE(`promiscuous_relay')dnl
FEATURE(`accept_unresolvable_domains')dnl
FEATURE(`accept_unqualified_senders')dnl
FEATURE(`access_db', `hash -o -T<TMPF> {d}/access')dnl
LOCAL_DOMAIN(`local.test')dnl
DAEMON_OPTIONS(`Port={self.port}, Addr=127.0.0.1, Name=MTA')dnl
MAILER(`local')dnl
MAILER(`smtp')dnl
"""
        with open(d + "/lab.mc", "w") as f:
            f.write(mc)
        with open(d + "/sendmail.cf", "w") as f:
            p = subprocess.run(["m4", d + "/lab.mc"], stdout=f,
                               stderr=subprocess.PIPE, text=True)
        if p.returncode:
            raise RuntimeError("m4: " + p.stderr[-300:])
        self.cf = d + "/sendmail.cf"
        # TLS required for notls.test: the access map's TLS_Srv.
        with open(d + "/access", "w") as f:
            f.write("TLS_Srv:notls.test\tENCR:128\n")
        p = subprocess.run([mtas.CACHE + "/sendmail/usr/libexec/sendmail/"
                            "makemap", "-C", self.cf, "hash", d + "/access"],
                           stdin=open(d + "/access"), capture_output=True,
                           text=True)
        if p.returncode:
            raise RuntimeError("makemap: " + p.stderr[-300:])
        self.bin = mtas.BINARIES["sendmail"]
        self.syslog = Syslog.route(
            ("sendmail", "sm-mta", "mail.local"), d, "sendmail")
        subprocess.run(mtas.UTS + [self.bin, "-C", self.cf, "-bi"],
                       capture_output=True, timeout=60)
        p = subprocess.Popen(mtas.UTS + [self.bin, "-C", self.cf, "-bD",
                                         "-q2s", "-OPidFile=" + d +
                                         "/sendmail.pid"],
                             stdout=open(d + "/sendmail.out", "w"),
                             stderr=subprocess.STDOUT)
        self.procs.append(p)
        mtas.wait_port(self.port, 20, p)

    def stop(self):
        super().stop()
        self.syslog.stop()

    def logs(self):
        return [self.run + "/syslog"]


class OpenSMTPD(mtas.OpenSMTPD):
    hostname = "opensmtpd.lab.example.net"

    def start(self):
        d = self.run
        with open(d + "/aliases", "w") as f:
            f.write("".join(f"ex{n}: |/bin/sh -c 'exit {n}'\n"
                            for n in (67, 75, 69, 77)) +
                    # As Sendmail's: a local delivery agent finding the
                    # mailbox full (Dovecot's LDA with -e).
                    "fullbox: |/bin/sh -c 'echo \"Quota exceeded (mailbox "
                    "for user is full)\" >&2; exit 77'\n")
        self.conf = d + "/smtpd.conf"
        with open(self.conf, "w") as f:
            f.write(f"""# bounce lab, own failures
queue ttl 20s
smtp max-message-size 40000
table aliases file:{d}/aliases
listen on 127.0.0.1 port {self.port} hostname {self.hostname}
action "local" mda "/bin/cat" alias <aliases> user nobody
action "tls" relay tls helo {self.hostname}
action "lab" relay helo {self.hostname}
match from any for domain "local.test" action "local"
match from any for domain "notls.test" action "tls"
match from any for any action "lab"
""")
        # Its own words go to syslog (-F), as where it runs for real.
        Syslog.route(("smtpd",), d, "opensmtpd")
        self.spawn("-F")

    def logs(self):
        return [self.run + "/syslog"]


class Courier(mtas.Courier):
    """mtas.Courier, with DNS: no esmtproutes but TLS required for
    notls.test, and the lab's resolv.conf bound again over the read-only
    overlay of /etc."""
    relay = False
    queuetime = "20s"
    # TLS required for notls.test (Courier's own SECURITY extension).
    routes = f"notls.test: [{NOTLS}] /SECURITY=REQUIRED\n"

    def start(self):
        shutil.copyfile(os.path.join(os.path.dirname(self.run),
                                     "resolv.conf"),
                        self.run + ".resolv.conf")
        setup = mtas.COURIER_SETUP
        mtas.COURIER_SETUP = setup.replace(
            'mount --bind "$R/etc" /etc/courier\n',
            'mount --bind "$R/etc" /etc/courier\n'
            'mount --bind "$R.resolv.conf" /etc/resolv.conf\n')
        try:
            super().start()
        finally:
            mtas.COURIER_SETUP = setup

    def logs(self):
        return []


OWN = {"postfix": Postfix, "exim": Exim, "sendmail": Sendmail,
       "opensmtpd": OpenSMTPD, "courier": Courier}


# --- classification -------------------------------------------------------

def classify_mail(bouncerctl, rules, files):
    """-> {file: [(rcpt, reason, decision)]}"""
    res = {f: [] for f in files}
    if not files:
        return res
    p = subprocess.run([bouncerctl, "classify-mail", "-H", "-r", rules] +
                       files, capture_output=True, text=True)
    for line in p.stdout.splitlines():
        col = line.split("\t")
        res.setdefault(col[0], []).append((col[1].strip("<>").lower(),
                                           col[3], col[6]))
    return res


def classify_log(bouncerctl, rules, files):
    """-> {rcpt: [(reason, decision)]} in the order of the log."""
    res = {}
    files = [f for f in files if os.path.exists(f)]
    if not files:
        return res
    p = subprocess.run([bouncerctl, "classify", "-r", rules, "--maillog"] +
                       files, capture_output=True, text=True)
    for line in p.stdout.splitlines():
        col = line.split("\t")
        if len(col) > 2:
            res.setdefault(col[0].strip("<>").lower(), []).append(
                (col[1], col[2]))
    return res


START = threading.Lock()


def bounced(d, cid, rcpts):
    """Whether the bounces of cid in d name every one of rcpts."""
    if not os.path.isdir(d):
        return False
    text = b""
    for f in os.listdir(d):
        if f.split(".")[0] == cid:
            with open(os.path.join(d, f), "rb") as fh:
                text += fh.read().lower()
    return bool(text) and all(r.lower().encode() in text for r in rcpts)


def run_mta(name, out, cases):
    """Starts name, submits every case, waits for the bounces; returns
    (the MTA's log files, {case id: refusal at submission})."""
    m = OWN[name](os.path.join(out, name + ".run"), 25)
    # One start at a time: Exim lays an overlay on /etc and Sendmail a
    # new /dev in this namespace, which OpenSMTPD and Courier copy into
    # theirs when they start.
    with START:
        m.start()
    refused = {}
    try:
        msgs = {}
        for cid, _, rcpt, _, _, opts in expand(cases):
            msgs.setdefault(cid, ([], opts))[0].append(rcpt.format(
                mta=name))
        for cid, (rcpts, opts) in msgs.items():
            sender = f"lab-{name}-{cid}@{BOUNCE_DOMAIN}"
            why = submit(m.port, sender, rcpts, message(sender, rcpts, cid,
                                                        name, opts))
            if why:
                refused[cid] = why
        want = {c: r for c, (r, _) in msgs.items() if c not in refused}
        deadline = time.time() + 90
        d = os.path.join(out, "bounces", name)
        while time.time() < deadline:
            if all(bounced(d, c, r) for c, r in want.items()):
                break
            m.flush()
            time.sleep(2)
        time.sleep(1)
    finally:
        m.stop()
    return m.logs(), refused


def check(bouncerctl, rules, name, out, cases, logs, refused):
    d = os.path.join(out, "bounces", name)
    files = sorted(os.path.join(d, f) for f in os.listdir(d)) \
        if os.path.isdir(d) else []
    got = classify_mail(bouncerctl, rules, files)
    inlog = classify_log(bouncerctl, rules, logs)
    rows, problems, kept = [], [], []
    for cid, kind, rcpt, reasons, decisions, _ in expand(cases):
        breasons, bdecisions, _ = EXPECT.get((name, cid),
                                             (reasons, decisions, ""))
        if (name, cid) in LOG_TOO:
            reasons, decisions = breasons, bdecisions
        if (name, cid) in LOG_EXPECT:
            reasons, decisions, _ = LOG_EXPECT[(name, cid)]
        r = rcpt.format(mta=name).lower()
        where = f"{name} {cid} <{r}>"
        if cid in refused:
            p = subprocess.run([bouncerctl, "classify", "-r", rules],
                               input=f"{r}\t{refused[cid]}\n",
                               capture_output=True, text=True)
            col = (p.stdout.split("\t") + ["?"] * 3)[:3]
            ok = col[1] in reasons and col[2] in decisions
            rows.append((kind, cid, "refused", ok, None))
            if not ok:
                problems.append(f"{where}: refused at submission "
                                f"({refused[cid]}): {col[1]} {col[2]}")
            continue
        mine = [f for f in files if os.path.basename(f).split(".")[0] == cid]
        verdicts = {(x[1], x[2]) for f in mine for x in got[f] if x[0] == r}
        if not mine:
            bounce = None
            problems.append(f"{where}: no bounce")
        elif not verdicts:
            bounce = False
            problems.append(f"{where}: no line for the recipient in "
                            f"{', '.join(mine)}")
        else:
            bounce = all(v[0] in breasons and v[1] in bdecisions
                         for v in verdicts)
            if not bounce:
                problems.append(f"{where}: bounce {sorted(verdicts)}, want "
                                f"{'/'.join(sorted(breasons))} "
                                f"{'/'.join(sorted(bdecisions))} "
                                f"({mine[0]})")
        log = None
        if logs and (name, cid) not in NO_LOG:
            lv = inlog.get(r, [])
            if not lv:
                log = False
                problems.append(f"{where}: no log line")
            else:
                # The last verdict (the final one: bounced, not deferred)
                # must be expected; none may suppress unless expected.
                log = (lv[-1][0] in reasons and lv[-1][1] in decisions and
                       all(v[1] != "suppress" or "suppress" in decisions
                           for v in lv))
                if not log:
                    problems.append(f"{where}: log {lv}, want "
                                    f"{'/'.join(sorted(reasons))} "
                                    f"{'/'.join(sorted(decisions))}")
        rows.append((kind, cid, "bounce", bounce, log))
        if bounce and log is not False:
            kept.append((kind, cid, r, [f for f in mine if any(
                x[0] == r for x in got[f])][0], breasons, bdecisions,
                               reasons, decisions, log is not None))
    return rows, problems, kept


def save_sample(sample, name, kept, logs):
    """One bounce per failure kind, and the log lines about them."""
    os.makedirs(os.path.join(sample, name), exist_ok=True)
    seen, rows, rcpts = {}, [], set()
    for kind, cid, r, f, br, bd, lr, ld, haslog in kept:
        # The first case of each kind, with all its recipients; the log
        # lines of every case (a few lines each).
        if seen.setdefault(kind, cid) == cid:
            rel = f"{name}/own-{os.path.basename(f)[:-4]}.eml"
            shutil.copyfile(f, os.path.join(sample, rel))
            rows.append(f"{rel}\t{r}\t{','.join(sorted(br))}\t"
                        f"{','.join(sorted(bd))}\t{cid}\n")
        if haslog:
            rows.append(f"{name}/own.log\t{r}\t{','.join(sorted(lr))}\t"
                        f"{','.join(sorted(ld))}\t{cid}\n")
            rcpts.add(r)
    if rcpts:
        with open(os.path.join(sample, name, "own.log"), "w") as out:
            for lf in logs:
                with open(lf, encoding="latin-1") as fh:
                    for line in fh:
                        if any(f"<{r}>" in line.lower() or f" {r}:" in
                               line.lower() or f" {r} " in line.lower()
                               for r in rcpts):
                            out.write(line)
    new = not os.path.exists(os.path.join(sample, "own.tsv"))
    with open(os.path.join(sample, "own.tsv"), "a") as out:
        if new:
            out.write("# The bounce lab's own failures (t/bouncelab-own.sh): "
                      "bounces and log lines real MTAs\n# wrote, checked "
                      "without the MTAs by t/bouncelab/own.py --sample.\n"
                      "# file<TAB>recipient<TAB>reasons<TAB>decisions<TAB>"
                      "case (reasons, decisions: those accepted)\n")
        out.writelines(rows)


def check_sample(bouncerctl, rules, d):
    rows = []
    with open(os.path.join(d, "own.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            file, r, reasons, decisions, cid = line.rstrip("\n").split("\t")
            rows.append((os.path.join(d, file), r, set(reasons.split(",")),
                         set(decisions.split(",")), cid))
    mails = sorted({x[0] for x in rows if x[0].endswith(".eml")})
    got = classify_mail(bouncerctl, rules, mails)
    bad = 0
    for f, r, reasons, decisions, cid in rows:
        if f.endswith(".eml"):
            v = [(x[1], x[2]) for x in got.get(f, []) if x[0] == r]
        else:
            v = classify_log(bouncerctl, rules, [f]).get(r, [])[-1:]
        if not v or any(x[0] not in reasons or x[1] not in decisions
                        for x in v):
            bad += 1
            print(f"bouncelab-own sample: FAIL {f} <{r}> {cid}: {v}, want "
                  f"{'/'.join(sorted(reasons))} "
                  f"{'/'.join(sorted(decisions))}")
    print(f"bouncelab-own sample: {len(rows)} bounces and log lines, "
          f"{len(rows) - bad} agree")
    return 1 if bad else 0


def in_namespace(argv):
    """Runs this script again in a network and mount namespace of its
    own: loopback only, /etc/resolv.conf naming 127.0.0.1."""
    resolv = os.path.join(argv.out, "resolv.conf")
    os.makedirs(argv.out, exist_ok=True)
    with open(resolv, "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:2 attempts:1\n")
    # A non-loopback address too: OpenSMTPD's resolver (AI_ADDRCONFIG)
    # looks up no IPv4 address on a host that has only loopback ones.
    setup = ('ip link set lo up && '
             '{ ip link add lab0 type veth peer name lab1 && '
             'ip addr add 10.254.0.1/24 dev lab0 && ip link set lab0 up && '
             'ip link set lab1 up || true; } && '
             'sysctl -qw net.unix.max_dgram_qlen=512 && mount --bind "$0" /etc/resolv.conf && '
             'exec "$@"')
    env = dict(os.environ, BOUNCELAB_OWN_NS="1")
    return subprocess.run(["unshare", "--net", "--mount", "--propagation",
                           "private", "sh", "-c", setup, resolv,
                           sys.executable] + sys.argv, env=env).returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out")
    ap.add_argument("--mta", action="append")
    ap.add_argument("--save-sample", metavar="DIR")
    ap.add_argument("--sample", metavar="DIR")
    args = ap.parse_args()
    rules = os.environ.get("BOUNCER_RULES") or os.path.join(SRC, "rules")
    bouncerctl = os.environ.get("BOUNCERCTL") or os.path.join(SRC,
                                                              "bouncerctl")
    if args.sample:
        return check_sample(bouncerctl, rules, args.sample)
    if not args.out:
        ap.error("--out is needed")
    args.out = os.path.abspath(args.out)
    if args.save_sample:
        args.save_sample = os.path.abspath(args.save_sample)
    if os.environ.get("BOUNCELAB_OWN_NS") != "1":
        return in_namespace(args)

    names = args.mta or list(OWN)
    with open(os.path.join(args.out, "zone"), "w") as f:
        f.write(zone(names))
    dns = subprocess.Popen([sys.executable, os.path.join(SRC, "t", "lib",
                                                         "dnsd.py"),
                            os.path.join(args.out, "zone"),
                            os.path.join(args.out, "dns.port"),
                            os.path.join(args.out, "dns.log"), "53"])
    hosts = [Host(a, mode, os.path.join(args.out, "bounces"))
             for a, mode in ((SINK, "sink"), (NOTLS, "sink"),
                             (NOGREET, "nogreet"),
                             (MIDDATA, "middata"), (SMALL, "small"))]
    for h in hosts:
        h.start()
    # Nothing accepts on SILENT, and one connection fills its queue:
    # Linux drops the SYNs after it, and a connection times out.
    silent = socket.socket()
    silent.bind((SILENT, 25))
    silent.listen(0)
    fill = []
    for _ in range(2):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex((SILENT, 25))
        fill.append(c)
    status = 0
    try:
        for _ in range(50):
            if os.path.exists(os.path.join(args.out, "dns.port")):
                break
            time.sleep(0.1)
        # All at once: most of the time is waiting for queue lifetimes.
        results, lock = {}, threading.Lock()

        def one(name):
            started = time.time()
            cases = [c for c in CASES if c[0] not in SKIP.get(name, ())]
            try:
                logs, refused = run_mta(name, args.out, cases)
                rows, problems, kept = check(bouncerctl, rules, name,
                                             args.out, cases, logs, refused)
            except Exception as e:  # noqa: BLE001
                with lock:
                    print(f"bouncelab-own: {name}: FAIL: {e}", flush=True)
                results[name] = 2
                return
            with lock:
                report(name, rows, problems, time.time() - started)
                if args.save_sample:
                    save_sample(args.save_sample, name, kept, logs)
            results[name] = 1 if problems else 0

        threads = []
        for name in names:
            why = mtas.missing(name)
            if why:
                print(f"bouncelab-own: {name}: SKIP: {why}", flush=True)
                if os.environ.get("CI") == "true":
                    status = 1
                continue
            threads.append(threading.Thread(target=one, args=(name,)))
            threads[-1].start()
        for t in threads:
            t.join()
        status = max([status] + list(results.values()))
    finally:
        dns.terminate()
        dns.wait()
    return status


# Cases an MTA cannot be made to produce.
SKIP = {
    # It waits 300 s for a connection and a greeting (compiled in).
    "opensmtpd": ("nogreeting", "connect-timeout"),
    # No local domain (its local deliveries need authlib's authdaemond
    # and a user database); its greeting timeout is minutes and its size
    # limit 10 MB.
    "courier": ("dns-timeout", "local-unknown", "local-quota", "pipe-67", "pipe-75",
                "pipe-69", "pipe-77", "nogreeting",
                "own-size"),
}

# Where an MTA's bounce cannot say more: (mta, case) -> (reasons,
# decisions, why), for the bounce only (its log lines have the words).
EXPECT = {
    ("exim", "local-unknown"): (
        {"userunknown", "hostunknown"}, {"suppress"},
        "Exim says \"Unrouteable address\" for a local part no router "
        "takes as for a domain (Sisimai reads it hostunknown)"),
    ("exim", "own-size"): (
        {"undefined", "onhold"}, {"none"},
        "Exim's bounce names the recipient with no words at all "
        "(the mainlog has \"message is too big\")"),
    ("exim", "too-many-hops"): (
        {"undefined", "onhold"}, {"none"},
        "Exim's bounce names the recipient with no words at all "
        "(the mainlog has them)"),
    ("exim", "tls-required"): (
        {"securityerror", "expired"}, {"alert", "retry"},
        "Exim's bounce says only \"retry timeout exceeded\" (the "
        "mainlog's deferral says TLS)"),
    ("exim", "local-quota"): (
        {"mailboxfull", "expired"}, {"retry"},
        "a full mailbox is a temporary error to Exim: the bounce says "
        "\"retry timeout exceeded\""),
}
OPENSMTPD_EXPIRED = (
    {"expired"}, {"retry"},
    "OpenSMTPD 6.8 takes it as temporary (\"No MX found for domain\", "
    "\"Network error on destination MXs\", \"TLS required but not "
    "supported\") and its bounce after the queue ttl says only "
    "\"Envelope expired\"")
for _c in ("nomx-noaddr", "mx-noaddr", "nullmx", "loop-self",
           "tls-required"):
    EXPECT[("opensmtpd", _c)] = OPENSMTPD_EXPIRED
EXPECT[("courier", "nullmx")] = (
    {"notaccept", "hostunknown"}, {"suppress"},
    "Courier 1.0 knows no null MX: \"No such domain.\"")
# Where an MTA's log lines cannot say more: (mta, case) -> (reasons,
# decisions, why), for the log lines only.
OPENSMTPD_NOMX = (
    {"hostunknown", "notaccept"}, {"retry"},
    "OpenSMTPD 6.8 logs \"No MX found for domain\" for a domain without "
    "MX and address, an MX without address and a null MX alike, as a "
    "TempFail: a deferral, which never suppresses")
LOG_EXPECT = {
    ("opensmtpd", "nomx-noaddr"): OPENSMTPD_NOMX,
    ("opensmtpd", "mx-noaddr"): OPENSMTPD_NOMX,
    ("opensmtpd", "nullmx"): OPENSMTPD_NOMX,
    ("opensmtpd", "loop-self"): (
        {"networkerror"}, {"retry"},
        "OpenSMTPD does not see that the MX is itself: it connects to "
        "port 25 of its own address, where the lab has nothing, and "
        "logs \"Network error on destination MXs\""),
    ("opensmtpd", "tls-required"): (
        {"networkerror", "securityerror"}, {"retry", "alert"},
        "OpenSMTPD says \"TLS required but not supported\" in an \"mta "
        "error\" line without a recipient; the recipient's line says "
        "\"Network error on destination MXs\""),
}
# Sendmail says of a local delivery agent's failure only what its exit
# status means: "Insufficient permission" in the log, "Diagnostic-Code:
# X-Unix; 77" in the bounce, whose transcript alone has the agent's
# words ("Quota exceeded (mailbox for user is full)"). No decision is
# taken on it, where REASONS.md would retry. The bounce's Status for it
# is 5.3.0, which outranks the shape of an exit status: systemerror, as
# Sisimai reads the same bounce (shared/corpus lhost-sendmail-13).
SENDMAIL_LDA = (
    {"mailboxfull", "mailererror"}, {"retry", "none"},
    "Sendmail gives the agent's exit status, 77: the words of the full "
    "mailbox are only in the bounce's transcript")
EXPECT[("sendmail", "local-quota")] = (
    SENDMAIL_LDA[0] | {"systemerror"}, SENDMAIL_LDA[1],
    SENDMAIL_LDA[2] + ", under Status 5.3.0 (systemerror)")
LOG_EXPECT[("sendmail", "local-quota")] = SENDMAIL_LDA
# Failures an MTA logs with no delivery line (Sendmail: a SYSERR only).
NO_LOG = {("sendmail", "too-many-hops")}
# ... and for its log lines too.
LOG_TOO = {("exim", "local-unknown")}


def report(name, rows, problems, secs):
    kinds = {}
    for kind, _, how, bounce, log in rows:
        k = kinds.setdefault(kind, [0, 0, 0, 0, 0])
        k[0] += 1
        k[1] += bounce is True
        k[4] += how == "refused"
        if log is not None:
            k[2] += 1
            k[3] += log is True
    parts = []
    for kind, (n, b, nl, lg, ref) in kinds.items():
        parts.append(f"{kind} {b}/{n}" +
                     (f" ({ref} refused at submission)" if ref else "") +
                     (f" log {lg}/{nl}" if nl else ""))
    print(f"bouncelab-own: {name}: " + ", ".join(parts) +
          f" ({secs:.0f} s)", flush=True)
    for p in problems:
        print("  " + p, flush=True)


if __name__ == "__main__":
    sys.exit(main())

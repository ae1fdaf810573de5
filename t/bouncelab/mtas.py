"""mtas.py -- private instances of Postfix, Exim, Sendmail, OpenSMTPD and Courier on loopback

Each class writes its own configuration into a run directory, listens on a
free port of 127.0.0.1, relays everything (bounces included) to the
provider's port, and never retries: a temporary failure bounces at once
(or after a second; Courier, which cannot be told not to retry, after a
minute), so that 4xx replies give bounces too. Postfix is the
installed one; the others come from scripts/setup-mtas, unpacked in
${BOUNCER_MTA_CACHE:-/var/tmp/bouncer-mta}. Everything runs as root.

    m = make("exim", rundir, provider_port); m.start()
    m.submit(sender, [rcpt, ...]); m.flush(); m.stop()
"""
import grp
import os
import shutil
import smtplib
import socket
import subprocess
import time

CACHE = os.environ.get("BOUNCER_MTA_CACHE", "/var/tmp/bouncer-mta")
BINARIES = {
    "postfix": "/usr/sbin/postfix",
    "exim": CACHE + "/exim/usr/sbin/exim4",
    "sendmail": CACHE + "/sendmail/usr/libexec/sendmail/sendmail",
    "opensmtpd": CACHE + "/opensmtpd/usr/sbin/smtpd",
    "courier": CACHE + "/courier/usr/lib/courier/courier/courierd",
}

# MTAs that are given no 421 replies (see lab.py).
NO_421 = {"opensmtpd", "sendmail", "courier"}


def missing(name):
    """Why name cannot run here, or "" when it can."""
    if os.geteuid() != 0:
        return "not root"
    b = BINARIES[name]
    if not os.access(b, os.X_OK):
        return f"no {b} (run scripts/setup-mtas)"
    # Courier's own libraries (libcourierauth) are in its unpacked tree.
    env = dict(os.environ, LD_LIBRARY_PATH=CACHE + "/courier/usr/lib")
    p = subprocess.run(["ldd", b], capture_output=True, text=True,
                       env=env if name == "courier" else None)
    if "not found" in p.stdout:
        return f"{b} lacks libraries (run scripts/setup-mtas)"
    users = {"postfix": ["postfix"], "exim": ["Debian-exim"],
             "sendmail": [], "opensmtpd": ["opensmtpd", "opensmtpq"],
             "courier": ["courier"]}[name]
    for u in users:
        if subprocess.run(["id", u], capture_output=True).returncode:
            return f"no user {u} (run scripts/setup-mtas)"
    return ""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, secs, proc=None):
    end = time.time() + secs
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"exited with status {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {secs} s")


MESSAGE = """From: Lab Sender <{sender}>
To: {to}
Subject: bounce lab {txid}
Message-ID: <{txid}.{mta}@lab.example.net>
Date: Sat, 05 Dec 2026 20:00:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

A message of the bounce lab ({mta}, {txid}).
"""


class MTA:
    name = "?"
    # More configuration, in the MTA's own syntax: lines appended to
    # Postfix's main.cf, m4 lines for Sendmail's .mc (before its MAILER
    # lines), options of Exim's main section. t/bouncelab/notices.py
    # turns on the notices to the postmaster with it.
    extra = ""

    def __init__(self, run, provider_port):
        self.run, self.pport = os.path.abspath(run), provider_port
        self.port = free_port()
        self.procs = []
        shutil.rmtree(self.run, ignore_errors=True)
        os.makedirs(self.run)
        os.chmod(self.run, 0o755)

    def submit(self, sender, rcpts):
        txid = sender.split("-")[2].split("@")[0]
        body = MESSAGE.format(sender=sender, to=", ".join(rcpts), txid=txid,
                              mta=self.name).replace("\n", "\r\n")
        for attempt in range(3):
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=30,
                                  local_hostname="client.example.net") as s:
                    s.sendmail(sender, rcpts, body)
                return
            except (smtplib.SMTPServerDisconnected, ConnectionError):
                if attempt == 2:
                    raise
                time.sleep(1)

    def flush(self):
        pass

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def postfix_template(name, subst):
    """t/lib/postfix/name with each @NAME@ replaced from subst: the
    private Postfix that t/e2e/lib.sh writes too."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                        "lib", "postfix", name)
    with open(path) as f:
        text = f.read()
    for k, v in subst.items():
        text = text.replace("@" + k + "@", str(v))
    return text


class Postfix(MTA):
    name = "postfix"

    def start(self):
        conf, d = self.run + "/etc", self.run
        os.makedirs(conf)
        os.makedirs(d + "/queue")
        subst = {"DIR": d, "MAIL_OWNER": "postfix",
                 "SETGID_GROUP": "postdrop",
                 "MYHOSTNAME": "postfix.lab.example.net",
                 "MYDOMAIN": "lab.example.net", "RELAY_PORT": self.pport,
                 "SMTPD_PORT": self.port, "QMGR_WAKEUP": 1}
        with open(conf + "/main.cf", "w") as f:
            f.write(postfix_template("main.cf.in", subst))
            f.write("""smtpd_relay_restrictions = permit_mynetworks, reject
bounce_queue_lifetime = 0
maximal_queue_lifetime = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
""")
            f.write(self.extra)
        with open(conf + "/master.cf", "w") as f:
            f.write(postfix_template("master.cf.in", subst))
        p = subprocess.run(["postfix", "-c", conf, "start"],
                           capture_output=True, text=True)
        if p.returncode:
            p = subprocess.run(["script", "-qec", f"postfix -c {conf} check",
                                "/dev/null"], capture_output=True, text=True)
            raise RuntimeError("postfix start failed: " + p.stdout[-300:])
        wait_port(self.port, 10)

    def flush(self):
        subprocess.run(["postqueue", "-c", self.run + "/etc", "-f"],
                       capture_output=True)

    def stop(self):
        subprocess.run(["postfix", "-c", self.run + "/etc", "stop"],
                       capture_output=True)
        pidf = self.run + "/queue/pid/master.pid"
        for _ in range(100):
            try:
                pid = int(open(pidf).read().strip())
                os.kill(pid, 0)
            except (OSError, ValueError):
                return
            time.sleep(0.1)


def exim_dirs(d):
    """A lab Exim's spool and log directories in d, Exim's own."""
    for sub in ("spool", "log"):
        os.makedirs(f"{d}/{sub}")
        shutil.chown(f"{d}/{sub}", "Debian-exim", "Debian-exim")


def exim_main(bin, hostname, port, d, extra=""):
    """The main section of a lab Exim's configuration, through its RCPT
    ACL (which takes any recipient from loopback): bin, its host name,
    its SMTP port, its directory d (spool/, log/), and extra settings."""
    return f"""exim_path = {bin}
keep_environment =
primary_hostname = {hostname}
qualify_domain = lab.example.net
exim_user = Debian-exim
exim_group = Debian-exim
daemon_smtp_ports = {port}
local_interfaces = 127.0.0.1
spool_directory = {d}/spool
log_file_path = {d}/log/%slog
pid_file_path = {d}/exim.pid
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
acl_smtp_rcpt = acl_rcpt
never_users =
bounce_return_message = true
# Deliver at once: no queueing of incoming mail.
queue_only = false
{extra}
begin acl
acl_rcpt:
  accept hosts = 127.0.0.1
"""


class Exim(MTA):
    name = "exim"

    def start(self):
        d = self.run
        exim_dirs(d)
        self.conf = d + "/exim.conf"
        self.bin = BINARIES["exim"]
        with open(self.conf, "w") as f:
            f.write(exim_main(self.bin, "exim.lab.example.net", self.port,
                              d, self.extra) + f"""
begin routers
lab:
  driver = manualroute
  route_list = * 127.0.0.1
  self = send
  transport = lab_smtp

begin transports
lab_smtp:
  driver = smtp
  port = {self.pport}
  allow_localhost
  hosts_avoid_tls = *

# No retry rules: a temporary error is final at the first attempt.
begin retry

begin rewrite
""")
        self.bin = BINARIES["exim"]
        p = subprocess.Popen([self.bin, "-C", self.conf, "-bdf", "-q5s"],
                             stdout=open(d + "/daemon.out", "w"),
                             stderr=subprocess.STDOUT)
        self.procs.append(p)
        wait_port(self.port, 15, p)

    def flush(self):
        subprocess.run([self.bin, "-C", self.conf, "-qff"],
                       capture_output=True, timeout=60)


class OpenSMTPD(MTA):
    name = "opensmtpd"

    def start(self):
        d = self.run
        self.conf = d + "/smtpd.conf"
        with open(self.conf, "w") as f:
            f.write(f"""# bounce lab: relay everything to the provider, give up at once
# (150 s: on a loaded 2-core box a first delivery attempt can take a
# minute, and a permanent reply must not expire before it is tried)
queue ttl 150s
listen on 127.0.0.1 port {self.port} hostname smtpd.lab.example.net
action "lab" relay host smtp://127.0.0.1:{self.pport} \\
    helo smtpd.lab.example.net
match from any for any action "lab"
""")
        self.spawn()

    def spawn(self, flag="-d"):
        """Runs smtpd with self.conf, once it is written: -d logs to
        stderr (smtpd.out), -F to syslog."""
        self.bin = BINARIES["opensmtpd"]
        # Its spool, chroot and control socket are compiled in
        # (/var/spool/smtpd, /var/lib/opensmtpd/empty, /run/smtpd.sock):
        # give it empty ones of its own in a mount namespace.
        setup = ("mount -t tmpfs lab /var/spool && "
                 "mkdir -m 711 /var/spool/smtpd && "
                 "mount -t tmpfs lab /var/lib && "
                 "mkdir -p /var/lib/opensmtpd/empty && "
                 "mount -t tmpfs lab /run && "
                 'exec "$0" "$@"')
        p = subprocess.Popen(["unshare", "--mount", "--propagation",
                              "private", "sh", "-c", setup, self.bin, flag,
                              "-f", self.conf],
                             stdout=open(self.run + "/smtpd.out", "w"),
                             stderr=subprocess.STDOUT)
        self.procs.append(p)
        wait_port(self.port, 15, p)
        self.pid = p.pid

    def flush(self):
        subprocess.run(["nsenter", "-t", str(self.pid), "-m",
                        os.path.dirname(self.bin) + "/smtpctl",
                        "schedule", "all"], capture_output=True, timeout=30)


# Sendmail sleeps a minute at start when the machine's name has no dot and
# does not resolve to one: give it a name of its own in a UTS namespace.
UTS = ["unshare", "--uts", "sh", "-c",
       'hostname sendmail.lab.example.net && exec "$0" "$@"']


class Sendmail(MTA):
    name = "sendmail"

    def start(self):
        d = self.run
        cf = CACHE + "/sendmail/usr/share/sendmail/cf"
        for sub in ("queue", "mqueue-client"):
            os.makedirs(f"{d}/{sub}", mode=0o700)
        open(d + "/aliases", "w").close()
        with open(d + "/hosts", "w") as f:
            f.write("127.0.0.1 localhost sendmail.lab.example.net\n")
        with open(d + "/service.switch", "w") as f:
            f.write("hosts files\naliases files\n")
        mc = f"""divert(-1)
divert(0)dnl
include(`{cf}/m4/cf.m4')dnl
VERSIONID(`bounce lab')dnl
OSTYPE(`linux')dnl
define(`confDOMAIN_NAME', `sendmail.lab.example.net')dnl
define(`confDONT_PROBE_INTERFACES', `True')dnl
define(`confQUEUE_DIR'dnl
)dnl
define(`QUEUE_DIR', `{d}/queue')dnl
define(`ALIAS_FILE', `{d}/aliases')dnl
define(`confSERVICE_SWITCH_FILE', `{d}/service.switch')dnl
define(`confHOSTS_FILE', `{d}/hosts')dnl
define(`STATUS_FILE', `{d}/statistics')dnl
define(`confPID_FILE', `{d}/sendmail.pid')dnl
define(`confTO_QUEUERETURN', `20s')dnl
define(`confTO_QUEUEWARN', `1h')dnl
define(`confDELIVERY_MODE', `background')dnl
define(`confPRIVACY_FLAGS', `goaway')dnl
define(`confCON_EXPENSIVE', `False')dnl
define(`confBIND_OPTS', `-DNSRCH -DEFNAMES')dnl
define(`SMART_HOST', `relay:[127.0.0.1]')dnl
define(`RELAY_MAILER_ARGS', `TCP $h {self.pport}')dnl
define(`confRUN_AS_USER', `root')dnl
FEATURE(`nocanonify')dnl
FEATURE(`no_default_msa')dnl
FEATURE(`promiscuous_relay')dnl
FEATURE(`accept_unresolvable_domains')dnl
FEATURE(`accept_unqualified_senders')dnl
DAEMON_OPTIONS(`Port={self.port}, Addr=127.0.0.1, Name=MTA')dnl
{self.extra}MAILER(`smtp')dnl
"""
        with open(d + "/lab.mc", "w") as f:
            f.write(mc)
        with open(d + "/sendmail.cf", "w") as f:
            p = subprocess.run(["m4", d + "/lab.mc"], stdout=f,
                               stderr=subprocess.PIPE, text=True)
        if p.returncode:
            raise RuntimeError("m4: " + p.stderr[-300:])
        self.cf = d + "/sendmail.cf"
        self.bin = BINARIES["sendmail"]
        p = subprocess.Popen(UTS + [self.bin, "-C", self.cf, "-bD", "-q2s",
                              "-OPidFile=" + d + "/sendmail.pid"],
                             stdout=open(d + "/sendmail.out", "w"),
                             stderr=subprocess.STDOUT)
        self.procs.append(p)
        wait_port(self.port, 20, p)

    def flush(self):
        subprocess.run(UTS + [self.bin, "-C", self.cf, "-q"],
                       capture_output=True,
                       timeout=60)


# Courier's paths are compiled in: /etc/courier (configuration),
# /usr/lib/courier (its programs and modules), /var/lib/courier (the
# queue), /run/courier. In a mount namespace of its own, /usr is the
# machine's with the unpacked tree laid over it (read-only overlays), and
# the run directory's etc/ and spool/ are bound on /etc/courier and
# /var/lib/courier, which read-only overlays of /etc and /var/lib with an
# empty courier/ in them give a place to. Nothing outside the namespace
# changes. courierd and the SMTP listener (couriertcpd) run in the
# background; the shell that started them then waits as `sleep`, and stop()
# ends every process of its session.
COURIER_SETUP = r"""set -e
C=$0 R=$1
mount -t overlay lab -o "lowerdir=$C/usr:/usr" /usr
mount -t overlay lab -o "lowerdir=$R/stub/etc:/etc" /etc
mount --bind "$R/etc" /etc/courier
mount -t overlay lab -o "lowerdir=$R/stub/varlib:/var/lib" /var/lib
mount --bind "$R/spool" /var/lib/courier
mount -t tmpfs lab /run
mkdir -m 775 /run/courier
chgrp courier /run/courier
/usr/lib/courier/makedat -src=/etc/courier/smtpaccess \
    -file=/etc/courier/smtpaccess.dat -tmp=/etc/courier/smtpaccess.tmp
(cd /usr && set -a && . /etc/courier/courierd &&
    exec /usr/lib/courier/courier/courierd) </dev/null &
/usr/sbin/esmtpd start
exec sleep infinity
"""


class Courier(MTA):
    name = "courier"
    # own.py: no route to the provider (DNS decides), its own queue time.
    relay = True
    queuetime = "60s"
    # esmtproutes lines of own.py's, when it does not relay everything.
    routes = ""

    def start(self):
        d, tree = self.run, CACHE + "/courier"
        for sub in ("stub/etc/courier", "stub/varlib/courier"):
            os.makedirs(f"{d}/{sub}")
        shutil.copytree(tree + "/etc/courier", d + "/etc", symlinks=True)
        shutil.copytree(tree + "/var/lib/courier", d + "/spool",
                        symlinks=True)
        etc = d + "/etc"
        files = {
            "me": "courier.lab.example.net",
            "defaultdomain": "lab.example.net",
            # Everything, bounces included, to the provider.
            "esmtproutes": f":[127.0.0.1],{self.pport}",
            # Retry a temporary failure every few seconds and give up
            # after a minute; no delay warnings.
            "queuetime": self.queuetime,
            "warntime": "1w",
            "retryalpha": "5s",
            "retrybeta": "1",
            "retrygamma": "5s",
            "retrymaxdelta": "1",
        }
        if not self.relay:
            files["esmtproutes"] = self.routes.rstrip("\n")
        if not files["esmtproutes"]:
            del files["esmtproutes"]
        for name, text in files.items():
            with open(f"{etc}/{name}", "w") as f:
                f.write(text + "\n")
        shutil.rmtree(etc + "/smtpaccess")
        with open(etc + "/smtpaccess", "w") as f:
            f.write("127.0.0.1\tallow,RELAYCLIENT\n")
        with open(etc + "/esmtpd", "a") as f:
            f.write(f"""
# bounce lab
BOFHCHECKDNS=0
TARPIT=0
PORT={self.port}
ADDRESS=127.0.0.1
PIDFILE=/run/courier/esmtpd.pid
TCPDOPTS="-noidentlookup -nodnslookup"
""")
        with open(etc + "/courierd", "a") as f:
            # Debian's courierd blocks DSNs to remote hosts (backscatter)
            # and tries STARTTLS, which the provider does not offer.
            f.write("""
# bounce lab
ESMTP_BLOCKBACKSCATTER=
ESMTP_USE_STARTTLS=0
""")
        gid = grp.getgrnam("courier").gr_gid
        for root, dirs, names in os.walk(etc):
            for n in dirs + names:
                os.lchown(os.path.join(root, n), 0, gid)
        os.chown(etc, 0, gid)
        for root, dirs, names in os.walk(d + "/spool"):
            for n in dirs + names:
                shutil.chown(os.path.join(root, n), "courier", "courier")
        shutil.chown(d + "/spool", "courier", "courier")
        os.chmod(d + "/spool", 0o750)
        os.chmod(d + "/spool/tmp", 0o770)
        p = subprocess.Popen(["unshare", "--mount", "--propagation",
                              "private", "sh", "-c", COURIER_SETUP, tree, d],
                             stdout=open(d + "/courier.out", "w"),
                             stderr=subprocess.STDOUT,
                             start_new_session=True)
        self.procs.append(p)
        self.pid = p.pid
        wait_port(self.port, 20, p)

    def flush(self):
        subprocess.run(["nsenter", "-t", str(self.pid), "-m",
                        "/usr/sbin/courier", "flush"],
                       capture_output=True, timeout=30)

    def session(self):
        """The processes of the lab's Courier: its session's."""
        pids = []
        for e in os.listdir("/proc"):
            if not e.isdigit():
                continue
            try:
                with open(f"/proc/{e}/stat") as f:
                    st = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(st[3]) == self.pid and st[0] != "Z":
                pids.append(int(e))
        return pids

    def stop(self):
        for sig in (15, 9):
            for pid in self.session():
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
            for _ in range(50):
                if not self.session():
                    break
                time.sleep(0.1)
        super().stop()


def make(name, run, provider_port):
    cls = {"postfix": Postfix, "exim": Exim, "sendmail": Sendmail,
           "opensmtpd": OpenSMTPD, "courier": Courier}[name]
    return cls(run, provider_port)


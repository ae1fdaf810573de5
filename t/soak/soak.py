#!/usr/bin/python3
"""soak.py -- bouncerd under traffic and faults for a long while

Starts a real Redis (append-only, fsync always, so its restarts lose
nothing) and a real bouncerd over it, then for --seconds drives, all at
once:
  - the maillog: hard bounces (550 5.1.1) and deferrals (452 4.2.2),
    each recipient once, each line its own queue file, with rotations
    (sometimes two in a row, faster than the follower polls);
  - policy requests on several persistent connections;
  - bounce e-mails through the milter: DSNs of failures the log had,
    which must change nothing (duplicates);
and injects, in turn: a Redis restart, SIGHUP, kill -9 and restart of
bouncerd, a double log rotation.

At the end it waits for the daemon to catch up and checks that every
bounce logged is in the store exactly once: every hard-bounced address
suppressed, every deferred one deferred with one soft failure, nothing
else; and that bouncerd's RSS stayed flat (the last process's RSS over
its final minutes against its RSS after warm-up).

usage: soak.py [--seconds N] [--rate N]   (run by `make soak`)
"""
import argparse
import csv
import io
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

SRC = os.environ.get("BOUNCER_SRCDIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(
                         os.path.abspath(__file__)))))
BOUNCERD = os.environ.get("BOUNCERD", os.path.join(SRC, "bouncerd"))
CTL = os.environ.get("BOUNCERCTL", os.path.join(SRC, "bouncerctl"))
RULES = os.environ.get("BOUNCER_RULES", os.path.join(SRC, "rules"))
MILTERTEST = os.path.join(SRC, "t", "lib", "miltertest.py")

GMAIL_550 = ("host gmail-smtp-in.l.google.com[142.250.4.27] said: 550-5.1.1 "
             "The email account that you tried to reach does not exist. "
             "Please try 550-5.1.1 double-checking the recipient's email "
             "address for typos or 550 5.1.1 "
             "https://support.google.com/mail/?p=NoSuchUser a1si3921pgb.41 "
             "- gsmtp (in reply to RCPT TO command)")
GMAIL_452 = ("host gmail-smtp-in.l.google.com[142.250.4.27] said: 452-4.2.2 "
             "The email account that you tried to reach is over quota. "
             "Please direct 452-4.2.2 the recipient to 452 4.2.2 "
             "https://support.google.com/mail/?p=OverQuotaTemp "
             "x74si3925543pgx.490 - gsmtp (in reply to RCPT TO command)")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def stamp(t):
    lt = time.gmtime(t)
    return time.strftime("%b ", lt) + "%2d" % lt.tm_mday + \
        time.strftime(" %H:%M:%S", lt)


class Soak:
    def __init__(self, a):
        self.a = a
        self.t = tempfile.mkdtemp(prefix="bouncer-soak.")
        self.log = os.path.join(self.t, "maillog")
        self.mport = free_port()
        self.redis = None
        self.bd = None
        self.lock = threading.Lock()        # the maillog and its rotation
        self.stop = threading.Event()
        self.hard, self.soft = [], []
        self.seq = 0
        self.policy_ok = self.policy_fail = 0
        self.policy_lat = []
        self.milter_sent = 0
        self.rss = []                        # (pid, time, kB)
        self.faults = []
        self.errors = []
        self.store = "redis+unix:%s/redis.sock?db=5" % self.t
        open(self.log, "w").close()

    # --- processes ----------------------------------------------------
    def redis_start(self):
        self.redis = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket",
             os.path.join(self.t, "redis.sock"), "--dir", self.t,
             "--appendonly", "yes", "--appendfsync", "always",
             "--save", ""], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(os.path.join(self.t, "redis.sock")):
                return
            time.sleep(0.1)
        raise SystemExit("soak: redis-server did not start")

    def redis_stop(self):
        self.redis.terminate()
        self.redis.wait()
        try:
            os.unlink(os.path.join(self.t, "redis.sock"))
        except FileNotFoundError:
            pass

    def bouncerd_start(self):
        self.bd = subprocess.Popen(
            [BOUNCERD, "-f", "-c", "/dev/null", "-o", "user=",
             "-o", "store=" + self.store, "-o", "rules_dir=" + RULES,
             "-o", "state_dir=" + self.t, "-o", "socket_group=" +
             subprocess.check_output(["id", "-gn"]).decode().strip(),
             "-o", "policy_listen=unix:%s/policy.sock" % self.t,
             "-o", "milter_listen=unix:%s/milter.sock" % self.t,
             "-o", "metrics_listen=127.0.0.1:%d" % self.mport,
             "-o", "maillog_file=" + self.log,
             "-o", "maillog_poll_ms=500"],
            stderr=open(os.path.join(self.t, "bouncerd.log"), "a"))
        for _ in range(100):
            if self.metrics() is not None:
                return
            time.sleep(0.1)
        raise SystemExit("soak: bouncerd did not start")

    def metrics(self):
        try:
            body = urllib.request.urlopen(
                "http://127.0.0.1:%d/metrics" % self.mport,
                timeout=5).read().decode()
        except OSError:
            return None
        m = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                m[k] = v
        return m

    # --- traffic ------------------------------------------------------
    def log_writer(self):
        step = 0.05
        per = max(1, int(self.a.rate * step))
        while not self.stop.is_set():
            lines = []
            with self.lock:
                for _ in range(per):
                    self.seq += 1
                    n = self.seq
                    qid = "%X" % (0x5A000000 + n)
                    pfx = "%s mta postfix/smtp[%d]: %s:" % (
                        stamp(time.time()), 2000 + n % 97, qid)
                    if n % 4 == 0:
                        r = "soft%d@gmail.com" % n
                        self.soft.append(r)
                        lines.append(
                            "%s to=<%s>, relay=gmail-smtp-in.l.google.com"
                            "[142.250.4.27]:25, delay=1.2, delays=0.1/0/0.5"
                            "/0.6, dsn=4.2.2, status=deferred (%s)" %
                            (pfx, r, GMAIL_452))
                    else:
                        r = "hard%d@gmail.com" % n
                        self.hard.append((r, qid))
                        lines.append(
                            "%s to=<%s>, relay=gmail-smtp-in.l.google.com"
                            "[142.250.4.27]:25, delay=1.2, delays=0.1/0/0.5"
                            "/0.6, dsn=5.1.1, status=bounced (%s)" %
                            (pfx, r, GMAIL_550))
                    if n % 10 == 0:
                        lines.append("%s mta postfix/qmgr[99]: %s: removed"
                                     % (stamp(time.time()), qid))
                with open(self.log, "a") as f:
                    f.write("\n".join(lines) + "\n")
            time.sleep(step)

    def rotate(self, times=1):
        with self.lock:
            for _ in range(times):
                for i in range(8, 0, -1):
                    src = "%s.%d" % (self.log, i)
                    if os.path.exists(src):
                        os.rename(src, "%s.%d" % (self.log, i + 1))
                os.rename(self.log, self.log + ".1")
                open(self.log, "w").close()
                if times > 1:
                    # A few lines in the file in between.
                    with open(self.log, "a") as f:
                        for _ in range(20):
                            self.seq += 1
                            r = "hard%d@gmail.com" % self.seq
                            qid = "%X" % (0x5A000000 + self.seq)
                            self.hard.append((r, qid))
                            f.write(
                                "%s mta postfix/smtp[7]: %s: to=<%s>, "
                                "relay=gmail-smtp-in.l.google.com[142.250.4."
                                "27]:25, delay=1, delays=0/0/0/1, dsn=5.1.1,"
                                " status=bounced (%s)\n" %
                                (stamp(time.time()), qid, r, GMAIL_550))

    def policy_client(self, k):
        sock = None
        while not self.stop.is_set():
            try:
                if sock is None:
                    sock = socket.socket(socket.AF_UNIX)
                    sock.settimeout(10)
                    sock.connect(os.path.join(self.t, "policy.sock"))
                    f = sock.makefile("rwb")
                with self.lock:
                    pool = self.hard[-1000:] if self.hard else [("x@y.z", "")]
                r = random.choice(pool)[0] if random.random() < 0.5 else \
                    "nobody%d@example.org" % random.randrange(1 << 30)
                t0 = time.monotonic()
                f.write(("request=smtpd_access_policy\nprotocol_state=RCPT\n"
                         "protocol_name=ESMTP\nsender=news@example.net\n"
                         "recipient=%s\nclient_address=127.0.0.1\n\n" % r
                         ).encode())
                f.flush()
                line = f.readline()
                blank = f.readline()
                if not line.startswith(b"action=") or blank != b"\n":
                    raise OSError("policy connection closed")
                self.policy_lat.append(time.monotonic() - t0)
                self.policy_ok += 1
                time.sleep(0.002)
            except OSError:
                self.policy_fail += 1
                if sock is not None:
                    sock.close()
                sock = None
                time.sleep(0.2)

    def milter_client(self):
        path = os.path.join(self.t, "dsn.eml")
        while not self.stop.is_set():
            time.sleep(0.5)
            with self.lock:
                if len(self.hard) < 10:
                    continue
                r, qid = random.choice(self.hard[:-5])
            with open(path, "w") as f:
                f.write(
                    "From: MAILER-DAEMON@mta.example.net (Mail Delivery "
                    "System)\nTo: news@example.net\nSubject: Undelivered "
                    "Mail Returned to Sender\nMIME-Version: 1.0\n"
                    "Content-Type: multipart/report; report-type=delivery-"
                    "status; boundary=\"B\"\n\n--B\nContent-Type: text/plain"
                    "\n\nI'm sorry to have to inform you...\n\n--B\n"
                    "Content-Type: message/delivery-status\n\n"
                    "Reporting-MTA: dns; mta.example.net\n"
                    "X-Postfix-Queue-ID: %s\n\nFinal-Recipient: rfc822; %s\n"
                    "Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; "
                    "550 5.1.1 user unknown\n\n--B--\n" % (qid, r))
            try:
                subprocess.run([sys.executable, MILTERTEST,
                                "unix:%s/milter.sock" % self.t, "--internal",
                                "--rcpt", "news@example.net", "--queue-id",
                                qid, "--message", path], timeout=30,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
                self.milter_sent += 1
            except subprocess.TimeoutExpired:
                self.errors.append("milter conversation timed out")

    def rss_monitor(self):
        while not self.stop.is_set():
            bd = self.bd
            try:
                with open("/proc/%d/status" % bd.pid) as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            self.rss.append((bd.pid, time.monotonic(),
                                             int(line.split()[1])))
            except (OSError, ValueError):
                pass
            time.sleep(5)

    # --- faults ---------------------------------------------------------
    def fault(self, i):
        kind = ["redis", "hup", "kill", "rotate2", "rotate"][i % 5]
        self.faults.append((round(time.monotonic() - self.t0), kind))
        if kind == "redis":
            self.redis_stop()
            time.sleep(3)
            self.redis_start()
        elif kind == "hup":
            self.bd.send_signal(signal.SIGHUP)
        elif kind == "kill":
            self.bd.kill()
            self.bd.wait()
            time.sleep(1)
            self.bouncerd_start()
        elif kind == "rotate2":
            self.rotate(times=2)
        else:
            self.rotate()

    # --- the run ----------------------------------------------------------
    def run(self):
        self.redis_start()
        self.bouncerd_start()
        self.t0 = time.monotonic()
        threads = [threading.Thread(target=self.log_writer),
                   threading.Thread(target=self.milter_client),
                   threading.Thread(target=self.rss_monitor)]
        threads += [threading.Thread(target=self.policy_client, args=(k,))
                    for k in range(4)]
        for th in threads:
            th.start()
        i = 0
        end = self.t0 + self.a.seconds
        # Faults over the first 80% only: the last minutes show RSS flat.
        while time.monotonic() < end:
            time.sleep(min(self.a.fault_every, max(0, end -
                                                   time.monotonic())))
            if time.monotonic() < self.t0 + self.a.seconds * 0.8:
                self.fault(i)
                i += 1
        self.stop.set()
        for th in threads:
            th.join()
        return self.check()

    def caught_up(self):
        m = self.metrics() or {}
        return m.get("bouncer_log_lag_bytes") == "0" and \
            m.get("bouncer_log_held_lines", "0") == "0"

    def check(self):
        fails = list(self.errors)
        for _ in range(600):
            if self.caught_up():
                break
            time.sleep(0.5)
        else:
            fails.append("bouncerd did not catch up with the log")
        time.sleep(2)
        out = subprocess.run([CTL, "-c", "/dev/null", "-s", self.store,
                              "export"], capture_output=True, text=True)
        if out.returncode != 0:
            fails.append("bouncerctl export: " + out.stderr)
        rows = {r["rcpt"]: r for r in csv.DictReader(io.StringIO(out.stdout))}
        missing = [r for r, _ in self.hard
                   if rows.get(r, {}).get("state") != "suppressed"]
        soft_bad = [r for r in self.soft
                    if rows.get(r, {}).get("state") != "deferred" or
                    rows[r].get("soft_count") != "1"]
        extra = set(rows) - {r for r, _ in self.hard} - set(self.soft)
        if missing:
            fails.append("%d of %d hard bounces not suppressed, e.g. %s" %
                         (len(missing), len(self.hard), missing[:3]))
        if soft_bad:
            fails.append("%d of %d deferrals not deferred once, e.g. %s" %
                         (len(soft_bad), len(self.soft),
                          [(r, rows.get(r, {}).get("state"),
                            rows.get(r, {}).get("soft_count"))
                           for r in soft_bad[:3]]))
        if extra:
            fails.append("%d addresses in the store nobody bounced, e.g. %s"
                         % (len(extra), sorted(extra)[:3]))
        # RSS of the last process: after warm-up against its end.
        last = self.bd.pid
        pts = [(t, kb) for p, t, kb in self.rss if p == last]
        rss_note = "too short a life to judge"
        if len(pts) >= 12:
            t_first = pts[0][0]
            warm = [kb for t, kb in pts if t - t_first >= 30][:3]
            tail = [kb for t, kb in pts[-3:]]
            if warm:
                grow = max(tail) - max(warm)
                rss_note = "%d kB after warm-up, %d kB at the end" % (
                    max(warm), max(tail))
                if grow > max(20 * 1024, max(warm) // 5):
                    fails.append("RSS grew: " + rss_note)
        lat = sorted(self.policy_lat)
        p99 = lat[int(len(lat) * 0.99)] * 1000 if lat else -1
        print("soak: %ds, %d hard + %d deferred logged, %d policy answers "
              "(p99 %.1f ms, %d failed while restarting), %d milter "
              "DSNs, faults: %s; RSS: %s" %
              (self.a.seconds, len(self.hard), len(self.soft),
               self.policy_ok, p99, self.policy_fail, self.milter_sent,
               " ".join("%s@%ds" % (k, t) for t, k in self.faults),
               rss_note))
        self.bd.terminate()
        self.bd.wait()
        self.redis_stop()
        for f in fails:
            print("FAIL:", f)
        if fails:
            print("soak: kept %s (bouncerd.log)" % self.t)
            return 1
        shutil.rmtree(self.t)
        print("soak: passed")
        return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--rate", type=int, default=100,
                    help="log lines a second")
    ap.add_argument("--fault-every", type=int, default=20)
    a = ap.parse_args()
    stores = subprocess.run([CTL, "--version"], capture_output=True,
                            text=True).stdout
    if " redis" not in stores:
        print("soak: SKIP: built without Redis support; the soak runs "
              "over Redis")
        return 0
    s = Soak(a)
    try:
        return s.run()
    finally:
        for p in (s.bd, s.redis):
            if p is not None and p.poll() is None:
                p.kill()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""lab.py -- real MTAs bounce scripted replies; their bounces must agree with the replies

usage: lab.py --out DIR [--mta NAME ...] [--limit N] [--keep]

For each MTA (postfix, exim, sendmail, opensmtpd, courier) a private
instance runs on 127.0.0.1 (t/bouncelab/mtas.py) and relays every message
to a scripted provider in this process, which answers each recipient with
a reply from ../shared/cases/seed-replies.tsv or a test vector of
rules/*.rules, at RCPT TO or at the end of DATA, for one recipient or
several per transaction.
The MTA's bounce goes back to the envelope sender, which the provider also
is (a sink for bounce.example.net), and is kept as DIR/MTA/TXID.eml.

Then `bouncerctl classify-mail` reads every bounce, and each recipient's
reason and decision must equal what `bouncerctl classify` gives for that
recipient and the reply it got, at the stage it got it (the reply as
Postfix logs it, "... (in reply to RCPT TO command)" or "(in reply to end
of DATA command)"). A reply at the end of DATA answers for every
recipient of the transaction, so each of them is compared with that one
reply classified for itself. Every recipient of a transaction must be in
its bounce, and nobody else.

OpenSMTPD's log lines (its -d output, each line the text of a syslog
message) go through `bouncerctl classify --maillog` too: each
recipient's last failure must give what its bounce gives when it is
permanent, and what the reply means at either stage (the log names none)
when it is temporary, where the bounce says only that it expired.

Prints one line per MTA: "bouncelab: MTA: N bounces, R recipients, A agree"
(or "SKIP: why"), then each disagreement. Exit status: 0 all agree (or
skipped), 1 a disagreement or a missing bounce, 2 a lab failure.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mtas  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import SMTP  # noqa: E402

BOUNCE_DOMAIN = "bounce.example.net"
STAGE_TEXT = {"rcpt": "RCPT TO", "data": "end of DATA"}
OTHER_STAGE = {"rcpt": "data", "data": "rcpt"}
# MTAs whose bounces do not say at which stage the server replied.
STAGELESS = {"opensmtpd"}
# MTAs whose Status for a refusal after DATA is their own, whatever the
# reply said: Sendmail writes 5.2.0 for any 5xx there. By the order of
# ../shared/cases/REASONS.md an enhanced status code settles what the
# words do not, and X.2.0 is "filtered" (Sisimai reads such bounces so:
# the corpus's rhost-nttdocomo-01), where the reply alone may be onhold
# or a provider's reason. The decision must still agree.
DATA_STATUS_OWN = {"sendmail"}


# --- the cases -----------------------------------------------------------

def split_reply(reply):
    """A reply joined as Postfix logs it ("550-5.1.1 a 550-5.1.1 b 550 5.1.1
    c") -> its SMTP lines; a one-line reply -> [reply]."""
    m = re.match(r"([2-5][0-9][0-9])-", reply)
    if not m:
        return [reply]
    code = m.group(1)
    cuts = [0] + [x.start() + 1 for x in
                  re.finditer(r" (?=%s-)" % code, reply)]
    last = None
    for x in re.finditer(r" (?=%s( |$))" % code, reply):
        if x.start() > cuts[-1]:
            last = x.start() + 1
    if last is None:
        return None
    cuts.append(last)
    lines = [reply[a:b].strip() for a, b in zip(cuts, cuts[1:] + [len(reply)])]
    if not all(re.match(r"%s-" % code, l) for l in lines[:-1]):
        return None
    return lines


def usable(reply):
    if not re.match(r"[45][0-9][0-9]([ -]|$)", reply):
        return False
    if any(ord(c) < 32 or ord(c) > 126 for c in reply):
        return False
    lines = split_reply(reply)
    return lines is not None and all(len(l) <= 500 for l in lines)


def seed_cases(shared):
    path = os.path.join(shared, "cases", "seed-replies.tsv")
    out = []
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            col = line.rstrip("\n").split("\t")
            if len(col) >= 4:
                out.append((col[0], col[2], col[3]))
    return out


VECTOR = re.compile(r"^\s*test\s+(.*) => \S+ \S+.*$")
WRAPPED = [
    # Postfix: host H said: REPLY (in reply to X command)
    re.compile(r"said: (.*?) \(in reply to .* command\)$"),
    # Exim: SMTP error from remote mail server after RCPT TO:<a>: REPLY
    re.compile(r"SMTP error from remote mail server after [^:]*(?::<[^>]*>)?: (.*)$"),
]


def vector_cases(rules):
    out = []
    for name in sorted(os.listdir(rules)):
        if not name.endswith(".rules"):
            continue
        domain, rule, n = "example.org", "-", 0
        with open(os.path.join(rules, name), encoding="utf-8") as f:
            for line in f:
                m = re.match(r"domain\s+(\S+)", line)
                if m and domain == "example.org" and "*" not in m.group(1):
                    domain = m.group(1)
                m = re.match(r"rule\s+(\S+)", line)
                if m:
                    rule, n = m.group(1), 0
                m = VECTOR.match(line)
                if not m:
                    continue
                n += 1
                text, rcpt = m.group(1), "test@" + domain
                r = re.match(r"<([^>]*)>\s*(.*)$", text)
                if r:
                    rcpt, text = r.group(1), r.group(2)
                for w in WRAPPED:
                    x = w.search(text)
                    if x:
                        text = x.group(1)
                        break
                out.append((f"{name[:-6]}:{rule}.{n}", rcpt, text.strip()))
    return out


def load_cases(shared, rules, limit):
    """[(id, rcpt, reply)], unique by reply, usable as SMTP replies: all
    the seed replies, and the rules' vectors spread evenly to make at
    most limit in all (0: all of them)."""
    seen = set()

    def keep(rows):
        out = []
        for cid, rcpt, reply in rows:
            reply = re.sub(r"\s+", " ", reply)
            if (reply in seen or not usable(reply) or "@" not in rcpt or
                    re.search(r"\s", rcpt)):
                continue
            seen.add(reply)
            out.append((cid, rcpt, reply))
        return out

    seeds = keep(seed_cases(shared))
    vectors = keep(vector_cases(rules))
    if limit:
        room = max(limit - len(seeds), 0)
        if room < len(vectors):
            vectors = [vectors[i * len(vectors) // room]
                       for i in range(room)] if room else []
        seeds = seeds[:limit]
    return seeds + vectors


class Tx:
    """One message: its recipients, and the reply each gets at the stage."""

    def __init__(self, txid, stage, rcpts):
        self.txid, self.stage = txid, stage
        self.rcpts = rcpts          # [(rcpt, reply, case id)]

    def sender(self, mta):
        return f"lab-{mta}-{self.txid}@{BOUNCE_DOMAIN}"


def plan(cases):
    """Every case at RCPT and at DATA, every other one alone. At RCPT the
    rest go in groups of up to four recipients, each with its own reply
    (a 421 closes the session, so it is always alone); at DATA each of the
    rest is the answer to a message for its recipient and two others,
    which all get that one reply."""
    txs = []

    def add(stage, items):
        txs.append(Tx(f"{len(txs) + 1:04d}", stage, items))

    alone = [c for i, c in enumerate(cases) if i % 2 == 0 or
             c[2].startswith("421")]
    items = [c for c in cases if c not in alone]
    for cid, r, reply in alone:
        add("rcpt", [(r, reply, cid)])
    while items:
        batch, rest, addrs = [], [], set()
        for it in items:
            if len(batch) < 4 and it[1].lower() not in addrs:
                batch.append(it)
                addrs.add(it[1].lower())
            else:
                rest.append(it)
        add("rcpt", [(r, reply, cid) for cid, r, reply in batch])
        items = rest
    for i, (cid, r, reply) in enumerate(cases):
        if i % 2 == 0:
            add("data", [(r, reply, cid)])
            continue
        group, addrs = [(r, reply, cid)], {r.lower()}
        for k in range(1, len(cases)):
            other = cases[(i + k) % len(cases)][1]
            if other.lower() not in addrs:
                group.append((other, reply, cid))
                addrs.add(other.lower())
            if len(group) == 3:
                break
        add("data", group)
    return txs


# --- the provider --------------------------------------------------------

class Provider:
    """aiosmtpd handler: answers from the transactions' scripts, keeps
    whatever comes for bounce.example.net as a bounce."""

    def __init__(self, out):
        self.out = out
        self.script = {}        # sender -> Tx
        self.bounces = {}       # mta -> count
        self.answered = set()   # (sender, rcpt) given its scripted reply
        self.lock = threading.Lock()

    def add(self, mta, tx):
        self.script[tx.sender(mta).lower()] = tx

    async def handle_RCPT(self, server, session, envelope, address, options):
        tx = self.script.get(envelope.mail_from.lower())
        if address.lower().endswith("@" + BOUNCE_DOMAIN):
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 Ok"
        if tx is not None and tx.stage == "rcpt":
            for rcpt, reply, _ in tx.rcpts:
                if rcpt.lower() == address.lower():
                    self.answered.add((envelope.mail_from.lower(),
                                       rcpt.lower()))
                    return "\r\n".join(split_reply(reply))
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        tx = self.script.get(envelope.mail_from.lower())
        if tx is not None and tx.stage == "data":
            for rcpt in envelope.rcpt_tos:
                self.answered.add((envelope.mail_from.lower(), rcpt.lower()))
            return "\r\n".join(split_reply(tx.rcpts[0][1]))
        for rcpt in envelope.rcpt_tos:
            m = re.match(r"lab-([a-z]+)-([0-9]+)@", rcpt.lower())
            if not m:
                continue
            d = os.path.join(self.out, m.group(1))
            os.makedirs(d, exist_ok=True)
            with self.lock:
                k = 0
                while True:
                    path = os.path.join(d, f"{m.group(2)}"
                                        f"{'.%d' % k if k else ''}.eml")
                    if not os.path.exists(path):
                        break
                    k += 1
                with open(path, "wb") as f:
                    f.write(envelope.original_content)
                self.bounces[m.group(1)] = self.bounces.get(m.group(1), 0) + 1
        return "250 2.0.0 Ok: queued"


class LabSMTP(SMTP):
    async def push(self, status):
        await super().push(status)
        if str(status).startswith("421") and self.transport is not None:
            self.transport.close()


class LabController(Controller):
    def factory(self):
        return LabSMTP(self.handler, hostname="mx.provider.test",
                       ident="provider ESMTP")


# --- classification --------------------------------------------------------

def classify(bouncerctl, rules, items):
    """items: [(rcpt, reply, stage, nrcpt)] -> [(reason, decision)], each
    reply classified at its stage for a transaction of nrcpt recipients
    (what the bounce tells classify-mail)."""
    out = [None] * len(items)
    for n in sorted({it[3] for it in items}):
        idx = [i for i, it in enumerate(items) if it[3] == n]
        text = "".join(f"{items[i][0]}\t{items[i][1]} (in reply to "
                       f"{STAGE_TEXT[items[i][2]]} command)\n" for i in idx)
        p = subprocess.run([bouncerctl, "classify", "-r", rules,
                            "--recipients", str(n)], input=text,
                           capture_output=True, text=True, check=True)
        lines = p.stdout.splitlines()
        if len(lines) != len(idx):
            raise RuntimeError("classify: %d lines for %d" %
                               (len(lines), len(idx)))
        for i, line in zip(idx, lines):
            col = line.split("\t")
            out[i] = (col[1], col[2])
    return out


def classify_mail(bouncerctl, rules, files):
    """-> {file: [(rcpt, reason, decision)]}"""
    res = {f: [] for f in files}
    for i in range(0, len(files), 200):
        chunk = files[i:i + 200]
        p = subprocess.run([bouncerctl, "classify-mail", "-H", "-r", rules]
                           + chunk, capture_output=True, text=True)
        if p.returncode not in (0, 1):
            raise RuntimeError("classify-mail: exit %d: %s" %
                               (p.returncode, p.stderr.strip()))
        for line in p.stdout.splitlines():
            col = line.split("\t")
            res.setdefault(col[0], []).append((col[1], col[3], col[6]))
    return res


def norm(addr):
    return addr.strip("<>").lower()


def load_known(path):
    """known.tsv: "mta TAB stage TAB case TAB why" -> {(mta, stage, case):
    why}; disagreements listed there are reported, not failed."""
    known = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                mta, stage, case, why = line.rstrip("\n").split("\t", 3)
                known[(mta, stage, case)] = why
    return known


KNOWN = load_known(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "known.tsv"))


def check(bouncerctl, rules, mta, txs, out, answered):
    """Compares every bounce of mta with its replies; returns (bounces,
    recipients, agreeing, [problem lines])."""
    d = os.path.join(out, mta)
    files = sorted(os.path.join(d, f) for f in os.listdir(d)) \
        if os.path.isdir(d) else []
    by_tx = {}
    for f in files:
        by_tx.setdefault(os.path.basename(f).split(".")[0], []).append(f)
    got = classify_mail(bouncerctl, rules, files)
    items = [(r, reply, tx.stage, len(tx.rcpts)) for tx in txs
             for r, reply, _ in tx.rcpts]
    want = iter(classify(bouncerctl, rules, items))
    # For an MTA whose bounces carry no stage: the verdicts at the other.
    others = iter(classify(bouncerctl, rules, [
        (r, reply, OTHER_STAGE[st], n) for r, reply, st, n in items])
        if mta in STAGELESS else [])
    nrcpt = agree = expired = 0
    problems, known = [], []
    strict = []                 # (tx, files) that agree in every way
    for tx in txs:
        seen = {}
        before = (agree, expired, len(known), len(problems))
        for f in by_tx.get(tx.txid, []):
            for r, reason, decision in got.get(f, []):
                seen.setdefault(norm(r), []).append((reason, decision, f))
        names = {norm(r) for r, _, _ in tx.rcpts}
        for r in seen:
            if r not in names:
                problems.append(f"{mta} tx {tx.txid}: bounce names "
                                f"<{r}>, not a recipient ({seen[r][0][2]})")
        for r, reply, cid in tx.rcpts:
            reason, decision = next(want)
            other = next(others, None)
            nrcpt += 1
            lines = seen.get(norm(r))
            where = f"{mta} tx {tx.txid} {tx.stage} {cid} <{r}>"
            if not lines:
                problems.append(f"{where}: no bounce line"
                                f" ({len(by_tx.get(tx.txid, []))} bounce"
                                " files)")
                continue
            verdicts = {(x[0], x[1]) for x in lines}
            if verdicts == {(reason, decision)}:
                agree += 1
            elif reply[0] == "4" and verdicts <= {(reason, decision),
                                                  ("expired", "retry")}:
                # A temporary reply bounces only because the MTA gave up
                # on it ("retry timeout exceeded", "Envelope expired"):
                # ../shared/cases/REASONS.md calls that expired, retry.
                agree += 1
                expired += 1
            elif (verdicts == {("expired", "retry")} and
                  (tx.sender(mta).lower(), norm(r)) not in answered):
                # The MTA gave up before it ever put this recipient to
                # the provider: the bounce is about its queue, not about
                # the reply, and there is nothing to compare.
                known.append(f"{where}: never tried before the queue "
                             f"lifetime ran out ({lines[0][2]})")
            elif (mta in STAGELESS and
                  verdicts <= {(reason, decision), other}):
                # The MTA's bounce does not say at which stage the reply
                # came, and the reply means something else at the other
                # one (REASONS.md rule 2): the bounce can only agree
                # with one of them.
                known.append(f"{where}: reply {reason} {decision}, bounce "
                             f"{lines[0][0]} {lines[0][1]}, the reply's "
                             f"verdict at the other stage ({lines[0][2]})")
            elif (mta in STAGELESS and lines[0][:2] == ("filtered", "none")
                  and reason in ("userunknown", "filtered")):
                # Nor can it say whether the recipient was alone: a "no
                # such user" at no known stage reads filtered and does
                # not suppress (REASONS.md rule 2).
                known.append(f"{where}: reply {reason} {decision}, bounce "
                             "filtered none, the verdict at no known stage "
                             f"({lines[0][2]})")
            elif (mta in DATA_STATUS_OWN and tx.stage == "data" and
                  verdicts == {("filtered", decision)}):
                known.append(f"{where}: reply {reason} {decision}, bounce "
                             f"filtered {decision}: the MTA's own X.2.0 "
                             f"status after DATA ({lines[0][2]})")
            elif (mta, tx.stage, cid) in KNOWN:
                known.append(f"{where}: reply {reason} {decision}, bounce "
                             f"{lines[0][0]} {lines[0][1]}: "
                             f"{KNOWN[(mta, tx.stage, cid)]}")
            else:
                problems.append(f"{where}: reply {reason} {decision}, bounce "
                                f"{lines[0][0]} {lines[0][1]} ({lines[0][2]})"
                                f"\n    reply: {reply[:200]}")
        if (agree - before[0] == len(tx.rcpts) and expired == before[1] and
                (len(known), len(problems)) == before[2:] and
                len(by_tx.get(tx.txid, [])) == 1):
            strict.append((tx, by_tx[tx.txid][0]))
    return len(files), nrcpt, agree, expired, known, problems, strict


def smtpd_log(run):
    """OpenSMTPD's delivery lines from its -d output (run/smtpd.out: the
    text of its syslog messages, one a line), each made a syslog line
    again; -> [(sender, rcpt, result, line)] of the failures."""
    rows = []
    path = os.path.join(run, "smtpd.out")
    if not os.path.exists(path):
        return rows
    with open(path, encoding="latin-1") as f:
        for text in f:
            m = re.match(r"[0-9a-f]{16} m[dt]a delivery evpid=[0-9a-f]{16} "
                         r"from=<([^>]*)> to=<([^>]*)> .*? result=\"?(\w+)",
                         text)
            if m and m.group(3) != "Ok":
                rows.append((m.group(1).lower(), m.group(2).lower(),
                             m.group(3), "Dec  7 00:00:00 lab smtpd[1]: " +
                             text.rstrip("\n") + "\n"))
    return rows


def check_log(bouncerctl, rules, mta, txs, out, run):
    """OpenSMTPD's log lines (the MTA bouncerctl reads the log of here):
    each recipient's last failure must say what its bounce says when it
    is permanent, and what the reply means (at either stage, the log has
    none) when it is temporary (the bounce then says only expired).
    Returns (recipients with a log line, agreeing, [problems])."""
    rows = smtpd_log(run)
    if not rows:
        return 0, 0, []
    p = subprocess.run([bouncerctl, "classify", "-r", rules, "--maillog",
                        "-"], input="".join(r[3] for r in rows),
                       capture_output=True, text=True)
    got = [tuple(x.split("\t")[1:3]) for x in p.stdout.splitlines()]
    if len(got) != len(rows):
        return 0, 0, [f"{mta} log: {len(got)} verdicts for {len(rows)} "
                      "failure lines"]
    last = {}
    for (sender, rcpt, result, line), v in zip(rows, got):
        last[(sender, rcpt)] = (result, v, line)
    d = os.path.join(out, mta)
    files = sorted(os.path.join(d, f) for f in os.listdir(d)) \
        if os.path.isdir(d) else []
    bounce = {}
    for f, vs in classify_mail(bouncerctl, rules, files).items():
        for r, reason, decision in vs:
            bounce.setdefault((os.path.basename(f).split(".")[0], norm(r)),
                              set()).add((reason, decision))
    items = [(r, reply, tx.stage, len(tx.rcpts)) for tx in txs
             for r, reply, _ in tx.rcpts]
    want = iter(classify(bouncerctl, rules, items))
    other = iter(classify(bouncerctl, rules, [
        (r, reply, OTHER_STAGE[st], n) for r, reply, st, n in items]))
    n = agree = 0
    problems = []
    for tx in txs:
        for r, reply, cid in tx.rcpts:
            ok = {next(want), next(other)}
            x = last.get((tx.sender(mta).lower(), norm(r)))
            if x is None:
                continue
            result, v, line = x
            if result == "TempFail" and not re.search(
                    r'stat="?[245][0-9][0-9][ -]', line):
                # OpenSMTPD's own deferral ("Too many consecutive
                # errors, closing connection" after the replies before
                # it): this recipient's reply was never given.
                continue
            n += 1
            if result == "TempFail":
                good = v in ok
            else:
                good = bounce.get((tx.txid, norm(r)), set()) == {v}
                ok = bounce.get((tx.txid, norm(r)), set())
            agree += good
            if not good:
                problems.append(f"{mta} log tx {tx.txid} {cid} <{r}>: "
                                f"{result} {v[0]} {v[1]}, want "
                                f"{sorted(ok)}\n    {line.strip()[:300]}")
    return n, agree, problems


def save_sample(sample, mta, strict):
    """Copies a few bounces that agree into sample/MTA/ and appends their
    rows to sample/index.tsv: one alone and one of several recipients at
    each stage, a multi-line reply first where there is one."""
    chosen = []
    for stage in ("rcpt", "data"):
        for several in (False, True):
            fit = [(tx, f) for tx, f in strict if tx.stage == stage and
                   (len(tx.rcpts) > 1) == several]
            fit.sort(key=lambda x: -max(len(split_reply(r[1]))
                                        for r in x[0].rcpts))
            chosen += fit[:1]
    os.makedirs(os.path.join(sample, mta), exist_ok=True)
    with open(os.path.join(sample, "index.tsv"), "a", encoding="utf-8") as out:
        for tx, f in chosen:
            name = f"{mta}/{tx.stage}-{len(tx.rcpts)}-{tx.txid}.eml"
            with open(f, "rb") as src, \
                    open(os.path.join(sample, name), "wb") as dst:
                dst.write(src.read())
            for r, reply, _ in tx.rcpts:
                out.write(f"{name}\t{r}\t{tx.stage}\t{reply}\n")


# --- main ----------------------------------------------------------------

def txs_for(name, txs):
    """The transactions the MTA name is given. OpenSMTPD and Sendmail
    take a connection the server closes (after a 421) as the host being
    down, for every message queued to it and for the bounces too; Courier
    keeps its connection to the provider open from one message to the
    next, and once a 421 has closed it, the next message's RSET fails and
    its bounce (for a reply that was temporary, when that was its last
    try) says "<<< <command failed>" instead of the reply: 421 replies are
    left out for them."""
    return [tx for tx in txs if not (
        name in mtas.NO_421 and
        any(r[1].startswith("421") for r in tx.rcpts))]


def run_mtas(args, names, txs):
    """Runs the MTAs against the scripted provider; returns ({mta: its
    transactions, or None if it did not run}, (sender, rcpt) pairs the
    provider answered, exit status so far)."""
    provider = Provider(os.path.join(args.out, "bounces"))
    pport = mtas.free_port()
    ctl = LabController(provider, hostname="127.0.0.1", port=pport)
    ctl.start()

    runs, status, mine = {}, 0, {}
    for name in names:
        mine[name] = txs_for(name, txs)
        for tx in mine[name]:
            provider.add(name, tx)
        why = mtas.missing(name)
        if why:
            runs[name] = None
            print(f"bouncelab: {name}: SKIP: {why}", flush=True)
            if os.environ.get("CI") == "true":
                print(f"bouncelab: {name}: FAIL: CI=true and it is missing")
                status = 1
            continue
        try:
            m = mtas.make(name, os.path.join(args.out, name + ".run"), pport)
            m.start()
            runs[name] = m
        except Exception as e:  # noqa: BLE001
            print(f"bouncelab: {name}: FAIL: cannot start: {e}", flush=True)
            runs[name] = None
            status = 2
            continue

    def feed(name, m):
        for tx in mine[name]:
            try:
                m.submit(tx.sender(name), [r for r, _, _ in tx.rcpts])
            except Exception as e:  # noqa: BLE001
                print(f"bouncelab: {name}: submit {tx.txid}: {e}", flush=True)

    started = time.time()
    threads = [threading.Thread(target=feed, args=(n, m))
               for n, m in runs.items() if m is not None]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Wait for one bounce per message from every MTA (or the timeout).
    deadline = started + args.timeout
    last_flush = 0
    while time.time() < deadline:
        waiting = [n for n, m in runs.items() if m is not None and
                   len(bounced(args.out, n)) < len(mine[n])]
        if not waiting:
            break
        if time.time() - last_flush > 5:
            for n in waiting:
                runs[n].flush()
            last_flush = time.time()
        time.sleep(0.5)
    for n, m in runs.items():
        if m is not None:
            m.stop()
    ctl.stop()
    return ({n: (mine[n] if m is not None else None)
             for n, m in runs.items()}, provider.answered, status)



def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--mta", action="append",
                    help="postfix, exim, sendmail, opensmtpd, courier "
                    "(default: all)")
    ap.add_argument("--limit", type=int, default=140,
                    help="at most N replies: the seeds, then the rules' "
                    "test vectors spread evenly (0: all; default 140)")
    ap.add_argument("--timeout", type=float, default=240,
                    help="seconds to wait for the bounces (default 240)")
    ap.add_argument("--save-sample", metavar="DIR",
                    help="copy a few agreeing bounces of each MTA to DIR "
                    "(t/data/bounces) and list them in DIR/index.tsv")
    ap.add_argument("--recheck", action="store_true",
                    help="run no MTA: check again the bounces an earlier "
                    "run left in --out (after a change to the classifier), "
                    "with that run's --limit")
    args = ap.parse_args()

    src = os.environ.get("BOUNCER_SRCDIR") or os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    rules = os.environ.get("BOUNCER_RULES") or os.path.join(src, "rules")
    shared = os.environ.get("BOUNCER_SHARED") or os.path.join(src, "..",
                                                              "shared")
    bouncerctl = os.environ.get("BOUNCERCTL") or os.path.join(src,
                                                              "bouncerctl")
    names = args.mta or ["postfix", "exim", "sendmail", "opensmtpd",
                         "courier"]

    # What a run leaves beside its bounces for --recheck: its --limit
    # and the (sender, rcpt) pairs the provider answered.
    run_file = os.path.join(args.out, "run.json")
    if args.recheck:
        with open(run_file) as f:
            run = json.load(f)
        args.limit = run["limit"]
    cases = load_cases(shared, rules, args.limit)
    txs = plan(cases)
    os.makedirs(args.out, exist_ok=True)
    os.chmod(args.out, 0o755)
    print(f"bouncelab: {len(cases)} replies, {len(txs)} messages per MTA",
          flush=True)

    if args.recheck:
        answered = {tuple(x) for x in run["answered"]}
        runs = {n: txs_for(n, txs) for n in names
                if os.path.isdir(os.path.join(args.out, "bounces", n))}
        status = 0
    else:
        runs, answered, status = run_mtas(args, names, txs)
        with open(run_file, "w") as f:
            json.dump({"limit": args.limit, "answered": sorted(answered)}, f)
    for n, mine in runs.items():
        if mine is None:
            continue
        nb, nr, agree, expired, known, problems, strict = check(
            bouncerctl, rules, n, mine, os.path.join(args.out, "bounces"),
            answered)
        if args.save_sample:
            save_sample(args.save_sample, n, strict)
        print(f"bouncelab: {n}: {nb} bounces for {len(mine)} messages, "
              f"{nr} recipients, {agree} agree ({expired} of them as "
              f"expired), {len(known)} known, {len(problems)} disagree",
              flush=True)
        if n == "opensmtpd":
            ln, lagree, lproblems = check_log(
                bouncerctl, rules, n, mine, os.path.join(args.out, "bounces"),
                os.path.join(args.out, n + ".run"))
            print(f"bouncelab: {n}: log lines for {ln} recipients, "
                  f"{lagree} agree", flush=True)
            problems += lproblems
        if os.environ.get("BOUNCELAB_VERBOSE") == "1":
            for p in known:
                print("  known: " + p)
        for p in problems:
            print("  " + p)
        if problems:
            status = max(status, 1)
    return status


def bounced(out, mta):
    d = os.path.join(out, "bounces", mta)
    if not os.path.isdir(d):
        return set()
    return {f.split(".")[0] for f in os.listdir(d)}


if __name__ == "__main__":
    sys.exit(main())

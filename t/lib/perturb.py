#!/usr/bin/env python3
"""perturb.py -- write the corpus e-mails as other senders of the same bounces would

usage:
  perturb.py make CORPUS OUTDIR [SEED]   write OUTDIR/KIND/<path> for every
                                          e-mail of CORPUS/manifest.tsv and
                                          OUTDIR/KIND.map (variant address ->
                                          original address, lower case)
  perturb.py compare OUTDIR ORIG.out N   compare classify-mail -H outputs
  perturb.py kinds                        list the kinds of variant, one a line

Each kind of variant is one function below: same bounce, other incidental
details. The changes are deterministic for a given SEED (default 1).

  addr   local parts of every address but role ones (postmaster,
         post_master, MAILER-DAEMON, list-admin ...) and redacted domains
         replaced, the local parts also where they stand alone,
         consistently through the whole mail; other IPv4 addresses, queue
         ids and message ids; dates moved
  wrapN  long lines of text folded at N columns with an indented
         continuation, as some MTAs write them, and Diagnostic-Code
         unfolded and folded again at N - 8; one kind for each N of
         WRAP_WIDTHS (40, 52 and 64: a parser that reads one width
         right can still miss where another puts the breaks)
  lower  header names, DSN field names and their type keywords (rfc822;,
         smtp;) and MIME types in lower case
  upper  the same in upper case
  eol    CRLF line ends for LF ones and the reverse

The files are read and written as Latin-1, so bytes that are not ASCII
(ISO-2022-JP escapes, UTF-8) pass through unchanged.
"""
import hashlib
import os
import re
import sys

SEED = "1"
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
# Addresses whose local part is a role, not a person: kept as they are.
# (a bounce's sender, a list's own addresses), whoever sends the bounce.
ROLE = re.compile(r"post_?master|mailer[-_]?daemon|daemon|bounce|no-?reply|"
                  r"^(root|abuse|nobody)$|-(admin|request|owner)$|^owner-", re.I)


def role(lp):
    return ROLE.search(lp) is not None


def h(*parts):
    return hashlib.sha1(("\0".join((SEED,) + parts)).encode("latin-1")).hexdigest()


def reshape(tok, salt):
    """Another token of the same shape: digits, upper and lower letters kept."""
    d = h(salt, tok)
    out = []
    for i, c in enumerate(tok):
        n = int(d[(2 * i) % 40:(2 * i) % 40 + 2], 16)
        if c.isdigit():
            out.append(chr(48 + n % 10))
        elif "A" <= c <= "Z":
            out.append(chr(65 + n % 26))
        elif "a" <= c <= "z":
            out.append(chr(97 + n % 26))
        else:
            out.append(c)
    return "".join(out)


ADDR = re.compile(r"(?<![A-Za-z0-9._%+=-])([A-Za-z0-9][A-Za-z0-9._%+=-]*)@"
                  r"([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


def redacted(dom):
    """A domain the corpus authors put in place of a real one."""
    labels = dom.lower().split(".")
    return "example" in labels or labels[-1] in ("invalid", "test") or \
        dom.lower().endswith("libsisimai.org")


def v_addr(text, amap):
    locals_ = {}
    domains = {}
    for m in ADDR.finditer(text):
        lp, dom = m.group(1), m.group(2)
        if not role(lp) and lp.lower() not in locals_:
            locals_[lp.lower()] = "r" + h("lp", lp.lower())[:7]
        if not redacted(dom):
            continue
        base = dom.lower()
        # map the registered part: example.jp, example.co.jp
        labels = base.split(".")
        i = labels.index("example") if "example" in labels else max(0, len(labels) - 2)
        reg = ".".join(labels[i:])
        if reg not in domains:
            domains[reg] = "m" + h("dom", reg)[:6] + ".test"

    def addr_sub(m):
        lp, dom = m.group(1), m.group(2)
        nlp = locals_.get(lp.lower(), lp)
        return nlp + "@" + (dom_sub(dom) if redacted(dom) else dom)

    def dom_sub(dom):
        low = dom.lower()
        for reg in sorted(domains, key=len, reverse=True):
            if low == reg or low.endswith("." + reg):
                return low[:len(low) - len(reg)] + domains[reg]
        return dom

    new = ADDR.sub(lambda m: record(m, addr_sub(m), amap), text)
    # a local part alone ("<neko-nyaan>", "(neko-nyaan ML)") where it
    # cannot be a word of the text
    for lp in sorted(locals_, key=len, reverse=True):
        if len(lp) >= 6 and re.search(r"[-._0-9]", lp):
            new = re.sub(r"(?<![A-Za-z0-9._%+=-])" + re.escape(lp) +
                         r"(?![A-Za-z0-9_%+=-]|\.[A-Za-z0-9]|@)",
                         locals_[lp], new, flags=re.I)
    # the redacted domains elsewhere: host names, Reporting-MTA, HELO
    for reg in sorted(domains, key=len, reverse=True):
        new = re.sub(r"(?<![A-Za-z0-9-])((?:[A-Za-z0-9-]+\.)*)" + re.escape(reg) +
                     r"(?![A-Za-z0-9-])", lambda m: m.group(1) + domains[reg],
                     new, flags=re.I)
    # IPv4 addresses: another documentation address for each
    ips = {}

    def ip_sub(m):
        ip = m.group(0)
        if any(int(x) > 255 for x in ip.split(".")):
            return ip
        if ip not in ips:
            d = h("ip", ip)
            ips[ip] = "%s.%d" % (("192.0.2", "198.51.100", "203.0.113")[int(d[0], 16) % 3],
                                 1 + int(d[1:3], 16) % 254)
        return ips[ip]
    new = re.sub(r"(?<![0-9.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![0-9]|\.[0-9])", ip_sub, new)
    # queue ids: "id 4Bc1x2", "Queue-ID: 2DAEB222022E"
    new = re.sub(r"(?<=\bid )[A-Za-z0-9]{6,}(?=[;\s.])|(?<=Queue-ID: )[A-Za-z0-9]{6,}",
                 lambda m: reshape(m.group(0), "qid"), new, flags=re.I)
    # dates: "06 Dec 2026 13:45:07" -> another day, hour and year
    def date_sub(m):
        day, mon, year, hh = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
        d = h("date", m.group(0))
        nday = 1 + (day + int(d[0:2], 16)) % 28
        nhh = (hh + int(d[2:4], 16)) % 24
        nmon = MONTHS[(MONTHS.index(mon) + int(d[4], 16)) % 12]
        return "%0*d %s %d %02d:" % (len(m.group(1)), nday, nmon, year + 1, nhh)
    new = re.sub(r"\b(\d{1,2}) (%s) (\d{4}) (\d\d):" % "|".join(MONTHS), date_sub, new)
    return new


def record(m, rep, amap):
    if rep != m.group(0):
        amap[rep.lower()] = m.group(0).lower()
    return rep


def split_lines(text):
    return text.split("\n")


def fold(line, width, indent):
    """Fold one line at spaces to WIDTH columns; continuations begin with INDENT."""
    out = []
    while len(line) > width:
        cut = line.rfind(" ", len(indent) + 1, width)
        lead = len(line) - len(line.lstrip())
        if cut <= lead:
            break
        out.append(line[:cut].rstrip())
        line = indent + line[cut:].lstrip()
    out.append(line)
    return out


QP = re.compile(r"=[0-9A-F]{2}|=\r?$")


# The widths of the wrapN kinds.
WRAP_WIDTHS = (40, 52, 64)


def v_wrap(text, amap, width):
    cr = "\r\n" in text
    lines = text.replace("\r\n", "\n").split("\n")
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"diagnostic-code:", line, re.I):
            # unfold the field, then fold it at another width
            while i + 1 < len(lines) and lines[i + 1][:1] in (" ", "\t") and lines[i + 1].strip():
                i += 1
                line = line.rstrip() + " " + lines[i].strip()
            out.extend(fold(line, width - 8, "    "))
        elif (i > 0 and len(line) > width and " " in line.strip() and
              not QP.search(line) and "boundary=" not in line.lower()):
            lead = line[:len(line) - len(line.lstrip())]
            out.extend(fold(line, width, lead + "    "))
        else:
            out.append(line)
        i += 1
    new = "\n".join(out)
    return new.replace("\n", "\r\n") if cr else new


FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)(:[ \t])(.*)$")
TYPED = ("final-recipient", "original-recipient", "diagnostic-code",
         "remote-mta", "reporting-mta", "received-from-mta", "x-actual-recipient")


def v_case(text, fn):
    cr = "\r\n" in text
    lines = text.replace("\r\n", "\n").split("\n")
    for i, line in enumerate(lines):
        m = FIELD.match(line)
        if not m:
            continue
        name, sep, value = m.groups()
        low = name.lower()
        if low in TYPED:
            value = re.sub(r"^([A-Za-z0-9-]+);", lambda t: fn(t.group(1)) + ";", value)
        elif low == "content-type":
            value = re.sub(r"^([A-Za-z0-9.+-]+/[A-Za-z0-9.+-]+)", lambda t: fn(t.group(1)), value)
        lines[i] = fn(name) + sep + value
    new = "\n".join(lines)
    return new.replace("\n", "\r\n") if cr else new


def v_lower(text, amap):
    return v_case(text, str.lower)


def v_upper(text, amap):
    return v_case(text, str.upper)


def v_eol(text, amap):
    if "\r\n" in text:
        return text.replace("\r\n", "\n")
    return text.replace("\n", "\r\n")


def wrap_at(width):
    return lambda text, amap: v_wrap(text, amap, width)


KINDS = [("addr", v_addr)] + \
    [("wrap%d" % w, wrap_at(w)) for w in WRAP_WIDTHS] + \
    [("lower", v_lower), ("upper", v_upper), ("eol", v_eol)]


def files_of(corpus):
    seen = []
    with open(os.path.join(corpus, "manifest.tsv"), encoding="utf-8") as fh:
        fh.readline()
        for line in fh:
            p = line.split("\t")[0]
            if p and not line.startswith("#") and p not in seen:
                seen.append(p)
    return sorted(seen)


def make(corpus, outdir):
    for kind, fn in KINDS:
        amap = {}
        for p in files_of(corpus):
            with open(os.path.join(corpus, p), encoding="latin-1", newline="") as fh:
                text = fh.read()
            dst = os.path.join(outdir, kind, p)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(dst, "w", encoding="latin-1", newline="") as fh:
                fh.write(fn(text, amap))
        with open(os.path.join(outdir, kind + ".map"), "w", encoding="latin-1") as fh:
            for k in sorted(amap):
                fh.write("%s\t%s\n" % (k, amap[k]))


def load_out(path, amap=None):
    got = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            f = line.rstrip("\n").split("\t")
            if len(f) < 7:
                continue
            rcpt = f[1].lower()
            if amap is not None:
                rcpt = amap.get(rcpt, rcpt)
            got.setdefault((f[0], rcpt), (f[3], f[6]))
    return got


def compare(outdir, orig, nshow):
    base = load_out(orig)
    worst = 0
    print("%-6s %5s %6s %8s" % ("kind", "rcpts", "flips", "decision"))
    report = []
    for kind, _ in KINDS:
        amap = {}
        with open(os.path.join(outdir, kind + ".map"), encoding="latin-1") as fh:
            for line in fh:
                a, b = line.rstrip("\n").split("\t")
                amap[a] = b
        got = load_out(os.path.join(outdir, kind + ".out"), amap)
        flips = []
        dflips = 0
        for k in sorted(base):
            want = base[k]
            have = got.get(k, ("(no line)", "-"))
            if have != want:
                flips.append("%s\t%s\t%s/%s -> %s/%s" % (k[0], k[1], want[0], want[1],
                                                         have[0], have[1]))
                if have[1] != want[1]:
                    dflips += 1
        extra = [k for k in got if k not in base]
        print("%-6s %5d %6d %8d%s" % (kind, len(base), len(flips), dflips,
                                     "  (%d extra lines)" % len(extra) if extra else ""))
        for f in flips[:nshow]:
            report.append("  %s\t%s" % (kind, f))
        if len(flips) > nshow:
            report.append("  %s\t... and %d more" % (kind, len(flips) - nshow))
        print("flips %s %d" % (kind, len(flips)), file=sys.stderr)
    for r in report:
        print(r)
    return worst


def main():
    global SEED
    if len(sys.argv) >= 4 and sys.argv[1] == "make":
        if len(sys.argv) > 4:
            SEED = sys.argv[4]
        make(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "compare":
        compare(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) == 2 and sys.argv[1] == "kinds":
        for kind, _ in KINDS:
            print(kind)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

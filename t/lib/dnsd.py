#!/usr/bin/python3
"""dnsd.py -- a small DNS server for tests: UDP on 127.0.0.1, zone from a file

usage: dnsd.py ZONEFILE PORTFILE QUERYLOG [PORT]

Binds a free UDP port on 127.0.0.1 (or PORT: 53 in a network namespace of
its own, for programs that read /etc/resolv.conf), writes its number to PORTFILE (the
test waits for it), and answers each query from ZONEFILE, which is read
again whenever it changes (replace it with mv, so that no half-written
file is read). Each query's name, lowercased, is appended to QUERYLOG,
one a line.

ZONEFILE has one name a line ('#' starts a comment; names match
without regard to case; '*' matches every name not given):

    NAME A ADDRESS [ADDRESS...] [ttl=SECONDS]   answered (default ttl 60)
    NAME SERVFAIL                               answered with SERVFAIL
    NAME REFUSED                                answered with REFUSED
    NAME DROP                                   never answered
    NAME MX PREF HOST [PREF HOST...] [ttl=S]    MX records ("0 ." is a
                                                null MX, RFC 7505)
    NAME EMPTY                                  exists, no records

A name may have both an A and an MX line. A name not in the file gets
NXDOMAIN; a name asked for a type it has not gets an empty NOERROR.
Runs until killed.
"""
import os
import socket
import struct
import sys

RCODE = {"SERVFAIL": 2, "NXDOMAIN": 3, "REFUSED": 5}


def load(path):
    zone = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if len(line) < 2:
                continue
            name, what, rest = line[0].lower().rstrip("."), line[1], line[2:]
            what = what.upper()
            ttl = 60
            addrs = []
            for w in rest:
                if w.startswith("ttl="):
                    ttl = int(w[4:])
                elif what == "MX":
                    addrs.append(w)
                else:
                    addrs.append(socket.inet_aton(w))
            if what == "MX":
                addrs = [(int(p), h.rstrip(".")) for p, h in
                         zip(addrs[0::2], addrs[1::2])]
                what = "A"
                old = zone.get(name)
                zone[name] = (what, old[1] if old and old[0] == "A" else [],
                              ttl, addrs)
                continue
            if what == "EMPTY":
                what = "A"
            old = zone.get(name)
            zone[name] = (what, addrs, ttl,
                          old[3] if old and old[0] == "A" else [])
    return zone


def encode_name(host):
    """A host name as DNS labels ("" or "." is the root)."""
    out = b""
    for label in host.split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def parse_question(msg):
    """The question's name, its end offset, type; None if malformed."""
    off, labels = 12, []
    while True:
        if off >= len(msg):
            return None
        n = msg[off]
        off += 1
        if n == 0:
            break
        if n & 0xC0 or off + n > len(msg):
            return None
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n
    if off + 4 > len(msg):
        return None
    qtype, = struct.unpack("!H", msg[off:off + 2])
    return ".".join(labels), off + 4, qtype


def answer(msg, zone):
    if len(msg) < 12:
        return None, None
    qid, flags, qdcount = struct.unpack("!HHH", msg[:6])
    if flags & 0x8000 or qdcount != 1:
        return None, None
    q = parse_question(msg)
    if q is None:
        return None, None
    name, end, qtype = q
    entry = zone.get(name.lower(), zone.get("*"))
    rcode, answers, ttl = RCODE["NXDOMAIN"], [], 0
    if entry is not None:
        what, addrs, ttl, mxs = entry
        if what == "DROP":
            return name, None
        if what in RCODE:
            rcode = RCODE[what]
        elif what == "A":
            rcode = 0
            if qtype == 1:
                answers = [struct.pack("!HHHIH", 0xC00C, 1, 1, ttl, 4) + a
                           for a in addrs]
            elif qtype == 15:
                answers = []
                for pref, host in mxs:
                    rd = struct.pack("!H", pref) + encode_name(host)
                    answers.append(struct.pack("!HHHIH", 0xC00C, 15, 1, ttl,
                                               len(rd)) + rd)
    # QR, the opcode and RD echoed, AA, RA.
    rflags = 0x8000 | (flags & 0x7900) | 0x0400 | 0x0080 | rcode
    out = struct.pack("!HHHHHH", qid, rflags, 1, len(answers), 0, 0)
    out += msg[12:end]      # the question as asked, case and all
    for a in answers:
        out += a
    return name, out


def main():
    zpath, portfile, qlog = sys.argv[1:4]
    port = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    stamp, zone = None, {}
    log = open(qlog, "a")
    while True:
        msg, peer = s.recvfrom(4096)
        try:
            st = os.stat(zpath)
            if (st.st_mtime_ns, st.st_ino, st.st_size) != stamp:
                zone = load(zpath)
                stamp = (st.st_mtime_ns, st.st_ino, st.st_size)
        except (OSError, ValueError) as e:
            print("dnsd: %s: %s" % (zpath, e), file=sys.stderr)
        name, out = answer(msg, zone)
        if name is not None:
            log.write(name.lower() + "\n")
            log.flush()
        if out is not None:
            s.sendto(out, peer)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""miltertest.py -- drive a milter over its socket, as an MTA would

A protocol-level milter client (protocol version 6) for the tests: it
connects, negotiates, sends one message's envelope, headers and body,
and prints each reply the filter gave, one per line:

    rcpt <a@example.com> reject 550 5.1.1 <a@example.com>: recipient suppressed
    eom continue

usage: miltertest.py SOCKET --from ADDR --rcpt ADDR [--rcpt ADDR ...]
                     [--message FILE] [--internal] [--queue-id ID]

SOCKET is inet:host:port or unix:/path. --internal sends the envelope
the way Postfix passes its own DSNs (MAIL FROM "" without brackets,
connect from localhost).
"""
import argparse
import socket
import struct
import sys

SMFI_VERSION = 6


def packet(cmd, data=b""):
    return struct.pack("!I", len(data) + 1) + cmd + data


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("milter closed the connection")
        buf += chunk
    return buf


def reply(sock):
    """One reply; skips progress packets. Returns (code, data)."""
    while True:
        (length,) = struct.unpack("!I", recv_exact(sock, 4))
        body = recv_exact(sock, length)
        if body[:1] != b"p":
            return body[:1], body[1:]


NAMES = {b"c": "continue", b"a": "accept", b"r": "reject", b"t": "tempfail",
         b"d": "discard", b"y": "reply"}


def describe(code, data):
    name = NAMES.get(code, "code-" + code.decode(errors="replace"))
    if code == b"y":
        text = data.rstrip(b"\0").decode(errors="replace")
        return ("reject " if text[:1] == "5" else "tempfail ") + text
    return name


def dial(spec):
    if spec.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(spec[5:])
    elif spec.startswith("inet:"):
        host, port = spec[5:].rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    else:
        raise SystemExit("miltertest: want inet:host:port or unix:/path")
    s.settimeout(20)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("--from", dest="sender", default="<>")
    ap.add_argument("--rcpt", action="append", default=[])
    ap.add_argument("--message")
    ap.add_argument("--internal", action="store_true")
    ap.add_argument("--queue-id", default="4BQ1TEST0001")
    a = ap.parse_args()

    s = dial(a.socket)
    s.sendall(packet(b"O", struct.pack("!III", SMFI_VERSION, 0x1FF, 0)))
    code, _ = reply(s)
    if code != b"O":
        raise SystemExit("miltertest: no option negotiation reply")

    host = b"localhost" if a.internal else b"mx.remote.example"
    s.sendall(packet(b"D", b"C" + b"j\0mta.example.net\0"))
    s.sendall(packet(b"C", host + b"\0" + b"4" + struct.pack("!H", 25) +
                     b"127.0.0.1\0"))
    print("connect", describe(*reply(s)))
    s.sendall(packet(b"H", host + b"\0"))
    print("helo", describe(*reply(s)))

    sender = "" if a.internal else (a.sender if a.sender.startswith("<")
                                    else "<" + a.sender + ">")
    s.sendall(packet(b"M", sender.encode() + b"\0"))
    code, data = reply(s)
    print("mail", describe(code, data))
    if code in (b"a", b"r", b"t", b"d", b"y"):
        return 0
    for r in a.rcpt:
        arg = r if a.internal else "<" + r + ">"
        s.sendall(packet(b"R", arg.encode() + b"\0"))
        print("rcpt", "<" + r + ">", describe(*reply(s)))

    raw = open(a.message, "rb").read() if a.message else (
        b"From: someone@example.net\r\nSubject: hello\r\n\r\nhello\r\n")
    raw = raw.replace(b"\r\n", b"\n")
    head, _, body = raw.partition(b"\n\n")
    s.sendall(packet(b"D", b"E" + b"i\0" + a.queue_id.encode() + b"\0"))
    # Headers: unfold nothing; continuation lines stay with LF.
    done = False
    lines = head.split(b"\n")
    if lines and lines[0].startswith(b"From "):
        lines = lines[1:]
    headers = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and headers:
            headers[-1][1] += b"\n" + line
        elif b":" in line:
            n, v = line.split(b":", 1)
            headers.append([n, v.lstrip(b" ")])
    for n, v in headers:
        s.sendall(packet(b"L", n + b"\0" + v + b"\0"))
        code, data = reply(s)
        if code != b"c":
            print("header", describe(code, data))
            done = True
            break
    if not done:
        s.sendall(packet(b"N"))
        code, data = reply(s)
        if code != b"c":
            print("eoh", describe(code, data))
            done = True
    if not done:
        body = body.replace(b"\n", b"\r\n")
        for i in range(0, len(body), 65535):
            s.sendall(packet(b"B", body[i:i + 65535]))
            code, data = reply(s)
            if code != b"c":
                print("body", describe(code, data))
                done = True
                break
    if not done:
        s.sendall(packet(b"E"))
        print("eom", describe(*reply(s)))
    s.sendall(packet(b"Q"))
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

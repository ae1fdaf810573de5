#!/usr/bin/python3
"""policyq.py -- ask a Postfix policy server about recipients

usage: policyq.py SOCKET RCPT...       (SOCKET: inet:host:port or unix:/path)

Sends one smtpd_access_policy request per recipient over one
connection, as Postfix's smtpd does, and prints each action line.
"""
import socket
import sys


def main():
    spec, rcpts = sys.argv[1], sys.argv[2:]
    if spec.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(spec[5:])
    else:
        host, port = spec[5:].rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    s.settimeout(10)
    f = s.makefile("rwb")
    for r in rcpts:
        f.write(("request=smtpd_access_policy\nprotocol_state=RCPT\n"
                 "protocol_name=ESMTP\nsender=news@example.net\n"
                 "recipient=%s\nclient_address=127.0.0.1\n"
                 "instance=1.2.3\n\n" % r).encode())
        f.flush()
        line = f.readline().decode().rstrip("\n")
        blank = f.readline()
        if not line or blank != b"\n":
            print("policyq: connection closed", file=sys.stderr)
            return 1
        print(line[len("action="):] if line.startswith("action=") else line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

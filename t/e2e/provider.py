#!/usr/bin/python3
"""provider.py -- a scripted stand-in for Gmail, Outlook, iCloud... on loopback

usage: provider.py --replies FILE --port PORT [--port PORT ...]
                   [--spool DIR] [--lifetime SECONDS]

Postfix relays to it on 127.0.0.1 (one port per provider domain, so that
each gets its own queue in qmgr as a real provider would), and it answers
each recipient with the reply written for it in FILE:

    # a comment
    nosuchuser@gmail.com             answered at RCPT TO (the default)
        550-5.1.1 The email account that you tried to reach does not exist.
        550 5.1.1  https://support.google.com/mail/?p=NoSuchUser - gsmtp
    dmarc@gmail.com at=data          answered at the end of DATA
        550 5.7.26 Unauthenticated email is not accepted
    *@icloud.com                     any other icloud.com recipient
        550 5.1.1 <unknown>: user does not exist
    *                                anyone else (with no "*": 250)
        250 2.1.5 Ok

Reply lines are indented and sent exactly as written (multi-line replies
"NNN-..." then "NNN ..."). A 421 reply closes the connection afterwards,
as Gmail does. "<rcpt>" in a reply becomes the recipient's address.

FILE is read again whenever it changes (checked at every MAIL FROM), so a
test can switch a recipient's answer while the provider runs: write the
new file beside it and rename it over FILE. A file with a mistake is
refused with file:line on stderr, and the previous replies stay.

Accepted messages go to --spool as NNNN.eml. Every SMTP event is printed
on stdout, one line each, for the tests to wait on:

    provider[PORT]: RCPT <a@gmail.com> 550 5.1.1 ...    (the last reply line)
    provider[PORT]: DATA 250 queued as PROV0003 for <a@gmail.com> <b@gmail.com>

Uses Debian's python3-aiosmtpd, hence /usr/bin/python3.
"""
import argparse
import asyncio
import os
import re
import signal
import sys

from aiosmtpd.smtp import SMTP

FIRST_LINES = re.compile(r"^[2-5][0-9]{2}-")
LAST_LINE = re.compile(r"^[2-5][0-9]{2}( |$)")


def parse(path):
    """Returns {key: (stage, [lines])}; raises ValueError("file:line: ...")."""
    table, key, where = {}, None, {}
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\r\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0] in " \t":
                if key is None:
                    raise ValueError(f"{path}:{n}: reply line before any "
                                     "recipient")
                table[key][1].append(line.strip())
                continue
            words = line.split()
            key, stage = words[0].lower(), "rcpt"
            for w in words[1:]:
                if w in ("at=rcpt", "at=data"):
                    stage = w[3:]
                else:
                    raise ValueError(f"{path}:{n}: unknown option {w!r}")
            table[key] = (stage, [])
            where[key] = n
    for k, (stage, lines) in table.items():
        if (not lines or not LAST_LINE.match(lines[-1]) or
                not all(FIRST_LINES.match(x) for x in lines[:-1])):
            raise ValueError(f"{path}:{where[k]}: {k}: want lines 'NNN-...' "
                             "and a last line 'NNN ...'")
    return table


class Replies:
    """The replies file, read again when its identity or size changes."""

    def __init__(self, path):
        self.path, self.sig, self.table = path, None, {}
        self.refresh()

    def refresh(self):
        if self.path is None:
            return
        try:
            st = os.stat(self.path)
        except OSError as e:
            print(f"provider: {e}; keeping the previous replies",
                  file=sys.stderr, flush=True)
            return
        sig = (st.st_ino, st.st_size, st.st_mtime_ns)
        if sig == self.sig:
            return
        try:
            self.table = parse(self.path)
            self.sig = sig
            print(f"provider: loaded {len(self.table)} scripted "
                  f"recipient(s) from {self.path}", flush=True)
        except (OSError, ValueError) as e:
            print(f"provider: {e}; keeping the previous replies",
                  file=sys.stderr, flush=True)

    def lookup(self, rcpt, stage):
        """The reply lines for rcpt at this stage, or None (250)."""
        rcpt = rcpt.lower()
        for key in (rcpt, "*@" + rcpt.rpartition("@")[2], "*"):
            if key in self.table:
                st, lines = self.table[key]
                if st != stage:
                    return None
                return [x.replace("<rcpt>", "<" + rcpt + ">") for x in lines]
        return None


class Handler:
    def __init__(self, replies, spool):
        self.replies, self.spool, self.serial = replies, spool, 0

    async def handle_MAIL(self, server, session, envelope, address, options):
        self.replies.refresh()
        # aiosmtpd gives the null sender as "<>": keep it, an empty
        # mail_from would make it answer the next RCPT with 503.
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        say(server, f"MAIL <{'' if address == '<>' else address}>")
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, options):
        lines = self.replies.lookup(address, "rcpt") or ["250 2.1.5 Ok"]
        if lines[-1].startswith("2"):
            envelope.rcpt_tos.append(address)
        say(server, f"RCPT <{address}> {lines[-1]}")
        return "\r\n".join(lines)

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            lines = self.replies.lookup(rcpt, "data")
            if lines is not None:
                say(server, f"DATA {lines[-1]} for <{rcpt}>")
                return "\r\n".join(lines)
        self.serial += 1
        qid = f"PROV{self.serial:04d}"
        if self.spool:
            sender = "" if envelope.mail_from == "<>" else envelope.mail_from
            head = f"Return-Path: <{sender}>\r\n" + "".join(
                f"X-Envelope-To: <{r}>\r\n" for r in envelope.rcpt_tos)
            path = os.path.join(self.spool, f"{self.serial:04d}.eml")
            with open(path + ".tmp", "wb") as f:
                f.write(head.encode() + envelope.original_content)
            os.rename(path + ".tmp", path)
        say(server, f"DATA 250 queued as {qid} for " +
            " ".join(f"<{r}>" for r in envelope.rcpt_tos))
        return f"250 2.0.0 Ok: queued as {qid}"


class ProviderSMTP(SMTP):
    """Closes the connection after any 421, as real providers do."""

    async def push(self, status):
        await super().push(status)
        text = status if isinstance(status, str) else status.decode()
        if text.startswith("421") and self.transport is not None:
            self.transport.close()


def say(server, text):
    port = server.transport.get_extra_info("sockname")[1] \
        if server.transport else "-"
    print(f"provider[{port}]: {text}", flush=True)


async def serve(args):
    handler = Handler(Replies(args.replies), args.spool)
    loop = asyncio.get_running_loop()
    servers = [await loop.create_server(
        lambda: ProviderSMTP(handler, hostname="mx.provider.test",
                             ident="scripted provider ESMTP"),
        host="127.0.0.1", port=p) for p in args.port]
    print("provider: listening on 127.0.0.1 port(s) " +
          " ".join(map(str, args.port)), flush=True)
    done = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    try:
        # The lifetime bounds a run whose test died without cleaning up.
        await asyncio.wait_for(done.wait(), args.lifetime or None)
    except asyncio.TimeoutError:
        print("provider: lifetime over", flush=True)
    for s in servers:
        s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replies", help="replies file (none: 250 to all)")
    ap.add_argument("--port", type=int, action="append", required=True)
    ap.add_argument("--spool", help="save accepted messages here")
    ap.add_argument("--lifetime", type=float, default=900)
    args = ap.parse_args()
    if args.replies:
        try:
            parse(args.replies)
        except (OSError, ValueError) as e:
            sys.exit(f"provider: {e}")
    if args.spool:
        os.makedirs(args.spool, exist_ok=True)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()

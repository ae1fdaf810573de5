#!/usr/bin/python3
"""limits.py -- clients that try to make bouncerd hold too much

For t/limits.sh. Each command drives one listener the way a careless or
hostile client would, watches the daemon's resident memory (VmRSS in
/proc/PID/status) meanwhile, and prints what it saw as "name=value"
words on one line; the script decides what passes.

  limits.py PID policy-flood  SOCKET MBYTES
  limits.py PID socketmap-flood SOCKET MBYTES
      Pipeline requests (policy protocol, or socketmap netstrings) and
      never read an answer, until MBYTES are sent, LIMIT seconds have
      passed, or the daemon has not taken a byte for STALL seconds.
      Prints sent= (bytes), stalled=
      (1 if it stopped taking them) and peak_kb= (the largest VmRSS).
  limits.py PID http-header HOST:PORT MBYTES
  limits.py PID http-body HOST:PORT MBYTES
      One GET with an endless header, or with a body of MBYTES. Prints
      sent=, status= (the HTTP status, or "closed"), peak_kb=.
  limits.py PID milter SOCKET COUNT MBYTES
      COUNT milter sessions at once, each a null-sender message with a
      body of MBYTES. Prints done= (sessions that got an end-of-message
      answer), peak_kb=.
  limits.py PID idle SOCKET COUNT
      Opens COUNT idle policy connections, keeps them, then asks one
      request on a new connection. Prints opened=, answer=.
  limits.py PID slow SOCKET SECONDS
      Sends a request one byte a second, for at most SECONDS. Prints
      closed_after= (seconds until the daemon closed it, or "never").

SOCKET is unix:/path or inet:host:port. Every wait is bounded.
"""
import socket
import struct
import sys
import threading
import time

STALL = 3.0     # seconds without a byte taken: the daemon stopped reading
LIMIT = 60.0    # seconds a flood may last at most


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Peak:
    """Samples VmRSS every 50 ms in a thread until stopped."""

    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, rss_kb(pid), False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.05)

    def done(self):
        self.stop = True
        self.t.join()
        self.peak = max(self.peak, rss_kb(self.pid))
        return self.peak


def dial(spec, timeout=10):
    if spec.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # Blocking: a full backlog makes a unix connect() wait, not fail.
        s.connect(spec[5:])
        s.settimeout(timeout)
    else:
        host, port = spec.split(":", 1)[-1].rsplit(":", 1) \
            if spec.startswith("inet:") else spec.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=timeout)
    return s


def flood(s, chunk, total):
    """Sends chunk over and over until total bytes or a stall."""
    s.setblocking(False)
    sent, last, view = 0, time.monotonic(), memoryview(chunk)
    off = 0
    t0 = time.monotonic()
    while sent < total and time.monotonic() - t0 < LIMIT:
        try:
            n = s.send(view[off:])
        except (BlockingIOError, InterruptedError):
            if time.monotonic() - last > STALL:
                return sent, 1
            time.sleep(0.01)
            continue
        except OSError:
            return sent, 1
        sent += n
        off = (off + n) % len(chunk)
        last = time.monotonic()
    return sent, 0


def cmd_policy_flood(pid, spec, mbytes):
    # The smallest request there is: its answer, DUNNO, is longer.
    req = b"request=x\n\n"
    peak = Peak(pid)
    s = dial(spec)
    sent, stalled = flood(s, req * 512, int(mbytes) * 1024 * 1024)
    kb = peak.done()
    s.close()
    print("sent=%d stalled=%d peak_kb=%d" % (sent, stalled, kb))


def netstring(b):
    return b"%d:%s," % (len(b), b)


def cmd_socketmap_flood(pid, spec, mbytes):
    # Not an address: NOTFOUND at once, and longer than the question.
    req = netstring(b"t x")
    peak = Peak(pid)
    s = dial(spec)
    sent, stalled = flood(s, req * 2048, int(mbytes) * 1024 * 1024)
    kb = peak.done()
    s.close()
    print("sent=%d stalled=%d peak_kb=%d" % (sent, stalled, kb))


def http_status(s):
    s.setblocking(True)
    s.settimeout(5)
    try:
        head = s.recv(200)
    except OSError:
        return "closed"
    if not head.startswith(b"HTTP/"):
        return "closed"
    return head.split()[1].decode()


def cmd_http(pid, spec, mbytes, body):
    total = int(mbytes) * 1024 * 1024
    peak = Peak(pid)
    s = dial("inet:" + spec)
    if body:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: %d\r\n\r\n" % total)
    else:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ")
    sent, _ = flood(s, b"a" * 65536, total)
    kb = peak.done()
    print("sent=%d status=%s peak_kb=%d" % (sent, http_status(s), kb))
    s.close()


def packet(cmd, data=b""):
    return struct.pack("!I", len(data) + 1) + cmd + data


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def mreply(s):
    while True:
        (length,) = struct.unpack("!I", recv_exact(s, 4))
        body = recv_exact(s, length)
        if body[:1] != b"p":
            return body[:1]


def milter_session(spec, mbytes, done, lock):
    try:
        s = dial(spec, timeout=60)
        s.sendall(packet(b"O", struct.pack("!III", 6, 0x1FF, 0)))
        mreply(s)
        s.sendall(packet(b"C", b"mx.remote.example\0" + b"4" +
                         struct.pack("!H", 25) + b"192.0.2.7\0"))
        mreply(s)
        s.sendall(packet(b"H", b"mx.remote.example\0"))
        mreply(s)
        s.sendall(packet(b"M", b"<>\0"))
        mreply(s)
        s.sendall(packet(b"R", b"<postmaster@example.net>\0"))
        mreply(s)
        code = b"c"
        for n, v in ((b"From", b"MAILER-DAEMON@remote.example"),
                     (b"Subject", b"Undelivered Mail Returned to Sender")):
            s.sendall(packet(b"L", n + b"\0" + v + b"\0"))
            code = mreply(s)
            if code != b"c":
                break
        if code == b"c":
            s.sendall(packet(b"N"))
            code = mreply(s)
        line = b"x" * 76 + b"\r\n"
        chunk = line * (65535 // len(line))
        left = int(mbytes) * 1024 * 1024
        while code == b"c" and left > 0:
            s.sendall(packet(b"B", chunk[:left]))
            left -= min(left, len(chunk))
            code = mreply(s)
        # As an MTA does: once the filter has accepted, no more events.
        if code == b"c":
            s.sendall(packet(b"E"))
            mreply(s)
        s.sendall(packet(b"Q"))
        s.close()
        with lock:
            done[0] += 1
    except (OSError, EOFError) as e:
        sys.stderr.write("milter session: %s\n" % e)


def cmd_milter(pid, spec, count, mbytes):
    peak = Peak(pid)
    done, lock = [0], threading.Lock()
    ts = [threading.Thread(target=milter_session,
                           args=(spec, mbytes, done, lock))
          for _ in range(int(count))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    kb = peak.done()
    print("done=%d peak_kb=%d" % (done[0], kb))


def cmd_idle(pid, spec, count):
    conns = []
    for _ in range(int(count)):
        conns.append(dial(spec))
    # Every one of them is accepted before the client that matters comes.
    time.sleep(1)
    s = dial(spec)
    s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
              b"recipient=nobody@example.com\ninstance=9.9.9\n\n")
    f = s.makefile("rb")
    try:
        answer = f.readline().decode().strip() or "closed"
    except OSError:
        answer = "closed"
    print("opened=%d answer=%s" % (len(conns), answer.replace(" ", "_")))
    for c in conns:
        c.close()


def cmd_slow(pid, spec, seconds):
    s = dial(spec)
    s.settimeout(1)
    msg = b"request=smtpd_access_policy\nrecipient=" + b"x" * 1000
    t0 = time.monotonic()
    for i in range(len(msg)):
        if time.monotonic() - t0 > float(seconds):
            break
        try:
            s.send(msg[i:i + 1])
            if s.recv(1) == b"":
                print("closed_after=%.1f" % (time.monotonic() - t0))
                return
        except socket.timeout:
            continue
        except OSError:
            print("closed_after=%.1f" % (time.monotonic() - t0))
            return
    print("closed_after=never")


def main():
    pid, cmd, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    if cmd == "policy-flood":
        cmd_policy_flood(pid, *args)
    elif cmd == "socketmap-flood":
        cmd_socketmap_flood(pid, *args)
    elif cmd == "http-header":
        cmd_http(pid, args[0], args[1], False)
    elif cmd == "http-body":
        cmd_http(pid, args[0], args[1], True)
    elif cmd == "milter":
        cmd_milter(pid, *args)
    elif cmd == "idle":
        cmd_idle(pid, *args)
    elif cmd == "slow":
        cmd_slow(pid, *args)
    else:
        raise SystemExit("limits.py: unknown command " + cmd)


if __name__ == "__main__":
    main()

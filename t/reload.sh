#!/bin/sh
# reload.sh -- SIGHUP builds the new rules off the event loop
#
# A large rule set takes long to compile. The policy server must keep
# answering while a reload runs: one connection gets a request every
# 5 ms (pipelined, so a stalled loop shows as a queue of late answers,
# not as one slow request), while SIGHUP arrives three times at once.
# The 99th percentile of the answer times must stay under 50 ms, and
# the three signals make two reloads: one, and one more after it.
#
# 10,000 generated rules on a plain build; 500 on a sanitizer build,
# which compiles rules a hundred times slower (still seconds of work).
set -u
SRC=${BOUNCER_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
. "$SRC/t/lib/sh.sh"
t_tmp bouncer-reload PID

N=10000
grep -q '^SANITIZE_FLAGS *= *-fsanitize' "$SRC/config.mk" 2>/dev/null && N=500

MPORT=$(free_port)
mkdir "$T/rules"
cp "$RULES"/*.rules "$T/rules/"
t_bouncerd PID "$T/bouncerd.log" 30 "unix:$T/policy.sock" \
    -o store=sqlite:$T/state.db -o rules_dir=$T/rules -o state_dir=$T \
    -o policy_listen=unix:$T/policy.sock -o metrics_listen=127.0.0.1:$MPORT
rules_before=$("$CTL" -c /dev/null -o metrics_listen=127.0.0.1:$MPORT status | sed -n 's/^rules=//p')

# Valid rules of their own provider, each a distinct pattern to compile.
$PY - "$T/rules/zz-bulk.rules" "$N" <<'PYEOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("# zz-bulk.rules -- generated for t/reload.sh\n\n"
            "provider bulk\ndomain bulk.example\n\n")
    for i in range(int(sys.argv[2])):
        f.write("rule bulk-%05d\n"
                "\tmatch\tbulk reply %05d (?:quota|space|storage) [a-z]+ "
                "\\d{1,3}(?:\\.\\d{1,3}){3}\n"
                "\treason\tmailboxfull\n\tdecision retry\n\n" % (i, i))
PYEOF

$PY - "$T/policy.sock" "$PID" "$MPORT" <<'PYEOF'
import os, signal, socket, sys, threading, time, urllib.request
path, pid, mport = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def reloads():
    m = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % mport,
                               timeout=5).read().decode()
    for line in m.splitlines():
        if line.startswith("bouncer_reloads_total "):
            return int(line.split()[1])
    return -1

s = socket.socket(socket.AF_UNIX)
s.connect(path)
s.settimeout(120)
req = (b"request=smtpd_access_policy\nprotocol_state=RCPT\n"
       b"recipient=someone@gmail.com\nclient_address=127.0.0.1\n\n")
sent = []
got = []
done = threading.Event()

def reader():
    buf = b""
    while not (done.is_set() and len(got) >= len(sent)):
        try:
            c = s.recv(65536)
        except socket.timeout:
            break
        if not c:
            break
        buf += c
        now = time.monotonic()
        while b"\n\n" in buf:
            a, buf = buf.split(b"\n\n", 1)
            if not a.startswith(b"action="):
                print("reload.sh: bad answer %r" % a)
                os._exit(1)
            got.append(now)

r = threading.Thread(target=reader, daemon=True)
r.start()
start = time.monotonic()
hups = [0.3, 0.35, 0.4]
t = start
last_check = 0
n_reloads = 0
while True:
    now = time.monotonic()
    if hups and now - start >= hups[0]:
        os.kill(pid, signal.SIGHUP)
        hups.pop(0)
    sent.append(time.monotonic())
    s.sendall(req)
    if now - last_check > 1 and not hups:
        last_check = now
        n_reloads = reloads()
        if n_reloads >= 2 or now - start > 110:
            break
    t += 0.005
    d = t - time.monotonic()
    if d > 0:
        time.sleep(d)
# A little more after the last swap, then wait for every answer.
end = time.monotonic() + 0.5
while time.monotonic() < end:
    sent.append(time.monotonic())
    s.sendall(req)
    time.sleep(0.005)
done.set()
s.sendall(req)         # one more, so that the reader sees done
sent.append(time.monotonic())
r.join(30)
n_reloads = reloads()
if len(got) != len(sent):
    print("reload.sh: %d requests, %d answers" % (len(sent), len(got)))
    sys.exit(1)
lat = sorted((g - t) * 1000 for g, t in zip(got, sent))
p99 = lat[int(len(lat) * 0.99)]
print("reload.sh: %d requests over %.1f s, p50 %.2f ms, p99 %.2f ms, "
      "max %.1f ms, reloads %d" % (len(lat), time.monotonic() - start,
      lat[len(lat) // 2], p99, lat[-1], n_reloads))
bad = []
if p99 >= 50:
    bad.append("p99 %.1f ms during reloads, want < 50 ms" % p99)
if n_reloads != 2:
    bad.append("bouncer_reloads_total %d after three SIGHUPs during a "
               "reload, want 2" % n_reloads)
for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
PYEOF
[ $? = 0 ] && ok || bad "policy answers during reloads"

st=$("$CTL" -c /dev/null -o metrics_listen=127.0.0.1:$MPORT status)
rules_after=$(echo "$st" | sed -n 's/^rules=//p')
[ "$rules_after" = $((rules_before + N)) ] && ok ||
    bad "rules after the reload: $rules_after, want $rules_before + $N"
echo "$st" | grep -q '^reload_failures=0$' && ok || bad "reload failures: $st"
grep -q 'reloaded configuration and rules' "$T/bouncerd.log" && ok ||
    bad "no reload logged"

t_stop PID && ok

echo "reload.sh: $pass passed, $fail failed"
[ $fail = 0 ] || { echo "--- bouncerd log"; tail -n 30 "$T/bouncerd.log"; }
[ $fail = 0 ]

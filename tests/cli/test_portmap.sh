#!/bin/bash
# lp2p portmap and listen --portmap through the tool. Usage errors exit 2
# with one stderr line. Then against a tiny NAT-PMP / PCP gateway (python,
# on a random 127/8 address; the tool finds it through a fake
# /proc/net/route named by LP2P_PROC_NET_ROUTE): add, delete and list over
# NAT-PMP, add and delete over PCP, a NAT-PMP-only gateway refusing PCP,
# and a silent gateway. (UPnP needs SSDP multicast: tests/test_portmap.c
# covers the service's UPnP path over memnet.)
set -u
L="${LP2P_BUILD:-build}/bin/lp2p"
T=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
ok() { echo "ok - $1"; }
nok() { echo "not ok - $1${2:+: $2}"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "${3:-}"; fi; }

if [ ! -x "$L" ]; then nok "lp2p binary exists at $L"; exit 1; fi

usage() {
  local what=$1; shift
  out=$("$L" "$@" 2>&1 >/dev/null); rc=$?
  check "$what: exit 2, one line" '[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"
}
usage "portmap without an action" portmap
usage "portmap with an unknown action" portmap frob
usage "portmap add without a port" portmap add
usage "portmap add 0" portmap add 0
usage "portmap add 70000" portmap add 70000
usage "portmap delete x" portmap delete x
usage "portmap list with an extra word" portmap list extra
usage "portmap --protocol auto" portmap --protocol auto list
usage "portmap --protocol bogus" portmap --protocol bogus list
usage "listen --portmap bogus" listen --portmap bogus /ip4/127.0.0.1/tcp/0

# listen --portmap off prints no mapping line; auto starts (whatever the
# machine's router says, the listen address comes first)
timeout 3 "$L" listen --events --portmap off /ip4/127.0.0.1/tcp/0 > "$T/off.out" 2>&1
check "listen --portmap off: listen address, no mapping line" \
  '[[ "$(head -n 1 "$T/off.out")" =~ ^/ip4/127.0.0.1/tcp/[1-9] ]] && ! grep -q "^mapped\|^portmap-" "$T/off.out"' "$(cat "$T/off.out")"

if ! command -v python3 >/dev/null; then
  nok "python3 for the fake gateway" "not installed"; exit 0
fi
a=$((RANDOM % 200 + 20)); b=$((RANDOM % 200 + 20)); c=$((RANDOM % 200 + 20))
GW="127.$a.$b.$c"
printf 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\nlo\t00000000\t%02X%02X%02X7F\t0003\t0\t0\t0\t00000000\t0\t0\t0\n' $c $b $a > "$T/route"
export LP2P_PROC_NET_ROUTE="$T/route"

cat > "$T/gw.py" <<'PY'
# A NAT-PMP (RFC 6886) and PCP (RFC 6887 MAP) gateway: argv ip, mode
# (natpmp | pcp | both), log file. External address 203.0.113.9; grants
# the port asked for.
import socket, struct, sys, time
ip, mode, log = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((ip, 5351))
boot = time.time()
ext = bytes([203, 0, 113, 9])
with open(log, "a") as lf:
    print("ready", file=lf, flush=True)
    while True:
        q, src = s.recvfrom(2048)
        ep = int(time.time() - boot)
        if len(q) >= 2 and q[0] == 0 and mode in ("natpmp", "both"):
            if q[1] == 0:
                s.sendto(struct.pack(">BBHI", 0, 128, 0, ep) + ext, src)
                print("natpmp addr", file=lf, flush=True)
            elif q[1] in (1, 2) and len(q) >= 12:
                iport, want, life = struct.unpack(">HHI", q[4:12])
                eport = (want or iport) if life else 0
                s.sendto(struct.pack(">BBHIHHI", 0, 128 + q[1], 0, ep, iport, eport, life), src)
                print("natpmp map %d %d %d" % (iport, want, life), file=lf, flush=True)
        elif len(q) >= 60 and q[0] == 2 and mode in ("pcp", "both"):
            life = struct.unpack(">I", q[4:8])[0]
            nonce, proto = q[24:36], q[36]
            iport, want = struct.unpack(">HH", q[40:44])
            r = struct.pack(">BBBBII", 2, 0x81, 0, 0, life, ep) + bytes(12)
            r += nonce + bytes([proto, 0, 0, 0]) + struct.pack(">HH", iport, want or iport)
            r += bytes(10) + b"\xff\xff" + ext
            s.sendto(r, src)
            print("pcp map %d %d %d %s" % (iport, want, life, nonce.hex()), file=lf, flush=True)
        elif len(q) >= 2 and q[0] == 2 and mode == "natpmp":
            s.sendto(struct.pack(">BBHI", 0, 128 + (q[1] & 0x7f), 1, ep), src)
PY

gw() {
  : > "$T/gw.log"
  python3 "$T/gw.py" "$GW" "$1" "$T/gw.log" 2>> "$T/gw.err" &
  gwpid=$!
  pids+=($gwpid)
  for _ in $(seq 50); do grep -q ready "$T/gw.log" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
stopgw() { kill "$gwpid" 2>/dev/null; wait "$gwpid" 2>/dev/null; }

if ! gw natpmp; then nok "fake gateway on $GW:5351" "$(cat "$T/gw.err")"; exit 0; fi
out=$(timeout 30 "$L" portmap --protocol natpmp add 4321 2>&1); rc=$?
check "natpmp add: JSON with the external address and port" \
  '[ $rc = 0 ] && [ "$out" = "{\"protocol\":\"natpmp\",\"gateway\":\"$GW\",\"external_ip\":\"203.0.113.9\",\"internal_port\":4321,\"external_port\":4321,\"lifetime_s\":3600}" ]' "rc=$rc $out"
check "natpmp add: the gateway saw a 1 h mapping request" 'grep -q "natpmp map 4321 4321 3600" "$T/gw.log"' "$(cat "$T/gw.log")"
out=$(timeout 30 "$L" portmap --protocol natpmp delete 4321 2>&1); rc=$?
check "natpmp delete: JSON" '[ $rc = 0 ] && [ "$out" = "{\"protocol\":\"natpmp\",\"gateway\":\"$GW\",\"deleted\":4321}" ]' "rc=$rc $out"
check "natpmp delete: lifetime 0, port 0 (RFC 6886 3.4)" 'grep -q "natpmp map 4321 0 0" "$T/gw.log"' "$(cat "$T/gw.log")"
out=$(timeout 30 "$L" portmap --protocol natpmp list 2>&1); rc=$?
check "natpmp list: the external address, mappings null" '[ $rc = 0 ] && [ "$out" = "{\"protocol\":\"natpmp\",\"gateway\":\"$GW\",\"external_ip\":\"203.0.113.9\",\"mappings\":null}" ]' "rc=$rc $out"
out=$(timeout 30 "$L" portmap --protocol pcp add 4321 2>&1); rc=$?
check "pcp add against a NAT-PMP-only gateway: exit 1, one line" '[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"

# listen --portmap: the driver finds the gateway, the service maps the
# listen port (0.0.0.0 counts as private; loopback alone would not)
"$L" listen --events --portmap natpmp /ip4/0.0.0.0/tcp/0 > "$T/l.out" 2> "$T/l.err" &
pids+=($!); lpid=$!
for _ in $(seq 100); do grep -q "^mapped" "$T/l.out" 2>/dev/null && break; sleep 0.1; done
port=$(head -n 1 "$T/l.out" | cut -d/ -f5)
check "listen --portmap natpmp prints the mapping" 'grep -qx "mapped /ip4/203.0.113.9/tcp/$port via natpmp" "$T/l.out"' "$(cat "$T/l.out" "$T/l.err" "$T/gw.log")"
kill $lpid; wait $lpid 2>/dev/null
check "listen deletes its NAT-PMP mapping when it stops" 'grep -q "natpmp map $port 0 0" "$T/gw.log"' "$(cat "$T/gw.log")"
stopgw

gw pcp
out=$(timeout 30 "$L" portmap --protocol pcp add 4322 2>&1); rc=$?
check "pcp add: JSON" '[ $rc = 0 ] && [ "$out" = "{\"protocol\":\"pcp\",\"gateway\":\"$GW\",\"external_ip\":\"203.0.113.9\",\"internal_port\":4322,\"external_port\":4322,\"lifetime_s\":3600}" ]' "rc=$rc $out"
out=$(timeout 30 "$L" portmap --protocol pcp delete 4322 2>&1); rc=$?
check "pcp delete: JSON" '[ $rc = 0 ] && [ "$out" = "{\"protocol\":\"pcp\",\"gateway\":\"$GW\",\"deleted\":4322}" ]' "rc=$rc $out"
n1=$(awk '/pcp map 4322 4322 3600/{print $6}' "$T/gw.log"); n2=$(awk '/pcp map 4322 0 0/{print $6}' "$T/gw.log")
check "pcp delete carries the nonce of the add (RFC 6887 11.2)" '[ -n "$n1" ] && [ "$n1" = "$n2" ]' "$(cat "$T/gw.log")"
out=$(timeout 30 "$L" portmap --protocol pcp list 2>&1); rc=$?
check "pcp list: PCP cannot list (exit 1, one line)" '[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"
stopgw

# nobody at the gateway: NAT-PMP gives up after its retries
out=$(timeout 30 "$L" portmap --protocol natpmp list 2>&1); rc=$?
check "natpmp with a silent gateway: exit 1, one line" '[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"
timeout 25 "$L" listen --events --portmap natpmp /ip4/0.0.0.0/tcp/0 > "$T/f.out" 2>&1
check "listen --events --portmap natpmp, silent gateway: portmap-failed timeout" 'grep -qx "portmap-failed timeout" "$T/f.out"' "$(cat "$T/f.out")"

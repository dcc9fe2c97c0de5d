#!/bin/bash
# lp2p nat and lp2p stun-server (README "Hole punching"): on loopback there
# is no NAT, so every source must report the open behaviour, and the
# degraded sources must say "unknown" instead of guessing.
#  - an RFC 5780 server (127.0.0.1 + 127.0.0.2, two ports): mapping and
#    filtering endpoint-independent, the port preserved, the UDP external
#    address; a silent first --stun falls through to the next one;
#  - an RFC 5389-only server (one socket, no OTHER-ADDRESS): mapping and
#    filtering unknown, the external address still known;
#  - --peer: two peers on two IPs observe one local port: mapping
#    endpoint-independent, filtering unknown (only STUN can tell);
#  - listen --events --stun prints the nat-type line;
#  - usage errors exit 2 with one line, a dead server exits 1.
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

wait_lines() { for _ in $(seq 100); do [ "$(wc -l < "$1")" -ge "$2" ] && return 0; sleep 0.1; done; return 1; }

# two STUN servers on ports picked from the pid (no fixed port to clash)
P=$((20000 + ($$ % 20000)))
"$L" stun-server --primary 127.0.0.1:$P --alternate 127.0.0.2:$((P + 1)) > "$T/s1.out" 2> "$T/s1.err" &
pids+=($!)
"$L" stun-server --primary 127.0.0.1:$((P + 2)) > "$T/s2.out" 2> "$T/s2.err" &
pids+=($!)
wait_lines "$T/s1.out" 1; wait_lines "$T/s2.out" 1
check "stun-server prints its addresses" 'grep -qx "stun-server 127.0.0.1:$P other 127.0.0.2:$((P + 1))" "$T/s1.out"' "$(cat "$T/s1.out" "$T/s1.err")"
check "stun-server without --alternate: RFC 5389 only" 'grep -qx "stun-server 127.0.0.1:$((P + 2))" "$T/s2.out"' "$(cat "$T/s2.out" "$T/s2.err")"

J='^\{"mapping":"endpoint-independent","filtering":"endpoint-independent","preserves_port":true,"external":\["/ip4/127\.0\.0\.1/udp/[0-9]+"\]\}$'
out=$(timeout 30 "$L" nat --stun 127.0.0.1:$P 2>&1); rc=$?
check "nat --stun (RFC 5780 server, no NAT): EIM, EIF, port preserved, exit 0" '[ $rc = 0 ] && grep -Eq "$J" <<<"$out"' "rc=$rc $out"

out=$(timeout 30 "$L" nat --stun 127.0.0.1:$((P + 3)) --stun 127.0.0.1:$P 2>&1); rc=$?
check "nat: a silent first server, the second answers" '[ $rc = 0 ] && grep -Eq "$J" <<<"$out"' "rc=$rc $out"

out=$(timeout 30 "$L" nat --stun 127.0.0.1:$((P + 2)) 2>&1); rc=$?
check "nat against an RFC 5389-only server: mapping and filtering unknown" '[ $rc = 0 ] && grep -Eq "^\{\"mapping\":\"unknown\",\"filtering\":\"unknown\",\"preserves_port\":true,\"external\":\[\"/ip4/127\.0\.0\.1/udp/[0-9]+\"\]\}$" <<<"$out"' "rc=$rc $out"

out=$(timeout 30 "$L" nat --timeout 2 --stun 127.0.0.1:$((P + 3)) 2>&1); rc=$?
check "nat with a dead server: exit 1, one line" '[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "no answer from the STUN server" <<<"$out"' "rc=$rc $out"

# --peer: two peers on two loopback IPs
"$L" listen /ip4/127.0.0.1/tcp/0 > "$T/p1.out" 2>/dev/null & pids+=($!)
"$L" listen /ip4/127.0.0.2/tcp/0 > "$T/p2.out" 2>/dev/null & pids+=($!)
wait_lines "$T/p1.out" 1; wait_lines "$T/p2.out" 1
a1=$(head -n1 "$T/p1.out"); a2=$(head -n1 "$T/p2.out")
out=$(timeout 30 "$L" nat --peer "$a1" --peer "$a2" --listen /ip4/127.0.0.1/tcp/0 2>&1); rc=$?
check "nat --peer x2: mapping EIM from observations, filtering unknown" '[ $rc = 0 ] && grep -Eq "^\{\"mapping\":\"endpoint-independent\",\"filtering\":\"unknown\",\"preserves_port\":true,\"external\":\[\"/ip4/127\.0\.0\.1/tcp/[0-9]+\"\]\}$" <<<"$out"' "rc=$rc $out"
out=$(timeout 30 "$L" nat --peer "$a1" --listen /ip4/127.0.0.1/tcp/0 2>&1); rc=$?
check "nat --peer x1: one observer cannot tell the mapping" '[ $rc = 0 ] && grep -Eq "^\{\"mapping\":\"unknown\",\"filtering\":\"unknown\"" <<<"$out"' "rc=$rc $out"

# listen --events --stun: the nat-type line
"$L" listen --events --stun 127.0.0.1:$P /ip4/127.0.0.1/tcp/0 > "$T/l.out" 2> "$T/l.err" & pids+=($!)
for _ in $(seq 100); do grep -q "^nat-type" "$T/l.out" && break; sleep 0.1; done
check "listen --events --stun: nat-type line" 'grep -qx "nat-type endpoint-independent endpoint-independent preserves-port true" "$T/l.out"' "$(cat "$T/l.out" "$T/l.err")"

# usage
for args in "" "--stun nope" "--stun 127.0.0.1:0" "--stun 127.0.0.1:$P extra" "--peer /bad"; do
  # shellcheck disable=SC2086
  err=$("$L" nat $args 2>&1 >/dev/null); rc=$?
  check "nat $args: usage error, exit 2, one line" '[ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ]' "rc=$rc $err"
done
err=$("$L" stun-server --primary 127.0.0.1:$P --alternate 127.0.0.1:$((P + 9)) 2>&1 >/dev/null); rc=$?
check "stun-server --alternate on the same IP: exit 2" '[ $rc = 2 ] && [ "$(wc -l <<<"$err")" = 1 ]' "rc=$rc $err"
err=$("$L" stun-server 2>&1 >/dev/null); rc=$?
check "stun-server without --primary: exit 2" '[ $rc = 2 ]' "rc=$rc $err"

#!/bin/bash
# punch path upkeep when the direct connection dies (issue 14 "Path
# upkeep"), run by tests/punch/run.sh inside `unshare -rn` (a network
# namespace of our own, where `ss -K` may destroy sockets): a relay, out
# and in on loopback (LP2P_PUBLIC_CIDRS makes loopback punchable); once
# the path went direct and the relayed connection closed, in's side of the
# direct connection is destroyed. Expected: a status line with the reason,
# in reconnects through the relay, forwarding works again, and a new
# punch goes direct again. Arguments: P H T (punch, helper.py, a temp dir).
set -u
P=$1 H=$2 T=$3
ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }
wait_line() {
  local i
  for ((i = 0; i < ${3:-20} * 10; i++)); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
count() { grep -cE "$2" "$1" 2>/dev/null; }
ip link set lo up || { nok "fallback: cannot bring up lo in the namespace"; exit 0; }
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null' EXIT
export PUNCH_LOG=info LP2P_PUBLIC_CIDRS=127.0.0.0/8
python3 "$H" tcp-echo > "$T/fb_echo.out" 2>/dev/null & PIDS+=($!)
PUNCH_SECRET_KEY=$T/fb_relay.key "$P" relay --listen /ip4/127.0.0.1/tcp/0 > "$T/fb_relay.out" 2> "$T/fb_relay.err" & PIDS+=($!)
wait_line "$T/fb_relay.out" /p2p/ 10; wait_line "$T/fb_echo.out" "^port" 10
E=$(awk '{print $2}' "$T/fb_echo.out")
export PUNCH_RELAY_MODE=$(head -1 "$T/fb_relay.out")
PUNCH_SECRET_KEY=$T/fb_out.key "$P" out $E 2> "$T/fb_out.err" & PIDS+=($!)
wait_line "$T/fb_out.err" "relay reservation on" 20
KO=$(sed -n 's/^punch: public key //p' "$T/fb_out.err")
LP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PUNCH_SECRET_KEY=$T/fb_in.key "$P" in $KO $LP:$E 2> "$T/fb_in.err" & PIDS+=($!)
if ! wait_line "$T/fb_in.err" "relayed -> direct" 30; then
  nok "fallback: the path never went direct (cannot test the fallback)"; exit 0
fi
# the relayed connection closes once idle after the punch (10 s)
wait_line "$T/fb_in.err" "connection to $KO ended" 20 || true
sleep 12
DPORT=$(sed -n "s|.*relayed -> direct /ip4/127\.0\.0\.1/tcp/\([0-9]*\),.*|\1|p" "$T/fb_in.err" | head -1)
SPORT=$(sed -n "s|^punch: address /ip4/127\.0\.0\.1/tcp/\([0-9]*\)/p2p/.*|\1|p" "$T/fb_in.err" | head -1)
ss -K "( sport = :$SPORT and dport = :$DPORT )" > /dev/null 2>&1
wait_line "$T/fb_in.err" "direct path to $KO lost" 10
check "fallback: the direct path's end is one status line with its reason" \
  grep -qE "direct path to $KO lost \(.+\); (new connections use the relay|reconnecting through the relay)" "$T/fb_in.err"
check "fallback: in is connected through the relay again" wait_line "$T/fb_in.err" "peer $KO connected: relayed" 10
check "fallback: forwarding works again after the direct path died" \
  test "$(python3 "$H" tcp-roundtrip $LP 6261636b)" = 6261636b
for ((i = 0; i < 300 && $(count "$T/fb_in.err" "relayed -> direct") < 2; i++)); do sleep 0.1; done
check "fallback: a new punch goes direct again" test "$(count "$T/fb_in.err" "relayed -> direct")" -ge 2
exit 0

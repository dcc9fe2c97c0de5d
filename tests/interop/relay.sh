#!/bin/bash
# Circuit relay v2 interop (README "Relay"): js-libp2p's relay
# (@libp2p/circuit-relay-v2 4.2.13, stock settings, relay.mjs) and lp2p's
# (`lp2p listen --relay-server`), each with reservations and circuits from
# both sides. One TAP line per case; ends with "# N passed, N failed".
#   1. js relay: lp2p reserves, lp2p pings it through the relay; an echo
#      past js's data limit (128 KiB, both directions counted together) is
#      cut and the reservation survives
#   2. lp2p relay: js reserves, lp2p pings it through the relay, and so
#      does a js client
#   3. lp2p relay: lp2p reserves, js pings it through the relay
#   4. js relay: js reserves, lp2p pings it through the relay
set -u
DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
B=${LP2P_BUILD:-build}
case $B in /*) ;; *) B=$(cd "$DIR/../.." && pwd)/$B ;; esac
LP2P=$B/bin/lp2p
NODE=$DIR/.node/node_modules/node/bin/node
JS=("$NODE" "$DIR/relay.mjs")
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lp2p-relay.XXXXXX") || { echo "not ok - relay-tmpdir"; exit 1; }
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  sleep 0.3
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  exec 9>&- 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
mkfifo "$TMP/hold" && exec 9<>"$TMP/hold"

npass=0; nfail=0
ok() { echo "ok - $1"; npass=$((npass + 1)); }
nok() { echo "not ok - $1: $2"; nfail=$((nfail + 1)); }
wait_for() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
why() { head -n1 "$1" 2>/dev/null | cut -c1-200; }

if ! out=$(bash "$DIR/setup.sh" 2>&1); then
  echo "not ok - relay-interop-setup: $(tail -n1 <<<"$out")"; exit 1
fi

# start NAME CMD...: background program, stdin from the hold fifo
start() {
  local name=$1; shift
  "$@" < "$TMP/hold" > "$TMP/$name.out" 2> "$TMP/$name.err" &
  PIDS+=($!)
}

# relays: js and lp2p
start jsrelay "${JS[@]}" relay
start crelay "$LP2P" listen --relay-server /ip4/127.0.0.1/tcp/0
wait_for "$TMP/jsrelay.out" '^ready' 30 || { echo "not ok - js relay starts: $(why "$TMP/jsrelay.err")"; exit 1; }
wait_for "$TMP/crelay.out" '^/ip4/' 10 || { echo "not ok - lp2p relay starts: $(why "$TMP/crelay.err")"; exit 1; }
JSRELAY=$(grep -m1 '^listen /ip4/127.0.0.1/' "$TMP/jsrelay.out" | cut -d' ' -f2)
CRELAY=$(head -n1 "$TMP/crelay.out")

# 1. js relay, lp2p reserves, lp2p pings
start ct1 "$LP2P" listen --events --relay "$JSRELAY" /ip4/127.0.0.1/tcp/0
if wait_for "$TMP/ct1.out" '/p2p-circuit/p2p/' 20; then
  circ=$(grep -m1 '/p2p-circuit/p2p/' "$TMP/ct1.out")
  ok "lp2p reserves on a js relay: $circ"
  if out=$(timeout 30 "$LP2P" ping -n 3 "$circ" 2>&1) && [ "$(grep -c '^rtt_ms' <<<"$out")" = 3 ]; then
    ok "lp2p pings lp2p through a js relay"
  else nok "lp2p pings lp2p through a js relay" "$(tail -n1 <<<"$out")"; fi
  if out=$(timeout 30 "$LP2P" echo --bytes 2000 "$circ" 2>&1) && [ "$out" = "echo ok 1" ]; then
    ok "an echo within js's data limit goes through"
  else nok "an echo within js's data limit goes through" "$(tail -n1 <<<"$out")"; fi
  if ! out=$(timeout 30 "$LP2P" echo --bytes 200000 "$circ" 2>&1); then
    ok "an echo past js's 128 KiB data limit is cut ($(tail -n1 <<<"$out" | cut -c1-80))"
  else nok "an echo past js's 128 KiB data limit is cut" "it went through: $out"; fi
  if out=$(timeout 30 "$LP2P" ping "$circ" 2>&1) && grep -q '^rtt_ms' <<<"$out"; then
    ok "the reservation on the js relay survives a cut circuit"
  else nok "the reservation on the js relay survives a cut circuit" "$(tail -n1 <<<"$out")"; fi
else
  nok "lp2p reserves on a js relay" "$(why "$TMP/ct1.err") $(tail -n2 "$TMP/ct1.out" | tr '\n' ' ')"
fi

# 2. lp2p relay, js reserves, lp2p pings
start jt2 "${JS[@]}" reserve "$CRELAY"
if wait_for "$TMP/jt2.out" '^ready' 30; then
  circ=$(grep -m1 '^circuit ' "$TMP/jt2.out" | cut -d' ' -f2)
  ok "js reserves on an lp2p relay: $circ"
  if out=$(timeout 30 "$LP2P" ping -n 3 "$circ" 2>&1) && [ "$(grep -c '^rtt_ms' <<<"$out")" = 3 ]; then
    ok "lp2p pings js through an lp2p relay"
  else nok "lp2p pings js through an lp2p relay" "$(tail -n1 <<<"$out")"; fi
  wait_for "$TMP/jt2.out" '^circuit-in 12D3Koo' 5 && ok "js sees the relayed connection" || nok "js sees the relayed connection" "$(tail -n3 "$TMP/jt2.out" | tr '\n' ' ')"
  # js clients on both ends, lp2p in the middle
  if out=$(timeout 60 "${JS[@]}" ping -n 2 "$circ" 2>&1) && grep -q '^ping ok 2' <<<"$out"; then
    ok "js pings js through an lp2p relay"
  else nok "js pings js through an lp2p relay" "$(tail -n1 <<<"$out")"; fi
else
  nok "js reserves on an lp2p relay" "$(why "$TMP/jt2.err")"
fi

# 3. lp2p relay, lp2p reserves, js pings
start ct3 "$LP2P" listen --events --relay "$CRELAY" /ip4/127.0.0.1/tcp/0
if wait_for "$TMP/ct3.out" '/p2p-circuit/p2p/' 20; then
  circ=$(grep -m1 '/p2p-circuit/p2p/' "$TMP/ct3.out")
  if out=$(timeout 60 "${JS[@]}" ping -n 3 "$circ" 2>&1) && grep -q '^ping ok 3' <<<"$out"; then
    ok "js pings lp2p through an lp2p relay"
  else nok "js pings lp2p through an lp2p relay" "$(tail -n1 <<<"$out")"; fi
  wait_for "$TMP/ct3.out" '^circuit in 12D3Koo' 5 && ok "lp2p prints circuit in <js id>" || nok "lp2p prints circuit in <js id>" "$(tail -n3 "$TMP/ct3.out" | tr '\n' ' ')"
else
  nok "lp2p reserves on an lp2p relay" "$(why "$TMP/ct3.err")"
fi

# 4. js relay, js reserves, lp2p pings
start jt4 "${JS[@]}" reserve "$JSRELAY"
if wait_for "$TMP/jt4.out" '^ready' 30; then
  circ=$(grep -m1 '^circuit ' "$TMP/jt4.out" | cut -d' ' -f2)
  if out=$(timeout 30 "$LP2P" ping -n 3 "$circ" 2>&1) && [ "$(grep -c '^rtt_ms' <<<"$out")" = 3 ]; then
    ok "lp2p pings js through a js relay"
  else nok "lp2p pings js through a js relay" "$(tail -n1 <<<"$out")"; fi
else
  nok "js reserves on a js relay" "$(why "$TMP/jt4.err")"
fi

echo "# $npass passed, $nfail failed"
[ $nfail = 0 ]

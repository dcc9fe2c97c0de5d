#!/bin/bash
# Circuit relay v2 through the tool (README "Relay"): a relay
# (`listen --relay-server`), a target that reserves on it (`listen --relay`
# prints its /p2p-circuit address), and a client that pings the target by
# that address alone. Then the relay's limits: a circuit past its data
# limit is cut, the reservation survives. Usage errors exit 2.
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

# start NAME LINES ARGS...: lp2p listen ARGS, wait for LINES lines of output
start() {
  local name=$1 lines=$2; shift 2
  : > "$T/$name.out"
  "$L" listen "$@" > "$T/$name.out" 2> "$T/$name.err" &
  pids+=($!)
  lpid=$!
  for _ in $(seq 100); do [ "$(wc -l < "$T/$name.out")" -ge "$lines" ] && break; sleep 0.1; done
}

start relay 1 --relay-server --relay-limit-data 65536 /ip4/127.0.0.1/tcp/0
raddr=$(head -n 1 "$T/relay.out")
check "the relay listens" '[[ "$raddr" =~ ^/ip4/127.0.0.1/tcp/[1-9][0-9]*/p2p/12D3Koo ]]' "$raddr $(cat "$T/relay.err")"

start target 2 --events --relay "$raddr" /ip4/127.0.0.1/tcp/0
taddr=$(head -n 1 "$T/target.out")
tid=${taddr##*/p2p/}
circ=$(grep -m1 "/p2p-circuit/p2p/" "$T/target.out")
check "listen --relay prints the circuit address, ending in our id" '[ "$circ" = "$raddr/p2p-circuit/p2p/$tid" ]' "circ=$circ raddr=$raddr $(cat "$T/target.out" "$T/target.err")"
sleep 0.3
check "listen --events prints relay-reserved with the relay and an expiry" 'grep -Eq "^relay-reserved ${raddr##*/p2p/} [0-9]{10}$" "$T/target.out"' "$(cat "$T/target.out")"

out=$(timeout 20 "$L" ping -n 3 "$circ" 2>&1); rc=$?
check "ping through the relay by the circuit address alone" '[ $rc = 0 ] && [ "$(grep -c "^rtt_ms" <<<"$out")" = 3 ]' "rc=$rc $out"
sleep 0.3
check "the target prints circuit in <initiator>" 'grep -Eq "^circuit in 12D3Koo" "$T/target.out"' "$(cat "$T/target.out")"

# the data limit: 65536 bytes each way (the tool runs echo on limited
# connections): 2000 bytes go through, 200000 are cut
out=$(timeout 20 "$L" echo --bytes 2000 "$circ" 2>&1); rc=$?
check "an echo within the relay's data limit works" '[ $rc = 0 ] && [ "$out" = "echo ok 1" ]' "rc=$rc $out"
out=$(timeout 20 "$L" echo --bytes 200000 "$circ" 2>&1); rc=$?
check "an echo past the relay's data limit is cut (exit 1, one line)" '[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && ! grep -q "not allowed" <<<"$out"' "rc=$rc $out"
out=$(timeout 20 "$L" ping "$circ" 2>&1); rc=$?
check "the reservation survives a cut circuit: ping again" '[ $rc = 0 ] && grep -q "^rtt_ms" <<<"$out"' "rc=$rc $out"

# no reservation for that peer: the dial fails with one line, exit 1
bogus="$raddr/p2p-circuit/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
out=$(timeout 20 "$L" ping "$bogus" 2>&1); rc=$?
check "a circuit to a peer without a reservation fails (exit 1, one line)" '[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"

# --autorelay is accepted (AutoRelay itself: tests/test_relay.c)
start auto 1 --autorelay /ip4/127.0.0.1/tcp/0
check "listen --autorelay starts" '[[ "$(head -n 1 "$T/auto.out")" =~ ^/ip4/127.0.0.1/tcp/[1-9] ]]' "$(cat "$T/auto.err")"

# usage errors
out=$("$L" listen --relay-limit-data 5 /ip4/127.0.0.1/tcp/0 2>&1); rc=$?
check "--relay-limit-data without --relay-server is a usage error" '[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"
out=$("$L" listen --relay /ip4/127.0.0.1/tcp/1 /ip4/127.0.0.1/tcp/0 2>&1); rc=$?
check "--relay without /p2p/<id> is a usage error" '[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"

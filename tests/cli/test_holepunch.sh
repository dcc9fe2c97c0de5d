#!/bin/bash
# DCUtR through the tool (README "Hole punching"): a relay, a target that
# reserves on it with --holepunch, and `lp2p holepunch` dialling the
# target through the relay. On loopback nothing is public unless
# LP2P_PUBLIC_CIDRS says so: without it the target names why it does not
# punch and the dialer reports direct:false (exit 1); with
# LP2P_PUBLIC_CIDRS=127.0.0.0/8 both punch and the dialer prints the
# direct address (exit 0). Usage errors exit 2.
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

start() {
  local name=$1 lines=$2; shift 2
  : > "$T/$name.out"
  "$L" listen "$@" > "$T/$name.out" 2> "$T/$name.err" &
  pids+=($!)
  for _ in $(seq 100); do [ "$(wc -l < "$T/$name.out")" -ge "$lines" ] && break; sleep 0.1; done
}

# 1. loopback is private: the target says why it does not punch
start relay 1 --relay-server /ip4/127.0.0.1/tcp/0
raddr=$(head -n 1 "$T/relay.out")
start t1 2 --events --holepunch --relay "$raddr" /ip4/127.0.0.1/tcp/0
circ=$(grep -m1 "/p2p-circuit/p2p/" "$T/t1.out")
out=$(timeout 20 "$L" holepunch --timeout 3 --listen /ip4/127.0.0.1/tcp/0 "$circ" 2>&1); rc=$?
check "holepunch without a public address: direct false, exit 1" '[ $rc = 1 ] && grep -q "\"direct\":false" <<<"$out"' "rc=$rc $out"
sleep 0.3
check "the target names the reason (no-public-address-ours)" 'grep -Eq "^holepunch fail 12D3Koo[A-Za-z0-9]+ no-public-address-ours$" "$T/t1.out"' "$(grep holepunch "$T/t1.out")"

# 1b. --stun: the dialer classifies its NAT first (STUN done before its
# first TCP connection, the relay's), then dials; the outcome is the same
P=$((20000 + $$ % 20000))
"$L" stun-server --primary 127.0.0.1:$P --alternate 127.0.0.2:$((P + 1)) > "$T/stun.out" 2> "$T/stun.err" &
pids+=($!)
for _ in $(seq 50); do grep -q "^stun-server" "$T/stun.out" && break; sleep 0.1; done
out=$(LP2P_STUN_RTO_MS=100 LP2P_LOG=debug timeout 20 "$L" holepunch --timeout 3 --stun 127.0.0.1:$P --listen /ip4/127.0.0.1/tcp/0 "$circ" 2>&1); rc=$?
check "holepunch --stun: classified before the dial, then direct false, exit 1" '[ $rc = 1 ] && grep -q "\"direct\":false" <<<"$out" && grep -q "nat stun: done" <<<"$out" && [ "$(grep -n -m1 "nat stun: done" <<<"$out" | cut -d: -f1)" -lt "$(grep -n -m1 "tcp connected" <<<"$out" | cut -d: -f1)" ]' "rc=$rc $out"

# 2. LP2P_PUBLIC_CIDRS=127.0.0.0/8: loopback counts as public, the punch
# goes direct. The dialer is then reachable itself (its listen address
# counts as public), so the target takes the DCUtR spec's first step, the
# unilateral upgrade: it dials the dialer directly, attempts 0 on both
# sides. (Punches with real sockets behind real NATs: tests/nat.)
export LP2P_PUBLIC_CIDRS=127.0.0.0/8
start t2 2 --events --holepunch --relay "$raddr" /ip4/127.0.0.1/tcp/0
circ2=$(grep -m1 "/p2p-circuit/p2p/" "$T/t2.out")
out=$(timeout 30 "$L" holepunch --timeout 15 --listen /ip4/127.0.0.1/tcp/0 "$circ2" 2>&1); rc=$?
check "holepunch with loopback public: direct true, exit 0" '[ $rc = 0 ] && grep -Eq "\"direct\":true,\"addr\":\"/ip4/127.0.0.1/tcp/[0-9]+\",\"attempts\":0,\"ms\":[0-9]+" <<<"$out"' "rc=$rc $out"
sleep 0.3
check "the target prints holepunch ok <id> <addr> attempts 0 ms T (unilateral)" 'grep -Eq "^holepunch ok 12D3Koo[A-Za-z0-9]+ /ip4/127.0.0.1/tcp/[0-9]+ attempts 0 ms [0-9]+$" "$T/t2.out"' "$(grep holepunch "$T/t2.out")"
unset LP2P_PUBLIC_CIDRS

# 3. usage errors
out=$("$L" holepunch /ip4/127.0.0.1/tcp/1/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA 2>&1); rc=$?
check "holepunch without /p2p-circuit is a usage error" '[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"
out=$("$L" holepunch --timeout 0 "$circ" 2>&1); rc=$?
check "holepunch --timeout 0 is a usage error" '[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"
out=$("$L" holepunch --stun nohost.invalid:1 "$circ" 2>&1); rc=$?
check "holepunch --stun with a bad host is a usage error" '[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"
out=$(LP2P_STUN_RTO_MS=0 "$L" holepunch --stun 127.0.0.1:$P "$circ" 2>&1); rc=$?
check "LP2P_STUN_RTO_MS=0 is a usage error" '[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"

#!/bin/sh
# `make demo`: the main job as it exists today. Two lp2p nodes on loopback:
# one listens, the other connects, identifies it, pings it and runs a perf
# transfer. Then a signed peer record of the listener's identity.
set -e
B=${1:-build}
L="$B/bin/lp2p"
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
run() { echo "\$ $*" | sed "s|$L|lp2p|; s|$tmp/||g"; "$@"; }

run "$L" keygen --out "$tmp/key"
echo "\$ lp2p listen --key key /ip4/127.0.0.1/tcp/0 &"
"$L" listen --key "$tmp/key" /ip4/127.0.0.1/tcp/0 > "$tmp/addrs" &
pid=$!
i=0
while [ ! -s "$tmp/addrs" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
addr=$(head -n 1 "$tmp/addrs")
[ -n "$addr" ] || { echo "demo: the listener did not start" >&2; exit 1; }
echo "$addr"
run "$L" identify "$addr"
run "$L" ping -n 3 "$addr"
run "$L" perf --upload 104857600 --download 104857600 "$addr"
echo "\$ lp2p record seal --key key --seq 1 ${addr%/p2p/*}"
rec=$("$L" record seal --key "$tmp/key" --seq 1 "${addr%/p2p/*}")
echo "$rec"
echo "\$ lp2p record open <envelope>"
"$L" record open "$rec"
echo "\$ kill -TERM <listener>"
kill -TERM "$pid"
wait "$pid" && echo "listener exited 0"
pid=

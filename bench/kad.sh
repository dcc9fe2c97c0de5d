#!/bin/bash
# DHT find-peer latency against js-libp2p (issue 10 "Benchmarks"), run by
# `make bench` (mk/run-bench.sh, with LP2P_BUILD set). One run, side by
# side:
#
#  - a 20-node loopback network of lp2p DHT servers (`lp2p listen --dht
#    server`, each bootstrapping from the first; their self-lookups fill
#    the tables) and an lp2p client (`bench_kad --find-peer`: the host API
#    on the epoll driver, no process start-up per lookup);
#  - a 20-node loopback network of js DHT servers (tests/interop/kad.mjs
#    `servers 20`, @libp2p/kad-dht 16.4.5 with the interop suite's
#    loopback settings) and a js client (kad.mjs `bench-find-peer`).
#
# Both clients bootstrap from one server only and look up the other 19 in
# turn, LP2P_BENCH_KAD_LOOKUPS times in all (200); each lookup is timed
# from the call to its end inside the client process, and goes over the
# network (js: findPeer with useCache false; lp2p: the target is never in
# the client's table). The line `kad find-peer ... ratio=R` gives js's
# median over ours (> 1: lp2p is faster); two more lines give each client
# against the other's servers. Targets are reported, never
# enforced; exit 1 only on a real error (a server or client failing,
# js-libp2p not available: said loudly on stderr).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@" # run-bench.sh uses sh
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${LP2P_BUILD:-build}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
LP2P=$B/bin/lp2p
BK=$B/bench/bench_kad
INTEROP=$ROOT/tests/interop
NODE=$INTEROP/.node/node_modules/node/bin/node
N=${LP2P_BENCH_KAD_LOOKUPS:-200}

die() { echo "bench kad: $*" >&2; exit 1; }
[ -x "$LP2P" ] && [ -x "$BK" ] || die "build $LP2P and $BK first (make bench)"
if ! out=$(bash "$INTEROP/setup.sh" 2>&1); then
  die "js-libp2p is not available, no js reference: $(tail -n1 <<<"$out")"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/lp2p-bench-kad.XXXXXX") || die "no tmpdir"
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
start() {
  local name=$1; shift
  "$@" < "$TMP/hold" > "$TMP/$name.out" 2> "$TMP/$name.err" &
  PIDS+=($!)
}
wait_for() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# ---- the lp2p network ----------------------------------------------------
start c0 "$LP2P" listen --dht server /ip4/127.0.0.1/tcp/0
wait_for "$TMP/c0.out" '^/ip4/' 10 || die "lp2p server 0: $(head -c 300 "$TMP/c0.err")"
c=("$(head -n 1 "$TMP/c0.out")")
for i in $(seq 1 19); do
  start c$i "$LP2P" listen --dht server --bootstrap "${c[0]}" /ip4/127.0.0.1/tcp/0
  wait_for "$TMP/c$i.out" '^/ip4/' 10 || die "lp2p server $i: $(head -c 300 "$TMP/c$i.err")"
  c+=("$(head -n 1 "$TMP/c$i.out")")
done

# ---- the js network --------------------------------------------------------
start jsnet "$NODE" "$INTEROP/kad.mjs" servers 20
wait_for "$TMP/jsnet.out" '^ready' 90 || die "js servers: $(head -c 300 "$TMP/jsnet.err")"
mapfile -t js < <(sed -n 's/^listen //p' "$TMP/jsnet.out")
[ ${#js[@]} = 20 ] || die "js servers: ${#js[@]} of 20 listed"
sleep 2 # every self-lookup done (lp2p: 1 s after the first peer; js: 1 s)

ids() { local a; for a in "$@"; do echo "${a##*/p2p/}"; done; }
mapfile -t cid < <(ids "${c[@]:1}")
mapfile -t jid < <(ids "${js[@]:1}")
ours=$("$BK" --find-peer "$N" "${c[0]}" "${cid[@]}" 2>&1) || die "lp2p client: $ours"
theirs=$("$NODE" "$INTEROP/kad.mjs" client --bootstrap "${js[0]}" bench-find-peer "$N" "${jid[@]}" 2>&1 < /dev/null | grep '^find-peer') ||
  die "js client: $theirs"
# across (for the record: which side's cost is the client's, which the
# servers'): the lp2p client against the js servers, and the reverse
cross_c=$("$BK" --find-peer "$N" "${js[0]}" "${jid[@]}" 2>&1) || die "lp2p client -> js: $cross_c"
cross_js=$("$NODE" "$INTEROP/kad.mjs" client --bootstrap "${c[0]}" bench-find-peer "$N" "${cid[@]}" 2>&1 < /dev/null | grep '^find-peer') ||
  die "js client -> lp2p: $cross_js"
om=$(sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p' <<<"$ours")
tm=$(sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p' <<<"$theirs")
[ -n "$om" ] && [ -n "$tm" ] || die "no medians: lp2p '$ours' js '$theirs'"
echo "lp2p client, lp2p servers: $ours"
echo "js   client, js   servers: $theirs"
echo "lp2p client, js   servers: $cross_c"
echo "js   client, lp2p servers: $cross_js"
awk -v o="$om" -v t="$tm" 'BEGIN { printf "kad find-peer 20 nodes loopback: lp2p median %.3f ms, js median %.3f ms, ratio js/lp2p %.2f\n", o, t, (o > 0 ? t / o : 0) }'

#!/bin/bash
# The Kademlia DHT through the tool (issue 10's CLI): six
# `lp2p listen --dht server` nodes on loopback, each bootstrapping from the
# first, then `lp2p dht` as a client: find-peer, closest, put/get of /pk
# and /ipns (sealed with `lp2p ipns seal`), provide/providers, and the exit
# codes (1: not found / no reachable bootstrap peer; 2: usage).
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
  local name=$1; shift
  "$L" listen --events "$@" /ip4/127.0.0.1/tcp/0 > "$T/$name.out" 2> "$T/$name.err" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$T/$name.out" ] && break; sleep 0.1; done
}

NODES=6
start n0 --dht server
boot=$(head -n 1 "$T/n0.out")
check "a DHT server listens" '[[ "$boot" =~ ^/ip4/127.0.0.1/tcp/[1-9][0-9]*/p2p/12D3Koo ]]' "$boot $(cat "$T/n0.err")"
for i in $(seq 1 $((NODES - 1))); do start n$i --dht server --bootstrap "$boot"; done
addr() { head -n 1 "$T/n$1.out"; }
pid() { local a; a=$(addr "$1"); echo "${a##*/p2p/}"; }
# the self-lookups run 1 s after the first peer: wait for the tables
for _ in $(seq 50); do
  full=1
  for i in $(seq 0 $((NODES - 1))); do
    n=$(grep '^dht-peers ' "$T/n$i.out" | tail -n 1 | cut -d' ' -f2)
    [ "${n:-0}" -ge $((NODES - 2)) ] || full=0
  done
  [ $full = 1 ] && break
  sleep 0.2
done
check "every server's table fills (dht-peers lines)" '[ $full = 1 ]' "$(grep -h dht-peers "$T"/n*.out | tr '\n' ' ')"

dht() { timeout 30 "$L" dht --bootstrap "$@"; }

# find-peer: one JSON line with the peer, its address and the hop count
p4=$(pid 4); a4=$(addr 4)
out=$(dht "$boot" find-peer "$p4" 2>"$T/err"); rc=$?
check "find-peer finds a server by its id" '[ $rc = 0 ] && [ "$(wc -l <<<"$out")" = 1 ] && [[ "$out" =~ ^\{\"peer\":\"$p4\",\"addrs\":\[.*\"${a4%/p2p/*}\".*\],\"hops\":[1-9]\}$ ]]' "rc=$rc $out $(cat "$T/err")"
p0=$(pid 0)
out=$(dht "$boot" find-peer "$p0" 2>"$T/err"); rc=$?
check "find-peer of the bootstrap peer itself: hops 1" '[ $rc = 0 ] && [[ "$out" =~ \"hops\":1\}$ ]]' "rc=$rc $out $(cat "$T/err")"

# closest to a server's id: that server first, every server listed
p2=$(pid 2)
out=$(dht "$(addr 5)" closest "$p2" 2>"$T/err"); rc=$?
listed=0
for i in $(seq 0 $((NODES - 1))); do grep -q "\"$(pid $i)\"" <<<"$out" && listed=$((listed + 1)); done
check "closest: the key's own peer first, all $NODES servers listed" '[ $rc = 0 ] && [[ "$out" =~ ^\{\"key\":\"$p2\",\"peers\":\[\"$p2\" ]] && [ $listed = $NODES ]' "rc=$rc listed=$listed $out $(cat "$T/err")"

# /pk: a key no node has seen, put through one server, read through another
"$L" keygen --out "$T/k1" >/dev/null
kid=$("$L" id --key "$T/k1" | sed -n 1p); kpk=$("$L" id --key "$T/k1" | sed -n 2p)
out=$(dht "$boot" put "/pk/$kid" "$kpk" 2>"$T/err"); rc=$?
check "put /pk/<id> is stored" '[ $rc = 0 ] && [[ "$out" =~ ^\{\"key\":\"/pk/$kid\",\"stored\":[1-9][0-9]*\}$ ]]' "rc=$rc $out $(cat "$T/err")"
out=$(dht "$(addr 3)" get "/pk/$kid" 2>"$T/err"); rc=$?
check "get /pk/<id> returns the public key" '[ $rc = 0 ] && [ "$out" = "{\"key\":\"/pk/$kid\",\"value\":\"$kpk\"}" ]' "rc=$rc $out $(cat "$T/err")"
out=$(dht "$boot" put "/pk/$kid" 0801 2>&1); rc=$?
check "put of an invalid /pk value: exit 1, nothing sent" '[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"

# /ipns: seal, open, put, get
rec=$("$L" ipns seal --key "$T/k1" --value /ipfs/bafkqaaa --seq 7 --validity 3600); rc=$?
check "ipns seal prints a record" '[ $rc = 0 ] && [[ "$rec" =~ ^[0-9a-f]+$ ]]' "rc=$rc $rec"
out=$("$L" ipns open --name "$kid" "$rec" 2>&1); rc=$?
check "ipns open prints value, seq, validity, ttl_ns" '[ $rc = 0 ] && [ "$(sed -n 1p <<<"$out")" = "value /ipfs/bafkqaaa" ] && [ "$(sed -n 2p <<<"$out")" = "seq 7" ] && [[ "$(sed -n 3p <<<"$out")" =~ ^validity\ 20[0-9][0-9]-.*Z$ ]] && [ "$(sed -n 4p <<<"$out")" = "ttl_ns 300000000000" ]' "rc=$rc $out"
"$L" keygen --out "$T/k2" >/dev/null
other=$("$L" id --key "$T/k2" | sed -n 1p)
out=$("$L" ipns open --name "$other" "$rec" 2>&1); rc=$?
check "ipns open under another name: exit 1" '[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"
out=$(dht "$(addr 1)" put "/ipns/$kid" "$rec" 2>"$T/err"); rc=$?
check "put /ipns/<id> is stored" '[ $rc = 0 ] && [[ "$out" =~ \"stored\":[1-9] ]]' "rc=$rc $out $(cat "$T/err")"
out=$(dht "$(addr 4)" get "/ipns/$kid" 2>"$T/err"); rc=$?
check "get /ipns/<id> returns the record" '[ $rc = 0 ] && [ "$out" = "{\"key\":\"/ipns/$kid\",\"value\":\"$rec\"}" ]' "rc=$rc $out $(cat "$T/err")"

# provide / providers
cid=bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy
out=$(dht "$boot" --key "$T/k1" provide "$cid" 2>"$T/err"); rc=$?
check "provide CID is stored" '[ $rc = 0 ] && [[ "$out" =~ ^\{\"cid\":\"$cid\",\"stored\":[1-9][0-9]*\}$ ]]' "rc=$rc $out $(cat "$T/err")"
out=$(dht "$(addr 2)" providers "$cid" 2>"$T/err"); rc=$?
check "providers CID lists the provider with an address" '[ $rc = 0 ] && [[ "$out" =~ ^\{\"cid\":\"$cid\",\"providers\":\[\{\"peer\":\"$kid\",\"addrs\":\[\"/ip4/127.0.0.1/tcp/[1-9] ]]' "rc=$rc $out $(cat "$T/err")"

# exit codes
out=$(dht "$boot" get nothing-stored-here 2>&1); rc=$?
check "get of a missing key: exit 1, one line" '[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"
out=$(dht "/ip4/127.0.0.1/tcp/1/p2p/$kid" get x 2>&1); rc=$?
check "no reachable bootstrap peer: exit 1" '[ $rc = 1 ] && [[ "$out" =~ "no reachable bootstrap peer" ]]' "rc=$rc $out"
# no --bootstrap: the public DHT's default list. These machines cannot
# reach it (DNS or the dials fail): one line, exit 1, on its own (the
# join waits 30 s at most; a hang would end in timeout's 124). Online, the
# same random peer is simply not found: exit 1, one line too.
ghost=$("$L" keygen --out "$T/ghost" >/dev/null && "$L" id --key "$T/ghost" | sed -n 1p)
out=$(timeout 50 "$L" dht --timeout 60 find-peer "$ghost" 2>&1); rc=$?
check "no --bootstrap: the public list, one line, exit 1, no hang" '[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && [[ "$out" =~ "no reachable bootstrap peer"|"not found" ]]' "rc=$rc $out"
out=$(dht "$boot" frobnicate x 2>&1); rc=$?
check "an unknown DHT verb: exit 2" '[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"
out=$(dht "$boot" provide not-a-cid 2>&1); rc=$?
check "provide of a non-CID: exit 2" '[ $rc = 2 ]' "rc=$rc $out"
out=$("$L" listen --dht sometimes /ip4/127.0.0.1/tcp/0 2>&1); rc=$?
check "listen --dht with a bad mode: exit 2" '[ $rc = 2 ]' "rc=$rc $out"

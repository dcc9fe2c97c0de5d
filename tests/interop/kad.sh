#!/bin/bash
# Kademlia DHT interop (issue 10): js-libp2p's @libp2p/kad-dht 16.4.5
# (kad.mjs) and lp2p (`lp2p listen --dht server`, `lp2p dht`). js runs
# with stock settings except what loopback needs: clientMode false on its
# servers, the passthrough peer-info mapper (the default drops loopback
# addresses), the ipns package's (10.1.6) validator and selector for
# /ipns, and a higher inbound-connections-per-second-per-IP threshold (on
# loopback every peer has the same IP). One TAP line per case; ends with "# N passed, N failed".
#   A. an lp2p client against 10 js servers: find-peer, closest (the same
#      set js computes: with k = 20, every server), put/get of /pk and
#      /ipns both ways, provide / providers both ways
#   B. a js client against 10 lp2p servers: the same
#   C. a mixed network of 20 (the 10 js servers of A and 10 new lp2p
#      servers that bootstrap from all of them): each operation issued
#      from a js client and from an lp2p client, and the answers agree:
#      closest (the same 20), find-peer of a js and of an lp2p member,
#      put/get of /pk and /ipns written from either side and read from
#      both, provide/providers from either side found by both
set -u
DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
B=${LP2P_BUILD:-build}
case $B in /*) ;; *) B=$(cd "$DIR/../.." && pwd)/$B ;; esac
LP2P=$B/bin/lp2p
NODE=$DIR/.node/node_modules/node/bin/node
JS=("$NODE" "$DIR/kad.mjs")
TMP=$(mktemp -d "${TMPDIR:-/tmp}/lp2p-kad.XXXXXX") || { echo "not ok - kad-tmpdir"; exit 1; }
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
check() { if eval "$2"; then ok "$1"; else nok "$1" "$(printf '%s' "${3:-}" | tr '\n' ' ' | cut -c1-300)"; fi; }
wait_for() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

if ! out=$(bash "$DIR/setup.sh" 2>&1); then
  echo "not ok - kad-interop-setup: $(tail -n1 <<<"$out")"; exit 1
fi

start() {
  local name=$1; shift
  "$@" < "$TMP/hold" > "$TMP/$name.out" 2> "$TMP/$name.err" &
  PIDS+=($!)
}
sorted() { tr ',' '\n' | sort | tr '\n' ' '; }
# the ids in one list only: "ours-only: ... theirs-only: ..."
setdiff() {
  echo "ours-only: $(comm -23 <(tr ' ' '\n' <<<"$1" | sort) <(tr ' ' '\n' <<<"$2" | sort) | tr '\n' ' ')" \
       "theirs-only: $(comm -13 <(tr ' ' '\n' <<<"$1" | sort) <(tr ' ' '\n' <<<"$2" | sort) | tr '\n' ' ')" \
       "counts $(wc -w <<<"$1")/$(wc -w <<<"$2")"
}
ids_of_json() { grep -oE '12D3Koo[1-9A-HJ-NP-Za-km-z]+' | sort | tr '\n' ' '; }

"$LP2P" keygen --out "$TMP/k1" >/dev/null
kid=$("$LP2P" id --key "$TMP/k1" | sed -n 1p); kpk=$("$LP2P" id --key "$TMP/k1" | sed -n 2p)
"$LP2P" keygen --out "$TMP/k2" >/dev/null
kid2=$("$LP2P" id --key "$TMP/k2" | sed -n 1p); kpk2=$("$LP2P" id --key "$TMP/k2" | sed -n 2p)
rec1=$("$LP2P" ipns seal --key "$TMP/k1" --value /ipfs/bafkqaaa --seq 1 --validity 3600)
rec2=$("$LP2P" ipns seal --key "$TMP/k1" --value /ipfs/bafkqaaa --seq 2 --validity 3600)
rec3=$("$LP2P" ipns seal --key "$TMP/k2" --value /ipfs/bafkqaaa --seq 5 --validity 3600)
rec4=$("$LP2P" ipns seal --key "$TMP/k2" --value /ipfs/bafkqaaa --seq 6 --validity 3600)
cid1=bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy
cid2=bafkreidon73zkcrwdb5iafqtijxildoonbwnpv7dyd6ef3qdgads2jc4su
cid3=bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku
cid4=bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4

# Clients bootstrap from every member of the network under test (NET):
# a js server names only peers closer to the key than the requester, so a
# client that knows one server may never hear of the others; the issue's
# test networks dial their members to each other explicitly.
NET=()
boots() { local a; for a in "${NET[@]}"; do printf -- '--bootstrap\n%s\n' "$a"; done; }
lp2p_dht() { local b; mapfile -t b < <(boots); timeout 60 "$LP2P" dht "${b[@]}" "$@"; }
js_client() { local b; mapfile -t b < <(boots); timeout 90 "${JS[@]}" client "${b[@]}" "$@" 2>&1 < /dev/null; }

# ---- A: an lp2p client against 10 js servers --------------------------------
start jsnet "${JS[@]}" servers 10
if ! wait_for "$TMP/jsnet.out" '^ready' 60; then
  echo "not ok - js DHT servers start: $(head -c 300 "$TMP/jsnet.err")"; exit 1
fi
mapfile -t js < <(sed -n 's/^listen //p' "$TMP/jsnet.out")
NET=("${js[@]}")
jid() { echo "${js[$1]##*/p2p/}"; }

out=$(lp2p_dht find-peer "$(jid 7)" 2>&1); rc=$?
check "A1 lp2p find-peer of a js server" '[ $rc = 0 ] && [[ "$out" =~ ^\{\"peer\":\"$(jid 7)\",\"addrs\":\[\"/ip4/127.0.0.1/tcp/ ]]' "rc=$rc $out"

out=$(LP2P_LOG=debug lp2p_dht closest interop-key 2>"$TMP/a2.log"); rc=$?
ours=$(ids_of_json <<<"$out")
why_a2=$(grep -E "dial failed|bad answer|refused" "$TMP/a2.log" | head -n 3 | cut -c1-160)
jsout=$(js_client closest interop-key); theirs=$(sed -n 's/^peers //p' <<<"$jsout" | sorted)
all_js=$(for i in "${!js[@]}"; do jid "$i"; done | sort | tr '\n' ' ')
check "A2 closest: lp2p and js give the same set, all 10 js servers (k = 20)" '[ $rc = 0 ] && [ "$ours" = "$all_js" ] && [ "$ours" = "$theirs" ]' "rc=$rc $(setdiff "$ours" "$theirs") all: $(wc -w <<<"$all_js") $why_a2"

out=$(lp2p_dht put "/pk/$kid" "$kpk" 2>&1); rc=$?
jsout=$(js_client get "/pk/$kid")
check "A3 /pk written by lp2p, read by js" '[ $rc = 0 ] && grep -qx "value $kpk" <<<"$jsout"' "rc=$rc $out / $jsout"

jsout=$(js_client put "/pk/$kid2" "$kpk2")
out=$(lp2p_dht get "/pk/$kid2" 2>&1); rc=$?
check "A4 /pk written by js, read by lp2p" '[ $rc = 0 ] && [ "$out" = "{\"key\":\"/pk/$kid2\",\"value\":\"$kpk2\"}" ]' "rc=$rc $out / $jsout"

out=$(lp2p_dht put "/ipns/$kid" "$rec1" 2>&1); rc=$?
jsout=$(js_client get "/ipns/$kid")
check "A5 /ipns written by lp2p, read by js" '[ $rc = 0 ] && grep -qx "value $rec1" <<<"$jsout"' "rc=$rc $out / $jsout"

jsout=$(js_client put "/ipns/$kid" "$rec2")
out=$(lp2p_dht get "/ipns/$kid" 2>&1); rc=$?
check "A6 /ipns (a newer record) written by js, read by lp2p" '[ $rc = 0 ] && [ "$out" = "{\"key\":\"/ipns/$kid\",\"value\":\"$rec2\"}" ]' "rc=$rc $out / $jsout"

out=$(lp2p_dht --key "$TMP/k1" provide "$cid1" 2>&1); rc=$?
jsout=$(js_client providers "$cid1")
check "A7 provided by lp2p, found by js" '[ $rc = 0 ] && grep -q "^providers .*$kid" <<<"$jsout"' "rc=$rc $out / $jsout"

jsout=$(js_client provide "$cid2"); jself=$(sed -n 's/^self //p' <<<"$jsout")
out=$(lp2p_dht providers "$cid2" 2>&1); rc=$?
check "A8 provided by js, found by lp2p (with an address)" '[ $rc = 0 ] && [ -n "$jself" ] && [[ "$out" =~ \{\"peer\":\"$jself\",\"addrs\":\[\"/ip4/ ]]' "rc=$rc $out / $jsout"

# ---- B: a js client against 10 lp2p servers ---------------------------------
start c0 "$LP2P" listen --dht server /ip4/127.0.0.1/tcp/0
wait_for "$TMP/c0.out" '^/ip4/' 10 || { echo "not ok - lp2p DHT server starts: $(head -c 300 "$TMP/c0.err")"; exit 1; }
c=("$(head -n 1 "$TMP/c0.out")")
for i in $(seq 1 9); do
  start c$i "$LP2P" listen --dht server --bootstrap "${c[0]}" /ip4/127.0.0.1/tcp/0
  wait_for "$TMP/c$i.out" '^/ip4/' 10 && c+=("$(head -n 1 "$TMP/c$i.out")")
done
sleep 2 # the self-lookups, 1 s after the first peer
NET=("${c[@]}")
cid() { echo "${c[$1]##*/p2p/}"; }

jsout=$(js_client find-peer "$(cid 6)")
check "B1 js find-peer of an lp2p server" 'grep -q "^peer $(cid 6) /ip4/127.0.0.1/tcp/" <<<"$jsout"' "$jsout"

jsout=$(js_client closest interop-key); theirs=$(sed -n 's/^peers //p' <<<"$jsout" | sorted)
out=$(lp2p_dht closest interop-key 2>&1); rc=$?
ours=$(ids_of_json <<<"$out")
all_c=$(for i in "${!c[@]}"; do cid "$i"; done | sort | tr '\n' ' ')
check "B2 closest: js and lp2p give the same set, all 10 lp2p servers" '[ $rc = 0 ] && [ "$ours" = "$all_c" ] && [ "$ours" = "$theirs" ]' "rc=$rc $(setdiff "$ours" "$theirs") all: $(wc -w <<<"$all_c")"

"$LP2P" keygen --out "$TMP/k3" >/dev/null
kid3=$("$LP2P" id --key "$TMP/k3" | sed -n 1p); kpk3=$("$LP2P" id --key "$TMP/k3" | sed -n 2p)
jsout=$(js_client put "/pk/$kid3" "$kpk3")
out=$(lp2p_dht get "/pk/$kid3" 2>&1); rc=$?
check "B3 /pk written by js, read by lp2p" '[ $rc = 0 ] && [ "$out" = "{\"key\":\"/pk/$kid3\",\"value\":\"$kpk3\"}" ]' "rc=$rc $out / $jsout"

out=$(lp2p_dht put "/ipns/$kid2" "$rec3" 2>&1); rc=$?
jsout=$(js_client get "/ipns/$kid2")
check "B4 /ipns written by lp2p, read by js" '[ $rc = 0 ] && grep -qx "value $rec3" <<<"$jsout"' "rc=$rc $out / $jsout"

jsout=$(js_client put "/ipns/$kid2" "$rec4")
out=$(lp2p_dht get "/ipns/$kid2" 2>&1); rc=$?
check "B5 /ipns (a newer record) written by js, read by lp2p" '[ $rc = 0 ] && [ "$out" = "{\"key\":\"/ipns/$kid2\",\"value\":\"$rec4\"}" ]' "rc=$rc $out / $jsout"

jsout=$(js_client provide "$cid3"); jself=$(sed -n 's/^self //p' <<<"$jsout")
out=$(lp2p_dht providers "$cid3" 2>&1); rc=$?
check "B6 provided by js, found by lp2p (with an address)" '[ $rc = 0 ] && [ -n "$jself" ] && [[ "$out" =~ \{\"peer\":\"$jself\",\"addrs\":\[\"/ip4/ ]]' "rc=$rc $out / $jsout"

out=$(lp2p_dht --key "$TMP/k1" provide "$cid4" 2>&1); rc=$?
jsout=$(js_client providers "$cid4")
check "B7 provided by lp2p, found by js" '[ $rc = 0 ] && grep -q "^providers .*$kid" <<<"$jsout"' "rc=$rc $out / $jsout"

# ---- C: a mixed network of 20 (10 js + 10 lp2p) ------------------------------
# The lp2p members dial every js server and the members before them (a js
# table fills only through identify, and identify of an lp2p server shows
# the kad protocol); the js servers are A's, still running.
m=()
for i in $(seq 0 9); do
  mb=(); for a in "${js[@]}" "${m[@]}"; do mb+=(--bootstrap "$a"); done
  start m$i "$LP2P" listen --dht server "${mb[@]}" /ip4/127.0.0.1/tcp/0
  wait_for "$TMP/m$i.out" '^/ip4/' 10 && m+=("$(head -n 1 "$TMP/m$i.out")")
done
sleep 2 # identify, then the self-lookups
NET=("${js[@]}" "${m[@]}")
mid() { echo "${m[$1]##*/p2p/}"; }
all_mixed=$( (for i in "${!js[@]}"; do jid "$i"; done; for i in "${!m[@]}"; do mid "$i"; done) | sort | tr '\n' ' ')
check "C0 the mixed network has 20 members" '[ "$(wc -w <<<"$all_mixed")" = 20 ]' "$all_mixed"

out=$(lp2p_dht closest mixed-key 2>&1); rc=$?; ours=$(ids_of_json <<<"$out")
jsout=$(js_client closest mixed-key); theirs=$(sed -n 's/^peers //p' <<<"$jsout" | sorted)
check "C1 closest from lp2p and from js: the same 20 members" '[ $rc = 0 ] && [ "$ours" = "$all_mixed" ] && [ "$ours" = "$theirs" ]' "rc=$rc $(setdiff "$ours" "$theirs")"

for who in "js $(jid 3)" "lp2p $(mid 4)"; do
  set -- $who
  out=$(lp2p_dht find-peer "$2" 2>&1); rc=$?
  ours=$(grep -oE '/ip4/127.0.0.1/tcp/[0-9]+' <<<"$out" | sort -u | tr '\n' ' ')
  jsout=$(js_client find-peer "$2")
  theirs=$(sed -n "s/^peer $2 //p" <<<"$jsout" | grep -oE '/ip4/127.0.0.1/tcp/[0-9]+' | sort -u | tr '\n' ' ')
  check "C2-$1 find-peer of a member running $1, from lp2p and from js: the same address" '[ $rc = 0 ] && [ -n "$ours" ] && [ "$ours" = "$theirs" ]' "rc=$rc ours: $ours theirs: $theirs / $out / $jsout"
done

"$LP2P" keygen --out "$TMP/k5" >/dev/null
kid5=$("$LP2P" id --key "$TMP/k5" | sed -n 1p); kpk5=$("$LP2P" id --key "$TMP/k5" | sed -n 2p)
"$LP2P" keygen --out "$TMP/k6" >/dev/null
kid6=$("$LP2P" id --key "$TMP/k6" | sed -n 1p); kpk6=$("$LP2P" id --key "$TMP/k6" | sed -n 2p)
rec5=$("$LP2P" ipns seal --key "$TMP/k5" --value /ipfs/bafkqaaa --seq 1 --validity 3600)
rec6=$("$LP2P" ipns seal --key "$TMP/k5" --value /ipfs/bafkqaaa --seq 2 --validity 3600)
# read KEY from both sides; both must return exactly VALUE
both_read() {
  local k=$1 v=$2 o r j
  o=$(lp2p_dht get "$k" 2>&1); r=$?
  j=$(js_client get "$k")
  [ $r = 0 ] && [ "$o" = "{\"key\":\"$k\",\"value\":\"$v\"}" ] && grep -qx "value $v" <<<"$j" && return 0
  echo "lp2p rc=$r $o / js $j"; return 1
}
out=$(lp2p_dht put "/pk/$kid5" "$kpk5" 2>&1); why=$(both_read "/pk/$kid5" "$kpk5")
check "C3 /pk written by lp2p: lp2p and js read the same" '[ -z "$why" ]' "$out / $why"
jsout=$(js_client put "/pk/$kid6" "$kpk6"); why=$(both_read "/pk/$kid6" "$kpk6")
check "C4 /pk written by js: lp2p and js read the same" '[ -z "$why" ]' "$jsout / $why"
out=$(lp2p_dht put "/ipns/$kid5" "$rec5" 2>&1); why=$(both_read "/ipns/$kid5" "$rec5")
check "C5 /ipns written by lp2p: lp2p and js read the same" '[ -z "$why" ]' "$out / $why"
jsout=$(js_client put "/ipns/$kid5" "$rec6"); why=$(both_read "/ipns/$kid5" "$rec6")
check "C6 /ipns (newer) written by js: lp2p and js read the newer" '[ -z "$why" ]' "$jsout / $why"

cid5=bafkreicjcoswrh6qjftcwnji4o7nd6eotr4lbtzyl76hopigwsreetvfae
cid6=bafkreifn5fvkp7bvhezabdanudlh6iof5rngm5hsz3aklgbt6hczeoy3o4
# providers of CID from both sides; both must list PEER
both_providers() {
  local o r j
  o=$(lp2p_dht providers "$1" 2>&1); r=$?
  j=$(js_client providers "$1")
  [ $r = 0 ] && [[ "$o" =~ \"peer\":\"$2\" ]] && grep -q "^providers .*$2" <<<"$j" && return 0
  echo "lp2p rc=$r $o / js $j"; return 1
}
out=$(lp2p_dht --key "$TMP/k5" provide "$cid5" 2>&1); why=$(both_providers "$cid5" "$kid5")
check "C7 provided by lp2p: lp2p and js both find it" '[ -z "$why" ]' "$out / $why"
jsout=$(js_client provide "$cid6"); jself=$(sed -n 's/^self //p' <<<"$jsout")
why=$(both_providers "$cid6" "${jself:-none}")
check "C8 provided by js: lp2p and js both find it" '[ -n "$jself" ] && [ -z "$why" ]' "$jsout / $why"

echo "# $npass passed, $nfail failed"
[ $nfail = 0 ]

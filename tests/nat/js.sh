#!/bin/bash
# js-libp2p in the hole-punching lab (tests/nat/punchlab): a stock js peer
# (TCP, circuit relay v2 client, @libp2p/dcutr; tests/interop/dcutr.mjs)
# behind a NAT whose filtering is EIF or ADF, and an lp2p peer behind a
# full-cone NAT, through the lp2p relay. js-libp2p runs under the test-only
# loader hook tests/interop/lab-public (LIBP2P_LAB_PUBLIC_CIDRS), without
# which it counts the lab's 198.18/15 as private and dials none of it.
#
# What js can and cannot do (its 3.x TCP stack): it drops the TCP
# addresses peers observe for it and names no public address in CONNECT,
# and it dials from a fresh port, never from its listen port. So nobody
# can dial js behind a NAT; the direct connection is always js dialling
# the lp2p peer's public address after SYNC, which works when the lp2p
# peer's NAT lets an unknown sender in on its listen port (EIF: the relay
# connection from that port opened the mapping). lp2p answers a CONNECT
# without addresses and waits for that SYN. Cases:
#   - js dials through the relay (DCUtR's A), lp2p listens (B): direct
#   - js holds the reservation (B), `lp2p holepunch` dials (A): direct
#   - lp2p behind a port-restricted NAT: no way in; lp2p names
#     no-public-address-theirs and the relayed connection still pings
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib"
lab_root "$0" "$@"

B_DIR="$(realpath "${LP2P_BUILD:-build}")"
L="$B_DIR/bin/lp2p"
DELAY="$B_DIR/tests/nat/nfq-delay"
IDIR=$(cd "$here/../interop" && pwd)
lab_start js
lab_need nft:nftables conntrack:conntrack iptables-legacy:iptables
[ -x "$L" ] || { nok "lp2p binary exists at $L"; exit 1; }
[ -x "$DELAY" ] || { nok "nfq-delay built at $DELAY (make tests)"; exit 1; }
if ! bash "$IDIR/setup.sh" 2> "$T/setup.err"; then
  nok "js-libp2p for the NAT lab" "$(tail -1 "$T/setup.err")"; exit 1
fi
NODE="$IDIR/.node/node_modules/node/bin/node"
export LP2P_PUBLIC_CIDRS=198.18.0.0/15 LIBP2P_LAB_PUBLIC_CIDRS=198.18.0.0/15
export LIBP2P_LAB_PUBLIC_QUIET=1
JS=("$NODE" --import "$IDIR/lab-public/register.mjs" "$IDIR/dcutr.mjs")

. "$here/punchlab"

PORT=21000
# js dials lp2p's reservation: js_a JS_NAT LP2P_NAT EXPECT(direct|relayed)
js_a() {
  local jn=$1 ln=$2 want=$3 o="$T/ja-$1-$2" bpid bid got
  nat_set A "$jn" drop && nat_set B "$ln" drop || { nok "nft rules"; return; }
  PORT=$((PORT + 1))
  LP2P_LOG=info ip netns exec "$P-b" timeout 120 "$L" listen --events --holepunch \
    --relay "$RELAY" /ip4/0.0.0.0/tcp/$PORT > "$o.b" 2> "$o.b.err" &
  bpid=$!
  reserved() { grep -q "/p2p-circuit/p2p/" "$o.b" 2> /dev/null; }
  if ! lab_wait 20 reserved; then
    nok "lp2p reserves on the relay" "$(tail -3 "$o.b.err")"
    kill $bpid 2> /dev/null; wait $bpid 2> /dev/null; return
  fi
  bid=$(sed -n 's|.*/p2p-circuit/p2p/||p' "$o.b" | head -n 1)
  ip netns exec "$P-a" timeout 90 "${JS[@]}" dial "$RELAY/p2p-circuit/p2p/$bid" \
    > "$o.a" 2> "$o.a.err" < /dev/null
  lab_wait 2 grep -q "^holepunch " "$o.b"
  got=$(sed -n 's/^\(direct\|relayed\).*/\1/p' "$o.a")
  local what="js (DCUtR A) behind $jn dials lp2p (B) behind $ln: $(head -c 200 <<< "$(grep -v '^self' "$o.a" | tr '\n' ' ')") / lp2p: $(grep "^holepunch " "$o.b" | cut -d' ' -f2,4-)"
  if [ "$got" = "$want" ] && grep -q '^ping ok' "$o.a" &&
    { [ "$want" = relayed ] || grep -q "^direct /ip4/198.18.0.12/tcp/$PORT" "$o.a"; } &&
    grep -q "^holepunch $([ "$want" = direct ] && echo ok || echo "fail .* no-public-address-theirs")" "$o.b"; then
    ok "$what"
  else
    nok "$what" "expected $want; js: $(tail -2 "$o.a.err" | tr '\n' ' ')"
  fi
  kill $bpid 2> /dev/null; wait $bpid 2> /dev/null
}

# lp2p dials js's reservation: js_b JS_NAT LP2P_NAT EXPECT(direct|relayed)
js_b() {
  local jn=$1 ln=$2 want=$3 o="$T/jb-$1-$2" jpid cid line
  nat_set B "$jn" drop && nat_set A "$ln" drop || { nok "nft rules"; return; }
  PORT=$((PORT + 1))
  mkfifo "$o.in"
  ip netns exec "$P-b" timeout 120 "${JS[@]}" reserve "$RELAY" \
    > "$o.b" 2> "$o.b.err" < "$o.in" &
  jpid=$!
  exec 8> "$o.in" # js runs until its stdin closes
  ready() { grep -q "^ready" "$o.b" 2> /dev/null; }
  if ! lab_wait 30 ready; then
    nok "js reserves on the lp2p relay" "$(tail -2 "$o.b.err")"
    exec 8>&-; kill $jpid 2> /dev/null; wait $jpid 2> /dev/null; return
  fi
  cid=$(sed -n 's/^circuit //p' "$o.b" | head -n 1)
  LP2P_LOG=info ip netns exec "$P-a" timeout 60 "$L" holepunch --timeout 30 \
    --listen /ip4/0.0.0.0/tcp/$PORT "$cid" > "$o.a" 2> "$o.a.err"
  line=$(cat "$o.a")
  local what="lp2p (DCUtR A) behind $ln dials js (B) behind $jn: $line"
  if [ "$want" = direct ]; then
    check "$what" 'grep -q "\"direct\":true" <<< "$line" && grep -q "^direct .* /ip4/198.18.0.11/tcp/$PORT" "$o.b"' \
      "js: $(grep -v "^circuit\|^self" "$o.b" | tr '\n' ' ') $(tail -2 "$o.b.err" | tr '\n' ' ')"
  else
    local p
    p=$(ip netns exec "$P-a" timeout 30 "$L" ping -n 1 "$cid" 2>&1)
    check "$what; ping through the relay" 'grep -q "\"reason\":\"no-public-address-theirs\"" <<< "$line" && grep -q "^rtt_ms " <<< "$p"' "$p"
  fi
  exec 8>&-
  kill $jpid 2> /dev/null; wait $jpid 2> /dev/null
}

for jn in eim-eif eim-adf; do
  js_a $jn eim-eif direct
  js_b $jn eim-eif direct
done
js_a eim-eif eim-apdf relayed
js_b eim-eif eim-apdf relayed

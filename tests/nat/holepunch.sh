#!/bin/bash
# Hole punching (DCUtR, issue 12) between two lp2p peers behind real Linux
# NAT boxes in network namespaces, through a public lp2p relay.
#
#                 inet: bridge br0 198.18.0.1 (drops TTL <= 1: one router hop)
#        _______________|________________________________
#       |                         |                      |
#     relay 198.18.0.10          ra (NAT A)             rb (NAT B)
#     lp2p listen                wan0 198.18.0.11       wan0 198.18.0.12
#       --relay-server           lan0 10.0.1.1          lan0 10.0.2.1
#                                 |                      |
#                                a 10.0.1.2             b 10.0.2.2
#                     lp2p holepunch ...     lp2p listen --holepunch --relay R
#
# Per run: conntrack flushed on both NATs, B reserves on the relay, A runs
# `lp2p holepunch R/p2p-circuit/p2p/B` (from a fresh port each run, so no
# TIME_WAIT of an earlier run is in the way). A direct result must be on
# B's NAT address; a failed one must name its reason and a ping through
# the relay must still work.
#
# NAT types (nftables, RFC 4787 mapping / filtering), each with a `drop`
# firewall (unsolicited inbound vanishes) or `rst` (TCP RST, ICMP port
# unreachable: what a bare Linux MASQUERADE box does):
#   eim-eif   endpoint-independent mapping (port preserving), full cone
#   eim-adf   ... address-dependent filtering (restricted cone)
#   eim-apdf  ... address+port-dependent filtering (plain conntrack)
#   apdm      symmetric: masquerade fully-random
#   apdmseq   symmetric with sequential ports 40000, 40001, ...
# Latency: each NAT's WAN ingress goes through nfq-delay (built from
# nfq_delay.c: the kernel may have no netem) for RTT/2, so the peers are
# RTT apart directly and through the relay.
#
# Expected (what plain sockets did in the same setup; TCP with a
# listener on the punch port): direct when both NATs map independently
# of the endpoint, or when either side filters by address only or not at
# all (the symmetric side's SYN then reaches the other's listener); the
# rest cannot punch (symmetric against port-dependent filtering).
#
#   bash tests/nat/holepunch.sh            quick subset (make test)
#   bash tests/nat/holepunch.sh --matrix   every pair x drop/rst x RTTs
#       (make nat-matrix; NAT_RUNS=3 NAT_RTTS="0 50" NAT_TYPES=... NAT_FWS=...)
# Root, or unprivileged through unshare -rnm (tests/nat/lib).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib"
lab_root "$0" "$@"
mode=quick
[ "${1:-}" = --matrix ] && mode=matrix

B_DIR="$(realpath "${LP2P_BUILD:-build}")"
L="$B_DIR/bin/lp2p"
DELAY="$B_DIR/tests/nat/nfq-delay"
P="hp$$"
T=$(mktemp -d)
trap lab_cleanup EXIT
lab_need nft:nftables conntrack:conntrack iptables-legacy:iptables
[ -x "$L" ] || { nok "lp2p binary exists at $L"; exit 1; }
[ -x "$DELAY" ] || { nok "nfq-delay built at $DELAY (make tests)"; exit 1; }
export LP2P_PUBLIC_CIDRS=198.18.0.0/15 # the lab's "internet" is public

RELAY_IP=198.18.0.10

# ---- topology -------------------------------------------------------------
lab_ns_add inet relay ra rb a b
nsx inet ip link add br0 type bridge
nsx inet ip link set br0 up
nsx inet ip addr add 198.18.0.1/24 dev br0
# The bridge stands for at least one router between the NATs: a packet
# that arrives with TTL 1 dies here, silently (a low-TTL first SYN opens
# the sender's NAT and never reaches the far one, DESIGN 5b).
nsx inet nft -f - <<'EOF'
table bridge hop {
  chain forward { type filter hook forward priority filter; ip ttl 1 drop; }
}
EOF
for n in relay ra rb; do
  ifn=wan0; [ $n = relay ] && ifn=eth0
  lab_veth inet "v-$n" $n $ifn
  nsx inet ip link set "v-$n" master br0
done
nsx relay ip addr add $RELAY_IP/24 dev eth0
nsx relay ip route add default via 198.18.0.1
for s in a b; do
  r=r$s; i=1; [ $s = b ] && i=2
  nsx $r ip addr add 198.18.0.1$i/24 dev wan0
  nsx $r ip route add default via 198.18.0.1
  lab_veth $r lan0 $s eth0
  nsx $r ip addr add 10.0.$i.1/24 dev lan0
  nsx $r sysctl -qw net.ipv4.ip_forward=1
  nsx $s ip addr add 10.0.$i.2/24 dev eth0
  nsx $s ip route add default via 10.0.$i.1
done

# ---- NAT boxes ------------------------------------------------------------
# nft's numgen gives a host-order number; a NAT port wants network order,
# so sequential ports go through an index -> port map (40000 + i).
SEQ_PORTS=1024
seq_elems() {
  local i out=""
  for ((i = 0; i < SEQ_PORTS; i++)); do out+="$i : $((40000 + i)), "; done
  echo "${out%, }"
}
SEQ_MAP="map seqport { typeof numgen inc mod $SEQ_PORTS : tcp sport; elements = { $(seq_elems) } }"

# nat_set A|B TYPE drop|rst: (re)writes the router's table and forgets
# its connections
nat_set() {
  local r=r${1,,} type=$2 fw=$3 wan mapping filter="" maps="" learn="" admit="" deny
  wan=198.18.0.1$([ "$r" = ra ] && echo 1 || echo 2)
  case "$type" in
    eim-*) mapping='oifname "wan0" masquerade' ;;
    apdm) mapping='oifname "wan0" masquerade fully-random' ;;
    apdmseq)
      maps=$SEQ_MAP
      mapping="oifname \"wan0\" meta l4proto { tcp, udp } snat ip to $wan : numgen inc mod $SEQ_PORTS map @seqport
               oifname \"wan0\" masquerade" ;;
    *) echo "nat_set: unknown type $type" >&2; return 1 ;;
  esac
  # EIF / ADF: every outbound flow leaves its mapping in a set keyed by
  # the external port (EIF) or port + remote IP (ADF); a new inbound
  # flow that hits one is forwarded to the inside host (conntrack alone
  # admits only replies from the same IP and port: APDF).
  case "$type" in
    *-eif) filter="proto . port"
      maps+=" map cone { type inet_proto . inet_service : ipv4_addr . inet_service; flags dynamic,timeout; timeout 120s; }" ;;
    *-adf) filter="proto . port . ip"
      maps+=" map cone { type inet_proto . inet_service . ipv4_addr : ipv4_addr . inet_service; flags dynamic,timeout; timeout 120s; }" ;;
  esac
  case "$filter" in
    "proto . port")
      learn='oifname "wan0" meta l4proto { tcp, udp } update @cone { meta l4proto . th sport timeout 120s : ct original ip saddr . ct original proto-src }'
      admit='iifname "wan0" ct state new meta l4proto { tcp, udp } dnat ip to meta l4proto . th dport map @cone' ;;
    "proto . port . ip")
      learn='oifname "wan0" meta l4proto { tcp, udp } update @cone { meta l4proto . th sport . ip daddr timeout 120s : ct original ip saddr . ct original proto-src }'
      admit='iifname "wan0" ct state new meta l4proto { tcp, udp } dnat ip to meta l4proto . th dport . ip saddr map @cone' ;;
  esac
  case "$fw" in
    drop) deny='iifname "wan0" ct state new drop' ;;
    rst) deny='iifname "wan0" ct state new meta l4proto tcp reject with tcp reset
               iifname "wan0" ct state new reject with icmp type port-unreachable' ;;
    *) echo "nat_set: firewall drop|rst" >&2; return 1 ;;
  esac
  nsx $r nft delete table ip nat 2> /dev/null
  nsx $r nft -f - <<EOF || return 1
table ip nat {
  $maps
  chain pre {
    type nat hook prerouting priority dstnat + 10;
    $admit
  }
  chain post {
    type nat hook postrouting priority srcnat;
    $mapping
  }
  # after NAT: th sport is the external port, ct original the inside one
  chain learn {
    type filter hook postrouting priority srcnat + 200;
    $learn
  }
  chain input {
    type filter hook input priority filter;
    iifname "wan0" ct state established,related accept
    iifname "wan0" icmp type echo-request accept
    $deny
  }
  chain forward {
    type filter hook forward priority filter;
    ct state established,related accept
    iifname "lan0" accept
    ct status dnat accept
    $deny
  }
}
EOF
  nsx $r conntrack -F > /dev/null 2>&1
  return 0
}

# delay_set RTT_MS: each NAT's WAN ingress waits RTT/2 (0: no delay)
DPIDS=()
delay_set() {
  local half=$(($1 / 2)) r pid
  for pid in "${DPIDS[@]}"; do kill "$pid" 2> /dev/null; wait "$pid" 2> /dev/null; done
  DPIDS=()
  for r in ra rb; do
    nsx $r iptables-legacy -t raw -F PREROUTING
    [ "$half" = 0 ] && continue
    ip netns exec "$P-$r" "$DELAY" 0 "$half" 3600 2>> "$T/nfq-$r.log" &
    DPIDS+=($!)
    sleep 0.1
    nsx $r iptables-legacy -t raw -A PREROUTING -i wan0 -j NFQUEUE \
      --queue-num 0 --queue-bypass || return 1
  done
}

# ---- the relay ------------------------------------------------------------
ip netns exec "$P-relay" timeout 7200 "$L" listen --relay-server \
  --relay-limit-duration 0 --relay-limit-data 0 /ip4/$RELAY_IP/tcp/4001 \
  > "$T/relay.out" 2> "$T/relay.err" &
relay_up() { grep -q "/p2p/" "$T/relay.out" 2> /dev/null; }
lab_wait 10 relay_up || { nok "relay starts" "$(cat "$T/relay.err")"; exit 1; }
RELAY=$(head -n 1 "$T/relay.out")
ok "relay listens: $RELAY"

# ---- one run --------------------------------------------------------------
PORT=20000
# punch_once: sets R to "direct MS ADDR" or "fail REASON ping-ok|ping-FAILED";
# logs stay in $T/run-N.*
RUN=0
R=
punch_once() {
  RUN=$((RUN + 1))
  local o="$T/run-$RUN" pa pb bpid bid line reason pingrc
  PORT=$((PORT + 2)); pa=$PORT; pb=$((PORT + 1))
  nsx ra conntrack -F > /dev/null 2>&1
  nsx rb conntrack -F > /dev/null 2>&1
  local tr=()
  if [ -n "${NAT_TRACE:-}" ]; then # NAT_TRACE=1: both NATs' conntrack events
    ip netns exec "$P-ra" timeout 120 conntrack -E -o timestamp -p tcp > "$o.ct-ra" 2>&1 &
    tr+=($!)
    ip netns exec "$P-rb" timeout 120 conntrack -E -o timestamp -p tcp > "$o.ct-rb" 2>&1 &
    tr+=($!)
    if command -v tcpdump > /dev/null; then # and the LAN side's packets
      ip netns exec "$P-a" timeout 120 tcpdump -lni eth0 -tt -v "tcp and not port 4001" > "$o.pcap-a" 2>&1 &
      tr+=($!)
      ip netns exec "$P-b" timeout 120 tcpdump -lni eth0 -tt -v "tcp and not port 4001" > "$o.pcap-b" 2>&1 &
      tr+=($!)
      sleep 0.5
    fi
  fi
  ip netns exec "$P-b" timeout 120 "$L" listen --events --holepunch \
    --relay "$RELAY" /ip4/0.0.0.0/tcp/$pb > "$o.b" 2> "$o.b.err" &
  bpid=$!
  reserved() { grep -q "/p2p-circuit/p2p/" "$o.b" 2> /dev/null; }
  if ! lab_wait 20 reserved; then
    kill $bpid 2> /dev/null; wait $bpid 2> /dev/null
    R="fail no-reservation -"; return
  fi
  bid=$(sed -n 's|.*/p2p-circuit/p2p/||p' "$o.b" | head -n 1)
  LP2P_LOG=${NAT_LOG:-debug} ip netns exec "$P-a" timeout 60 "$L" holepunch --timeout 40 \
    --listen /ip4/0.0.0.0/tcp/$pa "$RELAY/p2p-circuit/p2p/$bid" > "$o.a" 2> "$o.a.err"
  line=$(cat "$o.a")
  if grep -q '"direct":true' <<< "$line"; then
    local ms addr
    ms=$(sed -n 's/.*"ms":\([0-9]*\).*/\1/p' <<< "$line")
    addr=$(sed -n 's/.*"addr":"\([^"]*\)".*/\1/p' <<< "$line")
    # after SYNC: from A's last "punching" log line (A dials on SYNC) to
    # its "direct" line: TCP, then Noise and yamux on the new connection
    # (tcp: to the first TCP connection to B's NAT after it)
    local after tcp
    after=$(awk '/ dcutr .*punching /{t=$1} / dcutr .* direct \(ok\)/{if (t != "") printf "%d", ($1 - t) * 1000 + 0.5; exit}' "$o.a.err")
    tcp=$(awk '/ dcutr .*punching /{t=$1} /(tcp connected|a punch.s connection)/ && /198\.18\.0\.12/{if (t != "") {printf "%d", ($1 - t) * 1000 + 0.5; exit}}' "$o.a.err")
    R="direct $ms $addr ${after:--} ${tcp:--}"
  else
    reason=$(sed -n 's/.*"reason":"\([^"]*\)".*/\1/p' <<< "$line")
    ip netns exec "$P-a" timeout 30 "$L" ping -n 1 "$RELAY/p2p-circuit/p2p/$bid" \
      > "$o.ping" 2>&1
    pingrc=$?
    [ $pingrc = 0 ] && grep -q '^rtt_ms ' "$o.ping" && pingrc=ok || pingrc=FAILED
    R="fail ${reason:-none} ping-$pingrc"
  fi
  kill $bpid "${tr[@]}" 2> /dev/null; wait $bpid "${tr[@]}" 2> /dev/null
}

# expect TYPE_A TYPE_B: "direct" or "fail" (the header's rule)
expect() {
  case "$1/$2" in
    *eif/* | *adf/* | */*eif | */*adf | eim-*/eim-*) echo direct ;;
    *) echo fail ;;
  esac
}

median() {
  if [ $# = 0 ]; then echo -; return; fi
  printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"
}

# case TYPE_A TYPE_B FW RTT RUNS: runs and judges one cell. Prints one
# TAP line and appends "a b fw rtt runs direct median reasons" to
# $T/table.
case_run() {
  local ta=$1 tb=$2 fw=$3 rtt=$4 runs=$5 exp i r ms=() sy=() tc=() reasons="" bad="" good=0
  nat_set A "$ta" "$fw" && nat_set B "$tb" "$fw" || { nok "$ta x $tb $fw: nft rules load"; return; }
  [ "$rtt" = "$CUR_RTT" ] || { delay_set "$rtt" || { nok "delay $rtt ms"; return; }; CUR_RTT=$rtt; }
  exp=$(expect "$ta" "$tb")
  for ((i = 0; i < runs; i++)); do
    punch_once; r=$R
    case "$r" in
      direct\ *)
        set -- $r
        ms+=("$2"); good=$((good + 1))
        [ "$4" = - ] || sy+=("$4")
        [ "$5" = - ] || tc+=("$5")
        [ "${3#/ip4/198.18.0.1}" != "$3" ] || bad+=" run $RUN: direct to $3 (not a NAT's address)"
        [ "$exp" = direct ] || bad+=" run $RUN: direct" ;; # better than theory: said, not hidden
      fail\ *)
        set -- $r
        reasons+="$2,"
        [ "$exp" = fail ] || bad+=" run $RUN: $2"
        [ "$3" = ping-ok ] || bad+=" run $RUN: no ping through the relay" ;;
    esac
  done
  local med syn tcp
  med=$(median "${ms[@]}"); syn=$(median "${sy[@]}"); tcp=$(median "${tc[@]}")
  reasons=$(tr ',' '\n' <<< "${reasons%,}" | grep . | sort | uniq -c | awk '{printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1}')
  echo "$ta $tb $fw $rtt $runs $good $med $tcp $syn ${reasons:--}" >> "$T/table"
  local what="$ta x $tb, $fw firewall, rtt $rtt ms: $good/$runs direct (expected $exp)${ms:+, median ${med} ms (after SYNC: TCP ${tcp} ms, secured ${syn} ms)}${reasons:+, failed: $reasons}"
  if [ -z "$bad" ]; then ok "$what"; else nok "$what" "${bad# }"; fi
}

CUR_RTT=0
: > "$T/table"
if [ $mode = quick ]; then
  # the cone pairs (RST firewalls at zero latency: the racy case) and
  # one hopeless pair, which must fail by name and stay relayed
  for pair in "eim-eif eim-eif" "eim-adf eim-adf" "eim-apdf eim-apdf" \
    "eim-eif eim-apdf" "eim-adf eim-apdf"; do
    case_run $pair rst 0 ${NAT_RUNS:-3}
  done
  case_run eim-apdf apdm drop 0 1
else
  types=(${NAT_TYPES:-eim-eif eim-adf eim-apdf apdm apdmseq})
  for rtt in ${NAT_RTTS:-0 50}; do
    for fw in ${NAT_FWS:-drop rst}; do
      for ((x = 0; x < ${#types[@]}; x++)); do
        for ((y = x; y < ${#types[@]}; y++)); do
          case_run "${types[x]}" "${types[y]}" "$fw" "$rtt" "${NAT_RUNS:-3}"
        done
      done
    done
  done
  echo "#"
  echo "# | NAT A (dialer) | NAT B (listener) | firewall | RTT ms | runs | direct | median ms to direct | after SYNC: TCP up, ms | after SYNC: secured, ms | failure reasons |"
  echo "# |---|---|---|---|---|---|---|---|---|---|---|"
  while read -r a b fw rtt runs good med tcp syn why; do
    echo "# | $a | $b | $fw | $rtt | $runs | $good | $med | $tcp | $syn | $why |"
  done < "$T/table"
fi
delay_set 0

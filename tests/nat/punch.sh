#!/bin/bash
# punch through real NATs (issue 14 "More tests"): Linux NAT boxes
# (nftables masquerade) in network namespaces.
#
#   relay 198.18.1.10 --+
#   ra 198.18.2.11 -----+-- inet (a router: one hop between the NATs, so a
#   rb 198.18.3.12 -----+         low-TTL first SYN dies there, silently,
#                                 DESIGN 5b; see the hop rule below)
#   ra: NAT A (nftables masquerade) -- a 10.0.1.2 (`punch out`, an echo)
#   rb: NAT B                        -- b 10.0.2.2 (`punch in`)
#   relay: `punch relay` (relay, AutoNAT and DHT server)
#
# 1. Cone NATs (masquerade keeps the port: endpoint-independent mapping):
#    traffic flows relayed first, then directly once punched; checked with
#    the status line and with NAT B's conntrack table (a flow from b to
#    A's public address, not only to the relay).
# 2. NAT B symmetric (fully random ports: address-dependent mapping): the
#    punch fails with a named reason in a status line, and traffic stays
#    relayed through the unlimited `punch relay`.
# 3. Find-by-key over a private DHT (PUNCH_RELAY_MODE=default,
#    PUNCH_BOOTSTRAP=the relay): out learns from AutoNAT that it is not
#    reachable, reserves through AutoRelay and publishes its provider
#    record; in finds it by key alone and forwards.
# 198.18.0.0/15 is not public to libp2p's filters: LP2P_PUBLIC_CIDRS says
# it is (DESIGN 5b). Needs root (or unshare -rnm with a tmpfs on /run),
# nftables and conntrack.
set -u
B="$(realpath "${LP2P_BUILD:-build}")"
P="$B/bin/punch"
H="$(realpath "$(dirname "$0")/../punch/helper.py")"
N="pu$$"
T=$(mktemp -d)
ok() { echo "ok - $1"; }
nok() { echo "not ok - $1${2:+: $2}"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "${3:-}"; fi; }
nsx() { local n=$1; shift; ip netns exec "$N-$n" "$@"; }
NS="relay ra rb a b inet"
cleanup() {
  for n in $NS; do ip netns pids "$N-$n" 2>/dev/null | xargs -r kill 2>/dev/null; done
  sleep 0.3
  for n in $NS; do ip netns del "$N-$n" 2>/dev/null; done
  if [ -n "${LP2P_KEEP_LOGS:-}" ]; then echo "# logs in $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
if [ "$(id -u)" != 0 ]; then nok "punch NAT lab needs root (or unshare -rnm)" "uid $(id -u)"; exit 1; fi
need=()
command -v nft >/dev/null || need+=(nftables)
command -v conntrack >/dev/null || need+=(conntrack)
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "${need[@]}" > "$T/apt.log" 2>&1 ||
    { nok "install ${need[*]}" "$(tail -3 "$T/apt.log")"; exit 1; }
fi
if [ ! -x "$P" ]; then nok "punch binary exists at $P"; exit 1; fi
command -v python3 >/dev/null || { nok "python3 for the test services"; exit 1; }

wait_line() {
  local i
  for ((i = 0; i < ${3:-20} * 10; i++)); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# ---- topology ---------------------------------------------------------------
for n in $NS; do ip netns add "$N-$n" || { nok "ip netns add"; exit 1; }; nsx $n ip link set lo up; done
nsx inet sysctl -qw net.ipv4.ip_forward=1
# The router between the NATs drops what arrives with TTL 1, silently,
# as tests/nat/punchlab's hop does: a low-TTL first SYN opens the sender's
# NAT and dies here (DESIGN 5b). Linux's own forwarding would answer it
# with ICMP Time Exceeded, the sender's NAT passes that back inside
# (RELATED), and Linux aborts a connecting socket on any ICMP error: the
# socket that was to answer the peer's SYN with the sequence number its
# NAT saw is gone, the peer's SYN meets the listener, whose SYN-ACK has a
# newer ISN outside conntrack's window, is INVALID and leaves the NAT
# unmasqueraded, unless the socket ignores that error (IP_MINTTL, the
# last case below runs without this rule). The drop must come before
# routing: the kernel's TTL check runs before the forward hook.
nsx inet nft -f - <<'EOF2' || { nok "nft hop rule on the router"; exit 1; }
table ip hop {
  chain pre { type filter hook prerouting priority raw; ip ttl 1 drop; }
}
EOF2
link_inet() { # ns subnet-index host-ip
  ip -n "$N-inet" link add "v$1" type veth peer name wan0 netns "$N-$1"
  nsx inet ip addr add "198.18.$2.1/24" dev "v$1"; nsx inet ip link set "v$1" up
  nsx $1 ip addr add "198.18.$2.$3/24" dev wan0; nsx $1 ip link set wan0 up
  nsx $1 ip route add default via "198.18.$2.1"
}
link_inet relay 1 10; link_inet ra 2 11; link_inet rb 3 12
link_lan() { # router host lan-prefix
  ip -n "$N-$1" link add lan0 type veth peer name eth0 netns "$N-$2"
  nsx $1 ip addr add "$3.1/24" dev lan0; nsx $1 ip link set lan0 up
  nsx $2 ip addr add "$3.2/24" dev eth0; nsx $2 ip link set eth0 up
  nsx $2 ip route add default via "$3.1"
  nsx $1 sysctl -qw net.ipv4.ip_forward=1
}
link_lan ra a 10.0.1; link_lan rb b 10.0.2
nat() { # router [masquerade options]
  nsx $1 nft delete table ip nat 2>/dev/null
  nsx $1 nft -f - <<EOF2
table ip nat {
  chain postrouting { type nat hook postrouting priority srcnat; oifname "wan0" masquerade $2; }
}
EOF2
  nsx $1 conntrack -F 2>/dev/null
}
nat ra ""; nat rb ""

export LP2P_PUBLIC_CIDRS=198.18.0.0/15 PUNCH_LOG=${PUNCH_LOG:-info}
run_bg() { # name ns cmd... (not through nsx: $! must be the program)
  local n=$1 ns=$2; shift 2
  ip netns exec "$N-$ns" "$@" > "$T/$n.out" 2> "$T/$n.err" &
  eval "PID_$n=$!"
}
run_bg relay relay env PUNCH_SECRET_KEY=$T/relay.key "$P" relay --listen /ip4/0.0.0.0/tcp/4001
wait_line "$T/relay.out" "^/ip4/198\.18\.1\.10/tcp/4001/p2p/" 10
RELAY=$(grep -m1 "^/ip4/198\.18\.1\.10/" "$T/relay.out")
check "punch relay on the public side prints its public multiaddr" '[ -n "$RELAY" ]' "$(cat "$T/relay.out" "$T/relay.err")"
run_bg echo a python3 "$H" tcp-echo
wait_line "$T/echo.out" "^port" 10
E=$(awk '{print $2}' "$T/echo.out")

# case: out behind A, in behind B, relay multiaddr mode
pair() { # tag mode-env...
  local tag=$1; shift
  run_bg "out$tag" a env PUNCH_SECRET_KEY=$T/out.key "$@" "$P" out $E
  wait_line "$T/out$tag.err" "relay reservation on|published on the DHT" 40
  KO=$(sed -n 's/^punch: public key //p' "$T/out$tag.err")
  run_bg "in$tag" b env PUNCH_SECRET_KEY=$T/in.key "$@" "$P" in $KO 7000:$E
  wait_line "$T/in$tag.err" "peer $KO connected" 40
}
rt() { nsx b python3 "$H" tcp-roundtrip 7000 "$1"; }
stop_pair() { eval "kill \$PID_out$1 \$PID_in$1"; sleep 0.5; }

pair 1 PUNCH_RELAY_MODE=$RELAY

check "cone NATs: in reaches out through the relay first" \
  'grep -q "peer $KO connected: relayed .*p2p-circuit" "$T/in1.err"' "$(cat "$T/in1.err")"
check "cone NATs: forwarding works" '[ "$(rt 636f6e65)" = 636f6e65 ]'
wait_line "$T/in1.err" "relayed -> direct|hole punch .* failed" 60
check "cone NATs: the path goes direct (status line with the RTT)" \
  'grep -qE "path to $KO: relayed -> direct /ip4/198\.18\.2\.11/tcp/[0-9]+, rtt" "$T/in1.err"' "$(grep -v address "$T/in1.err"; grep -v address "$T/out1.err")"
check "cone NATs: forwarding works after the punch attempt" '[ "$(rt 646972)" = 646972 ]'
check "cone NATs: NAT B's conntrack has b's flow to A's public address (not via the relay)" \
  'nsx rb conntrack -L -p tcp 2>/dev/null | grep -q "src=10.0.2.2 dst=198.18.2.11"' "$(nsx rb conntrack -L -p tcp 2>&1 | head -5)"
stop_pair 1

# case: NAT B symmetric: stays relayed, says why
nat rb "fully-random"
pair 2 PUNCH_RELAY_MODE=$RELAY
wait_line "$T/in2.err" "relayed -> direct|hole punch .* failed" 60
wait_line "$T/out2.err" "hole punch .* failed" 60
check "symmetric NAT B: the punch fails with a named reason (status line)" \
  'grep -qE "hole punch to .* failed: [a-z-]+ \(.*\); traffic stays relayed" "$T/out2.err"' "$(grep -v address "$T/out2.err"; grep -v address "$T/in2.err")"
check "symmetric NAT B: no direct path" '! grep -q "relayed -> direct" "$T/in2.err"'
check "symmetric NAT B: traffic stays relayed through the unlimited punch relay" '[ "$(rt 72656c)" = 72656c ]'
stop_pair 2
nat rb ""

# case: find-by-key over a private DHT (the relay is the bootstrap peer)
pair 3 PUNCH_RELAY_MODE=default PUNCH_BOOTSTRAP=$RELAY
check "private DHT: out reserves through AutoRelay and publishes its record" \
  'grep -q "published on the DHT" "$T/out3.err" && grep -q "relay reservation on" "$T/out3.err"' "$(grep -v address "$T/out3.err")"
check "private DHT: in finds out by its key alone" 'grep -q "found $KO on the DHT" "$T/in3.err"' "$(grep -v address "$T/in3.err")"
check "private DHT: forwarding works" '[ "$(rt 646874)" = 646874 ]'
stop_pair 3

# case: the router answers the expired low-TTL SYN with ICMP Time Exceeded,
# as Linux's own forwarding and most routers do. Linux would abort the
# connecting socket on that error (see the hop rule above); the driver
# sets IP_MINTTL on a low-TTL dial so the kernel ignores errors about the
# expired probe (drivers/loop_sock.c), and the punch goes direct. The
# kernels' TCPMinTTLDrop counters show the ICMP arrived and was ignored.
nsx inet nft delete table ip hop
for n in ra rb; do nsx $n conntrack -F >/dev/null 2>&1; done
mindrop() { nsx $1 nstat -az TcpExtTCPMinTTLDrop 2>/dev/null | awk '/TCPMinTTLDrop/ {print $2}'; }
pair 4 PUNCH_RELAY_MODE=$RELAY
wait_line "$T/in4.err" "relayed -> direct|hole punch .* failed" 60
check "ICMP-answering router: the path still goes direct" \
  'grep -qE "path to $KO: relayed -> direct /ip4/198\.18\.2\.11/tcp/[0-9]+, rtt" "$T/in4.err"' "$(grep -v address "$T/in4.err"; grep -v address "$T/out4.err")"
check "ICMP-answering router: a Time Exceeded for the probe SYN came back and was ignored" \
  '[ $(( $(mindrop a) + $(mindrop b) )) -gt 0 ]' "a $(mindrop a) b $(mindrop b)"
check "ICMP-answering router: forwarding works" '[ "$(rt 69636d70)" = 69636d70 ]'
stop_pair 4
exit 0

#!/bin/bash
# Port mapping against a real router: miniupnpd 2.3.1 (Debian
# miniupnpd-nftables: UPnP IGD:2, NAT-PMP and PCP) on a Linux NAT box in
# network namespaces. For each of upnp, pcp and natpmp: `lp2p listen
# --portmap M` behind the NAT prints `mapped /ip4/198.18.0.11/tcp/X via M`
# and a peer outside pings it through that mapping (nothing else listens
# on the router); the mapping is gone once the listener stops. `lp2p portmap` adds, lists and deletes over UPnP; a
# second LAN host asking for a port the first holds gets 718, and the
# service maps another port.
#
#   pub  198.18.0.10 + .20 (stund, the peer outside)
#    |
#   wan0 198.18.0.11  router (nft masquerade, miniupnpd)  lan0 10.0.1.1
#                                                          |
#                                        a 10.0.1.2, b 10.0.1.3 (lp2p)
#
# 198.18.0.0/15 is reserved: miniupnpd then refuses to map unless STUN
# (stund on pub) tells it the address is public (shared/natlab REPORT 4).
# Needs root (or run it inside `unshare -rnm` with a tmpfs on /run),
# nftables, miniupnpd-nftables and stun-server: installed when missing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib"
lab_root "$0" "$@"
L="$(realpath "${LP2P_BUILD:-build}/bin/lp2p")"
lab_start pm
lab_need nft:nftables miniupnpd:"miniupnpd-nftables miniupnpd" stund:stun-server
if [ ! -x "$L" ]; then nok "lp2p binary exists at $L"; exit 1; fi

# ---- topology -------------------------------------------------------------
lab_ns_add r a b p
ip -n "$P-r" link add wan0 type veth peer name eth0 netns "$P-p"
# the LAN is a bridge (miniupnpd listens on one interface) with a and b
ip -n "$P-r" link add lan0 type bridge
ip -n "$P-r" link add lana type veth peer name eth0 netns "$P-a"
ip -n "$P-r" link add lanb type veth peer name eth0 netns "$P-b"
for i in lana lanb lan0; do nsx r ip link set $i up; done
nsx r ip link set lana master lan0; nsx r ip link set lanb master lan0
nsx r ip addr add 10.0.1.1/24 dev lan0
nsx r ip addr add 198.18.0.11/24 dev wan0; nsx r ip link set wan0 up
nsx p ip addr add 198.18.0.10/24 dev eth0; nsx p ip addr add 198.18.0.20/24 dev eth0
nsx p ip link set eth0 up
nsx a ip addr add 10.0.1.2/24 dev eth0; nsx a ip link set eth0 up
nsx b ip addr add 10.0.1.3/24 dev eth0; nsx b ip link set eth0 up
nsx a ip route add default via 10.0.1.1; nsx b ip route add default via 10.0.1.1
nsx r sysctl -qw net.ipv4.ip_forward=1
nsx r nft -f - <<'EOF'
table ip nat {
  chain postrouting { type nat hook postrouting priority srcnat; oifname "wan0" masquerade; }
}
table inet miniupnpd {
  chain forward { type filter hook forward priority filter - 1; policy accept; jump miniupnpd; }
  chain miniupnpd { }
  chain prerouting { type nat hook prerouting priority dstnat; policy accept; jump prerouting_miniupnpd; }
  chain postrouting { type nat hook postrouting priority srcnat - 1; policy accept; jump postrouting_miniupnpd; }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
}
EOF

nsx p timeout 600 stund -h 198.18.0.10 -a 198.18.0.20 > "$T/stund.log" 2>&1 &
cat > "$T/miniupnpd.conf" <<EOF
ext_ifname=wan0
listening_ip=lan0
http_port=5000
enable_natpmp=yes
enable_upnp=yes
ext_perform_stun=yes
ext_stun_host=198.18.0.10
ext_stun_port=3478
upnp_table_name=miniupnpd
upnp_nat_table_name=miniupnpd
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
secure_mode=yes
system_uptime=yes
notify_interval=60
min_lifetime=120
lease_file=$T/upnp.leases
uuid=$(cat /proc/sys/kernel/random/uuid)
allow 1024-65535 10.0.1.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
EOF
sleep 0.3
nsx r timeout 600 miniupnpd -f "$T/miniupnpd.conf" -P "$T/miniupnpd.pid" -d > "$T/miniupnpd.log" 2>&1 &
for _ in $(seq 50); do grep -q "Port forwarding is now enabled" "$T/miniupnpd.log" && break; sleep 0.1; done
check "miniupnpd runs and learns its public address by STUN" 'grep -q "Port forwarding is now enabled" "$T/miniupnpd.log"' "$(tail -5 "$T/miniupnpd.log")"

rules() { nsx r nft list chain inet miniupnpd prerouting_miniupnpd; }

# listen --portmap M on node N; prints "port id ext" of the mapping
map_case() {
  local m=$1 node=$2
  # not through nsx: $! must be lp2p itself (ip netns exec execs it)
  ip netns exec "$P-$node" "$L" listen --events --portmap "$m" /ip4/0.0.0.0/tcp/0 > "$T/$m.out" 2> "$T/$m.err" &
  lpid=$!
  for _ in $(seq 300); do grep -q "^mapped\|^portmap-failed" "$T/$m.out" 2>/dev/null && break; sleep 0.1; done
  first=$(head -n 1 "$T/$m.out"); id=${first##*/p2p/}
  port=$(cut -d/ -f5 <<<"$first")
  ext=$(sed -n "s|^mapped /ip4/198.18.0.11/tcp/\([0-9]*\) via $m\$|\1|p" "$T/$m.out")
}

for m in upnp pcp natpmp; do
  map_case $m a
  check "$m: listen --portmap $m prints the mapping on the router's address" '[ -n "$ext" ]' "$(cat "$T/$m.out" "$T/$m.err"; tail -5 "$T/miniupnpd.log")"
  [ -n "$ext" ] || { kill $lpid; wait $lpid 2>/dev/null; continue; }
  check "$m: the router forwards $ext to a:$port" 'rules | grep -q "dport $ext dnat ip to 10.0.1.2:$port"' "$(rules)"
  out=$(nsx p timeout 20 "$L" ping -n 2 "/ip4/198.18.0.11/tcp/$ext/p2p/$id" 2>&1); rc=$?
  check "$m: a peer outside pings a through the mapping" '[ $rc = 0 ] && [ "$(grep -c "^rtt_ms " <<<"$out")" = 2 ]' "rc=$rc $out"
  kill $lpid; wait $lpid 2>/dev/null
  sleep 0.5
  check "$m: the mapping is deleted when the listener stops" '! rules | grep -q "dport $ext "' "$(rules)"
done

# the tool over UPnP: add, list, delete
out=$(nsx a timeout 30 "$L" portmap --protocol upnp add 4555 2>&1); rc=$?
check "portmap upnp add: JSON" '[ $rc = 0 ] && grep -q "\"external_ip\":\"198.18.0.11\",\"internal_client\":\"10.0.1.2\",\"internal_port\":4555,\"external_port\":4555" <<<"$out"' "rc=$rc $out"
out=$(nsx a timeout 30 "$L" portmap --protocol upnp list 2>&1); rc=$?
check "portmap upnp list shows it" '[ $rc = 0 ] && grep -q "{\"external_port\":4555,\"protocol\":\"TCP\",\"internal_client\":\"10.0.1.2\",\"internal_port\":4555" <<<"$out"' "rc=$rc $out"
out=$(nsx a timeout 30 "$L" portmap --protocol upnp delete 4555 2>&1); rc=$?
check "portmap upnp delete removes the rule" '[ $rc = 0 ] && ! rules | grep -q "dport 4555 "' "rc=$rc $out $(rules)"

# a conflict: a holds external 4556; b's listener on 4556 gets 718 and
# the service maps another port
nsx a timeout 30 "$L" portmap --protocol upnp add 4556 > /dev/null 2>&1
ip netns exec "$P-b" "$L" listen --events --portmap upnp /ip4/0.0.0.0/tcp/4556 > "$T/b.out" 2> "$T/b.err" &
bpid=$!
for _ in $(seq 300); do grep -q "^mapped\|^portmap-failed" "$T/b.out" 2>/dev/null && break; sleep 0.1; done
bext=$(sed -n 's|^mapped /ip4/198.18.0.11/tcp/\([0-9]*\) via upnp$|\1|p' "$T/b.out")
check "conflict: b is mapped on another external port" '[ -n "$bext" ] && [ "$bext" != 4556 ]' "$(cat "$T/b.out" "$T/b.err")"
check "conflict: a keeps 4556" 'rules | grep -q "dport 4556 dnat ip to 10.0.1.2:4556"' "$(rules)"
kill $bpid; wait $bpid 2>/dev/null

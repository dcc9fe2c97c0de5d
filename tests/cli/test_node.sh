#!/bin/bash
# The network verbs of the lp2p tool over loopback: listen (both drivers,
# noise and plaintext), ping, identify, perf, and their failure modes.
set -u
L="${LP2P_BUILD:-build}/bin/lp2p"
T=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
ok() { echo "ok - $1"; }
nok() { echo "not ok - $1${2:+: $2}"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "${3:-}"; fi; }

# start_listener NAME ARGS... -> sets $addr (first printed line)
start_listener() {
  local name=$1; shift
  "$L" listen "$@" > "$T/$name.out" 2> "$T/$name.err" &
  pids+=($!)
  lpid=$!
  for _ in $(seq 50); do [ -s "$T/$name.out" ] && break; sleep 0.1; done
  addr=$(head -n 1 "$T/$name.out")
}

if [ ! -x "$L" ]; then nok "lp2p binary exists at $L"; exit 1; fi

for drv in epoll poll; do
  start_listener "n-$drv" --driver "$drv" /ip4/127.0.0.1/tcp/0 /ip6/::1/tcp/0
  check "listen --driver $drv prints /ip4 addr with /p2p" '[[ "$addr" =~ ^/ip4/127.0.0.1/tcp/[1-9][0-9]*/p2p/12D3Koo ]]' "$addr"
  check "listen --driver $drv prints the /ip6 addr too" 'grep -q "^/ip6/::1/tcp/[1-9]" "$T/n-$drv.out"'
  out=$(timeout 20 "$L" ping -n 3 "$addr" 2>&1); rc=$?
  check "ping -n 3 via $drv listener: 3 rtt lines, exit 0" '[ $rc = 0 ] && [ "$(grep -cE "^rtt_ms [0-9]+\.[0-9]+$" <<<"$out")" = 3 ]' "rc=$rc $out"
  # names are resolved inside the host's loop (no blocking resolver)
  id=${addr##*/p2p/}; tport=${addr#/ip4/127.0.0.1/tcp/}; tport=${tport%%/*}
  out=$(timeout 20 "$L" ping "/dns4/localhost/tcp/$tport/p2p/$id" 2>&1); rc=$?
  check "ping /dns4/localhost/tcp/PORT/p2p/ID ($drv listener)" '[ $rc = 0 ] && grep -q "^rtt_ms" <<<"$out"' "rc=$rc $out"
  printf '# test hosts\n127.0.0.1 node.lp2p.test\n' > "$T/hosts"
  out=$(LP2P_HOSTS="$T/hosts" LP2P_RESOLV_CONF=/dev/null timeout 20 "$L" ping "/dns/node.lp2p.test/tcp/$tport/p2p/$id" 2>&1); rc=$?
  check "ping /dns/NAME from LP2P_HOSTS without any DNS server ($drv)" '[ $rc = 0 ] && grep -q "^rtt_ms" <<<"$out"' "rc=$rc $out"
  v6=$(grep "^/ip6/" "$T/n-$drv.out" | head -1)
  out=$(timeout 20 "$L" ping "$v6" 2>&1); rc=$?
  check "ping over ipv6 ($drv)" '[ $rc = 0 ] && grep -q "^rtt_ms" <<<"$out"' "rc=$rc $out"
  out=$(timeout 20 "$L" identify "$addr" 2>&1); rc=$?
  id=${addr##*/p2p/}
  check "identify ($drv): JSON with peerId, protocols, observedAddr" '[ $rc = 0 ] && grep -q "\"peerId\":\"$id\"" <<<"$out" && grep -q "\"/ipfs/ping/1.0.0\"" <<<"$out" && grep -q "\"observedAddr\":\"/ip4/127.0.0.1/tcp/" <<<"$out"' "rc=$rc $out"
  out=$(timeout 60 "$L" perf --upload 10485760 --download 20971520 "$addr" 2>&1); rc=$?
  check "perf ($drv): final JSON with exact byte counts" '[ $rc = 0 ] && grep -qE "^\{\"type\":\"final\",\"timeSeconds\":[0-9.]+,\"uploadBytes\":10485760,\"downloadBytes\":20971520\}$" <<<"$out"' "rc=$rc $out"
  kill -TERM "$lpid"; wait "$lpid"; rc=$?
  check "listen ($drv) exits 0 on SIGTERM" '[ $rc = 0 ]' "rc=$rc"
done

"$L" keygen --out "$T/key" > "$T/keyid"
start_listener pt --plaintext --key "$T/key" /ip4/127.0.0.1/tcp/0
check "listen --key uses the key's peer id" '[ "${addr##*/p2p/}" = "$(cat "$T/keyid")" ]' "$addr"
out=$(timeout 20 "$L" ping --plaintext "$addr" 2>&1); rc=$?
check "ping --plaintext" '[ $rc = 0 ] && grep -q "^rtt_ms" <<<"$out"' "rc=$rc $out"
out=$(timeout 20 "$L" ping "$addr" 2>&1); rc=$?
check "noise dialer vs plaintext listener fails with one line" '[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "^lp2p: ping: " <<<"$out"' "rc=$rc $out"
out=$(timeout 20 "$L" perf --plaintext --upload 0 --download 1048576 "$addr" 2>&1); rc=$?
check "perf --plaintext download only" '[ $rc = 0 ] && grep -q "\"uploadBytes\":0,\"downloadBytes\":1048576" <<<"$out"' "rc=$rc $out"

# wrong /p2p id: the authenticated id must match
other=$("$L" keygen --out "$T/key2")
base=${addr%/p2p/*}
start_listener n2 /ip4/127.0.0.1/tcp/0
base2=${addr%/p2p/*}
out=$(timeout 20 "$L" ping "$base2/p2p/$other" 2>&1); rc=$?
check "ping with a wrong /p2p id exits 1 naming the mismatch" '[ $rc = 1 ] && grep -q "authenticated id differs" <<<"$out"' "rc=$rc $out"
out=$(timeout 20 "$L" ping "$base2" 2>&1); rc=$?
check "ping without /p2p accepts any peer" '[ $rc = 0 ]' "rc=$rc $out"

# unreachable, bad input, usage
start_listener gone /ip4/127.0.0.1/tcp/0   # a port that was ours, now closed
kill "$lpid"; wait "$lpid" 2>/dev/null
port=$(sed -n 's|^/ip4/127.0.0.1/tcp/\([0-9]*\)/.*|\1|p' "$T/gone.out")
out=$(timeout 20 "$L" ping "/ip4/127.0.0.1/tcp/$port" 2>&1); rc=$?
check "ping to a closed port exits 1 (refused)" '[ $rc = 1 ] && grep -q "refused" <<<"$out"' "rc=$rc $out"
check "without LP2P_LOG a failed dial prints only its error line" '[ "$(wc -l <<<"$out")" = 1 ]' "$out"
# LP2P_LOG: the host's log on stderr, "<time> <level> <module> <ids> <text>"
out=$(LP2P_LOG=info timeout 20 "$L" ping "/ip4/127.0.0.1/tcp/$port" 2>&1 >/dev/null); rc=$?
check "LP2P_LOG=info: a refused dial is logged with its reason" '[ $rc = 1 ] && grep -qE "^[0-9]+\.[0-9]{6} info host conn=[0-9]+ peer=- dial failed: connection refused$" <<<"$out"' "rc=$rc $out"
out=$(LP2P_LOG=error timeout 20 "$L" ping "/ip4/127.0.0.1/tcp/$port" 2>&1 >/dev/null); rc=$?
check "LP2P_LOG=error: info lines are dropped" '[ $rc = 1 ] && ! grep -q " info " <<<"$out"' "rc=$rc $out"
out=$(LP2P_LOG=loud "$L" ping "/ip4/127.0.0.1/tcp/$port" 2>&1); rc=$?
check "LP2P_LOG with an unknown level: exit 2, one line" '[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "^lp2p: LP2P_LOG: unknown level .loud." <<<"$out"' "rc=$rc $out"
out=$(LP2P_LOG=loud "${L%/lp2p}/lp2p-sim" --list 2>&1); rc=$?
check "lp2p-sim: LP2P_LOG with an unknown level: exit 2" '[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"
out=$(timeout 20 "$L" ping /ip4/1.2.3/tcp/1 2>&1); rc=$?
check "ping with a bad multiaddr exits 1, one line" '[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"
out=$(LP2P_HOSTS=/dev/null LP2P_RESOLV_CONF=/dev/null timeout 20 "$L" ping /dns4/nothing.lp2p.test/tcp/1 2>&1); rc=$?
check "ping a name with no DNS server configured exits 1 naming it" '[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "no DNS server configured" <<<"$out"' "rc=$rc $out"
out=$(timeout 20 "$L" ping /ip4/127.0.0.1/udp/1 2>&1); rc=$?
check "ping over an unsupported transport exits 1" '[ $rc = 1 ]' "rc=$rc $out"
out=$("$L" ping 2>&1); rc=$?
check "ping without an address is a usage error" '[ $rc = 2 ]' "rc=$rc"
out=$("$L" ping -n 0 "$addr" 2>&1); rc=$?
check "ping -n 0 is a usage error" '[ $rc = 2 ]' "rc=$rc"
out=$("$L" perf --upload x --download 1 "$addr" 2>&1); rc=$?
check "perf with a non-numeric size is a usage error" '[ $rc = 2 ]' "rc=$rc"
out=$("$L" perf "$addr" 2>&1); rc=$?
check "perf without sizes is a usage error" '[ $rc = 2 ]' "rc=$rc"
out=$("$L" listen --driver kqueue /ip4/127.0.0.1/tcp/0 2>&1); rc=$?
check "listen with an unknown driver is a usage error" '[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"
# connection manager flags (README "Limits")
out=$("$L" listen --low-water 10 --high-water 5 /ip4/127.0.0.1/tcp/0 2>&1); rc=$?
check "listen --low-water above --high-water is a usage error" '[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "must not exceed" <<<"$out"' "rc=$rc $out"
out=$("$L" listen --grace soon /ip4/127.0.0.1/tcp/0 2>&1); rc=$?
check "listen --grace with a non-number is a usage error" '[ $rc = 2 ]' "rc=$rc $out"
start_listener cm --low-water 2 --high-water 4 --grace 0 /ip4/127.0.0.1/tcp/0
out=$(timeout 20 "$L" connect -n 3 "$addr" 2>&1); rc=$?
check "listen with trimming flags serves connections" '[ $rc = 0 ] && grep -q "^connect ok 3$" <<<"$out"' "rc=$rc $out"
kill -TERM "$lpid"; wait "$lpid" 2>/dev/null
out=$("$L" listen --memory-max 8 --memory-per-peer 16 /ip4/127.0.0.1/tcp/0 2>&1); rc=$?
check "listen --memory-per-peer above --memory-max is a usage error" '[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "must not exceed" <<<"$out"' "rc=$rc $out"
out=$("$L" listen --memory-max 0 /ip4/127.0.0.1/tcp/0 2>&1); rc=$?
check "listen --memory-max 0 is a usage error" '[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"
start_listener mem --memory-max 2 --memory-per-peer 1 /ip4/127.0.0.1/tcp/0
out=$(timeout 30 "$L" perf --upload 4194304 --download 4194304 "$addr" 2>&1); rc=$?
check "listen --memory-max 2 --memory-per-peer 1 still moves 4 MiB each way" '[ $rc = 0 ] && grep -q "\"downloadBytes\":4194304" <<<"$out"' "rc=$rc $out"
kill -TERM "$lpid"; wait "$lpid" 2>/dev/null
start_listener cmoff --high-water 0 /ip4/127.0.0.1/tcp/0
out=$(timeout 20 "$L" ping "$addr" 2>&1); rc=$?
check "listen --high-water 0 (trimming off) serves a ping" '[ $rc = 0 ] && grep -q "^rtt_ms" <<<"$out"' "rc=$rc $out"
kill -TERM "$lpid"; wait "$lpid" 2>/dev/null
out=$(timeout 5 "$L" listen /ip4/127.0.0.1/tcp/$port/ip4/1.2.3.4 2>&1); rc=$?
check "listen on a bad multiaddr exits 1" '[ $rc = 1 ]' "rc=$rc $out"
out=$(timeout 5 "$L" listen /ip4/192.0.2.1/tcp/0 2>&1); rc=$?
check "listen on an address we do not own exits 1 with one line" '[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ]' "rc=$rc $out"

# listen --events: the line protocol the interop suite reads
start_listener ev --events /ip4/127.0.0.1/tcp/0
"$L" keygen --out "$T/evkey" > "$T/evid"
did=$(cat "$T/evid")
out=$(timeout 30 "$L" echo --key "$T/evkey" --streams 3 --bytes 300000 "$addr" 2>&1); rc=$?
check "echo --streams 3 --bytes 300000 (past the initial window)" '[ $rc = 0 ] && [ "$out" = "echo ok 3" ]' "rc=$rc $out"
out=$(timeout 30 "$L" perf --key "$T/evkey" --upload 1000 --download 2000 "$addr" 2>&1); rc=$?
out=$(timeout 30 "$L" close --key "$T/evkey" "$addr" 2>&1); rc=$?
check "close: graceful" '[ $rc = 0 ] && [ "$out" = "close ok" ]' "rc=$rc $out"
sleep 0.5
check "--events: peer-connected line with security and muxer" 'grep -qE "^peer-connected $did /ip4/127.0.0.1/tcp/[0-9]+ /noise /yamux/1.0.0 inbound$" "$T/ev.out"' "$(cat "$T/ev.out")"
check "--events: one echo-done per echo stream" '[ "$(grep -c "^echo-done 300000$" "$T/ev.out")" = 3 ]'
check "--events: perf-done in the client's terms" 'grep -q "^perf-done 1000 2000$" "$T/ev.out"'
check "--events: identify of the dialer" 'grep -q "^identify {\"peerId\":\"$did\"" "$T/ev.out"'
check "--events: graceful close seen with goaway=0" 'grep -qE "^peer-disconnected $did .* goaway=0$" "$T/ev.out"'
# each connection's disconnect line names the same remote address as its
# connect line (the host has forgotten the connection by then)
conn_addrs() { sed -n "s|^$1 $did \(/ip4/127.0.0.1/tcp/[0-9]*\) .*|\1|p" "$T/ev.out" | sort; }
check "--events: peer-disconnected names the remote address" '[ -n "$(conn_addrs peer-connected)" ] && [ "$(conn_addrs peer-connected)" = "$(conn_addrs peer-disconnected)" ]' "$(grep "^peer-" "$T/ev.out")"
out=$(timeout 30 "$L" reset "$addr" 2>&1); rc=$?
check "reset: the connection survives a stream reset" '[ $rc = 0 ] && [ "$out" = "reset ok" ]' "rc=$rc $out"
sleep 0.3
check "--events: echo-reset line" 'grep -q "^echo-reset " "$T/ev.out"'
out=$(timeout 30 "$L" connect -n 5 "$addr" 2>&1); rc=$?
check "connect -n 5" '[ $rc = 0 ] && grep -q "^connect ok 5$" <<<"$out"' "rc=$rc $out"
out=$(timeout 30 "$L" halfclose "$addr" 2>&1); rc=$?
check "halfclose" '[ $rc = 0 ] && [ "$out" = "halfclose ok" ]' "rc=$rc $out"

# connect -n: sequential connections never overlap. A relay in front of a
# listener counts the sockets open at once: the next dial starts only after
# the previous socket is closed (FIN both ways), so at most 1.
start_listener seq /ip4/127.0.0.1/tcp/0
lport=$(sed -n 's|^/ip4/127.0.0.1/tcp/\([0-9]*\)/.*|\1|p' "$T/seq.out")
perl "$(dirname "$0")/connproxy.pl" "$lport" > "$T/proxy.out" 2> "$T/proxy.err" &
ppid=$!; pids+=($ppid)
for _ in $(seq 50); do [ -s "$T/proxy.out" ] && break; sleep 0.1; done
pport=$(sed -n 's/^port //p' "$T/proxy.out")
out=$(timeout 60 "$L" connect -n 20 "/ip4/127.0.0.1/tcp/$pport/p2p/${addr##*/p2p/}" 2>&1); rc=$?
kill -TERM "$ppid"; wait "$ppid" 2>/dev/null
check "connect -n 20 through a counting relay" '[ $rc = 0 ] && grep -q "^connect ok 20$" <<<"$out"' "rc=$rc $out"
check "connect -n 20: one connection open at a time" 'grep -q "^total 20 max 1$" "$T/proxy.out"' "$(tail -n1 "$T/proxy.out") $(head -n1 "$T/proxy.err")"

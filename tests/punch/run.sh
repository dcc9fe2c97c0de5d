#!/bin/bash
# punch end to end on loopback (issue 14): acceptance criteria 1-10, bad
# input, peer misbehaviour, integrity (PUNCH_INTEGRITY_BYTES, 1 GiB by
# default, over many TCP connections with random FIN timing both ways)
# and 1,000 concurrent UDP flows. A local `punch relay` is the relay and
# the DHT. TAP-style lines: "ok - ..." / "not ok - ...".
set -u
B=${LP2P_BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
P=$ROOT/$B/bin/punch
L=$ROOT/$B/bin/lp2p
H=$ROOT/tests/punch/helper.py
INTEGRITY=${PUNCH_INTEGRITY_BYTES:-1073741824}
ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; }
if ! command -v python3 >/dev/null; then nok "python3 is needed for tests/punch"; exit 0; fi
if [ ! -x "$P" ] || [ ! -x "$L" ]; then nok "punch and lp2p are not built in $B"; exit 0; fi
T=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "${PUNCH_KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
# never the user's home, never inherited settings
export HOME=$T/home
unset PUNCH_SECRET_KEY PUNCH_RELAY_MODE PUNCH_ALLOW PUNCH_BOOTSTRAP LP2P_PUBLIC_CIDRS
export PUNCH_LOG=info

# wait_line FILE REGEX [SECONDS]: until a line of FILE matches
wait_line() {
  local i
  for ((i = 0; i < ${3:-20} * 10; i++)); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# bg NAME CMD...: run in the background, stdout/stderr to $T/NAME.out/.err
bg() { local n=$1; shift; "$@" > "$T/$n.out" 2> "$T/$n.err" & PIDS+=($!); eval "PID_$n=$!"; }
key_of() { sed -n 's/^punch: public key //p' "$T/$1.err" | head -1; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }
eq() { [ "$1" = "$2" ] || { echo "# expected '$2', got '$1'" >&2; return 1; }; }

# ---- bad input: exit 2, one line, nothing created --------------------------
K0=12D3KooWGrNsUXjoSeEw6NQptBALvwTHtPkmZ7PwXVMWQ3NZ1Ts2
bad() { # DESC ENV... -- ARGS...
  local d=$1; shift
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  local kf=$T/bad/key
  env "${envs[@]}" PUNCH_SECRET_KEY=$kf "$P" "$@" > "$T/bad.out" 2> "$T/bad.err" < /dev/null
  local rc=$? lines
  lines=$(wc -l < "$T/bad.err")
  if [ $rc = 2 ] && [ "$lines" = 1 ] && [ ! -s "$T/bad.out" ] && [ ! -e "$kf" ]; then
    ok "bad input: $d: exit 2, one line ($(head -c 80 "$T/bad.err"))"
  else
    nok "bad input: $d: exit $rc, $lines lines, key file $( [ -e "$kf" ] && echo created || echo absent)"
  fi
}
bad "port 0" -- out 0
bad "port 65536" -- out 65536
bad "duplicate port" -- out 8080 8080/tcp
bad "unknown proto" -- out 8080/sctp
bad "not a number" -- out http
bad "in: port 0" -- in $K0 0:22
bad "in: remote 65536" -- in $K0 2222:65536
bad "in: duplicate local" -- in $K0 2222:22 2222:23
bad "two stdio mappings" -- in $K0 -:22 -:23
bad "stdio with udp" -- in $K0 -:53/udp
bad "unknown proto in a mapping" -- in $K0 2222:22/quic
bad "malformed key" -- in 12D3KooWnotakey 2222:22
bad "an RSA-style key" -- in QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N 2222:22
bad "no mapping" -- in $K0
bad "unknown verb" -- frobnicate 22
bad "invalid PUNCH_RELAY_MODE" PUNCH_RELAY_MODE=sometimes -- out 22
bad "relay multiaddr without /p2p" PUNCH_RELAY_MODE=/ip4/127.0.0.1/tcp/4001 -- out 22
bad "malformed relay multiaddr" PUNCH_RELAY_MODE=/ip4/300.1.1.1/tcp/1/p2p/$K0 -- in $K0 2222:22
bad "malformed PUNCH_ALLOW key" PUNCH_ALLOW=$K0,nonsense -- out 22
bad "invalid PUNCH_LOG" PUNCH_LOG=verbose -- out 22
bad "PUNCH_BOOTSTRAP without /p2p" PUNCH_BOOTSTRAP=/ip4/127.0.0.1/tcp/1 -- out 22
bad "relay: unknown option" -- relay --frobnicate
bad "bad LP2P_PUBLIC_CIDRS" LP2P_PUBLIC_CIDRS=10.0.0.0/33 -- out 22
bad "relay: --limit-data not a number" -- relay --limit-data lots
PUNCH_SECRET_KEY=$T/bad/key "$P" > "$T/bad.out" 2> "$T/bad.err" < /dev/null
rc=$?
check "no verb at all: exit 2, the usage on stderr, nothing on stdout, no key file" \
  test $rc = 2 -a ! -s "$T/bad.out" -a "$(grep -c '^usage: punch' "$T/bad.err")" = 1 -a ! -e "$T/bad/key"
for v in out in relay; do
  PUNCH_SECRET_KEY=$T/help/key "$P" $v --help > "$T/help.out" 2> "$T/help.err"
  rc=$?
  check "$v --help: exit 0 with a usage text, no key file made" \
    test $rc = 0 -a "$(grep -c "usage: punch $v" "$T/help.out" "$T/help.err" | awk -F: '{s+=$2} END {print s}')" = 1 -a ! -e "$T/help/key"
done
PUNCH_SECRET_KEY=$T/help/key "$P" --help > "$T/help.out" 2>&1
rc=$?
check "punch --help: exit 0, names every verb" \
  test $rc = 0 -a "$(grep -cE 'punch (out|in|relay) ' "$T/help.out")" -ge 3

# ---- criterion 8: the identity file -----------------------------------------
KF=$T/id/deep/er/secret.key
bg idA env PUNCH_SECRET_KEY=$KF PUNCH_RELAY_MODE=disabled PUNCH_BOOTSTRAP=/ip4/127.0.0.1/tcp/9/p2p/$K0 "$P" out 9
wait_line "$T/idA.err" "public key" 10
kill $PID_idA; wait $PID_idA 2>/dev/null
KA=$(key_of idA)
check "criterion 8: a missing key is generated (parents made)" test -s "$KF"
check "criterion 8: the key file is mode 0600" eq "$(stat -c %a "$KF")" 600
check "criterion 8: its directory is 0700" eq "$(stat -c %a "$(dirname "$KF")")" 700
cp "$KF" "$T/key.copy"
bg idB env PUNCH_SECRET_KEY=$KF PUNCH_RELAY_MODE=disabled PUNCH_BOOTSTRAP=/ip4/127.0.0.1/tcp/9/p2p/$K0 "$P" out 9
wait_line "$T/idB.err" "public key" 10
kill $PID_idB; wait $PID_idB 2>/dev/null
check "criterion 8: the persisted key is used again (same public key)" eq "$(key_of idB)" "$KA"
check "criterion 8: an existing key file is never rewritten" cmp -s "$KF" "$T/key.copy"
"$L" id --key "$KF" > "$T/lp2pid.out" 2>&1
check "criterion 8: the file is a libp2p private key (lp2p id reads it)" grep -q "$KA" "$T/lp2pid.out"
printf 'not a key' > "$T/junk.key"
PUNCH_SECRET_KEY=$T/junk.key "$P" out 9 > /dev/null 2> "$T/junk.err"
rc=$?
check "a corrupt key file: exit 1, one line, the file left as is" \
  test $rc = 1 -a "$(wc -l < "$T/junk.err")" = 1 -a "$(cat "$T/junk.key")" = "not a key"
bg idC env PUNCH_RELAY_MODE=disabled PUNCH_BOOTSTRAP=/ip4/127.0.0.1/tcp/9/p2p/$K0 "$P" out 9
wait_line "$T/idC.err" "public key" 10
kill $PID_idC; wait $PID_idC 2>/dev/null
check "criterion 8: the default path is ~/.local/share/punch/secret.key" \
  test -s "$HOME/.local/share/punch/secret.key"
# PUNCH_LOG: error keeps only the key and the counters; debug adds the
# library's own lines
for lv in error debug; do
  bg log_$lv env PUNCH_LOG=$lv PUNCH_SECRET_KEY=$T/log.key PUNCH_RELAY_MODE=disabled PUNCH_BOOTSTRAP=/ip4/127.0.0.1/tcp/9/p2p/$K0 "$P" out 9
  wait_line "$T/log_$lv.err" "public key" 10
  sleep 1
  eval "kill \$PID_log_$lv; wait \$PID_log_$lv" 2>/dev/null
done
check "PUNCH_LOG=error: only the public key and the counters at exit" \
  test "$(grep -vcE '^punch: (public key|counters 9/tcp:) ' "$T/log_error.err")" = 0 -a "$(wc -l < "$T/log_error.err")" = 2
check "PUNCH_LOG=debug: the info lines and the library's debug lines" \
  test "$(grep -c '^punch: exposing 127.0.0.1:9/tcp' "$T/log_debug.err")" = 1 -a "$(grep -c '^punch: debug: ' "$T/log_debug.err")" -ge 1
# created atomically: four processes racing to create one key agree on it
KR=$T/race/secret.key
for i in 1 2 3 4; do
  bg race$i env PUNCH_SECRET_KEY=$KR PUNCH_RELAY_MODE=disabled PUNCH_BOOTSTRAP=/ip4/127.0.0.1/tcp/9/p2p/$K0 "$P" out 9
done
for i in 1 2 3 4; do wait_line "$T/race$i.err" "public key" 10; eval "kill \$PID_race$i"; done
check "criterion 8: processes racing to create the key all use the one persisted key" \
  test -n "$(key_of race1)" -a "$(for i in 1 2 3 4; do key_of race$i; done | sort -u | wc -l)" = 1 -a \
    "$("$L" id --key "$KR" 2>&1 | grep -c "$(key_of race1)")" -ge 1
check "criterion 8: ... and no temporary file is left beside it" eq "$(ls -A "$T/race")" secret.key

# ---- a relay, local services, one `out` and one `in` -----------------------
bg relay env PUNCH_SECRET_KEY=$T/relay.key "$P" relay --listen /ip4/127.0.0.1/tcp/0
wait_line "$T/relay.out" "/p2p/" 10
RELAY=$(head -1 "$T/relay.out")
# the relay is an AutoNAT v2 server: it answers a dial-back request (here
# it refuses to dial a private address for us; a host without the server
# says "protocol not supported")
timeout 30 "$L" autonat --server "$RELAY" /ip4/192.0.2.2/tcp/4001 > "$T/autonat.out" 2> "$T/autonat.err"
check "punch relay serves AutoNAT v2 (it answers a dial-back request: refused for a private address)" \
  test "$(grep -cE '"addr":"/ip4/192.0.2.2/tcp/4001",("reachable":true|.*"error":"dial refused")' "$T/autonat.out")" = 1
RPORT=$(sed -n 's|^/ip4/127\.0\.0\.1/tcp/\([0-9]*\)/.*|\1|p' "$T/relay.out" | head -1)
env PUNCH_SECRET_KEY=$T/busy/key PUNCH_RELAY_MODE=disabled PUNCH_BOOTSTRAP=$RELAY "$P" in $K0 $RPORT:22 > "$T/busy.out" 2> "$T/busy.err" < /dev/null
rc=$?
check "exit codes: a local port that cannot be bound: exit 1, a line that says so" \
  test $rc = 1 -a "$(grep -c "cannot listen on 127.0.0.1:$RPORT" "$T/busy.err")" = 1
check "identity: the key is made before anything else (there even when the listener failed)" \
  test -s "$T/busy/key"
check "punch relay prints multiaddrs ending in /p2p/<id> on stdout" \
  grep -qE '^/ip4/127\.0\.0\.1/tcp/[0-9]+/p2p/12D3KooW[1-9A-HJ-NP-Za-km-z]+$' "$T/relay.out"
for s in echo fin udpecho integ; do :; done
bg echo python3 "$H" tcp-echo
bg fin python3 "$H" tcp-fin-server "$T/fin.log"
bg udpecho python3 "$H" udp-echo
bg integ python3 "$H" integrity-server "$T/integ.log"
for s in echo fin udpecho integ; do wait_line "$T/$s.out" "^port " 10; done
E=$(awk '{print $2}' "$T/echo.out"); F=$(awk '{print $2}' "$T/fin.out")
U=$(awk '{print $2}' "$T/udpecho.out"); G=$(awk '{print $2}' "$T/integ.out")
X=$(free_port) # nothing exposed there
Z=$(free_port) # exposed, but nothing listens there
export PUNCH_RELAY_MODE=$RELAY
bg out1 env PUNCH_SECRET_KEY=$T/out1.key "$P" out $E $F $U/udp $G $Z
wait_line "$T/out1.err" "relay reservation on" 20
KO=$(key_of out1)
check "criterion 1: punch out prints its public key on stderr" test -n "$KO"
check "criterion 1: punch out exposes the TCP and UDP ports" \
  grep -q "exposing 127.0.0.1:$U/udp" "$T/out1.err"
check "criterion 9 (relay multiaddr): out reserves on the relay" \
  grep -q "relay reservation on .*reachable at .*/p2p-circuit/p2p/$KO" "$T/out1.err"
check "punch out writes nothing on stdout" test ! -s "$T/out1.out"
check "status: out prints its addresses (each ending in /p2p/<key>)" \
  grep -qE "^punch: address /ip4/[0-9.]+/tcp/[0-9]+/p2p/$KO$" "$T/out1.err"
LE=$(free_port); LF=$(free_port); LU=$(free_port); LX=$(free_port); LY=$(free_port); LG=$(free_port); LZ=$(free_port)
bg in1 env PUNCH_SECRET_KEY=$T/in1.key "$P" in $KO $LE:$E $LF:$F $LU:$U/udp $LX:$X $LY:$X/udp $LG:$G $LZ:$Z
wait_line "$T/in1.err" "peer $KO connected" 20
KI=$(key_of in1)
check "criterion 2: punch in opens its local listeners" \
  test "$(grep -c 'listening on 127.0.0.1' "$T/in1.err")" = 7
check "criterion 9 (relay multiaddr): in dials <relay>/p2p-circuit/p2p/<key>" \
  grep -q "peer $KO connected: relayed .*/p2p-circuit/p2p/$KO" "$T/in1.err"
check "criterion 2: TCP through the local listener reaches the remote port" \
  eq "$(python3 "$H" tcp-roundtrip $LE 68656c6c6f)" 68656c6c6f
head -c 60000 /dev/urandom > "$T/r.bin"
python3 "$H" tcp-roundtrip $LE "$(xxd -p "$T/r.bin" | tr -d '\n')" > "$T/r.hex"
xxd -r -p "$T/r.hex" > "$T/r.back"
cmp -s "$T/r.bin" "$T/r.back" || echo "# client FIN first: got $(head -c 60 "$T/r.hex") ($(wc -c < "$T/r.back") bytes)"
check "criterion 4: client FIN first: the echo ends after our FIN, all bytes back" \
  cmp -s "$T/r.bin" "$T/r.back"
check "criterion 4: server FIN first: we read to its EOF, our side stays open" \
  eq "$(python3 "$H" fin-client $LF)" ok
wait_line "$T/fin.log" . 5
check "criterion 4: ... and our bytes after its FIN reach the server" \
  eq "$(tail -1 "$T/fin.log")" "$(printf world | xxd -p)"
check "criterion 5: UDP packets proxied, replies to their own senders (50 flows)" \
  eq "$(python3 "$H" udp-flows $LU 50)" "ok 50 flows, each reply at its own sender"
check "criterion 6: TCP to a port not exposed is refused (reset)" \
  eq "$(python3 "$H" tcp-roundtrip $LX 68656c6c6f)" reset
grep -q "refused a connection to $X/tcp: not exposed" "$T/out1.err"
check "criterion 6: ... and out says so on stderr" test $? = 0
check "forwarding: an exposed port whose local connect fails: the stream is terminated (reset)" \
  eq "$(python3 "$H" tcp-roundtrip $LZ 68656c6c6f)" reset
# datagrams larger than one muxer chunk span several: the largest, then
# small and large ones on the same flow, each whole and in turn
big=$(export UDP_SAY_PORT_FILE=$T/big.port
  for n in 65507 3000 65507 10 40000; do python3 "$H" udp-say $LU big$n $n; done | tr '\n' ' ')
check "forwarding: the largest UDP datagram (65507 bytes), then 3000, 65507, 10, 40000 on the same flow, each whole ($big)" \
  eq "$big" "ok ok ok ok ok "
check "criterion 6: UDP to a port not exposed is silently dropped" \
  eq "$(python3 "$H" udp-noreply $LY)" ok
check "criterion 6: ... and UDP to an exposed port still works" \
  eq "$(python3 "$H" udp-flows $LU 5)" "ok 5 flows, each reply at its own sender"

# criterion 3: stdio
head -c 1048576 /dev/urandom > "$T/stdio.in"
env PUNCH_SECRET_KEY=$T/stdio.key PUNCH_LOG=info "$P" in $KO -:$E < "$T/stdio.in" > "$T/stdio.out" 2> "$T/stdio.err"
rc=$?
check "criterion 3: stdio bridges stdin/stdout to one TCP connection (1 MiB, exit 0)" \
  test $rc = 0 -a "$(cmp "$T/stdio.in" "$T/stdio.out" && echo same)" = same
check "criterion 3: stdout carries only the stream's bytes (status on stderr)" \
  grep -q "public key" "$T/stdio.err"
printf x | env PUNCH_SECRET_KEY=$T/stdio.key "$P" in $KO -:$X > "$T/stdio2.out" 2> "$T/stdio2.err"
rc=$?
check "criterion 3: stdio exits non-zero on a reset (port not exposed)" test $rc = 1 -a ! -s "$T/stdio2.out"
# the library's own log (PUNCH_LOG=debug) must not leak onto stdout either
head -c 200000 /dev/urandom > "$T/stdio3.in"
env PUNCH_SECRET_KEY=$T/stdio.key PUNCH_LOG=debug "$P" in $KO -:$E < "$T/stdio3.in" > "$T/stdio3.out" 2> "$T/stdio3.err"
rc=$?
check "stdio: with PUNCH_LOG=debug, stdout still carries only the stream's bytes (status on stderr)" \
  test $rc = 0 -a "$(cmp "$T/stdio3.in" "$T/stdio3.out" && echo same)" = same -a "$(wc -l < "$T/stdio3.err")" -gt 3

# peer misbehaviour: on ONE connection, bad streams are reset, a good one works
OADDR=$(sed -n "s|^punch: address \(/ip4/[0-9.]*/tcp/[0-9]*/p2p/$KO\)$|\1|p" "$T/out1.err" | head -1)
hx() { printf '%04x' "$1"; }
"$L" stream "$OADDR" \
  /punch/tcp/1.0.0 01$(hx $X)68656c6c6f \
  /punch/tcp/1.0.0 ff0000 \
  /punch/tcp/1.0.0 0100 \
  /punch/udp/1.0.0 01$(hx $U)ffff00 \
  /punch/udp/1.0.0 01$(hx $X)000161 \
  /punch/tcp/1.0.0 01$(hx $E)68656c6c6f > "$T/mis.out" 2> "$T/mis.err"
rc=$?
res=$(sed -n 's/.*"result":"\([a-z]*\)".*/\1/p' "$T/mis.out" | tr '\n' ' ')
check "misbehaviour: header for a port not exposed -> that stream reset" eq "$(echo $res | cut -d' ' -f1)" reset
check "misbehaviour: garbage header (bad version) -> that stream reset" eq "$(echo $res | cut -d' ' -f2)" reset
check "misbehaviour: header cut short by EOF -> that stream reset" eq "$(echo $res | cut -d' ' -f3)" reset
# (a reset that overtakes the protocol confirmation reads as "refused")
r4=$(echo $res | cut -d' ' -f4)
check "misbehaviour: garbage UDP frame (length > 65507) -> that stream reset" \
  test "$r4" = reset -o "$r4" = refused -a "$(grep -c 'reset a UDP stream with a malformed frame' "$T/out1.err")" = 1
check "misbehaviour: UDP flow to a port not exposed -> dropped (stream reset)" eq "$(echo $res | cut -d' ' -f5)" reset
check "misbehaviour: ... the same connection still forwards (echo after the resets)" \
  test $rc = 0 -a "$(sed -n 6p "$T/mis.out" | grep -c '"result":"eof","data":"68656c6c6f"')" = 1

# integrity and the UDP flood
out=$(python3 "$H" integrity-client $LG $INTEGRITY 64 16 $RANDOM)
echo "# integrity: $out"
check "integrity: $INTEGRITY bytes over 64 TCP connections, random FIN timing both ways, byte for byte (client side)" \
  eq "${out%% *}" ok
sleep 0.5
check "integrity: ... and the server checked every upload byte for byte (64 connections)" \
  test "$(grep -c '^ok ' "$T/integ.log")" = 64 -a "$(grep -c FAIL "$T/integ.log")" = 0
out=$(python3 "$H" udp-flows $LU 1000)
check "1,000 concurrent UDP flows, each reply reaching its own sender" eq "$out" "ok 1000 flows, each reply at its own sender"
# far more than the path carries: what the stream cannot take at once is
# dropped and counted, never buffered (in's peak memory barely moves)
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
# (an ASan build keeps up to 256 MiB of freed memory in its quarantine)
growth_max=49152
nm "$ROOT/$B/lib/liblp2p.a" 2>/dev/null | grep -q __asan_ && growth_max=327680
h0=$(hwm $PID_in1)
python3 "$H" udp-blast $LU 20000 60000 > /dev/null
sleep 1
h1=$(hwm $PID_in1)
kill -USR1 $PID_in1
wait_line "$T/in1.err" "counters $LU:$U/udp: flows" 5
drops=$(sed -n "s/^punch: counters $LU:$U\/udp: .*drops \([0-9]*\)$/\1/p" "$T/in1.err" | tail -1)
check "UDP: a flood (1.2 GB offered at once) is dropped and counted, not buffered ($drops drops, in's peak memory $h0 -> $h1 KiB)" \
  test "${drops:-0}" -gt 0 -a $((h1 - h0)) -lt $growth_max
check "UDP: ... and the flows still forward after it" eq "$(python3 "$H" udp-say $LU after-flood)" ok

# criterion 10: all of that over one connection
check "criterion 10: several mappings share one connection (in connected once)" \
  test "$(grep -c "peer $KO connected" "$T/in1.err")" = 1
check "criterion 10: ... (out saw that peer connect once)" \
  test "$(grep -c "peer $KI connected" "$T/out1.err")" = 1
kill -USR1 $PID_out1
wait_line "$T/out1.err" "counters $U/udp: flows" 5
check "status: SIGUSR1 prints per-mapping counters" grep -q "counters $E/tcp: connections" "$T/out1.err"
kill $PID_in1; wait $PID_in1 2>/dev/null
rc=$?
check "status: counters at exit" grep -q "counters $LU:$U/udp: flows [0-9]*, bytes in [0-9]*, bytes out [0-9]*, drops" "$T/in1.err"
check "exit codes: in stopped by SIGTERM exits 0" eq $rc 0

# ---- criterion 7: PUNCH_ALLOW ------------------------------------------------
KOK=$("$L" keygen --out "$T/allowed.key" 2>/dev/null)
bg out2 env PUNCH_SECRET_KEY=$T/out2.key PUNCH_ALLOW=$KOK "$P" out $E
wait_line "$T/out2.err" "relay reservation on" 20
KO2=$(key_of out2)
LA=$(free_port); LD=$(free_port)
bg in2 env PUNCH_SECRET_KEY=$T/allowed.key "$P" in $KO2 $LA:$E
bg in3 env PUNCH_SECRET_KEY=$T/denied.key "$P" in $KO2 $LD:$E
wait_line "$T/in2.err" "listening on" 10; wait_line "$T/in3.err" "listening on" 10
check "criterion 7: a listed key connects and forwards" eq "$(python3 "$H" tcp-roundtrip $LA 6f6b)" 6f6b
r=$(python3 "$H" tcp-roundtrip $LD 6e6f)
check "criterion 7: an unlisted key gets nothing through ($r)" test "$r" = reset -o "$r" = empty -o "$r" = timeout
check "criterion 7: out refuses it after the handshake (status line)" \
  grep -q "refused an inbound connection: the peer is not in PUNCH_ALLOW" "$T/out2.err"
KD=$(key_of in3)
check "criterion 7: the denied peer never connected (no peer-connected line)" \
  test "$(grep -c "peer $KD connected" "$T/out2.err")" = 0
# the gater acts before any stream: a denied key that opens a stream to an
# exposed port itself gets no data and no protocol answer, only the close
O2ADDR=$(sed -n "s|^punch: address \(/ip4/[0-9.]*/tcp/[0-9]*/p2p/$KO2\)$|\1|p" "$T/out2.err" | head -1)
"$L" stream --key "$T/denied.key" "$O2ADDR" /punch/tcp/1.0.0 01$(printf '%04x' $E)6e6f > "$T/den.out" 2> "$T/den.err"
rc=$?
check "criterion 7: a denied peer's own stream to an exposed port: connection lost, no data back" \
  test $rc != 0 -a "$(grep -c '"data":"6e6f"' "$T/den.out")" = 0 -a "$(grep -c '"result":"eof"' "$T/den.out")" = 0
"$L" identify --key "$T/denied.key" "$O2ADDR" > "$T/den_id.out" 2> "$T/den_id.err"
rc=$?
check "criterion 7: a denied peer is told nothing beyond the close (no identify: no addresses, no protocols, no key)" \
  test $rc != 0 -a "$(grep -cE 'punch|/ip4/|/ipfs/id|protocols' "$T/den_id.out")" = 0
kill -USR1 $PID_out2; wait_line "$T/out2.err" "counters $E/tcp" 5
check "criterion 7: the denied peer never got a stream (1 connection counted)" \
  grep -q "counters $E/tcp: connections 1," "$T/out2.err"
check "status: SIGUSR1 counters count exactly what went through (1 connection, 2 bytes each way)" \
  grep -q "counters $E/tcp: connections 1, bytes in 2, bytes out 2$" "$T/out2.err"
kill -USR1 $PID_in2; wait_line "$T/in2.err" "counters $LA:$E:" 5
check "status: SIGUSR1 prints in's per-mapping counters too (exact)" \
  grep -q "counters $LA:$E: connections 1, bytes in 2, bytes out 2$" "$T/in2.err"
kill $PID_out2; wait $PID_out2 2>/dev/null
rc=$?
check "exit codes: out stopped by SIGTERM exits 0" eq $rc 0
check "status: out prints its counters at exit" \
  test "$(grep -c "counters $E/tcp: connections 1, bytes in 2, bytes out 2$" "$T/out2.err")" = 2
kill $PID_in2 $PID_in3 2>/dev/null

# ---- criterion 9: PUNCH_RELAY_MODE disabled / default (private DHT) ----------
unset PUNCH_RELAY_MODE
for mode in disabled default; do
  bg o_$mode env PUNCH_SECRET_KEY=$T/o_$mode.key PUNCH_RELAY_MODE=$mode PUNCH_BOOTSTRAP=$RELAY "$P" out $E
  wait_line "$T/o_$mode.err" "published on the DHT" 30
  KM=$(key_of o_$mode)
  check "criterion 9 ($mode): out joins the DHT and publishes its provider record" \
    grep -q "published on the DHT" "$T/o_$mode.err"
  LM=$(free_port)
  bg i_$mode env PUNCH_SECRET_KEY=$T/i_$mode.key PUNCH_RELAY_MODE=$mode PUNCH_BOOTSTRAP=$RELAY "$P" in $KM $LM:$E
  wait_line "$T/i_$mode.err" "peer $KM connected" 30
  check "criterion 9 ($mode): in finds the key on the DHT" grep -q "found $KM on the DHT" "$T/i_$mode.err"
  check "criterion 9 ($mode): ... and forwards" eq "$(python3 "$H" tcp-roundtrip $LM 6d6f6465)" 6d6f6465
  if [ $mode = disabled ]; then
    check "criterion 9 (disabled): direct only: no reservation, a direct connection" \
      test "$(grep -c 'relay reservation' "$T/o_$mode.err")" = 0 -a \
           "$(grep -c "peer $KM connected: direct" "$T/i_$mode.err")" = 1
  fi
  eval "kill \$PID_o_$mode \$PID_i_$mode" 2>/dev/null
done

# ---- path upkeep: relayed -> direct, and back --------------------------------
bg relay3 env PUNCH_SECRET_KEY=$T/relay3.key "$P" relay --listen /ip4/127.0.0.1/tcp/0
wait_line "$T/relay3.out" "/p2p/" 10
export PUNCH_RELAY_MODE=$(head -1 "$T/relay3.out") LP2P_PUBLIC_CIDRS=127.0.0.0/8
bg out4 env PUNCH_SECRET_KEY=$T/out4.key "$P" out $E
wait_line "$T/out4.err" "relay reservation on" 20
KO4=$(key_of out4); LP=$(free_port)
bg in4 env PUNCH_SECRET_KEY=$T/in4.key "$P" in $KO4 $LP:$E
wait_line "$T/in4.err" "relayed -> direct" 30
check "path: a status line says relayed -> direct with the RTT" \
  grep -qE "path to $KO4: relayed -> direct /ip4/127\.0\.0\.1/tcp/[0-9]+, rtt [0-9.]+ ms" "$T/in4.err"
check "path: forwarding works on the direct path" eq "$(python3 "$H" tcp-roundtrip $LP 6469726563 )" 6469726563
# new forwarded connections take the direct connection: they keep working
# with the relay gone (its own relay here; the others still need theirs)
kill $PID_relay3; wait $PID_relay3 2>/dev/null
check "path: new forwarded connections take the direct connection (they work with the relay gone)" \
  eq "$(python3 "$H" tcp-roundtrip $LP 6e6f2072656c6179)" 6e6f2072656c6179
check "path: ... and nothing flapped (one relayed -> direct line, no direct path lost)" \
  test "$(grep -c "relayed -> direct" "$T/in4.err")" = 1 -a "$(grep -c "direct path to" "$T/in4.err")" = 0
kill $PID_in4 $PID_out4 2>/dev/null

# ---- path upkeep: the direct connection dies (in a namespace of our own) ----
if unshare -rn true 2>/dev/null && command -v ss >/dev/null; then
  unshare -rn bash "$ROOT/tests/punch/fallback.sh" "$P" "$H" "$T"
else
  nok "fallback: needs unshare -rn and ss (a network namespace to destroy a socket in)"
fi

# ---- minutes of wall time under libfaketime: UDP idle eviction, punch
# retries that never flap, the stdio deadline -------------------------------
bash "$ROOT/tests/punch/idle.sh" "$P" "$H" "$T"

# ---- status: a limited relay's limits -----------------------------------------
unset LP2P_PUBLIC_CIDRS
bg relay2 env PUNCH_SECRET_KEY=$T/relay2.key "$P" relay --listen /ip4/127.0.0.1/tcp/0 --limit-duration 300 --limit-data 10000000
wait_line "$T/relay2.out" "/p2p/" 10
export PUNCH_RELAY_MODE=$(head -1 "$T/relay2.out")
bg out5 env PUNCH_SECRET_KEY=$T/out5.key "$P" out $E
wait_line "$T/out5.err" "relay reservation on" 20
KO5=$(key_of out5); LL=$(free_port)
bg in5 env PUNCH_SECRET_KEY=$T/in5.key "$P" in $KO5 $LL:$E
wait_line "$T/in5.err" "peer $KO5 connected" 20
check "status: a limited relay's limits are shown" \
  grep -qE "peer $KO5 connected: relayed .*\(limited relay: [0-9]+ s left, [0-9]+ bytes left; then it ends\)" "$T/in5.err"
lim=$(sed -n "s/.*peer $KO5 connected: relayed .*(limited relay: \([0-9]*\) s left, \([0-9]*\) bytes left.*/\1 \2/p" "$T/in5.err" | head -1)
check "status: ... and they are the relay's configured limits (--limit-duration 300, --limit-data 10000000: $lim)" \
  test -n "$lim" -a "${lim% *}" -gt 0 -a "${lim% *}" -le 300 -a "${lim#* }" -gt 0 -a "${lim#* }" -le 10000000 -a "${lim#* }" -gt 9000000
check "forwarding runs on a limited relayed connection" eq "$(python3 "$H" tcp-roundtrip $LL 6c696d)" 6c696d
kill $PID_in5 $PID_out5 2>/dev/null
kill $PID_relay2; wait $PID_relay2 2>/dev/null
rc=$?
check "exit codes: relay stopped by SIGTERM exits 0" eq $rc 0

# ---- examples/chat: by public key, through the relay, then direct -------------
CC_EX=cc; SAN_EX=""
if nm "$ROOT/$B/lib/liblp2p.a" 2>/dev/null | grep -q __asan_; then CC_EX=clang; SAN_EX="-fsanitize=address,undefined"; fi
if $CC_EX -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror $SAN_EX -I"$ROOT/include" \
    -o "$T/chat" "$ROOT/examples/chat.c" "$ROOT/$B/lib/liblp2p.a" -lsodium -lcrypto -lbearssl -lsecp256k1 -lexpat -lm -lpthread 2> "$T/chat.build"; then
  ok "examples/chat.c builds against the library alone"
  export LP2P_PUBLIC_CIDRS=127.0.0.0/8
  mkfifo "$T/chatA.fifo"
  ( sleep 5; echo "hello from A"; sleep 6 ) > "$T/chatA.fifo" & PIDS+=($!)
  # (not through bg: an asynchronous command's stdin would be /dev/null)
  "$T/chat" "$RELAY" < "$T/chatA.fifo" > "$T/chatA.out" 2> "$T/chatA.err" & PIDS+=($!)
  wait_line "$T/chatA.out" "^waiting: chat RELAY " 10
  KC=$(sed -n 's/^waiting: chat RELAY //p' "$T/chatA.out")
  (echo "hi from B"; sleep 8) | timeout 30 "$T/chat" "$RELAY" $KC > "$T/chatB.out" 2> "$T/chatB.err"
  wait_line "$T/chatA.out" "peer: hi from B" 5
  check "chat: a line from the caller reaches the waiting peer" grep -qx "peer: hi from B" "$T/chatA.out"
  check "chat: a line from the waiting peer reaches the caller" grep -qx "peer: hello from A" "$T/chatB.out"
  check "chat: it says the path was relayed, then direct" \
    test "$(grep -c "connected to $KC (relayed" "$T/chatB.err")" = 1 -a "$(grep -c "now direct with $KC (direct" "$T/chatB.err")" = 1
  unset LP2P_PUBLIC_CIDRS
else
  nok "examples/chat.c builds against the library alone: $(head -3 "$T/chat.build")"
fi
exit 0

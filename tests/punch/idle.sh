#!/bin/bash
# punch behaviours that take minutes of wall time (issue 14), run with
# `punch out` (or a stdio `punch in`) under libfaketime sped up 60x, so
# its monotonic clock runs 5 min in 5 s while the relay, the other side
# and the services run on real time. Run by tests/punch/run.sh:
#   - "flows are evicted after 5 min idle": the local UDP service sees a
#     flow's datagrams from one source port (out's socket of that flow)
#     while it is busy, the same port after 1 min idle, a new port after
#     more than 5 min idle; the sender never notices (one socket all along)
#   - path upkeep: a punch that cannot go direct (loopback is not public
#     here) is retried with backoff, each failed attempt one status line
#     with its named reason, and the path never flaps: no relayed -> direct
#     line, no direct path lost, one connection, forwarding all along
#   - out's DHT provider record is published again (refreshed)
#   - exit 1 when a stdio `in` cannot reach the peer within 60 s
# Tests never assert time: faketime only makes the minutes pass.
# Arguments: P H T (punch, helper.py, a temp dir).
set -u
P=$1 H=$2 T=$3
ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }
wait_line() {
  local i
  for ((i = 0; i < ${3:-20} * 10; i++)); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
count() { local c; c=$(grep -cE "$2" "$1" 2>/dev/null); echo "${c:-0}"; }
# libfaketime (Debian package faketime): installed here when missing, as
# the other test scripts install their tools; without it these checks fail
if ! command -v faketime >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      faketime > "$T/idle_apt.log" 2>&1
  fi
fi
if ! command -v faketime >/dev/null || ! faketime -f '+0 x60' true 2>/dev/null; then
  nok "idle: libfaketime is needed (apt-get install faketime): UDP idle eviction, punch retries and the stdio deadline are untested"
  exit 0
fi
# an ASan build must not insist on coming first in the library list
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
FT=(faketime -f '+0 x60')
PIDS=()
stop_all() {
  local p
  for p in "${PIDS[@]}"; do pkill -P "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
  wait 2>/dev/null
}
trap stop_all EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
unset LP2P_PUBLIC_CIDRS

python3 "$H" udp-echo-log "$T/id_u.log" > "$T/id_u.out" 2>/dev/null & PIDS+=($!)
python3 "$H" tcp-echo > "$T/id_e.out" 2>/dev/null & PIDS+=($!)
PUNCH_SECRET_KEY=$T/id_relay.key "$P" relay --listen /ip4/127.0.0.1/tcp/0 > "$T/id_relay.out" 2> "$T/id_relay.err" & PIDS+=($!)
wait_line "$T/id_relay.out" /p2p/ 10; wait_line "$T/id_u.out" "^port" 10; wait_line "$T/id_e.out" "^port" 10
U=$(awk '{print $2}' "$T/id_u.out"); E=$(awk '{print $2}' "$T/id_e.out")
export PUNCH_RELAY_MODE=$(head -1 "$T/id_relay.out")
PUNCH_SECRET_KEY=$T/id_out.key "${FT[@]}" "$P" out $U/udp $E 2> "$T/id_out.err" & PIDS+=($!)
FTPID=$!
wait_line "$T/id_out.err" "relay reservation on" 20
KO=$(sed -n 's/^punch: public key //p' "$T/id_out.err")
LU=$(free_port); LE=$(free_port)
PUNCH_SECRET_KEY=$T/id_in.key "$P" in $KO $LU:$U/udp $LE:$E 2> "$T/id_in.err" & PIDS+=($!)
wait_line "$T/id_in.err" "peer $KO connected" 20
KI=$(sed -n 's/^punch: public key //p' "$T/id_in.err")

# one sender (one local port, kept in a file) talks three times
export UDP_SAY_PORT_FILE=$T/id_say.port
r1=$(python3 "$H" udp-say $LU busy)
sleep 1 # 1 min on out's clock: not idle long enough
r2=$(python3 "$H" udp-say $LU after-1min)
sleep 8 # 8 min on out's clock: evicted (out sweeps every 10 s of its clock)
r3=$(python3 "$H" udp-say $LU after-8min)
unset UDP_SAY_PORT_FILE
check "idle: one sender's datagrams are answered each time ($r1, $r2, $r3)" \
  test "$r1 $r2 $r3" = "ok ok ok"
p1=$(awk '$2 == "busy" {print $1}' "$T/id_u.log" | sort -u)
p2=$(awk '$2 == "after-1min" {print $1}' "$T/id_u.log" | sort -u)
p3=$(awk '$2 == "after-8min" {print $1}' "$T/id_u.log" | sort -u)
echo "# service saw source ports: busy=$p1 after-1min=$p2 after-8min=$p3"
check "idle: a flow idle for less than 5 min is the same flow (same source port at the service)" \
  test -n "$p1" -a "$p1" = "$p2"
check "idle: a flow idle for more than 5 min was evicted: the next datagram is a new flow (new source port)" \
  test -n "$p3" -a -n "$p2" -a "$p3" != "$p2"
# faketime runs punch as its child
OUTPID=$(pgrep -P "$FTPID" | head -1)
kill -USR1 "${OUTPID:-$FTPID}"
wait_line "$T/id_out.err" "counters $U/udp: flows" 5
check "idle: out counted two flows for that one sender (the second after the eviction)" \
  grep -q "counters $U/udp: flows 2," "$T/id_out.err"

# path upkeep while relayed: punches fail (no public address on loopback)
# and are retried; by now out's clock has run > 8 min: 30+60+120+240 s
for ((i = 0; i < 100 && $(count "$T/id_out.err" "hole punch to $KI failed") < 3; i++)); do sleep 0.1; done
n=$(count "$T/id_out.err" "hole punch to $KI failed")
check "upkeep: failed punches are retried, each one status line ($n so far)" test "$n" -ge 3
check "upkeep: every failed attempt names its reason and says traffic stays relayed" \
  test "$(count "$T/id_out.err" "hole punch to $KI failed: [a-z-]+ \([0-9]+ attempts?\); traffic stays relayed$")" = "$n"
check "upkeep: a path that failed to go direct never flaps (no direct line on either side)" \
  test "$(cat "$T/id_out.err" "$T/id_in.err" | grep -cE 'relayed -> direct|direct path to .* lost')" = 0
check "upkeep: ... one connection all along (in connected once, out saw it once)" \
  test "$(count "$T/id_in.err" "peer $KO connected")" = 1 -a "$(count "$T/id_out.err" "peer $KI connected")" = 1
check "upkeep: ... and it still forwards over the relay" \
  test "$(python3 "$H" tcp-roundtrip $LE 72657472)" = 72657472

# find-by-key: out's provider record is refreshed (every 10 min of its
# clock) on a private DHT (the relay is a DHT server)
PUNCH_SECRET_KEY=$T/id_dht.key PUNCH_RELAY_MODE=disabled PUNCH_BOOTSTRAP=$(head -1 "$T/id_relay.out") \
  "${FT[@]}" "$P" out $E 2> "$T/id_dht.err" & PIDS+=($!)
for ((i = 0; i < 300 && $(count "$T/id_dht.err" "published on the DHT") < 2; i++)); do sleep 0.1; done
check "find-by-key: out publishes its provider record again later (refreshed)" \
  test "$(count "$T/id_dht.err" "published on the DHT")" -ge 2

# stdio: nobody answers for that key within 60 s of in's clock
: | PUNCH_SECRET_KEY=$T/id_stdio.key timeout 60 "${FT[@]}" "$P" in 12D3KooWGrNsUXjoSeEw6NQptBALvwTHtPkmZ7PwXVMWQ3NZ1Ts2 -:$E > "$T/id_stdio.out" 2> "$T/id_stdio.err"
rc=$?
check "exit codes: stdio in gives up after 60 s without the peer: exit 1, a line that says so, nothing on stdout" \
  test $rc = 1 -a ! -s "$T/id_stdio.out" -a "$(count "$T/id_stdio.err" "could not reach .* within 60 s")" = 1
exit 0

#!/bin/bash
# Interop suite: real js-libp2p peers (peer.mjs, packages pinned in
# package-lock.json) against each other and against the C node
# $LP2P_BUILD/bin/lp2p. Prints one TAP line per case: "ok - <name>" or
# "not ok - <name>: <reason>"; "# ..." lines are diagnostics.
#
# Every case is a pair: a listener is started (`<prog> listen
# /ip4/127.0.0.1/tcp/0 [--plaintext]`), its address line parsed, a dialer
# run against that address, then both outputs checked. Both programs speak
# the same line protocol on stdout (see peer.mjs --help):
#   listener: "listen <maddr>/p2p/<id>" (or the bare address, as the C
#             tool prints it), then one line per event:
#             "peer-connected <id> <raddr> <security> <muxer> inbound",
#             "identify <json>" (what it learnt of the remote),
#             "echo-done <n>" / "echo-reset <n> <why>" per echo stream,
#             "perf-done <up> <down>" per perf stream,
#             "peer-disconnected <id> <raddr> <status> goaway=<code|none>"
#   dialer:   "self <id>" first, then the verb's result: "ping ok N" (or N
#             "rtt_ms <x>" lines), "identify <json>" (or the bare JSON),
#             the perf final JSON, "echo ok K", "halfclose ok",
#             "reset ok", "close ok", "connect ok N"; exit 0 on success,
#             else 1 with one line on stderr.
#   identify JSON: peerId, protocols, listenAddrs, observedAddr, plus what
#             the checks need from the dialer's own side: localAddr (its
#             socket address, to check observedAddr), encryption, publicKey.
# Dialer verbs: ping -n N, identify, perf --upload B --download B,
# echo --streams K --bytes B, halfclose, reset, close, connect -n N; a C
# verb that `lp2p help VERB` does not know fails its cases as missing.
#
# LP2P_INTEROP_ONLY=REGEX runs only the cases whose names match (for
# debugging; the suite always runs everything); LP2P_INTEROP_KEEP=1 keeps
# every program's stdout/stderr in the temporary folder it names.
# C<->js cases always run (LP2P_INTEROP_C=0 turns them off for debugging the
# js side, with a loud "# C<->js cases disabled" line).
set -u
DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
B=${LP2P_BUILD:-build}
case $B in /*) ;; *) B=$(cd "$DIR/../.." && pwd)/$B ;; esac
LP2P=$B/bin/lp2p
NODE=$DIR/.node/node_modules/node/bin/node
JS=("$NODE" "$DIR/peer.mjs")
C=("$LP2P")
MIB100=104857600

TMP=$(mktemp -d "${TMPDIR:-/tmp}/lp2p-interop.XXXXXX") || { echo "not ok - interop-tmpdir"; exit 1; }
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$p" 2>/dev/null
  done
  exec 9>&- 2>/dev/null
  if [ -n "${LP2P_INTEROP_KEEP:-}" ]; then echo "# outputs kept in $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Listeners read stdin from this fifo; we hold its only writer (fd 9), so
# they see EOF and exit even if this script is killed with SIGKILL.
mkfifo "$TMP/hold" && exec 9<>"$TMP/hold"

npass=0; nfail=0
ok() { echo "ok - $1"; npass=$((npass + 1)); }
nok() { echo "not ok - $1: $2"; nfail=$((nfail + 1)); }

# wait_for FILE REGEX SECONDS: 0 once a line of FILE matches.
wait_for() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# First line of stderr file, for reasons.
why() { head -n1 "$1" 2>/dev/null | cut -c1-200; }

# Strip a trailing /p2p/<id> from a multiaddr.
bare() { printf '%s' "${1%%/p2p/*}"; }

# A JSON field of the first "identify <json>" line in a file whose peerId
# is $2 (any when empty): json_field FILE PEERID EXPR, EXPR is a js
# expression over `j`.
json_field() {
  "$NODE" -e '
    const fs = require("fs")
    const [file, id, expr] = process.argv.slice(1)
    for (let l of fs.readFileSync(file, "utf8").split("\n")) {
      if (l.startsWith("identify ")) l = l.slice(9)
      if (!l.startsWith("{\"peerId\":")) continue
      const j = JSON.parse(l)
      if (id !== "" && j.peerId !== id) continue
      const v = (new Function("j", "return (" + expr + ")"))(j)
      process.stdout.write(typeof v === "string" ? v : JSON.stringify(v))
      process.exit(0)
    }
    process.exit(1)' "$1" "$2" "$3"
}

# ---- the pair runner ---------------------------------------------------

# start_listener NAME CMD...: sets LPID LID LADDR; 1 when no loopback
# listen address ("listen <maddr>/p2p/<id>", or the bare address) in 30 s.
LISTEN_RE='^(listen )?/ip4/127\.0\.0\.1/tcp/[0-9]+/p2p/[1-9A-HJ-NP-Za-km-z]+$'
start_listener() {
  local name=$1; shift
  LOUT=$TMP/$name.listen.out; LERR=$TMP/$name.listen.err
  "$@" <"$TMP/hold" >"$LOUT" 2>"$LERR" 9>&- &
  LPID=$!
  PIDS+=("$LPID")
  LADDR=""; LID=""
  wait_for "$LOUT" "$LISTEN_RE" 30 || return 1
  LADDR=$(grep -m1 -E "$LISTEN_RE" "$LOUT" | sed 's/^listen //')
  LID=${LADDR##*/p2p/}
  [ -n "$LADDR" ] && [ -n "$LID" ]
}

stop_listener() {
  kill -TERM "$LPID" 2>/dev/null
  local i
  for ((i = 0; i < 50; i++)); do kill -0 "$LPID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$LPID" 2>/dev/null
  wait "$LPID" 2>/dev/null
  forget "$LPID"
}

# forget PID: drop a reaped child from PIDS, so that the exit trap never
# signals a recycled pid.
forget() {
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# pair NAME CHECK LSIDE "LISTEN ARGS" DSIDE "DIAL ARGS": LSIDE/DSIDE name
# the arrays holding each program's command (JS or C); the ARGS strings are
# split on spaces and @ADDR@ in the dialer's becomes the listener's address.
# CHECK is a function run after the dialer; it reads $DOUT $DERR $DRC $DID
# $LOUT $LID $LADDR, sets REASON on failure and returns 0 or 1.
pair() {
  local name=$1 check=$2 largs dargs
  local -n lprog=$3 dprog=$5
  read -r -a largs <<<"$4"
  read -r -a dargs <<<"$6"
  # The C tool prints its event lines with --events, and as a dialer takes
  # its identity from a key file (its id comes from `lp2p id`, not "self").
  local ckey=""
  [ "$3" = C ] && largs+=(--events)
  if [ "$5" = C ]; then
    ckey=$TMP/$name.key
    "$LP2P" keygen --out "$ckey" >/dev/null 2>"$TMP/$name.keygen.err" ||
      { nok "$name" "lp2p keygen: $(why "$TMP/$name.keygen.err")"; return; }
    dargs+=(--key "$ckey")
  fi
  if ! start_listener "$name" "${lprog[@]}" "${largs[@]}"; then
    nok "$name" "listener did not start: $(why "$LERR")"
    stop_listener; return
  fi
  dargs=("${dargs[@]//@ADDR@/$LADDR}")
  DOUT=$TMP/$name.dial.out; DERR=$TMP/$name.dial.err
  # in the background so that a TERM to this script is handled at once
  timeout -k 5 180 "${dprog[@]}" "${dargs[@]}" </dev/null >"$DOUT" 2>"$DERR" 9>&- &
  local dpid=$!
  PIDS+=("$dpid")
  wait "$dpid"
  DRC=$?
  forget "$dpid"
  DID=$(sed -n 's/^self //p' "$DOUT" | head -n1)
  [ -z "$DID" ] && [ -n "$ckey" ] && DID=$("$LP2P" id --key "$ckey" | head -n1)
  REASON=""
  if [ $DRC = 124 ] || [ $DRC = 137 ]; then
    nok "$name" "dialer timed out"
  elif "$check"; then
    ok "$name"
  else
    nok "$name" "${REASON:-check failed}"
  fi
  stop_listener
}

# dialer_ok: exit 0 and the line $1 (regex) on stdout.
dialer_ok() {
  if [ "$DRC" != 0 ]; then REASON="dialer exit $DRC: $(why "$DERR")"; return 1; fi
  if ! grep -qE -- "$1" "$DOUT"; then REASON="dialer printed no '$1'"; return 1; fi
  if [ -z "$DID" ]; then REASON="dialer printed no 'self <id>'"; return 1; fi
}

# listener_saw REGEX [SECONDS]
listener_saw() {
  wait_for "$LOUT" "$1" "${2:-10}" && return 0
  REASON="listener printed no '$1'"; return 1
}

# ---- checks --------------------------------------------------------------

SEC=/noise # security protocol the current case must negotiate

check_ping() {
  if [ "$DRC" = 0 ] && ! grep -q '^ping ok' "$DOUT" && [ "$(grep -c '^rtt_ms [0-9.]*$' "$DOUT")" = 5 ]; then
    echo 'ping ok 5' >>"$DOUT" # the C tool's form: one rtt_ms line per ping
  fi
  dialer_ok '^ping ok 5$' || return 1
  listener_saw "^peer-connected $DID /ip4/127\.0\.0\.1/tcp/[0-9]+(/p2p/$DID)? $SEC /yamux/1\.0\.0 inbound$" || return 1
}

WANT_PROTOS='["/echo/1.0.0","/ipfs/id/1.0.0","/ipfs/ping/1.0.0","/perf/1.0.0"]'
has_protos() { # FILE PEERID WHO
  local missing
  missing=$(json_field "$1" "$2" "$WANT_PROTOS.filter(p => !j.protocols.includes(p)).join(\" \")") ||
    { REASON="$3 printed no identify of $2"; return 1; }
  [ -z "$missing" ] || { REASON="$3's identify lacks $missing"; return 1; }
}

check_identify() {
  dialer_ok '^(identify )?\{"peerId":' || return 1
  # what the dialer saw of the listener
  has_protos "$DOUT" "$LID" dialer || return 1
  local v want
  v=$("$NODE" -e '
    const fs = require("fs"); const [f, id, want] = process.argv.slice(1)
    const l = fs.readFileSync(f, "utf8").split("\n").map(l => l.replace(/^identify /, "")).find(l => l.startsWith("{\"peerId\":"))
    if (l === undefined) { process.stdout.write("no identify JSON"); process.exit(0) }
    const j = JSON.parse(l)
    const bare = a => a == null ? null : a.replace(/\/p2p\/.*$/, "")
    const e = []
    if (j.peerId !== id) e.push("peerId " + j.peerId)
    if (!j.listenAddrs.map(bare).includes(want)) e.push("listenAddrs " + j.listenAddrs.join(","))
    if (j.localAddr == null || bare(j.observedAddr) !== bare(j.localAddr)) e.push("observedAddr " + j.observedAddr + " but local " + j.localAddr)
    if (j.encryption !== process.argv[4]) e.push("encryption " + j.encryption)
    if (j.publicKey == null) e.push("no publicKey")
    process.stdout.write(e.length ? e.join("; ") : "ok")' "$DOUT" "$LID" "$(bare "$LADDR")" "$SEC" 2>&1 | tail -n1)
  [ "$v" = ok ] || { REASON="dialer's identify of listener: $v"; return 1; }
  # what the listener saw of the dialer
  listener_saw "^(identify )?\{\"peerId\":\"$DID\"" || return 1
  has_protos "$LOUT" "$DID" listener || return 1
  want=$(bare "$LADDR")
  v=$(json_field "$LOUT" "$DID" 'j.observedAddr') || v=""
  [ "$(bare "$v")" = "$want" ] || { REASON="listener's identify: observedAddr $v, want $want"; return 1; }
}

perf_check() { # UP DOWN
  dialer_ok '^\{"type":"final"' || return 1
  local line up down t
  line=$(grep -m1 '^{"type":"final"' "$DOUT")
  up=$(printf '%s' "$line" | sed -n 's/.*"uploadBytes":\([0-9]*\).*/\1/p')
  down=$(printf '%s' "$line" | sed -n 's/.*"downloadBytes":\([0-9]*\).*/\1/p')
  t=$(printf '%s' "$line" | sed -n 's/.*"timeSeconds":\([0-9.e+-]*\).*/\1/p')
  [ "$up" = "$1" ] && [ "$down" = "$2" ] || { REASON="perf final says up=$up down=$down, want $1 $2"; return 1; }
  listener_saw "^perf-done $1 $2$" || return 1
  echo "# $CASE_NAME: $(awk -v b=$(( $1 + $2 )) -v t="$t" 'BEGIN { printf "%.1f MiB/s (%.2f s)", b / 1048576 / t, t }')"
}
check_perf_up() { perf_check $MIB100 0; }
check_perf_down() { perf_check 0 $MIB100; }

check_echo() {
  dialer_ok '^echo ok 50$' || return 1
  wait_for "$LOUT" '^echo-done' 10
  local i n
  for ((i = 0; i < 100; i++)); do
    n=$(grep -c '^echo-done 300000$' "$LOUT"); [ "$n" -ge 50 ] && break; sleep 0.1
  done
  [ "$n" = 50 ] || { REASON="listener completed $n/50 echo streams"; return 1; }
}

check_halfclose() {
  dialer_ok '^halfclose ok$' || return 1
  listener_saw '^perf-done 1000 1048576$' || return 1
  listener_saw '^echo-done 200000$' || return 1
}

check_reset() {
  dialer_ok '^reset ok$' || return 1
  listener_saw '^echo-reset ' || return 1
  listener_saw '^echo-done 10000$' || return 1
  local n
  n=$(grep -c "^peer-connected $DID " "$LOUT")
  [ "$n" = 1 ] || { REASON="dialer connected $n times, want 1 (connection must survive the reset)"; return 1; }
}

check_close() {
  dialer_ok '^close ok$' || return 1
  # graceful: the listener got yamux GoAway(normal) before the TCP close
  listener_saw "^peer-disconnected $DID " || return 1
  listener_saw "^peer-disconnected $DID .* goaway=0$" 1 ||
    { REASON="no graceful GoAway: $(grep -m1 "^peer-disconnected $DID " "$LOUT" | sed 's/.* //')"; return 1; }
  # the listener must still accept after a peer closed gracefully
  local extra=("${JS[@]}" ping "$LADDR")
  [ "$SEC" = /noise ] || extra+=(--plaintext)
  timeout -k 5 60 "${extra[@]}" </dev/null >"$TMP/close-after.out" 2>"$TMP/close-after.err" ||
    { REASON="listener refused a new connection after close: $(why "$TMP/close-after.err")"; return 1; }
}

check_connect() {
  dialer_ok '^connect ok 20$' || return 1
  local n
  n=$(grep -c "^peer-connected $DID " "$LOUT")
  [ "$n" = 20 ] || { REASON="listener saw $n/20 connections"; return 1; }
}

CASES="connect-ping:check_ping:ping @ADDR@ -n 5
identify:check_identify:identify @ADDR@
perf-upload-100MiB:check_perf_up:perf @ADDR@ --upload $MIB100 --download 0
perf-download-100MiB:check_perf_down:perf @ADDR@ --upload 0 --download $MIB100
echo-50-streams:check_echo:echo @ADDR@ --streams 50 --bytes 300000
half-close:check_halfclose:halfclose @ADDR@
reset:check_reset:reset @ADDR@
graceful-close:check_close:close @ADDR@
connect-20-sequential:check_connect:connect @ADDR@ -n 20"

# c_has VERB: the C tool knows VERB.
c_has() { [ -x "$LP2P" ] && "$LP2P" help "$1" >/dev/null 2>&1; }

# run_matrix PREFIX LSIDE DSIDE: every case, noise then plaintext.
run_matrix() {
  local prefix=$1 sec flag cname check args verb lextra
  for sec in noise plaintext; do
    if [ $sec = noise ]; then SEC=/noise; flag=""; else SEC=/plaintext/2.0.0; flag=" --plaintext"; fi
    while IFS=: read -r cname check args; do
      CASE_NAME=$prefix-$sec-$cname
      [[ $CASE_NAME =~ ${LP2P_INTEROP_ONLY:-.} ]] || continue
      verb=${args%% *}
      if [ "$3" = C ] && ! c_has "$verb"; then
        nok "$CASE_NAME" "lp2p node verbs missing (no '$verb' verb)"; continue
      fi
      # A stock js listener takes 5 connections/s from one host; only the
      # sequential-connections case needs more (see peer.mjs makeNode).
      lextra=""
      [ "$2" = JS ] && [ "$check" = check_connect ] && lextra=" --inbound-per-second 1000"
      pair "$CASE_NAME" "$check" "$2" "listen /ip4/127.0.0.1/tcp/0$flag$lextra" "$3" "$args$flag"
    done <<<"$CASES"
  done
}

# ---- main ----------------------------------------------------------------

if ! out=$(bash "$DIR/setup.sh" 2>&1); then
  printf '%s\n' "$out" | grep '^interop: cannot' >&2
  nok "interop-setup" "$(printf '%s\n' "$out" | grep -m1 '^interop: cannot' || printf '%s' "$out" | tail -n1)"
  exit 1
fi

run_matrix js-js JS JS

if [ "${LP2P_INTEROP_C:-1}" = 1 ]; then
  if c_has listen; then
    run_matrix c-js C JS   # C listens, js dials
    run_matrix js-c JS C   # js listens, C dials
  else
    while IFS=: read -r cname _ _; do
      nok "c-$cname" "lp2p node verbs missing ($LP2P has no 'listen' verb)"
    done <<<"$CASES"
  fi
else
  echo "# C<->js cases disabled (LP2P_INTEROP_C=0)"
fi

echo "# interop: $npass passed, $nfail failed"
[ $nfail = 0 ]

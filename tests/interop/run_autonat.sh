#!/bin/bash
# AutoNAT v2 interop (issue 11): stock @libp2p/autonat-v2 2.0.15 (pinned
# in package-lock.json) against lp2p, both directions, over loopback. The
# one change loopback needs: js runs under lab-public/ with
# LIBP2P_LAB_PUBLIC_CIDRS=127.0.0.0/8, so its client asks about loopback
# addresses and its server dials them (both skip private addresses); lp2p
# gets LP2P_PUBLIC_CIDRS=127.0.0.0/8 or --autonat-allow-private for the
# same reason. One TAP line per case.
#   lp2p client -> js server: `lp2p autonat --listen` on 127.0.0.1 (same IP
#     as observed) and on 127.0.0.2 (another IP: js asks 30-100 kB of dial
#     data first); another lp2p process's address is false;
#   js client -> lp2p server: js verifies its listen address through
#     `lp2p listen --autonat-server --autonat-allow-private`, which dials
#     back on a new connection;
#   lp2p listen's automatic client -> js server: `reachability public`.
set -u
DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
B=${LP2P_BUILD:-build}
case $B in /*) ;; *) B=$(cd "$DIR/../.." && pwd)/$B ;; esac
LP2P=$B/bin/lp2p
NODE=$DIR/.node/node_modules/node/bin/node
JS=("$NODE" --import "$DIR/lab-public/register.mjs" "$DIR/autonat.mjs")
export LIBP2P_LAB_PUBLIC_CIDRS=127.0.0.0/8 LIBP2P_LAB_PUBLIC_QUIET=1

TMP=$(mktemp -d "${TMPDIR:-/tmp}/lp2p-autonat-interop.XXXXXX") || { echo "not ok - autonat-interop-tmpdir"; exit 1; }
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
trap 'exit 130' INT TERM
# js servers read stdin from this fifo; we hold its writer, so they exit
# when this script ends however it ends.
mkfifo "$TMP/hold" && exec 9<>"$TMP/hold"

npass=0; nfail=0
ok() { echo "ok - $1"; npass=$((npass + 1)); }
nok() { echo "not ok - $1: $2"; nfail=$((nfail + 1)); }
wait_for() { # FILE REGEX SECONDS
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
first_addr() { grep -m1 -oE '/ip4/127\.0\.0\.1/tcp/[0-9]+/p2p/[1-9A-HJ-NP-Za-km-z]+' "$1"; }

if ! out=$(bash "$DIR/setup.sh" 2>&1); then
  nok "autonat-interop-setup" "$(printf '%s\n' "$out" | grep -m1 '^interop: cannot' || printf '%s' "$out" | tail -n1)"
  exit 1
fi

# ---- lp2p client -> js server ------------------------------------------------
"${JS[@]}" server <"$TMP/hold" >"$TMP/jss.out" 2>"$TMP/jss.err" 9>&- &
PIDS+=($!)
"$LP2P" listen /ip4/127.0.0.1/tcp/0 >"$TMP/other.out" 2>&1 &
PIDS+=($!)
if wait_for "$TMP/jss.out" '^ready$' 30 && wait_for "$TMP/other.out" '^/ip4/' 10; then
  jss=$(first_addr "$TMP/jss.out"); other=$(first_addr "$TMP/other.out"); other=${other%%/p2p/*}
  out=$(LP2P_LOG=info timeout 60 "$LP2P" autonat --server "$jss" --listen /ip4/127.0.0.1/tcp/0 --listen /ip4/127.0.0.2/tcp/0 "$other" 2>"$TMP/c1.err"); rc=$?
  if [ $rc = 0 ] && grep -qE '^\{"addr":"/ip4/127\.0\.0\.1/tcp/[0-9]+","reachable":true,"servers":1,"error":""\}$' <<<"$out"; then
    ok "autonat-c-client-js-server: bound address reachable"
  else nok "autonat-c-client-js-server: bound address reachable" "rc=$rc $(tr '\n' ' ' <<<"$out") $(grep -v 'info' "$TMP/c1.err" | head -2)"; fi
  if grep -qE '^\{"addr":"/ip4/127\.0\.0\.2/tcp/[0-9]+","reachable":true,"servers":1' <<<"$out" &&
     grep -qE 'dial data: sending [0-9]+ bytes' "$TMP/c1.err"; then
    n=$(grep -oE 'dial data: sending [0-9]+' "$TMP/c1.err" | grep -oE '[0-9]+$' | head -1)
    if [ "$n" -ge 30000 ] && [ "$n" -le 100000 ]; then
      ok "autonat-c-client-js-server: another IP costs dial data ($n bytes) and is reachable"
    else nok "autonat-c-client-js-server: dial data in 30-100 kB" "asked for $n"; fi
  else nok "autonat-c-client-js-server: another IP costs dial data" "$(tr '\n' ' ' <<<"$out") $(grep -c 'dial data' "$TMP/c1.err")"; fi
  if grep -qF "{\"addr\":\"$other\",\"reachable\":false,\"servers\":1," <<<"$out"; then
    ok "autonat-c-client-js-server: another process's address is false"
  else nok "autonat-c-client-js-server: another process's address is false" "$(tr '\n' ' ' <<<"$out")"; fi
else
  nok "autonat-c-client-js-server" "js server or lp2p listener did not start: $(head -c 200 "$TMP/jss.err")"
fi

# ---- js client -> lp2p server ------------------------------------------------
"$LP2P" listen --autonat-server --autonat-allow-private --events /ip4/127.0.0.1/tcp/0 >"$TMP/cs.out" 2>"$TMP/cs.err" &
PIDS+=($!)
if wait_for "$TMP/cs.out" '^/ip4/' 10; then
  cs=$(first_addr "$TMP/cs.out")
  out=$(timeout 60 "${JS[@]}" client "$cs" 2>"$TMP/jc.err"); rc=$?
  jc=$(grep -m1 -oE '/p2p/[1-9A-HJ-NP-Za-km-z]+' <<<"$out"); jc=${jc#/p2p/}
  if [ $rc = 0 ] && grep -qE '^verified /ip4/127\.0\.0\.1/tcp/[0-9]+$' <<<"$out"; then
    ok "autonat-js-client-c-server: js verifies its address through lp2p"
  else nok "autonat-js-client-c-server: js verifies its address through lp2p" "rc=$rc $(tr '\n' ' ' <<<"$out") $(head -c 200 "$TMP/jc.err")"; fi
  # the dial-back was a second connection, made by lp2p
  if grep -qE "^peer-connected $jc .* outbound$" "$TMP/cs.out"; then
    ok "autonat-js-client-c-server: lp2p dialed back on a new connection"
  else nok "autonat-js-client-c-server: lp2p dialed back on a new connection" "$(grep -c peer-connected "$TMP/cs.out") connections"; fi
else
  nok "autonat-js-client-c-server" "lp2p listener did not start: $(head -c 200 "$TMP/cs.err")"
fi

# ---- lp2p listen's automatic client -> js server ------------------------------
LP2P_PUBLIC_CIDRS=127.0.0.0/8 "$LP2P" listen --events /ip4/127.0.0.1/tcp/0 >"$TMP/auto.out" 2>"$TMP/auto.err" &
PIDS+=($!)
if wait_for "$TMP/auto.out" '^/ip4/' 10; then
  "${JS[@]}" server --dial "$(first_addr "$TMP/auto.out")" <"$TMP/hold" >"$TMP/jsd.out" 2>"$TMP/jsd.err" 9>&- &
  PIDS+=($!)
  if wait_for "$TMP/auto.out" '^reachability public$' 30; then
    ok "autonat-c-auto-js-server: listen --events prints reachability public"
  else nok "autonat-c-auto-js-server: listen --events prints reachability public" "$(grep -v '^identify' "$TMP/auto.out" | tr '\n' ' ' | cut -c1-300) $(head -c 200 "$TMP/jsd.err")"; fi
else
  nok "autonat-c-auto-js-server" "lp2p listener did not start"
fi

echo "# autonat interop: $npass passed, $nfail failed"
[ $nfail = 0 ]

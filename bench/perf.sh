#!/bin/sh
# Host benchmarks against js-libp2p (issue 4), run by `make bench` (mk/run-
# bench.sh, with LP2P_BUILD set) after the bench_* binaries. One run, side
# by side, every reference measured here and now:
#
#  - /perf/1.0.0 download and upload over loopback, C<->C (`lp2p listen` +
#    `lp2p perf`, 1 GiB each way) next to js<->js (tests/interop/peer.mjs
#    `listen` + `perf`, 256 MiB each way by default: js is much slower, and
#    rates are compared, not times). Ratio C/js (target >= 2.0) and C over
#    the ChaCha20-Poly1305 bound (enc+dec on one core, measured by
#    `bench_host --bounds` before and after the runs, averaged; target
#    >= 0.85). Each rate is the perf final line's bytes / timeSeconds
#    (stream open -> closed, process start-up excluded); median of
#    LP2P_BENCH_PERF_RUNS runs (default 3), C and js alternating.
#  - Sequential new connection + one ping + close, listener and dialer in
#    two processes on both sides: C from the host API (`bench_host
#    --connect N`: epoll driver, no process start-up per connection) next
#    to js (`peer.mjs connect -n N`). Connections/s ratio (target >= 20),
#    C median dial -> ping-result latency (target <= 1 ms; js reports only
#    its mean iteration time), C over the handshake crypto bound (target
#    >= 0.6).
#
# Targets are reported, never enforced. Exit status 1 only on a real error
# (a tool failing, no js-libp2p available).
# Environment: LP2P_BENCH_C_MIB (1024), LP2P_BENCH_JS_MIB (256),
# LP2P_BENCH_PERF_RUNS (3), LP2P_BENCH_C_CONNECT (300),
# LP2P_BENCH_JS_CONNECT (100).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${LP2P_BUILD:-build}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
LP2P=$B/bin/lp2p
BH=$B/bench/bench_host
INTEROP=$ROOT/tests/interop
NODE=$INTEROP/.node/node_modules/node/bin/node
PEER=$INTEROP/peer.mjs
C_MIB=${LP2P_BENCH_C_MIB:-1024}
JS_MIB=${LP2P_BENCH_JS_MIB:-256}
RUNS=${LP2P_BENCH_PERF_RUNS:-3}
C_CONNECT=${LP2P_BENCH_C_CONNECT:-300}
JS_CONNECT=${LP2P_BENCH_JS_CONNECT:-100}

status=0
err() {
  echo "perf.sh: $*" >&2
  status=1
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/lp2p-bench.XXXXXX") || exit 1
PIDS=""
cleanup() {
  for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
  for p in $PIDS; do
    i=0
    while kill -0 "$p" 2>/dev/null && [ "$i" -lt 20 ]; do
      sleep 0.1
      i=$((i + 1))
    done
    kill -KILL "$p" 2>/dev/null
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for f in "$LP2P" "$BH"; do
  [ -x "$f" ] || { echo "perf.sh: $f not built" >&2; exit 1; }
done
if ! bash "$INTEROP/setup.sh" >"$TMP/setup.log" 2>&1; then
  echo "perf.sh: js-libp2p reference unavailable: $(tail -n1 "$TMP/setup.log")" >&2
  exit 1
fi

. "$ROOT/mk/bench-lib.sh"

# json_num LINE FIELD: a numeric field of a one-line JSON object.
json_num() {
  printf '%s\n' "$1" | sed -n "s/.*\"$2\":\([0-9.eE+-]*\).*/\1/p"
}

# perf_rate OUTFILE BYTES: MiB/s from the final JSON line, or nothing.
perf_rate() {
  l=$(grep -m1 '"type":"final"' "$1") || return 1
  t=$(json_num "$l" timeSeconds)
  [ -n "$t" ] || return 1
  awk -v b="$2" -v t="$t" 'BEGIN { if (t > 0) printf "%.1f\n", b / 1048576 / t }'
}

# ---- bounds (same run: measured before and after, averaged) ----------------
bounds() {
  if ! "$BH" --bounds >>"$TMP/bounds" 2>"$TMP/bounds.err"; then
    err "bench_host --bounds failed: $(head -n1 "$TMP/bounds.err")"
    exit 1
  fi
}
: >"$TMP/bounds"
bounds

# ---- listeners --------------------------------------------------------------
"$LP2P" listen /ip4/127.0.0.1/tcp/0 >"$TMP/cl.out" 2>"$TMP/cl.err" &
CPID=$!
PIDS="$PIDS $CPID"
# the js listener also serves the connect-rate reference: stock js takes
# only 5 connections/s from one host
"$NODE" "$PEER" listen --inbound-per-second 100000 >"$TMP/jl.out" 2>"$TMP/jl.err" </dev/null &
PIDS="$PIDS $!"
CADDR=$(wait_line "$TMP/cl.out" '^/ip4/127\.0\.0\.1/tcp/[0-9]+/p2p/' 10) ||
  { echo "perf.sh: lp2p listen printed no address: $(head -n1 "$TMP/cl.err")" >&2; exit 1; }
wait_line "$TMP/jl.out" '^ready' 60 >/dev/null ||
  { echo "perf.sh: peer.mjs listen not ready: $(head -n1 "$TMP/jl.err")" >&2; exit 1; }
JADDR=$(wait_line "$TMP/jl.out" '^listen /ip4/127\.0\.0\.1/tcp/' 1 | sed 's/^listen //')

# ---- perf, alternating C and js -----------------------------------------------
CB=$((C_MIB * 1048576))
JB=$((JS_MIB * 1048576))
: >"$TMP/c_down"; : >"$TMP/c_up"; : >"$TMP/j_down"; : >"$TMP/j_up"
r=0
while [ $r -lt "$RUNS" ]; do
  r=$((r + 1))
  for dir in down up; do
    if [ $dir = down ]; then cu=0; cd=$CB; ju=0; jd=$JB; else cu=$CB; cd=0; ju=$JB; jd=0; fi
    if "$LP2P" perf --upload $cu --download $cd "$CADDR" >"$TMP/o" 2>"$TMP/e" &&
       v=$(perf_rate "$TMP/o" $CB); then
      echo "$v" >>"$TMP/c_$dir"
    else
      err "lp2p perf ($dir, run $r) failed: $(head -n1 "$TMP/e")"
      if ! kill -0 "$CPID" 2>/dev/null; then
        wait "$CPID"
        err "lp2p listen exited with status $?: $(tail -n3 "$TMP/cl.err")"
        exit 1
      fi
    fi
    if "$NODE" "$PEER" perf "$JADDR" --upload $ju --download $jd --timeout 600 >"$TMP/o" 2>"$TMP/e" &&
       v=$(perf_rate "$TMP/o" $JB); then
      echo "$v" >>"$TMP/j_$dir"
    else
      err "peer.mjs perf ($dir, run $r) failed: $(head -n1 "$TMP/e")"
    fi
  done
done

# ---- sequential connect + ping + close ---------------------------------------
CCON=""
if "$BH" --connect "$C_CONNECT" >"$TMP/cc" 2>"$TMP/e"; then
  CCON=$(cat "$TMP/cc")
else
  err "bench_host --connect failed: $(head -n1 "$TMP/e")"
fi
JCON=""
if "$NODE" "$PEER" connect "$JADDR" -n "$JS_CONNECT" --timeout 600 >"$TMP/jc" 2>"$TMP/e"; then
  JCON=$(grep -m1 '"type":"connect"' "$TMP/jc")
else
  err "peer.mjs connect failed: $(head -n1 "$TMP/e")"
fi

# ---- table --------------------------------------------------------------------
row() { # metric ours reference ratio target met
  printf '%-30s %14s  %-30s %7s  %-12s %s\n' "$1" "$2" "$3" "$4" "$5" "$6"
}
# ratio_row METRIC OURS REFNAME REF UNIT TARGET: met when OURS/REF >= TARGET
ratio_row() {
  if [ -z "$2" ] || [ "$2" = nan ] || [ -z "$4" ] || [ "$4" = nan ]; then
    row "$1" "${2:-error} $5" "$3 ${4:-error} $5" - ">= $6" -
    return
  fi
  ratio=$(awk -v a="$2" -v b="$4" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "nan" }')
  met=$(awk -v r="$ratio" -v t="$6" 'BEGIN { print (r + 0 >= t + 0) ? "yes" : "NO" }')
  row "$1" "$2 $5" "$3 $4 $5" "$ratio" ">= $6" "$met"
}

bounds
AEAD=$(sed -n 's/.*aead_mib_s=\([0-9.]*\).*/\1/p' "$TMP/bounds" | awk '{ s += $1 } END { if (NR) printf "%.1f", s / NR }')
HSB=$(sed -n 's/.*hs_per_s=\([0-9.]*\).*/\1/p' "$TMP/bounds" | awk '{ s += $1 } END { if (NR) printf "%.1f", s / NR }')
CD=$(median <"$TMP/c_down"); CU=$(median <"$TMP/c_up")
JD=$(median <"$TMP/j_down"); JU=$(median <"$TMP/j_up")
CPS=$(printf '%s\n' "$CCON" | sed -n 's/.*per_s=\([0-9.]*\).*/\1/p')
CMED=$(printf '%s\n' "$CCON" | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p')
JPS=$(json_num "$JCON" perSecond)
JPS=$(awk -v v="$JPS" 'BEGIN { if (v != "") printf "%.1f", v }')
JMEAN=$(awk -v v="$JPS" 'BEGIN { if (v > 0) printf "%.3f", 1000 / v }')
LOAD=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null)

echo "perf.sh: load average ${LOAD:-?}; perf medians of $RUNS runs (C $C_MIB MiB, js $JS_MIB MiB per transfer); $C_CONNECT C and $JS_CONNECT js connect iterations"
echo
row metric ours reference ratio target met
ratio_row "perf download, C<->C" "$CD" "js<->js" "$JD" "MiB/s" 2.0
ratio_row "perf upload, C<->C" "$CU" "js<->js" "$JU" "MiB/s" 2.0
ratio_row "perf download, C<->C" "$CD" "AEAD enc+dec" "$AEAD" "MiB/s" 0.85
ratio_row "perf upload, C<->C" "$CU" "AEAD enc+dec" "$AEAD" "MiB/s" 0.85
ratio_row "connect+ping+close, seq." "$CPS" "js<->js" "$JPS" "/s" 20
ratio_row "connect+ping+close, seq." "$CPS" "crypto bound" "$HSB" "/s" 0.6
if [ -n "$CMED" ]; then
  met=$(awk -v m="$CMED" 'BEGIN { print (m + 0 <= 1.0) ? "yes" : "NO" }')
  row "dial -> ping result, median" "$CMED ms" "js mean iteration ${JMEAN:-?} ms" - "<= 1 ms" "$met"
else
  row "dial -> ping result, median" "error" "js mean iteration ${JMEAN:-?} ms" - "<= 1 ms" -
fi
echo "(perf: C and js processes over loopback, both cores; AEAD bound: enc+dec on one core."
echo " connect: listener and dialer in two processes for both; C dials from its host API (no process start-up),"
echo " js from one peer.mjs process; iterations include identify and a graceful close)"
exit $status

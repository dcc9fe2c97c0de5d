#!/bin/sh
# Simulator DHT benchmark (issue 10, "Benchmarks"), run by `make bench`
# (mk/run-bench.sh, LP2P_BUILD set): find-peer lookups per second of wall
# time in the 1,000-host `kad` scenario of lp2p-sim (whole hosts: Noise,
# yamux, identify, kad), from the scenario's own wall clock
# (LP2P_SIM_TIMING): the lookup phase only (1,000 lookups after the
# network formed), and the whole run with the bootstrap of every host.
# The scenario runs twice, side by side: on one thread (the reference) and
# on every core (its federated worlds in parallel, lp2p/sim_fed.h); the
# two runs must print the same trace, and the ratio of their wall times is
# what the threads buy. The 10,000-host figure takes much longer and runs
# apart: `sh bench/kad_sim.sh kad-10k` (or `make sim-kad-10k`; set
# LP2P_BENCH_KAD_ONE=1 to skip the one-thread reference there). A wall
# clock on a shared machine moves with its load: CPU times are printed too.
# Reports only; exit status 1 if the scenario itself fails.
set -u
B=${LP2P_BUILD:-build}
SIM="$B/bin/lp2p-sim"
SC=${1:-kad}
SEED=${LP2P_BENCH_KAD_SEED:-1}
CORES=$(getconf _NPROCESSORS_ONLN)
[ -x "$SIM" ] || { echo "kad_sim: lp2p-sim missing at $SIM" >&2; exit 1; }

# run THREADS: prints the summary line, then "WALL TRACE" on the last line
run() {
  out=$(mktemp) err=$(mktemp)
  t0=$(date +%s.%N)
  # user CPU of the child, from the shell's own accounting
  LP2P_SIM_THREADS=$1 LP2P_SIM_TIMING=1 sh -c "\"$SIM\" --scenario $SC --seed $SEED >$out 2>$err; echo \$? >$out.rc; times >$out.times"
  t1=$(date +%s.%N)
  rc=$(cat "$out.rc")
  timing=$(grep '^kad timing:' "$err")
  fed=$(grep '^kad federation:' "$err")
  user=$(sed -n 2p "$out.times" | awk '{print $1}')
  rm -f "$out.rc" "$out.times"
  if [ "$rc" != 0 ] || [ -z "$timing" ]; then
    echo "kad_sim: lp2p-sim --scenario $SC --seed $SEED failed:" >&2
    tail -3 "$out" "$err" >&2
    rm -f "$out" "$err"
    return 1
  fi
  grep '^kad nodes' "$out"
  wall=$(echo "$t1 - $t0" | bc)
  echo "$timing" | awk -v user="$user" -v wall="$wall" -v th="$1" '{
    for (i = 3; i < NF; i += 2) v[$i] = $(i + 1)
    printf "sim %s, %s thread(s): %s hosts, %s lookups in %.1f s wall: " \
           "%.0f lookups/s (%.0f per CPU second); bootstrap of every host " \
           "%.1f s wall, %.1f s CPU; whole run %.1f s wall, user CPU %s; " \
           "heap per host %d KiB\n",
           "'"$SC"'", th, v["nodes"], v["lookups"], v["lookup_wall_s"],
           v["lookups_per_s"], v["lookups_per_cpu_s"], v["join_wall_s"],
           v["join_cpu_s"], wall, user, v["heap_per_host"] / 1024
  }'
  [ -n "$fed" ] && echo "  ($(echo "$fed" | sed 's/^kad //'))"
  echo "$wall $(sed -n 's/^trace //p' "$out")"
  rm -f "$out" "$err"
}

one=""
if [ "${LP2P_BENCH_KAD_ONE:-}" != 1 ]; then
  one=$(run 1) || exit 1
  echo "$one" | sed '$d'
fi
if [ "$CORES" -gt 1 ] || [ -z "$one" ]; then
  all=$(run "$CORES") || exit 1
  echo "$all" | sed '$d'
  if [ -n "$one" ]; then
    set -- $(echo "$one" | tail -1) $(echo "$all" | tail -1)
    if [ "$2" != "$4" ]; then
      echo "kad_sim: the 1-thread and $CORES-thread runs differ (trace $2 vs $4)" >&2
      exit 1
    fi
    echo "$1 $3" | awk -v c="$CORES" '{printf "sim %s: %d threads vs 1: %.2fx the wall-time speed (same trace)\n", "'"$SC"'", c, $1 / $2}'
  fi
fi

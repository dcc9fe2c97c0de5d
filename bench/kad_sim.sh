#!/bin/sh
# Simulator DHT benchmark (issue 10, "Benchmarks"), run by `make bench`
# (mk/run-bench.sh, LP2P_BUILD set): find-peer lookups per second of wall
# time in the 1,000-host `kad` scenario of lp2p-sim (whole hosts: Noise,
# yamux, identify, kad), from the scenario's own wall clock
# (LP2P_SIM_TIMING): the lookup phase only (1,000 lookups after the
# network formed), and the whole run with the bootstrap of every host.
# The 10,000-host figure takes much longer and runs apart:
# `sh bench/kad_sim.sh kad-10k` (or `make sim-kad-10k`). A wall clock on
# a shared machine moves with its load: CPU times are printed too.
# Reports only; exit status 1 if the scenario itself fails.
set -u
B=${LP2P_BUILD:-build}
SIM="$B/bin/lp2p-sim"
SC=${1:-kad}
SEED=${LP2P_BENCH_KAD_SEED:-1}
[ -x "$SIM" ] || { echo "kad_sim: lp2p-sim missing at $SIM" >&2; exit 1; }
out=$(mktemp) err=$(mktemp)
t0=$(date +%s.%N)
# user CPU of the child, from the shell's own accounting
LP2P_SIM_TIMING=1 sh -c "\"$SIM\" --scenario $SC --seed $SEED >$out 2>$err; echo \$? >$out.rc; times >$out.times"
t1=$(date +%s.%N)
rc=$(cat "$out.rc")
timing=$(grep '^kad timing:' "$err")
summary=$(grep '^kad ' "$out")
user=$(sed -n 2p "$out.times" | awk '{print $1}')
rm -f "$out.rc" "$out.times"
if [ "$rc" != 0 ] || [ -z "$timing" ]; then
  echo "kad_sim: lp2p-sim --scenario $SC --seed $SEED failed:" >&2
  tail -3 "$out" "$err" >&2
  rm -f "$out" "$err"
  exit 1
fi
echo "$summary"
echo "$timing" | awk -v user="$user" -v wall="$(echo "$t1 - $t0" | bc)" '{
  for (i = 3; i < NF; i += 2) v[$i] = $(i + 1)
  printf "sim %s: %s hosts, %s lookups in %.1f s wall: %.0f lookups/s " \
         "(%.0f per CPU second); bootstrap of every host %.1f s wall, " \
         "%.1f s CPU; whole run %.1f s wall, user CPU %s; heap per " \
         "host %d KiB\n",
         "'"$SC"'", v["nodes"], v["lookups"], v["lookup_wall_s"],
         v["lookups_per_s"], v["lookups_per_cpu_s"], v["join_wall_s"],
         v["join_cpu_s"], wall, user, v["heap_per_host"] / 1024
}'
rm -f "$out" "$err"

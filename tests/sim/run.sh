#!/bin/bash
# Simulator suite: every lp2p-sim scenario over a fixed seed list, each seed
# run twice to check determinism (same seed -> same trace line); the second
# run is on one thread (LP2P_SIM_THREADS=1), so the scenarios of federated
# worlds (kad) also prove their run does not depend on the thread count. When a
# second build of lp2p-sim exists (LP2P_SIM_CROSS, default build-asan: a
# different compiler, optimisation and heap layout), the first seed of each
# scenario must give the same trace there too: nothing may depend on
# addresses. Prints TAP lines "ok - <name>" / "not ok - <name>". Run with
# LP2P_BUILD=<build dir>. Scenarios `--list` tags [long] are not run here
# (their own make targets: sim-kad, sim-kad-10k); [heavy] ones run on the
# first seed only, twice, and not in the second build.
set -u
B=${LP2P_BUILD:-build}
SIM="$B/bin/lp2p-sim"
SEEDS=${LP2P_SIM_SEEDS:-"1 2 3 42 1000003"}
if [ ! -x "$SIM" ]; then
  echo "not ok - lp2p-sim binary missing at $SIM"
  exit 1
fi

# CLI contract
out=$("$SIM" --list 2>&1); rc=$?
if [ $rc = 0 ] && [ -n "$out" ]; then echo "ok - sim --list"; else echo "not ok - sim --list"; fi
err=$(mktemp)
"$SIM" --scenario nope --seed 1 >/dev/null 2>"$err"; rc=$?
if [ $rc = 2 ] && [ "$(wc -l < "$err")" = 1 ]; then echo "ok - sim bad usage exits 2"; else echo "not ok - sim bad usage exits 2 (rc $rc)"; fi
"$SIM" --scenario tcp-punch-matrix --seed -1 >/dev/null 2>&1; rc=$?
if [ $rc = 2 ]; then echo "ok - sim bad seed exits 2"; else echo "not ok - sim bad seed exits 2 (rc $rc)"; fi
LP2P_SIM_THREADS=0 "$SIM" --scenario kad-small --seed 1 >/dev/null 2>"$err"; rc=$?
if [ $rc = 2 ] && [ "$(wc -l < "$err")" = 1 ]; then echo "ok - sim bad LP2P_SIM_THREADS exits 2"; else echo "not ok - sim bad LP2P_SIM_THREADS exits 2 (rc $rc)"; fi
rm -f "$err"

scenarios=$("$SIM" --list | awk '$2 != "[long]" {print $1}')
heavy=" $("$SIM" --list | awk '$2 == "[heavy]" {printf "%s ", $1}')"
for sc in $scenarios; do
  seeds=$SEEDS
  case "$heavy" in *" $sc "*) seeds=${SEEDS%% *} ;; esac
  for seed in $seeds; do
    name="sim $sc seed $seed"
    o1=$(timeout 900 "$SIM" --scenario "$sc" --seed "$seed" 2>&1); r1=$?
    o2=$(LP2P_SIM_THREADS=1 timeout 900 "$SIM" --scenario "$sc" --seed "$seed" 2>&1); r2=$?
    t1=$(printf '%s\n' "$o1" | sed -n 's/^trace //p')
    t2=$(printf '%s\n' "$o2" | sed -n 's/^trace //p')
    last=$(printf '%s\n' "$o1" | tail -1)
    if [ $r1 = 0 ] && [ "$last" = ok ]; then
      echo "ok - $name"
    else
      echo "not ok - $name: $last (exit $r1)"
      printf '%s\n' "$o1" | grep -v ' got ' | tail -5 | sed 's/^/    /'
    fi
    if [ -n "$t1" ] && [ "$t1" = "$t2" ] && [ "$r1" = "$r2" ]; then
      echo "ok - $name deterministic"
    else
      echo "not ok - $name deterministic ($t1 vs $t2)"
    fi
  done
done

CROSS=${LP2P_SIM_CROSS:-build-asan}/bin/lp2p-sim
if [ -x "$CROSS" ] && [ "$CROSS" != "$SIM" ]; then
  seed=${SEEDS%% *}
  for sc in $scenarios; do
    case "$heavy" in *" $sc "*) continue ;; esac
    t1=$("$SIM" --scenario "$sc" --seed "$seed" 2>&1 | sed -n 's/^trace //p')
    t2=$(timeout 900 "$CROSS" --scenario "$sc" --seed "$seed" 2>&1 | sed -n 's/^trace //p')
    if [ -n "$t1" ] && [ "$t1" = "$t2" ]; then
      echo "ok - sim $sc seed $seed same trace in $(dirname "$(dirname "$CROSS")")"
    else
      echo "not ok - sim $sc seed $seed same trace in $(dirname "$(dirname "$CROSS")") ($t1 vs $t2)"
    fi
  done
fi

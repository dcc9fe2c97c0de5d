#!/bin/sh
# `make bench`: runs every bench binary; each prints its own side-by-side
# table (ours vs a reference measured in the same run) with ratios.
B=${1:-build}
status=0
for b in "$B"/bench/bench_*; do
  [ -x "$b" ] || continue
  echo "== $(basename "$b")"
  "$b" || status=1
done
for s in bench/*.sh; do
  [ -f "$s" ] || continue
  echo "== $(basename "$s")"
  LP2P_BUILD="$B" sh "$s" || status=1
done
exit $status

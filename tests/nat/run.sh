#!/bin/bash
# The NAT labs in network namespaces (DESIGN 6 "tests/nat"): runs every
# tests/nat/*.sh scenario but this one. Each prints TAP-style lines.
set -u
here=$(dirname "$0")
rc=0
for s in "$here"/*.sh; do
  [ "$(basename "$s")" = run.sh ] && continue
  bash "$s" || rc=1
done
exit $rc

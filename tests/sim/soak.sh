#!/bin/bash
# Random-seed soak of every lp2p-sim scenario: `tests/sim/soak.sh N` runs
# N random seeds per scenario (set LP2P_SIM_SCENARIOS to narrow the list;
# [long] scenarios run only when named there)
# and prints every failing seed with its reason, then a summary line. Exit
# status 1 if any seed failed. LP2P_BUILD selects the build dir.
set -u
N=${1:-100}
B=${LP2P_BUILD:-build}
SIM="$B/bin/lp2p-sim"
[ -x "$SIM" ] || { echo "lp2p-sim missing at $SIM" >&2; exit 2; }
scenarios=${LP2P_SIM_SCENARIOS:-$("$SIM" --list | awk '$2 != "[long]" {print $1}')}
fails=0; runs=0; start=$(date +%s)
for sc in $scenarios; do
  for i in $(seq 1 "$N"); do
    seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
    out=$("$SIM" --scenario "$sc" --seed "$seed" 2>&1); rc=$?
    runs=$((runs + 1))
    if [ $rc != 0 ]; then
      fails=$((fails + 1))
      echo "FAIL $sc --seed $seed: $(printf '%s\n' "$out" | tail -1)"
    fi
  done
done
echo "soak: $runs runs, $fails failed, $(( $(date +%s) - start )) s"
[ $fails = 0 ]

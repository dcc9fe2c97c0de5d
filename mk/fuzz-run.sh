#!/bin/sh
# Runs each libFuzzer target for N seconds over a scratch copy of its corpus
# (new inputs land in build-libfuzzer/corpus/, not in the repository).
dir=$1; secs=$2; shift 2
status=0
for f in "$@"; do
  work="$dir/corpus/$f"; mkdir -p "$work"
  seeds="fuzz/corpus/${f#fuzz_}"
  echo "== $f ($secs s)"
  "$dir/$f" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 \
    -artifact_prefix="$dir/crash-$f-" "$work" "$seeds" 2>&1 |
    grep -E 'stat::number_of_executed_units|stat::new_units_added|ERROR|SUMMARY|Done' || true
  ls "$dir"/crash-"$f"-* >/dev/null 2>&1 && { echo "$f: FINDING"; status=1; }
done
exit $status

#!/bin/bash
# Runs the suite against one or more build dirs and prints a final
# "N passed, N failed" line. Per build dir: cmocka unit tests, fuzz corpus
# replay, CLI scripts. Once (first dir): purity, interop/NAT/sim scripts.
# Scripts print TAP-style "ok - ..." / "not ok - ..." lines.
set -u
pass=0; fail=0; failed=()
note() { if [ "$1" = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); failed+=("$2"); fi; }

run_script() { # $1 script, $2 build dir, $3 label
  local out rc
  out=$(LP2P_BUILD="$2" bash "$1" 2>&1); rc=$?
  printf '%s\n' "$out" | sed "s|^|  [$3] |"
  local ok nok
  ok=$(printf '%s\n' "$out" | grep -c '^ok ')
  nok=$(printf '%s\n' "$out" | grep -c '^not ok ')
  pass=$((pass + ok)); fail=$((fail + nok))
  while IFS= read -r l; do failed+=("$3: $l"); done < <(printf '%s\n' "$out" | grep '^not ok ')
  if [ $rc != 0 ] && [ "$nok" = 0 ]; then note 1 "$3 (exit $rc)"; fi
  if [ "$ok" = 0 ] && [ "$nok" = 0 ] && [ $rc = 0 ]; then note 1 "$3 (no results)"; fi
}

first=1
for B in "$@"; do
  echo "=== suite on $B"
  for t in "$B"/tests/test_*; do
    [ -x "$t" ] || continue
    out=$(CMOCKA_MESSAGE_OUTPUT=stdout timeout 600 "$t" 2>&1); rc=$?
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
    pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
    if [ $rc != 0 ] || [ -z "$p" ]; then
      printf '%s\n' "$out" | grep -vE '^\[ +(RUN|OK) +\]' | tail -40 | sed 's/^/    /'
      [ -z "$f" ] || [ "$f" = 0 ] && { fail=$((fail + 1)); }
      failed+=("$B/$(basename "$t") (exit $rc)")
    fi
    echo "  $(basename "$t"): ${p:-0} passed, ${f:-0} failed"
  done
  for fz in "$B"/fuzz/fuzz_*; do
    [ -x "$fz" ] || continue
    name=$(basename "$fz"); corp="fuzz/corpus/${name#fuzz_}"
    if [ ! -d "$corp" ]; then note 1 "$B/$name: no corpus at $corp"; echo "  $name: NO CORPUS"; continue; fi
    out=$(timeout 600 "$fz" "$corp" 2>&1); rc=$?
    note $rc "$B/$name corpus replay"
    echo "  $name: $(printf '%s\n' "$out" | tail -1) (exit $rc)"
    [ $rc = 0 ] || printf '%s\n' "$out" | tail -30 | sed 's/^/    /'
  done
  for s in tests/cli/*.sh; do
    [ -f "$s" ] || continue
    run_script "$s" "$B" "$B/$(basename "$s")"
  done
  if [ $first = 1 ]; then
    first=0
    out=$(make -s --no-print-directory BUILD="$B" check-purity 2>&1); rc=$?
    echo "  $out"; note $rc "check-purity"
    for s in tests/interop/run.sh tests/interop/relay.sh tests/interop/run_autonat.sh tests/interop/kad.sh tests/nat/run.sh tests/sim/run.sh tests/punch/run.sh; do
      [ -f "$s" ] || continue
      run_script "$s" "$B" "$s"
    done
  fi
done
echo
if [ $fail != 0 ]; then echo "failures:"; printf '  %s\n' "${failed[@]}"; fi
echo "$pass passed, $fail failed"
[ $fail = 0 ]

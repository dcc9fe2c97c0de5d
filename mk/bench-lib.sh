# Shell helpers shared by bench/perf.sh and mk/bench-compare.sh (sourced).

# wait_line FILE REGEX SECONDS: print the first matching line of FILE.
wait_line() {
  i=0
  while [ $i -lt $(($3 * 10)) ]; do
    l=$(grep -m1 -E -- "$2" "$1" 2>/dev/null) && { printf '%s\n' "$l"; return 0; }
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}

# median: the median of the numbers on stdin, "nan" when there are none.
median() {
  sort -g | awk '{ a[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

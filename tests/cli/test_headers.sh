#!/bin/bash
# Public headers stand alone: every include/lp2p/*.h compiles as the only
# include of a C11 file under the project's warnings (so a piece of the
# host API, lp2p/host_*.h, carries the includes it needs), and lp2p/host.h
# includes every host_*.h piece (it stays the one include an application
# needs).
set -u
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ok() { echo "ok - $1"; }
nok() { echo "not ok - $1${2:+: $2}"; }
CC_H=${CC:-cc}
if ! command -v "$CC_H" >/dev/null 2>&1; then nok "a C compiler ($CC_H) is installed"; exit 1; fi

n=0
for h in include/lp2p/*.h; do
  name=lp2p/$(basename "$h")
  printf '#include "%s"\nint lp2p_header_check;\n' "$name" > "$T/alone.c"
  if out=$("$CC_H" -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror \
             -Iinclude -fsyntax-only "$T/alone.c" 2>&1); then
    n=$((n + 1))
  else
    nok "$name compiles when included alone" "$(printf '%s' "$out" | head -5 | tr '\n' ' ')"
  fi
done
[ "$n" -gt 0 ] && [ "$n" = "$(ls include/lp2p/*.h | wc -l)" ] &&
  ok "each of the $n public headers compiles when included alone"

for h in include/lp2p/host_*.h; do
  name=lp2p/$(basename "$h")
  if grep -q "^#include \"$name\"" include/lp2p/host.h; then
    ok "lp2p/host.h includes $name"
  else
    nok "lp2p/host.h includes $name"
  fi
done

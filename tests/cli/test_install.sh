#!/bin/bash
# The library as an embedder gets it: `make install` into a temporary
# prefix (versioned liblp2p.so with SONAME and links, lp2p.pc), then
# examples/ping_node.c compiled against that tree with pkg-config only,
# run against the installed shared library, pinging a second instance of
# itself over loopback.
set -u
cd "$(dirname "$0")/../.." || exit 1
B="${LP2P_BUILD:-build}"
T=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
ok() { echo "ok - $1"; }
nok() { echo "not ok - $1${2:+: $2}"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "${3:-}"; fi; }

# No silent skip: without pkg-config an embedder cannot follow the README.
if ! command -v pkg-config >/dev/null 2>&1; then
  nok "pkg-config is installed" "missing: run 'make deps' (mk/deps.sh installs it)"
  exit 1
fi

# Install what this build dir holds (-o all: do not rebuild it with other
# flags; the suite has just built it).
P="$T/prefix"
out=$(make -s --no-print-directory -o all install BUILD="$B" PREFIX="$P" 2>&1); rc=$?
check "make install PREFIX=<tmp> from $B" '[ $rc = 0 ]' "rc=$rc $out"
[ $rc = 0 ] || exit 1

export PKG_CONFIG_PATH="$P/lib/pkgconfig"
V=$(pkg-config --modversion lp2p 2>&1)
MK=$(sed -n 's/^VERSION *:= *//p' Makefile)
check "lp2p.pc Version is the Makefile's VERSION ($MK)" '[ -n "$MK" ] && [ "$V" = "$MK" ]' "pc=$V"
MAJOR=${V%%.*}
for dir in "$B/lib" "$P/lib"; do
  lbl=${dir/#$P/<prefix>}
  check "$lbl: liblp2p.so.$V is a file, .so.$MAJOR -> .so.$V, .so -> .so.$MAJOR" \
    '[ -f "$dir/liblp2p.so.$V" ] && [ ! -L "$dir/liblp2p.so.$V" ] &&
     [ "$(readlink "$dir/liblp2p.so.$MAJOR")" = "liblp2p.so.$V" ] &&
     [ "$(readlink "$dir/liblp2p.so")" = "liblp2p.so.$MAJOR" ]' \
    "$(ls -l "$dir" 2>&1 | tr '\n' ' ')"
  so=$(readelf -d "$dir/liblp2p.so.$V" 2>&1 | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
  check "$lbl: SONAME is liblp2p.so.$MAJOR" '[ "$so" = "liblp2p.so.$MAJOR" ]' "soname='$so'"
done

# A sanitizer build's library needs the sanitizer runtime in the program.
CC_EX=cc; SAN_EX=""
if nm -D --undefined-only "$B/lib/liblp2p.so.$V" 2>/dev/null | grep -q __asan_; then
  CC_EX=clang; SAN_EX="-fsanitize=address,undefined"
fi
flags=$(pkg-config --cflags --libs lp2p)
out=$($CC_EX -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror $SAN_EX \
  -o "$T/ping_node" examples/ping_node.c $flags 2>&1); rc=$?
check "examples/ping_node.c builds with only \$(pkg-config --cflags --libs lp2p)" '[ $rc = 0 ]' "rc=$rc $out"
[ $rc = 0 ] || exit 1
check "ping_node links the shared library (NEEDED liblp2p.so.$MAJOR)" \
  'readelf -d "$T/ping_node" | grep -q "NEEDED.*\[liblp2p.so.$MAJOR\]"'
export LD_LIBRARY_PATH="$P/lib"
check "the loader resolves liblp2p.so.$MAJOR to the installed tree" \
  'ldd "$T/ping_node" | grep -q "liblp2p.so.$MAJOR => $P/lib/liblp2p.so.$MAJOR"' \
  "$(ldd "$T/ping_node" 2>&1 | grep lp2p)"

# Two instances: one listens and prints its address, the other pings it.
"$T/ping_node" > "$T/a.out" 2> "$T/a.err" &
lpid=$!; pids+=($lpid)
for _ in $(seq 100); do [ -s "$T/a.out" ] && break; sleep 0.1; done
addr=$(head -n 1 "$T/a.out")
check "listening instance prints /ip4/127.0.0.1/tcp/<port>/p2p/<id>" \
  '[[ "$addr" =~ ^/ip4/127\.0\.0\.1/tcp/[1-9][0-9]*/p2p/12D3Koo ]]' "'$addr' $(cat "$T/a.err")"
out=$(timeout 30 "$T/ping_node" "$addr" 2>&1); rc=$?
check "second instance pings it over loopback: rtt line, exit 0" \
  '[ $rc = 0 ] && grep -qE "^rtt_ms [0-9]+\.[0-9]+$" <<<"$out"' "rc=$rc $out"
kill -TERM "$lpid"; wait "$lpid"; rc=$?
check "listening instance exits 0 on SIGTERM" '[ $rc = 0 ]' "rc=$rc $(cat "$T/a.err")"
# And it can fail: nobody listens there any more.
out=$(timeout 30 "$T/ping_node" "$addr" 2>&1); rc=$?
check "pinging a stopped node exits 1 with one line" \
  '[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "^ping_node: " <<<"$out"' "rc=$rc $out"

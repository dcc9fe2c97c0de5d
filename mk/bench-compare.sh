#!/bin/sh
# Old and new side by side (issue 8: "no performance regression, measured
# side by side in one run of the old and new binaries"). `make
# bench-compare OLD=<git rev>` builds OLD in a temporary git worktree of
# this repository, then runs both builds alternately, R rounds, and prints
# medians and the new/old ratio of:
#  - /perf 1 GiB download and upload C<->C over loopback (`lp2p listen` +
#    `lp2p perf`, each build against itself), also as a fraction of the
#    ChaCha20-Poly1305 bound (`bench_host --bounds`, measured every round);
#  - sequential new connection + ping + close per second (`bench_host
#    --connect N`), also as a fraction of the Noise XX handshake bound;
#  - host heap per idle connection and per idle stream (bench/bench_idle.c,
#    compiled against each build).
# Reports, never asserts. Environment: LP2P_CMP_ROUNDS (3),
# LP2P_CMP_MIB (1024), LP2P_CMP_CONNECT (300).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OLD=${1:?usage: compare.sh OLD_REV [NEW_BUILD_DIR]}
NB=${2:-$ROOT/build}
case $NB in /*) ;; *) NB=$ROOT/$NB ;; esac
R=${LP2P_CMP_ROUNDS:-3}
MIB=${LP2P_CMP_MIB:-1024}
NCONN=${LP2P_CMP_CONNECT:-300}
LIBS="-lsodium -lcrypto -lbearssl -lsecp256k1 -lexpat -lm -lpthread"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/lp2p-cmp.XXXXXX") || exit 1
LPID=""
cleanup() {
  [ -n "$LPID" ] && kill "$LPID" 2>/dev/null
  git -C "$ROOT" worktree remove --force "$TMP/old" >/dev/null 2>&1
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "compare: building $OLD in a temporary worktree"
git -C "$ROOT" worktree add --detach "$TMP/old" "$OLD" >/dev/null 2>&1 ||
  { echo "compare.sh: cannot check out $OLD" >&2; exit 1; }
make -C "$TMP/old" -s -j2 lib tools "build/bench/bench_host" >"$TMP/old.log" 2>&1 ||
  { echo "compare.sh: old build failed: $(tail -n3 "$TMP/old.log")" >&2; exit 1; }
for b in old new; do
  # LP2P_BENCH_OLD_TREE: the old tree predates the issue-9 stream caps
  if [ $b = old ]; then inc=$TMP/old/include; lib=$TMP/old/build/lib; def=
    grep -q streams_inbound_max "$inc/lp2p/host.h" || def=-DLP2P_BENCH_OLD_TREE
    grep -q memory_per_conn_base "$inc/lp2p/host.h" ||
      def="$def -DLP2P_BENCH_NO_MEMORY_SCOPES"
  else inc=$ROOT/include; lib=$NB/lib; def=; fi
  cc -std=c11 -O2 -D_DEFAULT_SOURCE $def -I"$inc" "$ROOT/bench/bench_idle.c" \
    "$lib/liblp2p.a" $LIBS -o "$TMP/idle_$b" ||
    { echo "compare.sh: bench_idle does not build against $b" >&2; exit 1; }
done

. "$ROOT/mk/bench-lib.sh"
field() { printf '%s\n' "$1" | sed -n "s/.*$2=\([0-9.eE+-]*\).*/\1/p"; }

BYTES=$((MIB * 1048576))
perf_once() { # $1 lp2p binary, $2 up, $3 down -> MiB/s
  "$1" listen /ip4/127.0.0.1/tcp/0 >"$TMP/l.out" 2>/dev/null &
  LPID=$!
  a=$(wait_line "$TMP/l.out" '^/ip4/127\.0\.0\.1/tcp/[0-9]+/p2p/' 10) || { kill $LPID; LPID=""; return 1; }
  "$1" perf --upload "$2" --download "$3" "$a" >"$TMP/p.out" 2>/dev/null
  kill $LPID 2>/dev/null; wait $LPID 2>/dev/null; LPID=""
  t=$(sed -n 's/.*"timeSeconds":\([0-9.eE+-]*\).*/\1/p' "$TMP/p.out")
  [ -n "$t" ] && awk -v b="$BYTES" -v t="$t" 'BEGIN { printf "%.1f\n", b / 1048576 / t }'
}

r=0
while [ $r -lt "$R" ]; do
  r=$((r + 1))
  echo "compare: round $r of $R"
  bl=$("$NB/bench/bench_host" --bounds) && {
    field "$bl" aead_mib_s >>"$TMP/aead"; field "$bl" hs_per_s >>"$TMP/hs"; }
  for b in old new; do
    if [ $b = old ]; then L=$TMP/old/build/bin/lp2p; BH=$TMP/old/build/bench/bench_host
    else L=$NB/bin/lp2p; BH=$NB/bench/bench_host; fi
    perf_once "$L" 0 "$BYTES" >>"$TMP/${b}_down"
    perf_once "$L" "$BYTES" 0 >>"$TMP/${b}_up"
    c=$("$BH" --connect "$NCONN" 2>/dev/null) && field "$c" per_s >>"$TMP/${b}_conn"
    i=$("$TMP/idle_$b" 2>/dev/null) && {
      field "$i" conn_l >>"$TMP/${b}_cl"; field "$i" conn_d >>"$TMP/${b}_cd"
      field "$i" stream_l >>"$TMP/${b}_sl"; field "$i" stream_d >>"$TMP/${b}_sd"; }
  done
done

AEAD=$(median <"$TMP/aead"); HS=$(median <"$TMP/hs")
echo
echo "old = $OLD, new = $(git -C "$ROOT" rev-parse --short HEAD) (+ work tree), $R rounds, medians;"
echo "bounds this run: ChaCha20-Poly1305 $AEAD MiB/s, Noise XX $HS handshakes/s"
printf '%-34s %12s %12s %9s %11s %11s\n' metric old new new/old old/bound new/bound
row() { # name file bound(or -) unit
  o=$(median <"$TMP/old_$2"); n=$(median <"$TMP/new_$2")
  awk -v name="$1" -v o="$o" -v n="$n" -v bd="$3" 'BEGIN {
    ob = (bd == "-" ? "-" : sprintf("%.3f", o / bd)); nb = (bd == "-" ? "-" : sprintf("%.3f", n / bd))
    printf "%-34s %12.1f %12.1f %9.3f %11s %11s\n", name, o, n, (o > 0 ? n / o : 0), ob, nb }'
}
row "perf download, MiB/s" down "$AEAD"
row "perf upload, MiB/s" up "$AEAD"
row "conn+ping+close/s (2 procs)" conn "$HS"
row "heap per idle conn, listener, B" cl -
row "heap per idle conn, dialer, B" cd -
row "heap per idle stream, listener, B" sl -
row "heap per idle stream, dialer, B" sd -
echo "(for rates higher is better, for heap lower is better; the 5 % rule: new/old >= 0.95 for rates, <= 1.05 for heap)"

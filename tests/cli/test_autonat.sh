#!/bin/bash
# lp2p autonat against lp2p listen --autonat-server on loopback (issue 11):
# a bound address is reachable, another process's address is not (the
# dial-back carries our id and nonce, which only we answer), a server that
# refuses private addresses gives no verdict (exit 1), usage errors exit 2.
# (listen --events' `reachability` line is exercised by tests/interop, where
# a js peer dials the listener and serves AutoNAT.)
set -u
L="${LP2P_BUILD:-build}/bin/lp2p"
T=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
ok() { echo "ok - $1"; }
nok() { echo "not ok - $1${2:+: $2}"; }
check() { if eval "$2"; then ok "$1"; else nok "$1" "${3:-}"; fi; }

# start_listener NAME ARGS... -> sets $addr (first printed line)
start_listener() {
  local name=$1; shift
  "$L" listen "$@" > "$T/$name.out" 2> "$T/$name.err" &
  pids+=($!)
  for _ in $(seq 50); do [ -s "$T/$name.out" ] && break; sleep 0.1; done
  addr=$(head -n 1 "$T/$name.out")
}

if [ ! -x "$L" ]; then nok "lp2p binary exists at $L"; exit 1; fi

start_listener srv --autonat-server --autonat-allow-private --events /ip4/127.0.0.1/tcp/0
srv=$addr
start_listener strict --autonat-server /ip4/127.0.0.1/tcp/0
strict=$addr
start_listener other /ip4/127.0.0.1/tcp/0
other=${addr%/p2p/*}

out=$(timeout 60 "$L" autonat --server "$srv" --listen /ip4/127.0.0.1/tcp/0 "$other" 2>&1); rc=$?
check "autonat: exit 0, one JSON line per address" '[ $rc = 0 ] && [ "$(grep -c "^{\"addr\":" <<<"$out")" = 2 ]' "rc=$rc $out"
check "autonat --listen: the bound address is reachable" 'grep -qE "^\{\"addr\":\"/ip4/127.0.0.1/tcp/[1-9][0-9]*\",\"reachable\":true,\"servers\":1,\"error\":\"\"\}$" <<<"$out"' "$out"
check "autonat: another process's address is false" 'grep -qF "{\"addr\":\"$other\",\"reachable\":false,\"servers\":1," <<<"$out"' "$out"
check "autonat --listen port 0 asks about the bound port" '! grep -q "/tcp/0\"" <<<"$out"' "$out"
check "the server saw the dial-back connection" 'grep -c "^peer-connected .* outbound$" "$T/srv.out" | grep -qv "^0$"' "$(cat "$T/srv.out")"

out=$(timeout 60 "$L" autonat --server "$srv" --server "$srv" "$other" 2>&1); rc=$?
check "autonat with the server given twice: still exit 0" '[ $rc = 0 ] && grep -q "\"reachable\":false" <<<"$out"' "rc=$rc $out"

out=$(timeout 60 "$L" autonat --server "$strict" --listen /ip4/127.0.0.1/tcp/0 2>&1); rc=$?
check "a server without --autonat-allow-private refuses loopback: exit 1" '[ $rc = 1 ] && grep -q "\"servers\":0,\"error\":\"dial refused\"" <<<"$out" && grep -q "^lp2p: autonat: " <<<"$out"' "rc=$rc $out"

out=$(timeout 60 "$L" autonat --server "$other/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK" "$other" 2>&1); rc=$?
check "an unreachable server: exit 1, error in the JSON" '[ $rc = 1 ] && grep -q "\"servers\":0" <<<"$out"' "rc=$rc $out"

out=$("$L" autonat --listen /ip4/127.0.0.1/tcp/0 2>&1); rc=$?
check "autonat without --server: usage, exit 2" '[ $rc = 2 ] && grep -q "^lp2p: autonat: .*usage" <<<"$out"' "rc=$rc $out"
out=$("$L" autonat --server "$srv" 2>&1); rc=$?
check "autonat without an address: usage, exit 2" '[ $rc = 2 ]' "rc=$rc $out"
out=$("$L" autonat --server 2>&1); rc=$?
check "autonat --server without a value: exit 2" '[ $rc = 2 ]' "rc=$rc $out"
out=$("$L" autonat --server /ip4/127.0.0.1/tcp/1 /ip4/127.0.0.1/tcp/2 2>&1); rc=$?
check "autonat --server without /p2p: exit 2" '[ $rc = 2 ]' "rc=$rc $out"
out=$("$L" listen --autonat-allow-private /ip4/127.0.0.1/tcp/0 2>&1); rc=$?
check "listen --autonat-allow-private alone: exit 2" '[ $rc = 2 ]' "rc=$rc $out"
out=$(LP2P_PUBLIC_CIDRS=nonsense "$L" autonat --server "$srv" "$other" 2>&1); rc=$?
check "a bad LP2P_PUBLIC_CIDRS: exit 2" '[ $rc = 2 ] && grep -q LP2P_PUBLIC_CIDRS <<<"$out"' "rc=$rc $out"


#!/bin/bash
# Installs what the interop suite needs, locally in tests/interop/ (both
# folders are git-ignored):
#   .node/         Node.js 22 from the npm package "node" (js-libp2p 3.x needs
#                  Node >= 22; the system one may be older)
#   node_modules/  the js-libp2p packages pinned in package-lock.json (npm ci)
# Idempotent: a stamp of the lock, package.json and Node version makes a
# second run a quick no-op. When npm cannot install, prints one line
#   interop: cannot install js-libp2p from npm: <reason>
# to stderr and exits 1: the suite must fail, never skip.
set -u
NODE_VERSION=22.23.3
DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NODE_DIR=$DIR/.node
NODE_BIN=$NODE_DIR/node_modules/node/bin/node
STAMP=$DIR/node_modules/.lp2p-interop-stamp

die() {
  echo "interop: cannot install js-libp2p from npm: $*" >&2
  exit 1
}

# First npm error line, or the last line of output, as a one-line reason.
npm_reason() {
  local r
  r=$(grep -m1 -E '^npm (error|ERR!) .*(reason|code|ENOTFOUND|ECONN|ETIMEDOUT|EAI_AGAIN|E[0-9]{3})' "$1")
  [ -n "$r" ] || r=$(grep -m1 -E '^npm (error|ERR!)' "$1")
  [ -n "$r" ] || r=$(tail -n1 "$1")
  printf '%s' "$r" | tr -s ' \t' ' ' | cut -c1-300
}

command -v npm >/dev/null 2>&1 || die "npm not found (install Debian's npm package)"
mkdir -p "$NODE_DIR" || die "cannot create $NODE_DIR"

# One setup at a time (two suites started together share these folders).
exec 9>"$NODE_DIR/.setup.lock"
flock -w 900 9 || die "timed out waiting for another setup.sh"

want_stamp() {
  {
    echo "node $NODE_VERSION"
    sha256sum "$DIR/package.json" "$DIR/package-lock.json" | cut -d' ' -f1
  } | sha256sum | cut -d' ' -f1
}

node_ok() { [ -x "$NODE_BIN" ] && [ "$("$NODE_BIN" --version 2>/dev/null)" = "v$NODE_VERSION" ]; }

log=$(mktemp) || die "mktemp failed"
trap 'rm -f "$log"' EXIT

if ! node_ok; then
  echo "interop: installing Node $NODE_VERSION into $NODE_DIR" >&2
  printf '{"name":"lp2p-interop-node","private":true}\n' > "$NODE_DIR/package.json"
  if ! (cd "$NODE_DIR" && timeout 900 npm install --no-audit --no-fund --save-exact \
        --fetch-retries=1 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=10000 --fetch-timeout=120000 "node@$NODE_VERSION") >"$log" 2>&1; then
    die "node@$NODE_VERSION: $(npm_reason "$log")"
  fi
  node_ok || die "node@$NODE_VERSION installed but $NODE_BIN does not run as v$NODE_VERSION"
fi

want=$(want_stamp)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -d "$DIR/node_modules/libp2p" ]; then
  exit 0
fi

echo "interop: npm ci of the pinned js-libp2p packages" >&2
rm -f "$STAMP"
# npm runs on the local Node 22 so that any package script sees that version.
if ! (cd "$DIR" && PATH="$(dirname "$NODE_BIN"):$PATH" timeout 900 npm ci --no-audit --no-fund \
      --fetch-retries=1 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=10000 --fetch-timeout=120000) >"$log" 2>&1; then
  die "npm ci: $(npm_reason "$log")"
fi
# The packages must import under Node 22 (catches a broken or partial tree).
if ! (cd "$DIR" && "$NODE_BIN" --input-type=module -e "await import('libp2p'); await import('@libp2p/noise'); await import('@libp2p/yamux')") >"$log" 2>&1; then
  die "installed tree does not load: $(tail -n1 "$log" | cut -c1-300)"
fi
echo "$want" > "$STAMP"
exit 0

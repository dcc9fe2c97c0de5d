#!/bin/sh
# Installs the Debian build dependencies when any is missing (as root), or
# prints the one apt-get line to run. Fast when everything is present.
PKGS="build-essential libsodium-dev libssl-dev libbearssl-dev libsecp256k1-dev libcmocka-dev clang libclang-rt-14-dev llvm pkg-config libexpat1-dev python3 libnetfilter-queue-dev"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# The interop suite needs npm (it installs Node 22 itself from the npm
# registry). Any npm will do: only ask Debian for one when there is none.
# python3: tests/punch drives local endpoints and checks integrity with it.
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
echo "lp2p: missing build dependencies:$missing" >&2
if [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q && apt-get install -y -q $missing && exit 0
  echo "lp2p: apt-get failed" >&2
  exit 1
fi
echo "run as root: apt-get update && apt-get install -y$missing" >&2
exit 1

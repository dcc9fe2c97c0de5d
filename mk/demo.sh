#!/bin/sh
# `make demo`: the main job as it exists today. Today that is identity:
# make a key, show its PeerId, seal and open a signed peer record.
set -e
B=${1:-build}
L="$B/bin/lp2p"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "\$ lp2p keygen --type ed25519 --out key"
"$L" keygen --type ed25519 --out "$tmp/key"
echo "\$ lp2p id --key key"
"$L" id --key "$tmp/key"
echo "\$ lp2p maddr encode /ip4/127.0.0.1/tcp/4001"
"$L" maddr encode /ip4/127.0.0.1/tcp/4001
echo "\$ lp2p record seal --key key --seq 1 /ip4/127.0.0.1/tcp/4001 /ip6/::1/tcp/4001"
env=$("$L" record seal --key "$tmp/key" --seq 1 /ip4/127.0.0.1/tcp/4001 /ip6/::1/tcp/4001)
echo "$env"
echo "\$ lp2p record open <envelope>"
"$L" record open "$env"

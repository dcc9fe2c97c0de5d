// Test-only (tests/interop): the lab-public loader hook of the project's
// steering notes, carried here since a checkout has no shared/ beside it.
// Used by the AutoNAT cases so that stock @libp2p/autonat-v2 treats
// loopback (LIBP2P_LAB_PUBLIC_CIDRS=127.0.0.0/8) as public, the one
// change loopback needs: its client asks only about public addresses and
// its server refuses private ones.
// Test-only preload: make js-libp2p treat chosen "reserved" IPv4 ranges as public.
//
//   LIBP2P_LAB_PUBLIC_CIDRS=198.18.0.0/15 node --import ./lab-public/register.mjs peer.mjs ...
//
// Every private/reserved-address decision in js-libp2p 3.x goes through ONE function,
// isPrivateIp() in @libp2p/utils/dist/src/private-ip.js:
//   - isPrivate(ma) (multiaddr/is-private.js) imports it relatively,
//   - dcutr, identify, autonat-v2 (client+server), kad-dht, libp2p address-manager
//     import isPrivate / isPrivateIp from '@libp2p/utils' (index re-exports private-ip.js).
// ESM exports are read-only, so instead of monkey-patching we use a module
// customization hook that redirects the resolution of that one file to a tiny
// wrapper module. The wrapper re-exports everything from the original file and
// overrides only isPrivateIp(): addresses inside LIBP2P_LAB_PUBLIC_CIDRS return
// false ("public"), every other address gets the original answer.
// Nothing happens unless LIBP2P_LAB_PUBLIC_CIDRS is set and non-empty.
import { register } from 'node:module'

const cidrs = (process.env.LIBP2P_LAB_PUBLIC_CIDRS ?? '').split(/[\s,]+/).filter(Boolean)
if (cidrs.length > 0) {
  register('./hooks.mjs', import.meta.url, { data: { cidrs } })
  if (process.env.LIBP2P_LAB_PUBLIC_QUIET == null) {
    process.stderr.write(`[lab-public] treating ${cidrs.join(',')} as public in @libp2p/utils isPrivateIp()\n`)
  }
}

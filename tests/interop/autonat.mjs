// js-libp2p AutoNAT v2 peer for the interop suite (run_autonat.sh): stock
// @libp2p/autonat-v2 with identify and ping, run under lab-public/ so that
// loopback counts as public (LIBP2P_LAB_PUBLIC_CIDRS=127.0.0.0/8).
//
//   server [--dial MADDR]   listen on 127.0.0.1, serve AutoNAT; print
//                           "listen <maddr>/p2p/<id>" then "ready"; with
//                           --dial, connect to MADDR (so that peer's
//                           AutoNAT client can ask us); run until stdin
//                           closes or SIGTERM
//   client MADDR            listen on 127.0.0.1, connect to MADDR (an
//                           AutoNAT server) and wait until js verifies its
//                           listen address: print "verified <maddr>", exit
//                           0; after --timeout S (30) exit 1
// Failures: exit 1 with one line on stderr.

import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { autoNATv2 } from '@libp2p/autonat-v2'
import { multiaddr } from '@multiformats/multiaddr'

const argv = process.argv.slice(2)
const mode = argv.shift()
let dial = null
let timeoutS = 30
const positional = []
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--dial') dial = argv[++i]
  else if (argv[i] === '--timeout') timeoutS = Number(argv[++i])
  else positional.push(argv[i])
}

let node = null
async function finish (code, reason) {
  if (reason != null) process.stderr.write(`autonat.mjs: ${mode}: ${reason}\n`)
  if (node != null) await Promise.race([node.stop().catch(() => {}), new Promise(resolve => setTimeout(resolve, 3000))])
  process.exit(code)
}

// A tiny service that hands us the components, to read the address
// manager's verified flags (what the AutoNAT client sets).
let components = null
function grab () { return (c) => { components = c; return {} } }

async function start () {
  node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping(), autoNAT: autoNATv2(), grab: grab() }
  })
  await node.start()
}

async function main () {
  if (mode !== 'server' && mode !== 'client') return finish(2, 'usage: autonat.mjs server [--dial MADDR] | client MADDR')
  await start()
  const self = node.peerId.toString()
  // getMultiaddrs() lists only verified addresses, and loopback counts as
  // public here: it stays unverified until AutoNAT says otherwise.
  for (const ma of components.transportManager.getAddrs()) process.stdout.write(`listen ${ma.toString()}/p2p/${self}\n`)
  if (mode === 'server') {
    process.stdout.write('ready\n')
    if (dial != null) await node.dial(multiaddr(dial))
    process.stdin.on('end', () => finish(0))
    process.stdin.resume()
    process.on('SIGTERM', () => finish(0))
    return
  }
  if (positional.length !== 1) return finish(2, 'client needs MADDR')
  await node.dial(multiaddr(positional[0]))
  const deadline = Date.now() + timeoutS * 1000
  while (Date.now() < deadline) {
    const v = components.addressManager.getAddressesWithMetadata()
      .filter(a => a.verified && a.multiaddr.toString().startsWith('/ip4/127.0.0.1/tcp/'))
    if (v.length > 0) {
      process.stdout.write(`verified ${v[0].multiaddr.toString()}\n`)
      return finish(0)
    }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return finish(1, `${self}: no address verified within ${timeoutS} s`)
}

main().catch(err => finish(1, String(err?.message ?? err).replace(/\s+/g, ' ')))

// js-libp2p peer for the NAT lab's DCUtR cases (tests/nat/js.sh): TCP, the
// circuit relay v2 client and @libp2p/dcutr, all with stock settings. The
// lab runs it under lab-public/ (LIBP2P_LAB_PUBLIC_CIDRS=198.18.0.0/15),
// else js counts the lab's "internet" as private and never dials it.
// Modes (results are lines on stdout; failures exit 1 with one line on
// stderr):
//   reserve <relay-maddr>   listen on TCP and <relay>/p2p-circuit: prints
//                           "circuit <maddr>", then "ready"; then one
//                           "direct <peer> <remote-maddr>" per direct
//                           connection that opens; runs until stdin closes
//   dial <circuit-maddr> [--wait S]
//                           dial through the relay, then wait up to S s
//                           (default 20) for DCUtR: "direct <remote-maddr>
//                           <ms>" (ms from the relayed connection), or
//                           "relayed"; then "ping ok" over what we have
// Every mode first prints "self <peer id>".
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { dcutr } from '@libp2p/dcutr'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { multiaddr } from '@multiformats/multiaddr'

const argv = process.argv.slice(2)
const mode = argv.shift()
let wait = 20
const pos = []
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--wait') wait = Number(argv[++i])
  else pos.push(argv[i])
}

let node = null
let done = false
function out (line) { if (!done) process.stdout.write(line + '\n') }
async function finish (code, reason) {
  if (done) return
  done = true
  if (reason != null) process.stderr.write(`dcutr.mjs: ${mode}: ${reason}\n`)
  if (node != null) await Promise.race([node.stop().catch(() => {}), new Promise(r => setTimeout(r, 3000))])
  process.exit(code)
}
function oneLine (e) { return ((e instanceof Error) ? `${e.name}: ${e.message}` : String(e)).replace(/\s+/g, ' ') }
const relayed = (c) => c.remoteAddr.toString().includes('/p2p-circuit')
process.on('SIGTERM', () => finish(0))
const timer = setTimeout(() => finish(1, 'timeout'), (wait + 60) * 1000)

async function start (listen) {
  node = await createLibp2p({
    addresses: { listen },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping(), dcutr: dcutr() }
  })
  out(`self ${node.peerId}`)
}

async function main () {
  if (pos.length !== 1) return finish(1, 'one multiaddr expected')
  if (mode === 'reserve') {
    await start(['/ip4/0.0.0.0/tcp/0', `${pos[0]}/p2p-circuit`])
    node.addEventListener('connection:open', (e) => {
      const c = e.detail
      if (!relayed(c)) out(`direct ${c.remotePeer} ${c.remoteAddr}`)
    })
    for (let i = 0; i < 300; i++) {
      const circ = node.getMultiaddrs().filter(a => a.toString().includes('/p2p-circuit'))
      if (circ.length > 0) {
        for (const a of circ) out(`circuit ${a}`)
        out('ready')
        clearTimeout(timer)
        process.stdin.on('end', () => finish(0))
        process.stdin.resume()
        return
      }
      await new Promise(r => setTimeout(r, 100))
    }
    return finish(1, 'no reservation within 30 s')
  }
  if (mode === 'dial') {
    await start(['/ip4/0.0.0.0/tcp/0'])
    const ma = multiaddr(pos[0])
    const conn = await node.dial(ma)
    const t0 = Date.now()
    const peer = conn.remotePeer
    let direct = null
    for (let i = 0; i < wait * 20 && direct == null; i++) {
      direct = node.getConnections(peer).find(c => !relayed(c) && c.status === 'open') ?? null
      if (direct == null) await new Promise(r => setTimeout(r, 50))
    }
    out(direct != null ? `direct ${direct.remoteAddr} ${Date.now() - t0}` : 'relayed')
    await node.services.ping.ping(direct != null ? peer : ma)
    out('ping ok')
    return finish(0)
  }
  return finish(1, `unknown mode ${mode}`)
}

main().catch(e => finish(1, oneLine(e)))

// js-libp2p circuit relay v2 peers for the interop suite (relay.sh).
// @libp2p/circuit-relay-v2 with its stock settings; nothing is raised.
// Modes (every result is a line on stdout; failures exit 1 with one line
// on stderr):
//   relay                 a relay (circuitRelayServer()): prints
//                         "listen <maddr>/p2p/<id>" lines, then "ready";
//                         runs until stdin closes or SIGTERM
//   reserve <relay-maddr> reserve on that relay (listen on
//                         <relay>/p2p-circuit): prints "circuit <maddr>"
//                         for our relayed address, then "ready"; serves
//                         ping until stdin closes; "circuit-in <id>" per
//                         relayed connection
//   ping <maddr> [-n N]   dial (a /p2p-circuit address too) and ping N
//                         times: "ping ok N"
// Every mode first prints "self <peer id>".
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { multiaddr } from '@multiformats/multiaddr'

const argv = process.argv.slice(2)
const mode = argv.shift()
let n = 1
const pos = []
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '-n') n = Number(argv[++i])
  else pos.push(argv[i])
}

let node = null
let done = false
function out (line) { if (!done) process.stdout.write(line + '\n') }
async function finish (code, reason) {
  if (done) return
  done = true
  if (reason != null) process.stderr.write(`relay.mjs: ${mode}: ${reason}\n`)
  if (node != null) await Promise.race([node.stop().catch(() => {}), new Promise(r => setTimeout(r, 3000))])
  process.exit(code)
}
function oneLine (e) { return ((e instanceof Error) ? `${e.name}: ${e.message}` : String(e)).replace(/\s+/g, ' ') }
process.on('SIGTERM', () => finish(0))
const timer = setTimeout(() => finish(1, 'timeout'), 120000)

async function main () {
  if (mode === 'relay') {
    node = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify(), ping: ping(), relay: circuitRelayServer() }
    })
    out(`self ${node.peerId}`)
    for (const a of node.getMultiaddrs()) out(`listen ${a}`)
    out('ready')
    clearTimeout(timer)
    process.stdin.on('end', () => finish(0))
    process.stdin.resume()
    return
  }
  if (mode === 'reserve') {
    node = await createLibp2p({
      addresses: { listen: [`${pos[0]}/p2p-circuit`] },
      transports: [tcp(), circuitRelayTransport()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify(), ping: ping() }
    })
    out(`self ${node.peerId}`)
    node.addEventListener('connection:open', (e) => {
      const c = e.detail
      if (c.remoteAddr.toString().includes('/p2p-circuit')) out(`circuit-in ${c.remotePeer}`)
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
  if (mode === 'ping') {
    node = await createLibp2p({
      transports: [tcp(), circuitRelayTransport()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify(), ping: ping() }
    })
    out(`self ${node.peerId}`)
    const ma = multiaddr(pos[0])
    for (let i = 0; i < n; i++) await node.services.ping.ping(ma)
    out(`ping ok ${n}`)
    return finish(0)
  }
  return finish(1, `unknown mode ${mode}`)
}

main().catch(e => finish(1, oneLine(e)))

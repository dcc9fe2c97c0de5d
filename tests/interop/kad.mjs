// js-libp2p Kademlia peers for the DHT interop suite (kad.sh):
// @libp2p/kad-dht 16.4.5 with its stock settings except what loopback
// needs, as issue 10 allows:
//   - clientMode: false on servers (js stays a client until it has a
//     public address),
//   - peerInfoMapper: passthroughMapper (the default drops private
//     addresses, loopback too),
//   - the ipns package's ipnsValidator / ipnsSelector for /ipns (js
//     validates only /pk out of the box),
//   - connectionManager.inboundConnectionThreshold raised from 5 to 1000:
//     it counts inbound connections per second per source IP, and on
//     loopback every peer is 127.0.0.1, so a lookup that dials ten peers
//     at once would be refused by the stock limit.
// Modes (results are lines on stdout; failures exit 1 with one line on
// stderr):
//   servers N [--bootstrap MADDR]...   N DHT servers in this process; each
//       dials every other (and the --bootstrap peers), since a js table
//       fills only through identify or query results. Prints "listen
//       <maddr>/p2p/<id>" per server, then "ready"; runs until stdin
//       closes or SIGTERM.
//   client --bootstrap MADDR... OP ARGS   one query as a DHT client
//       (first prints "self <id>"):
//       find-peer ID      -> "peer <id> <maddr>..."
//       closest KEY       -> "peers <id>,<id>,..."
//       put KEY HEX       -> "put ok"
//       get KEY           -> "value <hex>"
//       provide CID       -> "provide ok"
//       providers CID     -> "providers <id>,<id>,..."
//       bench-find-peer N ID...  -> "find-peer n=N median_ms=M mean_ms=A
//           found=F": N findPeer calls for the IDs in turn, each timed from
//           the call to FINAL_PEER, with useCache false so every lookup
//           goes over the network (bench/kad.sh)
//   KEY: /pk/<id>, /ipns/<id> (the namespace and the id's multihash), a
//   peer id (closest: its multihash), else UTF-8 text, as `lp2p dht`.
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import { ipnsValidator } from 'ipns/validator'
import { ipnsSelector } from 'ipns/selector'

const argv = process.argv.slice(2)
const mode = argv.shift()
const boot = []
const pos = []
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--bootstrap') boot.push(argv[++i])
  else pos.push(argv[i])
}

const nodes = []
let done = false
function out (line) { if (!done) process.stdout.write(line + '\n') }
async function finish (code, reason) {
  if (done) return
  done = true
  if (reason != null) process.stderr.write(`kad.mjs: ${mode}: ${reason}\n`)
  await Promise.race([Promise.all(nodes.map(n => n.stop().catch(() => {}))), new Promise(r => setTimeout(r, 3000))])
  process.exit(code)
}
function oneLine (e) { return ((e instanceof Error) ? `${e.name}: ${e.message}` : String(e)).replace(/\s+/g, ' ') }
process.on('SIGTERM', () => finish(0))
const timer = setTimeout(() => finish(1, 'timeout'), 120000)

function dht (clientMode) {
  return kadDHT({
    clientMode,
    peerInfoMapper: passthroughMapper,
    validators: { ipns: ipnsValidator },
    selectors: { ipns: ipnsSelector }
  })
}

async function newNode (clientMode) {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { inboundConnectionThreshold: 1000 },
    services: { identify: identify(), ping: ping(), dht: dht(clientMode) }
  })
  nodes.push(node)
  return node
}

const hex = (b) => Buffer.from(b).toString('hex')
const fromHex = (s) => new Uint8Array(Buffer.from(s, 'hex'))
const cat = (a, b) => { const r = new Uint8Array(a.length + b.length); r.set(a); r.set(b, a.length); return r }

function key (text, peerOk) {
  for (const ns of ['/pk/', '/ipns/']) {
    if (text.startsWith(ns)) {
      try { return cat(new TextEncoder().encode(ns), peerIdFromString(text.slice(ns.length)).toMultihash().bytes) } catch {}
    }
  }
  if (peerOk) { try { return peerIdFromString(text).toMultihash().bytes } catch {} }
  return new TextEncoder().encode(text)
}

async function dialAll (node, addrs) {
  let ok = 0
  for (const a of addrs) {
    try { await node.dial(multiaddr(a)); ok++ } catch {}
  }
  return ok
}

async function main () {
  if (mode === 'servers') {
    const n = Number(pos[0])
    for (let i = 0; i < n; i++) await newNode(false)
    // every pair connected: js tables fill only through identify
    const addrs = nodes.map(nd => nd.getMultiaddrs()[0].toString())
    for (let i = 1; i < n; i++) await dialAll(nodes[i], addrs.slice(0, i))
    for (const node of nodes) await dialAll(node, boot)
    for (const node of nodes) out(`listen ${node.getMultiaddrs()[0]}`)
    await new Promise(r => setTimeout(r, 1500)) // identify, then js's first self-query (1 s)
    out('ready')
    clearTimeout(timer)
    process.stdin.on('end', () => finish(0))
    process.stdin.resume()
    return
  }
  if (mode !== 'client') return finish(1, 'unknown mode')
  const node = await newNode(true)
  out(`self ${node.peerId}`)
  if (await dialAll(node, boot) === 0) return finish(1, 'no reachable bootstrap peer')
  await new Promise(r => setTimeout(r, 1000)) // identify fills the table
  const d = node.services.dht
  const [op, arg, val] = pos
  const signal = AbortSignal.timeout(60000)
  if (op === 'find-peer') {
    for await (const e of d.findPeer(peerIdFromString(arg), { signal })) {
      if (e.name === 'FINAL_PEER') { out(`peer ${e.peer.id} ${e.peer.multiaddrs.map(String).join(' ')}`); return finish(0) }
    }
    return finish(1, 'not found')
  }
  if (op === 'closest') {
    const ids = []
    for await (const e of d.getClosestPeers(key(arg, true), { signal })) {
      if (e.name === 'FINAL_PEER') ids.push(e.peer.id.toString())
    }
    out(`peers ${ids.join(',')}`)
    return finish(ids.length ? 0 : 1)
  }
  if (op === 'put') {
    let stored = 0
    for await (const e of d.put(key(arg, false), fromHex(val), { signal })) {
      if (e.name === 'PEER_RESPONSE' && e.messageName === 'PUT_VALUE') stored++
    }
    out(`put ok ${stored}`)
    return finish(stored ? 0 : 1)
  }
  if (op === 'get') {
    let best = null
    for await (const e of d.get(key(arg, false), { signal })) {
      if (e.name === 'VALUE') { best = e.value; break }
    }
    if (best == null) return finish(1, 'not found')
    out(`value ${hex(best)}`)
    return finish(0)
  }
  if (op === 'provide') {
    for await (const e of d.provide(CID.parse(arg), { signal })) { void e }
    // ADD_PROVIDER has no answer: let the messages drain before exiting
    await new Promise(r => setTimeout(r, 1000))
    out('provide ok')
    return finish(0)
  }
  if (op === 'providers') {
    const ids = new Set()
    for await (const e of d.findProviders(CID.parse(arg), { signal })) {
      if (e.name === 'PROVIDER') for (const p of e.providers) ids.add(p.id.toString())
    }
    out(`providers ${[...ids].join(',')}`)
    return finish(ids.size ? 0 : 1)
  }
  if (op === 'bench-find-peer') {
    const n = Number(arg)
    const ids = pos.slice(2).map(t => peerIdFromString(t))
    const ms = []
    let found = 0
    for (let i = 0; i < n; i++) {
      const t0 = performance.now()
      for await (const e of d.findPeer(ids[i % ids.length], { signal: AbortSignal.timeout(30000), useCache: false })) {
        if (e.name === 'FINAL_PEER') { found++; break }
      }
      ms.push(performance.now() - t0)
    }
    const mean = ms.reduce((a, b) => a + b, 0) / n
    ms.sort((a, b) => a - b)
    const med = n % 2 ? ms[(n - 1) / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2
    out(`find-peer n=${n} median_ms=${med.toFixed(3)} mean_ms=${mean.toFixed(3)} found=${found}`)
    return finish(found === n ? 0 : 1)
  }
  return finish(1, `unknown op ${op}`)
}
main().catch(e => finish(1, oneLine(e)))

// js-libp2p peer for the lp2p interop suite. One program, modes by argv.
// Every result is a machine-readable line on stdout; failures exit 1 with a
// one-line reason on stderr. See usage() for the exact CLI.
//
// /perf/1.0.0 is implemented here (no js package ships it): spec perf.md,
// "Protocol": the client sends the download size as a big-endian uint64,
// uploads, closes its write side; the server drains the upload until EOF,
// then (never concurrently) writes that many bytes and closes.

import { randomBytes } from 'node:crypto'
import { fstatSync, readFileSync } from 'node:fs'
import { isatty } from 'node:tty'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { plaintext } from '@libp2p/plaintext'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'

const PERF = '/perf/1.0.0'
const ECHO = '/echo/1.0.0'
const CHUNK = 65536 // = yamux default maxMessageSize, one frame per send
const STREAMS_MAX = 1024 // echo streams per connection, both directions
const UINT64_MAX = (1n << 64n) - 1n

function usage () {
  return `usage: peer.mjs <mode> [args] [options]
modes:
  listen [MADDR...]             serve identify, ping, ${PERF}, ${ECHO}; print
                                "listen <maddr>/p2p/<id>" lines, then "ready";
                                run until stdin (pipe/tty) closes or SIGTERM
  ping <maddr> [-n N]           N pings (default 1) on one connection
  identify <maddr>              print "identify <json>" of the remote
  perf <maddr> --upload B --download B
                                print the perf final JSON line
  echo <maddr> --streams K --bytes B
                                K concurrent echo streams of B random bytes
  halfclose <maddr>             read after closing our write side (perf + echo)
  reset <maddr>                 reset an echo stream, connection must survive
  close <maddr>                 graceful hang-up of the connection
  connect <maddr> [-n N]        N sequential connections (dial, ping, close);
                                prints a {"type":"connect",...} JSON line
  keygen [--type T]             print "key <hex protobuf>" (T: ed25519,
                                secp256k1, ecdsa, rsa; default ed25519);
                                js cannot use ecdsa as its own identity
options (all modes):
  --plaintext                   /plaintext/2.0.0 instead of /noise
  --key HEX                     private key, libp2p protobuf encoding, hex
  --key-file FILE               the same key as raw protobuf bytes in FILE
  --listen-addr MADDR           listen address when none is given as an
                                argument (default /ip4/127.0.0.1/tcp/0)
  --timeout S                   whole-run limit for dialer modes (default 60)
  --inbound-per-second N        listen: accept N inbound connections per second
                                from one host (js default 5; rate tests only)
every mode first prints "self <peer id>".`
}

let node = null
let finishing = false

// Nothing after the result: shutdown's own events are not printed.
function out (line) { if (!finishing) process.stdout.write(line + '\n') }

async function finish (code, reason) {
  if (finishing) return
  finishing = true
  if (reason != null) process.stderr.write(`peer.mjs: ${mode}: ${reason}\n`)
  if (node != null) {
    await Promise.race([node.stop().catch(() => {}), sleep(3000)])
  }
  process.exit(code)
}

function sleep (ms) { return new Promise(resolve => setTimeout(resolve, ms)) }

function oneLine (err) {
  const s = (err instanceof Error) ? `${err.name}: ${err.message}` : String(err)
  return s.replace(/\s+/g, ' ').trim()
}

// ---- argv -------------------------------------------------------------

const argv = process.argv.slice(2)
const mode = argv.shift()
const opts = { plaintext: false, key: null, listenAddr: '/ip4/127.0.0.1/tcp/0', timeout: 60, inboundPerSecond: null, n: 1, upload: null, download: null, streams: null, bytes: null, type: 'ed25519' }
const positional = []

function parseArgs () {
  const num = (name, v) => {
    if (v == null || !/^[0-9]+$/.test(v)) throw new Error(`${name} needs a non-negative integer`)
    return Number(v)
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => { if (i + 1 >= argv.length) throw new Error(`${a} needs a value`); return argv[++i] }
    switch (a) {
      case '--plaintext': opts.plaintext = true; break
      case '--key': opts.key = val(); break
      case '--key-file': opts.key = readFileSync(val()).toString('hex'); break
      case '--listen-addr': opts.listenAddr = val(); break
      case '--inbound-per-second': opts.inboundPerSecond = num(a, val()); break
      case '--timeout': opts.timeout = num(a, val()); break
      case '-n': opts.n = num(a, val()); break
      case '--upload': opts.upload = BigInt(num(a, val())); break
      case '--download': opts.download = BigInt(num(a, val())); break
      case '--streams': opts.streams = num(a, val()); break
      case '--bytes': opts.bytes = num(a, val()); break
      case '--type': opts.type = val().toLowerCase(); break
      default:
        if (a.startsWith('-')) throw new Error(`unknown option ${a}`)
        positional.push(a)
    }
  }
}

// ---- node -------------------------------------------------------------

async function loadKey () {
  if (opts.key == null) return generateKeyPair('Ed25519')
  if (!/^([0-9a-fA-F]{2})+$/.test(opts.key)) throw new Error('--key is not hex')
  return privateKeyFromProtobuf(Buffer.from(opts.key, 'hex'))
}

async function makeNode (listen) {
  const privateKey = await loadKey()
  // js-libp2p as it ships: identify, ping, the connection monitor, the
  // connection manager and yamux all keep their defaults, so the suite sees
  // what a stock js node does to us (one inbound identify stream per
  // connection, ping every 10 s, 5 inbound connections/s per host ...).
  // The only exception is opt-in per case and says why (--inbound-per-second).
  const connectionManager = {}
  if (opts.inboundPerSecond != null) {
    // Stock js refuses a host's 6th inbound connection within one second;
    // a sequential-connections rate test (connect -n 20, the benchmark's
    // handshake rate) cannot exist under that, so its listener raises it.
    connectionManager.inboundConnectionThreshold = opts.inboundPerSecond
  }
  return createLibp2p({
    privateKey,
    addresses: { listen: listen ? (positional.length > 0 ? positional : [opts.listenAddr]) : [] },
    transports: [tcp()],
    connectionEncrypters: [opts.plaintext ? plaintext() : noise()],
    streamMuxers: [yamux()],
    connectionManager,
    peerDiscovery: [],
    services: {
      identify: identify(),
      ping: ping()
    }
  })
}

// ---- helpers ----------------------------------------------------------

async function sendAll (stream, buf) {
  if (!stream.send(buf)) await stream.onDrain()
}

function toBytes (chunk) {
  return (chunk instanceof Uint8Array) ? chunk : chunk.subarray()
}

function identifyJson (res, conn) {
  let localAddr = null
  const sock = conn?.maConn?.socket // internal: TCP only, best effort
  if (sock?.localAddress != null && sock.localPort != null) {
    localAddr = `/ip${sock.localFamily === 'IPv6' ? 6 : 4}/${sock.localAddress}/tcp/${sock.localPort}`
  }
  return JSON.stringify({
    peerId: res.peerId.toString(),
    agentVersion: res.agentVersion ?? null,
    protocolVersion: res.protocolVersion ?? null,
    protocols: [...res.protocols].sort(),
    listenAddrs: res.listenAddrs.map(a => a.toString()),
    observedAddr: res.observedAddr?.toString() ?? null,
    publicKey: res.publicKey != null ? Buffer.from(res.publicKey).toString('hex') : null,
    signedPeerRecord: res.signedPeerRecord != null
      ? { seq: res.signedPeerRecord.seq.toString(), addresses: res.signedPeerRecord.addresses.map(a => a.toString()) }
      : null,
    remoteAddr: conn?.remoteAddr?.toString() ?? null,
    localAddr,
    encryption: conn?.encryption ?? null,
    multiplexer: conn?.multiplexer ?? null
  })
}

// ---- servers ----------------------------------------------------------

async function echoHandler (stream) {
  let n = 0
  try {
    for await (const chunk of stream) {
      const b = toBytes(chunk)
      n += b.byteLength
      await sendAll(stream, b.slice())
    }
    await stream.close()
    out(`echo-done ${n}`)
  } catch (err) {
    out(`echo-reset ${n} ${oneLine(err)}`)
    stream.abort(err instanceof Error ? err : new Error(String(err)))
  }
}

async function perfHandler (stream) {
  let up = 0n
  let sent = 0n
  try {
    let head = new Uint8Array(0)
    let size = null
    for await (const chunk of stream) {
      let b = toBytes(chunk)
      if (size == null) {
        const joined = new Uint8Array(head.byteLength + b.byteLength)
        joined.set(head, 0)
        joined.set(b, head.byteLength)
        if (joined.byteLength < 8) { head = joined; continue }
        size = Buffer.from(joined.buffer, joined.byteOffset, 8).readBigUInt64BE(0)
        b = joined.subarray(8)
      }
      up += BigInt(b.byteLength)
    }
    if (size == null) throw new Error('EOF before the 8-byte download size')
    // step 3 starts only now, after the upload hit EOF (spec: MUST NOT overlap)
    const zeros = new Uint8Array(CHUNK)
    while (sent < size && stream.writeStatus === 'writable') {
      const left = size - sent
      const n = left < BigInt(CHUNK) ? Number(left) : CHUNK
      await sendAll(stream, n === CHUNK ? zeros : zeros.subarray(0, n))
      sent += BigInt(n)
    }
    if (sent < size && size !== UINT64_MAX) throw new Error(`stream closed after ${sent}/${size} bytes`)
    await stream.close()
    out(`perf-done ${up} ${sent}`)
  } catch (err) {
    out(`perf-reset ${up} ${sent} ${oneLine(err)}`)
    stream.abort(err instanceof Error ? err : new Error(String(err)))
  }
}

async function register (listening) {
  // echo is the suite's own application protocol: its stream limit is the
  // test's choice (the echo case runs 50 concurrent streams, above the
  // registrar's default of 32 inbound / 64 outbound per protocol).
  const echoLimits = { maxInboundStreams: STREAMS_MAX, maxOutboundStreams: STREAMS_MAX }
  await node.handle(ECHO, (stream) => { echoHandler(stream) }, echoLimits)
  await node.handle(PERF, (stream) => { perfHandler(stream) })
  if (!listening) return
  node.addEventListener('connection:open', (evt) => {
    const c = evt.detail
    out(`peer-connected ${c.remotePeer} ${c.remoteAddr} ${c.encryption ?? '-'} ${c.multiplexer ?? '-'} ${c.direction}`)
  })
  node.addEventListener('connection:close', (evt) => {
    const c = evt.detail
    // internal: the yamux GoAway code the remote sent (0 = normal
    // termination, the graceful close of yamux.md "Session Termination")
    const ga = c.muxer?.remoteGoAway
    out(`peer-disconnected ${c.remotePeer} ${c.remoteAddr} ${c.status} goaway=${ga ?? 'none'}`)
  })
}

// ---- dialer modes -----------------------------------------------------

function target () {
  if (positional.length !== 1) throw new Error('needs exactly one <maddr>')
  return multiaddr(positional[0])
}

async function dial () {
  return node.dial(target())
}

async function doPing () {
  const conn = await dial()
  for (let i = 0; i < opts.n; i++) {
    const rtt = await node.services.ping.ping(conn.remotePeer)
    out(`ping ${i + 1} ${rtt}`)
  }
  if (node.getConnections(conn.remotePeer).length !== 1) throw new Error('ping opened an extra connection')
  out(`ping ok ${opts.n}`)
}

// The result of the identify js runs by itself on every new connection (what
// js really saw); an explicit second run only when that one never finished,
// to get its error.
async function doIdentify () {
  let conn = null
  const early = []
  let wake = null
  const onIdentify = (evt) => {
    early.push(evt.detail)
    if (wake != null) wake()
  }
  node.addEventListener('peer:identify', onIdentify)
  conn = await dial()
  const mine = () => early.find(r => r.connection?.id === conn.id)
  if (mine() == null) {
    await new Promise(resolve => {
      wake = () => { if (mine() != null) resolve() }
      setTimeout(resolve, 15_000)
    })
  }
  node.removeEventListener('peer:identify', onIdentify)
  const res = mine() ?? await node.services.identify.identify(conn)
  out(`identify ${identifyJson(res, conn)}`)
}

async function perfClient (conn, upload, download) {
  const t0 = performance.now()
  const stream = await conn.newStream(PERF)
  let got = 0n
  let afterClose = 0n
  let closed = false
  const reader = (async () => {
    for await (const chunk of stream) {
      const n = BigInt(toBytes(chunk).byteLength)
      got += n
      if (closed) afterClose += n
    }
  })()
  const hdr = Buffer.alloc(8)
  hdr.writeBigUInt64BE(download, 0)
  await sendAll(stream, new Uint8Array(hdr))
  const zeros = new Uint8Array(CHUNK)
  let left = upload
  while (left > 0n) {
    const n = left < BigInt(CHUNK) ? Number(left) : CHUNK
    await sendAll(stream, n === CHUNK ? zeros : zeros.subarray(0, n))
    left -= BigInt(n)
  }
  await stream.close()
  closed = true
  await reader
  const t = (performance.now() - t0) / 1000
  if (stream.status === 'aborted' || stream.status === 'reset') throw new Error(`perf stream ${stream.status}`)
  if (got !== download) throw new Error(`perf downloaded ${got} bytes, asked for ${download}`)
  return { t, got, afterClose }
}

async function doPerf () {
  if (opts.upload == null || opts.download == null) throw new Error('perf needs --upload B --download B')
  const conn = await dial()
  const { t, got } = await perfClient(conn, opts.upload, opts.download)
  out(JSON.stringify({ type: 'final', timeSeconds: t, uploadBytes: Number(opts.upload), downloadBytes: Number(got) }))
}

async function echoOnce (conn, bytes) {
  const data = randomBytes(bytes)
  const stream = await conn.newStream(ECHO)
  const parts = []
  let got = 0
  const reader = (async () => {
    for await (const chunk of stream) {
      const b = toBytes(chunk)
      parts.push(b.slice())
      got += b.byteLength
      if (got > bytes) throw new Error(`echo returned more than ${bytes} bytes`)
    }
  })()
  for (let off = 0; off < bytes; off += CHUNK) {
    await sendAll(stream, data.slice(off, Math.min(off + CHUNK, bytes)))
  }
  await stream.close()
  await reader
  if (stream.status === 'aborted' || stream.status === 'reset') throw new Error(`echo stream ${stream.status}`)
  const back = Buffer.concat(parts)
  if (back.byteLength !== bytes) throw new Error(`echo returned ${back.byteLength}/${bytes} bytes`)
  if (!back.equals(data)) throw new Error('echo returned different bytes')
}

async function doEcho () {
  if (opts.streams == null || opts.bytes == null) throw new Error('echo needs --streams K --bytes B')
  const conn = await dial()
  await Promise.all(Array.from({ length: opts.streams }, () => echoOnce(conn, opts.bytes)))
  if (node.getConnections(conn.remotePeer).length !== 1) throw new Error('echo used more than one connection')
  out(`echo ok ${opts.streams}`)
}

async function doHalfclose () {
  const conn = await dial()
  // perf: the server may only answer after our EOF, so every downloaded byte
  // arrives after we closed our write side.
  const down = 1n << 20n
  const { afterClose } = await perfClient(conn, 1000n, down)
  if (afterClose !== down) throw new Error(`only ${afterClose}/${down} bytes arrived after our half-close`)
  await echoOnce(conn, 200_000)
  out('halfclose ok')
}

async function doReset () {
  const conn = await dial()
  const stream = await conn.newStream(ECHO)
  const echoed = new Promise((resolve, reject) => {
    stream.addEventListener('message', () => resolve(), { once: true })
    stream.addEventListener('close', () => reject(new Error('echo stream closed before any echo')), { once: true })
  })
  await sendAll(stream, randomBytes(1000))
  await echoed
  stream.abort(new Error('interop reset test'))
  if (stream.status !== 'aborted') throw new Error(`stream status ${stream.status} after abort`)
  // the connection must survive the stream reset
  await sleep(100)
  if (conn.status !== 'open') throw new Error(`connection ${conn.status} after stream reset`)
  await node.services.ping.ping(conn.remotePeer)
  await echoOnce(conn, 10_000)
  const conns = node.getConnections(conn.remotePeer)
  if (conns.length !== 1 || conns[0].id !== conn.id) throw new Error('connection replaced after stream reset')
  out('reset ok')
}

async function doClose () {
  const conn = await dial()
  await node.services.ping.ping(conn.remotePeer)
  await node.hangUp(conn.remotePeer)
  if (conn.status !== 'closed') throw new Error(`connection ${conn.status} after hangUp`)
  if (node.getConnections(conn.remotePeer).length !== 0) throw new Error('connection still listed after hangUp')
  out('close ok')
}

// Sequential fresh connections: dial, one ping, graceful close; the
// handshake-rate reference of the benchmarks (perf.md "Handshakes per second").
async function doConnect () {
  const ma = target()
  const t0 = performance.now()
  for (let i = 0; i < opts.n; i++) {
    const conn = await node.dial(ma, { force: true })
    await node.services.ping.ping(conn.remotePeer)
    await conn.close()
    if (conn.status !== 'closed') throw new Error(`connection ${i + 1}: ${conn.status} after close`)
  }
  const t = (performance.now() - t0) / 1000
  out(JSON.stringify({ type: 'connect', connections: opts.n, timeSeconds: t, perSecond: opts.n / t }))
  out(`connect ok ${opts.n}`)
}

// ---- listen -----------------------------------------------------------

async function doListen () {
  node.addEventListener('peer:identify', (evt) => {
    out(`identify ${identifyJson(evt.detail, evt.detail.connection)}`)
  })
  for (const a of node.getMultiaddrs()) out(`listen ${a}`)
  out('ready')
  const stop = () => { finish(0) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  // stdin EOF ends us only when stdin is something that can close (a pipe,
  // fifo, socket or tty); a background job's /dev/null would end us at once.
  let st = null
  try { st = fstatSync(0) } catch {}
  if (st != null && (st.isFIFO() || st.isSocket() || isatty(0))) {
    process.stdin.on('end', stop)
    process.stdin.on('close', stop)
    process.stdin.resume()
  }
  await new Promise(() => {})
}

// ---- main -------------------------------------------------------------

async function doKeygen () {
  const names = { ed25519: 'Ed25519', secp256k1: 'secp256k1', ecdsa: 'ECDSA', rsa: 'RSA' }
  if (names[opts.type] == null) throw new Error(`unknown key type ${opts.type}`)
  const k = opts.key != null ? await loadKey() : await generateKeyPair(names[opts.type])
  let id = '-' // js-libp2p has no PeerId class for ECDSA keys
  try { id = peerIdFromPrivateKey(k).toString() } catch {}
  out(`self ${id}`)
  out(`key ${Buffer.from(privateKeyToProtobuf(k)).toString('hex')}`)
  out(`pubkey ${Buffer.from(publicKeyToProtobuf(k.publicKey)).toString('hex')}`)
}

const modes = {
  ping: doPing,
  identify: doIdentify,
  perf: doPerf,
  echo: doEcho,
  halfclose: doHalfclose,
  reset: doReset,
  close: doClose,
  connect: doConnect
}

async function main () {
  if (mode == null || mode === '-h' || mode === '--help') { out(usage()); return finish(mode == null ? 1 : 0) }
  parseArgs()
  if (mode === 'keygen') { await doKeygen(); return finish(0) }
  if (mode !== 'listen' && modes[mode] == null) throw new Error(`unknown mode (try --help)`)
  if (mode !== 'listen' && opts.timeout > 0) {
    setTimeout(() => finish(1, `timed out after ${opts.timeout} s`), opts.timeout * 1000)
  }
  node = await makeNode(mode === 'listen')
  await register(mode === 'listen')
  out(`self ${node.peerId}`)
  if (mode === 'listen') return doListen()
  await modes[mode]()
  return finish(0)
}

process.on('unhandledRejection', (err) => {
  process.stderr.write(`peer.mjs: ${mode}: unhandled rejection: ${oneLine(err)}\n`)
})

main().catch(err => finish(1, oneLine(err)))

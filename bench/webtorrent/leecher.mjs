// node bench/webtorrent/leecher.mjs --torrent FILE --out DIR --host 127.0.0.13 --port P --done MARKER
//
// WebTorrent (the npm package) as a leecher for the bench (bench/leechers.mjs runs it under /usr/bin/time):
// downloads the torrent into DIR over plain TCP only (no WebRTC, DHT, LSD, PEX, uTP, UPnP/NAT-PMP, web
// seeds or encryption), finding peers through the torrent's tracker, on the loopback address HOST alone:
// it listens there and every connection it opens, to peers and to the tracker, leaves from there
// (WebTorrent has no option for either, hence the two patches of node:net below; the tracker then sees
// HOST as the peer's address).
// Once complete (every piece checked and stored) it prints how many bytes each peer sent and over what,
// checks that all of them came over TCP (exit 3 if not), writes MARKER, and exits. SIGINT or SIGTERM
// stop it at any time.
import * as fs from "node:fs"
import { register } from "node:module"
import net from "node:net"
import { parseArgs } from "node:util"

const { values: flags } = parseArgs({
  options: { torrent: { type: "string" }, out: { type: "string" }, host: { type: "string" }, port: { type: "string" }, done: { type: "string" } }
})
const { torrent: torrentFile, out, host, done: marker } = flags
if ([torrentFile, out, host, flags.port, marker].includes(undefined)) {
  console.error("webtorrent leecher: --torrent, --out, --host, --port and --done are required")
  process.exit(2)
}

// Outgoing TCP from HOST: WebTorrent's peer connections and node's fetch (undici, which the tracker client
// uses) both call net.connect / net.createConnection with an options object and look them up on the
// module at each call.
for (const name of ["connect", "createConnection"]) {
  const original = net[name]
  net[name] = function (...args) {
    const [options] = args
    const bindable = typeof options === "object" && options !== null && !Array.isArray(options) &&
      options.path === undefined && options.localAddress == null
    return bindable ? original.call(this, { ...options, localAddress: host }, ...args.slice(1)) : original.apply(this, args)
  }
}
// Listening on HOST only: WebTorrent's connection pool calls `listen(port, callback)`.
const listen = net.Server.prototype.listen
net.Server.prototype.listen = function (port, ...rest) {
  return typeof port === "number" && typeof rest[0] !== "string" ? listen.call(this, port, host, ...rest) : listen.call(this, port, ...rest)
}

// WebRTC's native addon is not installed: WebTorrent's import chain gets a stand-in (./hooks.mjs).
register("./hooks.mjs", import.meta.url)
const { default: WebTorrent } = await import("webtorrent")

const log = (line) => console.log(`webtorrent: ${line}`)
// No encryption (`secure: 0`; WebTorrent 3 tries it first by default): bt-effect has none, and the other
// leechers run without it too.
const client = new WebTorrent({
  torrentPort: Number(flags.port), dht: false, lsd: false, utPex: false, utp: false,
  natUpnp: false, natPmp: false, webSeeds: false, secure: 0, tracker: {}
})

let stopping = false
const stop = (code) => {
  if (stopping) return
  stopping = true
  process.exitCode = code
  // Destroying announces `stopped`; a tracker that does not answer must not hold the exit up.
  setTimeout(() => process.exit(code), 5000).unref()
  client.destroy(() => process.exit(code))
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => stop(process.exitCode ?? 130))
client.on("error", (error) => {
  console.error(`webtorrent: error: ${error?.message ?? error}`)
  stop(1)
})

/** Payload bytes received per peer, with the kind of connection (WebTorrent's wire.type). */
const received = new Map()
const torrent = client.add(fs.readFileSync(torrentFile), { path: out })
torrent.on("warning", (warning) => log(`warning: ${warning?.message ?? warning}`))
torrent.on("error", (error) => {
  console.error(`webtorrent: torrent error: ${error?.message ?? error}`)
  stop(1)
})
torrent.on("ready", () => log(`${torrent.name}: ${torrent.length} bytes in ${torrent.pieces.length} pieces, listening on ${host}:${client.torrentPort}`))
torrent.on("wire", (wire, addr) => {
  const key = `${addr} (${wire.type})`
  log(`peer ${key} connected`)
  if (!received.has(key)) received.set(key, { type: wire.type, bytes: 0 })
  wire.on("download", (bytes) => {
    received.get(key).bytes += bytes
  })
})
torrent.on("done", () => {
  for (const [key, { bytes }] of received) log(`received ${bytes} bytes from ${key}`)
  const total = [...received.values()].reduce((sum, r) => sum + r.bytes, 0)
  const overTcp = [...received.values()].filter((r) => r.type.startsWith("tcp")).reduce((sum, r) => sum + r.bytes, 0)
  log(`complete: ${total} bytes received, ${overTcp} of them over TCP`)
  const code = overTcp === total && total >= torrent.length ? 0 : 3
  if (code !== 0) console.error("webtorrent: not every byte came over TCP")
  fs.writeFileSync(marker, `${code}\n`)
  stop(code)
})

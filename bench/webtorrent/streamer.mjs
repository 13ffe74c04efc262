// node bench/webtorrent/streamer.mjs --torrent FILE --out DIR --host 127.0.0.9 --port P --http-port H
//
// WebTorrent (the npm package) as a streaming baseline for the bench's stream table (bench/stream.mjs):
// downloads the torrent into DIR over plain TCP only (no WebRTC, DHT, LSD, PEX, uTP, UPnP/NAT-PMP, web
// seeds or encryption), its peer side on the loopback address HOST alone (as bench/webtorrent/leecher.mjs,
// whose two patches of node:net it repeats), while serving its files with WebTorrent's own HTTP server
// (`client.createServer()`, WebTorrent 3) on 127.0.0.1:H. It prints what `bt-effect stream` prints that the
// bench reads: one URL per file, then "download complete" once every piece is checked and stored; it then
// keeps serving until SIGINT or SIGTERM.
import * as fs from "node:fs"
import { register } from "node:module"
import net from "node:net"
import { parseArgs } from "node:util"

const { values: flags } = parseArgs({
  options: { torrent: { type: "string" }, out: { type: "string" }, host: { type: "string" }, port: { type: "string" }, "http-port": { type: "string" } }
})
const { torrent: torrentFile, out, host } = flags
if ([torrentFile, out, host, flags.port, flags["http-port"]].includes(undefined)) {
  console.error("webtorrent streamer: --torrent, --out, --host, --port and --http-port are required")
  process.exit(2)
}

// Outgoing TCP from HOST (peers and the tracker; see leecher.mjs).
for (const name of ["connect", "createConnection"]) {
  const original = net[name]
  net[name] = function (...args) {
    const [options] = args
    const bindable = typeof options === "object" && options !== null && !Array.isArray(options) &&
      options.path === undefined && options.localAddress == null
    return bindable ? original.call(this, { ...options, localAddress: host }, ...args.slice(1)) : original.apply(this, args)
  }
}
// The peer listener on HOST only (WebTorrent calls `listen(port, callback)`); the HTTP server below
// names its address, which this leaves alone.
const listen = net.Server.prototype.listen
net.Server.prototype.listen = function (port, ...rest) {
  return typeof port === "number" && typeof rest[0] !== "string" ? listen.call(this, port, host, ...rest) : listen.call(this, port, ...rest)
}

register("./hooks.mjs", import.meta.url)
const { default: WebTorrent } = await import("webtorrent")

const client = new WebTorrent({
  torrentPort: Number(flags.port), dht: false, lsd: false, utPex: false, utp: false,
  natUpnp: false, natPmp: false, webSeeds: false, secure: 0, tracker: {}
})
let stopping = false
const stop = (code) => {
  if (stopping) return
  stopping = true
  process.exitCode = code
  setTimeout(() => process.exit(code), 5000).unref()
  client.destroy(() => process.exit(code))
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => stop(process.exitCode ?? 130))
client.on("error", (error) => {
  console.error(`webtorrent: error: ${error?.message ?? error}`)
  stop(1)
})

const server = client.createServer({}, "node")
await new Promise((resolve, reject) => {
  server.server.once("error", reject)
  server.listen(Number(flags["http-port"]), "127.0.0.1", resolve)
})
const httpPort = server.address().port

const torrent = client.add(fs.readFileSync(torrentFile), { path: out })
torrent.on("error", (error) => {
  console.error(`webtorrent: torrent error: ${error?.message ?? error}`)
  stop(1)
})
torrent.on("ready", () => {
  console.log(`webtorrent: ${torrent.name}: ${torrent.length} bytes, peers on ${host}:${client.torrentPort}; serving:`)
  for (const file of torrent.files) {
    const filePath = file.path.replace(/\\/g, "/").split("/").map(encodeURIComponent).join("/")
    console.log(`http://127.0.0.1:${httpPort}/webtorrent/${torrent.infoHash}/${filePath}`)
  }
})
torrent.on("done", () => console.log("download complete; still serving (Ctrl-C stops)"))

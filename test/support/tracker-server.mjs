// A bittorrent-tracker Server on loopback for interop tests and the benchmark (started by
// test/support/interop.ts and bench/run.mjs, one process per tracker so that a test can kill it by PID).
//
//   node test/support/tracker-server.mjs [--interval SECONDS]
//
// stdout, one JSON object per line:
//   {"ready":true,"http":P1,"udp":P2,"udp6":P3|null}        once, when HTTP and UDP (IPv4) listen
//   {"event":"start","type":"udp","addr":"127.0.0.1:6881",   after every announce has been answered
//    "infoHash":"<hex>","peerId":"<hex>","left":N}
// stderr: warnings (bad requests) and errors, one per line.
//
// The process exits when stdin ends (its parent died or closed the pipe), on SIGTERM/SIGINT, and with
// code 1 when HTTP or UDP cannot listen.
import { Server } from "bittorrent-tracker"

const intervalArg = process.argv.indexOf("--interval")
const intervalSeconds = intervalArg >= 0 ? Number(process.argv[intervalArg + 1]) : Number.NaN

const server = new Server({
  udp: true,
  http: true,
  ws: false,
  stats: false,
  trustProxy: false,
  ...(Number.isFinite(intervalSeconds) && intervalSeconds > 0 ? { interval: intervalSeconds * 1000 } : {})
})

const write = (value) => process.stdout.write(`${JSON.stringify(value)}\n`)
const fail = (what, error) => {
  process.stderr.write(`tracker: ${what}: ${error?.message ?? String(error)}\n`)
  process.exit(1)
}

// IPv6 may be missing on a CI machine: the UDP6 socket is optional, HTTP and UDP4 are not.
let udp6Port = null
let pending = 2
const ready = () => {
  pending -= 1
  if (pending === 0) {
    write({ ready: true, http: server.http.address().port, udp: server.udp4.address().port, udp6: udp6Port })
  }
}
server.http.once("listening", ready)
server.udp4.once("listening", ready)
server.udp6.once("listening", () => {
  udp6Port = server.udp6.address().port
})
// The Server forwards socket errors to its own "error" event (which would throw without a listener).
server.on("error", (error) => process.stderr.write(`tracker: error: ${error.message}\n`))
server.http.on("error", (error) => pending > 0 && fail("http listen", error))
server.udp4.on("error", (error) => pending > 0 && fail("udp listen", error))
server.on("warning", (error) => process.stderr.write(`tracker: warning: ${error.message}\n`))

for (const event of ["start", "complete", "update", "stop", "paused"]) {
  server.on(event, (addr, params) =>
    write({
      event,
      type: params.type,
      addr,
      infoHash: params.info_hash,
      peerId: params.peer_id,
      left: params.left
    })
  )
}

server.listen({ http: 0, udp: 0 }, { http: "127.0.0.1", udp: "127.0.0.1", udp6: "::1" })

let closing = false
const close = () => {
  if (closing) return
  closing = true
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 1000).unref()
}
process.on("SIGTERM", close)
process.on("SIGINT", close)
process.stdin.on("end", close)
process.stdin.on("error", close)
process.stdin.resume()

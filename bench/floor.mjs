// node bench/floor.mjs [--size-mib 1024 | --payload FILE] [--direct] [--runs 1]
//
// The machine's floor for a download, without BitTorrent: one process reads the bench payload and sends it
// over loopback TCP as fast as the socket takes it; another receives it, gathers 1 MiB pieces, hashes each
// with SHA-1 and writes it to a new file (one write in flight, as bt-effect's writer has two), through the
// page cache or, with --direct, past it (O_DIRECT from page-aligned memory, as bt-effect does where it
// can). What bt-effect adds on top of this is the protocol; what this cannot beat is the machine.
//
// Prints MB/s (1 MB = 10^6 bytes), the receiver's and the sender's CPU seconds and peak RSS. Uses the
// payload that `npm run bench` caches (run that first), or the file `--payload` names (as the bench's
// `floor` row does); the file written goes to os.tmpdir() and is deleted.
import { fork } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { parseArgs } from "node:util"

const pieceLength = 1024 * 1024
const { values: flags } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "1024" },
    direct: { type: "boolean", default: false },
    payload: { type: "string" }, // a file to send instead of the cached payload of --size-mib
    runs: { type: "string", default: "1" },
    role: { type: "string" }, // internal: "sender"
    file: { type: "string" },
    port: { type: "string" }
  }
})

if (flags.role === "sender") {
  // Reads the file in pieces (four buffers in turn) and writes them to the first connection.
  const fd = fs.openSync(flags.file, "r")
  const size = fs.fstatSync(fd).size
  const server = net.createServer((socket) => {
    const buffers = Array.from({ length: 4 }, () => Buffer.allocUnsafe(pieceLength))
    let position = 0
    let turn = 0
    const pump = () => {
      if (position >= size) return socket.end()
      const buffer = buffers[turn++ % buffers.length]
      fs.read(fd, buffer, 0, pieceLength, position, (error, n) => {
        if (error) throw error
        position += n
        if (socket.write(buffer.subarray(0, n))) pump()
        else socket.once("drain", pump)
      })
    }
    pump()
    socket.on("close", () => process.send({ cpu: process.cpuUsage(), maxRssKiB: process.resourceUsage().maxRSS }))
  })
  server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }))
} else {
  const cache = path.join(os.tmpdir(), "bt-effect-bench-cache")
  const cached = (mib) => path.join(cache, `${mib * 1024 * 1024}-${pieceLength}`, "data", `bench-${mib}MiB.bin`)
  const payload = flags.payload ?? cached(Number(flags["size-mib"]))
  if (!fs.existsSync(payload)) {
    console.error(flags.payload !== undefined ? `floor: no file ${payload}` :
      `floor: no cached payload at ${payload}; run \`npm run bench -- --size-mib ${flags["size-mib"]}\` first`)
    process.exit(2)
  }
  const size = fs.statSync(payload).size
  for (let run = 1; run <= Number(flags.runs); run++) await receive(payload, size, run)
}

/** Page-aligned memory (a WebAssembly memory starts on a page boundary), for O_DIRECT. */
function pieceBuffers(count) {
  if (!flags.direct) return Array.from({ length: count }, () => Buffer.allocUnsafe(pieceLength))
  const memory = new WebAssembly.Memory({ initial: (count * pieceLength) / 65536 })
  return Array.from({ length: count }, (_, i) => Buffer.from(memory.buffer, i * pieceLength, pieceLength))
}

async function receive(payload, size, run) {
  const sender = fork(new URL(import.meta.url).pathname, ["--role", "sender", "--file", payload], { stdio: "inherit" })
  const port = await new Promise((resolve) => sender.once("message", (m) => resolve(m.port)))
  const senderUse = new Promise((resolve) => sender.once("message", resolve))
  const out = path.join(os.tmpdir(), `bt-effect-floor-${process.pid}.bin`)
  const fd = fs.openSync(out, "w")
  const writeFd = flags.direct ? fs.openSync(`/proc/self/fd/${fd}`, fs.constants.O_WRONLY | fs.constants.O_DIRECT) : fd
  const free = pieceBuffers(8)
  const queue = []
  let writing = false
  let piece = free.pop()
  let filled = 0
  let index = 0
  let received = 0
  let socket
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  await new Promise((resolve, reject) => {
    let ended = false
    const finish = () => {
      if (ended && !writing && queue.length === 0) resolve()
    }
    const writeNext = () => {
      if (writing || queue.length === 0) return finish()
      const [buffer, length, position] = queue.shift()
      writing = true
      fs.write(writeFd, buffer, 0, length, position, (error) => {
        if (error) return reject(error)
        writing = false
        free.push(buffer)
        if (socket.isPaused()) socket.resume()
        writeNext()
      })
    }
    const complete = () => {
      createHash("sha1").update(piece.subarray(0, filled)).digest()
      queue.push([piece, filled, index++ * pieceLength])
      writeNext()
      piece = free.pop()
      filled = 0
      // No spare buffer left: stop reading until a write gives one back (the bound on memory). The rest
      // of the chunk being handled fits in `piece`.
      if (free.length === 0) socket.pause()
    }
    const readBuffer = Buffer.allocUnsafe(256 * 1024)
    socket = net.connect({
      host: "127.0.0.1",
      port,
      onread: {
        buffer: readBuffer,
        callback: (n, buffer) => {
          received += n
          for (let at = 0; at < n;) {
            const take = Math.min(pieceLength - filled, n - at)
            buffer.copy(piece, filled, at, at + take)
            filled += take
            at += take
            if (filled === pieceLength) complete()
          }
        }
      }
    })
    socket.on("end", () => {
      if (filled > 0) {
        // The short last piece goes through the page cache (O_DIRECT wants whole pages).
        createHash("sha1").update(piece.subarray(0, filled)).digest()
        fs.writeSync(fd, piece, 0, filled, index * pieceLength)
      }
      ended = true
      finish()
    })
    socket.on("error", reject)
  })
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const sent = await senderUse
  sender.kill()
  if (writeFd !== fd) fs.closeSync(writeFd)
  fs.closeSync(fd)
  fs.rmSync(out, { force: true })
  if (received !== size) throw new Error(`received ${received} of ${size} bytes`)
  console.log(
    `floor run ${run} (${flags.direct ? "O_DIRECT" : "page cache"}): ${(size / seconds / 1e6).toFixed(1)} MB/s, ` +
      `${seconds.toFixed(2)} s; receiver CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s, ` +
      `peak RSS ${((process.resourceUsage().maxRSS * 1024) / 1e6).toFixed(1)} MB; ` +
      `sender CPU ${((sent.cpu.user + sent.cpu.system) / 1e6).toFixed(2)} s, peak RSS ${((sent.maxRssKiB * 1024) / 1e6).toFixed(1)} MB`
  )
}

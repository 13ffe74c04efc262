// The benchmark's plumbing (bench/run.mjs holds what is measured): child processes tracked and stopped by
// PID, their CPU and peak memory read from /proc, the cached payload and its .torrent files, the
// bittorrent-tracker process, aria2c's command line.
import { spawn } from "node:child_process"
import { createCipheriv, createHash } from "node:crypto"
import * as dgram from "node:dgram"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import * as readline from "node:readline"

// ------------------------------------------------------------------------------------------------------
// Processes: every child is tracked by PID and stopped by PID on every way out.

export const children = new Map() // pid -> ChildProcess
export const track = (child) => {
  children.set(child.pid, child)
  child.once("exit", () => children.delete(child.pid))
  return child
}
export const kill = (pid, signal) => {
  try {
    process.kill(pid, signal)
  } catch {
    // gone already
  }
}
export const exited = (child) =>
  child.exitCode !== null || child.signalCode !== null ?
    Promise.resolve({ code: child.exitCode, signal: child.signalCode }) :
    new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })))
const stop = async (child, graceMs = 5000) => {
  if (child.exitCode !== null || child.signalCode !== null) return
  kill(child.pid, "SIGTERM")
  const timer = setTimeout(() => kill(child.pid, "SIGKILL"), graceMs)
  await exited(child)
  clearTimeout(timer)
}
/** The PIDs of a process's children (to reach the program that /usr/bin/time runs). */
export const childPids = (pid) => {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}
/** Waits until a process that is not our child has exited; SIGKILL after `ms`. */
const gone = async (pid, ms) => {
  for (const until = Date.now() + ms; fs.existsSync(`/proc/${pid}`) && Date.now() < until;) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  if (fs.existsSync(`/proc/${pid}`)) kill(pid, "SIGKILL")
}
/** Stops a tracked child and, first, the program it runs when it is /usr/bin/time (which does not pass
 *  signals on). */
export const stopTree = async (child) => {
  const grandchildren = childPids(child.pid)
  for (const pid of grandchildren) kill(pid, "SIGTERM")
  await Promise.all(grandchildren.map((pid) => gone(pid, 3000)))
  await stop(child, 2000)
}
/** CPU seconds (user + sys, all threads) a live process has used so far, from /proc/PID/stat (ticks of
 *  1/100 s). */
export const cpuSeconds = (pid) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}
/** Sets a live process's peak resident set (VmHWM) back to its current one (Linux >= 4.0), so that the
 *  peak read next covers what happened since. False when the kernel refuses. */
export const resetPeakRss = (pid) => {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, "5")
    return true
  } catch {
    return false
  }
}
/** A live process's peak resident set (VmHWM) in MB of 10^6 bytes. */
export const peakRssMB = (pid) => {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
    return match === null ? Number.NaN : (Number(match[1]) * 1024) / 1e6
  } catch {
    return Number.NaN
  }
}

/**
 * Watches a download as it lands on disk, polling every 20 ms: `firstByteAt` is the first poll that sees
 * a block allocated to any of `files` (every client here writes without preallocating, so a block means
 * payload written), `completedAt` the first that sees the file `marker` (a client's completion signal),
 * and `completed` resolves then. `stop()` ends the polling. Times are `performance.now()`.
 */
export const watchTransfer = (files, marker) => {
  let signalCompleted
  const watch = { firstByteAt: undefined, completedAt: undefined, completed: new Promise((resolve) => (signalCompleted = resolve)) }
  const hasBlocks = (file) => {
    try {
      return fs.statSync(file).blocks > 0
    } catch {
      return false
    }
  }
  const timer = setInterval(() => {
    if (watch.firstByteAt === undefined && files.some(hasBlocks)) watch.firstByteAt = performance.now()
    if (marker !== undefined && watch.completedAt === undefined && fs.existsSync(marker)) {
      watch.completedAt = performance.now()
      signalCompleted()
    }
  }, 20)
  watch.stop = () => clearInterval(timer)
  return watch
}

/** The machine's UDP datagrams dropped for a full receive buffer so far (/proc/net/snmp RcvbufErrors, every
 *  socket of every process): the "utp" rows print how many a job saw. NaN where it cannot be read. */
export const udpReceiveBufferErrors = () => {
  try {
    const [names, values] = fs.readFileSync("/proc/net/snmp", "utf8").split("\n").filter((line) => line.startsWith("Udp: "))
    return Number(values.split(/\s+/)[names.split(/\s+/).indexOf("RcvbufErrors")])
  } catch {
    return Number.NaN
  }
}

export const freePort = (host) =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, host, () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

const udpFree = (host, port) =>
  new Promise((resolve) => {
    const socket = dgram.createSocket("udp4")
    socket.once("error", () => resolve(false))
    socket.bind(port, host, () => socket.close(() => resolve(true)))
  })

/** A port free for TCP and for UDP on `host`: libtorrent, and bt-effect with uTP, listen on both with one
 *  number (uTP on UDP). */
export const freeTcpUdpPort = async (host) => {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const port = await freePort(host)
    if (await udpFree(host, port)) return port
  }
  throw new Error(`no port free for both TCP and UDP on ${host}`)
}

export const withTimeout = (promise, ms, message) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), ms)
    promise.then(resolve, reject).finally(() => clearTimeout(timer))
  })

export const logTail = (file) => {
  try {
    return fs.readFileSync(file, "utf8").slice(-3000)
  } catch {
    return ""
  }
}

// ------------------------------------------------------------------------------------------------------
// Payload: deterministic (AES-CTR keystream), cached between runs; the torrents are rewritten per run.

export const bencode = (v) => {
  if (typeof v === "number") return Buffer.from(`i${v}e`)
  if (typeof v === "string") v = Buffer.from(v)
  if (Buffer.isBuffer(v)) return Buffer.concat([Buffer.from(`${v.length}:`), v])
  if (Array.isArray(v)) return Buffer.concat([Buffer.from("l"), ...v.map(bencode), Buffer.from("e")])
  const keys = Object.keys(v).sort()
  return Buffer.concat([Buffer.from("d"), ...keys.flatMap((k) => [bencode(k), bencode(v[k])]), Buffer.from("e")])
}

/** The payload's files: one file named `name`, or `count` files of (nearly) equal length in a folder `name`. */
const fileList = (name, size, count) => {
  if (count === 1) return [{ path: name, length: size }]
  const base = Math.floor(size / count)
  return Array.from({ length: count }, (_, i) => ({
    path: path.join(name, `file-${String(i + 1).padStart(String(count).length, "0")}.bin`),
    length: base + (i < size % count ? 1 : 0)
  }))
}

/**
 * The payload of `size` bytes in `pieceLength` pieces, in one file or in `files` files, under `cache`
 * (written once, reused while every file's size and mtime match). Its bytes are the same keystream
 * whatever the number of files: the concatenation of the files has the same sha256 as the single file.
 */
export const preparePayload = ({ cache, size, pieceLength, fresh, files = 1 }) => {
  const dir = path.join(cache, files === 1 ? `${size}-${pieceLength}` : `${size}-${pieceLength}-${files}files`)
  const name = files === 1 ? `bench-${size / 1024 / 1024}MiB.bin` : `bench-${size / 1024 / 1024}MiB-${files}files`
  const dataDir = path.join(dir, "data")
  const metaFile = path.join(dir, "meta.json")
  const list = fileList(name, size, files)
  if (!fresh && fs.existsSync(metaFile)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, "utf8"))
    const intact = meta.format === 2 && meta.files.length === list.length && meta.files.every((f) => {
      const file = path.join(dataDir, f.path)
      return fs.existsSync(file) && fs.statSync(file).size === f.length && fs.statSync(file).mtimeMs === f.mtimeMs
    })
    if (intact) {
      console.log(`payload: cached ${path.join(dataDir, name)}`)
      return { ...meta, dataDir, info: fs.readFileSync(path.join(dir, "info.bin")) }
    }
  }
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(path.dirname(path.join(dataDir, list[0].path)), { recursive: true })
  console.log(`payload: writing ${size} bytes in ${files} file(s) to ${path.join(dataDir, name)}`)
  const started = performance.now()
  const keystream = createCipheriv("aes-128-ctr", Buffer.alloc(16, 7), Buffer.alloc(16, 0))
  const zeros = Buffer.alloc(pieceLength)
  const whole = createHash("sha256")
  const pieces = []
  // A piece may span files: each piece's bytes go to the current file until it is full, then the next.
  let fileIndex = 0
  let leftInFile = list[0].length
  let fd = fs.openSync(path.join(dataDir, list[0].path), "w")
  for (let at = 0; at < size; at += pieceLength) {
    const chunk = keystream.update(zeros.subarray(0, Math.min(pieceLength, size - at)))
    whole.update(chunk)
    pieces.push(createHash("sha1").update(chunk).digest())
    for (let written = 0; written < chunk.length;) {
      if (leftInFile === 0) {
        fs.closeSync(fd)
        fileIndex += 1
        leftInFile = list[fileIndex].length
        fd = fs.openSync(path.join(dataDir, list[fileIndex].path), "w")
      }
      const n = Math.min(leftInFile, chunk.length - written)
      fs.writeSync(fd, chunk, written, n)
      written += n
      leftInFile -= n
    }
  }
  fs.closeSync(fd)
  const layout = files === 1 ? { length: size } :
    { files: list.map((f) => ({ length: f.length, path: [path.basename(f.path)] })) }
  const info = bencode({ ...layout, name, "piece length": pieceLength, pieces: Buffer.concat(pieces) })
  fs.writeFileSync(path.join(dir, "info.bin"), info)
  const meta = {
    format: 2, name, size, sha256: whole.digest("hex"),
    files: list.map((f) => ({ ...f, mtimeMs: fs.statSync(path.join(dataDir, f.path)).mtimeMs }))
  }
  fs.writeFileSync(metaFile, JSON.stringify(meta))
  console.log(`payload: done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return { ...meta, dataDir, info }
}

/** Whether `dir` holds the payload's files with their sizes and, concatenated, its sha256. */
export const verifyPayload = async (dir, payload) => {
  for (const f of payload.files) {
    const file = path.join(dir, f.path)
    if (!fs.existsSync(file)) return "missing"
    if (fs.statSync(file).size !== f.length) return "wrong size"
  }
  const hash = createHash("sha256")
  for (const f of payload.files) {
    for await (const chunk of fs.createReadStream(path.join(dir, f.path), { highWaterMark: 1 << 20 })) hash.update(chunk)
  }
  return hash.digest("hex") === payload.sha256 ? "ok" : "sha256 differs"
}

/**
 * The same info dictionary with a "source" key (as private trackers add): the same files and pieces
 * under another info hash, so that a second seeder of the same data has a swarm of its own. "source"
 * sorts after every key of ours, so it goes just before the dictionary's closing "e".
 */
export const withSource = (info, source) =>
  Buffer.concat([info.subarray(0, info.length - 1), bencode("source"), bencode(source), Buffer.from("e")])

/** The hash a torrent is announced by: SHA-1 of its info, or a v2-only torrent's SHA-256 of it cut to 20
 *  bytes (BEP 52; a v2-only info has a `meta version` and no `pieces`). */
export const infoHash = (info) => {
  const v2Only = info.includes("12:meta versioni2e") && !info.includes("6:pieces")
  return v2Only ? createHash("sha256").update(info).digest("hex").slice(0, 40) : createHash("sha1").update(info).digest("hex")
}

/** A .torrent of `info` (bencoded) announcing to `announce`; a v2 torrent's `piece layers` (bencoded) after it. */
export const writeTorrent = (file, info, announce, pieceLayers) => {
  const layers = pieceLayers === undefined ? [] : [bencode("piece layers"), pieceLayers]
  fs.writeFileSync(file, Buffer.concat([Buffer.from("d"), bencode("announce"), bencode(announce), bencode("info"), info, ...layers, Buffer.from("e")]))
  return file
}

/** Where the bencoded value that starts at `at` ends. */
const bencodeEnd = (bytes, at) => {
  const c = bytes[at]
  if (c === 0x69) return bytes.indexOf(0x65, at) + 1 // i...e
  if (c === 0x6c || c === 0x64) {
    let next = at + 1
    while (bytes[next] !== 0x65) next = bencodeEnd(bytes, next)
    return next + 1
  }
  const colon = bytes.indexOf(0x3a, at)
  return colon + 1 + Number(bytes.subarray(at, colon).toString("latin1"))
}

/** The raw bencoded values of a .torrent's top-level keys (its `info` as it is, for the info hash). */
export const topLevelValues = (torrent) => {
  const out = new Map()
  for (let at = 1; torrent[at] !== 0x65;) {
    const keyEnd = bencodeEnd(torrent, at)
    const key = torrent.subarray(torrent.indexOf(0x3a, at) + 1, keyEnd).toString("latin1")
    const end = bencodeEnd(torrent, keyEnd)
    out.set(key, torrent.subarray(keyEnd, end))
    at = end
  }
  return out
}

// ------------------------------------------------------------------------------------------------------
// Tracker and aria2c

/** `intervalSeconds`: the re-announce interval the tracker tells every client (bittorrent-tracker's own
 *  default is 10 minutes). */
export const startTracker = async (trackerScript, { intervalSeconds } = {}) => {
  const args = intervalSeconds === undefined ? [] : ["--interval", String(intervalSeconds)]
  const child = track(spawn(process.execPath, [trackerScript, ...args], { stdio: ["pipe", "pipe", "inherit"] }))
  const announces = []
  const listeners = new Set()
  const ready = new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      const message = JSON.parse(line)
      if (message.ready === true) resolve(message)
      else {
        announces.push({ ...message, at: performance.now() })
        for (const listener of listeners) listener()
      }
    })
    child.once("exit", (code) => reject(new Error(`tracker exited (${code})`)))
  })
  const ports = await withTimeout(ready, 15_000, "tracker did not start")
  const waitFor = (predicate, ms) => {
    let listener
    return withTimeout(
      new Promise((resolve) => {
        listener = () => announces.some(predicate) && resolve()
        listeners.add(listener)
        listener()
      }),
      ms,
      `no announce within ${ms} ms; seen ${JSON.stringify(announces)}`
    ).finally(() => listeners.delete(listener))
  }
  return { child, announces, httpUrl: `http://127.0.0.1:${ports.http}/announce`, udpUrl: `udp://127.0.0.1:${ports.udp}`, waitFor }
}

/** aria2c on loopback only: no DHT, LPD, PEX or IPv6; announces over HTTP to `announceUrl` only. */
export const aria2Args = ({ host, port, dir, announceUrl }) => [
  "--no-conf", "--quiet", "--log=-", "--log-level=notice",
  "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false", "--enable-peer-exchange=false",
  "--disable-ipv6=true", `--interface=${host}`, `--listen-port=${port}`,
  "--follow-torrent=false", "--file-allocation=none", "--summary-interval=0", "--bt-require-crypto=false",
  `--stop-with-process=${process.pid}`, `--dir=${dir}`, "--bt-exclude-tracker=*", `--bt-tracker=${announceUrl}`
]

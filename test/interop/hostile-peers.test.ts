/**
 * Malicious peers over real TCP on loopback: bt-effect's command line (`download`, built in dist/)
 * fetches a torrent from an honest bt-effect seeder (`seed`) while attackers written here with node:net
 * send what the in-memory suite (test/swarm/hostile-peers.test.ts) sends, through real sockets, with
 * real chunking and backpressure. A static tracker in this file names the seeder and every attacker to
 * the downloader (and nobody to the seeder). Each attacker listens on a loopback address of its own
 * (127.0.0.3 and up), so that banning one bans nobody else.
 *
 * What bt-effect did comes from its `--verbose` log (why it dropped each peer, whom it banned) and from
 * the attackers' sockets (who closed, and when); its memory from /proc (VmHWM, the peak resident set of
 * the process), compared with a download of the same torrent with no attacker.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import * as path from "node:path"
import * as FrameParser from "../../src/protocol/FrameParser.js"
import * as Message from "../../src/protocol/Message.js"
import { InfoHash } from "../../src/domain/InfoHash.js"
import { handshake, rawFrame } from "../support/attacker.js"
import { background, mainJs, stopAllBackground } from "../support/cli.js"
import { logTail, spawnLogged, stopAll, type TempDir, tempDir } from "../support/interop.js"
import { makePayload, type Payload, verifyDownload } from "../support/payload.js"
import { randomBytes } from "../support/torrents.js"
import { limits } from "../../src/services/peer/PeerLimits.js"

const MiB = 1024 * 1024
/** 32 MiB in 32 KiB pieces: two blocks a piece, so that a liar soon delivers whole pieces on its own. */
const size = 32 * MiB
const pieceLength = 32 * 1024

// ---------------------------------------------------------------------------------------------------------
// A static tracker

interface StaticTracker {
  readonly url: string
  /** The peers handed to a downloader (left > 0); a seeder gets none. */
  peers: ReadonlyArray<{ readonly host: string; readonly port: number }>
  readonly close: () => Promise<void>
}

const startStaticTracker = (): Promise<StaticTracker> =>
  new Promise((resolve, reject) => {
    const tracker: { peers: StaticTracker["peers"] } = { peers: [] }
    const server = http.createServer((request, response) => {
      const query = new URL(request.url ?? "/", "http://tracker").searchParams
      const peers = Number(query.get("left") ?? "0") > 0 ? tracker.peers : []
      const compact = Buffer.concat(peers.map((p) => {
        const entry = Buffer.alloc(6)
        p.host.split(".").forEach((octet, i) => entry.writeUInt8(Number(octet), i))
        entry.writeUInt16BE(p.port, 4)
        return entry
      }))
      response.writeHead(200, { "content-type": "text/plain" })
      response.end(Buffer.concat([Buffer.from(`d8:intervali600e5:peers${compact.length}:`), compact, Buffer.from("e")]))
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resolve(Object.assign(tracker, {
        url: `http://127.0.0.1:${port}/announce`,
        close: () => new Promise<void>((done) => server.close(() => done()))
      }))
    })
  })

// ---------------------------------------------------------------------------------------------------------
// Attackers over TCP

interface Wire {
  readonly socket: net.Socket
  /** What bt-effect sent, parsed (its handshake first). */
  readonly frames: Array<FrameParser.Frame>
  /** Writes unless the connection has ended; false when the socket's buffer is full (wait for "drain"). */
  readonly send: (...chunks: ReadonlyArray<Uint8Array>) => boolean
  readonly isOpen: () => boolean
  /** Ends the connection from the attacker's side. */
  readonly close: () => void
}

interface Ended {
  /** "bt-effect": it closed or reset the connection; "attacker": the behaviour did. */
  readonly by: "bt-effect" | "attacker"
  readonly afterMs: number
  /** Bytes the kernel took from the attacker. */
  readonly sent: number
}

interface Behaviour {
  /** bt-effect's handshake has arrived. */
  readonly onHandshake: (wire: Wire) => void
  readonly onFrame?: (wire: Wire, frame: FrameParser.Frame) => void
}

interface TcpAttacker {
  readonly host: string
  readonly port: number
  /** How each connection bt-effect made ended (undefined while open). */
  readonly connections: Array<{ ended: Ended | undefined }>
  readonly close: () => Promise<void>
}

const startAttacker = (host: string, behaviour: Behaviour): Promise<TcpAttacker> =>
  new Promise((resolve, reject) => {
    const connections: TcpAttacker["connections"] = []
    const sockets = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      sockets.add(socket)
      const record: { ended: Ended | undefined } = { ended: undefined }
      connections.push(record)
      const opened = performance.now()
      let closing = false
      const end = (by: Ended["by"]) => {
        record.ended ??= { by, afterMs: performance.now() - opened, sent: socket.bytesWritten }
      }
      const parser = FrameParser.make({ handshake: true })
      const frames: Array<FrameParser.Frame> = []
      const wire: Wire = {
        socket,
        frames,
        send: (...chunks) => {
          if (record.ended !== undefined || socket.destroyed) return false
          let ok = true
          for (const c of chunks) ok = socket.write(c)
          return ok
        },
        isOpen: () => record.ended === undefined && !socket.destroyed,
        close: () => {
          closing = true
          end("attacker")
          socket.end()
        }
      }
      socket.on("data", (chunk) => {
        parser.push(chunk, (frame) => {
          frames.push(frame)
          if (frame._tag === "Handshake") behaviour.onHandshake(wire)
          else behaviour.onFrame?.(wire, frame)
        })
      })
      // A FIN or a reset from bt-effect, or a write into the connection it closed: its doing.
      socket.on("end", () => end(closing ? "attacker" : "bt-effect"))
      socket.on("error", () => end(closing ? "attacker" : "bt-effect"))
      socket.on("close", () => {
        end(closing ? "attacker" : "bt-effect")
        sockets.delete(socket)
      })
    })
    server.once("error", reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resolve({
        host,
        port,
        connections,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy()
            server.close(() => done())
          })
      })
    })
  })

/** Writes `chunk` over and over (at most `total` bytes), as fast as the socket takes it, until the end. */
const pump = (wire: Wire, chunk: Uint8Array, total: number) => {
  let left = total
  const go = () => {
    while (left > 0 && wire.isOpen()) {
      left -= chunk.length
      if (!wire.send(chunk)) {
        wire.socket.once("drain", go)
        return
      }
    }
  }
  go()
}

// ---------------------------------------------------------------------------------------------------------
// The downloader

interface Download {
  readonly code: number | null
  readonly log: string
  /** The process's peak resident set (VmHWM), bytes. */
  readonly peakRss: number
  readonly seconds: number
}

const vmHwm = (pid: number): number | undefined => {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
    return m === null ? undefined : Number(m[1]) * 1024
  } catch {
    return undefined
  }
}

/** `download --verbose` to its end (killed after 45 s), with its peak memory sampled every 20 ms. In
 *  plaintext (`--encryption off`): these attackers speak the plaintext wire, whose limits are tested here
 *  (MSE's bounds are test/fuzz/mse.test.ts's), and would take our MSE handshake for garbage. */
const runDownload = async (torrent: string, dir: string): Promise<Download> => {
  const logPath = `${dir}.log`
  const started = performance.now()
  const proc = spawnLogged(process.execPath, [
    mainJs, "download", torrent, "--out", dir, "--state", `${dir}.state`, "--port", "0", "--stall-timeout", "30", "--verbose", "--encryption", "off"
  ], logPath)
  let peakRss = 0
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, vmHwm(proc.pid) ?? 0)
  }, 20)
  const killer = setTimeout(() => void proc.stop(2_000), 45_000)
  const exit = await proc.exited
  clearInterval(sampler)
  clearTimeout(killer)
  return { code: exit.code, log: fs.readFileSync(logPath, "utf8"), peakRss, seconds: (performance.now() - started) / 1000 }
}

/** Why the downloader dropped each connection to `host`, from its debug log. */
const dropped = (log: string, host: string): ReadonlyArray<string> =>
  [...log.matchAll(/^debug: peer ([\d.]+):\d+: (.*) \(disconnected\)$/gm)].filter((m) => m[1] === host).map((m) => m[2]!)

const u32 = (value: number): Uint8Array => {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(value >>> 0)
  return out
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`

// ---------------------------------------------------------------------------------------------------------

describe("interop: malicious peers over TCP", () => {
  let root: TempDir | undefined
  let tracker: StaticTracker | undefined
  let payload: Payload | undefined
  let content: Uint8Array = new Uint8Array(0)
  let seederPort = 0
  const attackers: Array<TcpAttacker> = []

  beforeAll(async () => {
    if (!fs.existsSync(mainJs)) throw new Error("dist/main.js is missing: build first (npx tsc -p tsconfig.build.json)")
    root = tempDir("bt-effect-interop-hostile-")
    tracker = await startStaticTracker()
    payload = makePayload(path.join(root.path, "payload"), "single", { size, pieceLength, announce: tracker.url, seed: 61 })
    content = fs.readFileSync(path.join(payload.dataDir, payload.name))
    const seeder = await background(
      // No PEX: the downloader would name the attackers to the seeder, which would dial them too.
      ["seed", payload.torrentPath, "--data", payload.dataDir, "--port", "0", "--state", path.join(root.path, "seed-state"), "--no-pex"],
      /seeding .* on port (\d+)/, 30_000
    )
    seederPort = Number(seeder.match[1])
  }, 60_000)

  afterAll(async () => {
    await Promise.all(attackers.map((a) => a.close()))
    await tracker?.close()
    await stopAllBackground()
    await stopAll()
    root?.remove()
  }, 30_000)

  it("completes from the honest seeder among eight attackers, drops or bans each, and stays within its memory", async () => {
    const honest = { host: "127.0.0.2", port: seederPort }
    // The reference: the same download with no attacker.
    tracker!.peers = [honest]
    const reference = await runDownload(payload!.torrentPath, path.join(root!.path, "reference"))
    expect(reference.code, logTail(`${path.join(root!.path, "reference")}.log`)).toBe(0)

    const infoHash = payload!.metainfo.infoHash!
    const greet = (wire: Wire, host: string, ...after: ReadonlyArray<Uint8Array>) => wire.send(handshake(infoHash, host), ...after)
    const haveAll = Message.encode(Message.haveAll)
    const unchoke = Message.encode(Message.unchoke)
    const blockOf = (index: number, begin: number, length: number) => {
      const at = index * pieceLength + begin
      return content.subarray(at, at + length)
    }
    let bigPieceStarted = false
    const behaviours: ReadonlyArray<readonly [string, string, Behaviour]> = [
      ["127.0.0.3", "oversized length prefix", { onHandshake: (w) => greet(w, "127.0.0.3", haveAll, rawFrame(0xffff_fff0, 7)) }],
      ["127.0.0.4", "16 MiB piece message", {
        onHandshake: (w) => greet(w, "127.0.0.4", haveAll, unchoke),
        onFrame: (w, f) => {
          if (f._tag !== "Request" || bigPieceStarted) return
          bigPieceStarted = true
          w.send(rawFrame(16 * MiB + 9, 7, Buffer.concat([u32(f.index), u32(f.begin)])))
          pump(w, new Uint8Array(64 * 1024).fill(0x5a), 16 * MiB)
        }
      }],
      ["127.0.0.5", "handshake for another torrent", {
        onHandshake: (w) => w.send(handshake(InfoHash.make(new Uint8Array(20).fill(7)), "127.0.0.5"), haveAll)
      }],
      ["127.0.0.6", "random bytes after the handshake", { onHandshake: (w) => greet(w, "127.0.0.6", randomBytes(64 * 1024, 606)) }],
      ["127.0.0.7", "keep-alive flood", {
        // As fast as loopback takes them, for at most 1 GiB.
        onHandshake: (w) => {
          greet(w, "127.0.0.7", haveAll)
          pump(w, new Uint8Array(64 * 1024), 1024 * MiB)
        }
      }],
      ["127.0.0.8", "request flood", {
        // More requests than it may have refused, for a block of piece 0, which the downloader has not got:
        // every one is refused.
        onHandshake: (w) => greet(w, "127.0.0.8", Message.encode(Message.haveNone),
          ...Array.from({ length: limits.maxRefusedRequests + 1000 }, () => Message.encode(Message.request(0, 0, 16384))))
      }],
      ["127.0.0.9", "corrupt data", {
        onHandshake: (w) => greet(w, "127.0.0.9", haveAll, unchoke),
        onFrame: (w, f) => {
          if (f._tag !== "Request") return
          const block = Uint8Array.from(blockOf(f.index, f.begin, f.length))
          for (let i = 0; i < block.length; i += 1000) block[i] = block[i]! ^ 0xff
          w.send(Message.encode(Message.piece(f.index, f.begin, block)))
        }
      }],
      ["127.0.0.10", "disconnect in the middle of a piece", {
        onHandshake: (w) => greet(w, "127.0.0.10", haveAll, unchoke),
        onFrame: (w, f) => {
          if (f._tag !== "Request" || !w.isOpen()) return
          const message = Message.encode(Message.piece(f.index, f.begin, blockOf(f.index, f.begin, f.length)))
          const requests = w.frames.filter((x) => x._tag === "Request").length
          if (requests <= 3) w.send(message)
          else {
            w.send(message.subarray(0, 13 + 8192))
            w.close()
          }
        }
      }]
    ]
    for (const [host, , behaviour] of behaviours) attackers.push(await startAttacker(host, behaviour))
    tracker!.peers = [honest, ...attackers.map((a) => ({ host: a.host, port: a.port }))]

    const out = path.join(root!.path, "attacked")
    const attacked = await runDownload(payload!.torrentPath, out)
    expect(attacked.code, logTail(`${out}.log`)).toBe(0)
    expect(await verifyDownload(payload!, out)).toEqual([])

    const report = behaviours.map(([host, what], i) => {
      const a = attackers[i]!
      const ends = a.connections.map((c) => c.ended)
      return { host, what, connections: a.connections.length, ends, dropped: dropped(attacked.log, host) }
    })
    for (const r of report) {
      console.log(`${r.what} (${r.host}): ${r.connections} connection(s), ended ${JSON.stringify(r.ends)}; dropped: ${r.dropped.join("; ") || "-"}`)
    }
    console.log(
      `downloader peak rss (VmHWM): ${mib(attacked.peakRss)} with attackers (${attacked.seconds.toFixed(1)} s), ` +
        `${mib(reference.peakRss)} without (${reference.seconds.toFixed(1)} s)`
    )
    const byWhat = new Map(report.map((r) => [r.what, r]))
    const expectDropped = (what: string, reason: string | RegExp) => {
      const r = byWhat.get(what)!
      expect(r.connections, what).toBe(1)
      expect(r.ends[0]?.by, what).toBe("bt-effect")
      if (typeof reason === "string") expect(r.dropped, what).toEqual([reason])
      else {
        expect(r.dropped, what).toHaveLength(1)
        expect(r.dropped[0], what).toMatch(reason)
      }
    }
    expectDropped("oversized length prefix", "peer protocol violation: piece message of 4294967280 bytes, more than 9 + 16384 (the block limit)")
    expectDropped("16 MiB piece message", "peer protocol violation: piece message of 16777225 bytes, more than 9 + 16384 (the block limit)")
    // Refused at the header: the kernel took its buffers' worth of the body (about 4 MB here), then the
    // connection was gone; the 16 MiB never got through.
    expect(byWhat.get("16 MiB piece message")!.ends[0]!.sent).toBeLessThan(16 * MiB)
    expectDropped("handshake for another torrent", "handshake for another torrent")
    expectDropped("random bytes after the handshake", /^peer protocol violation: /)
    expectDropped("keep-alive flood", "keep-alive flood: more than 100 within a second")
    expectDropped("request flood", `request flood: more than ${limits.maxRefusedRequests} requests refused since the last unchoke`)
    // The liar is banned (its connection closed with it, without a "disconnected" line) and not dialled again.
    const liar = byWhat.get("corrupt data")!
    expect(liar.connections).toBe(1)
    expect(liar.ends[0]?.by).toBe("bt-effect")
    expect(attacked.log).toMatch(/^warn: banned 127\.0\.0\.9: (2 pieces that failed their hash check|sent corrupt data for piece \d+)$/m)
    expect(attacked.log.match(/^warn: banned /gm)).toHaveLength(1)
    // The ban comes with the second failed piece checked, but the liar's pieces arrive faster than they are
    // checked: those waiting in the queue fail after it. What waits is bounded (8 MiB of pieces in flight
    // or waiting, then nothing more is requested, plus the liar's pipeline of at most 500 blocks): 512
    // pieces here. Every failed piece had the liar among its senders.
    const banAt = attacked.log.indexOf("warn: banned ")
    const failures = [...attacked.log.matchAll(/^warn: piece \d+ failed its hash check \(from (.+)\)$/gm)]
    console.log(`hash failures: ${failures.length}, ${failures.filter((m) => m.index > banAt).length} of them checked after the ban`)
    expect(failures.length).toBeGreaterThanOrEqual(2)
    expect(failures.length).toBeLessThanOrEqual(512)
    for (const f of failures) expect(f[1]).toMatch(/127\.0\.0\.9:\d+/)
    // The one that vanished mid-piece: its blocks went back to the pool; nothing failed its hash check
    // but the liar's pieces.
    const vanished = byWhat.get("disconnect in the middle of a piece")!
    expect(vanished.ends[0]?.by).toBe("attacker")
    expect(vanished.dropped).toEqual(["connection closed by the peer"])
    // Memory: within 64 MiB of the reference's peak.
    expect(attacked.peakRss).toBeGreaterThan(0)
    expect(attacked.peakRss - reference.peakRss).toBeLessThan(64 * MiB)
  }, 60_000)
})

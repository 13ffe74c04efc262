/**
 * Malicious peers in whole in-memory swarms: an honest bt-effect seeder, scripted attackers
 * (test/support/attacker.ts) that send exactly the bytes a case calls for, and a bt-effect leecher that
 * meets them (it dials the attackers named in its `peers`, or they dial it). Each case checks the four
 * promises a client owes its user when a peer misbehaves: the download completes with the right bytes,
 * memory stays bounded (sampled every 20 ms; the peaks are printed), the offender is cut off (the
 * connection is closed by bt-effect, for the reason the log gives, and not dialled again; a liar is
 * banned), and nothing crashes.
 *
 * The honest seeder sends 1 MiB/s, so that the download spans a second of virtual time (TestClock,
 * `withClock`) and the attacks land while it runs.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Layout from "../../src/domain/Layout.js"
import { layoutOf } from "../../src/domain/Metainfo.js"
import type * as FrameParser from "../../src/protocol/FrameParser.js"
import * as Message from "../../src/protocol/Message.js"
import type { TorrentHandle } from "../../src/services/torrent/Torrent.js"
import {
  dialAttacker,
  handshake,
  isHandshake,
  listenAttacker,
  type Listening,
  rawFrame,
  type RawConnection,
  type Script,
  watchMemory
} from "../support/attacker.js"
import { withClock } from "../support/clock.js"
import { address, all, makeSwarm, type Swarm } from "../support/swarm.js"
import { makeTorrent, randomBytes } from "../support/torrents.js"
import { limits } from "../../src/services/peer/PeerLimits.js"

const seeder = "10.0.0.1"
const leecherHost = "10.0.0.9"
/** 33 pieces of 32 KiB, the last one short (12345 bytes): a bitfield of 5 bytes with 7 spare bits. */
const size = 1024 * 1024 + 12345
const pieceLength = 32768
const pieceCount = 33
const MiB = 1024 * 1024

/**
 * Growth over the case's baseline that no case may exceed. The swarm itself (the seeder's copy, the
 * leecher's store, pieces in flight) takes a few MiB; one allocation of what an attacker announces
 * (16 MiB, 4 GiB) would not fit.
 */
const maxGrowth = { arrayBuffers: 16 * MiB, rss: 64 * MiB }

/** The honest download takes about a second of virtual time; no attack may hold it up for long. */
const maxCompletionMs = 2_000

interface Hostile {
  readonly swarm: Swarm
  /** What bt-effect logged, debug included. */
  readonly log: ReadonlyArray<string>
  readonly sample: () => void
  /** The leecher's download, completed and equal to the payload; returns when it completed (virtual ms). */
  readonly completes: (leecher: TorrentHandle) => Effect.Effect<number>
}

/**
 * A case: a swarm with its honest seeder, bt-effect's log captured and memory watched. At the end: the
 * download completed in time, nothing died (an unhandled failure of any fiber is logged, at debug
 * level), and the memory peaks, printed, are within `maxGrowth`.
 */
const hostile = <A, E>(label: string, body: (h: Hostile) => Effect.Effect<A, E, Scope.Scope>) => {
  const log: Array<string> = []
  const errors: Array<string> = []
  const logger = Logger.make(({ cause, logLevel, message }) => {
    const line = (Array.isArray(message) ? message : [message]).map(String).join(" ")
    log.push(line)
    if (LogLevel.greaterThanEqual(logLevel, LogLevel.Error) || /unhandled/i.test(line) || !Cause.isEmpty(cause)) {
      errors.push(`${logLevel.label}: ${line} ${Cause.pretty(cause)}`)
    }
  })
  return Effect.gen(function* () {
    const memory = yield* watchMemory()
    const swarm = yield* makeSwarm({ size, pieceLength })
    yield* swarm.member(seeder, { pieces: all, link: { bandwidth: MiB } })
    const started = performance.now()
    let completedAt: number | undefined
    const completes = (leecher: TorrentHandle) =>
      Effect.gen(function* () {
        yield* leecher.completed
        completedAt = yield* Clock.currentTimeMillis
        expect(Buffer.compare(swarm.contents(leecherHost)!, swarm.torrent.payload)).toBe(0)
        return completedAt
      }).pipe(Effect.orDie)
    const result = yield* body({ swarm, log, sample: memory.sample, completes })
    console.log(
      `${memory.report(label)}; download complete at ${completedAt} ms of virtual time, ` +
        `${((performance.now() - started) / 1000).toFixed(2)} s of wall time`
    )
    expect(completedAt).toBeLessThan(maxCompletionMs)
    expect(errors).toEqual([])
    const peak = memory.peak()
    expect(peak.arrayBuffers).toBeLessThan(maxGrowth.arrayBuffers)
    expect(peak.rss).toBeLessThan(maxGrowth.rss)
    return result
  }).pipe(Effect.provide(Logger.add(logger)), Logger.withMinimumLogLevel(LogLevel.Debug))
}

/** Why bt-effect dropped each connection of `host`, in order (from its "(disconnected)" log lines). */
const dropped = (log: ReadonlyArray<string>, host: string): ReadonlyArray<string> =>
  log.flatMap((line) => {
    const m = /^peer ([^ ]+): (.*) \(disconnected\)$/.exec(line)
    return m !== null && m[1]!.startsWith(`${host}:`) ? [m[2]!] : []
  })

/** Runs under TestClock until done (50 ms steps, 30 s at most). */
const virtually = <A, E, R>(effect: Effect.Effect<A, E, R>) => withClock(effect, { step: "50 millis", maxVirtual: "30 seconds" })

/** The attacker's first connection, once it has ended. */
const firstConnection = (attacker: Listening) =>
  Effect.gen(function* () {
    while (attacker.connections.length === 0) yield* Effect.sleep("50 millis")
    yield* attacker.connections[0]!.ended
  })

/** The only connection made to a listening attacker, once it has ended. */
const onlyConnection = (attacker: Listening) =>
  Effect.gen(function* () {
    while (attacker.connections.length === 0) yield* Effect.sleep("50 millis")
    const connection = attacker.connections[0]!
    yield* connection.ended
    return connection
  })

/**
 * Checks that bt-effect, not the attacker, closed the connection, and the leecher never dialled it again.
 * (Other members may dial the attacker too: the leecher named it to them through PEX while connected.)
 */
const cutOff = (attacker: Listening) => {
  const fromLeecher = attacker.connections.filter((c) => c.remote.startsWith(`${leecherHost}:`))
  expect(fromLeecher.length).toBe(1)
  const connection = fromLeecher[0]!
  expect(connection.ending()?.by).toBe("bt-effect")
  expect(connection.scriptFailure()).toBeUndefined()
  return connection
}

const infoHashOf = (swarm: Swarm) => swarm.torrent.metainfo.infoHash!

/** Answers bt-effect's handshake with ours, then sends `after` (one write each). */
const greet = (swarm: Swarm, host: string, ...after: ReadonlyArray<Uint8Array>): Script => (c) =>
  Effect.gen(function* () {
    yield* c.waitFor(isHandshake)
    yield* c.send(handshake(infoHashOf(swarm), host))
    for (const bytes of after) yield* c.send(bytes)
  })

const attackerAt = (swarm: Swarm, host: string, script: Script) =>
  listenAttacker({ network: swarm.network, host, port: 6881, script })

const isRequest = (frame: FrameParser.Frame) => (frame._tag === "Request" ? frame : undefined)

const u32s = (...values: ReadonlyArray<number>) => {
  const out = new Uint8Array(4 * values.length)
  values.forEach((v, i) => new DataView(out.buffer).setUint32(4 * i, v >>> 0))
  return out
}

const encode = Message.encode

describe("hostile peers (in-memory swarm)", () => {
  it.scoped("downloads in about a second with no attacker (the reference for the figures below)", () =>
    hostile("no attacker", ({ completes, log, swarm }) =>
      Effect.gen(function* () {
        const leecher = yield* swarm.member(leecherHost)
        yield* virtually(completes(leecher))
        expect(log.filter((line) => line.endsWith("(disconnected)"))).toEqual([])
      })))

  it.scoped("refuses oversized length prefixes before allocating them", () =>
    hostile("oversized length prefix", ({ completes, log, swarm }) =>
      Effect.gen(function* () {
        const haveAll = encode(Message.haveAll)
        const asPiece = yield* attackerAt(swarm, "10.0.2.1", greet(swarm, "10.0.2.1", haveAll, rawFrame(0xffff_fff0, 7)))
        const asBitfield = yield* attackerAt(swarm, "10.0.2.2", greet(swarm, "10.0.2.2", haveAll, rawFrame(0x7fff_ffff, 5)))
        // The prefix alone: refused at its 4th byte, before an id says which limit applies.
        const bare = yield* attackerAt(swarm, "10.0.2.3", greet(swarm, "10.0.2.3", haveAll, rawFrame(0xffff_ffff)))
        const leecher = yield* swarm.member(leecherHost, { peers: ["10.0.2.1", "10.0.2.2", "10.0.2.3"].map(address) })
        yield* virtually(Effect.all([completes(leecher), onlyConnection(asPiece), onlyConnection(asBitfield), onlyConnection(bare)]))
        for (const attacker of [asPiece, asBitfield, bare]) expect(cutOff(attacker).ending()?.atMs).toBe(0)
        expect(dropped(log, "10.0.2.1")).toEqual(["peer protocol violation: piece message of 4294967280 bytes, more than 9 + 16384 (the block limit)"])
        expect(dropped(log, "10.0.2.2")).toEqual(["peer protocol violation: message of 2147483647 bytes (id 5), more than the limit of 1048589"])
        expect(dropped(log, "10.0.2.3")).toEqual(["peer protocol violation: message of 4294967295 bytes, more than any limit"])
      })))

  it.scoped("refuses a 16 MiB piece message at its header, before gathering any of its body", () =>
    hostile("16 MiB piece message", ({ completes, log, sample, swarm }) =>
      Effect.gen(function* () {
        const host = "10.0.2.1"
        const attacker = yield* attackerAt(swarm, host, (c) =>
          Effect.gen(function* () {
            yield* greet(swarm, host, encode(Message.haveAll), encode(Message.unchoke))(c)
            const asked = yield* c.waitFor(isRequest)
            if (asked === undefined) return
            // The answer to a real request, with a block of 16 MiB streamed in 64 KiB writes.
            yield* c.send(rawFrame(16 * MiB + 9, 7, u32s(asked.index, asked.begin)))
            const body = new Uint8Array(64 * 1024).fill(0x5a)
            for (let i = 0; i < 256 && (yield* c.send(body)); i++) yield* Effect.yieldNow()
            sample()
          }))
        const leecher = yield* swarm.member(leecherHost, { peers: [address(host)] })
        yield* virtually(Effect.all([completes(leecher), onlyConnection(attacker)]))
        const connection = cutOff(attacker)
        expect(dropped(log, host)).toEqual(["peer protocol violation: piece message of 16777225 bytes, more than 9 + 16384 (the block limit)"])
        // The network took a few writes before the attacker saw the end; bt-effect had closed at the header.
        console.log(`16 MiB piece: the attacker got ${(connection.sentBytes() / 1024).toFixed(0)} KiB out before it saw the close`)
        expect(connection.sentBytes()).toBeLessThan(MiB)
      })))

  it.scoped("ignores blocks it never requested, and drops a peer after 128 of them", () =>
    hostile("unrequested blocks", ({ completes, log, swarm }) =>
      Effect.gen(function* () {
        const host = "10.0.2.1"
        // It has nothing, so it is asked for nothing: every block it sends is unrequested (and garbage).
        const attacker = yield* attackerAt(swarm, host, greet(swarm, host, encode(Message.haveNone)))
        const leecher = yield* swarm.member(leecherHost, { peers: [address(host)] })
        const junk = new Uint8Array(Layout.BLOCK_SIZE).fill(0xee)
        const blocks = (n: number, from: number) =>
          Array.from({ length: n }, (_, i) => encode(Message.piece((from + i) % (pieceCount - 1), 0, junk)))
        const attack = Effect.gen(function* () {
          while (attacker.connections.length === 0 || (yield* leecher.peers).every((p) => p.key !== `${host}:6881`)) {
            yield* Effect.sleep("50 millis")
          }
          const c = attacker.connections[0]!
          yield* c.send(...blocks(128, 0))
          yield* Effect.sleep("1 second")
          const afterLimit = { open: c.ending() === undefined, listed: (yield* leecher.peers).some((p) => p.key === `${host}:6881`) }
          yield* c.send(...blocks(1, 128))
          const ending = yield* c.ended
          return { afterLimit, ending }
        })
        const [, outcome] = yield* virtually(Effect.all([completes(leecher), attack]))
        expect(outcome.afterLimit).toEqual({ open: true, listed: true })
        cutOff(attacker)
        expect(dropped(log, host)).toEqual(["too many blocks we did not request"])
        const stats = yield* leecher.stats
        // None of the junk was taken: no piece failed, and the 2 MiB of it are not counted as downloaded.
        expect(stats.hashFailures).toBe(0)
        expect(stats.downloadedBytes).toBeLessThan(size + 64 * Layout.BLOCK_SIZE)
      })))

  it.scoped("drops a peer whose bitfield has the wrong length or spare bits set", () =>
    hostile("bad bitfields", ({ completes, log, swarm }) =>
      Effect.gen(function* () {
        const short = yield* attackerAt(swarm, "10.0.2.1", greet(swarm, "10.0.2.1", encode(Message.bitfield(new Uint8Array(4).fill(0xff)))))
        const spare = yield* attackerAt(swarm, "10.0.2.2", greet(swarm, "10.0.2.2", encode(Message.bitfield(new Uint8Array(5).fill(0xff)))))
        const leecher = yield* swarm.member(leecherHost, { peers: [address("10.0.2.1"), address("10.0.2.2")] })
        yield* virtually(Effect.all([completes(leecher), onlyConnection(short), onlyConnection(spare)]))
        cutOff(short)
        cutOff(spare)
        expect(dropped(log, "10.0.2.1")).toEqual(["bad bitfield: bitfield of 4 bytes, expected 5 for 33 pieces"])
        expect(dropped(log, "10.0.2.2")).toEqual(["bad bitfield: bitfield has spare bits set past piece 32"])
      })))

  it.scoped("drops a peer that announces a piece beyond the last", () =>
    hostile("have beyond the last piece", ({ completes, log, swarm }) =>
      Effect.gen(function* () {
        const justPast = yield* attackerAt(swarm, "10.0.2.1", greet(swarm, "10.0.2.1", encode(Message.have(pieceCount))))
        const farPast = yield* attackerAt(
          swarm, "10.0.2.2", greet(swarm, "10.0.2.2", encode(Message.haveNone), encode(Message.have(0)), encode(Message.have(0xffff_ffff)))
        )
        const leecher = yield* swarm.member(leecherHost, { peers: [address("10.0.2.1"), address("10.0.2.2")] })
        yield* virtually(Effect.all([completes(leecher), onlyConnection(justPast), onlyConnection(farPast)]))
        cutOff(justPast)
        cutOff(farPast)
        expect(dropped(log, "10.0.2.1")).toEqual(["have 33 beyond the last piece"])
        expect(dropped(log, "10.0.2.2")).toEqual(["have 4294967295 beyond the last piece"])
      })))

  it.scoped("refuses a handshake for another torrent, dialled or dialling, and tells an inbound one nothing", () =>
    hostile("handshake for another torrent", ({ completes, log, swarm }) =>
      Effect.gen(function* () {
        const other = makeTorrent({ name: "other", pieceLength, files: [{ path: ["other.bin"], data: randomBytes(100_000, 7) }] })
        const otherHash = other.metainfo.infoHash!
        const dialled = yield* attackerAt(swarm, "10.0.2.1", (c) =>
          Effect.zipRight(c.waitFor(isHandshake), c.send(handshake(otherHash, "10.0.2.1"), encode(Message.haveAll))))
        const leecher = yield* swarm.member(leecherHost, { peers: [address("10.0.2.1")] })
        const dialling = yield* dialAttacker({
          network: swarm.network, host: "10.0.2.2", target: address(leecherHost),
          script: (c) => c.send(handshake(otherHash, "10.0.2.2"), encode(Message.haveAll))
        })
        yield* virtually(Effect.all([completes(leecher), onlyConnection(dialled), dialling.ended]))
        cutOff(dialled)
        expect(dropped(log, "10.0.2.1")).toEqual(["handshake for another torrent"])
        expect(dialling.ending()?.by).toBe("bt-effect")
        expect(dropped(log, "10.0.2.2")).toEqual(["handshake for another torrent"])
        // An inbound peer hears our handshake only once its own has been checked.
        expect(dialling.receivedBytes()).toBe(0)
      })))

  it.scoped("drops an inbound peer that sends more than 2 MiB with its handshake, before answering it", () =>
    hostile("data flood with the handshake", ({ completes, log, swarm }) =>
      Effect.gen(function* () {
        const leecher = yield* swarm.member(leecherHost)
        // A valid handshake and 3 MiB of keep-alives in one write: all of it would wait for the session.
        const dialling = yield* dialAttacker({
          network: swarm.network, host: "10.0.2.2", target: address(leecherHost),
          script: (c) => c.send(handshake(infoHashOf(swarm), "10.0.2.2"), new Uint8Array(3 * MiB))
        })
        yield* virtually(Effect.all([completes(leecher), dialling.ended]))
        expect(dialling.ending()?.by).toBe("bt-effect")
        expect(dropped(log, "10.0.2.2")).toEqual([`more than ${2 * MiB} bytes before the handshake was answered`])
        expect(dialling.receivedBytes()).toBe(0)
      })))

  it.scoped("times out a handshake sent one byte every 3 seconds after 10 s, both ways", () =>
    hostile("slow handshake", ({ completes, log, swarm }) =>
      Effect.gen(function* () {
        const drip = (host: string): Script => (c) =>
          Effect.gen(function* () {
            const bytes = handshake(infoHashOf(swarm), host)
            for (let i = 0; i < bytes.length; i++) {
              if (!(yield* c.send(bytes.subarray(i, i + 1)))) return
              yield* Effect.sleep("3 seconds")
            }
          })
        const dialled = yield* attackerAt(swarm, "10.0.2.1", (c) => Effect.zipRight(c.waitFor(isHandshake), drip("10.0.2.1")(c)))
        const leecher = yield* swarm.member(leecherHost, { peers: [address("10.0.2.1")] })
        const dialling = yield* dialAttacker({ network: swarm.network, host: "10.0.2.2", target: address(leecherHost), script: drip("10.0.2.2") })
        const [completedAt, first] = yield* virtually(Effect.all([completes(leecher), onlyConnection(dialled), dialling.ended]))
        for (const c of [first, dialling]) {
          expect(c.ending()?.by).toBe("bt-effect")
          const lasted = c.ending()!.atMs - c.openedAtMs
          expect(lasted).toBeGreaterThanOrEqual(10_000)
          expect(lasted).toBeLessThanOrEqual(10_100)
          // Bytes at 0, 3, 6 and 9 s.
          expect(c.sentBytes()).toBe(4)
        }
        expect(completedAt).toBeLessThan(10_000)
        expect(dropped(log, "10.0.2.1")).toEqual(["no handshake within 10 s"])
        expect(dropped(log, "10.0.2.2")).toEqual(["no handshake within 10 s"])
      })))

  it.scoped("refuses a flood of requests beyond its queue, and drops the flooder after its refusals run out", () =>
    hostile("request flood", ({ completes, log, swarm }) =>
      Effect.gen(function* () {
        const layout = layoutOf(swarm.torrent.metainfo)
        const floodRequests = limits.maxUploadQueue + limits.maxRefusedRequests + 10_000
        const requestsFor = (pieces: ReadonlyArray<number>) =>
          Array.from({ length: floodRequests }, (_, i) => {
            const piece = pieces[i % pieces.length]!
            const block = Math.floor(i / pieces.length) % Layout.blockCount(layout, piece)
            return encode(Message.request(piece, block * Layout.BLOCK_SIZE, Layout.blockSize(layout, piece, block)))
          })
        const everyPiece = Array.from({ length: pieceCount }, (_, i) => i)
        // Valid requests, more than the queue and the refusals together, 1,000 a write, both at the seeder:
        // one it unchokes (it is interested), one it keeps choked, which asks only for pieces it may not
        // fetch while choked.
        const flood = (host: string, interested: boolean): Script => (c) =>
          Effect.gen(function* () {
            yield* c.send(handshake(infoHashOf(swarm), host), encode(Message.haveNone))
            let requests: ReadonlyArray<Uint8Array>
            if (interested) {
              yield* c.send(encode(Message.interested))
              if ((yield* c.waitFor((f) => (f._tag === "Unchoke" ? f : undefined))) === undefined) return
              requests = requestsFor(everyPiece)
            } else {
              yield* c.waitFor((f) => (f._tag === "HaveAll" ? f : undefined))
              yield* Effect.sleep("100 millis")
              const allowed = new Set(c.frames.flatMap((f) => (f._tag === "AllowedFast" ? [f.index] : [])))
              requests = requestsFor(everyPiece.filter((p) => !allowed.has(p)))
            }
            for (let at = 0; at < requests.length; at += 1000) {
              if (!(yield* c.send(...requests.slice(at, at + 1000)))) return
              yield* Effect.sleep("10 millis")
            }
          })
        const unchoked = yield* dialAttacker({ network: swarm.network, host: "10.0.2.1", target: address(seeder), script: flood("10.0.2.1", true) })
        const choked = yield* dialAttacker({ network: swarm.network, host: "10.0.2.2", target: address(seeder), script: flood("10.0.2.2", false) })
        const leecher = yield* swarm.member(leecherHost)
        yield* virtually(Effect.all([completes(leecher), unchoked.ended, choked.ended]))
        const tally = (c: RawConnection) => {
          const count = (tag: string) => c.frames.filter((f) => f._tag === tag).length
          return { served: count("Piece"), rejected: count("Reject") }
        }
        console.log(`request flood: unchoked flooder ${JSON.stringify(tally(unchoked))}, choked flooder ${JSON.stringify(tally(choked))}`)
        for (const c of [unchoked, choked]) {
          expect(c.ending()?.by).toBe("bt-effect")
          // Refusals are rejected (BEP 6), but those still in the outbox at the end are not sent.
          expect(tally(c).rejected).toBeGreaterThan(0)
          expect(tally(c).rejected).toBeLessThanOrEqual(limits.maxRefusedRequests)
        }
        // The unchoked one was served from its queue meanwhile (as fast as the seeder's link allows).
        expect(tally(unchoked).served).toBeGreaterThan(0)
        expect(tally(unchoked).served).toBeLessThanOrEqual(floodRequests - limits.maxRefusedRequests)
        expect(tally(choked).served).toBe(0)
        for (const host of ["10.0.2.1", "10.0.2.2"]) {
          expect(dropped(log, host)).toEqual([`request flood: more than ${limits.maxRefusedRequests} requests refused since the last unchoke`])
        }
      })))

  it.scoped("drops a peer that sends random bytes after its handshake, or instead of it", () =>
    hostile("random bytes", ({ completes, log, swarm }) =>
      Effect.gen(function* () {
        const hosts = ["10.0.2.1", "10.0.2.2", "10.0.2.3"]
        const attackers = yield* Effect.forEach(hosts, (host, i) => attackerAt(swarm, host, greet(swarm, host, randomBytes(64 * 1024, 101 + i))))
        const leecher = yield* swarm.member(leecherHost, { peers: hosts.map(address) })
        const noHandshake = yield* dialAttacker({
          network: swarm.network, host: "10.0.2.4", target: address(leecherHost), script: (c) => c.send(randomBytes(64 * 1024, 104))
        })
        yield* virtually(Effect.all([completes(leecher), Effect.forEach(attackers, onlyConnection), noHandshake.ended]))
        attackers.forEach(cutOff)
        expect(noHandshake.ending()?.by).toBe("bt-effect")
        for (const host of [...hosts, "10.0.2.4"]) {
          const why = dropped(log, host)
          console.log(`random bytes from ${host}: ${why.join("; ")}`)
          expect(why).toHaveLength(1)
          expect(why[0]).toMatch(/^peer protocol violation: /)
        }
      })))

  it.scoped("drops a peer that floods keep-alives, without starving the honest seeder", () =>
    hostile("keep-alive flood", ({ completes, log, swarm }) =>
      Effect.gen(function* () {
        const host = "10.0.2.1"
        const zeros = new Uint8Array(64 * 1024)
        const attacker = yield* attackerAt(swarm, host, (c) =>
          Effect.gen(function* () {
            // A seeder that never unchokes, so the leecher stays interested, and 16,384 keep-alives a write.
            yield* greet(swarm, host, encode(Message.haveAll))(c)
            for (let i = 0; i < 2000 && (yield* c.send(zeros)); i++) yield* Effect.yieldNow()
          }))
        const leecher = yield* swarm.member(leecherHost, { peers: [address(host)] })
        yield* virtually(Effect.all([completes(leecher), onlyConnection(attacker)]))
        const connection = cutOff(attacker)
        console.log(`keep-alive flood: the network took ${(connection.sentBytes() - 73) / 4} keep-alives before the attacker saw the end`)
        expect(dropped(log, host)).toEqual(["keep-alive flood: more than 100 within a second"])
      })))

  it.scoped("gives back the blocks of a peer that disconnects in the middle of a piece", () =>
    hostile("disconnect mid-piece", ({ completes, log, swarm }) =>
      Effect.gen(function* () {
        const payload = swarm.torrent.payload
        const layout = layoutOf(swarm.torrent.metainfo)
        // Serves three requested blocks, then half of the fourth, then closes (or the network resets it).
        const vanish = (host: string, how: "close" | "reset"): Script => (c) =>
          Effect.gen(function* () {
            yield* greet(swarm, host, encode(Message.haveAll), encode(Message.unchoke))(c)
            let seen = 0
            let served = 0
            while (yield* c.more(seen)) {
              const frame = c.frames[seen++]!
              if (frame._tag !== "Request") continue
              const at = Layout.pieceOffset(layout, frame.index) + frame.begin
              const block = payload.subarray(at, at + frame.length)
              if (served++ < 3) {
                yield* c.send(encode(Message.piece(frame.index, frame.begin, block)))
                continue
              }
              yield* c.send(encode(Message.piece(frame.index, frame.begin, block)).subarray(0, 13 + 8192))
              yield* how === "close" ? c.close : swarm.network.disconnect(host)
              return
            }
          })
        const closer = yield* attackerAt(swarm, "10.0.2.1", vanish("10.0.2.1", "close"))
        const resetter = yield* attackerAt(swarm, "10.0.2.2", vanish("10.0.2.2", "reset"))
        const leecher = yield* swarm.member(leecherHost, { peers: [address("10.0.2.1"), address("10.0.2.2")] })
        // They vanish before the seeder serves: with nothing else to download from, the leecher dials them
        // again at once (a download never waits on a timer for a peer known to have its blocks:
        // stall.test.ts), and each time they vanish again.
        yield* virtually(Effect.all([completes(leecher), firstConnection(closer), firstConnection(resetter)]))
        expect(closer.connections[0]!.ending()?.by).toBe("attacker")
        expect(resetter.connections[0]!.ending()?.by).toBe("reset")
        expect(new Set(dropped(log, "10.0.2.1"))).toEqual(new Set(["connection closed by the peer"]))
        expect(new Set(dropped(log, "10.0.2.2"))).toEqual(new Set(["10.0.2.2:6881: connection reset"]))
        expect((yield* leecher.stats).hashFailures).toBe(0)
      })))

  it.scoped("bans a peer that always sends corrupt data among honest ones", () =>
    hostile("corrupt data", ({ completes, swarm }) =>
      Effect.gen(function* () {
        const payload = swarm.torrent.payload
        const layout = layoutOf(swarm.torrent.metainfo)
        yield* swarm.member("10.0.0.2", { pieces: all, link: { bandwidth: MiB } })
        const host = "10.0.2.1"
        const liar = yield* attackerAt(swarm, host, (c) =>
          Effect.gen(function* () {
            yield* greet(swarm, host, encode(Message.haveAll), encode(Message.unchoke))(c)
            let seen = 0
            while (yield* c.more(seen)) {
              const frame = c.frames[seen++]!
              if (frame._tag !== "Request") continue
              const at = Layout.pieceOffset(layout, frame.index) + frame.begin
              const block = Uint8Array.from(payload.subarray(at, at + frame.length))
              for (let i = 0; i < block.length; i += 1000) block[i] = block[i]! ^ 0xff
              if (!(yield* c.send(encode(Message.piece(frame.index, frame.begin, block))))) return
            }
          }))
        const leecher = yield* swarm.member(leecherHost, { peers: [address(host)] })
        const events = yield* PubSub.subscribe(leecher.events)
        yield* virtually(Effect.all([completes(leecher), onlyConnection(liar)]))
        cutOff(liar)
        const bans = Chunk.toReadonlyArray(yield* Queue.takeAll(events)).flatMap((e) => (e._tag === "PeerBanned" ? [e] : []))
        console.log(`corrupt data: ${JSON.stringify(bans)}, ${(yield* leecher.stats).hashFailures} piece(s) failed their hash check`)
        expect(bans.map((b) => b.host)).toEqual([host])
        const stats = yield* leecher.stats
        expect(stats.banned).toEqual([host])
        expect(stats.hashFailures).toBeGreaterThanOrEqual(1)
      })))
})

/**
 * One connection's hash messages (src/services/peer/HashExchange.ts), with what it sends parsed back as the
 * peer would parse it: a request is answered with hashes that prove against the root, a bad range is
 * rejected, a peer that is not v2 is ended, a flood is ended, and a torrent without its piece layers gets
 * them from a seeder's exchange, request by request, until complete.
 */
import { describe, expect, it } from "@effect/vitest"
import { FileHashes } from "../../../src/domain/FileHashes.js"
import * as InfoHash from "../../../src/domain/InfoHash.js"
import * as MerkleProof from "../../../src/domain/MerkleProof.js"
import type { PeerErrorReason } from "../../../src/domain/Errors.js"
import * as HashMessages from "../../../src/protocol/HashMessages.js"
import { HashExchange, hashLimits } from "../../../src/services/peer/HashExchange.js"
import { LEAF, v2Case, v2Metainfo } from "../../support/v2Files.js"

/** An exchange whose sent messages are parsed back, and whose end is recorded. */
const harness = (hashes: FileHashes | undefined, v2 = true) => {
  const sent: Array<HashMessages.HashMessage> = []
  const ended: Array<{ reason: PeerErrorReason; detail: string }> = []
  const exchange = new HashExchange(hashes, v2, {
    send: (bytes) => {
      const id = bytes[4] as 21 | 22 | 23
      const parsed = HashMessages.parseHashMessage(id, bytes.subarray(5))
      if (!("_tag" in parsed) || parsed._tag === "WireError") throw new Error(`sent an unparsable hash message: ${String(parsed)}`)
      sent.push(parsed as HashMessages.HashMessage)
    },
    end: (reason, detail) => void ended.push({ reason, detail })
  })
  return { exchange, sent, ended }
}

// Two files: 100 pieces of 2 leaves, and 1300 pieces of 2 leaves (three chunks of 512).
const files = v2Case(2 * LEAF, [200 * LEAF - 7, 2600 * LEAF], 3)
const big = files.trees[1]!.tree
const height = 1

describe("HashExchange", () => {
  it("answers a v2 peer's request with hashes that prove against the root", () => {
    const { exchange, sent, ended } = harness(FileHashes.fromMetainfo(v2Metainfo(files, true)))
    const range = { piecesRoot: big.root, baseLayer: height, index: 512, length: 512, proofLayers: big.depth - height - 1 }
    exchange.onMessage(HashMessages.hashRequest(range), 0)
    expect(ended).toEqual([])
    expect(sent).toHaveLength(1)
    const answer = sent[0]!
    if (answer._tag !== "Hashes") throw new Error(`answered with ${answer._tag}`)
    expect(InfoHash.toHex(answer.piecesRoot)).toBe(InfoHash.toHex(big.root))
    const nodes = answer.hashes.subarray(0, 512 * 32)
    const uncles = answer.hashes.subarray(512 * 32)
    expect(uncles.length / 32).toBe(MerkleProof.uncleCount(512, range.proofLayers))
    expect(MerkleProof.verifyAnswer(big.root, big.depth, height, 512, nodes, uncles)).toBe(true)
    expect(InfoHash.toHex(nodes)).toBe(InfoHash.toHex(MerkleProof.answer(big, range)!.hashes))
  })

  it("rejects what it cannot answer: below the piece layer, a bad range, an unknown file, a v1 torrent", () => {
    const { exchange, sent, ended } = harness(FileHashes.fromMetainfo(v2Metainfo(files, true)))
    const good = { piecesRoot: big.root, baseLayer: height, index: 0, length: 4, proofLayers: 2 }
    const bad = [
      { ...good, baseLayer: 0 },
      { ...good, length: 3 },
      { ...good, index: 2 },
      { ...good, proofLayers: big.depth },
      { ...good, index: 4096 },
      { ...good, piecesRoot: new Uint8Array(32).fill(1) }
    ]
    for (const range of bad) exchange.onMessage(HashMessages.hashRequest(range), 0)
    expect(ended).toEqual([])
    expect(sent.map((m) => m._tag)).toEqual(bad.map(() => "HashReject"))
    sent.forEach((m, i) => expect({ ...m, piecesRoot: InfoHash.toHex(m.piecesRoot) }).toEqual({ ...HashMessages.hashReject(bad[i]!), piecesRoot: InfoHash.toHex(bad[i]!.piecesRoot) }))
    const v1 = harness(undefined)
    v1.exchange.onMessage(HashMessages.hashRequest(good), 0)
    expect(v1.sent.map((m) => m._tag)).toEqual(["HashReject"])
  })

  it("ends a peer that is not v2 for any hash message", () => {
    const range = { piecesRoot: big.root, baseLayer: height, index: 0, length: 1, proofLayers: 0 }
    for (const m of [HashMessages.hashRequest(range), HashMessages.hashReject(range), HashMessages.hashes(range, new Uint8Array(32))]) {
      const { exchange, sent, ended } = harness(FileHashes.fromMetainfo(v2Metainfo(files, true)), false)
      exchange.onMessage(m, 0)
      expect(ended.map((e) => e.reason)).toEqual(["Protocol"])
      expect(sent).toEqual([])
    }
  })

  it("queues few answers, answers the rest after the write, and ends a flood", () => {
    const { exchange, sent, ended } = harness(FileHashes.fromMetainfo(v2Metainfo(files, true)))
    // A layer above the piece layer: asking for it again is not a repeat of piece hashes (HashesFirst).
    const range = { piecesRoot: big.root, baseLayer: height + 1, index: 0, length: 256, proofLayers: big.depth - height - 2 }
    const tags = () => sent.splice(0).map((m) => m._tag)
    const ask = (n: number, r: HashMessages.HashRange = range, now = 0) => {
      for (let i = 0; i < n; i++) exchange.onMessage(HashMessages.hashRequest(r), now)
    }
    // Four answers wait for the write; eight requests wait for room, the rest get no reply.
    ask(hashLimits.maxQueuedAnswers + hashLimits.maxWaiting + 3)
    expect(tags()).toEqual(Array<string>(hashLimits.maxQueuedAnswers).fill("Hashes"))
    exchange.flushed()
    expect(tags()).toEqual(Array<string>(hashLimits.maxQueuedAnswers).fill("Hashes"))
    exchange.flushed()
    exchange.flushed()
    expect(tags()).toEqual(Array<string>(hashLimits.maxWaiting - hashLimits.maxQueuedAnswers).fill("Hashes"))
    // The budget of a second: past it, requests wait for the next tick, which answers them.
    for (let i = 0; i < hashLimits.answersPerTick; i++) {
      ask(1)
      exchange.flushed()
    }
    expect(tags()).toHaveLength(hashLimits.answersPerTick - 2 * hashLimits.maxQueuedAnswers - (hashLimits.maxWaiting - hashLimits.maxQueuedAnswers))
    ask(hashLimits.maxWaiting)
    expect(tags()).toEqual([])
    exchange.tick(1000)
    expect(tags()).toEqual(Array<string>(hashLimits.maxQueuedAnswers).fill("Hashes"))
    // What we cannot answer is rejected, up to a budget; then no reply (libtorrent asks again at once after
    // a reject: no loop); a peer that keeps asking past the flood limit is ended.
    exchange.flushed()
    exchange.tick(2000)
    tags()
    ask(hashLimits.rejectsPerTick + 10, { ...range, length: 3 }, 2000)
    expect(tags()).toEqual(Array<string>(hashLimits.rejectsPerTick).fill("HashReject"))
    expect(ended).toEqual([])
    ask(hashLimits.maxIgnoredPerTick - 10, { ...range, length: 3 }, 2000)
    expect(ended).toEqual([])
    ask(1, { ...range, length: 3 }, 2000)
    expect(ended.map((e) => e.reason)).toEqual(["Protocol"])
    expect(ended[0]!.detail).toContain("flood")
    expect(tags()).toEqual([])
  })

  it("asks a v2 seeder for the missing piece layers, one request at a time, until complete", () => {
    const leecherHashes = FileHashes.fromMetainfo(v2Metainfo(files, false))!
    const leecher = harness(leecherHashes)
    const seeder = harness(FileHashes.fromMetainfo(v2Metainfo(files, true)))
    leecher.exchange.request(0)
    let rounds = 0
    while (leecher.sent.length > 0 && rounds++ < 100) {
      // One request in flight at a time.
      expect(leecher.sent).toHaveLength(1)
      for (const m of leecher.sent.splice(0)) seeder.exchange.onMessage(m, rounds)
      seeder.exchange.flushed()
      for (const m of seeder.sent.splice(0)) leecher.exchange.onMessage(m, rounds)
    }
    expect(leecher.ended).toEqual([])
    expect(seeder.ended).toEqual([])
    expect(rounds).toBe(1 + 3) // a chunk for the small file, three for the large one
    expect(leecherHashes.complete).toBe(true)
    leecherHashes.metainfo.files.forEach((f, i) =>
      expect(InfoHash.toHex(f.pieceLayer!)).toBe(InfoHash.toHex(files.trees[i]!.tree.pieceLayer(files.pieceLength)!))
    )
  })

  it("ends a peer whose hashes do not prove; after a reject, asks again only later", () => {
    const leecher = harness(FileHashes.fromMetainfo(v2Metainfo(files, false))!)
    leecher.exchange.request(0)
    const request = leecher.sent.pop()!
    expect(request._tag).toBe("HashRequest")
    leecher.exchange.onMessage(HashMessages.hashReject(request), 10)
    leecher.exchange.tick(1000)
    expect(leecher.sent).toEqual([])
    leecher.exchange.tick(10 + hashLimits.rejectPauseMs)
    const again = leecher.sent.pop()!
    expect([again._tag, again.index, InfoHash.toHex(again.piecesRoot)]).toEqual(["HashRequest", request.index, InfoHash.toHex(request.piecesRoot)])
    const tree = files.trees.find((t) => InfoHash.toHex(t.tree.root) === InfoHash.toHex(again.piecesRoot))!.tree
    const a = MerkleProof.answer(tree, again)!
    const body = new Uint8Array([...a.hashes, ...a.uncles])
    body[40] = body[40]! ^ 1
    leecher.exchange.onMessage(HashMessages.hashes(again, body), 20_000)
    expect(leecher.ended.map((e) => e.reason)).toEqual(["Corrupt"])
  })
})

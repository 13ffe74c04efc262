/**
 * The hash messages through a whole PeerState (src/services/peer/PeerState.ts hands them to HashExchange):
 * a v2 peer's hash request is answered in the outbox with hashes that prove against the root; the same
 * request from a peer that is not v2 ends the session (Protocol); a torrent without its piece layers asks
 * a v2 peer for them from its start and is complete once the answers, fed back as frames, are in.
 */
import { describe, expect, it } from "@effect/vitest"
import { FileHashes } from "../../../src/domain/FileHashes.js"
import * as InfoHash from "../../../src/domain/InfoHash.js"
import * as Layout from "../../../src/domain/Layout.js"
import * as MerkleProof from "../../../src/domain/MerkleProof.js"
import * as HashMessages from "../../../src/protocol/HashMessages.js"
import { PeerState } from "../../../src/services/peer/PeerState.js"
import { hashContext, hashPeer } from "../../support/hashContext.js"
import { LEAF, v2Case, v2Metainfo } from "../../support/v2Files.js"

const files = v2Case(2 * LEAF, [1300 * 2 * LEAF - 11, 3 * LEAF], 5)
const big = files.trees[0]!.tree
const layout = Layout.make(files.pieceLength, files.trees.map(({ length }) => ({ length })))

const context = (hashes: FileHashes | undefined) => hashContext(layout, hashes)
const features = hashPeer

/** The hash messages among what the state would write now. */
const sentHashes = (state: PeerState): Array<HashMessages.HashMessage> =>
  state.takeOutbox().flatMap((bytes) => {
    const id = bytes[4]
    if (id !== 21 && id !== 22 && id !== 23) return []
    const m = HashMessages.parseHashMessage(id, bytes.subarray(5))
    return m._tag === "WireError" ? [] : [m]
  })

describe("PeerState: BEP 52 hash messages", () => {
  it("answers a v2 peer's hash request in its outbox", () => {
    const state = new PeerState("10.0.0.1:6881", "10.0.0.1", context(FileHashes.fromMetainfo(v2Metainfo(files, true))), features(true), () => {})
    state.start(0)
    expect(sentHashes(state)).toEqual([])
    const range = { piecesRoot: big.root, baseLayer: 1, index: 1024, length: 512, proofLayers: big.depth - 2 }
    state.onFrame(HashMessages.hashRequest(range), 10)
    const [answer, ...rest] = sentHashes(state)
    expect(rest).toEqual([])
    if (answer?._tag !== "Hashes") throw new Error(`answered with ${answer?._tag}`)
    expect(MerkleProof.verifyAnswer(big.root, big.depth, 1, 1024, answer.hashes.subarray(0, 512 * 32), answer.hashes.subarray(512 * 32))).toBe(true)
    expect(state.stopped).toBeUndefined()
  })

  it("ends a peer that is not v2 for a hash request", () => {
    const state = new PeerState("10.0.0.1:6881", "10.0.0.1", context(FileHashes.fromMetainfo(v2Metainfo(files, true))), features(false), () => {})
    state.start(0)
    state.onFrame(HashMessages.hashRequest({ piecesRoot: big.root, baseLayer: 1, index: 0, length: 1, proofLayers: 0 }), 10)
    expect(state.stopped?.reason).toBe("Protocol")
    expect(sentHashes(state)).toEqual([])
  })

  it("asks a v2 peer for the missing piece layers from its start, until complete", () => {
    const hashes = FileHashes.fromMetainfo(v2Metainfo(files, false))!
    const state = new PeerState("10.0.0.1:6881", "10.0.0.1", context(hashes), features(true), () => {})
    state.start(0)
    const asked: Array<string> = []
    for (let now = 1, request = sentHashes(state); request.length > 0; now++, request = sentHashes(state)) {
      expect(request).toHaveLength(1)
      const r = request[0]!
      if (r._tag !== "HashRequest") throw new Error(`sent ${r._tag}`)
      asked.push(`${InfoHash.toHex(r.piecesRoot) === InfoHash.toHex(big.root) ? "big" : "small"} ${r.index}+${r.length}`)
      const tree = files.trees.find((t) => InfoHash.toHex(t.tree.root) === InfoHash.toHex(r.piecesRoot))!.tree
      const a = MerkleProof.answer(tree, r)!
      state.onFrame(HashMessages.hashes(r, new Uint8Array([...a.hashes, ...a.uncles])), now)
    }
    expect(state.stopped).toBeUndefined()
    expect(asked).toEqual(["big 0+512", "big 512+512", "big 1024+512", "small 0+2"])
    expect(hashes.complete).toBe(true)
    expect(InfoHash.toHex(hashes.metainfo.files[0]!.pieceLayer!)).toBe(InfoHash.toHex(big.pieceLayer(files.pieceLength)!))
  })
})

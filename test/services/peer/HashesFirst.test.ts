/**
 * Piece hashes before blocks (src/services/peer/HashesFirst.ts) through a whole PeerState: once a v2 peer
 * asks us for piece hashes, its request for a block of a piece whose hash it has not had from us waits
 * until that hash is answered (or for 3 s at most, after which that piece's blocks no longer wait); a
 * request for piece hashes it has all had gets no reply; a peer that never asks for hashes is served at
 * once; a held request can be cancelled, and is rejected when we choke the peer.
 */
import { describe, expect, it } from "@effect/vitest"
import { allowedFastSet } from "../../../src/domain/AllowedFast.js"
import { FileHashes } from "../../../src/domain/FileHashes.js"
import * as InfoHash from "../../../src/domain/InfoHash.js"
import * as Layout from "../../../src/domain/Layout.js"
import * as HashMessages from "../../../src/protocol/HashMessages.js"
import * as Message from "../../../src/protocol/Message.js"
import { maxHoldMs } from "../../../src/services/peer/HashesFirst.js"
import { PeerState } from "../../../src/services/peer/PeerState.js"
import { hashContext, hashPeer } from "../../support/hashContext.js"
import { LEAF, v2Case, v2Metainfo } from "../../support/v2Files.js"

// One file of 1300 pieces of two blocks (three chunks of piece hashes: 0, 512, 1024) and one of a piece.
const files = v2Case(2 * LEAF, [1300 * 2 * LEAF, LEAF], 7)
const big = files.trees[0]!.tree
const layout = Layout.make(files.pieceLength, files.trees.map(({ length }) => ({ length })))

/** A seed's session with a v2 peer, unchoked, its opening messages taken. */
const session = () => {
  const state = new PeerState("10.0.0.1:6881", "10.0.0.1", hashContext(layout, FileHashes.fromMetainfo(v2Metainfo(files, true)), true), hashPeer(true), () => {})
  state.start(0)
  state.link().choke(false)
  state.takeOutbox()
  return state
}

/** libtorrent's request for the chunk of piece hashes from `index` (512 of them, proofs to the root). */
const chunk = (index: number) =>
  HashMessages.hashRequest({ piecesRoot: big.root, baseLayer: 1, index, length: 512, proofLayers: big.depth - 2 })

/** The tags of the hash messages the state would write now. */
const hashReplies = (state: PeerState): Array<string> =>
  state.takeOutbox().flatMap((bytes) => {
    const id = bytes[4]
    if (id !== 21 && id !== 22 && id !== 23) return []
    return [HashMessages.parseHashMessage(id, bytes.subarray(5))._tag]
  })

const block = (piece: number) => Message.request(piece, 0, LEAF)
const pieces = (taken: ReadonlyArray<{ readonly piece: number }>) => taken.map((r) => r.piece)

describe("HashesFirst: piece hashes before blocks", () => {
  it("holds a block whose piece's hash the peer has not had from us, until it is answered", () => {
    const state = session()
    state.onFrame(chunk(0), 10)
    expect(hashReplies(state)).toEqual(["Hashes"])
    state.onFrame(block(3), 11)
    state.onFrame(block(600), 11)
    state.onFrame(block(1299), 11)
    expect(pieces(state.takeUploads(12))).toEqual([3])
    state.onFrame(chunk(512), 20)
    expect(hashReplies(state)).toEqual(["Hashes"])
    expect(pieces(state.takeUploads(21))).toEqual([600])
    state.onFrame(chunk(1024), 30)
    expect(pieces(state.takeUploads(31))).toEqual([1299])
  })

  it("gives no reply to a request for piece hashes the peer has all had from us", () => {
    const state = session()
    state.onFrame(chunk(0), 10)
    expect(hashReplies(state)).toEqual(["Hashes"])
    state.onFrame(chunk(0), 3010)
    expect(hashReplies(state)).toEqual([])
    state.onFrame(chunk(512), 3020)
    expect(hashReplies(state)).toEqual(["Hashes"])
    // Past the file's pieces: padding (answered, as before, however often), then past the layer (rejected).
    state.onFrame(chunk(1536), 3030)
    state.onFrame(chunk(1536), 3031)
    expect(hashReplies(state)).toEqual(["Hashes", "Hashes"])
    state.onFrame(chunk(2048), 3040)
    expect(hashReplies(state)).toEqual(["HashReject"])
    expect(state.stopped).toBeUndefined()
  })

  it("serves a held block after 3 s, and that piece's blocks no longer wait", () => {
    const state = session()
    state.onFrame(chunk(0), 0)
    state.onFrame(block(700), 0)
    expect(pieces(state.takeUploads(1))).toEqual([])
    expect(pieces(state.takeUploads(maxHoldMs - 1))).toEqual([])
    expect(pieces(state.takeUploads(maxHoldMs + 1))).toEqual([700])
    state.onFrame(Message.request(700, LEAF, LEAF), maxHoldMs + 2)
    expect(pieces(state.takeUploads(maxHoldMs + 3))).toEqual([700])
    // Other pieces of the chunk still wait.
    state.onFrame(block(701), maxHoldMs + 4)
    expect(pieces(state.takeUploads(maxHoldMs + 5))).toEqual([])
  })

  it("holds nothing for a peer that never asks us for piece hashes (it has the layers)", () => {
    const state = session()
    state.onFrame(block(1000), 10)
    expect(pieces(state.takeUploads(11))).toEqual([1000])
  })

  it("holds nothing for a file of one piece (its hash is its root, in the info)", () => {
    const state = session()
    state.onFrame(chunk(0), 10)
    state.onFrame(block(1300), 11)
    expect(pieces(state.takeUploads(12))).toEqual([1300])
  })

  it("drops a held request the peer cancels; when we choke, rejects those held but of allowed fast pieces", () => {
    // A piece of the second chunk the peer may fetch while choked (BEP 6), as the session offered it.
    const fast = allowedFastSet("10.0.0.1", InfoHash.infoHash(new Uint8Array(20).fill(9)), layout.pieceCount)
      .find((piece) => piece >= 512 && piece < 1024 && piece !== 600 && piece !== 601)!
    const state = session()
    state.onFrame(chunk(0), 10)
    hashReplies(state)
    state.onFrame(block(600), 11)
    state.onFrame(block(601), 11)
    state.onFrame(block(fast), 11)
    expect(pieces(state.takeUploads(12))).toEqual([])
    state.onFrame(Message.cancel(600, 0, LEAF), 13)
    state.link().choke(true)
    const rejects = state.takeOutbox().filter((bytes) => bytes[4] === 16).map((bytes) => Buffer.from(bytes).readUInt32BE(5))
    expect(rejects).toEqual([601])
    // The allowed fast one waits for its hash again, then goes, choked as the peer is.
    expect(pieces(state.takeUploads(14))).toEqual([])
    state.onFrame(chunk(512), 20)
    expect(pieces(state.takeUploads(21))).toEqual([fast])
  })
})

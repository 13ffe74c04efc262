/**
 * A btmh magnet's metadata and piece layers from scripted v2 peers on the in-memory network
 * (MetadataFetch.fetchFrom with PieceLayerFetch): the info dictionary checked with SHA-256 against the v2
 * hash, then the piece layers asked for as libtorrent asks (512 piece hashes a request at the piece layer,
 * proofs to the root, the last chunk rounded up to a power of two) and returned in the Metainfo; a peer
 * whose hashes do not prove is given up as Corrupt, one that rejects as Unsupported, one that never answers
 * after 30 s, and metadata that is not the v2 hash's is refused as Corrupt. The .torrent made of the info
 * and the fetched layers (torrentFromInfo) decodes whole.
 */
import { describe, expect, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { Bencode } from "../../src/domain/Bencode.js"
import { FileHashes } from "../../src/domain/FileHashes.js"
import * as InfoHash from "../../src/domain/InfoHash.js"
import type { Metainfo } from "../../src/domain/Metainfo.js"
import { PeerAddress } from "../../src/domain/PeerAddress.js"
import * as PeerId from "../../src/domain/PeerId.js"
import { encode } from "../../src/protocol/Bencode.js"
import { decodeTorrent, torrentFromInfo } from "../../src/protocol/TorrentFile.js"
import * as MetadataFetch from "../../src/services/torrent/MetadataFetch.js"
import * as MemoryNetwork from "../../src/services/wire/MemoryNetwork.js"
import * as PeerNetwork from "../../src/services/wire/PeerNetwork.js"
import { withClock } from "../support/clock.js"
import { type HashBehaviour, metadataPeer } from "../support/metadataPeer.js"
import { LEAF, v2Case } from "../support/v2Files.js"

const port = 6881
const pieceLength = 2 * LEAF
// 1100 pieces (chunks of 512, 512 and 76 rounded up to 128), 3 pieces, and one file shorter than a piece.
const files = v2Case(pieceLength, [2200 * LEAF - 5, 6 * LEAF, 1000], 11)

/** A v2-only info dictionary of the files (the file tree and its roots, no pieces). */
const info = encode(new Map<string, Bencode>([
  ["file tree", new Map(files.trees.map(({ length, tree }, i) => [
    `f${i}`,
    new Map([["", new Map<string, Bencode>([["length", length], ["pieces root", tree.root]])]])
  ] as const))],
  ["meta version", 2],
  ["name", new TextEncoder().encode("v2 magnet")],
  ["piece length", pieceLength]
]))
const infoHashV2 = InfoHash.InfoHashV2.make(createHash("sha256").update(info).digest())
const truncated = InfoHash.infoHash(infoHashV2.subarray(0, 20))

/** The torrent as its maker holds it: every piece layer known. */
const withLayers = (m: Metainfo): Metainfo => ({
  ...m,
  files: m.files.map((f) => {
    const layer = files.trees.find((t) => f.piecesRoot !== undefined && InfoHash.equals(t.tree.root, f.piecesRoot))?.tree.pieceLayer(pieceLength)
    return layer === undefined ? f : { ...f, pieceLayer: layer }
  })
})
const bare = Either.getOrThrow(decodeTorrent(torrentFromInfo(info, [])))
const full = FileHashes.fromMetainfo(withLayers(bare))!

const fetchFrom = (network: MemoryNetwork.MemoryNetwork, host: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const net = yield* PeerNetwork.PeerNetwork
      const connection = yield* net.connect(new PeerAddress({ host, port }))
      return yield* MetadataFetch.fetchFrom(connection, { infoHash: truncated, infoHashV2, peerId: PeerId.make(Buffer.from("fetcher#####")), port: 0 })
    })
  ).pipe(
    Effect.provide(MemoryNetwork.layerHost(network, { host: "10.0.5.5" })),
    Effect.either,
    (e) => withClock(e, { step: "1 second", maxVirtual: "60 seconds" })
  )

const scripted = (network: MemoryNetwork.MemoryNetwork, host: string, served: Uint8Array, hashes: HashBehaviour["answer"]) =>
  metadataPeer({ network, host, port, infoHash: truncated, behaviour: { _tag: "Serve", info: served }, hashes: { source: full, answer: hashes } })

describe("v2 magnet: metadata by the v2 hash, then the piece layers", () => {
  it.scoped("fetches the info and the piece layers from a v2 peer, asked as libtorrent asks", () =>
    Effect.gen(function* () {
      const network = yield* MemoryNetwork.make()
      const peer = yield* scripted(network, "10.0.9.1", info, "honest")
      const fetched = Either.getOrThrow(yield* fetchFrom(network, "10.0.9.1"))
      expect(Buffer.compare(fetched.info, info)).toBe(0)
      expect(bare.files.every((f) => f.pieceLayer === undefined)).toBe(true)
      // Each file's layer as its maker has it (compared by digest: a layer is up to 35 KiB of hex).
      const digest = (layer: Uint8Array | undefined) => (layer === undefined ? null : createHash("sha256").update(layer).digest("hex"))
      const layers = fetched.metainfo!.files.filter((f) => !f.pad).map((f) => digest(f.pieceLayer))
      expect(layers).toEqual(files.trees.map(({ tree }) => digest(tree.pieceLayer(pieceLength))))
      expect(layers.map((l) => l !== null)).toEqual([true, true, false])
      // The .torrent made of it is whole: its piece layers decode, checked against the roots.
      const saved = Either.getOrThrow(decodeTorrent(torrentFromInfo(info, [], fetched.metainfo!.files)))
      expect(saved.files.filter((f) => !f.pad).map((f) => digest(f.pieceLayer))).toEqual(layers)
      expect(saved.pieceLayerHashes).toBe(1100 + 3)
      // Depths 12 and 3 over leaves, the piece layer at 1: proofs of 10 and 1 layers reach the roots.
      expect([...peer.hashRequests].sort()).toEqual(["1/0/4/1", "1/0/512/10", "1/1024/128/10", "1/512/512/10"])
    }))

  it.scoped("gives up a peer whose hashes do not prove, one that rejects, one that does not answer", () =>
    Effect.gen(function* () {
      const network = yield* MemoryNetwork.make()
      yield* scripted(network, "10.0.9.2", info, "tamper")
      yield* scripted(network, "10.0.9.3", info, "reject")
      // A peer that serves the metadata but knows nothing of hash requests.
      yield* metadataPeer({ network, host: "10.0.9.4", port, infoHash: truncated, behaviour: { _tag: "Serve", info } })
      const reasons = []
      for (const host of ["10.0.9.2", "10.0.9.3", "10.0.9.4"]) {
        const result = yield* fetchFrom(network, host)
        reasons.push(Either.isLeft(result) ? result.left.reason : "fetched")
      }
      expect(reasons).toEqual(["Corrupt", "Unsupported", "Timeout"])
    }))

  it.scoped("refuses metadata that is not the v2 hash's, checked with SHA-256", () =>
    Effect.gen(function* () {
      const network = yield* MemoryNetwork.make()
      const forged = Uint8Array.from(info)
      forged[forged.length - 2] = forged[forged.length - 2]! ^ 1
      yield* scripted(network, "10.0.9.5", forged, "honest")
      const result = yield* fetchFrom(network, "10.0.9.5")
      expect(Either.isLeft(result) ? result.left.reason : "fetched").toBe("Corrupt")
    }))
})

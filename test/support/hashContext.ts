/**
 * A torrent's side of one peer session (SwarmContext) for tests of the BEP 52 hash messages through a
 * whole PeerState: the pieces it has, its FileHashes, and nothing else doing anything (no block is read).
 */
import * as Effect from "effect/Effect"
import { Bitfield } from "../../src/domain/Bitfield.js"
import type { FileHashes } from "../../src/domain/FileHashes.js"
import * as InfoHash from "../../src/domain/InfoHash.js"
import type * as Layout from "../../src/domain/Layout.js"
import * as PeerId from "../../src/domain/PeerId.js"
import type { PeerFeatures, SwarmContext } from "../../src/services/peer/PeerContext.js"
import * as SequentialOrder from "../../src/services/pieces/SequentialOrder.js"

export const hashContext = (layout: Layout.Layout, hashes: FileHashes | undefined, seed = false): SwarmContext => ({
  infoHash: InfoHash.infoHash(new Uint8Array(20).fill(9)),
  peerId: PeerId.make(Buffer.from("ourselves###")),
  layout,
  picker: Effect.runSync(SequentialOrder.make(layout, seed ? Bitfield.full(layout.pieceCount) : Bitfield.empty(layout.pieceCount))),
  withPieces: () => Effect.die("no block is read in these tests"),
  attach: () => undefined,
  detach: () => {},
  addBlock: () => {},
  backlogged: false,
  requestAllowance: 0,
  countDownloaded: () => {},
  countUploaded: () => {},
  interested: () => {},
  uninteresting: () => {},
  extensions: { metadata: undefined, pex: false, listenPort: () => 0, pexPeers: () => [], learnPeers: () => {} },
  ...(hashes !== undefined ? { hashes } : {})
})

/** A peer's features: BEP 6 on, v2 or not. */
export const hashPeer = (v2: boolean): PeerFeatures => ({
  peerId: PeerId.make(Buffer.from("thepeer#####")),
  fast: true,
  extensions: undefined,
  dht: false,
  dialled: undefined,
  v2
})

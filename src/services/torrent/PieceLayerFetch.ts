/**
 * A magnet's second step for a v2 torrent: the piece layers its info dictionary lacks (BEP 52 keeps them
 * outside the info dictionary, so ut_metadata does not carry them), asked of the peer that gave the
 * dictionary, on the same connection, with hash requests until every file longer than a piece has its
 * layer. Each answer is proved against the file's pieces root (FileHashes.accept), so a peer cannot give a
 * wrong layer; one that tries, or that rejects a request, is given up (MetadataFetch then tries others).
 *
 * Requests are shaped as libtorrent's (FileHashes.nextRequest: the piece layer, 512 hashes at a time, proofs
 * to the root); a few are in flight at once. The peer's own hash requests meanwhile are answered from what
 * we hold or rejected.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { PeerError, PeerErrorReason } from "../../domain/Errors.js"
import { FileHashes, type RootedRange } from "../../domain/FileHashes.js"
import { HASH_SIZE } from "../../domain/Merkle.js"
import type { Metainfo } from "../../domain/Metainfo.js"
import * as HashMessages from "../../protocol/HashMessages.js"
import { decodeTorrent, torrentFromInfo } from "../../protocol/TorrentFile.js"

export const layerFetchLimits = {
  /** Requests of ours in flight at once. */
  window: 4,
  /** A peer that answers none of them for this long is given up. */
  answerTimeout: Duration.seconds(30),
  /** Of the peer's own requests, the most rejected or answered before it is given up (a flood). */
  maxTheirRequests: 256
}

/** The connection as the fetch uses it: frames in (hash messages and others), bytes out. */
export interface LayerLink<F> {
  /** The next frame, failing after `timeout` with a Timeout that names `what`. */
  readonly next: (timeout: Duration.Duration, what: string) => Effect.Effect<F, PeerError>
  readonly write: (bytes: ReadonlyArray<Uint8Array>) => Effect.Effect<void, PeerError>
  readonly fail: (reason: PeerErrorReason, detail: string) => PeerError
}

const isHashMessage = (f: unknown): f is HashMessages.HashMessage => {
  const tag = (f as { readonly _tag?: unknown })._tag
  return tag === "HashRequest" || tag === "Hashes" || tag === "HashReject"
}

const sameRange = (a: HashMessages.HashRange, b: HashMessages.HashRange): boolean =>
  a.baseLayer === b.baseLayer && a.index === b.index && a.length === b.length && a.proofLayers === b.proofLayers &&
  Buffer.compare(a.piecesRoot, b.piecesRoot) === 0

/** Asks the peer for what `hashes` lacks until it is complete; fails with the reason to give the peer up. */
export const fetchLayers = <F>(hashes: FileHashes, link: LayerLink<F>): Effect.Effect<void, PeerError> =>
  Effect.gen(function* () {
    const inFlight: Array<RootedRange> = []
    let theirRequests = 0
    while (!hashes.complete) {
      const now = yield* Clock.currentTimeMillis
      const requests: Array<Uint8Array> = []
      while (inFlight.length < layerFetchLimits.window) {
        const range = hashes.nextRequest(now)
        if (range === undefined || inFlight.some((r) => sameRange(r, range))) break
        inFlight.push(range)
        requests.push(HashMessages.encodeHashMessage(HashMessages.hashRequest(range)))
      }
      if (requests.length > 0) yield* link.write(requests)
      if (inFlight.length === 0) return yield* link.fail("Unsupported", "no piece hashes left to ask for, yet the piece layers are incomplete")
      const frame = yield* link.next(layerFetchLimits.answerTimeout, "answer to a hash request")
      if (!isHashMessage(frame)) continue
      if (frame._tag === "HashRequest") {
        if (++theirRequests > layerFetchLimits.maxTheirRequests) return yield* link.fail("Protocol", "hash request flood")
        const answer = hashes.answer(frame.piecesRoot, frame)
        let reply: HashMessages.HashMessage = HashMessages.hashReject(frame)
        if (answer !== undefined) {
          const body = new Uint8Array(answer.hashes.length + answer.uncles.length)
          body.set(answer.hashes)
          body.set(answer.uncles, answer.hashes.length)
          reply = HashMessages.hashes(frame, body)
        }
        yield* link.write([HashMessages.encodeHashMessage(reply)])
        continue
      }
      const at = inFlight.findIndex((r) => sameRange(r, frame))
      if (frame._tag === "HashReject") {
        if (at < 0) continue
        return yield* link.fail("Unsupported", `rejected our hash request (layer ${frame.baseLayer}, ${frame.length} hashes from ${frame.index})`)
      }
      const split = frame.length * HASH_SIZE
      if (!hashes.accept(frame.piecesRoot, frame, frame.hashes.subarray(0, split), frame.hashes.subarray(split))) {
        return yield* link.fail("Corrupt", `piece hashes that do not prove against the file's root (${frame.length} from ${frame.index})`)
      }
      if (at >= 0) inFlight.splice(at, 1)
    }
  })

/**
 * The Metainfo of a fetched info dictionary when it is v2 or hybrid, with its piece layers fetched from the
 * peer that gave it when it speaks v2 (`peerV2`); undefined for a v1 dictionary (or one that does not
 * decode: the caller decodes it again and reports why). A v2-only torrent cannot be checked without its
 * layers, so a peer that cannot give them fails; a hybrid's pieces have SHA-1 hashes too, so its metainfo
 * comes back with what was gathered when the peer fails only at the layers.
 */
export const completeLayers = <F>(
  info: Uint8Array,
  peerV2: boolean,
  link: LayerLink<F>
): Effect.Effect<Metainfo | undefined, PeerError> =>
  Effect.gen(function* () {
    const decoded = decodeTorrent(torrentFromInfo(info, []))
    if (Either.isLeft(decoded) || decoded.right.version === "v1") return undefined
    const hashes = FileHashes.fromMetainfo(decoded.right)
    if (hashes === undefined || hashes.complete) return decoded.right
    if (!peerV2) {
      if (decoded.right.version === "hybrid") return decoded.right
      return yield* link.fail("Unsupported", "gave a v2 torrent's metadata but does not speak v2 for its piece layers")
    }
    const fetched = yield* Effect.either(fetchLayers(hashes, link))
    if (Either.isLeft(fetched) && decoded.right.version === "v2") return yield* Effect.fail(fetched.left)
    if (Either.isLeft(fetched)) yield* Effect.logDebug(`piece layers of a hybrid torrent: ${fetched.left.message}`)
    return hashes.metainfo
  })

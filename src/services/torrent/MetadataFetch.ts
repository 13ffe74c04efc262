/**
 * A magnet link's first step: the torrent's info dictionary, fetched from peers through ut_metadata
 * (BEP 9 over BEP 10) and checked against the magnet's info hash.
 *
 * Peers come from the magnet's `x.pe` addresses, its `tr` trackers and the DHT. Several are tried at once;
 * each fetches the whole dictionary on its own and it is verified per peer, so a peer that lies is found
 * out alone and dropped (and never tried again) while the others go on; the first dictionary that
 * verifies wins. Metadata is small (tens of KiB, 16 MiB at most), so fetching it more than once costs
 * little, and no peer can spoil another's pieces. The connections are closed afterwards; the torrent
 * then dials the peers again as a normal download.
 *
 * A btmh magnet (BEP 52) names the torrent by its v2 hash: the handshake carries the hash truncated to 20
 * bytes and the v2 bit, the dictionary is checked with SHA-256, and since a v2 torrent's piece layers are
 * not in its info dictionary, the same peer is then asked for them with hash requests (PieceLayerFetch.ts).
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import type * as Scope from "effect/Scope"
import { PeerError, type PeerErrorReason } from "../../domain/Errors.js"
import * as InfoHash from "../../domain/InfoHash.js"
import type { Metainfo } from "../../domain/Metainfo.js"
import { MetadataBuffer } from "../../domain/MetadataBuffer.js"
import type { PeerAddress } from "../../domain/PeerAddress.js"
import type { PeerId } from "../../domain/PeerId.js"
import * as Extension from "../../protocol/Extension.js"
import * as Handshake from "../../protocol/Handshake.js"
import type * as FrameParser from "../../protocol/FrameParser.js"
import * as HashMessages from "../../protocol/HashMessages.js"
import * as Message from "../../protocol/Message.js"
import * as Metadata from "../../protocol/Metadata.js"
import * as Announcer from "../tracker/Announcer.js"
import type { DhtService } from "../dht/Dht.js"
import * as Dialer from "./Dialer.js"
import { completeLayers } from "./PieceLayerFetch.js"
import { PeerCandidates } from "./PeerCandidates.js"
import { EncryptionPolicy, type Policy } from "../wire/Encryption.js"
import { type Connection, PeerNetwork } from "../wire/PeerNetwork.js"
import { clientVersion, ourIds } from "../peer/PeerExtensions.js"
import * as PeerHandshake from "../peer/PeerHandshake.js"
import type { Tracker } from "../tracker/Tracker.js"

export interface FetchOptions extends PeerOptions {
  /** `x.pe` */
  readonly peers: ReadonlyArray<PeerAddress>
  /** `tr`, each its own tier. */
  readonly trackers: ReadonlyArray<string>
  readonly dht?: DhtService
  /** Peers asked at once. */
  readonly parallel?: number
  /** The encryption policy as each connection is dialled (the daemon's setting, which session-set may
   *  change while the fetch runs); absent: the program's (EncryptionPolicy), as a torrent's peers do. */
  readonly encryption?: () => Policy
}

/** What one connection's fetch needs. */
export interface PeerOptions {
  /** The hash the handshake and the trackers use: a v1 info hash, or a btmh magnet's v2 hash truncated to 20
   *  bytes (Magnet.infoHashV2Truncated). */
  readonly infoHash: InfoHash.InfoHash
  /** A btmh magnet's v2 info hash: the metadata is checked with SHA-256 against it (not SHA-1 against
   *  `infoHash`), the handshake says we speak v2, and a v2 torrent's piece layers are fetched too. */
  readonly infoHashV2?: InfoHash.InfoHashV2
  readonly peerId: PeerId
  /** Our listening port, for trackers and the extension handshake. */
  readonly port: number
}

/** What one peer gave: the info dictionary, and for a v2 or hybrid torrent its Metainfo with the piece
 *  layers the peer could give (PieceLayerFetch.ts). */
export interface Fetched {
  /** The raw info dictionary, whose SHA-1 is the v1 info hash (SHA-256: the v2 one). */
  readonly info: Uint8Array
  /** A v2 or hybrid torrent: the info decoded (no trackers), every file's `pieceLayer` filled in (for a
   *  hybrid, those the peer could give). Absent for a v1 torrent. */
  readonly metainfo?: Metainfo
}

export interface FetchStatus {
  readonly known: number
  readonly asking: number
  readonly failed: number
}

export interface FetchResult extends Fetched {
  /** The peer that gave it. */
  readonly from: string
  /** Every peer heard of, for the download that follows. */
  readonly peers: ReadonlyArray<PeerAddress>
}

export const fetchLimits = {
  handshakeTimeout: Duration.seconds(10),
  /** A peer that sends no metadata piece for this long is given up. */
  pieceTimeout: Duration.seconds(30),
  /** Requests outstanding to one peer. */
  window: 16,
  /** Between DHT lookups while no peer has given the metadata. */
  dhtRetry: Duration.seconds(30)
}

/** Frames are views into the chunk, valid during the call only: what is kept is copied. */
const kept = (frame: FrameParser.Frame): Message.Extended | HashMessages.HashMessage | undefined => {
  const copy = (b: Uint8Array) => Uint8Array.prototype.slice.call(b)
  switch (frame._tag) {
    case "Extended":
      return Message.extended(frame.extendedId, copy(frame.payload))
    case "Hashes":
      return { ...frame, piecesRoot: copy(frame.piecesRoot), hashes: copy(frame.hashes) }
    case "HashRequest":
    case "HashReject":
      return { ...frame, piecesRoot: copy(frame.piecesRoot) }
    default:
      return undefined
  }
}

/** The info dictionary from one connected peer (with a v2 torrent's piece layers), or why not. */
export const fetchFrom = (connection: Connection, options: PeerOptions): Effect.Effect<Fetched, PeerError, Scope.Scope> =>
  Effect.gen(function* () {
    const fail = (reason: PeerErrorReason, detail: string) => new PeerError({ reason, address: connection.remote, detail })
    // A hybrid's link dials with the v1 hash and the v2 bit; libtorrent answers with the v2 hash (the
    // connection upgraded, PeerHandshake.ts), a v1 client with the v1 hash.
    const truncated = options.infoHashV2 === undefined ? undefined : InfoHash.infoHash(options.infoHashV2.subarray(0, 20))
    const greeted = yield* PeerHandshake.exchange(connection, {
      infoHash: options.infoHash,
      ...(truncated !== undefined ? { v2Hash: truncated } : {}),
      peerId: options.peerId,
      reserved: Handshake.reserved({ extensions: true, v2: truncated !== undefined && !InfoHash.equals(truncated, options.infoHash) }),
      inbound: false
    })
    const peerV2 = greeted.v2 || (truncated !== undefined && InfoHash.equals(truncated, options.infoHash))
    if (!Handshake.supportsExtensions(greeted.theirs.reserved)) return yield* fail("Unsupported", "no extension protocol (BEP 10)")
    const frames = yield* Queue.unbounded<Message.Extended | HashMessages.HashMessage | PeerError>()
    greeted.deliver({
      frame: (frame) => {
        const copy = kept(frame)
        if (copy !== undefined) frames.unsafeOffer(copy)
      },
      chunkDone: () => {},
      end: (error) => frames.unsafeOffer(error)
    })
    const next = (timeout: Duration.Duration, what: string) =>
      Queue.take(frames).pipe(
        Effect.flatMap((f) => (f instanceof PeerError ? Effect.fail(f) : Effect.succeed(f))),
        Effect.timeoutFail({ duration: timeout, onTimeout: () => fail("Timeout", `no ${what} within ${Duration.format(timeout)}`) })
      )
    const writeAll = (bytes: ReadonlyArray<Uint8Array>) => connection.write(bytes).pipe(Effect.mapError((e) => fail("Closed", e.message)))
    const write = (bytes: Uint8Array) => writeAll([bytes])

    const ours = Extension.encodeHandshake({
      m: new Map([[Extension.UtMetadata, ourIds.ut_metadata]]),
      v: clientVersion,
      ...(options.port > 0 ? { p: options.port } : {})
    })
    yield* write(Message.encode(Message.extended(Extension.handshakeId, ours)))

    let theirs: Extension.ExtensionHandshake | undefined
    while (theirs === undefined) {
      const frame = yield* next(fetchLimits.handshakeTimeout, "extension handshake")
      if (frame._tag !== "Extended" || frame.extendedId !== Extension.handshakeId) continue
      const decoded = Extension.decodeHandshake(frame.payload)
      if (Either.isLeft(decoded)) return yield* fail("Protocol", `bad extension handshake: ${decoded.left.detail}`)
      theirs = decoded.right
    }
    const theirId = theirs.m.get(Extension.UtMetadata)
    if (theirId === undefined) return yield* fail("Unsupported", "does not offer ut_metadata")
    const size = theirs.metadataSize
    if (size === undefined || size === 0) return yield* fail("Unsupported", "has no metadata to give (no metadata_size)")
    if (size > Metadata.maxMetadataSize) {
      return yield* fail("Protocol", `metadata of ${size} bytes exceeds the ${Metadata.maxMetadataSize}-byte limit`)
    }
    const buffer = Either.getOrThrow(MetadataBuffer.make(size))
    const queue = buffer.missing().slice()
    let outstanding = 0
    while (true) {
      const requests: Array<Uint8Array> = []
      while (outstanding < fetchLimits.window && queue.length > 0) {
        requests.push(Message.encode(Message.extended(theirId, Metadata.encode(Metadata.request(queue.shift()!)))))
        outstanding++
      }
      if (requests.length > 0) yield* writeAll(requests)
      const frame = yield* next(fetchLimits.pieceTimeout, "metadata piece")
      if (frame._tag !== "Extended" || frame.extendedId !== ourIds.ut_metadata) continue
      const decoded = Metadata.decode(frame.payload)
      // BEP 9: a msg_type we do not know is ignored.
      if (Either.isLeft(decoded) && decoded.left.reason === "UnknownMessage") continue
      if (Either.isLeft(decoded)) return yield* fail("Protocol", `bad ut_metadata message: ${decoded.left.detail}`)
      const message = decoded.right
      if (message._tag === "Request") continue // we have nothing to give yet
      if (message._tag === "Reject") return yield* fail("Unsupported", `rejected metadata piece ${message.piece}`)
      if (message.totalSize !== size) return yield* fail("Protocol", `metadata size ${message.totalSize}, announced ${size}`)
      const added = buffer.add(message.piece, message.data)
      if (added === "bad") return yield* fail("Protocol", `bad metadata piece ${message.piece} (${message.data.length} bytes)`)
      if (added === "ok") outstanding--
      if (buffer.complete) {
        const info = buffer.verify(options.infoHashV2 ?? options.infoHash)
        if (info === undefined) return yield* fail("Corrupt", "metadata does not match the info hash")
        const metainfo = yield* completeLayers(info, peerV2, { next, write: (bytes) => writeAll(bytes), fail })
        return metainfo === undefined ? { info } : { info, metainfo }
      }
    }
  })

/**
 * Fetches the info dictionary from whichever peers can give it; runs until one does. Everything it
 * started (trackers, DHT lookups, the other attempts) stops then.
 */
export const fetch = (options: FetchOptions, onStatus: (status: FetchStatus) => Effect.Effect<void> = () => Effect.void) =>
  Effect.scoped(fetchScoped(options, onStatus)).pipe(Effect.withSpan("MetadataFetch.fetch"))

const fetchScoped = (
  options: FetchOptions,
  onStatus: (status: FetchStatus) => Effect.Effect<void>
): Effect.Effect<FetchResult, never, PeerNetwork | Tracker | Scope.Scope> => Effect.gen(function* () {
  const parallel = options.parallel ?? 8
  const candidates = new PeerCandidates(2000)
  let failed = 0
  const result = yield* Deferred.make<FetchResult>()
  const known = () => candidates.due(Number.MAX_SAFE_INTEGER, () => false).map((c) => c.address)
  const programPolicy = (yield* EncryptionPolicy) ?? "off"
  const encryption = options.encryption ?? (() => programPolicy)
  const dialer: Dialer.Dialer = yield* Dialer.make({
    candidates,
    maxSessions: parallel,
    halfOpen: parallel,
    connectTimeout: "10 seconds",
    forgiveOnConnect: false,
    encryption: { infoHash: options.infoHash, policy: encryption },
    session: (connection) =>
      Effect.flatMap(fetchFrom(connection, options), (fetched) => Deferred.succeed(result, { ...fetched, from: connection.remote, peers: known() })).pipe(
        Effect.scoped,
        Effect.asVoid
      ),
    ended: (key, error) =>
      Effect.gen(function* () {
        failed++
        const dead = error._tag === "PeerError" && ["Protocol", "Corrupt", "Handshake", "Unsupported"].includes(error.reason)
        candidates.failed(key, yield* Clock.currentTimeMillis, dead)
        yield* Effect.logDebug(`metadata from ${key}: ${error.message}`)
      }),
    afterRound: Effect.suspend(() => Effect.flatMap(dialer.sessions, (asking: number) => onStatus({ known: candidates.size, asking, failed })))
  })
  const add = (peers: ReadonlyArray<PeerAddress>) => Effect.sync(() => dialer.learn(peers))
  yield* add(options.peers)
  if (options.trackers.length > 0) {
    const key = yield* Random.nextIntBetween(0, 2 ** 31)
    yield* Announcer.make({
      tiers: options.trackers.map((t) => [t]),
      request: (event) =>
        Effect.succeed({
          infoHash: options.infoHash,
          peerId: options.peerId,
          port: options.port > 0 ? options.port : 6881,
          uploaded: 0,
          downloaded: 0,
          // Unknown until the metadata is in; not 0, or trackers would count us as a seed.
          left: 1,
          event,
          numwant: 50,
          key,
          compact: true
        }),
      onPeers: add
    })
  }
  if (options.dht !== undefined) {
    const dht = options.dht
    yield* Effect.forkScoped(
      Effect.forever(
        dht.lookup(options.infoHash, { onPeers: add }).pipe(Effect.zipRight(Effect.sleep(fetchLimits.dhtRetry)))
      )
    )
  }

  return yield* Deferred.await(result)
})

/**
 * The extension protocol (BEP 10) on one peer connection, and the extensions bt-effect speaks over it:
 * ut_metadata (BEP 9), serving our info dictionary to peers that came with a magnet link, and ut_pex
 * (BEP 11), telling peers whom else we are connected to and learning whom they are.
 *
 * Like `PeerState`, it is synchronous: messages are handled as they are parsed, and what goes out is
 * queued for the session's loop. Ids: the peer sends to us with the ids of our `m` dictionary
 * (`ourIds`); we send to it with the ids of its own.
 */
import * as Either from "effect/Either"
import type { PeerErrorReason } from "../../domain/Errors.js"
import { format as formatAddress, PeerAddress } from "../../domain/PeerAddress.js"
import { parseIp } from "../../protocol/CompactPeers.js"
import * as Extension from "../../protocol/Extension.js"
import * as Message from "../../protocol/Message.js"
import * as Metadata from "../../protocol/Metadata.js"
import * as Pex from "../../protocol/Pex.js"
import { limits } from "./PeerLimits.js"

/** What the extensions need from the torrent. */
export interface ExtensionContext {
  /** The raw info dictionary, served through ut_metadata; absent for private torrents (BEP 27). */
  readonly metadata: Uint8Array | undefined
  /** PEX is on (it is off for private torrents). */
  readonly pex: boolean
  /** Our listening TCP port, announced as `p`. */
  readonly listenPort: () => number
  /** Whom we are connected to, by the addresses they listen on, for PEX. */
  readonly pexPeers: () => ReadonlyArray<Pex.PexPeer>
  /** Addresses a peer told us of through PEX. */
  /** Peers a peer told us of, with their BEP 11 flags. */
  readonly learnPeers: (from: string, peers: ReadonlyArray<Pex.PexPeer>) => void
}

export const ourIds = { [Extension.UtMetadata]: 1, [Extension.UtPex]: 2 } as const

export const clientVersion = "bt-effect 0.1.0"

export const extensionLimits = {
  /** BEP 11: at most one PEX message a minute each way. */
  pexIntervalMs: 60_000,
  /** PEX messages closer together than this are ignored (a peer cannot flood our candidates). */
  minPexGapMs: 30_000,
  /** Metadata pieces served per second; more are rejected (BEP 9 lets us). */
  maxMetadataPiecesPerTick: 64,
  /** Metadata requests rejected before the peer is dropped. */
  maxMetadataRejects: 1000
}

export class PeerExtensions {
  /** The peer's extension handshake, once received. */
  private theirs: Extension.ExtensionHandshake | undefined
  private readonly pexSent = new Map<string, PeerAddress>()
  private lastPexSentMs: number | undefined
  private lastPexReceivedMs: number | undefined
  private metadataServed = 0
  private metadataThisTick = 0
  private metadataRejected = 0
  private pexReceived = 0
  private pexLearnt = 0

  constructor(
    private readonly remote: PeerAddress,
    private readonly inbound: boolean,
    private readonly ctx: ExtensionContext,
    private readonly queue: (bytes: Uint8Array) => void,
    private readonly end: (reason: PeerErrorReason, detail: string) => void
  ) {}

  /** Our extension handshake: first thing after the BitTorrent handshake. */
  start(): void {
    const m = new Map<string, number>()
    if (this.ctx.metadata !== undefined) m.set(Extension.UtMetadata, ourIds.ut_metadata)
    if (this.ctx.pex) m.set(Extension.UtPex, ourIds.ut_pex)
    const yourip = parseIp(this.remote.host)?.bytes
    this.send(Extension.handshakeId, Extension.encodeHandshake({
      m,
      v: clientVersion,
      p: this.ctx.listenPort(),
      reqq: limits.maxUploadQueue,
      ...(yourip !== undefined ? { yourip } : {}),
      ...(this.ctx.metadata !== undefined ? { metadataSize: this.ctx.metadata.length } : {})
    }))
  }

  /** Where the peer accepts connections: where we dialled it, or its host and announced port. */
  listenAddress(): PeerAddress | undefined {
    if (!this.inbound) return this.remote
    const p = this.theirs?.p
    return p === undefined ? undefined : new PeerAddress({ host: this.remote.host, port: p })
  }

  /** Requests the peer queues without dropping any (its `reqq`), when it said. */
  requestLimit(): number | undefined {
    return this.theirs?.reqq
  }

  private send(theirId: number, payload: Uint8Array): void {
    this.queue(Message.encode(Message.extended(theirId, payload)))
  }

  onMessage(extendedId: number, payload: Uint8Array, now: number): void {
    if (extendedId === Extension.handshakeId) {
      const decoded = Extension.decodeHandshake(payload)
      if (Either.isLeft(decoded)) return this.end("Protocol", `bad extension handshake: ${decoded.left.detail}`)
      // A second handshake updates the first (BEP 10 allows it).
      this.theirs = decoded.right
      return
    }
    if (extendedId === ourIds.ut_metadata && this.ctx.metadata !== undefined) return this.onMetadata(payload)
    if (extendedId === ourIds.ut_pex && this.ctx.pex) return this.onPex(payload, now)
    // An id we never offered: ignored, as BEP 10 asks of unknown extensions.
  }

  private onMetadata(payload: Uint8Array): void {
    const decoded = Metadata.decode(payload)
    // BEP 9: a msg_type we do not know is ignored (a later version of the extension may add some).
    if (Either.isLeft(decoded) && decoded.left.reason === "UnknownMessage") return
    if (Either.isLeft(decoded)) return this.end("Protocol", `bad ut_metadata message: ${decoded.left.detail}`)
    const message = decoded.right
    if (message._tag !== "Request") return // we never ask; data and rejects sent to us are ignored
    const theirId = this.theirs?.m.get(Extension.UtMetadata)
    if (theirId === undefined) return
    const metadata = this.ctx.metadata!
    const start = message.piece * Metadata.pieceSize
    if (start >= metadata.length || this.metadataThisTick >= extensionLimits.maxMetadataPiecesPerTick) {
      if (++this.metadataRejected > extensionLimits.maxMetadataRejects) {
        return this.end("Protocol", `ut_metadata flood: more than ${extensionLimits.maxMetadataRejects} requests rejected`)
      }
      return this.send(theirId, Metadata.encode(Metadata.reject(message.piece)))
    }
    this.metadataThisTick++
    this.metadataServed++
    const data = metadata.subarray(start, Math.min(metadata.length, start + Metadata.pieceSize))
    this.send(theirId, Metadata.encode(Metadata.data(message.piece, metadata.length, data)))
  }

  private onPex(payload: Uint8Array, now: number): void {
    if (this.lastPexReceivedMs !== undefined && now - this.lastPexReceivedMs < extensionLimits.minPexGapMs) return
    const decoded = Pex.decode(payload)
    if (Either.isLeft(decoded)) return this.end("Protocol", `bad ut_pex message: ${decoded.left.detail}`)
    this.lastPexReceivedMs = now
    this.pexReceived++
    const added = decoded.right.added
    this.pexLearnt += added.length
    if (added.length > 0) this.ctx.learnPeers(formatAddress(this.remote), added)
  }

  /** Once a second: the metadata rate resets; PEX goes out when due. */
  tick(now: number): void {
    this.metadataThisTick = 0
    const theirId = this.theirs?.m.get(Extension.UtPex)
    if (!this.ctx.pex || theirId === undefined) return
    if (this.lastPexSentMs !== undefined && now - this.lastPexSentMs < extensionLimits.pexIntervalMs) return
    const self = this.listenAddress()
    const current = new Map<string, Pex.PexPeer>()
    for (const peer of this.ctx.pexPeers()) {
      const key = formatAddress(peer.address)
      if (self === undefined || key !== formatAddress(self)) current.set(key, peer)
    }
    const added: Array<Pex.PexPeer> = []
    for (const [key, peer] of current) {
      if (added.length >= Pex.maxAddedPerMessage) break
      if (!this.pexSent.has(key)) added.push(peer)
    }
    const dropped: Array<PeerAddress> = []
    for (const [key, address] of this.pexSent) {
      if (dropped.length >= Pex.maxAddedPerMessage) break
      if (!current.has(key)) dropped.push(address)
    }
    // The first message goes out even when empty: it tells the peer we speak PEX, and starts the minute.
    if (this.lastPexSentMs !== undefined && added.length === 0 && dropped.length === 0) return
    this.lastPexSentMs = now
    for (const peer of added) this.pexSent.set(formatAddress(peer.address), peer.address)
    for (const address of dropped) this.pexSent.delete(formatAddress(address))
    this.send(theirId, Pex.encode({ added, dropped }))
  }

  /** For the debug log. */
  summary(): string {
    if (this.theirs === undefined) return "no extension handshake"
    const names = [...this.theirs.m.keys()].join(", ") || "none"
    return `extensions ${names}${this.theirs.v !== undefined ? ` (${this.theirs.v})` : ""}; metadata pieces served ${this.metadataServed}, rejected ${this.metadataRejected}; PEX received ${this.pexReceived} (${this.pexLearnt} peers)`
  }
}

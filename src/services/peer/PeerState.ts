/**
 * The state of one peer connection after its handshake: choke and interest both ways, the peer's pieces,
 * our requests to it (an adaptive pipeline), its requests to us, timeouts. Frames are handled
 * synchronously as they are parsed (`onFrame`), and everything here is synchronous: what needs effects
 * (blocks to read for the peer, bytes to write) the session's loop (PeerSession.ts) takes from here when
 * `wake` rouses it: `fillRequests`, `takeUploads`, `takeOutbox`. The torrent is reached only through
 * `SwarmContext`; the torrent reaches the state only through the `PeerLink` it hands out.
 *
 * Whom we unchoke is the torrent's choker's decision (`PeerLink.choke`). While we choke a peer, its
 * requests are rejected (BEP 6) or dropped, except for its allowed fast pieces, which it may fetch anyway.
 */
import * as Either from "effect/Either"
import { Bitfield } from "../../domain/Bitfield.js"
import type { BlockRequest } from "../../domain/Block.js"
import { PeerError, type PeerErrorReason } from "../../domain/Errors.js"
import * as Layout from "../../domain/Layout.js"
import { clientName } from "../../domain/PeerId.js"
import { allowedFastSet } from "../../domain/AllowedFast.js"
import { RateMeter } from "../../domain/Rate.js"
import type * as FrameParser from "../../protocol/FrameParser.js"
import * as Message from "../../protocol/Message.js"
import { type PeerFeatures, type PeerInfo, type PeerLink, type SwarmContext } from "./PeerContext.js"
import { FastTally } from "./FastTally.js"
import { HashExchange } from "./HashExchange.js"
import { RequestPipeline } from "./RequestPipeline.js"
import { urgentRequests } from "./UrgentRequests.js"
import { UploadQueue } from "./UploadQueue.js"
import { limits } from "./PeerLimits.js"

const noUploads: ReadonlyArray<BlockRequest> = []

export class PeerState {
  private amChoking = true
  private amInterested = false
  private peerChoking = true
  private peerInterested = false
  private readonly theirs: Bitfield
  private gotFirstMessage = false
  private attachedToPicker = false
  private readonly requests = new RequestPipeline()
  private readonly uploads = new UploadQueue(limits.maxUploadQueue)
  private readonly down = new RateMeter()
  private readonly up = new RateMeter()
  private lastReceivedMs = 0
  private lastSentMs = 0
  private lastBlockMs = 0
  private unrequested = 0
  /** Blocks that came after we had given up their requests (they crossed our CANCEL): wasted, not a fault. */
  private late = 0
  /** Requests refused since we last unchoked the peer, and keep-alives since the last tick (floods). */
  private refused = 0
  private keepAlives = 0
  private connectedAt = 0
  /** The pieces this peer may fetch while choked (BEP 6), and those we told it of. */
  private readonly allowedFast: ReadonlySet<number>
  private readonly allowedFastSent = new Set<number>()
  /** BEP 6 traffic, both ways, for the debug log. */
  private readonly fastTally = new FastTally()
  private readonly hashExchange: HashExchange
  private readonly outbox: Array<Uint8Array> = []
  private uploadThrottled = false
  /** The picker's deadlines as last looked at (UrgentRequests.ts). */
  private seenDeadlines = 0
  private ended: PeerError | undefined
  readonly client: string
  private readonly fast: boolean

  constructor(
    private readonly key: string,
    private readonly host: string,
    private readonly ctx: SwarmContext,
    private readonly features: PeerFeatures,
    /** Wakes the loop to do what the synchronous handlers left for it. */
    private readonly wake: () => void
  ) {
    this.fast = features.fast
    this.theirs = Bitfield.empty(ctx.layout.pieceCount)
    this.client = clientName(features.peerId)
    this.allowedFast = new Set(this.fast ? allowedFastSet(host, ctx.infoHash, ctx.layout.pieceCount) : [])
    this.hashExchange = new HashExchange(ctx.hashes, features.v2, { send: (b) => this.queueBytes(b), end: (r, d) => this.end(r, d) })
  }

  link(): PeerLink {
    return {
      key: this.key,
      host: this.host,
      inbound: this.features.dialled === undefined,
      have: (piece) => {
        this.queue(Message.encode(Message.have(piece)))
        this.offerAllowedFast(piece)
        this.updateInterest()
        this.wake()
      },
      unchoked: () => !this.amChoking,
      choke: (choke) => {
        if (choke === this.amChoking) return
        this.amChoking = choke
        if (!choke) this.refused = 0
        this.queue(Message.encode(choke ? Message.choke : Message.unchoke))
        if (choke) this.dropUploads()
        this.wake()
      },
      cancel: (block) => {
        if (this.requests.cancel(block.piece, block.offset, block.length) !== undefined) {
          this.queue(Message.encode(Message.cancel(block.piece, block.offset, block.length)))
          this.wake()
        }
      },
      wake: () => this.wake(),
      info: (now) => this.info(now),
      listenAddress: () => this.features.extensions?.listenAddress() ?? this.features.dialled,
      outstanding: () => this.requests.size,
      told: () => this.attachedToPicker,
      end: (reason, detail) => {
        this.end(reason, detail)
        this.wake()
      }
    }
  }

  /** What we have goes first: a bitfield, or BEP 6's short forms; then the allowed fast pieces we have. */
  start(now: number): void {
    this.lastReceivedMs = now
    this.lastSentMs = now
    this.lastBlockMs = now
    this.connectedAt = now
    const have = this.ctx.picker.have
    if (have.isComplete && this.fast) this.queueFast(Message.haveAll, "HaveAll")
    else if (have.isEmpty && this.fast) this.queueFast(Message.haveNone, "HaveNone")
    else if (!have.isEmpty) this.queue(Message.encode(Message.bitfield(have.toBytes())))
    for (const piece of this.allowedFast) this.offerAllowedFast(piece)
    this.features.extensions?.start()
    if (this.features.dht && this.ctx.dht !== undefined) this.queue(Message.encode(Message.port(this.ctx.dht.port)))
    this.hashExchange.request(now)
  }

  /** Tells the peer of an allowed fast piece once we have it. */
  private offerAllowedFast(piece: number): void {
    if (!this.allowedFast.has(piece) || this.allowedFastSent.has(piece) || !this.ctx.picker.have.has(piece)) return
    this.allowedFastSent.add(piece)
    this.queueFast(Message.allowedFast(piece), "AllowedFast")
  }

  /** Choking: queued requests are dropped, with a reject each under BEP 6, but for allowed fast pieces. */
  private dropUploads(): void {
    const drop = (piece: number, offset: number, length: number) => {
      if (this.fast) this.queueFast(Message.reject(piece, offset, length), "Reject")
    }
    for (const r of this.hashExchange.first.drain()) if (!this.uploads.push(r.piece, r.offset, r.length)) drop(r.piece, r.offset, r.length)
    this.uploads.retain((piece) => this.allowedFastSent.has(piece), drop)
  }

  /** Ends the session at the loop's next turn. */
  stop(error: PeerError): void {
    this.ended ??= error
  }

  private info(now: number): PeerInfo {
    return {
      key: this.key,
      client: this.client,
      downloadRate: this.down.rate(now),
      uploadRate: this.up.rate(now),
      peerChoking: this.peerChoking,
      peerInterested: this.peerInterested,
      amChoking: this.amChoking,
      amInterested: this.amInterested,
      isSeed: this.theirs.isComplete,
      outstanding: this.requests.size,
      connectedAt: this.connectedAt,
      snubbed: this.amInterested && !this.peerChoking && now - this.lastBlockMs > limits.snubMs,
      pieces: this.theirs,
      peerId: this.features.peerId,
      downloaded: this.down.total,
      uploaded: this.up.total,
      incoming: this.features.dialled === undefined
    }
  }

  detach(): void {
    if (this.attachedToPicker) this.ctx.picker.removePeer(this.key)
    this.ctx.detach(this.key)
  }

  /** One line on the session: the Fast extension, and its messages each way. */
  summary(): string {
    const fast = this.fast ? `fast extension on; ${this.fastTally.describe()}` : "fast extension off"
    const latency = this.requests.latency
    const pipeline = `request depth ${this.requests.currentDepth}${latency === undefined ? "" : `, service time ${latency} ms`}`
    return `${fast}; ${this.features.extensions?.summary() ?? "extension protocol off"}; ${pipeline}; ` +
      `blocks after our cancel ${this.late}, unasked ${this.unrequested}${this.hashExchange.summary()}`
  }

  private queue(bytes: Uint8Array): void {
    this.outbox.push(bytes)
  }

  /** A BEP 6 message of ours, counted for the summary. */
  private queueFast(m: Message.Message, tag: string): void {
    this.queue(Message.encode(m))
    this.fastTally.out(tag)
  }

  /** For the extensions: bytes to send, and the loop woken to send them. */
  queueBytes(bytes: Uint8Array): void {
    this.outbox.push(bytes)
    this.wake()
  }

  private end(reason: PeerErrorReason, detail: string): void {
    this.ended ??= new PeerError({ reason, address: this.key, detail })
  }

  /** A frame from the peer, handled synchronously as it is parsed. */
  onFrame(frame: FrameParser.Frame, now: number): void {
    if (this.ended !== undefined) return
    if (frame._tag === "Handshake" || frame._tag === "HandshakePrefix") return this.end("Protocol", "a second handshake")
    this.lastReceivedMs = now
    this.onMessage(frame, now)
  }

  private onMessage(m: Message.Message, now: number): void {
    this.fastTally.in(m._tag)
    if (m._tag === "HashRequest" || m._tag === "Hashes" || m._tag === "HashReject") return this.hashExchange.onMessage(m, now)
    const first = !this.gotFirstMessage
    if (m._tag !== "KeepAlive") this.gotFirstMessage = true
    switch (m._tag) {
      case "KeepAlive":
        if (++this.keepAlives > limits.maxKeepAlivesPerTick) {
          this.end("Protocol", `keep-alive flood: more than ${limits.maxKeepAlivesPerTick} within a second`)
        }
        return
      case "Bitfield":
      case "HaveAll":
      case "HaveNone": {
        if ((m._tag === "HaveAll" || m._tag === "HaveNone") && !this.fast) {
          return this.end("Protocol", `${m._tag} without the Fast extension`)
        }
        let bits: Bitfield | undefined
        if (m._tag === "Bitfield") {
          const parsed = Bitfield.fromBytes(m.bits, this.ctx.layout.pieceCount)
          if (Either.isLeft(parsed)) return this.end("Protocol", `bad bitfield: ${parsed.left}`)
          bits = parsed.right
        } else if (m._tag === "HaveAll") {
          bits = Bitfield.full(this.ctx.layout.pieceCount)
        }
        if (first) {
          bits?.forEachSet((i) => this.theirs.set(i))
          this.attachPicker()
        } else {
          // Later, as HAVEs: aria2 sends a whole bitfield when it is shorter than the HAVE messages it
          // replaces. Pieces are never taken back.
          this.attachPicker()
          bits?.forEachSet((i) => {
            if (this.theirs.set(i)) this.ctx.picker.peerHas(this.key, i)
          })
        }
        if (this.theirs.isComplete && this.ctx.picker.isComplete) return this.end("Closed", "both sides are seeds")
        return this.updateInterest()
      }
      case "Have": {
        if (m.index >= this.ctx.layout.pieceCount) return this.end("Protocol", `have ${m.index} beyond the last piece`)
        this.attachPicker()
        if (this.theirs.set(m.index)) this.ctx.picker.peerHas(this.key, m.index)
        return this.updateInterest()
      }
      case "Choke":
        this.peerChoking = true
        return this.releaseAll()
      case "Unchoke":
        if (this.peerChoking) this.lastBlockMs = now
        this.peerChoking = false
        return
      case "Interested":
        if (!this.peerInterested) {
          this.peerInterested = true
          this.ctx.interested(this.key)
        }
        return
      case "NotInterested":
        this.peerInterested = false
        return
      case "Piece":
        return this.onPiece(m, now)
      case "Request":
        return this.onRequest(m)
      case "Cancel":
        return void (this.uploads.cancel(m.index, m.begin, m.length) || this.hashExchange.first.cancel(m.index, m.begin, m.length))
      case "Reject": {
        const block = this.requests.take(m.index, m.begin, m.length)
        if (block !== undefined) this.ctx.picker.release(this.key, [block])
        else this.requests.late(m.index, m.begin, m.length)
        return
      }
      case "Extended":
        return this.features.extensions?.onMessage(m.extendedId, m.payload, now)
      case "Port":
        if (m.port > 0) this.ctx.dht?.addNode(this.host, m.port)
        return
      case "Suggest":
      case "AllowedFast":
        return
    }
  }

  private attachPicker(): void {
    if (this.attachedToPicker) return
    this.attachedToPicker = true
    this.ctx.picker.addPeer(this.key, this.theirs)
  }

  private updateInterest(): void {
    const interesting = this.ctx.picker.isInteresting(this.theirs)
    if (interesting !== this.amInterested) {
      this.amInterested = interesting
      this.queue(Message.encode(interesting ? Message.interested : Message.notInterested))
      if (!interesting) this.ctx.uninteresting(this.key)
    }
  }

  private onPiece(m: Message.Piece, now: number): void {
    const block = this.requests.take(m.index, m.begin, m.block.length, now)
    if (block === undefined) {
      if (this.requests.late(m.index, m.begin, m.block.length)) this.late++
      else if (++this.unrequested > limits.maxUnrequested) this.end("Protocol", "too many blocks we did not request")
      return
    }
    this.requests.received()
    this.lastBlockMs = now
    this.down.add(block.length, now)
    this.ctx.countDownloaded(block.length, now)
    this.ctx.addBlock(this.key, block, m.block)
  }

  private onRequest(m: Message.Request): void {
    const valid = Layout.isValidBlock(this.ctx.layout, m.index, m.begin, m.length) && m.length <= Layout.BLOCK_SIZE
    const mayServe = !this.amChoking || this.allowedFastSent.has(m.index)
    if (!valid || !mayServe || !this.ctx.picker.have.has(m.index) || this.uploads.isFull) {
      // Each refusal costs a reject in the outbox (which grows while a peer that does not read blocks our
      // writes) and the parsing: a peer that goes on requesting regardless is dropped.
      if (++this.refused > limits.maxRefusedRequests) {
        return this.end("Protocol", `request flood: more than ${limits.maxRefusedRequests} requests refused since the last unchoke`)
      }
      if (this.fast) this.queueFast(Message.reject(m.index, m.begin, m.length), "Reject")
      return
    }
    this.uploads.push(m.index, m.begin, m.length)
  }

  tick(now: number): void {
    this.keepAlives = 0
    if (now - this.lastReceivedMs > limits.idleTimeoutMs) return this.end("Timeout", "nothing received for 120 s")
    if (this.requests.size > 0 && now - this.lastBlockMs > limits.requestTimeoutMs) {
      return this.end("Timeout", "no block for 60 s")
    }
    if (now - this.lastSentMs > limits.keepAliveMs) this.queue(Message.encode(Message.keepAlive))
    this.requests.tick(now, this.connectedAt, this.down.rate(now))
    this.features.extensions?.tick(now)
    this.hashExchange.tick(now)
  }

  /** Requests to make now (RequestPipeline.room), when we may ask at all. */
  private requestRoom(): number {
    if (this.peerChoking || !this.amInterested || this.ctx.backlogged) return 0
    const room = this.requests.room(this.features.extensions?.requestLimit())
    return room === 0 ? 0 : Math.min(room, this.ctx.requestAllowance)
  }

  /** Whether the loop has something to do: the reader wakes it only then, not for every chunk. */
  wantsTurn(): boolean {
    return this.ended !== undefined || this.outbox.length > 0 || (this.uploads.size > 0 && !this.uploadThrottled) ||
      this.requestRoom() > 0 || this.ctx.picker.deadlineVersion !== this.seenDeadlines
  }

  /** Requests to make now, as far as the pipeline, the memory budget and the download limit allow: queued.
   *  New deadlines (streaming) are looked at first, whatever room the pipeline has (UrgentRequests.ts). */
  fillRequests(now: number): void {
    // Hash requests due (a failed piece's block hashes wanted: the torrent wakes every session for it).
    this.hashExchange.request(now)
    // Under a download limit, a block is paid for when it is requested: what is asked for is what comes.
    const affordable = () => Math.floor((this.ctx.throttle?.available("down", now) ?? Infinity) / Layout.BLOCK_SIZE)
    if (this.ctx.picker.deadlineVersion !== this.seenDeadlines) {
      this.seenDeadlines = this.ctx.picker.deadlineVersion
      const urgent = this.peerChoking || !this.amInterested ? undefined
        : urgentRequests(this.ctx.picker, this.key, this.theirs, this.requests, this.down.rate(now), affordable())
      for (const b of urgent?.cancelled ?? []) this.queue(Message.encode(Message.cancel(b.piece, b.offset, b.length)))
      if (urgent !== undefined) this.request(urgent.requests, now)
    }
    const want = Math.min(this.requestRoom(), affordable())
    if (want > 0) this.request(this.ctx.picker.pick(this.key, this.theirs, want), now)
  }

  private request(blocks: ReadonlyArray<BlockRequest>, now: number): void {
    if (blocks.length === 0) return
    this.ctx.throttle?.spend("down", blocks.length * Layout.BLOCK_SIZE)
    if (this.requests.size === 0) this.lastBlockMs = now
    this.requests.add(blocks, now)
    this.queue(Message.encodeRequests(blocks))
  }

  private releaseAll(): void {
    if (this.requests.size === 0) return
    this.ctx.picker.release(this.key, this.requests.takeAll())
  }

  /**
   * The next batch of the peer's requests to serve now, or none: within the upload limit (over it, the
   * requests wait for the next tick's tokens) and a tenth of a second of the peer's rate, so that a slow
   * peer's control messages never wait long behind blocks while a fast one gets few large writes.
   */
  takeUploads(now: number): ReadonlyArray<BlockRequest> {
    this.hashExchange.first.release(this.uploads, now)
    if (this.uploads.size === 0) return noUploads
    const affordable = Math.floor((this.ctx.throttle?.available("up", now) ?? Infinity) / Layout.BLOCK_SIZE)
    this.uploadThrottled = affordable === 0
    if (this.uploadThrottled) return noUploads
    const paced = Math.max(limits.minUploadBatch, Math.ceil(this.up.rate(now) / 10 / Layout.BLOCK_SIZE))
    const batch = this.hashExchange.first.admit(this.uploads.take(Math.min(limits.uploadBatch, paced, affordable)), now)
    this.ctx.throttle?.spend("up", batch.length * Layout.BLOCK_SIZE)
    return batch
  }

  /** A block of ours went to the peer. */
  uploaded(length: number, now: number): void {
    this.up.add(length, now)
    this.ctx.countUploaded(length, now)
  }

  /** What waits to be sent (control messages, requests), taken for one write. */
  takeOutbox(): Array<Uint8Array> {
    this.hashExchange.flushed()
    return this.outbox.splice(0)
  }

  /** Bytes went out (keep-alives are due only after silence). */
  sent(now: number): void {
    this.lastSentMs = now
  }

  /** Why the session must end, once it must. */
  get stopped(): PeerError | undefined {
    return this.ended
  }

  /** Work the loop can do at once, without waiting to be woken: bytes to send, or uploads not held back. */
  get busy(): boolean {
    return this.outbox.length > 0 || (this.uploads.size > 0 && !this.uploadThrottled)
  }
}

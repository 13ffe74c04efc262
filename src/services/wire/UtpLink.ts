/**
 * One uTP connection (utp/UtpConnection.ts, a synchronous state machine) as a peer `Connection`, so that
 * everything above the transport (MSE, the handshake, the session) runs on it as on TCP. UtpEndpoint.ts
 * owns the socket: it hands the link its packets and its timer, and after each it calls `service`, which
 * delivers the bytes received in order, wakes a writer waiting for room, reports the connection's events
 * and sends what the state machine has to send.
 *
 * Reading stays zero-copy: the connection's `read` gives views into the datagrams received, and they go
 * to the reader as they are. Bytes that arrive before `run` stay in the connection's receive buffer, whose
 * window then closes: the peer waits, as a TCP peer waits on a full socket buffer. A write completes when
 * the connection's send buffer has taken every byte (it copies them), and waits for room otherwise: that
 * is the backpressure.
 *
 * The run's end: the peer's FIN (with every byte before it) is a clean end; a RESET is "Closed", no answer
 * is "Timeout". `close` sends our FIN after what is written (a connection still dialling is reset) and
 * drops what arrives later.
 */
import * as Effect from "effect/Effect"
import { NetworkError } from "../../domain/Errors.js"
import { format, PeerAddress } from "../../domain/PeerAddress.js"
import type { UtpConnection, UtpEvent } from "../utp/UtpConnection.js"
import type { Endpoint } from "./Datagram.js"
import type { Connection } from "./PeerNetwork.js"

/** What a link needs of its endpoint. */
export interface LinkIo {
  readonly now: () => number
  /** Sends a datagram to the link's peer, at once. */
  readonly post: (to: Endpoint, bytes: Uint8Array) => void
}

type Outcome = Effect.Effect<void, NetworkError>

export class UtpLink {
  readonly remote: string
  readonly connection: Connection
  /** Our close: nothing more is read, the FIN is on its way. */
  private closed = false
  /** How the run ends, once known. */
  private ended: Outcome | undefined
  private reader: ((chunk: Uint8Array) => void) | undefined
  private runResume: ((outcome: Outcome) => void) | undefined
  private writer: (() => void) | undefined
  private connectedResume: ((outcome: Outcome) => void) | undefined
  private connected = false

  constructor(readonly utp: UtpConnection, readonly endpoint: Endpoint, private readonly io: LinkIo) {
    this.remote = format(endpoint)
    this.connected = utp.state === "Connected"
    this.connection = {
      remote: this.remote,
      address: new PeerAddress({ host: endpoint.host, port: endpoint.port }),
      transport: "utp",
      run: (onChunk) => this.run(onChunk),
      write: (chunks) => this.write(chunks),
      close: Effect.sync(() => this.close())
    }
  }

  private error(reason: NetworkError["reason"], detail: string): NetworkError {
    return new NetworkError({ reason, address: this.remote, detail })
  }

  /** Completes once the peer has answered our SYN; fails with Connect (reset) or Timeout (no answer). */
  readonly whenConnected: Effect.Effect<void, NetworkError> = Effect.async<void, NetworkError>((resume) => {
    if (this.connected) return resume(Effect.void)
    if (this.ended !== undefined) return resume(Effect.fail(this.error("Connect", "uTP connection refused")))
    this.connectedResume = resume
    return Effect.sync(() => {
      this.connectedResume = undefined
    })
  })

  private run(onChunk: (chunk: Uint8Array) => void): Outcome {
    return Effect.async<void, NetworkError>((resume) => {
      if (this.reader !== undefined) return resume(Effect.fail(this.error("Read", "already running")))
      this.reader = (chunk) => {
        try {
          onChunk(chunk)
        } catch (defect) {
          this.close()
          this.finishRun(Effect.die(defect))
        }
      }
      this.runResume = resume
      this.service()
      if (this.ended !== undefined || this.closed) this.finishRun(this.ended ?? Effect.void)
      // Interrupted: stop reading; what arrives waits in the receive buffer for a later `run`.
      return Effect.sync(() => {
        this.reader = undefined
        this.runResume = undefined
      })
    })
  }

  private finishRun(outcome: Outcome): void {
    const resume = this.runResume
    this.runResume = undefined
    this.reader = undefined
    resume?.(outcome)
  }

  private write(chunks: ReadonlyArray<Uint8Array>): Outcome {
    return Effect.async<void, NetworkError>((resume) => {
      let index = 0
      let offset = 0
      const step = () => {
        this.writer = undefined
        const utp = this.utp
        while (index < chunks.length) {
          if (this.closed || utp.state === "Reset" || utp.state === "Closed") {
            this.flushPackets()
            return resume(Effect.fail(this.error("Closed", "connection closed")))
          }
          const chunk = chunks[index]!
          offset += utp.write(offset === 0 ? chunk : chunk.subarray(offset), this.io.now())
          if (offset < chunk.length) {
            // The send buffer is full: wait until an ACK makes room.
            this.writer = step
            return this.flushPackets()
          }
          index++
          offset = 0
        }
        this.flushPackets()
        resume(Effect.void)
      }
      step()
      return Effect.sync(() => {
        this.writer = undefined
      })
    })
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    const now = this.io.now()
    if (this.utp.state === "SynSent") this.utp.abort(now)
    else this.utp.end(now)
    this.finishRun(this.ended ?? Effect.void)
    this.writer?.()
    this.service()
  }

  /** Delivers what arrived, reports the events, wakes a waiting writer, and sends what is due. */
  service(): void {
    const utp = this.utp
    if (this.reader !== undefined || this.closed) {
      for (const chunk of utp.read()) {
        // After our close, what arrives is read and dropped, so that the window stays open for the FIN.
        if (this.closed) continue
        this.reader?.(chunk)
        if (this.reader === undefined) break
      }
    }
    for (const event of utp.takeEvents()) this.onEvent(event)
    if (this.writer !== undefined && (utp.writable() > 0 || utp.state === "Reset" || utp.state === "Closed")) this.writer()
    this.flushPackets()
  }

  private onEvent(event: UtpEvent): void {
    switch (event._tag) {
      case "Connected": {
        this.connected = true
        const resume = this.connectedResume
        this.connectedResume = undefined
        return resume?.(Effect.void)
      }
      case "Eof":
      case "Closed":
        return this.end(Effect.void, "Connect", "uTP connection closed before it opened")
      case "Reset":
        return this.end(Effect.fail(this.error("Closed", "connection reset by peer")), "Connect", "uTP connection refused (reset)")
      case "TimedOut":
        return this.end(Effect.fail(this.error("Timeout", "no answer over uTP")), "Timeout", "no answer over uTP")
    }
  }

  private end(outcome: Outcome, dialReason: NetworkError["reason"], dialDetail: string): void {
    this.ended ??= outcome
    const resume = this.connectedResume
    this.connectedResume = undefined
    resume?.(Effect.fail(this.error(dialReason, dialDetail)))
    // The reader gets every byte before the end: service() delivered them before the events.
    if (this.reader !== undefined || this.runResume !== undefined) this.finishRun(this.ended)
  }

  private flushPackets(): void {
    for (const bytes of this.utp.takePackets()) this.io.post(this.endpoint, bytes)
  }

  /** Whether the endpoint may forget this link: its connection is over and nobody reads it any more. */
  get done(): boolean {
    const state = this.utp.state
    return (state === "Reset" || state === "Closed") && (this.closed || this.ended !== undefined)
  }
}

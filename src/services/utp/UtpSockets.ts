/**
 * The uTP connections of one UDP port, as libutp's utp_process_udp keeps them: datagrams routed by the
 * sender's address and the connection id, a SYN accepted as a new connection (or routed to the one it
 * opened already, when it is sent again), a RESET matched by either of a connection's ids, and any other
 * packet for no connection answered with a RESET, so that a peer that lost its state learns it at once.
 *
 * Synchronous, like the connections: the owner of the socket (the wiring to UDP, shared with the DHT,
 * which tells the two apart with `looksLikeUtp`) hands datagrams to `receive`, calls `tick` a few times a
 * second, sends what `takeDatagrams` gives, and drains each connection's bytes and events. Addresses are
 * opaque keys ("host:port").
 *
 * Bounded: at most `maxConnections` connections (a SYN past it is refused with a RESET), and at most
 * `maxResetMemory` RESETs remembered, so that a flood of stray packets gets one RESET per packet stream
 * for ten seconds and then none.
 */
import * as Either from "effect/Either"
import { PacketType, type UtpPacket, decode, encodeToBytes } from "../../protocol/UtpPacket.js"
import { type UtpOptions, UtpConnection } from "./UtpConnection.js"

export interface Datagram {
  readonly remote: string
  readonly bytes: Uint8Array
}

export type Routed =
  | { readonly _tag: "Delivered"; readonly remote: string; readonly connection: UtpConnection }
  | { readonly _tag: "Accepted"; readonly remote: string; readonly connection: UtpConnection }
  | { readonly _tag: "Refused"; readonly reason: "Malformed" | "NoConnection" | "NotAccepting" | "Full" }

export interface UtpSocketsOptions extends UtpOptions {
  readonly maxConnections?: number
  /** False: SYNs are refused (outgoing connections only). */
  readonly accepting?: boolean
  /** How long a closed connection stays to acknowledge a FIN sent again. */
  readonly lingerMs?: number
}

const resetMemoryMs = 10_000
export const maxResetMemory = 1000

interface Entry {
  readonly remote: string
  readonly connection: UtpConnection
  closedAtMs: number | undefined
}

const keyOf = (remote: string, recvId: number) => `${remote}/${recvId & 0xffff}`

export class UtpSockets {
  private readonly entries = new Map<string, Entry>()
  private readonly resets: Array<Datagram> = []
  /** Stray packets answered lately, by address, id and sequence number: answered once. */
  private readonly answered = new Map<string, number>()
  private readonly random: () => number

  constructor(private readonly options: UtpSocketsOptions = {}) {
    this.random = options.random ?? Math.random
  }

  size(): number {
    return this.entries.size
  }

  connections(): Array<{ readonly remote: string; readonly connection: UtpConnection }> {
    return [...this.entries.values()]
  }

  /** A new connection to `remote`, on a receive id no other connection with that address has. */
  dial(remote: string, nowMs: number): UtpConnection {
    // A few random ids, then the first free one in order (a remote cannot hold all 65,535).
    let attempt = 0
    for (;;) {
      const id = attempt < 16 ? Math.floor(this.random() * 0xffff) : attempt - 16
      attempt++
      if (this.entries.has(keyOf(remote, id))) continue
      const connection = UtpConnection.connect(nowMs, { ...this.options, random: () => id / 0xffff })
      this.entries.set(keyOf(remote, connection.recvId), { remote, connection, closedAtMs: undefined })
      return connection
    }
  }

  receive(remote: string, bytes: Uint8Array, nowMs: number): Routed {
    const decoded = decode(bytes)
    if (Either.isLeft(decoded)) return { _tag: "Refused", reason: "Malformed" }
    const p = decoded.right
    if (p.type === PacketType.Reset) {
      const entry = this.resetTarget(remote, p.connectionId)
      if (entry === undefined) return { _tag: "Refused", reason: "NoConnection" }
      entry.connection.receive(p, nowMs)
      return { _tag: "Delivered", remote, connection: entry.connection }
    }
    if (p.type === PacketType.Syn) return this.syn(remote, p, nowMs)
    const entry = this.entries.get(keyOf(remote, p.connectionId))
    if (entry === undefined) {
      this.answer(remote, p, nowMs)
      return { _tag: "Refused", reason: "NoConnection" }
    }
    entry.connection.receive(p, nowMs)
    return { _tag: "Delivered", remote, connection: entry.connection }
  }

  /** Every connection's timers; connections reset, or closed for longer than the linger, are dropped. */
  tick(nowMs: number): void {
    const linger = this.options.lingerMs ?? 30_000
    for (const [key, entry] of this.entries) {
      const c = entry.connection
      c.tick(nowMs)
      if (c.state === "Closed" && entry.closedAtMs === undefined) entry.closedAtMs = nowMs
      const gone = c.state === "Reset" || (entry.closedAtMs !== undefined && nowMs - entry.closedAtMs >= linger)
      // Dropped once its last packets are taken (a RESET it sent, an ACK of the FIN).
      if (gone) {
        for (const bytes of c.takePackets()) this.resets.push({ remote: entry.remote, bytes })
        this.entries.delete(key)
      }
    }
    for (const [key, at] of this.answered) if (nowMs - at >= resetMemoryMs) this.answered.delete(key)
  }

  /** The RESETs to send (answers to stray packets, and the last packets of connections dropped). */
  takeResets(): Array<Datagram> {
    return this.resets.splice(0)
  }

  /** What every connection has to send, and the RESETs. */
  takeDatagrams(): Array<Datagram> {
    const out = this.resets.splice(0)
    for (const entry of this.entries.values()) {
      for (const bytes of entry.connection.takePackets()) out.push({ remote: entry.remote, bytes })
    }
    return out
  }

  private syn(remote: string, p: UtpPacket, nowMs: number): Routed {
    const key = keyOf(remote, p.connectionId + 1)
    const existing = this.entries.get(key)
    if (existing !== undefined) {
      existing.connection.receive(p, nowMs)
      return { _tag: "Delivered", remote, connection: existing.connection }
    }
    const refusal = this.options.accepting === false
      ? "NotAccepting" as const
      : this.entries.size >= (this.options.maxConnections ?? 1000) ? "Full" as const : undefined
    if (refusal !== undefined) {
      this.answer(remote, p, nowMs)
      return { _tag: "Refused", reason: refusal }
    }
    const connection = UtpConnection.accept(p, nowMs, this.options)
    this.entries.set(key, { remote, connection, closedAtMs: undefined })
    return { _tag: "Accepted", remote, connection }
  }

  /** A RESET's id is the receiver's receive id, or its send id (libutp's answer to a stray packet). */
  private resetTarget(remote: string, id: number): Entry | undefined {
    const own = this.entries.get(keyOf(remote, id))
    if (own !== undefined) return own
    for (const near of [id + 1, id - 1]) {
      const entry = this.entries.get(keyOf(remote, near))
      if (entry !== undefined && entry.connection.sendId === (id & 0xffff)) return entry
    }
    return undefined
  }

  /** A RESET for a packet that has no connection, with the packet's own id, once per stray stream. */
  private answer(remote: string, p: UtpPacket, nowMs: number): void {
    const key = `${remote}/${p.connectionId}/${p.seqNr}`
    if (this.answered.has(key) || this.answered.size >= maxResetMemory) return
    this.answered.set(key, nowMs)
    this.resets.push({
      remote,
      bytes: encodeToBytes({
        type: PacketType.Reset,
        connectionId: p.connectionId,
        timestampMicros: 0,
        timestampDifferenceMicros: 0,
        windowSize: 0,
        seqNr: Math.floor(this.random() * 0x10000),
        ackNr: p.seqNr,
        selectiveAck: undefined,
        payload: new Uint8Array(0)
      })
    })
  }
}

/**
 * What a DHT node keeps for others (BEP 5), and what protects it: the peers announced to us per info hash,
 * the secrets behind announce tokens, and the rate limits on the queries we answer. Synchronous and
 * mutable, with the time passed in by the caller (Effect's Clock), as RoutingTable.
 *
 * - PeerStore: peers expire 30 minutes after their last announce; at most 2,000 info hashes of 100 peers,
 *   the least recently announced info hash (or peer) evicted first. get_peers answers at most 50 values,
 *   which with the rest of a response stays well inside a datagram.
 * - TokenSecrets: a token is SHA-1(ip bytes + secret), truncated to 8 bytes; the secret rotates every 5
 *   minutes and the current and previous ones are accepted, so a token is good for 5 to 10 minutes and
 *   only from the address it was given to.
 * - RateLimiter: a token bucket per sender IP (20 queries/s, burst 50) and one for everybody (200/s, burst
 *   500), so that one flooder cannot make us its amplifier nor take all our answers; over the limit, a
 *   query is dropped without a word. At most 10,000 senders are tracked; idle ones are forgotten first.
 */
import { createHash } from "node:crypto"
import { PeerAddress } from "../../domain/PeerAddress.js"
import { parseIp } from "../../protocol/CompactPeers.js"

// ---------------------------------------------------------------------------------------------------------
// Peers announced to us

export interface PeerStoreLimits {
  readonly maxInfoHashes: number
  readonly maxPeersPerInfoHash: number
  readonly peerTtlMs: number
}

export const defaultPeerStoreLimits: PeerStoreLimits = {
  maxInfoHashes: 2_000,
  maxPeersPerInfoHash: 100,
  peerTtlMs: 30 * 60_000
}

/** Values in one get_peers answer: 50 × 6 bytes (or 18 for IPv6) plus the rest fits a datagram. */
export const maxValuesPerResponse = 50

const hexOf = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")

export class PeerStore {
  /** Per info hash (hex), its peers ("host|port") in announce order; both maps in least recent first order. */
  private readonly swarms = new Map<string, Map<string, { readonly peer: PeerAddress; readonly at: number }>>()
  private count = 0

  constructor(readonly limits: PeerStoreLimits = defaultPeerStoreLimits) {}

  /** Peers stored, over all info hashes. */
  get size(): number {
    return this.count
  }

  get infoHashes(): number {
    return this.swarms.size
  }

  announce(infoHash: Uint8Array, peer: { readonly host: string; readonly port: number }, now: number): void {
    const key = hexOf(infoHash)
    let swarm = this.swarms.get(key)
    if (swarm === undefined) {
      if (this.swarms.size >= this.limits.maxInfoHashes) this.evictOldestSwarm()
      swarm = new Map()
    } else {
      // Re-inserted: most recently announced last.
      this.swarms.delete(key)
    }
    this.swarms.set(key, swarm)
    const peerKey = `${peer.host}|${peer.port}`
    if (swarm.delete(peerKey)) this.count--
    else if (swarm.size >= this.limits.maxPeersPerInfoHash) {
      const oldest = swarm.keys().next()
      if (oldest.done !== true) {
        swarm.delete(oldest.value)
        this.count--
      }
    }
    swarm.set(peerKey, { peer: new PeerAddress({ host: peer.host, port: peer.port }, true), at: now })
    this.count++
  }

  /** Up to `max` live peers of the info hash, most recently announced first. */
  get(infoHash: Uint8Array, now: number, max = maxValuesPerResponse): Array<PeerAddress> {
    const key = hexOf(infoHash)
    const swarm = this.swarms.get(key)
    if (swarm === undefined) return []
    this.expireSwarm(key, swarm, now)
    const peers: Array<PeerAddress> = []
    for (const { peer } of swarm.values()) peers.push(peer)
    return peers.reverse().slice(0, max)
  }

  /** Drops every peer older than the time to live. */
  expire(now: number): void {
    for (const [key, swarm] of [...this.swarms]) this.expireSwarm(key, swarm, now)
  }

  private expireSwarm(key: string, swarm: Map<string, { readonly at: number }>, now: number): void {
    // In announce order, so the expired ones are first.
    for (const [peerKey, entry] of swarm) {
      if (now - entry.at < this.limits.peerTtlMs) break
      swarm.delete(peerKey)
      this.count--
    }
    if (swarm.size === 0) this.swarms.delete(key)
  }

  private evictOldestSwarm(): void {
    const oldest = this.swarms.entries().next()
    if (oldest.done === true) return
    this.count -= oldest.value[1].size
    this.swarms.delete(oldest.value[0])
  }
}

// ---------------------------------------------------------------------------------------------------------
// Announce tokens

export const tokenRotationMs = 5 * 60_000
export const tokenBytes = 8

const addressBytes = (host: string): Uint8Array => parseIp(host)?.bytes ?? Buffer.from(host, "utf8")

const tokenFor = (host: string, secret: Uint8Array): Uint8Array =>
  new Uint8Array(createHash("sha1").update(addressBytes(host)).update(secret).digest().subarray(0, tokenBytes))

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

export class TokenSecrets {
  private previous: Uint8Array

  constructor(private current: Uint8Array) {
    this.previous = current
  }

  /** A new secret (random, from the caller): tokens made two rotations ago stop being accepted. */
  rotate(secret: Uint8Array): void {
    this.previous = this.current
    this.current = secret
  }

  /** The token to give `host` in a get_peers answer. */
  tokenFor(host: string): Uint8Array {
    return tokenFor(host, this.current)
  }

  /** Whether `token` was given to `host` under the current or the previous secret. */
  isValid(host: string, token: Uint8Array): boolean {
    if (token.length !== tokenBytes) return false
    return sameBytes(token, tokenFor(host, this.current)) || sameBytes(token, tokenFor(host, this.previous))
  }
}

// ---------------------------------------------------------------------------------------------------------
// Rate limits

export interface RateLimits {
  readonly perSenderPerSecond: number
  readonly perSenderBurst: number
  readonly totalPerSecond: number
  readonly totalBurst: number
  readonly maxSenders: number
}

export const defaultRateLimits: RateLimits = {
  perSenderPerSecond: 20,
  perSenderBurst: 50,
  totalPerSecond: 200,
  totalBurst: 500,
  maxSenders: 10_000
}

interface TokenBucket {
  tokens: number
  at: number
}

const take = (bucket: TokenBucket, perSecond: number, burst: number, now: number): boolean => {
  bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) * perSecond) / 1000)
  bucket.at = now
  if (bucket.tokens < 1) return false
  bucket.tokens -= 1
  return true
}

export class RateLimiter {
  private readonly senders = new Map<string, TokenBucket>()
  private readonly total: TokenBucket
  /** Queries refused, over all senders. */
  dropped = 0

  constructor(readonly limits: RateLimits = defaultRateLimits, now = 0) {
    this.total = { tokens: limits.totalBurst, at: now }
  }

  /** Whether a query from `host` may be answered now; counts it either way. */
  allow(host: string, now: number): boolean {
    let bucket = this.senders.get(host)
    if (bucket === undefined) {
      if (this.senders.size >= this.limits.maxSenders) this.forgetIdle(now)
      bucket = { tokens: this.limits.perSenderBurst, at: now }
      this.senders.set(host, bucket)
    }
    // The sender's own bucket first: a flooder over its limit does not drain everybody's.
    const ok =
      take(bucket, this.limits.perSenderPerSecond, this.limits.perSenderBurst, now) &&
      take(this.total, this.limits.totalPerSecond, this.limits.totalBurst, now)
    if (!ok) this.dropped++
    return ok
  }

  get tracked(): number {
    return this.senders.size
  }

  /** Senders whose bucket has refilled are the same as unknown ones: forgotten; if none is, the oldest half. */
  private forgetIdle(now: number): void {
    const refillMs = (this.limits.perSenderBurst / this.limits.perSenderPerSecond) * 1000
    for (const [host, bucket] of this.senders) if (now - bucket.at >= refillMs) this.senders.delete(host)
    if (this.senders.size < this.limits.maxSenders) return
    let n = Math.ceil(this.senders.size / 2)
    for (const host of this.senders.keys()) {
      if (n-- <= 0) break
      this.senders.delete(host)
    }
  }
}

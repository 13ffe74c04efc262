/**
 * The DHT routing table (BEP 5): k-buckets over the 160-bit id space, of k = 8 nodes each.
 *
 * Buckets split only when they cover our own id, so the table is a list: bucket i (i < last) holds the
 * nodes whose ids share exactly i leading bits with ours, and the last bucket holds those sharing more. A
 * full bucket splits when it is the last one; otherwise a newcomer replaces a bad node if there is one,
 * else waits in the bucket's replacement cache while the caller pings the least recently seen
 * questionable node (`Full.ping`): two failures in a row make a node bad, and a bad node gives its place
 * to the newest replacement.
 *
 * Node states: good (answered one of our queries in the last 15 minutes, or answered once and queried us
 * in the last 15 minutes), bad (2+ failed queries in a row), questionable otherwise. A bucket whose
 * contents have not changed for 15 minutes is due for a refresh (a lookup for a random id in its range).
 *
 * Mutable, and synchronous: the caller passes the time (Effect's Clock) and the randomness. Sizes are
 * small (at most 160 buckets of 8), so `closest` scans every node: O(n · count), no sorting of the table.
 */
import { bit, commonPrefixLength, compareDistance, equals, idBits, nodeId, type NodeId, randomWithPrefix, toHex } from "./NodeId.js"

export const k = 8
/** A node that answered within this long is good. */
export const goodForMs = 15 * 60_000
/** A bucket unchanged for this long is refreshed. */
export const refreshAfterMs = 15 * 60_000
/** Failed queries in a row that make a node bad. */
export const badAfterFailures = 2
/** Newcomers kept per full bucket, newest first out. */
export const replacementsPerBucket = 8

export interface Contact {
  readonly id: Uint8Array
  readonly host: string
  readonly port: number
}

export type NodeState = "Good" | "Questionable" | "Bad"

export interface NodeEntry extends Contact {
  readonly id: NodeId
  /** It has answered one of our queries at least once. */
  answered: boolean
  /** When it last answered us (or queried us, once it has answered); when added if never. */
  lastActive: number
  /** Failed queries in a row. */
  failures: number
  /** Being pinged to decide whether a newcomer may take its place. */
  pinging: boolean
}

interface Replacement {
  readonly contact: Contact
  readonly answered: boolean
}

interface Bucket {
  readonly nodes: Array<NodeEntry>
  readonly replacements: Array<Replacement>
  lastChanged: number
}

/** How we heard from a node: it answered our query, or it sent us one. */
export type Heard = "Response" | "Query"

export type InsertOutcome =
  | { readonly _tag: "Added" }
  | { readonly _tag: "Updated" }
  /** The bucket is full: the newcomer is a replacement; ping `ping` (questionable) to make room. */
  | { readonly _tag: "Full"; readonly ping: NodeEntry | undefined }
  | { readonly _tag: "Rejected"; readonly why: string }

const notBad = (entry: NodeEntry): boolean => entry.failures < badAfterFailures

const endpointKey = (c: { readonly host: string; readonly port: number }): string => `${c.host}|${c.port}`

export class RoutingTable {
  private readonly buckets: Array<Bucket>
  private readonly byId = new Map<string, NodeEntry>()
  private readonly byEndpoint = new Map<string, NodeEntry>()

  constructor(readonly own: NodeId, now: number) {
    this.buckets = [{ nodes: [], replacements: [], lastChanged: now }]
  }

  get size(): number {
    return this.byId.size
  }

  get bucketCount(): number {
    return this.buckets.length
  }

  /** The nodes of bucket `index`, least recently added first. */
  bucket(index: number): ReadonlyArray<NodeEntry> {
    return this.buckets[index]?.nodes ?? []
  }

  /** The replacement cache of bucket `index`, oldest first. */
  replacements(index: number): ReadonlyArray<Contact> {
    return (this.buckets[index]?.replacements ?? []).map((r) => r.contact)
  }

  bucketIndexOf(id: Uint8Array): number {
    return Math.min(commonPrefixLength(this.own, id), this.buckets.length - 1)
  }

  find(id: Uint8Array): NodeEntry | undefined {
    return this.byId.get(toHex(id))
  }

  findEndpoint(endpoint: { readonly host: string; readonly port: number }): NodeEntry | undefined {
    return this.byEndpoint.get(endpointKey(endpoint))
  }

  entries(): Array<NodeEntry> {
    return [...this.byId.values()]
  }

  stateOf(entry: NodeEntry, now: number): NodeState {
    if (entry.failures >= badAfterFailures) return "Bad"
    return entry.answered && entry.failures === 0 && now - entry.lastActive < goodForMs ? "Good" : "Questionable"
  }

  /** Records that `contact` answered us or queried us, adding it when there is room (see the header). */
  heard(contact: Contact, how: Heard, now: number): InsertOutcome {
    if (contact.id.length !== 20) return { _tag: "Rejected", why: "not a 20-byte id" }
    if (equals(contact.id, this.own)) return { _tag: "Rejected", why: "our own id" }
    const existing = this.find(contact.id)
    if (existing !== undefined) return this.update(existing, contact, how, now)
    const sameEndpoint = this.findEndpoint(contact)
    if (sameEndpoint !== undefined) {
      // One address, one node: a node that answers with a new id restarted; a query may be spoofed.
      if (how === "Query" && this.stateOf(sameEndpoint, now) === "Good") return { _tag: "Rejected", why: "address known under another id" }
      this.remove(sameEndpoint.id)
    }
    const answered = how === "Response"
    for (;;) {
      const index = this.bucketIndexOf(contact.id)
      const bucket = this.buckets[index]!
      if (bucket.nodes.length < k) {
        this.add(bucket, contact, answered, now)
        return { _tag: "Added" }
      }
      if (index === this.buckets.length - 1 && this.buckets.length < idBits) {
        this.split()
        continue
      }
      const bad = bucket.nodes.find((n) => this.stateOf(n, now) === "Bad")
      if (bad !== undefined) {
        this.remove(bad.id)
        this.add(bucket, contact, answered, now)
        return { _tag: "Added" }
      }
      this.addReplacement(bucket, { contact, answered })
      let ping: NodeEntry | undefined
      for (const n of bucket.nodes) {
        if (n.pinging || this.stateOf(n, now) !== "Questionable") continue
        if (ping === undefined || n.lastActive < ping.lastActive) ping = n
      }
      if (ping !== undefined) ping.pinging = true
      return { _tag: "Full", ping }
    }
  }

  /** A query to the node timed out; a bad node gives its place to the newest replacement. Returns
   *  whether it was removed. */
  failed(id: Uint8Array, now: number): boolean {
    const entry = this.find(id)
    if (entry === undefined) return false
    entry.failures++
    entry.pinging = false
    if (entry.failures < badAfterFailures) return false
    const bucket = this.buckets[this.bucketIndexOf(id)]!
    const replacement = bucket.replacements.pop()
    if (replacement === undefined) return false
    this.remove(id)
    if (this.find(replacement.contact.id) === undefined && this.findEndpoint(replacement.contact) === undefined) {
      this.add(bucket, replacement.contact, replacement.answered, now)
    }
    return true
  }

  /** A node that has never answered, to be pinged now: marks it as being pinged (undefined when it has
   *  answered, is unknown, or a ping is already out). The answer or the failure clears the mark. */
  claimVerification(id: Uint8Array): NodeEntry | undefined {
    const entry = this.find(id)
    if (entry === undefined || entry.answered || entry.pinging) return undefined
    entry.pinging = true
    return entry
  }

  /** A ping that was to decide a node's fate ended without an answer or failure (e.g. not sent). */
  release(id: Uint8Array): void {
    const entry = this.find(id)
    if (entry !== undefined) entry.pinging = false
  }

  remove(id: Uint8Array): void {
    const entry = this.find(id)
    if (entry === undefined) return
    const bucket = this.buckets[this.bucketIndexOf(id)]!
    const at = bucket.nodes.indexOf(entry)
    if (at >= 0) bucket.nodes.splice(at, 1)
    this.byId.delete(toHex(id))
    this.byEndpoint.delete(endpointKey(entry))
  }

  /**
   * The `count` nodes closest to `target` among those `include` accepts (by default all but bad ones),
   * closest first.
   */
  closest(target: Uint8Array, count: number, include: (entry: NodeEntry) => boolean = notBad): Array<NodeEntry> {
    const best: Array<NodeEntry> = []
    if (count <= 0) return best
    for (const entry of this.byId.values()) {
      if (!include(entry)) continue
      if (best.length === count && compareDistance(target, entry.id, best[count - 1]!.id) >= 0) continue
      let at = best.length
      while (at > 0 && compareDistance(target, entry.id, best[at - 1]!.id) < 0) at--
      best.splice(at, 0, entry)
      if (best.length > count) best.pop()
    }
    return best
  }

  /** Buckets not changed for `refreshAfterMs`. */
  dueForRefresh(now: number): Array<number> {
    const due: Array<number> = []
    this.buckets.forEach((b, i) => {
      if (now - b.lastChanged >= refreshAfterMs) due.push(i)
    })
    return due
  }

  /** Marks bucket `index` as fresh (a refresh of it has started). */
  touch(index: number, now: number): void {
    const bucket = this.buckets[index]
    if (bucket !== undefined) bucket.lastChanged = now
  }

  /** A random id in bucket `index`'s range, from 20 random bytes. */
  randomIdIn(index: number, random: Uint8Array): NodeId {
    const last = index >= this.buckets.length - 1
    return randomWithPrefix(this.own, Math.min(index, this.buckets.length - 1), !last, random)
  }

  private update(existing: NodeEntry, contact: Contact, how: Heard, now: number): InsertOutcome {
    const moved = existing.host !== contact.host || existing.port !== contact.port
    if (moved) {
      // Only an answer (which needs a working round trip) may move a node, and not a good one.
      if (how === "Query" || this.stateOf(existing, now) === "Good") return { _tag: "Rejected", why: "id known at another address" }
      if (this.findEndpoint(contact) !== undefined) return { _tag: "Rejected", why: "address known under another id" }
      this.remove(existing.id)
      const bucket = this.buckets[this.bucketIndexOf(contact.id)]!
      this.add(bucket, contact, true, now)
      return { _tag: "Updated" }
    }
    if (how === "Response") {
      existing.answered = true
      existing.failures = 0
      existing.pinging = false
      existing.lastActive = now
      this.buckets[this.bucketIndexOf(existing.id)]!.lastChanged = now
    } else if (existing.answered) {
      existing.lastActive = now
    }
    return { _tag: "Updated" }
  }

  private add(bucket: Bucket, contact: Contact, answered: boolean, now: number): void {
    const entry: NodeEntry = {
      id: nodeId(Uint8Array.from(contact.id)),
      host: contact.host,
      port: contact.port,
      answered,
      lastActive: now,
      failures: 0,
      pinging: false
    }
    bucket.nodes.push(entry)
    bucket.lastChanged = now
    const at = bucket.replacements.findIndex((r) => equals(r.contact.id, contact.id))
    if (at >= 0) bucket.replacements.splice(at, 1)
    this.byId.set(toHex(entry.id), entry)
    this.byEndpoint.set(endpointKey(entry), entry)
  }

  private addReplacement(bucket: Bucket, replacement: Replacement): void {
    const at = bucket.replacements.findIndex((r) => equals(r.contact.id, replacement.contact.id))
    if (at >= 0) bucket.replacements.splice(at, 1)
    bucket.replacements.push(replacement)
    if (bucket.replacements.length > replacementsPerBucket) bucket.replacements.shift()
  }

  /** Splits the last bucket: the nodes (and replacements) sharing one more bit with us move to a new one. */
  private split(): void {
    const depth = this.buckets.length - 1
    const old = this.buckets[depth]!
    const near: Bucket = { nodes: [], replacements: [], lastChanged: old.lastChanged }
    const stays = (id: Uint8Array) => bit(id, depth) !== bit(this.own, depth)
    const kept = old.nodes.filter((n) => stays(n.id))
    near.nodes.push(...old.nodes.filter((n) => !stays(n.id)))
    const keptReplacements = old.replacements.filter((r) => stays(r.contact.id))
    near.replacements.push(...old.replacements.filter((r) => !stays(r.contact.id)))
    old.nodes.splice(0, old.nodes.length, ...kept)
    old.replacements.splice(0, old.replacements.length, ...keptReplacements)
    this.buckets.push(near)
  }
}

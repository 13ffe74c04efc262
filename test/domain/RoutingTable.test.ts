/**
 * The routing table as BEP 5 describes it: buckets of at most k = 8 that split only when they cover our
 * own id, newcomers to a full bucket waiting while its oldest questionable node is pinged, bad nodes
 * replaced, closest() agreeing with a brute-force sort, and buckets due for refresh after 15 minutes.
 */
import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as NodeId from "../../src/domain/NodeId.js"
import { goodForMs, k, refreshAfterMs, RoutingTable } from "../../src/domain/RoutingTable.js"
import * as Prng from "../../src/domain/Prng.js"

const own = NodeId.nodeId(new Uint8Array(20))
let serial = 0

/** An id starting with `prefix` (bits as "0"/"1"), then a serial number in the last bytes. */
const idWith = (prefix: string): Uint8Array => {
  const out = new Uint8Array(20)
  for (let i = 0; i < prefix.length; i++) if (prefix[i] === "1") out[i >> 3]! |= 0x80 >> (i & 7)
  const n = ++serial
  out[17] = (n >> 16) & 0xff
  out[18] = (n >> 8) & 0xff
  out[19] = n & 0xff
  return out
}

const contact = (id: Uint8Array, n = serial) => ({ id, host: `10.0.${(n >> 8) & 0xff}.${n & 0xff}`, port: 6881 })

const randomIds = (seed: number, count: number): Array<Uint8Array> => {
  const prng = Prng.make(seed)
  return Array.from({ length: count }, () => Uint8Array.from({ length: 20 }, () => prng.below(256)))
}

describe("RoutingTable", () => {
  it("splits only the bucket that covers our id, and never holds more than k per bucket", () => {
    const table = new RoutingTable(own, 0)
    // 20 nodes in the far half (first bit 1): one bucket of 8 once split off.
    for (let i = 0; i < 20; i++) table.heard(contact(idWith("1")), "Response", 0)
    expect(table.bucketCount).toBe(2)
    expect(table.bucket(0).length).toBe(k)
    // 20 nodes sharing 3 bits with us, then 1: the bucket of our id splits down to depth 4.
    for (let i = 0; i < 20; i++) table.heard(contact(idWith("0001")), "Response", 0)
    expect(table.bucketCount).toBe(5)
    expect(table.bucket(3).length).toBe(k)
    expect(table.bucket(1).length + table.bucket(2).length).toBe(0)
    // The far bucket did not split again although 20 more came.
    for (let i = 0; i < 20; i++) table.heard(contact(idWith("11")), "Response", 0)
    expect(table.bucketCount).toBe(5)
    expect(table.bucket(0).length).toBe(k)
    expect(table.size).toBe(2 * k)
    for (let b = 0; b < table.bucketCount; b++) {
      for (const n of table.bucket(b)) expect(table.bucketIndexOf(n.id)).toBe(b)
    }
  })

  it("a full bucket asks to ping its oldest questionable node, keeps the newcomer as a replacement, and lets it in when that node fails twice", () => {
    const table = new RoutingTable(own, 0)
    const first = contact(idWith("1"))
    table.heard(first, "Response", 0)
    for (let i = 1; i < k; i++) table.heard(contact(idWith("1")), "Response", 1000 * i)
    table.heard(contact(idWith("0")), "Response", 0) // splits: the far bucket is now bucket 0
    // Everyone is good: a newcomer waits in the replacement cache, nobody to ping.
    const early = contact(idWith("1"))
    expect(table.heard(early, "Response", 60_000)).toEqual({ _tag: "Full", ping: undefined })
    // 15 minutes later they are questionable: the least recently seen one (the first) is to be pinged.
    const now = 1000 + goodForMs
    const newcomer = contact(idWith("1"))
    const outcome = table.heard(newcomer, "Response", now)
    expect(outcome._tag).toBe("Full")
    expect(outcome._tag === "Full" && NodeId.equals(outcome.ping!.id, first.id)).toBe(true)
    expect(table.stateOf(table.find(first.id)!, now)).toBe("Questionable")
    // A second newcomer does not ping the same node again while that ping is out.
    const another = table.heard(contact(idWith("1")), "Response", now)
    expect(another._tag === "Full" && another.ping !== undefined && !NodeId.equals(another.ping.id, first.id)).toBe(true)
    // One failure: still there. Two: bad, replaced by the newest replacement.
    expect(table.failed(first.id, now)).toBe(false)
    expect(table.find(first.id)).toBeDefined()
    expect(table.failed(first.id, now)).toBe(true)
    expect(table.find(first.id)).toBeUndefined()
    expect(table.bucket(0).length).toBe(k)
    expect(table.replacements(0).length).toBe(2)
  })

  it("a newcomer takes the place of a bad node at once", () => {
    const table = new RoutingTable(own, 0)
    const ids = Array.from({ length: k }, () => idWith("1"))
    ids.forEach((id, i) => table.heard(contact(id, 100 + i), "Response", 0))
    table.heard(contact(idWith("0"), 300), "Response", 0)
    table.failed(ids[3]!, 10)
    table.failed(ids[3]!, 20)
    expect(table.stateOf(table.find(ids[3]!)!, 20)).toBe("Bad")
    const newcomer = contact(idWith("1"), 400)
    expect(table.heard(newcomer, "Query", 30)).toEqual({ _tag: "Added" })
    expect(table.find(ids[3]!)).toBeUndefined()
    expect(table.find(newcomer.id)?.answered).toBe(false)
    // A node that only queried us is questionable until it answers; then good; bad ones are not handed out.
    expect(table.stateOf(table.find(newcomer.id)!, 30)).toBe("Questionable")
    table.heard(newcomer, "Response", 40)
    expect(table.stateOf(table.find(newcomer.id)!, 40)).toBe("Good")
  })

  it("one address, one id: an answer under a new id replaces the old entry; a query cannot move a good node", () => {
    const table = new RoutingTable(own, 0)
    const a = contact(idWith("1"), 7)
    table.heard(a, "Response", 0)
    const restarted = { ...a, id: idWith("1") }
    expect(table.heard(restarted, "Query", 10)._tag).toBe("Rejected")
    expect(table.heard(restarted, "Response", 10)._tag).toBe("Added")
    expect(table.find(a.id)).toBeUndefined()
    expect(table.size).toBe(1)
    // Our own id is never added.
    expect(table.heard(contact(own), "Response", 10)._tag).toBe("Rejected")
    // The same id from another address is refused while the node is good.
    expect(table.heard({ ...restarted, host: "10.9.9.9" }, "Response", 20)._tag).toBe("Rejected")
    expect(table.find(restarted.id)?.host).toBe(a.host)
  })

  it.prop(
    "closest(target, k) is the k nearest non-bad nodes by brute force",
    [FastCheck.integer({ min: 1, max: 1_000_000 }), FastCheck.integer({ min: 0, max: 300 }), FastCheck.integer({ min: 1, max: 20 })],
    ([seed, count, want]) => {
      const [mine, target, ...others] = randomIds(seed, count + 2)
      const table = new RoutingTable(NodeId.nodeId(mine!), 0)
      others.forEach((id, i) => table.heard(contact(id, i), "Response", 0))
      // A few bad ones, which closest() leaves out.
      const entries = table.entries()
      for (const e of entries.slice(0, 3)) {
        table.failed(e.id, 1)
        table.failed(e.id, 1)
      }
      const live = table.entries().filter((e) => e.failures < 2)
      const expected = NodeId.sortByDistance(target!, live).slice(0, want).map((e) => NodeId.toHex(e.id))
      expect(table.closest(target!, want).map((e) => NodeId.toHex(e.id))).toEqual(expected)
      expect(table.size).toBeLessThanOrEqual(table.bucketCount * k)
    }
  )

  it("a bucket unchanged for 15 minutes is due for refresh, with a random id in its own range", () => {
    const table = new RoutingTable(own, 0)
    for (let i = 0; i < 3 * k; i++) table.heard(contact(idWith(i % 2 === 0 ? "1" : "01")), "Response", 0)
    expect(table.bucketCount).toBe(3)
    expect(table.dueForRefresh(refreshAfterMs - 1)).toEqual([])
    // An answer in bucket 1 keeps it fresh.
    const fresh = table.bucket(1)[0]!
    table.heard(fresh, "Response", 10 * 60_000)
    expect(table.dueForRefresh(refreshAfterMs)).toEqual([0, 2])
    table.touch(0, refreshAfterMs)
    expect(table.dueForRefresh(refreshAfterMs)).toEqual([2])
    for (const [index, seed] of [[0, 1], [1, 2], [2, 3]] as const) {
      const target = table.randomIdIn(index, randomIds(seed, 1)[0]!)
      expect(table.bucketIndexOf(target)).toBe(index)
    }
  })
})

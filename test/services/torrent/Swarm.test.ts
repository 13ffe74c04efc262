/**
 * One connection per peer: when a second one comes, both sides must keep the same one whatever order they
 * saw them in, or each keeps its own, refuses the other's, and none is left (stall.test.ts runs it whole).
 */
import { describe, expect, it } from "@effect/vitest"
import * as InfoHash from "../../../src/domain/InfoHash.js"
import { PeerAddress } from "../../../src/domain/PeerAddress.js"
import type { PeerLink } from "../../../src/services/peer/PeerContext.js"
import { Swarm } from "../../../src/services/torrent/Swarm.js"

const id = (c: string) => new Uint8Array(20).fill(c.charCodeAt(0))

/** A link that records whether it was ended; `listen` is where the peer listens. */
const link = (key: string, inbound: boolean, listen?: string) => {
  const ended: Array<string> = []
  const l = {
    key,
    host: key.slice(0, key.lastIndexOf(":")),
    inbound,
    listenAddress: () =>
      listen === undefined ? undefined : new PeerAddress({ host: listen.split(":")[0]!, port: Number(listen.split(":")[1]) }),
    end: (reason: string) => void ended.push(reason)
  } as unknown as PeerLink
  return { link: l, ended }
}

/** Which connection each side keeps when both dialled: ours is "a", theirs "b". */
const simultaneous = (ours: string, theirs: string, inboundFirst: boolean) => {
  const swarm = new Swarm(InfoHash.toHex(id(ours)))
  const outbound = link("10.0.0.2:6881", false)
  const inbound = link("10.0.0.2:50000", true)
  const [first, second] = inboundFirst ? [inbound, outbound] : [outbound, inbound]
  expect(swarm.attach(first.link, id(theirs))).toBeUndefined()
  const refused = swarm.attach(second.link, id(theirs))
  const kept = refused === undefined ? second : first
  expect(swarm.size).toBe(1)
  expect(swarm.has(kept.link.key)).toBe(true)
  if (refused === undefined) expect(first.ended).toEqual(["Duplicate"])
  return kept === outbound ? "ours" : "theirs"
}

describe("Swarm", () => {
  it("both sides dialled: the connection opened by the lower peer id, whichever came first", () => {
    // We are "a", the peer "b": our dial stays, on our side, in either order...
    expect([simultaneous("a", "b", true), simultaneous("a", "b", false)]).toEqual(["ours", "ours"])
    // ... and on its side (it is "b", we are "a"), ours is its inbound: the same connection.
    expect([simultaneous("b", "a", true), simultaneous("b", "a", false)]).toEqual(["theirs", "theirs"])
  })

  it("the peer dialled us again: the new connection replaces the old (broken on its side)", () => {
    const swarm = new Swarm(InfoHash.toHex(id("a")))
    const old = link("10.0.0.2:50000", true)
    const fresh = link("10.0.0.2:50001", true)
    swarm.attach(old.link, id("b"))
    expect(swarm.attach(fresh.link, id("b"))).toBeUndefined()
    expect(old.ended).toEqual(["Duplicate"])
    expect([swarm.has("10.0.0.2:50000"), swarm.has("10.0.0.2:50001")]).toEqual([false, true])
  })

  it("we dialled a second address of the same peer: refused, the first kept", () => {
    const swarm = new Swarm(InfoHash.toHex(id("a")))
    const first = link("10.0.0.2:6881", false)
    expect(swarm.attach(first.link, id("b"))).toBeUndefined()
    expect(swarm.attach(link("10.0.0.3:6881", false).link, id("b"))?.reason).toBe("Duplicate")
    expect(first.ended).toEqual([])
  })

  it("knows where its peers listen: dialled ones, and those that said", () => {
    const swarm = new Swarm(InfoHash.toHex(id("a")))
    swarm.attach(link("10.0.0.2:6881", false, "10.0.0.2:6881").link, id("b"))
    swarm.attach(link("10.0.0.3:50000", true, "10.0.0.3:7000").link, id("c"))
    swarm.attach(link("10.0.0.4:50000", true).link, id("d"))
    expect([...swarm.listenKeys()].sort()).toEqual(["10.0.0.2:6881", "10.0.0.3:7000"])
  })

  it("a connection from another host with the same peer id replaces nothing (a peer id proves nothing)", () => {
    const swarm = new Swarm(InfoHash.toHex(id("b")))
    const honest = link("10.0.0.2:50000", true)
    const ours = link("10.0.0.3:6881", false)
    swarm.attach(honest.link, id("c"))
    swarm.attach(ours.link, id("a"))
    expect(swarm.attach(link("10.0.0.66:50001", true).link, id("c"))?.reason).toBe("Duplicate")
    expect(swarm.attach(link("10.0.0.66:50002", true).link, id("a"))?.reason).toBe("Duplicate")
    expect([honest.ended, ours.ended]).toEqual([[], []])
  })
})

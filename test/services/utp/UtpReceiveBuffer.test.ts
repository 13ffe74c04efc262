/**
 * The receiving half by itself (src/services/utp/UtpReceiveBuffer.ts): order restored, duplicates and
 * packets too far ahead or over the byte budget dropped, the window advertised, the selective ACK's bits,
 * a FIN ahead of its data, and sequence numbers across the 16-bit wrap.
 */
import { describe, expect, it } from "@effect/vitest"
import { sackHas } from "../../../src/protocol/UtpPacket.js"
import { ReceiveBuffer, maxAhead } from "../../../src/services/utp/UtpReceiveBuffer.js"

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill)
const flat = (chunks: Array<Uint8Array>) => [...Buffer.concat(chunks)]

describe("ReceiveBuffer", () => {
  it("puts packets back in order across the wrap, and acknowledges the gap selectively", () => {
    const r = new ReceiveBuffer(65534, 10_000)
    expect(r.accept(1, bytes(1, 3))).toBe("Reordered") // 65535 and 0 are missing
    expect(r.accept(0, bytes(1, 2))).toBe("Reordered")
    const sack = r.selectiveAck()!
    expect(sack.length).toBe(4)
    expect([sackHas(sack, 0), sackHas(sack, 1), sackHas(sack, 2)]).toEqual([true, true, false])
    expect(r.accept(65535, bytes(1, 1))).toBe("InOrder")
    expect(r.ackNr).toBe(1)
    expect(flat(r.take())).toEqual([1, 2, 3])
    expect(r.selectiveAck()).toBeUndefined()
    expect(r.accept(0, bytes(1))).toBe("Duplicate")
  })

  it("keeps what waits within its bytes and its reach, and advertises what is left", () => {
    const r = new ReceiveBuffer(100, 3000)
    expect(r.accept(102, bytes(1000))).toBe("Reordered")
    expect(r.accept(103, bytes(1000))).toBe("Reordered")
    expect(r.window()).toBe(1000)
    expect(r.accept(104, bytes(1001))).toBe("Dropped")
    expect(r.accept(100 + maxAhead + 1, bytes(1))).toBe("Dropped")
    expect(r.accept(101, bytes(1000))).toBe("InOrder")
    expect(r.held()).toBe(3000)
    expect(r.window()).toBe(0)
    expect(r.accept(104, bytes(1))).toBe("Dropped")
    r.take()
    expect(r.window()).toBe(3000)
  })

  it("ends at the FIN once everything before it arrived, and takes nothing past it", () => {
    const r = new ReceiveBuffer(10, 10_000)
    expect(r.fin(13)).toBe("Reordered")
    expect(r.accept(14, bytes(5))).toBe("Dropped")
    expect(r.accept(12, bytes(1, 2))).toBe("Reordered")
    expect(r.finished).toBe(false)
    expect(r.accept(11, bytes(1, 1))).toBe("InOrder")
    expect(r.finished).toBe(true)
    expect(r.ackNr).toBe(13)
    expect(flat(r.take())).toEqual([1, 2])
  })

  it("writes as many 4-byte words of selective ACK as reach the furthest packet, at most 32 bytes", () => {
    const r = new ReceiveBuffer(0, 1_000_000)
    r.accept(2 + 40, bytes(1))
    expect(r.selectiveAck()!.length).toBe(8)
    r.accept(2 + 600, bytes(1))
    expect(r.selectiveAck()!.length).toBe(32)
  })
})

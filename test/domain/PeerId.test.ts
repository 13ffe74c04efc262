import { describe, expect, it } from "@effect/vitest"
import { clientName, make } from "../../src/domain/PeerId.js"

const id = (s: string) => Buffer.from(s.padEnd(20, "x"), "latin1")

describe("PeerId", () => {
  it("makes ours in the Azureus style, 20 bytes", () => {
    const ours = make(new Uint8Array(12).fill(200))
    expect(ours.length).toBe(20)
    expect(Buffer.from(ours.subarray(0, 8)).toString()).toBe("-EF0100-")
    expect(clientName(ours)).toBe("bt-effect 0.1")
  })

  it.each([
    ["-TR3000-", "Transmission 3"],
    ["-qB4650-", "qBittorrent 4.6.5"],
    ["-XY1234-", "XY 1.2.3.4"],
    ["A2-1-36-0-", "aria2 1.36.0"],
    ["M7-4-0--", "BitTorrent 7.4.0"],
    ["\u0000\u0001garbage", "unknown"]
  ])("names the client of %j as %j", (prefix, name) => {
    expect(clientName(id(prefix))).toBe(name)
  })
})

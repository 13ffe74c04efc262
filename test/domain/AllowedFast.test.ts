import { describe, expect, it } from "@effect/vitest"
import { allowedFastSet } from "../../src/domain/AllowedFast.js"

describe("allowedFastSet", () => {
  // BEP 6's own example: 80.4.4.200, info hash 0xaa x 20, 1313 pieces.
  const infoHash = new Uint8Array(20).fill(0xaa)

  it("gives BEP 6's example set, in order", () => {
    expect(allowedFastSet("80.4.4.200", infoHash, 1313, 7)).toEqual([1059, 431, 808, 1217, 287, 376, 1188])
    expect(allowedFastSet("80.4.4.200", infoHash, 1313, 9)).toEqual([1059, 431, 808, 1217, 287, 376, 1188, 353, 508])
  })

  it("is the same for every address of the /24, and never longer than the torrent", () => {
    expect(allowedFastSet("80.4.4.1", infoHash, 1313)).toEqual(allowedFastSet("80.4.4.254", infoHash, 1313))
    expect(allowedFastSet("80.4.4.1", infoHash, 3)).toHaveLength(3)
    expect(new Set(allowedFastSet("80.4.4.1", infoHash, 3))).toEqual(new Set([0, 1, 2]))
  })

  it("gives IPv6 peers and bad hosts no set", () => {
    expect(allowedFastSet("2001:db8::1", infoHash, 1313)).toEqual([])
    expect(allowedFastSet("300.1.1.1", infoHash, 1313)).toEqual([])
  })
})

import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import type { AnnounceEvent, AnnounceRequest } from "../../src/domain/Announce.js"
import { InfoHash } from "../../src/domain/InfoHash.js"
import { PeerId } from "../../src/domain/PeerId.js"
import { announceUrl, percentEncode } from "../../src/protocol/TrackerHttp.js"
import {
  decodeAnnounceQuery,
  decodeScrapeQuery,
  parseQuery,
  percentDecode
} from "../../src/protocol/TrackerHttpRequest.js"

const bytes20 = FastCheck.uint8Array({ minLength: 20, maxLength: 20 })

const request: FastCheck.Arbitrary<AnnounceRequest> = FastCheck.record(
  {
    infoHash: bytes20.map((b) => InfoHash.make(b)),
    peerId: bytes20.map((b) => PeerId.make(b)),
    port: FastCheck.integer({ min: 1, max: 65535 }),
    uploaded: FastCheck.maxSafeNat(),
    downloaded: FastCheck.maxSafeNat(),
    left: FastCheck.maxSafeNat(),
    event: FastCheck.constantFrom<AnnounceEvent>("started", "completed", "stopped", "none"),
    numwant: FastCheck.integer({ min: -1, max: 100_000 }),
    key: FastCheck.integer({ min: 0, max: 0xffffffff }),
    compact: FastCheck.boolean(),
    trackerId: FastCheck.string({ unit: FastCheck.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)) }),
    ip: FastCheck.oneof(FastCheck.ipV4(), FastCheck.ipV6()),
    ipv6: FastCheck.oneof(FastCheck.ipV6(), FastCheck.ipV6().map((a) => `[${a}]:6881`))
  },
  { requiredKeys: ["infoHash", "peerId", "port", "uploaded", "downloaded", "left", "event", "numwant", "key", "compact"] }
)

const queryOf = (url: string) => url.slice(url.indexOf("?") + 1)

const hash = new Uint8Array([0x00, 0x20, 0x25, 0xff, 0x2b, ...new Array<number>(15).fill(0x41)])
const id = new Uint8Array(Buffer.from("-XX0001-a+b~c+d+e+f+", "latin1"))
const base = `info_hash=${percentEncode(hash)}&peer_id=${percentEncode(id)}&port=6881&uploaded=1&downloaded=2&left=3`

const failure = (e: Either.Either<unknown, { readonly detail: string }>) => Either.match(e, { onLeft: (l) => l.detail, onRight: () => "ok" })

describe("TrackerHttpRequest", () => {
  it.prop("decodes what announceUrl encodes", [request], ([req]) => {
    const { numwant, ...rest } = req
    const decoded = decodeAnnounceQuery(queryOf(announceUrl("http://t.example/announce", req)))
    expect(decoded).toEqual(Either.right({ ...rest, numwant: numwant < 0 ? -1 : numwant }))
  })

  it.prop("percent-encoded bytes decode to the same bytes", [FastCheck.uint8Array({ maxLength: 64 })], ([b]) => {
    expect(percentDecode(percentEncode(b))).toEqual(Either.right(b))
  })

  it.prop("no string makes a decoder throw", [FastCheck.string({ maxLength: 300, unit: "binary" })], ([s]) => {
    const announce = decodeAnnounceQuery(s)
    if (Either.isLeft(announce)) expect(announce.left._tag).toBe("TrackerCodecError")
    const scrape = decodeScrapeQuery(s)
    if (Either.isLeft(scrape)) expect(scrape.left._tag).toBe("TrackerCodecError")
  })

  it("'+' is a plus and escapes may be lower case", () => {
    expect(percentDecode("a+b%2b%2B%ff")).toEqual(Either.right(new Uint8Array([0x61, 0x2b, 0x62, 0x2b, 0x2b, 0xff])))
    const decoded = decodeAnnounceQuery(`info_hash=%00%20%25%ff+${"A".repeat(15)}&peer_id=-XX0001-a+b~c+d+e+f+&port=6881&uploaded=1&downloaded=2&left=3`)
    expect(Either.map(decoded, (r) => [r.infoHash, r.peerId])).toEqual(Either.right([hash, id]))
  })

  it("defaults: no event is none, compact unless 0, numwant -1, key 0 when not hex", () => {
    expect(decodeAnnounceQuery(`${base}&key=zz`)).toEqual(Either.right({
      infoHash: hash, peerId: id, port: 6881, uploaded: 1, downloaded: 2, left: 3, event: "none", numwant: -1, key: 0, compact: true
    }))
    expect(Either.map(decodeAnnounceQuery(`${base}&event=empty&compact=1&numwant=0`), (r) => [r.event, r.compact, r.numwant]))
      .toEqual(Either.right(["none", true, 0]))
  })

  it("refuses what BEP 3 does not allow, with a reason", () => {
    expect(failure(decodeAnnounceQuery(""))).toBe("missing info_hash")
    expect(failure(decodeAnnounceQuery(base.replace("port=6881", "port=0")))).toBe("port 0 is not 1-65535")
    expect(failure(decodeAnnounceQuery(base.replace("port=6881", "port=+1")))).toBe("port is not an integer")
    expect(failure(decodeAnnounceQuery(base.replace("&left=3", "")))).toBe("missing left")
    expect(failure(decodeAnnounceQuery(`${base}&event=paused`))).toBe("unknown event")
    expect(failure(decodeAnnounceQuery(`${base}&numwant=1e3`))).toBe("numwant is not an integer")
    expect(failure(decodeAnnounceQuery(`${base}&x=%G1`))).toBe('bad percent-escape "%G1"')
    expect(failure(decodeAnnounceQuery(`${base}&x=\u0100`))).toBe("character 0 is not a byte")
    expect(failure(parseQuery("a=1&".repeat(201)))).toBe("more than 200 parameters")
  })

  it("scrape takes one to 100 info hashes of 20 bytes", () => {
    const other = new Uint8Array(20).fill(7)
    expect(decodeScrapeQuery(`info_hash=${percentEncode(hash)}&x=1&info_hash=${percentEncode(other)}`))
      .toEqual(Either.right([hash, other]))
    expect(failure(decodeScrapeQuery("x=1"))).toBe("scrape needs an info_hash")
    expect(failure(decodeScrapeQuery("info_hash=abc"))).toBe("info_hash is 3 bytes, not 20")
    expect(failure(decodeScrapeQuery(`info_hash=${percentEncode(hash)}&`.repeat(101)))).toBe("more than 100 info hashes")
  })
})

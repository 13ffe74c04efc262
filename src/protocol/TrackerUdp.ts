/**
 * The UDP tracker protocol (BEP 15): connect, announce, scrape and error packets, big-endian.
 *
 * Requests and responses both have encoders and decoders, so that the client and an embedded tracker share
 * one codec and every packet round-trips. Decoders never throw: a short or unknown packet is a
 * `TrackerCodecError` with reason "Malformed". Transaction ids are returned, not checked; matching them is
 * the client's job.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import {
  AnnounceEvent,
  type AnnounceRequest,
  type AnnounceResponse,
  Port,
  ScrapeStats,
  U32
} from "../domain/Announce.js"
import { TrackerCodecError } from "../domain/Errors.js"
import { InfoHash } from "../domain/InfoHash.js"
import { PeerAddress } from "../domain/PeerAddress.js"
import { PeerId } from "../domain/PeerId.js"
import { type Family, decodeCompact, encodeCompact, parseIPv4 } from "./CompactPeers.js"

/** The magic constant that opens every connect request. */
export const protocolId = 0x41727101980n

/** Most info hashes in one scrape request (BEP 15); callers split longer lists. */
export const maxScrapeHashes = 74

const U64 = Schema.BigIntFromSelf.pipe(Schema.betweenBigInt(0n, 0xffffffffffffffffn))
const I32 = Schema.Int.pipe(Schema.between(-0x80000000, 0x7fffffff))

const enum Action {
  Connect = 0,
  Announce = 1,
  Scrape = 2,
  Error = 3
}

const eventCodes: ReadonlyArray<AnnounceEvent> = ["none", "completed", "started", "stopped"]

// ---------------------------------------------------------------------------------------------------------
// Packets

export const UdpConnectRequest = Schema.TaggedStruct("Connect", { transactionId: U32 })
export type UdpConnectRequest = typeof UdpConnectRequest.Type

export const UdpAnnounceRequest = Schema.TaggedStruct("Announce", {
  connectionId: U64,
  transactionId: U32,
  infoHash: InfoHash,
  peerId: PeerId,
  downloaded: U64,
  left: U64,
  uploaded: U64,
  event: AnnounceEvent,
  /** IPv4 address to announce as a u32; 0 means the packet's source address. */
  ip: U32,
  key: U32,
  /** -1 leaves the choice to the tracker. */
  numWant: I32,
  port: Port
})
export type UdpAnnounceRequest = typeof UdpAnnounceRequest.Type

export const UdpScrapeRequest = Schema.TaggedStruct("Scrape", {
  connectionId: U64,
  transactionId: U32,
  infoHashes: Schema.Array(InfoHash)
})
export type UdpScrapeRequest = typeof UdpScrapeRequest.Type

export const UdpRequest = Schema.Union(UdpConnectRequest, UdpAnnounceRequest, UdpScrapeRequest)
export type UdpRequest = typeof UdpRequest.Type

export const UdpConnectResponse = Schema.TaggedStruct("Connect", { transactionId: U32, connectionId: U64 })
export type UdpConnectResponse = typeof UdpConnectResponse.Type

export const UdpAnnounceResponse = Schema.TaggedStruct("Announce", {
  transactionId: U32,
  interval: U32,
  leechers: U32,
  seeders: U32,
  peers: Schema.Array(PeerAddress)
})
export type UdpAnnounceResponse = typeof UdpAnnounceResponse.Type

/** Stats in the order of the request's info hashes. */
export const UdpScrapeResponse = Schema.TaggedStruct("Scrape", { transactionId: U32, files: Schema.Array(ScrapeStats) })
export type UdpScrapeResponse = typeof UdpScrapeResponse.Type

export const UdpErrorResponse = Schema.TaggedStruct("Error", { transactionId: U32, message: Schema.String })
export type UdpErrorResponse = typeof UdpErrorResponse.Type

export const UdpResponse = Schema.Union(UdpConnectResponse, UdpAnnounceResponse, UdpScrapeResponse, UdpErrorResponse)
export type UdpResponse = typeof UdpResponse.Type

// ---------------------------------------------------------------------------------------------------------
// Encoding

const packet = (length: number): readonly [Uint8Array, DataView] => {
  const out = new Uint8Array(length)
  return [out, new DataView(out.buffer)]
}

/** Counters above u32 are sent as the largest u32 rather than wrapped. */
const u32 = (n: number) => Math.min(Math.max(0, n), 0xffffffff)

export const encodeConnectRequest = (req: Omit<UdpConnectRequest, "_tag">): Uint8Array => {
  const [out, view] = packet(16)
  view.setBigUint64(0, protocolId)
  view.setUint32(8, Action.Connect)
  view.setUint32(12, req.transactionId)
  return out
}

export const encodeAnnounceRequest = (req: Omit<UdpAnnounceRequest, "_tag">): Uint8Array => {
  const [out, view] = packet(98)
  view.setBigUint64(0, req.connectionId)
  view.setUint32(8, Action.Announce)
  view.setUint32(12, req.transactionId)
  out.set(req.infoHash, 16)
  out.set(req.peerId, 36)
  view.setBigUint64(56, req.downloaded)
  view.setBigUint64(64, req.left)
  view.setBigUint64(72, req.uploaded)
  view.setUint32(80, eventCodes.indexOf(req.event))
  view.setUint32(84, req.ip)
  view.setUint32(88, req.key)
  view.setInt32(92, req.numWant)
  view.setUint16(96, req.port)
  return out
}

export const encodeScrapeRequest = (req: Omit<UdpScrapeRequest, "_tag">): Uint8Array => {
  const [out, view] = packet(16 + 20 * req.infoHashes.length)
  view.setBigUint64(0, req.connectionId)
  view.setUint32(8, Action.Scrape)
  view.setUint32(12, req.transactionId)
  req.infoHashes.forEach((h, i) => out.set(h, 16 + 20 * i))
  return out
}

export const encodeRequest = (req: UdpRequest): Uint8Array => {
  switch (req._tag) {
    case "Connect":
      return encodeConnectRequest(req)
    case "Announce":
      return encodeAnnounceRequest(req)
    case "Scrape":
      return encodeScrapeRequest(req)
  }
}

export const encodeConnectResponse = (res: Omit<UdpConnectResponse, "_tag">): Uint8Array => {
  const [out, view] = packet(16)
  view.setUint32(0, Action.Connect)
  view.setUint32(4, res.transactionId)
  view.setBigUint64(8, res.connectionId)
  return out
}

/** Only the peers of the socket's `family` can be sent; the others are left out. */
export const encodeAnnounceResponse = (res: Omit<UdpAnnounceResponse, "_tag">, family: Family): Uint8Array => {
  const peers = encodeCompact(res.peers, family)
  const [out, view] = packet(20 + peers.length)
  view.setUint32(0, Action.Announce)
  view.setUint32(4, res.transactionId)
  view.setUint32(8, u32(res.interval))
  view.setUint32(12, u32(res.leechers))
  view.setUint32(16, u32(res.seeders))
  out.set(peers, 20)
  return out
}

export const encodeScrapeResponse = (res: Omit<UdpScrapeResponse, "_tag">): Uint8Array => {
  const [out, view] = packet(8 + 12 * res.files.length)
  view.setUint32(0, Action.Scrape)
  view.setUint32(4, res.transactionId)
  res.files.forEach((f, i) => {
    view.setUint32(8 + 12 * i, u32(f.complete))
    view.setUint32(12 + 12 * i, u32(f.downloaded))
    view.setUint32(16 + 12 * i, u32(f.incomplete))
  })
  return out
}

export const encodeErrorResponse = (res: Omit<UdpErrorResponse, "_tag">): Uint8Array => {
  const text = Buffer.from(res.message, "utf8")
  const [out, view] = packet(8 + text.length)
  view.setUint32(0, Action.Error)
  view.setUint32(4, res.transactionId)
  out.set(text, 8)
  return out
}

export const encodeResponse = (res: UdpResponse, family: Family): Uint8Array => {
  switch (res._tag) {
    case "Connect":
      return encodeConnectResponse(res)
    case "Announce":
      return encodeAnnounceResponse(res, family)
    case "Scrape":
      return encodeScrapeResponse(res)
    case "Error":
      return encodeErrorResponse(res)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

const malformed = (detail: string) => Either.left(new TrackerCodecError({ reason: "Malformed", detail }))

const viewOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength)

/** A copy, so that decoded values do not hold on to the datagram's buffer. */
const copy = (b: Uint8Array, start: number, end: number) => new Uint8Array(b.subarray(start, end))

/** A request from a client, as a tracker receives it. BEP 41 options after an announce are ignored. */
export const decodeRequest = (bytes: Uint8Array): Either.Either<UdpRequest, TrackerCodecError> => {
  if (bytes.length < 16) return malformed(`request of ${bytes.length} bytes is shorter than 16`)
  const view = viewOf(bytes)
  const first = view.getBigUint64(0)
  const action = view.getUint32(8)
  const transactionId = view.getUint32(12)
  switch (action) {
    case Action.Connect:
      if (first !== protocolId) return malformed(`connect request with protocol id 0x${first.toString(16)}`)
      return Either.right({ _tag: "Connect", transactionId })
    case Action.Announce: {
      if (bytes.length < 98) return malformed(`announce request of ${bytes.length} bytes is shorter than 98`)
      const event = eventCodes[view.getUint32(80)]
      if (event === undefined) return malformed(`unknown announce event ${view.getUint32(80)}`)
      return Either.right({
        _tag: "Announce",
        connectionId: first,
        transactionId,
        infoHash: InfoHash.make(copy(bytes, 16, 36)),
        peerId: PeerId.make(copy(bytes, 36, 56)),
        downloaded: view.getBigUint64(56),
        left: view.getBigUint64(64),
        uploaded: view.getBigUint64(72),
        event,
        ip: view.getUint32(84),
        key: view.getUint32(88),
        numWant: view.getInt32(92),
        port: view.getUint16(96)
      })
    }
    case Action.Scrape: {
      const n = (bytes.length - 16) / 20
      if (!Number.isInteger(n)) return malformed(`scrape request of ${bytes.length} bytes is not 16 + 20n`)
      if (n === 0 || n > maxScrapeHashes) return malformed(`scrape request for ${n} info hashes`)
      const infoHashes: Array<InfoHash> = []
      for (let i = 0; i < n; i++) infoHashes.push(InfoHash.make(copy(bytes, 16 + 20 * i, 36 + 20 * i)))
      return Either.right({ _tag: "Scrape", connectionId: first, transactionId, infoHashes })
    }
    default:
      return malformed(`unknown request action ${action}`)
  }
}

const lenientUtf8 = new TextDecoder("utf-8")

/**
 * A response from a tracker. `family` is the socket's address family: it decides whether announce peers
 * are 6-byte IPv4 or 18-byte IPv6 entries.
 */
export const decodeResponse = (bytes: Uint8Array, family: Family): Either.Either<UdpResponse, TrackerCodecError> => {
  if (bytes.length < 8) return malformed(`response of ${bytes.length} bytes is shorter than 8`)
  const view = viewOf(bytes)
  const action = view.getUint32(0)
  const transactionId = view.getUint32(4)
  switch (action) {
    case Action.Connect:
      if (bytes.length < 16) return malformed(`connect response of ${bytes.length} bytes is shorter than 16`)
      return Either.right({ _tag: "Connect", transactionId, connectionId: view.getBigUint64(8) })
    case Action.Announce: {
      if (bytes.length < 20) return malformed(`announce response of ${bytes.length} bytes is shorter than 20`)
      return Either.map(decodeCompact(bytes.subarray(20), family), (peers) => ({
        _tag: "Announce" as const,
        transactionId,
        interval: view.getUint32(8),
        leechers: view.getUint32(12),
        seeders: view.getUint32(16),
        peers
      }))
    }
    case Action.Scrape: {
      const n = (bytes.length - 8) / 12
      if (!Number.isInteger(n)) return malformed(`scrape response of ${bytes.length} bytes is not 8 + 12n`)
      const files: Array<ScrapeStats> = []
      for (let i = 0, o = 8; i < n; i++, o += 12) {
        files.push({
          complete: view.getUint32(o),
          downloaded: view.getUint32(o + 4),
          incomplete: view.getUint32(o + 8)
        })
      }
      return Either.right({ _tag: "Scrape", transactionId, files })
    }
    case Action.Error:
      return Either.right({ _tag: "Error", transactionId, message: lenientUtf8.decode(bytes.subarray(8)) })
    default:
      return malformed(`unknown response action ${action}`)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Between packets and the transport-independent announce

const ipv4ToU32 = (ip: string | undefined): number => {
  const b = ip === undefined ? undefined : parseIPv4(ip)
  return b === undefined ? 0 : ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0
}

/** The UDP announce for `req`. An `ip` that is not IPv4 cannot be sent and is left to the tracker (0). */
export const fromAnnounceRequest = (
  req: AnnounceRequest,
  connectionId: bigint,
  transactionId: number
): UdpAnnounceRequest => ({
  _tag: "Announce",
  connectionId,
  transactionId,
  infoHash: req.infoHash,
  peerId: req.peerId,
  downloaded: BigInt(req.downloaded),
  left: BigInt(req.left),
  uploaded: BigInt(req.uploaded),
  event: req.event,
  ip: ipv4ToU32(req.ip),
  key: req.key >>> 0,
  numWant: req.numwant < 0 ? -1 : Math.min(req.numwant, 0x7fffffff),
  port: req.port
})

export const toAnnounceResponse = (res: UdpAnnounceResponse): AnnounceResponse => ({
  interval: res.interval,
  complete: res.seeders,
  incomplete: res.leechers,
  peers: res.peers
})

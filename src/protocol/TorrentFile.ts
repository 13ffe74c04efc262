/**
 * .torrent files: bytes to `Metainfo` and back.
 *
 * Decoding is strict bencode with two tolerances the big clients share: bytes after the top-level
 * dictionary (a trailing newline is common) and unsorted keys, both reported as warnings. The info hash is
 * the hash of the raw `info` bytes. Encoding splices those raw bytes back in, so a decoded torrent
 * re-encodes with the same info hash whatever the order of its keys.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type Bencode, bytes as utf8Bytes, keyFromBytes } from "../domain/Bencode.js"
import { MetainfoError } from "../domain/Errors.js"
import { Metainfo, type TorrentFile } from "../domain/Metainfo.js"
import { decodeMetainfo } from "../domain/MetainfoDecode.js"
import { decode, encode } from "./Bencode.js"
import { fromCodec } from "./CodecSchema.js"

/** The largest .torrent accepted (libtorrent's default limit is about 10 MB; some real torrents are larger). */
export const maxTorrentBytes = 32 * 1024 * 1024

export const decodeTorrent = (bytes: Uint8Array): Either.Either<Metainfo, MetainfoError> => {
  if (bytes.length > maxTorrentBytes) {
    return Either.left(new MetainfoError({ reason: "TooLarge", detail: `torrent file larger than ${maxTorrentBytes} bytes` }))
  }
  return Either.flatMap(
    Either.mapLeft(
      decode(bytes, { allowTrailing: true, maxBytes: maxTorrentBytes }),
      (e) => new MetainfoError({ reason: "Bencode", detail: e.message })
    ),
    (d) => {
      const warnings: Array<string> = []
      if (d.trailing > 0) warnings.push(`${d.trailing} trailing byte(s) after the top-level value (ignored)`)
      for (const path of d.unsorted) warnings.push(`unsorted dict keys at ${path}`)
      const infoBytes = d.infoSpan === undefined ? undefined : bytes.subarray(d.infoSpan.start, d.infoSpan.end)
      return decodeMetainfo(d.value, infoBytes, warnings)
    }
  )
}

/** The .torrent bytes of a Metainfo, with its raw info bytes unchanged. */
export const encodeTorrent = (m: Metainfo): Uint8Array => {
  const top = new Map<string, Bencode>()
  if (m.announce !== undefined) top.set("announce", utf8Bytes(m.announce))
  if (m.announceList.length > 0) top.set("announce-list", m.announceList.map((t) => t.map(utf8Bytes)))
  if (m.comment !== undefined) top.set("comment", utf8Bytes(m.comment))
  if (m.createdBy !== undefined) top.set("created by", utf8Bytes(m.createdBy))
  if (m.creationDate !== undefined) top.set("creation date", m.creationDate)
  if (m.urlList.length > 0) top.set("url-list", m.urlList.map(utf8Bytes))
  // Keys are written in byte order, so the raw info bytes go between the keys below "info" and the rest.
  const entries = (keep: (k: string) => boolean) => {
    const e = encode(new Map([...top].filter(([k]) => keep(k))))
    return e.subarray(1, e.length - 1)
  }
  return Buffer.concat([
    Buffer.from("d"),
    entries((k) => k < "info"),
    Buffer.from("4:info"),
    m.infoBytes,
    entries((k) => k > "info"),
    Buffer.from("e")
  ])
}

/**
 * The .torrent of an info dictionary fetched for a magnet link: the raw info bytes, unchanged (so the
 * info hash holds), and the magnet's trackers, each its own tier as the magnet lists them. For a v2 or
 * hybrid torrent, `files` (its Metainfo's, with the piece layers fetched from peers) gives the `piece
 * layers` (BEP 52: outside the info dictionary, each file's pieces root to its layer), so that the
 * .torrent is whole.
 */
export const torrentFromInfo = (
  infoBytes: Uint8Array,
  trackers: ReadonlyArray<string>,
  files: ReadonlyArray<TorrentFile> = []
): Uint8Array => {
  const top = new Map<string, Bencode>()
  if (trackers.length > 0) {
    top.set("announce", utf8Bytes(trackers[0]!))
    top.set("announce-list", trackers.map((t) => [utf8Bytes(t)]))
  }
  const layers = new Map<string, Bencode>()
  for (const f of files) if (f.piecesRoot !== undefined && f.pieceLayer !== undefined) layers.set(keyFromBytes(f.piecesRoot), f.pieceLayer)
  // Keys in byte order: "announce..." < "info" < "piece layers".
  const after = layers.size === 0 ? new Uint8Array(0) : encode(new Map([["piece layers", layers]])).subarray(1)
  const head = encode(top)
  return Buffer.concat([head.subarray(0, head.length - 1), Buffer.from("4:info"), infoBytes, after.length > 0 ? after : Buffer.from("e")])
}

/** .torrent bytes <-> Metainfo. */
export const MetainfoFromBytes: Schema.Schema<Metainfo, Uint8Array> = fromCodec(Schema.Uint8ArrayFromSelf, Schema.typeSchema(Metainfo), {
  decode: (bytes) => Either.mapLeft(decodeTorrent(bytes), (e) => e.message),
  encode: (m) => encodeTorrent(m)
})

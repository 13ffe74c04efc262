/**
 * Torrents made in memory for tests and demonstrations: .torrent bytes (v1, single or multi-file) from
 * file contents, piece hashes computed over them, and repeatable pseudo-random contents.
 */
import { createHash } from "node:crypto"
import * as Either from "effect/Either"
import { type Bencode, bytes } from "../../domain/Bencode.js"
import type { Metainfo } from "../../domain/Metainfo.js"
import { encode } from "../../protocol/Bencode.js"
import { decodeTorrent } from "../../protocol/TorrentFile.js"

export interface MemoryFile {
  /** The file's path inside the torrent, one name per folder. */
  readonly path: ReadonlyArray<string>
  readonly data: Uint8Array
}

export interface MemoryTorrent {
  /** The .torrent file's bytes. */
  readonly bytes: Uint8Array
  readonly metainfo: Metainfo
  /** The files' contents one after another (the torrent's byte space). */
  readonly payload: Uint8Array
}

export interface MemoryTorrentOptions {
  readonly name: string
  readonly pieceLength: number
  /** One file makes a single-file torrent unless `multiFile` is set. */
  readonly files: ReadonlyArray<MemoryFile>
  readonly multiFile?: boolean
  readonly announce?: string
  /** BEP 12 tiers. */
  readonly announceList?: ReadonlyArray<ReadonlyArray<string>>
  /** BEP 27. */
  readonly private?: boolean
  /** More keys of the info dictionary, as they are (a hostile or unusual torrent in a test). */
  readonly extraInfo?: ReadonlyArray<readonly [string, Bencode]>
}

export const makeTorrent = (options: MemoryTorrentOptions): MemoryTorrent => {
  const payload = Buffer.concat(options.files.map((f) => f.data))
  const hashes: Array<Buffer> = []
  for (let at = 0; at < payload.length; at += options.pieceLength) {
    hashes.push(createHash("sha1").update(payload.subarray(at, at + options.pieceLength)).digest())
  }
  const info = new Map<string, Bencode>([
    ["name", bytes(options.name)],
    ["piece length", options.pieceLength],
    ["pieces", Buffer.concat(hashes)]
  ])
  if (options.multiFile === true || options.files.length !== 1) {
    info.set("files", options.files.map((f) => new Map<string, Bencode>([["length", f.data.length], ["path", f.path.map(bytes)]])))
  } else {
    info.set("length", payload.length)
  }
  if (options.private === true) info.set("private", 1)
  for (const [k, v] of options.extraInfo ?? []) info.set(k, v)
  const top = new Map<string, Bencode>([["info", info]])
  if (options.announce !== undefined) top.set("announce", bytes(options.announce))
  if (options.announceList !== undefined) top.set("announce-list", options.announceList.map((t) => t.map(bytes)))
  const encoded = encode(top)
  const metainfo = Either.getOrThrowWith(decodeTorrent(encoded), (e) => e)
  return { bytes: encoded, metainfo, payload }
}

/** Pseudo-random bytes (xorshift32): the same `seed` gives the same bytes, so that tests repeat. */
export const randomBytes = (length: number, seed = 1): Uint8Array => {
  const words = new Uint32Array(Math.ceil(length / 4))
  let x = seed >>> 0 || 1
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    words[i] = x
  }
  return new Uint8Array(words.buffer, 0, length)
}

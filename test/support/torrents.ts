/**
 * Builds real .torrent bytes for tests from file contents: v1 single or multi-file, with piece hashes
 * computed over the data, so that tests can download and verify them.
 */
import { createHash } from "node:crypto"
import * as Either from "effect/Either"
import { type Bencode, bytes } from "../../src/domain/Bencode.js"
import type { Metainfo } from "../../src/domain/Metainfo.js"
import { encode } from "../../src/protocol/Bencode.js"
import { decodeTorrent } from "../../src/protocol/TorrentFile.js"

export interface TestFile {
  readonly path: ReadonlyArray<string>
  readonly data: Uint8Array
}

export interface TestTorrent {
  readonly bytes: Uint8Array
  readonly metainfo: Metainfo
  /** The concatenated content (the torrent's byte space). */
  readonly payload: Uint8Array
}

export const makeTorrent = (options: {
  readonly name: string
  readonly pieceLength: number
  /** One file gives a single-file torrent unless `multiFile` is set. */
  readonly files: ReadonlyArray<TestFile>
  readonly multiFile?: boolean
  readonly announce?: string
  readonly announceList?: ReadonlyArray<ReadonlyArray<string>>
  readonly private?: boolean
  readonly extraInfo?: ReadonlyArray<readonly [string, Bencode]>
}): TestTorrent => {
  const payload = Buffer.concat(options.files.map((f) => f.data))
  const hashes: Array<Buffer> = []
  for (let at = 0; at < payload.length; at += options.pieceLength) {
    hashes.push(createHash("sha1").update(payload.subarray(at, at + options.pieceLength)).digest())
  }
  const multi = options.multiFile === true || options.files.length !== 1
  const info = new Map<string, Bencode>([
    ["name", bytes(options.name)],
    ["piece length", options.pieceLength],
    ["pieces", Buffer.concat(hashes)]
  ])
  if (multi) {
    info.set(
      "files",
      options.files.map((f) => new Map<string, Bencode>([["length", f.data.length], ["path", f.path.map(bytes)]]))
    )
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

/** Deterministic pseudo-random bytes (xorshift32), so that tests are repeatable. */
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

/**
 * A file of a torrent in the Promise face (`torrent.files[i]`): its number, path and length, and
 * `createReadStream`, a Node Readable of its bytes that waits for them as they download (as the `stream`
 * command serves them), over the Effect face's `TorrentFile.stream`.
 */
import type { Readable } from "node:stream"
import type { TorrentFile } from "../services/client/Client.js"
import { fileRange } from "../services/client/ClientFiles.js"
import { toReadable } from "./ReadStream.js"

export interface ReadStreamOptions {
  /** The first byte to read (default 0). */
  readonly start?: number
  /** The last byte to read, included, as in `fs.createReadStream` (default: the file's last). */
  readonly end?: number
  /** Bytes buffered before reading pauses (default 64 KiB). */
  readonly highWaterMark?: number
}

export class ReadableFile {
  /** Its number as `bt-effect info` shows it (from 1, pad files counted): what `add`'s `files` takes. */
  readonly number: number
  /** Relative to the download folder, with `/` between parts (a multi-file torrent's start with its name). */
  readonly path: string
  readonly length: number
  /** Downloaded: every file without `add`'s `files`, else one of those it named. */
  readonly selected: boolean
  readonly #file: TorrentFile

  /** @internal Made with its torrent. */
  constructor(file: TorrentFile) {
    this.number = file.number
    this.path = file.path
    this.length = file.length
    this.selected = file.selected
    this.#file = file
  }

  /**
   * The file's bytes from `start` to `end` (included, as `fs.createReadStream` reads them), in order, while
   * the torrent downloads: a read waits for its piece to be verified (never zeros), and the pieces under
   * it are asked for first. It reads only as fast as it is consumed; `destroy()` ends it at once, with
   * what it held. It emits `error` (a `StorageError`) for a file not selected, data that cannot be read,
   * or the torrent removed or the client closed while it reads. Throws a `RangeError` at once for a range
   * that is no range (negative, not whole numbers, `start` after `end`).
   */
  createReadStream(options: ReadStreamOptions = {}): Readable {
    const range = { ...(options.start !== undefined ? { start: options.start } : {}), ...(options.end !== undefined ? { end: options.end } : {}) }
    const bounds = fileRange(range, this.length)
    if (typeof bounds === "string") throw new RangeError(`${this.path}: ${bounds}`)
    return toReadable(this.#file.stream(range), options.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {})
  }
}

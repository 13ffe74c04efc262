/**
 * Storage in memory, for tests: each opened torrent is one Uint8Array of its whole byte space, kept in a
 * `MemoryStore` under (root, info hash) so that a test can inspect what was written, pre-fill a seeder's
 * data, damage it, delete a file, and make a later write fail.
 *
 * Files have stamps as on disk: a size (their length, once they exist) and a modification time taken from
 * a counter that every write to the file advances, so that resume data can be tested against changes.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { StorageError } from "../../domain/Errors.js"
import { toHex } from "../../domain/InfoHash.js"
import * as Layout from "../../domain/Layout.js"
import { layoutOf, type Metainfo } from "../../domain/Metainfo.js"
import { type FileStamp, type OpenOptions, plan, Storage, type StorageService, type TorrentStorage } from "./Storage.js"

/** The key of a torrent in a store: the v1 info hash as hex, or the v2 one for a v2-only torrent. */
export const infoHashHex = (metainfo: Metainfo): string => {
  const hash = metainfo.infoHash ?? metainfo.infoHashV2
  return hash === undefined ? "" : toHex(hash)
}

const keyOf = (root: string, hex: string): string => `${root}\u0000${hex.toLowerCase()}`

const isStored = (metainfo: Metainfo, i: number): boolean => {
  const file = metainfo.files[i]!
  return !file.pad && !file.attr.includes("l")
}

/** Zeroes the bytes of files that are never stored (pad files, symlinks). */
const clearUnstored = (metainfo: Metainfo, bytes: Uint8Array): void => {
  const layout = layoutOf(metainfo)
  metainfo.files.forEach((file, i) => {
    if (!isStored(metainfo, i)) {
      const at = layout.files[i]!.offset
      bytes.fill(0, at, at + file.length)
    }
  })
}

/** One torrent's files: its bytes, and each file's modification time (undefined: the file does not exist). */
interface Entry {
  readonly bytes: Uint8Array
  readonly mtimes: Array<bigint | undefined>
}

/** The bytes of every torrent opened or seeded, by (root as given to `open`, info hash hex). */
export class MemoryStore {
  /** An empty store. Synchronous, so that a test can hold it before building the layer. */
  static make(): MemoryStore {
    return new MemoryStore()
  }

  private constructor() {}

  readonly #torrents = new Map<string, Entry>()
  readonly #failAt = new Set<number>()
  #writes = 0
  #syncs = 0
  #clock = 0n

  /** The live bytes of a torrent opened or seeded under `root` (its whole byte space; pad spans zero). */
  readonly contents = (root: string, infoHashHex: string): Uint8Array | undefined =>
    this.#torrents.get(keyOf(root, infoHashHex))?.bytes

  /** Pre-fills a torrent's bytes (a seeder's data); `payload` is its whole byte space. */
  readonly seed = (root: string, metainfo: Metainfo, payload: Uint8Array): void => {
    if (payload.length !== layoutOf(metainfo).totalLength) {
      throw new RangeError(`payload of ${payload.length} bytes for a torrent of ${layoutOf(metainfo).totalLength}`)
    }
    const bytes = new Uint8Array(payload)
    clearUnstored(metainfo, bytes)
    const mtimes = metainfo.files.map((_, i) => (isStored(metainfo, i) ? this.tick() : undefined))
    this.#torrents.set(keyOf(root, infoHashHex(metainfo)), { bytes, mtimes })
  }

  /** Flips the byte at `at` (of the torrent's byte space); `touch` also changes its file's modification
   *  time, as an editor would (without it, the damage is invisible to the stamps, as bit rot is). */
  readonly corrupt = (root: string, metainfo: Metainfo, at: number, options: { readonly touch: boolean }): void => {
    const entry = this.#torrents.get(keyOf(root, infoHashHex(metainfo)))
    if (entry === undefined || at < 0 || at >= entry.bytes.length) throw new RangeError(`no byte ${at} to corrupt`)
    entry.bytes[at] = entry.bytes[at]! ^ 0xff
    if (options.touch) {
      entry.mtimes[Layout.locate(layoutOf(metainfo), at).file] = this.tick()
    }
  }

  /** Deletes file `index` of a torrent: its bytes read as zeros and it has no stamp until created again. */
  readonly deleteFile = (root: string, metainfo: Metainfo, index: number): void => {
    const entry = this.#torrents.get(keyOf(root, infoHashHex(metainfo)))
    if (entry === undefined) return
    const file = layoutOf(metainfo).files[index]!
    entry.bytes.fill(0, file.offset, file.offset + file.length)
    entry.mtimes[index] = undefined
  }

  /** Makes the `n`-th write from now (1 = the next one), across all torrents, fail with NoSpace. */
  readonly failWrites = (n: number): void => {
    this.#failAt.add(this.#writes + Math.max(1, Math.floor(n)))
  }

  /** Writes attempted so far, across all torrents. */
  get writes(): number {
    return this.#writes
  }

  /** Syncs made so far, across all torrents. */
  get syncs(): number {
    return this.#syncs
  }

  /** The next modification time. */
  tick(): bigint {
    this.#clock += 1n
    return this.#clock
  }

  entry(root: string, metainfo: Metainfo): Entry | undefined {
    return this.#torrents.get(keyOf(root, infoHashHex(metainfo)))
  }

  /** The files of a torrent being opened to write: what is there (seeded or written before), missing
   *  files created. */
  entryFor(root: string, metainfo: Metainfo): Entry {
    const key = keyOf(root, infoHashHex(metainfo))
    const existing = this.#torrents.get(key)
    const entry = existing !== undefined && existing.bytes.length === layoutOf(metainfo).totalLength
      ? existing
      : { bytes: new Uint8Array(layoutOf(metainfo).totalLength), mtimes: metainfo.files.map(() => undefined) }
    metainfo.files.forEach((_, i) => {
      if (isStored(metainfo, i) && entry.mtimes[i] === undefined) entry.mtimes[i] = this.tick()
    })
    this.#torrents.set(key, entry)
    return entry
  }

  /** Counts a write; true when it is one that `failWrites` asked to fail. */
  takeWrite(): boolean {
    this.#writes += 1
    return this.#failAt.delete(this.#writes)
  }

  countSync(): void {
    this.#syncs += 1
  }
}

const stampsOf = (metainfo: Metainfo, entry: Entry | undefined): ReadonlyArray<FileStamp | undefined> =>
  metainfo.files.map((file, i) => {
    const mtimeNs = entry?.mtimes[i]
    return mtimeNs === undefined || !isStored(metainfo, i) ? undefined : { size: file.length, mtimeNs }
  })

/** The memory Storage service over `store`. */
export const make = (store: MemoryStore): StorageService => {
  return {
    stamps: (metainfo, root) => Effect.sync(() => stampsOf(metainfo, store.entry(root, metainfo))),
    open: Effect.fn("Storage.open")(function*(metainfo: Metainfo, root: string, options?: OpenOptions) {
      const planned = yield* plan(metainfo, root)
      const layout = layoutOf(metainfo)
      const readOnly = options?.readOnly === true
      const entry = readOnly ? store.entry(root, metainfo) : store.entryFor(root, metainfo)
      /** Files that existed when opened: one gone since was deleted under the torrent. */
      const existed = metainfo.files.map((_, i) => entry?.mtimes[i] !== undefined)
      let closed = false
      yield* Effect.addFinalizer(() => Effect.sync(() => (closed = true)))

      const closedError = (reason: "Read" | "Write") =>
        new StorageError({ reason, path: planned.root, detail: "the torrent's storage is closed" })

      const readInto = (piece: number, offset: number, into: Uint8Array): Effect.Effect<void, StorageError> =>
        Effect.suspend(() => {
          const spans = Layout.spans(layout, piece, offset, into.length)
          if (closed) return Effect.fail(closedError("Read"))
          const base = Layout.pieceOffset(layout, piece)
          for (const span of spans) {
            const start = span.pieceOffset - offset
            if (!planned.files[span.file]!.stored) {
              into.fill(0, start, start + span.length)
              continue
            }
            if (entry?.mtimes[span.file] === undefined) {
              const at = planned.files[span.file]!.path
              return Effect.fail(new StorageError({ reason: "Read", path: at, detail: "cannot read: no such file or folder" }))
            }
            const at = base + span.pieceOffset
            into.set(entry.bytes.subarray(at, at + span.length), start)
          }
          return Effect.void
        })

      const storage: TorrentStorage = {
        write: (piece, offset, data) =>
          Effect.suspend(() => {
            const spans = Layout.spans(layout, piece, offset, data.length)
            if (closed) return Effect.fail(closedError("Write"))
            const first = spans.find((s) => planned.files[s.file]!.stored) ?? spans[0]
            const at = first === undefined ? planned.root : planned.files[first.file]!.path
            if (entry === undefined || readOnly) {
              return Effect.fail(new StorageError({ reason: "Write", path: at, detail: "cannot write: opened to read only" }))
            }
            if (store.takeWrite()) {
              return Effect.fail(new StorageError({ reason: "NoSpace", path: at, detail: "cannot write: no space left on device" }))
            }
            const base = Layout.pieceOffset(layout, piece)
            for (const span of spans) {
              if (!planned.files[span.file]!.stored) continue
              const start = span.pieceOffset - offset
              entry.bytes.set(data.subarray(start, start + span.length), base + span.pieceOffset)
              // A write to a deleted file goes nowhere visible, as on a real file system.
              if (entry.mtimes[span.file] !== undefined) entry.mtimes[span.file] = store.tick()
            }
            return Effect.void
          }),
        // Piece by piece: each counts as a write (`failWrites`).
        writePieces: (first, pieces) =>
          Effect.forEach(pieces, (data, i) => storage.write(first + i, 0, data), { discard: true }),
        read: (piece, offset, length) => {
          const out = new Uint8Array(length)
          return Effect.as(readInto(piece, offset, out), out)
        },
        readInto,
        sync: Effect.suspend(() => {
          if (closed) return Effect.fail(closedError("Write"))
          store.countSync()
          return Effect.void
        }),
        syncAll: Effect.suspend(() => {
          if (closed) return Effect.fail(closedError("Write"))
          store.countSync()
          return Effect.void
        }),
        stamps: Effect.suspend(() => {
          const gone = existed.findIndex((was, i) => was && entry?.mtimes[i] === undefined)
          if (gone >= 0) {
            return Effect.fail(
              new StorageError({ reason: "Missing", path: planned.files[gone]!.path, detail: "deleted while the torrent was using it" })
            )
          }
          return Effect.succeed(stampsOf(metainfo, entry))
        })
      }
      return storage
    })
  }
}

/** Storage in `store`'s memory. */
export const layer = (store: MemoryStore): Layer.Layer<Storage> => Layer.succeed(Storage, make(store))

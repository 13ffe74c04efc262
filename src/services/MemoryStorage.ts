/**
 * Storage in memory, for tests: each opened torrent is one Uint8Array of its whole byte space, kept in a
 * `MemoryStore` under (root, info hash) so that a test can inspect what was written, pre-fill a seeder's
 * data, and make a later write fail.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { StorageError } from "../domain/Errors.js"
import { toHex } from "../domain/InfoHash.js"
import * as Layout from "../domain/Layout.js"
import { layoutOf, type Metainfo } from "../domain/Metainfo.js"
import { plan, Storage, type StorageService, type TorrentStorage } from "./Storage.js"

/** The key of a torrent in a store: the v1 info hash as hex, or the v2 one for a v2-only torrent. */
export const infoHashHex = (metainfo: Metainfo): string => {
  const hash = metainfo.infoHash ?? metainfo.infoHashV2
  return hash === undefined ? "" : toHex(hash)
}

const keyOf = (root: string, hex: string): string => `${root}\u0000${hex.toLowerCase()}`

/** Zeroes the bytes of files that are never stored (pad files, symlinks). */
const clearUnstored = (metainfo: Metainfo, bytes: Uint8Array): void => {
  const layout = layoutOf(metainfo)
  metainfo.files.forEach((file, i) => {
    if (file.pad || file.attr.includes("l")) {
      const at = layout.files[i]!.offset
      bytes.fill(0, at, at + file.length)
    }
  })
}

/** The bytes of every torrent opened or seeded, by (root as given to `open`, info hash hex). */
export class MemoryStore {
  /** An empty store. Synchronous, so that a test can hold it before building the layer. */
  static make(): MemoryStore {
    return new MemoryStore()
  }

  private constructor() {}

  readonly #torrents = new Map<string, Uint8Array>()
  readonly #failAt = new Set<number>()
  #writes = 0
  #syncs = 0

  /** The live bytes of a torrent opened or seeded under `root` (its whole byte space; pad spans zero). */
  readonly contents = (root: string, infoHashHex: string): Uint8Array | undefined =>
    this.#torrents.get(keyOf(root, infoHashHex))

  /** Pre-fills a torrent's bytes (a seeder's data); `payload` is its whole byte space. */
  readonly seed = (root: string, metainfo: Metainfo, payload: Uint8Array): void => {
    if (payload.length !== metainfo.totalLength) {
      throw new RangeError(`payload of ${payload.length} bytes for a torrent of ${metainfo.totalLength}`)
    }
    const bytes = new Uint8Array(payload)
    clearUnstored(metainfo, bytes)
    this.#torrents.set(keyOf(root, infoHashHex(metainfo)), bytes)
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

  /** The bytes of a torrent being opened: what is there (seeded or written before), else zeros. */
  bytesFor(root: string, metainfo: Metainfo): Uint8Array {
    const key = keyOf(root, infoHashHex(metainfo))
    const existing = this.#torrents.get(key)
    if (existing !== undefined && existing.length === metainfo.totalLength) return existing
    const bytes = new Uint8Array(metainfo.totalLength)
    this.#torrents.set(key, bytes)
    return bytes
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

/** The memory Storage service over `store`. */
export const makeMemory = (store: MemoryStore): StorageService => {
  return {
    open: Effect.fn("Storage.open")(function*(metainfo: Metainfo, root: string) {
      const planned = yield* plan(metainfo, root)
      const layout = layoutOf(metainfo)
      const bytes = store.bytesFor(root, metainfo)
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
            const at = base + span.pieceOffset
            into.set(bytes.subarray(at, at + span.length), start)
          }
          return Effect.void
        })

      const storage: TorrentStorage = {
        write: (piece, offset, data) =>
          Effect.suspend(() => {
            const spans = Layout.spans(layout, piece, offset, data.length)
            if (closed) return Effect.fail(closedError("Write"))
            if (store.takeWrite()) {
              const first = spans.find((s) => planned.files[s.file]!.stored) ?? spans[0]
              const at = first === undefined ? planned.root : planned.files[first.file]!.path
              return Effect.fail(new StorageError({ reason: "NoSpace", path: at, detail: "cannot write: no space left on device" }))
            }
            const base = Layout.pieceOffset(layout, piece)
            for (const span of spans) {
              if (!planned.files[span.file]!.stored) continue
              const start = span.pieceOffset - offset
              bytes.set(data.subarray(start, start + span.length), base + span.pieceOffset)
            }
            return Effect.void
          }),
        read: (piece, offset, length) => {
          const out = new Uint8Array(length)
          return Effect.as(readInto(piece, offset, out), out)
        },
        readInto,
        sync: Effect.suspend(() => {
          if (closed) return Effect.fail(closedError("Write"))
          store.countSync()
          return Effect.void
        })
      }
      return storage
    })
  }
}

/** Storage in `store`'s memory. */
export const layerMemory = (store: MemoryStore): Layer.Layer<Storage> => Layer.succeed(Storage, makeMemory(store))

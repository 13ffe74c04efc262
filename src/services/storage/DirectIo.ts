/**
 * Writes that bypass the page cache (O_DIRECT), for downloaded pieces.
 *
 * Why: a buffered write copies the data into page-cache pages, and on a virtual machine whose host hands
 * out fresh pages lazily, that copy cost the kernel about 2.3 s per GiB written (measured on the machines
 * of issue 9: more than receiving and hashing the data together), which held even a plain socket-to-file
 * copy with no protocol to 300-460 MB/s on two cores. A direct write hands the buffer to the device: 1 GiB
 * in about 1.1 s of device time and 0.2 s of CPU there. libtorrent offered the same as `disable_os_cache`.
 *
 * How: O_DIRECT needs the memory address, the file position and the length aligned to the device's block
 * (4096 covers every common one). JavaScript cannot choose where a buffer lives, except that the memory
 * of a `WebAssembly.Memory` starts on a page boundary; `alignedMemory` hands out such memory and
 * remembers it, so that `isAligned` can tell a view into it. The direct descriptor is the file already
 * opened (and checked to lie inside the download folder), opened again through `/proc/self/fd`: the very
 * same inode, whatever its path has become since. Where that fails (no /proc, a file system without
 * O_DIRECT) or a direct write is refused (EINVAL), writes stay buffered. Stretches aligned in the file
 * but not in memory go direct through scratch memory (`writeThroughScratch`); the bytes before a file's
 * first page boundary and after its last (a file's short end) go through the page cache.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import { writevAll } from "../files/PositionalIo.js"

/** The alignment asked of memory, positions and lengths. */
export const alignment = 4096

const wasmPage = 65536
// The one piece of the WebAssembly API used (the project's type libraries leave it out).
interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer
}
interface WasmMemorySize {
  readonly initial: number
  readonly maximum?: number
  readonly shared?: boolean
}
const WasmMemory = (globalThis as { readonly WebAssembly?: { readonly Memory: new (size: WasmMemorySize) => WasmMemory } })
  .WebAssembly?.Memory
const alignedBuffers = new WeakSet<ArrayBufferLike>()

/**
 * `bytes` (rounded up) of zeroed page-aligned memory, or undefined where none can be had; `shared`: a
 * SharedArrayBuffer's, which worker threads read in place (HashThreads).
 */
export const alignedMemory = (bytes: number, shared = false): Uint8Array | undefined => {
  if (WasmMemory === undefined) return undefined
  try {
    const pages = Math.max(1, Math.ceil(bytes / wasmPage))
    const memory = new WasmMemory(shared ? { initial: pages, maximum: pages, shared } : { initial: pages })
    alignedBuffers.add(memory.buffer)
    return new Uint8Array(memory.buffer)
  } catch {
    // No address space for it (a ulimit -v, say): buffered writes from ordinary memory.
    return undefined
  }
}

/** Whether `chunk` may be written directly at `position`. */
export const isAligned = (chunk: Uint8Array, position: number): boolean =>
  position % alignment === 0 && chunk.byteOffset % alignment === 0 && chunk.byteLength % alignment === 0 &&
  alignedBuffers.has(chunk.buffer)

/** How many of `chunks`, from the first, may be written directly from `position` on. */
export const alignedPrefix = (chunks: ReadonlyArray<Uint8Array>, position: number): number => {
  let at = position
  for (let i = 0; i < chunks.length; i++) {
    if (!isAligned(chunks[i]!, at)) return i
    at += chunks[i]!.byteLength
  }
  return chunks.length
}

const directFlag = fs.constants.O_DIRECT
const procFd = process.platform === "linux" && directFlag !== undefined && fs.existsSync("/proc/self/fd")

/** A second descriptor of the file open as `fd`, writing directly; undefined where there is none. */
export const openDirect = (fd: number): number | undefined => {
  if (!procFd) return undefined
  try {
    return fs.openSync(`/proc/self/fd/${fd}`, fs.constants.O_WRONLY | directFlag!)
  } catch {
    return undefined
  }
}

/** EINVAL from a direct write: this file (system) takes no direct writes after all. */
export const refusedDirect = (error: NodeJS.ErrnoException): boolean => error.code === "EINVAL"

/** A file open to write, and its direct descriptor: a number once opened, "none" where there is none.
 *  `refused`: a direct write failed with EINVAL; the descriptor stays open (another write may be using
 *  it) until the file's is closed, and is not used again. */
export interface WriteTarget {
  readonly fd: number
  direct: number | "none" | undefined
  refused?: boolean
}

/** A direct write of `chunks` at `position`; where the file refuses it (EINVAL), through the page cache,
 *  and no direct write to this file again. */
const writeDirect = (target: WriteTarget, chunks: ReadonlyArray<Uint8Array>, position: number) =>
  typeof target.direct !== "number" || target.refused === true
    ? writevAll(target.fd, chunks, position)
    : writevAll(target.direct, chunks, position).pipe(
      Effect.catchIf(refusedDirect, () => {
        target.refused = true
        return writevAll(target.fd, chunks, position)
      })
    )

/** Bytes `from` to `from + length` of the chunks one after the other, as views (no copy). */
const sliceOf = (chunks: ReadonlyArray<Uint8Array>, from: number, length: number): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  let skip = from
  let left = length
  for (const chunk of chunks) {
    if (left === 0) break
    if (skip >= chunk.byteLength) {
      skip -= chunk.byteLength
      continue
    }
    const n = Math.min(chunk.byteLength - skip, left)
    out.push(chunk.subarray(skip, skip + n))
    left -= n
    skip = 0
  }
  return out
}

/**
 * Scratch memory for stretches that are aligned in the file but not in memory: in a torrent of many files,
 * a file that does not start on a page boundary of the torrent has none of its bytes at an aligned address
 * of the piece buffers. Copied to scratch memory a megabyte at a time (about 0.1 s per GiB), they still go
 * direct rather than through the page cache (about 2 s per GiB on the machines measured). A buffer per
 * write under way, kept for the next.
 */
const scratchBytes = 1024 * 1024
const spareScratch: Array<Uint8Array> = []
const maxSpareScratch = 4

/** The file-aligned middle of `chunks` direct through scratch memory, the unaligned head and tail
 *  (less than a page each) through the page cache. */
const writeThroughScratch = (
  target: WriteTarget,
  chunks: ReadonlyArray<Uint8Array>,
  position: number
): Effect.Effect<void, NodeJS.ErrnoException> => {
  const total = chunks.reduce((n, chunk) => n + chunk.byteLength, 0)
  const headLength = Math.min(total, (alignment - (position % alignment)) % alignment)
  const bodyLength = Math.floor((total - headLength) / alignment) * alignment
  if (bodyLength === 0) return writevAll(target.fd, chunks, position)
  target.direct ??= openDirect(target.fd) ?? "none"
  const scratch = target.direct === "none" ? undefined : spareScratch.pop() ?? alignedMemory(scratchBytes)
  if (scratch === undefined) return writevAll(target.fd, chunks, position)
  const step = (done: number): Effect.Effect<void, NodeJS.ErrnoException> => {
    if (done === bodyLength) return Effect.void
    const length = Math.min(scratchBytes, bodyLength - done)
    let at = 0
    for (const part of sliceOf(chunks, headLength + done, length)) {
      scratch.set(part, at)
      at += part.byteLength
    }
    return Effect.flatMap(writeDirect(target, [scratch.subarray(0, length)], position + headLength + done), () => step(done + length))
  }
  const tailFrom = headLength + bodyLength
  return Effect.all([
    headLength > 0 ? writevAll(target.fd, sliceOf(chunks, 0, headLength), position) : Effect.void,
    step(0),
    tailFrom < total ? writevAll(target.fd, sliceOf(chunks, tailFrom, total - tailFrom), position + tailFrom) : Effect.void
  ], { discard: true }).pipe(
    Effect.ensuring(Effect.sync(() => {
      if (spareScratch.length < maxSpareScratch) spareScratch.push(scratch)
    }))
  )
}

/** Writes `chunks` one after the other at `position`: the aligned stretch from the first directly where
 *  the file allows, then the rest through scratch memory (`writeThroughScratch`), and everything through
 *  the page cache where the file takes no direct writes. */
export const writeRun = (
  target: WriteTarget,
  chunks: ReadonlyArray<Uint8Array>,
  position: number
): Effect.Effect<void, NodeJS.ErrnoException> => {
  if (target.direct === "none" || target.refused === true) return writevAll(target.fd, chunks, position)
  const aligned = alignedPrefix(chunks, position)
  if (aligned === 0) return writeThroughScratch(target, chunks, position)
  target.direct ??= openDirect(target.fd) ?? "none"
  if (target.direct === "none") return writevAll(target.fd, chunks, position)
  const head = chunks.slice(0, aligned)
  const rest = chunks.slice(aligned)
  const restAt = head.reduce((at, chunk) => at + chunk.byteLength, position)
  return writeDirect(target, head, position).pipe(
    Effect.zipRight(rest.length > 0 ? Effect.suspend(() => writeRun(target, rest, restAt)) : Effect.void)
  )
}

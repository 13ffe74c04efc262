/**
 * BEP 52: the v2 `file tree` inside `info` and the `piece layers` beside it.
 *
 * The tree nests one dictionary per path component; a file is a node whose only key is the empty string,
 * mapping to `{ length, pieces root, attr? }`. `piece layers` maps a file's pieces root to the hashes of
 * its piece-sized subtrees, which must hash back to that root.
 */
import * as Either from "effect/Either"
import { type Bencode, type BencodeDict, isBytes, isDict, isList, keyToBytes } from "./Bencode.js"
import { displayText } from "./FilePath.js"
import { toHex } from "./InfoHash.js"
import { LEAF_SIZE, rootOfLayer } from "./Merkle.js"

export interface V2File {
  readonly rawPath: ReadonlyArray<Uint8Array>
  readonly length: number
  readonly attr: string
  readonly piecesRoot: Uint8Array | undefined
  readonly symlinkPath: ReadonlyArray<string> | undefined
}

const text = (b: Bencode | undefined): string | undefined => (isBytes(b) ? displayText(b) : undefined)

const shown = (path: ReadonlyArray<Uint8Array>) => path.map(displayText).join("/")

/** The files of a v2 file tree, in tree order, or the first reason the tree is invalid. */
export const parseFileTree = (tree: Bencode): Either.Either<ReadonlyArray<V2File>, string> => {
  if (!isDict(tree)) return Either.left("'file tree' is not a dict")
  const files: Array<V2File> = []
  const walk = (node: BencodeDict, path: ReadonlyArray<Uint8Array>): string | undefined => {
    // Files are taken in key order, as libtorrent does, whatever order the dictionary was written in.
    for (const key of [...node.keys()].sort()) {
      const child = node.get(key)!
      const childPath = [...path, keyToBytes(key)]
      if (key === "") return `empty path component in file tree under '/${shown(path)}'`
      if (!isDict(child)) return `file tree node '${shown(childPath)}' is not a dict`
      const leaf = child.get("")
      if (leaf === undefined) {
        const error = walk(child, childPath)
        if (error !== undefined) return error
        continue
      }
      if (!isDict(leaf)) return `file tree '${shown(childPath)}' file entry is not a dict`
      const length = leaf.get("length")
      if (typeof length !== "number" || length < 0) {
        return `file tree '${shown(childPath)}' has no valid 'length'`
      }
      const attr = text(leaf.get("attr")) ?? ""
      if (attr.includes("p")) return `file tree '${shown(childPath)}' is marked as a pad file ('p' attr) inside a v2 file tree`
      const root = leaf.get("pieces root")
      const symlink = leaf.get("symlink path")
      const symlinkPath = attr.includes("l") && isList(symlink) ? symlink.flatMap((c) => text(c) ?? []) : undefined
      if (length > 0 && symlinkPath === undefined) {
        if (!isBytes(root) || root.length !== 32) return `file tree '${shown(childPath)}' missing 'pieces root'`
        if (root.every((b) => b === 0)) return `file tree '${shown(childPath)}' 'pieces root' is all zeros`
      }
      files.push({
        rawPath: childPath,
        length,
        attr,
        piecesRoot: isBytes(root) && root.length === 32 ? root : undefined,
        symlinkPath
      })
    }
    return undefined
  }
  const error = walk(tree, [])
  return error === undefined ? Either.right(files) : Either.left(error)
}

export const v2PieceCount = (files: ReadonlyArray<V2File>, pieceLength: number): number =>
  files.reduce((n, f) => n + Math.ceil(f.length / pieceLength), 0)

export interface PieceLayersCheck {
  /** Files larger than a piece whose layer is missing (allowed: peers can send the hashes). */
  readonly missing: number
  /** The hashes the layers hold, all files together. */
  readonly hashes: number
  /** Each file's layer (views into the .torrent's bytes), by its pieces root in hex. */
  readonly layers: ReadonlyMap<string, Uint8Array>
}

/** Checks `piece layers` against the files: sizes, and that each layer hashes to its pieces root. */
export const checkPieceLayers = (
  layers: Bencode,
  files: ReadonlyArray<V2File>,
  pieceLength: number
): Either.Either<PieceLayersCheck, string> => {
  if (!isDict(layers)) return Either.left("'piece layers' is not a dict")
  const byRoot = new Map<string, V2File>()
  for (const f of files) if (f.piecesRoot !== undefined) byRoot.set(toHex(f.piecesRoot), f)
  const seen = new Set<string>()
  const found = new Map<string, Uint8Array>()
  let hashes = 0
  for (const [key, layer] of layers) {
    const rootHex = toHex(keyToBytes(key))
    if (!isBytes(layer)) return Either.left("piece layer is not a byte string")
    const file = byRoot.get(rootHex)
    if (file === undefined) {
      return Either.left(`piece layers has an entry (${rootHex.slice(0, 16)}) matching no file's pieces root`)
    }
    seen.add(rootHex)
    if (file.length <= pieceLength) continue
    hashes += layer.length / 32
    const expected = 32 * Math.ceil(file.length / pieceLength)
    if (layer.length !== expected) {
      return Either.left(`piece layer for root ${rootHex.slice(0, 16)} has ${layer.length} bytes, expected ${expected}`)
    }
    const root = rootOfLayer(layer, pieceLength / LEAF_SIZE)
    if (toHex(root) !== rootHex) {
      return Either.left(`piece layer for root ${rootHex.slice(0, 16)} does not hash to its pieces root`)
    }
    found.set(rootHex, layer)
  }
  let missing = 0
  for (const f of files) {
    if (f.length > pieceLength && f.piecesRoot !== undefined && !seen.has(toHex(f.piecesRoot))) missing++
  }
  return Either.right({ missing, hashes, layers: found })
}

/**
 * The v2 parts of a .torrent made by `create` (BEP 52), and the hybrid's v1 file list (BEP 47).
 *
 * The `file tree` nests one dictionary per path component; a file's node is `{"": {length, pieces root}}`,
 * an empty file's without a root. `piece layers`, outside `info`, maps each pieces root of a file longer
 * than one piece to its layer. A hybrid's v1 `files` names the same files in the same order (the tree's,
 * which is the order `create` lists them in: each folder's names sorted by their bytes, as a bencode
 * dictionary's keys are), each but the last followed by a pad file `.pad/N` (attr `p`) up to the next
 * piece boundary, so that v1 and v2 pieces are the same.
 */
import { type Bencode, type BencodeDict, keyFromBytes } from "../../domain/Bencode.js"
import { type FileHashes, padAfter } from "./MerkleHashing.js"

export interface NamedFile {
  /** Its path below the torrent's folder, as raw name bytes (empty for a single-file torrent). */
  readonly components: ReadonlyArray<Uint8Array>
  readonly length: number
}

const fileNode = (file: NamedFile, hashes: FileHashes): BencodeDict => {
  const entry = new Map<string, Bencode>([["length", file.length]])
  if (hashes.root !== undefined) entry.set("pieces root", hashes.root)
  return new Map([["", entry]])
}

/** The `file tree` of `files`; a single-file torrent's one file sits under the torrent's `name`. */
export const fileTree = (name: Uint8Array, files: ReadonlyArray<NamedFile>, hashes: ReadonlyArray<FileHashes>): BencodeDict => {
  const tree = new Map<string, Bencode>()
  files.forEach((file, i) => {
    const components = file.components.length === 0 ? [name] : file.components
    let node = tree
    for (const component of components.slice(0, -1)) {
      const key = keyFromBytes(component)
      let child = node.get(key)
      if (!(child instanceof Map)) {
        child = new Map<string, Bencode>()
        node.set(key, child)
      }
      node = child as Map<string, Bencode>
    }
    node.set(keyFromBytes(components[components.length - 1]!), fileNode(file, hashes[i]!))
  })
  return tree
}

/** `piece layers`: each file longer than a piece, its pieces root to its layer. */
export const pieceLayers = (hashes: ReadonlyArray<FileHashes>): BencodeDict => {
  const layers = new Map<string, Bencode>()
  for (const { layer, root } of hashes) if (root !== undefined && layer !== undefined) layers.set(keyFromBytes(root), layer)
  return layers
}

const padName = new TextEncoder().encode(".pad")

/** A hybrid's v1 `files`: the files in tree order, pad files between them. */
export const hybridFiles = (files: ReadonlyArray<NamedFile>, pieceLength: number): ReadonlyArray<Bencode> =>
  files.flatMap((file, i) => {
    const entry = new Map<string, Bencode>([["length", file.length], ["path", [...file.components]]])
    const pad = padAfter(files, i, pieceLength)
    if (pad === 0) return [entry]
    const padEntry = new Map<string, Bencode>([
      ["attr", new TextEncoder().encode("p")],
      ["length", pad],
      ["path", [padName, new TextEncoder().encode(String(pad))]]
    ])
    return [entry, padEntry]
  })

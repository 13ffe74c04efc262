/**
 * The DHT state file: our node id and the nodes of the routing table, as bencode, so that a restart finds
 * the network again without the bootstrap nodes (and keeps its place in the id space).
 *
 *   d 11:file-format 13:bt-effect dht  12:file-version i1e  7:node-id 20:…
 *     5:nodes <compact IPv4 node info>  6:nodes6 <compact IPv6 node info>  8:saved-at i…e e
 *
 * A file that is not bt-effect's, of another version, or damaged decodes to an error (the reason), and the
 * caller starts from the bootstrap nodes instead: the state only ever saves time.
 */
import * as Either from "effect/Either"
import { bytes, dict, isBytes, isDict, text } from "../domain/Bencode.js"
import { decode, encode } from "./Bencode.js"
import { type CompactNode, decodeNodes, encodeNodes, nodeIdBytes } from "./KrpcNodes.js"

const format = "bt-effect dht"
const version = 1

/** A table holds at most 160 buckets of 8 nodes: this bounds what a damaged file can cost. */
export const maxStateBytes = 1024 * 1024

export interface DhtState {
  readonly nodeId: Uint8Array
  readonly nodes: ReadonlyArray<CompactNode>
  /** When it was saved, ms since the epoch. */
  readonly savedAt: number
}

export const encodeState = (state: DhtState): Uint8Array =>
  encode(
    dict([
      ["file-format", bytes(format)],
      ["file-version", version],
      ["node-id", state.nodeId],
      ["nodes", encodeNodes(state.nodes, 4)],
      ["nodes6", encodeNodes(state.nodes, 6)],
      ["saved-at", Math.max(0, Math.floor(state.savedAt))]
    ])
  )

/** The state in a file's bytes, or why they are not one. Never throws. */
export const decodeState = (raw: Uint8Array): Either.Either<DhtState, string> => {
  if (raw.length > maxStateBytes) return Either.left(`larger than ${maxStateBytes} bytes`)
  const decoded = decode(raw, { maxBytes: maxStateBytes })
  if (Either.isLeft(decoded)) return Either.left(decoded.left.message)
  const value = decoded.right.value
  if (!isDict(value)) return Either.left("not a dictionary")
  const fmt = value.get("file-format")
  if (!isBytes(fmt) || text(fmt) !== format) return Either.left("not a bt-effect DHT state file")
  if (value.get("file-version") !== version) return Either.left(`not version ${version}`)
  const nodeId = value.get("node-id")
  if (!isBytes(nodeId) || nodeId.length !== nodeIdBytes) return Either.left("no 20-byte node id")
  const savedAt = value.get("saved-at")
  const nodes: Array<CompactNode> = []
  for (const [key, family] of [["nodes", 4], ["nodes6", 6]] as const) {
    const list = value.get(key)
    if (list === undefined) continue
    if (!isBytes(list)) return Either.left(`${key} is not a byte string`)
    const entries = decodeNodes(list, family)
    if (Either.isLeft(entries)) return Either.left(entries.left.detail)
    nodes.push(...entries.right)
  }
  return Either.right({
    nodeId: Uint8Array.from(nodeId),
    nodes,
    savedAt: typeof savedAt === "number" ? savedAt : 0
  })
}

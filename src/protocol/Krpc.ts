/**
 * The DHT's KRPC messages (BEP 5): queries (ping, find_node, get_peers, announce_peer, and any other
 * method as `Unknown`), responses and errors, one bencoded dictionary per UDP datagram. With BEP 32
 * (`nodes6`, `want`), BEP 42 (the requester's address as `ip` in responses) and BEP 43 (`ro` for
 * read-only nodes). Compact node info and compact peers are in KrpcNodes.ts.
 *
 * `decode` never throws. It refuses datagrams over `maxDatagramBytes` before reading them, and what is not
 * a message (wrong types, ids that are not 20 bytes, a missing `t`) is a `KrpcError`; once `t` was read
 * the error carries it, so that the server can answer a malformed query with error 203. Unknown keys are
 * ignored, as BEP 5 asks for forward compatibility, and `values` entries of the wrong length are skipped.
 * `encode` writes canonical bencode (sorted keys), so the BEP's examples re-encode byte for byte; it
 * trusts its input as Message.encode does, and `KrpcMessageFromBytes` is the validating Schema codec.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { type Bencode, type BencodeDict, isBytes, isDict, isList, keyFromBytes } from "../domain/Bencode.js"
import { KrpcError } from "../domain/Errors.js"
import { PeerAddress } from "../domain/PeerAddress.js"
import * as Bencoding from "./Bencode.js"
import { Bytes20, type CompactNode, CompactNode as CompactNodeSchema } from "./KrpcNodes.js"
import { decodeNodes, decodePeer, encodeNodes, encodePeer } from "./KrpcNodes.js"
import { fromCodec } from "./CodecSchema.js"

export { CompactNode, decodeNodes, decodePeer, encodeNodes, encodePeer, nodeEntryBytes, nodeIdBytes } from "./KrpcNodes.js"

/** Bigger datagrams are refused (TooLarge) before decoding; real messages stay well under 1500 bytes. */
export const maxDatagramBytes = 8 * 1024

/** The longest transaction id accepted. Clients use 2 to 4 bytes; this is lenient. */
export const maxTransactionIdBytes = 32

export const ErrorCode = { Generic: 201, Server: 202, Protocol: 203, MethodUnknown: 204 } as const

// ---------------------------------------------------------------------------------------------------------
// Messages, as Schemas (the types are theirs)

const methodNames = { Ping: "ping", FindNode: "find_node", GetPeers: "get_peers", AnnouncePeer: "announce_peer" } as const
const knownMethods: ReadonlySet<string> = new Set(Object.values(methodNames))

const exact = <S extends Schema.Schema.All>(schema: S) => Schema.optionalWith(schema, { exact: true })
const TransactionId = Schema.Uint8ArrayFromSelf.pipe(
  Schema.filter((b) => b.length >= 1 && b.length <= maxTransactionIdBytes, {
    message: () => `a transaction id is 1 to ${maxTransactionIdBytes} bytes`
  })
)
/** BEP 32: the address families whose nodes the querying node wants back. */
export const Want = Schema.Literal("n4", "n6")
export type Want = typeof Want.Type
const Peer = Schema.typeSchema(PeerAddress)

export const Query = Schema.Union(
  Schema.TaggedStruct("Ping", { id: Bytes20 }),
  Schema.TaggedStruct("FindNode", { id: Bytes20, target: Bytes20, want: exact(Schema.Array(Want)) }),
  Schema.TaggedStruct("GetPeers", { id: Bytes20, infoHash: Bytes20, want: exact(Schema.Array(Want)) }),
  Schema.TaggedStruct("AnnouncePeer", {
    id: Bytes20,
    infoHash: Bytes20,
    /** 0 only with `impliedPort`, when the UDP source port is the one to use. */
    port: Schema.Int.pipe(Schema.between(0, 65535)),
    token: Schema.Uint8ArrayFromSelf,
    impliedPort: Schema.Boolean
  }).pipe(Schema.filter((q) => q.impliedPort || q.port >= 1, { message: () => "port 0 needs implied_port" })),
  /** Any other method (the server answers error 204); its name is the `q` bytes as latin1. */
  Schema.TaggedStruct("Unknown", {
    id: Bytes20,
    method: Schema.String.pipe(
      Schema.filter((m) => /^[\x00-\xff]*$/.test(m) && !knownMethods.has(m), {
        message: () => "an unknown method is latin1 text other than the known methods' names"
      })
    )
  })
)
export type Query = typeof Query.Type

export const Response = Schema.Struct({
  id: Bytes20,
  /** From `nodes` (IPv4). */
  nodes: exact(Schema.Array(CompactNodeSchema)),
  /** From `nodes6` (IPv6, BEP 32). */
  nodes6: exact(Schema.Array(CompactNodeSchema)),
  /** From `values`: a list of 6- or 18-byte compact peers (entries of other lengths skipped). */
  values: exact(Schema.Array(Peer)),
  token: exact(Schema.Uint8ArrayFromSelf)
})
export interface Response extends Schema.Schema.Type<typeof Response> {}

export const QueryMessage = Schema.TaggedStruct("Query", {
  transactionId: TransactionId,
  query: Query,
  /** BEP 43: the sender does not answer queries and must not be put in routing tables. */
  readOnly: Schema.Boolean,
  version: exact(Schema.Uint8ArrayFromSelf)
})
export interface QueryMessage extends Schema.Schema.Type<typeof QueryMessage> {}

export const ResponseMessage = Schema.TaggedStruct("Response", {
  transactionId: TransactionId,
  response: Response,
  /** BEP 42: the requester's address and port as the responder sees them. */
  ip: exact(Peer),
  version: exact(Schema.Uint8ArrayFromSelf)
})
export interface ResponseMessage extends Schema.Schema.Type<typeof ResponseMessage> {}

export const ErrorMessage = Schema.TaggedStruct("Error", {
  transactionId: TransactionId,
  code: Schema.Number.pipe(Schema.filter(Number.isSafeInteger, { message: () => "an error code is an integer" })),
  message: Schema.String
})
export interface ErrorMessage extends Schema.Schema.Type<typeof ErrorMessage> {}

export const KrpcMessage = Schema.Union(QueryMessage, ResponseMessage, ErrorMessage)
export type KrpcMessage = typeof KrpcMessage.Type

// ---------------------------------------------------------------------------------------------------------
// Decoding

class Malformed {
  constructor(readonly detail: string) {}
}

// A declaration, not an arrow, so that a call narrows the types after it.
function fail(detail: string): never {
  throw new Malformed(detail)
}

/** A copy, so that what is kept (ids, tokens) does not hold on to the datagram's buffer. */
const copy = (b: Uint8Array): Uint8Array => new Uint8Array(b)

const describe = (v: Bencode | undefined): string =>
  v === undefined
    ? "missing"
    : isBytes(v)
    ? `a string of ${v.length} bytes`
    : isList(v)
    ? "a list"
    : isDict(v)
    ? "a dictionary"
    : "an integer"

const bytes20 = (d: BencodeDict, key: string, where: string): Uint8Array => {
  const v = d.get(key)
  if (!isBytes(v) || v.length !== 20) fail(`${where}: '${key}' is ${describe(v)}, not 20 bytes`)
  return copy(v)
}

const optionalBytes = (d: BencodeDict, key: string, where: string): Uint8Array | undefined => {
  const v = d.get(key)
  if (v === undefined) return undefined
  if (!isBytes(v)) fail(`${where}: '${key}' is ${describe(v)}, not a string`)
  return copy(v)
}

const isNonZero = (v: Bencode | undefined): boolean =>
  (typeof v === "number" && v !== 0) || (typeof v === "bigint" && v !== 0n)

/** BEP 32 `want`: the known families in the order given; other entries are ignored, as is a non-list. */
const wantOf = (a: BencodeDict): { readonly want?: ReadonlyArray<Want> } => {
  const v = a.get("want")
  if (!isList(v)) return {}
  const want: Array<Want> = []
  for (const item of v) {
    const name = isBytes(item) ? keyFromBytes(item) : undefined
    if (name === "n4" || name === "n6") want.push(name)
  }
  return { want }
}

/** `v`, the sender's client and version; anything but a string is ignored. */
const versionOf = (root: BencodeDict): { readonly version?: Uint8Array } => {
  const v = root.get("v")
  return isBytes(v) ? { version: copy(v) } : {}
}

const readQuery = (root: BencodeDict, transactionId: Uint8Array): QueryMessage => {
  const q = root.get("q")
  if (!isBytes(q)) fail(`a query whose method 'q' is ${describe(q)}`)
  const method = keyFromBytes(q)
  const where = method.length <= 32 ? method : `${method.slice(0, 32)}...`
  const args = root.get("a")
  if (!isDict(args)) fail(`${where}: the arguments 'a' are ${describe(args)}, not a dictionary`)
  const id = bytes20(args, "id", where)
  const query = ((): Query => {
    switch (method) {
      case methodNames.Ping:
        return { _tag: "Ping", id }
      case methodNames.FindNode:
        return { _tag: "FindNode", id, target: bytes20(args, "target", where), ...wantOf(args) }
      case methodNames.GetPeers:
        return { _tag: "GetPeers", id, infoHash: bytes20(args, "info_hash", where), ...wantOf(args) }
      case methodNames.AnnouncePeer: {
        const infoHash = bytes20(args, "info_hash", where)
        const token = args.get("token")
        if (!isBytes(token)) fail(`${where}: 'token' is ${describe(token)}, not a string`)
        const impliedPort = isNonZero(args.get("implied_port"))
        const given = args.get("port")
        const port = typeof given === "number" && given >= (impliedPort ? 0 : 1) && given <= 65535 ? given : undefined
        // With implied_port the source port is used, so a missing or odd `port` does not matter.
        if (port === undefined && !impliedPort) {
          fail(`${where}: 'port' is ${typeof given === "number" ? given : describe(given)}, not 1..65535`)
        }
        return { _tag: "AnnouncePeer", id, infoHash, port: port ?? 0, token: copy(token), impliedPort }
      }
      default:
        return { _tag: "Unknown", id, method }
    }
  })()
  // BEP 43 sends `ro` as 1; any other non-zero integer is read the same way.
  return { _tag: "Query", transactionId, query, readOnly: isNonZero(root.get("ro")), ...versionOf(root) }
}

const nodesOf = (r: BencodeDict, key: "nodes" | "nodes6", family: 4 | 6): ReadonlyArray<CompactNode> | undefined => {
  const v = r.get(key)
  if (v === undefined) return undefined
  if (!isBytes(v)) fail(`response: '${key}' is ${describe(v)}, not a string`)
  return Either.getOrElse(decodeNodes(v, family), (e) => fail(`response: '${key}': ${e.detail}`))
}

const valuesOf = (r: BencodeDict): ReadonlyArray<PeerAddress> | undefined => {
  const v = r.get("values")
  if (v === undefined) return undefined
  if (!isList(v)) fail(`response: 'values' is ${describe(v)}, not a list`)
  const peers: Array<PeerAddress> = []
  for (const entry of v) {
    const peer = isBytes(entry) ? decodePeer(entry) : undefined
    if (peer !== undefined) peers.push(peer)
  }
  return peers
}

const readResponse = (root: BencodeDict, transactionId: Uint8Array): ResponseMessage => {
  const body = root.get("r")
  if (!isDict(body)) fail(`a response whose 'r' is ${describe(body)}, not a dictionary`)
  const nodes = nodesOf(body, "nodes", 4)
  const nodes6 = nodesOf(body, "nodes6", 6)
  const values = valuesOf(body)
  const token = optionalBytes(body, "token", "response")
  const response: Response = {
    id: bytes20(body, "id", "response"),
    ...(nodes === undefined ? {} : { nodes }),
    ...(nodes6 === undefined ? {} : { nodes6 }),
    ...(values === undefined ? {} : { values }),
    ...(token === undefined ? {} : { token })
  }
  // BEP 42's `ip` is advice about ourselves: one we cannot read is ignored, not fatal.
  const ipField = root.get("ip")
  const ip = isBytes(ipField) ? decodePeer(ipField) : undefined
  return { _tag: "Response", transactionId, response, ...(ip === undefined ? {} : { ip }), ...versionOf(root) }
}

const lenientUtf8 = new TextDecoder("utf-8")

const readError = (root: BencodeDict, transactionId: Uint8Array): ErrorMessage => {
  const e = root.get("e")
  if (!isList(e)) fail(`an error whose 'e' is ${describe(e)}, not a list`)
  const [code, text] = e
  if (typeof code !== "number") fail(`an error whose code is ${describe(code)}, not a small integer`)
  // A missing or non-string message is read as empty: the code is what matters.
  const message = isBytes(text) ? lenientUtf8.decode(text) : ""
  return { _tag: "Error", transactionId, code, message }
}

const malformed = (detail: string, transactionId?: Uint8Array) =>
  Either.left(new KrpcError({ reason: "Malformed", detail, ...(transactionId === undefined ? {} : { transactionId }) }))

/** One datagram as a message. Never throws. */
export const decode = (bytes: Uint8Array): Either.Either<KrpcMessage, KrpcError> => {
  if (bytes.length > maxDatagramBytes) {
    return Either.left(
      new KrpcError({ reason: "TooLarge", detail: `datagram of ${bytes.length} bytes exceeds ${maxDatagramBytes}` })
    )
  }
  const parsed = Bencoding.decode(bytes, { maxBytes: maxDatagramBytes })
  if (Either.isLeft(parsed)) return Either.left(new KrpcError({ reason: "Bencode", detail: parsed.left.message }))
  const root = parsed.right.value
  if (!isDict(root)) return malformed(`the message is ${describe(root)}, not a dictionary`)
  const t = root.get("t")
  if (!isBytes(t) || t.length < 1 || t.length > maxTransactionIdBytes) {
    return malformed(`the transaction id 't' is ${describe(t)}, not 1 to ${maxTransactionIdBytes} bytes`)
  }
  const transactionId = copy(t)
  try {
    const y = root.get("y")
    switch (isBytes(y) ? keyFromBytes(y) : undefined) {
      case "q":
        return Either.right(readQuery(root, transactionId))
      case "r":
        return Either.right(readResponse(root, transactionId))
      case "e":
        return Either.right(readError(root, transactionId))
      default:
        return malformed(`the message type 'y' is ${describe(y)}, not "q", "r" or "e"`, transactionId)
    }
  } catch (e) {
    if (e instanceof Malformed) return malformed(e.detail, transactionId)
    throw e
  }
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

const latin1 = (s: string): Uint8Array => Buffer.from(s, "latin1")

const yQuery = latin1("q")
const yResponse = latin1("r")
const yError = latin1("e")

const queryArguments = (q: Query): BencodeDict => {
  const args = new Map<string, Bencode>([["id", q.id]])
  const want = q._tag === "FindNode" || q._tag === "GetPeers" ? q.want : undefined
  if (want !== undefined) args.set("want", want.map(latin1))
  switch (q._tag) {
    case "FindNode":
      args.set("target", q.target)
      break
    case "GetPeers":
      args.set("info_hash", q.infoHash)
      break
    case "AnnouncePeer":
      args.set("info_hash", q.infoHash)
      args.set("port", q.port)
      args.set("token", q.token)
      if (q.impliedPort) args.set("implied_port", 1)
      break
  }
  return args
}

const responseBody = (r: Response): BencodeDict => {
  const body = new Map<string, Bencode>([["id", r.id]])
  if (r.nodes !== undefined) body.set("nodes", encodeNodes(r.nodes, 4))
  if (r.nodes6 !== undefined) body.set("nodes6", encodeNodes(r.nodes6, 6))
  if (r.values !== undefined) {
    body.set("values", r.values.flatMap((p) => encodePeer(p) ?? []))
  }
  if (r.token !== undefined) body.set("token", r.token)
  return body
}

const toBencode = (m: KrpcMessage): BencodeDict => {
  const root = new Map<string, Bencode>([["t", m.transactionId]])
  switch (m._tag) {
    case "Query":
      root.set("y", yQuery)
      root.set("q", latin1(m.query._tag === "Unknown" ? m.query.method : methodNames[m.query._tag]))
      root.set("a", queryArguments(m.query))
      if (m.readOnly) root.set("ro", 1)
      if (m.version !== undefined) root.set("v", m.version)
      break
    case "Response": {
      root.set("y", yResponse)
      root.set("r", responseBody(m.response))
      const ip = m.ip === undefined ? undefined : encodePeer(m.ip)
      if (ip !== undefined) root.set("ip", ip)
      if (m.version !== undefined) root.set("v", m.version)
      break
    }
    case "Error":
      root.set("y", yError)
      root.set("e", [m.code, Buffer.from(m.message, "utf8")])
      break
  }
  return root
}

/** The datagram of a message: canonical bencode, keys in byte order. */
export const encode = (m: KrpcMessage): Uint8Array => Bencoding.encode(toBencode(m))

// ---------------------------------------------------------------------------------------------------------
// Constructors: plain objects, no validation (the Schemas validate).

/** What a query may add: BEP 43's read-only flag, the `v` version, BEP 32's `want` (find_node, get_peers). */
export interface QueryOptions {
  readonly readOnly?: boolean
  readonly version?: Uint8Array
  readonly want?: ReadonlyArray<Want>
}

const queryMessage = (transactionId: Uint8Array, query: Query, options?: QueryOptions): QueryMessage => ({
  _tag: "Query",
  transactionId,
  query,
  readOnly: options?.readOnly ?? false,
  ...(options?.version === undefined ? {} : { version: options.version })
})

const wanted = (options?: QueryOptions) => (options?.want === undefined ? {} : { want: options.want })

export const ping = (t: Uint8Array, id: Uint8Array, options?: QueryOptions): QueryMessage =>
  queryMessage(t, { _tag: "Ping", id }, options)

export const findNode = (t: Uint8Array, id: Uint8Array, target: Uint8Array, options?: QueryOptions): QueryMessage =>
  queryMessage(t, { _tag: "FindNode", id, target, ...wanted(options) }, options)

export const getPeers = (t: Uint8Array, id: Uint8Array, infoHash: Uint8Array, options?: QueryOptions): QueryMessage =>
  queryMessage(t, { _tag: "GetPeers", id, infoHash, ...wanted(options) }, options)

export const announcePeer = (
  t: Uint8Array,
  id: Uint8Array,
  infoHash: Uint8Array,
  port: number,
  token: Uint8Array,
  impliedPort: boolean,
  options?: QueryOptions
): QueryMessage => queryMessage(t, { _tag: "AnnouncePeer", id, infoHash, port, token, impliedPort }, options)

export const response = (t: Uint8Array, r: Response, ip?: PeerAddress, version?: Uint8Array): ResponseMessage => ({
  _tag: "Response",
  transactionId: t,
  response: r,
  ...(ip === undefined ? {} : { ip }),
  ...(version === undefined ? {} : { version })
})

export const error = (t: Uint8Array, code: number, message: string): ErrorMessage => ({
  _tag: "Error",
  transactionId: t,
  code,
  message
})

// ---------------------------------------------------------------------------------------------------------
// Schema codec

/** A datagram as a `KrpcMessage`, built on `decode` and `encode`; encoding validates the message first. */
export const KrpcMessageFromBytes: Schema.Schema<KrpcMessage, Uint8Array> = fromCodec(Schema.Uint8ArrayFromSelf, KrpcMessage, {
  decode: (bytes) => Either.mapLeft(decode(bytes), (e) => e.message),
  encode: (m) => encode(m)
})

/**
 * A scripted peer that offers a torrent's metadata (BEP 9) on the in-memory network and gives what it is
 * told to: the true info dictionary, another one of the same size, a size past the limit, or rejects.
 * It logs the ut_metadata requests it receives. With `hashes` it is a v2 peer (the handshake's v2 bit) that
 * answers BEP 52 hash requests from a torrent's FileHashes, or with a byte changed (`tamper`), or rejects
 * them, and logs them too.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"
import type { FileHashes } from "../../src/domain/FileHashes.js"
import type { InfoHash } from "../../src/domain/InfoHash.js"
import * as PeerId from "../../src/domain/PeerId.js"
import * as Extension from "../../src/protocol/Extension.js"
import * as FrameParser from "../../src/protocol/FrameParser.js"
import * as Handshake from "../../src/protocol/Handshake.js"
import * as HashMessages from "../../src/protocol/HashMessages.js"
import * as Message from "../../src/protocol/Message.js"
import * as Metadata from "../../src/protocol/Metadata.js"
import type { MemoryNetwork } from "../../src/services/wire/MemoryNetwork.js"

export type MetadataBehaviour =
  /** Serves `info` (which may be a forgery of the right size). */
  | { readonly _tag: "Serve"; readonly info: Uint8Array }
  /** Announces this metadata_size and serves nothing. */
  | { readonly _tag: "Announce"; readonly size: number }
  /** Rejects every request. */
  | { readonly _tag: "Reject"; readonly size: number }

export interface MetadataPeerLog {
  readonly requests: Array<number>
  /** Hash requests received: "base/index/length/proof layers". */
  readonly hashRequests: Array<string>
  connections: number
}

/** How a v2 scripted peer answers hash requests. */
export interface HashBehaviour {
  readonly source: FileHashes
  readonly answer: "honest" | "tamper" | "reject"
}

/** Our ut_metadata id in the scripted peer's extension handshake (not 1, so that ids are not confused). */
const scriptedId = 7

export const metadataPeer = (options: {
  readonly network: MemoryNetwork
  readonly host: string
  readonly port: number
  readonly infoHash: InfoHash
  readonly behaviour: MetadataBehaviour
  readonly hashes?: HashBehaviour
}): Effect.Effect<MetadataPeerLog, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const log: MetadataPeerLog = { requests: [], hashRequests: [], connections: 0 }
    const hashes = options.hashes
    const answerHashes = (m: HashMessages.HashRequest): Uint8Array => {
      log.hashRequests.push(`${m.baseLayer}/${m.index}/${m.length}/${m.proofLayers}`)
      const a = hashes!.answer === "reject" ? undefined : hashes!.source.answer(m.piecesRoot, m)
      if (a === undefined) return HashMessages.encodeHashMessage(HashMessages.hashReject(m))
      const body = new Uint8Array([...a.hashes, ...a.uncles])
      if (hashes!.answer === "tamper") body[body.length - 1] = body[body.length - 1]! ^ 1
      return HashMessages.encodeHashMessage(HashMessages.hashes(m, body))
    }
    const runFork = yield* FiberSet.makeRuntime<never, unknown, unknown>()
    const b = options.behaviour
    const size = b._tag === "Serve" ? b.info.length : b.size
    const ours = Handshake.encode({
      reserved: Handshake.reserved({ extensions: true, v2: hashes !== undefined }),
      infoHash: options.infoHash,
      peerId: PeerId.make(Buffer.from(options.host.padEnd(12, "m")))
    })
    yield* options.network.host(options.host).listen({ port: options.port, host: options.host }, (connection) =>
      Effect.gen(function* () {
        log.connections++
        const parser = FrameParser.make({ handshake: true })
        let theirId: number | undefined
        const out: Array<Uint8Array> = []
        yield* connection.run((chunk) => {
          parser.push(chunk, (frame) => {
            if (frame._tag === "Handshake") {
              out.push(ours, Message.encode(Message.extended(Extension.handshakeId, Extension.encodeHandshake({
                m: new Map([[Extension.UtMetadata, scriptedId]]),
                metadataSize: size
              }))))
            } else if (frame._tag === "HashRequest" && hashes !== undefined) {
              out.push(answerHashes(frame))
            } else if (frame._tag === "Extended" && frame.extendedId === Extension.handshakeId) {
              theirId = Either.getOrUndefined(Extension.decodeHandshake(frame.payload))?.m.get(Extension.UtMetadata)
            } else if (frame._tag === "Extended" && frame.extendedId === scriptedId && theirId !== undefined) {
              const m = Either.getOrUndefined(Metadata.decode(frame.payload))
              if (m?._tag !== "Request") return
              log.requests.push(m.piece)
              const reply = b._tag === "Serve"
                ? Metadata.data(m.piece, size, b.info.subarray(m.piece * Metadata.pieceSize, (m.piece + 1) * Metadata.pieceSize))
                : b._tag === "Reject" ? Metadata.reject(m.piece) : undefined
              if (reply !== undefined) out.push(Message.encode(Message.extended(theirId, Metadata.encode(reply))))
            }
          })
          if (out.length > 0) runFork(connection.write(out.splice(0)))
        }).pipe(Effect.ignore)
      })
    )
    return log
  })

/**
 * A v2 peer for interop tests, on a loopback TCP port, made of the real parts a bt-effect session uses
 * for the hash messages: it handshakes with a torrent's truncated v2 hash and the v2 bit, offers the info
 * dictionary through ut_metadata (BEP 9), says it has every piece (HaveAll), and answers BEP 52 hash
 * requests with `HashExchange` over the torrent's `FileHashes`. It serves no blocks: enough for a client
 * added by a btmh magnet to get the metadata and the piece layers from us, which is what it tests.
 */
import * as net from "node:net"
import * as Either from "effect/Either"
import { FileHashes } from "../../src/domain/FileHashes.js"
import * as InfoHash from "../../src/domain/InfoHash.js"
import type { Metainfo } from "../../src/domain/Metainfo.js"
import * as PeerId from "../../src/domain/PeerId.js"
import * as Extension from "../../src/protocol/Extension.js"
import * as FrameParser from "../../src/protocol/FrameParser.js"
import * as Handshake from "../../src/protocol/Handshake.js"
import * as Message from "../../src/protocol/Message.js"
import * as Metadata from "../../src/protocol/Metadata.js"
import { HashExchange } from "../../src/services/peer/HashExchange.js"

export interface HashServerLog {
  /** Hash requests received: "base/index/length/proof layers". */
  readonly requests: Array<string>
  /** What the exchange answered with, in order: "Hashes" or "HashReject". */
  readonly answers: Array<string>
  /** Why a connection was ended by the exchange, if it was. */
  readonly ended: Array<string>
  connections: number
}

export interface HashServer {
  readonly port: number
  readonly log: HashServerLog
  readonly close: () => Promise<void>
}

const ourMetadataId = 3

export const startHashServer = (metainfo: Metainfo, host = "127.0.0.1"): Promise<HashServer> => {
  const hashes = FileHashes.fromMetainfo(metainfo)
  if (hashes === undefined || !hashes.complete) throw new Error("the server needs a v2 torrent with its piece layers")
  const info = metainfo.infoBytes
  const infoHash = InfoHash.infoHash(metainfo.infoHashV2!.subarray(0, 20))
  const log: HashServerLog = { requests: [], answers: [], ended: [], connections: 0 }
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    log.connections++
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    socket.on("error", () => socket.destroy())
    const parser = FrameParser.make({ handshake: true })
    let theirMetadataId: number | undefined
    const exchange = new HashExchange(hashes, true, {
      send: (bytes) => {
        log.answers.push(bytes[4] === 22 ? "Hashes" : bytes[4] === 23 ? "HashReject" : `id ${bytes[4]}`)
        socket.write(bytes)
      },
      end: (reason, detail) => {
        log.ended.push(`${reason}: ${detail}`)
        socket.destroy()
      }
    })
    // The session's tick: the exchange's budgets renewed each second.
    const ticker = setInterval(() => exchange.tick(Date.now()), 1000)
    socket.on("close", () => clearInterval(ticker))
    socket.on("data", (chunk: Buffer) => {
      const error = parser.push(chunk, (frame) => {
        switch (frame._tag) {
          case "Handshake":
            socket.write(Handshake.encode({
              reserved: Handshake.reserved({ extensions: true, fast: true, v2: true }),
              infoHash,
              peerId: PeerId.make(Buffer.from("hashserver##"))
            }))
            socket.write(Message.encode(Message.extended(Extension.handshakeId, Extension.encodeHandshake({
              m: new Map([[Extension.UtMetadata, ourMetadataId]]),
              metadataSize: info.length
            }))))
            socket.write(Message.encode(Message.haveAll))
            return
          case "Extended":
            if (frame.extendedId === Extension.handshakeId) {
              theirMetadataId = Either.getOrUndefined(Extension.decodeHandshake(frame.payload))?.m.get(Extension.UtMetadata)
            } else if (frame.extendedId === ourMetadataId && theirMetadataId !== undefined) {
              const m = Either.getOrUndefined(Metadata.decode(frame.payload))
              if (m?._tag !== "Request") return
              const piece = info.subarray(m.piece * Metadata.pieceSize, (m.piece + 1) * Metadata.pieceSize)
              socket.write(Message.encode(Message.extended(theirMetadataId, Metadata.encode(Metadata.data(m.piece, info.length, piece)))))
            }
            return
          case "HashRequest":
          case "Hashes":
          case "HashReject":
            if (frame._tag === "HashRequest") log.requests.push(`${frame.baseLayer}/${frame.index}/${frame.length}/${frame.proofLayers}`)
            exchange.onMessage(frame, Date.now())
            // Each answer is written at once: none waits for a later write.
            exchange.flushed()
            return
          default:
            return
        }
      })
      if (error !== undefined) socket.destroy()
    })
  })
  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resolve({
        port,
        log,
        close: () => {
          for (const s of sockets) s.destroy()
          return new Promise((done) => server.close(() => done()))
        }
      })
    })
  })
}

// Many small leechers at once, for the scale row's "200 peers connected" part: each is one plain TCP
// BitTorrent connection (no extensions, no encryption) from a loopback address of its own, for one torrent
// of the set. It shakes hands, says it is interested, and once unchoked downloads every block of its
// torrent in order with `depth` requests outstanding (as a real client keeps a queue), asking again for
// what a choke dropped. It counts the bytes that arrive; it does not hash them (the daemon under test reads
// them from files it checked). Everything is loopback.
import { randomBytes } from "node:crypto"
import * as net from "node:net"

const BLOCK = 16 * 1024
const PROTOCOL = Buffer.from("\x13BitTorrent protocol", "latin1")

/** One leecher: resolves with how many payload bytes it received and whether it got all of them. */
const leecher = ({ host, port, localAddress, infoHash, size, pieceLength, depth, deadline }) =>
  new Promise((resolve) => {
    const blocks = Math.ceil(size / BLOCK)
    const blockLength = (b) => Math.min(BLOCK, size - b * BLOCK)
    let next = 0 // the next block never asked for
    const again = [] // blocks a choke dropped, asked for first
    const outstanding = new Set()
    let received = 0
    let bytes = 0
    let choked = true
    let shook = false
    let buffered = Buffer.alloc(0)
    const socket = net.connect({ host, port, localAddress })
    const finish = () => {
      clearTimeout(timer)
      socket.destroy()
      resolve({ bytes, complete: received === blocks })
    }
    const timer = setTimeout(finish, Math.max(0, deadline - Date.now()))
    const message = (id, payload = Buffer.alloc(0)) => {
      const head = Buffer.alloc(5)
      head.writeUInt32BE(1 + payload.length, 0)
      head[4] = id
      return Buffer.concat([head, payload])
    }
    const request = (b) => {
      const p = Buffer.alloc(12)
      // The torrent is one run of bytes: piece and offset from the block's position.
      p.writeUInt32BE(Math.floor((b * BLOCK) / pieceLength), 0)
      p.writeUInt32BE((b * BLOCK) % pieceLength, 4)
      p.writeUInt32BE(blockLength(b), 8)
      return message(6, p)
    }
    const fill = () => {
      if (choked) return
      const out = []
      while (outstanding.size < depth && (again.length > 0 || next < blocks)) {
        const b = again.length > 0 ? again.shift() : next++
        outstanding.add(b)
        out.push(request(b))
      }
      if (out.length > 0) socket.write(Buffer.concat(out))
    }
    socket.on("connect", () => {
      socket.write(Buffer.concat([PROTOCOL, Buffer.alloc(8), infoHash, Buffer.from("-LD0001-"), randomBytes(12)]))
      socket.write(message(2)) // interested
    })
    socket.on("data", (chunk) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
      if (!shook) {
        if (buffered.length < 68) return
        shook = true
        buffered = buffered.subarray(68)
      }
      while (buffered.length >= 4) {
        const length = buffered.readUInt32BE(0)
        if (buffered.length < 4 + length) break
        const id = length === 0 ? -1 : buffered[4]
        if (id === 0) {
          choked = true
          for (const b of outstanding) again.push(b)
          outstanding.clear()
        } else if (id === 1) {
          choked = false
        } else if (id === 7) {
          const piece = buffered.readUInt32BE(5)
          const offset = buffered.readUInt32BE(9)
          const b = (piece * pieceLength + offset) / BLOCK
          if (outstanding.delete(b)) {
            received += 1
            bytes += length - 9
          }
        }
        buffered = buffered.subarray(4 + length)
      }
      if (received === blocks) return finish()
      fill()
    })
    socket.on("error", finish)
    socket.on("close", finish)
  })

/**
 * `torrents` ({ infoHash: Buffer, size, pieceLength }) downloaded at once from `host:port`, one leecher
 * each from 127.0.1.1, 127.0.1.2, ... Resolves when all are done or at `timeoutMs`: the bytes, the
 * seconds, and how many completed.
 */
export const peerLoad = async ({ host, port, torrents, depth = 32, timeoutMs = 120_000 }) => {
  const started = performance.now()
  const deadline = Date.now() + timeoutMs
  const results = await Promise.all(torrents.map((t, i) =>
    leecher({ host, port, localAddress: `127.0.1.${1 + (i % 250)}`, infoHash: t.infoHash, size: t.size, pieceLength: t.pieceLength, depth, deadline })
  ))
  return {
    seconds: (performance.now() - started) / 1000,
    bytes: results.reduce((sum, r) => sum + r.bytes, 0),
    complete: results.filter((r) => r.complete).length
  }
}

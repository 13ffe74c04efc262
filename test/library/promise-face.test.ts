/**
 * The library's Promise face over the real network and files: one client seeds a folder's file on
 * 127.0.0.2, another fetches it on 127.0.0.3 from a magnet link naming the seeder (x.pe), with the events a
 * program listens to.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { Client, MetainfoError, type PromiseClient } from "../../src/library/index.js"
import { randomBytes } from "../../src/library/testing.js"

const opened: Array<PromiseClient> = []
const dirs: Array<string> = []
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-lib-"))
  dirs.push(dir)
  return dir
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()))
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

describe("library: the Promise face", () => {
  it("downloads from a local seeder with piece, peer and done events", async () => {
    const shared = tempDir()
    const data = randomBytes(2 * 1024 * 1024 + 123, 7)
    fs.writeFileSync(path.join(shared, "movie.bin"), data)
    const seeder = await Client.create({ downloadDir: shared, host: "127.0.0.2", port: 0, dht: false, stateDir: tempDir() })
    opened.push(seeder)
    const seeding = await seeder.seed(path.join(shared, "movie.bin"), { pieceLength: 65536 })
    expect(seeding.progress).toBe(1)
    expect(seeding.files).toEqual([{ path: "movie.bin", length: data.length }])

    const out = tempDir()
    const client = await Client.create({ downloadDir: out, host: "127.0.0.3", port: 0, dht: false, stateDir: tempDir() })
    opened.push(client)
    const torrent = await client.add(`magnet:?xt=urn:btih:${seeding.infoHash}&x.pe=127.0.0.2:${seeder.port}`)
    const pieces: Array<number> = []
    const peers: Array<string> = []
    let done = false
    torrent.on("piece", (piece) => pieces.push(piece))
    torrent.on("peer", (peer) => peers.push(peer))
    torrent.on("done", () => void (done = true))
    await torrent.done()
    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect(torrent.progress).toBe(1)
    expect(done).toBe(true)
    expect(pieces.sort((a, b) => a - b)).toEqual(Array.from({ length: 33 }, (_, i) => i))
    expect(peers).toEqual([`127.0.0.2:${seeder.port}`])
    expect(client.torrents.map((t) => t.name)).toEqual(["movie.bin"])
    expect(fs.readFileSync(path.join(out, "movie.bin")).equals(Buffer.from(data))).toBe(true)
    await torrent.remove()
    expect(client.torrents).toEqual([])
  }, 30_000)

  it("rejects with the typed error itself", async () => {
    const client = await Client.create({ downloadDir: tempDir(), host: "127.0.0.3", port: 0, stateDir: tempDir() })
    opened.push(client)
    const file = path.join(tempDir(), "broken.torrent")
    fs.writeFileSync(file, "not bencode")
    await expect(client.add(file)).rejects.toBeInstanceOf(MetainfoError)
  })
})

/**
 * The library's Promise face over the real network and files: one client seeds a folder's file on
 * 127.0.0.2, another fetches it on 127.0.0.3 from a magnet link naming the seeder (x.pe), with the events a
 * program listens to.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import type { Readable } from "node:stream"
import { Client, MetainfoError, type PromiseClient, StorageError, UsageError } from "../../src/library/index.js"
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
    expect(seeding.files).toEqual([{ number: 1, path: "movie.bin", length: data.length, selected: true }])

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

  it("reads files with createReadStream while they download from a slow seeder", async () => {
    const { magnet, client, out, data } = await slowShow(512 * 1024)
    const torrent = await client.add(magnet)
    expect(torrent.files.map((f) => [f.number, f.path, f.length, f.selected])).toEqual([
      [1, "show/a.bin", data.a.length, true],
      [2, "show/b.bin", data.b.length, true],
      [3, "show/c.bin", data.c.length, true]
    ])
    const b = torrent.files[1]!
    const whole = readAll(b.createReadStream())
    const part = readAll(b.createReadStream({ start: 100_000, end: 900_000 }))
    const tail = readAll(torrent.files[2]!.createReadStream({ start: data.c.length - 10, end: 10 ** 9 }))
    expect(torrent.downloaded).toBeLessThan(data.a.length)
    expect((await whole).equals(data.b)).toBe(true)
    expect((await part).equals(data.b.subarray(100_000, 900_001))).toBe(true)
    expect((await tail).equals(data.c.subarray(data.c.length - 10))).toBe(true)
    expect((await readAll(b.createReadStream({ start: data.b.length }))).length).toBe(0)
    expect(() => b.createReadStream({ start: 10, end: 9 })).toThrow("show/b.bin: start (10) is after end (9)")
    expect(() => b.createReadStream({ start: -1 })).toThrow(RangeError)
    await torrent.done()
    expect(fs.readFileSync(path.join(out, "show", "b.bin")).equals(data.b)).toBe(true)
  }, 30_000)

  it("ends a read stream destroyed early without an error, and fails one still waiting on remove", async () => {
    const { magnet, client, data, seeded } = await slowShow(256 * 1024)
    const torrent = await client.add(magnet)
    const early = torrent.files[0]!.createReadStream({ highWaterMark: 16 * 1024 })
    const events: Array<string> = []
    early.on("error", () => events.push("error"))
    const first = await new Promise<Buffer>((resolve) => early.once("data", resolve))
    expect(first.equals(data.a.subarray(0, first.length))).toBe(true)
    early.on("data", () => events.push("data"))
    early.destroy()
    await new Promise((resolve) => early.once("close", resolve))
    // The seeder gone, the 1 MB of b.bin cannot all come: a read of it waits.
    await seeded.remove()
    const waiting = torrent.files[1]!.createReadStream()
    waiting.on("error", () => events.push("error"))
    waiting.resume()
    await new Promise((resolve) => setTimeout(resolve, 200))
    waiting.destroy()
    await new Promise((resolve) => waiting.once("close", resolve))
    expect(events).toEqual([])
    const last = torrent.files[1]!.createReadStream()
    const failed = new Promise<unknown>((resolve) => last.once("error", resolve))
    last.resume()
    await new Promise((resolve) => setTimeout(resolve, 200))
    await torrent.remove()
    const error = await failed
    expect(error).toBeInstanceOf(StorageError)
    expect((error as StorageError).message).toMatch(/the torrent was removed or its client closed$/)
  }, 30_000)

  it("downloads only the files chosen with files, the others not created", async () => {
    const { magnet, client, out, data } = await slowShow(0)
    const bad = await client.add(magnet, { files: [1, 4] }).catch((e: unknown) => e)
    expect(bad).toBeInstanceOf(UsageError)
    expect((bad as UsageError).message).toBe("files: 4 is not a file number of the torrent (1 to 3, as bt-effect info shows them)")
    const torrent = await client.add(magnet, { files: [1, 3] })
    expect(torrent.files.map((f) => f.selected)).toEqual([true, false, true])
    expect(torrent.selectedLength).toBe(data.a.length + data.c.length)
    await torrent.done()
    expect(torrent.progress).toBe(1)
    expect(fs.readdirSync(path.join(out, "show")).sort()).toEqual(["a.bin", "c.bin"])
    expect(fs.readFileSync(path.join(out, "show", "a.bin")).equals(data.a)).toBe(true)
    expect(fs.readFileSync(path.join(out, "show", "c.bin")).equals(data.c)).toBe(true)
    expect((await readAll(torrent.files[2]!.createReadStream())).equals(data.c)).toBe(true)
    const unselected = await readAll(torrent.files[1]!.createReadStream()).catch((e: unknown) => e)
    expect(unselected).toBeInstanceOf(StorageError)
  }, 30_000)
})

/** A folder "show" of three files (pieces shared between them) seeded on 127.0.0.2 at `uploadLimit`
 *  bytes/s (0: as fast as it goes), and a client on 127.0.0.3 to fetch it into `out`. */
const slowShow = async (uploadLimit: number) => {
  const shared = tempDir()
  const data = { a: Buffer.from(randomBytes(300_000, 21)), b: Buffer.from(randomBytes(1_000_000, 22)), c: Buffer.from(randomBytes(200_000, 23)) }
  fs.mkdirSync(path.join(shared, "show"))
  for (const [name, bytes] of Object.entries(data)) fs.writeFileSync(path.join(shared, "show", `${name}.bin`), bytes)
  const seeder = await Client.create({ downloadDir: shared, host: "127.0.0.2", port: 0, dht: false, stateDir: tempDir(), uploadLimit })
  opened.push(seeder)
  const seeded = await seeder.seed(path.join(shared, "show"), { pieceLength: 32768 })
  const out = tempDir()
  const client = await Client.create({ downloadDir: out, host: "127.0.0.3", port: 0, dht: false, stateDir: tempDir() })
  opened.push(client)
  const magnet = `magnet:?xt=urn:btih:${seeded.infoHash}&x.pe=127.0.0.2:${seeder.port}`
  return { magnet, client, out, data, seeded }
}

const readAll = (stream: Readable): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    stream.on("data", (chunk: Buffer) => chunks.push(chunk))
    stream.once("end", () => resolve(Buffer.concat(chunks)))
    stream.once("error", reject)
  })

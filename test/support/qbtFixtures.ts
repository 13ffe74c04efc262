/**
 * What the qBittorrent API reference test (test/interop/qbittorrent-api.test.ts) sets up on both servers: the
 * data and .torrent files (made by bt-effect's own `create`, as the reference catalog's were), bt-effect's
 * daemon with its API behind a login, and the same categories, tags and torrents on each side.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { background, type Background, runCli } from "./cli.js"
import type { QbtApiClient, QbtParamsIn } from "./qbtApiClient.js"

export interface Fixtures {
  /** A multi-file torrent (3 files, 10 pieces of 16 KiB, one tracker, one web seed), its data in each side's `data/`. */
  readonly albumTorrent: string
  /** A two-file torrent whose data nobody has. */
  readonly incompleteTorrent: string
}

/**
 * Writes the data under `<root>/src`, the .torrent files in `<root>`, and a copy of the album's data in
 * each side's `<sideRoot>/data` (each seeds its own), with `<sideRoot>/cats` for category folders.
 * `dead` is the tracker and web seed base URL (a port nothing listens on).
 */
export const makeFixtures = async (root: string, sideRoots: ReadonlyArray<string>, dead: string): Promise<Fixtures> => {
  const src = path.join(root, "src")
  fs.mkdirSync(path.join(src, "album", "sub"), { recursive: true })
  fs.writeFileSync(path.join(src, "album", "a.bin"), Buffer.alloc(100_000, 7))
  fs.writeFileSync(path.join(src, "album", "sub", "b.bin"), Buffer.alloc(50_000, 9))
  fs.writeFileSync(path.join(src, "album", "c.txt"), "hello qbittorrent\n")
  fs.mkdirSync(path.join(src, "incomplete"), { recursive: true })
  fs.writeFileSync(path.join(src, "incomplete", "x.bin"), Buffer.alloc(70_000, 3))
  fs.writeFileSync(path.join(src, "incomplete", "y.bin"), Buffer.alloc(30_000, 4))
  const create = async (out: string, from: string, extra: ReadonlyArray<string>) => {
    const made = await runCli(["create", "-o", out, "--piece-length", "16384", ...extra, from], { timeoutMs: 20_000 })
    if (made.code !== 0) throw new Error(`create ${from}: ${made.stderr}`)
    return out
  }
  const albumTorrent = await create(path.join(root, "album.torrent"), path.join(src, "album"), ["--announce", `${dead}/announce`, "--web-seed", `${dead}/ws/`, "--comment", "compare"])
  const incompleteTorrent = await create(path.join(root, "incomplete.torrent"), path.join(src, "incomplete"), ["--announce", `${dead}/announce`])
  for (const side of sideRoots) {
    fs.mkdirSync(path.join(side, "data"), { recursive: true })
    fs.cpSync(path.join(src, "album"), path.join(side, "data", "album"), { recursive: true })
    fs.mkdirSync(path.join(side, "cats"), { recursive: true })
  }
  return { albumTorrent, incompleteTorrent }
}

/** A multipart torrents/add body: `torrents` is a .torrent file's path, the rest text fields. */
export const addForm = (fields: Record<string, string>): FormData => {
  const body = new FormData()
  for (const [name, value] of Object.entries(fields)) {
    if (name === "torrents") body.append(name, new Blob([fs.readFileSync(value)], { type: "application/x-bittorrent" }), path.basename(value))
    else body.append(name, value)
  }
  return body
}

/**
 * bt-effect's daemon (the built CLI) on `address` alone, its peer port picked by the system, no DHT, its
 * folders under `sideRoot` (which data may go to), its API behind `user:pass`. Resolves with the API's URL.
 */
export const startDaemon = async (address: string, sideRoot: string, user: string, pass: string): Promise<{ readonly daemon: Background; readonly url: string }> => {
  const daemon = await background([
    "daemon", "--rpc-host", address, "--rpc-port", "0", "--peer-port", "0", "--bind", address, "--no-dht",
    "--download-dir", path.join(sideRoot, "downloads"), "--state", path.join(sideRoot, "state"),
    "--allow-folder", sideRoot, "--rpc-auth", `${user}:${pass}`
  ], /qBittorrent API (http:\/\/[\d.]+:\d+)\/api\/v2/, 30_000)
  return { daemon, url: daemon.match[1]! }
}

/**
 * The same setup through the API: categories `movies` (a folder) and `tv` (none), tags alpha, beta and
 * gamma; the album with its data (into movies, tagged alpha and beta), the incomplete torrent paused (tv,
 * gamma), and `magnet`. Throws on any answer but success.
 */
export const setUp = async (client: QbtApiClient, sideRoot: string, fixtures: Fixtures, magnet: string): Promise<void> => {
  const steps: ReadonlyArray<[string, QbtParamsIn]> = [
    ["torrents/createCategory", { category: "movies", savePath: path.join(sideRoot, "cats", "movies") }],
    ["torrents/createCategory", { category: "tv", savePath: "" }],
    ["torrents/createTags", { tags: "alpha,beta,gamma" }]
  ]
  for (const [apiPath, params] of steps) {
    const r = await client.call(apiPath, params, { method: "POST" })
    if (r.status !== 200) throw new Error(`${client.url} ${apiPath}: ${r.status} ${r.text}`)
  }
  const adds: ReadonlyArray<FormData> = [
    addForm({ torrents: fixtures.albumTorrent, savepath: path.join(sideRoot, "data"), category: "movies", tags: "alpha,beta" }),
    addForm({ torrents: fixtures.incompleteTorrent, paused: "true", tags: "gamma", category: "tv" }),
    addForm({ urls: magnet })
  ]
  for (const body of adds) {
    const r = await client.call("torrents/add", {}, { method: "POST", body })
    if (r.status !== 200 || r.text !== "Ok.") throw new Error(`${client.url} torrents/add: ${r.status} ${r.text}`)
  }
}

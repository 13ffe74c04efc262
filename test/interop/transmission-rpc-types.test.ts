/**
 * The RPC's answers have Transmission's JSON types. A real transmission-daemon (Debian's 3.00) and a
 * bt-effect daemon (the built dist/main.js) get the same torrent: Transmission seeds it from the data, bt-effect
 * downloads it from Transmission (a local tracker between them, Transmission on 127.0.0.2), and while the
 * download goes, both are asked the same session-get (every key), session-stats, torrent-get (every field
 * Transmission 3 and 4 know) and free-space. Every value both answer must have the same JSON type as a front
 * end parses it: an integer, a fraction, a string, a boolean, an array, an object, and so on down nested
 * objects and arrays of objects. Then both are told the same choice of files (files-unwanted,
 * priority-high) and the per-file fields compared again, the values chosen as well as the types. transmission-remote 3.00, for one, refuses a fraction where it reads an
 * integer, and dropped a torrent from `-l` for it.
 *
 * Transmission 3.00 answers a field it does not know with 0; the fields only 4.x knows are compared with
 * the types 4.x's libtransmission/rpcimpl.cc gives them (`transmission4Only`).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { background, mainJs, stop, stopAllBackground } from "../support/cli.js"
import { freePort, logTail, type Process, spawnLogged, startTracker, stopAll, type TempDir, tempDir, type Tracker } from "../support/interop.js"
import { randomBytes } from "../support/torrents.js"
import { requiredInCi } from "../support/skips.js"

const daemonVersion = (): string | undefined => {
  const r = spawnSync("transmission-daemon", ["--version"], { encoding: "utf8" })
  const text = `${r.stdout ?? ""}${r.stderr ?? ""}`
  return r.error === undefined && text.includes("transmission-daemon") ? text.trim() : undefined
}

// ---------------------------------------------------------------------------------------------------------
// JSON types

/** A JSON value's type as a front end parses it: integers and fractions apart, arrays and objects by shape. */
export type Shape =
  | "integer" | "fraction" | "string" | "boolean" | "null"
  | { readonly array: Shape | "empty" }
  | { readonly object: { readonly [key: string]: Shape } }

export const shapeOf = (value: unknown): Shape => {
  if (value === null) return "null"
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "fraction"
  if (typeof value === "string") return "string"
  if (typeof value === "boolean") return "boolean"
  if (Array.isArray(value)) {
    if (value.length === 0) return { array: "empty" }
    // Elements of one type; numbers of either kind make a list of fractions (a whole real prints as 1).
    const shapes = value.map(shapeOf)
    const numbers = shapes.filter((s) => s === "integer" || s === "fraction")
    if (numbers.length === shapes.length) return { array: numbers.includes("fraction") ? "fraction" : "integer" }
    if (shapes.every((s) => typeof s === "object" && "object" in s)) {
      const keys: { [key: string]: Shape } = {}
      for (const s of shapes as ReadonlyArray<{ readonly object: { readonly [key: string]: Shape } }>) Object.assign(keys, s.object)
      return { array: { object: keys } }
    }
    return { array: shapes[0]! }
  }
  if (typeof value === "object") {
    const keys: { [key: string]: Shape } = {}
    for (const [k, v] of Object.entries(value)) keys[k] = shapeOf(v)
    return { object: keys }
  }
  return "null"
}

export interface Comparison {
  /** "path: Transmission's type, ours" for each value both answer with different types. */
  readonly differ: ReadonlyArray<string>
  /** Paths Transmission answers and bt-effect does not. */
  readonly missing: ReadonlyArray<string>
}

const describeShape = (s: Shape | "empty"): string =>
  typeof s === "string" ? s : "array" in s ? `array of ${describeShape(s.array)}` : "object"

/**
 * Compares Transmission's shape with ours. `reals` are the paths Transmission sends as reals, which it prints
 * as integers when whole (3.00's variant-json.c: "%d" within 0.00001 of an integer): there an integer and a
 * fraction are the same type. Paths are "torrent.peers[].progress"-like: the key names, [] for array items.
 */
export const compareShapes = (theirs: Shape, ours: Shape, reals: ReadonlySet<string>, at = ""): Comparison => {
  const differ: Array<string> = []
  const missing: Array<string> = []
  const walk = (t: Shape, o: Shape, p: string) => {
    const numeric = (s: Shape) => s === "integer" || s === "fraction"
    if (numeric(t) && numeric(o)) {
      if (t !== o && !reals.has(p)) differ.push(`${p}: Transmission ${describeShape(t)}, bt-effect ${describeShape(o)}`)
      return
    }
    if (typeof t === "object" && typeof o === "object") {
      if ("object" in t && "object" in o) {
        for (const [k, tv] of Object.entries(t.object)) {
          const ov = o.object[k]
          if (ov === undefined) missing.push(p === "" ? k : `${p}.${k}`)
          else walk(tv, ov, p === "" ? k : `${p}.${k}`)
        }
        return
      }
      if ("array" in t && "array" in o) {
        // An empty list says nothing of its items: compared where both have some.
        if (t.array !== "empty" && o.array !== "empty") walk(t.array, o.array, `${p}[]`)
        return
      }
    }
    if (t !== o) differ.push(`${p}: Transmission ${describeShape(t)}, bt-effect ${describeShape(o)}`)
  }
  walk(theirs, ours, at)
  return { differ, missing }
}

// ---------------------------------------------------------------------------------------------------------
// What Transmission answers

/** Every torrent-get field of Transmission 3.00 (rpcimpl.c's initField), as its clients spell them. */
const fields3 = [
  "activityDate", "addedDate", "bandwidthPriority", "comment", "corruptEver", "creator", "dateCreated", "desiredAvailable",
  "doneDate", "downloadDir", "downloadedEver", "downloadLimit", "downloadLimited", "editDate", "error", "errorString", "eta",
  "etaIdle", "files", "fileStats", "hashString", "haveUnchecked", "haveValid", "honorsSessionLimits", "id", "isFinished",
  "isPrivate", "isStalled", "labels", "leftUntilDone", "magnetLink", "manualAnnounceTime", "maxConnectedPeers",
  "metadataPercentComplete", "name", "peer-limit", "peers", "peersConnected", "peersFrom", "peersGettingFromUs",
  "peersSendingToUs", "percentDone", "pieces", "pieceCount", "pieceSize", "priorities", "queuePosition", "rateDownload",
  "rateUpload", "recheckProgress", "secondsDownloading", "secondsSeeding", "seedIdleLimit", "seedIdleMode", "seedRatioLimit",
  "seedRatioMode", "sizeWhenDone", "startDate", "status", "torrentFile", "totalSize", "trackers", "trackerStats",
  "uploadedEver", "uploadLimit", "uploadLimited", "uploadRatio", "wanted", "webseeds", "webseedsSendingToUs"
]

/**
 * What only Transmission 4 answers, with a value of the type 4.0.6's and 4.1.0's rpcimpl.cc give it (3.00
 * would answer each with 0). Nested keys are added to each item of the list they belong to.
 */
const transmission4Only = {
  fields: {
    availability: [0], // tr_peerMgrPieceAvailability per piece: ints
    bytesCompleted: [0], // 4.1: each file's bytes
    "file-count": 0,
    group: "", // the bandwidth group
    percentComplete: 0.5, // a real
    "primary-mime-type": "",
    sequential_download: false, // 4.1 (asked as 4.1 names it)
    sequential_download_from_piece: 0, // 4.1
    source: "", // the info dictionary's `source`
    trackerList: ""
  } as Record<string, unknown>,
  nested: {
    // 4.1's new keys have no older spelling: it sends them in snake_case to classic clients too.
    files: { begin_piece: 0, end_piece: 0 }, // 4.1
    peers: { peer_id: "", bytes_to_peer: 0, bytes_to_client: 0 }, // 4.1
    trackers: { sitename: "" },
    trackerStats: { sitename: "", downloader_count: 0 } // downloader_count: 4.1
  } as Record<string, Record<string, unknown>>,
  session: {
    "anti-brute-force-enabled": false,
    "anti-brute-force-threshold": 100,
    "default-trackers": "",
    "preferred_transports": ["tcp"], // 4.1 (a list of strings)
    reqq: 0, // 4.1
    "rpc-version-semver": "",
    "script-torrent-added-enabled": false,
    "script-torrent-added-filename": "",
    "script-torrent-done-seeding-enabled": false,
    "script-torrent-done-seeding-filename": "",
    "sequential_download": false, // 4.1
    "tcp-enabled": true
  } as Record<string, unknown>
}

/** The values Transmission sends as reals (tr_variantInitReal / DictAddReal): an integer or a fraction alike. */
const reals = new Set([
  "session.seedRatioLimit",
  ...["metadataPercentComplete", "percentDone", "percentComplete", "recheckProgress", "seedRatioLimit", "uploadRatio", "peers[].progress"]
    .map((field) => `torrent.${field}`)
])

/**
 * Differences allowed on purpose, each with why. Empty: every value bt-effect answers has Transmission's type.
 */
const allowedDifferences = new Set<string>([])

/**
 * What Transmission answers and bt-effect does not, each with why.
 */
const notAnswered = new Set<string>([])

// ---------------------------------------------------------------------------------------------------------
// The two daemons

/** One classic RPC client, with the X-Transmission-Session-Id handshake. */
const client = (url: string) => {
  let sessionId = ""
  return async (method: string, args: Record<string, unknown> = {}): Promise<{ result: string; arguments: Record<string, unknown> }> => {
    const body = JSON.stringify({ method, arguments: args })
    for (let attempt = 0; attempt < 2; attempt++) {
      const reply = await fetch(url, { method: "POST", body, headers: { "x-transmission-session-id": sessionId }, signal: AbortSignal.timeout(10_000) })
      if (reply.status === 409) {
        sessionId = reply.headers.get("x-transmission-session-id") ?? ""
        continue
      }
      return (await reply.json()) as { result: string; arguments: Record<string, unknown> }
    }
    throw new Error(`${url}: no session id`)
  }
}

type Rpc = ReturnType<typeof client>

const until = async <A>(what: string, check: () => Promise<A | undefined>, timeoutMs: number): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const found = await check()
      if (found !== undefined) return found
    } catch (e) {
      last = e
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`timed out waiting for ${what}${last === undefined ? "" : `: ${String(last)}`}`)
}

const torrentOf = async (rpc: Rpc, fields: ReadonlyArray<string>) => {
  const got = await rpc("torrent-get", { fields })
  return (got.arguments["torrents"] as ReadonlyArray<Record<string, unknown>>)[0]
}

describe("interop: the RPC's JSON types are transmission-daemon's", () => {
  requiredInCi(daemonVersion() !== undefined, "transmission-daemon is not installed (apt-get install -y transmission-daemon)")
  let root: TempDir
  let tracker: Tracker
  let transmission: Process | undefined

  beforeAll(async () => {
    if (daemonVersion() === undefined) return
    root = tempDir("bt-effect-rpc-types-")
    tracker = await startTracker()
  })

  afterAll(async () => {
    await transmission?.stop(5_000)
    await stopAllBackground()
    await stopAll()
    root?.remove()
  }, 30_000)

  it("every value both daemons answer has the same type, and bt-effect answers all that Transmission does", async () => {
    // The torrent: two files, made by bt-effect's own `create`, with a comment and the local tracker.
    const content = path.join(root.path, "data", "album")
    fs.mkdirSync(content, { recursive: true })
    fs.writeFileSync(path.join(content, "track.flac"), randomBytes(3_000_000, 11))
    fs.writeFileSync(path.join(content, "notes.txt"), randomBytes(400_000, 12))
    const torrentFile = path.join(root.path, "album.torrent")
    execFileSync(process.execPath, [mainJs, "create", "--announce", tracker.httpUrl, "--comment", "for the types test", "--piece-length", "32768", "-o", torrentFile, content], { timeout: 30_000 })
    const metainfo = fs.readFileSync(torrentFile).toString("base64")

    // Transmission seeds it, on 127.0.0.2 (its announces too: curl binds its bind-address-ipv4).
    const config = path.join(root.path, "transmission")
    fs.mkdirSync(config, { recursive: true })
    fs.writeFileSync(path.join(config, "settings.json"), JSON.stringify({
      "bind-address-ipv4": "127.0.0.2",
      "bind-address-ipv6": "::1",
      "rpc-bind-address": "127.0.0.2",
      "rpc-whitelist": "127.0.0.*",
      "rpc-host-whitelist-enabled": false,
      "utp-enabled": false,
      encryption: 0, // plaintext first: bt-effect has no MSE
      "message-level": 3
    }))
    const trPort = await freePort("127.0.0.2")
    const trPeerPort = await freePort("127.0.0.2")
    const trLog = path.join(root.path, "transmission.log")
    transmission = spawnLogged("transmission-daemon", [
      "-f", "-g", config, "-p", String(trPort), "-P", String(trPeerPort), "--no-dht", "--no-lpd", "--no-portmap",
      "-a", "127.0.0.*", "-T", "--download-dir", path.join(root.path, "data")
    ], trLog)
    const tr = client(`http://127.0.0.2:${trPort}/transmission/rpc`)
    await until("transmission-daemon's RPC", async () => ((await tr("session-get")).result === "success" ? true : undefined), 20_000)
    expect((await tr("torrent-add", { metainfo })).result).toBe("success")
    await until("Transmission seeding", async () => ((await torrentOf(tr, ["status"]))?.["status"] === 6 ? true : undefined), 30_000)
    // Known to the tracker before bt-effect's first announce, which then hands out its address.
    await tracker.waitForAnnounce((a) => a.addr.startsWith("127.0.0.2:"), 30_000)

    // bt-effect downloads it from Transmission, held to 400 kB/s so that the download is under way when asked.
    const rpcPort = await freePort()
    const ours = await background([
      "daemon", "--rpc-port", String(rpcPort), "--peer-port", "0", "--download-dir", path.join(root.path, "downloads"),
      "--state", path.join(root.path, "state"), "--no-dht"
    ], /daemon: web interface http:\/\/127\.0\.0\.1:\d+\//, 30_000)
    const bt = client(`http://127.0.0.1:${rpcPort}/transmission/rpc`)
    expect((await bt("session-set", { "speed-limit-down": 400, "speed-limit-down-enabled": true })).result).toBe("success")
    expect((await bt("torrent-add", { metainfo })).result).toBe("success")
    const allFields = [...fields3, ...Object.keys(transmission4Only.fields)]
    await until("a download under way from Transmission, and bt-effect in Transmission's peers", async () => {
      const t = await torrentOf(bt, ["percentDone", "peersConnected", "rateDownload"])
      const theirs = await torrentOf(tr, ["peersConnected"])
      return Number(t?.["percentDone"]) > 0 && Number(t?.["percentDone"]) < 1 && Number(t?.["peersConnected"]) >= 1 &&
          Number(theirs?.["peersConnected"]) >= 1 ? true : undefined
    }, 60_000).catch((e: unknown) => {
      throw new Error(`${String(e)}\n--- tracker: ${JSON.stringify(tracker.announces)}\n--- transmission-daemon:\n${logTail(trLog)}\n--- bt-effect:\n${ours.output().slice(-4000)}`)
    })

    const differ: Array<string> = []
    const missing: Array<string> = []
    const compare = (what: string, theirs: unknown, mine: unknown, extra?: (s: Shape) => Shape) => {
      const t = extra === undefined ? shapeOf(theirs) : extra(shapeOf(theirs))
      const c = compareShapes(t, shapeOf(mine), reals, what)
      differ.push(...c.differ)
      missing.push(...c.missing)
    }

    // session-get, every key; 4.x's own keys added with their types.
    const sessionTheirs = (await tr("session-get")).arguments
    const sessionOurs = (await bt("session-get")).arguments
    compare("session", { ...sessionTheirs, ...transmission4Only.session }, sessionOurs)
    compare("stats", (await tr("session-stats")).arguments, (await bt("session-stats")).arguments)

    // torrent-get, every field: 3.00's answers for the fields it knows, 4.x's types for the others.
    const theirs = (await torrentOf(tr, allFields))!
    const mine = (await torrentOf(bt, allFields))!
    for (const name of Object.keys(transmission4Only.fields)) theirs[name] = transmission4Only.fields[name]
    for (const [list, keys] of Object.entries(transmission4Only.nested)) {
      const items = theirs[list] as Array<Record<string, unknown>>
      for (const item of items) Object.assign(item, keys)
    }
    for (const list of ["peers", "trackerStats", "files"]) {
      expect((theirs[list] as ReadonlyArray<unknown>).length, `Transmission's ${list}`).toBeGreaterThan(0)
      expect((mine[list] as ReadonlyArray<unknown>).length, `bt-effect's ${list}`).toBeGreaterThan(0)
    }
    compare("torrent", theirs, mine)

    // free-space, on a folder both can see.
    compare("free-space", (await tr("free-space", { path: root.path })).arguments, (await bt("free-space", { path: root.path })).arguments)

    // The files: the second one unwanted, the first at high priority, on both; then the per-file fields
    // have the same types, and the same values for what was chosen.
    const choice = { ids: [1], "files-unwanted": [1], "priority-high": [0] }
    expect((await tr("torrent-set", choice)).result).toBe("success")
    expect((await bt("torrent-set", choice)).result).toBe("success")
    const fileFields = ["wanted", "priorities", "fileStats", "files", "sizeWhenDone", "leftUntilDone", "percentDone", "desiredAvailable"]
    const theirFiles = (await torrentOf(tr, fileFields))!
    const myFiles = (await torrentOf(bt, fileFields))!
    compare("torrent", theirFiles, myFiles)
    const chosen = (t: Record<string, unknown>) => ({
      wanted: t["wanted"],
      priorities: t["priorities"],
      fileStats: (t["fileStats"] as ReadonlyArray<Record<string, unknown>>).map((f) => [f["wanted"], f["priority"]])
    })
    expect(chosen(myFiles)).toEqual(chosen(theirFiles))
    expect(chosen(myFiles)).toEqual({ wanted: [1, 0], priorities: [1, 0], fileStats: [[true, 1], [false, 0]] })
    // An index past the last file: the same answer.
    const past = { ids: [1], "priority-low": [5] }
    expect((await bt("torrent-set", past)).result).toBe((await tr("torrent-set", past)).result)

    const unexpected = differ.filter((d) => !allowedDifferences.has(d.split(":")[0]!))
    const unexplained = missing.filter((m) => !notAnswered.has(m))
    expect({ unexpected, unexplained }).toEqual({ unexpected: [], unexplained: [] })
    // The lists of exceptions hold nothing that no longer happens.
    for (const allowed of allowedDifferences) expect(differ.map((d) => d.split(":")[0])).toContain(allowed)
    for (const absent of notAnswered) expect(missing).toContain(absent)

    expect(await stop(ours.child)).toBe(130)
  }, 180_000)

  it("the comparison finds a changed type, a missing key and a nested difference", () => {
    const theirs = shapeOf({ rateDownload: 5, percentDone: 0.5, peers: [{ progress: 1, port: 6881 }], name: "x", files: [] })
    const same = shapeOf({ rateDownload: 7, percentDone: 1, peers: [{ progress: 0.25, port: 51413 }], name: "y", files: [{ a: 1 }] })
    expect(compareShapes(theirs, same, reals, "torrent")).toEqual({ differ: [], missing: [] })
    const changed = shapeOf({ rateDownload: 7.5, percentDone: "1", peers: [{ progress: 0.25, port: 1.5 }], files: [] })
    expect(compareShapes(theirs, changed, reals, "torrent")).toEqual({
      differ: [
        "torrent.rateDownload: Transmission integer, bt-effect fraction",
        "torrent.percentDone: Transmission fraction, bt-effect string",
        "torrent.peers[].port: Transmission integer, bt-effect fraction"
      ],
      missing: ["torrent.name"]
    })
  })
})

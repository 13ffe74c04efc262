/**
 * The Transmission RPC's file methods against a memory session (RpcMethods.ts over MemoryControl.ts):
 * torrent-add and torrent-set with files-wanted, files-unwanted and priority-high/-normal/-low (an empty
 * list is every file, an index past the last is ignored), what the session is asked, and what torrent-get
 * then reports: wanted (integers), priorities, fileStats, and the figures that follow the files wanted.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { make as makeMemory } from "../../../src/services/session/MemoryControl.js"
import { makeHandler } from "../../../src/services/session/RpcMethods.js"
import { SessionControl } from "../../../src/services/session/SessionControl.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"

// Pieces of 16 KiB: a is pieces 0-2, b 2-4, c 4-5.
const torrent = makeTorrent({
  name: "set",
  pieceLength: 16384,
  files: [{ path: ["a"], data: randomBytes(40_000, 1) }, { path: ["b"], data: randomBytes(30_000, 2) }, { path: ["c"], data: randomBytes(20_000, 3) }]
})
const metainfo = Buffer.from(torrent.bytes).toString("base64")
const fields = ["wanted", "priorities", "fileStats", "sizeWhenDone", "leftUntilDone", "percentDone", "status"]

const setUp = Effect.gen(function*() {
  const memory = yield* makeMemory()
  const handler = yield* makeHandler({ sessionId: "test" })
  const rpc = (method: string, args: object) =>
    Effect.map(
      Effect.provideService(handler.handle(JSON.stringify({ method, arguments: args })), SessionControl, memory),
      (r) => r as { result: string; arguments: { torrents: Array<Record<string, unknown>> } }
    )
  const get = Effect.map(rpc("torrent-get", { ids: [1], fields }), (r) => r.arguments.torrents[0]!)
  return { memory, rpc, get }
})

describe("RPC: files wanted and priorities", () => {
  it.effect("torrent-add takes the files wanted and their priorities; torrent-get reports them", () =>
    Effect.gen(function*() {
      const { memory, rpc, get } = yield* setUp
      const added = yield* rpc("torrent-add", { metainfo, "files-unwanted": [1], "priority-high": [2], "priority-low": [0, 9] })
      expect(added.result).toBe("success")
      expect(memory.calls()[0]).toMatchObject({ _tag: "add", options: { files: { unwanted: [1], high: [2], low: [0, 9] } } })
      expect(yield* get).toEqual({
        wanted: [1, 0, 1],
        priorities: [-1, 0, 1],
        fileStats: [{ bytesCompleted: 0, wanted: true, priority: -1 }, { bytesCompleted: 0, wanted: false, priority: 0 }, { bytesCompleted: 0, wanted: true, priority: 1 }],
        sizeWhenDone: 60_000,
        leftUntilDone: 60_000,
        percentDone: 0,
        status: 4
      })
    }))

  it.effect("torrent-set: an empty list is every file; wanted before unwanted; the figures follow; complete when every wanted file is", () =>
    Effect.gen(function*() {
      const { memory, rpc, get } = yield* setUp
      yield* rpc("torrent-add", { metainfo })
      // transmission-remote -t 1 -G 0 -ph 1,2
      expect((yield* rpc("torrent-set", { ids: [1], "files-unwanted": [0], "priority-high": [1, 2] })).result).toBe("success")
      expect(memory.calls().filter((c) => c._tag === "set")).toEqual([
        { _tag: "set", which: [1], settings: { files: { unwanted: [0], high: [1, 2] } } }
      ])
      expect(yield* get).toMatchObject({ wanted: [0, 1, 1], priorities: [0, 1, 1], sizeWhenDone: 50_000 })
      // -pl (every file low), -G all ("files-unwanted": [])
      yield* rpc("torrent-set", { ids: [1], "priority-low": [], "files-unwanted": [] })
      expect(yield* get).toMatchObject({ wanted: [0, 0, 0], priorities: [-1, -1, -1], sizeWhenDone: 0, leftUntilDone: 0 })
      // Both at once: Transmission applies files-wanted first, then files-unwanted.
      yield* rpc("torrent-set", { ids: [1], "files-wanted": [], "files-unwanted": [2], "priority-normal": [] })
      expect(yield* get).toMatchObject({ wanted: [1, 1, 0], priorities: [0, 0, 0], sizeWhenDone: 70_000 })
      // a and b verified, c not wanted: complete, seeding.
      yield* memory.setProgress(1, 70_000 / 90_000)
      expect(yield* get).toMatchObject({ leftUntilDone: 0, percentDone: 1, status: 6 })
      expect((yield* get)["fileStats"]).toEqual([
        { bytesCompleted: 40_000, wanted: true, priority: 0 }, { bytesCompleted: 30_000, wanted: true, priority: 0 }, { bytesCompleted: 0, wanted: false, priority: 0 }
      ])
      // Wanted again: downloading.
      yield* rpc("torrent-set", { ids: [1], "files-wanted": [2] })
      expect(yield* get).toMatchObject({ leftUntilDone: 20_000, status: 4 })
      // An index past the last file: those in range are changed, and the answer says so (as Transmission's).
      const past = yield* rpc("torrent-set", { ids: [1], "priority-high": [0, 3] })
      expect(past.result).toBe("file index out of range")
      expect((yield* get)["priorities"]).toEqual([1, 0, 0])
      // Not lists: nothing to change, and nothing asked of the session.
      const before = memory.calls().length
      yield* rpc("torrent-set", { ids: [1], "files-wanted": 2, "priority-high": "all" })
      expect(memory.calls().length).toBe(before)
    }))
})

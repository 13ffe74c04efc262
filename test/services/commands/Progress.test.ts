import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as Progress from "../../../src/services/commands/Progress.js"
import * as ProgressJson from "../../../src/services/commands/ProgressJson.js"
import type { TorrentStats } from "../../../src/services/torrent/Torrent.js"

const stats = (over: Partial<TorrentStats> = {}): TorrentStats => ({
  name: "ubuntu.iso",
  totalLength: 100 * 1024 * 1024,
  pieceCount: 100,
  piecesDone: 25,
  verifiedBytes: 25 * 1024 * 1024,
  downloadedBytes: 26 * 1024 * 1024,
  uploadedBytes: 0,
  downloadRate: 5 * 1024 * 1024,
  uploadRate: 0,
  peers: 3,
  seeds: 1,
  knownPeers: 7,
  hashFailures: 0,
  banned: [],
  trackers: [{ url: "udp://t:1", state: "failed", error: "no answer", peers: 0 }],
  complete: false,
  ...over
})

describe("Progress", () => {
  it("shows percent, bytes, rates, peers and ETA on one line", () => {
    expect(Progress.line(stats())).toBe(
      " 25.0%  25.0 MiB / 100 MiB  down 5.00 MiB/s  up 0 B/s  peers 3 (1 seed)  ETA 15s"
    )
    expect(Progress.line(stats({ downloadRate: 0 }))).toContain("ETA --")
  })

  it("sums up size, time and average rate", () => {
    expect(Progress.summary(stats({ complete: true, downloadedBytes: 100 * 1024 * 1024 }), 20_000)).toBe(
      "done: ubuntu.iso: 100 MiB in 20.0 s, average 5.00 MiB/s"
    )
    // Resumed: only part of it came in this run; or nothing at all.
    expect(Progress.summary(stats({ complete: true, downloadedBytes: 40 * 1024 * 1024 }), 8_000)).toBe(
      "done: ubuntu.iso: 100 MiB (40.0 MiB downloaded) in 8.0 s, average 5.00 MiB/s"
    )
    expect(Progress.summary(stats({ complete: true, downloadedBytes: 0 }), 5)).toBe("done: ubuntu.iso: 100 MiB, already complete")
  })

  it.effect("off a terminal: a plain line every 5 s, and tracker trouble once as it happens", () =>
    Effect.gen(function* () {
      const out: Array<string> = []
      const fiber = yield* Effect.fork(
        Progress.run(Effect.succeed(stats()), { tty: false, write: (t) => Effect.sync(() => void out.push(t)) })
      )
      yield* TestClock.adjust("11 seconds")
      yield* Fiber.interrupt(fiber)
      expect(out.filter((l) => l.startsWith("tracker"))).toEqual(["tracker udp://t:1 failed: no answer\n"])
      expect(out.filter((l) => l.includes("ETA")).length).toBe(3) // at 0, 5 and 10 s
    }))

  it.effect("on a terminal: one line redrawn in place every second", () =>
    Effect.gen(function* () {
      const out: Array<string> = []
      const fiber = yield* Effect.fork(
        Progress.run(Effect.succeed(stats({ trackers: [] })), { tty: true, write: (t) => Effect.sync(() => void out.push(t)) })
      )
      yield* TestClock.adjust("3 seconds")
      yield* Fiber.interrupt(fiber)
      expect(out.length).toBe(4)
      expect(out.every((l) => l.startsWith("\r\x1b[2K") && !l.includes("\n"))).toBe(true)
    }))

  it("a download stopped before its end says how far it got, what it fetched and gave", () => {
    expect(Progress.stoppedSummary(stats({ uploadedBytes: 1024 * 1024 }), 10_000)).toBe(
      "stopped: ubuntu.iso: 25.0% (25.0 MiB of 100 MiB) after 10.0 s; 26.0 MiB downloaded (average 2.60 MiB/s), 1.00 MiB uploaded"
    )
  })

  it.effect("--json: one object per line each second, tracker changes once, and the end as an event", () =>
    Effect.gen(function* () {
      const out: Array<string> = []
      const options = { tty: true, json: true, write: (t: string) => Effect.sync(() => void out.push(t)) }
      const fiber = yield* Effect.fork(Progress.run(Effect.succeed(stats()), options))
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.interrupt(fiber)
      yield* Progress.finish(options)
      yield* Progress.say(options, "saved x.torrent")
      yield* Progress.tell(options, ProgressJson.ended("done", stats({ complete: true }), 4000), "done: text not shown")
      const lines = out.join("").split("\n").filter((l) => l !== "")
      // Nothing but JSON: no escape codes, no text lines.
      const events = lines.map((l) => JSON.parse(l) as { event: string } & Record<string, unknown>)
      expect(events.map((e) => e.event)).toEqual(["tracker", "progress", "progress", "progress", "message", "done"])
      expect(events[0]).toEqual({ event: "tracker", url: "udp://t:1", state: "failed", peers: 0, error: "no answer" })
      expect(events[1]).toEqual({
        event: "progress",
        name: "ubuntu.iso",
        totalBytes: 100 * 1024 * 1024,
        verifiedBytes: 25 * 1024 * 1024,
        percent: 25,
        downloadedBytes: 26 * 1024 * 1024,
        uploadedBytes: 0,
        hashFailures: 0,
        downloadRate: 5 * 1024 * 1024,
        uploadRate: 0,
        peers: 3,
        seeds: 1,
        complete: false,
        eta: 15
      })
      expect(events[4]).toEqual({ event: "message", text: "saved x.torrent" })
      expect(events[5]).toMatchObject({ event: "done", seconds: 4, averageRate: Math.round((26 * 1024 * 1024) / 4) })
      expect(ProgressJson.progress(stats({ downloadRate: 0 })).eta).toBeNull()
    }))
})

import { describe, expect, it } from "@effect/vitest"
import * as Progress from "../../../src/services/commands/Progress.js"
import * as ProgressJson from "../../../src/services/commands/ProgressJson.js"
import type { TorrentStats } from "../../../src/services/torrent/Torrent.js"

const MiB = 1024 * 1024
// A 100 MiB torrent of which 10 MiB are selected, 4 MiB of them verified.
const stats: TorrentStats = {
  name: "show",
  totalLength: 100 * MiB,
  pieceCount: 100,
  piecesDone: 5,
  verifiedBytes: 5 * MiB,
  downloadedBytes: 5 * MiB,
  uploadedBytes: 0,
  downloadRate: 1 * MiB,
  uploadRate: 0,
  peers: 1,
  seeds: 1,
  knownPeers: 1,
  hashFailures: 0,
  banned: [],
  trackers: [],
  complete: false,
  selectedLength: 10 * MiB,
  selectedVerifiedBytes: 4 * MiB
}

describe("progress with a file selection", () => {
  it("the line, ETA, summary and JSON count the selected bytes", () => {
    const line = Progress.line(stats)
    expect(line).toContain(" 40.0%")
    expect(line).toContain("4.00 MiB / 10.0 MiB")
    expect(line).toContain("ETA 6s")
    const json = ProgressJson.progress(stats) as Record<string, unknown>
    expect(json).toMatchObject({ totalBytes: 10 * MiB, verifiedBytes: 4 * MiB, torrentBytes: 100 * MiB, percent: 40, eta: 6 })
    const done = { ...stats, complete: true, selectedVerifiedBytes: 10 * MiB, downloadedBytes: 11 * MiB }
    expect(Progress.summary(done, 2000)).toMatch(/^done: show: 10\.0 MiB \(selected, of 100 MiB\) \(11\.0 MiB downloaded\) in 2\.0 s/)
  })
})

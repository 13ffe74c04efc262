/**
 * Progress of a torrent for people: on a terminal a live line redrawn every second, elsewhere a plain
 * line every few seconds; tracker trouble as it changes; a summary at the end. With `json`, the same as
 * one JSON object per line for scripts (ProgressJson.ts).
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { formatBytes, formatDuration, formatRate } from "../../domain/Units.js"
import type { CheckProgress } from "../storage/DataCheck.js"
import type { TrackerStatus } from "../tracker/Announcer.js"
import type { TorrentStats } from "../torrent/Torrent.js"
import * as ProgressJson from "./ProgressJson.js"

export interface ProgressOptions {
  /** A live, redrawn line (a terminal) or plain lines (a log or a pipe). */
  readonly tty: boolean
  /** Writes text as is (no newline added). */
  readonly write: (text: string) => Effect.Effect<void>
  /** Between plain lines; the live line is redrawn every second. */
  readonly plainIntervalMs?: number
  /** One JSON object per line (ProgressJson.ts), every second, instead of text. */
  readonly json?: boolean
}

/** A line for people, or a "message" event. */
export const say = (options: ProgressOptions, text: string): Effect.Effect<void> =>
  options.write(options.json === true ? ProgressJson.line(ProgressJson.message(text)) : `${text}\n`)

/** An event for scripts, or the text line that says it for people. */
export const tell = (options: ProgressOptions, event: ProgressJson.JsonEvent, text: string): Effect.Effect<void> =>
  options.write(options.json === true ? ProgressJson.line(event) : `${text}\n`)

// With a file selection the figures are the selected files' (ProgressJson.wantedSize).
const size = ProgressJson.wantedSize
const done = ProgressJson.wantedDone
const percent = (s: TorrentStats) => (size(s) === 0 ? 100 : (100 * done(s)) / size(s))
/** ", of 2 GiB" after the selected size: the torrent's whole. */
const ofWhole = (s: TorrentStats) => (s.selectedLength !== undefined ? ` (selected, of ${formatBytes(s.totalLength)})` : "")

/** While seeding: what we give. */
const seedingLine = (s: TorrentStats): string =>
  [
    "seeding",
    formatBytes(size(s)),
    `up ${formatRate(s.uploadRate)}`,
    `uploaded ${formatBytes(s.uploadedBytes)} (ratio ${(s.uploadedBytes / Math.max(1, s.totalLength)).toFixed(2)})`,
    `peers ${s.peers}`
  ].join("  ")

export const line = (s: TorrentStats): string => {
  if (s.complete) return seedingLine(s)
  const left = size(s) - done(s)
  const eta = s.complete ? "done" : s.downloadRate > 0 ? formatDuration(left / s.downloadRate) : "--"
  const seeds = s.seeds > 0 ? ` (${s.seeds} seed${s.seeds === 1 ? "" : "s"})` : ""
  return [
    `${percent(s).toFixed(1).padStart(5)}%`,
    `${formatBytes(done(s))} / ${formatBytes(size(s))}`,
    `down ${formatRate(s.downloadRate)}`,
    `up ${formatRate(s.uploadRate)}`,
    `peers ${s.peers}${seeds}`,
    `ETA ${eta}`
  ].join("  ")
}

/** What a download interrupted before its end (Ctrl-C) had done. */
export const stoppedSummary = (s: TorrentStats, elapsedMs: number): string => {
  const seconds = elapsedMs / 1000
  const took = seconds < 60 ? `${seconds.toFixed(1)} s` : formatDuration(seconds)
  const rate = seconds > 0 ? s.downloadedBytes / seconds : 0
  return `stopped: ${s.name}: ${percent(s).toFixed(1)}% (${formatBytes(done(s))} of ${formatBytes(size(s))}${ofWhole(s)}) after ${took}; ` +
    `${formatBytes(s.downloadedBytes)} downloaded (average ${formatRate(rate)}), ${formatBytes(s.uploadedBytes)} uploaded`
}

export const summary = (s: TorrentStats, elapsedMs: number): string => {
  const seconds = elapsedMs / 1000
  const rate = seconds > 0 ? s.downloadedBytes / seconds : 0
  const failures = s.hashFailures > 0 ? `, ${s.hashFailures} piece(s) failed their hash check and were fetched again` : ""
  const took = seconds < 60 ? `${seconds.toFixed(1)} s` : formatDuration(seconds)
  if (s.downloadedBytes === 0) return `done: ${s.name}: ${formatBytes(size(s))}${ofWhole(s)}, already complete`
  // Resumed, or the edges of a selection: what this run fetched differs from the whole.
  const part = s.downloadedBytes < size(s) || s.selectedLength !== undefined ? ` (${formatBytes(s.downloadedBytes)} downloaded)` : ""
  return `done: ${s.name}: ${formatBytes(size(s))}${ofWhole(s)}${part} in ${took}, average ${formatRate(rate)}${failures}`
}

const trackerNote = (t: TrackerStatus): string =>
  t.state === "failed" ? `tracker ${t.url} failed: ${t.error ?? "no answer"}` : t.warning !== undefined ? `tracker ${t.url} warns: ${t.warning}` : t.state === "working" ? `tracker ${t.url} ok: ${t.peers} peer(s)` : ""

/** The trackers whose note changed since last seen. */
const trackerNotes = (s: TorrentStats, seen: Map<string, string>): ReadonlyArray<TrackerStatus> => {
  const changed: Array<TrackerStatus> = []
  for (const t of s.trackers) {
    const note = trackerNote(t)
    if (note !== "" && seen.get(t.url) !== note) {
      seen.set(t.url, note)
      changed.push(t)
    }
  }
  return changed
}

/** Shows progress until interrupted. */
export const run = (stats: Effect.Effect<TorrentStats>, options: ProgressOptions): Effect.Effect<never> =>
  Effect.gen(function* () {
    const seen = new Map<string, string>()
    const interval = options.tty ? 1000 : (options.plainIntervalMs ?? 5000)
    let lastPlain = Number.NEGATIVE_INFINITY
    while (true) {
      const s = yield* stats
      const now = yield* Clock.currentTimeMillis
      const changed = trackerNotes(s, seen)
      const notes = changed.map(trackerNote)
      if (options.json === true) {
        yield* options.write(changed.map((t) => ProgressJson.line(ProgressJson.tracker(t))).join("") + ProgressJson.line(ProgressJson.progress(s)))
      } else if (options.tty) {
        const text = notes.map((n) => `\r\x1b[2K${n}\n`).join("") + `\r\x1b[2K${line(s)}`
        yield* options.write(text)
      } else {
        for (const n of notes) yield* options.write(`${n}\n`)
        if (now - lastPlain >= interval) {
          lastPlain = now
          yield* options.write(`${line(s)}\n`)
        }
      }
      yield* Effect.sleep(1000)
    }
  })

/** The line of a data check in progress. */
export const checkLine = (c: CheckProgress): string =>
  `checking ${(c.totalBytes === 0 ? 100 : (100 * c.checkedBytes) / c.totalBytes).toFixed(1).padStart(5)}%  ${formatBytes(c.checkedBytes)} / ${formatBytes(c.totalBytes)}  ${formatRate(c.rate)}`

/** Shows a data check's progress: redrawn on a terminal, every few seconds elsewhere. */
export const checkReporter = (options: ProgressOptions) => {
  let lastPlain = Number.NEGATIVE_INFINITY
  return (c: CheckProgress): Effect.Effect<void> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      if (options.json === true) {
        if (now - lastPlain < 1000 && c.checkedBytes < c.totalBytes) return Effect.void
        lastPlain = now
        return options.write(ProgressJson.line(ProgressJson.checking(c)))
      }
      if (options.tty) return options.write(`\r\x1b[2K${checkLine(c)}`)
      if (now - lastPlain < (options.plainIntervalMs ?? 5000) && c.checkedBytes < c.totalBytes) return Effect.void
      lastPlain = now
      return options.write(`${checkLine(c)}\n`)
    })
}

/** Ends the live line so that what follows starts on its own line. */
export const finish = (options: ProgressOptions): Effect.Effect<void> =>
  options.tty && options.json !== true ? options.write("\r\x1b[2K") : Effect.void

/**
 * What the session does by the clock (SessionClock.ts), in a whole in-memory swarm under TestClock: each
 * torrent's seconds downloading and seeding and its dates, the seeding goals that stop a seed (its own idle
 * limit, the session's ratio) and a manual start past them, the queue passing over a stalled download, and
 * the alternative speed limits switched by their schedule in local time and holding the session to their
 * rate; and every setting and each torrent's own state kept in settings.json and session.json across a
 * restart.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as path from "node:path"
import { Status, type TorrentView } from "../../../src/domain/SessionView.js"
import type { SessionControlService } from "../../../src/services/session/SessionControl.js"
import { realTurn } from "../../support/clock.js"
import { newResume, readSessionFile, startSession, tempStateDir, viewOf, waitView } from "../../support/sessionSwarm.js"
import { all, announceUrl, makeSwarm } from "../../support/swarm.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"

const epochMs = 1_750_000_000_000

const metainfo = (t: { readonly bytes: Uint8Array }) => ({ _tag: "Metainfo" as const, bytes: t.bytes })

const seeding = (v: TorrentView) => v.status === Status.Seed && v.percentDone === 1

const setUp = (options: { readonly size?: number; readonly bandwidth?: number; readonly downloadQueueSize?: number; readonly at?: number } = {}) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(options.at ?? epochMs)
    const swarm = yield* makeSwarm({ size: options.size ?? 256 * 1024 })
    yield* swarm.member("10.0.0.1", { pieces: all, ...(options.bandwidth !== undefined ? { link: { bandwidth: options.bandwidth } } : {}) })
    const stateDir = yield* tempStateDir
    const resume = newResume()
    const control = yield* startSession(swarm, { stateDir, resume, ...(options.downloadQueueSize !== undefined ? { downloadQueueSize: options.downloadQueueSize } : {}) })
    return { swarm, stateDir, resume, control }
  })

/** Lets `seconds` of virtual time pass, a second at a time, with real turns between (the swarm moves). */
const pass = (seconds: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < seconds; i++) {
      for (let turn = 0; turn < 3; turn++) yield* realTurn
      yield* TestClock.adjust("1 second")
    }
    for (let turn = 0; turn < 3; turn++) yield* realTurn
  })

const nowSeconds = Effect.map(Clock.currentTimeMillis, (ms) => Math.floor(ms / 1000))

describe("Session: time, goals and the schedule", () => {
  it.scoped("counts seconds downloading and seeding, dates the start and the last transfer, and stops a seed at its own idle goal", () =>
    Effect.gen(function* () {
      // 256 KiB at 32 KiB/s: about 8 s downloading.
      const { swarm, control } = yield* setUp({ bandwidth: 32 * 1024 })
      const started = yield* nowSeconds
      const { id } = yield* control.add(metainfo(swarm.torrent), {})
      const { view: done } = yield* waitView(control, id, seeding)
      expect(done.startDate).toBeGreaterThanOrEqual(started)
      expect(done.startDate).toBeLessThanOrEqual(started + 2)
      expect(done.secondsDownloading).toBeGreaterThanOrEqual(5)
      expect(done.secondsDownloading).toBeLessThanOrEqual(12)
      expect(done.activityDate).toBeGreaterThan(done.startDate)
      expect(done.activityDate).toBeLessThanOrEqual(yield* nowSeconds)
      expect([done.seedRatioMode, done.seedIdleMode, done.idleLimitReached]).toEqual([0, 0, false])

      // Its own idle goal of 1 minute: nothing moves while seeding to a seeder, so it stops a minute after its last transfer.
      yield* control.set([id], { seedIdleMode: 1, seedIdleLimit: 1 })
      yield* pass(30)
      const seedingStill = yield* viewOf(control, id)
      expect([seedingStill.status, seedingStill.secondsSeeding >= 30]).toEqual([Status.Seed, true])
      const { view: stopped } = yield* waitView(control, id, (v) => v.status === Status.Stopped, "60 seconds")
      expect(stopped.idleLimitReached).toBe(true)
      expect((yield* nowSeconds) - done.activityDate).toBeGreaterThanOrEqual(60)
      const seconds = stopped.secondsSeeding
      yield* pass(5)
      expect((yield* viewOf(control, id)).secondsSeeding).toBe(seconds)
    }))

  it.scoped("stops a seed at the session's ratio goal; started again by hand, it seeds on with its ratio limit off", () =>
    Effect.gen(function* () {
      const { swarm, control } = yield* setUp()
      // A ratio of 0 is reached as soon as the download completes.
      yield* control.updateSettings({ seedRatioLimited: true, seedRatioLimit: 0 })
      const { id } = yield* control.add(metainfo(swarm.torrent), {})
      const { view, seen } = yield* waitView(control, id, (v) => v.status === Status.Stopped && v.percentDone === 1)
      expect(seen.has(Status.Download)).toBe(true)
      expect([view.seedRatioMode, view.idleLimitReached]).toEqual([0, false])
      yield* control.start([id])
      const { view: again } = yield* waitView(control, id, seeding)
      expect(again.seedRatioMode).toBe(2)
      yield* pass(3)
      expect((yield* viewOf(control, id)).status).toBe(Status.Seed)
    }))

  it.scoped("a download stalled past queue-stalled-minutes gives its slot to the next in the queue", () =>
    Effect.gen(function* () {
      const { swarm, control } = yield* setUp({ downloadQueueSize: 1 })
      yield* control.updateSettings({ queueStalledMinutes: 1 })
      // Nobody seeds this one: it runs and gets nothing.
      const lonely = makeTorrent({ name: "lonely", pieceLength: 32768, files: [{ path: ["lonely.bin"], data: randomBytes(64 * 1024, 9) }], announce: announceUrl })
      const first = yield* control.add(metainfo(lonely), {})
      const second = yield* control.add(metainfo(swarm.torrent), {})
      yield* pass(20)
      expect((yield* viewOf(control, second.id)).status).toBe(Status.DownloadWait)
      const { view } = yield* waitView(control, second.id, seeding, "120 seconds")
      expect(view.percentDone).toBe(1)
      expect((yield* viewOf(control, first.id)).status).toBe(Status.Download)
    }))

  it.scoped("the alternative limits hold the session to their rate, and go on and off at the schedule's edges in local time", () =>
    Effect.gen(function* () {
      // Monday 5 January 2026, 08:59:00 here.
      const { swarm, control } = yield* setUp({ size: 1024 * 1024, at: new Date(2026, 0, 5, 8, 59, 0).getTime() })
      const alt = () => Effect.map(control.settings, (s) => s.altSpeedEnabled)
      // On by hand, at 128 kB/s: 1 MiB takes about 8 s.
      yield* control.updateSettings({ altSpeedEnabled: true, altSpeedDown: 128 })
      const t0 = yield* Clock.currentTimeMillis
      const { id } = yield* control.add(metainfo(swarm.torrent), {})
      yield* waitView(control, id, seeding)
      const seconds = ((yield* Clock.currentTimeMillis) - t0) / 1000
      expect(seconds).toBeGreaterThanOrEqual(6.5)
      expect(seconds).toBeLessThanOrEqual(11)

      // 09:00 to 09:02 on Tuesdays, set on a Monday before 09:00: off at once, and still off past 09:00.
      yield* TestClock.setTime(new Date(2026, 0, 5, 8, 59, 30).getTime())
      yield* control.updateSettings({ altSpeedTimeEnabled: true, altSpeedTimeBegin: 9 * 60, altSpeedTimeEnd: 9 * 60 + 2, altSpeedTimeDay: 1 << 2 })
      expect(yield* alt()).toBe(false)
      yield* pass(31)
      expect(yield* alt()).toBe(false)
      // Mondays too (bit 1): inside the window now, so on at once (a change to the schedule applies it).
      yield* control.updateSettings({ altSpeedTimeDay: (1 << 1) | (1 << 2) })
      expect(yield* alt()).toBe(true)
      // Switched off by hand inside the window: off until the next edge.
      yield* control.updateSettings({ altSpeedEnabled: false })
      yield* pass(30)
      expect(yield* alt()).toBe(false)
      // On by hand after the window closed (09:02): the clock leaves it so.
      yield* pass(90)
      expect(yield* alt()).toBe(false)
      yield* control.updateSettings({ altSpeedEnabled: true })
      yield* pass(30)
      expect(yield* alt()).toBe(true)
      // A window from 09:03 to 09:05, set at 09:02:31: off at once, on by the clock at 09:03, off at 09:05.
      yield* control.updateSettings({ altSpeedTimeBegin: 9 * 60 + 3, altSpeedTimeEnd: 9 * 60 + 5 })
      expect(yield* alt()).toBe(false)
      yield* pass(30)
      expect(yield* alt()).toBe(true)
      yield* pass(90)
      expect(yield* alt()).toBe(true)
      yield* pass(30)
      expect(yield* alt()).toBe(false)
    }))

  it.scoped("keeps every setting in settings.json and each torrent's goals, limits' values, times and dates in session.json", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(epochMs)
      const swarm = yield* makeSwarm({ size: 256 * 1024 })
      yield* swarm.member("10.0.0.1", { pieces: all })
      const stateDir = yield* tempStateDir
      const resume = newResume()
      const run = <A>(use: (control: SessionControlService) => Effect.Effect<A, unknown>) =>
        Effect.scoped(Effect.flatMap(startSession(swarm, { stateDir, resume }), use))
      const changed = {
        rememberedLimitDown: 321, rememberedLimitUp: 45, altSpeedDown: 12, altSpeedUp: 3, altSpeedEnabled: true,
        altSpeedTimeBegin: 60, altSpeedTimeEnd: 90, altSpeedTimeDay: 65, seedRatioLimit: 1.25, seedRatioLimited: true,
        idleSeedingLimit: 17, idleSeedingLimitEnabled: true, queueStalledEnabled: false, queueStalledMinutes: 9
      }
      const first = yield* run((control) =>
        Effect.gen(function* () {
          yield* control.updateSettings(changed)
          const { id } = yield* control.add(metainfo(swarm.torrent), {})
          yield* waitView(control, id, seeding)
          yield* control.set([id], { seedRatioMode: 1, seedRatioLimit: 4, seedIdleMode: 2, seedIdleLimit: 8, rememberedDownloadLimit: 77, rememberedUploadLimit: 66 })
          yield* pass(3)
          return yield* viewOf(control, id)
        }))
      expect(JSON.parse(fs.readFileSync(path.join(stateDir, "settings.json"), "utf8")).settings).toMatchObject(changed)
      const saved = (yield* readSessionFile(stateDir)).torrents[0] as unknown as Record<string, unknown>
      expect(saved).toMatchObject({
        seedRatioMode: 1, seedRatioLimit: 4, seedIdleMode: 2, seedIdleLimit: 8, rememberedDownloadLimit: 77, rememberedUploadLimit: 66,
        secondsDownloading: first.secondsDownloading, secondsSeeding: first.secondsSeeding, activityDate: first.activityDate
      })
      expect(first.secondsSeeding).toBeGreaterThanOrEqual(3)

      const [settings, views] = yield* run((control) => Effect.zip(control.settings, control.torrents("all")))
      expect(settings).toMatchObject(changed)
      expect(views.map((v) => [v.seedRatioMode, v.seedRatioLimit, v.seedIdleMode, v.seedIdleLimit, v.rememberedDownloadLimit, v.rememberedUploadLimit]))
        .toEqual([[1, 4, 2, 8, 77, 66]])
      expect(views[0]!.secondsSeeding).toBeGreaterThanOrEqual(first.secondsSeeding)
      expect(views[0]!.activityDate).toBe(first.activityDate)
    }))
})

/**
 * The session's seeding time goal and its share action (SessionClock.ts, Session.ts), in a whole in-memory
 * swarm under TestClock: a seed that has seeded its minutes is stopped ("stop"), or taken out of the session
 * ("remove"); a torrent's own goal wins over the session's, "none" keeps it seeding, and so does force.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { LimitMode } from "../../../src/domain/SeedGoals.js"
import { Status, type TorrentView } from "../../../src/domain/SessionView.js"
import { realTurn } from "../../support/clock.js"
import { newResume, startSession, tempStateDir, viewOf, waitView } from "../../support/sessionSwarm.js"
import { all, makeSwarm } from "../../support/swarm.js"

const epochMs = 1_750_000_000_000

const seeding = (v: TorrentView) => v.status === Status.Seed && v.percentDone === 1

const setUp = Effect.gen(function* () {
  yield* TestClock.setTime(epochMs)
  const swarm = yield* makeSwarm({ size: 64 * 1024 })
  yield* swarm.member("10.0.0.1", { pieces: all })
  const stateDir = yield* tempStateDir
  const control = yield* startSession(swarm, { stateDir, resume: newResume() })
  const { id } = yield* control.add({ _tag: "Metainfo", bytes: swarm.torrent.bytes }, {})
  const { view } = yield* waitView(control, id, seeding)
  return { control, id, seededFrom: view.secondsSeeding }
})

/** Lets `seconds` of virtual time pass, a second at a time, with real turns between. */
const pass = (seconds: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < seconds; i++) {
      for (let turn = 0; turn < 3; turn++) yield* realTurn
      yield* TestClock.adjust("1 second")
    }
    for (let turn = 0; turn < 3; turn++) yield* realTurn
  })

describe("Session: the seeding time goal and the share action", () => {
  it.scoped("the session's seeding time reached: stopped by default", () =>
    Effect.gen(function* () {
      const { control, id } = yield* setUp
      yield* control.updateSettings({ seedTimeLimited: true, seedTimeLimit: 1 })
      yield* pass(30)
      expect((yield* viewOf(control, id)).status).toBe(Status.Seed)
      const { view } = yield* waitView(control, id, (v) => v.status === Status.Stopped, "60 seconds")
      expect(view.secondsSeeding).toBeGreaterThanOrEqual(60)
      expect(view.secondsSeeding).toBeLessThanOrEqual(63)
    }))

  it.scoped("the share action \"remove\": the seed that reached its seeding time is out of the session", () =>
    Effect.gen(function* () {
      const { control, id } = yield* setUp
      yield* control.updateSettings({ seedTimeLimited: true, seedTimeLimit: 1, shareLimitAction: "remove" })
      yield* pass(30)
      expect((yield* control.torrents("all")).map((v) => v.id)).toEqual([id])
      for (let i = 0; i < 40 && (yield* control.torrents("all")).length > 0; i++) yield* pass(1)
      expect(yield* control.torrents("all")).toEqual([])
    }))

  it.scoped("a torrent's own seeding time wins over the session's; its mode 'none' keeps it seeding past the session's", () =>
    Effect.gen(function* () {
      const { control, id } = yield* setUp
      yield* control.updateSettings({ seedTimeLimited: true, seedTimeLimit: 1, shareLimitAction: "remove" })
      yield* control.set([id], { seedTimeMode: LimitMode.Unlimited })
      yield* pass(90)
      expect((yield* viewOf(control, id)).status).toBe(Status.Seed)
      // Its own goal of 2 minutes: acted on once it has seeded them.
      yield* control.set([id], { seedTimeMode: LimitMode.Single, seedTimeLimit: 2 })
      for (let i = 0; i < 60 && (yield* control.torrents("all")).length > 0; i++) yield* pass(1)
      expect(yield* control.torrents("all")).toEqual([])
    }))

  it.scoped("a forced seed is left out of the share limits (as qBittorrent does) until its force is off", () =>
    Effect.gen(function* () {
      const { control, id } = yield* setUp
      yield* control.set([id], { forced: true })
      yield* control.updateSettings({ seedTimeLimited: true, seedTimeLimit: 1, shareLimitAction: "remove" })
      yield* pass(75)
      expect((yield* viewOf(control, id)).status).toBe(Status.Seed)
      yield* control.set([id], { forced: false })
      for (let i = 0; i < 10 && (yield* control.torrents("all")).length > 0; i++) yield* pass(1)
      expect(yield* control.torrents("all")).toEqual([])
    }))
})

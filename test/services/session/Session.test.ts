/**
 * The daemon's session (Session.ts) in a whole in-memory swarm under TestClock: torrents added as
 * .torrent bytes, by URL and as magnet links download from real bt-effect seeders through the session's one
 * listening port; stop, start, verify and remove; the download queue; session.json and a restart on the
 * same state; and the errors a front end gets. Each case checks the session's views against what happened
 * in the swarm (the store's bytes, the tracker's log, the seeders' upload counts, the file on disk).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as path from "node:path"
import { toHex } from "../../../src/domain/InfoHash.js"
import { PeerAddress } from "../../../src/domain/PeerAddress.js"
import { type SessionControlService } from "../../../src/services/session/SessionControl.js"
import { withClock } from "../../support/clock.js"
import { httpTracker as httpServer, reply } from "../../support/hostileTracker.js"
import {
  downloadDir,
  newResume,
  readSessionFile,
  seedOn,
  sessionAnnounces,
  sessionHost,
  sessionPeerPort,
  startSession,
  tempStateDir,
  viewOf,
  waitView
} from "../../support/sessionSwarm.js"
import { all, announceUrl, makeSwarm, type Swarm } from "../../support/swarm.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"
import { ControlError } from "../../../src/domain/Errors.js"
import { Status, type TorrentView } from "../../../src/domain/SessionView.js"

/** A plausible wall-clock start. TestClock starts at 0, and the session's dates are whole seconds with 0
 *  meaning "never": a torrent done within the first virtual second would never count as done. */
const epochMs = 1_750_000_000_000

/** A second torrent of 256 KiB; `announce` defaults to the swarm's tracker. */
const secondTorrent = (announce: string = announceUrl) =>
  makeTorrent({ name: "second", pieceLength: 32768, files: [{ path: ["second.bin"], data: randomBytes(256 * 1024, 7) }], announce })

const hexOf = (t: { readonly metainfo: { readonly infoHash?: Uint8Array | undefined } }) => toHex(t.metainfo.infoHash!)

const metainfo = (t: { readonly bytes: Uint8Array }) => ({ _tag: "Metainfo" as const, bytes: t.bytes })

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array) => a !== undefined && Buffer.compare(a, b) === 0

/** Polls every view until `done`, keeping each poll's statuses (by id); under TestClock. */
const watchAll = (control: SessionControlService, done: (views: ReadonlyArray<TorrentView>) => boolean, maxVirtual: `${number} seconds` = "120 seconds") => {
  const history: Array<Record<number, number>> = []
  const poll = Effect.gen(function* () {
    while (true) {
      const views = yield* control.torrents("all")
      history.push(Object.fromEntries(views.map((v) => [v.id, v.status])))
      if (done(views)) return views
      yield* Effect.sleep("250 millis")
    }
  })
  return Effect.map(withClock(poll, { step: "250 millis", maxVirtual }), (views) => ({ views, history }))
}

const seeding = (v: TorrentView) => v.status === Status.Seed && v.percentDone === 1

/** A session with its state folder and resume data, on a swarm whose torrent 10.0.0.1 seeds. */
const setUp = (options: { readonly size?: number; readonly bandwidth?: number; readonly downloadQueueSize?: number } = {}) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(epochMs)
    const swarm = yield* makeSwarm({ size: options.size ?? 256 * 1024 })
    const seeder = yield* swarm.member("10.0.0.1", { pieces: all, ...(options.bandwidth !== undefined ? { link: { bandwidth: options.bandwidth } } : {}) })
    const stateDir = yield* tempStateDir
    const resume = newResume()
    const control = yield* startSession(swarm, { stateDir, resume, ...(options.downloadQueueSize !== undefined ? { downloadQueueSize: options.downloadQueueSize } : {}) })
    return { swarm, seeder, stateDir, resume, control }
  })

const sessionContents = (swarm: Swarm, hash: string) => swarm.store.contents(downloadDir, hash)

describe("Session", () => {
  it.scoped("downloads an added .torrent from the seeder, then seeds it; adding it again is a duplicate of the same id", () =>
    Effect.gen(function* () {
      const { swarm, seeder, control } = yield* setUp({ size: 512 * 1024 + 77, bandwidth: 128 * 1024 })
      const hash = hexOf(swarm.torrent)
      const added = yield* control.add(metainfo(swarm.torrent), {})
      expect(added).toEqual({ id: 1, hashString: hash, name: "swarm", duplicate: false })
      const { view, seen } = yield* waitView(control, 1, seeding)
      // It was checked (nothing there), then downloaded at the seeder's 128 KiB/s, then seeds.
      expect(seen.has(Status.Download)).toBe(true)
      expect([view.haveValid, view.totalSize, view.downloadDir, view.error]).toEqual([512 * 1024 + 77, 512 * 1024 + 77, downloadDir, 0])
      expect(view.downloadedEver).toBeGreaterThanOrEqual(512 * 1024 + 77)
      expect(view.doneDate).toBeGreaterThanOrEqual(epochMs / 1000)
      expect(sameBytes(sessionContents(swarm, hash), swarm.torrent.payload)).toBe(true)
      expect((yield* seeder.stats).uploadedBytes).toBeGreaterThanOrEqual(512 * 1024 + 77)
      const again = yield* control.add(metainfo(swarm.torrent), { paused: true })
      expect(again).toEqual({ id: 1, hashString: hash, name: "swarm", duplicate: true })
      expect((yield* control.torrents("all")).map((v) => [v.id, v.status])).toEqual([[1, Status.Seed]])
      // The tracker heard of it from the session's port: started, then completed.
      const announces = sessionAnnounces(swarm.tracker.announces, hash)
      expect(announces.map((a) => [a.event, a.request.port])).toEqual([["started", sessionPeerPort], ["completed", sessionPeerPort]])
    }))

  it.scoped("a torrent's download limit holds it to its rate, and so does the session's", () =>
    Effect.gen(function* () {
      const timeToSeed = (limit: "torrent" | "session" | "none") =>
        Effect.scoped(Effect.gen(function* () {
          const { swarm, control } = yield* setUp({ size: 1024 * 1024 })
          // Added stopped, so that the limit applies from the first block.
          const { id } = yield* control.add(metainfo(swarm.torrent), { paused: true })
          if (limit === "torrent") yield* control.set([id], { downloadLimit: 128 * 1024 })
          if (limit === "session") yield* control.updateSettings({ speedLimitDown: 128 * 1024 })
          const t0 = yield* Clock.currentTimeMillis
          yield* control.start([id])
          yield* waitView(control, id, seeding)
          return ((yield* Clock.currentTimeMillis) - t0) / 1000
        }))
      // 1 MiB at 128 KiB/s: 8 s, less the first second's burst; unlimited, about the session's 1 s queue tick.
      for (const limit of ["torrent", "session"] as const) {
        const seconds = yield* timeToSeed(limit)
        expect(seconds, limit).toBeGreaterThanOrEqual(6.5)
        expect(seconds, limit).toBeLessThanOrEqual(10)
      }
      expect(yield* timeToSeed("none")).toBeLessThanOrEqual(3)
    }))

  it.scoped("runs two downloads at once through one listening port, and a seeder that dials in reaches its own torrent", () =>
    Effect.gen(function* () {
      const { swarm, seeder, control } = yield* setUp({ bandwidth: 64 * 1024 })
      // The second torrent's tracker is down: its seeder is found only by dialling the session's port.
      const other = secondTorrent("http://down.test/announce")
      swarm.tracker.fail("http://down.test/announce", "Unreachable")
      const dialler = yield* seedOn(swarm, "10.0.0.3", other, {
        peers: [new PeerAddress({ host: sessionHost, port: sessionPeerPort })],
        link: { bandwidth: 64 * 1024 }
      })
      expect((yield* control.settings).peerPort).toBe(sessionPeerPort)
      yield* control.add(metainfo(swarm.torrent), {})
      yield* control.add(metainfo(other), {})
      const { history } = yield* watchAll(control, (views) => views.length === 2 && views.every(seeding))
      // At 64 KiB/s each, both were downloading together for a while.
      expect(history.some((h) => h[1] === Status.Download && h[2] === Status.Download)).toBe(true)
      expect(sameBytes(sessionContents(swarm, hexOf(swarm.torrent)), swarm.torrent.payload)).toBe(true)
      expect(sameBytes(sessionContents(swarm, hexOf(other)), other.payload)).toBe(true)
      // Each seeder served its own torrent whole: the dialler's connection went to the second torrent.
      expect((yield* seeder.stats).uploadedBytes).toBeGreaterThanOrEqual(256 * 1024)
      expect((yield* dialler.stats).uploadedBytes).toBeGreaterThanOrEqual(256 * 1024)
      // Every announce of the session, for either torrent (the failed ones too), gives the one port.
      const ports = [...sessionAnnounces(swarm.tracker.announces, hexOf(swarm.torrent)), ...sessionAnnounces(swarm.tracker.announces, hexOf(other))]
        .map((a) => a.request.port)
      expect(ports.length).toBeGreaterThanOrEqual(2)
      expect(new Set(ports)).toEqual(new Set([sessionPeerPort]))
    }))

  it.scoped("stop sends stopped, start runs it again, verify hashes it again and repairs a damaged piece, remove forgets it", () =>
    Effect.gen(function* () {
      const { swarm, seeder, stateDir, control } = yield* setUp({ bandwidth: 16 * 1024 })
      const hash = hexOf(swarm.torrent)
      const m = swarm.torrent.metainfo
      const { id } = yield* control.add(metainfo(swarm.torrent), {})
      yield* waitView(control, id, seeding)

      yield* control.stop([id])
      const stopped = yield* viewOf(control, id)
      expect([stopped.status, stopped.peersConnected, stopped.percentDone]).toEqual([Status.Stopped, 0, 1])
      // A run that ended still counts in this session's bytes, as in the torrent's lifetime ones.
      expect(stopped.downloadedEver).toBeGreaterThanOrEqual(m.totalLength)
      expect(stopped.downloadedSession).toBe(stopped.downloadedEver)
      expect(sessionAnnounces(swarm.tracker.announces, hash).map((a) => a.event)).toEqual(["started", "completed", "stopped"])
      expect((yield* readSessionFile(stateDir)).torrents.map((t) => t.paused)).toEqual([true])

      yield* control.start([id])
      yield* waitView(control, id, seeding)
      // Complete when it starts again: no second `completed` (BEP 3 sends it when a download completes).
      expect(sessionAnnounces(swarm.tracker.announces, hash).map((a) => a.event)).toEqual(["started", "completed", "stopped", "started"])

      // A flipped byte the files' stamps do not show: only hashing everything again finds it.
      swarm.store.corrupt(downloadDir, m, 40_000, { touch: false })
      const uploadedBefore = (yield* seeder.stats).uploadedBytes
      yield* control.verify([id])
      const redownloading: Array<readonly [number, number]> = []
      const { seen, view } = yield* waitView(control, id, (v) => {
        if (v.percentDone < 1) redownloading.push([v.status, v.haveValid])
        return seeding(v) && sameBytes(sessionContents(swarm, hash), swarm.torrent.payload)
      })
      expect(seen.has(Status.CheckWait) || seen.has(Status.Check)).toBe(true)
      // The check found piece 1 bad: 7 of 8 pieces, shown as downloading, until the seeder (16 KiB/s) sent
      // it again.
      expect(redownloading.length).toBeGreaterThan(0)
      expect(new Set(redownloading.map(([status, have]) => `${status}:${have}`))).toEqual(new Set([`${Status.Download}:${7 * 32768}`]))
      expect(view.haveValid).toBe(m.totalLength)
      // Piece 1 (32 KiB from byte 32768) came again from the seeder.
      expect((yield* seeder.stats).uploadedBytes - uploadedBefore).toBeGreaterThanOrEqual(32768)

      yield* control.remove([id], false)
      expect(yield* control.torrents("all")).toEqual([])
      expect(sameBytes(sessionContents(swarm, hash), swarm.torrent.payload)).toBe(true)
      expect((yield* readSessionFile(stateDir)).torrents).toEqual([])
    }))

  it.scoped("with a download queue of one, the second torrent waits until the first completes", () =>
    Effect.gen(function* () {
      const { swarm, control } = yield* setUp({ bandwidth: 64 * 1024, downloadQueueSize: 1 })
      const other = secondTorrent()
      yield* seedOn(swarm, "10.0.0.3", other)
      const first = yield* control.add(metainfo(swarm.torrent), {})
      const second = yield* control.add(metainfo(other), {})
      expect((yield* viewOf(control, second.id)).status).toBe(Status.DownloadWait)
      const { history } = yield* watchAll(control, (views) => views.every(seeding), "60 seconds")
      // The second waited while the first was not yet seeding, and ran only after.
      const firstSeeds = history.findIndex((h) => h[first.id] === Status.Seed)
      expect(firstSeeds).toBeGreaterThan(4)
      expect(history.slice(0, firstSeeds).every((h) => h[second.id] === Status.DownloadWait)).toBe(true)
      const announces = swarm.tracker.announces.filter((a) => a.request.ip === undefined)
      const firstCompleted = announces.findIndex((a) => a.event === "completed" && toHex(a.request.infoHash) === first.hashString)
      const secondStarted = announces.findIndex((a) => a.event === "started" && toHex(a.request.infoHash) === second.hashString)
      expect(firstCompleted).toBeGreaterThanOrEqual(0)
      expect(secondStarted).toBeGreaterThan(firstCompleted)
      expect(sameBytes(sessionContents(swarm, second.hashString), other.payload)).toBe(true)
    }))

  it.scoped("saves the list in session.json; a restart restores both torrents, paused as they were, the complete one seeding without a download", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(epochMs)
      const swarm = yield* makeSwarm({ size: 256 * 1024 })
      const seeder = yield* swarm.member("10.0.0.1", { pieces: all })
      const stateDir = yield* tempStateDir
      const resume = newResume()
      const other = secondTorrent() // no one seeds it
      const hash = hexOf(swarm.torrent)

      const firstRun = yield* Scope.make()
      const control = yield* Scope.extend(startSession(swarm, { stateDir, resume }), firstRun)
      const a = yield* control.add(metainfo(swarm.torrent), {})
      const b = yield* control.add(metainfo(other), { downloadDir: "/elsewhere" })
      yield* waitView(control, a.id, seeding)
      yield* control.stop([b.id])
      const saved = yield* readSessionFile(stateDir)
      expect(saved.version).toBe(1)
      expect(saved.torrents.map((t) => [t.hash, t.name, t.downloadDir, t.paused])).toEqual([
        [hash, "swarm", downloadDir, false],
        [b.hashString, "second", "/elsewhere", true]
      ])
      expect(saved.torrents[0]!.doneDate).toBeGreaterThanOrEqual(epochMs / 1000)
      yield* Scope.close(firstRun, Exit.void)
      const uploaded = (yield* seeder.stats).uploadedBytes
      const downloadedEver = resume.get(swarm.torrent.metainfo.infoHash!)?.downloaded
      expect(downloadedEver).toBeGreaterThanOrEqual(256 * 1024)
      const announcesBefore = sessionAnnounces(swarm.tracker.announces, hash).length

      const again = yield* startSession(swarm, { stateDir, resume })
      const restored = yield* again.torrents("all")
      expect(restored.map((v) => [v.hashString, v.name, v.downloadDir])).toEqual([
        [hash, "swarm", downloadDir],
        [b.hashString, "second", "/elsewhere"]
      ])
      const { views } = yield* watchAll(again, (vs) => vs.length === 2 && seeding(vs[0]!), "30 seconds")
      expect(views[1]!.status).toBe(Status.Stopped)
      // Let it run a while: it seeds what the checkpoint says it has, and fetches nothing.
      yield* withClock(Effect.sleep("20 seconds"), { step: "1 second", maxVirtual: "30 seconds" })
      expect((yield* seeder.stats).uploadedBytes).toBe(uploaded)
      // Complete from the start (left 0), nothing downloaded in this run; the checkpoint keeps the totals.
      const later = sessionAnnounces(swarm.tracker.announces, hash).slice(announcesBefore)
      expect(later.map((x) => [x.event, x.request.left, x.request.downloaded])).toEqual([["started", 0, 0]])
      expect(resume.get(swarm.torrent.metainfo.infoHash!)?.downloaded).toBe(downloadedEver)
      // downloadedEver counts every run, as Transmission's does.
      expect(views[0]!.downloadedEver).toBe(downloadedEver)
      // This session moved nothing: qBittorrent's *_session and Transmission's current stats say 0.
      expect(views[0]!.downloadedSession).toBe(0)
      const stats = yield* again.stats
      expect([stats.downloadedSession, stats.downloadedBytes]).toEqual([0, downloadedEver])
    }))

  it.scoped("a magnet link shows its dn until the metadata comes from the x.pe peer, then the torrent's name, and completes", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(epochMs)
      const swarm = yield* makeSwarm({ size: 256 * 1024 })
      yield* swarm.member("10.0.0.1", { pieces: all, link: { latency: "2 seconds" } })
      const stateDir = yield* tempStateDir
      const resume = newResume()
      const control = yield* startSession(swarm, { stateDir, resume })
      const hash = hexOf(swarm.torrent)
      const added = yield* control.add({ _tag: "Magnet", uri: `magnet:?xt=urn:btih:${hash}&dn=from+the+link&x.pe=10.0.0.1:6881` }, {})
      expect(added).toEqual({ id: 1, hashString: hash, name: "from the link", duplicate: false })
      const before = yield* viewOf(control, added.id)
      expect([before.name, before.hasMetadata, before.totalSize, before.percentDone]).toEqual(["from the link", false, 0, 0])
      const { seen, view } = yield* waitView(control, added.id, seeding)
      expect(seen.has(Status.Download)).toBe(true)
      expect([view.name, view.hasMetadata, view.totalSize, view.pieceCount]).toEqual(["swarm", true, 256 * 1024, 8])
      expect(sameBytes(sessionContents(swarm, hash), swarm.torrent.payload)).toBe(true)
      // The metadata is kept for a restart, and the list names the torrent now, no longer by its link.
      expect(resume.torrents.has(hash)).toBe(true)
      expect((yield* readSessionFile(stateDir)).torrents.map((t) => [t.name, "magnet" in t])).toEqual([["swarm", false]])
    }))

  it.scoped("adds a .torrent by its URL, fetched over HTTP, and downloads it; a URL that fails or serves no torrent is refused with why", () =>
    Effect.gen(function* () {
      const { swarm, control } = yield* setUp()
      const hash = hexOf(swarm.torrent)
      const server = yield* httpServer((req, res) => {
        if (req.url === "/swarm.torrent") return reply(res, swarm.torrent.bytes)
        if (req.url === "/junk.torrent") return reply(res, "not a torrent")
        res.writeHead(404)
        res.end()
      })
      const url = (name: string) => `http://127.0.0.1:${server.port}/${name}`
      const added = yield* control.add({ _tag: "Url", url: url("swarm.torrent") }, {})
      expect(added).toEqual({ id: 1, hashString: hash, name: "swarm", duplicate: false })
      yield* waitView(control, added.id, seeding)
      expect(sameBytes(sessionContents(swarm, hash), swarm.torrent.payload)).toBe(true)
      expect(yield* control.add({ _tag: "Url", url: url("swarm.torrent") }, {})).toEqual({ ...added, duplicate: true })
      const missing = yield* Effect.flip(control.add({ _tag: "Url", url: url("none.torrent") }, {}))
      expect([missing.reason, missing.detail]).toEqual(["Io", `cannot fetch ${url("none.torrent")}: HTTP 404`])
      const junk = yield* Effect.flip(control.add({ _tag: "Url", url: url("junk.torrent") }, {}))
      expect(junk.reason).toBe("Invalid")
      expect(junk.detail).toMatch(/^invalid or corrupt torrent: ./)
      expect(server.targets).toEqual(["/swarm.torrent", "/swarm.torrent", "/none.torrent", "/junk.torrent"])
      expect((yield* control.torrents("all")).map((v) => v.id)).toEqual([1])
    }))

  it.scoped("keeps a torrent added by its URL across a restart, when its server is gone", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(epochMs)
      const swarm = yield* makeSwarm({ size: 256 * 1024 })
      yield* swarm.member("10.0.0.1", { pieces: all })
      const stateDir = yield* tempStateDir
      const resume = newResume()
      const hash = hexOf(swarm.torrent)
      const firstRun = yield* Scope.make()
      const server = yield* Scope.extend(httpServer((_, res) => reply(res, swarm.torrent.bytes)), firstRun)
      const control = yield* Scope.extend(startSession(swarm, { stateDir, resume }), firstRun)
      const added = yield* control.add({ _tag: "Url", url: `http://127.0.0.1:${server.port}/swarm.torrent` }, {})
      yield* waitView(control, added.id, seeding)
      expect(sameBytes(resume.torrents.get(hash), swarm.torrent.bytes)).toBe(true)
      yield* Scope.close(firstRun, Exit.void)

      const again = yield* startSession(swarm, { stateDir, resume })
      const { views } = yield* watchAll(again, (vs) => vs.length === 1 && seeding(vs[0]!), "30 seconds")
      expect(views.map((v) => [v.hashString, v.name, v.percentDone])).toEqual([[hash, "swarm", 1]])
    }))

  it.scoped("keeps the session's settings (settings.json) and each torrent's limits (session.json) across a restart; the command line's folder wins", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(epochMs)
      const swarm = yield* makeSwarm({ size: 256 * 1024 })
      const stateDir = yield* tempStateDir
      const resume = newResume()
      const hash = hexOf(swarm.torrent)
      /** A session on the state folder for the time of `use`, stopped after it. */
      const run = <A>(options: { readonly savedFolder?: boolean }, use: (control: SessionControlService) => Effect.Effect<A, unknown>) =>
        Effect.scoped(Effect.flatMap(startSession(swarm, { stateDir, resume, ...options }), use))

      yield* run({}, (control) =>
        Effect.gen(function* () {
          const a = yield* control.add(metainfo(swarm.torrent), { paused: true })
          yield* control.updateSettings({
            speedLimitDown: 300_000, speedLimitUp: 40_000, downloadQueueSize: 2, seedQueueSize: 7, seedQueueEnabled: true, downloadDir: "/chosen",
            encryption: "required"
          })
          yield* control.set([a.id], { downloadLimit: 120_000, uploadLimit: 9_000 })
        }))
      // Every other setting is saved too (SessionGoals.test.ts).
      expect(JSON.parse(fs.readFileSync(path.join(stateDir, "settings.json"), "utf8"))).toMatchObject({
        version: 1,
        settings: {
          downloadDir: "/chosen", speedLimitDown: 300_000, speedLimitUp: 40_000, downloadQueueSize: 2, seedQueueSize: 7, seedQueueEnabled: true, pexEnabled: true,
          encryption: "required"
        }
      })
      expect((yield* readSessionFile(stateDir)).torrents).toMatchObject([{ hash, downloadLimit: 120_000, uploadLimit: 9_000 }])

      const restored = yield* run({ savedFolder: true }, (control) => Effect.zip(control.settings, control.torrents("all")))
      expect(restored[0]).toMatchObject({
        downloadDir: "/chosen", speedLimitDown: 300_000, speedLimitUp: 40_000, downloadQueueSize: 2, seedQueueSize: 7, seedQueueEnabled: true,
        encryption: "required"
      })
      expect(restored[1].map((v) => [v.hashString, v.downloadLimit, v.uploadLimit])).toEqual([[hash, 120_000, 9_000]])

      const told = yield* run({}, (control) => control.settings)
      expect([told.downloadDir, told.speedLimitDown]).toEqual([downloadDir, 300_000])
    }))

  it.scoped("answers unknown ids and bad torrents with ControlError", () =>
    Effect.gen(function* () {
      const { control } = yield* setUp()
      expect(yield* control.torrents([999])).toEqual([])
      const notFound = yield* Effect.flip(control.start([999]))
      expect(notFound).toBeInstanceOf(ControlError)
      expect([notFound.reason, notFound.detail]).toEqual(["NotFound", "no torrent 999"])
      const garbage = yield* Effect.flip(control.add({ _tag: "Metainfo", bytes: new TextEncoder().encode("not a torrent") }, {}))
      expect(garbage.reason).toBe("Invalid")
      expect(garbage.detail).toMatch(/^invalid or corrupt torrent: ./)
      const badMagnet = yield* Effect.flip(control.add({ _tag: "Magnet", uri: "magnet:?dn=nothing" }, {}))
      expect(badMagnet.reason).toBe("Invalid")
      expect(yield* control.torrents("all")).toEqual([])
    }))
})

/**
 * The Transmission RPC's methods run against a SessionControl: a request body in, the response body out
 * (undefined when nothing is to be answered: JSON-RPC notifications). HTTP is RpcServer's business.
 *
 * As Transmission does, ids that name no torrent are skipped rather than refused (a list is resolved
 * against the session first), and read-only methods sent as notifications are not run. A view has no
 * activity date, so torrent-get's "recently-active" answers every torrent (a superset, which polling
 * clients merge) with the ids removed in the last minute; actions on "recently-active" touch only the
 * torrents moving data or being checked.
 *
 * Transmission keeps a speed limit's value apart from whether it is on; the session keeps one number
 * (0: unlimited). The values set while a limit is off are remembered here, per server, so that a front
 * end that sends `speed-limit-down-enabled` and `speed-limit-down` in separate requests (the web client
 * does) ends with the limit it meant.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import { readFile, stat } from "node:fs/promises"
import { maxTorrentBytes } from "../../protocol/TorrentFile.js"
import {
  sessionObject,
  statsObject,
  type TorrentContext,
  torrentObject,
  torrentTable,
  wantsFreeSpace
} from "../../protocol/TransmissionFields.js"
import {
  type AddRequest,
  applyLimit,
  buildResponse,
  decodeAdd,
  decodeFields,
  decodeFreeSpace,
  decodeIds,
  decodeRemove,
  decodeSessionSet,
  decodeTorrentSet,
  ErrorCode,
  failure,
  type Ids,
  isCall,
  type JsonObject,
  type Outcome,
  parseBody,
  rejectionResponse,
  type RpcCall,
  type RpcRejection,
  success
} from "../../protocol/TransmissionRpc.js"
import { type AddSource, type Selection, SessionControl, type SessionControlService, type TorrentSettings } from "./SessionControl.js"
import { type ControlError } from "../../domain/Errors.js"
import { type SessionSettings, Status, type TorrentView } from "../../domain/SessionView.js"

/** Transmission's default limit (kB/s), shown while a limit was never set. */
const defaultLimit = 100
/** How long a removed torrent is reported in `removed` to clients polling "recently-active". */
const removedMemorySeconds = 60

type Handler = (call: RpcCall, control: SessionControlService) => Effect.Effect<Outcome>

const controlFailure = (e: ControlError, io: ErrorCode = ErrorCode.SystemError): Outcome =>
  failure(e.reason === "Io" ? io : ErrorCode.InvalidParams, e.detail)

/** A request body to its response: one object, an array (a batch), or undefined (nothing to answer). */
export interface RpcHandler {
  readonly handle: (body: string) => Effect.Effect<JsonObject | ReadonlyArray<JsonObject> | undefined, never, SessionControl>
}

export const makeHandler = (options: { readonly sessionId: string }): Effect.Effect<RpcHandler> =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    const now = () => Math.floor(clock.unsafeCurrentTimeMillis() / 1000)
    const sessionLimits = { down: defaultLimit, up: defaultLimit }
    const torrentLimits = new Map<number, { down: number; up: number }>()
    const known = new Set<number>()
    const removed = new Map<number, number>()

    const limitsOf = (id: number) => torrentLimits.get(id) ?? { down: defaultLimit, up: defaultLimit }
    const contextOf = (v: TorrentView): TorrentContext => ({
      now: now(),
      rememberedDownloadLimit: limitsOf(v.id).down,
      rememberedUploadLimit: limitsOf(v.id).up
    })

    const noteRemoved = (ids: ReadonlyArray<number>) => {
      for (const id of ids) {
        known.delete(id)
        torrentLimits.delete(id)
        removed.set(id, now())
      }
    }

    /** Every torrent seen is remembered, so that one gone by another way is reported removed too. */
    const noteAll = (views: ReadonlyArray<TorrentView>) => {
      const present = new Set(views.map((v) => v.id))
      noteRemoved([...known].filter((id) => !present.has(id)))
      for (const id of present) known.add(id)
      for (const [id, at] of removed) if (now() - at > removedMemorySeconds) removed.delete(id)
    }

    const recentlyActive = (v: TorrentView) =>
      v.rateDownload > 0 || v.rateUpload > 0 || v.status === Status.Check || v.status === Status.CheckWait

    /** The torrents a request names, as a selection of ids that exist ("all" stays all). */
    const resolve = (ids: Ids, control: SessionControlService): Effect.Effect<Selection> => {
      switch (ids._tag) {
        case "All":
          return Effect.succeed("all")
        case "RecentlyActive":
          return Effect.map(control.torrents("all"), (vs) => vs.filter(recentlyActive).map((v) => v.id))
        case "List":
          return ids.ids.length === 0 ? Effect.succeed([]) : Effect.map(control.torrents(ids.ids), (vs) => vs.map((v) => v.id))
      }
    }

    /** Runs an action on the torrents named, unless they are none. */
    const action = (run: (control: SessionControlService, which: Selection) => Effect.Effect<void, ControlError>): Handler =>
      (call, control) =>
        Effect.flatMap(resolve(decodeIds(call.args), control), (which) =>
          which !== "all" && which.length === 0
            ? Effect.succeed(success())
            : run(control, which).pipe(Effect.as(success()), Effect.catchAll((e) => Effect.succeed(controlFailure(e)))))

    const torrentGet: Handler = (call, control) =>
      Effect.gen(function*() {
        const ids = decodeIds(call.args)
        const fields = decodeFields(call.args)
        const views = yield* control.torrents(ids._tag === "List" ? ids.ids : "all")
        if (ids._tag !== "List") noteAll(views)
        const torrents = call.args["format"] === "table"
          ? views.length === 0 ? [] : [...torrentTable(views, fields, contextOf(views[0]!))]
          : views.map((v) => torrentObject(v, fields, contextOf(v)))
        return ids._tag === "RecentlyActive"
          ? success({ torrents, removed: [...removed.keys()] })
          : success({ torrents })
      })

    const readTorrentFile = (path: string) =>
      Effect.tryPromise({
        try: async () => {
          const info = await stat(path)
          if (info.size > maxTorrentBytes) throw new Error(`larger than ${maxTorrentBytes} bytes`)
          return new Uint8Array(await readFile(path))
        },
        catch: (e) => failure(ErrorCode.SystemError, `cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`)
      })

    const sourceOf = (request: AddRequest): Effect.Effect<AddSource, Outcome> => {
      const from = request.from
      switch (from._tag) {
        case "Path":
          return Effect.map(readTorrentFile(from.path), (bytes) => ({ _tag: "Metainfo", bytes }))
        case "Metainfo":
          return Effect.succeed(from)
        case "Magnet":
          return Effect.succeed(from)
        case "Url":
          return Effect.succeed(from)
      }
    }

    const torrentAdd: Handler = (call, control) =>
      Effect.gen(function*() {
        const request = decodeAdd(call.args)
        if (typeof request === "string") return failure(ErrorCode.InvalidParams, request)
        const source = yield* sourceOf(request)
        const added = yield* control.add(source, {
          ...(request.downloadDir === undefined ? {} : { downloadDir: request.downloadDir }),
          ...(request.paused === undefined ? {} : { paused: request.paused })
        }).pipe(
          Effect.mapError((e) =>
            e.reason === "Invalid" ? failure(ErrorCode.CorruptTorrent, e.detail) : controlFailure(e, source._tag === "Url" ? ErrorCode.HttpError : ErrorCode.SystemError)
          )
        )
        known.add(added.id)
        const torrent = { id: added.id, name: added.name, hash_string: added.hashString }
        return success(added.duplicate ? { torrent_duplicate: torrent } : { torrent_added: torrent })
      }).pipe(Effect.merge)

    const torrentSet: Handler = (call, control) =>
      Effect.gen(function*() {
        const request = decodeTorrentSet(call.args)
        const which = yield* resolve(decodeIds(call.args), control)
        const views = yield* control.torrents(which)
        for (const v of views) {
          const remembered = limitsOf(v.id)
          const down = applyLimit(v.downloadLimit, remembered.down, request.download)
          const up = applyLimit(v.uploadLimit, remembered.up, request.upload)
          torrentLimits.set(v.id, { down: down.remembered, up: up.remembered })
          const settings: TorrentSettings = {
            ...(down.bytes === undefined ? {} : { downloadLimit: down.bytes }),
            ...(up.bytes === undefined ? {} : { uploadLimit: up.bytes }),
            ...(request.queuePosition === undefined ? {} : { queuePosition: request.queuePosition })
          }
          if (Object.keys(settings).length > 0) yield* control.set([v.id], settings)
        }
        return success()
      }).pipe(Effect.catchAll((e) => Effect.succeed(controlFailure(e))))

    const sessionGet: Handler = (call, control) =>
      Effect.gen(function*() {
        const fields = decodeFields(call.args)
        const settings = yield* control.settings
        const free = wantsFreeSpace(fields)
          ? yield* Effect.option(control.freeSpace(settings.downloadDir))
          : undefined
        return success(sessionObject({
          settings,
          sessionId: options.sessionId,
          rememberedDownloadLimit: sessionLimits.down,
          rememberedUploadLimit: sessionLimits.up,
          ...(free === undefined || free._tag === "None" ? {} : { downloadDirFreeSpace: free.value.sizeBytes })
        }, fields))
      })

    const sessionSet: Handler = (call, control) =>
      Effect.gen(function*() {
        const request = decodeSessionSet(call.args)
        const current = yield* control.settings
        const down = applyLimit(current.speedLimitDown, sessionLimits.down, request.download)
        const up = applyLimit(current.speedLimitUp, sessionLimits.up, request.upload)
        sessionLimits.down = down.remembered
        sessionLimits.up = up.remembered
        const { download: _d, upload: _u, ...rest } = request
        const patch: Partial<Omit<SessionSettings, "version" | "peerPort">> = {
          ...rest,
          ...(down.bytes === undefined ? {} : { speedLimitDown: down.bytes }),
          ...(up.bytes === undefined ? {} : { speedLimitUp: up.bytes })
        }
        if (Object.keys(patch).length > 0) yield* control.updateSettings(patch)
        return success()
      }).pipe(Effect.catchAll((e) => Effect.succeed(controlFailure(e))))

    const freeSpace: Handler = (call, control) => {
      const path = decodeFreeSpace(call.args)
      if (path === undefined) return Effect.succeed(failure(ErrorCode.InvalidParams, "directory path argument is missing"))
      if (!path.startsWith("/")) return Effect.succeed(failure(ErrorCode.PathNotAbsolute, "directory path is not absolute"))
      return control.freeSpace(path).pipe(
        Effect.map((f) => success({ path: f.path, size_bytes: f.sizeBytes, total_size: f.totalSize })),
        Effect.catchAll((e) => Effect.succeed(controlFailure(e)))
      )
    }

    /** queue-move-*: a new position from the old one and the queue's length. */
    const queueMove = (to: (position: number, length: number) => number): Handler => (call, control) =>
      Effect.gen(function*() {
        const which = yield* resolve(decodeIds(call.args), control)
        const length = (yield* control.torrents("all")).length
        for (const v of yield* control.torrents(which)) {
          yield* control.set([v.id], { queuePosition: Math.max(0, Math.min(length - 1, to(v.queuePosition, length))) })
        }
        return success()
      }).pipe(Effect.catchAll((e) => Effect.succeed(controlFailure(e))))

    const handlers: { readonly [method: string]: { readonly run: Handler; readonly changes: boolean } } = {
      torrent_get: { run: torrentGet, changes: false },
      torrent_add: { run: torrentAdd, changes: true },
      torrent_set: { run: torrentSet, changes: true },
      torrent_start: { run: action((c, w) => c.start(w)), changes: true },
      torrent_start_now: { run: action((c, w) => c.start(w)), changes: true },
      torrent_stop: { run: action((c, w) => c.stop(w)), changes: true },
      torrent_verify: { run: action((c, w) => c.verify(w)), changes: true },
      torrent_remove: {
        run: (call, control) =>
          action((c, w) =>
            Effect.flatMap(c.torrents(w), (views) =>
              Effect.tap(c.remove(w, decodeRemove(call.args)), () => noteRemoved(views.map((v) => v.id)))))(call, control),
        changes: true
      },
      session_get: { run: sessionGet, changes: false },
      session_set: { run: sessionSet, changes: true },
      session_stats: { run: (_, control) => Effect.map(control.stats, (s) => success(statsObject(s))), changes: false },
      free_space: { run: freeSpace, changes: false },
      queue_move_top: { run: queueMove(() => 0), changes: true },
      queue_move_up: { run: queueMove((p) => p - 1), changes: true },
      queue_move_down: { run: queueMove((p) => p + 1), changes: true },
      queue_move_bottom: { run: queueMove((_, n) => n - 1), changes: true }
    }

    const runCall = (call: RpcCall): Effect.Effect<JsonObject | undefined, never, SessionControl> =>
      Effect.gen(function*() {
        const handler = handlers[call.method]
        if (handler === undefined) {
          return buildResponse(call, failure(ErrorCode.MethodNotFound, call.dialect === "classic" ? "method name not recognized" : ""))
        }
        const notification = call.dialect === "jsonrpc" && call.id === undefined
        if (notification && !handler.changes) return undefined
        const control = yield* SessionControl
        const outcome = yield* handler.run(call, control).pipe(
          Effect.catchAllCause((cause) => Effect.succeed(failure(ErrorCode.InternalError, Cause.pretty(cause).split("\n")[0] ?? "")))
        )
        return buildResponse(call, outcome)
      })

    const handle = (body: string) => {
      const parsed = parseBody(body)
      const one = (item: RpcCall | RpcRejection) =>
        isCall(item) ? runCall(item) : Effect.succeed(rejectionResponse(item))
      if (parsed._tag === "Single") return one(parsed.item)
      return Effect.map(Effect.forEach(parsed.items, one), (responses) => {
        const answered = responses.filter((r): r is JsonObject => r !== undefined)
        return answered.length === 0 ? undefined : answered
      })
    }

    return { handle }
  })

/**
 * The Transmission RPC's torrent methods: torrent-get, torrent-add, torrent-set, torrent-set-location, the
 * actions (start, stop, verify, remove) and the queue moves. torrent-add and torrent-set take the files
 * wanted and their priorities (files-wanted, files-unwanted, priority-high/-normal/-low; an empty list
 * means every file).
 *
 * As Transmission does, ids that name no torrent are skipped rather than refused: a list is resolved
 * against the session first. Actions on "recently-active" touch only the torrents moving data or being
 * checked.
 */
import * as Effect from "effect/Effect"
import { readFile, stat } from "node:fs/promises"
import type { ControlError } from "../../domain/Errors.js"
import { fromLabels } from "../../domain/Categories.js"
import { outOfRange } from "../../domain/FileChoices.js"
import { Status, type TorrentView } from "../../domain/SessionView.js"
import { maxTorrentBytes } from "../../protocol/TorrentFile.js"
import { torrentObject, torrentTable } from "../../protocol/TransmissionFields.js"
import {
  type AddRequest,
  decodeAdd,
  decodeFields,
  decodeIds,
  decodeRemove,
  ErrorCode,
  failure,
  type Ids,
  type Outcome,
  success
} from "../../protocol/TransmissionRpc.js"
import { applyLimit, decodeSetLocation, decodeTorrentSet, refuseUnsupported, torrentAlwaysSo, torrentSetArguments, unsupportedArguments } from "../../protocol/TransmissionSetters.js"
import { controlFailure, type Method } from "./RpcMethod.js"
import type { AddSource, Selection, SessionControlService, TorrentSettings } from "./SessionControl.js"

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
export const torrentAction = (run: (control: SessionControlService, which: Selection) => Effect.Effect<void, ControlError>): Method =>
  (call, { control }) =>
    Effect.flatMap(resolve(decodeIds(call.args), control), (which) =>
      which !== "all" && which.length === 0
        ? Effect.succeed(success())
        : run(control, which).pipe(Effect.as(success()), Effect.catchAll((e) => Effect.succeed(controlFailure(e)))))

/** torrent-remove: the ids removed are remembered for clients polling "recently-active". */
export const torrentRemove: Method = (call, context) =>
  torrentAction((control, which) =>
    Effect.flatMap(control.torrents(which), (views) =>
      Effect.tap(control.remove(which, decodeRemove(call.args)), () => context.memory.noteRemoved(views.map((v) => v.id)))))(call, context)

export const torrentGet: Method = (call, { control, memory }) =>
  Effect.gen(function*() {
    const ids = decodeIds(call.args)
    const fields = decodeFields(call.args)
    const views = yield* control.torrents(ids._tag === "List" ? ids.ids : "all")
    if (ids._tag !== "List") memory.noteAll(views)
    const context = { now: memory.now(), session: yield* control.settings }
    const torrents = call.args["format"] === "table"
      ? views.length === 0 ? [] : [...torrentTable(views, fields, context)]
      : views.map((v) => torrentObject(v, fields, context))
    return ids._tag === "RecentlyActive"
      ? success({ torrents, removed: [...memory.removed()] })
      : success({ torrents })
  })

/** A .torrent named by its path on the daemon's machine, no larger than a .torrent may be. */
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
    case "Magnet":
    case "Url":
      return Effect.succeed(from)
  }
}

export const torrentAdd: Method = (call, { control, memory }) =>
  Effect.gen(function*() {
    const request = decodeAdd(call.args)
    if (typeof request === "string") return failure(ErrorCode.InvalidParams, request)
    if (request.downloadDir !== undefined && !request.downloadDir.startsWith("/")) {
      return failure(ErrorCode.PathNotAbsolute, "download directory path is not absolute")
    }
    const source = yield* sourceOf(request)
    const added = yield* control.add(source, {
      ...(request.downloadDir === undefined ? {} : { downloadDir: request.downloadDir }),
      ...(request.paused === undefined ? {} : { paused: request.paused }),
      ...(request.files === undefined ? {} : { files: request.files }),
      ...(request.labels === undefined ? {} : { tags: request.labels })
    }).pipe(
      Effect.mapError((e) =>
        e.reason === "Invalid" ? failure(ErrorCode.CorruptTorrent, e.detail) : controlFailure(e, source._tag === "Url" ? ErrorCode.HttpError : ErrorCode.SystemError)
      )
    )
    memory.noteAdded(added.id)
    const torrent = { id: added.id, name: added.name, hash_string: added.hashString }
    return success(added.duplicate ? { torrent_duplicate: torrent } : { torrent_added: torrent })
  }).pipe(Effect.merge)

export const torrentSet: Method = (call, { control }) =>
  Effect.gen(function*() {
    const unsupported = unsupportedArguments(call.args, torrentSetArguments, torrentAlwaysSo)
    if (unsupported.length > 0) return refuseUnsupported(unsupported)
    const { download: downChange, labels, upload: upChange, ...rest } = decodeTorrentSet(call.args)
    const which = yield* resolve(decodeIds(call.args), control)
    const views = yield* control.torrents(which)
    for (const v of views) {
      const down = applyLimit(v.downloadLimit, v.rememberedDownloadLimit, downChange)
      const up = applyLimit(v.uploadLimit, v.rememberedUploadLimit, upChange)
      const settings: TorrentSettings = {
        ...rest,
        ...(down.bytes === undefined ? {} : { downloadLimit: down.bytes }),
        ...(up.bytes === undefined ? {} : { uploadLimit: up.bytes }),
        ...(down.remembered === v.rememberedDownloadLimit ? {} : { rememberedDownloadLimit: down.remembered }),
        ...(up.remembered === v.rememberedUploadLimit ? {} : { rememberedUploadLimit: up.remembered }),
        ...(labels === undefined ? {} : fromLabels(labels, v.category))
      }
      if (Object.keys(settings).length > 0) yield* control.set([v.id], settings)
    }
    // As Transmission: the files in range are changed, and the answer says that some were not.
    const files = rest.files
    if (files !== undefined && views.some((v) => v.hasMetadata && outOfRange(files, v.files.length))) {
      return failure(ErrorCode.InvalidParams, "file index out of range")
    }
    return success()
  }).pipe(Effect.catchAll((e) => Effect.succeed(controlFailure(e))))

/** torrent-set-location: a new folder, the data moved there or looked for there. */
export const torrentSetLocation: Method = (call, { control }) =>
  Effect.gen(function*() {
    const request = decodeSetLocation(call.args)
    if (typeof request === "string") return failure(ErrorCode.InvalidParams, request)
    if (!request.location.startsWith("/")) return failure(ErrorCode.PathNotAbsolute, "new location path is not absolute")
    const which = yield* resolve(decodeIds(call.args), control)
    if (which !== "all" && which.length === 0) return success()
    yield* control.setLocation(which, request.location, request.move)
    return success()
  }).pipe(Effect.catchAll((e) => Effect.succeed(controlFailure(e))))

/** queue-move-*: a new position from the old one and the queue's length. */
export const queueMove = (to: (position: number, length: number) => number): Method => (call, { control }) =>
  Effect.gen(function*() {
    const which = yield* resolve(decodeIds(call.args), control)
    const length = (yield* control.torrents("all")).length
    for (const v of yield* control.torrents(which)) {
      yield* control.set([v.id], { queuePosition: Math.max(0, Math.min(length - 1, to(v.queuePosition, length))) })
    }
    return success()
  }).pipe(Effect.catchAll((e) => Effect.succeed(controlFailure(e))))

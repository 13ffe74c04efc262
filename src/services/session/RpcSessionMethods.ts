/**
 * The Transmission RPC's session methods: session-get, session-set, session-stats and free-space. Speed
 * limits are kB/s here and bytes/s in the session; their values while off are the client memory's.
 */
import * as Effect from "effect/Effect"
import type { SessionSettings } from "../../domain/SessionView.js"
import { sessionObject, statsObject, wantsFreeSpace } from "../../protocol/TransmissionFields.js"
import {
  applyLimit,
  decodeFields,
  decodeFreeSpace,
  decodeSessionSet,
  ErrorCode,
  failure,
  refuseUnsupported,
  sessionSetArguments,
  success,
  unsupportedArguments
} from "../../protocol/TransmissionRpc.js"
import { controlFailure, type Method } from "./RpcMethod.js"

export const sessionGet: Method = (call, { control, memory, sessionId }) =>
  Effect.gen(function*() {
    const fields = decodeFields(call.args)
    const settings = yield* control.settings
    const free = wantsFreeSpace(fields)
      ? yield* Effect.option(control.freeSpace(settings.downloadDir))
      : undefined
    return success(sessionObject({
      settings,
      sessionId,
      rememberedDownloadLimit: memory.sessionLimits.down,
      rememberedUploadLimit: memory.sessionLimits.up,
      ...(free === undefined || free._tag === "None" ? {} : { downloadDirFreeSpace: free.value.sizeBytes })
    }, fields))
  })

export const sessionSet: Method = (call, { control, memory }) =>
  Effect.gen(function*() {
    const unsupported = unsupportedArguments(call.args, sessionSetArguments)
    if (unsupported.length > 0) return refuseUnsupported(unsupported)
    const request = decodeSessionSet(call.args)
    const current = yield* control.settings
    // The DHT node is made at start (--no-dht); a change asked while running would change nothing.
    if (request.dhtEnabled !== undefined && request.dhtEnabled !== current.dhtEnabled) {
      return refuseUnsupported(["dht-enabled (restart the daemon with or without --no-dht)"])
    }
    const down = applyLimit(current.speedLimitDown, memory.sessionLimits.down, request.download)
    const up = applyLimit(current.speedLimitUp, memory.sessionLimits.up, request.upload)
    memory.sessionLimits.down = down.remembered
    memory.sessionLimits.up = up.remembered
    const { download: _d, upload: _u, dhtEnabled: _dht, ...rest } = request
    const patch: Partial<Omit<SessionSettings, "version" | "peerPort">> = {
      ...rest,
      ...(down.bytes === undefined ? {} : { speedLimitDown: down.bytes }),
      ...(up.bytes === undefined ? {} : { speedLimitUp: up.bytes })
    }
    if (Object.keys(patch).length > 0) yield* control.updateSettings(patch)
    return success()
  }).pipe(Effect.catchAll((e) => Effect.succeed(controlFailure(e))))

export const sessionStats: Method = (_, { control }) => Effect.map(control.stats, (s) => success(statsObject(s)))

export const freeSpace: Method = (call, { control }) => {
  const path = decodeFreeSpace(call.args)
  if (path === undefined) return Effect.succeed(failure(ErrorCode.InvalidParams, "directory path argument is missing"))
  if (!path.startsWith("/")) return Effect.succeed(failure(ErrorCode.PathNotAbsolute, "directory path is not absolute"))
  return control.freeSpace(path).pipe(
    Effect.map((f) => success({ path: f.path, size_bytes: f.sizeBytes, total_size: f.totalSize })),
    Effect.catchAll((e) => Effect.succeed(controlFailure(e)))
  )
}

/**
 * The Transmission RPC's session methods: session-get, session-set, session-stats and free-space. Speed
 * limits are kB/s here and bytes/s in the session, which also keeps their values while they are off.
 */
import * as Effect from "effect/Effect"
import type { SettingsChange } from "../../domain/SessionView.js"
import { limits as peerLimits } from "../peer/PeerLimits.js"
import { peersPerTorrent } from "./SessionEntry.js"
import { sessionObject, statsObject, wantsFreeSpace } from "../../protocol/TransmissionSession.js"
import { decodeFields, decodeFreeSpace, ErrorCode, failure, success } from "../../protocol/TransmissionRpc.js"
import { applyLimit, decodeSessionSet, refuseUnsupported, sessionAlwaysSo, sessionSetArguments, unsupportedArguments } from "../../protocol/TransmissionSetters.js"
import { controlFailure, type Method } from "./RpcMethod.js"

export const sessionGet: Method = (call, { control, sessionId }) =>
  Effect.gen(function*() {
    const fields = decodeFields(call.args)
    const settings = yield* control.settings
    const free = wantsFreeSpace(fields)
      ? yield* Effect.option(control.freeSpace(settings.downloadDir))
      : undefined
    return success(sessionObject({
      settings,
      sessionId,
      peersPerTorrent,
      reqq: peerLimits.maxUploadQueue,
      ...(free === undefined || free._tag === "None" ? {} : { downloadDirFreeSpace: free.value.sizeBytes })
    }, fields))
  })

export const sessionSet: Method = (call, { control }) =>
  Effect.gen(function*() {
    const current = yield* control.settings
    // The listening port and the transports are chosen at start (--peer-port, --no-utp, --no-tcp): asking
    // for them as they are changes nothing.
    const unsupported = unsupportedArguments(call.args, sessionSetArguments, {
      ...sessionAlwaysSo,
      peer_port: current.peerPort,
      utp_enabled: current.utpEnabled,
      tcp_enabled: current.tcpEnabled
    })
    if (unsupported.length > 0) return refuseUnsupported(unsupported)
    const request = decodeSessionSet(call.args)
    if (call.args["encryption"] !== undefined && request.encryption === undefined) {
      return failure(ErrorCode.InvalidParams, "encryption is one of tolerated, preferred, required (nothing was changed)")
    }
    if (request.incompleteDir !== undefined && !request.incompleteDir.startsWith("/")) {
      return failure(ErrorCode.PathNotAbsolute, "incomplete-dir is not an absolute path (nothing was changed)")
    }
    // The DHT node is made at start (--no-dht); a change asked while running would change nothing.
    if (request.dhtEnabled !== undefined && request.dhtEnabled !== current.dhtEnabled) {
      return refuseUnsupported(["dht-enabled (restart the daemon with or without --no-dht)"])
    }
    const down = applyLimit(current.speedLimitDown, current.rememberedLimitDown, request.download)
    const up = applyLimit(current.speedLimitUp, current.rememberedLimitUp, request.upload)
    const { download: _d, upload: _u, dhtEnabled: _dht, ...rest } = request
    const patch: SettingsChange = {
      ...rest,
      ...(down.bytes === undefined ? {} : { speedLimitDown: down.bytes }),
      ...(up.bytes === undefined ? {} : { speedLimitUp: up.bytes }),
      ...(down.remembered === current.rememberedLimitDown ? {} : { rememberedLimitDown: down.remembered }),
      ...(up.remembered === current.rememberedLimitUp ? {} : { rememberedLimitUp: up.remembered })
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

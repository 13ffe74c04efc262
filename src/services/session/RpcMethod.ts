/**
 * One method of the Transmission RPC: a call in, its outcome out, against the session and what the server
 * remembers for its clients. A method never fails: what goes wrong is an outcome too (an error result).
 */
import type * as Effect from "effect/Effect"
import type { ControlError } from "../../domain/Errors.js"
import { ErrorCode, failure, type Outcome, type RpcCall } from "../../protocol/TransmissionRpc.js"
import type { ClientMemory } from "./RpcClientMemory.js"
import type { SessionControlService } from "./SessionControl.js"

export interface MethodContext {
  readonly control: SessionControlService
  readonly memory: ClientMemory
  /** The X-Transmission-Session-Id of this server (session-get shows it). */
  readonly sessionId: string
}

export type Method = (call: RpcCall, context: MethodContext) => Effect.Effect<Outcome>

/** A session's refusal as an error result: what it cannot do with the files is `io`, anything else the params. */
export const controlFailure = (e: ControlError, io: ErrorCode = ErrorCode.SystemError): Outcome =>
  failure(e.reason === "Io" ? io : ErrorCode.InvalidParams, e.detail)

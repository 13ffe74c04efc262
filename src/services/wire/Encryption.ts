/**
 * The encryption policy of a program (`--encryption off|prefer|require`), as a Context reference: the
 * commands provide it once (their default is `prefer`), and each torrent reads it where its peers connect
 * (TorrentPeers.ts, MetadataFetch.ts), unless its options name a policy of their own (the daemon's
 * setting, which session-set may change). A program that says nothing (the library's Client, the
 * in-memory swarms of the tests, whose scripted peers speak the plaintext wire) runs in plaintext, as
 * before MSE, at no cost.
 */
import * as Context from "effect/Context"
import type { EncryptionSetting } from "../../domain/SessionView.js"
import type { Policy } from "../../protocol/Mse.js"

export type { Policy } from "../../protocol/Mse.js"

export const policies: ReadonlyArray<Policy> = ["off", "prefer", "require"]

/** Undefined: nobody said (a torrent then runs in plaintext; the daemon keeps its saved setting). */
export class EncryptionPolicy extends Context.Reference<EncryptionPolicy>()("bt-effect/EncryptionPolicy", {
  defaultValue: (): Policy | undefined => undefined
}) {}

/** The daemon's setting in Transmission's words (domain/SessionView.ts), as a policy and back. */
export const fromSetting = (setting: EncryptionSetting): Policy =>
  setting === "required" ? "require" : setting === "preferred" ? "prefer" : "off"

export const toSetting = (policy: Policy): EncryptionSetting =>
  policy === "require" ? "required" : policy === "prefer" ? "preferred" : "tolerated"

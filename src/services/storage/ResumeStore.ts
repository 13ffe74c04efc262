/**
 * The ResumeStore port: where each torrent's resume data lives between runs, by info hash.
 *
 * ResumeFiles.ts keeps one bencoded file per torrent under the state folder, replaced atomically;
 * MemoryResume.ts keeps the encoded bytes in a map, for tests. Resume data that cannot be read or decoded
 * is reported and ignored: the data is then checked by hashing, which is slower but never wrong.
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as os from "node:os"
import * as path from "node:path"
import type { StorageError } from "../../domain/Errors.js"
import type { InfoHash } from "../../domain/InfoHash.js"
import type { ResumeData } from "../../domain/ResumeData.js"
import type { PartBytes } from "./PartFile.js"

export interface ResumeStoreService {
  /** Where resume data is kept, for messages. */
  readonly location: string
  /** The torrent's saved resume data, if there is any that decodes. */
  readonly load: (infoHash: InfoHash) => Effect.Effect<Option.Option<ResumeData>>
  /** Replaces the torrent's resume data, atomically. */
  readonly save: (data: ResumeData) => Effect.Effect<void, StorageError>
  /** The .torrent fetched for a magnet link earlier, so that a restart needs no peer to give it again. */
  readonly loadTorrent: (infoHash: InfoHash) => Effect.Effect<Option.Option<Uint8Array>>
  readonly saveTorrent: (infoHash: InfoHash, torrent: Uint8Array) => Effect.Effect<void, StorageError>
  /** The torrent's part file (file selection: PartFile.ts), open for the scope. */
  readonly parts: (infoHash: InfoHash) => Effect.Effect<PartBytes, never, Scope.Scope>
}

export class ResumeStore extends Context.Tag("bt-effect/ResumeStore")<ResumeStore, ResumeStoreService>() {}

/**
 * The default state folder: $XDG_STATE_HOME/bt-effect, else ~/.local/state/bt-effect (the XDG default);
 * on macOS ~/Library/Application Support/bt-effect; on Windows %LOCALAPPDATA%\bt-effect.
 */
export const defaultStateDir = (
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = os.homedir()
): string => {
  if (platform === "win32") return path.join(env.LOCALAPPDATA ?? path.join(home, "AppData", "Local"), "bt-effect")
  if (platform === "darwin") return path.join(home, "Library", "Application Support", "bt-effect")
  const xdg = env.XDG_STATE_HOME
  return path.join(xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(home, ".local", "state"), "bt-effect")
}

/** Resume data kept in memory, for tests: the ResumeStore port without files. */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { type InfoHash, toHex } from "../../domain/InfoHash.js"
import type { ResumeData } from "../../domain/ResumeData.js"
import { decodeResume, encodeResume } from "../../protocol/ResumeFile.js"
import { MemoryPart } from "./PartFile.js"
import { ResumeStore, type ResumeStoreService } from "./ResumeStore.js"

/** Resume data kept in memory (encoded, so that tests go through the same codec as files). */
export class MemoryResume {
  readonly files = new Map<string, Uint8Array>()
  readonly torrents = new Map<string, Uint8Array>()
  readonly parts = new Map<string, MemoryPart>()
  saves = 0

  get(infoHash: InfoHash): ResumeData | undefined {
    const raw = this.files.get(toHex(infoHash))
    return raw === undefined ? undefined : Either.getOrUndefined(decodeResume(raw))
  }
}

export const make = (memory: MemoryResume): ResumeStoreService => ({
  location: "memory",
  load: (infoHash) =>
    Effect.sync(() => {
      const raw = memory.files.get(toHex(infoHash))
      return raw === undefined ? Option.none() : Option.getRight(decodeResume(raw))
    }),
  save: (data) =>
    Effect.sync(() => {
      memory.saves += 1
      memory.files.set(toHex(data.infoHash), encodeResume(data))
    }),
  loadTorrent: (infoHash) => Effect.sync(() => Option.fromNullable(memory.torrents.get(toHex(infoHash)))),
  saveTorrent: (infoHash, torrent) => Effect.sync(() => void memory.torrents.set(toHex(infoHash), torrent)),
  parts: (infoHash) =>
    Effect.sync(() => {
      const key = toHex(infoHash)
      const part = memory.parts.get(key) ?? new MemoryPart()
      memory.parts.set(key, part)
      return part
    })
})

export const layer = (memory: MemoryResume = new MemoryResume()): Layer.Layer<ResumeStore> =>
  Layer.succeed(ResumeStore, make(memory))

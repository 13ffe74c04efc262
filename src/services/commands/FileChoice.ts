/**
 * The files a `download` fetches: `--files 1,4-7` (1-based, as `info` numbers them and aria2c's
 * --select-file counts) and `--only GLOB` (each matched against the file's path below the torrent's folder,
 * or with the folder's name in front), together; without either, a magnet's BEP 53 `so=` (0-based);
 * else every file (undefined). Bad input is a usage error, in one line.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { UsageError } from "../../domain/Errors.js"
import * as FileSelection from "../../domain/FileSelection.js"
import type { Metainfo } from "../../domain/Metainfo.js"

export interface FileChoiceOptions {
  readonly files?: string
  readonly only?: ReadonlyArray<string>
  /** A magnet's `so=`, 0-based. */
  readonly selectOnly?: ReadonlyArray<number>
}

const usage = (detail: string) => new UsageError({ reason: "Option", detail })

export const chooseFiles = (
  m: Metainfo,
  options: FileChoiceOptions
): Effect.Effect<ReadonlyArray<number> | undefined, UsageError> =>
  Effect.gen(function* () {
    const count = m.files.length
    const only = options.only ?? []
    if (options.files === undefined && only.length === 0) {
      if (options.selectOnly === undefined) return undefined
      const past = options.selectOnly.find((i) => i >= count)
      if (past !== undefined) return yield* usage(`the magnet's so= names file ${past} (0-based); the torrent has ${count} files`)
      return [...new Set(options.selectOnly)].sort((a, b) => a - b)
    }
    const chosen = new Set<number>()
    if (options.files !== undefined) {
      const listed = FileSelection.parseFileList(options.files, count)
      if (Either.isLeft(listed)) return yield* usage(listed.left)
      for (const i of listed.right) chosen.add(i)
    }
    if (only.length > 0) {
      const below = m.files.map((f) => f.path.join("/"))
      const matched = FileSelection.matchGlobs(only, below)
      const withFolder = m.multiFile ? FileSelection.matchGlobs(only, below.map((p) => `${m.safeName}/${p}`)) : matched
      if (Either.isLeft(matched)) return yield* usage(matched.left)
      if (Either.isLeft(withFolder)) return yield* usage(withFolder.left)
      const before = chosen.size
      for (const i of [...matched.right, ...withFolder.right]) if (!m.files[i]!.pad) chosen.add(i)
      if (chosen.size === before && options.files === undefined) {
        return yield* usage(`--only ${only.join(", ")}: no file of the torrent matches (bt-effect info lists them)`)
      }
    }
    return [...chosen].sort((a, b) => a - b)
  })

/** The flags' syntax, before anything runs (the numbers against the torrent's files come later). */
export const checkFileChoice = (options: FileChoiceOptions): Effect.Effect<void, UsageError> =>
  Effect.gen(function* () {
    if (options.files !== undefined) {
      const listed = FileSelection.parseRanges(options.files)
      if (Either.isLeft(listed)) return yield* usage(listed.left)
    }
    for (const glob of options.only ?? []) {
      const re = FileSelection.globToRegExp(glob)
      if (Either.isLeft(re)) return yield* usage(re.left)
    }
  })

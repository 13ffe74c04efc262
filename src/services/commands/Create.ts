/**
 * `bt-effect create`: make a .torrent from a file or a folder, showing the hashing as it goes, and write it.
 * `--v1` (the default), `--v2` or `--hybrid` choose the metainfo's version.
 */
import * as Options from "@effect/cli/Options"
import * as fs from "node:fs"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { toHex } from "../../domain/InfoHash.js"
import { formatBytes, formatRate } from "../../domain/Units.js"
import { type CreateOptions, createTorrent, type CreateVersion } from "../create/CreateTorrent.js"
import type { ProgressOptions } from "./Progress.js"
import { CreateError, UsageError } from "../../domain/Errors.js"

/** `--v1`, `--v2`, `--hybrid`: at most one. */
export const versionFlags = {
  v1: Options.boolean("v1").pipe(Options.withDescription("make a v1 torrent (the default)")),
  v2: Options.boolean("v2").pipe(Options.withDescription("make a v2-only torrent (BEP 52)")),
  hybrid: Options.boolean("hybrid").pipe(Options.withDescription("make a hybrid v1 + v2 torrent, with pad files (BEP 52, 47)"))
}
export type VersionFlags = { readonly [K in keyof typeof versionFlags]: boolean }

/** The version the flags ask for; a usage error for more than one. */
export const versionFrom = (flags: VersionFlags): Effect.Effect<CreateVersion, UsageError> => {
  const given = (["v1", "v2", "hybrid"] as const).filter((v) => flags[v])
  return given.length > 1
    ? Effect.fail(new UsageError({ reason: "Option", detail: `${given.map((v) => `--${v}`).join(" and ")}: give at most one` }))
    : Effect.succeed(given[0] ?? "v1")
}

export interface CreateCommandOptions extends Omit<CreateOptions, "onProgress" | "version"> {
  /** --v1, --v2, --hybrid as given. */
  readonly versions?: VersionFlags
  readonly output: string
  /** Replace `output` when it exists (--force); without it an existing file is left as it is. */
  readonly force?: boolean
  readonly progress: ProgressOptions
}

const exists = (output: string) =>
  new CreateError({ reason: "Exists", detail: `${output} exists (give --force to replace it)` })

/** Said before hashing what may be gigabytes, and held to when writing (`wx`: someone may make it meanwhile). */
const refuseExisting = (output: string) =>
  Effect.suspend(() => (fs.existsSync(output) ? Effect.fail(exists(output)) : Effect.void))

export const create = (options: CreateCommandOptions) =>
  Effect.gen(function* () {
    const { force, output, progress, versions, ...createOptions } = options
    const version = versions === undefined ? "v1" : yield* versionFrom(versions)
    if (force !== true) yield* refuseExisting(output)
    let hashed = 0
    let total = 0
    const started = yield* Clock.currentTimeMillis
    const line = (now: number) =>
      `hashing ${total === 0 ? "  0.0" : ((100 * hashed) / total).toFixed(1).padStart(5)}%  ` +
      `${formatBytes(hashed)} / ${formatBytes(total)}  ${formatRate(now > started ? (hashed * 1000) / (now - started) : 0)}`
    const show = Effect.gen(function* () {
      while (true) {
        yield* Effect.sleep(progress.tty ? "250 millis" : "5 seconds")
        const now = yield* Clock.currentTimeMillis
        yield* progress.write(progress.tty ? `\r\x1b[2K${line(now)}` : `${line(now)}\n`)
      }
    })
    const shower = yield* Effect.fork(show)
    const created = yield* createTorrent({
      ...createOptions,
      version,
      onProgress: (h, t) => {
        hashed = h
        total = t
      }
    }).pipe(Effect.ensuring(Fiber.interrupt(shower)))
    if (progress.tty) yield* progress.write("\r\x1b[2K")
    yield* Effect.try({
      try: () => fs.writeFileSync(output, created.bytes, { flag: force === true ? "w" : "wx" }),
      catch: (e) =>
        e instanceof Error && Reflect.get(e, "code") === "EEXIST"
          ? exists(output)
          : new CreateError({ reason: "Unreadable", detail: `cannot write ${output}: ${e instanceof Error ? e.message : String(e)}` })
    })
    const m = created.metainfo
    const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
    for (const w of created.warnings) yield* Effect.logWarning(w)
    yield* progress.write(
      `created ${output}: ${m.name}, ${m.files.filter((f) => !f.pad).length} file(s), ${formatBytes(m.totalLength)}, ` +
        `${m.pieceCount} pieces of ${formatBytes(m.pieceLength)}, hashed in ${seconds.toFixed(2)} s ` +
        `(${formatRate(seconds > 0 ? m.totalLength / seconds : 0)})\n` +
        (m.infoHash !== undefined ? `info hash ${toHex(m.infoHash)}\n` : "") +
        (m.infoHashV2 !== undefined ? `info hash v2 ${toHex(m.infoHashV2)}\n` : "")
    )
  })

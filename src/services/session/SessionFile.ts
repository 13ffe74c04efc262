/**
 * The daemon's list of torrents between runs: `<state>/session.json`, replaced atomically (a temp file
 * written and flushed, then renamed). Each torrent's .torrent and resume data live beside it in
 * `<state>/torrents/`; this file says which torrents there are, where their data goes and whether they
 * were stopped. A file that cannot be read is reported and the session starts empty.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as path from "node:path"
import { StorageError } from "../../domain/Errors.js"
import type { Entry } from "./SessionEntry.js"

const SavedTorrent = Schema.Struct({
  hash: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{40}$/)),
  name: Schema.String,
  magnet: Schema.optional(Schema.String),
  downloadDir: Schema.String,
  paused: Schema.Boolean,
  addedDate: Schema.Number,
  doneDate: Schema.Number
})
export type SavedTorrent = typeof SavedTorrent.Type

const SessionJson = Schema.parseJson(Schema.Struct({ version: Schema.Literal(1), torrents: Schema.Array(SavedTorrent) }))

export const load = (file: string): Effect.Effect<ReadonlyArray<SavedTorrent>> =>
  Effect.promise(() => fs.promises.readFile(file, "utf8").then((text) => text, () => undefined)).pipe(
    Effect.flatMap((text) => {
      if (text === undefined) return Effect.succeed([])
      return Either.match(Schema.decodeUnknownEither(SessionJson)(text), {
        onLeft: (e) => Effect.as(Effect.logWarning(`ignoring ${file}: ${e.message.split("\n")[0]}`), []),
        onRight: (session) => Effect.succeed(session.torrents)
      })
    })
  )

let sequence = 0

export const save = (file: string, entries: ReadonlyArray<Entry>): Effect.Effect<void, StorageError> =>
  Effect.tryPromise({
    try: async () => {
      const torrents: Array<SavedTorrent> = [...entries]
        .sort((a, b) => a.queuePosition - b.queuePosition)
        .map((e) => ({
          hash: e.hash,
          name: e.name,
          ...(e.metainfo === undefined && e.magnet !== undefined ? { magnet: e.magnet } : {}),
          downloadDir: e.downloadDir,
          paused: e.paused,
          addedDate: e.addedDate,
          doneDate: e.doneDate
        }))
      await fs.promises.mkdir(path.dirname(file), { recursive: true })
      const tmp = `${file}.${process.pid}.${++sequence}.tmp`
      const handle = await fs.promises.open(tmp, "w", 0o644)
      try {
        await handle.writeFile(JSON.stringify({ version: 1, torrents }, null, 1))
        await handle.sync()
      } finally {
        await handle.close()
      }
      await fs.promises.rename(tmp, file)
    },
    catch: (e) => new StorageError({ reason: "Write", path: file, detail: e instanceof Error ? e.message : String(e) })
  })

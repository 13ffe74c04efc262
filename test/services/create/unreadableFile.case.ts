/**
 * The permission case of CreateTorrent.test.ts: a folder in which one file cannot be read. In a module of
 * its own so that, when the tests run as root (who reads any file), it runs as an unprivileged user
 * (test/support/unprivileged.ts).
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { createTorrent } from "../../../src/services/create/CreateTorrent.js"
import type { UnprivilegedCase } from "../../support/unprivileged.js"

export interface Found {
  /** The file without read permission. */
  readonly file: string
  readonly reason: string
  readonly message: string
}

const unreadableFile: UnprivilegedCase<Found> = {
  module: import.meta.url,
  run: (folder) => {
    const root = path.join(folder, "locked")
    fs.mkdirSync(root)
    fs.writeFileSync(path.join(root, "a.bin"), Buffer.alloc(100, 1))
    const file = path.join(root, "b.bin")
    fs.writeFileSync(file, Buffer.alloc(100, 2))
    fs.chmodSync(file, 0)
    const created = createTorrent({ path: root, announce: ["http://tracker.test/announce"], creationDate: 1_700_000_000, workers: 0 })
    return Effect.runPromise(
      created.pipe(
        Effect.flatMap(() => Effect.dieMessage(`made a torrent of ${root}, although ${file} cannot be read`)),
        Effect.flip,
        Effect.map((error) => ({ file, reason: error.reason, message: error.message }))
      )
    )
  }
}

export default unreadableFile

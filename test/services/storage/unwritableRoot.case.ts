/**
 * The permission case of Storage.test.ts: a download folder without write permission. In a module of its
 * own so that, when the tests run as root (who writes anywhere), it runs as an unprivileged user
 * (test/support/unprivileged.ts).
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as FileStorage from "../../../src/services/storage/FileStorage.js"
import { Storage } from "../../../src/services/storage/Storage.js"
import type { UnprivilegedCase } from "../../support/unprivileged.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"

export interface Found {
  /** The folder without write permission. */
  readonly root: string
  readonly reason: string
  readonly path: string
  readonly message: string
}

const unwritableRoot: UnprivilegedCase<Found> = {
  module: import.meta.url,
  run: (folder) => {
    const root = path.join(folder, "locked")
    fs.mkdirSync(root, { mode: 0o500 })
    fs.chmodSync(root, 0o500)
    const torrent = makeTorrent({
      name: "two",
      pieceLength: 16384,
      files: [{ path: ["sub", "one.bin"], data: randomBytes(20000, 11) }, { path: ["two.bin"], data: randomBytes(20000, 12) }]
    })
    const opened = Effect.scoped(Effect.flatMap(Storage, (storage) => storage.open(torrent.metainfo, root)))
    return Effect.runPromise(
      opened.pipe(
        Effect.provide(FileStorage.layer),
        Effect.flatMap(() => Effect.dieMessage(`opened ${root}, although it cannot be written in`)),
        Effect.flip,
        Effect.map((error) => ({ root, reason: error.reason, path: error.path, message: error.message }))
      )
    )
  }
}

export default unwritableRoot

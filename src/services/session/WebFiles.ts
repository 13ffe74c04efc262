/**
 * The daemon's web interface as RpcServer serves it: the files `npm run build` makes from src/web into
 * dist/web (the page, its script, its style), read from their folder once, when the daemon starts, and
 * served as they are: index.html at "/", every other file at its own name ("/app.js", "/app.css").
 *
 * The folder is given (src/main.ts names the one beside the bundle), never searched for. One that cannot
 * be read, or that holds no index.html, stops the daemon at its start with an error naming it: the web
 * interface is part of the program, and a daemon that announced it while answering 404 would hide a
 * broken install until someone opened the page.
 *
 * Only the kinds of file the build makes are served (HTML, JavaScript, CSS), each with its content type;
 * anything else in the folder, and any subfolder, is left out.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { StorageError } from "../../domain/Errors.js"
import { describeErrno } from "../files/FileErrors.js"
import { node } from "../files/NodeCallback.js"
import type { StaticFile } from "./RpcServer.js"

const contentTypes: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8"
}

const hint = "(`npm run build` makes it)"

const unreadable = (at: string) => (error: NodeJS.ErrnoException): StorageError =>
  new StorageError({
    reason: error.code === "ENOENT" ? "Missing" : "Read",
    path: at,
    detail: `cannot read the web interface: ${describeErrno(error)} ${hint}`
  })

/** The files of the web interface in `folder`, by the path they are served at. */
export const load = Effect.fn("WebFiles.load")(function* (folder: string) {
  const entries = yield* node<Array<fs.Dirent>>((done) => fs.readdir(folder, { withFileTypes: true }, done)).pipe(
    Effect.mapError(unreadable(folder))
  )
  const files = new Map<string, StaticFile>()
  for (const entry of entries) {
    const contentType = contentTypes[path.extname(entry.name)]
    if (!entry.isFile() || contentType === undefined) continue
    const file = path.join(folder, entry.name)
    const body = yield* node<Uint8Array>((done) => fs.readFile(file, done)).pipe(Effect.mapError(unreadable(file)))
    files.set(entry.name === "index.html" ? "/" : `/${entry.name}`, { contentType, body })
  }
  if (!files.has("/")) {
    return yield* new StorageError({
      reason: "Missing",
      path: path.join(folder, "index.html"),
      detail: `cannot read the web interface: no such file ${hint}`
    })
  }
  return files as ReadonlyMap<string, StaticFile>
})

/**
 * The web interface's files as the daemon loads them: from the folder it is given, each kind of file the
 * build makes with its content type, the page at "/"; a folder that is missing or holds no page is an
 * error at start naming it, never a daemon that answers 404.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as WebFiles from "../../../src/services/session/WebFiles.js"

const folder = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "bt-web-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const write = (dir: string, name: string, text: string) => fs.writeFileSync(path.join(dir, name), text)

describe("WebFiles", () => {
  it.scoped("serves the page at / and the script and style at their names, with their content types, as they are", () =>
    Effect.gen(function*() {
      const dir = yield* folder
      write(dir, "index.html", "<!doctype html><title>x</title>")
      write(dir, "app.js", "\"use strict\";\n")
      write(dir, "app.css", "body { margin: 0 }\n")
      // Not what the build makes: left out.
      write(dir, "notes.txt", "secret")
      fs.mkdirSync(path.join(dir, "sub"))
      write(path.join(dir, "sub"), "other.js", "1")

      const files = yield* WebFiles.load(dir)
      expect([...files.keys()].sort()).toEqual(["/", "/app.css", "/app.js"])
      expect(files.get("/")?.contentType).toBe("text/html; charset=utf-8")
      expect(files.get("/app.js")?.contentType).toBe("text/javascript; charset=utf-8")
      expect(files.get("/app.css")?.contentType).toBe("text/css; charset=utf-8")
      expect(Buffer.from(files.get("/app.css")!.body).toString("utf8")).toBe("body { margin: 0 }\n")
    }))

  it.scoped("a missing folder, or one without the page, is an error naming what is missing", () =>
    Effect.gen(function*() {
      const dir = yield* folder
      const gone = path.join(dir, "web")
      const missing = yield* Effect.flip(WebFiles.load(gone))
      expect(missing).toMatchObject({ _tag: "StorageError", reason: "Missing", path: gone })
      expect(missing.message).toBe(`${gone}: cannot read the web interface: no such file or folder (\`npm run build\` makes it)`)

      write(dir, "app.js", "1")
      const noPage = yield* Effect.flip(WebFiles.load(dir))
      expect(noPage).toMatchObject({ _tag: "StorageError", reason: "Missing", path: path.join(dir, "index.html") })
    }))
})

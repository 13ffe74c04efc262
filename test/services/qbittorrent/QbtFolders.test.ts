/**
 * The folders the qBittorrent API may send data to (QbtFolders.ts), on a real file system: paths inside an
 * allowed root pass (relative ones taken under the download folder), `..` that leaves the roots and a
 * symbolic link inside a root that points out of it are refused, `/` as a root allows any path.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach } from "vitest"
import { allowedFolder } from "../../../src/services/qbittorrent/QbtFolders.js"

const folders: Array<string> = []
afterEach(() => {
  for (const dir of folders.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

/** A temp tree: downloads/, allowed/, outside/, and a link downloads/escape -> outside. */
const tree = () => {
  // realpath: the temp folder itself may be behind a link (macOS's /tmp).
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "qbt-folders-")))
  folders.push(root)
  for (const d of ["downloads", "allowed", "outside"]) fs.mkdirSync(path.join(root, d))
  fs.symlinkSync(path.join(root, "outside"), path.join(root, "downloads", "escape"))
  return { root, downloads: path.join(root, "downloads"), allowed: path.join(root, "allowed"), outside: path.join(root, "outside") }
}

const refused = (effect: Effect.Effect<string, unknown>) =>
  Effect.map(Effect.exit(effect), (exit) => {
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isFailure(exit)) expect(JSON.stringify(exit.cause)).toMatch(/Forbidden/)
    return true
  })

describe("qBittorrent API: allowed folders", () => {
  it.effect("paths inside a root pass, as absolute folders; relative ones go under the download folder", () =>
    Effect.gen(function*() {
      const t = tree()
      const roots = [t.downloads, t.allowed]
      expect(yield* allowedFolder(t.downloads, t.downloads, roots)).toBe(t.downloads)
      expect(yield* allowedFolder(path.join(t.downloads, "tv", "new"), t.downloads, roots)).toBe(path.join(t.downloads, "tv", "new"))
      expect(yield* allowedFolder(path.join(t.allowed, "x"), t.downloads, roots)).toBe(path.join(t.allowed, "x"))
      expect(yield* allowedFolder("movies", t.downloads, roots)).toBe(path.join(t.downloads, "movies"))
      expect(yield* allowedFolder("movies/../tv/./hd/", t.downloads, roots)).toBe(path.join(t.downloads, "tv", "hd"))
      // A `..` that comes back in, and one into the other allowed root.
      expect(yield* allowedFolder(`${t.downloads}/a/../b`, t.downloads, roots)).toBe(path.join(t.downloads, "b"))
      expect(yield* allowedFolder("../allowed/y", t.downloads, roots)).toBe(path.join(t.allowed, "y"))
      // A name that begins with two dots is a name inside, not a way up.
      expect(yield* allowedFolder("..hidden", t.downloads, roots)).toBe(path.join(t.downloads, "..hidden"))
      expect(yield* allowedFolder(`${t.downloads}/...`, t.downloads, roots)).toBe(path.join(t.downloads, "..."))
      // A root given with a trailing slash or not yet made.
      expect(yield* allowedFolder(path.join(t.root, "later", "z"), t.downloads, [`${path.join(t.root, "later")}/`])).toBe(path.join(t.root, "later", "z"))
    }))

  it.effect("`..` that leaves the roots, other absolute paths and a sibling with the root's name as prefix are refused", () =>
    Effect.gen(function*() {
      const t = tree()
      const roots = [t.downloads]
      yield* refused(allowedFolder("..", t.downloads, roots))
      yield* refused(allowedFolder("../outside", t.downloads, roots))
      yield* refused(allowedFolder("a/../../outside", t.downloads, roots))
      yield* refused(allowedFolder(`${t.downloads}/../outside`, t.downloads, roots))
      yield* refused(allowedFolder("/etc", t.downloads, roots))
      yield* refused(allowedFolder(t.outside, t.downloads, roots))
      // downloads-evil starts with "downloads" but is not inside it.
      yield* refused(allowedFolder(`${t.downloads}-evil`, t.downloads, roots))
      // The detail names the path and the way out (--allow-folder).
      const exit = yield* Effect.exit(allowedFolder("/etc", t.downloads, roots))
      expect(JSON.stringify(exit)).toContain("/etc: outside the folders this daemon may write to (--allow-folder)")
    }))

  it.effect("a symbolic link inside a root that points out of it is refused, and what lies under it", () =>
    Effect.gen(function*() {
      const t = tree()
      const roots = [t.downloads]
      yield* refused(allowedFolder(path.join(t.downloads, "escape"), t.downloads, roots))
      yield* refused(allowedFolder("escape", t.downloads, roots))
      yield* refused(allowedFolder("escape/deeper/still", t.downloads, roots))
      // A dangling link pointing out (its target not made yet), and a loop of links: refused.
      fs.symlinkSync(path.join(t.outside, "later"), path.join(t.downloads, "dangle"))
      yield* refused(allowedFolder("dangle", t.downloads, roots))
      yield* refused(allowedFolder("dangle/sub", t.downloads, roots))
      fs.symlinkSync(path.join(t.root, "loop-b"), path.join(t.root, "loop-a"))
      fs.symlinkSync(path.join(t.root, "loop-a"), path.join(t.root, "loop-b"))
      fs.symlinkSync(path.join(t.root, "loop-a"), path.join(t.downloads, "loop"))
      yield* refused(allowedFolder("loop/x", t.downloads, roots))
      // A dangling link that points inside is fine.
      fs.symlinkSync(path.join(t.downloads, "notyet"), path.join(t.downloads, "ahead"))
      expect(yield* allowedFolder("ahead/x", t.downloads, roots)).toBe(path.join(t.downloads, "ahead", "x"))
      // A link that stays inside is fine.
      fs.mkdirSync(path.join(t.downloads, "real"))
      fs.symlinkSync(path.join(t.downloads, "real"), path.join(t.downloads, "inner"))
      expect(yield* allowedFolder("inner/x", t.downloads, roots)).toBe(path.join(t.downloads, "inner", "x"))
      // Allowed once its target is a root.
      expect(yield* allowedFolder("escape/x", t.downloads, [t.downloads, t.outside])).toBe(path.join(t.downloads, "escape", "x"))
    }))

  it.effect("a root that is a link is taken as where it points", () =>
    Effect.gen(function*() {
      const t = tree()
      const link = path.join(t.root, "dl-link")
      fs.symlinkSync(t.downloads, link)
      expect(yield* allowedFolder(path.join(t.downloads, "a"), t.downloads, [link])).toBe(path.join(t.downloads, "a"))
      yield* refused(allowedFolder(t.outside, t.downloads, [link]))
    }))

  it.effect("`/` as a root allows every path", () =>
    Effect.gen(function*() {
      const t = tree()
      expect(yield* allowedFolder("/etc", t.downloads, ["/"])).toBe("/etc")
      expect(yield* allowedFolder("escape", t.downloads, ["/"])).toBe(path.join(t.downloads, "escape"))
      expect(yield* allowedFolder("../../../..", t.downloads, ["/"])).toBe(path.resolve(t.downloads, "../../../.."))
    }))
})

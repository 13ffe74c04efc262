/**
 * The house rules of docs/ARCHITECTURE.md, read from the sources themselves: every import points down the
 * floors (domain, protocol, the shared file toolkit, then the subsystem rooms of src/services in their order,
 * then main.ts), no two files import each other through any loop, no file is longer than 450 lines and no
 * function longer than 120. A change that breaks one names the file, the import or the function.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"
import { describe, expect, it } from "vitest"

const src = path.resolve("src")

/** The floor of each room: an import may go to its own room or to a room on a lower floor. */
const floors: Record<string, number> = {
  domain: 0,
  protocol: 1,
  // The shared file toolkit (Node callbacks as effects, file errors in words, positional I/O, atomic
  // replace): below every subsystem, since storage, dht, create, torrent and session all write files.
  "services/files": 2,
  // HTTP with servers we do not trust (bounded bodies, redirects followed by us): trackers, the session's
  // .torrent URLs and the remote commands use it, web seeds will.
  "services/http": 2,
  // uTP's core (BEP 29: packets in, packets out, no sockets): below wire/, whose PeerNetwork runs it over UDP.
  "services/utp": 2,
  "services/wire": 3,
  "services/storage": 3,
  "services/tracker": 3,
  "services/pieces": 4,
  "services/dht": 4,
  "services/create": 4,
  "services/peer": 5,
  "services/torrent": 6,
  "services/session": 8,
  // The library's Client: torrents of one process on one shared port, as commands run them but without a
  // terminal; beside the session (the daemon's many torrents), which it does not need.
  "services/client": 7,
  // A torrent's files over HTTP as it downloads (the `stream` command, the daemon's /stream/): above the
  // torrent it reads, below the session whose RPC serves it too.
  "services/stream": 7,
  // The qBittorrent WebUI API over the session (SessionControl): above it, served by its HTTP server through
  // the routes the daemon command hands it.
  "services/qbittorrent": 8.5,
  "services/commands": 9,
  "main.ts": 10,
  // The library's entries (`bt-effect`, `bt-effect/testing`): the top, beside the command line.
  library: 10
}
/** The browser client is bundled on its own: it may use pure values from domain, and nothing imports it. */
const webRoom = "web"

const maxFileLines = 450
const maxFunctionLines = 120

const sourceFiles = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? sourceFiles(full) : /\.ts$/.test(entry.name) ? [full] : []
  })

const roomOf = (file: string): string => {
  const relative = path.relative(src, file).split(path.sep).join("/")
  const parts = relative.split("/")
  if (parts[0] === "services") return parts.length === 2 ? relative : `services/${parts[1]}`
  return parts.length === 1 ? relative : parts[0]!
}

interface Parsed {
  readonly file: string
  readonly source: ts.SourceFile
  readonly imports: ReadonlyArray<string>
}

const parse = (file: string): Parsed => {
  const text = fs.readFileSync(file, "utf8")
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const imports: Array<string> = []
  for (const statement of source.statements) {
    const specifier =
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier !== undefined
        ? (statement.moduleSpecifier as ts.StringLiteral).text
        : undefined
    if (specifier?.startsWith(".")) imports.push(path.resolve(path.dirname(file), specifier).replace(/\.js$/, ".ts"))
  }
  return { file, source, imports }
}

const files = sourceFiles(src).map(parse)
const show = (file: string) => path.relative(src, file).split(path.sep).join("/")

describe("the house (docs/ARCHITECTURE.md)", () => {
  it("every file is in a room with a floor", () => {
    const homeless = files.map((f) => f.file).filter((f) => roomOf(f) !== webRoom && floors[roomOf(f)] === undefined)
    expect(homeless.map(show)).toEqual([])
  })

  it("imports point down the floors, or stay in their room", () => {
    const upward: Array<string> = []
    for (const { file, imports } of files) {
      const from = roomOf(file)
      for (const target of imports) {
        const to = roomOf(target)
        if (from === to) continue
        const allowed = from === webRoom
          ? to === "domain"
          : to !== webRoom && floors[to]! < floors[from]!
        if (!allowed) upward.push(`${show(file)} -> ${show(target)}`)
      }
    }
    expect(upward).toEqual([])
  })

  it("no import circle", () => {
    const graph = new Map(files.map((f) => [f.file, f.imports]))
    const state = new Map<string, "open" | "done">()
    const circles: Array<string> = []
    const visit = (file: string, trail: Array<string>) => {
      if (state.get(file) === "done") return
      if (state.get(file) === "open") {
        circles.push([...trail.slice(trail.indexOf(file)), file].map(show).join(" -> "))
        return
      }
      state.set(file, "open")
      for (const next of graph.get(file) ?? []) visit(next, [...trail, file])
      state.set(file, "done")
    }
    for (const file of graph.keys()) visit(file, [])
    expect(circles).toEqual([])
  })

  it(`no file over ${maxFileLines} lines`, () => {
    const long = files
      .map(({ file, source }) => ({ file, lines: source.getLineAndCharacterOfPosition(source.end).line + 1 }))
      .filter((f) => f.lines > maxFileLines)
      .map((f) => `${show(f.file)}: ${f.lines}`)
    expect(long).toEqual([])
  })

  it(`no function over ${maxFunctionLines} lines`, () => {
    const long: Array<string> = []
    for (const { file, source } of files) {
      const visit = (node: ts.Node) => {
        if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
          const first = source.getLineAndCharacterOfPosition(node.getStart()).line
          const last = source.getLineAndCharacterOfPosition(node.end).line
          if (last - first + 1 > maxFunctionLines) long.push(`${show(file)}:${first + 1}: ${last - first + 1} lines`)
        }
        ts.forEachChild(node, visit)
      }
      visit(source)
    }
    expect(long).toEqual([])
  })
})

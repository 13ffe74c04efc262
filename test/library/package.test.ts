/**
 * The package as a user gets it: the build (dist/, or the copy BT_EFFECT_CLI names) packed with `npm pack`,
 * installed into a fresh project, a TypeScript program compiled against its declarations with tsc and run:
 * the Promise face downloads one file of two (`files`) from `bt-effect seed` (the CLI) on loopback, reading
 * it with `createReadStream` as it comes; the Effect face does the same with the program's own `effect`
 * and a file's `stream`; and the test kit runs an in-memory swarm under TestClock.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"
import { randomBytes } from "../../src/library/testing.js"
import { background, mainJs, runCli, stopAllBackground } from "../support/cli.js"

const run = promisify(execFile)
const repo = path.resolve(".")
const tsc = path.join(repo, "node_modules/typescript/bin/tsc")
const work = fs.mkdtempSync(path.join(os.tmpdir(), "bt-pack-"))

afterAll(async () => {
  await stopAllBackground()
  fs.rmSync(work, { recursive: true, force: true })
})

const pkg = JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8")) as {
  readonly dependencies: Record<string, string>
  readonly devDependencies: Record<string, string>
}

/** The user's program: each face and the test kit, as the README shows them. */
const program = `
import * as fs from "node:fs"
import type { Readable } from "node:stream"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as TestContext from "effect/TestContext"
import { Client, layer, MetainfoError, type Torrent, UsageError } from "bt-effect"
import { Swarm, withTestClock } from "bt-effect/testing"

const [magnet, torrentFile, outA, outB, stateDir, port, data] = process.argv.slice(2) as [string, string, string, string, string, string, string]

const readAll = (stream: Readable) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    stream.on("data", (chunk: Buffer) => chunks.push(chunk)).once("end", () => resolve(Buffer.concat(chunks))).once("error", reject)
  })

const client = await Client.create({ downloadDir: outA, host: "127.0.0.3", port: 0, dht: false, stateDir })
const torrent: Torrent = await client.add(magnet, { files: [2] })
let pieces = 0
torrent.on("piece", () => pieces++)
// Read as it downloads: each read waits for its pieces.
const file = torrent.files[1]!
const [head, whole] = await Promise.all([readAll(file.createReadStream({ start: 0, end: 99 })), readAll(file.createReadStream())])
await torrent.done()
const original = fs.readFileSync(data + "/" + file.path)
console.log(\`promise: \${torrent.files.map((f) => \`\${f.number} \${f.path} \${f.length} \${f.selected}\`).join(", ")}\`)
console.log(\`promise: progress \${torrent.progress} pieces \${pieces > 0} read \${whole.equals(original)} head \${head.equals(original.subarray(0, 100))}\`)
console.log(\`promise: created \${fs.readdirSync(outA + "/clip").join(",")}\`)
const refused = await client.add(new Uint8Array([1])).catch((e: unknown) => e)
console.log(\`promise: refused \${refused instanceof MetainfoError}\`)
const badFiles = await client.add(magnet, { files: [3] }).catch((e: unknown) => e)
console.log(\`promise: files [3] \${badFiles instanceof UsageError && badFiles.message}\`)
await client.close()

const effect = Effect.gen(function* () {
  const bt = yield* Client
  const t = yield* bt.add(fs.readFileSync(torrentFile), { peers: [{ host: "127.0.0.2", port: Number(port) }], files: [1] })
  const part = yield* Stream.runCollect(t.files[0]!.stream({ start: 10, end: 1009 }))
  yield* t.done
  const bytes = Buffer.concat(Chunk.toArray(part))
  const stats = yield* t.stats
  return \`\${stats.selectedVerifiedBytes} of \${stats.selectedLength}, read \${bytes.equals(fs.readFileSync(data + "/clip/a.bin").subarray(10, 1010))}\`
})
const bytes = await Effect.runPromise(
  Effect.scoped(effect).pipe(Effect.provide(layer({ downloadDir: outB, host: "127.0.0.4", port: 0, stateDir })))
).catch((e: unknown) => String(e))
console.log(\`effect: \${bytes}\`)

const swarm = Effect.gen(function* () {
  const s = yield* Swarm.make({ size: 256 * 1024 })
  yield* s.seeder("10.0.0.1")
  const leecher = yield* s.client("10.0.0.2")
  const t = yield* leecher.add(s.torrent.bytes)
  yield* withTestClock(t.done)
  return s.contents("10.0.0.2")?.length
})
console.log(\`testing: \${await Effect.runPromise(Effect.scoped(swarm).pipe(Effect.provide(TestContext.TestContext)))}\`)
`

describe("library: the packed package in a fresh project", () => {
  it("installs, compiles with tsc and downloads from a local seeder", async () => {
    const started = Date.now()
    // What `npm pack` takes from the package folder: package.json, README, and dist (its "files").
    const stage = path.join(work, "stage")
    fs.mkdirSync(stage)
    fs.copyFileSync(path.join(repo, "package.json"), path.join(stage, "package.json"))
    fs.copyFileSync(path.join(repo, "README.md"), path.join(stage, "README.md"))
    fs.cpSync(path.dirname(mainJs), path.join(stage, "dist"), { recursive: true })
    const packed = await run("npm", ["pack", "--ignore-scripts", "--pack-destination", work], { cwd: stage, timeout: 60_000 })
    const tarball = path.join(work, packed.stdout.trim().split("\n").pop()!)

    const app = path.join(work, "app")
    fs.mkdirSync(app)
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }))
    await run("npm", [
      "install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", tarball,
      `effect@${pkg.dependencies["effect"]}`, `@types/node@${pkg.devDependencies["@types/node"]}`
    ], { cwd: app, timeout: 90_000 })
    // One `effect` for the program and the library (npm put the library's on the program's), and the CLI.
    expect(fs.existsSync(path.join(app, "node_modules/bt-effect/node_modules/effect"))).toBe(false)
    const version = await run(path.join(app, "node_modules/.bin/bt-effect"), ["--version"], { cwd: app, timeout: 30_000 })
    expect(version.stdout).toMatch(/^bt-effect \d/)
    fs.writeFileSync(path.join(app, "main.ts"), program)
    fs.writeFileSync(path.join(app, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, skipLibCheck: true, types: ["node"], outDir: "out" },
      files: ["main.ts"]
    }))
    const compiled = await run(process.execPath, [tsc, "-p", app], { cwd: app, timeout: 60_000 }).catch((e: { stdout: string }) => e)
    expect(compiled.stdout).toBe("")

    // The seeder: the CLI of the same build, slow enough that the program reads as it downloads.
    const data = path.join(work, "data")
    fs.mkdirSync(path.join(data, "clip"), { recursive: true })
    fs.writeFileSync(path.join(data, "clip", "a.bin"), randomBytes(300_000, 4))
    fs.writeFileSync(path.join(data, "clip", "b.bin"), randomBytes(1024 * 1024 + 5, 3))
    const torrentFile = path.join(work, "clip.torrent")
    expect((await runCli(["create", path.join(data, "clip"), "-o", torrentFile, "--piece-length", "32768"])).code).toBe(0)
    const seeder = await background([
      "seed", torrentFile, "--data", data, "--port", "0", "--no-dht", "--state", path.join(work, "seed-state"), "--upload-limit", "1M"
    ], /on port (\d+)/)
    const port = seeder.match[1]!
    const info = await runCli(["info", torrentFile])
    const infoHash = /([0-9a-f]{40})/.exec(info.stdout)![1]!
    const outA = path.join(work, "a")
    const outB = path.join(work, "b")
    const ran = await run(process.execPath, [
      "out/main.js", `magnet:?xt=urn:btih:${infoHash}&x.pe=127.0.0.2:${port}`, torrentFile, outA, outB, path.join(work, "state"), port, data
    ], { cwd: app, timeout: 60_000 })
    expect(ran.stdout.trim().split("\n")).toEqual([
      "promise: 1 clip/a.bin 300000 false, 2 clip/b.bin 1048581 true",
      "promise: progress 1 pieces true read true head true",
      "promise: created b.bin",
      "promise: refused true",
      "promise: files [3] files: 3 is not a file number of the torrent (1 to 2, as bt-effect info shows them)",
      "effect: 300000 of 300000, read true",
      "testing: 262144"
    ])
    expect(fs.readFileSync(path.join(outA, "clip", "b.bin")).equals(fs.readFileSync(path.join(data, "clip", "b.bin")))).toBe(true)
    expect(fs.readdirSync(path.join(outB, "clip"))).toEqual(["a.bin"])
    console.log(`packed-package test: ${((Date.now() - started) / 1000).toFixed(1)} s`)
  }, 120_000)
})

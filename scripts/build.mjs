// node scripts/build.mjs: the program as one CommonJS bundle (esbuild, dist/bt-effect.cjs, with its source
// map), started by dist/main.js, which hands V8 a code cache made here (dist/bt-effect.cache).
//
// Why a bundle: started from the modules tsc emits, node resolved and compiled some 400 files of ours and
// of effect's packages at every start: about 1.1 s and 100 MB resident before a command did anything,
// against 0.4 s and 78 MB for a bundle.
//
// Why a code cache: compiling the 1.5 MB bundle was then the largest part of a start (0.14 of 0.39 s for
// `--version`). With V8's cache of what a start compiles, `--version` takes about 0.3 s and a download
// connects to its first peer about 0.08 s sooner. V8 takes a cache only from the same node version with
// the same flags, so it is made by running dist/main.js as users do (its shebang's flags), and where it
// does not fit (another node, `node --some-flag dist/main.js`), V8 refuses it and compiles as before.
// Nothing writes the cache but this script.
import * as esbuild from "esbuild"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"

/**
 * Node's flags for every start (the launcher's shebang), to keep V8's heap small. A download makes much
 * short-lived garbage: with Node's default (16 MiB semi-spaces) peak RSS on a 1 GiB download was 217-238
 * MB; with 2 MiB, 170-183 MB at the same speed and slightly less CPU (measured with aria2c seeding on
 * loopback). `--optimize-for-size` lets the old generation grow less between collections: 124-125 MB peak
 * instead of 133-150 MB on a 1 GiB download from bt-effect, for about 0.2 CPU seconds more per GiB (issue 9).
 */
const nodeFlags = "--max-semi-space-size=2 --optimize-for-size"

/** `entry` bundled for node as one CommonJS file, with its source map. */
const bundleForNode = (entry, outfile) =>
  esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    sourcemap: true,
    logLevel: "warning"
  })

fs.rmSync("dist", { recursive: true, force: true })

// The type check of src (but the web client's, which has its own), which also writes the library's
// declarations (dist/types): one pass of tsc for both.
const checked = spawnSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" })
if (checked.status !== 0) process.exit(checked.status ?? 1)

await bundleForNode("src/main.ts", "dist/bt-effect.cjs")

// The library (`import ... from "bt-effect"`, and "bt-effect/testing"): ES modules for node, their shared
// code in one chunk. Effect's packages stay outside (dependencies resolved by the program's node_modules):
// a program's own `effect` must be the very copy the library uses, or its Layers, Tags and Streams would
// not compose with ours.
await esbuild.build({
  entryPoints: { index: "src/library/index.ts", testing: "src/library/testing.ts" },
  outdir: "dist/lib",
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  external: ["effect", "@effect/*"],
  logLevel: "warning"
})

// The worker threads as files of their own, since a worker thread starts from a file: the hashing worker
// of `create` and the threads that check downloaded pieces. The bundle names them beside itself
// (src/main.ts); tests start them from dist/.
await bundleForNode("src/services/create/HashWorker.ts", "dist/hash-worker.cjs")
await bundleForNode("src/services/pieces/DigestWorker.ts", "dist/digest-worker.cjs")

// The daemon's web interface (src/web): its script and its style sheet bundled for browsers, and its page,
// into dist/web/, the folder the daemon serves (src/main.ts names it). Not minified: it is small, and
// readable in the browser as it is.
await esbuild.build({
  entryPoints: [{ in: "src/web/main.ts", out: "app" }, { in: "src/web/style.css", out: "app" }],
  outdir: "dist/web",
  bundle: true,
  platform: "browser",
  format: "iife",
  target: "es2020",
  logLevel: "warning"
})
fs.copyFileSync("src/web/index.html", "dist/web/index.html")

// The launcher: compiles the bundle with the cache when there is one, and runs it as node would run a
// CommonJS module. BT_EFFECT_WRITE_CODE_CACHE is this script's, below.
fs.writeFileSync(
  "dist/main.js",
  `#!/usr/bin/env -S node ${nodeFlags}
import * as fs from "node:fs"
import Module from "node:module"
import * as vm from "node:vm"
import { fileURLToPath } from "node:url"

const file = fileURLToPath(new URL("./bt-effect.cjs", import.meta.url))
const cacheFile = fileURLToPath(new URL("./bt-effect.cache", import.meta.url))
const writeCache = process.env.BT_EFFECT_WRITE_CODE_CACHE === "1"
let cachedData
try {
  if (!writeCache) cachedData = fs.readFileSync(cacheFile)
} catch {}
const script = new vm.Script(Module.wrap(fs.readFileSync(file, "utf8")), { filename: file, ...(cachedData ? { cachedData } : {}) })
if (writeCache) process.once("exit", () => fs.writeFileSync(cacheFile, script.createCachedData()))
const module = { exports: {} }
script.runInThisContext().call(module.exports, module.exports, Module.createRequire(file), module, file, fileURLToPath(new URL(".", import.meta.url)))
`
)
fs.chmodSync("dist/main.js", 0o755)

// The cache, from a start as users make it (the shebang's flags): what \`--version\` compiles.
const made = spawnSync("dist/main.js", ["--version"], { env: { ...process.env, BT_EFFECT_WRITE_CODE_CACHE: "1" }, encoding: "utf8" })
if (made.status !== 0 || !fs.existsSync("dist/bt-effect.cache")) {
  console.warn(`build: no code cache (${made.error?.message ?? made.stderr.trim()}); starts compile the bundle`)
}

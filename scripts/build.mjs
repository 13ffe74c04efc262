// node scripts/build.mjs: dist/main.js, the program as one ES module (esbuild), with its source map.
//
// Why a bundle: started from the modules tsc emits, node resolved and compiled some 400 files of ours and
// of effect's packages at every start: about 1.1 s and 100 MB resident before a command did anything,
// against 0.4 s and 78 MB for the bundle. The type check stays tsc's (`npm run build` runs it first).
import * as esbuild from "esbuild"
import * as fs from "node:fs"

const outfile = "dist/main.js"
fs.rmSync("dist", { recursive: true, force: true })
await esbuild.build({
  entryPoints: ["src/main.ts"],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: true,
  // The CommonJS parts of the dependencies call require(), which an ES module lacks.
  banner: { js: 'import { createRequire as __btEffectRequire } from "node:module"; const require = __btEffectRequire(import.meta.url);' },
  logLevel: "warning"
})
fs.chmodSync(outfile, 0o755)

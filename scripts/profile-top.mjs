// node scripts/profile-top.mjs FILE.cpuprofile [--top 40]
//
// Where a V8 CPU profile (`node --cpu-prof`, or `npm run bench -- --profile DIR`) spent its time: the
// functions with the most self time, then the most inclusive time (self plus everything they called),
// each as a share of all samples, with file and line. Idle and GC are shown as V8 names them
// ("(idle)", "(garbage collector)", "(program)").
import * as fs from "node:fs"
import * as path from "node:path"
import { parseArgs } from "node:util"

const { values: flags, positionals } = parseArgs({ options: { top: { type: "string", default: "40" } }, allowPositionals: true })
if (positionals.length !== 1) {
  console.error("usage: node scripts/profile-top.mjs FILE.cpuprofile [--top 40]")
  process.exit(2)
}
const top = Number(flags.top)
const profile = JSON.parse(fs.readFileSync(positionals[0], "utf8"))
const nodes = new Map(profile.nodes.map((node) => [node.id, node]))

// Self time per node from the samples and their time deltas (microseconds).
const selfMicros = new Map()
let totalMicros = 0
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + delta)
  totalMicros += delta
})

const nameOf = (node) => {
  const frame = node.callFrame
  const file = frame.url === "" ? "" : ` ${path.basename(frame.url)}:${frame.lineNumber + 1}`
  return `${frame.functionName === "" ? "(anonymous)" : frame.functionName}${file}`
}

const parents = new Map()
for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id)

// Inclusive time: a sample counts once for every distinct function on its stack.
const selfByName = new Map()
const totalByName = new Map()
for (const [id, micros] of selfMicros) {
  const leaf = nodes.get(id)
  selfByName.set(nameOf(leaf), (selfByName.get(nameOf(leaf)) ?? 0) + micros)
  const seen = new Set()
  for (let at = id; at !== undefined; at = parents.get(at)) {
    const name = nameOf(nodes.get(at))
    if (seen.has(name)) continue
    seen.add(name)
    totalByName.set(name, (totalByName.get(name) ?? 0) + micros)
  }
}

const print = (title, byName) => {
  console.log(`\n${title}`)
  const rows = [...byName].sort((a, b) => b[1] - a[1]).slice(0, top)
  for (const [name, micros] of rows) {
    console.log(`${(micros / 1e6).toFixed(2).padStart(7)} s ${((100 * micros) / totalMicros).toFixed(1).padStart(5)}%  ${name}`)
  }
}
console.log(`${positionals[0]}: ${(totalMicros / 1e6).toFixed(2)} s sampled`)
print("self time", selfByName)
print("inclusive time", totalByName)

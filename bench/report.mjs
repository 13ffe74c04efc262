// The benchmark's output: a line per download, and markdown tables of the medians over the runs that
// succeeded: the default run's two tables (download, upload) or, with `--rows`, one table of the rows and
// one of the uploads rows.
const GiB = 2 ** 30

const median = (xs) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
export const fmt = (x, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a")

const summary = (results, job) => {
  const rows = results.filter((r) => r.job === job)
  const good = rows.filter((r) => r.ok)
  if (rows.length === 0) return undefined
  const med = (key) => median(good.map((r) => r[key]))
  return {
    runs: `${good.length}/${rows.length}`, size: rows[0].size, files: rows[0].files,
    seconds: med("seconds"), mbps: med("mbps"), transferSeconds: med("transferSeconds"), transferMbps: med("transferMbps"),
    cpu: med("cpu"), rssMB: med("rssMB"), udpDrops: med("udpDrops"),
    seederCpu: med("seederCpu"), seederRssMB: med("seederRssMB")
  }
}

// ------------------------------------------------------------------------------------------------------
// The default run's tables

/** A markdown table: one row per [label, job] (or a "skipped" row), ratios against the aria2c job. */
const table = (results, skipped, header, rows, cells) => {
  const aria = summary(results, "aria2c")
  const lines = [`| ${header.join(" | ")} | time ratio | MB/s ratio |`, `|${"---|".repeat(header.length + 2)}`]
  for (const [label, job] of rows) {
    if (skipped.has(job)) {
      lines.push(`| ${label} | skipped: ${skipped.get(job)} |${" |".repeat(header.length)}`)
      continue
    }
    const s = summary(results, job)
    if (s === undefined) continue
    const ratio = (a, b) => (aria === undefined ? "n/a" : fmt(a / b))
    lines.push(`| ${label} | ${s.runs} | ${cells(s).join(" | ")} | ${ratio(s.seconds, aria?.seconds)} | ${ratio(s.mbps, aria?.mbps)} |`)
  }
  return lines.join("\n")
}

export const downloadTable = (results, skipped) =>
  table(results, skipped,
    ["client", "ok runs", "seconds", "MB/s", "CPU s (user+sys)", "peak RSS MB", "seeder CPU s"],
    [["bt-effect", "bt-effect"], ["aria2c", "aria2c"]],
    (s) => [fmt(s.seconds), fmt(s.mbps, 1), fmt(s.cpu), fmt(s.rssMB, 1), fmt(s.seederCpu)])

export const uploadTable = (results, skipped) =>
  table(results, skipped,
    ["seeder (aria2c downloads)", "ok runs", "seconds", "MB/s", "downloader CPU s", "seeder CPU s", "seeder peak RSS MB"],
    [["bt-effect", "bt-effect seeder"], ["aria2c", "aria2c"]],
    (s) => [fmt(s.seconds), fmt(s.mbps, 1), fmt(s.cpu), fmt(s.seederCpu), fmt(s.seederRssMB, 1)])

/** The default run's line per download. */
export const legacyLine = (r) => {
  const label = r.job === "bt-effect seeder" ? "aria2c <- bt-effect seeder" : r.job
  return `${label} run ${r.run}: ${fmt(r.seconds)} s, ${fmt(r.mbps, 1)} MB/s, CPU ${fmt(r.cpu)} s, ` +
    `peak RSS ${fmt(r.rssMB, 1)} MB, seeder CPU ${fmt(r.seederCpu)} s, seeder peak RSS ${fmt(r.seederRssMB, 1)} MB, ` +
    `exit ${r.code}${r.timedOut ? " (timed out)" : ""}, sha256 ${r.verified}`
}

// ------------------------------------------------------------------------------------------------------
// `--rows`: one table

const payloadText = (size, files) =>
  `${size % GiB === 0 ? `${size / GiB} GiB` : `${fmt(size / 2 ** 20, 0)} MiB`}, ${files} file${files === 1 ? "" : "s"}`

/** The `--rows` line per download: the downloader's figures (for an upload row, its transfer too), then each seeder's. */
export const rowLine = (spec, r) => {
  const gib = r.size / GiB
  const seeders = r.seeders.map((s) => `${s.name} ${fmt(s.cpu)} s ${fmt(s.rssMB, 1)} MB`).join(", ")
  const transfer = spec.upload ? ` (transfer ${fmt(r.transferSeconds)} s, ${fmt(r.transferMbps, 1)} MB/s)` : ""
  return `${spec.label}${spec.host === undefined ? "" : ` on ${spec.host}`} run ${r.run}: ` +
    `${fmt(r.seconds)} s, ${fmt(r.mbps, 1)} MB/s${transfer}, CPU ${fmt(r.cpu)} s (${fmt(r.cpu / gib)} s/GiB), ` +
    `peak RSS ${fmt(r.rssMB, 1)} MB; seeders (CPU, peak RSS): ${seeders}; ` +
    `${r.udpDrops === undefined ? "" : `UDP receive-buffer drops (whole machine) ${fmt(r.udpDrops, 0)}; `}` +
    `exit ${r.code}${r.timedOut ? " (timed out)" : ""}, sha256 ${r.verified}`
}

/**
 * Every selected job's row; "MB/s ÷ aria2c" divides by its baseline aria2c job's MB/s, "MB/s ÷ floor"
 * (when the floor row ran) by the floor's: how near each comes to what the machine does without BitTorrent;
 * "MB/s ÷ TCP" (when a uTP row is in the table) a uTP job's by its TCP counterpart's in the same run, and
 * "UDP drops" the datagrams the machine dropped for a full receive buffer during each "utp" job.
 */
export const rowsTable = (results, skipped, specs) => {
  const floor = summary(results, "floor")
  const overTcp = specs.some((spec) => spec.tcp !== undefined)
  const header = ["row (downloader ← seeders)", "payload", "ok runs", "seconds", "MB/s", "MB/s ÷ aria2c",
    ...(floor === undefined ? [] : ["MB/s ÷ floor"]), ...(overTcp ? ["MB/s ÷ TCP"] : []), "CPU s/GiB", "peak RSS MB", "seeders' CPU s/GiB", "seeder peak RSS MB",
    ...(overTcp ? ["UDP drops"] : [])]
  const lines = [`| ${header.join(" | ")} |`, `|${"---|".repeat(header.length)}`]
  for (const spec of specs) {
    if (skipped.has(spec.job)) {
      lines.push(`| ${spec.label} | | skipped: ${skipped.get(spec.job)} |${" |".repeat(header.length - 3)}`)
      continue
    }
    const s = summary(results, spec.job)
    if (s === undefined) continue
    const base = summary(results, spec.baseline)
    const tcp = spec.tcp === undefined ? undefined : summary(results, spec.tcp)
    const gib = s.size / GiB
    lines.push(`| ${[spec.label, payloadText(s.size, s.files), s.runs, fmt(s.seconds), fmt(s.mbps, 1),
      base === undefined ? "n/a" : fmt(s.mbps / base.mbps), ...(floor === undefined ? [] : [fmt(s.mbps / floor.mbps)]),
      ...(!overTcp ? [] : spec.tcp === undefined ? [""] : [tcp === undefined ? "n/a" : fmt(s.mbps / tcp.mbps)]),
      fmt(s.cpu / gib), fmt(s.rssMB, 1),
      fmt(s.seederCpu / gib), fmt(s.seederRssMB, 1), ...(!overTcp ? [] : [spec.row === "utp" ? fmt(s.udpDrops, 0) : ""])].join(" | ")} |`)
  }
  return lines.join("\n")
}

/**
 * The uploads rows: per leecher, from the bt-effect seeder and from the aria2c seeder. "÷ aria2c seeder"
 * divides the transfer MB/s by the same leecher's from the aria2c seeder. The seeder's CPU and peak RSS
 * are over the job (from the leecher's start to its exit).
 */
export const uploadsTable = (results, skipped, specs) => {
  const header = ["leecher ← seeder", "leecher on", "payload", "ok runs", "wall s", "transfer s", "transfer MB/s",
    "÷ aria2c seeder", "leecher CPU s/GiB", "leecher peak RSS MB", "seeder CPU s/GiB", "seeder peak RSS MB"]
  const lines = [`| ${header.join(" | ")} |`, `|${"---|".repeat(header.length)}`]
  for (const spec of specs) {
    if (skipped.has(spec.job)) {
      lines.push(`| ${spec.label} | ${spec.host} | | skipped: ${skipped.get(spec.job)} |${" |".repeat(header.length - 4)}`)
      continue
    }
    const s = summary(results, spec.job)
    if (s === undefined) continue
    const base = summary(results, spec.baseline)
    const gib = s.size / GiB
    lines.push(`| ${[spec.label, spec.host, payloadText(s.size, s.files), s.runs, fmt(s.seconds), fmt(s.transferSeconds),
      fmt(s.transferMbps, 1), base === undefined ? "n/a" : fmt(s.transferMbps / base.transferMbps), fmt(s.cpu / gib),
      fmt(s.rssMB, 1), fmt(s.seederCpu / gib), fmt(s.seederRssMB, 1)].join(" | ")} |`)
  }
  return lines.join("\n")
}

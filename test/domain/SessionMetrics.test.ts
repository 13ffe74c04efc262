/**
 * The `/metrics` page in Prometheus' text format 0.0.4: the exact page for a small session (written out by
 * hand), label values escaped, every torrent state counted (and present at 0), and, for any torrents at
 * all, a page that a strict little parser of the format accepts: valid names, one HELP and one TYPE before
 * each family's samples, a family's samples together, no series twice, values Go's ParseFloat reads.
 */
import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import {
  escapeLabelValue,
  type MetricsInput,
  type MetricsTorrent,
  prometheusText,
  torrentState,
  torrentStates
} from "../../src/domain/SessionMetrics.js"
import { type SessionSettings, type SessionStats, settingDefaults, Status } from "../../src/domain/SessionView.js"

const hashA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
const hashB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

const torrent = (overrides: Partial<MetricsTorrent> = {}): MetricsTorrent => ({
  id: 1,
  hashString: hashA,
  name: "ubuntu.iso",
  status: Status.Download,
  hasMetadata: true,
  error: 0,
  percentDone: 0.5,
  totalSize: 2000,
  downloadedEver: 1000,
  uploadedEver: 300,
  rateDownload: 1500,
  rateUpload: 250,
  peersConnected: 3,
  trackers: [{ state: "working" }, { state: "failed" }],
  ...overrides
})

const settings: SessionSettings = {
  ...settingDefaults,
  downloadDir: "/data",
  peerPort: 6881,
  dhtEnabled: true,
  utpEnabled: true,
  tcpEnabled: true,
  version: "0.1.0",
  configDir: "/state",
  cacheSizeMb: 4,
  incompleteDir: "/data/incomplete",
  speedLimitDown: 500_000
}

const stats: SessionStats = {
  activeTorrentCount: 2,
  pausedTorrentCount: 0,
  torrentCount: 2,
  downloadSpeed: 1500,
  uploadSpeed: 950,
  downloadedBytes: 5096,
  uploadedBytes: 8492,
  downloadedSession: 96,
  uploadedSession: 492,
  secondsActive: 3600
}

const input = (torrents: ReadonlyArray<MetricsTorrent>, overrides: Partial<MetricsInput> = {}): MetricsInput => ({
  stats,
  torrents,
  settings,
  ...overrides
})

interface ParsedSample {
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}
interface ParsedFamily {
  help?: string
  type?: string
  readonly samples: Array<ParsedSample>
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const floatValue = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/
const types = new Set(["counter", "gauge", "histogram", "summary", "untyped"])

/** The labels of a sample from `{` on: names, `=`, quoted values with only `\\`, `\"` and `\n` escaped. */
const parseLabels = (text: string, line: string): { labels: Record<string, string>; rest: string } => {
  const labels: Record<string, string> = {}
  let at = 1
  while (text[at] !== "}") {
    const eq = text.indexOf("=", at)
    const name = text.slice(at, eq)
    if (eq < 0 || !labelName.test(name) || name.startsWith("__")) throw new Error(`bad label name in: ${line}`)
    if (name in labels) throw new Error(`label ${name} twice in: ${line}`)
    if (text[eq + 1] !== "\"") throw new Error(`unquoted label value in: ${line}`)
    let value = ""
    at = eq + 2
    for (; text[at] !== "\""; at++) {
      if (at >= text.length) throw new Error(`unterminated label value in: ${line}`)
      if (text[at] !== "\\") {
        value += text[at]
        continue
      }
      const escaped = text[++at]
      if (escaped === "\\" || escaped === "\"") value += escaped
      else if (escaped === "n") value += "\n"
      else throw new Error(`bad escape in: ${line}`)
    }
    labels[name] = value
    at++
    if (text[at] === ",") at++
    else if (text[at] !== "}") throw new Error(`expected , or } in: ${line}`)
  }
  return { labels, rest: text.slice(at + 1) }
}

/** The page read as strictly as 0.0.4 allows (and no timestamps, which we never write). */
const parse = (page: string): Map<string, ParsedFamily> => {
  if (!page.endsWith("\n")) throw new Error("no final newline")
  const families = new Map<string, ParsedFamily>()
  const series = new Set<string>()
  let current: string | undefined
  const family = (name: string): ParsedFamily => {
    if (!metricName.test(name)) throw new Error(`bad metric name: ${name}`)
    if (current !== name && families.has(name)) throw new Error(`family ${name} broken up`)
    current = name
    const found = families.get(name) ?? { samples: [] }
    families.set(name, found)
    return found
  }
  for (const line of page.slice(0, -1).split("\n")) {
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (comment !== null) {
      const f = family(comment[2]!)
      if (f.samples.length > 0) throw new Error(`${comment[1]} after samples: ${line}`)
      if (comment[1] === "HELP") {
        if (f.help !== undefined) throw new Error(`second HELP: ${line}`)
        if (/\\(?!n)/.test(comment[3]!.replace(/\\\\/g, ""))) throw new Error(`bad escape in HELP: ${line}`)
        f.help = comment[3]!
      } else {
        if (f.type !== undefined || !types.has(comment[3]!)) throw new Error(`bad or second TYPE: ${line}`)
        f.type = comment[3]!
      }
      continue
    }
    if (line.startsWith("#")) throw new Error(`unexpected comment: ${line}`)
    const name = /^[^{ ]*/.exec(line)![0]
    const f = family(name)
    if (f.help === undefined || f.type === undefined) throw new Error(`sample before HELP and TYPE: ${line}`)
    if (f.type === "counter" && !name.endsWith("_total")) throw new Error(`counter without _total: ${name}`)
    const after = line.slice(name.length)
    const { labels, rest } = after.startsWith("{") ? parseLabels(after, line) : { labels: {}, rest: after }
    if (!rest.startsWith(" ") || !floatValue.test(rest.slice(1))) throw new Error(`bad value in: ${line}`)
    const key = JSON.stringify([name, Object.entries(labels).sort()])
    if (series.has(key)) throw new Error(`series twice: ${line}`)
    series.add(key)
    f.samples.push({ labels, value: Number(rest.slice(1).replace("Inf", "Infinity")) })
  }
  for (const [name, f] of families) {
    if (f.help === undefined || f.type === undefined) throw new Error(`family ${name} without HELP or TYPE`)
  }
  return families
}

const valueOf = (families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number | undefined =>
  families.get(name)?.samples.find((s) => JSON.stringify(s.labels) === JSON.stringify(labels))?.value

describe("SessionMetrics", () => {
  it("writes the page of a small session exactly", () => {
    const page = prometheusText(input([
      torrent({ id: 2 }),
      torrent({
        id: 1,
        hashString: hashB,
        name: "music",
        status: Status.Seed,
        percentDone: 1,
        totalSize: 4096,
        downloadedEver: 4096,
        uploadedEver: 8192,
        rateDownload: 0,
        rateUpload: 700,
        peersConnected: 2,
        trackers: [{ state: "failed" }]
      })
    ]))
    const a = `{info_hash="${hashA}",name="ubuntu.iso"}`
    const b = `{info_hash="${hashB}",name="music"}`
    expect(page).toBe([
      "# HELP bt_effect_download_rate_bytes_per_second Download rate of the session.",
      "# TYPE bt_effect_download_rate_bytes_per_second gauge",
      "bt_effect_download_rate_bytes_per_second 1500",
      "# HELP bt_effect_upload_rate_bytes_per_second Upload rate of the session.",
      "# TYPE bt_effect_upload_rate_bytes_per_second gauge",
      "bt_effect_upload_rate_bytes_per_second 950",
      "# HELP bt_effect_downloaded_bytes_total Bytes downloaded by the torrents in the session, over their lifetimes.",
      "# TYPE bt_effect_downloaded_bytes_total counter",
      "bt_effect_downloaded_bytes_total 5096",
      "# HELP bt_effect_uploaded_bytes_total Bytes uploaded by the torrents in the session, over their lifetimes.",
      "# TYPE bt_effect_uploaded_bytes_total counter",
      "bt_effect_uploaded_bytes_total 8492",
      "# HELP bt_effect_peers_connected Peers connected, summed over the torrents.",
      "# TYPE bt_effect_peers_connected gauge",
      "bt_effect_peers_connected 5",
      "# HELP bt_effect_torrents Torrents in the session by state.",
      "# TYPE bt_effect_torrents gauge",
      "bt_effect_torrents{state=\"downloading\"} 1",
      "bt_effect_torrents{state=\"seeding\"} 1",
      "bt_effect_torrents{state=\"stopped\"} 0",
      "bt_effect_torrents{state=\"checking\"} 0",
      "bt_effect_torrents{state=\"queued\"} 0",
      "bt_effect_torrents{state=\"metadata\"} 0",
      "bt_effect_torrents{state=\"error\"} 0",
      "# HELP bt_effect_torrents_local_error Torrents with a local (disk) error.",
      "# TYPE bt_effect_torrents_local_error gauge",
      "bt_effect_torrents_local_error 0",
      "# HELP bt_effect_trackers_failed Trackers whose last announce failed, over all torrents.",
      "# TYPE bt_effect_trackers_failed gauge",
      "bt_effect_trackers_failed 2",
      "# HELP bt_effect_uptime_seconds Seconds the session has been running.",
      "# TYPE bt_effect_uptime_seconds gauge",
      "bt_effect_uptime_seconds 3600",
      "# HELP bt_effect_download_limit_bytes_per_second Download limit of the session in force (the alternative one while it is on); 0: none.",
      "# TYPE bt_effect_download_limit_bytes_per_second gauge",
      "bt_effect_download_limit_bytes_per_second 500000",
      "# HELP bt_effect_upload_limit_bytes_per_second Upload limit of the session in force (the alternative one while it is on); 0: none.",
      "# TYPE bt_effect_upload_limit_bytes_per_second gauge",
      "bt_effect_upload_limit_bytes_per_second 0",
      "# HELP bt_effect_torrent_progress_ratio Share of the wanted bytes verified, 0 to 1.",
      "# TYPE bt_effect_torrent_progress_ratio gauge",
      `bt_effect_torrent_progress_ratio${b} 1`,
      `bt_effect_torrent_progress_ratio${a} 0.5`,
      "# HELP bt_effect_torrent_size_bytes Size of the torrent's files (0 until a magnet's metadata is in).",
      "# TYPE bt_effect_torrent_size_bytes gauge",
      `bt_effect_torrent_size_bytes${b} 4096`,
      `bt_effect_torrent_size_bytes${a} 2000`,
      "# HELP bt_effect_torrent_downloaded_bytes_total Bytes downloaded over the torrent's lifetime.",
      "# TYPE bt_effect_torrent_downloaded_bytes_total counter",
      `bt_effect_torrent_downloaded_bytes_total${b} 4096`,
      `bt_effect_torrent_downloaded_bytes_total${a} 1000`,
      "# HELP bt_effect_torrent_uploaded_bytes_total Bytes uploaded over the torrent's lifetime.",
      "# TYPE bt_effect_torrent_uploaded_bytes_total counter",
      `bt_effect_torrent_uploaded_bytes_total${b} 8192`,
      `bt_effect_torrent_uploaded_bytes_total${a} 300`,
      "# HELP bt_effect_torrent_download_rate_bytes_per_second Download rate of the torrent.",
      "# TYPE bt_effect_torrent_download_rate_bytes_per_second gauge",
      `bt_effect_torrent_download_rate_bytes_per_second${b} 0`,
      `bt_effect_torrent_download_rate_bytes_per_second${a} 1500`,
      "# HELP bt_effect_torrent_upload_rate_bytes_per_second Upload rate of the torrent.",
      "# TYPE bt_effect_torrent_upload_rate_bytes_per_second gauge",
      `bt_effect_torrent_upload_rate_bytes_per_second${b} 700`,
      `bt_effect_torrent_upload_rate_bytes_per_second${a} 250`,
      "# HELP bt_effect_torrent_peers_connected Peers connected to the torrent.",
      "# TYPE bt_effect_torrent_peers_connected gauge",
      `bt_effect_torrent_peers_connected${b} 2`,
      `bt_effect_torrent_peers_connected${a} 3`,
      ""
    ].join("\n"))
    // The parser below accepts the page it was checked against.
    expect(parse(page).size).toBe(18)
  })

  it("escapes backslash, double quote and newline in a torrent's name, and nothing else", () => {
    const name = "say \"hi\" from C:\\dir\nnext line, {braces} = fine é"
    expect(escapeLabelValue(name)).toBe(String.raw`say \"hi\" from C:\\dir\nnext line, {braces} = fine é`)
    const page = prometheusText(input([torrent({ name })]))
    expect(page).toContain(
      String.raw`bt_effect_torrent_peers_connected{info_hash="${hashA}",name="say \"hi\" from C:\\dir\nnext line, {braces} = fine é"} 3` + "\n"
    )
    const families = parse(page)
    expect(valueOf(families, "bt_effect_torrent_size_bytes", { info_hash: hashA, name })).toBe(2000)
  })

  it("counts every torrent under one state, each state present even at 0", () => {
    const torrents = [
      torrent({ status: Status.Download }),
      torrent({ status: Status.Seed }),
      torrent({ status: Status.Stopped }),
      torrent({ status: Status.Check }),
      torrent({ status: Status.CheckWait }),
      torrent({ status: Status.DownloadWait }),
      torrent({ status: Status.SeedWait }),
      // A magnet fetching its metadata runs as a download.
      torrent({ status: Status.Download, hasMetadata: false }),
      // An error outranks what it is doing; only error 3 is a local one.
      torrent({ status: Status.Stopped, error: 3 }),
      torrent({ status: Status.Download, error: 3 }),
      torrent({ status: Status.Seed, error: 2 })
    ].map((t, i) => ({ ...t, id: i, hashString: i.toString(16).padStart(40, "0") }))
    expect(torrents.map(torrentState)).toEqual([
      "downloading", "seeding", "stopped", "checking", "checking", "queued", "queued", "metadata", "error", "error", "error"
    ])
    const families = parse(prometheusText(input(torrents)))
    const counts = Object.fromEntries(torrentStates.map((state) => [state, valueOf(families, "bt_effect_torrents", { state })]))
    expect(counts).toEqual({ downloading: 1, seeding: 1, stopped: 1, checking: 2, queued: 2, metadata: 1, error: 3 })
    expect(valueOf(families, "bt_effect_torrents_local_error")).toBe(2)
    expect(valueOf(families, "bt_effect_trackers_failed")).toBe(11)

    const empty = parse(prometheusText(input([])))
    expect(empty.get("bt_effect_torrents")!.samples.map((s) => [s.labels["state"], s.value])).toEqual(
      torrentStates.map((state) => [state, 0])
    )
    // A session without torrents still names its per torrent families, with no samples.
    expect(empty.get("bt_effect_torrent_progress_ratio")?.samples).toEqual([])
  })

  it("gives the limits in force: the alternative ones (kB/s) while they are on", () => {
    const families = parse(prometheusText(input([], { settings: { ...settings, altSpeedEnabled: true, altSpeedDown: 40, altSpeedUp: 12 } })))
    expect(valueOf(families, "bt_effect_download_limit_bytes_per_second")).toBe(40_000)
    expect(valueOf(families, "bt_effect_upload_limit_bytes_per_second")).toBe(12_000)
  })

  it("writes values Go's ParseFloat reads, and the parser refuses a broken page", () => {
    const page = prometheusText(input([torrent({ rateDownload: Infinity, rateUpload: Number.NaN, totalSize: 1e21, percentDone: 1 / 3 })]))
    expect(page).toContain(`bt_effect_torrent_download_rate_bytes_per_second{info_hash="${hashA}",name="ubuntu.iso"} +Inf\n`)
    expect(page).toContain(`bt_effect_torrent_upload_rate_bytes_per_second{info_hash="${hashA}",name="ubuntu.iso"} NaN\n`)
    expect(page).toContain(`bt_effect_torrent_size_bytes{info_hash="${hashA}",name="ubuntu.iso"} 1e+21\n`)
    expect(valueOf(parse(page), "bt_effect_torrent_progress_ratio", { info_hash: hashA, name: "ubuntu.iso" })).toBe(1 / 3)
    // The parser is not a rubber stamp: each of these breaks one rule of the format.
    const good = prometheusText(input([torrent()]))
    expect(() => parse(good.slice(0, -1))).toThrow("final newline")
    expect(() => parse(good.replace("name=\"ubuntu.iso\"", "name=\"a\"b\""))).toThrow()
    expect(() => parse(good.replace("name=\"ubuntu.iso\"", "name=\"a\\tb\""))).toThrow("bad escape")
    expect(() => parse(good.replace("# TYPE bt_effect_uptime_seconds gauge\n", ""))).toThrow("before HELP and TYPE")
    expect(() => parse(good + "bt_effect_uptime_seconds 1\n")).toThrow("broken up")
    expect(() => parse(good.replace("bt_effect_uptime_seconds 3600", "bt_effect_uptime_seconds 3600\nbt_effect_uptime_seconds 1"))).toThrow("twice")
    expect(() => parse(good.replace("bt_effect_uptime_seconds 3600", "bt_effect_uptime_seconds 1,5"))).toThrow("bad value")
    expect(() => parse(good.replaceAll("bt_effect_downloaded_bytes_total", "bt_effect_downloaded_bytes"))).toThrow("_total")
    expect(() => parse(good.replaceAll("bt_effect_uptime_seconds", "bt-effect-uptime"))).toThrow("bad metric name")
  })

  const status = FastCheck.constantFrom(...Object.values(Status))
  const number = FastCheck.oneof(FastCheck.nat(), FastCheck.double(), FastCheck.constant(Number.MAX_SAFE_INTEGER))
  const arbitraryTorrent = FastCheck.record({
    id: FastCheck.nat(),
    hashString: FastCheck.stringMatching(/^[0-9a-f]{40}$/),
    // Any text, and text dense in what must be escaped (and in what must not be).
    name: FastCheck.oneof(FastCheck.fullUnicodeString(), FastCheck.string({ unit: FastCheck.constantFrom("\\", "\"", "\n", "n", "}", ",", "=", " ") })),
    status,
    hasMetadata: FastCheck.boolean(),
    error: FastCheck.constantFrom(0, 1, 2, 3),
    percentDone: FastCheck.double({ min: 0, max: 1, noNaN: true }),
    totalSize: number,
    downloadedEver: number,
    uploadedEver: number,
    rateDownload: number,
    rateUpload: number,
    peersConnected: FastCheck.nat({ max: 500 }),
    trackers: FastCheck.array(FastCheck.record({ state: FastCheck.constantFrom("working", "failed", "waiting", "idle") }), { maxLength: 4 })
  })

  it.prop(
    "any torrents give a page that parses, with every torrent counted and its name given back",
    [FastCheck.uniqueArray(arbitraryTorrent, { selector: (t) => t.hashString, maxLength: 8 })],
    ([torrents]) => {
      const families = parse(prometheusText(input(torrents)))
      expect(families.size).toBe(18)
      const states = families.get("bt_effect_torrents")!.samples
      expect(states.map((s) => s.labels["state"])).toEqual([...torrentStates])
      expect(states.reduce((n, s) => n + s.value, 0)).toBe(torrents.length)
      for (const t of torrents) {
        expect(valueOf(families, "bt_effect_torrent_peers_connected", { info_hash: t.hashString, name: t.name })).toBe(t.peersConnected)
      }
      expect(valueOf(families, "bt_effect_trackers_failed")).toBe(
        torrents.flatMap((t) => t.trackers).filter((tr) => tr.state === "failed").length
      )
    },
    { fastCheck: { numRuns: 300 } }
  )
})

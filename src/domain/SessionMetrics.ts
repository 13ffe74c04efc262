/**
 * The session's figures as Prometheus reads them: the text exposition format 0.0.4 that the daemon serves
 * at `/metrics`. Pure: the session's views, totals and settings in, the page out, so that the format's
 * rules (one HELP and one TYPE before each family's samples, each family's samples together, label values
 * escaped, a final newline) are held in one place and tested without a server.
 *
 * Names follow Prometheus' conventions: the `bt_effect_` prefix, the unit in the name (`_bytes`, `_seconds`,
 * `_ratio`, `_bytes_per_second`), `_total` on counters. The session families come first, then a few per
 * torrent, labelled by `info_hash` and `name`; the info hash alone tells torrents apart, the name is for
 * people reading a dashboard.
 */
import { effectiveLimits, type SessionSettings, type SessionStats, Status, type TorrentView, type TrackerView } from "./SessionView.js"

/** What the page reads of a torrent's view (a TorrentView is one): named so that nothing else is asked of a caller. */
export type MetricsTorrent =
  & Pick<
    TorrentView,
    | "id" | "hashString" | "name" | "status" | "hasMetadata" | "error" | "percentDone" | "totalSize"
    | "downloadedEver" | "uploadedEver" | "rateDownload" | "rateUpload" | "peersConnected"
  >
  & { readonly trackers: ReadonlyArray<Pick<TrackerView, "state">> }

export interface MetricsInput {
  readonly stats: SessionStats
  readonly torrents: ReadonlyArray<MetricsTorrent>
  /** For the speed limits in force. */
  readonly settings: SessionSettings
}

/** The states a torrent is counted under, every one of them present in the page even when none is in it. */
export const torrentStates = ["downloading", "seeding", "stopped", "checking", "queued", "metadata", "error"] as const
export type TorrentState = (typeof torrentStates)[number]

/**
 * One state per torrent. An error outranks everything (a torrent in error needs a person whatever it was
 * doing); a stopped one is stopped; a check waiting for its turn counts as checking, a download or seed
 * waiting for a slot as queued; a running magnet still fetching its info dictionary is `metadata`.
 */
export const torrentState = (v: Pick<TorrentView, "status" | "error" | "hasMetadata">): TorrentState => {
  if (v.error !== 0) return "error"
  switch (v.status) {
    case Status.Stopped:
      return "stopped"
    case Status.CheckWait:
    case Status.Check:
      return "checking"
    case Status.DownloadWait:
    case Status.SeedWait:
      return "queued"
    case Status.Download:
      return v.hasMetadata ? "downloading" : "metadata"
    case Status.Seed:
      return v.hasMetadata ? "seeding" : "metadata"
  }
}

/** Transmission's error type for a local (disk) error. */
const localError = 3

type Labels = ReadonlyArray<readonly [name: string, value: string]>

interface Sample {
  readonly labels: Labels
  readonly value: number
}

interface Family {
  readonly name: string
  readonly type: "counter" | "gauge"
  readonly help: string
  readonly samples: ReadonlyArray<Sample>
}

/** A label value as the format wants it: backslash, double quote and line feed escaped, nothing else. */
export const escapeLabelValue = (value: string): string =>
  value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")

/** HELP text escapes backslash and line feed only (a double quote stands as it is there). */
const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

/** A value as Go's ParseFloat reads it: the infinities and NaN in the format's spelling. */
export const formatValue = (value: number): string =>
  Number.isNaN(value) ? "NaN" : value === Infinity ? "+Inf" : value === -Infinity ? "-Inf" : String(value)

const sampleLine = (name: string, sample: Sample): string => {
  const labels = sample.labels.length === 0
    ? ""
    : `{${sample.labels.map(([label, value]) => `${label}="${escapeLabelValue(value)}"`).join(",")}}`
  return `${name}${labels} ${formatValue(sample.value)}\n`
}

const familyText = (family: Family): string =>
  `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n` +
  family.samples.map((sample) => sampleLine(family.name, sample)).join("")

const single = (name: string, type: Family["type"], help: string, value: number): Family => ({
  name,
  type,
  help,
  samples: [{ labels: [], value }]
})

const sum = (views: ReadonlyArray<MetricsTorrent>, of: (v: MetricsTorrent) => number): number =>
  views.reduce((total, v) => total + of(v), 0)

const sessionFamilies = ({ settings, stats, torrents }: MetricsInput): ReadonlyArray<Family> => {
  const limits = effectiveLimits(settings)
  const states = torrents.map(torrentState)
  return [
    single("bt_effect_download_rate_bytes_per_second", "gauge", "Download rate of the session.", stats.downloadSpeed),
    single("bt_effect_upload_rate_bytes_per_second", "gauge", "Upload rate of the session.", stats.uploadSpeed),
    // The stats' totals are the lifetime totals of the torrents in the session now: removing a torrent takes
    // its bytes away, which Prometheus reads as a counter reset.
    single("bt_effect_downloaded_bytes_total", "counter", "Bytes downloaded by the torrents in the session, over their lifetimes.", stats.downloadedBytes),
    single("bt_effect_uploaded_bytes_total", "counter", "Bytes uploaded by the torrents in the session, over their lifetimes.", stats.uploadedBytes),
    single("bt_effect_peers_connected", "gauge", "Peers connected, summed over the torrents.", sum(torrents, (v) => v.peersConnected)),
    {
      name: "bt_effect_torrents",
      type: "gauge",
      help: "Torrents in the session by state.",
      samples: torrentStates.map((state) => ({ labels: [["state", state]], value: states.filter((s) => s === state).length }))
    },
    single("bt_effect_torrents_local_error", "gauge", "Torrents with a local (disk) error.", torrents.filter((v) => v.error === localError).length),
    single("bt_effect_trackers_failed", "gauge", "Trackers whose last announce failed, over all torrents.", sum(torrents, (v) => v.trackers.filter((t) => t.state === "failed").length)),
    single("bt_effect_uptime_seconds", "gauge", "Seconds the session has been running.", stats.secondsActive),
    single("bt_effect_download_limit_bytes_per_second", "gauge", "Download limit of the session in force (the alternative one while it is on); 0: none.", limits.down),
    single("bt_effect_upload_limit_bytes_per_second", "gauge", "Upload limit of the session in force (the alternative one while it is on); 0: none.", limits.up)
  ]
}

/** The few figures kept per torrent: a dashboard's table, not the whole of torrent-get. */
const perTorrent: ReadonlyArray<{ readonly name: string; readonly type: Family["type"]; readonly help: string; readonly of: (v: MetricsTorrent) => number }> = [
  { name: "bt_effect_torrent_progress_ratio", type: "gauge", help: "Share of the wanted bytes verified, 0 to 1.", of: (v) => v.percentDone },
  { name: "bt_effect_torrent_size_bytes", type: "gauge", help: "Size of the torrent's files (0 until a magnet's metadata is in).", of: (v) => v.totalSize },
  { name: "bt_effect_torrent_downloaded_bytes_total", type: "counter", help: "Bytes downloaded over the torrent's lifetime.", of: (v) => v.downloadedEver },
  { name: "bt_effect_torrent_uploaded_bytes_total", type: "counter", help: "Bytes uploaded over the torrent's lifetime.", of: (v) => v.uploadedEver },
  { name: "bt_effect_torrent_download_rate_bytes_per_second", type: "gauge", help: "Download rate of the torrent.", of: (v) => v.rateDownload },
  { name: "bt_effect_torrent_upload_rate_bytes_per_second", type: "gauge", help: "Upload rate of the torrent.", of: (v) => v.rateUpload },
  { name: "bt_effect_torrent_peers_connected", type: "gauge", help: "Peers connected to the torrent.", of: (v) => v.peersConnected }
]

const torrentFamilies = (torrents: ReadonlyArray<MetricsTorrent>): ReadonlyArray<Family> => {
  // In the order of their ids, so that the page is the same for the same session.
  const ordered = [...torrents].sort((a, b) => a.id - b.id)
  return perTorrent.map(({ help, name, of, type }) => ({
    name,
    type,
    help,
    samples: ordered.map((v) => ({ labels: [["info_hash", v.hashString], ["name", v.name]], value: of(v) }))
  }))
}

/** The page served at `/metrics` (Content-Type `text/plain; version=0.0.4; charset=utf-8`). */
export const prometheusText = (input: MetricsInput): string =>
  [...sessionFamilies(input), ...torrentFamilies(input.torrents)].map(familyText).join("")

/** The Content-Type of the page, for the route that serves it. */
export const prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

/**
 * What `bt-effect info` shows of a torrent: a text report for people and a JSON document for programs.
 * For v2 and hybrid torrents (BEP 52) also the v2 info hash (and its first 20 bytes, which name the torrent
 * on the wire and in trackers' and the DHT's v2 announces), the meta version, each file's pieces root
 * and how many hashes the piece layers hold.
 */
import { toHex } from "../../domain/InfoHash.js"
import { type Metainfo, trackerTiers } from "../../domain/Metainfo.js"
import { formatBytes } from "../../domain/Units.js"

const sizeWithBytes = (n: number) => (n < 1024 ? `${n} B` : `${formatBytes(n)} (${n} bytes)`)

const versionText = (m: Metainfo) =>
  m.version === "v1" ? "v1" : m.version === "hybrid" ? "hybrid v1 + v2" : "v2 only"

/** The path as written on disk, relative to the download folder. */
const diskPath = (m: Metainfo, path: ReadonlyArray<string>) => (m.multiFile ? [m.safeName, ...path] : path).join("/")

/** The v2 info hash cut to 20 bytes, as v2 peers, trackers and the DHT use it. */
const truncatedV2 = (m: Metainfo) => (m.infoHashV2 === undefined ? null : toHex(m.infoHashV2.subarray(0, 20)))

export const infoJson = (m: Metainfo) => ({
  name: m.name,
  infoHash: m.infoHash === undefined ? null : toHex(m.infoHash),
  infoHashV2: m.infoHashV2 === undefined ? null : toHex(m.infoHashV2),
  infoHashV2Truncated: truncatedV2(m),
  version: m.version,
  metaVersion: m.version === "v1" ? 1 : 2,
  ...(m.version !== "v1" ? { pieceLayerHashes: m.pieceLayerHashes ?? 0 } : {}),
  pieceLength: m.pieceLength,
  pieceCount: m.pieceCount,
  totalLength: m.totalLength,
  private: m.private,
  files: m.files.map((f, i) => ({
    number: i + 1,
    path: diskPath(m, f.path),
    originalPath: f.displayPath,
    length: f.length,
    ...(f.pad ? { pad: true } : {}),
    ...(f.attr !== "" ? { attr: f.attr } : {}),
    ...(m.version !== "v1" && !f.pad ? { piecesRoot: f.piecesRoot === undefined ? null : toHex(f.piecesRoot) } : {})
  })),
  trackers: trackerTiers(m),
  webSeeds: m.urlList,
  comment: m.comment ?? null,
  createdBy: m.createdBy ?? null,
  creationDate: m.creationDate ?? null,
  warnings: m.warnings
})

export const infoText = (m: Metainfo): string => {
  const lines: Array<string> = []
  const row = (label: string, value: string) => lines.push(`${(label === "" ? "" : label + ":").padEnd(14)}${value}`)
  row("name", m.name)
  if (m.infoHash !== undefined) row("info hash", toHex(m.infoHash))
  if (m.infoHashV2 !== undefined) row("info hash v2", toHex(m.infoHashV2))
  if (m.infoHashV2 !== undefined) row("v2, 20 bytes", truncatedV2(m)!)
  row("version", versionText(m))
  if (m.version !== "v1") row("meta version", "2")
  if (m.version !== "v1") row("piece layers", `${m.pieceLayerHashes ?? 0} hashes`)
  row("piece length", sizeWithBytes(m.pieceLength))
  row("pieces", String(m.pieceCount))
  row("total size", sizeWithBytes(m.totalLength))
  row("private", m.private ? "yes" : "no")
  const tiers = trackerTiers(m)
  if (tiers.length === 0) row("trackers", "none")
  tiers.forEach((tier, i) => row(i === 0 ? "trackers" : "", `tier ${i + 1}: ${tier.join(", ")}`))
  if (m.urlList.length > 0) row("web seeds", m.urlList.join(", "))
  if (m.comment !== undefined) row("comment", m.comment)
  if (m.createdBy !== undefined) row("created by", m.createdBy)
  if (m.creationDate !== undefined) row("created", new Date(m.creationDate * 1000).toISOString())
  const real = m.files.filter((f) => !f.pad)
  // A v2-only torrent names no pad file: the pads between its files are bt-effect's layout (as libtorrent's).
  const pads = m.version === "v2" ? 0 : m.files.length - real.length
  lines.push(`files (${real.length}${pads > 0 ? `, plus ${pads} pad` : ""}):`)
  // Numbered in torrent order from 1, as `download --files` and aria2c's --select-file count (pad files
  // keep their numbers, unshown).
  const width = String(m.files.length).length
  m.files.forEach((f, i) => {
    if (f.pad) return
    const path = diskPath(m, f.path)
    const renamed = path !== (m.multiFile ? `${m.name}/${f.displayPath}` : m.name) ? `  (named '${f.displayPath}' in the torrent)` : ""
    lines.push(`  ${String(i + 1).padStart(width)}  ${formatBytes(f.length).padStart(10)}  ${path}${renamed}`)
  })
  if (m.version !== "v1") {
    // The v2 file tree: each file's merkle root (none for an empty file), numbered as above.
    lines.push("file tree (pieces roots):")
    m.files.forEach((f, i) => {
      if (f.pad) return
      const root = f.piecesRoot === undefined ? "(empty: no pieces root)".padEnd(64) : toHex(f.piecesRoot)
      lines.push(`  ${String(i + 1).padStart(width)}  ${root}  ${f.displayPath}`)
    })
  }
  for (const w of m.warnings) lines.push(`warning: ${w}`)
  return lines.join("\n")
}

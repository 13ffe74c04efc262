/**
 * The web interface's rules that need no page, run in Node: the order of the table, the state filters
 * and the search, the selection (ranges and the rows shown), the limit in force, and the formats of the
 * table's new columns.
 */
import { describe, expect, it } from "vitest"
import { formatDate, formatMinutes, formatRatio, parseMinutes } from "../../src/web/format.js"
import { makeSelection } from "../../src/web/selection.js"
import { limitInForce } from "../../src/web/limits.js"
import { comparator, type Sort, toggled } from "../../src/web/sorting.js"
import { filterCounts, inFilter, nameMatcher } from "../../src/web/states.js"
import type { ListTorrent } from "../../src/web/torrents.js"

const torrent = (id: number, patch: Partial<ListTorrent>): ListTorrent => ({
  id,
  name: `t${id}`,
  status: 4,
  percentDone: 0,
  rateDownload: 0,
  rateUpload: 0,
  peersConnected: 0,
  eta: -2,
  totalSize: 1000,
  error: 0,
  errorString: "",
  uploadRatio: -1,
  uploadedEver: 0,
  addedDate: 1_700_000_000,
  metadataPercentComplete: 1,
  category: "",
  tags: [],
  ...patch
})

const list: ReadonlyArray<ListTorrent> = [
  torrent(1, { name: "ubuntu 10.iso", status: 6, percentDone: 1, eta: -1, totalSize: 5000, uploadRatio: 2.5, uploadedEver: 12_500, rateUpload: 300 }),
  torrent(2, { name: "Album", status: 0, percentDone: 0.4, totalSize: 3000, uploadRatio: 0.1, uploadedEver: 120 }),
  torrent(3, { name: "ubuntu 9.iso", status: 4, percentDone: 0.2, eta: 600, totalSize: 4000, rateDownload: 900, uploadRatio: -2, uploadedEver: 50 }),
  torrent(4, { name: "magnet", status: 4, totalSize: 0, metadataPercentComplete: 0 }),
  torrent(5, { name: "broken", status: 3, error: 3, errorString: "disk full", totalSize: 4000 }),
  torrent(6, { name: "checking", status: 2, percentDone: 0.5, totalSize: 1000 })
]

const order = (sort: Sort) => [...list].sort(comparator(sort)).map((t) => t.id)

describe("web interface: the table's order", () => {
  it("sorts by each column both ways, ties by id, the unknowns where they belong", () => {
    // Names: numbers in order (9 before 10), case aside.
    expect(order({ key: "name", dir: "asc" })).toEqual([2, 5, 6, 4, 3, 1])
    expect(order({ key: "name", dir: "desc" })).toEqual([1, 3, 4, 6, 5, 2])
    // Sizes: the magnet's, not known yet, first; equal sizes by id.
    expect(order({ key: "size", dir: "asc" })).toEqual([4, 6, 2, 3, 5, 1])
    // Progress: fetching metadata below 0%.
    expect(order({ key: "progress", dir: "asc" })).toEqual([4, 5, 3, 2, 6, 1])
    // ETA: done first, unknown last.
    expect(order({ key: "eta", dir: "asc" })).toEqual([1, 3, 2, 4, 5, 6])
    // Ratio: none (-1) lowest, infinite (-2) highest.
    expect(order({ key: "ratio", dir: "desc" })).toEqual([3, 1, 2, 4, 5, 6])
    expect(order({ key: "down", dir: "desc" })).toEqual([3, 1, 2, 4, 5, 6])
    expect(order({ key: "uploaded", dir: "asc" })).toEqual([4, 5, 6, 3, 2, 1])
  })

  it("a click on the same column turns it around; on another, starts ascending", () => {
    expect(toggled({ key: "name", dir: "asc" }, "name")).toEqual({ key: "name", dir: "desc" })
    expect(toggled({ key: "name", dir: "desc" }, "name")).toEqual({ key: "name", dir: "asc" })
    expect(toggled({ key: "name", dir: "desc" }, "size")).toEqual({ key: "size", dir: "asc" })
  })
})

describe("web interface: state filters and search", () => {
  it("counts each state, queued places with what they wait for", () => {
    expect(filterCounts(list)).toEqual({ all: 6, downloading: 3, seeding: 1, stopped: 1, checking: 1, error: 1, active: 3 })
    expect(list.filter((t) => inFilter("active", t)).map((t) => t.id)).toEqual([1, 3, 6])
    expect(list.filter((t) => inFilter("downloading", t)).map((t) => t.id)).toEqual([3, 4, 5])
  })

  it("searches a part of the name, case aside; a blank search keeps all", () => {
    const matches = nameMatcher("UBUNTU")
    expect(list.filter((t) => matches(t.name)).map((t) => t.id)).toEqual([1, 3])
    expect(list.filter((t) => nameMatcher(" 9.i ")(t.name)).map((t) => t.id)).toEqual([3])
    expect(list.filter((t) => nameMatcher("  ")(t.name))).toHaveLength(6)
  })
})

describe("web interface: the selection", () => {
  it("a shift-click picks the range from the last row clicked, as the click leaves the row", () => {
    const s = makeSelection()
    const shown = [5, 3, 9, 1, 7]
    s.click(3, true, false, shown)
    s.click(1, true, true, shown)
    expect(s.picked(shown)).toEqual([3, 9, 1])
    // Upwards, unpicking: from 1 (the last clicked) to 5.
    s.click(5, false, true, shown)
    expect(s.picked(shown)).toEqual([])
    // A plain click picks one row, and is where the next range starts.
    s.click(7, true, false, shown)
    expect(s.picked(shown)).toEqual([7])
    s.click(9, true, true, shown)
    expect(s.picked(shown)).toEqual([9, 1, 7])
  })

  it("the header's box picks the rows shown, and rows no longer shown are dropped", () => {
    const s = makeSelection()
    s.setAll([1, 2, 3], true)
    expect(s.count()).toBe(3)
    s.keepOnly([2, 3, 4])
    expect(s.picked([1, 2, 3, 4])).toEqual([2, 3])
    s.setAll([2, 3, 4], false)
    expect(s.count()).toBe(0)
  })
})

describe("web interface: the limit in force and the new columns' formats", () => {
  it("names the alternative limit while alternative speeds are on, else the usual one when on", () => {
    const usual = { "speed-limit-down": 500, "speed-limit-down-enabled": true, "speed-limit-up": 80, "speed-limit-up-enabled": false, "alt-speed-down": 50, "alt-speed-up": 20 }
    expect([limitInForce(usual, "down"), limitInForce(usual, "up")]).toEqual(["limit 500 kB/s", ""])
    const alt = { ...usual, "alt-speed-enabled": true }
    expect([limitInForce(alt, "down"), limitInForce(alt, "up")]).toEqual(["alt limit 50 kB/s", "alt limit 20 kB/s"])
  })

  it("writes ratios, dates and times of day", () => {
    expect([2.5, 0.129, 0, -1, -2].map(formatRatio)).toEqual(["2.50", "0.12", "0.00", "\u2013", "\u221e"])
    const local = new Date(2024, 4, 3, 9, 7).getTime() / 1000
    expect(formatDate(local)).toBe("2024-05-03 09:07")
    expect(formatDate(0)).toBe("\u2013")
    expect([0, 540, 1439].map(formatMinutes)).toEqual(["00:00", "09:00", "23:59"])
    expect(["09:00", "23:59", "7:05", ""].map(parseMinutes)).toEqual([540, 1439, 425, NaN])
  })
})

/**
 * The web interface's rules for categories and tags that need no page, run in Node (src/web/labels.ts):
 * what the category and tag filters keep and count, their values in a select and in storage, the tags as
 * typed in the detail, and the labels torrent-set is sent for them.
 */
import { describe, expect, it } from "vitest"
import {
  categoryCounts, choiceOf, choiceValue, inLabels, type LabelChoice, labelsFor, noLabelFilter, parseTagText, tagCounts, tagText
} from "../../src/web/labels.js"

const list = [
  { id: 1, category: "Movies", tags: ["2024", "hd"] },
  { id: 2, category: "Linux ISOs", tags: ["iso"] },
  { id: 3, category: "", tags: [] },
  { id: 4, category: "Movies", tags: [] },
  { id: 5, category: "movies 10", tags: ["all"] },
  { id: 6, category: "movies 9", tags: ["hd"] }
]

const one = (name: string): LabelChoice => ({ kind: "one", name })
const none: LabelChoice = { kind: "none" }
const all: LabelChoice = { kind: "all" }
const kept = (category: LabelChoice, tag: LabelChoice) => list.filter((t) => inLabels({ category, tag }, t)).map((t) => t.id)

describe("category and tag filters", () => {
  it("keep a category's torrents, the uncategorized, a tag's, the untagged, and both at once", () => {
    expect(list.filter((t) => inLabels(noLabelFilter, t)).map((t) => t.id)).toEqual([1, 2, 3, 4, 5, 6])
    expect(kept(one("Movies"), all)).toEqual([1, 4])
    expect(kept(none, all)).toEqual([3])
    expect(kept(all, one("hd"))).toEqual([1, 6])
    expect(kept(all, none)).toEqual([3, 4])
    expect(kept(one("Movies"), none)).toEqual([4])
    expect(kept(one("Movies"), one("hd"))).toEqual([1])
    expect(kept(none, one("iso"))).toEqual([])
    // Names match exactly: no case folding, no part of a name.
    expect(kept(one("movies"), all)).toEqual([])
    expect(kept(all, one("h"))).toEqual([])
  })

  it("count each choice of the whole list, names in a person's order (numbers as numbers, case aside)", () => {
    expect(categoryCounts(list)).toEqual({ all: 6, none: 1, names: [["Linux ISOs", 1], ["Movies", 2], ["movies 9", 1], ["movies 10", 1]] })
    expect(tagCounts(list)).toEqual({ all: 6, none: 2, names: [["2024", 1], ["all", 1], ["hd", 2], ["iso", 1]] })
    expect(categoryCounts([])).toEqual({ all: 0, none: 0, names: [] })
  })

  it("go to a select's value and back, a tag named all or none being no choice of all or none", () => {
    for (const c of [all, none, one("all"), one("none"), one("=x"), one("a b, c")]) expect(choiceOf(choiceValue(c))).toEqual(c)
    expect(choiceValue(one("all"))).toBe("=all")
    for (const bad of ["", "=", "everything", 3, null, undefined]) expect(choiceOf(bad)).toBeUndefined()
  })
})

describe("tags typed in the detail", () => {
  it("are split at commas, trimmed, once each, in the order typed, the empty ones dropped", () => {
    expect(parseTagText(" hd, remux ,, 4k, hd")).toEqual(["hd", "remux", "4k"])
    expect(parseTagText("")).toEqual([])
    expect(parseTagText(" , ,")).toEqual([])
    expect(parseTagText("two words")).toEqual(["two words"])
    expect(tagText(["4k", "hd"])).toBe("4k, hd")
  })

  it("are sent as labels after the torrent's category, which stays; a tag of the category's name is left out", () => {
    expect(labelsFor("Movies", ["hd", "4k"])).toEqual(["Movies", "hd", "4k"])
    expect(labelsFor("Movies", [])).toEqual(["Movies"])
    expect(labelsFor("", ["hd"])).toEqual(["hd"])
    expect(labelsFor("", [])).toEqual([])
    expect(labelsFor("Movies", ["Movies", "hd"])).toEqual(["Movies", "hd"])
  })
})

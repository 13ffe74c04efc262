import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { chooseFiles } from "../../../src/services/commands/FileChoice.js"
import { makeTorrent, randomBytes } from "../../support/torrents.js"

const m = makeTorrent({
  name: "Show",
  pieceLength: 16384,
  files: ["a.mkv", "a.srt", "b.mkv", "notes.txt"].map((name, i) => ({ path: ["s1", name], data: randomBytes(100 + i, i + 1) }))
}).metainfo
const choose = (options: Parameters<typeof chooseFiles>[1]) => Effect.runSync(Effect.either(chooseFiles(m, options)))

describe("chooseFiles", () => {
  it("without flags: a magnet's so= (0-based), else every file", () => {
    expect(choose({})).toEqual(Either.right(undefined))
    expect(choose({ selectOnly: [3, 1, 1] })).toEqual(Either.right([1, 3]))
    expect(Either.isLeft(choose({ selectOnly: [4] }))).toBe(true)
  })

  it("--files (1-based) and --only together, in torrent order; the flags win over so=", () => {
    expect(choose({ files: "1,4", selectOnly: [2] })).toEqual(Either.right([0, 3]))
    expect(choose({ only: ["*.mkv"] })).toEqual(Either.right([0, 2]))
    expect(choose({ only: ["Show/s1/*.srt"] })).toEqual(Either.right([1]))
    expect(choose({ files: "4", only: ["*.srt"] })).toEqual(Either.right([1, 3]))
  })
})

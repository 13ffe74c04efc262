import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FileSelection from "../../src/domain/FileSelection.js"
import * as Layout from "../../src/domain/Layout.js"

const right = <A>(e: Either.Either<A, string>): A => Either.getOrThrowWith(e, (why) => new Error(why))
const left = <A>(e: Either.Either<A, string>): string => Either.match(e, { onLeft: (why) => why, onRight: () => "no error" })

describe("FileSelection", () => {
  it("parses 1-based numbers and ranges into sorted 0-based indices", () => {
    expect(right(FileSelection.parseFileList("1,4-7", 10))).toEqual([0, 3, 4, 5, 6])
    expect(right(FileSelection.parseFileList(" 3 , 1,2-3", 3))).toEqual([0, 1, 2])
    expect(right(FileSelection.parseFileList("10", 10))).toEqual([9])
  })

  it("refuses bad lists in one line", () => {
    expect(left(FileSelection.parseFileList("0", 5))).toMatch(/from 1/)
    expect(left(FileSelection.parseFileList("6", 5))).toMatch(/past the last file \(5\)/)
    expect(left(FileSelection.parseFileList("3-2", 5))).toMatch(/range/)
    expect(left(FileSelection.parseFileList("a", 5))).toMatch(/not a file number/)
    expect(left(FileSelection.parseFileList("1,,2", 5))).toMatch(/not a file number/)
    expect(left(FileSelection.parseFileList("", 5))).toMatch(/not a file number/)
  })

  it("matches globs: * within a component, ? one character, ** across folders, classes", () => {
    const paths = ["a.mkv", "season 1/e01.mkv", "season 1/e01.srt", "season 2/extra/e02.mkv", "notes.txt", "b.mkv.part"]
    const match = (...globs: Array<string>) => right(FileSelection.matchGlobs(globs, paths))
    expect(match("*.mkv")).toEqual([0, 1, 3])
    expect(match("season 1/*")).toEqual([1, 2])
    expect(match("season */*.mkv")).toEqual([1])
    expect(match("season 2/**")).toEqual([3])
    expect(match("**/e0?.*")).toEqual([1, 2, 3])
    expect(match("[an]*")).toEqual([0, 4])
    expect(match("[!an]*.mkv")).toEqual([1, 3])
    expect(match("*.srt", "notes.txt")).toEqual([2, 4])
    expect(match("a.mkv")).toEqual([0])
    expect(match("(a).mkv")).toEqual([])
    expect(left(FileSelection.matchGlobs(["[ab"], paths))).toMatch(/unclosed/)
  })

  it("wants the pieces of the selected files, edges shared with neighbours included", () => {
    // Files of 10, 25, 5 and 30 bytes in pieces of 16: [0,10) [10,35) [35,40) [40,70).
    const layout = Layout.make(16, [{ length: 10 }, { length: 25 }, { length: 5 }, { length: 30 }])
    const wanted = (files: Array<number>) => [...FileSelection.wantedPieces(layout, files)]
    expect(wanted([0])).toEqual([0])
    expect(wanted([1])).toEqual([0, 1, 2])
    expect(wanted([2])).toEqual([2])
    expect(wanted([3])).toEqual([2, 3, 4])
    expect(FileSelection.selectedBytes(layout, [1, 2])).toBe(30)
    const have = FileSelection.wantedPieces(layout, [0])
    expect(FileSelection.selectedDone(layout, [0, 1], have)).toBe(16)
  })
})

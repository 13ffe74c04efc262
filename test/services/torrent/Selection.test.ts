import { describe, expect, it } from "@effect/vitest"
import * as Layout from "../../../src/domain/Layout.js"
import { toPark } from "../../../src/services/torrent/Selection.js"

describe("Selection.toPark", () => {
  const layout = Layout.make(16, [{ length: 10 }, { length: 6, pad: true }, { length: 20 }, { length: 30 }])
  const stamp = { size: 1, mtimeNs: 1n }

  it("parks the unselected files not on disk; never pad files; nothing without a selection", () => {
    expect([...toPark(layout, [3], [undefined, undefined, undefined, undefined])]).toEqual([0, 2])
    expect([...toPark(layout, undefined, [undefined, undefined, undefined, undefined])]).toEqual([])
  })

  it("a file already on disk keeps its bytes where they are (never read from an empty part file)", () => {
    expect([...toPark(layout, [3], [stamp, undefined, undefined, stamp])]).toEqual([2])
  })
})

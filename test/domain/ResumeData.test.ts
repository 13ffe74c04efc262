/**
 * ResumeData.decide: which pieces a checkpoint lets a start trust without hashing (recorded, and every file
 * they touch unchanged since), which it must hash (touching a changed file, or no usable checkpoint, as
 * long as every file they touch exists), and why the checkpoint was not enough. Checked case by case and
 * against an independent model over random layouts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import { Bitfield } from "../../src/domain/Bitfield.js"
import { infoHash } from "../../src/domain/InfoHash.js"
import * as Layout from "../../src/domain/Layout.js"
import { decide, type FileStamp, ResumeData } from "../../src/domain/ResumeData.js"

const stamp = (size: number, mtimeNs: bigint): FileStamp => ({ size, mtimeNs })

const bitsOf = (pieceCount: number, pieces: Iterable<number>): Bitfield => {
  const b = Bitfield.empty(pieceCount)
  for (const p of pieces) b.set(p)
  return b
}

/** A checkpoint of `pieceCount` pieces recording `pieces`, with the files' stamps at the time. */
const checkpoint = (
  pieceCount: number,
  pieces: Iterable<number>,
  files: ReadonlyArray<FileStamp | null>,
  bytes?: Uint8Array
): ResumeData =>
  new ResumeData({
    infoHash: infoHash(new Uint8Array(20).fill(7)),
    root: "/downloads",
    pieceCount,
    pieces: bytes ?? bitsOf(pieceCount, pieces).toBytes(),
    files,
    downloaded: 0,
    uploaded: 0,
    savedAt: 0
  })

const all = (n: number) => Array.from({ length: n }, (_, i) => i)

/**
 * Pieces of 100 bytes over three files: a.bin [0, 250) holds pieces 0, 1 and the start of 2; b.bin
 * [250, 350) the end of 2 and the start of 3; c.bin [350, 500) the end of 3 and piece 4.
 */
const three = Layout.make(100, [{ length: 250 }, { length: 100 }, { length: 150 }])
const stored3 = [true, true, true]
const now3: ReadonlyArray<FileStamp> = [stamp(250, 1000n), stamp(100, 2000n), stamp(150, 3000n)]

describe("ResumeData.decide", () => {
  it("no resume data and no files: nothing trusted, nothing to check, nothing to say", () => {
    const d = decide(three, undefined, [undefined, undefined, undefined], stored3)
    expect([...d.trusted]).toEqual([])
    expect(d.trusted.pieceCount).toBe(5)
    expect(d.toCheck).toEqual([])
    expect(d.why).toBeUndefined()
  })

  it("no resume data, all files present: every piece is checked", () => {
    const d = decide(three, undefined, now3, stored3)
    expect([...d.trusted]).toEqual([])
    expect(d.toCheck).toEqual(all(5))
    expect(d.why).toBe("no resume data")
  })

  it("no resume data: pieces touching a missing file are not checked, the others are", () => {
    // b.bin is missing: pieces 2 and 3 touch it.
    const d = decide(three, undefined, [now3[0], undefined, now3[2]], stored3)
    expect([...d.trusted]).toEqual([])
    expect(d.toCheck).toEqual([0, 1, 4])
    expect(d.why).toBe("no resume data")
    // Only c.bin there: only piece 4 lies wholly in it.
    expect(decide(three, undefined, [undefined, undefined, now3[2]], stored3).toCheck).toEqual([4])
  })

  it("resume data matching every stamp: the recorded pieces are trusted and nothing is checked", () => {
    const d = decide(three, checkpoint(5, all(5), now3), now3, stored3)
    expect([...d.trusted]).toEqual(all(5))
    expect(d.toCheck).toEqual([])
    expect(d.why).toBeUndefined()
  })

  it("resume data matching every stamp: unrecorded pieces are neither trusted nor checked", () => {
    const d = decide(three, checkpoint(5, [0, 1, 3], now3), now3, stored3)
    expect([...d.trusted]).toEqual([0, 1, 3])
    expect(d.toCheck).toEqual([])
    expect(d.why).toBeUndefined()
  })

  it("the stamps are compared by value (a fresh but equal object matches)", () => {
    const copies = now3.map((s) => ({ ...s }))
    expect([...decide(three, checkpoint(5, all(5), now3), copies, stored3).trusted]).toEqual(all(5))
  })

  it("one file's mtime changed: the pieces touching it are checked, across file boundaries; the rest are trusted", () => {
    const changed = [now3[0], stamp(100, 2001n), now3[2]]
    const d = decide(three, checkpoint(5, all(5), now3), changed, stored3)
    // Pieces 2 and 3 each span b.bin and a neighbour.
    expect(d.toCheck).toEqual([2, 3])
    expect([...d.trusted]).toEqual([0, 1, 4])
    expect(d.why).toBe("1 file(s) changed since the last checkpoint")
  })

  it("one file changed: pieces touching it are checked whether recorded or not; unrecorded pieces of unchanged files are left", () => {
    const changed = [now3[0], stamp(100, 2001n), now3[2]]
    const d = decide(three, checkpoint(5, [0, 2], now3), changed, stored3)
    expect([...d.trusted]).toEqual([0])
    expect(d.toCheck).toEqual([2, 3])
    // 1 and 4: in unchanged files and not recorded, so neither trusted nor checked.
    expect(d.trusted.has(1) || d.trusted.has(4) || d.toCheck.includes(1) || d.toCheck.includes(4)).toBe(false)
  })

  it("the first file changed: only pieces touching it are checked", () => {
    const changed = [stamp(250, 999n), now3[1], now3[2]]
    const d = decide(three, checkpoint(5, all(5), now3), changed, stored3)
    expect(d.toCheck).toEqual([0, 1, 2])
    expect([...d.trusted]).toEqual([3, 4])
  })

  it("a changed size counts as a change even with the same mtime", () => {
    const grown = [now3[0], now3[1], stamp(151, 3000n)]
    const d = decide(three, checkpoint(5, all(5), now3), grown, stored3)
    expect(d.toCheck).toEqual([3, 4])
    expect([...d.trusted]).toEqual([0, 1, 2])
    expect(d.why).toBe("1 file(s) changed since the last checkpoint")
  })

  it("several files changed: all their pieces are checked and the count is said", () => {
    const changed = [stamp(250, 1n), now3[1], stamp(150, 3n)]
    const d = decide(three, checkpoint(5, all(5), now3), changed, stored3)
    expect(d.toCheck).toEqual(all(5))
    expect([...d.trusted]).toEqual([])
    expect(d.why).toBe("2 file(s) changed since the last checkpoint")
  })

  it("a file missing at the checkpoint and present now is a changed file", () => {
    const d = decide(three, checkpoint(5, [0, 1], [now3[0]!, null, null]), now3, stored3)
    expect([...d.trusted]).toEqual([0, 1])
    expect(d.toCheck).toEqual([2, 3, 4])
    expect(d.why).toBe("2 file(s) changed since the last checkpoint")
  })

  it("a file deleted since the checkpoint: its pieces are neither trusted nor checked", () => {
    const d = decide(three, checkpoint(5, all(5), now3), [now3[0], undefined, now3[2]], stored3)
    expect([...d.trusted]).toEqual([0, 1, 4])
    expect(d.toCheck).toEqual([])
  })

  it("a file deleted and another changed: only pieces whose files all exist are checked", () => {
    // b.bin gone, c.bin changed: piece 3 touches both (not checked: b.bin is missing), piece 4 only c.bin.
    const d = decide(three, checkpoint(5, all(5), now3), [now3[0], undefined, stamp(150, 1n)], stored3)
    expect([...d.trusted]).toEqual([0, 1])
    expect(d.toCheck).toEqual([4])
    expect(d.why).toBe("1 file(s) changed since the last checkpoint")
  })

  it("resume data with another piece count is ignored: everything present is checked", () => {
    const d = decide(three, checkpoint(6, all(6), now3), now3, stored3)
    expect([...d.trusted]).toEqual([])
    expect(d.toCheck).toEqual(all(5))
    expect(d.why).toBe("resume data for another layout")
    // With b.bin missing, the pieces touching it are not checked.
    const missing = decide(three, checkpoint(4, all(4), now3), [now3[0], undefined, now3[2]], stored3)
    expect([...missing.trusted]).toEqual([])
    expect(missing.toCheck).toEqual([0, 1, 4])
    expect(missing.why).toBe("resume data for another layout")
  })

  it("resume data with another file count is ignored: everything present is checked", () => {
    const d = decide(three, checkpoint(5, all(5), [now3[0]!, now3[1]!]), now3, stored3)
    expect([...d.trusted]).toEqual([])
    expect(d.toCheck).toEqual(all(5))
    expect(d.why).toBe("resume data for another layout")
    const more = decide(three, checkpoint(5, all(5), [...now3, stamp(1, 1n)]), now3, stored3)
    expect([...more.trusted]).toEqual([])
    expect(more.why).toBe("resume data for another layout")
  })

  it("resume data whose bitfield does not fit its piece count is ignored", () => {
    // 5 pieces take one byte; two bytes, or spare bits set, are not a bitfield of 5 pieces.
    for (const bytes of [Uint8Array.of(0xf8, 0), Uint8Array.of(0xff), new Uint8Array(0)]) {
      const d = decide(three, checkpoint(5, [], now3, bytes), now3, stored3)
      expect([...d.trusted]).toEqual([])
      expect(d.toCheck).toEqual(all(5))
      expect(d.why).toBe("resume data for another layout")
    }
  })

  it("zero-length files and pad files (not stored) never block trust", () => {
    // Pieces of 100: big.bin [0, 150), empty [150, 150), a pad file [150, 200), tail.bin [200, 300).
    const layout = Layout.make(100, [{ length: 150 }, { length: 0 }, { length: 50, pad: true }, { length: 100 }])
    const stored = [true, true, false, true]
    const saved = checkpoint(3, [0, 1, 2], [stamp(150, 10n), stamp(0, 20n), null, stamp(100, 30n)])
    // The zero-length file is gone, then changed: it holds no byte of any piece.
    for (const empty of [undefined, stamp(0, 21n), stamp(0, 20n)]) {
      const d = decide(layout, saved, [stamp(150, 10n), empty, undefined, stamp(100, 30n)], stored)
      expect([...d.trusted]).toEqual([0, 1, 2])
      expect(d.toCheck).toEqual([])
      expect(d.why).toBeUndefined()
    }
    // Whatever the stamps say of the pad file, it does not count.
    const padStamped = decide(layout, saved, [stamp(150, 10n), stamp(0, 20n), stamp(50, 99n), stamp(100, 30n)], stored)
    expect([...padStamped.trusted]).toEqual([0, 1, 2])
    // A change to big.bin: piece 1 (big.bin then the pad file) is checked, piece 2 trusted.
    const d = decide(layout, saved, [stamp(150, 11n), undefined, undefined, stamp(100, 30n)], stored)
    expect([...d.trusted]).toEqual([2])
    expect(d.toCheck).toEqual([0, 1])
    expect(d.why).toBe("1 file(s) changed since the last checkpoint")
  })

  it("a parked file (not selected) still missing keeps the pieces it shares trusted; created since, it does not", () => {
    // Pieces of 100: a [0, 150) parked, b [150, 300) selected: piece 1 is shared.
    const layout = Layout.make(100, [{ length: 150 }, { length: 150 }])
    const saved = new ResumeData({ ...checkpoint(3, [1, 2], [null, stamp(150, 10n)]), parked: [0] })
    const d = decide(layout, saved, [undefined, stamp(150, 10n)], [true, true])
    expect([...d.trusted]).toEqual([1, 2])
    // Not recorded as parked: a missing file's pieces are not trusted.
    const unparked = decide(layout, checkpoint(3, [1, 2], [null, stamp(150, 10n)]), [undefined, stamp(150, 10n)], [true, true])
    expect([...unparked.trusted]).toEqual([2])
    // The parked file appeared on disk since: its pieces are checked.
    const appeared = decide(layout, saved, [stamp(150, 5n), stamp(150, 10n)], [true, true])
    expect([...appeared.trusted]).toEqual([2])
    expect(appeared.toCheck).toEqual([0, 1])
  })

  it("without resume data, a missing zero-length file or pad file does not stop a piece being checked", () => {
    const layout = Layout.make(100, [{ length: 150 }, { length: 0 }, { length: 50, pad: true }, { length: 100 }])
    const d = decide(layout, undefined, [stamp(150, 10n), undefined, undefined, stamp(100, 30n)], [true, true, false, true])
    expect(d.toCheck).toEqual([0, 1, 2])
    expect(d.why).toBe("no resume data")
  })

  it("an empty torrent: nothing to trust or check", () => {
    const layout = Layout.make(16384, [])
    const d = decide(layout, checkpoint(0, [], []), [], [])
    expect(d.trusted.pieceCount).toBe(0)
    expect(d.toCheck).toEqual([])
    expect(d.why).toBeUndefined()
    expect(decide(layout, undefined, [], []).why).toBeUndefined()
  })

  it("a single-file torrent changed: every piece is checked", () => {
    const layout = Layout.make(16384, [{ length: 40000 }])
    const d = decide(layout, checkpoint(3, all(3), [stamp(40000, 5n)]), [stamp(40000, 6n)], [true])
    expect([...d.trusted]).toEqual([])
    expect(d.toCheck).toEqual([0, 1, 2])
    expect(d.why).toBe("1 file(s) changed since the last checkpoint")
  })

  it("the trusted bitfield is a fresh one, not the checkpoint's bytes", () => {
    const saved = checkpoint(5, all(5), now3)
    const d = decide(three, saved, now3, stored3)
    d.trusted.clear(0)
    expect(Array.from(saved.pieces)).toEqual([0xf8])
  })

  describe("against a model, over random layouts, stamps and checkpoints", () => {
    interface Case {
      readonly pieceLength: number
      readonly files: ReadonlyArray<{ readonly length: number; readonly pad: boolean }>
      /** Per file: the stamp at the checkpoint (null: missing or not stored). */
      readonly saved: ReadonlyArray<FileStamp | null>
      /** Per file: how it is now. */
      readonly now: ReadonlyArray<"same" | "missing" | "mtime" | "size">
      readonly recordedSeed: ReadonlyArray<boolean>
      /** none: no checkpoint; other: a checkpoint for another piece count. */
      readonly kind: "usable" | "none" | "other"
    }

    const caseArb: FastCheck.Arbitrary<Case> = FastCheck.array(
      FastCheck.record({
        length: FastCheck.oneof(FastCheck.constant(0), FastCheck.integer({ min: 1, max: 200 })),
        pad: FastCheck.boolean(),
        saved: FastCheck.option(FastCheck.bigInt({ min: 0n, max: 3n }), { nil: null }),
        now: FastCheck.constantFrom("same" as const, "same" as const, "missing" as const, "mtime" as const, "size" as const)
      }),
      { maxLength: 6 }
    ).chain((files) =>
      FastCheck.record({
        pieceLength: FastCheck.integer({ min: 1, max: 64 }),
        files: FastCheck.constant(files.map((f) => ({ length: f.length, pad: f.pad }))),
        saved: FastCheck.constant(files.map((f) => (f.pad || f.saved === null ? null : stamp(f.length, f.saved)))),
        now: FastCheck.constant(files.map((f) => f.now)),
        recordedSeed: FastCheck.array(FastCheck.boolean(), { minLength: 1, maxLength: 64 }),
        kind: FastCheck.constantFrom("usable" as const, "usable" as const, "none" as const, "other" as const)
      })
    )

    const stampsNow = (c: Case): ReadonlyArray<FileStamp | undefined> =>
      c.files.map((f, i) => {
        if (f.pad) return undefined
        const was = c.saved[i] ?? stamp(f.length, 0n)
        switch (c.now[i]!) {
          case "missing":
            return undefined
          case "same":
            return stamp(was.size, was.mtimeNs)
          case "mtime":
            return stamp(was.size, was.mtimeNs + 1n)
          case "size":
            return stamp(was.size + 1, was.mtimeNs)
        }
      })

    /** The files holding bytes of `piece`, by byte ranges (not Layout.spans). */
    const filesOf = (layout: Layout.Layout, piece: number): ReadonlyArray<number> => {
      const start = piece * layout.pieceLength
      const end = Math.min(start + layout.pieceLength, layout.totalLength)
      return layout.files.flatMap((f, i) => (f.length > 0 && f.offset < end && f.offset + f.length > start ? [i] : []))
    }

    it.prop(
      "trusted ⊆ recorded, trusted ∩ toCheck = ∅, toCheck sorted, trusted pieces touch only unchanged files, as the model says",
      [caseArb],
      ([c]) => {
        const layout = Layout.make(c.pieceLength, c.files)
        const stored = c.files.map((f) => !f.pad)
        const stamps = stampsNow(c)
        const recorded = bitsOf(layout.pieceCount, all(layout.pieceCount).filter((p) => c.recordedSeed[p % c.recordedSeed.length]!))
        const saved = c.kind === "none"
          ? undefined
          : c.kind === "other"
          ? checkpoint(layout.pieceCount + 1, recorded, c.saved)
          : checkpoint(layout.pieceCount, recorded, c.saved)
        const d = decide(layout, saved, stamps, stored)

        expect(d.trusted.pieceCount).toBe(layout.pieceCount)
        // toCheck: strictly increasing piece indexes.
        d.toCheck.forEach((p, i) => {
          expect(Number.isInteger(p) && p >= 0 && p < layout.pieceCount).toBe(true)
          if (i > 0) expect(p).toBeGreaterThan(d.toCheck[i - 1]!)
        })
        const checked = new Set(d.toCheck)
        for (const p of d.trusted) {
          expect(c.kind).toBe("usable")
          expect(recorded.has(p)).toBe(true)
          expect(checked.has(p)).toBe(false)
          for (const f of filesOf(layout, p)) {
            if (!stored[f]) continue
            const was = c.saved[f]
            const is = stamps[f]
            expect(was !== null && was !== undefined && is !== undefined).toBe(true)
            expect(is?.size).toBe(was?.size)
            expect(is?.mtimeNs).toBe(was?.mtimeNs)
          }
        }

        // The model: a stored file is unchanged when the checkpoint is usable and its stamps agree, and
        // present when it exists (or holds no bytes).
        const unchanged = (f: number) =>
          !stored[f] ||
          (c.kind === "usable" && c.saved[f] !== null && stamps[f] !== undefined &&
            c.saved[f]!.size === stamps[f]!.size && c.saved[f]!.mtimeNs === stamps[f]!.mtimeNs)
        const present = (f: number) => !stored[f] || c.files[f]!.length === 0 || stamps[f] !== undefined
        const expectTrusted: Array<number> = []
        const expectCheck: Array<number> = []
        for (let p = 0; p < layout.pieceCount; p++) {
          const fs = filesOf(layout, p)
          if (c.kind === "usable" && fs.every(unchanged)) {
            if (recorded.has(p)) expectTrusted.push(p)
          } else if (fs.every(present)) {
            expectCheck.push(p)
          }
        }
        expect([...d.trusted]).toEqual(expectTrusted)
        expect(d.toCheck).toEqual(expectCheck)

        if (c.kind === "other") expect(d.why).toBe("resume data for another layout")
        if (c.kind === "none") expect(d.why).toBe(stamps.some((s) => s !== undefined) ? "no resume data" : undefined)
        if (c.kind === "usable") {
          const changedPresent = c.files.filter((_, f) =>
            !unchanged(f) && stamps[f] !== undefined && all(layout.pieceCount).some((p) => filesOf(layout, p).includes(f))
          ).length
          expect(d.why).toBe(changedPresent > 0 ? `${changedPresent} file(s) changed since the last checkpoint` : undefined)
        }
      },
      { fastCheck: { numRuns: 400 } }
    )
  })
})

/**
 * The web interface's categories and tags (issue 22) in a real headless Chromium, against the real RPC
 * server on loopback and a memory session holding four torrents: the chips of each row, the category and
 * tag filters (with the state filter, and kept for the next visit), and the tags edited in the detail,
 * down to the torrent-set the page sends and the tags the session then holds.
 *
 * The page is the built one: dist/web, or beside BT_EFFECT_CLI's main.js when a private build is tested
 * (test/support/cli.ts). Skipped, with a message, only when Chromium is absent outside CI.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type Browser, chromium, type Page } from "playwright-core"
import { layer, MemoryControl, type MemoryControlHandle } from "../../src/services/session/MemoryControl.js"
import * as RpcServer from "../../src/services/session/RpcServer.js"
import type { SessionControl } from "../../src/services/session/SessionControl.js"
import * as WebFiles from "../../src/services/session/WebFiles.js"
import { requiredInCi } from "../support/skips.js"
import { makeTorrent, randomBytes } from "../support/torrents.js"

const chromiumPath = "/usr/bin/chromium"
const haveChromium = fs.existsSync(chromiumPath)
const screenshots = path.join(os.tmpdir(), "bt-effect-webui-screenshots")
const webDir = process.env.BT_EFFECT_CLI === undefined ? path.resolve("dist/web") : path.join(path.dirname(process.env.BT_EFFECT_CLI), "web")
const phone = { width: 390, height: 844 }
const desktop = { width: 1280, height: 800 }
/** How long the page may take to show a change: the poll is every second (the rest is room for a loaded CI). */
const live = { timeout: 8_000 }

const single = (name: string, seed: number) =>
  makeTorrent({ name, pieceLength: 16384, files: [{ path: [name], data: randomBytes(3 * 16384, seed) }] })

/** The session's torrents, added in this order (ids 1 to 4). */
const film = { name: "film.mkv", category: "Movies", tags: ["hd", "2024"] }
const iso = { name: "debian.iso", category: "Linux ISOs", tags: ["iso"], paused: true }
const notes = { name: "notes.txt", category: "", tags: [] }
const trailer = { name: "trailer.mp4", category: "Movies", tags: [] }

interface Ui {
  readonly page: Page
  readonly memory: MemoryControlHandle
  readonly pageErrors: Array<string>
  /** The bodies of every RPC request, parsed. */
  readonly rpcBodies: Array<{ method: string; arguments?: { fields?: Array<string>; ids?: Array<number>; labels?: Array<string> } }>
}

const ui = <A>(run: () => Promise<A>) => Effect.promise(run)

/** The four torrents in the memory session, the daemon's web server, a headless Chromium and the page opened. */
const openUi = (viewport: { width: number; height: number }): Effect.Effect<Ui, unknown, SessionControl | MemoryControl | Scope.Scope> =>
  Effect.gen(function*() {
    if (!haveChromium) return yield* Effect.die(new Error(`${chromiumPath} is missing; the CI installs it with apt-get install chromium`))
    const memory = yield* MemoryControl
    yield* memory.createCategory({ name: "Movies", savePath: "" })
    yield* memory.createCategory({ name: "Linux ISOs", savePath: "" })
    for (const [index, t] of [film, iso, notes, trailer].entries()) {
      yield* memory.add({ _tag: "Metainfo", bytes: single(t.name, 20 + index).bytes }, {
        ...(t.category === "" ? {} : { category: t.category }),
        tags: t.tags,
        paused: "paused" in t
      })
    }
    const webFiles = yield* WebFiles.load(webDir)
    const { port } = yield* RpcServer.make({ host: "127.0.0.1", port: 0, staticFiles: webFiles })
    const base = `http://127.0.0.1:${port}`
    const browser: Browser = yield* Effect.acquireRelease(
      ui(() => chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"], timeout: 30_000 })),
      (b) => ui(() => b.close())
    )
    const page = yield* ui(() => browser.newPage({ viewport }))
    page.setDefaultTimeout(15_000)
    const found: Ui = { page, memory, pageErrors: [], rpcBodies: [] }
    page.on("pageerror", (e) => found.pageErrors.push(e.message))
    page.on("request", (r) => {
      if (r.url() === `${base}/transmission/rpc`) found.rpcBodies.push(JSON.parse(r.postData() ?? "{}"))
    })
    yield* ui(() => page.goto(`${base}/`))
    yield* ui(() => page.waitForSelector("tr.torrent >> nth=3"))
    return found
  })

const scenario = <A>(body: Effect.Effect<A, unknown, SessionControl | MemoryControl | Scope.Scope>) =>
  body.pipe(Effect.scoped, Effect.provide(layer()))

const row = (id: number) => `tr.torrent[data-id="${id}"]`

/** The ids of the rows shown, top to bottom. */
const shownIds = (page: Page) =>
  page.locator("#torrents-body tr.torrent").evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-id"))))

const expectShown = (page: Page, ids: ReadonlyArray<number>) => ui(() => expect.poll(() => shownIds(page), live).toEqual(ids))

const optionTexts = (page: Page, select: string) => page.locator(`${select} option`).allTextContents()

/** The texts of a row's category chip and tag chips. */
const chipsOfNow = async (page: Page, id: number) => ({
  category: await page.locator(`${row(id)} .chip.category`).allTextContents(),
  tags: await page.locator(`${row(id)} .chip.tag`).allTextContents()
})

const chipsOf = (page: Page, id: number) => ui(() => chipsOfNow(page, id))

const shoot = (page: Page, name: string) =>
  ui(async () => {
    fs.mkdirSync(screenshots, { recursive: true })
    const file = path.join(screenshots, `${name}.png`)
    await page.screenshot({ path: file, fullPage: true })
    console.log(`web interface screenshot: ${file}`)
  })

/** Waits for the page's next poll to be done (body's data-updated changes). */
const nextPoll = (page: Page) =>
  ui(async () => {
    const before = await page.evaluate<string | undefined>("document.body.dataset.updated")
    await expect.poll(() => page.evaluate<string | undefined>("document.body.dataset.updated"), live).not.toBe(before)
  })

describe("web interface: categories and tags", () => {
  requiredInCi(haveChromium, `${chromiumPath} is absent (apt-get install chromium)`)

  it.live("shows each torrent's category and tags as chips, and asks for them", () =>
    scenario(Effect.gen(function*() {
      const { page, pageErrors, rpcBodies } = yield* openUi(desktop)
      expect(yield* chipsOf(page, 1)).toEqual({ category: ["Movies"], tags: ["2024", "hd"] })
      expect(yield* chipsOf(page, 2)).toEqual({ category: ["Linux ISOs"], tags: ["iso"] })
      expect(yield* chipsOf(page, 4)).toEqual({ category: ["Movies"], tags: [] })
      // Neither: no chips at all, not an empty line.
      expect(yield* chipsOf(page, 3)).toEqual({ category: [], tags: [] })
      expect(yield* ui(() => page.isHidden(`${row(3)} .chips`))).toBe(true)
      // A screen reader hears what each chip is; the name button's label is the name alone.
      expect(yield* ui(() => page.locator(`${row(1)} .chips`).textContent())).toBe("Category:MoviesTags:2024hd")
      expect(yield* ui(() => page.getByRole("button", { name: "Details of film.mkv", exact: true }).count())).toBe(1)
      const lists = rpcBodies.filter((b) => b.method === "torrent-get" && b.arguments?.ids === undefined)
      expect(lists.length).toBeGreaterThan(0)
      expect(lists.every((b) => b.arguments?.fields?.includes("category") && b.arguments.fields.includes("tags"))).toBe(true)
      yield* shoot(page, "labels-desktop-chips")
      expect(pageErrors).toEqual([])
    })), { timeout: 60_000 })

  it.live("narrows the list by category and by tag, Uncategorized and Untagged too, with the state filter, and keeps the choice", () =>
    scenario(Effect.gen(function*() {
      const { page, pageErrors } = yield* openUi(desktop)
      expect(yield* ui(() => page.isVisible("#label-filters"))).toBe(true)
      expect(yield* ui(() => optionTexts(page, "#category-filter")))
        .toEqual(["All (4)", "Uncategorized (1)", "Linux ISOs (1)", "Movies (2)"])
      expect(yield* ui(() => optionTexts(page, "#tag-filter")))
        .toEqual(["All (4)", "Untagged (2)", "2024 (1)", "hd (1)", "iso (1)"])
      // The selects are named by their labels.
      expect(yield* ui(() => page.getByLabel("Category", { exact: true }).evaluate((n) => n.id))).toBe("category-filter")
      expect(yield* ui(() => page.getByLabel("Tag", { exact: true }).evaluate((n) => n.id))).toBe("tag-filter")
      yield* expectShown(page, [1, 2, 3, 4])

      const choose = (select: "category" | "tag", label: string) => ui(() => page.selectOption(`#${select}-filter`, { label }))
      yield* choose("category", "Movies (2)")
      yield* expectShown(page, [1, 4])
      yield* choose("tag", "Untagged (2)")
      yield* expectShown(page, [4])
      yield* choose("category", "All (4)")
      yield* expectShown(page, [3, 4])
      yield* choose("category", "Uncategorized (1)")
      yield* expectShown(page, [3])
      yield* choose("tag", "iso (1)")
      yield* expectShown(page, [])
      expect(yield* ui(() => page.textContent("#empty"))).toBe("No torrent matches.")
      yield* choose("category", "Linux ISOs (1)")
      yield* expectShown(page, [2])
      // With the state filter: the one stopped is debian.iso, and none of the Movies is stopped.
      yield* choose("tag", "All (4)")
      yield* ui(() => page.click("button[data-filter=stopped]"))
      yield* expectShown(page, [2])
      yield* choose("category", "Movies (2)")
      yield* expectShown(page, [])
      yield* ui(() => page.click("button[data-filter=all]"))
      yield* expectShown(page, [1, 4])
      // By keyboard: the tag filter takes the focus and the arrow keys, as any select.
      yield* ui(() => page.focus("#tag-filter"))
      yield* ui(() => page.keyboard.press("ArrowDown"))
      yield* expectShown(page, [4])
      yield* ui(() => page.keyboard.press("ArrowDown"))
      yield* expectShown(page, [1])
      yield* shoot(page, "labels-desktop-filtered")

      // The next visit finds the same choice, and the same rows.
      yield* ui(() => page.reload())
      yield* ui(() => page.waitForSelector("tr.torrent"))
      expect(yield* ui(() => page.inputValue("#category-filter"))).toBe("=Movies")
      expect(yield* ui(() => page.inputValue("#tag-filter"))).toBe("=2024")
      yield* expectShown(page, [1])
      yield* choose("category", "All (4)")
      yield* choose("tag", "All (4)")
      yield* expectShown(page, [1, 2, 3, 4])
      expect(pageErrors).toEqual([])
    })), { timeout: 60_000 })

  it.live("edits a torrent's tags in the detail: torrent-set labels with its category first, and the row follows", () =>
    scenario(Effect.gen(function*() {
      const { memory, page, pageErrors, rpcBodies } = yield* openUi(phone)
      const sets = () => rpcBodies.filter((b) => b.method === "torrent-set").map((b) => b.arguments)
      // On a phone the chips and the two filters fit: no page wider than the screen.
      expect(yield* ui(() => page.isVisible(`${row(1)} .chip.category`))).toBe(true)
      expect(yield* ui(() => page.evaluate<number>("document.documentElement.scrollWidth"))).toBeLessThanOrEqual(phone.width)
      yield* shoot(page, "labels-phone-list")
      yield* ui(() => page.click(`${row(1)} .name`))
      yield* ui(() => page.waitForSelector("#detail-category:text-is('Movies')", live))
      expect(yield* ui(() => page.inputValue("#detail-tags"))).toBe("2024, hd")
      expect(yield* ui(() => page.getByLabel("Tags", { exact: true }).evaluate((n) => n.id))).toBe("detail-tags")

      // What is typed stays while the page polls, and Escape puts the torrent's tags back (the detail stays open).
      yield* ui(() => page.fill("#detail-tags", "half typed"))
      yield* nextPoll(page)
      yield* nextPoll(page)
      expect(yield* ui(() => page.inputValue("#detail-tags"))).toBe("half typed")
      yield* ui(() => page.press("#detail-tags", "Escape"))
      expect(yield* ui(() => page.inputValue("#detail-tags"))).toBe("2024, hd")
      expect(yield* ui(() => page.isVisible("#detail"))).toBe(true)

      // Enter saves: the tags as typed (trimmed, once each, empty ones dropped), after the category.
      yield* ui(() => page.fill("#detail-tags", " hd, remux ,, 4k, hd"))
      yield* ui(() => page.press("#detail-tags", "Enter"))
      yield* ui(() => expect.poll(sets, live).toEqual([{ ids: [1], labels: ["Movies", "hd", "remux", "4k"] }]))
      yield* ui(() => expect.poll(() => memory.torrent(1)?.tags, live).toEqual(["4k", "hd", "remux"]))
      expect(memory.torrent(1)?.category).toBe("Movies")
      // Said in the status line (under the list, which the detail covers on a phone).
      yield* ui(() => expect.poll(() => page.textContent("#status-line"), live).toBe("Tagged film.mkv: hd, remux, 4k."))
      yield* ui(() => expect.poll(() => page.locator(`${row(1)} .chip.tag`).allTextContents(), live).toEqual(["4k", "hd", "remux"]))
      yield* ui(() => expect.poll(() => page.inputValue("#detail-tags"), live).toBe("4k, hd, remux"))
      expect(yield* ui(() => optionTexts(page, "#tag-filter"))).toEqual(["All (4)", "Untagged (2)", "4k (1)", "hd (1)", "iso (1)", "remux (1)"])
      yield* shoot(page, "labels-phone-detail-tags")

      // Escape with nothing typed closes the detail, as before.
      yield* ui(() => page.press("#detail-tags", "Escape"))
      yield* ui(() => page.waitForSelector("#detail", { state: "hidden" }))

      // All tags taken away with the Save button: its category stays.
      yield* ui(() => page.click(`${row(2)} .name`))
      yield* ui(() => expect.poll(() => page.inputValue("#detail-tags"), live).toBe("iso"))
      yield* ui(() => page.fill("#detail-tags", ""))
      yield* ui(() => page.click("#tags-save"))
      yield* ui(() => expect.poll(() => sets().at(-1), live).toEqual({ ids: [2], labels: ["Linux ISOs"] }))
      yield* ui(() => expect.poll(() => memory.torrent(2)?.tags, live).toEqual([]))
      expect(memory.torrent(2)?.category).toBe("Linux ISOs")
      yield* ui(() => expect.poll(() => chipsOfNow(page, 2), live).toEqual({ category: ["Linux ISOs"], tags: [] }))
      yield* ui(() => page.click("#detail-close"))

      // A torrent without a category: its labels are its tags alone.
      yield* ui(() => page.click(`${row(3)} .name`))
      yield* ui(() => page.waitForSelector("#detail-category:text-is('none')", live))
      yield* ui(() => page.fill("#detail-tags", "notes"))
      yield* ui(() => page.press("#detail-tags", "Enter"))
      yield* ui(() => expect.poll(() => sets().at(-1), live).toEqual({ ids: [3], labels: ["notes"] }))
      yield* ui(() => expect.poll(() => chipsOfNow(page, 3), live).toEqual({ category: [], tags: ["notes"] }))
      expect(memory.torrent(3)?.category).toBe("")
      expect(pageErrors).toEqual([])
    })), { timeout: 60_000 })
})


/**
 * The web interface in a real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core),
 * against the real RPC server on loopback and a memory session whose torrents the test moves: what a
 * person sees and clicks, down to what the session was asked to do.
 *
 * Skipped, with a message, only when Chromium is absent outside CI; in CI (CI=true, which installs it)
 * its absence fails. Screenshots (phone 390x844 and desktop 1280x800) go to the folder printed below.
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
import * as webFormat from "../../src/web/format.js"
import { requiredInCi } from "../support/skips.js"
import { makeTorrent, randomBytes } from "../support/torrents.js"

const chromiumPath = "/usr/bin/chromium"
const haveChromium = fs.existsSync(chromiumPath)

const screenshots = path.join(os.tmpdir(), "bt-effect-webui-screenshots")

const phone = { width: 390, height: 844 }
const desktop = { width: 1280, height: 800 }
/** How long the page may take to show a change: the poll is every second (the rest is room for a loaded CI). */
const live = { timeout: 8_000 }

const announce = "http://127.0.0.1:9/announce"
const sample = makeTorrent({
  name: "ubuntu-like.iso",
  pieceLength: 16384,
  files: [{ path: ["ubuntu-like.iso"], data: randomBytes(8 * 16384, 7) }],
  announce
})
/** 300 pieces: the piece map wraps into rows on every screen. */
const album = makeTorrent({
  name: "Album",
  pieceLength: 16384,
  files: [
    { path: ["cd1", "01 intro.flac"], data: randomBytes(100 * 16384, 8) },
    { path: ["cd1", "02 song.flac"], data: randomBytes(200 * 16384 - 5000, 9) }
  ],
  announceList: [[announce], ["udp://127.0.0.1:9/announce"]]
})
/** A name made to be markup: it must show as text and run nothing. */
const hostileName = `<img src=x onerror="window.hacked=1"><b>bold</b> & "quotes"`
const hostile = makeTorrent({ name: hostileName, pieceLength: 16384, files: [{ path: ["x"], data: randomBytes(1000, 3) }] })
const magnetHash = "c12fe1c06bba254a9dc9f519b335aa7c1367a88a"
const magnet = `magnet:?xt=urn:btih:${magnetHash}&dn=Linux+Magnet&tr=${encodeURIComponent(announce)}`

interface Ui {
  readonly page: Page
  readonly memory: MemoryControlHandle
  readonly base: string
  /** Uncaught errors in the page. */
  readonly pageErrors: Array<string>
  /** Requests to anything but the daemon (data: URLs aside). */
  readonly outside: Array<string>
  /** The bodies of every RPC request, parsed. */
  readonly rpcBodies: Array<{ method: string; arguments?: { fields?: Array<string>; ids?: Array<number> } }>
  /** HTTP statuses of the RPC responses, in order. */
  readonly rpcStatuses: Array<number>
}

const ui = <A>(run: () => Promise<A>) => Effect.promise(run)

/** The daemon's web server on a free loopback port, a headless Chromium, and the page opened. */
const openUi = (viewport: { width: number; height: number }): Effect.Effect<Ui, unknown, SessionControl | MemoryControl | Scope.Scope> =>
  Effect.gen(function*() {
    if (!haveChromium) return yield* Effect.die(new Error(`${chromiumPath} is missing; the CI installs it with apt-get install chromium`))
    const memory = yield* MemoryControl
    // The files the build made (package.json's pretest runs it), served as the daemon serves them.
    const webFiles = yield* WebFiles.load(path.resolve("dist/web"))
    const { port } = yield* RpcServer.make({ host: "127.0.0.1", port: 0, staticFiles: webFiles })
    const base = `http://127.0.0.1:${port}`
    const browser: Browser = yield* Effect.acquireRelease(
      ui(() => chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"], timeout: 30_000 })),
      (b) => ui(() => b.close())
    )
    const page = yield* ui(() => browser.newPage({ viewport }))
    page.setDefaultTimeout(15_000)
    const found: Ui = { page, memory, base, pageErrors: [], outside: [], rpcBodies: [], rpcStatuses: [] }
    page.on("pageerror", (e) => found.pageErrors.push(e.message))
    page.on("request", (r) => {
      const url = r.url()
      if (!url.startsWith(`${base}/`) && !url.startsWith("data:")) found.outside.push(url)
      if (url === `${base}/transmission/rpc`) found.rpcBodies.push(JSON.parse(r.postData() ?? "{}"))
    })
    page.on("response", (r) => {
      if (r.url() === `${base}/transmission/rpc`) found.rpcStatuses.push(r.status())
    })
    yield* ui(() => page.goto(`${base}/`))
    yield* ui(() => page.waitForSelector("#empty:not([hidden])"))
    return found
  })

const row = (id: number) => `tr.torrent[data-id="${id}"]`
const text = (page: Page, selector: string) => ui(async () => (await page.textContent(selector)) ?? "")

/** Adds the torrent through the file input (and the Add button); resolves once its row is shown. */
const addFile = (page: Page, name: string, bytes: Uint8Array, id: number) =>
  ui(async () => {
    await page.setInputFiles("#add-file", { name, mimeType: "application/x-bittorrent", buffer: Buffer.from(bytes) })
    await page.click("#add-button")
    await page.waitForSelector(row(id))
  })

const addMagnet = (page: Page, uri: string, id: number) =>
  ui(async () => {
    await page.fill("#add-magnet", uri)
    await page.getByRole("button", { name: "Add", exact: true }).click()
    await page.waitForSelector(row(id))
  })

const shoot = (page: Page, name: string) =>
  ui(async () => {
    fs.mkdirSync(screenshots, { recursive: true })
    const file = path.join(screenshots, `${name}.png`)
    await page.screenshot({ path: file, fullPage: true })
    return file
  })

/** The piece map's cells, read back from the canvas pixels: true where a cell is drawn in the "have" colour. */
const cellsDrawn = (page: Page) =>
  ui(() =>
    page.evaluate<ReadonlyArray<boolean>>(`(() => {
      const canvas = document.getElementById("piece-map")
      const ratio = canvas.width / parseFloat(canvas.style.width)
      const cell = Number(canvas.dataset.cellSize), columns = Number(canvas.dataset.columns)
      const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data
      const cells = []
      for (let i = 0; i < Number(canvas.dataset.pieceCount); i++) {
        const x = Math.floor(((i % columns) * cell + 1) * ratio), y = Math.floor((Math.floor(i / columns) * cell + 1) * ratio)
        const at = (y * canvas.width + x) * 4
        cells.push(pixels[at] === 0x2e && pixels[at + 1] === 0x8b && pixels[at + 2] === 0x57)
      }
      return cells
    })()`)
  )

/** Waits until `expression` (evaluated in the page) is true: the page's CSP allows no string predicates of
 *  waitForFunction, which evaluates them with eval. */
const waitTrue = (page: Page, expression: string) =>
  ui(async () => {
    const deadline = Date.now() + live.timeout
    while (!(await page.evaluate<boolean>(expression))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${expression}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  })

const scenario = <A>(body: Effect.Effect<A, unknown, SessionControl | MemoryControl | Scope.Scope>) =>
  body.pipe(Effect.scoped, Effect.provide(layer()))

interface Format {
  readonly formatBytes: (n: number) => string
  readonly formatRate: (n: number) => string
  readonly formatEta: (seconds: number, percentDone: number) => string
  readonly formatPercent: (fraction: number) => string
}

describe("web interface formatting (the page's own functions, run in Node)", () => {
  const format: Format = webFormat

  it("writes an ETA as the two largest units, infinity when unknown or stopped, done when complete", () => {
    expect([200, 59, 5 * 3600 + 7 * 60 + 30, 2 * 86400 + 3 * 3600 + 59].map((s) => format.formatEta(s, 0.5)))
      .toEqual(["3m 20s", "59s", "5h 7m", "2d 3h"])
    // Transmission's -1 (not available) and -2 (unknown), and a complete torrent whatever its eta.
    expect([format.formatEta(-1, 0.2), format.formatEta(-2, 0.2), format.formatEta(-1, 1), format.formatEta(30, 1)])
      .toEqual(["\u221e", "\u221e", "done", "done"])
  })

  it("writes sizes in binary units with three significant digits, and percentages rounded down", () => {
    expect([0, 1023, 1024, 131072, 1.5 * 2 ** 30, 5 * 2 ** 50].map(format.formatBytes))
      .toEqual(["0 B", "1023 B", "1.00 KiB", "128 KiB", "1.50 GiB", "5.00 PiB"])
    expect(format.formatRate(20480)).toBe("20.0 KiB/s")
    // 99.99% is not shown as 100%: that is kept for complete.
    expect([0, 0.5, 0.9999, 1].map(format.formatPercent)).toEqual(["0.0%", "50.0%", "99.9%", "100.0%"])
  })
})

describe("web interface", () => {
  requiredInCi(haveChromium, `${chromiumPath} is absent (apt-get install chromium)`)
  it.live("adds a .torrent from the file input and a magnet from the text field, and lists them by name", () =>
    scenario(Effect.gen(function*() {
      const { memory, outside, page, pageErrors, rpcStatuses } = yield* openUi(phone)
      yield* addFile(page, "ubuntu-like.iso.torrent", sample.bytes, 1)
      yield* addMagnet(page, magnet, 2)
      yield* addFile(page, "hostile.torrent", hostile.bytes, 3)

      // The session got the file's exact bytes, and the magnet as typed.
      const adds = memory.calls().filter((c) => c._tag === "add")
      expect(adds.map((c) => c.source._tag)).toEqual(["Metainfo", "Magnet", "Metainfo"])
      const first = adds[0]!.source
      expect(first._tag === "Metainfo" && Buffer.compare(Buffer.from(first.bytes), Buffer.from(sample.bytes))).toBe(0)
      expect(adds[1]!.source).toEqual({ _tag: "Magnet", uri: magnet })

      expect(yield* text(page, `${row(1)} .name`)).toBe("ubuntu-like.iso")
      expect(yield* text(page, `${row(1)} .size`)).toBe("128 KiB")
      expect(yield* text(page, `${row(1)} .status`)).toBe("Downloading")
      expect(yield* text(page, `${row(1)} .eta`)).toBe("\u221e")
      expect(yield* text(page, `${row(2)} .name`)).toBe("Linux Magnet")
      // A magnet without its metadata: neither 0% nor a size nor an ETA, but what it is doing.
      expect(yield* text(page, `${row(2)} .percent`)).toBe("fetching metadata")
      expect(yield* text(page, `${row(2)} .size`)).toBe("\u2013")
      expect(yield* text(page, `${row(2)} .eta`)).toBe("\u2013")
      expect(yield* text(page, "#status-line")).toBe(`Added ${hostileName}.`)
      // The markup in a name is shown, not obeyed.
      expect(yield* text(page, `${row(3)} .name`)).toBe(hostileName)
      expect(yield* ui(() => page.locator("#torrents img, #torrents b").count())).toBe(0)
      expect(yield* ui(() => page.evaluate<unknown>("window.hacked"))).toBeUndefined()

      // The same torrent again is reported as already there, not added twice.
      yield* ui(async () => {
        await page.setInputFiles("#add-file", { name: "again.torrent", mimeType: "application/x-bittorrent", buffer: Buffer.from(sample.bytes) })
        await page.click("#add-button")
        await page.waitForSelector("#status-line:text('Already there: ubuntu-like.iso.')")
      })
      expect(yield* ui(() => page.locator("tr.torrent").count())).toBe(3)
      // One 409 (the first request), then the session id was kept for every request after it.
      expect(rpcStatuses[0]).toBe(409)
      expect(rpcStatuses.slice(1).every((s) => s === 200)).toBe(true)
      expect(rpcStatuses.length).toBeGreaterThan(5)
      console.log(`web interface screenshot: ${yield* shoot(page, "phone-list")}`)
      expect(outside).toEqual([])
      expect(pageErrors).toEqual([])
    })), { timeout: 60_000 })

  it.live("follows a torrent's progress live: the bar, the percent, the status and the ETA", () =>
    scenario(Effect.gen(function*() {
      const { memory, page, pageErrors, rpcBodies } = yield* openUi(desktop)
      yield* addFile(page, "sample.torrent", sample.bytes, 1)
      const bar = `${row(1)} [role=progressbar]`
      expect(yield* ui(() => page.getAttribute(bar, "aria-valuenow"))).toBe("0")

      // Half verified at 512 B/s from a peer that has every piece: 65536 bytes left, 128 s. (Without a
      // peer that has what is left, Transmission's eta is "not available": infinite.)
      yield* memory.setProgress(1, 0.5)
      yield* memory.update(1, { peersConnected: 1, availability: Array.from({ length: 8 }, () => 1) })
      yield* memory.setRates(1, 512, 1000)
      yield* ui(() => page.waitForSelector(`${bar}[aria-valuenow="50"]`, live))
      yield* ui(() => page.waitForSelector(`${row(1)} .eta:text-is("2m 8s")`, live))
      expect(yield* text(page, `${row(1)} .percent`)).toBe("50.0%")
      expect(yield* ui(() => page.getAttribute(`${row(1)} .fill`, "style"))).toBe("width: 50%;")
      expect(yield* text(page, `${row(1)} .down`)).toBe("512 B/s")
      expect(yield* text(page, `${row(1)} .up`)).toBe("1000 B/s")
      expect(yield* text(page, "#totals")).toBe("\u2193 512 B/s  \u2191 1000 B/s")

      // A place in the queue, then a local error, as the session reports them.
      yield* memory.update(1, { status: 3 })
      yield* ui(() => page.waitForSelector(`${row(1)} .status:text-is("Queued")`, live))
      yield* memory.update(1, { status: 4, error: 3, errorString: "cannot write /downloads/ubuntu-like.iso: disk full" })
      yield* ui(() => page.waitForSelector(`${row(1)} .torrent-error:text-is("cannot write /downloads/ubuntu-like.iso: disk full")`, live))
      yield* memory.update(1, { error: 0, errorString: "" })
      yield* ui(() => page.waitForSelector(`${row(1)} .torrent-error`, { state: "hidden", ...live }))

      yield* memory.setProgress(1, 1)
      yield* ui(() => page.waitForSelector(`${row(1)}[data-status="6"] [role=progressbar][aria-valuenow="100"]`, live))
      expect(yield* text(page, `${row(1)} .status`)).toBe("Seeding")
      expect(yield* text(page, `${row(1)} .percent`)).toBe("100.0%")
      expect(yield* text(page, `${row(1)} .eta`)).toBe("done")

      // The list's poll asks for the list's fields only, never the detail's heavy ones.
      const listPolls = rpcBodies.filter((b) => b.method === "torrent-get" && b.arguments?.ids === undefined)
      expect(listPolls.length).toBeGreaterThan(1)
      for (const poll of listPolls) {
        expect(poll.arguments?.fields).toContain("percentDone")
        expect(poll.arguments?.fields).not.toContain("files")
        expect(poll.arguments?.fields).not.toContain("pieces")
        expect(poll.arguments?.fields).not.toContain("peers")
      }
      expect(pageErrors).toEqual([])
    })), { timeout: 60_000 })

  it.live("stops, starts, verifies and removes the rows picked and the torrent in the detail, and the session gets each call", () =>
    scenario(Effect.gen(function*() {
      const { memory, page, pageErrors } = yield* openUi(phone)
      yield* addFile(page, "sample.torrent", sample.bytes, 1)
      yield* addMagnet(page, magnet, 2)
      yield* addFile(page, "album.torrent", album.bytes, 3)
      const pick = (name: string) => page.getByRole("checkbox", { name: `Select ${name}`, exact: true })
      const command = (name: string) => page.locator(`#selection-bar button[data-command=${name}]`)
      // Nothing picked, nothing to do.
      expect(yield* ui(() => command("stop").isDisabled())).toBe(true)
      yield* ui(() => pick("ubuntu-like.iso").check())
      expect(yield* text(page, "#pick-count")).toBe("1 selected")
      // A running torrent cannot be started again.
      expect(yield* ui(() => command("start").isDisabled())).toBe(true)

      yield* ui(() => command("stop").click())
      yield* ui(() => page.waitForSelector(`${row(1)}[data-status="0"]`, live))
      expect(yield* text(page, `${row(1)} .status`)).toBe("Stopped")
      expect(yield* text(page, "#status-line")).toBe("Stopped ubuntu-like.iso.")
      expect(yield* ui(() => command("stop").isDisabled())).toBe(true)

      yield* ui(() => command("start").click())
      yield* ui(() => page.waitForSelector(`${row(1)}[data-status="4"]`, live))

      yield* ui(() => command("verify").click())
      yield* ui(() => page.waitForSelector(`${row(1)}[data-status="2"]`, live))
      expect(yield* text(page, `${row(1)} .status`)).toBe("Checking")

      // Two picked: one call for both.
      yield* ui(() => pick("Album").check())
      yield* ui(() => command("stop").click())
      yield* ui(() => page.waitForSelector(`${row(3)}[data-status="0"]`, live))
      expect(yield* text(page, "#status-line")).toBe("Stopped 2 torrents.")

      // The detail's Remove asks first: cancelling removes nothing.
      const detailButton = (name: string) => page.locator(`#detail-actions button[data-command=${name}]`)
      yield* ui(async () => {
        await page.click(`${row(2)} .name`)
        await detailButton("remove").click()
        await page.waitForSelector("#remove-dialog[open]")
        expect(await page.textContent("#remove-title")).toBe("Remove this torrent?")
        expect(await page.textContent("#remove-name")).toBe("Linux Magnet")
        await page.getByRole("button", { name: "Cancel", exact: true }).click()
      })
      expect(memory.calls().some((c) => c._tag === "remove")).toBe(false)
      expect(yield* ui(() => page.locator(row(2)).count())).toBe(1)

      yield* ui(async () => {
        await detailButton("remove").click()
        await page.getByLabel("Also delete the downloaded data").check()
        await page.click("#remove-confirm")
        await page.waitForSelector(row(2), { state: "detached", ...live })
        // Its detail closes with it: back to the list.
        await page.waitForSelector("#detail", { state: "hidden", ...live })
      })
      expect(yield* text(page, "#status-line")).toBe("Removed Linux Magnet and its data.")
      yield* ui(async () => {
        await command("remove").click()
        await page.waitForSelector("#remove-dialog[open]")
        expect(await page.textContent("#remove-title")).toBe("Remove these 2 torrents?")
        expect(await page.textContent("#remove-name")).toBe("ubuntu-like.iso, Album")
        await page.click("#remove-confirm")
        await page.waitForSelector("#empty:not([hidden])", live)
      })
      expect(yield* text(page, "#status-line")).toBe("Removed 2 torrents.")
      expect(memory.calls().filter((c) => c._tag !== "add")).toEqual([
        { _tag: "stop", which: [1] },
        { _tag: "start", which: [1] },
        { _tag: "verify", which: [1] },
        { _tag: "stop", which: [1, 3] },
        { _tag: "remove", which: [2], deleteData: true },
        { _tag: "remove", which: [1, 3], deleteData: false }
      ])
      expect(pageErrors).toEqual([])
    })), { timeout: 60_000 })

  it.live("shows the detail of a torrent: files, peers, trackers and a piece map of one cell per piece", () =>
    scenario(Effect.gen(function*() {
      const { memory, page, pageErrors, rpcBodies } = yield* openUi(phone)
      yield* addFile(page, "album.torrent", album.bytes, 1)
      yield* addFile(page, "sample.torrent", sample.bytes, 2)
      yield* memory.setProgress(1, 0.37)
      yield* memory.update(1, {
        peers: [
          { address: "127.0.0.2", port: 51413, clientName: "Transmission 4.0.6", peerId: "", rateToClient: 20480, rateToPeer: 0, bytesToClient: 0, bytesToPeer: 0, progress: 1, isDownloadingFrom: true, isUploadingTo: false, isIncoming: false },
          { address: "::1", port: 6881, clientName: "aria2/1.37.0", peerId: "", rateToClient: 0, rateToPeer: 512, bytesToClient: 0, bytesToPeer: 0, progress: 0.25, isDownloadingFrom: false, isUploadingTo: true, isIncoming: true }
        ],
        peersConnected: 2,
        trackers: [
          { announce, tier: 0, state: "working", lastError: "", peers: 12, seeders: -1, leechers: -1, nextAnnounceTime: 0 },
          { announce: "udp://127.0.0.1:9/announce", tier: 1, state: "failed", lastError: "connection refused", peers: 0, seeders: -1, leechers: -1, nextAnnounceTime: 0 }
        ]
      })
      yield* ui(() => page.click(`${row(1)} .name`))
      yield* ui(() => page.waitForSelector(`#piece-map[data-piece-count="300"]`, live))
      // On a phone the detail replaces the list.
      expect(yield* ui(() => page.isVisible("#list-section"))).toBe(false)
      expect(yield* text(page, "#detail-name")).toBe("Album")
      expect(yield* text(page, "#detail-pieces")).toBe("300 \u00d7 16.0 KiB")
      expect(yield* text(page, "#detail-status")).toBe("Downloading, 37.0%")

      // 37% of 4910200 bytes is 1816774: 110 whole pieces of 300, drawn wrapped, one cell each.
      const attribute = (name: string) => ui(async () => Number(await page.getAttribute("#piece-map", `data-${name}`)))
      const [have, columns, rows] = [yield* attribute("have"), yield* attribute("columns"), yield* attribute("rows")]
      expect(have).toBe(110)
      expect(rows).toBeGreaterThan(1)
      expect(columns * rows).toBeGreaterThanOrEqual(300)
      expect(columns * (rows - 1)).toBeLessThan(300)
      const cells = yield* cellsDrawn(page)
      expect(cells).toEqual(Array.from({ length: 300 }, (_, i) => i < 110))
      expect(yield* text(page, "#piece-summary")).toBe("110 of 300 pieces")

      const tableRows = (id: string) =>
        ui(() => page.evaluate<ReadonlyArray<ReadonlyArray<string>>>(
          `[...document.querySelectorAll("#${id} tbody tr")].map((tr) => [...tr.cells].map((td) => td.textContent))`
        ))
      // The second file has 1816774 - 1638400 = 178374 of its 3271800 bytes: 5.4%.
      // Each row: its box (downloaded or not), name, size, progress, priority list and play link.
      expect(yield* tableRows("files")).toEqual([
        ["", "Album/cd1/01 intro.flac", "1.56 MiB", "100.0%", "HighNormalLow", "play"],
        ["", "Album/cd1/02 song.flac", "3.12 MiB", "5.4%", "HighNormalLow", "play"]
      ])
      // Each file's play link: the daemon's stream of it.
      const links = yield* ui(() => page.evaluate<ReadonlyArray<string | null>>(
        `[...document.querySelectorAll("#files tbody a")].map((a) => a.getAttribute("href"))`
      ))
      expect(links.map((href) => href?.replace(/[0-9a-f]{40}/, "HASH"))).toEqual(["/stream/HASH/1", "/stream/HASH/2"])
      expect(yield* tableRows("peers")).toEqual([
        ["127.0.0.2:51413", "Transmission 4.0.6", "20.0 KiB/s", "0 B/s", "100.0%"],
        ["[::1]:6881", "aria2/1.37.0", "0 B/s", "512 B/s", "25.0%"]
      ])
      expect(yield* tableRows("trackers")).toEqual([
        [announce, "working", "12", "\u2013"],
        ["udp://127.0.0.1:9/announce", "failed", "0", "connection refused"]
      ])
      console.log(`web interface screenshot: ${yield* shoot(page, "phone-detail")}`)

      // Live in the detail too: the map follows the session.
      yield* memory.setProgress(1, 1)
      yield* ui(() => page.waitForSelector(`#piece-map[data-have="300"]`, live))
      expect(yield* cellsDrawn(page)).toEqual(Array.from({ length: 300 }, () => true))
      // The detail's fields are asked for the open torrent only.
      const detailPolls = rpcBodies.filter((b) => b.arguments?.fields?.includes("pieces"))
      expect(detailPolls.length).toBeGreaterThan(0)
      expect(detailPolls.every((b) => JSON.stringify(b.arguments?.ids) === "[1]")).toBe(true)

      // On a desktop the detail sits beside the list, its map redrawn to the wider panel; Back closes it.
      yield* ui(() => page.setViewportSize(desktop))
      yield* ui(() => page.waitForSelector(`#piece-map:not([data-columns="${columns}"])`, live))
      expect(yield* attribute("columns")).toBeGreaterThan(columns)
      expect(yield* ui(() => page.isVisible("#list-section"))).toBe(true)
      console.log(`web interface screenshot: ${yield* shoot(page, "desktop-detail")}`)
      yield* ui(() => page.click("#detail-close"))
      expect(yield* ui(() => page.isHidden("#detail"))).toBe(true)
      console.log(`web interface screenshot: ${yield* shoot(page, "desktop-list")}`)
      expect(pageErrors).toEqual([])
    })), { timeout: 60_000 })

  it.live("chooses in the detail which files to download and at what priority, through torrent-set", () =>
    scenario(Effect.gen(function*() {
      const { memory, page, pageErrors } = yield* openUi(phone)
      yield* addFile(page, "album.torrent", album.bytes, 1)
      yield* ui(() => page.click(`${row(1)} .name`))
      // The status line sits with the list, hidden on a phone while the detail is open: read, not seen.
      yield* ui(() => page.waitForSelector(`#files[data-rows="2"]`, live))
      const controls = ui(() => page.evaluate<ReadonlyArray<readonly [boolean, string]>>(
        `[...document.querySelectorAll("#files tbody tr")].map((tr) => [tr.querySelector("input.wanted").checked, tr.querySelector("select.priority").value])`
      ))
      expect(yield* controls).toEqual([[true, "0"], [true, "0"]])

      // The second file not downloaded, the first at high priority: one torrent-set each, for that file.
      yield* ui(() => page.getByRole("checkbox", { name: "Download Album/cd1/02 song.flac" }).uncheck())
      yield* ui(() => page.waitForSelector("#status-line:text('Album/cd1/02 song.flac: not downloaded')", { ...live, state: "attached" }))
      yield* ui(() => page.getByRole("combobox", { name: "Priority of Album/cd1/01 intro.flac" }).selectOption("High"))
      yield* ui(() => page.waitForSelector("#status-line:text('Album/cd1/01 intro.flac: high priority')", { ...live, state: "attached" }))
      expect(memory.calls().filter((c) => c._tag === "set")).toEqual([
        { _tag: "set", which: [1], settings: { files: { unwanted: [1] } } },
        { _tag: "set", which: [1], settings: { files: { high: [0] } } }
      ])
      expect(memory.torrent(1)?.files.map((f) => [f.wanted, f.priority])).toEqual([[true, 1], [false, 0]])
      // The next polls show what the session has (the rows kept, not made again).
      const before = yield* ui(() => page.evaluate<boolean>(`(window.firstRow = document.querySelector("#files tbody tr"), true)`))
      expect(before).toBe(true)
      yield* memory.setProgress(1, 0.5)
      yield* waitTrue(page, `document.querySelector("#files tbody tr .file-done").textContent === "100.0%"`)
      expect(yield* controls).toEqual([[true, "1"], [false, "0"]])
      expect(yield* ui(() => page.evaluate<boolean>(`window.firstRow === document.querySelector("#files tbody tr")`))).toBe(true)
      // Only the first file wanted: the torrent is complete once it is there.
      yield* memory.setProgress(1, 1_638_400 / 4_910_200)
      yield* waitTrue(page, `document.getElementById("detail-status").textContent === "Seeding, 100.0%"`)

      // Wanted again, at low priority.
      yield* ui(() => page.getByRole("checkbox", { name: "Download Album/cd1/02 song.flac" }).check())
      yield* ui(() => page.getByRole("combobox", { name: "Priority of Album/cd1/02 song.flac" }).selectOption("Low"))
      yield* ui(() => page.waitForSelector("#status-line:text('Album/cd1/02 song.flac: low priority')", { ...live, state: "attached" }))
      expect(memory.torrent(1)?.files.map((f) => [f.wanted, f.priority])).toEqual([[true, 1], [true, -1]])
      yield* waitTrue(page, `document.getElementById("detail-status").textContent.startsWith("Downloading")`)
      console.log(`web interface screenshot: ${yield* shoot(page, "phone-files")}`)
      expect(pageErrors).toEqual([])
    })), { timeout: 60_000 })

  it.live("shows the session's refusals in the status line, and adds what it can of a mixed request", () =>
    scenario(Effect.gen(function*() {
      const { memory, page, pageErrors } = yield* openUi(phone)
      yield* ui(async () => {
        await page.setInputFiles("#add-file", { name: "broken.torrent", mimeType: "application/x-bittorrent", buffer: Buffer.from("d4:infoi3ee") })
        await page.click("#add-button")
        await page.waitForSelector("#status-line.error")
      })
      expect(yield* text(page, "#status-line")).toMatch(/^Cannot add broken\.torrent: invalid or corrupt torrent file/)
      expect(yield* ui(() => page.locator("tr.torrent").count())).toBe(0)

      // A good file and a bad link in one go: the file is added, the link refused and left to correct.
      yield* ui(async () => {
        await page.setInputFiles("#add-file", { name: "sample.torrent", mimeType: "application/x-bittorrent", buffer: Buffer.from(sample.bytes) })
        await page.fill("#add-magnet", "magnet:?dn=no-hash")
        await page.click("#add-button")
        await page.waitForSelector(row(1), live)
        await page.waitForSelector("#status-line:text('Cannot add the link')", live)
      })
      expect(yield* text(page, "#status-line")).toMatch(/^Added ubuntu-like\.iso\. Cannot add the link: invalid magnet link/)
      expect(yield* ui(() => page.getAttribute("#status-line", "class"))).toBe("error")
      expect(yield* ui(() => page.inputValue("#add-magnet"))).toBe("magnet:?dn=no-hash")
      expect(yield* ui(() => page.inputValue("#add-file"))).toBe("")
      expect(memory.calls().map((c) => c._tag === "add" ? c.source._tag : c._tag)).toEqual(["Metainfo", "Metainfo", "Magnet"])
      expect(yield* ui(() => page.locator("tr.torrent").count())).toBe(1)
      expect(pageErrors).toEqual([])
    })), { timeout: 60_000 })
})

/**
 * The web interface against a real daemon (the built `bt-effect daemon`, on loopback, without DHT) in a
 * real headless Chromium: the table of torrents (sorting, state filters, search, multi-select actions), a
 * magnet fetching its metadata, copying magnet links, and the settings panel, each checked through the
 * daemon's own RPC as well as on the page.
 *
 * The daemon holds four torrents: one seeding (its data written beforehand), one added stopped, one
 * running with no peer to get anything from, and a magnet whose one tracker refuses, which on a daemon
 * without DHT fetches its metadata for as long as the test runs. Screenshots (desktop 1280x800 and phone 390x844) go
 * to the folder the other web test uses.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { background, stop } from "../support/cli.js"
import { requiredInCi } from "../support/skips.js"
import { makeTorrent, randomBytes } from "../support/torrents.js"

const chromiumPath = "/usr/bin/chromium"
const haveChromium = fs.existsSync(chromiumPath)
const screenshots = path.join(os.tmpdir(), "bt-effect-webui-screenshots")
const phone = { width: 390, height: 844 }
const desktop = { width: 1280, height: 800 }
/** How long the page may take to show a change: the poll is every second (the rest is room for a loaded CI). */
const live = { timeout: 8_000 }

const root = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-webui-daemon-"))
const downloads = path.join(root, "downloads")

const single = (name: string, length: number, seed: number) =>
  makeTorrent({ name, pieceLength: 16384, files: [{ path: [name], data: randomBytes(length, seed) }] })
const seeded = single("alpha-seeded.bin", 64 * 1024, 11)
const stopped = single("beta-stopped.bin", 256 * 1024, 12)
const waiting = single("gamma-waiting.bin", 128 * 1024, 13)
const magnetName = "Delta Magnet"
// Its one tracker on loopback's discard port refuses every announce (a magnet with no tracker at all, on a
// daemon without DHT, is stopped at once with an error: nowhere to look).
const magnet = `magnet:?xt=urn:btih:${"d1".repeat(20)}&dn=${encodeURIComponent(magnetName)}&tr=${encodeURIComponent("http://127.0.0.1:9/announce")}`
const names = { seeded: "alpha-seeded.bin", stopped: "beta-stopped.bin", waiting: "gamma-waiting.bin", magnet: magnetName }

interface RpcReply {
  readonly result: string
  readonly arguments?: { readonly [key: string]: unknown }
}

let daemon: Awaited<ReturnType<typeof background>> | undefined
let base = ""
let sessionId = ""
let browser: Browser | undefined

/** A call to the daemon's RPC from the test (the classic dialect, as the page speaks it). */
const rpc = async (method: string, args: object = {}): Promise<RpcReply> => {
  for (let attempt = 0; attempt < 2; attempt++) {
    const response = await fetch(`${base}/transmission/rpc`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Transmission-Session-Id": sessionId },
      body: JSON.stringify({ method, arguments: args })
    })
    if (response.status === 409) {
      sessionId = response.headers.get("X-Transmission-Session-Id") ?? ""
      continue
    }
    return (await response.json()) as RpcReply
  }
  throw new Error("the daemon kept answering 409")
}

interface Seen {
  readonly id: number
  readonly name: string
  readonly status: number
  readonly magnetLink: string
}

const torrents = async (): Promise<ReadonlyArray<Seen>> =>
  ((await rpc("torrent-get", { fields: ["id", "name", "status", "magnetLink"] })).arguments?.["torrents"] ?? []) as ReadonlyArray<Seen>

const statusOf = async (name: string): Promise<number | undefined> => (await torrents()).find((t) => t.name === name)?.status

const settings = async (): Promise<{ readonly [key: string]: unknown }> => (await rpc("session-get")).arguments ?? {}

/** Polls `check` until it holds (every 100 ms, up to `ms`). */
const until = async (what: string, check: () => Promise<boolean>, ms = 15_000) => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const addTorrent = async (args: object) => {
  const reply = await rpc("torrent-add", args)
  expect(reply.result).toBe("success")
}

beforeAll(async () => {
  fs.mkdirSync(downloads, { recursive: true })
  fs.writeFileSync(path.join(downloads, names.seeded), seeded.payload)
  daemon = await background(
    ["daemon", "--rpc-port", "0", "--peer-port", "0", "--download-dir", downloads, "--state", path.join(root, "state"), "--no-dht"],
    /daemon: web interface (http:\/\/127\.0\.0\.1:\d+)\//,
    30_000
  )
  base = daemon.match[1]!
  const metainfo = (t: { readonly bytes: Uint8Array }) => Buffer.from(t.bytes).toString("base64")
  await addTorrent({ metainfo: metainfo(seeded) })
  await addTorrent({ metainfo: metainfo(stopped), paused: true })
  await addTorrent({ metainfo: metainfo(waiting) })
  await addTorrent({ filename: magnet })
  await until("the seeded torrent seeds", async () => (await statusOf(names.seeded)) === 6)
}, 60_000)

afterAll(async () => {
  await browser?.close()
  if (daemon !== undefined) await stop(daemon.child)
  fs.rmSync(root, { recursive: true, force: true })
}, 30_000)

interface Opened {
  readonly context: BrowserContext
  readonly page: Page
  readonly pageErrors: Array<string>
  /** The RPC calls the page made: method, arguments and the result the daemon answered. */
  readonly calls: Array<{ readonly method: string; readonly arguments: { readonly [key: string]: unknown }; readonly result: string }>
}

const openPage = async (viewport: { width: number; height: number }): Promise<Opened> => {
  browser ??= await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"], timeout: 30_000 })
  const context = await browser.newContext({ viewport })
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  const opened: Opened = { context, page, pageErrors: [], calls: [] }
  page.on("pageerror", (e) => opened.pageErrors.push(e.message))
  page.on("response", async (response) => {
    if (!response.url().endsWith("/transmission/rpc") || response.status() !== 200) return
    const body = JSON.parse(response.request().postData() ?? "{}") as { method: string; arguments?: { [key: string]: unknown } }
    const reply = (await response.json().catch(() => ({ result: "unreadable" }))) as RpcReply
    opened.calls.push({ method: body.method, arguments: body.arguments ?? {}, result: reply.result })
  })
  await page.goto(`${base}/`)
  await page.waitForSelector("tr.torrent >> nth=3")
  return opened
}

const shoot = async (page: Page, name: string) => {
  fs.mkdirSync(screenshots, { recursive: true })
  const file = path.join(screenshots, `${name}.png`)
  await page.screenshot({ path: file, fullPage: true })
  console.log(`web interface screenshot: ${file}`)
}

/** The names in the table, top to bottom. */
const shownNames = (page: Page) => page.locator("#torrents-body tr.torrent .name").allTextContents()

const rowOf = (page: Page, name: string) => page.locator("#torrents-body tr.torrent", { has: page.getByRole("button", { name: `Details of ${name}`, exact: true }) })

/** Waits until the table shows these names, in this order. */
const expectOrder = async (page: Page, order: ReadonlyArray<string>) => {
  await expect.poll(() => shownNames(page), live).toEqual(order)
}

const count = (page: Page, filter: string) => page.textContent(`button[data-filter="${filter}"] .count`)

describe("web interface on a real daemon", () => {
  requiredInCi(haveChromium, `${chromiumPath} is absent (apt-get install chromium)`)

  it("sorts by a column's header, both ways, and keeps the order for the next visit", async () => {
    const { context, page, pageErrors } = await openPage(desktop)
    // The default: the order they were added in.
    await expectOrder(page, [names.seeded, names.stopped, names.waiting, names.magnet])
    await page.click("th[data-sort=name] button")
    await expectOrder(page, [names.seeded, names.stopped, names.magnet, names.waiting])
    expect(await page.getAttribute("th[data-sort=name]", "aria-sort")).toBe("ascending")
    await page.click("th[data-sort=name] button")
    await expectOrder(page, [names.waiting, names.magnet, names.stopped, names.seeded])
    expect(await page.getAttribute("th[data-sort=name]", "aria-sort")).toBe("descending")
    // By size: the magnet, whose size is not known yet, first.
    await page.click("th[data-sort=size] button")
    await expectOrder(page, [names.magnet, names.seeded, names.waiting, names.stopped])
    expect(await page.getAttribute("th[data-sort=name]", "aria-sort")).toBeNull()
    expect(await page.getAttribute("th[data-sort=size]", "aria-sort")).toBe("ascending")
    // The seeded one's row: its facts in its columns.
    const row = rowOf(page, names.seeded)
    expect(await row.locator(".status").textContent()).toBe("Seeding")
    expect(await row.locator(".percent").textContent()).toBe("100.0%")
    expect(await row.locator(".size").textContent()).toBe("64.0 KiB")
    expect(await row.locator(".ratio").textContent()).toBe("0.00")
    expect(await row.locator(".uploaded").textContent()).toBe("0 B")
    expect(await row.locator(".added").textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d$/)
    await shoot(page, "daemon-desktop-table")

    await page.reload()
    await page.waitForSelector("tr.torrent >> nth=3")
    await expectOrder(page, [names.magnet, names.seeded, names.waiting, names.stopped])
    expect(await page.getAttribute("th[data-sort=size]", "aria-sort")).toBe("ascending")
    expect(pageErrors).toEqual([])
    await context.close()
  }, 60_000)

  it("filters by state with a count for each, and searches names whatever their case", async () => {
    const { context, page, pageErrors } = await openPage(desktop)
    await expect.poll(() => count(page, "all"), live).toBe("4")
    expect(await count(page, "downloading")).toBe("2")
    expect(await count(page, "seeding")).toBe("1")
    expect(await count(page, "stopped")).toBe("1")
    expect(await count(page, "checking")).toBe("0")
    expect(await count(page, "error")).toBe("0")
    expect(await count(page, "active")).toBe("0")

    await page.click("button[data-filter=seeding]")
    await expectOrder(page, [names.seeded])
    expect(await page.getAttribute("button[data-filter=seeding]", "aria-pressed")).toBe("true")
    await page.click("button[data-filter=stopped]")
    await expectOrder(page, [names.stopped])
    await page.click("button[data-filter=downloading]")
    await expectOrder(page, [names.waiting, names.magnet])
    await page.click("button[data-filter=active]")
    await expectOrder(page, [])
    expect(await page.textContent("#empty")).toBe("No torrent matches.")

    await page.click("button[data-filter=all]")
    await page.fill("#search", "ALPHA")
    await expectOrder(page, [names.seeded])
    await page.fill("#search", "mag")
    await expectOrder(page, [names.magnet])
    await page.fill("#search", ".bin")
    await expectOrder(page, [names.seeded, names.stopped, names.waiting])
    // Search and filter together: a .bin that is downloading.
    await page.click("button[data-filter=downloading]")
    await expectOrder(page, [names.waiting])
    // The counts are of the whole list, whatever the search.
    expect(await count(page, "all")).toBe("4")
    await page.fill("#search", "")
    await expectOrder(page, [names.waiting, names.magnet])
    expect(pageErrors).toEqual([])
    await context.close()
  }, 60_000)

  it("acts on the rows picked, and only on them: a shift-click picks a range, the header's box the rows shown", async () => {
    const { context, calls, page, pageErrors } = await openPage(desktop)
    await page.click("th[data-sort=name] button")
    await expectOrder(page, [names.seeded, names.stopped, names.magnet, names.waiting])
    const pick = (name: string) => page.getByRole("checkbox", { name: `Select ${name}`, exact: true })
    const button = (command: string) => page.locator(`#selection-bar button[data-command=${command}]`)
    expect(await button("stop").isDisabled()).toBe(true)

    // alpha, then shift-click the magnet: alpha, beta and the magnet; then beta dropped.
    await pick(names.seeded).click()
    await pick(names.magnet).click({ modifiers: ["Shift"] })
    expect(await page.textContent("#pick-count")).toBe("3 selected")
    expect(await pick(names.stopped).isChecked()).toBe(true)
    expect(await pick(names.waiting).isChecked()).toBe(false)
    await pick(names.stopped).click()
    expect(await page.textContent("#pick-count")).toBe("2 selected")
    await shoot(page, "daemon-desktop-selection")

    await button("stop").click()
    await until("the two picked stop", async () => (await statusOf(names.seeded)) === 0 && (await statusOf(names.magnet)) === 0)
    expect(await statusOf(names.waiting)).toBe(4)
    expect(await statusOf(names.stopped)).toBe(0)
    const ids = new Map((await torrents()).map((t) => [t.name, t.id]))
    // The page's one call, with these two ids (its response may be read after the daemon acted: polled).
    const idsOf = (method: string) => calls.filter((c) => c.method === method).map((c) => c.arguments["ids"])
    await expect.poll(() => idsOf("torrent-stop"), live).toEqual([[ids.get(names.seeded), ids.get(names.magnet)]])
    await expect.poll(() => rowOf(page, names.seeded).locator(".status").textContent(), live).toBe("Stopped")

    // Start: the same two run again, beta stays stopped.
    await expect.poll(() => button("start").isDisabled(), live).toBe(false)
    await button("start").click()
    await until("the two picked start", async () => (await statusOf(names.seeded)) === 6 && (await statusOf(names.magnet)) === 4)
    expect(await statusOf(names.stopped)).toBe(0)
    await expect.poll(() => idsOf("torrent-start"), live).toEqual([[ids.get(names.seeded), ids.get(names.magnet)]])

    // The header's box picks the rows shown only: with the filter on Downloading, gamma and the magnet.
    await page.click("button[data-filter=downloading]")
    await expectOrder(page, [names.magnet, names.waiting])
    expect(await page.textContent("#pick-count")).toBe("1 selected")
    await page.check("#pick-all")
    expect(await page.textContent("#pick-count")).toBe("2 selected")
    await page.click("button[data-filter=all]")
    expect(await page.textContent("#pick-count")).toBe("2 selected")
    expect(await pick(names.seeded).isChecked()).toBe(false)
    // Some of the rows shown picked: the header's box is neither on nor off; a click picks them all, another none.
    expect(await page.evaluate<boolean>(`document.getElementById("pick-all").indeterminate`)).toBe(true)
    await page.click("#pick-all")
    expect(await page.textContent("#pick-count")).toBe("4 selected")
    await page.click("#pick-all")
    expect(await page.textContent("#pick-count")).toBe("None selected")
    expect(pageErrors).toEqual([])
    await context.close()
  }, 60_000)

  it("says a magnet is fetching its metadata, and copies magnet links, through the clipboard or a selected field", async () => {
    const { context, page, pageErrors } = await openPage(phone)
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base })
    const row = rowOf(page, names.magnet)
    await expect.poll(() => row.locator(".percent").textContent(), live).toBe("fetching metadata")
    expect(await row.locator(".size").textContent()).toBe("\u2013")
    expect(await row.locator(".eta").textContent()).toBe("\u2013")
    expect(await row.locator("[role=progressbar]").getAttribute("aria-valuenow")).toBeNull()
    expect(await row.innerText()).not.toMatch(/0\.0%|\u221e|size unknown/)

    // On a phone: no page wider than the screen, and the list itself needs no sideways scroll.
    expect(await page.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(phone.width)
    expect(await page.evaluate<number>(`(() => {
      const box = document.querySelector(".table-box")
      return box.scrollWidth - box.clientWidth
    })()`)).toBe(0)
    await shoot(page, "daemon-phone-table")

    const link = (await torrents()).find((t) => t.name === names.magnet)!.magnetLink
    expect(link).toMatch(/^magnet:\?xt=urn:btih:d1d1/)
    await page.getByRole("checkbox", { name: `Select ${names.magnet}`, exact: true }).click()
    await shoot(page, "daemon-phone-selection")
    await page.click("#selection-bar button[data-command=copy]")
    await page.waitForSelector("#status-line:text-is('Copied the magnet link.')", live)
    expect(await page.evaluate<string>("navigator.clipboard.readText()")).toBe(link)

    // From the detail view, as well; its size and status say why nothing is known yet.
    await page.evaluate("navigator.clipboard.writeText('')")
    await row.locator(".name").click()
    await page.waitForSelector("#detail-status:text-is('Downloading, fetching metadata')", live)
    expect(await page.textContent("#detail-size")).toBe("unknown until the metadata is in")
    await page.click("#detail-actions button[data-command=copy]")
    await expect.poll(() => page.evaluate<string>("navigator.clipboard.readText()"), live).toBe(link)
    await shoot(page, "daemon-phone-detail-magnet")

    // Where the page has no clipboard (plain http from another machine), the link in a selected field.
    await page.evaluate(`Object.defineProperty(Navigator.prototype, "clipboard", { get: () => undefined })`)
    await page.click("#detail-actions button[data-command=copy]")
    await page.waitForSelector("#copy-dialog[open]")
    expect(await page.inputValue("#copy-field")).toBe(link)
    expect(await page.evaluate<boolean>(`(() => {
      const field = document.getElementById("copy-field")
      return document.activeElement === field && field.selectionStart === 0 && field.selectionEnd === field.value.length
    })()`)).toBe(true)
    await shoot(page, "daemon-phone-copy-fallback")
    await page.click("#copy-dialog button")
    expect(await page.isVisible("#copy-dialog")).toBe(false)
    expect(pageErrors).toEqual([])
    await context.close()
  }, 60_000)

  it("shows the daemon's settings, saves only what changed, shows the limit in force, and quotes a refusal", async () => {
    const before = await settings()
    // Windows tall enough for the whole panel to show in the screenshots.
    for (const [viewport, name] of [[{ width: phone.width, height: 1500 }, "phone"], [{ width: desktop.width, height: 1100 }, "desktop"]] as const) {
      const { context, page } = await openPage(viewport)
      await page.click("#settings-open")
      await page.waitForSelector("#settings-save:not([disabled])")
      await shoot(page, `daemon-${name}-settings`)
      await context.close()
    }
    const { calls, context, page, pageErrors } = await openPage(desktop)
    await page.click("#settings-open")
    await page.waitForSelector("#settings-save:not([disabled])")
    // What session-get said, in the panel.
    expect(await page.inputValue("#set-download-dir")).toBe(before["download-dir"])
    expect(await page.inputValue("#set-peer-port")).toBe(String(before["peer-port"]))
    expect(await page.inputValue("#set-download-queue-size")).toBe(String(before["download-queue-size"]))
    expect(await page.isChecked("#set-speed-limit-down-enabled")).toBe(before["speed-limit-down-enabled"])
    expect(await page.isChecked("#set-dht-enabled")).toBe(false)
    expect(await page.inputValue("#set-seedRatioLimit")).toBe(String(before["seedRatioLimit"]))

    // A download limit: session-set gets those two settings and no other; session-get then has them.
    await page.check("#set-speed-limit-down-enabled")
    await page.fill("#set-speed-limit-down", "250")
    await page.fill("#set-download-queue-size", String(Number(before["download-queue-size"]) + 2))
    await page.click("#settings-save")
    await page.waitForSelector("#settings-dialog", { state: "hidden", ...live })
    expect(await page.textContent("#status-line")).toBe("Settings saved (3 changes).")
    const sets = () => calls.filter((c) => c.method === "session-set").map((c) => Object.keys(c.arguments).sort())
    await expect.poll(sets, live).toEqual([["download-queue-size", "speed-limit-down", "speed-limit-down-enabled"]])
    const after = await settings()
    expect([after["speed-limit-down-enabled"], after["speed-limit-down"], after["download-queue-size"]])
      .toEqual([true, 250, Number(before["download-queue-size"]) + 2])
    // The limit in force, in the status bar.
    await page.waitForSelector("#totals:has-text('(limit 250 kB/s)')", live)
    expect(await page.textContent("#totals")).toMatch(/^\u2193 \d+ B\/s \(limit 250 kB\/s\) {2}\u2191 /)

    // DHT cannot be switched on in a daemon started without it: the daemon's refusal, word for word, and
    // the upload limit asked in the same save is not applied.
    await page.click("#settings-open")
    await page.waitForSelector("#settings-save:not([disabled])")
    await page.check("#set-dht-enabled")
    await page.check("#set-speed-limit-up-enabled")
    await page.fill("#set-speed-limit-up", "77")
    await page.click("#settings-save")
    await page.waitForSelector("#settings-message.error", live)
    await expect.poll(() => calls.filter((c) => c.method === "session-set").length, live).toBe(2)
    const refused = calls.filter((c) => c.method === "session-set").at(-1)!
    expect(refused.result).toMatch(/^not supported: dht-enabled.*\(nothing was changed\)$/)
    expect(await page.textContent("#settings-message")).toBe(`The daemon refused: ${refused.result}`)
    expect(await page.isVisible("#settings-dialog")).toBe(true)
    await shoot(page, "daemon-desktop-settings-refused")
    const unchanged = await settings()
    expect([unchanged["speed-limit-up-enabled"], unchanged["dht-enabled"]]).toEqual([before["speed-limit-up-enabled"], false])

    // Cancel leaves everything as it is; the limit goes off again.
    await page.click("#settings-cancel")
    await rpc("session-set", { "speed-limit-down-enabled": false, "download-queue-size": before["download-queue-size"] })
    expect(pageErrors).toEqual([])
    await context.close()
  }, 90_000)

  it("switches the alternative speeds from the status bar, shows them in force, and saves their schedule and the seeding goals", async () => {
    const before = await settings()
    const { calls, context, page, pageErrors } = await openPage(desktop)
    await page.waitForSelector("#alt-speed[aria-pressed=false]:text-is('Alt speeds off')", live)
    await page.click("#alt-speed")
    await until("alternative speeds on", async () => (await settings())["alt-speed-enabled"] === true)
    await page.waitForSelector("#alt-speed[aria-pressed=true]", live)
    const alt = `(alt limit ${before["alt-speed-down"]} kB/s)`
    await page.waitForSelector(`#totals:has-text("${alt}")`, live)
    expect(await page.textContent("#totals")).toContain(`\u2191 0 B/s (alt limit ${before["alt-speed-up"]} kB/s)`)

    await page.click("#settings-open")
    await page.waitForSelector("#settings-save:not([disabled])")
    expect(await page.isChecked("#set-alt-speed-enabled")).toBe(true)
    await page.fill("#set-alt-speed-down", "40")
    await page.check("#set-alt-speed-time-enabled")
    await page.fill("#set-alt-speed-time-begin", "08:30")
    await page.fill("#set-alt-speed-time-end", "18:00")
    for (const day of ["sat", "sun"]) await page.uncheck(`#set-day-${day}`)
    await page.check("#set-seedRatioLimited")
    await page.fill("#set-seedRatioLimit", "1.5")
    await page.check("#set-idle-seeding-limit-enabled")
    await page.fill("#set-idle-seeding-limit", "45")
    await shoot(page, "daemon-desktop-settings-edited")
    await page.click("#settings-save")
    await page.waitForSelector("#settings-dialog", { state: "hidden", ...live })
    const saved = await settings()
    expect({
      down: saved["alt-speed-down"], scheduled: saved["alt-speed-time-enabled"], begin: saved["alt-speed-time-begin"],
      end: saved["alt-speed-time-end"], days: saved["alt-speed-time-day"], ratio: saved["seedRatioLimit"],
      ratioOn: saved["seedRatioLimited"], idle: saved["idle-seeding-limit"], idleOn: saved["idle-seeding-limit-enabled"]
    }).toEqual({ down: 40, scheduled: true, begin: 510, end: 1080, days: 62, ratio: 1.5, ratioOn: true, idle: 45, idleOn: true })
    // Only what changed was sent (the alternative speeds' switch, for one, was not).
    await expect.poll(() => calls.filter((c) => c.method === "session-set").map((c) => Object.keys(c.arguments).sort()), live).toEqual([
      ["alt-speed-enabled"],
      ["alt-speed-down", "alt-speed-time-begin", "alt-speed-time-day", "alt-speed-time-enabled", "alt-speed-time-end",
        "idle-seeding-limit", "idle-seeding-limit-enabled", "seedRatioLimit", "seedRatioLimited"]
    ])
    await page.waitForSelector("#alt-speed:has-text('scheduled 08:30\u201318:00')", live)
    await shoot(page, "daemon-desktop-alt-speeds")
    expect(pageErrors).toEqual([])
    await context.close()
    await rpc("session-set", {
      "alt-speed-enabled": false, "alt-speed-time-enabled": false, "alt-speed-down": before["alt-speed-down"],
      seedRatioLimited: false, "idle-seeding-limit-enabled": false
    })
  }, 60_000)
})

/**
 * qbittorrent-nox (Debian 4.5.2), the reference for bt-effect's qBittorrent WebUI API (issue 22), run by
 * test/support/qbittorrentNox.ts: it starts on loopback with a fresh profile, refuses the API without a
 * session, logs in, answers app/webapiVersion and an empty torrents/info, takes a
 * magnet by multipart torrents/add, and stops by PID. The comparison
 * of bt-effect's answers with these grows here.
 */
import { afterAll, describe, expect, it } from "vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { stopAll, tempDir } from "../support/interop.js"
import { type QbittorrentNox, qbittorrentNoxVersion, startQbittorrentNox } from "../support/qbittorrentNox.js"
import { requiredInCi } from "../support/skips.js"

const version = qbittorrentNoxVersion()

describe("qbittorrent-nox, the WebUI API reference", () => {
  requiredInCi(version !== undefined, "qbittorrent-nox is not installed (Debian: apt-get install -y qbittorrent-nox)")
  const dir = tempDir("bt-effect-qbt-test-")
  afterAll(async () => {
    await stopAll()
    dir.remove()
  })

  it("starts on loopback, wants a session, logs in, reads app/webapiVersion and torrents/info, adds a magnet, stops", async () => {
    const qbt: QbittorrentNox = await startQbittorrentNox({ address: "127.0.0.1", saveDir: path.join(dir.path, "downloads"), password: "s3cret-pass" })
    try {
      // The PID we stop by is qbittorrent-nox's own (started through `env -C`, which execs it).
      if (fs.existsSync(`/proc/${qbt.pid}/comm`)) expect(fs.readFileSync(`/proc/${qbt.pid}/comm`, "utf8")).toMatch(/^qbittorrent-no/)
      const anonymous = await qbt.call("app/webapiVersion", {}, { cookie: null })
      expect(anonymous.status, qbt.logTail()).toBe(403)

      const cookie = await qbt.login()
      expect(cookie).toMatch(/^SID=[A-Za-z0-9+/]{32}$/)

      const api = await qbt.call("app/webapiVersion")
      expect(api.status).toBe(200)
      expect(api.contentType).toBe("text/plain; charset=UTF-8")
      expect(api.text).toMatch(/^2\.\d+\.\d+$/)

      const info = await qbt.call("torrents/info", { filter: "all" })
      expect(info.status).toBe(200)
      expect(info.contentType).toBe("application/json")
      expect(info.json()).toEqual([])

      // A multipart add (as torrents/add takes it) of a magnet that no peer serves: listed, paused.
      const hash = "00112233445566778899aabbccddeeff00112233"
      const form = new FormData()
      form.append("urls", `magnet:?xt=urn:btih:${hash}&dn=lonely`)
      form.append("paused", "true")
      const added = await qbt.call("torrents/add", {}, { method: "POST", body: form })
      expect([added.status, added.text]).toEqual([200, "Ok."])
      let listed: unknown = []
      for (let i = 0; i < 50 && Array.isArray(listed) && listed.length === 0; i++) {
        listed = (await qbt.call("torrents/info", { hashes: hash })).json()
        if (Array.isArray(listed) && listed.length === 0) await new Promise((resolve) => setTimeout(resolve, 100))
      }
      expect(listed).toMatchObject([{ hash, name: "lonely", state: "pausedDL" }])

      const saved = await qbt.call("app/defaultSavePath")
      expect(saved.text).toBe(path.join(dir.path, "downloads"))
      const wrong = await qbt.call("auth/login", { username: "admin", password: "nope" }, { method: "POST", cookie: null })
      expect([wrong.status, wrong.text]).toEqual([200, "Fails."])
    } finally {
      await qbt.stop()
    }
    expect(() => process.kill(qbt.pid, 0)).toThrow()
  })
})

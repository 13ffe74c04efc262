/**
 * The qBittorrent API's logins (QbtAuth.ts): the session cookie, the ban after five failures from one
 * address (and only that address) for banSeconds, sessions that end unused after sessionSeconds, logout,
 * the open door without credentials, and tables that stay bounded under a flood.
 */
import { describe, expect, it } from "vitest"
import * as QbtAuth from "../../../src/services/qbittorrent/QbtAuth.js"

const credentials = { username: "admin", password: "secret" }

/** An auth whose clock the test moves (milliseconds). */
const withClock = (options: Omit<QbtAuth.AuthOptions, "now"> = { credentials }) => {
  let t = 1_000_000
  const auth = QbtAuth.make({ ...options, now: () => t })
  return { auth, advance: (seconds: number) => void (t += seconds * 1000) }
}

const sidOf = (outcome: QbtAuth.LoginOutcome): string => {
  if (outcome._tag !== "Ok" || outcome.sid === undefined) throw new Error(`no session: ${JSON.stringify(outcome)}`)
  return outcome.sid
}

describe("qBittorrent API: logins", () => {
  it("the right credentials give a session cookie, the wrong ones Fails", () => {
    const { auth } = withClock()
    expect(auth.required).toBe(true)
    const sid = sidOf(auth.login("127.0.0.1", "admin", "secret", undefined))
    expect(sid).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(auth.check(sid)).toBe(true)
    expect(auth.login("127.0.0.1", "admin", "wrong", undefined)).toEqual({ _tag: "Fails" })
    expect(auth.login("127.0.0.1", "root", "secret", undefined)).toEqual({ _tag: "Fails" })
    expect(auth.login("127.0.0.1", "", "", undefined)).toEqual({ _tag: "Fails" })
    // A prefix or a longer password is not the password.
    expect(auth.login("127.0.0.1", "admin", "secre", undefined)).toEqual({ _tag: "Fails" })
    expect(auth.check("made-up")).toBe(false)
    expect(auth.check(undefined)).toBe(false)
    // Two logins: two sessions, each live.
    const other = sidOf(auth.login("127.0.0.2", "admin", "secret", undefined))
    expect(other).not.toBe(sid)
    expect(auth.check(sid) && auth.check(other)).toBe(true)
  })

  it("a client logged in already keeps its session: no new cookie", () => {
    const { auth } = withClock()
    const sid = sidOf(auth.login("127.0.0.1", "admin", "secret", undefined))
    expect(auth.login("127.0.0.1", "admin", "secret", sid)).toEqual({ _tag: "Ok", sid: undefined })
    // A dead cookie gets a new session.
    expect(sidOf(auth.login("127.0.0.1", "admin", "secret", "stale"))).not.toBe(sid)
  })

  it("five failures ban the address: the sixth attempt is Banned, the right password too; other addresses go on", () => {
    const { auth } = withClock()
    for (let i = 1; i <= 5; i++) {
      expect(auth.banned("127.0.0.9")).toBe(false)
      expect(auth.login("127.0.0.9", "admin", `bad${i}`, undefined)).toEqual({ _tag: "Fails" })
    }
    expect(auth.banned("127.0.0.9")).toBe(true)
    expect(auth.login("127.0.0.9", "admin", "bad", undefined)).toEqual({ _tag: "Banned" })
    expect(auth.login("127.0.0.9", "admin", "secret", undefined)).toEqual({ _tag: "Banned" })
    expect(auth.banned("127.0.0.10")).toBe(false)
    expect(auth.check(sidOf(auth.login("127.0.0.10", "admin", "secret", undefined)))).toBe(true)
  })

  it("the ban ends after banSeconds", () => {
    const { advance, auth } = withClock({ credentials, banSeconds: 10 })
    for (let i = 0; i < 5; i++) auth.login("127.0.0.9", "admin", "bad", undefined)
    advance(9.9)
    expect(auth.banned("127.0.0.9")).toBe(true)
    expect(auth.login("127.0.0.9", "admin", "secret", undefined)).toEqual({ _tag: "Banned" })
    advance(0.2)
    expect(auth.banned("127.0.0.9")).toBe(false)
    expect(auth.check(sidOf(auth.login("127.0.0.9", "admin", "secret", undefined)))).toBe(true)
    // The count began again: four failures do not ban, a fifth does.
    for (let i = 0; i < 4; i++) auth.login("127.0.0.9", "admin", "bad", undefined)
    expect(auth.banned("127.0.0.9")).toBe(false)
    auth.login("127.0.0.9", "admin", "bad", undefined)
    expect(auth.banned("127.0.0.9")).toBe(true)
  })

  it("the default ban lasts an hour", () => {
    const { advance, auth } = withClock()
    for (let i = 0; i < 5; i++) auth.login("127.0.0.9", "admin", "bad", undefined)
    advance(3599)
    expect(auth.banned("127.0.0.9")).toBe(true)
    advance(2)
    expect(auth.banned("127.0.0.9")).toBe(false)
  })

  it("a success clears the address's count", () => {
    const { auth } = withClock()
    for (let i = 0; i < 4; i++) auth.login("127.0.0.1", "admin", "bad", undefined)
    sidOf(auth.login("127.0.0.1", "admin", "secret", undefined))
    for (let i = 0; i < 4; i++) expect(auth.login("127.0.0.1", "admin", "bad", undefined)).toEqual({ _tag: "Fails" })
    expect(auth.banned("127.0.0.1")).toBe(false)
    expect(auth.login("127.0.0.1", "admin", "bad", undefined)).toEqual({ _tag: "Fails" })
    expect(auth.banned("127.0.0.1")).toBe(true)
  })

  it("maxFailures is the user's", () => {
    const { auth } = withClock({ credentials, maxFailures: 2 })
    auth.login("127.0.0.1", "admin", "bad", undefined)
    expect(auth.banned("127.0.0.1")).toBe(false)
    auth.login("127.0.0.1", "admin", "bad", undefined)
    expect(auth.banned("127.0.0.1")).toBe(true)
  })

  it("a session unused for sessionSeconds ends; one in use lives on", () => {
    const { advance, auth } = withClock({ credentials, sessionSeconds: 60 })
    const idle = sidOf(auth.login("127.0.0.1", "admin", "secret", undefined))
    const busy = sidOf(auth.login("127.0.0.1", "admin", "secret", undefined))
    for (let i = 0; i < 5; i++) {
      advance(50)
      expect(auth.check(busy)).toBe(true)
    }
    // 250 s after the login, each use 50 s after the last: alive; the idle one is not.
    expect(auth.check(idle)).toBe(false)
    // Ended stays ended, even if used at once again.
    expect(auth.check(idle)).toBe(false)
    advance(61)
    expect(auth.check(busy)).toBe(false)
  })

  it("logout ends that session only", () => {
    const { auth } = withClock()
    const a = sidOf(auth.login("127.0.0.1", "admin", "secret", undefined))
    const b = sidOf(auth.login("127.0.0.1", "admin", "secret", undefined))
    auth.logout(a)
    expect(auth.check(a)).toBe(false)
    expect(auth.check(b)).toBe(true)
    // Unknown or missing cookies: nothing happens.
    auth.logout(undefined)
    auth.logout("nope")
    expect(auth.check(b)).toBe(true)
  })

  it("without credentials every call is allowed and every login succeeds", () => {
    const { auth } = withClock({ credentials: undefined })
    expect(auth.required).toBe(false)
    for (let i = 0; i < 10; i++) expect(auth.login("127.0.0.1", "any", `thing${i}`, undefined)._tag).toBe("Ok")
    expect(auth.banned("127.0.0.1")).toBe(false)
  })

  it("a flood of 20,000 addresses or logins keeps the tables bounded, and the newest entries", () => {
    const { auth } = withClock()
    // 20,000 addresses, each with five failures: all banned while they are remembered.
    for (let i = 0; i < 20_000; i++) {
      const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
      for (let k = 0; k < 5; k++) auth.login(address, "admin", "bad", undefined)
    }
    expect(auth.banned("10.0.78.31")).toBe(true) // the last (19,999)
    // The oldest went first: no table holds all 20,000 (the bound is 10,000 addresses).
    expect(auth.banned("10.0.0.0")).toBe(false)
    // 20,000 logins: the newest sessions live, the oldest went.
    const sids: Array<string> = []
    for (let i = 0; i < 20_000; i++) sids.push(sidOf(auth.login("127.0.0.1", "admin", "secret", undefined)))
    expect(auth.check(sids[19_999])).toBe(true)
    expect(auth.check(sids[19_000])).toBe(true)
    expect(auth.check(sids[0])).toBe(false)
    expect(auth.check(sids[10_000])).toBe(false)
    // How many are alive: at most the bound (1000).
    expect(sids.filter((s) => auth.check(s)).length).toBeLessThanOrEqual(1000)
  })

  it("the session kept alive by use survives a flood of new logins longer than idle ones", () => {
    const { auth } = withClock()
    const kept = sidOf(auth.login("127.0.0.1", "admin", "secret", undefined))
    const idle = sidOf(auth.login("127.0.0.1", "admin", "secret", undefined))
    for (let i = 0; i < 998; i++) sidOf(auth.login("127.0.0.1", "admin", "secret", undefined))
    expect(auth.check(kept)).toBe(true) // moved to the newest end
    sidOf(auth.login("127.0.0.1", "admin", "secret", undefined))
    expect(auth.check(idle)).toBe(false)
    expect(auth.check(kept)).toBe(true)
  })
})

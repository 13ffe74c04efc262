/**
 * The qBittorrent API's logins, as qBittorrent keeps them (src/webui/webapplication.cpp): `auth/login`
 * with the daemon's `--rpc-auth` credentials gives a session cookie (`SID`, random, HttpOnly, SameSite
 * Strict) that every other call must carry; a session unused for an hour ends. Five failed logins from
 * one address ban it for an hour: every request from it is refused (403), the right password included,
 * while other addresses go on. A success clears the address's count.
 *
 * Without credentials (a daemon run without --rpc-auth, as the RPC then asks none either) every call is
 * allowed and a login always succeeds, as qBittorrent with its authentication bypassed.
 *
 * The tables are bounded (a flood of addresses or of logins cannot grow them without end): the oldest
 * entries go first.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"

export interface Credentials {
  readonly username: string
  readonly password: string
}

export interface AuthOptions {
  readonly credentials: Credentials | undefined
  /** Failed logins from one address before it is banned (qBittorrent's web_ui_max_auth_fail_count). */
  readonly maxFailures?: number
  /** Seconds a banned address stays banned, and a session lives unused. */
  readonly banSeconds?: number
  readonly sessionSeconds?: number
  /** Milliseconds now (tests move it). */
  readonly now?: () => number
}

export type LoginOutcome =
  | { readonly _tag: "Ok"; readonly sid: string | undefined }
  | { readonly _tag: "Fails" }
  | { readonly _tag: "Banned" }

export interface QbtAuth {
  /** Whether a login is needed at all. */
  readonly required: boolean
  readonly banned: (address: string) => boolean
  /** A login attempt from `address`; `current` the SID it already carries (kept when still valid). */
  readonly login: (address: string, username: string, password: string, current: string | undefined) => LoginOutcome
  /** Whether a SID is a live session (and it lives on from now). */
  readonly check: (sid: string | undefined) => boolean
  readonly logout: (sid: string | undefined) => void
}

const maxSessions = 1000
const maxAddresses = 10_000

const digest = (s: string) => createHash("sha256").update(s).digest()

/** Deletes the oldest keys (a Map keeps insertion order) until `map` holds at most `max`. */
const bound = <K, V>(map: Map<K, V>, max: number) => {
  for (const key of map.keys()) {
    if (map.size <= max) return
    map.delete(key)
  }
}

export const make = (options: AuthOptions): QbtAuth => {
  const now = options.now ?? Date.now
  const maxFailures = options.maxFailures ?? 5
  const banMs = (options.banSeconds ?? 3600) * 1000
  const sessionMs = (options.sessionSeconds ?? 3600) * 1000
  /** Failed logins by address, and until when an address is banned. */
  const failures = new Map<string, { count: number; bannedUntil: number }>()
  /** Live sessions: when each was last used. */
  const sessions = new Map<string, number>()
  const expected = options.credentials === undefined ? undefined : digest(`${options.credentials.username}\n${options.credentials.password}`)

  const check = (sid: string | undefined) => {
    if (sid === undefined) return false
    const used = sessions.get(sid)
    if (used === undefined) return false
    if (now() - used > sessionMs) {
      sessions.delete(sid)
      return false
    }
    // Used again: to the end of the order, so that the bound drops the idlest first.
    sessions.delete(sid)
    sessions.set(sid, now())
    return true
  }

  const banned = (address: string) => {
    const f = failures.get(address)
    if (f === undefined || f.bannedUntil === 0) return false
    if (now() < f.bannedUntil) return true
    failures.delete(address)
    return false
  }

  const newSession = () => {
    const sid = randomBytes(24).toString("base64url")
    sessions.set(sid, now())
    bound(sessions, maxSessions)
    return sid
  }

  return {
    required: expected !== undefined,
    banned,
    check,
    login: (address, username, password, current) => {
      if (banned(address)) return { _tag: "Banned" }
      if (expected !== undefined && !timingSafeEqual(digest(`${username}\n${password}`), expected)) {
        const f = failures.get(address) ?? { count: 0, bannedUntil: 0 }
        f.count++
        if (f.count >= maxFailures) f.bannedUntil = now() + banMs
        failures.delete(address)
        failures.set(address, f)
        bound(failures, maxAddresses)
        return { _tag: "Fails" }
      }
      failures.delete(address)
      // A client that is logged in already keeps its session (qBittorrent sends no new cookie then).
      return { _tag: "Ok", sid: check(current) ? undefined : newSession() }
    },
    logout: (sid) => void (sid !== undefined && sessions.delete(sid))
  }
}

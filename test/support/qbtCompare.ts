/**
 * The comparison steps of the qBittorrent API reference test (test/interop/qbittorrent-api.test.ts): the same
 * call to the reference (qbittorrent-nox) and to bt-effect, and soft assertions that their answers agree in
 * status, content type and JSON shape (./jsonShape.ts), in text where the text is the answer, and in the
 * values of a torrent's fields where they must agree (paths compared with each side's folder as "<root>").
 */
import { expect } from "vitest"
import { diffShapes, shapeOf } from "./jsonShape.js"
import type { QbtApiClient, QbtParamsIn } from "./qbtApiClient.js"
import type { QbtCallOptions, QbtResponse } from "./qbittorrentNox.js"

export type Side = "qbt" | "bte"

/** The two servers (set once they run) and each one's own folder. */
export interface Sides {
  qbt?: QbtApiClient
  bte?: QbtApiClient
  readonly roots: { qbt: string; bte: string }
}

export interface CompareOptions {
  /** The paths keyed by data (jsonShape's `maps`). */
  readonly maps?: ReadonlyArray<string>
  /** Compare the text even of a 200 (errors' texts always are). */
  readonly text?: boolean
  /** The label the exceptions are listed under, when not the call's own. */
  readonly shapeLabel?: string
}

export type Pair = { readonly q: QbtResponse; readonly o: QbtResponse }
export type Info = ReadonlyArray<Record<string, unknown>>

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const kindOf = (r: QbtResponse): string => r.contentType ?? "(none)"

/** `allowed(label, diffLine)`: a shape difference let through (the test's list of 4.6 fields). */
export const comparison = (sides: Sides, allowed: (label: string, line: string) => boolean) => {
  const client = (side: Side): QbtApiClient => {
    const c = sides[side]
    if (c === undefined) throw new Error(`${side} is not running`)
    return c
  }

  const normalize = (side: Side, v: unknown): unknown =>
    JSON.parse(JSON.stringify(v).split(sides.roots[side]).join("<root>"))

  /** The same call to both (cookies: each side's own session unless `cookie` is given). */
  const both = async (apiPath: string, params: QbtParamsIn = {}, options: QbtCallOptions = {}): Promise<Pair> => {
    const [q, o] = await Promise.all([client("qbt").call(apiPath, params, options), client("bte").call(apiPath, params, options)])
    return { q, o }
  }

  /** Compares one pair of answers: status, content type, and JSON shapes or the text. */
  const compare = (label: string, pair: Pair, options: CompareOptions = {}): Pair => {
    const { q, o } = pair
    expect.soft(o.status, `${label}: status (reference body ${JSON.stringify(q.text.slice(0, 200))}, ours ${JSON.stringify(o.text.slice(0, 200))})`).toBe(q.status)
    expect.soft(kindOf(o), `${label}: content type`).toBe(kindOf(q))
    if (q.contentType === "application/json" && o.contentType === "application/json") {
      const differences = diffShapes(shapeOf(q.json(), options.maps ?? []), shapeOf(o.json(), options.maps ?? []))
        .filter((line) => !allowed(options.shapeLabel ?? label, line))
      expect.soft(differences, `${label}: field names and types`).toEqual([])
    } else if (options.text === true || q.status !== 200) {
      expect.soft(o.text, `${label}: body`).toBe(q.text)
    }
    return pair
  }

  /** A call made on each side by `make` (with that side's own parameters: its folders, its cookie), compared. */
  const sided = async (label: string, make: (c: QbtApiClient, side: Side) => Promise<QbtResponse>, options: CompareOptions = {}) => {
    const [q, o] = await Promise.all([make(client("qbt"), "qbt"), make(client("bte"), "bte")])
    return compare(label, { q, o }, options)
  }

  const call = async (label: string, apiPath: string, params: QbtParamsIn = {}, options: QbtCallOptions & CompareOptions = {}) =>
    compare(label, await both(apiPath, params, options), options)

  /** A POST to both, its text compared. */
  const post = (label: string, apiPath: string, params: QbtParamsIn = {}) => call(label, apiPath, params, { method: "POST", text: true })

  const infoOf = async (c: QbtApiClient, params: QbtParamsIn = {}): Promise<Info> => {
    const r = await c.call("torrents/info", params)
    expect(r.status, `torrents/info ${JSON.stringify(params)}: ${r.text}`).toBe(200)
    return r.json() as Info
  }

  /** The fields of a torrent on each side (paths with each side's folder as "<root>"). */
  const fieldsOf = async (hash: string, fields: ReadonlyArray<string>) => {
    const pick = (side: Side, t: Record<string, unknown> | undefined) =>
      t === undefined ? undefined : normalize(side, Object.fromEntries(fields.map((f) => [f, t[f]])))
    const [q, o] = await Promise.all([infoOf(client("qbt"), { hashes: hash }), infoOf(client("bte"), { hashes: hash })])
    return { q: pick("qbt", q[0]), o: pick("bte", o[0]) }
  }

  /** Until the fields agree on both sides (and, when given, equal `expected`); then asserts they do. */
  const agree = async (label: string, hash: string, fields: ReadonlyArray<string>, expected?: Record<string, unknown>, timeoutMs = 8_000) => {
    const want = expected === undefined ? undefined : Object.fromEntries(fields.map((f) => [f, expected[f]]))
    const until = Date.now() + timeoutMs
    let seen = await fieldsOf(hash, fields)
    const ok = () => JSON.stringify(seen.q) === JSON.stringify(seen.o) && (want === undefined || JSON.stringify(seen.q) === JSON.stringify(want))
    while (!ok() && Date.now() < until) {
      await sleep(200)
      seen = await fieldsOf(hash, fields)
    }
    expect.soft(seen.o, `${label}: ours (reference ${JSON.stringify(seen.q)})`).toEqual(seen.q)
    if (want !== undefined) expect.soft(seen.q, `${label}: the reference`).toEqual(want)
  }

  /** torrents/info on both; the hashes each lists must agree (in order when `ordered`). */
  const listed = async (label: string, params: QbtParamsIn, ordered = false) => {
    const pair = await call(label, "torrents/info", params, { shapeLabel: "torrents/info" })
    if (pair.q.status !== 200 || pair.o.status !== 200) return
    const hashes = (r: QbtResponse) => (r.json() as Info).map((t) => String(t["hash"]))
    const [q, o] = [hashes(pair.q), hashes(pair.o)]
    expect.soft(ordered ? o : [...o].sort(), `${label}: the torrents listed`).toEqual(ordered ? q : [...q].sort())
  }

  /** sync/maindata of each side from its last rid (0 when `full`); the next call goes on from the rids answered. */
  const rids = { qbt: 0, bte: 0 }
  const maindata = async (label: string, full = false) => {
    const [q, o] = await Promise.all([
      client("qbt").call("sync/maindata", { rid: full ? 0 : rids.qbt }),
      client("bte").call("sync/maindata", { rid: full ? 0 : rids.bte })
    ])
    expect.soft(o.status, label).toBe(q.status)
    const [qd, od] = [q.json() as Record<string, unknown>, o.json() as Record<string, unknown>]
    rids.qbt = Number(qd["rid"])
    rids.bte = Number(od["rid"])
    return { q, o, qd, od }
  }

  return { normalize, both, compare, sided, call, post, infoOf, agree, listed, maindata }
}

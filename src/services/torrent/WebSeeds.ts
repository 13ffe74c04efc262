/**
 * Web seeds (BEP 19): HTTP servers holding a torrent's files, a source of pieces beside the peers. Each
 * seed asks the picker for blocks under its own key (as a peer with every piece), a few requests at once,
 * fetches each run of blocks with Range requests, one per file the run spans (WebSeedUrl.ts says where
 * each file is), and hands the bytes in through PieceFlow as a peer's blocks: a piece that fails its hash
 * check is a strike against the seed as against a peer, and a banned seed asks for nothing more.
 *
 * What a server answers decides what becomes of it, as in libtorrent: 206 with the range asked is data; a
 * 200 with the whole file is data only where the whole file was asked for, and otherwise the server does
 * not do ranges and is dropped without reading the body; 404, 410 and other 4xx, a redirect that cannot be
 * followed and a body that is not the length asked: dropped; 5xx, a broken connection or a request that
 * stalls past its timeout: tried again after a delay that doubles (1 s to a minute). Redirects are
 * followed by us within the trackers' bound (UntrustedHttp.ts), and a body is never read past what was
 * asked.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Bitfield } from "../../domain/Bitfield.js"
import type { BlockRequest } from "../../domain/Block.js"
import * as Layout from "../../domain/Layout.js"
import type { Metainfo } from "../../domain/Metainfo.js"
import * as WebSeedUrl from "../../domain/WebSeedUrl.js"
import * as UntrustedHttp from "../http/UntrustedHttp.js"
import type { Picker } from "../pieces/PiecePicker.js"
import type { PieceFlow } from "./PieceFlow.js"
import { hostOf, type Swarm } from "./Swarm.js"
import type { WebSeedSettings } from "./WebSeedSettings.js"

export type { WebSeedSettings } from "./WebSeedSettings.js"

/** As the trackers (HttpTracker.ts). */
const maxRedirects = 5
const userAgent = "bt-effect/0.1.0"

export interface WebSeedParts {
  readonly metainfo: Metainfo
  readonly layout: Layout.Layout
  readonly picker: Picker
  readonly flow: PieceFlow
  readonly swarm: Swarm
  readonly countDownloaded: (bytes: number, now: number) => void
}

/** The key a seed has with the picker and the swarm: its host (for strikes and bans) is "web seed URL". */
export const keyOf = (url: string): string => `web seed ${url}:0`

/** Why a request gave no data: `retry` later, or the seed is `gone`. */
type Failure = { readonly _tag: "Retry" | "Gone"; readonly why: string }

const retry = (why: string): Failure => ({ _tag: "Retry", why })
const gone = (why: string): Failure => ({ _tag: "Gone", why })

/** The runs of consecutive blocks of one piece among the blocks picked, in the order picked. */
export const blockRuns = (blocks: ReadonlyArray<BlockRequest>): ReadonlyArray<ReadonlyArray<BlockRequest>> => {
  const runs: Array<Array<BlockRequest>> = []
  for (const block of blocks) {
    const last = runs[runs.length - 1]
    const end = last?.[last.length - 1]
    if (last !== undefined && end !== undefined && end.piece === block.piece && end.offset + end.length === block.offset) last.push(block)
    else runs.push([block])
  }
  return runs
}

/** Reads the body into `target` at `at`, exactly `length` bytes; a body longer or shorter is refused. */
const readInto = (response: HttpClientResponse.HttpClientResponse, target: Uint8Array, at: number, length: number) => {
  let got = 0
  return response.stream.pipe(
    Stream.mapError((e) => retry(UntrustedHttp.transportText(e))),
    Stream.runForEach((chunk) => {
      if (got + chunk.length > length) return Effect.fail(gone(`sent more than the ${length} bytes asked for`))
      target.set(chunk, at + got)
      got += chunk.length
      return Effect.void
    }),
    Effect.flatMap(() => (got === length ? Effect.void : Effect.fail(retry(`sent ${got} of ${length} bytes`))))
  )
}

/** One file span of a run: a Range request, its answer judged, its bytes into `target`. */
const fetchSpan = (
  client: HttpClient.HttpClient,
  url: string,
  span: { readonly fileOffset: number; readonly length: number; readonly fileLength: number },
  target: Uint8Array,
  at: number
): Effect.Effect<void, Failure> =>
  Effect.scoped(
    Effect.gen(function* () {
      const range = `bytes=${span.fileOffset}-${span.fileOffset + span.length - 1}`
      const response = yield* UntrustedHttp.get(HttpClient.withScope(client), url, {
        maxRedirects,
        headers: { "user-agent": userAgent, range }
      }).pipe(Effect.mapError((p) => (p._tag === "Transport" ? retry(p.detail) : gone(UntrustedHttp.describe(p)))))
      const status = response.status
      if (status === 206) {
        const expected = `bytes ${span.fileOffset}-${span.fileOffset + span.length - 1}/`
        const contentRange = response.headers["content-range"] ?? ""
        if (!contentRange.startsWith(expected)) return yield* Effect.fail(gone(`answered ${range} with the range "${contentRange.slice(0, 60)}"`))
        return yield* readInto(response, target, at, span.length)
      }
      if (status === 200) {
        // No ranges: usable only where the whole file is what we asked for (libtorrent drops the seed).
        if (span.fileOffset === 0 && span.length === span.fileLength) return yield* readInto(response, target, at, span.length)
        return yield* Effect.fail(gone("does not support byte ranges (200 for a range)"))
      }
      if (status >= 500 || status === 429 || status === 408) return yield* Effect.fail(retry(`HTTP status ${status}`))
      return yield* Effect.fail(gone(`HTTP status ${status}`))
    })
  )

/** Fetches a run of blocks of one piece from every file it spans into one buffer; pad files read as zeros. */
const fetchRun = (
  client: HttpClient.HttpClient,
  layout: Layout.Layout,
  urls: ReadonlyArray<string>,
  run: ReadonlyArray<BlockRequest>,
  timeoutMs: number
): Effect.Effect<Uint8Array, Failure> => {
  const first = run[0]!
  const last = run[run.length - 1]!
  const length = last.offset + last.length - first.offset
  const buffer = new Uint8Array(length)
  const spans = Layout.spans(layout, first.piece, first.offset, length).filter((s) => !s.pad)
  return Effect.forEach(
    spans,
    (s) =>
      fetchSpan(client, urls[s.file]!, { fileOffset: s.fileOffset, length: s.length, fileLength: layout.files[s.file]!.length }, buffer, s.pieceOffset - first.offset),
    { discard: true }
  ).pipe(
    Effect.timeoutFail({ duration: timeoutMs, onTimeout: () => retry(`no answer within ${timeoutMs / 1000} s`) }),
    Effect.as(buffer)
  )
}

/** Runs the torrent's web seeds in the scope until every piece is here (or each seed is gone). */
export const run = (parts: WebSeedParts, settings: WebSeedSettings = {}): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function* () {
    // The HttpClient of the context when there is one (the command line's); none, no web seeds.
    const clientOption = yield* Effect.serviceOption(HttpClient.HttpClient)
    if (settings.enabled === false || clientOption._tag === "None" || parts.picker.isComplete) return
    const client = clientOption.value
    const urls = [...new Set([...parts.metainfo.urlList, ...(settings.urls ?? [])])].filter(WebSeedUrl.isUsable)
    for (const url of urls) yield* Effect.forkScoped(seed(client, url, parts, settings))
  })

/** One seed: its workers, sharing its back-off, until it is gone, banned or nothing is left to fetch. */
const seed = (client: HttpClient.HttpClient, url: string, parts: WebSeedParts, settings: WebSeedSettings) =>
  Effect.gen(function* () {
    const { layout, picker, flow, swarm } = parts
    const key = keyOf(url)
    const host = hostOf(key)
    const fileUrls = WebSeedUrl.fileUrls(url, parts.metainfo)
    const everything = Bitfield.full(layout.pieceCount)
    const timeoutMs = settings.requestTimeoutMs ?? 30_000
    const firstRetryMs = settings.firstRetryMs ?? 1_000
    const maxRetryMs = settings.maxRetryMs ?? 60_000
    // One request a piece (of at most a piece's blocks), so that a stall costs little and a lie one piece.
    const blocksPerRequest = Math.max(1, Math.ceil(layout.pieceLength / Layout.BLOCK_SIZE))
    let failures = 0
    let retryAt = 0
    let goneWhy: string | undefined
    picker.addPeer(key, everything)

    const worker = Effect.gen(function* () {
      while (goneWhy === undefined && !picker.isComplete && !swarm.isBanned(host)) {
        const now = yield* Clock.currentTimeMillis
        if (retryAt > now) {
          yield* Effect.sleep(retryAt - now)
          continue
        }
        const blocks = flow.backlogged() ? [] : picker.pick(key, everything, blocksPerRequest)
        if (blocks.length === 0) {
          // Everything left is asked of others (or pieces wait to be written): look again shortly.
          yield* Effect.sleep(200)
          continue
        }
        const runs = blockRuns(blocks)
        for (let i = 0; i < runs.length; i++) {
          const blocksOfRun = runs[i]!
          const result = yield* Effect.either(fetchRun(client, layout, fileUrls, blocksOfRun, timeoutMs))
          if (result._tag === "Left") {
            picker.release(key, runs.slice(i).flat())
            swarm.wakeAll()
            const failure = result.left
            if (failure._tag === "Gone") goneWhy = failure.why
            else {
              failures++
              const delay = Math.min(maxRetryMs, firstRetryMs * 2 ** (failures - 1))
              retryAt = (yield* Clock.currentTimeMillis) + delay
              yield* Effect.logDebug(`web seed ${url}: ${failure.why}; trying again in ${delay} ms`)
            }
            break
          }
          failures = 0
          // Banned while this request was out (another of its pieces failed): nothing more from it.
          if (swarm.isBanned(host)) {
            picker.release(key, runs.slice(i).flat())
            break
          }
          const data = result.right
          const first = blocksOfRun[0]!
          parts.countDownloaded(data.length, yield* Clock.currentTimeMillis)
          for (const block of blocksOfRun) flow.addBlock(key, block, data.subarray(block.offset - first.offset, block.offset - first.offset + block.length))
        }
      }
    })
    // While it fetches, the torrent's checkpoints go on as with peers (Swarm.whenActive).
    yield* Effect.all(Array.from({ length: Math.max(1, settings.connections ?? 3) }, () => worker), { concurrency: "unbounded", discard: true }).pipe(
      Effect.ensuring(Effect.sync(() => picker.removePeer(key))),
      (fetching) => Effect.scoped(Effect.zipRight(swarm.webSeedFetching, fetching))
    )
    if (goneWhy !== undefined) yield* Effect.logWarning(`web seed ${url} dropped: ${goneWhy}`)
  })

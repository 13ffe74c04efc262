/**
 * The Transmission RPC as messages, without a server: both dialects parsed and answered, names in the
 * spelling each dialect and method expects, torrent-get's field selection, the `ids` forms, kB/s and
 * limit conversions, and errors as classic result strings and JSON-RPC error objects.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  torrentFieldNames,
  torrentObject,
  torrentTable
} from "../../src/protocol/TransmissionFields.js"
import { sessionObject, statsObject } from "../../src/protocol/TransmissionSession.js"
import { type SessionSettings, settingDefaults, type TorrentView, Status } from "../../src/domain/SessionView.js"
import {
  buildResponse,
  decodeAdd,
  decodeIds,
  ErrorCode,
  failure,
  parseBody,
  rejectionResponse,
  type RpcCall,
  type RpcRejection,
  success,
  toSnake
} from "../../src/protocol/TransmissionRpc.js"
import { applyLimit, decodeSessionSet, decodeSetLocation, decodeTorrentSet, sessionAlwaysSo, sessionSetArguments, torrentAlwaysSo, torrentSetArguments, unsupportedArguments } from "../../src/protocol/TransmissionSetters.js"

const view = (overrides: Partial<TorrentView> = {}): TorrentView => ({
  id: 1,
  hashString: "0123456789abcdef0123456789abcdef01234567",
  name: "movie",
  status: Status.Download,
  hasMetadata: true,
  totalSize: 1000,
  haveValid: 250,
  percentDone: 0.25,
  rateDownload: 2000,
  rateUpload: 500,
  downloadedEver: 300,
  uploadedEver: 600,
  downloadedSession: 100,
  uploadedSession: 200,
  peersConnected: 2,
  seeds: 1,
  eta: 12,
  error: 0,
  errorString: "",
  downloadDir: "/data",
  addedDate: 1_700_000_000,
  doneDate: 0,
  magnetLink: "magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567",
  isPrivate: false,
  pieceCount: 4,
  pieceSize: 256,
  pieces: "gA==",
  piecesInProgress: [],
  // Every piece wanted (0b1111).
  wantedPieces: "8A==",
  // Every file wanted: what is left follows the size and what is verified.
  sizeWhenDone: overrides.totalSize ?? 1000,
  leftUntilDone: (overrides.totalSize ?? 1000) - (overrides.haveValid ?? 250),
  files: [{ name: "movie/a", length: 600, bytesCompleted: 250, wanted: true, priority: 0, pieceRange: [0, 0] }, { name: "movie/b", length: 400, bytesCompleted: 0, wanted: true, priority: 0, pieceRange: [0, 0] }],
  peers: [
    {
      address: "127.0.0.2", port: 6881, clientName: "aria2/1.36.0", peerId: "LUFSMjAwMC0=", rateToClient: 2000, rateToPeer: 0,
      bytesToClient: 9000, bytesToPeer: 0, progress: 1, isDownloadingFrom: true, isUploadingTo: false, isIncoming: false
    },
    {
      address: "127.0.0.3", port: 51413, clientName: "Transmission 3.00", peerId: "LVRSMzAwMC0=", rateToClient: 0, rateToPeer: 500,
      bytesToClient: 0, bytesToPeer: 700, progress: 0.1, isDownloadingFrom: false, isUploadingTo: true, isIncoming: true
    }
  ],
  trackers: [
    { announce: "http://tracker.example.org:6969/announce", tier: 0, state: "working", lastError: "", peers: 3, seeders: 4, leechers: 7, nextAnnounceTime: 1_700_001_000 },
    { announce: "udp://backup.example.net:80", tier: 1, state: "failed", lastError: "timed out", peers: 0, seeders: -1, leechers: -1, nextAnnounceTime: 0 }
  ],
  downloadLimit: 0,
  uploadLimit: 50_000,
  rememberedDownloadLimit: 100,
  rememberedUploadLimit: 100,
  queuePosition: 3,
  recheckProgress: 0,
  startDate: 1_700_000_100,
  activityDate: 1_700_000_400,
  secondsDownloading: 300,
  secondsSeeding: 0,
  corruptEver: 512,
  comment: "a comment",
  creator: "bt-effect 0.1.0",
  dateCreated: 1_600_000_000,
  source: "",
  webseeds: [],
  torrentFile: "/state/torrents/0123456789abcdef0123456789abcdef01234567.torrent",
  seedRatioMode: 0,
  seedRatioLimit: 2,
  seedIdleMode: 0,
  seedIdleLimit: 30,
  seedTimeMode: 0,
  seedTimeLimit: 1440,
  idleLimitReached: false,
  category: "",
  tags: [],
  savePath: "/data",
  autoManaged: false,
  sequential: false,
  forced: false,
  moving: false,
  maxPeers: 50,
  metadataPercentComplete: 1,
  // Piece 0 is ours ("gA=="), 1 and 2 a peer has, 3 none.
  availability: [2, 1, 1, 0],
  pieceHashes: [],
  ...overrides
})

const settings: SessionSettings = {
  ...settingDefaults,
  downloadDir: "/data",
  incompleteDir: "/data/incomplete",
  peerPort: 6881,
  speedLimitDown: 250_000,
  rememberedLimitUp: 70,
  dhtEnabled: true,
  utpEnabled: true,
  tcpEnabled: true,
  pexEnabled: false,
  version: "bt-effect 0.1.0 (Transmission RPC)",
  configDir: "/state",
  cacheSizeMb: 64
}

const context = { now: 1_700_000_500, session: settings }

const single = (body: string): RpcCall | RpcRejection => {
  const parsed = parseBody(body)
  if (parsed._tag !== "Single") throw new Error("expected one request")
  return parsed.item
}

describe("TransmissionRpc: requests", () => {
  it("reads a classic request: kebab and camel names become snake_case, the tag is kept", () => {
    const call = single(JSON.stringify({ method: "torrent-remove", arguments: { ids: [1], "delete-local-data": true, downloadLimit: 5 }, tag: 7 }))
    expect(call).toEqual({ dialect: "classic", method: "torrent_remove", args: { ids: [1], delete_local_data: true, download_limit: 5 }, id: 7 })
  })

  it("reads a JSON-RPC 2.0 request by its jsonrpc key, and one without id as a notification", () => {
    expect(single(JSON.stringify({ jsonrpc: "2.0", method: "torrent_get", params: { fields: ["id"] }, id: "a" })))
      .toEqual({ dialect: "jsonrpc", method: "torrent_get", args: { fields: ["id"] }, id: "a" })
    expect(single(JSON.stringify({ jsonrpc: "2.0", method: "torrent_stop" }))).toEqual({ dialect: "jsonrpc", method: "torrent_stop", args: {}, id: undefined })
  })

  it("answers malformed JSON in the dialect the text is in", () => {
    const classic = single("{\"method\": \"session-get\"")
    expect(rejectionResponse(classic as RpcRejection)).toEqual({ arguments: {}, result: "invalid JSON" })
    const jsonrpc = single("{\"jsonrpc\": \"2.0\", \"method\": ")
    const response = rejectionResponse(jsonrpc as RpcRejection)
    expect(response).toMatchObject({ jsonrpc: "2.0", error: { code: -32700, message: "Parse error" }, id: null })
  })

  it("refuses a JSON-RPC version other than 2.0, a bad id type and a classic request without method", () => {
    expect(single(JSON.stringify({ jsonrpc: "1.0", method: "session_get", id: 1 }))).toMatchObject({ code: ErrorCode.InvalidRequest, id: null })
    expect(single(JSON.stringify({ jsonrpc: "2.0", method: "session_get", id: { x: 1 } }))).toMatchObject({ code: ErrorCode.InvalidRequest })
    const noMethod = single(JSON.stringify({ arguments: {}, tag: 3 }))
    expect(rejectionResponse(noMethod as RpcRejection)).toEqual({ arguments: {}, result: "no method name", tag: 3 })
  })

  it("reads a batch as JSON-RPC requests, an item without jsonrpc being invalid", () => {
    const parsed = parseBody(JSON.stringify([{ jsonrpc: "2.0", method: "session_stats", id: 1 }, { method: "session-get" }]))
    expect(parsed._tag).toBe("Batch")
    expect(parsed._tag === "Batch" && parsed.items.map((i) => ("method" in i ? i.method : i.code))).toEqual(["session_stats", ErrorCode.InvalidRequest])
  })

  it("reads every form of ids", () => {
    expect(decodeIds({})).toEqual({ _tag: "All" })
    expect(decodeIds({ ids: 4 })).toEqual({ _tag: "List", ids: [4] })
    expect(decodeIds({ ids: [1, "0123456789ABCDEF0123456789ABCDEF01234567", "nonsense", true, 2.5] }))
      .toEqual({ _tag: "List", ids: [1, "0123456789abcdef0123456789abcdef01234567"] })
    expect(decodeIds({ ids: "recently-active" })).toEqual({ _tag: "RecentlyActive" })
    expect(decodeIds({ ids: "recently_active" })).toEqual({ _tag: "RecentlyActive" })
    expect(decodeIds({ ids: [] })).toEqual({ _tag: "List", ids: [] })
  })

  it("reads torrent-add from base64 metainfo, a magnet, a URL or a path", () => {
    expect(decodeAdd({ metainfo: Buffer.from("d4:infod4:name1:xee").toString("base64"), paused: true, download_dir: "/x" }))
      .toEqual({ from: { _tag: "Metainfo", bytes: new Uint8Array(Buffer.from("d4:infod4:name1:xee")) }, paused: true, downloadDir: "/x" })
    expect(decodeAdd({ filename: "magnet:?xt=urn:btih:00" })).toEqual({ from: { _tag: "Magnet", uri: "magnet:?xt=urn:btih:00" } })
    expect(decodeAdd({ filename: "HTTPS://example.org/a.torrent" })).toEqual({ from: { _tag: "Url", url: "HTTPS://example.org/a.torrent" } })
    expect(decodeAdd({ filename: "/tmp/a.torrent" })).toEqual({ from: { _tag: "Path", path: "/tmp/a.torrent" } })
    expect(decodeAdd({ metainfo: "not base64!" })).toBe("metainfo is not base64")
    expect(decodeAdd({})).toBe("no filename or metainfo specified")
  })
})

describe("TransmissionRpc: units and limits", () => {
  it("converts kB/s of 1000 bytes, and keeps a limit's value while it is off", () => {
    expect(decodeTorrentSet({ download_limit: 100, download_limited: true, queue_position: 2 }))
      .toEqual({ download: { limit: 100, limited: true }, upload: {}, queuePosition: 2 })
    expect(applyLimit(0, 100, { limit: 100, limited: true })).toEqual({ bytes: 100_000, remembered: 100 })
    expect(applyLimit(50_000, 100, { limited: false })).toEqual({ bytes: 0, remembered: 50 })
    expect(applyLimit(0, 50, { limited: true })).toEqual({ bytes: 50_000, remembered: 50 })
    // A new value while the limit is off is kept for later, not applied.
    expect(applyLimit(0, 50, { limit: 250 })).toEqual({ bytes: 0, remembered: 250 })
    expect(applyLimit(20_000, 50, {})).toEqual({ bytes: undefined, remembered: 20 })
  })

  it("reads session-set's keys in any spelling and ignores values of the wrong type", () => {
    expect(decodeSessionSet({ speed_limit_down: 200, speed_limit_down_enabled: true, download_dir: "/y", pex_enabled: false, seed_queue_size: "9" }))
      .toEqual({ download: { limit: 200, limited: true }, upload: {}, downloadDir: "/y", pexEnabled: false })
    expect(decodeSessionSet({
      alt_speed_down: 30, alt_speed_up: 5.7, alt_speed_enabled: true, alt_speed_time_enabled: 1, alt_speed_time_begin: 60,
      alt_speed_time_end: 1440, alt_speed_time_day: 65, seed_ratio_limit: 1.5, seed_ratio_limited: true, idle_seeding_limit: 10,
      idle_seeding_limit_enabled: false, queue_stalled_enabled: false, queue_stalled_minutes: 5
    })).toEqual({
      download: {}, upload: {}, altSpeedDown: 30, altSpeedUp: 5, altSpeedEnabled: true, altSpeedTimeEnabled: true, altSpeedTimeBegin: 60,
      // 1440 is no minute of a day: ignored.
      altSpeedTimeDay: 65, seedRatioLimit: 1.5, seedRatioLimited: true, idleSeedingLimit: 10, idleSeedingLimitEnabled: false,
      queueStalledEnabled: false, queueStalledMinutes: 5
    })
  })

  it("reads torrent-set's seeding goals and torrent-set-location", () => {
    expect(decodeTorrentSet({ seed_ratio_limit: 2.5, seed_ratio_mode: 1, seed_idle_limit: 0, seed_idle_mode: 3 }))
      .toEqual({ download: {}, upload: {}, seedRatioLimit: 2.5, seedRatioMode: 1 })
    expect(decodeTorrentSet({ seed_idle_limit: 45, seed_idle_mode: 2 })).toEqual({ download: {}, upload: {}, seedIdleLimit: 45, seedIdleMode: 2 })
    expect(decodeSetLocation({ location: "/new", move: true })).toEqual({ location: "/new", move: true })
    expect(decodeSetLocation({ location: "/new" })).toEqual({ location: "/new", move: false })
    expect(decodeSetLocation({ move: true })).toBe("no location")
  })

  it("refuses what it does not carry out, naming it, but not a request for what it always is", () => {
    expect(unsupportedArguments({ ids: [1], seed_ratio_limit: 2, files_wanted: [0], tracker_add: ["http://t/a"], honors_session_limits: true }, torrentSetArguments, torrentAlwaysSo))
      .toEqual(["tracker-add"])
    expect(unsupportedArguments({ bandwidth_priority: 1, honors_session_limits: false }, torrentSetArguments, torrentAlwaysSo))
      .toEqual(["bandwidth-priority", "honors-session-limits"])
    expect(unsupportedArguments({ lpd_enabled: false, download_queue_enabled: 1, alt_speed_enabled: true, encryption: "required", port_forwarding_enabled: true }, sessionSetArguments, sessionAlwaysSo))
      .toEqual(["port-forwarding-enabled"])
    // What the command line chose (uTP on, say) is no change when asked for as it is, a refusal otherwise.
    const started = { ...sessionAlwaysSo, utp_enabled: true, tcp_enabled: true }
    expect(unsupportedArguments({ utp_enabled: true, tcp_enabled: 1 }, sessionSetArguments, started)).toEqual([])
    expect(unsupportedArguments({ utp_enabled: false }, sessionSetArguments, started)).toEqual(["utp-enabled"])
    expect(decodeSessionSet({ encryption: "required" }).encryption).toBe("required")
    expect(decodeSessionSet({ encryption: "sometimes" }).encryption).toBeUndefined()
  })
})

describe("TransmissionRpc: fields", () => {
  it("answers the fields asked for under the names asked, and ignores unknown ones", () => {
    const t = torrentObject(view(), ["id", "hashString", "percent_done", "peer-limit", "noSuchField", "uploadRatio"], context)
    expect(t).toEqual({ id: 1, hashString: "0123456789abcdef0123456789abcdef01234567", percent_done: 0.25, "peer-limit": 50, uploadRatio: 2 })
  })

  it("maps sizes, peer counts and limits to Transmission's conventions", () => {
    const fields = ["leftUntilDone", "sizeWhenDone", "peersSendingToUs", "peersGettingFromUs", "downloadLimit", "downloadLimited", "uploadLimit", "uploadLimited", "desiredAvailable"]
    expect(torrentObject(view({ rememberedDownloadLimit: 340 }), fields, context)).toEqual({
      leftUntilDone: 750, sizeWhenDone: 1000, peersSendingToUs: 1, peersGettingFromUs: 1,
      downloadLimit: 340, downloadLimited: false, uploadLimit: 50, uploadLimited: true,
      // Pieces 1 and 2, which we lack and a peer has.
      desiredAvailable: 512
    })
    expect(torrentObject(view({ uploadedEver: 0, downloadedEver: 0, haveValid: 0 }), ["uploadRatio"], context)).toEqual({ uploadRatio: -1 })
  })

  it("computes eta as Transmission: the rest at the rate, -1 when the peers lack it or when done, -2 without a rate", () => {
    const eta = (v: Partial<TorrentView>, session: SessionSettings = settings) => torrentObject(view(v), ["eta"], { ...context, session })["eta"]
    // Piece 3 (232 bytes) is nowhere: the rest cannot come.
    expect(eta({})).toBe(-1)
    const reachable = { availability: [2, 1, 1, 1] as const, haveValid: 256 }
    expect(eta({ ...reachable })).toBe(Math.floor(744 / 2000))
    expect(eta({ ...reachable, rateDownload: 20 })).toBe(37)
    expect(eta({ ...reachable, rateDownload: 0 })).toBe(-2)
    // A seed: -1 without a ratio goal; with one, the bytes left to upload at the upload rate.
    const seed = { status: Status.Seed, haveValid: 1000, percentDone: 1, downloadedEver: 1000, uploadedEver: 600, rateUpload: 100 }
    expect(eta(seed)).toBe(-1)
    expect(eta({ ...seed, seedRatioMode: 1, seedRatioLimit: 1.5 })).toBe(9) // (1500 - 600) / 100
    expect(eta(seed, { ...settings, seedRatioLimited: true, seedRatioLimit: 1 })).toBe(4)
    expect(eta({ ...seed, seedRatioMode: 2 }, { ...settings, seedRatioLimited: true })).toBe(-1)
    expect(eta({ ...seed, seedRatioMode: 1, rateUpload: 0 })).toBe(-2)
    // Stopped, and a magnet without metadata (downloading, no rate): -1, -2.
    expect(eta({ status: Status.Stopped })).toBe(-1)
    expect(eta({ hasMetadata: false, totalSize: 0, haveValid: 0, rateDownload: 0, peersConnected: 0, availability: [] })).toBe(-2)
  })

  it("tells when a torrent is finished, stalled or idle, from the session's goals or its own", () => {
    const get = (v: Partial<TorrentView>, session: SessionSettings = settings, now = context.now) =>
      torrentObject(view(v), ["isFinished", "isStalled", "etaIdle", "seedRatioMode", "seedRatioLimit", "seedIdleMode", "seedIdleLimit"], { now, session })
    const seed = { status: Status.Seed, haveValid: 1000, percentDone: 1, downloadedEver: 1000, uploadedEver: 2000, rateUpload: 0 }
    expect(get(seed)).toEqual({ isFinished: false, isStalled: false, etaIdle: -1, seedRatioMode: 0, seedRatioLimit: 2, seedIdleMode: 0, seedIdleLimit: 30 })
    // The session's ratio of 2 applies: 2000 uploaded of 1000 is done.
    expect(get(seed, { ...settings, seedRatioLimited: true })["isFinished"]).toBe(true)
    expect(get({ ...seed, uploadedEver: 1999 }, { ...settings, seedRatioLimited: true })["isFinished"]).toBe(false)
    expect(get({ ...seed, seedRatioMode: 1, seedRatioLimit: 3 }, { ...settings, seedRatioLimited: true })["isFinished"]).toBe(false)
    expect(get({ ...seed, idleLimitReached: true, status: Status.Stopped })["isFinished"]).toBe(true)
    // Idle 100 s of its own 5 minutes: 200 s to go; stalled after the session's 30 minutes without activity.
    expect(get({ ...seed, seedIdleMode: 1, seedIdleLimit: 5 })["etaIdle"]).toBe(200)
    expect(get(seed, settings, 1_700_000_400 + 30 * 60)["isStalled"]).toBe(false)
    expect(get(seed, settings, 1_700_000_401 + 30 * 60)["isStalled"]).toBe(true)
    expect(get(seed, { ...settings, queueStalledEnabled: false }, 1_700_000_401 + 30 * 60)["isStalled"]).toBe(false)
    expect(get({ ...seed, status: Status.Stopped }, settings, 1_700_000_401 + 30 * 60)["isStalled"]).toBe(false)
  })

  it("answers the metainfo's fields, the dates, the counters and the 4.x fields from the torrent", () => {
    expect(torrentObject(view({ webseeds: ["http://mirror.example.org/movie"], source: "EX" }), [
      "comment", "creator", "dateCreated", "corruptEver", "startDate", "activityDate", "secondsDownloading", "secondsSeeding",
      "torrentFile", "webseeds", "source", "maxConnectedPeers", "availability", "bytesCompleted", "primary-mime-type", "file-count"
    ], context)).toEqual({
      comment: "a comment", creator: "bt-effect 0.1.0", dateCreated: 1_600_000_000, corruptEver: 512, startDate: 1_700_000_100,
      activityDate: 1_700_000_400, secondsDownloading: 300, secondsSeeding: 0,
      torrentFile: "/state/torrents/0123456789abcdef0123456789abcdef01234567.torrent", webseeds: ["http://mirror.example.org/movie"],
      source: "EX", maxConnectedPeers: 50, availability: [2, 1, 1, 0], bytesCompleted: [250, 0], "primary-mime-type": "application/octet-stream",
      "file-count": 2
    })
    expect(torrentObject(view({ files: [{ name: "a/film.mkv", length: 900, bytesCompleted: 0, wanted: true, priority: 0, pieceRange: [0, 0] }, { name: "a/film.srt", length: 100, bytesCompleted: 0, wanted: true, priority: 0, pieceRange: [0, 0] }] }), ["primary_mime_type"], context))
      .toEqual({ primary_mime_type: "video/x-matroska" })
  })

  it("spells nested objects in camelCase for classic clients and snake_case for JSON-RPC", () => {
    const result = { torrents: [torrentObject(view(), ["files", "peers", "trackerStats"], context)] }
    const classic = buildResponse({ dialect: "classic", method: "torrent_get", id: 1 }, success(result))
    const torrent = (classic as { arguments: { torrents: Array<Record<string, Array<Record<string, unknown>>>> } }).arguments.torrents[0]!
    // Keys new in Transmission 4.1 keep their snake_case: 4.1 has no older spelling for them.
    expect(torrent["files"]![0]).toEqual({ begin_piece: 0, bytesCompleted: 250, end_piece: 3, length: 600, name: "movie/a" })
    expect(torrent["peers"]![1]).toMatchObject({
      clientName: "Transmission 3.00", isUTP: false, isIncoming: true, rateToPeer: 500, flagStr: "UI", peer_id: "LVRSMzAwMC0=", bytes_to_peer: 700
    })
    expect(torrent["trackerStats"]![1]).toMatchObject({ host: "backup.example.net:80", lastAnnounceResult: "timed out", tier: 1, downloader_count: -1 })
    expect(torrent["trackerStats"]![0]).toMatchObject({ seederCount: 4, leecherCount: 7, nextAnnounceTime: 1_700_001_000 })
    const jsonrpc = buildResponse({ dialect: "jsonrpc", method: "torrent_get", id: 1 }, success(result))
    const snake = (jsonrpc as { result: { torrents: Array<Record<string, Array<Record<string, unknown>>>> } }).result.torrents[0]!
    expect(snake["files"]![1]).toEqual({ begin_piece: 2, bytes_completed: 0, end_piece: 4, length: 400, name: "movie/b" })
    expect(snake["peers"]![0]).toMatchObject({ client_name: "aria2/1.36.0", is_utp: false, rate_to_client: 2000 })
  })

  it("sends whole numbers wherever Transmission does, however fractional our rates are", () => {
    // Transmission's reals in torrent-get (libtransmission/rpcimpl.c, tr_variantDictAddReal); every other
    // number it sends is an integer, and clients parse it as one.
    const reals = new Set(["metadata_percent_complete", "percent_complete", "percent_done", "recheck_progress", "seed_ratio_limit", "upload_ratio", "progress"])
    const fractional = view({
      rateDownload: 1352439.3144456104,
      rateUpload: 20.5,
      peers: [{ ...view().peers[0]!, rateToClient: 77.7, rateToPeer: 0.4, progress: 0.37 }]
    })
    const wrong: Array<string> = []
    const walk = (value: unknown, at: string, key: string): void => {
      if (typeof value === "number" && !reals.has(key) && !Number.isInteger(value)) wrong.push(`${at} = ${value}`)
      if (Array.isArray(value)) value.forEach((item, i) => walk(item, `${at}[${i}]`, key))
      else if (typeof value === "object" && value !== null) for (const [k, v] of Object.entries(value)) walk(v, `${at}.${k}`, k)
    }
    walk(torrentObject(fractional, [...torrentFieldNames], context), "torrent", "")
    walk(statsObject({ activeTorrentCount: 1, pausedTorrentCount: 0, torrentCount: 1, downloadSpeed: 1000.25, uploadSpeed: 3.5, downloadedBytes: 6, uploadedBytes: 7, downloadedSession: 2, uploadedSession: 3, secondsActive: 8 }), "session-stats", "")
    expect(wrong).toEqual([])
  })

  it("answers the table format as names then rows", () => {
    expect(torrentTable([view(), view({ id: 2, name: "other" })], ["id", "name", "bogus"], context)).toEqual([["id", "name"], [1, "movie"], [2, "other"]])
  })

  it("has every field transmission-remote 3.00 asks for in -l, -i, -f and -pi", () => {
    // The lists it sent to a logging server (see test/interop/transmission-remote.test.ts).
    const asked = ["error", "errorString", "eta", "id", "isFinished", "leftUntilDone", "name", "peersGettingFromUs", "peersSendingToUs",
      "rateDownload", "rateUpload", "sizeWhenDone", "status", "uploadRatio", "activityDate", "addedDate", "bandwidthPriority", "comment",
      "corruptEver", "creator", "dateCreated", "desiredAvailable", "doneDate", "downloadDir", "downloadedEver", "downloadLimit",
      "downloadLimited", "hashString", "haveUnchecked", "haveValid", "honorsSessionLimits", "isPrivate", "labels", "magnetLink",
      "peersConnected", "peer-limit", "pieceCount", "pieceSize", "recheckProgress", "secondsDownloading", "secondsSeeding",
      "seedRatioMode", "seedRatioLimit", "startDate", "totalSize", "uploadedEver", "uploadLimit", "uploadLimited", "webseeds",
      "webseedsSendingToUs", "files", "priorities", "wanted", "peers", "trackerStats"]
    expect(asked.filter((f) => !torrentFieldNames.includes(toSnake(f)))).toEqual([])
  })
})

describe("TransmissionRpc: session and responses", () => {
  const session = { settings, sessionId: "sid", peersPerTorrent: 50, reqq: 16384 }

  it("spells session-get in kebab-case (seedRatioLimit aside) for classic clients, with limits in kB/s", () => {
    const response = buildResponse({ dialect: "classic", method: "session_get", id: 2 }, success(sessionObject(session, [])))
    expect(response).toMatchObject({
      result: "success",
      tag: 2,
      arguments: {
        "download-dir": "/data", "peer-port": 6881, "rpc-version": 17, "rpc-version-minimum": 14, version: "bt-effect 0.1.0 (Transmission RPC)",
        "speed-limit-down": 250, "speed-limit-down-enabled": true, "speed-limit-up": 70, "speed-limit-up-enabled": false,
        "pex-enabled": false, "session-id": "sid", seedRatioLimited: false, units: { "speed-bytes": 1000 }
      }
    })
  })

  it("answers only the session fields asked for", () => {
    expect(sessionObject(session, ["version", "rpc-version", "bogus"])).toEqual({ version: "bt-effect 0.1.0 (Transmission RPC)", rpc_version: 17 })
  })

  it("spells session-stats, torrent-add and free-space as Transmission 4.0 did; current stats since the session started, cumulative ones over the torrents' lives", () => {
    const stats = statsObject({ activeTorrentCount: 1, pausedTorrentCount: 2, torrentCount: 3, downloadSpeed: 4, uploadSpeed: 5, downloadedBytes: 6, uploadedBytes: 7, downloadedSession: 2, uploadedSession: 3, secondsActive: 8 })
    expect(buildResponse({ dialect: "classic", method: "session_stats", id: undefined }, success(stats))).toEqual({
      result: "success",
      arguments: {
        activeTorrentCount: 1, pausedTorrentCount: 2, torrentCount: 3, downloadSpeed: 4, uploadSpeed: 5,
        "current-stats": { downloadedBytes: 2, uploadedBytes: 3, filesAdded: 3, sessionCount: 1, secondsActive: 8 },
        "cumulative-stats": { downloadedBytes: 6, uploadedBytes: 7, filesAdded: 3, sessionCount: 1, secondsActive: 8 }
      }
    })
    expect(buildResponse({ dialect: "classic", method: "torrent_add", id: 1 }, success({ torrent_added: { id: 1, name: "x", hash_string: "ab" } })))
      .toEqual({ result: "success", tag: 1, arguments: { "torrent-added": { id: 1, name: "x", hashString: "ab" } } })
    expect(buildResponse({ dialect: "classic", method: "free_space", id: 1 }, success({ path: "/d", size_bytes: 10, total_size: 20 })))
      .toEqual({ result: "success", tag: 1, arguments: { path: "/d", "size-bytes": 10, total_size: 20 } })
    expect(buildResponse({ dialect: "jsonrpc", method: "free_space", id: 1 }, success({ path: "/d", size_bytes: 10, total_size: 20 })))
      .toEqual({ jsonrpc: "2.0", result: { path: "/d", size_bytes: 10, total_size: 20 }, id: 1 })
  })

  it("answers errors as a result string (classic) or an error object (JSON-RPC), and notifications not at all", () => {
    const notFound = failure(ErrorCode.MethodNotFound, "")
    expect(buildResponse({ dialect: "classic", method: "x", id: 5 }, notFound)).toEqual({ arguments: {}, result: "method name not recognized", tag: 5 })
    expect(buildResponse({ dialect: "jsonrpc", method: "x", id: 5 }, notFound)).toEqual({ jsonrpc: "2.0", error: { code: -32601, message: "Method not found" }, id: 5 })
    const corrupt = failure(ErrorCode.CorruptTorrent, "invalid or corrupt torrent file: bencode")
    expect(buildResponse({ dialect: "classic", method: "torrent_add", id: 1 }, corrupt)).toMatchObject({ result: "invalid or corrupt torrent file: bencode" })
    expect(buildResponse({ dialect: "jsonrpc", method: "torrent_add", id: 1 }, corrupt)).toEqual({
      jsonrpc: "2.0",
      error: { code: 9, message: "invalid or corrupt torrent file", data: { error_string: "invalid or corrupt torrent file: bencode" } },
      id: 1
    })
    expect(buildResponse({ dialect: "jsonrpc", method: "torrent_stop", id: undefined }, success())).toBeUndefined()
  })
})

/**
 * The bt-effect command line: commands, their options, and the runtime. Everything else lives below.
 * It runs as one bundle started by dist/main.js, which sets node's flags (scripts/build.mjs says why).
 *
 * Exit codes: 0 done, 1 failed at run time, 2 bad input or usage, 130 interrupted.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Exit from "effect/Exit"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as path from "node:path"
import { UsageError } from "./domain/Errors.js"
import { create } from "./services/commands/Create.js"
import * as UdpDatagram from "./services/wire/UdpDatagram.js"
import { bootstrapEnv, dhtOptions, publicRouters } from "./services/dht/DhtSettings.js"
import { daemon } from "./services/commands/Daemon.js"
import { demo } from "./services/commands/Demo.js"
import * as Remote from "./services/commands/Remote.js"
import { defaultRpcUrl } from "./services/commands/Remote.js"
import { download } from "./services/commands/Download.js"
import { seed } from "./services/commands/Seed.js"
import * as ResumeFiles from "./services/storage/ResumeFiles.js"
import type * as ResumeStore from "./services/storage/ResumeStore.js"
import { defaultStateDir } from "./services/storage/ResumeStore.js"
import { verify } from "./services/commands/Verify.js"
import * as FileStorage from "./services/storage/FileStorage.js"
import { infoJson, infoText } from "./services/commands/InfoReport.js"
import * as TcpNetwork from "./services/wire/TcpNetwork.js"
import * as RarestFirst from "./services/pieces/RarestFirst.js"
import * as HashThreads from "./services/pieces/HashThreads.js"
import { loadTorrent } from "./services/torrent/TorrentSource.js"
import * as NetworkTracker from "./services/tracker/NetworkTracker.js"
import * as TrackerServer from "./services/tracker/TrackerServer.js"

const version = "0.1.0"

const torrentArg = Args.file({ name: "FILE.torrent" }).pipe(Args.withDescription("the .torrent file"))

const info = Command.make(
  "info",
  { torrent: torrentArg, json: Options.boolean("json").pipe(Options.withDescription("print JSON instead of text")) },
  ({ json, torrent }) =>
    loadTorrent(torrent).pipe(
      Effect.flatMap((m) => Console.log(json ? JSON.stringify(infoJson(m), null, 2) : infoText(m)))
    )
).pipe(Command.withDescription("show what a .torrent file holds"))

const tty = process.stdout.isTTY === true
const write = (text: string) => Effect.sync(() => void process.stdout.write(text))

/** The hashing worker of `create` and `demo`, which scripts/build.mjs bundles beside this bundle (whose
 *  __dirname is dist/). */
const workerScript = path.join(__dirname, "hash-worker.cjs")
/** The threads that check downloaded pieces (HashThreads), bundled beside it too. */
const digestWorkerScript = path.join(__dirname, "digest-worker.cjs")

/** Log lines for people: "warning: ...", clear of the live progress line. */
const cliLogger = Logger.make(({ logLevel, message }) => {
  const text = Array.isArray(message) ? message.join(" ") : String(message)
  process.stderr.write(`${tty ? "\r\x1b[2K" : ""}${logLevel.label.toLowerCase()}: ${text}\n`)
})

const clientLayer = Layer.mergeAll(
  TcpNetwork.layer,
  FileStorage.layer,
  // node:http: the first announce costs about 15 ms, against 70 ms with Node's fetch (which loads its own
  // undici on first use) and 0.1 s and 7 MB at startup with the undici package. The first announce is
  // on the way to the first peer. The daemon fetches a .torrent added by its URL through it too.
  NetworkTracker.layer.pipe(Layer.provideMerge(NodeHttpClient.layer)),
  RarestFirst.layer,
  UdpDatagram.layer
)

/**
 * A number option checked when the command line is parsed: outside [min, max] it is a usage error (exit
 * 2) naming the option, not a failure deep in the run (`--port 70000` was "internal error: RangeError").
 */
const within = (name: string, min: number, max: number, what = `${min} to ${max}`) =>
  Options.mapEffect((n: number) =>
    n >= min && n <= max ? Effect.succeed(n) : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--${name} takes ${what}, not ${n}`))))
const portNumber = (name: string) => within(name, 0, 65535, "a port number, 0 to 65535")

const maxPeers = Options.integer("max-peers").pipe(within("max-peers", 1, 100_000), Options.withDefault(50), Options.withDescription("connections at most"))
const uploadSlots = Options.integer("upload-slots").pipe(
  within("upload-slots", 0, 10_000),
  Options.withDefault(4),
  Options.withDescription("peers unchoked by upload or download rate (one more is unchoked optimistically)")
)
const verbose = Options.boolean("verbose").pipe(Options.withDescription("debug logs (peers connecting and leaving)"))
const port = Options.integer("port").pipe(
  portNumber("port"),
  Options.withDefault(6881),
  Options.withDescription("the port to listen on for peers (0 picks one)")
)
const state = Options.directory("state").pipe(
  Options.optional,
  Options.withDescription(`where resume data is kept (default ${defaultStateDir()})`)
)
const withClient = <A, E>(
  effect: Effect.Effect<A, E, Layer.Layer.Success<typeof clientLayer> | ResumeStore.ResumeStore | FileSystem.FileSystem>,
  debug: boolean,
  stateDir: Option.Option<string> = Option.none()
) =>
  effect.pipe(
    Effect.provide(clientLayer),
    Effect.provide(ResumeFiles.layer(Option.getOrElse(stateDir, defaultStateDir))),
    Logger.withMinimumLogLevel(debug ? LogLevel.Debug : LogLevel.Info)
  )

const noDht = Options.boolean("no-dht").pipe(Options.withDescription("do not use the DHT (never used for private torrents)"))
const dhtPort = Options.integer("dht-port").pipe(
  portNumber("dht-port"),
  Options.optional,
  Options.withDescription("the DHT's UDP port (default: the number of --port)")
)
const dhtBootstrap = Options.text("dht-bootstrap").pipe(
  Options.optional,
  Options.withDescription(`HOST:PORT,... to join the DHT through (default: $${bootstrapEnv}, else ${publicRouters.join(", ")})`)
)
const noPex = Options.boolean("no-pex").pipe(Options.withDescription("do not exchange peers with peers (PEX; never for private torrents)"))
const dhtFlags = { noDht, dhtPort, dhtBootstrap, noPex }
const hashThreads = Options.integer("hash-threads").pipe(
  Options.optional,
  Options.withDescription(
    `threads that check downloaded pieces beside the main one; 0: the main thread checks them (default on this machine: ${HashThreads.defaultCount()})`
  )
)
/** `--hash-threads` with the script the threads run, or a usage error. */
const hashThreadsFrom = (count: Option.Option<number>) => {
  const n = Option.getOrElse(count, HashThreads.defaultCount)
  return n >= 0 && n <= 64
    ? Effect.succeed({ count: n, script: digestWorkerScript })
    : Effect.fail(new UsageError({ reason: "Option", detail: `--hash-threads takes 0 to 64, not ${n}` }))
}

/** The DHT's options from its flags, or a usage error. */
const dhtFrom = (
  flags: { readonly noDht: boolean; readonly noPex: boolean; readonly dhtPort: Option.Option<number>; readonly dhtBootstrap: Option.Option<string> },
  peerPort: number,
  stateDir: Option.Option<string>
) =>
  Either.match(
    dhtOptions(
      { enabled: !flags.noDht, port: Option.getOrUndefined(flags.dhtPort), bootstrap: Option.getOrUndefined(flags.dhtBootstrap) },
      peerPort,
      Option.getOrElse(stateDir, defaultStateDir)
    ),
    {
      onLeft: (detail) => Effect.fail(new UsageError({ reason: "Option", detail })),
      onRight: (options) => Effect.succeed(options)
    }
  )

const seedCommand = Command.make(
  "seed",
  {
    torrent: torrentArg,
    data: Options.text("data").pipe(Options.withDescription("the folder that holds the torrent's content (as --out did)")),
    port,
    maxPeers,
    uploadSlots,
    state,
    verbose,
    ...dhtFlags
  },
  ({ data, maxPeers, port, state, torrent, uploadSlots, verbose, ...flags }) =>
    Effect.flatMap(dhtFrom(flags, port, state), (dht) =>
      seed({ torrent, data, port, maxPeers, uploadSlots, progress: { tty, write }, pex: !flags.noPex, ...(dht !== undefined ? { dht } : {}) })
    ).pipe((effect) => withClient(effect, verbose, state))
).pipe(Command.withDescription("check a torrent's data in a folder and seed it until stopped"))

const verifyCommand = Command.make(
  "verify",
  {
    torrent: torrentArg,
    data: Options.text("data").pipe(Options.withDescription("the folder that holds the torrent's content (as --out did)")),
    state,
    verbose
  },
  ({ data, state, torrent, verbose }) => withClient(verify({ torrent, data, progress: { tty, write } }), verbose, state)
).pipe(Command.withDescription("hash a torrent's data in a folder: each file's completeness; exit 0 only when complete"))

const downloadCommand = Command.make(
  "download",
  {
    torrent: Args.text({ name: "FILE.torrent|MAGNET" }).pipe(Args.withDescription("a .torrent file or a magnet link")),
    ...dhtFlags,
    out: Options.text("out").pipe(
      Options.withDefault("./downloads"),
      Options.withDescription("the folder to download into (created when missing)")
    ),
    port,
    stallTimeout: Options.integer("stall-timeout").pipe(
      within("stall-timeout", 0, 2_147_483, "0 to 2147483 seconds"),
      Options.withDefault(0),
      Options.withDescription("give up after this many seconds without data (0: never)")
    ),
    maxPeers,
    uploadSlots,
    seed: Options.boolean("seed").pipe(Options.withDescription("keep seeding after the download completes")),
    seedRatio: Options.float("seed-ratio").pipe(
      within("seed-ratio", 0, 1_000_000),
      Options.optional,
      Options.withDescription("with --seed: stop once uploaded / size reaches this ratio")
    ),
    seedTime: Options.float("seed-time").pipe(
      within("seed-time", 0, 35_791, "0 to 35791 minutes"),
      Options.optional,
      Options.withDescription("with --seed: stop after seeding this many minutes")
    ),
    hashThreads,
    state,
    verbose
  },
  ({ hashThreads, maxPeers, out, port, seed: keepSeeding, seedRatio, seedTime, stallTimeout, state, torrent, uploadSlots, verbose, ...flags }) =>
    Effect.flatMap(Effect.zip(dhtFrom(flags, port, state), hashThreadsFrom(hashThreads)), ([dht, threads]) => download({
      ...(dht !== undefined ? { dht } : {}),
      hashThreads: threads,
      pex: !flags.noPex,
      torrent,
      out,
      port,
      stallTimeoutSeconds: stallTimeout,
      maxPeers,
      uploadSlots,
      ...(keepSeeding || Option.isSome(seedRatio) || Option.isSome(seedTime)
        ? {
            seed: {
              ...(Option.isSome(seedRatio) ? { ratio: seedRatio.value } : {}),
              ...(Option.isSome(seedTime) ? { minutes: seedTime.value } : {})
            }
          }
        : {}),
      progress: { tty, write }
    })).pipe((effect) => withClient(effect, verbose, state))
).pipe(Command.withDescription("download a torrent (a .torrent file or a magnet link) into a folder, verifying every piece"))

const demoCommand = Command.make(
  "demo",
  {
    size: Options.integer("size-mib").pipe(within("size-mib", 1, 1_048_576), Options.withDefault(64), Options.withDescription("payload size in MiB")),
    downloaders: Options.integer("downloaders").pipe(within("downloaders", 1, 100), Options.withDefault(3), Options.withDescription("downloaders")),
    verbose
  },
  ({ downloaders, size, verbose }) =>
    withClient(demo({ size: size * 1024 * 1024, downloaders, progress: { tty, write }, workerScript }), verbose)
).pipe(Command.withDescription("a swarm in a box: a tracker, a seeder and three downloaders on 127.0.0.1"))

const trackerCommand = Command.make(
  "tracker",
  {
    port: Options.integer("port").pipe(portNumber("port"), Options.withDefault(6969), Options.withDescription("HTTP and UDP port (0 picks one)")),
    host: Options.text("host").pipe(Options.withDefault("127.0.0.1"), Options.withDescription("the address to listen on")),
    interval: Options.integer("interval").pipe(
      within("interval", 1, 86_400, "1 to 86400 seconds"),
      Options.withDefault(60),
      Options.withDescription("seconds between a client's announces; peers silent for twice as long are dropped")
    )
  },
  ({ host, interval, port }) => TrackerServer.run({ port, host, interval })
).pipe(Command.withDescription("a small HTTP and UDP tracker (BEP 3, 15, 23) for a private swarm or a test"))

const rpcUrl = Options.text("rpc-url").pipe(
  Options.withDefault(defaultRpcUrl),
  Options.withDescription("the daemon's RPC address")
)
const rpcAuth = Options.text("rpc-auth").pipe(Options.optional, Options.withDescription("USER:PASSWORD for the daemon's RPC"))
const remote = (url: string, auth: Option.Option<string>) => ({ url, ...(Option.isSome(auth) ? { auth: auth.value } : {}) })
const ids = Args.text({ name: "ID" }).pipe(Args.atLeast(1), Args.withDescription("torrent ids or info hashes, or all"))
const printed = <E, R>(effect: Effect.Effect<string, E, R>) => Effect.flatMap(effect, (text) => Console.log(text))
/** The remote commands reach the daemon over node:http, as the trackers are reached. */
const overHttp = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, NodeHttpClient.layer)

const daemonCommand = Command.make(
  "daemon",
  {
    rpcPort: Options.integer("rpc-port").pipe(portNumber("rpc-port"), Options.withDefault(9091), Options.withDescription("the RPC and web interface port")),
    rpcHost: Options.text("rpc-host").pipe(Options.withDefault("127.0.0.1"), Options.withDescription("the address the RPC listens on")),
    rpcAuth,
    allowedHost: Options.text("allowed-host").pipe(Options.repeated, Options.withDescription("a host name the RPC answers besides localhost (repeat)")),
    peerPort: Options.integer("peer-port").pipe(portNumber("peer-port"), Options.withDefault(51413), Options.withDescription("the one port for peers of all torrents (0 picks one)")),
    downloadDir: Options.text("download-dir").pipe(
      Options.optional,
      Options.withDescription("where torrents go unless added with another folder (default: the saved setting, else ./downloads)")
    ),
    hashThreads,
    state,
    verbose,
    ...dhtFlags
  },
  ({ allowedHost, downloadDir, hashThreads, peerPort, rpcAuth, rpcHost, rpcPort, state, verbose, ...flags }) =>
    Effect.gen(function* () {
      const dht = yield* dhtFrom(flags, peerPort, state)
      const threads = yield* hashThreadsFrom(hashThreads)
      const auth = Option.getOrUndefined(rpcAuth)?.split(":")
      return yield* daemon({
        rpcHost,
        rpcPort,
        peerPort,
        ...(Option.isSome(downloadDir) ? { downloadDir: downloadDir.value } : {}),
        stateDir: Option.getOrElse(state, defaultStateDir),
        pex: !flags.noPex,
        allowedHosts: allowedHost,
        version,
        progress: { tty, write },
        // The web interface that scripts/build.mjs puts beside this bundle (whose __dirname is dist/).
        webDir: path.join(__dirname, "web"),
        hashThreads: threads,
        ...(dht !== undefined ? { dht } : {}),
        ...(auth !== undefined ? { auth: { username: auth[0] ?? "", password: auth.slice(1).join(":") } } : {})
      })
    }).pipe((effect) => withClient(effect, verbose, state))
).pipe(Command.withDescription("run many torrents with a web interface and a Transmission-compatible RPC"))

const addCommand = Command.make(
  "add",
  {
    torrent: Args.text({ name: "FILE.torrent|MAGNET|URL" }).pipe(Args.withDescription("what to add")),
    downloadDir: Options.text("download-dir").pipe(Options.optional, Options.withDescription("where its data goes")),
    paused: Options.boolean("paused").pipe(Options.withDescription("add it stopped")),
    rpcUrl,
    rpcAuth
  },
  (o) =>
    overHttp(printed(Remote.add(remote(o.rpcUrl, o.rpcAuth), o.torrent, {
      paused: o.paused,
      ...(Option.isSome(o.downloadDir) ? { downloadDir: o.downloadDir.value } : {})
    })))
).pipe(Command.withDescription("add a torrent to a running daemon"))

const listCommand = Command.make("list", { rpcUrl, rpcAuth }, (o) => overHttp(printed(Remote.list(remote(o.rpcUrl, o.rpcAuth))))).pipe(
  Command.withDescription("list a running daemon's torrents")
)
const startCommand = Command.make("start", { ids, rpcUrl, rpcAuth }, (o) => overHttp(Remote.act(remote(o.rpcUrl, o.rpcAuth), "torrent-start", o.ids))).pipe(
  Command.withDescription("start torrents of a running daemon")
)
const stopCommand = Command.make("stop", { ids, rpcUrl, rpcAuth }, (o) => overHttp(Remote.act(remote(o.rpcUrl, o.rpcAuth), "torrent-stop", o.ids))).pipe(
  Command.withDescription("stop torrents of a running daemon")
)
const removeCommand = Command.make(
  "remove",
  { ids, rpcUrl, rpcAuth, deleteData: Options.boolean("delete-data").pipe(Options.withDescription("delete their data too")) },
  (o) => overHttp(Remote.act(remote(o.rpcUrl, o.rpcAuth), "torrent-remove", o.ids, o.deleteData))
).pipe(Command.withDescription("remove torrents from a running daemon"))

const createCommand = Command.make(
  "create",
  {
    path: Args.path({ name: "PATH" }).pipe(Args.withDescription("a file or a folder")),
    announce: Options.text("announce").pipe(Options.repeated, Options.withDescription("a tracker URL (repeat for more)")),
    pieceLength: Options.integer("piece-length").pipe(
      Options.optional,
      Options.withDescription("bytes per piece, a power of two from 16384 (chosen from the size when absent)")
    ),
    private: Options.boolean("private").pipe(Options.withDescription("mark the torrent private (BEP 27)")),
    webSeed: Options.text("web-seed").pipe(Options.repeated, Options.withDescription("a web seed URL (BEP 19)")),
    comment: Options.text("comment").pipe(Options.optional, Options.withDescription("a comment")),
    output: Options.text("output").pipe(Options.withAlias("o"), Options.withDescription("the .torrent file to write"))
  },
  (o) =>
    create({
      path: o.path,
      announce: o.announce,
      ...(Option.isSome(o.pieceLength) ? { pieceLength: o.pieceLength.value } : {}),
      private: o.private,
      webSeeds: o.webSeed,
      ...(Option.isSome(o.comment) ? { comment: o.comment.value } : {}),
      output: o.output,
      progress: { tty, write },
      workerScript
    })
).pipe(Command.withDescription("make a .torrent from a file or a folder"))

const cli = Command.make("bt-effect").pipe(
  Command.withDescription("a BitTorrent client built on Effect"),
  Command.withSubcommands([
    info, downloadCommand, seedCommand, verifyCommand, createCommand, trackerCommand, demoCommand,
    daemonCommand, addCommand, listCommand, startCommand, stopCommand, removeCommand
  ])
)

const run = Command.run(cli, { name: "bt-effect", version })

/** Every way a command can fail: what `run` can fail with, one union of tagged errors. */
type Failure = Effect.Effect.Error<ReturnType<typeof run>>

/** The exit code of a failure: 2 for bad input or usage, 1 for what went wrong at run time. A new kind of
 *  error does not compile until it is given one here. */
const exitCodeOf = (failure: Failure): 1 | 2 => {
  if (ValidationError.isValidationError(failure)) return 2
  switch (failure._tag) {
    case "MetainfoError":
    case "MagnetError":
    case "CreateError":
    case "UsageError":
      return 2
    case "DownloadError":
    case "StorageError":
    case "NetworkError":
    case "RemoteError":
      return 1
    default: {
      const unmapped: never = failure
      return unmapped
    }
  }
}

/** The failure's one line (@effect/cli has already shown usage errors with the command's help). */
const report = (failure: Failure): Effect.Effect<void> =>
  ValidationError.isValidationError(failure) ? Effect.void : Console.error(`bt-effect: ${failure.message}`)

/** Set by the program, read by the teardown: what the process exits with when the program ends normally. */
let exitCode = 0

const program = Effect.suspend(() => run(process.argv)).pipe(
  Effect.as(0),
  Effect.catchAll((failure) => Effect.as(report(failure), exitCodeOf(failure))),
  Effect.flatMap((code) => Effect.sync(() => void (exitCode = code))),
  Effect.tapDefect((defect) => Console.error(`bt-effect: internal error: ${Cause.pretty(defect).split("\n")[0]}`)),
  Effect.provide(Layer.merge(NodeContext.layer, Logger.replace(Logger.defaultLogger, cliLogger)))
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  // Our logger writes plain lines; runMain's pretty logger would print each of them a second time.
  disablePrettyLogger: true,
  teardown: (exit, onExit) => {
    if (Exit.isSuccess(exit)) return onExit(exitCode)
    onExit(Cause.isInterruptedOnly(exit.cause) ? 130 : 1)
  }
})

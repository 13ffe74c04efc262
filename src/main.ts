/**
 * The bt-effect command line: commands, their options, and the runtime. Everything else lives below.
 * It runs as one bundle started by dist/main.js, which sets node's flags (scripts/build.mjs says why).
 *
 * Exit codes: 0 done, 1 failed at run time, 2 bad input or usage, 130 interrupted.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Exit from "effect/Exit"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as path from "node:path"
import { create, versionFlags } from "./services/commands/Create.js"
import * as NetworkLayers from "./services/commands/NetworkLayers.js"
import { daemon } from "./services/commands/Daemon.js"
import { daemonFlags } from "./services/commands/DaemonFlags.js"
import { demo } from "./services/commands/Demo.js"
import * as Remote from "./services/commands/Remote.js"
import { download } from "./services/commands/Download.js"
import { checkFileChoice } from "./services/commands/FileChoice.js"
import { seed } from "./services/commands/Seed.js"
import { sequential, streamCommand, withOrder } from "./services/commands/StreamCommand.js"
import * as ResumeFiles from "./services/storage/ResumeFiles.js"
import type * as ResumeStore from "./services/storage/ResumeStore.js"
import { defaultStateDir } from "./services/storage/ResumeStore.js"
import type { RpcCredentials } from "./domain/RpcAddress.js"
import * as CommandLine from "./services/commands/CommandLine.js"
import {
  dataFolder, dhtFlags, dhtFrom, noWebSeeds, hashThreads, hashThreadsFrom, ids, integerOption, jsonProgress, maxPeers, optionalText, port, portOption,
  type PeerFlags, rateLimits, rpcAuth, rpcUrl, state, textOption, torrentArg, transportsFrom, uploadSlots, verbose, within
} from "./services/commands/CommandOptions.js"
import { describeProgram, plainText } from "./services/commands/CommandTree.js"
import { completionScript } from "./services/commands/Completions.js"
import { commandHelp, programHelp, styleFor } from "./services/commands/HelpText.js"
import { verify } from "./services/commands/Verify.js"
import * as FileStorage from "./services/storage/FileStorage.js"
import { infoJson, infoText } from "./services/commands/InfoReport.js"
import { type Bind, unbound } from "./domain/BindAddress.js"
import * as RarestFirst from "./services/pieces/RarestFirst.js"
import { loadTorrent } from "./services/torrent/TorrentSource.js"
import * as TrackerServer from "./services/tracker/TrackerServer.js"
import { EncryptionPolicy } from "./services/wire/Encryption.js"
import type { Transports } from "./services/wire/PeerTransports.js"

const version = "0.1.0"
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
/** The daemon's log: what happened to its torrents, hours apart, so each line says when (local time). */
const daemonLogger = Logger.make(({ date, logLevel, message }) => {
  const text = Array.isArray(message) ? message.join(" ") : String(message)
  const at = new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 19).replace("T", " ")
  process.stderr.write(`${at} ${logLevel.label.toLowerCase()}: ${text}\n`)
})

/** The network (bound to --bind, over the transports chosen; its HttpClient also fetches the daemon's
 *  .torrent added by URL), files, picker. */
const clientLayer = (bind: Bind, transports?: Transports) =>
  Layer.mergeAll(NetworkLayers.layer(bind, transports), FileStorage.layer, RarestFirst.layer)

const withClient = <A, E>(
  effect: Effect.Effect<A, E, Layer.Layer.Success<ReturnType<typeof clientLayer>> | ResumeStore.ResumeStore | FileSystem.FileSystem>,
  debug: boolean,
  stateDir: Option.Option<string> = Option.none(),
  peers?: PeerFlags
) =>
  Effect.flatMap(peers === undefined ? Effect.succeed(undefined) : transportsFrom(peers), (transports) =>
    effect.pipe(
      Effect.provide(clientLayer(peers?.bind ?? unbound, transports)),
      Effect.provide(ResumeFiles.layer(Option.getOrElse(stateDir, defaultStateDir))),
      Effect.provideService(EncryptionPolicy, peers?.encryption),
      Logger.withMinimumLogLevel(debug ? LogLevel.Debug : LogLevel.Info)
    ))

const seedCommand = Command.make(
  "seed",
  {
    torrent: torrentArg,
    data: dataFolder,
    port,
    maxPeers,
    uploadSlots,
    ...rateLimits,
    json: jsonProgress,
    state,
    verbose,
    noWebSeeds,
    ...dhtFlags
  },
  ({ data, downloadLimit, json, maxPeers, noWebSeeds, port, state, torrent, uploadLimit, uploadSlots, verbose, ...flags }) =>
    Effect.flatMap(dhtFrom(flags, port, state), (dht) =>
      seed({
        torrent,
        data,
        port,
        maxPeers,
        uploadSlots,
        downloadLimit,
        uploadLimit,
        progress: { tty, write, json },
        pex: !flags.noPex,
        webSeeds: !noWebSeeds,
        ...(dht !== undefined ? { dht } : {})
      })
    ).pipe((effect) => withClient(effect, verbose, state, flags))
).pipe(Command.withDescription("check a torrent's data in a folder and seed it until stopped"))

const verifyCommand = Command.make(
  "verify",
  {
    torrent: torrentArg,
    data: dataFolder,
    state,
    verbose
  },
  ({ data, state, torrent, verbose }) => withClient(verify({ torrent, data, progress: { tty, write } }), verbose, state)
).pipe(Command.withDescription("hash a torrent's data in a folder: each file's completeness; exit 0 only when complete"))

const downloadCommand = Command.make(
  "download",
  {
    torrent: Args.text({ name: "FILE.torrent|MAGNET" }).pipe(Args.withDescription("a .torrent file or a magnet link")),
    out: textOption("out", "./downloads", "DIR", "the download folder (created when missing)"),
    port,
    stallTimeout: integerOption("stall-timeout", {
      min: 0,
      max: 2_147_483,
      range: "0 to 2147483 seconds",
      default: 0,
      placeholder: "SECONDS",
      description: "give up after this many seconds without data (0: never)"
    }),
    maxPeers,
    uploadSlots,
    files: optionalText("files", "LIST", "only these files, numbered as info shows them: 1,4-7"),
    only: Options.text("only").pipe(
      Options.repeated,
      Options.withPseudoName("GLOB"),
      Options.withDescription("only the files whose path matches: *, ?, **, [a-z]")
    ),
    seed: Options.boolean("seed").pipe(Options.withDescription("keep seeding after the download completes")),
    seedRatio: Options.float("seed-ratio").pipe(
      within("seed-ratio", 0, 1_000_000),
      Options.optional,
      Options.withPseudoName("RATIO"),
      Options.withDescription("with --seed: stop once uploaded / size reaches this ratio")
    ),
    seedTime: Options.float("seed-time").pipe(
      within("seed-time", 0, 35_791, "0 to 35791 minutes"),
      Options.optional,
      Options.withPseudoName("MINUTES"),
      Options.withDescription("with --seed: stop after seeding this many minutes")
    ),
    ...rateLimits,
    json: jsonProgress, sequential,
    hashThreads,
    state,
    verbose,
    noWebSeeds,
    ...dhtFlags
  },
  ({ downloadLimit, files, hashThreads, json, maxPeers, noWebSeeds, only, out, port, seed: keepSeeding, seedRatio, seedTime, sequential, stallTimeout, state, torrent, uploadLimit, uploadSlots, verbose, ...flags }) =>
    Effect.flatMap(Effect.zip(dhtFrom(flags, port, state), hashThreadsFrom(hashThreads, digestWorkerScript)), ([dht, threads]) => download({
      ...(Option.isSome(files) ? { files: files.value } : {}),
      ...(only.length > 0 ? { only } : {}),
      ...(dht !== undefined ? { dht } : {}),
      hashThreads: threads,
      pex: !flags.noPex,
      webSeeds: !noWebSeeds,
      torrent,
      out,
      port,
      stallTimeoutSeconds: stallTimeout,
      maxPeers,
      uploadSlots,
      downloadLimit,
      uploadLimit,
      ...(keepSeeding || Option.isSome(seedRatio) || Option.isSome(seedTime)
        ? {
            seed: {
              ...(Option.isSome(seedRatio) ? { ratio: seedRatio.value } : {}),
              ...(Option.isSome(seedTime) ? { minutes: seedTime.value } : {})
            }
          }
        : {}),
      progress: { tty, write, json }
    })).pipe(
      (effect) => Effect.zipRight(checkFileChoice({ ...(Option.isSome(files) ? { files: files.value } : {}), only }), effect),
      (effect) => withClient(withOrder(sequential, effect), verbose, state, flags)
    )
).pipe(Command.withDescription("download a .torrent or a magnet link into a folder, verifying every piece"))

const demoCommand = Command.make(
  "demo",
  {
    size: integerOption("size-mib", { min: 1, max: 1_048_576, default: 64, placeholder: "MIB", description: "payload size in MiB" }),
    downloaders: integerOption("downloaders", { min: 1, max: 100, default: 3, description: "how many downloaders" }),
    verbose
  },
  ({ downloaders, size, verbose }) =>
    withClient(demo({ size: size * 1024 * 1024, downloaders, progress: { tty, write }, workerScript }), verbose)
).pipe(Command.withDescription("a swarm in a box: a tracker, a seeder and three downloaders on 127.0.0.1"))

const trackerCommand = Command.make(
  "tracker",
  {
    port: portOption("port", 6969, "HTTP and UDP port (0 picks one)"),
    host: textOption("host", "127.0.0.1", "ADDRESS", "the address to listen on"),
    interval: integerOption("interval", {
      min: 1,
      max: 86_400,
      range: "1 to 86400 seconds",
      default: 60,
      placeholder: "SECONDS",
      description: "seconds between a client's announces; peers silent for twice as long are dropped"
    })
  },
  ({ host, interval, port }) => TrackerServer.run({ port, host, interval })
).pipe(Command.withDescription("a small HTTP and UDP tracker (BEP 3, 15, 23) for a private swarm or a test"))

const remote = (url: string, auth: Option.Option<RpcCredentials>) => ({
  url,
  ...(Option.isSome(auth) ? { auth: `${auth.value.username}:${auth.value.password}` } : {})
})
const printed = <E, R>(effect: Effect.Effect<string, E, R>) => Effect.flatMap(effect, (text) => Console.log(text))
/** The remote commands reach the daemon over node:http, as the trackers are reached. */
const overHttp = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, NodeHttpClient.layer)

const daemonCommand = Command.make(
  "daemon",
  {
    ...daemonFlags,
    rpcAuth,
    hashThreads,
    state,
    verbose,
    ...dhtFlags
  },
  ({ allowFolder, allowedHost, downloadDir, hashThreads, peerPort, rpcAuth, rpcHost, rpcPort, state, verbose, watchDir, watchRemove, ...flags }) =>
    Effect.gen(function* () {
      const dht = yield* dhtFrom(flags, peerPort, state)
      const threads = yield* hashThreadsFrom(hashThreads, digestWorkerScript)
      return yield* daemon({
        rpcHost,
        rpcPort,
        peerPort,
        ...(Option.isSome(downloadDir) ? { downloadDir: downloadDir.value } : {}),
        stateDir: Option.getOrElse(state, defaultStateDir),
        pex: !flags.noPex,
        allowedHosts: allowedHost,
        allowedFolders: allowFolder,
        ...(Option.isSome(watchDir) ? { watch: { folder: watchDir.value, remove: watchRemove } } : {}),
        version,
        progress: { tty, write },
        // The web interface that scripts/build.mjs puts beside this bundle (whose __dirname is dist/).
        webDir: path.join(__dirname, "web"),
        hashThreads: threads,
        ...(dht !== undefined ? { dht } : {}),
        ...(Option.isSome(rpcAuth) ? { auth: rpcAuth.value } : {})
      })
    }).pipe((effect) => withClient(effect, verbose, state, flags), Effect.provide(Logger.replace(cliLogger, daemonLogger)))
).pipe(Command.withDescription("run many torrents with a web interface and a Transmission-compatible RPC"))

const addCommand = Command.make(
  "add",
  {
    torrent: Args.text({ name: "FILE.torrent|MAGNET|URL" }).pipe(Args.withDescription("what to add")),
    downloadDir: optionalText("download-dir", "DIR", "where its data goes (default: the daemon's folder)"),
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

const listCommand = Command.make(
  "list",
  { json: Options.boolean("json").pipe(Options.withDescription("print the torrents as JSON")), rpcUrl, rpcAuth },
  (o) => overHttp(printed(Remote.list(remote(o.rpcUrl, o.rpcAuth), o.json ? "json" : "text")))
).pipe(Command.withDescription("list a running daemon's torrents"))
const startCommand = Command.make("start", { ids, rpcUrl, rpcAuth }, (o) => overHttp(printed(Remote.act(remote(o.rpcUrl, o.rpcAuth), "torrent-start", o.ids)))).pipe(
  Command.withDescription("start torrents of a running daemon")
)
const stopCommand = Command.make("stop", { ids, rpcUrl, rpcAuth }, (o) => overHttp(printed(Remote.act(remote(o.rpcUrl, o.rpcAuth), "torrent-stop", o.ids)))).pipe(
  Command.withDescription("stop torrents of a running daemon")
)
const removeCommand = Command.make(
  "remove",
  { ids, rpcUrl, rpcAuth, deleteData: Options.boolean("delete-data").pipe(Options.withDescription("delete their data too")) },
  (o) => overHttp(printed(Remote.act(remote(o.rpcUrl, o.rpcAuth), "torrent-remove", o.ids, o.deleteData)))
).pipe(Command.withDescription("remove torrents from a running daemon"))

const createCommand = Command.make(
  "create",
  {
    path: Args.path({ name: "PATH" }).pipe(Args.withDescription("a file or a folder")),
    announce: Options.text("announce").pipe(Options.repeated, Options.withPseudoName("URL"), Options.withDescription("a tracker URL")),
    pieceLength: Options.integer("piece-length").pipe(
      Options.optional,
      Options.withPseudoName("BYTES"),
      Options.withDescription("bytes per piece, a power of two from 16384 (chosen from the size when absent)")
    ),
    private: Options.boolean("private").pipe(Options.withDescription("mark the torrent private (BEP 27)")),
    webSeed: Options.text("web-seed").pipe(Options.repeated, Options.withPseudoName("URL"), Options.withDescription("a web seed URL (BEP 19)")),
    comment: optionalText("comment", "TEXT", "a comment"),
    output: Options.text("output").pipe(Options.withAlias("o"), Options.withPseudoName("FILE"), Options.withDescription("the .torrent file to write")),
    force: Options.boolean("force").pipe(Options.withDescription("replace the output file if it exists")),
    ...versionFlags
  },
  (o) =>
    create({
      path: o.path,
      versions: { v1: o.v1, v2: o.v2, hybrid: o.hybrid },
      announce: o.announce,
      ...(Option.isSome(o.pieceLength) ? { pieceLength: o.pieceLength.value } : {}),
      private: o.private,
      webSeeds: o.webSeed,
      ...(Option.isSome(o.comment) ? { comment: o.comment.value } : {}),
      output: o.output,
      force: o.force,
      progress: { tty, write },
      workerScript
    })
).pipe(Command.withDescription("make a .torrent from a file or a folder"))

const cli = Command.make("bt-effect").pipe(
  Command.withDescription("a BitTorrent client built on Effect"),
  Command.withSubcommands([
    info, downloadCommand, seedCommand, verifyCommand, createCommand, trackerCommand, demoCommand,
    daemonCommand, addCommand, listCommand, startCommand, stopCommand, removeCommand, streamCommand({ run: withClient, progress: { tty, write } })
  ])
)

/** The commands and their options as data: what help, the mistakes pointed out and completions read. */
const structure = describeProgram(cli)
const words = process.argv.slice(2)
const run = () => CommandLine.execute(cli, structure.name, words)

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

/** The failure's one line; a value @effect/cli refused, in its words ("--port takes a port number, ..."). */
const report = (failure: Failure): Effect.Effect<void> =>
  Console.error(`bt-effect: ${ValidationError.isValidationError(failure) ? plainText(failure.error) || "bad command line" : failure.message}`)

/** What the command line asks for: help, the version, a completion script or a usage error (exit 2)
 *  before any command runs; else the command. */
const answer = (route: CommandLine.Route) => {
  switch (route._tag) {
    case "Help": {
      const style = styleFor(process.stdout, process.env)
      return Effect.as(write(route.command === undefined ? programHelp(structure, version, style) : commandHelp(structure, route.command, style)), 0)
    }
    case "Version":
      return Effect.as(Console.log(`${structure.name} ${version}`), 0)
    case "Completions":
      return Effect.as(write(completionScript(structure, route.shell)), 0)
    case "Mistake":
      return Effect.as(Console.error(route.message), 2)
    case "Run":
      return Effect.as(run(), 0)
  }
}

/** Set by the program, read by the teardown: what the process exits with when the program ends normally. */
let exitCode = 0

const program = Effect.suspend(() => answer(CommandLine.route(structure, words))).pipe(
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

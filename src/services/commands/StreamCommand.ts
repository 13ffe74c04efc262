/**
 * The `stream` command's options and its run, and `download --sequential`, kept here so that src/main.ts
 * only lists the command and gives it its runtime (`run`: the client's layers, the state folder).
 * `stream` keeps the client's rarest-first picker: the pieces under each read get deadlines
 * (torrent/TorrentReader.ts), and the rest comes rarest first behind them, as libtorrent streams.
 * `download --sequential` takes the sequential picker (pieces/SequentialOrder) for players outside.
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { UsageError } from "../../domain/Errors.js"
import * as SequentialOrder from "../pieces/SequentialOrder.js"
import { defaultStateDir } from "../storage/ResumeStore.js"
import {
  dhtFlags, dhtFrom, maxPeers, noWebSeeds, optionalInteger, optionalText, type PeerFlags, port, portOption, rateLimits, state, textOption,
  uploadSlots, verbose
} from "./CommandOptions.js"
import type * as Progress from "./Progress.js"
import { stream } from "./Stream.js"

/** `download --sequential`: pieces in order, lowest first. */
export const sequential = Options.boolean("sequential").pipe(
  Options.withDescription("the pieces in order, first to last (to play a file as it comes)")
)

/** The effect with the sequential picker when `inOrder`, which the client's rarest-first then does not replace. */
export const withOrder = <A, E, R>(inOrder: boolean, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  inOrder ? Effect.provide(effect, SequentialOrder.layer) : effect

/** The services `stream` needs from main.ts. */
type StreamNeeds = Effect.Effect.Context<ReturnType<typeof stream>>

/** What main.ts gives the command: how to run a program with the client's services, and the terminal. */
export interface StreamContext<R2> {
  readonly run: <A, E>(effect: Effect.Effect<A, E, StreamNeeds>, debug: boolean, stateDir: Option.Option<string>, peers: PeerFlags) => Effect.Effect<A, E | UsageError, R2>
  readonly progress: Progress.ProgressOptions
}

export const streamCommand = <R2>(context: StreamContext<R2>) =>
  Command.make(
    "stream",
    {
      torrent: Args.text({ name: "FILE.torrent|MAGNET" }).pipe(Args.withDescription("a .torrent file or a magnet link")),
      file: optionalInteger("file", {
        min: 1,
        max: 1_000_000,
        description: "the file to play, numbered as info shows them (default: the largest)"
      }),
      httpPort: portOption("http-port", 8888, "the port of the HTTP server for players (0 picks one)"),
      httpHost: textOption("http-host", "127.0.0.1", "HOST", "the address the HTTP server listens on"),
      out: optionalText("out", "DIR", "the folder to download into (default: streams in the state folder)"),
      port,
      maxPeers,
      uploadSlots,
      ...rateLimits,
      state,
      verbose,
      noWebSeeds,
      ...dhtFlags
    },
    ({ downloadLimit, file, httpHost, httpPort, maxPeers, noWebSeeds, out, port, state, torrent, uploadLimit, uploadSlots, verbose, ...flags }) =>
      Effect.flatMap(dhtFrom(flags, port, state), (dht) =>
        stream({
          torrent,
          ...(Option.isSome(file) ? { file: file.value } : {}),
          httpHost,
          httpPort,
          ...(Option.isSome(out) ? { out: out.value } : {}),
          stateDir: Option.getOrElse(state, defaultStateDir),
          port,
          maxPeers,
          uploadSlots,
          downloadLimit,
          uploadLimit,
          progress: context.progress,
          pex: !flags.noPex,
          webSeeds: !noWebSeeds,
          ...(dht !== undefined ? { dht } : {})
        })
      ).pipe((effect) => context.run(effect, verbose, state, flags))
  ).pipe(Command.withDescription("download a torrent in order while serving its files over HTTP to a player, until stopped"))

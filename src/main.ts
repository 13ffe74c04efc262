#!/usr/bin/env node
/**
 * The bt-effect command line: commands, their options, and the runtime. Everything else lives below.
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
import * as Exit from "effect/Exit"
import { infoJson, infoText } from "./services/InfoReport.js"
import { loadTorrent } from "./services/TorrentSource.js"

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

const cli = Command.make("bt-effect").pipe(
  Command.withDescription("a BitTorrent client built on Effect"),
  Command.withSubcommands([info])
)

const run = Command.run(cli, { name: "bt-effect", version })

/** The exit code a failure maps to; the error's one-line message is printed by `report`. */
const exitCode = (error: unknown): number => {
  if (ValidationError.isValidationError(error)) return 2
  if (typeof error === "object" && error !== null && "_tag" in error) {
    switch (error._tag) {
      case "MetainfoError":
      case "MagnetError":
      case "UsageError":
        return 2
    }
  }
  return 1
}

const report = (error: unknown): Effect.Effect<void> =>
  // @effect/cli has already shown usage errors with the command's help.
  ValidationError.isValidationError(error)
    ? Effect.void
    : Console.error(`bt-effect: ${error instanceof Error ? error.message : String(error)}`)

const program = Effect.suspend(() => run(process.argv)).pipe(
  Effect.tapError(report),
  Effect.tapDefect((defect) => Console.error(`bt-effect: internal error: ${Cause.pretty(defect).split("\n")[0]}`)),
  Effect.provide(NodeContext.layer)
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  teardown: (exit, onExit) => {
    if (Exit.isSuccess(exit)) return onExit(0)
    if (Cause.isInterruptedOnly(exit.cause)) return onExit(130)
    const failure = Cause.failureOption(exit.cause)
    onExit(failure._tag === "Some" ? exitCode(failure.value) : 1)
  }
})

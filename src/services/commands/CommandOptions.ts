/**
 * The options and arguments several commands share, and the helpers that make one: a number checked
 * when the command line is parsed, a value with a default. Help (HelpText, through CommandTree) reads
 * names, placeholders, defaults and descriptions from these definitions, so each is said once, here or
 * in src/main.ts.
 */
import * as Args from "@effect/cli/Args"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as os from "node:os"
import { type Bind, bindOfInterface, parseBind } from "../../domain/BindAddress.js"
import { UsageError } from "../../domain/Errors.js"
import { bootstrapEnv, dhtOptions, publicRouters } from "../dht/DhtSettings.js"
import * as HashThreads from "../pieces/HashThreads.js"
import { type Policy, policies } from "../wire/Encryption.js"
import type { Transports } from "../wire/PeerTransports.js"
import { defaultStateDir } from "../storage/ResumeStore.js"
import { parseRpcAuth, parseRpcUrl } from "../../domain/RpcAddress.js"
import { parseRate } from "../../domain/Units.js"
import { defaultRpcUrl } from "./Remote.js"

/**
 * A number option checked when the command line is parsed: outside [min, max] it is a usage error (exit
 * 2) naming the option, not a failure deep in the run (`--port 70000` was "internal error: RangeError").
 */
export const within = (name: string, min: number, max: number, what = `${min} to ${max}`) =>
  Options.mapEffect((n: number) =>
    n >= min && n <= max ? Effect.succeed(n) : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--${name} takes ${what}, not ${n}`))))
export const portNumber = (name: string) => within(name, 0, 65535, "a port number, 0 to 65535")

export interface IntegerSpec {
  readonly min: number
  readonly max: number
  /** The range in words for the error ("1 to 86400 seconds"); `min to max` when absent. */
  readonly range?: string
  readonly default: number
  /** The value's name in help: N unless given. */
  readonly placeholder?: string
  readonly description: string
}

/** `--name N`, an integer from min to max, its default shown in help ("... (default 50)"). */
export const integerOption = (name: string, spec: IntegerSpec) =>
  Options.integer(name).pipe(
    within(name, spec.min, spec.max, spec.range),
    Options.withDefault(spec.default),
    Options.withPseudoName(spec.placeholder ?? "N"),
    Options.withDescription(spec.description)
  )

/** `--name N`, an integer from min to max that may be left out (an `Option`): help shows no default, so
 *  the description says what leaving it out means. */
export const optionalInteger = (name: string, spec: Omit<IntegerSpec, "default">) =>
  Options.integer(name).pipe(
    within(name, spec.min, spec.max, spec.range),
    Options.optional,
    Options.withPseudoName(spec.placeholder ?? "N"),
    Options.withDescription(spec.description)
  )

/** `--name PORT`-like: a port from 0 to 65535, its default shown in help. */
export const portOption = (name: string, fallback: number, description: string) =>
  Options.integer(name).pipe(portNumber(name), Options.withDefault(fallback), Options.withPseudoName("N"), Options.withDescription(description))

/** `--name VALUE`, text with a default shown in help. */
export const textOption = (name: string, fallback: string, placeholder: string, description: string) =>
  Options.text(name).pipe(Options.withDefault(fallback), Options.withPseudoName(placeholder), Options.withDescription(description))

/** `--name VALUE`, text that may be left out (an `Option`). */
export const optionalText = (name: string, placeholder: string, description: string) =>
  Options.text(name).pipe(Options.optional, Options.withPseudoName(placeholder), Options.withDescription(description))

export const torrentArg = Args.file({ name: "FILE.torrent" }).pipe(Args.withDescription("the .torrent file"))
export const dataFolder = Options.text("data").pipe(
  Options.withPseudoName("DIR"),
  Options.withDescription("the folder that holds the torrent's file or folder (where it was downloaded to: its --out)")
)

export const maxPeers = integerOption("max-peers", { min: 1, max: 100_000, default: 50, description: "connections at most" })
export const uploadSlots = integerOption("upload-slots", {
  min: 0,
  max: 10_000,
  default: 4,
  description: "peers unchoked by upload or download rate (one more is unchoked optimistically)"
})
export const verbose = Options.boolean("verbose").pipe(Options.withDescription("debug logs (peers connecting and leaving)"))
export const port = portOption("port", 6881, "the port to listen on for peers (0 picks one)")
export const state = Options.directory("state").pipe(
  Options.optional,
  Options.withPseudoName("DIR"),
  Options.withDescription(`where resume data is kept (default ${defaultStateDir()})`)
)

const noDht = Options.boolean("no-dht").pipe(Options.withDescription("do not use the DHT (never used for private torrents)"))
const dhtPort = Options.integer("dht-port").pipe(
  portNumber("dht-port"),
  Options.optional,
  Options.withPseudoName("N"),
  Options.withDescription("the DHT's UDP port (default: the number of --port)")
)
const dhtBootstrap = optionalText(
  "dht-bootstrap",
  "HOST:PORT,...",
  `DHT nodes to join through (default: $${bootstrapEnv}, else ${publicRouters[0]} and ${publicRouters.length - 1} more public routers)`
)
const noPex = Options.boolean("no-pex").pipe(Options.withDescription("do not exchange peers with peers (PEX; never for private torrents)"))
/** `--bind ADDRESS` (repeatable: one IPv4, one IPv6; domain/BindAddress.ts), or `--bind-interface NAME`
 *  (that interface's addresses): every socket of ours uses only these addresses. Among the DHT's flags
 *  since every command with a DHT talks to peers. */
const bindAddresses = Options.text("bind").pipe(
  Options.repeated,
  Options.withPseudoName("ADDRESS"),
  Options.withDescription("this address only, for peers, trackers and DHT")
)
const bindInterface = Options.text("bind-interface").pipe(
  Options.optional,
  Options.withPseudoName("NAME"),
  Options.withDescription("the addresses this interface has at start only (a VPN's, say)")
)
const bind = Options.all({ addresses: bindAddresses, device: bindInterface }).pipe(
  Options.mapEffect(({ addresses, device }) => {
    if (Option.isSome(device) && addresses.length > 0) {
      return Effect.fail(ValidationError.invalidValue(HelpDoc.p("--bind and --bind-interface choose the same thing: give one")))
    }
    const parsed = Option.isSome(device) ? bindOfInterface(device.value, os.networkInterfaces()) : parseBind(addresses)
    return parsed.ok ? Effect.succeed(parsed.bind) : Effect.fail(ValidationError.invalidValue(HelpDoc.p(parsed.why)))
  })
)
/** `--encryption`: Message Stream Encryption (wire/MseConnection.ts); among the DHT's flags for the same reason. */
const encryption = Options.choice("encryption", policies).pipe(
  Options.withDefault("prefer" as Policy),
  Options.withPseudoName("MODE"),
  Options.withDescription("MSE peer encryption: off, prefer or require")
)
/** `--no-utp` / `--utp` (the default): uTP beside TCP (wire/PeerTransports.ts); `--no-tcp`: uTP only. */
const noUtp = Options.boolean("no-utp", { negationNames: ["utp"] }).pipe(
  Options.withDescription("peers over TCP only (--utp: over uTP too, the default)")
)
const noTcp = Options.boolean("no-tcp").pipe(Options.withDescription("no TCP: peers over uTP only"))
export const dhtFlags = { noDht, dhtPort, dhtBootstrap, noPex, bind, encryption, noUtp, noTcp }

/** What the peer flags say of the network: where to bind, encryption, transports. */
export interface PeerFlags {
  readonly bind: Bind
  readonly encryption: Policy
  readonly noUtp: boolean
  readonly noTcp: boolean
}

/** The transports `--no-utp` and `--no-tcp` leave, or a usage error when they leave none. */
export const transportsFrom = (flags: { readonly noUtp: boolean; readonly noTcp: boolean }): Effect.Effect<Transports, UsageError> =>
  flags.noUtp && flags.noTcp
    ? Effect.fail(new UsageError({ reason: "Option", detail: "--no-utp and --no-tcp leave no way to reach peers: drop one" }))
    : Effect.succeed({ utp: !flags.noUtp, tcp: !flags.noTcp })
export const noWebSeeds = Options.boolean("no-web-seeds").pipe(Options.withDescription("do not fetch pieces from web seeds (BEP 19)"))

export const hashThreads = Options.integer("hash-threads").pipe(
  Options.optional,
  Options.withPseudoName("N"),
  Options.withDescription(
    `hashing threads beside the main one (0: none; default here: ${HashThreads.defaultCount()})`
  )
)
/** `--hash-threads` with the script the threads run, or a usage error. */
export const hashThreadsFrom = (count: Option.Option<number>, script: string) => {
  const n = Option.getOrElse(count, HashThreads.defaultCount)
  return n >= 0 && n <= 64
    ? Effect.succeed({ count: n, script })
    : Effect.fail(new UsageError({ reason: "Option", detail: `--hash-threads takes 0 to 64, not ${n}` }))
}

/** The DHT's options from its flags, or a usage error. */
export const dhtFrom = (
  flags: { readonly noDht: boolean; readonly noPex: boolean; readonly dhtPort: Option.Option<number>; readonly dhtBootstrap: Option.Option<string>; readonly bind?: Bind },
  peerPort: number,
  stateDir: Option.Option<string>
) =>
  Either.match(
    dhtOptions(
      {
        enabled: !flags.noDht,
        port: Option.getOrUndefined(flags.dhtPort),
        bootstrap: Option.getOrUndefined(flags.dhtBootstrap),
        ...(flags.bind !== undefined ? { bind: flags.bind } : {})
      },
      peerPort,
      Option.getOrElse(stateDir, defaultStateDir)
    ),
    {
      onLeft: (detail) => Effect.fail(new UsageError({ reason: "Option", detail })),
      onRight: (options) => Effect.succeed(options)
    }
  )

/** A usage error (exit 2) found while parsing an option's value. */
const invalid = (text: string) => ValidationError.invalidValue(HelpDoc.p(text))

export const rpcUrl = Options.text("rpc-url").pipe(
  Options.mapEffect((text) => Either.match(parseRpcUrl(text), { onLeft: (why) => Effect.fail(invalid(why)), onRight: Effect.succeed })),
  Options.withDefault(defaultRpcUrl),
  Options.withPseudoName("URL"),
  Options.withDescription("the daemon's RPC address ([http://]HOST:PORT[/PATH]; the path defaults to /transmission/rpc)")
)
/** USER:PASSWORD, checked alike for the daemon and the commands that call it (domain/RpcAddress.ts). */
export const rpcAuth = Options.text("rpc-auth").pipe(
  Options.mapEffect((text) => Either.match(parseRpcAuth(text), { onLeft: (why) => Effect.fail(invalid(why)), onRight: Effect.succeed })),
  Options.optional,
  Options.withPseudoName("USER:PASSWORD"),
  Options.withDescription("the daemon's RPC login")
)

/** `--download-limit RATE` / `--upload-limit RATE` in bytes per second (domain/Units.parseRate), 0: none. */
export const rateOption = (name: string, description: string) =>
  Options.text(name).pipe(
    Options.mapEffect((text) => {
      const parsed = parseRate(text)
      return parsed.ok ? Effect.succeed(parsed.rate) : Effect.fail(invalid(`--${name} takes ${parsed.why}`))
    }),
    Options.withDefault(0),
    Options.withPseudoName("RATE"),
    Options.withDescription(`${description}: bytes/s, or 500K, 2M, 1G (0: none)`)
  )
export const rateLimits = {
  downloadLimit: rateOption("download-limit", "download limit"),
  uploadLimit: rateOption("upload-limit", "upload limit")
}

export const jsonProgress = Options.boolean("json").pipe(
  Options.withDescription("progress as JSON lines (events: checking, progress, done...)")
)
export const ids = Args.text({ name: "ID" }).pipe(Args.atLeast(1), Args.withDescription("torrent ids or info hashes, or all"))

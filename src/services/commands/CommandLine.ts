/**
 * The command line read before @effect/cli parses it: `--help`, `--version` and `--completions` answered
 * here, and the mistakes a person makes (a mistyped command or option, a missing value or argument) told
 * in one line with what was probably meant, instead of @effect/cli's whole help page. What passes goes to
 * @effect/cli, which turns the words into values (and checks paths and ranges).
 */
import * as AutoCorrect from "@effect/cli/AutoCorrect"
import * as CliConfig from "@effect/cli/CliConfig"
import type * as Command from "@effect/cli/Command"
import * as CommandDescriptor from "@effect/cli/CommandDescriptor"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"
import { type CommandDoc, namesOf, type OptionDoc, type Shell, shells } from "./CommandTree.js"

export type Route =
  /** Help for a command, or the program's when none. */
  | { readonly _tag: "Help"; readonly command: CommandDoc | undefined }
  | { readonly _tag: "Version" }
  | { readonly _tag: "Completions"; readonly shell: Shell }
  /** A usage error, in one line. */
  | { readonly _tag: "Mistake"; readonly message: string }
  | { readonly _tag: "Run" }

const help = (command: CommandDoc | undefined): Route => ({ _tag: "Help", command })
const run: Route = { _tag: "Run" }

const config = CliConfig.defaultConfig
/** Case as @effect/cli compares names (not case-sensitive by default). */
const normal = (name: string) => (config.isCaseSensitive ? name : name.toLowerCase())

/** What was probably meant: the one name that `typed` begins, else the nearest within two edits. */
export const closest = (typed: string, names: ReadonlyArray<string>): string | undefined => {
  const word = normal(typed)
  const extended = names.filter((name) => word.replace(/^-+/, "").length >= 3 && normal(name).startsWith(word))
  if (extended.length === 1) return extended[0]
  let best: { readonly name: string; readonly distance: number } | undefined
  for (const name of names) {
    const distance = AutoCorrect.levensteinDistance(typed, name, config)
    if (distance <= config.autoCorrectLimit && (best === undefined || distance < best.distance)) best = { name, distance }
  }
  return best?.name
}

const unknown = (program: string, what: string, typed: string, names: ReadonlyArray<string>, helpCommand: string): Route => {
  const meant = closest(typed, names)
  return {
    _tag: "Mistake",
    message: meant !== undefined
      ? `${program}: unknown ${what} '${typed}'; did you mean '${meant}'?`
      : `${program}: unknown ${what} '${typed}' (see ${helpCommand} --help)`
  }
}

const isOptionWord = (word: string) => word.startsWith("-") && word !== "-"
/** The words @effect/cli takes as a flag's value when one follows it (`--seed yes`). */
const flagValues = new Set(["true", "1", "y", "yes", "on", "false", "0", "n", "no", "off"])
/** `--name=value` as its name and value; any other word as a name alone. */
const split = (word: string): readonly [name: string, inline: string | undefined] => {
  const equals = word.startsWith("--") ? word.indexOf("=") : -1
  return equals === -1 ? [word, undefined] : [word.slice(0, equals), word.slice(equals + 1)]
}
const findOption = (options: ReadonlyArray<OptionDoc>, name: string) =>
  options.find((option) => namesOf(option).some((n) => normal(n) === normal(name)))

/** A number option's word that is no number: said with the option's name ("'abc' is not a integer" is
 *  what @effect/cli would say). */
const badNumber = (option: OptionDoc, value: string): string | undefined => {
  if (option.kind === "integer" && !/^[+-]?\d+$/.test(value)) return `${option.name} takes a whole number, not '${value}'`
  if (option.kind === "float" && (value.trim() === "" || !Number.isFinite(Number(value)))) return `${option.name} takes a number, not '${value}'`
  return undefined
}

/** A command's words: its options known and given their values, its arguments counted. */
const routeCommand = (program: CommandDoc, command: CommandDoc, words: ReadonlyArray<string>): Route => {
  const end = words.indexOf("--")
  const flags = end === -1 ? words : words.slice(0, end)
  if (flags.some((word) => findOption(command.options, word)?.name === "--help")) return help(command)
  const see = `(see ${program.name} ${command.name} --help)`
  const mistake = (message: string): Route => ({ _tag: "Mistake", message: `${program.name}: ${message}` })
  const positional: Array<string> = []
  const given = new Set<OptionDoc>()
  for (let i = 0; i < flags.length; i++) {
    const word = flags[i]!
    if (!isOptionWord(word)) {
      positional.push(word)
      continue
    }
    const [name, inline] = split(word)
    const option = findOption(command.options, name)
    if (option === undefined) {
      return unknown(program.name, "option", name, command.options.flatMap(namesOf).filter((n) => n.startsWith("--")), `${program.name} ${command.name}`)
    }
    given.add(option)
    if (option.kind === "flag") {
      if (inline === undefined && flagValues.has(flags[i + 1] ?? "")) i++
      continue
    }
    const value = inline ?? flags[++i]
    if (value === undefined) return mistake(`${option.name} needs a value ${see}`)
    const wrong = badNumber(option, value)
    if (wrong !== undefined) return mistake(`${wrong} ${see}`)
  }
  if (end !== -1) positional.push(...words.slice(end + 1))
  const absent = command.options.find((option) => option.required && !given.has(option))
  if (absent !== undefined) return mistake(`${command.name} needs ${[absent.name, absent.placeholder ?? ""].join(" ").trim()} ${see}`)
  const needed = command.args.reduce((sum, arg) => sum + arg.min, 0)
  const allowed = command.args.reduce<number | undefined>((sum, arg) => (sum === undefined || arg.max === undefined ? undefined : sum + arg.max), 0)
  if (positional.length < needed) {
    const missing = command.args.filter((arg) => arg.min > 0).map((arg) => `<${arg.name}>`).join(" ")
    return mistake(`${command.name} needs ${missing} ${see}`)
  }
  if (allowed !== undefined && positional.length > allowed) return mistake(`unexpected argument '${positional[allowed]}' ${see}`)
  return run
}

/** Where the words of a command line (without node and the script) lead. */
export const route = (program: CommandDoc, words: ReadonlyArray<string>): Route => {
  const names = program.subcommands.map((command) => command.name)
  const mistake = (message: string): Route => ({ _tag: "Mistake", message: `${program.name}: ${message}` })
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!
    if (!isOptionWord(word)) {
      const command = program.subcommands.find((c) => normal(c.name) === normal(word))
      if (command === undefined) return unknown(program.name, "command", word, names, program.name)
      return routeCommand(program, command, words.slice(i + 1))
    }
    const [name, inline] = split(word)
    const option = findOption(program.options, name)
    if (option === undefined) return unknown(program.name, "option", name, program.options.map((o) => o.name), program.name)
    if (option.name === "--help") {
      const next = words.slice(i + 1).find((w) => !isOptionWord(w))
      return help(program.subcommands.find((c) => next !== undefined && normal(c.name) === normal(next)))
    }
    if (option.name === "--version") return { _tag: "Version" }
    // --completions, the program's one option with a value
    const shell = inline ?? words[i + 1]
    const known = shells.find((s) => s === shell)
    if (known !== undefined) return { _tag: "Completions", shell: known }
    const choices = `${option.choices.slice(0, -1).join(", ")} or ${option.choices.at(-1)}`
    return mistake(`${option.name} takes ${choices}${shell === undefined ? "" : `, not '${shell}'`}`)
  }
  return mistake(`no command given (see ${program.name} --help)`)
}

/**
 * Parses what `route` let through with @effect/cli and runs the command. Nothing is printed here: a
 * ValidationError is the caller's to show in one line.
 */
export const execute = <Name extends string, R, E, A>(program: Command.Command<Name, R, E, A>, name: string, words: ReadonlyArray<string>) =>
  CommandDescriptor.parse(program.descriptor, [name, ...words], config).pipe(
    Effect.flatMap((directive): Effect.Effect<void, E | ValidationError.ValidationError, R> => {
      if (directive._tag === "UserDefined" && directive.leftover.length === 0) {
        return program.transform(program.handler(directive.value), directive.value)
      }
      const extra = directive._tag === "UserDefined" ? `unexpected argument '${directive.leftover[0]}'` : "unexpected option"
      return Effect.fail(ValidationError.invalidArgument(HelpDoc.p(`${name}: ${extra}`)))
    })
  )

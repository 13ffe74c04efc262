/**
 * `--help` as a Unix tool writes it: a usage line, one line per command or option aligned in two columns
 * (a second line when a description is long), every default shown, bold only on a terminal.
 */
import type { ArgDoc, CommandDoc, OptionDoc } from "./CommandTree.js"

export interface HelpStyle {
  /** Bold headings and names (a terminal without NO_COLOR). */
  readonly color: boolean
  /** The columns to fit in. */
  readonly width: number
}

/** Plain text for a pipe or a file, and colour only for a terminal that has not asked for none
 *  (https://no-color.org: NO_COLOR set and not empty). */
export const styleFor = (out: { readonly isTTY?: boolean; readonly columns?: number }, env: Record<string, string | undefined>): HelpStyle => {
  const tty = out.isTTY === true
  return {
    color: tty && (env["NO_COLOR"] ?? "") === "",
    width: tty && out.columns !== undefined ? Math.max(60, Math.min(out.columns, 100)) : 100
  }
}

/** The left column is at most this wide; a longer name puts its description on the next line. */
const maxColumn = 34

const bold = (style: HelpStyle, text: string) => (style.color ? `\x1b[1m${text}\x1b[22m` : text)

/** Words greedily into lines of at most `width` characters (a longer word has a line of its own). */
const wrap = (text: string, width: number): Array<string> => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line === "" ? word : `${line} ${word}`
  }
  return line === "" ? lines : [...lines, line]
}

/** Rows of a name and its description, the descriptions aligned in one column and wrapped under it. */
const table = (rows: ReadonlyArray<readonly [string, string]>, style: HelpStyle): Array<string> => {
  const column = Math.min(maxColumn, Math.max(...rows.map(([name]) => name.length)) + 2)
  const room = Math.max(20, style.width - column)
  return rows.flatMap(([name, description]) => {
    const [first = "", ...rest] = wrap(description, room)
    const indent = " ".repeat(column)
    const head = name.length + 2 <= column
      ? [`${bold(style, name)}${" ".repeat(column - name.length)}${first}`]
      : [bold(style, name), `${indent}${first}`]
    return [...head, ...rest.map((line) => `${indent}${line}`)].map((line) => line.trimEnd())
  })
}

/** What help adds to a description: required, repeatable, the default. Inside the description's own
 *  closing parenthesis when it ends with one ("(0 picks one; default 6881)"). */
const withNotes = (option: OptionDoc): string => {
  const notes = [
    ...(option.required ? ["required"] : []),
    ...(option.repeatable ? ["repeatable"] : []),
    ...(option.defaultValue !== undefined ? [`default ${option.defaultValue}`] : [])
  ].join("; ")
  if (notes === "") return option.description
  if (option.description === "") return notes
  return option.description.endsWith(")") ? `${option.description.slice(0, -1)}; ${notes})` : `${option.description} (${notes})`
}

const optionName = (option: OptionDoc): string => {
  const short = option.aliases.find((alias) => !alias.startsWith("--"))
  const value = option.placeholder === undefined ? "" : ` ${option.placeholder}`
  return `  ${short === undefined ? "    " : `${short}, `}${option.name}${value}`
}

const argUsage = (arg: ArgDoc): string => {
  const one = `<${arg.name}>${arg.max === 1 ? "" : "..."}`
  return arg.min === 0 ? `[${one}]` : one
}

/** `bt-effect seed --data DIR [options] <FILE.torrent>`: required options by name, the rest as [options]. */
const usageLine = (program: string, command: CommandDoc): string => {
  const required = command.options.filter((o) => o.required).map((o) => `${o.name}${o.placeholder === undefined ? "" : ` ${o.placeholder}`}`)
  const optional = command.options.some((o) => !o.required) ? ["[options]"] : []
  return [program, command.name, ...required, ...optional, ...command.args.map(argUsage)].join(" ")
}

const section = (style: HelpStyle, title: string, lines: ReadonlyArray<string>) => ["", bold(style, title), ...lines]

/** One command's help. */
export const commandHelp = (program: CommandDoc, command: CommandDoc, style: HelpStyle): string =>
  [
    `${bold(style, "Usage:")} ${usageLine(program.name, command)}`,
    "",
    ...wrap(command.description, style.width),
    ...(command.args.length === 0
      ? []
      : section(style, "Arguments:", table(command.args.map((arg) => [`  ${arg.name}`, arg.description]), style))),
    ...section(style, "Options:", table(command.options.map((option) => [optionName(option), withNotes(option)]), style))
  ].join("\n") + "\n"

/** The program's help: its commands, one line each, and its own options. */
export const programHelp = (program: CommandDoc, version: string, style: HelpStyle): string =>
  [
    `${bold(style, "Usage:")} ${program.name} <command> [options] [args]`,
    "",
    `${program.name} ${version}: ${program.description}`,
    ...section(style, "Commands:", table(program.subcommands.map((command) => [`  ${command.name}`, command.description]), style)),
    ...section(style, "Options:", table(program.options.map((option) => [optionName(option), withNotes(option)]), style)),
    "",
    `'${program.name} <command> --help' shows a command's options and their defaults.`
  ].join("\n") + "\n"

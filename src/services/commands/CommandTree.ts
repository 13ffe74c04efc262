/**
 * The command line's structure as plain data: each command with its options (names, placeholder, default,
 * whether required or repeatable) and arguments, read from the @effect/cli definitions themselves, so that
 * the help, the mistakes we point out and the shell completions all come from the one place where an
 * option is defined.
 *
 * Why it reads @effect/cli's descriptors: its public help (`Command.getHelp`) drops defaults that are not
 * an `Option` and pads every option with generic lines, and nothing public says which options repeat or
 * take a value. The shapes below are those of @effect/cli 0.77.2 (package.json pins it exactly); a shape
 * not known here is a defect, which test/cli/help.test.ts would show at once.
 */
import type * as Command from "@effect/cli/Command"
import type * as HelpDoc from "@effect/cli/HelpDoc"
import type * as Span from "@effect/cli/HelpDoc/Span"
import * as Option from "effect/Option"

/** What kind of value an option or argument takes. */
export type ValueKind = "flag" | "integer" | "float" | "text" | "file" | "directory" | "path" | "choice" | "other"

export interface OptionDoc {
  /** `--port`, or `-o` for a one-letter name. */
  readonly name: string
  readonly aliases: ReadonlyArray<string>
  readonly kind: ValueKind
  /** The value's name in help (`N`, `DIR`), none for a flag. */
  readonly placeholder: string | undefined
  readonly description: string
  /** The default as help shows it; none when there is no default worth showing. */
  readonly defaultValue: string | undefined
  readonly required: boolean
  readonly repeatable: boolean
  /** The values a choice takes. */
  readonly choices: ReadonlyArray<string>
}

export interface ArgDoc {
  readonly name: string
  readonly kind: ValueKind
  readonly description: string
  readonly min: number
  /** None: no upper bound. */
  readonly max: number | undefined
}

export interface CommandDoc {
  readonly name: string
  readonly description: string
  readonly options: ReadonlyArray<OptionDoc>
  readonly args: ReadonlyArray<ArgDoc>
  readonly subcommands: ReadonlyArray<CommandDoc>
}

/** The names an option answers to. */
export const namesOf = (option: OptionDoc): ReadonlyArray<string> => [option.name, ...option.aliases]

// The node shapes of @effect/cli 0.77.2's descriptors (its internal/commandDescriptor.ts, options.ts,
// args.ts, primitive.ts), as far as they are read here.
type PrimitiveNode =
  | { readonly _tag: "Bool" | "DateTime" | "Float" | "Integer" | "Redacted" | "Secret" | "Text" }
  | { readonly _tag: "Path"; readonly pathType: "file" | "directory" | "either" }
  | { readonly _tag: "Choice"; readonly alternatives: ReadonlyArray<readonly [string, unknown]> }

type OptionsNode =
  | { readonly _tag: "Empty" }
  | {
    readonly _tag: "Single"
    readonly name: string
    readonly aliases: ReadonlyArray<string>
    readonly pseudoName: Option.Option<string>
    readonly primitiveType: PrimitiveNode
    readonly description: HelpDoc.HelpDoc
  }
  | { readonly _tag: "KeyValueMap"; readonly argumentOption: OptionsNode }
  | { readonly _tag: "Map" | "WithFallback"; readonly options: OptionsNode }
  | { readonly _tag: "Both" | "OrElse"; readonly left: OptionsNode; readonly right: OptionsNode }
  | { readonly _tag: "Variadic"; readonly argumentOption: OptionsNode; readonly min: Option.Option<number> }
  | { readonly _tag: "WithDefault"; readonly options: OptionsNode; readonly fallback: unknown }

type ArgsNode =
  | { readonly _tag: "Empty" }
  | {
    readonly _tag: "Single"
    readonly pseudoName: Option.Option<string>
    readonly primitiveType: PrimitiveNode
    readonly description: HelpDoc.HelpDoc
  }
  | { readonly _tag: "Map" | "WithFallbackConfig"; readonly args: ArgsNode }
  | { readonly _tag: "Both"; readonly left: ArgsNode; readonly right: ArgsNode }
  | { readonly _tag: "Variadic"; readonly args: ArgsNode; readonly min: Option.Option<number>; readonly max: Option.Option<number> }
  | { readonly _tag: "WithDefault"; readonly args: ArgsNode; readonly fallback: unknown }

type CommandNode =
  | { readonly _tag: "Standard"; readonly name: string; readonly description: HelpDoc.HelpDoc; readonly options: OptionsNode; readonly args: ArgsNode }
  | { readonly _tag: "GetUserInput"; readonly name: string; readonly description: HelpDoc.HelpDoc }
  | { readonly _tag: "Map"; readonly command: CommandNode }
  | { readonly _tag: "Subcommands"; readonly parent: CommandNode; readonly children: ReadonlyArray<CommandNode> }

const spanText = (span: Span.Span): string => {
  switch (span._tag) {
    case "Text":
    case "URI":
      return span.value
    case "Highlight":
    case "Strong":
    case "Weak":
      return spanText(span.value)
    case "Sequence":
      return spanText(span.left) + spanText(span.right)
  }
}

/** A HelpDoc's words on one line: its paragraphs joined by spaces. */
export const plainText = (doc: HelpDoc.HelpDoc): string => {
  switch (doc._tag) {
    case "Empty":
      return ""
    case "Header":
    case "Paragraph":
      return spanText(doc.value)
    case "DescriptionList":
      return doc.definitions.map(([span, body]) => `${spanText(span)}: ${plainText(body)}`).join(" ")
    case "Enumeration":
      return doc.elements.map(plainText).join(" ")
    case "Sequence":
      return [plainText(doc.left), plainText(doc.right)].filter((text) => text !== "").join(" ")
  }
}

const kindOf = (primitive: PrimitiveNode): ValueKind => {
  switch (primitive._tag) {
    case "Bool":
      return "flag"
    case "Integer":
      return "integer"
    case "Float":
      return "float"
    case "Text":
    case "Redacted":
    case "Secret":
      return "text"
    case "Path":
      return primitive.pathType === "either" ? "path" : primitive.pathType
    case "Choice":
      return "choice"
    case "DateTime":
      return "other"
  }
}

/** The value's name in help when the definition gives none. */
const placeholders: Record<ValueKind, string> = {
  flag: "",
  integer: "N",
  float: "X",
  text: "TEXT",
  file: "FILE",
  directory: "DIR",
  path: "PATH",
  choice: "CHOICE",
  other: "VALUE"
}

/** A default worth printing: a number, a string, or one inside `Option.some`; not a flag's `false`, an
 *  empty list or `Option.none`. */
const shownDefault = (fallback: unknown): string | undefined => {
  const value = Option.isOption(fallback) ? Option.getOrUndefined(fallback) : fallback
  return typeof value === "number" || typeof value === "bigint" || (typeof value === "string" && value !== "")
    ? String(value)
    : undefined
}

interface Wrapping {
  readonly defaultValue: string | undefined
  readonly optional: boolean
  readonly repeatable: boolean
}

const plain: Wrapping = { defaultValue: undefined, optional: false, repeatable: false }
const dashed = (name: string) => (name.length === 1 ? `-${name}` : `--${name}`)

const optionsOf = (node: OptionsNode, around: Wrapping = plain): Array<OptionDoc> => {
  switch (node._tag) {
    case "Empty":
      return []
    case "Single": {
      const kind = kindOf(node.primitiveType)
      return [{
        name: dashed(node.name),
        aliases: node.aliases.map(dashed),
        kind,
        placeholder: kind === "flag" ? undefined : Option.getOrElse(node.pseudoName, () => placeholders[kind]),
        description: plainText(node.description),
        defaultValue: kind === "flag" ? undefined : around.defaultValue,
        required: !around.optional && kind !== "flag",
        repeatable: around.repeatable,
        choices: node.primitiveType._tag === "Choice" ? node.primitiveType.alternatives.map(([name]) => name) : []
      }]
    }
    case "Map":
      return optionsOf(node.options, around)
    case "WithFallback":
      return optionsOf(node.options, { ...around, optional: true })
    case "KeyValueMap":
      return optionsOf(node.argumentOption, { ...around, repeatable: true })
    case "Variadic":
      return optionsOf(node.argumentOption, {
        ...around,
        repeatable: true,
        optional: around.optional || Option.getOrElse(node.min, () => 0) === 0
      })
    case "WithDefault":
      return optionsOf(node.options, { ...around, optional: true, defaultValue: around.defaultValue ?? shownDefault(node.fallback) })
    case "OrElse":
      // A flag and its negation (`Options.boolean` with `negationNames`: --no-utp and --utp) are one
      // option, the negation an alias: help gives it one line, completions and "did you mean" both names.
      if (isFlag(node.left) && isFlag(node.right)) {
        const [flag] = optionsOf(node.left, around)
        return [{ ...flag!, aliases: [...flag!.aliases, dashed(node.right.name), ...node.right.aliases.map(dashed)] }]
      }
      return [...optionsOf(node.left, around), ...optionsOf(node.right, around)]
    case "Both":
      return [...optionsOf(node.left, around), ...optionsOf(node.right, around)]
  }
}

const isFlag = (node: OptionsNode): node is Extract<OptionsNode, { readonly _tag: "Single" }> =>
  node._tag === "Single" && node.primitiveType._tag === "Bool"

/** An argument is wanted once unless wrapped: `min` and `max` (none: no upper bound) come from around it. */
const argsOf = (node: ArgsNode, min: number, max: number | undefined): Array<ArgDoc> => {
  switch (node._tag) {
    case "Empty":
      return []
    case "Single": {
      const kind = kindOf(node.primitiveType)
      return [{ name: Option.getOrElse(node.pseudoName, () => placeholders[kind]), kind, description: plainText(node.description), min, max }]
    }
    case "Map":
    case "WithFallbackConfig":
      return argsOf(node.args, min, max)
    case "WithDefault":
      return argsOf(node.args, 0, max)
    case "Variadic":
      return argsOf(node.args, Option.getOrElse(node.min, () => 0), Option.getOrUndefined(node.max))
    case "Both":
      return [...argsOf(node.left, min, max), ...argsOf(node.right, min, max)]
  }
}

const describeNode = (node: CommandNode): CommandDoc => {
  switch (node._tag) {
    case "Standard":
      return { name: node.name, description: plainText(node.description), options: optionsOf(node.options), args: argsOf(node.args, 1, 1), subcommands: [] }
    case "GetUserInput":
      return { name: node.name, description: plainText(node.description), options: [], args: [], subcommands: [] }
    case "Map":
      return describeNode(node.command)
    case "Subcommands":
      return { ...describeNode(node.parent), subcommands: node.children.map(describeNode) }
  }
}

const commandTags: ReadonlySet<string> = new Set<CommandNode["_tag"]>(["Standard", "GetUserInput", "Map", "Subcommands"])

/** Whether @effect/cli's descriptor, which it exports opaque, has the shape read here: checked once, at
 *  its root, where a version whose shapes differ shows first (and the help tests fail with it). */
const isCommandNode = (node: unknown): node is CommandNode => {
  if (typeof node !== "object" || node === null) return false
  const tag: unknown = Reflect.get(node, "_tag")
  return typeof tag === "string" && commandTags.has(tag)
}

/** A command (and its subcommands) as data. */
export const describeCommand = <Name extends string, R, E, A>(command: Command.Command<Name, R, E, A>): CommandDoc => {
  const node: unknown = command.descriptor
  if (!isCommandNode(node)) throw new Error("@effect/cli's command descriptor is not of the shape this version reads")
  return describeNode(node)
}

const builtIn = (name: string, description: string, extra: Partial<OptionDoc> = {}): OptionDoc => ({
  name,
  aliases: [],
  kind: "flag",
  placeholder: undefined,
  description,
  defaultValue: undefined,
  required: false,
  repeatable: false,
  choices: [],
  ...extra
})

/** Every command's `-h, --help`. */
export const helpOption = builtIn("--help", "show this help", { aliases: ["-h"] })
/** The shells `--completions` writes a script for. */
export const shells = ["bash", "zsh", "fish", "sh"] as const
export type Shell = (typeof shells)[number]
/** What the program itself takes before a command. */
export const programOptions: ReadonlyArray<OptionDoc> = [
  helpOption,
  builtIn("--version", "print the version"),
  builtIn("--completions", `print a completion script for ${shells.slice(0, -1).join(", ")} or ${shells.at(-1)}`, { kind: "choice", placeholder: "SHELL", choices: shells })
]

/** The program as data: its own options, and each command with `--help` added (which @effect/cli gives
 *  every command and bt-effect reads before @effect/cli parses). */
export const describeProgram = <Name extends string, R, E, A>(program: Command.Command<Name, R, E, A>): CommandDoc => {
  const root = describeCommand(program)
  return {
    ...root,
    options: programOptions,
    subcommands: root.subcommands.map((command) => ({ ...command, options: [...command.options, helpOption] }))
  }
}

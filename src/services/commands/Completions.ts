/**
 * `--completions SHELL`: a script that completes the commands, each command's options, the values of an
 * option with a fixed set of them, and file names where a file or a folder goes. Written from the same
 * command structure as the help (@effect/cli's own scripts complete no command's options, and its bash
 * script names the program `bt__effect`).
 */
import type { CommandDoc, OptionDoc, Shell } from "./CommandTree.js"
import { namesOf } from "./CommandTree.js"

/** Numbers and choices have no file names to offer; any other value may well be a path. */
const takesPath = (option: OptionDoc) => option.kind !== "integer" && option.kind !== "float" && option.choices.length === 0
const takesValue = (option: OptionDoc) => option.kind !== "flag"
/** A shell function's name for the program (`bt-effect` -> `_bt_effect`). */
const functionName = (program: string) => `_${program.replace(/[^A-Za-z0-9]/g, "_")}`

const bash = (program: CommandDoc): string => {
  const words = (options: ReadonlyArray<OptionDoc>) => options.flatMap(namesOf).join(" ")
  const valued = (options: ReadonlyArray<OptionDoc>) => options.filter(takesValue).flatMap(namesOf).join(" ")
  /** The words for an option, the values of one with a fixed set of them after it. */
  const known = (options: ReadonlyArray<OptionDoc>) => {
    const choices = options.filter((o) => o.choices.length > 0)
    return [
      `      options="${words(options)}"`,
      `      values="${valued(options)}"`,
      ...(choices.length === 0 ? [] : [
        `      case "$prev" in`,
        ...choices.map((o) => `        ${namesOf(o).join("|")}) COMPREPLY=($(compgen -W "${o.choices.join(" ")}" -- "$cur")); return 0 ;;`),
        `      esac`
      ])
    ]
  }
  const branch = (command: CommandDoc) => [`    ${command.name})`, ...known(command.options), `      ;;`]
  const name = functionName(program.name)
  return [
    `# bash completion for ${program.name}: source it from ~/.bashrc, or save it as`,
    `# ~/.local/share/bash-completion/completions/${program.name}`,
    `${name}() {`,
    `  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"`,
    `  local command="" options="" values="" i`,
    `  for ((i = 1; i < COMP_CWORD; i++)); do`,
    `    case "\${COMP_WORDS[i]}" in`,
    `      ${program.options.filter(takesValue).flatMap(namesOf).join("|")}) ((i++)) ;;`,
    `      -*) ;;`,
    `      *) command="\${COMP_WORDS[i]}"; break ;;`,
    `    esac`,
    `  done`,
    `  case "$command" in`,
    `    "")`,
    ...known(program.options),
    `      if [[ "$cur" != -* ]]; then COMPREPLY=($(compgen -W "${program.subcommands.map((c) => c.name).join(" ")}" -- "$cur")); return 0; fi`,
    `      ;;`,
    ...program.subcommands.flatMap(branch),
    `    *) return 0 ;;`,
    `  esac`,
    `  # an option's value: file names (complete -o default), unless it is one of a few`,
    `  case " $values " in *" $prev "*) COMPREPLY=(); return 0 ;; esac`,
    `  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$options" -- "$cur")); fi`,
    `}`,
    `complete -o default -F ${name} ${program.name}`,
    ""
  ].join("\n")
}

/** Text inside single quotes in a zsh _arguments spec or a fish argument. */
const quoted = (text: string) => text.replace(/'/g, `'\\''`)
const zshEscaped = (text: string) => quoted(text.replace(/\\/g, "\\\\").replace(/([[\]:])/g, "\\$1"))

const zsh = (program: CommandDoc): string => {
  const specs = (options: ReadonlyArray<OptionDoc>) =>
    options.flatMap((option) =>
      namesOf(option).map((name) => {
        const value = !takesValue(option)
          ? ""
          : `:${zshEscaped(option.placeholder ?? "value")}:${option.choices.length > 0 ? `(${option.choices.join(" ")})` : takesPath(option) ? "_files" : ""}`
        return `      '${option.repeatable ? "*" : ""}${name}[${zshEscaped(option.description)}]${value}' \\`
      })
    )
  const argSpecs = (command: CommandDoc) =>
    command.args.map((arg) => `      '${arg.max === 1 ? "" : "*"}:${zshEscaped(arg.name)}:${arg.kind === "integer" || arg.kind === "float" ? "" : "_files"}' \\`)
  // The file's name in $fpath, which zsh runs as the function of that name (zsh allows the dash).
  const name = `_${program.name}`
  return [
    `#compdef ${program.name}`,
    `# zsh completion for ${program.name}: save it as _${program.name} in a folder of $fpath, or source it after compinit`,
    `${name}() {`,
    `  local context state state_descr line`,
    `  typeset -A opt_args`,
    `  _arguments -C \\`,
    ...specs(program.options),
    `      '1:command:->command' \\`,
    `      '*::argument:->argument'`,
    `  case $state in`,
    `    command)`,
    `      local -a commands`,
    `      commands=(`,
    ...program.subcommands.map((c) => `        '${zshEscaped(c.name)}:${zshEscaped(c.description)}'`),
    `      )`,
    `      _describe -t commands '${program.name} command' commands`,
    `      ;;`,
    `    argument)`,
    `      case $line[1] in`,
    ...program.subcommands.flatMap((command) => [
      `        ${command.name})`,
      `          _arguments \\`,
      ...specs(command.options).map((line) => `    ${line}`),
      ...argSpecs(command).map((line) => `    ${line}`),
      `            && return 0`,
      `          ;;`
    ]),
    `      esac`,
    `      ;;`,
    `  esac`,
    `}`,
    `if [ "$funcstack[1]" = "${name}" ]; then`,
    `  ${name} "$@"`,
    `else`,
    `  compdef ${name} ${program.name}`,
    `fi`,
    ""
  ].join("\n")
}

const fish = (program: CommandDoc): string => {
  const lines = (condition: string, options: ReadonlyArray<OptionDoc>) =>
    options.map((option) => {
      const names = namesOf(option).map((n) => (n.startsWith("--") ? `-l ${n.slice(2)}` : `-s ${n.slice(1)}`)).join(" ")
      const value = !takesValue(option) ? "" : option.choices.length > 0 ? ` -x -a '${option.choices.join(" ")}'` : takesPath(option) ? " -r -F" : " -x"
      return `complete -c ${program.name} -n '${condition}' ${names}${value} -d '${quoted(option.description)}'`
    })
  return [
    `# fish completion for ${program.name}: save it as ~/.config/fish/completions/${program.name}.fish`,
    `complete -c ${program.name} -f`,
    ...lines("__fish_use_subcommand", program.options),
    ...program.subcommands.map((c) => `complete -c ${program.name} -n __fish_use_subcommand -a ${c.name} -d '${quoted(c.description)}'`),
    ...program.subcommands.flatMap((command) => {
      const condition = `__fish_seen_subcommand_from ${command.name}`
      const files = command.args.some((arg) => arg.kind !== "integer" && arg.kind !== "float")
      return [...lines(condition, command.options), ...(files ? [`complete -c ${program.name} -n '${condition}' -F`] : [])]
    }),
    ""
  ].join("\n")
}

/** The completion script for a shell (`sh`: the bash one, which bash-compatible shells read). */
export const completionScript = (program: CommandDoc, shell: Shell): string => {
  switch (shell) {
    case "bash":
    case "sh":
      return bash(program)
    case "zsh":
      return zsh(program)
    case "fish":
      return fish(program)
  }
}

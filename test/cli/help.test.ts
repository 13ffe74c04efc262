/**
 * `--help` read like a Unix tool's: plain when piped or with NO_COLOR, every default shown, none of
 * @effect/cli's generic lines, short and within 100 columns; a mistyped command or option told in one line
 * with what was meant (exit 2); completion scripts that name bt-effect and complete a command's options.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { mainJs, runCli } from "../support/cli.js"

const commands = ["info", "download", "seed", "verify", "create", "tracker", "demo", "daemon", "add", "list", "start", "stop", "remove"]
const version = (JSON.parse(fs.readFileSync(path.resolve("package.json"), "utf8")) as { version: string }).version

/** The program with the environment as given (runCli sets NO_COLOR), its output piped. */
const runWith = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv) =>
  new Promise<{ readonly code: number | null; readonly stdout: string }>((resolve) => {
    execFile(process.execPath, [mainJs, ...args], { timeout: 30_000, env }, (error, stdout) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout }))
  })
const withoutNoColor = (): NodeJS.ProcessEnv => {
  const env = { ...process.env }
  delete env["NO_COLOR"]
  return env
}

/** Whether a program is on the PATH. */
const installed = (program: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
}
/** The program on a terminal: util-linux `script` gives it a pseudo-terminal as stdout. */
const onTerminal = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv) =>
  new Promise<string>((resolve, reject) => {
    const line = [process.execPath, mainJs, ...args].map((word) => `'${word}'`).join(" ")
    execFile("script", ["-qec", line, "/dev/null"], { timeout: 30_000, env }, (error, stdout) => (error === null ? resolve(stdout) : reject(error)))
  })

/** An option's lines in a help text: its own and the description's continuation lines under it. */
const optionLines = (help: string, name: string): string => {
  const lines = help.split("\n")
  const start = lines.findIndex((line) => new RegExp(`^\\s+(-\\w, )?${name}( |$)`).test(line))
  if (start === -1) return ""
  const rest = lines.slice(start + 1)
  const end = rest.findIndex((line) => !/^\s{8,}\S/.test(line) || /^\s+-/.test(line))
  return [lines[start]!, ...rest.slice(0, end === -1 ? rest.length : end)].join(" ").replace(/\s+/g, " ")
}

const helpOf = async (args: ReadonlyArray<string>) => {
  const r = await runCli(args)
  expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0)
  return r.stdout
}

describe("bt-effect --help", () => {
  it("writes no colour codes when piped, even without NO_COLOR", async () => {
    for (const args of [["--help"], ["download", "--help"], ["create", "--help"]]) {
      const r = await runWith(args, withoutNoColor())
      expect(r.code).toBe(0)
      expect(r.stdout).toContain("Options:")
      expect(r.stdout, args.join(" ")).not.toContain("\x1b")
    }
  })

  it.skipIf(!installed("script"))("colours a terminal's help, and not when NO_COLOR is set", async () => {
    expect(await onTerminal(["download", "--help"], withoutNoColor())).toContain("\x1b[1m")
    const plain = await onTerminal(["download", "--help"], { ...withoutNoColor(), NO_COLOR: "1" })
    expect(plain).toContain("--port")
    expect(plain).not.toContain("\x1b")
  })

  it("shows every default where the command has the option", async () => {
    const download = await helpOf(["download", "--help"])
    expect(optionLines(download, "--port")).toMatch(/--port N .*default 6881/)
    expect(optionLines(download, "--max-peers")).toMatch(/--max-peers N .*default 50/)
    expect(optionLines(download, "--out")).toMatch(/--out DIR .*default \.\/downloads/)
    const seed = await helpOf(["seed", "--help"])
    expect(optionLines(seed, "--port")).toContain("default 6881")
    expect(optionLines(seed, "--max-peers")).toContain("default 50")
    const daemon = await helpOf(["daemon", "--help"])
    expect(optionLines(daemon, "--rpc-port")).toMatch(/--rpc-port N .*default 9091/)
    expect(optionLines(daemon, "--peer-port")).toMatch(/--peer-port N .*default 51413/)
    expect(optionLines(await helpOf(["list", "--help"]), "--rpc-url")).toContain("default http://127.0.0.1:9091/transmission/rpc")
    expect(optionLines(await helpOf(["tracker", "--help"]), "--port")).toContain("default 6969")
  })

  it("has none of @effect/cli's generic lines, and fits in 40 lines of 100 columns", async () => {
    const generic = [
      "A user-defined piece of text.",
      "This setting is optional.",
      "An integer.",
      "A true or false value.",
      "One of the following:",
      "This setting is a property argument",
      "This option may be repeated"
    ]
    const everyHelp = [["--help"], ...commands.map((command) => [command, "--help"])]
    const helps = await Promise.all(everyHelp.map(helpOf))
    for (const [i, args] of everyHelp.entries()) {
      const help = helps[i]!
      for (const line of generic) expect(help, args.join(" ")).not.toContain(line)
      const lines = help.trimEnd().split("\n")
      expect(lines.length, args.join(" ")).toBeLessThanOrEqual(40)
      expect(Math.max(...lines.map((line) => line.length)), args.join(" ")).toBeLessThanOrEqual(100)
    }
  })

  it("lists the commands one line each", async () => {
    const help = await helpOf(["--help"])
    for (const command of commands) expect(help).toMatch(new RegExp(`^  ${command} +\\S`, "m"))
  })

  it("shows repeated options as optional and repeatable", async () => {
    const create = await helpOf(["create", "--help"])
    const usage = create.split("\n")[0]!
    expect(usage).toContain("--output FILE")
    expect(usage).not.toContain("--web-seed")
    expect(usage).not.toContain("--announce")
    for (const option of ["--web-seed", "--announce"]) {
      expect(optionLines(create, option)).toContain("repeatable")
      expect(optionLines(create, option)).not.toContain("required")
    }
    expect(optionLines(create, "--output")).toContain("required")
    expect(optionLines(await helpOf(["daemon", "--help"]), "--allowed-host")).toContain("repeatable")
  })

  it("prints its version", async () => {
    const r = await runCli(["--version"])
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe(`bt-effect ${version}`)
  })
})

describe("bt-effect usage errors", () => {
  it("suggests the command meant, in one line on stderr, exit 2", async () => {
    const r = await runCli(["downlaod", "x"])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr).toBe("bt-effect: unknown command 'downlaod'; did you mean 'download'?\n")
  })

  it("suggests the option meant, in one line on stderr, exit 2", async () => {
    const r = await runCli(["download", "--prot", "6881", "x.torrent"])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr).toBe("bt-effect: unknown option '--prot'; did you mean '--port'?\n")
  })

  it("says what is wrong in one line and where help is, not the whole help page", async () => {
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
      [["download"], /^bt-effect: download needs <FILE\.torrent\|MAGNET> \(see bt-effect download --help\)$/],
      [["download", "x.torrent", "--out"], /^bt-effect: --out needs a value \(see bt-effect download --help\)$/],
      [["download", "x.torrent", "--port", "abc"], /^bt-effect: --port takes a whole number, not 'abc' \(see bt-effect download --help\)$/],
      [["create", "some-folder"], /^bt-effect: create needs --output FILE \(see bt-effect create --help\)$/],
      [["list", "extra"], /^bt-effect: unexpected argument 'extra' \(see bt-effect list --help\)$/],
      [["frobnicate"], /^bt-effect: unknown command 'frobnicate' \(see bt-effect --help\)$/],
      [[], /^bt-effect: no command given \(see bt-effect --help\)$/]
    ]
    for (const [args, line] of cases) {
      const r = await runCli(args)
      expect(r.code, args.join(" ")).toBe(2)
      expect(r.stdout, args.join(" ")).toBe("")
      expect(r.stderr.trimEnd(), args.join(" ")).toMatch(line)
    }
  })
})

describe("bt-effect --completions", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-effect-completions-"))

  /** What the bash script offers for the words typed so far (the last one being completed). */
  const bashCompletes = (script: string, words: ReadonlyArray<string>): Array<string> => {
    const file = path.join(dir, "bt-effect.bash")
    fs.writeFileSync(file, script)
    const fn = /^complete .*-F (\S+) bt-effect$/m.exec(script)?.[1]
    expect(fn, "a complete -F line for bt-effect").toBeDefined()
    const out = execFileSync("bash", ["-c", `source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); ${fn}; printf '%s\\n' "\${COMPREPLY[@]}"`, file, ...words], {
      encoding: "utf8",
      timeout: 10_000
    })
    return out.split("\n").filter((line) => line !== "")
  }

  it("completes commands and a command's options in bash, under the name bt-effect", async () => {
    const r = await runCli(["--completions", "bash"])
    expect(r.code).toBe(0)
    expect(r.stdout).not.toContain("bt__effect")
    expect(bashCompletes(r.stdout, ["bt-effect", "dow"])).toEqual(["download"])
    expect(bashCompletes(r.stdout, ["bt-effect", "download", "--po"])).toEqual(["--port"])
    expect(bashCompletes(r.stdout, ["bt-effect", "daemon", "--peer"])).toEqual(["--peer-port"])
    expect(bashCompletes(r.stdout, ["bt-effect", "create", "x", "--web"])).toEqual(["--web-seed"])
    expect(bashCompletes(r.stdout, ["bt-effect", "--completions", "z"])).toEqual(["zsh"])
    expect((await runCli(["--completions", "sh"])).stdout).toBe(r.stdout)
  })

  it("writes zsh and fish scripts for bt-effect with each command's options", async () => {
    const zsh = await runCli(["--completions", "zsh"])
    expect(zsh.code).toBe(0)
    expect(zsh.stdout.split("\n")[0]).toBe("#compdef bt-effect")
    expect(zsh.stdout).toMatch(/^\s+'--peer-port\[/m)
    const fish = await runCli(["--completions", "fish"])
    expect(fish.code).toBe(0)
    expect(fish.stdout).toContain("complete -c bt-effect -n '__fish_seen_subcommand_from download' -l port -x")
    // Where the shells are installed, the scripts must at least parse.
    for (const [shell, script] of [["zsh", zsh.stdout], ["fish", fish.stdout]] as const) {
      if (!installed(shell)) continue
      const file = path.join(dir, `script.${shell}`)
      fs.writeFileSync(file, script)
      execFileSync(shell, ["-n", file], { timeout: 10_000 })
    }
  })
})

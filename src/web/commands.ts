/**
 * The actions on torrents, from the selection's toolbar and from the detail view alike: start, stop,
 * verify (torrent-verify), remove (asking first), and copy their magnet links. Copying asks the daemon for
 * the links of the torrents picked (the list does not poll them: a thousand links a second for a button
 * seldom pressed), unless the caller has them already.
 */
import { type Act, describe } from "./actions.js"
import type { CopyText } from "./copyText.js"
import type { Say } from "./dom.js"
import type { RemoveDialog } from "./removeDialog.js"
import { errorText, rpc } from "./rpc.js"
import type { Torrents } from "./torrents.js"

export const commandNames = ["start", "stop", "verify", "remove", "copy"] as const
export type CommandName = (typeof commandNames)[number]

export const isCommandName = (s: string | undefined): s is CommandName => (commandNames as ReadonlyArray<string | undefined>).includes(s)

export interface Target {
  readonly id: number
  readonly name: string
  readonly magnetLink?: string
}

export type RunCommand = (command: CommandName, targets: ReadonlyArray<Target>) => void

interface Deps {
  readonly act: Act
  readonly remove: RemoveDialog
  readonly copyText: CopyText
  readonly say: Say
}

const linksOf = async (targets: ReadonlyArray<Target>): Promise<ReadonlyArray<string>> => {
  const known = targets.map((t) => t.magnetLink)
  if (known.every((link): link is string => link !== undefined)) return known
  const ids = targets.map((t) => t.id)
  const reply = await rpc<Torrents<{ readonly id: number; readonly magnetLink: string }>>("torrent-get", { ids, fields: ["id", "magnetLink"] })
  const byId = new Map(reply.torrents.map((t) => [t.id, t.magnetLink]))
  return ids.flatMap((id) => byId.get(id) ?? [])
}

const copyLinks = async (targets: ReadonlyArray<Target>, { copyText, say }: Deps) => {
  try {
    const links = await linksOf(targets)
    if (links.length === 0) return say("No magnet link to copy: the torrents are gone.", true)
    const what = links.length === 1 ? "the magnet link" : `${links.length} magnet links`
    const outcome = await copyText(links.join("\n"))
    say(outcome === "copied" ? `Copied ${what}.` : `Copy ${what} from the box.`, false)
  } catch (e) {
    say(`Cannot get the magnet links: ${errorText(e)}`, true)
  }
}

export const makeRunCommand = (deps: Deps): RunCommand => (command, targets) => {
  if (targets.length === 0) return
  const ids = targets.map((t) => t.id)
  const names = targets.map((t) => t.name)
  switch (command) {
    case "start":
      return void deps.act("torrent-start", ids, {}, `Started ${describe(names)}.`)
    case "stop":
      return void deps.act("torrent-stop", ids, {}, `Stopped ${describe(names)}.`)
    case "verify":
      return void deps.act("torrent-verify", ids, {}, `Verifying ${describe(names)}.`)
    case "remove":
      return deps.remove.ask(ids, names)
    case "copy":
      return void copyLinks(targets, deps)
  }
}

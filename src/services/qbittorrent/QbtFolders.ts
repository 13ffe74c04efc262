/**
 * The folders the qBittorrent API may send data to. A `savepath`, a `setLocation` or a category's save path
 * that leaves them is refused (403): a client with the password must not be able to write into /etc or a
 * user's home. They are the session's download folder and incomplete folder, and those the user allows
 * when starting the daemon (`--allow-folder DIR`, repeatable; `--allow-folder /` allows any).
 *
 * A path is taken as qBittorrent takes it, but relative to the download folder rather than to the daemon's
 * working directory. It is compared after resolving symbolic links of the part that exists already, so a
 * link inside an allowed folder that points out of it does not open a way out.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import { ControlError } from "../../domain/Errors.js"

/** The real path of the longest existing prefix of `p`, with the rest appended. */
const realish = async (p: string, hops = 0): Promise<string> => {
  const rest: Array<string> = []
  let at = p
  while (true) {
    try {
      return path.join(await fs.promises.realpath(at), ...rest.reverse())
    } catch {
      // A link whose target does not exist (yet) leads where it points: what is made through it lands there.
      const target = hops < 40 ? await fs.promises.readlink(at).catch(() => undefined) : undefined
      if (target !== undefined) return realish(path.join(path.resolve(path.dirname(at), target), ...rest.reverse()), hops + 1)
      const parent = path.dirname(at)
      if (parent === at) return p
      rest.push(path.basename(at))
      at = parent
    }
  }
}

const inside = (child: string, root: string) => {
  const rel = path.relative(root, child)
  // "..x" is a name inside; only ".." itself or "../..." leaves.
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel))
}

/**
 * The absolute folder `given` names (relative: under `downloadDir`), when it is inside one of `roots`;
 * a Forbidden ControlError otherwise.
 */
export const allowedFolder = (given: string, downloadDir: string, roots: ReadonlyArray<string>): Effect.Effect<string, ControlError> =>
  Effect.promise(async () => {
    const wanted = path.resolve(downloadDir, given)
    const real = await realish(wanted)
    for (const root of roots) {
      if (inside(real, await realish(path.resolve(root)))) return wanted
    }
    return undefined
  }).pipe(Effect.flatMap((folder) =>
    folder !== undefined
      ? Effect.succeed(folder)
      : Effect.fail(new ControlError({ reason: "Forbidden", detail: `${given}: outside the folders this daemon may write to (--allow-folder)` }))))

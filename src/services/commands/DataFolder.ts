/**
 * `--data` names the folder that holds a torrent's content, as `--out` did for the download: the torrent's
 * own folder or file lies inside it. Giving the torrent's own folder (`seed --data share` for a torrent
 * named share) or the file itself is the usual slip, and finding nothing there, a command says which
 * folder to give instead.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import type { Metainfo } from "../../domain/Metainfo.js"

/** Where the content was looked for and not found: a hint naming the folder to give, when we can tell. */
export const dataHint = (metainfo: Metainfo, data: string): string | undefined => {
  const given = path.resolve(data)
  const parent = path.dirname(given)
  let stats: fs.Stats | undefined
  try {
    stats = fs.statSync(given)
  } catch {
    return undefined
  }
  const ownName = path.basename(given) === metainfo.safeName
  if (stats.isFile() && (ownName || !metainfo.multiFile)) {
    return `${data} is a file: give the folder that holds it (--data ${parent})`
  }
  if (stats.isDirectory() && ownName && !fs.existsSync(path.join(given, metainfo.safeName))) {
    return `${data} looks like the torrent's own folder: give the folder that holds it (--data ${parent})`
  }
  return undefined
}

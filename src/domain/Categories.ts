/**
 * Categories and tags, the two ways a user (or Sonarr, Radarr, autobrr...) sorts torrents, with the rules
 * qBittorrent keeps for both so that the tools that drive it find the same answers here:
 * - a category has a name and a save path. Its name may hold "/" between parts (qBittorrent's
 *   subcategories), never "\", never at either end, never two in a row. An empty save path, or a relative
 *   one, is taken under the session's download folder (qBittorrent's `categorySavePath`: "" is the
 *   category's own name there). A torrent is in one category at most ("" none).
 * - a tag is any text without a comma (the API sends tags comma-separated), trimmed, not empty. A torrent
 *   has any number of them, kept sorted and once each.
 * Pure: the session keeps them (with the torrents) and front ends show them.
 */
import * as path from "node:path"

export interface Category {
  readonly name: string
  /** As the user gave it: absolute, relative to the download folder, or "" (the category's name there). */
  readonly savePath: string
}

/** qBittorrent's isValidCategoryName (its regex, as plain rules). */
export const validCategoryName = (name: string): boolean =>
  name.length > 0 && name.length <= 255 && !name.includes("\\") && !name.startsWith("/") && !name.endsWith("/") && !name.includes("//")

/** A tag as given, trimmed; undefined when it is no valid tag (empty, or with a comma). */
export const validTag = (tag: string): string | undefined => {
  const t = tag.trim()
  return t.length === 0 || t.length > 255 || t.includes(",") ? undefined : t
}

/** Tags as the API sends them ("a,b, c"), the valid ones, once each. */
export const parseTags = (text: string): ReadonlyArray<string> => {
  const tags = new Set<string>()
  for (const part of text.split(",")) {
    const t = validTag(part)
    if (t !== undefined) tags.add(t)
  }
  return [...tags]
}

/** The sorted set of `tags` with `added` and without `removed`. */
export const withTags = (tags: ReadonlyArray<string>, added: ReadonlyArray<string>, removed: ReadonlyArray<string> = []): ReadonlyArray<string> => {
  const set = new Set(tags)
  for (const t of added) set.add(t)
  for (const t of removed) set.delete(t)
  return [...set].sort()
}

/** The folder a category's torrents go to (absolute), under `downloadDir` unless its path is absolute. */
export const categoryFolder = (category: Category, downloadDir: string): string =>
  path.resolve(downloadDir, category.savePath === "" ? category.name : category.savePath)

/**
 * A torrent's labels as Transmission 4 shows them: its category first (Sonarr and Radarr put their category
 * in the labels of Transmission), then its tags.
 */
export const labelsOf = (category: string, tags: ReadonlyArray<string>): ReadonlyArray<string> =>
  category === "" || tags.includes(category) ? tags : [category, ...tags]

/** Labels set through Transmission: the category stays if named among them, the rest are the tags. */
export const fromLabels = (labels: ReadonlyArray<string>, category: string): { readonly category: string; readonly tags: ReadonlyArray<string> } => {
  const keep = category !== "" && labels.includes(category)
  return { category: keep ? category : "", tags: withTags([], labels.filter((l) => l !== category).flatMap((l) => validTag(l) ?? [])) }
}

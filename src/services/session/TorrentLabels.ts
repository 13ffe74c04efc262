/**
 * The session's categories and tags (domain/Categories.ts), and the torrents' own: a category created,
 * edited or removed, tags created or deleted, a torrent put in a category or given tags. A category removed
 * leaves its torrents without one (those that follow it go to the download folder), a tag deleted goes
 * from every torrent that had it; a tag given to a torrent exists from then on, as qBittorrent does it. A
 * torrent whose folder follows its category (`autoManaged`) moves with it: put in a category, its category's
 * folder edited (`relocate`). Saved with the list (SessionFile.ts) after each change.
 */
import * as Effect from "effect/Effect"
import { type Category, categoryFolder, validCategoryName, validTag, withTags } from "../../domain/Categories.js"
import { ControlError } from "../../domain/Errors.js"
import type { SessionControlService } from "./SessionControl.js"
import type { Entry } from "./SessionEntry.js"
import type { Labels } from "./SessionFile.js"

export interface LabelsContext {
  readonly entries: () => ReadonlyArray<Entry>
  /** The session's download folder now: relative category paths are under it. */
  readonly downloadDir: () => string
  /** Moves a torrent's data to a folder (TorrentLocation.ts), as setLocation with `move`. */
  readonly relocate: (entry: Entry, folder: string) => Effect.Effect<void, ControlError>
  readonly save: Effect.Effect<void>
}

export interface TorrentLabels {
  readonly labels: () => Labels
  /** SessionControl's methods on categories and tags. */
  readonly control: Pick<SessionControlService, "categories" | "createCategory" | "editCategory" | "removeCategories" | "tags" | "createTags" | "deleteTags">
  /** The folder a torrent in `category` goes to when its folder follows it (undefined: no such category). */
  readonly folderOf: (category: string) => string | undefined
  /** Puts the torrent in a category ("" none), moving its data if its folder follows the category. */
  readonly setCategory: (entry: Entry, category: string) => Effect.Effect<void, ControlError>
  /** Adds and removes tags of a torrent (those added are created in the session). */
  readonly changeTags: (entry: Entry, added: ReadonlyArray<string>, removed: ReadonlyArray<string>) => void
  /** Its folder follows its category from now on (moved there now), or no longer. */
  readonly setAutoManaged: (entry: Entry, on: boolean) => Effect.Effect<void, ControlError>
}

const invalid = (detail: string) => new ControlError({ reason: "Invalid", detail })

export const make = (context: LabelsContext, saved: Labels): TorrentLabels => {
  const categories = new Map<string, Category>(saved.categories.filter((c) => validCategoryName(c.name)).map((c) => [c.name, c]))
  let tags: ReadonlyArray<string> = withTags([], saved.tags.flatMap((t) => validTag(t) ?? []))
  // Tags and categories that torrents of an older file name are the session's too.
  for (const e of context.entries()) {
    tags = withTags(tags, e.tags)
    // As qBittorrent does for a torrent of a category it does not know: the category is made (its folder the default).
    if (e.category !== "" && !categories.has(e.category)) {
      if (validCategoryName(e.category)) categories.set(e.category, { name: e.category, savePath: "" })
      else e.category = ""
    }
  }

  const folderOf = (name: string) => {
    const category = categories.get(name)
    return category === undefined ? undefined : categoryFolder(category, context.downloadDir())
  }

  /** A torrent whose folder follows its category, moved where that is now (nothing to do if there). */
  const follow = (entry: Entry) =>
    Effect.suspend(() => {
      if (!entry.autoManaged) return Effect.void
      const folder = entry.category === "" ? context.downloadDir() : folderOf(entry.category)
      return folder === undefined || folder === entry.savePath ? Effect.void : context.relocate(entry, folder)
    })

  const checkName = (name: string) =>
    validCategoryName(name) ? Effect.void : Effect.fail(invalid(`${JSON.stringify(name)}: not a valid category name`))

  const setCategory = (entry: Entry, category: string) =>
    Effect.gen(function*() {
      if (category !== "" && !categories.has(category)) {
        return yield* new ControlError({ reason: "Conflict", detail: `${category}: no such category` })
      }
      entry.category = category
      yield* follow(entry)
    })

  const control: TorrentLabels["control"] = {
    categories: Effect.sync(() => [...categories.values()]),
    createCategory: (category) =>
      Effect.gen(function*() {
        yield* checkName(category.name)
        if (categories.has(category.name)) return yield* new ControlError({ reason: "Conflict", detail: `${category.name}: category exists` })
        categories.set(category.name, category)
        yield* context.save
      }),
    editCategory: (category) =>
      Effect.gen(function*() {
        yield* checkName(category.name)
        if (!categories.has(category.name)) return yield* new ControlError({ reason: "Conflict", detail: `${category.name}: no such category` })
        categories.set(category.name, category)
        for (const e of context.entries()) if (e.category === category.name) yield* follow(e)
        yield* context.save
      }),
    removeCategories: (names) =>
      Effect.gen(function*() {
        const gone = new Set(names.filter((n) => categories.delete(n)))
        // As qBittorrent's setCategory(""): those whose folder follows their category go to the download folder.
        for (const e of context.entries()) {
          if (!gone.has(e.category)) continue
          e.category = ""
          yield* follow(e)
        }
        yield* context.save
      }),
    tags: Effect.sync(() => tags),
    createTags: (given) =>
      Effect.gen(function*() {
        tags = withTags(tags, given.flatMap((t) => validTag(t) ?? []))
        yield* context.save
      }),
    deleteTags: (given) =>
      Effect.gen(function*() {
        tags = withTags(tags, [], given)
        for (const e of context.entries()) e.tags = withTags(e.tags, [], given)
        yield* context.save
      })
  }

  return {
    labels: () => ({ categories: [...categories.values()], tags }),
    control,
    folderOf,
    setCategory,
    changeTags: (entry, added, removed) => {
      const valid = added.flatMap((t) => validTag(t) ?? [])
      tags = withTags(tags, valid)
      entry.tags = withTags(entry.tags, valid, removed)
    },
    setAutoManaged: (entry, on) =>
      Effect.gen(function*() {
        entry.autoManaged = on
        yield* follow(entry)
      })
  }
}

/**
 * Categories and tags in the list (the daemon's, issue 22): the category and tag filters and what each
 * would keep, and the tags a person types in the detail. Pure (the tests run it in Node); labelFilters.ts
 * draws the filters, labelStore.ts keeps the choice, tagEditor.ts edits a torrent's tags.
 *
 * A torrent is in one category at most ("" none) and has any number of tags; the daemon sends both
 * (torrent-get's `category` and `tags`, bt-effect's own beside Transmission's mixed `labels`). Tags are set
 * through Transmission's torrent-set `labels`: all of a torrent's labels, its category's name first to keep
 * it (the daemon takes a category it does not already have for a tag, and drops it: domain/Categories.ts).
 */
import type { ListTorrent } from "./torrents.js"

type Labelled = Pick<ListTorrent, "category" | "tags">

/** One filter's choice: every torrent, those without any (Uncategorized, Untagged), or those with this one. */
export type LabelChoice =
  | { readonly kind: "all" }
  | { readonly kind: "none" }
  | { readonly kind: "one"; readonly name: string }

export interface LabelFilter {
  readonly category: LabelChoice
  readonly tag: LabelChoice
}

export const anyLabel: LabelChoice = { kind: "all" }
export const noLabelFilter: LabelFilter = { category: anyLabel, tag: anyLabel }

const keepsCategory = (c: LabelChoice, t: Labelled): boolean =>
  c.kind === "all" || (c.kind === "none" ? t.category === "" : t.category === c.name)

const keepsTag = (c: LabelChoice, t: Labelled): boolean =>
  c.kind === "all" || (c.kind === "none" ? t.tags.length === 0 : t.tags.includes(c.name))

/** Whether both filters keep the torrent. */
export const inLabels = (f: LabelFilter, t: Labelled): boolean => keepsCategory(f.category, t) && keepsTag(f.tag, t)

/** A choice as a select's value: "all", "none", or "=" and the name (so that a tag named "all" is no choice of all). */
export const choiceValue = (c: LabelChoice): string => (c.kind === "one" ? `=${c.name}` : c.kind)

/** Back from a select's (or storage's) value; undefined for anything that is none. */
export const choiceOf = (value: unknown): LabelChoice | undefined => {
  if (value === "all" || value === "none") return { kind: value }
  return typeof value === "string" && value.length > 1 && value.startsWith("=") ? { kind: "one", name: value.slice(1) } : undefined
}

export const sameChoice = (a: LabelChoice, b: LabelChoice): boolean => choiceValue(a) === choiceValue(b)

/** How many torrents each choice of one filter keeps: all, none, and each name seen (in name order). */
export interface ChoiceCounts {
  readonly all: number
  readonly none: number
  readonly names: ReadonlyArray<readonly [string, number]>
}

const names = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" })

const countNames = (torrents: ReadonlyArray<Labelled>, namesOf: (t: Labelled) => ReadonlyArray<string>): ChoiceCounts => {
  const byName = new Map<string, number>()
  let none = 0
  for (const t of torrents) {
    const own = namesOf(t)
    if (own.length === 0) none++
    for (const name of new Set(own)) byName.set(name, (byName.get(name) ?? 0) + 1)
  }
  return { all: torrents.length, none, names: [...byName].sort(([a], [b]) => names.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0)) }
}

/** The categories seen among the torrents, with how many are in each. */
export const categoryCounts = (torrents: ReadonlyArray<Labelled>): ChoiceCounts =>
  countNames(torrents, (t) => (t.category === "" ? [] : [t.category]))

/** The tags seen among the torrents, with how many have each. */
export const tagCounts = (torrents: ReadonlyArray<Labelled>): ChoiceCounts => countNames(torrents, (t) => t.tags)

/**
 * Tags as typed, comma-separated: each trimmed, the empty ones dropped, each once, in the order typed (the
 * daemon's rules for a tag, domain/Categories.ts validTag: no comma, which the split already sees to).
 */
export const parseTagText = (text: string): ReadonlyArray<string> => {
  const tags = new Set<string>()
  for (const part of text.split(",")) {
    const tag = part.trim()
    if (tag !== "") tags.add(tag)
  }
  return [...tags]
}

/** Tags as the detail's field shows them. */
export const tagText = (tags: ReadonlyArray<string>): string => tags.join(", ")

/**
 * torrent-set's `labels` for a torrent of `category` to have exactly `tags`: its category first (named, it
 * stays), then the tags. A tag of the category's own name would be read back as the category: left out.
 */
export const labelsFor = (category: string, tags: ReadonlyArray<string>): ReadonlyArray<string> =>
  category === "" ? tags : [category, ...tags.filter((t) => t !== category)]

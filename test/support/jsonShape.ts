/**
 * The shape of a JSON value, to compare two servers' answers to the same call without their values (the
 * qBittorrent API reference test, test/interop/qbittorrent-api.test.ts): an object's field names with each
 * field's JSON type, recursively; an array's element shape (the union over its elements, a field that only
 * some elements have marked so); a map keyed by data (info hashes, category names) as the shape of its
 * values. Numbers are one type: whether a float serializes with a fraction depends on its value.
 */

export type Shape =
  | { readonly kind: "number" | "string" | "boolean" | "null" }
  | { readonly kind: "object"; readonly fields: ReadonlyMap<string, Field> }
  | { readonly kind: "map"; readonly value: Shape | undefined }
  | { readonly kind: "array"; readonly element: Shape | undefined }
  /** Values of different kinds at one place (an array of mixed elements). */
  | { readonly kind: "union"; readonly kinds: ReadonlyArray<Shape> }

export interface Field {
  readonly shape: Shape
  /** Absent from some of the objects merged here (array elements, map values). */
  readonly optional: boolean
}

/** Where a path is (for `maps`): "" the top, "torrents" a field, "[]" an element, "*" a map's value. */
const join = (at: string, part: string) => (at === "" ? part : `${at}.${part}`)

/**
 * The shape of `value`. `maps` names the paths whose objects are keyed by data, e.g. ["torrents",
 * "categories"] for sync/maindata, [""] for torrents/categories.
 */
export const shapeOf = (value: unknown, maps: ReadonlyArray<string> = [], at = ""): Shape => {
  if (value === null) return { kind: "null" }
  if (Array.isArray(value)) return { kind: "array", element: mergeAll(value.map((v) => shapeOf(v, maps, join(at, "[]")))) }
  switch (typeof value) {
    case "number":
      return { kind: "number" }
    case "string":
      return { kind: "string" }
    case "boolean":
      return { kind: "boolean" }
    case "object": {
      const entries = Object.entries(value as Record<string, unknown>)
      if (maps.includes(at)) return { kind: "map", value: mergeAll(entries.map(([, v]) => shapeOf(v, maps, join(at, "*")))) }
      return { kind: "object", fields: new Map(entries.map(([k, v]) => [k, { shape: shapeOf(v, maps, join(at, k)), optional: false }])) }
    }
    default:
      throw new Error(`not JSON: ${typeof value}`)
  }
}

const mergeAll = (shapes: ReadonlyArray<Shape>): Shape | undefined =>
  shapes.length === 0 ? undefined : shapes.reduce((a, b) => merge(a, b))

const unionKinds = (s: Shape): ReadonlyArray<Shape> => (s.kind === "union" ? s.kinds : [s])

/** The shape of values that are sometimes `a`, sometimes `b`. */
export const merge = (a: Shape, b: Shape): Shape => {
  if (a.kind === "object" && b.kind === "object") {
    const fields = new Map<string, Field>()
    for (const [k, f] of a.fields) {
      const other = b.fields.get(k)
      fields.set(k, other === undefined ? { shape: f.shape, optional: true } : { shape: merge(f.shape, other.shape), optional: f.optional || other.optional })
    }
    for (const [k, f] of b.fields) if (!a.fields.has(k)) fields.set(k, { shape: f.shape, optional: true })
    return { kind: "object", fields }
  }
  if (a.kind === "array" && b.kind === "array") return { kind: "array", element: mergeOptional(a.element, b.element) }
  if (a.kind === "map" && b.kind === "map") return { kind: "map", value: mergeOptional(a.value, b.value) }
  if (a.kind === b.kind && a.kind !== "union") return a
  const kinds: Array<Shape> = [...unionKinds(a)]
  for (const k of unionKinds(b)) {
    const i = kinds.findIndex((x) => x.kind === k.kind)
    if (i < 0) kinds.push(k)
    else kinds[i] = merge(kinds[i]!, k)
  }
  return kinds.length === 1 ? kinds[0]! : { kind: "union", kinds }
}

const mergeOptional = (a: Shape | undefined, b: Shape | undefined): Shape | undefined =>
  a === undefined ? b : b === undefined ? a : merge(a, b)

/** A shape in one line, for messages. */
export const describe = (s: Shape | undefined): string => {
  if (s === undefined) return "(empty)"
  switch (s.kind) {
    case "object":
      return `{${[...s.fields].map(([k, f]) => `${k}${f.optional ? "?" : ""}: ${describe(f.shape)}`).join(", ")}}`
    case "map":
      return `map of ${describe(s.value)}`
    case "array":
      return `array of ${describe(s.element)}`
    case "union":
      return s.kinds.map(describe).join(" | ")
    default:
      return s.kind
  }
}

/** The kind of a shape at the top (objects' fields and arrays' elements left out), for messages. */
const kindOf = (s: Shape): string => (s.kind === "union" ? s.kinds.map(kindOf).join("|") : s.kind)

/**
 * The differences between the reference's shape and ours, one line each: `path: reference X, ours Y`.
 * An empty array or map on either side says nothing about its elements and is not compared further.
 */
export const diffShapes = (reference: Shape | undefined, ours: Shape | undefined, at = ""): ReadonlyArray<string> => {
  if (reference === undefined || ours === undefined) return []
  const where = at === "" ? "(top)" : at
  if (reference.kind !== ours.kind) return [`${where}: reference ${kindOf(reference)}, ours ${kindOf(ours)}`]
  switch (reference.kind) {
    case "object": {
      const o = ours as Extract<Shape, { kind: "object" }>
      const out: Array<string> = []
      for (const [k, f] of reference.fields) {
        const mine = o.fields.get(k)
        if (mine === undefined) out.push(`${join(at, k)}: reference ${kindOf(f.shape)}, ours missing`)
        else {
          if (f.optional !== mine.optional) out.push(`${join(at, k)}: reference ${f.optional ? "in some elements" : "in every element"}, ours ${mine.optional ? "in some" : "in every"}`)
          out.push(...diffShapes(f.shape, mine.shape, join(at, k)))
        }
      }
      for (const [k, f] of o.fields) if (!reference.fields.has(k)) out.push(`${join(at, k)}: reference missing, ours ${kindOf(f.shape)}`)
      return out
    }
    case "array":
      return diffShapes(reference.element, (ours as Extract<Shape, { kind: "array" }>).element, join(at, "[]"))
    case "map":
      return diffShapes(reference.value, (ours as Extract<Shape, { kind: "map" }>).value, join(at, "*"))
    case "union": {
      const kinds = (ours as Extract<Shape, { kind: "union" }>).kinds
      const a = reference.kinds.map(kindOf).sort().join("|")
      const b = kinds.map(kindOf).sort().join("|")
      if (a !== b) return [`${where}: reference ${a}, ours ${b}`]
      return reference.kinds.flatMap((k) => diffShapes(k, kinds.find((x) => x.kind === k.kind), at))
    }
    default:
      return []
  }
}

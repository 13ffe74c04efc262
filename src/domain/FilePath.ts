/**
 * Sanitising the paths a .torrent names, so that no file can land outside the download folder.
 *
 * A torrent's path components are untrusted bytes. Each becomes one safe file name: separators and
 * characters that are special on some file system become `_`, `.` and `..` and empty components are
 * dropped, Windows device names get a `_` prefix, trailing dots and spaces go, and a name longer than 255
 * bytes of UTF-8 is shortened keeping its extension. Bytes that are not UTF-8 are decoded with U+FFFD, so
 * two different names can meet; `deduplicate` renames the later ones, as it does for torrents that really
 * name one path twice. The original bytes stay beside the result for display.
 */

const maxNameBytes = 255
const reservedWindowsName = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i
// Separators, characters Windows refuses, and C0 controls (NUL among them).
const unsafeChars = /[/\\<>:"|?*\u0000-\u001f\u007f]/g

const utf8 = new TextDecoder("utf-8", { fatal: false })
const utf8Strict = new TextDecoder("utf-8", { fatal: true })

/** Text of a name as bytes; non-UTF-8 bytes become U+FFFD. */
export const displayText = (bytes: Uint8Array): string => utf8.decode(bytes)

/** Whether a byte string is valid UTF-8. */
export const isUtf8 = (bytes: Uint8Array): boolean => {
  try {
    utf8Strict.decode(bytes)
    return true
  } catch {
    return false
  }
}

/** Why a raw component is unsafe as given, or undefined when it is safe to use unchanged. */
export const unsafeReason = (component: string): string | undefined => {
  if (component === "") return "empty component"
  if (component === "." || component === "..") return `dot component '${component}'`
  if (component.includes("/") || component.includes("\\")) return "separator in component"
  if (component.includes("\u0000")) return "NUL in component"
  if (reservedWindowsName.test(component)) return "Windows reserved name"
  if (Buffer.byteLength(component, "utf8") > maxNameBytes) return "name too long"
  return undefined
}

const truncateUtf8 = (s: string, maxBytes: number): string => {
  let out = ""
  let size = 0
  for (const ch of s) {
    const n = Buffer.byteLength(ch, "utf8")
    if (size + n > maxBytes) break
    out += ch
    size += n
  }
  return out
}

const shorten = (name: string): string => {
  if (Buffer.byteLength(name, "utf8") <= maxNameBytes) return name
  const dot = name.lastIndexOf(".")
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : ""
  return truncateUtf8(name.slice(0, name.length - ext.length), maxNameBytes - Buffer.byteLength(ext, "utf8")) + ext
}

/** One safe file name from a component, or undefined when nothing usable is left (`.`, `..`, empty). */
export const sanitiseComponent = (component: string): string | undefined => {
  let name = component.replace(unsafeChars, "_")
  // Windows drops trailing dots and spaces, which would make `a.` and `a` the same file.
  name = name.replace(/[. ]+$/, (m) => (m.length === name.length ? m : ""))
  if (name === "" || name === "." || name === "..") return undefined
  if (/^\.+$/.test(name)) return undefined
  if (reservedWindowsName.test(name)) name = `_${name}`
  return shorten(name)
}

/** Safe components from raw ones; components that sanitise to nothing are dropped. */
export const sanitisePath = (components: ReadonlyArray<string>): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const c of components) {
    const safe = sanitiseComponent(c)
    if (safe !== undefined) out.push(safe)
  }
  return out
}

const withSuffix = (name: string, n: number): string => {
  const dot = name.lastIndexOf(".")
  return dot > 0 ? `${name.slice(0, dot)}.${n}${name.slice(dot)}` : `${name}.${n}`
}

/**
 * Makes every path unique, case-insensitively (so that the result is also safe on case-insensitive file
 * systems), and keeps a file from sharing its path with a folder that another file needs. Later paths are
 * renamed `name.1.ext`, `name.2.ext`, ...; an empty path becomes `_`. Components are sanitised ones (no
 * separators).
 *
 * Linear in the number of components: a folder is known by its parent's number and its own folded name,
 * never by its whole path, and each name remembers the next suffix to try. A torrent of thousands of
 * files of one name, or of one path thousands of components deep, must not take minutes to open.
 */
export const deduplicate = (
  paths: ReadonlyArray<ReadonlyArray<string>>
): ReadonlyArray<ReadonlyArray<string>> => {
  // `${parent folder's number}/${folded name}` -> the folder's number (0 is the torrent's root).
  const folders = new Map<string, number>()
  const folderOf = (dir: ReadonlyArray<string>): number => {
    let id = 0
    for (const component of dir) {
      const key = `${id}/${component.toLowerCase()}`
      let next = folders.get(key)
      if (next === undefined) {
        next = folders.size + 1
        folders.set(key, next)
      }
      id = next
    }
    return id
  }
  for (const p of paths) folderOf(p.slice(0, -1))
  const files = new Set<string>()
  const nextSuffix = new Map<string, number>()
  const taken = (key: string) => files.has(key) || folders.has(key)
  return paths.map((p0) => {
    const p = p0.length === 0 ? ["_"] : p0
    const dir = p.slice(0, -1)
    const name = p[p.length - 1]!
    const at = `${folderOf(dir)}/`
    const key = at + name.toLowerCase()
    if (!taken(key)) {
      files.add(key)
      return p
    }
    // Suffixes below the remembered one were all taken, and names are never released.
    let n = nextSuffix.get(key) ?? 1
    while (taken(at + withSuffix(name, n).toLowerCase())) n++
    nextSuffix.set(key, n + 1)
    files.add(at + withSuffix(name, n).toLowerCase())
    return [...dir, withSuffix(name, n)]
  })
}

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
 * renamed `name.1.ext`, `name.2.ext`, ...; an empty path becomes `_`.
 */
export const deduplicate = (
  paths: ReadonlyArray<ReadonlyArray<string>>
): ReadonlyArray<ReadonlyArray<string>> => {
  const fold = (p: ReadonlyArray<string>) => p.join("/").toLowerCase()
  const folders = new Set<string>()
  for (const p of paths) {
    for (let i = 1; i < p.length; i++) folders.add(fold(p.slice(0, i)))
  }
  const files = new Set<string>()
  return paths.map((p0) => {
    const p = p0.length === 0 ? ["_"] : p0
    const dir = p.slice(0, -1)
    const name = p[p.length - 1]!
    let candidate = p
    for (let n = 1; files.has(fold(candidate)) || folders.has(fold(candidate)); n++) {
      candidate = [...dir, withSuffix(name, n)]
    }
    files.add(fold(candidate))
    return candidate
  })
}

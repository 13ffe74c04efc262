/**
 * Where a web seed (BEP 19) keeps a torrent's files: for a single-file torrent the URL is the file itself,
 * unless it ends in "/", a folder where the file sits under the torrent's name; for a multi-file torrent
 * the URL is a folder holding the torrent's name as a folder, and each file under it by its path. Names
 * are those of the torrent exactly as written (its raw bytes, not the names made safe for our disk),
 * percent-encoded byte by byte as libtorrent and aria2 do.
 */

/** The bytes of a path component, every byte but the unreserved ones (RFC 3986) as %XX. */
export const encodeComponent = (bytes: Uint8Array): string => {
  let out = ""
  for (const b of bytes) {
    const unreserved =
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f ||
      b === 0x7e
    out += unreserved ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`
  }
  return out
}

/** Whether a web seed's URL is one we can use: HTTP(S) only (ftp:// and others are skipped). */
export const isUsable = (url: string): boolean => {
  try {
    const u = new URL(url)
    return u.protocol === "http:" || u.protocol === "https:"
  } catch {
    return false
  }
}

/** The URL of each file of the torrent on the web seed `base`, in torrent order (pad files included: they
 *  are never fetched). */
export const fileUrls = (
  base: string,
  torrent: {
    readonly multiFile: boolean
    readonly rawName: Uint8Array
    readonly files: ReadonlyArray<{ readonly rawPath: ReadonlyArray<Uint8Array> }>
  }
): ReadonlyArray<string> => {
  const name = encodeComponent(torrent.rawName)
  if (!torrent.multiFile) return torrent.files.map(() => (base.endsWith("/") ? base + name : base))
  const folder = base.endsWith("/") ? base : `${base}/`
  return torrent.files.map((f) => `${folder}${name}/${f.rawPath.map(encodeComponent).join("/")}`)
}

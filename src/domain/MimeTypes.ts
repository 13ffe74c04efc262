/**
 * A torrent's primary media type, as Transmission 4 shows it (`primary-mime-type`): the type of the files
 * that hold the most bytes, by their extension; "application/octet-stream" for what it does not know.
 * Only the common types are known here (Transmission's table is the whole IANA list): what a front end
 * shows an icon for.
 */

const fallback = "application/octet-stream"

const byExtension: { readonly [extension: string]: string } = {
  // video
  mkv: "video/x-matroska", mp4: "video/mp4", m4v: "video/x-m4v", avi: "video/x-msvideo", mov: "video/quicktime",
  webm: "video/webm", mpg: "video/mpeg", mpeg: "video/mpeg", ts: "video/mp2t", wmv: "video/x-ms-wmv", flv: "video/x-flv",
  ogv: "video/ogg", "3gp": "video/3gpp",
  // audio
  mp3: "audio/mpeg", flac: "audio/flac", ogg: "audio/ogg", oga: "audio/ogg", opus: "audio/ogg", wav: "audio/wav",
  m4a: "audio/mp4", aac: "audio/aac", wma: "audio/x-ms-wma", ape: "audio/x-ape", mka: "audio/x-matroska",
  // images
  jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", gif: "image/gif", webp: "image/webp", bmp: "image/bmp",
  svg: "image/svg+xml", tif: "image/tiff", tiff: "image/tiff",
  // text and documents
  txt: "text/plain", nfo: "text/x-nfo", md: "text/markdown", html: "text/html", htm: "text/html", css: "text/css",
  csv: "text/csv", srt: "application/x-subrip", pdf: "application/pdf", epub: "application/epub+zip",
  mobi: "application/x-mobipocket-ebook", djvu: "image/vnd.djvu", json: "application/json", xml: "application/xml",
  // archives and images of discs
  zip: "application/zip", rar: "application/vnd.rar", "7z": "application/x-7z-compressed", gz: "application/gzip",
  bz2: "application/x-bzip2", xz: "application/x-xz", zst: "application/zstd", tar: "application/x-tar",
  iso: "application/x-iso9660-image", img: "application/x-raw-disk-image", dmg: "application/x-apple-diskimage",
  // programs and packages
  exe: "application/x-msdownload", msi: "application/x-msi", deb: "application/vnd.debian.binary-package",
  rpm: "application/x-rpm", apk: "application/vnd.android.package-archive", torrent: "application/x-bittorrent"
}

/** The media type of a file name, by its extension (any case). */
export const mimeTypeOf = (name: string): string => {
  const base = name.slice(name.lastIndexOf("/") + 1)
  const dot = base.lastIndexOf(".")
  return dot <= 0 ? fallback : byExtension[base.slice(dot + 1).toLowerCase()] ?? fallback
}

/** The type with the most bytes among the files. */
export const primaryMimeType = (files: ReadonlyArray<{ readonly name: string; readonly length: number }>): string => {
  const bytes = new Map<string, number>()
  for (const f of files) {
    const type = mimeTypeOf(f.name)
    bytes.set(type, (bytes.get(type) ?? 0) + f.length)
  }
  let best = fallback
  let most = -1
  for (const [type, n] of bytes) {
    if (n > most) {
      best = type
      most = n
    }
  }
  return best
}

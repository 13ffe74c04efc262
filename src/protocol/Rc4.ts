/**
 * RC4, the stream cipher of Message Stream Encryption (Mse.ts). Node 20's OpenSSL 3 no longer provides
 * "rc4" (createCipheriv throws unsupported), so it is written here: the state is one 256-byte array and
 * two indices, and a stream is applied in place (our own buffers, a chunk just read) or from a view into
 * a buffer of ours (a write of views into shared piece buffers, which must never change).
 */

export class Rc4 {
  private readonly s = new Uint8Array(256)
  private i = 0
  private j = 0

  /** A stream keyed with `key` (1..256 bytes), the first `discard` bytes of keystream thrown away. */
  constructor(key: Uint8Array, discard = 0) {
    if (key.length === 0 || key.length > 256) throw new RangeError("RC4 key of 1..256 bytes")
    const s = this.s
    for (let k = 0; k < 256; k++) s[k] = k
    let j = 0
    for (let k = 0; k < 256; k++) {
      const t = s[k]!
      j = (j + t + key[k % key.length]!) & 0xff
      s[k] = s[j]!
      s[j] = t
    }
    if (discard > 0) this.skip(discard)
  }

  /** Advances the stream by `n` bytes of keystream. */
  skip(n: number): void {
    const s = this.s
    let i = this.i
    let j = this.j
    for (let k = 0; k < n; k++) {
      i = (i + 1) & 0xff
      const t = s[i]!
      j = (j + t) & 0xff
      s[i] = s[j]!
      s[j] = t
    }
    this.i = i
    this.j = j
  }

  /** Encrypts (or decrypts: the same) `bytes[start, end)` in place. */
  apply(bytes: Uint8Array, start = 0, end = bytes.length): void {
    this.applyTo(bytes, start, end, bytes, start)
  }

  /** Writes `src[start, end)` encrypted into `dst` at `at`; `src` is only read. */
  applyTo(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): void {
    const s = this.s
    let i = this.i
    let j = this.j
    let o = at
    for (let k = start; k < end; k++) {
      i = (i + 1) & 0xff
      const t = s[i]!
      j = (j + t) & 0xff
      const u = s[j]!
      s[i] = u
      s[j] = t
      dst[o++] = src[k]! ^ s[(t + u) & 0xff]!
    }
    this.i = i
    this.j = j
  }
}

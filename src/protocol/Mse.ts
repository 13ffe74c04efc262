/**
 * Message Stream Encryption (MSE/PE, the Vuze spec that libtorrent, Transmission and aria2 implement): the
 * handshake of each side as a synchronous state machine over the bytes as they arrive, and the keys.
 *
 *   A->B  Ya, PadA
 *   B->A  Yb, PadB
 *   A->B  HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S), ENCRYPT(VC, crypto_provide, len(PadC),
 *         PadC, len(IA)), ENCRYPT(IA)
 *   B->A  ENCRYPT(VC, crypto_select, len(PadD), PadD), then the payload stream (ENCRYPT2)
 *
 * Y is a 768-bit Diffie-Hellman public key (generator 2), S the shared secret, SKEY the info hash (so the
 * side that answers finds the torrent among all it serves), VC eight zero bytes. A sends with RC4 keyed
 * HASH('keyA', S, SKEY), B with HASH('keyB', S, SKEY), each stream's first 1024 bytes discarded.
 *
 * Every length is bounded and so is every search: B looks for HASH('req1', S) within `maxReq1Search`
 * bytes after Ya, A for ENCRYPT(VC) within `maxVcSearch` bytes after Yb; PadC and PadD are at most 512
 * bytes and the initial payload at most `maxInitialPayload`. What is held never exceeds the largest of
 * these plus the chunk being read, so a hostile stream ends the handshake with an error, never memory.
 * The machines do no I/O: `push` gives what to write and, at the end, the keys and the bytes that followed.
 */
import { createHash, randomBytes } from "node:crypto"
import { Rc4 } from "./Rc4.js"

export const prime = Buffer.from(
  "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563",
  "hex"
)
export const keyLength = 96
export const maxPad = 512
/** B finds HASH('req1', S) ending within this many bytes after Ya (PadA is at most 512). */
export const maxReq1Search = 96 + maxPad + 20
/** A finds ENCRYPT(VC) ending within this many bytes after Yb (PadB is at most 512). */
export const maxVcSearch = 616
/** The initial payload we accept: a BitTorrent handshake is 68 bytes; clients send it and nothing more. */
export const maxInitialPayload = 4096
/** Bytes of RC4 keystream thrown away at the start of each direction. */
export const discard = 1024

export const CryptoPlaintext = 0x01
export const CryptoRc4 = 0x02

/** Our side's rule: plaintext only, MSE preferred, MSE only. */
export type Policy = "off" | "prefer" | "require"

const sha1 = (...parts: ReadonlyArray<Uint8Array | string>): Uint8Array => {
  const hash = createHash("sha1")
  for (const part of parts) hash.update(part)
  return new Uint8Array(hash.digest())
}

/** HASH('req2', SKEY): what B keeps per torrent to find the one A asks for. */
export const req2 = (infoHash: Uint8Array): Uint8Array => sha1("req2", infoHash)

const xor20 = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(20)
  for (let i = 0; i < 20; i++) out[i] = a[i]! ^ b[i]!
  return out
}

const padded = (key: Uint8Array): Uint8Array => {
  if (key.length === keyLength) return key
  const out = new Uint8Array(keyLength)
  out.set(key, keyLength - key.length)
  return out
}

/** One side's key pair: a 160-bit private key, its 96-byte public key, and S from the other's. */
export interface KeyPair {
  readonly publicKey: Uint8Array
  /** S, 96 bytes; undefined for a public key that is not one (0, 1, P-1 or above). */
  readonly secret: (theirs: Uint8Array) => Uint8Array | undefined
}

const primeBig = BigInt(`0x${prime.toString("hex")}`)

const toBig = (bytes: Uint8Array): bigint => (bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex")}`))

const toBytes = (n: bigint): Uint8Array => padded(new Uint8Array(Buffer.from(n.toString(16).padStart(keyLength * 2, "0"), "hex")))

/** base^exponent mod P, square and multiply: a 160-bit exponent is about 0.4 ms. (node's
 *  createDiffieHellman checks the prime each time it is made, about 28 ms: a cost per connection an
 *  attacker could ask for at will.) */
const modPow = (base: bigint, exponent: bigint): bigint => {
  let result = 1n
  let b = base % primeBig
  let e = exponent
  while (e > 0n) {
    if (e & 1n) result = (result * b) % primeBig
    b = (b * b) % primeBig
    e >>= 1n
  }
  return result
}

export const keyPair = (privateKey: Uint8Array = randomBytes(20)): KeyPair => {
  const x = toBig(privateKey)
  const publicKey = toBytes(modPow(2n, x))
  return {
    publicKey,
    secret: (theirs) => {
      const y = toBig(theirs.subarray(0, keyLength))
      // 0, 1 and P-1 would make S known to anyone; P and above are no key at all.
      if (y <= 1n || y >= primeBig - 1n) return undefined
      return toBytes(modPow(y, x))
    }
  }
}

/** The two RC4 streams of a connection as seen from one side. */
export const streams = (secret: Uint8Array, infoHash: Uint8Array, initiator: boolean): { readonly encrypt: Rc4; readonly decrypt: Rc4 } => {
  const a = new Rc4(sha1("keyA", secret, infoHash), discard)
  const b = new Rc4(sha1("keyB", secret, infoHash), discard)
  return initiator ? { encrypt: a, decrypt: b } : { encrypt: b, decrypt: a }
}

/** How a handshake ended well. */
export interface Outcome {
  /** CryptoRc4 or CryptoPlaintext: how the payload goes from here on. */
  readonly method: number
  readonly infoHash: Uint8Array
  /** For the payload, with RC4; undefined in plaintext. */
  readonly encrypt: Rc4 | undefined
  readonly decrypt: Rc4 | undefined
  /** The payload received so far, plaintext (the initial payload, then what followed the handshake). */
  readonly received: Uint8Array
}

/** What one `push` asks: bytes to write (in order), and either nothing more, the end, or an error. */
export interface Step {
  readonly write: ReadonlyArray<Uint8Array>
  readonly done?: Outcome
  readonly error?: string
}

export interface Machine {
  /** What to send first. */
  readonly start: () => Step
  /** The next bytes received (only read during the call). After `done` or `error`, nothing more. */
  readonly push: (chunk: Uint8Array) => Step
}

export interface MachineOptions {
  readonly random?: (n: number) => Uint8Array
  readonly privateKey?: Uint8Array
}

const randomPad = (random: (n: number) => Uint8Array): Uint8Array => {
  const [hi, lo] = random(2)
  return random(((hi! << 8) | lo!) % (maxPad + 1))
}

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  if (a.length === 0) return Uint8Array.prototype.slice.call(b)
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/** The first index of `needle` in `hay`, or -1. */
export const indexOf = (hay: Uint8Array, needle: Uint8Array): number => {
  const last = hay.length - needle.length
  const first = needle[0]!
  outer: for (let i = 0; i <= last; i++) {
    if (hay[i] !== first) continue
    for (let k = 1; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer
    return i
  }
  return -1
}

const readU16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!
const readU32 = (b: Uint8Array, at: number) => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0

/**
 * A buffer of what arrived and is not yet consumed, with the stage that waits on it. A stage reads only
 * what it needs; each stage bounds what may wait, so `held` stays small.
 */
class Input {
  held: Uint8Array = new Uint8Array(0)
  add(chunk: Uint8Array) {
    this.held = concat(this.held, chunk)
  }
  take(n: number): Uint8Array {
    const out = this.held.subarray(0, n)
    this.held = this.held.subarray(n)
    return out
  }
}

const nothing: Step = { write: [] }
const failed = (error: string): Step => ({ write: [], error })

/** The bounded search of both sides: where `marker` ends within the first `limit` bytes held, "wait"
 *  while fewer than `limit` are held, "past" once `limit` are held without it. */
const endWithin = (held: Uint8Array, marker: Uint8Array, limit: number): number | "wait" | "past" => {
  const at = indexOf(held.subarray(0, limit), marker)
  if (at >= 0) return at + marker.length
  return held.length >= limit ? "past" : "wait"
}

/** The side that dials: provides RC4 (and plaintext too unless `require`). */
export const initiator = (infoHash: Uint8Array, policy: "prefer" | "require", options: MachineOptions = {}): Machine => {
  const random = options.random ?? ((n: number) => new Uint8Array(randomBytes(n)))
  const keys = keyPair(options.privateKey ?? random(20))
  const provide = policy === "require" ? CryptoRc4 : CryptoRc4 | CryptoPlaintext
  const input = new Input()
  let stage: "yb" | "vc" | "select" | "padD" | "over" = "yb"
  let decrypt: Rc4 | undefined
  let encrypt: Rc4 | undefined
  let encryptedVc: Uint8Array | undefined
  let select = 0
  let padD = 0

  const afterYb = (yb: Uint8Array): Step => {
    const secret = keys.secret(yb)
    if (secret === undefined) return failed("the peer's public key is not a valid one")
    const s = streams(secret, infoHash, true)
    encrypt = s.encrypt
    decrypt = s.decrypt
    encryptedVc = new Uint8Array(8)
    decrypt.apply(encryptedVc)
    // VC, crypto_provide, len(PadC) = 0, len(IA) = 0: our handshake follows as payload.
    const plain = new Uint8Array(8 + 4 + 2 + 2)
    plain[11] = provide
    encrypt.apply(plain)
    const req = new Uint8Array(40 + plain.length)
    req.set(sha1("req1", secret))
    req.set(xor20(req2(infoHash), sha1("req3", secret)), 20)
    req.set(plain, 40)
    return { write: [req] }
  }

  const advance = (): Step => {
    const writes: Array<Uint8Array> = []
    while (true) {
      const held = input.held
      switch (stage) {
        case "yb": {
          if (held.length < keyLength) return { write: writes }
          const step = afterYb(input.take(keyLength))
          if (step.error !== undefined) return step
          writes.push(...step.write)
          stage = "vc"
          break
        }
        case "vc": {
          const end = endWithin(held, encryptedVc!, maxVcSearch)
          if (end === "past") return failed(`no encryption verification within ${maxVcSearch} bytes`)
          if (end === "wait") return { write: writes }
          input.take(end)
          stage = "select"
          break
        }
        case "select": {
          if (held.length < 6) return { write: writes }
          const fields = Uint8Array.prototype.slice.call(input.take(6))
          decrypt!.apply(fields)
          select = readU32(fields, 0)
          padD = readU16(fields, 4)
          if (select !== CryptoRc4 && select !== CryptoPlaintext) return failed(`the peer selected crypto ${select}`)
          if ((select & provide) === 0) return failed("the peer selected plaintext; we require encryption")
          if (padD > maxPad) return failed(`PadD of ${padD} bytes`)
          stage = "padD"
          break
        }
        case "padD": {
          if (held.length < padD) return { write: writes }
          decrypt!.skip(padD)
          input.take(padD)
          stage = "over"
          const received = Uint8Array.prototype.slice.call(input.take(input.held.length))
          const rc4 = select === CryptoRc4
          if (rc4) decrypt!.apply(received)
          return { write: writes, done: { method: select, infoHash, encrypt: rc4 ? encrypt : undefined, decrypt: rc4 ? decrypt : undefined, received } }
        }
        case "over":
          return nothing
      }
    }
  }

  return {
    start: () => ({ write: [concat(keys.publicKey, randomPad(random))] }),
    push: (chunk) => {
      if (stage === "over") return nothing
      input.add(chunk)
      const step = advance()
      if (step.error !== undefined) stage = "over"
      return step
    }
  }
}

export interface ResponderOptions extends MachineOptions {
  /** The info hash whose HASH('req2', ·) this is (Mse.req2), if we serve it. */
  readonly find: (req2: Uint8Array) => Uint8Array | undefined
  /** MSE preferred (RC4 chosen when offered, else plaintext), or required (RC4 or nothing). */
  readonly policy: "prefer" | "require"
}

/** The side that answers a connection whose first bytes were not a plaintext handshake. */
export const responder = (options: ResponderOptions): Machine => {
  const random = options.random ?? ((n: number) => new Uint8Array(randomBytes(n)))
  const keys = keyPair(options.privateKey ?? random(20))
  const input = new Input()
  let stage: "ya" | "req1" | "req23" | "vc" | "padC" | "ia" | "over" = "ya"
  let secret: Uint8Array | undefined
  let req1: Uint8Array | undefined
  let infoHash: Uint8Array | undefined
  let decrypt: Rc4 | undefined
  let encrypt: Rc4 | undefined
  let select = 0
  let padC = 0
  let ia = 0

  const advance = (): Step => {
    const writes: Array<Uint8Array> = []
    while (true) {
      const held = input.held
      switch (stage) {
        case "ya": {
          if (held.length < keyLength) return { write: writes }
          secret = keys.secret(input.take(keyLength))
          if (secret === undefined) return failed("the peer's public key is not a valid one")
          req1 = sha1("req1", secret)
          writes.push(concat(keys.publicKey, randomPad(random)))
          stage = "req1"
          break
        }
        case "req1": {
          const end = endWithin(held, req1!, maxReq1Search)
          if (end === "past") return failed(`no encryption request within ${maxReq1Search} bytes`)
          if (end === "wait") return { write: writes }
          input.take(end)
          stage = "req23"
          break
        }
        case "req23": {
          if (held.length < 20) return { write: writes }
          infoHash = options.find(xor20(input.take(20), sha1("req3", secret!)))
          if (infoHash === undefined) return failed("an encrypted handshake for a torrent we do not serve")
          const s = streams(secret!, infoHash, false)
          encrypt = s.encrypt
          decrypt = s.decrypt
          stage = "vc"
          break
        }
        case "vc": {
          if (held.length < 14) return { write: writes }
          const fields = Uint8Array.prototype.slice.call(input.take(14))
          decrypt!.apply(fields)
          for (let i = 0; i < 8; i++) if (fields[i] !== 0) return failed("a wrong verification constant")
          const provide = readU32(fields, 8)
          padC = readU16(fields, 12)
          if (padC > maxPad) return failed(`PadC of ${padC} bytes`)
          // `prefer` keeps the payload in plaintext when the peer allows it (the handshake, info hash
          // included, is obfuscated all the same), as libtorrent does by default (prefer_rc4 off): RC4 on
          // every byte would cost both sides a core's worth of work at loopback speeds. `require` takes RC4.
          select = options.policy === "prefer"
            ? (provide & CryptoPlaintext ? CryptoPlaintext : provide & CryptoRc4 ? CryptoRc4 : 0)
            : (provide & CryptoRc4 ? CryptoRc4 : 0)
          if (select === 0) return failed(`the peer provides crypto ${provide}, none we accept`)
          stage = "padC"
          break
        }
        case "padC": {
          if (held.length < padC + 2) return { write: writes }
          decrypt!.skip(padC)
          input.take(padC)
          const length = Uint8Array.prototype.slice.call(input.take(2))
          decrypt!.apply(length)
          ia = readU16(length, 0)
          if (ia > maxInitialPayload) return failed(`an initial payload of ${ia} bytes`)
          stage = "ia"
          break
        }
        case "ia": {
          if (held.length < ia) return { write: writes }
          const initial = Uint8Array.prototype.slice.call(input.take(ia))
          decrypt!.apply(initial)
          const rest = Uint8Array.prototype.slice.call(input.take(input.held.length))
          const rc4 = select === CryptoRc4
          if (rc4) decrypt!.apply(rest)
          // VC, crypto_select, len(PadD) = 0.
          const answer = new Uint8Array(8 + 4 + 2)
          answer[11] = select
          encrypt!.apply(answer)
          writes.push(answer)
          stage = "over"
          return {
            write: writes,
            done: { method: select, infoHash: infoHash!, encrypt: rc4 ? encrypt : undefined, decrypt: rc4 ? decrypt : undefined, received: concat(initial, rest) }
          }
        }
        case "over":
          return nothing
      }
    }
  }

  return {
    start: () => nothing,
    push: (chunk) => {
      if (stage === "over") return nothing
      input.add(chunk)
      const step = advance()
      if (step.error !== undefined) stage = "over"
      return step
    }
  }
}

const plaintextStart = new Uint8Array(Buffer.from("\x13BitTorrent protocol", "latin1"))

/**
 * What an inbound connection's first bytes are: a plaintext handshake (19, then "BitTorrent protocol"),
 * anything else MSE's Ya; undefined while too few bytes have come to tell.
 */
export const classify = (prefix: Uint8Array): "plaintext" | "encrypted" | undefined => {
  const n = Math.min(prefix.length, plaintextStart.length)
  for (let i = 0; i < n; i++) if (prefix[i] !== plaintextStart[i]) return "encrypted"
  return n === plaintextStart.length ? "plaintext" : undefined
}

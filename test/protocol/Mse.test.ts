/**
 * Message Stream Encryption's pure parts (src/protocol/Rc4.ts, src/protocol/Mse.ts): RC4 against its
 * published test vectors, and the two handshake machines talking to each other in every chunking, finding
 * the torrent by its obfuscated hash, choosing what the policies allow, and ending a stream that is not
 * a handshake within the spec's bounds.
 */
import { describe, expect, it } from "@effect/vitest"
import { createDiffieHellman, createHash } from "node:crypto"
import * as Mse from "../../src/protocol/Mse.js"
import { Rc4 } from "../../src/protocol/Rc4.js"

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const bytes = (s: string) => new Uint8Array(Buffer.from(s, "latin1"))
const infoHash = new Uint8Array(createHash("sha1").update("torrent").digest())
const otherHash = new Uint8Array(createHash("sha1").update("other").digest())

/** A deterministic source of "random" bytes. */
const seeded = (seed: number) => (n: number) => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0
    out[i] = seed >>> 24
  }
  return out
}

const finder = (...hashes: ReadonlyArray<Uint8Array>) => {
  const byReq2 = new Map(hashes.map((h) => [hex(Mse.req2(h)), h]))
  return (req2: Uint8Array) => byReq2.get(hex(req2))
}

/** Sends each step's bytes to the other machine in chunks of `size`, until both are done or one fails. */
const converse = (a: Mse.Machine, b: Mse.Machine, size: number, afterA: Uint8Array = new Uint8Array(0)) => {
  const toB: Array<Uint8Array> = [...a.start().write]
  const toA: Array<Uint8Array> = [...b.start().write]
  let doneA: Mse.Outcome | undefined
  let doneB: Mse.Outcome | undefined
  let error: string | undefined
  const feed = (m: Mse.Machine, queue: Array<Uint8Array>, out: Array<Uint8Array>) => {
    const all = Buffer.concat(queue.splice(0))
    let result: Mse.Outcome | undefined
    for (let i = 0; i < all.length; i += size) {
      const step = m.push(all.subarray(i, i + size))
      out.push(...step.write)
      if (step.error !== undefined) error = step.error
      if (step.done !== undefined) result = step.done
    }
    return result
  }
  for (let round = 0; round < 10 && error === undefined && (doneA === undefined || doneB === undefined); round++) {
    doneB ??= feed(b, toB, toA)
    doneA ??= feed(a, toA, toB)
    if (doneA !== undefined && afterA.length > 0) {
      toB.push(Uint8Array.from(afterA))
      afterA = new Uint8Array(0)
    }
  }
  return { doneA, doneB, error }
}

describe("Rc4", () => {
  it("matches the published test vectors", () => {
    const vector = (key: string, plain: string) => {
      const data = bytes(plain)
      new Rc4(bytes(key)).apply(data)
      return hex(data)
    }
    expect(vector("Key", "Plaintext")).toBe("bbf316e8d940af0ad3")
    expect(vector("Wiki", "pedia")).toBe("1021bf0420")
    expect(vector("Secret", "Attack at dawn")).toBe("45a01f645fc35b383552544b9bf5")
  })

  it("gives the same stream in pieces, into another buffer, or after skipping", () => {
    const data = seeded(1)(5000)
    const whole = Uint8Array.from(data)
    new Rc4(bytes("k"), 1024).apply(whole)
    const pieces = Uint8Array.from(data)
    const rc4 = new Rc4(bytes("k"), 1024)
    for (let i = 0; i < 5000; i += 333) rc4.apply(pieces, i, Math.min(5000, i + 333))
    expect(hex(pieces)).toBe(hex(whole))
    const into = new Uint8Array(5000)
    new Rc4(bytes("k"), 1024).applyTo(data, 0, 5000, into, 0)
    expect(hex(into)).toBe(hex(whole))
    const skipped = new Rc4(bytes("k"))
    skipped.skip(1024)
    const again = Uint8Array.from(data)
    skipped.apply(again)
    expect(hex(again)).toBe(hex(whole))
    expect(hex(data)).not.toBe(hex(whole))
  })
})

describe("Mse handshake", () => {
  for (const size of [1, 7, 97, 4096]) {
    it(`agrees on RC4 and finds the torrent, in chunks of ${size}`, () => {
      const a = Mse.initiator(infoHash, "require", { random: seeded(size) })
      const b = Mse.responder({ policy: "prefer", find: finder(otherHash, infoHash), random: seeded(size + 1) })
      const { doneA, doneB, error } = converse(a, b, size)
      expect(error).toBeUndefined()
      expect(doneA?.method).toBe(Mse.CryptoRc4)
      expect(doneB?.method).toBe(Mse.CryptoRc4)
      expect(hex(doneB!.infoHash)).toBe(hex(infoHash))
      // The payload each way decrypts on the other side.
      const message = bytes("\x13BitTorrent protocol and what follows")
      const sent = Uint8Array.from(message)
      doneA!.encrypt!.apply(sent)
      expect(hex(sent)).not.toBe(hex(message))
      doneB!.decrypt!.apply(sent)
      expect(hex(sent)).toBe(hex(message))
      const back = Uint8Array.from(message)
      doneB!.encrypt!.apply(back)
      doneA!.decrypt!.apply(back)
      expect(hex(back)).toBe(hex(message))
    })
  }

  it("hands on, decrypted, the payload that came in the same chunk as the handshake", () => {
    const a = Mse.initiator(infoHash, "require", { random: seeded(5) })
    const b = Mse.responder({ policy: "require", find: finder(infoHash), random: seeded(6) })
    // The initiator's step 3 and its first payload bytes travel together: hold step 3 back and add them.
    const toB = [...a.start().write]
    const yb = b.push(Buffer.concat(toB)).write
    const step3 = a.push(Buffer.concat(yb))
    expect(step3.write.length).toBe(1)
    // a is not done yet (it waits for B's answer), but its encrypt stream is set: peek via a second pair.
    const done = b.push(step3.write[0]!)
    expect(done.done?.method).toBe(Mse.CryptoRc4)
    expect(done.done?.received.length).toBe(0)
    const final = a.push(Buffer.concat(done.write))
    expect(final.done?.method).toBe(Mse.CryptoRc4)
    const payload = bytes("hello peer")
    const wire = Uint8Array.from(payload)
    final.done!.encrypt!.apply(wire)
    done.done!.decrypt!.apply(wire)
    expect(Buffer.from(wire).toString()).toBe("hello peer")
  })

  it("offered both, prefer keeps the payload plaintext (as libtorrent by default) and require takes RC4", () => {
    const offerBoth = (policy: "prefer" | "require") => {
      const a = Mse.initiator(infoHash, "prefer", { random: seeded(9) })
      const b = Mse.responder({ policy, find: finder(infoHash), random: seeded(10) })
      return converse(a, b, 50)
    }
    const preferred = offerBoth("prefer")
    expect(preferred.doneB?.method).toBe(Mse.CryptoPlaintext)
    expect(preferred.doneA?.method).toBe(Mse.CryptoPlaintext)
    expect(preferred.doneA?.encrypt).toBeUndefined()
    expect(offerBoth("require").doneB?.method).toBe(Mse.CryptoRc4)
  })

  it("refuses a torrent it does not serve", () => {
    const a = Mse.initiator(infoHash, "prefer", { random: seeded(2) })
    const b = Mse.responder({ policy: "prefer", find: finder(otherHash), random: seeded(3) })
    expect(converse(a, b, 64).error).toMatch(/torrent we do not serve/)
  })

  it("ends a garbage stream within the bounds on both sides", () => {
    const garbage = seeded(77)(5000)
    // The responder: Ya, then no req1 within maxReq1Search bytes.
    const b = Mse.responder({ policy: "prefer", find: finder(infoHash), random: seeded(4) })
    let fed = 0
    let error: string | undefined
    for (let i = 0; i < garbage.length && error === undefined; i += 10) {
      const step = b.push(garbage.subarray(i, i + 10))
      fed += 10
      error = step.error
    }
    expect(error).toMatch(/no encryption request within 628 bytes|public key/)
    expect(fed).toBeLessThanOrEqual(Mse.keyLength + Mse.maxReq1Search + 10)
    // The initiator: Yb, then no VC within maxVcSearch bytes.
    const a = Mse.initiator(infoHash, "prefer", { random: seeded(8) })
    a.start()
    fed = 0
    error = undefined
    for (let i = 0; i < garbage.length && error === undefined; i += 10) {
      const step = a.push(garbage.subarray(i, i + 10))
      fed += 10
      error = step.error
    }
    expect(error).toMatch(/no encryption verification within 616 bytes|public key/)
    expect(fed).toBeLessThanOrEqual(Mse.keyLength + Mse.maxVcSearch + 10)
  })

  it("computes the keys as OpenSSL's Diffie-Hellman does", () => {
    for (const seed of [1, 2, 3]) {
      const ours = seeded(seed)(20)
      const theirs = seeded(seed + 100)(20)
      const openssl = createDiffieHellman(Mse.prime, 2)
      openssl.setPrivateKey(Buffer.from(ours))
      openssl.generateKeys()
      const mine = Mse.keyPair(ours)
      expect(hex(mine.publicKey)).toBe(openssl.getPublicKey("hex").padStart(192, "0"))
      const other = Mse.keyPair(theirs)
      expect(hex(mine.secret(other.publicKey)!)).toBe(openssl.computeSecret(Buffer.from(other.publicKey)).toString("hex").padStart(192, "0"))
      expect(hex(other.secret(mine.publicKey)!)).toBe(hex(mine.secret(other.publicKey)!))
    }
  })

  it("refuses public keys that are not ones", () => {
    const b = Mse.responder({ policy: "prefer", find: finder(infoHash) })
    const one = new Uint8Array(96)
    one[95] = 1
    expect(b.push(one).error).toMatch(/public key/)
    const a = Mse.initiator(infoHash, "prefer")
    a.start()
    expect(a.push(Uint8Array.from(Mse.prime)).error).toMatch(/public key/)
  })
})

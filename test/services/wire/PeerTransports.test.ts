/**
 * TCP and uTP behind one PeerNetwork (src/services/wire/PeerTransports.ts), on real sockets on loopback
 * (each peer its own 127.0.0.x): listening takes the same port number on TCP and UDP; a dial goes over
 * TCP to a peer that has no uTP, falls back to uTP when TCP is refused, tries uTP first after a peer
 * closed a TCP connection without a byte (a uTP-only libtorrent) or when PEX said it speaks uTP; `tcp:
 * false` listens and dials over uTP only; a UDP port already taken turns uTP off with a warning while TCP
 * works.
 */
import { describe, expect, it } from "@effect/vitest"
import * as dgram from "node:dgram"
import * as Net from "node:net"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { PeerAddress } from "../../../src/domain/PeerAddress.js"
import type { Connection, PeerNetworkService } from "../../../src/services/wire/PeerNetwork.js"
import * as PeerTransports from "../../../src/services/wire/PeerTransports.js"
import * as TcpNetwork from "../../../src/services/wire/TcpNetwork.js"
import * as UdpDatagram from "../../../src/services/wire/UdpDatagram.js"

/** A peer on `host`: its own TCP and UDP, as one program has them. */
const peer = (host: string, transports: PeerTransports.Transports = PeerTransports.bothTransports) =>
  Effect.gen(function*() {
    const tcp = yield* TcpNetwork.make
    return yield* PeerTransports.make(tcp, transports, { ipv4: host })
  }).pipe(Effect.provide(Layer.fresh(UdpDatagram.layer)))

/** Listens and answers every connection with "hello over <transport>", then closes it. */
const greeter = (network: PeerNetworkService) =>
  network.listen({ port: 0 }, (c) =>
    Effect.zipRight(c.write([new TextEncoder().encode(`hello over ${c.transport ?? "tcp"}`)]), Effect.sleep("200 millis")).pipe(Effect.ignore))

/** What a dialled connection says first. */
const firstWords = (connection: Connection) =>
  Effect.async<string>((resume) => {
    let text = ""
    Effect.runFork(connection.run((chunk) => {
      text += new TextDecoder().decode(chunk)
      if (text.length >= 14) resume(Effect.succeed(text))
    }))
  }).pipe(Effect.timeout("5 seconds"))

const accepts = (host: string, port: number) =>
  Effect.async<boolean>((resume) => {
    const socket = Net.createConnection({ host, port })
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(true))
    })
    socket.once("error", () => resume(Effect.succeed(false)))
  })

describe("PeerTransports", () => {
  it.live("dials TCP first; falls back to uTP when TCP is refused (a peer with uTP only)", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const both = yield* peer("127.0.0.2")
        const { port } = yield* greeter(both)
        const utpOnly = yield* peer("127.0.0.3", { utp: true, tcp: false })
        const listening = yield* greeter(utpOnly)
        expect(yield* accepts("127.0.0.3", listening.port)).toBe(false)
        const me = yield* peer("127.0.0.4")
        yield* me.listen({ port: 0 }, (c) => c.close)
        const toBoth = yield* me.connect(new PeerAddress({ host: "127.0.0.2", port }))
        expect(toBoth.transport).toBeUndefined()
        expect(yield* firstWords(toBoth)).toBe("hello over tcp")
        const toUtp = yield* me.connect(new PeerAddress({ host: "127.0.0.3", port: listening.port }))
        expect(toUtp.transport).toBe("utp")
        expect(yield* firstWords(toUtp)).toBe("hello over utp")
      })
    ).pipe(Effect.timeout("20 seconds")))

  it.live("after a peer closed TCP without a byte, and when PEX said it speaks uTP, uTP goes first", () =>
    Effect.scoped(
      Effect.gen(function*() {
        // uTP listening, and a TCP server on the same port that accepts and closes at once, as a
        // libtorrent with incoming TCP turned off does.
        const utpOnly = yield* peer("127.0.0.5", { utp: true, tcp: false })
        const { port } = yield* greeter(utpOnly)
        const closer = Net.createServer((s) => s.destroy())
        yield* Effect.acquireRelease(
          Effect.async<void>((resume) => void closer.listen(port, "127.0.0.5", () => resume(Effect.void))),
          () => Effect.async<void>((resume) => void closer.close(() => resume(Effect.void)))
        )
        const me = yield* peer("127.0.0.6")
        yield* me.listen({ port: 0 }, (c) => c.close)
        const address = new PeerAddress({ host: "127.0.0.5", port })
        const first = yield* me.connect(address)
        expect(first.transport).toBeUndefined()
        // The TCP connection ends before a byte arrives.
        yield* first.run(() => {}).pipe(Effect.ignore, Effect.timeout("5 seconds"))
        const second = yield* me.connect(address)
        expect(second.transport).toBe("utp")
        expect(yield* firstWords(second)).toBe("hello over utp")

        // A fresh program told by PEX that the peer speaks uTP dials it over uTP at once.
        const other = yield* peer("127.0.0.7")
        yield* other.listen({ port: 0 }, (c) => c.close)
        other.speaksUtp!(address)
        expect((yield* other.connect(address)).transport).toBe("utp")
      })
    ).pipe(Effect.timeout("20 seconds")))

  it.live("a UDP port already taken turns uTP off with a warning; TCP still listens", () =>
    Effect.gen(function*() {
      const taken = dgram.createSocket("udp4")
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void taken.bind(0, "127.0.0.8", () => resume(Effect.void))),
        () => Effect.sync(() => taken.close())
      )
      const port = taken.address().port
      const warnings: Array<string> = []
      const logger = Logger.make(({ message }) => void warnings.push(String(message)))
      const network = yield* peer("127.0.0.8")
      const listening = yield* network.listen({ port }, (c) => c.close).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      expect(listening.port).toBe(port)
      expect(yield* accepts("127.0.0.8", port)).toBe(true)
      expect(warnings.join("\n")).toMatch(/^uTP off: .*in use/)
    }).pipe(Effect.scoped, Effect.timeout("10 seconds")))
})

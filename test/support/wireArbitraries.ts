/** fast-check arbitraries for wire messages, shared by the codec and framing tests. */
import * as FastCheck from "effect/FastCheck"
import * as Message from "../../src/protocol/Message.js"

export const u32 = FastCheck.oneof(
  FastCheck.integer({ min: 0, max: 0xffff_ffff }),
  FastCheck.constantFrom(0, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff)
)

/** Small random arrays, or large patterned ones (up to a 16 KiB block), which fast-check builds quickly. */
export const bytes = (max: number) =>
  FastCheck.oneof(
    FastCheck.uint8Array({ maxLength: 64 }),
    FastCheck.tuple(FastCheck.integer({ min: 0, max }), FastCheck.integer({ min: 0, max: 255 })).map(([n, seed]) =>
      Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)
    )
  )

/** Any message, with byte payloads up to the given sizes. */
export const message = (sizes: { readonly bitfield: number; readonly extended: number } = { bitfield: 4096, extended: 2048 }) =>
  FastCheck.oneof(
    FastCheck.constantFrom<Message.Message>(
      Message.keepAlive,
      Message.choke,
      Message.unchoke,
      Message.interested,
      Message.notInterested,
      Message.haveAll,
      Message.haveNone
    ),
    u32.map(Message.have),
    bytes(sizes.bitfield).map(Message.bitfield),
    FastCheck.tuple(u32, u32, u32).map(([i, b, l]) => Message.request(i, b, l)),
    FastCheck.tuple(u32, u32, bytes(16384)).map(([i, b, block]) => Message.piece(i, b, block)),
    FastCheck.tuple(u32, u32, u32).map(([i, b, l]) => Message.cancel(i, b, l)),
    FastCheck.integer({ min: 0, max: 0xffff }).map(Message.port),
    u32.map(Message.suggest),
    FastCheck.tuple(u32, u32, u32).map(([i, b, l]) => Message.reject(i, b, l)),
    u32.map(Message.allowedFast),
    FastCheck.tuple(FastCheck.integer({ min: 0, max: 255 }), bytes(sizes.extended)).map(([id, p]) => Message.extended(id, p))
  ) as FastCheck.Arbitrary<Message.Message>

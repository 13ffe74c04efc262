/**
 * Peer ids (20 bytes). Ours follow the Azureus style `-EF0100-` followed by 12 random characters, so that
 * other clients and trackers can tell what we are. "EF" is in neither libtorrent's client table
 * (identify_client.cpp) nor Transmission's (clients.cc), so they show it as an unknown code with our
 * version rather than as another client's name: "BE", which we used first, is BareTorrent to libtorrent and
 * the BitTorrent SDK to Transmission. Clients that read BEP 10's `v` show "bt-effect 0.1.0" from there.
 */
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"

export const PeerId = Schema.Uint8ArrayFromSelf.pipe(
  Schema.filter((u) => u.length === 20, { message: () => "a peer id is 20 bytes" }),
  Schema.brand("PeerId")
)
export type PeerId = typeof PeerId.Type

/** The client prefix: bt-effect 0.1.0. */
export const clientPrefix = "-EF0100-"

const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

/** A peer id from 12 random bytes (the caller supplies randomness, so this stays pure). */
export const make = (random: Uint8Array): PeerId => {
  const out = new Uint8Array(20)
  for (let i = 0; i < 8; i++) out[i] = clientPrefix.charCodeAt(i)
  for (let i = 0; i < 12; i++) out[8 + i] = alphabet.charCodeAt((random[i] ?? 0) % alphabet.length)
  return PeerId.make(out)
}

/** Our peer id for a run: the client prefix and 12 random characters. */
export const randomPeerId = Effect.map(
  Effect.all(Array.from({ length: 12 }, () => Random.nextIntBetween(0, 256))),
  (bytes) => make(Uint8Array.from(bytes))
)

const azureusClients: Record<string, string> = {
  EF: "bt-effect",
  TR: "Transmission",
  qB: "qBittorrent",
  LT: "libtorrent",
  lt: "rTorrent",
  UT: "µTorrent",
  DE: "Deluge",
  AZ: "Vuze",
  WW: "WebTorrent",
  BI: "BiglyBT"
}

/** The client a peer id names, for display ("Transmission 3.00", "aria2 1.36.0"), or "unknown". */
export const clientName = (peerId: Uint8Array): string => {
  const text = Buffer.from(peerId.subarray(0, 12)).toString("latin1")
  const azureus = /^-([A-Za-z]{2})([0-9A-Za-z]{4})-/.exec(text)
  if (azureus !== null) {
    const [, code, version] = azureus
    return `${azureusClients[code!] ?? code} ${version!.replace(/^(.)(.)(.)(.)$/, "$1.$2.$3.$4").replace(/(\.0)+$/, "")}`
  }
  const aria2 = /^A2-(\d+)-(\d+)-(\d+)-/.exec(text)
  if (aria2 !== null) return `aria2 ${aria2[1]}.${aria2[2]}.${aria2[3]}`
  const mainline = /^([A-Z])(\d+)-(\d+)-(\d+)-/.exec(text)
  if (mainline !== null) return `${mainline[1] === "M" ? "BitTorrent" : mainline[1]} ${mainline[2]}.${mainline[3]}.${mainline[4]}`
  return "unknown"
}

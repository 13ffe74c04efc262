/**
 * PEX's flags for the peers we tell others of (torrent/PeerDiscovery.ts pexPeers): 0x01 for a peer whose
 * connection with us is encrypted (MSE with RC4), 0x02 for a seed, neither for a plaintext leecher.
 */
import { describe, expect, it } from "@effect/vitest"
import { PeerAddress } from "../../../src/domain/PeerAddress.js"
import * as Pex from "../../../src/protocol/Pex.js"
import type { PeerInfo, PeerLink } from "../../../src/services/peer/PeerContext.js"
import { pexPeers } from "../../../src/services/torrent/PeerDiscovery.js"

/** The two parts of a link pexPeers reads (where the peer listens, whether it is a seed), and `encrypted`. */
const link = (port: number, isSeed: boolean, encrypted: boolean | undefined): PeerLink =>
  ({
    key: `10.0.0.1:${port}`,
    listenAddress: () => new PeerAddress({ host: "10.0.0.1", port }),
    info: () => ({ isSeed }) as PeerInfo,
    ...(encrypted === undefined ? {} : { encrypted })
  }) as unknown as PeerLink

describe("PEX flags", () => {
  it("marks peers that completed MSE with us, and seeds", () => {
    const peers = pexPeers([link(1, false, true), link(2, true, undefined), link(3, true, true), link(4, false, false)], 0)
    expect(peers.map((p) => [p.address.port, p.flags])).toEqual([
      [1, Pex.Flags.PrefersEncryption],
      [2, Pex.Flags.Seed],
      [3, Pex.Flags.PrefersEncryption | Pex.Flags.Seed],
      [4, 0]
    ])
  })
})

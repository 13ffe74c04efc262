/**
 * What the end of a session means for its peer's address (PeerCandidates.ts): never dialled again (it
 * broke the protocol, it was banned, it was ourselves), dialled again after the retry delay, or, when the
 * peer closed or the connection broke while the peer had pieces we want, dialled again as soon as no
 * connected peer has pieces we want: a download never waits out a retry delay (30 s) for a peer it knows
 * has its blocks (a `bt-effect demo` downloader was seen at 99.8% with no peer for 28 s, about that delay).
 *
 * The session's link tells what the peer had (`leaving`, called as the session detaches); the dialer
 * reports how the session ended (`ended`), after that. A peer that stays but has nothing more we want
 * strands us as much as one that leaves (`stranded`).
 */
import type { NetworkError, PeerError } from "../../domain/Errors.js"
import type { PeerAddress } from "../../domain/PeerAddress.js"
import type { PeerLink } from "../peer/PeerContext.js"
import type { Picker } from "../pieces/PiecePicker.js"
import type { PeerCandidates } from "./PeerCandidates.js"
import type { Swarm } from "./Swarm.js"

/** Ends that are the peer's fault for good: its address is never dialled again. */
const deadly = new Set(["Self", "Banned", "Protocol", "Handshake"])

export class Departures {
  /** Sessions that ended while their peer had pieces we want, by key, until the dialer reports the end:
   *  where the peer listens, and whether it sent blocks. */
  readonly #leaving = new Map<string, { readonly address: PeerAddress; readonly delivered: boolean }>()

  constructor(
    private readonly candidates: PeerCandidates,
    private readonly swarm: Swarm,
    private readonly picker: Picker
  ) {}

  /** A session detaches (its link still in the swarm). Its peer is worth coming back to if it has pieces
   *  we want, or had not said what it has: it may have refused us as a duplicate of a connection of ours
   *  that broke on our side only. */
  leaving(link: PeerLink, now: number): void {
    if (this.picker.isComplete) return
    const info = link.info(now)
    const address = link.listenAddress()
    if (address !== undefined && (info.amInterested || !link.told())) {
      this.#leaving.set(link.key, { address, delivered: info.downloaded > 0 })
    }
  }

  /** The session of `key` was interrupted (dropped, the torrent stopped): its end says nothing. */
  forget(key: string): void {
    this.#leaving.delete(key)
  }

  /** The session of `key` (or the dial) ended with `error`. */
  ended(key: string, error: PeerError | NetworkError, now: number, inUse: (key: string) => boolean): void {
    const left = this.#leaving.get(key)
    this.#leaving.delete(key)
    const noFault = error._tag === "NetworkError" || error.reason === "Closed"
    if (left !== undefined && noFault) this.candidates.left(left.address, now, left.delivered, inUse)
    else this.candidates.failed(key, now, error._tag === "PeerError" && deadly.has(error.reason))
    this.stranded(now)
  }

  /** Peers may no longer have pieces we want (one left, or has nothing more for us): if none has, those
   *  that left while they had are due again. Whether any was. */
  stranded(now: number): boolean {
    if (this.picker.isComplete || this.#wanting(now)) return false
    return this.candidates.returnNow(now)
  }

  /** Whether a connected peer has pieces we want (then we wait on it, not on a timer). */
  #wanting(now: number): boolean {
    for (const link of this.swarm.links()) if (link.info(now).amInterested) return true
    return false
  }
}

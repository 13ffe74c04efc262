/**
 * BEP 6 (Fast extension) messages counted both ways on one connection, for the session's debug summary.
 * Apart from PeerState so that the state machine keeps to its own work.
 */
const fastMessages = new Set(["HaveAll", "HaveNone", "Reject", "AllowedFast", "Suggest"])

export class FastTally {
  private readonly sent = new Map<string, number>()
  private readonly received = new Map<string, number>()

  /** A message of ours: counted. */
  out(tag: string): void {
    this.sent.set(tag, (this.sent.get(tag) ?? 0) + 1)
  }

  /** A message from the peer: counted when it is one of BEP 6's. */
  in(tag: string): void {
    if (fastMessages.has(tag)) this.received.set(tag, (this.received.get(tag) ?? 0) + 1)
  }

  /** "sent 1 HaveAll, 2 Reject; received none" */
  describe(): string {
    const show = (m: Map<string, number>) => (m.size === 0 ? "none" : [...m].map(([k, n]) => `${n} ${k}`).join(", "))
    return `sent ${show(this.sent)}; received ${show(this.received)}`
  }
}

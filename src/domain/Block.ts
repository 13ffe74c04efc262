/**
 * A block as peers ask for it (BEP 3 `request`: piece, offset, length), and the key by which the picker and
 * the torrent know a peer. Shared by the picker, the request pipeline and the peer's state.
 */

/** A peer, as `PeerAddress.format` of its address. */
export type PeerKey = string

export interface BlockRequest {
  readonly piece: number
  readonly offset: number
  readonly length: number
}

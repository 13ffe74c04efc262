/**
 * The tagged errors of the pure core. One class per boundary, each with a `reason` that says what went
 * wrong; the CLI turns `message` into its one line of error.
 */
import * as Schema from "effect/Schema"

export const BencodeErrorReason = Schema.Literal(
  "Empty",
  "Truncated",
  "UnexpectedByte",
  "LeadingZero",
  "NegativeZero",
  "PlusSign",
  "InvalidInteger",
  "InvalidLength",
  "LengthPastEnd",
  "NonStringKey",
  "DuplicateKey",
  "TrailingData",
  "TooDeep",
  "TooLarge",
  "TooManyTokens"
)
export type BencodeErrorReason = typeof BencodeErrorReason.Type

/** Bytes that are not strict bencode; `offset` is where the decoder stopped. */
export class BencodeError extends Schema.TaggedError<BencodeError>()("BencodeError", {
  reason: BencodeErrorReason,
  offset: Schema.Number,
  detail: Schema.String
}) {
  override get message(): string {
    return `invalid bencode at byte ${this.offset}: ${this.detail}`
  }
}

export const MetainfoErrorReason = Schema.Literal(
  "Unreadable",
  "Bencode",
  "MissingField",
  "InvalidField",
  "PieceCount",
  "Unsupported",
  "TooLarge"
)
export type MetainfoErrorReason = typeof MetainfoErrorReason.Type

/** A .torrent that is not a usable metainfo file. */
export class MetainfoError extends Schema.TaggedError<MetainfoError>()("MetainfoError", {
  reason: MetainfoErrorReason,
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

export const MagnetErrorReason = Schema.Literal("NotMagnet", "Escape", "InfoHash", "MissingInfoHash", "Parameter")
export type MagnetErrorReason = typeof MagnetErrorReason.Type

/** A magnet URI that cannot name a torrent. */
export class MagnetError extends Schema.TaggedError<MagnetError>()("MagnetError", {
  reason: MagnetErrorReason,
  detail: Schema.String
}) {
  override get message(): string {
    return `invalid magnet link: ${this.detail}`
  }
}

export const WireErrorReason = Schema.Literal(
  "Handshake",
  "TooLong",
  "UnknownMessage",
  "BadLength",
  "BadPayload"
)
export type WireErrorReason = typeof WireErrorReason.Type

/** Bytes from a peer that break the peer wire protocol. */
export class WireError extends Schema.TaggedError<WireError>()("WireError", {
  reason: WireErrorReason,
  detail: Schema.String
}) {
  override get message(): string {
    return `peer protocol violation: ${this.detail}`
  }
}

export const TrackerCodecErrorReason = Schema.Literal("Bencode", "Malformed", "Failure", "TooLarge")
export type TrackerCodecErrorReason = typeof TrackerCodecErrorReason.Type

/** A tracker response (HTTP or UDP) that cannot be understood, or that reports a failure. */
export class TrackerCodecError extends Schema.TaggedError<TrackerCodecError>()("TrackerCodecError", {
  reason: TrackerCodecErrorReason,
  detail: Schema.String
}) {
  override get message(): string {
    return this.reason === "Failure" ? `tracker failure: ${this.detail}` : `bad tracker response: ${this.detail}`
  }
}

export const KrpcErrorReason = Schema.Literal("Bencode", "Malformed", "TooLarge")
export type KrpcErrorReason = typeof KrpcErrorReason.Type

/**
 * A DHT datagram (BEP 5 KRPC) that cannot be understood. `transactionId` is set when the message's `t`
 * could be read, so that a malformed query can still be answered with error 203.
 */
export class KrpcError extends Schema.TaggedError<KrpcError>()("KrpcError", {
  reason: KrpcErrorReason,
  detail: Schema.String,
  transactionId: Schema.optional(Schema.Uint8ArrayFromSelf)
}) {
  override get message(): string {
    return `bad DHT message: ${this.detail}`
  }
}

// ---------------------------------------------------------------------------------------------------------
// Service boundaries

export const NetworkErrorReason = Schema.Literal("Connect", "Timeout", "Closed", "Listen", "Read", "Write", "Encryption")
export type NetworkErrorReason = typeof NetworkErrorReason.Type

/** A peer connection that could not be made or that broke. */
export class NetworkError extends Schema.TaggedError<NetworkError>()("NetworkError", {
  reason: NetworkErrorReason,
  address: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.address}: ${this.detail}`
  }
}

export const TrackerErrorReason = Schema.Literal("Unreachable", "Timeout", "Http", "Failure", "Malformed", "Unsupported")
export type TrackerErrorReason = typeof TrackerErrorReason.Type

/** An announce that did not give peers: the tracker could not be reached, refused, or answered nonsense. */
export class TrackerError extends Schema.TaggedError<TrackerError>()("TrackerError", {
  reason: TrackerErrorReason,
  url: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `tracker ${this.url}: ${this.detail}`
  }
}

export const StorageErrorReason = Schema.Literal("Open", "Read", "Write", "NoSpace", "Permission", "Outside", "Missing", "Locked")
export type StorageErrorReason = typeof StorageErrorReason.Type

/** A file of the torrent that could not be created, read or written. */
export class StorageError extends Schema.TaggedError<StorageError>()("StorageError", {
  reason: StorageErrorReason,
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.detail}`
  }
}

export const PeerErrorReason = Schema.Literal(
  "Handshake",
  "Protocol",
  "Timeout",
  "Self",
  "Duplicate",
  "Banned",
  "Unsupported",
  "Corrupt",
  "Closed"
)
export type PeerErrorReason = typeof PeerErrorReason.Type

/** Why a peer connection ended; it ends that peer, never the download. */
export class PeerError extends Schema.TaggedError<PeerError>()("PeerError", {
  reason: PeerErrorReason,
  address: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `peer ${this.address}: ${this.detail}`
  }
}

export const DownloadErrorReason = Schema.Literal("Stalled", "Unsupported", "NoData", "Incomplete")
export type DownloadErrorReason = typeof DownloadErrorReason.Type

/** A download that cannot go on. */
export class DownloadError extends Schema.TaggedError<DownloadError>()("DownloadError", {
  reason: DownloadErrorReason,
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

export const UsageErrorReason = Schema.Literal("Option")
export type UsageErrorReason = typeof UsageErrorReason.Type

/** A command-line value that @effect/cli accepted as text but that does not mean anything. */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  reason: UsageErrorReason,
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

export const RemoteErrorReason = Schema.Literal("Unreachable", "Failed", "Input")
export type RemoteErrorReason = typeof RemoteErrorReason.Type

/** A running daemon that cannot be reached, or that refused what a remote command asked. */
export class RemoteError extends Schema.TaggedError<RemoteError>()("RemoteError", {
  reason: RemoteErrorReason,
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

// ---------------------------------------------------------------------------------------------------------
// Making a .torrent (the create command)

export const HashErrorReason = Schema.Literal("Unreadable", "Worker")
export type HashErrorReason = typeof HashErrorReason.Type

/** A file could not be read to its end, or a hashing worker failed (out of memory, no threads left). */
export class HashError extends Schema.TaggedError<HashError>()("HashError", {
  reason: HashErrorReason,
  detail: Schema.String
}) {
  override get message(): string {
    return this.reason === "Worker" ? `hashing worker failed: ${this.detail}` : this.detail
  }
}

export const CreateErrorReason = Schema.Literal(
  "PathMissing",
  "PathInvalid",
  "Empty",
  "PieceLength",
  "Unreadable",
  "InvalidUrl",
  "Hashing",
  "Encoding",
  "Exists"
)
export type CreateErrorReason = typeof CreateErrorReason.Type

/** What stopped `create`. */
export class CreateError extends Schema.TaggedError<CreateError>()("CreateError", {
  reason: CreateErrorReason,
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

// ---------------------------------------------------------------------------------------------------------
// The daemon's session

/** Conflict: a category or tag that already exists (or one in use that cannot go); Forbidden: a folder
 *  outside those the daemon may write to. */
export const ControlErrorReason = Schema.Literal("NotFound", "Invalid", "Duplicate", "Io", "Conflict", "Forbidden")
export type ControlErrorReason = typeof ControlErrorReason.Type

/** A request the session cannot carry out (an unknown id, a bad torrent, a path it cannot use). */
export class ControlError extends Schema.TaggedError<ControlError>()("ControlError", {
  reason: ControlErrorReason,
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

export const MultipartErrorReason = Schema.Literal(
  "Boundary",
  "NoDelimiter",
  "Unterminated",
  "BadDelimiter",
  "NoHeadersEnd",
  "HeadersTooLarge",
  "BadHeader",
  "BadDisposition",
  "NoName",
  "TooManyParts"
)
export type MultipartErrorReason = typeof MultipartErrorReason.Type

/** A multipart/form-data body (the qBittorrent WebUI's `torrents/add`) that cannot be read into its parts. */
export class MultipartError extends Schema.TaggedError<MultipartError>()("MultipartError", {
  reason: MultipartErrorReason,
  detail: Schema.String
}) {
  override get message(): string {
    return `bad multipart/form-data body: ${this.detail}`
  }
}

/**
 * bt-effect as a library (`import { Client } from "bt-effect"`), with two faces over one engine:
 *
 * - the Promise face: `const client = await Client.create({ downloadDir })`,
 *   `await client.add(file, { files: [1, 3] })`, `torrent.on("piece" | "peer" | "done" | "error")`,
 *   `torrent.files[0].createReadStream({ start, end })` (a Node Readable that waits for the bytes as they
 *   download), `await torrent.done()`, `await client.close()`;
 * - the Effect face: `Client` is a `Context.Tag` (`yield* Client`), provided by `layer` (the real network
 *   and files) or `layerMemory` (an in-memory network; see "bt-effect/testing"), with typed errors, a
 *   torrent's figures and events as `Stream`s, and its files' bytes too (`torrent.files[0].stream(range)`).
 *
 * `effect` and `@effect/*` are not bundled but dependencies: a program's own `effect` of the same version is
 * then the very copy the library uses, which the Effect face needs to compose (Layers, Streams, fibers).
 */
import { Client as ClientTag } from "../services/client/Client.js"
import { type CreateOptions, PromiseClient } from "./PromiseClient.js"

/**
 * The client: a `Context.Tag` of the Effect face (`const client = yield* Client`), and the Promise face's
 * `Client.create(options)`.
 */
export class Client extends ClientTag {
  /** A client over the real network and files, for programs that do not use Effect. */
  static readonly create = (options: CreateOptions): Promise<PromiseClient> => PromiseClient.create(options)
}

export type {
  AddError,
  AddOptions,
  ClientService,
  ClientTorrent,
  PeerInfo,
  ReadRange,
  SeedError,
  SeedOptions,
  TorrentEvent,
  TorrentFile,
  TorrentFileInfo,
  TorrentStats
} from "../services/client/Client.js"
export { type ClientNeeds, type ClientOptions, engineLayer, layer, layerMemory, make, type MemoryOptions } from "../services/client/ClientLive.js"
export { type CreateOptions, PromiseClient } from "./PromiseClient.js"
export { Torrent, type TorrentEvents } from "./PromiseTorrent.js"
export { ReadableFile, type ReadStreamOptions } from "./PromiseFile.js"
export {
  CreateError,
  DownloadError,
  MagnetError,
  MetainfoError,
  NetworkError,
  StorageError,
  UsageError
} from "../domain/Errors.js"
export type { Metainfo } from "../domain/Metainfo.js"

/**
 * Real .torrent bytes for tests from file contents (v1, single or multi-file, piece hashes computed over
 * the data) and repeatable pseudo-random contents: the same kit the library offers its users
 * (bt-effect/testing), under the names our tests have always used.
 */
export {
  makeTorrent,
  type MemoryFile as TestFile,
  type MemoryTorrent as TestTorrent,
  randomBytes
} from "../../src/services/client/MemoryTorrents.js"

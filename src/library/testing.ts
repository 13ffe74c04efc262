/**
 * bt-effect's test kit (`import { Swarm } from "bt-effect/testing"`): whole swarms of real clients in one
 * process, on an in-memory network, store and tracker, driven by `TestClock`, as bt-effect's own tests run.
 */
export * as Swarm from "../services/client/ClientSwarm.js"
export { withTestClock } from "../services/client/VirtualTime.js"
export { makeTorrent, type MemoryFile, type MemoryTorrent, type MemoryTorrentOptions, randomBytes } from "../services/client/MemoryTorrents.js"
export { type LinkOptions, make as makeNetwork, type MemoryNetwork, layerHost as networkLayer } from "../services/wire/MemoryNetwork.js"
export { layer as storageLayer, MemoryStore } from "../services/storage/MemoryStorage.js"
export { layer as trackerLayer, MemoryTracker } from "../services/tracker/MemoryTracker.js"
export { layer as resumeLayer, MemoryResume } from "../services/storage/MemoryResume.js"
export { layerMemory } from "../services/client/ClientLive.js"

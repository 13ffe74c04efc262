// A module resolution hook (node:module register) for bench/webtorrent/leecher.mjs: `node-datachannel`
// resolves to the bench's stand-in (./node-datachannel.mjs, which says why), every other import as usual.
const standIn = new URL("./node-datachannel.mjs", import.meta.url).href

export const resolve = async (specifier, context, nextResolve) =>
  specifier === "node-datachannel" ? { url: standIn, shortCircuit: true } : nextResolve(specifier, context)

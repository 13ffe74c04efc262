/**
 * The addresses we are bound to (`--bind`): at most one IPv4 and one IPv6 address. Bound, every socket
 * of ours (peers in and out, trackers, the DHT) uses them and nothing else, so that nothing leaves by
 * another route (a VPN's address, say). Unbound (`{}`), peers are heard on every address of both families.
 */
import { isIPv4, isIPv6 } from "node:net"

export interface Bind {
  readonly ipv4?: string
  readonly ipv6?: string
}

export const unbound: Bind = {}

export const isBound = (bind: Bind): boolean => bind.ipv4 !== undefined || bind.ipv6 !== undefined

/** An address without its brackets ("[::1]" as "::1"). */
const bare = (text: string): string => (text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text)

/** The `--bind` values as a Bind, or why not (one line): each an IP literal, at most one per family. */
export const parseBind = (values: ReadonlyArray<string>): { readonly ok: true; readonly bind: Bind } | { readonly ok: false; readonly why: string } => {
  let ipv4: string | undefined
  let ipv6: string | undefined
  for (const raw of values) {
    const text = bare(raw.trim())
    if (isIPv4(text)) {
      if (ipv4 !== undefined) return { ok: false, why: `--bind takes one IPv4 address, not both ${ipv4} and ${text}` }
      ipv4 = text
    } else if (isIPv6(text) && !text.includes("%")) {
      if (ipv6 !== undefined) return { ok: false, why: `--bind takes one IPv6 address, not both ${ipv6} and ${text}` }
      ipv6 = text
    } else {
      return { ok: false, why: `--bind takes an IPv4 or IPv6 address, not "${raw}"` }
    }
  }
  return { ok: true, bind: { ...(ipv4 !== undefined ? { ipv4 } : {}), ...(ipv6 !== undefined ? { ipv6 } : {}) } }
}

/** The family of an IP literal host, or undefined for a name. */
export const familyOf = (host: string): 4 | 6 | undefined => (isIPv4(host) ? 4 : isIPv6(host) ? 6 : undefined)

/** The bound address to reach `host` from: of its family (a name: IPv4 first), or undefined when none is
 *  bound for it. Meaningful only when bound. */
export const localFor = (bind: Bind, host: string): { readonly address: string; readonly family: 4 | 6 } | undefined => {
  const family = familyOf(host)
  if (family === 4 || (family === undefined && bind.ipv4 !== undefined)) return bind.ipv4 === undefined ? undefined : { address: bind.ipv4, family: 4 }
  return bind.ipv6 === undefined ? undefined : { address: bind.ipv6, family: 6 }
}

/**
 * An IPv6 address others on the Internet can reach (global unicast, 2000::/3), which BEP 7's `ipv6=`
 * announce parameter is for; loopback, link-local, unique-local and mapped IPv4 addresses are not.
 */
export const isGlobalIPv6 = (address: string): boolean => {
  if (!isIPv6(address) || address.includes(".")) return false
  const first = address.startsWith("::") ? 0 : Number.parseInt(address.split(":")[0]!, 16)
  return (first & 0xe000) === 0x2000
}

/** One address of a network interface, as node:os's networkInterfaces() lists it. */
export interface InterfaceAddress {
  readonly address: string
  readonly family: string | number
}

/**
 * `--bind-interface NAME` as a Bind: the interface's first IPv4 address and its first IPv6 address that
 * is not link-local (one that needs no scope), as the interface has them at start (a VPN's tun0, say);
 * or why not, in one line. It binds to addresses, as `--bind` does: node cannot tie a socket to a
 * device (SO_BINDTODEVICE), so an address that changes later is not followed.
 */
export const bindOfInterface = (
  name: string,
  interfaces: { readonly [name: string]: ReadonlyArray<InterfaceAddress> | undefined }
): { readonly ok: true; readonly bind: Bind } | { readonly ok: false; readonly why: string } => {
  const addresses = interfaces[name]
  if (addresses === undefined) {
    const names = Object.keys(interfaces).sort().join(", ")
    return { ok: false, why: `--bind-interface: no network interface "${name}"${names === "" ? "" : ` (there are: ${names})`}` }
  }
  const isV4 = (a: InterfaceAddress) => a.family === "IPv4" || a.family === 4
  const isV6 = (a: InterfaceAddress) => (a.family === "IPv6" || a.family === 6) && !/^fe[89ab]/i.test(a.address)
  const ipv4 = addresses.find(isV4)?.address
  const ipv6 = addresses.find(isV6)?.address
  if (ipv4 === undefined && ipv6 === undefined) return { ok: false, why: `--bind-interface: "${name}" has no address to bind to` }
  return { ok: true, bind: { ...(ipv4 !== undefined ? { ipv4 } : {}), ...(ipv6 !== undefined ? { ipv6 } : {}) } }
}

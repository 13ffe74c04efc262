import { describe, expect, it } from "vitest"
import { bindOfInterface, isGlobalIPv6, localFor, parseBind } from "../../src/domain/BindAddress.js"

describe("BindAddress", () => {
  it("parses one IPv4 and one IPv6 address, brackets or not", () => {
    expect(parseBind([])).toEqual({ ok: true, bind: {} })
    expect(parseBind(["127.0.0.2"])).toEqual({ ok: true, bind: { ipv4: "127.0.0.2" } })
    expect(parseBind(["[::1]", "10.0.0.7"])).toEqual({ ok: true, bind: { ipv4: "10.0.0.7", ipv6: "::1" } })
  })

  it("refuses names, bad literals, zones and two of a family, in one line", () => {
    for (const bad of ["eth0", "1.2.3", "256.1.1.1", "localhost", "fe80::1%lo", ""]) {
      const parsed = parseBind([bad])
      expect(parsed.ok, bad).toBe(false)
      if (!parsed.ok) expect(parsed.why).not.toContain("\n")
    }
    expect(parseBind(["127.0.0.2", "127.0.0.3"])).toEqual({ ok: false, why: "--bind takes one IPv4 address, not both 127.0.0.2 and 127.0.0.3" })
    expect(parseBind(["::1", "2001:db8::1"]).ok).toBe(false)
  })

  it("dials each family from its own bound address, and a name from IPv4 first", () => {
    const both = { ipv4: "127.0.0.2", ipv6: "::1" }
    expect(localFor(both, "10.0.0.1")).toEqual({ address: "127.0.0.2", family: 4 })
    expect(localFor(both, "2001:db8::5")).toEqual({ address: "::1", family: 6 })
    expect(localFor(both, "tracker.example")).toEqual({ address: "127.0.0.2", family: 4 })
    expect(localFor({ ipv6: "::1" }, "tracker.example")).toEqual({ address: "::1", family: 6 })
    expect(localFor({ ipv4: "127.0.0.2" }, "2001:db8::5")).toBeUndefined()
    expect(localFor({ ipv6: "::1" }, "10.0.0.1")).toBeUndefined()
  })

  it("calls only global unicast IPv6 addresses global (BEP 7's ipv6=)", () => {
    expect(isGlobalIPv6("2001:db8::1")).toBe(true)
    expect(isGlobalIPv6("2a00:1450:4001:80b::200e")).toBe(true)
    for (const local of ["::1", "::", "fe80::1", "fd00::1", "fc00::1", "::ffff:10.0.0.1", "ff02::1", "10.0.0.1"]) {
      expect(isGlobalIPv6(local), local).toBe(false)
    }
  })
})

describe("--bind-interface", () => {
  const interfaces = {
    lo: [{ address: "127.0.0.1", family: "IPv4" }, { address: "::1", family: "IPv6" }],
    tun0: [{ address: "fe80::1", family: "IPv6" }, { address: "10.8.0.2", family: "IPv4" }, { address: "2001:db8::2", family: "IPv6" }],
    wg0: [{ address: "fe80::2", family: 6 }],
    eth1: [{ address: "fd00::5", family: 6 }]
  }
  it("binds to the interface's first IPv4 and first IPv6 address that needs no scope", () => {
    expect(bindOfInterface("lo", interfaces)).toEqual({ ok: true, bind: { ipv4: "127.0.0.1", ipv6: "::1" } })
    expect(bindOfInterface("tun0", interfaces)).toEqual({ ok: true, bind: { ipv4: "10.8.0.2", ipv6: "2001:db8::2" } })
    expect(bindOfInterface("eth1", interfaces)).toEqual({ ok: true, bind: { ipv6: "fd00::5" } })
  })
  it("says in one line why not: no such interface (naming those there are), or only link-local addresses", () => {
    expect(bindOfInterface("tun1", interfaces)).toEqual({ ok: false, why: `--bind-interface: no network interface "tun1" (there are: eth1, lo, tun0, wg0)` })
    expect(bindOfInterface("wg0", interfaces)).toEqual({ ok: false, why: `--bind-interface: "wg0" has no address to bind to` })
  })
})

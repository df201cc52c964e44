/** Listen addresses: `:port` is dual-stack with an IPv4 fallback, explicit hosts stay, IPv4 peers are shown as IPv4. */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { ConfigError } from "../../core/errors.ts";
import { bindListenAddr, isNoIPv6Error, parseListenAddr, unmapConnAddrs, unmappedAddr } from "../../listeners/addr.ts";

Deno.test("parseListenAddr: no host is dual-stack ::, an explicit host stays as given", () => {
  deepEqual(parseListenAddr(":8080"), { hostname: "::", port: 8080, anyHost: true });
  deepEqual(parseListenAddr("0.0.0.0:8080"), { hostname: "0.0.0.0", port: 8080, anyHost: false });
  deepEqual(parseListenAddr("127.0.0.1:80"), { hostname: "127.0.0.1", port: 80, anyHost: false });
  deepEqual(parseListenAddr("[::1]:80"), { hostname: "::1", port: 80, anyHost: false });
  deepEqual(parseListenAddr("[::]:80"), { hostname: "::", port: 80, anyHost: false });
  throws(() => parseListenAddr("8080"), ConfigError);
});

Deno.test("bindListenAddr falls back to 0.0.0.0 only for a hostless address on a system without IPv6", () => {
  const noV6 = Object.assign(new Error("Address family not supported"), { code: "EAFNOSUPPORT" });
  const tried: string[] = [];
  const listen = (h: string, p: number) => {
    tried.push(`${h}:${p}`);
    if (h === "::") throw noV6;
    return h;
  };
  equal(bindListenAddr(parseListenAddr(":8080"), listen), "0.0.0.0");
  deepEqual(tried, [":::8080", "0.0.0.0:8080"]);
  // an explicit [::] is not silently narrowed to IPv4
  throws(() => bindListenAddr(parseListenAddr("[::]:8080"), listen), /Address family/);
  // a port in use is not a missing IPv6: it is thrown as it is
  const inUse = new Deno.errors.AddrInUse("in use");
  throws(() =>
    bindListenAddr(parseListenAddr(":8080"), () => {
      throw inUse;
    }), Deno.errors.AddrInUse);
  ok(isNoIPv6Error(new Deno.errors.AddrNotAvailable("x")));
  ok(!isNoIPv6Error(inUse));
});

Deno.test("unmappedAddr shows an IPv4-mapped peer as IPv4 and leaves the rest alone", () => {
  const mapped: Deno.NetAddr = { transport: "tcp", hostname: "::ffff:10.0.0.1", port: 4000 };
  deepEqual(unmappedAddr(mapped), { transport: "tcp", hostname: "10.0.0.1", port: 4000 });
  const six: Deno.NetAddr = { transport: "udp", hostname: "::1", port: 53 };
  equal(unmappedAddr(six), six);
  const odd: Deno.NetAddr = { transport: "tcp", hostname: "::ffff:1:2", port: 1 };
  equal(unmappedAddr(odd), odd);
});

Deno.test("a real dual-stack listener: an IPv4 client's conn shows 127.0.0.1 both ways, an IPv6 one stays", async () => {
  let ln: Deno.TcpListener;
  try {
    ln = Deno.listen({ hostname: "::", port: 0 });
  } catch {
    return; // no IPv6 here
  }
  const port = (ln.addr as Deno.NetAddr).port;
  const c4 = await Deno.connect({ hostname: "127.0.0.1", port });
  const a4 = unmapConnAddrs(await ln.accept());
  equal((a4.remoteAddr as Deno.NetAddr).hostname, "127.0.0.1");
  equal((a4.localAddr as Deno.NetAddr).hostname, "127.0.0.1");
  equal((a4.remoteAddr as Deno.NetAddr).port, (c4.localAddr as Deno.NetAddr).port);
  const c6 = await Deno.connect({ hostname: "::1", port });
  const a6 = unmapConnAddrs(await ln.accept());
  equal((a6.remoteAddr as Deno.NetAddr).hostname, "::1");
  // the conn still works after the addresses are replaced
  await c4.write(new Uint8Array([7]));
  const b = new Uint8Array(1);
  equal(await a4.read(b), 1);
  equal(b[0], 7);
  for (const c of [c4, a4, c6, a6]) c.close();
  ln.close();
});

/**
 * GOST's address and forwarding forms in real gost.ts processes, with socat and curl over loopback: `:port` dial
 * addresses are this host (forward targets, `-F` nodes, config nodes), `:port` listeners are dual-stack (IPv4 and
 * IPv6 clients; `listening on [::]:…`), an explicit `0.0.0.0` stays IPv4, and forwarding services without targets
 * take them from the chain's last node (`-F forward+tls://…`, a relay server with targets).
 */
import { equal, match, ok } from "node:assert/strict";
import { freePort, freeUdpPort, type GostProcess, startGost } from "../helpers/gost.ts";
import { curl, has, run } from "../helpers/run.ts";
import { httpOrigin, tcpEcho, udpEcho } from "../helpers/servers.ts";
import { until } from "../helpers/wait.ts";

const enc = new TextEncoder();
const ignore = !has("socat") || !has("curl");

/** Sends `msg` over TCP with socat to `host:port` and returns what came back before the far end closed. */
async function tcpSay(host: string, port: number, msg: string): Promise<string> {
  const r = await run("socat", ["-t", "5", "-T", "10", "-", `TCP:${host}:${port}`], { stdin: enc.encode(msg) });
  return r.stdout;
}

/** Sends one datagram with socat to `host:port` and returns the reply. */
async function udpSay(host: string, port: number, msg: string): Promise<string> {
  const r = await run("socat", ["-t", "1", "-T", "5", "-", `UDP:${host}:${port}`], { stdin: enc.encode(msg) });
  return r.stdout;
}

/** True when this host can use IPv6 loopback (the dual-stack checks need it). */
function hasIPv6(): boolean {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

const v6 = hasIPv6();

/** The log lines of `g` that match `re`. */
const linesOf = (g: GostProcess, re: RegExp) => g.lines.filter((l) => re.test(l));

/** A TCP echo and a UDP echo on one port number (a relay target serves both networks). */
function echoesOnOnePort(): { port: number; close(): void } {
  for (let i = 0; i < 20; i++) {
    const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
    const port = (udp.addr as Deno.NetAddr).port;
    let tcp: Deno.TcpListener;
    try {
      tcp = Deno.listen({ hostname: "127.0.0.1", port });
    } catch {
      udp.close();
      continue;
    }
    (async () => {
      const buf = new Uint8Array(65_536);
      for (;;) {
        const [d, from] = await udp.receive(buf);
        await udp.send(enc.encode(`udp:${new TextDecoder().decode(d)}`), from);
      }
    })().catch(() => {});
    (async () => {
      for await (const c of tcp) {
        (async () => {
          const buf = new Uint8Array(4096);
          for (;;) {
            const n = await c.read(buf);
            if (n === null) break;
            await c.write(buf.subarray(0, n));
          }
          await c.closeWrite();
        })().catch(() => {}).finally(() => c.close());
      }
    })().catch(() => {});
    return {
      port,
      close: () => {
        udp.close();
        tcp.close();
      },
    };
  }
  throw new Error("no port free for both TCP and UDP");
}

Deno.test({
  name: "-L tcp://:P/:E: listens on [::] (IPv4 and IPv6 clients, shown as 127.0.0.1) and dials :E on this host",
  ignore,
  async fn() {
    const echo = tcpEcho();
    const port = freePort();
    await using g = await startGost(["-L", `tcp://:${port}/:${echo.port}`]);
    match(linesOf(g, /is listening on/)[0], new RegExp(`listening on ${v6 ? `\\[::\\]:${port}` : `0.0.0.0:${port}`}`));
    equal(await tcpSay("127.0.0.1", port, "over ipv4"), "over ipv4");
    if (v6) equal(await tcpSay("[::1]", port, "over ipv6"), "over ipv6");
    // an IPv4 client of the dual-stack socket is logged as Go prints it, not [::ffff:127.0.0.1]
    await until(() => linesOf(g, /<>/).length >= (v6 ? 2 : 1), "the conn log lines");
    ok(!g.lines.some((l) => l.includes("::ffff:")), g.lines.join("\n"));
    ok(linesOf(g, /<>/).some((l) => /127\.0\.0\.1:\d+ <> 127\.0\.0\.1:\d+/.test(l)), g.lines.join("\n"));
    echo.close();
  },
});

Deno.test({
  name: "-L udp://:P/:E: a dual-stack UDP listener answers IPv4 and IPv6 clients; :E is this host",
  ignore,
  async fn() {
    const echo = udpEcho("re:");
    const port = freeUdpPort();
    await using g = await startGost(["-L", `udp://:${port}/:${echo.port}`]);
    match(linesOf(g, /is listening on/)[0], new RegExp(`listening on ${v6 ? "\\[::\\]" : "0.0.0.0"}:${port}`));
    equal(await udpSay("127.0.0.1", port, "four"), "re:four");
    if (v6) equal(await udpSay("[::1]", port, "six"), "re:six");
    echo.close();
  },
});

Deno.test({
  name: "an explicit 0.0.0.0 listener stays IPv4 only (an IPv6 client is refused); the open-proxy warning stays",
  ignore: ignore || !v6,
  async fn() {
    const origin = httpOrigin();
    const port = freePort();
    await using g = await startGost(["-L", `http://0.0.0.0:${port}`]);
    match(linesOf(g, /is listening on/)[0], new RegExp(`listening on 0\\.0\\.0\\.0:${port}`));
    ok(linesOf(g, /open proxy/).length === 1, g.lines.join("\n"));
    const url = `http://127.0.0.1:${origin.port}/x`;
    equal((await curl("-x", `http://127.0.0.1:${port}`, url)).stdout, "hello /x");
    const r = await curl("-x", `http://[::1]:${port}`, url);
    ok(r.code !== 0, "an IPv6 client must not reach an IPv4-only listener");
    await origin.close();
  },
});

Deno.test({
  name: "a dual-stack proxy (:P) serves curl over IPv6 and warns it is open on [::]",
  ignore: ignore || !v6,
  async fn() {
    const origin = httpOrigin();
    const port = freePort();
    await using g = await startGost(["-L", `http://:${port}`]);
    ok(linesOf(g, /open proxy/).some((l) => l.includes(`[::]:${port}`)), g.lines.join("\n"));
    equal((await curl("-x", `http://[::1]:${port}`, `http://127.0.0.1:${origin.port}/six`)).stdout, "hello /six");
    equal((await curl("-x", `http://127.0.0.1:${port}`, `http://127.0.0.1:${origin.port}/four`)).stdout, "hello /four");
    await origin.close();
  },
});

Deno.test({
  name: "-F socks5://:S: a chain node without a host is this host",
  ignore,
  async fn() {
    const origin = httpOrigin();
    const [http, socks] = [freePort(), freePort()];
    await using g = await startGost(
      [
        "-L",
        `http://127.0.0.1:${http}`,
        "-L",
        `socks5://127.0.0.1:${socks}?ignoreChain=true`,
        "-F",
        `socks5://:${socks}`,
      ],
      { listening: 2 },
    );
    equal((await curl("-x", `http://127.0.0.1:${http}`, `http://127.0.0.1:${origin.port}/via`)).stdout, "hello /via");
    // the request went through the socks5 service
    await until(() => linesOf(g, /service-1/).some((l) => l.includes(`<-> 127.0.0.1:${origin.port}`)), "socks5 log");
    await origin.close();
  },
});

Deno.test({
  name: "config addr ':port' of a chain node and of a forwarder node are this host",
  ignore,
  async fn() {
    const echo = tcpEcho();
    const [fwd, socks] = [freePort(), freePort()];
    const cfg = {
      services: [
        {
          name: "fwd",
          addr: `127.0.0.1:${fwd}`,
          handler: { type: "tcp", chain: "c" },
          listener: { type: "tcp" },
          forwarder: { nodes: [{ name: "t", addr: `:${echo.port}` }] },
        },
        { name: "socks", addr: `127.0.0.1:${socks}`, handler: { type: "socks5" }, listener: { type: "tcp" } },
      ],
      chains: [{
        name: "c",
        hops: [{ name: "h", nodes: [{ name: "n", addr: `:${socks}`, connector: { type: "socks5" } }] }],
      }],
    };
    await using g = await startGost(["-C", JSON.stringify(cfg)], { listening: 2 });
    equal(await tcpSay("127.0.0.1", fwd, "through the chain"), "through the chain");
    await until(() => linesOf(g, /service=socks|"service":"socks"/).some((l) => l.includes("<->")), "socks5 log");
    echo.close();
  },
});

Deno.test({
  name: "-L tcp://:P -F forward+tls://:T: the chain's last node picks the target (GOST's server-side forwarding)",
  ignore,
  async fn() {
    const echo = tcpEcho();
    const [server, client] = [freePort(), freePort()];
    await using _s = await startGost(["-L", `tls://127.0.0.1:${server}/:${echo.port}`]);
    await using _c = await startGost(["-L", `tcp://127.0.0.1:${client}`, "-F", `forward+tls://:${server}`]);
    equal(await tcpSay("127.0.0.1", client, "targetless"), "targetless");
    // GOST's placeholder form /:0 is the same
    const placeholder = freePort();
    await using _p = await startGost(["-L", `tcp://127.0.0.1:${placeholder}/:0`, "-F", `forward+tls://:${server}`]);
    equal(await tcpSay("127.0.0.1", placeholder, "placeholder"), "placeholder");
    echo.close();
  },
});

Deno.test({
  name: "-L udp://:U -L tcp://:C -F relay://:R to -L relay://:R/:E: TCP and UDP forwarded to the server's target",
  ignore,
  async fn() {
    const echo = echoesOnOnePort();
    const relay = freePort();
    const [tcp, udp] = [freePort(), freeUdpPort()];
    await using _s = await startGost(["-L", `relay://127.0.0.1:${relay}/:${echo.port}`]);
    await using _c = await startGost(
      ["-L", `udp://127.0.0.1:${udp}`, "-L", `tcp://127.0.0.1:${tcp}`, "-F", `relay://:${relay}`],
      { listening: 2 },
    );
    equal(await tcpSay("127.0.0.1", tcp, "tcp via relay"), "tcp via relay");
    equal(await udpSay("127.0.0.1", udp, "dgram"), "udp:dgram");
    equal(await udpSay("127.0.0.1", udp, "again"), "udp:again");
    echo.close();
  },
});

Deno.test({
  name: "a targetless service whose relay server has no targets, or with no chain, fails each conn naming the fix",
  ignore,
  async fn() {
    const relay = freePort();
    const [viaRelay, noChain] = [freePort(), freePort()];
    await using s = await startGost(["-L", `relay://127.0.0.1:${relay}`]);
    await using c = await startGost(["-L", `tcp://127.0.0.1:${viaRelay}`, "-F", `relay://:${relay}`]);
    await using n = await startGost(["-L", `tcp://127.0.0.1:${noChain}`]);
    equal(await tcpSay("127.0.0.1", viaRelay, "x"), "");
    await until(() => linesOf(s, /this relay server has none to forward to/).length > 0, "the relay server's error");
    // the relay client sent its request lazily (with the first bytes, as GOST does): its conn just ends
    await until(() => linesOf(c, />< /).length > 0, "the client conn's end");
    equal(await tcpSay("127.0.0.1", noChain, "x"), "");
    await until(() => linesOf(n, /no forward targets and no chain/).length > 0, "the no-chain error");
  },
});

Deno.test({
  name: "the loop guards still hold for :port forms: -L tcp://:P/:P and -L http://:P -F http://:P",
  ignore,
  async fn() {
    const [fwd, http] = [freePort(), freePort()];
    await using g = await startGost(["-L", `tcp://:${fwd}/:${fwd}`]);
    equal(await tcpSay("127.0.0.1", fwd, "x"), "");
    await until(() => linesOf(g, /chain in a loop/).length > 0, "the loop error");
    await using h = await startGost(["-L", `http://127.0.0.1:${http}`, "-F", `http://:${http}`]);
    const r = await curl("-o", "/dev/null", "-w", "%{http_code}", "-x", `http://127.0.0.1:${http}`, "http://x.test/");
    equal(r.stdout, "502");
    await until(() => linesOf(h, /loops back to service/).length > 0, "the self-chain error");
  },
});

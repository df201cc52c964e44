/**
 * `keepalive=true` (GOST's key of the tcp and tls listeners and dialers) turns TCP keep-alive on: the kernel's socket
 * table (`ss -o`) shows a keepalive timer on the accepted conn and on the conn the dialer opens, and none without it.
 */
import { equal, ok } from "node:assert/strict";
import { freePort, startGost } from "../helpers/gost.ts";
import { until } from "../helpers/wait.ts";

/** The `ss -tno` lines of established TCP conns with `port` as their source (or destination) port. */
async function sockets(port: number, end: "sport" | "dport" = "sport"): Promise<string[]> {
  const out = await new Deno.Command("ss", {
    args: ["-tnoH", "state", "established", `( ${end} = :${port} )`],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.trim());
}

async function withConn(
  keepalive: boolean,
  check: (proxyPort: number, originPort: number) => Promise<void>,
): Promise<void> {
  const origin = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const originPort = (origin.addr as Deno.NetAddr).port;
  const accepted: Deno.Conn[] = [];
  const serving = (async () => {
    for await (const c of origin) accepted.push(c);
  })();
  const port = freePort();
  const q = keepalive ? "?keepalive=true" : "";
  // a forwarder whose node is dialed by the tcp dialer with the same key
  await using _gost = await startGost([
    "-L",
    `tcp://127.0.0.1:${port}/127.0.0.1:${originPort}${q}`,
    "-F",
    `forward://127.0.0.1:${originPort}${q}`,
  ]);
  const client = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await until(() => accepted.length === 1, "the origin accepts the forwarded conn", 30_000);
    await check(port, originPort);
  } finally {
    client.close();
    for (const c of accepted) c.close();
    origin.close();
    await serving.catch(() => {});
  }
}

Deno.test("keepalive=true: the accepted conn and the dialed conn have a TCP keep-alive timer", async () => {
  await withConn(true, async (proxyPort, originPort) => {
    const listened = await sockets(proxyPort);
    equal(listened.length, 1, listened.join("\n"));
    ok(/timer:\(keepalive/.test(listened[0]), `accepted conn: ${listened[0]}`);
    // the conn gost.ts dialed to the origin (the origin's accepted end has no timer: it is the test's socket)
    const dialed = await sockets(originPort, "dport");
    equal(dialed.length, 1, dialed.join("\n"));
    ok(/timer:\(keepalive/.test(dialed[0]), `dialed conn: ${dialed[0]}`);
  });
});

Deno.test("without keepalive the accepted conn has no keep-alive timer", async () => {
  await withConn(false, async (proxyPort, originPort) => {
    const listened = await sockets(proxyPort);
    equal(listened.length, 1, listened.join("\n"));
    equal(/timer:\(keepalive/.test(listened[0]), false, listened[0]);
    const dialed = await sockets(originPort, "dport");
    equal(dialed.length, 1, dialed.join("\n"));
    equal(/timer:\(keepalive/.test(dialed[0]), false, dialed[0]);
  });
});

Deno.test("keepalive=true on the tls listener and the tls dialer: their TCP conns have the keep-alive timer", async () => {
  const origin = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const originPort = (origin.addr as Deno.NetAddr).port;
  const accepted: Deno.Conn[] = [];
  const serving = (async () => {
    for await (const c of origin) accepted.push(c); // never answers the ClientHello: the dialed conn waits
  })();
  const tlsPort = freePort(), tcpPort = freePort();
  await using _gost = await startGost([
    "-L",
    `tls://127.0.0.1:${tlsPort}?keepalive=true`,
    "-L",
    `tcp://127.0.0.1:${tcpPort}/127.0.0.1:${originPort}`,
    "-F",
    `forward+tls://127.0.0.1:${originPort}?keepalive=true`,
  ], { listening: 2 });
  const toTls = await Deno.connect({ hostname: "127.0.0.1", port: tlsPort });
  const toTcp = await Deno.connect({ hostname: "127.0.0.1", port: tcpPort });
  try {
    await until(() => accepted.length === 1, "the origin accepts the tls dialer's conn", 30_000);
    const listened = await sockets(tlsPort);
    equal(listened.length, 1, listened.join("\n"));
    ok(/timer:\(keepalive/.test(listened[0]), `tls listener conn: ${listened[0]}`);
    const plain = await sockets(tcpPort);
    equal(/timer:\(keepalive/.test(plain[0] ?? ""), false, `the tcp listener has no keepalive key: ${plain[0]}`);
    const dialed = await sockets(originPort, "dport");
    equal(dialed.length, 1, dialed.join("\n"));
    ok(/timer:\(keepalive/.test(dialed[0]), `tls dialer conn: ${dialed[0]}`);
  } finally {
    toTls.close();
    toTcp.close();
    for (const c of accepted) c.close();
    origin.close();
    await serving.catch(() => {});
  }
});

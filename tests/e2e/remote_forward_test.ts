/**
 * rtcp and rudp remote forwarding through a socks5 and a relay server of ours, in real gost.ts processes: the
 * client binds the port on the server through the chain; a TCP/UDP client connecting to that port on the server
 * reaches the target on the client's side. Also: both ends in one process from one `-C` file, many concurrent
 * connections over one tunnel, and the tunnel bound again after the server restarts.
 */
import { deepEqual, equal } from "node:assert/strict";
import { freePort, freeUdpPort, type GostProcess, startGost } from "../helpers/gost.ts";
import { tcpEcho, udpEcho } from "../helpers/servers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** One TCP round trip: send `msg`, half-close, read to EOF (bounded). */
async function roundTrip(port: number, msg: string, ms = 5000): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => c.close(), ms);
  try {
    const data = enc.encode(msg);
    let off = 0;
    while (off < data.length) off += await c.write(data.subarray(off));
    await c.closeWrite();
    let text = "";
    const td = new TextDecoder();
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      text += td.decode(buf.subarray(0, n), { stream: true });
    }
    return text + td.decode();
  } finally {
    clearTimeout(timer);
    try {
      c.close();
    } catch { /* closed by the timer */ }
  }
}

/** Retries a TCP round trip until the remote port forwards (the tunnel is set up in the background). */
async function untilTcp(port: number, msg: string, ms = 15_000): Promise<string> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const got = await roundTrip(port, msg, 2000);
      if (got === msg) return got;
      last = new Error(`got "${got}"`);
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} did not forward in ${ms} ms: ${last}`);
}

/** Retries a UDP exchange until the remote port answers; returns the answer. */
async function untilUdp(sock: Deno.DatagramConn, port: number, msg: string, ms = 15_000): Promise<string> {
  const end = Date.now() + ms;
  const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
  while (Date.now() < end) {
    await sock.send(enc.encode(msg), to);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const got = await Promise.race([
      sock.receive().then(([d]) => dec.decode(d)),
      new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 300))),
    ]);
    clearTimeout(timer);
    if (got !== undefined) return got;
  }
  throw new Error(`udp port ${port} did not answer in ${ms} ms`);
}

/** A UDP client socket on loopback. */
function udpClient(): Deno.DatagramConn {
  return Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
}

for (const [name, scheme] of [["socks5", "socks5"], ["relay", "relay"]] as const) {
  Deno.test(`rtcp and rudp remote forwarding through a ${name} server of ours`, async () => {
    const echo = tcpEcho();
    const uecho = udpEcho("pong:");
    const server = freePort();
    const [rtcp, rudp] = [freePort(), freeUdpPort()];
    await using _srv = await startGost(["-L", `${scheme}://127.0.0.1:${server}?bind=true`]);
    await using _cli = await startGost([
      "-L",
      `rtcp://127.0.0.1:${rtcp}/127.0.0.1:${echo.port}`,
      "-L",
      `rudp://127.0.0.1:${rudp}/127.0.0.1:${uecho.port}`,
      "-F",
      `${scheme}://127.0.0.1:${server}`,
    ], { listening: 2 });
    const sock = udpClient();
    try {
      equal(await untilTcp(rtcp, "hello over rtcp"), "hello over rtcp");
      equal(await roundTrip(rtcp, "x".repeat(300_000)), "x".repeat(300_000));
      equal(await untilUdp(sock, rudp, "ping"), "pong:ping");
    } finally {
      sock.close();
      echo.close();
      uecho.close();
    }
  });
}

Deno.test("rtcp and rudp with the server and client services in one process from one -C file", async () => {
  const echo = tcpEcho();
  const uecho = udpEcho("one:");
  const [server, rtcp, rudp] = [freePort(), freePort(), freeUdpPort()];
  const dir = await Deno.makeTempDir();
  const file = `${dir}/gost.yaml`;
  await Deno.writeTextFile(
    file,
    `services:
  - name: relay-server
    addr: 127.0.0.1:${server}
    handler: { type: relay, metadata: { bind: true } }
    listener: { type: tcp }
  - name: remote-tcp
    addr: 127.0.0.1:${rtcp}
    handler: { type: rtcp }
    listener: { type: rtcp, chain: chain-0 }
    forwarder: { nodes: [{ name: target-0, addr: 127.0.0.1:${echo.port} }] }
  - name: remote-udp
    addr: 127.0.0.1:${rudp}
    handler: { type: rudp }
    listener: { type: rudp, chain: chain-0, metadata: { ttl: 10s } }
    forwarder: { nodes: [{ name: target-1, addr: 127.0.0.1:${uecho.port} }] }
chains:
  - name: chain-0
    hops:
      - name: hop-0
        nodes:
          - name: node-0
            addr: 127.0.0.1:${server}
            connector: { type: relay }
            dialer: { type: tcp }
`,
  );
  const sock = udpClient();
  try {
    await using _gost = await startGost(["-C", file], { listening: 3 });
    equal(await untilTcp(rtcp, "same process"), "same process");
    equal(await untilUdp(sock, rudp, "dgram"), "one:dgram");
  } finally {
    sock.close();
    echo.close();
    uecho.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rtcp carries many concurrent TCP connections over one tunnel", async () => {
  const echo = tcpEcho();
  const [server, rtcp] = [freePort(), freePort()];
  await using srv = await startGost(["-L", `socks5://127.0.0.1:${server}?bind=true`]);
  await using _cli = await startGost([
    "-L",
    `rtcp://127.0.0.1:${rtcp}/127.0.0.1:${echo.port}`,
    "-F",
    `socks5://127.0.0.1:${server}`,
  ]);
  try {
    await untilTcp(rtcp, "warm up");
    const msgs = Array.from({ length: 100 }, (_, i) => `connection ${i} `.repeat(100 + i * 10));
    deepEqual(await Promise.all(msgs.map((m) => roundTrip(rtcp, m, 15_000))), msgs);
    const tunnels = srv.lines.filter((l) => /\(mbind\)/.test(l)).length;
    equal(tunnels, 1, "one MBIND tunnel carried every connection");
  } finally {
    echo.close();
  }
});

Deno.test("rtcp binds again after the server restarts", async () => {
  const echo = tcpEcho();
  const [server, rtcp] = [freePort(), freePort()];
  let srv: GostProcess = await startGost(["-L", `relay://127.0.0.1:${server}?bind=true`]);
  await using _cli = await startGost([
    "-L",
    `rtcp://127.0.0.1:${rtcp}/127.0.0.1:${echo.port}`,
    "-F",
    `relay://127.0.0.1:${server}`,
  ]);
  try {
    equal(await untilTcp(rtcp, "before"), "before");
    await srv.stop("SIGKILL");
    srv = await startGost(["-L", `relay://127.0.0.1:${server}?bind=true`]);
    equal(await untilTcp(rtcp, "after", 20_000), "after");
  } finally {
    await srv.stop("SIGKILL");
    echo.close();
  }
});

/**
 * The tunnel server against hostile input, in a real gost.ts process over loopback: an unknown tunnel id (GOST's
 * status codes), a client registering 10,000 tunnel ids (refused past the per-client cap, with a log line), malformed
 * relay requests, and ClientHellos cut in half at the public entrypoint. Each is refused correctly and logged, and
 * the process goes on serving a real tunnel afterwards.
 */
import { equal, ok } from "node:assert/strict";
import { HandshakeReader } from "../../core/bufio.ts";
import { writeFull } from "../../core/conn.ts";
import { Cmd, encodeRequest, type Feature, readResponse } from "../../handlers/relay/wire.ts";
import { parseTunnelId, randomId } from "../../handlers/tunnel/id.ts";
import { call, startApi } from "../helpers/api.ts";
import { freePort, startGost } from "../helpers/gost.ts";
import { namedOrigin } from "../helpers/process.ts";
import { curl } from "../helpers/run.ts";
import { until } from "../helpers/wait.ts";

const ID = "4d21094e-b74c-4916-86c1-d9fa36ea677b";
const enc = new TextEncoder();
const src: Feature = { kind: "addr", host: "10.0.0.1", port: 1000 };

/** Sends `bytes`, then reads the relay status (or null when the server closed without one). */
async function statusOf(
  port: number,
  bytes: Uint8Array,
  hold = false,
): Promise<{ status: number | null; conn: Deno.Conn }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeFull(conn, bytes);
  try {
    const resp = await readResponse(new HandshakeReader(conn, 128));
    if (!hold) conn.close();
    return { status: resp.status, conn };
  } catch {
    conn.close();
    return { status: null, conn };
  }
}

/** Reads until the peer closes (bounded); true when it closed. */
async function closedByPeer(conn: Deno.Conn, ms = 10_000): Promise<boolean> {
  const timer = setTimeout(() => conn.close(), ms);
  try {
    const buf = new Uint8Array(1024);
    while ((await conn.read(buf)) !== null) { /* drain */ }
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/** A TLS 1.3-style ClientHello record naming `sni`. */
function clientHello(sni: string): Uint8Array {
  const name = enc.encode(sni);
  const ext = [0x00, 0x00, 0, name.length + 5, 0, name.length + 3, 0x00, 0, name.length, ...name];
  const body = [
    0x03,
    0x03,
    ...new Array(32).fill(7),
    0x00, // version, random, no session id
    0x00,
    0x02,
    0x13,
    0x01,
    0x01,
    0x00, // one suite, null compression
    0x00,
    ext.length,
    ...ext,
  ];
  const hs = [0x01, 0, body.length >> 8, body.length & 0xff, ...body];
  return Uint8Array.from([0x16, 0x03, 0x01, hs.length >> 8, hs.length & 0xff, ...hs]);
}

Deno.test("tunnel server: unknown ids, 10,000 ids from one client, malformed requests and cut ClientHellos are refused and logged; it keeps serving", async () => {
  const origin = namedOrigin("still here");
  const [srv, ep, api] = [freePort(), freePort(), freePort()];
  await using server = await startApi([
    "-L",
    `tunnel://127.0.0.1:${srv}?entrypoint=127.0.0.1:${ep}&entrypoint.readTimeout=1s&tunnel=app.test:${ID}`,
    "-api",
    `127.0.0.1:${api}`,
  ], { apiPort: api, listening: 1 });
  const logged = (re: RegExp, what: string) => until(() => server.lines.some((l) => re.test(l)), what, 15_000);
  try {
    // 1. an unknown tunnel id: no route to the host on it (0x06); at the entrypoint, a tunnel without clients (0x05)
    const unknown = encodeRequest({
      cmd: Cmd.Connect,
      flags: 0,
      features: [src, { kind: "addr", host: "app.test", port: 80 }, { kind: "tunnel", id: randomId() }],
    });
    equal((await statusOf(srv, unknown)).status, 0x06);
    await logged(/no route to host app\.test on tunnel/, "the no-route line");
    equal((await statusOf(ep, unknown)).status, 0x05);
    await logged(/has no tcp client/, "the no-client line");

    // 2. one client registers 10,000 tunnel ids: 100 are held, the rest refused (0x03 Forbidden) with a log line
    const held: Deno.Conn[] = [];
    let ok100 = 0, forbidden = 0, other = 0;
    const bind = (id: Uint8Array) =>
      encodeRequest({
        cmd: Cmd.Bind,
        flags: 0,
        features: [src, { kind: "addr", host: "0.0.0.0", port: 0 }, { kind: "tunnel", id }],
      });
    const started = performance.now();
    for (let batch = 0; batch < 50; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 200 }, () => statusOf(srv, bind(randomId()), true)),
      );
      for (const a of answers) {
        if (a.status === 0x00) {
          ok100++;
          held.push(a.conn);
        } else {
          a.conn.close();
          if (a.status === 0x03) forbidden++;
          else other++;
        }
      }
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`10,000 BIND requests in ${seconds.toFixed(1)} s`);
    equal(ok100, 100, "the cap: 100 tunnel ids per client");
    equal(forbidden, 9900);
    equal(other, 0);
    await logged(/tunnel client refused: .*already holds 100 tunnel ids/, "the cap line");
    const listed = (await call("GET", `${server.base}/tunnels`)).body.data;
    equal(listed.count, 100);
    for (const c of held) c.close();
    await until(
      async () =>
        (await call("GET", `${server.base}/tunnels`)).body.data.list.every((t: { clients: unknown[] }) =>
          t.clients.length === 0
        ),
      "the held clients gone",
      15_000,
    );

    // 3. malformed relay requests: closed without an answer
    const malformed: [string, Uint8Array][] = [
      ["a SOCKS5 greeting", Uint8Array.from([0x05, 0x01, 0x00])],
      ["features cut short", Uint8Array.from([0x01, 0x02, 0x00, 0x40, 0x02, 0x00])],
      ["a feature past the list", Uint8Array.from([0x01, 0x02, 0x00, 0x03, 0x02, 0x00, 0x30])],
      ["a list over 8 KiB", Uint8Array.from([0x01, 0x01, 0xff, 0xff])],
      ["a tunnel feature of 3 bytes", Uint8Array.from([0x01, 0x01, 0x00, 0x06, 0x03, 0x00, 0x03, 1, 2, 3])],
    ];
    for (const [what, bytes] of malformed) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: srv });
      await writeFull(conn, bytes);
      if (what === "features cut short") await conn.closeWrite();
      ok(await closedByPeer(conn), `${what}: closed`);
    }
    await logged(/Relay feature list of 65535 bytes exceeds/, "the oversized-list line");
    await logged(/Relay Tunnel feature of 3 bytes/, "the short-tunnel-feature line");

    // 4. ClientHellos cut in half at the entrypoint: the stream ends (cut short), or stalls (the read deadline)
    const hello = clientHello("app.test");
    const cut = await Deno.connect({ hostname: "127.0.0.1", port: ep });
    await writeFull(cut, hello.subarray(0, hello.length >> 1));
    await cut.closeWrite();
    ok(await closedByPeer(cut), "a ClientHello cut short: closed");
    await logged(/ClientHello cut short/, "the cut-short line");
    const stall = await Deno.connect({ hostname: "127.0.0.1", port: ep });
    await writeFull(stall, hello.subarray(0, hello.length >> 1));
    ok(await closedByPeer(stall), "a stalled ClientHello: closed by the deadline");
    await logged(/TLS ClientHello not complete within 1000 ms/, "the deadline line");
    const noRoute = await Deno.connect({ hostname: "127.0.0.1", port: ep });
    await writeFull(noRoute, clientHello("nobody.test"));
    ok(await closedByPeer(noRoute), "an unrouted SNI: closed");
    await logged(/no route to host nobody\.test \(TLS\)/, "the no-route TLS line");

    // 5. still serving: a real client registers and curl reaches it through the entrypoint
    await using _client = await startGost([
      "-L",
      `rtcp://:0/127.0.0.1:${origin.port}`,
      "-F",
      `tunnel://127.0.0.1:${srv}?tunnel.id=${ID}`,
    ], { ready: (l) => /create tunnel on/.test(l), what: "registered" });
    const r = await curl("-s", "-H", "Host: app.test", `http://127.0.0.1:${ep}/`);
    equal(r.stdout, "still here", r.stderr);
    ok(parseTunnelId(ID));
  } finally {
    await origin.close();
  }
});

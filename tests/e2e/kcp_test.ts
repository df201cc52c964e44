/**
 * kcp end to end, as real processes: curl through `-L http://… -F relay+kcp://…` to `-L relay+kcp://…`, and through
 * the default-handler form (`-L kcp://…` serves auto, `-F kcp://…` speaks HTTP); 100 concurrent client conns ride
 * one KCP session (`GET /sessions`: one kcp session, one local UDP address, 100 streams); and gost.ts processes
 * with kcptun: `-F forward+kcp://` into kcptun-server, kcptun-client into `-L kcp://:port/origin`.
 */
import { equal, match, ok } from "node:assert/strict";
import { call, startApi } from "../helpers/api.ts";
import { freePort, freeUdpPort, startGost } from "../helpers/gost.ts";
import { namedOrigin, spawnProc } from "../helpers/process.ts";
import { curl, has } from "../helpers/run.ts";

const KEY = "kcp.key=e2e-secret";

Deno.test("curl through -F relay+kcp:// to -L relay+kcp:// reaches the origin", async () => {
  const origin = namedOrigin("over kcp");
  const [node, entry] = [freeUdpPort(), freePort()];
  await using _node = await startGost(["-L", `relay+kcp://127.0.0.1:${node}?${KEY}`]);
  await using _entry = await startGost([
    "-L",
    `http://127.0.0.1:${entry}`,
    "-F",
    `relay+kcp://127.0.0.1:${node}?${KEY}`,
  ]);
  try {
    for (let i = 0; i < 3; i++) {
      const r = await curl("-sS", "-x", `http://127.0.0.1:${entry}`, `http://127.0.0.1:${origin.port}/r${i}`);
      equal(r.stdout, "over kcp", r.stderr);
    }
  } finally {
    await origin.close();
  }
});

Deno.test("the default-handler form: -L kcp:// serves auto, -F kcp:// speaks HTTP to it", async () => {
  const origin = namedOrigin("default kcp");
  const [node, entry] = [freeUdpPort(), freePort()];
  await using _node = await startGost(["-L", `kcp://127.0.0.1:${node}`]);
  await using _entry = await startGost(["-L", `http://127.0.0.1:${entry}`, "-F", `kcp://127.0.0.1:${node}`]);
  try {
    const r = await curl("-sS", "-x", `http://127.0.0.1:${entry}`, `http://127.0.0.1:${origin.port}/`);
    equal(r.stdout, "default kcp", r.stderr);
  } finally {
    await origin.close();
  }
});

/** One raw proxied GET over its own TCP conn to the entry: the response body. */
async function get(entry: number, origin: number, i: number): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port: entry });
  try {
    const req =
      `GET http://127.0.0.1:${origin}/c${i} HTTP/1.1\r\nHost: 127.0.0.1:${origin}\r\nConnection: close\r\n\r\n`;
    await c.write(new TextEncoder().encode(req));
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(16 * 1024);
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((x) => [...x])));
    return text.slice(text.indexOf("\r\n\r\n") + 4);
  } finally {
    c.close();
  }
}

Deno.test("100 concurrent client conns ride one KCP session: GET /sessions shows one kcp session, 100 streams", async () => {
  const origin = namedOrigin("shared");
  const [node, entry, apiPort] = [freeUdpPort(), freePort(), freePort()];
  await using _node = await startGost(["-L", `relay+kcp://127.0.0.1:${node}?${KEY}`]);
  await using g = await startApi(
    ["-L", `http://127.0.0.1:${entry}`, "-F", `relay+kcp://127.0.0.1:${node}?${KEY}`, "-api", `127.0.0.1:${apiPort}`],
    { apiPort, listening: 1 },
  );
  try {
    const bodies = await Promise.all(Array.from({ length: 100 }, (_, i) => get(entry, origin.port, i)));
    equal(bodies.filter((b) => b === "shared").length, 100, bodies.find((b) => b !== "shared") ?? "");
    const res = await call("GET", `${g.base}/sessions`);
    equal(res.status, 200, res.text);
    equal(res.body.data.count, 1, res.text);
    const s = res.body.data.list[0];
    equal(s.transport, "kcp");
    equal(s.remote, `127.0.0.1:${node}`);
    match(s.local, /:\d+$/);
    ok(s.streamsTotal >= 100, `streams total ${s.streamsTotal}: ${res.text}`);
    ok(s.bytesIn > 0 && s.bytesOut > 0, res.text);
  } finally {
    await origin.close();
  }
});

const HAVE_KCPTUN = has("kcptun-client") && has("kcptun-server");

Deno.test({
  name: "gost.ts -F forward+kcp:// into kcptun-server: curl reaches kcptun's target",
  ignore: !HAVE_KCPTUN,
  async fn() {
    const origin = namedOrigin("via kcptun-server");
    const [kport, entry] = [freeUdpPort(), freePort()];
    await using srv = spawnProc("kcptun-server", [
      "-l",
      `127.0.0.1:${kport}`,
      "-t",
      `127.0.0.1:${origin.port}`,
      "--key",
      "tun",
      "--crypt",
      "aes",
      "--mode",
      "fast",
    ]);
    await srv.waitLine(/key derivation done/);
    // the TCP port forward's own target is not used: kcptun-server connects every stream to its -t
    await using _entry = await startGost([
      "-L",
      `tcp://127.0.0.1:${entry}/127.0.0.1:1`,
      "-F",
      `forward+kcp://127.0.0.1:${kport}?kcp.key=tun`,
    ]);
    try {
      for (let i = 0; i < 3; i++) {
        const r = await curl("-sS", `http://127.0.0.1:${entry}/k${i}`);
        equal(r.stdout, "via kcptun-server", r.stderr);
      }
    } finally {
      await origin.close();
    }
  },
});

Deno.test({
  name: "kcptun-client into gost.ts -L kcp://:port/origin (nocomp, salsa20, no FEC): curl reaches the origin",
  ignore: !HAVE_KCPTUN,
  async fn() {
    const origin = namedOrigin("via kcptun-client");
    const [node, tcp] = [freeUdpPort(), freePort()];
    const conf = "kcp.key=tun2&kcp.crypt=salsa20&kcp.nocomp=true&config=" +
      encodeURIComponent(JSON.stringify({ datashard: 0, parityshard: 0 }));
    await using _node = await startGost(["-L", `kcp://127.0.0.1:${node}/127.0.0.1:${origin.port}?${conf}`]);
    await using cli = spawnProc("kcptun-client", [
      "-r",
      `127.0.0.1:${node}`,
      "-l",
      `127.0.0.1:${tcp}`,
      "--key",
      "tun2",
      "--crypt",
      "salsa20",
      "--nocomp",
      "--datashard",
      "0",
      "--parityshard",
      "0",
    ]);
    await cli.waitLine(/key derivation done/);
    try {
      for (let i = 0; i < 3; i++) {
        const r = await curl("-sS", "--retry", "5", "--retry-connrefused", `http://127.0.0.1:${tcp}/c${i}`);
        equal(r.stdout, "via kcptun-client", r.stderr);
      }
    } finally {
      await origin.close();
    }
  },
});

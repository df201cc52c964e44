/**
 * kcp against kcptun (Debian's kcptun-client and kcptun-server: kcp-go, snappy and smux as GOST links them), both
 * ways, over loopback: our dialer through kcptun-server to a TCP echo, and kcptun-client to our listener whose
 * streams echo; the default crypt (aes) with FEC and compression, other crypts, FEC off, nocomp, smux v2, FEC shard
 * counts that differ between the ends, and a wrong key (nothing gets through). Random and compressible bytes both
 * go each way, checked byte for byte. The Reed-Solomon parity kcptun sends (crypt none) is recomputed here from its
 * data shards, byte for byte.
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { type Conn, writeFull } from "../../../core/conn.ts";
import { nopLogger } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import { DefaultRouter } from "../../../core/routing/router.ts";
import { KcpDialer } from "../../../listeners/kcp/dialer.ts";
import { KcpListener } from "../../../listeners/kcp/listener.ts";
import { ReedSolomon } from "../../../listeners/kcp/reed_solomon.ts";
import { freePort, freeUdpPort } from "../../helpers/gost.ts";
import { type Proc, spawnProc } from "../../helpers/process.ts";
import { has } from "../../helpers/run.ts";

const HAVE = has("kcptun-client") && has("kcptun-server");
const ignore = !HAVE;
if (!HAVE) console.warn("kcptun-client/kcptun-server not installed (apt-get install kcptun): kcptun tests skipped");

/** 1 MiB: the first half random, the second half compressible (so snappy's compressed chunks are decoded too). */
function payload(): Uint8Array {
  const p = new Uint8Array(1 << 20);
  for (let off = 0; off < 1 << 19; off += 65536) crypto.getRandomValues(p.subarray(off, off + 65536));
  for (let i = 1 << 19; i < p.length; i++) p[i] = (i * 7) % 251;
  return p;
}

/** Writes `data` and reads the same count back (an echo), concurrently. */
async function echoThrough(c: { read: Conn["read"]; write: Conn["write"] }, data: Uint8Array): Promise<Uint8Array> {
  const got = new Uint8Array(data.length);
  let n = 0;
  const reader = (async () => {
    const buf = new Uint8Array(64 * 1024);
    while (n < data.length) {
      const r = await c.read(buf);
      if (r === null) break;
      got.set(buf.subarray(0, r), n);
      n += r;
    }
  })();
  for (let off = 0; off < data.length; off += 32 * 1024) {
    await writeFull(c as Conn, data.subarray(off, Math.min(data.length, off + 32 * 1024)));
  }
  await reader;
  equal(n, data.length, "echoed byte count");
  return got;
}

/** A TCP echo server. */
function tcpEcho(): { port: number; close(): void } {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  (async () => {
    for await (const c of ln) {
      conns.add(c);
      (async () => {
        const b = new Uint8Array(64 * 1024);
        for (;;) {
          const n = await c.read(b);
          if (n === null) break;
          await writeFull(c, b.subarray(0, n));
        }
      })().catch(() => {}).finally(() => {
        conns.delete(c);
        try {
          c.close();
        } catch { /* closed */ }
      });
    }
  })().catch(() => {});
  return {
    port: (ln.addr as Deno.NetAddr).port,
    close: () => {
      ln.close();
      for (const c of conns) c.close();
    },
  };
}

/** Waits until kcptun has derived its key (it binds right after; the dial's probe and the connects retry). */
async function started(p: Proc): Promise<void> {
  await p.waitLine(/key derivation done/, 10_000);
}

interface Case {
  name: string;
  /** Our metadata. */
  md: Record<string, unknown>;
  /** kcptun's flags. */
  flags: string[];
}

const CASES: Case[] = [
  { name: "aes, FEC 10/3, snappy (the defaults)", md: { "kcp.key": "k1" }, flags: ["--key", "k1"] },
  {
    name: "salsa20, FEC off, nocomp",
    md: { "kcp.key": "k2", "kcp.crypt": "salsa20", "kcp.nocomp": true, config: { datashard: 0, parityshard: 0 } },
    flags: ["--key", "k2", "--crypt", "salsa20", "--nocomp", "--datashard", "0", "--parityshard", "0"],
  },
  {
    name: "xtea, smux v2, mode fast3",
    md: { "kcp.key": "k3", "kcp.crypt": "xtea", "kcp.smuxver": 2, "kcp.mode": "fast3" },
    flags: ["--key", "k3", "--crypt", "xtea", "--smuxver", "2", "--mode", "fast3"],
  },
  {
    name: "aes-128 with FEC 4/2 on kcptun and 10/3 here (auto-tune)",
    md: { "kcp.key": "k4", "kcp.crypt": "aes-128" },
    flags: ["--key", "k4", "--crypt", "aes-128", "--datashard", "4", "--parityshard", "2"],
  },
  ...(["tea", "xor", "none", "aes-192"] as const).map((crypt) => ({
    name: `${crypt}, FEC 10/3, snappy`,
    md: { "kcp.key": "k5", "kcp.crypt": crypt },
    flags: ["--key", "k5", "--crypt", crypt],
  })),
];

for (const c of CASES) {
  Deno.test({
    name: `kcp dialer → kcptun-server → echo: ${c.name}`,
    ignore,
    async fn() {
      const echo = tcpEcho();
      const udp = freeUdpPort();
      await using srv = spawnProc("kcptun-server", [
        "-l",
        `127.0.0.1:${udp}`,
        "-t",
        `127.0.0.1:${echo.port}`,
        ...c.flags,
      ]);
      try {
        await started(srv);
        const d = new KcpDialer({ logger: nopLogger });
        await d.init(new Metadata(c.md));
        const session = await d.multiplex(await d.dial(`127.0.0.1:${udp}`));
        try {
          const data = payload();
          const streams = await Promise.all([session.open(), session.open()]);
          const got = await Promise.all(streams.map((s) => echoThrough(s, data)));
          for (const g of got) deepEqual(g, data);
          for (const s of streams) s.close();
        } finally {
          session.close();
        }
      } finally {
        echo.close();
      }
    },
  });

  Deno.test({
    name: `kcptun-client → kcp listener (streams echo): ${c.name}`,
    ignore,
    async fn() {
      const ln = new KcpListener({
        addr: "127.0.0.1:0",
        logger: nopLogger,
        service: "kcptun-interop",
        router: new DefaultRouter({}),
      });
      await ln.init(new Metadata(c.md));
      const served = (async () => {
        for (;;) {
          let s: Conn;
          try {
            s = await ln.accept();
          } catch {
            return;
          }
          (async () => {
            const b = new Uint8Array(64 * 1024);
            for (;;) {
              const n = await s.read(b);
              if (n === null) break;
              await writeFull(s, b.subarray(0, n));
            }
          })().catch(() => {}).finally(() => s.close());
        }
      })();
      const tcp = freePort();
      const kport = (ln.addr as Deno.NetAddr).port;
      await using cli = spawnProc("kcptun-client", ["-r", `127.0.0.1:${kport}`, "-l", `127.0.0.1:${tcp}`, ...c.flags]);
      try {
        await started(cli);
        const data = payload();
        const conns = await Promise.all([0, 1].map(() => connectRetry(tcp)));
        const got = await Promise.all(conns.map((x) => echoThrough(x, data)));
        for (const g of got) deepEqual(g, data);
        equal(ln.sessions, 1, "both TCP conns ride one KCP session");
        for (const x of conns) x.close();
      } finally {
        ln.close();
        await served;
      }
    },
  });
}

/** Connects to kcptun-client's TCP port once it listens (it binds after logging its settings). */
async function connectRetry(port: number): Promise<Deno.TcpConn> {
  for (let i = 0;; i++) {
    try {
      return await Deno.connect({ hostname: "127.0.0.1", port });
    } catch (err) {
      if (i > 200) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

Deno.test({
  name: "kcp dialer with another key than kcptun-server's: the dial fails, nothing is accepted",
  ignore,
  async fn() {
    const echo = tcpEcho();
    const udp = freeUdpPort();
    await using srv = spawnProc("kcptun-server", [
      "-l",
      `127.0.0.1:${udp}`,
      "-t",
      `127.0.0.1:${echo.port}`,
      "--key",
      "a",
    ]);
    try {
      await started(srv);
      const d = new KcpDialer({ logger: nopLogger });
      await d.init(new Metadata({ "kcp.key": "b", handshakeTimeout: "1s" }));
      await rejects(d.dial(`127.0.0.1:${udp}`), /no answer from the node within 1000 ms/);
    } finally {
      echo.close();
    }
  },
});

Deno.test({
  name: "Reed-Solomon parity from kcptun-client (crypt none, FEC 10/3) equals the parity computed here",
  ignore,
  async fn() {
    // a bare UDP socket stands in for the server: it only records what kcptun-client sends
    const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const tcp = freePort();
    await using cli = spawnProc("kcptun-client", [
      "-r",
      `127.0.0.1:${(sock.addr as Deno.NetAddr).port}`,
      "-l",
      `127.0.0.1:${tcp}`,
      "--crypt",
      "none",
      "--nocomp",
    ]);
    await started(cli);
    const conn = await connectRetry(tcp);
    await writeFull(conn, crypto.getRandomValues(new Uint8Array(64 * 1024)));
    // shards by seqid, body from the FEC header on (after nonce and CRC)
    const shards = new Map<number, { flag: number; body: Uint8Array }>();
    let checked = 0;
    try {
      const buf = new Uint8Array(2048);
      while (checked < 2) {
        const [d] = await sock.receive(buf);
        const seqid = new DataView(d.buffer, d.byteOffset + 20).getUint32(0, true);
        const flag = d[24] | (d[25] << 8);
        shards.set(seqid, { flag, body: d.slice(26) });
        const base = seqid - (seqid % 13);
        const group = Array.from({ length: 13 }, (_, i) => shards.get(base + i));
        if (flag !== 0xf2 || group.some((s) => !s)) continue;
        const max = Math.max(...group.slice(0, 10).map((s) => s!.body.length));
        const rows = group.map((s, i) => {
          const r = new Uint8Array(max);
          if (i < 10) r.set(s!.body);
          return r;
        });
        new ReedSolomon(10, 3).encode(rows, max);
        for (let i = 10; i < 13; i++) deepEqual(rows[i], group[i]!.body, `parity shard ${i} of group ${base}`);
        checked++;
        for (let i = 0; i < 13; i++) shards.delete(base + i);
      }
      ok(checked >= 2);
    } finally {
      conn.close();
      sock.close();
    }
  },
});

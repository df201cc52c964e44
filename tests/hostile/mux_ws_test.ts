/**
 * Bad input on smux over WebSocket, against real gost.ts processes: an mws node (`-L relay+mws://`) and an entry whose
 * session to it carries curl. A hostile client upgrades its own WebSocket and sends a frame of another smux version,
 * an unknown command, a SYN for a stream that is open, a PSH for a stream no SYN named, a frame header claiming 65535
 * bytes that never come, or a WebSocket frame claiming 2^63−1 bytes; another sends garbage instead of the upgrade.
 * Each closes the hostile conn with one warning naming why, and the entry's session goes on. Then a client that
 * never reads: the writer blocks (bytes taken stay bounded, both processes' memory too), other sessions go on and,
 * with smux v2's per-stream window, so do other streams of the same session.
 */
import { equal, match, ok } from "node:assert/strict";
import { closeQuietly, type Conn, writeFull } from "../../core/conn.ts";
import { Cmd, encodeFrame } from "../../core/mux/frame.ts";
import { clientHandshake } from "../../listeners/ws/handshake.ts";
import { freePort, type GostProcess, startGost } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { httpOrigin, tcpOrigin } from "../helpers/servers.ts";
import { sleep, until } from "../helpers/wait.ts";
import { rssKiB } from "./support.ts";

const enc = new TextEncoder();

/** A WebSocket upgraded by hand to the node's `/ws`; its frames are masked as a client's must be. */
async function hostileWs(port: number): Promise<{ ws: Conn; tcp: Deno.TcpConn; local: string }> {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  const ws = await clientHandshake(tcp, { host: `127.0.0.1:${port}`, path: "/ws", header: [], bufferSize: 4096 });
  return { ws, tcp, local: `127.0.0.1:${tcp.localAddr.port}` };
}

/** Reads until the node ends the conn (EOF, an error or a close frame), bounded. */
async function ended(c: Conn): Promise<void> {
  const buf = new Uint8Array(4096);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const n = await c.read(buf).catch(() => null);
    if (n === null) return;
  }
  throw new Error("the node did not close the hostile conn");
}

/** A masked client frame header claiming 2^63−1 payload bytes. */
const HUGE_WS_FRAME = new Uint8Array([0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]);

/** [name, what the hostile client sends on its WebSocket (or its raw TCP after the upgrade), the warning]. */
const CASES: [string, { frames?: Uint8Array[]; raw?: Uint8Array; endWrite?: boolean }, RegExp][] = [
  ["another smux version", { frames: [encodeFrame(7, Cmd.SYN, 3)] }, /smux frame of version 7 in a version 1/],
  ["an unknown smux command", { frames: [Uint8Array.of(1, 0x09, 0, 0, 3, 0, 0, 0)] }, /unknown smux command 0x09/],
  [
    "a SYN for a stream that is open",
    { frames: [encodeFrame(1, Cmd.SYN, 3), encodeFrame(1, Cmd.SYN, 3)] },
    /smux SYN for stream 3, which is open/,
  ],
  [
    "a PSH for a stream no SYN named",
    { frames: [encodeFrame(1, Cmd.PSH, 99, enc.encode("x"))] },
    /smux PSH for stream 99, which was never opened/,
  ],
  [
    "an smux header claiming 65535 bytes that never come",
    { frames: [Uint8Array.of(1, Cmd.PSH, 0xff, 0xff, 3, 0, 0, 0, 1, 2, 3)], endWrite: true },
    /smux stream ended inside a frame/,
  ],
  ["a WebSocket frame of 2^63-1 bytes", { raw: HUGE_WS_FRAME }, /WebSocket: frame of 9223372036854775807 bytes/],
];

/** The node's warning and error lines about the conn from `remote`. */
function warnings(node: GostProcess, remote: string): string[] {
  return node.lines.filter((l) => /"level":"(warn|error)"/.test(l) && l.includes(`"remote":"${remote}"`));
}

Deno.test("mws node: each malformed smux or WebSocket frame, and garbage instead of the upgrade, closes only its own conn with one warning; the entry's session goes on", async () => {
  const origin = httpOrigin();
  const [port, entryPort] = [freePort(), freePort()];
  await using node = await startGost(["-L", `relay+mws://127.0.0.1:${port}`]);
  await using _entry = await startGost([
    "-L",
    `http://127.0.0.1:${entryPort}`,
    "-F",
    `relay+mws://127.0.0.1:${port}`,
  ]);
  const get = async (path: string) => {
    const r = await curl(
      "-sS",
      "--max-time",
      "20",
      "-x",
      `http://127.0.0.1:${entryPort}`,
      `http://127.0.0.1:${origin.port}${path}`,
    );
    equal(r.stdout, `hello ${path}`, r.stderr);
  };
  try {
    await get("/before");
    for (const [name, send, why] of CASES) {
      const h = await hostileWs(port);
      try {
        for (const f of send.frames ?? []) await h.ws.write(f);
        if (send.raw) await writeFull(h.tcp, send.raw);
        if (send.endWrite) await h.tcp.closeWrite();
        await ended(h.ws);
        await until(() => warnings(node, h.local).length > 0, `the warning for ${name}`, 10_000);
        await get(`/after-${name.replaceAll(" ", "-")}`);
        const lines = warnings(node, h.local);
        equal(lines.length, 1, `one warning for ${name}:\n${lines.join("\n")}`);
        match(lines[0], /mux session ended: /, name);
        match(lines[0], why, name);
      } finally {
        closeQuietly(h.tcp);
      }
    }
    const garbage = await Deno.connect({ hostname: "127.0.0.1", port });
    const local = `127.0.0.1:${garbage.localAddr.port}`;
    try {
      await writeFull(garbage, enc.encode("GARBAGE\r\n\r\n"));
      const answer = new Uint8Array(4096);
      const n = await garbage.read(answer);
      match(new TextDecoder().decode(answer.subarray(0, n ?? 0)), /^HTTP\/1\.1 400 Bad Request\r\n/);
      await ended(garbage);
    } finally {
      closeQuietly(garbage);
    }
    await until(() => warnings(node, local).length > 0, "the warning for the garbage upgrade", 10_000);
    await get("/after-garbage");
    const lines = warnings(node, local);
    equal(lines.length, 1, lines.join("\n"));
    match(lines[0], /mws upgrade failed: .*\(400\)/);
    const ends = node.lines.filter((l) => l.includes("mux session ended"));
    equal(ends.length, CASES.length, `only the hostile sessions ended:\n${ends.join("\n")}`);
  } finally {
    await origin.close();
  }
});

/** Bytes a writer has got the node to take before its writes stop completing, and whether they stopped. */
async function writeUntilBlocked(port: number, cap: number): Promise<{ written: number; conn: Deno.TcpConn }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  let written = 0;
  (async () => {
    while (written < cap) written += await conn.write(chunk);
  })().catch(() => {});
  // blocked: no write completed for one second (a node without backpressure takes `cap` bytes long before)
  let last = -1, still = 0;
  while (written < cap && still < 10) {
    await sleep(100);
    still = written === last ? still + 1 : 0;
    last = written;
  }
  return { written, conn };
}

const CAP = 256 << 20;

for (const version of [1, 2]) {
  Deno.test(`mws, smux v${version}: a client whose target never reads is held by backpressure (bytes and memory bounded); other sessions go on${version === 2 ? ", and so do other streams of its session" : ""}`, async () => {
    const origin = httpOrigin();
    const holds: (() => void)[] = [];
    const sink = tcpOrigin(() => new Promise<void>((r) => holds.push(r)));
    const [port, tunnel, entryPort, otherPort] = [freePort(), freePort(), freePort(), freePort()];
    const mux = `mux.version=${version}`;
    await using node = await startGost(["-L", `relay+mws://127.0.0.1:${port}?${mux}`]);
    // one chain: the tcp forward and the http proxy share the entry's one session
    await using entry = await startGost([
      "-L",
      `tcp://127.0.0.1:${tunnel}/127.0.0.1:${sink.port}`,
      "-L",
      `http://127.0.0.1:${entryPort}`,
      "-F",
      `relay+mws://127.0.0.1:${port}?${mux}`,
    ], { listening: 2 });
    await using _other = await startGost([
      "-L",
      `http://127.0.0.1:${otherPort}`,
      "-F",
      `relay+mws://127.0.0.1:${port}?${mux}`,
    ]);
    const get = (proxy: number, path: string) =>
      curl("-sS", "--max-time", "20", "-x", `http://127.0.0.1:${proxy}`, `http://127.0.0.1:${origin.port}${path}`);
    let writer: Deno.TcpConn | null = null;
    try {
      equal((await get(entryPort, "/warm")).stdout, "hello /warm");
      equal((await get(otherPort, "/warm")).stdout, "hello /warm");
      const rss0 = [rssKiB(node.child.pid), rssKiB(entry.child.pid)];
      const w = await writeUntilBlocked(tunnel, CAP);
      writer = w.conn;
      ok(w.written < CAP, `the writer blocked after ${w.written} bytes`);
      const grown = [rssKiB(node.child.pid) - rss0[0], rssKiB(entry.child.pid) - rss0[1]];
      console.log(
        `smux v${version}: blocked after ${w.written} B; RSS growth node ${grown[0]} KiB, entry ${grown[1]} KiB`,
      );
      ok(
        grown.every((k) => k < 96 * 1024),
        `RSS growth node ${grown[0]} KiB, entry ${grown[1]} KiB after ${w.written} bytes taken`,
      );
      const other = await get(otherPort, "/other-session");
      equal(other.stdout, "hello /other-session", other.stderr);
      if (version === 2) {
        const same = await get(entryPort, "/same-session");
        equal(same.stdout, "hello /same-session", same.stderr);
      }
    } finally {
      if (writer) closeQuietly(writer);
      for (const r of holds) r();
      sink.close();
      await origin.close();
    }
  });
}

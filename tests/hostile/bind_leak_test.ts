/**
 * BIND-style commands against a real gost.ts process, with clients that send data early and leave (issue 10,
 * item 6): a SOCKS5 BIND client that sent bytes before a peer came left its listener and its conn open for good
 * (+2 fds per client), and such a handler held up SIGTERM and an API DELETE. Every listener and socket of SOCKS5
 * BIND, MBIND and UDP ASSOCIATE and of relay BIND (TCP and UDP) must be closed when the control conn ends.
 */
import { equal, ok } from "node:assert/strict";
import { call, startApi } from "../helpers/api.ts";
import { freePort, type GostProcess, startGost } from "../helpers/gost.ts";
import { eventually, until } from "../helpers/wait.ts";
import { Cmd as RelayCmd, encodeRequest as encodeRelayRequest, NetworkId } from "../../handlers/relay/wire.ts";
import { writeFull } from "../../core/conn.ts";
import { MAX_EARLY_BYTES } from "../../handlers/socks5/bind.ts";
import { openFds } from "./support.ts";

const enc = new TextEncoder();
/** Fds a process may gain or lose for reasons of its own (a timer, a lazily opened file). */
const MARGIN = 4;
const EARLY = enc.encode("early data before any peer");
/** A SOCKS5 greeting without auth. */
const GREETING = [5, 1, 0];

/** A SOCKS5 request for `cmd` to 0.0.0.0:0. */
const socksRequest = (cmd: number) => [5, cmd, 0, 1, 0, 0, 0, 0, 0, 0];

/** Reads exactly `n` bytes, failing at EOF. */
async function readN(c: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  for (let off = 0; off < n;) {
    const got = await c.read(out.subarray(off));
    if (got === null) throw new Error(`EOF after ${off} of ${n} bytes`);
    off += got;
  }
  return out;
}

/** Reads until EOF or an error; true at EOF or reset (the server closed the conn). */
async function ended(c: Deno.Conn): Promise<boolean> {
  const buf = new Uint8Array(256);
  try {
    while (await c.read(buf) !== null) { /* discard */ }
  } catch { /* reset: ended too */ }
  return true;
}

/**
 * Runs a SOCKS5 command as a client that sends data before a peer comes: greeting, request, reply #1, early bytes.
 * `pipelined` sends everything in one write (the server reads the early bytes with the request). Returns the conn
 * and the bound port of reply #1.
 */
async function socksEarly(port: number, cmd: number, pipelined = false): Promise<{ c: Deno.Conn; bound: number }> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  let reply: Uint8Array;
  if (pipelined) {
    await c.write(Uint8Array.from([...GREETING, ...socksRequest(cmd), ...EARLY]));
    reply = (await readN(c, 12)).subarray(2);
  } else {
    await c.write(Uint8Array.from(GREETING));
    await readN(c, 2);
    await c.write(Uint8Array.from(socksRequest(cmd)));
    reply = await readN(c, 10);
    await c.write(EARLY);
  }
  equal(reply[1], 0, `SOCKS5 command 0x${cmd.toString(16)} refused`);
  return { c, bound: (reply[8] << 8) | reply[9] };
}

/** A relay BIND (TCP or UDP) with early bytes after the response. */
async function relayEarly(port: number, network: "tcp" | "udp"): Promise<Deno.Conn> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await c.write(encodeRelayRequest({
    cmd: RelayCmd.Bind,
    flags: 0,
    features: [
      { kind: "network", network: network === "tcp" ? NetworkId.Tcp : NetworkId.Udp },
      { kind: "addr", host: "127.0.0.1", port: 0 },
    ],
  }));
  const head = await readN(c, 4);
  equal(head[1], 0, `relay ${network} BIND refused`);
  await readN(c, (head[2] << 8) | head[3]);
  await c.write(EARLY);
  return c;
}

/** Whether `port` on 127.0.0.1 accepts a TCP conn. */
async function accepts(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

/** Waits until the process's fds are back within {@link MARGIN} of `base`. */
async function fdsBack(g: GostProcess, base: number, what: string): Promise<void> {
  const pid = g.child.pid;
  await until(() => openFds(pid) <= base + MARGIN, `${what}: fds back to ${base} (now ${openFds(pid)})`, 10_000);
}

/** True when the log says a handler outlived the service's close. */
const stuckHandler = (lines: string[]) => lines.some((l) => /did not end within/.test(l));

Deno.test("socks5 BIND: 100 clients that send data before a peer comes and leave: the gost process's fds come back and no BIND port stays open", async () => {
  const port = freePort();
  await using g = await startGost(["-L", `socks5://127.0.0.1:${port}?bind=true`]);
  const base = openFds(g.child.pid);
  const bound: number[] = [];
  for (let i = 0; i < 100; i++) {
    const { c, bound: b } = await socksEarly(port, 2, i % 2 === 1);
    bound.push(b);
    c.close();
  }
  await fdsBack(g, base, "100 BIND clients");
  // The fds of the last few clients may be within the margin while their listeners are being closed: wait for each.
  for (const b of bound.slice(-5)) {
    ok(await eventually(async () => !await accepts(b), 10_000), `BIND port ${b} still open`);
  }
});

Deno.test("socks5 BIND: a client that sends 64 KiB before a peer comes gets REP 0x01, its conn and the BIND port are closed", async () => {
  const port = freePort();
  await using g = await startGost(["-L", `socks5://127.0.0.1:${port}?bind=true`]);
  const base = openFds(g.child.pid);
  const { c, bound } = await socksEarly(port, 2);
  try {
    // EARLY went first: fill up to the cap exactly, so nothing is left unread (a close would reset the conn)
    await writeFull(c, new Uint8Array(MAX_EARLY_BYTES - EARLY.length));
    const second = await readN(c, 10);
    equal(second[1], 1, "REP 0x01 expected");
    ok(await ended(c), "conn not closed");
  } finally {
    c.close();
  }
  // the conn may end a moment before the listener is closed (the handler closes both as it ends)
  ok(await eventually(async () => !await accepts(bound), 10_000), `BIND port ${bound} still open`);
  await fdsBack(g, base, "an overflowing BIND client");
});

Deno.test("socks5 BIND: SIGTERM while a client that sent data early waits for a peer: gost exits with every handler ended", async () => {
  const port = freePort();
  const g = await startGost(["-L", `socks5://127.0.0.1:${port}?bind=true`]);
  try {
    const { c } = await socksEarly(port, 2, true);
    try {
      const closed = ended(c);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const st = await Promise.race([
        g.stop("SIGTERM"),
        new Promise<null>((r) => timer = setTimeout(() => r(null), 10_000)),
      ]);
      clearTimeout(timer);
      ok(st, "gost still running 10 s after SIGTERM");
      equal(st.code, 0);
      ok(await closed, "the BIND client's conn was not closed");
      ok(!stuckHandler(g.lines), `a handler outlived the close:\n${g.lines.join("\n")}`);
    } finally {
      c.close();
    }
  } finally {
    await g.stop("SIGKILL");
  }
});

Deno.test("socks5 BIND: an API DELETE of the service while a client that sent data early waits: it returns, the BIND port and the client's conn are closed", async () => {
  const [port, apiPort] = [freePort(), freePort()];
  await using g = await startApi(
    ["-L", `socks5://127.0.0.1:${port}?bind=true`, "-api", `127.0.0.1:${apiPort}`],
    { apiPort, listening: 1 },
  );
  const { c, bound } = await socksEarly(port, 2, true);
  try {
    const closed = ended(c);
    const del = await call("DELETE", `${g.base}/config/services/service-0`);
    equal(del.status, 200, del.text);
    ok(await closed, "the BIND client's conn was not closed");
    ok(!await accepts(bound), `BIND port ${bound} still open after DELETE`);
    ok(!stuckHandler(g.lines), `a handler outlived the close:\n${g.lines.join("\n")}`);
    // later API changes are not held up
    const list = await call("GET", `${g.base}/config/services`);
    equal(list.body.data.count, 0);
  } finally {
    c.close();
  }
});

Deno.test("socks5 MBIND and UDP ASSOCIATE, relay TCP and UDP BIND: 25 clients each that send data early and leave: fds come back", async () => {
  const [socks, relay] = [freePort(), freePort()];
  await using g = await startGost([
    "-L",
    `socks5://127.0.0.1:${socks}?bind=true&udp=true`,
    "-L",
    `relay://127.0.0.1:${relay}?bind=true`,
  ], { listening: 2 });
  const base = openFds(g.child.pid);
  for (let i = 0; i < 25; i++) {
    for (const cmd of [3, 0xf2]) (await socksEarly(socks, cmd, i % 2 === 1)).c.close();
    for (const network of ["tcp", "udp"] as const) (await relayEarly(relay, network)).close();
  }
  await fdsBack(g, base, "100 MBIND, UDP ASSOCIATE and relay BIND clients");
});

/**
 * obfs-http (`ohttp`) and obfs-tls (`otls`) end to end with real processes: curl through two gost.ts processes
 * (client `-F http+ohttp://`, server `-L http+ohttp://`), interop with Debian's simple-obfs both ways (obfs-local →
 * our listener, our dialer → obfs-server), and garbage closing the one conn with a log line. simple-obfs missing
 * fails these tests (CI installs it: .ci/run).
 * @module
 */
import { equal, fail, match, ok } from "node:assert/strict";
import { closeQuietly, writeFull } from "../../../core/conn.ts";
import { nopLogger } from "../../../core/log.ts";
import { Metadata } from "../../../core/metadata.ts";
import { DefaultRouter } from "../../../core/routing/router.ts";
import { ObfsHttpListener } from "../../../listeners/ohttp/listener.ts";
import { ObfsTlsListener } from "../../../listeners/otls/listener.ts";
import { serverHello } from "../../../listeners/otls/records.ts";
import { freePort, type GostProcess, startGost } from "../../helpers/gost.ts";
import { readAll } from "../../helpers/io.ts";
import { curl, has } from "../../helpers/run.ts";
import { httpOrigin, tcpEcho } from "../../helpers/servers.ts";
import { listening, until } from "../../helpers/wait.ts";

const MODES = [["ohttp", "http"], ["otls", "tls"]] as const;

/** A simple-obfs program, started; it must be installed. */
async function simpleObfs(cmd: "obfs-server" | "obfs-local", args: string[], port: number) {
  if (!has(cmd)) fail(`${cmd} is not installed: apt-get install simple-obfs (.ci/run installs it)`);
  const child = new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).spawn();
  const err = child.stderr.pipeTo(new WritableStream()).catch(() => {});
  await until(() => listening(port), `${cmd} listening on ${port}`, 10_000);
  return {
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
      await err;
    },
  };
}

/**
 * Sends `data` to 127.0.0.1:`port` and reads until as many bytes came back (simple-obfs ends both directions at
 * the first EOF, so there is no half-close); an early end returns what came.
 */
async function roundTrip(port: number, data: Uint8Array): Promise<Uint8Array> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => closeQuietly(c), 15_000);
  try {
    const writing = writeFull(c, data);
    const out = new Uint8Array(data.length);
    let got = 0;
    while (got < data.length) {
      const n = await c.read(out.subarray(got)).catch(() => null);
      if (n === null) break;
      got += n;
    }
    await writing;
    return out.subarray(0, got);
  } finally {
    clearTimeout(timer);
    closeQuietly(c);
  }
}

/** 300 KB of varied bytes: many records and reads each way. */
const bulk = new Uint8Array(300_000).map((_, i) => (i * 131 + (i >> 9)) & 0xff);

for (const [scheme] of MODES) {
  Deno.test(`${scheme}: curl through two gost.ts processes (-F http+${scheme}:// to -L http+${scheme}://)`, async () => {
    const origin = httpOrigin();
    const sPort = freePort(), cPort = freePort();
    await using _server = await startGost(["-L", `http+${scheme}://127.0.0.1:${sPort}`]);
    await using _client = await startGost([
      "-L",
      `http://127.0.0.1:${cPort}`,
      "-F",
      `http+${scheme}://127.0.0.1:${sPort}`,
    ]);
    try {
      for (let i = 0; i < 3; i++) {
        const r = await curl("-x", `http://127.0.0.1:${cPort}`, `http://127.0.0.1:${origin.port}/via/${scheme}/${i}`);
        equal(r.code, 0, r.stderr);
        equal(r.stdout, `hello /via/${scheme}/${i}`);
      }
      const big = await curl("-x", `http://127.0.0.1:${cPort}`, `http://127.0.0.1:${origin.port}/bytes/1000000`);
      equal(big.stdout.length, 1_000_000);
    } finally {
      await origin.close();
    }
  });

  Deno.test(`${scheme}: the default handler and connector (-L ${scheme}://, -F ${scheme}://), curl through them`, async () => {
    const origin = httpOrigin();
    const sPort = freePort(), cPort = freePort();
    await using _server = await startGost(["-L", `${scheme}://127.0.0.1:${sPort}`]);
    await using _client = await startGost(["-L", `http://127.0.0.1:${cPort}`, "-F", `${scheme}://127.0.0.1:${sPort}`]);
    try {
      const r = await curl("-x", `http://127.0.0.1:${cPort}`, `http://127.0.0.1:${origin.port}/default/${scheme}`);
      equal(r.code, 0, r.stderr);
      equal(r.stdout, `hello /default/${scheme}`);
    } finally {
      await origin.close();
    }
  });
}

for (const [scheme, mode] of MODES) {
  Deno.test(`${scheme}: obfs-local --obfs ${mode} → our -L tcp+${scheme}:// forwarding to an echo`, async () => {
    const echo = tcpEcho();
    const sPort = freePort(), lPort = freePort();
    try {
      await using _server = await startGost(["-L", `tcp+${scheme}://127.0.0.1:${sPort}/127.0.0.1:${echo.port}`]);
      await using _local = await simpleObfs("obfs-local", [
        "-s",
        "127.0.0.1",
        "-p",
        String(sPort),
        "-b",
        "127.0.0.1",
        "-l",
        String(lPort),
        "--obfs",
        mode,
        "--obfs-host",
        "www.example.com",
      ], lPort);
      equal(new TextDecoder().decode(await roundTrip(lPort, new TextEncoder().encode("hi obfs"))), "hi obfs");
      const got = await roundTrip(lPort, bulk);
      equal(got.length, bulk.length);
      ok(got.every((b, i) => b === bulk[i]), "bytes differ");
    } finally {
      echo.close();
    }
  });

  Deno.test(`${scheme}: our -F forward+${scheme}:// → obfs-server --obfs ${mode} forwarding to an echo`, async () => {
    const echo = tcpEcho();
    const oPort = freePort(), cPort = freePort();
    try {
      await using _obfs = await simpleObfs("obfs-server", [
        "-s",
        "127.0.0.1",
        "-p",
        String(oPort),
        "--obfs",
        mode,
        "-r",
        `127.0.0.1:${echo.port}`,
      ], oPort);
      await using _client = await startGost([
        "-L",
        `tcp://127.0.0.1:${cPort}/127.0.0.1:${echo.port}`,
        "-F",
        `forward+${scheme}://127.0.0.1:${oPort}`,
      ]);
      equal(
        new TextDecoder().decode(await roundTrip(cPort, new TextEncoder().encode("hi simple-obfs"))),
        "hi simple-obfs",
      );
      const got = await roundTrip(cPort, bulk);
      equal(got.length, bulk.length);
      ok(got.every((b, i) => b === bulk[i]), "bytes differ");
    } finally {
      echo.close();
    }
  });
}

/** Sends `bytes` to the listener and waits for it to close the conn; returns what it answered. */
async function garbage(port: number, bytes: string): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeFull(c, new TextEncoder().encode(bytes));
    return new TextDecoder().decode(await readAll(c));
  } finally {
    closeQuietly(c);
  }
}

async function failedLine(g: GostProcess, what: string): Promise<string> {
  await until(() => g.lines.some((l) => l.includes(`${what} handshake failed`)), `a "${what} handshake failed" line`);
  return g.lines.filter((l) => l.includes(`${what} handshake failed`)).join("\n");
}

Deno.test("ohttp: garbage, a non-upgrade request and an oversized head each close that conn, logged; others go on", async () => {
  const origin = httpOrigin();
  const sPort = freePort(), cPort = freePort();
  await using server = await startGost(["-L", `http+ohttp://127.0.0.1:${sPort}`]);
  await using _client = await startGost(["-L", `http://127.0.0.1:${cPort}`, "-F", `http+ohttp://127.0.0.1:${sPort}`]);
  try {
    equal(await garbage(sPort, "\x16\x03\x01garbage\r\n\r\n"), "");
    match(await failedLine(server, "obfs-http"), /Malformed request line/);
    match(await garbage(sPort, "POST / HTTP/1.1\r\nHost: x\r\n\r\n"), /^HTTP\/1\.1 400 Bad Request\r\n/);
    await until(() => server.lines.some((l) => l.includes("not a GET")), "the 400 logged");
    equal(await garbage(sPort, `GET / HTTP/1.1\r\nX: ${"a".repeat(20_000)}\r\n\r\n`), "");
    const r = await curl("-x", `http://127.0.0.1:${cPort}`, `http://127.0.0.1:${origin.port}/still`);
    equal(r.stdout, "hello /still");
  } finally {
    await origin.close();
  }
});

Deno.test("otls: garbage and a bad ClientHello each close that conn, logged; others go on", async () => {
  const origin = httpOrigin();
  const sPort = freePort(), cPort = freePort();
  await using server = await startGost(["-L", `http+otls://127.0.0.1:${sPort}`]);
  await using _client = await startGost(["-L", `http://127.0.0.1:${cPort}`, "-F", `http+otls://127.0.0.1:${sPort}`]);
  try {
    equal(await garbage(sPort, "GET / HTTP/1.1\r\n\r\n"), "");
    match(await failedLine(server, "obfs-tls"), /not a TLS handshake record/);
    // a handshake record whose ClientHello claims more bytes than the record holds
    equal(await garbage(sPort, "\x16\x03\x01\x00\x06\x01\x00\xff\xff\x03\x03"), "");
    await until(() => server.lines.some((l) => l.includes("bad ClientHello")), "the bad ClientHello logged");
    const r = await curl("-x", `http://127.0.0.1:${cPort}`, `http://127.0.0.1:${origin.port}/still`);
    equal(r.stdout, "hello /still");
  } finally {
    await origin.close();
  }
});

Deno.test("ohttp/otls listeners: a client that sends nothing is dropped at handshakeTimeout; the ServerHello is 91 bytes", async () => {
  const opts = { addr: "127.0.0.1:0", logger: nopLogger, service: "obfs", router: new DefaultRouter({}) };
  for (const ln of [new ObfsHttpListener(opts), new ObfsTlsListener(opts)]) {
    await ln.init(new Metadata({ handshakeTimeout: "300ms" }));
    const accepted = ln.accept().catch(() => null);
    const c = await Deno.connect({ hostname: "127.0.0.1", port: (ln.addr as Deno.NetAddr).port });
    const t0 = Date.now();
    try {
      equal(await c.read(new Uint8Array(16)).catch(() => null), null, "the silent conn is closed");
      const ms = Date.now() - t0;
      ok(ms >= 250 && ms < 5000, `closed after ${ms} ms`);
    } finally {
      closeQuietly(c);
      ln.close();
    }
    equal(await accepted, null, "the silent conn never reached accept()");
  }
  const hello = serverHello(new Uint8Array(32).fill(7));
  equal(hello.length, 5 + 91 + 6);
  equal([...hello.subarray(0, 9)].join(","), [0x16, 3, 1, 0, 91, 2, 0, 0, 87].join(","));
  equal([...hello.subarray(96)].join(","), [0x14, 3, 3, 0, 1, 1].join(","));
});

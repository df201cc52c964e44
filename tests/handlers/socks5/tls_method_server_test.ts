/**
 * The SOCKS5 server selects GOST's TLS methods 0x80/0x82 (docs/wire.md, "SOCKS5 TLS methods"): real gost.ts
 * processes, curl, and a raw node:net/node:tls client over loopback.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { freePort, startGost } from "../../helpers/gost.ts";
import { curl } from "../../helpers/run.ts";
import { httpOrigin } from "../../helpers/servers.ts";

/** Reads exactly `n` bytes from a node socket (plain or TLS), failing on its end or after 10 s. */
function readN(sock: Socket | TLSSocket, n: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let buf = new Uint8Array(0);
    const timer = setTimeout(() => done(new Error(`no ${n} bytes in 10 s (got ${buf.length})`)), 10_000);
    const done = (err: Error | null) => {
      clearTimeout(timer);
      sock.off("data", onData);
      sock.off("end", onEnd);
      sock.off("error", done);
      if (err) return reject(err);
      const rest = buf.subarray(n);
      if (rest.length) sock.unshift(Buffer.from(rest));
      resolve(buf.slice(0, n));
    };
    const onData = (chunk: Uint8Array) => {
      const next = new Uint8Array(buf.length + chunk.length);
      next.set(buf);
      next.set(chunk, buf.length);
      buf = next;
      if (buf.length >= n) done(null);
    };
    const onEnd = () => done(new Error(`socket ended after ${buf.length} of ${n} bytes`));
    sock.on("data", onData);
    sock.on("end", onEnd);
    sock.on("error", done);
  });
}

/** Reads until the peer ends the socket (at most 10 s). */
function readToEnd(sock: Socket | TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`no end in 10 s: ${text}`)), 10_000);
    sock.setEncoding("utf8");
    sock.on("data", (s: string) => (text += s));
    sock.on("end", () => {
      clearTimeout(timer);
      resolve(text);
    });
    sock.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Opens a TCP socket to the SOCKS5 server, sends `greeting` and returns the socket and the 2-byte method reply. */
async function greet(port: number, greeting: number[]): Promise<{ sock: Socket; reply: number[] }> {
  const sock = netConnect({ host: "127.0.0.1", port });
  await new Promise<void>((resolve, reject) => {
    sock.once("connect", resolve);
    sock.once("error", reject);
  });
  sock.write(Uint8Array.from(greeting));
  return { sock, reply: [...await readN(sock, 2)] };
}

/** A TLS client handshake over `sock` (the server's certificate is self-signed: not verified). */
async function startTls(sock: Socket): Promise<TLSSocket> {
  const tls = tlsConnect({ socket: sock, rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => {
    tls.once("secureConnect", resolve);
    tls.once("error", reject);
  });
  return tls;
}

/** CONNECT to 127.0.0.1:`port` and a GET of `path` on `tls`; returns the HTTP response. */
async function connectAndGet(tls: TLSSocket, port: number, path: string): Promise<string> {
  tls.write(Uint8Array.from([5, 1, 0, 1, 127, 0, 0, 1, port >> 8, port & 0xff]));
  const rep = await readN(tls, 10);
  equal(rep[1], 0, `CONNECT reply ${[...rep]}`);
  tls.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  return await readToEnd(tls);
}

Deno.test("socks5 server selects 0x82/0x80, runs TLS then auth inside it; notls keeps 0x00/0x02", async () => {
  const origin = httpOrigin();
  const [auth, noTls, open, http] = [freePort(), freePort(), freePort(), freePort()];
  try {
    await using _server = await startGost([
      "-L",
      `socks5://u:p@127.0.0.1:${auth}`,
      "-L",
      `socks5://u:p@127.0.0.1:${noTls}?notls=true`,
      "-L",
      `socks5://127.0.0.1:${open}`,
    ], { listening: 3 });
    await using _client = await startGost(["-L", `http://127.0.0.1:${http}`, "-F", `socks5://u:p@127.0.0.1:${auth}`]);

    // A gost.ts client (offers 00, 02, 80, 82) through the TLS method.
    const viaChain = await curl("-x", `http://127.0.0.1:${http}`, `http://127.0.0.1:${origin.port}/chain`);
    equal(viaChain.stdout, "hello /chain", viaChain.stderr);

    // Offer 02 and 82: the server picks 82, then speaks TLS; RFC 1929 and the request travel inside it.
    {
      const { sock, reply } = await greet(auth, [5, 2, 2, 0x82]);
      deepEqual(reply, [5, 0x82]);
      const tls = await startTls(sock);
      tls.write(Uint8Array.from([1, 1, 0x75, 1, 0x70]));
      deepEqual([...await readN(tls, 2)], [1, 0]);
      ok((await connectAndGet(tls, origin.port, "/tls-auth")).endsWith("hello /tls-auth"));
    }
    // Wrong password inside TLS: refused with status 1.
    {
      const { sock, reply } = await greet(auth, [5, 2, 2, 0x82]);
      deepEqual(reply, [5, 0x82]);
      const tls = await startTls(sock);
      tls.write(Uint8Array.from([1, 1, 0x75, 1, 0x78]));
      deepEqual([...await readN(tls, 2)], [1, 1]);
      tls.destroy();
    }
    // Without an authenticator: 0x80 when offered, and the request follows the TLS handshake at once.
    {
      const { sock, reply } = await greet(open, [5, 2, 0, 0x80]);
      deepEqual(reply, [5, 0x80]);
      const tls = await startTls(sock);
      ok((await connectAndGet(tls, origin.port, "/tls")).endsWith("hello /tls"));
    }
    // notls=true: the same offer gets 0x02 (plain RFC 1929).
    {
      const { sock, reply } = await greet(noTls, [5, 2, 2, 0x82]);
      deepEqual(reply, [5, 2]);
      sock.destroy();
    }
    // curl offers only 00/02: plain user/pass still works on the TLS-capable server.
    const plain = await curl("--socks5", `u:p@127.0.0.1:${auth}`, `http://127.0.0.1:${origin.port}/plain`);
    equal(plain.stdout, "hello /plain", plain.stderr);
  } finally {
    await origin.close();
  }
});

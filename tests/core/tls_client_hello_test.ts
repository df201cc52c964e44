/**
 * core/tls_client_hello.ts on raw bytes: a real ClientHello (node:tls), hellos built field by field (one record,
 * fragmented over records, without extensions), and every malformed input refused with its reason: a hello cut in
 * half, a length past its container, a bad record type or size, a message that is not a ClientHello, a bad server
 * name, a duplicate extension, bytes after the extensions, a hello over the cap.
 */
import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import { HandshakeReader } from "../../core/bufio.ts";
import type { Conn } from "../../core/conn.ts";
import { HandshakeError, UnexpectedEofError } from "../../core/errors.ts";
import { looksLikeTls, parseClientHello, readClientHello } from "../../core/tls_client_hello.ts";
import { captureClientHello } from "../helpers/sni_origins.ts";

/** A conn that reads `data` in `chunk`-sized pieces, then EOF. */
function bytesConn(data: Uint8Array, chunk = data.length || 1): Conn {
  let at = 0;
  const addr = { transport: "tcp", hostname: "127.0.0.1", port: 1 } as Deno.NetAddr;
  return {
    localAddr: addr,
    remoteAddr: addr,
    read(p) {
      if (at >= data.length) return Promise.resolve(null);
      const n = Math.min(p.length, chunk, data.length - at);
      p.set(data.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
    write: (p) => Promise.resolve(p.length),
    closeWrite: () => Promise.resolve(),
    close() {},
  };
}

const u16 = (n: number) => [n >> 8, n & 0xff];
const u24 = (n: number) => [n >> 16, (n >> 8) & 0xff, n & 0xff];
const ascii = (s: string) => [...new TextEncoder().encode(s)];

function ext(type: number, data: number[]): number[] {
  return [...u16(type), ...u16(data.length), ...data];
}
function sni(name: string): number[] {
  const entry = [0, ...u16(name.length), ...ascii(name)];
  return ext(0, [...u16(entry.length), ...entry]);
}
function alpn(...names: string[]): number[] {
  const list = names.flatMap((n) => [n.length, ...ascii(n)]);
  return ext(16, [...u16(list.length), ...list]);
}

/** A ClientHello body: version, random, an empty session id, one suite, null compression, the extensions. */
function body(exts: number[] | null, opts: { sid?: number; suites?: number[] } = {}): number[] {
  const sid = opts.sid ?? 0;
  const suites = opts.suites ?? [0x13, 0x01];
  const out = [0x03, 0x03, ...new Array(32).fill(7), sid, ...new Array(sid).fill(1), ...u16(suites.length), ...suites];
  out.push(1, 0);
  if (exts) out.push(...u16(exts.length), ...exts);
  return out;
}

/** The handshake message (type 1, 3-byte length) framed in records of at most `max` bytes. */
function records(b: number[], max = 16384, type = 0x01): Uint8Array {
  const msg = [type, ...u24(b.length), ...b];
  const out: number[] = [];
  for (let i = 0; i < msg.length; i += max) {
    const part = msg.slice(i, i + max);
    out.push(0x16, 0x03, 0x01, ...u16(part.length), ...part);
  }
  return new Uint8Array(out);
}

const read = (bytes: Uint8Array, chunk?: number) => readClientHello(new HandshakeReader(bytesConn(bytes, chunk)));

Deno.test("ClientHello: a real node:tls hello gives its server name and ALPN; the raw records are kept byte for byte", async () => {
  const raw = await captureClientHello("www.Example.test", ["h2", "http/1.1"]);
  const { hello, raw: kept } = await read(raw, 7);
  equal(hello.serverName, "www.example.test");
  deepEqual(hello.alpn, ["h2", "http/1.1"]);
  ok(hello.supportedVersions.includes(0x0304));
  deepEqual(kept, raw);
  ok(looksLikeTls(raw));
});

Deno.test("ClientHello: built hellos: one record, fragmented over records, without extensions, what follows stays", async () => {
  const b = body([...sni("a.test"), ...alpn("http/1.1"), ...ext(43, [4, 0x03, 0x04, 0x03, 0x03])]);
  let r = await read(records(b));
  deepEqual(r.hello, {
    serverName: "a.test",
    alpn: ["http/1.1"],
    version: 0x0303,
    supportedVersions: [0x0304, 0x0303],
  });
  // fragmented into 10-byte records
  const frag = records(b, 10);
  r = await read(frag, 3);
  equal(r.hello.serverName, "a.test");
  deepEqual(r.raw, frag);
  // no extensions at all: no name
  r = await read(records(body(null)));
  equal(r.hello.serverName, "");
  // the bytes after the hello are left in the reader
  const after = new Uint8Array([...records(b), 0x17, 0x03, 0x03]);
  const reader = new HandshakeReader(bytesConn(after));
  await readClientHello(reader);
  deepEqual(await reader.readFull(3), new Uint8Array([0x17, 0x03, 0x03]));
});

Deno.test("ClientHello: malformed input is refused with its reason", async () => {
  const good = records(body(sni("a.test")));
  // cut in half, and cut inside the record header
  await rejects(
    read(good.subarray(0, good.length >> 1)),
    (e) => e instanceof UnexpectedEofError && /cut short/.test(e.message),
  );
  await rejects(read(good.subarray(0, 3)), UnexpectedEofError);
  // a record that is not a handshake, a record over 2^14, an empty record
  await rejects(read(new Uint8Array([0x17, 0x03, 0x03, 0x00, 0x05, 1, 2, 3, 4, 5])), /expected a TLS handshake record/);
  await rejects(read(new Uint8Array([0x16, 0x03, 0x01, 0x48, 0x01])), /TLS record of 18433 bytes/);
  await rejects(read(new Uint8Array([0x16, 0x03, 0x01, 0x00, 0x00])), /TLS record of 0 bytes/);
  // a handshake message that is not a ClientHello (a ServerHello)
  await rejects(read(records(body(null), 16384, 0x02)), /not a ClientHello/);
  // a hello over the cap
  await rejects(
    readClientHello(new HandshakeReader(bytesConn(records(body(ext(21, new Array(3000).fill(0)))))), 1024),
    /ClientHello of \d+ bytes \(at most 1024\)/,
  );
  // field lengths past their container
  const cases: [number[], RegExp][] = [
    [body(null, { sid: 33 }), /session_id of 33 bytes/],
    [body(null, { suites: [0x13] }), /cipher_suites of 1 bytes/],
    [[...body(null).slice(0, -2), 0], /no compression method/],
    [[...body(sni("a.test")), 0], /1 bytes after the extensions/],
    [body([...sni("a.test"), ...sni("b.test")]), /extension 0x0 appears twice/],
    [body(ext(0, [0, 9, 0, 0, 3, 0x61])), /runs past its container/],
    [body(sni("bad name!")), /invalid server name "bad name!"/],
    [body(sni("a..test")), /invalid server name/],
    [body(alpn("")), /empty ALPN protocol name/],
    [body([0, 0, 0, 50]), /runs past its container/],
  ];
  for (const [b, want] of cases) {
    throws(
      () => parseClientHello(new Uint8Array(b)),
      (e) => e instanceof HandshakeError && want.test(e.message),
      String(want),
    );
  }
  // the extensions block's own length past the hello
  const long = body(sni("a.test"));
  const at = long.length - sni("a.test").length - 2;
  long[at] = 0x10;
  match(
    (() => {
      try {
        parseClientHello(new Uint8Array(long));
        return "";
      } catch (e) {
        return (e as Error).message;
      }
    })(),
    /runs past its container/,
  );
});

/**
 * Bypass and admission rules are matched in the form a target is dialed: other spellings of an address (inet_aton
 * forms, IPv4-mapped IPv6, a trailing dot, case), a name that resolves into a bypassed range, and datagrams sent by
 * relay UDP BIND and SOCKS5 UDP ASSOCIATE are all refused by a rule on the address (issue 10, item 3).
 */
import { deepEqual, equal, match, notEqual, ok } from "node:assert/strict";
import { closeQuietly } from "../../core/conn.ts";
import { HandshakeReader } from "../../core/bufio.ts";
import {
  Cmd,
  decodeTunHeader,
  encodeRequest,
  encodeTunHeader,
  FLAG_UDP,
  readResponse,
  tunHeaderLength,
} from "../../handlers/relay/wire.ts";
import { freePort, startGost } from "../helpers/gost.ts";
import { curl } from "../helpers/run.ts";
import { connectStatus } from "./support.ts";
import { eventually } from "../helpers/wait.ts";
import { httpOrigin } from "../helpers/servers.ts";

/** Spellings the system resolver reads as 127.0.0.1 (issue 10), and the forms the canonicaliser also folds. */
const SPELLINGS = ["127.1", "127.0.1", "2130706433", "0x7f000001", "0x7f.0.0.1", "0177.0.0.1"];
const FOLDED = ["[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "127.0.0.1.", "0.0.0.0", "0"];
const BYPASS = "bypass=127.0.0.0/8,::1,localhost";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** An absolute-form GET through the http proxy (--request-target keeps the spelling): the status. */
async function httpGet(proxy: number, host: string, port: number): Promise<string> {
  const r = await curl(
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    "-x",
    `http://127.0.0.1:${proxy}`,
    "--request-target",
    `http://${host}:${port}/`,
    "http://x/",
  );
  return r.stdout;
}

/** CONNECT through SOCKS5 with the host sent as a domain, spelled as is: curl's stderr (names the REP code). */
async function socksHostname(
  proxy: number,
  host: string,
  port: number,
): Promise<{ code: number; stderr: string; stdout: string }> {
  return await curl("--socks5-hostname", `127.0.0.1:${proxy}`, "--connect-to", `x:80:${host}:${port}`, "http://x/");
}

Deno.test("bypass 127.0.0.0/8,::1,localhost refuses every spelling of 127.0.0.1 through http and socks5; a permitted target works", async () => {
  const origin = httpOrigin();
  const permitted = Deno.serve({ hostname: "127.0.0.2", port: 0, onListen() {} }, () => new Response("permitted"));
  const [h, s, a] = [freePort(), freePort(), freePort()];
  await using _g = await startGost([
    "-L",
    `http://127.0.0.1:${h}?${BYPASS}`,
    "-L",
    `socks5://127.0.0.1:${s}?${BYPASS}`,
    "-L",
    `auto://127.0.0.1:${a}?bypass=127.0.0.1,::1,localhost`,
  ], { listening: 3 });
  try {
    for (const sp of [...SPELLINGS, ...FOLDED]) {
      equal(await connectStatus(h, sp, origin.port), "403", `http CONNECT ${sp}`);
      equal(await httpGet(h, sp, origin.port), "403", `http GET ${sp}`);
      const r = await socksHostname(s, sp, origin.port);
      equal(r.code, 97, `socks5 ${sp}: ${r.stderr}`);
      match(r.stderr, /\(2\)/, `socks5 ${sp} answers REP 0x02`);
    }
    // --socks5: curl resolves and sends an address (ATYP 1 or 4)
    for (
      const url of [
        `http://[::ffff:127.0.0.1]:${origin.port}/`,
        `http://127.1:${origin.port}/`,
        `http://localhost:${origin.port}/`,
      ]
    ) {
      const r = await curl("--socks5", `127.0.0.1:${s}`, url);
      match(r.stderr, /\(2\)/, `socks5 ${url}: ${r.stderr}`);
    }
    equal(origin.requests, 0, "no refused request reached the origin");
    // the same canonical path admits what the rule does not name, however it is spelled
    const p = (permitted.addr as Deno.NetAddr).port;
    for (const sp of ["127.0.0.2", "0x7f000002", "127.2"]) {
      const via = await curl("-x", `http://127.0.0.1:${a}`, "--connect-to", `x:80:${sp}:${p}`, "http://x/");
      equal(via.stdout, "permitted", `${sp}: ${via.stderr}`);
      const socks = await socksHostname(a, sp, p);
      equal(socks.stdout, "permitted", `socks5 ${sp}: ${socks.stderr}`);
    }
    equal(await connectStatus(a, "0x7f.1", origin.port), "403");
  } finally {
    await permitted.shutdown();
    await origin.close();
  }
});

Deno.test("a name that resolves into a bypassed range is refused: localhost (/etc/hosts) and a hosts mapping", async () => {
  const origin = httpOrigin();
  const [h, s] = [freePort(), freePort()];
  const rules = "bypass=127.0.0.0/8,::1&hosts=evil.test:127.0.0.1";
  await using _g = await startGost(["-L", `http://127.0.0.1:${h}?${rules}`, "-L", `socks5://127.0.0.1:${s}?${rules}`], {
    listening: 2,
  });
  try {
    for (const name of ["localhost", "LOCALHOST.", "evil.test", "EVIL.test."]) {
      equal(await connectStatus(h, name, origin.port), "403", `http CONNECT ${name}`);
      equal(await httpGet(h, name, origin.port), "403", `http GET ${name}`);
      const r = await socksHostname(s, name, origin.port);
      match(r.stderr, /\(2\)/, `socks5 ${name}: ${r.stderr}`);
    }
    equal(origin.requests, 0);
  } finally {
    await origin.close();
  }
});

Deno.test("admission matches the canonical client address: an IPv4-mapped client of a dual-stack listener", async () => {
  const origin = httpOrigin();
  const [denied, admitted] = [freePort(), freePort()];
  await using g = await startGost([
    "-D",
    "-L",
    `http://[::]:${denied}?admission=127.0.0.0/8`,
    "-L",
    `http://[::]:${admitted}?admission=~127.0.0.1`,
  ], { listening: 2 });
  try {
    const r = await curl("-x", `http://127.0.0.1:${denied}`, `http://127.0.0.1:${origin.port}/`);
    notEqual(r.code, 0, "a blacklisted client is refused whatever form its address has on the socket");
    // the listener shows the IPv4-mapped client as Go prints it (listeners/addr.ts); admission matches either form
    const deniedLine = /admission: 127\.0\.0\.1:\d+ is denied/;
    ok(await eventually(() => g.lines.some((l) => deniedLine.test(l))), g.lines.join("\n"));
    const ok200 = await curl("-x", `http://127.0.0.1:${admitted}`, `http://127.0.0.1:${origin.port}/in`);
    equal(ok200.stdout, "hello /in", ok200.stderr);
    equal(origin.requests, 1);
  } finally {
    await origin.close();
  }
});

/** Settles like `p`, or fails after 10 s (a hang guard: the result is awaited, not timed). */
async function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error(`no ${what} in 10 s`)), 10_000)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** A UDP echo that records what it received, in order. */
function recordingEcho(hostname = "0.0.0.0"): { port: number; got: string[]; close(): void } {
  const sock = Deno.listenDatagram({ hostname, port: 0, transport: "udp" });
  const got: string[] = [];
  (async () => {
    const buf = new Uint8Array(2048);
    for (;;) {
      const [d, from] = await sock.receive(buf);
      got.push(dec.decode(d));
      await sock.send(d, from);
    }
  })().catch(() => {});
  return { port: (sock.addr as Deno.NetAddr).port, got, close: () => closeQuietly(sock) };
}

Deno.test("relay UDP BIND drops datagrams to a bypassed target in any spelling, sends the others", async () => {
  const echo = recordingEcho();
  const port = freePort();
  await using _g = await startGost(["-L", `relay://127.0.0.1:${port}?bind=true&bypass=127.0.0.1,::1,localhost`]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      encodeRequest({ cmd: Cmd.Bind, flags: FLAG_UDP, features: [{ kind: "addr", host: "127.0.0.1", port: 0 }] }),
    );
    const r = new HandshakeReader(conn);
    equal((await readResponse(r)).status, 0);
    const frame = (host: string, text: string) => {
      const data = enc.encode(text);
      const head = encodeTunHeader(host, echo.port, data.length);
      const out = new Uint8Array(head.length + data.length);
      out.set(head);
      out.set(data, head.length);
      return out;
    };
    // frames are sent in order from one socket: an echo of a refused one would come first
    for (const sp of ["127.0.0.1", ...SPELLINGS, "::ffff:127.0.0.1", "localhost", "0.0.0.0"]) {
      await conn.write(frame(sp, `refused ${sp}`));
    }
    await conn.write(frame("127.0.0.2", "permitted"));
    // the first frame back is the permitted echo: its datagram was sent after every refused one
    const start = await within(r.readFull(5), "the permitted echo");
    const head = new Uint8Array(tunHeaderLength(start));
    head.set(start);
    head.set(await r.readFull(head.length - 5), 5);
    const h = decodeTunHeader(head);
    equal(dec.decode(await r.readFull(h.dataLen)), "permitted");
    deepEqual(echo.got, ["permitted"], "only the permitted datagram was sent");
  } finally {
    conn.close();
    echo.close();
  }
});

Deno.test("SOCKS5 UDP ASSOCIATE drops datagrams to a bypassed target in any spelling, sends the others", async () => {
  const refused = recordingEcho("127.0.0.1");
  const permitted = recordingEcho("127.0.0.2");
  const port = freePort();
  await using _g = await startGost(["-L", `socks5://127.0.0.1:${port}?udp=true&bypass=127.0.0.1,::1,localhost`]);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const r = new HandshakeReader(conn);
    await conn.write(new Uint8Array([5, 1, 0]));
    deepEqual([...await r.readFull(2)], [5, 0]);
    await conn.write(new Uint8Array([5, 3, 0, 1, 0, 0, 0, 0, 0, 0]));
    const reply = await r.readFull(10);
    equal(reply[1], 0, "ASSOCIATE succeeded");
    const relay = { transport: "udp" as const, hostname: "127.0.0.1", port: (reply[8] << 8) | reply[9] };
    const datagram = (host: string, port: number, text: string) => {
      const name = enc.encode(host);
      return new Uint8Array([0, 0, 0, 3, name.length, ...name, port >> 8, port & 0xff, ...enc.encode(text)]);
    };
    // the server relays one datagram at a time: a refused one would be sent before the permitted one
    for (const sp of ["127.0.0.1", ...SPELLINGS, "::ffff:127.0.0.1", "localhost", "0.0.0.0"]) {
      await udp.send(datagram(sp, refused.port, `refused ${sp}`), relay);
    }
    await udp.send(datagram("127.0.0.2", permitted.port, "permitted"), relay);
    const [back] = await within(udp.receive(new Uint8Array(2048)), "the permitted echo");
    const headerLen = back[3] === 1 ? 10 : back[3] === 4 ? 22 : 7 + back[4];
    equal(dec.decode(back.subarray(headerLen)), "permitted");
    // a probe sent now reaches the refused echo after anything the server sent it before
    await udp.send(enc.encode("probe"), { transport: "udp", hostname: "127.0.0.1", port: refused.port });
    await within(udp.receive(new Uint8Array(2048)), "the probe echo");
    deepEqual(refused.got, ["probe"], "no refused datagram was sent");
    deepEqual(permitted.got, ["permitted"]);
  } finally {
    udp.close();
    conn.close();
    refused.close();
    permitted.close();
  }
});

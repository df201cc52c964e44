/**
 * The `dns` handler in-process, behind the `dns` listener, against an upstream the test answers by hand: one upstream
 * exchange for a question asked by many clients at once, the `concurrency` cap (SERVFAIL beyond it), failover past
 * a dead nameserver, GOST's `async` (the expired answer served while the refresh is pending), a whitelist bypass that
 * answers names but leaves the nameservers reachable (the handler is registered `ownBypass`), and the listener's
 * TCP framing with pipelined queries and replies that overtake each other.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { createLogger, MemorySink } from "../../../core/log.ts";
import { parseConfig } from "../../../core/config/load.ts";
import { nopLogger } from "../../../core/log.ts";
import { Runtime } from "../../../core/runtime/runtime.ts";
import type { Service } from "../../../core/service/service.ts";
import {
  CLASS_IN,
  decodeMessage,
  type DnsMessage,
  DnsType,
  encodeMessage,
  encodeQuery,
  Rcode,
} from "../../../core/routing/dns_wire.ts";
import { DnsHandler } from "../../../handlers/dns/handler.ts";
import { DnsListener } from "../../../listeners/dns/listener.ts";
import { createBuiltinRegistries } from "../../../mod.ts";
import { startService } from "../../helpers/service.ts";
import { until } from "../../helpers/wait.ts";

/** An upstream nameserver over UDP that the test answers by hand. */
class ManualDns implements AsyncDisposable {
  readonly sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  readonly queries: { m: DnsMessage; from: Deno.Addr }[] = [];
  readonly #loop: Promise<void>;
  constructor() {
    this.#loop = (async () => {
      try {
        for (;;) {
          const [d, from] = await this.sock.receive();
          this.queries.push({ m: decodeMessage(d), from });
        }
      } catch {
        // closed
      }
    })();
  }
  get port(): number {
    return (this.sock.addr as Deno.NetAddr).port;
  }
  /** Answers query `i` with an A record. */
  async answer(i: number, address: string, ttl: number): Promise<void> {
    const { m, from } = this.queries[i];
    const reply = encodeMessage({
      ...m,
      qr: true,
      ra: true,
      answers: [{ name: m.questions[0].name, type: DnsType.A, class: CLASS_IN, ttl, address }],
      authorities: [],
      additionals: [],
    });
    await this.sock.send(reply, from);
  }
  async [Symbol.asyncDispose]() {
    this.sock.close();
    await this.#loop;
  }
}

/** A UDP client socket that sends queries to `port` and reads the replies. */
function client(port: number) {
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port };
  return {
    send: (id: number, name: string) => sock.send(encodeQuery(id, name, DnsType.A), to),
    reply: async () => decodeMessage((await sock.receive())[0]),
    close: () => sock.close(),
  };
}

async function startDns(metadata: Record<string, unknown>, stats = true) {
  let handler: DnsHandler | undefined;
  const sink = new MemorySink();
  const svc = await startService({
    handler: (o) => (handler = new DnsHandler(o)),
    listenerFactory: (o) => new DnsListener(o),
    listenerMetadata: { mode: metadata.mode ?? "udp" },
    metadata,
    stats,
    logger: createLogger({ level: "debug" }, sink),
  });
  return { svc, handler: handler!, sink };
}

Deno.test("dns handler: many clients asking one question at once make one upstream exchange", async () => {
  await using up = new ManualDns();
  const { svc } = await startDns({ dns: [`udp://127.0.0.1:${up.port}`] });
  await using _svc = svc;
  const c = client(svc.port);
  try {
    for (let i = 0; i < 20; i++) await c.send(1000 + i, "same.test");
    await until(() => svc.service.stats!.currentConns === 20, "20 queries in the handler");
    equal(up.queries.length, 1, "one exchange for the 20 queries");
    await up.answer(0, "10.1.1.1", 60);
    const ids = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const m = await c.reply();
      equal(m.answers[0].address, "10.1.1.1");
      ids.add(m.id);
    }
    equal(ids.size, 20, "each client got its own id back");
    equal(up.queries.length, 1);
  } finally {
    c.close();
  }
});

Deno.test("dns handler: beyond `concurrency` exchanges in flight a query gets SERVFAIL; a silent nameserver is failed over and skipped", async () => {
  await using up = new ManualDns();
  const { svc, sink } = await startDns({ dns: [`udp://127.0.0.1:${up.port}`], concurrency: 2, timeout: "5s" });
  await using _svc = svc;
  const c = client(svc.port);
  try {
    await c.send(1, "one.test");
    await c.send(2, "two.test");
    await until(() => up.queries.length === 2, "two exchanges in flight");
    await c.send(3, "three.test");
    const busy = await c.reply();
    deepEqual([busy.id, busy.rcode], [3, Rcode.SERVFAIL]);
    await until(() => sink.lines.some((l) => l.includes("2 upstream exchanges in flight")), "the busy line");
    await up.answer(0, "10.0.0.1", 60);
    await up.answer(1, "10.0.0.2", 60);
    const got = [await c.reply(), await c.reply()].map((m) => [m.id, m.answers[0].address]).sort();
    deepEqual(got, [[1, "10.0.0.1"], [2, "10.0.0.2"]]);
  } finally {
    c.close();
  }

  // failover: a silent nameserver first (300 ms timeout), then the manual one; the silent one is marked failed
  // and skipped by the next query
  await using silent = new ManualDns();
  const { svc: svc2 } = await startDns({
    dns: [`udp://127.0.0.1:${silent.port}`, `udp://127.0.0.1:${up.port}`],
    timeout: "300ms",
  });
  await using _svc2 = svc2;
  const c2 = client(svc2.port);
  try {
    await c2.send(7, "next.test");
    await until(() => up.queries.length === 3, "the second nameserver asked after the first timed out");
    equal(silent.queries.length, 1);
    await up.answer(2, "10.0.0.7", 60);
    equal((await c2.reply()).answers[0].address, "10.0.0.7");
    await c2.send(8, "later.test");
    await until(() => up.queries.length === 4, "the next query");
    equal(silent.queries.length, 1, "the failed nameserver was skipped");
    await up.answer(3, "10.0.0.8", 60);
    equal((await c2.reply()).answers[0].address, "10.0.0.8");
  } finally {
    c2.close();
  }
});

Deno.test("dns handler: async serves the expired answer while the refresh is pending, then the new one", async () => {
  await using up = new ManualDns();
  const { svc, handler } = await startDns({ dns: [`udp://127.0.0.1:${up.port}`], async: true });
  await using _svc = svc;
  const c = client(svc.port);
  try {
    await c.send(1, "async.test");
    await until(() => up.queries.length === 1, "the first exchange");
    await up.answer(0, "10.0.0.1", 1);
    equal((await c.reply()).answers[0].address, "10.0.0.1");
    // once the 1 s TTL is over the answer is stale: the next query gets it at once and starts a refresh
    await until(() => handler.cache.get(keyOf("async.test"), true)?.fresh === false, "the answer to expire", 5000);
    await c.send(2, "async.test");
    const stale = await c.reply();
    deepEqual([stale.id, stale.answers[0].address, stale.answers[0].ttl], [2, "10.0.0.1", 1]);
    await until(() => up.queries.length === 2, "the background refresh");
    await up.answer(1, "10.0.0.2", 60);
    await until(async () => {
      await c.send(3, "async.test");
      return (await c.reply()).answers[0].address === "10.0.0.2";
    }, "the refreshed answer");
    equal(up.queries.length, 2, "the stale answer was served without waiting for upstream");
    ok(handler.cacheHits >= 2);
  } finally {
    c.close();
  }
});

/** The cache key dig-less tests use: the question of an A query for `name`. */
function keyOf(name: string): string {
  const labels = name.split(".").map((l) => String.fromCharCode(l.length) + l).join("") + "\0";
  return `${labels}|${DnsType.A}|${CLASS_IN}|0|0`;
}

Deno.test("dns handler: a whitelist bypass answers the names, not the nameservers (registered ownBypass)", async () => {
  await using up = new ManualDns();
  const reg = createBuiltinRegistries();
  const { config } = await parseConfig(
    JSON.stringify({
      services: [{
        name: "d",
        addr: "127.0.0.1:0",
        bypass: "only",
        hosts: "h",
        handler: { type: "dns", metadata: { dns: [`udp://127.0.0.1:${up.port}`] } },
        listener: { type: "dns" },
      }],
      bypasses: [{ name: "only", whitelist: true, matchers: ["allowed.test", "hosted.test"] }],
      hosts: [{ name: "h", mappings: [{ ip: "10.5.5.5", hostname: "hosted.test" }] }],
    }),
    "dns.json",
  );
  const rt = await Runtime.start(config, { reg, logger: nopLogger });
  try {
    const port = ((reg.services.get("d") as Service).addr as Deno.NetAddr).port;
    const c = client(port);
    try {
      await c.send(1, "other.test");
      const empty = await c.reply();
      deepEqual([empty.rcode, empty.answers.length], [Rcode.NOERROR, 0], "not on the whitelist: empty");
      await c.send(2, "hosted.test");
      deepEqual((await c.reply()).answers.map((r) => [r.address, r.ttl]), [["10.5.5.5", 3600]]);
      await c.send(3, "allowed.test");
      await until(() => up.queries.length === 1, "the nameserver, not on the whitelist, reached");
      await up.answer(0, "10.0.0.9", 60);
      equal((await c.reply()).answers[0].address, "10.0.0.9");
    } finally {
      c.close();
    }
  } finally {
    await rt.close();
  }
});

Deno.test("dns listener tcp: pipelined queries on one conn, replies in the order they are ready", async () => {
  await using up = new ManualDns();
  const { svc } = await startDns({ mode: "tcp", dns: [`udp://127.0.0.1:${up.port}`] });
  await using _svc = svc;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: svc.port });
  const frame = (q: Uint8Array) => new Uint8Array([q.length >> 8, q.length & 0xff, ...q]);
  const read = async (): Promise<DnsMessage> => {
    const len = new Uint8Array(2);
    let n = 0;
    while (n < 2) n += (await conn.read(len.subarray(n)))!;
    const body = new Uint8Array((len[0] << 8) | len[1]);
    for (let off = 0; off < body.length;) off += (await conn.read(body.subarray(off)))!;
    return decodeMessage(body);
  };
  try {
    await conn.write(
      new Uint8Array([
        ...frame(encodeQuery(1, "slow.test", DnsType.A)),
        ...frame(encodeQuery(2, "fast.test", DnsType.A)),
      ]),
    );
    await until(() => up.queries.length === 2, "both queries upstream");
    const second = up.queries.findIndex((q) => q.m.questions[0].name === "fast.test");
    await up.answer(second, "10.0.0.2", 60);
    deepEqual([(await read()).id], [2], "the second query's reply first");
    await up.answer(1 - second, "10.0.0.1", 60);
    const first = await read();
    deepEqual([first.id, first.answers[0].address], [1, "10.0.0.1"]);
  } finally {
    conn.close();
  }
});

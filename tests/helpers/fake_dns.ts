/**
 * A tiny authoritative DNS server for tests, on 127.0.0.1 over UDP and TCP (same port), plus DoH (plain HTTP)
 * and DoT front ends. It answers A/AAAA (and a CNAME hop) from a table with TTLs and counts every query.
 */
import { closeQuietly } from "../../core/conn.ts";
import {
  CLASS_IN,
  decodeMessage,
  type DnsMessage,
  type DnsRecord,
  DnsType,
  encodeMessage,
  Rcode,
} from "../../core/routing/dns_wire.ts";

export interface FakeRecord {
  a?: string[];
  aaaa?: string[];
  cname?: string;
  /** TTL in seconds (default 60). */
  ttl?: number;
  /** Answer with this rcode instead. */
  rcode?: number;
  /** UDP answers are truncated (TC, no records); TCP answers are whole. */
  truncate?: boolean;
  /** Reply with these bytes instead of a DNS answer. */
  garbage?: Uint8Array<ArrayBuffer>;
}

export interface FakeQuery {
  transport: "udp" | "tcp" | "doh" | "dot";
  name: string;
  type: number;
  raw: Uint8Array;
}

export interface FakeDnsOptions {
  records: Record<string, FakeRecord>;
  /** Never answer (a dead server that accepts packets). */
  silent?: boolean;
}

export class FakeDns implements AsyncDisposable {
  readonly queries: FakeQuery[] = [];
  readonly #opts: FakeDnsOptions;
  readonly #udp: Deno.DatagramConn;
  readonly #tcp: Deno.Listener;
  readonly #conns = new Set<Deno.Conn>();
  readonly #loops: Promise<void>[] = [];

  private constructor(opts: FakeDnsOptions, udp: Deno.DatagramConn, tcp: Deno.Listener) {
    this.#opts = opts;
    this.#udp = udp;
    this.#tcp = tcp;
    this.#loops.push(this.#serveUdp(), this.#serveTcp());
  }

  /** Binds UDP on 127.0.0.1:0, then TCP on the same port number (retrying on a clash). */
  static start(opts: FakeDnsOptions): FakeDns {
    for (let attempt = 0;; attempt++) {
      const udp = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
      try {
        const tcp = Deno.listen({ hostname: "127.0.0.1", port: (udp.addr as Deno.NetAddr).port });
        return new FakeDns(opts, udp, tcp);
      } catch (err) {
        udp.close();
        if (attempt > 20) throw err;
      }
    }
  }

  get port(): number {
    return (this.#udp.addr as Deno.NetAddr).port;
  }

  /** How many queries for `name` (and `type`, if given) arrived, over any transport. */
  count(name: string, type?: number, transport?: FakeQuery["transport"]): number {
    return this.queries.filter((q) =>
      q.name === name && (type === undefined || q.type === type) && (!transport || q.transport === transport)
    ).length;
  }

  /** Builds the reply to a raw query, or null to stay silent. */
  answer(raw: Uint8Array, transport: FakeQuery["transport"]): Uint8Array<ArrayBuffer> | null {
    let q: DnsMessage;
    try {
      q = decodeMessage(raw);
    } catch {
      return null;
    }
    const question = q.questions[0];
    const name = question?.name.toLowerCase() ?? "";
    this.queries.push({ transport, name, type: question?.type ?? 0, raw: raw.slice() });
    if (this.#opts.silent) return null;
    const rec = this.#opts.records[name];
    const reply: DnsMessage = {
      id: q.id,
      qr: true,
      opcode: 0,
      aa: true,
      tc: false,
      rd: q.rd,
      ra: true,
      rcode: rec ? rec.rcode ?? Rcode.NOERROR : Rcode.NXDOMAIN,
      questions: q.questions,
      answers: [],
      authorities: [],
      additionals: [],
    };
    if (rec?.garbage) return rec.garbage;
    if (rec && reply.rcode === Rcode.NOERROR) {
      if (rec.truncate && transport === "udp") reply.tc = true;
      else reply.answers = this.#records(name, question.type, 0);
      if (!reply.tc && reply.answers.length === 0) {
        const soa = {
          mname: "ns.test",
          rname: "admin.test",
          serial: 1,
          refresh: 60,
          retry: 60,
          expire: 60,
          minimum: 30,
        };
        reply.authorities = [{ name: "test", type: DnsType.SOA, class: CLASS_IN, ttl: rec.ttl ?? 60, soa }];
      }
    }
    return encodeMessage(reply);
  }

  #records(name: string, type: number, depth: number): DnsRecord[] {
    const rec = this.#opts.records[name];
    if (!rec || depth > 4) return [];
    const ttl = rec.ttl ?? 60;
    if (rec.cname) {
      return [
        { name, type: DnsType.CNAME, class: CLASS_IN, ttl, target: rec.cname },
        ...this.#records(rec.cname, type, depth + 1),
      ];
    }
    const list = type === DnsType.A ? rec.a : type === DnsType.AAAA ? rec.aaaa : undefined;
    return (list ?? []).map((address) => ({ name, type, class: CLASS_IN, ttl, address }));
  }

  async #serveUdp() {
    try {
      for (;;) {
        const [data, from] = await this.#udp.receive();
        const reply = this.answer(data, "udp");
        if (reply) await this.#udp.send(reply, from);
      }
    } catch {
      // closed
    }
  }

  async #serveTcp() {
    try {
      for await (const conn of this.#tcp) {
        this.#conns.add(conn);
        this.#loops.push(this.serveStream(conn, "tcp").finally(() => this.#conns.delete(conn)));
      }
    } catch {
      // closed
    }
  }

  /** Serves length-prefixed queries on a stream until EOF (used for TCP and DoT). */
  async serveStream(conn: Deno.Conn, transport: "tcp" | "dot"): Promise<void> {
    try {
      for (;;) {
        const len = await readExactly(conn, 2);
        if (!len) break;
        const raw = await readExactly(conn, (len[0] << 8) | len[1]);
        if (!raw) break;
        const reply = this.answer(raw, transport);
        if (!reply) continue;
        const framed = new Uint8Array(reply.length + 2);
        framed.set([reply.length >> 8, reply.length & 0xff]);
        framed.set(reply, 2);
        await conn.write(framed);
      }
    } catch {
      // reset or closed
    } finally {
      closeQuietly(conn);
    }
  }

  /** A DoH (RFC 8484 POST) handler for Deno.serve. */
  doh = async (req: Request): Promise<Response> => {
    if (new URL(req.url).pathname !== "/dns-query") return new Response("not found", { status: 404 });
    if (req.method !== "POST" || req.headers.get("content-type") !== "application/dns-message") {
      return new Response("bad request", { status: 400 });
    }
    const reply = this.answer(new Uint8Array(await req.arrayBuffer()), "doh");
    if (!reply) return new Response("no answer", { status: 502 });
    return new Response(reply.slice(), { headers: { "content-type": "application/dns-message" } });
  };

  async close(): Promise<void> {
    closeQuietly(this.#udp);
    closeQuietly(this.#tcp);
    for (const c of this.#conns) closeQuietly(c);
    // loops may add more loops while settling
    for (let n = 0; n < this.#loops.length;) {
      const batch = this.#loops.slice(n);
      n = this.#loops.length;
      await Promise.allSettled(batch);
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array | null> {
  const buf = new Uint8Array(n);
  for (let off = 0; off < n;) {
    const k = await conn.read(buf.subarray(off));
    if (k === null) return null;
    off += k;
  }
  return buf;
}

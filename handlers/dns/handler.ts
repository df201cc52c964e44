/**
 * The `dns` handler: GOST's DNS proxy. Each conn the `dns` listener hands over is one query (a datagram conn of one
 * message: its local address is UDP for a UDP client, TCP for TCP, TLS and DoH ones); a datagram conn of another
 * listener is a stream of queries, one per datagram, and a byte stream carries 2-byte-framed queries (RFC 1035
 * §4.2.2). A query is checked (handlers/dns/message.ts), then answered: a bypassed name (class IN) with an empty
 * NOERROR answer (GOST's), an A/AAAA name in the service's hosts with those addresses (TTL 3600, GOST's), else from
 * the cache (handlers/dns/cache.ts), else by an upstream nameserver (handlers/dns/upstream.ts), with the EDNS0
 * client subnet of `clientIP`. Malformed queries get FORMERR (or are dropped: responses, runts), failed exchanges
 * SERVFAIL; either is logged by the service and counted (a client error, a server error). The wire is in
 * docs/wire.md, "DNS proxy".
 * @module
 */
import { type Conn, nextDatagram, writeFull } from "../../core/conn.ts";
import type { ConnContext, Handler, HandlerCounter, HandlerHosts, HandlerOptions } from "../../core/contracts.ts";
import { withDeadline } from "../../core/deadline.ts";
import { errorMessage, HandshakeError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { CLASS_IN, decodeMessage, DnsType, Rcode } from "../../core/routing/dns_wire.ts";
import { parseIP } from "../../core/routing/matcher.ts";
import { cacheKey, DnsCache } from "./cache.ts";
import {
  type AddressAnswer,
  type AnswerLayout,
  forClient,
  headerReply,
  layoutOf,
  ownReply,
  type ParsedQuery,
  parseQuery,
  screenQuery,
  withClientSubnet,
  withoutCookie,
} from "./message.ts";
import { type DnsMetadata, parseDnsMetadata } from "./metadata.ts";
import { type DnsUpstreamReply, Upstreams } from "./upstream.ts";

/** The TTL of the answers made from the hosts table (GOST's, miekg/dns's default). */
export const HOSTS_TTL = 3600;
/** How long a byte-stream client may stay silent between queries. */
const STREAM_IDLE_MS = 10_000;

const RCODE_NAMES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];
const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(DnsType).map(([k, v]) => [v, k]));

/** A question for log lines: `example.com. A`. */
function describe(q: ParsedQuery): string {
  return `${q.question.name}. ${TYPE_NAMES[q.question.type] ?? `TYPE${q.question.type}`}`;
}

/** An upstream answer, kept while it is shared by the queries that waited for it. */
interface Answer {
  readonly bytes: Uint8Array;
  readonly layout: AnswerLayout;
  readonly upstream: string;
}

/** GOST's DNS proxy handler. */
export class DnsHandler implements Handler {
  readonly #opts: HandlerOptions;
  #md!: DnsMetadata;
  #upstreams!: Upstreams;
  #cache!: DnsCache;
  readonly #inflight = new Map<string, Promise<Answer>>();
  #hits = 0;
  #upstreamQueries = 0;

  constructor(opts: HandlerOptions) {
    this.#opts = opts;
  }

  /** Reads the metadata (handlers/dns/mod.ts) and the nameservers. @throws {ConfigError} on a bad value */
  init(md: Metadata): Promise<void> {
    this.#md = parseDnsMetadata(md);
    this.#upstreams = new Upstreams({
      forwarder: this.#opts.forwarder,
      dns: this.#md.dns,
      timeoutMs: this.#md.timeoutMs,
      concurrency: this.#md.concurrency,
      router: this.#opts.router,
      logger: this.#opts.logger,
    });
    this.#cache = new DnsCache({ maxEntries: this.#md.ttlSec < 0 ? 0 : this.#md.cacheSize });
    this.#opts.logger.debug(
      `dns: nameservers ${this.#upstreams.urls.join(", ")}; cache ${this.#md.ttlSec < 0 ? "off" : this.#md.cacheSize}` +
        `${this.#md.ttlSec > 0 ? `, ttl ${this.#md.ttlSec}s` : ""}${this.#md.async ? ", async" : ""}`,
    );
    return Promise.resolve();
  }

  /** Queries answered from the cache. */
  get cacheHits(): number {
    return this.#hits;
  }

  /** The cache (for tests and the bench). */
  get cache(): DnsCache {
    return this.#cache;
  }

  /** `cacheHits` and `upstreamQueries`, in the service's stats and metrics. */
  counters(): readonly HandlerCounter[] {
    return [
      {
        key: "cacheHits",
        metric: "gost_service_dns_cache_hits_total",
        help: "Total DNS queries answered from the DNS proxy's cache",
        value: this.#hits,
      },
      {
        key: "upstreamQueries",
        metric: "gost_service_dns_upstream_queries_total",
        help: "Total DNS queries the DNS proxy sent to its upstream nameservers",
        value: this.#upstreamQueries,
      },
    ];
  }

  async handle(conn: Conn, ctx: ConnContext): Promise<void> {
    try {
      const udp = conn.localAddr.transport === "udp";
      if (conn.datagram) {
        for (let msg = await nextDatagram(conn); msg; msg = await nextDatagram(conn)) {
          await this.#serve(conn, msg.slice(), ctx, udp, false);
        }
        return;
      }
      for (;;) {
        const msg = await withDeadline(conn, this.#md.readTimeoutMs || STREAM_IDLE_MS, () => readFrame(conn));
        if (!msg) return;
        await this.#serve(conn, msg, ctx, false, true);
      }
    } finally {
      conn.close();
    }
  }

  /** Answers one message; throws (after answering) what the service logs and counts. */
  async #serve(conn: Conn, raw: Uint8Array, ctx: ConnContext, udp: boolean, framed: boolean): Promise<void> {
    const send = (reply: Uint8Array) => this.#write(conn, reply, framed);
    const screened = screenQuery(raw);
    if (screened.kind === "drop") throw new HandshakeError(`DNS message dropped: ${screened.why}`);
    if (screened.kind === "reject") {
      await send(headerReply(raw, screened.rcode));
      throw new HandshakeError(`DNS query answered ${RCODE_NAMES[screened.rcode]}: ${screened.why}`);
    }
    if (raw.length > this.#md.bufferSize) {
      await send(headerReply(raw, Rcode.FORMERR));
      throw new HandshakeError(
        `DNS query answered FORMERR: ${raw.length} bytes, over bufferSize ${this.#md.bufferSize}`,
      );
    }
    let q: ParsedQuery;
    try {
      q = parseQuery(raw);
    } catch (err) {
      await send(headerReply(raw, Rcode.FORMERR));
      throw new HandshakeError(`DNS query answered FORMERR: ${errorMessage(err)}`, { cause: err });
    }
    const log = ctx.logger;
    const { name, type, class: cls } = q.question;
    ctx.dst = name;
    const bypass = this.#opts.bypass?.();
    if (cls === CLASS_IN && bypass?.contains("udp", name)) {
      if (log.enabled("debug")) log.debug(`bypass: ${name}`);
      return await send(ownReply(q, Rcode.NOERROR));
    }
    const hosted = cls === CLASS_IN ? hostsAnswers(this.#opts.hosts?.(), name, type) : [];
    if (hosted.length) {
      if (log.enabled("debug")) log.debug(`hit host mapper: ${name} -> ${hosted.map((a) => a.text).join(", ")}`);
      return await send(ownReply(q, Rcode.NOERROR, hosted));
    }
    const key = cacheKey(q);
    const hit = this.#cache.get(key, this.#md.async);
    if (hit) {
      this.#hits++;
      if (hit.fresh) {
        if (log.enabled("debug")) log.debug(`message ${q.message.id} (cached): ${describe(q)}`);
      } else {
        // GOST's async: the expired answer now, a fresh one for the next client
        this.#cache.renew(key);
        if (log.enabled("debug")) log.debug(`exchange message ${q.message.id} (async): ${describe(q)}`);
        this.#fetch(q, key, ctx).catch((err) => log.debug(`async exchange for ${name}: ${errorMessage(err)}`));
      }
      return await send(forClient(hit.bytes, hit.layout, q, udp));
    }
    if (log.enabled("debug")) log.debug(`exchange message ${q.message.id}: ${describe(q)}`);
    let answer: Answer;
    try {
      answer = await this.#fetch(q, key, ctx);
    } catch (err) {
      await send(ownReply(q, Rcode.SERVFAIL)).catch(() => {});
      throw err;
    }
    await send(forClient(answer.bytes.slice(), answer.layout, q, udp));
  }

  /** Asks upstream (one exchange for every query of `key` meanwhile) and caches the answer. */
  #fetch(q: ParsedQuery, key: string, ctx: ConnContext): Promise<Answer> {
    const running = this.#inflight.get(key);
    if (running) return running;
    const query = this.#md.clientIP ? withClientSubnet(q, this.#md.clientIP) : q.bytes;
    this.#upstreamQueries++;
    const p = this.#upstreams.exchange(query, ctx).then((r: DnsUpstreamReply): Answer => {
      let bytes: Uint8Array = r.bytes, message = r.message;
      const plain = withoutCookie(bytes, message);
      if (plain !== bytes) [bytes, message] = [plain, decodeMessage(plain)];
      const kept = this.#cache.put(key, bytes, message, this.#md.ttlSec);
      if (kept && ctx.logger.enabled("debug")) {
        ctx.logger.debug(`resolver cache store: ${describe(q)}, ttl: ${kept.seconds}s`);
      }
      // the first client gets the answer as the cache keeps it (GOST's ttl, RFC 2308's SOA TTL), as the next ones
      return { bytes: kept?.bytes ?? bytes, layout: layoutOf(message), upstream: r.upstream };
    });
    this.#inflight.set(key, p);
    p.finally(() => this.#inflight.delete(key)).catch(() => {});
    return p;
  }

  /** Writes a reply (2-byte framed on a byte stream), within `readTimeout` when it is set (GOST's write deadline). */
  #write(conn: Conn, reply: Uint8Array, framed: boolean): Promise<void> {
    const bytes = framed ? frame(reply) : reply;
    return withDeadline(conn, this.#md.readTimeoutMs, async () => {
      if (conn.datagram) await conn.write(bytes);
      else await writeFull(conn, bytes);
    });
  }
}

/** The A/AAAA answers the hosts table gives `name` (GOST's host mapper), with their text for the log. */
function hostsAnswers(
  hosts: HandlerHosts | undefined,
  name: string,
  type: number,
): (AddressAnswer & { text: string })[] {
  if (!hosts || (type !== DnsType.A && type !== DnsType.AAAA)) return [];
  const ips = hosts.lookup(type === DnsType.A ? "ip4" : "ip6", name);
  const out: (AddressAnswer & { text: string })[] = [];
  for (const text of ips) {
    const address = parseIP(text);
    if (address) out.push({ address, ttl: HOSTS_TTL, text });
  }
  return out;
}

/** `msg` with its 2-byte length in front (RFC 1035 §4.2.2). */
export function frame(msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(msg.length + 2);
  out[0] = msg.length >> 8;
  out[1] = msg.length & 0xff;
  out.set(msg, 2);
  return out;
}

/**
 * Reads one 2-byte-framed message from a byte stream.
 * @returns the message, or null at EOF before its length
 * @throws {HandshakeError} on a zero length or EOF inside a message
 */
export async function readFrame(conn: Conn): Promise<Uint8Array | null> {
  const len = await readExactly(conn, 2, true);
  if (!len) return null;
  const n = (len[0] << 8) | len[1];
  if (n === 0) throw new HandshakeError("DNS message of length 0");
  return (await readExactly(conn, n, false))!;
}

async function readExactly(conn: Conn, n: number, eofOk: boolean): Promise<Uint8Array | null> {
  const buf = new Uint8Array(n);
  for (let off = 0; off < n;) {
    const k = await conn.read(buf.subarray(off));
    if (k === null) {
      if (off === 0 && eofOk) return null;
      throw new HandshakeError(`DNS stream ended after ${off} of ${n} bytes`);
    }
    off += k;
  }
  return buf;
}

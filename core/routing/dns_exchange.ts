/**
 * One DNS exchange with one upstream nameserver — `udp://ip[:53]` (the default scheme), `tcp://ip[:53]`, `tls://` or
 * `dot://ip[:853]` (DNS over TLS, RFC 7858), `https://host/dns-query` (DoH, RFC 8484 POST) — shared by the
 * resolver (core/routing/resolver.ts) and the `dns` proxy handler (handlers/dns/). A query goes out with an id of
 * its own (random; 0 over DoH, as RFC 8484 recommends) and the answer comes back with the query's id; an answer
 * that is not a response to that question is ignored over UDP (garbage and spoofs are waited past until the
 * deadline) and an error over TCP, TLS and DoH. A truncated UDP answer is asked again over TCP. TCP and TLS frame
 * each message with a 2-byte length (RFC 1035 §4.2.2). DoH goes through `fetch`, or, when the caller dials the
 * conns (a chain), as one HTTP/1.1 POST over a conn of its own. Everything opened for an exchange is closed when it
 * ends or its timeout passes. The wire is in docs/wire.md, "DNS proxy".
 * @module
 */
import { HandshakeReader } from "../bufio.ts";
import { concatBytes } from "../bytes.ts";
import { closeQuietly, type Conn, joinHostPort, writeFull } from "../conn.ts";
import { ConfigError, DialError, HandshakeError, TimeoutError } from "../errors.ts";
import { parseDuration } from "../metadata.ts";
import { dialUdp } from "../udp.ts";
import { parseChunkSize, responseFraming } from "../http1/framing.ts";
import { latin1Encode, parseResponseHead } from "../http1/head.ts";
import { readHead, readLine } from "../http1/reader.ts";
import { decodeMessage, type DnsMessage, type DnsQuestion } from "./dns_wire.ts";

/** The largest DNS message (a 2-byte length frames it over TCP). */
export const MAX_DNS_MESSAGE = 65_535;

/**
 * The default per-exchange timeout in ms.
 * @example parseDnsUpstream("9.9.9.9", { timeout: DEFAULT_DNS_TIMEOUT_MS * 2 })
 */
export const DEFAULT_DNS_TIMEOUT_MS = 5_000;

/** How a nameserver is reached. */
export type DnsScheme = "udp" | "tcp" | "tls" | "https";

/**
 * A nameserver, parsed.
 * @example parseDnsUpstream("tls://1.1.1.1") // { scheme: "tls", host: "1.1.1.1", port: 853, … }
 */
export interface DnsUpstream {
  /** The address as written, with a scheme (`udp://` added when it had none). */
  readonly url: string;
  readonly scheme: DnsScheme;
  readonly host: string;
  readonly port: number;
  /** Deadline of one exchange, in ms. */
  readonly timeoutMs: number;
  /** TLS and DoH: the server name sent and verified. */
  readonly hostname: string;
  /** TLS: extra trusted CA certificates (PEM). */
  readonly caCerts?: string[];
}

/**
 * Options of {@link parseDnsUpstream}.
 * @example const o: DnsUpstreamOptions = { timeout: "3s", hostname: "one.one.one.one" };
 */
export interface DnsUpstreamOptions {
  /** Deadline of one exchange, ms or a Go duration; 0 or unset: {@link DEFAULT_DNS_TIMEOUT_MS}. */
  timeout?: number | string;
  /** TLS: the server name (SNI and certificate check); default the address host. */
  hostname?: string;
  /** TLS: extra trusted CA certificates (PEM). */
  caCerts?: string[];
}

/**
 * Opens a conn to a nameserver (`udp` conns are datagram conns); lets a chain carry the queries.
 * @example const dial: DnsDial = (network, addr) => router.dial(network, addr);
 */
export type DnsDial = (network: "tcp" | "udp", addr: string) => Promise<Conn>;

/**
 * Runs a TLS client handshake over a conn that is not a plain TCP socket (a conn through a chain).
 * @example const tls: DnsTlsWrap = (conn, name) => nodeTlsClient(conn, { servername: name }, 5000);
 */
export type DnsTlsWrap = (conn: Conn, serverName: string, caCerts?: string[]) => Promise<Conn>;

/**
 * How an exchange reaches its nameserver.
 * @example await exchangeDns(up, query, { dial: (n, a) => router.dial(n, a) })
 */
export interface DnsExchangeOptions {
  /** Opens the conns (default: direct UDP and TCP sockets; DoH: `fetch`, else HTTP/1.1 over a dialed conn). */
  dial?: DnsDial;
  /** TLS over a dialed conn that is not a TCP socket (default: such a conn fails with a DialError). */
  tls?: DnsTlsWrap;
}

/**
 * A nameserver's answer.
 * @example const { bytes, message } = await exchangeDns(up, query); message.rcode // 0
 */
export interface DnsReply {
  /** The answer's bytes, its id set to the query's. */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** The answer, decoded (spans point into `bytes`). */
  readonly message: DnsMessage;
}

function toMs(v: number | string | undefined, key: string): number | undefined {
  if (v === undefined || v === "") return undefined;
  return typeof v === "number" ? v : parseDuration(v, key);
}

/**
 * Parses a nameserver address: `[udp|tcp|tls|dot|https]://host[:port][/path]`, no scheme meaning udp; default port
 * 53 (853 for tls, 443 for https; `http://` DoH, port 80, is for tests).
 * @throws {ConfigError} naming the address on an unknown scheme, a bad host or port, or a bad timeout
 * @example parseDnsUpstream("8.8.8.8").url // "udp://8.8.8.8"
 */
export function parseDnsUpstream(addr: string, o: DnsUpstreamOptions = {}): DnsUpstream {
  const raw = addr.trim();
  const url = raw.includes("://") ? raw : `udp://${raw}`;
  const bad = (why: string) => new ConfigError(`Invalid nameserver "${addr}": ${why}`);
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/i.exec(url);
  if (!m) throw bad("expected [udp|tcp|tls|dot|https]://host[:port]");
  const scheme0 = m[1].toLowerCase();
  const scheme: DnsScheme | undefined = scheme0 === "udp" || scheme0 === "tcp"
    ? scheme0
    : scheme0 === "tls" || scheme0 === "dot"
    ? "tls"
    : scheme0 === "https" || scheme0 === "http"
    ? "https"
    : undefined;
  if (!scheme) throw bad(`unknown scheme "${scheme0}"`);
  const hp = /^(?:\[([^\]]+)\]|([^:\[\]]+))(?::(\d{1,5}))?$/.exec(m[2]);
  if (!hp || Number(hp[3] ?? 0) > 65535) throw bad("expected host[:port]");
  const host = hp[1] ?? hp[2];
  const defPort = scheme === "tls" ? 853 : scheme === "https" ? (scheme0 === "http" ? 80 : 443) : 53;
  if (scheme === "https") {
    try {
      new URL(url);
    } catch {
      throw bad("not a URL");
    }
  }
  const timeoutMs = toMs(o.timeout, "timeout") ?? 0;
  return {
    url,
    scheme,
    host,
    port: hp[3] ? Number(hp[3]) : defPort,
    timeoutMs: timeoutMs > 0 ? timeoutMs : DEFAULT_DNS_TIMEOUT_MS,
    hostname: o.hostname?.trim() || host,
    caCerts: o.caCerts,
  };
}

type Track = (c: { close(): void }) => void;

/** Runs `fn` with a deadline; everything `fn` tracks is closed when it ends or expires. */
async function withDeadline<T>(ms: number, what: string, fn: (track: Track) => Promise<T>): Promise<T> {
  const open: { close(): void }[] = [];
  let expired = false, timer: ReturnType<typeof setTimeout> | undefined;
  const track = (c: { close(): void }) => {
    if (expired) { // a dial that finished after the deadline
      closeQuietly(c);
      throw new TimeoutError(`${what} timed out after ${ms} ms`);
    }
    open.push(c);
  };
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      expired = true;
      open.forEach(closeQuietly);
      reject(new TimeoutError(`${what} timed out after ${ms} ms`));
    }, ms);
  });
  const work = fn(track);
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    open.forEach(closeQuietly);
    work.catch(() => {});
  }
}

async function readFull(conn: Conn, n: number): Promise<Uint8Array<ArrayBuffer>> {
  const buf = new Uint8Array(n);
  for (let off = 0; off < n;) {
    const k = await conn.read(buf.subarray(off));
    if (k === null) throw new HandshakeError(`DNS connection closed after ${off} of ${n} bytes`);
    off += k;
  }
  return buf;
}

async function readCapped(res: Response): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const c of res.body ?? []) {
    total += c.length;
    if (total > MAX_DNS_MESSAGE) throw new HandshakeError("DoH answer larger than 65535 bytes");
    chunks.push(c);
  }
  return concatBytes(chunks, total) as Uint8Array<ArrayBuffer>;
}

/** True when `m` is a response with `id` to question `q` (an answer without a question counts). */
function answers(m: DnsMessage, id: number, q: DnsQuestion | undefined): boolean {
  if (!m.qr || m.id !== id) return false;
  const a = m.questions[0];
  return !a || !q || (a.type === q.type && a.class === q.class && a.name.toLowerCase() === q.name.toLowerCase());
}

/** `query` with `id` in its header (a copy). */
function withId(query: Uint8Array, id: number): Uint8Array<ArrayBuffer> {
  const q = new Uint8Array(query);
  q[0] = id >> 8;
  q[1] = id & 0xff;
  return q;
}

/** The reply with the caller's id back in place. */
function reply(bytes: Uint8Array<ArrayBuffer>, message: DnsMessage, id: number): DnsReply {
  bytes[0] = id >> 8;
  bytes[1] = id & 0xff;
  message.id = id;
  return { bytes, message };
}

const randomId = () => crypto.getRandomValues(new Uint16Array(1))[0];

/**
 * Sends `query` (a whole DNS message) to `up` and returns its answer.
 * @throws {TimeoutError} when no answer came within the upstream's timeout
 * @throws {HandshakeError} on a malformed answer over TCP, TLS or DoH, or one to another question
 * @throws {DialError} when the nameserver cannot be reached or DoH answers an HTTP error
 * @example const { message } = await exchangeDns(parseDnsUpstream("tcp://127.0.0.1:5353"), encodeQuery(1, "a.test", 1))
 */
export async function exchangeDns(
  up: DnsUpstream,
  query: Uint8Array,
  opts: DnsExchangeOptions = {},
): Promise<DnsReply> {
  const id = (query[0] << 8) | query[1];
  const q = decodeMessage(query).questions[0];
  const what = `Query ${q?.name ?? "(no question)"} to ${up.url}`;
  if (up.scheme === "https") {
    const r = await withDeadline(
      up.timeoutMs,
      what,
      (track) => opts.dial ? dohOverConn(up, withId(query, 0), q, opts, track) : doh(up, withId(query, 0), q, track),
    );
    return reply(r.bytes, r.message, id);
  }
  const r = await withDeadline(up.timeoutMs, what, async (track) => {
    if (up.scheme === "udp") {
      const r = await udp(up, query, q, opts, track);
      if (!r.message.tc) return r;
    }
    return await stream(up, query, q, opts, track);
  });
  return reply(r.bytes, r.message, id);
}

async function open(up: DnsUpstream, network: "tcp" | "udp", opts: DnsExchangeOptions, track: Track): Promise<Conn> {
  const pending = opts.dial
    ? opts.dial(network, joinHostPort(up.host, up.port))
    : network === "udp"
    ? Promise.resolve(dialUdp(up.host, up.port))
    : Deno.connect({ hostname: up.host, port: up.port, transport: "tcp" });
  const conn = await pending;
  track(conn);
  return conn;
}

async function udp(
  up: DnsUpstream,
  query: Uint8Array,
  q: DnsQuestion | undefined,
  opts: DnsExchangeOptions,
  track: Track,
) {
  const conn = await open(up, "udp", opts, track);
  const id = randomId();
  await conn.write(withId(query, id));
  const buf = new Uint8Array(MAX_DNS_MESSAGE);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) throw new HandshakeError("DNS socket closed");
    let m: DnsMessage;
    const bytes = buf.slice(0, n);
    try {
      m = decodeMessage(bytes);
    } catch {
      continue; // not ours or garbage: keep waiting for the real answer until the deadline
    }
    if (answers(m, id, q)) return { bytes, message: m };
  }
}

async function stream(
  up: DnsUpstream,
  query: Uint8Array,
  q: DnsQuestion | undefined,
  opts: DnsExchangeOptions,
  track: Track,
) {
  let conn = await open(up, "tcp", opts, track);
  if (up.scheme === "tls") conn = await startTls(up, conn, opts, track, []);
  const id = randomId();
  const framed = new Uint8Array(query.length + 2);
  framed.set([query.length >> 8, query.length & 0xff]);
  framed.set(query, 2);
  framed[2] = id >> 8;
  framed[3] = id & 0xff;
  await writeFull(conn, framed);
  const len = await readFull(conn, 2);
  const bytes = await readFull(conn, (len[0] << 8) | len[1]);
  const m = decodeMessage(bytes);
  if (!answers(m, id, q)) throw new HandshakeError(`${up.url} answered another query`);
  return { bytes, message: m };
}

/** TLS over `conn` to `up`: Deno's own over a TCP socket, else `opts.tls`. */
async function startTls(up: DnsUpstream, conn: Conn, opts: DnsExchangeOptions, track: Track, alpn: string[]) {
  let tls: Conn;
  if ("setNoDelay" in conn) {
    tls = await Deno.startTls(conn as Deno.TcpConn, {
      hostname: up.hostname,
      caCerts: up.caCerts,
      ...(alpn.length ? { alpnProtocols: alpn } : {}),
    });
  } else if (opts.tls) tls = await opts.tls(conn, up.hostname, up.caCerts);
  else throw new DialError(up.url, `${up.url}: TLS needs a TCP conn from the dial function`);
  track(tls);
  return tls;
}

const DOH_HEAD_LIMITS = { maxLineBytes: 8 * 1024, maxHeaderBytes: 32 * 1024 };

/** DoH over a conn from `opts.dial` (a chain): one HTTP/1.1 POST on a conn of its own (`Connection: close`). */
async function dohOverConn(
  up: DnsUpstream,
  query: Uint8Array,
  q: DnsQuestion | undefined,
  opts: DnsExchangeOptions,
  track: Track,
) {
  const url = new URL(up.url);
  let conn = await open(up, "tcp", opts, track);
  if (url.protocol === "https:") conn = await startTls(up, conn, opts, track, ["http/1.1"]);
  const head = `POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n` +
    `Content-Type: application/dns-message\r\nAccept: application/dns-message\r\n` +
    `Content-Length: ${query.length}\r\nConnection: close\r\n\r\n`;
  await writeFull(conn, concatBytes([latin1Encode(head), query]));
  const r = new HandshakeReader(conn, 4096);
  const lines = await readHead(r, DOH_HEAD_LIMITS);
  if (!lines) throw new HandshakeError(`DoH ${up.url} closed the connection without an answer`);
  const res = parseResponseHead(lines);
  if (res.status !== 200) throw new DialError(up.url, `DoH ${up.url} answered HTTP ${res.status}`);
  const framing = responseFraming("POST", res.status, res.headers);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const take = (b: Uint8Array) => {
    total += b.length;
    if (total > MAX_DNS_MESSAGE) throw new HandshakeError("DoH answer larger than 65535 bytes");
    chunks.push(b.slice());
  };
  if (framing.kind === "length") {
    if (framing.length > MAX_DNS_MESSAGE) throw new HandshakeError("DoH answer larger than 65535 bytes");
    take(await r.readFull(framing.length));
  } else if (framing.kind === "chunked") {
    for (;;) {
      const size = parseChunkSize(new TextDecoder().decode(await readLine(r, 1024)));
      if (size === 0) break;
      if (total + size > MAX_DNS_MESSAGE) throw new HandshakeError("DoH answer larger than 65535 bytes");
      take(await r.readFull(size));
      await readLine(r, 2);
    }
  } else if (framing.kind === "close") {
    take(r.takeBuffered());
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      take(buf.subarray(0, n));
    }
  }
  const bytes = concatBytes(chunks, total);
  const m = decodeMessage(bytes);
  if (!answers(m, 0, q)) throw new HandshakeError(`${up.url} answered another query`);
  return { bytes, message: m };
}

async function doh(up: DnsUpstream, query: Uint8Array<ArrayBuffer>, q: DnsQuestion | undefined, track: Track) {
  const ctl = new AbortController();
  track({ close: () => ctl.abort() });
  const res = await fetch(up.url, {
    method: "POST",
    headers: { "content-type": "application/dns-message", accept: "application/dns-message" },
    body: query,
    signal: ctl.signal,
  });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new DialError(up.url, `DoH ${up.url} answered HTTP ${res.status}`);
  }
  const bytes = await readCapped(res);
  const m = decodeMessage(bytes);
  if (!answers(m, 0, q)) throw new HandshakeError(`${up.url} answered another query`);
  return { bytes, message: m };
}

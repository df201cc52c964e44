/**
 * The `otls` listener (server side of GOST's obfs-tls, docs/wire.md "obfs-http / obfs-tls"). Each TCP conn must
 * open with one handshake record holding a ClientHello; its session-ticket extension is the first payload the
 * handler reads. The ServerHello and ChangeCipherSpec go out with the server's first write, whose first record is a
 * handshake record; everything after is application-data records both ways (at most 16,384 data bytes each; any
 * other record type, or a longer one, closes the conn). Bytes that are not a ClientHello close the conn with a log
 * line (listeners/handshaking.ts).
 * @module
 */
import { HandshakeReader } from "../../core/bufio.ts";
import { type Conn, ConnWrapper, writeFull } from "../../core/conn.ts";
import { concatBytes } from "../../core/bytes.ts";
import { HandshakeError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ListenerOptions } from "../../core/contracts.ts";
import { HandshakingListener } from "../handshaking.ts";
import {
  APPLICATION_DATA,
  dataRecords,
  HANDSHAKE,
  MAX_RECORD_DATA,
  parseClientHello,
  type RecordCheck,
  RecordReader,
  serverHello,
} from "./records.ts";

/** Default bound on receiving the client's ClientHello. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** obfs-tls listener. */
export class ObfsTlsListener extends HandshakingListener {
  constructor(opts: ListenerOptions) {
    super(opts, "obfs-tls handshake");
  }

  /** Reads `handshakeTimeout` and `reusePort`, and binds. */
  override init(md: Metadata): Promise<void> {
    const timeoutMs = md.duration("handshakeTimeout", DEFAULT_HANDSHAKE_TIMEOUT_MS);
    this.bind(serverHandshake, timeoutMs, md.bool("reusePort"));
    return Promise.resolve();
  }
}

/** Reads the ClientHello record (its length is the record's own cap, 65,535 bytes). */
async function serverHandshake(raw: Conn): Promise<Conn> {
  const r = new HandshakeReader(raw, 4096);
  const h = await r.readFull(5);
  if (h[0] !== HANDSHAKE || h[1] !== 0x03) {
    throw new HandshakeError(`not a TLS handshake record (first bytes ${[...h].map((x) => x.toString(16)).join(" ")})`);
  }
  const hello = parseClientHello(await r.readFull((h[3] << 8) | h[4]));
  const session = hello.session.length === 32 ? hello.session : crypto.getRandomValues(new Uint8Array(32));
  return new ObfsTlsServerConn(raw, hello.ticket, serverHello(session), r.takeBuffered());
}

/** After the ClientHello: application-data records only. */
const clientRecords: RecordCheck = (_i, type, major, _minor, len) => {
  if (type !== APPLICATION_DATA || major !== 0x03) throw new HandshakeError(`unexpected TLS record type ${type}`);
  if (len > MAX_RECORD_DATA) throw new HandshakeError(`TLS record of ${len} bytes (the most is ${MAX_RECORD_DATA})`);
  return { len, skip: false };
};

/** The server's conn: the ticket read first, then records; the ServerHello held for the first write. */
class ObfsTlsServerConn extends ConnWrapper {
  #first: Uint8Array | null;
  #held: Uint8Array | null;
  readonly #records: RecordReader;

  constructor(inner: Conn, first: Uint8Array, held: Uint8Array, rest: Uint8Array) {
    super(inner);
    this.#first = first.length ? first : null;
    this.#held = held;
    this.#records = new RecordReader(inner, clientRecords, rest);
  }

  override read(p: Uint8Array): Promise<number | null> {
    const f = this.#first;
    if (!f) return this.#records.read(p);
    const n = Math.min(p.length, f.length);
    p.set(f.subarray(0, n));
    this.#first = n < f.length ? f.subarray(n) : null;
    return Promise.resolve(n);
  }

  override async write(p: Uint8Array): Promise<number> {
    const h = this.#held;
    this.#held = null;
    await writeFull(this.inner, h ? concatBytes([h, dataRecords(p, HANDSHAKE)]) : dataRecords(p));
    return p.length;
  }

  override async closeWrite(): Promise<void> {
    const h = this.#held;
    this.#held = null;
    if (h) await writeFull(this.inner, concatBytes([h, dataRecords(new Uint8Array(0), HANDSHAKE)]));
    await this.inner.closeWrite();
  }
}

/**
 * The `otls` dialer (client side of GOST's obfs-tls, docs/wire.md "obfs-http / obfs-tls"): nothing is sent until
 * the first write, which goes out as the ClientHello with the payload in its session ticket (up to 15,872 bytes;
 * the rest follows as application-data records). Reads check the server's records in GOST's order: the ServerHello
 * (skipped as 91 bytes), the ChangeCipherSpec (1 byte), a handshake record of data, then application data.
 * @module
 */
import { type Conn, ConnWrapper, writeFull } from "../../core/conn.ts";
import { concatBytes } from "../../core/bytes.ts";
import { ConfigError, HandshakeError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, Dialer, DialOptions } from "../../core/contracts.ts";
import { DEFAULT_DIAL_TIMEOUT_MS } from "../../core/routing/router.ts";
import { dialTcpNode } from "../tcp/dialer.ts";
import {
  APPLICATION_DATA,
  CHANGE_CIPHER_SPEC,
  clientHello,
  dataRecords,
  HANDSHAKE,
  MAX_RECORD_DATA,
  MAX_TICKET,
  type RecordCheck,
  RecordReader,
} from "./records.ts";

/** obfs-tls dialer. */
export class ObfsTlsDialer implements Dialer {
  #host = "";
  #dialMs = DEFAULT_DIAL_TIMEOUT_MS;

  constructor(_opts: ClientPluginOptions) {}

  /** Reads `host` (the SNI) and `dialTimeout` (timeout). */
  init(md: Metadata): Promise<void> {
    this.#host = md.string("host");
    if (this.#host.length > 255 || /[\s]/.test(this.#host)) {
      return Promise.reject(
        new ConfigError(`"host" = ${JSON.stringify(this.#host)}: a server name of up to 255 bytes`),
      );
    }
    this.#dialMs = md.duration(["dialTimeout", "timeout"], DEFAULT_DIAL_TIMEOUT_MS);
    return Promise.resolve();
  }

  /** @throws {DialError} naming `addr` when the TCP connect fails */
  async dial(addr: string, opts: DialOptions = {}): Promise<Conn> {
    return await this.handshake(await dialTcpNode("otls", addr, this.#dialMs, opts.signal), addr);
  }

  /** Wraps a conn to the node; the SNI is `host`, else `addr` as GOST sends it (with the port). */
  handshake(conn: Conn, addr: string, _opts?: DialOptions): Promise<Conn> {
    return Promise.resolve(new ObfsTlsClientConn(conn, this.#host || addr));
  }
}

/** The server's records in GOST's order (docs/wire.md). */
const serverRecords: RecordCheck = (i, type, major, minor, len) => {
  const want = i === 0 ? [HANDSHAKE, 0x01] : i === 1 ? [CHANGE_CIPHER_SPEC, 0x03] : [
    i === 2 ? HANDSHAKE : APPLICATION_DATA,
    0x03,
  ];
  if (type !== want[0] || major !== 0x03 || minor !== want[1]) {
    throw new HandshakeError(`obfs-tls server record ${i}: type ${type} version 3.${minor}, expected ${want[0]}`);
  }
  if (i === 0) return { len: 91, skip: true }; // the ServerHello, whatever length it declares (as GOST)
  if (i === 1) return { len: 1, skip: true };
  if (len > MAX_RECORD_DATA) throw new HandshakeError(`TLS record of ${len} bytes (the most is ${MAX_RECORD_DATA})`);
  return { len, skip: false };
};

/** The client's conn: the ClientHello with the first write, records after. */
class ObfsTlsClientConn extends ConnWrapper {
  readonly #host: string;
  #sent = false;
  readonly #records: RecordReader;

  constructor(inner: Conn, host: string) {
    super(inner);
    this.#host = host;
    this.#records = new RecordReader(inner, serverRecords);
  }

  override async write(p: Uint8Array): Promise<number> {
    if (this.#sent) {
      await writeFull(this.inner, dataRecords(p));
    } else {
      this.#sent = true;
      const hello = clientHello(p.subarray(0, MAX_TICKET), this.#host);
      await writeFull(
        this.inner,
        p.length > MAX_TICKET ? concatBytes([hello, dataRecords(p.subarray(MAX_TICKET))]) : hello,
      );
    }
    return p.length;
  }

  override async closeWrite(): Promise<void> {
    if (!this.#sent) {
      this.#sent = true;
      await writeFull(this.inner, clientHello(new Uint8Array(0), this.#host));
    }
    await this.inner.closeWrite();
  }

  override read(p: Uint8Array): Promise<number | null> {
    return this.#records.read(p);
  }
}

/**
 * The `sni` connector (GOST's x/connector/sni): no handshake of its own — the conn goes on to the SNI proxy as it
 * is, and the proxy routes it by what the client sends first (its TLS ClientHello or HTTP request). With `host`,
 * that first message is covered (handlers/sni/cover.ts): the ClientHello's `server_name`, or the request's `Host`,
 * becomes `host`, and the real name travels hidden beside it for the proxy to route by. Writes are held until the
 * whole first message is there (a ClientHello of several records, a head in several writes), up to the size caps;
 * a first message that is neither goes through unchanged, as GOST passes it.
 * @module
 */
import { type Conn, ConnWrapper, type Network, writeFull } from "../../core/conn.ts";
import { concatBytes } from "../../core/bytes.ts";
import { DialError, HandshakeError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, Connector, DialOptions } from "../../core/contracts.ts";
import { DEFAULT_MAX_HEADER_BYTES } from "../http/metadata.ts";
import {
  CONTENT_HANDSHAKE,
  frameRecords,
  locateExtensions,
  MAX_HELLO_BYTES,
  MAX_RECORD_BYTES,
  RECORD_HEADER_BYTES,
} from "./clienthello.ts";
import { coverHello, coverHttpHead, headEnd } from "./cover.ts";
import { parseSniConnectorMetadata, type SniConnectorMetadata } from "./metadata.ts";

/** SNI proxy client. */
export class SniConnector implements Connector {
  readonly #opts: ClientPluginOptions;
  #md: SniConnectorMetadata = { host: "" };

  constructor(opts: ClientPluginOptions) {
    this.#opts = opts;
  }

  init(md: Metadata): Promise<void> {
    try {
      this.#md = parseSniConnectorMetadata(md);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Hands the conn back, covering its first message when `host` is set. The target is not sent: the proxy takes it
   * from the client's own bytes (GOST's connector ignores it too).
   * @throws {DialError} for `udp`: the SNI proxy carries TCP only
   */
  connect(conn: Conn, network: Network, addr: string, _opts?: DialOptions): Promise<Conn> {
    if (network !== "tcp") {
      return Promise.reject(new DialError(addr, `sni connector: ${network} is not carried (TCP only)`));
    }
    this.#opts.logger.debug(`sni: connect ${addr}${this.#md.host ? ` (covered as ${this.#md.host})` : ""}`);
    return Promise.resolve(this.#md.host ? new CoveringConn(conn, this.#md.host) : conn);
  }
}

/** Holds the first message written until it is whole, then writes it covered; everything after passes through. */
export class CoveringConn extends ConnWrapper {
  readonly #cover: string;
  #held: Uint8Array[] = [];
  #size = 0;
  #done = false;

  constructor(inner: Conn, cover: string) {
    super(inner);
    this.#cover = cover;
  }

  override async write(p: Uint8Array): Promise<number> {
    if (this.#done) return await this.inner.write(p);
    this.#held.push(p.slice());
    this.#size += p.length;
    const out = this.#firstMessage(concatBytes(this.#held, this.#size));
    if (out) {
      this.#done = true;
      this.#held = [];
      await writeFull(this.inner, out);
    }
    return p.length;
  }

  /** Writes what is held as it is, then half-closes. */
  override async closeWrite(): Promise<void> {
    await this.#flush();
    await this.inner.closeWrite();
  }

  async #flush(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    const held = concatBytes(this.#held, this.#size);
    this.#held = [];
    if (held.length) await writeFull(this.inner, held);
  }

  /** The bytes to send once the first message is whole (covered, or as they are); null while more must come. */
  #firstMessage(b: Uint8Array): Uint8Array | null {
    if (b[0] === CONTENT_HANDSHAKE) return this.#hello(b);
    const end = headEnd(b);
    if (end < 0) {
      if (b.length > DEFAULT_MAX_HEADER_BYTES || !looksLikeHead(b)) return b;
      return null;
    }
    const head = coverHttpHead(b.subarray(0, end), this.#cover);
    return head ? concatBytes([head, b.subarray(end)]) : b;
  }

  #hello(b: Uint8Array): Uint8Array | null {
    // walk the records until the handshake message is complete
    const body: Uint8Array[] = [];
    let at = 0, have = 0, want = -1;
    while (want < 0 || have < want) {
      if (at + RECORD_HEADER_BYTES > b.length) return b.length > MAX_HELLO_BYTES * 2 ? b : null;
      const len = (b[at + 3] << 8) | b[at + 4];
      if (b[at] !== CONTENT_HANDSHAKE || len === 0 || len > MAX_RECORD_BYTES) return b; // not ours to rewrite
      if (at + RECORD_HEADER_BYTES + len > b.length) return null;
      body.push(b.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + len));
      have += len;
      at += RECORD_HEADER_BYTES + len;
      if (want < 0 && have >= 4) {
        const m = concatBytes(body);
        want = 4 + ((m[1] << 16) | (m[2] << 8) | m[3]);
        if (m[0] !== 1 || want - 4 > MAX_HELLO_BYTES) return b;
      }
    }
    const msg = concatBytes(body).subarray(0, want);
    let covered: Uint8Array | null;
    try {
      covered = coverHello(msg, locateExtensions(msg), this.#cover);
    } catch (err) {
      if (err instanceof HandshakeError) return b; // a ClientHello we cannot read goes as it is
      throw err;
    }
    if (!covered) return b;
    const version = (b[1] << 8) | b[2];
    return concatBytes([frameRecords(covered, version), b.subarray(at)]);
  }
}

/** A request line in the making: printable ASCII up to the first line end. */
function looksLikeHead(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === 0x0d || c === 0x0a) return true;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

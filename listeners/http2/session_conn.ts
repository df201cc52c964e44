/**
 * What the `http2` dialer hands its node's connector (GOST's dialer/http2 dummy conn, which carries its
 * `http.Client`): not a byte stream but the HTTP/2 session the chain keeps to the node. The `http2` connector opens
 * its CONNECT stream on it (handlers/http2/connector.ts); reading or writing it is an error.
 * @module
 */
import type { Conn } from "../../core/conn.ts";
import type { H2Session } from "../h2/session.ts";

/** An HTTP/2 session to an `http2` node, as a placeholder conn. */
export class H2SessionConn implements Conn {
  /** The session the CONNECT streams go on. */
  readonly session: H2Session;
  /** The node's address. */
  readonly node: string;

  constructor(session: H2Session, node: string) {
    this.session = session;
    this.node = node;
  }

  get localAddr(): Deno.Addr {
    return this.session.localAddr;
  }

  get remoteAddr(): Deno.Addr {
    return this.session.remoteAddr;
  }

  read(_p: Uint8Array): Promise<number | null> {
    return Promise.reject(
      new Error(`http2 dialer: the conn to ${this.node} carries no bytes: use the http2 connector`),
    );
  }

  write(_p: Uint8Array): Promise<number> {
    return Promise.reject(
      new Error(`http2 dialer: the conn to ${this.node} carries no bytes: use the http2 connector`),
    );
  }

  closeWrite(): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing to close: the session belongs to the chain. */
  close(): void {}
}

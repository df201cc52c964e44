/**
 * The `pht`/`phts` dialer: GOST's plain-HTTP tunnel client (docs/wire.md, "PHT"). Each dial opens two HTTP conns
 * to the node (TCP, or TLS for `phts`): one fetches a token from `authorizePath` (GOST's older servers need it,
 * newer ones take it too) and then carries the pushes, the other carries the streaming pull.
 *
 * A PHT session needs conns of its own to the node, so the node must be the first of its route: through earlier
 * hops (`handshake`) it is refused with a clear error.
 * @module
 */
import { closeQuietly, type Conn, joinHostPort, splitHostPort } from "../../core/conn.ts";
import { after } from "../../core/deadline.ts";
import { DialError, errorMessage, HandshakeError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import type { ClientPluginOptions, Dialer, DialOptions } from "../../core/contracts.ts";
import { DEFAULT_DIAL_TIMEOUT_MS, dialTcp } from "../../core/routing/router.ts";
import { releaseReader } from "../../core/http1/reader.ts";
import { PhtClientConn } from "./client_conn.ts";
import { type HttpConn, httpConn, readResponse, readSmallBody, sendRequest } from "./http_client.ts";
import {
  DEFAULT_AUTHORIZE_PATH,
  DEFAULT_PULL_PATH,
  DEFAULT_PUSH_PATH,
  headerKey,
  newToken,
  pathKey,
  validToken,
} from "./wire.ts";

/** The PHT dialer (client side of `pht` and `phts`). */
export class PhtDialer implements Dialer {
  readonly #opts: ClientPluginOptions;
  readonly #tls: boolean;
  #authorizePath = DEFAULT_AUTHORIZE_PATH;
  #pushPath = DEFAULT_PUSH_PATH;
  #pullPath = DEFAULT_PULL_PATH;
  #host = "";
  #headers: [string, string][] = [];
  #dialMs = DEFAULT_DIAL_TIMEOUT_MS;
  #tlsDialer: Dialer | null = null;

  constructor(opts: ClientPluginOptions, tls: boolean) {
    this.#opts = opts;
    this.#tls = tls;
  }

  /** Reads GOST's keys (paths, `host`, `header`), `dialTimeout`, and for phts the TLS settings. */
  async init(md: Metadata): Promise<void> {
    this.#authorizePath = pathKey(md, "authorizePath", DEFAULT_AUTHORIZE_PATH);
    this.#pushPath = pathKey(md, "pushPath", DEFAULT_PUSH_PATH);
    this.#pullPath = pathKey(md, "pullPath", DEFAULT_PULL_PATH);
    this.#host = md.string("host");
    this.#headers = headerKey(md);
    this.#dialMs = md.duration(["dialTimeout", "timeout"], DEFAULT_DIAL_TIMEOUT_MS);
    if (this.#tls) {
      const { TlsDialer } = await import("../tls/dialer.ts");
      this.#tlsDialer = new TlsDialer(this.#opts);
      await this.#tlsDialer.init(md);
    }
  }

  /** Refused: a PHT session opens conns of its own to the node. */
  handshake(conn: Conn, addr: string): Promise<Conn> {
    closeQuietly(conn);
    return Promise.reject(
      new HandshakeError(
        `pht node ${addr} is reached through earlier hops: pht opens HTTP conns of its own, so it must be the ` +
          "first node of its route",
      ),
    );
  }

  /**
   * Opens a session: token from `authorizePath`, then the pull.
   * @throws {DialError} naming `addr` when a conn, the token or the pull fails
   */
  async dial(addr: string, opts: DialOptions = {}): Promise<Conn> {
    let port: number, host: string;
    try {
      ({ host, port } = splitHostPort(addr));
    } catch (err) {
      throw new DialError(addr, errorMessage(err), { cause: err });
    }
    const hostHeader = this.#host ? joinHostPort(hostOnly(this.#host), port) : addr;
    const open = async (): Promise<HttpConn> => {
      if (this.#tlsDialer) return httpConn(await this.#tlsDialer.dial(addr, opts));
      return httpConn(await dialTcp(host, port, this.#dialMs, opts.signal));
    };
    const opened: HttpConn[] = [];
    let timedOut = false;
    const cancel = after(this.#dialMs, () => {
      timedOut = true;
      for (const c of opened) closeQuietly(c.conn);
    });
    const stop = () => opened.forEach((c) => closeQuietly(c.conn));
    opts.signal?.addEventListener("abort", stop, { once: true });
    try {
      const [push, pull] = await Promise.all([
        open().then((c) => (opened.push(c), c)),
        open().then((c) => (opened.push(c), c)),
      ]);
      // the token: GOST's older servers hand it out at authorizePath (newer ones too, and also take our own)
      await sendRequest(push, "GET", this.#authorizePath, hostHeader, this.#headers);
      const auth = await readResponse(push, "GET");
      const body = new TextDecoder().decode(await readSmallBody(push, auth.framing, 4096));
      let token: string;
      if (auth.head.status === 200 && body.startsWith("token=") && validToken(body.slice(6).trim())) {
        token = body.slice(6).trim();
      } else if (auth.head.status === 404) {
        token = newToken();
      } else {
        throw new Error(`authorize answered ${auth.head.status} ${auth.head.reason}`);
      }
      if (!auth.keep) {
        closeQuietly(push.conn);
        releaseReader(push.r);
      }
      const q = `?token=${encodeURIComponent(token)}`;
      const pullTarget = this.#pullPath + q;
      await sendRequest(pull, "GET", pullTarget, hostHeader, this.#headers);
      const pullResponse = await readResponse(pull, "GET");
      if (pullResponse.head.status !== 200) {
        throw new Error(`pull answered ${pullResponse.head.status} ${pullResponse.head.reason}`);
      }
      const raw = pull.conn;
      return new PhtClientConn({
        open,
        push: auth.keep ? push : await open(),
        pull,
        pullResponse,
        pushTarget: this.#pushPath + q,
        pullTarget,
        host: hostHeader,
        headers: this.#headers,
        localAddr: raw.localAddr,
        remoteAddr: raw.remoteAddr,
      });
    } catch (err) {
      stop();
      if (err instanceof DialError) throw err;
      const why = timedOut ? `timed out after ${this.#dialMs} ms` : errorMessage(err);
      throw new DialError(addr, `dial ${this.#tls ? "phts" : "pht"} ${addr}: ${why}`, { cause: err });
    } finally {
      cancel();
      opts.signal?.removeEventListener("abort", stop);
    }
  }
}

/** `host` without a port (GOST keeps the node's port). */
function hostOnly(h: string): string {
  try {
    return splitHostPort(h).host;
  } catch {
    return h.replace(/^\[|\]$/g, "");
  }
}

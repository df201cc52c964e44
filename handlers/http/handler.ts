/**
 * The `http` proxy handler (server side): CONNECT tunnels and absolute-URI forwarding with keep-alive, Basic
 * proxy authentication, and bounded head reading. Works on any conn (the `auto` handler passes a PrefixConn).
 * @module
 */
import { closeQuietly, type Conn } from "../../core/conn.ts";
import { withDeadline } from "../../core/deadline.ts";
import { AuthError, ConfigError, DialError, PolicyError, TimeoutError } from "../../core/errors.ts";
import { Metadata } from "../../core/metadata.ts";
import type { ConnContext, Handler, HandlerOptions } from "../../core/contracts.ts";
import { authenticateRequest } from "./auth.ts";
import { handleConnect } from "./connect.ts";
import { answerPlain, type DecoyLoads, serveDecoy } from "./decoy.ts";
import { forwardRequest } from "./forward.ts";
import { type HttpMetadata, parseHttpMetadata } from "./metadata.ts";
import { UpstreamPool } from "./pool.ts";
import { knocks } from "./probe.ts";
import { Session } from "./session.ts";
import { readHead } from "./stream.ts";
import { HttpStatusError, parseRequestHead, type RequestHead } from "./wire.ts";

/**
 * Serves HTTP proxy clients.
 * @example
 * const h = new HttpHandler({ service: "s", logger, router, auth });
 * await h.init(new Metadata({ readTimeout: "10s" }));
 * await h.handle(conn, ctx); // closes conn
 */
export class HttpHandler implements Handler {
  readonly #opts: HandlerOptions;
  #md: HttpMetadata = parseHttpMetadata(new Metadata());
  /** Idle upstream conns shared by the client conns (absent with `upstreamKeepAlive: false`). */
  #pool?: UpstreamPool;

  readonly #inAuto: boolean;
  /** Decoy pages being fetched or read (probe resistance), shared by the probes that arrive meanwhile. */
  readonly #decoyLoads: DecoyLoads = new Map();

  /** @param inAuto true when the auto handler runs it (see {@link parseHttpMetadata}) */
  constructor(opts: HandlerOptions, inAuto = false) {
    this.#opts = opts;
    this.#inAuto = inAuto;
  }

  init(md: Metadata): Promise<void> {
    try {
      this.#md = parseHttpMetadata(md, this.#inAuto);
      // (the skipauth twin has no authenticator by design: its clients are let in)
      if (this.#md.probe && !this.#opts.auth && !md.has("skipauth")) {
        throw new ConfigError(
          `handler ${this.#inAuto ? "auto" : "http"}: probeResistance acts on clients that fail authentication, and ` +
            "this service has none (set auth, authers or user info in the -L URL); GOST ignores it then",
        );
      }
      this.#pool?.close();
      this.#pool = this.#md.upstreamKeepAlive
        ? new UpstreamPool(this.#md.upstreamIdleTimeoutMs, this.#md.upstreamMaxIdle)
        : undefined;
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Closes the idle upstream conns (service close). */
  close(): void {
    this.#pool?.close();
  }

  async handle(conn: Conn, ctx: ConnContext): Promise<void> {
    const s = new Session(conn, ctx, this.#opts, this.#md, this.#pool);
    try {
      for (let first = true;; first = false) {
        const req = await this.#readRequest(s, first);
        if (!req || !(await this.#serve(s, req))) return;
      }
    } finally {
      s.close();
      closeQuietly(conn);
    }
  }

  /** Reads the next request head within `readTimeout`; null when the client is done (EOF or idle timeout). */
  async #readRequest(s: Session, first: boolean): Promise<RequestHead | null> {
    try {
      const lines = await withDeadline(s.conn, this.#md.readTimeoutMs, () => readHead(s.reader, this.#md));
      if (lines && s.ctx.logger.enabled("trace")) s.ctx.logger.trace(traceHead(lines));
      return lines && parseRequestHead(lines);
    } catch (err) {
      if (err instanceof HttpStatusError) {
        // with probe resistance, nothing before authentication may say "proxy" (Proxy-Agent, header)
        await (this.#md.probe ? answerPlain(s, err.status) : s.fail(err.status));
      } else if (!first && err instanceof TimeoutError) return null;
      throw err;
    }
  }

  /** Serves one request; true when the conn may carry the next one. */
  async #serve(s: Session, req: RequestHead): Promise<boolean> {
    const auth = authenticateRequest(this.#opts.auth, req.headers);
    if (!auth.ok) {
      const why = auth.username
        ? `http: authentication failed for user "${auth.username}"`
        : "http: proxy authentication required";
      const probe = this.#md.probe;
      if (probe && !knocks(probe, req.method, req.target)) {
        throw new AuthError(
          `${why}; answered the probe resistance decoy: ${await serveDecoy(s, req, probe.decoy, this.#decoyLoads)}`,
        );
      }
      await s.fail(407, [["Proxy-Authenticate", `Basic realm="${this.#md.realm}"`]]);
      throw new AuthError(why);
    }
    if (auth.id !== undefined && s.ctx.clientId !== auth.id) {
      s.ctx.clientId = auth.id;
      s.ctx.logger = s.ctx.logger.child({ user: auth.id });
    }
    try {
      if (req.method === "CONNECT") {
        await handleConnect(s, req);
        return false;
      }
      return await forwardRequest(s, req);
    } catch (err) {
      if (err instanceof HttpStatusError) await s.fail(err.status);
      else if (err instanceof DialError) await s.fail(502);
      else if (err instanceof PolicyError) await s.fail(403);
      throw err;
    }
  }
}

/** Credentials headers whose values a trace line never shows. */
const SECRET_HEADER = /^(proxy-authorization|authorization|cookie)\s*:/i;

/**
 * The request head as `-DD` shows it (GOST dumps each request at trace level), with the values of credential
 * headers replaced by `<redacted>`: a trace log is not a password store (README.md, "Differences from GOST").
 */
export function traceHead(lines: readonly string[]): string {
  return lines.map((l) => SECRET_HEADER.test(l) ? `${l.slice(0, l.indexOf(":"))}: <redacted>` : l).join("\r\n");
}

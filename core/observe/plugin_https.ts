/**
 * One HTTPS POST to a plugin with its `tls` block (`plugin.tls`), as GOST's plugin client does: `secure: false`
 * (the default) skips the certificate check, `secure: true` verifies it for `serverName` (default the URL's host),
 * which is also sent as SNI. `caFile` (PEM) replaces the system roots (GOST reads only `secure` and `serverName`
 * for plugins: docs/wire.md, "Observer plugin"). The whole exchange is bounded by the plugin's `timeout`.
 *
 * `node:https` rather than `fetch`: fetch can neither skip verification nor verify for another name. It is imported
 * on first use (docs/architecture.md, "Module loading").
 * @module
 */
import type { Agent } from "node:https";
import { errorMessage } from "../errors.ts";

/** `plugin.tls` of a plugin config. */
export interface PluginTls {
  secure?: boolean;
  serverName?: string;
  caFile?: string;
}

/** The answer of {@link HttpsPoster.post}. */
export interface PostReply {
  status: number;
  body: string;
}

/**
 * POSTs to one `https://` plugin URL, keeping its connections alive between posts.
 * @example
 * const p = new HttpsPoster("https://127.0.0.1:8443/observer", { secure: true, caFile: "ca.pem" });
 * const { status, body } = await p.post({ "Content-Type": "application/json" }, "{}", 5000); p.close();
 */
export class HttpsPoster {
  readonly #url: URL;
  readonly #tls: PluginTls;
  #agent: Promise<Agent> | null = null;
  readonly #inflight = new Set<(err: Error) => void>();

  constructor(url: string, tls: PluginTls) {
    this.#url = new URL(url);
    this.#tls = tls;
  }

  /** The agent with the TLS settings; `caFile` is read once. */
  async #makeAgent(): Promise<Agent> {
    const https = await import("node:https");
    const t = this.#tls;
    let ca: string | undefined;
    if (t.caFile) {
      try {
        ca = await Deno.readTextFile(t.caFile);
      } catch (err) {
        throw new Error(`tls.caFile ${t.caFile}: ${errorMessage(err)}`, { cause: err });
      }
    }
    return new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: t.secure === true, ca });
  }

  /**
   * Sends one request.
   * @throws {Error} on a TLS or connection failure, or when `timeoutMs` pass before the whole answer arrived
   */
  async post(headers: Record<string, string>, body: string, timeoutMs: number): Promise<PostReply> {
    let agent: Agent;
    try {
      agent = await (this.#agent ??= this.#makeAgent());
    } catch (err) {
      this.#agent = null;
      throw err;
    }
    const https = await import("node:https");
    const u = this.#url;
    const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
    const servername = this.#tls.serverName || undefined;
    return await new Promise<PostReply>((resolve, reject) => {
      const req = https.request({
        agent,
        method: "POST",
        host,
        port: u.port ? Number(u.port) : 443,
        path: `${u.pathname}${u.search}`,
        headers: { ...headers, "Content-Length": String(new TextEncoder().encode(body).length) },
        ...(servername ? { servername } : {}),
      }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => done(null, { status: res.statusCode ?? 0, body: text }));
        res.on("error", (err: Error) => done(err));
      });
      const fail = (err: Error) => req.destroy(err);
      const timer = setTimeout(() => fail(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      this.#inflight.add(fail);
      const done = (err: Error | null, reply?: PostReply) => {
        clearTimeout(timer);
        this.#inflight.delete(fail);
        if (err) reject(err);
        else resolve(reply!);
      };
      req.on("error", (err: Error) => done(err));
      req.end(body);
    });
  }

  /** Aborts requests in flight and closes the kept connections. */
  close(): void {
    for (const fail of [...this.#inflight]) fail(new Error("observer closed"));
    this.#agent?.then((a) => a.destroy(), () => {});
    this.#agent = null;
  }
}

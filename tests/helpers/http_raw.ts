/**
 * Raw-socket HTTP test peers: a client that reads Content-Length framed responses, and a scripted origin that counts
 * its conns.
 * @module
 */
import { closeQuietly } from "../../core/conn.ts";
import { latin1Decode, latin1Encode } from "../../handlers/http/wire.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A raw client socket with a small buffered response reader. */
export class RawClient implements AsyncDisposable {
  readonly conn: Deno.Conn;
  #buf = new Uint8Array(0);
  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }
  static async open(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }
  async send(s: string | Uint8Array): Promise<void> {
    const b = typeof s === "string" ? enc(s) : s;
    for (let off = 0; off < b.length;) off += await this.conn.write(b.subarray(off));
  }
  async #more(): Promise<boolean> {
    const chunk = new Uint8Array(64 * 1024);
    const n = await this.conn.read(chunk).catch(() => null);
    if (n === null) return false;
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = next;
    return true;
  }
  /** Everything until EOF (or until the socket errors). */
  async readAll(): Promise<string> {
    while (await this.#more());
    const s = latin1Decode(this.#buf);
    this.#buf = new Uint8Array(0);
    return s;
  }
  /** One response framed by Content-Length (or none). */
  async readResponse(): Promise<{ head: string; body: string }> {
    let end = -1;
    while ((end = latin1Decode(this.#buf).indexOf("\r\n\r\n")) < 0) {
      if (!(await this.#more())) throw new Error(`EOF before a response head: ${latin1Decode(this.#buf)}`);
    }
    const head = latin1Decode(this.#buf.subarray(0, end));
    const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    while (this.#buf.length < end + 4 + len) if (!(await this.#more())) throw new Error("EOF in body");
    const body = dec(this.#buf.subarray(end + 4, end + 4 + len));
    this.#buf = this.#buf.slice(end + 4 + len);
    return { head, body };
  }
  [Symbol.asyncDispose](): Promise<void> {
    closeQuietly(this.conn);
    return Promise.resolve();
  }
}

/**
 * A scripted HTTP/1.1 origin on raw sockets that counts conns (`conns` accepted, `open` still open). `reply` returns the response, or null to close
 * instead; an HTTP/1.0 response is followed by a close.
 */
export function rawOrigin(reply: (head: string, body: string, nth: number) => string | null = defaultReply) {
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen = Promise.withResolvers<void>();
  const state = { conns: 0, open: 0, heads: [] as string[], firstHead: seen.promise };
  const open = new Set<RawClient>();
  const serveConn = async (c: RawClient) => {
    try {
      for (let nth = 0;; nth++) {
        let buf = "";
        while (!buf.includes("\r\n\r\n")) {
          const b = new Uint8Array(65536);
          const n = await c.conn.read(b);
          if (n === null) return;
          buf += latin1Decode(b.subarray(0, n));
        }
        const [head, rest] = [buf.slice(0, buf.indexOf("\r\n\r\n")), buf.slice(buf.indexOf("\r\n\r\n") + 4)];
        const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        let body = rest;
        while (body.length < len) {
          const b = new Uint8Array(65536);
          const n = await c.conn.read(b);
          if (n === null) return;
          body += latin1Decode(b.subarray(0, n));
        }
        state.heads.push(head);
        seen.resolve();
        const out = reply(head, body, nth);
        if (out === null) return;
        await c.send(latin1Encode(out));
        if (out.startsWith("HTTP/1.0")) return;
      }
    } catch {
      // closed
    } finally {
      state.open--;
      open.delete(c);
      closeQuietly(c.conn);
    }
  };
  const loop = (async () => {
    for await (const conn of ln) {
      state.conns++;
      state.open++;
      const c = new RawClient(conn);
      open.add(c);
      serveConn(c);
    }
  })().catch(() => {});
  return {
    port: (ln.addr as Deno.NetAddr).port,
    state,
    async close() {
      closeQuietly(ln);
      for (const c of open) closeQuietly(c.conn);
      await loop;
    },
  };
}

/** `hello PATH`, with a Content-Length. */
export function defaultReply(head: string): string {
  const path = head.split(" ")[1];
  return `HTTP/1.1 200 OK\r\nContent-Length: ${6 + path.length}\r\n\r\nhello ${path}`;
}

/**
 * Test peers: TCP and UDP echo servers and an HTTP origin, all on 127.0.0.1 with port 0.
 * @module
 */
import { closeQuietly } from "../../core/conn.ts";

/** A TCP server on 127.0.0.1:0 serving each conn with `serve`; `close()` stops it and every conn it accepted. */
export function tcpOrigin(
  serve: (c: Deno.Conn) => Promise<void>,
  hostname = "127.0.0.1",
): { port: number; close(): void } {
  const ln = Deno.listen({ hostname, port: 0 });
  const conns = new Set<Deno.Conn>();
  (async () => {
    for await (const c of ln) {
      conns.add(c);
      serve(c).catch(() => {}).finally(() => { // errors: the peer went away
        conns.delete(c);
        closeQuietly(c);
      });
    }
  })().catch(() => {});
  return {
    port: (ln.addr as Deno.NetAddr).port,
    close() {
      closeQuietly(ln);
      for (const c of conns) closeQuietly(c);
    },
  };
}

/** A TCP echo server (`bufferSize` bytes per conn): echoes until EOF, then half-closes. */
export function tcpEcho(hostname = "127.0.0.1", bufferSize = 64 * 1024): { port: number; close(): void } {
  return tcpOrigin(async (c) => {
    const buf = new Uint8Array(bufferSize);
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      let off = 0;
      while (off < n) off += await c.write(buf.subarray(off, n));
    }
    await c.closeWrite();
  }, hostname);
}

/** A UDP echo server that prefixes replies with `prefix`. */
export function udpEcho(prefix = "", hostname = "127.0.0.1"): { port: number; close(): void } {
  const sock = Deno.listenDatagram({ hostname, port: 0, transport: "udp" });
  const pre = new TextEncoder().encode(prefix);
  (async () => {
    const buf = new Uint8Array(65_536);
    for (;;) {
      const [d, from] = await sock.receive(buf);
      const out = new Uint8Array(pre.length + d.length);
      out.set(pre);
      out.set(d, pre.length);
      await sock.send(out, from);
    }
  })().catch(() => {});
  return { port: (sock.addr as Deno.NetAddr).port, close: () => closeQuietly(sock) };
}

/** An HTTP origin server answering `hello <path>` (and echoing POST bodies); counts requests. */
export function httpOrigin(): { port: number; requests: number; close(): Promise<void> } {
  const state = { requests: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    state.requests++;
    const url = new URL(req.url);
    if (req.method === "POST") {
      try {
        return new Response(await req.arrayBuffer());
      } catch {
        return new Response("body cut short", { status: 400 }); // a client that left mid-body (hostile tests)
      }
    }
    if (url.pathname.startsWith("/bytes/")) {
      const n = Number(url.pathname.slice(7));
      return new Response(new Uint8Array(n).fill(97));
    }
    return new Response(`hello ${url.pathname}`, { headers: { "x-origin": "yes" } });
  });
  return {
    port: server.addr.port,
    get requests() {
      return state.requests;
    },
    close: () => server.shutdown(),
  };
}

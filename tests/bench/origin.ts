/**
 * The bench's HTTP origin, run as its own process (`deno run -A tests/bench/origin.ts PORT`) so that it never shares
 * an event loop with the bench. Raw TCP, HTTP/1.1 GET only, keep-alive unless the request says `Connection: close`
 * (or is HTTP/1.0):
 *
 * - `GET /bytes/N` answers N bytes, written from one reused 1 MiB buffer (fast enough not to be the bottleneck:
 *   the bench prints the direct download speed next to the proxied ones);
 * - any other path answers `ok\n`.
 * @module
 */

const CHUNK = new Uint8Array(1024 * 1024).fill(0x78);
const enc = new TextEncoder();
const dec = new TextDecoder();
const HEAD_MAX = 16 * 1024;

async function writeFull(c: Deno.TcpConn, p: Uint8Array): Promise<void> {
  let off = 0;
  while (off < p.length) off += await c.write(off === 0 ? p : p.subarray(off));
}

function headEnd(buf: Uint8Array, len: number): number {
  for (let i = 3; i < len; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) return i + 1;
  }
  return -1;
}

async function serve(c: Deno.TcpConn): Promise<void> {
  c.setNoDelay(true);
  const buf = new Uint8Array(HEAD_MAX);
  let len = 0;
  for (;;) {
    let end: number;
    while ((end = headEnd(buf, len)) < 0) {
      if (len === buf.length) return;
      const n = await c.read(buf.subarray(len));
      if (n === null) return;
      len += n;
    }
    const head = dec.decode(buf.subarray(0, end));
    buf.copyWithin(0, end, len);
    len -= end;
    const [method = "", path = "", version = ""] = head.slice(0, head.indexOf("\r\n")).split(" ");
    const close = version === "HTTP/1.0" || /^(proxy-)?connection:[ \t]*close/im.test(head);
    const m = /^\/bytes\/(\d+)$/.exec(path);
    const size = method === "GET" && m ? Number(m[1]) : 3;
    const hdr = `HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\nContent-Type: application/octet-stream\r\n` +
      (close ? "Connection: close\r\n" : "") + "\r\n";
    if (!m) {
      await writeFull(c, enc.encode(hdr + "ok\n"));
    } else {
      await writeFull(c, enc.encode(hdr));
      for (let left = size; left > 0; left -= CHUNK.length) {
        await writeFull(c, left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left));
      }
    }
    if (close) return;
  }
}

if (import.meta.main) {
  const port = Number(Deno.args[0] ?? 0);
  const ln = Deno.listen({ hostname: "127.0.0.1", port, transport: "tcp" });
  console.log(`origin listening on 127.0.0.1:${(ln.addr as Deno.NetAddr).port}`);
  for await (const c of ln) {
    serve(c).catch(() => {}).finally(() => {
      try {
        c.close();
      } catch {
        // already closed
      }
    });
  }
}

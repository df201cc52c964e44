/**
 * The floor for `--floor`: a bare Deno TCP forward with no gost.ts layers (no service, handler, router, logging or
 * stats): accept, TCP_NODELAY, connect, a read/write loop each way with one fixed buffer, half-close, close.
 * `deno run -A tests/bench/bare_relay.ts LISTEN_PORT TARGET_PORT [BUFFER_BYTES=16384]`.
 * @module
 */

function closeQuietly(c: Deno.Conn): void {
  try {
    c.close();
  } catch {
    // already closed
  }
}

async function copy(src: Deno.Conn, dst: Deno.Conn, size: number): Promise<void> {
  const buf = new Uint8Array(size);
  for (;;) {
    const n = await src.read(buf);
    if (n === null) break;
    let off = 0;
    while (off < n) off += await dst.write(buf.subarray(off, n));
  }
  await dst.closeWrite().catch(() => {});
}

async function serve(c: Deno.TcpConn, target: number, size: number): Promise<void> {
  c.setNoDelay(true);
  let t: Deno.TcpConn | null = null;
  try {
    t = await Deno.connect({ hostname: "127.0.0.1", port: target });
    t.setNoDelay(true);
    const up = t;
    await Promise.all([copy(c, up, size).catch(() => {}), copy(up, c, size).catch(() => {})]);
  } finally {
    closeQuietly(c);
    if (t) closeQuietly(t);
  }
}

if (import.meta.main) {
  const [listen, target, size = 16384] = Deno.args.map(Number);
  const ln = Deno.listen({ hostname: "127.0.0.1", port: listen, transport: "tcp" });
  console.log(`bare relay listening on 127.0.0.1:${listen} -> 127.0.0.1:${target}, ${size}-byte buffers`);
  for await (const c of ln) serve(c, target, size).catch(() => {});
}

/**
 * The hot path: copies bytes both ways between two conns (DESIGN.md §7). Each direction reads into its own 16 KiB
 * buffer; when a read fills it (bulk traffic) the next reads use a 1 MiB buffer borrowed from a small shared pool,
 * returned on the first short read. EOF half-closes the other side; both conns close when both directions end or
 * one fails. Datagram conns use one 64 KiB buffer per direction and never half-close.
 * @module
 */
import { closeQuietly, type Conn } from "./conn.ts";

const SMALL = 16 * 1024;
const LARGE = 1024 * 1024;
const POOL_MAX = 16;
const DATAGRAM = 65_536;
const pool: Uint8Array<ArrayBuffer>[] = [];

/** Bytes moved by {@link relay}: `input` from `a` to `b`, `output` from `b` to `a`. */
export interface RelayResult {
  input: number;
  output: number;
}

async function writeFull(dst: Conn, p: Uint8Array): Promise<void> {
  let off = await dst.write(p);
  while (off < p.length) off += await dst.write(p.subarray(off));
}

/**
 * Copies `src` to `dst` until EOF, then half-closes `dst`. Rejects on any read/write error.
 * @returns the number of bytes copied
 */
export async function copy(src: Conn, dst: Conn): Promise<number> {
  let total = 0;
  if (src.datagram || dst.datagram) {
    const buf = new Uint8Array(DATAGRAM);
    for (;;) {
      const n = await src.read(buf);
      if (n === null) return total;
      await dst.write(buf.subarray(0, n));
      total += n;
    }
  }
  const small = new Uint8Array(SMALL);
  let buf: Uint8Array<ArrayBuffer> = small;
  let borrowed: Uint8Array<ArrayBuffer> | null = null;
  try {
    for (;;) {
      const n = await src.read(buf);
      if (n === null) break;
      await writeFull(dst, n === buf.length ? buf : buf.subarray(0, n));
      total += n;
      if (n === buf.length) {
        if (!borrowed) buf = borrowed = pool.pop() ?? new Uint8Array(LARGE);
      } else if (borrowed) {
        if (pool.length < POOL_MAX) pool.push(borrowed);
        borrowed = null;
        buf = small;
      }
    }
  } finally {
    if (borrowed && pool.length < POOL_MAX) pool.push(borrowed);
  }
  await dst.closeWrite().catch(() => {});
  return total;
}

/**
 * Relays between two conns until both directions finish or one fails, then closes both.
 * Never rejects: connection errors end the relay.
 * @param a usually the client conn
 * @param b usually the target conn
 * @returns bytes moved each way
 * @example const { input, output } = await relay(clientConn, targetConn);
 */
export async function relay(a: Conn, b: Conn): Promise<RelayResult> {
  const result: RelayResult = { input: 0, output: 0 };
  const closeBoth = () => {
    closeQuietly(a);
    closeQuietly(b);
  };
  const datagram = a.datagram || b.datagram;
  const up = copy(a, b).then((n) => {
    result.input = n;
    if (datagram) closeBoth();
  }, closeBoth);
  const down = copy(b, a).then((n) => {
    result.output = n;
    if (datagram) closeBoth();
  }, closeBoth);
  await Promise.all([up, down]);
  closeBoth();
  return result;
}

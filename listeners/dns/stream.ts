/**
 * The `dns` listener's TCP and TLS clients (modes `tcp` and `tls`): each conn carries queries framed by a 2-byte
 * length (RFC 1035 §4.2.2, RFC 7766), every one handed over as a message conn, answered in the order the handler
 * finishes them (RFC 7766 §6.2.1.1 lets replies overtake each other). Bounded as miekg/dns's server (GOST's) bounds
 * them: the first query within `readTimeout` of the conn, each later one within {@link IDLE_TIMEOUT_MS} of the last,
 * every message's bytes within `readTimeout` of its length (a length of 65535 with nothing after it ends the conn
 * then, with a log line), each reply within `writeTimeout`, at most {@link MAX_QUERIES_PER_CONN} queries a conn; and
 * ours: at most {@link MAX_PIPELINED} queries of one conn in the handler at once (reading waits meanwhile).
 * @module
 */
import { addrString, closeQuietly, type Conn, writeFull } from "../../core/conn.ts";
import { after } from "../../core/deadline.ts";
import { errorMessage, isBenignEnd } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { DnsMessageConn } from "./message_conn.ts";

/** How long a conn may wait between queries (miekg/dns's default idle timeout). */
export const IDLE_TIMEOUT_MS = 8_000;
/** Queries one conn may send before it is closed (miekg/dns's `maxTCPQueries`). */
export const MAX_QUERIES_PER_CONN = 128;
/** Queries of one conn in the handler at once. */
export const MAX_PIPELINED = 16;

/** How a stream is served. */
export interface StreamOptions {
  /** Hands a query to `accept()`; false when the queue is full (the query is dropped). */
  offer: (conn: DnsMessageConn) => boolean;
  readTimeoutMs: number;
  writeTimeoutMs: number;
  /** `tcp` or `tls`, for log lines. */
  mode: string;
  logger: Logger;
}

/** Why a read stopped: the conn ended, or a deadline passed (`what` waited for). */
class StreamTimeout extends Error {}

/** Reads exactly `n` bytes within `ms` (0: no deadline); null at EOF before the first when `eofOk`. */
async function readExactly(
  conn: Conn,
  n: number,
  ms: number,
  what: string,
  eofOk: boolean,
): Promise<Uint8Array | null> {
  const buf = new Uint8Array(n);
  let timedOut = false;
  const cancel = ms > 0
    ? after(ms, () => {
      timedOut = true;
      closeQuietly(conn);
    })
    : () => {};
  try {
    for (let off = 0; off < n;) {
      let k: number | null;
      try {
        k = await conn.read(buf.subarray(off));
      } catch (err) {
        if (timedOut) throw new StreamTimeout(`no ${what} within ${ms} ms (${off} of ${n} bytes)`);
        throw err;
      }
      if (k === null) {
        if (timedOut) throw new StreamTimeout(`no ${what} within ${ms} ms (${off} of ${n} bytes)`);
        if (off === 0 && eofOk) return null;
        throw new Error(`the client closed the conn after ${off} of ${n} bytes of ${what}`);
      }
      off += k;
    }
    return buf;
  } finally {
    cancel();
  }
}

/**
 * Serves one TCP or TLS conn to its end (see the module doc) and closes it. Never rejects: what ends it is logged.
 * @example serveStream(conn, { offer, readTimeoutMs: 2000, writeTimeoutMs: 2000, mode: "tcp", logger })
 */
export async function serveStream(conn: Conn, o: StreamOptions): Promise<void> {
  const remote = addrString(conn.remoteAddr);
  let writes: Promise<void> = Promise.resolve();
  let broken = false;
  const pending = new Set<Promise<boolean>>();
  /** Writes one framed reply after the ones before it, within writeTimeout; a failure ends the conn. */
  const sink = (reply: Uint8Array) => {
    const framed = new Uint8Array(reply.length + 2);
    framed[0] = reply.length >> 8;
    framed[1] = reply.length & 0xff;
    framed.set(reply, 2);
    const w = writes.then(async () => {
      if (broken) throw new Deno.errors.BrokenPipe("DNS conn closed");
      const cancel = o.writeTimeoutMs > 0 ? after(o.writeTimeoutMs, () => closeQuietly(conn)) : () => {};
      try {
        await writeFull(conn, framed);
      } catch (err) {
        broken = true;
        closeQuietly(conn);
        throw err;
      } finally {
        cancel();
      }
    });
    writes = w.catch(() => {});
    return w;
  };
  try {
    for (let i = 0; i < MAX_QUERIES_PER_CONN && !broken; i++) {
      while (pending.size >= MAX_PIPELINED) await Promise.race(pending);
      const len = await readExactly(
        conn,
        2,
        i === 0 ? o.readTimeoutMs : IDLE_TIMEOUT_MS,
        i === 0 ? "query" : "next query",
        true,
      );
      if (!len) break;
      const n = (len[0] << 8) | len[1];
      if (n === 0) {
        o.logger.info(`dns ${o.mode}: a message of length 0: closing the conn`, { remote });
        break;
      }
      const query = (await readExactly(conn, n, o.readTimeoutMs, `complete ${n}-byte message`, false))!;
      const msg = new DnsMessageConn(query, conn.localAddr, conn.remoteAddr, sink);
      const done = msg.done;
      pending.add(done);
      done.finally(() => pending.delete(done));
      if (!o.offer(msg)) msg.close();
    }
    // the replies still being made go out before the conn closes
    await Promise.allSettled([...pending]);
    await writes;
  } catch (err) {
    if (err instanceof StreamTimeout) o.logger.info(`dns ${o.mode}: ${err.message}: closing the conn`, { remote });
    else if (!broken) {
      const msg = `dns ${o.mode}: ${errorMessage(err)}`;
      if (isBenignEnd(err)) o.logger.debug(msg, { remote });
      else o.logger.info(msg, { remote });
    }
  } finally {
    broken = true;
    closeQuietly(conn);
  }
}

/**
 * The client side of one PHT session (docs/wire.md, "PHT"): writes are batched into pushes (one POST at a time,
 * each one base64 line of up to {@link PUSH_BATCH_RAW} bytes), reads come from the streaming pull, re-issued when
 * a server ends it after data (GOST's older servers end it after each line). `closeWrite` and `close` send the
 * empty push, GOST's end of a session.
 * @module
 */
import { closeQuietly, type Conn } from "../../core/conn.ts";
import { errorMessage } from "../../core/errors.ts";
import { releaseReader } from "../../core/http1/reader.ts";
import { bodyChunks, type HttpConn, readResponse, readSmallBody, type Response, sendRequest } from "./http_client.ts";
import { Chunks, Waiters } from "./chunks.ts";
import { decodeLine, encodeLine, MAX_PULL_LINE, PUSH_BATCH_RAW, SESSION_BUFFER } from "./wire.ts";

/** How the session reaches the server. */
export interface PhtClientInit {
  /** Opens a new HTTP conn to the server (TCP, or TLS for phts). */
  open: () => Promise<HttpConn>;
  /** The push conn the token was fetched on (kept for pushes). */
  push: HttpConn;
  /** The pull conn whose 200 head was read. */
  pull: HttpConn;
  pullResponse: Response;
  pushTarget: string;
  pullTarget: string;
  host: string;
  headers: readonly [string, string][];
  localAddr: Deno.Addr;
  remoteAddr: Deno.Addr;
}

const EMPTY = new Uint8Array(0);
/** How long `close` waits for the empty push before it drops the conns. */
const CLOSE_WAIT_MS = 5_000;

/** One PHT session as the dialer's conn. */
export class PhtClientConn implements Conn {
  readonly localAddr: Deno.Addr;
  readonly remoteAddr: Deno.Addr;
  readonly #i: PhtClientInit;
  #push: HttpConn | null;
  #pull: HttpConn | null;
  readonly #rx = new Chunks();
  readonly #tx = new Chunks();
  readonly #rxSig = new Waiters();
  readonly #txSig = new Waiters();
  #rxEnd = false;
  #rxError: Error | null = null;
  #txError: Error | null = null;
  #wantEnd = false;
  #endSent = false;
  #pushing = false;
  #closed = false;

  constructor(init: PhtClientInit) {
    this.#i = init;
    this.localAddr = init.localAddr;
    this.remoteAddr = init.remoteAddr;
    this.#push = init.push;
    this.#pull = init.pull;
    this.#pullLoop(init.pullResponse).catch((err) => {
      if (!this.#closed) this.#rxError = err instanceof Error ? err : new Error(String(err));
    }).finally(() => {
      this.#rxEnd = true;
      const p = this.#pull;
      this.#pull = null;
      if (p) {
        closeQuietly(p.conn);
        releaseReader(p.r);
      }
      this.#rxSig.wake();
    });
  }

  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      if (this.#closed) throw new Error("pht: read on a closed conn");
      if (this.#rx.size) {
        const n = this.#rx.readInto(p);
        this.#rxSig.wake();
        return n;
      }
      if (this.#rxError) throw this.#rxError;
      if (this.#rxEnd) return null;
      await this.#rxSig.wait();
    }
  }

  async write(p: Uint8Array): Promise<number> {
    for (;;) {
      if (this.#closed) throw new Error("pht: write on a closed conn");
      if (this.#txError) throw this.#txError;
      if (this.#wantEnd) throw new Error("pht: write after closeWrite");
      if (this.#tx.size < SESSION_BUFFER) break;
      await this.#txSig.wait();
    }
    if (p.length) {
      this.#tx.push(p.slice());
      this.#kick();
    }
    return p.length;
  }

  async closeWrite(): Promise<void> {
    if (this.#wantEnd) return;
    this.#wantEnd = true;
    this.#kick();
    while (!this.#endSent && !this.#txError && !this.#closed) await this.#txSig.wait();
    if (this.#txError) throw this.#txError;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#tx.clear();
    this.#wantEnd = true;
    this.#rx.clear();
    this.#rxSig.wake();
    this.#txSig.wake();
    // GOST's close: the empty push, then the pull is dropped
    if (this.#endSent || this.#txError) return this.#drop();
    const timer = setTimeout(() => {
      this.#txError ??= new Error("pht: closed");
      this.#drop();
      this.#txSig.wake();
    }, CLOSE_WAIT_MS);
    Deno.unrefTimer(timer as unknown as number);
    this.#kick();
    (async () => {
      while (!this.#endSent && !this.#txError) await this.#txSig.wait();
    })().finally(() => {
      clearTimeout(timer);
      this.#drop();
    });
  }

  /** Closes both HTTP conns. */
  #drop(): void {
    const p = this.#pull;
    this.#pull = null;
    if (p) closeQuietly(p.conn);
    const q = this.#push;
    this.#push = null;
    if (q) closeQuietly(q.conn);
  }

  #kick(): void {
    if (this.#pushing) return;
    this.#pushing = true;
    this.#pushLoop().catch((err) => {
      this.#txError = new Error(`pht push failed: ${errorMessage(err)}`, { cause: err });
      const q = this.#push;
      this.#push = null;
      if (q) closeQuietly(q.conn);
    }).finally(() => {
      this.#pushing = false;
      this.#txSig.wake();
      if (this.#closed && (this.#endSent || this.#txError)) this.#drop();
    });
  }

  /** Sends what is queued, one POST at a time, then the empty push once asked. */
  async #pushLoop(): Promise<void> {
    for (;;) {
      if (this.#txError) return;
      if (this.#tx.size) {
        const b = this.#tx.take(PUSH_BATCH_RAW);
        this.#txSig.wake();
        await this.#post(encodeLine(b));
        continue;
      }
      if (this.#wantEnd && !this.#endSent) {
        await this.#post(EMPTY);
        this.#endSent = true;
        this.#txSig.wake();
      }
      return;
    }
  }

  async #post(body: Uint8Array): Promise<void> {
    let c = this.#push;
    if (!c) {
      c = this.#push = await this.#i.open();
    }
    await sendRequest(c, "POST", this.#i.pushTarget, this.#i.host, this.#i.headers, body);
    const res = await readResponse(c, "POST");
    await readSmallBody(c, res.framing, 64 * 1024);
    if (!res.keep) {
      closeQuietly(c.conn);
      releaseReader(c.r);
      if (this.#push === c) this.#push = null;
    }
    if (res.head.status !== 200) throw new Error(`push answered ${res.head.status} ${res.head.reason}`);
  }

  /** Reads pull responses until one ends without a line (the session is gone) or fails. */
  async #pullLoop(first: Response): Promise<void> {
    let res: Response | null = first;
    for (;;) {
      const c = this.#pull;
      if (!c || this.#closed) return;
      if (!res) {
        await sendRequest(c, "GET", this.#i.pullTarget, this.#i.host, this.#i.headers);
        res = await readResponse(c, "GET");
      }
      if (res.head.status !== 200) return; // 403: the session is over (an end, as GOST's client takes it)
      const lines = await this.#readLines(c, res);
      if (lines === 0 || this.#closed) return;
      if (!res.keep) {
        closeQuietly(c.conn);
        releaseReader(c.r);
        this.#pull = null;
        this.#pull = await this.#i.open();
        if (this.#closed) {
          closeQuietly(this.#pull.conn);
          this.#pull = null;
          return;
        }
      }
      res = null;
    }
  }

  /** One pull body's lines into the read queue; returns how many lines came (heartbeats included). */
  async #readLines(c: HttpConn, res: Response): Promise<number> {
    let lines = 0;
    let carry: Uint8Array = EMPTY;
    for await (const piece of bodyChunks(c, res.framing)) {
      let b = piece;
      if (carry.length) {
        const joined = new Uint8Array(carry.length + b.length);
        joined.set(carry);
        joined.set(b, carry.length);
        b = joined;
        carry = EMPTY;
      }
      let start = 0;
      for (;;) {
        const nl = b.indexOf(0x0a, start);
        if (nl < 0) break;
        lines++;
        if (nl > start) {
          const data = decodeLine(b.subarray(start, nl));
          if (data.length) {
            this.#rx.push(data);
            this.#rxSig.wake();
          }
        }
        start = nl + 1;
      }
      if (start < b.length) {
        carry = b.subarray(start);
        if (carry.length > MAX_PULL_LINE) throw new Error(`pull line over ${MAX_PULL_LINE} bytes`);
      }
      // the reader is slow: stop reading the pull (TCP pushes back) until it catches up
      while (this.#rx.size >= SESSION_BUFFER && !this.#closed) await this.#rxSig.wait();
      if (this.#closed) return lines;
    }
    return lines;
  }
}

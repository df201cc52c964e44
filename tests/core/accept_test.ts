/** The accept loop's handling of accept errors: per-conn errors skipped at once, resource errors backed off briefly. */
import { deepEqual, equal, ok } from "node:assert/strict";
import { classifyAcceptError, resourceBackoff, ResourceExhaustedError } from "../../core/accept.ts";
import type { Conn } from "../../core/conn.ts";
import { Logger, MemorySink, nopLogger } from "../../core/log.ts";
import { type Handler, type Listener, ListenerClosedError } from "../../core/contracts.ts";
import { Service } from "../../core/service/service.ts";

const osError = (message: string, code: string) => Object.assign(new Error(message), { code });

Deno.test("accept errors are classified by what they concern", () => {
  equal(classifyAcceptError(osError("Transport endpoint is not connected (os error 107)", "ENOTCONN")), "conn");
  equal(classifyAcceptError(new Deno.errors.NotConnected("Transport endpoint is not connected")), "conn");
  equal(classifyAcceptError(new Deno.errors.ConnectionAborted("Software caused connection abort")), "conn");
  equal(classifyAcceptError(osError("Connection reset by peer (os error 104)", "ECONNRESET")), "conn");
  equal(classifyAcceptError(new Deno.errors.ConnectionReset("Connection reset by peer")), "conn");
  equal(classifyAcceptError(new Deno.errors.BrokenPipe("Broken pipe")), "conn");
  // EPROTO and ENFILE are the errnos Deno raises without a code
  equal(classifyAcceptError(new Error("Protocol error (os error 71)")), "conn");
  equal(classifyAcceptError(osError("Too many open files (os error 24)", "EMFILE")), "resource");
  equal(classifyAcceptError(new Error("Too many open files in system (os error 23)")), "resource");
  equal(classifyAcceptError(osError("No buffer space available (os error 105)", "ENOBUFS")), "resource");
  equal(classifyAcceptError(osError("Address already in use (os error 98)", "EADDRINUSE")), "listener");
  equal(classifyAcceptError(new ResourceExhaustedError("accept: out of fds")), "resource");
  equal(classifyAcceptError(new Error("the rtcp tunnel dropped")), "listener");
  equal(classifyAcceptError("not an error"), "listener");
  deepEqual([0, 5, 10, 160, 250].map(resourceBackoff), [5, 10, 20, 250, 250]);
});

/** A listener that throws the given errors in turn, then hands out `conns`, then waits until closed. */
class ScriptedListener implements Listener {
  readonly addr: Deno.Addr = { transport: "tcp", hostname: "127.0.0.1", port: 1 };
  readonly accepts: number[] = [];
  #script: (Error | Conn)[];
  #closed = false;
  #wake: (() => void) | null = null;
  constructor(script: (Error | Conn)[]) {
    this.#script = script;
  }
  init(): Promise<void> {
    return Promise.resolve();
  }
  async accept(): Promise<Conn> {
    this.accepts.push(performance.now());
    const next = this.#script.shift();
    if (next instanceof Error) throw next;
    if (next) return next;
    if (!this.#closed) await new Promise<void>((r) => this.#wake = r);
    throw new ListenerClosedError();
  }
  close(): void {
    this.#closed = true;
    this.#wake?.();
  }
}

function fakeConn(): Conn & { closed: boolean } {
  const addr: Deno.Addr = { transport: "tcp", hostname: "127.0.0.1", port: 2 };
  return {
    localAddr: addr,
    remoteAddr: addr,
    closed: false,
    read: () => Promise.resolve(null),
    write: (p: Uint8Array) => Promise.resolve(p.length),
    closeWrite: () => Promise.resolve(),
    close() {
      this.closed = true;
    },
  };
}

Deno.test("a thousand reset conns in a row do not delay the conn after them", async () => {
  const resets = Array.from(
    { length: 1000 },
    () => osError("Transport endpoint is not connected (os error 107)", "ENOTCONN"),
  );
  const conn = fakeConn();
  const listener = new ScriptedListener([...resets, conn]);
  let handled!: () => void;
  const served = new Promise<void>((r) => handled = r);
  const handler: Handler = { init: () => Promise.resolve(), handle: () => Promise.resolve(handled()) };
  const svc = new Service({ name: "s", listener, handler, logger: nopLogger });
  const start = performance.now();
  svc.serve();
  await served;
  // the old loop slept 1 s -> 5 s per error: over an hour for these; one event-loop pause per 64 errors now
  ok(performance.now() - start < 1000, `served after ${performance.now() - start} ms`);
  equal(svc.status.toJSON().state, "ready");
  await svc.close();
});

Deno.test("out of fds: the loop backs off briefly, says so once, and is ready again at the next conn", async () => {
  const emfile = () => osError("Too many open files (os error 24)", "EMFILE");
  const conn = fakeConn();
  const listener = new ScriptedListener([emfile(), emfile(), emfile(), emfile(), conn]);
  const sink = new MemorySink();
  const logger = new Logger(sink, "warn");
  let handled!: () => void;
  const served = new Promise<void>((r) => handled = r);
  const handler: Handler = { init: () => Promise.resolve(), handle: () => Promise.resolve(handled()) };
  const svc = new Service({ name: "s", listener, handler, logger });
  svc.serve();
  await served;
  const gaps = listener.accepts.slice(1).map((t, i) => t - listener.accepts[i]);
  // 5, 10, 20, 40 ms: doubling, each well under the old 1 s
  ok(gaps.slice(0, 4).every((g) => g >= 4 && g < 500), `gaps ${gaps.map((g) => g.toFixed(1))}`);
  equal(sink.lines.filter((w) => /Too many open files/.test(w)).length, 1, sink.lines.join("\n"));
  equal(svc.status.toJSON().state, "ready");
  await svc.close();
});

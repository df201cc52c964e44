/**
 * Memory per idle smux stream on a real mwss session between two processes: a server process runs our `mwss` listener
 * (TLS, WebSocket upgrade, smux server), a client process our `mwss` dialer; the client opens streams, each sends one
 * byte that the server reads, and then both ends keep one read pending on every stream, as a relay does. Each process
 * reports its V8 heap plus external (ArrayBuffer) memory after full GCs, before and after N more streams: the growth
 * over N is the cost of one idle stream on that end (the stream, its session entry, its pending read; not the
 * application's read buffer, which is one shared buffer here).
 *
 * The comparison (`wss`): the same idle conns, each its own WebSocket over its own TLS conn.
 *
 * As a program (run by {@link measureIdleStreams}, needs `--v8-flags=--expose-gc`): `mux_idle.ts server mwss|wss`
 * prints `port N`, then answers `heap` with `heap BYTES ACCEPTED RSS`; `mux_idle.ts client mwss|wss PORT` answers
 * `open K` with `opened TOTAL` and `heap` with `heap BYTES 0 RSS`.
 * @module
 */
import { V8_FLAGS } from "../helpers/gost.ts";
import type { Conn } from "../../core/conn.ts";

/** Per-stream growth of each end, bytes: V8 heap plus external memory after GC, and resident memory. */
export interface IdleStreamMemory {
  streams: number;
  clientBytes: number;
  serverBytes: number;
  clientRssBytes: number;
  serverRssBytes: number;
}

/** `mwss`: streams on one session; `wss`: one WebSocket (one TLS conn) per stream, the comparison. */
export type IdleTransport = "mwss" | "wss";

const SELF = new URL(import.meta.url).pathname;
const WARMUP = 50;

/** One probe process driven by lines on its stdin and stdout. */
class Probe {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;
  readonly #stderr: Promise<string>;

  constructor(args: string[]) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-net", `${V8_FLAGS},--expose-gc`, "--quiet", SELF, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#lines = lines(this.#child.stdout)[Symbol.asyncIterator]();
    this.#stderr = new Response(this.#child.stderr).text();
  }

  async line(): Promise<string[]> {
    const r = await this.#lines.next();
    if (r.done) throw new Error(`mux_idle probe ended: ${(await this.#stderr).trim().slice(-2000)}`);
    return r.value.split(" ");
  }

  async ask(cmd: string): Promise<string[]> {
    await this.#writer.write(new TextEncoder().encode(`${cmd}\n`));
    return await this.line();
  }

  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    try {
      this.#child.kill("SIGKILL");
    } catch { /* gone */ }
    await this.#child.status;
    await this.#stderr.catch(() => "");
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncIterable<string> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    rest += chunk;
    let i;
    while ((i = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, i);
      rest = rest.slice(i + 1);
    }
  }
}

/**
 * Opens `n` idle streams (after a warm-up of 50) on one mwss session between two probe processes and returns what
 * one stream costs on each end. Waits on the server's count of streams, never on time.
 */
export async function measureIdleStreams(n: number, transport: IdleTransport = "mwss"): Promise<IdleStreamMemory> {
  const server = new Probe(["server", transport]);
  let client: Probe | null = null;
  try {
    const [, port] = await server.line();
    client = new Probe(["client", transport, port]);
    const c = client;
    const settle = async (total: number) => {
      for (;;) {
        const [, bytes, accepted, rss] = await server.ask("heap");
        if (Number(accepted) >= total) return [Number(bytes), Number(rss)];
      }
    };
    const clientHeap = async () => (await c.ask("heap")).map(Number);
    await c.ask(`open ${WARMUP}`);
    const [server0, serverRss0] = await settle(WARMUP);
    const [, client0, , clientRss0] = await clientHeap();
    await c.ask(`open ${n}`);
    const [server1, serverRss1] = await settle(WARMUP + n);
    const [, client1, , clientRss1] = await clientHeap();
    return {
      streams: n,
      clientBytes: (client1 - client0) / n,
      serverBytes: (server1 - server0) / n,
      clientRssBytes: (clientRss1 - clientRss0) / n,
      serverRssBytes: (serverRss1 - serverRss0) / n,
    };
  } finally {
    await client?.close();
    await server.close();
  }
}

// ---------------------------------------------------------------- the probe program

async function heapBytes(): Promise<[number, number]> {
  const gc = (globalThis as unknown as { gc?: () => void }).gc;
  if (!gc) throw new Error("mux_idle.ts needs --v8-flags=--expose-gc");
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
  const m = Deno.memoryUsage();
  return [m.heapUsed + m.external, m.rss];
}

async function probe(role: string, transport: string, port: string | undefined): Promise<void> {
  const [{ Metadata }, { nopLogger }, { DefaultRouter }] = await Promise.all([
    import("../../core/metadata.ts"),
    import("../../core/log.ts"),
    import("../../core/routing/router.ts"),
  ]);
  const enc = new TextEncoder();
  const say = (s: string) => Deno.stdout.write(enc.encode(`${s}\n`));
  /** The one buffer every pending read reads into: nothing arrives on an idle stream. */
  const shared = new Uint8Array(64);
  const keep: unknown[] = [];
  let accepted = 0;
  let open: (k: number) => Promise<number> = () => Promise.reject(new Error("not a client"));
  if (role === "server") {
    const [{ MuxServerListener }, { WsListener }, { TlsListener }] = await Promise.all([
      import("../../listeners/mtcp/listener.ts"),
      import("../../listeners/ws/listener.ts"),
      import("../../listeners/tls/listener.ts"),
    ]);
    const opts = { addr: "127.0.0.1:0", logger: nopLogger, service: "mux-idle", router: new DefaultRouter({}) };
    const ws = new WsListener(new TlsListener(opts), opts, transport);
    const ln = transport === "mwss" ? new MuxServerListener(ws, opts, {}, "mwss") : ws;
    await ln.init(new Metadata({}));
    (async () => {
      for (;;) {
        const s = await ln.accept();
        keep.push(s);
        s.read(shared).then(() => {
          accepted++;
          s.read(shared).catch(() => {});
        }, () => {});
      }
    })().catch(() => {});
    await say(`port ${(ln.addr as Deno.NetAddr).port}`);
  } else {
    const [{ MwsDialer }, { WsDialer }, { TlsDialer }] = await Promise.all([
      import("../../listeners/mws/dialer.ts"),
      import("../../listeners/ws/dialer.ts"),
      import("../../listeners/tls/dialer.ts"),
    ]);
    const addr = `127.0.0.1:${port}`;
    let next: () => Promise<Conn>;
    if (transport === "mwss") {
      const d = new MwsDialer({ logger: nopLogger }, true);
      await d.init(new Metadata({}));
      const session = await d.multiplex(await d.dial(addr));
      keep.push(session);
      next = () => session.open();
    } else {
      const d = new WsDialer({ logger: nopLogger }, new TlsDialer({ logger: nopLogger }), "wss");
      await d.init(new Metadata({}));
      next = () => d.dial(addr);
    }
    const base = keep.length;
    const one = new Uint8Array([1]);
    open = async (k) => {
      for (let i = 0; i < k; i++) {
        const s = await next();
        keep.push(s);
        await s.write(one);
        s.read(shared).catch(() => {});
      }
      return keep.length - base;
    };
  }
  for await (const line of lines(Deno.stdin.readable)) {
    const [cmd, arg] = line.split(" ");
    if (cmd === "heap") {
      const [bytes, rss] = await heapBytes();
      await say(`heap ${bytes} ${accepted} ${rss}`);
    } else if (cmd === "open") await say(`opened ${await open(Number(arg))}`);
  }
  Deno.exit(0);
}

if (import.meta.main) await probe(Deno.args[0], Deno.args[1], Deno.args[2]);

/**
 * Memory per idle smux stream on a real mwss session between two processes: a server process runs our `mwss` listener
 * (TLS, WebSocket upgrade, smux server), a client process our `mwss` dialer; the client opens streams, each sends one
 * byte that the server reads, and then both ends keep one read pending on every stream, as a relay does. Each process
 * reports its V8 heap plus external (ArrayBuffer) memory after full GCs, before and after N more streams: the growth
 * over N is the cost of one idle stream on that end (the stream, its session entry, its pending read; not the
 * application's read buffer, which is one shared buffer here).
 *
 * As a program (run by {@link measureIdleStreams}, needs `--v8-flags=--expose-gc`): `mux_idle.ts server` prints
 * `port N`, then answers `heap` with `heap BYTES ACCEPTED`; `mux_idle.ts client PORT` answers `open K` with
 * `opened TOTAL` and `heap` with `heap BYTES 0`.
 * @module
 */
import { V8_FLAGS } from "../helpers/gost.ts";

/** Per-stream growth of each end, bytes. */
export interface IdleStreamMemory {
  streams: number;
  clientBytes: number;
  serverBytes: number;
}

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
export async function measureIdleStreams(n: number): Promise<IdleStreamMemory> {
  const server = new Probe(["server"]);
  let client: Probe | null = null;
  try {
    const [, port] = await server.line();
    client = new Probe(["client", port]);
    const c = client;
    const settle = async (total: number) => {
      for (;;) {
        const [, bytes, accepted] = await server.ask("heap");
        if (Number(accepted) >= total) return Number(bytes);
      }
    };
    await c.ask(`open ${WARMUP}`);
    const server0 = await settle(WARMUP);
    const client0 = Number((await c.ask("heap"))[1]);
    await c.ask(`open ${n}`);
    const server1 = await settle(WARMUP + n);
    const client1 = Number((await c.ask("heap"))[1]);
    return { streams: n, clientBytes: (client1 - client0) / n, serverBytes: (server1 - server0) / n };
  } finally {
    await client?.close();
    await server.close();
  }
}

// ---------------------------------------------------------------- the probe program

async function heapBytes(): Promise<number> {
  const gc = (globalThis as unknown as { gc?: () => void }).gc;
  if (!gc) throw new Error("mux_idle.ts needs --v8-flags=--expose-gc");
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
  const m = Deno.memoryUsage();
  return m.heapUsed + m.external;
}

async function probe(role: string, port: string | undefined): Promise<void> {
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
    const ln = new MuxServerListener(new WsListener(new TlsListener(opts), opts, "mwss"), opts, {}, "mwss");
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
    const { MwsDialer } = await import("../../listeners/mws/dialer.ts");
    const d = new MwsDialer({ logger: nopLogger }, true);
    await d.init(new Metadata({}));
    const session = await d.multiplex(await d.dial(`127.0.0.1:${port}`));
    keep.push(session);
    const one = new Uint8Array([1]);
    open = async (k) => {
      for (let i = 0; i < k; i++) {
        const s = await session.open();
        keep.push(s);
        await s.write(one);
        s.read(shared).catch(() => {});
      }
      return keep.length - 1;
    };
  }
  for await (const line of lines(Deno.stdin.readable)) {
    const [cmd, arg] = line.split(" ");
    if (cmd === "heap") await say(`heap ${await heapBytes()} ${accepted}`);
    else if (cmd === "open") await say(`opened ${await open(Number(arg))}`);
  }
  Deno.exit(0);
}

if (import.meta.main) await probe(Deno.args[0], Deno.args[1]);

/**
 * `ws` transport: GOST's WebSocket tunnel (docs/wire.md, "WebSocket"). The listener upgrades every TCP conn at
 * `path`; the dialer opens TCP (or takes a conn through earlier hops) and upgrades it; the stream then rides in
 * binary frames (`-L http+ws://:8080`, `-F relay+ws://host:8080`, the default handler: `-L ws://:8080`).
 *
 * | key (also `ws.<key>`) | side | default | meaning |
 * |---|---|---|---|
 * | path | both | `/ws` | the upgrade path (listener: exact, or a subtree when it ends with `/`) |
 * | host | dialer | the node's address | the request's `Host` header |
 * | header | both | none | extra headers of the upgrade request (dialer) or of the 101 answer (listener) |
 * | handshakeTimeout | both | 10s (GOST: none) | dialer: the whole upgrade; listener: when readHeaderTimeout is unset |
 * | readHeaderTimeout | both | handshakeTimeout | listener: reading the request and answering it |
 * | readBufferSize | both | 4096 | the frame read-ahead buffer (payloads go straight to the reader) |
 * | writeBufferSize | both | — | read, no effect: every write is one frame |
 * | enableCompression | both | false | `true` is refused: permessage-deflate is not implemented |
 * | keepalive, ttl (keepalive.interval) | dialer | off, 15s | ping every ttl; no pong for 2×ttl closes the conn |
 * | tcp.keepalive | dialer | false | TCP keep-alive (the system's timings) |
 * | keepalive | listener | false | TCP keep-alive on accepted conns (the system's timings) |
 * | backlog | listener | 128 | upgraded conns waiting for the handler; one more is dropped with a warning |
 * | dialTimeout (timeout) | dialer | 10s | TCP connect deadline |
 *
 * GOST's `mptcp`, `keepalive.idle/interval/count` and `tcp.keepalive.idle/interval/count` are refused (the runtime
 * cannot set them).
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `ws` listener and dialer. */
export function register(reg: Registries): void {
  reg.listeners.register("ws", async (opts) => {
    const [{ TcpListener }, { WsListener }] = await Promise.all([
      import("../tcp/listener.ts"),
      import("./listener.ts"),
    ]);
    return new WsListener(new TcpListener(opts), opts, "ws");
  });
  reg.dialers.register("ws", async (opts) => (await import("./dialer.ts")).wsDialer(opts));
}

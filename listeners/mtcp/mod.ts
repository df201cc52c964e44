/**
 * `mtcp` transport: smux over TCP (GOST's mtcp). Every client conn is one stream of the session the chain keeps to
 * the node (`-L socks5+mtcp://:1080`, `-F socks5+mtcp://host:1080`).
 *
 * | key | default | meaning |
 * |---|---|---|
 * | mux.version | 2 | smux version (1 or 2): both ends must agree |
 * | mux.keepaliveInterval | 10s | a NOP is sent this often |
 * | mux.keepaliveTimeout | 30s | the session ends when nothing arrived for this long |
 * | mux.keepaliveDisabled | false | no NOPs, no idle end |
 * | mux.maxFrameSize | 32768 | largest data frame sent |
 * | mux.maxReceiveBuffer | 4194304 | bytes buffered for all streams of a session |
 * | mux.maxStreamBuffer | 65536 | v2: the window of each stream |
 * | backlog | 128 | listener: streams waiting for the handler before new ones are dropped |
 * | reusePort | false | listener: SO_REUSEPORT |
 * | dialTimeout (timeout) | 10s | dialer: TCP connect deadline |
 * | handshakeTimeout | none | dialer: opening a stream (its SYN written) that takes longer ends the session, as GOST's deadline on the conn |
 * | mux.type | smux | only `smux`; GOST's `yamux` is a ConfigError |
 *
 * Not implemented, so a ConfigError naming the key (listeners/mtcp/unsupported.ts): `mux.type` other than smux,
 * `mptcp=true`, `keepalive`/`keepalivePeriod`/`keepalive.*` (TCP keepalive), `handshakeTimeout` on the listener.
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `mtcp` listener and dialer. */
export function register(reg: Registries): void {
  reg.listeners.register("mtcp", async (opts) => {
    const [{ TcpListener }, { MuxServerListener }, { MTCP_MUX_DEFAULTS }] = await Promise.all([
      import("../tcp/listener.ts"),
      import("./listener.ts"),
      import("./dialer.ts"),
    ]);
    return new MuxServerListener(new TcpListener(opts), opts, MTCP_MUX_DEFAULTS);
  });
  reg.dialers.register("mtcp", async (opts) => new (await import("./dialer.ts")).MtcpDialer(opts));
}

/**
 * `pht` and `phts` transports: GOST's plain-HTTP tunnel (authorize / push / pull, docs/wire.md "PHT") for paths
 * where only plain HTTP passes; `phts` runs it over TLS (the `tls` listener's and dialer's settings and keys).
 *
 * Listener (`-L http+pht://:8080`, `-L pht://:8080` for the default handler):
 *
 * | key | default | meaning |
 * |---|---|---|
 * | authorizePath | `/authorize` | where a client gets its token (a value not starting with `/` means the default, as GOST) |
 * | pushPath | `/push` | where the client POSTs its bytes |
 * | pullPath | `/pull` | where the client GETs the server's bytes |
 * | backlog | 128 | sessions waiting for the handler; more get 429 |
 * | pullTimeout | 30s | (ours) a session without a pull for this long is dropped |
 * | handshakeTimeout | 10s | phts: TLS handshake deadline |
 *
 * Dialer (`-F http+pht://host:8080`):
 *
 * | key | default | meaning |
 * |---|---|---|
 * | authorizePath, pushPath, pullPath | as the listener | the server's paths |
 * | host | the node's address | the `Host` header (the node's port kept) |
 * | header | none | extra request headers (a map) |
 * | dialTimeout (timeout) | 10s | connect + token + first pull deadline |
 * | secure, serverName, caFile, … | as `tls` | phts: the `tls` dialer's settings |
 * @module
 */
import type { Registries } from "../../core/registries.ts";

/** Registers the `pht` and `phts` listeners and dialers. */
export function register(reg: Registries): void {
  reg.listeners.register("pht", async (opts) => new (await import("./listener.ts")).PhtListener(opts, { tls: false }));
  reg.listeners.register(
    "phts",
    async (opts) => new (await import("./listener.ts")).PhtListener(opts, { tls: true }),
    { tls: true },
  );
  reg.dialers.register("pht", async (opts) => new (await import("./dialer.ts")).PhtDialer(opts, false));
  reg.dialers.register("phts", async (opts) => new (await import("./dialer.ts")).PhtDialer(opts, true), { tls: true });
}

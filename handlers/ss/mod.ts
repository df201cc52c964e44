/**
 * Shadowsocks over TCP (handler and connector `ss`; UDP is handlers/ssu/): the AEAD methods of SIP004
 * (`aes-128-gcm`, `aes-192-gcm`, `aes-256-gcm`, `chacha20-ietf-poly1305`) and the 2022 methods of SIP022
 * (`2022-blake3-aes-128-gcm`, `2022-blake3-aes-256-gcm`, `2022-blake3-chacha20-poly1305`). The method and password
 * are the user info of the `-L`/`-F` URL (`ss://aes-256-gcm:secret@:8338`, or SIP002's
 * `ss://BASE64(method:password)@host:port`) or `handler.auth`/`connector.auth`; the bytes are in docs/wire.md,
 * "Shadowsocks".
 *
 * Handler options:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `readTimeout` | `15s` | deadline of the handshake (salt, first chunk, target), from accept; `0` also means 15s, as GOST; a refused client is held until then |
 *
 * Connector options:
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `timeout` (`connectTimeout`) | `10s` | deadline of sending the salt and target; `0` = none |
 *
 * The 2022 methods take a base64 key of the method's size as password (`openssl rand -base64 32`) and need clocks
 * within 30 s; the `ssu` handler and connector carry them over UDP as SIP022 does (handlers/ssu/ss2022.ts), on a
 * udp listener and a first hop only (not UDP over a TCP session).
 *
 * SIP023 multi-user, as GOST, for `2022-blake3-aes-128-gcm` and `2022-blake3-aes-256-gcm`: the handler's `users`
 * (a map of user name to base64 uPSK) with the iPSK as the service's password; a client's password is `iPSK:uPSK`
 * (handlers/ss/ss2022/identity.ts). A client whose identity header names no user is held as a wrong key.
 *
 * Refused, naming the key: `key` (GOST reads it and ignores it), `users` and `psk1:psk2` with any other method,
 * chains of several iPSKs (`psk1:psk2:psk3`), GOST's `sniffing*`, `mitm.*` and `hash` (not implemented).
 *
 * Differences from GOST, on purpose:
 * - Probe resistance: a client that fails the handshake — a wrong key or method, a salt seen before, garbage after
 *   a valid first chunk — gets no reply; its conn is read and drained until `readTimeout` from accept or until it
 *   closes, then closed (GOST closes at once, which tells a prober where the server gave up).
 * - Replays: every salt the server receives (once its first chunk authenticates) and sends is remembered in a
 *   bounded filter (two generations of 100,000); GOST's server checks the salts it sent but never records the
 *   client's, so it does not see a replayed client stream. Replays are counted (the handler's `replays`, and the
 *   service's `gost_service_client_errors_total{kind="auth"}`) and logged, one line each.
 * - `aes-192-gcm` and `2022-blake3-chacha20-poly1305` are offered (GOST: not); `none`/`dummy` (no encryption) is not.
 * - The client sends the salt and target at connect; GOST waits for the first data, which stalls a protocol whose
 *   server speaks first.
 * @module
 */
import type { ConnectorFactory, HandlerFactory } from "../../core/contracts.ts";
import type { Registries } from "../../core/registries.ts";

/** Registers the handler and connector type `ss`. */
export function register(reg: Registries): void {
  const handler: HandlerFactory = async (opts) => new (await import("./handler.ts")).SsHandler(opts);
  const connector: ConnectorFactory = async (opts) => new (await import("./connector.ts")).SsConnector(opts);
  reg.handlers.register("ss", handler, { openProxy: true, base64UserInfo: true });
  reg.connectors.register("ss", connector, { base64UserInfo: true });
}

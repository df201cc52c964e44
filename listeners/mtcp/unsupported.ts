/**
 * GOST's mtcp/mtls options that gost.ts does not implement. Each one fails the config with a ConfigError naming the
 * key, the value given and what is supported, instead of being accepted and silently doing nothing.
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";

/** Which end of a multiplexing transport reads the options. */
export type MuxSide = "listener" | "dialer";

/**
 * Throws on an option of GOST's mtcp/mtls (or of its tcp/tls underneath) that gost.ts does not implement:
 * - `mux.type` other than `smux` (GOST also has `yamux`),
 * - `mptcp` set to true (Deno opens no MPTCP sockets),
 * - `keepalive`, `keepalivePeriod` and `keepalive.*` (TCP keepalive: Deno cannot set it on a socket; the smux
 *   session's own keepalive is `mux.keepaliveInterval`/`mux.keepaliveTimeout`),
 * - on the mtcp listener, `handshakeTimeout` (plain TCP has no handshake to bound there; mtls bounds its TLS
 *   handshake, the dialers the opening of each stream).
 * @param transport the transport's name, for the message (`mtcp`, `mtls`)
 * @throws {ConfigError} naming the key, its value and what is supported
 * @example rejectUnsupported(new Metadata({ "mux.type": "yamux" }), "mtcp", "dialer") // throws
 */
export function rejectUnsupported(md: Metadata, transport: string, side: MuxSide): void {
  const type = md.string("mux.type");
  if (type && type.toLowerCase() !== "smux") {
    throw new ConfigError(`${transport}: "mux.type" = "${type}" is not supported: only "smux" is implemented`);
  }
  if (md.bool("mptcp")) {
    throw new ConfigError(
      `${transport}: "mptcp" = "${md.string("mptcp")}" is not supported: only plain TCP (mptcp=false)`,
    );
  }
  for (const [key, value] of Object.entries(md.toRecord())) {
    if (key === "keepalive" || key === "keepaliveperiod" || key.startsWith("keepalive.")) {
      throw new ConfigError(
        `${transport}: "${key}" = "${String(value)}" is not supported: TCP keepalive cannot be set; the session's ` +
          `keepalive is "mux.keepaliveInterval", "mux.keepaliveTimeout" and "mux.keepaliveDisabled"`,
      );
    }
  }
  if (transport === "mtcp" && side === "listener" && md.has("handshakeTimeout")) {
    throw new ConfigError(
      `${transport} listener: "handshakeTimeout" = "${md.string("handshakeTimeout")}" is not supported: an mtcp ` +
        `listener has no handshake to bound (mtls bounds its TLS handshake; the dialers bound opening a stream)`,
    );
  }
}

/**
 * A configured Shadowsocks method: its keys and, for the 2022 methods, the stream headers of each side. The 2022
 * code (and BLAKE3) is loaded only when a 2022 method is configured.
 * @module
 */
import { aeadKeys, type StreamKeys } from "./cipher.ts";
import type { SsCredentials } from "./metadata.ts";
import type { StreamPreamble } from "./stream.ts";

/** The keys and stream headers of a method. */
export interface SsMethod {
  /** The keys. */
  readonly keys: StreamKeys;
  /** The server side's headers of a new stream (SIP022), or undefined. */
  serverPreamble(): StreamPreamble | undefined;
  /** The client side's headers of a new stream to `addr` (SIP022), or undefined. */
  clientPreamble(addr: Uint8Array): StreamPreamble | undefined;
}

/**
 * The method of `c`.
 * @throws {ConfigError} when a 2022 password is not a base64 key of the method's size
 */
export async function loadMethod(c: SsCredentials): Promise<SsMethod> {
  if (!c.spec.sip022) {
    return { keys: aeadKeys(c.spec, c.password), serverPreamble: () => undefined, clientPreamble: () => undefined };
  }
  const [{ blake3Keys, parsePsk }, { ClientPreamble, ServerPreamble }] = await Promise.all([
    import("./ss2022/keys.ts"),
    import("./ss2022/preamble.ts"),
  ]);
  const keys = blake3Keys(c.spec, parsePsk(c.spec, c.password));
  return {
    keys,
    serverPreamble: () => new ServerPreamble(),
    clientPreamble: (addr) => new ClientPreamble(addr, c.spec.saltSize),
  };
}

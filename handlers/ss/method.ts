/**
 * A configured Shadowsocks method: its keys and, for the 2022 methods, the stream headers of each side. The 2022
 * code (and BLAKE3) is loaded only when a 2022 method is configured.
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
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
 * The method of `c`. SIP023 (the `2022-blake3-aes-*-gcm` methods): a client's password `iPSK:uPSK` sends an
 * identity header; a server with `users` (name → uPSK) and the iPSK as password takes each user's key.
 * @param users the server's users (GOST's `users`)
 * @throws {ConfigError} when a 2022 password is not a base64 key of the method's size, or SIP023 does not apply
 */
export async function loadMethod(c: SsCredentials, users?: ReadonlyMap<string, string>): Promise<SsMethod> {
  const { spec, password } = c;
  if (!spec.sip022) {
    if (users) throw new ConfigError(`Shadowsocks ${spec.name}: "users" (SIP023) needs a 2022-blake3-aes-*-gcm method`);
    return { keys: aeadKeys(spec, password), serverPreamble: () => undefined, clientPreamble: () => undefined };
  }
  const [{ blake3Keys, parsePsk }, { ClientPreamble, ServerPreamble }, identity] = await Promise.all([
    import("./ss2022/keys.ts"),
    import("./ss2022/preamble.ts"),
    import("./ss2022/identity.ts"),
  ]);
  const parts = password.split(":");
  if ((users || parts.length > 1) && spec.kind !== "aes-gcm") {
    throw new ConfigError(
      `Shadowsocks ${spec.name}: SIP023 identity headers (users, iPSK:uPSK) exist for the AES methods only`,
    );
  }
  if (parts.length > 2 || (users && parts.length > 1)) {
    throw new ConfigError(
      `Shadowsocks ${spec.name}: ${
        users
          ? "a server with users takes one key, the iPSK"
          : "give iPSK:uPSK (several iPSKs, a relay chain, are not implemented)"
      }`,
    );
  }
  if (parts.length === 2) {
    const ipsk = parsePsk(spec, parts[0]), upsk = parsePsk(spec, parts[1]);
    return {
      keys: blake3Keys(spec, upsk),
      serverPreamble: () => new ServerPreamble(),
      clientPreamble: (addr) =>
        new ClientPreamble(addr, spec.saltSize, (salt) => identity.identityHeader(spec, ipsk, upsk, salt)),
    };
  }
  const psk = parsePsk(spec, password);
  const keys = blake3Keys(spec, psk);
  if (!users) {
    return {
      keys,
      serverPreamble: () => new ServerPreamble(),
      clientPreamble: (addr) => new ClientPreamble(addr, spec.saltSize),
    };
  }
  const upsks = new Map<string, Uint8Array>();
  for (const [name, key] of users) {
    try {
      upsks.set(name, parsePsk(spec, key));
    } catch (err) {
      throw new ConfigError(`Shadowsocks ${spec.name}: user ${JSON.stringify(name)}: ${(err as Error).message}`);
    }
  }
  const found = new identity.IdentityUsers(spec, psk, upsks);
  return {
    keys,
    serverPreamble: () => new ServerPreamble((salt, header) => found.find(salt, header)?.keys ?? null),
    clientPreamble: (addr) => new ClientPreamble(addr, spec.saltSize),
  };
}

/**
 * Keys of the Shadowsocks 2022 methods (SIP022, docs/wire.md, "Shadowsocks 2022"): the password is the base64 of a
 * pre-shared key of exactly the key size, and the subkey of a salt is BLAKE3's derive_key with the context
 * `shadowsocks 2022 session subkey` over PSK ‖ salt.
 * @module
 */
import { blake3 } from "../../../core/deps/blake3.ts";
import { ConfigError } from "../../../core/errors.ts";
import type { MethodSpec, StreamKeys } from "../cipher.ts";

const SESSION_CONTEXT = new TextEncoder().encode("shadowsocks 2022 session subkey");

/**
 * BLAKE3 derive_key(`context`, `material`), `size` bytes.
 * @example deriveKey(new TextEncoder().encode("shadowsocks 2022 identity subkey"), material, 32)
 */
export function deriveKey(context: Uint8Array, material: Uint8Array, size: number): Uint8Array {
  return blake3(material, { context, dkLen: size });
}

/**
 * The PSK of a SIP022 password: standard base64 of exactly the key size.
 * @throws {ConfigError} on anything else, and on `psk1:psk2` (SIP023: split by handlers/ss/method.ts first)
 */
export function parsePsk(spec: MethodSpec, password: string): Uint8Array {
  if (password.includes(":")) {
    throw new ConfigError(
      `Shadowsocks ${spec.name}: several keys ("iPSK:uPSK", SIP023 identity headers) are implemented for ss over TCP with the AES methods only; give one base64 key`,
    );
  }
  let psk: Uint8Array;
  try {
    psk = Uint8Array.from(atob(password.trim()), (c) => c.charCodeAt(0));
  } catch {
    throw new ConfigError(`Shadowsocks ${spec.name}: the password must be a base64 key of ${spec.keySize} bytes`);
  }
  if (psk.length !== spec.keySize) {
    throw new ConfigError(
      `Shadowsocks ${spec.name}: the key is ${psk.length} bytes, it must be ${spec.keySize} (e.g. openssl rand -base64 ${spec.keySize})`,
    );
  }
  return psk;
}

/** The keys of a SIP022 method and PSK. */
export function blake3Keys(spec: MethodSpec, psk: Uint8Array): StreamKeys {
  return {
    spec,
    subkey: (salt) => {
      const material = new Uint8Array(psk.length + salt.length);
      material.set(psk);
      material.set(salt, psk.length);
      return deriveKey(SESSION_CONTEXT, material, spec.keySize);
    },
  };
}

/**
 * SIP023 identity headers of the `2022-blake3-aes-*-gcm` methods over TCP (docs/wire.md, "Shadowsocks 2022"): the
 * server holds an identity PSK (iPSK, the service's password) and one user PSK (uPSK) per user (GOST's `users`); a
 * client's password is `iPSK:uPSK`. After its salt the client sends AES-ECB(identity subkey, BLAKE3(uPSK)[0..16]),
 * the identity subkey being BLAKE3 derive_key(`shadowsocks 2022 identity subkey`, iPSK ‖ salt); the session keys of
 * both directions come from the user's uPSK.
 * @module
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { blake3 } from "../../../core/deps/blake3.ts";
import type { MethodSpec, StreamKeys } from "../cipher.ts";
import { blake3Keys, deriveKey } from "./keys.ts";

/** The size of one identity header. */
export const IDENTITY_SIZE = 16;
const IDENTITY_CONTEXT = new TextEncoder().encode("shadowsocks 2022 identity subkey");

function identitySubkey(spec: MethodSpec, ipsk: Uint8Array, salt: Uint8Array): Uint8Array {
  const material = new Uint8Array(ipsk.length + salt.length);
  material.set(ipsk);
  material.set(salt, ipsk.length);
  return deriveKey(IDENTITY_CONTEXT, material, spec.keySize);
}

const ecbName = (key: Uint8Array) => key.length === 16 ? "aes-128-ecb" : "aes-256-ecb";
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/**
 * The identity header a client with `upsk` sends after `salt`.
 * @example identityHeader(spec, ipsk, upsk, salt).length // 16
 */
export function identityHeader(spec: MethodSpec, ipsk: Uint8Array, upsk: Uint8Array, salt: Uint8Array): Uint8Array {
  const c = createCipheriv(ecbName(ipsk), identitySubkey(spec, ipsk, salt), null).setAutoPadding(false);
  return new Uint8Array(c.update(blake3(upsk).subarray(0, IDENTITY_SIZE)));
}

/** The server's users, found by the hash of their uPSK. */
export class IdentityUsers {
  readonly #spec: MethodSpec;
  readonly #ipsk: Uint8Array;
  readonly #byHash = new Map<string, { name: string; keys: StreamKeys }>();

  /** @param users name → uPSK */
  constructor(spec: MethodSpec, ipsk: Uint8Array, users: ReadonlyMap<string, Uint8Array>) {
    this.#spec = spec;
    this.#ipsk = ipsk;
    for (const [name, upsk] of users) {
      this.#byHash.set(hex(blake3(upsk).subarray(0, IDENTITY_SIZE)), { name, keys: blake3Keys(spec, upsk) });
    }
  }

  /** The user whose identity header after `salt` is `header`, or undefined. */
  find(salt: Uint8Array, header: Uint8Array): { name: string; keys: StreamKeys } | undefined {
    const d = createDecipheriv(ecbName(this.#ipsk), identitySubkey(this.#spec, this.#ipsk, salt), null)
      .setAutoPadding(false);
    return this.#byHash.get(hex(new Uint8Array(d.update(header))));
  }
}

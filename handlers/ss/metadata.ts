/**
 * Options of the Shadowsocks handlers and connectors (keys and defaults in mod.ts), parsed once in `init()`, and the
 * method and key they take from the service's or node's user info.
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";
import { type MethodSpec, parseMethod } from "./cipher.ts";

/** GOST's handshake deadline of the ss handler (0 or less also means this, as in GOST). */
export const DEFAULT_READ_TIMEOUT_MS = 15_000;
/** Deadline of a connector's handshake when `timeout` is not set. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** The largest UDP datagram relayed when `udpBufferSize` is not set (GOST: 4096, larger ones cut). */
export const DEFAULT_UDP_BUFFER_SIZE = 65_535;

/** Parsed handler options. */
export interface SsHandlerMetadata {
  /** Deadline of the handshake (salt, first chunk, target address) in ms; also how long a refused client is held. */
  readTimeoutMs: number;
  /** ssu: the largest datagram relayed. */
  udpBufferSize: number;
  /** ss: GOST's `users` (SIP023, name → base64 uPSK), or undefined. */
  users?: ReadonlyMap<string, string>;
}

/** Parsed connector options. */
export interface SsConnectorMetadata {
  /** Deadline of the handshake in ms; 0 = none. */
  connectTimeoutMs: number;
}

const KEY_REFUSED =
  "GOST reads it and then ignores it (the key always comes from the password); give the method and password as the user info";

/**
 * Parses a Shadowsocks handler's options.
 * @param owner the component, as messages name it (`handler ss`)
 * @param users whether `users` (SIP023 over TCP) is taken; refused otherwise (ssu)
 * @throws {ConfigError} naming the key on a bad value, `key`, and `users` when not taken or not a map of strings
 * @example parseSsHandlerMetadata(new Metadata({ readTimeout: "5s" }), "handler ss").readTimeoutMs // 5000
 */
export function parseSsHandlerMetadata(md: Metadata, owner: string, users = false): SsHandlerMetadata {
  md.refuse(owner, [
    [["key"], KEY_REFUSED],
    ...(users
      ? []
      : [[["users"], "several users (SIP023 identity headers) are implemented for ss over TCP only"]] as const),
  ]);
  const t = md.duration("readTimeout", DEFAULT_READ_TIMEOUT_MS);
  const size = md.int(["udpBufferSize", "udp.bufferSize"], DEFAULT_UDP_BUFFER_SIZE, 1);
  return {
    readTimeoutMs: t > 0 ? t : DEFAULT_READ_TIMEOUT_MS,
    udpBufferSize: Math.min(Math.max(size, 512), 65_535),
    ...(users && md.has("users") ? { users: parseUsers(md.find("users")![1], owner) } : {}),
  };
}

/** GOST's `users` map: user name → password (SIP023: the base64 uPSK). */
function parseUsers(v: unknown, owner: string): ReadonlyMap<string, string> {
  if (
    typeof v !== "object" || v === null || Array.isArray(v) || !Object.values(v).every((x) => typeof x === "string")
  ) {
    throw new ConfigError(`${owner}: "users" must be a map of user name to key, got ${JSON.stringify(v)}`);
  }
  const m = new Map(Object.entries(v as Record<string, string>));
  if (!m.size) throw new ConfigError(`${owner}: "users" is empty`);
  return m;
}

/**
 * Parses a Shadowsocks connector's options.
 * @param owner the component, as messages name it (`connector ss`, `connector ssu`)
 * @param udp the ssu connector
 * @throws {ConfigError} naming the key on a bad value; `key`, and `udpBufferSize` on ssu (GOST reads both and
 *   acts on neither)
 */
export function parseSsConnectorMetadata(md: Metadata, owner: string, udp = false): SsConnectorMetadata {
  md.refuse(owner, [
    [["key"], KEY_REFUSED],
    ...(udp
      ? [[
        ["udpBufferSize", "udp.bufferSize"],
        "GOST's ssu connector reads it and never uses it; datagrams go whole",
      ]] as const
      : []),
  ]);
  const connectTimeoutMs = md.duration(["timeout", "connectTimeout"], DEFAULT_CONNECT_TIMEOUT_MS);
  if (connectTimeoutMs < 0) throw new ConfigError(`"timeout" must not be negative, got ${connectTimeoutMs} ms`);
  return { connectTimeoutMs };
}

/** A method and its password, from the user info. */
export interface SsCredentials {
  /** The method. */
  spec: MethodSpec;
  /** The password (SIP022: the base64 PSK). */
  password: string;
}

/**
 * The method and password of a service or node: its user name is the method, its password the password.
 * @param who `service` or `node`, for the message
 * @throws {ConfigError} when they are missing, the method is unknown or the password is empty
 */
export function ssCredentials(user: { username: string; password?: string } | undefined, who: string): SsCredentials {
  if (!user || !user.username) {
    throw new ConfigError(
      `Shadowsocks ${who}: auth is required: give the method and password as the user info (ss://METHOD:PASSWORD@host:port, or SIP002's base64 of METHOD:PASSWORD) or as ${
        who === "node" ? "connector" : "handler"
      }.auth`,
    );
  }
  const spec = parseMethod(user.username);
  const password = user.password ?? "";
  if (!password) throw new ConfigError(`Shadowsocks ${who}: method ${spec.name} needs a password`);
  return { spec, password };
}

/**
 * GOST's TLS protocol options, `tls.options: {minVersion, maxVersion, cipherSuites, alpn}` (or the metadata keys
 * `tls.minVersion`, `tls.maxVersion`, `tls.cipherSuites`, `tls.alpn`), checked and turned into `node:tls` settings.
 * Versions use Go's names (`VersionTLS12`, `VersionTLS13`). A value that is not understood is a ConfigError naming
 * the key, the value and what is supported.
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";

/** A TLS version as `node:tls` names it. */
export type NodeTlsVersion = "TLSv1.2" | "TLSv1.3";

/** The protocol options, checked. Absent versions leave the runtime's defaults (TLS 1.2 to 1.3). */
export interface TlsProtocolOptions {
  minVersion?: NodeTlsVersion;
  maxVersion?: NodeTlsVersion;
  /** ALPN protocols offered (client) or accepted (server), most preferred first; empty = no ALPN. */
  alpn: string[];
}

/** Go's version names the runtime's TLS (rustls in Deno) speaks. */
const VERSIONS: Record<string, NodeTlsVersion> = { versiontls12: "TLSv1.2", versiontls13: "TLSv1.3" };
const RANK: Record<NodeTlsVersion, number> = { "TLSv1.2": 12, "TLSv1.3": 13 };
const OPTION_KEYS = ["minVersion", "maxVersion", "cipherSuites", "alpn"];

function version(key: string, value: unknown): NodeTlsVersion | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const v = typeof value === "string" ? VERSIONS[value.trim().toLowerCase()] : undefined;
  if (v) return v;
  const old = typeof value === "string" && /^versiontls1[01]$/i.test(value.trim());
  throw new ConfigError(
    `Unsupported TLS version in ${key}: ${JSON.stringify(value)}${
      old ? " (this runtime's TLS does not speak TLS 1.0/1.1)" : ""
    }; supported: VersionTLS12, VersionTLS13`,
  );
}

function stringList(key: string, value: unknown): string[] {
  if (value === undefined || value === null || value === "") return [];
  if (typeof value === "string") return value.split(",").map((s) => s.trim()).filter(Boolean);
  if (Array.isArray(value) && value.every((s) => typeof s === "string")) {
    return value.map((s) => s.trim()).filter(Boolean);
  }
  throw new ConfigError(`${key} must be a list of strings, got ${JSON.stringify(value)}`);
}

/**
 * Reads and checks the protocol options: the `options` object of a `tls` block first, else the metadata keys.
 * @param where the name of the block in messages (`tls.options`)
 * @throws {ConfigError} on an unknown key in `options`, a version other than VersionTLS12/VersionTLS13, minVersion
 *   above maxVersion, an ALPN name that is empty or longer than 255 bytes, or any `cipherSuites` (the runtime's TLS
 *   has no cipher suite setting; see README "Differences from GOST")
 */
export function parseProtocolOptions(options: unknown, md: Metadata, where = "tls.options"): TlsProtocolOptions {
  if (options !== undefined && options !== null && (typeof options !== "object" || Array.isArray(options))) {
    throw new ConfigError(`${where} must be an object with ${OPTION_KEYS.join(", ")}; got ${JSON.stringify(options)}`);
  }
  const o = (options ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!OPTION_KEYS.includes(k)) {
      throw new ConfigError(`Unknown TLS option ${where}.${k}; supported: ${OPTION_KEYS.join(", ")}`);
    }
  }
  const pick = (k: string): [string, unknown] => {
    if (o[k] !== undefined) return [`${where}.${k}`, o[k]];
    return md.find([`tls.${k}`, k]) ?? [`tls.${k}`, undefined];
  };
  const minVersion = version(...pick("minVersion"));
  const maxVersion = version(...pick("maxVersion"));
  if (minVersion && maxVersion && RANK[minVersion] > RANK[maxVersion]) {
    throw new ConfigError(`TLS minVersion (${minVersion}) is above maxVersion (${maxVersion})`);
  }
  const [suitesKey, suitesValue] = pick("cipherSuites");
  const suites = stringList(suitesKey, suitesValue);
  if (suites.length > 0) {
    throw new ConfigError(
      `${suitesKey} is not supported: ${JSON.stringify(suites)}; this runtime's TLS (rustls in Deno) always uses ` +
        "its own suite list (TLS 1.3: AES-128/256-GCM, CHACHA20-POLY1305; TLS 1.2: ECDHE with the same ciphers); " +
        "remove the key, or use minVersion/maxVersion",
    );
  }
  const [alpnKey, alpnValue] = pick("alpn");
  const alpn = stringList(alpnKey, alpnValue);
  for (const p of alpn) {
    if (new TextEncoder().encode(p).length > 255) {
      throw new ConfigError(`${alpnKey}: the ALPN protocol name "${p.slice(0, 40)}…" is longer than 255 bytes`);
    }
  }
  return { minVersion, maxVersion, alpn };
}

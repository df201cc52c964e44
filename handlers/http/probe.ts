/**
 * Probe resistance settings of the `http` handler (GOST's `probeResist`, written `probeResistance` in GOST's docs):
 * which decoy a client that fails authentication gets instead of the 407, and the `knock` hosts that still get the 407
 * (README.md, "Probe resistance"). Parsed and checked once at start; serving the decoy is in decoy.ts. GOST has these
 * keys on its http and http2 handlers only: the socks and relay handlers refuse them ({@link refuseProbeKeys}).
 * @module
 */
import { splitHostPort } from "../../core/conn.ts";
import { ConfigError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";

/** The keys GOST's http handler reads (`probeResist`, `probe_resist`), and `probeResistance`, which its docs write. */
export const PROBE_RESISTANCE_KEYS: readonly string[] = ["probeResistance", "probeResist", "probe_resist"];

/** The key naming the hosts that still get the 407 when probe resistance is on. */
export const KNOCK_KEY = "knock";

/** The forms `probeResistance` takes, for error messages. */
export const PROBE_RESISTANCE_FORMS =
  "code:<status 200-599>, web:<host[/path] or http(s)://URL>, host:<host:port>, file:<path to a readable file>";

/** The decoy answered to a client that fails authentication. */
export type Decoy =
  /** A bare status line (`code:404`). */
  | { kind: "code"; status: number }
  /** The response of `GET url` (`web:example.com/page.html`), fetched for each probe. */
  | { kind: "web"; url: string }
  /** The request, and the rest of the conn, relayed to `host:port` (`host:127.0.0.1:8080`). */
  | { kind: "host"; host: string; port: number; addr: string }
  /** The file's content as a `200` `text/html` page (`file:/var/www/index.html`). */
  | { kind: "file"; path: string };

/** Parsed probe resistance: the decoy, and the `knock` hostnames (lower case) that get the usual 407. */
export interface ProbeResistance {
  decoy: Decoy;
  knock: readonly string[];
}

/** Largest decoy body gost.ts serves (a `web:` response or a `file:`); a bigger one is answered 503. */
export const DECOY_MAX_BYTES = 1 << 20;

function invalid(owner: string, key: string, value: string, why: string): ConfigError {
  return new ConfigError(
    `${owner}: ${key}=${JSON.stringify(value.slice(0, 200))} ${why}; supported: ${PROBE_RESISTANCE_FORMS}`,
  );
}

function parseDecoy(owner: string, key: string, value: string): Decoy {
  const colon = value.indexOf(":");
  const type = colon > 0 ? value.slice(0, colon) : "";
  const arg = value.slice(colon + 1).trim();
  switch (type) {
    case "code": {
      const status = /^\d{3}$/.test(arg) ? Number(arg) : NaN;
      if (!(status >= 200 && status <= 599)) throw invalid(owner, key, value, "is not a status code from 200 to 599");
      return { kind: "code", status };
    }
    case "web": {
      // as GOST: a value that does not start with "http" is an http:// URL
      const raw = arg.startsWith("http") ? arg : `http://${arg}`;
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw invalid(owner, key, value, "is not a URL");
      }
      if ((url.protocol !== "http:" && url.protocol !== "https:") || !url.hostname) {
        throw invalid(owner, key, value, "is not an http or https URL with a host");
      }
      return { kind: "web", url: url.href };
    }
    case "host": {
      let hp;
      try {
        hp = splitHostPort(arg);
      } catch {
        throw invalid(owner, key, value, "is not host:port");
      }
      if (!hp.host || hp.port < 1) throw invalid(owner, key, value, "needs a host and a port from 1 to 65535");
      return { kind: "host", host: hp.host, port: hp.port, addr: arg };
    }
    case "file": {
      let info: Deno.FileInfo;
      try {
        using f = Deno.openSync(arg, { read: true });
        info = f.statSync();
      } catch (err) {
        throw invalid(owner, key, value, `names a file that cannot be read (${(err as Error).message})`);
      }
      if (!info.isFile) throw invalid(owner, key, value, "is not a regular file");
      if (info.size > DECOY_MAX_BYTES) throw invalid(owner, key, value, `is larger than ${DECOY_MAX_BYTES} bytes`);
      return { kind: "file", path: arg };
    }
    default:
      throw invalid(owner, key, value, type ? `has an unknown type ${JSON.stringify(type)}` : "is not <type>:<value>");
  }
}

/**
 * Parses `probeResistance` (`probeResist`, `probe_resist`) and `knock`; undefined when probe resistance is off.
 * @param owner the handler, as messages name it
 * @throws {ConfigError} naming the key, the value and the supported forms when a value does not parse; `knock` without
 *   `probeResistance` (GOST ignores it: every client would get the 407)
 * @example parseProbeResistance(new Metadata({ probeResistance: "code:404", knock: "secret.local" }))
 * // { decoy: { kind: "code", status: 404 }, knock: ["secret.local"] }
 */
export function parseProbeResistance(md: Metadata, owner = "handler http"): ProbeResistance | undefined {
  const found = md.find([...PROBE_RESISTANCE_KEYS]);
  const knock = md.strings(KNOCK_KEY).map((h) => h.toLowerCase());
  const raw = found && found[1] !== null && found[1] !== undefined ? String(found[1]).trim() : "";
  if (!raw) {
    if (knock.length) {
      throw new ConfigError(
        `${owner}: knock=${JSON.stringify(md.string(KNOCK_KEY))} needs probeResistance (${PROBE_RESISTANCE_FORMS}): ` +
          "without it every client that fails authentication gets the 407",
      );
    }
    return undefined;
  }
  return { decoy: parseDecoy(owner, found![0], raw), knock };
}

/**
 * The hostname of a request's target as GOST's knock compares it (Go's `req.URL.Hostname()`): the CONNECT authority
 * or the absolute URI's host, without port, brackets or user info, lower case; "" for an origin-form target (`GET /`).
 * @example requestHostname("CONNECT", "Secret.Local:443") // "secret.local"
 */
export function requestHostname(method: string, target: string): string {
  let authority: string;
  if (method === "CONNECT") authority = target;
  else {
    const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(target);
    if (!m) return "";
    authority = m[1];
  }
  const host = authority.slice(authority.lastIndexOf("@") + 1);
  const v6 = /^\[([^\]]*)\]/.exec(host);
  return (v6 ? v6[1] : host.replace(/:\d*$/, "")).toLowerCase();
}

/** Tells whether a request knocks: its target's hostname is one of the `knock` hosts. */
export function knocks(pr: ProbeResistance, method: string, target: string): boolean {
  return pr.knock.length > 0 && pr.knock.includes(requestHostname(method, target));
}

/**
 * Refuses the probe resistance keys on a handler of which GOST has no such key (GOST ignores them there, and a prober
 * gets the handler's usual answer).
 * @param owner the handler, as messages name it (`handler socks5`)
 * @throws {ConfigError} `<owner>: probeResist="web:example.com" is not a key of this handler: …` when one is set
 * @example refuseProbeKeys(new Metadata({ knock: "a.example" }), "handler relay") // throws
 */
export function refuseProbeKeys(md: Metadata, owner: string): void {
  for (const keys of [PROBE_RESISTANCE_KEYS, [KNOCK_KEY]]) {
    const hit = md.find([...keys]);
    if (!hit || hit[1] === undefined || hit[1] === null || hit[1] === "") continue;
    throw new ConfigError(
      `${owner}: ${hit[0]}=${JSON.stringify(hit[1])?.slice(0, 100)} is not a key of this handler: GOST has probe ` +
        "resistance on its http and http2 handlers only (elsewhere it ignores the key, and a prober gets the " +
        "handler's usual answer); use it on an http service",
    );
  }
}

/**
 * GOST's PHT wire pieces shared by the listener and the dialer (docs/wire.md, "PHT"): default paths, the base64
 * line encoding of push and pull bodies, tokens and the size caps.
 * @module
 */
import { ConfigError } from "../../core/errors.ts";
import type { Metadata } from "../../core/metadata.ts";

/** GOST's `authorizePath` default. */
export const DEFAULT_AUTHORIZE_PATH = "/authorize";
/** GOST's `pushPath` default. */
export const DEFAULT_PUSH_PATH = "/push";
/** GOST's `pullPath` default. */
export const DEFAULT_PULL_PATH = "/pull";

/** Raw bytes per pull line: GOST's server reads 32 KiB a turn, and GOST's client scans lines of at most 64 KiB. */
export const PULL_LINE_RAW = 32 * 1024;
/** Raw bytes one push carries at most (ours; GOST's client pushes each write as it comes). */
export const PUSH_BATCH_RAW = 512 * 1024;
/** The largest push body the listener takes (base64 of 3 MiB plus the newline); larger ones get 413. */
export const MAX_PUSH_BODY = 4 * 1024 * 1024 + 2;
/** The longest pull line the dialer takes (GOST's lines are ~43,700 bytes). */
export const MAX_PULL_LINE = 4 * 1024 * 1024;
/** Bytes buffered per session and direction before the writer waits (the reader is slow or absent). */
export const SESSION_BUFFER = 1024 * 1024;
/** The line GOST's server writes on a pull after this long without data (a heartbeat: a bare `\n`). */
export const HEARTBEAT_MS = 10_000;

const TOKEN = /^[A-Za-z0-9_.~-]{1,64}$/;

/** Tells whether `t` is a token a session may carry (GOST's are 20-character xids). */
export function validToken(t: string): boolean {
  return TOKEN.test(t);
}

const XID_ALPHABET = "0123456789abcdefghijklmnopqrstuv";

/** A new 20-character token in GOST's xid alphabet (random, not time-ordered: only uniqueness matters here). */
export function newToken(): string {
  const b = crypto.getRandomValues(new Uint8Array(20));
  let s = "";
  for (const x of b) s += XID_ALPHABET[x & 31];
  return s;
}

/** A path key's value, GOST's way: a value that does not start with `/` means the default. */
export function pathKey(md: Metadata, key: string, def: string): string {
  const v = md.string(key);
  return v.startsWith("/") ? v : def;
}

/** The `header` map of a dialer (GOST's `header` key: extra request headers). */
export function headerKey(md: Metadata): [string, string][] {
  const found = md.find("header");
  if (!found || found[1] === undefined || found[1] === null || found[1] === "") return [];
  const v = found[1];
  if (typeof v !== "object" || Array.isArray(v)) {
    throw new ConfigError(`header=${JSON.stringify(v)}: expected a map of header names to values`);
  }
  const out: [string, string][] = [];
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k) || /[\r\n]/.test(String(val))) {
      throw new ConfigError(`header.${k}=${JSON.stringify(val)}: not a valid HTTP header`);
    }
    out.push([k, String(val)]);
  }
  return out;
}

const enc = new TextEncoder();

/** One body line: standard padded base64 of `b` and `\n` (GOST's push body and pull line). */
export function encodeLine(b: Uint8Array): Uint8Array {
  return enc.encode(b.toBase64() + "\n");
}

/** Many pull lines, each of at most {@link PULL_LINE_RAW} raw bytes, in one buffer. */
export function encodeLines(b: Uint8Array): Uint8Array {
  if (b.length <= PULL_LINE_RAW) return encodeLine(b);
  let s = "";
  for (let off = 0; off < b.length; off += PULL_LINE_RAW) {
    s += b.subarray(off, Math.min(b.length, off + PULL_LINE_RAW)).toBase64() + "\n";
  }
  return enc.encode(s);
}

const latin1 = new TextDecoder("latin1");

/**
 * Decodes one line's base64 (without its `\n`; a trailing CR is dropped).
 * @throws SyntaxError when it is not standard padded base64
 */
export function decodeLine(line: Uint8Array): Uint8Array {
  let end = line.length;
  if (end && line[end - 1] === 0x0d) end--;
  return Uint8Array.fromBase64(latin1.decode(line.subarray(0, end)), { lastChunkHandling: "strict" });
}

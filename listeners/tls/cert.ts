/**
 * Self-signed server certificates without openssl: an ECDSA P-256 key from WebCrypto and a small DER encoder for
 * the X.509 v3 certificate (RFC 5280). GOST's default when no certificate is configured and the working directory
 * has no `cert.pem`/`key.pem`: CN `gost.run`, valid for one year.
 * @module
 */
import { parseIPv4, parseIPv6Bare } from "../../core/ip.ts";

/** A PEM certificate and its PEM (PKCS#8) private key. */
export interface PemPair {
  cert: string;
  key: string;
}

/** What {@link generateSelfSigned} takes. */
export interface SelfSignedOptions {
  /** Subject and issuer CN, also the certificate's DNS name (default `gost.run`). */
  commonName?: string;
  /** Subject O, when set. */
  organization?: string;
  /** Validity in milliseconds from now (default one year). */
  validityMs?: number;
  /** Extra DNS names and IP addresses for the subjectAltName extension. */
  altNames?: string[];
}

/** GOST's default CN. */
export const DEFAULT_COMMON_NAME = "gost.run";
/** GOST's default validity: one year. */
export const DEFAULT_VALIDITY_MS = 365 * 24 * 3600 * 1000;

// ---- DER ----

function len(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v >>>= 8) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = concat(parts);
  return concat([Uint8Array.from([tag, ...len(body.length)]), body]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const seq = (...parts: Uint8Array[]) => tlv(0x30, ...parts);
const set = (...parts: Uint8Array[]) => tlv(0x31, ...parts);
const explicit = (n: number, inner: Uint8Array) => tlv(0xa0 | n, inner);
const octets = (p: Uint8Array) => tlv(0x04, p);
const utf8 = (s: string) => tlv(0x0c, new TextEncoder().encode(s));
const bitString = (p: Uint8Array) => tlv(0x03, Uint8Array.of(0), p);
const bool = (b: boolean) => tlv(0x01, Uint8Array.of(b ? 0xff : 0));

/** A non-negative INTEGER from big-endian bytes (leading zeros dropped, a 0x00 added when the top bit is set). */
function uint(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const b = bytes.subarray(i);
  return tlv(0x02, b[0] & 0x80 ? concat([Uint8Array.of(0), b]) : b);
}

function oid(dotted: string): Uint8Array {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const enc = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) enc.unshift(0x80 | (v & 0x7f));
    out.push(...enc);
  }
  return tlv(0x06, Uint8Array.from(out));
}

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
function time(d: Date): Uint8Array {
  const p = (n: number) => String(n).padStart(2, "0");
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}` +
    `${p(d.getUTCSeconds())}Z`;
  const y = d.getUTCFullYear();
  const enc = new TextEncoder();
  return y < 2050 ? tlv(0x17, enc.encode(`${p(y % 100)}${rest}`)) : tlv(0x18, enc.encode(`${y}${rest}`));
}

/** An IP literal's bytes (an iPAddress SAN), null for a DNS name. */
function ipBytes(s: string): Uint8Array | null {
  return parseIPv4(s) ?? parseIPv6Bare(s);
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

// ---- certificate ----

const ECDSA_SHA256 = "1.2.840.10045.4.3.2";

function name(cn: string, org?: string): Uint8Array {
  const rdns = [set(seq(oid("2.5.4.3"), utf8(cn)))];
  if (org) rdns.unshift(set(seq(oid("2.5.4.10"), utf8(org))));
  return seq(...rdns);
}

/** Converts WebCrypto's raw `r || s` ECDSA signature into the DER `SEQUENCE { r, s }` X.509 uses. */
function ecdsaDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  return seq(uint(raw.subarray(0, half)), uint(raw.subarray(half)));
}

function pem(label: string, der: Uint8Array): string {
  const b64 = btoa(Array.from(der, (c) => String.fromCharCode(c)).join(""));
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, "$&\n")}-----END ${label}-----\n`;
}

/**
 * Generates a self-signed ECDSA P-256 server certificate: v3, random serial, CA:FALSE, digitalSignature,
 * serverAuth + clientAuth, subjectAltName = the CN (plus `altNames`).
 * @returns the certificate and its PKCS#8 key, both PEM
 * @example const { cert, key } = await generateSelfSigned({ commonName: "gost.run" });
 */
export async function generateSelfSigned(opts: SelfSignedOptions = {}): Promise<PemPair> {
  const cn = opts.commonName ?? DEFAULT_COMMON_NAME;
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));

  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f;
  serial[0] |= 0x40; // positive, and never shortened by leading zeros
  const now = Date.now();
  const notBefore = new Date(now - 60_000); // a minute of slack for clocks a little behind
  const notAfter = new Date(now + (opts.validityMs ?? DEFAULT_VALIDITY_MS));

  const sans = [cn, ...(opts.altNames ?? [])].map((n) => {
    const ip = ipBytes(n);
    return ip ? tlv(0x87, ip) : tlv(0x82, new TextEncoder().encode(n));
  });
  const extensions = seq(
    extension("2.5.29.19", true, seq()), // basicConstraints: not a CA
    extension("2.5.29.15", true, tlv(0x03, Uint8Array.of(7, 0x80))), // keyUsage: digitalSignature (7 unused bits)
    extension("2.5.29.37", false, seq(oid("1.3.6.1.5.5.7.3.1"), oid("1.3.6.1.5.5.7.3.2"))), // server + client auth
    extension("2.5.29.17", false, seq(...sans)), // subjectAltName
  );
  const subject = name(cn, opts.organization);
  const tbs = seq(
    explicit(0, uint(Uint8Array.of(2))), // v3
    uint(serial),
    seq(oid(ECDSA_SHA256)),
    subject, // issuer = subject: self-signed
    seq(time(notBefore), time(notAfter)),
    subject,
    spki,
    explicit(3, extensions),
  );
  const sig = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, tbs as Uint8Array<ArrayBuffer>),
  );
  const cert = seq(tbs, seq(oid(ECDSA_SHA256)), bitString(ecdsaDer(sig)));
  return { cert: pem("CERTIFICATE", cert), key: pem("PRIVATE KEY", pkcs8) };
}

let processCert: Promise<PemPair> | null = null;

/**
 * The process-wide default certificate (CN `gost.run`, one year), generated on first use and kept in memory.
 * @example const { cert, key } = await defaultSelfSigned();
 */
export function defaultSelfSigned(): Promise<PemPair> {
  processCert ??= generateSelfSigned().catch((err) => {
    processCert = null;
    throw err;
  });
  return processCert;
}

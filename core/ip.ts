/**
 * IP literals, text ↔ bytes for IPv4 and IPv6 (RFC 5952 output), no DNS: the one parser of the SOCKS address block,
 * the address matchers (core/routing/matcher.ts) and the TLS code.
 * @module
 */

/** One decimal part of a dotted quad: no leading zeros (`010` is octal to `inet_aton`, so it is no literal here). */
const QUAD_PART = /^(?:0|[1-9]\d{0,2})$/;

/**
 * Parses a dotted IPv4 literal (four decimal parts, no leading zeros, as Go's `net.ParseIP`) into 4 bytes, or null
 * when `s` is not one. The liberal spellings the system resolver also reads (`127.1`, `0x7f000001`) are
 * `parseInetAton`'s (core/routing/matcher.ts).
 */
export function parseIPv4(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!QUAD_PART.test(parts[i])) return null;
    const n = Number(parts[i]);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

/** Parses an IPv6 literal (brackets and a `%zone` allowed, embedded IPv4 allowed) into 16 bytes, or null. */
export function parseIPv6(s: string): Uint8Array | null {
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const zone = s.indexOf("%");
  return parseIPv6Bare(zone >= 0 ? s.slice(0, zone) : s);
}

/** Parses a bare IPv6 literal (no brackets, no `%zone`; embedded IPv4 allowed) into 16 bytes, or null. */
export function parseIPv6Bare(s: string): Uint8Array | null {
  if (!s.includes(":")) return null;
  const halves = s.split("::");
  if (halves.length > 2) return null;
  // an embedded IPv4 part may only end the address: the last group of the part after "::" (or of the whole)
  const words = (part: string, last: boolean): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const groups = part.split(":");
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i];
      if (last && i === groups.length - 1 && g.includes(".")) {
        const v4 = parseIPv4(g);
        if (!v4) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) {
        out.push(parseInt(g, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = words(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? words(halves[1], true) : [];
  if (!head || !tail) return null;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** Formats 4 bytes as a dotted IPv4 literal. */
export function formatIPv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** Formats 16 bytes as an IPv6 literal in RFC 5952 form (longest zero run ≥ 2 compressed, lower case). */
export function formatIPv6(b: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 16; i += 2) w.push((b[i] << 8) | b[i + 1]);
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (ws: number[]) => ws.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(w);
  return `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), or null. */
export function unmapIPv4(b16: Uint8Array): Uint8Array | null {
  for (let i = 0; i < 10; i++) if (b16[i] !== 0) return null;
  return b16[10] === 0xff && b16[11] === 0xff ? b16.slice(12) : null;
}

/** Normalises an IP host for comparison: IPv4-mapped IPv6 becomes IPv4, IPv6 is canonicalised. */
export function normalizeIP(host: string): string {
  const v6 = parseIPv6(host);
  if (!v6) return host;
  const v4 = unmapIPv4(v6);
  return v4 ? formatIPv4(v4) : formatIPv6(v6);
}

/** True when `host` is an IPv4 or IPv6 literal (brackets and a `%zone` allowed), false for a name. */
export function isIP(host: string): boolean {
  return parseIPv4(host) !== null || parseIPv6(host) !== null;
}

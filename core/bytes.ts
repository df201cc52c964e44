/**
 * Small byte helpers shared by the codecs and readers.
 * @module
 */

/**
 * Joins byte chunks into one array.
 * @param size their total length, when the caller already knows it
 * @example concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]) // Uint8Array [1, 2, 3]
 */
export function concatBytes(parts: readonly Uint8Array[], size?: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size ?? parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Canonical JSON of config objects, to tell whether a PUT or a reload changes anything: keys sorted at every
 * level, `undefined` members left out, so that two objects that mean the same compare equal whatever the key order
 * of the file or request they came from.
 * @module
 */

function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : sorted(x)));
  if (v === null || typeof v !== "object") return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out[k] = sorted(x);
  }
  return out;
}

/**
 * The canonical JSON text of a value.
 * @example canonicalJson({ b: 1, a: { d: 2, c: undefined } }) // '{"a":{"d":2},"b":1}'
 */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(sorted(v)) ?? "undefined";
}

/** Tells whether two config values mean the same (equal {@link canonicalJson}). */
export function sameConfig(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

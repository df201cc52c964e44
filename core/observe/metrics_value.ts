/**
 * A sample value in the Prometheus text format: shared by the registry's
 * exposition and the process collector.
 * @module
 */

/** Formats a sample value as the text format wants it. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

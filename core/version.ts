/**
 * The gost.ts version and the `-V` line.
 * @module
 */

/** The release version. */
export const VERSION = "0.1.0";

/** `gost.ts 0.1.0 (deno 2.9.6 linux/x86_64)`, in the shape of GOST's `-V`. */
export function versionLine(): string {
  return `gost.ts ${VERSION} (deno ${Deno.version.deno} ${Deno.build.os}/${Deno.build.arch})`;
}

/**
 * Deno permissions, for least-privilege runs (docs/permissions.md): turns a missing-permission error, wherever it
 * surfaces (raw, or inside a config error's message), into one line naming the `deno run` flag to add.
 * @module
 */
import { errorMessage } from "./errors.ts";

const REQUIRES = /Requires (\w+) access(?: to "([^"]*)")?/;

/** The permission a Deno error message says is missing, and what it was for. */
export function missingPermission(err: unknown): { name: string; target?: string } | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const m = REQUIRES.exec(errorMessage(e));
    if (m) return { name: m[1], target: m[2] };
  }
  return undefined;
}

/**
 * One line for a missing permission, or undefined for any other error.
 * @example
 * permissionMessage(new Deno.errors.NotCapable('Requires net access to "0.0.0.0:8080", run again with the --allow-net flag'))
 * // 'gost: missing permission: net access to "0.0.0.0:8080"; run deno with --allow-net (or --allow-net=0.0.0.0:8080)'
 */
export function permissionMessage(err: unknown): string | undefined {
  const p = missingPermission(err);
  if (!p) return undefined;
  const flag = `--allow-${p.name}`;
  const what = p.target === undefined ? `${p.name} access` : `${p.name} access to "${p.target}"`;
  const narrow = p.target && !/[\s,]/.test(p.target) ? ` (or ${flag}=${p.target})` : "";
  return `gost: missing permission: ${what}; run deno with ${flag}${narrow}`;
}

/** Tells whether a permission is granted, without prompting or throwing. */
export function granted(desc: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(desc).state === "granted";
  } catch {
    return false;
  }
}

/**
 * An environment variable, or undefined when it is unset or `--allow-env` does not cover it: optional settings
 * (GOST_API, …) must not make `--allow-env` mandatory.
 */
export function envIfAllowed(name: string): string | undefined {
  return granted({ name: "env", variable: name }) ? Deno.env.get(name) : undefined;
}

/**
 * Saving the running config: atomically (temporary file in the same directory, then rename), and only to the
 * config file itself or a sibling in its directory — an API caller cannot write elsewhere.
 * @module
 */
import { ConfigError } from "../errors.ts";

function dirOf(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : p.slice(0, i);
}

function absolute(p: string): string {
  const abs = p.startsWith("/") ? p : `${Deno.cwd()}/${p}`;
  const parts: string[] = [];
  for (const seg of abs.split("/")) {
    if (!seg || seg === ".") continue;
    if (seg === "..") parts.pop();
    else parts.push(seg);
  }
  return `/${parts.join("/")}`;
}

/**
 * Decides where to save: `requested` must stay in the directory of `defaultFile`.
 * @throws {ConfigError} for a path outside that directory
 */
export function savePath(defaultFile: string, requested?: string): string {
  const base = absolute(defaultFile);
  if (!requested) return base;
  const target = absolute(requested.startsWith("/") ? requested : `${dirOf(base)}/${requested}`);
  if (dirOf(target) !== dirOf(base)) {
    throw new ConfigError(`path "${requested}" is outside the config directory ${dirOf(base)}`);
  }
  return target;
}

/** Writes `text` to `path` atomically: a temporary file beside it, then a rename. */
export async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${dirOf(path)}/.${path.slice(dirOf(path).length + 1)}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeTextFile(tmp, text, { mode: 0o600 });
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

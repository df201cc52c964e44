/**
 * Saving the running config: atomically (temporary file in the same directory, then rename), and only to the
 * config file itself or a sibling in its directory — an API caller cannot write elsewhere. A name the file system
 * refuses (too long, a directory) is the caller's error, not a failed save. Temporary files a killed process left
 * (`.gost.yaml.1a2b3c4d.tmp`) are removed at the next start and the next save of that file.
 * @module
 */
import { ConfigError, errorMessage } from "../errors.ts";
import { granted } from "../permissions.ts";

/** The longest file name most file systems take (Linux NAME_MAX), in bytes. */
export const MAX_NAME_BYTES = 255;
/** A temporary file older than this is left over from a killed save (a save takes milliseconds). */
export const STALE_TMP_MS = 5_000;
/** `.<prefix>.<8 hex>.tmp` around the prefix of the target's name. */
const TMP_EXTRA_BYTES = ".".length + ".12345678.tmp".length;
/** File system errors that mean the path cannot be a config file (answered 400, not 500). */
const BAD_PATH_CODES = new Set(["ENAMETOOLONG", "EISDIR", "ENOTDIR", "ELOOP", "EINVAL"]);

const encoder = new TextEncoder();

function dirOf(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : p.slice(0, i);
}

function baseOf(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
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
 * Decides where to save: `requested` must stay in the directory of `defaultFile` and name a file.
 * @throws {ConfigError} for a path outside that directory, or a name longer than {@link MAX_NAME_BYTES} bytes
 */
export function savePath(defaultFile: string, requested?: string): string {
  const base = absolute(defaultFile);
  if (!requested) return base;
  const target = absolute(requested.startsWith("/") ? requested : `${dirOf(base)}/${requested}`);
  if (dirOf(target) !== dirOf(base)) {
    throw new ConfigError(`path "${requested}" is outside the config directory ${dirOf(base)}`);
  }
  const bytes = encoder.encode(baseOf(target)).length;
  if (bytes > MAX_NAME_BYTES) {
    throw new ConfigError(`path: the file name is ${bytes} bytes long: at most ${MAX_NAME_BYTES}`);
  }
  return target;
}

/** The start of the temporary files' names of `name`: the name itself, cut to leave room for the rest. */
function tmpPrefix(name: string): string {
  let out = "";
  let bytes = 0;
  for (const ch of name) {
    bytes += encoder.encode(ch).length;
    if (bytes > MAX_NAME_BYTES - TMP_EXTRA_BYTES) break;
    out += ch;
  }
  return out;
}

function tmpPattern(name: string): RegExp {
  return new RegExp(`^\\.${tmpPrefix(name).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.[0-9a-f]{8}\\.tmp$`);
}

/**
 * Removes the temporary files a save of `path` left when its process was killed (older than `olderThanMs`).
 * Best effort: never throws, and does nothing without read and write permission on the directory (no prompt).
 * @returns the names removed
 * @example await removeStaleTemps("/etc/gost/gost.yaml") // [".gost.yaml.1a2b3c4d.tmp"]
 */
export async function removeStaleTemps(path: string, olderThanMs = STALE_TMP_MS): Promise<string[]> {
  const dir = dirOf(path);
  if (!granted({ name: "read", path: dir }) || !granted({ name: "write", path: dir })) return [];
  const pattern = tmpPattern(baseOf(path));
  const removed: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !pattern.test(e.name)) continue;
      const p = `${dir}/${e.name}`;
      const st = await Deno.lstat(p).catch(() => null);
      if (!st?.isFile || Date.now() - (st.mtime?.getTime() ?? 0) < olderThanMs) continue;
      if (await Deno.remove(p).then(() => true, () => false)) removed.push(e.name);
    }
  } catch {
    // the directory is gone or unreadable: nothing to clean
  }
  return removed;
}

/**
 * Writes `text` to `path` atomically: a temporary file beside it, then a rename.
 * @throws {ConfigError} when the file system refuses the path itself (too long, a directory); other I/O errors as
 *   they are
 */
export async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${dirOf(path)}/.${tmpPrefix(baseOf(path))}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeTextFile(tmp, text, { mode: 0o600 });
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && BAD_PATH_CODES.has(code)) {
      throw new ConfigError(`path "${baseOf(path)}": cannot be a config file: ${errorMessage(err)}`, { cause: err });
    }
    throw err;
  }
}
